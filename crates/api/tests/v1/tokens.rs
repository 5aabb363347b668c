//! `/v1/tokens`: named tokens with scopes. A token is shown once; `read`
//! reads, `calls` also controls calls, `admin` does everything; a revoked
//! token stops working at once; a token's own scope decides, not its name.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::support::Api;

async fn with_token(
    api: &Api,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> StatusCode {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    api.send(req.body(body).unwrap()).await.status
}

async fn make(api: &Api, name: &str, scopes: &[&str]) -> (String, String) {
    let r = api
        .json(
            Method::POST,
            "/v1/tokens",
            &json!({"name": name, "scopes": scopes}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    let token = v["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("cw_") && token.len() == 67, "{token}");
    (v["id"].as_str().unwrap().to_owned(), token)
}

#[tokio::test]
async fn scopes_decide_what_a_token_may_do() {
    let api = Api::start().await;
    let (_, read) = make(&api, "dashboard", &["read"]).await;
    let (_, calls) = make(&api, "dialer", &["calls"]).await;
    let (_, admin) = make(&api, "ops", &["admin", "read"]).await;

    // Reading: everyone.
    for t in [&read, &calls, &admin] {
        assert_eq!(
            with_token(&api, t, Method::GET, "/v1/calls", None).await,
            StatusCode::OK
        );
        assert_eq!(
            with_token(&api, t, Method::GET, "/v1/accounts", None).await,
            StatusCode::OK
        );
        assert_eq!(
            with_token(&api, t, Method::GET, "/metrics", None).await,
            StatusCode::OK
        );
    }
    // Call control: calls and admin (404: authorised, no such call).
    let hangup = "/v1/calls/nope/hangup";
    assert_eq!(
        with_token(&api, &read, Method::POST, hangup, None).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        with_token(&api, &calls, Method::POST, hangup, None).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        with_token(&api, &admin, Method::POST, hangup, None).await,
        StatusCode::NOT_FOUND
    );
    // Configuration: admin only.
    let patch = Some(json!({"display_name": "x"}));
    assert_eq!(
        with_token(
            &api,
            &calls,
            Method::PATCH,
            "/v1/accounts/default",
            patch.clone()
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        with_token(&api, &admin, Method::PATCH, "/v1/accounts/default", patch).await,
        StatusCode::OK
    );
    for t in [&read, &calls] {
        assert_eq!(
            with_token(&api, t, Method::GET, "/v1/tokens", None).await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            with_token(
                &api,
                t,
                Method::POST,
                "/v1/webhooks",
                Some(json!({"url": "http://h/"}))
            )
            .await,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        with_token(&api, &admin, Method::GET, "/v1/tokens", None).await,
        StatusCode::OK
    );
    // The 403 body says why, in the API's error shape.
    let r = api
        .send(
            Request::builder()
                .method(Method::POST)
                .uri(hangup)
                .header(header::AUTHORIZATION, format!("Bearer {read}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let e = r.json();
    assert_eq!(e["error"]["code"], "forbidden", "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("calls"),
        "{e}"
    );
}

#[tokio::test]
async fn tokens_are_shown_once_and_revoked_at_once() {
    let api = Api::start().await;
    let (id, token) = make(&api, "temp", &["read"]).await;
    let list = api.get("/v1/tokens").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.text().contains(&token[3..]), "{}", list.text());
    let v = list.json();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["name"], "temp");
    assert_eq!(v[0]["scopes"], json!(["read"]));
    let one = api.get(&format!("/v1/tokens/{id}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.json().get("token").is_none());

    assert_eq!(
        with_token(&api, &token, Method::GET, "/v1/calls", None).await,
        StatusCode::OK
    );
    assert_eq!(
        api.call(Method::DELETE, &format!("/v1/tokens/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        with_token(&api, &token, Method::GET, "/v1/calls", None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api.call(Method::DELETE, &format!("/v1/tokens/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        with_token(&api, "cw_0000", Method::GET, "/v1/calls", None).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn bad_token_requests_are_400() {
    let api = Api::start().await;
    for body in [
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["root"]}),
        json!({"name": "", "scopes": ["read"]}),
        json!({"name": "x"}),
        json!({"name": "x", "scopes": ["read"], "token": "mine"}),
    ] {
        let r = api.json(Method::POST, "/v1/tokens", &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text());
    }
}
