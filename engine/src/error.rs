//! The engine crate's error type.

/// Why an engine, worker or keeper could not start or continue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A configuration value is unusable (prefix, URL, parameter).
    #[error("{0}")]
    Config(String),
    /// The NATS server refused or could not be reached.
    #[error("NATS: {what}: {reason}")]
    Nats {
        /// What was being done.
        what: String,
        /// Why it failed, one line.
        reason: String,
    },
    /// The engine's account store failed.
    #[error("engine store: {0}")]
    Store(String),
    /// A proving key could not be loaded.
    #[error("{0}")]
    Keys(String),
    /// The metrics endpoint could not be started.
    #[error("metrics endpoint: {0}")]
    Metrics(String),
}

impl EngineError {
    /// A NATS error while doing `what`.
    pub fn nats(what: impl Into<String>, e: impl std::fmt::Display) -> Self {
        Self::Nats {
            what: what.into(),
            reason: one_line(&e.to_string()),
        }
    }
}

/// `s` on one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
