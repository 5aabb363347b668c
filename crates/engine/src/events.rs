//! The event hub: publishes the core's events to live subscribers and keeps
//! the newest in memory, so a subscriber joining with `since = SEQ` gets every
//! event after SEQ exactly once and in order — older ones from the store, the
//! recent ones from memory, then live — with no gap or duplicate at the seams.
//! A subscriber that falls behind the live channel is told where to resume
//! (`Lagged`) instead of silently losing events.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::error::EngineError;
use crate::model::event::Event;

/// Events kept in memory for replay.
const RING: usize = 8192;
/// Live events buffered per subscriber before it counts as lagging.
const LIVE_BUFFER: usize = 4096;
/// Events read from the store per query while replaying.
const STORE_PAGE: u32 = 500;

/// How far the event log is stored, and which events pruning must spare:
/// the store writer advances `stored`, webhook workers read it and register
/// their cursors, pruning keeps every event above the lowest cursor (but at
/// most `max_backlog` behind the newest).
pub(crate) struct LogMarks {
    stored: tokio::sync::watch::Sender<u64>,
    cursors: Mutex<std::collections::HashMap<String, Arc<std::sync::atomic::AtomicU64>>>,
    max_backlog: u64,
}

impl LogMarks {
    pub(crate) fn new(stored: u64, max_backlog: u64) -> LogMarks {
        LogMarks {
            stored: tokio::sync::watch::Sender::new(stored),
            cursors: Mutex::new(std::collections::HashMap::new()),
            max_backlog,
        }
    }

    /// The highest seq known to be in the store.
    pub(crate) fn stored(&self) -> u64 {
        *self.stored.borrow()
    }

    /// Records that every event up to `seq` is in the store.
    pub(crate) fn set_stored(&self, seq: u64) {
        self.stored.send_if_modified(|s| {
            let newer = seq > *s;
            *s = (*s).max(seq);
            newer
        });
    }

    /// Wakes on every advance of [`stored`](Self::stored).
    pub(crate) fn watch_stored(&self) -> tokio::sync::watch::Receiver<u64> {
        self.stored.subscribe()
    }

    /// Registers (or replaces) a consumer's cursor that pruning must respect.
    pub(crate) fn hold(&self, name: &str, cursor: Arc<std::sync::atomic::AtomicU64>) {
        if let Ok(mut c) = self.cursors.lock() {
            c.insert(name.to_owned(), cursor);
        }
    }

    /// Drops a consumer's cursor.
    pub(crate) fn release(&self, name: &str) {
        if let Ok(mut c) = self.cursors.lock() {
            c.remove(name);
        }
    }

    /// The highest seq pruning may remove: the lowest registered cursor, but
    /// no lower than `max_backlog` behind the stored end; `None` when no
    /// consumer holds events.
    pub(crate) fn prune_floor(&self) -> Option<u64> {
        let lowest = self
            .cursors
            .lock()
            .ok()?
            .values()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .min()?;
        Some(lowest.max(self.stored().saturating_sub(self.max_backlog)))
    }
}

/// Shared between the driver (which publishes) and the engine handle.
pub(crate) struct EventHub {
    inner: Mutex<Inner>,
}

struct Inner {
    ring: VecDeque<Arc<Event>>,
    live: broadcast::Sender<Arc<Event>>,
    /// The seq the next event will get.
    next_seq: u64,
}

impl EventHub {
    pub(crate) fn new(next_seq: u64) -> EventHub {
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        EventHub {
            inner: Mutex::new(Inner {
                ring: VecDeque::with_capacity(RING),
                live,
                next_seq,
            }),
        }
    }

    /// Publishes an event (in seq order, from the driver).
    pub(crate) fn publish(&self, event: Event) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let event = Arc::new(event);
        inner.next_seq = inner.next_seq.max(event.seq + 1);
        if inner.ring.len() >= RING {
            inner.ring.pop_front();
        }
        inner.ring.push_back(Arc::clone(&event));
        // No subscriber is not an error.
        let _ = inner.live.send(event);
    }

    /// The seq the last published event had (0 before any).
    pub(crate) fn last_seq(&self) -> u64 {
        self.inner
            .lock()
            .map(|i| i.next_seq.saturating_sub(1))
            .unwrap_or(0)
    }

    /// A subscription from `since` (exclusive); `None` starts with the next
    /// event. `store` serves what memory no longer holds.
    pub(crate) async fn subscribe(
        self: &Arc<Self>,
        since: Option<u64>,
        store: callwire_store::Store,
    ) -> Result<Subscription, EngineError> {
        let (live, replay, ring_first, next_seq, last) = {
            let inner = self
                .inner
                .lock()
                .map_err(|_| EngineError::Unavailable("event hub poisoned".into()))?;
            let live = inner.live.subscribe();
            let last = since.unwrap_or(inner.next_seq.saturating_sub(1));
            let replay: VecDeque<Arc<Event>> = inner
                .ring
                .iter()
                .filter(|e| e.seq > last)
                .cloned()
                .collect();
            let first = inner.ring.front().map_or(inner.next_seq, |e| e.seq);
            (live, replay, first, inner.next_seq, last)
        };
        if last >= next_seq {
            return Err(EngineError::InvalidArgument(format!(
                "since={last} is ahead of the stream (last seq {})",
                next_seq.saturating_sub(1)
            )));
        }
        // Older than memory: the store must still have everything after `last`.
        let store_from = if last + 1 < ring_first {
            match store.event_seq_range().await? {
                Some((lo, _)) if lo <= last + 1 => Some(last + 1),
                _ => {
                    return Err(EngineError::Gone(format!(
                        "events after seq {last} are no longer retained; resync from GET /v1/state"
                    )))
                }
            }
        } else {
            None
        };
        Ok(Subscription {
            store,
            older: VecDeque::new(),
            pending: replay,
            store_from,
            store_until: ring_first,
            live,
            last,
        })
    }
}

/// What a subscription yields.
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// The next event.
    Event(Arc<Event>),
    /// The subscriber fell behind: events from `next_seq` on were not
    /// delivered; reconnect with `since = next_seq - 1`. The subscription ends.
    Lagged {
        /// The first seq not delivered.
        next_seq: u64,
    },
}

/// One subscriber's view of the stream.
pub struct Subscription {
    store: callwire_store::Store,
    /// Replay read from the store, delivered first.
    older: VecDeque<Arc<Event>>,
    /// Replay from memory.
    pending: VecDeque<Arc<Event>>,
    /// Next seq to read from the store, while replaying old events.
    store_from: Option<u64>,
    /// The store serves seqs below this one; memory the rest.
    store_until: u64,
    live: broadcast::Receiver<Arc<Event>>,
    /// The last seq delivered (or the `since` asked for).
    last: u64,
}

impl Subscription {
    /// Reads the store page starting at `from` into `older`.
    async fn fetch(&mut self, from: u64) -> Result<(), callwire_store::StoreError> {
        let page = self.store.events_after(from - 1, STORE_PAGE).await?;
        let full = page.len() >= STORE_PAGE as usize;
        for r in page.into_iter().filter(|r| r.seq < self.store_until) {
            self.older.push_back(Arc::new(Event::from_record(r)));
        }
        if let Some(e) = self.older.back() {
            if full && e.seq + 1 < self.store_until {
                self.store_from = Some(e.seq + 1);
            }
        }
        Ok(())
    }

    /// The seq of the last event delivered.
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// The next item; `None` when the engine stops.
    pub async fn next(&mut self) -> Option<StreamItem> {
        loop {
            // Oldest first: store pages, then memory, then live.
            let next = match self.older.pop_front() {
                Some(e) => Some(e),
                None => match self.store_from.take() {
                    Some(from) => {
                        if let Err(e) = self.fetch(from).await {
                            tracing::error!(error = %e, "event replay from the store failed");
                            return Some(StreamItem::Lagged {
                                next_seq: self.last + 1,
                            });
                        }
                        continue;
                    }
                    None => self.pending.pop_front(),
                },
            };
            if let Some(e) = next {
                if e.seq > self.last {
                    self.last = e.seq;
                    return Some(StreamItem::Event(e));
                }
                continue;
            }
            match self.live.recv().await {
                Ok(e) => {
                    if e.seq > self.last {
                        self.last = e.seq;
                        return Some(StreamItem::Event(e));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    return Some(StreamItem::Lagged {
                        next_seq: self.last + 1,
                    })
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64) -> Event {
        Event {
            seq,
            id: format!("e{seq}"),
            kind: "call.created".into(),
            at: chrono::Utc::now(),
            account: Some("default".into()),
            call: None,
            data: serde_json::json!({ "n": seq }),
            detail: None,
        }
    }

    async fn take(sub: &mut Subscription, n: usize) -> Vec<u64> {
        let mut seqs = Vec::new();
        for _ in 0..n {
            let item = tokio::time::timeout(std::time::Duration::from_secs(2), sub.next())
                .await
                .expect("an item in time")
                .expect("stream open");
            match item {
                StreamItem::Event(e) => seqs.push(e.seq),
                StreamItem::Lagged { next_seq } => panic!("lagged at {next_seq}"),
            }
        }
        seqs
    }

    #[tokio::test]
    async fn replay_from_store_then_memory_then_live_without_gap_or_duplicate() {
        let store = callwire_store::Store::open_memory().await.unwrap();
        // Events 1-1000 are in the store only (a previous process wrote them).
        let old: Vec<_> = (1..=1000).map(|s| event(s).to_record()).collect();
        store.insert_events(&old).await.unwrap();
        let hub = Arc::new(EventHub::new(1001));
        // 1001-1010 are published now (and stored, as the driver does).
        for s in 1001..=1010 {
            store.insert_events(&[event(s).to_record()]).await.unwrap();
            hub.publish(event(s));
        }
        let mut sub = hub.subscribe(Some(5), store.clone()).await.unwrap();
        let got = take(&mut sub, 1005).await;
        assert_eq!(got, (6..=1010).collect::<Vec<_>>());
        hub.publish(event(1011));
        assert_eq!(take(&mut sub, 1).await, [1011]);
        assert_eq!(sub.last_seq(), 1011);
    }

    #[tokio::test]
    async fn since_older_than_retention_is_gone_and_future_is_refused() {
        let store = callwire_store::Store::open_memory().await.unwrap();
        let kept: Vec<_> = (50..=60).map(|s| event(s).to_record()).collect();
        store.insert_events(&kept).await.unwrap();
        let hub = Arc::new(EventHub::new(61));
        let err = hub
            .subscribe(Some(10), store.clone())
            .await
            .err()
            .expect("gone");
        assert!(matches!(err, EngineError::Gone(_)), "{err:?}");
        // Exactly at the edge is fine: everything after 49 is kept.
        let mut sub = hub.subscribe(Some(49), store.clone()).await.unwrap();
        assert_eq!(take(&mut sub, 11).await, (50..=60).collect::<Vec<_>>());
        let err = hub.subscribe(Some(99), store).await.err().expect("future");
        assert!(matches!(err, EngineError::InvalidArgument(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_where_to_resume() {
        let store = callwire_store::Store::open_memory().await.unwrap();
        let hub = Arc::new(EventHub::new(1));
        let mut sub = hub.subscribe(None, store).await.unwrap();
        for s in 1..=(LIVE_BUFFER as u64 + 10) {
            hub.publish(event(s));
        }
        match sub.next().await {
            Some(StreamItem::Lagged { next_seq }) => assert_eq!(next_seq, 1),
            other => panic!("expected Lagged, got {other:?}"),
        }
    }
}
