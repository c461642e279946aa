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
//!   ([`Ledger::apply`] takes the verifier's `VerifiedTransition`, which only the
//!   verifier constructs), recording which verifying key and which oracle committee
//!   verified each one.
//! - The venue's own updates go through authenticated operator calls
//!   ([`Ledger::register_account`], [`Ledger::replace_commitment`],
//!   [`Ledger::fund_deposit`]).
//! - [`Ledger::check_invariants`] recomputes everything from the event log.
//!
//! `docs/SETTLEMENT.md` describes the flow, the schema and every invariant with the
//! test that checks it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod apply;
pub mod cli;
mod error;
mod events;
pub mod fault;
mod invariants;
mod ledger;
mod operator;
mod schema;

#[cfg(test)]
mod tests;

pub use apply::Applied;
pub use error::SettleError;
pub use events::{Event, EventKind};
pub use invariants::InvariantReport;
pub use ledger::{
    AccountRecord, Backend, Ledger, LedgerOptions, LiquidationRecord, Summary, DEFAULT_DB_URL,
};
pub use operator::OperatorKey;
pub use schema::SCHEMA_VERSION;
