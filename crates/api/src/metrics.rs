//! `GET /metrics` in the Prometheus text format: the engine's counters and
//! gauges, and the API's own request latency histogram (by method, route and
//! status class), measured by a middleware around every route.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// One histogram series.
#[derive(Default, Clone)]
struct Series {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request latencies by (method, route, status class).
#[derive(Default)]
pub(crate) struct ApiLatency {
    series: Mutex<BTreeMap<(String, String, &'static str), Series>>,
}

impl ApiLatency {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let class = match status {
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        let Ok(mut map) = self.series.lock() else {
            return;
        };
        let s = map
            .entry((method.to_owned(), route.to_owned(), class))
            .or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                if let Some(c) = s.counts.get_mut(i) {
                    *c += 1;
                }
            }
        }
        s.count += 1;
        s.sum += secs;
    }

    fn render(&self, out: &mut String) {
        let Ok(map) = self.series.lock() else {
            return;
        };
        let name = "callwire_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} API request latency.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for ((method, route, class), s) in map.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{class}\"");
            for (bound, count) in BUCKETS.iter().zip(s.counts) {
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", s.count);
        }
    }
}

/// Times every request (by its route template, so ids don't explode the
/// label set; unmatched paths count as `unmatched`).
pub(crate) async fn measure(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    state.latency.observe(
        &method,
        &route,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// `GET /metrics`.
pub(crate) async fn render(State(state): State<AppState>) -> Result<Response, ApiError> {
    let m = state.engine.metrics().await?;
    let mut out = String::new();
    family(
        &mut out,
        "callwire_active_calls",
        "gauge",
        "Calls not yet ended.",
    );
    let _ = writeln!(out, "callwire_active_calls {}", m.active_calls);
    family(
        &mut out,
        "callwire_calls_started_total",
        "counter",
        "Calls created since start, by direction.",
    );
    for (direction, n) in &m.calls_started {
        let _ = writeln!(
            out,
            "callwire_calls_started_total{{direction=\"{direction}\"}} {n}"
        );
    }
    family(
        &mut out,
        "callwire_calls_ended_total",
        "counter",
        "Calls ended since start, by reason.",
    );
    for (reason, n) in &m.calls_ended {
        let _ = writeln!(out, "callwire_calls_ended_total{{reason=\"{reason}\"}} {n}");
    }
    family(
        &mut out,
        "callwire_registrations",
        "gauge",
        "Accounts by registration state.",
    );
    for (s, n) in &m.registrations {
        let _ = writeln!(out, "callwire_registrations{{state=\"{s}\"}} {n}");
    }
    family(
        &mut out,
        "callwire_events_emitted_total",
        "counter",
        "Events emitted (the newest event's seq).",
    );
    let _ = writeln!(out, "callwire_events_emitted_total {}", m.events_emitted);
    family(
        &mut out,
        "callwire_sip_transactions",
        "gauge",
        "SIP transactions held by the transaction layer.",
    );
    let _ = writeln!(out, "callwire_sip_transactions {}", m.transactions);
    let w = state.engine.webhooks().stats().await;
    family(
        &mut out,
        "callwire_webhooks",
        "gauge",
        "Webhooks configured.",
    );
    let _ = writeln!(out, "callwire_webhooks {}", w.webhooks);
    family(
        &mut out,
        "callwire_webhook_deliveries_total",
        "counter",
        "Webhook delivery outcomes: delivered events, failed attempts, events parked after their last attempt, events pruned before delivery.",
    );
    for (result, n) in [
        ("delivered", w.delivered),
        ("failed_attempt", w.failed_attempts),
        ("parked", w.parked),
        ("skipped", w.skipped),
    ] {
        let _ = writeln!(
            out,
            "callwire_webhook_deliveries_total{{result=\"{result}\"}} {n}"
        );
    }
    family(
        &mut out,
        "callwire_webhook_backlog_events",
        "gauge",
        "Stored events not yet through their webhooks, summed (the outbox depth).",
    );
    let _ = writeln!(out, "callwire_webhook_backlog_events {}", w.backlog);
    state.latency.render(&mut out);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
