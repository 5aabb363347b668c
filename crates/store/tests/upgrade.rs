//! A SQLite database created before PostgreSQL support (schema v4, made by
//! the release's own code: tests/fixtures/schema-v4.db) opens with today's
//! code, keeps its data and is migrated to the newest schema.

mod common;

use callwire_store::{
    AccountRecord, DtmfConfigurationRecord, DtmfTriggerRecord, Store, DB_FILE_NAME,
};
use common::{at, call, full_account, minimal_account, recording};

#[tokio::test]
async fn a_schema_v4_database_opens_and_migrates() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema-v4.db");
    std::fs::copy(fixture, tmp.path().join(DB_FILE_NAME)).unwrap();

    let store = Store::open(tmp.path()).await.unwrap();
    // What the fixture was made with (see the builders in common/).
    // (Columns added after v4 come back empty.)
    assert_eq!(
        store.get_account("alice").await.unwrap().unwrap(),
        AccountRecord {
            policy: None,
            ..full_account("alice")
        }
    );
    assert_eq!(
        store.get_account("default").await.unwrap().unwrap(),
        minimal_account("default")
    );
    let mut c1 = call("c1", 3);
    c1.sip_status = Some(200);
    c1.media_stats = Some("{\"rx_packets\":50}".into());
    assert_eq!(store.get_call_record("c1").await.unwrap().unwrap(), c1);
    assert_eq!(
        store.get_recording("r1").await.unwrap().unwrap(),
        recording("r1", "c1", 4)
    );
    assert_eq!(store.event_seq_range().await.unwrap(), Some((1, 3)));
    assert_eq!(
        store.events_after(0, 10).await.unwrap()[2].data,
        "{\"n\":3}"
    );
    assert_eq!(
        store.list_dtmf_configurations().await.unwrap(),
        [DtmfConfigurationRecord {
            id: "door".into(),
            name: "Door".into(),
            sequences: r##"[{"sequence":"#1234#","name":"OpenDoor"}]"##.into(),
            created_at: at(0),
            updated_at: at(5),
        }]
    );
    assert_eq!(
        store.list_dtmf_triggers().await.unwrap(),
        [DtmfTriggerRecord {
            id: "t1".into(),
            configuration_id: "door".into(),
            account_id: "default".into(),
            created_at: at(1),
        }]
    );
    assert_eq!(
        store.get_meta("schema_note").await.unwrap().as_deref(),
        Some("v4")
    );
    // And it takes writes.
    store.upsert_call_record(&call("c2", 9)).await.unwrap();
    store.close().await;

    // Every migration of today's code is recorded as applied, successfully.
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite:{}",
        tmp.path().join(DB_FILE_NAME).display()
    ))
    .await
    .unwrap();
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count() as i64;
    assert_eq!(applied, (1..=files).collect::<Vec<_>>());
    pool.close().await;
}
