//! `/v1/webhooks`: CRUD with a write-only secret, and delivery to a real
//! HTTP receiver on loopback — signed (checked here with an independent
//! HMAC), in order, retried through failures, parked after the last
//! attempt, redelivered on request, counted in `/metrics`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::support::Api;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Got {
    id: String,
    seq: u64,
    kind: String,
    body: Value,
    signature_ok: bool,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    /// Answer 503 to this many requests first.
    fail_next: Arc<AtomicU32>,
    attempts: Arc<AtomicU32>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    r.attempts.fetch_add(1, Ordering::SeqCst);
    if r.fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (id, ts, sig) = (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    );
    let key = STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 60);
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    r.got.lock().unwrap().push(Got {
        seq: h("callwire-event-seq").parse().unwrap_or(0),
        kind: h("callwire-event-type"),
        signature_ok: sig == expected && fresh && body["id"] == id.as_str(),
        id,
        body,
    });
    StatusCode::NO_CONTENT
}

impl Receiver {
    async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}/hook")
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Got> {
        for _ in 0..500 {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the receiver got {} of {n} events", self.got().len());
    }
}

/// Makes `n` events: account updates of the default account.
async fn make_events(api: &Api, n: usize) {
    for i in 0..n {
        let r = api
            .json(
                Method::PATCH,
                "/v1/accounts/default",
                &json!({"display_name": format!("n{i}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
}

fn fast(c: &mut callwire_engine::EngineConfig) {
    c.webhooks.initial_backoff_ms = 10;
    c.webhooks.max_backoff_ms = 40;
    c.webhooks.max_attempts = 4;
}

#[tokio::test]
async fn crud_keeps_the_secret_write_only() {
    let api = Api::start().await;
    let r = api
        .json(
            Method::POST,
            "/v1/webhooks",
            &json!({"url": "http://127.0.0.1:9/x", "types": ["call.*"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    let secret = created["secret"]
        .as_str()
        .expect("a generated secret is shown once");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["types"], json!(["call.*"]));
    assert_eq!(created["enabled"], true);

    let got = api.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(!got.text().contains(secret), "{}", got.text());
    assert!(got.json().get("secret").is_none());
    let list = api.get("/v1/webhooks").await;
    assert!(!list.text().contains(&secret[6..]));
    assert_eq!(list.json().as_array().unwrap().len(), 1);

    // A client-chosen secret is not echoed.
    let r = api
        .json(
            Method::POST,
            "/v1/webhooks",
            &json!({"url": "https://example.test/h", "secret": SECRET, "enabled": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(r.json().get("secret").is_none());
    assert_eq!(r.json()["state"], "disabled");

    let p = api
        .json(
            Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            &json!({"enabled": false, "description": "crm", "secret": SECRET}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text());
    let v = p.json();
    assert_eq!(v["enabled"], false);
    assert_eq!(v["description"], "crm");
    assert_eq!(v["types"], json!(["call.*"]), "unpatched fields stay");
    assert!(!p.text().contains("MfKQ9r8"));

    for (body, what) in [
        (json!({"url": "ftp://x/"}), "url"),
        (json!({"url": "http://h/", "secret": "plain"}), "secret"),
        (
            json!({"url": "http://h/", "types": ["Call.Ended"]}),
            "types",
        ),
        (json!({"url": "http://h/", "bogus": 1}), "bogus"),
        (json!({"types": []}), "url"),
    ] {
        let r = api.json(Method::POST, "/v1/webhooks", &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.text().contains(what), "{body}: {}", r.text());
    }
    let r = api
        .json(
            Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            &json!({"url": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        api.call(Method::DELETE, &format!("/v1/webhooks/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    for path in [
        format!("/v1/webhooks/{id}"),
        format!("/v1/webhooks/{id}/deliveries"),
    ] {
        assert_eq!(api.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        api.call(Method::DELETE, &format!("/v1/webhooks/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_number_of_webhooks_is_bounded() {
    let api = Api::start_with(|c| c.webhooks.max_webhooks = 2).await;
    for i in 0..3 {
        let r = api
            .json(
                Method::POST,
                "/v1/webhooks",
                &json!({"url": format!("http://127.0.0.1:9/{i}")}),
            )
            .await;
        let want = if i < 2 {
            StatusCode::CREATED
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        assert_eq!(r.status, want, "{}", r.text());
    }
}

#[tokio::test]
async fn events_arrive_signed_in_order_through_failures() {
    let api = Api::start_with(fast).await;
    let rx = Receiver::default();
    let url = rx.serve().await;
    // Events before the webhook exists are not its business.
    make_events(&api, 2).await;
    let r = api
        .json(
            Method::POST,
            "/v1/webhooks",
            &json!({"url": url, "secret": SECRET, "types": ["account.*"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    rx.fail_next.store(3, Ordering::SeqCst);
    make_events(&api, 20).await;
    let got = rx.wait_for(20).await;
    assert_eq!(got.len(), 20, "each event once");
    assert!(got.iter().all(|g| g.signature_ok), "{got:?}");
    assert!(got.iter().all(|g| g.kind == "account.updated"));
    let seqs: Vec<u64> = got.iter().map(|g| g.seq).collect();
    let first = seqs[0];
    assert!(first > 2, "older events were not sent: {seqs:?}");
    assert_eq!(seqs, (first..first + 20).collect::<Vec<_>>());
    for g in &got {
        assert_eq!(g.body["seq"].as_u64(), Some(g.seq));
        assert_eq!(
            g.body["data"]["display_name"]
                .as_str()
                .map(|s| s.starts_with('n')),
            Some(true)
        );
        assert!(!g.id.is_empty());
    }
    assert_eq!(
        rx.attempts.load(Ordering::SeqCst),
        23,
        "three failed, then one each"
    );

    let v = api.get(&format!("/v1/webhooks/{id}")).await.json();
    assert_eq!(v["delivered_seq"].as_u64(), Some(first + 19), "{v}");
    assert_eq!(v["backlog"], 0);
    assert_eq!(v["failed_deliveries"], 0);
    assert!(v["last_delivered_at"].is_string());
    let metrics = api.get("/metrics").await.text();
    assert!(
        metrics.contains("callwire_webhook_deliveries_total{result=\"delivered\"} 20"),
        "{metrics}"
    );
    assert!(metrics.contains("callwire_webhook_deliveries_total{result=\"failed_attempt\"} 3"));
    assert!(metrics.contains("callwire_webhook_backlog_events 0"));
}

#[tokio::test]
async fn an_event_that_exhausts_its_attempts_is_parked_and_can_be_redelivered() {
    let api = Api::start_with(fast).await;
    let rx = Receiver::default();
    let url = rx.serve().await;
    let r = api
        .json(
            Method::POST,
            "/v1/webhooks",
            &json!({"url": url, "secret": SECRET}),
        )
        .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    // The first event fails all 4 attempts; the next goes through.
    rx.fail_next.store(4, Ordering::SeqCst);
    make_events(&api, 2).await;
    let got = rx.wait_for(1).await;
    let parked_seq = got[0].seq - 1;

    let deliveries = api
        .get(&format!("/v1/webhooks/{id}/deliveries"))
        .await
        .json();
    let list = deliveries.as_array().unwrap();
    assert_eq!(list.len(), 1, "{deliveries}");
    let d = &list[0];
    assert_eq!(d["state"], "failed");
    assert_eq!(d["attempts"], 4);
    assert_eq!(d["last_status"], 503);
    assert_eq!(d["event_seq"].as_u64(), Some(parked_seq));
    assert_eq!(d["event_type"], "account.updated");
    let v = api.get(&format!("/v1/webhooks/{id}")).await.json();
    assert_eq!(v["failed_deliveries"], 1, "{v}");

    let did = d["id"].as_str().unwrap();
    let r = api
        .call(
            Method::POST,
            &format!("/v1/webhooks/{id}/deliveries/{did}/redeliver"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "delivered");
    assert_eq!(r.json()["attempts"], 5);
    let got = rx.wait_for(2).await;
    assert_eq!(got[1].seq, parked_seq);
    assert!(got[1].signature_ok);
    assert_eq!(
        got[1].id,
        d["event_id"].as_str().unwrap(),
        "the same webhook-id as before"
    );
    let v = api.get(&format!("/v1/webhooks/{id}")).await.json();
    assert_eq!(v["failed_deliveries"], 0, "{v}");
    assert_eq!(
        api.call(
            Method::POST,
            &format!("/v1/webhooks/{id}/deliveries/nope/redeliver")
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let metrics = api.get("/metrics").await.text();
    assert!(
        metrics.contains("callwire_webhook_deliveries_total{result=\"parked\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_disabled_webhook_resumes_where_it_stopped() {
    let api = Api::start_with(fast).await;
    let rx = Receiver::default();
    let url = rx.serve().await;
    let r = api
        .json(
            Method::POST,
            "/v1/webhooks",
            &json!({"url": url, "secret": SECRET}),
        )
        .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    make_events(&api, 3).await;
    rx.wait_for(3).await;
    let p = api
        .json(
            Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    make_events(&api, 5).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx.got().len(), 3, "nothing while disabled");
    let v = api.get(&format!("/v1/webhooks/{id}")).await.json();
    assert_eq!(v["state"], "disabled");
    assert!(v["backlog"].as_u64().unwrap() >= 5, "{v}");
    api.json(
        Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        &json!({"enabled": true}),
    )
    .await;
    let got = rx.wait_for(8).await;
    let seqs: Vec<u64> = got.iter().map(|g| g.seq).collect();
    // Webhook changes are not events, so the account updates are contiguous.
    assert_eq!(seqs, (seqs[0]..seqs[0] + 8).collect::<Vec<_>>());
}
