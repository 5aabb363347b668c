//! Webhooks under real traffic and real failures: SIPp places calls into
//! auto-answer while the receiver first fails requests, then is down (its
//! port closed); the calls complete regardless. With the backlog still
//! undelivered callwire is killed with SIGKILL and started again; the
//! receiver comes back, and in the end it has every event of the node —
//! seqs 1..=last without a gap, first arrivals in order, every signature
//! valid (checked here with an independent HMAC-SHA256).

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use common::sipp::SippCmd;
use common::{Callwire, CallwireOpts};

const CALLS: u32 = 150;
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request as the receiver saw it: (seq, event id, signature valid).
type Got = (u64, String, bool);

#[derive(Clone, Default)]
struct Shared {
    got: Arc<Mutex<Vec<Got>>>,
    fail_next: Arc<AtomicU32>,
}

async fn receive(State(s): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    if s.fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::INTERNAL_SERVER_ERROR;
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
    let key = STANDARD.decode(&SECRET[6..]).unwrap_or_default();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("hmac key");
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let seq = event["seq"].as_u64().unwrap_or(0);
    let ok =
        sig == expected && event["id"] == id.as_str() && h("callwire-event-seq") == seq.to_string();
    s.got.lock().expect("lock").push((seq, id, ok));
    StatusCode::OK
}

/// A receiver on a fixed port that can be taken down (port closed) and
/// brought back. Every response closes its connection, so "down" really
/// means connection refused for the next request.
struct Receiver {
    rt: tokio::runtime::Runtime,
    port: u16,
    shared: Shared,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    fn new() -> Receiver {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        Receiver {
            rt,
            port: common::free_port(),
            shared: Shared::default(),
            server: None,
        }
    }

    fn up(&mut self) {
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .layer(axum::middleware::map_response(
                |mut r: axum::response::Response| async move {
                    r.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                    r
                },
            ))
            .with_state(self.shared.clone());
        let port = self.port;
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
            .expect("bind the receiver");
        self.server = Some(self.rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    fn down(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
            let _ = self.rt.block_on(s);
        }
    }

    fn got(&self) -> Vec<Got> {
        self.shared.got.lock().expect("lock").clone()
    }
}

#[test]
fn every_event_arrives_in_order_through_failures_an_outage_and_a_kill_9() {
    let mut rx = Receiver::new();
    rx.up();
    rx.shared.fail_next.store(5, Ordering::SeqCst);
    let mut cw = Callwire::start(CallwireOpts::with_toml(
        "[webhooks]\ninitial_backoff_ms = 20\nmax_backoff_ms = 400\nmax_attempts = 100000\ntimeout_ms = 2000\n",
    ));
    let hook = cw.expect(
        "POST",
        "/v1/webhooks",
        Some(json!({"url": format!("http://127.0.0.1:{}/hook", rx.port), "secret": SECRET})),
        201,
    );
    let hook_id = hook["id"].as_str().expect("id").to_owned();
    // The first event (seq 1) comes after the webhook exists.
    cw.set_default_auto_answer(true);

    let sipp = SippCmd::uac(&cw.sip_addr().to_string())
        .calls(CALLS)
        .rate(100)
        .timeout(Duration::from_secs(60))
        .spawn();
    // Let some events through (after the 5 failures), then take the
    // receiver down while calls keep coming.
    common::wait_for("the first deliveries", Duration::from_secs(20), || {
        (rx.got().len() >= 20).then_some(())
    });
    rx.down();
    let delivered_before_outage = rx.got().len();
    // The calls complete while nobody receives the events.
    sipp.wait().assert_all_successful(u64::from(CALLS));
    let state = cw.expect("GET", "/v1/state", None, 200);
    let last_before_kill = state["seq"].as_u64().expect("seq");
    let v = cw.expect("GET", &format!("/v1/webhooks/{hook_id}"), None, 200);
    assert!(
        v["backlog"].as_u64().unwrap_or(0) > 0,
        "the outage left a backlog: {v}"
    );
    assert!(
        matches!(v["state"].as_str(), Some("retrying" | "delivering")),
        "{v}"
    );
    assert!(v["last_error"].is_string(), "{v}");

    // Crash mid-backlog, restart, receiver back.
    cw.kill9();
    cw.restart();
    rx.up();

    // A few more calls after the restart: their events follow the old ones.
    SippCmd::uac(&cw.sip_addr().to_string())
        .calls(10)
        .rate(10)
        .timeout(Duration::from_secs(30))
        .run()
        .assert_all_successful(10);
    let last = cw.expect("GET", "/v1/state", None, 200)["seq"]
        .as_u64()
        .expect("seq");
    assert!(
        last >= last_before_kill + 30,
        "{last} vs {last_before_kill}"
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let distinct: BTreeSet<u64> = rx.got().iter().map(|g| g.0).collect();
        if distinct.len() as u64 >= last {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the receiver has {} of {last} events",
            distinct.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let got = rx.got();
    assert!(got.iter().all(|g| g.2), "every signature is valid");
    // Every seq 1..=last, and first arrivals in increasing order.
    let mut seen = BTreeSet::new();
    let mut firsts = Vec::new();
    for (seq, _, _) in &got {
        if seen.insert(*seq) {
            firsts.push(*seq);
        }
    }
    assert_eq!(firsts, (1..=last).collect::<Vec<_>>(), "in order, no gap");
    // A redelivered event keeps its webhook-id.
    for (seq, id, _) in &got {
        let first = got.iter().find(|g| g.0 == *seq).map(|g| &g.1);
        assert_eq!(first, Some(id), "seq {seq} kept its id");
    }
    let v = cw.expect("GET", &format!("/v1/webhooks/{hook_id}"), None, 200);
    assert_eq!(v["failed_deliveries"], 0, "{v}");
    eprintln!(
        "{last} events delivered ({} requests, {} duplicates after the kill); \
         {delivered_before_outage} before the outage",
        got.len(),
        got.len() as u64 - last
    );
}
