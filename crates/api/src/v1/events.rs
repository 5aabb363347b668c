//! `/v1/events` (Server-Sent Events, with replay) and `/v1/state` (one
//! consistent snapshot and the seq it is consistent with).
//!
//! Replay: `?since=SEQ` or the `Last-Event-ID` header delivers every retained
//! event after SEQ, then goes live, with no gap or duplicate at the seam. Each
//! SSE message has `id: <seq>`, `event: <type>` and the event as JSON data. A
//! consumer too slow for the live stream gets one `stream.lagged` message
//! (`{"next_seq": N}`) and the stream ends; it reconnects with
//! `since = N - 1`. `since` older than retention → 410.
//!
//! `/v1/events/ws` is the same stream over a WebSocket: one text message per
//! event (the event's JSON), the same query parameters, and a last
//! `{"type": "stream.lagged", "next_seq": N}` message before the close.

use std::convert::Infallible;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::IntoResponse;
use callwire_engine::events::{StreamItem, Subscription};
use callwire_engine::model::event::Event;
use futures_util::Stream;
use serde::Deserialize;

use crate::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventsQuery {
    #[serde(default)]
    since: Option<u64>,
    /// Comma-separated types; `call.*` matches a prefix.
    #[serde(default)]
    types: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    call: Option<String>,
}

/// Which events a consumer wants.
struct Filter {
    types: Vec<String>,
    account: Option<String>,
    call: Option<String>,
}

impl Filter {
    fn matches(&self, e: &Event) -> bool {
        let type_ok = self.types.is_empty()
            || self.types.iter().any(|t| match t.strip_suffix('*') {
                Some(prefix) => e.kind.starts_with(prefix),
                None => *t == e.kind,
            });
        type_ok
            && self
                .account
                .as_ref()
                .is_none_or(|a| e.account.as_deref() == Some(a.as_str()))
            && self
                .call
                .as_ref()
                .is_none_or(|c| e.call.as_deref() == Some(c.as_str()))
    }
}

/// Parses the query and `Last-Event-ID`, and subscribes.
async fn open(
    state: &AppState,
    headers: &HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<(Subscription, Filter), ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let last_event_id = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::BadRequest("Last-Event-ID must be a seq".into()))?,
        ),
        None => None,
    };
    let since = q.since.or(last_event_id);
    let filter = Filter {
        types: q
            .types
            .as_deref()
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        account: q.account,
        call: q.call,
    };
    let sub = state.engine.subscribe(since).await?;
    Ok((sub, filter))
}

pub(super) async fn sse(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let opened = open(&state, &headers, query).await?;
    let stream = futures_util::stream::unfold(Some(opened), next_message);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The stream over a WebSocket. Errors (bad query, 410) are answered as HTTP
/// before the upgrade.
pub(super) async fn websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
    upgrade: WebSocketUpgrade,
) -> Result<impl IntoResponse, ApiError> {
    let opened = open(&state, &headers, query).await?;
    Ok(upgrade.on_upgrade(move |socket| pump_websocket(socket, opened)))
}

async fn pump_websocket(mut socket: WebSocket, (mut sub, filter): (Subscription, Filter)) {
    loop {
        tokio::select! {
            item = sub.next() => {
                let text = match item {
                    Some(StreamItem::Event(e)) => {
                        if !filter.matches(&e) {
                            continue;
                        }
                        serde_json::to_string(&*e).unwrap_or_default()
                    }
                    Some(StreamItem::Lagged { next_seq }) => {
                        let msg = serde_json::json!({ "type": "stream.lagged", "next_seq": next_seq });
                        let _ = socket.send(Message::Text(msg.to_string().into())).await;
                        break;
                    }
                    None => break,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                // The client speaks only to close (pings are answered by axum).
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

/// The next SSE message of a subscription (`None` state: the stream is over).
async fn next_message(
    state: Option<(Subscription, Filter)>,
) -> Option<(Result<SseEvent, Infallible>, Option<(Subscription, Filter)>)> {
    let (mut sub, filter) = state?;
    loop {
        match sub.next().await? {
            StreamItem::Event(e) => {
                if !filter.matches(&e) {
                    continue;
                }
                let data = serde_json::to_string(&*e).unwrap_or_default();
                let msg = SseEvent::default()
                    .id(e.seq.to_string())
                    .event(e.kind.as_str())
                    .data(data);
                return Some((Ok(msg), Some((sub, filter))));
            }
            StreamItem::Lagged { next_seq } => {
                let msg = SseEvent::default()
                    .event("stream.lagged")
                    .data(serde_json::json!({ "next_seq": next_seq }).to_string());
                return Some((Ok(msg), None));
            }
        }
    }
}

pub(super) async fn snapshot(
    State(state): State<AppState>,
) -> Result<axum::Json<callwire_engine::StateSnapshot>, ApiError> {
    Ok(axum::Json(state.engine.state().await?))
}
