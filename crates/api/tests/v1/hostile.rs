//! Hostile and malformed requests: every one gets the documented error shape and
//! the service keeps answering.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

use crate::support::{assert_error, assert_error_shape, Api};

/// Routes that read a JSON body.
const JSON_ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/accounts"),
    ("PATCH", "/v1/accounts/default"),
    ("POST", "/v1/calls"),
];

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).unwrap()
}

/// `{"id":"big","user":"u","domain":"example.com","display_name":"aaa…"}` of exactly `len` bytes.
fn body_of_len(len: usize) -> Vec<u8> {
    let head = br#"{"id":"big","user":"u","domain":"example.com","display_name":""#;
    let tail = br#""}"#;
    let mut b = head.to_vec();
    b.resize(len - tail.len(), b'a');
    b.extend_from_slice(tail);
    assert_eq!(b.len(), len);
    b
}

async fn assert_still_serving(api: &Api) {
    let r = api
        .send(Request::get("/v1/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "ok");
    let d = api.get("/v1/accounts/default").await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(
        d.json()["display_name"],
        serde_json::Value::Null,
        "default untouched"
    );
    assert_eq!(
        api.get("/v1/calls").await.json(),
        json!([]),
        "no call placed"
    );
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let api = Api::start().await;
    let nested_arrays = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let nested_objects = format!(
        r#"{{"id":"n","user":"u","domain":"d","x":{}1{}}}"#,
        r#"{"a":"#.repeat(5_000),
        "}".repeat(5_000)
    );
    let bodies: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        b"{".to_vec(),
        b"{\"id\": \"x\",}".to_vec(),
        b"[]".to_vec(),
        br#"[{"id":"x","user":"u","domain":"d"}]"#.to_vec(),
        b"\"a string\"".to_vec(),
        b"42".to_vec(),
        b"null".to_vec(),
        b"true".to_vec(),
        nested_arrays.into_bytes(),
        nested_objects.into_bytes(),
        // Invalid UTF-8 inside a string and outside.
        b"{\"id\":\"\xff\xfe\",\"user\":\"u\",\"domain\":\"d\",\"to\":\"\xc3\x28\"}".to_vec(),
        b"\xef\xbb\xbf\xff{}".to_vec(),
        // Raw NUL bytes: outside a string, inside one, and a lone NUL.
        b"{\"id\":\"n\",\0\"user\":\"u\",\"domain\":\"d\"}".to_vec(),
        b"{\"id\":\"n\0ul\",\"user\":\"u\",\"domain\":\"d\",\"to\":\"sip:a\0@b\"}".to_vec(),
        b"\0".to_vec(),
        // Escaped NUL reaches the validators.
        br#"{"id":"nu\u0000l","user":"u\u0000","domain":"d","to":"sip:a\u0000@127.0.0.1"}"#
            .to_vec(),
        // Lone surrogate escape.
        br#"{"id":"\ud800","user":"u","domain":"d","to":"\ud800"}"#.to_vec(),
        // Duplicate keys.
        br#"{"id":"d1","id":"d2","user":"u","domain":"d","to":"sip:a@b","to":"sip:c@d"}"#.to_vec(),
        // Trailing garbage after a valid document.
        br#"{"id":"t","user":"u","domain":"d","to":"sip:a@127.0.0.1:9"} trailing"#.to_vec(),
    ];
    for (m, path) in JSON_ROUTES {
        for body in &bodies {
            let r = api
                .raw(method(m), path, Some("application/json"), body.clone())
                .await;
            let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{m} {path} {shown:?}: {}",
                r.text()
            );
            assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
        }
    }
    // The optional body of reject is held to the same rules.
    for body in [
        b"not json".to_vec(),
        b"{\"code\":\0}".to_vec(),
        b"\xff".to_vec(),
        b"\"486\"".to_vec(),
    ] {
        let r = api
            .raw(
                Method::POST,
                "/v1/calls/x/reject",
                Some("application/json"),
                body,
            )
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_still_serving(&api).await;
    for id in ["x", "n", "big", "t", "d1", "d2"] {
        assert_eq!(
            api.get(&format!("/v1/accounts/{id}")).await.status,
            StatusCode::NOT_FOUND,
            "{id} was not created"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let api = Api::start().await;
    let big = body_of_len(70 * 1024);
    for (m, path) in JSON_ROUTES.iter().chain(&[("POST", "/v1/calls/x/reject")]) {
        let r = api
            .raw(method(m), path, Some("application/json"), big.clone())
            .await;
        assert_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
        // A Content-Length that lies about the size does not get the body through.
        let req = Api::authed(method(m), path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, "10")
            .body(Body::from(big.clone()))
            .unwrap();
        let r = api.send(req).await;
        assert_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    }
    // Exactly the limit is read (and refused for its content, not its size);
    // one byte more is too large.
    let r = api
        .raw(
            Method::POST,
            "/v1/accounts",
            Some("application/json"),
            body_of_len(callwire_api::MAX_BODY_BYTES),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    let r = api
        .raw(
            Method::POST,
            "/v1/accounts",
            Some("application/json"),
            body_of_len(callwire_api::MAX_BODY_BYTES + 1),
        )
        .await;
    assert_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert_eq!(
        api.get("/v1/accounts/big").await.status,
        StatusCode::NOT_FOUND
    );
    assert_still_serving(&api).await;
}

#[tokio::test]
async fn non_json_content_types_are_415() {
    let api = Api::start().await;
    let valid =
        json!({"id": "ct", "user": "u", "domain": "example.com", "to": "sip:a@127.0.0.1:9"});
    let valid = valid.to_string().into_bytes();
    for (m, path) in JSON_ROUTES {
        for ct in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data"),
            Some("json"),
            Some(""),
        ] {
            let r = api.raw(method(m), path, ct, valid.clone()).await;
            assert_eq!(
                r.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{m} {path} {ct:?}: {}",
                r.text()
            );
            assert_error(
                &r,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
            );
        }
    }
    // Parameters on the JSON type are fine.
    let r = api
        .raw(
            Method::POST,
            "/v1/accounts",
            Some("application/json; charset=utf-8"),
            br#"{"id":"ct","user":"u","domain":"example.com"}"#.to_vec(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = api
        .raw(Method::DELETE, "/v1/accounts/ct", None, Vec::new())
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_still_serving(&api).await;
}

#[tokio::test]
async fn unknown_routes_are_404_json() {
    let api = Api::start().await;
    for path in [
        "/",
        "/nope",
        "/v1",
        "/v1/",
        "/v2/health",
        "/v1/nope",
        "/v1/accounts/a/b",
        "/v1/calls/x/forward",
        "/v1/health/x",
        "/V1/health",
    ] {
        for authed in [true, false] {
            let mut b = Request::get(path);
            if authed {
                b = Api::authed(Method::GET, path);
            }
            let r = api.send(b.body(Body::empty()).unwrap()).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{path} authed={authed}: {}",
                r.text()
            );
            assert_error(&r, StatusCode::NOT_FOUND, "not_found");
        }
    }
    assert_still_serving(&api).await;
}

#[tokio::test]
async fn wrong_methods_are_405_json() {
    let api = Api::start().await;
    let cases = [
        ("POST", "/v1/health"),
        ("DELETE", "/v1/health"),
        ("PUT", "/v1/accounts"),
        ("DELETE", "/v1/accounts"),
        ("POST", "/v1/accounts/default"),
        ("PUT", "/v1/accounts/default"),
        ("DELETE", "/v1/calls"),
        ("PATCH", "/v1/calls/x"),
        ("DELETE", "/v1/calls/x"),
        ("GET", "/v1/calls/x/answer"),
        ("GET", "/v1/calls/x/reject"),
        ("PUT", "/v1/calls/x/hangup"),
    ];
    for (m, path) in cases {
        let r = api.call(method(m), path).await;
        assert_eq!(
            r.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{m} {path}: {}",
            r.text()
        );
        assert_error(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        // RFC 9110 §15.5.6: a 405 lists the allowed methods, and not this one.
        let allow = r
            .headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(!allow.is_empty(), "{m} {path}: 405 without Allow");
        assert!(
            !allow.split(',').any(|a| a.trim() == m),
            "{m} {path}: Allow {allow:?}"
        );
        // Without the token the answer is still an error in the same shape.
        let r = api
            .send(
                Request::builder()
                    .method(method(m))
                    .uri(path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert!(
            r.status == StatusCode::METHOD_NOT_ALLOWED || r.status == StatusCode::UNAUTHORIZED,
            "{m} {path}: {}",
            r.status
        );
        assert_error_shape(&r);
    }
    assert_still_serving(&api).await;
}

/// A JSON array is not the documented object, even when serde could read it
/// positionally as the struct's fields.
#[tokio::test]
async fn arrays_are_not_objects() {
    let api = Api::start().await;
    let r = api
        .raw(
            Method::POST,
            "/v1/calls",
            Some("application/json"),
            br#"["default","sip:nobody@127.0.0.1:9",5]"#.to_vec(),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    for body in [&b"[]"[..], b"[603]"] {
        let r = api
            .raw(
                Method::POST,
                "/v1/calls/x/reject",
                Some("application/json"),
                body.to_vec(),
            )
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    assert_still_serving(&api).await;
}
