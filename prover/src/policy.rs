//! The prover's policy: which legal liquidation to take.
//!
//! The statement fixes, for each action an account allows (a close of a position, a
//! seizure of a deposit, a repayment of a borrow), the amount the rules imply
//! ([`zkmargin_circuits::legal_liquidations`]); it does not fix which action. This is
//! the venue's choice, and the one made here is: among the actions that reach the
//! target buffer, the one with the smallest execution value (the least the account pays
//! penalty on); if none does, the one with the largest gain of `H(τ_target)` (at its
//! close-factor maximum, or the whole slot when exempt). So a borrow that breaches an
//! account is repaid — its liability weight frees the most health per unit — rather
//! than collateral seized around it.

use zkmargin_circuits::{
    legal_liquidations, Account, LegalLiquidation, LiquidationError, Prices, RiskParams,
};

/// A liquidation chosen by [`choose_liquidation`].
pub type ChosenLiquidation = LegalLiquidation;

/// Chooses the liquidation of `account` at `prices` under `params` by the policy of the
/// module docs. Every open position and every deposit is a candidate.
///
/// # Errors
/// [`LiquidationError::NotInBreach`] for a healthy account (or one with nothing to act
/// on), the size-bound errors, or the last candidate's error when no action is legal.
pub fn choose_liquidation(
    account: &Account,
    params: &RiskParams,
    prices: &Prices,
) -> Result<ChosenLiquidation, LiquidationError> {
    let mut best: Option<ChosenLiquidation> = None;
    let mut last_error = LiquidationError::NotInBreach;
    for candidate in legal_liquidations(account, params, prices)? {
        match candidate {
            Ok(c) => {
                let better = match &best {
                    None => true,
                    Some(b) => match (c.restores_target, b.restores_target) {
                        (true, false) => true,
                        (false, true) => false,
                        (true, true) => c.terms.execution_value < b.terms.execution_value,
                        (false, false) => c.health_gain > b.health_gain,
                    },
                };
                if better {
                    best = Some(c);
                }
            }
            Err(e) => last_error = e,
        }
    }
    best.ok_or(last_error)
}
