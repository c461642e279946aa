//! Why a bundle was rejected, and why a verifier could not be built.

use zkmargin_oracle::OracleError;

use crate::{bundle::BUNDLE_VERSION, keys::KeyError};

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
    /// True when the verifier, not the bundle, is what is missing something: it holds
    /// no keys for the bundle's circuit. Shells report this as a configuration error
    /// (the keys directory needs that circuit), not as a rejected bundle.
    pub fn is_configuration(&self) -> bool {
        matches!(self, VerifyError::NoKeys(_))
    }

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
