//! The engine's native per-tick scan rate (issue 16 target: ≥ 10^6 accounts/s on 2
//! cores), on a realistic book: each account holds 0–3 token slots and 0–3 perpetual
//! positions worth $10–$1M each, margined so that ≈ 5 % breach and ≈ 5 % sit in the
//! early-warning band (τ_warn = 1.1).
//!
//! - `table`: [`AccountTable::scan`], the engine's layout (prepared tick included);
//! - `slice`: [`scan`] over `(id, Account)` pairs;
//! - `spec`: every account through `Account::health` (`I256`) on rayon, the baseline.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ethnum::I256;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use zkmargin_circuits::{Account, Blinding, Fr, Prices, RiskParams, Status, MARKETS, TOKENS};
use zkmargin_engine::scan::{scan, AccountTable, PreparedTick, ScanParams, MAINTENANCE_TAU_PPM};

const WARN_TAU_PPM: u32 = 1_100_000;

/// Development parameters at ETH $3,000, BTC $60,000, SOL $150, USDC $1, DOGE $0.10.
fn params() -> ScanParams {
    let risk = RiskParams::development();
    let per_atomic =
        |usd: f64, decimals: u8| (usd * 1e6 * 1e9 / 10f64.powi(i32::from(decimals))) as u64;
    let mut p = Prices::default();
    for (i, (t, usd)) in risk
        .tokens
        .iter()
        .zip([3_000.0, 60_000.0, 150.0, 1.0])
        .enumerate()
    {
        p.tokens[i] = per_atomic(usd, t.decimals);
    }
    for (j, (m, usd)) in risk
        .markets
        .iter()
        .zip([60_000.0, 3_000.0, 150.0, 0.1])
        .enumerate()
    {
        p.markets[j] = per_atomic(usd, m.size_decimals);
    }
    ScanParams::new(&risk, p, Some(WARN_TAU_PPM))
}

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

/// A few slots, the quote set so that the excess `H(1)` is a uniform fraction in
/// [−5 %, 100 %) of the requirement (or of $100 for an account without positions).
fn realistic(rng: &mut ChaCha8Rng, id: u64, p: &ScanParams) -> Account {
    let mut t = [0i64; TOKENS];
    let mut n = [0i64; MARKETS];
    for _ in 0..rng.gen_range(0..=3) {
        let i = rng.gen_range(0..4);
        let usd = 10f64.powf(rng.gen_range(1.0..6.0));
        let sign = if rng.gen_bool(0.8) { 1.0 } else { -1.0 };
        t[i] = (sign * usd * 1e15 / p.prices.tokens[i] as f64) as i64;
    }
    for _ in 0..rng.gen_range(1..=3) {
        let j = rng.gen_range(0..4);
        let usd = 10f64.powf(rng.gen_range(1.0..6.0));
        let sign = if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
        n[j] = (sign * usd * 1e15 / p.prices.markets[j] as f64) as i64;
    }
    let h = account(id, t, 0, n).health(&p.weights, &p.prices);
    let required = i64::try_from(h.requirement / I256::from(1_000_000_000_000_000u64)).unwrap();
    let scale = required.max(100_000_000) as f64;
    let target = (rng.gen_range(-0.05..1.0) * scale) as i64;
    let q = target - i64::try_from(h.excess_quote_units(MAINTENANCE_TAU_PPM)).unwrap();
    account(id, t, q, n)
}

fn book(len: usize, p: &ScanParams) -> Vec<(u64, Account)> {
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    (0..len as u64)
        .map(|id| (id, realistic(&mut rng, id, p)))
        .collect()
}

fn bench_scan(c: &mut Criterion) {
    let p = params();
    let mut group = c.benchmark_group("scan");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));
    for len in [100_000usize, 1_000_000] {
        let accounts = book(len, &p);
        let table = AccountTable::from_accounts(accounts.iter().map(|(_, a)| a.clone()));
        let r = table.scan(&PreparedTick::new(&p));
        eprintln!(
            "scan/{len}: {} breaches ({:.1} %), {} warnings ({:.1} %), {} fallbacks",
            r.breaches.len(),
            100.0 * r.breaches.len() as f64 / len as f64,
            r.warnings.len(),
            100.0 * r.warnings.len() as f64 / len as f64,
            r.fallbacks
        );
        group.throughput(Throughput::Elements(len as u64));
        group.bench_with_input(BenchmarkId::new("table", len), &table, |b, table| {
            b.iter(|| table.scan(&PreparedTick::new(black_box(&p))))
        });
        group.bench_with_input(BenchmarkId::new("slice", len), &accounts, |b, accounts| {
            b.iter(|| scan(accounts, black_box(&p)))
        });
        if len <= 100_000 {
            group.bench_with_input(BenchmarkId::new("spec", len), &accounts, |b, accounts| {
                b.iter(|| {
                    accounts
                        .par_iter()
                        .filter(|(_, a)| {
                            let h = a.health(&p.weights, &p.prices);
                            h.status(MAINTENANCE_TAU_PPM) == Status::Breaches
                                || h.status(WARN_TAU_PPM) == Status::Breaches
                        })
                        .count()
                })
            });
            group.bench_with_input(
                BenchmarkId::new("table_build", len),
                &accounts,
                |b, accounts| {
                    b.iter(|| AccountTable::from_accounts(accounts.iter().map(|(_, a)| a.clone())))
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench_scan);
criterion_main!(benches);
