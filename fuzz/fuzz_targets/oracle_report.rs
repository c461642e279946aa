//! Price reports and their signatures.
//!
//! Input starting with `{` (or whitespace): a JSON document through the file readers
//! (`files::parse_json` as a signed report and as an unsigned report), then
//! `validate`, the canonical encoding, and `OracleConfig::verify` under the example
//! committee at a time taken from the document's own report (so freshness is reached).
//!
//! Any other input: a structured case (`arbitrary`) — feeds, times, a committee of
//! development and foreign signers with a quorum and freshness policy, who signs, and
//! byte edits to the signatures — and `OracleConfig::verify` must agree exactly with
//! an independent model of the rules in `oracle/src/lib.rs` ("Verification").
#![no_main]

use std::{collections::BTreeSet, path::Path, sync::OnceLock};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use zkmargin_oracle::{
    development_committee, OracleConfig, PriceFeed, PriceReport, SignedReport, SignerKey,
    CONFIG_VERSION, PRICE_EXPONENT,
};
use zkmargin_verifier::files::{parse_json, FileKind};

/// The three development signers and one outside the development committee.
fn signers() -> &'static [SignerKey; 4] {
    static KEYS: OnceLock<[SignerKey; 4]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let (dev, _) = development_committee();
        let foreign = SignerKey::from_bytes(&[7u8; 32]).expect("a valid scalar");
        [dev[0].clone(), dev[1].clone(), dev[2].clone(), foreign]
    })
}

fn example_config() -> &'static OracleConfig {
    static CONFIG: OnceLock<OracleConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let text = std::str::from_utf8(zkmargin_fuzz::EXAMPLE_ORACLE_CONFIG).unwrap();
        parse_json(
            text,
            Path::new("oracle-config.json"),
            FileKind::OracleConfig,
        )
        .expect("examples/oracle-config.json")
    })
}

const FEED_IDS: [&str; 6] = ["BTC/USD", "DOGE/USD", "ETH/USD", "SOL/USD", "USDC/USD", "~"];

#[derive(Debug, Arbitrary)]
struct Feed {
    /// An id from [`FEED_IDS`], or `raw_id` when out of range.
    id: u8,
    raw_id: String,
    price: u64,
    /// `bid = price - below % price`, `ask = price + above`; raw values when `raw`.
    below: u64,
    above: u64,
    raw: bool,
}

#[derive(Debug, Arbitrary)]
struct Case {
    version_ok: bool,
    exponent: Option<i32>,
    observed_at: u64,
    ttl: u16,
    feeds: Vec<Feed>,
    sort_feeds: bool,
    /// Committee members: bit i for signer i of [`signers`].
    committee: u8,
    quorum: u8,
    max_age_secs: u16,
    max_future_skew_secs: u8,
    /// Who signs, in order: indexes into [`signers`] (mod 4).
    signed_by: Vec<u8>,
    /// (signature index, hex position, xor) edits of the signature text.
    edits: Vec<(u8, u8, u8)>,
    /// `now = observed_at + now_offset` (skipped when that overflows).
    now_offset: i32,
}

fn feed(f: &Feed) -> PriceFeed {
    let feed_id = FEED_IDS
        .get(f.id as usize)
        .map_or_else(|| f.raw_id.clone(), |s| (*s).to_owned());
    let (bid, ask) = if f.raw || f.price == 0 {
        (f.below, f.above)
    } else {
        (f.price - f.below % f.price, f.price.saturating_add(f.above))
    };
    PriceFeed {
        feed_id,
        price: f.price,
        bid,
        ask,
    }
}

fn json_case(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.json");
    if let Ok(report) = parse_json::<PriceReport>(text, path, FileKind::PriceReport) {
        if report.validate().is_ok() {
            // Valid reports encode injectively: the bytes name the report.
            let again: PriceReport =
                serde_json::from_value(serde_json::to_value(&report).unwrap()).unwrap();
            assert_eq!(again.canonical_bytes(), report.canonical_bytes());
        }
        let _ = report.digest();
    }
    if let Ok(signed) = parse_json::<SignedReport>(text, path, FileKind::SignedReport) {
        let _ = signed.report.validate();
        let config = example_config();
        let observed = signed.report.observed_at;
        for now in [zkmargin_fuzz::AT, observed, observed.saturating_add(1)] {
            let _ = config.verify(&signed, now);
        }
    }
}

fn structured_case(case: Case) {
    let keys = signers();
    let mut feeds: Vec<PriceFeed> = case.feeds.iter().take(70).map(feed).collect();
    if case.sort_feeds {
        feeds.sort_by(|a, b| a.feed_id.cmp(&b.feed_id));
    }
    let report = PriceReport {
        version: if case.version_ok { 1 } else { 2 },
        exponent: case.exponent.unwrap_or(PRICE_EXPONENT),
        observed_at: case.observed_at,
        expires_at: case.observed_at.saturating_add(u64::from(case.ttl)),
        feeds,
    };
    let committee: Vec<usize> = (0..4).filter(|i| case.committee & (1 << i) != 0).collect();
    let config = OracleConfig {
        version: CONFIG_VERSION,
        signers: committee.iter().map(|&i| keys[i].id()).collect(),
        quorum: u32::from(case.quorum % 6),
        max_age_secs: u64::from(case.max_age_secs),
        max_future_skew_secs: u64::from(case.max_future_skew_secs),
    };
    let by: Vec<usize> = case
        .signed_by
        .iter()
        .take(6)
        .map(|&i| (i % 4) as usize)
        .collect();
    let chosen: Vec<SignerKey> = by.iter().map(|&i| keys[i].clone()).collect();
    let mut signed = SignedReport::sign(report.clone(), &chosen);
    let mut edited = BTreeSet::new();
    for &(index, pos, xor) in &case.edits {
        let Some(sig) = signed.signatures.get_mut(index as usize) else {
            continue;
        };
        let mut bytes = sig.signature.clone().into_bytes();
        let Some(b) = bytes.get_mut(pos as usize) else {
            continue;
        };
        *b ^= xor;
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        sig.signature = text;
        edited.insert(index as usize);
    }
    // Edits that cancel out leave the signature as signed.
    let fresh = SignedReport::sign(report.clone(), &chosen);
    edited.retain(|&i| signed.signatures[i] != fresh.signatures[i]);

    let Some(now) = case
        .observed_at
        .checked_add_signed(i64::from(case.now_offset))
    else {
        return;
    };
    let result = config.verify(&signed, now);

    // The model: oracle/src/lib.rs, "Verification".
    let distinct: BTreeSet<usize> = by.iter().copied().collect();
    let expected_ok = config.validate().is_ok()
        && report.validate().is_ok()
        && edited.is_empty()
        && by.iter().all(|i| committee.contains(i))
        && distinct.len() == by.len()
        && distinct.len() >= config.quorum as usize
        && report.observed_at <= now.saturating_add(config.max_future_skew_secs)
        && now < report.expires_at
        && now.saturating_sub(report.observed_at) <= config.max_age_secs;
    assert_eq!(
        result.is_ok(),
        expected_ok,
        "verify disagrees with the model: {result:?}\nconfig {config:?}\nreport {signed:?}\nnow {now}"
    );
    if let Ok(verified) = result {
        assert_eq!(verified.digest(), report.digest());
        assert_eq!(verified.config_digest(), config.digest());
        assert_eq!(verified.signers().len(), distinct.len());
    }
}

fuzz_target!(|data: &[u8]| {
    match data.first() {
        Some(b'{' | b' ' | b'\n' | b'\t' | b'\r') => json_case(data),
        _ => {
            if let Ok(case) = Case::arbitrary(&mut arbitrary::Unstructured::new(data)) {
                structured_case(case);
            }
        }
    }
});
