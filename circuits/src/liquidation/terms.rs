//! The public terms of an action — execution value, penalty, fees — and
//! the per-unit health gain the minimality clause is written in.
//!
//! Rounding always goes against the liquidated account: what it sells is valued down,
//! what it buys or owes is valued up. With `N = Δ·p_a` (price units, 10^-9 quote):
//!
//! | term | definition |
//! |---|---|
//! | execution value V | `floor(N / 10^9)` when the account sells (long close, seize); `ceil(N / 10^9)` when it buys (short close, repay) |
//! | penalty P | `ceil(V·penalty / 10^6)` |
//! | quote delta Q | `V − P` (sells), `−V − P` (buys) |
//! | insurance fee | `floor(P·insurance_share / 10^6)`; the liquidator gets `P − insurance fee` |

use serde::{Deserialize, Serialize};

use super::{LiquidationAction, LiquidationError, LiquidationRules};
use crate::{MarginWeights, Prices, RiskParams, MARKETS, PPM, PRICE_SCALE, TOKENS};

/// `V < 2^VALUE_BITS` and `P < 2^VALUE_BITS` (quote units) for an action the circuit
/// proves: they are 62-bit fields of the packed public input.
pub const VALUE_BITS: u32 = 62;

/// 10^21: quote atomic units → health units (10^-21 quote units).
pub(crate) const QUOTE_SCALE: u128 = (PRICE_SCALE as u128) * (PPM as u128) * (PPM as u128);

/// The public amounts of an action at given prices and parameters, all derived by
/// [`LiquidationTerms::of`]; rounding always goes against the liquidated account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidationTerms {
    /// Quote units the moved position, deposit or repaid borrow is worth at the oracle
    /// price: floor for what the account sells, ceil for what it buys or owes.
    pub execution_value: u64,
    /// `ceil(execution_value · penalty_ppm / 1e6)`, paid by the account from its quote.
    pub penalty: u64,
    /// Change of the quote balance.
    pub quote_delta: i64,
    /// `floor(penalty · insurance_share_ppm / 1e6)`, credited to the insurance fund.
    pub insurance_fee: u64,
    /// `penalty − insurance_fee`, credited to the liquidator.
    pub liquidator_fee: u64,
}

impl LiquidationTerms {
    /// The terms of `action` at `prices` under `params`, after checking that the action
    /// names slots the parameters define.
    ///
    /// # Errors
    /// [`LiquidationError::ZeroAmount`], [`LiquidationError::UnknownSlot`],
    /// [`LiquidationError::TooLarge`].
    pub fn of(
        action: &LiquidationAction,
        prices: &Prices,
        params: &RiskParams,
    ) -> Result<Self, LiquidationError> {
        let token_defined = |slot: usize| {
            (slot < params.tokens.len())
                .then_some(())
                .ok_or(LiquidationError::UnknownSlot {
                    kind: "token",
                    slot,
                })
        };
        match *action {
            LiquidationAction::Close { market, .. } if market >= params.markets.len() => {
                return Err(LiquidationError::UnknownSlot {
                    kind: "market",
                    slot: market,
                })
            }
            LiquidationAction::Seize { token, .. } | LiquidationAction::Repay { token, .. } => {
                token_defined(token)?
            }
            _ => {}
        }
        Self::compute(
            action,
            prices,
            params.liquidation.penalty_ppm,
            params.liquidation.insurance_share_ppm,
        )
    }

    /// The terms from public data alone (the native twin's and the verifier's view):
    /// the action, the prices, the penalty and the insurance share.
    ///
    /// # Errors
    /// [`LiquidationError::ZeroAmount`], [`LiquidationError::UnknownSlot`] (a slot out
    /// of range or without a price), [`LiquidationError::TooLarge`].
    pub fn compute(
        action: &LiquidationAction,
        prices: &Prices,
        penalty_ppm: u32,
        insurance_share_ppm: u32,
    ) -> Result<Self, LiquidationError> {
        let amount = action.amount();
        if amount == 0 {
            return Err(LiquidationError::ZeroAmount);
        }
        let (kind, max) = if action.is_close() {
            ("market", MARKETS)
        } else {
            ("token", TOKENS)
        };
        let slot = action.slot() - if action.is_close() { TOKENS } else { 0 };
        if slot >= max {
            return Err(LiquidationError::UnknownSlot { kind, slot });
        }
        let price = action.price_in(prices);
        if price == 0 {
            return Err(LiquidationError::UnknownSlot { kind, slot });
        }
        // Price units (10^-9 quote units); < 2^128.
        let notional = u128::from(amount) * u128::from(price);
        let scale = u128::from(PRICE_SCALE);
        let value = if action.buys() {
            notional.div_ceil(scale)
        } else {
            notional / scale
        };
        let value = u64::try_from(value)
            .ok()
            .filter(|v| *v < 1 << VALUE_BITS)
            .ok_or(LiquidationError::TooLarge(
                "execution value ≥ 2^62 quote units",
            ))?;
        // penalty < 1e6 ppm (validated), so P ≤ V < 2^62.
        let penalty = (u128::from(value) * u128::from(penalty_ppm)).div_ceil(u128::from(PPM));
        let penalty = u64::try_from(penalty)
            .ok()
            .filter(|p| *p < 1 << VALUE_BITS)
            .ok_or(LiquidationError::TooLarge("penalty ≥ 2^62 quote units"))?;
        // value, penalty < 2^62: the sums below fit an i64.
        let quote_delta = if action.buys() {
            -((value + penalty) as i64)
        } else {
            (value - penalty) as i64
        };
        let insurance_fee =
            (u128::from(penalty) * u128::from(insurance_share_ppm) / u128::from(PPM)) as u64;
        Ok(Self {
            execution_value: value,
            penalty,
            quote_delta,
            insurance_fee: insurance_fee.min(penalty),
            liquidator_fee: penalty - insurance_fee.min(penalty),
        })
    }

    /// The part of the terms the circuit enforces (value, penalty and the quote delta
    /// they imply); the fee split is settlement's arithmetic on the penalty.
    pub fn enforced(&self) -> (u64, u64, i64) {
        (self.execution_value, self.penalty, self.quote_delta)
    }
}

/// The per-unit factor `f` of the minimality clause: one unit of the action raises the
/// target health `T(τ_target)` ([`crate::Health::target`]) by exactly `p_a·f` (10^-21
/// quote units) before rounding, where `p_a` is the acted slot's price and `τ` the
/// target:
///
/// | action | f (ppm²) |
/// |---|---|
/// | close of market j | `τ·mmf_j − penalty·10^6` (the requirement freed, less the penalty) |
/// | seize of deposit i | `10^6·(10^6 − penalty − w_asset_i) + (τ − 10^6)·(10^6 − w_asset_i)` |
/// | repay of borrow i | `10^6·(w_liab_i − 10^6 − penalty) + (τ − 10^6)·(w_liab_i − 10^6)` |
///
/// (The second terms are the haircut the action removes, scaled as the target scales
/// it.) An action with `f ≤ 0` never improves health: it is not a liquidation.
pub fn unit_gain(
    action: &LiquidationAction,
    weights: &MarginWeights,
    rules: &LiquidationRules,
) -> i128 {
    let ppm = i128::from(PPM);
    let penalty = i128::from(rules.penalty_ppm);
    let tau = i128::from(rules.target_ppm);
    let token_weight = |w: &[u32; TOKENS], i: usize| w.get(i).map_or(0, |w| i128::from(*w));
    match *action {
        LiquidationAction::Close { market, .. } => {
            let mmf = weights
                .maintenance_ppm
                .get(market)
                .map_or(0, |m| i128::from(*m));
            tau * mmf - penalty * ppm
        }
        LiquidationAction::Seize { token, .. } => {
            let w = token_weight(&weights.asset_weight_ppm, token);
            ppm * (ppm - penalty - w) + (tau - ppm) * (ppm - w)
        }
        LiquidationAction::Repay { token, .. } => {
            let w = token_weight(&weights.liability_weight_ppm, token);
            ppm * (w - ppm - penalty) + (tau - ppm) * (w - ppm)
        }
    }
}

/// The rounding allowance of the minimality clause (10^-21 quote units): rounding
/// against the account loses less than 1 quote unit on the value and less than 2 on
/// the penalty (whose base is the rounded value), so the action's real gain is more than
/// `Δ·d − ROUNDING_ALLOWANCE`.
pub const ROUNDING_ALLOWANCE: u128 = 3 * QUOTE_SCALE;
