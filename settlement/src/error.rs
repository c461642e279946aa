//! Why a ledger operation failed: one variant per way to fail, each with a stable code.

/// Why a ledger operation failed. Each variant has a stable [`SettleError::code`].
///
/// Nothing is written when an operation fails: every write runs in one transaction
/// that is rolled back on any error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettleError {
    /// The database URL is neither `sqlite:…` nor `postgres://…`.
    #[error("unsupported database URL {0:?}: expected sqlite://PATH?mode=rwc or postgres://USER@HOST/DB")]
    InvalidUrl(String),
    /// A command that needs an existing ledger found no SQLite file at its path (only
    /// `ledger init` creates one).
    #[error("no ledger at {path}: create one with `zkmargin ledger init --db URL`, or check --db for a typo (only `ledger init` creates a ledger)")]
    NoLedger {
        /// The SQLite file the URL names.
        path: String,
    },
    /// The database could not be opened or connected to.
    #[error("cannot open the {backend} ledger: {reason}")]
    Unavailable {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// The driver's message (never the URL, which may hold a password).
        reason: String,
    },
    /// A statement failed for a reason other than the ones below (I/O, lock timeout,
    /// lost connection).
    #[error("database error: {0}")]
    Database(String),
    /// Another writer held the ledger's write lock (or another node its migration
    /// lock) past the wait limit: 10 s unless [`crate::LedgerOptions::lock_wait`] says
    /// otherwise.
    #[error("the ledger is busy: another writer held its lock too long; retry")]
    Busy,
    /// Applying an embedded schema migration failed.
    #[error("schema migration {version} failed: {reason}")]
    Migration {
        /// Migration version.
        version: i64,
        /// The database's message.
        reason: String,
    },
    /// The database holds a migration whose text differs from the one this build embeds.
    #[error("schema migration {version} in the database differs from this build's: refusing to use the ledger")]
    MigrationModified {
        /// Migration version.
        version: i64,
    },
    /// The database was migrated by a newer build.
    #[error("the ledger schema is at version {found}, this build knows up to {supported}: upgrade zkmargin")]
    SchemaTooNew {
        /// Highest version in the database.
        found: i64,
        /// Highest version this build embeds.
        supported: i64,
    },
    /// This statement was already applied (a re-sent or re-randomized proof of it).
    #[error("liquidation {statement_digest} was already applied")]
    Replay {
        /// Hex statement digest.
        statement_digest: String,
    },
    /// The transition starts from a commitment that is no account's current one: the
    /// account moved on (a trade, a deposit or another liquidation came first).
    #[error(
        "commitment {commitment} is not the current commitment of any account (stale or unknown)"
    )]
    StaleCommitment {
        /// The commitment the caller expected to be current.
        commitment: String,
    },
    /// The transition was proven at a price report older than one a liquidation of
    /// the same account was already settled at. Prices only move forward for an
    /// account: otherwise whoever proves could pick, among the reports still fresh,
    /// the one at which the account looks worst.
    #[error("account {account_id} was already liquidated at a report observed at {newest}; this transition was proven at an older report (observed at {observed_at}): prove it again at the current report")]
    StaleReport {
        /// The account.
        account_id: u64,
        /// The report time of the refused transition.
        observed_at: u64,
        /// The newest report time already applied to the account.
        newest: u64,
    },
    /// The ledger has no pinned trust yet, so it accepts no liquidation.
    #[error("the ledger has no pinned trust (verifying key, oracle committee, risk parameters), so it settles nothing: pin it with `zkmargin ledger trust --keys DIR --oracle FILE --params FILE`")]
    TrustNotPinned,
    /// The liquidation was verified under a key, committee or parameters other than
    /// the ones the operator pinned.
    #[error("the liquidation was verified under another {part} than the ledger trusts ({found}, the ledger pinned {pinned}): settle with the pinned keys, committee and parameters, or have the operator rotate the pin with `zkmargin ledger trust`")]
    UntrustedVerifier {
        /// `verifying key`, `oracle committee` or `risk parameters`.
        part: &'static str,
        /// What the liquidation was verified under (hex).
        found: String,
        /// What the ledger pinned (hex; a list for the risk parameters).
        pinned: String,
    },
    /// No account has this id.
    #[error("no account {0} in the ledger")]
    UnknownAccount(u64),
    /// An account with this id is already registered.
    #[error("account {0} is already registered")]
    AccountExists(u64),
    /// Another account already holds this commitment.
    #[error("commitment {commitment} is already held by an account")]
    CommitmentInUse {
        /// The commitment.
        commitment: String,
    },
    /// No operator key was set (`ledger init`).
    #[error("the ledger has no operator key yet: run `zkmargin ledger init` first")]
    NotInitialized,
    /// `init` was called on a ledger that already has another operator key.
    #[error("the ledger already has a different operator key")]
    AlreadyInitialized,
    /// The presented operator secret does not match the ledger's key.
    #[error("operator key rejected")]
    OperatorKeyRejected,
    /// The operator secret is too short to resist guessing.
    #[error("the operator secret has {len} bytes; at least {min} random bytes are required")]
    WeakOperatorSecret {
        /// Its length in bytes.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// A number does not fit the ledger's signed 64-bit columns.
    #[error("{what} {value} does not fit the ledger (at most 2^63 − 1)")]
    OutOfRange {
        /// What it is.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// A balance or counter would exceed 2^63 − 1.
    #[error("the {0} would overflow")]
    Overflow(&'static str),
    /// A deposit of zero.
    #[error("a fund deposit must be at least 1 quote unit")]
    ZeroDeposit,
    /// A command-line argument is malformed.
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// Which argument.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// The OS message.
        reason: String,
    },
    /// The async runtime for a blocking CLI call could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    /// A stored value cannot be decoded: the database was written by something else.
    #[error("the ledger holds an undecodable value: {0}")]
    Corrupt(String),
    /// A ledger invariant does not hold (`check_invariants`).
    #[error("ledger invariant violated: {0}")]
    InvariantViolated(String),
}

impl SettleError {
    /// A stable, machine-readable error code (snake_case).
    pub fn code(&self) -> &'static str {
        match self {
            SettleError::InvalidUrl(_) => "invalid_database_url",
            SettleError::NoLedger { .. } => "no_ledger",
            SettleError::Unavailable { .. } => "database_unavailable",
            SettleError::Database(_) => "database_error",
            SettleError::Busy => "ledger_busy",
            SettleError::Migration { .. } => "migration_failed",
            SettleError::MigrationModified { .. } => "migration_modified",
            SettleError::SchemaTooNew { .. } => "schema_too_new",
            SettleError::Replay { .. } => "replay",
            SettleError::StaleCommitment { .. } => "stale_commitment",
            SettleError::StaleReport { .. } => "stale_report",
            SettleError::TrustNotPinned => "trust_not_pinned",
            SettleError::UntrustedVerifier { .. } => "untrusted_verifier",
            SettleError::UnknownAccount(_) => "unknown_account",
            SettleError::AccountExists(_) => "account_exists",
            SettleError::CommitmentInUse { .. } => "commitment_in_use",
            SettleError::NotInitialized => "ledger_not_initialized",
            SettleError::AlreadyInitialized => "ledger_already_initialized",
            SettleError::OperatorKeyRejected => "operator_key_rejected",
            SettleError::WeakOperatorSecret { .. } => "weak_operator_secret",
            SettleError::OutOfRange { .. } => "value_out_of_range",
            SettleError::Overflow(_) => "balance_overflow",
            SettleError::ZeroDeposit => "zero_deposit",
            SettleError::InvalidArgument { .. } => "invalid_argument",
            SettleError::Io { .. } => "io_error",
            SettleError::Runtime(_) => "runtime_unavailable",
            SettleError::Corrupt(_) => "ledger_corrupt",
            SettleError::InvariantViolated(_) => "invariant_violated",
        }
    }
}

impl From<sqlx::Error> for SettleError {
    fn from(e: sqlx::Error) -> Self {
        if is_busy(&e) {
            SettleError::Busy
        } else {
            SettleError::Database(one_line(&e.to_string()))
        }
    }
}

/// Whether `e` is a lock wait that timed out: SQLite `SQLITE_BUSY` and
/// `SQLITE_LOCKED` (with their extended codes), PostgreSQL `lock_not_available`
/// (55P03, from `lock_timeout`).
pub(crate) fn is_busy(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    matches!(
        d.code().as_deref(),
        // BUSY, BUSY_RECOVERY, BUSY_SNAPSHOT, BUSY_TIMEOUT; LOCKED,
        // LOCKED_SHAREDCACHE, LOCKED_VTAB; PostgreSQL lock_not_available.
        Some("5" | "261" | "517" | "773" | "6" | "262" | "518" | "55P03")
    )
}

/// Whether `e` is an integer overflow inside the database (an SQLite `SUM` past
/// 2^63 − 1; PostgreSQL `numeric_value_out_of_range`, 22003, e.g. a cast to BIGINT).
pub(crate) fn is_integer_overflow(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    d.code().as_deref() == Some("22003") || d.message().contains("integer overflow")
}

/// The first line of a driver message (errors are one line).
pub(crate) fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}

/// Whether `e` is a unique-constraint violation (either database).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
