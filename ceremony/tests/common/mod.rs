//! Shared test fixtures: a small circuit with varied coefficients, the real circuits
//! with witnesses, and locally generated ptau files.
#![allow(dead_code)]

use std::sync::OnceLock;

use ark_bn254::{Bn254, Fr};
use ark_ec::AffineRepr;
use ark_groth16::{Groth16, ProvingKey};
use ark_r1cs_std::{
    alloc::AllocVar, convert::ToBitsGadget, eq::EqGadget, fields::fp::FpVar, fields::FieldVar,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_snark::SNARK;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_ceremony::{CheckedPtau, LocalSecrets, Ptau};
use zkmargin_circuits::{
    apply_liquidation, legal_liquidations,
    r1cs::{LiquidationCircuit, LiquidationPrivate, MarginCircuit, MarginPrivate},
    state_after, Account, Blinding, Commitment, LiquidationPublic, LiquidationRules, MarginPublic,
    Prices, RiskParams, Status, MARKETS, PPM, TOKENS,
};

/// A small circuit whose matrices have ±1, small, negative and full-width coefficients,
/// a bit decomposition (powers of two), and two instance inputs: `x = a·b` and
/// `y = a + b³ − 5·a·b + k` with a full-width constant `k`.
#[derive(Clone)]
pub struct Toy {
    pub a: Option<Fr>,
    pub b: Option<Fr>,
}

pub fn toy_k() -> Fr {
    Fr::from(0x1234_5678_9abc_def0u64) * Fr::from(u64::MAX) * Fr::from(u64::MAX) * Fr::from(3u64)
}

impl Toy {
    pub fn setup() -> Self {
        Self { a: None, b: None }
    }

    pub fn with(a: u64, b: u64) -> (Self, Vec<Fr>) {
        let (a, b) = (Fr::from(a), Fr::from(b));
        let x = a * b;
        let y = a + b * b * b - Fr::from(5u64) * x + toy_k();
        (
            Self {
                a: Some(a),
                b: Some(b),
            },
            vec![x, y],
        )
    }
}

impl ConstraintSynthesizer<Fr> for Toy {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let value = |v: Option<Fr>| v.ok_or(SynthesisError::AssignmentMissing);
        let (a_v, b_v) = (self.a, self.b);
        let x = FpVar::new_input(cs.clone(), || Ok(value(a_v)? * value(b_v)?))?;
        let y = FpVar::new_input(cs.clone(), || {
            let (a, b) = (value(a_v)?, value(b_v)?);
            Ok(a + b * b * b - Fr::from(5u64) * a * b + toy_k())
        })?;
        let a = FpVar::new_witness(cs.clone(), || value(a_v))?;
        let b = FpVar::new_witness(cs.clone(), || value(b_v))?;
        let ab = &a * &b;
        ab.enforce_equal(&x)?;
        let b3 = &b * &b * &b;
        let rhs = &a + &b3 - ab * Fr::from(5u64) + FpVar::constant(toy_k());
        rhs.enforce_equal(&y)?;
        // A 64-bit range check of a: constraints with power-of-two coefficients.
        let bits = a.to_bits_le()?;
        for bit in &bits[64..] {
            bit.enforce_equal(&ark_r1cs_std::boolean::Boolean::FALSE)?;
        }
        Ok(())
    }
}

/// The secrets of the test ptau files.
pub const SEED: u64 = 20_261_203;

pub fn secrets() -> LocalSecrets {
    LocalSecrets::from_seed(SEED)
}

/// A generated ptau of `power`, written and read back through the snarkjs format, checked.
pub fn ptau(power: u32, prepared: bool) -> CheckedPtau {
    let generated = Ptau::generate(power, &secrets(), prepared).expect("generate");
    let bytes = generated.to_bytes().expect("encode");
    let read = Ptau::from_bytes(&bytes, None).expect("read back");
    assert_eq!(read.hashes(), generated.hashes());
    read.check().expect("a generated ptau passes its checks")
}

/// The power-12 prepared ptau, generated once per test binary.
pub fn ptau12() -> &'static CheckedPtau {
    static P: OnceLock<CheckedPtau> = OnceLock::new();
    P.get_or_init(|| ptau(12, true))
}

/// The keys arkworks' own generator makes with the ptau's τ, α, β and γ = δ = 1.
///
/// `generate_parameters_with_qap` draws only `t` (τ) from the RNG, as
/// `sample_element_outside_domain`, i.e. the first `Fr::rand`; `LocalSecrets::from_seed`
/// draws τ first from the same RNG, so the two agree on τ.
pub fn arkworks_keys<C: ConstraintSynthesizer<Fr>>(circuit: C) -> ProvingKey<Bn254> {
    let s = secrets();
    let mut rng = ChaCha20Rng::seed_from_u64(SEED);
    Groth16::<Bn254>::generate_parameters_with_qap(
        circuit,
        s.alpha,
        s.beta,
        Fr::from(1u64),
        Fr::from(1u64),
        ark_bn254::G1Affine::generator().into(),
        ark_bn254::G2Affine::generator().into(),
        &mut rng,
    )
    .expect("arkworks setup")
}

const USD: i64 = 1_000_000; // quote atomic units (1e-6 USD)
const BTC: i64 = 100_000_000; // satoshi

/// Development prices (as in `circuits/tests/liquidation.rs`): USD per whole unit →
/// price units (10^-9 quote atomic units per asset atomic unit) of the development
/// parameters' slots (tokens ETH, BTC, SOL, USDC; markets BTC, ETH, SOL, DOGE).
fn prices(eth: u64, btc: u64, sol: u64, doge_cents: u64) -> Prices {
    let per =
        |usd_micro: u128, decimals: u32| (usd_micro * 1_000_000_000 / 10u128.pow(decimals)) as u64;
    let mut p = Prices::default();
    p.tokens[0] = per(u128::from(eth) * 1_000_000, 9);
    p.tokens[1] = per(u128::from(btc) * 1_000_000, 8);
    p.tokens[2] = per(u128::from(sol) * 1_000_000, 9);
    p.tokens[3] = per(1_000_000, 6);
    p.markets[0] = p.tokens[1];
    p.markets[1] = p.tokens[0];
    p.markets[2] = p.tokens[2];
    p.markets[3] = per(u128::from(doge_cents) * 10_000, 6);
    p
}

/// A 1 BTC perpetual long bought with 54,500 USD of borrowed quote: it breaches below
/// a BTC price of about 56,186 USD (maintenance 3 %).
fn btc_long(id: u64) -> Account {
    let mut positions = [0; MARKETS];
    positions[0] = BTC;
    Account {
        id,
        nonce: 4,
        tokens: [0; TOKENS],
        quote: -54_500 * USD,
        positions,
        blinding: Blinding(Fr::from(1_234u64 + id)),
    }
}

/// A margin circuit with a real witness and its public inputs: the BTC long at a BTC
/// price of 57,000 USD (health +790 USD: meets) or 56,150 USD (−34.5 USD: breaches),
/// τ = 1, under the development parameters.
pub fn margin_instance(status: Status) -> (MarginCircuit, Vec<Fr>) {
    let weights = RiskParams::development().weights();
    let btc = match status {
        Status::Meets => 57_000,
        Status::Breaches => 56_150,
    };
    let prices = prices(3_000, btc, 150, 10);
    let account = btc_long(1);
    let public = MarginPublic {
        commitment: Commitment::of(&account),
        status: account.status(&weights, &prices, PPM as u32),
        tau_ppm: PPM as u32,
        prices,
        weights,
    };
    assert_eq!(
        public.status, status,
        "the fixture account is on the intended side"
    );
    let inputs = public.to_field_elements().to_vec();
    (
        MarginCircuit {
            public,
            private: Some(MarginPrivate { account }),
        },
        inputs,
    )
}

/// A liquidation circuit with a real witness and its public inputs: the breaching BTC
/// long (BTC at 56,150 USD) partly closed by the first legal liquidation that restores
/// its health, as `zkmargin_circuits::legal_liquidations` computes it (the statement's
/// own rules; no prover policy needed).
pub fn liquidation_instance() -> (LiquidationCircuit, Vec<Fr>) {
    let params = RiskParams::development();
    let prices = prices(3_000, 56_150, 150, 10);
    let old = btc_long(2);
    let chosen = legal_liquidations(&old, &params, &prices)
        .expect("the account breaches")
        .into_iter()
        .flatten()
        .find(|l| l.restores_target)
        .expect("a legal liquidation restores health");
    let new_blinding = Blinding(Fr::from(98_765u64));
    let (mut new, deficit) = state_after(&old, &chosen.action, &chosen.terms).expect("applies");
    new.nonce = old.nonce + 1;
    new.blinding = new_blinding;
    let public = LiquidationPublic {
        old_commitment: Commitment::of(&old),
        new_commitment: Commitment::of(&new),
        liquidator: 9,
        action: chosen.action,
        terms: chosen.terms,
        deficit,
        prices,
        weights: params.weights(),
        rules: LiquidationRules::from(&params),
    };
    // The native twin accepts it: the circuit is satisfiable with this witness.
    let accepted = apply_liquidation(&old, &public, new_blinding).expect("a legal liquidation");
    assert_eq!(Commitment::of(&accepted), public.new_commitment);
    let inputs = public.to_field_elements().to_vec();
    (
        LiquidationCircuit {
            public,
            private: Some(LiquidationPrivate { old, new_blinding }),
        },
        inputs,
    )
}

/// Proves `circuit` with `pk` and verifies with arkworks' stock verifier.
pub fn prove_and_verify<C: ConstraintSynthesizer<Fr>>(
    pk: &ProvingKey<Bn254>,
    circuit: C,
    inputs: &[Fr],
) -> bool {
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let proof = Groth16::<Bn254>::prove(pk, circuit, &mut rng).expect("prove");
    Groth16::<Bn254>::verify(&pk.vk, inputs, &proof).expect("verify")
}
