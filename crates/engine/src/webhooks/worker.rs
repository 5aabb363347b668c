//! One webhook's delivery loop: read the stored events after the cursor,
//! POST those the filter wants in order, retry with backoff, park what
//! exhausts its attempts, record pruned gaps, save the cursor.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use callwire_store::{EventRecord, WebhookDeliveryRecord};
use chrono::Utc;
use rand::Rng;

use super::{sign, Shared, Status};
use crate::model::event::Event;
use crate::model::webhook::{types_match, DeliveryState};

/// Events read from the store per query.
const BATCH: u32 = 200;
/// Wait after a store error before reading again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// What a worker delivers, and where.
pub(super) struct Job {
    pub(super) id: String,
    pub(super) url: String,
    pub(super) key: Vec<u8>,
    pub(super) types: Vec<String>,
    pub(super) status: Arc<Status>,
}

/// Why an attempt failed.
pub(super) struct Failure {
    pub(super) status: Option<u16>,
    pub(super) error: String,
}

/// Delivers until aborted.
pub(super) async fn run(shared: Arc<Shared>, job: Job) {
    let mut stored = shared.marks.watch_stored();
    let mut saved = job.status.cursor();
    loop {
        let cursor = job.status.cursor();
        let end = *stored.borrow_and_update();
        if end <= cursor {
            job.status.set_state(DeliveryState::Idle, 0);
            save_cursor(&shared, &job, &mut saved).await;
            if stored.changed().await.is_err() {
                return;
            }
            continue;
        }
        let events = match shared.store.events_after(cursor, BATCH).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(webhook = %job.id, error = %e, "reading events failed");
                tokio::time::sleep(STORE_RETRY).await;
                continue;
            }
        };
        // Seqs are contiguous; a hole after the cursor means pruning got
        // there first (the backlog bound was reached).
        let first = events.first().map_or(end + 1, |e| e.seq);
        if first > cursor + 1 {
            skipped(&shared, &job, cursor + 1, first - 1).await;
            job.status.advance(first - 1);
        }
        for event in &events {
            if types_match(&job.types, &event.kind) {
                deliver(&shared, &job, event, &mut saved).await;
            }
            job.status.advance(event.seq);
        }
        save_cursor(&shared, &job, &mut saved).await;
    }
}

async fn save_cursor(shared: &Shared, job: &Job, saved: &mut u64) {
    let cursor = job.status.cursor();
    if cursor == *saved {
        return;
    }
    match shared.store.set_webhook_cursor(&job.id, cursor).await {
        Ok(()) => *saved = cursor,
        Err(e) => tracing::warn!(webhook = %job.id, error = %e, "saving webhook cursor failed"),
    }
}

/// Sends one event until it is delivered or parked.
async fn deliver(shared: &Shared, job: &Job, event: &EventRecord, saved: &mut u64) {
    let mut delivery = WebhookDeliveryRecord {
        id: uuid::Uuid::new_v4().to_string(),
        webhook_id: job.id.clone(),
        event_seq: event.seq,
        event_id: event.id.clone(),
        event_type: event.kind.clone(),
        payload: payload(event),
        state: "failed".into(),
        attempts: 0,
        last_status: None,
        last_error: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    };
    let max = shared.config.max_attempts.max(1);
    for attempt in 1..=max {
        job.status.set_state(DeliveryState::Delivering, attempt);
        delivery.attempts = attempt;
        match self::attempt(shared, &job.url, &job.key, &delivery).await {
            Ok(_) => {
                shared.counters.delivered.fetch_add(1, Ordering::Relaxed);
                job.status.delivered(Utc::now());
                return;
            }
            Err(f) => {
                shared
                    .counters
                    .failed_attempts
                    .fetch_add(1, Ordering::Relaxed);
                delivery.last_status = f.status;
                delivery.last_error = Some(f.error.clone());
                if attempt == max {
                    break;
                }
                let wait = backoff(&shared.config, attempt);
                let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                job.status.retrying(attempt, at, f.error);
                // Progress before this event is safe even if we die waiting.
                save_cursor(shared, job, saved).await;
                tokio::time::sleep(wait).await;
            }
        }
    }
    delivery.updated_at = Utc::now();
    let error = delivery.last_error.clone().unwrap_or_default();
    tracing::warn!(webhook = %job.id, seq = event.seq, attempts = delivery.attempts, %error, "webhook delivery parked");
    shared.counters.parked.fetch_add(1, Ordering::Relaxed);
    job.status.parked(error);
    park(shared, &delivery).await;
}

/// Parks a delivery; retries the store until it takes it, so a parked event
/// is never lost to a transient store error.
async fn park(shared: &Shared, delivery: &WebhookDeliveryRecord) {
    while let Err(e) = shared.store.upsert_webhook_delivery(delivery).await {
        tracing::error!(webhook = %delivery.webhook_id, error = %e, "parking a delivery failed");
        tokio::time::sleep(STORE_RETRY).await;
    }
}

async fn skipped(shared: &Shared, job: &Job, from: u64, to: u64) {
    let n = to - from + 1;
    tracing::warn!(webhook = %job.id, from, to, "events pruned before delivery (backlog bound reached)");
    shared.counters.skipped.fetch_add(n, Ordering::Relaxed);
    let now = Utc::now();
    park(
        shared,
        &WebhookDeliveryRecord {
            id: uuid::Uuid::new_v4().to_string(),
            webhook_id: job.id.clone(),
            event_seq: from,
            event_id: String::new(),
            event_type: String::new(),
            payload: String::new(),
            state: "skipped".into(),
            attempts: 0,
            last_status: None,
            last_error: Some(format!(
                "events {from}-{to} ({n}) were pruned before delivery: the backlog reached webhooks.max_backlog"
            )),
            created_at: now,
            updated_at: now,
        },
    )
    .await;
}

/// The request body: the event as the event stream shows it.
fn payload(event: &EventRecord) -> String {
    serde_json::to_string(&Event::from_record(event.clone())).unwrap_or_default()
}

/// One signed POST of a delivery's payload; `Ok(status)` on 2xx.
pub(super) async fn attempt(
    shared: &Shared,
    url: &str,
    key: &[u8],
    d: &WebhookDeliveryRecord,
) -> Result<u16, Failure> {
    let timestamp = Utc::now().timestamp();
    let signature = sign::signature(key, &d.event_id, timestamp, d.payload.as_bytes());
    let sent = shared
        .client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header("callwire-event-seq", d.event_seq.to_string())
        .header("callwire-event-type", &d.event_type)
        .body(d.payload.clone())
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => Ok(response.status().as_u16()),
        Ok(response) => Err(Failure {
            status: Some(response.status().as_u16()),
            error: format!("HTTP {}", response.status()),
        }),
        Err(e) => Err(Failure {
            status: None,
            error: describe(e),
        }),
    }
}

/// A short reason without the URL (which may carry credentials).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }
}

/// The wait after failed attempt `attempt` (1-based): the initial backoff
/// doubled per attempt, capped, with jitter in the upper half.
pub(super) fn backoff(config: &crate::config::WebhooksConfig, attempt: u32) -> Duration {
    let exp = config
        .initial_backoff_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(32))
        .min(config.max_backoff_ms)
        .max(1);
    let ms = rand::thread_rng().gen_range(exp / 2..=exp);
    Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let c = crate::config::WebhooksConfig {
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            ..Default::default()
        };
        for _ in 0..100 {
            let b1 = backoff(&c, 1).as_millis();
            assert!((50..=100).contains(&b1), "{b1}");
            let b3 = backoff(&c, 3).as_millis();
            assert!((200..=400).contains(&b3), "{b3}");
            let b20 = backoff(&c, 20).as_millis();
            assert!((500..=1000).contains(&b20), "{b20}");
            assert!(backoff(&c, u32::MAX) <= Duration::from_millis(1000));
        }
    }
}
