//! The `Digest auth-param, auth-param, ...` grammar shared by challenges and
//! credentials (RFC 7235 §2.1, RFC 3261 §25.1): a pure tokenizer with limits, and
//! the quoting used when printing.
//!
//! Tolerant of case, whitespace around `=` and `,`, empty list elements, quoted or
//! bare values; strict about unterminated quotes, control characters and duplicates.

use std::borrow::Cow;
use std::fmt;

use super::{echo, AuthError};

/// Longest header value accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 8 * 1024;
/// Most parameters accepted in one header value.
pub const MAX_PARAMS: usize = 32;

/// One `name=value` pair; `name` is as received (compare case-insensitively).
#[derive(Debug)]
pub(crate) struct Param<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: Cow<'a, str>,
}

/// Splits a `Digest ...` header value into its parameters.
///
/// Fails with [`AuthError::UnsupportedScheme`] for any scheme but `Digest`.
pub(crate) fn parse_digest(input: &str) -> Result<Vec<Param<'_>>, AuthError> {
    if input.len() > MAX_HEADER_LEN {
        return Err(AuthError::TooLong {
            len: input.len(),
            max: MAX_HEADER_LEN,
        });
    }
    let mut cur = Cursor { s: input, pos: 0 };
    cur.skip_ws()?;
    if cur.at_end() {
        return Err(AuthError::Empty);
    }
    let scheme = cur.token();
    if scheme.is_empty() {
        return Err(cur.syntax("authentication scheme"));
    }
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(AuthError::UnsupportedScheme {
            scheme: echo(scheme),
        });
    }
    let after_scheme = cur.pos;
    cur.skip_ws()?;
    if !cur.at_end() && cur.pos == after_scheme {
        return Err(cur.syntax("whitespace after the scheme"));
    }

    let mut params: Vec<Param<'_>> = Vec::new();
    loop {
        // Skip empty list elements: `a=1, ,b=2` and trailing commas are legal.
        loop {
            cur.skip_ws()?;
            if cur.peek() == Some(b',') {
                cur.pos += 1;
            } else {
                break;
            }
        }
        if cur.at_end() {
            break;
        }
        let name = cur.token();
        if name.is_empty() {
            return Err(cur.syntax("parameter name"));
        }
        cur.skip_ws()?;
        if cur.peek() != Some(b'=') {
            return Err(cur.syntax("'='"));
        }
        cur.pos += 1;
        cur.skip_ws()?;
        let value = if cur.peek() == Some(b'"') {
            cur.quoted()?
        } else {
            let value = cur.bare()?;
            if value.is_empty() {
                return Err(cur.syntax("parameter value"));
            }
            Cow::Borrowed(value)
        };
        if params.iter().any(|p| p.name.eq_ignore_ascii_case(name)) {
            return Err(AuthError::DuplicateParam {
                name: echo(&name.to_ascii_lowercase()),
            });
        }
        if params.len() == MAX_PARAMS {
            return Err(AuthError::TooManyParams { max: MAX_PARAMS });
        }
        params.push(Param { name, value });
        cur.skip_ws()?;
        match cur.peek() {
            None | Some(b',') => {}
            Some(_) => return Err(cur.syntax("',' or end of value")),
        }
    }
    Ok(params)
}

/// Finds a parameter by lower-case name.
pub(crate) fn find<'p>(params: &'p [Param<'_>], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_ref())
}

/// Byte cursor over the header value. Positions only ever move past ASCII
/// delimiters, so every slice taken lies on character boundaries.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn syntax(&self, expected: &'static str) -> AuthError {
        AuthError::Syntax {
            pos: self.pos,
            expected,
        }
    }

    fn slice(&self, start: usize) -> Result<&'a str, AuthError> {
        self.s.get(start..self.pos).ok_or(AuthError::Syntax {
            pos: start,
            expected: "valid UTF-8 boundaries",
        })
    }

    /// Skips spaces, tabs and line breaks (header folding); fails on other controls.
    fn skip_ws(&mut self) -> Result<(), AuthError> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                _ if is_ctl(b) => return Err(AuthError::InvalidChar { pos: self.pos }),
                _ => break,
            }
        }
        Ok(())
    }

    /// Consumes an RFC 7230 token (possibly empty).
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        // Token characters are ASCII, so this slice cannot fail.
        self.s.get(start..self.pos).unwrap_or_default()
    }

    /// Consumes an unquoted value: anything up to whitespace, `,` or `"`. Looser
    /// than a token on purpose, so bare nonces with `/`, `+`, `=` and bare URIs
    /// with `:` are accepted.
    fn bare(&mut self) -> Result<&'a str, AuthError> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | b',' | b'"' => break,
                _ if is_ctl(b) => return Err(AuthError::InvalidChar { pos: self.pos }),
                _ => self.pos += 1,
            }
        }
        self.slice(start)
    }

    /// Consumes a quoted string (cursor on the opening quote) and unescapes it.
    fn quoted(&mut self) -> Result<Cow<'a, str>, AuthError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        let mut unescaped: Option<Vec<u8>> = None;
        loop {
            let Some(b) = self.peek() else {
                return Err(AuthError::UnterminatedQuote { pos: open });
            };
            match b {
                b'"' => {
                    let raw = self.slice(start)?;
                    self.pos += 1;
                    return match unescaped {
                        None => Ok(Cow::Borrowed(raw)),
                        // Only ASCII backslashes were removed: still UTF-8.
                        Some(bytes) => String::from_utf8(bytes).map(Cow::Owned).map_err(|_| {
                            AuthError::Syntax {
                                pos: open,
                                expected: "UTF-8 quoted string",
                            }
                        }),
                    };
                }
                b'\\' => {
                    let buf = unescaped.get_or_insert_with(|| {
                        self.s
                            .as_bytes()
                            .get(start..self.pos)
                            .unwrap_or_default()
                            .to_vec()
                    });
                    self.pos += 1;
                    let Some(next) = self.peek() else {
                        return Err(AuthError::UnterminatedQuote { pos: open });
                    };
                    if is_ctl(next) && next != b'\t' {
                        return Err(AuthError::InvalidChar { pos: self.pos });
                    }
                    buf.push(next);
                    self.pos += 1;
                }
                _ if is_ctl(b) && b != b'\t' => {
                    return Err(AuthError::InvalidChar { pos: self.pos })
                }
                _ => {
                    if let Some(buf) = unescaped.as_mut() {
                        buf.push(b);
                    }
                    self.pos += 1;
                }
            }
        }
    }
}

fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Writes `value` as a quoted string: `"` and `\` escaped, control characters
/// dropped (they cannot appear in a header and would allow header injection).
pub(crate) fn write_quoted(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                f.write_str("\\")?;
                fmt::Write::write_char(f, c)?;
            }
            c if c.is_ascii_control() && c != '\t' => {}
            c => fmt::Write::write_char(f, c)?,
        }
    }
    f.write_str("\"")
}

/// Writes `value` as a bare token, keeping token characters only.
pub(crate) fn write_token(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    for b in value.bytes().filter(|b| is_tchar(*b)) {
        fmt::Write::write_char(f, char::from(b))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &str) -> Result<Vec<(String, String)>, AuthError> {
        Ok(parse_digest(input)?
            .into_iter()
            .map(|p| (p.name.to_owned(), p.value.into_owned()))
            .collect())
    }

    #[test]
    fn splits_quoted_and_bare_values() {
        let got = pairs(r#"Digest realm="a b", nonce=xyz/+= ,algorithm = MD5"#).unwrap();
        assert_eq!(
            got,
            [
                ("realm".into(), "a b".into()),
                ("nonce".into(), "xyz/+=".into()),
                ("algorithm".into(), "MD5".into())
            ]
        );
    }

    #[test]
    fn unescapes_quoted_pairs_and_keeps_utf8() {
        let got = pairs(r#"digest realm="say \"hi\" \\ ünïcode""#).unwrap();
        assert_eq!(got, [("realm".into(), r#"say "hi" \ ünïcode"#.into())]);
    }

    #[test]
    fn tolerates_empty_elements_and_folding() {
        let got = pairs("DIGEST ,realm=\"r\",,\r\n nonce=\"n\",  ").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(pairs("Digest").unwrap().len(), 0);
    }

    #[test]
    fn rejects_malformed_values() {
        assert_eq!(pairs(""), Err(AuthError::Empty));
        assert_eq!(pairs("   "), Err(AuthError::Empty));
        assert_eq!(
            pairs("Basic realm=\"x\""),
            Err(AuthError::UnsupportedScheme {
                scheme: "Basic".into()
            })
        );
        assert_eq!(
            pairs("Digest realm=\"abc"),
            Err(AuthError::UnterminatedQuote { pos: 13 })
        );
        assert_eq!(
            pairs("Digest realm=\"abc\\"),
            Err(AuthError::UnterminatedQuote { pos: 13 })
        );
        assert!(matches!(
            pairs("Digest realm"),
            Err(AuthError::Syntax { .. })
        ));
        assert!(matches!(
            pairs("Digest realm="),
            Err(AuthError::Syntax { .. })
        ));
        assert!(matches!(pairs("Digest =x"), Err(AuthError::Syntax { .. })));
        assert!(matches!(
            pairs("Digest a=\"x\"y"),
            Err(AuthError::Syntax { .. })
        ));
        assert!(matches!(
            pairs("Digest a=x b=y"),
            Err(AuthError::Syntax { .. })
        ));
        assert!(matches!(
            pairs("Digestrealm=x"),
            Err(AuthError::UnsupportedScheme { .. })
        ));
        assert!(matches!(pairs("\"Digest\""), Err(AuthError::Syntax { .. })));
        assert_eq!(
            pairs("Digest a=\"x\0\""),
            Err(AuthError::InvalidChar { pos: 11 })
        );
        assert_eq!(
            pairs("Digest a=x\0"),
            Err(AuthError::InvalidChar { pos: 10 })
        );
        assert_eq!(
            pairs("Digest Realm=a, realm=b"),
            Err(AuthError::DuplicateParam {
                name: "realm".into()
            })
        );
    }

    #[test]
    fn enforces_limits() {
        let huge = format!("Digest realm=\"{}\"", "a".repeat(MAX_HEADER_LEN));
        assert!(matches!(pairs(&huge), Err(AuthError::TooLong { .. })));
        let many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("p{i}=v")).collect();
        let many = format!("Digest {}", many.join(","));
        assert_eq!(
            pairs(&many),
            Err(AuthError::TooManyParams { max: MAX_PARAMS })
        );
        let long_scheme = "X".repeat(1000);
        match pairs(&long_scheme) {
            Err(AuthError::UnsupportedScheme { scheme }) => assert!(scheme.len() <= 40),
            other => panic!("unexpected {other:?}"),
        }
    }

    struct Q<'a>(&'a str);
    impl fmt::Display for Q<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_quoted(f, self.0)
        }
    }
    struct T<'a>(&'a str);
    impl fmt::Display for T<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_token(f, self.0)
        }
    }

    #[test]
    fn printing_escapes_and_drops_controls() {
        assert_eq!(Q("a\"b\\c").to_string(), r#""a\"b\\c""#);
        assert_eq!(Q("a\r\nVia: x").to_string(), "\"aVia: x\"");
        assert_eq!(T("MD5 \r\n\"x").to_string(), "MD5x");
    }
}
