//! Parse errors: what went wrong, whether the message was a request, and the status
//! a UAS answers with.

use crate::message::Method;

/// What went wrong while framing or parsing a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The datagram holds nothing but CRLFs (a keep-alive) or nothing at all.
    #[error("no message (empty or keep-alive only)")]
    Empty,
    /// The header section does not end (datagram truncated inside a header line).
    #[error("header section is not terminated")]
    Incomplete,
    /// A length or count is over its [`Limits`](super::Limits) value.
    #[error("{what} over the limit of {limit}")]
    TooLarge {
        /// `"message"`, `"line"`, `"header count"`, `"body"` or `"list"`.
        what: &'static str,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The start line and header section are not valid UTF-8.
    #[error("header section is not valid UTF-8")]
    NotUtf8,
    /// The start line is neither a Request-Line nor a Status-Line.
    #[error("malformed start line: {0}")]
    BadStartLine(&'static str),
    /// The start line names a SIP version other than 2.0 (a request gets 505).
    #[error("unsupported SIP version {0}")]
    UnsupportedVersion(String),
    /// The status code is not three digits in 100–699 (RFC 4475 bigcode).
    #[error("bad status code")]
    BadStatusCode,
    /// The Request-URI is malformed.
    #[error("bad Request-URI: {0}")]
    BadRequestUri(&'static str),
    /// A standalone value parser ([`uri`](super::uri), [`via`](super::via)…) failed.
    #[error("bad {what}: {reason}")]
    BadValue {
        /// What was being parsed (`"URI"`, `"Via"`, `"CSeq"`…).
        what: &'static str,
        /// Why it failed.
        reason: &'static str,
    },
    /// A header line that is not `name: value` (or a fold with nothing to continue).
    #[error("malformed header line: {0}")]
    BadHeaderLine(&'static str),
    /// A required header is missing (RFC 4475 insuf).
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A single-valued header appears more than once (RFC 4475 multi01).
    #[error("more than one {0} header")]
    DuplicateHeader(&'static str),
    /// A header the core interprets has a malformed value.
    #[error("bad {name} header: {reason}")]
    BadHeader {
        /// Canonical header name.
        name: String,
        /// Why the value was rejected.
        reason: &'static str,
    },
    /// Content-Length is negative, not a number, or given twice with different
    /// values (RFC 4475 ncl, mcl01). On a stream this is fatal to the connection.
    #[error("bad Content-Length: {0}")]
    BadContentLength(&'static str),
    /// The datagram ends before the body Content-Length announces (RFC 4475 clerr).
    #[error("body shorter than Content-Length ({available} < {declared})")]
    BodyTruncated {
        /// Content-Length value.
        declared: usize,
        /// Octets present after the header section.
        available: usize,
    },
    /// A message on a stream transport has no Content-Length (RFC 3261 §18.3).
    #[error("no Content-Length on a stream transport")]
    MissingContentLength,
    /// The request method and the CSeq method differ (RFC 4475 mismatch01/02).
    #[error("CSeq method {cseq_method} differs from request method {method}")]
    CSeqMismatch {
        /// Request-Line method.
        method: Method,
        /// CSeq method.
        cseq_method: Method,
    },
}

/// Which kind of message the failed bytes started as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Request,
    Response,
    Unknown,
}

/// A framing or parsing failure: a [`ParseErrorKind`] plus whether the bytes were a
/// request, which decides whether anything is answered (responses are dropped).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    kind: ParseErrorKind,
    origin: Origin,
}

impl From<ParseErrorKind> for ParseError {
    fn from(kind: ParseErrorKind) -> ParseError {
        ParseError {
            kind,
            origin: Origin::Unknown,
        }
    }
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, origin: Origin) -> ParseError {
        ParseError { kind, origin }
    }

    pub(crate) fn value(what: &'static str, reason: &'static str) -> ParseError {
        ParseErrorKind::BadValue { what, reason }.into()
    }

    /// What went wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// Whether the bytes began with a Request-Line, possibly malformed but ending in a
    /// `SIP/` version (so a response may be sent, see
    /// [`error_response`](super::error_response)).
    pub fn is_request(&self) -> bool {
        self.origin == Origin::Request
    }

    /// Whether the bytes began with a Status-Line (a response is dropped silently).
    pub fn is_response(&self) -> bool {
        self.origin == Origin::Response
    }

    /// Whether a stream connection must be closed: the framing is lost.
    pub fn is_fatal_for_stream(&self) -> bool {
        matches!(
            self.kind,
            ParseErrorKind::BadContentLength(_)
                | ParseErrorKind::MissingContentLength
                | ParseErrorKind::TooLarge { .. }
        )
    }

    /// The status a UAS answers a request that failed this way with: 505 for a
    /// wrong version, 501 for an unknown method whose CSeq method differs (RFC 4475
    /// §3.1.2.18 prefers 501), 513 for an oversized message, else 400.
    pub fn status(&self) -> u16 {
        match &self.kind {
            ParseErrorKind::UnsupportedVersion(_) => 505,
            ParseErrorKind::CSeqMismatch {
                method: Method::Extension(_),
                ..
            } => 501,
            ParseErrorKind::TooLarge {
                what: "message" | "body",
                ..
            } => 513,
            _ => 400,
        }
    }

    /// A short reason phrase for the status line, e.g. `Bad Request - Missing Call-ID`.
    /// Never contains text copied from the message other than a short header name.
    pub fn reason_phrase(&self) -> String {
        let detail = match &self.kind {
            ParseErrorKind::UnsupportedVersion(_) => return "Version Not Supported".into(),
            ParseErrorKind::CSeqMismatch {
                method: Method::Extension(_),
                ..
            } => return "Not Implemented".into(),
            ParseErrorKind::TooLarge {
                what: "message" | "body",
                ..
            } => return "Message Too Large".into(),
            ParseErrorKind::MissingHeader(h) => format!("Missing {h}"),
            ParseErrorKind::DuplicateHeader(h) => format!("Multiple {h} Values"),
            ParseErrorKind::BadHeader { name, .. } if is_printable_name(name) => {
                format!("Malformed {name}")
            }
            ParseErrorKind::BadHeader { .. } | ParseErrorKind::BadHeaderLine(_) => {
                "Malformed Header".into()
            }
            ParseErrorKind::CSeqMismatch { .. } => "CSeq Method Mismatch".into(),
            ParseErrorKind::BadRequestUri(_) => "Malformed Request-URI".into(),
            ParseErrorKind::BadStartLine(_) => "Malformed Request-Line".into(),
            ParseErrorKind::BadContentLength(_)
            | ParseErrorKind::BodyTruncated { .. }
            | ParseErrorKind::MissingContentLength => "Bad Content-Length".into(),
            ParseErrorKind::TooLarge { what, .. } => format!("Too Long {what}"),
            ParseErrorKind::NotUtf8 => "Invalid UTF-8".into(),
            _ => return "Bad Request".into(),
        };
        format!("Bad Request - {detail}")
    }
}

/// A header name short and plain enough to echo in a reason phrase.
fn is_printable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}
