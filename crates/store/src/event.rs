//! The stored form of an event of the node's ordered event stream.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One event as persisted in the `events` table. The engine assigns `seq`;
/// the store keeps what it is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Position in the stream; strictly increasing, the primary key.
    pub seq: u64,
    /// Unique id (a UUID in text form), for idempotent consumers.
    pub id: String,
    /// Event type, e.g. `call.answered`.
    pub kind: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The account concerned, if any.
    pub account: Option<String>,
    /// The call concerned, if any.
    pub call_id: Option<String>,
    /// The affected object's view, as JSON text.
    pub data: String,
}
