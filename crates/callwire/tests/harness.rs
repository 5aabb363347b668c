//! Self-tests of the interop harness against the real peers, without
//! callwire: SIPp against SIPp, SIPp registering at the Kamailio test
//! registrar, and the network-namespace re-exec. They prove that the
//! scenarios, the registrar config and the runners work, so a failing
//! interop test points at callwire, not at the harness.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::kamailio::Kamailio;
use common::sipp::{SippCmd, Transport};
use common::{netns, sipp_scenario};

fn sipp_uac_against_sipp_uas(transport: Transport) {
    let uas = SippCmd::uas()
        .transport(transport)
        .calls(20)
        .timeout(Duration::from_secs(60))
        .spawn();
    let uac = SippCmd::uac(&uas.addr())
        .transport(transport)
        .calls(20)
        .rate(20)
        .timeout(Duration::from_secs(60))
        .run();
    uac.assert_all_successful(20);
    let uas = uas.wait();
    if transport == Transport::Udp {
        uas.assert_all_successful(20);
    } else {
        // Over TCP the UAC closes its connection as soon as it is done, so
        // the UAS's last call fails in its final pause; count only arrivals.
        assert_eq!(uas.stats.created, 20, "{}", uas.report());
    }
}

#[test]
fn sipp_uac_against_sipp_uas_udp() {
    sipp_uac_against_sipp_uas(Transport::Udp);
}

#[test]
fn sipp_uac_against_sipp_uas_tcp() {
    sipp_uac_against_sipp_uas(Transport::Tcp);
}

/// The stats parser must see failures: a UAC calling a port where nobody
/// listens fails every call (SIPp exits 1, failed > 0).
#[test]
fn sipp_failures_are_counted() {
    let dead = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = dead.local_addr().expect("addr").port();
    drop(dead);
    let res = SippCmd::uac(&format!("127.0.0.1:{port}"))
        .calls(2)
        .rate(10)
        .arg("-recv_timeout")
        .arg("1000")
        .timeout(Duration::from_secs(30))
        .run();
    assert_eq!(res.exit_code, Some(1), "{}", res.report());
    assert_eq!(res.stats.successful, 0, "{}", res.report());
    assert_eq!(res.stats.failed, 2, "{}", res.report());
}

/// Our CANCEL scenarios against each other: the UAC cancels a ringing call,
/// the UAS expects the CANCEL, answers 200 and 487, and gets the ACK.
#[test]
fn sipp_cancel_scenarios_match() {
    let uas = SippCmd::scenario(&sipp_scenario("uas_ring_no_answer.xml"), None)
        .calls(1)
        .timeout(Duration::from_secs(30))
        .spawn();
    let uac = SippCmd::scenario(&sipp_scenario("uac_cancel.xml"), Some(&uas.addr()))
        .calls(1)
        .timeout(Duration::from_secs(30))
        .run();
    uac.assert_all_successful(1);
    uas.wait().assert_all_successful(1);
}

/// The busy UAS scenario answers 486 and gets its ACK.
#[test]
fn sipp_busy_scenario_works() {
    let uas = SippCmd::scenario(&sipp_scenario("uas_busy.xml"), None)
        .calls(1)
        .timeout(Duration::from_secs(30))
        .spawn();
    let uac = SippCmd::scenario(&sipp_scenario("uac_expect_busy.xml"), Some(&uas.addr()))
        .calls(1)
        .timeout(Duration::from_secs(30))
        .run();
    uac.assert_all_successful(1);
    uas.wait().assert_all_successful(1);
}

/// The lossy-network mode used against callwire runs through the runner:
/// SIPp drops packets and retransmits. SIPp's own UAS does not recover from
/// every loss pattern (it gives up on calls whose messages it lost), so
/// only near-total success is required here; callwire must reach 100 %.
#[test]
fn sipp_lossy_run_against_sipp_uas() {
    let uas = SippCmd::uas().timeout(Duration::from_secs(60)).spawn();
    let uac = SippCmd::uac(&uas.addr())
        .calls(30)
        .rate(10)
        .arg("-lost")
        .arg("10")
        // Give up on a call after 5 s instead of SIPp's 32 s INVITE timeout.
        .arg("-max_invite_retrans")
        .arg("3")
        .timeout(Duration::from_secs(60))
        .run();
    assert!(uac.stats.present && !uac.timed_out, "{}", uac.report());
    assert_eq!(
        uac.stats.successful + uac.stats.failed,
        30,
        "{}",
        uac.report()
    );
    assert!(uac.stats.successful >= 25, "{}", uac.report());
    assert!(
        uac.stats.retransmissions > 0,
        "no retransmission with 10 % loss?\n{}",
        uac.report()
    );
}

/// Kamailio accepts alice's digest credentials (SIPp REGISTER scenario),
/// shows her contact in ul.dump, and refuses a wrong password.
#[test]
fn kamailio_registrar_accepts_sipp_register() {
    let k = Kamailio::start();
    let reg = SippCmd::scenario(&sipp_scenario("register_auth.xml"), Some(&k.addr()))
        .calls(1)
        .args_for_user("alice", "alicepw")
        .timeout(Duration::from_secs(20))
        .run();
    reg.assert_all_successful(1);
    let contacts = k.contact_details("alice");
    assert_eq!(contacts.len(), 1, "ul.dump:\n{}", k.ul_dump());
    assert!(
        contacts[0].address.starts_with("sip:alice@127.0.0.1:"),
        "{contacts:?}"
    );
    let expires = contacts[0].expires.expect("numeric Expires");
    assert!((50..=60).contains(&expires), "{contacts:?}");

    let bad = SippCmd::scenario(&sipp_scenario("register_auth.xml"), Some(&k.addr()))
        .calls(1)
        .args_for_user("bob", "wrong")
        .timeout(Duration::from_secs(20))
        .run();
    assert_eq!(
        bad.exit_code,
        Some(1),
        "wrong password must fail\n{}",
        bad.report()
    );
    assert!(
        bad.errors.contains("403"),
        "expected a 403 for a wrong password\n{}",
        bad.report()
    );
    assert!(
        k.contacts_for("bob").is_empty(),
        "ul.dump:\n{}",
        k.ul_dump()
    );
}

trait UserArgs {
    fn args_for_user(self, user: &str, password: &str) -> Self;
}

impl UserArgs for SippCmd {
    fn args_for_user(self, user: &str, password: &str) -> Self {
        self.arg("-s")
            .arg(user)
            .arg("-au")
            .arg(user)
            .arg("-ap")
            .arg(password)
    }
}

#[test]
fn netns_reexec_runs_inner_test() {
    netns::run_in_netns("netns_inner_trivial", Duration::from_secs(60));
}

/// Runs only inside the namespace made by `netns_reexec_runs_inner_test`.
#[test]
#[ignore = "started by netns_reexec_runs_inner_test inside a network namespace"]
fn netns_inner_trivial() {
    netns::assert_inside();
    // Port 5060 is ours alone in here.
    let a = UdpSocket::bind("127.0.0.1:5060").expect("bind 5060 inside the namespace");
    let b = UdpSocket::bind("127.0.0.1:0").expect("bind");
    b.send_to(b"ping", "127.0.0.1:5060").expect("send");
    let mut buf = [0u8; 16];
    a.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let (n, _) = a.recv_from(&mut buf).expect("recv on loopback");
    assert_eq!(&buf[..n], b"ping");
}
