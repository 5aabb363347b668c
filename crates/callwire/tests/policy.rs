//! Account call policies over real SIP, against SIPp:
//!
//! - SIPp calls as `sipp@127.0.0.1`, which the account's `policy.deny`
//!   refuses: SIPp receives 403 Forbidden (and no 180), and callwire lists
//!   the refusal as an ended incoming call with reason `Denied`.
//! - An auto-answer account with `answer_delay_ms: 1000` and
//!   `max_duration_secs: 2`: SIPp measures on its own clock 1000 ms
//!   (±150 ms) from the 180 to the 200, and 2000 ms (±150 ms) from the 200 to
//!   callwire's BYE.
//! - An outgoing call to SIPp's UAS on an account with `max_duration_secs: 2`
//!   is hung up with BYE 2 s after the answer (the UAS counts the call as
//!   successful only if that BYE came).

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use common::media::free_media_port;
use common::sipp::SippCmd;
use common::{sipp_scenario, wait_for, Callwire, CallwireOpts};

/// The default account with this policy (and auto-answer on or off).
fn with_policy(cw: &Callwire, auto_answer: bool, policy: Value) {
    let account = cw.expect(
        "PATCH",
        "/v1/accounts/default",
        Some(json!({ "auto_answer": auto_answer, "policy": policy })),
        200,
    );
    assert_eq!(account["auto_answer"], auto_answer, "{account}");
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not an RFC 3339 time: {v}"))
        .with_timezone(&Utc)
}

/// SIPp's measured response time `name` in ms.
fn rtt(res: &common::sipp::SippResult, name: &str) -> f64 {
    res.rtt
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, ms)| *ms)
        .unwrap_or_else(|| panic!("SIPp measured no {name:?}\n{}", res.report()))
}

#[test]
fn a_denied_caller_gets_403() {
    let cw = Callwire::start(CallwireOpts::default());
    with_policy(&cw, true, json!({ "deny": ["sipp@*"] }));
    let res = SippCmd::scenario(
        &sipp_scenario("uac_expect_forbidden.xml"),
        Some(&cw.sip_addr().to_string()),
    )
    .calls(1)
    .timeout(Duration::from_secs(20))
    .run();
    res.assert_all_successful(1);

    let call = wait_for(
        "the refused call to be listed",
        Duration::from_secs(5),
        || {
            cw.calls(10)
                .into_iter()
                .find(|c| c["direction"] == "incoming")
        },
    );
    assert_eq!(call["state"], "terminated", "{call}");
    assert_eq!(call["reason"], "Denied", "{call}");
    assert_eq!(call["sip_status"], 403, "{call}");
    assert!(
        call["from"]
            .as_str()
            .is_some_and(|f| f.contains("sipp@127.0.0.1")),
        "{call}"
    );
    assert!(call["answered_at"].is_null(), "{call}");
    let id = call["id"].as_str().expect("id");
    // The refusal is a call record too.
    let records = cw.expect("GET", "/v1/call-records?reason=Denied", None, 200);
    assert!(
        records["records"]
            .as_array()
            .is_some_and(|r| r.iter().any(|c| c["id"] == id)),
        "{records}"
    );
    assert_eq!(cw.assert_healthy()["active_calls"], 0);

    // Allowed again (PATCH changes the policy field by field): the same
    // caller is answered.
    with_policy(
        &cw,
        true,
        json!({ "deny": [], "allow": ["sipp@127.0.0.1"] }),
    );
    SippCmd::uac(&cw.sip_addr().to_string())
        .calls(1)
        .timeout(Duration::from_secs(20))
        .run()
        .assert_all_successful(1);
}

#[test]
fn answer_delay_and_max_duration_measured_by_sipp() {
    let cw = Callwire::start(CallwireOpts::default());
    with_policy(
        &cw,
        true,
        json!({ "answer_delay_ms": 1000, "max_duration_secs": 2 }),
    );
    let res = SippCmd::scenario(
        &sipp_scenario("uac_policy_timing.xml"),
        Some(&cw.sip_addr().to_string()),
    )
    .calls(1)
    .arg("-mp")
    .arg(&free_media_port().to_string())
    .arg("-trace_rtt")
    .arg("-rtt_freq")
    .arg("1")
    .timeout(Duration::from_secs(30))
    .run();
    res.assert_all_successful(1);
    let answer = rtt(&res, "answer");
    let duration = rtt(&res, "duration");
    eprintln!("SIPp measured: 180 -> 200 {answer} ms, 200 -> BYE {duration} ms");
    assert!(
        (850.0..=1150.0).contains(&answer),
        "180 to 200 took {answer} ms, the answer delay is 1000 ms (±150)"
    );
    assert!(
        (1850.0..=2150.0).contains(&duration),
        "200 to BYE took {duration} ms, the maximum duration is 2000 ms (±150)"
    );

    let call = cw
        .calls(10)
        .into_iter()
        .find(|c| c["direction"] == "incoming")
        .expect("the call is listed");
    let call = cw.wait_call_state(
        call["id"].as_str().expect("id"),
        "terminated",
        Duration::from_secs(5),
    );
    assert_eq!(call["reason"], "Terminated", "{call}");
    assert_eq!(call["sip_status"], Value::Null, "{call}");
}

#[test]
fn an_outgoing_call_is_hung_up_at_the_account_max_duration() {
    let cw = Callwire::start(CallwireOpts::default());
    with_policy(&cw, false, json!({ "max_duration_secs": 2 }));
    let uas = SippCmd::uas()
        .calls(1)
        .timeout(Duration::from_secs(30))
        .spawn();
    let to = format!("sip:service@{}", uas.addr());
    // The call's own, longer limit does not extend the account's.
    let call = cw.expect(
        "POST",
        "/v1/calls",
        Some(json!({ "to": to, "max_duration_secs": 30 })),
        201,
    );
    let id = call["id"].as_str().expect("id").to_owned();
    cw.wait_call_state(&id, "active", Duration::from_secs(10));
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(6));
    assert_eq!(ended["reason"], "Terminated", "{ended}");
    let lasted = (time(&ended["ended_at"]) - time(&ended["answered_at"])).num_milliseconds();
    assert!(
        (1850..=2300).contains(&lasted),
        "answered to ended: {lasted} ms, the account allows 2000 ms: {ended}"
    );
    uas.wait().assert_all_successful(1);
}
