//! Header fields: the generic list for everything callwire treats as opaque, and the
//! typed values of the headers the core relies on (Via, From/To/Contact, CSeq).

use std::fmt;

use super::method::Method;
use super::uri::{Host, Params, Uri};

/// Expands a compact header name (RFC 3261 §7.3.3, RFC 3515, RFC 4028…) to its
/// canonical long form; known long names are returned in canonical case; unknown
/// names are returned as given.
pub fn canonical_name(name: &str) -> &str {
    if let [c] = name.as_bytes() {
        return compact_long_form(*c).unwrap_or(name);
    }
    // Runs for every header of every message: only the few known names of the same
    // length are compared, first exactly (the usual spelling), then in any case.
    let candidates = long_names_of_len(name.len());
    candidates
        .iter()
        .find(|l| **l == name)
        .or_else(|| candidates.iter().find(|l| l.eq_ignore_ascii_case(name)))
        .copied()
        .unwrap_or(name)
}

/// The long form of a compact header name, any case.
fn compact_long_form(c: u8) -> Option<&'static str> {
    Some(match c.to_ascii_lowercase() {
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'e' => "Content-Encoding",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'f' => "From",
        b's' => "Subject",
        b'k' => "Supported",
        b't' => "To",
        b'v' => "Via",
        b'r' => "Refer-To",
        b'b' => "Referred-By",
        b'o' => "Event",
        b'u' => "Allow-Events",
        b'x' => "Session-Expires",
        b'a' => "Accept-Contact",
        b'j' => "Reject-Contact",
        b'd' => "Request-Disposition",
        b'y' => "Identity",
        _ => return None,
    })
}

/// The known long header names of `len` octets, in canonical case.
fn long_names_of_len(len: usize) -> &'static [&'static str] {
    match len {
        2 => &["To"],
        3 => &["Via"],
        4 => &["CSeq", "From", "Date", "RSeq", "RAck", "Path"],
        5 => &["Route", "Allow", "Event"],
        6 => &["Accept", "Reason", "Server", "Min-SE"],
        7 => &[
            "Call-ID", "Contact", "Expires", "Require", "Subject", "Warning",
        ],
        8 => &["Priority", "Refer-To", "Replaces", "Reply-To"],
        9 => &["Supported", "Call-Info", "Timestamp"],
        10 => &["User-Agent", "Alert-Info", "Error-Info"],
        11 => &[
            "Unsupported",
            "In-Reply-To",
            "Min-Expires",
            "Referred-By",
            "Retry-After",
        ],
        12 => &[
            "Content-Type",
            "Max-Forwards",
            "Record-Route",
            "Allow-Events",
            "MIME-Version",
            "Organization",
        ],
        13 => &["Authorization", "Proxy-Require", "Service-Route"],
        14 => &["Content-Length"],
        15 => &["Session-Expires", "Accept-Encoding", "Accept-Language"],
        16 => &["Content-Encoding", "Content-Language", "WWW-Authenticate"],
        18 => &["Proxy-Authenticate", "Subscription-State"],
        19 => &[
            "Authentication-Info",
            "Content-Disposition",
            "Proxy-Authorization",
        ],
        _ => &[],
    }
}

/// One header field as received: canonical name and raw value (unfolded, trimmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Canonical name (see [`canonical_name`]).
    pub name: String,
    /// The value, without the leading `Name:` and surrounding whitespace.
    pub value: String,
}

/// An ordered list of header fields that callwire does not interpret as core headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    /// Appends a header (the name is canonicalised).
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push(Header {
            name: canonical_name(name).to_owned(),
            value: value.into(),
        });
    }

    /// The first value of `name` (any form, case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = canonical_name(name).to_owned();
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(&name))
            .map(|h| h.value.as_str())
    }

    /// Replaces every value of `name` with one value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.push(name, value);
    }

    /// Removes every value of `name`; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let name = canonical_name(name);
        let before = self.0.len();
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(name));
        before - self.0.len()
    }

    /// Iterates over all headers in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Number of header fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No header fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `[display-name] <uri>;params` or `uri;params` — From, To, Contact, Route, Record-Route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without quotes; quoted-pairs kept escaped.
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (`;tag=…`, `;expires=…`, `;q=…`), not URI parameters.
    pub params: Params,
}

impl NameAddr {
    /// A name-addr with no display name and no parameters.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }

    /// Sets the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.set("tag", Some(tag));
    }
}

impl fmt::Display for NameAddr {
    /// Always prints the `<uri>` form, so URI parameters never merge with header ones.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{d}\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// The RFC 3261 branch prefix that marks RFC 3261-compliant transaction ids.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// One Via value: `SIP/2.0/UDP host:port;branch=…;received=…;rport`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// Protocol name and version, normally `SIP/2.0`.
    pub protocol: String,
    /// Transport token, upper-cased (`UDP`, `TCP`, `TLS`, `SCTP`, or unknown).
    pub transport: String,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters (`branch`, `received`, `rport`, `maddr`, `ttl`, …).
    pub params: Params,
}

impl Via {
    /// A Via for a request sent from `host:port` over `transport` with `branch`.
    pub fn new(transport: &str, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        params.set("branch", Some(branch));
        Via {
            protocol: "SIP/2.0".into(),
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        }
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }

    /// The `rport` parameter: `Some(None)` when present without a value.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// Whether the transport is connection-oriented (TCP, TLS, SCTP, WS…), so no
    /// retransmission timers apply (RFC 3261 §17).
    pub fn is_reliable(&self) -> bool {
        !self.transport.eq_ignore_ascii_case("UDP")
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} {}", self.protocol, self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// `CSeq: 4711 INVITE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number (0 ..= 2^32-1).
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}
