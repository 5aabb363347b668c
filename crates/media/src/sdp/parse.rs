//! The SDP parser: bytes in, [`SessionDescription`] or a line-numbered error out.
//!
//! Lines may end in CRLF or LF; trailing spaces and tabs are dropped and blank
//! lines skipped. Session-level lines are accepted in any order before the
//! first `m=`. Unknown type letters and attributes are kept.

use super::{
    Attribute, Bandwidth, Connection, LineError, MediaDescription, Origin, Rtcp, RtpMap, SdpError,
    SessionDescription, Timing, UnknownLine, MAX_BODY_LEN, MAX_LINES, MAX_MEDIA,
};

/// Session fields collected before the required ones are known to be present.
#[derive(Default)]
struct SessionBuilder {
    origin: Option<Origin>,
    session_name: Option<String>,
    information: Option<String>,
    uri: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    connection: Option<Connection>,
    bandwidths: Vec<Bandwidth>,
    timing: Vec<Timing>,
    time_zones: Option<String>,
    encryption_key: Option<String>,
    attributes: Vec<Attribute>,
    unknown: Vec<UnknownLine>,
}

pub(super) fn parse(input: &[u8]) -> Result<SessionDescription, SdpError> {
    if input.len() > MAX_BODY_LEN {
        return Err(SdpError::TooLarge {
            size: input.len(),
            max: MAX_BODY_LEN,
        });
    }
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(SdpError::Empty);
    }
    let text = std::str::from_utf8(input).map_err(|e| {
        let before = input.get(..e.valid_up_to()).unwrap_or_default();
        SdpError::InvalidLine {
            line: before.iter().filter(|b| **b == b'\n').count() + 1,
            reason: LineError::NotUtf8,
        }
    })?;

    let mut seen_version = false;
    let mut session = SessionBuilder::default();
    let mut media: Vec<MediaDescription> = Vec::new();
    let mut line_count = 0usize;

    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        let at = |reason| SdpError::InvalidLine {
            line: line_no,
            reason,
        };
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let line = line.trim_end_matches([' ', '\t']);
        if line.is_empty() {
            continue;
        }
        line_count += 1;
        if line_count > MAX_LINES {
            return Err(SdpError::TooManyLines { max: MAX_LINES });
        }
        if line.contains(['\r', '\0']) {
            return Err(at(LineError::ForbiddenChar));
        }
        let (kind, value) = split_line(line).map_err(at)?;

        if !seen_version {
            if kind != 'v' {
                return Err(at(LineError::VersionNotFirst));
            }
            if value != "0" {
                return Err(at(LineError::UnsupportedVersion(value.to_owned())));
            }
            seen_version = true;
            continue;
        }

        if kind == 'm' {
            if media.len() >= MAX_MEDIA {
                return Err(SdpError::TooManyMedia { max: MAX_MEDIA });
            }
            media.push(media_line(value).map_err(at)?);
            continue;
        }
        match media.last_mut() {
            Some(m) => media_level(m, kind, value).map_err(at)?,
            None => session_level(&mut session, kind, value).map_err(at)?,
        }
    }

    let origin = session.origin.ok_or(SdpError::MissingLine { kind: 'o' })?;
    let session_name = session
        .session_name
        .ok_or(SdpError::MissingLine { kind: 's' })?;
    let mut timing = session.timing;
    if timing.is_empty() {
        // Some endpoints omit t=; supply the "unbounded" default so printing
        // yields a valid body and round-trips.
        timing.push(Timing::default());
    }
    Ok(SessionDescription {
        origin,
        session_name,
        information: session.information,
        uri: session.uri,
        emails: session.emails,
        phones: session.phones,
        connection: session.connection,
        bandwidths: session.bandwidths,
        timing,
        time_zones: session.time_zones,
        encryption_key: session.encryption_key,
        attributes: session.attributes,
        unknown: session.unknown,
        media,
    })
}

/// Splits `x=value` into its type letter and value.
fn split_line(line: &str) -> Result<(char, &str), LineError> {
    let (kind, value) = line.split_once('=').ok_or(LineError::NoEquals)?;
    let mut chars = kind.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_lowercase() => Ok((c, value)),
        _ => Err(LineError::BadType),
    }
}

/// Stores `value` into a once-only slot.
fn set_once(slot: &mut Option<String>, kind: char, value: &str) -> Result<(), LineError> {
    if slot.is_some() {
        return Err(LineError::Duplicate { kind });
    }
    *slot = Some(value.to_owned());
    Ok(())
}

fn session_level(s: &mut SessionBuilder, kind: char, value: &str) -> Result<(), LineError> {
    match kind {
        'v' => return Err(LineError::Duplicate { kind }),
        'o' => {
            if s.origin.is_some() {
                return Err(LineError::Duplicate { kind });
            }
            s.origin = Some(origin(value)?);
        }
        's' => set_once(&mut s.session_name, kind, value)?,
        'i' => set_once(&mut s.information, kind, value)?,
        'u' => set_once(&mut s.uri, kind, value)?,
        'e' => s.emails.push(value.to_owned()),
        'p' => s.phones.push(value.to_owned()),
        'c' => {
            if s.connection.is_some() {
                return Err(LineError::Duplicate { kind });
            }
            s.connection = Some(connection(value)?);
        }
        'b' => s.bandwidths.push(bandwidth(value)?),
        't' => s.timing.push(timing(value)?),
        'r' => s
            .timing
            .last_mut()
            .ok_or(LineError::RepeatWithoutTiming)?
            .repeats
            .push(value.to_owned()),
        'z' => set_once(&mut s.time_zones, kind, value)?,
        'k' => set_once(&mut s.encryption_key, kind, value)?,
        'a' => s.attributes.push(attribute(value)?),
        _ => s.unknown.push(UnknownLine {
            kind,
            value: value.to_owned(),
        }),
    }
    Ok(())
}

fn media_level(m: &mut MediaDescription, kind: char, value: &str) -> Result<(), LineError> {
    match kind {
        'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' => {
            return Err(LineError::NotAllowedInMedia { kind })
        }
        'i' => set_once(&mut m.information, kind, value)?,
        'c' => {
            if m.connection.is_some() {
                return Err(LineError::Duplicate { kind });
            }
            m.connection = Some(connection(value)?);
        }
        'b' => m.bandwidths.push(bandwidth(value)?),
        'k' => set_once(&mut m.encryption_key, kind, value)?,
        'a' => m.attributes.push(attribute(value)?),
        _ => m.unknown.push(UnknownLine {
            kind,
            value: value.to_owned(),
        }),
    }
    Ok(())
}

/// Parses a decimal number made of ASCII digits only (no sign, no spaces).
fn number<T: std::str::FromStr>(s: &str, field: &'static str) -> Result<T, LineError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LineError::InvalidNumber { field });
    }
    s.parse().map_err(|_| LineError::InvalidNumber { field })
}

/// Splits a value into exactly `N` whitespace-separated fields.
fn fields<const N: usize>(kind: char, value: &str) -> Result<[&str; N], LineError> {
    let mut out = [""; N];
    let mut found = 0;
    for (slot, token) in value.split_ascii_whitespace().enumerate() {
        if let Some(o) = out.get_mut(slot) {
            *o = token;
        }
        found += 1;
    }
    if found != N {
        return Err(LineError::FieldCount {
            kind,
            expected: N,
            found,
        });
    }
    Ok(out)
}

fn origin(value: &str) -> Result<Origin, LineError> {
    let [username, id, version, net_type, addr_type, address] = fields::<6>('o', value)?;
    Ok(Origin {
        username: username.to_owned(),
        session_id: number(id, "sess-id")?,
        session_version: number(version, "sess-version")?,
        net_type: net_type.to_owned(),
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

fn connection(value: &str) -> Result<Connection, LineError> {
    let [net_type, addr_type, address] = fields::<3>('c', value)?;
    connection_parts(net_type, addr_type, address)
}

fn connection_parts(
    net_type: &str,
    addr_type: &str,
    address: &str,
) -> Result<Connection, LineError> {
    if !net_type.eq_ignore_ascii_case("IN") {
        return Err(LineError::UnsupportedNetType);
    }
    let addr_type = if addr_type.eq_ignore_ascii_case("IP4") {
        "IP4"
    } else if addr_type.eq_ignore_ascii_case("IP6") {
        "IP6"
    } else {
        return Err(LineError::UnsupportedAddrType);
    };
    Ok(Connection {
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

fn bandwidth(value: &str) -> Result<Bandwidth, LineError> {
    let (bw_type, amount) = value.split_once(':').ok_or(LineError::Empty {
        field: "bandwidth value",
    })?;
    if bw_type.is_empty() || bw_type.contains(|c: char| c.is_ascii_whitespace()) {
        return Err(LineError::Empty { field: "bwtype" });
    }
    Ok(Bandwidth {
        bw_type: bw_type.to_owned(),
        bandwidth: number(amount.trim(), "bandwidth")?,
    })
}

fn timing(value: &str) -> Result<Timing, LineError> {
    let [start, stop] = fields::<2>('t', value)?;
    Ok(Timing {
        start: number(start, "start-time")?,
        stop: number(stop, "stop-time")?,
        repeats: Vec::new(),
    })
}

fn attribute(value: &str) -> Result<Attribute, LineError> {
    let (name, value) = match value.split_once(':') {
        Some((n, v)) => (n, Some(v.to_owned())),
        None => (value, None),
    };
    if name.is_empty() {
        return Err(LineError::Empty {
            field: "attribute name",
        });
    }
    Ok(Attribute {
        name: name.to_owned(),
        value,
    })
}

fn media_line(value: &str) -> Result<MediaDescription, LineError> {
    let mut tokens = value.split_ascii_whitespace();
    let (Some(media), Some(port), Some(proto)) = (tokens.next(), tokens.next(), tokens.next())
    else {
        return Err(LineError::FieldCount {
            kind: 'm',
            expected: 3,
            found: value.split_ascii_whitespace().count(),
        });
    };
    let (port, port_count) = match port.split_once('/') {
        Some((p, n)) => (p, Some(number(n, "port count")?)),
        None => (port, None),
    };
    let mut m = MediaDescription::new(
        media,
        number(port, "port")?,
        proto,
        tokens.map(str::to_owned).collect(),
    );
    m.port_count = port_count;
    Ok(m)
}

/// Parses the value of `a=rtpmap`; `None` if malformed.
pub(super) fn rtpmap(value: &str) -> Option<RtpMap> {
    let mut it = value.split_ascii_whitespace();
    let pt: u8 = number(it.next()?, "pt").ok().filter(|pt| *pt < 128)?;
    let spec = it.next()?;
    if it.next().is_some() {
        return None;
    }
    let mut parts = spec.split('/');
    let encoding = parts.next().filter(|e| !e.is_empty())?;
    let clock_rate = number(parts.next()?, "clock rate").ok()?;
    let channels = match parts.next() {
        Some(c) => Some(number(c, "channels").ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(RtpMap {
        pt,
        encoding: encoding.to_owned(),
        clock_rate,
        channels,
    })
}

/// Parses the value of `a=rtcp`; `None` if malformed.
pub(super) fn rtcp(value: &str) -> Option<Rtcp> {
    let tokens: Vec<&str> = value.split_ascii_whitespace().collect();
    match tokens.as_slice() {
        [port] => Some(Rtcp {
            port: number(port, "rtcp port").ok()?,
            connection: None,
        }),
        [port, net, addr_type, address] => Some(Rtcp {
            port: number(port, "rtcp port").ok()?,
            connection: Some(connection_parts(net, addr_type, address).ok()?),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_forms() {
        assert_eq!(
            rtpmap("111 opus/48000/2"),
            Some(RtpMap {
                pt: 111,
                encoding: "opus".into(),
                clock_rate: 48000,
                channels: Some(2)
            })
        );
        assert_eq!(rtpmap("0 PCMU/8000").map(|m| m.channels), Some(None));
        assert_eq!(rtpmap("128 X/8000"), None);
        assert_eq!(rtpmap("0 PCMU"), None);
        assert_eq!(rtpmap("0 PCMU/8000/1/2"), None);
        assert_eq!(rtpmap("0 PCMU/-8000"), None);
        assert_eq!(rtpmap(""), None);
    }

    #[test]
    fn rtcp_forms() {
        assert_eq!(rtcp("53020").map(|r| r.port), Some(53020));
        let r = rtcp("53020 IN IP6 2001:db8::1").and_then(|r| r.connection);
        assert_eq!(r.map(|c| c.address), Some("2001:db8::1".to_owned()));
        assert_eq!(rtcp("70000"), None);
        assert_eq!(rtcp("5000 IN"), None);
    }

    #[test]
    fn numbers_are_digits_only() {
        assert!(number::<u16>("+5", "x").is_err());
        assert!(number::<u16>("65536", "x").is_err());
        assert_eq!(number::<u16>("0065535", "x"), Ok(65535));
    }
}
