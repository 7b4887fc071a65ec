//! The crate's one error type.
//!
//! Every failure answers one question for the caller through [`Error::kind`]: retry later
//! ([`ErrorKind::Transient`]), refresh authentication and retry ([`ErrorKind::AuthExpired`]), or
//! give up on this record ([`ErrorKind::Permanent`]). Messages name the operation, the HTTP status,
//! the provider's request id and the record where they are known, and never contain a secret.

use std::fmt;
use std::time::Duration;

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Try again later (throttling, 5xx, a dropped connection, a lease held elsewhere).
    Transient,
    /// The credential expired or was revoked: refresh it, then retry once.
    AuthExpired,
    /// Retrying will not help: the record, the configuration or the credentials must change.
    Permanent,
}

/// One field-level issue reported by a remote system (QAD `submitResult` messages, Amazon
/// listing issues, Adobe Commerce parameter errors).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Issue {
    /// The remote system's field name, when it gave one.
    pub field: Option<String>,
    /// The remote system's code, when it gave one.
    pub code: Option<String>,
    /// The human message.
    pub message: String,
    /// `ERROR`, `WARNING`, … as the remote system said.
    pub severity: Option<String>,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        Ok(())
    }
}

/// Context shared by the HTTP-shaped variants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The operation, e.g. `amazon.searchOrders` or `qad.salesOrderHeaders.post`.
    pub op: String,
    /// The HTTP status of the last answer, if there was one.
    pub status: Option<u16>,
    /// The provider's request id (`x-amzn-RequestId`, …), if the answer carried one.
    pub request_id: Option<String>,
    /// The record the call was for (`adobe/orders/default:000000042`), if known.
    pub record: Option<String>,
}

impl Context {
    /// A context naming only the operation.
    pub fn op(op: impl Into<String>) -> Self {
        Self {
            op: op.into(),
            ..Self::default()
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.op)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status}")?;
            if let Some(id) = &self.request_id {
                write!(f, ", request id {id}")?;
            }
            f.write_str(")")?;
        } else if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        if let Some(record) = &self.record {
            write!(f, " for record {record}")?;
        }
        Ok(())
    }
}

fn issues_suffix(issues: &[Issue]) -> String {
    if issues.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = issues.iter().map(ToString::to_string).collect();
    format!(" — {}", parts.join("; "))
}

/// The crate's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The remote system answered with a status that will be retried or was given up on.
    #[error("{ctx}: {message}")]
    Http {
        /// Where it happened.
        ctx: Box<Context>,
        /// What the remote system said (secrets redacted, truncated).
        message: String,
        /// Transient or permanent.
        kind: ErrorKind,
        /// The delay the server asked for, if any.
        retry_after: Option<Duration>,
    },
    /// The connection failed or timed out before an answer arrived.
    #[error("{ctx}: transport error: {message}")]
    Transport {
        /// Where it happened.
        ctx: Box<Context>,
        /// What failed.
        message: String,
    },
    /// Retries ran out (attempt cap or retry budget).
    #[error("{ctx}: gave up after {attempts} attempt(s): {message}")]
    RetriesExhausted {
        /// Where it happened; `status` is the last status seen.
        ctx: Box<Context>,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
    /// Authentication failed.
    #[error("{ctx}: authentication failed: {message}")]
    Auth {
        /// Where it happened.
        ctx: Box<Context>,
        /// What failed and what to do about it.
        message: String,
        /// `true` when refreshing cannot help (revoked grant, wrong client secret).
        permanent: bool,
    },
    /// The remote system understood the request and refused it (QAD `success:false`, an
    /// Amazon listing `INVALID`, an Adobe Commerce 400). Not retried.
    #[error("{ctx}: rejected: {message}{}", issues_suffix(.issues))]
    Rejected {
        /// Where it happened.
        ctx: Box<Context>,
        /// Summary.
        message: String,
        /// Field-level issues as the remote system reported them.
        issues: Vec<Issue>,
    },
    /// The remote system forbids this operation for these credentials.
    #[error("{ctx}: permission denied: {message}")]
    PermissionDenied {
        /// Where it happened.
        ctx: Box<Context>,
        /// What to grant.
        message: String,
    },
    /// A POST's outcome is unknown (timeout after sending): it must not be re-sent before the
    /// sink's `find` has checked whether the document exists.
    #[error("{ctx}: outcome unknown: {message}")]
    Ambiguous {
        /// Where it happened.
        ctx: Box<Context>,
        /// What happened.
        message: String,
    },
    /// A setting is missing or wrong; the message names the setting and the fix.
    #[error("configuration `{setting}`: {message}")]
    Config {
        /// The setting to fix, e.g. `qad.base_url`.
        setting: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A record cannot be read or mapped; it is held (dead-lettered) until the fix is made.
    #[error("record {record}: {message}; fix: {fix}")]
    Data {
        /// The record, e.g. `adobe/orders/default:000000042`.
        record: String,
        /// What is wrong.
        message: String,
        /// What to change, e.g. `add SKU "WS12-M" to the SKU crosswalk (skus.toml)`.
        fix: String,
    },
    /// A dedup, audit or checkpoint store failed.
    #[error("{backend} store: {message}")]
    Store {
        /// `sqlite`, `postgres`, `redis`, `memory`.
        backend: &'static str,
        /// What failed.
        message: String,
        /// Whether retrying may help (a dropped connection) or not (a schema problem).
        transient: bool,
    },
    /// The credential vault failed (wrong master key, tampered ciphertext, unknown id).
    #[error("vault: {message}")]
    Vault {
        /// What failed; never contains key material.
        message: String,
    },
    /// The operation is not available on this system or tenant.
    #[error("{ctx}: not supported: {message}")]
    Unsupported {
        /// Where it happened.
        ctx: Box<Context>,
        /// Why, and what would enable it.
        message: String,
    },
}

impl Error {
    /// What the caller should do about this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Http { kind, .. } => *kind,
            Error::Transport { .. } => ErrorKind::Transient,
            Error::Auth {
                permanent: false, ..
            } => ErrorKind::AuthExpired,
            Error::Store {
                transient: true, ..
            } => ErrorKind::Transient,
            Error::RetriesExhausted { .. } => ErrorKind::Transient,
            Error::Ambiguous { .. } => ErrorKind::Transient,
            _ => ErrorKind::Permanent,
        }
    }

    /// `true` when a later retry may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), ErrorKind::Transient | ErrorKind::AuthExpired)
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP context of the error, if it has one.
    pub fn context(&self) -> Option<&Context> {
        match self {
            Error::Http { ctx, .. }
            | Error::Transport { ctx, .. }
            | Error::RetriesExhausted { ctx, .. }
            | Error::Auth { ctx, .. }
            | Error::Rejected { ctx, .. }
            | Error::PermissionDenied { ctx, .. }
            | Error::Ambiguous { ctx, .. }
            | Error::Unsupported { ctx, .. } => Some(ctx),
            _ => None,
        }
    }

    /// The HTTP status of the last answer, if any.
    pub fn status(&self) -> Option<u16> {
        self.context().and_then(|c| c.status)
    }

    /// Attaches the record the failing call was for (kept if one is already set).
    #[must_use]
    pub fn with_record(mut self, record: impl fmt::Display) -> Self {
        match &mut self {
            Error::Http { ctx, .. }
            | Error::Transport { ctx, .. }
            | Error::RetriesExhausted { ctx, .. }
            | Error::Auth { ctx, .. }
            | Error::Rejected { ctx, .. }
            | Error::PermissionDenied { ctx, .. }
            | Error::Ambiguous { ctx, .. }
            | Error::Unsupported { ctx, .. }
                if ctx.record.is_none() =>
            {
                ctx.record = Some(record.to_string());
            }
            _ => {}
        }
        self
    }

    /// A [`Error::Config`] naming the setting to fix.
    pub fn config(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            setting: setting.into(),
            message: message.into(),
        }
    }

    /// A [`Error::Data`] naming the record and the fix.
    pub fn data(
        record: impl fmt::Display,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error::Data {
            record: record.to_string(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// A permanent [`Error::Store`].
    pub fn store(backend: &'static str, message: impl fmt::Display) -> Self {
        Error::Store {
            backend,
            message: message.to_string(),
            transient: false,
        }
    }

    /// A transient [`Error::Store`] (connection dropped, pool exhausted, lock timeout).
    pub fn store_transient(backend: &'static str, message: impl fmt::Display) -> Self {
        Error::Store {
            backend,
            message: message.to_string(),
            transient: true,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Data {
            record: "(payload)".into(),
            message: format!("invalid JSON: {e}"),
            fix: "check the payload against the system's schema".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_operation_status_request_id_and_record() {
        let e = Error::RetriesExhausted {
            ctx: Context {
                op: "amazon.searchOrders".into(),
                status: Some(429),
                request_id: Some("abc-123".into()),
                record: None,
            }
            .into(),
            attempts: 5,
            message: "throttled".into(),
        }
        .with_record("amazon/orders/111-222");
        let s = e.to_string();
        assert!(s.contains("amazon.searchOrders"), "{s}");
        assert!(s.contains("HTTP 429"), "{s}");
        assert!(s.contains("abc-123"), "{s}");
        assert!(s.contains("amazon/orders/111-222"), "{s}");
        assert!(s.contains("5 attempt"), "{s}");
        assert_eq!(e.kind(), ErrorKind::Transient);
    }

    #[test]
    fn rejected_lists_issues_and_is_permanent() {
        let e = Error::Rejected {
            ctx: Context::op("qad.salesOrderHeaders.post").into(),
            message: "submitResult.success=false".into(),
            issues: vec![Issue {
                field: Some("itemCode".into()),
                code: Some("1234".into()),
                message: "Item does not exist".into(),
                severity: Some("ERROR".into()),
            }],
        };
        assert!(
            e.to_string()
                .contains("itemCode: Item does not exist [1234]")
        );
        assert_eq!(e.kind(), ErrorKind::Permanent);
        assert!(!e.is_retryable());
    }

    #[test]
    fn error_is_send_sync_static() {
        fn assert<T: Send + Sync + 'static + std::error::Error>() {}
        assert::<Error>();
    }
}
