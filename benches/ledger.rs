//! Settlement ledger throughput: verified liquidations applied per second on SQLite (a
//! file in a temporary directory, the ledger's own WAL journal and `synchronous = FULL`)
//! and on PostgreSQL, by one writer and by four concurrent writers; and
//! `Settler::settle` (verify, then apply) per liquidation.
//!
//! Every apply takes the ledger's writer lock (`ledger_meta.write_epoch`), so four
//! writers — each with a `Ledger` and connections of its own, as four settlement
//! processes would have — apply one after another: their throughput shows the
//! serialization, not parallelism.
//!
//! Setup proves [`POOL`] liquidations of distinct accounts once (real Groth16 proofs at
//! one development price tick) and verifies each. One benchmark iteration applies (or
//! settles) the whole pool, back to back, on a fresh ledger — initialized, trust
//! pinned, the pool's accounts registered — prepared and torn down outside the timed
//! region, so every apply is a real, successful apply (each result is checked, and the
//! count after each iteration) on a ledger of at most [`POOL`] liquidations. The
//! throughput line is liquidations per second; the time, per [`POOL`] liquidations.
//! Settling verifies with warm caches: the tick's shared inputs and the report's
//! signatures are checked once per tick, as for every liquidation after a tick's first.
//!
//! PostgreSQL: the server at `ZKMARGIN_TEST_POSTGRES_URL` (as the tests), otherwise
//! `postgres://postgres@127.0.0.1:5432/test`, with a fresh database per iteration, dropped
//! after it. Without a reachable server whose role may create databases, the
//! PostgreSQL group prints why and is skipped. Run with `cargo bench --bench ledger`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkmargin_circuits::Status;
use zkmargin_settlement::{
    redact_url, scratch::ScratchDatabase, Ledger, OperatorKey, PinnedTrust, Settler,
};
use zkmargin_verifier::{
    testkit::{Fixture, ProvenLiquidation},
    FixedClock, VerifiedLiquidation, Verifier,
};

/// Observation time of the benchmark's report; the verifier's clock is 30 s later.
const T0: u64 = 1_700_000_000;
/// Liquidations proven in setup, of as many accounts: one iteration's work.
const POOL: usize = 200;
/// Concurrent writers of the contended benchmark.
const WRITERS: usize = 4;
/// The admin URL the settlement tests use, when set.
const POSTGRES_ENV: &str = "ZKMARGIN_TEST_POSTGRES_URL";
/// The development machines' server (trust auth, database `test`).
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Keys, a verifier on a fixed clock, and the proven and verified liquidations.
struct World {
    /// Owns the keys directory the verifier was loaded from.
    _fixture: Fixture,
    verifier: Arc<Verifier>,
    trust: PinnedTrust,
    pool: Vec<Liquidation>,
}

/// One liquidation of the pool: its bundle (for settling) and its verified form (for
/// applying).
struct Liquidation {
    proven: ProvenLiquidation,
    verified: VerifiedLiquidation,
}

impl World {
    fn new() -> Self {
        let started = Instant::now();
        let fixture =
            Fixture::with_liquidation(2024).with_policy(zkmargin_prover::choose_liquidation);
        let verifier = fixture
            .verifier()
            .expect("fixture keys load")
            .with_clock(Arc::new(FixedClock(T0 + 30)));
        let trust = PinnedTrust::of(&verifier).expect("the fixture has a liquidation key");
        let report = fixture.signed_report(T0);
        let mut rng = ChaCha20Rng::seed_from_u64(2027);
        let pool = (0..POOL as u64)
            .map(|i| {
                let old = Fixture::account(1 + i, Status::Breaches, &mut rng);
                let proven = fixture.liquidate(&old, 1_000 + i % 8, &report, &mut rng);
                let verified = verifier
                    .verify_liquidation(&proven.bundle)
                    .expect("a fixture liquidation verifies");
                Liquidation { proven, verified }
            })
            .collect();
        eprintln!(
            "ledger: keys made, {POOL} liquidations proven and verified in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Self {
            _fixture: fixture,
            verifier: Arc::new(verifier),
            trust,
            pool,
        }
    }
}

/// Where fresh ledgers are made.
enum Server {
    /// A file in a new temporary directory.
    Sqlite,
    /// A new database on the server at this admin URL.
    Postgres { admin: String },
}

/// One iteration's database.
struct Db {
    url: String,
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database, to drop it.
    postgres: Option<ScratchDatabase>,
}

impl Server {
    /// The PostgreSQL server, or why it cannot be used.
    async fn postgres() -> Result<Self, String> {
        let admin = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
        let server = Self::Postgres {
            admin: admin.clone(),
        };
        // A probe database: the role must be able to create and drop one per iteration.
        let probe = tokio::time::timeout(Duration::from_secs(10), async {
            let db = server.fresh().await?;
            db.drop().await;
            Ok::<_, sqlx::Error>(())
        })
        .await;
        match probe {
            Ok(Ok(())) => Ok(server),
            Ok(Err(e)) => Err(format!("{}: {e}", redact_url(&admin))),
            Err(_) => Err(format!("{}: no answer in 10 s", redact_url(&admin))),
        }
    }

    async fn fresh(&self) -> Result<Db, sqlx::Error> {
        match self {
            Server::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                Ok(Db {
                    url: format!("sqlite://{}/ledger.db?mode=rwc", dir.path().display()),
                    _dir: Some(dir),
                    postgres: None,
                })
            }
            Server::Postgres { admin } => {
                let db = ScratchDatabase::create(admin, "zkmargin_bench").await?;
                Ok(Db {
                    url: db.url.clone(),
                    _dir: None,
                    postgres: Some(db),
                })
            }
        }
    }
}

impl Db {
    /// Removes the database: the temporary directory, or the PostgreSQL database (best
    /// effort).
    async fn drop(self) {
        if let Some(db) = self.postgres {
            db.drop_database().await;
        }
    }
}

fn operator() -> OperatorKey {
    OperatorKey::new(b"ledger-bench-operator-secret-0123456789".to_vec()).expect("operator key")
}

/// A fresh, initialized ledger, its trust pinned to the verifier's, with the accounts of
/// `batch` registered at their old commitments.
async fn prepared(server: &Server, world: &World, batch: &[Liquidation]) -> (Db, Ledger) {
    let db = server.fresh().await.expect("a fresh database");
    let ledger = Ledger::open(&db.url).await.expect("open the ledger");
    ledger.init(&operator()).await.expect("init");
    ledger
        .pin_trust(&operator(), &world.trust)
        .await
        .expect("pin the trust");
    for l in batch {
        ledger
            .register_account(
                &operator(),
                l.proven.old.id,
                &l.proven.public.old_commitment,
            )
            .await
            .expect("register the account");
    }
    (db, ledger)
}

/// Checks that all of `applied` were applied, then closes and removes the ledger.
async fn finish(db: Db, ledgers: &[Ledger], applied: usize) {
    let summary = ledgers[0].summary().await.expect("summary");
    assert_eq!(summary.liquidations, applied as u64, "every apply applied");
    for ledger in ledgers {
        ledger.close().await;
    }
    db.drop().await;
}

/// Time for `writers` concurrent writers to apply `batch` (round robin) on a fresh
/// ledger, each writer with a `Ledger` of its own.
async fn apply_batch(
    server: &Server,
    world: &World,
    batch: &[Liquidation],
    writers: usize,
) -> Duration {
    let (db, first) = prepared(server, world, batch).await;
    let mut ledgers = vec![first];
    for _ in 1..writers {
        // Open runs the (current) schema check on a connection that the pool keeps, so
        // no writer connects inside the timed region.
        ledgers.push(Ledger::open(&db.url).await.expect("open the ledger again"));
    }
    let shares: Vec<Vec<VerifiedLiquidation>> = (0..writers)
        .map(|w| {
            batch
                .iter()
                .skip(w)
                .step_by(writers)
                .map(|l| l.verified.clone())
                .collect()
        })
        .collect();

    let started = Instant::now();
    let tasks: Vec<_> = ledgers
        .iter()
        .cloned()
        .zip(shares)
        .map(|(ledger, share)| {
            tokio::spawn(async move {
                for v in &share {
                    ledger.apply(v).await.expect("a fresh liquidation applies");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer task");
    }
    let elapsed = started.elapsed();

    finish(db, &ledgers, batch.len()).await;
    elapsed
}

/// What `Settler::settle` spent, by its own timings.
#[derive(Default)]
struct Split {
    verify: Duration,
    apply: Duration,
    settles: u32,
}

/// Time for one writer to settle (verify, then apply) every bundle of `batch` on a
/// fresh ledger.
async fn settle_batch(
    server: &Server,
    world: &World,
    batch: &[Liquidation],
    split: &mut Split,
) -> Duration {
    let (db, ledger) = prepared(server, world, batch).await;
    let settler = Settler::new(world.verifier.clone(), ledger.clone());

    let started = Instant::now();
    for l in batch {
        let settled = settler
            .settle(&l.proven.bundle)
            .await
            .expect("a fresh liquidation settles");
        split.verify += settled.timings.verify;
        split.apply += settled.timings.apply;
        split.settles += 1;
    }
    let elapsed = started.elapsed();

    finish(db, &[ledger], batch.len()).await;
    elapsed
}

fn bench_backend(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    world: &World,
    name: &str,
    server: &Server,
) {
    let mut group = c.benchmark_group(format!("ledger/{name}"));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(POOL as u64));

    for writers in [1, WRITERS] {
        let label = if writers == 1 {
            "apply_1_writer".to_owned()
        } else {
            format!("apply_{writers}_writers")
        };
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| rt.block_on(apply_batch(server, world, &world.pool, writers)))
                    .sum()
            })
        });
    }

    let mut split = Split::default();
    group.bench_function("settle_1_writer", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rt.block_on(settle_batch(server, world, &world.pool, &mut split)))
                .sum()
        })
    });
    group.finish();
    if split.settles > 0 {
        eprintln!(
            "ledger/{name}/settle_1_writer: of which verify {:.3} ms, apply {:.3} ms per \
             liquidation (the Settler's own timings, mean of {} settles)",
            (split.verify / split.settles).as_secs_f64() * 1e3,
            (split.apply / split.settles).as_secs_f64() * 1e3,
            split.settles
        );
    }
}

fn bench_ledger(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let world = World::new();

    bench_backend(c, &rt, &world, "sqlite", &Server::Sqlite);
    match rt.block_on(Server::postgres()) {
        Ok(server) => bench_backend(c, &rt, &world, "postgres", &server),
        Err(why) => eprintln!("ledger/postgres: skipped, no usable PostgreSQL server: {why}"),
    }
}

criterion_group!(benches, bench_ledger);
criterion_main!(benches);
