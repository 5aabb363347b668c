//! Bearer-token authentication: every route but health refuses without the token.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use serde_json::json;

use crate::support::{assert_error, Api, TOKEN};

/// Every protected route, with a body that would succeed or at least be read.
fn protected_routes() -> Vec<(Method, &'static str, Option<serde_json::Value>)> {
    vec![
        (Method::GET, "/v1/accounts", None),
        (
            Method::POST,
            "/v1/accounts",
            Some(json!({"id": "sneaky", "user": "s", "domain": "example.com"})),
        ),
        (Method::GET, "/v1/accounts/default", None),
        (
            Method::PATCH,
            "/v1/accounts/default",
            Some(json!({"display_name": "Hijacked"})),
        ),
        (Method::DELETE, "/v1/accounts/default", None),
        (Method::GET, "/v1/calls", None),
        (
            Method::POST,
            "/v1/calls",
            Some(json!({"to": "sip:x@127.0.0.1:9"})),
        ),
        (
            Method::GET,
            "/v1/calls/00000000-0000-0000-0000-000000000000",
            None,
        ),
        (
            Method::POST,
            "/v1/calls/00000000-0000-0000-0000-000000000000/answer",
            None,
        ),
        (
            Method::POST,
            "/v1/calls/00000000-0000-0000-0000-000000000000/reject",
            Some(json!({"code": 486})),
        ),
        (
            Method::POST,
            "/v1/calls/00000000-0000-0000-0000-000000000000/hangup",
            None,
        ),
    ]
}

/// Authorization values that must all be refused.
fn bad_credentials() -> Vec<Option<HeaderValue>> {
    vec![
        None,
        Some(HeaderValue::from_static("Bearer wrong-token")),
        Some(HeaderValue::from_static("Bearer ")),
        Some(HeaderValue::from_static("Bearer")),
        Some(HeaderValue::from_str(&format!("Bearer {TOKEN}x")).unwrap()),
        Some(HeaderValue::from_str(&format!("Bearer {}", &TOKEN[..TOKEN.len() - 1])).unwrap()),
        // Basic with the right token as password, and with the raw token.
        Some(HeaderValue::from_static(
            "Basic YWRtaW46YXBpdGVzdC10b2tlbi03ZjNhOWM=",
        )),
        Some(HeaderValue::from_str(&format!("Basic {TOKEN}")).unwrap()),
        Some(HeaderValue::from_str(TOKEN).unwrap()),
        Some(HeaderValue::from_str(&format!("Token {TOKEN}")).unwrap()),
        Some(HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap()),
    ]
}

#[tokio::test]
async fn every_protected_route_refuses_bad_credentials() {
    let api = Api::start().await;
    for (method, path, body) in protected_routes() {
        for cred in bad_credentials() {
            let mut b = Request::builder().method(method.clone()).uri(path);
            if let Some(c) = &cred {
                b = b.header(header::AUTHORIZATION, c.clone());
            }
            let body = match &body {
                Some(v) => {
                    b = b.header(header::CONTENT_TYPE, "application/json");
                    Body::from(v.to_string())
                }
                None => Body::empty(),
            };
            let r = api.send(b.body(body).unwrap()).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {cred:?}: {}",
                r.text()
            );
            assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
        }
    }
    // Nothing the refused requests asked for happened.
    assert_eq!(
        api.get("/v1/accounts/sneaky").await.status,
        StatusCode::NOT_FOUND
    );
    let default = api.get("/v1/accounts/default").await;
    assert_eq!(default.status, StatusCode::OK);
    assert_eq!(default.json()["display_name"], serde_json::Value::Null);
    let calls = api.get("/v1/calls").await;
    assert_eq!(calls.json(), json!([]), "no call was placed");
}

#[tokio::test]
async fn the_right_token_is_accepted() {
    let api = Api::start().await;
    let r = api.get("/v1/accounts").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.json().is_array());
}

#[tokio::test]
async fn health_needs_no_token() {
    let api = Api::start().await;
    for cred in [None, Some("Bearer wrong-token"), Some("Basic Zm9vOmJhcg==")] {
        let mut b = Request::builder().uri("/v1/health");
        if let Some(c) = cred {
            b = b.header(header::AUTHORIZATION, c);
        }
        let r = api.send(b.body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::OK, "{cred:?}: {}", r.text());
        assert!(r.content_type().starts_with("application/json"));
        let v = r.json();
        assert_eq!(v["status"], "ok");
        assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["active_calls"], 0);
        let bindings = api.engine.bindings();
        assert_eq!(v["sip"]["udp"], bindings.udp.to_string());
        assert_eq!(v["sip"]["tcp"], bindings.tcp.to_string());
    }
}
