//! Fixtures shared by the fuzz targets: the repository's development keys and
//! examples, loaded once per process.
//!
//! Every target verifies against `keys/` with the committee of
//! `examples/oracle-config.json` and the parameters of `examples/risk-params.json`,
//! at [`AT`]: the time both example reports are fresh, so the example bundle and
//! transition verify and a mutant of them reaches the pairing check.
#![forbid(unsafe_code)]

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use zkmargin_verifier::{config::VerifierConfig, Opened, Verifier};

/// A unix time at which `examples/signed-report.json` (observed 1767225600) and the
/// report inside `examples/transition.json` (observed 1767225660) are both fresh.
pub const AT: u64 = 1_767_225_670;

/// `examples/bundle.json`: a margin bundle that verifies at [`AT`].
pub const EXAMPLE_BUNDLE: &[u8] = include_bytes!("../../examples/bundle.json");
/// `examples/transition.json`: a liquidation bundle that verifies at [`AT`].
pub const EXAMPLE_TRANSITION: &[u8] = include_bytes!("../../examples/transition.json");
/// `examples/signed-report.json`.
pub const EXAMPLE_SIGNED_REPORT: &[u8] = include_bytes!("../../examples/signed-report.json");
/// `examples/oracle-config.json`.
pub const EXAMPLE_ORACLE_CONFIG: &[u8] = include_bytes!("../../examples/oracle-config.json");
/// `examples/risk-params.json`.
pub const EXAMPLE_RISK_PARAMS: &[u8] = include_bytes!("../../examples/risk-params.json");

/// The repository root (the fuzz crate's parent directory).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ has a parent")
        .to_path_buf()
}

/// The repository's development keys directory.
pub fn keys_dir() -> PathBuf {
    repo().join("keys")
}

/// The configuration every target verifies under (see the module doc).
pub fn config() -> VerifierConfig {
    let examples = repo().join("examples");
    VerifierConfig {
        keys_dir: Some(keys_dir()),
        oracle: Some(examples.join("oracle-config.json")),
        params: vec![examples.join("risk-params.json")],
        at: Some(AT),
    }
}

/// A freshly opened verifier of [`config`] (with its trust judgement).
///
/// # Panics
/// When the repository's keys or examples do not load: a broken checkout, not a finding.
pub fn open() -> Opened {
    config()
        .open()
        .unwrap_or_else(|e| panic!("fixture: cannot open the development verifier: {e}"))
}

/// The process-wide verifier of [`config`], opened on first use.
pub fn verifier() -> &'static Arc<Verifier> {
    static VERIFIER: OnceLock<Arc<Verifier>> = OnceLock::new();
    VERIFIER.get_or_init(|| Arc::new(open().verifier))
}
