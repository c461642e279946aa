//! The fixtures of `tests/service_settle.rs`: real liquidation proofs made once per
//! test binary, a database per scenario (SQLite, or a fresh PostgreSQL database), and
//! a real `zkmargin-verifier serve --ledger` settling into it.

#![allow(dead_code)]

use std::{
    io::Write,
    sync::{Once, OnceLock},
};

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::Value;
use zkmargin_circuits::{Account, Commitment, Status};
use zkmargin_settlement::{scratch::ScratchDatabase, Ledger, OperatorKey, PinnedTrust, Summary};
use zkmargin_verifier::{
    testkit::{Fixture, ProvenLiquidation},
    ProofBundle,
};

use crate::common_service::{settle_world, Server};

pub const POSTGRES_ENV: &str = "ZKMARGIN_TEST_POSTGRES_URL";
/// Quote atomic units per USD.
pub const USD: u64 = 1_000_000;
/// Rounds of two liquidators racing on one account.
pub const RACES: u64 = 12;
/// Rounds of one statement sent twice at once (original and re-randomized proof).
pub const RESUBMISSION_RACES: u64 = 4;

// ---------------------------------------------------------------------------------
// Transitions: real proofs, made once per test binary, shared by both databases.

pub struct Proofs {
    /// Account 1 (10 ETH, 1 BTC-PERP long, in breach), liquidated by liquidator 7.
    pub main: ProvenLiquidation,
    /// `main` with its proof re-randomized: the same statement, other proof bytes.
    pub main_rerandomized: ProofBundle,
    /// Account 2, underwater: the whole BTC-PERP closed by liquidator 9, 1,600 USD
    /// of deficit.
    pub deficit: ProvenLiquidation,
    /// Account 3, liquidated by liquidator 7 — but the venue moves it first.
    pub stale: ProvenLiquidation,
    /// The commitment the venue moves account 3 to.
    pub traded: Commitment,
    /// Account 4, never registered.
    pub unregistered: ProvenLiquidation,
    /// Account 5, settled while the ledger is locked.
    pub slow: ProvenLiquidation,
    /// Accounts 100.., each liquidated twice: by liquidator 1000+i and by 2000+i.
    pub races: Vec<(ProvenLiquidation, ProvenLiquidation)>,
    /// Accounts 200..: one transition and a re-randomized proof of it.
    pub resubmissions: Vec<(ProvenLiquidation, ProofBundle)>,
}

pub fn proofs() -> &'static Proofs {
    static PROOFS: OnceLock<Proofs> = OnceLock::new();
    PROOFS.get_or_init(|| {
        let w = settle_world();
        let f = &w.fixture;
        let report = &w.report;
        let mut rng = ChaCha20Rng::seed_from_u64(2024);
        let breaching = |id, rng: &mut ChaCha20Rng| Fixture::account(id, Status::Breaches, rng);

        let main = f.liquidate(&breaching(1, &mut rng), 7, report, &mut rng);
        let main_rerandomized = f.rerandomize(&main.bundle, &mut rng);
        let mut underwater = Account::empty(2, &mut rng);
        underwater.positions[0] = 100_000_000; // 1 BTC at 60,000 USD
        underwater.quote = -61_000 * USD as i64;
        let deficit = f.liquidate(&underwater, 9, report, &mut rng);
        let stale_old = breaching(3, &mut rng);
        let stale = f.liquidate(&stale_old, 7, report, &mut rng);
        let mut traded = stale_old.clone();
        traded.nonce += 1;
        traded.quote += 5_000 * USD as i64; // a deposit
        let unregistered = f.liquidate(&breaching(4, &mut rng), 7, report, &mut rng);
        let slow = f.liquidate(&breaching(5, &mut rng), 7, report, &mut rng);
        let races = (0..RACES)
            .map(|i| {
                let old = breaching(100 + i, &mut rng);
                (
                    f.liquidate(&old, 1000 + i, report, &mut rng),
                    f.liquidate(&old, 2000 + i, report, &mut rng),
                )
            })
            .collect();
        let resubmissions = (0..RESUBMISSION_RACES)
            .map(|i| {
                let t = f.liquidate(&breaching(200 + i, &mut rng), 3000 + i, report, &mut rng);
                let again = f.rerandomize(&t.bundle, &mut rng);
                (t, again)
            })
            .collect();
        Proofs {
            main,
            main_rerandomized,
            deficit,
            stale,
            traded: Commitment::of(&traded),
            unregistered,
            slow,
            races,
            resubmissions,
        }
    })
}

// ---------------------------------------------------------------------------------
// Databases, ledgers and servers.

/// One scenario's database: an SQLite file in a temporary directory, or a fresh
/// database on the PostgreSQL server.
pub struct Db {
    pub url: String,
    pub _dir: Option<tempfile::TempDir>,
    pub postgres: Option<ScratchDatabase>,
}

impl Db {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self {
            url: format!("sqlite://{}/ledger.db?mode=rwc", dir.path().display()),
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A fresh database, or `None` (with a one-line note) without a server.
    pub fn postgres(rt: &tokio::runtime::Runtime) -> Option<Self> {
        let Ok(admin) = std::env::var(POSTGRES_ENV) else {
            static NOTE: Once = Once::new();
            NOTE.call_once(|| {
                // Straight to stderr: the harness captures print!/eprint!.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping PostgreSQL service tests: {POSTGRES_ENV} is not set \
                     (eval \"$(bash scripts/ci-postgres.sh)\" starts a server)"
                );
            });
            return None;
        };
        let db = rt
            .block_on(ScratchDatabase::create(&admin, "zkmargin_svc"))
            .unwrap_or_else(|e| {
                panic!(
                    "{POSTGRES_ENV} is set but the server refuses (its role needs CREATEDB): {e}"
                )
            });
        Some(Self {
            url: db.url.clone(),
            _dir: None,
            postgres: Some(db),
        })
    }

    /// Drops the PostgreSQL database (best effort).
    pub fn finish(self, rt: &tokio::runtime::Runtime) {
        if let Some(db) = self.postgres {
            rt.block_on(db.drop_database());
        }
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

pub fn operator() -> OperatorKey {
    OperatorKey::new(b"service-settle-test-operator-secret".to_vec()).unwrap()
}

/// A scenario's world: the ledger (library side) and the server settling into it.
pub struct Env<'a> {
    pub rt: &'a tokio::runtime::Runtime,
    pub ledger: Ledger,
    pub server: Server,
}

impl Env<'_> {
    pub fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    pub fn summary(&self) -> Summary {
        self.run(self.ledger.summary()).unwrap()
    }

    pub fn commitment_of(&self, account: u64) -> Commitment {
        self.run(self.ledger.account(account))
            .unwrap()
            .expect("registered")
            .commitment
    }

    pub fn credits(&self, liquidator: u64) -> u64 {
        self.run(self.ledger.credits(liquidator)).unwrap()
    }

    pub fn check_invariants(&self) -> zkmargin_settlement::InvariantReport {
        self.run(self.ledger.check_invariants())
            .unwrap_or_else(|e| panic!("invariants: {e}"))
    }
}

/// Initializes the ledger at `db`, registers `accounts` at the old commitments of
/// their transitions, deposits `fund` into the insurance fund, and starts a server
/// settling into it (`ZKMARGIN_LEDGER_DB`, so the URL is in no argument list) on the
/// fixture's development trust (`--allow-development`).
pub fn start<'a>(
    rt: &'a tokio::runtime::Runtime,
    db: &Db,
    accounts: &[&ProvenLiquidation],
    fund: u64,
    extra: &[&str],
) -> Env<'a> {
    let ledger = rt.block_on(async {
        let ledger = Ledger::open(&db.url).await.expect("open the ledger");
        ledger.init(&operator()).await.unwrap();
        ledger.pin_trust(&operator(), &trust()).await.unwrap();
        for t in accounts {
            ledger
                .register_account(&operator(), t.old.id, &t.public.old_commitment)
                .await
                .unwrap();
        }
        if fund > 0 {
            ledger.fund_deposit(&operator(), fund).await.unwrap();
        }
        ledger
    });
    let mut args = vec!["--workers", "2", "--allow-development"];
    args.extend_from_slice(extra);
    let server = Server::start_with(settle_world(), &args, &[("ZKMARGIN_LEDGER_DB", &db.url)]);
    Env { rt, ledger, server }
}

/// The trust of the server `start` runs: its keys, committee and parameters.
pub fn trust() -> PinnedTrust {
    let verifier = settle_world()
        .fixture
        .verifier()
        .expect("the fixture's verifier");
    PinnedTrust::of(&verifier).expect("the fixture has a liquidation key")
}

pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}
