//! Audio helpers around the codecs: WAV reading and recording
//! ([`wav`]), call progress tone generation ([`tone`]), and a Goertzel
//! detector for measuring tones in tests and diagnostics.
//!
//! Readers and writers are supplied by the caller; nothing here opens a
//! file or reads a clock.

mod error;
pub mod tone;
pub mod wav;

pub use error::{SegmentError, ToneError, WavError};
pub use tone::{Mix, ToneGenerator, TonePreset, ToneSegment, ToneSpec, ToneStatus};
pub use wav::{read_wav, RecordLayout, WavAudio, WavRecorder};

/// Power of `samples` at `freq` Hz (Goertzel algorithm), normalised so that
/// a sine of amplitude `A` spanning the block gives about `A² / 2`, its
/// mean-square power. Returns 0 for an empty block or a zero rate.
pub fn goertzel_power(samples: &[i16], rate: u32, freq: f64) -> f64 {
    if samples.is_empty() || rate == 0 {
        return 0.0;
    }
    let w = std::f64::consts::TAU * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let n = samples.len() as f64;
    let mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * mag2 / (n * n)
}
