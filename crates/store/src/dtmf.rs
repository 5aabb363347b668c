//! The stored forms of DTMF configurations and triggers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A DTMF configuration: named sequences, kept as JSON text the engine reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtmfConfigurationRecord {
    /// Id (the primary key).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The sequences, as JSON text.
    pub sequences: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A trigger: a configuration bound to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtmfTriggerRecord {
    /// Id (the primary key).
    pub id: String,
    /// The configuration.
    pub configuration_id: String,
    /// The account.
    pub account_id: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}
