//! Client transactions: the INVITE machine of RFC 3261 §17.1.1 as updated by
//! RFC 6026 (Accepted state, Timer M) and the non-INVITE machine of §17.1.2.
//!
//! A transaction owns its request bytes, its target and its timers; it never
//! touches the layer's indexes. Every input returns after queueing transmits and
//! events in [`Queues`]; the layer removes the transaction once it reports
//! [`ClientTx::is_terminated`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::config::TimerConfig;
use super::event::{ClientState, ClientTxId, Event, TransactionId};
use super::timer::{Timer, TimerTable};
use super::transport::{Target, Transmit};
use super::Queues;
use crate::message::{CSeq, Head, Method, Request, Response};

/// INVITE client states (RFC 3261 Figure 5, RFC 6026 Figure 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Invite {
    Calling,
    Proceeding,
    Completed,
    Accepted,
    Terminated,
}

/// Non-INVITE client states (RFC 3261 Figure 6).
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

/// One client transaction.
#[derive(Debug)]
pub(crate) struct ClientTx {
    id: ClientTxId,
    machine: Machine,
    /// The request, kept to build the ACK for a non-2xx final response.
    request: Request,
    /// The request as sent, for retransmissions.
    bytes: Vec<u8>,
    target: Target,
    timers_cfg: TimerConfig,
    /// The current Timer A/E interval.
    interval: Duration,
    /// The ACK sent for a non-2xx final, re-sent on each retransmission of it.
    ack: Option<Vec<u8>>,
    pub(crate) timers: TimerTable,
}

impl ClientTx {
    /// Creates the transaction, sends the request and arms its timers. `request`
    /// is not an ACK (the layer checks).
    pub(crate) fn start(
        id: ClientTxId,
        request: Request,
        target: Target,
        timers_cfg: TimerConfig,
        now: Instant,
        out: &mut Queues,
    ) -> ClientTx {
        let bytes = request.to_bytes();
        let invite = request.method == Method::Invite;
        let mut tx = ClientTx {
            id,
            machine: if invite {
                Machine::Invite(Invite::Calling)
            } else {
                Machine::NonInvite(NonInvite::Trying)
            },
            request,
            bytes,
            target,
            timers_cfg,
            interval: timers_cfg.t1,
            ack: None,
            timers: TimerTable::default(),
        };
        out.transmit(Transmit {
            target,
            bytes: tx.bytes.clone(),
        });
        let (retransmit, timeout) = if invite {
            (Timer::A, Timer::B)
        } else {
            (Timer::E, Timer::F)
        };
        if !target.transport.is_reliable() {
            tx.timers.set(retransmit, now, timers_cfg.t1);
        }
        tx.timers.set(timeout, now, timers_cfg.t1_x64());
        tx
    }

    /// The public view of the state.
    pub(crate) fn state(&self) -> ClientState {
        match self.machine {
            Machine::Invite(Invite::Calling) => ClientState::Calling,
            Machine::NonInvite(NonInvite::Trying) => ClientState::Trying,
            Machine::Invite(Invite::Proceeding) | Machine::NonInvite(NonInvite::Proceeding) => {
                ClientState::Proceeding
            }
            Machine::Invite(Invite::Accepted) => ClientState::Accepted,
            // Terminated transactions are removed before anyone can look; Completed
            // is the closest description of "done, absorbing".
            Machine::Invite(Invite::Completed | Invite::Terminated)
            | Machine::NonInvite(NonInvite::Completed | NonInvite::Terminated) => {
                ClientState::Completed
            }
        }
    }

    pub(crate) fn is_terminated(&self) -> bool {
        matches!(
            self.machine,
            Machine::Invite(Invite::Terminated) | Machine::NonInvite(NonInvite::Terminated)
        )
    }

    /// Still waiting for a final response (Calling, Trying, Proceeding), as opposed
    /// to lingering to absorb retransmissions (Completed, Accepted) or terminated.
    pub(crate) fn is_active(&self) -> bool {
        matches!(
            self.machine,
            Machine::Invite(Invite::Calling | Invite::Proceeding)
                | Machine::NonInvite(NonInvite::Trying | NonInvite::Proceeding)
        )
    }

    pub(crate) fn target(&self) -> Target {
        self.target
    }

    pub(crate) fn request(&self) -> &Request {
        &self.request
    }

    /// A response matched this transaction (branch and CSeq method).
    pub(crate) fn on_response(
        &mut self,
        response: Response,
        source: SocketAddr,
        now: Instant,
        out: &mut Queues,
    ) {
        self.machine_response(response, source, now, out);
        // The request bytes only serve Timer A/E retransmissions: a lingering
        // transaction frees them (memory per lingering transaction matters, see
        // `Config::max_lingering`).
        if !self.is_active() {
            self.bytes = Vec::new();
        }
    }

    /// Runs the state machine for a response.
    fn machine_response(
        &mut self,
        response: Response,
        source: SocketAddr,
        now: Instant,
        out: &mut Queues,
    ) {
        let status = response.status;
        match self.machine {
            Machine::Invite(state) => self.invite_response(state, response, source, now, out),
            Machine::NonInvite(state) => {
                let next = match state {
                    NonInvite::Trying | NonInvite::Proceeding if status.is_provisional() => {
                        self.deliver(response, out);
                        NonInvite::Proceeding
                    }
                    NonInvite::Trying | NonInvite::Proceeding => {
                        self.timers.stop(Timer::E);
                        self.timers.stop(Timer::F);
                        self.deliver(response, out);
                        if self.wait(Timer::K, self.timers_cfg.t4, now) {
                            NonInvite::Completed
                        } else {
                            NonInvite::Terminated
                        }
                    }
                    // Retransmissions of the final response are absorbed.
                    NonInvite::Completed | NonInvite::Terminated => state,
                };
                self.machine = Machine::NonInvite(next);
            }
        }
    }

    fn invite_response(
        &mut self,
        state: Invite,
        response: Response,
        source: SocketAddr,
        now: Instant,
        out: &mut Queues,
    ) {
        let status = response.status;
        let next = match state {
            Invite::Calling | Invite::Proceeding if status.is_provisional() => {
                self.timers.stop(Timer::A);
                self.timers.stop(Timer::B);
                self.deliver(response, out);
                Invite::Proceeding
            }
            Invite::Calling | Invite::Proceeding if status.is_success() => {
                self.timers.stop(Timer::A);
                self.timers.stop(Timer::B);
                self.timers.set(Timer::M, now, self.timers_cfg.t1_x64());
                self.deliver(response, out);
                Invite::Accepted
            }
            Invite::Calling | Invite::Proceeding => {
                self.timers.stop(Timer::A);
                self.timers.stop(Timer::B);
                let ack = ack_for_non_2xx(&self.request, &response).to_bytes();
                out.transmit(Transmit {
                    target: self.target,
                    bytes: ack.clone(),
                });
                self.ack = Some(ack);
                self.deliver(response, out);
                if self.wait(Timer::D, self.timers_cfg.t1_x64(), now) {
                    Invite::Completed
                } else {
                    Invite::Terminated
                }
            }
            Invite::Completed if status.is_success() => {
                // A 2xx after a non-2xx final (another fork): not this machine's; the
                // UAC core ACKs and BYEs it.
                out.event(Event::StrayResponse { response, source });
                Invite::Completed
            }
            Invite::Completed => {
                if status.is_final() {
                    if let Some(ack) = &self.ack {
                        out.transmit(Transmit {
                            target: self.target,
                            bytes: ack.clone(),
                        });
                    }
                }
                Invite::Completed
            }
            Invite::Accepted if status.is_success() => {
                self.deliver(response, out);
                Invite::Accepted
            }
            Invite::Accepted | Invite::Terminated => state,
        };
        self.machine = Machine::Invite(next);
    }

    /// Arms the Completed-state `timer` on unreliable transports and returns true;
    /// on reliable ones the wait is zero (RFC 3261 Table 4): returns false, the
    /// transaction ends now.
    fn wait(&mut self, timer: Timer, wait: Duration, now: Instant) -> bool {
        if self.target.transport.is_reliable() {
            false
        } else {
            self.timers.set(timer, now, wait);
            true
        }
    }

    fn deliver(&self, response: Response, out: &mut Queues) {
        out.event(Event::Response {
            tx: self.id,
            response,
        });
    }

    fn retransmit(&self, out: &mut Queues) {
        out.transmit(Transmit {
            target: self.target,
            bytes: self.bytes.clone(),
        });
    }

    /// `timer` fired (the layer already removed its deadline).
    pub(crate) fn on_timer(&mut self, timer: Timer, now: Instant, out: &mut Queues) {
        let cfg = self.timers_cfg;
        match (self.machine, timer) {
            (Machine::Invite(Invite::Calling), Timer::A) => {
                // RFC 3261 §17.1.1.2: Timer A doubles without the T2 cap.
                self.retransmit(out);
                self.interval = self.interval.saturating_mul(2);
                self.timers.set(Timer::A, now, self.interval);
            }
            (Machine::Invite(Invite::Calling), Timer::B)
            | (Machine::NonInvite(NonInvite::Trying | NonInvite::Proceeding), Timer::F) => {
                out.event(Event::Timeout { tx: self.id });
                self.terminate();
            }
            (Machine::Invite(Invite::Completed), Timer::D)
            | (Machine::Invite(Invite::Accepted), Timer::M)
            | (Machine::NonInvite(NonInvite::Completed), Timer::K) => self.terminate(),
            (Machine::NonInvite(NonInvite::Trying), Timer::E) => {
                self.retransmit(out);
                self.interval = self.interval.saturating_mul(2).min(cfg.t2);
                self.timers.set(Timer::E, now, self.interval);
            }
            (Machine::NonInvite(NonInvite::Proceeding), Timer::E) => {
                self.retransmit(out);
                self.interval = cfg.t2;
                self.timers.set(Timer::E, now, self.interval);
            }
            // A timer of another state: it was stopped on the transition, so this
            // cannot happen; ignoring it is the safe reading.
            _ => {}
        }
    }

    /// The driver could not send to this transaction's target.
    pub(crate) fn on_transport_error(&mut self, out: &mut Queues) {
        out.event(Event::TransportError {
            tx: TransactionId::Client(self.id),
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

/// The ACK an INVITE client transaction sends for a 300–699 response (RFC 3261
/// §17.1.1.3): the INVITE's Request-URI, Call-ID, From and CSeq number, the
/// response's To (with its tag), the INVITE's top Via only (same branch) and its
/// Route set, no body.
pub(crate) fn ack_for_non_2xx(invite: &Request, response: &Response) -> Request {
    let mut head = Head::new(
        invite.head.from.clone(),
        response.head.to.clone(),
        invite.head.call_id.clone(),
        CSeq {
            seq: invite.head.cseq.seq,
            method: Method::Ack,
        },
    );
    head.via = invite.head.via.iter().take(1).cloned().collect();
    head.route = invite.head.route.clone();
    head.max_forwards = Some(70);
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        head,
        body: Vec::new(),
    }
}
