//! Durable background jobs: the record and the retry rule.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::ids::JobId;

/// A unit of background work, stored until it succeeds or runs out of attempts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    pub id: JobId,
    /// Which handler runs it, e.g. `sessions.purge_expired`.
    pub kind: String,
    /// Handler-specific input, JSON.
    pub payload: Vec<u8>,
    /// While a job with this key is pending or running, enqueuing another is a no-op.
    pub dedupe_key: Option<String>,
    /// Attempts started so far.
    pub attempts: u32,
    pub max_attempts: u32,
    pub created_at: Timestamp,
    pub run_at: Timestamp,
    pub last_error: Option<String>,
}

/// First retry after this long; each further retry doubles it.
pub const BACKOFF_BASE: SignedDuration = SignedDuration::from_secs(10);
/// Retries never wait longer than this.
pub const BACKOFF_CAP: SignedDuration = SignedDuration::from_hours(6);

/// Delay before the next try after `attempts` failed tries: exponential, capped, with ±20 %
/// jitter (`jitter` in 0..1) so that jobs that failed together do not retry together.
pub fn retry_delay(attempts: u32, jitter: f64) -> SignedDuration {
    let exp = attempts.saturating_sub(1).min(20);
    let base = BACKOFF_BASE.as_secs_f64() * f64::from(1u32 << exp);
    let capped = base.min(BACKOFF_CAP.as_secs_f64());
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    SignedDuration::from_secs_f64(capped * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_with_bounded_jitter_and_a_cap() {
        assert_eq!(retry_delay(1, 0.5), SignedDuration::from_secs(10));
        assert_eq!(retry_delay(2, 0.5), SignedDuration::from_secs(20));
        assert_eq!(retry_delay(4, 0.5), SignedDuration::from_secs(80));
        assert_eq!(retry_delay(1, 0.0), SignedDuration::from_secs(8));
        assert_eq!(retry_delay(1, 1.0), SignedDuration::from_secs(12));
        assert_eq!(retry_delay(30, 0.5), BACKOFF_CAP);
    }
}
