//! The routes, one module per group, and the request-metrics middleware.

mod info;
mod settle;
mod verify;

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::{self, Next},
    response::Response,
    routing::{get, post},
    Router,
};

use crate::{metrics, state::AppState};

/// The router with every route, the request metrics and the JSON fallbacks.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(
            "/v1/verify",
            post(verify::verify_one).fallback(info::method_not_allowed),
        )
        .route(
            "/v1/verify/batch",
            post(verify::verify_batch).fallback(info::method_not_allowed),
        )
        .route(
            "/v1/settle",
            post(settle::settle).fallback(info::method_not_allowed),
        )
        .route(
            "/v1/info",
            get(info::info).fallback(info::method_not_allowed),
        )
        .route(
            "/healthz",
            get(info::healthz).fallback(info::method_not_allowed),
        )
        .route(
            "/metrics",
            get(info::metrics_text).fallback(info::method_not_allowed),
        )
        .fallback(info::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
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
