//! zkmargin prover: key setup and key files, the JSON file formats, and proving.
//!
//! - [`registry`]: the circuits this build proves ([`registry::CIRCUITS`]); setup
//!   and loading iterate over it, so a new circuit is one entry.
//! - [`setup`]: Groth16 setup — deterministic development keys from the public
//!   [`setup::DEVELOPMENT_SEED`] (unsafe: anyone can forge proofs), or production
//!   keys from the OS RNG — and the keys directory with its manifest.
//! - [`keys`]: loading a proving key — manifest checks, SHA-256 fingerprint once,
//!   fast unchecked deserialization, shape checks; missing development keys are
//!   regenerated from the seed.
//! - [`files`] and [`formats`]: versioned JSON files with one-line errors that name
//!   the file and the fix; accounts and committee secrets are private (`0600`).
//! - [`prove`]: [`MarginProver`] — inputs checked, status computed natively, proven,
//!   and the bundle self-verified with the verifier library before it is returned.
//! - [`policy`]: [`choose_liquidation`] — which of an account's legal liquidations to
//!   take.
//! - [`liquidate`]: [`LiquidationProver`] — the same input checks, the liquidation the
//!   policy chooses, the new state from the native twin, proven, and the transition
//!   bundle self-verified with `verify_liquidation`.
//!
//! ```no_run
//! use zkmargin_circuits::{Account, RiskParams};
//! use zkmargin_oracle::SignedReport;
//! use zkmargin_prover::{setup, MarginProver, MarginRequest, DEFAULT_TAU_PPM};
//!
//! fn prove(
//!     account: Account,
//!     params: RiskParams,
//!     report: SignedReport,
//! ) -> Result<(), Box<dyn std::error::Error>> {
//!     setup::setup("keys".as_ref(), setup::KeyMode::Development)?;
//!     let prover = MarginProver::load("keys", &mut |_| {})?;
//!     let proof = prover.prove(
//!         &MarginRequest {
//!             account: &account,
//!             params: &params,
//!             report: &report,
//!             tau_ppm: DEFAULT_TAU_PPM,
//!             expect: None,
//!             commitment: None,
//!             oracle: None,
//!         },
//!         &mut rand_core::OsRng,
//!     )?;
//!     println!("{}", serde_json::to_string_pretty(&proof.bundle)?);
//!     Ok(())
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod files;
pub mod formats;
pub mod keys;
pub mod liquidate;
pub mod policy;
pub mod prove;
pub mod registry;
pub mod setup;

pub use files::{FileError, FileKind};
pub use formats::{AccountFile, CommitteeFile};
pub use keys::{load_proving_key, KeyLoadError, LoadEvent, LoadedProvingKey};
pub use liquidate::{
    plan_liquidation, LiquidationPlan, LiquidationProof, LiquidationProver, LiquidationRequest,
    MAX_LIQUIDATOR_ID,
};
pub use policy::{choose_liquidation, ChosenLiquidation};
pub use prove::{
    MarginProof, MarginProver, MarginRequest, OracleCheck, ProveError, DEFAULT_TAU_PPM,
};
pub use registry::{CircuitDef, Shape, CIRCUITS};
pub use setup::{KeyMode, SetupError, DEVELOPMENT_SEED};
