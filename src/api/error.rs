//! Graph error responses: `{"error":{"code","message","innerError":{"date","request-id",
//! "client-request-id"}}}`, with the status codes of contract section 1.

use crate::engine::EngineError;
use crate::store::StoreError;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error a handler returns. The request-id middleware renders its body, because
/// only it knows the request's ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds, for 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalidRequest", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            format!("{what} was not found"),
        )
    }
    pub fn unauthenticated(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message)
    }
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "accessDenied",
            "the token is not valid for this servicePrincipal",
        )
    }
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "notSupported",
            "this method is not supported on this path",
        )
    }
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalidRequest",
            "the request body is over 1 MiB",
        )
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "activityLimitReached",
                "provisionOnDemand is limited to 5 calls per 10 seconds per job",
            )
        }
    }

    /// The JSON body, once the request's ids are known.
    pub fn body(&self, request_id: &str, client_request_id: Option<&str>, date: &str) -> serde_json::Value {
        let mut inner = serde_json::json!({ "date": date, "request-id": request_id });
        if let Some(c) = client_request_id {
            inner["client-request-id"] = serde_json::Value::String(c.to_string());
        }
        serde_json::json!({ "error": { "code": self.code, "message": self.message, "innerError": inner } })
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match &e {
            EngineError::UnknownTemplate(_) | EngineError::Settings(_) => Self::bad_request(e.to_string()),
            EngineError::Connector(c) => Self::bad_request(c.to_string()),
            EngineError::Store(s) => match s {
                StoreError::NotFound { .. } => Self::not_found("the job"),
                StoreError::Refused(r) => Self::new(StatusCode::CONFLICT, "notAllowed", r.to_string()),
                StoreError::Busy { .. } => Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "serviceNotAvailable",
                    format!("{s}; nothing was changed"),
                ),
                _ => Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "generalException",
                    format!("storage failed: {s}; nothing was changed"),
                ),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry = self.retry_after;
        let mut r = (status, ()).into_response();
        if let Some(s) = retry
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert("Retry-After", v);
        }
        r.extensions_mut().insert(self);
        r
    }
}
