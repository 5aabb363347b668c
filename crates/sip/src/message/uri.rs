//! URIs (SIP, SIPS and opaque others), hosts and generic `;name=value` parameters.
//!
//! Parts are kept as they were on the wire (escaped form): RFC 4475 §3.1.1.3 warns
//! that unescaping twice is a bug, so unescaping happens only in comparisons.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A list of `;name[=value]` parameters, order kept, names compared case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, Option<String>)>);

impl Params {
    /// An empty list.
    pub fn new() -> Params {
        Params(Vec::new())
    }

    /// The value of `name`: `Some(None)` for a flag parameter, `None` when absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The value of `name` if present with a value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }

    /// Whether `name` is present, with or without a value.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` (replacing an existing value, keeping its position).
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    /// Appends without looking for an existing entry (parsers keep duplicates).
    pub fn push(&mut self, name: String, value: Option<String>) {
        self.0.push((name, value));
    }

    /// Removes `name`; returns whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        before != self.0.len()
    }

    /// Iterates over `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Params {
    /// Prints `;a=b;c` (each parameter with its leading semicolon).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

/// The host part of a SIP URI or Via.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, as written (compared case-insensitively).
    Name(String),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 address (printed in brackets).
    V6(Ipv6Addr),
}

impl Host {
    /// The IP address, if the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Name(_) => None,
            Host::V4(a) => Some(IpAddr::V4(*a)),
            Host::V6(a) => Some(IpAddr::V6(*a)),
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Host {
        match ip {
            IpAddr::V4(a) => Host::V4(a),
            IpAddr::V6(a) => Host::V6(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A `sip:` or `sips:` URI (RFC 3261 §19.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipUri {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// The user part, escaped as on the wire (may contain `;`, RFC 4475 §3.1.1.9).
    pub user: Option<String>,
    /// The password part (deprecated, kept for fidelity).
    pub password: Option<String>,
    /// Host.
    pub host: Host,
    /// Port, when given.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Params,
    /// URI headers (`?Subject=x&Route=...`), escaped as on the wire.
    pub headers: Vec<(String, String)>,
}

impl SipUri {
    /// `sip:user@host[:port]`.
    pub fn new(user: Option<&str>, host: Host, port: Option<u16>) -> SipUri {
        SipUri {
            secure: false,
            user: user.map(str::to_owned),
            password: None,
            host,
            port,
            params: Params::new(),
            headers: Vec::new(),
        }
    }

    /// The `transport` parameter, lower-cased.
    pub fn transport_param(&self) -> Option<String> {
        self.params.value("transport").map(str::to_ascii_lowercase)
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(user) = &self.user {
            f.write_str(user)?;
            if let Some(pw) = &self.password {
                write!(f, ":{pw}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

/// Any URI: SIP/SIPS parsed, others (tel:, urn:, unknown schemes) kept opaque.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// Another scheme, e.g. `tel:+1-201-555-0123` or `isbn:2983792873`.
    Other {
        /// The scheme, as written.
        scheme: String,
        /// Everything after the `:`.
        rest: String,
    },
}

impl Uri {
    /// The SIP URI, if it is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(s) => Some(s),
            Uri::Other { .. } => None,
        }
    }

    /// The scheme, lower-cased.
    pub fn scheme(&self) -> String {
        match self {
            Uri::Sip(s) if s.secure => "sips".into(),
            Uri::Sip(_) => "sip".into(),
            Uri::Other { scheme, .. } => scheme.to_ascii_lowercase(),
        }
    }
}

impl From<SipUri> for Uri {
    fn from(u: SipUri) -> Uri {
        Uri::Sip(u)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(s) => write!(f, "{s}"),
            Uri::Other { scheme, rest } => write!(f, "{scheme}:{rest}"),
        }
    }
}
