//! When to send the next RTCP report (RFC 3550 §6.2, §6.3).
//!
//! For a two-party audio call the computed interval is always below the
//! 5-second minimum, so the interval is the minimum times a random factor in
//! [0.5, 1.5], with the first report after half the minimum. The random value
//! is passed in: this module owns no generator and reads no clock.

use std::time::{Duration, Instant};

/// Schedules our RTCP reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpTimer {
    interval: Duration,
    next: Instant,
}

impl RtcpTimer {
    /// The RFC 3550 minimum report interval.
    pub const MIN_INTERVAL: Duration = Duration::from_secs(5);

    /// A timer started at `now` with the 5 s minimum interval. `random` is a
    /// value uniformly drawn from [0, 1] (out-of-range values are clamped,
    /// NaN counts as 0.5).
    pub fn new(now: Instant, random: f64) -> Self {
        Self::with_interval(now, Self::MIN_INTERVAL, random)
    }

    /// A timer with another deterministic interval (e.g. a shorter one for
    /// tests or a profile that allows it). The first report is due after half
    /// of it, randomized like the others. Intervals above a day are cut to a
    /// day.
    pub fn with_interval(now: Instant, interval: Duration, random: f64) -> Self {
        let interval = interval.min(Duration::from_secs(86_400));
        RtcpTimer {
            interval,
            next: now + randomize(interval / 2, random),
        }
    }

    /// When the next report is due: the deadline to wake up for.
    pub fn next_report(&self) -> Instant {
        self.next
    }

    /// Call at or after [`next_report`](Self::next_report). Returns true when a
    /// report is due, and then schedules the following one from `now` with a
    /// fresh `random` value.
    pub fn poll(&mut self, now: Instant, random: f64) -> bool {
        if now < self.next {
            return false;
        }
        self.next = now + randomize(self.interval, random);
        true
    }
}

/// `base` times a factor in [0.5, 1.5] picked by `random` in [0, 1].
fn randomize(base: Duration, random: f64) -> Duration {
    let random = if random.is_nan() {
        0.5
    } else {
        random.clamp(0.0, 1.0)
    };
    base.mul_f64(0.5 + random)
}
