//! The event log: append in order, read after a seq, range, pruning by count
//! and age, duplicates ignored.

#[macro_use]
mod common;

use callwire_store::{EventRecord, Store};
use common::at;

fn event(seq: u64, secs: i64) -> EventRecord {
    EventRecord {
        seq,
        id: format!("ev-{seq}"),
        kind: "call.created".into(),
        at: at(secs),
        account: Some("default".into()),
        call_id: Some(format!("c{}", seq % 3)),
        data: format!("{{\"n\":{seq}}}"),
    }
}

async fn events_are_read_back_in_order_after_a_seq(store: Store) {
    assert_eq!(store.event_seq_range().await.unwrap(), None);
    let batch: Vec<_> = (1..=10).map(|s| event(s, s as i64)).collect();
    store.insert_events(&batch).await.unwrap();
    // A replayed batch changes nothing.
    store.insert_events(&batch[3..5]).await.unwrap();
    assert_eq!(store.event_seq_range().await.unwrap(), Some((1, 10)));
    let after = store.events_after(4, 100).await.unwrap();
    let seqs: Vec<u64> = after.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (5..=10).collect::<Vec<_>>());
    assert_eq!(after[0], batch[4]);
    let page = store.events_after(0, 3).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(store.events_after(10, 10).await.unwrap().is_empty());
}

async fn pruning_keeps_the_newest_by_count_and_age(store: Store) {
    let batch: Vec<_> = (1..=10).map(|s| event(s, s as i64 * 10)).collect();
    store.insert_events(&batch).await.unwrap();
    // Keep 6 by count: 1-4 go.
    assert_eq!(store.prune_events(6, at(0), None).await.unwrap(), 4);
    assert_eq!(store.event_seq_range().await.unwrap(), Some((5, 10)));
    // By age: everything before t=75 s goes (5, 6, 7).
    assert_eq!(store.prune_events(100, at(75), None).await.unwrap(), 3);
    assert_eq!(store.event_seq_range().await.unwrap(), Some((8, 10)));
}

async fn pruning_spares_events_above_the_floor(store: Store) {
    let batch: Vec<_> = (1..=10).map(|s| event(s, s as i64 * 10)).collect();
    store.insert_events(&batch).await.unwrap();
    // Count and age would both remove 1-8, but a webhook is done only with 3.
    assert_eq!(store.prune_events(2, at(85), Some(3)).await.unwrap(), 3);
    assert_eq!(store.event_seq_range().await.unwrap(), Some((4, 10)));
}

both_backends!(
    events_are_read_back_in_order_after_a_seq,
    pruning_keeps_the_newest_by_count_and_age,
    pruning_spares_events_above_the_floor,
);
