//! DTMF in SIP INFO bodies: parse and print the two de-facto formats.
//!
//! - `application/dtmf-relay` (Cisco's format, the common one):
//!   `Signal=5\r\nDuration=160\r\n`. Keys are case-insensitive, lines end in
//!   CRLF, LF or CR, blanks around keys and values are ignored, unknown keys
//!   and lines without `=` are skipped. `Duration` is in milliseconds and
//!   defaults to [`DEFAULT_DURATION`] when absent.
//! - `application/dtmf`: the body is just the signal.
//!
//! A signal is a digit character (`0`-`9`, `*`, `#`, `A`-`D`, `a`-`d`) or an
//! RFC 4733 event code written in decimal: `10` is `*`, `11` is `#`, `12`-`15`
//! are `A`-`D`, as Asterisk and others accept. Event 16 / `!` (hook flash) is a
//! valid signal but not a digit and is reported as
//! [`DtmfError::InfoUnsupportedEvent`]. When printing, `dtmf-relay` carries the
//! character and `application/dtmf` the decimal event code (what Asterisk sends
//! for its "short INFO" mode).
//!
//! Pure functions over bytes; the body size is bounded by [`MAX_INFO_BODY`].

use std::fmt::Write;
use std::time::Duration;

use super::error::truncated;
use super::{Digit, DtmfError};

/// Largest INFO body accepted, in bytes.
pub const MAX_INFO_BODY: usize = 1024;

/// Duration assumed when a `dtmf-relay` body has no `Duration` line, and for
/// `application/dtmf` bodies, which never carry one.
pub const DEFAULT_DURATION: Duration = Duration::from_millis(100);

/// Largest `Duration` value accepted, in milliseconds (one minute).
pub const MAX_DURATION_MS: u64 = 60_000;

/// `application/dtmf-relay`.
pub const CONTENT_TYPE_DTMF_RELAY: &str = "application/dtmf-relay";
/// `application/dtmf`.
pub const CONTENT_TYPE_DTMF: &str = "application/dtmf";

/// The two INFO body formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InfoFormat {
    /// `application/dtmf-relay`: `Signal=` and `Duration=` lines.
    DtmfRelay,
    /// `application/dtmf`: the body is the signal.
    Dtmf,
}

impl InfoFormat {
    /// Recognises a `Content-Type` value (case-insensitive, parameters after
    /// `;` ignored).
    pub fn from_content_type(content_type: &str) -> Result<InfoFormat, DtmfError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case(CONTENT_TYPE_DTMF_RELAY) {
            Ok(InfoFormat::DtmfRelay)
        } else if media.eq_ignore_ascii_case(CONTENT_TYPE_DTMF) {
            Ok(InfoFormat::Dtmf)
        } else {
            Err(DtmfError::InfoUnsupportedContentType {
                content_type: truncated(content_type, 64),
            })
        }
    }

    /// The `Content-Type` value to send with this format.
    pub fn content_type(self) -> &'static str {
        match self {
            InfoFormat::DtmfRelay => CONTENT_TYPE_DTMF_RELAY,
            InfoFormat::Dtmf => CONTENT_TYPE_DTMF,
        }
    }
}

/// Parses an INFO body of the given `Content-Type` into the digit and its
/// duration.
pub fn parse_info(content_type: &str, body: &[u8]) -> Result<(Digit, Duration), DtmfError> {
    match InfoFormat::from_content_type(content_type)? {
        InfoFormat::DtmfRelay => parse_dtmf_relay(body),
        InfoFormat::Dtmf => parse_dtmf(body).map(|d| (d, DEFAULT_DURATION)),
    }
}

/// Parses an `application/dtmf-relay` body.
pub fn parse_dtmf_relay(body: &[u8]) -> Result<(Digit, Duration), DtmfError> {
    let text = body_text(body)?;
    let mut signal = None;
    let mut duration = None;
    for line in text.split(['\r', '\n']) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim_matches(is_blank);
        let value = value.trim_matches(is_blank);
        if key.eq_ignore_ascii_case("signal") {
            if signal.is_some() {
                return Err(DtmfError::InfoDuplicateField { field: "Signal" });
            }
            signal = Some(parse_signal(value)?);
        } else if key.eq_ignore_ascii_case("duration") {
            if duration.is_some() {
                return Err(DtmfError::InfoDuplicateField { field: "Duration" });
            }
            duration = Some(parse_duration(value)?);
        }
    }
    let digit = signal.ok_or(DtmfError::InfoMissingSignal)?;
    Ok((digit, duration.unwrap_or(DEFAULT_DURATION)))
}

/// Parses an `application/dtmf` body (the signal alone, blanks and line
/// ends around it ignored).
pub fn parse_dtmf(body: &[u8]) -> Result<Digit, DtmfError> {
    let value = body_text(body)?.trim_matches(|c: char| is_blank(c) || c == '\r' || c == '\n');
    if value.is_empty() {
        return Err(DtmfError::InfoMissingSignal);
    }
    parse_signal(value)
}

/// Appends an `application/dtmf-relay` body (`Signal=<char>\r\nDuration=<ms>\r\n`)
/// to `out`. The duration is written in whole milliseconds.
pub fn write_dtmf_relay(out: &mut String, digit: Digit, duration: Duration) {
    let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    // Writing to a String cannot fail.
    let _ = write!(out, "Signal={}\r\nDuration={}\r\n", digit.as_char(), ms);
}

/// Appends an `application/dtmf` body (the decimal event code and CRLF) to `out`.
pub fn write_dtmf(out: &mut String, digit: Digit) {
    let _ = write!(out, "{}\r\n", digit.event_code());
}

/// An `application/dtmf-relay` body as a new string.
pub fn format_dtmf_relay(digit: Digit, duration: Duration) -> String {
    let mut s = String::with_capacity(32);
    write_dtmf_relay(&mut s, digit, duration);
    s
}

/// An `application/dtmf` body as a new string.
pub fn format_dtmf(digit: Digit) -> String {
    let mut s = String::with_capacity(4);
    write_dtmf(&mut s, digit);
    s
}

fn body_text(body: &[u8]) -> Result<&str, DtmfError> {
    if body.len() > MAX_INFO_BODY {
        return Err(DtmfError::InfoBodyTooLarge {
            len: body.len(),
            max: MAX_INFO_BODY,
        });
    }
    std::str::from_utf8(body).map_err(|_| DtmfError::InfoNotUtf8)
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A signal value: one digit character, `!`, or a decimal event code 0-16.
fn parse_signal(value: &str) -> Result<Digit, DtmfError> {
    let invalid = || DtmfError::InfoInvalidSignal {
        value: truncated(value, 16),
    };
    if value == "!" {
        return Err(DtmfError::InfoUnsupportedEvent { code: 16 });
    }
    if value.len() == 1 {
        if let Some(d) = value.chars().next().and_then(Digit::from_char) {
            return Ok(d);
        }
    }
    if value.is_empty() || value.len() > 3 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let code: u8 = value.parse().map_err(|_| invalid())?;
    match Digit::from_event_code(code) {
        Some(d) => Ok(d),
        None if code == 16 => Err(DtmfError::InfoUnsupportedEvent { code }),
        None => Err(invalid()),
    }
}

fn parse_duration(value: &str) -> Result<Duration, DtmfError> {
    let invalid = || DtmfError::InfoInvalidDuration {
        value: truncated(value, 16),
    };
    if value.is_empty() || value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let ms: u64 = value.parse().map_err(|_| invalid())?;
    if ms > MAX_DURATION_MS {
        return Err(invalid());
    }
    Ok(Duration::from_millis(ms))
}
