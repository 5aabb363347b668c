//! Webhooks: CRUD of the subscriptions and one delivery worker per webhook.
//!
//! A webhook is a cursor over the stored event log, not a queue of copies:
//! its worker reads the events after its cursor from the store, POSTs each
//! one that passes the type filter (signed, Standard Webhooks headers),
//! retries with exponential backoff and jitter, parks an event that
//! exhausted its attempts, and moves the cursor on. Order per webhook and
//! at-least-once delivery follow, across crashes too (the cursor is saved
//! after each batch and before every retry wait, so a restart resends at
//! most a batch). Only stored events are delivered, so nothing a receiver
//! saw can vanish in a crash. The core never waits for a receiver: a slow or
//! dead one only grows its backlog, bounded by `webhooks.max_backlog`.

pub(crate) mod sign;
mod worker;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use callwire_store::{Store, WebhookRecord};
use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use crate::config::WebhooksConfig;
use crate::error::EngineError;
use crate::events::LogMarks;
use crate::model::webhook::{
    DeliveryState, DeliveryView, WebhookCreated, WebhookInput, WebhookView,
};

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    delivered: AtomicU64,
    failed_attempts: AtomicU64,
    parked: AtomicU64,
    skipped: AtomicU64,
}

/// What `/metrics` shows of webhook delivery.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WebhookStats {
    /// Webhooks configured.
    pub webhooks: u64,
    /// Events delivered (2xx).
    pub delivered: u64,
    /// Attempts that failed (each retry counts).
    pub failed_attempts: u64,
    /// Events parked after their last attempt failed.
    pub parked: u64,
    /// Events pruned before delivery because a backlog hit the bound.
    pub skipped: u64,
    /// Stored events not yet through, summed over webhooks (outbox depth).
    pub backlog: u64,
}

/// The live part of a webhook's state, shared with its worker.
#[derive(Debug)]
pub(crate) struct Status {
    /// The last seq the webhook is done with.
    cursor: Arc<AtomicU64>,
    live: Mutex<Live>,
    failed: AtomicU64,
}

#[derive(Debug, Clone)]
struct Live {
    state: DeliveryState,
    attempt: u32,
    next_attempt_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    last_delivered_at: Option<DateTime<Utc>>,
}

impl Status {
    fn new(cursor: u64, failed: u64, enabled: bool) -> Status {
        Status {
            cursor: Arc::new(AtomicU64::new(cursor)),
            live: Mutex::new(Live {
                state: if enabled {
                    DeliveryState::Idle
                } else {
                    DeliveryState::Disabled
                },
                attempt: 0,
                next_attempt_at: None,
                last_error: None,
                last_delivered_at: None,
            }),
            failed: AtomicU64::new(failed),
        }
    }

    pub(crate) fn cursor(&self) -> u64 {
        self.cursor.load(Ordering::Relaxed)
    }

    pub(crate) fn advance(&self, seq: u64) {
        self.cursor.fetch_max(seq, Ordering::Relaxed);
    }

    fn update(&self, f: impl FnOnce(&mut Live)) {
        if let Ok(mut live) = self.live.lock() {
            f(&mut live);
        }
    }

    pub(crate) fn set_state(&self, state: DeliveryState, attempt: u32) {
        self.update(|l| {
            l.state = state;
            l.attempt = attempt;
            l.next_attempt_at = None;
        });
    }

    pub(crate) fn retrying(&self, attempt: u32, at: DateTime<Utc>, error: String) {
        self.update(|l| {
            l.state = DeliveryState::Retrying;
            l.attempt = attempt;
            l.next_attempt_at = Some(at);
            l.last_error = Some(error);
        });
    }

    pub(crate) fn delivered(&self, at: DateTime<Utc>) {
        self.update(|l| {
            l.attempt = 0;
            l.next_attempt_at = None;
            l.last_error = None;
            l.last_delivered_at = Some(at);
        });
    }

    pub(crate) fn parked(&self, error: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.update(|l| {
            l.attempt = 0;
            l.next_attempt_at = None;
            l.last_error = Some(error);
        });
    }
}

/// One webhook: its settings and, while enabled, its worker.
struct Hook {
    record: WebhookRecord,
    types: Vec<String>,
    status: Arc<Status>,
    worker: Option<JoinHandle<()>>,
}

/// What workers share.
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) config: WebhooksConfig,
    pub(crate) client: reqwest::Client,
    pub(crate) marks: Arc<LogMarks>,
    /// For the seq a new webhook starts after.
    pub(crate) hub: Arc<crate::events::EventHub>,
    pub(crate) counters: Counters,
}

/// The webhooks of a node; cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    shared: Arc<Shared>,
    hooks: Arc<tokio::sync::Mutex<BTreeMap<String, Hook>>>,
}

impl Webhooks {
    /// Loads the stored webhooks and starts a worker for each enabled one.
    pub(crate) async fn start(
        store: Store,
        config: WebhooksConfig,
        marks: Arc<LogMarks>,
        hub: Arc<crate::events::EventHub>,
    ) -> Result<Webhooks, EngineError> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(config.timeout_ms))
            .connect_timeout(std::time::Duration::from_millis(config.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("callwire/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EngineError::Unavailable(format!("webhook HTTP client: {e}")))?;
        let records = store.list_webhooks().await?;
        let failed: BTreeMap<String, u64> =
            store.count_failed_deliveries().await?.into_iter().collect();
        let shared = Arc::new(Shared {
            store,
            config,
            client,
            marks,
            hub,
            counters: Counters::default(),
        });
        let mut hooks = BTreeMap::new();
        for record in records {
            let types = parse_types(&record.types);
            let status = Arc::new(Status::new(
                record.delivered_seq,
                failed.get(&record.id).copied().unwrap_or(0),
                record.enabled,
            ));
            let mut hook = Hook {
                record,
                types,
                status,
                worker: None,
            };
            start_worker(&shared, &mut hook);
            hooks.insert(hook.record.id.clone(), hook);
        }
        Ok(Webhooks {
            shared,
            hooks: Arc::new(tokio::sync::Mutex::new(hooks)),
        })
    }

    /// Every webhook, by id.
    pub async fn list(&self) -> Vec<WebhookView> {
        let hooks = self.hooks.lock().await;
        hooks.values().map(|h| self.view(h)).collect()
    }

    /// One webhook.
    pub async fn get(&self, id: &str) -> Result<WebhookView, EngineError> {
        let hooks = self.hooks.lock().await;
        hooks
            .get(id)
            .map(|h| self.view(h))
            .ok_or_else(|| not_found(id))
    }

    /// The settings of a webhook as a client would send them (no secret),
    /// for merging a patch.
    pub async fn input(&self, id: &str) -> Result<WebhookInput, EngineError> {
        let hooks = self.hooks.lock().await;
        let h = hooks.get(id).ok_or_else(|| not_found(id))?;
        Ok(WebhookInput {
            url: h.record.url.clone(),
            types: h.types.clone(),
            secret: None,
            enabled: h.record.enabled,
            description: h.record.description.clone(),
        })
    }

    /// Creates a webhook that delivers the events published from now on
    /// (those still on their way to the store included).
    pub async fn create(&self, input: WebhookInput) -> Result<WebhookCreated, EngineError> {
        input.validate()?;
        let mut hooks = self.hooks.lock().await;
        if hooks.len() >= self.shared.config.max_webhooks {
            return Err(EngineError::Unavailable(format!(
                "at most {} webhooks",
                self.shared.config.max_webhooks
            )));
        }
        let generated = input.secret.is_none().then(sign::generate_secret);
        let secret = input.secret.clone().or_else(|| generated.clone());
        let now = Utc::now();
        let record = WebhookRecord {
            id: uuid::Uuid::new_v4().to_string(),
            url: input.url,
            types: types_json(&input.types),
            secret: secret.unwrap_or_default(),
            enabled: input.enabled,
            description: input.description,
            delivered_seq: self.shared.hub.last_seq(),
            created_at: now,
            updated_at: now,
        };
        self.shared.store.upsert_webhook(&record).await?;
        let mut hook = Hook {
            status: Arc::new(Status::new(record.delivered_seq, 0, record.enabled)),
            types: input.types,
            record,
            worker: None,
        };
        start_worker(&self.shared, &mut hook);
        let view = self.view(&hook);
        hooks.insert(hook.record.id.clone(), hook);
        Ok(WebhookCreated {
            webhook: view,
            secret: generated,
        })
    }

    /// Replaces a webhook's settings (`secret: None` keeps the secret). The
    /// webhook keeps its place in the stream.
    pub async fn update(&self, id: &str, input: WebhookInput) -> Result<WebhookView, EngineError> {
        input.validate()?;
        let mut hooks = self.hooks.lock().await;
        let hook = hooks.get_mut(id).ok_or_else(|| not_found(id))?;
        self.stop_worker(hook).await;
        hook.record.url = input.url;
        hook.record.types = types_json(&input.types);
        hook.types = input.types;
        if let Some(secret) = input.secret {
            hook.record.secret = secret;
        }
        hook.record.enabled = input.enabled;
        hook.record.description = input.description;
        hook.record.updated_at = Utc::now();
        let saved = self.shared.store.upsert_webhook(&hook.record).await;
        hook.status.set_state(
            if hook.record.enabled {
                DeliveryState::Idle
            } else {
                DeliveryState::Disabled
            },
            0,
        );
        start_worker(&self.shared, hook);
        saved?;
        Ok(self.view(hook))
    }

    /// Deletes a webhook and its parked deliveries.
    pub async fn delete(&self, id: &str) -> Result<(), EngineError> {
        let mut hooks = self.hooks.lock().await;
        let mut hook = hooks.remove(id).ok_or_else(|| not_found(id))?;
        if let Some(w) = hook.worker.take() {
            w.abort();
        }
        self.shared.marks.release(id);
        self.shared.store.delete_webhook(id).await?;
        Ok(())
    }

    /// Parked deliveries of a webhook, newest first.
    pub async fn deliveries(
        &self,
        id: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<DeliveryView>, EngineError> {
        self.get(id).await?;
        let records = self
            .shared
            .store
            .list_webhook_deliveries(id, before, limit.clamp(1, 1000))
            .await?;
        Ok(records.into_iter().map(DeliveryView::from).collect())
    }

    /// Sends a parked delivery again, once, now (out of order by request),
    /// and records the outcome.
    pub async fn redeliver(
        &self,
        id: &str,
        delivery_id: &str,
    ) -> Result<DeliveryView, EngineError> {
        let (url, key, status) = {
            let hooks = self.hooks.lock().await;
            let h = hooks.get(id).ok_or_else(|| not_found(id))?;
            (
                h.record.url.clone(),
                sign::secret_key(&h.record.secret)?,
                Arc::clone(&h.status),
            )
        };
        let mut d = match self.shared.store.get_webhook_delivery(delivery_id).await? {
            Some(d) if d.webhook_id == id => d,
            _ => {
                return Err(EngineError::NotFound {
                    what: "delivery",
                    id: delivery_id.to_owned(),
                })
            }
        };
        if d.state == "skipped" {
            return Err(EngineError::Conflict(
                "skipped events were pruned before delivery and cannot be sent".into(),
            ));
        }
        let outcome = worker::attempt(&self.shared, &url, &key, &d).await;
        let was_failed = d.state == "failed";
        d.attempts = d.attempts.saturating_add(1);
        d.updated_at = Utc::now();
        match outcome {
            Ok(code) => {
                d.state = "delivered".into();
                d.last_status = Some(code);
                d.last_error = None;
                if was_failed {
                    status.failed.fetch_sub(1, Ordering::Relaxed);
                }
                self.shared
                    .counters
                    .delivered
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(f) => {
                d.last_status = f.status;
                d.last_error = Some(f.error);
                self.shared
                    .counters
                    .failed_attempts
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        self.shared.store.upsert_webhook_delivery(&d).await?;
        Ok(DeliveryView::from(d))
    }

    /// Delivery counters and the total backlog.
    pub async fn stats(&self) -> WebhookStats {
        let hooks = self.hooks.lock().await;
        let stored = self.shared.marks.stored();
        let c = &self.shared.counters;
        WebhookStats {
            webhooks: hooks.len() as u64,
            delivered: c.delivered.load(Ordering::Relaxed),
            failed_attempts: c.failed_attempts.load(Ordering::Relaxed),
            parked: c.parked.load(Ordering::Relaxed),
            skipped: c.skipped.load(Ordering::Relaxed),
            backlog: hooks
                .values()
                .map(|h| stored.saturating_sub(h.status.cursor()))
                .sum(),
        }
    }

    /// Stops every worker and saves every cursor.
    pub(crate) async fn shutdown(&self) {
        let mut hooks = self.hooks.lock().await;
        for hook in hooks.values_mut() {
            self.stop_worker(hook).await;
        }
    }

    async fn stop_worker(&self, hook: &mut Hook) {
        if let Some(w) = hook.worker.take() {
            w.abort();
            let _ = w.await;
            let cursor = hook.status.cursor();
            if let Err(e) = self
                .shared
                .store
                .set_webhook_cursor(&hook.record.id, cursor)
                .await
            {
                tracing::error!(webhook = %hook.record.id, error = %e, "saving webhook cursor failed");
            }
        }
    }

    fn view(&self, h: &Hook) -> WebhookView {
        let live = h
            .status
            .live
            .lock()
            .map(|l| l.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        let backlog = self.shared.marks.stored().saturating_sub(h.status.cursor());
        WebhookView {
            id: h.record.id.clone(),
            url: h.record.url.clone(),
            types: h.types.clone(),
            enabled: h.record.enabled,
            description: h.record.description.clone(),
            created_at: h.record.created_at,
            updated_at: h.record.updated_at,
            delivered_seq: h.status.cursor(),
            backlog,
            backlog_full: backlog >= self.shared.config.max_backlog,
            state: live.state,
            attempt: live.attempt,
            next_attempt_at: live.next_attempt_at,
            last_error: live.last_error,
            last_delivered_at: live.last_delivered_at,
            failed_deliveries: h.status.failed.load(Ordering::Relaxed),
        }
    }
}

fn start_worker(shared: &Arc<Shared>, hook: &mut Hook) {
    // Even a disabled webhook holds its events (within the backlog bound),
    // so enabling it again resumes where it stopped.
    shared
        .marks
        .hold(&hook.record.id, Arc::clone(&hook.status.cursor));
    if !hook.record.enabled {
        return;
    }
    let job = worker::Job {
        id: hook.record.id.clone(),
        url: hook.record.url.clone(),
        key: match sign::secret_key(&hook.record.secret) {
            Ok(k) => k,
            Err(_) => {
                tracing::error!(webhook = %hook.record.id, "stored webhook secret is invalid; not delivering");
                return;
            }
        },
        types: hook.types.clone(),
        status: Arc::clone(&hook.status),
    };
    hook.worker = Some(tokio::spawn(worker::run(Arc::clone(shared), job)));
}

fn not_found(id: &str) -> EngineError {
    EngineError::NotFound {
        what: "webhook",
        id: id.to_owned(),
    }
}

fn types_json(types: &[String]) -> String {
    serde_json::to_string(types).unwrap_or_else(|_| "[]".into())
}

fn parse_types(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}
