//! Codec descriptions for negotiation and the RFC 3551 static payload table.

use std::borrow::Cow;

use super::RtpMap;

/// A codec as the local side knows it. A `Vec<CodecSpec>` in priority order
/// is the local preference list; adding a codec later (G722, opus, L16) means
/// adding a constant here, not changing the negotiation code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodecSpec {
    /// RTP encoding name (matched case-insensitively).
    pub name: Cow<'static, str>,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count (1 when an rtpmap omits it).
    pub channels: u8,
    /// Static payload type from RFC 3551, `None` for dynamically mapped codecs.
    pub static_pt: Option<u8>,
}

impl CodecSpec {
    /// G.711 µ-law.
    pub const PCMU: CodecSpec = CodecSpec::fixed("PCMU", 8000, 1, Some(0));
    /// G.711 A-law.
    pub const PCMA: CodecSpec = CodecSpec::fixed("PCMA", 8000, 1, Some(8));
    /// G.722 (RFC 3551: the RTP clock is 8000 although it samples at 16 kHz).
    pub const G722: CodecSpec = CodecSpec::fixed("G722", 8000, 1, Some(9));
    /// Opus (RFC 7587: always `opus/48000/2` in SDP, whatever is sent).
    pub const OPUS: CodecSpec = CodecSpec::fixed("opus", 48000, 2, None);
    /// 16-bit linear PCM, mono, 8 kHz (dynamic payload type).
    pub const L16_8K: CodecSpec = CodecSpec::fixed("L16", 8000, 1, None);
    /// 16-bit linear PCM, mono, 16 kHz (dynamic payload type).
    pub const L16_16K: CodecSpec = CodecSpec::fixed("L16", 16000, 1, None);
    /// 16-bit linear PCM, mono, 48 kHz (dynamic payload type).
    pub const L16_48K: CodecSpec = CodecSpec::fixed("L16", 48000, 1, None);
    /// RFC 4733 DTMF events at 8 kHz (negotiated through `telephone_event_pt`).
    pub const TELEPHONE_EVENT: CodecSpec = CodecSpec::fixed("telephone-event", 8000, 1, None);

    /// A codec with a `'static` name, usable in constants.
    pub const fn fixed(
        name: &'static str,
        clock_rate: u32,
        channels: u8,
        static_pt: Option<u8>,
    ) -> CodecSpec {
        CodecSpec {
            name: Cow::Borrowed(name),
            clock_rate,
            channels,
            static_pt,
        }
    }

    /// Every audio codec the media engine speaks, in the default priority order.
    pub const SUPPORTED: [CodecSpec; 7] = [
        CodecSpec::PCMU,
        CodecSpec::PCMA,
        CodecSpec::G722,
        CodecSpec::OPUS,
        CodecSpec::L16_8K,
        CodecSpec::L16_16K,
        CodecSpec::L16_48K,
    ];

    /// A supported codec by its configuration name: the encoding name
    /// (case-insensitive), with the clock rate for L16 (`L16/16000`; plain
    /// `L16` is 8 kHz).
    pub fn by_name(name: &str) -> Option<CodecSpec> {
        let (encoding, rate) = match name.split_once('/') {
            Some((e, r)) => (e, Some(r.parse::<u32>().ok()?)),
            None => (name, None),
        };
        CodecSpec::SUPPORTED
            .into_iter()
            .filter(|c| c.name.eq_ignore_ascii_case(encoding))
            .find(|c| rate.is_none_or(|r| r == c.clock_rate))
    }

    /// The configuration name [`CodecSpec::by_name`] reads back.
    pub fn config_name(&self) -> String {
        if self.name.eq_ignore_ascii_case("L16") && self.clock_rate != 8000 {
            format!("{}/{}", self.name, self.clock_rate)
        } else {
            self.name.to_string()
        }
    }

    /// Whether an rtpmap describes this codec: same name (case-insensitive),
    /// clock rate and channel count (an omitted count means 1).
    pub fn matches(&self, map: &RtpMap) -> bool {
        self.name.eq_ignore_ascii_case(&map.encoding)
            && self.clock_rate == map.clock_rate
            && self.channels == map.channels.unwrap_or(1)
    }

    /// Whether this is the RFC 4733 `telephone-event` pseudo-codec.
    pub fn is_telephone_event(&self) -> bool {
        self.name.eq_ignore_ascii_case("telephone-event")
    }

    /// The rtpmap line content for this codec on a payload type.
    pub fn rtpmap_value(&self, pt: u8) -> String {
        if self.channels > 1 {
            format!("{pt} {}/{}/{}", self.name, self.clock_rate, self.channels)
        } else {
            format!("{pt} {}/{}", self.name, self.clock_rate)
        }
    }

    /// The codec described by an rtpmap, with `static_pt` set when the payload
    /// type is the codec's RFC 3551 static assignment.
    pub fn from_rtpmap(map: &RtpMap) -> CodecSpec {
        let channels = map.channels.unwrap_or(1);
        let is_static = static_rtpmap(map.pt).is_some_and(|s| {
            s.encoding.eq_ignore_ascii_case(&map.encoding)
                && s.clock_rate == map.clock_rate
                && s.channels.unwrap_or(1) == channels
        });
        CodecSpec {
            name: Cow::Owned(map.encoding.clone()),
            clock_rate: map.clock_rate,
            channels,
            static_pt: is_static.then_some(map.pt),
        }
    }
}

/// RFC 3551 static payload types: (pt, encoding, clock rate, audio channels).
const STATIC_PTS: &[(u8, &str, u32, Option<u8>)] = &[
    (0, "PCMU", 8000, Some(1)),
    (3, "GSM", 8000, Some(1)),
    (4, "G723", 8000, Some(1)),
    (5, "DVI4", 8000, Some(1)),
    (6, "DVI4", 16000, Some(1)),
    (7, "LPC", 8000, Some(1)),
    (8, "PCMA", 8000, Some(1)),
    (9, "G722", 8000, Some(1)),
    (10, "L16", 44100, Some(2)),
    (11, "L16", 44100, Some(1)),
    (12, "QCELP", 8000, Some(1)),
    (13, "CN", 8000, Some(1)),
    (14, "MPA", 90000, None),
    (15, "G728", 8000, Some(1)),
    (16, "DVI4", 11025, Some(1)),
    (17, "DVI4", 22050, Some(1)),
    (18, "G729", 8000, Some(1)),
    (25, "CelB", 90000, None),
    (26, "JPEG", 90000, None),
    (28, "nv", 90000, None),
    (31, "H261", 90000, None),
    (32, "MPV", 90000, None),
    (33, "MP2T", 90000, None),
    (34, "H263", 90000, None),
];

/// The RFC 3551 static mapping of a payload type, if it has one.
pub fn static_rtpmap(pt: u8) -> Option<RtpMap> {
    STATIC_PTS
        .iter()
        .find(|(p, ..)| *p == pt)
        .map(|&(pt, encoding, clock_rate, channels)| RtpMap {
            pt,
            encoding: encoding.to_owned(),
            clock_rate,
            channels,
        })
}
