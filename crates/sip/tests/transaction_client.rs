//! Client transactions driven through the public API with a virtual clock:
//! retransmission timers, timeouts, response handling, ACK for non-2xx, CANCEL.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use callwire_sip::message::{Method, NameAddr, StatusCode};
use callwire_sip::testing::{request, response, sip_uri, IntoMessage};
use callwire_sip::transaction::{
    cancel_for, new_branch, ClientState, Config, Event, Target, TimerConfig, TransactionError,
    TransactionId, TransactionLayer, Transmit, Transport,
};
use rand::SeedableRng;

const ME: &str = "192.0.2.1:5060";
const PEER: &str = "192.0.2.2:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
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

/// Runs the layer's timers until none is left (or `limit` passes), returning the
/// virtual offsets (from `t0`) of every transmit and every event.
fn run_timers(layer: &mut TransactionLayer, t0: Instant, limit: Duration) -> Timeline {
    let mut transmits = Vec::new();
    let mut events = Vec::new();
    while let Some(at) = layer.poll_timeout() {
        if at - t0 > limit {
            break;
        }
        layer.handle_timeout(at);
        let (t, e) = drain(layer);
        transmits.extend(t.into_iter().map(|x| (at - t0, x)));
        events.extend(e.into_iter().map(|x| (at - t0, x)));
    }
    (transmits, events)
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn udp(a: &str) -> Target {
    Target::new(Transport::Udp, addr(a))
}

fn invite(branch: &str) -> callwire_sip::message::Request {
    request(
        Method::Invite,
        addr(ME),
        addr(PEER),
        Transport::Udp,
        branch,
        "call-1",
        1,
    )
}

#[test]
fn invite_timer_a_doubles_and_timer_b_times_out() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let tx = layer
        .send_request(invite("z9hG4bK-a"), udp(PEER), t0)
        .unwrap();
    let (first, events) = drain(&mut layer);
    assert_eq!(first.len(), 1);
    assert!(events.is_empty());
    assert_eq!(layer.client_state(tx), Some(ClientState::Calling));

    let (sent, events) = run_timers(&mut layer, t0, Duration::from_secs(600));
    let times: Vec<u64> = sent.iter().map(|(d, _)| d.as_millis() as u64).collect();
    // RFC 3261 §17.1.1.2: A = T1, 2T1, 4T1… (no T2 cap for INVITE), until B = 64*T1.
    assert_eq!(times, vec![500, 1500, 3500, 7500, 15500, 31500]);
    assert!(sent
        .iter()
        .all(|(_, t)| t.bytes == first[0].bytes && t.target == udp(PEER)));
    assert_eq!(
        events,
        vec![
            (ms(32_000), Event::Timeout { tx }),
            (
                ms(32_000),
                Event::Terminated {
                    tx: TransactionId::Client(tx)
                }
            ),
        ]
    );
    assert!(layer.is_empty());
    assert_eq!(layer.poll_timeout(), None);
}

#[test]
fn timers_follow_configured_t1() {
    let t0 = Instant::now();
    let timers = TimerConfig::default().with_t1(ms(100)).with_t2(ms(400));
    let mut layer = TransactionLayer::new(Config::default().with_timers(timers));
    let req = request(
        Method::Options,
        addr(ME),
        addr(PEER),
        Transport::Udp,
        "z9hG4bK-o",
        "c",
        1,
    );
    let tx = layer.send_request(req, udp(PEER), t0).unwrap();
    drain(&mut layer);
    let (sent, events) = run_timers(&mut layer, t0, Duration::from_secs(60));
    let times: Vec<u64> = sent.iter().map(|(d, _)| d.as_millis() as u64).collect();
    assert_eq!(&times[..5], &[100, 300, 700, 1100, 1500]);
    assert_eq!(events.first(), Some(&(ms(6400), Event::Timeout { tx })));
}

#[test]
fn non_invite_timer_e_capped_at_t2_and_timer_f_times_out() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let req = request(
        Method::Options,
        addr(ME),
        addr(PEER),
        Transport::Udp,
        "z9hG4bK-o",
        "c",
        1,
    );
    let tx = layer.send_request(req, udp(PEER), t0).unwrap();
    assert_eq!(layer.client_state(tx), Some(ClientState::Trying));
    drain(&mut layer);
    let (sent, events) = run_timers(&mut layer, t0, Duration::from_secs(600));
    let times: Vec<u64> = sent.iter().map(|(d, _)| d.as_millis() as u64).collect();
    assert_eq!(
        times,
        vec![500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!(events[0], (ms(32_000), Event::Timeout { tx }));
    assert!(layer.is_empty());
}

#[test]
fn non_invite_proceeding_retransmits_every_t2() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let req = request(
        Method::Register,
        addr(ME),
        addr(PEER),
        Transport::Udp,
        "z9hG4bK-r",
        "c",
        1,
    );
    let tx = layer.send_request(req.clone(), udp(PEER), t0).unwrap();
    drain(&mut layer);
    layer.receive(
        response(&req, 100, None).into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(100),
    );
    let (_, events) = drain(&mut layer);
    assert!(
        matches!(&events[..], [Event::Response { tx: t, response }] if *t == tx && response.status == StatusCode::TRYING)
    );
    assert_eq!(layer.client_state(tx), Some(ClientState::Proceeding));
    let (sent, events) = run_timers(&mut layer, t0, Duration::from_secs(600));
    let times: Vec<u64> = sent.iter().map(|(d, _)| d.as_millis() as u64).collect();
    // E fires at 500 ms (armed in Trying), then every T2 in Proceeding.
    assert_eq!(
        times,
        vec![500, 4500, 8500, 12500, 16500, 20500, 24500, 28500]
    );
    assert_eq!(events[0], (ms(32_000), Event::Timeout { tx }));
}

#[test]
fn no_retransmissions_over_tcp() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let tcp = Target::new(Transport::Tcp, addr(PEER));
    let inv = request(
        Method::Invite,
        addr(ME),
        addr(PEER),
        Transport::Tcp,
        "z9hG4bK-t1",
        "c1",
        1,
    );
    let opt = request(
        Method::Options,
        addr(ME),
        addr(PEER),
        Transport::Tcp,
        "z9hG4bK-t2",
        "c2",
        1,
    );
    let a = layer.send_request(inv, tcp, t0).unwrap();
    let b = layer.send_request(opt.clone(), tcp, t0).unwrap();
    assert_eq!(drain(&mut layer).0.len(), 2);
    // Only Timers B and F are armed.
    assert_eq!(layer.poll_timeout(), Some(t0 + ms(32_000)));

    // A final response over TCP ends the non-INVITE transaction at once (K = 0).
    layer.receive(
        response(&opt, 200, Some("x")).into_message(),
        addr(PEER),
        Transport::Tcp,
        t0 + ms(10),
    );
    let (t, e) = drain(&mut layer);
    assert!(t.is_empty());
    assert!(
        matches!(&e[..], [Event::Response { .. }, Event::Terminated { tx }] if *tx == TransactionId::Client(b))
    );

    let (sent, events) = run_timers(&mut layer, t0, Duration::from_secs(600));
    assert!(sent.is_empty());
    assert_eq!(events[0], (ms(32_000), Event::Timeout { tx: a }));
}

#[test]
fn provisional_stops_invite_retransmissions_and_timer_b() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let req = invite("z9hG4bK-p");
    let tx = layer.send_request(req.clone(), udp(PEER), t0).unwrap();
    drain(&mut layer);
    assert!(!layer.has_provisional(tx));
    layer.receive(
        response(&req, 180, Some("t")).into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(200),
    );
    let (_, events) = drain(&mut layer);
    assert_eq!(events.len(), 1);
    assert!(layer.has_provisional(tx));
    assert_eq!(
        layer.poll_timeout(),
        None,
        "Proceeding has no timer; the TU decides"
    );
    // Further provisionals reach the TU.
    layer.receive(
        response(&req, 183, Some("t")).into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(300),
    );
    assert_eq!(drain(&mut layer).1.len(), 1);
}

#[test]
fn invite_non_2xx_final_is_acked_by_the_transaction() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let mut req = invite("z9hG4bK-n");
    req.head
        .route
        .push(NameAddr::new(sip_uri(None, addr("192.0.2.9:5060"))));
    let tx = layer.send_request(req.clone(), udp(PEER), t0).unwrap();
    drain(&mut layer);

    let busy = response(&req, 486, Some("callee"));
    layer.receive(
        busy.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(50),
    );
    let (t, e) = drain(&mut layer);
    assert!(
        matches!(&e[..], [Event::Response { tx: x, response }] if *x == tx && response.status.code() == 486)
    );
    assert_eq!(layer.client_state(tx), Some(ClientState::Completed));
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].target, udp(PEER));
    let ack = String::from_utf8(t[0].bytes.clone()).unwrap();
    assert!(
        ack.starts_with(&format!("ACK {} SIP/2.0\r\n", req.uri)),
        "{ack}"
    );
    assert!(
        ack.contains("branch=z9hG4bK-n"),
        "same branch as the INVITE: {ack}"
    );
    assert!(ack.contains("tag=callee"), "To from the response: {ack}");
    assert!(ack.contains("CSeq: 1 ACK\r\n"), "{ack}");
    assert!(ack.contains("Route: <sip:192.0.2.9:5060>\r\n"), "{ack}");
    assert_eq!(ack.matches("Via:").count(), 1);

    // A retransmitted 486 is absorbed, and the ACK goes again.
    layer.receive(
        busy.into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(600),
    );
    let (t2, e2) = drain(&mut layer);
    assert!(e2.is_empty());
    assert_eq!(t2, t);

    // A 2xx from another fork after the 486 is not this machine's.
    layer.receive(
        response(&req, 200, Some("other")).into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(700),
    );
    assert!(matches!(
        &drain(&mut layer).1[..],
        [Event::StrayResponse { .. }]
    ));

    // Timer D (64*T1 on UDP) ends it.
    let (sent, events) = run_timers(&mut layer, t0, Duration::from_secs(600));
    assert!(sent.is_empty());
    assert_eq!(
        events,
        vec![(
            ms(32_050),
            Event::Terminated {
                tx: TransactionId::Client(tx)
            }
        )]
    );
}

#[test]
fn invite_2xx_accepted_passes_every_2xx_until_timer_m() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let req = invite("z9hG4bK-ok");
    let tx = layer.send_request(req.clone(), udp(PEER), t0).unwrap();
    drain(&mut layer);
    let ok = response(&req, 200, Some("b1"));
    layer.receive(
        ok.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(100),
    );
    let (t, e) = drain(&mut layer);
    assert!(t.is_empty(), "the TU ACKs a 2xx, not the transaction");
    assert_eq!(
        e,
        vec![Event::Response {
            tx,
            response: ok.clone()
        }]
    );
    assert_eq!(layer.client_state(tx), Some(ClientState::Accepted));

    // Retransmission and a forked 2xx both reach the TU (RFC 6026).
    layer.receive(
        ok.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(600),
    );
    let fork = response(&req, 200, Some("b2"));
    layer.receive(
        fork.clone().into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(700),
    );
    // Provisionals and non-2xx are absorbed in Accepted.
    layer.receive(
        response(&req, 180, Some("b3")).into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(800),
    );
    layer.receive(
        response(&req, 500, Some("b4")).into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(800),
    );
    let (t, e) = drain(&mut layer);
    assert!(t.is_empty());
    assert_eq!(
        e,
        vec![
            Event::Response {
                tx,
                response: ok.clone()
            },
            Event::Response { tx, response: fork }
        ]
    );

    assert_eq!(layer.poll_timeout(), Some(t0 + ms(100) + ms(32_000)));
    let (_, events) = run_timers(&mut layer, t0, Duration::from_secs(600));
    assert_eq!(
        events,
        vec![(
            ms(32_100),
            Event::Terminated {
                tx: TransactionId::Client(tx)
            }
        )]
    );
    // After Timer M a 2xx is stray.
    layer.receive(
        ok.into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(40_000),
    );
    assert!(matches!(
        &drain(&mut layer).1[..],
        [Event::StrayResponse { .. }]
    ));
}

#[test]
fn cancel_is_its_own_transaction() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let mut req = invite("z9hG4bK-c");
    req.head
        .route
        .push(NameAddr::new(sip_uri(None, addr("192.0.2.9:5060"))));
    req.body = b"v=0\r\n".to_vec();
    let inv = layer.send_request(req.clone(), udp(PEER), t0).unwrap();
    layer.receive(
        response(&req, 180, Some("t")).into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(10),
    );
    drain(&mut layer);
    assert!(layer.has_provisional(inv));

    let cancel = cancel_for(&req).unwrap();
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.uri, req.uri);
    assert_eq!(cancel.head.via, req.head.via);
    assert_eq!(cancel.head.from, req.head.from);
    assert_eq!(cancel.head.to, req.head.to);
    assert_eq!(cancel.head.call_id, req.head.call_id);
    assert_eq!(
        (cancel.head.cseq.seq, &cancel.head.cseq.method),
        (1, &Method::Cancel)
    );
    assert_eq!(cancel.head.route, req.head.route);
    assert!(cancel.body.is_empty());

    let c = layer
        .send_request(cancel.clone(), udp(PEER), t0 + ms(20))
        .unwrap();
    assert_ne!(c, inv);
    assert_eq!(layer.len(), 2);
    // The 200 to CANCEL (CSeq CANCEL) goes to the CANCEL transaction, the 487 to the INVITE.
    layer.receive(
        response(&cancel, 200, Some("t")).into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(30),
    );
    layer.receive(
        response(&req, 487, Some("t")).into_message(),
        addr(PEER),
        Transport::Udp,
        t0 + ms(31),
    );
    let (t, e) = drain(&mut layer);
    let got: Vec<(TransactionId, u16)> = e
        .iter()
        .filter_map(|e| match e {
            Event::Response { tx, response } => Some(((*tx).into(), response.status.code())),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![(c.into(), 200), (inv.into(), 487)]);
    let lines: Vec<String> = t
        .iter()
        .map(|t| {
            String::from_utf8_lossy(&t.bytes)
                .lines()
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            format!("CANCEL {} SIP/2.0", req.uri),
            format!("ACK {} SIP/2.0", req.uri)
        ]
    );

    assert_eq!(
        cancel_for(&cancel),
        Err(TransactionError::NotCancellable(Method::Cancel))
    );
}

#[test]
fn refused_requests() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default().with_max_active(1));
    let ack = request(
        Method::Ack,
        addr(ME),
        addr(PEER),
        Transport::Udp,
        "z9hG4bK-a",
        "c",
        1,
    );
    assert_eq!(
        layer.send_request(ack, udp(PEER), t0),
        Err(TransactionError::AckIsNotATransaction)
    );

    let mut no_via = invite("z9hG4bK-x");
    no_via.head.via.clear();
    assert_eq!(
        layer.send_request(no_via.clone(), udp(PEER), t0),
        Err(TransactionError::MissingVia)
    );
    assert_eq!(cancel_for(&no_via), Err(TransactionError::MissingVia));

    let legacy = invite("1234");
    assert_eq!(
        layer.send_request(legacy, udp(PEER), t0),
        Err(TransactionError::InvalidBranch)
    );
    let mut no_branch = invite("z9hG4bK-y");
    no_branch.head.via[0].params.remove("branch");
    assert_eq!(
        layer.send_request(no_branch, udp(PEER), t0),
        Err(TransactionError::InvalidBranch)
    );

    layer
        .send_request(invite("z9hG4bK-d"), udp(PEER), t0)
        .unwrap();
    assert_eq!(
        layer.send_request(invite("z9hG4bK-d"), udp(PEER), t0),
        Err(TransactionError::DuplicateTransaction {
            method: Method::Invite
        })
    );
    assert_eq!(
        layer.send_request(invite("z9hG4bK-e"), udp(PEER), t0),
        Err(TransactionError::Overloaded { limit: 1 })
    );
    assert_eq!(layer.len(), 1);
    assert_eq!(
        drain(&mut layer).0.len(),
        1,
        "refused requests send nothing"
    );
}

#[test]
fn transport_error_ends_transactions_using_the_target() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let a = layer
        .send_request(invite("z9hG4bK-1"), udp(PEER), t0)
        .unwrap();
    let other = udp("192.0.2.3:5060");
    let b = layer.send_request(invite("z9hG4bK-2"), other, t0).unwrap();
    drain(&mut layer);
    layer.transport_error(udp(PEER));
    let (_, e) = drain(&mut layer);
    assert_eq!(
        e,
        vec![
            Event::TransportError {
                tx: TransactionId::Client(a)
            },
            Event::Terminated {
                tx: TransactionId::Client(a)
            }
        ]
    );
    assert_eq!(layer.client_state(a), None);
    assert_eq!(layer.client_state(b), Some(ClientState::Calling));
    // The TCP target with the same address is a different target.
    layer.transport_error(Target::new(Transport::Tcp, addr("192.0.2.3:5060")));
    assert!(drain(&mut layer).1.is_empty());
}

#[test]
fn stray_and_mismatched_responses() {
    let t0 = Instant::now();
    let mut layer = TransactionLayer::new(Config::default());
    let req = invite("z9hG4bK-s");
    let tx = layer.send_request(req.clone(), udp(PEER), t0).unwrap();
    drain(&mut layer);
    // Right branch, wrong CSeq method: not this transaction.
    let mut wrong = response(&req, 200, Some("x"));
    wrong.head.cseq.method = Method::Bye;
    layer.receive(wrong.into_message(), addr(PEER), Transport::Udp, t0);
    // No Via at all.
    let mut bare = response(&req, 200, Some("x"));
    bare.head.via.clear();
    layer.receive(bare.into_message(), addr(PEER), Transport::Udp, t0);
    let (t, e) = drain(&mut layer);
    assert!(t.is_empty());
    assert_eq!(e.len(), 2);
    assert!(e
        .iter()
        .all(|e| matches!(e, Event::StrayResponse { source, .. } if *source == addr(PEER))));
    assert_eq!(layer.client_state(tx), Some(ClientState::Calling));
}

#[test]
fn new_branch_is_unique_and_has_the_cookie() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let a = new_branch(&mut rng);
    let b = new_branch(&mut rng);
    assert!(a.starts_with("z9hG4bK") && b.starts_with("z9hG4bK"));
    assert_ne!(a, b);
    assert!(a.len() >= 7 + 16);
}
