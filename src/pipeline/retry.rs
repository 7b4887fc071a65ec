//! Classification helpers for the pipeline's per-document retries (the policy itself is the
//! kernel's [`RetryPolicy`](crate::http::RetryPolicy)).

use crate::error::Error;

/// `true` when the error is the remote system throttling (HTTP 429 or a `Retry-After`).
pub(crate) fn is_throttle(e: &Error) -> bool {
    e.status() == Some(429) || e.retry_after().is_some()
}
