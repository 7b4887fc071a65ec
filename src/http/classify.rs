use std::time::Duration;

use http::{HeaderMap, StatusCode};

use crate::core::redact_text;
use crate::error::{Context, Error, Issue};

/// What to do with an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Classification {
    /// Hand the answer to the caller.
    Success,
    /// Try again after a delay (`after`: what the server asked for).
    Retry {
        /// `Retry-After`, if the server gave one.
        after: Option<Duration>,
        /// `true` for throttling (429): the rate bucket slows down, and it is always safe to retry.
        throttled: bool,
    },
    /// The credential expired: refresh it once, then retry.
    RefreshAuthThenRetry,
    /// Give up.
    Fail(FailReason),
}

impl Classification {
    /// Throttling (429): retry after the server's `Retry-After`, if any, and slow the bucket.
    pub fn throttled(headers: &HeaderMap) -> Self {
        Self::Retry {
            after: parse_retry_after(headers),
            throttled: true,
        }
    }

    /// A transient failure (408, 5xx): retry after the server's `Retry-After`, if any.
    pub fn transient(headers: &HeaderMap) -> Self {
        Self::Retry {
            after: parse_retry_after(headers),
            throttled: false,
        }
    }

    /// Give up with `message` and no field-level issues.
    pub fn fail(kind: FailKind, message: impl Into<String>) -> Self {
        Self::Fail(FailReason::new(kind, message))
    }
}

/// Why a call failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailKind {
    /// The server understood and refused the request (validation / business error).
    Rejected,
    /// The credentials lack permission.
    PermissionDenied,
    /// Authentication failed; `permanent` when refreshing cannot help.
    Auth {
        /// Whether re-authorising is needed.
        permanent: bool,
    },
    /// Any other failure (unexpected status).
    Other,
}

/// A failure with its message and the remote system's field-level issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailReason {
    /// What kind of failure.
    pub kind: FailKind,
    /// Summary (secrets redacted).
    pub message: String,
    /// Field-level issues.
    pub issues: Vec<Issue>,
}

impl FailReason {
    /// A reason without issues.
    pub fn new(kind: FailKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            issues: Vec::new(),
        }
    }

    /// The crate error for this reason in `ctx`.
    pub fn into_error(self, ctx: Context) -> Error {
        match self.kind {
            FailKind::Rejected => Error::Rejected {
                ctx: ctx.into(),
                message: self.message,
                issues: self.issues,
            },
            FailKind::PermissionDenied => Error::PermissionDenied {
                ctx: ctx.into(),
                message: self.message,
            },
            FailKind::Auth { permanent } => Error::Auth {
                ctx: ctx.into(),
                message: self.message,
                permanent,
            },
            FailKind::Other => Error::Http {
                ctx: ctx.into(),
                message: self.message,
                kind: crate::ErrorKind::Permanent,
                retry_after: None,
            },
        }
    }
}

/// A per-system view of answers: success, retry, refresh auth, or fail.
pub trait Classify: Send + Sync {
    /// Classifies one answer.
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Classification;

    /// The provider's request id.
    fn request_id(&self, headers: &HeaderMap) -> Option<String> {
        [
            "x-amzn-requestid",
            "x-request-id",
            "x-correlation-id",
            "x-qad-request-id",
        ]
        .iter()
        .find_map(|h| {
            headers
                .get(*h)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
    }

    /// The rate the server advertises for this operation (requests per second), if any.
    fn rate_limit(&self, _headers: &HeaderMap) -> Option<f64> {
        None
    }

    /// A short, redacted message for a failed answer.
    fn error_message(&self, status: StatusCode, body: &[u8]) -> String {
        body_message(status, body)
    }
}

/// `HTTP 503 Service Unavailable: <first 300 bytes of the body, redacted>`.
pub fn body_message(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut snippet: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        snippet.push('…');
    }
    let reason = status.canonical_reason().unwrap_or("");
    if snippet.is_empty() {
        format!("HTTP {} {reason}", status.as_u16())
    } else {
        format!(
            "HTTP {} {reason}: {}",
            status.as_u16(),
            redact_text(&snippet)
        )
    }
}

/// Parses `Retry-After` (delta-seconds, possibly fractional, or an HTTP date).
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// The HTTP-status classifier shared by all systems: 2xx success; 429 throttled (honouring
/// `Retry-After`); 408, 500, 502, 503, 504 retried; 401 refresh auth once; 403 permission denied;
/// any other status rejected.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultClassifier;

impl Classify for DefaultClassifier {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Classification {
        match status.as_u16() {
            200..=299 => Classification::Success,
            429 => Classification::throttled(headers),
            408 | 500 | 502 | 503 | 504 => Classification::transient(headers),
            401 => Classification::RefreshAuthThenRetry,
            403 => Classification::fail(FailKind::PermissionDenied, body_message(status, body)),
            400..=499 => Classification::fail(FailKind::Rejected, body_message(status, body)),
            _ => Classification::fail(FailKind::Other, body_message(status, body)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after", "0.5".parse().unwrap());
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(500)));
        let future = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        h.insert("retry-after", future.parse().unwrap());
        let d = parse_retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
    }

    #[test]
    fn default_classifier_maps_statuses() {
        let c = DefaultClassifier;
        let h = HeaderMap::new();
        assert_eq!(c.classify(StatusCode::OK, &h, b""), Classification::Success);
        assert!(matches!(
            c.classify(StatusCode::TOO_MANY_REQUESTS, &h, b""),
            Classification::Retry {
                throttled: true,
                ..
            }
        ));
        assert!(matches!(
            c.classify(StatusCode::BAD_GATEWAY, &h, b""),
            Classification::Retry {
                throttled: false,
                ..
            }
        ));
        assert_eq!(
            c.classify(StatusCode::UNAUTHORIZED, &h, b""),
            Classification::RefreshAuthThenRetry
        );
        assert!(matches!(
            c.classify(StatusCode::FORBIDDEN, &h, b""),
            Classification::Fail(FailReason {
                kind: FailKind::PermissionDenied,
                ..
            })
        ));
        assert!(
            matches!(c.classify(StatusCode::BAD_REQUEST, &h, b"{\"password\":\"x\"}"), Classification::Fail(FailReason { kind: FailKind::Rejected, ref message, .. }) if !message.contains("\"x\""))
        );
    }
}
