//! Per-call media statistics: what the API shows and the call record keeps.

use crate::codec::Codec;
use crate::rtp::{JitterStats, Stats};

/// Packets the session dropped or could not use, by cause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// RTP datagrams that did not parse.
    pub malformed_rtp: u64,
    /// RTCP datagrams that did not parse.
    pub malformed_rtcp: u64,
    /// RTCP compound packets received.
    pub rtcp_received: u64,
    /// RTP with a payload type that was not negotiated.
    pub unknown_payload_type: u64,
    /// RTP that arrived before the stream was negotiated.
    pub before_stream: u64,
    /// Payloads the decoder refused.
    pub undecodable: u64,
    /// Times the remote SSRC changed.
    pub ssrc_changes: u64,
    /// RTP from another address while the latched source was live: dropped.
    pub foreign_source: u64,
    /// telephone-event packets handed to the RFC 4733 receiver.
    pub telephone_events: u64,
    /// Events dropped because nobody drained them.
    pub events_dropped: u64,
    /// Recorded frames dropped because nobody drained them.
    pub recording_overflow: u64,
}

/// A snapshot of one call's media statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaStats {
    /// The codec in use.
    pub codec: Option<Codec>,
    /// RTP statistics (RFC 3550: counts, loss, jitter, round-trip time).
    pub rtp: Stats,
    /// The jitter buffer's counters, once a stream exists.
    pub jitter_buffer: Option<JitterStats>,
    /// Drops and refusals by cause.
    pub counters: Counters,
}
