//! The public terms of an action: execution value, penalty, fees and the exact changes
//! of equity, requirement and health they imply.

use ethnum::{I256, U256};
use serde::{Deserialize, Serialize};

use super::{LiquidationAction, LiquidationError, Side, EQUITY_BITS, GAIN_BITS, REQUIREMENT_BITS};
use crate::{Prices, RiskParams, PPM, PRICE_SCALE};

/// The public amounts of an action at given prices and parameters, all derived by
/// [`LiquidationTerms::of`]; rounding always goes against the liquidated account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidationTerms {
    /// Quote units the position or collateral is worth at the oracle price: floor for
    /// what the account sells (long close, seize), ceil for what it buys (short close).
    pub execution_value: u64,
    /// `ceil(execution_value · penalty_ppm / 1e6)`, paid by the account.
    pub penalty: u64,
    /// `floor(penalty · insurance_share_ppm / 1e6)`, credited to the insurance fund.
    pub insurance_fee: u64,
    /// `penalty − insurance_fee`, credited to the liquidator.
    pub liquidator_fee: u64,
    /// Change of the quote balance: `+V − P` (long close, seize) or `−V − P` (short close).
    pub quote_delta: i64,
    /// Change of equity (10^-21 quote units), exact.
    #[serde(with = "i256_string")]
    pub equity_delta: I256,
    /// Decrease of the maintenance requirement (10^-15 quote units), exact.
    #[serde(with = "i256_string")]
    pub requirement_delta: I256,
    /// Change of `H(1)`: `equity_delta + 10^6 · requirement_delta`.
    #[serde(with = "i256_string")]
    pub health_gain: I256,
    /// The same for `amount − 1` (0 when the amount is 1): the minimality witness.
    #[serde(with = "i256_string")]
    pub prev_health_gain: I256,
}

impl LiquidationTerms {
    /// The terms of `action` at `prices` under `params`.
    ///
    /// # Errors
    /// [`LiquidationError::ZeroAmount`], [`LiquidationError::UnknownSlot`],
    /// [`LiquidationError::SeizeDoesNotImprove`], [`LiquidationError::TooLarge`].
    pub fn of(
        action: &LiquidationAction,
        prices: &Prices,
        params: &RiskParams,
    ) -> Result<Self, LiquidationError> {
        if action.amount() == 0 {
            return Err(LiquidationError::ZeroAmount);
        }
        match *action {
            LiquidationAction::Close { market, .. } if market >= params.markets.len() => {
                return Err(LiquidationError::UnknownSlot {
                    kind: "market",
                    slot: market,
                })
            }
            LiquidationAction::Seize { token, .. } if token >= params.tokens.len() => {
                return Err(LiquidationError::UnknownSlot {
                    kind: "token",
                    slot: token,
                })
            }
            _ => {}
        }
        let now = raw_terms(action, prices, params, action.amount())?;
        let prev = raw_terms(action, prices, params, action.amount() - 1)?;
        let (equity_delta, requirement_delta) = (now.equity_delta, now.requirement_delta);
        let (gain, prev_gain) = (now.health_gain(), prev.health_gain());
        if let LiquidationAction::Seize { token, .. } = *action {
            if equity_delta <= 0 {
                return Err(LiquidationError::SeizeDoesNotImprove { token });
            }
        }
        let penalty = now.penalty;
        let insurance_fee = (u128::from(penalty)
            * u128::from(params.liquidation.insurance_share_ppm)
            / u128::from(PPM)) as u64;
        let bound = |x: I256, bits: u32| x.unsigned_abs() < U256::ONE << bits;
        if !bound(equity_delta, EQUITY_BITS) {
            return Err(LiquidationError::TooLarge("equity change ≥ 2^125"));
        }
        if !(requirement_delta >= 0 && bound(requirement_delta, REQUIREMENT_BITS)) {
            return Err(LiquidationError::TooLarge("requirement change ≥ 2^106"));
        }
        if !bound(gain, GAIN_BITS) || !bound(prev_gain, GAIN_BITS) {
            return Err(LiquidationError::TooLarge("health change ≥ 2^126"));
        }
        Ok(Self {
            execution_value: now.value,
            penalty,
            insurance_fee,
            liquidator_fee: penalty - insurance_fee,
            quote_delta: now.quote_delta,
            equity_delta,
            requirement_delta,
            health_gain: gain,
            prev_health_gain: prev_gain,
        })
    }
}

/// The amounts of `action` with `amount` units, before bounds checks.
struct RawTerms {
    value: u64,
    penalty: u64,
    quote_delta: i64,
    /// 10^-21 quote units.
    equity_delta: I256,
    /// 10^-15 quote units.
    requirement_delta: I256,
}

impl RawTerms {
    /// Change of H(1) = equity − 10^6·requirement.
    fn health_gain(&self) -> I256 {
        self.equity_delta + I256::from(PPM) * self.requirement_delta
    }
}

fn raw_terms(
    action: &LiquidationAction,
    prices: &Prices,
    params: &RiskParams,
    amount: u64,
) -> Result<RawTerms, LiquidationError> {
    let (price, buys) = match *action {
        LiquidationAction::Close { market, side, .. } => {
            (prices.markets[market], side == Side::Short)
        }
        LiquidationAction::Seize { token, .. } => (prices.tokens[token], false),
    };
    // Price units (10^-9 quote units); < 2^128.
    let notional = u128::from(amount) * u128::from(price);
    let scale = u128::from(PRICE_SCALE);
    let value = if buys {
        notional.div_ceil(scale)
    } else {
        notional / scale
    };
    let value =
        u64::try_from(value)
            .ok()
            .filter(|v| *v < 1 << 62)
            .ok_or(LiquidationError::TooLarge(
                "execution value ≥ 2^62 quote units",
            ))?;
    let penalty = (u128::from(value) * u128::from(params.liquidation.penalty_ppm))
        .div_ceil(u128::from(PPM)) as u64;
    // value, penalty < 2^62 (penalty ≤ value): the sums below fit an i64.
    let quote_delta = if buys {
        -((value + penalty) as i64)
    } else {
        (value - penalty) as i64
    };
    let q = I256::from(quote_delta) * I256::from(QUOTE_SCALE);
    let notional = I256::from(notional);
    let (equity_delta, requirement_delta) = match *action {
        LiquidationAction::Close { market, side, .. } => {
            let position_change = if side == Side::Long {
                -notional
            } else {
                notional
            };
            let mmf = I256::from(params.markets[market].maintenance_margin_ppm);
            (q + position_change * I256::from(PPM * PPM), notional * mmf)
        }
        LiquidationAction::Seize { token, .. } => {
            let w = I256::from(params.tokens[token].asset_weight_ppm);
            (q - notional * w * I256::from(PPM), I256::ZERO)
        }
    };
    Ok(RawTerms {
        value,
        penalty,
        quote_delta,
        equity_delta,
        requirement_delta,
    })
}

/// 10^21: quote atomic units → equity units.
const QUOTE_SCALE: u128 = (PRICE_SCALE as u128) * (PPM as u128) * (PPM as u128);

mod i256_string {
    use ethnum::I256;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &I256, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&x.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<I256, D::Error> {
        let s = String::deserialize(d)?;
        I256::from_str_radix(&s, 10).map_err(D::Error::custom)
    }
}
