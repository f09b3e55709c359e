//! The one place that maps every failure (and every sync outcome) to an HTTP status and a stable
//! machine-readable code.

use crate::authz::AuthzError;
use crate::cms::{CmsError, SignatureError, webhook::BodyError};
use crate::session::SessionError;
use crate::http::UpstreamError;
use crate::providers::{IdpError, RuleError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("not found")]
    NotFound,
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    Signature(#[from] SignatureError),
    #[error("{0}")]
    Body(#[from] BodyError),
    #[error("{0}")]
    BadRequest(String),
    #[error("documents of type {0:?} are not handled by this function")]
    UnsupportedType(String),
    #[error("{0}")]
    InvalidRule(#[from] RuleError),
    #[error("content lake: {0}")]
    Cms(#[from] CmsError),
    #[error("identity provider: {0}")]
    Idp(#[from] IdpError),
    #[error("{0}")]
    Session(#[from] SessionError),
    #[error("this content requires multi-factor authentication")]
    MfaRequired,
    #[error("origin not allowed")]
    OriginNotAllowed,
    #[error("authorization: {0}")]
    Authz(#[from] AuthzError),
}

fn upstream_status(e: &UpstreamError) -> u16 {
    match e {
        UpstreamError::Timeout { .. } => 504,
        UpstreamError::Connect { .. } => 503,
        // Busy or failing upstream: "unavailable, try again" is what Sanity should hear.
        UpstreamError::Status { status, .. } if *status == 429 || *status >= 500 => 503,
        // An answer we did not expect (other 4xx, unreadable body): a bad gateway.
        UpstreamError::Status { .. } | UpstreamError::Decode { .. } => 502,
    }
}

impl Error {
    /// 4xx tells Sanity not to retry; 5xx asks it to (docs/answers.md).
    pub fn status(&self) -> u16 {
        match self {
            Error::MethodNotAllowed => 405,
            Error::NotFound => 404,
            Error::PayloadTooLarge { .. } => 413,
            Error::Signature(_) => 401,
            Error::Body(_) | Error::BadRequest(_) => 400,
            Error::UnsupportedType(_) | Error::InvalidRule(_) => 422,
            Error::Cms(CmsError::Upstream(e)) => upstream_status(e),
            Error::Idp(IdpError::Upstream(e)) => upstream_status(e),
            // The rule names an organization/user that does not exist, or a value the provider
            // refuses: retrying the same document cannot succeed.
            Error::Idp(IdpError::TargetNotFound(_) | IdpError::Rejected(_)) => 422,
            // Our credentials are wrong (rotation in progress?): let Sanity retry later.
            Error::Idp(IdpError::Unauthorized) => 502,
            Error::Session(e) => e.status(),
            Error::MfaRequired => 403,
            Error::OriginNotAllowed => 403,
            // PDP down, slow or answering garbage, or a plan that cannot be expressed exactly.
            Error::Authz(_) => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::MethodNotAllowed => "method_not_allowed",
            Error::NotFound => "not_found",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::Signature(_) => "invalid_signature",
            Error::Body(_) | Error::BadRequest(_) => "bad_request",
            Error::UnsupportedType(_) => "unsupported_type",
            Error::InvalidRule(_) => "invalid_rule",
            Error::Cms(_) => "cms_unavailable",
            Error::Idp(IdpError::TargetNotFound(_)) => "target_not_found",
            Error::Idp(IdpError::Rejected(_)) => "invalid_rule",
            Error::Idp(_) => "provider_unavailable",
            Error::Session(e) => e.code(),
            Error::MfaRequired => "mfa_required",
            Error::OriginNotAllowed => "origin_not_allowed",
            Error::Authz(_) => "authz_unavailable",
        }
    }

    /// The message shown to callers. Upstream details stay in the logs; the caller learns only
    /// which side failed.
    pub fn public_message(&self) -> String {
        match self {
            Error::Cms(_) => "the content lake failed or timed out; retry later".into(),
            Error::Idp(IdpError::Upstream(_) | IdpError::Unauthorized) => {
                "the identity provider failed or timed out; retry later".into()
            }
            Error::Session(_) => "invalid or expired session".into(),
            // Never allow, never pretend a document is missing: the decision could not be made.
            Error::Authz(_) => "the authorization service failed or timed out; retry later".into(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::AuthzError;
    use crate::cms::webhook::BodyError;
    use crate::sync::Outcome;

    /// One value of every variant, down to what changes the status (upstream failures). The
    /// matches have no wildcard: a new variant does not compile until it is listed here.
    fn every_error() -> Vec<Error> {
        let upstream = |service| {
            vec![
                UpstreamError::Timeout { service },
                UpstreamError::Connect { service, reason: String::new() },
                UpstreamError::Status { service, status: 500, body: String::new(), retry_after: None },
                UpstreamError::Status { service, status: 429, body: String::new(), retry_after: None },
                UpstreamError::Status { service, status: 400, body: String::new(), retry_after: None },
                UpstreamError::Decode { service, reason: String::new() },
            ]
        };
        let sessions = [
            SessionError::Missing,
            SessionError::Malformed,
            SessionError::Algorithm,
            SessionError::Header,
            SessionError::UnknownKey,
            SessionError::Signature,
            SessionError::Expired,
            SessionError::NotYetValid,
            SessionError::Issuer,
            SessionError::Audience,
            SessionError::Claims,
            SessionError::KeysUnavailable,
        ];
        let target = crate::identity::Target { kind: crate::identity::TargetKind::User, id: "u".into() };
        let mut all = vec![
            Error::MethodNotAllowed,
            Error::NotFound,
            Error::PayloadTooLarge { limit: 1 },
            Error::BadRequest(String::new()),
            Error::UnsupportedType(String::new()),
            Error::InvalidRule(RuleError(String::new())),
            Error::Idp(IdpError::TargetNotFound(target)),
            Error::Idp(IdpError::Rejected(String::new())),
            Error::Idp(IdpError::Unauthorized),
            Error::MfaRequired,
            Error::OriginNotAllowed,
            Error::Authz(AuthzError::Timeout),
        ];
        all.extend([SignatureError::Missing, SignatureError::Malformed, SignatureError::NotMilliseconds, SignatureError::Stale, SignatureError::Mismatch].map(Error::Signature));
        all.extend([BodyError::NotJson, BodyError::NoId, BodyError::BadId, BodyError::NoType].map(Error::Body));
        all.extend(upstream("sanity").into_iter().map(|u| Error::Cms(CmsError::Upstream(u))));
        all.extend(upstream("stytch").into_iter().map(|u| Error::Idp(IdpError::Upstream(u))));
        all.extend(sessions.iter().cloned().map(Error::Session));
        for e in &all {
            match e {
                Error::MethodNotAllowed | Error::NotFound | Error::PayloadTooLarge { .. } | Error::Signature(_) | Error::Body(_) => {}
                Error::BadRequest(_) | Error::UnsupportedType(_) | Error::InvalidRule(_) | Error::Cms(_) | Error::Session(_) => {}
                Error::Idp(IdpError::Upstream(_) | IdpError::TargetNotFound(_) | IdpError::Rejected(_) | IdpError::Unauthorized) => {}
                Error::MfaRequired | Error::OriginNotAllowed | Error::Authz(_) => {}
            }
        }
        for s in &sessions {
            match s {
                SessionError::Missing | SessionError::Malformed | SessionError::Algorithm | SessionError::Header => {}
                SessionError::UnknownKey | SessionError::Signature | SessionError::Expired | SessionError::NotYetValid => {}
                SessionError::Issuer | SessionError::Audience | SessionError::Claims | SessionError::KeysUnavailable => {}
            }
        }
        all
    }

    /// Every `(status, code)` the functions can answer appears in a row of docs/answers.md
    /// (which the e2e suite then makes happen, row by row).
    #[test]
    fn every_answer_the_code_can_give_is_documented() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/answers.md")).unwrap();
        let rows: Vec<(String, String)> = doc
            .lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l.trim().trim_matches('|').split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                Some((cells[0].to_string(), code.to_string()))
            })
            .collect();
        assert!(rows.len() > 40, "only {} rows parsed", rows.len());
        let documented = |status: u16, code: &str| rows.iter().any(|(s, c)| *s == status.to_string() && c == code);
        let mut missing = Vec::new();
        for e in every_error() {
            if !documented(e.status(), e.code()) {
                missing.push(format!("{} {} ({e:?})", e.status(), e.code()));
            }
        }
        for o in [
            Outcome::Synced,
            Outcome::Unchanged,
            Outcome::Skipped,
            Outcome::Cleared,
            Outcome::AlreadyClear,
            Outcome::NotOwned,
            Outcome::Stale,
            Outcome::Conflict,
        ] {
            match o {
                Outcome::Synced | Outcome::Unchanged | Outcome::Skipped | Outcome::Cleared => {}
                Outcome::AlreadyClear | Outcome::NotOwned | Outcome::Stale | Outcome::Conflict => {}
            }
            if !documented(o.status(), o.as_str()) {
                missing.push(format!("{} {}", o.status(), o.as_str()));
            }
        }
        for code in [crate::reconcile::BUDGET_EXHAUSTED, "invalid_rule"] {
            if !rows.iter().any(|(s, c)| s == "detail" && c == code) {
                missing.push(format!("reconcile detail {code}"));
            }
        }
        assert!(missing.is_empty(), "answers docs/answers.md does not document:\n{}", missing.join("\n"));
    }

    #[test]
    fn upstream_failures_ask_sanity_to_retry_and_rule_errors_do_not() {
        let t = Error::Idp(IdpError::Upstream(UpstreamError::Timeout { service: "stytch" }));
        assert_eq!(t.status(), 504);
        let s = Error::Idp(IdpError::Upstream(UpstreamError::Status {
            service: "stytch",
            status: 500,
            body: String::new(),
            retry_after: None,
        }));
        assert_eq!(s.status(), 503);
        let r = Error::Idp(IdpError::Upstream(UpstreamError::Status {
            service: "stytch",
            status: 429,
            body: String::new(),
            retry_after: None,
        }));
        assert_eq!(r.status(), 503);
        assert_eq!(Error::InvalidRule(RuleError("x".into())).status(), 422);
        assert_eq!(Error::Signature(SignatureError::Stale).status(), 401);
        assert_eq!(Error::Signature(SignatureError::Stale).code(), "invalid_signature");
        assert!(!t.public_message().contains("stytch.com"));
    }
}
