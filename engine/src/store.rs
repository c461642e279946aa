//! The engine's private store: the venue's accounts, the reports it has ticked on,
//! and its secret (the root of the provers' per-job seeds). SQLite by default,
//! PostgreSQL by URL (sqlx `Any`, as the settlement ledger). A SQLite file is created
//! owner-only (0600), like account files: it holds every balance and blinding.

use std::time::Duration;

use rand::RngCore;
use sqlx::{any::AnyPoolOptions, AnyPool, Row};
use zkmargin_circuits::{Account, Commitment};
use zkmargin_oracle::SignedReport;

use crate::{error::one_line, writeback::PostState, EngineError};

/// A tick's state in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickState {
    /// Jobs are being published (an engine that stops here resumes the tick).
    Started,
    /// Every job of the tick was acknowledged by JetStream.
    Done,
}

/// The engine's store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

fn err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Store(one_line(&e.to_string()))
}

/// The SQLite file a `sqlite:` URL names, if any (not an in-memory database).
fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    Some(path.to_string())
}

impl Store {
    /// Opens (creating if needed) the store at `url`: `sqlite://PATH` (or a bare path)
    /// or `postgres://…`.
    ///
    /// # Errors
    /// [`EngineError::Store`] when the database cannot be opened or its tables created;
    /// [`EngineError::Config`] for a URL of another scheme.
    pub async fn open(url: &str) -> Result<Self, EngineError> {
        let url = if url.contains("://") || url.starts_with("sqlite:") {
            url.to_string()
        } else {
            format!("sqlite://{url}")
        };
        let sqlite = url.starts_with("sqlite:");
        if !sqlite && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(EngineError::Config(format!(
                "store URL {url:?} is neither sqlite://PATH nor postgres://…"
            )));
        }
        let mut url = url;
        if let Some(path) = sqlite_path(&url) {
            create_private(&path)?;
            if !url.contains('?') {
                url.push_str("?mode=rwc");
            }
        }
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 1 } else { 4 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        use sqlx::Executor;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| {
                EngineError::Store(format!("cannot open {url}: {}", one_line(&e.to_string())))
            })?;
        for ddl in [
            "CREATE TABLE IF NOT EXISTS engine_accounts (id BIGINT PRIMARY KEY, commitment TEXT NOT NULL, state TEXT NOT NULL, seq BIGINT NOT NULL DEFAULT 0)",
            "CREATE INDEX IF NOT EXISTS engine_accounts_commitment ON engine_accounts (commitment)",
            "CREATE TABLE IF NOT EXISTS engine_reports (digest TEXT PRIMARY KEY, observed_at BIGINT NOT NULL, state TEXT NOT NULL, jobs BIGINT NOT NULL, report TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS engine_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS engine_seq (one BIGINT PRIMARY KEY, seq BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS engine_pending (new_commitment TEXT PRIMARY KEY, account_id BIGINT NOT NULL, old_commitment TEXT NOT NULL, statement_digest TEXT NOT NULL, job_id TEXT NOT NULL, state TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS engine_pending_account ON engine_pending (account_id)",
        ] {
            sqlx::query(ddl).execute(&pool).await.map_err(err)?;
        }
        // A store made before the change sequence existed: add the column (rows at 0
        // are read by the first load, which reads every row).
        if sqlx::query("SELECT seq FROM engine_accounts LIMIT 1")
            .fetch_optional(&pool)
            .await
            .is_err()
        {
            sqlx::query("ALTER TABLE engine_accounts ADD COLUMN seq BIGINT NOT NULL DEFAULT 0")
                .execute(&pool)
                .await
                .map_err(err)?;
        }
        for ddl in [
            "CREATE INDEX IF NOT EXISTS engine_accounts_seq ON engine_accounts (seq)",
            "INSERT INTO engine_seq (one, seq) VALUES (1, 0) ON CONFLICT (one) DO NOTHING",
        ] {
            sqlx::query(ddl).execute(&pool).await.map_err(err)?;
        }
        Ok(Self { pool })
    }

    /// Inserts or replaces accounts (by id). Returns how many were written.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    ///
    /// Each written row gets a new change sequence number ([`Store::changes_since`]), so
    /// a running engine picks the accounts up at its next tick; a liquidation of an
    /// imported account still pending ([`Store::add_pending`]) is dropped: the import
    /// is the venue's word on the account's state.
    pub async fn upsert_accounts(&self, accounts: &[Account]) -> Result<usize, EngineError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        let mut seq = next_seqs(&mut tx, accounts.len()).await?;
        for a in accounts {
            let id = i64::try_from(a.id)
                .map_err(|_| EngineError::Store(format!("account id {} exceeds 2^63 - 1", a.id)))?;
            seq += 1;
            write_account(&mut tx, id, a, seq).await?;
            sqlx::query("DELETE FROM engine_pending WHERE account_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(accounts.len())
    }

    /// The accounts written with a change sequence number above `since`, with their
    /// numbers, in order. `since = -1` reads every account. A reader that remembers the
    /// largest number it saw misses no write: numbers are taken under the write lock
    /// (the counter row is the first thing each writing transaction updates), so they
    /// commit in order.
    ///
    /// # Errors
    /// [`EngineError::Store`], also for a stored state that does not parse.
    pub async fn changes_since(&self, since: i64) -> Result<Vec<(i64, Account)>, EngineError> {
        let rows =
            sqlx::query("SELECT seq, state FROM engine_accounts WHERE seq > $1 ORDER BY seq")
                .bind(since)
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get(0).map_err(err)?;
                let s: String = r.try_get(1).map_err(err)?;
                Ok((seq, serde_json::from_str(&s).map_err(err)?))
            })
            .collect()
    }

    /// Records `post` as the pending post-state of the liquidation job `job_id`
    /// (idempotent: a job queued again records nothing new).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn add_pending(&self, post: &PostState, job_id: &str) -> Result<(), EngineError> {
        let id = i64::try_from(post.account.id).map_err(|_| {
            EngineError::Store(format!("account id {} exceeds 2^63 - 1", post.account.id))
        })?;
        let new = post.new_commitment.to_hex();
        let exists = sqlx::query("SELECT 1 FROM engine_pending WHERE new_commitment = $1")
            .bind(&new)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        if exists.is_none() {
            sqlx::query("INSERT INTO engine_pending (new_commitment, account_id, old_commitment, statement_digest, job_id, state) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(new)
                .bind(id)
                .bind(post.old_commitment.to_hex())
                .bind(hex::encode(post.statement_digest))
                .bind(job_id)
                .bind(serde_json::to_string(&post.account).map_err(err)?)
                .execute(&self.pool)
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    /// The pending post-state whose commitment is `new_commitment_hex`.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn pending(&self, new_commitment_hex: &str) -> Result<Option<Pending>, EngineError> {
        let row = sqlx::query(&format!(
            "SELECT {PENDING_COLUMNS} FROM engine_pending WHERE new_commitment = $1"
        ))
        .bind(new_commitment_hex)
        .fetch_optional(&self.pool)
        .await
        .map_err(err)?;
        row.map(|r| pending_from_row(&r)).transpose()
    }

    /// Every pending post-state (liquidations queued and not yet confirmed settled).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn pendings(&self) -> Result<Vec<Pending>, EngineError> {
        sqlx::query(&format!(
            "SELECT {PENDING_COLUMNS} FROM engine_pending ORDER BY account_id"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(err)?
        .iter()
        .map(pending_from_row)
        .collect()
    }

    /// Moves the account of the pending post-state `new_commitment_hex` to that state
    /// (a new change sequence number) and drops every pending post-state of the
    /// account — only if the store still holds the state the liquidation started from.
    /// The caller has confirmed the settlement.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn apply_pending(&self, new_commitment_hex: &str) -> Result<WriteBack, EngineError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        // First a write: the transaction holds the write lock from here on.
        let seq = next_seqs(&mut tx, 1).await? + 1;
        let row = sqlx::query(&format!(
            "SELECT {PENDING_COLUMNS} FROM engine_pending WHERE new_commitment = $1"
        ))
        .bind(new_commitment_hex)
        .fetch_optional(&mut *tx)
        .await
        .map_err(err)?;
        let Some(pending) = row.map(|r| pending_from_row(&r)).transpose()? else {
            let held = sqlx::query("SELECT 1 FROM engine_accounts WHERE commitment = $1")
                .bind(new_commitment_hex)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
            tx.rollback().await.map_err(err)?;
            return Ok(if held.is_some() {
                WriteBack::AlreadyApplied
            } else {
                WriteBack::Unknown
            });
        };
        let id = i64::try_from(pending.account.id).map_err(err)?;
        let current: Option<String> =
            sqlx::query("SELECT commitment FROM engine_accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?
                .map(|r| r.try_get(0))
                .transpose()
                .map_err(err)?;
        let outcome = if current.as_deref() == Some(pending.old_commitment.as_str()) {
            write_account(&mut tx, id, &pending.account, seq).await?;
            sqlx::query("DELETE FROM engine_pending WHERE account_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            WriteBack::Applied(pending.account.id)
        } else {
            // The store moved on (an import): this post-state can never apply.
            sqlx::query("DELETE FROM engine_pending WHERE new_commitment = $1")
                .bind(new_commitment_hex)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            WriteBack::Superseded(pending.account.id)
        };
        tx.commit().await.map_err(err)?;
        Ok(outcome)
    }

    /// Every account, by id.
    ///
    /// # Errors
    /// [`EngineError::Store`], also for a stored state that does not parse.
    pub async fn accounts(&self) -> Result<Vec<(u64, Account)>, EngineError> {
        let rows = sqlx::query("SELECT state FROM engine_accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get(0).map_err(err)?;
                let a: Account = serde_json::from_str(&s).map_err(err)?;
                Ok((a.id, a))
            })
            .collect()
    }

    /// The account whose current state has `commitment`.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn account_by_commitment(
        &self,
        commitment_hex: &str,
    ) -> Result<Option<Account>, EngineError> {
        let row = sqlx::query("SELECT state FROM engine_accounts WHERE commitment = $1")
            .bind(commitment_hex)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        match row {
            None => Ok(None),
            Some(r) => {
                let s: String = r.try_get(0).map_err(err)?;
                Ok(Some(serde_json::from_str(&s).map_err(err)?))
            }
        }
    }

    /// The engine's 32-byte secret, made on first use.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn secret(&self) -> Result<[u8; 32], EngineError> {
        let read = || async {
            let row = sqlx::query("SELECT value FROM engine_meta WHERE name = 'secret'")
                .fetch_optional(&self.pool)
                .await
                .map_err(err)?;
            row.map(|r| r.try_get::<String, _>(0).map_err(err))
                .transpose()
        };
        if read().await?.is_none() {
            let mut s = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut s);
            // A concurrent first start inserts once; both then read the winner.
            let _ = sqlx::query("INSERT INTO engine_meta (name, value) VALUES ('secret', $1)")
                .bind(hex::encode(s))
                .execute(&self.pool)
                .await;
        }
        let text = read()
            .await?
            .ok_or_else(|| EngineError::Store("the engine secret was not stored".into()))?;
        let mut s = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut s).map_err(|_| {
            EngineError::Store("the stored engine secret is not 32 hex bytes".into())
        })?;
        Ok(s)
    }

    /// The state of the tick on the report with `digest`, if the engine saw it.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn tick_state(&self, digest: &[u8; 32]) -> Result<Option<TickState>, EngineError> {
        let row = sqlx::query("SELECT state FROM engine_reports WHERE digest = $1")
            .bind(hex::encode(digest))
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        Ok(match row {
            None => None,
            Some(r) => {
                let s: String = r.try_get(0).map_err(err)?;
                Some(if s == "done" {
                    TickState::Done
                } else {
                    TickState::Started
                })
            }
        })
    }

    /// The newest `observed_at` of a finished tick.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn last_done_observed_at(&self) -> Result<Option<u64>, EngineError> {
        let row = sqlx::query("SELECT MAX(observed_at) FROM engine_reports WHERE state = 'done'")
            .fetch_one(&self.pool)
            .await
            .map_err(err)?;
        let v: Option<i64> = row.try_get(0).map_err(err)?;
        Ok(v.map(|v| v.max(0) as u64))
    }

    /// Records that a tick on `report` started.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn begin_tick(&self, report: &SignedReport) -> Result<(), EngineError> {
        let digest = hex::encode(report.report.digest());
        let observed = i64::try_from(report.report.observed_at).unwrap_or(i64::MAX);
        let json = serde_json::to_string(report).map_err(err)?;
        let exists = sqlx::query("SELECT 1 FROM engine_reports WHERE digest = $1")
            .bind(&digest)
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        if exists.is_none() {
            sqlx::query(
                "INSERT INTO engine_reports (digest, observed_at, state, jobs, report) VALUES ($1, $2, 'started', 0, $3)",
            )
            .bind(&digest)
            .bind(observed)
            .bind(json)
            .execute(&self.pool)
            .await
            .map_err(err)?;
        }
        Ok(())
    }

    /// Records that every job of the tick on `digest` was published.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn finish_tick(&self, digest: &[u8; 32], jobs: u64) -> Result<(), EngineError> {
        sqlx::query("UPDATE engine_reports SET state = 'done', jobs = $1 WHERE digest = $2")
            .bind(i64::try_from(jobs).unwrap_or(i64::MAX))
            .bind(hex::encode(digest))
            .execute(&self.pool)
            .await
            .map_err(err)?;
        Ok(())
    }

    /// The report of a tick the engine saw.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn report(&self, digest: &[u8; 32]) -> Result<Option<SignedReport>, EngineError> {
        let row = sqlx::query("SELECT report FROM engine_reports WHERE digest = $1")
            .bind(hex::encode(digest))
            .fetch_optional(&self.pool)
            .await
            .map_err(err)?;
        match row {
            None => Ok(None),
            Some(r) => {
                let s: String = r.try_get(0).map_err(err)?;
                Ok(Some(serde_json::from_str(&s).map_err(err)?))
            }
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A liquidation's post-state waiting for its settlement to be confirmed.
#[derive(Clone)]
pub struct Pending {
    /// The account after the liquidation.
    pub account: Account,
    /// Commitment before, hex.
    pub old_commitment: String,
    /// Commitment after, hex.
    pub new_commitment: String,
    /// The statement digest (the ledger's replay key), hex.
    pub statement_digest: String,
    /// The liquidation job, hex.
    pub job_id: String,
}

impl std::fmt::Debug for Pending {
    // The account is a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("account_id", &self.account.id)
            .field("new_commitment", &self.new_commitment)
            .finish_non_exhaustive()
    }
}

/// What [`Store::apply_pending`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteBack {
    /// The account (id) now holds the post-state.
    Applied(u64),
    /// The account already holds it (a repeated notice).
    AlreadyApplied,
    /// The account (id) no longer holds the pre-state; the post-state was dropped.
    Superseded(u64),
    /// No such pending post-state.
    Unknown,
}

const PENDING_COLUMNS: &str = "state, old_commitment, new_commitment, statement_digest, job_id";

fn pending_from_row(r: &sqlx::any::AnyRow) -> Result<Pending, EngineError> {
    let state: String = r.try_get(0).map_err(err)?;
    Ok(Pending {
        account: serde_json::from_str(&state).map_err(err)?,
        old_commitment: r.try_get(1).map_err(err)?,
        new_commitment: r.try_get(2).map_err(err)?,
        statement_digest: r.try_get(3).map_err(err)?,
        job_id: r.try_get(4).map_err(err)?,
    })
}

/// Takes `n` change sequence numbers: returns the last one taken before them (the
/// caller uses `last + 1 ..= last + n`). The counter row's update is the transaction's
/// write lock (SQLite) or row lock (PostgreSQL) until it commits.
async fn next_seqs(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    n: usize,
) -> Result<i64, EngineError> {
    let n = i64::try_from(n).map_err(err)?;
    sqlx::query("UPDATE engine_seq SET seq = seq + $1 WHERE one = 1")
        .bind(n)
        .execute(&mut **tx)
        .await
        .map_err(err)?;
    let end: i64 = sqlx::query("SELECT seq FROM engine_seq WHERE one = 1")
        .fetch_one(&mut **tx)
        .await
        .map_err(err)?
        .try_get(0)
        .map_err(err)?;
    Ok(end - n)
}

/// Writes account `a` (row `id`) with change number `seq`.
async fn write_account(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    a: &Account,
    seq: i64,
) -> Result<(), EngineError> {
    let state = serde_json::to_string(a).map_err(err)?;
    sqlx::query("DELETE FROM engine_accounts WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(err)?;
    sqlx::query("INSERT INTO engine_accounts (id, commitment, state, seq) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(Commitment::of(a).to_hex())
        .bind(state)
        .bind(seq)
        .execute(&mut **tx)
        .await
        .map_err(err)?;
    Ok(())
}

/// Creates `path` owner-only (0600) if it does not exist; refuses a group- or
/// world-readable existing file on Unix.
fn create_private(path: &str) -> Result<(), EngineError> {
    let p = std::path::Path::new(path);
    if p.exists() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(p).map_err(err)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(EngineError::Store(format!(
                    "{path} is readable by others (mode {:o}); it holds private accounts: chmod 600 it",
                    mode & 0o777
                )));
            }
        }
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(p) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(EngineError::Store(format!("cannot create {path}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkmargin_circuits::Account;

    fn account(id: u64, quote: i64) -> Account {
        let mut a = Account::empty(id, &mut rand::thread_rng());
        a.quote = quote;
        a
    }

    fn post(from: &Account, quote: i64) -> PostState {
        let mut to = from.clone();
        to.quote = quote;
        to.nonce += 1;
        PostState {
            old_commitment: Commitment::of(from),
            new_commitment: Commitment::of(&to),
            statement_digest: [quote as u8; 32],
            account: to,
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn changes_pending_and_write_back_sqlite() {
        rt().block_on(async {
            changes_pending_and_write_back(Store::open("sqlite::memory:").await.unwrap()).await
        });
    }

    /// The same rules on PostgreSQL, in a fresh database on the server that
    /// `ZKMARGIN_TEST_POSTGRES_URL` names (as the settlement tests; `.ci/run` sets it):
    /// the store's SQL runs on both backends.
    #[test]
    fn changes_pending_and_write_back_postgres() {
        let Ok(admin) = std::env::var("ZKMARGIN_TEST_POSTGRES_URL") else {
            eprintln!("skipping the PostgreSQL store test: ZKMARGIN_TEST_POSTGRES_URL is not set");
            return;
        };
        rt().block_on(async {
            let db = zkmargin_settlement::scratch::ScratchDatabase::create(
                &admin,
                "zkmargin_engine_store",
            )
            .await
            .unwrap_or_else(|e| {
                panic!("ZKMARGIN_TEST_POSTGRES_URL is set but the server refuses: {e}")
            });
            let store = Store::open(&db.url).await.unwrap();
            changes_pending_and_write_back(store.clone()).await;
            store.close().await;
            db.drop_database().await;
        });
    }

    async fn changes_pending_and_write_back(store: Store) {
        {
            let (a, b) = (account(1, 10), account(2, 20));
            store
                .upsert_accounts(&[a.clone(), b.clone()])
                .await
                .unwrap();
            let all = store.changes_since(-1).await.unwrap();
            assert_eq!(all.len(), 2);
            let last = all.iter().map(|(s, _)| *s).max().unwrap();
            assert!(store.changes_since(last).await.unwrap().is_empty());

            // A pending post-state changes nothing until it is applied.
            let p = post(&a, 11);
            store.add_pending(&p, "job").await.unwrap();
            store.add_pending(&p, "job").await.unwrap();
            assert_eq!(store.pendings().await.unwrap().len(), 1);
            assert!(store.changes_since(last).await.unwrap().is_empty());
            assert_eq!(
                store.apply_pending(&"00".repeat(32)).await.unwrap(),
                WriteBack::Unknown
            );
            assert!(store.changes_since(last).await.unwrap().is_empty());

            // Applied: the account moves, with a new change number; pendings go.
            let hex = p.new_commitment.to_hex();
            assert_eq!(
                store.apply_pending(&hex).await.unwrap(),
                WriteBack::Applied(1)
            );
            let changed = store.changes_since(last).await.unwrap();
            assert_eq!(changed.len(), 1);
            assert_eq!(changed[0].1, p.account);
            assert!(changed[0].0 > last);
            assert_eq!(
                store.apply_pending(&hex).await.unwrap(),
                WriteBack::AlreadyApplied
            );
            assert!(store.account_by_commitment(&hex).await.unwrap().is_some());

            // An import supersedes a pending post-state: it never applies.
            let q = post(&b, 21);
            store.add_pending(&q, "job2").await.unwrap();
            let b2 = account(2, 30);
            store
                .upsert_accounts(std::slice::from_ref(&b2))
                .await
                .unwrap();
            assert!(store.pendings().await.unwrap().is_empty());
            assert_eq!(
                store
                    .apply_pending(&q.new_commitment.to_hex())
                    .await
                    .unwrap(),
                WriteBack::Unknown
            );
            // A pending whose pre-state the store no longer holds is dropped.
            let r = post(&b, 22);
            store.add_pending(&r, "job3").await.unwrap();
            assert_eq!(
                store
                    .apply_pending(&r.new_commitment.to_hex())
                    .await
                    .unwrap(),
                WriteBack::Superseded(2)
            );
            let now: Vec<_> = store.changes_since(-1).await.unwrap();
            assert_eq!(now.iter().find(|(_, x)| x.id == 2).unwrap().1, b2);
        }
    }
}
