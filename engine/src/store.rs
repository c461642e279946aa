//! The engine's private store: the venue's accounts, the reports it has ticked on,
//! and its secret (the root of the provers' per-job seeds). SQLite by default,
//! PostgreSQL by URL (sqlx `Any`, as the settlement ledger). A SQLite file is created
//! owner-only (0600), like account files: it holds every balance and blinding.

use std::time::Duration;

use rand::RngCore;
use sqlx::{any::AnyPoolOptions, AnyPool, Row};
use zkmargin_circuits::{Account, Commitment};
use zkmargin_oracle::SignedReport;

use crate::{error::one_line, EngineError};

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
            "CREATE TABLE IF NOT EXISTS engine_accounts (id BIGINT PRIMARY KEY, commitment TEXT NOT NULL, state TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS engine_accounts_commitment ON engine_accounts (commitment)",
            "CREATE TABLE IF NOT EXISTS engine_reports (digest TEXT PRIMARY KEY, observed_at BIGINT NOT NULL, state TEXT NOT NULL, jobs BIGINT NOT NULL, report TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS engine_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ] {
            sqlx::query(ddl).execute(&pool).await.map_err(err)?;
        }
        Ok(Self { pool })
    }

    /// Inserts or replaces accounts (by id). Returns how many were written.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn upsert_accounts(&self, accounts: &[Account]) -> Result<usize, EngineError> {
        let mut tx = self.pool.begin().await.map_err(err)?;
        for a in accounts {
            let id = i64::try_from(a.id)
                .map_err(|_| EngineError::Store(format!("account id {} exceeds 2^63 - 1", a.id)))?;
            let state = serde_json::to_string(a).map_err(err)?;
            sqlx::query("DELETE FROM engine_accounts WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            sqlx::query("INSERT INTO engine_accounts (id, commitment, state) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(Commitment::of(a).to_hex())
                .bind(state)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(accounts.len())
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
