//! Writes the load test's inputs (`scripts/load.sh` runs this): fresh keys, the
//! oracle and parameter files, one bundle and a batch of bundles, all proven against
//! a report observed now. Ignored by default: it only runs when asked for, with
//! `ZKMARGIN_LOAD_DIR` naming the output directory.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::json;
use zkmargin_circuits::Status;
use zkmargin_verifier::testkit::{now, Fixture};

/// Bundles in the batch file.
const BATCH: usize = 64;

#[test]
#[ignore = "writes the load test's inputs; run by scripts/load.sh"]
fn write_load_fixture() {
    let dir = std::path::PathBuf::from(
        std::env::var("ZKMARGIN_LOAD_DIR").expect("ZKMARGIN_LOAD_DIR names the output directory"),
    );
    let fixture = Fixture::new(99);
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for entry in std::fs::read_dir(fixture.keys_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
    std::fs::write(
        dir.join("oracle.json"),
        serde_json::to_vec_pretty(fixture.oracle_config()).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("params.json"),
        serde_json::to_vec_pretty(fixture.params()).unwrap(),
    )
    .unwrap();
    let report = fixture.signed_report(now());
    let mut rng = ChaCha20Rng::seed_from_u64(100);
    let bundles: Vec<_> = (0..BATCH as u64)
        .map(|i| {
            let status = if i % 4 == 3 {
                Status::Breaches
            } else {
                Status::Meets
            };
            fixture.bundle(i, status, &report, &mut rng)
        })
        .collect();
    std::fs::write(
        dir.join("bundle.json"),
        serde_json::to_vec(&bundles[0]).unwrap(),
    )
    .unwrap();
    for n in [16, BATCH] {
        std::fs::write(
            dir.join(format!("batch{n}.json")),
            serde_json::to_vec(&json!({ "bundles": &bundles[..n] })).unwrap(),
        )
        .unwrap();
    }
    println!(
        "wrote {} (report observed at {})",
        dir.display(),
        report.report.observed_at
    );
}
