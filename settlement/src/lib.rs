//! zkmargin settlement engine: applies verified liquidations to a ledger in a real
//! database — SQLite by default (one file, WAL, `synchronous = FULL`), PostgreSQL for
//! several nodes — through one code path (sqlx's `Any` driver).
//!
//! The ledger never sees a balance. It holds each account's current commitment and
//! nonce, the applied liquidations (keyed on the statement digest, never on proof
//! bytes: Groth16 proofs are re-randomizable), liquidator credits, the insurance fund,
//! socialized losses and an append-only, hash-chained event log.
//!
//! - Liquidations are applied atomically and only from a verified transition
//!   ([`Ledger::apply`] takes the verifier's `VerifiedLiquidation`, which only the
//!   verifier constructs), recording which verifying key and which oracle committee
//!   verified each one, and only under the trust the operator pinned
//!   ([`Ledger::pin_trust`], [`PinnedTrust`]).
//! - The venue's own updates go through authenticated operator calls
//!   ([`Ledger::register_account`], [`Ledger::replace_commitment`],
//!   [`Ledger::fund_deposit`]).
//! - [`Ledger::check_invariants`] recomputes everything from the event log.
//! - [`Settler`]: verify a liquidation bundle, then apply it — the one settle path every
//!   shell uses. [`commands`]: the operator and read commands the CLI runs.
//!
//! Modules, lowest first: `error`, `db` (backend, shared helpers), `events`, `schema`,
//! `operator`, `ledger`, `trust`, `apply`, `invariants`, `settler`, `commands`, `fault`.
//!
//! `docs/SETTLEMENT.md` describes the flow, the schema and every invariant with the
//! test that checks it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod apply;
pub mod commands;
mod db;
mod error;
mod events;
pub mod fault;
mod invariants;
mod ledger;
mod operator;
mod schema;
#[cfg(any(test, feature = "testkit"))]
pub mod scratch;
mod settler;
mod trust;

#[cfg(test)]
mod tests;

pub use apply::Applied;
pub use db::{redact_url, Backend};
pub use error::SettleError;
pub use events::{Event, EventKind};
pub use invariants::InvariantReport;
pub use ledger::{
    AccountRecord, Ledger, LedgerOptions, LiquidationRecord, Summary, DEFAULT_DB_URL,
};
pub use operator::OperatorKey;
pub use schema::SCHEMA_VERSION;
pub use settler::{SettleFailure, SettleTimings, Settled, Settler};
pub use trust::PinnedTrust;
