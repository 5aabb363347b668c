//! In-band detector and generator: every digit, noise, Q.24 timing, twist and
//! frequency limits, and talk-off with speech-like and music-like signals.

use std::f64::consts::PI;
use std::time::{Duration, Instant};

use callwire_media::dtmf::inband::{Detector, Generator, DBM0_PEAK};
use callwire_media::dtmf::{Digit, DigitEvent, Method};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Small deterministic PRNG (xorshift64*), so tests need no extra crate.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Standard normal (Box-Muller).
    fn gauss(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }
}

fn amp(dbm0: f64) -> f64 {
    DBM0_PEAK * 10f64.powf(dbm0 / 20.0)
}

/// Runs the detector over `samples` in frames of `frame` samples and flushes.
fn detect_frames(rate: u32, samples: &[i16], frame: usize) -> Vec<DigitEvent> {
    let mut det = Detector::new(rate).unwrap();
    let t0 = Instant::now();
    let mut out = Vec::new();
    for (i, chunk) in samples.chunks(frame).enumerate() {
        let at = t0 + Duration::from_secs_f64((i * frame) as f64 / f64::from(rate));
        det.process(at, chunk, &mut out);
    }
    det.flush(&mut out);
    out
}

fn detect(rate: u32, samples: &[i16]) -> Vec<DigitEvent> {
    detect_frames(rate, samples, (rate / 50) as usize)
}

fn digits(events: &[DigitEvent]) -> String {
    events.iter().map(|e| e.digit.as_char()).collect()
}

/// Everything a generator plays, with `lead` of silence before.
fn render(mut gen: Generator, rate: u32, lead: Duration) -> Vec<i16> {
    let mut out = vec![0i16; (lead.as_secs_f64() * f64::from(rate)) as usize];
    let mut frame = vec![0i16; (rate / 50) as usize];
    loop {
        let done = gen.fill(&mut frame);
        out.extend_from_slice(&frame);
        if done {
            break;
        }
    }
    // Trailing silence so that the last digit ends by itself.
    out.resize(out.len() + (rate / 10) as usize, 0);
    out
}

fn sequence(rate: u32, digits: &str, on: Duration, off: Duration) -> Vec<i16> {
    let mut gen = Generator::new(rate).unwrap();
    gen.queue(digits, on, off).unwrap();
    render(gen, rate, MS(40))
}

/// A dual tone as f64 samples: `low`/`high` Hz at the given dBm0 levels.
fn dual(rate: u32, low: f64, high: f64, low_db: f64, high_db: f64, dur: Duration) -> Vec<f64> {
    let n = (dur.as_secs_f64() * f64::from(rate)).round() as usize;
    let (al, ah) = (amp(low_db), amp(high_db));
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            al * (2.0 * PI * low * t).sin() + ah * (2.0 * PI * high * t).sin()
        })
        .collect()
}

fn silence(rate: u32, dur: Duration) -> Vec<f64> {
    vec![0.0; (dur.as_secs_f64() * f64::from(rate)).round() as usize]
}

fn to_pcm(x: &[f64]) -> Vec<i16> {
    x.iter()
        .map(|v| v.round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

fn with_noise(x: &[f64], snr_db: f64, seed: u64) -> Vec<f64> {
    let power = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let sigma = (power / 10f64.powf(snr_db / 10.0)).sqrt();
    let mut rng = Rng::new(seed);
    x.iter().map(|v| v + sigma * rng.gauss()).collect()
}

fn concat(parts: &[Vec<f64>]) -> Vec<f64> {
    parts.concat()
}

#[test]
fn every_digit_at_8k() {
    for d in Digit::ALL {
        let pcm = sequence(8000, &d.to_string(), MS(100), MS(100));
        let ev = detect(8000, &pcm);
        assert_eq!(digits(&ev), d.to_string(), "digit {d}");
        assert_eq!(ev[0].source, Method::Inband);
        let ms = ev[0].duration.as_millis() as i64;
        assert!((90..=115).contains(&ms), "digit {d}: duration {ms} ms");
    }
}

#[test]
fn every_digit_at_wideband_rates() {
    for rate in [16000, 24000, 32000, 48000] {
        for d in Digit::ALL {
            let pcm = sequence(rate, &d.to_string(), MS(80), MS(80));
            assert_eq!(
                digits(&detect(rate, &pcm)),
                d.to_string(),
                "digit {d} at {rate} Hz"
            );
        }
        let (lo, hi) = Digit::Five.frequencies();
        let short = concat(&[
            silence(rate, MS(30)),
            dual(rate, lo, hi, -7.0, -5.0, MS(20)),
            silence(rate, MS(80)),
        ]);
        assert_eq!(
            digits(&detect(rate, &to_pcm(&short))),
            "",
            "20 ms at {rate} Hz"
        );
        let off = concat(&[
            silence(rate, MS(30)),
            dual(rate, lo * 1.05, hi, -7.0, -5.0, MS(80)),
            silence(rate, MS(80)),
        ]);
        assert_eq!(
            digits(&detect(rate, &to_pcm(&off))),
            "",
            "5 % off at {rate} Hz"
        );
    }
}

#[test]
fn start_time_and_duration() {
    // 300 ms of silence, then 120 ms of '5'.
    let x = concat(&[
        silence(8000, MS(300)),
        dual(8000, 770.0, 1336.0, -7.0, -5.0, MS(120)),
        silence(8000, MS(200)),
    ]);
    let t0 = Instant::now();
    let mut det = Detector::new(8000).unwrap();
    let mut out = Vec::new();
    for (i, chunk) in to_pcm(&x).chunks(160).enumerate() {
        det.process(t0 + MS(20 * i as u64), chunk, &mut out);
    }
    assert_eq!(digits(&out), "5");
    let start = out[0].start.duration_since(t0).as_millis() as i64;
    assert!((290..=305).contains(&start), "start at {start} ms");
    let dur = out[0].duration.as_millis() as i64;
    assert!((115..=135).contains(&dur), "duration {dur} ms");
}

#[test]
fn frame_size_does_not_matter() {
    let pcm = sequence(8000, "159#", MS(70), MS(60));
    let reference = detect_frames(8000, &pcm, 160);
    assert_eq!(digits(&reference), "159#");
    for frame in [1, 7, 80, 240, 333, 4000] {
        let ev = detect_frames(8000, &pcm, frame);
        assert_eq!(digits(&ev), "159#", "frame {frame}");
        for (a, b) in ev.iter().zip(&reference) {
            assert_eq!(a.duration, b.duration, "frame {frame}");
        }
    }
}

#[test]
fn detected_with_noise_at_20db_snr() {
    for seed in 1..=3 {
        for d in Digit::ALL {
            let (lo, hi) = d.frequencies();
            let x = concat(&[
                silence(8000, MS(50)),
                dual(8000, lo, hi, -10.0, -8.0, MS(60)),
                silence(8000, MS(60)),
            ]);
            let noisy = to_pcm(&with_noise(
                &x,
                20.0,
                seed * 100 + u64::from(d.event_code()),
            ));
            assert_eq!(
                digits(&detect(8000, &noisy)),
                d.to_string(),
                "digit {d} seed {seed}"
            );
        }
    }
}

#[test]
fn short_tones_rejected_long_enough_accepted() {
    // Every alignment of the tone against the analysis windows.
    for shift in (0..51).step_by(5) {
        let lead = silence(8000, MS(30));
        let pad = vec![0.0; shift];
        let tone = |ms| dual(8000, 852.0, 1477.0, -7.0, -5.0, MS(ms));
        let run = |ms| {
            let x = concat(&[lead.clone(), pad.clone(), tone(ms), silence(8000, MS(100))]);
            digits(&detect(8000, &to_pcm(&x)))
        };
        assert_eq!(run(20), "", "20 ms, shift {shift}");
        assert_eq!(run(22), "", "22 ms, shift {shift}");
        assert_eq!(run(40), "9", "40 ms, shift {shift}");
        assert_eq!(run(50), "9", "50 ms, shift {shift}");
    }
}

#[test]
fn twist_limits() {
    let run = |low_db: f64, high_db: f64| {
        let x = concat(&[
            silence(8000, MS(30)),
            dual(8000, 941.0, 1633.0, low_db, high_db, MS(80)),
            silence(8000, MS(80)),
        ]);
        digits(&detect(8000, &to_pcm(&x)))
    };
    // Normal twist: the high tone weaker.
    assert_eq!(run(-4.0, -10.0), "D", "6 dB normal twist");
    assert_eq!(run(-4.0, -12.0), "D", "8 dB normal twist");
    assert_eq!(run(-4.0, -16.0), "", "12 dB normal twist");
    // Reverse twist: the high tone stronger.
    assert_eq!(run(-10.0, -7.0), "D", "3 dB reverse twist");
    assert_eq!(run(-10.0, -6.0), "D", "4 dB reverse twist");
    assert_eq!(run(-10.0, -4.0), "", "6 dB reverse twist");
    assert_eq!(run(-16.0, -4.0), "", "12 dB reverse twist");
}

#[test]
fn frequency_tolerance() {
    let run = |low: f64, high: f64| {
        let x = concat(&[
            silence(8000, MS(30)),
            dual(8000, low, high, -7.0, -5.0, MS(80)),
            silence(8000, MS(80)),
        ]);
        digits(&detect(8000, &to_pcm(&x)))
    };
    for d in Digit::ALL {
        let (lo, hi) = d.frequencies();
        let want = d.to_string();
        for k in [-0.015, 0.015] {
            assert_eq!(run(lo * (1.0 + k), hi), want, "{d}: low {k:+}");
            assert_eq!(run(lo, hi * (1.0 + k)), want, "{d}: high {k:+}");
            assert_eq!(run(lo * (1.0 + k), hi * (1.0 + k)), want, "{d}: both {k:+}");
        }
        for k in [-0.05, -0.035, 0.035, 0.05] {
            assert_eq!(run(lo * (1.0 + k), hi), "", "{d}: low {k:+}");
            assert_eq!(run(lo, hi * (1.0 + k)), "", "{d}: high {k:+}");
        }
    }
}

#[test]
fn level_limits() {
    let run = |db: f64| {
        let x = concat(&[
            silence(8000, MS(30)),
            dual(8000, 697.0, 1209.0, db, db, MS(80)),
            silence(8000, MS(80)),
        ]);
        digits(&detect(8000, &to_pcm(&x)))
    };
    assert_eq!(run(0.0), "1");
    assert_eq!(run(-30.0), "1");
    assert_eq!(run(-45.0), "");
}

#[test]
fn dropout_bridged_pause_separates() {
    let tone = |ms| dual(8000, 770.0, 1477.0, -7.0, -5.0, MS(ms));
    for gap in [5, 10, 20] {
        let x = concat(&[
            silence(8000, MS(30)),
            tone(60),
            silence(8000, MS(gap)),
            tone(60),
            silence(8000, MS(100)),
        ]);
        assert_eq!(
            digits(&detect(8000, &to_pcm(&x))),
            "6",
            "drop-out of {gap} ms"
        );
    }
    for gap in [40, 60] {
        let x = concat(&[
            silence(8000, MS(30)),
            tone(60),
            silence(8000, MS(gap)),
            tone(60),
            silence(8000, MS(100)),
        ]);
        assert_eq!(
            digits(&detect(8000, &to_pcm(&x))),
            "66",
            "pause of {gap} ms"
        );
    }
}

#[test]
fn full_sequence_with_60ms_gaps() {
    let seq = "1234567890*#ABCD";
    for on in [50, 70, 100] {
        let pcm = sequence(8000, seq, MS(on), MS(60));
        assert_eq!(digits(&detect(8000, &pcm)), seq, "{on} ms tones");
        let pcm = sequence(16000, seq, MS(on), MS(60));
        assert_eq!(digits(&detect(16000, &pcm)), seq, "{on} ms tones at 16 kHz");
    }
    // With noise too.
    let pcm = sequence(8000, seq, MS(70), MS(60));
    let x: Vec<f64> = pcm.iter().map(|&s| f64::from(s)).collect();
    for seed in 1..=3 {
        let noisy = to_pcm(&with_noise(&x, 25.0, seed));
        assert_eq!(digits(&detect(8000, &noisy)), seq, "seed {seed}");
    }
}

/// Speech-like signal: harmonics of a pitch gliding between 100 and 250 Hz,
/// shaped by three moving formants, in syllables separated by short pauses
/// with unvoiced noise, plus background noise.
fn speech_like(rate: u32, seconds: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let fs = f64::from(rate);
    let n = (seconds * fs) as usize;
    let mut out = Vec::with_capacity(n);
    let mut theta = 0.0f64;
    let mut f0 = rng.range(100.0, 250.0);
    let mut f0_target = rng.range(100.0, 250.0);
    let mut formants = [
        rng.range(300.0, 850.0),
        rng.range(900.0, 2300.0),
        rng.range(2400.0, 3200.0),
    ];
    let mut targets = formants;
    let mut syllable_left = 0usize;
    let mut voiced = false;
    let mut gain = 0.0;
    let mut amps: Vec<f64> = Vec::new();
    for i in 0..n {
        if syllable_left == 0 {
            voiced = !voiced || rng.unit() < 0.3;
            let ms = if voiced {
                rng.range(80.0, 300.0)
            } else {
                rng.range(30.0, 150.0)
            };
            syllable_left = (ms / 1000.0 * fs) as usize;
            f0_target = rng.range(100.0, 250.0);
            targets = [
                rng.range(300.0, 850.0),
                rng.range(900.0, 2300.0),
                rng.range(2400.0, 3200.0),
            ];
            gain = rng.range(0.5, 1.0);
        }
        syllable_left -= 1;
        // Glide pitch and formants towards their targets (about 50 ms).
        let a = 1.0 / (0.05 * fs);
        f0 += (f0_target - f0) * a;
        for (f, t) in formants.iter_mut().zip(targets) {
            *f += (t - *f) * a;
        }
        // Recompute harmonic amplitudes every 2 ms.
        if i % (rate as usize / 500) == 0 {
            amps.clear();
            let mut k = 1.0;
            while k * f0 < fs / 2.0 - 100.0 {
                let f = k * f0;
                let mut a = 1.0 / k; // glottal tilt
                let mut res = 0.0;
                for (fi, bw) in formants.iter().zip([90.0, 120.0, 180.0]) {
                    let r = f / fi;
                    res += 1.0 / ((1.0 - r * r).powi(2) + (f * bw / (fi * fi)).powi(2)).sqrt();
                }
                a *= res;
                amps.push(a);
                k += 1.0;
            }
        }
        theta += 2.0 * PI * f0 / fs;
        if theta > 2.0 * PI * 1000.0 {
            theta -= 2.0 * PI * 1000.0;
        }
        let v = if voiced {
            gain * amps
                .iter()
                .enumerate()
                .map(|(k, a)| a * ((k + 1) as f64 * theta).sin())
                .sum::<f64>()
        } else {
            0.3 * gain * rng.gauss()
        };
        out.push(v);
    }
    // Normalise to about -15 dBm0 average power, add noise at 30 dB SNR.
    let power = out.iter().map(|v| v * v).sum::<f64>() / n as f64;
    let target = amp(-15.0).powi(2) / 2.0;
    let scale = (target / power).sqrt();
    for v in &mut out {
        *v *= scale;
    }
    with_noise(&out, 30.0, seed ^ 0xABCD)
}

#[test]
fn speech_like_signal_gives_no_digits() {
    for seed in 1..=8 {
        let x = speech_like(8000, 6.0, seed);
        let ev = detect(8000, &to_pcm(&x));
        assert!(ev.is_empty(), "seed {seed}: talk-off {:?}", digits(&ev));
    }
    for seed in 20..=22 {
        let x = speech_like(16000, 4.0, seed);
        let ev = detect(16000, &to_pcm(&x));
        assert!(
            ev.is_empty(),
            "16 kHz seed {seed}: talk-off {:?}",
            digits(&ev)
        );
    }
}

/// Chords of notes with harmonics (amplitude 1/k, or 1/k² for mellow tones).
fn music_like(rate: u32, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let fs = f64::from(rate);
    // MIDI note numbers, including F5 + F#6 (698 + 1480 Hz, near DTMF '3').
    let chords: &[&[u8]] = &[
        &[60, 64, 67],
        &[77, 90],
        &[65, 69, 72, 77],
        &[79, 84],
        &[76, 83, 88],
        &[81, 88, 93],
        &[77, 86],
        &[78, 91],
        &[57, 64, 69, 73, 76],
    ];
    let mut out = Vec::new();
    for _round in 0..2 {
        for chord in chords {
            let mellow = rng.unit() < 0.5;
            let len = (rng.range(0.25, 0.6) * fs) as usize;
            let start = out.len();
            out.resize(start + len, 0.0);
            for &note in chord.iter() {
                let f = 440.0 * 2f64.powf((f64::from(note) - 69.0) / 12.0);
                let phase = rng.range(0.0, 2.0 * PI);
                let mut k = 1.0;
                while k * f < fs / 2.0 && k <= 8.0 {
                    let a = if mellow { 1.0 / (k * k) } else { 1.0 / k };
                    for (i, v) in out[start..].iter_mut().enumerate() {
                        let t = i as f64 / fs;
                        let env = (1.0 - (-t * 200.0).exp()) * (-t * 1.5).exp();
                        *v += 3000.0 * a * env * (2.0 * PI * k * f * t + k * phase).sin();
                    }
                    k += 1.0;
                }
            }
        }
    }
    out
}

#[test]
fn music_like_chords_give_no_digits() {
    for seed in 1..=4 {
        let x = music_like(8000, seed);
        let ev = detect(8000, &to_pcm(&x));
        assert!(ev.is_empty(), "seed {seed}: {:?}", digits(&ev));
    }
}

#[test]
fn generator_is_phase_continuous_across_frames() {
    let make = || {
        let mut g = Generator::new(8000).unwrap();
        g.queue("1#", MS(50), MS(20)).unwrap();
        g
    };
    let mut whole = vec![0i16; 8000];
    assert!(make().fill(&mut whole));
    for frame in [1usize, 7, 160, 333] {
        let mut g = make();
        let mut pieces = Vec::new();
        let mut buf = vec![0i16; frame];
        while pieces.len() < whole.len() {
            g.fill(&mut buf);
            pieces.extend_from_slice(&buf);
        }
        assert_eq!(&pieces[..whole.len()], &whole[..], "frame {frame}");
    }
    // 50 ms tone then 20 ms silence, twice: 560 samples, then zeros.
    assert!(whole[..400].iter().any(|&s| s != 0));
    assert!(whole[400..560].iter().all(|&s| s == 0));
    assert!(whole[560..960].iter().any(|&s| s != 0));
    assert!(whole[1120..].iter().all(|&s| s == 0));
    // The default levels: peak near -7 dBm0 + -5 dBm0 amplitudes.
    let peak = whole.iter().map(|&s| i32::from(s).abs()).max().unwrap();
    let expected = amp(-7.0) + amp(-5.0);
    assert!(
        (peak as f64) <= expected + 1.0 && (peak as f64) > expected * 0.9,
        "peak {peak}"
    );
}

#[test]
fn generator_finished_flag_and_pause() {
    let mut g = Generator::new(8000).unwrap();
    assert!(g.is_finished());
    g.queue("1,2", MS(100), MS(50)).unwrap();
    assert!(!g.is_finished());
    let mut frame = [0i16; 160];
    let mut frames = 0;
    while !g.fill(&mut frame) {
        frames += 1;
        assert!(frames < 100);
    }
    // 100+50 + 500 + 100+50 ms = 800 ms = 40 frames.
    assert_eq!(frames + 1, 40);
    assert!(g.queue("12X", MS(100), MS(50)).is_err());
    assert!(g.is_finished());
}

#[test]
fn unsupported_rates_rejected() {
    assert!(Detector::new(11025).is_err());
    assert!(Detector::new(96000).is_err());
    assert!(Detector::new(0).is_err());
    assert!(Generator::new(4000).is_err());
}
