//! Shared fixtures: one development keys directory per test binary, accounts, reports.
#![allow(dead_code)]

use std::{
    fs,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use tempfile::TempDir;
use zkmargin_circuits::{Account, RiskParams};
use zkmargin_oracle::{development_committee, SignedReport};
use zkmargin_prover::{setup, KeyMode};

/// Development keys made once per test binary (setup takes ~0.2 s in release).
pub fn dev_keys() -> &'static Path {
    static KEYS: OnceLock<TempDir> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        setup::setup(dir.path(), KeyMode::Development).unwrap();
        dir
    })
    .path()
}

/// A fresh copy of the files of `from` (a test may then damage them).
pub fn copy_keys(from: &Path) -> TempDir {
    let to = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), to.path().join(entry.file_name())).unwrap();
        }
    }
    to
}

/// The repository's shipped keys directory.
pub fn repo_keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../keys")
}

/// Edits `dir/manifest.json` as JSON.
pub fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut m);
    fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
}

pub const NOW: u64 = 1_800_000_000;

/// The demo prices: ETH 2,900, BTC 57,000, SOL 150, USDC 1, DOGE 0.10 USD.
pub fn prices() -> Vec<(&'static str, u64)> {
    vec![
        ("BTC/USD", 570_000_000_000),
        ("DOGE/USD", 100_000_000),
        ("ETH/USD", 2_900_000_000),
        ("SOL/USD", 150_000_000),
        ("USDC/USD", 1_000_000_000),
    ]
}

/// A report of `prices` (sorted by feed id) observed at [`NOW`], signed by 2 of the
/// 3 development signers.
pub fn report_of(prices: &[(&str, u64)]) -> SignedReport {
    let report = zkmargin_oracle::PriceReport {
        version: zkmargin_oracle::REPORT_VERSION,
        exponent: zkmargin_oracle::PRICE_EXPONENT,
        observed_at: NOW,
        expires_at: NOW + 60,
        feeds: prices
            .iter()
            .map(|(f, p)| zkmargin_oracle::PriceFeed {
                feed_id: f.to_string(),
                price: *p,
                bid: *p,
                ask: *p,
            })
            .collect(),
    };
    report.validate().unwrap();
    SignedReport::sign(report, &development_committee().0[..2])
}

pub fn report() -> SignedReport {
    report_of(&prices())
}

/// SPEC's worked example: 10 ETH, -80,000 USD, 1 BTC-PERP long; H = -640 USD at ETH 2,900.
pub fn breaching() -> Account {
    let mut a = Account::empty(2, &mut rand::thread_rng());
    a.tokens[0] = 10_000_000_000;
    a.quote = -80_000_000_000;
    a.positions[0] = 100_000_000;
    a
}

/// The same with 1,000 USD more cash: H = +360 USD.
pub fn healthy() -> Account {
    let mut a = breaching();
    a.id = 1;
    a.quote += 1_000_000_000;
    a
}

pub fn params() -> RiskParams {
    RiskParams::development()
}
