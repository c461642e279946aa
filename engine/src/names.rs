//! Every stream, subject, and consumer name, derived from one prefix, so that
//! several venues (or test runs) share a NATS server without colliding.

use crate::EngineError;

/// The kinds of proof job (and of feed item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A margin proof that an account breaches at τ = 1 (public feed).
    Breach,
    /// A margin proof that an account breaches at τ_warn > 1 (to the holder only).
    Warning,
    /// A liquidation transition naming the liquidator that won the claim (public feed).
    Liquidation,
}

impl JobKind {
    /// The subject token of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Breach => "breach",
            JobKind::Warning => "warning",
            JobKind::Liquidation => "liquidation",
        }
    }
}

/// Names derived from a prefix: `[A-Za-z0-9_-]{1,32}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    prefix: String,
}

/// The default prefix.
pub const DEFAULT_PREFIX: &str = "zkmargin";

impl Names {
    /// Names under `prefix`.
    ///
    /// # Errors
    /// [`EngineError::Config`] when the prefix is empty, longer than 32 characters or
    /// holds a character other than ASCII letters, digits, `_` and `-` (NATS subjects
    /// and stream names forbid `.`, `*`, `>` and whitespace in a token).
    pub fn new(prefix: &str) -> Result<Self, EngineError> {
        if prefix.is_empty()
            || prefix.len() > 32
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(EngineError::Config(format!(
                "prefix {prefix:?} is not usable: 1 to 32 ASCII letters, digits, '_' or '-'"
            )));
        }
        Ok(Self {
            prefix: prefix.to_string(),
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Stream of signed reports (limits retention).
    pub fn reports_stream(&self) -> String {
        format!("{}_REPORTS", self.prefix)
    }
    /// Subject the oracle relay publishes signed reports on.
    pub fn reports_subject(&self) -> String {
        format!("{}.reports", self.prefix)
    }
    /// The engine's durable consumer of reports.
    pub fn engine_consumer(&self) -> String {
        format!("{}-engine", self.prefix)
    }

    /// Work-queue stream of proof jobs.
    pub fn jobs_stream(&self) -> String {
        format!("{}_JOBS", self.prefix)
    }
    /// Subject of jobs of `kind`.
    pub fn jobs_subject(&self, kind: JobKind) -> String {
        format!("{}.jobs.{}", self.prefix, kind.as_str())
    }
    /// Every job subject.
    pub fn jobs_filter(&self) -> String {
        format!("{}.jobs.>", self.prefix)
    }
    /// The workers' shared durable consumer.
    pub fn workers_consumer(&self) -> String {
        format!("{}-workers", self.prefix)
    }

    /// Stream of the public proof feed (breaches, liquidations).
    pub fn feed_stream(&self) -> String {
        format!("{}_FEED", self.prefix)
    }
    /// Feed subject of `kind` (breach or liquidation).
    pub fn feed_subject(&self, kind: JobKind) -> String {
        format!("{}.feed.{}", self.prefix, kind.as_str())
    }
    /// The feed subject of `kind` for the account with commitment `commitment_hex`
    /// (public: the commitment is in the bundle's statement anyway). One subject per
    /// account lets the engine find the breach proof a claim must quote.
    pub fn feed_account_subject(&self, kind: JobKind, commitment_hex: &str) -> String {
        format!("{}.feed.{}.{commitment_hex}", self.prefix, kind.as_str())
    }
    /// Every public feed subject.
    pub fn feed_filter(&self) -> String {
        format!("{}.feed.>", self.prefix)
    }
    /// A keeper's durable consumer of the feed.
    pub fn keeper_consumer(&self, liquidator: u64) -> String {
        format!("{}-keeper-{liquidator}", self.prefix)
    }

    /// Stream of early warnings (one subject per account; never the public feed).
    pub fn warnings_stream(&self) -> String {
        format!("{}_WARN", self.prefix)
    }
    /// The subject of account `id`'s early warnings: only its holder may subscribe.
    pub fn warning_subject(&self, account_id: u64) -> String {
        format!("{}.warn.{account_id}", self.prefix)
    }
    /// Every warning subject.
    pub fn warnings_filter(&self) -> String {
        format!("{}.warn.>", self.prefix)
    }

    /// Stream of claims: at most one message per subject, the first create wins.
    pub fn claims_stream(&self) -> String {
        format!("{}_CLAIMS", self.prefix)
    }
    /// The subject of the claim with key `key` ([`crate::messages::claim_key`]).
    pub fn claim_subject(&self, key: &str) -> String {
        format!("{}.claims.{key}", self.prefix)
    }
    /// The claim key of a claim subject.
    pub fn claim_key_of<'a>(&self, subject: &'a str) -> Option<&'a str> {
        subject
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix(".claims.")
    }
    /// Every claim subject.
    pub fn claims_filter(&self) -> String {
        format!("{}.claims.>", self.prefix)
    }
    /// The engine's durable consumer of claims.
    pub fn engine_claims_consumer(&self) -> String {
        format!("{}-engine-claims", self.prefix)
    }

    /// Stream of keepers' settlement notices (limits retention).
    pub fn settled_stream(&self) -> String {
        format!("{}_SETTLED", self.prefix)
    }
    /// The subject of the notice that the liquidation to `new_commitment_hex` settled.
    pub fn settled_subject(&self, new_commitment_hex: &str) -> String {
        format!("{}.settled.{new_commitment_hex}", self.prefix)
    }
    /// Every settlement-notice subject.
    pub fn settled_filter(&self) -> String {
        format!("{}.settled.>", self.prefix)
    }
    /// The engine's durable consumer of settlement notices.
    pub fn engine_settled_consumer(&self) -> String {
        format!("{}-engine-settled", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_validated() {
        assert!(Names::new("zkmargin").is_ok());
        assert!(Names::new("t-1_A").is_ok());
        for bad in ["", "a.b", "a b", "a*", "a>", &"x".repeat(33)] {
            assert!(Names::new(bad).is_err(), "{bad:?}");
        }
        let n = Names::new("p").unwrap();
        assert_eq!(n.jobs_subject(JobKind::Breach), "p.jobs.breach");
        assert_eq!(n.warning_subject(7), "p.warn.7");
        assert_eq!(n.keeper_consumer(3), "p-keeper-3");
        assert_eq!(
            n.claim_key_of(&n.claim_subject("ca.rb.pc")),
            Some("ca.rb.pc")
        );
        assert_eq!(
            n.feed_account_subject(JobKind::Breach, "ab"),
            "p.feed.breach.ab"
        );
        assert_eq!(n.claim_key_of("q.claims.ca.rb"), None);
        assert_eq!(n.settled_subject("ab"), "p.settled.ab");
        assert_eq!(n.engine_settled_consumer(), "p-engine-settled");
    }
}
