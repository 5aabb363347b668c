//! Stream (TCP/TLS) framing: where one message ends in a byte stream, plus CRLF
//! keep-alives (RFC 5626 §3.5.1). Framing only finds boundaries; the caller parses
//! each framed message with [`parse_datagram`](super::parse_datagram).

use super::error::{ParseError, ParseErrorKind};
use super::head::origin_of;
use super::lines::{find_crlf, name_is, unfold, Fields};
use super::value;
use super::Limits;

/// What the front of a stream buffer holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole message: its first `len` octets (header section and body). Parse them
    /// with [`parse_datagram`](super::parse_datagram), then remove them.
    Message {
        /// Octets the message takes.
        len: usize,
    },
    /// A CRLFCRLF keep-alive ping (RFC 5626 §3.5.1): remove `len` octets and answer
    /// with a single CRLF (the pong).
    Ping {
        /// Octets to remove (4).
        len: usize,
    },
    /// A lone CRLF before a message (a pong, or stray CRLF that RFC 3261 §7.5 says to
    /// ignore): remove `len` octets, send nothing.
    KeepAlive {
        /// Octets to remove (2).
        len: usize,
    },
    /// More octets are needed.
    Incomplete,
    /// The stream cannot be framed any further: close the connection.
    Error(ParseError),
}

/// Incremental framer for one connection. Call [`StreamFramer::next_frame`] with the
/// receive buffer each time octets are appended; after any result other than
/// [`Frame::Incomplete`], remove the frame's `len` octets from the front of the buffer
/// before calling again. The framer remembers how far it scanned, so a message that
/// arrives in many pieces is scanned once (no quadratic rescans).
#[derive(Clone, Debug)]
pub struct StreamFramer {
    limits: Limits,
    awaiting_pong: bool,
    /// Octets of the current message already scanned.
    scanned: usize,
    /// Start of the line being scanned.
    line_start: usize,
    /// Total length once the header section and Content-Length are known.
    total: Option<usize>,
}

impl StreamFramer {
    /// A framer for a fresh connection.
    pub fn new(limits: Limits) -> StreamFramer {
        StreamFramer {
            limits,
            awaiting_pong: false,
            scanned: 0,
            line_start: 0,
            total: None,
        }
    }

    /// Tells the framer that we sent a ping and wait for the pong: a lone CRLF is
    /// then reported at once as [`Frame::KeepAlive`] instead of waiting to see
    /// whether a second CRLF (a ping) follows.
    pub fn set_awaiting_pong(&mut self, awaiting: bool) {
        self.awaiting_pong = awaiting;
    }

    fn reset(&mut self) {
        self.scanned = 0;
        self.line_start = 0;
        self.total = None;
    }

    fn fail(&mut self, buf: &[u8], kind: ParseErrorKind) -> Frame {
        self.reset();
        let first = buf
            .get(..find_crlf(buf, 0).unwrap_or(buf.len()))
            .unwrap_or(buf);
        Frame::Error(ParseError::new(kind, origin_of(first)))
    }

    /// Looks at the front of `buf` (which must start where the previous frame ended).
    pub fn next_frame(&mut self, buf: &[u8]) -> Frame {
        if let Some(total) = self.total {
            if buf.len() >= total {
                self.reset();
                return Frame::Message { len: total };
            }
            return Frame::Incomplete;
        }
        if buf.len() < self.scanned || self.line_start > self.scanned {
            // The caller broke the contract (buffer shrank): start over.
            self.reset();
        }
        if self.scanned == 0 {
            match buf {
                [] | [b'\r'] | [b'\r', b'\n', b'\r'] => return Frame::Incomplete,
                [b'\r', b'\n'] if !self.awaiting_pong => return Frame::Incomplete,
                [b'\r', b'\n'] => return Frame::KeepAlive { len: 2 },
                [b'\r', b'\n', b'\r', b'\n', ..] => return Frame::Ping { len: 4 },
                [b'\r', b'\n', ..] => return Frame::KeepAlive { len: 2 },
                _ => {}
            }
        }
        let max_line = self.limits.max_line;
        let max_message = self.limits.max_message;
        let mut body_start = None;
        let from = self.scanned;
        for (i, &b) in buf.iter().enumerate().skip(from) {
            if i >= max_message {
                return self.fail(
                    buf,
                    ParseErrorKind::TooLarge {
                        what: "message",
                        limit: max_message,
                    },
                );
            }
            if b == b'\n' && i > 0 && buf.get(i - 1) == Some(&b'\r') {
                if i - 1 == self.line_start {
                    body_start = Some(i + 1);
                    break;
                }
                self.line_start = i + 1;
            } else if i.saturating_sub(self.line_start) > max_line {
                // Checked per octet so the result does not depend on how the
                // stream was split into reads.
                return self.fail(
                    buf,
                    ParseErrorKind::TooLarge {
                        what: "line",
                        limit: max_line,
                    },
                );
            }
        }
        let Some(body_start) = body_start else {
            self.scanned = buf.len();
            return Frame::Incomplete;
        };
        // Header lines: after the start line, before the blank line's CRLF.
        let head = buf.get(..self.line_start.saturating_sub(2)).unwrap_or(&[]);
        let headers = find_crlf(head, 0)
            .and_then(|p| head.get(p + 2..))
            .unwrap_or(&[]);
        let content_length = match content_length(headers) {
            Ok(Some(n)) => n,
            Ok(None) => return self.fail(buf, ParseErrorKind::MissingContentLength),
            Err(kind) => return self.fail(buf, kind),
        };
        if content_length > self.limits.max_body {
            return self.fail(
                buf,
                ParseErrorKind::TooLarge {
                    what: "body",
                    limit: self.limits.max_body,
                },
            );
        }
        let total = body_start.saturating_add(content_length);
        if total > max_message {
            return self.fail(
                buf,
                ParseErrorKind::TooLarge {
                    what: "message",
                    limit: max_message,
                },
            );
        }
        self.total = Some(total);
        self.next_frame(buf)
    }
}

/// Frames the front of `buf` from scratch (a stateless [`StreamFramer`]).
pub fn frame(buf: &[u8], limits: &Limits) -> Frame {
    StreamFramer::new(limits.clone()).next_frame(buf)
}

/// The Content-Length of a header section (start line excluded); malformed lines
/// are skipped here and reported by the parser.
fn content_length(headers: &[u8]) -> Result<Option<usize>, ParseErrorKind> {
    let mut found: Option<usize> = None;
    for field in Fields::new(headers).flatten() {
        if !name_is(field.name, "Content-Length", Some(b'l')) {
            continue;
        }
        let v = std::str::from_utf8(field.value)
            .map_err(|_| ParseErrorKind::BadContentLength("not a number"))?;
        let n = value::content_length(&unfold(v)).map_err(ParseErrorKind::BadContentLength)?;
        if found.is_some_and(|old| old != n) {
            return Err(ParseErrorKind::BadContentLength("conflicting values"));
        }
        found = Some(n);
    }
    Ok(found)
}
