//! RTP and RTCP (RFC 3550, RFC 3551, RFC 5761 multiplexing): packet parsing
//! and building, reception and sending statistics, the RTCP report timer,
//! and an adaptive jitter buffer for one audio stream.
//!
//! Everything here is sans-IO: parsers are pure functions over bytes,
//! writers fill a caller's `Vec<u8>`, and times (`Instant`, NTP values,
//! random numbers) are passed in by the caller, which owns sockets and
//! clocks.

mod error;
mod jitter;
mod packet;
mod rtcp;
mod session;
mod stats;

pub use error::{RtcpError, RtpError};
pub use jitter::{JitterBuffer, JitterConfig, JitterStats, Playout, Pushed};
pub use packet::{is_rtcp, RtpExtension, RtpHeader, RtpPacket, RTP_HEADER_LEN};
pub use rtcp::{
    parse_compound, CompoundReport, Goodbye, ReceiverReport, ReportBlock, RtcpPacket, SdesChunk,
    SenderInfo, SenderReport, PT_APP, PT_BYE, PT_RR, PT_SDES, PT_SR,
};
pub use session::RtcpTimer;
pub use stats::{
    duration_to_mid32, mid32_to_duration, ntp_from_unix, ntp_mid32, round_trip_time, ReceiverStats,
    SenderStats, SeqStatus, Stats, MAX_DROPOUT, MAX_MISORDER, MIN_SEQUENTIAL,
};
