//! `/v1/accounts`: shapes, validation, the write-only password, patch semantics.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, assert_keys, Api, ACCOUNT_FIELDS};

const PASSWORD: &str = "pw-Zq8!never-echoed-41";

fn full_account() -> Value {
    json!({
        "id": "alice.Work_1-x",
        "display_name": "Alice",
        "user": "alice",
        "domain": "pbx.example.com",
        "registrar": "127.0.0.1:9",
        "secondary_registrar": "sip:127.0.0.1:19",
        "outbound_proxy": "127.0.0.1:29",
        "auth_user": "alice-auth",
        "password": PASSWORD,
        "transport": "tcp",
        "expires": 600,
        "auto_answer": true,
        // Disabled, so nothing is sent to the registrar while the test runs.
        "enabled": false,
        "max_calls": 2,
        "codecs": ["G722", "PCMA", "L16/16000"],
        "dtmf_mode": "info",
    })
}

#[track_caller]
fn assert_account_shape(v: &Value) {
    assert_keys(v, ACCOUNT_FIELDS);
    assert_keys(
        &v["registration"],
        &["state", "code", "reason", "expires_at"],
    );
    assert!(
        ["unregistered", "registering", "registered", "failed"]
            .contains(&v["registration"]["state"].as_str().unwrap_or("")),
        "registration.state: {v}"
    );
}

#[tokio::test]
async fn default_account_exists() {
    let api = Api::start().await;
    let r = api.get("/v1/accounts/default").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_account_shape(&v);
    assert_eq!(v["id"], "default");
    assert_eq!(v["registrar"], Value::Null);
    assert_eq!(v["has_password"], false);
    assert_eq!(v["registration"]["state"], "unregistered");

    let list = api.get("/v1/accounts").await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(ids, ["default"]);
}

#[tokio::test]
async fn create_returns_every_field_and_never_the_password() {
    let api = Api::start().await;
    let r = api
        .json(Method::POST, "/v1/accounts", &full_account())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(r.content_type().starts_with("application/json"));
    assert!(
        !r.text().contains(PASSWORD),
        "password echoed: {}",
        r.text()
    );
    let v = r.json();
    assert_account_shape(&v);
    let mut expected = full_account();
    let obj = expected.as_object_mut().unwrap();
    obj.remove("password");
    for (k, want) in obj.iter() {
        assert_eq!(&v[k], want, "field {k}");
    }
    assert_eq!(v["has_password"], true);
    assert_eq!(
        v["registration"]["state"], "unregistered",
        "a disabled account does not register"
    );

    for path in ["/v1/accounts/alice.Work_1-x", "/v1/accounts"] {
        let r = api.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        assert!(
            !r.text().contains(PASSWORD),
            "{path} shows the password: {}",
            r.text()
        );
        assert!(
            !r.text().contains("\"password\""),
            "{path} has a password key: {}",
            r.text()
        );
    }
    let one = api.get("/v1/accounts/alice.Work_1-x").await.json();
    assert_eq!(one, v, "GET shows what POST returned");
    let list = api.get("/v1/accounts").await.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for a in list {
        assert_account_shape(a);
    }
    assert!(list.contains(&v));
}

#[tokio::test]
async fn create_fills_documented_defaults() {
    let api = Api::start().await;
    let r = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"id": "bob", "user": "bob", "domain": "127.0.0.1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_account_shape(&v);
    assert_eq!(v["transport"], "udp");
    assert_eq!(v["expires"], 3600);
    assert_eq!(v["auto_answer"], false);
    assert_eq!(v["enabled"], true);
    assert_eq!(v["has_password"], false);
    assert_eq!(v["codecs"], json!(["PCMU", "PCMA", "G722", "opus"]));
    assert_eq!(v["dtmf_mode"], "rfc4733");
    for k in [
        "display_name",
        "registrar",
        "secondary_registrar",
        "outbound_proxy",
        "auth_user",
        "max_calls",
    ] {
        assert_eq!(v[k], Value::Null, "{k}");
    }
}

#[tokio::test]
async fn duplicate_id_is_a_conflict() {
    let api = Api::start().await;
    let body = json!({"id": "dup", "user": "d", "domain": "example.com"});
    assert_eq!(
        api.json(Method::POST, "/v1/accounts", &body).await.status,
        StatusCode::CREATED
    );
    let r = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"id": "dup", "user": "other", "domain": "example.org"}),
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    assert_eq!(
        api.get("/v1/accounts/dup").await.json()["user"],
        "d",
        "the first one is kept"
    );
    let r = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"id": "default", "user": "x", "domain": "example.com"}),
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn ids_are_validated() {
    let api = Api::start().await;
    let long = "a".repeat(65);
    for id in [
        json!("has space"),
        json!(long),
        json!(""),
        json!("sl/ash"),
        json!("ü"),
        json!("a\u{0}b"),
        json!(7),
        json!(null),
    ] {
        let r = api
            .json(
                Method::POST,
                "/v1/accounts",
                &json!({"id": id, "user": "u", "domain": "example.com"}),
            )
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    let r = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"user": "u", "domain": "example.com"}),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    let max = "b".repeat(64);
    let r = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"id": max, "user": "u", "domain": "example.com"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "64 characters are allowed: {}",
        r.text()
    );
    let ids: Vec<Value> = api
        .get("/v1/accounts")
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "only default and the 64-char id exist: {ids:?}"
    );
}

#[tokio::test]
async fn bad_fields_are_refused() {
    let api = Api::start().await;
    let base = json!({"id": "v", "user": "u", "domain": "example.com"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        with("bogus", json!(1)),
        with("has_password", json!(true)),
        with("registration", json!({"state": "registered"})),
        with("expires", json!("x")),
        with("expires", json!(9)),
        with("expires", json!(86401)),
        with("expires", json!(-1)),
        with("expires", json!(1.5)),
        with("auto_answer", json!("yes")),
        with("enabled", json!(1)),
        with("transport", json!("sctp")),
        with("max_calls", json!(0)),
        with("max_calls", json!(-3)),
        with("password", json!(12)),
        with("password", json!("p".repeat(257))),
        with("user", json!("")),
        with("user", json!("a b")),
        with("domain", json!(null)),
        with("registrar", json!("not a host")),
        with("secondary_registrar", json!("127.0.0.1:5060")),
        with("display_name", json!("quote\"inside")),
        with("codecs", json!([])),
        with("codecs", json!(["G729"])),
        with("codecs", json!(["PCMU", "pcmu"])),
        with("codecs", json!(["L16/44100"])),
        with("codecs", json!("PCMU")),
        with("dtmf_mode", json!("rfc2833")),
        json!({"id": "v", "domain": "example.com"}),
    ];
    for body in cases {
        let r = api.json(Method::POST, "/v1/accounts", &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text());
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_eq!(
        api.get("/v1/accounts/v").await.status,
        StatusCode::NOT_FOUND,
        "no invalid account was stored"
    );
    for (k, v) in [("expires", json!(10)), ("expires", json!(86400))] {
        let mut b = with(k, v);
        b["id"] = json!(format!("edge{}", b["expires"]));
        let r = api.json(Method::POST, "/v1/accounts", &b).await;
        assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text());
    }
}

#[tokio::test]
async fn patch_changes_only_the_given_fields() {
    let api = Api::start().await;
    let created = api
        .json(Method::POST, "/v1/accounts", &full_account())
        .await
        .json();
    let path = "/v1/accounts/alice.Work_1-x";

    let r = api
        .json(
            Method::PATCH,
            path,
            &json!({"display_name": "Al", "expires": 1200}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert!(!r.text().contains(PASSWORD));
    let mut want = created.clone();
    want["display_name"] = json!("Al");
    want["expires"] = json!(1200);
    assert_eq!(v, want);
    assert_eq!(
        api.get(path).await.json(),
        want,
        "the change is visible to GET"
    );

    // Clearing an optional field.
    let v = api
        .json(
            Method::PATCH,
            path,
            &json!({"max_calls": null, "auth_user": null}),
        )
        .await
        .json();
    assert_eq!(v["max_calls"], Value::Null);
    assert_eq!(v["auth_user"], Value::Null);
    assert_eq!(v["has_password"], true, "password untouched when absent");

    // The password: null clears, a string sets, neither is ever shown.
    let v = api
        .json(Method::PATCH, path, &json!({"password": null}))
        .await
        .json();
    assert_eq!(v["has_password"], false);
    assert_eq!(api.get(path).await.json()["has_password"], false);
    let r = api
        .json(
            Method::PATCH,
            path,
            &json!({"password": "another-Secret-99"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["has_password"], true);
    assert!(!r.text().contains("another-Secret-99"));
    assert!(!api.get(path).await.text().contains("another-Secret-99"));

    // An empty patch changes nothing.
    let before = api.get(path).await.json();
    let r = api.json(Method::PATCH, path, &json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), before);
}

#[tokio::test]
async fn invalid_patches_are_refused_and_change_nothing() {
    let api = Api::start().await;
    api.json(
        Method::POST,
        "/v1/accounts",
        &json!({"id": "carol", "user": "carol", "domain": "example.com", "password": PASSWORD}),
    )
    .await;
    let path = "/v1/accounts/carol";
    let before = api.get(path).await.json();
    for patch in [
        json!({"id": "dave"}),
        json!({"id": 5}),
        json!({"expires": 5}),
        json!({"expires": "x"}),
        json!({"auto_answer": "yes"}),
        json!({"bogus": true}),
        json!({"has_password": false}),
        json!({"registration": null}),
        json!({"user": null}),
        json!({"transport": null}),
        json!({"password": 1}),
        // A valid field alongside an invalid one: nothing is applied.
        json!({"display_name": "Partial", "expires": 0}),
        json!({"display_name": "Partial", "password": null, "bogus": 1}),
        json!([]),
        json!("carol"),
    ] {
        let r = api.json(Method::PATCH, path, &patch).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{patch}: {}", r.text());
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_eq!(
        api.get(path).await.json(),
        before,
        "refused patches changed nothing"
    );
    assert_eq!(
        api.get("/v1/accounts/dave").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn unknown_accounts_are_not_found() {
    let api = Api::start().await;
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"display_name": "x"}))),
        (Method::DELETE, None),
    ] {
        for id in ["nobody", "has%20space", "a%2Fb"] {
            let path = format!("/v1/accounts/{id}");
            let r = match &body {
                Some(b) => api.json(method.clone(), &path, b).await,
                None => api.call(method.clone(), &path).await,
            };
            assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        }
    }
}

#[tokio::test]
async fn default_cannot_be_deleted_or_given_a_registrar() {
    let api = Api::start().await;
    let r = api.call(Method::DELETE, "/v1/accounts/default").await;
    assert_error(&r, StatusCode::CONFLICT, "conflict");
    let r = api
        .json(
            Method::PATCH,
            "/v1/accounts/default",
            &json!({"registrar": "x"}),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    let v = api.get("/v1/accounts/default").await.json();
    assert_eq!(v["registrar"], Value::Null);
    // Other fields of default may change.
    let r = api
        .json(
            Method::PATCH,
            "/v1/accounts/default",
            &json!({"display_name": "Front door"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["display_name"], "Front door");
}

#[tokio::test]
async fn delete_then_gone() {
    let api = Api::start().await;
    let body = json!({"id": "eve", "user": "eve", "domain": "example.com"});
    assert_eq!(
        api.json(Method::POST, "/v1/accounts", &body).await.status,
        StatusCode::CREATED
    );
    let r = api.call(Method::DELETE, "/v1/accounts/eve").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert!(r.body.is_empty(), "204 has no body: {:?}", r.text());
    assert_error(
        &api.get("/v1/accounts/eve").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &api.call(Method::DELETE, "/v1/accounts/eve").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let ids: Vec<Value> = api
        .get("/v1/accounts")
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, [json!("default")]);
    // The id is free again.
    assert_eq!(
        api.json(Method::POST, "/v1/accounts", &body).await.status,
        StatusCode::CREATED
    );
}

/// The call policy a new account gets.
fn default_policy() -> Value {
    json!({
        "allow": [],
        "deny": [],
        "answer_delay_ms": 0,
        "max_duration_secs": null,
        "refer": "accept"
    })
}

#[tokio::test]
async fn policy_is_created_read_and_defaulted() {
    let api = Api::start().await;
    let policy = json!({
        "allow": ["*@pbx.example.com", "10??@10.0.0.*"],
        "deny": ["900*@*"],
        "answer_delay_ms": 1500,
        "max_duration_secs": 3600,
        "refer": "reject"
    });
    let r = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"id": "p", "user": "p", "domain": "example.com", "policy": policy}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_account_shape(&v);
    assert_eq!(v["policy"], policy);
    assert_eq!(api.get("/v1/accounts/p").await.json()["policy"], policy);
    // Absent, or given in part: the rest takes the defaults.
    let plain = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"id": "q", "user": "q", "domain": "example.com"}),
        )
        .await
        .json();
    assert_eq!(plain["policy"], default_policy());
    assert_eq!(
        api.get("/v1/accounts/default").await.json()["policy"],
        default_policy()
    );
    let partial = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"id": "r", "user": "r", "domain": "example.com",
                    "policy": {"answer_delay_ms": 250}}),
        )
        .await
        .json();
    let mut want = default_policy();
    want["answer_delay_ms"] = json!(250);
    assert_eq!(partial["policy"], want);
}

#[tokio::test]
async fn policy_is_patched_field_by_field_and_reset_by_null() {
    let api = Api::start().await;
    let path = "/v1/accounts/default";
    let r = api
        .json(
            Method::PATCH,
            path,
            &json!({"policy": {"deny": ["spam@*"], "answer_delay_ms": 800}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut want = default_policy();
    want["deny"] = json!(["spam@*"]);
    want["answer_delay_ms"] = json!(800);
    assert_eq!(r.json()["policy"], want);
    // Another field: the earlier ones stay.
    let v = api
        .json(
            Method::PATCH,
            path,
            &json!({"policy": {"max_duration_secs": 60}}),
        )
        .await
        .json();
    want["max_duration_secs"] = json!(60);
    assert_eq!(v["policy"], want);
    // null clears one optional field, and the whole policy.
    let v = api
        .json(
            Method::PATCH,
            path,
            &json!({"policy": {"max_duration_secs": null}}),
        )
        .await
        .json();
    want["max_duration_secs"] = Value::Null;
    assert_eq!(v["policy"], want);
    assert_eq!(api.get(path).await.json()["policy"], want);
    let v = api
        .json(Method::PATCH, path, &json!({"policy": null}))
        .await
        .json();
    assert_eq!(v["policy"], default_policy());
    // A bad patch changes nothing.
    let r = api
        .json(
            Method::PATCH,
            path,
            &json!({"policy": {"answer_delay_ms": 60001}}),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(api.get(path).await.json()["policy"], default_policy());
}

#[tokio::test]
async fn bad_policies_are_refused_with_the_field_named() {
    let api = Api::start().await;
    let many: Vec<String> = (0..33).map(|i| format!("u{i}@*")).collect();
    let cases = [
        (json!({"answer_delay_ms": 60001}), "answer_delay_ms"),
        (json!({"answer_delay_ms": -1}), "-1"),
        (json!({"max_duration_secs": 0}), "max_duration_secs"),
        (json!({"max_duration_secs": 86401}), "max_duration_secs"),
        (json!({"allow": ["has space@x"]}), "pattern"),
        (json!({"deny": [""]}), "pattern"),
        (json!({"deny": ["x".repeat(257)]}), "pattern"),
        (json!({"allow": many}), "32 patterns"),
        (json!({"allow": "*@x"}), "sequence"),
        (json!({"refer": "maybe"}), "maybe"),
        (json!({"bogus": 1}), "bogus"),
        (json!("deny-all"), "deny-all"),
    ];
    for (policy, needle) in cases {
        let body = json!({"id": "bad", "user": "u", "domain": "example.com", "policy": policy});
        let r = api.json(Method::POST, "/v1/accounts", &body).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        let message = r.json()["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(
            message.contains(needle),
            "{policy}: {message:?} lacks {needle:?}"
        );
        let r = api
            .json(
                Method::PATCH,
                "/v1/accounts/default",
                &json!({"policy": policy}),
            )
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_eq!(
        api.get("/v1/accounts/bad").await.status,
        StatusCode::NOT_FOUND
    );
    let max: Vec<String> = (0..32).map(|i| format!("u{i}@*")).collect();
    let r = api
        .json(
            Method::PATCH,
            "/v1/accounts/default",
            &json!({"policy": {"allow": max, "deny": ["x".repeat(256)], "answer_delay_ms": 60000, "max_duration_secs": 86400}}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the limits themselves are fine: {}",
        r.text()
    );
}
