//! Opus: a tone keeps its frequency through encode/decode, the PLC fills
//! lost frames, FEC can rebuild a lost frame, and hostile payloads give
//! errors rather than panics.

use callwire_media::audio::goertzel_power;
use callwire_media::codec::{Codec, CodecError, Decoder, Encoder, OpusOptions};
use proptest::prelude::*;

const RATE: u32 = 48000;
const FRAME: usize = 960;

fn tone(freq: f64, amplitude: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            (amplitude * (std::f64::consts::TAU * freq * i as f64 / f64::from(RATE)).sin()).round()
                as i16
        })
        .collect()
}

fn dominant_frequency(samples: &[i16], lo: u32, hi: u32, step: u32) -> u32 {
    (lo..=hi)
        .step_by(step as usize)
        .max_by(|&a, &b| {
            goertzel_power(samples, RATE, f64::from(a)).total_cmp(&goertzel_power(
                samples,
                RATE,
                f64::from(b),
            ))
        })
        .unwrap()
}

fn rms(s: &[i16]) -> f64 {
    (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
}

#[test]
fn codec_description_follows_rfc_7587() {
    assert_eq!(Codec::Opus.encoding_name(), "opus");
    assert_eq!(Codec::Opus.clock_rate(), 48000);
    assert_eq!(Codec::Opus.rtpmap(), "opus/48000/2");
    assert_eq!(Codec::Opus.static_payload_type(), None);
    assert_eq!(Codec::Opus.samples_per_frame(20), 960);
}

#[test]
fn tone_round_trip_keeps_frequency_and_level() {
    let input = tone(1000.0, 8000.0, RATE as usize);
    let mut enc = Encoder::new(Codec::Opus).unwrap();
    let mut dec = Decoder::new(Codec::Opus).unwrap();
    let mut out = Vec::new();
    let mut payload = Vec::new();
    for frame in input.chunks(FRAME) {
        payload.clear();
        enc.encode(frame, &mut payload).unwrap();
        assert!(
            !payload.is_empty() && payload.len() < 400,
            "packet of {} bytes",
            payload.len()
        );
        dec.decode(&payload, &mut out).unwrap();
    }
    assert_eq!(out.len(), input.len());
    let tail = &out[RATE as usize / 4..];
    assert_eq!(dominant_frequency(tail, 200, 4000, 50), 1000);
    let db = 20.0 * (rms(tail) / rms(&input[RATE as usize / 4..])).log10();
    assert!(db.abs() < 1.5, "level change {db:.2} dB");
}

#[test]
fn plc_continues_the_signal_then_decoding_resumes() {
    let input = tone(800.0, 8000.0, 20 * FRAME);
    let mut enc = Encoder::new(Codec::Opus).unwrap();
    let mut dec = Decoder::new(Codec::Opus).unwrap();
    let mut out = Vec::new();
    let mut payload = Vec::new();
    for (i, frame) in input.chunks(FRAME).enumerate() {
        payload.clear();
        enc.encode(frame, &mut payload).unwrap();
        if i == 10 {
            let before = out.len();
            dec.conceal(FRAME, &mut out);
            assert_eq!(out.len() - before, FRAME);
            // The concealment carries the tone on rather than going silent.
            let concealed = &out[before..];
            assert!(rms(concealed) > 1000.0, "PLC rms {}", rms(concealed));
            assert_eq!(dominant_frequency(concealed, 200, 4000, 50), 800);
        } else {
            dec.decode(&payload, &mut out).unwrap();
        }
    }
    assert_eq!(out.len(), input.len());
    assert_eq!(dominant_frequency(&out[15 * FRAME..], 200, 4000, 50), 800);
}

#[test]
fn conceal_gives_exactly_the_samples_asked_for() {
    let mut dec = Decoder::new(Codec::Opus).unwrap();
    for n in [0, 1, 119, 120, 960, 1000, 7000] {
        let mut out = vec![1i16; 3];
        dec.conceal(n, &mut out);
        assert_eq!(out.len(), 3 + n);
    }
}

/// Encodes 10 frames of silence then a 600 Hz tone, loses the first tone
/// frame (the onset, which concealment cannot guess) and recovers it with `decode_fec` from the next packet; returns
/// the rms of the recovered frame.
fn recovered_onset_rms(fec: bool) -> f64 {
    let opts = OpusOptions {
        fec,
        expected_loss_percent: 20,
        bitrate: 32000,
        ..OpusOptions::default()
    };
    let mut input = vec![0i16; 10 * FRAME];
    input.extend(tone(600.0, 8000.0, 20 * FRAME));
    let mut enc = Encoder::with_opus_options(Codec::Opus, opts).unwrap();
    let mut dec = Decoder::new(Codec::Opus).unwrap();
    let packets: Vec<Vec<u8>> = input
        .chunks(FRAME)
        .map(|f| {
            let mut p = Vec::new();
            enc.encode(f, &mut p).unwrap();
            p
        })
        .collect();
    let mut out = Vec::new();
    let mut recovered = 0.0;
    for (i, p) in packets.iter().enumerate() {
        if i == 10 {
            // Lost: rebuild from the next packet's FEC.
            let before = out.len();
            dec.decode_fec(&packets[11], FRAME, &mut out).unwrap();
            assert_eq!(out.len() - before, FRAME);
            let rebuilt = &out[before..];
            recovered = rms(rebuilt);
            if fec {
                assert_eq!(dominant_frequency(rebuilt, 200, 4000, 50), 600);
            }
        } else {
            dec.decode(p, &mut out).unwrap();
        }
    }
    assert_eq!(out.len(), input.len());
    recovered
}

#[test]
fn fec_rebuilds_a_lost_frame() {
    // With FEC the onset frame comes back from the LBRR data of the next
    // packet; without it the decoder can only conceal from the silence
    // before it.
    let with_fec = recovered_onset_rms(true);
    let without = recovered_onset_rms(false);
    assert!(with_fec > 2000.0, "FEC rms {with_fec:.0}");
    assert!(without < 500.0, "PLC rms {without:.0}");
}

#[test]
fn invalid_frame_sizes_are_refused() {
    let mut enc = Encoder::new(Codec::Opus).unwrap();
    let mut out = Vec::new();
    for n in [0, 1, 120, 240, 160, 959, 961, 5760] {
        assert_eq!(
            enc.encode(&vec![0; n], &mut out),
            Err(CodecError::FrameSize {
                codec: Codec::Opus,
                samples: n
            })
        );
    }
    for n in [480, 960, 1920, 2880] {
        out.clear();
        let r = enc.encode(&vec![0; n], &mut out);
        assert!(r.is_ok(), "{n}: {r:?}");
        assert!(!out.is_empty());
    }
}

#[test]
fn garbage_payloads_are_errors() {
    let mut dec = Decoder::new(Codec::Opus).unwrap();
    let mut out = Vec::new();
    assert!(matches!(
        dec.decode(&[], &mut out),
        Err(CodecError::Opus { .. })
    ));
    // Code 3 packet (TOC c=3) with a frame count of 0 is invalid (RFC 6716 §3.2.5).
    assert!(matches!(
        dec.decode(&[0x03, 0x00], &mut out),
        Err(CodecError::Opus { .. })
    ));
    // Code 1 packet (two equal frames) with an odd payload length is invalid (R3).
    assert!(matches!(
        dec.decode(&[0x01, 0x00, 0x00, 0x00], &mut out),
        Err(CodecError::Opus { .. })
    ));
    assert!(out.is_empty(), "failed decodes append nothing");
    let huge = vec![0u8; 70_000];
    assert!(matches!(
        dec.decode(&huge, &mut out),
        Err(CodecError::PayloadTooLarge { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn arbitrary_payloads_never_panic(payload in prop::collection::vec(any::<u8>(), 0..1500)) {
        let mut dec = Decoder::new(Codec::Opus).unwrap();
        let mut out = Vec::new();
        match dec.decode(&payload, &mut out) {
            Ok(()) => prop_assert!(out.len() <= 5760),
            Err(_) => prop_assert!(out.is_empty()),
        }
        // The decoder is still usable afterwards.
        dec.conceal(960, &mut out);
    }

    #[test]
    fn arbitrary_fec_payloads_never_panic(payload in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut dec = Decoder::new(Codec::Opus).unwrap();
        let mut out = Vec::new();
        let _ = dec.decode_fec(&payload, 960, &mut out);
    }
}
