//! The native twin of the liquidation circuit: the state after an action, and every
//! clause checked.

use ethnum::{I256, U256};

use super::{
    LiquidationAction, LiquidationError, LiquidationPublic, LiquidationTerms, EQUITY_BITS,
    REQUIREMENT_BITS,
};
use crate::{Account, Blinding, Health, PPM, PRICE_SCALE};

/// The state after `action` with `terms` (nonce and blinding unchanged) and the deficit
/// it leaves: when every token and position is zero afterwards and the quote balance
/// is negative, the deficit is that debt and the new quote balance is zero.
///
/// # Errors
/// [`LiquidationError::ExceedsBalance`] when the acted slot holds less than the
/// amount in the action's direction; [`LiquidationError::QuoteOverflow`].
pub fn state_after(
    old: &Account,
    action: &LiquidationAction,
    terms: &LiquidationTerms,
) -> Result<(Account, u64), LiquidationError> {
    let amount = action.amount();
    let held = action.held_in(old);
    if held < i128::from(amount) {
        return Err(LiquidationError::ExceedsBalance { held, amount });
    }
    let mut new = old.clone();
    for (slot, s) in new
        .tokens
        .iter_mut()
        .chain(new.positions.iter_mut())
        .zip(action.selector())
    {
        // |slot| ≥ amount in the selector's direction: moves toward zero, fits an i64.
        *slot = (i128::from(*slot) - i128::from(s) * i128::from(amount)) as i64;
    }
    let raw_quote = old
        .quote
        .checked_add(terms.quote_delta)
        .ok_or(LiquidationError::QuoteOverflow)?;
    let closed = new.tokens.iter().chain(&new.positions).all(|v| *v == 0);
    let deficit = if closed && raw_quote < 0 {
        raw_quote.unsigned_abs()
    } else {
        0
    };
    new.quote = if deficit > 0 { 0 } else { raw_quote };
    Ok((new, deficit))
}

/// The native twin of the liquidation circuit: checks every clause for `old` and
/// `public` and returns the new state. The circuit is satisfiable with witness
/// (`old`, `new_blinding`) exactly when this returns `Ok(new)`,
/// `Commitment::of(old) == public.old_commitment` and
/// `Commitment::of(&new) == public.new_commitment`.
///
/// # Errors
/// The first [`LiquidationError`] clause that fails.
pub fn apply_liquidation(
    old: &Account,
    public: &LiquidationPublic,
    new_blinding: Blinding,
) -> Result<Account, LiquidationError> {
    let (action, terms, rules) = (&public.action, &public.terms, &public.rules);
    let amount = action.amount();
    let health = old.health(&public.weights, &public.prices);
    check_size_bounds(&health)?;
    let h = health.at(PPM as u32);
    // Margin status: the old state breaches at τ = 1.
    if h >= 0 {
        return Err(LiquidationError::NotInBreach);
    }
    // Action: the new state, which also checks the acted slot holds the amount.
    let (mut new, deficit) = state_after(old, action, terms)?;
    let held = action.held_in(old) as u64; // ≥ amount ≥ 1, ≤ 2^63
                                           // Close factor, unless the slot is dust or the account is in deep breach.
    let notional = u128::from(held) * u128::from(action.price_in(&public.prices));
    let dust = notional < u128::from(rules.dust_notional) * u128::from(PRICE_SCALE);
    let deep = health.equity < I256::from(rules.deep_breach_ratio_ppm) * health.requirement;
    let full = dust || deep;
    let cap_scaled = u128::from(rules.close_factor_ppm) * u128::from(held);
    let cap = (cap_scaled / u128::from(PPM)) as u64;
    if !full && u128::from(amount) * u128::from(PPM) > cap_scaled {
        return Err(LiquidationError::ExceedsCloseFactor { amount, max: cap });
    }
    // Minimality: the smallest amount that restores health, else the maximum allowed.
    let restores = h + terms.health_gain >= 0;
    if restores && h + terms.prev_health_gain >= 0 {
        return Err(LiquidationError::NotMinimal { amount });
    }
    let max = if full { held } else { cap };
    if !restores && amount != max {
        return Err(LiquidationError::NotMaximal { amount, max });
    }
    // Deficit: revealed exactly when everything is closed and the quote is negative.
    if deficit != public.deficit {
        return Err(LiquidationError::WrongDeficit {
            claimed: public.deficit,
            actual: deficit,
        });
    }
    // Health ratio strictly improves: E'·R > E·R' ⟺ dE·R + E·dR > 0 (closes; a seize
    // raises equity at constant requirement, which its terms check). Waived in deep
    // breach, where no close can lift a ratio below penalty/mmf, and on the deficit path.
    if matches!(action, LiquidationAction::Close { .. }) && !deep && deficit == 0 {
        let d = terms.equity_delta * health.requirement + health.equity * terms.requirement_delta;
        if d <= 0 {
            return Err(LiquidationError::RatioNotImproved);
        }
    }
    // Nonce + 1, fresh blinding.
    new.nonce = old
        .nonce
        .checked_add(1)
        .ok_or(LiquidationError::NonceExhausted)?;
    if new_blinding == old.blinding {
        return Err(LiquidationError::BlindingReused);
    }
    new.blinding = new_blinding;
    Ok(new)
}

/// The circuit's size bounds on the old account: `|equity| < 2^EQUITY_BITS`,
/// `requirement < 2^REQUIREMENT_BITS`.
///
/// # Errors
/// [`LiquidationError::AccountTooLarge`].
pub fn check_size_bounds(health: &Health) -> Result<(), LiquidationError> {
    if health.equity.unsigned_abs() >= U256::ONE << EQUITY_BITS {
        return Err(LiquidationError::AccountTooLarge(
            "|equity| ≥ 2^125 · 10^-21 quote units",
        ));
    }
    if health.requirement.unsigned_abs() >= U256::ONE << REQUIREMENT_BITS {
        return Err(LiquidationError::AccountTooLarge(
            "requirement ≥ 2^106 · 10^-15 quote units",
        ));
    }
    Ok(())
}
