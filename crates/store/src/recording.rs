//! The stored form of a call recording: its metadata. The audio is a WAV file
//! the engine writes; the store keeps only the file's name.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One recording as persisted in the `recordings` table. The engine upserts it
/// when recording starts, pauses, resumes and ends; the store checks nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingRecord {
    /// Recording id (a UUID in text form); the primary key.
    pub id: String,
    /// The call recorded.
    pub call_id: String,
    /// The call's account.
    pub account: String,
    /// `"recording"`, `"paused"`, `"finished"` or `"failed"`.
    pub state: String,
    /// `"mixed"` (one channel) or `"split"` (one channel per direction).
    pub mode: String,
    /// File name of the WAV, relative to the recordings directory.
    pub file: String,
    /// Samples per second of the WAV.
    pub sample_rate: u32,
    /// Channels of the WAV (1 or 2).
    pub channels: u16,
    /// Audio recorded so far, in milliseconds.
    pub duration_ms: u64,
    /// Size of the WAV file in bytes so far.
    pub bytes: u64,
    /// When recording started; listing orders by it.
    pub started_at: DateTime<Utc>,
    /// When recording ended.
    pub ended_at: Option<DateTime<Utc>>,
}
