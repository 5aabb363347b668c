//! Error types for RTP and RTCP parsing and building.

use thiserror::Error;

/// Why bytes are not a valid RTP packet (RFC 3550 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    #[error("RTP packet is {len} bytes, shorter than the 12-byte fixed header")]
    Truncated {
        /// Length of the buffer.
        len: usize,
    },
    /// The version field is not 2.
    #[error("RTP version {version}, expected 2")]
    BadVersion {
        /// The version found.
        version: u8,
    },
    /// The CSRC count announces more identifiers than the buffer holds.
    #[error("CSRC count {count} needs {needed} bytes, packet has {len}")]
    CsrcOverrun {
        /// CSRC count from the first octet.
        count: u8,
        /// Bytes the fixed header and CSRC list need.
        needed: usize,
        /// Length of the buffer.
        len: usize,
    },
    /// The header extension (its 4-byte header or its announced length) runs
    /// past the end of the buffer.
    #[error("header extension needs {needed} bytes, packet has {len}")]
    ExtensionOverrun {
        /// Bytes needed up to the end of the extension.
        needed: usize,
        /// Length of the buffer.
        len: usize,
    },
    /// The padding bit is set but the count in the last octet is zero or
    /// larger than what follows the headers.
    #[error("padding count {count} is invalid, {available} bytes follow the headers")]
    BadPadding {
        /// The padding count (last octet), 0 when nothing follows the headers.
        count: u8,
        /// Bytes after the headers, padding included.
        available: usize,
    },
}

/// Why bytes are not a valid compound RTCP packet, or why a packet could
/// not be built (RFC 3550 §6.4 to §6.6, Appendix A.2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtcpError {
    /// The buffer is empty.
    #[error("RTCP packet is empty")]
    Empty,
    /// Fewer than 4 bytes (one common header) are left at `offset`.
    #[error("RTCP header at offset {offset} is truncated ({len} bytes left)")]
    Truncated {
        /// Offset of the packet within the compound.
        offset: usize,
        /// Bytes left at that offset.
        len: usize,
    },
    /// The version field is not 2.
    #[error("RTCP version {version} at offset {offset}, expected 2")]
    BadVersion {
        /// Offset of the packet within the compound.
        offset: usize,
        /// The version found.
        version: u8,
    },
    /// The length field announces more bytes than the buffer holds.
    #[error("RTCP packet at offset {offset} announces {declared} bytes, {available} left")]
    LengthOverrun {
        /// Offset of the packet within the compound.
        offset: usize,
        /// Bytes announced by the length field, header included.
        declared: usize,
        /// Bytes left at that offset.
        available: usize,
    },
    /// The padding bit is set but the count in the last octet is zero or
    /// larger than the packet body.
    #[error("RTCP packet at offset {offset} has invalid padding count {count}")]
    BadPadding {
        /// Offset of the packet within the compound.
        offset: usize,
        /// The padding count found.
        count: u8,
    },
    /// The body is too short for the fields its type and count announce.
    #[error(
        "RTCP packet type {packet_type} at offset {offset} needs {needed} body bytes, has {len}"
    )]
    ShortBody {
        /// Offset of the packet within the compound.
        offset: usize,
        /// RTCP packet type (200 = SR, 201 = RR, 202 = SDES, 203 = BYE).
        packet_type: u8,
        /// Body bytes needed.
        needed: usize,
        /// Body bytes present (after removing padding).
        len: usize,
    },
    /// An SDES chunk or item runs past the end of its packet.
    #[error("SDES packet at offset {offset} has a chunk or item past its end")]
    BadSdes {
        /// Offset of the packet within the compound.
        offset: usize,
    },
    /// A BYE reason runs past the end of its packet.
    #[error("BYE packet at offset {offset} has a reason past its end")]
    BadBye {
        /// Offset of the packet within the compound.
        offset: usize,
    },
    /// Building: more report blocks than the 5-bit count can carry (31).
    #[error("{count} report blocks, at most 31 fit in one report")]
    TooManyReportBlocks {
        /// Number of blocks given.
        count: usize,
    },
    /// Building: a CNAME or BYE reason longer than 255 bytes.
    #[error("RTCP text of {len} bytes is longer than 255")]
    TextTooLong {
        /// Length of the text.
        len: usize,
    },
}
