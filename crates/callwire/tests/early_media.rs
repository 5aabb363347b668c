//! Early media over real SIP, against SIPp:
//!
//! - Outgoing: SIPp's UAS answers callwire's INVITE with 183 Session Progress
//!   carrying SDP (PCMA), then replays its shipped `g711a.pcap` while the call
//!   still rings, and answers 200 only 10 s later. callwire shows
//!   `early_media: true` while ringing; a recording started and stopped
//!   before the answer holds the pcap's speech (energy envelope correlation
//!   ≥ 0.9, level within ±3 dB, samples matching the decoded A-law); the call
//!   is then answered and hung up normally.
//! - Incoming: SIPp calls with an offer whose media address is a socket of
//!   the test; `POST /v1/calls/{id}/progress` sends a 183 with SDP (SIPp's
//!   scenario requires it), and callwire's RTP — a tone played through the
//!   API while ringing — reaches that socket from the call's `local_rtp`
//!   before `POST …/answer` sends the 200.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::media::{
    alaw_to_linear, chunk_matches, free_media_port, locate, parse_wav, read_pcap_rtp, rms,
    sipp_pcap, ulaw_to_linear,
};
use common::sipp::SippCmd;
use common::{free_port, sipp_scenario, wait_for, Callwire, CallwireOpts};

fn id_of(call: &Value) -> String {
    call["id"]
        .as_str()
        .unwrap_or_else(|| panic!("call without id: {call}"))
        .to_string()
}

#[test]
fn a_recording_during_ringing_holds_the_callees_early_media() {
    let pcap = read_pcap_rtp(&sipp_pcap("g711a.pcap"));
    assert_eq!(pcap.len(), 236, "g711a.pcap should hold 236 RTP packets");
    let reference: Vec<i16> = pcap
        .iter()
        .flat_map(|p| p.payload.iter().map(|&b| alaw_to_linear(b)))
        .collect();

    let cw = Callwire::start(CallwireOpts::default());
    cw.expect(
        "PATCH",
        "/v1/accounts/default",
        Some(json!({ "codecs": ["PCMA", "PCMU"] })),
        200,
    );
    let uas = SippCmd::scenario(&sipp_scenario("uas_early_media_pcap.xml"), None)
        .calls(1)
        .arg("-mp")
        .arg(&free_media_port().to_string())
        .timeout(Duration::from_secs(45))
        .spawn();
    let call = cw.expect(
        "POST",
        "/v1/calls",
        Some(json!({ "to": format!("sip:service@{}", uas.addr()) })),
        201,
    );
    let id = id_of(&call);
    let early = wait_for("early media", Duration::from_secs(5), || {
        let c = cw.call(&id);
        (c["early_media"] == true).then_some(c)
    });
    assert_eq!(early["state"], "ringing", "{early}");
    assert_eq!(early["codec"], "PCMA", "{early}");
    assert!(early["answered_at"].is_null(), "{early}");
    assert!(
        early["remote_rtp"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{early}"
    );

    // SIPp plays the pcap 1 s after its 183, for 7.05 s; it answers at 10 s.
    let started = cw.expect(
        "POST",
        &format!("/v1/calls/{id}/recording"),
        Some(json!({ "action": "start" })),
        201,
    );
    let rec = started["recording"]
        .as_str()
        .unwrap_or_else(|| panic!("no recording id: {started}"))
        .to_string();
    thread::sleep(Duration::from_millis(8_500));
    let ringing = cw.call(&id);
    assert_eq!(ringing["state"], "ringing", "still unanswered: {ringing}");
    let (status, stopped) = cw.post(
        &format!("/v1/calls/{id}/recording"),
        json!({ "action": "stop" }),
    );
    assert_eq!(status, 200, "recording stop: {stopped}");
    assert!(
        cw.call(&id)["answered_at"].is_null(),
        "the recording ran before the answer"
    );

    wait_for("the recording to finish", Duration::from_secs(5), || {
        let m = cw.expect("GET", &format!("/v1/recordings/{rec}"), None, 200);
        (m["state"] == "finished").then_some(m)
    });
    let (status, bytes) = cw.get_bytes(&format!("/v1/recordings/{rec}/audio"));
    assert_eq!(status, 200, "GET /v1/recordings/{rec}/audio");
    let wav = parse_wav(&bytes).unwrap_or_else(|e| panic!("recording {rec} is no valid WAV: {e}"));
    assert_eq!(wav.sample_rate, 8000, "a PCMA call is recorded at 8 kHz");
    let (offset, corr) = locate(&reference, 8000, &wav.samples, wav.sample_rate, 50, 5);
    let span = reference.len();
    let aligned = &wav.samples[offset..(offset + span).min(wav.samples.len())];
    let ratio = rms(aligned) / rms(&reference);
    let mut chunks = chunk_matches(&reference, &wav.samples, offset, 4000, 240);
    chunks.sort_by(f64::total_cmp);
    let median = chunks.get(chunks.len() / 2).copied().unwrap_or(f64::NAN);
    eprintln!(
        "early-media recording: {:.0} ms, speech at {:.0} ms, envelope correlation {corr:.3}, \
         level ratio {ratio:.2}, chunk median {median:.3}",
        wav.duration_ms(),
        offset as f64 / 8.0
    );
    assert!(
        corr >= 0.9,
        "the recording does not follow the pcap's speech: correlation {corr:.3}"
    );
    assert!(
        (0.707..=1.413).contains(&ratio),
        "recorded level off by more than 3 dB: ratio {ratio:.2}"
    );
    assert!(
        median >= 0.95,
        "the recorded samples are not the pcap's A-law: {chunks:.3?}"
    );

    // The 200 (same SDP) answers the call; it ends normally.
    let active = cw.wait_call_state(&id, "active", Duration::from_secs(5));
    assert_eq!(active["reason"], "AcceptedByRemote", "{active}");
    assert_eq!(active["remote_rtp"], early["remote_rtp"], "{active}");
    assert_eq!(active["early_media"], true, "{active}");
    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        Some(json!({})),
        200,
    );
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(5));
    assert_eq!(ended["reason"], "Terminated", "{ended}");
    uas.wait().assert_all_successful(1);
}

/// RTP packets (PT 0) on `socket` for `span`, from `from` (or anywhere):
/// their count and the RMS of their decoded μ-law payload.
fn receive_rtp(socket: &UdpSocket, from: Option<SocketAddr>, span: Duration) -> (usize, f64) {
    let end = Instant::now() + span;
    let mut buf = [0u8; 2048];
    let mut samples = Vec::new();
    let mut packets = 0;
    while Instant::now() < end {
        let Ok((n, src)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let packet = &buf[..n];
        if from.is_some_and(|f| f != src) || n < 12 || packet[0] >> 6 != 2 || packet[1] & 0x7f != 0
        {
            continue;
        }
        packets += 1;
        samples.extend(packet[12..].iter().map(|&b| ulaw_to_linear(b)));
    }
    (packets, rms(&samples))
}

#[test]
fn progress_sends_183_and_media_before_the_answer() {
    let cw = Callwire::start(CallwireOpts::default());
    let rtp = UdpSocket::bind(("127.0.0.1", free_port())).expect("bind the test's RTP socket");
    rtp.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let rtp_port = rtp.local_addr().expect("addr").port();
    let uac = SippCmd::scenario(
        &sipp_scenario("uac_expect_early_media.xml"),
        Some(&cw.sip_addr().to_string()),
    )
    .calls(1)
    .arg("-set")
    .arg("rtpport")
    .arg(&rtp_port.to_string())
    .timeout(Duration::from_secs(40))
    .spawn();

    let call = wait_for("the incoming call to ring", Duration::from_secs(10), || {
        cw.calls(10)
            .into_iter()
            .find(|c| c["direction"] == "incoming" && c["state"] == "ringing")
    });
    let id = id_of(&call);
    assert_eq!(call["early_media"], false, "{call}");
    // No media flows while the call only rings.
    let (before, _) = receive_rtp(&rtp, None, Duration::from_millis(300));
    assert_eq!(before, 0, "RTP before the 183");

    let early = cw.expect("POST", &format!("/v1/calls/{id}/progress"), None, 200);
    assert_eq!(early["early_media"], true, "{early}");
    assert_eq!(early["state"], "ringing", "{early}");
    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/play"),
        Some(json!({ "tone": "1000/5000" })),
        200,
    );
    let local: SocketAddr = early["local_rtp"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no local_rtp: {early}"));
    let (packets, level) = receive_rtp(&rtp, Some(local), Duration::from_millis(1_000));
    eprintln!("before the answer: {packets} RTP packets from {local}, tone RMS {level:.0}");
    assert!(
        packets >= 40,
        "only {packets} RTP packets from callwire in the second before the answer"
    );
    assert!(
        level > 1_000.0,
        "the tone is not in the early media: RMS {level:.0}"
    );
    let ringing = cw.call(&id);
    assert_eq!(ringing["state"], "ringing", "{ringing}");

    // The answer: SIPp requires the 200's SDP, ACKs and hangs up.
    let answered = cw.expect("POST", &format!("/v1/calls/{id}/answer"), None, 200);
    assert_eq!(answered["state"], "active", "{answered}");
    uac.wait().assert_all_successful(1);
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(5));
    assert_eq!(ended["reason"], "Terminated", "{ended}");
    assert_eq!(ended["early_media"], true, "{ended}");
}
