//! Playback into a call: PCM (a WAV file's samples, resampled once to the
//! session's rate) or a generated tone, looped or once.

use std::sync::Arc;

use crate::audio::{ToneGenerator, ToneSpec, ToneStatus};
use crate::codec::Resampler;

/// What to play.
#[derive(Debug, Clone)]
pub enum PlaySource {
    /// Mono samples at `rate`.
    Pcm {
        /// The samples.
        samples: Arc<[i16]>,
        /// Their rate in Hz.
        rate: u32,
    },
    /// A tone.
    Tone(ToneSpec),
}

/// A playback in progress.
pub(crate) struct Playback {
    id: u64,
    source: PlaySource,
    looped: bool,
    state: State,
}

enum State {
    Pcm { samples: Arc<[i16]>, pos: usize },
    Tone { gen: ToneGenerator, buf: Vec<i16> },
    Done,
}

/// Peak amplitude of generated tones (about -12 dBFS).
const TONE_AMPLITUDE: i16 = 8000;

impl Playback {
    pub(crate) fn new(id: u64, source: PlaySource, looped: bool, rate: u32) -> Playback {
        let state = State::for_rate(&source, rate);
        Playback {
            id,
            source,
            looped,
            state,
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The session's rate changed (a new codec): start over at the new rate.
    pub(crate) fn set_rate(&mut self, rate: u32) {
        self.state = State::for_rate(&self.source, rate);
    }

    /// Adds the next samples into `out`; true when a non-looping playback ended.
    pub(crate) fn fill(&mut self, out: &mut [i16]) -> bool {
        match &mut self.state {
            State::Pcm { samples, pos } => {
                let mut i = 0;
                while i < out.len() {
                    if *pos >= samples.len() {
                        if !self.looped || samples.is_empty() {
                            return true;
                        }
                        *pos = 0;
                    }
                    let n = (out.len() - i).min(samples.len() - *pos);
                    for (o, s) in out[i..i + n].iter_mut().zip(&samples[*pos..*pos + n]) {
                        *o = o.saturating_add(*s);
                    }
                    i += n;
                    *pos += n;
                }
                !self.looped && *pos >= samples.len()
            }
            State::Tone { gen, buf } => {
                buf.clear();
                let status = gen.generate(out.len(), buf);
                for (o, t) in out.iter_mut().zip(buf.iter()) {
                    *o = o.saturating_add(*t);
                }
                match status {
                    ToneStatus::Playing => false,
                    ToneStatus::Finished { .. } if self.looped => {
                        gen.restart();
                        false
                    }
                    ToneStatus::Finished { .. } => true,
                }
            }
            State::Done => true,
        }
    }
}

impl State {
    fn for_rate(source: &PlaySource, rate: u32) -> State {
        match source {
            PlaySource::Pcm { samples, rate: r } if *r == rate => State::Pcm {
                samples: Arc::clone(samples),
                pos: 0,
            },
            PlaySource::Pcm { samples, rate: r } => match resample_all(samples, *r, rate) {
                Some(s) => State::Pcm {
                    samples: s.into(),
                    pos: 0,
                },
                None => State::Done,
            },
            PlaySource::Tone(spec) => match ToneGenerator::new(spec, rate, TONE_AMPLITUDE) {
                Ok(gen) => State::Tone {
                    gen,
                    buf: Vec::new(),
                },
                Err(_) => State::Done,
            },
        }
    }
}

/// Resamples a whole buffer (done once per playback, not per frame).
fn resample_all(samples: &[i16], from: u32, to: u32) -> Option<Vec<i16>> {
    let mut rs = Resampler::new(from, to).ok()?;
    let mut out = Vec::with_capacity(samples.len() * to as usize / from.max(1) as usize + 64);
    rs.process(samples, &mut out).ok()?;
    Some(out)
}
