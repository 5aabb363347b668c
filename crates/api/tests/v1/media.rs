//! Media controls and recordings: validation, unknown ids, wrong states. The
//! audio itself is proven against real peers in crates/callwire/tests.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_error, Api};

/// A UDP port nothing answers on: calls to it stay `calling`.
const SILENT: &str = "sip:nobody@127.0.0.1:9";

const CONTROLS: &[(&str, &str)] = &[
    ("play", r#"{"tone": "ringback"}"#),
    ("play/stop", "{}"),
    ("dtmf", r#"{"digits": "1"}"#),
    ("recording", r#"{"action": "start"}"#),
    ("hold", "{}"),
    ("resume", "{}"),
];

#[tokio::test]
async fn controls_on_unknown_calls_are_not_found() {
    let api = Api::start().await;
    for (path, body) in CONTROLS {
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        let r = api
            .json(Method::POST, &format!("/v1/calls/nope/{path}"), &body)
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn controls_need_an_active_call() {
    let api = Api::start().await;
    let r = api
        .json(Method::POST, "/v1/calls", &json!({"to": SILENT}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    for (path, body) in CONTROLS {
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        let r = api
            .json(Method::POST, &format!("/v1/calls/{id}/{path}"), &body)
            .await;
        assert_error(&r, StatusCode::CONFLICT, "conflict");
    }
    api.call(Method::POST, &format!("/v1/calls/{id}/hangup"))
        .await;
}

#[tokio::test]
async fn bad_media_bodies_are_refused() {
    let api = Api::start().await;
    let cases = [
        ("play", json!({})),
        ("play", json!({"file": "a.wav", "tone": "busy"})),
        ("play", json!({"tone": 5})),
        ("play", json!({"tone": "busy", "volume": 3})),
        ("play", json!({"file": "../../etc/passwd"})),
        ("play", json!({"file": ".hidden.wav"})),
        ("play", json!({"file": "a/b.wav"})),
        ("play", json!({"tone": "not a tone spec"})),
        ("dtmf", json!({})),
        ("dtmf", json!({"digits": ""})),
        ("dtmf", json!({"digits": "1".repeat(65)})),
        ("dtmf", json!({"digits": "12", "method": "rfc2833"})),
        ("dtmf", json!({"digits": 12})),
        ("recording", json!({})),
        ("recording", json!({"action": "rewind"})),
        ("recording", json!({"action": "stop", "mode": "split"})),
        ("recording", json!({"action": "start", "mode": "quad"})),
    ];
    for (path, body) in cases {
        let r = api
            .json(Method::POST, &format!("/v1/calls/any/{path}"), &body)
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
}

#[tokio::test]
async fn recordings_list_and_unknown_ids() {
    let api = Api::start().await;
    let r = api.get("/v1/recordings").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), json!([]));
    for path in ["/v1/recordings/nope", "/v1/recordings/nope/audio"] {
        assert_error(&api.get(path).await, StatusCode::NOT_FOUND, "not_found");
    }
    assert_error(
        &api.call(Method::DELETE, "/v1/recordings/nope").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    for q in ["limit=0", "limit=1001", "before=yesterday", "bogus=1"] {
        assert_error(
            &api.get(&format!("/v1/recordings?{q}")).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
    }
    let r = api.get("/v1/recordings?limit=5&call=x").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn media_routes_need_the_token() {
    let api = Api::start().await;
    let req = axum::http::Request::builder()
        .method(Method::GET)
        .uri("/v1/recordings")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_error(
        &api.send(req).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}
