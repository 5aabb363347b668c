//! Where messages go: transports, targets, the datagrams handed to the driver, and
//! the response routing rules of RFC 3261 §18.2.2 with RFC 3581 `rport`.
//!
//! Nothing here resolves names: a [`Target`] is always a socket address. The
//! driver owns sockets and connections (it reuses a connection keyed by the remote
//! address for reliable transports).

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::message::Via;

/// A SIP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Transport {
    /// UDP: unreliable, so the transaction layer retransmits.
    Udp,
    /// TCP: reliable, no retransmissions.
    Tcp,
    /// TLS over TCP: reliable, no retransmissions.
    Tls,
}

impl Transport {
    /// Whether the transport is reliable (RFC 3261 §17: no retransmission timers,
    /// zero wait times in Completed/Confirmed states).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// The default port (RFC 3261 §19.1.2): 5060, or 5061 for TLS.
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            Transport::Udp | Transport::Tcp => 5060,
        }
    }

    /// The Via transport token (`UDP`, `TCP`, `TLS`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    /// The transport named by a Via transport token, case-insensitively.
    pub fn from_token(token: &str) -> Option<Transport> {
        [Transport::Udp, Transport::Tcp, Transport::Tls]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(token))
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where to send a message: a transport and a resolved socket address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// The transport.
    pub transport: Transport,
    /// The remote address (for reliable transports: the connection's peer).
    pub addr: SocketAddr,
}

impl Target {
    /// A target.
    pub fn new(transport: Transport, addr: SocketAddr) -> Target {
        Target { transport, addr }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)
    }
}

/// A serialised message for the driver to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub target: Target,
    /// The whole message (one datagram, or bytes for the stream).
    pub bytes: Vec<u8>,
}

/// Where the responses to a request received from `source` over `transport` go
/// (RFC 3261 §18.2.2, RFC 3581 §4). `via` is the request's top Via *after* the
/// layer stamped it (see [`TransactionLayer::receive`](super::TransactionLayer::receive)).
///
/// - reliable transport: back to `source` (the driver reuses that connection);
/// - UDP with an `rport` value: the `received` address (or `source`'s IP) and that port;
/// - UDP with `received`: that address and the Via port (default 5060);
/// - UDP with an IP sent-by: that address and port;
/// - otherwise (a domain name sent-by without `received`, which cannot happen
///   after stamping): `source`. This layer resolves no names.
///
/// `maddr` (multicast) is ignored.
pub fn response_target(via: &Via, source: SocketAddr, transport: Transport) -> Target {
    if transport.is_reliable() {
        return Target::new(transport, source);
    }
    let default_port = via.port.unwrap_or(transport.default_port());
    let received: Option<IpAddr> = via.received().and_then(parse_ip);
    let addr = match via.rport() {
        Some(Some(port)) => SocketAddr::new(received.unwrap_or(source.ip()), port),
        Some(None) => source,
        None => match (received, via.host.ip()) {
            (Some(ip), _) | (None, Some(ip)) => SocketAddr::new(ip, default_port),
            (None, None) => source,
        },
    };
    Target::new(transport, addr)
}

/// Stamps the top Via of a received request (RFC 3261 §18.2.1, RFC 3581 §4):
/// `received` when the sent-by host is a name or an IP other than the source's,
/// or when `rport` is requested; an empty `rport` gets the source port.
pub(crate) fn stamp_via(via: &mut Via, source: SocketAddr) {
    let source_ip = source.ip().to_canonical();
    let rport_requested = via.params.get("rport") == Some(None);
    let host_matches = via.host.ip().map(|ip| ip.to_canonical()) == Some(source_ip);
    if !host_matches || rport_requested {
        via.params.set("received", Some(&source_ip.to_string()));
    }
    if rport_requested {
        via.params.set("rport", Some(&source.port().to_string()));
    }
}

/// Parses a `received` value: a bare IPv4/IPv6 address, or a bracketed IPv6 one.
fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    s.parse().ok()
}
