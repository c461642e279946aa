//! `OracleConfig::verify`: quorum, every `OracleError` variant, check order, freshness
//! boundaries and signature malleability.

mod common;

use common::*;
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{Signature, VerifyingKey};
use zkmargin_oracle::{
    ConfigError, OracleError, ReportError, ReportSignature, SignedReport, SignerId,
};

fn sorted_ids(ids: impl IntoIterator<Item = SignerId>) -> Vec<SignerId> {
    let mut ids: Vec<SignerId> = ids.into_iter().collect();
    ids.sort();
    ids
}

// ---------------------------------------------------------------- quorum

#[test]
fn quorum_exactly_met_passes() {
    let (keys, config) = committee();
    let report = sample_report();
    let signed = signed_by(&report, &keys, &[0, 2]);
    let verified = config.verify(&signed, OBSERVED_AT + 10).unwrap();

    assert_eq!(verified.report(), &report);
    assert_eq!(verified.digest(), report.digest());
    assert_eq!(verified.observed_at(), OBSERVED_AT);
    assert_eq!(verified.expires_at(), EXPIRES_AT);
    assert_eq!(verified.config_digest(), config.digest());
    assert_eq!(verified.signers(), sorted_ids([keys[0].id(), keys[2].id()]));
    assert_eq!(verified.price("ETH/USD"), Some(3_000_000_000));
    assert_eq!(verified.price("SOL/USD"), None);
    assert_eq!(verified.into_report(), report);
}

#[test]
fn all_signers_pass() {
    let (keys, config) = committee();
    let signed = signed_by(&sample_report(), &keys, &[2, 1, 0]);
    let verified = config.verify(&signed, OBSERVED_AT).unwrap();
    assert_eq!(verified.signers(), sorted_ids(keys.iter().map(|k| k.id())));
}

#[test]
fn one_signature_fewer_than_quorum_fails() {
    let (keys, config) = committee();
    let signed = signed_by(&sample_report(), &keys, &[1]);
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::QuorumNotMet {
            valid: 1,
            required: 2
        }
    );
}

#[test]
fn no_signatures_fails() {
    let (keys, config) = committee();
    let signed = signed_by(&sample_report(), &keys, &[]);
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::QuorumNotMet {
            valid: 0,
            required: 2
        }
    );
}

#[test]
fn n_of_n_quorum_needs_every_signer() {
    let (keys, mut config) = committee();
    config.quorum = 3;
    let report = sample_report();
    assert_eq!(
        config
            .verify(&signed_by(&report, &keys, &[0, 1]), OBSERVED_AT)
            .unwrap_err(),
        OracleError::QuorumNotMet {
            valid: 2,
            required: 3
        }
    );
    config
        .verify(&signed_by(&report, &keys, &[0, 1, 2]), OBSERVED_AT)
        .unwrap();
}

// ---------------------------------------------------------------- signatures

#[test]
fn price_tampered_after_signing_is_bad_signature() {
    // The attack the oracle exists to stop: a prover edits a signed price.
    let (keys, config) = committee();
    let mut signed = signed_by(&sample_report(), &keys, &[0, 1]);
    signed.report.feeds[1].price += 1;
    signed.report.feeds[1].ask += 1;
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::BadSignature(keys[0].id())
    );
}

#[test]
fn timestamp_tampered_after_signing_is_bad_signature() {
    // Refreshing a stale report by moving observed_at must break the signatures.
    let (keys, config) = committee();
    let mut signed = signed_by(&sample_report(), &keys, &[0, 1]);
    signed.report.observed_at += 1_000;
    assert_eq!(
        config.verify(&signed, OBSERVED_AT + 1_000).unwrap_err(),
        OracleError::BadSignature(keys[0].id())
    );
}

#[test]
fn signature_over_another_report_is_bad_signature() {
    let (keys, config) = committee();
    let report = sample_report();
    let mut other = report.clone();
    other.feeds[0].bid -= 1;
    let mut signed = signed_by(&report, &keys, &[0]);
    signed.signatures.push(keys[1].sign(&other));
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::BadSignature(keys[1].id())
    );
}

#[test]
fn signature_relabelled_to_another_signer_is_bad_signature() {
    let (keys, config) = committee();
    let report = sample_report();
    let mut stolen = keys[0].sign(&report);
    stolen.signer = keys[1].id();
    let signed = SignedReport {
        report,
        signatures: vec![keys[0].sign(&sample_report()), stolen],
    };
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::BadSignature(keys[1].id())
    );
}

#[test]
fn signer_outside_committee_is_unknown() {
    let (keys, config) = committee();
    let report = sample_report();
    let mut signed = signed_by(&report, &keys, &[0, 1]);
    signed.signatures.push(outsider().sign(&report));
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::UnknownSigner(outsider().id())
    );
}

#[test]
fn same_signer_twice_is_duplicate() {
    // Without this check one key could meet a 2-of-3 quorum alone.
    let (keys, config) = committee();
    let signed = signed_by(&sample_report(), &keys, &[0, 0]);
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::DuplicateSigner(keys[0].id())
    );
    let signed = signed_by(&sample_report(), &keys, &[0, 1, 0]);
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::DuplicateSigner(keys[0].id())
    );
}

fn with_signature_string(signature: &str) -> (SignerId, OracleError) {
    let (keys, config) = committee();
    let report = sample_report();
    let mut signed = signed_by(&report, &keys, &[0]);
    signed.signatures.push(ReportSignature {
        signer: keys[1].id(),
        signature: signature.into(),
    });
    (
        keys[1].id(),
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
    )
}

fn malformed_reason(signature: &str) -> String {
    match with_signature_string(signature) {
        (expected, OracleError::MalformedSignature { signer, reason }) => {
            assert_eq!(signer, expected);
            reason
        }
        (_, other) => panic!("expected MalformedSignature, got {other:?}"),
    }
}

#[test]
fn garbage_hex_signature_is_malformed() {
    let reason = malformed_reason(&"zz".repeat(64));
    assert!(reason.contains("not lowercase hex"), "{reason}");
}

#[test]
fn uppercase_hex_signature_is_malformed() {
    // One spelling per signature, as for every hex string (docs/FORMATS.md).
    let reason = malformed_reason(&"AB".repeat(64));
    assert!(
        reason.contains("not lowercase hex ('A' at position 0)"),
        "{reason}"
    );
}

#[test]
fn wrong_length_signature_is_malformed() {
    let reason = malformed_reason(&"11".repeat(63));
    assert!(reason.contains("128 hex characters"), "{reason}");
    assert!(reason.contains("found 126"), "{reason}");
    let reason = malformed_reason(&"11".repeat(65));
    assert!(reason.contains("found 130"), "{reason}");
    let reason = malformed_reason("");
    assert!(reason.contains("found 0"), "{reason}");
}

#[test]
fn prefixed_signature_is_malformed() {
    let (keys, _) = committee();
    let good = keys[1].sign(&sample_report()).signature;
    let reason = malformed_reason(&format!("0x{good}"));
    assert!(reason.contains("0x"), "{reason}");
}

#[test]
fn out_of_range_scalars_are_malformed() {
    // r = 0, s = 0 and r, s >= n are not ECDSA signatures at all.
    for bad in ["00".repeat(64), "ff".repeat(64)] {
        let reason = malformed_reason(&bad);
        assert!(reason.contains("group order"), "{reason}");
    }
}

/// `(r, n - s)`: the other valid ECDSA encoding of the same signature.
fn high_s_twin(signature_hex: &str) -> (Signature, Signature) {
    let low = Signature::from_slice(&hex::decode(signature_hex).unwrap()).unwrap();
    let (r, s) = low.split_scalars();
    let high = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
    assert!(low.normalize_s().is_none(), "sign() must emit low-S");
    assert_eq!(high.normalize_s(), Some(low));
    (low, high)
}

#[test]
fn k256_rejects_high_s_and_so_do_we() {
    let (keys, config) = committee();
    let report = sample_report();
    let digest = report.digest();
    let good = keys[0].sign(&report);
    let (low, high) = high_s_twin(&good.signature);

    // Pin k256 0.13's behaviour: the high-S twin is a mathematically valid ECDSA
    // signature, yet VerifyingKey::verify_prehash refuses it (BIP 62 low-S rule).
    let vk = VerifyingKey::from_sec1_bytes(keys[0].id().as_bytes()).unwrap();
    vk.verify_prehash(&digest, &low).unwrap();
    k256::ecdsa::hazmat::verify_prehashed(
        &vk.as_affine().into(),
        k256::FieldBytes::from_slice(&digest),
        &high,
    )
    .expect("raw ECDSA accepts the twin: the low-S rule is what stops it");
    assert!(vk.verify_prehash(&digest, &high).is_err());

    // In a bundle the twin never counts as a second signer.
    let twin = ReportSignature {
        signer: keys[0].id(),
        signature: hex::encode(high.to_bytes()),
    };
    let signed = SignedReport {
        report: report.clone(),
        signatures: vec![good.clone(), twin.clone()],
    };
    match config.verify(&signed, OBSERVED_AT).unwrap_err() {
        OracleError::MalformedSignature { signer, reason } => {
            assert_eq!(signer, keys[0].id());
            assert!(reason.contains("low-S"), "{reason}");
        }
        other => panic!("expected MalformedSignature, got {other:?}"),
    }

    // Nor does it verify alone under a 1-of-3 quorum.
    let mut one_of_three = config.clone();
    one_of_three.quorum = 1;
    let alone = SignedReport {
        report,
        signatures: vec![twin],
    };
    assert!(matches!(
        one_of_three.verify(&alone, OBSERVED_AT).unwrap_err(),
        OracleError::MalformedSignature { .. }
    ));
}

// ---------------------------------------------------------------- check order

#[test]
fn invalid_report_is_reported_before_signatures() {
    let (keys, config) = committee();
    let mut signed = signed_by(&sample_report(), &keys, &[0]);
    signed.report.feeds[0].price = 0;
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::Report(ReportError::NonPositivePrice {
            feed_id: "BTC/USD".into()
        })
    );
}

#[test]
fn malformed_is_reported_before_unknown_signer() {
    let (keys, config) = committee();
    let report = sample_report();
    let mut signed = signed_by(&report, &keys, &[0]);
    signed.signatures.insert(0, outsider().sign(&report));
    signed.signatures.push(ReportSignature {
        signer: keys[1].id(),
        signature: "nothex".into(),
    });
    assert!(matches!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::MalformedSignature { .. }
    ));
}

#[test]
fn unknown_signer_is_reported_before_duplicate() {
    let (keys, config) = committee();
    let report = sample_report();
    let mut signed = signed_by(&report, &keys, &[0, 0]);
    signed.signatures.push(outsider().sign(&report));
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::UnknownSigner(outsider().id())
    );
}

#[test]
fn duplicate_is_reported_before_bad_signature() {
    let (keys, config) = committee();
    let mut signed = signed_by(&sample_report(), &keys, &[0, 1, 1]);
    signed.report.feeds[0].price += 1;
    assert_eq!(
        config.verify(&signed, OBSERVED_AT).unwrap_err(),
        OracleError::DuplicateSigner(keys[1].id())
    );
}

#[test]
fn signatures_are_checked_before_freshness() {
    let (keys, config) = committee();
    let mut signed = signed_by(&sample_report(), &keys, &[0, 1]);
    signed.report.feeds[0].price += 1;
    assert_eq!(
        config.verify(&signed, EXPIRES_AT + 1).unwrap_err(),
        OracleError::BadSignature(keys[0].id())
    );
    let short = signed_by(&sample_report(), &keys, &[0]);
    assert!(matches!(
        config.verify(&short, EXPIRES_AT + 1).unwrap_err(),
        OracleError::QuorumNotMet { .. }
    ));
}

#[test]
fn invalid_config_is_refused_before_anything() {
    // A quorum of 0 would otherwise accept a report with no signatures at all.
    let (keys, mut config) = committee();
    config.quorum = 0;
    let unsigned = signed_by(&sample_report(), &keys, &[]);
    assert_eq!(
        config.verify(&unsigned, OBSERVED_AT).unwrap_err(),
        OracleError::Config(ConfigError::ZeroQuorum)
    );
}

// ---------------------------------------------------------------- freshness

#[test]
fn age_equal_to_max_age_passes_one_more_is_stale() {
    let (keys, config) = committee();
    let signed = signed_by(&sample_report(), &keys, &[0, 1]);
    config
        .verify(&signed, OBSERVED_AT + config.max_age_secs)
        .unwrap();
    assert_eq!(
        config
            .verify(&signed, OBSERVED_AT + config.max_age_secs + 1)
            .unwrap_err(),
        OracleError::Stale {
            age_secs: 301,
            max_age_secs: 300
        }
    );
}

#[test]
fn now_at_expiry_is_expired_one_second_before_passes() {
    let (keys, config) = committee();
    let mut report = sample_report();
    report.expires_at = OBSERVED_AT + 60;
    let signed = signed_by(&report, &keys, &[0, 1]);
    config.verify(&signed, report.expires_at - 1).unwrap();
    assert_eq!(
        config.verify(&signed, report.expires_at).unwrap_err(),
        OracleError::Expired {
            expires_at: report.expires_at,
            now: report.expires_at
        }
    );
}

#[test]
fn expired_is_reported_before_stale() {
    let (keys, config) = committee();
    let signed = signed_by(&sample_report(), &keys, &[0, 1]);
    assert!(matches!(
        config.verify(&signed, EXPIRES_AT + 10).unwrap_err(),
        OracleError::Expired { .. }
    ));
}

#[test]
fn future_within_skew_passes_one_more_is_from_future() {
    let (keys, config) = committee();
    let signed = signed_by(&sample_report(), &keys, &[0, 1]);
    let skew = config.max_future_skew_secs;
    config.verify(&signed, OBSERVED_AT - skew).unwrap();
    assert_eq!(
        config.verify(&signed, OBSERVED_AT - skew - 1).unwrap_err(),
        OracleError::FromFuture {
            observed_at: OBSERVED_AT,
            now: OBSERVED_AT - skew - 1
        }
    );
}

#[test]
fn zero_skew_refuses_any_future_observation() {
    let (keys, mut config) = committee();
    config.max_future_skew_secs = 0;
    let signed = signed_by(&sample_report(), &keys, &[0, 1]);
    config.verify(&signed, OBSERVED_AT).unwrap();
    assert!(matches!(
        config.verify(&signed, OBSERVED_AT - 1).unwrap_err(),
        OracleError::FromFuture { .. }
    ));
}

#[test]
fn extreme_clocks_do_not_overflow() {
    let (keys, mut config) = committee();
    config.max_future_skew_secs = u64::MAX;
    let signed = signed_by(&sample_report(), &keys, &[0, 1]);
    config.verify(&signed, OBSERVED_AT).unwrap();
    assert!(matches!(
        config.verify(&signed, u64::MAX).unwrap_err(),
        OracleError::Expired { .. }
    ));
    config.max_future_skew_secs = 0;
    assert!(matches!(
        config.verify(&signed, 0).unwrap_err(),
        OracleError::FromFuture { .. }
    ));
}

// ---------------------------------------------------------------- error codes

#[test]
fn oracle_error_codes_are_distinct_snake_case_and_messages_one_line() {
    let (keys, _) = committee();
    let id = keys[0].id();
    let errors = [
        OracleError::Config(ConfigError::NoSigners),
        OracleError::Report(ReportError::NoFeeds),
        OracleError::MalformedSignature {
            signer: id,
            reason: "r or s is zero".into(),
        },
        OracleError::UnknownSigner(id),
        OracleError::DuplicateSigner(id),
        OracleError::BadSignature(id),
        OracleError::QuorumNotMet {
            valid: 1,
            required: 2,
        },
        OracleError::FromFuture {
            observed_at: 10,
            now: 1,
        },
        OracleError::Expired {
            expires_at: 1,
            now: 1,
        },
        OracleError::Stale {
            age_secs: 301,
            max_age_secs: 300,
        },
    ];
    let mut codes: Vec<&str> = errors.iter().map(OracleError::code).collect();
    for code in &codes {
        assert!(code.starts_with("oracle_"), "{code}");
        assert!(
            code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code}"
        );
    }
    assert_eq!(
        codes[..]
            .iter()
            .filter(|c| **c == "oracle_quorum_not_met")
            .count(),
        1
    );
    assert!(codes.contains(&"oracle_stale_report"));
    assert!(codes.contains(&"oracle_unknown_signer"));
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), errors.len(), "codes must be distinct");
    for error in &errors {
        let message = error.to_string();
        assert!(!message.contains('\n'), "{message}");
    }
    assert!(errors[3].to_string().contains(&id.to_string()));
}
