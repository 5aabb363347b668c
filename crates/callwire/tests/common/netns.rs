//! Runs one test of the current test binary inside a fresh network
//! namespace that has only loopback (`unshare -n`), so hostile traffic and
//! fixed ports (5060, ...) touch nothing outside the test.
//!
//! The outer test calls [`run_in_netns`] with the name of an `#[ignore]`d
//! inner test; the inner test starts with [`assert_inside`], which fails
//! when it is run any other way. Works the same under `cargo test` and
//! `cargo nextest`, since both build the same libtest binary.

use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{require_tool, terminate_group};

/// Set (to "1") in the environment of the re-executed inner test.
pub const NETNS_ENV: &str = "CALLWIRE_IN_NETNS";

fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Network interfaces visible to this process (`/proc/self/net/dev`).
pub fn interfaces() -> Vec<String> {
    fs::read_to_string("/proc/self/net/dev")
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(|n| n.trim().to_string()))
        .filter(|n| !n.is_empty())
        .collect()
}

/// Re-runs the test `inner` of this test binary under `unshare -n` with
/// loopback up, streams its output, and asserts it ran exactly one test and
/// passed. Kills it after `timeout`.
pub fn run_in_netns(inner: &str, timeout: Duration) {
    let unshare = require_tool("unshare");
    let ip = require_tool("ip");
    let exe = std::env::current_exe().expect("current test binary");
    let mut cmd = Command::new(&unshare);
    if !running_as_root() {
        // Unprivileged: a user namespace mapping us to root inside.
        cmd.arg("-r");
    }
    cmd.args(["-n", "--", "sh", "-c"])
        .arg(format!(
            "'{}' link set lo up && exec \"$0\" \"$@\"",
            ip.display()
        ))
        .arg(&exe)
        .args([
            inner,
            "--exact",
            "--nocapture",
            "--include-ignored",
            "--test-threads=1",
        ])
        .env(NETNS_ENV, "1")
        // Own process group, so a timeout also stops the services the inner
        // test started.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", unshare.display()));
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_thread = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let err_thread = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            timed_out = true;
            terminate_group(&mut child, Duration::from_secs(3));
            break child.try_wait().ok().flatten();
        }
        thread::sleep(Duration::from_millis(50));
    };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    // Shown with the outer test's output (on failure, or with --nocapture).
    println!("--- inner test {inner} (in network namespace) stdout ---\n{stdout}");
    eprintln!("--- inner test {inner} stderr ---\n{stderr}");
    assert!(
        !timed_out,
        "inner test {inner} did not finish within {timeout:?}"
    );
    let status = status.expect("inner test status");
    assert!(
        status.success(),
        "inner test {inner} failed in the network namespace ({status}); its output is above"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "inner test {inner} did not run exactly one test (wrong name?); its output is above"
    );
}

/// Fails unless this process was started by [`run_in_netns`] and sees only
/// the loopback interface.
pub fn assert_inside() {
    assert_eq!(
        std::env::var(NETNS_ENV).as_deref(),
        Ok("1"),
        "this test only runs inside a network namespace; it is started by its outer test"
    );
    let ifaces = interfaces();
    assert_eq!(
        ifaces,
        vec!["lo".to_string()],
        "expected a namespace with only loopback, saw {ifaces:?}"
    );
}
