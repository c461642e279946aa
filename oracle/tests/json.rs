//! JSON shapes: round trips, unknown fields, and `SignerId` / `SignerKey` parsing.

mod common;

use common::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use zkmargin_oracle::{
    KeyError, OracleConfig, PriceFeed, PriceReport, ReportSignature, SignedReport, SignerId,
    SignerKey,
};

const DEV_ID_0: &str = "03ee4a0c4001814ee0f89a4981f5679944f892f47b33d2ad1c8f8cacfef7aa427c";

fn signed_json() -> Value {
    let (keys, _) = committee();
    serde_json::to_value(signed_by(&sample_report(), &keys, &[0, 1])).unwrap()
}

// ---------------------------------------------------------------- round trips

#[test]
fn signed_report_round_trips_and_still_verifies() {
    let (keys, config) = committee();
    let signed = signed_by(&sample_report(), &keys, &[0, 1]);
    let text = serde_json::to_string(&signed).unwrap();
    let back: SignedReport = serde_json::from_str(&text).unwrap();
    assert_eq!(back, signed);
    config.verify(&back, OBSERVED_AT).unwrap();
}

#[test]
fn config_round_trips() {
    let (_, config) = committee();
    let text = serde_json::to_string_pretty(&config).unwrap();
    let back: OracleConfig = serde_json::from_str(&text).unwrap();
    assert_eq!(back, config);
}

#[test]
fn json_shape_uses_numbers_and_bare_hex() {
    let value = signed_json();
    let feed = &value["report"]["feeds"][1];
    assert_eq!(feed["price"], json!(3_000_000_000u64));
    assert!(feed["bid"].is_u64() && feed["ask"].is_u64());
    assert_eq!(value["report"]["exponent"], json!(-9));
    let signature = &value["signatures"][0];
    assert_eq!(signature["signer"], json!(DEV_ID_0));
    let sig = signature["signature"].as_str().unwrap();
    assert_eq!(sig.len(), 128);
    assert!(sig
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
}

#[test]
fn u64_extremes_survive_json() {
    let mut report = sample_report();
    report.feeds = vec![PriceFeed {
        feed_id: "MAX".into(),
        price: u64::MAX,
        bid: u64::MAX - 1,
        ask: u64::MAX,
    }];
    report.expires_at = u64::MAX;
    let back: PriceReport = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(back, report);
}

#[test]
fn negative_or_fractional_price_is_rejected() {
    for bad in [json!(-1), json!(1.5), json!("3000000000")] {
        let mut value = signed_json();
        value["report"]["feeds"][0]["price"] = bad.clone();
        assert!(
            serde_json::from_value::<SignedReport>(value).is_err(),
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------- unknown and missing fields

fn rejects_unknown_field_at(pointer: &str) {
    let mut value = signed_json();
    value
        .pointer_mut(pointer)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .insert("extra".into(), json!(1));
    let err = serde_json::from_value::<SignedReport>(value).unwrap_err();
    assert!(err.to_string().contains("unknown field `extra`"), "{err}");
}

#[test]
fn unknown_fields_are_rejected_everywhere() {
    rejects_unknown_field_at("");
    rejects_unknown_field_at("/report");
    rejects_unknown_field_at("/report/feeds/0");
    rejects_unknown_field_at("/signatures/1");

    let (_, config) = committee();
    let mut value = serde_json::to_value(&config).unwrap();
    value["min_signers"] = json!(2);
    let err = serde_json::from_value::<OracleConfig>(value).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `min_signers`"),
        "{err}"
    );
}

#[test]
fn missing_fields_are_rejected() {
    let mut value = signed_json();
    value["report"]
        .as_object_mut()
        .unwrap()
        .remove("expires_at");
    let err = serde_json::from_value::<SignedReport>(value).unwrap_err();
    assert!(err.to_string().contains("expires_at"), "{err}");
}

// ---------------------------------------------------------------- SignerId

#[test]
fn signer_id_parses_displays_and_round_trips() {
    let id: SignerId = DEV_ID_0.parse().unwrap();
    assert_eq!(id.to_string(), DEV_ID_0);
    assert_eq!(format!("{id:?}"), format!("SignerId({DEV_ID_0})"));
    assert_eq!(SignerId::from_bytes(id.as_bytes()).unwrap(), id);
    assert_eq!(id.to_bytes()[0], 0x03);
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, format!("\"{DEV_ID_0}\""));
    assert_eq!(serde_json::from_str::<SignerId>(&json).unwrap(), id);
    // One spelling per key: upper-case hex is refused (docs/FORMATS.md), naming the
    // first upper-case digit.
    let upper = DEV_ID_0.to_uppercase();
    let e = upper.parse::<SignerId>().unwrap_err();
    assert!(e.to_string().contains("not a lowercase hex digit"), "{e}");
}

#[test]
fn signer_id_wrong_lengths_are_rejected() {
    for (text, actual) in [
        (&DEV_ID_0[..64], 64),
        (&DEV_ID_0[..65], 65),
        ("", 0),
        (&format!("{DEV_ID_0}00") as &str, 68),
    ] {
        assert_eq!(
            text.parse::<SignerId>().unwrap_err(),
            KeyError::WrongLength {
                what: "signer id",
                expected: 66,
                actual
            }
        );
    }
    // An uncompressed key (65 bytes) is refused by length, with a message saying so.
    let uncompressed = format!("04{}", "11".repeat(64));
    let err = uncompressed.parse::<SignerId>().unwrap_err();
    assert!(
        err.to_string()
            .contains("must be 66 hex characters, found 130"),
        "{err}"
    );
}

#[test]
fn signer_id_non_hex_and_prefix_are_rejected() {
    let mut text = DEV_ID_0.to_string();
    text.replace_range(10..11, "g");
    assert_eq!(
        text.parse::<SignerId>().unwrap_err(),
        KeyError::InvalidHex {
            what: "signer id",
            character: 'g',
            position: 10
        }
    );
    // A multi-byte character in an otherwise right-length string.
    let mut text: String = DEV_ID_0.chars().take(65).collect();
    text.push('é');
    assert!(matches!(
        text.parse::<SignerId>().unwrap_err(),
        KeyError::InvalidHex {
            character: 'é',
            position: 65,
            ..
        }
    ));
    assert_eq!(
        format!("0x{}", &DEV_ID_0[2..])
            .parse::<SignerId>()
            .unwrap_err(),
        KeyError::HexPrefix { what: "signer id" }
    );
}

#[test]
fn signer_id_invalid_points_are_rejected() {
    // x = 5: 5^3 + 7 is not a square mod p, so there is no point with that x.
    let not_on_curve = format!("02{}05", "00".repeat(31));
    assert_eq!(
        not_on_curve.parse::<SignerId>().unwrap_err(),
        KeyError::NotOnCurve
    );
    // x = 1 is on the curve: the check is real, not a blanket refusal.
    format!("02{}01", "00".repeat(31))
        .parse::<SignerId>()
        .unwrap();
    // x >= p is not a field element.
    assert_eq!(
        format!("03{}", "ff".repeat(32))
            .parse::<SignerId>()
            .unwrap_err(),
        KeyError::NotOnCurve
    );
    // Wrong tag byte: 04 (uncompressed tag), 00 (identity) and 05.
    for tag in [0x04u8, 0x00, 0x05] {
        let mut bytes = *DEV_ID_0.parse::<SignerId>().unwrap().as_bytes();
        bytes[0] = tag;
        assert_eq!(
            SignerId::from_bytes(&bytes).unwrap_err(),
            KeyError::NotCompressed { prefix: tag }
        );
    }
}

#[test]
fn signer_id_errors_surface_through_serde_with_the_reason() {
    let not_on_curve = format!("\"02{}05\"", "00".repeat(31));
    let err = serde_json::from_str::<SignerId>(&not_on_curve).unwrap_err();
    assert!(
        err.to_string().contains("not a point on secp256k1"),
        "{err}"
    );

    let mut value = signed_json();
    value["signatures"][0]["signer"] = json!("abcd");
    let err = serde_json::from_value::<SignedReport>(value).unwrap_err();
    assert!(
        err.to_string().contains("66 hex characters, found 4"),
        "{err}"
    );

    let err = serde_json::from_str::<SignerId>("42").unwrap_err();
    assert!(err.to_string().contains("string"), "{err}");
}

#[test]
fn key_error_messages_are_one_line() {
    let errors = [
        KeyError::HexPrefix { what: "signer id" },
        KeyError::WrongLength {
            what: "signer key",
            expected: 64,
            actual: 3,
        },
        KeyError::InvalidHex {
            what: "signer id",
            character: '\n',
            position: 0,
        },
        KeyError::NotCompressed { prefix: 4 },
        KeyError::NotOnCurve,
        KeyError::InvalidSecret,
    ];
    for error in errors {
        assert!(!error.to_string().contains('\n'), "{error}");
    }
}

// ---------------------------------------------------------------- SignerKey

#[test]
fn signer_key_serde_is_64_hex_and_round_trips() {
    let key = SignerKey::generate(&mut ChaCha20Rng::seed_from_u64(7));
    let json = serde_json::to_string(&key).unwrap();
    assert_eq!(json.len(), 64 + 2);
    assert_eq!(json, format!("\"{}\"", hex::encode(key.to_bytes())));
    let back: SignerKey = serde_json::from_str(&json).unwrap();
    assert_eq!(back, key);
    assert_eq!(back.id(), key.id());
    let parsed: SignerKey = json.trim_matches('"').parse().unwrap();
    assert_eq!(parsed.to_bytes(), key.to_bytes());
}

#[test]
fn signer_key_debug_hides_the_secret() {
    let key = SignerKey::generate(&mut ChaCha20Rng::seed_from_u64(8));
    let debug = format!("{key:?}");
    assert!(!debug.contains(&hex::encode(key.to_bytes())), "{debug}");
    assert!(debug.contains(&key.id().to_string()), "{debug}");
}

#[test]
fn signer_key_parse_errors() {
    assert_eq!(
        "00".repeat(32).parse::<SignerKey>().unwrap_err(),
        KeyError::InvalidSecret
    );
    assert!(matches!(
        "11".repeat(31).parse::<SignerKey>().unwrap_err(),
        KeyError::WrongLength {
            what: "signer key",
            expected: 64,
            actual: 62
        }
    ));
    assert_eq!(
        format!("0x{}", "11".repeat(31))
            .parse::<SignerKey>()
            .unwrap_err(),
        KeyError::HexPrefix { what: "signer key" }
    );
    let err = serde_json::from_str::<SignerKey>(&format!("\"{}\"", "ff".repeat(32))).unwrap_err();
    assert!(err.to_string().contains("group order"), "{err}");
}

#[test]
fn generated_keys_are_distinct_and_sign_verifiably() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let keys: Vec<SignerKey> = (0..4).map(|_| SignerKey::generate(&mut rng)).collect();
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a.id(), b.id());
        }
    }
    let config = OracleConfig {
        version: zkmargin_oracle::CONFIG_VERSION,
        signers: keys.iter().map(SignerKey::id).collect(),
        quorum: 3,
        max_age_secs: 60,
        max_future_skew_secs: 0,
    };
    let signed = SignedReport::sign(sample_report(), &keys[1..]);
    assert_eq!(signed.signatures.len(), 3);
    assert!(signed
        .signatures
        .iter()
        .zip(&keys[1..])
        .all(|(s, k): (&ReportSignature, _)| s.signer == k.id()));
    config.verify(&signed, OBSERVED_AT).unwrap();
}
