//! Embedded schema migrations, applied on open in one transaction (idempotent).
//!
//! A small runner of our own rather than `sqlx::migrate!`: it needs no proc-macro
//! feature, runs the same SQL on both databases through the `Any` driver, checks the
//! recorded version without a lock (opening a current ledger never waits for a
//! writer), serializes concurrent migrators (SQLite's write lock, a PostgreSQL advisory
//! lock), and refuses a database whose recorded migrations differ from the embedded
//! ones or are newer.

use sha2::{Digest, Sha256};
use sqlx::{Any, Executor, Row, Transaction};

use crate::{
    db::Backend,
    error::{is_busy, one_line},
    SettleError,
};

/// One embedded migration.
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. Append only: never edit a released one.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "ledger",
        sql: include_str!("../migrations/0001_ledger.sql"),
    },
    Migration {
        version: 2,
        name: "trust",
        sql: include_str!("../migrations/0002_trust.sql"),
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 2;

/// Key of the PostgreSQL advisory lock held while migrating (ASCII `zkmledgr`).
pub(crate) const PG_MIGRATION_LOCK: i64 = 0x7a6b_6d6c_6564_6772;

const CREATE_SCHEMA_TABLE: &str = "CREATE TABLE IF NOT EXISTS zkmargin_schema (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// Brings the database to [`SCHEMA_VERSION`]; a no-op when it is there already.
///
/// The version is read first without any lock, so opening a current ledger never
/// waits for a writer (in WAL mode SQLite readers do not block on the write lock; on
/// PostgreSQL reads never do). Only when a migration is due does it take the lock —
/// SQLite's write lock, a PostgreSQL advisory lock — and read the version again under
/// it, since another opener may have migrated in between.
pub(crate) async fn migrate(pool: &sqlx::AnyPool, backend: Backend) -> Result<(), SettleError> {
    let applied = read_applied(pool, backend).await?;
    if !pending(&applied)? {
        return Ok(());
    }
    let mut tx: Transaction<'static, Any> = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await.map_err(fail(0))?,
        Backend::Postgres => {
            let mut tx = pool.begin().await.map_err(fail(0))?;
            // Two nodes opening a fresh database at once would otherwise race on
            // CREATE TABLE (PostgreSQL raises a unique violation in its catalog).
            // The wait is bounded by the session's lock_timeout (→ `Busy`).
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(PG_MIGRATION_LOCK)
                .fetch_one(&mut *tx)
                .await
                .map_err(fail(0))?;
            tx
        }
    };
    tx.execute(CREATE_SCHEMA_TABLE).await.map_err(fail(0))?;
    // Again under the lock: another opener may have migrated since the first read.
    let applied = applied_rows(&mut tx).await?;
    if !pending(&applied)? {
        tx.rollback().await.map_err(fail(0))?;
        return Ok(());
    }
    for m in MIGRATIONS {
        let sha = sha256_hex(m.sql);
        if applied.iter().any(|(v, _)| *v == m.version) {
            continue; // checked by `pending`
        }
        // A `&str` without arguments runs as a simple query: several statements.
        tx.execute(m.sql).await.map_err(fail(m.version))?;
        sqlx::query(
            "INSERT INTO zkmargin_schema (version, name, sha256, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(sha)
        .bind(crate::db::now())
        .execute(&mut *tx)
        .await
        .map_err(fail(m.version))?;
    }
    tx.commit().await.map_err(fail(SCHEMA_VERSION))?;
    Ok(())
}

/// The error of a failed migration step: [`SettleError::Busy`] for a lock wait that
/// timed out, else [`SettleError::Migration`].
fn fail(version: i64) -> impl Fn(sqlx::Error) -> SettleError {
    move |e: sqlx::Error| {
        if is_busy(&e) {
            SettleError::Busy
        } else {
            SettleError::Migration {
                version,
                reason: one_line(&e.to_string()),
            }
        }
    }
}

/// SHA-256 of a migration's text (lowercase hex), as `zkmargin_schema` records it.
fn sha256_hex(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// The recorded migrations, read without a lock; none when there is no schema table
/// yet (a fresh database).
async fn read_applied(
    pool: &sqlx::AnyPool,
    backend: Backend,
) -> Result<Vec<(i64, String)>, SettleError> {
    let exists = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'zkmargin_schema'"
        }
        // Resolved through search_path, as the unqualified name below is.
        Backend::Postgres => {
            "SELECT CAST(CASE WHEN to_regclass('zkmargin_schema') IS NULL THEN 0 ELSE 1 END AS BIGINT)"
        }
    };
    let mut conn = pool.acquire().await.map_err(fail(0))?;
    let n: i64 = sqlx::query(exists)
        .fetch_one(&mut *conn)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(fail(0))?;
    if n == 0 {
        return Ok(Vec::new());
    }
    applied_rows(&mut conn).await
}

/// Every row of `zkmargin_schema`, by version.
async fn applied_rows(conn: &mut sqlx::AnyConnection) -> Result<Vec<(i64, String)>, SettleError> {
    let rows = sqlx::query("SELECT version, sha256 FROM zkmargin_schema ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .map_err(fail(0))?;
    rows.iter()
        .map(|row| {
            let version: i64 = row.try_get(0).map_err(fail(0))?;
            let sha: String = row.try_get(1).map_err(fail(version))?;
            Ok((version, sha))
        })
        .collect()
}

/// Whether a migration remains to be applied to a database that recorded `applied`.
///
/// # Errors
/// [`SettleError::SchemaTooNew`] when a newer build migrated it,
/// [`SettleError::MigrationModified`] when a recorded migration's text differs from
/// the embedded one.
fn pending(applied: &[(i64, String)]) -> Result<bool, SettleError> {
    if let Some((found, _)) = applied.iter().find(|(v, _)| *v > SCHEMA_VERSION) {
        return Err(SettleError::SchemaTooNew {
            found: *found,
            supported: SCHEMA_VERSION,
        });
    }
    let mut due = false;
    for m in MIGRATIONS {
        match applied.iter().find(|(v, _)| *v == m.version) {
            Some((_, stored)) if *stored == sha256_hex(m.sql) => {}
            Some(_) => return Err(SettleError::MigrationModified { version: m.version }),
            None => due = true,
        }
    }
    Ok(due)
}
