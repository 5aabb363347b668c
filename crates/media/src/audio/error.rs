//! Errors of the audio module: WAV reading and writing, tone specs.

use thiserror::Error;

/// Why a WAV file could not be read or written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WavError {
    /// The underlying reader or writer failed.
    #[error("WAV I/O: {0}")]
    Io(#[source] std::io::Error),
    /// The bytes are not a well-formed RIFF/WAVE file.
    #[error("malformed WAV file: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The file is well-formed but uses an encoding this reader does not
    /// handle (ADPCM, 64-bit float, ...).
    #[error("unsupported WAV encoding")]
    Unsupported,
    /// The data chunk ends before the length its header announces.
    #[error("WAV data is truncated")]
    Truncated,
    /// The sample rate is outside what this module accepts.
    #[error("WAV sample rate {rate} Hz is not supported")]
    SampleRate {
        /// The rate in the file or asked of the writer.
        rate: u32,
    },
    /// More channels than this module mixes down.
    #[error("WAV file has {channels} channels, more than {max}")]
    Channels {
        /// Channels in the file.
        channels: u16,
        /// The limit.
        max: u16,
    },
    /// The audio is longer than the caller's bound.
    #[error("WAV audio of {frames} frames exceeds the limit of {max}")]
    TooLong {
        /// Frames (samples per channel) in the file.
        frames: u64,
        /// The limit derived from the caller's duration bound.
        max: u64,
    },
    /// A write does not match the recorder's channel layout.
    #[error("recorder is {expected:?}, write was for the other layout")]
    Layout {
        /// The layout the recorder was created with.
        expected: super::wav::RecordLayout,
    },
    /// The recording reached the 4 GiB size limit of the WAV format.
    #[error("WAV recording is full (4 GiB limit)")]
    Full,
}

impl From<hound::Error> for WavError {
    fn from(e: hound::Error) -> WavError {
        match e {
            hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                WavError::Truncated
            }
            hound::Error::IoError(io) => WavError::Io(io),
            hound::Error::FormatError(reason) => WavError::Malformed { reason },
            hound::Error::UnfinishedSample => WavError::Malformed {
                reason: "incomplete sample",
            },
            hound::Error::TooWide
            | hound::Error::Unsupported
            | hound::Error::InvalidSampleFormat => WavError::Unsupported,
        }
    }
}

/// Why a tone spec could not be parsed or played.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ToneError {
    /// The spec has no segment.
    #[error("tone spec is empty")]
    Empty,
    /// The spec text is longer than [`MAX_SPEC_LEN`](super::tone::MAX_SPEC_LEN).
    #[error("tone spec is {len} bytes, more than {max}")]
    TooLong {
        /// Length of the text.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More segments than [`MAX_SEGMENTS`](super::tone::MAX_SEGMENTS).
    #[error("tone spec has more than {max} segments")]
    TooManySegments {
        /// The limit.
        max: usize,
    },
    /// One comma-separated segment is malformed.
    #[error("tone segment {index}: {kind}")]
    Segment {
        /// Zero-based position of the segment in the spec.
        index: usize,
        /// What is wrong with it.
        kind: SegmentError,
    },
    /// A preset name that is not known.
    #[error("unknown tone name {name:?}")]
    UnknownName {
        /// The name asked for.
        name: String,
    },
    /// The generator's sample rate is outside 1000..=192000 Hz.
    #[error("tone sample rate {rate} Hz is not supported")]
    SampleRate {
        /// The rate asked for.
        rate: u32,
    },
    /// A frequency is at or above half the generator's sample rate.
    #[error("{freq} Hz cannot be generated at {rate} Hz")]
    AboveNyquist {
        /// The frequency.
        freq: u32,
        /// The generator's sample rate.
        rate: u32,
    },
}

/// What is wrong with one segment of a tone spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SegmentError {
    /// Nothing between two commas.
    #[error("empty segment")]
    Empty,
    /// A frequency that is not a decimal number.
    #[error("invalid frequency")]
    Frequency,
    /// A frequency above [`MAX_FREQ`](super::tone::MAX_FREQ).
    #[error("frequency {0} Hz is too high")]
    FrequencyTooHigh(u32),
    /// A MIDI note outside 0..=127.
    #[error("invalid MIDI note")]
    MidiNote,
    /// A duration that is not a decimal number of milliseconds, or too long.
    #[error("invalid duration")]
    Duration,
    /// More than [`MAX_FREQS`](super::tone::MAX_FREQS) frequencies.
    #[error("too many frequencies")]
    TooManyFrequencies,
    /// Modulation (`a*b`) takes exactly two frequencies.
    #[error("modulation takes exactly two frequencies")]
    Modulation,
}
