//! Full Groth16 flow on the margin circuit: setup → prove → verify, both statuses, and
//! rejection of every single altered public input.

mod common;

use ark_bn254::Bn254;
use ark_groth16::{prepare_verifying_key, Groth16, PreparedVerifyingKey, ProvingKey};
use ark_std::rand::SeedableRng;
use common::{sample_case, Case};
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{r1cs::MarginCircuit, Fr, MarginPublic, Status, MARGIN_NUM_PUBLIC_INPUTS};
use zkmargin_prover::choose_liquidation;

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

mod liquidation {
    use super::*;
    use zkmargin_circuits::{
        r1cs::{LiquidationCircuit, LiquidationPrivate},
        state_after, Account, Blinding, Commitment, LiquidationPublic, LiquidationRules, Prices,
        RiskParams, LIQUIDATION_NUM_PUBLIC_INPUTS, MARKETS, TOKENS,
    };

    /// 1 BTC long against 54,500 USD of quote debt at BTC 56,150: a normal breach.
    fn case() -> (LiquidationCircuit, LiquidationPublic) {
        let params = RiskParams::development();
        let mut markets = [0; MARKETS];
        markets[0] = 561_500_000_000;
        let prices = Prices {
            tokens: [
                3_000_000_000,
                561_500_000_000,
                150_000_000,
                1_000_000_000,
                0,
                0,
                0,
                0,
            ],
            markets,
        };
        let mut positions = [0; MARKETS];
        positions[0] = 100_000_000;
        let old = Account {
            id: 3,
            nonce: 0,
            tokens: [0; TOKENS],
            quote: -54_500_000_000,
            positions,
            blinding: Blinding(Fr::from(17u64)),
        };
        let chosen = choose_liquidation(&old, &params, &prices).unwrap();
        let (mut new, deficit) = state_after(&old, &chosen.action, &chosen.terms).unwrap();
        new.nonce += 1;
        new.blinding = Blinding(Fr::from(18u64));
        let public = LiquidationPublic {
            old_commitment: Commitment::of(&old),
            new_commitment: Commitment::of(&new),
            liquidator: 5,
            action: chosen.action,
            terms: chosen.terms,
            deficit,
            prices,
            weights: params.weights(),
            rules: LiquidationRules::from(&params),
        };
        let circuit = LiquidationCircuit {
            public,
            private: Some(LiquidationPrivate {
                old,
                new_blinding: new.blinding,
            }),
        };
        (circuit, public)
    }

    #[test]
    fn setup_prove_verify_and_every_input_binds() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(
            LiquidationCircuit::for_setup(),
            &mut rng,
        )
        .unwrap();
        let pvk = prepare_verifying_key(&pk.vk);
        let (circuit, public) = case();
        let proof =
            Groth16::<Bn254>::create_random_proof_with_reduction(circuit, &pk, &mut rng).unwrap();
        let inputs = public.to_field_elements();
        assert!(Groth16::<Bn254>::verify_proof(&pvk, &proof, &inputs).unwrap());
        // Every input binds, including the liquidator (the top field of the action
        // word), which no constraint uses: the fee cannot be redirected by re-using the
        // proof.
        for k in 0..LIQUIDATION_NUM_PUBLIC_INPUTS {
            let mut altered = inputs;
            altered[k] += Fr::from(1u64);
            assert!(
                !Groth16::<Bn254>::verify_proof(&pvk, &proof, &altered).unwrap(),
                "altered input {k} must not verify"
            );
        }
        let mut other = public;
        other.liquidator += 1;
        assert!(
            !Groth16::<Bn254>::verify_proof(&pvk, &proof, &other.to_field_elements()).unwrap(),
            "another liquidator must not verify"
        );
        let mut other = public;
        other.liquidator += 1;
        assert!(
            !Groth16::<Bn254>::verify_proof(&pvk, &proof, &other.to_field_elements()).unwrap(),
            "another liquidator must not verify"
        );
    }
}
