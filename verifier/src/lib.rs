//! zkmargin verifier: the library liquidators and settlement systems embed.
//!
//! - [`keys`]: key files and their manifest; every file is checked against its SHA-256
//!   fingerprint before its bytes are trusted.
//! - [`bundle`]: the proof bundle format (JSON): statement, signed oracle report, proof.
//! - [`Verifier`]: `verify(&bundle) -> Result<Verdict, VerifyError>`. Cheap rejections
//!   first (version and sizes, key fingerprint, risk parameters, oracle quorum and
//!   freshness, point validity), the pairing check last.
//! - [`Verifier::verify_batch`]: many bundles, one random linear combination of their
//!   Groth16 equations (one multi-Miller loop, one final exponentiation); bisection
//!   names each invalid proof.
//! - [`Verdict`]: `Meets` or `Breach`. A [`VerifiedBreach`] can only be made by this
//!   crate, so settlement code that takes one cannot be handed an unverified proof.
//! - [`Verifier::verify_transition`]: a liquidation transition bundle →
//!   [`VerifiedTransition`], the only input the settlement ledger applies.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
pub mod bundle;
mod cache;
mod fixed_base;
pub mod keys;
mod pairing;
#[cfg(feature = "testkit")]
pub mod testkit;
mod transition;
mod verify;

pub use bundle::{
    BundleError, LiquidationStatement, MarginStatement, ProofBundle, Statement, BUNDLE_VERSION,
};
pub use keys::{KeyError, Manifest};
pub use transition::VerifiedTransition;
pub use verify::{
    Clock, FixedClock, SetupError, SystemClock, Verdict, VerifiedBreach, VerifiedMargin, Verifier,
    VerifyError,
};
