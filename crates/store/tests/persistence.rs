//! File-backed store: directory creation, data surviving close and reopen,
//! meta table, open errors.

mod common;

use callwire_store::{Store, StoreError, DB_FILE_NAME};
use common::{call, full_account, minimal_account};

#[tokio::test]
async fn data_survives_close_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("data");

    let store = Store::open(&dir).await.unwrap();
    assert!(dir.join(DB_FILE_NAME).is_file());
    let account = full_account("alice");
    let mut record = call("c1", 3);
    record.sip_status = Some(200);
    store.insert_account(&account).await.unwrap();
    store
        .insert_account(&minimal_account("default"))
        .await
        .unwrap();
    store.upsert_call_record(&record).await.unwrap();
    store.set_meta("schema_note", "v1").await.unwrap();
    store.close().await;
    assert!(
        store.get_account("alice").await.is_err(),
        "closed store must refuse work"
    );

    // Reopening re-runs the migrator, which must be a no-op.
    let store = Store::open(&dir).await.unwrap();
    assert_eq!(store.get_account("alice").await.unwrap().unwrap(), account);
    assert_eq!(store.list_accounts().await.unwrap().len(), 2);
    assert_eq!(store.get_call_record("c1").await.unwrap().unwrap(), record);
    assert_eq!(
        store.get_meta("schema_note").await.unwrap().as_deref(),
        Some("v1")
    );
    store.close().await;
}

#[tokio::test]
async fn clones_share_one_database() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).await.unwrap();
    let other = store.clone();
    other.insert_account(&minimal_account("x")).await.unwrap();
    assert!(store.get_account("x").await.unwrap().is_some());
    store.close().await;
}

#[tokio::test]
async fn meta_set_get_overwrite() {
    let store = Store::open_memory().await.unwrap();
    assert_eq!(store.get_meta("k").await.unwrap(), None);
    store.set_meta("k", "one").await.unwrap();
    store.set_meta("other", "x").await.unwrap();
    store.set_meta("k", "two").await.unwrap();
    assert_eq!(store.get_meta("k").await.unwrap().as_deref(), Some("two"));
    assert_eq!(store.get_meta("other").await.unwrap().as_deref(), Some("x"));
}

#[tokio::test]
async fn memory_stores_are_independent() {
    let a = Store::open_memory().await.unwrap();
    let b = Store::open_memory().await.unwrap();
    a.insert_account(&minimal_account("only-in-a"))
        .await
        .unwrap();
    assert!(b.get_account("only-in-a").await.unwrap().is_none());
}

#[tokio::test]
async fn data_dir_that_is_a_file_is_io_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = Store::open(&file).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Io { path, .. } if *path == file),
        "{err:?}"
    );
}
