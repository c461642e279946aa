//! Key loading: the margin and liquidation proving keys from a keys directory (target
//! ≤ 50 ms each), and the margin key's parts — fingerprint check, unchecked and checked
//! deserialization, shape synthesis — plus the verifying key as the verifier loads it.
//!
//! `cargo bench --bench keys`. The keys are development keys made in a temporary
//! directory, byte-identical to the repository's `keys/`.

use std::hint::black_box;

use ark_bn254::Bn254;
use ark_groth16::ProvingKey;
use ark_serialize::CanonicalDeserialize;
use criterion::{criterion_group, criterion_main, Criterion};
use zkmargin_circuits::{MARGIN_CIRCUIT_ID, MARGIN_NUM_PUBLIC_INPUTS};
use zkmargin_prover::{
    load_proving_key,
    registry::{LIQUIDATION, MARGIN},
    setup, KeyMode,
};
use zkmargin_verifier::{keys::load_verifying_key, Manifest};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let manifest = setup::setup(dir.path(), KeyMode::Development).expect("development setup");
    let entry = manifest.circuits[0].clone();
    let bytes = entry.proving_key.read_verified(dir.path()).unwrap();
    for c in &manifest.circuits {
        println!(
            "{}: proving key {} bytes, verifying key {} bytes",
            c.id, c.proving_key.bytes, c.verifying_key.bytes
        );
    }

    let mut g = c.benchmark_group("keys");
    // What a `zkmargin prove` process pays once: manifest, fingerprint, unchecked
    // deserialization, shape and pairing checks (the circuit shape is synthesized on
    // the first call of a process and cached; see `shape_synthesis`).
    g.bench_function("load_proving_key", |b| {
        b.iter(|| load_proving_key(dir.path(), &MARGIN, &mut |_| {}).unwrap())
    });
    g.bench_function("load_proving_key_liquidation", |b| {
        b.iter(|| load_proving_key(dir.path(), &LIQUIDATION, &mut |_| {}).unwrap())
    });
    g.bench_function("manifest_and_fingerprint", |b| {
        b.iter(|| {
            let m = Manifest::load(dir.path()).unwrap();
            m.circuits[0].proving_key.read_verified(dir.path()).unwrap()
        })
    });
    g.bench_function("deserialize_uncompressed_unchecked", |b| {
        b.iter(|| {
            ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(black_box(&bytes[..])).unwrap()
        })
    });
    g.bench_function("shape_synthesis", |b| {
        b.iter(|| MARGIN.synthesize_shape().unwrap())
    });
    g.bench_function("load_verifying_key", |b| {
        b.iter(|| {
            load_verifying_key(dir.path(), MARGIN_CIRCUIT_ID, MARGIN_NUM_PUBLIC_INPUTS).unwrap()
        })
    });
    g.finish();

    // For comparison: what loading would cost with full point validation.
    let mut slow = c.benchmark_group("keys_checked");
    slow.sample_size(10);
    slow.bench_function("deserialize_uncompressed_checked", |b| {
        b.iter(|| ProvingKey::<Bn254>::deserialize_uncompressed(black_box(&bytes[..])).unwrap())
    });
    slow.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
