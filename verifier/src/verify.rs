//! Single-proof verification and the typed verdicts.

use std::{
    collections::HashMap,
    path::Path,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::{bn::G2Prepared, AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::PrimeField;
use ark_groth16::{prepare_verifying_key, PreparedVerifyingKey};
use ark_serialize::CanonicalDeserialize;
use serde::Serialize;
use zkmargin_circuits::{
    Commitment, MarginPublic, MarginWeights, Prices, RiskParams, Status, LIQUIDATION_CIRCUIT_ID,
    LIQUIDATION_NUM_PUBLIC_INPUTS, MARGIN_CIRCUIT_ID, MARGIN_NUM_PUBLIC_INPUTS, PPM,
};
use zkmargin_oracle::{OracleConfig, OracleError, SignedReport, VerifiedReport};

use crate::{
    bundle::{MarginStatement, ProofBundle, Statement, BUNDLE_VERSION, PROOF_BYTES},
    cache::{signed_report_key, FoldCache, ReportCache},
    fixed_base::FixedBaseTable,
    keys::{load_verifying_key, KeyError},
    pairing::{final_exponentiation, miller_loop, KeyLines},
    transition::TransitionKey,
};

/// The BN254 pairing parameters (for the prepared-point types).
pub(crate) type BnConfig = ark_bn254::Config;

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

/// Why a bundle was rejected. Each variant has a stable [`VerifyError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bundle's format version is not one this build reads.
    #[error("bundle version {0} is not supported (this verifier reads version {BUNDLE_VERSION})")]
    UnsupportedVersion(u32),
    /// The proof is not hex, or not 128 bytes.
    #[error("proof is malformed: {0}")]
    MalformedProof(String),
    /// The proof was made for another verifying key.
    #[error("proof was made for key {bundle}, this verifier holds key {expected} for {circuit}: prove again with the current keys")]
    KeyMismatch {
        /// Circuit id.
        circuit: String,
        /// The verifier's key fingerprint.
        expected: String,
        /// The bundle's key fingerprint.
        bundle: String,
    },
    /// The statement names risk parameters this verifier was not configured with.
    #[error("risk parameters {0} are not among the parameters this verifier accepts")]
    UnknownRiskParams(String),
    /// The oracle report failed the committee's checks.
    #[error("oracle report rejected: {0}")]
    Oracle(OracleError),
    /// The report has no price for a feed the statement needs.
    #[error("the oracle report has no price for feed {0:?}, which the risk parameters use")]
    MissingPrice(String),
    /// The proof's points are not valid curve points of the right subgroup.
    #[error("proof points are invalid: {0}")]
    InvalidPoints(String),
    /// The pairing check failed: the statement is not proven.
    #[error("the proof does not verify against the statement")]
    InvalidProof,
    /// The bundle proves another kind of statement than the call expects.
    #[error("expected a {expected} statement, the bundle proves {found}")]
    WrongStatement {
        /// The circuit the call verifies.
        expected: &'static str,
        /// The circuit of the bundle.
        found: &'static str,
    },
    /// This verifier was built without keys for the bundle's circuit.
    #[error("this verifier has no keys for {0}: its keys directory lists no such circuit (run `zkmargin setup`)")]
    NoKeys(&'static str),
    /// The liquidation action is not one the rules allow at these prices.
    #[error("the liquidation action is invalid: {0}")]
    InvalidAction(String),
    /// The bundle's liquidation terms are not the ones the action implies.
    #[error(
        "the bundle's liquidation terms differ from those its action implies at the signed prices"
    )]
    TermsMismatch,
}

impl VerifyError {
    /// A stable, machine-readable error code (snake_case).
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::UnsupportedVersion(_) => "unsupported_version",
            VerifyError::MalformedProof(_) => "malformed_proof",
            VerifyError::KeyMismatch { .. } => "key_fingerprint_mismatch",
            VerifyError::UnknownRiskParams(_) => "unknown_risk_params",
            VerifyError::Oracle(e) => e.code(),
            VerifyError::MissingPrice(_) => "missing_price",
            VerifyError::InvalidPoints(_) => "invalid_proof_points",
            VerifyError::InvalidProof => "invalid_proof",
            VerifyError::WrongStatement { .. } => "wrong_statement_kind",
            VerifyError::NoKeys(_) => "unsupported_circuit",
            VerifyError::InvalidAction(_) => "invalid_liquidation_action",
            VerifyError::TermsMismatch => "liquidation_terms_mismatch",
        }
    }
}

/// A verified margin statement. Only this crate constructs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedMargin {
    commitment: Commitment,
    status: Status,
    tau_ppm: u32,
    #[serde(with = "hex::serde")]
    risk_params_digest: [u8; 32],
    #[serde(with = "hex::serde")]
    report_digest: [u8; 32],
    report_observed_at: u64,
    #[serde(with = "hex::serde")]
    oracle_config_digest: [u8; 32],
    key_fingerprint: String,
}

impl VerifiedMargin {
    /// The account commitment.
    pub fn commitment(&self) -> Commitment {
        self.commitment
    }
    /// Meets or breaches.
    pub fn status(&self) -> Status {
        self.status
    }
    /// Threshold τ in ppm.
    pub fn tau_ppm(&self) -> u32 {
        self.tau_ppm
    }
    /// Digest of the risk parameters.
    pub fn risk_params_digest(&self) -> [u8; 32] {
        self.risk_params_digest
    }
    /// Digest of the oracle report the prices came from.
    pub fn report_digest(&self) -> [u8; 32] {
        self.report_digest
    }
    /// Observation time of that report (unix seconds).
    pub fn report_observed_at(&self) -> u64 {
        self.report_observed_at
    }
    /// Digest of the oracle configuration that accepted the report.
    pub fn oracle_config_digest(&self) -> [u8; 32] {
        self.oracle_config_digest
    }
    /// Fingerprint of the verifying key.
    pub fn key_fingerprint(&self) -> &str {
        &self.key_fingerprint
    }
}

/// A verified breach at threshold τ: the only input settlement accepts to start a
/// liquidation. It has no public constructor.
///
/// Health falls as τ rises, so a breach at τ ≤ 1 (1,000,000 ppm) implies a breach of
/// the maintenance line, while a breach at τ > 1 is only an early warning: settlement
/// must check [`VerifiedBreach::is_liquidatable`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct VerifiedBreach(VerifiedMargin);

impl VerifiedBreach {
    /// True when the breach is at or below the maintenance line (τ ≤ 1,000,000 ppm),
    /// which implies the account breaches maintenance: grounds for liquidation.
    pub fn is_liquidatable(&self) -> bool {
        u64::from(self.0.tau_ppm) <= PPM
    }
}

impl std::ops::Deref for VerifiedBreach {
    type Target = VerifiedMargin;
    fn deref(&self) -> &VerifiedMargin {
        &self.0
    }
}

/// The outcome of verifying a margin bundle. Serialized as the verified statement,
/// whose `status` field (`meets` / `breaches`) tells the variants apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Verdict {
    /// The account meets its threshold.
    Meets(VerifiedMargin),
    /// The account breaches its threshold.
    Breach(VerifiedBreach),
}

impl Verdict {
    /// The verified statement, whatever its status.
    pub fn margin(&self) -> &VerifiedMargin {
        match self {
            Verdict::Meets(m) => m,
            Verdict::Breach(b) => &b.0,
        }
    }
}

/// A verifying key prepared for pairing checks, with its fingerprint.
pub(crate) struct PreparedKey {
    pub(crate) pvk: PreparedVerifyingKey<Bn254>,
    /// `-β` prepared, for the `e(Σr·α, -β)` term of a batch.
    pub(crate) beta_g2_neg_pc: G2Prepared<BnConfig>,
    /// `−γ` and `−δ`'s lines, normalized for the single-proof Miller loop.
    pub(crate) lines: KeyLines,
    /// Window table of `IC_1` (the commitment's point): 254-bit scalars.
    pub(crate) ic_commitment: FixedBaseTable,
    /// Window table of `IC_3` (τ's point): 32-bit scalars.
    pub(crate) ic_tau: FixedBaseTable,
    pub(crate) fingerprint: String,
}

impl PreparedKey {
    fn new(key: &ark_groth16::VerifyingKey<Bn254>, fingerprint: String) -> Self {
        let ic = &key.gamma_abc_g1;
        let pvk = prepare_verifying_key(key);
        Self {
            lines: KeyLines::new(&pvk),
            pvk,
            beta_g2_neg_pc: G2Prepared::from(-key.beta_g2),
            ic_commitment: FixedBaseTable::new(ic[1], Fr::MODULUS_BIT_SIZE as usize),
            ic_tau: FixedBaseTable::new(ic[3], 32),
            fingerprint,
        }
    }
}

/// Verifies proof bundles against one set of keys, one oracle committee and a set of
/// accepted risk parameters.
pub struct Verifier {
    pub(crate) margin: PreparedKey,
    pub(crate) liquidation: Option<TransitionKey>,
    pub(crate) oracle: OracleConfig,
    pub(crate) oracle_digest: [u8; 32],
    pub(crate) params: HashMap<[u8; 32], (RiskParams, MarginWeights)>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) development_keys: bool,
    fold_cache: FoldCache,
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

/// Why a verifier could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// Keys could not be loaded.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The oracle configuration is invalid.
    #[error("oracle configuration is invalid: {0}")]
    Oracle(String),
    /// A risk parameter set is invalid.
    #[error("risk parameters (revision {revision}) are invalid: {reason}")]
    Params {
        /// The set's revision.
        revision: u32,
        /// What is wrong.
        reason: String,
    },
    /// No risk parameters were given.
    #[error("at least one set of risk parameters is required")]
    NoParams,
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
        let margin = load_verifying_key(dir, MARGIN_CIRCUIT_ID, MARGIN_NUM_PUBLIC_INPUTS)?;
        // Liquidation keys are optional: a verifier of margin proofs only may run from a
        // keys directory without them (verify_transition then says so).
        let mut development_keys = margin.development;
        let liquidation =
            match load_verifying_key(dir, LIQUIDATION_CIRCUIT_ID, LIQUIDATION_NUM_PUBLIC_INPUTS) {
                Ok(k) => {
                    development_keys |= k.development;
                    let pvk = prepare_verifying_key(&k.key);
                    Some(TransitionKey {
                        lines: KeyLines::new(&pvk),
                        pvk,
                        fingerprint: k.fingerprint,
                    })
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
            margin: PreparedKey::new(&margin.key, margin.fingerprint),
            liquidation,
            oracle_digest: oracle.digest(),
            oracle,
            params: by_digest,
            clock: Arc::new(SystemClock),
            development_keys,
            fold_cache: FoldCache::new(),
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
        self.report_cache.clear();
    }

    /// Entries in the (fold, oracle report) caches.
    pub fn cache_sizes(&self) -> (usize, usize) {
        (self.fold_cache.len(), self.report_cache.len())
    }

    /// Verifies one bundle.
    ///
    /// Checks, cheapest first: format version and proof size; key fingerprint; risk
    /// parameters known; oracle signatures (committee members, quorum) and freshness
    /// against the clock; a price for every feed the parameters use; proof points on
    /// the curve and in the subgroup; the pairing check.
    ///
    /// # Errors
    /// The first failed check, as a [`VerifyError`].
    pub fn verify(&self, bundle: &ProofBundle) -> Result<Verdict, VerifyError> {
        let (facts, bytes) = self.check_margin_statement(bundle)?;
        if !self.decode_and_pairing_check(&facts, &bytes)? {
            return Err(VerifyError::InvalidProof);
        }
        Ok(facts.verdict())
    }

    /// Decodes the proof points and checks `e(A, B) · e(vk_x, −γ) · e(C, −δ) = e(α, β)`
    /// in one fork of two halves that each end in a final exponentiation: one decodes A
    /// and B, prepares B's lines with its G2 membership decided on the way
    /// ([`crate::pairing::prepare_in_g2`]) and computes `e(A, B)`; the other decodes C,
    /// folds the public inputs into `vk_x` and computes `e(vk_x, −γ) · e(C, −δ)` (the
    /// lines of −γ and −δ prepared and normalized once per key,
    /// [`crate::pairing::NormalizedLines`]). Their product is compared with the cached
    /// `e(α, β)`.
    ///
    /// Two final exponentiations instead of one cost CPU, but not latency: the final
    /// exponentiation cannot be split, and ending each half with one keeps both threads
    /// busy to the end, so the pool's second thread is still awake when the next
    /// verification forks. With one final exponentiation after the join it falls
    /// asleep during it and is woken late (median 45 µs, p90 0.4 ms on the 2-core VM).
    /// Measured with criterion on that machine: this layout 0.86 ms, one final
    /// exponentiation after the join 1.07 ms, everything on the caller's thread
    /// 1.08 ms. Throughput is the batch path's job ([`Verifier::verify_batch`]).
    ///
    /// # Errors
    /// [`VerifyError::InvalidPoints`] naming the first bad point in the order A, B, C.
    fn decode_and_pairing_check(
        &self,
        facts: &MarginFacts,
        bytes: &[u8],
    ) -> Result<bool, VerifyError> {
        let pvk = &self.margin.pvk;
        let (ab, rest) = rayon::join(
            || {
                let a = decode_g1("A", &bytes[..32])?;
                let b = decode_g2_prepared("B", &bytes[32..96])?;
                Ok::<_, VerifyError>(final_exponentiation(&miller_loop(&[(&a, &b)], &[])))
            },
            || {
                let c = decode_g1("C", &bytes[96..])?;
                let vk_x = self.margin_vk_x(facts).into_affine();
                Ok::<_, VerifyError>(final_exponentiation(&miller_loop(
                    &[],
                    &[
                        (&vk_x, &self.margin.lines.gamma),
                        (&c, &self.margin.lines.delta),
                    ],
                )))
            },
        );
        // A Miller loop's output is never zero: both exponentiations are `Some`.
        Ok(
            matches!((ab?, rest?), (Some(e_ab), Some(e_rest)) if e_ab * e_rest == pvk.alpha_g1_beta_g2),
        )
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

    /// Every check of [`Self::verify`] except the pairing; what a batch needs per bundle.
    pub(crate) fn check_margin(&self, bundle: &ProofBundle) -> Result<CheckedMargin, VerifyError> {
        let (facts, bytes) = self.check_margin_statement(bundle)?;
        Ok(CheckedMargin {
            proof: PreparedProof::decode(&bytes)?,
            facts,
        })
    }

    /// Every check but the proof points and the pairing; returns the proof bytes.
    fn check_margin_statement(
        &self,
        bundle: &ProofBundle,
    ) -> Result<(MarginFacts, Vec<u8>), VerifyError> {
        if bundle.version != BUNDLE_VERSION {
            return Err(VerifyError::UnsupportedVersion(bundle.version));
        }
        let proof_bytes = decode_proof_hex(&bundle.proof)?;
        let statement = match &bundle.statement {
            Statement::Margin(s) => s,
            other => {
                return Err(VerifyError::WrongStatement {
                    expected: MARGIN_CIRCUIT_ID,
                    found: other.circuit_id(),
                })
            }
        };
        if bundle.key_fingerprint != self.margin.fingerprint {
            return Err(VerifyError::KeyMismatch {
                circuit: MARGIN_CIRCUIT_ID.to_owned(),
                expected: self.margin.fingerprint.clone(),
                bundle: bundle.key_fingerprint.clone(),
            });
        }
        let (params, weights) =
            self.params
                .get(&statement.risk_params_digest)
                .ok_or_else(|| {
                    VerifyError::UnknownRiskParams(hex::encode(statement.risk_params_digest))
                })?;
        let report = self
            .verify_report(&bundle.report, self.clock.now())
            .map_err(VerifyError::Oracle)?;
        let prices = Prices::from_feeds(params, |feed| report.price(feed))
            .map_err(|e| VerifyError::MissingPrice(e.feed_id))?;
        let facts = MarginFacts {
            public: MarginPublic {
                commitment: statement.commitment,
                status: statement.status,
                tau_ppm: statement.tau_ppm,
                prices,
                weights: *weights,
            },
            statement: statement.clone(),
            report,
            oracle_digest: self.oracle_digest,
            key_fingerprint: self.margin.fingerprint.clone(),
        };
        Ok((facts, proof_bytes))
    }

    /// `vk_x = IC_0 + Σ x_k·IC_{k+1}` with the shared inputs (prices, weights) folded
    /// once per (parameters, prices) and cached: per proof only the commitment (a
    /// window-table multiplication), the status bit (an addition) and τ (a 32-bit
    /// window-table multiplication) cost anything.
    pub(crate) fn margin_vk_x(&self, checked: &MarginFacts) -> G1Projective {
        let shared = self.shared_fold(
            checked.statement.risk_params_digest,
            &checked.public.prices,
            &checked.public.weights,
        );
        self.per_proof_fold(&checked.public) + shared
    }

    /// `IC_0 + Σ_{k≥3} x_k·IC_{k+1}` for one tick, from the cache.
    pub(crate) fn shared_fold(
        &self,
        digest: [u8; 32],
        prices: &Prices,
        weights: &MarginWeights,
    ) -> G1Projective {
        self.fold_cache.get_or_insert_with((digest, *prices), || {
            fold_shared_inputs(&self.margin.pvk.vk.gamma_abc_g1, prices, weights)
        })
    }

    /// `Σ_{k<3} x_k·IC_{k+1}`: commitment, status bit and τ.
    pub(crate) fn per_proof_fold(&self, public: &MarginPublic) -> G1Projective {
        let key = &self.margin;
        let mut acc = key.ic_commitment.mul(&public.commitment.0);
        if public.status.bit() {
            acc += key.pvk.vk.gamma_abc_g1[2];
        }
        acc + key.ic_tau.mul(&Fr::from(public.tau_ppm))
    }
}

/// `IC_0 + Σ_{k≥3} x_k·IC_{k+1}`: the shared inputs of the margin statement, one MSM.
pub(crate) fn fold_shared_inputs(
    ic: &[G1Affine],
    prices: &Prices,
    weights: &MarginWeights,
) -> G1Projective {
    let p = MarginPublic::PER_PROOF_INPUTS;
    let scalars = MarginPublic::shared_field_elements(prices, weights);
    let bigints: Vec<_> = scalars.iter().map(|s| s.into_bigint()).collect();
    ic[0].into_group() + G1Projective::msm_bigint(&ic[1 + p..], &bigints)
}

/// A compressed G1 point, on the curve (BN254's G1 has cofactor 1).
fn decode_g1(name: &str, bytes: &[u8]) -> Result<G1Affine, VerifyError> {
    G1Affine::deserialize_compressed(bytes)
        .map_err(|e| VerifyError::InvalidPoints(format!("{name}: {e}")))
}

/// A compressed G2 point, on the curve (its y is recovered from the curve equation;
/// no square root, no point).
fn decode_g2_on_curve(name: &str, bytes: &[u8]) -> Result<G2Affine, VerifyError> {
    G2Affine::deserialize_compressed_unchecked(bytes)
        .map_err(|e| VerifyError::InvalidPoints(format!("{name}: {e}")))
}

/// A compressed G2 point, on the curve and prepared for the Miller loop, with its
/// membership in the prime-order subgroup decided by the preparation
/// ([`crate::pairing::prepare_in_g2`]: the same verdict as arkworks' checked decoding).
fn decode_g2_prepared(
    name: &str,
    bytes: &[u8],
) -> Result<G2Prepared<ark_bn254::Config>, VerifyError> {
    crate::pairing::prepare_in_g2(&decode_g2_on_curve(name, bytes)?).ok_or_else(|| {
        VerifyError::InvalidPoints(format!("{name}: not in the prime-order subgroup"))
    })
}

/// Hex → exactly [`PROOF_BYTES`] bytes.
pub(crate) fn decode_proof_hex(s: &str) -> Result<Vec<u8>, VerifyError> {
    if s.len() != 2 * PROOF_BYTES {
        return Err(VerifyError::MalformedProof(format!(
            "expected {} hex characters ({PROOF_BYTES} bytes), got {}",
            2 * PROOF_BYTES,
            s.len()
        )));
    }
    hex::decode(s).map_err(|e| VerifyError::MalformedProof(format!("not hex: {e}")))
}

/// What a margin bundle states, after every check but the proof's points and pairing.
pub(crate) struct MarginFacts {
    pub(crate) public: MarginPublic,
    pub(crate) statement: MarginStatement,
    pub(crate) report: VerifiedReport,
    pub(crate) oracle_digest: [u8; 32],
    pub(crate) key_fingerprint: String,
}

/// A bundle that passed every check but the pairing: its facts and decoded proof.
pub(crate) struct CheckedMargin {
    pub(crate) facts: MarginFacts,
    pub(crate) proof: PreparedProof,
}

/// A proof's points, checked, with B's lines prepared for a Miller loop.
pub(crate) struct PreparedProof {
    pub(crate) a: G1Affine,
    pub(crate) b: G2Prepared<BnConfig>,
    pub(crate) c: G1Affine,
}

impl PreparedProof {
    /// Decodes A, B and C (each checked on the curve and in its subgroup, B's
    /// membership decided while its lines are prepared); errors name the first bad
    /// point in the order A, B, C.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, VerifyError> {
        Ok(Self {
            a: decode_g1("A", &bytes[..32])?,
            b: decode_g2_prepared("B", &bytes[32..96])?,
            c: decode_g1("C", &bytes[96..])?,
        })
    }
}

impl std::ops::Deref for CheckedMargin {
    type Target = MarginFacts;
    fn deref(&self) -> &MarginFacts {
        &self.facts
    }
}

impl CheckedMargin {
    pub(crate) fn verdict(self) -> Verdict {
        self.facts.verdict()
    }
}

impl MarginFacts {
    pub(crate) fn verdict(self) -> Verdict {
        let m = VerifiedMargin {
            commitment: self.public.commitment,
            status: self.public.status,
            tau_ppm: self.public.tau_ppm,
            risk_params_digest: self.statement.risk_params_digest,
            report_digest: self.report.digest(),
            report_observed_at: self.report.observed_at(),
            oracle_config_digest: self.oracle_digest,
            key_fingerprint: self.key_fingerprint,
        };
        match m.status {
            Status::Meets => Verdict::Meets(m),
            Status::Breaches => Verdict::Breach(VerifiedBreach(m)),
        }
    }
}
