//! The settle use case: a liquidation bundle is verified, then applied to the ledger.
//! Every shell that settles (`zkmargin ledger settle`, `POST /v1/settle`, the demo, the
//! engine's keepers) goes through a [`Settler`], so "verify, then apply" exists once.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;
use zkmargin_verifier::{ProofBundle, VerifiedLiquidation, Verifier, VerifyError};

use crate::{Applied, Ledger, SettleError};

/// Why a bundle was not settled: its verification failed (nothing reached the ledger),
/// or the ledger refused or failed to apply the verified liquidation (the transaction
/// was rolled back whole).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettleFailure {
    /// The bundle did not verify.
    #[error("{0}")]
    Verify(#[from] VerifyError),
    /// The verified liquidation was not applied.
    #[error("{error}")]
    Apply {
        /// Its statement digest (the replay key), hex.
        statement_digest: String,
        /// Why.
        error: SettleError,
    },
}

impl SettleFailure {
    /// The stable code of the underlying error.
    pub fn code(&self) -> &'static str {
        match self {
            SettleFailure::Verify(e) => e.code(),
            SettleFailure::Apply { error, .. } => error.code(),
        }
    }

    /// `"verify"` or `"apply"`: the stage that failed.
    pub fn stage(&self) -> &'static str {
        match self {
            SettleFailure::Verify(_) => "verify",
            SettleFailure::Apply { .. } => "apply",
        }
    }
}

/// A settled liquidation: what was verified and what the ledger did.
#[derive(Debug, Clone, Serialize)]
pub struct Settled {
    /// What the ledger did.
    pub settled: Applied,
    /// What was verified (`"transition"` in JSON, the name `POST /v1/settle` answers with).
    #[serde(rename = "transition")]
    pub liquidation: VerifiedLiquidation,
    /// How long each stage took.
    #[serde(skip)]
    pub timings: SettleTimings,
}

/// How long the stages of a settlement took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettleTimings {
    /// Verification (zero when the caller verified beforehand).
    pub verify: Duration,
    /// The ledger transaction.
    pub apply: Duration,
}

/// A verifier and the ledger it settles on.
#[derive(Debug, Clone)]
pub struct Settler {
    verifier: Arc<Verifier>,
    ledger: Ledger,
}

impl Settler {
    /// Settles with `verifier` on `ledger`.
    pub fn new(verifier: Arc<Verifier>, ledger: Ledger) -> Self {
        Self { verifier, ledger }
    }

    /// The verifier.
    pub fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Verifies a liquidation bundle (CPU only: a caller on an async executor with
    /// other work runs it on a worker thread).
    ///
    /// # Errors
    /// [`SettleFailure::Verify`].
    pub fn verify(&self, bundle: &ProofBundle) -> Result<VerifiedLiquidation, SettleFailure> {
        Ok(self.verifier.verify_liquidation(bundle)?)
    }

    /// Applies a verified liquidation in one transaction (see [`Ledger::apply`]).
    ///
    /// # Errors
    /// [`SettleFailure::Apply`].
    pub async fn apply(&self, liquidation: VerifiedLiquidation) -> Result<Settled, SettleFailure> {
        let started = Instant::now();
        match self.ledger.apply(&liquidation).await {
            Ok(settled) => Ok(Settled {
                settled,
                liquidation,
                timings: SettleTimings {
                    verify: Duration::ZERO,
                    apply: started.elapsed(),
                },
            }),
            Err(error) => Err(SettleFailure::Apply {
                statement_digest: hex::encode(liquidation.statement_digest()),
                error,
            }),
        }
    }

    /// Verifies `bundle`, then applies it: nothing reaches the ledger unless it verified.
    ///
    /// # Errors
    /// [`SettleFailure`], which says which stage failed.
    pub async fn settle(&self, bundle: &ProofBundle) -> Result<Settled, SettleFailure> {
        let started = Instant::now();
        let liquidation = self.verify(bundle)?;
        let verify = started.elapsed();
        let mut settled = self.apply(liquidation).await?;
        settled.timings.verify = verify;
        Ok(settled)
    }
}
