//! Bytes to SIP messages: datagram parsing, stream framing, typed header value
//! parsers, the 400/505 reply to an unparsable request, and UAS request checks.
//!
//! Everything here is a pure function over bytes with a [`Limits`] bound on every
//! length and count; nothing panics on input. Stream framing reports
//! [`Frame::Incomplete`] explicitly. This module does not decide what to do with a
//! message (transactions, dialogs) and never touches sockets.
//!
//! Liberal choices (each allowed by RFC 4475):
//! - extra SP between Request-Line elements and trailing SP are ignored (§3.1.2.9,
//!   §3.1.2.10);
//! - a datagram whose header section ends with a CRLF but no blank line is taken as
//!   having an empty body (the archived §3.1.2.15 message);
//! - Max-Forwards over 255 is kept as received (§3.1.2.4);
//! - `SIP/2.0` is matched case-insensitively; leading CRLFs before the start line
//!   are skipped (RFC 3261 §7.5).
//!
//! Strict choices: `<>` around the Request-URI, LWS inside it, `?headers` in it, an
//! unterminated quoted string, spaces inside `<>`, unquoted non-token display names
//! and a bare addr-spec with `?headers` are all rejected with 400.

mod error;
mod framing;
mod head;
mod lines;
mod reply;
pub mod validate;
mod value;

pub use error::{ParseError, ParseErrorKind};
pub use framing::{frame, Frame, StreamFramer};
pub use reply::error_response;
pub use validate::{check_request, Rejection};

use crate::message::{CSeq, Message, NameAddr, Uri, Via};

use error::Origin;
use lines::{find_head_end, first_line, leading_crlfs, CRLF};

/// Bounds on what the parser accepts. Every length and count is checked against one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Whole message (datagram or framed stream message), octets.
    pub max_message: usize,
    /// Header fields (after unfolding) and values per list header.
    pub max_headers: usize,
    /// One line (start line or physical header line), octets without CRLF.
    pub max_line: usize,
    /// Body, octets.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message: 65_535,
            max_headers: 128,
            max_line: 8_192,
            max_body: 65_535,
        }
    }
}

/// Parses one datagram as one message (RFC 3261 §18.3).
///
/// The body is framed by Content-Length and octets beyond it are ignored (RFC 4475
/// §3.1.1.8); without Content-Length the body is the rest of the datagram (RFC 3261
/// §20.14, RFC 4475 §3.4.1). A Content-Length larger than the octets present is an
/// error (§3.1.2.2). Leading CRLFs are skipped; a datagram of only CRLFs gives
/// [`ParseErrorKind::Empty`].
pub fn parse_datagram(buf: &[u8], limits: &Limits) -> Result<Message, ParseError> {
    let skip = leading_crlfs(buf);
    let buf = buf.get(skip..).unwrap_or(&[]);
    // The origin only matters for an error, so it is worked out only then.
    let err = |kind: ParseErrorKind| ParseError::new(kind, origin_of_datagram(buf));
    if buf.is_empty() {
        return Err(err(ParseErrorKind::Empty));
    }
    if buf.len() > limits.max_message {
        return Err(err(ParseErrorKind::TooLarge {
            what: "message",
            limit: limits.max_message,
        }));
    }
    let (head, rest) = match find_head_end(buf, 0) {
        Some(p) => (buf.get(..p).unwrap_or(&[]), buf.get(p + 4..).unwrap_or(&[])),
        // Liberal: a datagram ending right after a header line's CRLF has no body.
        None if buf.ends_with(CRLF) => (buf.get(..buf.len() - 2).unwrap_or(&[]), &[][..]),
        None => return Err(err(ParseErrorKind::Incomplete)),
    };
    head::parse_message(head, rest, limits)
}

/// Whether a datagram (leading CRLFs skipped) holds a request, a response or
/// neither, judged from its first line.
fn origin_of_datagram(buf: &[u8]) -> Origin {
    match buf.is_empty() {
        true => Origin::Unknown,
        false => head::origin_of(first_line(buf)),
    }
}

fn value_err(what: &'static str) -> impl Fn(&'static str) -> ParseError {
    move |reason| ParseError::value(what, reason)
}

/// Parses a URI: `sip:`/`sips:` into [`Uri::Sip`] (user, password, host as name,
/// IPv4 or `[IPv6]`, port, parameters, `?headers`, all kept escaped), any other
/// scheme into [`Uri::Other`].
pub fn uri(s: &str) -> Result<Uri, ParseError> {
    value::uri(s).map_err(value_err("URI"))
}

/// Parses a From/To/Contact/Route value: `"display" <uri>;params`,
/// `token words <uri>;params` or a bare `uri;params`, where the parameters after a
/// bare URI are header parameters (RFC 3261 §20.10, RFC 4475 §3.3.12).
pub fn name_addr(s: &str) -> Result<NameAddr, ParseError> {
    value::name_addr(s).map_err(value_err("name-addr"))
}

/// Parses one Via value (`SIP / 2.0 / UDP host:port;params`, LWS allowed around
/// `/`, IPv6 sent-by in brackets).
pub fn via(s: &str) -> Result<Via, ParseError> {
    value::via(s).map_err(value_err("Via"))
}

/// Parses a CSeq value; a number over 2^32-1 is an error (RFC 4475 §3.1.2.4).
pub fn cseq(s: &str) -> Result<CSeq, ParseError> {
    value::cseq(s).map_err(value_err("CSeq"))
}

/// Parses Max-Forwards as u32. Values over 255 are tolerated (RFC 4475 §3.1.2.4).
pub fn max_forwards(s: &str) -> Result<u32, ParseError> {
    value::max_forwards(s).map_err(value_err("Max-Forwards"))
}

/// Parses Content-Length (digits only; negative or junk is an error).
pub fn content_length(s: &str) -> Result<usize, ParseError> {
    value::content_length(s).map_err(value_err("Content-Length"))
}

/// Splits a comma-separated header value into trimmed elements, respecting quoted
/// strings and `<…>`; an empty element is an error.
pub fn split_list(s: &str) -> Result<Vec<&str>, ParseError> {
    value::split_list(s).map_err(value_err("list"))
}
