//! Descope-shaped error responses: `{errorCode, errorDescription, errorMessage}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const BAD_REQUEST: &str = "E011001";
pub const MISSING_ARGUMENTS: &str = "E011002";
pub const INVALID_REQUEST: &str = "E011003";
pub const INVALID_ARGUMENTS: &str = "E011004";
pub const USER_NOT_FOUND: &str = "E112102";
pub const USER_ALREADY_EXISTS: &str = "E062107";
pub const RATE_LIMITED: &str = "E130429";
/// Not a documented Descope code: the emulator's answer for injected 5xx faults.
pub const INTERNAL: &str = "E000000";

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub description: String,
    pub message: String,
    /// `Retry-After` seconds (429).
    pub retry_after: Option<u64>,
}

pub fn description_for(code: &str) -> &'static str {
    match code {
        BAD_REQUEST => "Bad request",
        MISSING_ARGUMENTS => "Missing arguments",
        INVALID_REQUEST => "Request is invalid",
        INVALID_ARGUMENTS => "Invalid arguments",
        USER_NOT_FOUND => "User not found",
        USER_ALREADY_EXISTS => "User already exists",
        RATE_LIMITED => "Too many requests",
        INTERNAL => "Internal server error",
        _ => "Request failed",
    }
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            description: description_for(code).to_string(),
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(400, BAD_REQUEST, m)
    }
    pub fn missing(m: impl Into<String>) -> Self {
        Self::new(400, MISSING_ARGUMENTS, m)
    }
    pub fn invalid(m: impl Into<String>) -> Self {
        Self::new(400, INVALID_REQUEST, m)
    }
    pub fn invalid_args(m: impl Into<String>) -> Self {
        Self::new(400, INVALID_ARGUMENTS, m)
    }
    pub fn user_not_found() -> Self {
        Self::new(400, USER_NOT_FOUND, "User not found")
    }
    pub fn unauthorized() -> Self {
        Self::new(401, INVALID_REQUEST, "Unauthorized: invalid project ID or management key")
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(429, RATE_LIMITED, "Rate limit exceeded");
        e.retry_after = Some(retry_after);
        e
    }
    /// The error an injected status fault (or a routing miss) answers with.
    pub fn for_status(status: u16) -> Self {
        match status {
            429 => Self::rate_limited(60),
            401 => Self::unauthorized(),
            403 => Self::new(403, INVALID_REQUEST, "Forbidden"),
            404 => Self::new(404, BAD_REQUEST, "Route not found"),
            405 => Self::new(405, BAD_REQUEST, "Method not allowed"),
            s if s >= 500 => Self::new(s, INTERNAL, "Internal server error (injected)"),
            s => Self::new(s, BAD_REQUEST, "Request failed"),
        }
    }

    pub fn body(&self) -> serde_json::Value {
        json!({
            "errorCode": self.code,
            "errorDescription": self.description,
            "errorMessage": self.message,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(self.body())).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}
