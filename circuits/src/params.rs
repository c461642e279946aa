//! Public risk parameters: versioned, validated, bound to every proof by their digest.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{MARKETS, PPM, PRICE_DECIMALS, TOKENS};

/// Domain tag of the risk-parameter digest.
const DIGEST_DOMAIN: &[u8] = b"zkmargin/risk-params/v2";
/// Longest symbol or feed id, in bytes.
const MAX_NAME_LEN: usize = 32;

/// The venue's risk parameters (format version 2). Ratios are in ppm (1e6 = 1.0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskParams {
    /// File format version, [`RiskParams::FORMAT_VERSION`].
    pub version: u32,
    /// The venue's revision of this parameter set; bumped on every change.
    pub revision: u32,
    /// Decimal exponent of prices; must be [`PRICE_DECIMALS`] (prices are in
    /// 10^-9 quote atomic units per asset atomic unit).
    pub price_decimals: u32,
    /// Quote asset symbol, e.g. `USD`.
    pub quote_symbol: String,
    /// Decimals of the quote atomic unit (6: one unit is 1e-6 USD).
    pub quote_decimals: u8,
    /// Token slots in order; slots beyond `tokens.len()` are unused.
    pub tokens: Vec<TokenParams>,
    /// Perpetual markets in order; slots beyond `markets.len()` are unused.
    pub markets: Vec<MarketParams>,
    /// Liquidation rules.
    pub liquidation: LiquidationParams,
}

/// One token slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenParams {
    /// Display symbol, e.g. `ETH`.
    pub symbol: String,
    /// Oracle feed that prices this token.
    pub feed_id: String,
    /// Decimals of the token's atomic unit (display only; 9 means 1e-9 ETH).
    pub decimals: u8,
    /// Weight of a deposit, ≤ 1e6 (Aave's liquidation threshold).
    pub asset_weight_ppm: u32,
    /// Weight of a borrow, ≥ 1e6.
    pub liability_weight_ppm: u32,
}

/// One perpetual market slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketParams {
    /// Display symbol, e.g. `BTC-PERP`.
    pub symbol: String,
    /// Oracle feed that marks this market.
    pub feed_id: String,
    /// Decimals of the position's atomic unit (display only).
    pub size_decimals: u8,
    /// Maintenance margin fraction, 0 < mmf ≤ imf.
    pub maintenance_margin_ppm: u32,
    /// Initial margin fraction, mmf ≤ imf ≤ 1e6.
    pub initial_margin_ppm: u32,
}

/// Liquidation rules (used by the liquidation statement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiquidationParams {
    /// Largest share of a position one liquidation may close, 0 < f ≤ 1e6.
    pub close_factor_ppm: u32,
    /// Penalty (liquidation bonus) charged on the executed value, < 1e6.
    pub penalty_ppm: u32,
    /// Share of the penalty that goes to the insurance fund, ≤ 1e6; the rest to the liquidator.
    pub insurance_share_ppm: u32,
    /// Positions and collateral worth less than this (quote atomic units) may be closed whole.
    pub dust_notional: u64,
    /// Accounts whose health ratio is below this (ppm) may be closed whole, < 1e6.
    pub deep_breach_ratio_ppm: u32,
    /// The target buffer τ_target ≥ 1e6 (ppm): a liquidation takes the smallest amount
    /// that restores `H(τ_target) ≥ 0`, so the next tick does not liquidate again (as
    /// Drift's and Mango v4's buffers). 1e6 liquidates to the maintenance line.
    pub liquidation_target_ppm: u32,
}

impl RiskParams {
    /// The format version this build reads (2: `liquidation.liquidation_target_ppm`).
    pub const FORMAT_VERSION: u32 = 2;
}

/// Why a parameter set is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// Unknown format version.
    #[error("risk parameters format version {0} is not supported (this build reads version 2, which adds liquidation.liquidation_target_ppm)")]
    Version(u32),
    /// `price_decimals` is not the one this statement version fixes.
    #[error("price_decimals is {0}, statement version 1 requires {PRICE_DECIMALS}")]
    PriceDecimals(u32),
    /// More tokens or markets than the circuit has slots.
    #[error("{kind}: {got} given, the circuit has {max} slots")]
    TooMany {
        /// `tokens` or `markets`.
        kind: &'static str,
        /// Count given.
        got: usize,
        /// Slots available.
        max: usize,
    },
    /// A symbol or feed id is empty, too long or not printable ASCII.
    #[error("{what} {name:?} must be 1–{MAX_NAME_LEN} printable ASCII characters")]
    BadName {
        /// Which field.
        what: &'static str,
        /// Its value.
        name: String,
    },
    /// Two token slots, or two market slots, use the same feed id.
    #[error("feed id {0:?} is used by two token slots or two market slots")]
    DuplicateFeed(String),
    /// A token and a market share a feed but not an atomic unit.
    #[error("feed {feed_id:?} prices a token with {token_decimals} decimals and a market with {market_decimals}: a shared feed needs equal decimals")]
    SharedFeedDecimals {
        /// The feed.
        feed_id: String,
        /// The token's decimals.
        token_decimals: u8,
        /// The market's size decimals.
        market_decimals: u8,
    },
    /// A market's penalty is not below `deep_breach_ratio · mmf`: outside deep breach a
    /// close of it could not improve the account's health ratio.
    #[error("markets[{market}]: penalty_ppm {penalty_ppm} must be below deep_breach_ratio_ppm × maintenance_margin_ppm / 1e6 = {bound}: otherwise closing it does not improve an account's health ratio")]
    PenaltyTooHigh {
        /// The market slot.
        market: usize,
        /// The penalty.
        penalty_ppm: u32,
        /// The bound it must stay below (ppm).
        bound: u64,
    },
    /// A ratio outside its documented range.
    #[error("{what} = {value} ppm is outside {range}")]
    Ratio {
        /// Which field, with its slot.
        what: String,
        /// Its value.
        value: u32,
        /// The allowed range.
        range: &'static str,
    },
}

impl RiskParams {
    /// Checks every documented range; every loader calls it.
    ///
    /// # Errors
    /// [`ParamsError`] naming the first bad field.
    pub fn validate(&self) -> Result<(), ParamsError> {
        if self.version != Self::FORMAT_VERSION {
            return Err(ParamsError::Version(self.version));
        }
        if self.price_decimals != PRICE_DECIMALS {
            return Err(ParamsError::PriceDecimals(self.price_decimals));
        }
        check_name("quote_symbol", &self.quote_symbol)?;
        if self.tokens.len() > TOKENS {
            return Err(ParamsError::TooMany {
                kind: "tokens",
                got: self.tokens.len(),
                max: TOKENS,
            });
        }
        if self.markets.len() > MARKETS {
            return Err(ParamsError::TooMany {
                kind: "markets",
                got: self.markets.len(),
                max: MARKETS,
            });
        }
        let ppm = PPM as u32;
        // A token and a market may share a feed (ETH and ETH-PERP); two tokens or two
        // markets on one feed are a configuration mistake.
        let mut token_feeds = std::collections::BTreeSet::new();
        let mut market_feeds = std::collections::BTreeSet::new();
        for (i, t) in self.tokens.iter().enumerate() {
            check_name("token symbol", &t.symbol)?;
            check_name("feed_id", &t.feed_id)?;
            if !token_feeds.insert(t.feed_id.as_str()) {
                return Err(ParamsError::DuplicateFeed(t.feed_id.clone()));
            }
            ratio(
                format!("tokens[{i}].asset_weight_ppm"),
                t.asset_weight_ppm,
                0,
                ppm,
                "[0, 1e6]",
            )?;
            ratio(
                format!("tokens[{i}].liability_weight_ppm"),
                t.liability_weight_ppm,
                ppm,
                u32::MAX,
                "[1e6, 2^32)",
            )?;
        }
        for (j, m) in self.markets.iter().enumerate() {
            check_name("market symbol", &m.symbol)?;
            check_name("feed_id", &m.feed_id)?;
            if !market_feeds.insert(m.feed_id.as_str()) {
                return Err(ParamsError::DuplicateFeed(m.feed_id.clone()));
            }
            // One feed price is per atomic unit: a token and a market sharing it must
            // share the atomic unit too.
            if let Some(t) = self.tokens.iter().find(|t| t.feed_id == m.feed_id) {
                if t.decimals != m.size_decimals {
                    return Err(ParamsError::SharedFeedDecimals {
                        feed_id: m.feed_id.clone(),
                        token_decimals: t.decimals,
                        market_decimals: m.size_decimals,
                    });
                }
            }
            ratio(
                format!("markets[{j}].maintenance_margin_ppm"),
                m.maintenance_margin_ppm,
                1,
                ppm,
                "(0, 1e6]",
            )?;
            ratio(
                format!("markets[{j}].initial_margin_ppm"),
                m.initial_margin_ppm,
                m.maintenance_margin_ppm,
                ppm,
                "[maintenance_margin_ppm, 1e6]",
            )?;
        }
        let l = &self.liquidation;
        ratio(
            "liquidation.close_factor_ppm".into(),
            l.close_factor_ppm,
            1,
            ppm,
            "(0, 1e6]",
        )?;
        ratio(
            "liquidation.penalty_ppm".into(),
            l.penalty_ppm,
            0,
            ppm - 1,
            "[0, 1e6)",
        )?;
        ratio(
            "liquidation.insurance_share_ppm".into(),
            l.insurance_share_ppm,
            0,
            ppm,
            "[0, 1e6]",
        )?;
        ratio(
            "liquidation.deep_breach_ratio_ppm".into(),
            l.deep_breach_ratio_ppm,
            0,
            ppm - 1,
            "[0, 1e6)",
        )?;
        ratio(
            "liquidation.liquidation_target_ppm".into(),
            l.liquidation_target_ppm,
            ppm,
            u32::MAX,
            "[1e6, 2^32)",
        )?;
        // Outside deep breach a close must improve the health ratio E/R: it loses the
        // penalty π·N and frees mmf·N of requirement, which improves the ratio exactly
        // when E/R > π/mmf — guaranteed when π/mmf < the deep-breach ratio.
        for (market, m) in self.markets.iter().enumerate() {
            let lhs = u64::from(l.penalty_ppm) * PPM;
            let rhs = u64::from(l.deep_breach_ratio_ppm) * u64::from(m.maintenance_margin_ppm);
            if lhs >= rhs {
                return Err(ParamsError::PenaltyTooHigh {
                    market,
                    penalty_ppm: l.penalty_ppm,
                    bound: rhs / PPM,
                });
            }
        }
        Ok(())
    }

    /// SHA-256 of the canonical encoding under the tag `zkmargin/risk-params/v1`.
    ///
    /// The encoding: length-prefixed tag; then big-endian integers and `u8`-length-
    /// prefixed ASCII strings, every field in declaration order, vectors prefixed by
    /// their `u8` length (see `docs/FORMATS.md`).
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        let put_str = |h: &mut Sha256, s: &str| {
            // Names are validated to ≤ 32 bytes; the cast cannot truncate a valid set.
            h.update([s.len() as u8]);
            h.update(s.as_bytes());
        };
        put_str(
            &mut h,
            std::str::from_utf8(DIGEST_DOMAIN).expect("ascii tag"),
        );
        h.update(self.version.to_be_bytes());
        h.update(self.revision.to_be_bytes());
        h.update(self.price_decimals.to_be_bytes());
        put_str(&mut h, &self.quote_symbol);
        h.update([self.quote_decimals]);
        h.update([self.tokens.len() as u8]);
        for t in &self.tokens {
            put_str(&mut h, &t.symbol);
            put_str(&mut h, &t.feed_id);
            h.update([t.decimals]);
            h.update(t.asset_weight_ppm.to_be_bytes());
            h.update(t.liability_weight_ppm.to_be_bytes());
        }
        h.update([self.markets.len() as u8]);
        for m in &self.markets {
            put_str(&mut h, &m.symbol);
            put_str(&mut h, &m.feed_id);
            h.update([m.size_decimals]);
            h.update(m.maintenance_margin_ppm.to_be_bytes());
            h.update(m.initial_margin_ppm.to_be_bytes());
        }
        let l = &self.liquidation;
        h.update(l.close_factor_ppm.to_be_bytes());
        h.update(l.penalty_ppm.to_be_bytes());
        h.update(l.insurance_share_ppm.to_be_bytes());
        h.update(l.dust_notional.to_be_bytes());
        h.update(l.deep_breach_ratio_ppm.to_be_bytes());
        h.update(l.liquidation_target_ppm.to_be_bytes());
        h.finalize().into()
    }

    /// The numbers the margin circuit uses, slot by slot; unused slots are zero.
    pub fn weights(&self) -> MarginWeights {
        let mut w = MarginWeights::default();
        for (i, t) in self.tokens.iter().enumerate() {
            w.asset_weight_ppm[i] = t.asset_weight_ppm;
            w.liability_weight_ppm[i] = t.liability_weight_ppm;
        }
        for (j, m) in self.markets.iter().enumerate() {
            w.maintenance_ppm[j] = m.maintenance_margin_ppm;
        }
        w
    }

    /// Feed ids of the token slots, then of the market slots, in slot order.
    pub fn feed_ids(&self) -> impl Iterator<Item = &str> {
        self.tokens
            .iter()
            .map(|t| t.feed_id.as_str())
            .chain(self.markets.iter().map(|m| m.feed_id.as_str()))
    }
}

impl RiskParams {
    /// Illustrative parameters for demos, tests and the development defaults: 4 tokens
    /// (ETH, BTC, SOL, USDC) and 4 perpetual markets (BTC, ETH, SOL, DOGE), quote in
    /// 1e-6 USD. Not a recommendation for a real venue.
    pub fn development() -> Self {
        let token = |symbol: &str, decimals, asset, liability| TokenParams {
            symbol: symbol.into(),
            feed_id: format!("{symbol}/USD"),
            decimals,
            asset_weight_ppm: asset,
            liability_weight_ppm: liability,
        };
        let market = |symbol: &str, size_decimals, mmf, imf| MarketParams {
            symbol: format!("{symbol}-PERP"),
            feed_id: format!("{symbol}/USD"),
            size_decimals,
            maintenance_margin_ppm: mmf,
            initial_margin_ppm: imf,
        };
        RiskParams {
            version: Self::FORMAT_VERSION,
            revision: 1,
            price_decimals: PRICE_DECIMALS,
            quote_symbol: "USD".into(),
            quote_decimals: 6,
            tokens: vec![
                token("ETH", 9, 830_000, 1_200_000),
                token("BTC", 8, 800_000, 1_250_000),
                token("SOL", 9, 700_000, 1_300_000),
                token("USDC", 6, 950_000, 1_050_000),
            ],
            markets: vec![
                market("BTC", 8, 30_000, 50_000),
                market("ETH", 9, 30_000, 50_000),
                market("SOL", 9, 50_000, 100_000),
                market("DOGE", 6, 100_000, 200_000),
            ],
            liquidation: LiquidationParams {
                close_factor_ppm: 500_000,
                penalty_ppm: 10_000,
                insurance_share_ppm: 500_000,
                dust_notional: 100_000_000,
                deep_breach_ratio_ppm: 950_000,
                liquidation_target_ppm: 1_050_000,
            },
        }
    }
}

fn check_name(what: &'static str, name: &str) -> Result<(), ParamsError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if ok {
        Ok(())
    } else {
        Err(ParamsError::BadName {
            what,
            name: name.to_owned(),
        })
    }
}

fn ratio(
    what: String,
    value: u32,
    lo: u32,
    hi: u32,
    range: &'static str,
) -> Result<(), ParamsError> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(ParamsError::Ratio { what, value, range })
    }
}

/// The risk numbers the margin circuit takes as public inputs, per slot (ppm).
///
/// Unused slots are zero: a balance there contributes nothing, which is why
/// [`crate::Account::check_slots`] refuses such balances before proving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MarginWeights {
    /// Deposit weight per token slot.
    pub asset_weight_ppm: [u32; TOKENS],
    /// Borrow weight per token slot.
    pub liability_weight_ppm: [u32; TOKENS],
    /// Maintenance margin fraction per market slot.
    pub maintenance_ppm: [u32; MARKETS],
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The worked example of SPEC.md: ETH (weight 0.83) and a BTC perpetual (mmf 3 %).
    pub(crate) fn spec_params() -> RiskParams {
        RiskParams {
            version: RiskParams::FORMAT_VERSION,
            revision: 1,
            price_decimals: PRICE_DECIMALS,
            quote_symbol: "USD".into(),
            quote_decimals: 6,
            tokens: vec![TokenParams {
                symbol: "ETH".into(),
                feed_id: "ETH/USD".into(),
                decimals: 9,
                asset_weight_ppm: 830_000,
                liability_weight_ppm: 1_200_000,
            }],
            markets: vec![MarketParams {
                symbol: "BTC-PERP".into(),
                feed_id: "BTC/USD".into(),
                size_decimals: 8,
                maintenance_margin_ppm: 30_000,
                initial_margin_ppm: 50_000,
            }],
            liquidation: LiquidationParams {
                close_factor_ppm: 500_000,
                penalty_ppm: 10_000,
                insurance_share_ppm: 500_000,
                dust_notional: 100_000_000,
                deep_breach_ratio_ppm: 950_000,
                liquidation_target_ppm: 1_050_000,
            },
        }
    }

    #[test]
    fn validation_catches_each_range() {
        let good = spec_params();
        good.validate().unwrap();

        let mut p = good.clone();
        p.tokens[0].asset_weight_ppm = 1_000_001;
        assert!(matches!(p.validate(), Err(ParamsError::Ratio { .. })));

        let mut p = good.clone();
        p.tokens[0].liability_weight_ppm = 999_999;
        assert!(matches!(p.validate(), Err(ParamsError::Ratio { .. })));

        let mut p = good.clone();
        p.markets[0].initial_margin_ppm = 29_999;
        assert!(matches!(p.validate(), Err(ParamsError::Ratio { .. })));

        let mut p = good.clone();
        p.markets[0].feed_id = "ETH/USD".into();
        assert!(matches!(
            p.validate(),
            Err(ParamsError::SharedFeedDecimals { .. })
        ));
        p.markets[0].size_decimals = p.tokens[0].decimals;
        p.validate().expect("a token and a market may share a feed");
        p.markets.push(p.markets[0].clone());
        assert_eq!(
            p.validate(),
            Err(ParamsError::DuplicateFeed("ETH/USD".into()))
        );

        let mut p = good.clone();
        p.version = 1;
        assert_eq!(p.validate(), Err(ParamsError::Version(1)));

        let mut p = good.clone();
        p.liquidation.liquidation_target_ppm = 999_999;
        assert!(matches!(p.validate(), Err(ParamsError::Ratio { .. })));

        let mut p = good.clone();
        p.liquidation.penalty_ppm = 30_000; // = mmf: a close never improves the ratio
        assert!(matches!(
            p.validate(),
            Err(ParamsError::PenaltyTooHigh { market: 0, .. })
        ));

        let mut p = good.clone();
        p.price_decimals = 8;
        assert_eq!(p.validate(), Err(ParamsError::PriceDecimals(8)));

        let mut p = good.clone();
        p.tokens = vec![good.tokens[0].clone(); TOKENS + 1];
        assert!(matches!(p.validate(), Err(ParamsError::TooMany { .. })));

        let mut p = good;
        p.quote_symbol = String::new();
        assert!(matches!(p.validate(), Err(ParamsError::BadName { .. })));
    }

    #[test]
    fn development_params_are_valid() {
        RiskParams::development().validate().unwrap();
    }

    #[test]
    fn digest_binds_every_field() {
        let base = spec_params();
        let d = base.digest();
        let mut p = base.clone();
        p.revision += 1;
        assert_ne!(p.digest(), d);
        let mut p = base.clone();
        p.markets[0].maintenance_margin_ppm += 1;
        assert_ne!(p.digest(), d);
        let mut p = base.clone();
        p.liquidation.dust_notional += 1;
        assert_ne!(p.digest(), d);
        // Length prefixes: moving a byte between adjacent strings changes the digest.
        let mut p = base.clone();
        p.tokens[0].symbol = "ETHE".into();
        p.tokens[0].feed_id = "TH/USD".into();
        assert_ne!(p.digest(), d);
        assert_eq!(base.digest(), d, "deterministic");
    }
}
