//! The private account: the witness of every statement.

use ark_ff::UniformRand;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::{fr_hex::serde_fr, Fr, RiskParams, MARKETS, TOKENS};

/// A margin account's private state (statement version 1). Unused slots are zero.
///
/// All balances are in atomic units fixed by the [`RiskParams`]: `tokens[i]` in units
/// of token `i` (positive = deposit, negative = borrow), `quote` in quote atomic units
/// (realized PnL and the cost of open positions included, as dYdX's quote balance),
/// `positions[j]` in base units of market `j` (long > 0, short < 0).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The venue's account id; bound by the commitment, never revealed by a proof.
    pub id: u64,
    /// State nonce: incremented by every transition, so old states cannot be replayed.
    pub nonce: u64,
    /// Signed token balances, 64 bits each.
    pub tokens: [i64; TOKENS],
    /// Signed quote (cash) balance, 64 bits.
    pub quote: i64,
    /// Signed perpetual position sizes, 64 bits each.
    pub positions: [i64; MARKETS],
    /// Commitment randomness: equal states give unrelated commitments.
    pub blinding: Blinding,
}

impl std::fmt::Debug for Account {
    // Balances and blinding are secrets: they never reach a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

/// Why an account does not fit a set of risk parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// A token slot the parameters leave unused holds a balance.
    #[error(
        "token slot {slot} holds {balance} but the risk parameters define only {defined} tokens"
    )]
    UnusedTokenSlot {
        /// Slot index.
        slot: usize,
        /// Its balance.
        balance: i64,
        /// Tokens the parameters define.
        defined: usize,
    },
    /// A market slot the parameters leave unused holds a position.
    #[error(
        "market slot {slot} holds {size} but the risk parameters define only {defined} markets"
    )]
    UnusedMarketSlot {
        /// Slot index.
        slot: usize,
        /// Its position size.
        size: i64,
        /// Markets the parameters define.
        defined: usize,
    },
}

impl Account {
    /// An account with every balance zero and a fresh random blinding.
    pub fn empty<R: RngCore + CryptoRng>(id: u64, rng: &mut R) -> Self {
        Self {
            id,
            nonce: 0,
            tokens: [0; TOKENS],
            quote: 0,
            positions: [0; MARKETS],
            blinding: Blinding::random(rng),
        }
    }

    /// Checks that only slots the parameters define hold balances.
    ///
    /// Unused slots carry price 0 and weight 0, so a balance there would be ignored by
    /// the health computation; refusing it keeps the venue's books and the proofs in step.
    ///
    /// # Errors
    /// [`AccountError`] naming the first offending slot.
    pub fn check_slots(&self, params: &RiskParams) -> Result<(), AccountError> {
        let defined = params.tokens.len();
        if let Some((slot, &balance)) = self
            .tokens
            .iter()
            .enumerate()
            .skip(defined)
            .find(|(_, b)| **b != 0)
        {
            return Err(AccountError::UnusedTokenSlot {
                slot,
                balance,
                defined,
            });
        }
        let defined = params.markets.len();
        if let Some((slot, &size)) = self
            .positions
            .iter()
            .enumerate()
            .skip(defined)
            .find(|(_, s)| **s != 0)
        {
            return Err(AccountError::UnusedMarketSlot {
                slot,
                size,
                defined,
            });
        }
        Ok(())
    }

    /// The 17 signed slots in commitment order: tokens, quote, positions.
    pub fn slots(&self) -> [i64; crate::SLOTS] {
        let mut out = [0i64; crate::SLOTS];
        out[..TOKENS].copy_from_slice(&self.tokens);
        out[TOKENS] = self.quote;
        out[TOKENS + 1..].copy_from_slice(&self.positions);
        out
    }
}

/// Commitment randomness: a uniformly random scalar.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Blinding(#[serde(with = "serde_fr")] pub Fr);

impl Blinding {
    /// A fresh blinding from a cryptographic RNG.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(Fr::rand(rng))
    }
}

impl std::fmt::Debug for Blinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blinding(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_balances_and_blinding() {
        let mut rng = rand::thread_rng();
        let mut a = Account::empty(7, &mut rng);
        a.quote = 123_456_789;
        let shown = format!("{a:?}");
        assert!(!shown.contains("123456789"), "{shown}");
        assert!(!shown.contains("0x"), "{shown}");
        assert!(shown.contains("id: 7"));
    }
}
