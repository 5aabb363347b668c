//! Test support (feature `testing`, always on in unit tests): a simulated network
//! with virtual time that connects [`TransactionLayer`]s, and builders for the
//! messages transaction tests need.
//!
//! The network delivers every [`Transmit`] after a fixed latency and drops UDP
//! datagrams with a probability drawn from a seeded RNG, so a run is reproducible.
//! Time only moves when [`Sim::step`] jumps it to the next delivery, layer
//! deadline or [`Sim::wake_at`] instant: a 32-second Timer B runs in microseconds.
//! The transaction user is the test itself: between steps it reads
//! [`Sim::events`] and calls the layers.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::message::{
    CSeq, Head, Host, Message, Method, NameAddr, Request, Response, SipUri, StatusCode, Uri, Via,
};
use crate::transaction::{Config, Event, Target, TransactionLayer, Transmit, Transport};

/// Network behaviour of a [`Sim`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// One-way delay of every datagram.
    pub latency: Duration,
    /// Probability (0.0–1.0) that a UDP datagram is lost. Reliable transports
    /// lose nothing.
    pub loss: f64,
    /// RNG seed for losses.
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            latency: Duration::from_millis(10),
            loss: 0.0,
            seed: 1,
        }
    }
}

/// Index of an endpoint in a [`Sim`], in the order of [`Sim::add_node`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(usize);

impl NodeId {
    /// The `index`-th node added.
    pub fn new(index: usize) -> NodeId {
        NodeId(index)
    }
}

/// One message that went through (or was lost in) the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// When it was sent.
    pub sent_at: Instant,
    /// The sender's address.
    pub from: SocketAddr,
    /// Where it was sent.
    pub target: Target,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Lost by the network.
    pub dropped: bool,
}

impl Datagram {
    /// The start line, for assertions (`"INVITE sip:…"`, `"SIP/2.0 200 OK"`).
    pub fn start_line(&self) -> String {
        let end = self
            .bytes
            .iter()
            .position(|&b| b == b'\r')
            .unwrap_or(self.bytes.len());
        String::from_utf8_lossy(self.bytes.get(..end).unwrap_or_default()).into_owned()
    }
}

struct Node {
    addr: SocketAddr,
    layer: TransactionLayer,
    events: VecDeque<Event>,
}

/// An in-flight datagram, ordered by delivery time then send order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    at: Instant,
    seq: u64,
    from: SocketAddr,
    target: Target,
    bytes: Vec<u8>,
}

/// A simulated network of transaction layers under virtual time.
pub struct Sim {
    config: SimConfig,
    now: Instant,
    start: Instant,
    rng: StdRng,
    nodes: Vec<Node>,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    wakeups: BTreeSet<Instant>,
    log: Vec<Datagram>,
}

impl Sim {
    /// An empty network. The virtual clock starts at `start` and only moves in
    /// [`step`](Self::step).
    pub fn new(config: SimConfig, start: Instant) -> Sim {
        Sim {
            config,
            now: start,
            start,
            rng: StdRng::seed_from_u64(config.seed),
            nodes: Vec::new(),
            in_flight: BinaryHeap::new(),
            seq: 0,
            wakeups: BTreeSet::new(),
            log: Vec::new(),
        }
    }

    /// Adds an endpoint listening at `addr` on every transport.
    pub fn add_node(&mut self, addr: SocketAddr, config: Config) -> NodeId {
        self.nodes.push(Node {
            addr,
            layer: TransactionLayer::new(config),
            events: VecDeque::new(),
        });
        NodeId(self.nodes.len() - 1)
    }

    /// The virtual now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// A node's address.
    ///
    /// # Panics
    /// If `id` is not from this `Sim` (test code only).
    pub fn addr(&self, id: NodeId) -> SocketAddr {
        self.nodes[id.0].addr
    }

    /// A node's transaction layer, to call as its TU. Outputs are collected on the
    /// next [`step`](Self::step).
    ///
    /// # Panics
    /// If `id` is not from this `Sim` (test code only).
    pub fn layer(&mut self, id: NodeId) -> &mut TransactionLayer {
        &mut self.nodes[id.0].layer
    }

    /// Takes the events a node produced so far.
    ///
    /// # Panics
    /// If `id` is not from this `Sim` (test code only).
    pub fn events(&mut self, id: NodeId) -> Vec<Event> {
        self.collect();
        self.nodes[id.0].events.drain(..).collect()
    }

    /// Makes [`step`](Self::step) stop at `at` (a TU timer of the test).
    pub fn wake_at(&mut self, at: Instant) {
        self.wakeups.insert(at);
    }

    /// Every datagram sent so far, lost ones included.
    pub fn log(&self) -> &[Datagram] {
        &self.log
    }

    /// Moves the virtual clock to the next thing that happens — a delivery, a
    /// layer deadline or a wake-up — and runs it. Returns false when nothing is
    /// left to happen.
    pub fn step(&mut self) -> bool {
        self.collect();
        let next = [
            self.in_flight.peek().map(|Reverse(d)| d.at),
            self.nodes
                .iter()
                .filter_map(|n| n.layer.poll_timeout())
                .min(),
            self.wakeups.first().copied(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        let now = self.now;
        while self.in_flight.peek().is_some_and(|Reverse(d)| d.at <= now) {
            let Some(Reverse(d)) = self.in_flight.pop() else {
                break;
            };
            let Some(node) = self.nodes.iter_mut().find(|n| n.addr == d.target.addr) else {
                continue;
            };
            if let Some(message) = decode(&d.bytes) {
                node.layer.receive(message, d.from, d.target.transport, now);
            }
        }
        for node in &mut self.nodes {
            if node.layer.poll_timeout().is_some_and(|t| t <= now) {
                node.layer.handle_timeout(now);
            }
        }
        while self.wakeups.first().is_some_and(|w| *w <= now) {
            self.wakeups.pop_first();
        }
        self.collect();
        true
    }

    /// Steps until virtual time reaches `deadline` or nothing is left to happen,
    /// ignoring the events (they stay queued).
    pub fn run_until(&mut self, deadline: Instant) {
        self.wake_at(deadline);
        while self.now < deadline && self.step() {}
    }

    /// Drains every layer's transmits into the network and events into the
    /// node queues.
    fn collect(&mut self) {
        for i in 0..self.nodes.len() {
            let Some(node) = self.nodes.get_mut(i) else {
                continue;
            };
            let from = node.addr;
            let mut out = Vec::new();
            while let Some(t) = node.layer.poll_transmit() {
                out.push(t);
            }
            while let Some(e) = node.layer.poll_event() {
                node.events.push_back(e);
            }
            for Transmit { target, bytes } in out {
                let dropped = !target.transport.is_reliable()
                    && self.config.loss > 0.0
                    && self.rng.gen_bool(self.config.loss.clamp(0.0, 1.0));
                self.log.push(Datagram {
                    sent_at: self.now,
                    from,
                    target,
                    bytes: bytes.clone(),
                    dropped,
                });
                if !dropped {
                    self.seq += 1;
                    self.in_flight.push(Reverse(InFlight {
                        at: self.now + self.config.latency,
                        seq: self.seq,
                        from,
                        target,
                        bytes,
                    }));
                }
            }
        }
    }
}

/// Parses a datagram the way the driver would. Each stream transmit is one whole
/// message, so reliable transports are parsed the same way. Unparsable bytes are
/// dropped (they stay in the log).
fn decode(bytes: &[u8]) -> Option<Message> {
    crate::parse::parse_datagram(bytes, &crate::parse::Limits::default()).ok()
}

/// A SIP URI `sip:user@ip:port`.
pub fn sip_uri(user: Option<&str>, addr: SocketAddr) -> Uri {
    Uri::Sip(SipUri::new(user, Host::from(addr.ip()), Some(addr.port())))
}

/// A request from `from` to `to` with one Via (sent-by `from`, `branch`), From
/// tag `from-tag`, no To tag, Max-Forwards 70 and a Contact.
pub fn request(
    method: Method,
    from: SocketAddr,
    to: SocketAddr,
    transport: Transport,
    branch: &str,
    call_id: &str,
    seq: u32,
) -> Request {
    let mut from_na = NameAddr::new(sip_uri(Some("alice"), from));
    from_na.set_tag("from-tag");
    let to_na = NameAddr::new(sip_uri(Some("bob"), to));
    let mut head = Head::new(
        from_na,
        to_na,
        call_id.to_owned(),
        CSeq {
            seq,
            method: method.clone(),
        },
    );
    head.via.push(Via::new(
        transport.as_str(),
        Host::from(from.ip()),
        Some(from.port()),
        branch,
    ));
    head.max_forwards = Some(70);
    head.contact
        .push(NameAddr::new(sip_uri(Some("alice"), from)));
    Request {
        method,
        uri: sip_uri(Some("bob"), to),
        head,
        body: Vec::new(),
    }
}

/// A response to `request` (RFC 3261 §8.2.6) with `to_tag` added to To.
///
/// # Panics
/// If `code` is not 100–699 (test code only).
pub fn response(request: &Request, code: u16, to_tag: Option<&str>) -> Response {
    let status = StatusCode::new(code).unwrap_or_else(|| panic!("bad status code {code}"));
    let mut r = Response::for_request(request, status, None);
    if let Some(tag) = to_tag {
        r.head.to.set_tag(tag);
    }
    r
}

/// `.into_message()` on requests and responses, for [`TransactionLayer::receive`].
pub trait IntoMessage {
    /// Wraps `self` in a [`Message`].
    fn into_message(self) -> Message;
}

impl IntoMessage for Request {
    fn into_message(self) -> Message {
        Message::Request(self)
    }
}

impl IntoMessage for Response {
    fn into_message(self) -> Message {
        Message::Response(self)
    }
}
