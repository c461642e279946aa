//! Opening, migrations, operator authentication, the venue's updates, and tamper
//! detection by `check_invariants`.

use std::time::{Duration, Instant};

use sqlx::{Connection, Executor};
use zkmargin_circuits::Commitment;

use super::{
    btc_long, ledger_with, liquidation, on_both_databases, operator, record, TestDb,
    KEY_FINGERPRINT, USD,
};
use crate::{
    commands::{self as cli, LedgerCommand, ShowTarget},
    Backend, EventKind, Ledger, LedgerOptions, OperatorKey, SettleError, SCHEMA_VERSION,
};

on_both_databases!(
    concurrent_opens_of_a_fresh_database_all_succeed,
    migrations_are_idempotent_and_checked,
    opening_and_reading_do_not_wait_for_a_writer,
    writes_behind_a_held_lock_fail_with_ledger_busy,
    a_due_migration_behind_a_held_lock_fails_with_ledger_busy,
    totals_beyond_2_63_are_an_overflow_error,
    operator_calls_are_authenticated,
    register_and_replace_follow_their_rules,
    tampering_is_detected,
);

/// The write-lock wait of the busy tests: long enough to see that a writer waits,
/// short enough not to slow the suite.
const SHORT_WAIT: Duration = Duration::from_millis(300);

/// Several nodes starting at once on an empty database: one migrates, the others wait
/// for it and find the schema in place.
async fn concurrent_opens_of_a_fresh_database_all_succeed(db: &TestDb) {
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { Ledger::open(&url).await })
        })
        .collect();
    for open in opens {
        let ledger = open.await.unwrap().expect("every node opens the ledger");
        assert_eq!(
            ledger.summary().await.unwrap().schema_version,
            SCHEMA_VERSION
        );
        ledger.close().await;
    }
}

async fn migrations_are_idempotent_and_checked(db: &TestDb) {
    let first = db.open().await;
    let second = db.open().await; // the schema is there: a no-op
    assert_eq!(
        second.summary().await.unwrap().schema_version,
        SCHEMA_VERSION
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM zkmargin_schema")
        .fetch_one(first.pool())
        .await
        .unwrap();
    assert_eq!(
        rows,
        i64::try_from(crate::schema::MIGRATIONS.len()).unwrap()
    );
    second.close().await;

    // A database whose recorded migration differs from the embedded one is refused.
    sqlx::query("UPDATE zkmargin_schema SET sha256 = 'edited' WHERE version = 1")
        .execute(first.pool())
        .await
        .unwrap();
    let err = Ledger::open(&db.url).await.unwrap_err();
    assert_eq!(err.code(), "migration_modified", "{err}");

    // So is one migrated by a newer build.
    sqlx::query(
        "INSERT INTO zkmargin_schema (version, name, sha256, applied_at) VALUES (99, 'future', '', 0)",
    )
    .execute(first.pool())
    .await
    .unwrap();
    let err = Ledger::open(&db.url).await.unwrap_err();
    assert!(
        matches!(err, SettleError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    first.close().await;
}

/// Another node is mid-write — it holds the writer lock, with uncommitted changes —
/// while a second process opens the ledger and reads it (`show`, totals, `events`,
/// `check`): nothing waits for the writer (SQLite in WAL mode; PostgreSQL never blocks
/// reads), and the reads see the last committed state.
async fn opening_and_reading_do_not_wait_for_a_writer(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = ledger_with(db, &[&old]).await;
    let public = liquidation(&old, 56_150, 9);
    ledger.apply_record(&record(&public)).await.unwrap();
    let before = ledger.summary().await.unwrap();

    let mut writer = ledger.begin_write().await.unwrap();
    sqlx::query("UPDATE insurance_fund SET balance = balance + 5")
        .execute(&mut *writer)
        .await
        .unwrap();

    let started = Instant::now();
    // The default wait (10 s): were any of this to wait for the writer, it would
    // take that long and then fail.
    let reader = Ledger::open(&db.url)
        .await
        .expect("opening a current ledger takes no lock");
    assert_eq!(reader.summary().await.unwrap(), before);
    assert_eq!(
        reader.account(7).await.unwrap().unwrap().commitment,
        public.new_commitment
    );
    assert!(reader
        .liquidation(&public.digest())
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        reader.events(0, 100).await.unwrap().len(),
        5,
        "trust, account, 3 of the liquidation"
    );
    assert_eq!(reader.credits(9).await.unwrap(), 27_610_469);
    assert_eq!(reader.insurance_fund().await.unwrap(), 27_610_468);
    assert_eq!(reader.check_invariants().await.unwrap().liquidations, 1);
    reader.close().await;

    // The read-only commands, each opening the ledger itself.
    let db_arg = || db.url.clone();
    let show = LedgerCommand::Show {
        db: db_arg(),
        target: ShowTarget::Liquidation(hex::encode(public.digest())),
    };
    let out = cli::run(show, false).await.unwrap();
    assert!(out.contains(KEY_FINGERPRINT), "{out}");
    let totals = LedgerCommand::Show {
        db: db_arg(),
        target: ShowTarget::Summary,
    };
    let out = cli::run(totals, false).await.unwrap();
    assert!(out.contains("liquidations        1"), "{out}");
    let events = LedgerCommand::Events {
        db: db_arg(),
        since: 0,
        limit: 100,
    };
    assert_eq!(cli::run(events, false).await.unwrap().lines().count(), 5);
    let out = cli::run(LedgerCommand::Check { db: db_arg() }, false)
        .await
        .unwrap();
    assert!(out.starts_with("ledger consistent"), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the reads waited for the writer: {:?}",
        started.elapsed()
    );

    writer.rollback().await.unwrap();
    assert_eq!(ledger.summary().await.unwrap(), before);
    ledger.close().await;
}

/// While another node holds the writer lock, every write — apply and each operator
/// call — waits the configured time and then fails with `ledger_busy`, writing
/// nothing; once the lock is released the same apply succeeds.
async fn writes_behind_a_held_lock_fail_with_ledger_busy(db: &TestDb) {
    let old = btc_long(7, -54_500);
    let ledger = ledger_with(db, &[&old]).await;
    let node = Ledger::open_with(&db.url, LedgerOptions::new().with_lock_wait(SHORT_WAIT))
        .await
        .unwrap();
    let before = node.summary().await.unwrap();
    let r = record(&liquidation(&old, 56_150, 9));
    let key = operator();
    let (c_old, c_new) = (Commitment::of(&old), Commitment::of(&btc_long(8, 0)));

    let writer = ledger.begin_write().await.unwrap();
    let expect_busy = |what: &str, started: Instant, result: Result<(), SettleError>| {
        let err = result.expect_err(what);
        assert_eq!(err, SettleError::Busy, "{what}: {err}");
        assert_eq!(err.code(), "ledger_busy");
        let waited = started.elapsed();
        assert!(
            waited >= SHORT_WAIT / 2 && waited < Duration::from_secs(5),
            "{what} waited {waited:?} for the lock"
        );
    };
    let t = Instant::now();
    expect_busy("apply", t, node.apply_record(&r).await.map(drop));
    let t = Instant::now();
    expect_busy("init", t, node.init(&key).await);
    let t = Instant::now();
    let result = node.register_account(&key, 8, &c_new).await.map(drop);
    expect_busy("register", t, result);
    let t = Instant::now();
    let result = node.replace_commitment(&key, 7, &c_old, &c_new).await;
    expect_busy("replace", t, result.map(drop));
    let t = Instant::now();
    expect_busy("fund", t, node.fund_deposit(&key, 5).await.map(drop));
    writer.rollback().await.unwrap();

    assert_eq!(node.summary().await.unwrap(), before, "nothing was written");
    node.apply_record(&r).await.unwrap();
    node.check_invariants().await.unwrap();
    node.close().await;
    ledger.close().await;
}

/// Opening a fresh database while another node is migrating it (holding the
/// migration lock) waits the configured time, then fails with `ledger_busy`; once
/// the lock is released the open succeeds.
async fn a_due_migration_behind_a_held_lock_fails_with_ledger_busy(db: &TestDb) {
    sqlx::any::install_default_drivers();
    let mut holder = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    match Backend::of_url(&db.url).unwrap() {
        Backend::Sqlite => {
            holder.execute("PRAGMA journal_mode = WAL").await.unwrap();
            holder.execute("BEGIN IMMEDIATE").await.unwrap();
        }
        Backend::Postgres => {
            holder.execute("BEGIN").await.unwrap();
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(crate::schema::PG_MIGRATION_LOCK)
                .fetch_one(&mut holder)
                .await
                .unwrap();
        }
    }
    let options = LedgerOptions::new().with_lock_wait(SHORT_WAIT);
    let started = Instant::now();
    let err = Ledger::open_with(&db.url, options).await.unwrap_err();
    assert_eq!(err.code(), "ledger_busy", "{err}");
    assert!(
        started.elapsed() >= SHORT_WAIT / 2,
        "{:?}",
        started.elapsed()
    );

    holder.execute("ROLLBACK").await.unwrap();
    holder.close().await.unwrap();
    let ledger = Ledger::open_with(&db.url, options).await.unwrap();
    assert_eq!(
        ledger.summary().await.unwrap().schema_version,
        SCHEMA_VERSION
    );
    ledger.close().await;
}

/// Each credit fits a BIGINT, their sum need not: the totals report that as
/// `balance_overflow`, not as a database error or a panic.
async fn totals_beyond_2_63_are_an_overflow_error(db: &TestDb) {
    let ledger = ledger_with(db, &[]).await;
    for id in [1i64, 2] {
        sqlx::query(
            "INSERT INTO liquidator_credits (liquidator, balance, updated_at) VALUES ($1, $2, 0)",
        )
        .bind(id)
        .bind(i64::MAX - 1)
        .execute(ledger.pool())
        .await
        .unwrap();
    }
    let err = ledger.summary().await.unwrap_err();
    assert_eq!(
        err,
        SettleError::Overflow("total of liquidator credits"),
        "{err}"
    );
    assert_eq!(err.code(), "balance_overflow");
    let totals = LedgerCommand::Show {
        db: db.url.clone(),
        target: ShowTarget::Summary,
    };
    let err = cli::run(totals, false).await.unwrap_err();
    assert_eq!(err.code(), "balance_overflow", "{err}");
    // Credits without events: a violation, found without overflowing either.
    let err = ledger.check_invariants().await.unwrap_err();
    assert_eq!(err.code(), "invariant_violated", "{err}");
    ledger.close().await;
}

async fn operator_calls_are_authenticated(db: &TestDb) {
    let ledger = db.open().await;
    let key = operator();
    let c = Commitment::of(&btc_long(1, 0));
    let err = ledger.register_account(&key, 1, &c).await.unwrap_err();
    assert_eq!(err, SettleError::NotInitialized);

    ledger.init(&key).await.unwrap();
    ledger.init(&key).await.unwrap(); // the same key again: fine
    let other = OperatorKey::new(b"another-operator-secret-0123456789".to_vec()).unwrap();
    assert_eq!(
        ledger.init(&other).await.unwrap_err(),
        SettleError::AlreadyInitialized
    );

    // Every operator call refuses another key, and writes nothing.
    let err = ledger.register_account(&other, 1, &c).await.unwrap_err();
    assert_eq!(err, SettleError::OperatorKeyRejected);
    ledger.register_account(&key, 1, &c).await.unwrap();
    let c2 = Commitment::of(&btc_long(1, 1));
    let err = ledger
        .replace_commitment(&other, 1, &c, &c2)
        .await
        .unwrap_err();
    assert_eq!(err, SettleError::OperatorKeyRejected);
    let err = ledger.fund_deposit(&other, 5).await.unwrap_err();
    assert_eq!(err, SettleError::OperatorKeyRejected);
    let s = ledger.summary().await.unwrap();
    assert_eq!((s.accounts, s.insurance_fund, s.events), (1, 0, 1));
    assert!(s.initialized);

    // The stored secret is only a digest.
    let stored: String = sqlx::query_scalar("SELECT operator_key_sha256 FROM ledger_meta")
        .fetch_one(ledger.pool())
        .await
        .unwrap();
    assert_eq!(stored, hex::encode(key.digest()));
    ledger.close().await;
}

async fn register_and_replace_follow_their_rules(db: &TestDb) {
    let ledger = ledger_with(db, &[]).await;
    let key = operator();
    let (a, b) = (btc_long(1, 0), btc_long(2, 0));
    let (ca, cb) = (Commitment::of(&a), Commitment::of(&b));
    let r = ledger.register_account(&key, 1, &ca).await.unwrap();
    assert_eq!((r.id, r.commitment, r.nonce), (1, ca, 0));
    assert_eq!(
        ledger.register_account(&key, 1, &cb).await.unwrap_err(),
        SettleError::AccountExists(1)
    );
    let err = ledger.register_account(&key, 2, &ca).await.unwrap_err();
    assert_eq!(err.code(), "commitment_in_use", "{err}");
    ledger.register_account(&key, 2, &cb).await.unwrap();

    // Compare and swap: nonce + 1 on success; a wrong expectation is stale.
    let mut a2 = a.clone();
    a2.nonce += 1;
    a2.quote += 10 * USD;
    let ca2 = Commitment::of(&a2);
    let r = ledger.replace_commitment(&key, 1, &ca, &ca2).await.unwrap();
    assert_eq!((r.commitment, r.nonce), (ca2, 1));
    let err = ledger
        .replace_commitment(&key, 1, &ca, &ca2)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "stale_commitment", "{err}");
    let err = ledger
        .replace_commitment(&key, 1, &ca2, &cb)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "commitment_in_use", "{err}");
    assert_eq!(
        ledger
            .replace_commitment(&key, 3, &ca, &ca2)
            .await
            .unwrap_err(),
        SettleError::UnknownAccount(3)
    );
    assert_eq!(
        ledger.fund_deposit(&key, 0).await.unwrap_err(),
        SettleError::ZeroDeposit
    );
    assert_eq!(ledger.fund_deposit(&key, 7).await.unwrap(), 7);
    assert_eq!(ledger.fund_deposit(&key, 8).await.unwrap(), 15);

    assert_eq!(ledger.account(1).await.unwrap().unwrap().commitment, ca2);
    assert_eq!(
        ledger.account_by_commitment(&cb).await.unwrap().unwrap().id,
        2
    );
    assert!(ledger.account_by_commitment(&ca).await.unwrap().is_none());
    assert!(ledger.account(3).await.unwrap().is_none());
    let kinds: Vec<_> = ledger
        .events(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            EventKind::TrustPinned,
            EventKind::AccountRegistered,
            EventKind::AccountRegistered,
            EventKind::CommitmentReplaced,
            EventKind::FundDeposit,
            EventKind::FundDeposit
        ]
    );
    let report = ledger.check_invariants().await.unwrap();
    assert_eq!((report.accounts, report.fund_balance), (2, 15));
    ledger.close().await;
}

/// Edits behind the ledger's back — a balance, an event, a removed event — are
/// found by `check_invariants`.
async fn tampering_is_detected(db: &TestDb) {
    let old = btc_long(7, -54_900);
    let ledger = ledger_with(db, &[&old]).await;
    ledger
        .fund_deposit(&operator(), 100 * USD as u64)
        .await
        .unwrap();
    ledger
        .apply_record(&record(&liquidation(&old, 55_000, 9)))
        .await
        .unwrap();
    ledger.check_invariants().await.unwrap();
    let pool = ledger.pool();
    let exec = |sql: &'static str| sqlx::query(sql).execute(pool);

    let expect_violation = |r: Result<_, SettleError>, what: &str| match r {
        Err(SettleError::InvariantViolated(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("expected a violation about {what:?}, got {other:?}"),
    };

    exec("UPDATE insurance_fund SET balance = balance + 1")
        .await
        .unwrap();
    expect_violation(ledger.check_invariants().await, "insurance fund");
    exec("UPDATE insurance_fund SET balance = balance - 1")
        .await
        .unwrap();

    exec("UPDATE liquidator_credits SET balance = balance + 1")
        .await
        .unwrap();
    expect_violation(ledger.check_invariants().await, "liquidator 9");
    exec("UPDATE liquidator_credits SET balance = balance - 1")
        .await
        .unwrap();

    exec("UPDATE events SET amount = amount + 1 WHERE kind = 'insurance_fee'")
        .await
        .unwrap();
    expect_violation(ledger.check_invariants().await, "chain hash");
    exec("UPDATE events SET amount = amount - 1 WHERE kind = 'insurance_fee'")
        .await
        .unwrap();

    // The provenance of a liquidation row is what its chained event recorded.
    exec("UPDATE applied_liquidations SET key_fingerprint = 'forged'")
        .await
        .unwrap();
    expect_violation(ledger.check_invariants().await, "key_fingerprint");
    sqlx::query("UPDATE applied_liquidations SET key_fingerprint = $1")
        .bind(KEY_FINGERPRINT)
        .execute(pool)
        .await
        .unwrap();
    exec("UPDATE applied_liquidations SET oracle_config_digest = 'forged'")
        .await
        .unwrap();
    expect_violation(ledger.check_invariants().await, "oracle_config_digest");
    sqlx::query("UPDATE applied_liquidations SET oracle_config_digest = $1")
        .bind(hex::encode(super::ORACLE_CONFIG_DIGEST))
        .execute(pool)
        .await
        .unwrap();
    ledger.check_invariants().await.unwrap();

    exec("UPDATE socialized_losses SET amount = amount + 1")
        .await
        .unwrap();
    expect_violation(ledger.check_invariants().await, "loss table");
    exec("UPDATE socialized_losses SET amount = amount - 1")
        .await
        .unwrap();
    ledger.check_invariants().await.unwrap();

    // Dropping the last event (and the sum it carried) is a truncated log.
    exec("DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)")
        .await
        .unwrap();
    expect_violation(ledger.check_invariants().await, "truncated");
    ledger.close().await;
}

#[tokio::test]
async fn unsupported_urls_are_refused_without_echoing_them() {
    let err = Ledger::open("mysql://root:hunter2@db/ledger")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_database_url");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert_eq!(
        Backend::of_url("postgresql://x/y").unwrap(),
        Backend::Postgres
    );
}

#[tokio::test]
async fn an_unreachable_database_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    // Without mode=rwc SQLite does not create the file.
    let url = format!("sqlite://{}/missing.db", dir.path().display());
    let err = Ledger::open(&url).await.unwrap_err();
    assert_eq!(err.code(), "database_unavailable", "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_full_sync() {
    let db = TestDb::sqlite();
    let ledger = db.open().await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(ledger.pool())
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(ledger.pool())
        .await
        .unwrap();
    assert_eq!(sync, 2, "synchronous = FULL");
    ledger.close().await;
}
