//! The legal liquidations of an account: for every slot an action may act on, the
//! amount the rules imply (close factor, exemptions, minimality) and its terms.
//!
//! This is statement-level: the minimality and close-factor clauses determine the
//! amount of an action on a given slot. Which of the legal actions to take is the
//! prover's policy (`zkmargin_prover::policy::choose_liquidation`).

use ethnum::I256;

use super::{
    apply_liquidation, check_size_bounds, state_after, LiquidationAction, LiquidationError,
    LiquidationPublic, LiquidationRules, LiquidationTerms, Side,
};
use crate::{Account, Blinding, Commitment, Fr, Prices, RiskParams, PPM, PRICE_SCALE};

/// A legal liquidation: an action with the amount the rules imply, checked by the
/// native twin.
#[derive(Debug, Clone)]
pub struct LegalLiquidation {
    /// The action.
    pub action: LiquidationAction,
    /// Its terms.
    pub terms: LiquidationTerms,
    /// The deficit it reveals.
    pub deficit: u64,
    /// Whether the account meets its maintenance margin afterwards.
    pub restores_health: bool,
}

/// Every open position and every deposit of `account`, in slot order (closes, then
/// seizes), each as the action with the amount the rules imply — the smallest that
/// restores health, else the close-factor maximum (the whole slot when exempt) — or
/// the clause that makes it illegal.
///
/// # Errors
/// [`LiquidationError::NotInBreach`] for an account that meets its margin, the size
/// bounds of [`check_size_bounds`].
pub fn legal_liquidations(
    account: &Account,
    params: &RiskParams,
    prices: &Prices,
) -> Result<Vec<Result<LegalLiquidation, LiquidationError>>, LiquidationError> {
    let weights = params.weights();
    let rules = LiquidationRules::from(params);
    let health = account.health(&weights, prices);
    check_size_bounds(&health)?;
    let h = health.at(PPM as u32);
    if h >= 0 {
        return Err(LiquidationError::NotInBreach);
    }
    let deep = health.equity < I256::from(rules.deep_breach_ratio_ppm) * health.requirement;
    let closes = (0..params.markets.len()).filter_map(|j| {
        let n = account.positions[j];
        let side = if n > 0 { Side::Long } else { Side::Short };
        (n != 0).then_some(LiquidationAction::Close {
            market: j,
            side,
            amount: 1,
        })
    });
    let seizes = (0..params.tokens.len())
        .filter(|i| account.tokens[*i] > 0)
        .map(|token| LiquidationAction::Seize { token, amount: 1 });
    Ok(closes
        .chain(seizes)
        .map(|template| {
            let held = template.held_in(account) as u64;
            let notional = u128::from(held) * u128::from(template.price_in(prices));
            let full = deep || notional < u128::from(rules.dust_notional) * u128::from(PRICE_SCALE);
            let max = if full {
                held
            } else {
                (u128::from(rules.close_factor_ppm) * u128::from(held) / u128::from(PPM)) as u64
            };
            rule_amount(h, &template, max, prices, params)
                .and_then(|amount| check(account, &template.with_amount(amount), h, params, prices))
        })
        .collect())
}

/// The smallest amount in `[1, max]` that restores health, or `max` if none does.
/// Health gains grow with the amount (up to one quote unit of rounding), so bisect.
fn rule_amount(
    h: I256,
    template: &LiquidationAction,
    max: u64,
    prices: &Prices,
    params: &RiskParams,
) -> Result<u64, LiquidationError> {
    if max == 0 {
        return Err(LiquidationError::ExceedsCloseFactor { amount: 1, max });
    }
    let restores = |amount: u64| {
        LiquidationTerms::of(&template.with_amount(amount), prices, params)
            .map(|t| h + t.health_gain >= 0)
    };
    if !restores(max)? {
        return Ok(max);
    }
    // Invariant: restores(hi); !restores(lo) (lo = 0 is the breaching state).
    let (mut lo, mut hi) = (0u64, max);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if restores(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(hi)
}

/// `action` as a checked candidate (the native twin accepts it).
fn check(
    account: &Account,
    action: &LiquidationAction,
    h: I256,
    params: &RiskParams,
    prices: &Prices,
) -> Result<LegalLiquidation, LiquidationError> {
    let terms = LiquidationTerms::of(action, prices, params)?;
    let (_, deficit) = state_after(account, action, &terms)?;
    let public = LiquidationPublic {
        old_commitment: Commitment(Fr::from(0u64)),
        new_commitment: Commitment(Fr::from(0u64)),
        liquidator: 0,
        action: *action,
        terms,
        deficit,
        prices: *prices,
        weights: params.weights(),
        rules: LiquidationRules::from(params),
    };
    let fresh = Blinding(account.blinding.0 + Fr::from(1u64));
    apply_liquidation(account, &public, fresh)?;
    Ok(LegalLiquidation {
        action: *action,
        terms,
        deficit,
        restores_health: h + terms.health_gain >= 0,
    })
}
