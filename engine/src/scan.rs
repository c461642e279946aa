//! The per-tick native scan: every account's status at the report's prices.
//!
//! [`Account::health`] (exact `I256`, `zkmargin_circuits`) is the specification; this
//! module decides the same statuses on a faster path and falls back to the
//! specification itself whenever the fast path cannot prove its answer exact.
//!
//! # The fast path and why it is exact
//!
//! Dividing the specification's equity by 10^6 (every term of it is a multiple of
//! 10^6) gives, in 10^-15 quote atomic units,
//!
//! ```text
//! E' = q·10^15 + Σ_i t_i·(p_i·w_i) + Σ_j n_j·(p_j·10^6)        (w_i by the sign of t_i)
//! R  = Σ_j |n_j|·(p_j·mmf_j)
//! H(τ) = 10^6·E' − τ·R
//! ```
//!
//! [`PreparedTick::new`] forms the per-slot coefficients once per tick, exactly in `u128`
//! (`p·w < 2^64·2^32 = 2^96`, `p·10^6 < 2^84`, `10^15 < 2^50`). Per account:
//! - a term whose coefficient is below 2^64 is one widening multiply,
//!   `|t|·c ≤ 2^63·(2^64 − 1) < 2^127`: exact in `i128` / `u128`, no check needed;
//!   a wider coefficient (`p·w ≥ 2^64`: a price above ≈ 1.8·10^13 per atomic unit at
//!   weight 1) uses `checked_mul`;
//! - every sum is `checked_add`;
//! - the two sides `10^6·E'` and `τ·R` are compared as exact 256-bit products
//!   (`mul_wide`), and `E' < 0` breaches at every τ because `τ·R ≥ 0`.
//!
//! Any `None` from a checked operation sends that one account to
//! [`Account::health`] (counted in [`ScanResult::fallbacks`]). So every answer is
//! either the specification's or computed without any rounding or wrapping: there is
//! no approximate case. Realistic accounts never fall back: a check can fail only if
//! some term exceeds `2^127 / 17` units of 10^-15 quote (≈ 10^22 quote atomic units,
//! 10^16 USD at 6 decimals).
//!
//! # Verdicts
//!
//! [`Verdict::Breach`] iff `H(1) < 0`; [`Verdict::Warning`] iff `H(1) ≥ 0` and
//! `H(τ_warn) < 0`; otherwise [`Verdict::Healthy`]. A `τ_warn ≤ 10^6` gives no warnings
//! (`R ≥ 0`, so `H` never increases with τ), but nothing relies on that: both statuses
//! are computed.

use std::collections::HashMap;

use rayon::prelude::*;
use zkmargin_circuits::{
    Account, MarginWeights, Prices, RiskParams, Status, MARKETS, PPM, PRICE_SCALE, SLOTS, TOKENS,
};

/// τ = 1 in ppm: the maintenance line, where an account becomes liquidatable.
pub const MAINTENANCE_TAU_PPM: u32 = PPM as u32;

/// Coefficient of the quote balance in `E'`: `10^21 / 10^6 = 10^15 < 2^50`.
const QUOTE_COEFFICIENT: u128 = PRICE_SCALE as u128 * PPM as u128;

/// Accounts per parallel work item: large enough that rayon's overhead is noise,
/// small enough that 2 cores balance on 10^5 accounts.
const CHUNK: usize = 4096;

/// What a tick is scanned against: the risk weights, the report's prices and the
/// early-warning threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanParams {
    /// Per-slot weights and maintenance fractions ([`RiskParams::weights`]).
    pub weights: MarginWeights,
    /// The report's prices per slot.
    pub prices: Prices,
    /// Early-warning threshold τ_warn in ppm (meant to be > 10^6); `None`: no warnings.
    pub warn_tau_ppm: Option<u32>,
}

impl ScanParams {
    /// Scan parameters from the venue's risk parameters.
    pub fn new(risk: &RiskParams, prices: Prices, warn_tau_ppm: Option<u32>) -> Self {
        Self {
            weights: risk.weights(),
            prices,
            warn_tau_ppm,
        }
    }
}

/// One account's classification on a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Meets at τ = 1 and (if configured) at τ_warn.
    Healthy,
    /// Meets at τ = 1 but breaches at τ_warn: inside the early-warning band.
    Warning,
    /// Breaches at τ = 1: liquidatable.
    Breach,
}

impl Verdict {
    /// The verdict the specification's statuses give: at τ = 1, and at τ_warn if any.
    pub fn from_statuses(at_maintenance: Status, at_warn: Option<Status>) -> Self {
        match (at_maintenance, at_warn) {
            (Status::Breaches, _) => Verdict::Breach,
            (Status::Meets, Some(Status::Breaches)) => Verdict::Warning,
            (Status::Meets, _) => Verdict::Healthy,
        }
    }
}

/// The outcome of a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanResult {
    /// Indices (into the scanned slice, or rows of the [`AccountTable`]) of the
    /// accounts that breach at τ = 1, ascending.
    pub breaches: Vec<usize>,
    /// Indices of the accounts in the warning band, ascending; disjoint from `breaches`.
    pub warnings: Vec<usize>,
    /// Accounts scanned.
    pub scanned: usize,
    /// Accounts the fast path could not decide exactly and the `I256` specification
    /// decided (see the module doc); 0 for any realistic book.
    pub fallbacks: usize,
}

/// The classification of one account on a tick.
///
/// Builds the tick's coefficients each call; to classify many accounts, use
/// [`PreparedTick::verdict`], [`scan`] or [`AccountTable::scan`].
pub fn verdict(account: &Account, params: &ScanParams) -> Verdict {
    PreparedTick::new(params).verdict(account)
}

/// Classifies every account of `accounts` (pairs of account id and state) in parallel
/// on the current rayon pool. Result indices point into `accounts`.
pub fn scan(accounts: &[(u64, Account)], params: &ScanParams) -> ScanResult {
    let tick = PreparedTick::new(params);
    par_scan(accounts, |_, (_, a)| tick.judge(a))
}

/// A tick's per-slot coefficients, formed once from [`ScanParams`].
#[derive(Debug, Clone)]
pub struct PreparedTick {
    /// `p_i·w_asset_i < 2^96` per token slot (a deposit).
    asset: [u128; TOKENS],
    /// `p_i·w_liab_i < 2^96` per token slot (a borrow).
    liability: [u128; TOKENS],
    /// `p_j·10^6 < 2^84` per market slot (signed notional, in `E'`).
    mark: [u128; MARKETS],
    /// `p_j·mmf_j < 2^96` per market slot (in `R`).
    maintenance: [u128; MARKETS],
    /// The parameters, for the fallback to the specification.
    params: ScanParams,
}

impl PreparedTick {
    /// Forms the coefficients (exact: each is a `u64·u32` product in `u128`).
    pub fn new(params: &ScanParams) -> Self {
        let (w, p) = (&params.weights, &params.prices);
        let product = |price: u64, factor: u64| u128::from(price) * u128::from(factor);
        Self {
            asset: std::array::from_fn(|i| product(p.tokens[i], w.asset_weight_ppm[i].into())),
            liability: std::array::from_fn(|i| {
                product(p.tokens[i], w.liability_weight_ppm[i].into())
            }),
            mark: std::array::from_fn(|j| product(p.markets[j], PPM)),
            maintenance: std::array::from_fn(|j| {
                product(p.markets[j], w.maintenance_ppm[j].into())
            }),
            params: *params,
        }
    }

    /// The parameters this tick was prepared from.
    pub fn params(&self) -> &ScanParams {
        &self.params
    }

    /// One account's classification: the fast path, or the specification if the fast
    /// path cannot decide it exactly.
    pub fn verdict(&self, account: &Account) -> Verdict {
        self.judge(account).0
    }

    /// The verdict, and whether the specification decided it.
    fn judge(&self, account: &Account) -> (Verdict, bool) {
        match self.sides(&account.tokens, account.quote, &account.positions) {
            Some((e, r)) => (self.classify(e, r), false),
            None => (self.by_spec(account), true),
        }
    }

    /// The verdict of [`Account::status`], the specification.
    fn by_spec(&self, account: &Account) -> Verdict {
        let (w, p) = (&self.params.weights, &self.params.prices);
        let h = account.health(w, p);
        Verdict::from_statuses(
            h.status(MAINTENANCE_TAU_PPM),
            self.params.warn_tau_ppm.map(|t| h.status(t)),
        )
    }

    /// `(E', R)` of the module doc, or `None` if a sum or a wide product would leave
    /// 128 bits.
    #[inline]
    fn sides(
        &self,
        tokens: &[i64; TOKENS],
        quote: i64,
        positions: &[i64; MARKETS],
    ) -> Option<(i128, u128)> {
        // |q|·10^15 < 2^113: never None.
        let mut e = signed_term(quote, QUOTE_COEFFICIENT)?;
        for (i, &t) in tokens.iter().enumerate() {
            let c = if t >= 0 {
                self.asset[i]
            } else {
                self.liability[i]
            };
            e = e.checked_add(signed_term(t, c)?)?;
        }
        let mut r = 0u128;
        for (j, &n) in positions.iter().enumerate() {
            e = e.checked_add(signed_term(n, self.mark[j])?)?;
            r = r.checked_add(unsigned_term(n.unsigned_abs(), self.maintenance[j])?)?;
        }
        Some((e, r))
    }

    /// The verdict from exact `(E', R)`.
    #[inline]
    fn classify(&self, e: i128, r: u128) -> Verdict {
        if !meets(e, r, MAINTENANCE_TAU_PPM) {
            Verdict::Breach
        } else if self.params.warn_tau_ppm.is_some_and(|t| !meets(e, r, t)) {
            Verdict::Warning
        } else {
            Verdict::Healthy
        }
    }
}

/// `t·c` exactly, or `None` if it leaves `i128` (only possible for `c ≥ 2^64`).
#[inline(always)]
fn signed_term(t: i64, c: u128) -> Option<i128> {
    match u64::try_from(c) {
        Ok(c) => {
            // |t|·c ≤ 2^63·(2^64 − 1) < 2^127: exact, and fits i128 with either sign.
            let m = (u128::from(t.unsigned_abs()) * u128::from(c)) as i128;
            Some(if t < 0 { -m } else { m })
        }
        // c < 2^96 by construction, so the cast is exact.
        Err(_) => i128::from(t).checked_mul(c as i128),
    }
}

/// `a·c` exactly, or `None` if it leaves `u128` (only possible for `c ≥ 2^64`).
#[inline(always)]
fn unsigned_term(a: u64, c: u128) -> Option<u128> {
    match u64::try_from(c) {
        // a·c < 2^64·2^64 = 2^128.
        Ok(c) => Some(u128::from(a) * u128::from(c)),
        Err(_) => u128::from(a).checked_mul(c),
    }
}

/// Whether `H(τ) = 10^6·e − τ·r ≥ 0`, exactly.
#[inline(always)]
fn meets(e: i128, r: u128, tau_ppm: u32) -> bool {
    match u128::try_from(e) {
        Ok(e) => mul_wide(e, PPM as u32) >= mul_wide(r, tau_ppm),
        // e < 0: 10^6·e < 0 ≤ τ·r.
        Err(_) => false,
    }
}

/// `x·k` as the (high, low) 128-bit halves of the exact 256-bit product; the tuple
/// order is the numeric order.
#[inline(always)]
fn mul_wide(x: u128, k: u32) -> (u128, u128) {
    let k = u128::from(k);
    // x = x_hi·2^64 + x_lo, so x·k = (x_hi·k)·2^64 + x_lo·k, each part < 2^96.
    let lo = (x & u128::from(u64::MAX)) * k;
    let hi = (x >> 64) * k;
    let (low, carry) = lo.overflowing_add(hi << 64);
    ((hi >> 64) + u128::from(carry), low)
}

/// Classifies `rows` in parallel chunks and gathers the indices in order.
fn par_scan<T: Sync>(
    rows: &[T],
    judge: impl Fn(usize, &T) -> (Verdict, bool) + Sync,
) -> ScanResult {
    let parts: Vec<ScanResult> = rows
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let base = c * CHUNK;
            let mut part = ScanResult {
                scanned: chunk.len(),
                ..ScanResult::default()
            };
            for (k, row) in chunk.iter().enumerate() {
                let (v, fell_back) = judge(base + k, row);
                part.fallbacks += usize::from(fell_back);
                match v {
                    Verdict::Breach => part.breaches.push(base + k),
                    Verdict::Warning => part.warnings.push(base + k),
                    Verdict::Healthy => {}
                }
            }
            part
        })
        .collect();
    let mut out = ScanResult {
        breaches: Vec::with_capacity(parts.iter().map(|p| p.breaches.len()).sum()),
        warnings: Vec::with_capacity(parts.iter().map(|p| p.warnings.len()).sum()),
        ..ScanResult::default()
    };
    for p in parts {
        out.breaches.extend_from_slice(&p.breaches);
        out.warnings.extend_from_slice(&p.warnings);
        out.scanned += p.scanned;
        out.fallbacks += p.fallbacks;
    }
    out
}

/// The engine's in-memory book: each account's 17 balances in one flat row (the hot
/// data the scan reads, 136 bytes), the full [`Account`] beside it (for proof jobs and
/// the fallback), and an id index for updates.
///
/// Row order is insertion order; [`AccountTable::remove`] moves the last row into the
/// hole. Scan results are row indices, valid until the next mutation.
#[derive(Clone, Default)]
pub struct AccountTable {
    /// Balances in commitment order ([`Account::slots`]): tokens, quote, positions.
    rows: Vec<[i64; SLOTS]>,
    /// The full states, row for row.
    accounts: Vec<Account>,
    /// Account id → row.
    index: HashMap<u64, usize>,
}

impl std::fmt::Debug for AccountTable {
    // Balances are secrets: only the size reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountTable")
            .field("len", &self.rows.len())
            .finish_non_exhaustive()
    }
}

impl AccountTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A table of `accounts`, keyed by [`Account::id`]; a later account with the same
    /// id replaces the earlier one.
    pub fn from_accounts(accounts: impl IntoIterator<Item = Account>) -> Self {
        let accounts = accounts.into_iter();
        let mut table = Self {
            rows: Vec::with_capacity(accounts.size_hint().0),
            accounts: Vec::with_capacity(accounts.size_hint().0),
            index: HashMap::with_capacity(accounts.size_hint().0),
        };
        for a in accounts {
            table.upsert(a);
        }
        table
    }

    /// Inserts `account`, or replaces the state of the account with its id; returns
    /// its row.
    pub fn upsert(&mut self, account: Account) -> usize {
        let slots = account.slots();
        match self.index.get(&account.id) {
            Some(&row) => {
                self.rows[row] = slots;
                self.accounts[row] = account;
                row
            }
            None => {
                let row = self.rows.len();
                self.index.insert(account.id, row);
                self.rows.push(slots);
                self.accounts.push(account);
                row
            }
        }
    }

    /// Removes the account with `id`, returning it; the last row takes its place.
    pub fn remove(&mut self, id: u64) -> Option<Account> {
        let row = self.index.remove(&id)?;
        self.rows.swap_remove(row);
        let account = self.accounts.swap_remove(row);
        if let Some(moved) = self.accounts.get(row) {
            self.index.insert(moved.id, row);
        }
        Some(account)
    }

    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table holds no account.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row of the account with `id`.
    pub fn row_of(&self, id: u64) -> Option<usize> {
        self.index.get(&id).copied()
    }

    /// The account in `row`.
    ///
    /// # Panics
    /// If `row ≥ len()`.
    pub fn account(&self, row: usize) -> &Account {
        &self.accounts[row]
    }

    /// Every account, row by row.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// Classifies every account in parallel on the current rayon pool; result indices
    /// are rows.
    pub fn scan(&self, tick: &PreparedTick) -> ScanResult {
        par_scan(&self.rows, |row, s| {
            let tokens: &[i64; TOKENS] = s[..TOKENS].try_into().expect("8 token slots");
            let positions: &[i64; MARKETS] = s[TOKENS + 1..].try_into().expect("8 market slots");
            match tick.sides(tokens, s[TOKENS], positions) {
                Some((e, r)) => (tick.classify(e, r), false),
                None => (tick.by_spec(&self.accounts[row]), true),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ethnum::U256;

    #[test]
    fn mul_wide_is_the_exact_product() {
        let xs = [
            0,
            1,
            u128::MAX,
            u128::MAX - 1,
            1 << 64,
            (1 << 64) - 1,
            1 << 127,
        ];
        let ks = [0, 1, u32::MAX, 1_000_000, 1_000_001];
        for x in xs {
            for k in ks {
                let (hi, lo) = mul_wide(x, k);
                let want = U256::from(x) * U256::from(k);
                assert_eq!((U256::from(hi) << 128) + U256::from(lo), want, "{x}·{k}");
            }
        }
    }

    #[test]
    fn terms_are_exact_at_the_extremes() {
        let wide = u128::from(u64::MAX) << 32; // p·w at its maximum width
        assert_eq!(
            signed_term(i64::MIN, u128::from(u64::MAX)),
            Some(i128::from(i64::MIN) * i128::from(u64::MAX))
        );
        assert_eq!(
            signed_term(i64::MAX, u128::from(u64::MAX)),
            Some(i128::from(i64::MAX) * i128::from(u64::MAX))
        );
        assert_eq!(signed_term(i64::MIN, wide), None);
        assert_eq!(signed_term(-3, wide), Some(-3 * wide as i128));
        assert_eq!(unsigned_term(u64::MAX, wide), None);
        assert_eq!(
            unsigned_term(1 << 63, u128::from(u64::MAX)),
            Some((1u128 << 63) * u128::from(u64::MAX))
        );
    }
}
