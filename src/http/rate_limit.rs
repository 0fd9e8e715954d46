//! Token-bucket rate limiting per client, with the standard headers on every limited response.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::clock::SharedClock;

/// A bucket of `capacity` tokens refilled at `per_second`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub capacity: u32,
    pub per_second: f64,
}

/// The verdict for one request, with what the headers report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again (`X-RateLimit-Reset`).
    pub reset_seconds: u64,
    /// Seconds until the next request would be allowed (`Retry-After`), when refused.
    pub retry_after_seconds: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

/// Most clients tracked; when full, buckets that have refilled completely are dropped.
const MAX_TRACKED: usize = 100_000;

pub struct RateLimiter {
    limit: Limit,
    clock: SharedClock,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: Limit, clock: SharedClock) -> Self {
        Self {
            limit,
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, client: IpAddr) -> Decision {
        let now = self.clock.now().as_millisecond();
        let Limit {
            capacity,
            per_second,
        } = self.limit;
        let cap = f64::from(capacity);
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere; fail open rather than lock everyone out.
            return Decision {
                allowed: true,
                limit: capacity,
                remaining: capacity,
                reset_seconds: 0,
                retry_after_seconds: 0,
            };
        };
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&client) {
            buckets
                .retain(|_, b| b.tokens + (now - b.updated_ms) as f64 / 1000.0 * per_second < cap);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: cap,
            updated_ms: now,
        });
        let elapsed = (now - bucket.updated_ms).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(cap);
        bucket.updated_ms = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let missing = cap - bucket.tokens;
        Decision {
            allowed,
            limit: capacity,
            remaining: bucket.tokens.floor() as u32,
            reset_seconds: (missing / per_second).ceil() as u64,
            retry_after_seconds: if allowed {
                0
            } else {
                ((1.0 - bucket.tokens) / per_second).ceil().max(1.0) as u64
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn refuses_past_capacity_and_refills_over_time() {
        let clock = Arc::new(ManualClock::new(
            jiff::Timestamp::from_second(1_800_000_000).unwrap(),
        ));
        let limiter = RateLimiter::new(
            Limit {
                capacity: 3,
                per_second: 1.0,
            },
            clock.clone(),
        );
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for remaining in [2, 1, 0] {
            let d = limiter.check(ip);
            assert!(d.allowed);
            assert_eq!(d.remaining, remaining);
        }
        let refused = limiter.check(ip);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_seconds, 1);
        assert!(
            limiter.check(other).allowed,
            "clients have separate buckets"
        );
        clock.advance(std::time::Duration::from_secs(1));
        assert!(limiter.check(ip).allowed);
    }
}
