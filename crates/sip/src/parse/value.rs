//! Typed header value parsers: URIs, name-addr (From/To/Contact/Route), Via, CSeq,
//! Max-Forwards, Content-Length, generic parameters and list splitting.
//!
//! Every function takes one unfolded value (see RFC 3261 §7.3.1) and is pure. The
//! internal functions return a short static reason; the public wrappers in
//! [`super`] turn it into a [`ParseError`](super::ParseError).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::message::{CSeq, Host, Method, NameAddr, Params, SipUri, Uri, Via};

use super::lines::is_token_byte;

pub(crate) type VResult<T> = Result<T, &'static str>;

const WSP: &[char] = &[' ', '\t'];

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// Splits `s` at `sep` where it is outside quoted strings and, when `angles`, outside
/// `<…>`. Pieces are returned untrimmed. An unterminated quote or bracket runs to the
/// end (the piece's own parser reports it).
pub(crate) fn split_top(s: &str, sep: u8, angles: bool) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if in_quotes {
            match b {
                b'\\' => i += 1,
                b'"' => in_quotes = false,
                _ => {}
            }
        } else if in_angle {
            if b == b'>' {
                in_angle = false;
            }
        } else if b == b'"' {
            in_quotes = true;
        } else if angles && b == b'<' {
            in_angle = true;
        } else if b == sep {
            // `sep` is ASCII, so `i` and `start` are char boundaries.
            out.push(s.get(start..i).unwrap_or(""));
            start = i + 1;
        }
        i += 1;
    }
    out.push(s.get(start..).unwrap_or(""));
    out
}

/// Splits a comma-separated header value (RFC 3261 §7.3.1) respecting quoted strings
/// and `<…>`; elements are trimmed; an empty element is an error.
pub(crate) fn split_list(s: &str) -> VResult<Vec<&str>> {
    let parts = split_top(s, b',', true);
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        let p = p.trim_matches(WSP);
        if p.is_empty() {
            return Err("empty list element");
        }
        out.push(p);
    }
    Ok(out)
}

/// `"…"` at the start of `s`: returns the contents (quoted-pairs kept escaped) and
/// what follows the closing quote.
pub(crate) fn quoted(s: &str) -> VResult<(&str, &str)> {
    let mut chars = s.char_indices();
    if chars.next().map(|(_, c)| c) != Some('"') {
        return Err("expected a quoted string");
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => break,
            '\\' => {}
            '"' => {
                let inner = s.get(1..i).ok_or("bad quoted string")?;
                let rest = s.get(i + 1..).ok_or("bad quoted string")?;
                return Ok((inner, rest));
            }
            c if (c < ' ' && c != '\t') || c == '\x7f' => {
                return Err("control character in quoted string")
            }
            _ => {}
        }
    }
    Err("unterminated quoted string")
}

/// Characters never allowed raw in a URI (RFC 3986/3261): controls, space, and
/// `"<>\^`{|}`, plus anything non-ASCII (which must be %-escaped).
fn uri_char_ok(c: char) -> bool {
    c.is_ascii() && c > ' ' && c != '\x7f' && !"\"<>\\^`{|}".contains(c)
}

/// Checks that every `%` starts a `%HH` escape (RFC 3261 `escaped`).
fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let ok = b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// A URI: `sip:`/`sips:` parsed (RFC 3261 §19.1.1), any other scheme kept opaque.
pub(crate) fn uri(s: &str) -> VResult<Uri> {
    if s.is_empty() {
        return Err("empty URI");
    }
    if !s.chars().all(uri_char_ok) {
        return Err("character not allowed in a URI");
    }
    let (scheme, rest) = s.split_once(':').ok_or("no scheme")?;
    let mut sc = scheme.bytes();
    let scheme_ok = sc.next().is_some_and(|b| b.is_ascii_alphabetic())
        && sc.all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.');
    if !scheme_ok {
        return Err("bad scheme");
    }
    if rest.is_empty() {
        return Err("nothing after the scheme");
    }
    if scheme.eq_ignore_ascii_case("sip") {
        sip_uri(rest, false).map(Uri::Sip)
    } else if scheme.eq_ignore_ascii_case("sips") {
        sip_uri(rest, true).map(Uri::Sip)
    } else {
        Ok(Uri::Other {
            scheme: scheme.to_owned(),
            rest: rest.to_owned(),
        })
    }
}

fn sip_uri(s: &str, secure: bool) -> VResult<SipUri> {
    if !escapes_ok(s) {
        return Err("bad % escape");
    }
    // '@' is allowed nowhere else in a SIP URI, so the first one ends the userinfo;
    // the user part may hold ';', '?', '/' and ',' (RFC 4475 §3.1.1.2, §3.1.1.9).
    let (userinfo, hostpart) = match s.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, s),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(u) => {
            let (user, pw) = match u.split_once(':') {
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
    let hp_end = hostpart.find([';', '?']).unwrap_or(hostpart.len());
    let (hostport, after) = hostpart.split_at(hp_end);
    let (host, port) = hostport_parse(hostport)?;
    let (params_str, headers_str) = match after.split_once('?') {
        Some((p, h)) => (p, Some(h)),
        None => (after, None),
    };
    let mut params = Params::new();
    if let Some(p) = params_str.strip_prefix(';') {
        for piece in p.split(';') {
            let (name, value) = match piece.split_once('=') {
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
        for piece in h.split('&') {
            let (n, v) = piece.split_once('=').ok_or("URI header without '='")?;
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
        let close = s.find(']').ok_or("unterminated IPv6 reference")?;
        let (h, rest) = s.split_at(close + 1);
        match rest {
            "" => (h, None),
            r => (
                h,
                Some(r.strip_prefix(':').ok_or("junk after IPv6 reference")?),
            ),
        }
    } else {
        match s.split_once(':') {
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
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err("bad character in host");
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        if let Ok(a) = s.parse::<Ipv4Addr>() {
            return Ok(Host::V4(a));
        }
    }
    Ok(Host::Name(s.to_owned()))
}

/// `*( SEMI generic-param )` (RFC 3261 §25.1), LWS allowed around `;` and `=`.
/// Values may be tokens, hosts or quoted strings (kept with their quotes).
pub(crate) fn generic_params(s: &str, dest: &mut Params) -> VResult<()> {
    let s = s.trim_matches(WSP);
    if s.is_empty() {
        return Ok(());
    }
    let Some(s) = s.strip_prefix(';') else {
        return Err("unexpected text before parameters");
    };
    for piece in split_top(s, b';', false) {
        let piece = piece.trim_matches(WSP);
        if piece.is_empty() {
            return Err("empty parameter");
        }
        let (name, value) = match piece.split_once('=') {
            Some((n, v)) => (n.trim_matches(WSP), Some(v.trim_matches(WSP))),
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
            } else if v.is_empty()
                || !v
                    .bytes()
                    .all(|b| is_token_byte(b) || b == b'[' || b == b']' || b == b':')
            {
                return Err("bad parameter value");
            }
        }
        dest.push(name.to_owned(), value.map(str::to_owned));
    }
    Ok(())
}

/// `[display-name] <URI> *(;param)` or `addr-spec *(;param)` (RFC 3261 §20.10). In
/// the bare form the URI ends at the first `;` and what follows are header
/// parameters (RFC 4475 §3.3.12), and a URI with `?headers` must be in `<>`
/// (RFC 4475 §3.1.2.13: rejected).
pub(crate) fn name_addr(s: &str) -> VResult<NameAddr> {
    let s = s.trim_matches(WSP);
    let (display, after_display) = if s.starts_with('"') {
        let (inner, rest) = quoted(s)?;
        let rest = rest.trim_start_matches(WSP);
        if !rest.starts_with('<') {
            return Err("quoted display name not followed by <URI>");
        }
        (Some(inner.to_owned()), rest)
    } else {
        match s.find('<') {
            Some(lt) if !s.get(..lt).is_some_and(|p| p.contains([';', '"'])) => {
                let d = s.get(..lt).unwrap_or("");
                let mut words = Vec::new();
                for w in d.split(WSP).filter(|w| !w.is_empty()) {
                    if !is_token(w) {
                        return Err("display name is neither a token sequence nor quoted");
                    }
                    words.push(w);
                }
                // No LWS needed before '<' (RFC 4475 §3.1.1.6, lwsdisp).
                let display = if words.is_empty() {
                    None
                } else {
                    Some(words.join(" "))
                };
                (display, s.get(lt..).unwrap_or(""))
            }
            _ => {
                let end = s.find(';').unwrap_or(s.len());
                let (u, rest) = s.split_at(end);
                let u = u.trim_end_matches(WSP);
                if u.contains('?') {
                    return Err("URI with headers must be enclosed in <>");
                }
                if u.contains(',') {
                    return Err("URI with a comma must be enclosed in <>");
                }
                let uri = uri(u)?;
                let mut params = Params::new();
                generic_params(rest, &mut params)?;
                return Ok(NameAddr {
                    display: None,
                    uri,
                    params,
                });
            }
        }
    };
    let inner = after_display.strip_prefix('<').ok_or("expected <")?;
    let gt = inner.find('>').ok_or("unterminated <URI>")?;
    let (u, rest) = inner.split_at(gt);
    let rest = rest.get(1..).unwrap_or("");
    if u.starts_with(WSP) || u.ends_with(WSP) {
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

fn skip_wsp(s: &str) -> &str {
    s.trim_start_matches(WSP)
}

fn take_token(s: &str) -> (&str, &str) {
    let end = s.bytes().position(|b| !is_token_byte(b)).unwrap_or(s.len());
    s.split_at(end)
}

/// One Via value: `SIP / 2.0 / UDP host[:port] *(;param)`, LWS allowed around `/`,
/// `:` and `;` (RFC 3261 §20.42, RFC 4475 §3.1.1.1).
pub(crate) fn via(s: &str) -> VResult<Via> {
    let s = skip_wsp(s);
    let (name, s) = take_token(s);
    let s = skip_wsp(s)
        .strip_prefix('/')
        .ok_or("expected '/' after protocol name")?;
    let (version, s) = take_token(skip_wsp(s));
    let s = skip_wsp(s)
        .strip_prefix('/')
        .ok_or("expected '/' after protocol version")?;
    let (transport, s) = take_token(skip_wsp(s));
    if name.is_empty() || version.is_empty() || transport.is_empty() {
        return Err("bad sent-protocol");
    }
    if !s.starts_with(WSP) {
        return Err("expected whitespace before sent-by");
    }
    let s = skip_wsp(s);
    let host_end = if s.starts_with('[') {
        s.find(']')
            .map(|i| i + 1)
            .ok_or("unterminated IPv6 reference")?
    } else {
        s.find([' ', '\t', ':', ';']).unwrap_or(s.len())
    };
    let (host_str, s) = s.split_at(host_end);
    let host = host(host_str)?;
    let s = skip_wsp(s);
    let (port, s) = match s.strip_prefix(':') {
        Some(rest) => {
            let rest = skip_wsp(rest);
            let end = rest
                .bytes()
                .position(|b| !b.is_ascii_digit())
                .unwrap_or(rest.len());
            let (p, rest) = rest.split_at(end);
            (Some(port(p)?), rest)
        }
        None => (None, s),
    };
    let mut params = Params::new();
    generic_params(s, &mut params)?;
    Ok(Via {
        protocol: format!("{name}/{version}"),
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
    let mut parts = s.split(WSP).filter(|p| !p.is_empty());
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
    number_u32(s.trim_matches(WSP))
}

/// Content-Length: digits only; `-999` or junk is an error (RFC 4475 ncl).
pub(crate) fn content_length(s: &str) -> VResult<usize> {
    let s = s.trim_matches(WSP);
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
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
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
        assert_eq!(split_top(r#"a;b="x;\"y";c"#, b';', false).len(), 3);
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted(r#""a \" b" rest"#).unwrap(), (r#"a \" b"#, " rest"));
        assert!(quoted("\"open").is_err());
        assert!(quoted("\"trailing\\").is_err());
    }
}
