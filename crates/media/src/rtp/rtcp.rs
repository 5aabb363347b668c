//! RTCP (RFC 3550 §6): parsing compound packets into SR, RR, SDES and BYE
//! values, and writing the compound reports we send.
//!
//! The parser checks every length against the buffer and rejects the whole
//! compound on the first malformed packet (Appendix A.2). It does not insist
//! that the compound starts with SR or RR, so reduced-size RTCP (RFC 5506)
//! and feedback-only packets are read too, and it accepts padding on any
//! packet, not only the last. APP (204), feedback and unknown
//! packet types come out as [`RtcpPacket::Other`] so the caller can skip them.

use super::error::RtcpError;

/// RTCP packet type of a sender report.
pub const PT_SR: u8 = 200;
/// RTCP packet type of a receiver report.
pub const PT_RR: u8 = 201;
/// RTCP packet type of a source description.
pub const PT_SDES: u8 = 202;
/// RTCP packet type of a goodbye.
pub const PT_BYE: u8 = 203;
/// RTCP packet type of an application-defined packet.
pub const PT_APP: u8 = 204;

/// SDES item type of CNAME.
const SDES_CNAME: u8 = 1;
/// Size of one report block.
const REPORT_BLOCK_LEN: usize = 24;
/// Size of the sender info in an SR.
const SENDER_INFO_LEN: usize = 20;
/// Largest count the 5-bit RC/SC field holds.
const MAX_COUNT: usize = 31;

/// One packet of a compound RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// Sender report (PT 200).
    SenderReport(SenderReport),
    /// Receiver report (PT 201).
    ReceiverReport(ReceiverReport),
    /// Source description (PT 202): one entry per chunk.
    SourceDescription(Vec<SdesChunk<'a>>),
    /// Goodbye (PT 203).
    Goodbye(Goodbye<'a>),
    /// APP (204), feedback (205, 206), XR (207) or any other type, not decoded.
    Other {
        /// Packet type.
        packet_type: u8,
        /// The 5-bit count/subtype field.
        count: u8,
        /// Body after the 4-byte common header, padding removed.
        body: &'a [u8],
    },
}

/// A sender report: sender info plus reception report blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderReport {
    /// SSRC of the sender.
    pub ssrc: u32,
    /// What the sender has sent.
    pub info: SenderInfo,
    /// Reports about the sources it receives.
    pub reports: Vec<ReportBlock>,
}

/// The sender info section of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SenderInfo {
    /// Wall-clock time of the report, NTP 32.32 fixed point.
    pub ntp_timestamp: u64,
    /// The same instant on the RTP media clock.
    pub rtp_timestamp: u32,
    /// Packets sent since the start (wraps).
    pub packet_count: u32,
    /// Payload octets sent since the start (wraps).
    pub octet_count: u32,
}

/// A receiver report: reception report blocks only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverReport {
    /// SSRC of the reporter.
    pub ssrc: u32,
    /// Reports about the sources it receives.
    pub reports: Vec<ReportBlock>,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReportBlock {
    /// SSRC of the source this block is about.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, a signed 24-bit value (negative with duplicates).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the high 16 bits).
    pub highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received, 0 if none.
    pub last_sr: u32,
    /// Delay since that SR in 1/65536 s, 0 if none.
    pub delay_since_last_sr: u32,
}

/// One SDES chunk; only CNAME is kept, other items are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// SSRC or CSRC the chunk describes.
    pub ssrc: u32,
    /// The first CNAME item's text (UTF-8 per the RFC, not validated).
    pub cname: Option<&'a [u8]>,
}

/// A BYE packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goodbye<'a> {
    /// Sources leaving.
    pub sources: Vec<u32>,
    /// Reason for leaving (UTF-8 per the RFC, not validated); `None` when
    /// absent or empty.
    pub reason: Option<&'a [u8]>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let word: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(word))
}

/// Parses a compound RTCP packet into its packets, in order.
///
/// Rejects the whole buffer if any packet is malformed: wrong version, a
/// length past the end, bad padding, or a body too short for its counts.
pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket<'_>>, RtcpError> {
    if buf.is_empty() {
        return Err(RtcpError::Empty);
    }
    let mut packets = Vec::new();
    let mut offset = 0;
    while offset < buf.len() {
        let rest = buf.get(offset..).unwrap_or_default();
        let header = rest.get(..4).ok_or(RtcpError::Truncated {
            offset,
            len: rest.len(),
        })?;
        let version = header[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion { offset, version });
        }
        let padded = header[0] & 0x20 != 0;
        let count = header[0] & 0x1f;
        let packet_type = header[1];
        let declared = (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1) * 4;
        let packet = rest.get(..declared).ok_or(RtcpError::LengthOverrun {
            offset,
            declared,
            available: rest.len(),
        })?;
        let mut body = packet.get(4..).unwrap_or_default();
        if padded {
            let pad = body.last().copied().unwrap_or(0);
            if pad == 0 || usize::from(pad) > body.len() {
                return Err(RtcpError::BadPadding { offset, count: pad });
            }
            body = body
                .get(..body.len() - usize::from(pad))
                .unwrap_or_default();
        }
        packets.push(parse_one(offset, packet_type, count, body)?);
        offset += declared;
    }
    Ok(packets)
}

fn parse_one(
    offset: usize,
    packet_type: u8,
    count: u8,
    body: &[u8],
) -> Result<RtcpPacket<'_>, RtcpError> {
    let short = |needed: usize| RtcpError::ShortBody {
        offset,
        packet_type,
        needed,
        len: body.len(),
    };
    let blocks = usize::from(count);
    match packet_type {
        PT_SR => {
            let needed = 4 + SENDER_INFO_LEN + blocks * REPORT_BLOCK_LEN;
            if body.len() < needed {
                return Err(short(needed));
            }
            let word = |at| be32(body, at).unwrap_or(0);
            let info = SenderInfo {
                ntp_timestamp: u64::from(word(4)) << 32 | u64::from(word(8)),
                rtp_timestamp: word(12),
                packet_count: word(16),
                octet_count: word(20),
            };
            Ok(RtcpPacket::SenderReport(SenderReport {
                ssrc: word(0),
                info,
                reports: report_blocks(body.get(4 + SENDER_INFO_LEN..).unwrap_or_default(), blocks),
            }))
        }
        PT_RR => {
            let needed = 4 + blocks * REPORT_BLOCK_LEN;
            if body.len() < needed {
                return Err(short(needed));
            }
            Ok(RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: be32(body, 0).unwrap_or(0),
                reports: report_blocks(body.get(4..).unwrap_or_default(), blocks),
            }))
        }
        PT_SDES => parse_sdes(offset, blocks, body).map(RtcpPacket::SourceDescription),
        PT_BYE => {
            let needed = 4 * blocks;
            let (ids, tail) = match (body.get(..needed), body.get(needed..)) {
                (Some(ids), Some(tail)) => (ids, tail),
                _ => return Err(short(needed)),
            };
            let sources = ids.chunks_exact(4).filter_map(|c| be32(c, 0)).collect();
            let reason = match tail.split_first() {
                None | Some((0, _)) => None,
                Some((&len, text)) => Some(
                    text.get(..usize::from(len))
                        .ok_or(RtcpError::BadBye { offset })?,
                ),
            };
            Ok(RtcpPacket::Goodbye(Goodbye { sources, reason }))
        }
        _ => Ok(RtcpPacket::Other {
            packet_type,
            count,
            body,
        }),
    }
}

/// Decodes `n` report blocks; the caller has checked `b.len() >= 24 * n`.
fn report_blocks(b: &[u8], n: usize) -> Vec<ReportBlock> {
    b.chunks_exact(REPORT_BLOCK_LEN)
        .take(n)
        .map(|c| {
            let word = |at| be32(c, at).unwrap_or(0);
            let lost = word(4) & 0x00ff_ffff;
            // Sign-extend the 24-bit cumulative loss.
            let cumulative_lost = ((lost << 8) as i32) >> 8;
            ReportBlock {
                ssrc: word(0),
                fraction_lost: (word(4) >> 24) as u8,
                cumulative_lost,
                highest_seq: word(8),
                jitter: word(12),
                last_sr: word(16),
                delay_since_last_sr: word(20),
            }
        })
        .collect()
}

fn parse_sdes(offset: usize, chunks: usize, body: &[u8]) -> Result<Vec<SdesChunk<'_>>, RtcpError> {
    let bad = RtcpError::BadSdes { offset };
    let mut out = Vec::with_capacity(chunks.min(MAX_COUNT));
    let mut at = 0;
    for _ in 0..chunks {
        let ssrc = be32(body, at).ok_or(bad.clone())?;
        at += 4;
        let mut cname = None;
        // Items until a null octet or the end of the body (a missing
        // terminator on the last chunk is tolerated).
        while let Some(&item) = body.get(at) {
            if item == 0 {
                break;
            }
            let len = usize::from(*body.get(at + 1).ok_or(bad.clone())?);
            let text = body.get(at + 2..at + 2 + len).ok_or(bad.clone())?;
            if item == SDES_CNAME && cname.is_none() {
                cname = Some(text);
            }
            at += 2 + len;
        }
        // Skip the null terminator and pad to the next 32-bit boundary.
        at = (at + 4) & !3;
        out.push(SdesChunk { ssrc, cname });
    }
    Ok(out)
}

/// The compound RTCP packet we send at each report interval: SR (when
/// `sender_info` is given) or RR, then SDES with our CNAME, then BYE when
/// leaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompoundReport<'a> {
    /// Our SSRC.
    pub ssrc: u32,
    /// Sender info: `Some` writes an SR, `None` an RR.
    pub sender_info: Option<SenderInfo>,
    /// Report blocks about the sources we receive (at most 31).
    pub report_blocks: &'a [ReportBlock],
    /// Our CNAME (at most 255 bytes).
    pub cname: &'a str,
    /// `Some(reason)` appends a BYE for our SSRC; an empty reason is left out.
    pub bye: Option<&'a str>,
}

impl CompoundReport<'_> {
    /// Clears `out` and writes the compound packet into it.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        out.clear();
        let blocks = self.report_blocks.len();
        if blocks > MAX_COUNT {
            return Err(RtcpError::TooManyReportBlocks { count: blocks });
        }
        for text in [Some(self.cname), self.bye].into_iter().flatten() {
            if text.len() > 255 {
                return Err(RtcpError::TextTooLong { len: text.len() });
            }
        }
        // Every count and text length was checked above, so the casts to u8
        // below cannot truncate.
        let count = blocks as u8;

        // SR or RR.
        let (pt, body_len) = match self.sender_info {
            Some(_) => (PT_SR, 4 + SENDER_INFO_LEN + blocks * REPORT_BLOCK_LEN),
            None => (PT_RR, 4 + blocks * REPORT_BLOCK_LEN),
        };
        write_header(out, count, pt, body_len);
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        if let Some(info) = &self.sender_info {
            out.extend_from_slice(&info.ntp_timestamp.to_be_bytes());
            out.extend_from_slice(&info.rtp_timestamp.to_be_bytes());
            out.extend_from_slice(&info.packet_count.to_be_bytes());
            out.extend_from_slice(&info.octet_count.to_be_bytes());
        }
        for b in self.report_blocks {
            out.extend_from_slice(&b.ssrc.to_be_bytes());
            let lost = clamp_lost(i64::from(b.cumulative_lost)) as u32 & 0x00ff_ffff;
            out.extend_from_slice(&(u32::from(b.fraction_lost) << 24 | lost).to_be_bytes());
            out.extend_from_slice(&b.highest_seq.to_be_bytes());
            out.extend_from_slice(&b.jitter.to_be_bytes());
            out.extend_from_slice(&b.last_sr.to_be_bytes());
            out.extend_from_slice(&b.delay_since_last_sr.to_be_bytes());
        }

        // SDES with one chunk: SSRC, CNAME item, null terminator, padding.
        let items = 2 + self.cname.len() + 1;
        let chunk_len = 4 + items.div_ceil(4) * 4;
        write_header(out, 1, PT_SDES, chunk_len);
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.push(SDES_CNAME);
        out.push(self.cname.len() as u8);
        out.extend_from_slice(self.cname.as_bytes());
        pad_to_word(out);

        if let Some(reason) = self.bye {
            let reason_len = if reason.is_empty() {
                0
            } else {
                (1 + reason.len()).div_ceil(4) * 4
            };
            write_header(out, 1, PT_BYE, 4 + reason_len);
            out.extend_from_slice(&self.ssrc.to_be_bytes());
            if !reason.is_empty() {
                out.push(reason.len() as u8);
                out.extend_from_slice(reason.as_bytes());
                // Pad the reason with zero octets to the word boundary.
                while out.len() & 3 != 0 {
                    out.push(0);
                }
            }
        }
        Ok(())
    }
}

/// Clamps a cumulative loss to the signed 24-bit range (RFC 3550 A.3).
pub(crate) fn clamp_lost(lost: i64) -> i32 {
    lost.clamp(-0x80_0000, 0x7f_ffff) as i32
}

fn write_header(out: &mut Vec<u8>, count: u8, packet_type: u8, body_len: usize) {
    // body_len is a multiple of 4 and far below 256 KiB for our packets.
    let words = (body_len / 4) as u16;
    out.push(0x80 | (count & 0x1f));
    out.push(packet_type);
    out.extend_from_slice(&words.to_be_bytes());
}

/// Appends at least one null octet, then more up to a 32-bit boundary.
fn pad_to_word(out: &mut Vec<u8>) {
    out.push(0);
    while out.len() & 3 != 0 {
        out.push(0);
    }
}
