//! The database layer every other module stands on: which backend, and the small
//! helpers the ledger, the event log and the schema runner share (clock, integer
//! ranges, the insurance fund's row, stored commitments).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sqlx::Row;
use zkmargin_circuits::{fr_from_hex, Commitment};

use crate::{
    error::{is_integer_overflow, is_unique_violation},
    SettleError,
};

/// Which database holds the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// An SQLite file (WAL journal, `synchronous = FULL`).
    Sqlite,
    /// A PostgreSQL database (several settlement nodes may share it).
    Postgres,
}

/// `url` fit for a log line: the password of `scheme://user:password@host/…` and the
/// value of a `password=` query parameter replaced by `***`; everything else as given.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some(parts) => parts,
        None => return url.to_owned(),
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl Backend {
    /// The backend a URL names.
    ///
    /// # Errors
    /// [`SettleError::InvalidUrl`] for any other scheme.
    pub fn of_url(url: &str) -> Result<Self, SettleError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            // Never echo a URL that may carry a password: only its scheme.
            Err(SettleError::InvalidUrl(match url.split_once("://") {
                Some((scheme, _)) => format!("{scheme}://…"),
                None => "(no scheme)".to_owned(),
            }))
        }
    }

    /// Display name.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A single integer (NULL as 0).
pub(crate) async fn scalar(
    conn: &mut sqlx::AnyConnection,
    sql: &'static str,
) -> Result<i64, SettleError> {
    let v: Option<i64> = sqlx::query(sql).fetch_one(conn).await?.try_get(0)?;
    Ok(v.unwrap_or(0))
}

/// A sum computed by the database, which raises an error past 2^63 − 1 (each row
/// fits, their sum need not): that is [`SettleError::Overflow`], not a database error.
pub(crate) async fn total(
    conn: &mut sqlx::AnyConnection,
    sql: &'static str,
    what: &'static str,
) -> Result<i64, SettleError> {
    let row = sqlx::query(sql).fetch_one(conn).await.map_err(|e| {
        if is_integer_overflow(&e) {
            SettleError::Overflow(what)
        } else {
            e.into()
        }
    })?;
    let v: Option<i64> = row.try_get(0)?;
    Ok(v.unwrap_or(0))
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `v` as a BIGINT, or [`SettleError::OutOfRange`].
pub(crate) fn to_i64(what: &'static str, v: u64) -> Result<i64, SettleError> {
    i64::try_from(v).map_err(|_| SettleError::OutOfRange { what, value: v })
}

/// Maps a unique violation on an accounts write to [`SettleError::CommitmentInUse`].
pub(crate) fn in_use(e: sqlx::Error, commitment: &Commitment) -> SettleError {
    if is_unique_violation(&e) {
        SettleError::CommitmentInUse {
            commitment: commitment.to_hex(),
        }
    } else {
        e.into()
    }
}

/// The insurance fund's balance, read on `conn`.
pub(crate) async fn fund_balance(conn: &mut sqlx::AnyConnection) -> Result<i64, SettleError> {
    Ok(
        sqlx::query("SELECT balance FROM insurance_fund WHERE id = 1")
            .fetch_one(conn)
            .await?
            .try_get(0)?,
    )
}

/// Writes the insurance fund's balance.
pub(crate) async fn set_fund_balance(
    conn: &mut sqlx::AnyConnection,
    balance: i64,
    now: i64,
) -> Result<(), SettleError> {
    sqlx::query("UPDATE insurance_fund SET balance = $1, updated_at = $2 WHERE id = 1")
        .bind(balance)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// A stored commitment.
pub(crate) fn commitment_from_hex(s: &str) -> Result<Commitment, SettleError> {
    fr_from_hex(s)
        .map(Commitment)
        .map_err(|e| SettleError::Corrupt(format!("commitment {s:?}: {e}")))
}

/// A stored non-negative BIGINT.
pub(crate) fn non_negative(what: &str, v: i64) -> Result<u64, SettleError> {
    u64::try_from(v).map_err(|_| SettleError::Corrupt(format!("{what} is negative ({v})")))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redact_url_hides_passwords_only() {
        for (url, shown) in [
            (
                "postgres://zk:hunter2@db.internal:5432/ledger",
                "postgres://zk:***@db.internal:5432/ledger",
            ),
            (
                "postgresql://zk:p%40ss@db/ledger?sslmode=require&password=x2",
                "postgresql://zk:***@db/ledger?sslmode=require&password=***",
            ),
            (
                "postgres://zk@db/ledger?PASSWORD=x",
                "postgres://zk@db/ledger?PASSWORD=***",
            ),
            ("postgres://db/ledger", "postgres://db/ledger"),
            (
                "sqlite:///var/lib/zk/ledger.db?mode=rwc",
                "sqlite:///var/lib/zk/ledger.db?mode=rwc",
            ),
            ("sqlite://ledger.db", "sqlite://ledger.db"),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
