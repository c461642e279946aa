//! The service's shared state: the verifier and its workers, the settler, the limits,
//! the metrics, and what the configuration announces about itself.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::http::StatusCode;
use zkmargin_settlement::{Ledger, Settler};
use zkmargin_verifier::{keys::KeyProvenance, TrustCheck, Verifier};

use crate::{
    dispatch::{Dispatcher, SubmitError},
    error::ApiError,
    metrics::Metrics,
};

/// Version of this build, reported by `/v1/info` and `zkmargin_build_info`.
pub const BUILD_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Limits of the service. [`Limits::default`] gives the documented defaults.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, bytes (default 1 MiB: a 256-bundle batch is ~450 KB).
    pub max_body_bytes: usize,
    /// Most bundles in one batch request (default 256).
    pub max_batch: usize,
    /// Time from the start of a request to its response (default 10 s).
    pub request_timeout: Duration,
    /// Verification workers: the number of verification jobs running at once
    /// (default: the machine's cores).
    pub workers: usize,
    /// Verification jobs that may wait for a worker before requests get 503 (default 1024).
    pub queue_capacity: usize,
    /// Most single-proof requests one worker verifies together (default 64).
    pub max_coalesce: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_batch: 256,
            request_timeout: Duration::from_secs(10),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue_capacity: 1024,
            max_coalesce: 64,
        }
    }
}

/// What the service announces about its configuration in `/v1/info`.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// True when the oracle committee is, or includes signers of, the public
    /// development committee.
    pub development_oracle: bool,
    /// Settings that fell back to development defaults, in words.
    pub development_defaults: Vec<String>,
    /// The development parts of the trust configuration (keys, oracle committee, risk
    /// parameters); with a ledger, `/v1/info` reports them as the settlement's
    /// (`settlement.development`).
    pub trust: TrustCheck,
    /// How the keys were made: development seed, single party or ceremony (with each
    /// circuit's transcript digest and contribution count).
    pub keys_provenance: KeyProvenance,
}

/// Shared state of the handlers.
#[derive(Debug)]
pub struct AppState {
    pub(crate) verifier: Arc<Verifier>,
    pub(crate) dispatcher: Dispatcher,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limits: Limits,
    pub(crate) provenance: Provenance,
    pub(crate) settler: Option<Settler>,
}

impl AppState {
    /// Starts the verification workers for `verifier`; no settlement (`/v1/settle`
    /// answers 404 `settlement_not_configured`).
    pub fn new(verifier: Verifier, limits: Limits, provenance: Provenance) -> Arc<Self> {
        Self::with_ledger(verifier, limits, provenance, None)
    }

    /// [`AppState::new`] with a ledger: `/v1/settle` verifies liquidations and applies
    /// them to it through a [`Settler`].
    pub fn with_ledger(
        verifier: Verifier,
        limits: Limits,
        provenance: Provenance,
        ledger: Option<Ledger>,
    ) -> Arc<Self> {
        let verifier = Arc::new(verifier);
        let metrics = Arc::new(Metrics::new(BUILD_VERSION));
        let dispatcher = Dispatcher::start(
            verifier.clone(),
            metrics.clone(),
            limits.workers,
            limits.queue_capacity,
            limits.max_coalesce,
        );
        let settler = ledger.map(|ledger| Settler::new(verifier.clone(), ledger));
        Arc::new(Self {
            verifier,
            dispatcher,
            metrics,
            limits,
            provenance,
            settler,
        })
    }

    /// The settlement ledger, when one is configured.
    pub fn ledger(&self) -> Option<&Ledger> {
        self.settler.as_ref().map(Settler::ledger)
    }

    /// The settler (verifier and ledger), when a ledger is configured.
    pub fn settler(&self) -> Option<&Settler> {
        self.settler.as_ref()
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Stops the workers after they finish the queued jobs.
    pub fn shutdown(&self) {
        self.dispatcher.shutdown();
    }
}

/// The answer to a job the queue did not take.
pub(crate) fn submit_error(e: SubmitError) -> ApiError {
    match e {
        SubmitError::Overloaded => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "the verification queue is full; retry shortly",
        ),
        SubmitError::Closed => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the service is shutting down",
        ),
    }
}

/// Waits for a worker's reply within what is left of the request timeout.
pub(crate) async fn await_reply<T>(
    state: &AppState,
    started: Instant,
    rx: tokio::sync::oneshot::Receiver<T>,
) -> Result<T, ApiError> {
    let left = state
        .limits
        .request_timeout
        .saturating_sub(started.elapsed());
    match tokio::time::timeout(left, rx).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(ApiError::internal(
            "verification failed unexpectedly; the error was logged",
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "no verdict within the request timeout of {} ms; the service is at capacity, retry later",
                state.limits.request_timeout.as_millis()
            ),
        )),
    }
}
