//! zkmargin verification service: HTTP/JSON around [`zkmargin_verifier::Verifier`].
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/verify` | one proof bundle → `200 {"kind": "margin", "verdict": …}`, or for a liquidation transition bundle `200 {"kind": "transition", "transition": …}`; or a 4xx error body |
//! | `POST /v1/verify/batch` | `{"bundles": [...]}` → `200 {"results": [...], "summary": …}`, one result per bundle, in order (margin bundles; a transition in a batch is a `wrong_statement_kind` result) |
//! | `POST /v1/settle` | one transition bundle → verified, then applied to the ledger in one transaction → `200 {"settled": …, "transition": …}`; `409 replay` / `409 stale_commitment`; `404 settlement_not_configured` without a ledger |
//! | `GET /v1/info` | key fingerprints, circuit ids, oracle config digest, accepted risk parameters, development flags, limits, settlement backend and whether its trust is development ([`zkmargin_verifier::trust`]), build version |
//! | `GET /healthz` | `200 {"status": "ok"}` while serving |
//! | `GET /metrics` | Prometheus text exposition ([`metrics`]) |
//!
//! The service is a thin shell: requests are decoded with
//! [`zkmargin_verifier::ProofBundle::from_json`] and verified by the library on
//! worker threads ([`dispatch`]), never on the async executor. Limits: request body
//! size (413 with a JSON body, after draining a moderately oversized body so the
//! client reads the answer), bundles per batch (413), a request timeout (408 while
//! the body arrives, 503 while waiting for a verdict), a bounded verification queue
//! (503 `overloaded`) and a fixed number of verification workers (the concurrency
//! limit). Connections ([`ConnectionLimits`], the `server` module): a header-read
//! timeout, an idle timeout, a limit on open connections, and bounds on the request
//! head ([`MAX_HEAD_BYTES`], [`MAX_HEADERS`]). Every error is
//! `{"error": {"code", "message"}}`; the codes and their HTTP statuses are in
//! [`error`], and the few malformed requests hyper answers itself, with an empty body,
//! are listed in `docs/openapi.yaml`, which describes the API.
//!
//! Settlement ([`AppState::with_ledger`]): the liquidation is verified on a worker
//! thread like any proof, then the [`Settler`](zkmargin_settlement::Settler) applies it
//! in a task of its own, so a
//! client that disconnects or times out never cancels a ledger transaction halfway
//! (it commits or rolls back whole either way; a re-submission then answers `replay`).
//! `/v1/settle` takes no credential: what protects the ledger is the trust
//! configuration, so `zkmargin-verifier serve --ledger` refuses a development one
//! ([`zkmargin_verifier::trust`]) unless started with `--allow-development`.
//!
//! Modules: `state` (the shared state, limits, the reply helpers), `body` (reading
//! request bodies), `routes` (`verify`, `settle`, `info`: one module per route group,
//! and the request metrics), plus [`dispatch`], [`error`] and [`metrics`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
pub mod dispatch;
pub mod error;
pub mod metrics;
mod routes;
mod server;
mod state;

use std::{future::Future, sync::Arc};

use tokio::net::TcpListener;

pub use dispatch::{AnyOutcome, Dispatcher, LiquidationOutcome, Outcome, SubmitError};
pub use error::ApiError;
pub use metrics::Metrics;
pub use routes::router;
pub use server::{ConnectionLimits, MAX_HEADERS, MAX_HEAD_BYTES};
pub use state::{AppState, Limits, Provenance, BUILD_VERSION};

/// Serves `router(state)` on `listener` with the connection limits of `connections`
/// until `shutdown` completes, then lets in-flight requests finish, stops the workers
/// and closes the ledger's connections. Accept errors (out of file descriptors, say)
/// are logged and retried after a pause, never fatal.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    connections: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let app = router(state.clone());
    server::run(listener, app, connections, shutdown).await;
    let state_for_workers = state.clone();
    // Joining the workers blocks: not on the executor's threads.
    let _ = tokio::task::spawn_blocking(move || state_for_workers.shutdown()).await;
    if let Some(ledger) = state.ledger() {
        ledger.close().await;
    }
}
