//! The proof bundle: what a prover hands a verifier (JSON, `version` 1).
//!
//! ```json
//! {
//!   "version": 1,
//!   "key_fingerprint": "<sha256 of the verifying key file>",
//!   "statement": {
//!     "circuit": "zkmargin.margin.v1",
//!     "commitment": "0x<64 hex>",
//!     "status": "breaches",
//!     "tau_ppm": 1000000,
//!     "risk_params_digest": "<64 hex>"
//!   },
//!   "report": { "report": { ... }, "signatures": [ ... ] },
//!   "proof": "<256 hex: compressed Groth16 proof>"
//! }
//! ```
//!
//! The bundle carries no prices: the verifier reads them from the signed report, for
//! the feeds the risk parameters (named by their digest) assign to each slot. So a
//! proof is only accepted for prices a quorum signed.

use serde::{Deserialize, Serialize};
use zkmargin_circuits::{Commitment, LiquidationAction, LiquidationTerms, Status};
use zkmargin_oracle::SignedReport;

/// Bundle format version.
pub const BUNDLE_VERSION: u32 = 1;
/// Size of a compressed BN254 Groth16 proof: A (32) + B (64) + C (32).
pub const PROOF_BYTES: usize = 128;

/// A proof with everything needed to verify it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofBundle {
    /// Format version, [`BUNDLE_VERSION`].
    pub version: u32,
    /// SHA-256 (hex) of the verifying key file the proof was made for.
    pub key_fingerprint: String,
    /// The public statement.
    pub statement: Statement,
    /// The signed oracle report the proof used.
    pub report: SignedReport,
    /// The compressed Groth16 proof, lowercase hex.
    pub proof: String,
}

/// The statement a bundle proves, tagged by circuit id and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "circuit")]
pub enum Statement {
    /// The margin statement.
    #[serde(rename = "zkmargin.margin.v1")]
    Margin(MarginStatement),
    /// The liquidation transition statement.
    #[serde(rename = "zkmargin.liquidation.v2")]
    Liquidation(Box<LiquidationStatement>),
}

/// "The account inside `commitment` has `status` at threshold `tau_ppm`", at the
/// report's prices under the risk parameters with digest `risk_params_digest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarginStatement {
    /// The account commitment.
    pub commitment: Commitment,
    /// Meets or breaches.
    pub status: Status,
    /// Threshold τ in ppm (1,000,000 is the maintenance line).
    pub tau_ppm: u32,
    /// SHA-256 of the risk parameters, lowercase hex.
    #[serde(with = "zkmargin_circuits::hex_text::serde_32")]
    pub risk_params_digest: [u8; 32],
}

/// "The breaching account inside `old_commitment` becomes the account inside
/// `new_commitment` by `action`", at the report's prices under the risk parameters
/// with digest `risk_params_digest`; `deficit` is what it leaves unpaid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidationStatement {
    /// Commitment of the breaching state.
    pub old_commitment: Commitment,
    /// Commitment of the state after the liquidation.
    pub new_commitment: Commitment,
    /// The venue's id of the liquidator the fee is owed to.
    pub liquidator: u64,
    /// What the liquidation moves.
    pub action: LiquidationAction,
    /// Quote units left unpaid after everything is closed (0 otherwise).
    pub deficit: u64,
    /// The action's terms as the prover computed them. The verifier recomputes them
    /// from the action, the signed prices and the parameters, and rejects a bundle
    /// whose terms differ; they are here so a reader sees the fees without a verifier.
    pub terms: LiquidationTerms,
    /// SHA-256 of the risk parameters, lowercase hex.
    #[serde(with = "zkmargin_circuits::hex_text::serde_32")]
    pub risk_params_digest: [u8; 32],
}

impl Statement {
    /// The circuit id of this statement.
    pub fn circuit_id(&self) -> &'static str {
        match self {
            Statement::Margin(_) => zkmargin_circuits::MARGIN_CIRCUIT_ID,
            Statement::Liquidation(_) => zkmargin_circuits::LIQUIDATION_CIRCUIT_ID,
        }
    }

    /// SHA-256 of the risk parameters the statement uses.
    pub fn risk_params_digest(&self) -> [u8; 32] {
        match self {
            Statement::Margin(s) => s.risk_params_digest,
            Statement::Liquidation(s) => s.risk_params_digest,
        }
    }
}

/// Circuit ids this build verifies.
pub const SUPPORTED_CIRCUITS: &[&str] = &[
    zkmargin_circuits::MARGIN_CIRCUIT_ID,
    zkmargin_circuits::LIQUIDATION_CIRCUIT_ID,
];

/// Why bytes are not a proof bundle this build reads. Each variant has a stable
/// [`BundleError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bytes are not JSON.
    #[error("not valid JSON: {0}")]
    Json(String),
    /// JSON, but not of the bundle's shape: a missing field, an unknown field, a value
    /// of the wrong type or out of range.
    #[error("not a proof bundle: at `{path}`: {message}")]
    Shape {
        /// Where in the document, e.g. `statement.tau_ppm` (`.` for the top level).
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// A bundle of a format version this build does not read.
    #[error("bundle version {0} is not supported (this verifier reads version {BUNDLE_VERSION})")]
    UnsupportedVersion(u64),
    /// A statement of an earlier version of a circuit this build verifies in a newer one.
    #[error("circuit {found:?} is an earlier statement version: this verifier verifies {current}; prove the statement again with the current keys")]
    RetiredCircuit {
        /// The circuit id in the bundle.
        found: String,
        /// The version this build verifies.
        current: &'static str,
    },
    /// A statement of a circuit this build does not verify.
    #[error("circuit {0:?} is not supported (this verifier verifies {circuits})", circuits = SUPPORTED_CIRCUITS.join(", "))]
    UnsupportedCircuit(String),
}

impl BundleError {
    /// A stable, machine-readable error code (snake_case).
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Json(_) => "invalid_json",
            BundleError::Shape { .. } => "invalid_bundle",
            BundleError::UnsupportedVersion(_) | BundleError::RetiredCircuit { .. } => {
                "unsupported_version"
            }
            BundleError::UnsupportedCircuit(_) => "unsupported_circuit",
        }
    }
}

impl ProofBundle {
    /// Decodes a bundle from JSON bytes, with an error that says what is wrong and
    /// where. The JSON is read by [`crate::json::parse`] (no duplicate keys, integers
    /// only), the hex fields must be lowercase.
    ///
    /// A document whose `version` or `statement.circuit` this build does not know is
    /// reported as such, even if the rest of it has another shape: a newer format
    /// should be named as newer, not as malformed.
    ///
    /// # Errors
    /// [`BundleError`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        let value = crate::json::parse(bytes).map_err(|e| BundleError::Json(e.to_string()))?;
        Self::from_json_value(value)
    }

    /// Decodes a bundle from a parsed JSON value (e.g. one element of a batch).
    ///
    /// # Errors
    /// [`BundleError`] other than [`BundleError::Json`].
    pub fn from_json_value(value: serde_json::Value) -> Result<Self, BundleError> {
        if let Some(version) = value.get("version").and_then(serde_json::Value::as_u64) {
            if version != u64::from(BUNDLE_VERSION) {
                return Err(BundleError::UnsupportedVersion(version));
            }
        }
        if let Some(circuit) = value
            .get("statement")
            .and_then(|s| s.get("circuit"))
            .and_then(serde_json::Value::as_str)
        {
            if zkmargin_circuits::RETIRED_LIQUIDATION_CIRCUIT_IDS.contains(&circuit) {
                return Err(BundleError::RetiredCircuit {
                    found: circuit.to_owned(),
                    current: zkmargin_circuits::LIQUIDATION_CIRCUIT_ID,
                });
            }
            if !SUPPORTED_CIRCUITS.contains(&circuit) {
                return Err(BundleError::UnsupportedCircuit(circuit.to_owned()));
            }
        }
        let statement = value.get("statement").cloned();
        let bundle: Self = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            // The statement is tagged by its circuit, which hides the path inside it:
            // decode it alone to name the field.
            if path == "statement" {
                if let Some(inner) = statement.and_then(statement_error) {
                    return inner;
                }
            }
            BundleError::Shape {
                path,
                message: e.into_inner().to_string(),
            }
        })?;
        bundle.check_encodings()?;
        Ok(bundle)
    }

    /// Checks the hex strings the typed decoder takes as text (`key_fingerprint`,
    /// `proof`): one spelling, lowercase, as every digest
    /// (`zkmargin_circuits::hex_text`). Every decoder of bundles calls it.
    ///
    /// # Errors
    /// [`BundleError::Shape`] naming the field.
    pub fn check_encodings(&self) -> Result<(), BundleError> {
        for (path, text, bytes) in [
            ("key_fingerprint", &self.key_fingerprint, 32),
            ("proof", &self.proof, PROOF_BYTES),
        ] {
            zkmargin_circuits::hex_text::check(text, bytes).map_err(|e| BundleError::Shape {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }
}

/// The error of decoding `statement` (minus its `circuit` tag) as the statement type
/// its tag names (a margin statement when the tag is missing), with the path below
/// `statement`.
fn statement_error(mut statement: serde_json::Value) -> Option<BundleError> {
    let circuit = statement.as_object_mut()?.remove("circuit");
    let result = match circuit.as_ref().and_then(serde_json::Value::as_str) {
        Some(zkmargin_circuits::LIQUIDATION_CIRCUIT_ID) => {
            serde_path_to_error::deserialize::<_, LiquidationStatement>(statement).map(drop)
        }
        _ => serde_path_to_error::deserialize::<_, MarginStatement>(statement).map(drop),
    };
    let e = result.err()?;
    Some(BundleError::Shape {
        path: match e.path().to_string() {
            p if p == "." => "statement".to_owned(),
            p => format!("statement.{p}"),
        },
        message: e.into_inner().to_string(),
    })
}
