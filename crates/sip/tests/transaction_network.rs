//! Two transaction layers over the simulated network (virtual time, latency,
//! seeded loss): whole INVITE/200/ACK + BYE/200 exchanges, with the test playing
//! both transaction users.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callwire_sip::message::{Method, Request, StatusCode};
use callwire_sip::testing::{request, response, IntoMessage, NodeId, Sim, SimConfig};
use callwire_sip::transaction::{
    response_target, ClientTxId, Config, Event, ServerTxId, Target, TransactionLayer, Transport,
};

const UAC: &str = "192.0.2.1:5060";
const UAS: &str = "192.0.2.2:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// What the two TUs saw.
#[derive(Debug, Default)]
struct Outcome {
    invite_ok: bool,
    acks_sent: usize,
    uas_got_ack: bool,
    bye_ok: bool,
    uas_got_bye: bool,
    failures: Vec<String>,
}

/// The UAS TU's 2xx retransmission (RFC 3261 §13.3.1.4), which is not the
/// transaction layer's job.
struct Pending2xx {
    tx: ServerTxId,
    response: callwire_sip::message::Response,
    target: Target,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

/// Runs one call: INVITE, 180, 200, ACK, then BYE, 200. Returns what happened.
fn call(net: SimConfig, transport: Transport) -> (Outcome, Sim) {
    let t0 = Instant::now();
    let mut sim = Sim::new(net, t0);
    let a = sim.add_node(addr(UAC), Config::default());
    let b = sim.add_node(addr(UAS), Config::default());
    let mut out = Outcome::default();
    let to_uas = Target::new(transport, addr(UAS));

    let invite = request(
        Method::Invite,
        addr(UAC),
        addr(UAS),
        transport,
        "z9hG4bK-inv",
        "call-net",
        1,
    );
    let inv_tx = sim
        .layer(a)
        .send_request(invite.clone(), to_uas, t0)
        .unwrap();
    let mut bye_tx: Option<ClientTxId> = None;
    let mut pending: Option<Pending2xx> = None;
    let mut ack_branch = 0;

    while sim.step() {
        let now = sim.now();
        // UAC TU.
        for ev in sim.events(a) {
            match ev {
                Event::Response { tx, response: r } if tx == inv_tx && r.status.is_success() => {
                    out.invite_ok = true;
                    ack_branch += 1;
                    let ack = ack_for_2xx(&invite, &r, ack_branch);
                    sim.layer(a).send_stateless(&ack.into_message(), to_uas);
                    out.acks_sent += 1;
                    if bye_tx.is_none() {
                        let mut bye = request(
                            Method::Bye,
                            addr(UAC),
                            addr(UAS),
                            transport,
                            "z9hG4bK-bye",
                            "call-net",
                            2,
                        );
                        bye.head.to = r.head.to.clone();
                        bye_tx = Some(sim.layer(a).send_request(bye, to_uas, now).unwrap());
                    }
                }
                Event::StrayResponse { response: r, .. } if r.status.is_success() => {
                    // A 2xx after Timer M: still ACK it.
                    ack_branch += 1;
                    let ack = ack_for_2xx(&invite, &r, ack_branch);
                    sim.layer(a).send_stateless(&ack.into_message(), to_uas);
                }
                Event::Response { tx, response: r }
                    if Some(tx) == bye_tx && r.status == StatusCode::OK =>
                {
                    out.bye_ok = true;
                }
                Event::Response { .. } | Event::Terminated { .. } | Event::StrayResponse { .. } => {
                }
                other => out.failures.push(format!("UAC: {other:?}")),
            }
        }
        // UAS TU.
        for ev in sim.events(b) {
            match ev {
                Event::Request {
                    tx,
                    request: r,
                    source,
                    transport: tp,
                } if r.method == Method::Invite => {
                    let layer = sim.layer(b);
                    layer
                        .send_response(tx, response(&r, 180, Some("uas")), now)
                        .unwrap();
                    let ok = response(&r, 200, Some("uas"));
                    layer.send_response(tx, ok.clone(), now).unwrap();
                    let t1 = Duration::from_millis(500);
                    pending = Some(Pending2xx {
                        tx,
                        response: ok,
                        target: response_target(&r.head.via[0], source, tp),
                        next: now + t1,
                        interval: t1,
                        give_up: now + t1 * 64,
                    });
                    if !tp.is_reliable() {
                        sim.wake_at(now + t1);
                    }
                }
                Event::Ack { .. } => {
                    out.uas_got_ack = true;
                    pending = None;
                }
                Event::Request { tx, request: r, .. } if r.method == Method::Bye => {
                    out.uas_got_bye = true;
                    sim.layer(b)
                        .send_response(tx, response(&r, 200, None), now)
                        .unwrap();
                }
                Event::Terminated { .. } => {}
                other => out.failures.push(format!("UAS: {other:?}")),
            }
        }
        // UAS 2xx retransmissions (UDP only), T1 doubling to T2, give up at 64*T1.
        if transport == Transport::Udp {
            if let Some(p) = &mut pending {
                if now >= p.give_up {
                    out.failures.push("UAS: no ACK for the 2xx".into());
                    pending = None;
                } else if now >= p.next {
                    let layer: &mut TransactionLayer = sim.layer(b);
                    if layer.send_response(p.tx, p.response.clone(), now).is_err() {
                        // Timer L already ended the transaction: send it statelessly.
                        layer.send_stateless(&p.response.clone().into_message(), p.target);
                    }
                    p.interval = (p.interval * 2).min(Duration::from_secs(4));
                    p.next = now + p.interval;
                    sim.wake_at(p.next);
                }
            }
        }
    }
    (out, sim)
}

/// The ACK for a 2xx (a new transaction branch, To from the 2xx). Building it is
/// the dialog layer's job; this is the minimum for the test.
fn ack_for_2xx(invite: &Request, ok: &callwire_sip::message::Response, n: u32) -> Request {
    let transport = Transport::from_token(&invite.head.via[0].transport).unwrap();
    let mut ack = request(
        Method::Ack,
        addr(UAC),
        addr(UAS),
        transport,
        &format!("z9hG4bK-ack{n}"),
        "call-net",
        1,
    );
    ack.head.to = ok.head.to.clone();
    ack
}

fn assert_completed(out: &Outcome, sim: &mut Sim, what: &str) {
    assert!(out.failures.is_empty(), "{what}: {:?}", out.failures);
    assert!(
        out.invite_ok && out.uas_got_ack && out.uas_got_bye && out.bye_ok,
        "{what}: {out:?}"
    );
    // The run ended because nothing was left to happen: every transaction is gone.
    for node in [NodeId::new(0), NodeId::new(1)] {
        assert!(sim.layer(node).is_empty(), "{what}: transactions left");
    }
}

#[test]
fn call_without_loss_takes_two_round_trips() {
    let net = SimConfig {
        latency: Duration::from_millis(20),
        loss: 0.0,
        seed: 1,
    };
    let (out, mut sim) = call(net, Transport::Udp);
    assert_completed(&out, &mut sim, "no loss");
    assert_eq!(out.acks_sent, 1);
    let lines: Vec<String> = sim.log().iter().map(|d| d.start_line()).collect();
    assert_eq!(
        lines,
        vec![
            "INVITE sip:bob@192.0.2.2:5060 SIP/2.0",
            "SIP/2.0 180 Ringing",
            "SIP/2.0 200 OK",
            "ACK sip:bob@192.0.2.2:5060 SIP/2.0",
            "BYE sip:bob@192.0.2.2:5060 SIP/2.0",
            "SIP/2.0 200 OK",
        ]
    );
    let offsets: Vec<u128> = sim
        .log()
        .iter()
        .map(|d| (d.sent_at - sim.log()[0].sent_at).as_millis())
        .collect();
    assert_eq!(offsets, vec![0, 20, 20, 40, 40, 60]);
    // Cleanup ran on virtual time: Timers J/K/L/M/D, all ≤ 64*T1 after the last message.
    assert!(
        sim.elapsed() <= Duration::from_millis(60) + Duration::from_secs(32),
        "{:?}",
        sim.elapsed()
    );
}

#[test]
fn call_completes_with_30_percent_loss() {
    let mut retransmissions = 0;
    let mut lost = 0;
    for seed in 0..40 {
        let net = SimConfig {
            latency: Duration::from_millis(30),
            loss: 0.3,
            seed,
        };
        let (out, mut sim) = call(net, Transport::Udp);
        assert_completed(&out, &mut sim, &format!("seed {seed}"));
        lost += sim.log().iter().filter(|d| d.dropped).count();
        retransmissions += sim.log().len() - 6;
    }
    // The loss really happened and was recovered from by retransmissions.
    assert!(lost > 40, "{lost}");
    assert!(retransmissions > lost, "{retransmissions} vs {lost}");
}

#[test]
fn call_over_tcp_never_retransmits() {
    let net = SimConfig {
        latency: Duration::from_millis(20),
        loss: 0.9,
        seed: 3,
    };
    let (out, mut sim) = call(net, Transport::Tcp);
    assert_completed(&out, &mut sim, "tcp");
    assert_eq!(
        sim.log().len(),
        6,
        "{:?}",
        sim.log().iter().map(|d| d.start_line()).collect::<Vec<_>>()
    );
    assert!(sim
        .log()
        .iter()
        .all(|d| !d.dropped && d.target.transport == Transport::Tcp));
}

#[test]
fn unreachable_peer_times_out_in_virtual_time() {
    let t0 = Instant::now();
    let mut sim = Sim::new(SimConfig::default(), t0);
    let a = sim.add_node(addr(UAC), Config::default());
    let nobody = Target::new(Transport::Udp, addr("192.0.2.99:5060"));
    let req = request(
        Method::Invite,
        addr(UAC),
        nobody.addr,
        Transport::Udp,
        "z9hG4bK-x",
        "c",
        1,
    );
    let tx = sim.layer(a).send_request(req, nobody, t0).unwrap();
    let wall = Instant::now();
    let mut timeout_at = None;
    while sim.step() {
        for ev in sim.events(a) {
            if ev == (Event::Timeout { tx }) {
                timeout_at = Some(sim.elapsed());
            }
        }
    }
    assert_eq!(timeout_at, Some(Duration::from_secs(32)));
    assert_eq!(sim.log().len(), 7, "INVITE + 6 Timer A retransmissions");
    assert!(wall.elapsed() < Duration::from_secs(1), "no real sleeping");
}

#[test]
fn seeded_runs_are_reproducible() {
    let net = SimConfig {
        latency: Duration::from_millis(15),
        loss: 0.3,
        seed: 42,
    };
    let (_, first) = call(net, Transport::Udp);
    let (_, second) = call(net, Transport::Udp);
    let summary = |s: &Sim| -> Vec<(String, bool)> {
        s.log()
            .iter()
            .map(|d| (d.start_line(), d.dropped))
            .collect()
    };
    assert_eq!(summary(&first), summary(&second));
}
