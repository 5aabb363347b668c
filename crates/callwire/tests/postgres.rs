//! callwire on PostgreSQL: `callwire serve --database postgres://...` migrates
//! a fresh database, keeps what the API creates across a restart, writes no
//! SQLite file, and never logs the URL's password.
//!
//! The server is the store tests' throwaway cluster (one per test process,
//! stopped and deleted when the process exits).

mod common;
#[path = "../../store/tests/common/pg.rs"]
mod pg;

use std::time::Duration;

use common::{Callwire, CallwireOpts};
use serde_json::json;

#[test]
fn accounts_survive_a_restart_on_postgres() {
    if pg::skipped() {
        return;
    }
    let url = pg::new_database();
    let mut cw = Callwire::start(CallwireOpts {
        args: vec!["--database".into(), url],
        ..CallwireOpts::default()
    });
    let created = cw.expect(
        "POST",
        "/v1/accounts",
        Some(json!({
            "id": "alice",
            "display_name": "Alice Ä. O'Hara",
            "user": "1001",
            "domain": "example.com",
            "password": "sip-secret",
            "transport": "tcp",
            "expires": 120,
            "auto_answer": true,
            "enabled": false,
            "max_calls": 3,
            "codecs": ["G722", "PCMU"],
            "dtmf_mode": "info"
        })),
        201,
    );
    assert_eq!(created["has_password"], true, "{created}");

    let (status, elapsed) = cw.sigterm(Duration::from_secs(10));
    assert!(status.success(), "exit {status} after {elapsed:?}");
    cw.restart();

    let (status, alice) = cw.get("/v1/accounts/alice");
    assert_eq!(status, 200, "{alice}");
    for field in [
        "display_name",
        "user",
        "domain",
        "transport",
        "expires",
        "auto_answer",
        "enabled",
        "max_calls",
        "codecs",
        "dtmf_mode",
        "has_password",
    ] {
        assert_eq!(
            alice[field], created[field],
            "{field} after restart: {alice}"
        );
    }
    let (status, all) = cw.get("/v1/accounts");
    assert_eq!(status, 200, "{all}");
    let mut ids: Vec<&str> = all
        .as_array()
        .expect("account list")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["alice", "default"]);

    // The data went to PostgreSQL, not to a SQLite file in the data dir.
    let data_dir = cw.dir().join("data");
    assert!(
        !data_dir.join("callwire.db").exists(),
        "a SQLite database was created in {}",
        data_dir.display()
    );
    let log = std::fs::read_to_string(cw.log_path()).expect("read the log");
    assert!(
        log.contains("backend=\"postgres\"") || log.contains("backend=postgres"),
        "no PostgreSQL store in the log:\n{log}"
    );
    assert!(
        !log.contains(pg::PASSWORD),
        "the database password leaked into the log"
    );
}

#[test]
fn a_wrong_database_password_stops_the_start_without_echoing_it() {
    if pg::skipped() {
        return;
    }
    let url = pg::new_database().replace(pg::PASSWORD, "wrong-db-password");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_callwire"));
    cmd.args(["serve", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("CALLWIRE_DATABASE", &url)
        .env("CALLWIRE_API_TOKEN", "t")
        .env_remove("CALLWIRE_CONFIG")
        .env_remove("CALLWIRE_DATA_DIR");
    let (status, stdout, stderr) =
        common::run_with_timeout(cmd, Duration::from_secs(30)).expect("run callwire");
    assert!(!status.success(), "callwire started with a wrong password");
    let text = format!("{stdout}{stderr}");
    assert!(text.contains("cannot open the store"), "{text}");
    assert!(!text.contains("wrong-db-password"), "{text}");
}
