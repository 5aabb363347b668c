//! Call transfer header values, sans-IO: the `Replaces` value (RFC 3891),
//! header fields carried inside a URI (`?Replaces=…`, RFC 3261 §19.1.1
//! escaping), the `message/sipfrag` status line of a NOTIFY body (RFC 3420,
//! RFC 3515 §2.4.5), and the `Event` / `Subscription-State` values of the
//! implicit REFER subscription (RFC 6665). Pure functions with explicit
//! errors; building and checking the requests themselves is the caller's.

use std::fmt;

use crate::message::{SipUri, StatusCode};

/// Why a transfer header value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReferError {
    /// The value is empty or has no Call-ID.
    #[error("empty {0}")]
    Empty(&'static str),
    /// A required parameter is missing.
    #[error("Replaces without {0}")]
    MissingParam(&'static str),
    /// A parameter appears twice.
    #[error("Replaces with {0} twice")]
    DuplicateParam(&'static str),
    /// A `%` is not followed by two hex digits, or the result is not UTF-8.
    #[error("bad % escape")]
    BadEscape,
    /// The body does not start with a SIP status line.
    #[error("message/sipfrag body without a status line: {0}")]
    BadSipfrag(&'static str),
    /// A character that must not appear there (whitespace, control).
    #[error("character not allowed in {0}")]
    BadCharacter(&'static str),
}

/// The `Replaces` value: the dialog an INVITE replaces (RFC 3891 §6.1).
///
/// Tags are seen from the UA that *receives* the INVITE: `to_tag` is its
/// local tag, `from_tag` its remote tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replaces {
    /// Call-ID of the replaced dialog.
    pub call_id: String,
    /// The receiving UA's tag in that dialog.
    pub to_tag: String,
    /// The other party's tag in that dialog.
    pub from_tag: String,
    /// Replace only an early dialog (`early-only`).
    pub early_only: bool,
}

impl Replaces {
    /// Parses `call-id;to-tag=…;from-tag=…[;early-only]` (parameter names
    /// case-insensitive, unknown parameters ignored).
    pub fn parse(value: &str) -> Result<Replaces, ReferError> {
        let mut parts = value.split(';');
        let call_id = parts.next().unwrap_or("").trim();
        if call_id.is_empty() {
            return Err(ReferError::Empty("Replaces Call-ID"));
        }
        if call_id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ReferError::BadCharacter("Replaces Call-ID"));
        }
        let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
        for part in parts {
            let (name, value) = match part.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (part.trim(), None),
            };
            let slot = if name.eq_ignore_ascii_case("to-tag") {
                Some((&mut to_tag, "to-tag"))
            } else if name.eq_ignore_ascii_case("from-tag") {
                Some((&mut from_tag, "from-tag"))
            } else {
                if name.eq_ignore_ascii_case("early-only") {
                    early_only = true;
                }
                None
            };
            if let Some((slot, what)) = slot {
                let v = value
                    .filter(|v| !v.is_empty())
                    .ok_or(ReferError::MissingParam(what))?;
                if slot.replace(v.to_owned()).is_some() {
                    return Err(ReferError::DuplicateParam(what));
                }
            }
        }
        Ok(Replaces {
            call_id: call_id.to_owned(),
            to_tag: to_tag.ok_or(ReferError::MissingParam("to-tag"))?,
            from_tag: from_tag.ok_or(ReferError::MissingParam("from-tag"))?,
            early_only,
        })
    }
}

impl fmt::Display for Replaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};to-tag={};from-tag={}",
            self.call_id, self.to_tag, self.from_tag
        )?;
        if self.early_only {
            f.write_str(";early-only")?;
        }
        Ok(())
    }
}

/// Escapes a header value for use inside a URI (`?name=value`): everything
/// but `unreserved` and `hnv-unreserved` (RFC 3261 §25.1) becomes `%HH`, so
/// `;`, `=`, `@`, `&` and spaces cannot break the URI apart.
pub fn escape_uri_header(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 16);
    for b in value.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-_.!~*'()[]/?:+$".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes `%HH` escapes (a URI header value as received).
pub fn unescape(value: &str) -> Result<String, ReferError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(ReferError::BadEscape)?;
            let hex = std::str::from_utf8(hex).map_err(|_| ReferError::BadEscape)?;
            let v = u8::from_str_radix(hex, 16).map_err(|_| ReferError::BadEscape)?;
            out.push(v);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ReferError::BadEscape)
}

/// The value of header `name` carried in `uri` (`?Replaces=…`), unescaped;
/// `None` when absent.
pub fn uri_header(uri: &SipUri, name: &str) -> Option<Result<String, ReferError>> {
    uri.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| unescape(v))
}

/// `uri` with `Replaces` carried as a URI header (escaped), for the
/// Refer-To of an attended transfer (RFC 3891 §3, RFC 5589 §7).
pub fn with_replaces(uri: &SipUri, replaces: &Replaces) -> SipUri {
    let mut out = uri.clone();
    out.headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("Replaces"));
    out.headers
        .push(("Replaces".into(), escape_uri_header(&replaces.to_string())));
    out
}

/// A `message/sipfrag` body holding only a status line (RFC 3515 §2.4.5).
pub fn sipfrag(status: StatusCode, reason: &str) -> String {
    let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
    format!("SIP/2.0 {} {}\r\n", status.code(), reason.trim())
}

/// The status code and reason of a `message/sipfrag` body's first line
/// (`SIP/2.0 180 Ringing`); leading blank lines are skipped, headers after
/// the status line ignored.
pub fn sipfrag_status(body: &[u8]) -> Result<(StatusCode, String), ReferError> {
    // Only the first line matters; a long body is not scanned in full.
    let head = body.get(..body.len().min(1024)).unwrap_or(body);
    let text = String::from_utf8_lossy(head);
    let line = text
        .split(['\r', '\n'])
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or(ReferError::BadSipfrag("empty"))?;
    let (version, rest) = line
        .split_once(char::is_whitespace)
        .ok_or(ReferError::BadSipfrag("no status code"))?;
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(ReferError::BadSipfrag("not SIP/2.0"));
    }
    let rest = rest.trim_start();
    let (code, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ReferError::BadSipfrag("bad status code"));
    }
    let status = code
        .parse()
        .ok()
        .and_then(StatusCode::new)
        .ok_or(ReferError::BadSipfrag("status code out of range"))?;
    Ok((status, reason.trim().to_owned()))
}

/// An `Event` value split into its package and `id` parameter
/// (`refer;id=93809824` → `("refer", Some("93809824"))`).
pub fn event_package(value: &str) -> (String, Option<String>) {
    let mut parts = value.split(';');
    let package = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let id = parts.find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim()
            .eq_ignore_ascii_case("id")
            .then(|| v.trim().to_owned())
    });
    (package, id)
}

/// A `Subscription-State` value (RFC 6665 §8.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionState {
    /// `active`, `pending`, `terminated` or an extension, lower-cased.
    pub state: String,
    /// `expires` in seconds, when given.
    pub expires: Option<u32>,
    /// `reason`, when given.
    pub reason: Option<String>,
}

impl SubscriptionState {
    /// Parses the value; unknown parameters are ignored, a bad `expires` is
    /// taken as absent.
    pub fn parse(value: &str) -> SubscriptionState {
        let mut parts = value.split(';');
        let state = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let (mut expires, mut reason) = (None, None);
        for p in parts {
            if let Some((n, v)) = p.split_once('=') {
                let (n, v) = (n.trim(), v.trim());
                if n.eq_ignore_ascii_case("expires") {
                    expires = v.parse().ok();
                } else if n.eq_ignore_ascii_case("reason") {
                    reason = Some(v.to_ascii_lowercase());
                }
            }
        }
        SubscriptionState {
            state,
            expires,
            reason,
        }
    }

    /// Whether the subscription has ended.
    pub fn is_terminated(&self) -> bool {
        self.state == "terminated"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Host, Uri};

    #[test]
    fn replaces_round_trips_and_checks_its_parameters() {
        let r = Replaces::parse("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff")
            .expect("parses");
        assert_eq!(r.call_id, "98732@sip.example.com");
        assert_eq!(r.to_tag, "ff87ff");
        assert_eq!(r.from_tag, "r33th4x0r");
        assert!(!r.early_only);
        assert_eq!(
            r.to_string(),
            "98732@sip.example.com;to-tag=ff87ff;from-tag=r33th4x0r"
        );
        let early = Replaces::parse("a;TO-TAG=1;From-Tag=2;early-only").expect("parses");
        assert!(early.early_only);
        assert_eq!(Replaces::parse(&early.to_string()), Ok(early));
        assert_eq!(
            Replaces::parse("a;to-tag=1"),
            Err(ReferError::MissingParam("from-tag"))
        );
        assert_eq!(
            Replaces::parse("a;to-tag=1;to-tag=2;from-tag=3"),
            Err(ReferError::DuplicateParam("to-tag"))
        );
        assert_eq!(
            Replaces::parse(";to-tag=1;from-tag=2"),
            Err(ReferError::Empty("Replaces Call-ID"))
        );
        assert_eq!(
            Replaces::parse("a;to-tag=;from-tag=2"),
            Err(ReferError::MissingParam("to-tag"))
        );
    }

    #[test]
    fn replaces_survives_a_trip_through_a_refer_to_uri() {
        let target = SipUri::new(Some("carol"), Host::Name("example.com".into()), Some(5070));
        let r = Replaces {
            call_id: "a84b4c76e66710@pc33.example.com".into(),
            to_tag: "1928301774".into(),
            from_tag: "a6c85cf".into(),
            early_only: false,
        };
        let uri = with_replaces(&target, &r);
        let printed = format!("<{uri}>");
        assert_eq!(
            printed,
            "<sip:carol@example.com:5070?Replaces=a84b4c76e66710%40pc33.example.com\
             %3Bto-tag%3D1928301774%3Bfrom-tag%3Da6c85cf>"
        );
        // What a receiver does: parse the Refer-To, take the header, unescape.
        let na = crate::parse::name_addr(&printed).expect("Refer-To parses");
        let Uri::Sip(back) = na.uri else {
            panic!("not a SIP URI")
        };
        let value = uri_header(&back, "replaces")
            .expect("has Replaces")
            .expect("unescapes");
        assert_eq!(Replaces::parse(&value), Ok(r));
        assert!(uri_header(&back, "Subject").is_none());
    }

    #[test]
    fn escaping_keeps_unreserved_and_encodes_the_rest() {
        assert_eq!(
            escape_uri_header("a-b_c.d!e~f*g'h(i)j"),
            "a-b_c.d!e~f*g'h(i)j"
        );
        assert_eq!(
            escape_uri_header("a;b=c@d&e f%"),
            "a%3Bb%3Dc%40d%26e%20f%25"
        );
        assert_eq!(unescape("a%3Bb%3dc"), Ok("a;b=c".into()));
        assert_eq!(unescape("%4"), Err(ReferError::BadEscape));
        assert_eq!(unescape("%zz"), Err(ReferError::BadEscape));
        assert_eq!(unescape("%FF"), Err(ReferError::BadEscape));
        let s = "weird value;with=all&sorts@of%chars";
        assert_eq!(unescape(&escape_uri_header(s)).as_deref(), Ok(s));
    }

    #[test]
    fn sipfrag_status_lines() {
        let ok = StatusCode::OK;
        assert_eq!(sipfrag(ok, "OK"), "SIP/2.0 200 OK\r\n");
        assert_eq!(
            sipfrag_status(b"SIP/2.0 100 Trying\r\n"),
            Ok((StatusCode::TRYING, "Trying".into()))
        );
        assert_eq!(
            sipfrag_status(b"\r\nSIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n")
                .map(|(s, r)| (s.code(), r)),
            Ok((486, "Busy Here".into()))
        );
        assert_eq!(
            sipfrag_status(b"sip/2.0 200").map(|(s, r)| (s.code(), r)),
            Ok((200, String::new()))
        );
        for bad in [
            &b""[..],
            b"\r\n\r\n",
            b"SIP/2.0",
            b"SIP/3.0 200 OK",
            b"SIP/2.0 2000 OK",
            b"SIP/2.0 099 Low",
            b"SIP/2.0 abc OK",
            b"INVITE sip:a@b SIP/2.0",
            b"\xff\xfe",
        ] {
            assert!(sipfrag_status(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn event_and_subscription_state_values() {
        assert_eq!(
            event_package("Refer;id=93809824"),
            ("refer".into(), Some("93809824".into()))
        );
        assert_eq!(event_package("refer"), ("refer".into(), None));
        assert_eq!(
            event_package(" presence ; foo=1"),
            ("presence".into(), None)
        );
        let s = SubscriptionState::parse("active;expires=60");
        assert_eq!(s.state, "active");
        assert_eq!(s.expires, Some(60));
        assert!(!s.is_terminated());
        let t = SubscriptionState::parse("Terminated;reason=noresource");
        assert!(t.is_terminated());
        assert_eq!(t.reason.as_deref(), Some("noresource"));
        assert_eq!(SubscriptionState::parse("active;expires=x").expires, None);
    }
}
