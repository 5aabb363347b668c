//! `/v1/dtmf-configurations` and `/v1/dtmf-triggers`: CRUD, validation, the
//! binding rules and the Axis limits.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{assert_error, Api};

#[tokio::test]
async fn configurations_and_triggers_crud() {
    let api = Api::start().await;
    let r = api
        .json(
            Method::POST,
            "/v1/dtmf-configurations",
            &json!({"id": "door", "name": "Door",
                    "sequences": [{"sequence": "#1234#", "name": "OpenDoor"},
                                  {"sequence": "*9a", "name": "Alarm"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let c = r.json();
    assert_eq!(
        c["sequences"][1]["sequence"], "*9A",
        "digits are upper-cased"
    );
    assert_eq!(
        api.get("/v1/dtmf-configurations").await.json()[0]["id"],
        "door"
    );

    let r = api
        .json(
            Method::PUT,
            "/v1/dtmf-configurations/door",
            &json!({"name": "Front door", "sequences": []}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["name"], "Front door");
    assert_eq!(r.json()["created_at"], c["created_at"]);

    let r = api
        .json(
            Method::POST,
            "/v1/dtmf-triggers",
            &json!({"id": "t1", "configuration": "door", "account": "default"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        api.get("/v1/dtmf-triggers/t1").await.json()["account"],
        "default"
    );
    // A bound configuration cannot be deleted.
    assert_error(
        &api.call(Method::DELETE, "/v1/dtmf-configurations/door")
            .await,
        StatusCode::CONFLICT,
        "conflict",
    );
    assert_eq!(
        api.call(Method::DELETE, "/v1/dtmf-triggers/t1")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.call(Method::DELETE, "/v1/dtmf-configurations/door")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    for path in ["/v1/dtmf-configurations/door", "/v1/dtmf-triggers/t1"] {
        assert_error(&api.get(path).await, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn bad_dtmf_bodies_and_limits() {
    let api = Api::start().await;
    for body in [
        json!({"name": ""}),
        json!({"name": "x", "sequences": [{"sequence": "12x", "name": "n"}]}),
        json!({"name": "x", "sequences": [{"sequence": "", "name": "n"}]}),
        json!({"name": "x", "sequences": [{"sequence": "1", "name": ""}]}),
        json!({"name": "x", "sequences": [{"sequence": "1".repeat(33), "name": "n"}]}),
        json!({"name": "x", "bogus": 1}),
        json!({"id": "a b", "name": "x"}),
    ] {
        let r = api
            .json(Method::POST, "/v1/dtmf-configurations", &body)
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    for body in [
        json!({"configuration": "missing", "account": "default"}),
        json!({"configuration": "c", "account": "missing"}),
    ] {
        api.json(
            Method::POST,
            "/v1/dtmf-configurations",
            &json!({"id": "c", "name": "c"}),
        )
        .await;
        let r = api.json(Method::POST, "/v1/dtmf-triggers", &body).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    // The Axis limit: 100 configurations.
    for i in 1..100 {
        let r = api
            .json(
                Method::POST,
                "/v1/dtmf-configurations",
                &json!({"id": format!("k{i}"), "name": "k"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{i}: {}", r.text());
    }
    let r = api
        .json(
            Method::POST,
            "/v1/dtmf-configurations",
            &json!({"id": "over", "name": "k"}),
        )
        .await;
    assert_error(&r, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}
