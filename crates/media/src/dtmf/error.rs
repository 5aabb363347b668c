//! Error type for the DTMF module: digit strings, RFC 4733 payloads, SIP INFO
//! bodies and the in-band detector/generator settings.

use thiserror::Error;

/// Why a DTMF input or setting was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DtmfError {
    /// A digit string contains a character that is not a DTMF digit (or, in a
    /// send sequence, a `,` pause).
    #[error("invalid DTMF character {ch:?} at position {position}")]
    InvalidCharacter {
        /// The offending character.
        ch: char,
        /// Its 0-based character position in the string.
        position: usize,
    },
    /// A digit string or send queue is longer than allowed.
    #[error("DTMF sequence of {len} items is longer than the limit of {max}")]
    SequenceTooLong {
        /// Number of items asked for (already queued plus new ones).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A tone or pause duration is outside the accepted range.
    #[error("duration of {ms} ms is outside {min_ms}..={max_ms} ms")]
    InvalidDuration {
        /// The duration asked for, in milliseconds.
        ms: u128,
        /// Smallest accepted value.
        min_ms: u64,
        /// Largest accepted value.
        max_ms: u64,
    },
    /// A sample rate or RTP clock rate this module does not handle.
    #[error("unsupported rate {rate} Hz")]
    UnsupportedRate {
        /// The rate given.
        rate: u32,
    },
    /// A packetization interval that is zero or does not fit the clock.
    #[error("invalid frame size of {samples} samples")]
    InvalidFrame {
        /// Samples per frame computed from the ptime and clock rate.
        samples: u64,
    },
    /// An RFC 4733 payload shorter than one 4-octet event block.
    #[error("telephone-event payload of {len} octets is shorter than 4")]
    PayloadTooShort {
        /// Payload length in octets.
        len: usize,
    },
    /// A SIP INFO body larger than [`MAX_INFO_BODY`](super::info::MAX_INFO_BODY).
    #[error("INFO body of {len} bytes is larger than {max}")]
    InfoBodyTooLarge {
        /// Body length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A SIP INFO body that is not UTF-8 text.
    #[error("INFO body is not UTF-8")]
    InfoNotUtf8,
    /// A SIP INFO body without a signal (no `Signal=` line, or an empty
    /// `application/dtmf` body).
    #[error("INFO body carries no signal")]
    InfoMissingSignal,
    /// A `Signal` value that is neither a DTMF character nor an event code.
    #[error("invalid INFO signal {value:?}")]
    InfoInvalidSignal {
        /// The value as written (truncated to 16 characters).
        value: String,
    },
    /// A signal naming a valid telephone event that is not a DTMF digit
    /// (16 or `!`, hook flash).
    #[error("INFO signal is event {code}, which is not a DTMF digit")]
    InfoUnsupportedEvent {
        /// The RFC 4733 event code.
        code: u8,
    },
    /// A `Duration` value that is not a decimal number of milliseconds in range.
    #[error("invalid INFO duration {value:?}")]
    InfoInvalidDuration {
        /// The value as written (truncated to 16 characters).
        value: String,
    },
    /// A field that may appear once appears twice.
    #[error("INFO body has more than one {field} line")]
    InfoDuplicateField {
        /// `Signal` or `Duration`.
        field: &'static str,
    },
    /// A content type other than `application/dtmf-relay` or `application/dtmf`.
    #[error("content type {content_type:?} is not a DTMF INFO type")]
    InfoUnsupportedContentType {
        /// The content type as given (truncated to 64 characters).
        content_type: String,
    },
}

/// Copies at most `max` characters of `s` into an owned string for an error.
pub(crate) fn truncated(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
