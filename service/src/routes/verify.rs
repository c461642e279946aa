//! `POST /v1/verify` (any bundle) and `POST /v1/verify/batch` (margin bundles).

use std::{sync::Arc, time::Instant};

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zkmargin_verifier::{ProofBundle, Verdict, Verified, VerifiedLiquidation, VerifyError};

use crate::{
    body::read_body,
    error::ApiError,
    metrics,
    state::{await_reply, submit_error, AppState},
};

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

/// `/v1/verify`'s body for a liquidation bundle (`"kind": "transition"`).
#[derive(Debug, Serialize)]
struct LiquidationReply<'a> {
    kind: &'static str,
    transition: &'a VerifiedLiquidation,
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
pub(crate) async fn verify_one(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let result = async {
        let bytes = read_body(&state, &headers, body).await?;
        let bundle = ProofBundle::from_json(&bytes).map_err(|e| ApiError::from(&e))?;
        let rx = state.dispatcher.submit(bundle).map_err(submit_error)?;
        match await_reply(&state, started, rx).await? {
            Ok(Verified::Margin(verdict)) => {
                state.metrics.verdict(status_label(&verdict));
                Ok(Json(MarginReply {
                    kind: "margin",
                    body: VerdictBody {
                        verdict: VerdictJson::of(&verdict),
                    },
                })
                .into_response())
            }
            Ok(Verified::Liquidation(liquidation)) => {
                state.metrics.verdict("transition");
                Ok(Json(LiquidationReply {
                    kind: "transition",
                    transition: &liquidation,
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
pub(crate) async fn verify_batch(
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
    let value: Value = zkmargin_verifier::json::parse(&bytes).map_err(|e| {
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
