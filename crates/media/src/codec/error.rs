//! Errors of the codec module: encoding, decoding and resampling.

use thiserror::Error;

use super::Codec;

/// Why a frame could not be encoded or decoded, or a resampler not built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The PCM frame handed to an encoder has a length the codec cannot code
    /// (G.722 needs an even count; Opus needs 10, 20, 40 or 60 ms).
    #[error("{codec:?} cannot encode a frame of {samples} samples")]
    FrameSize {
        /// The codec.
        codec: Codec,
        /// Samples in the rejected frame.
        samples: usize,
    },
    /// A payload whose length cannot be valid for the codec (an odd byte
    /// count for L16).
    #[error("{codec:?} payload of {len} bytes is malformed")]
    PayloadLength {
        /// The codec.
        codec: Codec,
        /// Length of the rejected payload in bytes.
        len: usize,
    },
    /// The payload is larger than the decoder accepts.
    #[error("payload of {len} bytes exceeds the limit of {max}")]
    PayloadTooLarge {
        /// Length of the rejected payload in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The Opus library rejected a packet or a frame.
    #[error("opus: {reason}")]
    Opus {
        /// The library's reason.
        reason: &'static str,
    },
    /// The resampler does not handle this pair of rates.
    #[error("cannot resample from {from} Hz to {to} Hz")]
    ResampleRates {
        /// Input rate in Hz.
        from: u32,
        /// Output rate in Hz.
        to: u32,
    },
    /// The resampling library failed (should not happen with valid rates).
    #[error("resampler failure")]
    Resampler,
}
