//! Server transactions driven through the public API with a virtual clock:
//! absorption of retransmissions, Timers G/H/I/J/L, ACK and CANCEL matching,
//! RFC 2543 matching, Via stamping and response routing, the transaction cap.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callwire_sip::message::{Host, Method, Request, StatusCode, Via};
use callwire_sip::testing::{request, response, IntoMessage};
use callwire_sip::transaction::{
    response_target, Config, Event, ServerState, ServerTxId, Target, TransactionError,
    TransactionId, TransactionLayer, Transmit, Transport,
};

const ME: &str = "192.0.2.1:5060";
const PEER: &str = "192.0.2.2:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// Transmits and events with their virtual offsets.
type Timeline = (Vec<(Duration, Transmit)>, Vec<(Duration, Event)>);

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

fn run_timers(layer: &mut TransactionLayer, t0: Instant, until: Duration) -> Timeline {
    let mut transmits = Vec::new();
    let mut events = Vec::new();
    while let Some(at) = layer.poll_timeout() {
        if at - t0 > until {
            break;
        }
        layer.handle_timeout(at);
        let (t, e) = drain(layer);
        transmits.extend(t.into_iter().map(|x| (at - t0, x)));
        events.extend(e.into_iter().map(|x| (at - t0, x)));
    }
    (transmits, events)
}

fn incoming(method: Method, branch: &str) -> Request {
    request(
        method,
        addr(PEER),
        addr(ME),
        Transport::Udp,
        branch,
        "call-s",
        1,
    )
}

/// Feeds `req` from PEER over UDP and returns the new server transaction.
fn receive_new(layer: &mut TransactionLayer, req: &Request, now: Instant) -> (ServerTxId, Request) {
    layer.receive(req.clone().into_message(), addr(PEER), Transport::Udp, now);
    match drain(layer).1.as_slice() {
        [Event::Request {
            tx,
            request,
            source,
            transport,
        }] => {
            assert_eq!((*source, *transport), (addr(PEER), Transport::Udp));
            (*tx, request.clone())
        }
        other => panic!("expected one Event::Request, got {other:?}"),
    }
}

fn status_of(t: &Transmit) -> u16 {
    let s = String::from_utf8_lossy(&t.bytes);
    s.get(8..11).unwrap().parse().unwrap()
}

#[test]
fn non_invite_retransmissions_are_absorbed_and_answered_with_the_last_response() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let req = incoming(Method::Options, "z9hG4bK-o1");
    let (tx, got) = receive_new(&mut layer, &req, t0);
    assert_eq!(layer.server_state(tx), Some(ServerState::Trying));

    // Trying: nothing to resend, nothing for the TU.
    layer.receive(
        req.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(500),
    );
    assert_eq!(drain(&mut layer), (vec![], vec![]));

    layer
        .send_response(tx, response(&got, 100, None), t0 + ms(600))
        .unwrap();
    assert_eq!(layer.server_state(tx), Some(ServerState::Proceeding));
    layer.receive(
        req.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(700),
    );
    let (t, e) = drain(&mut layer);
    assert!(e.is_empty());
    assert_eq!(t.iter().map(status_of).collect::<Vec<_>>(), vec![100, 100]);

    layer
        .send_response(tx, response(&got, 200, Some("s")), t0 + ms(800))
        .unwrap();
    assert_eq!(layer.server_state(tx), Some(ServerState::Completed));
    layer.receive(
        req.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(900),
    );
    let (t, e) = drain(&mut layer);
    assert!(e.is_empty());
    assert_eq!(t.iter().map(status_of).collect::<Vec<_>>(), vec![200, 200]);
    assert_eq!(t[0].bytes, t[1].bytes);

    // No further response in Completed.
    let err = layer
        .send_response(tx, response(&got, 500, Some("s")), t0 + ms(950))
        .unwrap_err();
    assert_eq!(
        err,
        TransactionError::InvalidState {
            state: ServerState::Completed,
            status: StatusCode::SERVER_INTERNAL_ERROR
        }
    );

    // Timer J = 64*T1 after the final response.
    let (sent, events) = run_timers(&mut layer, t0, Duration::from_secs(600));
    assert!(sent.is_empty());
    assert_eq!(
        events,
        vec![(
            ms(32_800),
            Event::Terminated {
                tx: TransactionId::Server(tx)
            }
        )]
    );
    // A late retransmission is a new request again.
    let (tx2, _) = receive_new(&mut layer, &req, t0 + ms(40_000));
    assert_ne!(tx2, tx);
}

#[test]
fn invite_486_retransmitted_by_timer_g_until_ack_then_timer_i() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let req = incoming(Method::Invite, "z9hG4bK-i1");
    let (tx, got) = receive_new(&mut layer, &req, t0);
    assert_eq!(layer.server_state(tx), Some(ServerState::Proceeding));
    let busy = response(&got, 486, Some("uas"));
    layer.send_response(tx, busy, t0).unwrap();
    let (first, _) = drain(&mut layer);
    assert_eq!(first.len(), 1);

    let (sent, events) = run_timers(&mut layer, t0, ms(12_000));
    let times: Vec<u64> = sent.iter().map(|(d, _)| d.as_millis() as u64).collect();
    // G = T1, 2T1, 4T1, then capped at T2.
    assert_eq!(times, vec![500, 1500, 3500, 7500, 11500]);
    assert!(sent.iter().all(|(_, t)| t.bytes == first[0].bytes));
    assert!(events.is_empty());

    // The INVITE retransmitted meanwhile gets the 486 again.
    layer.receive(
        req.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(12_000),
    );
    assert_eq!(drain(&mut layer).0.len(), 1);

    // ACK for the 486: same branch, To tag of the response.
    let mut ack = incoming(Method::Ack, "z9hG4bK-i1");
    ack.head.to.set_tag("uas");
    layer.receive(
        ack.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(12_100),
    );
    assert_eq!(drain(&mut layer), (vec![], vec![]), "the ACK is absorbed");
    assert_eq!(layer.server_state(tx), Some(ServerState::Confirmed));
    // ACK retransmissions are absorbed too.
    layer.receive(
        ack.into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(13_000),
    );
    assert_eq!(drain(&mut layer), (vec![], vec![]));

    // Timer I = T4 ends it; no more 486s.
    let (sent, events) = run_timers(&mut layer, t0, Duration::from_secs(600));
    assert!(sent.is_empty());
    assert_eq!(
        events,
        vec![(
            ms(17_100),
            Event::Terminated {
                tx: TransactionId::Server(tx)
            }
        )]
    );
}

#[test]
fn invite_486_without_ack_times_out_with_timer_h() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let (tx, got) = receive_new(&mut layer, &incoming(Method::Invite, "z9hG4bK-h"), t0);
    layer
        .send_response(tx, response(&got, 603, Some("u")), t0)
        .unwrap();
    drain(&mut layer);
    let (sent, events) = run_timers(&mut layer, t0, Duration::from_secs(600));
    assert_eq!(sent.len(), 10, "G at .5 1.5 3.5 7.5 11.5 … 31.5 s");
    assert_eq!(
        events,
        vec![
            (ms(32_000), Event::AckTimeout { tx }),
            (
                ms(32_000),
                Event::Terminated {
                    tx: TransactionId::Server(tx)
                }
            )
        ]
    );
    assert!(layer.is_empty());
}

#[test]
fn invite_2xx_moves_to_accepted_and_the_tu_retransmits() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let req = incoming(Method::Invite, "z9hG4bK-a");
    let (tx, got) = receive_new(&mut layer, &req, t0);
    layer
        .send_response(tx, response(&got, 180, Some("u")), t0)
        .unwrap();
    let ok = response(&got, 200, Some("u"));
    layer.send_response(tx, ok.clone(), t0 + ms(10)).unwrap();
    assert_eq!(layer.server_state(tx), Some(ServerState::Accepted));
    assert_eq!(drain(&mut layer).0.len(), 2);

    // The transaction never retransmits the 2xx itself…
    assert_eq!(
        layer.poll_timeout(),
        Some(t0 + ms(10) + ms(32_000)),
        "only Timer L"
    );
    // …absorbs INVITE retransmissions without answering…
    layer.receive(
        req.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(500),
    );
    assert_eq!(drain(&mut layer), (vec![], vec![]));
    // …and sends the TU's retransmissions.
    layer.send_response(tx, ok, t0 + ms(510)).unwrap();
    assert_eq!(drain(&mut layer).0.len(), 1);
    // Non-2xx after a 2xx is refused.
    assert!(matches!(
        layer.send_response(tx, response(&got, 487, Some("u")), t0 + ms(520)),
        Err(TransactionError::InvalidState {
            state: ServerState::Accepted,
            ..
        })
    ));

    // The ACK for the 2xx has its own branch: it goes to the TU.
    let mut ack = incoming(Method::Ack, "z9hG4bK-ack2xx");
    ack.head.to.set_tag("u");
    layer.receive(
        ack.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(600),
    );
    let (t, e) = drain(&mut layer);
    assert!(t.is_empty());
    assert!(
        matches!(&e[..], [Event::Ack { request, source, tx: None, .. }] if request.method == Method::Ack && *source == addr(PEER))
    );
    // An ACK reusing the INVITE branch matches the Accepted transaction and still
    // goes to the TU (RFC 6026 §8.7).
    let mut same_branch_ack = incoming(Method::Ack, "z9hG4bK-a");
    same_branch_ack.head.to.set_tag("u");
    layer.receive(
        same_branch_ack.into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(700),
    );
    assert!(matches!(&drain(&mut layer).1[..], [Event::Ack { tx: Some(x), .. }] if *x == tx));

    // Timer L cleans up.
    let (sent, events) = run_timers(&mut layer, t0, Duration::from_secs(600));
    assert!(sent.is_empty());
    assert_eq!(
        events,
        vec![(
            ms(32_010),
            Event::Terminated {
                tx: TransactionId::Server(tx)
            }
        )]
    );
}

#[test]
fn cancel_matches_its_invite() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let invite = incoming(Method::Invite, "z9hG4bK-inv");
    let (inv_tx, inv) = receive_new(&mut layer, &invite, t0);
    let other = incoming(Method::Invite, "z9hG4bK-other");
    let (other_tx, _) = receive_new(&mut layer, &other, t0);

    let mut cancel = incoming(Method::Cancel, "z9hG4bK-inv");
    cancel.head.cseq.method = Method::Cancel;
    let (cancel_tx, got_cancel) = receive_new(&mut layer, &cancel, t0 + ms(100));
    assert_ne!(cancel_tx, inv_tx);
    assert_eq!(layer.find_invite_for_cancel(&got_cancel), Some(inv_tx));
    assert_ne!(layer.find_invite_for_cancel(&got_cancel), Some(other_tx));

    // A CANCEL with an unknown branch targets nothing (the TU answers 481).
    let mut stray = incoming(Method::Cancel, "z9hG4bK-nothing");
    stray.head.cseq.method = Method::Cancel;
    let (_, got_stray) = receive_new(&mut layer, &stray, t0 + ms(100));
    assert_eq!(layer.find_invite_for_cancel(&got_stray), None);

    // A CANCEL from another sent-by with the same branch is a different transaction.
    let mut elsewhere = got_cancel.clone();
    elsewhere.head.via[0].port = Some(5070);
    assert_eq!(layer.find_invite_for_cancel(&elsewhere), None);

    // TU: 200 for the CANCEL, 487 for the INVITE.
    layer
        .send_response(
            cancel_tx,
            response(&got_cancel, 200, Some("u")),
            t0 + ms(110),
        )
        .unwrap();
    layer
        .send_response(inv_tx, response(&inv, 487, Some("u")), t0 + ms(110))
        .unwrap();
    let (t, _) = drain(&mut layer);
    assert_eq!(t.iter().map(status_of).collect::<Vec<_>>(), vec![200, 487]);
    // Retransmitted CANCEL gets the 200 again, not the 487.
    layer.receive(
        cancel.into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(200),
    );
    assert_eq!(
        drain(&mut layer)
            .0
            .iter()
            .map(status_of)
            .collect::<Vec<_>>(),
        vec![200]
    );
    assert_eq!(layer.server_state(inv_tx), Some(ServerState::Completed));
}

#[test]
fn rfc2543_requests_match_without_the_magic_cookie() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let invite = incoming(Method::Invite, "old-branch-1");
    let (tx, got) = receive_new(&mut layer, &invite, t0);
    // Retransmission matched by Request-URI, tags, Call-ID, CSeq and top Via.
    layer.receive(
        invite.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(500),
    );
    assert_eq!(drain(&mut layer), (vec![], vec![]));
    // A branchless one with a different CSeq is a new transaction.
    let mut next = invite.clone();
    next.head.via[0].params.remove("branch");
    next.head.cseq.seq = 2;
    let (tx2, _) = receive_new(&mut layer, &next, t0 + ms(500));
    assert_ne!(tx, tx2);
    // And its retransmission matches it.
    layer.receive(
        next.into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(600),
    );
    assert_eq!(drain(&mut layer), (vec![], vec![]));

    // CANCEL matches by the same fields with method INVITE.
    let mut cancel = invite.clone();
    cancel.method = Method::Cancel;
    cancel.head.cseq.method = Method::Cancel;
    let (_, got_cancel) = receive_new(&mut layer, &cancel, t0 + ms(700));
    assert_eq!(layer.find_invite_for_cancel(&got_cancel), Some(tx));

    layer
        .send_response(tx, response(&got, 486, Some("legacy")), t0 + ms(800))
        .unwrap();
    drain(&mut layer);
    // An ACK with another To tag does not match: it goes to the TU.
    let mut ack = invite.clone();
    ack.method = Method::Ack;
    ack.head.cseq.method = Method::Ack;
    let mut wrong_tag = ack.clone();
    wrong_tag.head.to.set_tag("nope");
    layer.receive(
        wrong_tag.into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(900),
    );
    assert!(matches!(
        &drain(&mut layer).1[..],
        [Event::Ack { tx: None, .. }]
    ));
    assert_eq!(layer.server_state(tx), Some(ServerState::Completed));
    // The ACK with the response's To tag confirms the transaction.
    ack.head.to.set_tag("legacy");
    layer.receive(ack.into_message(), addr(PEER), Transport::Udp, t0 + ms(900));
    assert_eq!(drain(&mut layer), (vec![], vec![]));
    assert_eq!(layer.server_state(tx), Some(ServerState::Confirmed));
}

#[test]
fn received_and_rport_are_stamped() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let nat = addr("203.0.113.5:40000");
    let top_via = |layer: &mut TransactionLayer, via: Via, branch: &str| -> Via {
        let mut req = incoming(Method::Options, branch);
        req.head.via = vec![via];
        layer.receive(req.into_message(), nat, Transport::Udp, t0);
        match drain(layer).1.as_slice() {
            [Event::Request { request, .. }] => request.head.via[0].clone(),
            other => panic!("{other:?}"),
        }
    };
    let private = Host::V4("10.0.0.7".parse().unwrap());

    // Private sent-by behind NAT, rport requested: received + rport filled.
    let mut via = Via::new("UDP", private.clone(), Some(5060), "z9hG4bK-1");
    via.params.set("rport", None);
    let v = top_via(&mut layer, via, "z9hG4bK-1");
    assert_eq!(v.received(), Some("203.0.113.5"));
    assert_eq!(v.rport(), Some(Some(40000)));

    // No rport: received only.
    let v = top_via(
        &mut layer,
        Via::new("UDP", private, Some(5060), "z9hG4bK-2"),
        "z9hG4bK-2",
    );
    assert_eq!(v.received(), Some("203.0.113.5"));
    assert_eq!(v.rport(), None);

    // Sent-by equal to the source address: untouched.
    let v = top_via(
        &mut layer,
        Via::new("UDP", Host::from(nat.ip()), Some(40000), "z9hG4bK-3"),
        "z9hG4bK-3",
    );
    assert_eq!(v.received(), None);

    // rport requested by a host with the right address: received is still added (RFC 3581).
    let mut via = Via::new("UDP", Host::from(nat.ip()), Some(40000), "z9hG4bK-4");
    via.params.set("rport", None);
    let v = top_via(&mut layer, via, "z9hG4bK-4");
    assert_eq!(
        (v.received(), v.rport()),
        (Some("203.0.113.5"), Some(Some(40000)))
    );

    // A domain name always gets received.
    let v = top_via(
        &mut layer,
        Via::new(
            "UDP",
            Host::Name("pc.example.com".into()),
            None,
            "z9hG4bK-5",
        ),
        "z9hG4bK-5",
    );
    assert_eq!(v.received(), Some("203.0.113.5"));
    assert_eq!(
        v.to_string(),
        "SIP/2.0/UDP pc.example.com;branch=z9hG4bK-5;received=203.0.113.5"
    );
}

#[test]
fn responses_are_routed_per_rfc3261_and_rfc3581() {
    let src = addr("203.0.113.5:40000");
    let private = Host::V4("10.0.0.7".parse().unwrap());
    let udp = |a: &str| Target::new(Transport::Udp, addr(a));

    // Stamped rport: back to the source address and port.
    let mut v = Via::new("UDP", private.clone(), Some(5062), "z9hG4bK");
    v.params.set("received", Some("203.0.113.5"));
    v.params.set("rport", Some("40000"));
    assert_eq!(
        response_target(&v, src, Transport::Udp),
        udp("203.0.113.5:40000")
    );
    // received without rport: received address, Via port.
    let mut v = Via::new("UDP", private.clone(), Some(5062), "z9hG4bK");
    v.params.set("received", Some("203.0.113.5"));
    assert_eq!(
        response_target(&v, src, Transport::Udp),
        udp("203.0.113.5:5062")
    );
    // … default port 5060.
    v.port = None;
    assert_eq!(
        response_target(&v, src, Transport::Udp),
        udp("203.0.113.5:5060")
    );
    // IP sent-by without received.
    let v = Via::new(
        "UDP",
        Host::V4("198.51.100.1".parse().unwrap()),
        None,
        "z9hG4bK",
    );
    assert_eq!(
        response_target(&v, src, Transport::Udp),
        udp("198.51.100.1:5060")
    );
    // Domain name without received (never after stamping): the source.
    let v = Via::new(
        "UDP",
        Host::Name("example.com".into()),
        Some(5080),
        "z9hG4bK",
    );
    assert_eq!(
        response_target(&v, src, Transport::Udp),
        udp("203.0.113.5:40000")
    );
    // Reliable: the connection's peer, whatever the Via says.
    let v = Via::new("TCP", private, Some(5060), "z9hG4bK");
    assert_eq!(
        response_target(&v, src, Transport::Tcp),
        Target::new(Transport::Tcp, src)
    );
    // IPv6 received.
    let mut v = Via::new("UDP", Host::Name("h".into()), Some(5060), "z9hG4bK");
    v.params.set("received", Some("2001:db8::1"));
    assert_eq!(
        response_target(&v, src, Transport::Udp),
        udp("[2001:db8::1]:5060")
    );

    // Through the layer: the response to a NATed request goes to the NAT mapping.
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let mut req = incoming(Method::Options, "z9hG4bK-r");
    req.head.via[0].host = Host::V4("10.0.0.7".parse().unwrap());
    req.head.via[0].params.set("rport", None);
    layer.receive(req.into_message(), src, Transport::Udp, t0);
    let Some(Event::Request { tx, request, .. }) = layer.poll_event() else {
        panic!()
    };
    layer
        .send_response(tx, response(&request, 200, Some("x")), t0)
        .unwrap();
    assert_eq!(
        layer.poll_transmit().unwrap().target,
        udp("203.0.113.5:40000")
    );
}

#[test]
fn reliable_transport_server_timers() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let peer_conn = addr("192.0.2.2:50123");
    let mut inv = request(
        Method::Invite,
        addr(PEER),
        addr(ME),
        Transport::Tcp,
        "z9hG4bK-tcp",
        "c",
        1,
    );
    layer.receive(inv.clone().into_message(), peer_conn, Transport::Tcp, t0);
    let Some(Event::Request {
        tx, request: got, ..
    }) = layer.poll_event()
    else {
        panic!()
    };
    layer
        .send_response(tx, response(&got, 486, Some("u")), t0)
        .unwrap();
    let sent = layer.poll_transmit().unwrap();
    assert_eq!(sent.target, Target::new(Transport::Tcp, peer_conn));
    // No Timer G over TCP, only H.
    assert_eq!(layer.poll_timeout(), Some(t0 + ms(32_000)));
    // ACK: Timer I is zero on reliable transports, so the transaction ends at once.
    inv.method = Method::Ack;
    inv.head.cseq.method = Method::Ack;
    inv.head.to.set_tag("u");
    layer.receive(inv.into_message(), peer_conn, Transport::Tcp, t0 + ms(5));
    assert_eq!(
        drain(&mut layer).1,
        vec![Event::Terminated {
            tx: TransactionId::Server(tx)
        }]
    );

    // Non-INVITE: Timer J is zero on TCP.
    let opt = request(
        Method::Options,
        addr(PEER),
        addr(ME),
        Transport::Tcp,
        "z9hG4bK-tcp2",
        "c",
        2,
    );
    layer.receive(opt.into_message(), peer_conn, Transport::Tcp, t0);
    let Some(Event::Request {
        tx, request: got, ..
    }) = layer.poll_event()
    else {
        panic!()
    };
    layer
        .send_response(tx, response(&got, 200, Some("u")), t0)
        .unwrap();
    let (t, e) = drain(&mut layer);
    assert_eq!(t.len(), 1);
    assert_eq!(
        e,
        vec![Event::Terminated {
            tx: TransactionId::Server(tx)
        }]
    );
    assert!(layer.is_empty());
}

#[test]
fn transaction_cap_hands_out_overloaded() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default().with_max_active(2));
    let (a, _) = receive_new(&mut layer, &incoming(Method::Invite, "z9hG4bK-1"), t0);
    receive_new(&mut layer, &incoming(Method::Options, "z9hG4bK-2"), t0);
    assert_eq!(layer.len(), 2);

    let third = incoming(Method::Invite, "z9hG4bK-3");
    layer.receive(third.into_message(), addr(PEER), Transport::Udp, t0);
    let (t, e) = drain(&mut layer);
    assert!(t.is_empty());
    let [Event::Overloaded {
        request: got,
        source,
        transport,
    }] = e.as_slice()
    else {
        panic!("{e:?}")
    };
    assert_eq!(layer.len(), 2);
    // The TU answers 503 statelessly.
    let resp = response(got, 503, None);
    let target = response_target(&got.head.via[0], *source, *transport);
    layer.send_stateless(&resp.into_message(), target);
    let sent = layer.poll_transmit().unwrap();
    assert_eq!(
        (status_of(&sent), sent.target),
        (503, Target::new(Transport::Udp, addr(PEER)))
    );

    // Retransmissions of existing transactions and ACKs still work at the cap.
    layer.receive(
        incoming(Method::Invite, "z9hG4bK-1").into_message(),
        addr(PEER),
        Transport::Udp,
        t0,
    );
    layer.receive(
        incoming(Method::Ack, "z9hG4bK-x").into_message(),
        addr(PEER),
        Transport::Udp,
        t0,
    );
    assert!(matches!(&drain(&mut layer).1[..], [Event::Ack { .. }]));
    // The client side is capped too.
    let out = request(
        Method::Options,
        addr(ME),
        addr(PEER),
        Transport::Udp,
        "z9hG4bK-c",
        "c",
        1,
    );
    assert_eq!(
        layer.send_request(out, Target::new(Transport::Udp, addr(PEER)), t0),
        Err(TransactionError::Overloaded { limit: 2 })
    );
    // Room again once one ends.
    layer.transport_error(Target::new(Transport::Udp, addr(PEER)));
    assert!(layer.is_empty());
    assert_eq!(layer.server_state(a), None);
    assert_eq!(
        drain(&mut layer).1.len(),
        4,
        "TransportError + Terminated, twice"
    );
    receive_new(&mut layer, &incoming(Method::Invite, "z9hG4bK-4"), t0);
}

#[test]
fn tu_errors_are_reported_not_panics() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let (tx, got) = receive_new(&mut layer, &incoming(Method::Bye, "z9hG4bK-b"), t0);
    // A response for another method.
    let mut wrong = response(&got, 200, None);
    wrong.head.cseq.method = Method::Invite;
    assert_eq!(
        layer.send_response(tx, wrong, t0),
        Err(TransactionError::MethodMismatch {
            transaction: Method::Bye,
            response: Method::Invite
        })
    );
    layer
        .send_response(tx, response(&got, 200, None), t0)
        .unwrap();
    layer.transport_error(Target::new(Transport::Udp, addr(PEER)));
    let e = layer
        .send_response(tx, response(&got, 200, None), t0)
        .unwrap_err();
    assert_eq!(
        e,
        TransactionError::UnknownTransaction(TransactionId::Server(tx))
    );
    assert!(e.to_string().contains("unknown transaction"));
}

#[test]
fn garbage_sequences_never_panic() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let src = addr(PEER);
    let req = incoming(Method::Invite, "z9hG4bK-g");
    // Responses without transactions, ACK without INVITE, requests without Via.
    layer.receive(
        response(&req, 200, Some("x")).into_message(),
        src,
        Transport::Udp,
        t0,
    );
    layer.receive(
        incoming(Method::Ack, "z9hG4bK-g").into_message(),
        src,
        Transport::Udp,
        t0,
    );
    let mut no_via = req.clone();
    no_via.head.via.clear();
    layer.receive(no_via.clone().into_message(), src, Transport::Udp, t0);
    let mut ack_no_via = no_via.clone();
    ack_no_via.method = Method::Ack;
    layer.receive(ack_no_via.into_message(), src, Transport::Udp, t0);
    assert_eq!(layer.find_invite_for_cancel(&no_via), None);
    let (t, e) = drain(&mut layer);
    assert!(t.is_empty());
    assert!(
        matches!(&e[..], [Event::StrayResponse { .. }, Event::Ack { .. }]),
        "{e:?}"
    );
    // Duplicate requests: one transaction.
    for i in 0..5 {
        layer.receive(req.clone().into_message(), src, Transport::Udp, t0 + ms(i));
    }
    assert_eq!(drain(&mut layer).1.len(), 1);
    // Timeouts far in the past and future, repeated.
    layer.handle_timeout(t0);
    layer.handle_timeout(t0 + Duration::from_secs(1_000_000));
    layer.handle_timeout(t0);
    assert_eq!(
        layer.len(),
        1,
        "a Proceeding INVITE server transaction has no timer"
    );
}
