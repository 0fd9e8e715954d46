//! Rate limits shared by the whole server: token buckets per (limit, key), where the key is a
//! client address or an account. The limits themselves come from the runtime settings; the web
//! layer turns a [`Decision`] into `X-RateLimit-*` and `Retry-After` headers.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::clock::SharedClock;

/// The key per-address limits count under: an IPv4 address as it is, an IPv6 address by its
/// /64 (one subscriber usually holds a whole /64, so counting single IPv6 addresses would give
/// each client billions of buckets). IPv4-mapped IPv6 addresses count as their IPv4 address.
pub fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

/// A bucket of `capacity` tokens refilled at `per_second`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub capacity: u32,
    pub per_second: f64,
}

impl Limit {
    /// `count` requests per `window_seconds`, all of which may come at once.
    pub fn per_window(count: u32, window_seconds: u32) -> Self {
        let count = count.max(1);
        Self {
            capacity: count,
            per_second: f64::from(count) / f64::from(window_seconds.max(1)),
        }
    }
}

/// Which limit a bucket belongs to; each has its own buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    Api,
    SignInAccount,
    SignInAddress,
    SignUpAddress,
    PasswordReset,
    Upload,
    /// Second-step codes per account, so many addresses cannot share the guessing.
    SecondFactorAccount,
    /// Passwordless sign-in ceremonies started per address.
    PasskeyStart,
    /// Reports filed per member.
    Report,
    /// Stories shared per member.
    Story,
    /// Conversations started per member.
    Conversation,
    /// Messages sent per member.
    Message,
    /// Test calls to a member's webhook (each is a request to another server).
    WebhookTest,
    /// Records created per member.
    Record,
    /// Comments on records written per member.
    RecordComment,
    /// Record imports (and dry runs) per member.
    RecordImport,
    /// Changes to records (edits and status moves) per member.
    RecordEdit,
    /// Files added to records per member.
    RecordFile,
}

/// Unix milliseconds rounded up to whole seconds.
fn ceil_seconds(ms: i64) -> i64 {
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)
}

/// The verdict for one request, with what the headers report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// When the bucket is full again, as a Unix time in seconds (`X-RateLimit-Reset`).
    pub reset_at: i64,
    /// Seconds until the next request would be allowed (`Retry-After`), when refused.
    pub retry_after_seconds: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
    /// When the bucket is full again: from then on it holds nothing a new bucket would not.
    full_at_ms: i64,
}

/// Most buckets kept, over all limits. Reaching it drops the buckets that have refilled, and
/// if that is not enough the least recently used quarter, so each sweep makes room for many
/// new clients and a flood of addresses costs amortised constant time per request.
const MAX_TRACKED: usize = 200_000;

/// One map per limit, so a lookup borrows the key instead of building a `(kind, String)`.
#[derive(Default)]
struct Buckets {
    by_kind: HashMap<LimitKind, HashMap<Box<str>, Bucket>>,
    len: usize,
}

impl Buckets {
    fn make_room(&mut self, now: i64) {
        for map in self.by_kind.values_mut() {
            map.retain(|_, b| b.full_at_ms > now);
        }
        self.len = self.by_kind.values().map(HashMap::len).sum();
        let keep = MAX_TRACKED / 4 * 3;
        if self.len > keep {
            let mut times: Vec<i64> = self
                .by_kind
                .values()
                .flat_map(|m| m.values().map(|b| b.updated_ms))
                .collect();
            let drop = self.len - keep;
            let (_, cutoff, _) = times.select_nth_unstable(drop - 1);
            let cutoff = *cutoff;
            for map in self.by_kind.values_mut() {
                map.retain(|_, b| b.updated_ms > cutoff);
            }
            self.len = self.by_kind.values().map(HashMap::len).sum();
        }
    }
}

pub struct RateLimiter {
    clock: SharedClock,
    buckets: Mutex<Buckets>,
}

impl RateLimiter {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            buckets: Mutex::new(Buckets::default()),
        }
    }

    /// How many buckets are kept now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.len)
    }

    /// Takes one token from the bucket of (`kind`, `key`), if it has one.
    pub fn check(&self, kind: LimitKind, key: &str, limit: Limit) -> Decision {
        let now = self.clock.now().as_millisecond();
        let capacity = limit.capacity;
        let Ok(mut buckets) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere; fail open rather than lock everyone out.
            return Decision {
                allowed: true,
                limit: capacity,
                remaining: capacity,
                reset_at: ceil_seconds(now),
                retry_after_seconds: 0,
            };
        };
        if let Some(bucket) = buckets.by_kind.get_mut(&kind).and_then(|m| m.get_mut(key)) {
            return bucket.take(now, limit);
        }
        if buckets.len >= MAX_TRACKED {
            buckets.make_room(now);
        }
        buckets.len += 1;
        let mut bucket = Bucket {
            tokens: f64::from(capacity),
            updated_ms: now,
            full_at_ms: now,
        };
        let decision = bucket.take(now, limit);
        buckets
            .by_kind
            .entry(kind)
            .or_default()
            .insert(key.into(), bucket);
        decision
    }
}

impl Bucket {
    /// Refills for the time since the last request, then takes a token if there is one.
    fn take(&mut self, now: i64, limit: Limit) -> Decision {
        let Limit {
            capacity,
            per_second,
        } = limit;
        let cap = f64::from(capacity);
        let elapsed = (now - self.updated_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * per_second).min(cap);
        self.updated_ms = now;
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let missing = cap - self.tokens;
        self.full_at_ms = now + (missing / per_second * 1000.0).ceil() as i64;
        Decision {
            allowed,
            limit: capacity,
            remaining: self.tokens.floor() as u32,
            reset_at: ceil_seconds(self.full_at_ms),
            retry_after_seconds: if allowed {
                0
            } else {
                ((1.0 - self.tokens) / per_second).ceil().max(1.0) as u64
            },
        }
    }
}

impl RateLimiter {
    /// [`check`](Self::check) for callers that only need to know whether to go on: the
    /// refusal carries what the `429` reports.
    pub fn take(&self, kind: LimitKind, key: &str, limit: Limit) -> Result<(), Decision> {
        let decision = self.check(kind, key, limit);
        if decision.allowed {
            Ok(())
        } else {
            Err(decision)
        }
    }

    /// Gives back the token a request took, for limits that count only failures (a correct
    /// password does not use up a sign-in attempt).
    pub fn refund(&self, kind: LimitKind, key: &str, limit: Limit) {
        if let Ok(mut buckets) = self.buckets.lock()
            && let Some(bucket) = buckets.by_kind.get_mut(&kind).and_then(|m| m.get_mut(key))
        {
            bucket.tokens = (bucket.tokens + 1.0).min(f64::from(limit.capacity));
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
        let limiter = RateLimiter::new(clock.clone());
        let limit = Limit {
            capacity: 3,
            per_second: 1.0,
        };
        let check = |key: &str| limiter.check(LimitKind::Api, key, limit);
        for remaining in [2, 1, 0] {
            let d = check("192.0.2.1");
            assert!(d.allowed);
            assert_eq!(d.remaining, remaining);
        }
        let refused = check("192.0.2.1");
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_seconds, 1);
        assert!(check("192.0.2.2").allowed, "clients have separate buckets");
        assert!(
            limiter
                .check(LimitKind::SignInAddress, "192.0.2.1", limit)
                .allowed,
            "limits have separate buckets"
        );
        clock.advance(std::time::Duration::from_secs(1));
        assert!(check("192.0.2.1").allowed);
    }

    #[test]
    fn the_reset_is_a_unix_time_and_ipv6_counts_by_its_64() {
        let clock = Arc::new(ManualClock::new(
            jiff::Timestamp::from_second(1_800_000_000).unwrap(),
        ));
        let limiter = RateLimiter::new(clock);
        let limit = Limit::per_window(10, 100);
        let d = limiter.check(LimitKind::Api, "192.0.2.1", limit);
        assert_eq!(d.reset_at, 1_800_000_010, "one token back takes 10 s");
        assert_eq!(address_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64");
        assert_ne!(
            address_key("2001:db8:1:3::1"),
            address_key("2001:db8:1:2::1")
        );
        assert_eq!(address_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn a_flood_of_new_keys_stays_bounded_and_keeps_recent_refusals() {
        let clock = Arc::new(ManualClock::new(
            jiff::Timestamp::from_second(1_800_000_000).unwrap(),
        ));
        let limiter = RateLimiter::new(clock.clone());
        let strict = Limit::per_window(1, 3600);
        assert!(
            limiter
                .check(LimitKind::SignInAddress, "victim", strict)
                .allowed
        );
        let loose = Limit::per_window(100, 1);
        for i in 0..MAX_TRACKED + MAX_TRACKED / 2 {
            if i % 1000 == 0 {
                clock.advance(std::time::Duration::from_millis(1));
            }
            limiter.check(LimitKind::Api, &format!("10.{i}"), loose);
            assert!(limiter.tracked() <= MAX_TRACKED);
        }
        assert!(
            !limiter
                .check(LimitKind::SignInAddress, "victim", strict)
                .allowed,
            "buckets that are full again go first: a spent bucket outlives the flood"
        );
    }

    #[test]
    fn windows_spread_their_refill() {
        let five_per_quarter_hour = Limit::per_window(5, 900);
        assert_eq!(five_per_quarter_hour.capacity, 5);
        assert!((five_per_quarter_hour.per_second - 5.0 / 900.0).abs() < 1e-12);
    }
}
