//! The BN254 precompiles the contract tests run on are substrate-bn's, not arkworks'
//! (revm's default): the generated verifiers are compared with arkworks, so they must
//! not also be executed by it.
//!
//! revm-precompile picks its backend at compile time from its `bn` feature, which no
//! runtime value shows, so this test asks cargo how this crate's test build resolves:
//! revm-precompile must have `bn`, and substrate-bn must be in the tree.

use std::process::Command;

fn cargo_tree(args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "-p",
            "zkmargin-evm",
            "--features",
            "harness",
            "--offline",
            "--locked",
        ])
        // The host target only: `--target all` would need every platform's crates,
        // which an offline build does not have; the tests run on the host.
        .args(["--prefix", "none"])
        .args(args)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo tree prints UTF-8")
}

#[test]
fn bn254_precompiles_run_on_substrate_bn_not_arkworks() {
    let features = cargo_tree(&["-e", "features", "-i", "revm-precompile"]);
    assert!(
        features.lines().any(|l| l.starts_with("revm-precompile feature \"bn\"")),
        "revm-precompile is built without its `bn` feature: its BN254 precompiles would run on arkworks\n{features}"
    );
    let substrate = cargo_tree(&["-e", "normal", "-i", "substrate-bn"]);
    assert!(
        substrate.lines().any(|l| l.starts_with("substrate-bn v")),
        "substrate-bn is not in the tree\n{substrate}"
    );
}

/// revm also lets a process replace its precompiles' crypto at run time
/// (`revm::install_crypto`, process-wide), which could put them back on arkworks
/// whatever the features say: the provider must be revm's default, whose BN254
/// functions are the compile-time backend checked above.
#[test]
fn the_precompiles_use_revms_default_crypto_provider() {
    let mut evm = zkmargin_evm::harness::Evm::new();
    // One BN254 call first, so the provider in use is the one asked about.
    let out = evm
        .call(
            zkmargin_evm::harness::Address::with_last_byte(6),
            &[0u8; 128],
        )
        .unwrap();
    assert!(out.is_success() && out.output == [0u8; 64]);
    assert_eq!(
        zkmargin_evm::harness::precompile_provider(),
        "DefaultCrypto"
    );
}

/// The precompiles compute what arkworks computes on valid input (so that a
/// disagreement in the differential tests would be the verifier's, not the EVM's).
mod precompiles_agree {
    use ark_bn254::{Fr, G1Affine, G1Projective};
    use ark_ec::{AffineRepr, CurveGroup};
    use zkmargin_evm::{
        encode::{g1_words, Word},
        harness::{Address, Evm},
    };

    fn call(evm: &mut Evm, precompile: u8, words: &[Word]) -> Vec<u8> {
        let data: Vec<u8> = words.iter().flat_map(|w| w.0).collect();
        let out = evm
            .call(Address::with_last_byte(precompile), &data)
            .unwrap();
        assert!(out.is_success());
        out.output
    }

    #[test]
    fn ec_add_and_ec_mul_match_arkworks() {
        let mut evm = Evm::new();
        let g = G1Affine::generator();
        let s = Fr::from(123_456_789u64);
        let p = (g * s).into_affine();
        let [gx, gy] = g1_words(&g);
        let [px, py] = g1_words(&p);
        let sum = (G1Projective::from(g) + p).into_affine();
        let expected: Vec<u8> = g1_words(&sum).iter().flat_map(|w| w.0).collect();
        assert_eq!(call(&mut evm, 6, &[gx, gy, px, py]), expected);
        let expected: Vec<u8> = g1_words(&p).iter().flat_map(|w| w.0).collect();
        assert_eq!(call(&mut evm, 7, &[gx, gy, Word::from(&s)]), expected);
    }
}
