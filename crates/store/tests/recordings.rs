//! Recording metadata: upsert, get, list with filters and paging, the
//! unfinished list a restart uses, delete.

#[macro_use]
mod common;

use callwire_store::{Store, StoreError};
use common::{at, recording};

async fn upsert_get_and_update(store: Store) {
    let mut r = recording("r1", "c1", 0);
    store.upsert_recording(&r).await.unwrap();
    assert_eq!(store.get_recording("r1").await.unwrap(), Some(r.clone()));
    r.state = "finished".into();
    r.duration_ms = 61_020;
    r.bytes = 976_364;
    r.ended_at = Some(at(61));
    store.upsert_recording(&r).await.unwrap();
    assert_eq!(store.get_recording("r1").await.unwrap(), Some(r));
    assert_eq!(store.get_recording("nope").await.unwrap(), None);
}

async fn list_newest_first_with_call_filter_and_paging(store: Store) {
    for (i, call) in ["c1", "c2", "c1", "c3"].iter().enumerate() {
        let r = recording(&format!("r{i}"), call, i as i64);
        store.upsert_recording(&r).await.unwrap();
    }
    let all = store.list_recordings(10, None, None).await.unwrap();
    let ids: Vec<_> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r3", "r2", "r1", "r0"]);
    let c1 = store.list_recordings(10, Some("c1"), None).await.unwrap();
    let ids: Vec<_> = c1.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r2", "r0"]);
    let page = store.list_recordings(2, None, Some(at(2))).await.unwrap();
    let ids: Vec<_> = page.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r1", "r0"]);
    let none = store.list_recordings(10, Some("c9"), None).await.unwrap();
    assert!(none.is_empty());
}

async fn unfinished_lists_recording_and_paused_only(store: Store) {
    let mut a = recording("a", "c", 0);
    let mut b = recording("b", "c", 1);
    let c = recording("c", "c", 2);
    a.state = "finished".into();
    b.state = "paused".into();
    for r in [&a, &b, &c] {
        store.upsert_recording(r).await.unwrap();
    }
    let ids: Vec<_> = store
        .unfinished_recordings()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["b", "c"]);
}

async fn delete_then_not_found(store: Store) {
    store
        .upsert_recording(&recording("r", "c", 0))
        .await
        .unwrap();
    store.delete_recording("r").await.unwrap();
    assert_eq!(store.get_recording("r").await.unwrap(), None);
    let err = store.delete_recording("r").await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                entity: "recording",
                ..
            }
        ),
        "{err:?}"
    );
}

both_backends!(
    upsert_get_and_update,
    list_newest_first_with_call_filter_and_paging,
    unfinished_lists_recording_and_paused_only,
    delete_then_not_found,
);
