//! The RFC 3261 §17 and RFC 6026 transaction timers as one enum, and the
//! per-transaction table of their deadlines.
//!
//! A transaction arms and stops its own timers in its [`TimerTable`]; the layer
//! mirrors every table into one ordered index so that `poll_timeout` and
//! `handle_timeout` cost `O(log n)`.

use std::time::{Duration, Instant};

/// A transaction timer (RFC 3261 Table 4, RFC 6026 §8.4/§8.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timer {
    /// INVITE client: request retransmission (UDP only), doubling from T1.
    A,
    /// INVITE client: transaction timeout while Calling, 64*T1.
    B,
    /// INVITE client: wait for final response retransmissions in Completed.
    D,
    /// Non-INVITE client: request retransmission (UDP only), doubling to T2.
    E,
    /// Non-INVITE client: transaction timeout, 64*T1.
    F,
    /// INVITE server: final response retransmission (UDP only), doubling to T2.
    G,
    /// INVITE server: wait for ACK in Completed, 64*T1.
    H,
    /// INVITE server: absorb ACK retransmissions in Confirmed, T4 (UDP only).
    I,
    /// Non-INVITE server: absorb request retransmissions in Completed, 64*T1 (UDP only).
    J,
    /// Non-INVITE client: absorb response retransmissions in Completed, T4 (UDP only).
    K,
    /// INVITE server (RFC 6026): Accepted state lifetime, 64*T1.
    L,
    /// INVITE client (RFC 6026): Accepted state lifetime, 64*T1.
    M,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Timer; 12] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::K,
        Timer::L,
        Timer::M,
    ];

    /// The timer's slot in a [`TimerTable`]: the discriminant, 0..=11, so indexing
    /// the 12-slot table with it cannot go out of bounds.
    fn index(self) -> usize {
        self as usize
    }
}

/// The deadline of each timer of one transaction; `None` when stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable([Option<Instant>; 12]);

impl TimerTable {
    /// Arms `timer` to fire `after` from `now`. A deadline that does not fit in an
    /// `Instant` (absurd configuration) leaves the timer stopped: it never fires.
    pub(crate) fn set(&mut self, timer: Timer, now: Instant, after: Duration) {
        self.0[timer.index()] = now.checked_add(after);
    }

    /// Stops `timer`.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.0[timer.index()] = None;
    }

    /// The deadline of `timer`.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.0[timer.index()]
    }
}
