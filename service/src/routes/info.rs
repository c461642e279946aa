//! `GET /v1/info`, `GET /healthz`, `GET /metrics`, and the JSON answers to unknown
//! routes and methods.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, Method, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};
use zkmargin_verifier::BUNDLE_VERSION;

use crate::{
    error::ApiError,
    state::{AppState, BUILD_VERSION},
};

/// `GET /v1/info`.
pub(crate) async fn info(State(state): State<Arc<AppState>>) -> Json<Value> {
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
    let settlement = match state.ledger() {
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
        "keys_provenance": state.provenance.keys_provenance,
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

pub(crate) async fn not_found(
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

pub(crate) async fn method_not_allowed(
    State(state): State<Arc<AppState>>,
    method: Method,
) -> ApiError {
    state.metrics.reject("method_not_allowed");
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("method {method} is not allowed on this route"),
    )
}

pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub(crate) async fn metrics_text(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
