//! Differential tests against arkworks: with a ptau generated from known τ, α, β, the
//! ceremony's initial parameters equal, point by point, what ark-groth16's own generator
//! (`generate_parameters_with_qap`, `LibsnarkReduction`) makes with the same τ, α, β and
//! γ = δ = 1 — for a small circuit and for the real margin and liquidation circuits.

mod common;

use ark_bn254::{Bn254, Fr};
use ark_groth16::ProvingKey;
use common::{arkworks_keys, prove_and_verify, ptau, ptau12, Toy};
use zkmargin_ceremony::{initial_parameters, CircuitShape};
use zkmargin_circuits::{
    r1cs::{LiquidationCircuit, MarginCircuit},
    Status,
};

/// Field by field, so a failure names the query that differs.
fn assert_same_keys(ours: &ProvingKey<Bn254>, theirs: &ProvingKey<Bn254>) {
    assert_eq!(ours.vk.alpha_g1, theirs.vk.alpha_g1, "alpha_g1");
    assert_eq!(ours.vk.beta_g2, theirs.vk.beta_g2, "beta_g2");
    assert_eq!(ours.vk.gamma_g2, theirs.vk.gamma_g2, "gamma_g2");
    assert_eq!(ours.vk.delta_g2, theirs.vk.delta_g2, "delta_g2");
    assert_eq!(ours.vk.gamma_abc_g1, theirs.vk.gamma_abc_g1, "gamma_abc_g1");
    assert_eq!(ours.beta_g1, theirs.beta_g1, "beta_g1");
    assert_eq!(ours.delta_g1, theirs.delta_g1, "delta_g1");
    assert_eq!(ours.a_query, theirs.a_query, "a_query");
    assert_eq!(ours.b_g1_query, theirs.b_g1_query, "b_g1_query");
    assert_eq!(ours.b_g2_query, theirs.b_g2_query, "b_g2_query");
    assert_eq!(ours.h_query, theirs.h_query, "h_query");
    assert_eq!(ours.l_query, theirs.l_query, "l_query");
    assert!(ours == theirs);
}

#[test]
fn toy_circuit_keys_equal_arkworks_from_prepared_and_unprepared_ptau() {
    let shape = CircuitShape::synthesize(Toy::setup()).unwrap();
    assert_eq!(shape.num_instance_variables, 3);
    assert_eq!(shape.log_domain, 10, "{shape:?}");
    let theirs = arkworks_keys(Toy::setup());
    for prepared in [true, false] {
        let p = ptau(10, prepared);
        assert_eq!(p.ptau().is_prepared(), prepared);
        let ours = initial_parameters(&shape, &p).unwrap();
        assert_same_keys(&ours, &theirs);
    }
    // And arkworks' prover and verifier accept the keys.
    let (circuit, inputs) = Toy::with(12345, 678);
    let ours = initial_parameters(&shape, &ptau(10, false)).unwrap();
    assert!(prove_and_verify(&ours, circuit, &inputs));
    let (circuit, mut inputs) = Toy::with(12345, 678);
    inputs[1] += Fr::from(1u64);
    assert!(
        !prove_and_verify(&ours, circuit, &inputs),
        "a wrong input must not verify"
    );
}

#[test]
fn prepared_sections_equal_the_fft_over_group_elements() {
    let p = ptau12();
    for k in [0, 1, 5, 11, 12] {
        assert_eq!(
            p.lagrange_basis(k).unwrap(),
            p.lagrange_basis_by_fft(k).unwrap(),
            "level {k}"
        );
    }
}

#[test]
fn margin_circuit_keys_equal_arkworks_and_prove() {
    let shape = CircuitShape::synthesize(MarginCircuit::for_setup()).unwrap();
    assert_eq!(shape.log_domain, 11, "{shape:?}");
    let ours = initial_parameters(&shape, ptau12()).unwrap();
    assert_same_keys(&ours, &arkworks_keys(MarginCircuit::for_setup()));
    let (circuit, inputs) = common::margin_instance(Status::Breaches);
    assert!(prove_and_verify(&ours, circuit, &inputs));
}

#[test]
fn liquidation_circuit_keys_equal_arkworks_and_prove() {
    let shape = CircuitShape::synthesize(LiquidationCircuit::for_setup()).unwrap();
    assert_eq!(shape.log_domain, 12, "{shape:?}");
    let ours = initial_parameters(&shape, ptau12()).unwrap();
    assert_same_keys(&ours, &arkworks_keys(LiquidationCircuit::for_setup()));
    let (circuit, inputs) = common::liquidation_instance();
    assert!(prove_and_verify(&ours, circuit, &inputs));
}

#[test]
fn a_ptau_too_small_for_the_circuit_is_refused() {
    let shape = CircuitShape::synthesize(Toy::setup()).unwrap();
    let small = ptau(shape.log_domain - 1, false);
    let err = initial_parameters(&shape, &small).unwrap_err();
    assert_eq!(err.code(), "ptau.too_small", "{err}");
}
