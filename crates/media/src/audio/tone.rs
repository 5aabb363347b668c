//! Call progress tones: a tone spec (segments of one or more frequencies
//! with durations, parsed from the Asterisk `indications.conf` syntax),
//! named presets, and a generator of i16 frames at any sample rate.
//!
//! Syntax: comma-separated segments, each `[!]f1[+f2...][/ms]`,
//! `[!]f1*f2[/ms]` (f1 amplitude-modulated by f2) or `[!]Mnote[/ms]` (MIDI
//! note numbers instead of Hz). Frequency `0` is silence; a segment without
//! `/ms` lasts forever. As in Asterisk, segments marked `!` are played once:
//! the tone loops from the first unmarked segment to the end, and a spec
//! whose segments are all marked plays once and finishes.
//!
//! Samples are computed from the position inside the segment (exact
//! integer phase), so output is phase-continuous across frames and
//! generating frame by frame gives exactly the one-shot output.

use std::f64::consts::TAU;

use super::error::{SegmentError, ToneError};

/// Longest spec text accepted, in bytes.
pub const MAX_SPEC_LEN: usize = 1024;
/// Most segments in one spec.
pub const MAX_SEGMENTS: usize = 64;
/// Most frequencies in one segment.
pub const MAX_FREQS: usize = 4;
/// Highest frequency accepted by the parser, in Hz.
pub const MAX_FREQ: u32 = 20_000;
/// Longest segment duration, in milliseconds (one day).
pub const MAX_SEGMENT_MS: u32 = 86_400_000;

/// How the frequencies of a segment combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mix {
    /// The frequencies are added (`f1+f2`).
    #[default]
    Sum,
    /// The first frequency is amplitude-modulated by the second (`f1*f2`),
    /// at 90% depth as in Asterisk.
    Modulate,
}

/// One segment of a tone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ToneSegment {
    /// Frequencies in Hz; empty or all zero for silence.
    pub freqs: Vec<u32>,
    /// How the frequencies combine.
    pub mix: Mix,
    /// Duration in milliseconds; `None` plays forever.
    pub duration_ms: Option<u32>,
    /// Played once only (`!`), outside the loop.
    pub once: bool,
}

impl ToneSegment {
    /// A segment of the given frequencies (summed) for `duration_ms`.
    pub fn new(freqs: &[u32], duration_ms: Option<u32>) -> ToneSegment {
        ToneSegment {
            freqs: freqs.to_vec(),
            mix: Mix::Sum,
            duration_ms,
            once: false,
        }
    }

    /// The same segment, played once.
    pub fn once(mut self) -> ToneSegment {
        self.once = true;
        self
    }
}

/// A tone: segments played in order, looping from the first segment not
/// marked `once` (if any).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ToneSpec {
    /// The segments, in order.
    pub segments: Vec<ToneSegment>,
}

impl ToneSpec {
    /// Parses an Asterisk indications tone string, e.g.
    /// `"440+480/2000,0/4000"` or `"!350+440/100,!0/100"`.
    pub fn parse(text: &str) -> Result<ToneSpec, ToneError> {
        if text.len() > MAX_SPEC_LEN {
            return Err(ToneError::TooLong {
                len: text.len(),
                max: MAX_SPEC_LEN,
            });
        }
        if text.trim().is_empty() {
            return Err(ToneError::Empty);
        }
        let mut segments = Vec::new();
        for (index, part) in text.split(',').enumerate() {
            if index >= MAX_SEGMENTS {
                return Err(ToneError::TooManySegments { max: MAX_SEGMENTS });
            }
            let seg =
                parse_segment(part.trim()).map_err(|kind| ToneError::Segment { index, kind })?;
            segments.push(seg);
        }
        Ok(ToneSpec { segments })
    }

    /// Index of the segment the tone loops back to, `None` when it plays
    /// once (every segment is marked `once`).
    pub fn loop_start(&self) -> Option<usize> {
        self.segments.iter().position(|s| !s.once)
    }

    /// Whether the tone repeats (or has a segment that lasts forever).
    pub fn loops(&self) -> bool {
        self.loop_start().is_some() || self.segments.iter().any(|s| s.duration_ms.is_none())
    }
}

impl std::str::FromStr for ToneSpec {
    type Err = ToneError;
    fn from_str(s: &str) -> Result<ToneSpec, ToneError> {
        ToneSpec::parse(s)
    }
}

impl std::fmt::Display for ToneSpec {
    /// Writes the spec back in the indications syntax.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if seg.once {
                f.write_str("!")?;
            }
            let sep = match seg.mix {
                Mix::Sum => "+",
                Mix::Modulate => "*",
            };
            if seg.freqs.is_empty() {
                f.write_str("0")?;
            }
            for (j, freq) in seg.freqs.iter().enumerate() {
                if j > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{freq}")?;
            }
            if let Some(ms) = seg.duration_ms {
                write!(f, "/{ms}")?;
            }
        }
        Ok(())
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Frequency in Hz of a MIDI note, rounded.
fn midi_to_hz(note: u32) -> u32 {
    (440.0 * 2f64.powf((f64::from(note) - 69.0) / 12.0)).round() as u32
}

fn parse_segment(part: &str) -> Result<ToneSegment, SegmentError> {
    let (once, rest) = match part.strip_prefix('!') {
        Some(r) => (true, r.trim_start()),
        None => (false, part),
    };
    if rest.is_empty() {
        return Err(SegmentError::Empty);
    }
    let (freq_part, duration_ms) = match rest.split_once('/') {
        Some((f, d)) => {
            let ms = parse_u32(d.trim()).ok_or(SegmentError::Duration)?;
            if ms > MAX_SEGMENT_MS {
                return Err(SegmentError::Duration);
            }
            (f.trim(), Some(ms))
        }
        None => (rest, None),
    };
    let (midi, freq_part) = match freq_part
        .strip_prefix('M')
        .or_else(|| freq_part.strip_prefix('m'))
    {
        Some(r) => (true, r),
        None => (false, freq_part),
    };
    let (mix, sep) = if freq_part.contains('*') {
        (Mix::Modulate, '*')
    } else {
        (Mix::Sum, '+')
    };
    let mut freqs = Vec::new();
    for f in freq_part.split(sep) {
        if freqs.len() >= MAX_FREQS {
            return Err(SegmentError::TooManyFrequencies);
        }
        let v = parse_u32(f.trim()).ok_or(SegmentError::Frequency)?;
        let hz = if midi {
            if v > 127 {
                return Err(SegmentError::MidiNote);
            }
            midi_to_hz(v)
        } else {
            v
        };
        if hz > MAX_FREQ {
            return Err(SegmentError::FrequencyTooHigh(hz));
        }
        freqs.push(hz);
    }
    if mix == Mix::Modulate && freqs.len() != 2 {
        return Err(SegmentError::Modulation);
    }
    Ok(ToneSegment {
        freqs,
        mix,
        duration_ms,
        once,
    })
}

/// Named call progress tones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TonePreset {
    /// North American ringback: 440+480 Hz, 2 s on, 4 s off.
    Ringback,
    /// ETSI/European ringback: 425 Hz, 1 s on, 4 s off.
    RingbackEu,
    /// North American busy: 480+620 Hz, 0.5 s on, 0.5 s off.
    Busy,
    /// ETSI/European busy: 425 Hz, 0.5 s on, 0.5 s off.
    BusyEu,
    /// North American dial tone: 350+440 Hz, continuous.
    Dial,
    /// ETSI/European dial tone: 425 Hz, continuous.
    DialEu,
    /// North American congestion (reorder): 480+620 Hz, 0.25 s on/off.
    Congestion,
    /// ETSI/European congestion: 425 Hz, 0.2 s on/off.
    CongestionEu,
}

impl TonePreset {
    /// Every preset.
    pub const ALL: [TonePreset; 8] = [
        TonePreset::Ringback,
        TonePreset::RingbackEu,
        TonePreset::Busy,
        TonePreset::BusyEu,
        TonePreset::Dial,
        TonePreset::DialEu,
        TonePreset::Congestion,
        TonePreset::CongestionEu,
    ];

    /// The preset's name: `ringback`, `ringback-eu`, `busy`, ...
    pub fn name(self) -> &'static str {
        match self {
            TonePreset::Ringback => "ringback",
            TonePreset::RingbackEu => "ringback-eu",
            TonePreset::Busy => "busy",
            TonePreset::BusyEu => "busy-eu",
            TonePreset::Dial => "dial",
            TonePreset::DialEu => "dial-eu",
            TonePreset::Congestion => "congestion",
            TonePreset::CongestionEu => "congestion-eu",
        }
    }

    /// The preset in indications syntax.
    pub fn indication(self) -> &'static str {
        match self {
            TonePreset::Ringback => "440+480/2000,0/4000",
            TonePreset::RingbackEu => "425/1000,0/4000",
            TonePreset::Busy => "480+620/500,0/500",
            TonePreset::BusyEu => "425/500,0/500",
            TonePreset::Dial => "350+440",
            TonePreset::DialEu => "425",
            TonePreset::Congestion => "480+620/250,0/250",
            TonePreset::CongestionEu => "425/200,0/200",
        }
    }

    /// The preset for a name (case-insensitive).
    pub fn from_name(name: &str) -> Result<TonePreset, ToneError> {
        TonePreset::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| ToneError::UnknownName {
                name: name.chars().take(64).collect(),
            })
    }

    /// The preset's spec.
    pub fn spec(self) -> ToneSpec {
        let seg = |freqs: &[u32], ms: Option<u32>| ToneSegment::new(freqs, ms);
        let segments = match self {
            TonePreset::Ringback => vec![seg(&[440, 480], Some(2000)), seg(&[0], Some(4000))],
            TonePreset::RingbackEu => vec![seg(&[425], Some(1000)), seg(&[0], Some(4000))],
            TonePreset::Busy => vec![seg(&[480, 620], Some(500)), seg(&[0], Some(500))],
            TonePreset::BusyEu => vec![seg(&[425], Some(500)), seg(&[0], Some(500))],
            TonePreset::Dial => vec![seg(&[350, 440], None)],
            TonePreset::DialEu => vec![seg(&[425], None)],
            TonePreset::Congestion => vec![seg(&[480, 620], Some(250)), seg(&[0], Some(250))],
            TonePreset::CongestionEu => vec![seg(&[425], Some(200)), seg(&[0], Some(200))],
        };
        ToneSpec { segments }
    }
}

/// Where a [`ToneGenerator`] stands after a call to
/// [`generate`](ToneGenerator::generate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToneStatus {
    /// More tone follows.
    Playing,
    /// A non-looping tone ended; `samples` of the last call were tone, the
    /// rest silence.
    Finished {
        /// Tone samples in the last call.
        samples: usize,
    },
}

/// A segment prepared for generation at one rate.
#[derive(Debug, Clone)]
struct Prepared {
    freqs: Vec<u64>,
    mix: Mix,
    /// Length in samples; `None` forever.
    len: Option<u64>,
}

/// Generates a tone into i16 frames at a fixed sample rate.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    segments: Vec<Prepared>,
    loop_start: Option<usize>,
    rate: u64,
    amplitude: f64,
    /// Current segment.
    index: usize,
    /// Sample position inside the current segment.
    pos: u64,
    finished: bool,
}

impl ToneGenerator {
    /// A generator for `spec` at `rate` Hz. `amplitude` is the peak of each
    /// frequency component (segments of two frequencies peak at up to
    /// twice it; the sum saturates at the i16 range).
    pub fn new(spec: &ToneSpec, rate: u32, amplitude: i16) -> Result<ToneGenerator, ToneError> {
        if !(1000..=192_000).contains(&rate) {
            return Err(ToneError::SampleRate { rate });
        }
        if spec.segments.is_empty() {
            return Err(ToneError::Empty);
        }
        if spec.segments.len() > MAX_SEGMENTS {
            return Err(ToneError::TooManySegments { max: MAX_SEGMENTS });
        }
        let mut segments = Vec::with_capacity(spec.segments.len());
        for (index, seg) in spec.segments.iter().enumerate() {
            if seg.freqs.len() > MAX_FREQS {
                return Err(ToneError::Segment {
                    index,
                    kind: SegmentError::TooManyFrequencies,
                });
            }
            if seg.mix == Mix::Modulate && seg.freqs.len() != 2 {
                return Err(ToneError::Segment {
                    index,
                    kind: SegmentError::Modulation,
                });
            }
            if let Some(&freq) = seg
                .freqs
                .iter()
                .find(|&&f| u64::from(f) * 2 >= u64::from(rate))
            {
                return Err(ToneError::AboveNyquist { freq, rate });
            }
            let len = seg
                .duration_ms
                .map(|ms| u64::from(ms) * u64::from(rate) / 1000);
            segments.push(Prepared {
                freqs: seg.freqs.iter().map(|&f| u64::from(f)).collect(),
                mix: seg.mix,
                len,
            });
        }
        let mut gen = ToneGenerator {
            segments,
            loop_start: spec.loop_start(),
            rate: u64::from(rate),
            amplitude: f64::from(amplitude),
            index: 0,
            pos: 0,
            finished: false,
        };
        gen.skip_empty();
        Ok(gen)
    }

    /// Whether a non-looping tone has played to its end.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Starts the tone again from its first segment.
    pub fn restart(&mut self) {
        self.index = 0;
        self.pos = 0;
        self.finished = false;
        self.skip_empty();
    }

    /// Moves past zero-length segments, wrapping to the loop start, and
    /// marks the tone finished at the end of a non-looping spec.
    fn skip_empty(&mut self) {
        // One pass to the end plus one pass through the loop region is
        // enough to find a playable segment if there is one.
        for _ in 0..2 * self.segments.len() + 2 {
            if self.index >= self.segments.len() {
                match self.loop_start {
                    Some(start) => self.index = start,
                    None => break,
                }
            }
            match self.segments.get(self.index) {
                Some(seg) if seg.len != Some(0) => return,
                _ => {
                    self.index += 1;
                    self.pos = 0;
                }
            }
        }
        self.finished = true;
    }

    fn sample(&self, seg: &Prepared, n: u64) -> i16 {
        let angle = |f: u64| {
            // Exact phase: (f * n) mod rate, so the tone never drifts.
            let k = (f % self.rate) * (n % self.rate) % self.rate;
            TAU * k as f64 / self.rate as f64
        };
        let v = match seg.mix {
            Mix::Sum => seg
                .freqs
                .iter()
                .filter(|&&f| f != 0)
                .map(|&f| angle(f).sin())
                .sum::<f64>(),
            Mix::Modulate => match seg.freqs.as_slice() {
                [carrier, modulator] => {
                    angle(*carrier).sin() * (1.0 + 0.9 * angle(*modulator).sin()) / 1.9
                }
                _ => 0.0,
            },
        };
        // `as` saturates.
        (v * self.amplitude).round() as i16
    }

    /// Appends exactly `samples` samples to `out`: the tone, then silence
    /// once a non-looping tone has ended.
    pub fn generate(&mut self, samples: usize, out: &mut Vec<i16>) -> ToneStatus {
        out.reserve(samples);
        let mut produced = 0;
        while produced < samples && !self.finished {
            let Some(seg) = self.segments.get(self.index) else {
                self.finished = true;
                break;
            };
            let left_in_seg = seg.len.map_or(u64::MAX, |len| len.saturating_sub(self.pos));
            let n = (samples - produced).min(usize::try_from(left_in_seg).unwrap_or(usize::MAX));
            for i in 0..n as u64 {
                out.push(self.sample(seg, self.pos + i));
            }
            produced += n;
            self.pos += n as u64;
            if seg.len.is_some_and(|len| self.pos >= len) {
                self.index += 1;
                self.pos = 0;
                self.skip_empty();
            }
        }
        out.resize(out.len() + (samples - produced), 0);
        if self.finished {
            ToneStatus::Finished { samples: produced }
        } else {
            ToneStatus::Playing
        }
    }
}
