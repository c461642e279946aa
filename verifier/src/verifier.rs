//! The [`Verifier`]: keys, oracle committee and accepted risk parameters loaded once;
//! the checks every bundle gets before its pairing check, whatever its statement.
//!
//! The statements' own checks and pairing checks are in `margin` and `liquidation`;
//! `verified` dispatches a bundle to the one its statement names.

use std::{
    collections::HashMap,
    path::Path,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use zkmargin_circuits::{
    MarginWeights, Prices, RiskParams, LIQUIDATION_CIRCUIT_ID, LIQUIDATION_CONSTRAINTS,
    LIQUIDATION_NUM_PUBLIC_INPUTS, MARGIN_CIRCUIT_ID, MARGIN_CONSTRAINTS, MARGIN_NUM_PUBLIC_INPUTS,
};
use zkmargin_oracle::{OracleConfig, OracleError, SignedReport, VerifiedReport};

use crate::{
    bundle::{
        LiquidationStatement, MarginStatement, ProofBundle, Statement, BUNDLE_VERSION, PROOF_BYTES,
    },
    cache::{signed_report_key, FoldCache, ReportCache},
    error::{SetupError, VerifyError},
    keys::{load_verifying_key, KeyError, Manifest},
    prepared::{decode_proof_hex, LiquidationKey, MarginKey},
};

/// Source of the current time (unix seconds), injectable for tests and replays.
pub trait Clock: Send + Sync {
    /// Seconds since the unix epoch.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A clock stopped at a given time.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0
    }
}

/// Verifies proof bundles against one set of keys, one oracle committee and a set of
/// accepted risk parameters.
pub struct Verifier {
    pub(crate) margin: MarginKey,
    pub(crate) liquidation: Option<LiquidationKey>,
    pub(crate) oracle: OracleConfig,
    pub(crate) oracle_digest: [u8; 32],
    pub(crate) params: HashMap<[u8; 32], (RiskParams, MarginWeights)>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) development_keys: bool,
    pub(crate) fold_cache: FoldCache,
    /// Folds of the liquidation statement's shared inputs per (parameters, prices).
    pub(crate) liquidation_fold_cache: FoldCache,
    report_cache: ReportCache,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("margin_key", &self.margin.fingerprint)
            .field("oracle_digest", &hex::encode(self.oracle_digest))
            .field("risk_params", &self.params.len())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Builds a verifier from the keys in `dir` (fingerprints checked), the oracle
    /// committee's configuration and the risk parameters it accepts.
    ///
    /// # Errors
    /// [`SetupError`] for unreadable or tampered keys, an invalid oracle configuration
    /// or invalid parameters.
    pub fn from_keys_dir(
        dir: &Path,
        oracle: OracleConfig,
        params: Vec<RiskParams>,
    ) -> Result<Self, SetupError> {
        let manifest = Manifest::load(dir)?;
        manifest.circuit(dir, MARGIN_CIRCUIT_ID)?.check_shape(
            dir,
            MARGIN_NUM_PUBLIC_INPUTS,
            MARGIN_CONSTRAINTS,
        )?;
        let margin = load_verifying_key(dir, MARGIN_CIRCUIT_ID, MARGIN_NUM_PUBLIC_INPUTS)?;
        // Liquidation keys are optional: a verifier of margin proofs only may run from a
        // keys directory without them (`verify_liquidation` then says so).
        let mut development_keys = margin.development;
        let liquidation = match manifest
            .circuit(dir, LIQUIDATION_CIRCUIT_ID)
            .and_then(|entry| {
                entry.check_shape(dir, LIQUIDATION_NUM_PUBLIC_INPUTS, LIQUIDATION_CONSTRAINTS)?;
                load_verifying_key(dir, LIQUIDATION_CIRCUIT_ID, LIQUIDATION_NUM_PUBLIC_INPUTS)
            }) {
            Ok(k) => {
                development_keys |= k.development;
                Some(LiquidationKey::new(&k.key, k.fingerprint))
            }
            Err(KeyError::UnknownCircuit { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        oracle
            .validate()
            .map_err(|e| SetupError::Oracle(e.to_string()))?;
        if params.is_empty() {
            return Err(SetupError::NoParams);
        }
        let mut by_digest = HashMap::new();
        for p in params {
            p.validate().map_err(|e| SetupError::Params {
                revision: p.revision,
                reason: e.to_string(),
            })?;
            let weights = p.weights();
            by_digest.insert(p.digest(), (p, weights));
        }
        Ok(Self {
            margin: MarginKey::new(&margin.key, margin.fingerprint),
            liquidation,
            oracle_digest: oracle.digest(),
            oracle,
            params: by_digest,
            clock: Arc::new(SystemClock),
            development_keys,
            fold_cache: FoldCache::new(),
            liquidation_fold_cache: FoldCache::new(),
            report_cache: ReportCache::new(),
        })
    }

    /// Replaces the clock (tests, replays of past reports).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Fingerprint of the margin circuit's verifying key.
    pub fn margin_key_fingerprint(&self) -> &str {
        &self.margin.fingerprint
    }

    /// True when any of the keys is a development key (made from the public seed): its
    /// manifest says so, or its fingerprint is one of the repository's development keys
    /// ([`crate::keys::DEVELOPMENT_KEY_FINGERPRINTS`]).
    pub fn development_keys(&self) -> bool {
        self.development_keys
    }

    /// The oracle committee's configuration.
    pub fn oracle_config(&self) -> &OracleConfig {
        &self.oracle
    }

    /// Digest of the oracle configuration.
    pub fn oracle_config_digest(&self) -> [u8; 32] {
        self.oracle_digest
    }

    /// The accepted risk parameter sets.
    pub fn risk_params(&self) -> impl Iterator<Item = &RiskParams> {
        self.params.values().map(|(p, _)| p)
    }

    /// The accepted risk parameter sets with their digests, ascending by digest.
    pub fn risk_params_by_digest(&self) -> Vec<([u8; 32], &RiskParams)> {
        let mut out: Vec<_> = self.params.iter().map(|(d, (p, _))| (*d, p)).collect();
        out.sort_by_key(|(d, _)| *d);
        out
    }

    /// Drops the cached folds of shared public inputs and the cached oracle report
    /// outcomes. Verdicts never depend on the caches; this only makes the next
    /// verification pay the full cost (benchmarks of the cold path use it).
    pub fn clear_caches(&self) {
        self.fold_cache.clear();
        self.liquidation_fold_cache.clear();
        self.report_cache.clear();
    }

    /// Entries in the (fold, oracle report) caches.
    pub fn cache_sizes(&self) -> (usize, usize) {
        (self.fold_cache.len(), self.report_cache.len())
    }

    /// Fingerprint of the liquidation circuit's verifying key, when the keys directory
    /// has one (`None`: [`Verifier::verify_liquidation`] answers [`VerifyError::NoKeys`]).
    pub fn liquidation_key_fingerprint(&self) -> Option<&str> {
        self.liquidation.as_ref().map(|k| k.fingerprint.as_str())
    }

    /// The committee's verdict on `signed` at `now`, cached per (report, second).
    pub(crate) fn verify_report(
        &self,
        signed: &SignedReport,
        now: u64,
    ) -> Result<VerifiedReport, OracleError> {
        match signed_report_key(signed) {
            Some(key) => self
                .report_cache
                .get_or_insert_with((key, now), || self.oracle.verify(signed, now)),
            None => self.oracle.verify(signed, now),
        }
    }

    /// The checks every bundle gets before its statement's own checks and its pairing
    /// check, cheapest first: format version; proof size and hex; the statement is of
    /// kind `S`; this verifier holds keys for it and the bundle names them (key
    /// fingerprint); the risk parameters are accepted; the oracle report is signed by a
    /// quorum and fresh at the clock's time; it prices every feed the parameters use.
    ///
    /// # Errors
    /// The first failed check, as a [`VerifyError`].
    pub(crate) fn precheck<'b, S: StatementKind>(
        &self,
        bundle: &'b ProofBundle,
    ) -> Result<Prechecked<'b, '_, S>, VerifyError> {
        if bundle.version != BUNDLE_VERSION {
            return Err(VerifyError::UnsupportedVersion(bundle.version));
        }
        let proof = decode_proof_hex(&bundle.proof)?;
        let statement = S::of(&bundle.statement).ok_or(VerifyError::WrongStatement {
            expected: S::CIRCUIT_ID,
            found: bundle.statement.circuit_id(),
        })?;
        let fingerprint = self
            .key_fingerprint(S::CIRCUIT_ID)
            .ok_or(VerifyError::NoKeys(S::CIRCUIT_ID))?;
        if bundle.key_fingerprint != fingerprint {
            return Err(VerifyError::KeyMismatch {
                circuit: S::CIRCUIT_ID.to_owned(),
                expected: fingerprint.to_owned(),
                bundle: bundle.key_fingerprint.clone(),
            });
        }
        let digest = statement.risk_params_digest();
        let (params, weights) = self
            .params
            .get(&digest)
            .ok_or_else(|| VerifyError::UnknownRiskParams(hex::encode(digest)))?;
        let report = self
            .verify_report(&bundle.report, self.clock.now())
            .map_err(VerifyError::Oracle)?;
        let prices = Prices::from_feeds(params, |feed| report.price(feed))
            .map_err(|e| VerifyError::MissingPrice(e.feed_id))?;
        Ok(Prechecked {
            statement,
            params,
            weights: *weights,
            report,
            prices,
            proof,
        })
    }

    /// The fingerprint of the verifying key this verifier holds for `circuit`.
    fn key_fingerprint(&self, circuit: &str) -> Option<&str> {
        match circuit {
            MARGIN_CIRCUIT_ID => Some(self.margin_key_fingerprint()),
            LIQUIDATION_CIRCUIT_ID => self.liquidation_key_fingerprint(),
            _ => None,
        }
    }
}

/// A statement type of the bundle format, for [`Verifier::precheck`].
pub(crate) trait StatementKind {
    /// The circuit id of statements of this kind.
    const CIRCUIT_ID: &'static str;
    /// The statement, if `statement` is of this kind.
    fn of(statement: &Statement) -> Option<&Self>;
    /// The digest of the risk parameters it names.
    fn risk_params_digest(&self) -> [u8; 32];
}

impl StatementKind for MarginStatement {
    const CIRCUIT_ID: &'static str = MARGIN_CIRCUIT_ID;
    fn of(statement: &Statement) -> Option<&Self> {
        match statement {
            Statement::Margin(s) => Some(s),
            _ => None,
        }
    }
    fn risk_params_digest(&self) -> [u8; 32] {
        self.risk_params_digest
    }
}

impl StatementKind for LiquidationStatement {
    const CIRCUIT_ID: &'static str = LIQUIDATION_CIRCUIT_ID;
    fn of(statement: &Statement) -> Option<&Self> {
        match statement {
            Statement::Liquidation(s) => Some(s),
            _ => None,
        }
    }
    fn risk_params_digest(&self) -> [u8; 32] {
        self.risk_params_digest
    }
}

/// A bundle that passed [`Verifier::precheck`]: its statement, the accepted parameters
/// it names, the verified report, the prices of its slots and the proof bytes.
pub(crate) struct Prechecked<'b, 'v, S> {
    pub(crate) statement: &'b S,
    pub(crate) params: &'v RiskParams,
    pub(crate) weights: MarginWeights,
    pub(crate) report: VerifiedReport,
    pub(crate) prices: Prices,
    pub(crate) proof: [u8; PROOF_BYTES],
}
