//! The committed Solidity verifiers are exactly what the committed development keys
//! generate. After a key change, regenerate them with
//! `ZKMARGIN_REGENERATE=1 cargo test --release -p zkmargin-evm --test generated`
//! (or `zkmargin export solidity --keys keys -o evm/contracts/generated`), then
//! recompile with `scripts/evm/compile.sh`.

use std::path::{Path, PathBuf};

use zkmargin_evm::{
    artifact::{artifacts_dir, contracts_dir, Artifact},
    check_sources, generate_sources, write_sources, ExportError, EVM_CIRCUITS,
};

fn repo_keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../keys")
}

fn generated_dir() -> PathBuf {
    contracts_dir().join("generated")
}

#[test]
fn committed_sources_are_what_the_development_keys_generate() {
    if std::env::var_os("ZKMARGIN_REGENERATE").is_some() {
        write_sources(&repo_keys(), &generated_dir()).unwrap();
    }
    if let Err(e) = check_sources(&repo_keys(), &generated_dir()) {
        panic!("{e}");
    }
}

#[test]
fn every_evm_circuit_of_the_development_keys_is_generated() {
    let sources = generate_sources(&repo_keys()).unwrap();
    let ids: Vec<_> = sources.iter().map(|s| s.circuit_id).collect();
    let expected: Vec<_> = EVM_CIRCUITS.iter().map(|c| c.circuit_id).collect();
    assert_eq!(ids, expected);
    for s in &sources {
        // The key is a development key, and the source says so where anyone looks.
        assert!(s.contents.contains("DEVELOPMENT KEY"), "{}", s.file_name);
    }
}

#[test]
fn a_changed_or_extra_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write_sources(&repo_keys(), dir.path()).unwrap();
    check_sources(&repo_keys(), dir.path()).unwrap();
    let path = dir.path().join("MarginVerifier.sol");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text = text.replacen(
        "uint256 internal constant INPUT0_X = 0x",
        "uint256 internal constant INPUT0_X = 0x0",
        1,
    );
    std::fs::write(&path, text).unwrap();
    std::fs::write(dir.path().join("Old.sol"), "contract Old {}").unwrap();
    match check_sources(&repo_keys(), dir.path()) {
        Err(ExportError::Stale { differences, .. }) => assert_eq!(
            differences,
            [
                "MarginVerifier.sol differs".to_owned(),
                "Old.sol is not generated from these keys".to_owned()
            ]
        ),
        other => panic!("expected a stale report, got {other:?}"),
    }
}

/// Every committed artifact was compiled from the source that is committed now (its
/// SHA-256 is recorded at compile time), so `cargo test` notices a source edited
/// without recompiling even where no Node is installed; `scripts/evm/check.sh`
/// recompiles and compares the bytes.
#[test]
fn artifacts_are_compiled_from_todays_sources() {
    let mut checked = 0;
    for entry in std::fs::read_dir(artifacts_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let artifact = Artifact::load(&artifacts_dir(), &name).unwrap();
            assert_eq!(artifact.contract_name, name);
            assert!(
                artifact.matches_source(&contracts_dir()).unwrap(),
                "artifacts/{name}.json was compiled from another version of contracts/{}: run scripts/evm/compile.sh",
                artifact.source_name
            );
            checked += 1;
        }
    }
    // The generated verifiers and their library, at least.
    assert!(checked >= 2, "only {checked} artifacts");
}
