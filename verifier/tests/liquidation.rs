//! `Verifier::verify_liquidation` on real liquidation proofs: a valid transition and a
//! re-randomized proof of it verify to the same statement (and so the same replay
//! key); every way a transition bundle can be wrong is rejected with its code.

mod common;

use std::sync::{Arc, OnceLock};

use common::{NOW, T0};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{
    Account, LiquidationAction, LiquidationTerms, RiskParams, Side, Status, LIQUIDATION_CIRCUIT_ID,
};
use zkmargin_oracle::SignedReport;
use zkmargin_verifier::{
    keys::{Manifest, MANIFEST_FILE},
    testkit::{
        liquidation_statement, liquidation_statement_mut, proof_not_on_curve, tamper_proof,
        Fixture, ProvenLiquidation,
    },
    FixedClock, ProofBundle, Verifier, VerifyError,
};

struct Pool {
    fixture: Fixture,
    report: SignedReport,
    /// Account 1 liquidated by liquidator 7 (the policy seizes collateral).
    a: ProvenLiquidation,
    /// Account 2 liquidated by liquidator 8.
    b: ProvenLiquidation,
    /// A 1 BTC-PERP long closed whole, leaving a deficit.
    deficit: ProvenLiquidation,
    /// A margin bundle at the same tick.
    margin: ProofBundle,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let fixture =
            Fixture::with_liquidation(51).with_policy(zkmargin_prover::choose_liquidation);
        let report = fixture.signed_report(T0);
        let mut rng = ChaCha20Rng::seed_from_u64(52);
        let breaching = |id, rng: &mut ChaCha20Rng| Fixture::account(id, Status::Breaches, rng);
        let old_a = breaching(1, &mut rng);
        let a = fixture.liquidate(&old_a, 7, &report, &mut rng);
        let old_b = breaching(2, &mut rng);
        let b = fixture.liquidate(&old_b, 8, &report, &mut rng);
        let deficit = fixture.liquidate(&underwater(3, &mut rng), 9, &report, &mut rng);
        let margin = fixture.bundle(4, Status::Breaches, &report, &mut rng);
        Pool {
            fixture,
            report,
            a,
            b,
            deficit,
            margin,
        }
    })
}

/// 1 BTC-PERP long (BTC at 60,000) against 61,000 USD of quote debt: equity −1,000,
/// a deep breach; the whole position closes and 1,600 USD stay unpaid.
fn underwater(id: u64, rng: &mut ChaCha20Rng) -> Account {
    let mut account = Account::empty(id, rng);
    account.positions[0] = 100_000_000;
    account.quote = -61_000_000_000;
    account
}

fn verifier_at(now: u64) -> Verifier {
    pool()
        .fixture
        .verifier()
        .expect("fixture keys load")
        .with_clock(Arc::new(FixedClock(now)))
}

fn verifier() -> Verifier {
    verifier_at(NOW)
}

fn code(result: Result<impl std::fmt::Debug, VerifyError>) -> &'static str {
    match result {
        Ok(v) => panic!("expected a rejection, got {v:?}"),
        Err(e) => e.code(),
    }
}

/// `bundle` with its statement changed by `f` and the terms recomputed from the
/// (possibly changed) action, so the cheap checks pass and only the pairing can
/// tell.
fn altered(
    bundle: &ProofBundle,
    f: impl FnOnce(&mut zkmargin_verifier::LiquidationStatement),
) -> ProofBundle {
    let pool = pool();
    let mut b = bundle.clone();
    let s = liquidation_statement_mut(&mut b);
    f(s);
    let prices = pool.fixture.prices(&pool.report.report);
    s.terms = LiquidationTerms::of(&s.action, &prices, pool.fixture.params())
        .expect("the altered action has terms");
    b
}

#[test]
fn a_valid_transition_verifies_and_carries_its_statement() {
    let pool = pool();
    let v = verifier();
    let t = v
        .verify_liquidation(&pool.a.bundle)
        .expect("valid transition");
    assert_eq!(t.statement(), &pool.a.public);
    assert_eq!(t.statement_digest(), t.statement().digest());
    assert_eq!(t.statement_digest(), pool.a.public.digest());
    assert_eq!(t.statement().liquidator, 7);
    assert_eq!(t.risk_params_digest(), pool.fixture.params().digest());
    assert_eq!(t.report_digest(), pool.report.report.digest());
    assert_eq!(t.report_observed_at(), T0);
    assert_eq!(
        t.oracle_config_digest(),
        pool.fixture.oracle_config().digest()
    );
    assert_eq!(
        Some(t.key_fingerprint()),
        pool.fixture.liquidation_fingerprint()
    );
    assert_eq!(
        v.liquidation_key_fingerprint(),
        pool.fixture.liquidation_fingerprint()
    );
    // The policy's action for this account: the ETH deposit, the smallest execution
    // value that restores the target buffer; the new state is healthy.
    assert!(matches!(
        t.statement().action,
        LiquidationAction::Seize { token: 0, .. }
    ));
    assert_eq!(t.statement().deficit, 0);
    let params = pool.fixture.params();
    let prices = pool.fixture.prices(&pool.report.report);
    assert_eq!(
        pool.a.new.status(&params.weights(), &prices, 1_000_000),
        Status::Meets
    );

    // The JSON view names the circuit and every public amount.
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(json["circuit"], LIQUIDATION_CIRCUIT_ID);
    assert_eq!(json["statement_digest"], hex::encode(t.statement_digest()));
    assert_eq!(json["liquidator"], 7);
    assert_eq!(
        json["old_commitment"],
        pool.a.public.old_commitment.to_hex()
    );
    assert_eq!(
        json["new_commitment"],
        pool.a.public.new_commitment.to_hex()
    );
    assert_eq!(
        json["terms"]["liquidator_fee"],
        pool.a.public.terms.liquidator_fee
    );
}

#[test]
fn the_bundle_survives_a_json_round_trip() {
    let pool = pool();
    let json = serde_json::to_vec(&pool.a.bundle).unwrap();
    let decoded = ProofBundle::from_json(&json).expect("decodes");
    assert_eq!(decoded, pool.a.bundle);
    verifier().verify_liquidation(&decoded).expect("verifies");

    // A malformed transition statement is reported at its own field, not as a
    // margin statement's.
    let shape_error_path = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut value = serde_json::to_value(&pool.a.bundle).unwrap();
        edit(&mut value["statement"]);
        match ProofBundle::from_json_value(value) {
            Err(zkmargin_verifier::BundleError::Shape { path, .. }) => path,
            other => panic!("expected a shape error, got {other:?}"),
        }
    };
    let missing_terms = shape_error_path(&|s| {
        s.as_object_mut().unwrap().remove("terms");
    });
    assert_eq!(missing_terms, "statement");
    let bad_kind = shape_error_path(&|s| s["action"]["kind"] = "borrow".into());
    assert!(bad_kind.starts_with("statement.action"), "{bad_kind}");
    let bad_liquidator = shape_error_path(&|s| s["liquidator"] = "seven".into());
    assert_eq!(bad_liquidator, "statement.liquidator");
}

#[test]
fn a_deficit_transition_verifies() {
    let pool = pool();
    let t = verifier()
        .verify_liquidation(&pool.deficit.bundle)
        .expect("valid transition");
    let s = t.statement();
    assert_eq!(
        s.action,
        LiquidationAction::Close {
            market: 0,
            side: Side::Long,
            amount: 100_000_000
        }
    );
    // −61,000 + 60,000 − 600 (penalty) = −1,600 USD.
    assert_eq!(s.deficit, 1_600_000_000);
    assert_eq!(pool.deficit.new.quote, 0);
    assert_eq!(s.terms.penalty, 600_000_000);
}

/// Anyone holding a bundle can re-randomize its proof: different bytes, the same
/// statement. The verifier accepts it — and yields the same statement digest, which
/// is why settlement keys replays on the statement, never on the proof.
#[test]
fn a_rerandomized_proof_verifies_with_the_same_statement_digest() {
    let pool = pool();
    let v = verifier();
    let mut rng = ChaCha20Rng::seed_from_u64(60);
    let original = v.verify_liquidation(&pool.a.bundle).unwrap();
    let again = pool.fixture.rerandomize(&pool.a.bundle, &mut rng);
    let twice = pool.fixture.rerandomize(&again, &mut rng);
    assert_ne!(again.proof, pool.a.bundle.proof);
    assert_ne!(twice.proof, again.proof);
    for bundle in [&again, &twice] {
        let t = v
            .verify_liquidation(bundle)
            .expect("a re-randomized proof verifies");
        assert_eq!(t.statement_digest(), original.statement_digest());
        assert_eq!(t, original);
    }
}

/// The statement names no report: the same transition with a later report of the
/// same prices verifies to the same digest (the replay key is the statement).
#[test]
fn the_same_statement_with_a_later_report_has_the_same_digest() {
    let pool = pool();
    let v = verifier_at(T0 + 100);
    let mut later = pool.a.bundle.clone();
    later.report = pool.fixture.signed_report(T0 + 60);
    let t = v.verify_liquidation(&later).expect("verifies");
    let original = v.verify_liquidation(&pool.a.bundle).unwrap();
    assert_eq!(t.statement_digest(), original.statement_digest());
    assert_ne!(t.report_digest(), original.report_digest());
}

#[test]
fn a_proof_of_another_statement_is_rejected() {
    let pool = pool();
    let v = verifier();
    // b's proof under a's statement.
    let mut swapped = pool.a.bundle.clone();
    swapped.proof = pool.b.bundle.proof.clone();
    assert_eq!(
        v.verify_liquidation(&swapped),
        Err(VerifyError::InvalidProof)
    );
    // A margin proof under a liquidation statement.
    let mut margin_proof = pool.a.bundle.clone();
    margin_proof.proof = pool.margin.proof.clone();
    assert_eq!(
        v.verify_liquidation(&margin_proof),
        Err(VerifyError::InvalidProof)
    );
    // A proof whose points are valid but moved.
    assert_eq!(
        v.verify_liquidation(&tamper_proof(&pool.a.bundle)),
        Err(VerifyError::InvalidProof)
    );
}

/// Each public field the ledger acts on is bound by the proof: changing it (with
/// terms recomputed, so the cheap checks pass) fails the pairing check.
#[test]
fn every_altered_statement_field_fails_the_pairing_check() {
    let pool = pool();
    let v = verifier();
    let a = &pool.a.bundle;
    let b = liquidation_statement(&pool.b.bundle);
    let cases: Vec<(&str, ProofBundle)> = vec![
        (
            "amount + 1",
            altered(a, |s| {
                s.action = s.action.with_amount(s.action.amount() + 1)
            }),
        ),
        (
            "amount − 1",
            altered(a, |s| {
                s.action = s.action.with_amount(s.action.amount() - 1)
            }),
        ),
        (
            "another slot",
            altered(a, |s| {
                s.action = match s.action {
                    LiquidationAction::Seize { token, amount } => LiquidationAction::Seize {
                        token: (token + 1) % 4,
                        amount,
                    },
                    LiquidationAction::Repay { token, amount } => LiquidationAction::Repay {
                        token: (token + 1) % 4,
                        amount,
                    },
                    LiquidationAction::Close {
                        market,
                        side,
                        amount,
                    } => LiquidationAction::Close {
                        market: (market + 1) % 4,
                        side,
                        amount,
                    },
                }
            }),
        ),
        (
            "a close instead of a seize",
            altered(a, |s| {
                s.action = LiquidationAction::Close {
                    market: 1,
                    side: Side::Long,
                    amount: s.action.amount(),
                }
            }),
        ),
        (
            "liquidator (fee redirected)",
            altered(a, |s| s.liquidator = 8),
        ),
        ("liquidator 0", altered(a, |s| s.liquidator = 0)),
        ("deficit claimed", altered(a, |s| s.deficit = 1)),
        (
            "deficit dropped",
            altered(&pool.deficit.bundle, |s| s.deficit = 0),
        ),
        (
            "deficit reduced",
            altered(&pool.deficit.bundle, |s| s.deficit -= 1),
        ),
        (
            "old commitment of another account",
            altered(a, |s| s.old_commitment = b.old_commitment),
        ),
        (
            "new commitment of another transition",
            altered(a, |s| s.new_commitment = b.new_commitment),
        ),
        (
            "commitments swapped",
            altered(a, |s| {
                std::mem::swap(&mut s.old_commitment, &mut s.new_commitment)
            }),
        ),
        (
            "new commitment = old commitment",
            altered(a, |s| s.new_commitment = s.old_commitment),
        ),
    ];
    for (name, bundle) in cases {
        assert_ne!(&bundle, a, "{name}: the case must change the bundle");
        assert_eq!(
            v.verify_liquidation(&bundle),
            Err(VerifyError::InvalidProof),
            "{name}"
        );
    }
}

/// The terms are recomputed by the verifier, never taken from the prover: a bundle
/// whose terms differ from those its action implies is refused before the pairing.
#[test]
fn forged_terms_are_rejected() {
    let pool = pool();
    let v = verifier();
    let forge = |f: &dyn Fn(&mut LiquidationTerms)| {
        let mut b = pool.a.bundle.clone();
        f(&mut liquidation_statement_mut(&mut b).terms);
        b
    };
    type Forgery<'a> = (&'a str, &'a dyn Fn(&mut LiquidationTerms));
    let cases: [Forgery; 4] = [
        ("liquidator fee up, insurance fee down", &|t| {
            t.liquidator_fee += 1;
            t.insurance_fee -= 1;
        }),
        ("penalty", &|t| t.penalty += 1),
        ("execution value", &|t| t.execution_value -= 1),
        ("quote delta", &|t| t.quote_delta += 1),
    ];
    for (name, f) in cases {
        assert_eq!(
            code(v.verify_liquidation(&forge(f))),
            "liquidation_terms_mismatch",
            "{name}"
        );
    }
}

/// Actions the terms refuse are named as such (and never reach the encoder, which
/// would index a slot that does not exist).
#[test]
fn actions_the_rules_refuse_are_invalid() {
    let pool = pool();
    let v = verifier();
    let with_action = |action: LiquidationAction| {
        let mut b = pool.a.bundle.clone();
        liquidation_statement_mut(&mut b).action = action;
        b
    };
    let cases = [
        (
            "amount 0",
            LiquidationAction::Seize {
                token: 0,
                amount: 0,
            },
        ),
        (
            "close amount 0",
            LiquidationAction::Close {
                market: 0,
                side: Side::Long,
                amount: 0,
            },
        ),
        (
            "token slot the parameters do not define",
            LiquidationAction::Seize {
                token: 5,
                amount: 1,
            },
        ),
        (
            "token slot beyond the account",
            LiquidationAction::Seize {
                token: 1_000,
                amount: 1,
            },
        ),
        (
            "market slot the parameters do not define",
            LiquidationAction::Close {
                market: 4,
                side: Side::Short,
                amount: 1,
            },
        ),
        (
            "market slot beyond the account",
            LiquidationAction::Close {
                market: usize::MAX,
                side: Side::Long,
                amount: 1,
            },
        ),
        (
            "execution value beyond the circuit",
            LiquidationAction::Close {
                market: 0,
                side: Side::Long,
                amount: u64::MAX,
            },
        ),
    ];
    for (name, action) in cases {
        assert_eq!(
            code(v.verify_liquidation(&with_action(action))),
            "invalid_liquidation_action",
            "{name}"
        );
    }
}

#[test]
fn bundle_kinds_are_not_interchangeable() {
    let pool = pool();
    let v = verifier();
    // The margin bundle is valid as a margin bundle...
    v.verify(&pool.margin).expect("valid margin bundle");
    // ...and not a transition.
    assert_eq!(
        v.verify_liquidation(&pool.margin),
        Err(VerifyError::WrongStatement {
            expected: LIQUIDATION_CIRCUIT_ID,
            found: zkmargin_circuits::MARGIN_CIRCUIT_ID,
        })
    );
    assert_eq!(
        code(v.verify_liquidation(&pool.margin)),
        "wrong_statement_kind"
    );
    // A transition is not a margin verdict, alone or in a batch.
    assert_eq!(code(v.verify(&pool.a.bundle)), "wrong_statement_kind");
    let batch = v.verify_batch(&[pool.margin.clone(), pool.a.bundle.clone()]);
    assert!(batch[0].is_ok(), "{:?}", batch[0]);
    assert_eq!(
        batch[1].as_ref().err().map(VerifyError::code),
        Some("wrong_statement_kind")
    );
}

/// A keys directory without liquidation keys still verifies margin proofs; a
/// transition is refused as a circuit this verifier has no keys for.
#[test]
fn a_verifier_without_liquidation_keys_refuses_transitions() {
    let pool = pool();
    let src = pool.fixture.keys_dir();
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = Manifest::load(src).unwrap();
    manifest.circuits.retain(|c| c.id != LIQUIDATION_CIRCUIT_ID);
    assert_eq!(manifest.circuits.len(), 1);
    for c in &manifest.circuits {
        std::fs::copy(
            src.join(&c.verifying_key.file),
            dir.path().join(&c.verifying_key.file),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join(MANIFEST_FILE),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let v = Verifier::from_keys_dir(
        dir.path(),
        pool.fixture.oracle_config().clone(),
        vec![pool.fixture.params().clone()],
    )
    .expect("margin keys alone load")
    .with_clock(Arc::new(FixedClock(NOW)));
    assert_eq!(v.liquidation_key_fingerprint(), None);
    assert_eq!(
        v.verify_liquidation(&pool.a.bundle),
        Err(VerifyError::NoKeys(LIQUIDATION_CIRCUIT_ID))
    );
    assert_eq!(
        code(v.verify_liquidation(&pool.a.bundle)),
        "unsupported_circuit"
    );
    v.verify(&pool.margin).expect("margin proofs still verify");
}

/// A liquidation key file that does not match its manifest fingerprint stops the
/// verifier from loading at all (never silently "no liquidation keys").
#[test]
fn a_tampered_liquidation_key_file_is_refused_at_load() {
    let pool = pool();
    let src = pool.fixture.keys_dir();
    let dir = tempfile::tempdir().unwrap();
    let manifest = Manifest::load(src).unwrap();
    for c in &manifest.circuits {
        std::fs::copy(
            src.join(&c.verifying_key.file),
            dir.path().join(&c.verifying_key.file),
        )
        .unwrap();
    }
    std::fs::copy(src.join(MANIFEST_FILE), dir.path().join(MANIFEST_FILE)).unwrap();
    let vk = dir.path().join("liquidation.vk");
    let mut bytes = std::fs::read(&vk).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&vk, bytes).unwrap();
    let err = Verifier::from_keys_dir(
        dir.path(),
        pool.fixture.oracle_config().clone(),
        vec![pool.fixture.params().clone()],
    )
    .unwrap_err();
    assert!(err.to_string().contains("liquidation.vk"), "{err}");
}

#[test]
fn a_stale_report_is_rejected() {
    let pool = pool();
    let max_age = pool.fixture.oracle_config().max_age_secs;
    verifier_at(T0 + max_age)
        .verify_liquidation(&pool.a.bundle)
        .expect("at the age limit");
    assert_eq!(
        code(verifier_at(T0 + max_age + 1).verify_liquidation(&pool.a.bundle)),
        "oracle_stale_report"
    );
}

#[test]
fn a_report_below_quorum_is_rejected() {
    let pool = pool();
    let mut b = pool.a.bundle.clone();
    b.report = SignedReport::sign(Fixture::price_report(T0), &pool.fixture.signers()[..1]);
    assert_eq!(
        code(verifier().verify_liquidation(&b)),
        "oracle_quorum_not_met"
    );
}

#[test]
fn unknown_risk_params_are_rejected() {
    let pool = pool();
    let v = verifier();
    let mut b = pool.a.bundle.clone();
    liquidation_statement_mut(&mut b).risk_params_digest = [1; 32];
    assert_eq!(code(v.verify_liquidation(&b)), "unknown_risk_params");

    // A verifier that accepts only other parameters refuses the bundle's.
    let mut other = RiskParams::development();
    other.revision += 1;
    other.liquidation.penalty_ppm += 1;
    let v = Verifier::from_keys_dir(
        pool.fixture.keys_dir(),
        pool.fixture.oracle_config().clone(),
        vec![other],
    )
    .unwrap()
    .with_clock(Arc::new(FixedClock(NOW)));
    assert_eq!(
        code(v.verify_liquidation(&pool.a.bundle)),
        "unknown_risk_params"
    );
}

#[test]
fn a_bundle_for_another_key_is_rejected() {
    let pool = pool();
    let v = verifier();
    let mut b = pool.a.bundle.clone();
    b.key_fingerprint = pool.fixture.fingerprint().to_owned(); // the margin key
    assert_eq!(code(v.verify_liquidation(&b)), "key_fingerprint_mismatch");
    b.key_fingerprint = "00".repeat(32);
    let err = v.verify_liquidation(&b).unwrap_err();
    assert_eq!(err.code(), "key_fingerprint_mismatch");
    assert!(
        err.to_string()
            .contains(pool.fixture.liquidation_fingerprint().unwrap()),
        "names the key it holds: {err}"
    );
}

#[test]
fn malformed_proofs_and_versions_are_rejected() {
    let pool = pool();
    let v = verifier();
    let mut b = pool.a.bundle.clone();
    b.version = 2;
    assert_eq!(code(v.verify_liquidation(&b)), "unsupported_version");
    let mut b = pool.a.bundle.clone();
    b.proof.truncate(254);
    assert_eq!(code(v.verify_liquidation(&b)), "malformed_proof");
    let mut b = pool.a.bundle.clone();
    b.proof.replace_range(0..2, "zz");
    assert_eq!(code(v.verify_liquidation(&b)), "malformed_proof");
    assert_eq!(
        code(v.verify_liquidation(&proof_not_on_curve(&pool.a.bundle))),
        "invalid_proof_points"
    );
}
