use std::sync::Mutex;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// How often and how long to retry one call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 5).
    pub max_attempts: u32,
    /// The first backoff ceiling (default 250 ms); it doubles per attempt.
    pub base_delay: Duration,
    /// The largest backoff ceiling (default 30 s).
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured (default 120 s); longer requests are capped.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// The exponential series of backoff ceilings of one call (from `backon`).
pub(crate) type Ceilings = backon::ExponentialBackoff;

impl RetryPolicy {
    /// A policy with `max_attempts` attempts and the default delays.
    pub fn with_attempts(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            ..Self::default()
        }
    }

    /// Sets the delays.
    #[must_use]
    pub fn delays(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    pub(crate) fn ceilings(&self) -> Ceilings {
        ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .without_max_times()
            .build()
    }

    /// The next delay: the server's `Retry-After` (capped, plus up to 10 % jitter so waiting
    /// clients do not return in lockstep), else full jitter — uniform in `[0, ceiling]` where the
    /// ceiling doubles per attempt up to `max_delay`.
    pub(crate) fn next_delay(
        &self,
        ceilings: &mut Ceilings,
        retry_after: Option<Duration>,
    ) -> Duration {
        let ceiling = ceilings.next().unwrap_or(self.max_delay);
        self.jitter(ceiling, retry_after)
    }

    /// The pause before retry number `retry` (1-based) of work retried outside the HTTP kernel
    /// (the pipeline's per-document retries): the same full jitter and `Retry-After` rule.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self
            .ceilings()
            .nth(retry.saturating_sub(1) as usize)
            .unwrap_or(self.max_delay);
        self.jitter(ceiling, retry_after)
    }

    /// No retries at all.
    pub fn none() -> Self {
        Self::with_attempts(1)
    }

    /// `true` while `failures` so far leave room for another attempt.
    pub fn allows_retry(&self, failures: u32) -> bool {
        failures < self.max_attempts
    }

    fn jitter(&self, ceiling: Duration, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(after) => {
                let after = after.min(self.max_retry_after);
                after + after.mul_f64(fastrand::f64() * 0.1)
            }
            None => ceiling.mul_f64(fastrand::f64()),
        }
    }
}

/// A client-wide brake on retries (after smithy-rs): each retry withdraws tokens, each success
/// refunds one. When the budget is empty the kernel stops retrying, so an outage does not
/// multiply traffic.
#[derive(Debug)]
pub struct RetryBudget {
    capacity: u32,
    throttle_cost: u32,
    failure_cost: u32,
    tokens: Mutex<u32>,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new(500, 5, 10)
    }
}

impl RetryBudget {
    /// A budget of `capacity` tokens; a retry after throttling costs `throttle_cost`, after any
    /// other failure `failure_cost`.
    pub fn new(capacity: u32, throttle_cost: u32, failure_cost: u32) -> Self {
        Self {
            capacity,
            throttle_cost,
            failure_cost,
            tokens: Mutex::new(capacity),
        }
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        *self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the cost of one retry; `false` when the budget cannot pay it.
    pub fn withdraw(&self, throttled: bool) -> bool {
        let cost = if throttled {
            self.throttle_cost
        } else {
            self.failure_cost
        };
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if *t >= cost {
            *t -= cost;
            true
        } else {
            false
        }
    }

    /// Returns one token after a success.
    pub fn refund(&self) {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        *t = (*t + 1).min(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_under_a_doubling_ceiling() {
        let p = RetryPolicy::default().delays(Duration::from_millis(100), Duration::from_secs(1));
        let mut c = p.ceilings();
        let mut maxes = Vec::new();
        for _ in 0..6 {
            maxes.push(p.next_delay(&mut c, None));
        }
        let caps = [100u64, 200, 400, 800, 1000, 1000];
        for (d, cap) in maxes.iter().zip(caps) {
            assert!(*d <= Duration::from_millis(cap), "{d:?} > {cap}ms");
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default();
        let mut c = p.ceilings();
        let d = p.next_delay(&mut c, Some(Duration::from_secs(1)));
        assert!(d >= Duration::from_secs(1) && d <= Duration::from_millis(1100));
        let d = p.next_delay(&mut c, Some(Duration::from_secs(3600)));
        assert!(d <= p.max_retry_after.mul_f64(1.1));
    }

    #[test]
    fn stateless_delays_follow_the_same_rule() {
        let p = RetryPolicy::with_attempts(10)
            .delays(Duration::from_millis(100), Duration::from_millis(800));
        for _ in 0..100 {
            assert!(p.delay(1, None) <= Duration::from_millis(100));
            assert!(p.delay(3, None) <= Duration::from_millis(400));
            assert!(p.delay(40, None) <= Duration::from_millis(800));
            assert!(p.delay(1, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
        }
        assert!(p.allows_retry(9));
        assert!(!p.allows_retry(10));
        assert!(!RetryPolicy::none().allows_retry(1));
    }

    #[test]
    fn budget_runs_out_and_refills() {
        let b = RetryBudget::new(20, 5, 10);
        assert!(b.withdraw(false));
        assert!(b.withdraw(false));
        assert!(!b.withdraw(true));
        b.refund();
        b.refund();
        b.refund();
        b.refund();
        b.refund();
        assert!(b.withdraw(true));
    }
}
