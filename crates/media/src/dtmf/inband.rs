//! In-band DTMF: a tone detector for received audio and a tone generator for
//! sending, both on 16-bit linear PCM.
//!
//! # Detector
//!
//! The detector runs for every call on every frame, so it is built to be
//! cheap: eight Goertzel filters with precomputed coefficients over
//! half-windows of 51 samples (6.4 ms at 8 kHz), combined into 102-sample
//! (12.75 ms) windows that overlap by half. That is 8 multiply-adds per sample
//! plus a little work every 6.4 ms; nothing is allocated after
//! [`Detector::new`]. Sample rates that are multiples of 8000 Hz up to 48 kHz
//! are handled directly with windows of the same length in time (the cost
//! grows with the rate; resample to 8 kHz first if that matters).
//!
//! A window is *valid* for a digit when all of these hold (ITU-T Q.24 figures
//! in brackets, where it gives them):
//!
//! - the strongest low-group and high-group tones are each at least
//!   [`MIN_LEVEL_DBM0`];
//! - twist: the low tone is at most 9 dB above the high one and the high tone
//!   at most 5 dB above the low one [accept normal twist up to 8 dB and
//!   reverse twist up to 4 dB; 1 dB of margin covers the filter's loss at
//!   ±1.5 % off frequency];
//! - each tone is at least 8 dB above every other tone of its group;
//! - the two tones hold at least 70 % of the window's energy (speech and
//!   music spread theirs over many frequencies);
//! - the second harmonic of the high tone is at least 15 dB below it. (The
//!   low tones' harmonics, 1394-1882 Hz, lie within one filter width of the
//!   high-group tones, so a 102-sample window cannot measure them.)
//!
//! A *hit* is a valid window whose predecessor was valid for the same digit
//! and whose phase advance since that predecessor puts both tones within
//! 2.5 % of their nominal frequencies [accept ±1.5 %, reject ±3.5 %]. With
//! 6.4 ms between windows the phase step is unambiguous up to ±78 Hz.
//!
//! Timing: a digit starts after 3 consecutive hits (4 valid windows, about
//! 32 ms of tone; a tone of 40 ms always gives them, a tone of 23 ms cannot,
//! since a window less than 70 % filled by the tone fails the energy test)
//! [accept ≥ 40 ms, reject < 23 ms]. It ends after 6 windows without a hit:
//! a gap of about 30 ms or more. Drop-outs of up to 20 ms are bridged, a pause
//! of 40 ms always separates two digits [interruptions ≤ 10 ms bridged, pauses
//! ≥ 40 ms recognised]. The digit is reported once, when it ends, with its
//! duration measured to within about 10 ms.
//!
//! # Generator
//!
//! [`Generator`] plays digit sequences as tone pairs at -7 dBm0 (low) and
//! -5 dBm0 (high) by default, with the phase carried across calls of
//! [`Generator::fill`] so that frames of any size join without clicks.
//!
//! Levels: 0 dBm0 is taken as a sine of peak amplitude [`DBM0_PEAK`] in 16-bit
//! PCM, the G.711 convention (a full-scale sine is +3.17 dBm0).

use std::collections::VecDeque;
use std::f64::consts::PI;
use std::time::{Duration, Instant};

use super::{duration_to_samples, parse_send_sequence, samples_to_duration};
use super::{Digit, DigitEvent, DtmfError, Method, SendItem, COL_FREQS, COMMA_PAUSE, ROW_FREQS};

/// Peak amplitude in 16-bit linear PCM of a sine at 0 dBm0.
pub const DBM0_PEAK: f64 = 22_739.0;

/// Weakest tone the detector accepts, per tone, in dBm0.
pub const MIN_LEVEL_DBM0: f64 = -36.0;

/// Default generator level of the low-group tone, dBm0.
pub const DEFAULT_LOW_LEVEL_DBM0: f64 = -7.0;
/// Default generator level of the high-group tone, dBm0.
pub const DEFAULT_HIGH_LEVEL_DBM0: f64 = -5.0;

const NORMAL_TWIST_DB: f64 = 9.0;
const REVERSE_TWIST_DB: f64 = 5.0;
const RELATIVE_PEAK_DB: f64 = 8.0;
const TONE_TO_TOTAL: f32 = 0.70;
const HARMONIC_DB: f64 = 15.0;
const FREQ_TOLERANCE: f64 = 0.025;
const HITS_TO_START: u32 = 3;
const MISSES_TO_END: u32 = 6;

/// Half-window length at 8 kHz, in samples.
const HALF_AT_8K: u32 = 51;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Complex {
    re: f32,
    im: f32,
}

impl Complex {
    fn from_angle(angle: f64) -> Complex {
        Complex {
            re: angle.cos() as f32,
            im: angle.sin() as f32,
        }
    }

    fn mul(self, o: Complex) -> Complex {
        Complex {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }

    fn add(self, o: Complex) -> Complex {
        Complex {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }

    fn conj(self) -> Complex {
        Complex {
            re: self.re,
            im: -self.im,
        }
    }

    fn norm_sqr(self) -> f32 {
        self.re * self.re + self.im * self.im
    }
}

/// Precomputed constants of one Goertzel filter.
#[derive(Debug, Clone, Copy, Default)]
struct Filter {
    /// 2 cos ω.
    coef: f32,
    /// cos ω, sin ω: turn the two state values into the complex output.
    cos: f32,
    sin: f32,
    /// e^{-jω(L-1)}: refers a half-window's output to its first sample.
    post: Complex,
    /// e^{-jωL}: shifts by one half-window.
    rot: Complex,
    /// Largest phase error over one half-window within the frequency tolerance.
    max_phase: f32,
}

impl Filter {
    fn new(freq: f64, sample_rate: u32, half: usize) -> Filter {
        let w = 2.0 * PI * freq / f64::from(sample_rate);
        let l = half as f64;
        Filter {
            coef: (2.0 * w.cos()) as f32,
            cos: w.cos() as f32,
            sin: w.sin() as f32,
            post: Complex::from_angle(-w * (l - 1.0)),
            rot: Complex::from_angle(-w * l),
            max_phase: (2.0 * PI * freq * FREQ_TOLERANCE * l / f64::from(sample_rate)) as f32,
        }
    }

    /// |Σ x[n] e^{-jωn}|² over `parts` taken as one sequence.
    fn power(&self, parts: [&[f32]; 2]) -> f32 {
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for &x in parts.into_iter().flatten() {
            let s0 = x + self.coef * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - self.coef * s1 * s2
    }
}

/// A digit being confirmed: consecutive hits so far.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    digit: Digit,
    run: u32,
    start: u64,
}

/// A digit accepted and not yet ended.
#[derive(Debug, Clone, Copy)]
struct Tone {
    digit: Digit,
    start: u64,
    start_at: Instant,
    end: u64,
    misses: u32,
}

/// In-band DTMF detector. See the module docs for the method and limits.
#[derive(Debug, Clone)]
pub struct Detector {
    sample_rate: u32,
    half: usize,
    filters: [Filter; 8],
    harmonics: [Filter; 4],
    /// 2/N: turns |DFT|² into the energy of a tone in the window.
    scale: f32,
    min_energy: f32,
    normal_twist: f32,
    reverse_twist: f32,
    relative_peak: f32,
    harmonic: f32,
    /// Samples of the half-window being filled and of the previous one.
    cur: Vec<f32>,
    prev: Vec<f32>,
    prev_dft: Option<[Complex; 8]>,
    prev_energy: f32,
    prev_window: Option<[Complex; 8]>,
    prev_valid: Option<(usize, usize)>,
    /// Samples consumed since creation.
    pos: u64,
    candidate: Option<Candidate>,
    tone: Option<Tone>,
}

impl Detector {
    /// A detector for audio at `sample_rate` Hz: 8000, 16000, 24000, 32000,
    /// 40000 or 48000.
    pub fn new(sample_rate: u32) -> Result<Detector, DtmfError> {
        if !matches!(sample_rate, 8000 | 16000 | 24000 | 32000 | 40000 | 48000) {
            return Err(DtmfError::UnsupportedRate { rate: sample_rate });
        }
        let half = (HALF_AT_8K * (sample_rate / 8000)) as usize;
        let window = (2 * half) as f64;
        let mut filters = [Filter::default(); 8];
        for (f, freq) in filters
            .iter_mut()
            .zip(ROW_FREQS.iter().chain(COL_FREQS.iter()))
        {
            *f = Filter::new(*freq, sample_rate, half);
        }
        let mut harmonics = [Filter::default(); 4];
        for (f, freq) in harmonics.iter_mut().zip(COL_FREQS.iter()) {
            *f = Filter::new(2.0 * freq, sample_rate, half);
        }
        let min_amp = DBM0_PEAK * db_to_amplitude(MIN_LEVEL_DBM0);
        Ok(Detector {
            sample_rate,
            half,
            filters,
            harmonics,
            scale: (2.0 / window) as f32,
            min_energy: (min_amp * min_amp * window / 2.0) as f32,
            normal_twist: db_to_power(NORMAL_TWIST_DB),
            reverse_twist: db_to_power(REVERSE_TWIST_DB),
            relative_peak: db_to_power(RELATIVE_PEAK_DB),
            harmonic: db_to_power(HARMONIC_DB),
            cur: Vec::with_capacity(half),
            prev: Vec::with_capacity(half),
            prev_dft: None,
            prev_energy: 0.0,
            prev_window: None,
            prev_valid: None,
            pos: 0,
            candidate: None,
            tone: None,
        })
    }

    /// The sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Feeds consecutive audio samples (any number) whose first sample was
    /// captured at `now`, and appends the digits that ended to `out`.
    pub fn process(&mut self, now: Instant, samples: &[i16], out: &mut Vec<DigitEvent>) {
        let reference = (now, self.pos);
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (self.half - self.cur.len()).min(rest.len());
            let (head, tail) = rest.split_at(take);
            self.cur.extend(head.iter().map(|&s| f32::from(s)));
            self.pos += take as u64;
            rest = tail;
            if self.cur.len() >= self.half {
                self.end_half(reference, out);
            }
        }
    }

    /// Reports a digit still sounding (end of the stream) and forgets any
    /// partial state. Audio fed afterwards is treated as a new stream.
    pub fn flush(&mut self, out: &mut Vec<DigitEvent>) {
        if let Some(tone) = self.tone.take() {
            out.push(self.event(tone));
        }
        self.candidate = None;
        self.cur.clear();
        self.prev.clear();
        self.prev_dft = None;
        self.prev_window = None;
        self.prev_valid = None;
    }

    /// One half-window is complete: analyse the window ending here.
    fn end_half(&mut self, reference: (Instant, u64), out: &mut Vec<DigitEvent>) {
        let (dft, energy) = self.half_dft();
        if let Some(prev_dft) = self.prev_dft {
            let mut window = [Complex::default(); 8];
            for ((w, f), (p, c)) in window
                .iter_mut()
                .zip(&self.filters)
                .zip(prev_dft.iter().zip(&dft))
            {
                *w = p.add(f.rot.mul(*c));
            }
            let valid = self.classify(&window, self.prev_energy + energy);
            let hit = match (valid, self.prev_valid, self.prev_window) {
                (Some(rc), Some(prev_rc), Some(prev_window)) if rc == prev_rc => self
                    .frequencies_ok(&prev_window, &window, rc)
                    .then(|| Digit::at(rc.0, rc.1)),
                _ => None,
            };
            self.step(hit, reference, out);
            self.prev_valid = valid;
            self.prev_window = Some(window);
        }
        self.prev_dft = Some(dft);
        self.prev_energy = energy;
        std::mem::swap(&mut self.prev, &mut self.cur);
        self.cur.clear();
    }

    /// Goertzel over the current half-window: each filter's DFT value referred
    /// to the half-window's first sample, and the energy.
    fn half_dft(&self) -> ([Complex; 8], f32) {
        let mut coef = [0.0f32; 8];
        for (c, f) in coef.iter_mut().zip(&self.filters) {
            *c = f.coef;
        }
        let mut s1 = [0.0f32; 8];
        let mut s2 = [0.0f32; 8];
        let mut energy = 0.0f32;
        for &x in &self.cur {
            energy += x * x;
            for k in 0..8 {
                let s0 = x + coef[k] * s1[k] - s2[k];
                s2[k] = s1[k];
                s1[k] = s0;
            }
        }
        let mut dft = [Complex::default(); 8];
        for (k, (d, f)) in dft.iter_mut().zip(&self.filters).enumerate() {
            let y = Complex {
                re: s1[k] - f.cos * s2[k],
                im: f.sin * s2[k],
            };
            *d = f.post.mul(y);
        }
        (dft, energy)
    }

    /// The `(row, column)` a window is valid for, if any.
    fn classify(&self, window: &[Complex; 8], total: f32) -> Option<(usize, usize)> {
        let mut e = [0.0f32; 8];
        for (e, w) in e.iter_mut().zip(window) {
            *e = w.norm_sqr() * self.scale;
        }
        let (rows, cols) = e.split_at(4);
        let (r, er) = strongest(rows);
        let (c, ec) = strongest(cols);
        if er < self.min_energy || ec < self.min_energy {
            return None;
        }
        if er > ec * self.normal_twist || ec > er * self.reverse_twist {
            return None;
        }
        let dominant = |group: &[f32], best: usize, level: f32| {
            group
                .iter()
                .enumerate()
                .all(|(i, &x)| i == best || x * self.relative_peak <= level)
        };
        if !dominant(rows, r, er) || !dominant(cols, c, ec) {
            return None;
        }
        if er + ec < TONE_TO_TOTAL * total {
            return None;
        }
        let harmonic = self.harmonics.get(c)?.power([&self.prev, &self.cur]) * self.scale;
        if harmonic * self.harmonic > ec {
            return None;
        }
        Some((r, c))
    }

    /// Both tones advanced in phase by what their nominal frequency predicts,
    /// within the tolerance, between the previous window and this one.
    fn frequencies_ok(
        &self,
        prev: &[Complex; 8],
        cur: &[Complex; 8],
        (r, c): (usize, usize),
    ) -> bool {
        [r, 4 + c]
            .into_iter()
            .all(|k| match (self.filters.get(k), prev.get(k), cur.get(k)) {
                (Some(f), Some(p), Some(w)) => {
                    let z = w.mul(p.conj()).mul(f.rot);
                    z.im.atan2(z.re).abs() <= f.max_phase
                }
                _ => false,
            })
    }

    /// Advances the digit state by one window (`hit` is the digit it confirms).
    /// `reference` is the time of a sample number, to date the digit.
    fn step(&mut self, hit: Option<Digit>, reference: (Instant, u64), out: &mut Vec<DigitEvent>) {
        let window_end = self.pos;
        // The run starts with the window before the first hit.
        let run_start = self.pos.saturating_sub(3 * self.half as u64);
        self.candidate = match (hit, self.candidate) {
            (Some(d), Some(c)) if c.digit == d => Some(Candidate {
                run: c.run.saturating_add(1),
                ..c
            }),
            (Some(d), _) => Some(Candidate {
                digit: d,
                run: 1,
                start: run_start,
            }),
            (None, _) => None,
        };
        if let Some(tone) = self.tone.as_mut() {
            if hit == Some(tone.digit) {
                tone.end = window_end;
                tone.misses = 0;
                return;
            }
            tone.misses += 1;
            if tone.misses < MISSES_TO_END {
                return;
            }
            let tone = *tone;
            self.tone = None;
            out.push(self.event(tone));
        }
        if let Some(c) = self.candidate {
            if c.run >= HITS_TO_START {
                self.tone = Some(Tone {
                    digit: c.digit,
                    start: c.start,
                    start_at: self.instant_of(c.start, reference),
                    end: window_end,
                    misses: 0,
                });
            }
        }
    }

    fn event(&self, tone: Tone) -> DigitEvent {
        DigitEvent {
            digit: tone.digit,
            start: tone.start_at,
            duration: samples_to_duration(tone.end.saturating_sub(tone.start), self.sample_rate),
            source: Method::Inband,
        }
    }

    /// The time of sample number `pos`, given the time of sample `ref_pos`.
    fn instant_of(&self, pos: u64, (at, ref_pos): (Instant, u64)) -> Instant {
        if pos >= ref_pos {
            at.checked_add(samples_to_duration(pos - ref_pos, self.sample_rate))
                .unwrap_or(at)
        } else {
            let back = samples_to_duration(ref_pos - pos, self.sample_rate);
            at.checked_sub(back).unwrap_or(at)
        }
    }
}

fn strongest(group: &[f32]) -> (usize, f32) {
    group.iter().copied().enumerate().fold(
        (0, f32::MIN),
        |best, (i, x)| if x > best.1 { (i, x) } else { best },
    )
}

fn db_to_power(db: f64) -> f32 {
    10f64.powf(db / 10.0) as f32
}

fn db_to_amplitude(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Tone { low: f64, high: f64, samples: u64 },
    Silence { samples: u64 },
}

/// Largest number of queued steps in a [`Generator`].
pub const MAX_GENERATOR_QUEUE: usize = 512;

/// DTMF tone generator for in-band sending. Queue digits, then call
/// [`fill`](Self::fill) for each outgoing frame.
#[derive(Debug, Clone)]
pub struct Generator {
    sample_rate: u32,
    amp_low: f64,
    amp_high: f64,
    queue: VecDeque<Step>,
    current: Option<(Step, u64)>,
    phase_low: f64,
    phase_high: f64,
}

impl Generator {
    /// A generator for audio at `sample_rate` Hz (8000 to 48000).
    pub fn new(sample_rate: u32) -> Result<Generator, DtmfError> {
        if !(8000..=48000).contains(&sample_rate) {
            return Err(DtmfError::UnsupportedRate { rate: sample_rate });
        }
        Ok(Generator {
            sample_rate,
            amp_low: DBM0_PEAK * db_to_amplitude(DEFAULT_LOW_LEVEL_DBM0),
            amp_high: DBM0_PEAK * db_to_amplitude(DEFAULT_HIGH_LEVEL_DBM0),
            queue: VecDeque::new(),
            current: None,
            phase_low: 0.0,
            phase_high: 0.0,
        })
    }

    /// Sets the level of each tone in dBm0 (clamped to -60..=0). Applies to
    /// tones started afterwards.
    pub fn with_levels(mut self, low_dbm0: f64, high_dbm0: f64) -> Generator {
        self.amp_low = DBM0_PEAK * db_to_amplitude(low_dbm0.clamp(-60.0, 0.0));
        self.amp_high = DBM0_PEAK * db_to_amplitude(high_dbm0.clamp(-60.0, 0.0));
        self
    }

    /// Queues a digit string (`,` is a 500 ms pause): each digit as `on` of
    /// tone followed by `off` of silence. Nothing is queued if the string is
    /// invalid.
    pub fn queue(&mut self, digits: &str, on: Duration, off: Duration) -> Result<(), DtmfError> {
        let items = parse_send_sequence(digits)?;
        let len = self.queue.len() + 2 * items.len();
        if len > MAX_GENERATOR_QUEUE {
            return Err(DtmfError::SequenceTooLong {
                len,
                max: MAX_GENERATOR_QUEUE,
            });
        }
        check_duration(on)?;
        check_duration(off)?;
        for item in items {
            match item {
                SendItem::Digit(d) => {
                    let (low, high) = d.frequencies();
                    self.push(Step::Tone {
                        low,
                        high,
                        samples: self.samples(on),
                    });
                    self.push(Step::Silence {
                        samples: self.samples(off),
                    });
                }
                SendItem::Pause => self.push(Step::Silence {
                    samples: self.samples(COMMA_PAUSE),
                }),
            }
        }
        Ok(())
    }

    /// Queues a pair of tones of any frequencies (0 for none) at the
    /// generator's levels, e.g. to test a detector or play other dual tones.
    pub fn push_dual_tone(
        &mut self,
        low_hz: f64,
        high_hz: f64,
        on: Duration,
    ) -> Result<(), DtmfError> {
        check_duration(on)?;
        self.check_room()?;
        let nyquist = f64::from(self.sample_rate) / 2.0;
        let fix = |f: f64| {
            if f.is_finite() {
                f.clamp(0.0, nyquist)
            } else {
                0.0
            }
        };
        self.push(Step::Tone {
            low: fix(low_hz),
            high: fix(high_hz),
            samples: self.samples(on),
        });
        Ok(())
    }

    /// Queues silence.
    pub fn push_silence(&mut self, duration: Duration) -> Result<(), DtmfError> {
        check_duration(duration)?;
        self.check_room()?;
        self.push(Step::Silence {
            samples: self.samples(duration),
        });
        Ok(())
    }

    /// Nothing left to play.
    pub fn is_finished(&self) -> bool {
        self.current.is_none() && self.queue.is_empty()
    }

    /// Drops everything queued, including the rest of the current tone.
    pub fn cancel(&mut self) {
        self.queue.clear();
        self.current = None;
    }

    /// Writes the next `out.len()` samples (silence once the queue is empty).
    /// Returns `true` when everything queued has been played.
    pub fn fill(&mut self, out: &mut [i16]) -> bool {
        let mut rest = out;
        while !rest.is_empty() {
            let (step, remaining) = match self.current {
                Some((step, remaining)) if remaining > 0 => (step, remaining),
                _ => match self.queue.pop_front() {
                    Some(step) => {
                        self.phase_low = 0.0;
                        self.phase_high = 0.0;
                        let samples = match step {
                            Step::Tone { samples, .. } | Step::Silence { samples } => samples,
                        };
                        self.current = Some((step, samples));
                        continue;
                    }
                    None => {
                        self.current = None;
                        rest.fill(0);
                        return true;
                    }
                },
            };
            let n = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let (head, tail) = rest.split_at_mut(n);
            match step {
                Step::Tone { low, high, .. } => self.synthesize(low, high, head),
                Step::Silence { .. } => head.fill(0),
            }
            self.current = Some((step, remaining - n as u64));
            rest = tail;
        }
        if matches!(self.current, Some((_, 0))) {
            self.current = None;
        }
        self.is_finished()
    }

    fn synthesize(&mut self, low: f64, high: f64, out: &mut [i16]) {
        let rate = f64::from(self.sample_rate);
        let (dl, dh) = (2.0 * PI * low / rate, 2.0 * PI * high / rate);
        for s in out {
            let v = self.amp_low * self.phase_low.sin() + self.amp_high * self.phase_high.sin();
            *s = v.round().clamp(-32768.0, 32767.0) as i16;
            self.phase_low = (self.phase_low + dl) % (2.0 * PI);
            self.phase_high = (self.phase_high + dh) % (2.0 * PI);
        }
    }

    fn samples(&self, d: Duration) -> u64 {
        duration_to_samples(d, self.sample_rate)
    }

    fn push(&mut self, step: Step) {
        self.queue.push_back(step);
    }

    fn check_room(&self) -> Result<(), DtmfError> {
        if self.queue.len() >= MAX_GENERATOR_QUEUE {
            return Err(DtmfError::SequenceTooLong {
                len: self.queue.len() + 1,
                max: MAX_GENERATOR_QUEUE,
            });
        }
        Ok(())
    }
}

/// Longest tone or silence a [`Generator`] accepts.
pub const MAX_GENERATOR_STEP: Duration = Duration::from_secs(60);

fn check_duration(d: Duration) -> Result<(), DtmfError> {
    if d > MAX_GENERATOR_STEP {
        return Err(DtmfError::InvalidDuration {
            ms: d.as_millis(),
            min_ms: 0,
            max_ms: MAX_GENERATOR_STEP.as_millis() as u64,
        });
    }
    Ok(())
}
