//! What a liquidation moves: the action and the side of the acted position.

use serde::{Deserialize, Serialize};

use crate::{Account, Prices, MARKETS, TOKENS};

/// The side of a perpetual position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Position > 0.
    Long,
    /// Position < 0.
    Short,
}

/// What a liquidation moves. Revealed by the proof; everything else stays private.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum LiquidationAction {
    /// Close `amount` of the `side` position in perpetual market `market`: the
    /// liquidator takes it over at the oracle price.
    Close {
        /// Market slot.
        market: usize,
        /// Side of the liquidated position.
        side: Side,
        /// Base atomic units closed, ≥ 1.
        amount: u64,
    },
    /// Seize `amount` of the deposit in token slot `token`: the liquidator buys it at
    /// the oracle price less the penalty.
    Seize {
        /// Token slot.
        token: usize,
        /// Token atomic units seized, ≥ 1.
        amount: u64,
    },
}

impl LiquidationAction {
    /// Units moved.
    pub fn amount(&self) -> u64 {
        match *self {
            LiquidationAction::Close { amount, .. } | LiquidationAction::Seize { amount, .. } => {
                amount
            }
        }
    }

    /// The same action with another amount.
    pub fn with_amount(&self, amount: u64) -> Self {
        match *self {
            LiquidationAction::Close { market, side, .. } => LiquidationAction::Close {
                market,
                side,
                amount,
            },
            LiquidationAction::Seize { token, .. } => LiquidationAction::Seize { token, amount },
        }
    }

    /// The signed selector over the 16 slots (tokens, then markets): +1 on the acted
    /// slot of a long close or a seize, −1 for a short close, 0 elsewhere. The slot's
    /// new balance is `old − selector·amount`.
    pub fn selector(&self) -> [i8; TOKENS + MARKETS] {
        let mut s = [0i8; TOKENS + MARKETS];
        match *self {
            LiquidationAction::Close { market, side, .. } => {
                s[TOKENS + market] = match side {
                    Side::Long => 1,
                    Side::Short => -1,
                }
            }
            LiquidationAction::Seize { token, .. } => s[token] = 1,
        }
        s
    }
}

impl LiquidationAction {
    /// The acted slot's balance in the action's direction (`Σ σ_k·slot_k`): what the
    /// account holds that the action may move.
    pub fn held_in(&self, account: &Account) -> i128 {
        self.selector()
            .iter()
            .zip(account.tokens.iter().chain(&account.positions))
            .map(|(s, v)| i128::from(*s) * i128::from(*v))
            .sum()
    }

    /// The price of the acted slot.
    pub fn price_in(&self, prices: &Prices) -> u64 {
        match *self {
            LiquidationAction::Close { market, .. } => prices.markets[market],
            LiquidationAction::Seize { token, .. } => prices.tokens[token],
        }
    }
}
