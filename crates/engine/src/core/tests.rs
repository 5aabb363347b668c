//! Two cores on a simulated network in virtual time: calls set up, answered,
//! rejected, cancelled and timed out end to end, with seeded packet loss, and an
//! account registering against a scripted registrar. No sockets carry SIP and no
//! test sleeps; every deadline is reached by moving the virtual clock.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use callwire_sip::auth::{Algorithm, Credentials, DigestServer, UserSecret, Verification};
use callwire_sip::message::{Message, Method, Request, Response, StatusCode};
use callwire_sip::parse::{parse_datagram, Limits};
use callwire_sip::transaction::Transport;
use callwire_store::AccountRecord;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::oneshot;

use super::{Command, Core, Output};
use crate::config::{CallsConfig, EngineConfig, RtpConfig};
use crate::driver::dns::Resolved;
use crate::driver::transport::Inbound;
use crate::error::EngineError;
use crate::model::account::{AccountView, RegistrationState};
use crate::model::call::{CallState, CallView, Direction, Reason};
use crate::PlaceCall;

const A_IP: [u8; 4] = [127, 0, 0, 1];
const B_IP: [u8; 4] = [127, 0, 0, 2];
const REGISTRAR: &str = "127.0.0.3:5060";

fn addr(ip: [u8; 4]) -> SocketAddr {
    SocketAddr::from((ip, 5060))
}

/// A core's config: SIP on `ip:5060`, its own small RTP range (`slot` keeps
/// tests running in parallel off each other's ports).
fn config(ip: [u8; 4], slot: u16, calls: CallsConfig) -> EngineConfig {
    let base = if ip == B_IP { 47200 } else { 47000 };
    EngineConfig {
        sip_bind: addr(ip),
        rtp: RtpConfig {
            port_start: base + slot * 20,
            port_count: 20,
        },
        calls,
        ..EngineConfig::default()
    }
}

fn core(ip: [u8; 4], slot: u16, calls: CallsConfig, seed: u64) -> Core {
    Core::new(
        config(ip, slot, calls),
        IpAddr::from(ip),
        5060,
        StdRng::seed_from_u64(seed),
    )
}

fn account(id: &str, user: &str, domain: &str) -> AccountRecord {
    AccountRecord {
        id: id.into(),
        display_name: None,
        user: user.into(),
        domain: domain.into(),
        registrar: None,
        secondary_registrar: None,
        outbound_proxy: None,
        auth_user: None,
        password: None,
        transport: "udp".into(),
        expires: 3600,
        auto_answer: false,
        enabled: true,
        max_calls: None,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        codecs: None,
        dtmf_mode: None,
        policy: None,
    }
}

fn parse(bytes: &[u8]) -> Message {
    parse_datagram(bytes, &Limits::default()).expect("the core sent a parsable message")
}

/// Short name of a message for logs and assertions: `INVITE`, `200 INVITE`…
fn label(m: &Message) -> String {
    match m {
        Message::Request(r) => r.method.to_string(),
        Message::Response(r) => format!("{} {}", r.status.code(), r.head.cseq.method),
    }
}

/// Sends a command and takes its reply at once (the core answers synchronously).
fn ask<T>(
    core: &mut Core,
    now: Instant,
    make: impl FnOnce(oneshot::Sender<Result<T, EngineError>>) -> Command,
) -> Result<T, EngineError> {
    let (tx, mut rx) = oneshot::channel();
    core.command(make(tx), now);
    rx.try_recv().expect("the core replied synchronously")
}

fn get_call(core: &mut Core, now: Instant, id: &str) -> CallView {
    let id = id.to_owned();
    ask(core, now, |reply| Command::GetCall { id, reply }).expect("call exists")
}

fn get_account(core: &mut Core, now: Instant, id: &str) -> AccountView {
    let id = id.to_owned();
    ask(core, now, |reply| Command::GetAccount { id, reply }).expect("account exists")
}

/// One message that went over the simulated wire.
#[derive(Debug)]
struct Packet {
    from: SocketAddr,
    to: SocketAddr,
    at: Duration,
    message: Message,
    dropped: bool,
}

/// Two cores, A and B, joined by a lossy in-memory network and a virtual clock.
struct Net {
    a: Core,
    b: Core,
    base: Instant,
    offset: Duration,
    rng: StdRng,
    /// Fraction of packets lost on the way to A and to B.
    loss_to_a: f64,
    loss_to_b: f64,
    /// Messages (by [`label`]) always lost, both ways.
    block: Vec<&'static str>,
    log: Vec<Packet>,
    /// Events each core emitted: (from A, event).
    events: Vec<(bool, crate::model::event::Event)>,
}

impl Net {
    fn new(slot: u16, a_calls: CallsConfig, b_calls: CallsConfig, b_auto_answer: bool) -> Net {
        let base = Instant::now();
        let mut a = core(A_IP, slot, a_calls, 1);
        let mut b = core(B_IP, slot, b_calls, 2);
        a.load_accounts(Vec::new(), base);
        let mut default_b = account("default", "default", "127.0.0.2");
        default_b.auto_answer = b_auto_answer;
        b.load_accounts(vec![default_b], base);
        let mut net = Net {
            a,
            b,
            base,
            offset: Duration::ZERO,
            rng: StdRng::seed_from_u64(7),
            loss_to_a: 0.0,
            loss_to_b: 0.0,
            block: Vec::new(),
            log: Vec::new(),
            events: Vec::new(),
        };
        net.pump();
        net
    }

    fn now(&self) -> Instant {
        self.base + self.offset
    }

    /// Delivers every datagram either core wants sent, until both are quiet.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for from_a in [true, false] {
                let (src, dst) = if from_a {
                    (&mut self.a, &mut self.b)
                } else {
                    (&mut self.b, &mut self.a)
                };
                let source = if from_a { addr(A_IP) } else { addr(B_IP) };
                let dest_addr = if from_a { addr(B_IP) } else { addr(A_IP) };
                let loss = if from_a {
                    self.loss_to_b
                } else {
                    self.loss_to_a
                };
                let outputs: Vec<Output> = src.outputs.drain(..).collect();
                for out in outputs {
                    if let Output::Event(e) = &out {
                        self.events.push((from_a, e.clone()));
                    }
                    let Output::Send {
                        transport,
                        dest,
                        bytes,
                    } = out
                    else {
                        continue;
                    };
                    moved = true;
                    let message = parse(&bytes);
                    let dropped = dest != dest_addr
                        || self.block.contains(&label(&message).as_str())
                        || (loss > 0.0 && self.rng.gen_bool(loss));
                    self.log.push(Packet {
                        from: source,
                        to: dest,
                        at: self.offset,
                        message: message.clone(),
                        dropped,
                    });
                    if !dropped {
                        dst.receive(
                            Inbound {
                                message,
                                source,
                                transport,
                            },
                            self.base + self.offset,
                        );
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Jumps to the earliest deadline of either core and runs it; false if none.
    fn advance_to_next_deadline(&mut self) -> bool {
        let next = match (self.a.poll_timeout(), self.b.poll_timeout()) {
            (Some(x), Some(y)) => x.min(y),
            (x, y) => match x.or(y) {
                Some(t) => t,
                None => return false,
            },
        };
        self.offset = self.offset.max(next.saturating_duration_since(self.base));
        let now = self.now();
        self.a.handle_timeout(now);
        self.b.handle_timeout(now);
        self.pump();
        true
    }

    /// Runs deadlines until `done` holds or virtual time passes `limit`.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Net) -> bool) -> bool {
        loop {
            self.pump();
            if done(self) {
                return true;
            }
            if self.offset > limit || !self.advance_to_next_deadline() {
                return done(self);
            }
        }
    }

    /// Runs until `at` (virtual), firing every deadline before it.
    fn run_for(&mut self, span: Duration) {
        let end = self.offset + span;
        loop {
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= self.base + end => {
                    self.advance_to_next_deadline();
                }
                _ => break,
            }
        }
        self.offset = end;
        let now = self.now();
        self.a.handle_timeout(now);
        self.b.handle_timeout(now);
        self.pump();
    }

    fn place_call(&mut self, ring_timeout_secs: Option<u32>) -> CallView {
        let now = self.now();
        let call = PlaceCall {
            account: "default".into(),
            to: "default@127.0.0.2:5060".into(),
            ring_timeout_secs,
            ..Default::default()
        };
        let target = super::target::parse_callee(&call.to).expect("callee parses");
        let resolved = Resolved {
            transport: Transport::Udp,
            addrs: vec![addr(B_IP)],
        };
        let view = ask(&mut self.a, now, |reply| Command::PlaceCall {
            call,
            target,
            resolved,
            reply,
        })
        .expect("call placed");
        self.pump();
        view
    }

    fn a_call(&mut self, id: &str) -> CallView {
        let now = self.now();
        get_call(&mut self.a, now, id)
    }

    fn b_call(&mut self, id: &str) -> CallView {
        let now = self.now();
        get_call(&mut self.b, now, id)
    }

    /// B's incoming call (the only one in these tests).
    fn b_incoming(&mut self) -> Option<CallView> {
        let now = self.now();
        ask(&mut self.b, now, |reply| Command::ListCalls {
            limit: 10,
            reply,
        })
        .expect("list")
        .into_iter()
        .find(|c| c.direction == Direction::Incoming)
    }

    fn hangup_a(&mut self, id: &str) -> CallView {
        let now = self.now();
        let id = id.to_owned();
        let v = ask(&mut self.a, now, |reply| Command::Hangup { id, reply }).expect("hangup");
        self.pump();
        v
    }

    fn hangup_b(&mut self, id: &str) -> CallView {
        let now = self.now();
        let id = id.to_owned();
        let v = ask(&mut self.b, now, |reply| Command::Hangup { id, reply }).expect("hangup");
        self.pump();
        v
    }

    /// Messages A (`from_a`) or B sent, by label, whether delivered or not.
    fn sent(&self, from_a: bool) -> Vec<String> {
        let src = if from_a { addr(A_IP) } else { addr(B_IP) };
        self.log
            .iter()
            .filter(|p| p.from == src)
            .map(|p| label(&p.message))
            .collect()
    }

    fn count_sent(&self, from_a: bool, what: &str) -> usize {
        self.sent(from_a).iter().filter(|l| *l == what).count()
    }
}

fn calls(ring: u32, answer: u32) -> CallsConfig {
    CallsConfig {
        ring_timeout_secs: ring,
        answer_timeout_secs: answer,
        ..CallsConfig::default()
    }
}

fn ended(v: &CallView) -> bool {
    v.state == CallState::Terminated
}

#[test]
fn call_is_answered_and_hung_up() {
    let mut net = Net::new(0, calls(60, 60), calls(60, 60), true);
    let a_id = net.place_call(None).id;
    let b = net.b_incoming().expect("B got the INVITE");
    assert_eq!(b.state, CallState::Active);
    assert_eq!(b.reason, Reason::AcceptedByDevice);
    assert_eq!(b.codec.as_deref(), Some("PCMU"));
    let a = net.a_call(&a_id);
    assert_eq!(a.state, CallState::Active);
    assert_eq!(a.reason, Reason::AcceptedByRemote);
    assert_eq!(a.codec.as_deref(), Some("PCMU"));
    assert_eq!(a.sip_call_id, b.sip_call_id);
    // Each side's media address is the other's local one.
    assert_eq!(a.remote_rtp, b.local_rtp);
    assert_eq!(b.remote_rtp, a.local_rtp);
    assert!(net.sent(true).contains(&"ACK".to_owned()));
    assert_eq!(net.a.active_calls(), 1);
    assert_eq!(net.b.active_calls(), 1);

    // The ACK stops B's 2xx retransmissions: a while later still one 200.
    net.run_for(Duration::from_secs(10));
    assert_eq!(
        net.count_sent(false, "200 INVITE"),
        1,
        "{:?}",
        net.sent(false)
    );
    assert_eq!(net.a_call(&a_id).state, CallState::Active);

    let v = net.hangup_a(&a_id);
    assert!(matches!(
        v.state,
        CallState::Terminating | CallState::Terminated
    ));
    let a = net.a_call(&a_id);
    let b = net.b_call(&b.id);
    assert!(ended(&a), "{a:?}");
    assert!(ended(&b), "{b:?}");
    assert_eq!(a.reason, Reason::Terminated);
    assert_eq!(b.reason, Reason::Terminated);
    assert!(a.ended_at.is_some() && b.ended_at.is_some());
    assert_eq!(net.count_sent(true, "BYE"), 1);
    assert_eq!(net.count_sent(false, "200 BYE"), 1);
    assert_eq!(net.a.active_calls(), 0);
    assert_eq!(net.b.active_calls(), 0);
    assert!(net.a.dialogs.is_empty() && net.b.dialogs.is_empty());
}

#[test]
fn unanswered_call_is_cancelled_at_ring_timeout() {
    let mut net = Net::new(1, calls(60, 60), calls(60, 60), false);
    let a_id = net.place_call(Some(5));
    let a_id = a_id.id;
    assert_eq!(net.a_call(&a_id).state, CallState::Ringing);
    let b_id = net.b_incoming().expect("B rings").id;
    assert_eq!(net.b_call(&b_id).state, CallState::Ringing);

    assert!(net.run_until(Duration::from_secs(40), |n| {
        let id = a_id.clone();
        ended(&n.a_call(&id))
    }));
    let cancel_at = net
        .log
        .iter()
        .find(|p| label(&p.message) == "CANCEL")
        .map(|p| p.at)
        .expect("A sent a CANCEL");
    assert_eq!(
        cancel_at,
        Duration::from_secs(5),
        "CANCEL at the ring timeout"
    );
    let a = net.a_call(&a_id);
    assert_eq!(a.reason, Reason::NoAnswer);
    let b = net.b_call(&b_id);
    assert!(ended(&b), "{b:?}");
    assert_eq!(b.sip_status, Some(487));
    assert_eq!(net.count_sent(false, "487 INVITE"), 1);
    assert_eq!(net.count_sent(false, "200 CANCEL"), 1);
    assert_eq!(net.a.active_calls(), 0);
    assert_eq!(net.b.active_calls(), 0);
}

#[test]
fn callee_answer_timeout_gives_480() {
    let mut net = Net::new(2, calls(60, 60), calls(60, 3), false);
    let a_id = net.place_call(Some(30)).id;
    assert!(net.run_until(Duration::from_secs(40), |n| {
        let id = a_id.clone();
        ended(&n.a_call(&id))
    }));
    assert_eq!(
        net.offset,
        Duration::from_secs(3),
        "ended at B's answer timeout"
    );
    let a = net.a_call(&a_id);
    assert_eq!(a.reason, Reason::NoAnswer);
    assert_eq!(a.sip_status, Some(480));
    let b = net.b_incoming().expect("B's call is listed");
    assert!(ended(&b));
    assert_eq!(b.reason, Reason::NoAnswer);
    assert_eq!(b.sip_status, Some(480));
    assert_eq!(net.count_sent(true, "CANCEL"), 0);
}

#[test]
fn call_completes_through_thirty_percent_loss() {
    // Several seeds so the test does not pass by one lucky draw.
    let mut lossy_runs = 0;
    let mut lost = std::collections::BTreeSet::new();
    for seed in 0..16u64 {
        let mut net = Net::new(3, calls(60, 60), calls(60, 60), true);
        net.rng = StdRng::seed_from_u64(seed);
        net.loss_to_a = 0.3;
        net.loss_to_b = 0.3;
        let a_id = net.place_call(None).id;
        assert!(
            net.run_until(Duration::from_secs(30), |n| {
                let id = a_id.clone();
                n.a_call(&id).state == CallState::Active
                    && n.b_incoming().is_some_and(|b| b.state == CallState::Active)
            }),
            "seed {seed}: not set up; {:?}",
            net.log
                .iter()
                .map(|p| (label(&p.message), p.dropped))
                .collect::<Vec<_>>()
        );
        // Let the ACK get through (2xx retransmissions stop once it does).
        net.run_for(Duration::from_secs(20));
        let b_id = net.b_incoming().expect("B's call").id;
        assert_eq!(net.b_call(&b_id).state, CallState::Active, "seed {seed}");
        net.hangup_a(&a_id);
        assert!(
            net.run_until(Duration::from_secs(120), |n| {
                let (a, b) = (a_id.clone(), b_id.clone());
                ended(&n.a_call(&a)) && ended(&n.b_call(&b))
            }),
            "seed {seed}: not hung up"
        );
        assert_eq!(net.a_call(&a_id).reason, Reason::Terminated, "seed {seed}");
        assert_eq!(net.b_call(&b_id).reason, Reason::Terminated, "seed {seed}");
        if net.log.iter().any(|p| p.dropped) {
            lossy_runs += 1;
        }
        lost.extend(
            net.log
                .iter()
                .filter(|p| p.dropped)
                .map(|p| label(&p.message)),
        );
    }
    assert!(lossy_runs >= 12, "only {lossy_runs} runs lost packets");
    // Losses hit every step of the call at least once over the runs.
    for what in ["INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"] {
        assert!(lost.contains(what), "{what} never lost: {lost:?}");
    }
}

#[test]
fn timer_b_fails_the_call_with_408_in_virtual_time() {
    let started = Instant::now();
    let mut net = Net::new(4, calls(120, 60), calls(60, 60), true);
    net.loss_to_b = 1.0;
    let a_id = net.place_call(None).id;
    assert!(net.run_until(Duration::from_secs(200), |n| {
        let id = a_id.clone();
        ended(&n.a_call(&id))
    }));
    let t1 = Duration::from_millis(net.a.config.timers.t1_ms);
    assert_eq!(net.offset, 64 * t1, "Timer B is 64*T1");
    let a = net.a_call(&a_id);
    assert_eq!(a.sip_status, Some(408));
    assert_eq!(a.reason, Reason::for_failure_status(408));
    assert_eq!(a.reason, Reason::NoAnswer);
    // Timer A: INVITE retransmitted at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s.
    assert_eq!(net.count_sent(true, "INVITE"), 7, "{:?}", net.sent(true));
    assert!(net.log.iter().all(|p| p.to == addr(B_IP) && p.dropped));
    assert!(net.b_incoming().is_none());
    assert_eq!(net.a.active_calls(), 0);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ran in virtual time"
    );
}

#[test]
fn rejected_call_ends_busy_on_both_sides() {
    let mut net = Net::new(5, calls(60, 60), calls(60, 60), false);
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B rings").id;
    let now = net.now();
    let id = b_id.clone();
    let v = ask(&mut net.b, now, |reply| Command::Reject {
        id,
        code: 486,
        reply,
    })
    .expect("reject");
    assert!(ended(&v));
    assert_eq!(v.reason, Reason::Busy);
    net.pump();
    let a = net.a_call(&a_id);
    assert!(ended(&a), "{a:?}");
    assert_eq!(a.reason, Reason::Busy);
    assert_eq!(a.sip_status, Some(486));
    assert!(net.sent(true).contains(&"ACK".to_owned()), "A ACKs the 486");
    // The ACK stops B's 486 retransmissions (Timer G).
    net.run_for(Duration::from_secs(40));
    assert_eq!(
        net.count_sent(false, "486 INVITE"),
        1,
        "{:?}",
        net.sent(false)
    );
    // Rejecting again is a conflict.
    let now = net.now();
    let again = ask(&mut net.b, now, |reply| Command::Reject {
        id: b_id,
        code: 486,
        reply,
    });
    assert!(matches!(again, Err(EngineError::Conflict(_))), "{again:?}");
}

#[test]
fn callee_hangs_up() {
    let mut net = Net::new(8, calls(60, 60), calls(60, 60), true);
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B answered").id;
    assert_eq!(net.a_call(&a_id).state, CallState::Active);
    net.hangup_b(&b_id);
    let (a, b) = (net.a_call(&a_id), net.b_call(&b_id));
    assert!(ended(&a) && ended(&b), "{a:?} {b:?}");
    assert_eq!(a.reason, Reason::Terminated);
    assert_eq!(b.reason, Reason::Terminated);
    assert_eq!(net.count_sent(false, "BYE"), 1);
    assert_eq!(net.count_sent(true, "200 BYE"), 1);
    // Hanging up an ended call is a conflict, not a second BYE.
    let now = net.now();
    let again = ask(&mut net.b, now, |reply| Command::Hangup { id: b_id, reply });
    assert!(matches!(again, Err(EngineError::Conflict(_))), "{again:?}");
    net.pump();
    assert_eq!(net.count_sent(false, "BYE"), 1);
}

#[test]
fn caller_hangup_while_ringing_cancels() {
    let mut net = Net::new(9, calls(60, 60), calls(60, 60), false);
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B rings").id;
    net.run_for(Duration::from_secs(2));
    net.hangup_a(&a_id);
    assert!(net.run_until(Duration::from_secs(40), |n| {
        let id = a_id.clone();
        ended(&n.a_call(&id))
    }));
    assert_eq!(net.count_sent(true, "CANCEL"), 1);
    let a = net.a_call(&a_id);
    assert_eq!(a.reason, Reason::Terminated);
    assert_eq!(a.sip_status, Some(487));
    let b = net.b_call(&b_id);
    assert!(ended(&b));
    assert_eq!(b.reason, Reason::Terminated);
    assert_eq!(b.sip_status, Some(487));
    assert!(net.sent(true).contains(&"ACK".to_owned()), "A ACKs the 487");
}

#[test]
fn late_answer_after_ring_timeout_is_acked_and_hung_up() {
    // A hears nothing from B for a while: no provisional, so at its ring timeout
    // A gives up without a CANCEL (RFC 3261 §9.1). B's 2xx then gets through.
    let mut net = Net::new(10, calls(60, 60), calls(60, 60), true);
    net.loss_to_a = 1.0;
    let a_id = net.place_call(Some(5)).id;
    let b_id = net.b_incoming().expect("B answered").id;
    assert!(net.run_until(Duration::from_secs(10), |n| {
        let id = a_id.clone();
        ended(&n.a_call(&id))
    }));
    assert_eq!(net.offset, Duration::from_secs(5));
    assert_eq!(net.a_call(&a_id).reason, Reason::NoAnswer);
    assert_eq!(net.count_sent(true, "CANCEL"), 0);
    net.loss_to_a = 0.0;
    assert!(net.run_until(Duration::from_secs(30), |n| {
        let id = b_id.clone();
        ended(&n.b_call(&id))
    }));
    assert!(net.count_sent(true, "ACK") >= 1, "{:?}", net.sent(true));
    assert_eq!(net.count_sent(true, "BYE"), 1);
    let b = net.b_call(&b_id);
    assert_eq!(b.reason, Reason::Terminated);
    let a = net.a_call(&a_id);
    assert!(ended(&a));
    assert_eq!(a.reason, Reason::NoAnswer);
    assert!(
        a.answered_at.is_none(),
        "a call given up on was never answered: {a:?}"
    );
    assert_eq!(net.a.active_calls(), 0);
    assert_eq!(net.b.active_calls(), 0);
}

#[test]
fn unacknowledged_answer_ends_the_call() {
    let mut net = Net::new(11, calls(60, 60), calls(60, 60), true);
    net.block = vec!["ACK"];
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B answered").id;
    assert!(net.run_until(Duration::from_secs(60), |n| {
        let id = b_id.clone();
        ended(&n.b_call(&id))
    }));
    let t1 = Duration::from_millis(net.b.config.timers.t1_ms);
    assert_eq!(net.offset, 64 * t1, "B gives up on the ACK after 64*T1");
    // 2xx retransmitted at T1, 2T1, 4T1… capped at T2.
    assert!(
        net.count_sent(false, "200 INVITE") >= 10,
        "{:?}",
        net.sent(false)
    );
    assert_eq!(net.count_sent(false, "BYE"), 1);
    assert_eq!(net.b_call(&b_id).reason, Reason::Failed);
    let a = net.a_call(&a_id);
    assert!(ended(&a));
    assert_eq!(a.reason, Reason::Terminated);
}

#[test]
fn requests_for_unknown_dialogs_get_481() {
    let mut net = Net::new(12, calls(60, 60), calls(60, 60), true);
    let a_id = net.place_call(None).id;
    net.hangup_a(&a_id);
    // Replay A's BYE after the call is gone from B.
    let bye = net
        .log
        .iter()
        .find(|p| label(&p.message) == "BYE")
        .map(|p| p.message.clone())
        .expect("a BYE was sent");
    let Message::Request(mut bye) = bye else {
        panic!("BYE is a request");
    };
    bye.head.cseq.seq += 1;
    if let Some(v) = bye.head.via.first_mut() {
        v.params.set("branch", Some("z9hG4bKreplayed1"));
    }
    let now = net.now();
    net.b.receive(
        Inbound {
            message: Message::Request(bye),
            source: addr(A_IP),
            transport: Transport::Udp,
        },
        now,
    );
    let answers: Vec<String> = net
        .b
        .outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send { bytes, .. } => Some(label(&parse(bytes))),
            _ => None,
        })
        .collect();
    assert_eq!(answers, vec!["481 BYE".to_owned()]);
}

/// A scripted registrar: 401 with a challenge, then 200 granting `granted`
/// seconds to a REGISTER with valid credentials.
struct FakeRegistrar {
    digest: DigestServer,
    rng: StdRng,
    granted: u32,
    password: &'static str,
    seen: Vec<Request>,
}

impl FakeRegistrar {
    fn answer(&mut self, req: &Request, now_secs: u64) -> Response {
        self.seen.push(req.clone());
        assert_eq!(req.method, Method::Register);
        let creds = req
            .head
            .other
            .get("Authorization")
            .and_then(|v| Credentials::parse(v).ok());
        let ok = creds.is_some_and(|c| {
            self.digest.verify(
                &c,
                "REGISTER",
                UserSecret::Password(self.password),
                &req.body,
                now_secs,
            ) == Verification::Ok
        });
        let mut resp = if ok {
            let mut r = Response::for_request(req, StatusCode::OK, None);
            let expires = if req.head.other.get("Expires") == Some("0") {
                0
            } else {
                self.granted
            };
            r.head.other.push("Expires", expires.to_string());
            r.head.contact = req.head.contact.clone();
            r
        } else {
            let mut r = Response::for_request(req, StatusCode::UNAUTHORIZED, None);
            let ch =
                self.digest
                    .challenge("callwire.test", Algorithm::Md5, &mut self.rng, now_secs);
            r.head.other.push("WWW-Authenticate", ch.to_string());
            r
        };
        resp.head.to.set_tag("reg1");
        resp
    }
}

/// Delivers the core's REGISTERs to the registrar and its answers back; other
/// outputs are kept for the caller.
fn pump_registrar(
    core: &mut Core,
    reg: &mut FakeRegistrar,
    now: Instant,
    secs: u64,
) -> Vec<Output> {
    let mut rest = Vec::new();
    loop {
        let outputs: Vec<Output> = core.outputs.drain(..).collect();
        if outputs.is_empty() {
            return rest;
        }
        for out in outputs {
            match out {
                Output::Send {
                    transport,
                    dest,
                    bytes,
                } => {
                    assert_eq!(dest, REGISTRAR.parse::<SocketAddr>().unwrap());
                    let Message::Request(req) = parse(&bytes) else {
                        panic!("the client sent a response");
                    };
                    let resp = reg.answer(&req, secs);
                    let message = parse(&resp.to_bytes());
                    core.receive(
                        Inbound {
                            message,
                            source: dest,
                            transport,
                        },
                        now,
                    );
                }
                other => rest.push(other),
            }
        }
    }
}

#[test]
fn account_registers_refreshes_and_unregisters() {
    let base = Instant::now();
    let mut a = core(A_IP, 6, calls(60, 60), 11);
    let mut record = account("alice", "alice", "callwire.test");
    record.registrar = Some(REGISTRAR.into());
    record.password = Some("s3cret".into());
    a.load_accounts(vec![record], base);
    let mut reg = FakeRegistrar {
        digest: DigestServer::new([9; 32]),
        rng: StdRng::seed_from_u64(3),
        granted: 60,
        password: "s3cret",
        seen: Vec::new(),
    };
    // Nothing goes out before the registrar's address is known.
    let outs = pump_registrar(&mut a, &mut reg, base, 0);
    assert!(reg.seen.is_empty());
    let (key, generation) = outs
        .iter()
        .find_map(|o| match o {
            Output::ResolveRegistrar {
                account,
                generation,
                ..
            } => Some((account.clone(), *generation)),
            _ => None,
        })
        .expect("A asks for the registrar's address");
    assert!(key.starts_with("alice"));
    assert_eq!(
        get_account(&mut a, base, "alice").registration.state,
        RegistrationState::Registering
    );
    a.on_registrar_resolved(
        &key,
        generation,
        Ok(Resolved {
            transport: Transport::Udp,
            addrs: vec![REGISTRAR.parse().unwrap()],
        }),
        base,
    );
    // Core bug (see `registrar_resolution_sends_the_register_at_once`): the
    // REGISTER stays in the transaction layer until something drains it.
    a.drain_tx(base);
    pump_registrar(&mut a, &mut reg, base, 0);
    assert_eq!(
        reg.seen.len(),
        2,
        "REGISTER, then REGISTER with credentials"
    );
    assert!(reg.seen[1].head.other.get("Authorization").is_some());
    let view = get_account(&mut a, base, "alice");
    assert_eq!(view.registration.state, RegistrationState::Registered);
    assert_eq!(view.registration.code, Some(200));

    // The binding (60 s granted) is refreshed before it expires.
    let mut offset = Duration::ZERO;
    while reg.seen.len() == 2 {
        let next = a.poll_timeout().expect("a refresh is scheduled");
        offset = next - base;
        assert!(offset < Duration::from_secs(60), "no refresh before expiry");
        a.handle_timeout(next);
        pump_registrar(&mut a, &mut reg, next, offset.as_secs());
    }
    assert!(
        offset >= Duration::from_secs(30),
        "refreshed too early: {offset:?}"
    );
    let refresh = &reg.seen[2];
    assert_eq!(refresh.head.call_id, reg.seen[0].head.call_id);
    assert!(refresh.head.cseq.seq > reg.seen[1].head.cseq.seq);
    let now = base + offset;
    assert_eq!(
        get_account(&mut a, now, "alice").registration.state,
        RegistrationState::Registered
    );

    // Deleting the account unregisters it.
    let before = reg.seen.len();
    ask(&mut a, now, |reply| Command::DeleteAccount {
        id: "alice".into(),
        reply,
    })
    .expect("deleted");
    let outs = pump_registrar(&mut a, &mut reg, now, offset.as_secs());
    let unregister = reg.seen[before..].last().expect("an unREGISTER was sent");
    assert_eq!(unregister.head.other.get("Expires"), Some("0"));
    assert!(outs
        .iter()
        .any(|o| matches!(o, Output::DeleteAccount(id) if id == "alice")));
    assert!(a.retiring.is_empty(), "registration gone once unregistered");
    assert!(!a.accounts.contains_key("alice"));
    assert!(reg.seen[before..]
        .iter()
        .all(|r| r.head.other.get("Expires") == Some("0")));
    // Nothing is left scheduled for it: no REGISTER an hour later.
    let after = reg.seen.len();
    let later = now + Duration::from_secs(3600);
    a.handle_timeout(later);
    pump_registrar(&mut a, &mut reg, later, 3600);
    assert_eq!(reg.seen.len(), after);
}

/// The registrar's address arrives while a REGISTER waits for it: the REGISTER
/// must go out with the outputs of that very call, as the driver flushes only
/// `outputs` after `on_registrar_resolved`.
#[test]
fn registrar_resolution_sends_the_register_at_once() {
    let base = Instant::now();
    let mut a = core(A_IP, 7, calls(60, 60), 12);
    let mut record = account("bob", "bob", "callwire.test");
    record.registrar = Some(REGISTRAR.into());
    a.load_accounts(vec![record], base);
    let (key, generation) = a
        .outputs
        .drain(..)
        .find_map(|o| match o {
            Output::ResolveRegistrar {
                account,
                generation,
                ..
            } => Some((account, generation)),
            _ => None,
        })
        .expect("A asks for the registrar's address");
    a.on_registrar_resolved(
        &key,
        generation,
        Ok(Resolved {
            transport: Transport::Udp,
            addrs: vec![REGISTRAR.parse().unwrap()],
        }),
        base,
    );
    let registers = a
        .outputs
        .iter()
        .filter(|o| matches!(o, Output::Send { bytes, .. } if bytes.starts_with(b"REGISTER ")))
        .count();
    assert_eq!(registers, 1, "the REGISTER goes out at once");
}

// ----- media control through SIP: hold/resume, INFO DTMF, media timeout -----

fn hold(core: &mut Core, now: Instant, id: &str, on: bool) -> Result<CallView, EngineError> {
    let id = id.to_owned();
    ask(core, now, |reply| Command::Hold {
        id,
        hold: on,
        reply,
    })
}

/// The SDP bodies of the messages `from_a` sent with this label, in order.
fn sdp_bodies(net: &Net, from_a: bool, what: &str) -> Vec<String> {
    let src = if from_a { addr(A_IP) } else { addr(B_IP) };
    net.log
        .iter()
        .filter(|p| p.from == src && label(&p.message) == what)
        .map(|p| {
            let body = match &p.message {
                Message::Request(r) => &r.body,
                Message::Response(r) => &r.body,
            };
            String::from_utf8_lossy(body).into_owned()
        })
        .collect()
}

#[test]
fn hold_and_resume_renegotiate_the_direction() {
    let mut net = Net::new(10, calls(60, 60), calls(60, 60), true);
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B answered").id;
    let now = net.now();
    let v = hold(&mut net.a, now, &a_id, true).expect("hold accepted");
    assert!(v.on_hold, "the view shows the hold at once");
    net.pump();
    let invites = sdp_bodies(&net, true, "INVITE");
    assert_eq!(invites.len(), 2, "the call's INVITE and the re-INVITE");
    assert!(invites[1].contains("a=sendonly"), "{}", invites[1]);
    let answers = sdp_bodies(&net, false, "200 INVITE");
    assert!(
        answers.last().is_some_and(|a| a.contains("a=recvonly")),
        "{answers:?}"
    );
    assert_eq!(
        net.count_sent(true, "ACK"),
        2,
        "the re-INVITE's 2xx is ACKed"
    );
    assert!(net.a_call(&a_id).on_hold);
    assert!(net.b_call(&b_id).remote_hold);
    // The o= version goes up with every new offer (RFC 3264 §8).
    let version = |sdp: &str| {
        sdp.lines()
            .find(|l| l.starts_with("o="))
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|v| v.parse::<u64>().ok())
    };
    assert!(version(&invites[1]) > version(&invites[0]));
    // Holding twice changes nothing and sends nothing.
    let now = net.now();
    hold(&mut net.a, now, &a_id, true).expect("idempotent");
    net.pump();
    assert_eq!(net.count_sent(true, "INVITE"), 2);

    let now = net.now();
    let v = hold(&mut net.a, now, &a_id, false).expect("resume accepted");
    assert!(!v.on_hold);
    net.pump();
    let invites = sdp_bodies(&net, true, "INVITE");
    assert!(invites[2].contains("a=sendrecv"), "{}", invites[2]);
    assert!(!net.b_call(&b_id).remote_hold);
    assert!(!net.a_call(&a_id).on_hold);
    assert_eq!(net.a_call(&a_id).state, CallState::Active);
}

#[test]
fn hold_glare_is_retried_after_491() {
    let mut net = Net::new(11, calls(60, 60), calls(60, 60), true);
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B answered").id;
    // Both sides hold at the same moment: each re-INVITE meets the other's.
    let now = net.now();
    hold(&mut net.a, now, &a_id, true).expect("A holds");
    hold(&mut net.b, now, &b_id, true).expect("B holds");
    net.pump();
    assert!(net.count_sent(true, "491 INVITE") + net.count_sent(false, "491 INVITE") >= 1);
    // Within the RFC's retry window (at most 4 s) both holds go through.
    let done = net.run_until(Duration::from_secs(10), |n| {
        let (a, b) = (n.a_call(&a_id), n.b_call(&b_id));
        a.on_hold && b.on_hold && a.remote_hold && b.remote_hold
    });
    assert!(done, "{:?}", net.sent(true));
    assert_eq!(net.a_call(&a_id).state, CallState::Active);
    assert_eq!(net.b_call(&b_id).state, CallState::Active);
}

#[test]
fn hold_needs_an_active_call() {
    let mut net = Net::new(12, calls(60, 60), calls(60, 60), false);
    let a_id = net.place_call(None).id;
    let now = net.now();
    let err = hold(&mut net.a, now, &a_id, true).expect_err("ringing call");
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    let err = hold(&mut net.a, now, "no-such-call", true).expect_err("unknown call");
    assert!(matches!(err, EngineError::NotFound { .. }), "{err:?}");
}

#[test]
fn info_dtmf_arrives_in_order_one_request_at_a_time() {
    let mut net = Net::new(13, calls(60, 60), calls(60, 60), true);
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B answered").id;
    // Block B's answers to INFO at first: A must not send the next digit before
    // the previous one is answered.
    net.block = vec!["200 INFO"];
    let now = net.now();
    let id = a_id.clone();
    ask(&mut net.a, now, |reply| Command::SendDtmf {
        id,
        digits: "1,2#".into(),
        how: super::calls::DtmfSend::Mode(crate::model::account::DtmfMode::Info),
        reply,
    })
    .expect("DTMF accepted");
    net.pump();
    assert_eq!(net.count_sent(true, "INFO"), 1, "{:?}", net.sent(true));
    net.block.clear();
    net.run_until(Duration::from_secs(20), |n| n.b_call(&b_id).dtmf.len() >= 3);
    let b = net.b_call(&b_id);
    let digits: String = b.dtmf.iter().map(|d| d.digit).collect();
    assert_eq!(digits, "12#", "{:?}", b.dtmf);
    assert!(b.dtmf.iter().all(|d| d.method == "info"));
    assert_eq!(
        net.count_sent(false, "200 INFO"),
        3 + 1,
        "one retransmitted 200 for the first INFO"
    );
}

#[test]
fn media_timeout_ends_the_call_with_bye() {
    let mut net = Net::new(14, calls(60, 60), calls(60, 60), true);
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B answered").id;
    let now = net.now();
    net.a.on_media_event(
        crate::driver::media::CallMediaEvent {
            call: a_id.clone(),
            event: crate::driver::media::MediaEvent::Session(
                callwire_media::session::SessionEvent::MediaTimeout {
                    silence: Duration::from_secs(30),
                },
            ),
        },
        now,
    );
    net.pump();
    assert_eq!(net.count_sent(true, "BYE"), 1);
    let a = net.a_call(&a_id);
    assert!(ended(&a), "{a:?}");
    assert_eq!(a.reason, Reason::MediaTimeout);
    assert!(ended(&net.b_call(&b_id)));
}

#[test]
fn call_events_are_numbered_in_order() {
    let mut net = Net::new(15, calls(60, 60), calls(60, 60), true);
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B answered").id;
    let now = net.now();
    hold(&mut net.a, now, &a_id, true).expect("hold");
    net.pump();
    net.hangup_a(&a_id);
    let kinds = |from_a: bool, call: &str| -> Vec<String> {
        net.events
            .iter()
            .filter(|(a, e)| *a == from_a && e.call.as_deref() == Some(call))
            .map(|(_, e)| e.kind.clone())
            .collect()
    };
    assert_eq!(
        kinds(true, &a_id),
        [
            "call.created",
            "call.ringing",
            "call.answered",
            "call.hold_changed",
            "call.state_changed",
            "call.ended"
        ],
        "{:?}",
        kinds(true, &a_id)
    );
    assert_eq!(
        kinds(false, &b_id),
        [
            "call.created",
            "call.answered",
            "call.hold_changed",
            "call.ended"
        ]
    );
    // Each core numbers its own events 1, 2, 3, … without gaps.
    for side in [true, false] {
        let seqs: Vec<u64> = net
            .events
            .iter()
            .filter(|(a, _)| *a == side)
            .map(|(_, e)| e.seq)
            .collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    }
    // Every call event carries the call's full view.
    let (_, ended) = net
        .events
        .iter()
        .rev()
        .find(|(a, e)| *a && e.kind == "call.ended")
        .expect("call.ended");
    assert_eq!(ended.data["state"], "terminated");
    assert_eq!(ended.data["id"], a_id.as_str());
}

#[test]
fn call_options_shape_the_invite_and_max_duration_hangs_up() {
    let mut net = Net::new(16, calls(60, 60), calls(60, 60), true);
    let now = net.now();
    let call = PlaceCall {
        account: "default".into(),
        to: "default@127.0.0.2:5060".into(),
        caller_name: Some("Front Door".into()),
        caller_user: Some("door-1".into()),
        headers: vec![("X-Site".into(), "north gate".into())],
        max_duration_secs: Some(5),
        ..Default::default()
    };
    call.validate().expect("valid options");
    let target = super::target::parse_callee(&call.to).expect("callee parses");
    let resolved = Resolved {
        transport: Transport::Udp,
        addrs: vec![addr(B_IP)],
    };
    let a_id = ask(&mut net.a, now, |reply| Command::PlaceCall {
        call,
        target,
        resolved,
        reply,
    })
    .expect("placed")
    .id;
    net.pump();
    let invite = net
        .log
        .iter()
        .find_map(|p| match &p.message {
            Message::Request(r) if r.method == Method::Invite => Some(r.clone()),
            _ => None,
        })
        .expect("an INVITE");
    assert_eq!(invite.head.from.display.as_deref(), Some("Front Door"));
    assert_eq!(
        invite
            .head
            .from
            .uri
            .as_sip()
            .and_then(|u| u.user.as_deref()),
        Some("door-1")
    );
    assert_eq!(invite.head.other.get("X-Site"), Some("north gate"));
    assert_eq!(net.a_call(&a_id).state, CallState::Active);
    // Still up at 4.9 s; hung up by A at 5 s.
    net.run_for(Duration::from_millis(4900));
    assert_eq!(net.a_call(&a_id).state, CallState::Active);
    assert_eq!(net.count_sent(true, "BYE"), 0);
    net.run_for(Duration::from_millis(200));
    assert_eq!(net.count_sent(true, "BYE"), 1);
    let a = net.a_call(&a_id);
    assert!(ended(&a), "{a:?}");
    assert_eq!(a.reason, Reason::Terminated);
}

#[test]
fn bad_call_options_are_refused() {
    let base = PlaceCall {
        account: "default".into(),
        to: "sip:x@127.0.0.1".into(),
        ..Default::default()
    };
    let cases = [
        PlaceCall {
            headers: vec![("Via".into(), "x".into())],
            ..base.clone()
        },
        PlaceCall {
            headers: vec![("X-Bad Name".into(), "x".into())],
            ..base.clone()
        },
        PlaceCall {
            headers: vec![("X-Ok".into(), "line\r\nbreak".into())],
            ..base.clone()
        },
        PlaceCall {
            caller_name: Some("quo\"te".into()),
            ..base.clone()
        },
        PlaceCall {
            caller_user: Some("a b".into()),
            ..base.clone()
        },
        PlaceCall {
            max_duration_secs: Some(0),
            ..base.clone()
        },
    ];
    for c in cases {
        assert!(
            matches!(c.validate(), Err(EngineError::InvalidArgument(_))),
            "{c:?}"
        );
    }
    assert!(base.validate().is_ok());
}

#[test]
fn a_bound_dtmf_sequence_emits_its_event() {
    use crate::model::dtmf::{DtmfConfigurationInput, DtmfSequence};
    let mut net = Net::new(17, calls(60, 60), calls(60, 60), true);
    net.b
        .put_dtmf_configuration(
            "door".into(),
            DtmfConfigurationInput {
                name: "Door".into(),
                sequences: vec![
                    DtmfSequence {
                        sequence: "#12#".into(),
                        name: "OpenDoor".into(),
                    },
                    DtmfSequence {
                        sequence: "99".into(),
                        name: "Alarm".into(),
                    },
                ],
            },
            true,
        )
        .expect("configuration");
    net.b
        .create_dtmf_trigger("t".into(), "door".into(), "default".into())
        .expect("trigger");
    let a_id = net.place_call(None).id;
    let b_id = net.b_incoming().expect("B answered").id;
    let now = net.now();
    let id = a_id.clone();
    ask(&mut net.a, now, |reply| Command::SendDtmf {
        id,
        digits: "5#12#9".into(),
        how: super::calls::DtmfSend::Mode(crate::model::account::DtmfMode::Info),
        reply,
    })
    .expect("DTMF accepted");
    net.run_until(Duration::from_secs(20), |n| n.b_call(&b_id).dtmf.len() >= 6);
    let hits: Vec<_> = net
        .events
        .iter()
        .filter(|(a, e)| !*a && e.kind == "call.dtmf_sequence")
        .map(|(_, e)| e.detail.clone().unwrap_or_default())
        .collect();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["name"], "OpenDoor");
    assert_eq!(hits[0]["configuration"], "door");
    // The trigger's configuration cannot go while it is bound.
    assert!(matches!(
        net.b.delete_dtmf_configuration("door"),
        Err(EngineError::Conflict(_))
    ));
    net.b.delete_dtmf_trigger("t").expect("trigger deleted");
    net.b
        .delete_dtmf_configuration("door")
        .expect("configuration deleted");
}

// Account call policies, calls waiting for registration, early media.
mod early_media;
mod policy;
mod waiting;
