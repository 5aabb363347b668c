//! Reopening a store: directory creation, data surviving close and reopen
//! (a no-op second migration), clones, the meta table, URLs and open errors.

#[macro_use]
mod common;

use callwire_store::{Backend, Store, StoreError, DB_FILE_NAME};
use common::{call, full_account, minimal_account, TestDb};

async fn data_survives_close_and_reopen(db: TestDb) {
    let store = db.open().await;
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
    let store = db.open().await;
    assert_eq!(store.get_account("alice").await.unwrap().unwrap(), account);
    assert_eq!(store.list_accounts().await.unwrap().len(), 2);
    assert_eq!(store.get_call_record("c1").await.unwrap().unwrap(), record);
    assert_eq!(
        store.get_meta("schema_note").await.unwrap().as_deref(),
        Some("v1")
    );
    store.close().await;
}

async fn clones_share_one_database(db: TestDb) {
    let store = db.open().await;
    let other = store.clone();
    other.insert_account(&minimal_account("x")).await.unwrap();
    assert!(store.get_account("x").await.unwrap().is_some());
    // A second pool on the same database sees it too.
    let second = db.open().await;
    assert!(second.get_account("x").await.unwrap().is_some());
    second.close().await;
    store.close().await;
}

async fn meta_set_get_overwrite(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.get_meta("k").await.unwrap(), None);
    store.set_meta("k", "one").await.unwrap();
    store.set_meta("other", "x").await.unwrap();
    store.set_meta("k", "two").await.unwrap();
    assert_eq!(store.get_meta("k").await.unwrap().as_deref(), Some("two"));
    assert_eq!(store.get_meta("other").await.unwrap().as_deref(), Some("x"));
    store.close().await;
}

async fn backend_matches_the_url(db: TestDb) {
    let store = db.open().await;
    let expected = if db.url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    assert_eq!(store.backend(), expected);
    store.close().await;
}

both_backends!(db:
    data_survives_close_and_reopen,
    clones_share_one_database,
    meta_set_get_overwrite,
    backend_matches_the_url,
);

#[tokio::test]
async fn open_creates_the_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("data");
    let store = Store::open(&dir).await.unwrap();
    assert!(dir.join(DB_FILE_NAME).is_file());
    store.insert_account(&minimal_account("a")).await.unwrap();
    store.close().await;
    // The same file through a URL.
    let url = format!("sqlite://{}", dir.join(DB_FILE_NAME).display());
    let store = Store::connect(&url).await.unwrap();
    assert!(store.get_account("a").await.unwrap().is_some());
    store.close().await;
}

#[tokio::test]
async fn memory_stores_are_independent() {
    let a = Store::open_memory().await.unwrap();
    let b = Store::connect("sqlite::memory:").await.unwrap();
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

#[tokio::test]
async fn unsupported_urls_are_refused_without_echoing_them() {
    for url in [
        "mysql://root:hunter2@localhost/db",
        "hunter2",
        "sqlite:x.db?key=hunter2",
    ] {
        let err = Store::connect(url).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
    }
}

#[tokio::test]
async fn wrong_postgres_password_is_an_error_without_the_password() {
    if common::pg::skipped() {
        return;
    }
    let url = TestDb::postgres()
        .url
        .replace(common::pg::PASSWORD, "not-the-password");
    let err = Store::connect(&url).await.unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    assert!(
        !format!("{err} {err:?}").contains("not-the-password"),
        "{err:?}"
    );
}
