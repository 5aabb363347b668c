//! `GET /metrics`: Prometheus text with the engine's counters and the API's
//! latency histogram by route template.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_error, Api};

const SILENT: &str = "sip:nobody@127.0.0.1:9";

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn metrics_count_calls_and_time_requests() {
    let api = Api::start().await;
    let r = api
        .json(Method::POST, "/v1/calls", &json!({"to": SILENT}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    api.get(&format!("/v1/calls/{id}")).await;
    api.call(Method::POST, &format!("/v1/calls/{id}/hangup"))
        .await;
    api.get("/v1/calls/nope").await;

    let r = api.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.content_type().starts_with("text/plain"));
    let text = r.text();
    assert_eq!(value(&text, "callwire_active_calls"), Some(0.0), "{text}");
    assert_eq!(
        value(
            &text,
            "callwire_calls_started_total{direction=\"outgoing\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "callwire_calls_ended_total{reason=\"Terminated\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&text, "callwire_registrations{state=\"unregistered\"}"),
        Some(1.0)
    );
    assert!(value(&text, "callwire_events_emitted_total").is_some_and(|n| n >= 2.0));
    // Latency by route template, not by id; 404s in their own class.
    let get_call = "callwire_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/calls/{id}\",status=\"2xx\"}";
    assert_eq!(value(&text, get_call), Some(1.0), "{text}");
    let not_found = "callwire_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/calls/{id}\",status=\"4xx\"}";
    assert_eq!(value(&text, not_found), Some(1.0), "{text}");
    assert!(!text.contains(&id), "ids never become labels");
    assert!(text.contains("# TYPE callwire_http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn metrics_need_the_token() {
    let api = Api::start().await;
    let req = axum::http::Request::builder()
        .uri("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_error(
        &api.send(req).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}
