//! Constraint-count and shape regression of the margin circuit.
//!
//! A change here is a change of the statement's cost or shape: update
//! `docs/STATEMENT.md` (constraint table) and the key manifest with it.

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
use sha2::{Digest, Sha256};
use zkmargin_circuits::{
    r1cs::{LiquidationCircuit, MarginCircuit},
    Fr, LIQUIDATION_NUM_PUBLIC_INPUTS, MARGIN_NUM_PUBLIC_INPUTS,
};

/// Synthesizes the setup shape and returns (constraints, instance vars incl. 1, witnesses, matrix hash).
fn shape(circuit: impl ConstraintSynthesizer<Fr>) -> (usize, usize, usize, String) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(SynthesisMode::Setup);
    circuit.generate_constraints(cs.clone()).unwrap();
    cs.finalize();
    let matrices = cs.to_matrices().unwrap();
    let mut h = Sha256::new();
    for (label, ms) in &matrices {
        h.update(label.as_bytes());
        for m in ms {
            for row in m {
                h.update((row.len() as u64).to_le_bytes());
                for (coeff, col) in row {
                    h.update(coeff.to_string().as_bytes());
                    h.update((*col as u64).to_le_bytes());
                }
            }
        }
    }
    (
        cs.num_constraints(),
        cs.num_instance_variables(),
        cs.num_witness_variables(),
        hex::encode(h.finalize()),
    )
}

#[test]
fn margin_circuit_shape() {
    let (constraints, instance, witnesses, hash) = shape(MarginCircuit::for_setup());
    println!("constraints={constraints} instance={instance} witnesses={witnesses} hash={hash}");
    // 17 slots × 64 range bits + Poseidon (width 12) + 8 × 3 token + 8 × 3 market
    // products + τ product + 196-bit sign test with its recomposition + status bit,
    // status link and commitment equality.
    let expected = 17 * 64 + 459 + 8 * 3 + 8 * 3 + 1 + 197 + 3;
    assert_eq!(constraints, expected);
    assert_eq!(constraints, 1_796);
    // What the verifier checks key manifests against.
    assert_eq!(constraints, zkmargin_circuits::MARGIN_CONSTRAINTS);
    assert_eq!(instance, 1 + MARGIN_NUM_PUBLIC_INPUTS);
    assert_eq!(instance, 44);
    assert_eq!(witnesses, 1_795);
    // Groth16's FFT domain is next_pow2(constraints + instance variables): stay in 2^11.
    assert!(constraints + instance <= 1 << 11);
    // Any change of the matrices (not only of the counts) shows here.
    assert_eq!(
        hash,
        "4a044b8ebe35db919c40ce65f063e026d86652f7d427cf9f5421e4ac58f6fce0"
    );
}

#[test]
fn liquidation_circuit_shape() {
    let (constraints, instance, witnesses, hash) = shape(LiquidationCircuit::for_setup());
    println!("constraints={constraints} instance={instance} witnesses={witnesses} hash={hash}");
    // Clause by clause (docs/STATEMENT.md, "Liquidation v2: constraint budget"):
    // old slots 1,088 + restores hint 1; public inputs and their unpacking 214;
    // old commitment 460; margin status (health 48, R+K range 108, breach 128) 284;
    // target health 2; action 133; terms (V 63, P 43, Q 1) 107; new quote 70;
    // deficit 23; close factor 373; per-unit progress 98; minimality 364;
    // progress and ratio 255; nonce 65; fresh blinding 1; new commitment 460.
    let expected =
        1_088 + 1 + 214 + 460 + 284 + 2 + 133 + 107 + 70 + 23 + 373 + 98 + 364 + 255 + 65 + 1 + 460;
    assert_eq!(constraints, expected);
    assert_eq!(constraints, 3_998);
    assert_eq!(constraints, zkmargin_circuits::LIQUIDATION_CONSTRAINTS);
    assert_eq!(instance, 1 + LIQUIDATION_NUM_PUBLIC_INPUTS);
    assert_eq!(instance, 50);
    assert_eq!(witnesses, 3_977);
    // FFT domain 2^12.
    assert!(constraints + instance <= 1 << 12);
    assert_eq!(
        hash,
        "3d76b271bc27769f1172235e3fe5e948979ac8bfd0ecfbcd110ab6355b1007f5"
    );
}
