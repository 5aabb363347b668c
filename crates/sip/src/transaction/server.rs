//! Server transactions: the INVITE machine of RFC 3261 §17.2.1 as updated by
//! RFC 6026 (Accepted state, Timer L) and the non-INVITE machine of §17.2.2.
//!
//! The transaction keeps the bytes of the last response it sent, so a
//! retransmitted request is answered without bothering the TU, and its response
//! target computed once from the request (RFC 3261 §18.2.2).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::config::TimerConfig;
use super::error::TransactionError;
use super::event::{Event, ServerState, ServerTxId, TransactionId};
use super::key::{LegacyKey, ServerKey};
use super::timer::{Timer, TimerTable};
use super::transport::{Target, Transmit, Transport};
use super::Queues;
use crate::message::{Method, Request, Response};

/// INVITE server states (RFC 3261 Figure 7, RFC 6026 Figure 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Invite {
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
    Terminated,
}

/// Non-INVITE server states (RFC 3261 Figure 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NonInvite {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Machine {
    Invite(Invite),
    NonInvite(NonInvite),
}

/// How the layer finds this transaction again.
#[derive(Clone, Debug)]
pub(crate) enum MatchKey {
    /// RFC 3261 branch key (indexed by the layer).
    Branch(ServerKey),
    /// RFC 2543 comparison (scanned by the layer; rare, so boxed).
    Legacy(Box<LegacyKey>),
}

/// One server transaction.
#[derive(Debug)]
pub(crate) struct ServerTx {
    id: ServerTxId,
    machine: Machine,
    method: Method,
    key: MatchKey,
    /// Where responses go.
    target: Target,
    timers_cfg: TimerConfig,
    /// The last response sent, re-sent for request retransmissions and Timer G.
    last_response: Option<Vec<u8>>,
    /// To tag of the last response sent (RFC 2543 ACK matching).
    sent_to_tag: Option<String>,
    /// Current Timer G interval.
    interval: Duration,
    pub(crate) timers: TimerTable,
}

impl ServerTx {
    /// A transaction for a new request of `method` (not ACK: the layer checks).
    pub(crate) fn new(
        id: ServerTxId,
        method: Method,
        key: MatchKey,
        target: Target,
        timers_cfg: TimerConfig,
    ) -> ServerTx {
        let machine = if method == Method::Invite {
            Machine::Invite(Invite::Proceeding)
        } else {
            Machine::NonInvite(NonInvite::Trying)
        };
        ServerTx {
            id,
            machine,
            method,
            key,
            target,
            timers_cfg,
            last_response: None,
            sent_to_tag: None,
            interval: timers_cfg.t1,
            timers: TimerTable::default(),
        }
    }

    pub(crate) fn key(&self) -> &MatchKey {
        &self.key
    }

    pub(crate) fn target(&self) -> Target {
        self.target
    }

    pub(crate) fn sent_to_tag(&self) -> Option<&str> {
        self.sent_to_tag.as_deref()
    }

    pub(crate) fn is_terminated(&self) -> bool {
        matches!(
            self.machine,
            Machine::Invite(Invite::Terminated) | Machine::NonInvite(NonInvite::Terminated)
        )
    }

    /// Still waiting for the TU's final response (Trying, Proceeding), as opposed
    /// to lingering to absorb retransmissions (Completed, Confirmed, Accepted) or
    /// terminated.
    pub(crate) fn is_active(&self) -> bool {
        matches!(
            self.machine,
            Machine::Invite(Invite::Proceeding)
                | Machine::NonInvite(NonInvite::Trying | NonInvite::Proceeding)
        )
    }

    /// The public view of the state.
    pub(crate) fn state(&self) -> ServerState {
        match self.machine {
            Machine::Invite(Invite::Proceeding) | Machine::NonInvite(NonInvite::Proceeding) => {
                ServerState::Proceeding
            }
            Machine::NonInvite(NonInvite::Trying) => ServerState::Trying,
            Machine::Invite(Invite::Accepted) => ServerState::Accepted,
            Machine::Invite(Invite::Confirmed) => ServerState::Confirmed,
            // Terminated transactions are removed before anyone can look.
            Machine::Invite(Invite::Completed | Invite::Terminated)
            | Machine::NonInvite(NonInvite::Completed | NonInvite::Terminated) => {
                ServerState::Completed
            }
        }
    }

    /// A request matched this transaction: a retransmission, or an ACK for an
    /// INVITE transaction.
    pub(crate) fn on_request(
        &mut self,
        request: Request,
        source: SocketAddr,
        transport: Transport,
        now: Instant,
        out: &mut Queues,
    ) {
        let is_ack = request.method == Method::Ack;
        match self.machine {
            Machine::Invite(state) if is_ack => {
                let next = match state {
                    Invite::Completed => {
                        self.timers.stop(Timer::G);
                        self.timers.stop(Timer::H);
                        if self.target.transport.is_reliable() {
                            Invite::Terminated
                        } else {
                            self.timers.set(Timer::I, now, self.timers_cfg.t4);
                            Invite::Confirmed
                        }
                    }
                    Invite::Accepted => {
                        // RFC 6026 §8.7: ACKs matching an Accepted transaction go to the TU.
                        out.event(Event::Ack {
                            request,
                            source,
                            transport,
                            tx: Some(self.id),
                        });
                        Invite::Accepted
                    }
                    // An ACK before any final response is bogus; ACK retransmissions in
                    // Confirmed are what Timer I is for.
                    Invite::Proceeding | Invite::Confirmed | Invite::Terminated => state,
                };
                self.machine = Machine::Invite(next);
            }
            // A request retransmission: answer with the last response, if the state
            // still keeps one (RFC 6026: not in Accepted, where 2xx retransmission
            // belongs to the TU).
            Machine::Invite(Invite::Proceeding | Invite::Completed)
            | Machine::NonInvite(NonInvite::Proceeding | NonInvite::Completed) => {
                if let Some(bytes) = &self.last_response {
                    out.transmit(Transmit {
                        target: self.target,
                        bytes: bytes.clone(),
                    });
                }
            }
            Machine::Invite(Invite::Confirmed | Invite::Accepted | Invite::Terminated)
            | Machine::NonInvite(NonInvite::Trying | NonInvite::Terminated) => {}
        }
    }

    /// The TU sends `response` in this transaction.
    pub(crate) fn send_response(
        &mut self,
        response: &Response,
        now: Instant,
        out: &mut Queues,
    ) -> Result<(), TransactionError> {
        let status = response.status;
        let rmethod = &response.head.cseq.method;
        if *rmethod != self.method {
            return Err(TransactionError::MethodMismatch {
                transaction: self.method.clone(),
                response: rmethod.clone(),
            });
        }
        let refuse = || TransactionError::InvalidState {
            state: self.state(),
            status,
        };
        let cfg = self.timers_cfg;
        let reliable = self.target.transport.is_reliable();
        match self.machine {
            Machine::Invite(state) => {
                let next = match state {
                    Invite::Proceeding if status.is_provisional() => Invite::Proceeding,
                    Invite::Proceeding if status.is_success() => {
                        self.timers.set(Timer::L, now, cfg.t1_x64());
                        Invite::Accepted
                    }
                    Invite::Proceeding => {
                        if !reliable {
                            self.interval = cfg.t1;
                            self.timers.set(Timer::G, now, cfg.t1);
                        }
                        self.timers.set(Timer::H, now, cfg.t1_x64());
                        Invite::Completed
                    }
                    // The TU retransmits its 2xx (or sends another) itself (RFC 6026).
                    Invite::Accepted if status.is_success() => Invite::Accepted,
                    Invite::Accepted
                    | Invite::Completed
                    | Invite::Confirmed
                    | Invite::Terminated => return Err(refuse()),
                };
                self.machine = Machine::Invite(next);
            }
            Machine::NonInvite(state) => {
                let next = match state {
                    NonInvite::Trying | NonInvite::Proceeding if status.is_provisional() => {
                        NonInvite::Proceeding
                    }
                    NonInvite::Trying | NonInvite::Proceeding if reliable => NonInvite::Terminated,
                    NonInvite::Trying | NonInvite::Proceeding => {
                        self.timers.set(Timer::J, now, cfg.t1_x64());
                        NonInvite::Completed
                    }
                    NonInvite::Completed | NonInvite::Terminated => return Err(refuse()),
                };
                self.machine = Machine::NonInvite(next);
            }
        }
        let bytes = response.to_bytes();
        // Keep an exact-size copy (a clone has no spare capacity): it may linger
        // for 64*T1 (see `Config::max_lingering`).
        self.last_response = Some(bytes.clone());
        out.transmit(Transmit {
            target: self.target,
            bytes,
        });
        if status.is_final() {
            self.sent_to_tag = response.head.to.tag().map(str::to_owned);
        }
        Ok(())
    }

    /// `timer` fired (the layer already removed its deadline).
    pub(crate) fn on_timer(&mut self, timer: Timer, now: Instant, out: &mut Queues) {
        match (self.machine, timer) {
            (Machine::Invite(Invite::Completed), Timer::G) => {
                if let Some(bytes) = &self.last_response {
                    out.transmit(Transmit {
                        target: self.target,
                        bytes: bytes.clone(),
                    });
                }
                self.interval = self.interval.saturating_mul(2).min(self.timers_cfg.t2);
                self.timers.set(Timer::G, now, self.interval);
            }
            (Machine::Invite(Invite::Completed), Timer::H) => {
                out.event(Event::AckTimeout { tx: self.id });
                self.terminate();
            }
            (Machine::Invite(Invite::Confirmed), Timer::I)
            | (Machine::Invite(Invite::Accepted), Timer::L)
            | (Machine::NonInvite(NonInvite::Completed), Timer::J) => self.terminate(),
            // Timers of other states are stopped on every transition.
            _ => {}
        }
    }

    /// The driver could not send to this transaction's target.
    pub(crate) fn on_transport_error(&mut self, out: &mut Queues) {
        out.event(Event::TransportError {
            tx: TransactionId::Server(self.id),
        });
        self.terminate();
    }

    fn terminate(&mut self) {
        self.timers = TimerTable::default();
        self.machine = match self.machine {
            Machine::Invite(_) => Machine::Invite(Invite::Terminated),
            Machine::NonInvite(_) => Machine::NonInvite(NonInvite::Terminated),
        };
    }
}
