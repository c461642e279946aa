//! zkmargin verifier: the library liquidators and settlement systems embed.
//!
//! - [`config`]: [`VerifierConfig`] (keys directory, oracle config, risk parameters,
//!   clock) → [`Opened`]: the verifier and the [`TrustCheck`] of its configuration.
//!   Every shell opens its verifier here.
//! - [`files`]: the product's JSON files, read with one-line errors naming the file.
//! - [`json`]: the one JSON decoder of files, bundles and service requests (no
//!   duplicate keys, integers only).
//! - [`keys`]: key files and their manifest; every file is checked against its SHA-256
//!   fingerprint before its bytes are trusted.
//! - [`bundle`]: the proof bundle format (JSON): statement, signed oracle report, proof.
//! - [`Verifier::verify_any`]: any bundle → [`Verified`] (`Margin` or `Liquidation`).
//!   Cheap rejections first (version and sizes, key fingerprint, risk parameters,
//!   oracle quorum and freshness, point validity: one shared path for both
//!   statements), the pairing check last.
//! - [`Verifier::verify`] and [`Verifier::verify_batch`]: margin bundles, singly or as
//!   one random linear combination of their Groth16 equations (one multi-Miller loop,
//!   one final exponentiation); bisection names each invalid proof.
//! - [`Verdict`]: `Meets` or `Breach`. A [`VerifiedBreach`] can only be made by this
//!   crate, so settlement code that takes one cannot be handed an unverified proof.
//! - [`Verifier::verify_liquidation`]: a liquidation bundle → [`VerifiedLiquidation`],
//!   the only input the settlement ledger applies.
//!
//! Modules, lowest first (each uses only those above it): `error`, `json`, `bundle`, `keys`,
//! `files`, `prepared` (keys and proofs ready for pairings), `verifier` (the
//! [`Verifier`] and its shared pre-checks), `margin`, `liquidation`, `batch`,
//! `verified` (dispatch on the statement), `trust`, `config`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
pub mod bundle;
mod cache;
pub mod config;
mod error;
pub mod files;
mod fixed_base;
pub mod json;
pub mod keys;
mod liquidation;
mod margin;
mod pairing;
mod prepared;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod trust;
mod verified;
mod verifier;

pub use bundle::{
    BundleError, LiquidationStatement, MarginStatement, ProofBundle, Statement, BUNDLE_VERSION,
};
pub use config::{ConfigError, Opened, VerifierConfig};
pub use error::{SetupError, VerifyError};
pub use keys::{KeyError, Manifest};
pub use liquidation::VerifiedLiquidation;
pub use margin::{Verdict, VerifiedBreach, VerifiedMargin};
pub use trust::TrustCheck;
pub use verified::Verified;
pub use verifier::{Clock, FixedClock, SystemClock, Verifier};
