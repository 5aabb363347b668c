//! callwire registers accounts at a real Kamailio registrar
//! (`tests/kamailio/kamailio.cfg.tmpl`: digest users alice/alicepw and
//! bob/bobpw, location table in memory, inspected with `kamcmd ul.dump`).
//!
//! - alice with the right password, `expires: 10`: registered, and Kamailio
//!   holds callwire's contact; after more than 10 s the registration was
//!   refreshed (Kamailio's binding has a higher CSeq and time left, and
//!   `registration.expires_at` moved forward); DELETE unregisters, so the
//!   contact disappears.
//! - bob with a wrong password: `registration.state` becomes `failed` with
//!   code 401 or 403, and Kamailio holds no binding for bob.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use common::kamailio::Kamailio;
use common::{wait_for, Callwire, CallwireOpts};

fn expires_at(account: &Value) -> DateTime<Utc> {
    let raw = account["registration"]["expires_at"]
        .as_str()
        .unwrap_or_else(|| panic!("registered account without registration.expires_at: {account}"));
    DateTime::parse_from_rfc3339(raw)
        .unwrap_or_else(|e| panic!("expires_at {raw:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

#[test]
fn registers_refreshes_and_unregisters_at_kamailio() {
    let k = Kamailio::start();
    let cw = Callwire::start(CallwireOpts::default());

    let created = cw.expect(
        "POST",
        "/v1/accounts",
        Some(json!({
            "id": "alice",
            "user": "alice",
            "domain": "127.0.0.1",
            "registrar": k.addr(),
            "password": "alicepw",
            "expires": 10
        })),
        201,
    );
    assert_eq!(created["id"], "alice", "{created}");
    assert!(
        created.get("password").is_none(),
        "password must never be returned: {created}"
    );

    let registered = cw.wait_registration_state("alice", "registered", Duration::from_secs(15));
    let first_expiry = expires_at(&registered);
    let registered_at = Instant::now();

    let binding = wait_for(
        "Kamailio to hold alice's contact",
        Duration::from_secs(5),
        || k.contact_details("alice").into_iter().next(),
    );
    let own = format!("127.0.0.1:{}", cw.sip_port);
    assert!(
        binding.address.contains(&own),
        "alice's contact {:?} does not point at callwire ({own})\nul.dump:\n{}",
        binding.address,
        k.ul_dump()
    );
    let first_cseq = binding
        .cseq
        .unwrap_or_else(|| panic!("binding without CSeq: {binding:?}"));
    assert!(
        binding.expires.is_some_and(|e| (1..=10).contains(&e)),
        "Kamailio should have granted at most the 10 s asked for: {binding:?}"
    );

    // Past the first registration's expiry: it must have been refreshed.
    let wait = Duration::from_secs(14).saturating_sub(registered_at.elapsed());
    thread::sleep(wait);
    let account = cw.account("alice");
    assert_eq!(
        account["registration"]["state"], "registered",
        "not registered any more 14 s after registering with expires 10: {account}"
    );
    let later_expiry = expires_at(&account);
    assert!(
        later_expiry > first_expiry,
        "registration.expires_at did not move forward ({first_expiry} -> {later_expiry}): not refreshed"
    );
    let bindings = k.contact_details("alice");
    assert_eq!(
        bindings.len(),
        1,
        "expected one binding for alice\nul.dump:\n{}",
        k.ul_dump()
    );
    let refreshed = &bindings[0];
    assert!(
        refreshed.cseq.is_some_and(|c| c > first_cseq),
        "Kamailio saw no refresh REGISTER (CSeq {first_cseq} -> {:?})\nul.dump:\n{}",
        refreshed.cseq,
        k.ul_dump()
    );
    assert!(
        refreshed.expires.is_some_and(|e| e > 0),
        "alice's binding has no time left: {refreshed:?}"
    );
    assert_eq!(
        refreshed.call_id, binding.call_id,
        "a refresh keeps the Call-ID (RFC 3261 10.2.4)"
    );

    // DELETE unregisters first: the binding is gone well before it expires.
    let (status, body) = cw.delete("/v1/accounts/alice");
    assert_eq!(status, 204, "DELETE /v1/accounts/alice: {body}");
    wait_for(
        "alice's contact to disappear from ul.dump",
        Duration::from_secs(5),
        || k.contacts_for("alice").is_empty().then_some(()),
    );
    let (status, _) = cw.get("/v1/accounts/alice");
    assert_eq!(status, 404, "deleted account still readable");
}

#[test]
fn wrong_password_fails_registration() {
    let k = Kamailio::start();
    let cw = Callwire::start(CallwireOpts::default());

    cw.expect(
        "POST",
        "/v1/accounts",
        Some(json!({
            "id": "bob-wrong",
            "user": "bob",
            "domain": "127.0.0.1",
            "registrar": k.addr(),
            "password": "not-bobs-password",
            "expires": 60
        })),
        201,
    );
    let failed = cw.wait_registration_state("bob-wrong", "failed", Duration::from_secs(15));
    let code = failed["registration"]["code"].as_u64();
    assert!(
        matches!(code, Some(401) | Some(403)),
        "expected registration.code 401 or 403, got {failed}"
    );
    assert!(failed["registration"]["expires_at"].is_null(), "{failed}");
    assert!(
        k.contacts_for("bob").is_empty(),
        "bob must not be bound\nul.dump:\n{}",
        k.ul_dump()
    );

    // The same user with the right password registers: the failure above
    // was the password's.
    cw.expect(
        "POST",
        "/v1/accounts",
        Some(json!({
            "id": "bob",
            "user": "bob",
            "domain": "127.0.0.1",
            "registrar": k.addr(),
            "password": "bobpw",
            "expires": 60
        })),
        201,
    );
    cw.wait_registration_state("bob", "registered", Duration::from_secs(15));
    wait_for(
        "Kamailio to hold bob's contact",
        Duration::from_secs(5),
        || (!k.contacts_for("bob").is_empty()).then_some(()),
    );
}
