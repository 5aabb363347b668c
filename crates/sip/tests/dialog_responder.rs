//! UAS 2xx retransmission until ACK (RFC 3261 §13.3.1.4), in simulated time.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use callwire_sip::dialog::{
    new_invite, Dialog, LocalEndpoint, ResponderAction, UasInviteResponder,
};
use callwire_sip::message::{Host, Method, NameAddr, Response, SipUri, StatusCode, Uri};
use callwire_sip::transaction::TimerConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn endpoint(transport: &str, last_octet: u8, user: &str) -> LocalEndpoint {
    let ip = Ipv4Addr::new(192, 0, 2, last_octet);
    LocalEndpoint::new(
        transport,
        Host::V4(ip),
        Some(5060),
        SipUri::new(Some(user), Host::V4(ip), None),
    )
}

/// The 2xx Bob sends to Alice's INVITE over `transport`, and Bob's dialog.
fn answered(transport: &str) -> (Response, Dialog, Dialog, StdRng) {
    let mut rng = StdRng::seed_from_u64(11);
    let alice = endpoint(transport, 1, "alice");
    let invite = new_invite(
        NameAddr::new(Uri::Sip(SipUri::new(
            Some("alice"),
            Host::Name("a.example".into()),
            None,
        ))),
        NameAddr::new(Uri::Sip(SipUri::new(
            Some("bob"),
            Host::Name("b.example".into()),
            None,
        ))),
        Uri::Sip(SipUri::new(
            Some("bob"),
            Host::Name("b.example".into()),
            None,
        )),
        &alice,
        &mut rng,
    );
    let mut uas = Dialog::from_uas(&invite, "bob", &endpoint(transport, 2, "bob")).unwrap();
    let ok = uas.response(&invite, StatusCode::OK);
    let uac = Dialog::from_uac_response(&invite, &ok).unwrap();
    (ok, uas, uac, rng)
}

/// Runs the responder until it finishes or `until`, returning the offsets of
/// each retransmission and of the NoAck event.
fn run(
    responder: &mut UasInviteResponder,
    start: Instant,
    until: Duration,
) -> (Vec<u64>, Option<u64>) {
    let mut sends = Vec::new();
    let mut no_ack = None;
    while let Some(at) = responder.poll_timeout() {
        if at > start + until {
            break;
        }
        match responder.handle_timeout(at) {
            Some(ResponderAction::Retransmit(r)) => {
                assert_eq!(&r, responder.response());
                sends.push((at - start).as_millis() as u64);
            }
            Some(ResponderAction::NoAck) => no_ack = Some((at - start).as_millis() as u64),
            None => panic!("a deadline passed without action"),
        }
    }
    (sends, no_ack)
}

#[test]
fn udp_doubles_from_t1_to_t2_then_gives_up_at_64_t1() {
    let (ok, _, _, _) = answered("UDP");
    let start = Instant::now();
    let mut responder = UasInviteResponder::new(ok, start, TimerConfig::default());
    assert_eq!(
        responder.poll_timeout(),
        Some(start + Duration::from_millis(500))
    );
    // Nothing happens before the deadline.
    assert_eq!(
        responder.handle_timeout(start + Duration::from_millis(499)),
        None
    );
    let (sends, no_ack) = run(&mut responder, start, Duration::from_secs(60));
    assert_eq!(
        sends,
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500],
        "intervals 0.5, 1, 2, 4, 4, … s"
    );
    assert_eq!(no_ack, Some(32_000));
    assert!(responder.is_finished());
    assert!(!responder.is_acked());
    assert_eq!(responder.poll_timeout(), None);
    // A late ACK changes nothing.
    assert!(!responder.on_ack(1));
}

#[test]
fn ack_stops_retransmissions() {
    let (ok, mut uas, mut uac, mut rng) = answered("UDP");
    let start = Instant::now();
    let mut responder = UasInviteResponder::new(ok, start, TimerConfig::default());
    let (sends, _) = run(&mut responder, start, Duration::from_millis(1600));
    assert_eq!(sends, [500, 1500]);
    // The UAC's ACK reaches the UAS dialog, which hands its CSeq to the responder.
    let ack = uac.ack_for_2xx(1, &mut rng);
    assert_eq!(ack.method, Method::Ack);
    uas.receive_request(&ack).unwrap();
    assert!(
        !responder.on_ack(ack.head.cseq.seq + 1),
        "ACK of another INVITE"
    );
    assert!(responder.on_ack(ack.head.cseq.seq));
    assert!(responder.is_acked());
    assert_eq!(responder.poll_timeout(), None);
    assert_eq!(
        responder.handle_timeout(start + Duration::from_secs(40)),
        None
    );
}

#[test]
fn reliable_transport_only_waits_for_the_ack() {
    let (ok, _, _, _) = answered("TCP");
    let start = Instant::now();
    let mut responder = UasInviteResponder::new(ok, start, TimerConfig::default());
    assert_eq!(
        responder.poll_timeout(),
        Some(start + Duration::from_secs(32))
    );
    let (sends, no_ack) = run(&mut responder, start, Duration::from_secs(60));
    assert!(sends.is_empty());
    assert_eq!(no_ack, Some(32_000));
}

#[test]
fn custom_timers_and_no_burst_after_a_stall() {
    let (ok, _, _, _) = answered("UDP");
    let start = Instant::now();
    let timers = TimerConfig::default()
        .with_t1(Duration::from_millis(100))
        .with_t2(Duration::from_millis(400));
    let mut responder = UasInviteResponder::new(ok.clone(), start, timers);
    let (sends, no_ack) = run(&mut responder, start, Duration::from_secs(10));
    assert_eq!(
        sends,
        [
            100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500, 3900, 4300, 4700, 5100, 5500,
            5900, 6300
        ]
    );
    assert_eq!(no_ack, Some(6400));

    // The driver was late by 3 s: one retransmission, then the schedule goes on
    // from now.
    let mut responder = UasInviteResponder::new(ok, start, timers);
    let late = start + Duration::from_secs(3);
    assert!(matches!(
        responder.handle_timeout(late),
        Some(ResponderAction::Retransmit(_))
    ));
    assert_eq!(
        responder.poll_timeout(),
        Some(late + Duration::from_millis(200))
    );
}
