//! `/v1/call-records`: filters, cursor pagination, validation.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, Api};

const SILENT: &str = "sip:nobody@127.0.0.1:9";

async fn place_and_hang_up(api: &Api) -> String {
    let r = api
        .json(Method::POST, "/v1/calls", &json!({"to": SILENT}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = api
        .call(Method::POST, &format!("/v1/calls/{id}/hangup"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    id
}

/// Records reach the store through a batched writer: wait until `n` are there.
async fn records(api: &Api, query: &str, n: usize) -> Value {
    for _ in 0..100 {
        let r = api.get(&format!("/v1/call-records?{query}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let v = r.json();
        if v["records"].as_array().map_or(0, Vec::len) >= n {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} records for {query}");
}

#[tokio::test]
async fn records_are_filtered_and_paged() {
    let api = Api::start().await;
    let first = place_and_hang_up(&api).await;
    let second = place_and_hang_up(&api).await;
    let all = records(&api, "", 2).await;
    let ids: Vec<&str> = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str(), first.as_str()], "newest first");
    assert_eq!(all["next_cursor"], Value::Null);
    let rec = &all["records"][0];
    assert_eq!(rec["direction"], "outgoing");
    assert!(rec["recordings"].as_array().is_some_and(Vec::is_empty));

    let page1 = records(&api, "limit=1", 1).await;
    assert_eq!(page1["records"][0]["id"], second.as_str());
    let cursor = page1["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let page2 = records(&api, &format!("limit=1&cursor={cursor}"), 1).await;
    assert_eq!(page2["records"][0]["id"], first.as_str());

    for (q, n) in [
        ("direction=outgoing", 2),
        ("direction=incoming", 0),
        ("account=default", 2),
        ("account=nobody", 0),
        ("from=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z", 2),
        ("until=2000-01-01T00:00:00Z", 0),
    ] {
        let r = api.get(&format!("/v1/call-records?{q}")).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text());
        assert_eq!(r.json()["records"].as_array().unwrap().len(), n, "{q}");
    }
}

#[tokio::test]
async fn bad_record_queries_are_refused() {
    let api = Api::start().await;
    for q in [
        "limit=0",
        "limit=1001",
        "direction=sideways",
        "state=exploded",
        "reason=Bored",
        "from=yesterday",
        "cursor=nope",
        "cursor=12.",
        "bogus=1",
    ] {
        let r = api.get(&format!("/v1/call-records?{q}")).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "bad_request");
    }
}
