//! callwire's media against a real baresip 1.0.0 (see `common/baresip.rs`
//! for how baresip is driven).
//!
//! - Audio both ways, per codec (PCMU, PCMA, G722, opus), with baresip
//!   calling callwire and callwire calling baresip: callwire plays a
//!   1000 Hz tone once for 1500 ms, and baresip's decoded receive audio
//!   (its `sndfile` dump) holds 1000 Hz ±2 % for 1500 ms ±60 ms; baresip's
//!   `ausine` source (700 Hz) arrives in callwire's recording (started over
//!   the API once the call is active) at 700 Hz ±2 %, and the recording is a
//!   valid WAV whose length matches the recorded window.
//! - DTMF from baresip (RFC 4733) shows up in `GET /v1/calls/{id}` in order
//!   with method `rfc4733`; DTMF from callwire by RFC 4733 and by SIP INFO
//!   shows up in baresip's events and in its log under the matching method.
//!   In-band DTMF from callwire is found by a Goertzel detector in
//!   baresip's decoded audio. baresip 1.0.0 cannot *send* SIP INFO DTMF
//!   (no `dtmfmode` account parameter yet), so INFO is tested one way only.
//! - A split recording keeps the received sine (left) and the played tone
//!   (right) apart.
//! - A hang-up on either side, by caller or callee, ends the call on both
//!   sides (callwire `terminated`/`Terminated`, baresip `CALL_CLOSED`).
//! - Ignored (engine bug): an ended call's `media` stats stay at the last
//!   2 s snapshot instead of the final figures.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::baresip::{
    assert_tone, estimate_frequency, longest_tone_run, rms, tone_purity, Baresip, BaresipOpts, Wav,
};
use common::{wait_for, Callwire, CallwireOpts};

/// Frequency of baresip's `ausine` source.
const SINE_HZ: u32 = 700;
/// The tone callwire plays once.
const TONE_HZ: u32 = 1000;
const TONE_MS: u32 = 1500;
/// How long callwire records baresip's sine.
const RECORD_MS: u64 = 1500;

/// (callwire codec name, baresip `audio_codecs` value).
fn baresip_codec(name: &str) -> &'static str {
    match name {
        "PCMU" => "PCMU/8000/1",
        "PCMA" => "PCMA/8000/1",
        "G722" => "G722/16000/1",
        "opus" => "opus/48000/2",
        other => panic!("no baresip codec for {other}"),
    }
}

fn start_callwire(codec: &str, dtmf_mode: &str) -> Callwire {
    let cw = Callwire::start(CallwireOpts::default());
    let account = cw.expect(
        "PATCH",
        "/v1/accounts/default",
        Some(json!({ "auto_answer": true, "codecs": [codec], "dtmf_mode": dtmf_mode })),
        200,
    );
    assert_eq!(account["codecs"], json!([codec]), "{account}");
    cw
}

/// baresip dials callwire; returns callwire's id of the (active) call.
fn baresip_calls_in(cw: &Callwire, bs: &mut Baresip) -> String {
    bs.dial(&format!("sip:callwire@127.0.0.1:{}", cw.sip_port));
    bs.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    let call = wait_for(
        "callwire to list the incoming call",
        Duration::from_secs(5),
        || {
            cw.calls(10)
                .into_iter()
                .find(|c| c["direction"] == "incoming")
        },
    );
    let id = call["id"].as_str().expect("call id").to_string();
    cw.wait_call_state(&id, "active", Duration::from_secs(5));
    id
}

/// callwire dials baresip (which auto-answers); returns the call id.
fn callwire_calls_out(cw: &Callwire, bs: &Baresip) -> String {
    let call = cw.expect("POST", "/v1/calls", Some(json!({ "to": bs.uri() })), 201);
    let id = call["id"].as_str().expect("call id").to_string();
    cw.wait_call_state(&id, "active", Duration::from_secs(10));
    bs.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));
    id
}

/// Records the call (mixed) for [`RECORD_MS`] while callwire plays nothing;
/// returns (recording id, wall-clock window between the start and stop
/// answers in ms, upper bound of it: from the start request to the stop answer).
fn record_window(cw: &Callwire, id: &str) -> (String, f64, f64) {
    let before_start = Instant::now();
    let started = cw.expect(
        "POST",
        &format!("/v1/calls/{id}/recording"),
        Some(json!({ "action": "start", "mode": "mixed" })),
        201,
    );
    let after_start = Instant::now();
    let rec = started["recording"]
        .as_str()
        .unwrap_or_else(|| panic!("no recording id: {started}"))
        .to_string();
    thread::sleep(Duration::from_millis(RECORD_MS));
    let before_stop = Instant::now();
    let (status, stopped) = cw.post(
        &format!("/v1/calls/{id}/recording"),
        json!({ "action": "stop" }),
    );
    let after_stop = Instant::now();
    assert!(
        status == 200 || status == 201,
        "recording stop: {status} {stopped}"
    );
    let min_ms = (before_stop - after_start).as_secs_f64() * 1000.0;
    let max_ms = (after_stop - before_start).as_secs_f64() * 1000.0;
    (rec, min_ms, max_ms)
}

/// Plays the test tone once and waits until it is over.
fn play_tone(cw: &Callwire, id: &str) {
    let spec = format!("!{TONE_HZ}/{TONE_MS}");
    let call = cw.expect(
        "POST",
        &format!("/v1/calls/{id}/play"),
        Some(json!({ "tone": spec })),
        200,
    );
    assert!(
        !call["playback"].is_null(),
        "play answered without a playback: {call}"
    );
    wait_for("the tone to finish", Duration::from_secs(5), || {
        cw.call(id)["playback"].is_null().then_some(())
    });
    // Let the last packets reach baresip.
    thread::sleep(Duration::from_millis(300));
}

/// Fetches and checks callwire's recording: finished, a valid WAV whose
/// header agrees with the API, as long as the recorded window, holding
/// baresip's sine.
fn check_recording(cw: &Callwire, rec: &str, min_ms: f64, max_ms: f64, codec: &str) {
    let meta = wait_for("the recording to finish", Duration::from_secs(5), || {
        let m = cw.expect("GET", &format!("/v1/recordings/{rec}"), None, 200);
        (m["state"] == "finished").then_some(m)
    });
    let wav = fetch_wav(cw, rec);
    assert_eq!(
        u64::from(wav.sample_rate),
        meta["sample_rate"].as_u64().unwrap_or(0),
        "{meta}"
    );
    assert_eq!(
        u64::from(wav.channels),
        meta["channels"].as_u64().unwrap_or(0),
        "{meta}"
    );
    assert_eq!(wav.channels, 1, "mixed recording must be mono: {meta}");
    let api_ms = meta["duration_ms"].as_f64().unwrap_or(-1.0);
    assert!(
        (api_ms - wav.duration_ms()).abs() <= 20.0,
        "recording {rec}: API says {api_ms} ms, WAV holds {:.0} ms",
        wav.duration_ms()
    );
    // The WAV covers the window the API kept it open (±40 ms of slack for
    // the 20 ms frame granularity at both ends).
    let ms = wav.duration_ms();
    assert!(
        ms >= min_ms - 40.0 && ms <= max_ms + 40.0,
        "recording {rec} ({codec}) holds {ms:.0} ms; it was open between {min_ms:.0} and {max_ms:.0} ms"
    );
    // baresip's sine fills it (all but 100 ms), at 700 Hz ±2 %.
    let (_, run) = longest_tone_run(&wav.samples, wav.sample_rate, f64::from(SINE_HZ))
        .unwrap_or_else(|| panic!("recording {rec} ({codec}): no {SINE_HZ} Hz found"));
    let run_ms = run as f64 * 1000.0 / f64::from(wav.sample_rate);
    assert!(
        run_ms >= ms - 100.0,
        "recording {rec} ({codec}): {SINE_HZ} Hz only for {run_ms:.0} of {ms:.0} ms"
    );
    let est = estimate_frequency(&wav.samples, wav.sample_rate).expect("zero crossings");
    assert!(
        (est - f64::from(SINE_HZ)).abs() <= f64::from(SINE_HZ) * 0.02,
        "recording {rec} ({codec}): {est:.1} Hz, want {SINE_HZ} Hz ±2 %"
    );
    eprintln!(
        "{codec}: callwire recorded {est:.1} Hz for {run_ms:.0} of {ms:.0} ms \
         ({} Hz, window {min_ms:.0}-{max_ms:.0} ms)",
        wav.sample_rate
    );
}

/// `GET /v1/recordings/{rec}/audio`, parsed as a WAV.
fn fetch_wav(cw: &Callwire, rec: &str) -> Wav {
    let url = format!("{}/v1/recordings/{rec}/audio", cw.http);
    let resp = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
        .get(&url)
        .bearer_auth(common::API_TOKEN)
        .send()
        .expect("GET recording audio");
    assert_eq!(resp.status().as_u16(), 200, "GET {url}");
    let bytes = resp.bytes().expect("recording body");
    Wav::parse(&bytes).unwrap_or_else(|e| panic!("recording {rec} is not a valid WAV: {e}"))
}

/// Checks what baresip decoded: callwire's tone at the codec's rate.
fn check_baresip_heard_tone(bs: &Baresip, codec: &str) {
    let wav = bs.decoded_wav();
    let want_rate = match codec {
        "PCMU" | "PCMA" => 8000,
        "G722" => 16000,
        _ => 48000,
    };
    assert_eq!(
        wav.sample_rate, want_rate,
        "baresip decoded {codec} at {} Hz",
        wav.sample_rate
    );
    let (f, ms) = assert_tone(
        &wav.samples,
        wav.sample_rate,
        f64::from(TONE_HZ),
        f64::from(TONE_MS),
        60.0,
        &format!("baresip's decoded {codec} audio"),
    );
    eprintln!("{codec}: baresip heard {f:.1} Hz for {ms:.0} ms");
}

/// The ended call's media statistics are final: at 50 packets/s each way
/// for the time between answer and end, at least 80 % of them counted (the
/// call view may take a moment to pick up the media task's final report).
fn check_final_media_stats(cw: &Callwire, id: &str, ended: &Value) {
    let time = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(ended[k].as_str().unwrap_or(""))
            .unwrap_or_else(|e| panic!("{k} of {ended}: {e}"))
    };
    let secs = (time("ended_at") - time("answered_at")).num_milliseconds() as f64 / 1000.0;
    let want = (secs * 50.0 * 0.8) as u64;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let call = cw.call(id);
        let media = &call["media"];
        let rx = media["packets_received"].as_u64().unwrap_or(0);
        let tx = media["packets_sent"].as_u64().unwrap_or(0);
        if rx >= want && tx >= want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "final media stats of a {secs:.2} s call count {rx} packets received and {tx} sent \
             (want >= {want} each, 50/s); the call 3 s after it ended: {call}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

fn assert_terminated_both(cw: &Callwire, bs: &Baresip, id: &str) -> Value {
    let ended = cw.wait_call_state(id, "terminated", Duration::from_secs(10));
    assert_eq!(ended["reason"], "Terminated", "{ended}");
    assert!(!ended["ended_at"].is_null(), "{ended}");
    bs.wait_event("CALL_CLOSED", Duration::from_secs(10));
    ended
}

/// baresip calls callwire: audio both ways, then baresip hangs up.
fn incoming_media(codec: &str) {
    let cw = start_callwire(codec, "rfc4733");
    let mut bs = Baresip::start(BaresipOpts::new(baresip_codec(codec), SINE_HZ));
    let id = baresip_calls_in(&cw, &mut bs);
    assert_eq!(cw.call(&id)["codec"], codec, "negotiated codec");
    thread::sleep(Duration::from_millis(300));

    let (rec, min_ms, max_ms) = record_window(&cw, &id);
    play_tone(&cw, &id);
    bs.hangup();
    let ended = assert_terminated_both(&cw, &bs, &id);
    assert_eq!(ended["recordings"], json!([rec]), "{ended}");

    check_baresip_heard_tone(&bs, codec);
    check_recording(&cw, &rec, min_ms, max_ms, codec);
}

/// callwire calls baresip: audio both ways, then callwire hangs up.
fn outgoing_media(codec: &str) {
    let cw = start_callwire(codec, "rfc4733");
    let bs = Baresip::start(BaresipOpts::new(baresip_codec(codec), SINE_HZ).auto_answer());
    let id = callwire_calls_out(&cw, &bs);
    assert_eq!(cw.call(&id)["codec"], codec, "negotiated codec");
    thread::sleep(Duration::from_millis(300));

    let (rec, min_ms, max_ms) = record_window(&cw, &id);
    play_tone(&cw, &id);
    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        Some(json!({})),
        200,
    );
    assert_terminated_both(&cw, &bs, &id);

    check_baresip_heard_tone(&bs, codec);
    check_recording(&cw, &rec, min_ms, max_ms, codec);
}

#[test]
fn baresip_calls_callwire_pcmu() {
    incoming_media("PCMU");
}

#[test]
fn baresip_calls_callwire_pcma() {
    incoming_media("PCMA");
}

#[test]
fn baresip_calls_callwire_g722() {
    incoming_media("G722");
}

#[test]
fn baresip_calls_callwire_opus() {
    incoming_media("opus");
}

/// A 3 s call with baresip's sine flowing both ways (callwire sends
/// silence): the ended call's `media` counts the packets of the whole call.
#[test]
fn final_media_stats_cover_the_whole_call() {
    let cw = start_callwire("PCMU", "rfc4733");
    let mut bs = Baresip::start(BaresipOpts::new("PCMU/8000/1", SINE_HZ));
    let id = baresip_calls_in(&cw, &mut bs);
    thread::sleep(Duration::from_millis(3500));
    bs.hangup();
    let ended = assert_terminated_both(&cw, &bs, &id);
    check_final_media_stats(&cw, &id, &ended);
}

#[test]
fn callwire_calls_baresip_pcmu() {
    outgoing_media("PCMU");
}

#[test]
fn callwire_calls_baresip_pcma() {
    outgoing_media("PCMA");
}

#[test]
fn callwire_calls_baresip_g722() {
    outgoing_media("G722");
}

#[test]
fn callwire_calls_baresip_opus() {
    outgoing_media("opus");
}

/// baresip sends "159#" by RFC 4733: callwire lists exactly those digits,
/// in order, as `rfc4733`, each with a plausible duration.
#[test]
fn dtmf_rfc4733_from_baresip() {
    let cw = start_callwire("PCMU", "rfc4733");
    let mut bs = Baresip::start(BaresipOpts::new("PCMU/8000/1", SINE_HZ));
    let id = baresip_calls_in(&cw, &mut bs);
    thread::sleep(Duration::from_millis(300));
    bs.send_dtmf("159#");
    let dtmf = wait_for("4 digits at callwire", Duration::from_secs(5), || {
        let d = cw.call(&id)["dtmf"].as_array().cloned().unwrap_or_default();
        (d.len() >= 4).then_some(d)
    });
    // Nothing more arrives late (a duplicated end packet would add a digit).
    thread::sleep(Duration::from_millis(500));
    let dtmf = {
        let again = cw.call(&id)["dtmf"].as_array().cloned().unwrap_or_default();
        assert_eq!(again.len(), dtmf.len(), "digits kept arriving: {again:?}");
        again
    };
    let digits: String = dtmf.iter().filter_map(|d| d["digit"].as_str()).collect();
    assert_eq!(digits, "159#", "{dtmf:?}");
    for d in &dtmf {
        assert_eq!(d["method"], "rfc4733", "{d}");
        let ms = d["duration_ms"].as_u64().unwrap_or(0);
        assert!((40..=1000).contains(&ms), "digit duration {ms} ms: {d}");
    }
    bs.hangup();
    assert_terminated_both(&cw, &bs, &id);
}

/// callwire sends DTMF with `method`; baresip raises CALL_DTMF_START for
/// exactly those digits and logs them under the matching method.
fn dtmf_to_baresip(method: &str, digits: &str) {
    let cw = start_callwire("PCMU", method);
    let bs = Baresip::start(BaresipOpts::new("PCMU/8000/1", SINE_HZ).auto_answer());
    let id = callwire_calls_out(&cw, &bs);
    thread::sleep(Duration::from_millis(300));
    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/dtmf"),
        Some(json!({ "digits": digits, "method": method })),
        200,
    );
    wait_for(
        &format!("baresip to receive {digits:?}"),
        Duration::from_secs(8),
        || (bs.dtmf_received().len() >= digits.len()).then_some(()),
    );
    thread::sleep(Duration::from_millis(500));
    assert_eq!(
        bs.dtmf_received(),
        digits,
        "baresip's CALL_DTMF_START digits"
    );
    let (rtp, info) = bs.logged_dtmf();
    match method {
        "rfc4733" => {
            assert_eq!(rtp, digits, "baresip log: RFC 4733 events");
            assert_eq!(info, "", "baresip log: SIP INFO digits");
        }
        "info" => {
            assert_eq!(info, digits, "baresip log: SIP INFO digits");
            assert_eq!(rtp, "", "baresip log: RFC 4733 events");
        }
        other => panic!("unexpected method {other}"),
    }
    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        Some(json!({})),
        200,
    );
    assert_terminated_both(&cw, &bs, &id);
}

#[test]
fn dtmf_rfc4733_to_baresip() {
    dtmf_to_baresip("rfc4733", "159#");
}

#[test]
fn dtmf_info_to_baresip() {
    dtmf_to_baresip("info", "73*0");
}

/// A split recording made while callwire plays its tone keeps the
/// directions apart: the left channel (received) holds baresip's sine for
/// the whole recording, the right channel (sent) holds callwire's tone for
/// 1500 ms ±60 ms and nothing at the sine's frequency.
#[test]
fn split_recording_separates_directions() {
    let cw = start_callwire("PCMU", "rfc4733");
    let mut bs = Baresip::start(BaresipOpts::new("PCMU/8000/1", SINE_HZ));
    let id = baresip_calls_in(&cw, &mut bs);
    thread::sleep(Duration::from_millis(300));
    let started = cw.expect(
        "POST",
        &format!("/v1/calls/{id}/recording"),
        Some(json!({ "action": "start", "mode": "split" })),
        201,
    );
    let rec = started["recording"]
        .as_str()
        .expect("recording id")
        .to_string();
    thread::sleep(Duration::from_millis(300));
    play_tone(&cw, &id);
    cw.post(
        &format!("/v1/calls/{id}/recording"),
        json!({ "action": "stop" }),
    );
    bs.hangup();
    assert_terminated_both(&cw, &bs, &id);

    let meta = wait_for("the recording to finish", Duration::from_secs(5), || {
        let m = cw.expect("GET", &format!("/v1/recordings/{rec}"), None, 200);
        (m["state"] == "finished").then_some(m)
    });
    assert_eq!(meta["mode"], "split", "{meta}");
    let wav = fetch_wav(&cw, &rec);
    assert_eq!(wav.channels, 2, "split recording: {meta}");
    assert_eq!(
        u64::from(wav.channels),
        meta["channels"].as_u64().unwrap_or(0),
        "{meta}"
    );
    let (left, right) = (&wav.all[0], &wav.all[1]);
    let ms = wav.duration_ms();
    let (_, run) = longest_tone_run(left, wav.sample_rate, f64::from(SINE_HZ))
        .unwrap_or_else(|| panic!("left (received) channel: no {SINE_HZ} Hz"));
    let run_ms = run as f64 * 1000.0 / f64::from(wav.sample_rate);
    assert!(
        run_ms >= ms - 100.0,
        "left (received) channel: {SINE_HZ} Hz for {run_ms:.0} of {ms:.0} ms"
    );
    let est = estimate_frequency(left, wav.sample_rate).expect("zero crossings");
    assert!(
        (est - f64::from(SINE_HZ)).abs() <= f64::from(SINE_HZ) * 0.02,
        "left (received) channel: {est:.1} Hz"
    );
    assert_tone(
        right,
        wav.sample_rate,
        f64::from(TONE_HZ),
        f64::from(TONE_MS),
        60.0,
        "right (sent) channel of the split recording",
    );
    assert!(
        longest_tone_run(right, wav.sample_rate, f64::from(SINE_HZ)).is_none(),
        "baresip's {SINE_HZ} Hz leaked into the sent channel"
    );
}

/// The side that did not place the call hangs up: baresip ends a call
/// callwire placed, callwire ends a call baresip placed; both sides see
/// the end.
#[test]
fn callee_hangs_up_either_way() {
    // callwire → baresip, baresip hangs up.
    let cw = start_callwire("PCMU", "rfc4733");
    let mut bs = Baresip::start(BaresipOpts::new("PCMU/8000/1", SINE_HZ).auto_answer());
    let id = callwire_calls_out(&cw, &bs);
    thread::sleep(Duration::from_millis(500));
    bs.hangup();
    assert_terminated_both(&cw, &bs, &id);

    // baresip → callwire, callwire hangs up.
    let mut bs = Baresip::start(BaresipOpts::new("PCMU/8000/1", SINE_HZ));
    bs.dial(&format!("sip:callwire@127.0.0.1:{}", cw.sip_port));
    bs.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    let call = wait_for("the incoming call", Duration::from_secs(5), || {
        cw.calls(10)
            .into_iter()
            .find(|c| c["direction"] == "incoming" && c["state"] == "active")
    });
    let id = call["id"].as_str().expect("call id").to_string();
    thread::sleep(Duration::from_millis(500));
    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        Some(json!({})),
        200,
    );
    let closed = bs.wait_event("CALL_CLOSED", Duration::from_secs(10));
    assert_eq!(closed["direction"], "outgoing", "{closed}");
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(10));
    assert_eq!(ended["reason"], "Terminated", "{ended}");
}

/// In-band DTMF from callwire (baresip 1.0.0 has no in-band detector, so
/// its decoded audio is analysed instead): a Goertzel detector finds
/// exactly the sent digits, in order, and baresip raised no DTMF event.
#[test]
fn dtmf_inband_to_baresip() {
    let digits = "159#";
    let cw = start_callwire("PCMU", "inband");
    let bs = Baresip::start(BaresipOpts::new("PCMU/8000/1", SINE_HZ).auto_answer());
    let id = callwire_calls_out(&cw, &bs);
    thread::sleep(Duration::from_millis(300));
    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/dtmf"),
        Some(json!({ "digits": digits, "method": "inband" })),
        200,
    );
    // Four digits with their pauses take well under 2 s.
    thread::sleep(Duration::from_millis(2000));
    cw.expect(
        "POST",
        &format!("/v1/calls/{id}/hangup"),
        Some(json!({})),
        200,
    );
    assert_terminated_both(&cw, &bs, &id);
    let wav = bs.decoded_wav();
    let found = common::baresip::dtmf_digits(&wav.samples, wav.sample_rate);
    assert_eq!(found, digits, "in-band digits in baresip's decoded audio");
    assert_eq!(bs.dtmf_received(), "", "baresip saw out-of-band DTMF");
}

/// Hold and resume from callwire's side with baresip: callwire re-INVITEs with
/// `sendonly`, baresip answers and stops sending (its 700 Hz stops arriving in
/// callwire's recording and `packets_received` stands still), and after the
/// resume re-INVITE (`sendrecv`) the sine comes back.
#[test]
fn hold_and_resume_stop_and_restart_the_audio() {
    let cw = start_callwire("PCMU", "rfc4733");
    let bs = Baresip::start(BaresipOpts::new("PCMU/8000/1", SINE_HZ).auto_answer());
    let id = callwire_calls_out(&cw, &bs);
    let started = cw.expect(
        "POST",
        &format!("/v1/calls/{id}/recording"),
        Some(json!({ "action": "start", "mode": "mixed" })),
        201,
    );
    let t0 = Instant::now();
    let rec = started["recording"]
        .as_str()
        .expect("recording id")
        .to_string();
    thread::sleep(Duration::from_millis(1000));

    let held = cw.expect("POST", &format!("/v1/calls/{id}/hold"), None, 200);
    assert_eq!(held["on_hold"], true, "{held}");
    let hold_at = t0.elapsed().as_secs_f64() * 1000.0;
    // Let the re-INVITE complete and a statistics refresh pass after it.
    thread::sleep(Duration::from_millis(2300));
    let during = cw.call(&id);
    assert_eq!(during["state"], "active", "{during}");
    assert_eq!(during["on_hold"], true, "{during}");
    thread::sleep(Duration::from_millis(2100));
    let later = cw.call(&id);
    let received = |v: &Value| v["media"]["packets_received"].as_u64().unwrap_or(0);
    assert!(
        received(&later) <= received(&during) + 5,
        "baresip kept sending while held: {} -> {}\n{during}\n{later}\n{}",
        received(&during),
        received(&later),
        bs.log_tail(60)
    );

    let resumed = cw.expect("POST", &format!("/v1/calls/{id}/resume"), None, 200);
    assert_eq!(resumed["on_hold"], false, "{resumed}");
    let resume_at = t0.elapsed().as_secs_f64() * 1000.0;
    thread::sleep(Duration::from_millis(2300));
    let (status, _) = cw.post(
        &format!("/v1/calls/{id}/recording"),
        json!({ "action": "stop" }),
    );
    assert_eq!(status, 200);
    let after = cw.call(&id);
    assert!(
        received(&after) > received(&later) + 25,
        "audio did not come back after resume: {} -> {}",
        received(&later),
        received(&after)
    );
    wait_for("the recording to finish", Duration::from_secs(5), || {
        let m = cw.expect("GET", &format!("/v1/recordings/{rec}"), None, 200);
        (m["state"] == "finished").then_some(m)
    });
    let wav = fetch_wav(&cw, &rec);
    let rate = wav.sample_rate;
    let slice = |from_ms: f64, to_ms: f64| {
        let a = (from_ms * f64::from(rate) / 1000.0) as usize;
        let b = ((to_ms * f64::from(rate) / 1000.0) as usize).min(wav.samples.len());
        &wav.samples[a.min(b)..b]
    };
    let sine = |x: &[i16]| tone_purity(x, rate, f64::from(SINE_HZ));
    // Before the hold: the sine. While held (after the re-INVITE settled):
    // silence. After the resume settled: the sine again.
    let before = slice(200.0, hold_at - 100.0);
    let held = slice(hold_at + 500.0, resume_at - 100.0);
    let back = slice(resume_at + 500.0, resume_at + 1300.0);
    assert!(
        sine(before) > 0.8,
        "no sine before hold: purity {:.2}",
        sine(before)
    );
    assert!(rms(held) < 100.0, "audio while held: RMS {:.0}", rms(held));
    assert!(
        sine(back) > 0.8,
        "no sine after resume: purity {:.2}",
        sine(back)
    );
    eprintln!(
        "hold at {hold_at:.0} ms, resume at {resume_at:.0} ms: RMS before {:.0}, held {:.0}, after {:.0}",
        rms(before),
        rms(held),
        rms(back)
    );
    cw.expect("POST", &format!("/v1/calls/{id}/hangup"), None, 200);
}
