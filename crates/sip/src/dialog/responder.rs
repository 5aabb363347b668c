//! UAS retransmission of a 2xx to INVITE until its ACK arrives (RFC 3261
//! §13.3.1.4, RFC 6026 §7.1): the transaction layer hands the 2xx to the
//! transport once and leaves retransmissions to the dialog layer (the TU).

use std::time::{Duration, Instant};

use crate::message::Response;
use crate::transaction::TimerConfig;

/// What [`UasInviteResponder::handle_timeout`] asks the caller to do.
// A short-lived return value, never stored in bulk: boxing would only cost.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponderAction {
    /// Send this 2xx again (directly to the transport).
    Retransmit(Response),
    /// 64*T1 passed without ACK: the dialog is confirmed but the session should
    /// end — send BYE (RFC 3261 §13.3.1.4).
    NoAck,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    WaitingForAck,
    Acked,
    GaveUp,
}

/// Retransmits one 2xx to INVITE until ACK: after the first send at `now`, again
/// at T1, 2T1, 4T1… with the interval capped at T2 (unreliable transport only),
/// and gives up at 64*T1 (every transport).
///
/// Call [`UasInviteResponder::handle_timeout`] at [`UasInviteResponder::poll_timeout`]
/// and [`UasInviteResponder::on_ack`] for each ACK the dialog receives.
#[derive(Clone, Debug)]
pub struct UasInviteResponder {
    response: Response,
    cseq: u32,
    phase: Phase,
    interval: Duration,
    t2: Duration,
    next_retransmit: Option<Instant>,
    give_up_at: Instant,
}

impl UasInviteResponder {
    /// Starts after `response` (a 2xx to INVITE) was sent at `now`. Retransmits
    /// unless the response's top Via names a reliable transport.
    pub fn new(response: Response, now: Instant, timers: TimerConfig) -> UasInviteResponder {
        let reliable = response.head.top_via().is_some_and(|v| v.is_reliable());
        UasInviteResponder::with_reliability(response, now, timers, reliable)
    }

    /// [`UasInviteResponder::new`] with the transport reliability given explicitly.
    pub fn with_reliability(
        response: Response,
        now: Instant,
        timers: TimerConfig,
        reliable: bool,
    ) -> UasInviteResponder {
        UasInviteResponder {
            cseq: response.head.cseq.seq,
            response,
            phase: Phase::WaitingForAck,
            interval: timers.t1,
            t2: timers.t2,
            next_retransmit: (!reliable).then(|| now + timers.t1),
            give_up_at: now + timers.t1.saturating_mul(64),
        }
    }

    /// The 2xx being retransmitted.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// The CSeq number of the INVITE (and of the ACK that stops the responder).
    pub fn cseq(&self) -> u32 {
        self.cseq
    }

    /// Whether the ACK arrived or the responder gave up; it needs no more calls.
    pub fn is_finished(&self) -> bool {
        self.phase != Phase::WaitingForAck
    }

    /// Whether the ACK arrived.
    pub fn is_acked(&self) -> bool {
        self.phase == Phase::Acked
    }

    /// The next time [`UasInviteResponder::handle_timeout`] must be called, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase != Phase::WaitingForAck {
            return None;
        }
        Some(match self.next_retransmit {
            Some(t) => t.min(self.give_up_at),
            None => self.give_up_at,
        })
    }

    /// Advances to `now`. Several overdue retransmissions produce one send (no
    /// bursts after a stall).
    pub fn handle_timeout(&mut self, now: Instant) -> Option<ResponderAction> {
        if self.phase != Phase::WaitingForAck {
            return None;
        }
        if now >= self.give_up_at {
            self.phase = Phase::GaveUp;
            self.next_retransmit = None;
            return Some(ResponderAction::NoAck);
        }
        let due = self.next_retransmit.filter(|t| now >= *t)?;
        self.interval = self.interval.saturating_mul(2).min(self.t2);
        let mut next = due + self.interval;
        if next <= now {
            next = now + self.interval;
        }
        self.next_retransmit = Some(next);
        Some(ResponderAction::Retransmit(self.response.clone()))
    }

    /// An ACK with CSeq number `cseq` arrived in the dialog. Returns whether it
    /// acknowledges this 2xx (retransmissions stop).
    pub fn on_ack(&mut self, cseq: u32) -> bool {
        if cseq != self.cseq || self.phase == Phase::GaveUp {
            return false;
        }
        self.phase = Phase::Acked;
        self.next_retransmit = None;
        true
    }
}
