//! Stytch-shaped error responses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub error_type: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, error_type: &str, message: impl Into<String>) -> Self {
        ApiError { status, error_type: error_type.to_string(), message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            401,
            "unauthorized_credentials",
            "Unauthorized credentials. Please check your project_id and secret.",
        )
    }
    pub fn org_not_found() -> Self {
        Self::new(404, "organization_not_found", "Organization could not be found.")
    }
    pub fn member_not_found() -> Self {
        Self::new(404, "member_not_found", "Member could not be found.")
    }
    pub fn user_not_found() -> Self {
        Self::new(404, "user_not_found", "User could not be found.")
    }
    pub fn session_not_found() -> Self {
        Self::new(404, "session_not_found", "Session could not be found.")
    }

    /// Default error for a bare status code (faults, fallbacks).
    pub fn for_status(status: u16) -> Self {
        let (t, m) = match status {
            400 => ("bad_request", "The submitted request is invalid."),
            401 => ("unauthorized_credentials", "Unauthorized credentials."),
            403 => ("unauthorized_action", "The action is not authorized."),
            404 => ("route_not_found", "The requested route could not be found."),
            405 => ("method_not_allowed", "The HTTP method is not allowed for this route."),
            429 => ("too_many_requests", "Too many requests have been made."),
            500 => (
                "internal_server_error",
                "Oops, something seems to have gone wrong, please reach out to support@stytch.com to let us know what went wrong.",
            ),
            503 => ("server_unavailable", "The server is temporarily unavailable."),
            _ if status >= 500 => ("internal_server_error", "Oops, something seems to have gone wrong."),
            _ => ("bad_request", "The submitted request is invalid."),
        };
        Self::new(status, t, m)
    }

    pub fn body(&self, live: bool) -> serde_json::Value {
        json!({
            "status_code": self.status,
            "request_id": crate::util::request_id(live),
            "error_type": self.error_type,
            "error_message": self.message,
            "error_url": format!("https://stytch.com/docs/api/errors/{}#{}", self.status, self.error_type),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self.body(false))).into_response()
    }
}
