//! The ledger: opening the database, operator calls, and the read API.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use sqlx::{
    any::{AnyPoolOptions, AnyRow},
    Any, AnyPool, Executor, Row, Transaction,
};
use zkmargin_circuits::{Commitment, LiquidationAction, LiquidationTerms};

use crate::{
    db::{
        commitment_from_hex, fund_balance, in_use, non_negative, now, scalar, set_fund_balance,
        to_i64, total, Backend,
    },
    error::{is_busy, one_line},
    events::{self, Event, EventKind, NewEvent},
    schema, OperatorKey, SettleError,
};

/// The default ledger: an SQLite file in the working directory, created if missing.
pub const DEFAULT_DB_URL: &str = "sqlite://zkmargin-ledger.db?mode=rwc";

/// How to open a ledger; [`LedgerOptions::default`] is what [`Ledger::open`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerOptions {
    lock_wait: Duration,
}

impl LedgerOptions {
    /// The default wait for the write lock: 10 s.
    pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

    /// The defaults.
    pub fn new() -> Self {
        Self {
            lock_wait: Self::DEFAULT_LOCK_WAIT,
        }
    }

    /// How long a writer (or a migrating opener) waits for another one before
    /// failing with [`SettleError::Busy`] — SQLite `busy_timeout`, PostgreSQL
    /// `lock_timeout`. Kept within 1 ms ..= 2^31 − 1 ms: 0 would mean "never wait"
    /// to SQLite but "wait forever" to PostgreSQL.
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// The write-lock wait.
    pub fn lock_wait(&self) -> Duration {
        self.lock_wait
    }

    /// The write-lock wait in whole milliseconds, within 1 ..= 2^31 − 1.
    fn lock_wait_ms(&self) -> i64 {
        let ms = i64::try_from(self.lock_wait.as_millis()).unwrap_or(i64::MAX);
        ms.clamp(1, i64::from(i32::MAX))
    }
}

impl Default for LedgerOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// An account as the ledger knows it: its id and current commitment, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountRecord {
    /// The venue's account id.
    pub id: u64,
    /// The current commitment.
    pub commitment: Commitment,
    /// Ledger updates of this account so far (0 at registration). Not the nonce inside
    /// the commitment, which the ledger never sees.
    pub nonce: u64,
    /// Unix seconds of the last update.
    pub updated_at: u64,
}

/// An applied liquidation as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiquidationRecord {
    /// Statement digest (hex): the replay key.
    pub statement_digest: String,
    /// The liquidated account.
    pub account_id: u64,
    /// Commitment before.
    pub old_commitment: Commitment,
    /// Commitment after.
    pub new_commitment: Commitment,
    /// What was moved.
    pub action: LiquidationAction,
    /// Its public terms.
    pub terms: LiquidationTerms,
    /// Quote units the account could not pay.
    pub deficit: u64,
    /// Part of the deficit the insurance fund paid.
    pub fund_paid: u64,
    /// Part of the deficit recorded as socialized loss.
    pub socialized: u64,
    /// Liquidator credited with the liquidator fee.
    pub liquidator: u64,
    /// Risk-parameter digest the proof was verified under (hex).
    pub risk_params_digest: String,
    /// Oracle report digest (hex).
    pub report_digest: String,
    /// The report's observation time (unix seconds).
    pub report_observed_at: u64,
    /// Digest of the oracle configuration (committee, quorum, freshness) that
    /// accepted the report (hex).
    pub oracle_config_digest: String,
    /// Fingerprint of the liquidation verifying key the proof verified under
    /// (SHA-256 of the key file, hex).
    pub key_fingerprint: String,
    /// The account's ledger nonce after this liquidation.
    pub account_nonce: u64,
    /// Unix seconds.
    pub applied_at: u64,
}

/// Ledger totals (the `show` summary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Database kind.
    pub backend: Backend,
    /// Schema version.
    pub schema_version: i64,
    /// Whether an operator key is set.
    pub initialized: bool,
    /// Registered accounts.
    pub accounts: u64,
    /// Applied liquidations.
    pub liquidations: u64,
    /// Insurance fund balance.
    pub insurance_fund: u64,
    /// Sum of all liquidator credits.
    pub total_credits: u64,
    /// Sum of all socialized losses.
    pub total_socialized: u64,
    /// Events in the log.
    pub events: u64,
}

/// The settlement ledger on SQLite or PostgreSQL: one code path, sqlx's `Any` driver.
///
/// Every write runs in one transaction that first takes the ledger's writer lock
/// (`BEGIN IMMEDIATE` on SQLite; on both, an update of the single `ledger_meta` row,
/// which PostgreSQL row-locks until commit), so concurrent writers — tasks, processes
/// or settlement nodes sharing a PostgreSQL database — apply one after another and
/// each sees the previous one's result. Every liquidation also updates the one
/// insurance-fund row, so finer locking would serialize on it anyway.
#[derive(Debug, Clone)]
pub struct Ledger {
    pool: AnyPool,
    backend: Backend,
}

impl Ledger {
    /// Opens (creating it if the URL allows) the ledger at `url` and applies the
    /// embedded schema migrations. `sqlite://PATH?mode=rwc` or `postgres://…`.
    /// Writers wait up to [`LedgerOptions::DEFAULT_LOCK_WAIT`] for each other.
    ///
    /// Opening a ledger whose schema is current takes no lock, so it does not wait
    /// for a writer; only a due migration takes the write lock.
    ///
    /// # Errors
    /// [`SettleError::InvalidUrl`], [`SettleError::Unavailable`], the migration errors,
    /// [`SettleError::Busy`] when a migration is due and another writer holds the lock
    /// past the wait.
    pub async fn open(url: &str) -> Result<Self, SettleError> {
        Self::open_with(url, LedgerOptions::default()).await
    }

    /// [`Ledger::open`], but never creates a ledger: a SQLite URL must name an existing
    /// file, whatever its `mode`. Every command but `ledger init` opens this way, so a
    /// mistyped path is an error instead of a fresh, empty and "consistent" ledger.
    ///
    /// # Errors
    /// [`SettleError::NoLedger`]; otherwise as [`Ledger::open`].
    pub async fn open_existing(url: &str) -> Result<Self, SettleError> {
        if Backend::of_url(url)? == Backend::Sqlite {
            if let Some(path) = sqlite_file(url) {
                if !std::path::Path::new(path).exists() {
                    return Err(SettleError::NoLedger {
                        path: path.to_owned(),
                    });
                }
            }
        }
        Self::open(url).await
    }

    /// [`Ledger::open`] with explicit options (e.g. a shorter write-lock wait).
    ///
    /// # Errors
    /// As [`Ledger::open`].
    pub async fn open_with(url: &str, options: LedgerOptions) -> Result<Self, SettleError> {
        let backend = Backend::of_url(url)?;
        sqlx::any::install_default_drivers();
        let unavailable = |e: sqlx::Error| {
            if is_busy(&e) {
                // Switching a fresh SQLite file to WAL needs the write lock.
                SettleError::Busy
            } else {
                SettleError::Unavailable {
                    backend: backend.name(),
                    reason: one_line(&e.to_string()),
                }
            }
        };
        let wait_ms = options.lock_wait_ms();
        // An in-memory SQLite database exists once per connection: keep one.
        let memory =
            backend == Backend::Sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let max = match (backend, memory) {
            (Backend::Sqlite, true) => 1,
            (Backend::Sqlite, false) => 4,
            (Backend::Postgres, _) => 8,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // busy_timeout first: switching to WAL needs the write lock.
                        conn.execute(format!("PRAGMA busy_timeout = {wait_ms}").as_str())
                            .await?;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    } else {
                        // The same wait limit as SQLite's busy timeout; and a node that
                        // hangs inside a transaction loses its lock instead of
                        // blocking every other writer.
                        conn.execute(format!("SET lock_timeout = {wait_ms}").as_str())
                            .await?;
                        conn.execute("SET idle_in_transaction_session_timeout = 60000")
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(unavailable)?;
        schema::migrate(&pool, backend).await?;
        Ok(Self { pool, backend })
    }

    /// The database kind.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction holding the writer lock.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, SettleError> {
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            // READ COMMITTED whatever the server default: after the lock, every
            // statement sees what the previous writer committed.
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                    .await?
            }
        };
        let locked =
            sqlx::query("UPDATE ledger_meta SET write_epoch = write_epoch + 1 WHERE id = 1")
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if locked != 1 {
            return Err(SettleError::Corrupt(
                "the ledger_meta row is missing".into(),
            ));
        }
        Ok(tx)
    }

    /// Sets the operator key. Idempotent for the same key.
    ///
    /// # Errors
    /// [`SettleError::AlreadyInitialized`] when another key is set; database errors.
    pub async fn init(&self, key: &OperatorKey) -> Result<(), SettleError> {
        let mut tx = self.begin_write().await?;
        let stored: Option<String> =
            sqlx::query("SELECT operator_key_sha256 FROM ledger_meta WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        match stored {
            Some(s) if key.matches(&s) => Ok(()),
            Some(_) => Err(SettleError::AlreadyInitialized),
            None => {
                sqlx::query("UPDATE ledger_meta SET operator_key_sha256 = $1 WHERE id = 1")
                    .bind(hex::encode(key.digest()))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// Checks `key` against the stored digest inside a write transaction.
    pub(crate) async fn authenticate(
        tx: &mut Transaction<'static, Any>,
        key: &OperatorKey,
    ) -> Result<(), SettleError> {
        let stored: Option<String> =
            sqlx::query("SELECT operator_key_sha256 FROM ledger_meta WHERE id = 1")
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
        match stored {
            None => Err(SettleError::NotInitialized),
            Some(s) if key.matches(&s) => Ok(()),
            Some(_) => Err(SettleError::OperatorKeyRejected),
        }
    }

    /// Registers account `id` with its first commitment (nonce 0). Operator only.
    ///
    /// # Errors
    /// [`SettleError::NotInitialized`], [`SettleError::OperatorKeyRejected`],
    /// [`SettleError::AccountExists`], [`SettleError::CommitmentInUse`],
    /// [`SettleError::OutOfRange`] for an id ≥ 2^63.
    pub async fn register_account(
        &self,
        key: &OperatorKey,
        id: u64,
        commitment: &Commitment,
    ) -> Result<AccountRecord, SettleError> {
        let id_i = to_i64("account id", id)?;
        let now = now();
        let mut tx = self.begin_write().await?;
        Self::authenticate(&mut tx, key).await?;
        let exists = sqlx::query("SELECT 1 FROM accounts WHERE id = $1")
            .bind(id_i)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if exists {
            return Err(SettleError::AccountExists(id));
        }
        sqlx::query(
            "INSERT INTO accounts (id, commitment, nonce, updated_at) VALUES ($1, $2, 0, $3)",
        )
        .bind(id_i)
        .bind(commitment.to_hex())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| in_use(e, commitment))?;
        events::append(
            &mut tx,
            now,
            &[NewEvent {
                kind: EventKind::AccountRegistered,
                account_id: Some(id),
                liquidator: None,
                statement_digest: None,
                amount: 0,
                payload: json!({ "commitment": commitment, "nonce": 0 }),
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(AccountRecord {
            id,
            commitment: *commitment,
            nonce: 0,
            updated_at: now as u64,
        })
    }

    /// Replaces account `id`'s commitment if it is still `expected` (compare and swap)
    /// — the venue's own updates: trades, deposits, withdrawals. Operator only.
    ///
    /// # Errors
    /// The operator errors, [`SettleError::UnknownAccount`],
    /// [`SettleError::StaleCommitment`] when the account's commitment is no longer
    /// `expected` (e.g. a liquidation was applied first),
    /// [`SettleError::CommitmentInUse`].
    pub async fn replace_commitment(
        &self,
        key: &OperatorKey,
        id: u64,
        expected: &Commitment,
        new: &Commitment,
    ) -> Result<AccountRecord, SettleError> {
        let id_i = to_i64("account id", id)?;
        let now = now();
        let mut tx = self.begin_write().await?;
        Self::authenticate(&mut tx, key).await?;
        let row = sqlx::query("SELECT commitment, nonce FROM accounts WHERE id = $1")
            .bind(id_i)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(SettleError::UnknownAccount(id))?;
        let current: String = row.try_get(0)?;
        let nonce: i64 = row.try_get(1)?;
        if current != expected.to_hex() {
            return Err(SettleError::StaleCommitment {
                commitment: expected.to_hex(),
            });
        }
        let nonce = nonce
            .checked_add(1)
            .ok_or(SettleError::Overflow("account nonce"))?;
        sqlx::query(
            "UPDATE accounts SET commitment = $1, nonce = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(new.to_hex())
        .bind(nonce)
        .bind(now)
        .bind(id_i)
        .execute(&mut *tx)
        .await
        .map_err(|e| in_use(e, new))?;
        events::append(
            &mut tx,
            now,
            &[NewEvent {
                kind: EventKind::CommitmentReplaced,
                account_id: Some(id),
                liquidator: None,
                statement_digest: None,
                amount: 0,
                payload: json!({ "old_commitment": expected, "new_commitment": new, "nonce": nonce }),
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(AccountRecord {
            id,
            commitment: *new,
            nonce: nonce as u64,
            updated_at: now as u64,
        })
    }

    /// Capitalizes the insurance fund with `amount` quote units; returns the new
    /// balance. Operator only.
    ///
    /// # Errors
    /// The operator errors, [`SettleError::ZeroDeposit`], [`SettleError::OutOfRange`],
    /// [`SettleError::Overflow`].
    pub async fn fund_deposit(&self, key: &OperatorKey, amount: u64) -> Result<u64, SettleError> {
        if amount == 0 {
            return Err(SettleError::ZeroDeposit);
        }
        let amount_i = to_i64("deposit", amount)?;
        let now = now();
        let mut tx = self.begin_write().await?;
        Self::authenticate(&mut tx, key).await?;
        let balance = fund_balance(&mut tx).await?;
        let balance = balance
            .checked_add(amount_i)
            .ok_or(SettleError::Overflow("insurance fund"))?;
        set_fund_balance(&mut tx, balance, now).await?;
        events::append(
            &mut tx,
            now,
            &[NewEvent {
                kind: EventKind::FundDeposit,
                account_id: None,
                liquidator: None,
                statement_digest: None,
                amount: amount_i,
                payload: json!({ "balance": balance }),
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(balance as u64)
    }

    /// Account `id`, if registered.
    ///
    /// # Errors
    /// Database errors; [`SettleError::Corrupt`].
    pub async fn account(&self, id: u64) -> Result<Option<AccountRecord>, SettleError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        sqlx::query("SELECT id, commitment, nonce, updated_at FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| account_from_row(&r))
            .transpose()
    }

    /// The account whose current commitment is `commitment`, if any.
    ///
    /// # Errors
    /// Database errors; [`SettleError::Corrupt`].
    pub async fn account_by_commitment(
        &self,
        commitment: &Commitment,
    ) -> Result<Option<AccountRecord>, SettleError> {
        sqlx::query("SELECT id, commitment, nonce, updated_at FROM accounts WHERE commitment = $1")
            .bind(commitment.to_hex())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| account_from_row(&r))
            .transpose()
    }

    /// The insurance fund's balance, quote units.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insurance_fund(&self) -> Result<u64, SettleError> {
        let mut conn = self.pool.acquire().await?;
        non_negative("insurance fund", fund_balance(&mut conn).await?)
    }

    /// What `liquidator` is owed, quote units (0 if never credited).
    ///
    /// # Errors
    /// Database errors.
    pub async fn credits(&self, liquidator: u64) -> Result<u64, SettleError> {
        let Ok(id) = i64::try_from(liquidator) else {
            return Ok(0);
        };
        let balance: Option<i64> =
            sqlx::query("SELECT balance FROM liquidator_credits WHERE liquidator = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
        non_negative("liquidator credit", balance.unwrap_or(0))
    }

    /// The liquidation applied under `statement_digest`, if any.
    ///
    /// # Errors
    /// Database errors; [`SettleError::Corrupt`].
    pub async fn liquidation(
        &self,
        statement_digest: &[u8; 32],
    ) -> Result<Option<LiquidationRecord>, SettleError> {
        sqlx::query(&format!(
            "SELECT {LIQUIDATION_COLUMNS} FROM applied_liquidations WHERE statement_digest = $1"
        ))
        .bind(hex::encode(statement_digest))
        .fetch_optional(&self.pool)
        .await?
        .map(|r| liquidation_from_row(&r))
        .transpose()
    }

    /// Up to `limit` events with `seq > since_seq`, in order.
    ///
    /// # Errors
    /// Database errors; [`SettleError::Corrupt`].
    pub async fn events(&self, since_seq: u64, limit: u32) -> Result<Vec<Event>, SettleError> {
        let since = i64::try_from(since_seq).unwrap_or(i64::MAX);
        sqlx::query(&format!(
            "SELECT {} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
            events::EVENT_COLUMNS
        ))
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(events::from_row)
        .collect()
    }

    /// Counts and totals.
    ///
    /// # Errors
    /// Database errors.
    pub async fn summary(&self) -> Result<Summary, SettleError> {
        let mut conn = self.pool.acquire().await?;
        let accounts = scalar(&mut conn, "SELECT COUNT(*) FROM accounts").await?;
        let liquidations = scalar(&mut conn, "SELECT COUNT(*) FROM applied_liquidations").await?;
        let events = scalar(&mut conn, "SELECT COUNT(*) FROM events").await?;
        let total_credits = total(
            &mut conn,
            "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) FROM liquidator_credits",
            "total of liquidator credits",
        )
        .await?;
        let total_socialized = total(
            &mut conn,
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM socialized_losses",
            "total of socialized losses",
        )
        .await?;
        let schema_version = scalar(&mut conn, "SELECT MAX(version) FROM zkmargin_schema").await?;
        let initialized = scalar(
            &mut conn,
            "SELECT COUNT(*) FROM ledger_meta WHERE operator_key_sha256 IS NOT NULL",
        )
        .await?
            > 0;
        let insurance_fund = fund_balance(&mut conn).await?;
        Ok(Summary {
            backend: self.backend,
            schema_version,
            initialized,
            accounts: non_negative("account count", accounts)?,
            liquidations: non_negative("liquidation count", liquidations)?,
            insurance_fund: non_negative("insurance fund", insurance_fund)?,
            total_credits: non_negative("total of liquidator credits", total_credits)?,
            total_socialized: non_negative("total of socialized losses", total_socialized)?,
            events: non_negative("event count", events)?,
        })
    }

    /// The pool, for the crate's other modules.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

fn account_from_row(r: &AnyRow) -> Result<AccountRecord, SettleError> {
    let commitment: String = r.try_get(1)?;
    Ok(AccountRecord {
        id: non_negative("account id", r.try_get(0)?)?,
        commitment: commitment_from_hex(&commitment)?,
        nonce: non_negative("nonce", r.try_get(2)?)?,
        updated_at: non_negative("updated_at", r.try_get(3)?)?,
    })
}

/// The columns [`liquidation_from_row`] reads, in order.
pub(crate) const LIQUIDATION_COLUMNS: &str = "statement_digest, account_id, old_commitment, \
    new_commitment, action, terms, deficit, fund_paid, socialized, liquidator, \
    risk_params_digest, report_digest, report_observed_at, account_nonce, applied_at, \
    oracle_config_digest, key_fingerprint";

pub(crate) fn liquidation_from_row(r: &AnyRow) -> Result<LiquidationRecord, SettleError> {
    let text = |i: usize| -> Result<String, SettleError> { Ok(r.try_get::<String, _>(i)?) };
    let int = |i: usize, what: &str| non_negative(what, r.try_get(i)?);
    let digest = text(0)?;
    let action = text(4)?;
    let terms = text(5)?;
    Ok(LiquidationRecord {
        account_id: int(1, "account id")?,
        old_commitment: commitment_from_hex(&text(2)?)?,
        new_commitment: commitment_from_hex(&text(3)?)?,
        action: serde_json::from_str(&action)
            .map_err(|e| SettleError::Corrupt(format!("liquidation {digest} action: {e}")))?,
        terms: serde_json::from_str(&terms)
            .map_err(|e| SettleError::Corrupt(format!("liquidation {digest} terms: {e}")))?,
        deficit: int(6, "deficit")?,
        fund_paid: int(7, "fund_paid")?,
        socialized: int(8, "socialized")?,
        liquidator: int(9, "liquidator")?,
        risk_params_digest: text(10)?,
        report_digest: text(11)?,
        report_observed_at: int(12, "report_observed_at")?,
        account_nonce: int(13, "account_nonce")?,
        applied_at: int(14, "applied_at")?,
        oracle_config_digest: text(15)?,
        key_fingerprint: text(16)?,
        statement_digest: digest,
    })
}

/// The file a `sqlite:` URL names, or `None` for an in-memory database.
fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        None
    } else {
        Some(path)
    }
}
