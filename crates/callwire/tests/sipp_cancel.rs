//! Incoming calls that the caller abandons, and calls over a lossy network.
//!
//! - A SIPp UAC scenario (`tests/sipp/uac_cancel.xml`) calls callwire with
//!   auto-answer off, so the call rings; it sends CANCEL after 2 s and
//!   expects 200 for the CANCEL, 487 for the INVITE, then ACKs. The call
//!   record must show the ringing incoming call, then its end.
//! - SIPp's built-in UAC with `-lost 10` (10 % of its packets dropped, both
//!   ways) against auto-answer: every call must still succeed thanks to
//!   retransmissions on both sides. callwire runs with a short T1 so its
//!   own retransmissions come quickly.

mod common;

use std::time::Duration;

use common::sipp::SippCmd;
use common::{sipp_scenario, wait_for, Callwire, CallwireOpts};

#[test]
fn incoming_call_cancelled_while_ringing() {
    let cw = Callwire::start(CallwireOpts::default());
    cw.set_default_auto_answer(false);
    let uac = SippCmd::scenario(
        &sipp_scenario("uac_cancel.xml"),
        Some(&cw.sip_addr().to_string()),
    )
    .calls(1)
    .timeout(Duration::from_secs(30))
    .spawn();

    // While SIPp waits 2 s before its CANCEL, the call shows as ringing.
    let ringing = wait_for("an incoming ringing call", Duration::from_secs(5), || {
        cw.calls(10)
            .into_iter()
            .find(|c| c["direction"] == "incoming" && c["state"] == "ringing")
    });
    let id = ringing["id"].as_str().expect("call id").to_string();
    assert_eq!(ringing["account"], "default", "{ringing}");
    assert!(ringing["answered_at"].is_null(), "{ringing}");

    let res = uac.wait();
    res.assert_all_successful(1);

    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(10));
    assert!(
        ended["answered_at"].is_null(),
        "a cancelled call was never answered: {ended}"
    );
    assert!(!ended["ended_at"].is_null(), "{ended}");
    wait_for("active_calls to drop to 0", Duration::from_secs(10), || {
        (cw.assert_healthy()["active_calls"] == 0).then_some(())
    });
}

#[test]
fn sipp_uac_with_10_percent_loss_all_calls_succeed() {
    // A short T1 speeds up callwire's retransmissions, but it also shortens
    // how long its transactions absorb the peer's (Timer J = 64·T1). SIPp
    // keeps T1 = 500 ms and retransmits a BYE for up to 11.5 s, so T1 must
    // stay above 11.5 s / 64 ≈ 180 ms or a late BYE retransmission meets a
    // finished dialog (481). This flaked at T1 = 100 ms.
    let cw = Callwire::start(CallwireOpts::with_toml(
        "[sip_timers]\nt1_ms = 250\nt2_ms = 2000\nt4_ms = 2000\n",
    ));
    cw.set_default_auto_answer(true);
    let res = SippCmd::uac(&cw.sip_addr().to_string())
        .calls(50)
        .rate(10)
        .arg("-lost")
        .arg("10")
        .timeout(Duration::from_secs(100))
        .run();
    res.assert_all_successful(50);
    wait_for("active_calls to drop to 0", Duration::from_secs(20), || {
        (cw.assert_healthy()["active_calls"] == 0).then_some(())
    });
}
