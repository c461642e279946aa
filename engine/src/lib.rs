//! The venue's liquidation engine (issue 16): on every signed report, a native scan of
//! every private account, proof jobs for breaches and early warnings on a NATS
//! JetStream work queue, proving workers, and liquidators' keepers.
//!
//! Layering, lowest first: `scan`, `error`, `names`, `messages`, `writeback` (a
//! liquidation's post-state), `store`, `metrics`, `bus`, then the three roles `engine`,
//! `worker`, `keeper`. Design, subjects, the claim rule and the write-back:
//! `docs/ENGINE.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bus;
pub mod engine;
pub mod error;
pub mod keeper;
pub mod messages;
pub mod metrics;
pub mod names;
pub mod scan;
pub mod store;
pub mod worker;
pub mod writeback;

pub use async_nats;
pub use error::EngineError;

/// Where the roles send their human-readable lines (progress, per-tick summaries,
/// ignored inputs): the CLI prints them on stderr, tests collect them.
pub type Say = std::sync::Arc<dyn Fn(String) + Send + Sync>;

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
/// `StreamExt`, for reading the bus's message streams.
pub use futures_util::StreamExt;
