//! Start line and header section to a typed [`Message`]: the datagram body rules and
//! the checks every element applies (required, single-valued and matching headers).

use crate::message::canonical_name;
use crate::message::{
    CSeq, Head, Headers, Message, Method, NameAddr, Request, Response, StatusCode, Uri, Via,
};

use super::error::{Origin, ParseError, ParseErrorKind};
use super::lines::{find_crlf, unfold, Fields};
use super::value::{self, VResult};
use super::Limits;

/// The first line of a message.
pub(crate) enum StartLine {
    Request { method: Method, uri: Uri },
    Response { status: StatusCode, reason: String },
}

/// Whether a first line is a Status-Line (starts with `SIP/`), a Request-Line (its
/// last SP-separated word starts with `SIP/`, however malformed the rest), or neither.
pub(crate) fn origin_of(first_line: &[u8]) -> Origin {
    let is_version = |w: &[u8]| w.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"));
    if is_version(first_line) {
        return Origin::Response;
    }
    let mut end = first_line.len();
    while end > 0 && first_line.get(end - 1) == Some(&b' ') {
        end -= 1;
    }
    let line = first_line.get(..end).unwrap_or(first_line);
    match line.iter().rposition(|&b| b == b' ') {
        Some(sp) if is_version(line.get(sp + 1..).unwrap_or(&[])) => Origin::Request,
        _ => Origin::Unknown,
    }
}

fn version(v: &str) -> Result<(), ParseErrorKind> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let other_version = v.len() <= 16
        && v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
        && v.get(4..)
            .and_then(|r| r.split_once('.'))
            .is_some_and(|(a, b)| digits(a) && digits(b));
    if other_version {
        Err(ParseErrorKind::UnsupportedVersion(v.to_owned()))
    } else {
        Err(ParseErrorKind::BadStartLine("bad SIP version"))
    }
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(super::lines::is_token_byte)
}

/// Parses a Request-Line or Status-Line (without its CRLF).
pub(crate) fn start_line(line: &str) -> Result<StartLine, ParseErrorKind> {
    use ParseErrorKind::{BadRequestUri, BadStartLine, BadStatusCode};
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        let (ver, rest) = line
            .split_once(' ')
            .ok_or(BadStartLine("no SP after version"))?;
        version(ver)?;
        // Liberal, as for requests below: extra SP before the code is skipped.
        let rest = rest.trim_start_matches(' ');
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadStatusCode);
        }
        let status = code
            .parse()
            .ok()
            .and_then(StatusCode::new)
            .ok_or(BadStatusCode)?;
        // The reason phrase may be empty (RFC 4475 §3.1.1.13) or UTF-8 (§3.1.1.12).
        return Ok(StartLine::Response {
            status,
            reason: reason.to_owned(),
        });
    }
    // RFC 4475 §3.1.2.9 (lwsstart) and §3.1.2.10 (trws): several SP between the
    // elements and SP after the version are accepted and dropped (the RFC allows
    // this liberal choice); the printer never emits them, so they are not forwarded.
    let line = line.trim_end_matches(' ');
    let (method, rest) = line
        .split_once(' ')
        .ok_or(BadStartLine("no SP after method"))?;
    if !is_token(method) {
        return Err(BadStartLine("method is not a token"));
    }
    let rest = rest.trim_start_matches(' ');
    let (uri, ver) = rest
        .rsplit_once(' ')
        .ok_or(BadStartLine("no SIP version"))?;
    version(ver)?;
    let uri = uri.trim_end_matches(' ');
    if uri.is_empty() {
        return Err(BadStartLine("no Request-URI"));
    }
    if uri.contains([' ', '\t']) {
        // RFC 4475 §3.1.2.8 (lwsruri): rejected.
        return Err(BadRequestUri("whitespace in Request-URI"));
    }
    let uri = value::uri(uri).map_err(BadRequestUri)?;
    if uri.as_sip().is_some_and(|u| !u.headers.is_empty()) {
        // RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI; RFC 4475
        // §3.1.2.11 (escruri): rejected with 400.
        return Err(BadRequestUri("headers in Request-URI"));
    }
    Ok(StartLine::Request {
        method: Method::from_token(method),
        uri,
    })
}

/// Collects header values while the header section is walked.
#[derive(Default)]
struct Builder {
    via: Vec<Via>,
    from: Option<NameAddr>,
    to: Option<NameAddr>,
    call_id: Option<String>,
    cseq: Option<CSeq>,
    max_forwards: Option<u32>,
    contact: Vec<NameAddr>,
    contact_wildcard: bool,
    route: Vec<NameAddr>,
    record_route: Vec<NameAddr>,
    content_type: Option<String>,
    content_length: Option<usize>,
    other: Headers,
}

fn once<T>(
    slot: &mut Option<T>,
    name: &'static str,
    v: impl FnOnce() -> VResult<T>,
) -> Result<(), ParseErrorKind> {
    if slot.is_some() {
        return Err(ParseErrorKind::DuplicateHeader(name));
    }
    *slot = Some(v().map_err(|reason| bad(name, reason))?);
    Ok(())
}

fn bad(name: &str, reason: &'static str) -> ParseErrorKind {
    ParseErrorKind::BadHeader {
        name: name.to_owned(),
        reason,
    }
}

fn list<T>(
    dest: &mut Vec<T>,
    name: &'static str,
    value: &str,
    limits: &Limits,
    parse: fn(&str) -> VResult<T>,
) -> Result<(), ParseErrorKind> {
    for v in value::split_list(value).map_err(|r| bad(name, r))? {
        if dest.len() >= limits.max_headers {
            return Err(ParseErrorKind::TooLarge {
                what: "list",
                limit: limits.max_headers,
            });
        }
        dest.push(parse(v).map_err(|r| bad(name, r))?);
    }
    Ok(())
}

impl Builder {
    fn add(&mut self, name: &str, value: &str, limits: &Limits) -> Result<(), ParseErrorKind> {
        match canonical_name(name) {
            "Via" => list(&mut self.via, "Via", value, limits, value::via)?,
            "From" => once(&mut self.from, "From", || value::name_addr(value))?,
            "To" => once(&mut self.to, "To", || value::name_addr(value))?,
            "Call-ID" => once(&mut self.call_id, "Call-ID", || {
                value::call_id(value).map(str::to_owned)
            })?,
            "CSeq" => once(&mut self.cseq, "CSeq", || value::cseq(value))?,
            "Max-Forwards" => once(&mut self.max_forwards, "Max-Forwards", || {
                value::max_forwards(value)
            })?,
            "Content-Type" => once(&mut self.content_type, "Content-Type", || {
                if value.is_empty() || !value.contains('/') {
                    Err("expected type/subtype")
                } else {
                    Ok(value.to_owned())
                }
            })?,
            "Content-Length" => {
                let n = value::content_length(value).map_err(ParseErrorKind::BadContentLength)?;
                if self.content_length.is_some_and(|old| old != n) {
                    // RFC 4475 §3.3.9 (mcl01): framing is lost.
                    return Err(ParseErrorKind::BadContentLength("conflicting values"));
                }
                self.content_length = Some(n);
            }
            "Contact" if value == "*" => {
                if !self.contact.is_empty() {
                    return Err(bad("Contact", "'*' mixed with addresses"));
                }
                self.contact_wildcard = true;
            }
            "Contact" => {
                if self.contact_wildcard {
                    return Err(bad("Contact", "'*' mixed with addresses"));
                }
                list(
                    &mut self.contact,
                    "Contact",
                    value,
                    limits,
                    value::name_addr,
                )?
            }
            "Route" => list(&mut self.route, "Route", value, limits, value::name_addr)?,
            "Record-Route" => list(
                &mut self.record_route,
                "Record-Route",
                value,
                limits,
                value::name_addr,
            )?,
            _ => self.other.push(name, value),
        }
        Ok(())
    }

    fn finish(self) -> Result<(Head, Option<usize>), ParseErrorKind> {
        use ParseErrorKind::MissingHeader;
        let to = self.to.ok_or(MissingHeader("To"))?;
        let from = self.from.ok_or(MissingHeader("From"))?;
        let call_id = self.call_id.ok_or(MissingHeader("Call-ID"))?;
        let cseq = self.cseq.ok_or(MissingHeader("CSeq"))?;
        if self.via.is_empty() {
            return Err(MissingHeader("Via"));
        }
        let mut head = Head::new(from, to, call_id, cseq);
        head.via = self.via;
        head.max_forwards = self.max_forwards;
        head.contact = self.contact;
        head.contact_wildcard = self.contact_wildcard;
        head.route = self.route;
        head.record_route = self.record_route;
        head.content_type = self.content_type;
        head.other = self.other;
        Ok((head, self.content_length))
    }
}

/// Parses a message whose header section is `head` (start line and header lines,
/// without the final CRLF CRLF) and whose body is framed within `rest` (the octets
/// after the header section): Content-Length octets of it, or all of it when there is
/// no Content-Length (RFC 3261 §18.3 and §20.14 for datagrams, RFC 4475 §3.4.1).
pub(crate) fn parse_message(
    head: &[u8],
    rest: &[u8],
    limits: &Limits,
) -> Result<Message, ParseError> {
    let origin = origin_of(
        head.get(..find_crlf(head, 0).unwrap_or(head.len()))
            .unwrap_or(head),
    );
    parse_inner(head, rest, limits).map_err(|k| ParseError::new(k, origin))
}

fn parse_inner(head: &[u8], rest: &[u8], limits: &Limits) -> Result<Message, ParseErrorKind> {
    use ParseErrorKind::TooLarge;
    let head = std::str::from_utf8(head).map_err(|_| ParseErrorKind::NotUtf8)?;
    let (first, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    if first.len() > limits.max_line {
        return Err(TooLarge {
            what: "line",
            limit: limits.max_line,
        });
    }
    let start = start_line(first)?;
    let mut b = Builder::default();
    let mut count = 0usize;
    for field in Fields::new(headers.as_bytes()) {
        let field = field.map_err(ParseErrorKind::BadHeaderLine)?;
        count += 1;
        if count > limits.max_headers {
            return Err(TooLarge {
                what: "header count",
                limit: limits.max_headers,
            });
        }
        if field.raw.len() > limits.max_line
            && field
                .raw
                .split(|&b| b == b'\n')
                .any(|l| l.strip_suffix(b"\r").unwrap_or(l).len() > limits.max_line)
        {
            return Err(TooLarge {
                what: "line",
                limit: limits.max_line,
            });
        }
        // Fields split at ASCII bytes of a validated str, so these never fail.
        let name = std::str::from_utf8(field.name).map_err(|_| ParseErrorKind::NotUtf8)?;
        let raw_value = std::str::from_utf8(field.value).map_err(|_| ParseErrorKind::NotUtf8)?;
        b.add(name, &unfold(raw_value), limits)?;
    }
    let (head, content_length) = b.finish()?;
    let body = match content_length {
        Some(n) if n > limits.max_body => {
            return Err(TooLarge {
                what: "body",
                limit: limits.max_body,
            })
        }
        Some(n) => rest.get(..n).ok_or(ParseErrorKind::BodyTruncated {
            declared: n,
            available: rest.len(),
        })?,
        None if rest.len() > limits.max_body => {
            return Err(TooLarge {
                what: "body",
                limit: limits.max_body,
            })
        }
        None => rest,
    };
    let body = body.to_vec();
    Ok(match start {
        StartLine::Request { method, uri } => {
            if head.cseq.method != method {
                return Err(ParseErrorKind::CSeqMismatch {
                    method,
                    cseq_method: head.cseq.method,
                });
            }
            Message::Request(Request {
                method,
                uri,
                head,
                body,
            })
        }
        StartLine::Response { status, reason } => Message::Response(Response {
            status,
            reason,
            head,
            body,
        }),
    })
}
