//! Hostile media input.
//!
//! RTP/RTCP: during a call from SIPp (PCMU, auto-answer, SIPp itself sends
//! no RTP), a test socket sends malformed datagrams to the call's RTP port
//! and its RTCP port (RTP + 1): truncated headers, wrong versions, a CSRC
//! count past the end, a padding count past the end, a header extension past
//! the end, random bytes, a huge datagram, broken RTCP compounds, plus
//! well-formed RTP with a payload type that was not negotiated. The call
//! must stay up, `media.malformed` must count exactly the malformed ones,
//! the unknown payload type must not count as received, and valid RTP sent
//! afterwards must be counted; `/v1/health` still answers, no panic is
//! logged, and the BYE the API's hangup sends reaches SIPp.
//!
//! SDP: INVITEs whose SDP is broken (lines that are no `x=value`, bad `m=`
//! lines, no `c=`, too many `m=` lines, bytes that are not UTF-8, ...) get
//! 400 or 488 and create no call; OPTIONS is answered afterwards. (The RFC
//! 4475 torture messages in `hostile.rs` carry one SDP case, `sdp01`, about
//! `Accept`; these are not covered there.)

mod common;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::media::{free_media_port, log_has_panic, rtp_packet, wait_incoming_active, wait_media};
use common::sip::{assert_options_ok, parse_response, unique, SipResponse};
use common::sipp::SippCmd;
use common::{sipp_scenario, Callwire, CallwireOpts, Rng};

const SSRC: u32 = 0x1234_5678;

/// Malformed datagrams for the RTP port, each with what it is.
fn malformed_rtp(rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let valid = rtp_packet(0, false, 100, 16_000, SSRC, &[0xff; 160]);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    out.push(("empty datagram".into(), Vec::new()));
    for len in [1, 2, 5, 8, 11] {
        out.push((
            format!("RTP header truncated to {len} bytes"),
            valid[..len].to_vec(),
        ));
    }
    for version in [0u8, 1, 3] {
        let mut p = valid.clone();
        p[0] = (version << 6) | (p[0] & 0x3f);
        out.push((format!("version {version}"), p));
    }
    // CSRC count 15 needs 60 bytes after the fixed header; give 12.
    let mut p = valid[..24].to_vec();
    p[0] |= 0x0f;
    out.push(("CSRC count 15, 3 CSRCs present".into(), p));
    // Padding bit with a pad count larger than the whole packet.
    let mut p = rtp_packet(0, false, 101, 16_160, SSRC, &[0xff; 20]);
    p[0] |= 0x20;
    *p.last_mut().expect("payload") = 255;
    out.push(("padding count 255 in a 32-byte packet".into(), p));
    // Padding bit with a zero pad count (RFC 3550: the count includes itself).
    let mut p = rtp_packet(0, false, 102, 16_320, SSRC, &[0xff; 20]);
    p[0] |= 0x20;
    *p.last_mut().expect("payload") = 0;
    out.push(("padding count 0".into(), p));
    // Header extension claiming 100 words, 4 present.
    let mut p = rtp_packet(0, false, 103, 16_480, SSRC, &[]);
    p[0] |= 0x10;
    p.extend_from_slice(&[0xbe, 0xde, 0x00, 100, 1, 2, 3, 4]);
    out.push(("header extension of 100 words, 1 present".into(), p));
    // Extension header itself cut short.
    let mut p = rtp_packet(0, false, 104, 16_640, SSRC, &[]);
    p[0] |= 0x10;
    p.extend_from_slice(&[0xbe, 0xde]);
    out.push(("header extension header cut short".into(), p));
    // Random bytes that cannot be RTP version 2.
    for i in 0..20 {
        let len = rng.range(1, 400);
        let mut p = rng.bytes(len);
        let version = [0u8, 1, 3][rng.range(0, 2)];
        p[0] = (p[0] & 0x3f) | (version << 6);
        out.push((format!("random bytes #{i} ({len} bytes)"), p));
    }
    // A huge datagram (more than the service's receive buffer), version 0.
    let mut p = rng.bytes(60_000);
    p[0] &= 0x3f;
    out.push(("60000-byte datagram of version 0".into(), p));
    // rtcp-mux style RTCP on the RTP port, length past the end.
    out.push((
        "RTCP SR on the RTP port with a length past the end".into(),
        vec![0x80, 200, 0x00, 0x40, 0, 0, 0, 1, 0, 0, 0, 0],
    ));
    out
}

/// Malformed datagrams for the RTCP port.
fn malformed_rtcp(rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    // A valid empty receiver report: V=2, RC=0, PT=201, length 1 (8 bytes).
    let rr = vec![0x80, 201, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78];
    out.push(("3 bytes".into(), vec![0x80, 201, 0]));
    out.push((
        "RTCP header only, length 6 words".into(),
        vec![0x80, 200, 0x00, 0x06],
    ));
    let mut sr = vec![0x80, 200, 0x00, 0x40];
    sr.extend_from_slice(&[0u8; 24]);
    out.push(("SR with length 64 words, 6 present".into(), sr));
    let mut p = vec![0x00, 200, 0x00, 0x06];
    p.extend_from_slice(&[0u8; 24]);
    out.push(("SR of version 0".into(), p));
    let mut p = rr.clone();
    p.extend_from_slice(&[0x81, 202, 0x00, 0x20, 1, 2, 3, 4]);
    out.push(("RR then an SDES running past the end".into(), p));
    let mut p = rr.clone();
    p.extend_from_slice(&[0x80, 203]);
    out.push(("RR then 2 stray bytes".into(), p));
    // RR claiming 31 report blocks in a 32-byte packet.
    let mut p = vec![0x9f, 201, 0x00, 0x07];
    p.extend_from_slice(&[0u8; 28]);
    out.push(("RR with report count 31 and room for 1".into(), p));
    for i in 0..10 {
        let len = rng.range(1, 300);
        let mut p = rng.bytes(len);
        p[0] &= 0x3f;
        out.push((format!("random bytes #{i} ({len} bytes)"), p));
    }
    let mut p = vec![0u8; 60_000];
    p[1] = 200;
    out.push(("60000-byte datagram of version 0".into(), p));
    out
}

/// Well-formed RTP with payload types the call did not negotiate.
fn unknown_payload_types() -> Vec<Vec<u8>> {
    [96u8, 18, 34, 127]
        .iter()
        .enumerate()
        .map(|(i, &pt)| {
            rtp_packet(
                pt,
                false,
                200 + i as u16,
                32_000 + 160 * i as u32,
                SSRC,
                &[0x55; 160],
            )
        })
        .collect()
}

fn send_all(sock: &UdpSocket, to: SocketAddr, datagrams: &[(String, Vec<u8>)]) {
    for (what, d) in datagrams {
        sock.send_to(d, to)
            .unwrap_or_else(|e| panic!("sending {what} to {to}: {e}"));
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn hostile_rtp_and_rtcp_during_a_call() {
    let mut cw = Callwire::start(CallwireOpts::default());
    cw.expect(
        "PATCH",
        "/v1/accounts/default",
        Some(json!({ "auto_answer": true, "codecs": ["PCMU"] })),
        200,
    );
    let sipp = SippCmd::scenario(
        &sipp_scenario("media_wait_bye.xml"),
        Some(&cw.sip_addr().to_string()),
    )
    .calls(1)
    .arg("-mp")
    .arg(&free_media_port().to_string())
    .timeout(Duration::from_secs(45))
    .spawn();
    let call = wait_incoming_active(&cw, Duration::from_secs(10));
    let id = call["id"].as_str().expect("call id").to_string();
    assert_eq!(call["codec"], "PCMU", "{call}");
    let rtp: SocketAddr = call["local_rtp"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("call without local_rtp: {call}"));
    let rtcp = SocketAddr::new(rtp.ip(), rtp.port() + 1);

    // Stats before anything was sent: nothing received, nothing malformed.
    let before = wait_media(&cw, &id, "a first report", Duration::from_secs(5), |_| true);
    assert_eq!(before["media"]["malformed"], 0, "{before}");
    assert_eq!(before["media"]["packets_received"], 0, "{before}");

    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind test socket");
    let mut rng = Rng::new(0x5eed_3550);
    let bad_rtp = malformed_rtp(&mut rng);
    let bad_rtcp = malformed_rtcp(&mut rng);
    let unknown = unknown_payload_types();
    send_all(&sock, rtp, &bad_rtp);
    send_all(&sock, rtcp, &bad_rtcp);
    for p in &unknown {
        sock.send_to(p, rtp).expect("send unknown payload type");
    }
    let expected = (bad_rtp.len() + bad_rtcp.len()) as u64;
    let after_bad = wait_media(
        &cw,
        &id,
        &format!("malformed = {expected}"),
        Duration::from_secs(6),
        |m| m["malformed"].as_u64() >= Some(expected),
    );
    cw.assert_running();
    let m = &after_bad["media"];
    eprintln!(
        "sent {} malformed RTP, {} malformed RTCP, {} unknown-PT datagrams; media: {m}",
        bad_rtp.len(),
        bad_rtcp.len(),
        unknown.len()
    );
    assert_eq!(
        m["malformed"].as_u64(),
        Some(expected),
        "malformed should count exactly the {} bad RTP and {} bad RTCP datagrams: {m}",
        bad_rtp.len(),
        bad_rtcp.len()
    );
    assert_eq!(
        m["packets_received"], 0,
        "malformed RTP or an unknown payload type was counted as received: {m}"
    );
    assert_eq!(after_bad["state"], "active", "{after_bad}");

    // Valid PCMU afterwards (1 s, 20 ms apart) is still taken.
    let valid = 50u16;
    let started = Instant::now();
    for i in 0..valid {
        let p = rtp_packet(
            0,
            i == 0,
            1000 + i,
            80_000 + 160 * u32::from(i),
            SSRC,
            &[0xff; 160],
        );
        sock.send_to(&p, rtp).expect("send valid RTP");
        let next = started + Duration::from_millis(20 * (u64::from(i) + 1));
        thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let after_valid = wait_media(
        &cw,
        &id,
        &format!("packets_received = {valid}"),
        Duration::from_secs(6),
        |m| m["packets_received"].as_u64() >= Some(u64::from(valid)),
    );
    let m = &after_valid["media"];
    assert_eq!(
        m["packets_received"].as_u64(),
        Some(u64::from(valid)),
        "{m}"
    );
    assert_eq!(m["malformed"].as_u64(), Some(expected), "{m}");
    assert_eq!(after_valid["state"], "active", "{after_valid}");

    // The service still serves, and the call's dialog works: the hangup's
    // BYE reaches SIPp, which the scenario requires.
    cw.assert_healthy();
    assert_options_ok(cw.sip_addr(), "udp");
    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        Some(json!({})),
        200,
    );
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(10));
    assert_eq!(ended["reason"], "Terminated", "{ended}");
    sipp.wait().assert_all_successful(1);
    cw.assert_running();
    if let Some(line) = log_has_panic(&cw) {
        panic!("callwire logged a panic: {line}");
    }
}

/// An INVITE from `local` to `target` with `sdp` as its body.
fn invite(
    local: SocketAddr,
    target: SocketAddr,
    call_id: &str,
    branch: &str,
    sdp: &[u8],
) -> Vec<u8> {
    let mut msg = format!(
        "INVITE sip:service@{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};rport;branch={branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:hostile@{local}>;tag=hs1\r\n\
         To: <sip:service@{target}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:hostile@{local}>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n",
        sdp.len()
    )
    .into_bytes();
    msg.extend_from_slice(sdp);
    msg
}

/// Sends the INVITE (retransmitting every 500 ms) and returns the final
/// response, ACKed (a non-2xx one on the INVITE's branch, RFC 3261 §17.1.1.3).
fn send_invite(target: SocketAddr, sdp: &[u8]) -> io::Result<SipResponse> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    send_invite_on(&sock, target, sdp, &unique("hostile-sdp-"))
}

fn send_invite_on(
    sock: &UdpSocket,
    target: SocketAddr,
    sdp: &[u8],
    call_id: &str,
) -> io::Result<SipResponse> {
    let local = sock.local_addr()?;
    let branch = format!("z9hG4bK{}", unique("hs"));
    let msg = invite(local, target, call_id, &branch, sdp);
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut next_send = Instant::now();
    let mut buf = vec![0u8; 65_536];
    loop {
        if Instant::now() >= deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no final response"));
        }
        if Instant::now() >= next_send {
            sock.send_to(&msg, target)?;
            next_send = Instant::now() + Duration::from_millis(500);
        }
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                let Some(resp) = parse_response(&buf[..n]) else {
                    continue;
                };
                if resp.header("call-id") != Some(call_id) || resp.status < 200 {
                    continue;
                }
                {
                    // 2xx: a new transaction; non-2xx: the INVITE's branch.
                    let ack_branch = if resp.status < 300 {
                        format!("z9hG4bK{}", unique("hsack"))
                    } else {
                        branch.clone()
                    };
                    let to = resp.header("to").unwrap_or_default().to_string();
                    let ack = format!(
                        "ACK sip:service@{target} SIP/2.0\r\n\
                         Via: SIP/2.0/UDP {local};rport;branch={ack_branch}\r\n\
                         Max-Forwards: 70\r\n\
                         From: <sip:hostile@{local}>;tag=hs1\r\n\
                         To: {to}\r\n\
                         Call-ID: {call_id}\r\n\
                         CSeq: 1 ACK\r\n\
                         Content-Length: 0\r\n\r\n"
                    );
                    sock.send_to(ack.as_bytes(), target)?;
                }
                return Ok(resp);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::ConnectionRefused
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

/// Ends the dialog a 200 to [`send_invite_on`] set up: BYE (retransmitted
/// every 500 ms) until its 200 comes, within 5 s.
fn send_bye(sock: &UdpSocket, target: SocketAddr, call_id: &str, ok: &SipResponse) {
    let local = sock.local_addr().expect("local addr");
    let to = ok.header("to").expect("To in 200").to_string();
    let bye = format!(
        "BYE sip:service@{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};rport;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:hostile@{local}>;tag=hs1\r\n\
         To: {to}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 2 BYE\r\n\
         Content-Length: 0\r\n\r\n",
        branch = unique("hsbye")
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = vec![0u8; 65_536];
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("read timeout");
    while Instant::now() < deadline {
        sock.send_to(bye.as_bytes(), target).expect("send BYE");
        while let Ok((n, _)) = sock.recv_from(&mut buf) {
            if let Some(r) = parse_response(&buf[..n]) {
                if r.status == 200 && r.header("cseq").is_some_and(|c| c.contains("BYE")) {
                    return;
                }
            }
        }
    }
    panic!("no 200 to BYE for {call_id}");
}

fn sdp(lines: &[&str]) -> Vec<u8> {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s.into_bytes()
}

const V: &str = "v=0";
const O: &str = "o=- 1 1 IN IP4 127.0.0.1";
const S: &str = "s=-";
const C: &str = "c=IN IP4 127.0.0.1";
const T: &str = "t=0 0";
const M: &str = "m=audio 40000 RTP/AVP 0";
const A: &str = "a=rtpmap:0 PCMU/8000";

/// Broken SDP offers, each with what it is.
fn broken_sdp() -> Vec<(&'static str, Vec<u8>)> {
    let mut cases = vec![
        (
            "a line that is no x=value",
            sdp(&[V, O, S, C, T, "this is not sdp", M, A]),
        ),
        (
            "a line with an empty type",
            sdp(&[V, O, S, C, T, "=garbage", M, A]),
        ),
        ("a two-letter type", sdp(&[V, O, S, C, T, "zz=top", M, A])),
        (
            "m= with a port that is no number",
            sdp(&[V, O, S, C, T, "m=audio notaport RTP/AVP 0", A]),
        ),
        (
            "m= with a port over 65535",
            sdp(&[V, O, S, C, T, "m=audio 99999 RTP/AVP 0", A]),
        ),
        (
            "m= with no formats",
            sdp(&[V, O, S, C, T, "m=audio 40000 RTP/AVP", A]),
        ),
        (
            "m= with only a media type",
            sdp(&[V, O, S, C, T, "m=audio"]),
        ),
        (
            "m= with a payload type over 127",
            sdp(&[V, O, S, C, T, "m=audio 40000 RTP/AVP 300"]),
        ),
        ("no c= at all", sdp(&[V, O, S, T, M, A])),
        (
            "c= with an address that is no IP",
            sdp(&[V, O, S, "c=IN IP4 999.1.2.3", T, M, A]),
        ),
        (
            "c= with a bad address type",
            sdp(&[V, O, S, "c=IN IPX 127.0.0.1", T, M, A]),
        ),
        ("no v= line", sdp(&[O, S, C, T, M, A])),
        ("v=1", sdp(&["v=1", O, S, C, T, M, A])),
        ("no m= line", sdp(&[V, O, S, C, T])),
        (
            "only video",
            sdp(&[
                V,
                O,
                S,
                C,
                T,
                "m=video 40000 RTP/AVP 31",
                "a=rtpmap:31 H261/90000",
            ]),
        ),
    ];
    let mut many = vec![V, O, S, C, T];
    let m_lines = vec!["m=audio 0 RTP/AVP 0"; 200];
    many.extend(m_lines.iter().copied());
    many.push(M);
    many.push(A);
    cases.push(("201 m= lines", sdp(&many)));
    let mut bad_utf8 = sdp(&[V, O]);
    bad_utf8.extend_from_slice(b"s=\xff\xfe\xc3\x28 bad\r\n");
    bad_utf8.extend_from_slice(&sdp(&[C, T, M, A]));
    cases.push(("bytes that are not UTF-8 in s=", bad_utf8));
    let mut nul = sdp(&[V, O, S, C, T]);
    nul.extend_from_slice(b"m=audio 40000 RTP/AVP 0\x00\x00\r\n");
    cases.push(("NUL bytes in m=", nul));
    cases
}

#[test]
fn broken_sdp_offers_are_refused() {
    let mut cw = Callwire::start(CallwireOpts::default());
    cw.set_default_auto_answer(true);
    // A well-formed offer is answered 200 with this setup (so a 200 below
    // means the broken one was taken, not that nothing is ever answered).
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let call_id = unique("good-sdp-");
    let good = send_invite_on(&sock, cw.sip_addr(), &sdp(&[V, O, S, C, T, M, A]), &call_id)
        .unwrap_or_else(|e| panic!("well-formed INVITE: {e}"));
    assert_eq!(good.status, 200, "well-formed offer: {}", good.text());
    send_bye(&sock, cw.sip_addr(), &call_id, &good);
    let good_call = cw.calls(5)[0]["id"].as_str().expect("id").to_string();
    cw.wait_call_state(&good_call, "terminated", Duration::from_secs(5));
    let calls_before = cw.calls(1000).len();

    let mut failures = Vec::new();
    for (what, body) in broken_sdp() {
        match send_invite(cw.sip_addr(), &body) {
            Ok(resp) if resp.status == 400 || resp.status == 488 => {
                eprintln!("{what}: {} {}", resp.status, resp.reason);
            }
            Ok(resp) => failures.push(format!("{what}: {} {}", resp.status, resp.reason)),
            Err(e) => failures.push(format!("{what}: {e}")),
        }
        cw.assert_running();
    }
    assert!(
        failures.is_empty(),
        "broken SDP offers not refused with 400/488:\n{}",
        failures.join("\n")
    );
    assert_options_ok(cw.sip_addr(), "udp");
    assert_options_ok(cw.sip_addr(), "tcp");
    let health = cw.assert_healthy();
    assert_eq!(health["active_calls"], 0, "{health}");
    let active: Vec<Value> = cw
        .calls(1000)
        .into_iter()
        .filter(|c| c["state"] != "terminated")
        .collect();
    assert!(
        active.is_empty(),
        "calls left from refused INVITEs: {active:?}"
    );
    let calls_after = cw.calls(1000).len();
    assert!(
        calls_after - calls_before <= broken_sdp().len(),
        "more call records than INVITEs"
    );
    if let Some(line) = log_has_panic(&cw) {
        panic!("callwire logged a panic: {line}");
    }
}

/// RFC 8866 §5 lets a parser "ignore or reject" a description with a type
/// letter it does not know. callwire deliberately keeps such lines and answers
/// the offer: GB/T 28181 devices (the decoder face) put `y=` and `f=` lines in
/// every SDP, and refusing them would refuse those devices' calls. This test
/// pins that choice: the call is answered, and the unknown line does not leak
/// into the answer.
#[test]
fn sdp_with_unknown_type_letters_is_answered() {
    let cw = Callwire::start(CallwireOpts::default());
    cw.set_default_auto_answer(true);
    let resp = send_invite(
        cw.sip_addr(),
        &sdp(&[V, O, S, C, T, "y=0100000001", M, A, "f=v/////a/1/8/1"]),
    )
    .unwrap_or_else(|e| panic!("INVITE with y= and f= lines: {e}"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    let text = resp.text();
    assert!(
        !text.contains("y=0100000001") && !text.contains("f=v/"),
        "{text}"
    );
    assert_options_ok(cw.sip_addr(), "udp");
}

/// A full RTP range answers new calls with 503 (and Retry-After), never a
/// panic; the port pair is reused once the call holding it has ended.
#[test]
fn full_rtp_range_answers_503_and_ports_are_reused() {
    let start = free_media_port();
    let cw = Callwire::start(CallwireOpts::with_toml(&format!(
        "[rtp]\nport_start = {start}\nport_count = 2\n"
    )));
    cw.set_default_auto_answer(true);
    let offer = sdp(&[V, O, S, C, T, M, A]);
    let first = send_invite(cw.sip_addr(), &offer).expect("first INVITE");
    assert_eq!(first.status, 200, "{}", first.text());
    let call = wait_incoming_active(&cw, Duration::from_secs(5));
    assert_eq!(
        call["local_rtp"].as_str(),
        Some(format!("127.0.0.1:{start}").as_str()),
        "{call}"
    );

    let second = send_invite(cw.sip_addr(), &offer).expect("second INVITE");
    assert_eq!(second.status, 503, "{}", second.text());
    assert!(second.reason.contains("Media Ports"), "{}", second.reason);
    assert!(second.header("Retry-After").is_some(), "{}", second.text());

    let id = call["id"].as_str().expect("call id");
    cw.expect("POST", &format!("/v1/calls/{id}/hangup"), None, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let third = loop {
        let r = send_invite(cw.sip_addr(), &offer).expect("third INVITE");
        if r.status == 200 || Instant::now() > deadline {
            break r;
        }
        thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        third.status,
        200,
        "the freed pair is reused: {}",
        third.text()
    );
    assert_options_ok(cw.sip_addr(), "udp");
    assert_eq!(log_has_panic(&cw), None, "panic in the log");
}
