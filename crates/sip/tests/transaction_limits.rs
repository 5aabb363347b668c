//! The two caps of the transaction layer, through the public API with a virtual
//! clock: `max_active` sheds new out-of-dialog work but lets CANCEL and in-dialog
//! requests through (up to the hard limit); lingering transactions never block
//! admission and are evicted oldest first past `max_lingering`; a sustained call
//! load over the simulated network keeps the layer bounded.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callwire_sip::message::{Method, Request, Response, StatusCode};
use callwire_sip::testing::{request, response, IntoMessage, Sim, SimConfig};
use callwire_sip::transaction::{
    cancel_for, response_target, ClientState, ClientTxId, Config, Event, ServerState, ServerTxId,
    Target, TransactionError, TransactionId, TransactionLayer, Transmit, Transport,
};

const ME: &str = "192.0.2.1:5060";
const PEER: &str = "192.0.2.2:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn udp(a: &str) -> Target {
    Target::new(Transport::Udp, addr(a))
}

fn drain(layer: &mut TransactionLayer) -> (Vec<Transmit>, Vec<Event>) {
    let mut t = Vec::new();
    while let Some(x) = layer.poll_transmit() {
        t.push(x);
    }
    let mut e = Vec::new();
    while let Some(x) = layer.poll_event() {
        e.push(x);
    }
    (t, e)
}

/// A request from PEER to ME (received by the layer under test).
fn incoming(method: Method, branch: &str, call_id: &str, to_tag: Option<&str>) -> Request {
    let mut r = request(
        method,
        addr(PEER),
        addr(ME),
        Transport::Udp,
        branch,
        call_id,
        1,
    );
    if let Some(tag) = to_tag {
        r.head.to.set_tag(tag);
    }
    r
}

/// A request from ME to PEER (sent by the layer under test).
fn outgoing(method: Method, branch: &str, to_tag: Option<&str>) -> Request {
    let mut r = request(
        method,
        addr(ME),
        addr(PEER),
        Transport::Udp,
        branch,
        "out",
        1,
    );
    if let Some(tag) = to_tag {
        r.head.to.set_tag(tag);
    }
    r
}

fn receive(layer: &mut TransactionLayer, req: &Request, now: Instant) -> Vec<Event> {
    layer.receive(req.clone().into_message(), addr(PEER), Transport::Udp, now);
    drain(layer).1
}

/// Feeds `req` and returns the server transaction it created.
fn receive_new(layer: &mut TransactionLayer, req: &Request, now: Instant) -> ServerTxId {
    match receive(layer, req, now).as_slice() {
        [Event::Request { tx, .. }] => *tx,
        other => panic!(
            "expected one Event::Request for {}, got {other:?}",
            req.method
        ),
    }
}

fn is_overloaded(events: &[Event]) -> bool {
    matches!(events, [Event::Overloaded { .. }])
}

#[test]
fn in_dialog_requests_and_cancel_pass_the_active_cap() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default().with_max_active(2));
    assert_eq!(layer.config().active_hard_limit(), 4);
    let inv1 = incoming(Method::Invite, "z9hG4bK-i1", "c1", None);
    let tx1 = receive_new(&mut layer, &inv1, t0);
    receive_new(
        &mut layer,
        &incoming(Method::Invite, "z9hG4bK-i2", "c2", None),
        t0,
    );
    assert_eq!((layer.active_len(), layer.lingering_len()), (2, 0));

    // A new call is shed: out of dialog, no To tag.
    let e = receive(
        &mut layer,
        &incoming(Method::Invite, "z9hG4bK-i3", "c3", None),
        t0,
    );
    assert!(is_overloaded(&e), "{e:?}");
    assert!(is_overloaded(&receive(
        &mut layer,
        &incoming(Method::Options, "z9hG4bK-o", "c4", None),
        t0
    )));

    // A BYE for an existing call is not.
    let bye = incoming(Method::Bye, "z9hG4bK-b", "c0", Some("uas"));
    let bye_tx = receive_new(&mut layer, &bye, t0);
    layer
        .send_response(bye_tx, response(&bye, 200, None), t0)
        .unwrap();
    assert_eq!(layer.server_state(bye_tx), Some(ServerState::Completed));

    // Nor a CANCEL: it finds its INVITE, which the TU ends with 487.
    let cancel = cancel_for(&inv1).unwrap();
    let cancel_tx = receive_new(&mut layer, &cancel, t0);
    assert_eq!(layer.find_invite_for_cancel(&cancel), Some(tx1));
    layer
        .send_response(cancel_tx, response(&cancel, 200, Some("t1")), t0)
        .unwrap();
    layer
        .send_response(tx1, response(&inv1, 487, Some("t1")), t0)
        .unwrap();
    assert_eq!(layer.server_state(tx1), Some(ServerState::Completed));
    // Finished transactions stopped counting: room for a new call again.
    assert_eq!((layer.active_len(), layer.lingering_len()), (1, 3));
    let inv5 = incoming(Method::Invite, "z9hG4bK-i5", "c5", None);
    receive_new(&mut layer, &inv5, t0);
    assert!(is_overloaded(&receive(
        &mut layer,
        &incoming(Method::Invite, "z9hG4bK-i6", "c6", None),
        t0
    )));

    // In-dialog requests fill up to the hard limit, then they are refused too.
    for (i, m) in [Method::Info, Method::Invite].into_iter().enumerate() {
        receive_new(
            &mut layer,
            &incoming(m, &format!("z9hG4bK-d{i}"), "c0", Some("uas")),
            t0,
        );
    }
    assert_eq!(layer.active_len(), 4);
    assert!(is_overloaded(&receive(
        &mut layer,
        &incoming(Method::Bye, "z9hG4bK-b2", "c7", Some("uas")),
        t0
    )));
    assert!(is_overloaded(&receive(
        &mut layer,
        &cancel_for(&inv5).unwrap(),
        t0
    )));

    // ACKs and responses are never refused.
    let e = receive(
        &mut layer,
        &incoming(Method::Ack, "z9hG4bK-a", "c0", Some("uas")),
        t0,
    );
    assert!(
        matches!(e.as_slice(), [Event::Ack { tx: None, .. }]),
        "{e:?}"
    );
    let ack = incoming(Method::Ack, "z9hG4bK-i1", "c1", Some("t1"));
    assert!(receive(&mut layer, &ack, t0).is_empty(), "absorbed by tx1");
    assert_eq!(layer.server_state(tx1), Some(ServerState::Confirmed));
    let stray = response(&outgoing(Method::Invite, "z9hG4bK-x", None), 200, Some("p"));
    layer.receive(stray.into_message(), addr(PEER), Transport::Udp, t0);
    assert!(matches!(
        drain(&mut layer).1.as_slice(),
        [Event::StrayResponse { .. }]
    ));
}

#[test]
fn sent_in_dialog_requests_and_cancel_pass_the_active_cap() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default().with_max_active(1));
    let invite = outgoing(Method::Invite, "z9hG4bK-1", None);
    let inv = layer.send_request(invite.clone(), udp(PEER), t0).unwrap();
    assert_eq!(
        layer.send_request(outgoing(Method::Options, "z9hG4bK-2", None), udp(PEER), t0),
        Err(TransactionError::Overloaded { limit: 1 })
    );
    // The CANCEL of the pending INVITE and a BYE of an established call go out.
    layer
        .send_request(cancel_for(&invite).unwrap(), udp(PEER), t0)
        .unwrap();
    assert_eq!(layer.active_len(), 2);
    assert_eq!(
        layer.send_request(outgoing(Method::Bye, "z9hG4bK-3", Some("p")), udp(PEER), t0),
        Err(TransactionError::Overloaded { limit: 2 }),
        "the hard limit holds for in-dialog requests too"
    );
    // The INVITE's final response frees its slot.
    layer.receive(
        response(&invite, 487, Some("p")).into_message(),
        addr(PEER),
        Transport::Udp,
        t0,
    );
    assert_eq!(layer.client_state(inv), Some(ClientState::Completed));
    assert_eq!((layer.active_len(), layer.lingering_len()), (1, 1));
    layer
        .send_request(outgoing(Method::Bye, "z9hG4bK-3", Some("p")), udp(PEER), t0)
        .unwrap();
}

#[test]
fn thousands_of_finished_transactions_do_not_block_new_ones() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default().with_max_active(10));
    for i in 0..2000 {
        // Server side: INVITE answered 200 (Accepted, Timer L), OPTIONS answered
        // 200 (Completed, Timer J).
        let inv = incoming(Method::Invite, &format!("z9hG4bK-si{i}"), "s", None);
        let tx = receive_new(&mut layer, &inv, t0);
        layer
            .send_response(tx, response(&inv, 200, Some("u")), t0)
            .unwrap();
        let opt = incoming(Method::Options, &format!("z9hG4bK-so{i}"), "s", None);
        let tx = receive_new(&mut layer, &opt, t0);
        layer
            .send_response(tx, response(&opt, 200, None), t0)
            .unwrap();
        // Client side: INVITE rejected 486 (Completed, Timer D), OPTIONS answered
        // 200 (Completed, Timer K).
        let inv = outgoing(Method::Invite, &format!("z9hG4bK-ci{i}"), None);
        layer.send_request(inv.clone(), udp(PEER), t0).unwrap();
        layer.receive(
            response(&inv, 486, Some("p")).into_message(),
            addr(PEER),
            Transport::Udp,
            t0,
        );
        let opt = outgoing(Method::Options, &format!("z9hG4bK-co{i}"), None);
        layer.send_request(opt.clone(), udp(PEER), t0).unwrap();
        layer.receive(
            response(&opt, 200, Some("p")).into_message(),
            addr(PEER),
            Transport::Udp,
            t0,
        );
        drain(&mut layer);
    }
    assert_eq!(
        (layer.len(), layer.active_len(), layer.lingering_len()),
        (8000, 0, 8000)
    );
    // Ten new transactions fit; the eleventh is the active cap.
    for i in 0..5 {
        receive_new(
            &mut layer,
            &incoming(Method::Invite, &format!("z9hG4bK-n{i}"), "n", None),
            t0,
        );
        layer
            .send_request(
                outgoing(Method::Options, &format!("z9hG4bK-m{i}"), None),
                udp(PEER),
                t0,
            )
            .unwrap();
    }
    assert_eq!(layer.active_len(), 10);
    assert!(is_overloaded(&receive(
        &mut layer,
        &incoming(Method::Invite, "z9hG4bK-n5", "n", None),
        t0
    )));
    assert_eq!(layer.evicted_total(), 0);
    // The lingering ones end on their timers (64*T1 at most).
    layer.handle_timeout(t0 + Duration::from_secs(32));
    let terminated = drain(&mut layer)
        .1
        .iter()
        .filter(|e| matches!(e, Event::Terminated { .. }))
        .count();
    assert_eq!(
        terminated,
        8000 + 5,
        "the lingering ones and the timed-out OPTIONS"
    );
    assert_eq!((layer.active_len(), layer.lingering_len()), (5, 0));
}

#[test]
fn eviction_drops_the_longest_lingering_and_reports_it() {
    let t0 = Instant::now();
    let ms = Duration::from_millis;
    let mut layer = TransactionLayer::new(Config::default().with_max_lingering(3));
    let reqs: Vec<Request> = (0..5)
        .map(|i| incoming(Method::Options, &format!("z9hG4bK-{i}"), "c", None))
        .collect();
    let txs: Vec<ServerTxId> = reqs
        .iter()
        .map(|r| receive_new(&mut layer, r, t0))
        .collect();
    // Finish them in the order 2, 0, 3, 1: transaction 2 lingers longest, though
    // it is not the oldest transaction.
    for (n, i) in [2usize, 0, 3, 1].into_iter().enumerate() {
        let now = t0 + ms(n as u64);
        layer
            .send_response(txs[i], response(&reqs[i], 200, None), now)
            .unwrap();
        let (sent, events) = drain(&mut layer);
        assert_eq!(sent.len(), 1);
        if i == 1 {
            assert_eq!(
                events,
                vec![Event::Terminated {
                    tx: TransactionId::Server(txs[2])
                }]
            );
        } else {
            assert!(events.is_empty(), "{events:?}");
        }
    }
    assert_eq!(layer.evicted_total(), 1);
    assert_eq!(layer.server_state(txs[2]), None);
    assert_eq!(layer.server_state(txs[4]), Some(ServerState::Trying));
    assert_eq!((layer.active_len(), layer.lingering_len()), (1, 3));

    // A survivor still absorbs its retransmission; the evicted one no longer does:
    // the retransmission is a new request for the TU (the trade-off).
    layer.receive(
        reqs[0].clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(10),
    );
    let (sent, events) = drain(&mut layer);
    assert_eq!((sent.len(), events.len()), (1, 0));
    let again = receive_new(&mut layer, &reqs[2], t0 + ms(10));
    assert_ne!(again, txs[2]);

    // The evicted transaction's timer is gone with it: Timer J ends only the
    // three that still linger, each once.
    layer.handle_timeout(t0 + Duration::from_secs(40));
    let ended: Vec<Event> = drain(&mut layer).1;
    let want: Vec<Event> = [0usize, 3, 1]
        .iter()
        .map(|&i| Event::Terminated {
            tx: TransactionId::Server(txs[i]),
        })
        .collect();
    assert_eq!(ended, want);
    assert_eq!(layer.lingering_len(), 0);
    assert_eq!(
        layer.len(),
        2,
        "tx 4 and the re-created one are still Trying"
    );
}

#[test]
fn evicted_client_transaction_turns_late_responses_stray() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default().with_max_lingering(1));
    let a = outgoing(Method::Invite, "z9hG4bK-a", None);
    let b = outgoing(Method::Invite, "z9hG4bK-b", None);
    let ta = layer.send_request(a.clone(), udp(PEER), t0).unwrap();
    let tb = layer.send_request(b.clone(), udp(PEER), t0).unwrap();
    let ok_a = response(&a, 200, Some("pa"));
    layer.receive(ok_a.clone().into_message(), addr(PEER), Transport::Udp, t0);
    assert_eq!(layer.client_state(ta), Some(ClientState::Accepted));
    layer.receive(
        response(&b, 200, Some("pb")).into_message(),
        addr(PEER),
        Transport::Udp,
        t0,
    );
    let events = drain(&mut layer).1;
    assert!(
        events.contains(&Event::Terminated {
            tx: TransactionId::Client(ta)
        }),
        "{events:?}"
    );
    assert_eq!(layer.client_state(ta), None);
    assert_eq!(layer.client_state(tb), Some(ClientState::Accepted));
    // A's 2xx retransmission no longer finds its transaction; the TU ACKs a stray
    // 2xx anyway (RFC 3261 §13.2.2.4 is the TU's job).
    layer.receive(ok_a.into_message(), addr(PEER), Transport::Udp, t0);
    assert!(matches!(
        drain(&mut layer).1.as_slice(),
        [Event::StrayResponse { .. }]
    ));
    // And nothing is kept at all with a zero cap.
    let mut none = TransactionLayer::new(Config::default().with_max_lingering(0));
    let tx = receive_new(
        &mut none,
        &incoming(Method::Bye, "z9hG4bK-z", "z", Some("t")),
        t0,
    );
    let bye = incoming(Method::Bye, "z9hG4bK-z", "z", Some("t"));
    none.send_response(tx, response(&bye, 200, None), t0)
        .unwrap();
    assert_eq!(
        drain(&mut none).1,
        vec![Event::Terminated {
            tx: TransactionId::Server(tx)
        }]
    );
    assert!(none.is_empty());
    assert_eq!(none.poll_timeout(), None);
}

/// Per-call state of the load test's UAC.
struct UacCall {
    invite: Request,
    cancel: bool,
}

/// What the load test's TUs saw.
#[derive(Debug, Default)]
struct LoadOutcome {
    started: usize,
    answered: usize,
    cancelled: usize,
    refused_503: usize,
    bye_ok: usize,
    /// Out-of-dialog requests the UAS shed (expected).
    shed: usize,
    /// In-dialog requests or CANCELs refused anywhere (must stay 0).
    in_dialog_refused: usize,
    /// Highest active count the UAS reached (above max_active: in-dialog
    /// requests were admitted past the soft cap).
    uas_max_active: usize,
    max_len: [usize; 2],
    failures: Vec<String>,
}

/// `rate` calls per second for `secs` virtual seconds between two layers: each
/// INVITE is answered 180 at once and 200 after a second of ringing, every fifth
/// call is cancelled on the 180, answered calls are ACKed and hung up with a BYE
/// half a second later. The UAS's active cap is smaller than the ringing calls,
/// so new INVITEs are shed while BYEs and CANCELs keep flowing.
fn sustained_load(rate: u32, secs: u32, uac_cfg: Config, uas_cfg: Config) -> LoadOutcome {
    let t0 = Instant::now();
    let mut sim = Sim::new(SimConfig::default(), t0);
    let a = sim.add_node(addr(ME), uac_cfg);
    let b = sim.add_node(addr(PEER), uas_cfg);
    let to_uas = udp(PEER);
    let mut out = LoadOutcome::default();
    let interval = Duration::from_secs(1) / rate;
    let total = (rate * secs) as usize;

    let mut calls: HashMap<ClientTxId, (usize, UacCall)> = HashMap::new();
    let mut byes: HashMap<Instant, Vec<Request>> = HashMap::new();
    let mut bye_txs: Vec<ClientTxId> = Vec::new();
    // UAS: ringing INVITEs waiting for their 200, by due time.
    let mut ringing: HashMap<ServerTxId, (Request, String, Instant)> = HashMap::new();
    let mut next_call = 0usize;
    sim.wake_at(t0);

    while sim.step() {
        let now = sim.now();
        // UAC: start the calls that are due.
        while next_call < total && t0 + interval * next_call as u32 <= now {
            let i = next_call;
            next_call += 1;
            let invite = request(
                Method::Invite,
                addr(ME),
                addr(PEER),
                Transport::Udp,
                &format!("z9hG4bK-inv{i}"),
                &format!("call-{i}"),
                1,
            );
            match sim.layer(a).send_request(invite.clone(), to_uas, now) {
                Ok(tx) => {
                    out.started += 1;
                    calls.insert(
                        tx,
                        (
                            i,
                            UacCall {
                                invite,
                                cancel: i.is_multiple_of(5),
                            },
                        ),
                    );
                }
                Err(e) => out.failures.push(format!("UAC INVITE {i}: {e}")),
            }
            if next_call < total {
                sim.wake_at(t0 + interval * next_call as u32);
            }
        }
        // UAC: hang up the calls that are due.
        if let Some(due) = byes.remove(&now) {
            for bye in due {
                match sim.layer(a).send_request(bye, to_uas, now) {
                    Ok(tx) => bye_txs.push(tx),
                    Err(e) => {
                        out.in_dialog_refused += 1;
                        out.failures.push(format!("UAC BYE refused: {e}"));
                    }
                }
            }
        }
        for ev in sim.events(a) {
            match ev {
                Event::Response { tx, response: r } if calls.contains_key(&tx) => {
                    let Some((i, call)) = calls.get(&tx) else {
                        continue;
                    };
                    let (i, invite) = (*i, call.invite.clone());
                    match r.status.code() {
                        180 if call.cancel => {
                            let cancel = cancel_for(&invite).unwrap();
                            if let Err(e) = sim.layer(a).send_request(cancel, to_uas, now) {
                                out.in_dialog_refused += 1;
                                out.failures.push(format!("UAC CANCEL refused: {e}"));
                            }
                        }
                        200 => {
                            out.answered += 1;
                            let mut ack = request(
                                Method::Ack,
                                addr(ME),
                                addr(PEER),
                                Transport::Udp,
                                &format!("z9hG4bK-ack{i}"),
                                &invite.head.call_id,
                                1,
                            );
                            ack.head.to = r.head.to.clone();
                            sim.layer(a).send_stateless(&ack.into_message(), to_uas);
                            let mut bye = request(
                                Method::Bye,
                                addr(ME),
                                addr(PEER),
                                Transport::Udp,
                                &format!("z9hG4bK-bye{i}"),
                                &invite.head.call_id,
                                2,
                            );
                            bye.head.to = r.head.to.clone();
                            let at = now + Duration::from_millis(500);
                            byes.entry(at).or_default().push(bye);
                            sim.wake_at(at);
                        }
                        487 => out.cancelled += 1,
                        503 => out.refused_503 += 1,
                        _ => {}
                    }
                }
                Event::Response { tx, response: r } if bye_txs.contains(&tx) => {
                    if r.status == StatusCode::OK {
                        out.bye_ok += 1;
                    }
                }
                Event::Response { .. } | Event::Terminated { .. } => {}
                other => out.failures.push(format!("UAC: {other:?}")),
            }
        }
        // UAS: answer the ringing calls that are due.
        let due: Vec<ServerTxId> = ringing
            .iter()
            .filter(|(_, (_, _, at))| *at <= now)
            .map(|(tx, _)| *tx)
            .collect();
        for tx in due {
            let Some((req, tag, _)) = ringing.remove(&tx) else {
                continue;
            };
            if let Err(e) = sim
                .layer(b)
                .send_response(tx, response(&req, 200, Some(&tag)), now)
            {
                out.failures.push(format!("UAS 200: {e}"));
            }
        }
        for ev in sim.events(b) {
            match ev {
                Event::Request { tx, request: r, .. } => {
                    let layer = sim.layer(b);
                    out.uas_max_active = out.uas_max_active.max(layer.active_len());
                    let result = match r.method {
                        Method::Invite => {
                            let tag = format!("uas-{}", r.head.call_id);
                            let at = now + Duration::from_secs(1);
                            let ringing_resp = response(&r, 180, Some(&tag));
                            ringing.insert(tx, (r, tag, at));
                            sim.wake_at(at);
                            sim.layer(b).send_response(tx, ringing_resp, now)
                        }
                        Method::Cancel => {
                            let found = layer.find_invite_for_cancel(&r);
                            let code = if found.is_some() { 200 } else { 481 };
                            let sent = layer.send_response(tx, response(&r, code, None), now);
                            if let Some(inv_tx) = found {
                                if let Some((inv, tag, _)) = ringing.remove(&inv_tx) {
                                    layer
                                        .send_response(inv_tx, response(&inv, 487, Some(&tag)), now)
                                        .unwrap();
                                }
                            }
                            sent
                        }
                        _ => layer.send_response(tx, response(&r, 200, None), now),
                    };
                    if let Err(e) = result {
                        out.failures.push(format!("UAS response: {e}"));
                    }
                }
                Event::Overloaded {
                    request: r,
                    source,
                    transport,
                } => {
                    if r.method == Method::Cancel || r.head.to.tag().is_some() {
                        out.in_dialog_refused += 1;
                        out.failures
                            .push(format!("UAS refused in-dialog {}", r.method));
                    } else {
                        out.shed += 1;
                        let target = response_target(&r.head.via[0], source, transport);
                        let resp: Response = response(&r, 503, None);
                        sim.layer(b).send_stateless(&resp.into_message(), target);
                    }
                }
                Event::Ack { .. } | Event::Terminated { .. } => {}
                other => out.failures.push(format!("UAS: {other:?}")),
            }
        }
        for (n, node) in [a, b].into_iter().enumerate() {
            let layer = sim.layer(node);
            let cfg = *layer.config();
            assert!(layer.lingering_len() <= cfg.max_lingering);
            assert!(layer.active_len() <= cfg.active_hard_limit());
            out.max_len[n] = out.max_len[n].max(layer.len());
        }
    }
    for (n, node) in [a, b].into_iter().enumerate() {
        let layer = sim.layer(node);
        if !layer.is_empty() {
            out.failures
                .push(format!("node {n} still holds {} transactions", layer.len()));
        }
    }
    out
}

#[test]
fn sustained_load_keeps_the_layer_bounded_and_never_refuses_in_dialog_requests() {
    let uac = Config::default()
        .with_max_active(400)
        .with_max_lingering(300);
    let uas = Config::default()
        .with_max_active(50)
        .with_max_lingering(300);
    let out = sustained_load(100, 60, uac, uas);
    println!("{out:?}");
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    assert_eq!(out.in_dialog_refused, 0);
    assert_eq!(out.started, 6000);
    // The UAS's active cap was hit (new calls shed with 503) …
    assert!(out.shed > 0 && out.refused_503 == out.shed, "{out:?}");
    // … while BYEs and CANCELs were admitted past it.
    assert!(out.uas_max_active > 50, "{out:?}");
    assert!(out.cancelled > 0);
    assert_eq!(out.bye_ok, out.answered, "every answered call was hung up");
    assert_eq!(
        out.answered + out.cancelled + out.refused_503,
        out.started,
        "every call got an outcome"
    );
    // ~6 000 finished calls × 2 lingering transactions × 32 s would be thousands
    // at once; the caps keep each layer to active + max_lingering.
    assert!(out.max_len[0] <= 400 * 2 + 300, "{out:?}");
    assert!(out.max_len[1] <= 50 * 2 + 300, "{out:?}");
}

/// The resident set size of this process, from `/proc/self/statm` (Linux).
fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// A realistic INVITE or BYE: the test builder's headers plus what a UA adds,
/// and for INVITE an audio SDP offer.
fn realistic(mut r: Request) -> Request {
    r.head.other.push("User-Agent", "callwire-load/1.0");
    r.head.other.push(
        "Allow",
        "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY",
    );
    r.head.other.push("Supported", "replaces, timer, 100rel");
    if r.method == Method::Invite {
        r.head.content_type = Some("application/sdp".to_owned());
        r.body = b"v=0\r\no=- 3912345678 3912345678 IN IP4 192.0.2.1\r\ns=-\r\n\
c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 9 101\r\n\
a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
            .to_vec();
    }
    r
}

/// Measures the memory a lingering transaction holds, for the
/// `Config::max_lingering` docs. Run it alone:
/// `cargo test -p callwire-sip --test transaction_limits -- --ignored --nocapture lingering_memory`.
#[test]
#[ignore = "a measurement (process RSS), run alone by hand"]
fn lingering_memory() {
    const N: usize = 20_000;
    let t0 = Instant::now();
    let Some(_) = rss_bytes() else {
        println!("no /proc/self/statm: nothing measured");
        return;
    };
    let kinds = [
        (
            "server INVITE, 200 with SDP (Accepted)",
            Method::Invite,
            true,
        ),
        ("server BYE, 200 (Completed)", Method::Bye, true),
        (
            "client INVITE with SDP, 200 (Accepted)",
            Method::Invite,
            false,
        ),
        ("client BYE, 200 (Completed)", Method::Bye, false),
    ];
    // Every layer stays alive to the end, so freed memory is never reused by the
    // next measurement.
    let mut layers = Vec::new();
    for (name, method, server) in kinds {
        let mut layer = TransactionLayer::new(Config::default());
        let mut sample = (0, 0);
        let before = rss_bytes().unwrap_or(0);
        for i in 0..N {
            let branch = format!("z9hG4bK-{i:016x}");
            if server {
                let req = realistic(incoming(
                    method.clone(),
                    &branch,
                    &format!("call-{i}"),
                    None,
                ));
                let tx = receive_new(&mut layer, &req, t0);
                let mut resp = response(&req, 200, Some("a8f3c2d1"));
                resp.body.clone_from(&req.body);
                resp.head.content_type.clone_from(&req.head.content_type);
                resp.head.contact = req.head.contact.clone();
                sample = (req.to_bytes().len(), resp.to_bytes().len());
                layer.send_response(tx, resp, t0).unwrap();
            } else {
                let req = realistic(outgoing(method.clone(), &branch, None));
                layer.send_request(req.clone(), udp(PEER), t0).unwrap();
                let resp = response(&req, 200, Some("a8f3c2d1"));
                sample = (req.to_bytes().len(), resp.to_bytes().len());
                layer.receive(resp.into_message(), addr(PEER), Transport::Udp, t0);
            }
            drain(&mut layer);
        }
        assert_eq!(layer.lingering_len(), N);
        let after = rss_bytes().unwrap_or(0);
        let per = after.saturating_sub(before) / N;
        println!(
            "{name}: ~{per} bytes per lingering transaction (request {} B, response {} B on the wire)",
            sample.0, sample.1
        );
        assert!(per < 16 * 1024, "{name}: {per} bytes each");
        layers.push(layer);
    }
}
