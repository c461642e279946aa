//! The liquidation statement and the one place that orders its public inputs.

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
}

impl From<&RiskParams> for LiquidationRules {
    fn from(p: &RiskParams) -> Self {
        Self {
            close_factor_ppm: p.liquidation.close_factor_ppm,
            dust_notional: p.liquidation.dust_notional,
            deep_breach_ratio_ppm: p.liquidation.deep_breach_ratio_ppm,
        }
    }
}

/// The liquidation statement: "the account inside `old_commitment` breaches at `prices`
/// under the published parameters, and `new_commitment` holds exactly that account
/// after `action` with `terms`, nonce + 1 and a fresh blinding; the action is legal
/// (close factor, minimality, ratio improvement) and `deficit` is what is left unpaid."
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
    /// Its public terms.
    pub terms: LiquidationTerms,
    /// Quote units the account cannot pay after everything is closed (0 otherwise).
    pub deficit: u64,
    /// Oracle prices per slot.
    pub prices: Prices,
    /// Risk weights per slot.
    pub weights: MarginWeights,
    /// Close factor, dust and deep-breach thresholds.
    pub rules: LiquidationRules,
}

impl LiquidationPublic {
    /// Inputs that differ per proof (0..28).
    pub const PER_PROOF_INPUTS: usize = 12 + TOKENS + MARKETS;
    /// Inputs shared by every liquidation at one tick (28..71): the margin statement's
    /// shared inputs (prices, weights), then the three rules.
    pub const SHARED_INPUTS: usize = MarginPublic::SHARED_INPUTS + 3;

    /// Index of the old commitment.
    pub const OLD_COMMITMENT: usize = 0;
    /// Index of the new commitment.
    pub const NEW_COMMITMENT: usize = 1;
    /// Index of the liquidator id.
    pub const LIQUIDATOR: usize = 2;
    /// Index of the amount Δ.
    pub const AMOUNT: usize = 3;
    /// First index of the 16 selectors (tokens, then markets).
    pub const SELECTORS: usize = 4;
    /// Index of the quote delta.
    pub const QUOTE_DELTA: usize = Self::SELECTORS + TOKENS + MARKETS;
    /// Index of the deficit.
    pub const DEFICIT: usize = Self::QUOTE_DELTA + 1;
    /// Index of the deficit flag.
    pub const HAS_DEFICIT: usize = Self::DEFICIT + 1;
    /// Index of the equity delta.
    pub const EQUITY_DELTA: usize = Self::HAS_DEFICIT + 1;
    /// Index of the requirement delta.
    pub const REQUIREMENT_DELTA: usize = Self::EQUITY_DELTA + 1;
    /// Index of the health gain G(Δ).
    pub const HEALTH_GAIN: usize = Self::REQUIREMENT_DELTA + 1;
    /// Index of the health gain G(Δ − 1).
    pub const PREV_HEALTH_GAIN: usize = Self::HEALTH_GAIN + 1;
    /// Index of the "action is a close" flag.
    pub const IS_CLOSE: usize = Self::PREV_HEALTH_GAIN + 1;
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
}

// The named indices tile the input vector exactly.
const _: () = assert!(LiquidationPublic::IS_CLOSE + 1 == LiquidationPublic::PER_PROOF_INPUTS);
const _: () = assert!(LiquidationPublic::DEEP_RATIO + 1 == LIQUIDATION_NUM_PUBLIC_INPUTS);

impl LiquidationPublic {
    /// The public inputs in circuit order (`docs/STATEMENT.md`, "Liquidation statement"):
    ///
    /// | index | input | width |
    /// |---|---|---|
    /// | 0, 1 | old, new commitment | field |
    /// | 2 | liquidator id | 64 bits |
    /// | 3 | amount Δ | 64 bits |
    /// | 4..20 | selector σ per slot (tokens, markets) | −1, 0, 1 |
    /// | 20 | quote delta | signed 63 bits |
    /// | 21 | deficit | 64 bits |
    /// | 22 | deficit flag | bit |
    /// | 23 | equity delta | signed 125 bits |
    /// | 24 | requirement delta | 106 bits |
    /// | 25 | health gain G(Δ) | signed 126 bits |
    /// | 26 | health gain G(Δ − 1) | signed 126 bits |
    /// | 27 | action is a close | bit |
    /// | 28..44 | prices | 64 bits |
    /// | 44..68 | weights | 32 bits |
    /// | 68 | close factor, ppm | 32 bits |
    /// | 69 | dust notional ×10^9 (price units) | 94 bits |
    /// | 70 | deep-breach ratio, ppm | 32 bits |
    pub fn to_field_elements(&self) -> [Fr; LIQUIDATION_NUM_PUBLIC_INPUTS] {
        let Self {
            old_commitment,
            new_commitment,
            liquidator,
            action,
            terms,
            deficit,
            prices,
            weights,
            rules,
        } = self;
        let LiquidationRules {
            close_factor_ppm,
            dust_notional,
            deep_breach_ratio_ppm,
        } = rules;
        let mut out = Vec::with_capacity(LIQUIDATION_NUM_PUBLIC_INPUTS);
        out.push(old_commitment.0);
        out.push(new_commitment.0);
        out.push(Fr::from(*liquidator));
        out.push(Fr::from(action.amount()));
        out.extend(action.selector().iter().map(|s| fr_i128(i128::from(*s))));
        out.push(fr_i128(i128::from(terms.quote_delta)));
        out.push(Fr::from(*deficit));
        out.push(Fr::from(*deficit > 0));
        out.push(crate::fr_from_i256(terms.equity_delta));
        out.push(crate::fr_from_i256(terms.requirement_delta));
        out.push(crate::fr_from_i256(terms.health_gain));
        out.push(crate::fr_from_i256(terms.prev_health_gain));
        out.push(Fr::from(matches!(action, LiquidationAction::Close { .. })));
        out.extend(MarginPublic::shared_field_elements(prices, weights));
        out.push(Fr::from(*close_factor_ppm));
        out.push(Fr::from(
            u128::from(*dust_notional) * u128::from(PRICE_SCALE),
        ));
        out.push(Fr::from(*deep_breach_ratio_ppm));
        out.try_into()
            .expect("the table above has LIQUIDATION_NUM_PUBLIC_INPUTS rows")
    }
}

impl LiquidationPublic {
    /// SHA-256 of the statement: the tag `zkmargin/liquidation-statement/v1` and the 71
    /// public inputs as 32-byte big-endian field elements. Settlement keys replays on
    /// it — never on proof bytes, which Groth16 lets anyone re-randomize.
    pub fn digest(&self) -> [u8; 32] {
        use ark_ff::{BigInteger, PrimeField};
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let tag: &[u8] = b"zkmargin/liquidation-statement/v1";
        h.update([tag.len() as u8]);
        h.update(tag);
        for x in self.to_field_elements() {
            h.update(x.into_bigint().to_bytes_be());
        }
        h.finalize().into()
    }
}

fn fr_i128(x: i128) -> Fr {
    let m = Fr::from(x.unsigned_abs());
    if x < 0 {
        -m
    } else {
        m
    }
}
