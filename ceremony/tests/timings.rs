//! Wall-clock time of each ceremony step for both real circuits on this machine.
//! Run alone, in release mode:
//! `cargo test --release -p zkmargin-ceremony --test timings -- --ignored --nocapture --test-threads=1`

mod common;

use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_ceremony::{ceremony, CircuitShape, Ptau};
use zkmargin_circuits::{
    r1cs::{LiquidationCircuit, MarginCircuit},
    LIQUIDATION_CIRCUIT_ID, MARGIN_CIRCUIT_ID,
};

/// The minimum of `runs` runs of `f` (its last result returned).
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let v = f();
        best = best.min(start.elapsed());
        out = Some(v);
    }
    (best, out.expect("at least one run"))
}

fn ms(d: Duration) -> String {
    format!("{:>9.1} ms", d.as_secs_f64() * 1e3)
}

#[test]
#[ignore = "prints timings; run with --ignored --nocapture --test-threads=1"]
fn ceremony_step_timings() {
    let runs = 3;
    println!("threads: {}", rayon::current_num_threads());
    let secrets = common::secrets();
    for prepared in [true, false] {
        let (gen, bytes) = time(1, || {
            Ptau::generate(12, &secrets, prepared)
                .unwrap()
                .to_bytes()
                .unwrap()
        });
        let (read, p) = time(runs, || Ptau::from_bytes(&bytes, None).unwrap());
        let (check, _) = time(runs, || p.clone().check().unwrap());
        println!(
            "ptau power 12 ({}, {} KiB): generate {} | read+decode+hash {} | pairing checks {}",
            if prepared { "prepared" } else { "not prepared" },
            bytes.len() / 1024,
            ms(gen),
            ms(read),
            ms(check)
        );
    }
    let prepared = Ptau::generate(12, &secrets, true).unwrap().check().unwrap();
    let unprepared = Ptau::generate(12, &secrets, false)
        .unwrap()
        .check()
        .unwrap();

    let margin = || CircuitShape::synthesize(MarginCircuit::for_setup()).unwrap();
    let liquidation = || CircuitShape::synthesize(LiquidationCircuit::for_setup()).unwrap();
    let circuits: [(&str, &dyn Fn() -> CircuitShape); 2] = [
        (MARGIN_CIRCUIT_ID, &margin),
        (LIQUIDATION_CIRCUIT_ID, &liquidation),
    ];
    for (id, synthesize) in circuits {
        let (synth, shape) = time(runs, synthesize);
        let (init, file) = time(runs, || ceremony::init(id, &shape, &prepared).unwrap());
        let (init_fft, file_fft) = time(1, || ceremony::init(id, &shape, &unprepared).unwrap());
        let (file_fft, _) = file_fft
            .contribute_with_rng(&mut ChaCha20Rng::seed_from_u64(9), b"")
            .unwrap();
        let bytes = file.to_bytes();
        let (decode, _) = time(runs, || ceremony::CeremonyFile::from_bytes(&bytes).unwrap());
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (contribute, file) = time(runs, || {
            file.clone().contribute_with_rng(&mut rng, b"").unwrap().0
        });
        let (file, _) = file.contribute_with_rng(&mut rng, b"").unwrap();
        let (file, _) = file.contribute_with_rng(&mut rng, b"").unwrap();
        let (beacon, file) = time(runs, || file.clone().beacon(&[7u8; 32], 10).unwrap().0);
        let (verify, _) = time(runs, || {
            ceremony::verify(&file, id, &shape, &prepared).unwrap()
        });
        let (verify_fft, _) = time(1, || {
            ceremony::verify(&file_fft, id, &shape, &unprepared).unwrap()
        });
        let (finalize, _) = time(runs, || {
            ceremony::finalize(&file, id, &shape, &prepared).unwrap()
        });
        println!(
            "{id}: {} constraints, domain 2^{}, file {} KiB",
            shape.num_constraints,
            shape.log_domain,
            bytes.len() / 1024
        );
        println!("  synthesize shape      {}", ms(synth));
        println!("  init (prepared ptau)  {}", ms(init));
        println!("  init (FFT over group) {}", ms(init_fft));
        println!("  decode file (checked) {}", ms(decode));
        println!("  contribute            {}", ms(contribute));
        println!("  beacon (2^10 SHA-256) {}", ms(beacon));
        println!("  verify 3 + beacon     {}", ms(verify));
        println!("  verify 1 (FFT ptau)   {}", ms(verify_fft));
        println!("  finalize (verifies)   {}", ms(finalize));
    }
}
