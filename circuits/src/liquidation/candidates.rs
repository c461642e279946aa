//! The legal liquidations of an account: for every action the account allows, the
//! amount the rules imply and its terms.
//!
//! This is statement-level: the close-factor and minimality clauses determine the
//! amount of an action on a given slot exactly — `Δ = min(ceil(S/d), max)` with `d`
//! the per-unit gain and `S` the shortfall to the target buffer plus the rounding
//! allowance, no search. Which of the legal actions to take is the prover's policy
//! (`zkmargin_prover::policy::choose_liquidation`).

use ethnum::I256;

use super::{
    apply::{action_name, close_factor_max},
    apply_liquidation, check_size_bounds, state_after,
    terms::{unit_gain, ROUNDING_ALLOWANCE},
    LiquidationAction, LiquidationError, LiquidationPublic, LiquidationRules, LiquidationTerms,
    Side,
};
use crate::{Account, Blinding, Commitment, Fr, Prices, RiskParams, PPM};

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
    /// Whether the amount reaches the target buffer (`Δ·d ≥ S`: the account meets
    /// `T(τ_target) ≥ 0` afterwards); false when the close factor caps it.
    pub restores_target: bool,
    /// The exact change of `T(τ_target)` (10^-21 quote units) the action makes.
    pub health_gain: I256,
}

/// The actions `account` allows, in slot order: a close of every open position, a
/// seizure of every deposit, a repayment of every borrow.
pub fn templates(account: &Account, params: &RiskParams) -> Vec<LiquidationAction> {
    let mut out = Vec::new();
    for (market, &n) in account
        .positions
        .iter()
        .enumerate()
        .take(params.markets.len())
    {
        if n != 0 {
            let side = if n > 0 { Side::Long } else { Side::Short };
            out.push(LiquidationAction::Close {
                market,
                side,
                amount: 1,
            });
        }
    }
    let tokens = params.tokens.len();
    for (token, &t) in account.tokens.iter().enumerate().take(tokens) {
        if t > 0 {
            out.push(LiquidationAction::Seize { token, amount: 1 });
        }
    }
    for (token, &t) in account.tokens.iter().enumerate().take(tokens) {
        if t < 0 {
            out.push(LiquidationAction::Repay { token, amount: 1 });
        }
    }
    out
}

/// Every action `account` allows ([`templates`]), each with the amount the rules
/// imply — the smallest that restores the target buffer, else the close-factor
/// maximum (the whole slot when exempt) — or the clause that makes it illegal.
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
    let health = account.health(&weights, prices);
    check_size_bounds(&health)?;
    if health.at(PPM as u32) >= 0 {
        return Err(LiquidationError::NotInBreach);
    }
    let public = |action: LiquidationAction, terms, deficit| LiquidationPublic {
        old_commitment: Commitment(Fr::from(0u64)),
        new_commitment: Commitment(Fr::from(0u64)),
        liquidator: 0,
        action,
        terms,
        deficit,
        prices: *prices,
        weights,
        rules: LiquidationRules::from(params),
    };
    let rules = LiquidationRules::from(params);
    let s = -health.target(rules.target_ppm);
    Ok(templates(account, params)
        .into_iter()
        .map(|template| {
            let held = template.held_in(account) as u64;
            let shape = public(
                template,
                LiquidationTerms::of(&template, prices, params)?,
                0,
            );
            let (max, _) = close_factor_max(&template, held, &health, &shape);
            if max == 0 {
                return Err(LiquidationError::ExceedsCloseFactor { amount: 1, max });
            }
            let f = unit_gain(&template, &weights, &rules);
            if f < 1 {
                return Err(LiquidationError::DoesNotImprove {
                    action: action_name(&template),
                    unit_gain: f,
                });
            }
            // Δ = min(ceil(S / d), max): the inequality x·d ≥ S > (x−1)·d, solved.
            let d = I256::from(template.price_in(prices)) * I256::from(f);
            let shortfall = s + I256::from(ROUNDING_ALLOWANCE);
            let needed = (shortfall + d - 1) / d; // S > 0, d > 0
            let amount = if needed >= I256::from(max) {
                max
            } else {
                needed.as_u64()
            };
            let action = template.with_amount(amount);
            let terms = LiquidationTerms::of(&action, prices, params)?;
            let (new, deficit) = state_after(account, &action, &terms)?;
            let fresh = Blinding(account.blinding.0 + Fr::from(1u64));
            apply_liquidation(account, &public(action, terms, deficit), fresh)?;
            Ok(LegalLiquidation {
                action,
                terms,
                deficit,
                restores_target: I256::from(amount) * d >= shortfall,
                health_gain: new.health(&weights, prices).target(rules.target_ppm)
                    - health.target(rules.target_ppm),
            })
        })
        .collect())
}
