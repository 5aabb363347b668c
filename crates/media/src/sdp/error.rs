//! Error types for SDP parsing and offer/answer negotiation.

use thiserror::Error;

/// Why an SDP body could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is empty or contains only whitespace.
    #[error("SDP body is empty")]
    Empty,
    /// The body is larger than [`MAX_BODY_LEN`](super::MAX_BODY_LEN).
    #[error("SDP body is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the body in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The body has more lines than [`MAX_LINES`](super::MAX_LINES).
    #[error("SDP body has more than {max} lines")]
    TooManyLines {
        /// The limit.
        max: usize,
    },
    /// The body has more media sections than [`MAX_MEDIA`](super::MAX_MEDIA).
    #[error("SDP body has more than {max} media sections")]
    TooManyMedia {
        /// The limit.
        max: usize,
    },
    /// A line the body must contain is absent.
    #[error("SDP body has no {kind}= line")]
    MissingLine {
        /// The line type letter (`o`, `s`).
        kind: char,
    },
    /// A given line is malformed.
    #[error("SDP line {line}: {reason}")]
    InvalidLine {
        /// 1-based line number in the body.
        line: usize,
        /// What is wrong with it.
        reason: LineError,
    },
}

/// What is wrong with one SDP line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LineError {
    /// The line contains bytes that are not UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// The line contains a NUL or a bare CR.
    #[error("contains a forbidden control character")]
    ForbiddenChar,
    /// The line has no `=` after its type letter.
    #[error("expected `<type>=<value>`")]
    NoEquals,
    /// The type is not a single lower-case ASCII letter.
    #[error("line type is not a single lower-case letter")]
    BadType,
    /// The first line is not `v=`.
    #[error("first line must be v=0")]
    VersionNotFirst,
    /// `v=` carries a version other than 0.
    #[error("unsupported SDP version {0:?}")]
    UnsupportedVersion(String),
    /// A line that may appear once appears again.
    #[error("duplicate {kind}= line")]
    Duplicate {
        /// The line type letter.
        kind: char,
    },
    /// A session-level line appears inside a media section.
    #[error("{kind}= line is not allowed inside a media section")]
    NotAllowedInMedia {
        /// The line type letter.
        kind: char,
    },
    /// `r=` appears before any `t=`.
    #[error("r= line without a preceding t= line")]
    RepeatWithoutTiming,
    /// The line has the wrong number of space-separated fields.
    #[error("{kind}= line has {found} fields, expected {expected}")]
    FieldCount {
        /// The line type letter.
        kind: char,
        /// Expected number of fields (minimum for `m=`).
        expected: usize,
        /// Number of fields found.
        found: usize,
    },
    /// A numeric field is not a valid number in range.
    #[error("invalid number in field {field}")]
    InvalidNumber {
        /// Name of the field.
        field: &'static str,
    },
    /// The network type of `c=` is not `IN`.
    #[error("unsupported network type (expected IN)")]
    UnsupportedNetType,
    /// The address type is not `IP4` or `IP6`.
    #[error("unsupported address type (expected IP4 or IP6)")]
    UnsupportedAddrType,
    /// A required part of the value is empty.
    #[error("empty {field}")]
    Empty {
        /// Name of the field.
        field: &'static str,
    },
}

/// Why an offer/answer exchange failed. Every variant maps to a SIP 488
/// (Not Acceptable Here) when answering an offer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The SDP has no usable audio stream (none offered, or all with port 0
    /// or a transport other than RTP/AVP).
    #[error("no usable audio stream")]
    NoAudioMedia,
    /// No audio stream shares a codec with the local list (or the answer
    /// picked a codec that was not offered).
    #[error("no common codec")]
    NoCommonCodec,
    /// The chosen stream has no `c=` line at media or session level.
    #[error("no connection address for the audio stream")]
    MissingConnection,
    /// The connection address is not a literal IP address.
    #[error("connection address {address:?} is not an IP address")]
    InvalidConnectionAddress {
        /// The address as written in the SDP.
        address: String,
    },
    /// The answer does not have one media section per offered one.
    #[error("answer has {answer} media sections, offer had {offer}")]
    MediaCountMismatch {
        /// Media sections in the offer.
        offer: usize,
        /// Media sections in the answer.
        answer: usize,
    },
}
