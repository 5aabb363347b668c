//! Raw scanning of a header section over bytes: where it ends, its physical lines,
//! and header fields with their folded continuation lines. Used by the datagram
//! parser, the stream framer and the tolerant scan behind `error_response`.

pub(crate) const CRLF: &[u8] = b"\r\n";

/// SP or HTAB.
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Position of the first `\r\n` at or after `from`.
pub(crate) fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let tail = buf.get(from..)?;
    let mut i = 0;
    while let Some(off) = tail.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + off;
        if nl > 0 && tail.get(nl - 1) == Some(&b'\r') {
            return Some(from + nl - 1);
        }
        i = nl + 1;
    }
    None
}

/// Index of the `\r\n\r\n` that ends the header section, searching from `from`.
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let p = find_crlf(buf, at)?;
        if buf.get(p + 2..p + 4) == Some(CRLF) {
            return Some(p);
        }
        at = p + 2;
    }
}

/// Number of leading `\r\n` pairs, in bytes.
pub(crate) fn leading_crlfs(buf: &[u8]) -> usize {
    let mut n = 0;
    while buf.get(n..n + 2) == Some(CRLF) {
        n += 2;
    }
    n
}

/// One header field as found on the wire.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawField<'a> {
    /// The name, before the colon, trailing whitespace removed.
    pub name: &'a [u8],
    /// Everything after the colon, continuation lines included (with their CRLFs).
    pub value: &'a [u8],
    /// The whole field: first line and continuation lines, without the final CRLF.
    pub raw: &'a [u8],
}

/// Iterates over the header fields of a header section (the bytes after the start
/// line's CRLF, up to but excluding the CRLF CRLF terminator).
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(headers: &'a [u8]) -> Fields<'a> {
        Fields { rest: headers }
    }
}

/// Token characters (RFC 3261 §25.1).
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<RawField<'a>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = self.rest;
        // The field ends at the first CRLF not followed by SP/HTAB.
        let mut end = rest.len();
        let mut next = rest.len();
        let mut at = 0;
        while let Some(p) = find_crlf(rest, at) {
            match rest.get(p + 2) {
                Some(&b) if is_wsp(b) => at = p + 2,
                _ => {
                    end = p;
                    next = p + 2;
                    break;
                }
            }
        }
        let raw = rest.get(..end).unwrap_or(rest);
        self.rest = rest.get(next..).unwrap_or(&[]);
        if raw.first().is_some_and(|&b| is_wsp(b)) {
            return Some(Err("continuation line with no header to continue"));
        }
        let first_line_end = find_crlf(raw, 0).unwrap_or(raw.len());
        let first_line = raw.get(..first_line_end).unwrap_or(raw);
        let Some(colon) = first_line.iter().position(|&b| b == b':') else {
            return Some(Err("header line without a colon"));
        };
        let (name, after) = raw.split_at(colon);
        let mut name_end = name.len();
        while name_end > 0 && name.get(name_end - 1).is_some_and(|&b| is_wsp(b)) {
            name_end -= 1;
        }
        let name = name.get(..name_end).unwrap_or(name);
        if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
            return Some(Err("header name is not a token"));
        }
        Some(Ok(RawField {
            name,
            value: after.get(1..).unwrap_or(&[]),
            raw,
        }))
    }
}

/// Unfolds a header value: each `[WSP] CRLF WSP` run becomes one SP, and the
/// result is trimmed of SP/HTAB (RFC 3261 §7.3.1).
pub(crate) fn unfold(v: &str) -> std::borrow::Cow<'_, str> {
    let wsp: &[char] = &[' ', '\t'];
    if !v.contains("\r\n") {
        return std::borrow::Cow::Borrowed(v.trim_matches(wsp));
    }
    let mut out = String::with_capacity(v.len());
    for piece in v.split("\r\n") {
        let piece = piece.trim_matches(wsp);
        if piece.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(piece);
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `name` (raw bytes) names `canonical` in long or compact form.
pub(crate) fn name_is(name: &[u8], long: &str, compact: Option<u8>) -> bool {
    name.eq_ignore_ascii_case(long.as_bytes())
        || matches!((name, compact), ([n], Some(c)) if n.eq_ignore_ascii_case(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_and_crlf() {
        assert_eq!(find_head_end(b"A\r\nB: c\r\n\r\nbody", 0), Some(7));
        assert_eq!(find_head_end(b"A\r\nB: c\r\n\r", 0), None);
        assert_eq!(find_crlf(b"a\nb\r\n", 0), Some(3));
        assert_eq!(leading_crlfs(b"\r\n\r\nX"), 4);
    }

    #[test]
    fn fields_with_folding() {
        let h = b"A: 1\r\nB :\r\n  two\r\n\tthree\r\nC:x";
        let f: Vec<_> = Fields::new(h).collect::<Result<_, _>>().unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(f[1].name, b"B");
        assert_eq!(f[1].raw, b"B :\r\n  two\r\n\tthree");
        assert_eq!(
            unfold(std::str::from_utf8(f[1].value).unwrap()),
            "two three"
        );
        assert!(Fields::new(b" x: y").next().unwrap().is_err());
        assert!(Fields::new(b"no colon").next().unwrap().is_err());
        assert!(Fields::new(b"a b: c").next().unwrap().is_err());
    }
}
