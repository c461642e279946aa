//! What a liquidation moves: the action and the side of a closed position.

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
    /// Repay `amount` of the borrow in token slot `token`: the liquidator delivers the
    /// tokens (the borrow shrinks toward zero, never flips) and is paid their value plus
    /// the penalty from the account's quote balance, which may go negative (a quote
    /// borrow at weight 1, with no price risk).
    Repay {
        /// Token slot of the borrow.
        token: usize,
        /// Token atomic units repaid, ≥ 1.
        amount: u64,
    },
}

impl LiquidationAction {
    /// Units moved.
    pub fn amount(&self) -> u64 {
        match *self {
            LiquidationAction::Close { amount, .. }
            | LiquidationAction::Seize { amount, .. }
            | LiquidationAction::Repay { amount, .. } => amount,
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
            LiquidationAction::Repay { token, .. } => LiquidationAction::Repay { token, amount },
        }
    }

    /// The acted slot among the 16 priced slots: token slots `0..8`, then market slots
    /// `8..16` (the order of the prices in the public inputs).
    pub fn slot(&self) -> usize {
        match *self {
            LiquidationAction::Close { market, .. } => TOKENS + market,
            LiquidationAction::Seize { token, .. } | LiquidationAction::Repay { token, .. } => {
                token
            }
        }
    }

    /// True when the acted balance is negative and moves up toward zero (a short close,
    /// a repaid borrow): the account buys, and rounding is up. False when it is
    /// positive and moves down (a long close, a seized deposit): the account sells,
    /// and rounding is down.
    pub fn buys(&self) -> bool {
        matches!(
            self,
            LiquidationAction::Close {
                side: Side::Short,
                ..
            } | LiquidationAction::Repay { .. }
        )
    }

    /// True for a close of a perpetual position.
    pub fn is_close(&self) -> bool {
        matches!(self, LiquidationAction::Close { .. })
    }

    /// The signed selector over the 16 slots (tokens, then markets): +1 on the acted
    /// slot when its balance is positive and shrinks (long close, seize), −1 when it is
    /// negative and grows (short close, repay), 0 elsewhere. The slot's new balance is
    /// `old − selector·amount`.
    pub fn selector(&self) -> [i8; TOKENS + MARKETS] {
        let mut s = [0i8; TOKENS + MARKETS];
        if let Some(slot) = s.get_mut(self.slot()) {
            *slot = if self.buys() { -1 } else { 1 };
        }
        s
    }

    /// The acted slot's balance in the action's direction (`σ·balance`): what the
    /// account holds that the action may move (0 for a slot outside the account).
    pub fn held_in(&self, account: &Account) -> i128 {
        let sigma = if self.buys() { -1 } else { 1 };
        let balance = match *self {
            LiquidationAction::Close { market, .. } => account.positions.get(market),
            LiquidationAction::Seize { token, .. } | LiquidationAction::Repay { token, .. } => {
                account.tokens.get(token)
            }
        };
        balance.map_or(0, |b| sigma * i128::from(*b))
    }

    /// The price of the acted slot (0 for a slot outside the account).
    pub fn price_in(&self, prices: &Prices) -> u64 {
        match *self {
            LiquidationAction::Close { market, .. } => prices.markets.get(market),
            LiquidationAction::Seize { token, .. } | LiquidationAction::Repay { token, .. } => {
                prices.tokens.get(token)
            }
        }
        .copied()
        .unwrap_or(0)
    }
}
