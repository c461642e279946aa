//! `POST /v1/settle`: a liquidation bundle verified on a worker thread, then applied
//! to the ledger by the [`Settler`](zkmargin_settlement::Settler).

use std::{sync::Arc, time::Instant};

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use zkmargin_verifier::{ProofBundle, Statement, VerifyError};

use crate::{
    body::read_body,
    error::ApiError,
    state::{await_reply, submit_error, AppState},
};

/// `POST /v1/settle`.
pub(crate) async fn settle(
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
    let Some(settler) = state.settler.clone() else {
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
    // Verification on a worker thread, within the request timeout.
    let rx = state
        .dispatcher
        .submit_liquidation(bundle)
        .map_err(submit_error)?;
    let liquidation = await_reply(state, started, rx)
        .await?
        .map_err(|e| ApiError::from(&e))?;

    // The apply runs to completion in its own task whatever happens to this request.
    let metrics = state.metrics.clone();
    let digest = hex::encode(liquidation.statement_digest());
    let task = tokio::spawn(async move {
        let applying = Instant::now();
        let settled = settler.apply(liquidation).await;
        metrics
            .ledger_apply_duration
            .observe(applying.elapsed().as_secs_f64());
        settled
    });
    let left = state
        .limits
        .request_timeout
        .saturating_sub(started.elapsed());
    let settled = match tokio::time::timeout(left, task).await {
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
    match settled {
        Ok(settled) => {
            let applied = &settled.settled;
            tracing::info!(
                statement = %applied.statement_digest,
                account = applied.account_id,
                liquidator = applied.liquidator,
                "liquidation settled"
            );
            Ok(Json(&settled).into_response())
        }
        Err(failure) => {
            let api = ApiError::from(&failure);
            if api.status.is_server_error() {
                tracing::error!(statement = %digest, code = failure.code(), error = %failure, "ledger apply failed");
            } else {
                tracing::debug!(statement = %digest, code = failure.code(), "settlement refused");
            }
            Err(api)
        }
    }
}
