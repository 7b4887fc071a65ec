//! How QAD's answers map onto the kernel's retry decisions.
//!
//! | answer | decision |
//! |---|---|
//! | 2xx, `submitResult.success=false` | **Rejected** with QAD's field names and messages; never retried |
//! | 2xx, QAD JSON otherwise | success (warnings are read by the sink) |
//! | 2xx, HTML or other non-JSON | failed: wrong path/context root or a login page |
//! | 401 | refresh the token once, then retry |
//! | 403 (bare `errors[]`) | **PermissionDenied**: the API user's role lacks the component |
//! | 408, 429, 5xx, transport | retry — the kernel re-sends only idempotent calls; a POST becomes `Ambiguous` and the sink checks with `find` |
//! | other 4xx | Rejected, with QAD's messages when the body has them |

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::wire::{Envelope, QadMessage, summarize};
use crate::http::{Classification, Classify, FailKind, FailReason, body_message};

/// The QAD classifier for business components and browses.
#[derive(Debug, Clone, Copy, Default)]
pub struct QadClassifier;

fn reason(kind: FailKind, message: String, messages: &[QadMessage]) -> Classification {
    Classification::Fail(FailReason {
        kind,
        message,
        issues: messages.iter().map(QadMessage::to_issue).collect(),
    })
}

impl Classify for QadClassifier {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Classification {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        match status.as_u16() {
            200..=299 => match &json {
                None if body.iter().all(u8::is_ascii_whitespace) => Classification::Success,
                None => Classification::fail(
                    FailKind::Other,
                    format!(
                        "QAD answered HTTP {} with a non-JSON body (an HTML page?): check qad.base_url (context root) and the registry path — {}",
                        status.as_u16(),
                        body_message(status, body)
                    ),
                ),
                Some(v) => match Envelope::of(v) {
                    Envelope::Rejected { errors } => reason(
                        FailKind::Rejected,
                        format!(
                            "QAD rejected the request (submitResult.success=false): {}",
                            summarize(&errors)
                        ),
                        &errors,
                    ),
                    _ => Classification::Success,
                },
            },
            401 => Classification::RefreshAuthThenRetry,
            403 => {
                let errors = json
                    .as_ref()
                    .map(|v| match Envelope::of(v) {
                        Envelope::Gateway { errors } | Envelope::Rejected { errors } => errors,
                        Envelope::Ok { warnings } => warnings,
                    })
                    .unwrap_or_default();
                let what = if errors.is_empty() {
                    body_message(status, body)
                } else {
                    summarize(&errors)
                };
                reason(
                    FailKind::PermissionDenied,
                    format!(
                        "{what} — grant the QAD API user's role access to this business component (Role Permissions → APIs), or disable the entity in the registry"
                    ),
                    &errors,
                )
            }
            429 => Classification::throttled(headers),
            408 | 500..=599 => Classification::transient(headers),
            400..=499 => match json.as_ref().map(Envelope::of) {
                Some(Envelope::Rejected { errors }) | Some(Envelope::Gateway { errors })
                    if !errors.is_empty() =>
                {
                    reason(
                        FailKind::Rejected,
                        format!("QAD refused the request: {}", summarize(&errors)),
                        &errors,
                    )
                }
                _ => Classification::fail(FailKind::Rejected, body_message(status, body)),
            },
            _ => Classification::fail(FailKind::Other, body_message(status, body)),
        }
    }
}

/// The classifier used by connect-time probes: every definite answer (including 403, 404, 405
/// and HTML) is handed back to the sink to judge; only 401 (refresh), throttling and 5xx are
/// acted on.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProbeClassifier;

impl Classify for ProbeClassifier {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Classification {
        match status.as_u16() {
            401 => Classification::RefreshAuthThenRetry,
            429 => Classification::throttled(headers),
            408 | 500..=599 => Classification::transient(headers),
            100..=499 => Classification::Success,
            _ => Classification::fail(FailKind::Other, body_message(status, body)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(status: u16, body: &str) -> Classification {
        QadClassifier.classify(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn business_errors_are_rejected_with_fields() {
        let c = classify(
            200,
            r#"{"submitResult":{"success":false,"errors":[{"fieldName":"itemCode","message":"Item number does not exist","code":"16"}]}}"#,
        );
        match c {
            Classification::Fail(FailReason {
                kind: FailKind::Rejected,
                issues,
                message,
            }) => {
                assert_eq!(issues[0].field.as_deref(), Some("itemCode"));
                assert!(message.contains("Item number does not exist"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            classify(200, r#"{"data":{},"submitResult":{"success":true}}"#),
            Classification::Success
        );
    }

    #[test]
    fn permission_auth_retry_and_html() {
        assert!(matches!(
            classify(
                403,
                r#"{"errors":[{"severity":1,"code":"403","message":"Access is denied","fieldName":""}]}"#
            ),
            Classification::Fail(FailReason {
                kind: FailKind::PermissionDenied,
                ref message,
                ..
            }) if message.contains("Access is denied") && message.contains("Role Permissions")
        ));
        assert_eq!(classify(401, ""), Classification::RefreshAuthThenRetry);
        assert!(matches!(
            classify(503, "busy"),
            Classification::Retry {
                throttled: false,
                ..
            }
        ));
        assert!(matches!(
            classify(200, "<html><body>Login</body></html>"),
            Classification::Fail(FailReason {
                kind: FailKind::Other,
                ref message,
                ..
            }) if message.contains("qad.base_url")
        ));
        assert!(matches!(
            classify(404, "<html/>"),
            Classification::Fail(FailReason {
                kind: FailKind::Rejected,
                ..
            })
        ));
        assert_eq!(
            ProbeClassifier.classify(StatusCode::NOT_FOUND, &HeaderMap::new(), b"<html/>"),
            Classification::Success
        );
    }
}
