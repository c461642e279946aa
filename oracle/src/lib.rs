//! zkmargin oracle prices: signed price reports and their verification.
//!
//! A committee of oracle signers (secp256k1 ECDSA, as Chainlink and Pyth use) signs
//! [`PriceReport`]s. A prover puts a [`SignedReport`] in its proof bundle; a verifier
//! holding an [`OracleConfig`] (the committee, the quorum k of n, the freshness
//! policy) accepts it through [`OracleConfig::verify`], which returns a
//! [`VerifiedReport`] — the only way to obtain one, so code that takes a
//! `VerifiedReport` never sees unsigned or stale prices.
//!
//! # Prices
//!
//! Every price is a `u64` with the fixed exponent [`PRICE_EXPONENT`] = -9: it counts
//! 10^-9 quote atomic units per asset atomic unit. With the quote in 10^-6 USD and
//! ETH in 10^-9 ETH, ETH at 3,000 USD is `3_000_000_000`; BTC in satoshis (10^-8
//! BTC) at 60,000 USD is `600_000_000_000`. Each feed also carries `bid` and `ask`
//! with `0 < bid <= price <= ask`. JSON carries them as numbers; JavaScript clients
//! must parse them as big integers (values may exceed 2^53).
//!
//! # Canonical encoding (protocol, version 1)
//!
//! Signatures cover the SHA-256 [`PriceReport::digest`] of this encoding, all
//! integers big-endian:
//!
//! ```text
//! u8 len (24) || "zkmargin/price-report/v1"
//! version u32 || exponent i32 || observed_at u64 || expires_at u64
//! feed count u16
//! per feed, in canonical order: u8 len || feed_id bytes || price u64 || bid u64 || ask u64
//! ```
//!
//! Canonical order is strictly ascending `feed_id` (byte order); ids are 1..=32
//! bytes of printable ASCII without spaces, and a report has 1..=64 feeds, so every
//! length fits its prefix and the encoding is injective on valid reports.
//!
//! A signature is ECDSA/secp256k1 over the 32-byte digest used directly as the
//! prehash, with an RFC 6979 deterministic nonce, as 64 bytes `r || s` in lowercase
//! hex. Only low-S signatures (BIP 62) are accepted, so no signer can appear with
//! two valid encodings of one signature. A [`SignerId`] is the 33-byte compressed
//! SEC1 public key in lowercase hex.
//!
//! The config is named by [`OracleConfig::digest`], SHA-256 of:
//!
//! ```text
//! u8 len (25) || "zkmargin/oracle-config/v1"
//! version u32 || quorum u32 || max_age_secs u64 || max_future_skew_secs u64
//! signer count u8 || each signer's 33 compressed bytes, ascending byte order
//! ```
//!
//! Signers are sorted before encoding: their order in a config file does not matter.
//!
//! # Verification
//!
//! [`OracleConfig::verify`] checks, cheapest first and in this order: the config is
//! valid; the report is valid ([`PriceReport::validate`]); every signature parses;
//! every signer is in the committee; no signer signed twice; every signature verifies;
//! at least `quorum` distinct signers signed; and the report is fresh at `now`
//! (observed no later than `now + max_future_skew_secs`, `now < expires_at`,
//! `now - observed_at <= max_age_secs`). Every failure is one [`OracleError`]
//! variant with a stable [`OracleError::code`].
//!
//! # Example
//!
//! A report signed by two of the three development signers, and the development
//! committee's config (quorum 2, reports at most 300 s old, 5 s clock skew):
//!
//! ```
//! use zkmargin_oracle::{development_committee, OracleConfig, OracleError, SignedReport};
//!
//! let signed: SignedReport = serde_json::from_str(r#"{
//!   "report": {
//!     "version": 1,
//!     "exponent": -9,
//!     "observed_at": 1700000000,
//!     "expires_at": 1700000060,
//!     "feeds": [
//!       { "feed_id": "BTC/USD", "price": 600000000000, "bid": 599940000000, "ask": 600060000000 },
//!       { "feed_id": "ETH/USD", "price": 3000000000, "bid": 2999000000, "ask": 3001000000 }
//!     ]
//!   },
//!   "signatures": [
//!     {
//!       "signer": "03ee4a0c4001814ee0f89a4981f5679944f892f47b33d2ad1c8f8cacfef7aa427c",
//!       "signature": "4541ac81faae6d6adae4343f25721bb9366a6f90b151c647343ec8a05a1d1d5643cd932694da74dabd9ab8348c29f18d2cbc2f65c5a1f59c766a987adaed71ca"
//!     },
//!     {
//!       "signer": "032d2c50a8bef8e97b73e08e1c8b47fb8689ccdb83066d40ed9642d65d1d5a9d86",
//!       "signature": "57877a3208504a41570b5a8093853e9d90f5331f0995baf3fea007e0e515cf914ba86241ca8305d0f367e699d841094bcd574f565497c02fc305513c4598b0ad"
//!     }
//!   ]
//! }"#)?;
//!
//! let config: OracleConfig = serde_json::from_str(r#"{
//!   "version": 1,
//!   "signers": [
//!     "03ee4a0c4001814ee0f89a4981f5679944f892f47b33d2ad1c8f8cacfef7aa427c",
//!     "032d2c50a8bef8e97b73e08e1c8b47fb8689ccdb83066d40ed9642d65d1d5a9d86",
//!     "02bb01b2f808c2714ddf2555e27f0b352633ec866ec497214e28d8367cd2846bfc"
//!   ],
//!   "quorum": 2,
//!   "max_age_secs": 300,
//!   "max_future_skew_secs": 5
//! }"#)?;
//! assert_eq!(config, development_committee().1);
//!
//! // 30 s after observation: fresh, and 2 of 3 signed.
//! let verified = config.verify(&signed, 1_700_000_030)?;
//! assert_eq!(verified.price("ETH/USD"), Some(3_000_000_000));
//! assert_eq!(verified.signers().len(), 2);
//!
//! // At expires_at the same report is refused.
//! let err = config.verify(&signed, 1_700_000_060).unwrap_err();
//! assert!(matches!(err, OracleError::Expired { .. }));
//! assert_eq!(err.code(), "oracle_report_expired");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Signing, with the development committee:
//!
//! ```
//! use zkmargin_oracle::{development_committee, PriceFeed, PriceReport, SignedReport};
//! use zkmargin_oracle::{PRICE_EXPONENT, REPORT_VERSION};
//!
//! let (keys, config) = development_committee();
//! let report = PriceReport {
//!     version: REPORT_VERSION,
//!     exponent: PRICE_EXPONENT,
//!     observed_at: 1_700_000_000,
//!     expires_at: 1_700_000_060,
//!     feeds: vec![PriceFeed { feed_id: "ETH/USD".into(), price: 3_000_000_000, bid: 2_999_000_000, ask: 3_001_000_000 }],
//! };
//! report.validate()?;
//! let signed = SignedReport::sign(report, &keys[..2]);
//! assert!(config.verify(&signed, 1_700_000_001).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Development committee
//!
//! [`development_committee`] derives three keys from public seeds. They are for
//! development and tests only: anyone can sign any price with them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod keys;
mod report;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use config::{
    ConfigError, OracleConfig, OracleError, VerifiedReport, CONFIG_DOMAIN, MAX_SIGNERS,
};
pub use keys::{KeyError, SignerId, SignerKey, SIGNATURE_BYTES, SIGNER_ID_BYTES, SIGNER_KEY_BYTES};
pub use report::{PriceFeed, PriceReport, ReportError, MAX_FEEDS, MAX_FEED_ID_LEN, REPORT_DOMAIN};

/// Version of the [`PriceReport`] encoding this crate reads and writes.
pub const REPORT_VERSION: u32 = 1;
/// Version of the [`OracleConfig`] encoding this crate reads and writes.
pub const CONFIG_VERSION: u32 = 1;
/// Decimal exponent of every price: 10^-9 quote atomic units per asset atomic unit
/// (the same scale as `zkmargin_circuits::PRICE_DECIMALS = 9`).
pub const PRICE_EXPONENT: i32 = -9;

/// A signature by one committee member over a report's [`PriceReport::digest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSignature {
    /// Who signed.
    pub signer: SignerId,
    /// 64-byte ECDSA `r || s` (low-S), 128 lowercase hex characters without `0x`.
    pub signature: String,
}

/// A report with the committee signatures a prover puts in its proof bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedReport {
    /// The signed report.
    pub report: PriceReport,
    /// One signature per signing committee member.
    pub signatures: Vec<ReportSignature>,
}

impl SignedReport {
    /// Signs `report` with every key in `keys`, in that order.
    pub fn sign(report: PriceReport, keys: &[SignerKey]) -> Self {
        let signatures = keys.iter().map(|key| key.sign(&report)).collect();
        Self { report, signatures }
    }
}

/// Seed of development signer `i`: SHA-256 of this prefix followed by `i` in decimal.
pub const DEVELOPMENT_SIGNER_SEED_PREFIX: &str = "zkmargin development oracle signer ";

/// The development committee: 3 signers, quorum 2, `max_age_secs` 300, skew 5 s.
///
/// **For development and tests only: these secret keys are public.** Anyone can
/// derive them: key `i` is SHA-256(`"zkmargin development oracle signer {i}"`) for
/// `i` in `0..3`. A verifier configured with this committee accepts any prices.
pub fn development_committee() -> (Vec<SignerKey>, OracleConfig) {
    let keys: Vec<SignerKey> = (0..3)
        .map(|i| {
            let seed: [u8; 32] =
                Sha256::digest(format!("{DEVELOPMENT_SIGNER_SEED_PREFIX}{i}")).into();
            // A SHA-256 output is a valid scalar except with probability ~2^-128;
            // the committee tests pin these three.
            SignerKey::from_bytes(&seed).expect("development seed is a valid secp256k1 scalar")
        })
        .collect();
    let config = OracleConfig {
        version: CONFIG_VERSION,
        signers: keys.iter().map(SignerKey::id).collect(),
        quorum: 2,
        max_age_secs: 300,
        max_future_skew_secs: 5,
    };
    (keys, config)
}
