//! Typed header value parsers: URIs, name-addr (From/To/Contact/Route), Via, CSeq,
//! Max-Forwards, Content-Length, generic parameters and list splitting.
//!
//! Every function takes one unfolded value (see RFC 3261 §7.3.1) and is pure. The
//! internal functions return a short static reason; the public wrappers in
//! [`super`] turn it into a [`ParseError`](super::ParseError).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::message::{CSeq, Host, Method, NameAddr, Params, SipUri, Uri, Via};

use super::lines::{
    find_byte, is_token_byte, is_wsp, split_byte, split_once_byte, trim_end_wsp, trim_start_wsp,
    trim_wsp,
};

pub(crate) type VResult<T> = Result<T, &'static str>;

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// `s` cut at byte `i`, or `(s, "")` if `i` is not a char boundary. Callers cut only
/// at ASCII octets, which are always boundaries.
fn cut(s: &str, i: usize) -> (&str, &str) {
    match (s.get(..i), s.get(i..)) {
        (Some(a), Some(b)) => (a, b),
        _ => (s, ""),
    }
}

/// The pieces of a string split at a separator outside quoted strings and,
/// optionally, outside `<…>`; see [`split_top`].
pub(crate) struct TopPieces<'a> {
    s: &'a str,
    /// Start of the next piece; `None` once the last piece was returned.
    start: Option<usize>,
    sep: u8,
    angles: bool,
}

impl<'a> Iterator for TopPieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let start = self.start?;
        let bytes = self.s.as_bytes();
        // Jump between the octets that matter: a separator only counts outside
        // quotes and angles, so the scan is back at the top level at each piece.
        let mut i = start;
        loop {
            let tail = bytes.get(i..).unwrap_or(&[]);
            let hit = match self.angles {
                true => memchr::memchr3(self.sep, b'"', b'<', tail),
                false => memchr::memchr2(self.sep, b'"', tail),
            };
            let Some(at) = hit.map(|off| i + off) else {
                break;
            };
            match bytes.get(at) {
                Some(b'"') => i = after_quoted(bytes, at + 1),
                Some(b'<') if self.angles => {
                    // Up to the '>' (no quoting inside angles), or to the end.
                    let close = memchr::memchr(b'>', bytes.get(at + 1..).unwrap_or(&[]));
                    i = close.map_or(bytes.len(), |off| at + 1 + off + 1);
                }
                _ => {
                    // `sep` is ASCII, so `at` and `start` are char boundaries.
                    self.start = Some(at + 1);
                    return Some(self.s.get(start..at).unwrap_or(""));
                }
            }
        }
        self.start = None;
        Some(self.s.get(start..).unwrap_or(""))
    }
}

/// Index after the `"` closing a quoted string whose contents start at `from`
/// (a backslash escapes the next octet), or past the end when it is unterminated.
fn after_quoted(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(off) = memchr::memchr2(b'\\', b'"', bytes.get(i..).unwrap_or(&[])) {
        let at = i + off;
        if bytes.get(at) == Some(&b'"') {
            return at + 1;
        }
        i = at + 2;
    }
    bytes.len()
}

/// Splits `s` at `sep` where it is outside quoted strings and, when `angles`, outside
/// `<…>`. Pieces are returned untrimmed. An unterminated quote or bracket runs to the
/// end (the piece's own parser reports it).
pub(crate) fn split_top(s: &str, sep: u8, angles: bool) -> TopPieces<'_> {
    TopPieces {
        s,
        start: Some(0),
        sep,
        angles,
    }
}

/// The elements of a comma-separated header value (RFC 3261 §7.3.1), trimmed,
/// respecting quoted strings and `<…>`; an empty element is an error.
pub(crate) fn list_elements(s: &str) -> impl Iterator<Item = VResult<&str>> {
    split_top(s, b',', true).map(|p| {
        let p = trim_wsp(p);
        if p.is_empty() {
            Err("empty list element")
        } else {
            Ok(p)
        }
    })
}

/// Splits a comma-separated header value (RFC 3261 §7.3.1) respecting quoted strings
/// and `<…>`; elements are trimmed; an empty element is an error.
pub(crate) fn split_list(s: &str) -> VResult<Vec<&str>> {
    list_elements(s).collect()
}

/// `"…"` at the start of `s`: returns the contents (quoted-pairs kept escaped) and
/// what follows the closing quote.
pub(crate) fn quoted(s: &str) -> VResult<(&str, &str)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'"') {
        return Err("expected a quoted string");
    }
    // Byte-wise: every octet of a multi-byte char is >= 0x80, so none is mistaken
    // for a quote, a backslash or a control character; a backslash escapes the next
    // octet, and any further octets of an escaped char pass as ordinary ones.
    let mut i = 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' if b.get(i + 1).is_none() => break,
            b'\\' => i += 1,
            b'"' => {
                let inner = s.get(1..i).ok_or("bad quoted string")?;
                let rest = s.get(i + 1..).ok_or("bad quoted string")?;
                return Ok((inner, rest));
            }
            c if (c < b' ' && c != b'\t') || c == 0x7f => {
                return Err("control character in quoted string")
            }
            _ => {}
        }
        i += 1;
    }
    Err("unterminated quoted string")
}

/// How an octet of a URI is treated by [`scan_uri`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum UriOctet {
    /// Never allowed raw (RFC 3986/3261): controls, space, `"<>\^`{|}`, non-ASCII;
    /// these must be %-escaped.
    Bad,
    /// Allowed, nothing to note.
    Plain,
    /// Allowed, and its position matters: `:`, `@` or `%`.
    Marker,
}

const URI_OCTETS: [UriOctet; 256] = {
    let mut t = [UriOctet::Bad; 256];
    let mut i = 0x21;
    while i < 0x7f {
        t[i] = match i as u8 {
            b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' => UriOctet::Bad,
            b':' | b'@' | b'%' => UriOctet::Marker,
            _ => UriOctet::Plain,
        };
        i += 1;
    }
    t
};

/// What one pass over a URI finds, so later steps need not search again.
struct UriScan {
    /// The first `:` (ends the scheme).
    colon: Option<usize>,
    /// The first `@` (ends the userinfo of a SIP URI).
    at: Option<usize>,
    /// Whether there is any `%` whose escape must be checked.
    percent: bool,
}

/// Scans a URI; `None` when an octet is not allowed raw.
fn scan_uri(s: &str) -> Option<UriScan> {
    let mut scan = UriScan {
        colon: None,
        at: None,
        percent: false,
    };
    for (i, b) in s.bytes().enumerate() {
        match URI_OCTETS[usize::from(b)] {
            UriOctet::Plain => {}
            UriOctet::Bad => return None,
            UriOctet::Marker => match b {
                b':' => {
                    scan.colon.get_or_insert(i);
                }
                b'@' => {
                    scan.at.get_or_insert(i);
                }
                _ => scan.percent = true,
            },
        }
    }
    Some(scan)
}

/// Checks that every `%` starts a `%HH` escape (RFC 3261 `escaped`).
fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'%', b.get(i..).unwrap_or(&[])) {
        let pct = i + off;
        let ok = b.get(pct + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(pct + 2).is_some_and(u8::is_ascii_hexdigit);
        if !ok {
            return false;
        }
        i = pct + 3;
    }
    true
}

/// A URI: `sip:`/`sips:` parsed (RFC 3261 §19.1.1), any other scheme kept opaque.
pub(crate) fn uri(s: &str) -> VResult<Uri> {
    if s.is_empty() {
        return Err("empty URI");
    }
    let scan = scan_uri(s).ok_or("character not allowed in a URI")?;
    let colon = scan.colon.ok_or("no scheme")?;
    let (scheme, rest) = (cut(s, colon).0, s.get(colon + 1..).unwrap_or(""));
    let mut sc = scheme.bytes();
    let scheme_ok = sc.next().is_some_and(|b| b.is_ascii_alphabetic())
        && sc.all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.');
    if !scheme_ok {
        return Err("bad scheme");
    }
    if rest.is_empty() {
        return Err("nothing after the scheme");
    }
    // A valid scheme holds no '@' or '%', so both are in `rest`.
    let at = scan.at.and_then(|a| a.checked_sub(colon + 1));
    if scheme.eq_ignore_ascii_case("sip") {
        sip_uri(rest, false, at, scan.percent).map(Uri::Sip)
    } else if scheme.eq_ignore_ascii_case("sips") {
        sip_uri(rest, true, at, scan.percent).map(Uri::Sip)
    } else {
        Ok(Uri::Other {
            scheme: scheme.to_owned(),
            rest: rest.to_owned(),
        })
    }
}

/// The part of a SIP URI after `sip:`; `at` is the first `@` in `s`, and `percent`
/// whether `s` holds any `%`.
fn sip_uri(s: &str, secure: bool, at: Option<usize>, percent: bool) -> VResult<SipUri> {
    if percent && !escapes_ok(s) {
        return Err("bad % escape");
    }
    // '@' is allowed nowhere else in a SIP URI, so the first one ends the userinfo;
    // the user part may hold ';', '?', '/' and ',' (RFC 4475 §3.1.1.2, §3.1.1.9).
    let (userinfo, hostpart) = match at {
        Some(at) => (Some(cut(s, at).0), s.get(at + 1..).unwrap_or("")),
        None => (None, s),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(u) => {
            let (user, pw) = match split_once_byte(u, b':') {
                Some((user, pw)) => (user, Some(pw)),
                None => (u, None),
            };
            if user.is_empty() {
                return Err("empty user part");
            }
            (Some(user.to_owned()), pw.map(str::to_owned))
        }
    };
    // hostport ends at ';' or '?'
    let hp_end = hostpart
        .bytes()
        .position(|b| b == b';' || b == b'?')
        .unwrap_or(hostpart.len());
    let (hostport, after) = cut(hostpart, hp_end);
    let (host, port) = hostport_parse(hostport)?;
    let (params_str, headers_str) = match split_once_byte(after, b'?') {
        Some((p, h)) => (p, Some(h)),
        None => (after, None),
    };
    let mut params = Params::new();
    if let Some(p) = params_str.strip_prefix(';') {
        for piece in split_byte(p, b';') {
            let (name, value) = match split_once_byte(piece, b'=') {
                Some((n, v)) => {
                    if v.is_empty() {
                        return Err("empty URI parameter value");
                    }
                    (n, Some(v.to_owned()))
                }
                None => (piece, None),
            };
            if name.is_empty() {
                return Err("empty URI parameter");
            }
            params.push(name.to_owned(), value);
        }
    }
    let mut headers = Vec::new();
    if let Some(h) = headers_str {
        for piece in split_byte(h, b'&') {
            let (n, v) = split_once_byte(piece, b'=').ok_or("URI header without '='")?;
            if n.is_empty() {
                return Err("empty URI header name");
            }
            headers.push((n.to_owned(), v.to_owned()));
        }
    }
    Ok(SipUri {
        secure,
        user,
        password,
        host,
        port,
        params,
        headers,
    })
}

/// `host[:port]` with host a name, IPv4 address or `[IPv6]`; no whitespace.
fn hostport_parse(s: &str) -> VResult<(Host, Option<u16>)> {
    let (host_str, port_str) = if s.starts_with('[') {
        let close = find_byte(s, b']').ok_or("unterminated IPv6 reference")?;
        let (h, rest) = cut(s, close + 1);
        match rest {
            "" => (h, None),
            r => (
                h,
                Some(r.strip_prefix(':').ok_or("junk after IPv6 reference")?),
            ),
        }
    } else {
        match split_once_byte(s, b':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let host = host(host_str)?;
    let port = port_str.map(port).transpose()?;
    Ok((host, port))
}

fn port(s: &str) -> VResult<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("bad port");
    }
    s.parse().map_err(|_| "port out of range")
}

/// How an octet of a host name is treated by [`host`].
#[derive(Clone, Copy)]
enum HostOctet {
    Bad,
    /// Could be part of a dotted IPv4 address.
    DigitOrDot,
    /// Letters, `-` and `_`.
    Other,
}

const HOST_OCTETS: [HostOctet; 256] = {
    let mut t = [HostOctet::Bad; 256];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        if b.is_ascii_digit() || b == b'.' {
            t[i] = HostOctet::DigitOrDot;
        } else if b.is_ascii_alphabetic() || b == b'-' || b == b'_' {
            t[i] = HostOctet::Other;
        }
        i += 1;
    }
    t
};

/// A host: `[IPv6]`, dotted IPv4, or a domain name (letters, digits, `-`, `.`, `_`).
pub(crate) fn host(s: &str) -> VResult<Host> {
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or("unterminated IPv6 reference")?;
        return inner
            .parse::<Ipv6Addr>()
            .map(Host::V6)
            .map_err(|_| "bad IPv6 address");
    }
    if s.is_empty() {
        return Err("empty host");
    }
    // One pass for both questions: is every octet allowed, and could it be IPv4.
    let mut dotted_digits = true;
    for b in s.bytes() {
        match HOST_OCTETS[usize::from(b)] {
            HostOctet::DigitOrDot => {}
            HostOctet::Other => dotted_digits = false,
            HostOctet::Bad => return Err("bad character in host"),
        }
    }
    if dotted_digits {
        if let Ok(a) = s.parse::<Ipv4Addr>() {
            return Ok(Host::V4(a));
        }
    }
    Ok(Host::Name(s.to_owned()))
}

/// `*( SEMI generic-param )` (RFC 3261 §25.1), LWS allowed around `;` and `=`.
/// Values may be tokens, hosts or quoted strings (kept with their quotes).
pub(crate) fn generic_params(s: &str, dest: &mut Params) -> VResult<()> {
    let s = trim_wsp(s);
    if s.is_empty() {
        return Ok(());
    }
    let Some(s) = s.strip_prefix(';') else {
        return Err("unexpected text before parameters");
    };
    for piece in split_top(s, b';', false) {
        let (name, value) = match plain_param(piece) {
            Some(p) => p,
            None => param(piece)?,
        };
        dest.push(name.to_owned(), value.map(str::to_owned));
    }
    Ok(())
}

/// Octets of an unquoted parameter value: token characters, plus `[]:` for IPv6
/// hosts (`received=[2001:db8::1]`).
fn is_param_value_byte(b: u8) -> bool {
    is_token_byte(b) || b == b'[' || b == b']' || b == b':'
}

/// The common `name[=value]`, with no LWS and no quotes, in one pass. `None` for
/// anything else, which [`param`] then handles; for what this accepts, [`param`]
/// gives the same answer.
fn plain_param(piece: &str) -> Option<(&str, Option<&str>)> {
    let b = piece.as_bytes();
    let name_end = b.iter().position(|&c| !is_token_byte(c)).unwrap_or(b.len());
    if name_end == 0 {
        return None;
    }
    match b.get(name_end) {
        None => Some((piece, None)),
        Some(b'=') => {
            let (name, value) = (piece.get(..name_end)?, piece.get(name_end + 1..)?);
            let plain = !value.is_empty() && value.bytes().all(is_param_value_byte);
            plain.then_some((name, Some(value)))
        }
        Some(_) => None,
    }
}

/// One `generic-param` (a piece between `;`), LWS allowed around it and `=`.
fn param(piece: &str) -> VResult<(&str, Option<&str>)> {
    let piece = trim_wsp(piece);
    if piece.is_empty() {
        return Err("empty parameter");
    }
    let (name, value) = match split_once_byte(piece, b'=') {
        Some((n, v)) => (trim_wsp(n), Some(trim_wsp(v))),
        None => (piece, None),
    };
    if !is_token(name) {
        return Err("parameter name is not a token");
    }
    if let Some(v) = value {
        if v.starts_with('"') {
            let (_, rest) = quoted(v)?;
            if !rest.is_empty() {
                return Err("text after quoted parameter value");
            }
        } else if v.is_empty() || !v.bytes().all(is_param_value_byte) {
            return Err("bad parameter value");
        }
    }
    Ok((name, value))
}

/// The SP/HTAB-separated words of `s`, skipping empty ones.
fn words(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let r = trim_start_wsp(rest);
        if r.is_empty() {
            return None;
        }
        let end = r.bytes().position(is_wsp).unwrap_or(r.len());
        let (word, tail) = cut(r, end);
        rest = tail;
        Some(word)
    })
}

/// An unquoted display name: token words, joined by single SPs; `None` when there
/// are none.
fn token_display(d: &str) -> VResult<Option<String>> {
    let mut display: Option<String> = None;
    for w in words(d) {
        if !is_token(w) {
            return Err("display name is neither a token sequence nor quoted");
        }
        match &mut display {
            Some(out) => {
                out.push(' ');
                out.push_str(w);
            }
            None => display = Some(w.to_owned()),
        }
    }
    Ok(display)
}

/// `[display-name] <URI> *(;param)` or `addr-spec *(;param)` (RFC 3261 §20.10). In
/// the bare form the URI ends at the first `;` and what follows are header
/// parameters (RFC 4475 §3.3.12), and a URI with `?headers` must be in `<>`
/// (RFC 4475 §3.1.2.13: rejected).
pub(crate) fn name_addr(s: &str) -> VResult<NameAddr> {
    let s = trim_wsp(s);
    let (display, after_display) = if s.starts_with('"') {
        let (inner, rest) = quoted(s)?;
        let rest = trim_start_wsp(rest);
        if !rest.starts_with('<') {
            return Err("quoted display name not followed by <URI>");
        }
        (Some(inner.to_owned()), rest)
    } else {
        let lt = find_byte(s, b'<');
        let before = lt.map(|lt| cut(s, lt));
        match before {
            Some((d, rest)) if !d.bytes().any(|b| b == b';' || b == b'"') => {
                // No LWS needed before '<' (RFC 4475 §3.1.1.6, lwsdisp).
                (token_display(d)?, rest)
            }
            _ => return bare_addr_spec(s),
        }
    };
    let inner = after_display.strip_prefix('<').ok_or("expected <")?;
    let gt = find_byte(inner, b'>').ok_or("unterminated <URI>")?;
    let (u, rest) = cut(inner, gt);
    let rest = rest.get(1..).unwrap_or("");
    let starts_or_ends_wsp =
        |u: &str| u.bytes().next().is_some_and(is_wsp) || u.bytes().next_back().is_some_and(is_wsp);
    if starts_or_ends_wsp(u) {
        // RFC 4475 §3.1.2.14 (badaspec): rejected rather than guessed.
        return Err("whitespace inside <>");
    }
    let uri = uri(u)?;
    let mut params = Params::new();
    generic_params(rest, &mut params)?;
    Ok(NameAddr {
        display,
        uri,
        params,
    })
}

/// The `addr-spec *(;param)` form of [`name_addr`]: the URI ends at the first `;`.
fn bare_addr_spec(s: &str) -> VResult<NameAddr> {
    let end = find_byte(s, b';').unwrap_or(s.len());
    let (u, rest) = cut(s, end);
    let u = trim_end_wsp(u);
    if find_byte(u, b'?').is_some() {
        return Err("URI with headers must be enclosed in <>");
    }
    if find_byte(u, b',').is_some() {
        return Err("URI with a comma must be enclosed in <>");
    }
    let uri = uri(u)?;
    let mut params = Params::new();
    generic_params(rest, &mut params)?;
    Ok(NameAddr {
        display: None,
        uri,
        params,
    })
}

fn take_token(s: &str) -> (&str, &str) {
    let end = s.bytes().position(|b| !is_token_byte(b)).unwrap_or(s.len());
    cut(s, end)
}

/// One Via value: `SIP / 2.0 / UDP host[:port] *(;param)`, LWS allowed around `/`,
/// `:` and `;` (RFC 3261 §20.42, RFC 4475 §3.1.1.1).
pub(crate) fn via(s: &str) -> VResult<Via> {
    let s = trim_start_wsp(s);
    let (name, s) = take_token(s);
    let s = trim_start_wsp(s)
        .strip_prefix('/')
        .ok_or("expected '/' after protocol name")?;
    let (version, s) = take_token(trim_start_wsp(s));
    let s = trim_start_wsp(s)
        .strip_prefix('/')
        .ok_or("expected '/' after protocol version")?;
    let (transport, s) = take_token(trim_start_wsp(s));
    if name.is_empty() || version.is_empty() || transport.is_empty() {
        return Err("bad sent-protocol");
    }
    if !s.bytes().next().is_some_and(is_wsp) {
        return Err("expected whitespace before sent-by");
    }
    let s = trim_start_wsp(s);
    let host_end = if s.starts_with('[') {
        find_byte(s, b']')
            .map(|i| i + 1)
            .ok_or("unterminated IPv6 reference")?
    } else {
        s.bytes()
            .position(|b| matches!(b, b' ' | b'\t' | b':' | b';'))
            .unwrap_or(s.len())
    };
    let (host_str, s) = cut(s, host_end);
    let host = host(host_str)?;
    let s = trim_start_wsp(s);
    let (port, s) = match s.strip_prefix(':') {
        Some(rest) => {
            let rest = trim_start_wsp(rest);
            let end = rest
                .bytes()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(rest.len());
            let (p, rest) = cut(rest, end);
            (Some(port(p)?), rest)
        }
        None => (None, s),
    };
    let mut params = Params::new();
    generic_params(s, &mut params)?;
    let mut protocol = String::with_capacity(name.len() + 1 + version.len());
    protocol.push_str(name);
    protocol.push('/');
    protocol.push_str(version);
    Ok(Via {
        protocol,
        transport: transport.to_ascii_uppercase(),
        host,
        port,
        params,
    })
}

/// Digits only (no sign), as u32; more than 2^32-1 is an error (RFC 4475 scalar02).
pub(crate) fn number_u32(s: &str) -> VResult<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a number");
    }
    s.parse().map_err(|_| "number over 2^32-1")
}

/// `1*DIGIT LWS Method`.
pub(crate) fn cseq(s: &str) -> VResult<CSeq> {
    let mut parts = words(s);
    let (Some(num), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected a number and a method");
    };
    let seq = number_u32(num)?;
    if !is_token(method) {
        return Err("method is not a token");
    }
    Ok(CSeq {
        seq,
        method: Method::from_token(method),
    })
}

/// Max-Forwards: digits, as u32. Values over 255 (RFC 3261 allows 0–255) are
/// tolerated as received (RFC 4475 §3.1.2.4 lets a bad value alone be ignored; we keep
/// it rather than drop it); a proxy would clamp it.
pub(crate) fn max_forwards(s: &str) -> VResult<u32> {
    number_u32(trim_wsp(s))
}

/// Content-Length: digits only; `-999` or junk is an error (RFC 4475 ncl).
pub(crate) fn content_length(s: &str) -> VResult<usize> {
    let s = trim_wsp(s);
    if s.starts_with('-') {
        return Err("negative");
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a number");
    }
    s.parse().map_err(|_| "too large")
}

/// A Call-ID: `word ["@" word]`, no whitespace, non-empty.
pub(crate) fn call_id(s: &str) -> VResult<&str> {
    if s.is_empty() {
        return Err("empty");
    }
    // Printable ASCII holds no Unicode whitespace or control, so only a Call-ID
    // with another octet needs the char-wise test.
    let printable_ascii = s.bytes().all(|b| b > b' ' && b < 0x7f);
    if !printable_ascii && s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("whitespace in Call-ID");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_quotes_and_angles() {
        let v = split_list(r#""a, b" <sip:x@y;p=1,2>;q=1, sip:z@w"#).unwrap();
        assert_eq!(v.len(), 2);
        assert!(split_list("a,,b").is_err());
        assert_eq!(split_top(r#"a;b="x;\"y";c"#, b';', false).count(), 3);
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted(r#""a \" b" rest"#).unwrap(), (r#"a \" b"#, " rest"));
        assert!(quoted("\"open").is_err());
        assert!(quoted("\"trailing\\").is_err());
    }
}
