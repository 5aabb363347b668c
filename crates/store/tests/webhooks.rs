//! Webhooks (settings, cursor), parked deliveries and API tokens: round
//! trips, cursor updates that settings changes keep, deletes that take the
//! deliveries along.

#[macro_use]
mod common;

use callwire_store::{ApiTokenRecord, Store, StoreError, WebhookDeliveryRecord, WebhookRecord};
use common::at;

fn webhook(id: &str) -> WebhookRecord {
    WebhookRecord {
        id: id.into(),
        url: "http://127.0.0.1:9/hook".into(),
        types: r#"["call.*"]"#.into(),
        secret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=".into(),
        enabled: true,
        description: Some("crm".into()),
        delivered_seq: 42,
        created_at: at(0),
        updated_at: at(0),
    }
}

fn delivery(id: &str, webhook: &str, seq: u64) -> WebhookDeliveryRecord {
    WebhookDeliveryRecord {
        id: id.into(),
        webhook_id: webhook.into(),
        event_seq: seq,
        event_id: format!("ev-{seq}"),
        event_type: "call.ended".into(),
        payload: format!(r#"{{"seq":{seq}}}"#),
        state: "failed".into(),
        attempts: 10,
        last_status: Some(503),
        last_error: Some("HTTP 503".into()),
        created_at: at(seq as i64),
        updated_at: at(seq as i64),
    }
}

async fn webhook_settings_and_cursor_round_trip(store: Store) {
    let mut w = webhook("w1");
    store.upsert_webhook(&w).await.unwrap();
    assert_eq!(store.list_webhooks().await.unwrap(), vec![w.clone()]);

    store.set_webhook_cursor("w1", 99).await.unwrap();
    // A settings change keeps the cursor and the creation time.
    w.url = "https://example.test/h".into();
    w.enabled = false;
    w.delivered_seq = 0;
    w.created_at = at(50);
    w.updated_at = at(60);
    store.upsert_webhook(&w).await.unwrap();
    let got = store.list_webhooks().await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].delivered_seq, 99);
    assert_eq!(got[0].created_at, at(0));
    assert_eq!(got[0].updated_at, at(60));
    assert_eq!(got[0].url, "https://example.test/h");
    assert!(!got[0].enabled);
    assert!(!format!("{:?}", got[0]).contains("c2VjcmV0"));
}

async fn deliveries_page_newest_first_and_go_with_their_webhook(store: Store) {
    store.upsert_webhook(&webhook("w1")).await.unwrap();
    store.upsert_webhook(&webhook("w2")).await.unwrap();
    for seq in 1..=5 {
        store
            .upsert_webhook_delivery(&delivery(&format!("d{seq}"), "w1", seq))
            .await
            .unwrap();
    }
    store
        .upsert_webhook_delivery(&delivery("x", "w2", 3))
        .await
        .unwrap();
    let page = store.list_webhook_deliveries("w1", None, 2).await.unwrap();
    assert_eq!(page.iter().map(|d| d.event_seq).collect::<Vec<_>>(), [5, 4]);
    let next = store
        .list_webhook_deliveries("w1", Some(4), 10)
        .await
        .unwrap();
    assert_eq!(
        next.iter().map(|d| d.event_seq).collect::<Vec<_>>(),
        [3, 2, 1]
    );

    // A redelivery updates state and attempts only.
    let mut d = delivery("d2", "w1", 2);
    d.state = "delivered".into();
    d.attempts = 11;
    d.last_status = Some(200);
    d.last_error = None;
    d.updated_at = at(100);
    d.payload = "changed".into();
    store.upsert_webhook_delivery(&d).await.unwrap();
    let got = store.get_webhook_delivery("d2").await.unwrap().unwrap();
    assert_eq!(got.state, "delivered");
    assert_eq!(got.attempts, 11);
    assert_eq!(got.last_status, Some(200));
    assert_eq!(got.payload, r#"{"seq":2}"#);
    let mut counts = store.count_failed_deliveries().await.unwrap();
    counts.sort();
    assert_eq!(counts, [("w1".to_owned(), 4), ("w2".to_owned(), 1)]);

    store.delete_webhook("w1").await.unwrap();
    assert!(store.get_webhook_delivery("d1").await.unwrap().is_none());
    assert!(store.get_webhook_delivery("x").await.unwrap().is_some());
    assert_eq!(store.list_webhooks().await.unwrap().len(), 1);
}

async fn tokens_round_trip_and_hashes_are_unique(store: Store) {
    let t = ApiTokenRecord {
        id: "t1".into(),
        name: "dashboard".into(),
        token_hash: "ab".repeat(32),
        scopes: "read".into(),
        created_at: at(1),
    };
    store.insert_api_token(&t).await.unwrap();
    let mut dup = t.clone();
    dup.id = "t2".into();
    assert!(matches!(
        store.insert_api_token(&dup).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.list_api_tokens().await.unwrap(), vec![t]);
    store.delete_api_token("t1").await.unwrap();
    assert!(matches!(
        store.delete_api_token("t1").await,
        Err(StoreError::NotFound { .. })
    ));
}

both_backends!(
    webhook_settings_and_cursor_round_trip,
    deliveries_page_newest_first_and_go_with_their_webhook,
    tokens_round_trip_and_hashes_are_unique,
);
