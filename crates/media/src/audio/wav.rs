//! WAV files over caller-supplied readers and writers (`hound` does the
//! RIFF work): reading prompts and announcements into mono i16, and writing
//! call recordings that stay valid while they grow.
//!
//! [`read_wav`] takes 8/16/24/32-bit integer or 32-bit float PCM at any
//! rate in [`MIN_RATE`]..=[`MAX_RATE`], mixes up to [`MAX_CHANNELS`]
//! channels down to mono and refuses audio longer than the caller's bound
//! before reading it. [`WavRecorder`] writes 16-bit mono, or stereo with one
//! direction of the call per channel; [`WavRecorder::flush`] rewrites the
//! header sizes, so a file cut after a flush still holds every sample
//! written before it.

use std::io::{Read, Seek, Write};
use std::time::Duration;

use super::WavError;

/// Lowest sample rate accepted, in Hz.
pub const MIN_RATE: u32 = 1_000;
/// Highest sample rate accepted, in Hz.
pub const MAX_RATE: u32 = 192_000;
/// Most channels [`read_wav`] mixes down.
pub const MAX_CHANNELS: u16 = 8;

/// Mono audio read from a WAV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavAudio {
    /// Sample rate in Hz.
    pub rate: u32,
    /// Mono samples.
    pub samples: Vec<i16>,
}

impl WavAudio {
    /// Duration of the audio.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.samples.len() as f64 / f64::from(self.rate.max(1)))
    }
}

/// Reads a whole WAV file into mono i16 at its own rate. Fails with
/// [`WavError::TooLong`] when the file announces more than `max_duration`
/// of audio, before reading any sample. Pass a buffered reader: the header
/// is read in small pieces.
pub fn read_wav(reader: impl Read, max_duration: Duration) -> Result<WavAudio, WavError> {
    let mut src = EofTracker {
        inner: reader,
        eof: false,
    };
    // hound reports a short read as a generic I/O error; the tracker tells
    // whether it was the end of the input.
    read_inner(&mut src, max_duration).map_err(|e| match e {
        WavError::Io(_) if src.eof => WavError::Truncated,
        e => e,
    })
}

/// A reader that remembers hitting the end of its input.
struct EofTracker<R> {
    inner: R,
    eof: bool,
}

impl<R: Read> Read for EofTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        Ok(n)
    }
}

fn read_inner(reader: impl Read, max_duration: Duration) -> Result<WavAudio, WavError> {
    let mut wav = hound::WavReader::new(reader)?;
    let spec = wav.spec();
    if !(MIN_RATE..=MAX_RATE).contains(&spec.sample_rate) {
        return Err(WavError::SampleRate {
            rate: spec.sample_rate,
        });
    }
    let channels = spec.channels;
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(WavError::Channels {
            channels,
            max: MAX_CHANNELS,
        });
    }
    let frames = u64::from(wav.duration());
    let max = (max_duration.as_millis().min(u128::from(u64::MAX / 192)) as u64)
        .saturating_mul(u64::from(spec.sample_rate))
        / 1000;
    if frames > max {
        return Err(WavError::TooLong { frames, max });
    }
    // Bounded by `max` above, which the caller chose.
    let mut samples = Vec::with_capacity(frames as usize);
    let ch = usize::from(channels);
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let mut acc: i64 = 0;
            let mut n = 0;
            for s in wav.samples::<i32>() {
                acc += i64::from(s?);
                n += 1;
                if n == ch {
                    let mean = acc / ch as i64;
                    samples.push(scale_int(mean, bits));
                    acc = 0;
                    n = 0;
                }
            }
        }
        (hound::SampleFormat::Float, 32) => {
            let mut acc: f64 = 0.0;
            let mut n = 0;
            for s in wav.samples::<f32>() {
                acc += f64::from(s?);
                n += 1;
                if n == ch {
                    let mean = acc / ch as f64;
                    // `as` saturates; NaN becomes 0.
                    samples.push((mean * 32768.0).round() as i16);
                    acc = 0.0;
                    n = 0;
                }
            }
        }
        _ => return Err(WavError::Unsupported),
    }
    Ok(WavAudio {
        rate: spec.sample_rate,
        samples,
    })
}

/// A `bits`-bit signed sample scaled to 16 bits.
fn scale_int(v: i64, bits: u16) -> i16 {
    let scaled = if bits >= 16 {
        v >> (bits - 16)
    } else {
        v << (16 - bits)
    };
    scaled.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16
}

/// Channel layout of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordLayout {
    /// One channel (for example both directions mixed).
    Mono,
    /// Two channels, one per direction of the call.
    Stereo,
}

impl RecordLayout {
    fn channels(self) -> u16 {
        match self {
            RecordLayout::Mono => 1,
            RecordLayout::Stereo => 2,
        }
    }
}

/// Largest data chunk written: the RIFF size fields are 32-bit and the
/// header takes 44 bytes.
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 64;

/// A 16-bit PCM WAV writer for call recordings.
///
/// Samples are appended with [`write_mono`](WavRecorder::write_mono) or
/// [`write_stereo`](WavRecorder::write_stereo); call
/// [`flush`](WavRecorder::flush) periodically (it seeks back to update the
/// header) and [`finalize`](WavRecorder::finalize) at the end. Dropping the
/// recorder also updates the header, but silently ignores errors.
pub struct WavRecorder<W: Write + Seek> {
    writer: hound::WavWriter<W>,
    layout: RecordLayout,
    rate: u32,
    frames: u64,
    /// Interleaving buffer for stereo writes, reused.
    interleave: Vec<i16>,
}

impl<W: Write + Seek> std::fmt::Debug for WavRecorder<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavRecorder")
            .field("layout", &self.layout)
            .field("rate", &self.rate)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl<W: Write + Seek> WavRecorder<W> {
    /// Starts a recording at `rate` Hz and writes its header.
    pub fn new(writer: W, rate: u32, layout: RecordLayout) -> Result<WavRecorder<W>, WavError> {
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Err(WavError::SampleRate { rate });
        }
        let spec = hound::WavSpec {
            channels: layout.channels(),
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::new(writer, spec)?;
        Ok(WavRecorder {
            writer,
            layout,
            rate,
            frames: 0,
            interleave: Vec::new(),
        })
    }

    /// Sample rate in Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Channel layout.
    pub fn layout(&self) -> RecordLayout {
        self.layout
    }

    /// Frames (samples per channel) written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Duration written so far.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.frames as f64 / f64::from(self.rate))
    }

    /// Appends mono samples. Fails on a stereo recorder.
    pub fn write_mono(&mut self, samples: &[i16]) -> Result<(), WavError> {
        if self.layout != RecordLayout::Mono {
            return Err(WavError::Layout {
                expected: self.layout,
            });
        }
        self.write_interleaved_samples(samples)?;
        self.frames += samples.len() as u64;
        Ok(())
    }

    /// Appends one stretch of both directions: `left` to channel 1, `right`
    /// to channel 2. The shorter side is padded with silence. Fails on a
    /// mono recorder.
    pub fn write_stereo(&mut self, left: &[i16], right: &[i16]) -> Result<(), WavError> {
        if self.layout != RecordLayout::Stereo {
            return Err(WavError::Layout {
                expected: self.layout,
            });
        }
        let frames = left.len().max(right.len());
        let mut buf = std::mem::take(&mut self.interleave);
        buf.clear();
        buf.reserve(frames * 2);
        for i in 0..frames {
            buf.push(left.get(i).copied().unwrap_or(0));
            buf.push(right.get(i).copied().unwrap_or(0));
        }
        let result = self.write_interleaved_samples(&buf);
        self.interleave = buf;
        result?;
        self.frames += frames as u64;
        Ok(())
    }

    fn write_interleaved_samples(&mut self, samples: &[i16]) -> Result<(), WavError> {
        if samples.is_empty() {
            return Ok(());
        }
        let written = u64::from(self.writer.len()) * 2;
        let adding = samples.len() as u64 * 2;
        if written + adding > MAX_DATA_BYTES {
            return Err(WavError::Full);
        }
        // Cannot truncate: the total is bounded by MAX_DATA_BYTES above.
        let count = samples.len() as u32;
        // The spec is 16-bit integer (set in `new`) and exactly `count`
        // samples are written below, so the sample writer's preconditions
        // hold and it cannot panic.
        let mut sw = self.writer.get_i16_writer(count);
        for &s in samples {
            sw.write_sample(s);
        }
        sw.flush()?;
        Ok(())
    }

    /// Updates the header sizes to cover everything written and flushes the
    /// writer: a file cut after this point still reads back with all these
    /// samples.
    pub fn flush(&mut self) -> Result<(), WavError> {
        self.writer.flush()?;
        Ok(())
    }

    /// Updates the header and flushes for the last time.
    pub fn finalize(self) -> Result<(), WavError> {
        self.writer.finalize()?;
        Ok(())
    }
}
