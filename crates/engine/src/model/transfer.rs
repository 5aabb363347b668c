//! Call transfer as clients see it: what `POST /v1/calls/{id}/transfer` asks
//! for, and the progress of a transfer in each of the three roles (RFC 5589):
//! the transferor sends REFER, the transferee receives it and calls the
//! target, the target receives an INVITE that replaces one of its calls.

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// What a transfer asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferRequest {
    /// Blind: the peer is asked to call `to` (a SIP URI or `user@host[:port]`).
    Blind {
        /// The transfer target.
        to: String,
    },
    /// Attended: the peer is asked to call the party of our other call
    /// `replaces`, replacing that call (REFER with Replaces, RFC 3891).
    Attended {
        /// Our other (active) call.
        replaces: String,
    },
}

impl TransferRequest {
    /// The request from the API's two optional fields: exactly one is needed.
    pub fn from_fields(
        to: Option<String>,
        replaces: Option<String>,
    ) -> Result<TransferRequest, EngineError> {
        match (to, replaces) {
            (Some(to), None) => Ok(TransferRequest::Blind { to }),
            (None, Some(replaces)) if !replaces.is_empty() && replaces.len() <= 64 => {
                Ok(TransferRequest::Attended { replaces })
            }
            (None, Some(_)) => Err(EngineError::InvalidArgument(
                "replaces must be a call id".into(),
            )),
            _ => Err(EngineError::InvalidArgument(
                "give exactly one of to (blind transfer) or replaces (attended transfer)".into(),
            )),
        }
    }
}

/// Which side of a transfer a call is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferRole {
    /// We sent the REFER on this call.
    Transferor,
    /// We received the REFER on this call and call the target.
    Transferee,
    /// An INVITE with Replaces replaced one of our calls with a new one.
    Target,
}

/// How far a transfer got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferState {
    /// REFER sent, not answered yet.
    Requested,
    /// REFER accepted (202); the transferee has not reported progress yet.
    Accepted,
    /// The call to the target is under way (`100 Trying`).
    Trying,
    /// The target rings (`18x`).
    Ringing,
    /// The target answered (or the Replaces INVITE was accepted).
    Succeeded,
    /// Refused, failed, or no news in time.
    Failed,
}

impl TransferState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Requested => "requested",
            TransferState::Accepted => "accepted",
            TransferState::Trying => "trying",
            TransferState::Ringing => "ringing",
            TransferState::Succeeded => "succeeded",
            TransferState::Failed => "failed",
        }
    }

    /// Whether the transfer is over.
    pub fn is_final(self) -> bool {
        matches!(self, TransferState::Succeeded | TransferState::Failed)
    }

    /// The state a SIP status reports (a NOTIFY's sipfrag, or the new call's
    /// response): 1xx trying/ringing, 2xx succeeded, else failed.
    pub fn for_status(code: u16) -> TransferState {
        match code {
            180..=183 => TransferState::Ringing,
            100..=199 => TransferState::Trying,
            200..=299 => TransferState::Succeeded,
            _ => TransferState::Failed,
        }
    }
}

/// A transfer as the API shows it: in a call's `transfer` field and as the
/// `detail` of `call.transfer` events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferView {
    /// This call's side.
    pub role: TransferRole,
    /// Progress.
    pub state: TransferState,
    /// Whether the transfer replaces a dialog (attended, RFC 3891).
    pub attended: bool,
    /// The Refer-To URI sent or received (target role: null).
    pub target: Option<String>,
    /// The other call of ours in this transfer: the call an attended
    /// transfer replaces (transferor), the call placed to the target
    /// (transferee), the replaced or replacing call (target).
    pub call: Option<String>,
    /// The SIP status that brought the state: the REFER's response, the
    /// NOTIFY's sipfrag, or the new call's final response.
    pub sip_status: Option<u16>,
    /// Its reason phrase (or why the transfer failed locally).
    pub sip_reason: Option<String>,
    /// The Referred-By of a received REFER.
    pub referred_by: Option<String>,
}
