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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
}
