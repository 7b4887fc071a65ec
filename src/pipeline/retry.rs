//! Bounded retries with full-jitter exponential backoff that honours `Retry-After`.

use std::time::Duration;

use crate::error::Error;

/// How often and how patiently transient failures (throttling, 5xx, dropped connections, store
/// hiccups) are retried before a document is given up and dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry). Default 5.
    pub max_attempts: u32,
    /// The first backoff ceiling; doubled per retry. Default 200 ms.
    pub base_delay: Duration,
    /// The largest backoff ceiling (a server's `Retry-After` may ask for more). Default 20 s.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// `true` while `failures` (so far) leave room for another attempt.
    pub fn allows_retry(&self, failures: u32) -> bool {
        failures < self.max_attempts
    }

    /// The pause before retry number `retry` (1-based): a uniformly random duration up to
    /// `min(max_delay, base_delay × 2^(retry-1))` ("full jitter"), but never less than the
    /// server's `Retry-After`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let ceiling = self
            .base_delay
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        let jittered = Duration::from_millis(fastrand::u64(0..=millis));
        match retry_after {
            Some(ra) => jittered.max(ra),
            None => jittered,
        }
    }
}

/// `true` when the error is the remote system throttling (HTTP 429 or a `Retry-After`).
pub(crate) fn is_throttle(e: &Error) -> bool {
    e.status() == Some(429) || e.retry_after().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_honour_retry_after() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
        };
        for _ in 0..200 {
            assert!(p.delay(1, None) <= Duration::from_millis(100));
            assert!(p.delay(3, None) <= Duration::from_millis(400));
            assert!(p.delay(9, None) <= Duration::from_millis(800));
            assert!(p.delay(40, None) <= Duration::from_millis(800));
            assert!(p.delay(1, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        }
        assert!(p.allows_retry(9));
        assert!(!p.allows_retry(10));
        assert!(!RetryPolicy::none().allows_retry(1));
    }
}
