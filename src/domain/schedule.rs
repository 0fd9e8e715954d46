//! Recurring schedules: `every 15m`, `every 2h`, `every 1d`, or `daily HH:MM` (UTC).
//! Interval runs are aligned to multiples of the interval since the Unix epoch, so a restart
//! neither skips nor doubles a run.

use jiff::{SignedDuration, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recurrence {
    Every(SignedDuration),
    /// Minutes after midnight UTC.
    DailyAt(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "schedule \"{spec}\": {reason}; use \"every 15m\", \"every 2h\", \"every 1d\" or \"daily 03:30\""
)]
pub struct ScheduleError {
    pub spec: String,
    pub reason: &'static str,
}

impl Recurrence {
    pub fn parse(spec: &str) -> Result<Recurrence, ScheduleError> {
        let err = |reason| ScheduleError {
            spec: spec.to_string(),
            reason,
        };
        let mut words = spec.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("every"), Some(amount), None) => {
                let split = amount
                    .find(|c: char| !c.is_ascii_digit())
                    .ok_or_else(|| err("missing unit"))?;
                let (n, unit) = amount.split_at(split);
                let n: i64 = n.parse().map_err(|_| err("missing number"))?;
                let secs = match unit {
                    "s" => n,
                    "m" => n * 60,
                    "h" => n * 3600,
                    "d" => n * 86_400,
                    _ => return Err(err("unknown unit")),
                };
                if secs < 1 {
                    return Err(err("interval must be positive"));
                }
                Ok(Recurrence::Every(SignedDuration::from_secs(secs)))
            }
            (Some("daily"), Some(time), None) => {
                let (h, m) = time
                    .split_once(':')
                    .ok_or_else(|| err("time must be HH:MM"))?;
                let (h, m): (u32, u32) = (
                    h.parse().map_err(|_| err("bad hour"))?,
                    m.parse().map_err(|_| err("bad minute"))?,
                );
                if h > 23 || m > 59 {
                    return Err(err("time out of range"));
                }
                Ok(Recurrence::DailyAt(h * 60 + m))
            }
            _ => Err(err("unrecognised form")),
        }
    }

    /// The first run strictly after `now`.
    pub fn next_after(self, now: Timestamp) -> Timestamp {
        let (period, offset) = match self {
            Recurrence::Every(d) => (d.as_millis(), 0),
            Recurrence::DailyAt(minutes) => (86_400_000, i128::from(minutes) * 60_000),
        };
        let t = i128::from(now.as_millisecond()) - offset;
        let next = (t.div_euclid(period) + 1) * period + offset;
        i64::try_from(next)
            .ok()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .unwrap_or(Timestamp::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            Recurrence::parse("every 15m"),
            Ok(Recurrence::Every(SignedDuration::from_mins(15)))
        );
        assert_eq!(
            Recurrence::parse("daily 03:30"),
            Ok(Recurrence::DailyAt(210))
        );
        for bad in [
            "",
            "every",
            "every 0m",
            "every 5x",
            "every m",
            "daily 24:00",
            "daily 3",
            "weekly",
        ] {
            assert!(Recurrence::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn next_runs_are_aligned() {
        let every_hour = Recurrence::parse("every 1h").unwrap();
        assert_eq!(
            every_hour.next_after(ts("2026-01-01T10:20:00Z")),
            ts("2026-01-01T11:00:00Z")
        );
        assert_eq!(
            every_hour.next_after(ts("2026-01-01T11:00:00Z")),
            ts("2026-01-01T12:00:00Z")
        );
        let daily = Recurrence::parse("daily 03:30").unwrap();
        assert_eq!(
            daily.next_after(ts("2026-01-01T10:00:00Z")),
            ts("2026-01-02T03:30:00Z")
        );
        assert_eq!(
            daily.next_after(ts("2026-01-01T01:00:00Z")),
            ts("2026-01-01T03:30:00Z")
        );
    }
}
