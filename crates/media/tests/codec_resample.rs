//! Resampler: tones keep frequency and level through 8k -> 48k -> 8k,
//! frame-by-frame output equals one-shot output, and the delay is what
//! `delay()` says.

use callwire_media::audio::goertzel_power;
use callwire_media::codec::{CodecError, Resampler};

fn tone(rate: u32, freq: f64, amplitude: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            (amplitude * (std::f64::consts::TAU * freq * i as f64 / f64::from(rate)).sin()).round()
                as i16
        })
        .collect()
}

fn run_frames(r: &mut Resampler, input: &[i16], frame: usize) -> Vec<i16> {
    let mut out = Vec::new();
    for chunk in input.chunks(frame) {
        r.process(chunk, &mut out).unwrap();
    }
    out
}

fn level_db(a: &[i16], b: &[i16], rate_a: u32, rate_b: u32, freq: f64) -> f64 {
    10.0 * (goertzel_power(b, rate_b, freq) / goertzel_power(a, rate_a, freq)).log10()
}

fn dominant_frequency(samples: &[i16], rate: u32, hi: u32) -> u32 {
    (100..=hi)
        .step_by(25)
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
fn one_khz_up_and_down_keeps_frequency_and_level() {
    let input = tone(8000, 1000.0, 10000.0, 8000);
    let mut up = Resampler::new(8000, 48000).unwrap();
    let mut down = Resampler::new(48000, 8000).unwrap();
    let mid = run_frames(&mut up, &input, 160);
    assert_eq!(mid.len(), 48000, "whole 20 ms blocks in, whole blocks out");
    assert_eq!(dominant_frequency(&mid[4800..], 48000, 20000), 1000);
    let db = level_db(&input[800..], &mid[4800..], 8000, 48000, 1000.0);
    assert!(db.abs() < 1.0, "8k->48k level {db:.2} dB");

    let back = run_frames(&mut down, &mid, 960);
    assert_eq!(back.len(), 8000);
    assert_eq!(dominant_frequency(&back[800..], 8000, 3900), 1000);
    let db = level_db(&input[800..], &back[800..], 8000, 8000, 1000.0);
    assert!(db.abs() < 1.0, "8k->48k->8k level {db:.2} dB");
}

#[test]
fn delay_is_what_the_resampler_reports() {
    // A broadband signal (inharmonic tones below 3.5 kHz) so the best lag
    // is unambiguous.
    let n = 8000;
    let input: Vec<i16> = (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            [
                (230.0, 3000.0),
                (710.0, 2500.0),
                (1390.0, 2000.0),
                (2270.0, 1500.0),
                (3130.0, 1000.0),
            ]
            .iter()
            .map(|(f, a)| a * (std::f64::consts::TAU * f * t).sin())
            .sum::<f64>()
            .round() as i16
        })
        .collect();
    let mut up = Resampler::new(8000, 48000).unwrap();
    let mut down = Resampler::new(48000, 8000).unwrap();
    let back = run_frames(&mut down, &run_frames(&mut up, &input, 160), 960);
    // Both delays in 8 kHz samples (the upsampler's is in 48 kHz samples).
    let stated = up.delay() / 6 + down.delay();
    let (lag, err) = (0..200)
        .map(|lag| {
            let err: f64 = (800..7000)
                .map(|i| (f64::from(back[i + lag]) - f64::from(input[i])).powi(2))
                .sum();
            (lag, err)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert_eq!(lag, stated);
    let sig: f64 = (800..7000).map(|i| f64::from(input[i]).powi(2)).sum();
    let snr = 10.0 * (sig / err).log10();
    assert!(snr > 30.0, "round trip SNR {snr:.1} dB");
    assert_eq!(stated, 160, "10 ms (80 samples at 8 kHz) at each stage");
}

#[test]
fn telephone_band_is_flat_at_8k() {
    for (from, to) in [
        (8000u32, 48000u32),
        (48000, 8000),
        (8000, 16000),
        (16000, 8000),
    ] {
        for f in [300.0, 1000.0, 2000.0, 3000.0, 3400.0] {
            let input = tone(from, f, 10000.0, from as usize);
            let mut r = Resampler::new(from, to).unwrap();
            let out = run_frames(&mut r, &input, from as usize / 50);
            let db = level_db(
                &input[from as usize / 10..],
                &out[to as usize / 10..],
                from,
                to,
                f,
            );
            assert!(db.abs() < 0.5, "{from}->{to} at {f} Hz: {db:.2} dB");
        }
    }
}

#[test]
fn shorter_blocks_trade_band_edge_for_latency() {
    let r = Resampler::with_block_ms(8000, 48000, 10).unwrap();
    assert_eq!(r.block_len(), 80);
    assert_eq!(r.delay(), 240);
    assert!(Resampler::with_block_ms(8000, 48000, 0).is_err());
}

#[test]
fn every_call_rate_pair_keeps_a_tone() {
    let rates = [8000u32, 16000, 48000];
    for &from in &rates {
        for &to in &rates {
            let input = tone(from, 1000.0, 12000.0, from as usize);
            let mut r = Resampler::new(from, to).unwrap();
            let out = run_frames(&mut r, &input, from as usize / 50);
            assert_eq!(out.len(), to as usize, "{from}->{to}");
            let skip_in = from as usize / 10;
            let skip_out = to as usize / 10;
            assert_eq!(
                dominant_frequency(&out[skip_out..], to, to / 2 - 100),
                1000,
                "{from}->{to}"
            );
            let db = level_db(&input[skip_in..], &out[skip_out..], from, to, 1000.0);
            assert!(db.abs() < 1.0, "{from}->{to}: {db:.2} dB");
        }
    }
}

#[test]
fn downsampling_removes_content_above_the_new_nyquist() {
    // 6 kHz at 48 kHz cannot exist at 8 kHz: it must not alias to 2 kHz.
    let input = tone(48000, 6000.0, 12000.0, 48000);
    let mut r = Resampler::new(48000, 8000).unwrap();
    let out = run_frames(&mut r, &input, 960);
    let alias = goertzel_power(&out[800..], 8000, 2000.0);
    let orig = goertzel_power(&input[4800..], 48000, 6000.0);
    let db = 10.0 * (alias / orig).log10();
    assert!(db < -40.0, "alias at {db:.1} dB");
}

#[test]
fn frame_by_frame_equals_one_shot() {
    let input: Vec<i16> = tone(16000, 440.0, 9000.0, 16000)
        .iter()
        .zip(tone(16000, 3100.0, 4000.0, 16000))
        .map(|(a, b)| a.saturating_add(b))
        .collect();
    let mut one = Resampler::new(16000, 48000).unwrap();
    let mut whole = Vec::new();
    one.process(&input, &mut whole).unwrap();
    for frame in [320, 160, 77, 1] {
        let mut r = Resampler::new(16000, 48000).unwrap();
        let framed = run_frames(&mut r, &input, frame);
        assert_eq!(framed.len(), whole.len(), "frame {frame}");
        let max_diff = framed
            .iter()
            .zip(&whole)
            .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
            .max()
            .unwrap();
        assert!(max_diff <= 1, "frame {frame}: max difference {max_diff}");
    }
}

#[test]
fn frame_edges_do_not_click() {
    // A pure tone resampled in 20 ms frames has no sample-to-sample jump
    // larger than the tone's own slope allows.
    let input = tone(8000, 500.0, 10000.0, 8000);
    let mut r = Resampler::new(8000, 48000).unwrap();
    let out = run_frames(&mut r, &input, 160);
    let max_step = out[4800..]
        .windows(2)
        .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
        .max()
        .unwrap();
    // Slope bound: 2*pi*f*A/rate = 654 per sample, plus a margin.
    assert!(max_step < 720, "max step {max_step}");
}

#[test]
fn same_rate_passes_through() {
    let mut r = Resampler::new(16000, 16000).unwrap();
    let mut out = Vec::new();
    r.process(&[1, 2, 3], &mut out).unwrap();
    assert_eq!(out, [1, 2, 3]);
    assert_eq!(r.delay(), 0);
}

#[test]
fn odd_rates_work_and_bad_rates_are_refused() {
    let mut r = Resampler::new(44100, 8000).unwrap();
    let input = tone(44100, 1000.0, 10000.0, 44100);
    let mut out = Vec::new();
    r.process(&input, &mut out).unwrap();
    assert_eq!(out.len(), 8000);
    assert_eq!(dominant_frequency(&out[800..], 8000, 3900), 1000);
    assert_eq!(
        Resampler::new(0, 8000).unwrap_err(),
        CodecError::ResampleRates { from: 0, to: 8000 }
    );
    assert!(Resampler::new(8000, 1_000_000).is_err());
}

#[test]
fn reset_forgets_pending_input() {
    let mut r = Resampler::new(8000, 16000).unwrap();
    assert_eq!(r.block_len(), 160);
    let mut out = Vec::new();
    r.process(&[1000; 150], &mut out).unwrap();
    assert!(out.is_empty(), "less than one block in, nothing out");
    r.reset();
    r.process(&[0; 160], &mut out).unwrap();
    assert_eq!(out.len(), 320);
    assert!(
        out.iter().all(|&s| s == 0),
        "no trace of the input before reset"
    );
}
