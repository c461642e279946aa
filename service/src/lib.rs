//! zkmargin verification service: HTTP/JSON around [`zkmargin_verifier::Verifier`].
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/verify` | one proof bundle → `200 {"kind": "margin", "verdict": …}`, or for a liquidation transition bundle `200 {"kind": "transition", "transition": …}`; or a 4xx error body |
//! | `POST /v1/verify/batch` | `{"bundles": [...]}` → `200 {"results": [...], "summary": …}`, one result per bundle, in order (margin bundles; a transition in a batch is a `wrong_statement_kind` result) |
//! | `POST /v1/settle` | one transition bundle → verified, then applied to the ledger in one transaction → `200 {"settled": …, "transition": …}`; `409 replay` / `409 stale_commitment`; `404 settlement_not_configured` without a ledger |
//! | `GET /v1/info` | key fingerprints, circuit ids, oracle config digest, accepted risk parameters, development flags, limits, settlement backend and whether its trust is development ([`trust`]), build version |
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
//! limit). Every error is `{"error": {"code", "message"}}`; the codes and their HTTP
//! statuses are in [`error`]. `docs/openapi.yaml` describes the API.
//!
//! Settlement ([`AppState::with_ledger`]): the transition is verified on a worker
//! thread like any proof, then [`Ledger::apply`] runs in a task of its own, so a
//! client that disconnects or times out never cancels a ledger transaction halfway
//! (it commits or rolls back whole either way; a re-submission then answers `replay`).
//! `/v1/settle` takes no credential: what protects the ledger is the trust
//! configuration, so `zkmargin-verifier serve --ledger` refuses a development one
//! ([`trust`]) unless started with `--allow-development`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dispatch;
pub mod error;
pub mod metrics;
pub mod trust;

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    extract::{MatchedPath, Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use zkmargin_settlement::{Applied, Ledger};
use zkmargin_verifier::{
    ProofBundle, Statement, Verdict, VerifiedTransition, Verifier, VerifyError, BUNDLE_VERSION,
};

pub use dispatch::{Dispatcher, Outcome, SubmitError, TransitionOutcome};
pub use error::ApiError;
pub use metrics::Metrics;
pub use trust::TrustCheck;

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
#[derive(Debug, Clone, Default)]
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
}

/// Shared state of the handlers.
#[derive(Debug)]
pub struct AppState {
    verifier: Arc<Verifier>,
    dispatcher: Dispatcher,
    metrics: Arc<Metrics>,
    limits: Limits,
    provenance: Provenance,
    ledger: Option<Ledger>,
}

impl AppState {
    /// Starts the verification workers for `verifier`; no settlement (`/v1/settle`
    /// answers 404 `settlement_not_configured`).
    pub fn new(verifier: Verifier, limits: Limits, provenance: Provenance) -> Arc<Self> {
        Self::with_ledger(verifier, limits, provenance, None)
    }

    /// [`AppState::new`] with a ledger: `/v1/settle` verifies transitions and applies
    /// them to it.
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
        Arc::new(Self {
            verifier,
            dispatcher,
            metrics,
            limits,
            provenance,
            ledger,
        })
    }

    /// The settlement ledger, when one is configured.
    pub fn ledger(&self) -> Option<&Ledger> {
        self.ledger.as_ref()
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

/// The router with every route, the request metrics and the JSON fallbacks.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/verify", post(verify_one).fallback(method_not_allowed))
        .route(
            "/v1/verify/batch",
            post(verify_batch).fallback(method_not_allowed),
        )
        .route("/v1/settle", post(settle).fallback(method_not_allowed))
        .route("/v1/info", get(info).fallback(method_not_allowed))
        .route("/healthz", get(healthz).fallback(method_not_allowed))
        .route("/metrics", get(metrics_text).fallback(method_not_allowed))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish, stops the workers and closes the ledger's connections.
///
/// # Errors
/// The listener's I/O error.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    let state_for_workers = state.clone();
    // Joining the workers blocks: not on the executor's threads.
    let _ = tokio::task::spawn_blocking(move || state_for_workers.shutdown()).await;
    if let Some(ledger) = &state.ledger {
        ledger.close().await;
    }
    Ok(())
}

/// Counts every request by route, method and status, times it, and logs it at debug.
async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    let m = &state.metrics;
    m.requests
        .get_or_create(&metrics::RequestLabels {
            route: route.clone(),
            method: method.to_string(),
            status: status.as_u16(),
        })
        .inc();
    m.request_duration
        .get_or_create(&metrics::RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    tracing::debug!(%method, %route, status = status.as_u16(), elapsed = ?started.elapsed(), "request");
    response
}

async fn not_found(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: axum::http::Uri,
) -> ApiError {
    state.metrics.reject("not_found");
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route {method} {}; see GET /v1/info and docs/openapi.yaml",
            uri.path()
        ),
    )
}

async fn method_not_allowed(State(state): State<Arc<AppState>>, method: Method) -> ApiError {
    state.metrics.reject("method_not_allowed");
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("method {method} is not allowed on this route"),
    )
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// `GET /v1/info`.
async fn info(State(state): State<Arc<AppState>>) -> Json<Value> {
    let v = &state.verifier;
    let oracle = v.oracle_config();
    let params: Vec<Value> = v
        .risk_params_by_digest()
        .into_iter()
        .map(|(digest, p)| {
            json!({
                "digest": hex::encode(digest),
                "revision": p.revision,
                "quote_symbol": p.quote_symbol,
                "tokens": p.tokens.iter().map(|t| t.symbol.as_str()).collect::<Vec<_>>(),
                "markets": p.markets.iter().map(|m| m.symbol.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let l = &state.limits;
    let mut circuits = vec![json!({
        "id": zkmargin_circuits::MARGIN_CIRCUIT_ID,
        "public_inputs": zkmargin_circuits::MARGIN_NUM_PUBLIC_INPUTS,
        "verifying_key_sha256": v.margin_key_fingerprint(),
    })];
    if let Some(fingerprint) = v.liquidation_key_fingerprint() {
        circuits.push(json!({
            "id": zkmargin_circuits::LIQUIDATION_CIRCUIT_ID,
            "public_inputs": zkmargin_circuits::LIQUIDATION_NUM_PUBLIC_INPUTS,
            "verifying_key_sha256": fingerprint,
        }));
    }
    // The backend only: the URL may carry credentials and host names.
    let settlement = match &state.ledger {
        Some(ledger) => json!({
            "configured": true,
            "backend": ledger.backend(),
            // Settling on development trust was allowed explicitly (--allow-development).
            "development": state.provenance.trust.is_development(),
            "development_trust": state.provenance.trust.parts(),
        }),
        None => json!({ "configured": false }),
    };
    Json(json!({
        "service": "zkmargin-verifier",
        "build_version": BUILD_VERSION,
        "bundle_version": BUNDLE_VERSION,
        "circuits": circuits,
        "development_keys": v.development_keys(),
        "oracle": {
            "config_digest": hex::encode(v.oracle_config_digest()),
            "signers": oracle.signers.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "quorum": oracle.quorum,
            "max_age_secs": oracle.max_age_secs,
            "max_future_skew_secs": oracle.max_future_skew_secs,
            "development_committee": state.provenance.development_oracle,
        },
        "risk_params": params,
        "settlement": settlement,
        "development_defaults": state.provenance.development_defaults,
        "limits": {
            "max_body_bytes": l.max_body_bytes,
            "max_batch": l.max_batch,
            "request_timeout_ms": l.request_timeout.as_millis() as u64,
            "workers": l.workers,
            "queue_capacity": l.queue_capacity,
            "max_coalesce": l.max_coalesce,
        },
    }))
}

/// The body of a verified margin bundle: the verdict plus whether it justifies
/// liquidation.
#[derive(Debug, Serialize)]
struct VerdictBody<'a> {
    verdict: VerdictJson<'a>,
}

/// `/v1/verify`'s body for a margin bundle: `kind` says which of the two shapes it is.
#[derive(Debug, Serialize)]
struct MarginReply<'a> {
    kind: &'static str,
    #[serde(flatten)]
    body: VerdictBody<'a>,
}

/// `/v1/verify`'s body for a transition bundle.
#[derive(Debug, Serialize)]
struct TransitionReply<'a> {
    kind: &'static str,
    transition: &'a VerifiedTransition,
}

#[derive(Debug, Serialize)]
struct VerdictJson<'a> {
    #[serde(flatten)]
    verdict: &'a Verdict,
    /// A breach at τ ≤ 1: grounds for liquidation.
    liquidatable: bool,
}

impl<'a> VerdictJson<'a> {
    fn of(verdict: &'a Verdict) -> Self {
        let liquidatable = matches!(verdict, Verdict::Breach(b) if b.is_liquidatable());
        Self {
            verdict,
            liquidatable,
        }
    }
}

fn status_label(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Meets(_) => "meets",
        Verdict::Breach(_) => "breaches",
    }
}

/// `POST /v1/verify`.
async fn verify_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let result = async {
        let bytes = read_body(&state, &headers, body).await?;
        let bundle = ProofBundle::from_json(&bytes).map_err(|e| ApiError::from(&e))?;
        if let Statement::Liquidation(_) = bundle.statement {
            let transition = verify_transition(&state, started, bundle).await?;
            state.metrics.verdict("transition");
            return Ok(Json(TransitionReply {
                kind: "transition",
                transition: &transition,
            })
            .into_response());
        }
        let rx = state.dispatcher.submit(bundle).map_err(submit_error)?;
        let outcome = await_reply(&state, started, rx).await?;
        match outcome {
            Ok(verdict) => {
                state.metrics.verdict(status_label(&verdict));
                Ok(Json(MarginReply {
                    kind: "margin",
                    body: VerdictBody {
                        verdict: VerdictJson::of(&verdict),
                    },
                })
                .into_response())
            }
            Err(e) => Err(ApiError::from(&e)),
        }
    }
    .await;
    if let Err(e) = &result {
        state.metrics.reject(e.code);
    }
    result
}

/// `{"bundles": [...]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest {
    bundles: Vec<Value>,
}

/// `POST /v1/verify/batch`.
async fn verify_batch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let result = batch_inner(&state, started, &headers, body).await;
    if let Err(e) = &result {
        state.metrics.reject(e.code);
    }
    result
}

async fn batch_inner(
    state: &Arc<AppState>,
    started: Instant,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(state, headers, body).await?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("not valid JSON: {e}"),
        )
    })?;
    let request: BatchRequest = serde_path_to_error::deserialize(value).map_err(|e| {
        ApiError::invalid_request(format!(
            "a batch is {{\"bundles\": [bundle, ...]}}; at `{}`: {}",
            e.path(),
            e.inner()
        ))
    })?;
    let n = request.bundles.len();
    if n > state.limits.max_batch {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "{n} bundles in one batch, at most {} are accepted; split the batch",
                state.limits.max_batch
            ),
        ));
    }
    state
        .metrics
        .batch_size
        .get_or_create(&metrics::KindLabels { kind: "request" })
        .observe(n as f64);

    // Decode each bundle on its own: one malformed bundle is one error result.
    let mut results: Vec<Option<Result<Verdict, ApiError>>> = Vec::with_capacity(n);
    let mut decoded = Vec::new();
    let mut slots = Vec::new();
    for (i, v) in request.bundles.into_iter().enumerate() {
        match ProofBundle::from_json_value(v) {
            Ok(b) => {
                decoded.push(b);
                slots.push(i);
                results.push(None);
            }
            Err(e) => results.push(Some(Err(ApiError::from(&e)))),
        }
    }
    if !decoded.is_empty() {
        let rx = state
            .dispatcher
            .submit_batch(decoded)
            .map_err(submit_error)?;
        let outcomes = await_reply(state, started, rx).await?;
        for (slot, outcome) in slots.into_iter().zip(outcomes) {
            results[slot] = Some(outcome.map_err(|e| {
                let mut api = ApiError::from(&e);
                if matches!(e, VerifyError::WrongStatement { .. }) {
                    api.message.push_str(
                        "; a batch verifies margin bundles: send a transition to POST /v1/verify or POST /v1/settle",
                    );
                }
                api
            }));
        }
    }

    let (mut meets, mut breaches, mut rejected) = (0usize, 0usize, 0usize);
    let items: Vec<Value> = results
        .into_iter()
        .map(|r| match r {
            Some(Ok(verdict)) => {
                let label = status_label(&verdict);
                state.metrics.verdict(label);
                if label == "meets" {
                    meets += 1;
                } else {
                    breaches += 1;
                }
                serde_json::to_value(VerdictBody {
                    verdict: VerdictJson::of(&verdict),
                })
                .unwrap_or(Value::Null)
            }
            Some(Err(e)) => {
                state.metrics.reject(e.code);
                rejected += 1;
                serde_json::to_value(e.body()).unwrap_or(Value::Null)
            }
            // Every slot is filled above; a missing one would be a bug, reported as such.
            None => {
                rejected += 1;
                serde_json::to_value(ApiError::internal("no outcome for this bundle").body())
                    .unwrap_or(Value::Null)
            }
        })
        .collect();
    Ok(Json(json!({
        "results": items,
        "summary": { "bundles": n, "meets": meets, "breaches": breaches, "rejected": rejected },
    }))
    .into_response())
}

/// Verifies a transition bundle on a worker within the request timeout.
async fn verify_transition(
    state: &AppState,
    started: Instant,
    bundle: ProofBundle,
) -> Result<VerifiedTransition, ApiError> {
    let rx = state
        .dispatcher
        .submit_transition(bundle)
        .map_err(submit_error)?;
    await_reply(state, started, rx)
        .await?
        .map_err(|e| ApiError::from(&e))
}

/// The body of a settled transition: what the ledger did, and what was verified.
#[derive(Debug, Serialize)]
struct SettledBody<'a> {
    settled: &'a Applied,
    transition: &'a VerifiedTransition,
}

/// `POST /v1/settle`.
async fn settle(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let result = settle_inner(&state, started, &headers, body).await;
    let outcome = match &result {
        Ok(_) => "applied",
        Err(e) => {
            state.metrics.reject(e.code);
            e.code
        }
    };
    state.metrics.settle(outcome);
    result
}

async fn settle_inner(
    state: &Arc<AppState>,
    started: Instant,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Some(ledger) = state.ledger.clone() else {
        // Read (and discard) the body so the client hears the answer.
        let _ = read_body(state, headers, body).await;
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "settlement_not_configured",
            "this server has no settlement ledger: start it with --ledger URL (or ZKMARGIN_LEDGER_DB) to enable POST /v1/settle",
        ));
    };
    let bytes = read_body(state, headers, body).await?;
    let bundle = ProofBundle::from_json(&bytes).map_err(|e| ApiError::from(&e))?;
    if let Statement::Margin(_) = bundle.statement {
        let e = VerifyError::WrongStatement {
            expected: zkmargin_circuits::LIQUIDATION_CIRCUIT_ID,
            found: zkmargin_circuits::MARGIN_CIRCUIT_ID,
        };
        let mut api = ApiError::from(&e);
        api.message.push_str(
            "; POST /v1/settle takes a liquidation transition bundle (verify margin bundles with POST /v1/verify)",
        );
        return Err(api);
    }
    let transition = verify_transition(state, started, bundle).await?;

    // The apply runs to completion in its own task whatever happens to this request.
    let metrics = state.metrics.clone();
    let digest = hex::encode(transition.statement_digest());
    let task = tokio::spawn(async move {
        let applying = Instant::now();
        let applied = ledger.apply(&transition).await;
        metrics
            .ledger_apply_duration
            .observe(applying.elapsed().as_secs_f64());
        (applied, transition)
    });
    let left = state
        .limits
        .request_timeout
        .saturating_sub(started.elapsed());
    let (applied, transition) = match tokio::time::timeout(left, task).await {
        Ok(Ok(done)) => done,
        Ok(Err(join)) => {
            tracing::error!(statement = %digest, error = %join, "ledger apply task failed");
            return Err(ApiError::internal(
                "applying the transition failed unexpectedly; the error was logged",
            ));
        }
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the ledger did not answer within the request timeout of {} ms; the transition may still be applied: re-submit it (an applied transition answers 409 replay)",
                    state.limits.request_timeout.as_millis()
                ),
            ))
        }
    };
    match applied {
        Ok(applied) => {
            tracing::info!(
                statement = %applied.statement_digest,
                account = applied.account_id,
                liquidator = applied.liquidator,
                "liquidation settled"
            );
            Ok(Json(SettledBody {
                settled: &applied,
                transition: &transition,
            })
            .into_response())
        }
        Err(e) => {
            let api = ApiError::from(&e);
            if api.status.is_server_error() {
                tracing::error!(statement = %digest, code = e.code(), error = %e, "ledger apply failed");
            } else {
                tracing::debug!(statement = %digest, code = e.code(), "settlement refused");
            }
            Err(api)
        }
    }
}

fn submit_error(e: SubmitError) -> ApiError {
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
async fn await_reply<T>(
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

/// How much of an oversized body is read and discarded before answering 413, so the
/// client is reading when the answer comes (closing a socket with unread data resets
/// the connection, and the client could lose the response).
const DRAIN_FACTOR: usize = 8;

/// Reads the whole body within the size limit and the request timeout.
async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("content-type {ct:?} is not accepted; send application/json"),
            ));
        }
    }
    let limit = state.limits.max_body_bytes;
    let too_large = |n: String| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body of {n} bytes exceeds the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared {
        if len > limit.saturating_mul(DRAIN_FACTOR) {
            // Too large to drain: answer at once.
            return Err(too_large(len.to_string()));
        }
    }
    let read = async {
        let mut body = body;
        let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit));
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "body_read_failed",
                    format!("could not read the request body: {e}"),
                )
            })?;
            if let Ok(data) = frame.into_data() {
                total += data.len();
                if total <= limit {
                    buf.extend_from_slice(&data);
                } else if total > limit.saturating_mul(DRAIN_FACTOR) {
                    break;
                }
            }
        }
        if total > limit {
            return Err(too_large(if declared.is_some() {
                total.to_string()
            } else {
                format!("at least {total}")
            }));
        }
        Ok(Bytes::from(buf))
    };
    let left = state.limits.request_timeout;
    match tokio::time::timeout(left, read).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} ms",
                left.as_millis()
            ),
        )),
    }
}
