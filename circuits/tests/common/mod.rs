//! Shared test harness: generators of valid statements and a malicious-prover model.
#![allow(dead_code)]

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef};
use proptest::prelude::*;
use zkmargin_circuits::{
    r1cs::{MarginCircuit, MarginPrivate},
    Account, Blinding, Commitment, Fr, MarginPublic, MarginWeights, Prices, Status, MARKETS, PPM,
    TOKENS,
};

/// A statement with its witness, status computed natively.
#[derive(Clone, Debug)]
pub struct Case {
    pub account: Account,
    pub prices: Prices,
    pub weights: MarginWeights,
    pub tau_ppm: u32,
}

impl Case {
    pub fn status(&self) -> Status {
        self.account
            .status(&self.weights, &self.prices, self.tau_ppm)
    }

    pub fn public(&self) -> MarginPublic {
        MarginPublic {
            commitment: Commitment::of(&self.account),
            status: self.status(),
            tau_ppm: self.tau_ppm,
            prices: self.prices,
            weights: self.weights,
        }
    }

    /// The honest circuit for this case.
    pub fn circuit(&self) -> MarginCircuit {
        MarginCircuit {
            public: self.public(),
            private: Some(MarginPrivate {
                account: self.account.clone(),
            }),
        }
    }
}

/// A synthesized, finalized constraint system whose assignment a test may rewrite:
/// the model of a malicious prover, who controls every witness value.
pub struct Synth {
    pub cs: ConstraintSystemRef<Fr>,
}

impl Synth {
    pub fn new(circuit: impl ConstraintSynthesizer<Fr>) -> Self {
        let cs = ConstraintSystem::<Fr>::new_ref();
        circuit.generate_constraints(cs.clone()).expect("synthesis");
        cs.finalize();
        Self { cs }
    }

    pub fn satisfied(&self) -> bool {
        self.cs.is_satisfied().expect("prove mode")
    }

    pub fn witness(&self, i: usize) -> Fr {
        self.cs.borrow().unwrap().assignments.witness_assignment[i]
    }

    /// Rewrites witness and instance values (instance[0] is the constant 1), then
    /// re-checks every constraint from the rewritten values.
    pub fn satisfied_after(&self, tamper: impl FnOnce(&mut Vec<Fr>, &mut Vec<Fr>)) -> bool {
        {
            let mut cs = self.cs.borrow_mut().unwrap();
            let a = &mut cs.assignments;
            tamper(&mut a.witness_assignment, &mut a.instance_assignment);
            // Cached values of linear combinations would hide the rewrite: drop them so
            // every constraint is evaluated from the (inlined) base variables.
            a.lc_assignment.clear();
        }
        self.satisfied()
    }
}

/// Witness layout of the margin circuit: the account is allocated first.
pub mod layout {
    use super::*;
    pub const ID: usize = 0;
    pub const NONCE: usize = 1;
    pub fn token_bit(i: usize, bit: usize) -> usize {
        2 + 64 * i + bit
    }
    pub fn quote_bit(bit: usize) -> usize {
        2 + 64 * TOKENS + bit
    }
    pub fn position_bit(j: usize, bit: usize) -> usize {
        2 + 64 * (TOKENS + 1 + j) + bit
    }
    pub const BLINDING: usize = 2 + 64 * (TOKENS + 1 + MARKETS);
    /// Instance index of public input `k` (index 0 is the constant one).
    pub fn input(k: usize) -> usize {
        1 + k
    }
}

pub fn weights_strategy() -> impl Strategy<Value = MarginWeights> {
    (
        prop::array::uniform8(0..=PPM as u32),
        prop::array::uniform8(PPM as u32..=3 * PPM as u32),
        prop::array::uniform8(1..=PPM as u32),
    )
        .prop_map(|(a, l, m)| MarginWeights {
            asset_weight_ppm: a,
            liability_weight_ppm: l,
            maintenance_ppm: m,
        })
}

/// Realistic magnitudes: balances within ±2^40, prices in [1, 2^36], τ in [0, 3].
/// Statuses come out mixed.
pub fn case_strategy() -> impl Strategy<Value = Case> {
    let balance = -(1i64 << 40)..(1i64 << 40);
    (
        any::<u64>(),
        any::<u64>(),
        prop::array::uniform8(balance.clone()),
        balance.clone(),
        prop::array::uniform8(balance),
        any::<[u8; 31]>(),
        prop::array::uniform8(1u64..(1 << 36)),
        prop::array::uniform8(1u64..(1 << 36)),
        weights_strategy(),
        0..=3 * PPM as u32,
    )
        .prop_map(
            |(id, nonce, tokens, quote, positions, blind, tp, mp, weights, tau_ppm)| Case {
                account: Account {
                    id,
                    nonce,
                    tokens,
                    quote,
                    positions,
                    blinding: Blinding(<Fr as ark_ff::PrimeField>::from_le_bytes_mod_order(&blind)),
                },
                prices: Prices {
                    tokens: tp,
                    markets: mp,
                },
                weights,
                tau_ppm,
            },
        )
}

/// Any representable value: full i64 balances, full u64 prices, full u32 weights and τ.
pub fn wide_case_strategy() -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<[i64; TOKENS]>(),
        any::<i64>(),
        any::<[i64; MARKETS]>(),
        any::<[u8; 31]>(),
        any::<[u64; TOKENS]>(),
        any::<[u64; MARKETS]>(),
        (
            any::<[u32; TOKENS]>(),
            any::<[u32; TOKENS]>(),
            any::<[u32; MARKETS]>(),
        ),
        any::<u32>(),
    )
        .prop_map(
            |(id, nonce, tokens, quote, positions, blind, tp, mp, (a, l, m), tau_ppm)| Case {
                account: Account {
                    id,
                    nonce,
                    tokens,
                    quote,
                    positions,
                    blinding: Blinding(<Fr as ark_ff::PrimeField>::from_le_bytes_mod_order(&blind)),
                },
                prices: Prices {
                    tokens: tp,
                    markets: mp,
                },
                weights: MarginWeights {
                    asset_weight_ppm: a,
                    liability_weight_ppm: l,
                    maintenance_ppm: m,
                },
                tau_ppm,
            },
        )
}

/// A fixed case with every slot used: some deposits, borrows, longs and shorts.
pub fn sample_case() -> Case {
    let weights = MarginWeights {
        asset_weight_ppm: [830_000; TOKENS],
        liability_weight_ppm: [1_200_000; TOKENS],
        maintenance_ppm: [30_000; MARKETS],
    };
    Case {
        account: Account {
            id: 42,
            nonce: 7,
            tokens: [10_000, -2_000, 3_000, 0, 500, -100, 7, 1],
            quote: 1_000_000,
            positions: [5, -3, 0, 2, -1, 1, 0, 4],
            blinding: Blinding(Fr::from(123_456_789u64)),
        },
        prices: Prices {
            tokens: [3_000_000_000; TOKENS],
            markets: [570_000_000_000; MARKETS],
        },
        weights,
        tau_ppm: PPM as u32,
    }
}
