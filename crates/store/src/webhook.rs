//! The stored forms of webhooks, their parked deliveries and API tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A webhook subscription. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRecord {
    /// Id (the primary key).
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Event type filter as JSON text (an array of patterns).
    pub types: String,
    /// The signing secret (`whsec_…`).
    pub secret: String,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Free text.
    pub description: Option<String>,
    /// The last event seq this webhook is done with (delivered, filtered
    /// out, or parked).
    pub delivered_seq: u64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("types", &self.types)
            .field("secret", &"REDACTED")
            .field("enabled", &self.enabled)
            .field("delivered_seq", &self.delivered_seq)
            .finish_non_exhaustive()
    }
}

/// One event a webhook could not deliver within its retries (or a
/// redelivery of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDeliveryRecord {
    /// Id (the primary key).
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// The event's seq.
    pub event_seq: u64,
    /// The event's id.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The exact body that was (and will be) sent.
    pub payload: String,
    /// `failed` or `delivered` (after a redelivery).
    pub state: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// HTTP status of the last attempt, when there was a response.
    pub last_status: Option<u16>,
    /// What went wrong last.
    pub last_error: Option<String>,
    /// Parked at.
    pub created_at: DateTime<Utc>,
    /// Last attempt.
    pub updated_at: DateTime<Utc>,
}

/// A named API token; only the SHA-256 of the token is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenRecord {
    /// Id (the primary key).
    pub id: String,
    /// Name given by the admin.
    pub name: String,
    /// Lower-case hex SHA-256 of the token.
    pub token_hash: String,
    /// Scope names, comma-separated.
    pub scopes: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}
