//! `/v1/calls`: validation, unknown ids, and one outgoing call to a silent peer
//! (UDP discard port 9 on loopback) placed, listed and hung up.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, assert_has_keys, assert_rfc3339, Api, CALL_FIELDS};

const NO_CALL: &str = "4f1c2b9e-8a1d-4c55-9a0e-2f9b6a7d0c11";
const SILENT: &str = "sip:nobody@127.0.0.1:9";

#[tokio::test]
async fn place_call_input_is_validated() {
    let api = Api::start().await;
    let r = api
        .json(
            Method::POST,
            "/v1/calls",
            &json!({"account": "nobody", "to": SILENT}),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");

    let long = format!("sip:{}@127.0.0.1", "a".repeat(600));
    let bad_bodies = [
        json!({"account": "default"}),
        json!({}),
        json!({"to": null}),
        json!({"to": 5}),
        json!({"to": "not a uri"}),
        json!({"to": "sip:"}),
        json!({"to": ""}),
        json!({"to": "a b@c"}),
        json!({"to": "sip:a@b\r\nX: y"}),
        json!({"to": "sip:a@b\nVia: SIP/2.0/UDP evil"}),
        json!({"to": "sip:a\u{0}@127.0.0.1"}),
        json!({"to": "tel:+123456"}),
        json!({"to": long}),
        json!({"to": SILENT, "ring_timeout_secs": 0}),
        json!({"to": SILENT, "ring_timeout_secs": 99999}),
        json!({"to": SILENT, "ring_timeout_secs": -1}),
        json!({"to": SILENT, "ring_timeout_secs": "30"}),
        json!({"to": SILENT, "account": 1}),
        json!({"to": SILENT, "bogus": true}),
        json!({"to": SILENT, "headers": {"Via": "SIP/2.0/UDP evil"}}),
        json!({"to": SILENT, "headers": {"X-Ok": "a\r\nVia: evil"}}),
        json!({"to": SILENT, "headers": ["X-A"]}),
        json!({"to": SILENT, "caller_name": "say \"hi\""}),
        json!({"to": SILENT, "caller_user": "two words"}),
        json!({"to": SILENT, "max_duration_secs": 0}),
        json!([SILENT]),
    ];
    for body in bad_bodies {
        let r = api.json(Method::POST, "/v1/calls", &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text());
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_eq!(
        api.get("/v1/calls").await.json(),
        json!([]),
        "no refused request placed a call"
    );
    assert_eq!(api.get("/v1/health").await.json()["active_calls"], 0);
}

#[tokio::test]
async fn unknown_calls_are_not_found() {
    let api = Api::start().await;
    for id in [NO_CALL, "x", "..", "%00"] {
        assert_error(
            &api.get(&format!("/v1/calls/{id}")).await,
            StatusCode::NOT_FOUND,
            "not_found",
        );
        for action in ["answer", "reject", "hangup"] {
            let r = api
                .call(Method::POST, &format!("/v1/calls/{id}/{action}"))
                .await;
            assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        }
        let r = api
            .json(
                Method::POST,
                &format!("/v1/calls/{id}/reject"),
                &json!({"code": 603}),
            )
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn reject_code_and_list_limit_are_validated() {
    let api = Api::start().await;
    let path = format!("/v1/calls/{NO_CALL}/reject");
    for body in [
        json!({"code": 200}),
        json!({"code": 399}),
        json!({"code": 700}),
        json!({"code": 99999}),
        json!({"code": "486"}),
        json!({"reason": "x"}),
    ] {
        let r = api.json(Method::POST, &path, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text());
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    for q in [
        "limit=0",
        "limit=abc",
        "limit=1001",
        "limit=-1",
        "limit=",
        "bogus=1",
    ] {
        let r = api.get(&format!("/v1/calls?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text());
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    for q in ["limit=1", "limit=1000", ""] {
        let r = api.get(&format!("/v1/calls?{q}")).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text());
        assert_eq!(r.json(), json!([]));
    }
}

#[track_caller]
fn assert_call_shape(v: &Value) {
    assert_has_keys(v, CALL_FIELDS);
    assert_rfc3339(&v["created_at"]);
    for k in ["answered_at", "ended_at"] {
        if !v[k].is_null() {
            assert_rfc3339(&v[k]);
        }
    }
    let id = v["id"].as_str().unwrap_or_else(|| panic!("id: {v}"));
    assert!(uuid::Uuid::parse_str(id).is_ok(), "id is a UUID: {id}");
    assert!(
        v["sip_call_id"].as_str().is_some_and(|s| !s.is_empty()),
        "sip_call_id: {v}"
    );
}

#[tokio::test]
async fn outgoing_call_to_a_silent_peer_is_placed_listed_and_hung_up() {
    let api = Api::start().await;
    let r = api
        .json(
            Method::POST,
            "/v1/calls",
            &json!({"to": SILENT, "ring_timeout_secs": 30}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(r.content_type().starts_with("application/json"));
    let call = r.json();
    assert_call_shape(&call);
    assert_eq!(call["state"], "calling");
    assert_eq!(call["reason"], "Initiated");
    assert_eq!(call["direction"], "outgoing");
    assert_eq!(call["account"], "default", "account defaults to default");
    assert_eq!(call["to"], SILENT);
    assert!(
        call["from"].as_str().is_some_and(|f| f.starts_with("sip:")),
        "from: {call}"
    );
    for k in ["sip_status", "sip_reason", "answered_at", "ended_at"] {
        assert_eq!(call[k], Value::Null, "{k}");
    }
    let id = call["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/calls/{id}");

    let got = api.get(&path).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["id"], call["id"]);
    let list = api.get("/v1/calls").await.json();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == call["id"]),
        "listed: {list}"
    );
    assert_eq!(api.get("/v1/health").await.json()["active_calls"], 1);

    // Wrong-state actions on an outgoing call in progress.
    assert_error(
        &api.call(Method::POST, &format!("{path}/answer")).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_error(
        &api.call(Method::POST, &format!("{path}/reject")).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    let r = api
        .json(
            Method::POST,
            &format!("{path}/reject"),
            &json!({"code": 200}),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(
        api.get(&path).await.json()["state"],
        "calling",
        "refused actions left the call alone"
    );

    let r = api.call(Method::POST, &format!("{path}/hangup")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_call_shape(&r.json());
    let ended = api
        .poll_until(&path, Duration::from_secs(3), |v| {
            v["state"] == "terminated"
        })
        .await;
    assert_call_shape(&ended);
    assert_eq!(ended["reason"], "Terminated");
    assert_rfc3339(&ended["ended_at"]);
    assert_eq!(ended["answered_at"], Value::Null);
    assert_eq!(ended["sip_call_id"], call["sip_call_id"]);

    assert_error(
        &api.call(Method::POST, &format!("{path}/hangup")).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_error(
        &api.call(Method::POST, &format!("{path}/answer")).await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_eq!(api.get("/v1/health").await.json()["active_calls"], 0);
    let list = api.get("/v1/calls").await.json();
    let listed: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == call["id"])
        .collect();
    assert_eq!(listed.len(), 1, "an ended call stays listed once: {list}");
    assert_eq!(listed[0]["state"], "terminated");
}

#[tokio::test]
async fn list_limit_caps_the_result() {
    let api = Api::start().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = api
            .json(Method::POST, "/v1/calls", &json!({"to": SILENT}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        ids.push(r.json()["id"].clone());
    }
    assert_eq!(
        api.get("/v1/calls?limit=2")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        api.get("/v1/calls").await.json().as_array().unwrap().len(),
        3
    );
    // End one: live calls come first, the ended one after them.
    let first = ids[0].as_str().unwrap();
    assert_eq!(
        api.call(Method::POST, &format!("/v1/calls/{first}/hangup"))
            .await
            .status,
        StatusCode::OK
    );
    api.poll_until(&format!("/v1/calls/{first}"), Duration::from_secs(3), |v| {
        v["state"] == "terminated"
    })
    .await;
    let list = api.get("/v1/calls").await.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(
        list[2]["id"], ids[0],
        "the ended call is listed after the live ones: {list:?}"
    );
    for c in &ids[1..] {
        let id = c.as_str().unwrap();
        assert_eq!(
            api.call(Method::POST, &format!("/v1/calls/{id}/hangup"))
                .await
                .status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn calls_on_a_disabled_account_conflict() {
    let api = Api::start().await;
    let r = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"id": "off", "user": "off", "domain": "127.0.0.1", "enabled": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = api
        .json(
            Method::POST,
            "/v1/calls",
            &json!({"account": "off", "to": SILENT}),
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    assert_eq!(api.get("/v1/calls").await.json(), json!([]));
}
