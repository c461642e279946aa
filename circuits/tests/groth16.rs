//! Full Groth16 flow on the margin circuit: setup → prove → verify, both statuses, and
//! rejection of every single altered public input.

mod common;

use ark_bn254::Bn254;
use ark_groth16::{prepare_verifying_key, Groth16, PreparedVerifyingKey, ProvingKey};
use ark_std::rand::SeedableRng;
use common::{sample_case, Case};
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{r1cs::MarginCircuit, Fr, MarginPublic, Status, MARGIN_NUM_PUBLIC_INPUTS};

fn keys() -> (ProvingKey<Bn254>, PreparedVerifyingKey<Bn254>) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(
        MarginCircuit::for_setup(),
        &mut rng,
    )
    .unwrap();
    let pvk = prepare_verifying_key(&pk.vk);
    (pk, pvk)
}

fn prove(pk: &ProvingKey<Bn254>, case: &Case) -> ark_groth16::Proof<Bn254> {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    Groth16::<Bn254>::create_random_proof_with_reduction(case.circuit(), pk, &mut rng).unwrap()
}

fn verify(
    pvk: &PreparedVerifyingKey<Bn254>,
    proof: &ark_groth16::Proof<Bn254>,
    public: &MarginPublic,
) -> bool {
    Groth16::<Bn254>::verify_proof(pvk, proof, &public.to_field_elements()).unwrap()
}

#[test]
fn setup_prove_verify_both_statuses_and_every_input_binds() {
    let (pk, pvk) = keys();
    assert_eq!(pk.vk.gamma_abc_g1.len(), 1 + MARGIN_NUM_PUBLIC_INPUTS);

    let meets = sample_case();
    let mut breaches = sample_case();
    breaches.account.quote = -10_000_000_000_000;
    assert_eq!(meets.status(), Status::Meets);
    assert_eq!(breaches.status(), Status::Breaches);

    for case in [&meets, &breaches] {
        let proof = prove(&pk, case);
        let public = case.public();
        assert!(
            verify(&pvk, &proof, &public),
            "honest {:?} proof verifies",
            case.status()
        );

        // Every single public input, altered, makes verification fail.
        let inputs = public.to_field_elements();
        for k in 0..MARGIN_NUM_PUBLIC_INPUTS {
            let mut altered = inputs;
            altered[k] += Fr::from(1u64);
            assert!(
                !Groth16::<Bn254>::verify_proof(&pvk, &proof, &altered).unwrap(),
                "altered input {k} must not verify"
            );
        }
    }
}

#[test]
fn proof_made_with_other_prices_or_params_or_tau_does_not_verify() {
    let (pk, pvk) = keys();
    let honest = sample_case();
    let public = honest.public();

    // price_not_signed: proven at a price the oracle did not sign (same status).
    let mut other = honest.clone();
    other.prices.markets[0] += 1;
    assert_eq!(other.status(), honest.status());
    assert!(!verify(&pvk, &prove(&pk, &other), &public));

    // risk_params_mismatch: proven under a lower maintenance fraction than published.
    let mut other = honest.clone();
    other.weights.maintenance_ppm[1] -= 1;
    assert!(!verify(&pvk, &prove(&pk, &other), &public));

    // tau_altered: proven at a lower τ than claimed.
    let mut other = honest.clone();
    other.tau_ppm -= 1;
    assert!(!verify(&pvk, &prove(&pk, &other), &public));
}

#[test]
fn false_statement_yields_no_valid_proof() {
    // A prover who ignores the constraints still gets a "proof"; it must not verify.
    let (pk, pvk) = keys();
    let case = sample_case();
    let mut lie = case.circuit();
    lie.public.status = Status::Breaches;
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let proof =
        Groth16::<Bn254>::create_random_proof_with_reduction(lie.clone(), &pk, &mut rng).unwrap();
    assert!(!verify(&pvk, &proof, &lie.public));
}
