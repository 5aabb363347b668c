//! `POST /v1/calls/{id}/transfer`: body validation, unknown calls, and the
//! 409 for a call that is not active (a call ringing at a silent peer).

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_error, Api};

const NO_CALL: &str = "4f1c2b9e-8a1d-4c55-9a0e-2f9b6a7d0c11";

#[tokio::test]
async fn transfer_bodies_are_validated() {
    let api = Api::start().await;
    let path = format!("/v1/calls/{NO_CALL}/transfer");
    for body in [
        json!({}),
        json!({"to": "sip:a@127.0.0.1", "replaces": NO_CALL}),
        json!({"to": null, "replaces": null}),
        json!({"to": 5}),
        json!({"to": "not a uri"}),
        json!({"to": "tel:+123"}),
        json!({"to": "sip:a@b\r\nVia: evil"}),
        json!({"replaces": ""}),
        json!({"replaces": "x".repeat(65)}),
        json!({"target": "sip:a@b"}),
        json!(["sip:a@b"]),
    ] {
        let r = api.json(Method::POST, &path, &body).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    let r = api.call(Method::POST, &path).await;
    assert!(
        r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "no body: {}",
        r.text()
    );
    for body in [
        json!({"to": "sip:carol@127.0.0.1:5070"}),
        json!({"replaces": NO_CALL}),
    ] {
        let r = api.json(Method::POST, &path, &body).await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
    let r = api.get(&path).await;
    assert_error(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn only_active_calls_are_transferred() {
    let api = Api::start().await;
    let r = api
        .json(
            Method::POST,
            "/v1/calls",
            &json!({"to": "sip:nobody@127.0.0.1:9", "ring_timeout_secs": 30}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/calls/{id}/transfer");
    let r = api
        .json(
            Method::POST,
            &path,
            &json!({"to": "sip:carol@127.0.0.1:5070"}),
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    // Attended with itself: a bad request before any state check.
    let r = api
        .json(Method::POST, &path, &json!({"replaces": id}))
        .await;
    assert!(
        r.status == StatusCode::CONFLICT || r.status == StatusCode::BAD_REQUEST,
        "{}",
        r.text()
    );
    let call = api.get(&format!("/v1/calls/{id}")).await.json();
    assert_eq!(call["transfer"], json!(null), "{call}");
    assert_eq!(call["transferred_from"], json!(null), "{call}");
    assert_eq!(call["replaces"], json!(null), "{call}");
    let _ = api
        .call(Method::POST, &format!("/v1/calls/{id}/hangup"))
        .await;
}
