//! JSON error bodies with stable codes, and the error → HTTP status mapping.
//!
//! Every error the service returns has the body
//! `{"error": {"code": "<snake_case>", "message": "<one sentence>"}}`. The code is
//! stable (clients branch on it); the message is for people.
//!
//! | status | codes |
//! |---|---|
//! | 400 | `invalid_json`, `invalid_bundle`, `invalid_request`, `malformed_proof`, `body_read_failed` |
//! | 404 | `not_found` |
//! | 405 | `method_not_allowed` |
//! | 408 | `request_timeout` (the body did not arrive in time) |
//! | 413 | `payload_too_large`, `batch_too_large` |
//! | 415 | `unsupported_media_type` |
//! | 422 | `unsupported_version`, `unsupported_circuit`, `key_fingerprint_mismatch`, `unknown_risk_params`, `missing_price`, `invalid_proof_points`, `invalid_proof`, every `oracle_*` code but `oracle_invalid_config` |
//! | 500 | `internal_error`, `oracle_invalid_config` (the server's own configuration) |
//! | 503 | `overloaded` (verification queue full), `timeout` (no verdict within the request timeout), `shutting_down` |
//!
//! 400 means the request is not well-formed (not JSON, wrong types, a proof that is not
//! 128 bytes of hex); 422 means it is well-formed but does not prove what it claims or
//! is not acceptable to this verifier (its version, its key, its oracle report, its
//! points, its pairing check).

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use zkmargin_verifier::{BundleError, VerifyError};

/// An error response: HTTP status, stable code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable snake_case code.
    pub code: &'static str,
    /// A one-sentence explanation.
    pub message: String,
}

/// The body of an error: `{"error": {"code", "message"}}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The error.
    pub error: ErrorDetail<'a>,
}

/// `code` and `message` of an error body.
#[derive(Debug, Serialize)]
pub struct ErrorDetail<'a> {
    /// Stable snake_case code.
    pub code: &'a str,
    /// Explanation.
    pub message: &'a str,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// The `{"error": …}` body.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
            },
        }
    }

    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }
}

impl From<&VerifyError> for ApiError {
    fn from(e: &VerifyError) -> Self {
        Self::new(verify_error_status(e), e.code(), e.to_string())
    }
}

impl From<&BundleError> for ApiError {
    fn from(e: &BundleError) -> Self {
        let status = match e {
            BundleError::UnsupportedVersion(_) | BundleError::UnsupportedCircuit(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            _ => StatusCode::BAD_REQUEST,
        };
        Self::new(status, e.code(), e.to_string())
    }
}

/// The HTTP status of a verification failure: see the module table.
pub fn verify_error_status(e: &VerifyError) -> StatusCode {
    match e {
        VerifyError::MalformedProof(_) => StatusCode::BAD_REQUEST,
        VerifyError::Oracle(o) if o.code() == "oracle_invalid_config" => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkmargin_oracle::OracleError;

    #[test]
    fn malformed_input_is_400_and_unacceptable_input_is_422() {
        let cases = [
            (
                VerifyError::MalformedProof("x".into()),
                400,
                "malformed_proof",
            ),
            (
                VerifyError::UnsupportedVersion(2),
                422,
                "unsupported_version",
            ),
            (
                VerifyError::InvalidPoints("x".into()),
                422,
                "invalid_proof_points",
            ),
            (VerifyError::InvalidProof, 422, "invalid_proof"),
            (
                VerifyError::MissingPrice("ETH/USD".into()),
                422,
                "missing_price",
            ),
            (
                VerifyError::UnknownRiskParams("00".into()),
                422,
                "unknown_risk_params",
            ),
            (
                VerifyError::Oracle(OracleError::QuorumNotMet {
                    valid: 1,
                    required: 2,
                }),
                422,
                "oracle_quorum_not_met",
            ),
            (
                VerifyError::Oracle(OracleError::Stale {
                    age_secs: 400,
                    max_age_secs: 300,
                }),
                422,
                "oracle_stale_report",
            ),
            (
                VerifyError::Oracle(OracleError::Config(
                    zkmargin_oracle::ConfigError::ZeroQuorum,
                )),
                500,
                "oracle_invalid_config",
            ),
        ];
        for (e, status, code) in cases {
            let api = ApiError::from(&e);
            assert_eq!(api.status.as_u16(), status, "{e}");
            assert_eq!(api.code, code);
            assert_eq!(api.message, e.to_string());
        }
        let e = BundleError::Json("eof".into());
        assert_eq!(ApiError::from(&e).status, StatusCode::BAD_REQUEST);
        let e = BundleError::UnsupportedCircuit("x".into());
        assert_eq!(ApiError::from(&e).status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn the_body_is_code_and_message_only() {
        let e = ApiError::new(StatusCode::NOT_FOUND, "not_found", "no route");
        let json = serde_json::to_value(e.body()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "not_found", "message": "no route"}})
        );
    }
}
