//! Answering a request that failed to parse: a tolerant scan for the headers a
//! response must copy (RFC 3261 §8.2.6.2), without trusting the rest of the message.

use super::error::{Origin, ParseError};
use super::head::origin_of;
use super::lines::{find_crlf, find_head_end, leading_crlfs, name_is, Fields};

/// Octets scanned at most.
const MAX_SCAN: usize = 65_535;

/// Whether `raw` holds a CR or LF that is not part of a CRLF (would break framing).
fn has_bare_cr_or_lf(raw: &[u8]) -> bool {
    raw.iter().enumerate().any(|(i, &b)| match b {
        b'\r' => raw.get(i + 1) != Some(&b'\n'),
        b'\n' => i == 0 || raw.get(i - 1) != Some(&b'\r'),
        _ => false,
    })
}

/// Builds `SIP/2.0 <err.status()> <err.reason_phrase()>` for the request in `buf`,
/// copying its Via, From, To, Call-ID and CSeq header lines verbatim (folded lines
/// included), with `Content-Length: 0`. Returns `None` when `buf` is a response (never
/// answered), when its first line does not end in a `SIP/` version (not a request),
/// or when no Via can be found (nowhere to send it).
pub fn error_response(buf: &[u8], err: &ParseError) -> Option<Vec<u8>> {
    let buf = buf.get(..buf.len().min(MAX_SCAN))?;
    let buf = buf.get(leading_crlfs(buf)..)?;
    let first_end = find_crlf(buf, 0)?;
    if origin_of(buf.get(..first_end)?) != Origin::Request {
        return None;
    }
    let head_end = find_head_end(buf, 0).unwrap_or(buf.len());
    let headers = buf
        .get(first_end + 2..head_end.max(first_end + 2))
        .unwrap_or(&[]);
    let mut via = Vec::new();
    let mut single: [Option<&[u8]>; 4] = [None; 4];
    const SINGLE: [(&str, Option<u8>); 4] = [
        ("From", Some(b'f')),
        ("To", Some(b't')),
        ("Call-ID", Some(b'i')),
        ("CSeq", None),
    ];
    for field in Fields::new(headers).flatten() {
        if has_bare_cr_or_lf(field.raw) {
            continue;
        }
        if name_is(field.name, "Via", Some(b'v')) {
            via.push(field.raw);
            continue;
        }
        for (slot, (long, short)) in single.iter_mut().zip(SINGLE) {
            if slot.is_none() && name_is(field.name, long, short) {
                *slot = Some(field.raw);
            }
        }
    }
    if via.is_empty() {
        return None;
    }
    let mut out = format!("SIP/2.0 {} {}\r\n", err.status(), err.reason_phrase()).into_bytes();
    for raw in via.into_iter().chain(single.into_iter().flatten()) {
        out.extend_from_slice(raw);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    Some(out)
}
