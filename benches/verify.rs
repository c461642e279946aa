//! Verification cost: one bundle with warm and cold caches, batches of 16, 64 and 256
//! bundles (throughput in proofs per second), and one liquidation transition.
//!
//! Keys and proofs come from `zkmargin_verifier::testkit` (seeded setup, real
//! Groth16 proofs at one development price tick). Run with `cargo bench --bench verify`.

use std::{hint::black_box, sync::Arc, time::Duration};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::Status;
use zkmargin_verifier::{testkit::Fixture, FixedClock, ProofBundle, Verifier};

/// Observation time of the benchmark's report; the verifier's clock is 30 s later.
const T0: u64 = 1_700_000_000;
/// Distinct proofs; larger batches repeat them (the cost of a proof does not depend
/// on whether it was seen before: nothing per proof is cached).
const DISTINCT: usize = 64;

fn setup() -> (Fixture, Verifier, Vec<ProofBundle>) {
    let fixture = Fixture::with_liquidation(2024).with_policy(zkmargin_prover::choose_liquidation);
    let report = fixture.signed_report(T0);
    let mut rng = ChaCha20Rng::seed_from_u64(2025);
    let bundles = (0..DISTINCT as u64)
        .map(|i| {
            let status = if i % 4 == 3 {
                Status::Breaches
            } else {
                Status::Meets
            };
            fixture.bundle(i, status, &report, &mut rng)
        })
        .collect();
    let verifier = fixture
        .verifier()
        .expect("fixture keys load")
        .with_clock(Arc::new(FixedClock(T0 + 30)));
    (fixture, verifier, bundles)
}

fn bench_verify(c: &mut Criterion) {
    let (fixture, verifier, bundles) = setup();
    assert!(verifier.verify_batch(&bundles).iter().all(Result::is_ok));

    let mut single = c.benchmark_group("verify/single");
    single.throughput(Throughput::Elements(1));
    let mut next = 0usize;
    single.bench_function("warm", |b| {
        b.iter(|| {
            next = (next + 1) % DISTINCT;
            black_box(verifier.verify(&bundles[next]).is_ok())
        })
    });
    // Cold: the tick's shared inputs are folded and the report's signatures checked
    // again, as for the first proof after every price tick.
    single.bench_function("cold", |b| {
        b.iter_batched(
            || {
                verifier.clear_caches();
                next = (next + 1) % DISTINCT;
                &bundles[next]
            },
            |bundle| black_box(verifier.verify(bundle).is_ok()),
            BatchSize::SmallInput,
        )
    });
    single.finish();

    let mut batch = c.benchmark_group("verify/batch");
    batch.sample_size(20);
    batch.measurement_time(Duration::from_secs(10));
    for n in [16usize, 64, 256] {
        let input: Vec<ProofBundle> = bundles.iter().cycle().take(n).cloned().collect();
        batch.throughput(Throughput::Elements(n as u64));
        batch.bench_function(n.to_string(), |b| {
            b.iter(|| black_box(verifier.verify_batch(&input).len()))
        });
    }
    batch.finish();

    // A transition: the 45 shared inputs (prices, weights, rules) folded once per
    // tick and cached, the 4 per-proof inputs (commitments, action word, money word)
    // folded per proof, terms recomputed from the signed prices, the pairing check.
    let report = fixture.signed_report(T0);
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let breach = Fixture::account(1_000, Status::Breaches, &mut rng);
    let transition = fixture.liquidate(&breach, 7, &report, &mut rng).bundle;
    assert!(verifier.verify_liquidation(&transition).is_ok());
    let mut group = c.benchmark_group("verify/transition");
    group.bench_function("single", |b| {
        b.iter(|| black_box(verifier.verify_liquidation(&transition).is_ok()))
    });
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
