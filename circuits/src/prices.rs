//! Prices as the statements see them: one integer per slot.

use crate::{RiskParams, MARKETS, TOKENS};

/// Oracle prices per slot, in 10^-9 quote atomic units per asset atomic unit
/// (`PRICE_DECIMALS`). Unused slots are zero; used slots are > 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Prices {
    /// Price of each token slot.
    pub tokens: [u64; TOKENS],
    /// Mark price of each market slot.
    pub markets: [u64; MARKETS],
}

/// A slot's feed has no usable price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no positive price for feed {feed_id:?}")]
pub struct MissingPrice {
    /// The feed the parameters name.
    pub feed_id: String,
}

impl Prices {
    /// Looks up every slot's feed (as the risk parameters map them) with `price_of`.
    ///
    /// # Errors
    /// [`MissingPrice`] for the first feed without a positive price.
    pub fn from_feeds(
        params: &RiskParams,
        mut price_of: impl FnMut(&str) -> Option<u64>,
    ) -> Result<Self, MissingPrice> {
        let mut lookup = |feed_id: &str| match price_of(feed_id) {
            Some(p) if p > 0 => Ok(p),
            _ => Err(MissingPrice {
                feed_id: feed_id.to_owned(),
            }),
        };
        let mut out = Prices::default();
        for (i, t) in params.tokens.iter().enumerate() {
            out.tokens[i] = lookup(&t.feed_id)?;
        }
        for (j, m) in params.markets.iter().enumerate() {
            out.markets[j] = lookup(&m.feed_id)?;
        }
        Ok(out)
    }
}
