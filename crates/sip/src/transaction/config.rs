//! Transaction layer configuration: the RFC 3261 base timer values and the caps
//! on active and lingering transactions.

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
///
/// Two bounds keep the layer's memory finite under load (see the
/// [module docs](super#limits)): `max_active` is the admission cap that sheds new
/// work, `max_lingering` bounds the finished transactions kept to absorb
/// retransmissions and never refuses anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Base timer values.
    pub timers: TimerConfig,
    /// Cap on *active* transactions: those still waiting for the TU or the network
    /// to produce a final outcome (client Calling/Trying/Proceeding, server
    /// Trying/Proceeding). At the cap a new out-of-dialog request is handed out as
    /// [`Event::Overloaded`](super::Event::Overloaded) and
    /// [`send_request`](super::TransactionLayer::send_request) fails with
    /// [`TransactionError::Overloaded`](super::TransactionError::Overloaded).
    ///
    /// Requests that belong to something that already exists — CANCEL and any
    /// request with a To tag (BYE, re-INVITE, INFO…), received or sent — are
    /// still admitted up to [`active_hard_limit`](Self::active_hard_limit)
    /// (twice this value): refusing a BYE would leak the call at the TU. ACKs and
    /// responses never create transactions and are never refused. Default 10 000.
    pub max_active: usize,
    /// Cap on *lingering* transactions: those that have their outcome and only
    /// stay to absorb retransmissions (client Completed/Accepted, server
    /// Completed/Confirmed/Accepted; up to 64*T1 = 32 s each, about two per call).
    /// When a transaction starts lingering past the cap, the one that has been
    /// lingering longest is evicted: removed early with
    /// [`Event::Terminated`](super::Event::Terminated). Nothing is ever refused
    /// for this cap.
    ///
    /// This trades perfect retransmission absorption under extreme load for
    /// bounded memory (Kamailio's wait timer makes the same trade): a
    /// retransmission arriving for an evicted transaction is treated as new —
    /// a retransmitted request reaches the TU again (a BYE then gets 481 from the
    /// dialog layer, an INVITE is recognised by its dialog), a retransmitted final
    /// response becomes [`Event::StrayResponse`](super::Event::StrayResponse), and
    /// an evicted INVITE server transaction stops retransmitting its non-2xx final
    /// and reports no [`Event::AckTimeout`](super::Event::AckTimeout).
    ///
    /// Memory, measured as process RSS growth per lingering transaction (64-bit
    /// Linux, glibc; the ignored `lingering_memory` test in
    /// `tests/transaction_limits.rs`):
    ///
    /// | transaction | on the wire | held |
    /// | --- | --- | --- |
    /// | server INVITE, Accepted (200 with SDP) | 721 B request, 555 B response | ~1.9 KB |
    /// | server BYE, Completed (200) | 426 B request, 263 B response | ~1.6 KB |
    /// | client INVITE with SDP, Accepted | 714 B request | ~3.8 KB |
    /// | client BYE, Completed | 419 B request | ~3.5 KB |
    ///
    /// A server transaction keeps its last response's bytes and its matching
    /// key; a client one keeps its parsed request (its serialised copy is freed
    /// when it starts lingering); each has ~1.3 KB of bookkeeping (state, timer
    /// table, indexes). The default 200 000 is thus ~0.3–0.8 GB at worst, reached
    /// only past ~3 000 calls/s sustained at the default T1; lower it on small
    /// machines.
    pub max_lingering: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            timers: TimerConfig::default(),
            max_active: 10_000,
            max_lingering: 200_000,
        }
    }
}

impl Config {
    /// Sets the timer values.
    pub fn with_timers(mut self, timers: TimerConfig) -> Config {
        self.timers = timers;
        self
    }

    /// Sets the cap on active transactions ([`max_active`](Self::max_active)).
    pub fn with_max_active(mut self, max: usize) -> Config {
        self.max_active = max;
        self
    }

    /// Sets the cap on lingering transactions
    /// ([`max_lingering`](Self::max_lingering)).
    pub fn with_max_lingering(mut self, max: usize) -> Config {
        self.max_lingering = max;
        self
    }

    /// Sets the cap on active transactions: the old name of
    /// [`with_max_active`](Self::with_max_active), from when the cap counted
    /// lingering transactions too.
    #[deprecated(note = "the cap now counts active transactions only: use with_max_active")]
    pub fn with_max_transactions(self, max: usize) -> Config {
        self.with_max_active(max)
    }

    /// The absolute cap on active transactions for requests that are admitted
    /// past [`max_active`](Self::max_active) (CANCEL, in-dialog requests):
    /// `2 * max_active`. It keeps memory bounded when a peer floods requests
    /// with forged To tags.
    pub fn active_hard_limit(&self) -> usize {
        self.max_active.saturating_mul(2)
    }
}
