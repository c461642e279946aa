//! Fixtures shared by the integration tests.
#![allow(dead_code)]

use zkmargin_oracle::{
    development_committee, OracleConfig, PriceFeed, PriceReport, SignedReport, SignerKey,
    PRICE_EXPONENT, REPORT_VERSION,
};

/// Observation time of [`sample_report`].
pub const OBSERVED_AT: u64 = 1_700_000_000;
/// Expiry of [`sample_report`]: one hour after observation, so max_age (300 s) binds first.
pub const EXPIRES_AT: u64 = OBSERVED_AT + 3_600;

/// A feed with a symmetric 1-unit spread around `price`.
pub fn feed(feed_id: &str, price: u64) -> PriceFeed {
    PriceFeed {
        feed_id: feed_id.into(),
        price,
        bid: price - 1,
        ask: price + 1,
    }
}

/// A valid two-feed report (BTC in satoshis at 60,000 USD, ETH in 1e-9 ETH at 3,000 USD).
pub fn sample_report() -> PriceReport {
    PriceReport {
        version: REPORT_VERSION,
        exponent: PRICE_EXPONENT,
        observed_at: OBSERVED_AT,
        expires_at: EXPIRES_AT,
        feeds: vec![
            feed("BTC/USD", 600_000_000_000),
            feed("ETH/USD", 3_000_000_000),
        ],
    }
}

/// The development committee (3 signers, quorum 2, max age 300 s, skew 5 s).
pub fn committee() -> (Vec<SignerKey>, OracleConfig) {
    development_committee()
}

/// `report` signed by the committee keys at `indices`.
pub fn signed_by(report: &PriceReport, keys: &[SignerKey], indices: &[usize]) -> SignedReport {
    SignedReport {
        report: report.clone(),
        signatures: indices.iter().map(|&i| keys[i].sign(report)).collect(),
    }
}

/// A deterministic key outside the development committee.
pub fn outsider() -> SignerKey {
    SignerKey::from_bytes(&[0x42; 32]).unwrap()
}
