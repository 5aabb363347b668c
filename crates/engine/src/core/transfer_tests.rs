//! Call transfer between three cores on a simulated network in virtual time:
//! A (transferor), B (transferee) and C (target). Blind and attended
//! transfers end to end, refusals by policy, a busy target, a transferee
//! that never reports (the 32 s wait passes in microseconds), INVITEs with
//! Replaces that match, do not match, or ask for early dialogs only.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use callwire_sip::message::{Message, Method, Request, Uri};
use callwire_sip::parse::{parse_datagram, Limits};
use callwire_sip::refer::{self, Replaces};
use callwire_sip::transaction::Transport;
use callwire_store::AccountRecord;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::oneshot;

use super::calls::transfer::TransferTo;
use super::{Command, Core, Output};
use crate::config::{CallsConfig, EngineConfig, RtpConfig};
use crate::driver::dns::Resolved;
use crate::driver::transport::Inbound;
use crate::error::EngineError;
use crate::model::account::{AccountSettings, PasswordChange, ReferPolicy};
use crate::model::call::{CallState, CallView, Direction, Reason};
use crate::model::event::Event;
use crate::model::transfer::{TransferRole, TransferState};
use crate::PlaceCall;

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

fn ip(node: usize) -> [u8; 4] {
    [127, 0, 0, 11 + node as u8]
}

fn addr(node: usize) -> SocketAddr {
    SocketAddr::from((ip(node), 5060))
}

fn core(node: usize, slot: u16) -> Core {
    let config = EngineConfig {
        sip_bind: addr(node),
        rtp: RtpConfig {
            // Apart from core/tests.rs (47000-47400) and from each other.
            port_start: 49_000 + node as u16 * 400 + slot * 20,
            port_count: 20,
        },
        calls: CallsConfig {
            ring_timeout_secs: 60,
            answer_timeout_secs: 60,
            ..CallsConfig::default()
        },
        ..EngineConfig::default()
    };
    Core::new(
        config,
        IpAddr::from(ip(node)),
        5060,
        StdRng::seed_from_u64(100 + node as u64),
    )
}

fn default_account(node: usize, auto_answer: bool) -> AccountRecord {
    AccountRecord {
        id: "default".into(),
        display_name: None,
        user: ["alice", "bob", "carol"][node].into(),
        domain: IpAddr::from(ip(node)).to_string(),
        registrar: None,
        secondary_registrar: None,
        outbound_proxy: None,
        auth_user: None,
        password: None,
        transport: "udp".into(),
        expires: 3600,
        auto_answer,
        enabled: true,
        max_calls: None,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
        codecs: None,
        dtmf_mode: None,
        policy: None,
    }
}

fn ask<T>(
    core: &mut Core,
    now: Instant,
    make: impl FnOnce(oneshot::Sender<Result<T, EngineError>>) -> Command,
) -> Result<T, EngineError> {
    let (tx, mut rx) = oneshot::channel();
    core.command(make(tx), now);
    rx.try_recv().expect("the core replied synchronously")
}

/// One datagram that went over the simulated wire.
struct Packet {
    from: usize,
    message: Message,
    dropped: bool,
}

/// Three cores on one lossless network; `block` drops messages by label.
struct Net {
    nodes: Vec<Core>,
    base: Instant,
    offset: Duration,
    block: Vec<(usize, &'static str)>,
    log: Vec<Packet>,
    events: Vec<(usize, Event)>,
}

/// `INVITE`, `200 INVITE`, `NOTIFY`…
fn label(m: &Message) -> String {
    match m {
        Message::Request(r) => r.method.to_string(),
        Message::Response(r) => format!("{} {}", r.status.code(), r.head.cseq.method),
    }
}

impl Net {
    /// A, B and C; B and C answer calls themselves when asked to.
    fn new(slot: u16, b_auto: bool, c_auto: bool) -> Net {
        let base = Instant::now();
        let mut nodes = Vec::new();
        for (node, auto) in [(A, false), (B, b_auto), (C, c_auto)] {
            let mut core = core(node, slot);
            core.load_accounts(vec![default_account(node, auto)], base);
            nodes.push(core);
        }
        let mut net = Net {
            nodes,
            base,
            offset: Duration::ZERO,
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

    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for from in 0..self.nodes.len() {
                let outputs: Vec<Output> = self.nodes[from].outputs.drain(..).collect();
                for out in outputs {
                    let (transport, dest, bytes) = match out {
                        Output::Event(e) => {
                            self.events.push((from, e));
                            continue;
                        }
                        Output::ResolveTransferTarget { .. } => {
                            panic!("the tests use IP literals only")
                        }
                        Output::Send {
                            transport,
                            dest,
                            bytes,
                        } => (transport, dest, bytes),
                        _ => continue,
                    };
                    moved = true;
                    let message =
                        parse_datagram(&bytes, &Limits::default()).expect("parsable message");
                    let to = (0..self.nodes.len()).find(|n| addr(*n) == dest);
                    let dropped = to.is_none()
                        || self
                            .block
                            .iter()
                            .any(|(f, l)| *f == from && *l == label(&message));
                    self.log.push(Packet {
                        from,
                        message: message.clone(),
                        dropped,
                    });
                    if let (Some(to), false) = (to, dropped) {
                        let now = self.now();
                        self.nodes[to].receive(
                            Inbound {
                                message,
                                source: addr(from),
                                transport,
                            },
                            now,
                        );
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Runs every deadline up to `span` from now.
    fn run_for(&mut self, span: Duration) {
        let end = self.offset + span;
        loop {
            self.pump();
            let next = self.nodes.iter().filter_map(Core::poll_timeout).min();
            match next {
                Some(t) if t <= self.base + end => {
                    self.offset = self.offset.max(t.saturating_duration_since(self.base));
                    let now = self.now();
                    for n in &mut self.nodes {
                        n.handle_timeout(now);
                    }
                }
                _ => break,
            }
        }
        self.offset = end;
        let now = self.now();
        for n in &mut self.nodes {
            n.handle_timeout(now);
        }
        self.pump();
    }

    /// `from` calls `to`'s default account; returns `from`'s call.
    fn call(&mut self, from: usize, to: usize, headers: Vec<(String, String)>) -> CallView {
        let now = self.now();
        let place = PlaceCall {
            account: "default".into(),
            to: format!("{}@{}", ["alice", "bob", "carol"][to], addr(to)),
            headers,
            ..Default::default()
        };
        let target = super::target::parse_callee(&place.to).expect("callee parses");
        let resolved = Resolved {
            transport: Transport::Udp,
            addrs: vec![addr(to)],
        };
        let view = ask(&mut self.nodes[from], now, |reply| Command::PlaceCall {
            call: place,
            target,
            resolved,
            reply,
        })
        .expect("call placed");
        self.pump();
        view
    }

    fn view(&mut self, node: usize, id: &str) -> CallView {
        let now = self.now();
        let id = id.to_owned();
        ask(&mut self.nodes[node], now, |reply| Command::GetCall {
            id,
            reply,
        })
        .expect("call")
    }

    fn calls(&mut self, node: usize) -> Vec<CallView> {
        let now = self.now();
        ask(&mut self.nodes[node], now, |reply| Command::ListCalls {
            limit: 100,
            reply,
        })
        .expect("list")
    }

    /// `node`'s only incoming call not ended, or the newest one.
    fn incoming(&mut self, node: usize) -> CallView {
        let calls = self.calls(node);
        calls
            .iter()
            .find(|c| c.direction == Direction::Incoming && !c.state.is_ended())
            .or_else(|| calls.iter().find(|c| c.direction == Direction::Incoming))
            .cloned()
            .expect("an incoming call")
    }

    fn transfer(&mut self, node: usize, id: &str, to: TransferTo) -> Result<CallView, EngineError> {
        let now = self.now();
        let id = id.to_owned();
        let r = ask(&mut self.nodes[node], now, |reply| Command::Transfer {
            id,
            to,
            reply,
        });
        self.pump();
        r
    }

    fn blind(&mut self, node: usize, id: &str, to: usize) -> Result<CallView, EngineError> {
        let uri = super::target::parse_callee(&format!("carol@{}", addr(to))).expect("uri");
        self.transfer(node, id, TransferTo::Uri(uri))
    }

    fn update_policy(&mut self, node: usize, change: impl FnOnce(&mut AccountSettings)) {
        let now = self.now();
        let mut settings = ask(&mut self.nodes[node], now, |reply| Command::GetAccount {
            id: "default".into(),
            reply,
        })
        .expect("account")
        .settings;
        change(&mut settings);
        ask(&mut self.nodes[node], now, |reply| Command::UpdateAccount {
            id: "default".into(),
            settings,
            password: PasswordChange::Keep,
            reply,
        })
        .expect("updated");
        self.pump();
    }

    /// The `call.transfer` states `node` published for call `id`, in order.
    fn transfer_states(&self, node: usize, id: &str) -> Vec<(TransferState, Option<u16>)> {
        self.events
            .iter()
            .filter(|(n, e)| {
                *n == node && e.kind == "call.transfer" && e.call.as_deref() == Some(id)
            })
            .map(|(_, e)| {
                let d = e.detail.clone().expect("detail");
                let view: crate::model::transfer::TransferView =
                    serde_json::from_value(d).expect("a transfer view");
                (view.state, view.sip_status)
            })
            .collect()
    }

    /// Requests `from` sent with this method, delivered or not.
    fn requests(&self, from: usize, method: Method) -> Vec<Request> {
        self.log
            .iter()
            .filter(|p| p.from == from)
            .filter_map(|p| match &p.message {
                Message::Request(r) if r.method == method => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    fn responses(&self, from: usize, method: Method) -> Vec<u16> {
        self.log
            .iter()
            .filter(|p| p.from == from && !p.dropped)
            .filter_map(|p| match &p.message {
                Message::Response(r) if r.head.cseq.method == method => Some(r.status.code()),
                _ => None,
            })
            .collect()
    }
}

fn body(r: &Request) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A and B in an active call (B answers itself); returns (A's call, B's call).
fn connected(net: &mut Net) -> (String, String) {
    let a = net.call(A, B, Vec::new());
    assert_eq!(net.view(A, &a.id).state, CallState::Active);
    let b = net.incoming(B);
    assert_eq!(b.state, CallState::Active);
    (a.id, b.id)
}

#[test]
fn blind_transfer_connects_the_transferee_to_the_target() {
    let mut net = Net::new(0, true, true);
    let (a_id, b_id) = connected(&mut net);

    let v = net
        .blind(A, &a_id, C)
        .expect("transfer accepted by the API");
    // The API answers at once; what follows comes as events.
    let t = v.transfer.expect("the call shows its transfer");
    assert_eq!(t.role, TransferRole::Transferor);
    assert_eq!(t.target.as_deref(), Some("sip:carol@127.0.0.13:5060"));

    // On the wire: REFER with Refer-To and Referred-By, 202, NOTIFYs.
    let refers = net.requests(A, Method::Refer);
    assert_eq!(refers.len(), 1);
    let refer = &refers[0];
    assert_eq!(
        refer.head.other.get("Refer-To"),
        Some("<sip:carol@127.0.0.13:5060>")
    );
    assert_eq!(
        refer.head.other.get("Referred-By"),
        Some("<sip:alice@127.0.0.11>")
    );
    assert_eq!(net.responses(B, Method::Refer), vec![202]);
    let notifies = net.requests(B, Method::Notify);
    assert!(notifies.len() >= 2, "{}", notifies.len());
    let first = &notifies[0];
    let last = notifies.last().expect("a NOTIFY");
    let event = format!("refer;id={}", refer.head.cseq.seq);
    for n in &notifies {
        assert_eq!(n.head.other.get("Event"), Some(event.as_str()));
        assert_eq!(
            n.head.content_type.as_deref(),
            Some("message/sipfrag;version=2.0")
        );
    }
    assert_eq!(body(first), "SIP/2.0 100 Trying\r\n");
    assert_eq!(
        first.head.other.get("Subscription-State"),
        Some("active;expires=60")
    );
    assert_eq!(body(last), "SIP/2.0 200 OK\r\n");
    assert_eq!(
        last.head.other.get("Subscription-State"),
        Some("terminated;reason=noresource")
    );
    assert!(net.responses(A, Method::Notify).iter().all(|c| *c == 200));

    // A: requested, accepted, trying, (ringing), succeeded; the call ends Transferred.
    let states: Vec<TransferState> = net
        .transfer_states(A, &a_id)
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(states.first(), Some(&TransferState::Requested));
    assert_eq!(states.get(1), Some(&TransferState::Accepted));
    assert_eq!(states.get(2), Some(&TransferState::Trying));
    assert_eq!(states.last(), Some(&TransferState::Succeeded));
    let a = net.view(A, &a_id);
    assert_eq!(a.state, CallState::Terminated, "{a:?}");
    assert_eq!(a.reason, Reason::Transferred);
    assert_eq!(
        a.transfer.as_ref().map(|t| (t.state, t.sip_status)),
        Some((TransferState::Succeeded, Some(200)))
    );

    // B: its first call ended by A's BYE, as transferred; the new one is up with C.
    let b = net.view(B, &b_id);
    assert_eq!(b.state, CallState::Terminated);
    assert_eq!(b.reason, Reason::Transferred);
    let bt = b.transfer.expect("B's call shows the transfer");
    assert_eq!(bt.role, TransferRole::Transferee);
    assert_eq!(bt.state, TransferState::Succeeded);
    assert_eq!(bt.referred_by.as_deref(), Some("<sip:alice@127.0.0.11>"));
    let new_id = bt.call.expect("the new call");
    let new = net.view(B, &new_id);
    assert_eq!(new.state, CallState::Active);
    assert_eq!(new.direction, Direction::Outgoing);
    assert_eq!(new.transferred_from.as_deref(), Some(b_id.as_str()));
    assert_eq!(new.to, "sip:carol@127.0.0.13:5060");
    let b_states: Vec<TransferState> = net
        .transfer_states(B, &b_id)
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(b_states.first(), Some(&TransferState::Accepted));
    assert_eq!(b_states.last(), Some(&TransferState::Succeeded));
    // The call.created event of the new call already names its origin.
    let created = net
        .events
        .iter()
        .find(|(n, e)| *n == B && e.kind == "call.created" && e.call.as_deref() == Some(&new_id))
        .expect("created event");
    assert_eq!(created.1.data["transferred_from"], b_id.as_str());
    // The INVITE to C carries Referred-By.
    let invite = net
        .requests(B, Method::Invite)
        .into_iter()
        .last()
        .expect("B's INVITE to C");
    assert_eq!(
        invite.head.other.get("Referred-By"),
        Some("<sip:alice@127.0.0.11>")
    );
    let c = net.incoming(C);
    assert_eq!(c.state, CallState::Active);
    assert_eq!(c.from, "sip:bob@127.0.0.12");
    assert_eq!(net.nodes[A].active_calls(), 0);
    assert_eq!(net.nodes[B].active_calls(), 1);
}

#[test]
fn a_busy_target_fails_the_transfer_and_the_call_stays() {
    let mut net = Net::new(1, true, false);
    let (a_id, b_id) = connected(&mut net);
    net.blind(A, &a_id, C).expect("transfer");
    // C rings: A hears about it.
    assert_eq!(
        net.view(A, &a_id).transfer.map(|t| t.state),
        Some(TransferState::Ringing)
    );
    let c_id = net.incoming(C).id;
    let now = net.now();
    ask(&mut net.nodes[C], now, |reply| Command::Reject {
        id: c_id,
        code: 486,
        reply,
    })
    .expect("rejected");
    net.pump();

    let notifies = net.requests(B, Method::Notify);
    assert_eq!(
        notifies.last().map(body).as_deref(),
        Some("SIP/2.0 486 Busy Here\r\n")
    );
    let states = net.transfer_states(A, &a_id);
    assert!(
        states.contains(&(TransferState::Ringing, Some(180))),
        "{states:?}"
    );
    assert_eq!(states.last(), Some(&(TransferState::Failed, Some(486))));
    let a = net.view(A, &a_id);
    assert_eq!(a.state, CallState::Active, "the call stays: {a:?}");
    assert_eq!(net.view(B, &b_id).state, CallState::Active);
    assert_eq!(net.requests(A, Method::Bye).len(), 0);
    // A failed transfer leaves room for another one.
    net.update_policy(C, |s| s.auto_answer = true);
    net.blind(A, &a_id, C).expect("a second transfer");
    assert_eq!(net.view(A, &a_id).reason, Reason::Transferred);
}

#[test]
fn the_transferees_policy_refuses_with_603_or_403() {
    let mut net = Net::new(2, true, true);
    let (a_id, b_id) = connected(&mut net);
    net.update_policy(B, |s| s.policy.refer = ReferPolicy::Reject);
    net.blind(A, &a_id, C).expect("transfer");
    assert_eq!(net.responses(B, Method::Refer), vec![603]);
    assert_eq!(
        net.transfer_states(A, &a_id).last(),
        Some(&(TransferState::Failed, Some(603)))
    );
    assert_eq!(
        net.transfer_states(B, &b_id),
        vec![(TransferState::Failed, Some(603))]
    );
    assert_eq!(net.view(A, &a_id).state, CallState::Active);

    net.update_policy(B, |s| {
        s.policy.refer = ReferPolicy::Accept;
        s.policy.deny = vec!["carol@*".into()];
    });
    net.blind(A, &a_id, C).expect("transfer");
    assert_eq!(net.responses(B, Method::Refer), vec![603, 403]);
    assert_eq!(
        net.transfer_states(A, &a_id).last(),
        Some(&(TransferState::Failed, Some(403)))
    );
    assert_eq!(net.requests(B, Method::Invite).len(), 0, "B called nobody");
    assert_eq!(net.view(A, &a_id).state, CallState::Active);
    assert_eq!(net.view(B, &b_id).state, CallState::Active);
}

#[test]
fn no_news_from_the_transferee_fails_the_transfer_after_32_s() {
    let mut net = Net::new(3, true, true);
    let (a_id, _) = connected(&mut net);
    net.block.push((B, "NOTIFY"));
    net.blind(A, &a_id, C).expect("transfer");
    assert_eq!(
        net.view(A, &a_id).transfer.map(|t| t.state),
        Some(TransferState::Accepted)
    );
    net.run_for(Duration::from_secs(31));
    assert_eq!(
        net.view(A, &a_id).transfer.map(|t| t.state),
        Some(TransferState::Accepted)
    );
    net.run_for(Duration::from_secs(2));
    let a = net.view(A, &a_id);
    let t = a.transfer.expect("transfer");
    assert_eq!((t.state, t.sip_status), (TransferState::Failed, Some(408)));
    assert_eq!(a.state, CallState::Active);
}

#[test]
fn transfers_need_an_active_call_and_go_one_at_a_time() {
    let mut net = Net::new(4, false, true);
    let ringing = net.call(A, B, Vec::new());
    assert!(matches!(
        net.blind(A, &ringing.id, C),
        Err(EngineError::Conflict(_))
    ));
    assert!(matches!(
        net.blind(A, "no-such-call", C),
        Err(EngineError::NotFound { .. })
    ));
    net.update_policy(B, |s| s.auto_answer = true);
    let (a_id, _) = connected(&mut net);
    let to_c = net.call(A, C, Vec::new()).id;
    assert!(matches!(
        net.transfer(A, &a_id, TransferTo::Replaces(a_id.clone())),
        Err(EngineError::InvalidArgument(_))
    ));
    assert!(matches!(
        net.transfer(A, &a_id, TransferTo::Replaces("nope".into())),
        Err(EngineError::NotFound { .. })
    ));
    assert!(matches!(
        net.transfer(A, &a_id, TransferTo::Replaces(ringing.id.clone())),
        Err(EngineError::Conflict(_))
    ));
    // Nobody answers the REFER: the transfer stays requested meanwhile.
    net.block.push((B, "202 REFER"));
    net.block.push((B, "NOTIFY"));
    net.blind(A, &a_id, C).expect("first transfer");
    assert!(matches!(
        net.blind(A, &a_id, C),
        Err(EngineError::Conflict(_))
    ));
    assert!(matches!(
        net.transfer(A, &to_c, TransferTo::Replaces(a_id.clone())),
        Err(EngineError::Conflict(_))
    ));
}

#[test]
fn attended_transfer_replaces_the_other_call() {
    let mut net = Net::new(5, true, true);
    let (ab, b_orig) = connected(&mut net);
    let ac = net.call(A, C, Vec::new()).id;
    let c_old = net.incoming(C).id;
    assert_eq!(net.view(A, &ac).state, CallState::Active);
    let ac_sip_id = net.view(A, &ac).sip_call_id;

    net.transfer(A, &ab, TransferTo::Replaces(ac.clone()))
        .expect("attended transfer");

    // The REFER's Refer-To names C's contact and A-C's dialog, as C sees it.
    let refer = net.requests(A, Method::Refer).pop().expect("REFER");
    let refer_to = refer.head.other.get("Refer-To").expect("Refer-To");
    let na = callwire_sip::parse::name_addr(refer_to).expect("Refer-To parses");
    let Uri::Sip(uri) = na.uri else {
        panic!("{refer_to}")
    };
    assert_eq!(uri.host.to_string(), "127.0.0.13");
    let replaces = refer::uri_header(&uri, "Replaces")
        .expect("Replaces in Refer-To")
        .expect("unescapes");
    let r = Replaces::parse(&replaces).expect("Replaces parses");
    let invite = net
        .requests(A, Method::Invite)
        .into_iter()
        .find(|i| i.head.call_id == ac_sip_id)
        .expect("A's INVITE to C");
    assert_eq!(r.call_id, ac_sip_id);
    assert_eq!(Some(r.from_tag.as_str()), invite.head.from.tag());
    let c_tag = net
        .log
        .iter()
        .find_map(|p| match &p.message {
            Message::Response(resp)
                if p.from == C && resp.head.call_id == ac_sip_id && resp.status.code() == 200 =>
            {
                resp.head.to.tag().map(str::to_owned)
            }
            _ => None,
        })
        .expect("C's tag");
    assert_eq!(r.to_tag, c_tag);
    assert!(!r.early_only);

    // B called C with that Replaces; C took it and hung up the old call.
    let b_invite = net
        .requests(B, Method::Invite)
        .pop()
        .expect("B's INVITE to C");
    assert_eq!(b_invite.head.other.get("Replaces"), Some(replaces.as_str()));
    assert!(b_invite.uri.to_string().starts_with("sip:carol@127.0.0.13"));
    let c_new = net.incoming(C);
    assert_eq!(c_new.state, CallState::Active);
    assert_eq!(c_new.replaces.as_deref(), Some(c_old.as_str()));
    assert_eq!(
        net.transfer_states(C, &c_new.id),
        vec![(TransferState::Succeeded, Some(200))]
    );
    let old = net.view(C, &c_old);
    assert_eq!(
        (old.state, old.reason),
        (CallState::Terminated, Reason::Replaced)
    );

    // A: both calls over, both transferred.
    net.run_for(Duration::from_secs(3));
    for id in [&ab, &ac] {
        let v = net.view(A, id);
        assert_eq!(
            (v.state, v.reason),
            (CallState::Terminated, Reason::Transferred),
            "{v:?}"
        );
    }
    assert_eq!(
        net.transfer_states(A, &ab).last(),
        Some(&(TransferState::Succeeded, Some(200)))
    );
    let b_new_id = net
        .view(B, &b_orig)
        .transfer
        .and_then(|t| t.call)
        .expect("new call");
    let b_new = net.view(B, &b_new_id);
    assert_eq!(b_new.state, CallState::Active);
    assert_eq!(net.nodes[A].active_calls(), 0);
    assert_eq!(net.nodes[B].active_calls(), 1);
    assert_eq!(net.nodes[C].active_calls(), 1);
}

#[test]
fn invite_with_replaces_is_refused_without_a_matching_confirmed_dialog() {
    let mut net = Net::new(6, true, true);
    // No such dialog: 481.
    let stray = net.call(
        A,
        B,
        vec![("Replaces".into(), "nosuch@x;to-tag=1;from-tag=2".into())],
    );
    let v = net.view(A, &stray.id);
    assert_eq!((v.state, v.sip_status), (CallState::Terminated, Some(481)));
    assert_eq!(net.nodes[B].active_calls(), 0);

    // A confirmed dialog with early-only: 486; malformed: 400.
    let (a_id, b_id) = connected(&mut net);
    let a = net.view(A, &a_id);
    let invite = net
        .requests(A, Method::Invite)
        .into_iter()
        .find(|i| i.head.call_id == a.sip_call_id)
        .expect("INVITE");
    let a_tag = invite.head.from.tag().expect("tag").to_owned();
    let b_tag = net
        .log
        .iter()
        .find_map(|p| match &p.message {
            Message::Response(r) if p.from == B && r.head.call_id == a.sip_call_id => {
                r.head.to.tag().map(str::to_owned)
            }
            _ => None,
        })
        .expect("B's tag");
    let value = format!("{};to-tag={b_tag};from-tag={a_tag}", a.sip_call_id);
    let early = net.call(
        A,
        B,
        vec![("Replaces".into(), format!("{value};early-only"))],
    );
    assert_eq!(net.view(A, &early.id).sip_status, Some(486));
    let bad = net.call(A, B, vec![("Replaces".into(), a.sip_call_id.clone())]);
    assert_eq!(net.view(A, &bad.id).sip_status, Some(400));
    assert_eq!(net.view(B, &b_id).state, CallState::Active);

    // The right one replaces the call, even without auto-answer.
    net.update_policy(B, |s| s.auto_answer = false);
    let good = net.call(A, B, vec![("Replaces".into(), value)]);
    assert_eq!(net.view(A, &good.id).state, CallState::Active);
    let old = net.view(B, &b_id);
    assert_eq!(
        (old.state, old.reason),
        (CallState::Terminated, Reason::Replaced)
    );
    assert_eq!(net.view(A, &a_id).state, CallState::Terminated);
    let new = net.incoming(B);
    assert_eq!(new.replaces.as_deref(), Some(b_id.as_str()));
}

/// Sends a request in `node`'s dialog of call `call` with extra headers,
/// bypassing the API (to craft what callwire itself never sends).
fn send_in_dialog(
    net: &mut Net,
    node: usize,
    call: &str,
    method: Method,
    headers: &[(&str, &str)],
) {
    let now = net.now();
    let core = &mut net.nodes[node];
    let did = core
        .by_dialog
        .iter()
        .find(|(_, v)| v.as_str() == call)
        .map(|(k, _)| k.clone())
        .expect("the call's dialog");
    let d = core.dialogs.get_mut(&did).expect("dialog");
    let mut req = d.new_request(method, &mut core.rng).expect("request");
    for (n, v) in headers {
        req.head.other.push(n, *v);
    }
    let to = if node == A { B } else { A };
    core.tx
        .send_request(
            req,
            callwire_sip::transaction::Target::new(Transport::Udp, addr(to)),
            now,
        )
        .expect("sent");
    core.drain_tx(now);
    net.pump();
}

#[test]
fn received_refers_are_checked_and_refer_sub_false_is_honoured() {
    let mut net = Net::new(7, true, true);
    let (a_id, b_id) = connected(&mut net);
    let carol = "<sip:carol@127.0.0.13:5060>";
    for headers in [
        vec![],
        vec![("Refer-To", carol), ("Refer-To", carol)],
        vec![("Refer-To", "<not a uri>")],
        vec![("Refer-To", "<sip:carol@127.0.0.13?Replaces=broken>")],
    ] {
        send_in_dialog(&mut net, A, &a_id, Method::Refer, &headers);
    }
    send_in_dialog(
        &mut net,
        A,
        &a_id,
        Method::Refer,
        &[("Refer-To", "<tel:+4930123>")],
    );
    send_in_dialog(
        &mut net,
        A,
        &a_id,
        Method::Refer,
        &[("Refer-To", "<sip:carol@127.0.0.13;method=BYE>")],
    );
    assert_eq!(
        net.responses(B, Method::Refer),
        vec![400, 400, 400, 400, 416, 501]
    );
    assert_eq!(net.requests(B, Method::Invite).len(), 0);
    assert_eq!(net.view(B, &b_id).state, CallState::Active);

    // RFC 4488: 202 with Refer-Sub: false, the call to C, and no NOTIFY.
    send_in_dialog(
        &mut net,
        A,
        &a_id,
        Method::Refer,
        &[("Refer-To", carol), ("Refer-Sub", "false")],
    );
    let accepted = net
        .log
        .iter()
        .rev()
        .find_map(|p| match &p.message {
            Message::Response(r) if p.from == B && r.head.cseq.method == Method::Refer => {
                Some(r.clone())
            }
            _ => None,
        })
        .expect("B answered");
    assert_eq!(accepted.status.code(), 202);
    assert_eq!(accepted.head.other.get("Refer-Sub"), Some("false"));
    assert!(net.requests(B, Method::Notify).is_empty());
    let t = net.view(B, &b_id).transfer.expect("transfer");
    assert_eq!(t.state, TransferState::Succeeded);
    let new = net.view(B, &t.call.expect("new call"));
    assert_eq!(new.state, CallState::Active);
    assert_eq!(net.incoming(C).state, CallState::Active);
}
