//! The prover's policy: which legal liquidation to take.
//!
//! The statement fixes, for each slot an action may act on, the amount the rules imply
//! ([`zkmargin_circuits::legal_liquidations`]); it does not fix which slot. This is the
//! venue's choice, and the one made here is: among the actions that return the account
//! to health, the one with the smallest execution value; if none does, the one with the
//! largest health gain (at its close-factor maximum, or a full close when exempt).

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
                    Some(b) => match (c.restores_health, b.restores_health) {
                        (true, false) => true,
                        (false, true) => false,
                        (true, true) => c.terms.execution_value < b.terms.execution_value,
                        (false, false) => c.terms.health_gain > b.terms.health_gain,
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
