//! Call record upsert, listing, paging and pruning, on both backends.

#[macro_use]
mod common;

use callwire_store::{Store, MAX_LIST_LIMIT};
use chrono::Duration;
use common::{at, call};

fn ids(records: &[callwire_store::CallRecord]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

async fn upsert_inserts_then_replaces(store: Store) {
    let mut rec = call("c1", 0);
    store.upsert_call_record(&rec).await.unwrap();
    assert_eq!(store.get_call_record("c1").await.unwrap().unwrap(), rec);

    rec.direction = "incoming".into();
    rec.state = "ended".into();
    rec.reason = "remote-hangup".into();
    rec.sip_status = Some(486);
    rec.sip_reason = Some("Busy Here".into());
    rec.call_id = Some("a84b4c76e66710@pc33.example.com".into());
    rec.answered_at = Some(at(2) + Duration::microseconds(7));
    rec.ended_at = Some(at(30));
    store.upsert_call_record(&rec).await.unwrap();

    assert_eq!(store.get_call_record("c1").await.unwrap().unwrap(), rec);
    assert_eq!(
        store.list_call_records(10, None).await.unwrap().len(),
        1,
        "no duplicate row"
    );
    assert_eq!(store.get_call_record("c2").await.unwrap(), None);

    // Fields can go back to NULL.
    let reset = call("c1", 0);
    store.upsert_call_record(&reset).await.unwrap();
    assert_eq!(store.get_call_record("c1").await.unwrap().unwrap(), reset);
}

async fn list_is_newest_first_with_id_tiebreak(store: Store) {
    // Inserted out of order; b and c share a timestamp.
    for (id, secs) in [("b", 5), ("a", 1), ("d", 9), ("c", 5)] {
        store.upsert_call_record(&call(id, secs)).await.unwrap();
    }
    let all = store.list_call_records(10, None).await.unwrap();
    assert_eq!(ids(&all), ["d", "c", "b", "a"]);
    assert_eq!(
        ids(&store.list_call_records(2, None).await.unwrap()),
        ["d", "c"]
    );
    assert!(store.list_call_records(0, None).await.unwrap().is_empty());
}

async fn pagination_with_before(store: Store) {
    for i in 0..7 {
        store
            .upsert_call_record(&call(&format!("c{i}"), i))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store.list_call_records(3, before).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        before = page.last().map(|r| r.created_at);
        seen.extend(page.into_iter().map(|r| r.id));
    }
    assert_eq!(seen, ["c6", "c5", "c4", "c3", "c2", "c1", "c0"]);

    // `before` is exclusive and compares instants, including sub-second ones.
    let page = store.list_call_records(10, Some(at(3))).await.unwrap();
    assert_eq!(ids(&page), ["c2", "c1", "c0"]);
    let page = store
        .list_call_records(10, Some(at(3) + Duration::microseconds(1)))
        .await
        .unwrap();
    assert_eq!(ids(&page), ["c3", "c2", "c1", "c0"]);
}

async fn list_limit_is_capped(store: Store) {
    let n = i64::from(MAX_LIST_LIMIT) + 5;
    for i in 0..n {
        store
            .upsert_call_record(&call(&format!("c{i:05}"), i))
            .await
            .unwrap();
    }
    let page = store.list_call_records(u32::MAX, None).await.unwrap();
    assert_eq!(page.len(), MAX_LIST_LIMIT as usize);
    assert_eq!(page[0].id, format!("c{:05}", n - 1));
}

async fn prune_keeps_the_newest(store: Store) {
    for (id, secs) in [
        ("old", 1),
        ("new", 50),
        ("mid", 20),
        ("older", 0),
        ("newer", 40),
    ] {
        store.upsert_call_record(&call(id, secs)).await.unwrap();
    }
    assert_eq!(store.prune_call_records(10).await.unwrap(), 0);
    assert_eq!(store.prune_call_records(3).await.unwrap(), 2);
    let left = store.list_call_records(10, None).await.unwrap();
    assert_eq!(ids(&left), ["new", "newer", "mid"]);
    assert!(store.get_call_record("old").await.unwrap().is_none());

    assert_eq!(store.prune_call_records(0).await.unwrap(), 3);
    assert!(store.list_call_records(10, None).await.unwrap().is_empty());
}

async fn batch_upsert_applies_in_order_in_one_transaction(store: Store) {
    let first = call("b1", 0);
    let mut later = call("b1", 0);
    later.state = "terminated".into();
    later.ended_at = Some(at(9));
    let other = call("b2", 1);
    store
        .upsert_call_records(&[first, other.clone(), later.clone()])
        .await
        .unwrap();
    assert_eq!(
        store.get_call_record("b1").await.unwrap().unwrap(),
        later,
        "the later record for an id wins"
    );
    assert_eq!(store.get_call_record("b2").await.unwrap().unwrap(), other);
    store.upsert_call_records(&[]).await.unwrap();
    assert_eq!(store.list_call_records(10, None).await.unwrap().len(), 2);
}

async fn media_stats_survive_later_upserts_without_them(store: Store) {
    let mut rec = call("m", 0);
    rec.codec = Some("PCMA".into());
    store.upsert_call_record(&rec).await.unwrap();
    store
        .set_call_media_stats("m", r#"{"packets_sent":50}"#)
        .await
        .unwrap();
    // The engine saves the record again (call ended) without statistics.
    rec.state = "terminated".into();
    store.upsert_call_record(&rec).await.unwrap();
    let got = store.get_call_record("m").await.unwrap().unwrap();
    assert_eq!(got.media_stats.as_deref(), Some(r#"{"packets_sent":50}"#));
    assert_eq!(got.codec.as_deref(), Some("PCMA"));
    assert_eq!(got.state, "terminated");
    // Statistics for a call with no record change nothing and are no error.
    store.set_call_media_stats("none", "{}").await.unwrap();
    assert_eq!(store.get_call_record("none").await.unwrap(), None);
}

async fn a_batch_keeps_the_last_record_of_each_id(store: Store) {
    let mut batch = Vec::new();
    for i in 0..130 {
        let mut r = call(&format!("b{}", i % 50), i);
        r.state = format!("s{i}");
        batch.push(r);
    }
    store.upsert_call_records(&batch).await.unwrap();
    let all = store.list_call_records(1000, None).await.unwrap();
    assert_eq!(all.len(), 50);
    for r in &all {
        let n: i64 = r.id[1..].parse().unwrap();
        let last = (0..130).filter(|i| i % 50 == n).max().unwrap();
        assert_eq!(r.state, format!("s{last}"), "{r:?}");
    }
}

async fn query_filters_and_pages_without_skipping_ties(store: Store) {
    let mut batch = Vec::new();
    for i in 0..30i64 {
        // Pairs share a timestamp: paging must not skip or repeat them.
        let mut r = call(&format!("q{i:02}"), i / 2);
        r.account = if i % 3 == 0 { "a".into() } else { "b".into() };
        r.direction = if i % 2 == 0 {
            "incoming".into()
        } else {
            "outgoing".into()
        };
        r.reason = if i % 5 == 0 {
            "Busy".into()
        } else {
            "Terminated".into()
        };
        batch.push(r);
    }
    store.upsert_call_records(&batch).await.unwrap();
    let q = callwire_store::CallRecordQuery::default();
    let mut seen = Vec::new();
    let mut page_q = q.clone();
    loop {
        let page = store.query_call_records(&page_q, 7).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        page_q.after = Some((last.created_at, last.id.clone()));
        seen.extend(page.into_iter().map(|r| r.id));
    }
    let mut want: Vec<String> = (0..30).map(|i| format!("q{i:02}")).collect();
    want.reverse();
    assert_eq!(seen, want, "newest first, ties by id, each once");

    let busy_in_a = callwire_store::CallRecordQuery {
        account: Some("a".into()),
        reason: Some("Busy".into()),
        ..Default::default()
    };
    let got = store.query_call_records(&busy_in_a, 100).await.unwrap();
    assert_eq!(ids(&got), ["q15", "q00"]);
    let window = callwire_store::CallRecordQuery {
        direction: Some("outgoing".into()),
        from: Some(at(3)),
        until: Some(at(5)),
        ..Default::default()
    };
    let got = store.query_call_records(&window, 100).await.unwrap();
    assert_eq!(ids(&got), ["q09", "q07"]);
}

both_backends!(
    upsert_inserts_then_replaces,
    list_is_newest_first_with_id_tiebreak,
    pagination_with_before,
    list_limit_is_capped,
    prune_keeps_the_newest,
    batch_upsert_applies_in_order_in_one_transaction,
    media_stats_survive_later_upserts_without_them,
    a_batch_keeps_the_last_record_of_each_id,
    query_filters_and_pages_without_skipping_ties,
);
