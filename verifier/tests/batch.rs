//! Batch verification: agreement with single verification on mixed batches, and
//! bisection naming exactly the invalid proofs.

mod common;

use common::{pool, verifier, NOW, T0};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::Status;
use zkmargin_oracle::{development_committee, SignedReport};
use zkmargin_verifier::{
    testkit::{proof_not_on_curve, tamper_proof, Fixture},
    ProofBundle, Statement, Verdict, VerifyError,
};

#[test]
fn empty_and_all_valid_batches() {
    let v = verifier();
    assert!(v.verify_batch(&[]).is_empty());
    let valid = &pool().valid;
    let results = v.verify_batch(valid);
    assert_eq!(results.len(), valid.len());
    for (i, (r, b)) in results.iter().zip(valid).enumerate() {
        assert_eq!(r, &v.verify(b), "bundle {i}");
        assert!(r.is_ok(), "bundle {i}: {r:?}");
    }
    assert!(matches!(results[0], Ok(Verdict::Meets(_))));
    assert!(matches!(results[1], Ok(Verdict::Breach(_))));
}

#[test]
fn one_tampered_proof_among_many_is_named_alone() {
    let v = verifier();
    let valid = &pool().valid;
    for bad in [0, 3, 7] {
        let mut batch: Vec<ProofBundle> = valid.iter().chain(valid).cloned().collect();
        batch[bad + 4] = tamper_proof(&batch[bad + 4]);
        let results = v.verify_batch(&batch);
        for (i, r) in results.iter().enumerate() {
            if i == bad + 4 {
                assert_eq!(r, &Err(VerifyError::InvalidProof));
            } else {
                assert!(r.is_ok(), "bundle {i} is valid: {r:?}");
            }
        }
    }
}

#[test]
fn every_proof_invalid_and_a_single_invalid_proof() {
    let v = verifier();
    let tampered: Vec<ProofBundle> = pool().valid.iter().map(tamper_proof).collect();
    assert!(v
        .verify_batch(&tampered)
        .iter()
        .all(|r| r == &Err(VerifyError::InvalidProof)));
    assert_eq!(
        v.verify_batch(&tampered[..1]),
        vec![Err(VerifyError::InvalidProof)]
    );
}

#[test]
fn proofs_of_several_ticks_and_parameters_batch_together() {
    // Two price ticks in one batch: each folds its own shared inputs.
    let pool = pool();
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let (keys, _) = development_committee();
    let mut report = Fixture::price_report(T0 + 10);
    report.feeds[2].price = 2_900_000_000; // ETH 2,900
    report.feeds[2].bid = 2_899_000_000;
    report.feeds[2].ask = 2_901_000_000;
    let report = SignedReport::sign(report, &keys[1..]);
    let other_tick: Vec<ProofBundle> = (0..3)
        .map(|i| {
            let status = if i == 1 {
                Status::Breaches
            } else {
                Status::Meets
            };
            pool.fixture.bundle(500 + i, status, &report, &mut rng)
        })
        .collect();
    let mut batch = pool.valid.clone();
    batch.extend(other_tick.iter().cloned());
    batch.swap(1, 9);
    let v = verifier();
    let results = v.verify_batch(&batch);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // A proof of the second tick (now at index 1) presented with the first tick's
    // report fails alone.
    batch[1] = ProofBundle {
        report: pool.report.clone(),
        ..batch[1].clone()
    };
    let results = v.verify_batch(&batch);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r, &v.verify(&batch[i]), "bundle {i}");
    }
    assert_eq!(results[1], Err(VerifyError::InvalidProof));
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
}

/// Ways a bundle goes wrong; each has its own generator arm below.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// An honest bundle.
    None,
    /// C moved by the generator: valid points, the pairing fails.
    TamperedProof,
    /// The statement's status flipped: a lie about the account.
    WrongStatus,
    /// τ altered after proving.
    WrongTau,
    /// Another account's commitment.
    WrongCommitment,
    /// A signature over other prices.
    BadSignature,
    /// Only one committee signature.
    QuorumNotMet,
    /// Observed 400 s before the clock.
    StaleReport,
    /// Version 2.
    UnknownVersion,
    /// A proof x coordinate with no curve point.
    PointNotOnCurve,
    /// 127 bytes of proof.
    ShortProof,
    /// Another valid proof's bytes.
    SwappedProof,
}

fn apply(fault: Fault, base: usize) -> ProofBundle {
    let pool = pool();
    let valid = &pool.valid[base];
    let mut b = valid.clone();
    let Statement::Margin(m) = &mut b.statement else {
        unreachable!("a margin bundle")
    };
    let (keys, _) = development_committee();
    match fault {
        Fault::None => {}
        Fault::TamperedProof => return tamper_proof(valid),
        Fault::WrongStatus => {
            m.status = match m.status {
                Status::Meets => Status::Breaches,
                Status::Breaches => Status::Meets,
            }
        }
        Fault::WrongTau => m.tau_ppm -= 1,
        Fault::WrongCommitment => {
            let Statement::Margin(other) = &pool.valid[(base + 1) % pool.valid.len()].statement
            else {
                unreachable!("a margin bundle")
            };
            m.commitment = other.commitment;
        }
        Fault::BadSignature => {
            b.report.signatures[0] = keys[0].sign(&Fixture::price_report(T0 - 1))
        }
        Fault::QuorumNotMet => b.report.signatures.truncate(1),
        Fault::StaleReport => {
            let mut r = Fixture::price_report(NOW - 400);
            r.expires_at = NOW + 100;
            b.report = SignedReport::sign(r, &keys[..2]);
        }
        Fault::UnknownVersion => b.version = 2,
        Fault::PointNotOnCurve => return proof_not_on_curve(valid),
        Fault::ShortProof => b.proof.truncate(254),
        Fault::SwappedProof => b.proof = pool.valid[(base + 3) % pool.valid.len()].proof.clone(),
    }
    b
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        6 => Just(Fault::None),
        2 => Just(Fault::TamperedProof),
        1 => Just(Fault::WrongStatus),
        1 => Just(Fault::WrongTau),
        1 => Just(Fault::WrongCommitment),
        1 => Just(Fault::BadSignature),
        1 => Just(Fault::QuorumNotMet),
        1 => Just(Fault::StaleReport),
        1 => Just(Fault::UnknownVersion),
        1 => Just(Fault::PointNotOnCurve),
        1 => Just(Fault::ShortProof),
        1 => Just(Fault::SwappedProof),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Batch verdicts equal single verdicts, bundle by bundle, on mixed batches.
    #[test]
    fn batch_verdicts_equal_single_verdicts(
        faults in proptest::collection::vec((fault(), 0usize..8), 0..20)
    ) {
        let v = verifier();
        let batch: Vec<ProofBundle> = faults.iter().map(|(f, base)| apply(*f, *base)).collect();
        let single: Vec<_> = batch.iter().map(|b| v.verify(b)).collect();
        let batched = v.verify_batch(&batch);
        prop_assert_eq!(&batched, &single);
        for ((f, _), r) in faults.iter().zip(&single) {
            prop_assert_eq!(matches!(f, Fault::None), r.is_ok(), "{:?} gave {:?}", f, r);
        }
    }
}
