//! The native scan against its specification, `Account::status` (exact `I256`):
//! random accounts over the full representable ranges, the exact boundaries of the
//! sign test on both the fast path and the fallback, and whole scans.

use ethnum::I256;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zkmargin_circuits::{
    Account, Blinding, Fr, MarginWeights, Prices, RiskParams, Status, MARKETS, PPM, TOKENS,
};
use zkmargin_engine::scan::{
    scan, verdict, AccountTable, PreparedTick, ScanParams, Verdict, MAINTENANCE_TAU_PPM,
};

fn account(id: u64, tokens: [i64; TOKENS], quote: i64, positions: [i64; MARKETS]) -> Account {
    Account {
        id,
        nonce: 0,
        tokens,
        quote,
        positions,
        blinding: Blinding(Fr::from(id)),
    }
}

/// The specification, written out independently of the module under test.
fn spec(a: &Account, p: &ScanParams) -> Verdict {
    if a.status(&p.weights, &p.prices, MAINTENANCE_TAU_PPM) == Status::Breaches {
        Verdict::Breach
    } else if p
        .warn_tau_ppm
        .is_some_and(|t| a.status(&p.weights, &p.prices, t) == Status::Breaches)
    {
        Verdict::Warning
    } else {
        Verdict::Healthy
    }
}

/// The verdict and whether the fallback decided it (a one-account scan).
fn verdict_and_path(a: &Account, p: &ScanParams) -> (Verdict, bool) {
    let r = scan(&[(a.id, a.clone())], p);
    let v = if r.breaches == [0] {
        Verdict::Breach
    } else if r.warnings == [0] {
        Verdict::Warning
    } else {
        Verdict::Healthy
    };
    assert_eq!(r.scanned, 1);
    (v, r.fallbacks == 1)
}

// ---- Strategies over the full representable ranges. ----

fn balance() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => Just(0i64),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => Just(i64::MIN + 1),
        1 => prop_oneof![Just(-1i64), Just(1)],
        2 => -1_000i64..1_000,
        3 => -(1i64 << 40)..(1i64 << 40),
        1 => prop_oneof![(1i64 << 61)..i64::MAX, i64::MIN..-(1i64 << 61)],
        3 => any::<i64>(),
    ]
}

fn price() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        1 => Just(1u64),
        1 => Just(u64::MAX),
        1 => (1u64 << 63)..=u64::MAX,
        3 => 1u64..(1u64 << 44),
        2 => any::<u64>(),
    ]
}

fn weight() -> impl Strategy<Value = u32> {
    prop_oneof![
        1 => Just(0u32),
        1 => Just(1u32),
        1 => Just(u32::MAX),
        1 => Just(PPM as u32),
        3 => 0u32..=2_000_000,
        2 => any::<u32>(),
    ]
}

fn tau() -> impl Strategy<Value = Option<u32>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(PPM as u32)),
        1 => Just(Some(u32::MAX)),
        1 => Just(Some(0u32)),
        3 => (PPM as u32..2_000_000).prop_map(Some),
        2 => any::<u32>().prop_map(Some),
    ]
}

fn params() -> impl Strategy<Value = ScanParams> {
    (
        proptest::array::uniform8(weight()),
        proptest::array::uniform8(weight()),
        proptest::array::uniform8(weight()),
        proptest::array::uniform8(price()),
        proptest::array::uniform8(price()),
        tau(),
    )
        .prop_map(
            |(asset, liability, mmf, tokens, markets, warn)| ScanParams {
                weights: MarginWeights {
                    asset_weight_ppm: asset,
                    liability_weight_ppm: liability,
                    maintenance_ppm: mmf,
                },
                prices: Prices { tokens, markets },
                warn_tau_ppm: warn,
            },
        )
}

fn any_account() -> impl Strategy<Value = Account> {
    (
        any::<u64>(),
        proptest::array::uniform8(balance()),
        balance(),
        proptest::array::uniform8(balance()),
    )
        .prop_map(|(id, t, q, n)| account(id, t, q, n))
}

/// Small balances, prices and weights: every `E'` and `R` below 2^60, so a single
/// adjusting slot of coefficient 1 can move `E'` to any target.
fn moderate() -> impl Strategy<Value = ([i64; TOKENS], i64, [i64; MARKETS], ScanParams)> {
    let small = -(1i64 << 16)..(1i64 << 16);
    (
        proptest::array::uniform8(small.clone()),
        -8i64..8,
        proptest::array::uniform8(small),
        proptest::array::uniform8(0u32..(1 << 22)),
        proptest::array::uniform8(0u32..(1 << 22)),
        proptest::array::uniform8(0u32..(1 << 22)),
        proptest::array::uniform8(0u64..(1 << 16)),
        proptest::array::uniform8(0u64..(1 << 16)),
    )
        .prop_map(|(t, q, n, asset, liability, mmf, pt, pm)| {
            let p = ScanParams {
                weights: MarginWeights {
                    asset_weight_ppm: asset,
                    liability_weight_ppm: liability,
                    maintenance_ppm: mmf,
                },
                prices: Prices {
                    tokens: pt,
                    markets: pm,
                },
                warn_tau_ppm: None,
            };
            (t, q, n, p)
        })
}

/// Token slot 7 becomes the adjuster (price 1, both weights 1 ppm: `E'` moves by its
/// balance). With `huge`, slots 3..=6 hold `MAX, MAX, MIN, MIN+2` at coefficient
/// 2^64 − 1: they cancel exactly, but the partial sum `2·(2^63−1)·(2^64−1) ≥ 2^127`
/// leaves `i128`, so the account must take the fallback.
fn with_adjuster(tokens: &mut [i64; TOKENS], p: &mut ScanParams, huge: bool) {
    p.prices.tokens[7] = 1;
    p.weights.asset_weight_ppm[7] = 1;
    p.weights.liability_weight_ppm[7] = 1;
    if huge {
        for (slot, b) in [
            (3, i64::MAX),
            (4, i64::MAX),
            (5, i64::MIN),
            (6, i64::MIN + 2),
        ] {
            tokens[slot] = b;
            p.prices.tokens[slot] = u64::MAX;
            p.weights.asset_weight_ppm[slot] = 1;
            p.weights.liability_weight_ppm[slot] = 1;
        }
    }
}

/// `(E', R)` of the specification (equity / 10^6, requirement).
fn spec_sides(a: &Account, p: &ScanParams) -> (I256, I256) {
    let h = a.health(&p.weights, &p.prices);
    assert_eq!(
        h.equity % I256::from(PPM),
        0,
        "equity is a multiple of 10^6"
    );
    (h.equity / I256::from(PPM), h.requirement)
}

fn to_i64(x: I256) -> i64 {
    i64::try_from(x).expect("the moderate strategy keeps the adjuster within i64")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Any representable account, prices, weights and τ_warn: the scan's verdict is the
    /// specification's.
    #[test]
    fn verdict_equals_spec_over_full_ranges(a in any_account(), p in params()) {
        prop_assert_eq!(verdict(&a, &p), spec(&a, &p));
        let (v, _) = verdict_and_path(&a, &p);
        prop_assert_eq!(v, spec(&a, &p));
    }

    /// A slot of at least 2^62 at coefficient ≥ 2^65 (price near 2^64, weight ≥ 2 ppm)
    /// makes a term ≥ 2^127: the fast path must give up and the specification decides.
    #[test]
    fn overflowing_accounts_take_the_fallback_and_agree(
        mut a in any_account(),
        mut p in params(),
        big in (1i64 << 62)..=i64::MAX,
        negative in any::<bool>(),
        slot in 0usize..TOKENS,
        w in 2u32..=u32::MAX,
    ) {
        a.tokens[slot] = if negative { -big } else { big };
        p.prices.tokens[slot] = u64::MAX;
        p.weights.asset_weight_ppm[slot] = w;
        p.weights.liability_weight_ppm[slot] = w;
        let (v, fell_back) = verdict_and_path(&a, &p);
        prop_assert!(fell_back);
        prop_assert_eq!(v, spec(&a, &p));
    }

    /// `H(1) = 0` meets, `H(1) = −10^6` (one unit of `E'` less) breaches, on the fast
    /// path and on the fallback.
    #[test]
    fn maintenance_boundary_is_exact(
        (mut t, q, n, mut p) in moderate(),
        huge in any::<bool>(),
        warn in tau(),
    ) {
        with_adjuster(&mut t, &mut p, huge);
        p.warn_tau_ppm = warn;
        t[7] = 0;
        let (e0, r) = spec_sides(&account(1, t, q, n), &p);
        t[7] = to_i64(r - e0);
        let at_zero = account(1, t, q, n);
        prop_assert_eq!(at_zero.health(&p.weights, &p.prices).at(MAINTENANCE_TAU_PPM), I256::ZERO);
        let (v, fell_back) = verdict_and_path(&at_zero, &p);
        prop_assert_eq!(fell_back, huge);
        prop_assert_ne!(v, Verdict::Breach);
        prop_assert_eq!(v, spec(&at_zero, &p));

        t[7] -= 1;
        let below = account(1, t, q, n);
        prop_assert_eq!(below.health(&p.weights, &p.prices).at(MAINTENANCE_TAU_PPM), -I256::from(PPM));
        let (v, fell_back) = verdict_and_path(&below, &p);
        prop_assert_eq!(fell_back, huge);
        prop_assert_eq!(v, Verdict::Breach);
        prop_assert_eq!(v, spec(&below, &p));
    }

    /// `H(τ_warn) = 0` is healthy and `H(τ_warn) = −1` (one 10^-21 quote unit) is a
    /// warning: `R = 1` (market 7: one unit at price 1, mmf 1 ppm), `E' = e`, so
    /// `H(τ) = 10^6·e − τ`; on the fast path and on the fallback.
    #[test]
    fn warning_boundary_is_exact_to_one_unit(
        (mut t, q, mut n, mut p) in moderate(),
        huge in any::<bool>(),
        long in any::<bool>(),
        e in 1i64..=4_294,
    ) {
        with_adjuster(&mut t, &mut p, huge);
        p.weights.maintenance_ppm = [0; MARKETS];
        p.weights.maintenance_ppm[7] = 1;
        p.prices.markets[7] = 1;
        n[7] = if long { 1 } else { -1 };
        t[7] = 0;
        let (e0, r) = spec_sides(&account(2, t, q, n), &p);
        prop_assert_eq!(r, I256::ONE);
        t[7] = to_i64(I256::from(e) - e0);
        let a = account(2, t, q, n);
        let h = a.health(&p.weights, &p.prices);
        let tau = u32::try_from(e * PPM as i64).unwrap();

        p.warn_tau_ppm = Some(tau);
        prop_assert_eq!(h.at(tau), I256::ZERO);
        let (v, fell_back) = verdict_and_path(&a, &p);
        prop_assert_eq!(fell_back, huge);
        prop_assert_eq!(v, Verdict::Healthy);
        prop_assert_eq!(v, spec(&a, &p));

        p.warn_tau_ppm = Some(tau + 1);
        prop_assert_eq!(h.at(tau + 1), I256::MINUS_ONE);
        let (v, fell_back) = verdict_and_path(&a, &p);
        prop_assert_eq!(fell_back, huge);
        prop_assert_eq!(v, Verdict::Warning);
        prop_assert_eq!(v, spec(&a, &p));
    }
}

// ---- Whole scans. ----

/// Development prices (USD per whole unit → 10^-9 quote units per atomic unit).
fn development_prices(risk: &RiskParams, usd: [f64; 4], perp_usd: [f64; 4]) -> Prices {
    let per_atomic =
        |usd: f64, decimals: u8| (usd * 1e6 * 1e9 / 10f64.powi(i32::from(decimals))) as u64;
    let mut p = Prices::default();
    for (i, t) in risk.tokens.iter().enumerate() {
        p.tokens[i] = per_atomic(usd[i], t.decimals);
    }
    for (j, m) in risk.markets.iter().enumerate() {
        p.markets[j] = per_atomic(perp_usd[j], m.size_decimals);
    }
    p
}

/// A realistic account: a few token and market slots worth $10–$1M each, the quote set
/// so that `H(1)` lands near a random fraction of the requirement (≈ 5 % breach).
fn realistic(rng: &mut ChaCha8Rng, id: u64, p: &ScanParams) -> Account {
    let mut t = [0i64; TOKENS];
    let mut n = [0i64; MARKETS];
    for _ in 0..rng.gen_range(0..=3) {
        let i = rng.gen_range(0..4);
        let usd = 10f64.powf(rng.gen_range(1.0..6.0));
        let sign = if rng.gen_bool(0.8) { 1.0 } else { -1.0 };
        t[i] = (sign * usd * 1e15 / p.prices.tokens[i] as f64) as i64;
    }
    for _ in 0..rng.gen_range(0..=3) {
        let j = rng.gen_range(0..4);
        let usd = 10f64.powf(rng.gen_range(1.0..6.0));
        let sign = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
        n[j] = (sign * usd * 1e15 / p.prices.markets[j] as f64) as i64;
    }
    let h = account(id, t, 0, n).health(&p.weights, &p.prices);
    let required = i64::try_from(h.requirement / I256::from(1_000_000_000_000_000u64)).unwrap();
    let scale = required.max(100_000_000) as f64;
    let target = ((rng.gen_range(0.95..2.0) - 1.0) * scale) as i64;
    let q = target - i64::try_from(h.excess_quote_units(MAINTENANCE_TAU_PPM)).unwrap();
    account(id, t, q, n)
}

/// A mix of realistic and full-range accounts, some of which overflow the fast path.
fn book(rng: &mut ChaCha8Rng, len: usize, p: &ScanParams) -> Vec<(u64, Account)> {
    (0..len as u64)
        .map(|k| {
            let id = 1_000 + 7 * k;
            let a = if rng.gen_bool(0.9) {
                realistic(rng, id, p)
            } else {
                let mut pick = || match rng.gen_range(0..4) {
                    0 => 0,
                    1 => rng.gen(),
                    2 => rng.gen_range(-(1i64 << 40)..(1 << 40)),
                    _ => *[i64::MIN, i64::MAX].get(rng.gen_range(0..2)).unwrap(),
                };
                let t = std::array::from_fn(|_| pick());
                let q = pick();
                let n = std::array::from_fn(|_| pick());
                account(id, t, q, n)
            };
            (id, a)
        })
        .collect()
}

fn tick_params(warn: Option<u32>) -> (RiskParams, ScanParams) {
    let risk = RiskParams::development();
    let mut prices = development_prices(
        &risk,
        [3_000.0, 60_000.0, 150.0, 1.0],
        [60_000.0, 3_000.0, 150.0, 0.1],
    );
    // One exotic slot: a price above 2^64 / weight, so its coefficients are wide.
    prices.tokens[3] = u64::MAX / 3;
    let p = ScanParams::new(&risk, prices, warn);
    (risk, p)
}

/// The per-account specification over a slice: (breach indices, warning indices).
fn spec_lists(accounts: &[(u64, Account)], p: &ScanParams) -> (Vec<usize>, Vec<usize>) {
    let mut b = Vec::new();
    let mut w = Vec::new();
    for (i, (_, a)) in accounts.iter().enumerate() {
        match spec(a, p) {
            Verdict::Breach => b.push(i),
            Verdict::Warning => w.push(i),
            Verdict::Healthy => {}
        }
    }
    (b, w)
}

#[test]
fn scan_equals_the_per_account_spec() {
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    for warn in [Some(1_100_000), Some(2_000_000), None] {
        let (_, p) = tick_params(warn);
        let accounts = book(&mut rng, 5_000, &p);
        let r = scan(&accounts, &p);
        let (b, w) = spec_lists(&accounts, &p);
        assert_eq!(r.scanned, accounts.len());
        assert_eq!(r.breaches, b);
        assert_eq!(r.warnings, w);
        // Both paths ran, and the realistic 90 % never fell back.
        assert!(
            r.fallbacks > 0 && r.fallbacks < accounts.len() / 10,
            "{}",
            r.fallbacks
        );
        assert!(!r.breaches.is_empty());
        assert_eq!(r.warnings.is_empty(), warn.is_none());

        let table = AccountTable::from_accounts(accounts.iter().map(|(_, a)| a.clone()));
        let tick = PreparedTick::new(&p);
        assert_eq!(table.scan(&tick), r, "the table scans as the slice does");
    }
}

#[test]
fn warnings_exclude_breaches_and_indices_name_the_right_accounts() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let (_, p) = tick_params(Some(1_500_000));
    let accounts = book(&mut rng, 3_000, &p);
    let r = scan(&accounts, &p);
    assert!(r.breaches.windows(2).all(|w| w[0] < w[1]), "ascending");
    assert!(r.warnings.windows(2).all(|w| w[0] < w[1]), "ascending");
    assert!(r
        .warnings
        .iter()
        .all(|i| r.breaches.binary_search(i).is_err()));
    assert!(!r.warnings.is_empty() && !r.breaches.is_empty());
    for &i in &r.breaches {
        let (id, a) = &accounts[i];
        assert_eq!(*id, a.id);
        assert_eq!(
            a.status(&p.weights, &p.prices, MAINTENANCE_TAU_PPM),
            Status::Breaches
        );
    }
    for &i in &r.warnings {
        let a = &accounts[i].1;
        assert_eq!(
            a.status(&p.weights, &p.prices, MAINTENANCE_TAU_PPM),
            Status::Meets
        );
        assert_eq!(a.status(&p.weights, &p.prices, 1_500_000), Status::Breaches);
    }
    let flagged = r.breaches.len() + r.warnings.len();
    let healthy = (0..accounts.len())
        .filter(|i| r.breaches.binary_search(i).is_err() && r.warnings.binary_search(i).is_err())
        .inspect(|&i| assert_eq!(spec(&accounts[i].1, &p), Verdict::Healthy))
        .count();
    assert_eq!(flagged + healthy, r.scanned);
}

#[test]
fn table_updates_keep_rows_ids_and_verdicts_in_step() {
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    let (_, p) = tick_params(Some(1_200_000));
    let tick = PreparedTick::new(&p);
    let accounts = book(&mut rng, 2_000, &p);
    let mut table = AccountTable::from_accounts(accounts.iter().map(|(_, a)| a.clone()));
    assert_eq!(table.len(), 2_000);
    // Venue updates between ticks: replace some states, remove some accounts, add new.
    for k in 0..500u64 {
        let id = 1_000 + 7 * rng.gen_range(0..2_000u64);
        match k % 3 {
            0 => {
                let mut a = realistic(&mut rng, id, &p);
                a.nonce = k;
                table.upsert(a);
            }
            1 => {
                table.remove(id);
            }
            _ => {
                table.upsert(realistic(&mut rng, 1_000_000 + k, &p));
            }
        }
    }
    for (row, a) in table.accounts().iter().enumerate() {
        assert_eq!(table.row_of(a.id), Some(row));
        assert_eq!(table.account(row).id, a.id);
    }
    let as_slice: Vec<(u64, Account)> =
        table.accounts().iter().map(|a| (a.id, a.clone())).collect();
    let r = table.scan(&tick);
    let (b, w) = spec_lists(&as_slice, &p);
    assert_eq!((r.breaches, r.warnings, r.scanned), (b, w, table.len()));
    assert_eq!(table.remove(u64::MAX), None);
    assert!(format!("{table:?}").starts_with("AccountTable { len: "));
}

#[test]
fn empty_inputs_scan_to_nothing() {
    let (_, p) = tick_params(Some(1_100_000));
    let r = scan(&[], &p);
    assert_eq!((r.scanned, r.breaches.len(), r.warnings.len()), (0, 0, 0));
    let r = AccountTable::new().scan(&PreparedTick::new(&p));
    assert_eq!(r.scanned, 0);
}
