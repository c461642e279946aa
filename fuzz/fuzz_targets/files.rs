//! The product's JSON files, as the CLI reads them (`files::parse_json`: the strict
//! JSON reader, the version check, the typed shape), then each format's own checks:
//! account (`check_slots`, the commitment, and the native health at the example
//! prices and at the largest prices), risk parameters (`validate`, digest, weights),
//! oracle config (`validate`, digest), committee secrets (`check`), key manifest, and
//! the file-kind detection every reader's error messages use.
//!
//! Properties beyond "never panics": a file that decodes and validates re-encodes to a
//! file that decodes to the same value with the same digest.
#![no_main]

use std::{path::Path, sync::OnceLock};

use libfuzzer_sys::fuzz_target;
use zkmargin_circuits::{Commitment, Prices, RiskParams};
use zkmargin_oracle::{OracleConfig, SignedReport};
use zkmargin_prover::formats::{AccountFile, CommitteeFile};
use zkmargin_verifier::{
    files::{parse_json, FileKind},
    json, Manifest,
};

fn example_params() -> &'static RiskParams {
    static PARAMS: OnceLock<RiskParams> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let text = std::str::from_utf8(zkmargin_fuzz::EXAMPLE_RISK_PARAMS).unwrap();
        parse_json(text, Path::new("risk-params.json"), FileKind::RiskParams)
            .expect("examples/risk-params.json")
    })
}

fn example_prices() -> &'static Prices {
    static PRICES: OnceLock<Prices> = OnceLock::new();
    PRICES.get_or_init(|| {
        let text = std::str::from_utf8(zkmargin_fuzz::EXAMPLE_SIGNED_REPORT).unwrap();
        let signed: SignedReport = parse_json(
            text,
            Path::new("signed-report.json"),
            FileKind::SignedReport,
        )
        .expect("examples/signed-report.json");
        Prices::from_feeds(example_params(), |f| signed.report.price(f)).expect("every feed")
    })
}

/// Decodes `text` as a `kind` file the way the CLI does, and again after re-encoding.
fn roundtrip<T>(text: &str, kind: FileKind) -> Option<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let path = Path::new("fuzz.json");
    let value: T = parse_json(text, path, kind).ok()?;
    let again = serde_json::to_string(&value).expect("a decoded file re-encodes");
    let back: T = parse_json(&again, path, kind)
        .unwrap_or_else(|e| panic!("a decoded {kind} does not decode after re-encoding: {e}"));
    assert_eq!(back, value, "{kind} changed in a round trip");
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(value) = json::parse_str(text) {
        let _ = FileKind::detect(&value);
    }

    if let Some(file) = roundtrip::<AccountFile>(text, FileKind::Account) {
        let account = file.account;
        let _ = Commitment::of(&account).to_hex();
        let params = example_params();
        if account.check_slots(params).is_ok() {
            let weights = params.weights();
            let h = account.health(&weights, example_prices());
            let _ = h.status(0);
            let _ = h.status(u32::MAX);
            let top = Prices::from_feeds(params, |_| Some(u64::MAX)).unwrap();
            let _ = account.health(&weights, &top).status(1_000_000);
        }
    }

    if let Some(params) = roundtrip::<RiskParams>(text, FileKind::RiskParams) {
        if params.validate().is_ok() {
            let again: RiskParams =
                serde_json::from_str(&serde_json::to_string(&params).unwrap()).unwrap();
            assert_eq!(again.digest(), params.digest());
            let _ = params.weights();
            let _ = params.feed_ids().count();
        }
    }

    if let Some(config) = roundtrip::<OracleConfig>(text, FileKind::OracleConfig) {
        if config.validate().is_ok() {
            // The digest names the committee, not the order it is listed in.
            let mut reversed = config.clone();
            reversed.signers.reverse();
            assert_eq!(reversed.digest(), config.digest());
        }
    }

    if let Some(committee) = roundtrip::<CommitteeFile>(text, FileKind::Committee) {
        let _ = committee.check();
    }

    let _ = roundtrip::<Manifest>(text, FileKind::KeyManifest);
});
