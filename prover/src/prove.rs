//! Proving the margin statement and packaging the proof as a bundle.
//!
//! [`MarginProver::prove`] checks the inputs (parameters, account slots, the
//! commitment the caller expects, the report's shape and — when the caller has the
//! verifier's oracle config — signatures, quorum and freshness), reads the slot
//! prices out of the signed report through the parameters' feed ids, computes the
//! status natively, proves it, and verifies the bundle with the verifier library
//! before returning it.
//!
//! The status is not a choice: the circuit is only satisfiable for the true status,
//! so a proof of a false status cannot be made. `expect` only makes the prover
//! refuse early, with a clear message, when the caller's belief is wrong.

use std::{path::PathBuf, sync::Arc};

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_serialize::CanonicalSerialize;
use rand_core::{CryptoRng, RngCore};
use zkmargin_circuits::{
    r1cs::{MarginCircuit, MarginPrivate},
    Account, AccountError, Commitment, Health, LiquidationError, MarginPublic, ParamsError, Prices,
    RiskParams, Status,
};
use zkmargin_oracle::{OracleConfig, OracleError, ReportError, SignedReport, CONFIG_VERSION};
use zkmargin_verifier::{
    bundle::{MarginStatement, Statement, PROOF_BYTES},
    FixedClock, ProofBundle, SetupError, Verdict, Verifier, VerifyError, BUNDLE_VERSION,
};

use crate::{
    keys::{load_proving_key, KeyLoadError, LoadEvent, LoadedProvingKey},
    registry::MARGIN,
};

/// τ = 1 in ppm: the maintenance line.
pub const DEFAULT_TAU_PPM: u32 = 1_000_000;

/// The verifier's oracle configuration and the time to check the report at.
#[derive(Debug, Clone, Copy)]
pub struct OracleCheck<'a> {
    /// The committee, quorum and freshness policy.
    pub config: &'a OracleConfig,
    /// Unix seconds.
    pub now: u64,
}

/// What to prove.
#[derive(Debug, Clone, Copy)]
pub struct MarginRequest<'a> {
    /// The private account.
    pub account: &'a Account,
    /// The risk parameters (their digest goes into the bundle).
    pub params: &'a RiskParams,
    /// The signed oracle report whose prices the proof uses.
    pub report: &'a SignedReport,
    /// Threshold τ in ppm ([`DEFAULT_TAU_PPM`] is the maintenance line).
    pub tau_ppm: u32,
    /// Refuse unless the account's true status is this one.
    pub expect: Option<Status>,
    /// Refuse unless the account commits to this (the venue's published commitment).
    pub commitment: Option<Commitment>,
    /// Check the report against the verifier's oracle config before proving, and
    /// self-verify with it. Without it, only the report's own signatures are checked:
    /// committee membership, quorum and freshness are left to the verifier.
    pub oracle: Option<OracleCheck<'a>>,
}

/// A proven, self-verified margin statement.
#[derive(Debug, Clone)]
pub struct MarginProof {
    /// The bundle to hand to verifiers.
    pub bundle: ProofBundle,
    /// The statement, with the prices and weights it was proven at.
    pub public: MarginPublic,
    /// The account's health at those prices (private: the prover's own knowledge).
    pub health: Health,
}

/// Why a proof was not made. Each message says what is wrong and how to fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProveError {
    /// The risk parameters are invalid.
    #[error("risk parameters are invalid: {0}")]
    Params(#[from] ParamsError),
    /// The account holds balances in slots the parameters do not define.
    #[error("the account does not fit the risk parameters: {0}; use the parameters the account was opened under")]
    Account(#[from] AccountError),
    /// The account is not the state inside the expected commitment.
    #[error("the account commits to {actual}, not to the expected commitment {expected}: the account file is not the state the venue committed to (check its nonce, balances and blinding)")]
    CommitmentMismatch {
        /// The commitment the caller expected.
        expected: Commitment,
        /// The account's commitment.
        actual: Commitment,
    },
    /// The report is malformed.
    #[error("the price report is invalid: {0}")]
    Report(#[from] ReportError),
    /// The report carries no signatures.
    #[error("the price report has no signatures, so no verifier will accept it; sign it with `zkmargin oracle sign`")]
    Unsigned,
    /// The report failed the oracle checks (the given config's, or its own signatures').
    #[error("the oracle report is rejected: {0}")]
    Oracle(#[from] OracleError),
    /// The report lacks a feed the parameters use.
    #[error("the oracle report has no price for feed {feed:?}, which the risk parameters use for {used_by}; sign a report that includes {feed:?}")]
    MissingPrice {
        /// The feed id.
        feed: String,
        /// The token or market symbol that needs it.
        used_by: String,
    },
    /// The account's true status is not the one expected.
    #[error("the account {actual} its margin threshold at these prices (τ = {tau_ppm} ppm), it does not {expected_verb}; refusing to prove. No proof of a false status can be made: the circuit only proves the true one")]
    StatusMismatch {
        /// The status asked for.
        expected: Status,
        /// `meet`/`breach`, for the message.
        expected_verb: &'static str,
        /// The true status.
        actual: Status,
        /// τ.
        tau_ppm: u32,
    },
    /// The account meets its maintenance margin: a liquidation cannot be proven.
    #[error(
        "account {account} meets its maintenance margin at these prices: nothing to liquidate"
    )]
    NothingToLiquidate {
        /// The account id.
        account: u64,
    },
    /// The account breaches but holds no position to close, no deposit to seize and no
    /// token borrow to repay (its loss is in its quote balance alone).
    #[error("account {account} breaches its maintenance margin but has no open position to close, no deposit to seize and no token borrow to repay: no liquidation action exists; the venue must recover the debt directly")]
    NothingToActOn {
        /// The account id.
        account: u64,
    },
    /// No legal liquidation exists, or the native twin of the circuit rejects the
    /// chosen one (nothing is proven).
    #[error("account {account} cannot be liquidated: {error}")]
    Liquidation {
        /// The account id.
        account: u64,
        /// The clause that fails.
        error: LiquidationError,
    },
    /// A liquidator id the settlement ledger cannot credit.
    #[error("liquidator id {0} is above 2^63 − 1, which the settlement ledger cannot credit; give the venue's id of the liquidator")]
    LiquidatorOutOfRange(u64),
    /// Groth16 proving failed.
    #[error("proving failed: {0}")]
    Prove(String),
    /// The self-check could not load the verifying key or configure a verifier.
    #[error("cannot self-verify the proof: {0}")]
    VerifierSetup(#[from] SetupError),
    /// The new proof did not verify (inconsistent keys or a bug; nothing is written).
    #[error("the new proof failed self-verification ({code}): {error}; the keys may be inconsistent, run `zkmargin setup`")]
    SelfVerify {
        /// The verifier's error code.
        code: &'static str,
        /// The verifier's error.
        error: VerifyError,
    },
}

/// A prover holding the margin circuit's proving key.
#[derive(Debug)]
pub struct MarginProver {
    keys_dir: PathBuf,
    key: LoadedProvingKey,
}

impl MarginProver {
    /// Loads the margin proving key from `keys_dir` ([`load_proving_key`]).
    ///
    /// # Errors
    /// Any [`KeyLoadError`].
    pub fn load(
        keys_dir: impl Into<PathBuf>,
        on_event: &mut dyn FnMut(LoadEvent<'_>),
    ) -> Result<Self, KeyLoadError> {
        let keys_dir = keys_dir.into();
        let key = load_proving_key(&keys_dir, &MARGIN, on_event)?;
        Ok(Self { keys_dir, key })
    }

    /// The loaded key and what the manifest says about it.
    pub fn key(&self) -> &LoadedProvingKey {
        &self.key
    }

    /// Proves `request`, self-verifies the bundle, and returns it.
    ///
    /// # Errors
    /// Any [`ProveError`]; the checks run cheapest first, before any proving work.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        request: &MarginRequest<'_>,
        rng: &mut R,
    ) -> Result<MarginProof, ProveError> {
        let MarginRequest {
            account,
            params,
            report,
            tau_ppm,
            expect,
            commitment,
            oracle,
        } = *request;
        let Checked {
            commitment: actual,
            config,
            now,
            prices,
        } = check_inputs(account, params, commitment, report, oracle)?;
        let weights = params.weights();
        let health = account.health(&weights, &prices);
        let status = health.status(tau_ppm);
        if let Some(expected) = expect {
            if expected != status {
                return Err(ProveError::StatusMismatch {
                    expected,
                    expected_verb: match expected {
                        Status::Meets => "meet it",
                        Status::Breaches => "breach it",
                    },
                    actual: status,
                    tau_ppm,
                });
            }
        }

        let public = MarginPublic {
            commitment: actual,
            status,
            tau_ppm,
            prices,
            weights,
        };
        let circuit = MarginCircuit {
            public,
            private: Some(MarginPrivate {
                account: account.clone(),
            }),
        };
        let proof =
            Groth16::<Bn254>::create_random_proof_with_reduction(circuit, &self.key.key, rng)
                .map_err(|e| ProveError::Prove(e.to_string()))?;
        let mut proof_bytes = Vec::with_capacity(PROOF_BYTES);
        proof
            .serialize_compressed(&mut proof_bytes)
            .map_err(|e| ProveError::Prove(e.to_string()))?;
        let bundle = ProofBundle {
            version: BUNDLE_VERSION,
            key_fingerprint: self.key.verifying_key_fingerprint.clone(),
            statement: Statement::Margin(MarginStatement {
                commitment: actual,
                status,
                tau_ppm,
                risk_params_digest: params.digest(),
            }),
            report: report.clone(),
            proof: hex::encode(proof_bytes),
        };
        self.self_verify(&bundle, params, status, config, now)?;
        Ok(MarginProof {
            bundle,
            public,
            health,
        })
    }

    /// Defence in depth: the bundle, through its JSON form, must verify with the
    /// verifier library against the verifying-key *file* (not the proving key's copy).
    fn self_verify(
        &self,
        bundle: &ProofBundle,
        params: &RiskParams,
        status: Status,
        config: OracleConfig,
        now: u64,
    ) -> Result<(), ProveError> {
        let verifier = Verifier::from_keys_dir(&self.keys_dir, config, vec![params.clone()])?
            .with_clock(Arc::new(FixedClock(now)));
        let fail = |error: VerifyError| ProveError::SelfVerify {
            code: error.code(),
            error,
        };
        let round_trip = json_round_trip(bundle)?;
        let verdict = verifier.verify(&round_trip).map_err(fail)?;
        let proven = match verdict {
            Verdict::Meets(_) => Status::Meets,
            Verdict::Breach(_) => Status::Breaches,
        };
        if proven != status {
            return Err(fail(VerifyError::InvalidProof));
        }
        Ok(())
    }
}

/// `bundle` written as JSON and read back, as a verifier would receive it.
///
/// # Errors
/// [`ProveError::SelfVerify`] when the bundle does not survive the round trip.
pub(crate) fn json_round_trip(bundle: &ProofBundle) -> Result<ProofBundle, ProveError> {
    serde_json::to_string(bundle)
        .and_then(|json| serde_json::from_str(&json))
        .map_err(|e| {
            let error = VerifyError::MalformedProof(format!("bundle JSON round trip: {e}"));
            ProveError::SelfVerify {
                code: error.code(),
                error,
            }
        })
}

/// What [`check_inputs`] established.
pub(crate) struct Checked {
    /// The account's commitment.
    pub commitment: Commitment,
    /// The oracle config the report passed (the caller's, or the report's own signers).
    pub config: OracleConfig,
    /// The time the report was judged at.
    pub now: u64,
    /// The slot prices read from the report.
    pub prices: Prices,
}

/// The checks every prover runs before any proving work, cheapest first: parameters,
/// account slots, the expected commitment, the report's shape, its signatures (the
/// caller's oracle config, or else the report's own signers), the prices it must carry.
///
/// # Errors
/// The first failed check, as a [`ProveError`].
pub(crate) fn check_inputs(
    account: &Account,
    params: &RiskParams,
    commitment: Option<Commitment>,
    report: &SignedReport,
    oracle: Option<OracleCheck<'_>>,
) -> Result<Checked, ProveError> {
    params.validate()?;
    account.check_slots(params)?;
    let actual = Commitment::of(account);
    if let Some(expected) = commitment {
        if expected != actual {
            return Err(ProveError::CommitmentMismatch { expected, actual });
        }
    }
    report.report.validate()?;
    if report.signatures.is_empty() {
        return Err(ProveError::Unsigned);
    }
    let (config, now) = match oracle {
        Some(check) => (check.config.clone(), check.now),
        None => self_check_config(report),
    };
    config.verify(report, now)?;
    let prices = prices_from(params, report)?;
    Ok(Checked {
        commitment: actual,
        config,
        now,
        prices,
    })
}

/// The oracle check used when the caller has no oracle config: the report's own
/// signers, every one of them required, at the report's observation time. It checks
/// that the signatures are valid; committee membership, quorum and freshness are
/// then the verifier's to judge.
pub(crate) fn self_check_config(report: &SignedReport) -> (OracleConfig, u64) {
    let mut signers: Vec<_> = report.signatures.iter().map(|s| s.signer).collect();
    signers.sort();
    signers.dedup();
    let config = OracleConfig {
        version: CONFIG_VERSION,
        quorum: signers.len() as u32,
        signers,
        max_age_secs: 1,
        max_future_skew_secs: 0,
    };
    (config, report.report.observed_at)
}

/// The slot prices of `params` read from `report`, or the first missing feed.
///
/// # Errors
/// [`ProveError::MissingPrice`] naming the feed and the slot that needs it.
pub fn prices_from(params: &RiskParams, report: &SignedReport) -> Result<Prices, ProveError> {
    Prices::from_feeds(params, |feed| report.report.price(feed)).map_err(|e| {
        let used_by = params
            .tokens
            .iter()
            .filter(|t| t.feed_id == e.feed_id)
            .map(|t| format!("token {}", t.symbol))
            .chain(
                params
                    .markets
                    .iter()
                    .filter(|m| m.feed_id == e.feed_id)
                    .map(|m| format!("market {}", m.symbol)),
            )
            .collect::<Vec<_>>()
            .join(" and ");
        ProveError::MissingPrice {
            feed: e.feed_id,
            used_by,
        }
    })
}
