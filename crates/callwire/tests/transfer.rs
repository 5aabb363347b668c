//! Call transfer over real SIP against SIPp on loopback, checked on the wire
//! (SIPp's own message logs) and in callwire's API and event stream:
//!
//! - callwire transfers (blind): REFER with Refer-To and Referred-By, 202,
//!   NOTIFY 100 then 200 sipfrag, BYE with reason `Transferred`;
//! - failed transfers (a 486 sipfrag, a REFER answered 403) leave the call up;
//! - callwire is transferred: it answers 202, calls the Refer-To target
//!   (another SIPp) with Referred-By, and NOTIFYs 100/180/200 with the right
//!   Event and Subscription-State; the account's policy refuses with 603/403;
//! - attended transfer: the REFER's Refer-To carries a Replaces that names
//!   the other call's dialog exactly;
//! - an INVITE with Replaces takes over a call (the old one gets BYE, reason
//!   `Replaced`); no match gets 481, `early-only` on an answered call 486;
//! - baresip 1.0.0 both ways: transferred by callwire, and transferring its
//!   call with callwire.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::baresip::{Baresip, BaresipOpts};
use common::sipp::{Sipp, SippCmd};
use common::{sipp_scenario, wait_for, Callwire, CallwireOpts, API_TOKEN};

/// One message in a SIPp message log (`-trace_msg`).
#[derive(Debug, Clone)]
struct Logged {
    sent: bool,
    text: String,
}

impl Logged {
    fn start_line(&self) -> &str {
        self.text.lines().next().unwrap_or("")
    }

    /// First value of a header (case-insensitive name), trimmed.
    fn header(&self, name: &str) -> Option<String> {
        let head = self.text.split("\r\n\r\n").next().unwrap_or("");
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    fn body(&self) -> String {
        self.text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default()
    }

    fn is_request(&self, method: &str) -> bool {
        self.start_line().starts_with(&format!("{method} "))
    }

    fn is_response(&self, code: u16, method: &str) -> bool {
        self.start_line().starts_with(&format!("SIP/2.0 {code} "))
            && self
                .header("CSeq")
                .is_some_and(|c| c.ends_with(&format!(" {method}")))
    }
}

/// Reads a SIPp message log: blocks that start with a dashed time line,
/// then `UDP message sent`/`received`, an empty line and the message.
fn sipp_messages(path: &Path) -> Vec<Logged> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("SIPp message log {}: {e}", path.display()));
    let mut out = Vec::new();
    for block in text.split("-----------------------------------------------") {
        let mut lines = block.lines();
        let Some(kind) = lines.by_ref().find(|l| l.contains("message ")) else {
            continue;
        };
        let sent = kind.contains("message sent");
        if !sent && !kind.contains("message received") {
            continue;
        }
        let msg: Vec<&str> = lines.skip_while(|l| l.trim().is_empty()).collect();
        let mut joined = msg.join("\r\n");
        // Header/body separation as on the wire.
        if !joined.contains("\r\n\r\n") {
            joined.push_str("\r\n\r\n");
        }
        out.push(Logged { sent, text: joined });
    }
    out
}

/// A SIPp run that keeps its message log in `dir`.
fn traced(cmd: SippCmd, dir: &Path, name: &str) -> (SippCmd, PathBuf) {
    let log = dir.join(format!("{name}.log"));
    let cmd = cmd
        .arg("-trace_msg")
        .arg("-message_file")
        .arg(&log.display().to_string());
    (cmd, log)
}

fn key(cmd: SippCmd, name: &str, value: &str) -> SippCmd {
    cmd.arg("-key").arg(name).arg(value)
}

/// Events of one call from the start of the stream, read until `done`
/// holds (15 s at most).
fn call_events(cw: &Callwire, call: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    let resp = client
        .get(format!("{}/v1/events?since=0&call={call}", cw.http))
        .bearer_auth(API_TOKEN)
        .send()
        .expect("GET /v1/events");
    assert_eq!(resp.status().as_u16(), 200);
    let mut lines = BufReader::new(resp);
    let mut events = Vec::new();
    let mut data = String::new();
    loop {
        if done(&events) {
            return events;
        }
        let mut line = String::new();
        match lines.read_line(&mut line) {
            Ok(n) if n > 0 => {}
            other => panic!("event stream ended ({other:?}) with {events:#?}"),
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        } else if line.is_empty() && !data.is_empty() {
            events.push(serde_json::from_str(&data).expect("event JSON"));
            data.clear();
        }
    }
}

/// `(state, sip_status)` of each `call.transfer` event, in order.
fn transfer_states(events: &[Value]) -> Vec<(String, Value)> {
    events
        .iter()
        .filter(|e| e["type"] == "call.transfer")
        .map(|e| {
            (
                e["detail"]["state"].as_str().unwrap_or("").to_owned(),
                e["detail"]["sip_status"].clone(),
            )
        })
        .collect()
}

fn has_transfer_state(events: &[Value], state: &str) -> bool {
    events
        .iter()
        .any(|e| e["type"] == "call.transfer" && e["detail"]["state"] == state)
}

fn has_type(events: &[Value], kind: &str) -> bool {
    events.iter().any(|e| e["type"] == kind)
}

/// callwire calls a SIPp UAS and waits for the answer; returns the call id.
fn call_sipp(cw: &Callwire, uas: &Sipp) -> String {
    let call = cw.expect(
        "POST",
        "/v1/calls",
        Some(json!({"to": format!("sip:service@{}", uas.addr())})),
        201,
    );
    let id = call["id"].as_str().expect("id").to_owned();
    cw.wait_call_state(&id, "active", Duration::from_secs(10));
    id
}

/// SIPp's built-in UAS for one call, with its message log in `dir`.
fn target_uas(dir: &Path, name: &str) -> (Sipp, PathBuf) {
    let (cmd, log) = traced(
        SippCmd::uas().calls(1).timeout(Duration::from_secs(30)),
        dir,
        name,
    );
    (cmd.spawn(), log)
}

/// A one-call SIPp client scenario calling callwire.
fn uac(cw: &Callwire, scenario: &str) -> SippCmd {
    SippCmd::scenario(&sipp_scenario(scenario), Some(&cw.sip_addr().to_string()))
        .calls(1)
        .timeout(Duration::from_secs(30))
}

fn hangup(cw: &Callwire, id: &str) {
    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        Some(json!({})),
        200,
    );
}

/// The first `method` request SIPp received, from its message log.
fn first_received(log: &Path, method: &str) -> Option<Logged> {
    sipp_messages(log)
        .into_iter()
        .find(|m| !m.sent && m.is_request(method))
}

fn transfer(cw: &Callwire, id: &str, body: Value) -> Value {
    cw.expect("POST", &format!("/v1/calls/{id}/transfer"), Some(body), 202)
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("transfer-test-")
        .tempdir()
        .expect("temp dir")
}

/// A SIPp transferee (`transfer_uas.xml`) whose last NOTIFY says
/// `SIP/2.0 <final>`, with its message log in `dir`.
fn transferee_uas(dir: &Path, name: &str, final_status: &str) -> (Sipp, PathBuf) {
    let (cmd, log) = traced(
        SippCmd::scenario(&sipp_scenario("transfer_uas.xml"), None)
            .calls(1)
            .timeout(Duration::from_secs(30)),
        dir,
        name,
    );
    (key(cmd, "final", final_status).spawn(), log)
}

#[test]
fn blind_transfer_sends_refer_follows_notify_and_hangs_up() {
    let cw = Callwire::start(CallwireOpts::default());
    let dir = tempdir();
    let (uas, log) = transferee_uas(dir.path(), "uas", "200 OK");
    let id = call_sipp(&cw, &uas);

    let accepted = transfer(&cw, &id, json!({"to": "carol@127.0.0.1:5999"}));
    assert_eq!(accepted["id"], id.as_str());
    assert_eq!(accepted["transfer"]["role"], "transferor", "{accepted}");
    assert_eq!(accepted["transfer"]["state"], "requested", "{accepted}");
    assert_eq!(
        accepted["transfer"]["target"], "sip:carol@127.0.0.1:5999",
        "{accepted}"
    );

    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(10));
    assert_eq!(ended["reason"], "Transferred", "{ended}");
    assert_eq!(ended["transfer"]["state"], "succeeded", "{ended}");
    assert_eq!(ended["transfer"]["sip_status"], 200, "{ended}");
    uas.wait().assert_all_successful(1);

    // On the wire, as SIPp saw it.
    let msgs = sipp_messages(&log);
    let refer = msgs
        .iter()
        .find(|m| !m.sent && m.is_request("REFER"))
        .expect("SIPp received a REFER");
    assert_eq!(
        refer.header("Refer-To").as_deref(),
        Some("<sip:carol@127.0.0.1:5999>")
    );
    assert_eq!(
        refer.header("Referred-By").as_deref(),
        Some("<sip:default@127.0.0.1>")
    );
    assert!(refer.header("Contact").is_some(), "REFER carries Contact");
    let notify_answers: Vec<&Logged> = msgs
        .iter()
        .filter(|m| !m.sent && m.is_response(200, "NOTIFY"))
        .collect();
    assert_eq!(notify_answers.len(), 2, "both NOTIFYs answered 200");
    let refer_at = msgs.iter().position(|m| m.is_request("REFER"));
    let bye_at = msgs.iter().position(|m| !m.sent && m.is_request("BYE"));
    let last_notify_ok = msgs
        .iter()
        .rposition(|m| !m.sent && m.is_response(200, "NOTIFY"));
    assert!(
        refer_at < last_notify_ok && last_notify_ok < bye_at,
        "REFER, NOTIFY 200s, then BYE"
    );

    // The events tell the same story, in order, and end with the call.
    let events = call_events(&cw, &id, |e| has_type(e, "call.ended"));
    let states = transfer_states(&events);
    assert_eq!(
        states,
        vec![
            ("requested".to_owned(), Value::Null),
            ("accepted".to_owned(), json!(202)),
            ("trying".to_owned(), json!(100)),
            ("succeeded".to_owned(), json!(200)),
        ],
        "{events:#?}"
    );
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    let succeeded = kinds.iter().rposition(|k| *k == "call.transfer");
    let ended_at = kinds.iter().position(|k| *k == "call.ended");
    assert!(succeeded < ended_at, "{kinds:?}");
    let seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[test]
fn failed_transfers_leave_the_call_up() {
    let cw = Callwire::start(CallwireOpts::default());
    let dir = tempdir();
    // A transferee whose call to the target gets 486.
    let (busy, busy_log) = transferee_uas(dir.path(), "busy", "486 Busy Here");
    // A peer that answers the REFER 403.
    let refusing = SippCmd::scenario(&sipp_scenario("transfer_uas_refuse.xml"), None)
        .calls(1)
        .timeout(Duration::from_secs(30))
        .spawn();
    let a = call_sipp(&cw, &busy);
    let b = call_sipp(&cw, &refusing);
    transfer(&cw, &a, json!({"to": "sip:carol@127.0.0.1:5999"}));
    transfer(&cw, &b, json!({"to": "sip:carol@127.0.0.1:5999"}));

    let a_events = call_events(&cw, &a, |e| has_transfer_state(e, "failed"));
    assert_eq!(
        transfer_states(&a_events).last(),
        Some(&("failed".to_owned(), json!(486))),
        "{a_events:#?}"
    );
    let b_events = call_events(&cw, &b, |e| has_transfer_state(e, "failed"));
    assert_eq!(
        transfer_states(&b_events),
        vec![
            ("requested".to_owned(), Value::Null),
            ("failed".to_owned(), json!(403)),
        ]
    );
    // Both calls are still up, a second transfer would be allowed.
    std::thread::sleep(Duration::from_millis(300));
    for id in [&a, &b] {
        let call = cw.call(id);
        assert_eq!(call["state"], "active", "{call}");
        assert_eq!(call["transfer"]["state"], "failed", "{call}");
    }
    assert!(
        !sipp_messages(&busy_log)
            .iter()
            .any(|m| !m.sent && m.is_request("BYE")),
        "no BYE after a failed transfer"
    );
    for id in [&a, &b] {
        hangup(&cw, id);
    }
    busy.wait().assert_all_successful(1);
    refusing.wait().assert_all_successful(1);
}

#[test]
fn received_refer_calls_the_target_and_reports_with_notify() {
    let cw = Callwire::start(CallwireOpts::default());
    cw.set_default_auto_answer(true);
    let dir = tempdir();
    let (target, target_log) = target_uas(dir.path(), "target");
    let target_uri = format!("sip:carol@{}", target.addr());
    let (cmd, referrer_log) = traced(uac(&cw, "transfer_uac_refer.xml"), dir.path(), "referrer");
    // The referrer hangs up its call once the transfer is done.
    key(cmd, "target", &target_uri)
        .run()
        .assert_all_successful(1);

    // callwire's side: the original call shows the transfer, the new call its origin.
    let calls = cw.calls(10);
    let original = calls
        .iter()
        .find(|c| c["direction"] == "incoming")
        .expect("the referrer's call")
        .clone();
    assert_eq!(
        original["reason"], "Terminated",
        "ended by the referrer: {original}"
    );
    let t = &original["transfer"];
    assert_eq!(t["role"], "transferee", "{original}");
    assert_eq!(t["state"], "succeeded", "{original}");
    assert_eq!(t["target"], target_uri.as_str(), "{original}");
    let sipp_aor = format!("<sip:sipp@127.0.0.1:{}>", referrer_sip_port(&referrer_log));
    assert_eq!(t["referred_by"], sipp_aor.as_str(), "{original}");
    let new_id = t["call"].as_str().expect("the new call").to_owned();
    let new = cw.call(&new_id);
    assert_eq!(new["direction"], "outgoing", "{new}");
    assert_eq!(new["state"], "active", "{new}");
    assert_eq!(new["transferred_from"], original["id"], "{new}");
    assert_eq!(new["to"], target_uri.as_str(), "{new}");
    let events = call_events(&cw, original["id"].as_str().expect("id"), |e| {
        has_transfer_state(e, "succeeded")
    });
    let states: Vec<String> = transfer_states(&events).into_iter().map(|s| s.0).collect();
    assert_eq!(
        states.first().map(String::as_str),
        Some("accepted"),
        "{states:?}"
    );
    assert_eq!(
        states.get(1).map(String::as_str),
        Some("trying"),
        "{states:?}"
    );
    assert_eq!(
        states.last().map(String::as_str),
        Some("succeeded"),
        "{states:?}"
    );

    // The referrer got 202 and NOTIFYs 100 … 200 with Event and Subscription-State.
    let msgs = sipp_messages(&referrer_log);
    assert!(msgs.iter().any(|m| !m.sent && m.is_response(202, "REFER")));
    let notifies: Vec<&Logged> = msgs
        .iter()
        .filter(|m| !m.sent && m.is_request("NOTIFY"))
        .collect();
    assert!(notifies.len() >= 2, "{notifies:#?}");
    for n in &notifies {
        assert_eq!(n.header("Event").as_deref(), Some("refer;id=2"));
        assert_eq!(
            n.header("Content-Type").as_deref(),
            Some("message/sipfrag;version=2.0")
        );
    }
    let first = notifies[0];
    assert_eq!(first.body().trim_end(), "SIP/2.0 100 Trying");
    assert_eq!(
        first.header("Subscription-State").as_deref(),
        Some("active;expires=60")
    );
    let last = notifies[notifies.len() - 1];
    assert_eq!(last.body().trim_end(), "SIP/2.0 200 OK");
    assert_eq!(
        last.header("Subscription-State").as_deref(),
        Some("terminated;reason=noresource")
    );
    for n in &notifies[1..notifies.len() - 1] {
        assert!(n.body().starts_with("SIP/2.0 18"), "{}", n.body());
    }

    // The target got an INVITE from callwire's account with Referred-By.
    hangup(&cw, &new_id);
    target.wait().assert_all_successful(1);
    let invite = first_received(&target_log, "INVITE").expect("the target's INVITE");
    assert!(invite
        .start_line()
        .starts_with(&format!("INVITE {target_uri} ")));
    assert_eq!(invite.header("Referred-By"), Some(sipp_aor));
    assert!(
        invite
            .header("From")
            .is_some_and(|f| f.contains("sip:default@127.0.0.1")),
        "{:?}",
        invite.header("From")
    );
}

/// The referrer SIPp's own port, from the Via of its INVITE.
fn referrer_sip_port(log: &Path) -> u16 {
    let msgs = sipp_messages(log);
    let invite = msgs
        .iter()
        .find(|m| m.sent && m.is_request("INVITE"))
        .expect("the referrer's INVITE");
    let via = invite.header("Via").expect("Via");
    via.split_whitespace()
        .nth(1)
        .and_then(|hp| hp.split(';').next())
        .and_then(|hp| hp.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("port in Via")
}

#[test]
fn received_refer_is_refused_by_the_account_policy() {
    let cw = Callwire::start(CallwireOpts::default());
    cw.set_default_auto_answer(true);
    let dir = tempdir();
    for (policy, code) in [
        (json!({"refer": "reject"}), 603),
        (json!({"refer": "accept", "deny": ["carol@*"]}), 403),
    ] {
        cw.expect(
            "PATCH",
            "/v1/accounts/default",
            Some(json!({ "policy": policy })),
            200,
        );
        let (cmd, log) = traced(
            uac(&cw, "transfer_uac_refused.xml"),
            dir.path(),
            &format!("refused-{code}"),
        );
        key(cmd, "target", "sip:carol@127.0.0.1:5999")
            .run()
            .assert_all_successful(1);
        let msgs = sipp_messages(&log);
        assert!(
            msgs.iter().any(|m| !m.sent && m.is_response(code, "REFER")),
            "REFER answered {code}"
        );
        assert!(
            !msgs.iter().any(|m| !m.sent && m.is_request("NOTIFY")),
            "no NOTIFY after a refusal"
        );
        let call = cw
            .calls(10)
            .into_iter()
            .find(|c| c["direction"] == "incoming" && c["transfer"]["sip_status"] == code)
            .unwrap_or_else(|| panic!("the call that refused with {code}"));
        assert_eq!(call["transfer"]["role"], "transferee", "{call}");
        assert_eq!(call["transfer"]["state"], "failed", "{call}");
        assert_eq!(call["transfer"]["call"], Value::Null, "{call}");
    }
    assert!(
        !cw.calls(10).iter().any(|c| c["direction"] == "outgoing"),
        "callwire called nobody"
    );
}

#[test]
fn attended_transfer_refer_names_the_other_dialog() {
    let cw = Callwire::start(CallwireOpts::default());
    let dir = tempdir();
    let (transferee, a_log) = transferee_uas(dir.path(), "transferee", "200 OK");
    let (target, b_log) = target_uas(dir.path(), "target");
    let a = call_sipp(&cw, &transferee);
    let b = call_sipp(&cw, &target);
    // One transfer per call at a time, only between active calls of ours.
    let (status, body) = cw.post(&format!("/v1/calls/{a}/transfer"), json!({"replaces": a}));
    assert_eq!(status, 400, "{body}");

    let started = Instant::now();
    let accepted = transfer(&cw, &a, json!({"replaces": b}));
    assert_eq!(accepted["transfer"]["attended"], true, "{accepted}");
    assert_eq!(accepted["transfer"]["call"], b.as_str(), "{accepted}");
    let (status, body) = cw.post(
        &format!("/v1/calls/{b}/transfer"),
        json!({"to": "sip:x@127.0.0.1:5999"}),
    );
    assert_eq!(
        status, 409,
        "the replaced call is part of the transfer: {body}"
    );

    // Both calls end, transferred: A by our BYE after the NOTIFY 200, B
    // by ours too since no real target took it over (after the grace).
    for id in [&a, &b] {
        let ended = cw.wait_call_state(id, "terminated", Duration::from_secs(10));
        assert_eq!(ended["reason"], "Transferred", "{ended}");
    }
    assert!(started.elapsed() >= Duration::from_millis(1500));
    transferee.wait().assert_all_successful(1);
    target.wait().assert_all_successful(1);

    // The Refer-To: B's contact with a Replaces naming B's dialog as the
    // target sees it (its tag as to-tag, ours as from-tag).
    let refer = first_received(&a_log, "REFER").expect("REFER");
    let refer_to = refer.header("Refer-To").expect("Refer-To");
    let b_msgs = sipp_messages(&b_log);
    let b_invite = b_msgs
        .iter()
        .find(|m| !m.sent && m.is_request("INVITE"))
        .expect("B's INVITE");
    let b_ok = b_msgs
        .iter()
        .find(|m| m.sent && m.is_response(200, "INVITE"))
        .expect("B's 200");
    let tag = |v: Option<String>| {
        v.and_then(|v| {
            v.split(";tag=")
                .nth(1)
                .map(|t| t.split(';').next().unwrap_or("").to_owned())
        })
        .expect("a tag")
    };
    let call_id = b_invite.header("Call-ID").expect("Call-ID");
    let our_tag = tag(b_invite.header("From"));
    let b_tag = tag(b_ok.header("To"));
    let inner = refer_to
        .strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .expect("Refer-To in <>");
    let (uri, replaces) = inner
        .split_once("?Replaces=")
        .expect("?Replaces= in Refer-To");
    let b_contact = b_ok.header("Contact").expect("B's Contact");
    assert_eq!(format!("<{uri}>"), b_contact, "Refer-To is B's contact");
    let decoded = percent_decode(replaces);
    let mut parts = decoded.split(';');
    assert_eq!(parts.next(), Some(call_id.as_str()), "{decoded}");
    let params: Vec<&str> = parts.collect();
    assert!(
        params.contains(&format!("to-tag={b_tag}").as_str()),
        "{decoded}"
    );
    assert!(
        params.contains(&format!("from-tag={our_tag}").as_str()),
        "{decoded}"
    );
    assert!(
        !replaces.contains(';') && !replaces.contains('@') && !replaces.contains('='),
        "escaped: {replaces}"
    );
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

#[test]
fn invite_with_replaces_takes_over_an_active_call() {
    let cw = Callwire::start(CallwireOpts::default());
    cw.set_default_auto_answer(true);
    let dir = tempdir();
    let ids_file = dir.path().join("ids");
    let first = key(
        uac(&cw, "transfer_uac_replaced.xml"),
        "ids",
        &ids_file.display().to_string(),
    )
    .spawn();
    let ids = wait_for("the first call's ids", Duration::from_secs(10), || {
        std::fs::read_to_string(&ids_file)
            .ok()
            .filter(|s| !s.trim().is_empty())
    });
    let ids: Vec<&str> = ids.split_whitespace().collect();
    let [call_id, callwire_tag, sipp_tag] = ids.as_slice() else {
        panic!("ids file: {ids:?}")
    };
    let old = cw
        .calls(10)
        .into_iter()
        .find(|c| c["sip_call_id"] == *call_id)
        .expect("the first call");
    assert_eq!(old["state"], "active", "{old}");
    let old_id = old["id"].as_str().expect("id").to_owned();

    let replacing = |name: &str, replaces: String| {
        let (cmd, log) = traced(uac(&cw, "transfer_uac_replaces.xml"), dir.path(), name);
        key(cmd, "replaces", &replaces)
            .run()
            .assert_all_successful(1);
        sipp_messages(&log)
    };
    // No such dialog: 481; early-only against an answered call: 486.
    for (name, replaces, code) in [
        (
            "nomatch",
            format!("{call_id};to-tag=nope;from-tag={sipp_tag}"),
            481,
        ),
        (
            "early",
            format!("{call_id};to-tag={callwire_tag};from-tag={sipp_tag};early-only"),
            486,
        ),
    ] {
        let msgs = replacing(name, replaces);
        assert!(
            msgs.iter()
                .any(|m| !m.sent && m.is_response(code, "INVITE")),
            "{name}: {code} expected"
        );
        assert_eq!(cw.call(&old_id)["state"], "active");
    }
    // The right one: answered at once, the old call gets BYE.
    let msgs = replacing(
        "replace",
        format!("{call_id};to-tag={callwire_tag};from-tag={sipp_tag}"),
    );
    assert!(msgs.iter().any(|m| !m.sent && m.is_response(200, "INVITE")));
    first.wait().assert_all_successful(1);
    let old = cw.wait_call_state(&old_id, "terminated", Duration::from_secs(5));
    assert_eq!(old["reason"], "Replaced", "{old}");
    let new = cw
        .calls(10)
        .into_iter()
        .find(|c| c["replaces"] == old_id.as_str())
        .expect("the replacing call");
    assert_eq!(new["direction"], "incoming", "{new}");
    assert_eq!(new["transfer"]["role"], "target", "{new}");
    let events = call_events(&cw, new["id"].as_str().expect("id"), |e| {
        has_type(e, "call.transfer")
    });
    let t = events
        .iter()
        .find(|e| e["type"] == "call.transfer")
        .expect("call.transfer");
    assert_eq!(t["detail"]["call"], old_id.as_str(), "{t}");
    assert_eq!(t["detail"]["state"], "succeeded", "{t}");
    assert_eq!(t["data"]["replaces"], old_id.as_str(), "{t}");
}

/// baresip 1.0.0 as the transferee: it accepts callwire's REFER, calls the
/// target (a SIPp UAS) and reports with NOTIFY; callwire hangs up.
#[test]
fn baresip_is_transferred_by_callwire() {
    let cw = Callwire::start(CallwireOpts::default());
    let mut baresip = Baresip::start(BaresipOpts::new("PCMU/8000/1", 700).auto_answer());
    let dir = tempdir();
    let (target, target_log) = target_uas(dir.path(), "target");
    let call = cw.expect(
        "POST",
        "/v1/calls",
        Some(json!({ "to": baresip.uri() })),
        201,
    );
    let id = call["id"].as_str().expect("id").to_owned();
    cw.wait_call_state(&id, "active", Duration::from_secs(10));
    baresip.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));

    let target_uri = format!("sip:carol@{}", target.addr());
    transfer(&cw, &id, json!({ "to": target_uri }));
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(10));
    assert_eq!(ended["reason"], "Transferred", "{ended}");
    let events = call_events(&cw, &id, |e| has_type(e, "call.ended"));
    let states = transfer_states(&events);
    assert_eq!(
        states.first(),
        Some(&("requested".to_owned(), Value::Null)),
        "{states:?}"
    );
    assert_eq!(
        states.get(1),
        Some(&("accepted".to_owned(), json!(202))),
        "{states:?}"
    );
    assert_eq!(
        states.last(),
        Some(&("succeeded".to_owned(), json!(200))),
        "{states:?}"
    );

    // baresip's own call to the target: up, then hung up by baresip.
    wait_for(
        "baresip's INVITE at the target",
        Duration::from_secs(5),
        || first_received(&target_log, "INVITE"),
    );
    std::thread::sleep(Duration::from_millis(500));
    baresip.hangup();
    target.wait().assert_all_successful(1);
    let invite = first_received(&target_log, "INVITE").expect("INVITE");
    assert!(
        invite
            .header("From")
            .is_some_and(|f| f.contains("sip:alice@127.0.0.1")),
        "{:?}",
        invite.header("From")
    );
}

/// baresip 1.0.0 as the transferor: its REFER makes callwire call the
/// target; the NOTIFY 200 makes baresip close its call ("Call transfered").
#[test]
fn baresip_transfers_its_call_with_callwire() {
    let cw = Callwire::start(CallwireOpts::default());
    cw.set_default_auto_answer(true);
    let mut baresip = Baresip::start(BaresipOpts::new("PCMU/8000/1", 700));
    let target = SippCmd::uas()
        .calls(1)
        .timeout(Duration::from_secs(30))
        .spawn();
    baresip.dial(&format!("sip:default@{}", cw.sip_addr()));
    baresip.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    let target_uri = format!("sip:carol@{}", target.addr());
    baresip.command("transfer", &target_uri);
    let closed = baresip.wait_event("CALL_CLOSED", Duration::from_secs(10));
    assert_eq!(closed["param"], "Call transfered", "{closed}");

    let calls = cw.calls(10);
    let original = calls
        .iter()
        .find(|c| c["direction"] == "incoming")
        .expect("baresip's call");
    let t = &original["transfer"];
    assert_eq!(t["role"], "transferee", "{original}");
    assert_eq!(t["state"], "succeeded", "{original}");
    assert_eq!(t["target"], target_uri.as_str(), "{original}");
    let new_id = t["call"].as_str().expect("new call").to_owned();
    let new = cw.wait_call_state(&new_id, "active", Duration::from_secs(5));
    assert_eq!(new["transferred_from"], original["id"], "{new}");
    let original = cw.wait_call_state(
        original["id"].as_str().expect("id"),
        "terminated",
        Duration::from_secs(5),
    );
    assert_eq!(
        original["reason"], "Terminated",
        "baresip hung up: {original}"
    );
    hangup(&cw, &new_id);
    target.wait().assert_all_successful(1);
}
