//! Shared by the integration tests: record builders, and the two backends
//! every store test runs against (`both_backends!`).
#![allow(dead_code)]

pub mod pg;

use callwire_store::{AccountRecord, CallRecord, RecordingRecord, Store};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// Instantiates each listed `async fn(Store)` twice: `sqlite::<name>` on a
/// fresh in-memory SQLite store and `postgres::<name>` on a fresh database of
/// the process's PostgreSQL cluster. With `db:` instead, each listed
/// `async fn(TestDb)` gets a database it can open, close and reopen (a SQLite
/// file in a temp dir, or a PostgreSQL database).
#[allow(unused_macros)]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(callwire_store::Store::open_memory().await.unwrap()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if crate::common::pg::skipped() {
                        return;
                    }
                    let db = crate::common::TestDb::postgres();
                    super::$name(db.open().await).await;
                }
            )*
        }
    };
    (db: $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(crate::common::TestDb::sqlite_file()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if crate::common::pg::skipped() {
                        return;
                    }
                    super::$name(crate::common::TestDb::postgres()).await;
                }
            )*
        }
    };
}

/// A database a test may open several times: a SQLite file in a temp dir
/// (deleted on drop) or a fresh PostgreSQL database.
pub struct TestDb {
    /// The URL [`Store::connect`] takes.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// `sqlite:<tmp>/data/callwire.db` (the directory does not exist yet).
    pub fn sqlite_file() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite:{}",
            dir.path().join("data").join("callwire.db").display()
        );
        TestDb {
            url,
            _dir: Some(dir),
        }
    }

    /// A new database on the process's PostgreSQL cluster.
    pub fn postgres() -> TestDb {
        TestDb {
            url: pg::new_database(),
            _dir: None,
        }
    }

    /// Connects (migrating) to the database.
    pub async fn open(&self) -> Store {
        Store::connect(&self.url).await.unwrap()
    }
}

/// A fixed instant plus `secs` seconds, so tests never read the clock.
pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + Duration::seconds(secs)
}

pub fn minimal_account(id: &str) -> AccountRecord {
    AccountRecord {
        id: id.into(),
        display_name: None,
        user: id.into(),
        domain: "example.com".into(),
        registrar: None,
        secondary_registrar: None,
        outbound_proxy: None,
        auth_user: None,
        password: None,
        transport: "udp".into(),
        expires: AccountRecord::DEFAULT_EXPIRES,
        auto_answer: false,
        enabled: true,
        max_calls: None,
        created_at: at(0),
        updated_at: at(0),
        codecs: None,
        dtmf_mode: None,
        policy: None,
    }
}

pub fn full_account(id: &str) -> AccountRecord {
    AccountRecord {
        id: id.into(),
        display_name: Some("Alice Ä. O'Hara".into()),
        user: "1001".into(),
        domain: "sip.example.org".into(),
        registrar: Some("sip:reg1.example.org:5060".into()),
        secondary_registrar: Some("sip:reg2.example.org".into()),
        outbound_proxy: Some("sip:proxy.example.org;lr".into()),
        auth_user: Some("auth-1001".into()),
        password: Some("p4ss'; DROP TABLE accounts;--".into()),
        transport: "tcp".into(),
        expires: 120,
        auto_answer: true,
        enabled: false,
        max_calls: Some(u32::MAX),
        created_at: at(10) + Duration::microseconds(123_456),
        updated_at: at(20) + Duration::microseconds(1),
        codecs: Some("G722,PCMU".into()),
        dtmf_mode: Some("info".into()),
        policy: Some(r#"{"deny":["*@evil.example"],"answer_delay_ms":500}"#.into()),
    }
}

pub fn call(id: &str, created_secs: i64) -> CallRecord {
    CallRecord {
        id: id.into(),
        account: "default".into(),
        direction: "outgoing".into(),
        from_uri: "sip:1001@example.com".into(),
        to_uri: "sip:2002@example.com".into(),
        state: "calling".into(),
        reason: "".into(),
        sip_status: None,
        sip_reason: None,
        call_id: None,
        created_at: at(created_secs),
        answered_at: None,
        ended_at: None,
        codec: None,
        media_stats: None,
    }
}

pub fn recording(id: &str, call_id: &str, started_secs: i64) -> RecordingRecord {
    RecordingRecord {
        id: id.into(),
        call_id: call_id.into(),
        account: "default".into(),
        state: "recording".into(),
        mode: "mixed".into(),
        file: format!("{id}.wav"),
        sample_rate: 8000,
        channels: 1,
        duration_ms: 0,
        bytes: 44,
        started_at: at(started_secs),
        ended_at: None,
    }
}
