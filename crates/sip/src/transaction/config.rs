//! Transaction layer configuration: the RFC 3261 base timer values and the
//! transaction cap.

use std::time::Duration;

/// The RFC 3261 §17 base timer values; every transaction timer derives from them
/// (RFC 3261 Table 4, RFC 6026 Timers L and M).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerConfig {
    /// T1, the RTT estimate: first retransmission interval (default 500 ms).
    pub t1: Duration,
    /// T2, the cap of non-INVITE request and INVITE response retransmission
    /// intervals (default 4 s).
    pub t2: Duration,
    /// T4, the maximum time a message stays in the network (default 5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> TimerConfig {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// Sets T1.
    pub fn with_t1(mut self, t1: Duration) -> TimerConfig {
        self.t1 = t1;
        self
    }

    /// Sets T2.
    pub fn with_t2(mut self, t2: Duration) -> TimerConfig {
        self.t2 = t2;
        self
    }

    /// Sets T4.
    pub fn with_t4(mut self, t4: Duration) -> TimerConfig {
        self.t4 = t4;
        self
    }

    /// 64*T1: Timers B, F, H, J, L, M, and D on unreliable transports.
    ///
    /// RFC 3261 gives Timer D a fixed "at least 32 s"; callwire uses 64*T1, which
    /// is 32 s with the default T1 and keeps covering the server's Timer H when
    /// T1 is raised.
    pub(crate) fn t1_x64(&self) -> Duration {
        self.t1.saturating_mul(64)
    }
}

/// Configuration of a [`TransactionLayer`](super::TransactionLayer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Base timer values.
    pub timers: TimerConfig,
    /// Cap on live transactions (client and server together). At the cap an
    /// incoming request that would create a server transaction is handed out as
    /// [`Event::Overloaded`](super::Event::Overloaded) and
    /// [`send_request`](super::TransactionLayer::send_request) fails with
    /// [`TransactionError::Overloaded`](super::TransactionError::Overloaded).
    /// Default 10 000.
    pub max_transactions: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            timers: TimerConfig::default(),
            max_transactions: 10_000,
        }
    }
}

impl Config {
    /// Sets the timer values.
    pub fn with_timers(mut self, timers: TimerConfig) -> Config {
        self.timers = timers;
        self
    }

    /// Sets the transaction cap.
    pub fn with_max_transactions(mut self, max: usize) -> Config {
        self.max_transactions = max;
        self
    }
}
