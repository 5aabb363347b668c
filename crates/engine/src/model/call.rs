//! Calls as clients see them: state, reason, parties, timing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Direction of a call, seen from callwire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The remote side called us.
    Incoming,
    /// We called the remote side.
    Outgoing,
}

impl Direction {
    /// Lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
        }
    }
}

/// The state of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    /// Outgoing INVITE sent / incoming INVITE received, no ringing yet.
    Calling,
    /// A provisional response with ringing was received or sent.
    Ringing,
    /// Answered.
    Active,
    /// Hang-up under way (CANCEL or BYE sent, waiting for the answer).
    Terminating,
    /// Over.
    Terminated,
}

impl CallState {
    /// Lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Calling => "calling",
            CallState::Ringing => "ringing",
            CallState::Active => "active",
            CallState::Terminating => "terminating",
            CallState::Terminated => "terminated",
        }
    }

    /// Whether the call is over.
    pub fn is_ended(self) -> bool {
        self == CallState::Terminated
    }
}

/// Why the call is in its state (the Axis `CallStateChangeReason` vocabulary).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reason {
    /// The call was initiated.
    Initiated,
    /// The remote side answered our call.
    AcceptedByRemote,
    /// We answered an incoming call.
    AcceptedByDevice,
    /// Nobody answered in time.
    NoAnswer,
    /// The callee was busy.
    Busy,
    /// The call was refused by policy.
    Denied,
    /// The call failed for another reason.
    Failed,
    /// An established (or ringing) call was ended.
    Terminated,
    /// No media arrived for the configured time, so callwire ended the call.
    MediaTimeout,
    /// The call was transferred to another party (REFER succeeded).
    Transferred,
    /// An INVITE with Replaces took the call's place.
    Replaced,
    /// The call waited for its account's registration (`wait_for_registration_secs`)
    /// and the registration did not complete in time; no INVITE was sent.
    RegistrationTimeout,
}

impl Reason {
    /// The name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Initiated => "Initiated",
            Reason::AcceptedByRemote => "AcceptedByRemote",
            Reason::AcceptedByDevice => "AcceptedByDevice",
            Reason::NoAnswer => "NoAnswer",
            Reason::Busy => "Busy",
            Reason::Denied => "Denied",
            Reason::Failed => "Failed",
            Reason::Terminated => "Terminated",
            Reason::MediaTimeout => "MediaTimeout",
            Reason::Transferred => "Transferred",
            Reason::Replaced => "Replaced",
            Reason::RegistrationTimeout => "RegistrationTimeout",
        }
    }

    /// The reason for an outgoing call that ended with a final failure status.
    pub fn for_failure_status(code: u16) -> Reason {
        match code {
            486 | 600 => Reason::Busy,
            408 | 480 => Reason::NoAnswer,
            403 | 603 => Reason::Denied,
            _ => Reason::Failed,
        }
    }
}

/// A call as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallView {
    /// callwire's call id.
    pub id: String,
    /// Account id.
    pub account: String,
    /// Direction.
    pub direction: Direction,
    /// Caller URI.
    pub from: String,
    /// Callee URI.
    pub to: String,
    /// State.
    pub state: CallState,
    /// Reason for the state.
    pub reason: Reason,
    /// Final SIP status when the call failed or was rejected.
    pub sip_status: Option<u16>,
    /// Its reason phrase.
    pub sip_reason: Option<String>,
    /// The SIP Call-ID.
    pub sip_call_id: String,
    /// Negotiated audio codec, once known.
    pub codec: Option<String>,
    /// Local RTP address, when media is set up.
    pub local_rtp: Option<String>,
    /// Remote RTP address, when media is set up.
    pub remote_rtp: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Answer time.
    pub answered_at: Option<DateTime<Utc>>,
    /// End time.
    pub ended_at: Option<DateTime<Utc>>,
    /// Whether we put the call on hold.
    pub on_hold: bool,
    /// Whether the remote side put the call on hold.
    pub remote_hold: bool,
    /// DTMF digits received, oldest first (the last 256).
    pub dtmf: Vec<DtmfView>,
    /// The id of the playback in progress.
    pub playback: Option<u64>,
    /// Recordings of this call (ids), oldest first.
    pub recordings: Vec<String>,
    /// Media statistics (updated every 2 s while the call runs, final once it ended).
    pub media: Option<MediaStatsView>,
    /// The call's latest transfer (live calls and calls ended in memory).
    pub transfer: Option<crate::model::transfer::TransferView>,
    /// The call whose REFER made us place this call (we were the transferee).
    pub transferred_from: Option<String>,
    /// The call this call replaced (an INVITE with Replaces).
    pub replaces: Option<String>,
    /// Media started before the answer: a 18x with SDP (outgoing) or our 183
    /// Session Progress (incoming). Stays true once set.
    pub early_media: bool,
    /// The INVITE waits for the account's registration (`wait_for_registration_secs`).
    pub waiting_for_registration: bool,
}

/// One received DTMF digit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DtmfView {
    /// The digit: `0-9`, `*`, `#`, `A-D`.
    pub digit: char,
    /// How it arrived: `rfc4733`, `info` or `inband`.
    pub method: &'static str,
    /// Tone length in milliseconds.
    pub duration_ms: u32,
    /// When it started.
    pub at: DateTime<Utc>,
}

/// Media statistics of a call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaStatsView {
    /// Codec in use.
    pub codec: Option<String>,
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP payload octets sent.
    pub octets_sent: u64,
    /// RTP packets received.
    pub packets_received: u64,
    /// RTP payload octets received.
    pub octets_received: u64,
    /// Packets lost.
    pub packets_lost: i64,
    /// Fraction lost in the last interval, 0-1.
    pub fraction_lost: f64,
    /// Interarrival jitter, ms.
    pub jitter_ms: f64,
    /// Round-trip time from RTCP, ms.
    pub rtt_ms: Option<f64>,
    /// Jitter buffer delay, ms.
    pub jitter_buffer_ms: u32,
    /// Frames concealed (lost or late).
    pub frames_concealed: u64,
    /// Packets too late to play.
    pub packets_late: u64,
    /// RTP/RTCP datagrams that did not parse.
    pub malformed: u64,
}

impl From<&callwire_media::session::MediaStats> for MediaStatsView {
    fn from(s: &callwire_media::session::MediaStats) -> MediaStatsView {
        let jb = s.jitter_buffer.clone().unwrap_or_default();
        MediaStatsView {
            codec: s.codec.map(|c| c.encoding_name().to_owned()),
            packets_sent: s.rtp.packets_sent,
            octets_sent: s.rtp.octets_sent,
            packets_received: s.rtp.packets_received,
            octets_received: s.rtp.octets_received,
            packets_lost: s.rtp.packets_lost,
            fraction_lost: s.rtp.fraction_lost,
            jitter_ms: s.rtp.jitter_ms,
            rtt_ms: s.rtp.rtt_ms,
            jitter_buffer_ms: jb.delay_ms,
            frames_concealed: jb.concealed,
            packets_late: jb.late,
            malformed: s.counters.malformed_rtp + s.counters.malformed_rtcp,
        }
    }
}
