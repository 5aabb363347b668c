//! DTMF configurations and triggers: upsert, list, delete, restart.

#[macro_use]
mod common;

use callwire_store::{DtmfConfigurationRecord, DtmfTriggerRecord, Store};
use common::at;

async fn configurations_and_triggers_round_trip(store: Store) {
    let mut c = DtmfConfigurationRecord {
        id: "door".into(),
        name: "Door".into(),
        sequences: r##"[{"sequence":"#1234#","name":"OpenDoor"}]"##.into(),
        created_at: at(0),
        updated_at: at(0),
    };
    store.upsert_dtmf_configuration(&c).await.unwrap();
    c.name = "Front door".into();
    c.updated_at = at(5);
    store.upsert_dtmf_configuration(&c).await.unwrap();
    assert_eq!(store.list_dtmf_configurations().await.unwrap(), [c.clone()]);
    let t = DtmfTriggerRecord {
        id: "t1".into(),
        configuration_id: "door".into(),
        account_id: "default".into(),
        created_at: at(1),
    };
    store.upsert_dtmf_trigger(&t).await.unwrap();
    assert_eq!(store.list_dtmf_triggers().await.unwrap(), [t]);
    store.delete_dtmf_trigger("t1").await.unwrap();
    store.delete_dtmf_trigger("t1").await.unwrap();
    store.delete_dtmf_configuration("door").await.unwrap();
    assert!(store.list_dtmf_triggers().await.unwrap().is_empty());
    assert!(store.list_dtmf_configurations().await.unwrap().is_empty());
}

both_backends!(configurations_and_triggers_round_trip,);
