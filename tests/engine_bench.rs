//! Engine measurements, run by `scripts/engine-bench.sh` (ignored by `cargo test`: they
//! take minutes and are figures, not checks). Real processes, real NATS JetStream.
//!
//! - proofs/s with one worker and with two (breach jobs only, 200 per run);
//! - one proof's latency on one worker proving one job at a time on all cores;
//! - tick-to-all-proofs and tick-to-all-settled for 10,000 accounts with 1 % breaching,
//!   two workers and two keepers;
//! - the engine's per-tick store read and scan with no account changed, for 10,000 and
//!   100,000 accounts: every account reloaded (before) against the in-memory table and
//!   only the changes read (now).

#[path = "engine_common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use zkmargin_engine::{
    async_nats::{self, jetstream},
    messages::JobKind,
    names::Names,
};

fn nats() -> String {
    std::env::var("ZKMARGIN_NATS").unwrap_or_else(|_| NATS.to_string())
}

async fn count(js: &jetstream::Context, stream: &str) -> u64 {
    match js.get_stream(stream).await {
        Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
        Err(_) => 0,
    }
}

/// Seconds from the report's publish until the feed holds `n` bundles.
fn time_to_bundles(venue: &Venue, bus: &[String], names: &Names, n: u64, procs: &Procs) -> f64 {
    let js = venue
        .rt
        .block_on(async { jetstream::new(async_nats::connect(nats()).await.unwrap()) });
    let t = Instant::now();
    venue.publish(&report(now()), bus);
    loop {
        if venue.rt.block_on(count(&js, &names.feed_stream())) >= n {
            return t.elapsed().as_secs_f64();
        }
        assert!(t.elapsed() < Duration::from_secs(900), "{}", procs.dump());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn proofs_per_second(
    workers: usize,
    parallel: Option<&str>,
    accounts_n: u64,
    step: i64,
) -> (u64, f64) {
    let accounts = accounts(accounts_n, step);
    let breaches = breaching(&accounts, &report(now()), 1_000_000).len() as u64;
    let venue = Venue::new(accounts);
    let prefix = unique_prefix("bench");
    let names = Names::new(&prefix).unwrap();
    let bus = bus_args(&nats(), &prefix, 30_000);
    let mut procs = Procs::default();
    procs.spawn("engine", &engine_args(&bus, &venue.store, &[]));
    for w in 0..workers {
        let extra: Vec<&str> = match parallel {
            Some(p) => vec!["--parallel", p],
            None => vec![],
        };
        procs.spawn(&format!("worker{w}"), &worker_args(&bus, &extra));
    }
    assert!(procs.wait_for("worker: proving", workers, Duration::from_secs(60)));
    assert!(procs.wait_for("engine: prefix", 1, Duration::from_secs(60)));
    let secs = time_to_bundles(&venue, &bus, &names, breaches, &procs);
    (breaches, secs)
}

#[test]
#[ignore = "a measurement: run scripts/engine-bench.sh"]
fn engine_bench() {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("machine: {cores} cores");
    assert!(cores >= 1);
    // Proof latency: one job, one worker, all cores on it.
    let (n, s) = proofs_per_second(1, Some("1"), 361, 1_000_000);
    println!(
        "latency: {n} breach proof, one worker --parallel 1: tick to proof {:.0} ms",
        s * 1e3
    );
    // Throughput: 200 breach jobs (ids 201..=400 at a 1.8 USD step, see accounts()).
    for (workers, parallel) in [(1, None), (1, Some("1")), (2, None)] {
        let (n, s) = proofs_per_second(workers, parallel, 400, 1_800_000);
        println!(
            "throughput: {workers} worker(s), --parallel {}: {n} breach proofs in {s:.2} s = {:.1} proofs/s (tick to all proofs)",
            parallel.unwrap_or("default (one per core)"),
            n as f64 / s
        );
    }

    // 10,000 accounts, 1 % breaching, two workers, two keepers.
    let accounts = accounts(10_000, 36_360);
    let report0 = report(now());
    let breaching = breaching(&accounts, &report0, 1_000_000);
    println!("tick: 10000 accounts, {} breaching", breaching.len());
    let t = Instant::now();
    let venue = Venue::new(accounts);
    println!("(venue set up in {:.1} s)", t.elapsed().as_secs_f64());
    let prefix = unique_prefix("bench");
    let names = Names::new(&prefix).unwrap();
    let bus = bus_args(&nats(), &prefix, 30_000);
    let mut procs = Procs::default();
    procs.spawn("engine", &engine_args(&bus, &venue.store, &[]));
    for w in 0..2 {
        procs.spawn(&format!("worker{w}"), &worker_args(&bus, &[]));
    }
    for l in [7, 8] {
        procs.spawn(
            &format!("keeper{l}"),
            &keeper_args(&bus, l, &venue.ledger_url),
        );
    }
    assert!(procs.wait_for("worker: proving", 2, Duration::from_secs(60)));
    assert!(procs.wait_for("keeper", 2, Duration::from_secs(60)));
    assert!(procs.wait_for("engine: prefix", 1, Duration::from_secs(60)));
    let js = venue
        .rt
        .block_on(async { jetstream::new(async_nats::connect(nats()).await.unwrap()) });
    let t = Instant::now();
    venue.publish(&report0, &bus);
    let n = breaching.len() as u64;
    // Breach proofs only (the feed also carries the liquidations).
    let breach_feed = venue.rt.block_on(async {
        js.get_stream(names.feed_stream())
            .await
            .unwrap()
            .create_consumer(jetstream::consumer::pull::Config {
                filter_subject: format!("{}.>", names.feed_subject(JobKind::Breach)),
                ack_policy: jetstream::consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(3600),
                ..Default::default()
            })
            .await
            .unwrap()
    });
    let mut breach_proofs = None;
    loop {
        let proved = venue.rt.block_on(async {
            let mut c = breach_feed.clone();
            c.info().await.map(|i| i.num_pending).unwrap_or(0)
        });
        if breach_proofs.is_none() && proved >= n {
            breach_proofs = Some(t.elapsed());
        }
        if venue.settled(&breaching) == breaching.len() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(1800), "{}", procs.dump());
        std::thread::sleep(Duration::from_millis(50));
    }
    let settled = t.elapsed();
    venue.check_ledger(&breaching);
    for l in procs.grep("engine: tick") {
        println!("{l}");
    }
    println!(
        "tick to all {n} breach proofs: {:.2} s; tick to all {n} liquidations settled: {:.2} s",
        breach_proofs.unwrap_or(settled).as_secs_f64(),
        settled.as_secs_f64()
    );
}

/// Per-tick store read + scan with no account changed: reloading every account (the
/// engine before the in-memory table) against reading the changes since the last tick
/// into `AccountTable` (now). SQLite store on disk, as `engine run` uses.
#[test]
#[ignore = "a measurement: run scripts/engine-bench.sh"]
fn tick_store_and_scan() {
    use zkmargin_circuits::{Prices, RiskParams};
    use zkmargin_engine::{
        scan::{self, AccountTable, PreparedTick, ScanParams},
        store::Store,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let params = RiskParams::development();
    let r = report(now());
    let prices = Prices::from_feeds(&params, |f| r.report.price(f)).unwrap();
    let sp = ScanParams::new(&params, prices, Some(1_010_000));
    for n in [10_000u64, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", s(&dir.path().join("engine.db")));
        let store = rt.block_on(async {
            let store = Store::open(&url).await.unwrap();
            for chunk in accounts(n, 36_360).chunks(10_000) {
                store.upsert_accounts(chunk).await.unwrap();
            }
            store
        });
        let runs = 5;
        // Before: every tick reads every account, then scans the slice.
        let t = Instant::now();
        let mut breaches = 0;
        for _ in 0..runs {
            let all = rt.block_on(store.accounts()).unwrap();
            breaches = scan::scan(&all, &sp).breaches.len();
        }
        let before = t.elapsed().as_secs_f64() / runs as f64;
        // Now: the first tick loads the table; later ticks read only the changes.
        let t0 = Instant::now();
        let mut table = AccountTable::new();
        let mut seq = -1;
        for (s, a) in rt.block_on(store.changes_since(seq)).unwrap() {
            seq = seq.max(s);
            table.upsert(a);
        }
        let first = t0.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..runs {
            let changed = rt.block_on(store.changes_since(seq)).unwrap();
            assert!(changed.is_empty());
            let got = table.scan(&PreparedTick::new(&sp)).breaches.len();
            assert_eq!(got, breaches);
        }
        let now_ = t.elapsed().as_secs_f64() / runs as f64;
        println!(
            "tick store+scan: {n} accounts, none changed: before (reload all + scan) {:.1} ms; now (read changes + scan) {:.2} ms; first tick after a start {:.1} ms",
            before * 1e3,
            now_ * 1e3,
            first * 1e3
        );
        rt.block_on(store.close());
    }
}
