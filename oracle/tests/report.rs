//! `PriceReport::validate` (one test per `ReportError`), `OracleConfig::validate` (one
//! per `ConfigError`), lookups, the development committee, and fixed encoding vectors.

mod common;

use common::*;
use zkmargin_oracle::{
    development_committee, ConfigError, OracleConfig, PriceFeed, PriceReport, ReportError,
    SignerKey, CONFIG_VERSION, MAX_FEEDS, MAX_SIGNERS, PRICE_EXPONENT, REPORT_VERSION,
};

fn invalid(edit: impl FnOnce(&mut PriceReport)) -> ReportError {
    let mut report = sample_report();
    edit(&mut report);
    report.validate().unwrap_err()
}

/// A valid report with `n` feeds named `F00`, `F01`, ...
fn report_with_feeds(n: usize) -> PriceReport {
    let mut report = sample_report();
    report.feeds = (0..n)
        .map(|i| feed(&format!("F{i:02}"), 1_000 + i as u64))
        .collect();
    report
}

// ---------------------------------------------------------------- ReportError

#[test]
fn sample_report_is_valid() {
    sample_report().validate().unwrap();
}

#[test]
fn unsupported_version() {
    assert_eq!(
        invalid(|r| r.version = 2),
        ReportError::UnsupportedVersion {
            found: 2,
            expected: REPORT_VERSION
        }
    );
    assert!(matches!(
        invalid(|r| r.version = 0),
        ReportError::UnsupportedVersion { found: 0, .. }
    ));
}

#[test]
fn wrong_exponent() {
    assert_eq!(
        invalid(|r| r.exponent = -8),
        ReportError::WrongExponent {
            found: -8,
            expected: PRICE_EXPONENT
        }
    );
}

#[test]
fn expires_before_or_at_observed() {
    assert_eq!(
        invalid(|r| r.expires_at = r.observed_at),
        ReportError::ExpiresBeforeObserved {
            observed_at: OBSERVED_AT,
            expires_at: OBSERVED_AT
        }
    );
    assert!(matches!(
        invalid(|r| r.expires_at = r.observed_at - 1),
        ReportError::ExpiresBeforeObserved { .. }
    ));
    let mut report = sample_report();
    report.expires_at = report.observed_at + 1;
    report.validate().unwrap();
}

#[test]
fn no_feeds() {
    assert_eq!(invalid(|r| r.feeds.clear()), ReportError::NoFeeds);
}

#[test]
fn too_many_feeds_boundary() {
    report_with_feeds(MAX_FEEDS).validate().unwrap();
    assert_eq!(
        report_with_feeds(MAX_FEEDS + 1).validate().unwrap_err(),
        ReportError::TooManyFeeds {
            count: 65,
            max: MAX_FEEDS
        }
    );
}

#[test]
fn bad_feed_ids() {
    let cases = [
        ("", "empty"),
        (&"X".repeat(33) as &str, "longer than 32"),
        ("ETH USD", "space"),
        ("ETH\nUSD", "control"),
        ("ÉTH", "non-ASCII"),
        ("ETH\u{7f}", "control"),
    ];
    for (id, expected_reason) in cases {
        match invalid(|r| r.feeds = vec![feed(id, 10)]) {
            ReportError::BadFeedId {
                index,
                feed_id,
                reason,
            } => {
                assert_eq!(index, 0);
                assert_eq!(feed_id, id);
                assert!(reason.contains(expected_reason), "{id:?}: {reason}");
            }
            other => panic!("{id:?}: expected BadFeedId, got {other:?}"),
        }
    }
    // Boundaries that pass: 1 byte, 32 bytes, the printable extremes.
    for id in ["!", "~", &"X".repeat(32)] {
        let mut report = sample_report();
        report.feeds = vec![feed(id, 10)];
        report.validate().unwrap();
    }
    // The error names the index of the offending feed and prints it escaped on one line.
    let err = invalid(|r| r.feeds[1].feed_id = "ETH\nUSD".into());
    assert!(matches!(err, ReportError::BadFeedId { index: 1, .. }));
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn feeds_not_sorted() {
    assert_eq!(
        invalid(|r| r.feeds.reverse()),
        ReportError::NotSorted {
            previous: "ETH/USD".into(),
            feed_id: "BTC/USD".into()
        }
    );
    // Byte order, not case-insensitive order: "B" (0x42) < "a" (0x61).
    let mut report = sample_report();
    report.feeds = vec![feed("B", 10), feed("a", 10)];
    report.validate().unwrap();
    report.feeds.reverse();
    assert!(matches!(
        report.validate().unwrap_err(),
        ReportError::NotSorted { .. }
    ));
}

#[test]
fn duplicate_feed() {
    assert_eq!(
        invalid(|r| r.feeds[1] = feed("BTC/USD", 7)),
        ReportError::DuplicateFeed {
            feed_id: "BTC/USD".into()
        }
    );
}

#[test]
fn non_positive_price() {
    assert_eq!(
        invalid(|r| {
            r.feeds[0] = PriceFeed {
                feed_id: "BTC/USD".into(),
                price: 0,
                bid: 0,
                ask: 1,
            }
        }),
        ReportError::NonPositivePrice {
            feed_id: "BTC/USD".into()
        }
    );
}

#[test]
fn non_positive_bid() {
    assert_eq!(
        invalid(|r| r.feeds[1].bid = 0),
        ReportError::NonPositiveBid {
            feed_id: "ETH/USD".into()
        }
    );
}

#[test]
fn bid_above_ask() {
    assert_eq!(
        invalid(|r| {
            r.feeds[0].bid = 10;
            r.feeds[0].price = 10;
            r.feeds[0].ask = 9;
        }),
        ReportError::BidAboveAsk {
            feed_id: "BTC/USD".into(),
            bid: 10,
            ask: 9
        }
    );
}

#[test]
fn price_outside_bid_ask() {
    let below = invalid(|r| r.feeds[0].price = r.feeds[0].bid - 1);
    assert!(matches!(below, ReportError::PriceOutsideBidAsk { .. }));
    assert_eq!(
        invalid(|r| r.feeds[1].price = r.feeds[1].ask + 1),
        ReportError::PriceOutsideBidAsk {
            feed_id: "ETH/USD".into(),
            price: 3_000_000_002,
            bid: 2_999_999_999,
            ask: 3_000_000_001
        }
    );
}

#[test]
fn zero_spread_and_u64_max_are_valid() {
    let mut report = sample_report();
    report.feeds = vec![
        PriceFeed {
            feed_id: "A".into(),
            price: 1,
            bid: 1,
            ask: 1,
        },
        PriceFeed {
            feed_id: "B".into(),
            price: u64::MAX,
            bid: u64::MAX,
            ask: u64::MAX,
        },
    ];
    report.validate().unwrap();
}

#[test]
fn report_error_codes_are_distinct_and_messages_one_line() {
    let errors = [
        invalid(|r| r.version = 9),
        invalid(|r| r.exponent = 0),
        invalid(|r| r.expires_at = 0),
        invalid(|r| r.feeds.clear()),
        report_with_feeds(65).validate().unwrap_err(),
        invalid(|r| r.feeds[0].feed_id.clear()),
        invalid(|r| r.feeds.reverse()),
        invalid(|r| r.feeds[1].feed_id = "BTC/USD".into()),
        invalid(|r| r.feeds[0].price = 0),
        invalid(|r| r.feeds[0].bid = 0),
        invalid(|r| r.feeds[0].ask = 1),
        invalid(|r| r.feeds[0].price = u64::MAX),
    ];
    let mut codes: Vec<&str> = errors.iter().map(ReportError::code).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), errors.len(), "{errors:?}");
    for error in &errors {
        assert!(error.code().starts_with("report_"));
        assert!(!error.to_string().contains('\n'), "{error}");
    }
}

// ---------------------------------------------------------------- lookups

#[test]
fn price_lookup_finds_every_feed_and_nothing_else() {
    let report = report_with_feeds(MAX_FEEDS);
    for (i, f) in report.feeds.iter().enumerate() {
        assert_eq!(report.price(&f.feed_id), Some(1_000 + i as u64));
        assert_eq!(report.feed(&f.feed_id), Some(f));
    }
    for missing in ["", "F", "F64", "F0", "G00", "f00"] {
        assert_eq!(report.price(missing), None, "{missing}");
    }
}

// ---------------------------------------------------------------- ConfigError

fn invalid_config(edit: impl FnOnce(&mut OracleConfig)) -> ConfigError {
    let (_, mut config) = development_committee();
    edit(&mut config);
    config.validate().unwrap_err()
}

fn many_signers(n: usize) -> Vec<zkmargin_oracle::SignerId> {
    (1..=n as u8)
        .map(|i| SignerKey::from_bytes(&[i; 32]).unwrap().id())
        .collect()
}

#[test]
fn development_config_is_valid() {
    development_committee().1.validate().unwrap();
}

#[test]
fn config_unsupported_version() {
    assert_eq!(
        invalid_config(|c| c.version = 2),
        ConfigError::UnsupportedVersion {
            found: 2,
            expected: CONFIG_VERSION
        }
    );
}

#[test]
fn config_no_signers() {
    assert_eq!(
        invalid_config(|c| c.signers.clear()),
        ConfigError::NoSigners
    );
}

#[test]
fn config_too_many_signers_boundary() {
    let (_, mut config) = development_committee();
    config.signers = many_signers(MAX_SIGNERS);
    config.validate().unwrap();
    config.signers = many_signers(MAX_SIGNERS + 1);
    assert_eq!(
        config.validate().unwrap_err(),
        ConfigError::TooManySigners {
            count: 33,
            max: MAX_SIGNERS
        }
    );
}

#[test]
fn config_duplicate_signer() {
    let (keys, _) = development_committee();
    assert_eq!(
        invalid_config(|c| c.signers.push(c.signers[0])),
        ConfigError::DuplicateSigner(keys[0].id())
    );
}

#[test]
fn config_zero_quorum() {
    assert_eq!(invalid_config(|c| c.quorum = 0), ConfigError::ZeroQuorum);
}

#[test]
fn config_quorum_boundaries() {
    let (_, mut config) = development_committee();
    config.quorum = 1;
    config.validate().unwrap();
    config.quorum = 3;
    config.validate().unwrap();
    assert_eq!(
        invalid_config(|c| c.quorum = 4),
        ConfigError::QuorumAboveSigners {
            quorum: 4,
            signers: 3
        }
    );
}

#[test]
fn config_zero_max_age() {
    assert_eq!(
        invalid_config(|c| c.max_age_secs = 0),
        ConfigError::ZeroMaxAge
    );
}

#[test]
fn config_error_codes_are_distinct() {
    let errors = [
        invalid_config(|c| c.version = 0),
        invalid_config(|c| c.signers.clear()),
        invalid_config(|c| c.signers = many_signers(33)),
        invalid_config(|c| c.signers.push(c.signers[1])),
        invalid_config(|c| c.quorum = 0),
        invalid_config(|c| c.quorum = 5),
        invalid_config(|c| c.max_age_secs = 0),
    ];
    let mut codes: Vec<&str> = errors.iter().map(ConfigError::code).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), errors.len(), "{errors:?}");
    for error in &errors {
        assert!(!error.to_string().contains('\n'), "{error}");
    }
}

// ---------------------------------------------------------------- development committee

/// The development committee's public ids. The CLI, the service and the other crates'
/// fixtures depend on these: changing the seed derivation must fail here.
const DEV_IDS: [&str; 3] = [
    "03ee4a0c4001814ee0f89a4981f5679944f892f47b33d2ad1c8f8cacfef7aa427c",
    "032d2c50a8bef8e97b73e08e1c8b47fb8689ccdb83066d40ed9642d65d1d5a9d86",
    "02bb01b2f808c2714ddf2555e27f0b352633ec866ec497214e28d8367cd2846bfc",
];

#[test]
fn development_committee_is_pinned() {
    let (keys, config) = development_committee();
    assert_eq!(keys.len(), 3);
    let ids: Vec<String> = keys.iter().map(|k| k.id().to_string()).collect();
    assert_eq!(ids, DEV_IDS);
    assert_eq!(
        config.signers,
        keys.iter().map(|k| k.id()).collect::<Vec<_>>()
    );
    assert_eq!(config.version, CONFIG_VERSION);
    assert_eq!(config.quorum, 2);
    assert_eq!(config.max_age_secs, 300);
    assert_eq!(config.max_future_skew_secs, 5);
    // Key 0 is SHA-256("zkmargin development oracle signer 0").
    assert_eq!(
        hex::encode(keys[0].to_bytes()),
        "4f617837787a30d699d1b32e9432cc1de9fab6c29248a140cc0199972965520c"
    );
}

// ---------------------------------------------------------------- encoding vectors

/// The report of the crate-level doc example.
fn vector_report() -> PriceReport {
    PriceReport {
        version: 1,
        exponent: -9,
        observed_at: 1_700_000_000,
        expires_at: 1_700_000_060,
        feeds: vec![
            PriceFeed {
                feed_id: "BTC/USD".into(),
                price: 600_000_000_000,
                bid: 599_940_000_000,
                ask: 600_060_000_000,
            },
            PriceFeed {
                feed_id: "ETH/USD".into(),
                price: 3_000_000_000,
                bid: 2_999_000_000,
                ask: 3_001_000_000,
            },
        ],
    }
}

// These vectors were cross-checked against an independent implementation (Python
// struct/hashlib, and OpenSSL's secp256k1 ECDSA verify for the signature). Any
// change of the encoding, the hash or the signing scheme is a protocol change:
// bump REPORT_VERSION / CONFIG_VERSION rather than editing the vectors.

#[test]
fn report_canonical_bytes_vector() {
    let expected = concat!(
        "18",                                               // domain length 24
        "7a6b6d617267696e2f70726963652d7265706f72742f7631", // "zkmargin/price-report/v1"
        "00000001",                                         // version 1
        "fffffff7",                                         // exponent -9
        "000000006553f100",                                 // observed_at 1700000000
        "000000006553f13c",                                 // expires_at 1700000060
        "0002",                                             // 2 feeds
        "07",
        "4254432f555344",   // "BTC/USD"
        "0000008bb2c97000", // price 600000000000
        "0000008baf35e900", // bid 599940000000
        "0000008bb65cf700", // ask 600060000000
        "07",
        "4554482f555344",   // "ETH/USD"
        "00000000b2d05e00", // price 3000000000
        "00000000b2c11bc0", // bid 2999000000
        "00000000b2dfa040", // ask 3001000000
    );
    assert_eq!(hex::encode(vector_report().canonical_bytes()), expected);
}

#[test]
fn report_digest_vector() {
    assert_eq!(
        hex::encode(vector_report().digest()),
        "b8f65842e50f560466cf703d8fc6c64abfefe5a6b24cf9081b3327d2851443cb"
    );
}

#[test]
fn signature_vector_is_deterministic() {
    // RFC 6979: the same key and report always give the same low-S signature.
    let (keys, _) = development_committee();
    let report = vector_report();
    let signature = keys[0].sign(&report);
    assert_eq!(signature.signer, keys[0].id());
    assert_eq!(
        signature.signature,
        "4541ac81faae6d6adae4343f25721bb9366a6f90b151c647343ec8a05a1d1d56\
         43cd932694da74dabd9ab8348c29f18d2cbc2f65c5a1f59c766a987adaed71ca"
    );
    assert_eq!(keys[0].sign(&report), signature);
}

#[test]
fn config_digest_vector() {
    let (_, config) = development_committee();
    let expected_bytes = format!(
        "19{}{}{}{}{}03{}",
        hex::encode("zkmargin/oracle-config/v1"),
        "00000001",         // version
        "00000002",         // quorum
        "000000000000012c", // max_age_secs 300
        "0000000000000005", // max_future_skew_secs 5
        // ascending byte order: the 02.. key first
        [DEV_IDS[2], DEV_IDS[1], DEV_IDS[0]].concat(),
    );
    assert_eq!(hex::encode(config.canonical_bytes()), expected_bytes);
    assert_eq!(
        hex::encode(config.digest()),
        "83f5034c4cf82b7b443db86a8cec4a32382c3bdedac373e575e28b4af94e3733"
    );
}
