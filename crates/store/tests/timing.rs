//! Write throughput of the two hot paths (the engine's store writer appends
//! events and upserts call records in batches), printed, not asserted:
//! `cargo test -p callwire-store --test timing -- --ignored --nocapture`.

mod common;

use std::time::{Duration, Instant};

use callwire_store::{CallRecord, EventRecord, Store};
use common::{at, call};

const BATCHES: usize = 100;
const BATCH: usize = 60;
const ROUNDS: usize = 10;

fn events(round: usize, batch: usize) -> Vec<EventRecord> {
    (0..BATCH)
        .map(|i| {
            let seq = ((round * BATCHES + batch) * BATCH + i + 1) as u64;
            EventRecord {
                seq,
                id: format!("00000000-0000-4000-8000-{seq:012}"),
                kind: "call.state".into(),
                at: at(seq as i64),
                account: Some("default".into()),
                call_id: Some(format!("call-{}", seq / 3)),
                data: format!(
                    "{{\"id\":\"call-{}\",\"state\":\"ringing\",\"from\":\"sip:1001@example.com\",\
                     \"to\":\"sip:2002@example.com\",\"seq\":{seq}}}",
                    seq / 3
                ),
            }
        })
        .collect()
}

/// A batch where every call appears twice (created, then answered): the
/// writer's usual shape, exercising the last-one-wins path and the upsert.
fn calls(round: usize, batch: usize) -> Vec<CallRecord> {
    let mut out = Vec::with_capacity(BATCH);
    for i in 0..BATCH / 2 {
        let n = (round * BATCHES + batch) * BATCH + i;
        let mut c = call(&format!("call-{n:08}"), n as i64);
        c.call_id = Some(format!("{n}@192.0.2.1"));
        out.push(c.clone());
        c.state = "answered".into();
        c.answered_at = Some(at(n as i64 + 1));
        c.codec = Some("PCMU".into());
        out.push(c);
    }
    out
}

async fn time_writes(label: &str, store: &Store) {
    let mut best_events = Duration::MAX;
    let mut best_calls = Duration::MAX;
    for round in 0..ROUNDS {
        let batches: Vec<_> = (0..BATCHES).map(|b| events(round, b)).collect();
        let started = Instant::now();
        for b in &batches {
            store.insert_events(b).await.unwrap();
        }
        best_events = best_events.min(started.elapsed());

        let batches: Vec<_> = (0..BATCHES).map(|b| calls(round, b)).collect();
        let started = Instant::now();
        for b in &batches {
            store.upsert_call_records(b).await.unwrap();
        }
        best_calls = best_calls.min(started.elapsed());
    }
    let rows = (BATCHES * BATCH) as f64;
    println!(
        "{label}: insert_events {BATCHES}x{BATCH}: best {:.1} ms ({:.2} µs/row); \
         upsert_call_records {BATCHES}x{BATCH}: best {:.1} ms ({:.2} µs/row)",
        best_events.as_secs_f64() * 1e3,
        best_events.as_secs_f64() * 1e6 / rows,
        best_calls.as_secs_f64() * 1e3,
        best_calls.as_secs_f64() * 1e6 / rows,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, run by hand with --nocapture"]
async fn write_timing_sqlite_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).await.unwrap();
    time_writes("sqlite (file, WAL)", &store).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, run by hand with --nocapture"]
async fn write_timing_postgres() {
    let db = common::TestDb::postgres();
    let store = db.open().await;
    time_writes("postgres (fsync off)", &store).await;
    store.close().await;
}
