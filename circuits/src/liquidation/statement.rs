//! The liquidation statement and the one place that orders its public inputs.
//!
//! Public inputs are sized for the EVM, where each costs about 6,150 gas (an ecMul and
//! an ecAdd) and off-chain about 90 µs: the four that differ per proof are the two
//! commitments and two packed words; the 45 that every liquidation at one tick shares
//! (prices, weights, rules) are folded once per tick by verifiers and contracts.

use ark_ff::{BigInteger, PrimeField};
use ethnum::U256;
use sha2::{Digest, Sha256};

use super::{LiquidationAction, LiquidationTerms, LIQUIDATION_NUM_PUBLIC_INPUTS};
use crate::{
    Commitment, Fr, MarginPublic, MarginWeights, Prices, RiskParams, MARKETS, PRICE_SCALE, TOKENS,
};

/// The liquidation rules the circuit takes as public inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiquidationRules {
    /// Close factor, ppm.
    pub close_factor_ppm: u32,
    /// Dust notional, quote atomic units.
    pub dust_notional: u64,
    /// Deep-breach health ratio, ppm.
    pub deep_breach_ratio_ppm: u32,
    /// Penalty on the execution value, ppm.
    pub penalty_ppm: u32,
    /// Target buffer τ_target, ppm (≥ 1e6).
    pub target_ppm: u32,
}

impl From<&RiskParams> for LiquidationRules {
    fn from(p: &RiskParams) -> Self {
        Self {
            close_factor_ppm: p.liquidation.close_factor_ppm,
            dust_notional: p.liquidation.dust_notional,
            deep_breach_ratio_ppm: p.liquidation.deep_breach_ratio_ppm,
            penalty_ppm: p.liquidation.penalty_ppm,
            target_ppm: p.liquidation.liquidation_target_ppm,
        }
    }
}

/// The liquidation statement: "the account inside `old_commitment` breaches at `prices`
/// under the published parameters, and `new_commitment` holds exactly that account
/// after `action` with `terms`, nonce + 1 and a fresh blinding; the action is legal
/// (direction, close factor, the smallest amount that restores the target buffer or
/// else the largest allowed, progress) and `deficit` is what is left unpaid."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiquidationPublic {
    /// Commitment of the breaching state.
    pub old_commitment: Commitment,
    /// Commitment of the state after the liquidation.
    pub new_commitment: Commitment,
    /// The venue's id of the liquidator the fee is owed to (bound by the proof).
    pub liquidator: u64,
    /// The action.
    pub action: LiquidationAction,
    /// Its public terms (the circuit enforces value and penalty).
    pub terms: LiquidationTerms,
    /// Quote units the account cannot pay after everything is closed (0 otherwise).
    pub deficit: u64,
    /// Oracle prices per slot.
    pub prices: Prices,
    /// Risk weights per slot.
    pub weights: MarginWeights,
    /// Close factor, dust, deep-breach, penalty and target buffer.
    pub rules: LiquidationRules,
}

/// A field of a packed public-input word: its first bit and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Bit offset, least significant first.
    pub offset: u32,
    /// Width in bits.
    pub bits: u32,
}

impl Field {
    const fn after(prev: Field, bits: u32) -> Field {
        Field {
            offset: prev.offset + prev.bits,
            bits,
        }
    }
}

/// Bit layout of the action word (public input [`LiquidationPublic::ACTION_WORD`]).
/// Every field but the last is range-checked by the circuit's decomposition of the
/// word, which makes the packing injective; the last (the liquidator) is what is left.
pub mod action_word {
    use super::Field;

    /// 1 when the acted balance is negative and grows toward zero (short close, repay).
    pub const BUYS: Field = Field { offset: 0, bits: 1 };
    /// The acted slot, 0..16 (tokens, then markets).
    pub const SLOT: Field = Field::after(BUYS, 4);
    /// The amount Δ.
    pub const AMOUNT: Field = Field::after(SLOT, 64);
    /// The liquidator id (the top field).
    pub const LIQUIDATOR: Field = Field::after(AMOUNT, 64);
}

/// Bit layout of the money word (public input [`LiquidationPublic::MONEY_WORD`]).
pub mod money_word {
    use super::Field;

    /// The execution value V.
    pub const VALUE: Field = Field {
        offset: 0,
        bits: 62,
    };
    /// The penalty P.
    pub const PENALTY: Field = Field::after(VALUE, 62);
    /// The deficit (the top field).
    pub const DEFICIT: Field = Field::after(PENALTY, 64);
}

const _: () = assert!(action_word::LIQUIDATOR.offset + action_word::LIQUIDATOR.bits < 253);
const _: () = assert!(money_word::DEFICIT.offset + money_word::DEFICIT.bits < 253);
const _: () = assert!(money_word::VALUE.bits == super::terms::VALUE_BITS);

impl LiquidationPublic {
    /// Inputs that differ per proof: the two commitments and the two words.
    pub const PER_PROOF_INPUTS: usize = 4;
    /// Inputs shared by every liquidation at one tick: the margin statement's shared
    /// inputs (16 prices, 24 weights), then the five rules.
    pub const SHARED_INPUTS: usize = MarginPublic::SHARED_INPUTS + 5;

    /// Index of the old commitment.
    pub const OLD_COMMITMENT: usize = 0;
    /// Index of the new commitment.
    pub const NEW_COMMITMENT: usize = 1;
    /// Index of the action word ([`action_word`]).
    pub const ACTION_WORD: usize = 2;
    /// Index of the money word ([`money_word`]).
    pub const MONEY_WORD: usize = 3;
    /// First index of the prices (the shared inputs start here).
    pub const PRICES: usize = Self::PER_PROOF_INPUTS;
    /// First index of the weights.
    pub const WEIGHTS: usize = Self::PRICES + TOKENS + MARKETS;
    /// Index of the close factor.
    pub const CLOSE_FACTOR: usize = Self::PER_PROOF_INPUTS + MarginPublic::SHARED_INPUTS;
    /// Index of the dust notional (price units).
    pub const DUST: usize = Self::CLOSE_FACTOR + 1;
    /// Index of the deep-breach ratio.
    pub const DEEP_RATIO: usize = Self::DUST + 1;
    /// Index of the penalty.
    pub const PENALTY: usize = Self::DEEP_RATIO + 1;
    /// Index of the target buffer τ_target.
    pub const TARGET: usize = Self::PENALTY + 1;
}

// The named indices tile the input vector exactly.
const _: () = assert!(LiquidationPublic::MONEY_WORD + 1 == LiquidationPublic::PER_PROOF_INPUTS);
const _: () = assert!(LiquidationPublic::TARGET + 1 == LIQUIDATION_NUM_PUBLIC_INPUTS);

/// `value` placed at `field` (the caller keeps it below `2^field.bits`).
fn put(field: Field, value: u64) -> U256 {
    U256::from(value) << field.offset
}

fn fr_of(x: U256) -> Fr {
    Fr::from_be_bytes_mod_order(&x.to_be_bytes())
}

impl LiquidationPublic {
    /// The action word: the direction, the slot, Δ and the liquidator, packed as
    /// [`action_word`] lays them out.
    pub fn action_word(&self) -> Fr {
        use action_word::*;
        let a = &self.action;
        fr_of(
            put(BUYS, u64::from(a.buys()))
                | put(SLOT, a.slot() as u64)
                | put(AMOUNT, a.amount())
                | put(LIQUIDATOR, self.liquidator),
        )
    }

    /// The money word: V, P and the deficit, packed as [`money_word`] lays them out.
    pub fn money_word(&self) -> Fr {
        use money_word::*;
        fr_of(
            put(VALUE, self.terms.execution_value)
                | put(PENALTY, self.terms.penalty)
                | put(DEFICIT, self.deficit),
        )
    }

    /// The public inputs in circuit order (`docs/STATEMENT.md`, "Liquidation statement"):
    ///
    /// | index | input | width |
    /// |---|---|---|
    /// | 0, 1 | old, new commitment | field |
    /// | 2 | action word: buys, slot, Δ, liquidator | 1 + 4 + 64 + 64 bits |
    /// | 3 | money word: V, P, deficit | 62 + 62 + 64 bits |
    /// | 4..20 | prices | 64 bits |
    /// | 20..44 | weights (asset, liability, maintenance) | 32 bits |
    /// | 44 | close factor, ppm | 32 bits |
    /// | 45 | dust notional × 10^9 (price units) | 94 bits |
    /// | 46 | deep-breach ratio, ppm | 32 bits |
    /// | 47 | penalty, ppm | 32 bits |
    /// | 48 | target buffer τ_target, ppm | 32 bits |
    pub fn to_field_elements(&self) -> [Fr; LIQUIDATION_NUM_PUBLIC_INPUTS] {
        let mut out = [Fr::from(0u64); LIQUIDATION_NUM_PUBLIC_INPUTS];
        out[Self::OLD_COMMITMENT] = self.old_commitment.0;
        out[Self::NEW_COMMITMENT] = self.new_commitment.0;
        out[Self::ACTION_WORD] = self.action_word();
        out[Self::MONEY_WORD] = self.money_word();
        out[Self::PER_PROOF_INPUTS..].copy_from_slice(&Self::shared_field_elements(
            &self.prices,
            &self.weights,
            &self.rules,
        ));
        out
    }

    /// The shared inputs (4..49): prices, weights, then the rules.
    pub fn shared_field_elements(
        prices: &Prices,
        weights: &MarginWeights,
        rules: &LiquidationRules,
    ) -> [Fr; Self::SHARED_INPUTS] {
        let LiquidationRules {
            close_factor_ppm,
            dust_notional,
            deep_breach_ratio_ppm,
            penalty_ppm,
            target_ppm,
        } = rules;
        let mut out = [Fr::from(0u64); Self::SHARED_INPUTS];
        let margin = MarginPublic::shared_field_elements(prices, weights);
        out[..margin.len()].copy_from_slice(&margin);
        let rules = [
            Fr::from(*close_factor_ppm),
            Fr::from(u128::from(*dust_notional) * u128::from(PRICE_SCALE)),
            Fr::from(*deep_breach_ratio_ppm),
            Fr::from(*penalty_ppm),
            Fr::from(*target_ppm),
        ];
        out[margin.len()..].copy_from_slice(&rules);
        out
    }

    /// SHA-256 of the statement: the tag `zkmargin/liquidation-statement/v2` and the 49
    /// public inputs as 32-byte big-endian field elements. Settlement keys replays on
    /// it — never on proof bytes, which Groth16 lets anyone re-randomize.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let tag: &[u8] = b"zkmargin/liquidation-statement/v2";
        h.update([tag.len() as u8]);
        h.update(tag);
        for x in self.to_field_elements() {
            h.update(x.into_bigint().to_bytes_be());
        }
        h.finalize().into()
    }
}
