//! RTP data packets (RFC 3550 §5.1): a zero-copy view parsed from bytes, a
//! header builder, and the RFC 5761 RTP/RTCP demultiplexing test.

use std::fmt;

use super::error::RtpError;

/// Length of the fixed RTP header.
pub const RTP_HEADER_LEN: usize = 12;

/// A parsed RTP packet borrowing the datagram it came from.
///
/// Every field has been bounds-checked by [`RtpPacket::parse`]; the accessors
/// cannot fail.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    marker: bool,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    /// Raw CSRC list, a multiple of 4 bytes.
    csrc: &'a [u8],
    extension: Option<RtpExtension<'a>>,
    payload: &'a [u8],
    padding: u8,
}

/// The header extension of an RTP packet (RFC 3550 §5.3.1), undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    /// The 16 profile-defined bits (e.g. `0xBEDE` for RFC 8285 one-byte headers).
    pub profile: u16,
    /// Extension data, a multiple of 4 bytes.
    pub data: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parses one RTP packet.
    ///
    /// Checks the version (2), the CSRC list and header extension against the
    /// buffer length, and the padding count (non-zero and no larger than what
    /// follows the headers). The payload type is not checked against the
    /// RTCP range: use [`is_rtcp`] first on an rtcp-mux port.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        let fixed: &[u8; RTP_HEADER_LEN] = buf
            .get(..RTP_HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(RtpError::Truncated { len: buf.len() })?;
        let version = fixed[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion { version });
        }
        let has_padding = fixed[0] & 0x20 != 0;
        let has_extension = fixed[0] & 0x10 != 0;
        let csrc_count = fixed[0] & 0x0f;
        let marker = fixed[1] & 0x80 != 0;
        let payload_type = fixed[1] & 0x7f;
        let sequence = u16::from_be_bytes([fixed[2], fixed[3]]);
        let timestamp = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
        let ssrc = u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]);

        let csrc_end = RTP_HEADER_LEN + 4 * usize::from(csrc_count);
        let csrc = buf
            .get(RTP_HEADER_LEN..csrc_end)
            .ok_or(RtpError::CsrcOverrun {
                count: csrc_count,
                needed: csrc_end,
                len: buf.len(),
            })?;

        let mut header_end = csrc_end;
        let extension = if has_extension {
            let overrun = |needed| RtpError::ExtensionOverrun {
                needed,
                len: buf.len(),
            };
            let ext_header: [u8; 4] = buf
                .get(csrc_end..csrc_end + 4)
                .and_then(|b| b.try_into().ok())
                .ok_or(overrun(csrc_end + 4))?;
            let profile = u16::from_be_bytes([ext_header[0], ext_header[1]]);
            let words = u16::from_be_bytes([ext_header[2], ext_header[3]]);
            let data_start = csrc_end + 4;
            let data_end = data_start + 4 * usize::from(words);
            let data = buf.get(data_start..data_end).ok_or(overrun(data_end))?;
            header_end = data_end;
            Some(RtpExtension { profile, data })
        } else {
            None
        };

        // `header_end <= buf.len()` holds: every part above came from `get`.
        let rest = buf.get(header_end..).unwrap_or_default();
        let (payload, padding) = if has_padding {
            let count = rest.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > rest.len() {
                return Err(RtpError::BadPadding {
                    count,
                    available: rest.len(),
                });
            }
            let payload = rest
                .get(..rest.len() - usize::from(count))
                .unwrap_or_default();
            (payload, count)
        } else {
            (rest, 0)
        };

        Ok(RtpPacket {
            marker,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrc,
            extension,
            payload,
            padding,
        })
    }

    /// The marker bit (for audio: first packet of a talkspurt, RFC 3551 §4.1).
    pub fn marker(&self) -> bool {
        self.marker
    }

    /// The 7-bit payload type.
    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// The 16-bit sequence number.
    pub fn sequence(&self) -> u16 {
        self.sequence
    }

    /// The 32-bit media timestamp, in units of the payload's clock rate.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// The synchronization source.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        self.csrc
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap_or_default()))
    }

    /// The header extension, if the X bit is set.
    pub fn extension(&self) -> Option<RtpExtension<'a>> {
        self.extension
    }

    /// The payload, without headers and padding.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Number of padding bytes removed (0 when the P bit is clear).
    pub fn padding_len(&self) -> u8 {
        self.padding
    }

    /// The fixed-header fields, for re-sending or comparison.
    pub fn header(&self) -> RtpHeader {
        RtpHeader {
            marker: self.marker,
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        }
    }
}

impl fmt::Debug for RtpPacket<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtpPacket")
            .field("marker", &self.marker)
            .field("payload_type", &self.payload_type)
            .field("sequence", &self.sequence)
            .field("timestamp", &self.timestamp)
            .field("ssrc", &format_args!("{:#010x}", self.ssrc))
            .field("csrc_count", &(self.csrc.len() / 4))
            .field(
                "extension",
                &self.extension.map(|e| (e.profile, e.data.len())),
            )
            .field("payload_len", &self.payload.len())
            .field("padding", &self.padding)
            .finish()
    }
}

/// The fixed RTP header of a packet to send (no CSRCs, no extension, no
/// padding: what a two-party audio sender needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RtpHeader {
    /// Marker bit.
    pub marker: bool,
    /// Payload type; only the low 7 bits are written.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Synchronization source.
    pub ssrc: u32,
}

impl RtpHeader {
    /// Clears `out` and writes the header followed by `payload`. `out` keeps
    /// its capacity, so a reused buffer costs no allocation.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(RTP_HEADER_LEN + payload.len());
        out.push(0x80);
        out.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7f));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
    }
}

/// Whether a datagram received on an rtcp-mux port is RTCP rather than RTP
/// (RFC 5761 §4): its second octet, read as RTCP packet type, lies in
/// 192..=223 (RTP marker bit plus payload types 64..=95, which a muxed
/// session must not use). Shorter than 2 bytes is neither: returns false.
pub fn is_rtcp(buf: &[u8]) -> bool {
    matches!(buf.get(1), Some(192..=223))
}
