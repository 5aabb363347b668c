//! The SDP printer: `Display` for the model, CRLF line ends, RFC 8866 line
//! order. Printing a parsed description and parsing the output yields an
//! equal description.
//!
//! CR, LF and NUL are dropped from every printed field so a value set by a
//! caller can never inject extra lines.

use std::fmt::{self, Display, Formatter};

use super::{
    Attribute, Bandwidth, Connection, MediaDescription, Origin, SessionDescription, UnknownLine,
};

/// Writes a string with CR, LF and NUL removed.
struct Clean<'a>(&'a str);

impl Display for Clean<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for part in self.0.split(['\r', '\n', '\0']) {
            f.write_str(part)?;
        }
        Ok(())
    }
}

fn line(f: &mut Formatter<'_>, kind: char, value: impl Display) -> fmt::Result {
    write!(f, "{kind}={value}\r\n")
}

fn opt_line(f: &mut Formatter<'_>, kind: char, value: &Option<String>) -> fmt::Result {
    match value {
        Some(v) => line(f, kind, Clean(v)),
        None => Ok(()),
    }
}

impl Display for Origin {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            Clean(&self.username),
            self.session_id,
            self.session_version,
            Clean(&self.net_type),
            Clean(&self.addr_type),
            Clean(&self.address)
        )
    }
}

impl Display for Connection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "IN {} {}", Clean(&self.addr_type), Clean(&self.address))
    }
}

impl Display for Bandwidth {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", Clean(&self.bw_type), self.bandwidth)
    }
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Clean(&self.name))?;
        if let Some(v) = &self.value {
            write!(f, ":{}", Clean(v))?;
        }
        Ok(())
    }
}

fn tail(f: &mut Formatter<'_>, attributes: &[Attribute], unknown: &[UnknownLine]) -> fmt::Result {
    for a in attributes {
        line(f, 'a', a)?;
    }
    for u in unknown {
        line(f, u.kind, Clean(&u.value))?;
    }
    Ok(())
}

impl Display for MediaDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", Clean(&self.media), self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", Clean(&self.proto))?;
        for fmt in &self.formats {
            write!(f, " {}", Clean(fmt))?;
        }
        f.write_str("\r\n")?;
        opt_line(f, 'i', &self.information)?;
        if let Some(c) = &self.connection {
            line(f, 'c', c)?;
        }
        for b in &self.bandwidths {
            line(f, 'b', b)?;
        }
        opt_line(f, 'k', &self.encryption_key)?;
        tail(f, &self.attributes, &self.unknown)
    }
}

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        line(f, 'v', 0)?;
        line(f, 'o', &self.origin)?;
        line(f, 's', Clean(&self.session_name))?;
        opt_line(f, 'i', &self.information)?;
        opt_line(f, 'u', &self.uri)?;
        for e in &self.emails {
            line(f, 'e', Clean(e))?;
        }
        for p in &self.phones {
            line(f, 'p', Clean(p))?;
        }
        if let Some(c) = &self.connection {
            line(f, 'c', c)?;
        }
        for b in &self.bandwidths {
            line(f, 'b', b)?;
        }
        if self.timing.is_empty() {
            line(f, 't', "0 0")?;
        }
        for t in &self.timing {
            write!(f, "t={} {}\r\n", t.start, t.stop)?;
            for r in &t.repeats {
                line(f, 'r', Clean(r))?;
            }
        }
        opt_line(f, 'z', &self.time_zones)?;
        opt_line(f, 'k', &self.encryption_key)?;
        tail(f, &self.attributes, &self.unknown)?;
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}
