//! Media against SIPp as the calling peer (callwire auto-answers):
//!
//! - SIPp replays its shipped `g711a.pcap` (A-law speech) into a call; a
//!   recording started through the API while the call is up must be a valid
//!   WAV as long as the recording ran (±100 ms), and its energy envelope must
//!   follow the pcap's decoded speech (correlation ≥ 0.9, level within ±3 dB);
//!   the call's codec is PCMA and callwire counted the pcap's 236 packets.
//! - SIPp replays its RFC 2833 pcaps for 1, 2, 3 and # (payload type 101,
//!   which the INVITE's SDP offers): the call's `dtmf` list is exactly
//!   `123#`, each by `rfc4733`, each 280 ms long as the pcaps' end packets say.
//! - SIPp sends no RTP at all while `[media] timeout_secs = 2`: callwire ends
//!   the call by itself 2–4 s after the answer with reason `MediaTimeout`,
//!   and SIPp receives (and answers) its BYE.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::media::{
    alaw_to_linear, chunk_matches, envelope, free_media_port, locate, parse_wav, read_pcap_rtp,
    rms, sipp_pcap, wait_incoming_active, waveform_correlation,
};
use common::sipp::{Sipp, SippCmd};
use common::{sipp_scenario, wait_for, Callwire, CallwireOpts};

/// callwire with auto-answer and the codecs in this order.
fn callwire(toml: &str, codecs: &[&str]) -> Callwire {
    let cw = Callwire::start(CallwireOpts::with_toml(toml));
    let account = cw.expect(
        "PATCH",
        "/v1/accounts/default",
        Some(json!({ "auto_answer": true, "codecs": codecs })),
        200,
    );
    assert_eq!(account["auto_answer"], true, "{account}");
    cw
}

/// One SIPp call with `scenario` to callwire, on its own media port.
fn sipp_call(cw: &Callwire, scenario: &str, timeout: Duration) -> Sipp {
    SippCmd::scenario(&sipp_scenario(scenario), Some(&cw.sip_addr().to_string()))
        .calls(1)
        .arg("-mp")
        .arg(&free_media_port().to_string())
        .timeout(timeout)
        .spawn()
}

fn id_of(call: &Value) -> String {
    call["id"]
        .as_str()
        .unwrap_or_else(|| panic!("call without id: {call}"))
        .to_string()
}

#[test]
fn pcap_speech_is_recorded_as_played() {
    let pcap = read_pcap_rtp(&sipp_pcap("g711a.pcap"));
    assert_eq!(pcap.len(), 236, "g711a.pcap should hold 236 RTP packets");
    assert!(
        pcap.iter().all(|p| p.payload_type == 8),
        "g711a.pcap is PCMA"
    );
    let reference: Vec<i16> = pcap
        .iter()
        .flat_map(|p| p.payload.iter().map(|&b| alaw_to_linear(b)))
        .collect();

    let cw = callwire("", &["PCMA", "PCMU"]);
    let sipp = sipp_call(&cw, "media_pcap_g711a.xml", Duration::from_secs(40));

    // SIPp waits 1 s after its ACK before it plays: start recording now.
    let call = wait_incoming_active(&cw, Duration::from_secs(10));
    let id = id_of(&call);
    let start_sent = Instant::now();
    let started = cw.expect(
        "POST",
        &format!("/v1/calls/{id}/recording"),
        Some(json!({ "action": "start" })),
        201,
    );
    let start_done = Instant::now();
    let rec = started["recording"]
        .as_str()
        .map(str::to_string)
        .or_else(|| started["recording"]["id"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("recording start answered without an id: {started}"));

    // The pcap ends 8.05 s after the ACK at the latest; SIPp hangs up at
    // 10 s. Stop the recording in between.
    thread::sleep(Duration::from_millis(8_600));
    let stop_sent = Instant::now();
    let (status, stopped) = cw.post(
        &format!("/v1/calls/{id}/recording"),
        json!({ "action": "stop" }),
    );
    let stop_done = Instant::now();
    assert!(
        status == 200 || status == 201,
        "recording stop: HTTP {status}: {stopped}"
    );
    // The recording ran at least from the start's answer to the stop's
    // request, and at most from the start's request to the stop's answer.
    let shortest = stop_sent.duration_since(start_done).as_secs_f64() * 1000.0;
    let longest = stop_done.duration_since(start_sent).as_secs_f64() * 1000.0;

    let meta = wait_for("the recording to finish", Duration::from_secs(5), || {
        let m = cw.expect("GET", &format!("/v1/recordings/{rec}"), None, 200);
        (m["state"] == "finished").then_some(m)
    });
    let (status, bytes) = cw.get_bytes(&format!("/v1/recordings/{rec}/audio"));
    assert_eq!(status, 200, "GET /v1/recordings/{rec}/audio");
    let wav = parse_wav(&bytes).unwrap_or_else(|e| panic!("recording {rec} is no valid WAV: {e}"));
    assert_eq!(wav.channels, 1, "a mixed recording is mono: {meta}");
    assert_eq!(
        Some(u64::from(wav.sample_rate)),
        meta["sample_rate"].as_u64(),
        "WAV rate vs. recording record {meta}"
    );
    assert_eq!(Some(1), meta["channels"].as_u64(), "{meta}");
    let wav_ms = wav.duration_ms();
    assert!(
        wav_ms >= shortest - 100.0 && wav_ms <= longest + 100.0,
        "WAV holds {wav_ms:.0} ms, the recording ran {shortest:.0}–{longest:.0} ms (±100 ms allowed)"
    );
    let meta_ms = meta["duration_ms"].as_f64().unwrap_or(-1.0);
    assert!(
        (meta_ms - wav_ms).abs() <= 40.0,
        "recording record says {meta_ms} ms, its WAV holds {wav_ms:.0} ms: {meta}"
    );

    // The recorded audio is the pcap's speech: the same energy envelope
    // (50 ms windows, offsets tried every 5 ms), at the same level.
    let (offset, corr) = locate(&reference, 8000, &wav.samples, wav.sample_rate, 50, 5);
    let span = reference.len() * wav.sample_rate as usize / 8000;
    let aligned = &wav.samples[offset..(offset + span).min(wav.samples.len())];
    let ref_rms = rms(&reference);
    let rec_rms = rms(aligned);
    let rec_env = envelope(&wav.samples, wav.sample_rate, 50);
    let mean = rec_env.iter().sum::<f64>() / rec_env.len().max(1) as f64;
    let spread = (rec_env.iter().map(|e| (e - mean).powi(2)).sum::<f64>()
        / rec_env.len().max(1) as f64)
        .sqrt();
    let offset_ms = offset as f64 * 1000.0 / f64::from(wav.sample_rate);
    // At 8 kHz the samples themselves must match the pcap's decoded A-law,
    // 500 ms chunk by chunk (each within ±30 ms, so that a concealed frame
    // spoils only its chunk): catches a wrong decoder that keeps the envelope.
    let chunks = if wav.sample_rate == 8000 {
        chunk_matches(&reference, &wav.samples, offset, 4000, 240)
    } else {
        Vec::new()
    };
    let mut sorted = chunks.clone();
    sorted.sort_by(f64::total_cmp);
    let chunk_median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    eprintln!(
        "recording {rec}: {wav_ms:.0} ms at {} Hz (ran {shortest:.0}–{longest:.0} ms); \
         speech found at {offset_ms:.0} ms, envelope correlation {corr:.3}, waveform correlation {:.3} \
         (500 ms chunks: median {chunk_median:.3}), RMS {rec_rms:.0} vs pcap {ref_rms:.0}, envelope mean {mean:.0} sd {spread:.0}",
        wav.sample_rate,
        if wav.sample_rate == 8000 { waveform_correlation(&reference, aligned) } else { f64::NAN },
    );
    assert!(
        rms(&wav.samples) > 300.0,
        "the recording is (nearly) silent: RMS {:.1}",
        rms(&wav.samples)
    );
    assert!(
        spread > 0.5 * mean,
        "the recording's energy is flat, not speech (mean {mean:.0}, sd {spread:.0})"
    );
    assert!(
        corr >= 0.9,
        "the recording's energy envelope does not follow the pcap's speech: best correlation {corr:.3} at {offset_ms:.0} ms"
    );
    assert_eq!(
        wav.sample_rate, 8000,
        "a PCMA call is recorded at 8 kHz: {meta}"
    );
    assert!(
        chunk_median >= 0.95,
        "the recorded samples are not the pcap's decoded A-law: chunk correlations {chunks:.3?}"
    );
    let ratio = rec_rms / ref_rms;
    assert!(
        (0.707..=1.413).contains(&ratio),
        "recorded level {rec_rms:.0} vs pcap {ref_rms:.0} RMS: off by more than 3 dB"
    );

    // SIPp's BYE ends the call; every step of the scenario happened.
    sipp.wait().assert_all_successful(1);
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(5));
    assert_eq!(ended["codec"], "PCMA", "{ended}");
    assert_eq!(ended["recordings"], json!([rec]), "{ended}");
    let media = &ended["media"];
    assert_eq!(media["codec"], "PCMA", "{ended}");
    let received = media["packets_received"].as_u64().unwrap_or(0);
    assert!(
        (232..=236).contains(&received),
        "SIPp played the pcap's 236 packets, callwire counted {received}: {media}"
    );
    assert!(
        media["packets_lost"].as_i64().unwrap_or(i64::MAX) <= 2,
        "packets lost on loopback: {media}"
    );
    assert_eq!(media["malformed"], 0, "{media}");
}

#[test]
fn rfc2833_pcaps_give_digits_in_order() {
    // The pcaps carry telephone-event on payload type 101, 10 packets per
    // event (3 of them end packets), duration 2240 samples = 280 ms.
    let mut events = Vec::new();
    for (name, code) in [("1", 1u8), ("2", 2), ("3", 3), ("pound", 11)] {
        let pkts = read_pcap_rtp(&sipp_pcap(&format!("dtmf_2833_{name}.pcap")));
        assert_eq!(pkts.len(), 10, "dtmf_2833_{name}.pcap");
        assert!(pkts
            .iter()
            .all(|p| p.payload_type == 101 && p.payload.len() == 4));
        assert!(pkts.iter().all(|p| p.payload[0] == code));
        let last = &pkts[9].payload;
        assert!(last[1] & 0x80 != 0, "last packet is an end packet");
        assert_eq!(u16::from_be_bytes([last[2], last[3]]), 2240);
        events.push(pkts[0].timestamp);
    }
    assert!(
        events.windows(2).all(|w| w[0] < w[1]),
        "distinct events with rising timestamps"
    );

    let cw = callwire("", &["PCMA", "PCMU"]);
    let sipp = sipp_call(&cw, "media_dtmf_2833.xml", Duration::from_secs(40));
    let call = wait_incoming_active(&cw, Duration::from_secs(10));
    let id = id_of(&call);

    // The scenario plays a digit every second and hangs up 1 s after '#'.
    sipp.wait().assert_all_successful(1);
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(5));
    let dtmf = ended["dtmf"]
        .as_array()
        .unwrap_or_else(|| panic!("call without dtmf list: {ended}"));
    let digits: String = dtmf
        .iter()
        .map(|d| d["digit"].as_str().unwrap_or("?").to_string())
        .collect();
    eprintln!("dtmf: {}", ended["dtmf"]);
    assert_eq!(digits, "123#", "digits received: {}", ended["dtmf"]);
    for d in dtmf {
        assert_eq!(d["method"], "rfc4733", "{d}");
        let ms = d["duration_ms"].as_u64().unwrap_or(0);
        assert!(
            (260..=300).contains(&ms),
            "the pcaps' events last 280 ms, callwire says {ms}: {d}"
        );
    }
    // One digit per pcap, about a second apart (SIPp pauses 1 s between
    // them; each pcap lasts 140 ms).
    let times: Vec<chrono::DateTime<chrono::Utc>> = dtmf
        .iter()
        .map(|d| {
            d["at"]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .unwrap_or_else(|| panic!("bad `at` in {d}"))
                .with_timezone(&chrono::Utc)
        })
        .collect();
    for w in times.windows(2) {
        let gap = (w[1] - w[0]).num_milliseconds();
        assert!(
            (800..=1_600).contains(&gap),
            "digits {gap} ms apart, expected about 1000: {}",
            ended["dtmf"]
        );
    }
    assert_eq!(ended["codec"], "PCMA", "{ended}");
}

#[test]
fn silent_peer_is_hung_up_after_media_timeout() {
    let cw = callwire("[media]\ntimeout_secs = 2\n", &["PCMU", "PCMA"]);
    let sipp = sipp_call(&cw, "media_wait_bye.xml", Duration::from_secs(40));
    let call = wait_incoming_active(&cw, Duration::from_secs(10));
    let answered = Instant::now();
    let id = id_of(&call);

    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(10));
    let took = answered.elapsed();
    eprintln!(
        "call ended {took:?} after it was seen active: reason {}",
        ended["reason"]
    );
    assert_eq!(ended["reason"], "MediaTimeout", "{ended}");
    assert!(
        took >= Duration::from_millis(1_800) && took <= Duration::from_millis(4_000),
        "call ended {took:?} after it was seen active, expected 2–4 s: {ended}"
    );
    // SIPp got callwire's BYE (the scenario fails without it) and answered.
    let res = sipp.wait();
    res.assert_all_successful(1);
    assert!(
        res.elapsed < Duration::from_secs(10),
        "SIPp ran {:?}: the BYE came late",
        res.elapsed
    );
    assert_eq!(ended["media"]["packets_received"], 0, "{ended}");
}

/// DTMF by SIP INFO from SIPp: `application/dtmf-relay` (with the digit, and
/// with Asterisk's code 11 for `#`) and `application/dtmf` bodies give exactly
/// `7*0#`, method `info`, with the durations the bodies announce.
#[test]
fn sip_info_dtmf_gives_digits_in_order() {
    let cw = callwire("", &["PCMA", "PCMU"]);
    let sipp = sipp_call(&cw, "media_dtmf_info.xml", Duration::from_secs(20));
    // The whole call takes about a second: look for it once SIPp is done.
    sipp.wait().assert_all_successful(1);
    let call = cw
        .calls(20)
        .into_iter()
        .find(|c| c["direction"] == "incoming")
        .expect("the incoming call is listed");
    let id = id_of(&call);
    let ended = cw.wait_call_state(&id, "terminated", Duration::from_secs(5));
    let dtmf = ended["dtmf"]
        .as_array()
        .unwrap_or_else(|| panic!("call without dtmf list: {ended}"));
    let digits: String = dtmf
        .iter()
        .map(|d| d["digit"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(digits, "7*0#", "digits received: {}", ended["dtmf"]);
    assert!(
        dtmf.iter().all(|d| d["method"] == "info"),
        "{}",
        ended["dtmf"]
    );
    let durations: Vec<u64> = dtmf
        .iter()
        .map(|d| d["duration_ms"].as_u64().unwrap_or(0))
        .collect();
    // dtmf-relay Duration is in ms; application/dtmf carries none (callwire
    // takes 250 ms).
    assert_eq!(durations, [160, 200, 250, 250], "{}", ended["dtmf"]);
}
