//! Account CRUD, on both backends.

#[macro_use]
mod common;

use callwire_store::{Backend, Store, StoreError};
use common::{at, full_account, minimal_account};

async fn insert_and_get_round_trip_all_fields(store: Store) {
    let full = full_account("alice");
    let minimal = minimal_account("default");
    store.insert_account(&full).await.unwrap();
    store.insert_account(&minimal).await.unwrap();

    let got = store.get_account("alice").await.unwrap().unwrap();
    assert_eq!(got, full);
    assert_eq!(
        got.password.as_deref(),
        Some("p4ss'; DROP TABLE accounts;--")
    );
    assert_eq!(
        store.get_account("default").await.unwrap().unwrap(),
        minimal
    );
    assert_eq!(store.get_account("nobody").await.unwrap(), None);
}

async fn list_is_ordered_by_id(store: Store) {
    assert!(
        store.list_accounts().await.unwrap().is_empty(),
        "migration seeds nothing"
    );
    for id in ["zed", "alice", "default", "Bob", "a-b", "ab", "a_b"] {
        store.insert_account(&minimal_account(id)).await.unwrap();
    }
    let ids: Vec<String> = store
        .list_accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    // Byte order on both backends, whatever the database's locale (a
    // linguistic collation would put "Bob" after "alice" and ignore the
    // punctuation in "a-b"/"a_b").
    assert_eq!(ids, ["Bob", "a-b", "a_b", "ab", "alice", "default", "zed"]);
}

async fn duplicate_insert_is_conflict_and_leaves_original(store: Store) {
    let original = minimal_account("alice");
    store.insert_account(&original).await.unwrap();

    let dup = full_account("alice");
    let err = store.insert_account(&dup).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { entity: "account", id } if id == "alice"),
        "{err:?}"
    );
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("DROP TABLE"),
        "password leaked into error: {text}"
    );
    assert_eq!(store.get_account("alice").await.unwrap().unwrap(), original);
}

async fn update_replaces_fields_but_keeps_created_at(store: Store) {
    let original = full_account("alice");
    store.insert_account(&original).await.unwrap();

    let mut changed = minimal_account("alice");
    changed.password = Some("new-secret".into());
    changed.expires = 60;
    changed.created_at = at(999);
    changed.updated_at = at(1000);
    store.update_account(&changed).await.unwrap();

    let got = store.get_account("alice").await.unwrap().unwrap();
    assert_eq!(
        got.created_at, original.created_at,
        "created_at must not change"
    );
    assert_eq!(got.updated_at, at(1000));
    assert_eq!(got.display_name, None, "Some -> None must persist");
    assert_eq!(got.registrar, None);
    assert_eq!(got.max_calls, None);
    assert_eq!(got.password.as_deref(), Some("new-secret"));
    assert_eq!(got.expires, 60);
    assert_eq!(got.transport, "udp");
    assert!(!got.auto_answer);
    assert!(got.enabled);
    assert_eq!(got.user, "alice");
    assert_eq!(got.domain, "example.com");
}

async fn update_and_delete_of_missing_account_are_not_found(store: Store) {
    let err = store
        .update_account(&full_account("ghost"))
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::NotFound { entity: "account", id } if id == "ghost"));
    assert!(!format!("{err} {err:?}").contains("DROP TABLE"));
    assert!(
        store.get_account("ghost").await.unwrap().is_none(),
        "update must not insert"
    );

    let err = store.delete_account("ghost").await.unwrap_err();
    assert!(matches!(&err, StoreError::NotFound { entity: "account", id } if id == "ghost"));
}

async fn delete_removes_only_that_account(store: Store) {
    store.insert_account(&minimal_account("a")).await.unwrap();
    store.insert_account(&minimal_account("b")).await.unwrap();
    store.delete_account("a").await.unwrap();
    assert!(store.get_account("a").await.unwrap().is_none());
    assert!(store.get_account("b").await.unwrap().is_some());
    assert!(matches!(
        store.delete_account("a").await,
        Err(StoreError::NotFound { .. })
    ));
    // The id is free again.
    store.insert_account(&minimal_account("a")).await.unwrap();
}

/// PostgreSQL text cannot hold NUL (SQLite's can): such a value is an
/// error there, never a panic, and nothing is half-written.
async fn text_with_nul_is_refused_by_postgres_only(store: Store) {
    let mut account = minimal_account("nul");
    account.display_name = Some("a\0b".into());
    let result = store.insert_account(&account).await;
    match store.backend() {
        Backend::Postgres => {
            assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
            assert_eq!(store.get_account("nul").await.unwrap(), None);
        }
        _ => {
            result.unwrap();
            assert_eq!(store.get_account("nul").await.unwrap().unwrap(), account);
        }
    }
}

both_backends!(
    text_with_nul_is_refused_by_postgres_only,
    insert_and_get_round_trip_all_fields,
    list_is_ordered_by_id,
    duplicate_insert_is_conflict_and_leaves_original,
    update_replaces_fields_but_keeps_created_at,
    update_and_delete_of_missing_account_are_not_found,
    delete_removes_only_that_account,
);
