//! Tone specs and generation: Asterisk syntax, presets, frequencies and
//! cadences measured on the output, frame-by-frame equal to one-shot,
//! finishing of non-looping tones, structured parse errors.

use callwire_media::audio::{
    goertzel_power, Mix, SegmentError, ToneError, ToneGenerator, TonePreset, ToneSegment, ToneSpec,
    ToneStatus,
};
use proptest::prelude::*;

fn generate(spec: &ToneSpec, rate: u32, samples: usize) -> Vec<i16> {
    let mut g = ToneGenerator::new(spec, rate, 8000).unwrap();
    let mut out = Vec::new();
    g.generate(samples, &mut out);
    out
}

/// (on, duration in ms) runs of a signal, judged per 1 ms block.
fn cadence(samples: &[i16], rate: u32) -> Vec<(bool, usize)> {
    let block = rate as usize / 1000;
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for b in samples.chunks(block) {
        let on = b.iter().any(|&s| s != 0);
        match runs.last_mut() {
            Some((state, len)) if *state == on => *len += 1,
            _ => runs.push((on, 1)),
        }
    }
    runs
}

fn power_db(samples: &[i16], rate: u32, freq: f64) -> f64 {
    10.0 * goertzel_power(samples, rate, freq).max(1e-9).log10()
}

#[test]
fn parses_asterisk_syntax() {
    let spec = ToneSpec::parse("440+480/2000,0/4000").unwrap();
    assert_eq!(
        spec.segments,
        vec![
            ToneSegment::new(&[440, 480], Some(2000)),
            ToneSegment::new(&[0], Some(4000)),
        ]
    );
    assert_eq!(spec.loop_start(), Some(0));
    assert!(spec.loops());

    let once = ToneSpec::parse("!350+440/100, !0/100").unwrap();
    assert!(once.segments.iter().all(|s| s.once));
    assert_eq!(once.loop_start(), None);
    assert!(!once.loops());

    // Special information tone then a looping part.
    let sit = ToneSpec::parse("!950/330,!1400/330,!1800/330,0/1000,425/250").unwrap();
    assert_eq!(sit.loop_start(), Some(3));

    let modulated = ToneSpec::parse("425*25/1000").unwrap();
    assert_eq!(modulated.segments[0].mix, Mix::Modulate);
    assert_eq!(modulated.segments[0].freqs, [425, 25]);

    let midi = ToneSpec::parse("M69/100,M60").unwrap();
    assert_eq!(midi.segments[0].freqs, [440]);
    assert_eq!(midi.segments[1].freqs, [262]);
    assert_eq!(midi.segments[1].duration_ms, None);

    // Display gives the syntax back.
    for text in [
        "440+480/2000,0/4000",
        "!350+440/100,!0/100",
        "425*25/1000",
        "425",
    ] {
        assert_eq!(ToneSpec::parse(text).unwrap().to_string(), text);
    }
}

#[test]
fn parse_errors_are_structured() {
    let err = |s: &str| ToneSpec::parse(s).unwrap_err();
    assert_eq!(err(""), ToneError::Empty);
    assert_eq!(err("  "), ToneError::Empty);
    assert_eq!(
        err("440/100,,0/100"),
        ToneError::Segment {
            index: 1,
            kind: SegmentError::Empty
        }
    );
    assert_eq!(
        err("440/100,abc/100"),
        ToneError::Segment {
            index: 1,
            kind: SegmentError::Frequency
        }
    );
    assert_eq!(
        err("440/-5"),
        ToneError::Segment {
            index: 0,
            kind: SegmentError::Duration
        }
    );
    assert_eq!(
        err("440+/100"),
        ToneError::Segment {
            index: 0,
            kind: SegmentError::Frequency
        }
    );
    assert_eq!(
        err("30000"),
        ToneError::Segment {
            index: 0,
            kind: SegmentError::FrequencyTooHigh(30000)
        }
    );
    assert_eq!(
        err("1+2+3+4+5"),
        ToneError::Segment {
            index: 0,
            kind: SegmentError::TooManyFrequencies
        }
    );
    assert_eq!(
        err("425*25*5"),
        ToneError::Segment {
            index: 0,
            kind: SegmentError::Modulation
        }
    );
    assert_eq!(
        err("M128"),
        ToneError::Segment {
            index: 0,
            kind: SegmentError::MidiNote
        }
    );
    assert_eq!(
        err("!"),
        ToneError::Segment {
            index: 0,
            kind: SegmentError::Empty
        }
    );
    assert_eq!(
        err(&"0/1,".repeat(65)),
        ToneError::TooManySegments { max: 64 }
    );
    assert!(matches!(err(&"1".repeat(2000)), ToneError::TooLong { .. }));
    assert!(matches!(
        TonePreset::from_name("bleep"),
        Err(ToneError::UnknownName { .. })
    ));
}

#[test]
fn generator_refuses_what_it_cannot_play() {
    let spec = ToneSpec::parse("5000").unwrap();
    assert_eq!(
        ToneGenerator::new(&spec, 8000, 1000).unwrap_err(),
        ToneError::AboveNyquist {
            freq: 5000,
            rate: 8000
        }
    );
    assert!(ToneGenerator::new(&spec, 16000, 1000).is_ok());
    assert_eq!(
        ToneGenerator::new(&spec, 100, 1000).unwrap_err(),
        ToneError::SampleRate { rate: 100 }
    );
    assert_eq!(
        ToneGenerator::new(&ToneSpec { segments: vec![] }, 8000, 1000).unwrap_err(),
        ToneError::Empty
    );
}

#[test]
fn north_american_ringback_frequencies_and_cadence() {
    for rate in [8000, 16000, 48000] {
        let spec = TonePreset::Ringback.spec();
        assert_eq!(spec, ToneSpec::parse("440+480/2000,0/4000").unwrap());
        let out = generate(&spec, rate, 13 * rate as usize);
        // 2 s on, 4 s off, twice, then on again for the last second.
        assert_eq!(
            cadence(&out, rate),
            vec![
                (true, 2000),
                (false, 4000),
                (true, 2000),
                (false, 4000),
                (true, 1000)
            ],
            "rate {rate}"
        );
        let on = &out[rate as usize / 2..rate as usize * 3 / 2];
        let p440 = power_db(on, rate, 440.0);
        let p480 = power_db(on, rate, 480.0);
        // Each component at amplitude 8000: power 8000^2/2.
        let expect = 10.0 * (8000.0f64 * 8000.0 / 2.0).log10();
        assert!(
            (p440 - expect).abs() < 0.5 && (p480 - expect).abs() < 0.5,
            "{p440} {p480}"
        );
        for other in [350.0, 400.0, 425.0, 520.0, 620.0, 1000.0] {
            assert!(
                power_db(on, rate, other) < expect - 30.0,
                "{other} Hz at rate {rate}"
            );
        }
    }
}

#[test]
fn presets_have_their_frequencies_and_cadences() {
    let rate = 8000;
    let ms = |n: usize| n * rate as usize / 1000;
    type Case = (TonePreset, &'static [f64], Vec<(bool, usize)>);
    let cases: [Case; 8] = [
        (
            TonePreset::Ringback,
            &[440.0, 480.0],
            vec![(true, 2000), (false, 4000), (true, 2000)],
        ),
        (
            TonePreset::RingbackEu,
            &[425.0],
            vec![(true, 1000), (false, 4000), (true, 1000), (false, 2000)],
        ),
        (
            TonePreset::Busy,
            &[480.0, 620.0],
            [(true, 500), (false, 500)].repeat(8),
        ),
        (
            TonePreset::BusyEu,
            &[425.0],
            [(true, 500), (false, 500)].repeat(8),
        ),
        (TonePreset::Dial, &[350.0, 440.0], vec![(true, 8000)]),
        (TonePreset::DialEu, &[425.0], vec![(true, 8000)]),
        (
            TonePreset::Congestion,
            &[480.0, 620.0],
            [(true, 250), (false, 250)].repeat(16),
        ),
        (
            TonePreset::CongestionEu,
            &[425.0],
            [(true, 200), (false, 200)].repeat(20),
        ),
    ];
    for (preset, freqs, expect) in cases {
        assert_eq!(TonePreset::from_name(preset.name()).unwrap(), preset);
        assert_eq!(
            ToneSpec::parse(preset.indication()).unwrap(),
            preset.spec(),
            "{preset:?}"
        );
        let out = generate(&preset.spec(), rate, ms(8000));
        assert_eq!(cadence(&out, rate), expect, "{preset:?}");
        let on = &out[..ms(200)];
        for &f in freqs {
            assert!(power_db(on, rate, f) > 70.0, "{preset:?} lacks {f} Hz");
        }
        let off_band = power_db(on, rate, 1500.0);
        assert!(off_band < 40.0, "{preset:?}: {off_band} dB at 1500 Hz");
    }
}

#[test]
fn frame_by_frame_equals_one_shot() {
    for text in [
        "440+480/2000,0/4000",
        "!350+440/130,!0/70,950/333,0/17",
        "425*25/700,0/300",
        "350+440",
    ] {
        let spec = ToneSpec::parse(text).unwrap();
        for rate in [8000, 16000, 48000] {
            let total = 7 * rate as usize;
            let whole = generate(&spec, rate, total);
            for frame in [rate as usize / 50, 1, 333] {
                let mut g = ToneGenerator::new(&spec, rate, 8000).unwrap();
                let mut out = Vec::new();
                while out.len() < total {
                    let n = frame.min(total - out.len());
                    g.generate(n, &mut out);
                }
                assert_eq!(out, whole, "{text} at {rate} in frames of {frame}");
            }
        }
    }
}

#[test]
fn tone_is_phase_continuous_across_frames() {
    let spec = ToneSpec::parse("1000").unwrap();
    let mut g = ToneGenerator::new(&spec, 8000, 10000).unwrap();
    let mut out = Vec::new();
    for _ in 0..50 {
        g.generate(160, &mut out);
    }
    // Largest step of a 1 kHz sine at 8 kHz, amplitude 10000: 2*sin(pi/8)*A.
    let bound = (2.0 * (std::f64::consts::PI / 8.0).sin() * 10000.0).ceil() as i32 + 1;
    let max_step = out
        .windows(2)
        .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
        .max()
        .unwrap();
    assert!(max_step <= bound, "step {max_step} > {bound}");
    assert!(power_db(&out, 8000, 1000.0) > 10.0 * (10000.0f64 * 10000.0 / 2.0).log10() - 0.1);
}

#[test]
fn non_looping_tone_reports_when_it_finishes() {
    let spec = ToneSpec::parse("!350+440/100,!0/100,!440/50").unwrap();
    let mut g = ToneGenerator::new(&spec, 8000, 8000).unwrap();
    let mut out = Vec::new();
    // 250 ms of tone = 2000 samples.
    for _ in 0..12 {
        assert_eq!(g.generate(160, &mut out), ToneStatus::Playing);
    }
    assert!(!g.is_finished());
    assert_eq!(
        g.generate(160, &mut out),
        ToneStatus::Finished { samples: 80 }
    );
    assert!(g.is_finished());
    assert_eq!(out.len(), 13 * 160, "always the samples asked for");
    assert!(out[2000..].iter().all(|&s| s == 0));
    assert!(out[1600..2000].iter().any(|&s| s != 0));
    assert_eq!(
        g.generate(160, &mut out),
        ToneStatus::Finished { samples: 0 }
    );
    g.restart();
    assert!(!g.is_finished());
    assert_eq!(g.generate(160, &mut out), ToneStatus::Playing);
}

#[test]
fn once_part_then_loop() {
    // 100 ms at 950 Hz once, then 440 on 50 / off 50 forever.
    let spec = ToneSpec::parse("!950/100,440/50,0/50").unwrap();
    let out = generate(&spec, 8000, 8000 * 6 / 10);
    assert_eq!(
        cadence(&out, 8000),
        vec![
            (true, 150),
            (false, 50),
            (true, 50),
            (false, 50),
            (true, 50),
            (false, 50),
            (true, 50),
            (false, 50),
            (true, 50),
            (false, 50)
        ]
    );
    assert!(power_db(&out[..800], 8000, 950.0) > 70.0);
    assert!(power_db(&out[800..1200], 8000, 440.0) > 70.0);
    assert!(power_db(&out[800..1200], 8000, 950.0) < 40.0);
}

#[test]
fn zero_length_segments_are_skipped_and_empty_loops_end() {
    let spec = ToneSpec::parse("440/0,480").unwrap();
    let out = generate(&spec, 8000, 8000);
    assert!(power_db(&out, 8000, 480.0) > 60.0);
    assert!(power_db(&out, 8000, 440.0) < 40.0);
    // A loop of nothing but empty segments finishes at once.
    let spec = ToneSpec::parse("440/0,0/0").unwrap();
    let mut g = ToneGenerator::new(&spec, 8000, 8000).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        g.generate(160, &mut out),
        ToneStatus::Finished { samples: 0 }
    );
    assert_eq!(out, vec![0; 160]);
}

#[test]
fn modulated_tone_has_sidebands() {
    let spec = ToneSpec::parse("425*25").unwrap();
    let out = generate(&spec, 8000, 8000);
    let carrier = power_db(&out, 8000, 425.0);
    let upper = power_db(&out, 8000, 450.0);
    let lower = power_db(&out, 8000, 400.0);
    // 90% AM: each sideband (0.45)^2 of the carrier's power, about -6.9 dB.
    assert!((carrier - upper - 6.9).abs() < 0.5, "{carrier} {upper}");
    assert!((carrier - lower - 6.9).abs() < 0.5, "{carrier} {lower}");
}

proptest! {
    #[test]
    fn arbitrary_specs_parse_or_fail_cleanly(text in "[!0-9M+*/, ]{0,40}") {
        if let Ok(spec) = ToneSpec::parse(&text) {
            if let Ok(mut g) = ToneGenerator::new(&spec, 48000, 1000) {
                let mut out = Vec::new();
                g.generate(960, &mut out);
                prop_assert_eq!(out.len(), 960);
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,100}") {
        let _ = ToneSpec::parse(&text);
    }
}
