//! Events: the node's one ordered stream of what happened. Every event has a
//! strictly increasing `seq`, a unique `id`, a `type`, a time, and the affected
//! object's full view at that moment (`data`); some carry a `detail` (the DTMF
//! digit, the recording).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Event types.
pub mod kind {
    /// A call exists (incoming INVITE or `POST /v1/calls`).
    pub const CALL_CREATED: &str = "call.created";
    /// The call rings.
    pub const CALL_RINGING: &str = "call.ringing";
    /// Media started before the answer, or its early SDP changed (`detail`:
    /// `remote_rtp` and `codec`).
    pub const CALL_EARLY_MEDIA: &str = "call.early_media";
    /// The call was answered.
    pub const CALL_ANSWERED: &str = "call.answered";
    /// Another state change (hang-up under way, …).
    pub const CALL_STATE_CHANGED: &str = "call.state_changed";
    /// Hold changed on either side.
    pub const CALL_HOLD_CHANGED: &str = "call.hold_changed";
    /// The call ended.
    pub const CALL_ENDED: &str = "call.ended";
    /// A transfer of the call made progress (`detail`: the transfer, see
    /// [`crate::model::transfer::TransferView`]).
    pub const CALL_TRANSFER: &str = "call.transfer";
    /// A DTMF digit arrived (`detail`: the digit).
    pub const CALL_DTMF: &str = "call.dtmf";
    /// A DTMF sequence of a configuration bound to the account was received
    /// (`detail`: its name, sequence and configuration).
    pub const CALL_DTMF_SEQUENCE: &str = "call.dtmf_sequence";
    /// A playback ended.
    pub const CALL_PLAYBACK_FINISHED: &str = "call.playback_finished";
    /// A recording started (`detail`: the recording).
    pub const RECORDING_STARTED: &str = "recording.started";
    /// A recording was paused or resumed (`detail`: the recording).
    pub const RECORDING_STATE_CHANGED: &str = "recording.state_changed";
    /// A recording finished or failed (`detail`: the recording).
    pub const RECORDING_FINISHED: &str = "recording.finished";
    /// An account was created.
    pub const ACCOUNT_CREATED: &str = "account.created";
    /// An account's settings changed.
    pub const ACCOUNT_UPDATED: &str = "account.updated";
    /// An account was deleted.
    pub const ACCOUNT_DELETED: &str = "account.deleted";
    /// An account's registration state changed.
    pub const ACCOUNT_REGISTRATION_CHANGED: &str = "account.registration_changed";
}

/// One event of the stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the stream (strictly increasing, never reused).
    pub seq: u64,
    /// Unique id, for idempotent consumers.
    pub id: String,
    /// What happened (see [`kind`]).
    #[serde(rename = "type")]
    pub kind: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The account concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The call concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// The affected object's full view.
    pub data: serde_json::Value,
    /// Event-specific detail (the digit of `call.dtmf`, the recording of
    /// `recording.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl Event {
    /// The stored form.
    pub fn to_record(&self) -> callwire_store::EventRecord {
        let body = serde_json::json!({ "data": self.data, "detail": self.detail });
        callwire_store::EventRecord {
            seq: self.seq,
            id: self.id.clone(),
            kind: self.kind.clone(),
            at: self.at,
            account: self.account.clone(),
            call_id: self.call.clone(),
            data: body.to_string(),
        }
    }

    /// Back from the stored form.
    pub fn from_record(r: callwire_store::EventRecord) -> Event {
        let body: serde_json::Value = serde_json::from_str(&r.data).unwrap_or_default();
        let detail = body.get("detail").filter(|d| !d.is_null()).cloned();
        Event {
            seq: r.seq,
            id: r.id,
            kind: r.kind,
            at: r.at,
            account: r.account,
            call: r.call_id,
            data: body.get("data").cloned().unwrap_or_default(),
            detail,
        }
    }
}
