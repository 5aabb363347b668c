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
    // Search the LF (memchr is vectorised) and check the octet before it; a lone LF
    // is skipped, as a lone CR is.
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'\n', tail.get(i..)?) {
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
    // The first CRLFCRLF, found from its first LF (one memchr pass; building a
    // substring searcher costs more than the search on a header section).
    let tail = buf.get(from..)?;
    memchr::memchr_iter(b'\n', tail)
        .find(|&nl| {
            nl > 0 && tail.get(nl - 1) == Some(&b'\r') && tail.get(nl + 1..nl + 3) == Some(CRLF)
        })
        .map(|nl| from + nl - 1)
}

/// The first line of `buf` (up to its first CRLF, or all of it).
pub(crate) fn first_line(buf: &[u8]) -> &[u8] {
    buf.get(..find_crlf(buf, 0).unwrap_or(buf.len()))
        .unwrap_or(buf)
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
    /// Offset of `raw` (and so of `name`) in the octets given to [`Fields::new`], so
    /// a caller holding them as `&str` can slice names and values without
    /// validating UTF-8 again.
    pub start: usize,
    /// Whether the field has continuation lines (`raw` holds a CRLF).
    pub folded: bool,
}

impl RawField<'_> {
    /// Offset of `value` in the octets given to [`Fields::new`].
    pub(crate) fn value_start(&self) -> usize {
        self.start + (self.raw.len() - self.value.len())
    }
}

/// Iterates over the header fields of a header section (the bytes after the start
/// line's CRLF, up to but excluding the CRLF CRLF terminator).
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
    /// Offset of `rest` in the section.
    pos: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(headers: &'a [u8]) -> Fields<'a> {
        Fields {
            rest: headers,
            pos: 0,
        }
    }
}

/// Token characters (RFC 3261 §25.1), as a table: this test runs on every octet of
/// every header name and parameter.
const TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
};

/// Token characters (RFC 3261 §25.1).
pub(crate) fn is_token_byte(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<RawField<'a>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = self.rest;
        let start = self.pos;
        // The field ends at the first CRLF not followed by SP/HTAB; the CRLFs before
        // it are continuations, and the first of them ends the field's first line.
        let mut end = rest.len();
        let mut next = rest.len();
        let mut first_line_end = None;
        let mut at = 0;
        while let Some(p) = find_crlf(rest, at) {
            match rest.get(p + 2) {
                Some(&b) if is_wsp(b) => {
                    first_line_end.get_or_insert(p);
                    at = p + 2;
                }
                _ => {
                    end = p;
                    next = p + 2;
                    break;
                }
            }
        }
        let raw = rest.get(..end).unwrap_or(rest);
        self.rest = rest.get(next..).unwrap_or(&[]);
        self.pos += next;
        if raw.first().is_some_and(|&b| is_wsp(b)) {
            return Some(Err("continuation line with no header to continue"));
        }
        let first_line = raw
            .get(..first_line_end.unwrap_or(raw.len()))
            .unwrap_or(raw);
        // Names are short: a plain loop finds the colon sooner than memchr.
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
            start,
            folded: first_line_end.is_some(),
        }))
    }
}

/// SP/HTAB trimmed from both ends. Byte-wise, because both are ASCII: the cut
/// points are then always char boundaries.
pub(crate) fn trim_wsp(s: &str) -> &str {
    trim_end_wsp(trim_start_wsp(s))
}

/// SP/HTAB trimmed from the start.
pub(crate) fn trim_start_wsp(s: &str) -> &str {
    let n = s.bytes().take_while(|&b| is_wsp(b)).count();
    s.get(n..).unwrap_or("")
}

/// SP/HTAB trimmed from the end.
pub(crate) fn trim_end_wsp(s: &str) -> &str {
    let n = s.bytes().rev().take_while(|&b| is_wsp(b)).count();
    s.get(..s.len() - n).unwrap_or("")
}

/// Position of the ASCII octet `b` in `s`. A plain loop: header values are short,
/// and for them it beats setting up a `str` searcher.
pub(crate) fn find_byte(s: &str, b: u8) -> Option<usize> {
    s.bytes().position(|c| c == b)
}

/// `s` split around the first ASCII octet `b`, like `str::split_once`.
pub(crate) fn split_once_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = find_byte(s, b)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// `s` split around the last ASCII octet `b`, like `str::rsplit_once`.
pub(crate) fn rsplit_once_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = s.bytes().rposition(|c| c == b)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The pieces of `s` between ASCII octets `b`, like `str::split`.
pub(crate) fn split_byte(s: &str, b: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match split_once_byte(r, b) {
            Some((piece, tail)) => {
                rest = Some(tail);
                Some(piece)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Unfolds a header value: each `[WSP] CRLF WSP` run becomes one SP, and the
/// result is trimmed of SP/HTAB (RFC 3261 §7.3.1).
pub(crate) fn unfold(v: &str) -> std::borrow::Cow<'_, str> {
    // No LF means no CRLF: the common, unfolded case borrows.
    if memchr::memchr(b'\n', v.as_bytes()).is_none() || !v.contains("\r\n") {
        return std::borrow::Cow::Borrowed(trim_wsp(v));
    }
    let mut out = String::with_capacity(v.len());
    for piece in v.split("\r\n") {
        let piece = trim_wsp(piece);
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
