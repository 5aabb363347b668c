//! Start line and header section to a typed [`Message`]: the datagram body rules and
//! the checks every element applies (required, single-valued and matching headers).

use std::borrow::Cow;

use crate::message::{
    CSeq, Head, Headers, Message, Method, NameAddr, Request, Response, StatusCode, Uri, Via,
};

use super::error::{Origin, ParseError, ParseErrorKind};
use super::lines::{
    find_byte, find_crlf, first_line, is_wsp, rsplit_once_byte, split_once_byte, trim_wsp, unfold,
    Fields,
};
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
        let (ver, rest) = split_once_byte(line, b' ').ok_or(BadStartLine("no SP after version"))?;
        version(ver)?;
        // Liberal, as for requests below: extra SP before the code is skipped.
        let rest = rest.trim_start_matches(' ');
        let (code, reason) = split_once_byte(rest, b' ').unwrap_or((rest, ""));
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
    let (method, rest) = split_once_byte(line, b' ').ok_or(BadStartLine("no SP after method"))?;
    if !is_token(method) {
        return Err(BadStartLine("method is not a token"));
    }
    let rest = rest.trim_start_matches(' ');
    let (uri, ver) = rsplit_once_byte(rest, b' ').ok_or(BadStartLine("no SIP version"))?;
    version(ver)?;
    let uri = uri.trim_end_matches(' ');
    if uri.is_empty() {
        return Err(BadStartLine("no Request-URI"));
    }
    if uri.bytes().any(is_wsp) {
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

/// Parses each element of a list header into `dest`.
///
/// Errors are those of splitting the whole list first: an empty element anywhere
/// wins over a bad or excess element before it. The common, valid case is one pass.
fn list<T>(
    dest: &mut Vec<T>,
    name: &'static str,
    value: &str,
    limits: &Limits,
    parse: fn(&str) -> VResult<T>,
) -> Result<(), ParseErrorKind> {
    let mut elements = value::list_elements(value);
    while let Some(element) = elements.next() {
        let element = element.map_err(|r| bad(name, r))?;
        let step = if dest.len() >= limits.max_headers {
            Err(ParseErrorKind::TooLarge {
                what: "list",
                limit: limits.max_headers,
            })
        } else {
            parse(element)
                .map(|v| dest.push(v))
                .map_err(|r| bad(name, r))
        };
        if let Err(e) = step {
            if let Some(Err(r)) = elements.find(Result::is_err) {
                return Err(bad(name, r));
            }
            return Err(e);
        }
    }
    Ok(())
}

/// The headers [`Builder`] types; every other header is kept opaque.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Core {
    Via,
    From,
    To,
    CallId,
    CSeq,
    MaxForwards,
    ContentType,
    ContentLength,
    Contact,
    Route,
    RecordRoute,
}

/// Which core header `name` is, in long or compact form (RFC 3261 §7.3.3),
/// case-insensitively: the answer `canonical_name` would give, without walking its
/// table for every header of every message.
fn core_header(name: &str) -> Option<Core> {
    // Senders nearly always use the canonical spelling: one exact match (length and
    // memcmp) settles it before any case-insensitive compare.
    let exact = match name {
        "Via" => Some(Core::Via),
        "From" => Some(Core::From),
        "To" => Some(Core::To),
        "Call-ID" => Some(Core::CallId),
        "CSeq" => Some(Core::CSeq),
        "Max-Forwards" => Some(Core::MaxForwards),
        "Content-Type" => Some(Core::ContentType),
        "Content-Length" => Some(Core::ContentLength),
        "Contact" => Some(Core::Contact),
        "Route" => Some(Core::Route),
        "Record-Route" => Some(Core::RecordRoute),
        _ => None,
    };
    exact.or_else(|| core_header_any_case(name))
}

/// [`core_header`] for compact forms and other spellings.
fn core_header_any_case(name: &str) -> Option<Core> {
    let is = |long: &str| name.eq_ignore_ascii_case(long);
    match name.len() {
        1 => match name.as_bytes().first()?.to_ascii_lowercase() {
            b'v' => Some(Core::Via),
            b'f' => Some(Core::From),
            b't' => Some(Core::To),
            b'i' => Some(Core::CallId),
            b'c' => Some(Core::ContentType),
            b'l' => Some(Core::ContentLength),
            b'm' => Some(Core::Contact),
            _ => None,
        },
        2 if is("To") => Some(Core::To),
        3 if is("Via") => Some(Core::Via),
        4 if is("From") => Some(Core::From),
        4 if is("CSeq") => Some(Core::CSeq),
        5 if is("Route") => Some(Core::Route),
        7 if is("Call-ID") => Some(Core::CallId),
        7 if is("Contact") => Some(Core::Contact),
        12 if is("Max-Forwards") => Some(Core::MaxForwards),
        12 if is("Content-Type") => Some(Core::ContentType),
        12 if is("Record-Route") => Some(Core::RecordRoute),
        14 if is("Content-Length") => Some(Core::ContentLength),
        _ => None,
    }
}

impl Builder {
    fn add(
        &mut self,
        name: &str,
        value: Cow<'_, str>,
        limits: &Limits,
    ) -> Result<(), ParseErrorKind> {
        let Some(core) = core_header(name) else {
            self.other.push(name, value);
            return Ok(());
        };
        match core {
            Core::Via => list(&mut self.via, "Via", &value, limits, value::via)?,
            Core::From => once(&mut self.from, "From", || value::name_addr(&value))?,
            Core::To => once(&mut self.to, "To", || value::name_addr(&value))?,
            Core::CallId => once(&mut self.call_id, "Call-ID", || {
                value::call_id(&value).map(str::to_owned)
            })?,
            Core::CSeq => once(&mut self.cseq, "CSeq", || value::cseq(&value))?,
            Core::MaxForwards => once(&mut self.max_forwards, "Max-Forwards", || {
                value::max_forwards(&value)
            })?,
            Core::ContentType => once(&mut self.content_type, "Content-Type", || {
                if value.is_empty() || find_byte(&value, b'/').is_none() {
                    Err("expected type/subtype")
                } else {
                    Ok(value.into_owned())
                }
            })?,
            Core::ContentLength => {
                let n = value::content_length(&value).map_err(ParseErrorKind::BadContentLength)?;
                if self.content_length.is_some_and(|old| old != n) {
                    // RFC 4475 §3.3.9 (mcl01): framing is lost.
                    return Err(ParseErrorKind::BadContentLength("conflicting values"));
                }
                self.content_length = Some(n);
            }
            Core::Contact if value == "*" => {
                if !self.contact.is_empty() {
                    return Err(bad("Contact", "'*' mixed with addresses"));
                }
                self.contact_wildcard = true;
            }
            Core::Contact => {
                if self.contact_wildcard {
                    return Err(bad("Contact", "'*' mixed with addresses"));
                }
                list(
                    &mut self.contact,
                    "Contact",
                    &value,
                    limits,
                    value::name_addr,
                )?
            }
            Core::Route => list(&mut self.route, "Route", &value, limits, value::name_addr)?,
            Core::RecordRoute => list(
                &mut self.record_route,
                "Record-Route",
                &value,
                limits,
                value::name_addr,
            )?,
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
    // The origin only matters for an error, so it is worked out only then.
    match parse_inner(head, rest, limits) {
        Ok(m) => Ok(m),
        Err(k) => Err(ParseError::new(k, origin_of(first_line(head)))),
    }
}

fn parse_inner(head: &[u8], rest: &[u8], limits: &Limits) -> Result<Message, ParseErrorKind> {
    use ParseErrorKind::TooLarge;
    // The one UTF-8 validation: names and values below are sliced from this str at
    // ASCII delimiters, which are always char boundaries.
    let head = std::str::from_utf8(head).map_err(|_| ParseErrorKind::NotUtf8)?;
    let (first, headers) = match find_crlf(head.as_bytes(), 0) {
        Some(p) => (
            head.get(..p).unwrap_or(head),
            head.get(p + 2..).unwrap_or(""),
        ),
        None => (head, ""),
    };
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
        let name = headers
            .get(field.start..field.start + field.name.len())
            .ok_or(ParseErrorKind::NotUtf8)?;
        let raw_value = headers
            .get(field.value_start()..field.start + field.raw.len())
            .ok_or(ParseErrorKind::NotUtf8)?;
        // Only a folded value needs a copy to unfold it.
        let value = match field.folded {
            true => unfold(raw_value),
            false => Cow::Borrowed(trim_wsp(raw_value)),
        };
        b.add(name, value, limits)?;
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
