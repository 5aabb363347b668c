//! SDP (RFC 8866): the session description model, a bounded parser, a CRLF
//! printer, and RFC 3264 offer/answer for one audio stream.
//!
//! The parser is a pure function over bytes. It keeps lines and attributes it
//! does not understand so that a parsed body prints back equivalently, and it
//! enforces limits ([`MAX_BODY_LEN`], [`MAX_LINES`], [`MAX_MEDIA`]) so hostile
//! input costs bounded work. This module does no I/O.

mod codec;
mod error;
mod negotiate;
mod parse;
mod print;

use std::net::IpAddr;

pub use codec::{static_rtpmap, CodecSpec};
pub use error::{LineError, NegotiationError, SdpError};
pub use negotiate::{accept_answer, answer, build_offer, LocalMedia, Negotiated};

/// Largest SDP body accepted by [`SessionDescription::parse`], in bytes.
pub const MAX_BODY_LEN: usize = 16 * 1024;
/// Largest number of non-blank lines accepted.
pub const MAX_LINES: usize = 512;
/// Largest number of media sections (`m=` lines) accepted.
pub const MAX_MEDIA: usize = 64;

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=` line.
    pub origin: Origin,
    /// `s=` line (may be empty or `-`).
    pub session_name: String,
    /// `i=` session information.
    pub information: Option<String>,
    /// `u=` URI.
    pub uri: Option<String>,
    /// `e=` lines.
    pub emails: Vec<String>,
    /// `p=` lines.
    pub phones: Vec<String>,
    /// Session-level `c=` line.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines with their `r=` lines. The parser supplies `t=0 0` when the
    /// body has none.
    pub timing: Vec<Timing>,
    /// `z=` line, kept verbatim.
    pub time_zones: Option<String>,
    /// Session-level `k=` line, kept verbatim (obsolete).
    pub encryption_key: Option<String>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Session-level lines with a type letter this parser does not know.
    pub unknown: Vec<UnknownLine>,
    /// Media sections, in order.
    pub media: Vec<MediaDescription>,
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name, `-` when none.
    pub username: String,
    /// Session id.
    pub session_id: u64,
    /// Session version; bumped on each new offer in a dialog.
    pub session_version: u64,
    /// Network type, normally `IN`.
    pub net_type: String,
    /// Address type, normally `IP4` or `IP6`.
    pub addr_type: String,
    /// Address of the originator (IP or host name).
    pub address: String,
}

/// `c=IN <addrtype> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// The address, possibly with multicast `/ttl/count` suffixes or a host name.
    pub address: String,
}

/// `b=<bwtype>:<bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// Bandwidth type (`AS`, `CT`, `TIAS`, ...).
    pub bw_type: String,
    /// Bandwidth value in the unit of the type.
    pub bandwidth: u64,
}

/// `t=<start> <stop>` and the `r=` lines following it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timing {
    /// Start time (NTP seconds), 0 for unbounded.
    pub start: u64,
    /// Stop time (NTP seconds), 0 for unbounded.
    pub stop: u64,
    /// `r=` lines, kept verbatim.
    pub repeats: Vec<String>,
}

/// `a=<name>` or `a=<name>:<value>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute name (text before the first `:`).
    pub name: String,
    /// Attribute value (text after the first `:`), `None` for flags.
    pub value: Option<String>,
}

/// A line whose type letter this parser does not handle, kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLine {
    /// Type letter.
    pub kind: char,
    /// Text after `=`.
    pub value: String,
}

/// One media section: the `m=` line and the lines up to the next `m=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type: `audio`, `video`, `application`, ...
    pub media: String,
    /// Transport port; 0 means the stream is rejected or disabled.
    pub port: u16,
    /// Number of ports from `<port>/<count>`.
    pub port_count: Option<u16>,
    /// Transport protocol: `RTP/AVP`, `RTP/SAVP`, ...
    pub proto: String,
    /// Media formats (RTP payload types for RTP protocols).
    pub formats: Vec<String>,
    /// `i=` media title.
    pub information: Option<String>,
    /// Media-level `c=` line; overrides the session-level one.
    pub connection: Option<Connection>,
    /// Media-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// Media-level `k=` line, kept verbatim.
    pub encryption_key: Option<String>,
    /// Media-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Media-level lines with an unknown type letter.
    pub unknown: Vec<UnknownLine>,
}

/// Parsed `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// RTP payload type.
    pub pt: u8,
    /// Encoding name as written (compare case-insensitively).
    pub encoding: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters; the channel count for audio.
    pub channels: Option<u8>,
}

/// Parsed `a=rtcp:<port> [IN <addrtype> <address>]` (RFC 3605).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtcp {
    /// RTCP port.
    pub port: u16,
    /// Explicit RTCP address, if given.
    pub connection: Option<Connection>,
}

/// Stream direction (RFC 8866 §6.7), from the point of view of the SDP's author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Send and receive (the default).
    #[default]
    SendRecv,
    /// Send only.
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// Attribute name for this direction.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// Parses an attribute name (case-insensitive).
    pub fn from_attr_name(name: &str) -> Option<Direction> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| name.eq_ignore_ascii_case(d.as_str()))
    }

    /// Builds a direction from "sends" and "receives" flags.
    pub fn from_flags(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether media is sent in this direction.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether media is received in this direction.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other end: sendonly <-> recvonly.
    pub fn reversed(self) -> Direction {
        Direction::from_flags(self.receives(), self.sends())
    }

    /// Both constraints at once: sends only if both send, receives only if both receive.
    pub fn intersect(self, other: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Connection {
    /// A connection line for a literal IP address.
    pub fn from_ip(ip: IpAddr) -> Connection {
        Connection {
            addr_type: addr_type_of(ip).to_owned(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP, ignoring any multicast `/ttl` suffix. `None` for
    /// host names and malformed addresses.
    pub fn ip(&self) -> Option<IpAddr> {
        let host = self.address.split('/').next().unwrap_or_default();
        host.parse().ok()
    }
}

/// `IP4` or `IP6` for an address.
pub(crate) fn addr_type_of(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

impl Attribute {
    /// A flag attribute (`a=<name>`).
    pub fn flag(name: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: None,
        }
    }

    /// A value attribute (`a=<name>:<value>`).
    pub fn with_value(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }
}

/// Values of all attributes called `name` (case-insensitive); flags yield "".
fn attr_values<'a>(attrs: &'a [Attribute], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    attrs
        .iter()
        .filter(move |a| a.name.eq_ignore_ascii_case(name))
        .map(|a| a.value.as_deref().unwrap_or(""))
}

/// First direction attribute in a list.
fn direction_in(attrs: &[Attribute]) -> Option<Direction> {
    attrs.iter().find_map(|a| {
        a.value
            .is_none()
            .then(|| Direction::from_attr_name(&a.name))
            .flatten()
    })
}

/// First parseable `a=ptime` in a list.
fn ptime_in(attrs: &[Attribute]) -> Option<u32> {
    attr_values(attrs, "ptime").find_map(|v| v.trim().parse().ok())
}

impl SessionDescription {
    /// A minimal description: the given origin and name, `t=0 0`, nothing else.
    pub fn new(origin: Origin, session_name: impl Into<String>) -> SessionDescription {
        SessionDescription {
            origin,
            session_name: session_name.into(),
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timing: vec![Timing::default()],
            time_zones: None,
            encryption_key: None,
            attributes: Vec::new(),
            unknown: Vec::new(),
            media: Vec::new(),
        }
    }

    /// Parses an SDP body (CRLF or LF line ends). See the module docs for limits.
    pub fn parse(input: &[u8]) -> Result<SessionDescription, SdpError> {
        parse::parse(input)
    }

    /// Session-level direction attribute, `SendRecv` when absent.
    pub fn direction(&self) -> Direction {
        direction_in(&self.attributes).unwrap_or_default()
    }

    /// Effective direction of a media section: its own attribute, else the
    /// session-level one, else `SendRecv`.
    pub fn media_direction(&self, media: &MediaDescription) -> Direction {
        media
            .direction_attr()
            .or_else(|| direction_in(&self.attributes))
            .unwrap_or_default()
    }

    /// Effective connection of a media section: its own `c=`, else the session's.
    pub fn media_connection<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    /// Effective `a=ptime` of a media section (media level, else session level).
    pub fn media_ptime(&self, media: &MediaDescription) -> Option<u32> {
        media.ptime().or_else(|| ptime_in(&self.attributes))
    }

    /// First session-level attribute called `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

impl MediaDescription {
    /// A media section with no attributes or connection.
    pub fn new(
        media: impl Into<String>,
        port: u16,
        proto: impl Into<String>,
        formats: Vec<String>,
    ) -> MediaDescription {
        MediaDescription {
            media: media.into(),
            port,
            port_count: None,
            proto: proto.into(),
            formats,
            information: None,
            connection: None,
            bandwidths: Vec::new(),
            encryption_key: None,
            attributes: Vec::new(),
            unknown: Vec::new(),
        }
    }

    /// First attribute called `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The explicit `a=rtpmap` for a payload type, if present and well-formed.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        attr_values(&self.attributes, "rtpmap")
            .filter_map(parse::rtpmap)
            .find(|m| m.pt == pt)
    }

    /// The codec of a payload type: the explicit `a=rtpmap`, else the RFC 3551
    /// static assignment.
    pub fn codec(&self, pt: u8) -> Option<RtpMap> {
        self.rtpmap(pt).or_else(|| static_rtpmap(pt))
    }

    /// Payload types from the format list that are valid numbers, in order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok().filter(|pt| *pt < 128))
    }

    /// The parameters of `a=fmtp:<pt> <params>`, if present.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        attr_values(&self.attributes, "fmtp").find_map(|v| {
            let v = v.trim_start();
            let (num, rest) = v
                .split_once(|c: char| c.is_ascii_whitespace())
                .unwrap_or((v, ""));
            (num.parse::<u8>().ok() == Some(pt)).then_some(rest.trim_start())
        })
    }

    /// The media-level direction attribute, if any. Use
    /// [`SessionDescription::media_direction`] for the effective direction.
    pub fn direction_attr(&self) -> Option<Direction> {
        direction_in(&self.attributes)
    }

    /// Media-level `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        ptime_in(&self.attributes)
    }

    /// Parsed `a=rtcp`, if present and well-formed.
    pub fn rtcp(&self) -> Option<Rtcp> {
        attr_values(&self.attributes, "rtcp").find_map(parse::rtcp)
    }
}
