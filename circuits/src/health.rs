//! Account health in exact integers: the executable specification of the margin clause.

use ethnum::I256;
use serde::{Deserialize, Serialize};

use crate::{Account, MarginWeights, Prices, PPM, PRICE_SCALE};

/// `|H| < 2^HEALTH_BOUND_BITS` for every representable account, price, weight and τ
/// (the overflow budget in `docs/STATEMENT.md`); the circuit's sign test is this wide.
pub const HEALTH_BOUND_BITS: usize = 195;

/// Scale of equity terms: 10^-21 quote atomic units (10^-9 from prices, 10^-12 from ppm²).
const QUOTE_TO_EQUITY: u128 = (PRICE_SCALE as u128) * (PPM as u128) * (PPM as u128);

/// Whether an account meets or breaches its margin threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `H(τ) ≥ 0`.
    Meets,
    /// `H(τ) < 0`: the account may be liquidated (at τ = 1).
    Breaches,
}

impl Status {
    /// The public-input bit: 0 = meets, 1 = breaches.
    pub fn bit(self) -> bool {
        self == Status::Breaches
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Meets => "meets",
            Status::Breaches => "breaches",
        })
    }
}

/// The two sides of the health inequality, exactly as the circuit computes them.
///
/// `H(τ) = equity − τ · requirement`, where
/// - `equity = quote·10^21 + Σ_i tokens_i·p_i·w_i·10^6 + Σ_j positions_j·p_j·10^12`
///   (10^-21 quote units; `w_i` is the asset weight for a deposit, the liability
///   weight for a borrow),
/// - `requirement = Σ_j |positions_j·p_j|·mmf_j` (10^-15 quote units; τ in ppm
///   brings it to 10^-21).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// Weighted equity, 10^-21 quote atomic units.
    pub equity: I256,
    /// Maintenance requirement before τ, 10^-15 quote atomic units.
    pub requirement: I256,
    /// The tokens' haircut `K = Σ_i t_i·p_i·(10^6 − w_i)` (10^-15 quote atomic units,
    /// ≥ 0: a deposit's `1 − w_asset`, a borrow's `w_liab − 1`): what the weights take
    /// off the tokens' raw value. `equity + 10^6·K` is the unweighted value.
    pub haircut: I256,
}

impl Health {
    /// `H(τ) = equity − τ·requirement`, in 10^-21 quote atomic units.
    pub fn at(&self, tau_ppm: u32) -> I256 {
        self.equity - I256::from(tau_ppm) * self.requirement
    }

    /// The account's status at threshold τ (ppm; 1e6 is the maintenance line).
    pub fn status(&self, tau_ppm: u32) -> Status {
        if self.at(tau_ppm) >= 0 {
            Status::Meets
        } else {
            Status::Breaches
        }
    }

    /// The liquidation target health `T(τ) = H(τ) − (τ − 10^6)·K` (10^-21 quote atomic
    /// units): τ scales every requirement — the perpetuals' maintenance margin and the
    /// tokens' haircuts — so the liquidation target buffer also protects a lending
    /// account. `T(10^6) = H(1)`.
    pub fn target(&self, tau_ppm: u32) -> I256 {
        self.at(tau_ppm) - (I256::from(tau_ppm) - I256::from(PPM)) * self.haircut
    }

    /// `H(τ)` rounded toward −∞ to quote atomic units (for display).
    pub fn excess_quote_units(&self, tau_ppm: u32) -> I256 {
        self.at(tau_ppm).div_euclid(I256::from(QUOTE_TO_EQUITY))
    }
}

impl Account {
    /// Health of the account at `prices` under `weights`.
    ///
    /// Every product is formed in 256-bit integers; the bound of each term is the
    /// overflow budget of `docs/STATEMENT.md`, so nothing here can overflow (the
    /// `debug_assert` restates it).
    pub fn health(&self, weights: &MarginWeights, prices: &Prices) -> Health {
        let ppm = I256::from(PPM);
        let mut equity = I256::from(self.quote) * I256::from(QUOTE_TO_EQUITY);
        let mut haircut = I256::ZERO;
        for i in 0..crate::TOKENS {
            let t = I256::from(self.tokens[i]);
            let w = if self.tokens[i] >= 0 {
                weights.asset_weight_ppm[i]
            } else {
                weights.liability_weight_ppm[i]
            };
            // |t·p·w·10^6| < 2^63·2^64·2^32·2^20 = 2^179.
            let value = t * I256::from(prices.tokens[i]);
            equity += value * I256::from(w) * ppm;
            // t·p·(10^6 − w) ≥ 0 for a valid weight: a deposit weighs ≤ 1, a borrow ≥ 1.
            haircut += value * (ppm - I256::from(w));
        }
        let mut requirement = I256::ZERO;
        for j in 0..crate::MARKETS {
            let notional = I256::from(self.positions[j]) * I256::from(prices.markets[j]);
            // |pos·p·10^12| < 2^127·2^40 = 2^167.
            equity += notional * ppm * ppm;
            // |pos·p|·mmf < 2^127·2^32 = 2^159.
            requirement += notional.abs() * I256::from(weights.maintenance_ppm[j]);
        }
        let health = Health {
            equity,
            requirement,
            haircut,
        };
        debug_assert!(health.at(u32::MAX).unsigned_abs() < ethnum::U256::ONE << HEALTH_BOUND_BITS);
        health
    }

    /// The account's status at `prices` under `weights` and threshold τ (ppm).
    pub fn status(&self, weights: &MarginWeights, prices: &Prices, tau_ppm: u32) -> Status {
        self.health(weights, prices).status(tau_ppm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{params::tests::spec_params, Blinding, Fr, MARKETS, TOKENS};

    /// SPEC.md's worked example: 10 ETH (weight 0.83), quote −80,000, 1 BTC long, mmf 3 %.
    /// ETH in 1e-9 units, BTC in satoshi, quote in 1e-6 USD; prices per atomic unit ×1e9.
    fn spec_account() -> Account {
        let mut tokens = [0; TOKENS];
        tokens[0] = 10_000_000_000; // 10 ETH
        let mut positions = [0; MARKETS];
        positions[0] = 100_000_000; // 1 BTC
        Account {
            id: 1,
            nonce: 0,
            tokens,
            quote: -80_000_000_000, // −80,000 USD
            positions,
            blinding: Blinding(Fr::from(1u64)),
        }
    }

    fn spec_prices(eth_usd: u64, btc_usd: u64) -> Prices {
        let mut p = Prices::default();
        // USD per whole token → 1e-6 USD per atomic unit → ×1e9.
        let per_unit = |usd: u64, decimals: u32| {
            (u128::from(usd) * 1_000_000 * u128::from(PRICE_SCALE) / 10u128.pow(decimals)) as u64
        };
        p.tokens[0] = per_unit(eth_usd, 9);
        p.markets[0] = per_unit(btc_usd, 8);
        p
    }

    #[test]
    fn spec_worked_example() {
        let w = spec_params().weights();
        let a = spec_account();
        // H = 24,900 − 80,000 + 57,000 − 1,710 = +190 USD: meets.
        let h = a.health(&w, &spec_prices(3_000, 57_000));
        assert_eq!(h.excess_quote_units(PPM as u32), I256::from(190_000_000));
        assert_eq!(h.status(PPM as u32), Status::Meets);
        // ETH at 2,900: H = 24,070 − 80,000 + 57,000 − 1,710 = −640 USD: breaches.
        let h = a.health(&w, &spec_prices(2_900, 57_000));
        assert_eq!(h.excess_quote_units(PPM as u32), I256::from(-640_000_000));
        assert_eq!(h.status(PPM as u32), Status::Breaches);
    }

    #[test]
    fn tau_is_distance_to_liquidation() {
        let w = spec_params().weights();
        let h = spec_account().health(&w, &spec_prices(3_000, 57_000));
        // Requirement 1,710 USD and excess 190 USD: meets up to τ = 1,900/1,710 ≈ 1.111.
        assert_eq!(h.status(1_111_111), Status::Meets);
        assert_eq!(h.status(1_111_112), Status::Breaches);
    }

    #[test]
    fn extreme_account_stays_inside_the_budget() {
        let mut a = spec_account();
        a.tokens = [i64::MIN; TOKENS];
        a.positions = [i64::MIN; MARKETS];
        a.quote = i64::MIN;
        let w = MarginWeights {
            asset_weight_ppm: [u32::MAX; TOKENS],
            liability_weight_ppm: [u32::MAX; TOKENS],
            maintenance_ppm: [u32::MAX; MARKETS],
        };
        let p = Prices {
            tokens: [u64::MAX; TOKENS],
            markets: [u64::MAX; MARKETS],
        };
        let h = a.health(&w, &p).at(u32::MAX);
        assert!(h < 0 && h.unsigned_abs() < ethnum::U256::ONE << HEALTH_BOUND_BITS);
    }
}
