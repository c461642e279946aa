//! Reading request bodies: the content type, the size limit (a clean 413 after
//! draining a moderately oversized body) and the body's share of the request timeout.

use axum::{
    body::{Body, Bytes},
    http::{header, HeaderMap, StatusCode},
};
use http_body_util::BodyExt;

use crate::{error::ApiError, state::AppState};

/// How much of an oversized body is read and discarded before answering 413, so the
/// client is reading when the answer comes (closing a socket with unread data resets
/// the connection, and the client could lose the response).
const DRAIN_FACTOR: usize = 8;

/// Reads the whole body within the size limit and the request timeout.
pub(crate) async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, ApiError> {
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
