//! The SIP transaction layer (RFC 3261 §17, RFC 6026, RFC 3581), sans-IO.
//!
//! Owns client and server transactions: matching messages to them,
//! retransmissions and timeouts (Timers A–M in one [`Timer`] table), absorbing
//! retransmitted requests and responses, the ACK for non-2xx finals, and where
//! responses go (RFC 3261 §18.2.2). It does not parse bytes, resolve names, read
//! the clock or own sockets, and it knows nothing of dialogs: 2xx retransmission
//! and the ACK for 2xx belong to the transaction user (TU), which sends the ACK
//! with [`TransactionLayer::send_stateless`].
//!
//! # Driving it
//!
//! The driver feeds inputs — [`receive`](TransactionLayer::receive),
//! [`handle_timeout`](TransactionLayer::handle_timeout),
//! [`transport_error`](TransactionLayer::transport_error) — and the TU's calls
//! ([`send_request`](TransactionLayer::send_request),
//! [`send_response`](TransactionLayer::send_response),
//! [`send_stateless`](TransactionLayer::send_stateless)). After **every** input
//! or call: drain [`poll_transmit`](TransactionLayer::poll_transmit) (send each
//! datagram) and [`poll_event`](TransactionLayer::poll_event) (hand each to the
//! TU, whose reactions are again calls), then sleep until
//! [`poll_timeout`](TransactionLayer::poll_timeout) or the next datagram,
//! whichever comes first, and call `handle_timeout(now)` when the deadline
//! passes.
//!
//! ```no_run
//! # use callwire_sip::transaction::*;
//! # fn tu(_: Event, _: &mut TransactionLayer) {}
//! # fn send(_: Transmit) {}
//! fn pump(layer: &mut TransactionLayer) -> Option<std::time::Instant> {
//!     loop {
//!         let mut progressed = false;
//!         while let Some(t) = layer.poll_transmit() {
//!             send(t);
//!             progressed = true;
//!         }
//!         while let Some(e) = layer.poll_event() {
//!             tu(e, layer);
//!             progressed = true;
//!         }
//!         if !progressed {
//!             return layer.poll_timeout();
//!         }
//!     }
//! }
//! ```
//!
//! # Limits
//!
//! A transaction is *active* while it waits for the TU or the network to produce
//! its final outcome (client Calling/Trying/Proceeding, server Trying/Proceeding)
//! and *lingering* afterwards, while it only absorbs retransmissions (up to
//! 64*T1 = 32 s: every call leaves about two). The two are bounded separately
//! so that finished calls never cost admission of new ones:
//!
//! - [`Config::max_active`] is the admission cap. A new out-of-dialog request at
//!   the cap becomes [`Event::Overloaded`] (or [`TransactionError::Overloaded`]
//!   when sent). CANCEL and requests with a To tag belong to something that
//!   exists and are admitted up to [`Config::active_hard_limit`] (twice the
//!   cap), so a BYE still reaches the TU under overload. ACKs and responses
//!   never create transactions and are never refused.
//! - [`Config::max_lingering`] is a memory bound that refuses nothing: past it
//!   the transaction lingering longest is evicted early ([`Event::Terminated`]),
//!   giving up absorption of its late retransmissions.
//!
//! [`len`](TransactionLayer::len) counts both kinds;
//! [`active_len`](TransactionLayer::active_len) and
//! [`lingering_len`](TransactionLayer::lingering_len) each one, and
//! [`evicted_total`](TransactionLayer::evicted_total) says whether the lingering
//! cap is too small for the load.

mod client;
mod config;
mod error;
mod event;
mod key;
mod server;
mod timer;
mod transport;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

pub use config::{Config, TimerConfig};
pub use error::TransactionError;
pub use event::{ClientState, ClientTxId, Event, ServerState, ServerTxId, TransactionId};
pub use timer::Timer;
pub use transport::{response_target, Target, Transmit, Transport};

use client::ClientTx;
use key::{is_rfc3261_branch, ClientKey, LegacyKey, ServerKey};
use server::{MatchKey, ServerTx};
use timer::TimerTable;
use transport::stamp_via;

use crate::message::{CSeq, Head, Message, Method, Request, Response, MAGIC_COOKIE};

/// The outputs waiting for the driver.
#[derive(Debug, Default)]
pub(crate) struct Queues {
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl Queues {
    pub(crate) fn transmit(&mut self, t: Transmit) {
        self.transmits.push_back(t);
    }

    pub(crate) fn event(&mut self, e: Event) {
        self.events.push_back(e);
    }
}

/// A transaction and the layer's bookkeeping about it.
#[derive(Debug)]
struct Slot<T> {
    tx: T,
    /// Its key in [`TransactionLayer::lingering`] once it stopped being active.
    lingering: Option<u64>,
}

impl<T> Slot<T> {
    fn new(tx: T) -> Slot<T> {
        Slot {
            tx,
            lingering: None,
        }
    }
}

/// All client and server transactions of one SIP endpoint.
///
/// See the [module docs](self) for how to drive it.
#[derive(Debug)]
pub struct TransactionLayer {
    config: Config,
    next_id: u64,
    clients: BTreeMap<ClientTxId, Slot<ClientTx>>,
    client_index: HashMap<ClientKey, ClientTxId>,
    servers: BTreeMap<ServerTxId, Slot<ServerTx>>,
    server_index: HashMap<ServerKey, ServerTxId>,
    /// Server transactions created by RFC 2543 requests (matched by scanning).
    legacy_servers: BTreeSet<ServerTxId>,
    /// Every armed timer of every transaction, earliest first.
    timers: BTreeSet<(Instant, TransactionId, Timer)>,
    /// Lingering transactions in the order they started lingering, oldest
    /// first: the eviction order.
    lingering: BTreeMap<u64, TransactionId>,
    next_linger: u64,
    evicted: u64,
    out: Queues,
}

impl TransactionLayer {
    /// An empty layer.
    pub fn new(config: Config) -> TransactionLayer {
        TransactionLayer {
            config,
            next_id: 0,
            clients: BTreeMap::new(),
            client_index: HashMap::new(),
            servers: BTreeMap::new(),
            server_index: HashMap::new(),
            legacy_servers: BTreeSet::new(),
            timers: BTreeSet::new(),
            lingering: BTreeMap::new(),
            next_linger: 0,
            evicted: 0,
            out: Queues::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Live transactions, client and server, active and lingering.
    pub fn len(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    /// Active transactions: those still waiting for a final outcome, counted
    /// against [`Config::max_active`].
    pub fn active_len(&self) -> usize {
        self.len().saturating_sub(self.lingering.len())
    }

    /// Lingering transactions: those only absorbing retransmissions, bounded by
    /// [`Config::max_lingering`].
    pub fn lingering_len(&self) -> usize {
        self.lingering.len()
    }

    /// How many lingering transactions were evicted early since the layer was
    /// created (a counter for metrics: non-zero means
    /// [`Config::max_lingering`] is too small for the load).
    pub fn evicted_total(&self) -> u64 {
        self.evicted
    }

    /// No live transactions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts a client transaction for `request` and queues it for `target`.
    ///
    /// The request must carry its top Via with a unique RFC 3261 branch (see
    /// [`new_branch`]) and, if wanted, `rport`. INVITE gets the INVITE machine
    /// (Timers A, B, D, M), anything else the non-INVITE machine (E, F, K); a
    /// CANCEL (see [`cancel_for`]) is its own non-INVITE transaction. Over a
    /// reliable transport nothing is retransmitted.
    ///
    /// At [`Config::max_active`] active transactions it fails with
    /// [`TransactionError::Overloaded`], except for a CANCEL or a request with a
    /// To tag, refused only at [`Config::active_hard_limit`].
    pub fn send_request(
        &mut self,
        request: Request,
        target: Target,
        now: Instant,
    ) -> Result<ClientTxId, TransactionError> {
        if request.method == Method::Ack {
            return Err(TransactionError::AckIsNotATransaction);
        }
        let via = request.head.top_via().ok_or(TransactionError::MissingVia)?;
        if !via.branch().is_some_and(is_rfc3261_branch) {
            return Err(TransactionError::InvalidBranch);
        }
        let key = ClientKey::of_request(&request).ok_or(TransactionError::InvalidBranch)?;
        if self.client_index.contains_key(&key) {
            return Err(TransactionError::DuplicateTransaction {
                method: request.method,
            });
        }
        self.admit(&request)?;
        let id = ClientTxId(self.alloc_id());
        let tx = ClientTx::start(id, request, target, self.config.timers, now, &mut self.out);
        sync_timers(
            &mut self.timers,
            id.into(),
            &TimerTable::default(),
            &tx.timers,
        );
        self.client_index.insert(key, id);
        self.clients.insert(id, Slot::new(tx));
        Ok(id)
    }

    /// Queues `message` for `target` outside any transaction: the ACK for a 2xx,
    /// a TU's 2xx retransmission outside a transaction, or a stateless response
    /// (e.g. 503 for [`Event::Overloaded`]).
    pub fn send_stateless(&mut self, message: &Message, target: Target) {
        self.out.transmit(Transmit {
            target,
            bytes: message.to_bytes(),
        });
    }

    /// Sends `response` in server transaction `tx`.
    ///
    /// INVITE: 1xx keeps it Proceeding; 2xx moves it to Accepted (RFC 6026, Timer
    /// L) where further 2xx — the TU's retransmissions — are sent too; 300–699
    /// moves it to Completed, retransmitted by Timer G over UDP until the ACK,
    /// given up at Timer H ([`Event::AckTimeout`]). Non-INVITE: a final response
    /// moves it to Completed (Timer J). Responses go to the target computed from
    /// the request ([`response_target`]).
    pub fn send_response(
        &mut self,
        tx: ServerTxId,
        response: Response,
        now: Instant,
    ) -> Result<(), TransactionError> {
        self.server_op(tx, |t, out| t.send_response(&response, now, out))
            .unwrap_or(Err(TransactionError::UnknownTransaction(tx.into())))
    }

    /// A message arrived from `source` over `transport`.
    ///
    /// Requests: the top Via is stamped with `received`/`rport` (RFC 3261
    /// §18.2.1, RFC 3581); a retransmission is absorbed (the last response is sent
    /// again); an ACK for a non-2xx final completes its INVITE transaction; an ACK
    /// matching nothing becomes [`Event::Ack`]; anything else creates a server
    /// transaction and [`Event::Request`] (or [`Event::Overloaded`] at the active
    /// cap; see [Limits](self#limits)).
    /// Responses: matched by top Via branch and CSeq method to a client
    /// transaction ([`Event::Response`] as the state machine allows) or
    /// [`Event::StrayResponse`]. A message without Via is dropped (the parser
    /// rejects those).
    pub fn receive(
        &mut self,
        message: Message,
        source: SocketAddr,
        transport: Transport,
        now: Instant,
    ) {
        match message {
            Message::Request(r) => self.receive_request(r, source, transport, now),
            Message::Response(r) => self.receive_response(r, source, now),
        }
    }

    /// Fires every timer due at `now`. Call it when
    /// [`poll_timeout`](Self::poll_timeout) has passed (calling it early is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        // Collect first: a timer re-armed while firing (a zero T1) waits for the
        // next call instead of looping here.
        let mut due = Vec::new();
        while let Some(&(at, id, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            due.push((at, id, timer));
        }
        for (at, id, timer) in due {
            match id {
                TransactionId::Client(c) => {
                    self.client_op(c, |tx, out| {
                        if tx.timers.get(timer) == Some(at) {
                            tx.timers.stop(timer);
                            tx.on_timer(timer, now, out);
                        }
                    });
                }
                TransactionId::Server(s) => {
                    self.server_op(s, |tx, out| {
                        if tx.timers.get(timer) == Some(at) {
                            tx.timers.stop(timer);
                            tx.on_timer(timer, now, out);
                        }
                    });
                }
            }
        }
    }

    /// The driver failed to send to `target` (ICMP unreachable, connection
    /// refused or reset): every transaction using it ends with
    /// [`Event::TransportError`].
    pub fn transport_error(&mut self, target: Target) {
        let clients: Vec<ClientTxId> = self
            .clients
            .iter()
            .filter(|(_, s)| s.tx.target() == target)
            .map(|(id, _)| *id)
            .collect();
        let servers: Vec<ServerTxId> = self
            .servers
            .iter()
            .filter(|(_, s)| s.tx.target() == target)
            .map(|(id, _)| *id)
            .collect();
        for id in clients {
            self.client_op(id, |tx, out| tx.on_transport_error(out));
        }
        for id in servers {
            self.server_op(id, |tx, out| tx.on_transport_error(out));
        }
    }

    /// The next datagram to send, oldest first.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next event for the TU, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.events.pop_front()
    }

    /// The earliest timer deadline; `None` when no timer is armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(at, _, _)| *at)
    }

    /// The state of a live client transaction.
    pub fn client_state(&self, tx: ClientTxId) -> Option<ClientState> {
        self.clients.get(&tx).map(|s| s.tx.state())
    }

    /// The state of a live server transaction.
    pub fn server_state(&self, tx: ServerTxId) -> Option<ServerState> {
        self.servers.get(&tx).map(|s| s.tx.state())
    }

    /// Whether client transaction `tx` received a provisional response and has no
    /// final one yet: the moment a CANCEL may be sent (RFC 3261 §9.1). A TU that
    /// wants to cancel earlier waits for the first [`Event::Response`].
    pub fn has_provisional(&self, tx: ClientTxId) -> bool {
        self.client_state(tx) == Some(ClientState::Proceeding)
    }

    /// The request of a live client transaction, as sent.
    pub fn client_request(&self, tx: ClientTxId) -> Option<&Request> {
        self.clients.get(&tx).map(|s| s.tx.request())
    }

    /// The INVITE server transaction a received CANCEL targets (RFC 3261 §9.2:
    /// the matching rules of §17.2.3 applied as if the method were INVITE). The
    /// TU answers the CANCEL (200, or 481 on `None`) and, if the INVITE
    /// transaction is still [`ServerState::Proceeding`], answers it 487.
    pub fn find_invite_for_cancel(&self, cancel: &Request) -> Option<ServerTxId> {
        if let Some(key) = ServerKey::of_request(cancel, &Method::Invite) {
            return self.server_index.get(&key).copied();
        }
        let key = LegacyKey::of_request(cancel, &Method::Invite)?;
        self.legacy_servers.iter().copied().find(|id| {
            self.servers
                .get(id)
                .is_some_and(|s| matches!(s.tx.key(), MatchKey::Legacy(k) if **k == key))
        })
    }

    fn alloc_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn receive_request(
        &mut self,
        mut request: Request,
        source: SocketAddr,
        transport: Transport,
        now: Instant,
    ) {
        if request.head.via.is_empty() {
            return;
        }
        // Match on the Via as sent, then stamp it for the TU and response routing.
        let matched = self.match_server(&request);
        if let Some(via) = request.head.via.first_mut() {
            stamp_via(via, source);
        }
        match matched {
            Some(id) => {
                self.server_op(id, |tx, out| {
                    tx.on_request(request, source, transport, now, out)
                });
            }
            None if request.method == Method::Ack => {
                self.out.event(Event::Ack {
                    request,
                    source,
                    transport,
                    tx: None,
                });
            }
            None => self.create_server(request, source, transport),
        }
    }

    fn match_server(&self, request: &Request) -> Option<ServerTxId> {
        if let Some(key) = ServerKey::of_request(request, &request.method) {
            return self.server_index.get(&key).copied();
        }
        let is_ack = request.method == Method::Ack;
        let key = LegacyKey::of_request(
            request,
            if is_ack {
                &Method::Invite
            } else {
                &request.method
            },
        )?;
        self.legacy_servers.iter().copied().find(|id| {
            self.servers.get(id).is_some_and(|s| match s.tx.key() {
                MatchKey::Legacy(k) if is_ack => k.matches_ack(&key, s.tx.sent_to_tag()),
                MatchKey::Legacy(k) => **k == key,
                MatchKey::Branch(_) => false,
            })
        })
    }

    fn create_server(&mut self, request: Request, source: SocketAddr, transport: Transport) {
        if self.admit(&request).is_err() {
            self.out.event(Event::Overloaded {
                request,
                source,
                transport,
            });
            return;
        }
        let Some(via) = request.head.top_via() else {
            return;
        };
        let target = response_target(via, source, transport);
        let key = match ServerKey::of_request(&request, &request.method) {
            Some(k) => MatchKey::Branch(k),
            None => match LegacyKey::of_request(&request, &request.method) {
                Some(k) => MatchKey::Legacy(Box::new(k)),
                None => return,
            },
        };
        let id = ServerTxId(self.alloc_id());
        match &key {
            MatchKey::Branch(k) => {
                self.server_index.insert(k.clone(), id);
            }
            MatchKey::Legacy(_) => {
                self.legacy_servers.insert(id);
            }
        }
        let tx = ServerTx::new(id, request.method.clone(), key, target, self.config.timers);
        self.servers.insert(id, Slot::new(tx));
        self.out.event(Event::Request {
            tx: id,
            request,
            source,
            transport,
        });
    }

    fn receive_response(&mut self, response: Response, source: SocketAddr, now: Instant) {
        let id = ClientKey::of_response(&response).and_then(|k| self.client_index.get(&k).copied());
        match id {
            Some(id) => {
                self.client_op(id, |tx, out| tx.on_response(response, source, now, out));
            }
            None => self.out.event(Event::StrayResponse { response, source }),
        }
    }

    /// Whether a new transaction for `request` may start now (see
    /// [Limits](self#limits)).
    fn admit(&self, request: &Request) -> Result<(), TransactionError> {
        let belongs_to_existing =
            request.method == Method::Cancel || request.head.to.tag().is_some();
        let limit = if belongs_to_existing {
            self.config.active_hard_limit()
        } else {
            self.config.max_active
        };
        if self.active_len() >= limit {
            Err(TransactionError::Overloaded { limit })
        } else {
            Ok(())
        }
    }

    /// Runs `f` on client transaction `id`, then mirrors its timers into the index
    /// and updates its bookkeeping ([`settle`](Self::settle)). `None` if it does
    /// not exist.
    fn client_op<R>(
        &mut self,
        id: ClientTxId,
        f: impl FnOnce(&mut ClientTx, &mut Queues) -> R,
    ) -> Option<R> {
        let slot = self.clients.get_mut(&id)?;
        let before = slot.tx.timers;
        let r = f(&mut slot.tx, &mut self.out);
        sync_timers(&mut self.timers, id.into(), &before, &slot.tx.timers);
        let what = Settled::of(
            slot.tx.is_terminated(),
            slot.tx.is_active(),
            slot.lingering.is_some(),
        );
        self.settle(id.into(), what);
        Some(r)
    }

    /// As [`client_op`](Self::client_op), for server transactions.
    fn server_op<R>(
        &mut self,
        id: ServerTxId,
        f: impl FnOnce(&mut ServerTx, &mut Queues) -> R,
    ) -> Option<R> {
        let slot = self.servers.get_mut(&id)?;
        let before = slot.tx.timers;
        let r = f(&mut slot.tx, &mut self.out);
        sync_timers(&mut self.timers, id.into(), &before, &slot.tx.timers);
        let what = Settled::of(
            slot.tx.is_terminated(),
            slot.tx.is_active(),
            slot.lingering.is_some(),
        );
        self.settle(id.into(), what);
        Some(r)
    }

    /// Acts on what an input did to transaction `id`: removes it if it
    /// terminated; queues it for eviction if it started lingering, evicting the
    /// oldest lingering ones past [`Config::max_lingering`].
    fn settle(&mut self, id: TransactionId, what: Settled) {
        match what {
            Settled::Unchanged => {}
            Settled::Terminated => self.remove(id),
            Settled::StartedLingering => {
                let seq = self.next_linger;
                self.next_linger += 1;
                let mark = match id {
                    TransactionId::Client(c) => self.clients.get_mut(&c).map(|s| &mut s.lingering),
                    TransactionId::Server(s) => self.servers.get_mut(&s).map(|s| &mut s.lingering),
                };
                if let Some(mark) = mark {
                    *mark = Some(seq);
                    self.lingering.insert(seq, id);
                }
                while self.lingering.len() > self.config.max_lingering {
                    let Some((_, oldest)) = self.lingering.pop_first() else {
                        break;
                    };
                    self.evicted += 1;
                    self.remove(oldest);
                }
            }
        }
    }

    /// Removes transaction `id` from every index and tells the TU
    /// ([`Event::Terminated`]). Nothing happens if it does not exist.
    fn remove(&mut self, id: TransactionId) {
        let (timers, lingering) = match id {
            TransactionId::Client(c) => {
                let Some(slot) = self.clients.remove(&c) else {
                    return;
                };
                if let Some(key) = ClientKey::of_request(slot.tx.request()) {
                    self.client_index.remove(&key);
                }
                (slot.tx.timers, slot.lingering)
            }
            TransactionId::Server(s) => {
                let Some(slot) = self.servers.remove(&s) else {
                    return;
                };
                match slot.tx.key() {
                    MatchKey::Branch(k) => {
                        self.server_index.remove(k);
                    }
                    MatchKey::Legacy(_) => {
                        self.legacy_servers.remove(&s);
                    }
                }
                (slot.tx.timers, slot.lingering)
            }
        };
        // An evicted transaction still has armed timers; a terminated one none.
        sync_timers(&mut self.timers, id, &timers, &TimerTable::default());
        if let Some(seq) = lingering {
            self.lingering.remove(&seq);
        }
        self.out.event(Event::Terminated { tx: id });
    }
}

/// What an input did to a transaction, for [`TransactionLayer::settle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Settled {
    /// Still active, or still lingering.
    Unchanged,
    /// Moved from an active state to a lingering one.
    StartedLingering,
    /// Ended: remove it.
    Terminated,
}

impl Settled {
    /// From the transaction's state after the input and whether it was already
    /// lingering before.
    fn of(terminated: bool, active: bool, was_lingering: bool) -> Settled {
        if terminated {
            Settled::Terminated
        } else if !active && !was_lingering {
            Settled::StartedLingering
        } else {
            Settled::Unchanged
        }
    }
}

/// Mirrors the change of one transaction's timer table into the layer's index.
fn sync_timers(
    index: &mut BTreeSet<(Instant, TransactionId, Timer)>,
    id: TransactionId,
    before: &TimerTable,
    after: &TimerTable,
) {
    for timer in Timer::ALL {
        let (old, new) = (before.get(timer), after.get(timer));
        if old != new {
            if let Some(at) = old {
                index.remove(&(at, id, timer));
            }
            if let Some(at) = new {
                index.insert((at, id, timer));
            }
        }
    }
}

/// A fresh RFC 3261 branch: the magic cookie and 96 random bits in hex.
pub fn new_branch(rng: &mut impl rand::RngCore) -> String {
    let mut bytes = [0u8; 12];
    rng.fill_bytes(&mut bytes);
    format!("{MAGIC_COOKIE}{}", hex::encode(bytes))
}

/// The CANCEL for `request` (RFC 3261 §9.1): same Request-URI, Call-ID, From,
/// To, CSeq number and Route set, and a single Via equal to the request's top
/// Via, so it matches the request's server transaction. Send it with
/// [`TransactionLayer::send_request`] once
/// [`has_provisional`](TransactionLayer::has_provisional) says so.
pub fn cancel_for(request: &Request) -> Result<Request, TransactionError> {
    if matches!(request.method, Method::Ack | Method::Cancel) {
        return Err(TransactionError::NotCancellable(request.method.clone()));
    }
    let via = request
        .head
        .top_via()
        .ok_or(TransactionError::MissingVia)?
        .clone();
    let mut head = Head::new(
        request.head.from.clone(),
        request.head.to.clone(),
        request.head.call_id.clone(),
        CSeq {
            seq: request.head.cseq.seq,
            method: Method::Cancel,
        },
    );
    head.via = vec![via];
    head.route = request.head.route.clone();
    head.max_forwards = Some(70);
    Ok(Request {
        method: Method::Cancel,
        uri: request.uri.clone(),
        head,
        body: Vec::new(),
    })
}
