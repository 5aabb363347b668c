//! `/v1/events` (SSE with replay) and `/v1/state`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::support::{assert_error, Api};

/// Reads SSE messages (`id`, `event`, parsed `data`) until `n` arrived.
async fn read_sse(body: &mut Body, n: usize) -> Vec<(Option<u64>, String, Value)> {
    let mut buf = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("an SSE message within 5 s")
            .expect("the stream is open")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            buf.push_str(&String::from_utf8_lossy(&data));
        }
        while let Some(end) = buf.find("\n\n") {
            let msg: String = buf.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), String::new());
            for line in msg.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if event.is_empty() && data.is_empty() {
                continue; // keep-alive comment
            }
            out.push((
                id,
                event,
                serde_json::from_str(&data).unwrap_or(Value::Null),
            ));
        }
    }
    out
}

async fn add_account(api: &Api, id: &str) {
    let r = api
        .json(
            Method::POST,
            "/v1/accounts",
            &json!({"id": id, "user": id, "domain": "127.0.0.1"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

fn sse_request(path: &str) -> axum::http::request::Builder {
    Api::authed(Method::GET, path)
}

#[tokio::test]
async fn state_snapshot_then_replay_then_live_without_gap() {
    let api = Api::start().await;
    for id in ["a1", "a2", "a3"] {
        add_account(&api, id).await;
    }
    let state = api.get("/v1/state").await;
    assert_eq!(state.status, StatusCode::OK, "{}", state.text());
    let state = state.json();
    assert_eq!(state["seq"], 3, "{state}");
    assert_eq!(state["accounts"].as_array().unwrap().len(), 4);
    assert_eq!(state["calls"], json!([]));

    // Replay from seq 1: events 2 and 3 from the past, then 4 live.
    let resp = api
        .open(
            sse_request("/v1/events?since=1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = resp.into_body();
    let past = read_sse(&mut body, 2).await;
    assert_eq!(
        past.iter().map(|m| m.0).collect::<Vec<_>>(),
        [Some(2), Some(3)]
    );
    assert!(past.iter().all(|m| m.1 == "account.created"));
    assert_eq!(past[0].2["data"]["id"], "a2");
    assert_eq!(past[0].2["seq"], 2);
    assert!(past[0].2["id"].as_str().is_some_and(|s| s.len() == 36));
    add_account(&api, "a4").await;
    let live = read_sse(&mut body, 1).await;
    assert_eq!(live[0].0, Some(4));
    assert_eq!(live[0].2["data"]["id"], "a4");
    assert_eq!(live[0].2["account"], "a4");
}

#[tokio::test]
async fn last_event_id_resumes_and_filters_apply() {
    let api = Api::start().await;
    for id in ["b1", "b2"] {
        add_account(&api, id).await;
    }
    let r = api
        .json(
            Method::PATCH,
            "/v1/accounts/b1",
            &json!({"display_name": "B One"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let resp = api
        .open(
            sse_request("/v1/events?types=account.updated,call.*")
                .header("Last-Event-ID", "0")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let got = read_sse(&mut body, 1).await;
    assert_eq!(got[0].0, Some(3), "the creations are filtered out");
    assert_eq!(got[0].1, "account.updated");
    assert_eq!(got[0].2["data"]["display_name"], "B One");

    let resp = api
        .open(
            sse_request("/v1/events?since=0&account=b2")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let mut body = resp.into_body();
    let got = read_sse(&mut body, 1).await;
    assert_eq!(
        (got[0].0, got[0].2["account"].clone()),
        (Some(2), json!("b2"))
    );
}

#[tokio::test]
async fn bad_event_requests_are_refused() {
    let api = Api::start().await;
    add_account(&api, "c1").await;
    for q in ["since=99", "since=-1", "since=x", "bogus=1"] {
        let r = api.get(&format!("/v1/events?{q}")).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
    let r = api
        .send(
            sse_request("/v1/events")
                .header("Last-Event-ID", "not-a-seq")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    let r = api
        .send(
            axum::http::Request::builder()
                .uri("/v1/events")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn websocket_replays_then_goes_live() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    let api = Api::start().await;
    for id in ["w1", "w2"] {
        add_account(&api, id).await;
    }
    let addr = api.serve().await;
    let mut req = format!("ws://{addr}/v1/events/ws?since=0&types=account.*")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", crate::support::TOKEN).parse().unwrap(),
    );
    let (mut ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("upgrade");
    assert_eq!(resp.status(), 101);
    async fn next<S>(ws: &mut S) -> Value
    where
        S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
            + Unpin,
    {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .expect("a message within 5 s")
                .expect("open")
                .expect("a frame");
            if let Message::Text(t) = msg {
                return serde_json::from_str::<Value>(&t).unwrap();
            }
        }
    }
    let first = next(&mut ws).await;
    assert_eq!(
        (first["seq"].clone(), first["type"].clone()),
        (json!(1), json!("account.created"))
    );
    assert_eq!(next(&mut ws).await["seq"], 2);
    add_account(&api, "w3").await;
    let live = next(&mut ws).await;
    assert_eq!(live["seq"], 3);
    assert_eq!(live["data"]["id"], "w3");

    // Without the token the upgrade is refused with the API's 401.
    let err = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/events/ws"))
        .await
        .expect_err("no token");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(r) => assert_eq!(r.status(), 401),
        other => panic!("{other:?}"),
    }
}
