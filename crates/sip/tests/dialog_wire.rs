//! Dialogs over wire-format messages: an INVITE as a proxy chain delivers it
//! (RFC 3665 §3.2 shape), answered, acknowledged and ended, each message printed
//! and parsed again on the other side.

use std::net::Ipv4Addr;

use callwire_sip::dialog::{Dialog, DialogState, DialogTable, LocalEndpoint, ResponseAction};
use callwire_sip::message::{Host, Message, Method, Request, Response, SipUri, StatusCode, Uri};
use callwire_sip::parse::{parse_datagram, Limits};
use rand::rngs::StdRng;
use rand::SeedableRng;

const INVITE_AT_BOB: &str = "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n\
Via: SIP/2.0/UDP ss2.biloxi.example.com:5060;branch=z9hG4bK721e418c4.1\r\n\
Via: SIP/2.0/UDP ss1.atlanta.example.com:5060;branch=z9hG4bK2d4790.1;received=192.0.2.111\r\n\
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101\r\n\
Max-Forwards: 68\r\n\
Record-Route: <sip:ss2.biloxi.example.com;lr>\r\n\
Record-Route: <sip:ss1.atlanta.example.com;lr>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 2 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 0\r\n\r\n";

/// The same INVITE as it left Alice's UA (before the proxies).
const INVITE_FROM_ALICE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n\
Max-Forwards: 70\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 2 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n\
Content-Length: 0\r\n\r\n";

fn parse(bytes: &[u8]) -> Message {
    parse_datagram(bytes, &Limits::default()).unwrap()
}

fn request(bytes: &[u8]) -> Request {
    match parse(bytes) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

fn response(bytes: &[u8]) -> Response {
    match parse(bytes) {
        Message::Response(r) => r,
        Message::Request(_) => panic!("expected a response"),
    }
}

fn bob() -> LocalEndpoint {
    let ip = Ipv4Addr::new(192, 0, 2, 4);
    LocalEndpoint::new(
        "UDP",
        Host::V4(ip),
        Some(5060),
        SipUri::new(Some("bob"), Host::V4(ip), None),
    )
}

#[test]
fn call_over_the_wire() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut bob_table = DialogTable::new(16);
    let mut alice_table = DialogTable::new(16);

    let at_bob = request(INVITE_AT_BOB.as_bytes());
    let bob_dialog = Dialog::from_uas(&at_bob, "314159", &bob()).unwrap();
    let bob_dialog = bob_table.insert(bob_dialog).unwrap();
    let ok = bob_dialog.response(&at_bob, StatusCode::OK);
    let ok_text = String::from_utf8(ok.to_bytes()).unwrap();
    assert!(ok_text.contains("Record-Route: <sip:ss2.biloxi.example.com;lr>\r\nRecord-Route: <sip:ss1.atlanta.example.com;lr>\r\n"), "{ok_text}");
    assert!(
        ok_text.contains("To: \"Bob\" <sip:bob@biloxi.example.com>;tag=314159\r\n"),
        "{ok_text}"
    );
    assert!(
        ok_text.contains("Contact: <sip:bob@192.0.2.4>\r\n"),
        "{ok_text}"
    );

    // The proxies strip their Vias; the Record-Route stays. Alice parses the 200.
    let mut ok_at_alice = response(&ok.to_bytes());
    ok_at_alice.head.via.drain(..2);
    let invite = request(INVITE_FROM_ALICE.as_bytes());
    assert!(alice_table.lookup_response(&ok_at_alice).is_none());
    let alice = Dialog::from_uac_response(&invite, &ok_at_alice).unwrap();
    let alice = alice_table.insert(alice).unwrap();
    assert_eq!(alice.state(), DialogState::Confirmed);
    let ack = alice.ack_for_2xx(2, &mut rng);
    let ack_text = String::from_utf8(ack.to_bytes()).unwrap();
    assert!(
        ack_text.starts_with("ACK sip:bob@192.0.2.4 SIP/2.0\r\n"),
        "{ack_text}"
    );
    assert!(
        ack_text.contains(
            "Route: <sip:ss1.atlanta.example.com;lr>\r\nRoute: <sip:ss2.biloxi.example.com;lr>\r\n"
        ),
        "{ack_text}"
    );
    assert!(ack_text.contains("CSeq: 2 ACK\r\n"), "{ack_text}");
    assert!(
        ack_text.contains("Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK"),
        "{ack_text}"
    );

    // Bob gets the ACK, then Alice hangs up.
    let ack_at_bob = request(&ack.to_bytes());
    bob_table
        .lookup_request(&ack_at_bob)
        .unwrap()
        .receive_request(&ack_at_bob)
        .unwrap();
    let bye = alice_table
        .lookup_response(&ok_at_alice)
        .unwrap()
        .new_request(Method::Bye, &mut rng)
        .unwrap();
    assert_eq!(bye.head.cseq.seq, 3);
    let bye_at_bob = request(&bye.to_bytes());
    assert_eq!(
        bye_at_bob.uri,
        Uri::Sip(SipUri::new(
            Some("bob"),
            Host::V4(Ipv4Addr::new(192, 0, 2, 4)),
            None
        ))
    );
    let dialog = bob_table.lookup_request(&bye_at_bob).unwrap();
    dialog.receive_request(&bye_at_bob).unwrap();
    let bye_ok = dialog.response(&bye_at_bob, StatusCode::OK);
    assert_eq!(bob_table.remove_terminated().len(), 1);

    let bye_ok_at_alice = response(&bye_ok.to_bytes());
    let alice = alice_table.lookup_response(&bye_ok_at_alice).unwrap();
    assert_eq!(
        alice.on_response(&bye_ok_at_alice, &mut rng).unwrap(),
        ResponseAction::Terminated
    );
}
