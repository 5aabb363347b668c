//! `/v1/calls` with account call policies and the newer call options: a
//! callee the policy denies is 403 `forbidden`, `wait_for_registration_secs`
//! and `early_media` are validated, a call waiting for a registrar that never
//! answers is created at once, shown as waiting and hung up without SIP, and
//! `POST …/progress` answers 404/409 where it does not apply.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, Api};

const SILENT: &str = "sip:nobody@127.0.0.1:9";

#[tokio::test]
async fn a_callee_the_policy_denies_is_forbidden() {
    let api = Api::start().await;
    let r = api
        .json(
            Method::PATCH,
            "/v1/accounts/default",
            &json!({"policy": {"allow": ["*@example.com"], "deny": ["ceo@example.com"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    for to in [
        "sip:ceo@example.com",
        "sip:nobody@127.0.0.1:9",
        "CEO@Example.COM:5070",
    ] {
        let r = api
            .json(Method::POST, "/v1/calls", &json!({"to": to}))
            .await;
        assert_error(&r, StatusCode::FORBIDDEN, "forbidden");
        let message = r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(
            message.contains("policy") && message.contains('@'),
            "{to}: {message}"
        );
    }
    assert_eq!(api.get("/v1/calls").await.json(), json!([]));
    assert_eq!(api.get("/v1/health").await.json()["active_calls"], 0);
}

#[tokio::test]
async fn new_call_options_are_validated() {
    let api = Api::start().await;
    for body in [
        json!({"to": SILENT, "wait_for_registration_secs": 0}),
        json!({"to": SILENT, "wait_for_registration_secs": 301}),
        json!({"to": SILENT, "wait_for_registration_secs": "30"}),
        json!({"to": SILENT, "wait_for_registration_secs": -5}),
        json!({"to": SILENT, "wait_for_registration": true}),
        json!({"to": SILENT, "early_media": "no"}),
        json!({"to": SILENT, "early_media": null}),
    ] {
        let r = api.json(Method::POST, "/v1/calls", &body).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_eq!(api.get("/v1/calls").await.json(), json!([]));
    // The limits themselves are fine (the default account has no registrar:
    // nothing to wait for, the INVITE goes out at once).
    let r = api
        .json(
            Method::POST,
            "/v1/calls",
            &json!({"to": SILENT, "wait_for_registration_secs": 300, "early_media": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let call = r.json();
    assert_eq!(call["waiting_for_registration"], false, "{call}");
    assert_eq!(call["early_media"], false, "{call}");
    let id = call["id"].as_str().unwrap();
    api.call(Method::POST, &format!("/v1/calls/{id}/hangup"))
        .await;
}

#[tokio::test]
async fn a_call_waits_for_a_registration_and_hangs_up_without_sip() {
    let api = Api::start().await;
    // A registrar that never answers (discard port on loopback).
    let r = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"id": "alice", "user": "alice", "domain": "127.0.0.1",
                    "registrar": "127.0.0.1:9", "password": "pw"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = api
        .json(
            Method::POST,
            "/v1/calls",
            &json!({"account": "alice", "to": SILENT, "wait_for_registration_secs": 120}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let call = r.json();
    assert_eq!(call["state"], "calling", "{call}");
    assert_eq!(call["reason"], "Initiated", "{call}");
    assert_eq!(call["waiting_for_registration"], true, "{call}");
    let id = call["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/calls/{id}");
    let got = api.get(&path).await.json();
    assert_eq!(got["waiting_for_registration"], true, "{got}");
    assert_eq!(api.get("/v1/health").await.json()["active_calls"], 1);
    // Early media does not apply to an outgoing call's progress.
    assert_error(
        &api.call(Method::POST, &format!("{path}/progress")).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    let r = api.call(Method::POST, &format!("{path}/hangup")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let ended = r.json();
    assert_eq!(ended["state"], "terminated", "{ended}");
    assert_eq!(ended["reason"], "Terminated", "{ended}");
    assert_eq!(ended["waiting_for_registration"], false, "{ended}");
    assert_eq!(ended["sip_status"], Value::Null, "no SIP exchange: {ended}");
    assert_eq!(api.get("/v1/health").await.json()["active_calls"], 0);
}

#[tokio::test]
async fn progress_of_unknown_calls_is_not_found() {
    let api = Api::start().await;
    for id in ["4f1c2b9e-8a1d-4c55-9a0e-2f9b6a7d0c11", "x"] {
        assert_error(
            &api.call(Method::POST, &format!("/v1/calls/{id}/progress"))
                .await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
    }
    assert_error(
        &api.call(Method::GET, "/v1/calls/x/progress").await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}
