//! Why an action is not a legal liquidation: one variant per clause of the statement.

/// Why an action is not a legal liquidation. Each variant is a clause of the
/// statement; the circuit is unsatisfiable exactly when one applies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LiquidationError {
    /// The action moves nothing.
    #[error("the liquidation amount must be at least 1")]
    ZeroAmount,
    /// The action names a slot the risk parameters do not define (or with no price).
    #[error("{kind} slot {slot} is not defined by the risk parameters")]
    UnknownSlot {
        /// `market` or `token`.
        kind: &'static str,
        /// The slot.
        slot: usize,
    },
    /// The action does not raise `H(τ_target)` per unit: its penalty costs more than
    /// it frees (a seized deposit weighted above `1 − penalty`, a repaid borrow weighted
    /// below `1 + penalty`).
    #[error("{action} does not improve the account's health (per unit it gains {unit_gain} ≤ 0): not a liquidation")]
    DoesNotImprove {
        /// The action, in words.
        action: &'static str,
        /// The per-unit factor `f` of the statement (ppm²).
        unit_gain: i128,
    },
    /// The action's terms exceed what the circuit can represent.
    #[error("the liquidation is too large for the circuit: {0}")]
    TooLarge(&'static str),
    /// The account is above the circuit's size bound.
    #[error("the account is too large for the liquidation circuit ({0})")]
    AccountTooLarge(&'static str),
    /// The account does not breach at τ = 1.
    #[error("the account meets its maintenance margin: it cannot be liquidated")]
    NotInBreach,
    /// The acted slot holds less than the amount, or the other side.
    #[error(
        "the acted slot holds {held} in the action's direction, less than the amount {amount}"
    )]
    ExceedsBalance {
        /// Units held in the action's direction (negative: the other side).
        held: i128,
        /// The amount.
        amount: u64,
    },
    /// More than the close factor of the slot without a dust or deep-breach exemption.
    #[error("amount {amount} exceeds the close factor: at most {max} may be liquidated at once")]
    ExceedsCloseFactor {
        /// The amount.
        amount: u64,
        /// The close-factor maximum.
        max: u64,
    },
    /// A smaller amount already restores the target buffer (over-liquidation).
    #[error("amount {amount} is more than needed: {} already restores the target buffer", amount - 1)]
    NotMinimal {
        /// The amount.
        amount: u64,
    },
    /// The amount does not restore the target buffer yet is below the allowed maximum.
    #[error(
        "amount {amount} neither restores the target buffer nor reaches the allowed maximum {max}"
    )]
    NotMaximal {
        /// The amount.
        amount: u64,
        /// The allowed maximum.
        max: u64,
    },
    /// The health ratio (a close) or the equity (a token action) does not strictly
    /// improve.
    #[error("the account's health ratio does not improve")]
    RatioNotImproved,
    /// The public terms are not the ones the action implies at the public prices.
    #[error("the terms are not the ones the action implies at these prices")]
    TermsMismatch,
    /// The quote balance after the action does not fit 64 bits.
    #[error("the quote balance after the action overflows 64 bits")]
    QuoteOverflow,
    /// The claimed deficit is not the one the state implies.
    #[error("deficit {claimed} claimed, the state implies {actual}")]
    WrongDeficit {
        /// Deficit in the statement.
        claimed: u64,
        /// Deficit the liquidation produces.
        actual: u64,
    },
    /// The nonce cannot be incremented.
    #[error("the account nonce is at its maximum")]
    NonceExhausted,
    /// The new blinding equals the old one.
    #[error("the new state must have a fresh blinding")]
    BlindingReused,
}
