//! Shared harness: an engine on loopback behind the real router, driven
//! in-process with `oneshot`, plus assertions on the documented shapes.

use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use callwire_api::{app, AppState};
use callwire_engine::config::RtpConfig;
use callwire_engine::{Engine, EngineConfig};
use callwire_store::Store;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The admin token every harness uses.
pub const TOKEN: &str = "apitest-token-7f3a9c";

/// First RTP port of the harnesses; each engine gets its own 200-port slice.
const RTP_BASE: u16 = 43_000;
static NEXT_RTP_SLICE: AtomicU16 = AtomicU16::new(0);

/// Fields every account carries (docs/api.md plus `has_password`).
pub const ACCOUNT_FIELDS: &[&str] = &[
    "id",
    "codecs",
    "dtmf_mode",
    "display_name",
    "user",
    "domain",
    "registrar",
    "secondary_registrar",
    "outbound_proxy",
    "auth_user",
    "transport",
    "expires",
    "auto_answer",
    "enabled",
    "max_calls",
    "registration",
    "has_password",
    "policy",
];

/// Fields docs/api.md lists for a call.
pub const CALL_FIELDS: &[&str] = &[
    "id",
    "account",
    "direction",
    "from",
    "to",
    "state",
    "reason",
    "sip_status",
    "sip_reason",
    "sip_call_id",
    "created_at",
    "answered_at",
    "ended_at",
];

/// A running engine and the router in front of it.
pub struct Api {
    router: Router,
    /// The engine behind the router.
    pub engine: Engine,
}

/// A collected response.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// The content type, or "" when absent.
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl Api {
    /// Starts an engine (SIP on 127.0.0.1:0, in-memory store) and its router.
    pub async fn start() -> Api {
        Api::start_with(|_| {}).await
    }

    /// [`Api::start`] with the configuration adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut EngineConfig)) -> Api {
        let slice = NEXT_RTP_SLICE.fetch_add(1, Ordering::Relaxed);
        let mut config = EngineConfig {
            sip_bind: "127.0.0.1:0".parse().unwrap(),
            rtp: RtpConfig {
                port_start: RTP_BASE + 200 * (slice % 30),
                port_count: 200,
            },
            ..Default::default()
        };
        adjust(&mut config);
        let store = Store::open_memory().await.unwrap();
        let engine = Engine::start(config, store).await.unwrap();
        let router = app(AppState::new(engine.clone(), TOKEN));
        Api { router, engine }
    }

    /// Sends one request through a clone of the router.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = tokio::time::timeout(Duration::from_secs(5), self.router.clone().oneshot(req))
            .await
            .expect("the router answered within 5 s")
            .expect("the router is infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Sends one request and hands back the response with its body unread
    /// (for streams).
    pub async fn open(&self, req: Request<Body>) -> axum::response::Response {
        tokio::time::timeout(Duration::from_secs(5), self.router.clone().oneshot(req))
            .await
            .expect("the router answered within 5 s")
            .expect("the router is infallible")
    }

    /// Serves the router on a loopback port (for clients that need a real
    /// connection, such as WebSockets); the server lives as long as the test.
    pub async fn serve(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = self.router.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        addr
    }

    /// A request builder carrying the admin token.
    pub fn authed(method: Method, path: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
    }

    /// Authorised request with no body and no content type.
    pub async fn call(&self, method: Method, path: &str) -> Reply {
        self.send(Self::authed(method, path).body(Body::empty()).unwrap())
            .await
    }

    /// Authorised GET.
    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path).await
    }

    /// Authorised request with a JSON body.
    pub async fn json(&self, method: Method, path: &str, body: &Value) -> Reply {
        self.raw(
            method,
            path,
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }

    /// Authorised request with raw body bytes and an optional content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut b = Self::authed(method, path);
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    /// Polls `GET path` until `done` holds on its JSON (200), up to `within`.
    pub async fn poll_until(
        &self,
        path: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let r = self.get(path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
            let v = r.json();
            if done(&v) {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{path} never reached the expected state: {v}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Asserts the documented error: status, JSON content type, and exactly
/// `{"error": {"code": code, "message": <non-empty string>}}`.
#[track_caller]
pub fn assert_error(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "body: {}", r.text());
    assert_error_shape(r);
    let v = r.json();
    assert_eq!(v["error"]["code"], code, "body: {v}");
}

/// Asserts the error shape and content type whatever the status.
#[track_caller]
pub fn assert_error_shape(r: &Reply) {
    assert!(
        r.content_type().starts_with("application/json"),
        "status {} content-type {:?} body {:?}",
        r.status,
        r.content_type(),
        r.text()
    );
    let v = r.json();
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {v}"));
    assert_eq!(obj.len(), 1, "error body has only `error`: {v}");
    let err = v["error"]
        .as_object()
        .unwrap_or_else(|| panic!("`error` is not an object: {v}"));
    assert_eq!(err.len(), 2, "`error` has only code and message: {v}");
    assert!(
        err.get("code")
            .and_then(Value::as_str)
            .is_some_and(|c| !c.is_empty()),
        "code: {v}"
    );
    assert!(
        err.get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty()),
        "message: {v}"
    );
}

/// Asserts an object has exactly the given keys.
#[track_caller]
pub fn assert_keys(v: &Value, keys: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    let mut got: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut want = keys.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "keys of {v}");
}

/// Asserts an object has at least the given keys.
#[track_caller]
pub fn assert_has_keys(v: &Value, keys: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    for k in keys {
        assert!(obj.contains_key(*k), "missing {k:?} in {v}");
    }
}

/// Asserts a value is an RFC 3339 timestamp.
#[track_caller]
pub fn assert_rfc3339(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    assert!(
        chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "not RFC 3339: {s:?}"
    );
}
