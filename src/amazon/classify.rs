//! How the kernel reads SP-API answers.
//!
//! * 2xx: success.
//! * 429 `QuotaExceeded`: throttled — retried with full jitter, and the bucket slows down. Amazon
//!   sends no rate header and no `Retry-After` on a 429.
//! * 403 whose error says the access token expired (or is revoked/malformed/invalid): refresh the
//!   token once and retry. 403 "The security token included in the request is expired" is an
//!   AWS-side incident: retried. Any other 403: permission denied (a missing role, the wrong
//!   region's endpoint).
//! * 401 (Tokens API): refresh once.
//! * 408/500/502/503/504: retried.
//! * Other 4xx: rejected, with Amazon's `errors[{code,message,details}]` as issues.
//!
//! The request id comes from `x-amzn-RequestId`; `x-amzn-RateLimit-Limit` re-seeds the bucket.

use http::{HeaderMap, StatusCode};

use super::wire::{ApiError, ErrorList};
use crate::core::redact_text;
use crate::error::Issue;
use crate::http::{Classification, Classify, FailKind, FailReason, body_message};

/// The SP-API classifier.
#[derive(Debug, Clone, Copy)]
pub struct AmazonClassifier {
    /// The fraction of an advertised `x-amzn-RateLimit-Limit` the bucket is re-seeded with
    /// (see [`AmazonConfig::rate_safety_factor`](super::AmazonConfig::rate_safety_factor)).
    pub rate_safety_factor: f64,
}

impl Default for AmazonClassifier {
    fn default() -> Self {
        Self {
            rate_safety_factor: 1.0,
        }
    }
}

impl AmazonClassifier {
    /// A classifier re-seeding buckets at `factor` × the advertised rate.
    pub fn with_rate_safety_factor(factor: f64) -> Self {
        Self {
            rate_safety_factor: factor,
        }
    }
}

/// The `errors` of an SP-API error body (empty when the body is not one).
pub fn errors_of(body: &[u8]) -> Vec<ApiError> {
    serde_json::from_slice::<ErrorList>(body)
        .map(|l| l.errors)
        .unwrap_or_default()
}

/// Amazon's errors as crate issues.
pub fn issues_of(errors: &[ApiError]) -> Vec<Issue> {
    errors
        .iter()
        .map(|e| {
            let mut message = e.message.clone().unwrap_or_default();
            if let Some(d) = e
                .details
                .as_deref()
                .filter(|d| !d.is_empty() && *d != message)
            {
                if message.is_empty() {
                    message = d.to_string();
                } else {
                    message = format!("{message} ({d})");
                }
            }
            Issue {
                field: None,
                code: e.code.clone(),
                message: redact_text(&message),
                severity: Some("ERROR".into()),
            }
        })
        .collect()
}

fn mentions(errors: &[ApiError], needle: &str) -> bool {
    errors.iter().any(|e| {
        [e.message.as_deref(), e.details.as_deref()]
            .into_iter()
            .flatten()
            .any(|t| t.to_ascii_lowercase().contains(needle))
    })
}

impl Classify for AmazonClassifier {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Classification {
        let code = status.as_u16();
        match code {
            200..=299 => return Classification::Success,
            429 => return Classification::throttled(headers),
            408 | 500 | 502 | 503 | 504 => return Classification::transient(headers),
            401 => return Classification::RefreshAuthThenRetry,
            _ => {}
        }
        let errors = errors_of(body);
        let message = self.error_message(status, body);
        if code == 403 {
            if mentions(&errors, "access token you provided has expired")
                || mentions(&errors, "access token you provided is revoked")
            {
                return Classification::RefreshAuthThenRetry;
            }
            if mentions(&errors, "security token included in the request is expired") {
                return Classification::Retry {
                    after: None,
                    throttled: false,
                };
            }
            return Classification::Fail(FailReason {
                kind: FailKind::PermissionDenied,
                message: format!(
                    "{message} — check that the app has the role this operation needs, that the seller authorised it, and that the client uses the endpoint of the marketplace's region"
                ),
                issues: issues_of(&errors),
            });
        }
        let kind = if (400..500).contains(&code) {
            FailKind::Rejected
        } else {
            FailKind::Other
        };
        Classification::Fail(FailReason {
            kind,
            message,
            issues: issues_of(&errors),
        })
    }

    fn rate_limit(&self, headers: &HeaderMap) -> Option<f64> {
        headers
            .get("x-amzn-ratelimit-limit")?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| r * self.rate_safety_factor)
    }

    fn request_id(&self, headers: &HeaderMap) -> Option<String> {
        ["x-amzn-requestid", "x-amz-request-id", "x-amz-id-2"]
            .iter()
            .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
            .map(str::to_string)
    }

    fn error_message(&self, status: StatusCode, body: &[u8]) -> String {
        let errors = errors_of(body);
        if errors.is_empty() {
            return body_message(status, body);
        }
        let parts: Vec<String> = issues_of(&errors)
            .iter()
            .map(|i| match &i.code {
                Some(c) => format!("{c}: {}", i.message),
                None => i.message.clone(),
            })
            .collect();
        format!("HTTP {}: {}", status.as_u16(), parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: u16, body: &str) -> Classification {
        AmazonClassifier::default().classify(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn amazon_statuses() {
        assert_eq!(c(200, ""), Classification::Success);
        assert!(matches!(
            c(
                429,
                r#"{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.","details":""}]}"#
            ),
            Classification::Retry {
                throttled: true,
                after: None
            }
        ));
        assert_eq!(
            c(
                403,
                r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":"The access token you provided has expired."}]}"#
            ),
            Classification::RefreshAuthThenRetry
        );
        assert_eq!(
            c(
                403,
                r#"{"errors":[{"code":"Unauthorized","message":"The access token you provided has expired."}]}"#
            ),
            Classification::RefreshAuthThenRetry
        );
        match c(
            403,
            r#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":""}]}"#,
        ) {
            Classification::Fail(r) => {
                assert_eq!(r.kind, FailKind::PermissionDenied);
                assert!(r.message.contains("role"), "{}", r.message);
            }
            other => panic!("{other:?}"),
        }
        match c(
            400,
            r#"{"errors":[{"code":"InvalidInput","message":"Invalid Input","details":"bad date"}]}"#,
        ) {
            Classification::Fail(r) => {
                assert_eq!(r.kind, FailKind::Rejected);
                assert_eq!(r.issues[0].code.as_deref(), Some("InvalidInput"));
                assert_eq!(r.issues[0].message, "Invalid Input (bad date)");
            }
            other => panic!("{other:?}"),
        }
        // `message` may be null and `code` numeric.
        match c(400, r#"{"errors":[{"code":"400","message":null}]}"#) {
            Classification::Fail(r) => assert_eq!(r.issues[0].code.as_deref(), Some("400")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c(503, ""),
            Classification::Retry {
                throttled: false,
                ..
            }
        ));
    }

    #[test]
    fn headers() {
        let mut h = HeaderMap::new();
        h.insert("x-amzn-RateLimit-Limit", "0.0167".parse().unwrap());
        h.insert("x-amzn-RequestId", "abc-1".parse().unwrap());
        let c = AmazonClassifier::default();
        assert_eq!(c.rate_limit(&h), Some(0.0167));
        assert_eq!(c.request_id(&h).as_deref(), Some("abc-1"));
        let half = AmazonClassifier::with_rate_safety_factor(0.5)
            .rate_limit(&h)
            .unwrap();
        assert!((half - 0.00835).abs() < 1e-12);
        h.insert("x-amzn-RateLimit-Limit", "nope".parse().unwrap());
        assert_eq!(c.rate_limit(&h), None);
    }
}
