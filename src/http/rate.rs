use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota as GovernorQuota, RateLimiter};

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

/// A token bucket: `rate` requests per second refill a bucket of `burst` requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Sustained requests per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

impl Quota {
    /// `rate` per second with a bucket of `burst`.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: burst.max(1),
        }
    }
}

/// Identifies one bucket: an account (seller + region, tenant, store) and an operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketKey {
    /// The account.
    pub account: String,
    /// The operation.
    pub operation: String,
}

impl BucketKey {
    /// A key.
    pub fn new(account: impl Into<String>, operation: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            operation: operation.into(),
        }
    }
}

/// Slow-down applied after a 429, recovered step by step on success.
const THROTTLE_FACTOR: f64 = 0.7;
const MIN_FACTOR: f64 = 0.1;
const RECOVERY_STEP: f64 = 0.05;

struct BucketState {
    /// The operation's quota (published, or re-seeded from the server's header), unscaled.
    quota: Quota,
    /// Multiplier applied after throttling (1.0 = full rate).
    factor: f64,
    limiter: Arc<Limiter>,
}

struct Bucket {
    state: RwLock<BucketState>,
}

fn build_limiter(rate: f64, burst: u32, drained: bool) -> Option<Arc<Limiter>> {
    if !(rate.is_finite() && rate > 0.0) {
        return None;
    }
    let period = Duration::from_secs_f64(1.0 / rate);
    let quota = GovernorQuota::with_period(period)?.allow_burst(NonZeroU32::new(burst.max(1))?);
    let limiter = Arc::new(RateLimiter::direct(quota));
    if drained {
        // A replacement bucket starts empty: its predecessor's tokens were already spent, and a
        // fresh full bucket would let a burst through right after the server asked us to slow down.
        let _ = limiter.check_n(NonZeroU32::new(burst.max(1))?);
    }
    Some(limiter)
}

/// Per-(account, operation) rate buckets on `governor`, seeded from a per-operation table,
/// re-seeded from the server's advertised rate, and slowed down after throttling.
///
/// Operations without a quota are not limited.
pub struct RateLimits {
    defaults: RwLock<HashMap<String, Quota>>,
    buckets: Mutex<HashMap<BucketKey, Arc<Bucket>>>,
    time_scale: RwLock<f64>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("defaults", &self.defaults)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimits {
    /// No quotas.
    pub fn new() -> Self {
        Self {
            defaults: RwLock::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            time_scale: RwLock::new(1.0),
        }
    }

    /// Sets the default quota of `operation` for every account (existing buckets keep theirs).
    pub fn set_quota(&self, operation: impl Into<String>, quota: Quota) {
        self.defaults
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(operation.into(), quota);
    }

    /// Runs every rate `scale` times faster (simulators: an hour of limits in a minute at 60).
    /// Quotas and rates observed from headers are both multiplied.
    pub fn set_time_scale(&self, scale: f64) {
        if scale.is_finite() && scale > 0.0 {
            *self.time_scale.write().unwrap_or_else(|p| p.into_inner()) = scale;
        }
    }

    fn scale(&self) -> f64 {
        *self.time_scale.read().unwrap_or_else(|p| p.into_inner())
    }

    fn bucket(&self, key: &BucketKey) -> Option<Arc<Bucket>> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = buckets.get(key) {
            return Some(b.clone());
        }
        let quota = *self
            .defaults
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key.operation)?;
        let limiter = build_limiter(quota.rate * self.scale(), quota.burst, false)?;
        let b = Arc::new(Bucket {
            state: RwLock::new(BucketState {
                quota,
                factor: 1.0,
                limiter,
            }),
        });
        buckets.insert(key.clone(), b.clone());
        Some(b)
    }

    /// The bucket's current quota (unscaled, after any re-seed), and its slow-down factor.
    pub fn current(&self, key: &BucketKey) -> Option<(Quota, f64)> {
        let b = self.bucket(key)?;
        let s = b.state.read().unwrap_or_else(|p| p.into_inner());
        Some((s.quota, s.factor))
    }

    /// Waits until the bucket grants one request.
    pub async fn acquire(&self, key: &BucketKey) {
        let Some(bucket) = self.bucket(key) else {
            return;
        };
        loop {
            let limiter = bucket
                .state
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .limiter
                .clone();
            match limiter.check() {
                Ok(()) => return,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(limiter.clock().now());
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
            }
        }
    }

    /// The server advertised `rate` requests per second for this bucket (e.g.
    /// `x-amzn-RateLimit-Limit`): re-seed the bucket when it differs by more than 1 %.
    pub fn observe_rate(&self, key: &BucketKey, rate: f64) {
        if !(rate.is_finite() && rate > 0.0) {
            return;
        }
        let Some(bucket) = self.bucket_or_new(key, rate) else {
            return;
        };
        let mut s = bucket.state.write().unwrap_or_else(|p| p.into_inner());
        if ((s.quota.rate - rate) / s.quota.rate).abs() <= 0.01 {
            return;
        }
        tracing::debug!(operation = %key.operation, old = s.quota.rate, new = rate, "server re-seeded the rate");
        s.quota.rate = rate;
        if let Some(l) = build_limiter(rate * s.factor * self.scale(), s.quota.burst, true) {
            s.limiter = l;
        }
    }

    fn bucket_or_new(&self, key: &BucketKey, rate: f64) -> Option<Arc<Bucket>> {
        if let Some(b) = self.bucket(key) {
            return Some(b);
        }
        // No published quota: the server's advertised rate becomes the bucket (burst 1).
        let limiter = build_limiter(rate * self.scale(), 1, false)?;
        let b = Arc::new(Bucket {
            state: RwLock::new(BucketState {
                quota: Quota::new(rate, 1),
                factor: 1.0,
                limiter,
            }),
        });
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), b.clone());
        Some(b)
    }

    /// The server throttled a request of this bucket: slow it down (×0.7, at least 10 % of the
    /// quota) and empty it.
    pub fn throttled(&self, key: &BucketKey) {
        let Some(bucket) = self.bucket(key) else {
            return;
        };
        let mut s = bucket.state.write().unwrap_or_else(|p| p.into_inner());
        s.factor = (s.factor * THROTTLE_FACTOR).max(MIN_FACTOR);
        if let Some(l) = build_limiter(s.quota.rate * s.factor * self.scale(), s.quota.burst, true)
        {
            s.limiter = l;
        }
    }

    /// A request of this bucket succeeded: recover a step of any slow-down.
    pub fn succeeded(&self, key: &BucketKey) {
        let Some(bucket) = self.bucket(key) else {
            return;
        };
        {
            let s = bucket.state.read().unwrap_or_else(|p| p.into_inner());
            if s.factor >= 1.0 {
                return;
            }
        }
        let mut s = bucket.state.write().unwrap_or_else(|p| p.into_inner());
        s.factor = (s.factor + RECOVERY_STEP).min(1.0);
        if let Some(l) = build_limiter(s.quota.rate * s.factor * self.scale(), s.quota.burst, true)
        {
            s.limiter = l;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn burst_then_rate() {
        let limits = RateLimits::new();
        limits.set_quota("op", Quota::new(20.0, 3));
        let key = BucketKey::new("acct", "op");
        let start = Instant::now();
        for _ in 0..3 {
            limits.acquire(&key).await;
        }
        assert!(start.elapsed() < Duration::from_millis(40));
        for _ in 0..4 {
            limits.acquire(&key).await;
        }
        // Four more at 20/s need about 200 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(150),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn unknown_operations_are_unlimited_and_throttle_slows_down() {
        let limits = RateLimits::new();
        limits.acquire(&BucketKey::new("a", "free")).await;
        limits.set_quota("op", Quota::new(10.0, 1));
        let key = BucketKey::new("a", "op");
        limits.throttled(&key);
        let (q, f) = limits.current(&key).unwrap();
        assert_eq!(q.rate, 10.0);
        assert!((f - 0.7).abs() < 1e-9);
        limits.succeeded(&key);
        assert!((limits.current(&key).unwrap().1 - 0.75).abs() < 1e-9);
    }
}
