//! callwire calls SIPp (`POST /v1/calls`): SIPp's built-in UAS answers and
//! callwire hangs up; a UAS scenario that answers 486 gives reason `Busy`;
//! a UAS scenario that rings forever makes callwire give up after
//! `ring_timeout_secs` with CANCEL (reason `NoAnswer`), which the scenario
//! checks on the wire (CANCEL, 200, 487, ACK).

mod common;

use std::time::{Duration, Instant};

use serde_json::json;

use common::sipp::SippCmd;
use common::{sipp_scenario, Callwire, CallwireOpts};

fn place_call(cw: &Callwire, to: &str, extra: serde_json::Value) -> String {
    let mut body = json!({ "account": "default", "to": to });
    if let (Some(obj), Some(more)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    let call = cw.expect("POST", "/v1/calls", Some(body), 201);
    assert_eq!(call["direction"], "outgoing", "{call}");
    assert_eq!(call["account"], "default", "{call}");
    call["id"]
        .as_str()
        .unwrap_or_else(|| panic!("call without id: {call}"))
        .to_string()
}

#[test]
fn outgoing_call_answered_by_sipp_uas_then_hung_up() {
    let cw = Callwire::start(CallwireOpts::default());
    let uas = SippCmd::uas()
        .calls(1)
        .timeout(Duration::from_secs(60))
        .spawn();
    let to = format!("sip:service@{}", uas.addr());
    let id = place_call(&cw, &to, json!({}));

    let call = cw.wait_call_state(&id, "active", Duration::from_secs(15));
    assert_eq!(call["reason"], "AcceptedByRemote", "{call}");
    assert!(
        !call["answered_at"].is_null(),
        "answered call without answered_at: {call}"
    );
    assert!(
        call["sip_call_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{call}"
    );
    assert_eq!(call["to"], to, "{call}");

    let after = cw.expect(
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        Some(json!({})),
        200,
    );
    assert!(
        after["state"] == "terminating" || after["state"] == "terminated",
        "state right after hangup: {after}"
    );
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(10));
    assert!(!ended["ended_at"].is_null(), "{ended}");
    assert_eq!(ended["reason"], "Terminated", "{ended}");

    // SIPp's UAS saw INVITE, ACK and BYE in order and answered the BYE.
    let res = uas.wait();
    res.assert_all_successful(1);

    // Hanging up an ended call is a conflict.
    let (status, body) = cw.post(&format!("/v1/calls/{id}/hangup"), json!({}));
    assert_eq!(status, 409, "hangup of an ended call: {body}");
}

#[test]
fn outgoing_call_rejected_busy_by_sipp() {
    let cw = Callwire::start(CallwireOpts::default());
    let uas = SippCmd::scenario(&sipp_scenario("uas_busy.xml"), None)
        .calls(1)
        .timeout(Duration::from_secs(30))
        .spawn();
    let id = place_call(&cw, &format!("sip:service@{}", uas.addr()), json!({}));

    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(15));
    assert_eq!(ended["reason"], "Busy", "{ended}");
    assert_eq!(ended["sip_status"], 486, "{ended}");
    assert!(
        ended["answered_at"].is_null(),
        "a rejected call was never answered: {ended}"
    );

    // The scenario succeeds only if callwire ACKed the 486.
    uas.wait().assert_all_successful(1);
}

#[test]
fn outgoing_call_not_answered_is_cancelled_after_ring_timeout() {
    let cw = Callwire::start(CallwireOpts::default());
    let uas = SippCmd::scenario(&sipp_scenario("uas_ring_no_answer.xml"), None)
        .calls(1)
        .timeout(Duration::from_secs(40))
        .spawn();
    let started = Instant::now();
    let id = place_call(
        &cw,
        &format!("sip:service@{}", uas.addr()),
        json!({ "ring_timeout_secs": 2 }),
    );

    cw.wait_call_state(&id, "ringing", Duration::from_secs(5));
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(15));
    let took = started.elapsed();
    assert_eq!(ended["reason"], "NoAnswer", "{ended}");
    assert!(ended["answered_at"].is_null(), "{ended}");
    assert!(
        took >= Duration::from_millis(1800),
        "call ended after {took:?}, before its 2 s ring timeout: {ended}"
    );

    // SIPp saw the CANCEL, answered 200 and 487, and got the ACK.
    uas.wait().assert_all_successful(1);
}
