//! Single-bundle verification: verdicts, every rejection with its code, the order of
//! the checks, bundle decoding, key loading and the caches.

mod common;

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use common::{pool, verifier, NOW, T0};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{Commitment, RiskParams, Status};
use zkmargin_oracle::{development_committee, OracleError, SignedReport, SignerKey};
use zkmargin_verifier::{
    bundle::PROOF_BYTES,
    testkit::{proof_b_outside_subgroup, proof_not_on_curve, tamper_proof, Fixture},
    BundleError, Clock, KeyError, ProofBundle, SetupError, Statement, Verdict, Verifier,
    VerifyError,
};

fn margin(bundle: &mut ProofBundle) -> &mut zkmargin_verifier::MarginStatement {
    let Statement::Margin(m) = &mut bundle.statement else {
        unreachable!("a margin bundle")
    };
    m
}

fn code(result: Result<Verdict, VerifyError>) -> &'static str {
    result.expect_err("must be rejected").code()
}

#[test]
fn valid_meets_and_breach_verdicts_carry_the_statement() {
    let pool = pool();
    let v = verifier();
    let meets = v.verify(&pool.valid[0]).expect("meets verifies");
    let Verdict::Meets(m) = &meets else {
        panic!("expected meets, got {meets:?}")
    };
    let Statement::Margin(st) = &pool.valid[0].statement else {
        unreachable!("a margin bundle")
    };
    assert_eq!(m.commitment(), st.commitment);
    assert_eq!(m.status(), Status::Meets);
    assert_eq!(m.tau_ppm(), 1_000_000);
    assert_eq!(m.report_observed_at(), T0);
    assert_eq!(m.report_digest(), pool.report.report.digest());
    assert_eq!(m.oracle_config_digest(), development_committee().1.digest());
    assert_eq!(m.risk_params_digest(), RiskParams::development().digest());
    assert_eq!(m.key_fingerprint(), pool.fixture.fingerprint());

    let breach = v.verify(&pool.valid[1]).expect("breach verifies");
    let Verdict::Breach(b) = &breach else {
        panic!("expected breach, got {breach:?}")
    };
    assert_eq!(b.status(), Status::Breaches);
    assert!(
        b.is_liquidatable(),
        "a breach at τ = 1 justifies liquidation"
    );

    // The serialized verdict names the status once, as the bundle does (a parsed
    // `Value` would hide a duplicated key, so count it in the text).
    for verdict in [&meets, &breach] {
        let text = serde_json::to_string(verdict).unwrap();
        assert_eq!(text.matches("\"status\"").count(), 1, "{text}");
    }
    let json = serde_json::to_value(&breach).unwrap();
    assert_eq!(json["status"], "breaches");
    assert_eq!(json["tau_ppm"], 1_000_000);
}

#[test]
fn a_breach_above_the_maintenance_line_is_not_grounds_for_liquidation() {
    // Health +3,100 USD at τ = 1 with requirement 1,800 USD: breaches at τ = 2.8.
    let pool = pool();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let account = Fixture::account(77, Status::Meets, &mut rng);
    let bundle = pool
        .fixture
        .prove(&account, 2_800_000, &pool.report, &mut rng);
    let verdict = verifier().verify(&bundle).expect("verifies");
    let Verdict::Breach(b) = verdict else {
        panic!("expected an early-warning breach")
    };
    assert_eq!(b.tau_ppm(), 2_800_000);
    assert!(!b.is_liquidatable());
}

#[test]
fn every_altered_statement_field_fails_the_pairing_check() {
    let v = verifier();
    let valid = &pool().valid[0];

    let mut flipped = valid.clone();
    margin(&mut flipped).status = Status::Breaches;
    assert_eq!(v.verify(&flipped), Err(VerifyError::InvalidProof));

    let mut tau = valid.clone();
    margin(&mut tau).tau_ppm += 1;
    assert_eq!(v.verify(&tau), Err(VerifyError::InvalidProof));

    let mut other = valid.clone();
    margin(&mut other).commitment = match &pool().valid[2].statement {
        Statement::Margin(m) => m.commitment,
        Statement::Liquidation(_) => unreachable!("the pool holds margin bundles"),
    };
    assert_eq!(v.verify(&other), Err(VerifyError::InvalidProof));

    let mut zero = valid.clone();
    margin(&mut zero).commitment = Commitment(ark_bn254::Fr::from(0u64));
    assert_eq!(v.verify(&zero), Err(VerifyError::InvalidProof));

    assert_eq!(
        v.verify(&tamper_proof(valid)),
        Err(VerifyError::InvalidProof)
    );

    // Another proof's points for this statement.
    let swapped = ProofBundle {
        proof: pool().valid[2].proof.clone(),
        ..valid.clone()
    };
    assert_eq!(v.verify(&swapped), Err(VerifyError::InvalidProof));
}

#[test]
fn malformed_proofs_and_invalid_points_are_rejected_before_the_pairing() {
    let v = verifier();
    let valid = &pool().valid[0];
    let with_proof = |proof: String| ProofBundle {
        proof,
        ..valid.clone()
    };

    assert_eq!(
        code(v.verify(&with_proof("zz".repeat(PROOF_BYTES)))),
        "malformed_proof"
    );
    assert_eq!(
        code(v.verify(&with_proof(valid.proof[2..].into()))),
        "malformed_proof"
    );
    assert_eq!(
        code(v.verify(&with_proof(format!("{}00", valid.proof)))),
        "malformed_proof"
    );
    assert_eq!(
        code(v.verify(&with_proof(String::new()))),
        "malformed_proof"
    );
    assert_eq!(
        code(v.verify(&proof_not_on_curve(valid))),
        "invalid_proof_points"
    );

    // B on the twist curve but outside G2: only the subgroup check stands in the way.
    match v.verify(&proof_b_outside_subgroup(valid)) {
        Err(VerifyError::InvalidPoints(m)) => {
            assert_eq!(m, "B: not in the prime-order subgroup");
        }
        other => panic!("expected invalid_proof_points, got {other:?}"),
    }
    assert_eq!(
        code(v.verify_batch(&[proof_b_outside_subgroup(valid), valid.clone()])[0].clone()),
        "invalid_proof_points"
    );

    // B with both flag bits set (infinity and negative y): no valid encoding has that.
    let mut bytes = hex::decode(&valid.proof).unwrap();
    bytes[95] |= 0xc0;
    assert_eq!(
        code(v.verify(&with_proof(hex::encode(bytes)))),
        "invalid_proof_points"
    );

    // C with an x coordinate above the field modulus: not canonical.
    let mut bytes = hex::decode(&valid.proof).unwrap();
    bytes[96..128].fill(0xff);
    bytes[127] = 0x3f;
    assert_eq!(
        code(v.verify(&with_proof(hex::encode(bytes)))),
        "invalid_proof_points"
    );
}

#[test]
fn oracle_rejections_keep_their_codes() {
    let pool = pool();
    let v = verifier();
    let valid = &pool.valid[0];
    let with_report = |report: SignedReport| ProofBundle {
        report,
        ..valid.clone()
    };
    let report = &pool.report.report;
    let (keys, _) = development_committee();

    // One signature where the quorum is two.
    let one = SignedReport::sign(report.clone(), &keys[..1]);
    let err = v.verify(&with_report(one)).unwrap_err();
    assert_eq!(err.code(), "oracle_quorum_not_met");
    assert!(matches!(
        err,
        VerifyError::Oracle(OracleError::QuorumNotMet {
            valid: 1,
            required: 2
        })
    ));

    // A signer outside the committee.
    let outsider = SignerKey::from_bytes(&[7u8; 32]).unwrap();
    let unknown = SignedReport::sign(report.clone(), &[keys[0].clone(), outsider]);
    assert_eq!(
        code(v.verify(&with_report(unknown))),
        "oracle_unknown_signer"
    );

    // A signature over other prices.
    let mut bad = pool.report.clone();
    bad.signatures[1] = keys[1].sign(&Fixture::price_report(T0 + 1));
    assert_eq!(code(v.verify(&with_report(bad))), "oracle_bad_signature");

    // Garbage signature hex.
    let mut garbage = pool.report.clone();
    garbage.signatures[0].signature = "not hex".into();
    assert_eq!(
        code(v.verify(&with_report(garbage))),
        "oracle_malformed_signature"
    );

    // Prices changed after signing: the signatures no longer cover them.
    let mut moved = pool.report.clone();
    moved.report.feeds[2].price += 1;
    assert_eq!(code(v.verify(&with_report(moved))), "oracle_bad_signature");

    // Stale (observed 400 s ago, not yet expired), expired, from the future.
    let mut stale_report = Fixture::price_report(NOW - 400);
    stale_report.expires_at = NOW + 100;
    let stale = SignedReport::sign(stale_report, &keys[..2]);
    assert_eq!(code(v.verify(&with_report(stale))), "oracle_stale_report");
    let mut expired_report = Fixture::price_report(NOW - 100);
    expired_report.expires_at = NOW;
    let expired = SignedReport::sign(expired_report, &keys[..2]);
    assert_eq!(
        code(v.verify(&with_report(expired))),
        "oracle_report_expired"
    );
    let future = SignedReport::sign(Fixture::price_report(NOW + 60), &keys[..2]);
    assert_eq!(
        code(v.verify(&with_report(future))),
        "oracle_report_from_future"
    );

    // A report without a feed the parameters use, properly signed.
    let mut partial = Fixture::price_report(T0);
    partial.feeds.retain(|f| f.feed_id != "DOGE/USD");
    let partial = SignedReport::sign(partial, &keys[..2]);
    let err = v.verify(&with_report(partial)).unwrap_err();
    assert_eq!(err, VerifyError::MissingPrice("DOGE/USD".into()));
    assert_eq!(err.code(), "missing_price");

    // A later report with the same prices serves the same proof...
    let later = pool.fixture.signed_report(T0 + 1);
    assert!(v.verify(&with_report(later)).is_ok());
    // ...but a fresh, quorum-signed report with other prices does not: the proof was
    // made at the old prices (DOGE is a public input even where the account holds none).
    let mut repriced = Fixture::price_report(T0 + 1);
    repriced.feeds[1].price += 1;
    repriced.feeds[1].ask += 1;
    let repriced = SignedReport::sign(repriced, &keys[..2]);
    assert_eq!(
        v.verify(&with_report(repriced)),
        Err(VerifyError::InvalidProof)
    );
}

#[test]
fn version_key_and_parameters_are_checked() {
    let v = verifier();
    let valid = &pool().valid[0];

    let mut version = valid.clone();
    version.version = 2;
    assert_eq!(v.verify(&version), Err(VerifyError::UnsupportedVersion(2)));

    let mut key = valid.clone();
    key.key_fingerprint = "00".repeat(32);
    assert_eq!(code(v.verify(&key)), "key_fingerprint_mismatch");

    let mut params = valid.clone();
    margin(&mut params).risk_params_digest = [9u8; 32];
    assert_eq!(code(v.verify(&params)), "unknown_risk_params");
}

#[test]
fn checks_run_in_the_documented_order() {
    // Each bundle fails two checks; the earlier one is reported.
    let pool = pool();
    let v = verifier();
    let valid = &pool.valid[0];
    let (keys, _) = development_committee();
    let stale = {
        let mut r = Fixture::price_report(NOW - 400);
        r.expires_at = NOW + 100;
        SignedReport::sign(r, &keys[..2])
    };

    // Version before proof size.
    let b = ProofBundle {
        version: 9,
        proof: "00".into(),
        ..valid.clone()
    };
    assert_eq!(code(v.verify(&b)), "unsupported_version");
    // Proof size before key fingerprint.
    let b = ProofBundle {
        proof: "00".into(),
        key_fingerprint: "ff".into(),
        ..valid.clone()
    };
    assert_eq!(code(v.verify(&b)), "malformed_proof");
    // Key fingerprint before the oracle.
    let b = ProofBundle {
        key_fingerprint: "ff".into(),
        report: stale.clone(),
        ..valid.clone()
    };
    assert_eq!(code(v.verify(&b)), "key_fingerprint_mismatch");
    // Signatures before freshness.
    let mut b = ProofBundle {
        report: stale.clone(),
        ..valid.clone()
    };
    b.report.signatures.truncate(1);
    assert_eq!(code(v.verify(&b)), "oracle_quorum_not_met");
    // Freshness before point validity.
    let b = ProofBundle {
        report: stale,
        ..proof_not_on_curve(valid)
    };
    assert_eq!(code(v.verify(&b)), "oracle_stale_report");
    // Point validity before the pairing.
    let mut b = proof_not_on_curve(valid);
    margin(&mut b).tau_ppm += 1;
    assert_eq!(code(v.verify(&b)), "invalid_proof_points");
}

/// A clock the test moves.
struct MovableClock(AtomicU64);

impl Clock for MovableClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn caches_never_change_a_verdict() {
    let pool = pool();
    let clock = Arc::new(MovableClock(AtomicU64::new(NOW)));
    let v = pool.fixture.verifier().unwrap().with_clock(clock.clone());
    assert_eq!(v.cache_sizes(), (0, 0));
    assert!(v.verify(&pool.valid[0]).is_ok());
    assert_eq!(v.cache_sizes(), (1, 1));
    assert!(v.verify(&pool.valid[1]).is_ok());
    assert_eq!(v.cache_sizes(), (1, 1), "one tick, one report, one second");

    // The report ages past the committee's limit: the cached acceptance of the same
    // report at an earlier second must not be reused.
    clock.0.store(T0 + 301, Ordering::SeqCst);
    assert_eq!(code(v.verify(&pool.valid[0])), "oracle_stale_report");
    clock.0.store(NOW, Ordering::SeqCst);
    assert!(v.verify(&pool.valid[0]).is_ok());

    // A tampered report is not confused with the cached genuine one.
    let mut moved = pool.valid[0].clone();
    moved.report.report.feeds[0].ask += 1;
    assert_eq!(code(v.verify(&moved)), "oracle_bad_signature");

    v.clear_caches();
    assert_eq!(v.cache_sizes(), (0, 0));
    assert!(v.verify(&pool.valid[0]).is_ok());
}

#[test]
fn bundles_decode_with_errors_that_say_where() {
    let valid = &pool().valid[1];
    let json = serde_json::to_vec(valid).unwrap();
    assert_eq!(&ProofBundle::from_json(&json).unwrap(), valid);

    let err = ProofBundle::from_json(b"{\"version\": 1,").unwrap_err();
    assert_eq!(err.code(), "invalid_json");

    let mut value = serde_json::to_value(valid).unwrap();
    value["statement"]["tau_ppm"] = "one".into();
    let err = ProofBundle::from_json_value(value).unwrap_err();
    assert_eq!(err.code(), "invalid_bundle");
    assert!(
        matches!(&err, BundleError::Shape { path, .. } if path == "statement.tau_ppm"),
        "{err:?}"
    );

    let mut value = serde_json::to_value(valid).unwrap();
    value["report"]["report"]["observed_at"] = (-5).into();
    let err = ProofBundle::from_json_value(value).unwrap_err();
    assert!(
        matches!(&err, BundleError::Shape { path, .. } if path == "report.report.observed_at"),
        "{err:?}"
    );

    let mut value = serde_json::to_value(valid).unwrap();
    value["extra"] = true.into();
    assert_eq!(
        ProofBundle::from_json_value(value).unwrap_err().code(),
        "invalid_bundle"
    );

    // A newer format is named as such even though its shape differs.
    let err = ProofBundle::from_json(br#"{"version": 2, "something": "else"}"#).unwrap_err();
    assert_eq!(err, BundleError::UnsupportedVersion(2));
    assert_eq!(err.code(), "unsupported_version");

    let mut value = serde_json::to_value(valid).unwrap();
    value["statement"]["circuit"] = "zkmargin.liquidation.v9".into();
    let err = ProofBundle::from_json_value(value).unwrap_err();
    assert_eq!(err.code(), "unsupported_circuit");
    assert!(err.to_string().contains("zkmargin.margin.v1"), "{err}");
}

#[test]
fn tampered_key_files_are_refused_at_setup() {
    let fixture = Fixture::new(3);
    let vk = fixture.keys_dir().join("margin.vk");
    let mut bytes = std::fs::read(&vk).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&vk, bytes).unwrap();
    let err = fixture.verifier().unwrap_err();
    assert!(
        matches!(err, SetupError::Keys(KeyError::Fingerprint { .. })),
        "{err}"
    );

    let (_, oracle) = development_committee();
    let err = Verifier::from_keys_dir(fixture.keys_dir(), oracle, vec![]).unwrap_err();
    assert!(matches!(err, SetupError::Keys(_) | SetupError::NoParams));
}

/// The repository's development keys are recognised by their fingerprints: the list in
/// the library is the committed manifest's, and a copy whose manifest was edited to
/// say `"development": false` is still reported as development keys.
#[test]
fn development_keys_are_known_by_fingerprint_not_only_by_manifest() {
    let repo_keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../keys");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo_keys.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["development"], true);
    let committed: Vec<&str> = manifest["circuits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verifying_key"]["sha256"].as_str().unwrap())
        .collect();
    assert_eq!(
        committed,
        zkmargin_verifier::keys::DEVELOPMENT_KEY_FINGERPRINTS,
        "update DEVELOPMENT_KEY_FINGERPRINTS with the regenerated development keys"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut edited = manifest.clone();
    edited["development"] = false.into();
    std::fs::write(
        dir.path().join("manifest.json"),
        serde_json::to_vec(&edited).unwrap(),
    )
    .unwrap();
    for vk in ["margin.vk", "liquidation.vk"] {
        std::fs::copy(repo_keys.join(vk), dir.path().join(vk)).unwrap();
    }
    let (_, oracle) = development_committee();
    let v = Verifier::from_keys_dir(dir.path(), oracle, vec![RiskParams::development()])
        .expect("the repository's verifying keys load");
    assert!(v.development_keys());

    // Keys from another seed with a production manifest are not development keys.
    let fixture = Fixture::new(99);
    let path = fixture.keys_dir().join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["development"] = false.into();
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    assert!(!fixture.verifier().unwrap().development_keys());
}
