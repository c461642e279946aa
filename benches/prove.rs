//! Proving: constraint synthesis and Groth16 prove for the margin circuit (K = 8,
//! M = 8) and the liquidation circuit; arkworks' stock verify for reference.

use ark_bn254::Bn254;
use ark_groth16::{prepare_verifying_key, Groth16};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use ark_std::rand::SeedableRng;
use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::{
    r1cs::{LiquidationCircuit, LiquidationPrivate, MarginCircuit, MarginPrivate},
    state_after, Account, Blinding, Commitment, Fr, LiquidationPublic, LiquidationRules,
    MarginPublic, MarginWeights, Prices, RiskParams, MARKETS, TOKENS,
};
use zkmargin_prover::choose_liquidation;

fn circuit() -> MarginCircuit {
    let account = Account {
        id: 42,
        nonce: 7,
        tokens: [10_000, -2_000, 3_000, 0, 500, -100, 7, 1],
        quote: 1_000_000,
        positions: [5, -3, 0, 2, -1, 1, 0, 4],
        blinding: Blinding(Fr::from(123_456_789u64)),
    };
    let prices = Prices {
        tokens: [3_000_000_000; TOKENS],
        markets: [570_000_000_000; MARKETS],
    };
    let weights = MarginWeights {
        asset_weight_ppm: [830_000; TOKENS],
        liability_weight_ppm: [1_200_000; TOKENS],
        maintenance_ppm: [30_000; MARKETS],
    };
    let status = account.status(&weights, &prices, 1_000_000);
    MarginCircuit {
        public: MarginPublic {
            commitment: Commitment::of(&account),
            status,
            tau_ppm: 1_000_000,
            prices,
            weights,
        },
        private: Some(MarginPrivate { account }),
    }
}

/// 1 BTC long against 54,500 USD of quote debt at BTC 56,150: a partial close.
fn liquidation_circuit() -> LiquidationCircuit {
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
    LiquidationCircuit {
        public: LiquidationPublic {
            old_commitment: Commitment::of(&old),
            new_commitment: Commitment::of(&new),
            liquidator: 5,
            action: chosen.action,
            terms: chosen.terms,
            deficit,
            prices,
            weights: params.weights(),
            rules: LiquidationRules::from(&params),
        },
        private: Some(LiquidationPrivate {
            old,
            new_blinding: new.blinding,
        }),
    }
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(
        MarginCircuit::for_setup(),
        &mut rng,
    )
    .unwrap();
    let pvk = prepare_verifying_key(&pk.vk);
    let circuit = circuit();
    let inputs = circuit.public.to_field_elements();
    let proof =
        Groth16::<Bn254>::create_random_proof_with_reduction(circuit.clone(), &pk, &mut rng)
            .unwrap();

    let mut g = c.benchmark_group("margin");
    g.bench_function("synthesize", |b| {
        b.iter(|| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            circuit.clone().generate_constraints(cs.clone()).unwrap();
            cs.finalize();
        })
    });
    g.bench_function("prove", |b| {
        b.iter(|| {
            Groth16::<Bn254>::create_random_proof_with_reduction(circuit.clone(), &pk, &mut rng)
                .unwrap()
        })
    });
    g.bench_function("verify_arkworks", |b| {
        b.iter(|| assert!(Groth16::<Bn254>::verify_proof(&pvk, &proof, &inputs).unwrap()))
    });
    g.finish();

    let lpk = Groth16::<Bn254>::generate_random_parameters_with_reduction(
        LiquidationCircuit::for_setup(),
        &mut rng,
    )
    .unwrap();
    let liquidation = liquidation_circuit();
    let mut g = c.benchmark_group("liquidation");
    g.bench_function("synthesize", |b| {
        b.iter(|| {
            let cs = ConstraintSystem::<Fr>::new_ref();
            liquidation
                .clone()
                .generate_constraints(cs.clone())
                .unwrap();
            cs.finalize();
        })
    });
    g.bench_function("prove", |b| {
        b.iter(|| {
            Groth16::<Bn254>::create_random_proof_with_reduction(
                liquidation.clone(),
                &lpk,
                &mut rng,
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
