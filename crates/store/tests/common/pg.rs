//! A throwaway PostgreSQL server for tests: one private cluster per test
//! process (initdb into a temp dir, started on a free 127.0.0.1 port with its
//! unix socket in that dir), a fresh database per test. The first initdb is
//! kept as a template in cargo's target tmp dir and copied by later test
//! processes (cargo-nextest runs each test in its own process).
//!
//! The cluster lives as long as the test process: a watchdog shell holds the
//! read end of a pipe whose write end this process never closes, so when the
//! process exits (normally, by panic or killed) the watchdog sees EOF, stops
//! the server and deletes the directory. A `static` is never dropped in Rust;
//! this is how the server still goes away with the process.
//!
//! PostgreSQL refuses to run as root: when the tests run as root (CI), initdb
//! and the server run as the `postgres` user (created by Debian's package)
//! through `runuser`, and the directory is handed to that user.
//!
//! Missing PostgreSQL is a failure. Outside CI, `CALLWIRE_SKIP_POSTGRES=1`
//! skips the PostgreSQL half of the tests instead (with a note on stderr);
//! with `CI` set that variable is ignored.
//!
//! Shared, via `#[path]`, by the store's tests and the binary's
//! (crates/callwire/tests/postgres.rs); it needs only std and tempfile.

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// Password of the cluster's `postgres` user over TCP (the socket trusts).
pub const PASSWORD: &str = "callwire-test-secret";

/// Environment variable that, outside CI, skips PostgreSQL tests.
pub const SKIP_VAR: &str = "CALLWIRE_SKIP_POSTGRES";

/// The running cluster of this process.
pub struct Server {
    /// TCP port on 127.0.0.1 (also the socket's port number).
    pub port: u16,
    /// Holds the cluster directory (socket, `data/`, `server.log`).
    dir: PathBuf,
    bin: PathBuf,
    /// Write end of the watchdog's pipe; never closed before process exit.
    _watchdog: Mutex<ChildStdin>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(1);

/// Whether PostgreSQL tests are skipped (outside CI, on request).
pub fn skipped() -> bool {
    let skip = std::env::var_os(SKIP_VAR).is_some_and(|v| !v.is_empty() && v != "0");
    if skip && std::env::var_os("CI").is_none() {
        eprintln!("note: {SKIP_VAR} is set: PostgreSQL test skipped");
        return true;
    }
    false
}

/// The process's cluster, started on first use. Panics with the reason
/// when PostgreSQL is missing or does not start.
pub fn server() -> &'static Server {
    match SERVER.get_or_init(Server::start) {
        Ok(server) => server,
        Err(why) => panic!(
            "cannot run a PostgreSQL server for the tests: {why}\n\
             Install Debian's `postgresql` package (./scripts/test does), or outside CI \
             set {SKIP_VAR}=1 to skip the PostgreSQL tests."
        ),
    }
}

/// URL of a new, empty database on this process's cluster (user `postgres`
/// with [`PASSWORD`], over TCP on 127.0.0.1).
pub fn new_database() -> String {
    let server = server();
    let name = format!("test_{}", NEXT_DB.fetch_add(1, Ordering::Relaxed));
    server.psql(&format!("CREATE DATABASE {name}"));
    format!(
        "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{name}",
        server.port
    )
}

impl Server {
    fn start() -> Result<Server, String> {
        let bin = bin_dir().ok_or(
            "PostgreSQL's server programs (initdb, pg_ctl, psql) were found neither in \
             /usr/lib/postgresql/<version>/bin nor in PATH",
        )?;
        let dir = tempfile::Builder::new()
            .prefix("callwire-pg-")
            .tempdir()
            .map_err(|e| format!("cannot create a temp dir: {e}"))?
            .keep();
        let as_root = std::fs::metadata(&dir)
            .map_err(|e| format!("cannot stat {}: {e}", dir.display()))?
            .uid()
            == 0;
        // From here on the watchdog owns the directory: it is deleted when
        // this process exits, whatever happens next.
        let watchdog = spawn_watchdog(&dir, &bin, as_root)?;
        if as_root {
            run(Command::new("chown").arg("postgres:").arg(&dir))?;
        }
        let data = dir.join("data");
        if !from_template(&bin, &data, as_root) {
            initdb(&bin, &dir, as_root)?;
            save_template(&bin, &data, as_root);
        }
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k '{}' -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                dir.display()
            );
            let started = run(as_user(as_root, &bin.join("pg_ctl"))
                .arg("--pgdata")
                .arg(dir.join("data"))
                .arg("--log")
                .arg(dir.join("server.log"))
                .args(["--wait", "--timeout=60", "--options", &options, "start"]));
            match started {
                Ok(()) => {
                    return Ok(Server {
                        port,
                        dir,
                        bin,
                        _watchdog: Mutex::new(watchdog),
                    })
                }
                // Most likely the port was taken meanwhile: try another.
                Err(e) => last = e,
            }
        }
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        Err(format!("pg_ctl start failed: {last}\nserver log:\n{log}"))
    }

    /// Runs `sql` as `postgres` over the unix socket; panics on failure.
    pub fn psql(&self, sql: &str) {
        let result = run(Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .arg("-h")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-c", sql]));
        if let Err(e) = result {
            panic!("psql `{sql}` failed: {e}");
        }
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }
}

/// A new cluster in `dir/data`: `postgres` with [`PASSWORD`] over TCP, trusted
/// on the socket, and a non-C default collation (ICU en-US, as a production
/// database usually has) so that the schema's `COLLATE "C"` is what makes
/// ordering bytewise.
fn initdb(bin: &Path, dir: &Path, as_root: bool) -> Result<(), String> {
    let pwfile = dir.join("pwfile");
    std::fs::write(&pwfile, PASSWORD).map_err(|e| format!("cannot write pwfile: {e}"))?;
    if as_root {
        run(Command::new("chown").arg("postgres:").arg(&pwfile))?;
    }
    run(as_user(as_root, &bin.join("initdb"))
        .arg("--pgdata")
        .arg(dir.join("data"))
        // 1 MB WAL segments instead of 16: less to copy from the template.
        .args([
            "--username=postgres",
            "--encoding=UTF8",
            "--no-sync",
            "--wal-segsize=1",
        ])
        .args([
            "--locale-provider=icu",
            "--icu-locale=en-US",
            "--locale=C.UTF-8",
        ])
        .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
        .arg(format!("--pwfile={}", pwfile.display())))
}

/// Where a fresh, never-started cluster is kept for the next test process
/// (cargo's per-target temp dir; cargo-nextest runs every test in its own
/// process, and copying 40 MB is several times faster than initdb). Named
/// by PostgreSQL version, owner and the options [`initdb`] uses.
fn template_path(bin: &Path, as_root: bool) -> Option<PathBuf> {
    /// Bump when [`initdb`]'s options change.
    const REVISION: u32 = 2;
    let tmp = option_env!("CARGO_TARGET_TMPDIR")?;
    let out = Command::new(bin.join("initdb"))
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    // "initdb (PostgreSQL) 15.18"
    let text = String::from_utf8_lossy(&out.stdout);
    let version: String = text
        .split_whitespace()
        .last()?
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    let owner = if as_root { "postgres" } else { "user" };
    Some(Path::new(tmp).join(format!("pg-template-{version}-{owner}-r{REVISION}")))
}

/// Copies the saved template cluster to `data`; false when there is none
/// (or it cannot be copied), and `data` is then absent.
fn from_template(bin: &Path, data: &Path, as_root: bool) -> bool {
    let Some(template) = template_path(bin, as_root).filter(|t| t.join("PG_VERSION").is_file())
    else {
        return false;
    };
    // `cp -a` keeps modes (the data dir must be 0700) and, as root, the
    // `postgres` owner.
    if run(Command::new("cp").arg("-a").arg(&template).arg(data)).is_ok() {
        return true;
    }
    let _ = std::fs::remove_dir_all(data);
    false
}

/// Saves the never-started cluster `data` as the template, best effort:
/// copied under a private name, then renamed, so readers never see half a
/// copy and concurrent first runs cannot clash.
fn save_template(bin: &Path, data: &Path, as_root: bool) {
    let Some(template) = template_path(bin, as_root) else {
        return;
    };
    let _ = std::fs::create_dir_all(template.parent().unwrap_or(Path::new("/")));
    let mut staging = template.clone().into_os_string();
    staging.push(format!(".tmp{}", std::process::id()));
    let staging = PathBuf::from(staging);
    if run(Command::new("cp").arg("-a").arg(data).arg(&staging)).is_err()
        || std::fs::rename(&staging, &template).is_err()
    {
        let _ = std::fs::remove_dir_all(&staging);
    }
}

/// Debian's newest `/usr/lib/postgresql/<version>/bin`, else the folder of
/// `initdb` in PATH.
fn bin_dir() -> Option<PathBuf> {
    let complete = |d: &Path| {
        ["initdb", "pg_ctl", "psql"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, d)| complete(d))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|d| complete(d))
}

/// `program`, run as the `postgres` user when this process is root.
fn as_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Runs `cmd` to completion (these commands finish on their own: pg_ctl
/// waits at most its --timeout); its output is returned in the error.
fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{:?} {:?} exited with {}: {}{}",
        cmd.get_program(),
        cmd.get_args().collect::<Vec<_>>(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// A shell that waits for EOF on its stdin, then stops the cluster in `dir`
/// (if it runs) and deletes `dir`.
fn spawn_watchdog(dir: &Path, bin: &Path, as_root: bool) -> Result<ChildStdin, String> {
    let script = r#"cat >/dev/null
if [ -f "$1/data/postmaster.pid" ]; then
    if [ "$3" = root ]; then
        runuser -u postgres -- "$2/pg_ctl" --pgdata "$1/data" --mode=immediate --wait --timeout=30 stop
    else
        "$2/pg_ctl" --pgdata "$1/data" --mode=immediate --wait --timeout=30 stop
    fi
fi
rm -rf "$1""#;
    let mut child = Command::new("sh")
        .args(["-c", script, "callwire-pg-watchdog"])
        .arg(dir)
        .arg(bin)
        .arg(if as_root { "root" } else { "user" })
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot spawn the cleanup watchdog: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("the watchdog has no stdin pipe")?;
    // Nothing is ever written; a flush proves the pipe is there.
    stdin.flush().map_err(|e| format!("watchdog pipe: {e}"))?;
    Ok(stdin)
}

fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind a port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}
