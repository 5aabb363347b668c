//! `wait_for_registration_secs` against a Kamailio registrar that starts
//! late: account alice points at a port where nothing listens yet; a call
//! placed with `wait_for_registration_secs` is created at once (201, state
//! `calling`, `waiting_for_registration: true`) and sends nothing while
//! alice cannot register. Kamailio then starts on that port, alice registers
//! (her REGISTER retransmissions reach it), and only then does the INVITE go
//! out: SIPp's UAS answers, callwire hangs up, and SIPp counts exactly one
//! successful call. A second call that waits on an unreachable registrar
//! ends with reason `RegistrationTimeout` without any INVITE.

mod common;

use std::net::UdpSocket;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use common::kamailio::Kamailio;
use common::sipp::SippCmd;
use common::{free_port, Callwire, CallwireOpts};

/// Account `user` (Kamailio's password) with a registrar on a free port
/// where nothing listens yet; returns that port.
fn add_account(cw: &Callwire, user: &str, password: &str) -> u16 {
    let port = free_port();
    cw.expect(
        "POST",
        "/v1/accounts",
        Some(json!({
            "id": user,
            "user": user,
            "domain": "127.0.0.1",
            "registrar": format!("127.0.0.1:{port}"),
            "password": password,
            "expires": 60
        })),
        201,
    );
    port
}

#[test]
fn a_waiting_call_succeeds_once_a_late_registrar_accepts_the_account() {
    let cw = Callwire::start(CallwireOpts::default());
    let registrar_port = add_account(&cw, "alice", "alicepw");
    let uas = SippCmd::uas()
        .calls(1)
        .timeout(Duration::from_secs(60))
        .spawn();
    let to = format!("sip:service@{}", uas.addr());
    let placed = Instant::now();
    let call = cw.expect(
        "POST",
        "/v1/calls",
        Some(json!({ "account": "alice", "to": to, "wait_for_registration_secs": 60 })),
        201,
    );
    assert!(
        placed.elapsed() < Duration::from_secs(2),
        "the call is created at once"
    );
    assert_eq!(call["state"], "calling", "{call}");
    assert_eq!(call["waiting_for_registration"], true, "{call}");
    let id = call["id"].as_str().expect("id").to_owned();

    // Nothing registers for a while: the call keeps waiting.
    thread::sleep(Duration::from_secs(2));
    let waiting = cw.call(&id);
    assert_eq!(waiting["state"], "calling", "{waiting}");
    assert_eq!(waiting["waiting_for_registration"], true, "{waiting}");
    assert_ne!(cw.account("alice")["registration"]["state"], "registered");

    let k = Kamailio::start_on(registrar_port);
    let registered = cw.wait_registration_state("alice", "registered", Duration::from_secs(40));
    let registered_at = Instant::now();
    assert!(
        !k.contacts_for("alice").is_empty(),
        "Kamailio holds alice's binding\n{}",
        k.ul_dump()
    );
    let active = cw.wait_call_state(&id, "active", Duration::from_secs(10));
    eprintln!(
        "registered {:?} after the call was placed; answered {:?} after that",
        registered_at.duration_since(placed),
        registered_at.elapsed()
    );
    assert_eq!(active["waiting_for_registration"], false, "{active}");
    assert_eq!(active["reason"], "AcceptedByRemote", "{active}");
    assert!(
        active["from"]
            .as_str()
            .is_some_and(|f| f.contains("alice@")),
        "{active}"
    );
    assert_eq!(registered["registration"]["code"], 200, "{registered}");

    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        Some(json!({})),
        200,
    );
    cw.wait_call_state(&id, "terminated", Duration::from_secs(5));
    uas.wait().assert_all_successful(1);
}

#[test]
fn a_wait_for_an_unreachable_registrar_times_out_without_an_invite() {
    let cw = Callwire::start(CallwireOpts::default());
    add_account(&cw, "bob", "bobpw");
    // A socket that would see an INVITE if one were sent.
    let callee = UdpSocket::bind("127.0.0.1:0").expect("bind");
    callee
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let to = format!("sip:nobody@{}", callee.local_addr().expect("addr"));
    let call = cw.expect(
        "POST",
        "/v1/calls",
        Some(json!({ "account": "bob", "to": to, "wait_for_registration_secs": 2 })),
        201,
    );
    let id = call["id"].as_str().expect("id").to_owned();
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(5));
    assert_eq!(ended["reason"], "RegistrationTimeout", "{ended}");
    assert_eq!(ended["waiting_for_registration"], false, "{ended}");
    let mut buf = [0u8; 2048];
    let got = callee.recv_from(&mut buf).ok();
    assert!(got.is_none(), "something was sent to the callee: {got:?}");
    let records = cw.expect(
        "GET",
        "/v1/call-records?reason=RegistrationTimeout",
        None,
        200,
    );
    assert_eq!(records["records"][0]["id"], id.as_str(), "{records}");
}
