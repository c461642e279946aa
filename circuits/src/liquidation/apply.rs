//! The native twin of the liquidation circuit: the state after an action, and every
//! clause checked.

use ethnum::{I256, U256};

use super::{
    terms::{unit_gain, ROUNDING_ALLOWANCE},
    LiquidationAction, LiquidationError, LiquidationPublic, LiquidationTerms, BREACH_BITS,
    REQUIREMENT_BITS,
};
use crate::{Account, Blinding, Health, PPM, PRICE_SCALE};

/// The state after `action` with `terms` (nonce and blinding unchanged) and the deficit
/// it leaves: the acted slot moves `Δ` toward zero, the quote moves by the quote
/// delta; when every token and position is zero afterwards
/// and the quote balance is negative, the deficit is that debt and the new quote
/// balance is zero.
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

/// The close-factor maximum of `action`'s slot for an account with `health` and
/// `held` units in the action's direction: the whole slot when it is dust (worth less
/// than the dust notional) or the account is in deep breach (`E < deep·R`), else
/// `floor(close_factor·held / 10^6)`. Also returns whether the account is in deep
/// breach.
pub fn close_factor_max(
    action: &LiquidationAction,
    held: u64,
    health: &Health,
    public: &LiquidationPublic,
) -> (u64, bool) {
    let rules = &public.rules;
    let notional = u128::from(held) * u128::from(action.price_in(&public.prices));
    let dust = notional < u128::from(rules.dust_notional) * u128::from(PRICE_SCALE);
    let deep = health.equity < I256::from(rules.deep_breach_ratio_ppm) * health.requirement;
    let max = if dust || deep {
        held
    } else {
        (u128::from(rules.close_factor_ppm) * u128::from(held) / u128::from(PPM)) as u64
    };
    (max, deep)
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
    // Margin status: the old state breaches at τ = 1.
    if health.at(PPM as u32) >= 0 {
        return Err(LiquidationError::NotInBreach);
    }
    // Terms: value and penalty are the ones the action implies.
    let computed = LiquidationTerms::compute(action, &public.prices, rules.penalty_ppm, 0)?;
    if computed.enforced() != terms.enforced() {
        return Err(LiquidationError::TermsMismatch);
    }
    // Action: the new state (the acted slot holds Δ on the named side).
    let (mut new, deficit) = state_after(old, action, terms)?;
    // The slot holds ≥ amount ≥ 1 on the named side, at most 2^63.
    let held = action.held_in(old) as u64;
    // Close factor, unless the slot is dust or the account is in deep breach.
    let (max, deep) = close_factor_max(action, held, &health, public);
    if amount > max {
        return Err(LiquidationError::ExceedsCloseFactor { amount, max });
    }
    // Progress per unit: every unit raises T(τ_target) by p_a·f > 0 before rounding.
    let f = unit_gain(action, &public.weights, rules);
    if f < 1 {
        return Err(LiquidationError::DoesNotImprove {
            action: action_name(action),
            unit_gain: f,
        });
    }
    // Minimality: with d = p_a·f and S = −T(τ_target) + rounding allowance, Δ is the
    // smallest amount with Δ·d ≥ S — (Δ−1)·d < S — or, when none within the allowance
    // restores, the maximum allowed.
    let d = I256::from(action.price_in(&public.prices)) * I256::from(f);
    let s = -health.target(rules.target_ppm) + I256::from(ROUNDING_ALLOWANCE);
    if I256::from(amount - 1) * d >= s {
        return Err(LiquidationError::NotMinimal { amount });
    }
    if I256::from(amount) * d < s && amount != max {
        return Err(LiquidationError::NotMaximal { amount, max });
    }
    // Deficit: revealed exactly when everything is closed and the quote is negative.
    if deficit != public.deficit {
        return Err(LiquidationError::WrongDeficit {
            claimed: public.deficit,
            actual: deficit,
        });
    }
    // Progress, exactly: a close strictly improves the health ratio, E'·R > E·R' ⟺
    // dE·R + E·dR > 0 (waived in deep breach, where no close can lift a ratio below
    // penalty/mmf); a token action strictly raises the equity. Waived on the deficit
    // path.
    if deficit == 0 && !(action.is_close() && deep) {
        let after = new.health(&public.weights, &public.prices);
        let de = after.equity - health.equity;
        let improves = if action.is_close() {
            let dr = health.requirement - after.requirement;
            de * health.requirement + health.equity * dr > 0
        } else {
            de > 0
        };
        if !improves {
            return Err(LiquidationError::RatioNotImproved);
        }
    }
    // Nonce + 1 (within 64 bits), fresh blinding.
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

/// The action's kind, in words.
pub(crate) fn action_name(action: &LiquidationAction) -> &'static str {
    match action {
        LiquidationAction::Close { .. } => "closing this position",
        LiquidationAction::Seize { .. } => "seizing this deposit",
        LiquidationAction::Repay { .. } => "repaying this borrow",
    }
}

/// The circuit's size bounds on the old account: `requirement + haircut <
/// 2^REQUIREMENT_BITS` and `H(1) ≥ −2^BREACH_BITS` (so `|equity| ≤ 2^BREACH_BITS`).
///
/// # Errors
/// [`LiquidationError::AccountTooLarge`].
pub fn check_size_bounds(health: &Health) -> Result<(), LiquidationError> {
    let requirements = health.requirement + health.haircut;
    if requirements < 0 || requirements.unsigned_abs() >= U256::ONE << REQUIREMENT_BITS {
        return Err(LiquidationError::AccountTooLarge(
            "requirement + token haircut ≥ 2^107 · 10^-15 quote units",
        ));
    }
    if health.at(PPM as u32) < -(I256::ONE << BREACH_BITS) {
        return Err(LiquidationError::AccountTooLarge(
            "H(1) < −2^127 · 10^-21 quote units",
        ));
    }
    Ok(())
}
