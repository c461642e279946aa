//! The ledger's tests, on SQLite always and on PostgreSQL when
//! `ZKMARGIN_TEST_POSTGRES_URL` is set (`scripts/ci-postgres.sh` starts a throwaway
//! server and prints the export line). They live inside the crate because they apply
//! records through the crate-private `apply_record`: a `VerifiedLiquidation` comes only
//! out of the verifier, from a real proof, and the end-to-end tests that make one
//! (`tests/service_settle.rs`, `tests/cli_liquidation.rs`) cover `Ledger::apply`.
//! Every record here is built from a real `LiquidationPublic` that the native twin of
//! the liquidation circuit accepts.

mod commands;
#[cfg(feature = "fault-injection")]
mod crash;
mod ledger;
mod safety;
mod trust;
mod worked_example;

use std::{io::Write, sync::Once};

use zkmargin_circuits::{
    apply_liquidation, state_after, Account, Blinding, Commitment, Fr, LiquidationPublic,
    LiquidationRules, Prices, RiskParams, MARKETS, TOKENS,
};
use zkmargin_prover::choose_liquidation;

use crate::{
    apply::LiquidationFacts,
    scratch::{with_database, ScratchDatabase},
    Ledger, OperatorKey, PinnedTrust,
};

/// The variable naming an admin URL of a PostgreSQL server the tests may create
/// databases on.
pub(crate) const POSTGRES_ENV: &str = "ZKMARGIN_TEST_POSTGRES_URL";

/// Quote atomic units per USD.
pub(crate) const USD: i64 = 1_000_000;
/// Satoshi per BTC.
pub(crate) const BTC: i64 = 100_000_000;

/// A database for one test: an SQLite file in a temporary directory, or a fresh
/// database on the PostgreSQL server.
pub(crate) struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<ScratchDatabase>,
}

impl TestDb {
    pub(crate) fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/ledger.db?mode=rwc", dir.path().display());
        Self {
            url,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A fresh database, or `None` (with a one-line note) when no server is configured.
    pub(crate) async fn postgres() -> Option<Self> {
        let Ok(admin) = std::env::var(POSTGRES_ENV) else {
            static NOTE: Once = Once::new();
            NOTE.call_once(|| {
                // Straight to stderr: the test harness captures print!/eprint!.
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping PostgreSQL tests: {POSTGRES_ENV} is not set"
                );
            });
            return None;
        };
        let db = ScratchDatabase::create(&admin, "zkmargin_test")
            .await
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

    pub(crate) async fn open(&self) -> Ledger {
        Ledger::open(&self.url).await.expect("open ledger")
    }

    /// Drops the PostgreSQL database (best effort).
    pub(crate) async fn finish(self) {
        if let Some(db) = self.postgres {
            db.drop_database().await;
        }
    }
}

/// Runs each named `async fn name(db: &TestDb)` as `name::sqlite` and `name::postgres`.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let db = crate::tests::TestDb::sqlite();
                    super::$name(&db).await;
                    db.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(db) = crate::tests::TestDb::postgres().await else {
                        return;
                    };
                    super::$name(&db).await;
                    db.finish().await;
                }
            }
        )*
    };
}
pub(crate) use on_both_databases;

/// The operator key of every test.
pub(crate) fn operator() -> OperatorKey {
    OperatorKey::new(b"test-operator-secret-0123456789abcdef".to_vec()).unwrap()
}

/// Development prices at a BTC price in whole USD (ETH 3,000, SOL 150, USDC 1,
/// DOGE 0.10): USD per whole unit → 10^-9 quote units per atomic unit.
pub(crate) fn prices(btc_usd: u64) -> Prices {
    let per =
        |usd_micro: u128, decimals: u32| (usd_micro * 1_000_000_000 / 10u128.pow(decimals)) as u64;
    let mut p = Prices::default();
    p.tokens[0] = per(3_000 * 1_000_000, 9);
    p.tokens[1] = per(u128::from(btc_usd) * 1_000_000, 8);
    p.tokens[2] = per(150 * 1_000_000, 9);
    p.tokens[3] = per(1_000_000, 6);
    p.markets[0] = p.tokens[1];
    p.markets[1] = p.tokens[0];
    p.markets[2] = p.tokens[2];
    p.markets[3] = per(10 * 10_000, 6);
    p
}

/// A 1 BTC-PERP long with `quote_usd` of quote, id `id`.
pub(crate) fn btc_long(id: u64, quote_usd: i64) -> Account {
    let mut positions = [0; MARKETS];
    positions[0] = BTC;
    Account {
        id,
        nonce: 4,
        tokens: [0; TOKENS],
        quote: quote_usd * USD,
        positions,
        blinding: Blinding(Fr::from(1_000 + id)),
    }
}

/// The liquidation the prover's policy chooses for `old` at `btc_usd`, owed to
/// `liquidator` — a statement the native twin of the circuit accepts.
pub(crate) fn liquidation(old: &Account, btc_usd: u64, liquidator: u64) -> LiquidationPublic {
    let params = RiskParams::development();
    let p = prices(btc_usd);
    let chosen = choose_liquidation(old, &params, &p).expect("a legal liquidation");
    let (_, deficit) = state_after(old, &chosen.action, &chosen.terms).expect("state after");
    let new_blinding = Blinding(old.blinding.0 + Fr::from(1u64));
    let mut public = LiquidationPublic {
        old_commitment: Commitment::of(old),
        new_commitment: Commitment::of(old), // set below from the twin's new state
        liquidator,
        action: chosen.action,
        terms: chosen.terms,
        deficit,
        prices: p,
        weights: params.weights(),
        rules: LiquidationRules::from(&params),
    };
    let new = apply_liquidation(old, &public, new_blinding).expect("the twin accepts");
    public.new_commitment = Commitment::of(&new);
    public
}

/// The state the twin produces for `public` (to chain liquidations in tests).
pub(crate) fn state_after_liquidation(old: &Account, public: &LiquidationPublic) -> Account {
    apply_liquidation(old, public, Blinding(old.blinding.0 + Fr::from(1u64))).unwrap()
}

/// The oracle configuration digest of every test record.
pub(crate) const ORACLE_CONFIG_DIGEST: [u8; 32] = [0x0c; 32];
/// The verifying-key fingerprint of every test record.
pub(crate) const KEY_FINGERPRINT: &str =
    "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b";

/// The record of `public` as verified under the development parameters.
pub(crate) fn record(public: &LiquidationPublic) -> LiquidationFacts {
    LiquidationFacts::from_statement(
        public,
        RiskParams::development().digest(),
        [0x5e; 32],
        1_760_000_000,
        ORACLE_CONFIG_DIGEST,
        KEY_FINGERPRINT,
    )
}

/// The trust every test record is verified under.
pub(crate) fn pinned_trust() -> PinnedTrust {
    PinnedTrust::new(
        KEY_FINGERPRINT,
        ORACLE_CONFIG_DIGEST,
        [RiskParams::development().digest()],
    )
}

/// An initialized ledger, its trust pinned to [`pinned_trust`], with `accounts`
/// registered at their commitments.
pub(crate) async fn ledger_with(db: &TestDb, accounts: &[&Account]) -> Ledger {
    let ledger = db.open().await;
    ledger.init(&operator()).await.unwrap();
    ledger
        .pin_trust(&operator(), &pinned_trust())
        .await
        .unwrap();
    for a in accounts {
        ledger
            .register_account(&operator(), a.id, &Commitment::of(a))
            .await
            .unwrap();
    }
    ledger
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database(
            "postgres://u:p@127.0.0.1:5433/postgres?sslmode=disable",
            "x"
        ),
        "postgres://u:p@127.0.0.1:5433/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
