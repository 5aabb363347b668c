//! Dialog creation, in-dialog requests and responses, routing, glare and lookup,
//! driven between a caller (UAC) and a callee (UAS) through two record-routing
//! proxies, with messages built the way they travel on the wire.

use std::net::Ipv4Addr;
use std::time::Duration;

use callwire_sip::dialog::{
    is_in_dialog, new_invite, request_terminated, Dialog, DialogError, DialogId, DialogState,
    DialogTable, LocalEndpoint, Rejection, ResponseAction, Role,
};
use callwire_sip::message::{
    Host, Method, NameAddr, Params, Request, Response, SipUri, StatusCode, Uri,
};
use callwire_sip::transaction::cancel_for;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn sip(user: Option<&str>, host: &str, port: Option<u16>) -> SipUri {
    let host = match host.parse::<Ipv4Addr>() {
        Ok(ip) => Host::V4(ip),
        Err(_) => Host::Name(host.to_owned()),
    };
    SipUri::new(user, host, port)
}

fn name_addr(user: &str, host: &str) -> NameAddr {
    NameAddr::new(Uri::Sip(sip(Some(user), host, None)))
}

/// A Record-Route entry of a loose-routing proxy.
fn rr(host: &str) -> NameAddr {
    let mut uri = sip(None, host, None);
    uri.params.set("lr", None);
    NameAddr::new(Uri::Sip(uri))
}

fn alice_endpoint() -> LocalEndpoint {
    LocalEndpoint::new(
        "UDP",
        Host::V4(Ipv4Addr::new(192, 0, 2, 10)),
        Some(5060),
        sip(Some("alice"), "192.0.2.10", Some(5060)),
    )
}

fn bob_endpoint() -> LocalEndpoint {
    LocalEndpoint::new(
        "UDP",
        Host::V4(Ipv4Addr::new(198, 51, 100, 20)),
        Some(5062),
        sip(Some("bob"), "198.51.100.20", Some(5062)),
    )
}

/// Alice's INVITE as it leaves her UA.
fn alice_invite(rng: &mut StdRng) -> Request {
    let mut from = name_addr("alice", "atlanta.example.com");
    from.display = Some("Alice".into());
    new_invite(
        from,
        name_addr("bob", "biloxi.example.com"),
        Uri::Sip(sip(Some("bob"), "biloxi.example.com", None)),
        &alice_endpoint(),
        rng,
    )
}

/// The INVITE as it reaches Bob: proxy p1 then p2 record-routed (each proxy adds
/// its Record-Route on top).
fn through_proxies(invite: &Request) -> Request {
    let mut at_bob = invite.clone();
    at_bob.head.record_route = vec![rr("p2.biloxi.example.com"), rr("p1.atlanta.example.com")];
    at_bob
}

fn route_hosts(route: &[NameAddr]) -> Vec<String> {
    route
        .iter()
        .map(|r| {
            r.uri
                .as_sip()
                .map(|s| s.host.to_string())
                .unwrap_or_default()
        })
        .collect()
}

struct Call {
    rng: StdRng,
    invite: Request,
    uac: Dialog,
    uas: Dialog,
}

/// Alice calls Bob; Bob answers 180 then 200; Alice ACKs.
fn establish() -> Call {
    let mut rng = StdRng::seed_from_u64(7);
    let invite = alice_invite(&mut rng);
    let at_bob = through_proxies(&invite);
    let mut uas = Dialog::from_uas(&at_bob, "bobtag", &bob_endpoint()).unwrap();
    let ringing = uas.response(&at_bob, StatusCode::RINGING);
    let mut uac = Dialog::from_uac_response(&invite, &ringing).unwrap();
    assert_eq!(uac.state(), DialogState::Early);
    let ok = uas.response(&at_bob, StatusCode::OK);
    assert_eq!(uas.state(), DialogState::Confirmed);
    assert_eq!(
        uac.on_response(&ok, &mut rng).unwrap(),
        ResponseAction::AckRequired { cseq: 1 }
    );
    assert_eq!(uac.state(), DialogState::Confirmed);
    let ack = uac.ack_for_2xx(1, &mut rng);
    assert_eq!(uas.receive_request(&ack), Ok(()));
    Call {
        rng,
        invite,
        uac,
        uas,
    }
}

#[test]
fn initial_invite_has_every_mandatory_header() {
    let mut rng = StdRng::seed_from_u64(1);
    let invite = alice_invite(&mut rng);
    let via = invite.head.top_via().unwrap();
    assert!(via.branch().unwrap().starts_with("z9hG4bK"));
    assert!(via.branch().unwrap().len() > "z9hG4bK".len() + 8);
    assert_eq!(via.transport, "UDP");
    assert_eq!(via.port, Some(5060));
    assert_eq!(via.rport(), Some(None));
    assert_eq!(invite.head.max_forwards, Some(70));
    assert!(invite.head.from.tag().is_some_and(|t| t.len() >= 8));
    assert_eq!(invite.head.to.tag(), None);
    assert!(invite.head.call_id.ends_with("@192.0.2.10"));
    assert_eq!(invite.head.cseq.seq, 1);
    assert_eq!(invite.head.cseq.method, Method::Invite);
    assert_eq!(invite.head.contact.len(), 1);
    let text = String::from_utf8(invite.to_bytes()).unwrap();
    assert!(
        text.starts_with("INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"),
        "{text}"
    );
    assert!(
        text.contains("\r\nContact: <sip:alice@192.0.2.10:5060>\r\n"),
        "{text}"
    );
    assert!(
        text.contains("\r\nFrom: \"Alice\" <sip:alice@atlanta.example.com>;tag="),
        "{text}"
    );

    // Two INVITEs never share a branch, tag or Call-ID.
    let other = alice_invite(&mut rng);
    assert_ne!(other.head.top_via().unwrap().branch(), via.branch());
    assert_ne!(other.head.from.tag(), invite.head.from.tag());
    assert_ne!(other.head.call_id, invite.head.call_id);
}

#[test]
fn uac_and_uas_agree_on_the_dialog() {
    let call = establish();
    let (uac, uas) = (&call.uac, &call.uas);
    assert_eq!(uac.role(), Role::Uac);
    assert_eq!(uas.role(), Role::Uas);
    assert_eq!(uac.id().call_id, uas.id().call_id);
    assert_eq!(uac.id().local_tag, uas.id().remote_tag);
    assert_eq!(uac.id().remote_tag, "bobtag");
    assert_eq!(uas.id().local_tag, "bobtag");
    assert_eq!(
        uac.remote_target(),
        &Uri::Sip(sip(Some("bob"), "198.51.100.20", Some(5062)))
    );
    assert_eq!(
        uas.remote_target(),
        &Uri::Sip(sip(Some("alice"), "192.0.2.10", Some(5060)))
    );
    assert_eq!(uac.local_seq(), Some(1));
    assert_eq!(uac.remote_seq(), None);
    assert_eq!(uas.local_seq(), None);
    assert_eq!(uas.remote_seq(), Some(1));
    assert!(!uac.is_secure());
    assert!(uac.owns_call_id());
    assert!(!uas.owns_call_id());
}

#[test]
fn route_set_is_reversed_for_the_uac_only() {
    let mut call = establish();
    assert_eq!(
        route_hosts(call.uac.route_set()),
        ["p1.atlanta.example.com", "p2.biloxi.example.com"]
    );
    assert_eq!(
        route_hosts(call.uas.route_set()),
        ["p2.biloxi.example.com", "p1.atlanta.example.com"]
    );
    // Both sides' requests go first to their nearest proxy.
    let bye = call.uas.new_request(Method::Bye, &mut call.rng).unwrap();
    assert_eq!(route_hosts(&bye.head.route)[0], "p2.biloxi.example.com");
    assert_eq!(
        bye.uri,
        Uri::Sip(sip(Some("alice"), "192.0.2.10", Some(5060)))
    );
}

#[test]
fn uas_responses_carry_tag_contact_and_record_route() {
    let mut rng = StdRng::seed_from_u64(3);
    let invite = alice_invite(&mut rng);
    let at_bob = through_proxies(&invite);
    let mut uas = Dialog::from_uas(&at_bob, "t1", &bob_endpoint()).unwrap();
    let trying = uas.response(&at_bob, StatusCode::TRYING);
    assert_eq!(trying.head.to.tag(), None);
    assert!(trying.head.contact.is_empty());
    let ringing = uas.response(&at_bob, StatusCode::RINGING);
    assert_eq!(ringing.head.to.tag(), Some("t1"));
    assert_eq!(ringing.head.record_route, at_bob.head.record_route);
    assert_eq!(ringing.head.contact.len(), 1);
    assert_eq!(ringing.head.via, at_bob.head.via);
    assert_eq!(uas.state(), DialogState::Early);
    let busy = uas.response(&at_bob, StatusCode::BUSY_HERE);
    assert_eq!(busy.head.to.tag(), Some("t1"));
    assert!(busy.head.record_route.is_empty());
    assert!(busy.head.contact.is_empty());
    assert_eq!(uas.state(), DialogState::Terminated);
}

#[test]
fn ack_for_2xx_and_its_retransmission() {
    let mut rng = StdRng::seed_from_u64(4);
    let invite = alice_invite(&mut rng);
    let at_bob = through_proxies(&invite);
    let mut uas = Dialog::from_uas(&at_bob, "b", &bob_endpoint()).unwrap();
    let ok = uas.response(&at_bob, StatusCode::OK);
    // A 2xx without a 1xx before it creates a confirmed dialog directly.
    let mut uac = Dialog::from_uac_response(&invite, &ok).unwrap();
    assert_eq!(uac.state(), DialogState::Confirmed);
    let ack = uac.ack_for_2xx(1, &mut rng);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.head.cseq.seq, 1);
    assert_eq!(ack.head.cseq.method, Method::Ack);
    assert_ne!(
        ack.head.top_via().unwrap().branch(),
        invite.head.top_via().unwrap().branch()
    );
    assert!(ack
        .head
        .top_via()
        .unwrap()
        .branch()
        .unwrap()
        .starts_with("z9hG4bK"));
    assert_eq!(
        ack.uri,
        Uri::Sip(sip(Some("bob"), "198.51.100.20", Some(5062)))
    );
    assert_eq!(ack.head.to.tag(), Some("b"));
    assert_eq!(ack.head.from.tag(), invite.head.from.tag());
    assert_eq!(
        route_hosts(&ack.head.route),
        ["p1.atlanta.example.com", "p2.biloxi.example.com"]
    );
    assert!(ack.head.contact.is_empty());
    // ACK does not consume a CSeq number.
    assert_eq!(uac.local_seq(), Some(1));
    // The 2xx comes again: the very same ACK goes out again.
    assert_eq!(
        uac.on_response(&ok, &mut rng).unwrap(),
        ResponseAction::ResendAck(ack.clone())
    );
    assert_eq!(
        uac.on_response(&ok, &mut rng).unwrap(),
        ResponseAction::ResendAck(ack)
    );
}

#[test]
fn cseq_increments_and_bye_ends_both_sides() {
    let mut call = establish();
    let info = call.uac.new_request(Method::Info, &mut call.rng).unwrap();
    assert_eq!(info.head.cseq.seq, 2);
    assert!(info.head.contact.is_empty());
    call.uas.receive_request(&info).unwrap();
    assert_eq!(call.uas.remote_seq(), Some(2));
    let bye = call.uac.new_request(Method::Bye, &mut call.rng).unwrap();
    assert_eq!(bye.head.cseq.seq, 3);
    assert_eq!(bye.head.cseq.method, Method::Bye);
    assert_eq!(
        bye.uri,
        Uri::Sip(sip(Some("bob"), "198.51.100.20", Some(5062)))
    );
    assert_eq!(bye.head.to.tag(), Some("bobtag"));
    assert_eq!(bye.head.from.tag(), call.invite.head.from.tag());
    assert_eq!(bye.head.call_id, call.invite.head.call_id);
    assert_eq!(bye.head.max_forwards, Some(70));
    assert_ne!(
        bye.head.top_via().unwrap().branch(),
        info.head.top_via().unwrap().branch()
    );
    assert_eq!(
        route_hosts(&bye.head.route),
        ["p1.atlanta.example.com", "p2.biloxi.example.com"]
    );

    call.uas.receive_request(&bye).unwrap();
    assert_eq!(call.uas.state(), DialogState::Terminated);
    let ok = call.uas.response(&bye, StatusCode::OK);
    assert!(ok.head.contact.is_empty());
    assert_eq!(
        call.uac.on_response(&ok, &mut call.rng).unwrap(),
        ResponseAction::Terminated
    );
    assert_eq!(call.uac.state(), DialogState::Terminated);
    assert_eq!(
        call.uac.new_request(Method::Info, &mut call.rng),
        Err(DialogError::Terminated)
    );
    // Anything more in the terminated dialog gets 481.
    let late = {
        let mut r = info.clone();
        r.head.cseq.seq = 9;
        r
    };
    assert_eq!(
        call.uas.receive_request(&late),
        Err(Rejection::DoesNotExist)
    );
}

#[test]
fn lower_cseq_is_rejected_with_500() {
    let mut call = establish();
    let first = call.uac.new_request(Method::Info, &mut call.rng).unwrap();
    let second = call.uac.new_request(Method::Info, &mut call.rng).unwrap();
    call.uas.receive_request(&second).unwrap();
    let err = call.uas.receive_request(&first).unwrap_err();
    assert_eq!(
        err,
        Rejection::OutOfOrder {
            received: 2,
            last: 3
        }
    );
    let response = err.to_response(&first, &mut call.rng);
    assert_eq!(response.status, StatusCode::SERVER_INTERNAL_ERROR);
    assert_eq!(response.head.cseq, first.head.cseq);
    assert_eq!(response.head.to.tag(), Some("bobtag"));
    // The rejection did not move the remote CSeq back.
    assert_eq!(call.uas.remote_seq(), Some(3));
}

#[test]
fn unknown_dialog_is_a_lookup_miss() {
    let mut call = establish();
    let mut table = DialogTable::new(10);
    let uas_id = call.uas.id().clone();
    table.insert(call.uas.clone()).unwrap();
    let bye = call.uac.new_request(Method::Bye, &mut call.rng).unwrap();
    assert!(is_in_dialog(&bye));
    assert_eq!(
        table.lookup_request(&bye).map(|d| d.id().clone()),
        Some(uas_id)
    );

    let mut stray = bye.clone();
    stray.head.to.set_tag("no-such-tag");
    assert!(is_in_dialog(&stray));
    assert!(table.lookup_request(&stray).is_none());
    let mut other_call = bye.clone();
    other_call.head.call_id = "other@host".into();
    assert!(table.lookup_request(&other_call).is_none());
    // Without To tag the request is outside any dialog.
    assert!(!is_in_dialog(&call.invite));
    assert!(table.lookup_request(&call.invite).is_none());

    // Responses are found with the tags the other way round.
    let mut uac_table = DialogTable::new(10);
    uac_table.insert(call.uac.clone()).unwrap();
    let ok = call.uas.response(&bye, StatusCode::OK);
    assert!(uac_table.lookup_response(&ok).is_some());
    assert!(table.lookup_response(&ok).is_none());
}

#[test]
fn forked_responses_create_separate_dialogs() {
    let mut rng = StdRng::seed_from_u64(5);
    let invite = alice_invite(&mut rng);
    let mut table = DialogTable::new(10);
    let mut ringing_a = Response::for_request(&invite, StatusCode::RINGING, None);
    ringing_a.head.to.set_tag("fork-a");
    ringing_a
        .head
        .contact
        .push(NameAddr::new(Uri::Sip(sip(Some("bob"), "10.0.0.1", None))));
    let mut ringing_b = ringing_a.clone();
    ringing_b.head.to.set_tag("fork-b");
    ringing_b.head.contact = vec![NameAddr::new(Uri::Sip(sip(Some("bob"), "10.0.0.2", None)))];

    for response in [&ringing_a, &ringing_b, &ringing_a] {
        if let Some(d) = table.lookup_response(response) {
            d.on_response(response, &mut rng).unwrap();
        } else {
            table
                .insert(Dialog::from_uac_response(&invite, response).unwrap())
                .unwrap();
        }
    }
    assert_eq!(table.len(), 2);
    let local_tag = invite.head.from.tag().unwrap();
    assert_eq!(table.dialog_set(&invite.head.call_id, local_tag).count(), 2);

    // Fork B answers; fork A stays early until the caller cleans up.
    let mut ok_b = ringing_b.clone();
    ok_b.status = StatusCode::OK;
    let dialog_b = table.lookup_response(&ok_b).unwrap();
    assert_eq!(
        dialog_b.on_response(&ok_b, &mut rng).unwrap(),
        ResponseAction::AckRequired { cseq: 1 }
    );
    assert_eq!(
        dialog_b.remote_target(),
        &Uri::Sip(sip(Some("bob"), "10.0.0.2", None))
    );
    let removed = table.remove_early(&invite.head.call_id, local_tag);
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].id().remote_tag, "fork-a");
    assert_eq!(table.len(), 1);

    // A response without To tag or to another request creates nothing.
    let mut no_tag = ringing_a.clone();
    no_tag.head.to.params = Params::new();
    assert_eq!(
        Dialog::from_uac_response(&invite, &no_tag).unwrap_err(),
        DialogError::MissingTag { header: "To" }
    );
    let trying = Response::for_request(&invite, StatusCode::TRYING, None);
    assert!(matches!(
        Dialog::from_uac_response(&invite, &trying),
        Err(DialogError::NotDialogCreating { status: 100, .. })
    ));
    let mut elsewhere = ringing_a.clone();
    elsewhere.head.call_id = "x@y".into();
    assert_eq!(
        Dialog::from_uac_response(&invite, &elsewhere).unwrap_err(),
        DialogError::Mismatch { field: "Call-ID" }
    );
}

#[test]
fn failed_initial_invite_terminates_the_early_dialog() {
    let mut rng = StdRng::seed_from_u64(6);
    let invite = alice_invite(&mut rng);
    let at_bob = through_proxies(&invite);
    let mut uas = Dialog::from_uas(&at_bob, "b", &bob_endpoint()).unwrap();
    let ringing = uas.response(&at_bob, StatusCode::RINGING);
    let mut uac = Dialog::from_uac_response(&invite, &ringing).unwrap();
    // The caller may not re-INVITE while the initial INVITE is pending.
    assert_eq!(
        uac.new_request(Method::Invite, &mut rng),
        Err(DialogError::InvitePending)
    );
    // The callee may not send BYE on an early dialog; the caller may.
    assert_eq!(
        uas.new_request(Method::Bye, &mut rng),
        Err(DialogError::ByeOnEarlyDialog)
    );
    let decline = uas.response(&at_bob, StatusCode::DECLINE);
    assert_eq!(
        uac.on_response(&decline, &mut rng).unwrap(),
        ResponseAction::Terminated
    );
    assert_eq!(uac.state(), DialogState::Terminated);
}

#[test]
fn reinvite_refreshes_the_target_both_ways() {
    let mut call = establish();
    let moved = sip(Some("alice"), "203.0.113.5", Some(5080));
    let mut endpoint = alice_endpoint();
    endpoint.contact = moved.clone();
    call.uac.set_local_endpoint(endpoint);
    let reinvite = call.uac.new_request(Method::Invite, &mut call.rng).unwrap();
    assert_eq!(reinvite.head.cseq.seq, 2);
    assert_eq!(reinvite.head.contact[0].uri, Uri::Sip(moved.clone()));
    assert_eq!(call.uac.pending_outgoing_invite(), Some(2));
    // No second INVITE while this one is pending.
    assert_eq!(
        call.uac.new_request(Method::Invite, &mut call.rng),
        Err(DialogError::InvitePending)
    );

    call.uas.receive_request(&reinvite).unwrap();
    assert_eq!(call.uas.remote_target(), &Uri::Sip(moved));
    assert_eq!(call.uas.pending_incoming_invite(), Some(2));
    // Bob's side moved too; his 2xx carries the new Contact.
    let mut bob = bob_endpoint();
    bob.contact = sip(Some("bob"), "198.51.100.99", None);
    call.uas.set_local_endpoint(bob);
    let ok = call.uas.response(&reinvite, StatusCode::OK);
    assert!(
        ok.head.record_route.is_empty(),
        "only the dialog-creating 2xx copies Record-Route"
    );
    assert_eq!(call.uas.pending_incoming_invite(), None);
    assert_eq!(
        call.uac.on_response(&ok, &mut call.rng).unwrap(),
        ResponseAction::AckRequired { cseq: 2 }
    );
    assert_eq!(
        call.uac.remote_target(),
        &Uri::Sip(sip(Some("bob"), "198.51.100.99", None))
    );
    assert_eq!(call.uac.pending_outgoing_invite(), None);
    // The route set does not change after the dialog is confirmed.
    assert_eq!(route_hosts(call.uac.route_set()).len(), 2);
    let ack = call.uac.ack_for_2xx_with_body(
        2,
        Some("application/sdp"),
        b"v=0\r\n".to_vec(),
        &mut call.rng,
    );
    assert_eq!(ack.head.cseq.seq, 2);
    assert_eq!(ack.uri, Uri::Sip(sip(Some("bob"), "198.51.100.99", None)));
    assert_eq!(ack.head.content_type.as_deref(), Some("application/sdp"));
    assert_eq!(
        call.uac.on_response(&ok, &mut call.rng).unwrap(),
        ResponseAction::ResendAck(ack)
    );
}

#[test]
fn glare_gives_491_and_a_retry_delay() {
    let mut call = establish();
    let from_alice = call.uac.new_request(Method::Invite, &mut call.rng).unwrap();
    let from_bob = call.uas.new_request(Method::Invite, &mut call.rng).unwrap();
    assert_eq!(
        from_bob.head.cseq.seq, 1,
        "a UAS starts its own CSeq space at 1"
    );
    // They cross on the wire.
    assert_eq!(call.uac.receive_request(&from_bob), Err(Rejection::Glare));
    assert_eq!(call.uas.receive_request(&from_alice), Err(Rejection::Glare));
    let pending_for_bob = Rejection::Glare.to_response(&from_alice, &mut call.rng);
    let pending_for_alice = Rejection::Glare.to_response(&from_bob, &mut call.rng);
    assert_eq!(pending_for_bob.status, StatusCode::REQUEST_PENDING);

    // Alice owns the Call-ID: 2.1–4 s, in 10 ms steps.
    let ResponseAction::RetryAfter(alice_wait) = call
        .uac
        .on_response(&pending_for_bob, &mut call.rng)
        .unwrap()
    else {
        panic!("expected a retry delay");
    };
    assert!(alice_wait >= Duration::from_millis(2100) && alice_wait <= Duration::from_secs(4));
    assert_eq!(alice_wait.as_millis() % 10, 0);
    // Bob does not: 0–2 s.
    let ResponseAction::RetryAfter(bob_wait) = call
        .uas
        .on_response(&pending_for_alice, &mut call.rng)
        .unwrap()
    else {
        panic!("expected a retry delay");
    };
    assert!(bob_wait <= Duration::from_secs(2));
    assert_eq!(bob_wait.as_millis() % 10, 0);
    // Both may re-INVITE again; the dialogs are intact.
    assert_eq!(call.uac.state(), DialogState::Confirmed);
    assert_eq!(call.uac.pending_outgoing_invite(), None);
    let retry = call.uac.new_request(Method::Invite, &mut call.rng).unwrap();
    assert_eq!(retry.head.cseq.seq, 3);
    call.uas.receive_request(&retry).unwrap();

    // Over many draws the ranges are respected and not constant.
    let mut rng = StdRng::seed_from_u64(99);
    let draws: Vec<Duration> = (0..200)
        .map(|_| callwire_sip::dialog::glare_retry_delay(true, &mut rng))
        .collect();
    assert!(draws.iter().all(|d| (2100..=4000).contains(&d.as_millis())));
    assert!(draws.iter().any(|d| *d != draws[0]));
}

#[test]
fn second_invite_while_the_first_is_unanswered_gets_500_retry_after() {
    let mut call = establish();
    let first = call.uac.new_request(Method::Invite, &mut call.rng).unwrap();
    call.uas.receive_request(&first).unwrap();
    // A misbehaving peer sends another INVITE before our final response.
    let mut second = first.clone();
    second.head.cseq.seq = 3;
    let err = call.uas.receive_request(&second).unwrap_err();
    assert_eq!(err, Rejection::InviteInProgress);
    let response = err.to_response(&second, &mut call.rng);
    assert_eq!(response.status, StatusCode::SERVER_INTERNAL_ERROR);
    let secs: u32 = response
        .head
        .other
        .get("Retry-After")
        .unwrap()
        .parse()
        .unwrap();
    assert!(secs <= 10);
    // We cannot start our own INVITE while theirs is in progress either.
    assert_eq!(
        call.uas.new_request(Method::Invite, &mut call.rng),
        Err(DialogError::InvitePending)
    );
}

#[test]
fn in_dialog_481_or_408_terminates() {
    let mut call = establish();
    let info = call.uac.new_request(Method::Info, &mut call.rng).unwrap();
    let gone = Response::for_request(&info, StatusCode::CALL_DOES_NOT_EXIST, None);
    assert_eq!(
        call.uac.on_response(&gone, &mut call.rng).unwrap(),
        ResponseAction::Terminated
    );
    assert_eq!(call.uac.state(), DialogState::Terminated);

    let mut call = establish();
    let info = call.uac.new_request(Method::Info, &mut call.rng).unwrap();
    let refused = Response::for_request(&info, StatusCode::NOT_ACCEPTABLE_HERE, None);
    assert_eq!(
        call.uac.on_response(&refused, &mut call.rng).unwrap(),
        ResponseAction::None
    );
    assert_eq!(call.uac.state(), DialogState::Confirmed);
    assert_eq!(
        call.uac.on_transaction_timeout(&info.head.cseq),
        ResponseAction::Terminated
    );
    assert_eq!(call.uac.state(), DialogState::Terminated);
}

#[test]
fn responses_of_other_dialogs_are_refused() {
    let mut call = establish();
    let info = call.uac.new_request(Method::Info, &mut call.rng).unwrap();
    let mut ok = Response::for_request(&info, StatusCode::OK, None);
    ok.head.to.set_tag("someone-else");
    assert_eq!(
        call.uac.on_response(&ok, &mut call.rng),
        Err(DialogError::Mismatch { field: "To tag" })
    );
}

#[test]
fn strict_route_puts_the_first_hop_in_the_request_uri() {
    let mut rng = StdRng::seed_from_u64(8);
    let invite = alice_invite(&mut rng);
    let mut at_bob = invite.clone();
    // p2 is a strict router (no `lr`), p1 a loose one.
    at_bob.head.record_route = vec![
        NameAddr::new(Uri::Sip(sip(None, "p2.strict.example", None))),
        rr("p1.loose.example"),
    ];
    let mut uas = Dialog::from_uas(&at_bob, "b", &bob_endpoint()).unwrap();
    let ok = uas.response(&at_bob, StatusCode::OK);
    let mut uac = Dialog::from_uac_response(&invite, &ok).unwrap();

    // Bob's first hop is p2 (strict): it goes in the Request-URI, Alice's
    // Contact moves to the end of Route.
    let bye = uas.new_request(Method::Bye, &mut rng).unwrap();
    assert_eq!(bye.uri, Uri::Sip(sip(None, "p2.strict.example", None)));
    assert_eq!(
        route_hosts(&bye.head.route),
        ["p1.loose.example", "192.0.2.10"]
    );
    // Alice's first hop is p1 (loose): normal loose routing.
    let bye = uac.new_request(Method::Bye, &mut rng).unwrap();
    assert_eq!(
        bye.uri,
        Uri::Sip(sip(Some("bob"), "198.51.100.20", Some(5062)))
    );
    assert_eq!(
        route_hosts(&bye.head.route),
        ["p1.loose.example", "p2.strict.example"]
    );
}

#[test]
fn cancel_and_487() {
    let mut rng = StdRng::seed_from_u64(9);
    let mut invite = alice_invite(&mut rng);
    invite.head.route = vec![rr("outbound.example")];
    let cancel = cancel_for(&invite).unwrap();
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(cancel.uri, invite.uri);
    assert_eq!(cancel.head.cseq.seq, invite.head.cseq.seq);
    assert_eq!(cancel.head.cseq.method, Method::Cancel);
    assert_eq!(
        cancel.head.via,
        vec![invite.head.top_via().unwrap().clone()]
    );
    assert_eq!(cancel.head.from, invite.head.from);
    assert_eq!(cancel.head.to, invite.head.to);
    assert_eq!(cancel.head.route, invite.head.route);

    // Bob sent 180 with tag "early"; the 487 uses the same tag.
    let terminated = request_terminated(&invite, "early");
    assert_eq!(terminated.status, StatusCode::REQUEST_TERMINATED);
    assert_eq!(terminated.head.to.tag(), Some("early"));
    assert_eq!(terminated.head.cseq, invite.head.cseq);
    assert!(terminated.head.contact.is_empty());
}

#[test]
fn table_bounds_and_cleanup() {
    let mut call = establish();
    let mut table = DialogTable::new(1);
    table.insert(call.uac.clone()).unwrap();
    assert_eq!(
        table.insert(call.uac.clone()).unwrap_err(),
        DialogError::Duplicate
    );
    assert_eq!(
        table.insert(call.uas.clone()).unwrap_err(),
        DialogError::TableFull { max: 1 }
    );
    let id: DialogId = call.uac.id().clone();
    let bye = table
        .get_mut(&id)
        .unwrap()
        .new_request(Method::Bye, &mut call.rng)
        .unwrap();
    let ok = Response::for_request(&bye, StatusCode::OK, None);
    let dialog = table.lookup_response(&ok).unwrap();
    assert_eq!(
        dialog.on_response(&ok, &mut call.rng).unwrap(),
        ResponseAction::Terminated
    );
    assert_eq!(table.remove_terminated(), vec![id]);
    assert!(table.is_empty());
}

#[test]
fn uas_needs_a_contact() {
    let mut rng = StdRng::seed_from_u64(10);
    let mut invite = alice_invite(&mut rng);
    invite.head.contact.clear();
    assert_eq!(
        Dialog::from_uas(&invite, "b", &bob_endpoint()).unwrap_err(),
        DialogError::MissingContact { what: "request" }
    );
}
