//! JSON error bodies with stable codes, and the error → HTTP status mapping.
//!
//! Every error the service returns has the body
//! `{"error": {"code": "<snake_case>", "message": "<one sentence>"}}`. The code is
//! stable (clients branch on it); the message is for people.
//!
//! | status | codes |
//! |---|---|
//! | 400 | `invalid_json`, `invalid_bundle`, `invalid_request`, `malformed_proof`, `body_read_failed` |
//! | 404 | `not_found`, `settlement_not_configured` (`/v1/settle` on a server started without a ledger) |
//! | 405 | `method_not_allowed` |
//! | 408 | `request_timeout` (the body did not arrive in time) |
//! | 409 | `replay` (the statement was already applied), `stale_commitment` (the old commitment is no account's current one), `stale_report`, `untrusted_verifier`, `trust_not_pinned` (the ledger's pinned trust), `commitment_in_use`, `balance_overflow` |
//! | 413 | `payload_too_large`, `batch_too_large` |
//! | 415 | `unsupported_media_type` |
//! | 422 | `unsupported_version`, `unsupported_circuit`, `key_fingerprint_mismatch`, `unknown_risk_params`, `missing_price`, `invalid_proof_points`, `invalid_proof`, `wrong_statement_kind`, `invalid_liquidation_action`, `liquidation_terms_mismatch`, `value_out_of_range`, every `oracle_*` code but `oracle_invalid_config` |
//! | 500 | `internal_error`, `oracle_invalid_config` (the server's own configuration), `ledger_error` (any other ledger failure; details only in the log) |
//! | 503 | `overloaded` (verification queue full), `timeout` (no answer within the request timeout), `shutting_down`, `ledger_busy` (another writer held the ledger's lock too long) |
//!
//! 400 means the request is not well-formed (not JSON, wrong types, a proof that is not
//! 128 bytes of hex); 422 means it is well-formed but does not prove what it claims or
//! is not acceptable to this verifier (its version, its key, its oracle report, its
//! points, its pairing check); 409 means it verified but conflicts with the ledger's
//! state. Every 503 carries `Retry-After: 1`.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use zkmargin_settlement::{SettleError, SettleFailure};
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

/// A ledger failure, as the client sees it. Conflicts with the ledger's state are 409
/// with the ledger's code and message (which name a digest or a commitment, never a
/// database detail); every failure of the database itself is a 500 `ledger_error`
/// whose message says nothing of it — the details go to the log.
impl From<&SettleFailure> for ApiError {
    fn from(e: &SettleFailure) -> Self {
        match e {
            SettleFailure::Verify(e) => e.into(),
            SettleFailure::Apply { error, .. } => error.into(),
            other => ApiError::internal(format!("settlement failed: {other}")),
        }
    }
}

impl From<&SettleError> for ApiError {
    fn from(e: &SettleError) -> Self {
        let status = match e {
            SettleError::Replay { .. }
            | SettleError::StaleCommitment { .. }
            | SettleError::StaleReport { .. }
            | SettleError::UntrustedVerifier { .. }
            | SettleError::TrustNotPinned
            | SettleError::CommitmentInUse { .. }
            | SettleError::Overflow(_) => StatusCode::CONFLICT,
            SettleError::OutOfRange { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            SettleError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            _ => {
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ledger_error",
                    "the ledger could not apply the transition (the error was logged); \
                     re-submitting is safe: a transition already applied answers 409 replay",
                )
            }
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
    fn ledger_conflicts_are_409_and_database_failures_say_nothing_of_the_database() {
        let cases = [
            (
                SettleError::Replay {
                    statement_digest: "ab".into(),
                },
                409,
                "replay",
            ),
            (
                SettleError::StaleCommitment {
                    commitment: "0x01".into(),
                },
                409,
                "stale_commitment",
            ),
            (
                SettleError::CommitmentInUse {
                    commitment: "0x01".into(),
                },
                409,
                "commitment_in_use",
            ),
            (
                SettleError::Overflow("insurance fund"),
                409,
                "balance_overflow",
            ),
            (
                SettleError::OutOfRange {
                    what: "liquidator id",
                    value: u64::MAX,
                },
                422,
                "value_out_of_range",
            ),
            (SettleError::Busy, 503, "ledger_busy"),
        ];
        for (e, status, code) in cases {
            let api = ApiError::from(&e);
            assert_eq!((api.status.as_u16(), api.code), (status, code), "{e}");
            assert_eq!(api.message, e.to_string());
        }
        let secret = "postgres://zkmargin:hunter2@db.internal/ledger";
        for e in [
            SettleError::Database(format!("connection to {secret} reset")),
            SettleError::Unavailable {
                backend: "PostgreSQL",
                reason: format!("{secret} refused"),
            },
            SettleError::Corrupt("accounts.commitment = 'zz'".into()),
            SettleError::InvalidUrl(secret.into()),
        ] {
            let api = ApiError::from(&e);
            assert_eq!((api.status.as_u16(), api.code), (500, "ledger_error"));
            assert!(!api.message.contains("hunter2") && !api.message.contains("zz"));
        }
        let busy = ApiError::from(&SettleError::Busy).into_response();
        assert_eq!(busy.headers()[header::RETRY_AFTER], "1");
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
