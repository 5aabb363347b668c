//! Webhooks as clients see and change them: where events go, which ones,
//! and how delivery stands. The secret is write-only: no view carries it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// What a client sends to create a webhook, or the merged result of a patch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where events are POSTed: an `http` or `https` URL.
    pub url: String,
    /// Event types to deliver: exact names (`call.ended`), prefixes
    /// (`call.*`) or `*`; empty means all.
    #[serde(default)]
    pub types: Vec<String>,
    /// Signing secret in the Standard Webhooks form `whsec_<base64>` (the
    /// key is 24-64 bytes). Generated (and returned once) when absent on
    /// create; kept when absent on update.
    #[serde(default)]
    pub secret: Option<String>,
    /// Whether events are delivered (a disabled webhook keeps its place in
    /// the stream and resumes from it).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

/// Type filters per webhook at most.
const MAX_TYPES: usize = 64;

impl WebhookInput {
    /// Checks the URL, filters, secret and description; the message names
    /// the field.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |m: &str| Err(EngineError::InvalidArgument(m.into()));
        match reqwest::Url::parse(&self.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => return bad("url must be an absolute http or https URL"),
        }
        if self.url.len() > 2048 {
            return bad("url must be at most 2048 characters");
        }
        if self.types.len() > MAX_TYPES {
            return bad("types takes at most 64 entries");
        }
        for t in &self.types {
            let body = t.strip_suffix('*').unwrap_or(t);
            let ok = t.len() <= 64
                && !t.is_empty()
                && body
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c));
            if !ok {
                return bad("types entries must be event types (e.g. call.ended), prefixes ending in * (call.*) or *");
            }
        }
        if let Some(s) = &self.secret {
            crate::webhooks::sign::secret_key(s)?;
        }
        if matches!(&self.description, Some(d) if d.len() > 256) {
            return bad("description must be at most 256 characters");
        }
        Ok(())
    }

    /// Whether events of type `kind` pass the filter.
    pub fn wants(&self, kind: &str) -> bool {
        types_match(&self.types, kind)
    }
}

/// Whether `kind` matches one of `types` (empty matches everything).
pub(crate) fn types_match(types: &[String], kind: &str) -> bool {
    types.is_empty()
        || types.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => kind.starts_with(prefix),
            None => t == kind,
        })
}

/// Where a webhook's delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Everything stored so far is delivered.
    Idle,
    /// Sending.
    Delivering,
    /// The last attempt failed; the next one is scheduled.
    Retrying,
    /// Disabled by a client.
    Disabled,
}

/// A webhook as the API shows it (never with its secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookView {
    /// Id.
    pub id: String,
    /// Target URL.
    pub url: String,
    /// Type filter.
    pub types: Vec<String>,
    /// Whether events are delivered.
    pub enabled: bool,
    /// Free text.
    pub description: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// The last event seq the webhook is done with (delivered, filtered out
    /// or parked).
    pub delivered_seq: u64,
    /// Stored events after `delivered_seq` still to go through (the outbox
    /// depth; includes events the filter will skip).
    pub backlog: u64,
    /// Whether the backlog reached `webhooks.max_backlog` (older undelivered
    /// events are then pruned and reported as a skipped delivery).
    pub backlog_full: bool,
    /// Delivery state.
    pub state: DeliveryState,
    /// Attempts made for the event under way.
    pub attempt: u32,
    /// When the next attempt goes out (while retrying).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// What went wrong last (cleared by a success).
    pub last_error: Option<String>,
    /// The last successful delivery.
    pub last_delivered_at: Option<DateTime<Utc>>,
    /// Parked deliveries in state `failed`.
    pub failed_deliveries: u64,
}

/// The answer to creating a webhook: its view, plus the secret when
/// callwire generated it (the only time it is ever shown).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebhookCreated {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The generated signing secret; `None` when the client supplied one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A parked delivery: an event that exhausted its attempts (state
/// `failed`), a redelivered one (`delivered`), or a range of events pruned
/// before delivery (`skipped`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// Id.
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// The event's seq (the first skipped one for `skipped`).
    pub event_seq: u64,
    /// The event's id (empty for `skipped`).
    pub event_id: String,
    /// The event's type (empty for `skipped`).
    pub event_type: String,
    /// `failed`, `delivered` or `skipped`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// HTTP status of the last attempt.
    pub last_status: Option<u16>,
    /// What went wrong last.
    pub last_error: Option<String>,
    /// Parked at.
    pub created_at: DateTime<Utc>,
    /// Last attempt.
    pub updated_at: DateTime<Utc>,
}

impl From<callwire_store::WebhookDeliveryRecord> for DeliveryView {
    fn from(r: callwire_store::WebhookDeliveryRecord) -> DeliveryView {
        DeliveryView {
            id: r.id,
            webhook_id: r.webhook_id,
            event_seq: r.event_seq,
            event_id: r.event_id,
            event_type: r.event_type,
            state: r.state,
            attempts: r.attempts,
            last_status: r.last_status,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str) -> WebhookInput {
        WebhookInput {
            url: url.into(),
            types: vec![],
            secret: None,
            enabled: true,
            description: None,
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(input("http://127.0.0.1:9000/hook").validate().is_ok());
        assert!(input("https://example.test/x?y=1").validate().is_ok());
        for bad in ["ftp://x/", "http://", "/relative", "", "mailto:a@b"] {
            assert!(input(bad).validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn type_filters_match_exact_names_and_prefixes() {
        assert!(types_match(&[], "call.ended"));
        let t = vec!["call.*".to_owned(), "account.created".to_owned()];
        assert!(types_match(&t, "call.dtmf"));
        assert!(types_match(&t, "account.created"));
        assert!(!types_match(&t, "account.updated"));
        assert!(types_match(&["*".to_owned()], "recording.finished"));
        let mut i = input("http://h/");
        i.types = vec!["Call.*".into()];
        assert!(i.validate().is_err());
        i.types = vec!["call.*".into(), "*".into()];
        assert!(i.validate().is_ok());
    }
}
