//! G.722 round trips: a tone keeps its frequency and a good SNR after the
//! codec delay, silence stays quiet, and arbitrary payloads never panic.

use callwire_media::audio::goertzel_power;
use callwire_media::codec::{Codec, CodecError, Decoder, Encoder};
use proptest::prelude::*;

const RATE: u32 = 16000;

fn tone(freq: f64, amplitude: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            (amplitude * (std::f64::consts::TAU * freq * i as f64 / f64::from(RATE)).sin()).round()
                as i16
        })
        .collect()
}

/// Encodes and decodes `pcm` in 20 ms frames.
fn round_trip(pcm: &[i16]) -> Vec<i16> {
    let mut enc = Encoder::new(Codec::G722).unwrap();
    let mut dec = Decoder::new(Codec::G722).unwrap();
    let mut out = Vec::new();
    let mut payload = Vec::new();
    for frame in pcm.chunks(320) {
        payload.clear();
        enc.encode(frame, &mut payload).unwrap();
        assert_eq!(
            payload.len(),
            frame.len() / 2,
            "64 kbit/s: one octet per two samples"
        );
        dec.decode(&payload, &mut out).unwrap();
    }
    out
}

/// Best SNR in dB of `out` against `reference` over lags 0..64, with the
/// lag, skipping the first 50 ms (adaptation).
fn best_snr(reference: &[i16], out: &[i16]) -> (f64, usize) {
    let skip = 800;
    let mut best = (f64::MIN, 0);
    for lag in 0..64 {
        let mut sig = 0.0;
        let mut noise = 0.0;
        for i in skip..reference.len() - 64 {
            let r = f64::from(reference[i]);
            let o = f64::from(out[i + lag]);
            sig += r * r;
            noise += (o - r) * (o - r);
        }
        let snr = 10.0 * (sig / noise.max(1e-9)).log10();
        if snr > best.0 {
            best = (snr, lag);
        }
    }
    best
}

fn dominant_frequency(samples: &[i16], rate: u32, lo: u32, hi: u32, step: u32) -> u32 {
    (lo..=hi)
        .step_by(step as usize)
        .max_by(|&a, &b| {
            goertzel_power(samples, rate, f64::from(a)).total_cmp(&goertzel_power(
                samples,
                rate,
                f64::from(b),
            ))
        })
        .unwrap()
}

#[test]
fn one_khz_tone_survives_with_snr_above_20_db() {
    let input = tone(1000.0, 10000.0, 16000);
    let out = round_trip(&input);
    assert_eq!(out.len(), input.len());
    let (snr, lag) = best_snr(&input, &out);
    // (The lag is only known modulo the 16-sample period here.)
    assert!(snr > 20.0, "SNR {snr:.1} dB at lag {lag}");
    let tail = &out[4000..];
    assert_eq!(dominant_frequency(tail, RATE, 100, 7000, 25), 1000);
    // Level kept within 1 dB.
    let p_in = goertzel_power(&input[4000..], RATE, 1000.0);
    let p_out = goertzel_power(tail, RATE, 1000.0);
    let db = 10.0 * (p_out / p_in).log10();
    assert!(db.abs() < 1.0, "level change {db:.2} dB");
}

#[test]
fn codec_delay_is_that_of_the_qmf_pair() {
    // Speech-like broadband signal: a sum of inharmonic tones, so the
    // cross-correlation has a single clear peak.
    let n = 16000;
    let input: Vec<i16> = (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            let v: f64 = [
                (310.0, 3000.0),
                (770.0, 2500.0),
                (1330.0, 2000.0),
                (2210.0, 1500.0),
                (3170.0, 1000.0),
            ]
            .iter()
            .map(|(f, a)| a * (std::f64::consts::TAU * f * t).sin())
            .sum();
            v.round() as i16
        })
        .collect();
    let out = round_trip(&input);
    let (snr, lag) = best_snr(&input, &out);
    // The two 24-tap QMF filters delay the signal by 22 samples.
    assert_eq!(lag, 22, "delay");
    assert!(snr > 25.0, "SNR {snr:.1} dB");
}

#[test]
fn high_band_tone_survives() {
    // 6 kHz lives in the upper sub-band.
    let input = tone(6000.0, 8000.0, 16000);
    let out = round_trip(&input);
    assert_eq!(dominant_frequency(&out[4000..], RATE, 100, 7900, 25), 6000);
}

#[test]
fn silence_stays_near_silence() {
    let out = round_trip(&vec![0i16; 16000]);
    let peak = out[800..].iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!(peak < 64, "peak {peak}");
}

#[test]
fn odd_frame_is_refused() {
    let mut enc = Encoder::new(Codec::G722).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        enc.encode(&[0; 319], &mut out),
        Err(CodecError::FrameSize {
            codec: Codec::G722,
            samples: 319
        })
    );
    assert!(out.is_empty());
}

#[test]
fn clock_rate_is_8000_but_pcm_is_16000() {
    assert_eq!(Codec::G722.clock_rate(), 8000);
    assert_eq!(Codec::G722.pcm_rate(), 16000);
    assert_eq!(Codec::G722.samples_per_frame(20), 320);
    assert_eq!(Codec::G722.timestamp_increment(20), 160);
}

proptest! {
    #[test]
    fn arbitrary_payloads_decode_without_panic(payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..400), 1..8)) {
        let mut dec = Decoder::new(Codec::G722).unwrap();
        let mut out = Vec::new();
        for p in &payloads {
            let before = out.len();
            dec.decode(p, &mut out).unwrap();
            prop_assert_eq!(out.len() - before, p.len() * 2);
        }
    }
}
