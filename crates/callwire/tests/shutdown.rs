//! Graceful stop and persistence, against real peers.
//!
//! callwire holds a registration at Kamailio and an answered call to a SIPp
//! UAS. On SIGTERM it must hang up the call with BYE (SIPp counts the call as
//! successful only if it gets the BYE), unregister (Kamailio's contact goes),
//! and exit 0 within 5 s. Started again on the same data dir, the account is
//! still there and the call is listed as a terminated call record.

mod common;

use std::time::Duration;

use serde_json::json;

use common::kamailio::Kamailio;
use common::sipp::SippCmd;
use common::{wait_for, Callwire, CallwireOpts};

#[test]
fn sigterm_hangs_up_unregisters_and_state_survives_restart() {
    let k = Kamailio::start();
    let mut cw = Callwire::start(CallwireOpts::default());
    cw.expect(
        "POST",
        "/v1/accounts",
        Some(json!({
            "id": "alice", "user": "alice", "domain": "127.0.0.1",
            "registrar": k.addr(), "password": "alicepw", "expires": 60,
            "display_name": "Alice"
        })),
        201,
    );
    cw.wait_registration_state("alice", "registered", Duration::from_secs(15));
    wait_for(
        "Kamailio to hold alice's contact",
        Duration::from_secs(5),
        || (!k.contacts_for("alice").is_empty()).then_some(()),
    );

    // SIPp's UAS answers and then waits for our BYE (its scenario ends with it).
    let uas = SippCmd::uas()
        .calls(1)
        .timeout(Duration::from_secs(30))
        .spawn();
    let call = cw.expect(
        "POST",
        "/v1/calls",
        Some(json!({"account": "default", "to": format!("sip:service@{}", uas.addr())})),
        201,
    );
    let id = call["id"].as_str().expect("call id").to_string();
    cw.wait_call_state(&id, "active", Duration::from_secs(10));

    let (status, took) = cw.sigterm(Duration::from_secs(5));
    assert!(
        status.success(),
        "callwire exited with {status} after SIGTERM"
    );
    assert!(took <= Duration::from_secs(5), "exit took {took:?}");

    let result = uas.wait();
    result.assert_all_successful(1);
    wait_for(
        "alice's contact to leave Kamailio",
        Duration::from_secs(5),
        || k.contacts_for("alice").is_empty().then_some(()),
    );

    cw.restart();
    let alice = cw.account("alice");
    assert_eq!(alice["display_name"], "Alice", "{alice}");
    assert_eq!(alice["has_password"], true, "{alice}");
    assert!(alice.get("password").is_none(), "{alice}");
    // It registers again on start.
    cw.wait_registration_state("alice", "registered", Duration::from_secs(15));
    let record = cw.call(&id);
    assert_eq!(record["state"], "terminated", "{record}");
    assert_eq!(record["reason"], "Terminated", "{record}");
    assert!(!record["ended_at"].is_null(), "{record}");
    assert!(!record["answered_at"].is_null(), "{record}");
    assert!(
        cw.calls(100).iter().any(|c| c["id"] == id.as_str()),
        "the call is listed after restart"
    );
}
