//! The stored form of a finished or ongoing call, for call history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One call as persisted in the `call_records` table.
///
/// The engine upserts the record as the call progresses; the store keeps
/// whatever it is given and does not check state transitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Call id (a UUID in text form); the primary key.
    pub id: String,
    /// Id of the account the call belongs to.
    pub account: String,
    /// `"incoming"` or `"outgoing"`.
    pub direction: String,
    /// From URI of the call.
    pub from_uri: String,
    /// To URI of the call.
    pub to_uri: String,
    /// Engine call state name.
    pub state: String,
    /// Engine reason for the current state (e.g. why the call ended).
    pub reason: String,
    /// Final SIP status code, if any.
    pub sip_status: Option<u16>,
    /// Reason phrase of the final SIP status.
    pub sip_reason: Option<String>,
    /// SIP Call-ID of the dialog.
    pub call_id: Option<String>,
    /// When the call was created; listing and pruning order by it.
    pub created_at: DateTime<Utc>,
    /// When the call was answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// When the call ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// The audio codec the call used.
    pub codec: Option<String>,
    /// Media statistics at the end of the call, as JSON text written by the engine.
    pub media_stats: Option<String>,
}

/// What [`crate::Store::query_call_records`] selects; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallRecordQuery {
    /// Only this account's calls.
    pub account: Option<String>,
    /// `"incoming"` or `"outgoing"`.
    pub direction: Option<String>,
    /// Only calls in this state (e.g. `"terminated"`).
    pub state: Option<String>,
    /// Only calls with this reason (e.g. `"Busy"`).
    pub reason: Option<String>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created strictly before.
    pub until: Option<DateTime<Utc>>,
    /// Resume after this record (`created_at`, `id`) of a previous page.
    pub after: Option<(DateTime<Utc>, String)>,
}
