//! SIPp's built-in UAC (`-sn uac`) calls callwire, which answers every call
//! itself (`auto_answer` on the `default` account): 500 calls at 50 calls/s
//! over UDP and over TCP must all succeed by SIPp's own statistics. The
//! service must still answer OPTIONS afterwards and end with no active call.
//!
//! SIPp's UAC sends INVITE (with SDP) to `sip:service@host:port`, takes an
//! optional 100/180/183, expects 200, sends ACK, then BYE and expects 200.

mod common;

use std::time::Duration;

use common::sip::assert_options_ok;
use common::sipp::{SippCmd, Transport};
use common::{wait_for, Callwire, CallwireOpts};

const CALLS: u32 = 500;
const RATE: u32 = 50;

fn load(transport: Transport) {
    let cw = Callwire::start(CallwireOpts::default());
    cw.set_default_auto_answer(true);

    let res = SippCmd::uac(&cw.sip_addr().to_string())
        .transport(transport)
        .calls(CALLS)
        .rate(RATE)
        // Keep many calls open at once if the service is slow rather than
        // throttling SIPp (-l defaults to 3 * rate * call length).
        .arg("-l")
        .arg("200")
        .timeout(Duration::from_secs(90))
        .run();
    res.assert_all_successful(u64::from(CALLS));

    // The service is still serving SIP on both transports.
    assert_options_ok(cw.sip_addr(), "udp");
    assert_options_ok(cw.sip_addr(), "tcp");

    // Every call was released: no active call left, and the records show
    // SIPp's calls as incoming and terminated.
    wait_for("active_calls to drop to 0", Duration::from_secs(15), || {
        (cw.assert_healthy()["active_calls"] == 0).then_some(())
    });
    let calls = cw.calls(1000);
    let incoming_done = calls
        .iter()
        .filter(|c| c["direction"] == "incoming" && c["state"] == "terminated")
        .count();
    assert!(
        incoming_done >= CALLS as usize,
        "expected {CALLS} terminated incoming call records, found {incoming_done} (of {} records)",
        calls.len()
    );
    let answered = calls.iter().filter(|c| !c["answered_at"].is_null()).count();
    assert!(
        answered >= CALLS as usize,
        "expected {CALLS} answered calls, found {answered}"
    );
}

#[test]
fn sipp_uac_500_calls_at_50_cps_over_udp() {
    load(Transport::Udp);
}

#[test]
fn sipp_uac_500_calls_at_50_cps_over_tcp() {
    load(Transport::Tcp);
}
