//! Random sequences of network input, TU calls and time steps never panic and keep
//! the layer's bookkeeping consistent (ids, `len`, the active and lingering
//! caps, deadlines).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callwire_sip::message::Method;
use callwire_sip::testing::{request, response, IntoMessage};
use callwire_sip::transaction::{
    Config, Event, ServerTxId, Target, TimerConfig, TransactionError, TransactionId,
    TransactionLayer, Transport,
};
use proptest::prelude::*;

const METHODS: [Method; 5] = [
    Method::Invite,
    Method::Ack,
    Method::Cancel,
    Method::Bye,
    Method::Options,
];
const BRANCHES: [&str; 5] = ["z9hG4bK-1", "z9hG4bK-2", "z9hG4bK-3", "legacy-1", ""];
const STATUSES: [u16; 7] = [100, 180, 200, 202, 404, 486, 603];
const PEERS: [&str; 3] = ["192.0.2.2:5060", "192.0.2.3:5070", "[2001:db8::1]:5060"];
const ME: &str = "192.0.2.1:5060";

#[derive(Clone, Debug)]
enum Op {
    RecvRequest {
        method: usize,
        branch: usize,
        peer: usize,
        seq: u32,
        to_tag: bool,
        tcp: bool,
    },
    RecvResponse {
        status: usize,
        branch: usize,
        method: usize,
        peer: usize,
    },
    SendRequest {
        method: usize,
        branch: usize,
        peer: usize,
        tcp: bool,
    },
    SendResponse {
        which: usize,
        status: usize,
        method: Option<usize>,
        to_tag: bool,
    },
    Advance {
        ms: u64,
    },
    TransportError {
        peer: usize,
        tcp: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0..5usize,
            0..5usize,
            0..3usize,
            1..3u32,
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(method, branch, peer, seq, to_tag, tcp)| Op::RecvRequest {
                method,
                branch,
                peer,
                seq,
                to_tag,
                tcp
            }),
        (0..7usize, 0..5usize, 0..5usize, 0..3usize).prop_map(|(status, branch, method, peer)| {
            Op::RecvResponse {
                status,
                branch,
                method,
                peer,
            }
        }),
        (0..5usize, 0..5usize, 0..3usize, any::<bool>()).prop_map(|(method, branch, peer, tcp)| {
            Op::SendRequest {
                method,
                branch,
                peer,
                tcp,
            }
        }),
        (
            0..8usize,
            0..7usize,
            proptest::option::of(0..5usize),
            any::<bool>()
        )
            .prop_map(|(which, status, method, to_tag)| Op::SendResponse {
                which,
                status,
                method,
                to_tag
            }),
        (0..40_000u64).prop_map(|ms| Op::Advance { ms }),
        (0..3usize, any::<bool>()).prop_map(|(peer, tcp)| Op::TransportError { peer, tcp }),
    ]
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn transport(tcp: bool) -> Transport {
    if tcp {
        Transport::Tcp
    } else {
        Transport::Udp
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_sequences_keep_the_layer_consistent(ops in proptest::collection::vec(op(), 1..60)) {
        let t0 = Instant::now();
        let timers = TimerConfig::default().with_t1(Duration::from_millis(200));
        let mut layer = TransactionLayer::new(Config::default().with_timers(timers).with_max_active(3).with_max_lingering(1));
        let mut now = t0;
        let mut live: BTreeSet<TransactionId> = BTreeSet::new();
        let mut ever: BTreeSet<TransactionId> = BTreeSet::new();
        let mut servers: Vec<(ServerTxId, callwire_sip::message::Request)> = Vec::new();

        for op in ops {
            match op {
                Op::RecvRequest { method, branch, peer, seq, to_tag, tcp } => {
                    let mut r = request(METHODS[method].clone(), addr(PEERS[peer]), addr(ME), transport(tcp), BRANCHES[branch], "c", seq);
                    if BRANCHES[branch].is_empty() {
                        r.head.via[0].params.remove("branch");
                    }
                    if to_tag {
                        r.head.to.set_tag("t");
                    }
                    layer.receive(r.into_message(), addr(PEERS[peer]), transport(tcp), now);
                }
                Op::RecvResponse { status, branch, method, peer } => {
                    let mut req = request(METHODS[method].clone(), addr(ME), addr(PEERS[peer]), Transport::Udp, BRANCHES[branch], "c", 1);
                    req.head.cseq.method = METHODS[method].clone();
                    let resp = response(&req, STATUSES[status], Some("t"));
                    layer.receive(resp.into_message(), addr(PEERS[peer]), Transport::Udp, now);
                }
                Op::SendRequest { method, branch, peer, tcp } => {
                    let req = request(METHODS[method].clone(), addr(ME), addr(PEERS[peer]), transport(tcp), BRANCHES[branch], "c", 1);
                    let in_dialog = req.method == Method::Cancel;
                    match layer.send_request(req, Target::new(transport(tcp), addr(PEERS[peer])), now) {
                        Ok(id) => {
                            prop_assert!(ever.insert(id.into()), "id reused");
                            live.insert(id.into());
                        }
                        Err(TransactionError::Overloaded { limit }) => {
                            prop_assert_eq!(limit, if in_dialog { 6 } else { 3 });
                            prop_assert!(layer.active_len() >= limit);
                        }
                        Err(_) => {}
                    }
                }
                Op::SendResponse { which, status, method, to_tag } => {
                    if let Some((tx, req)) = servers.get(which % servers.len().max(1)).cloned() {
                        let mut resp = response(&req, STATUSES[status], to_tag.then_some("u"));
                        if let Some(m) = method {
                            resp.head.cseq.method = METHODS[m].clone();
                        }
                        let known = live.contains(&tx.into());
                        let result = layer.send_response(tx, resp, now);
                        prop_assert!(known || result.is_err(), "response accepted by a dead transaction");
                    }
                }
                Op::Advance { ms } => {
                    now += Duration::from_millis(ms);
                    layer.handle_timeout(now);
                    prop_assert!(!matches!(layer.poll_timeout(), Some(t) if t <= now), "a due timer survived handle_timeout");
                }
                Op::TransportError { peer, tcp } => {
                    layer.transport_error(Target::new(transport(tcp), addr(PEERS[peer])));
                }
            }
            while layer.poll_transmit().is_some() {}
            while let Some(ev) = layer.poll_event() {
                match ev {
                    Event::Request { tx, request, .. } => {
                        prop_assert!(ever.insert(tx.into()), "id reused");
                        live.insert(tx.into());
                        servers.push((tx, request));
                    }
                    Event::Terminated { tx } => prop_assert!(live.remove(&tx), "{tx} terminated twice or never lived"),
                    Event::Response { tx, .. } | Event::Timeout { tx } => prop_assert!(live.contains(&tx.into())),
                    Event::AckTimeout { tx } => prop_assert!(live.contains(&tx.into())),
                    Event::TransportError { tx } => prop_assert!(live.contains(&tx)),
                    Event::Ack { tx: Some(tx), .. } => prop_assert!(live.contains(&tx.into())),
                    Event::Overloaded { request, .. } => {
                        // Refused requests change nothing, so the count is the one
                        // the layer decided on.
                        let in_dialog = request.method == Method::Cancel || request.head.to.tag().is_some();
                        let limit = if in_dialog { 6 } else { 3 };
                        prop_assert!(layer.active_len() >= limit, "{} refused below its cap", request.method);
                    }
                    _ => {}
                }
            }
            prop_assert_eq!(layer.len(), live.len());
            prop_assert_eq!(layer.len(), layer.active_len() + layer.lingering_len());
            prop_assert!(layer.active_len() <= 6, "over the hard limit");
            prop_assert!(layer.lingering_len() <= 1, "over max_lingering");
        }
        // Everything but Proceeding INVITE transactions (no timer there) ends in time.
        now += Duration::from_secs(3600);
        layer.handle_timeout(now);
        prop_assert_eq!(layer.poll_timeout(), None);
    }
}
