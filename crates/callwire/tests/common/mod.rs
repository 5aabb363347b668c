//! Test harness for callwire's interop tests: starts the real `callwire`
//! binary on free loopback ports and talks to it over HTTP and SIP, and
//! drives real peers (SIPp, Kamailio) next to it.
//!
//! Every wait has a timeout and every spawned process is killed on drop, so
//! a broken service makes a test fail with the service's log, never hang.
//! A missing peer binary is a failure, not a skip: `scripts/test` installs
//! the peers.

#![allow(dead_code)]

pub mod baresip;
pub mod kamailio;
pub mod media;
pub mod netns;
pub mod sip;
pub mod sipp;

use std::collections::HashSet;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Bearer token every test instance of callwire is started with.
pub const API_TOKEN: &str = "test-token";

/// Root of the workspace (the folder holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tests/sipp/<name>`: a SIPp scenario file of this repository.
pub fn sipp_scenario(name: &str) -> PathBuf {
    let path = workspace_root().join("tests/sipp").join(name);
    assert!(
        path.is_file(),
        "SIPp scenario {} is missing",
        path.display()
    );
    path
}

/// `../shared/conformance/<sub>` beside the project root.
pub fn conformance_dir(sub: &str) -> PathBuf {
    let path = workspace_root().join("../shared/conformance").join(sub);
    assert!(
        path.is_dir(),
        "conformance data {} is missing (shared/ must sit beside the project root)",
        path.display()
    );
    path
}

/// Full path of an external tool (sipp, kamailio, kamcmd, unshare, ...).
///
/// Searches `PATH`, then the sbin folders a non-root `PATH` often lacks.
/// Panics when the tool is missing: tests never pass by skipping a peer.
pub fn require_tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in ["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/bin"] {
        dirs.push(PathBuf::from(extra));
    }
    for dir in dirs {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "required peer binary `{name}` was not found in PATH or the sbin folders{}; \
         run ./scripts/test, which installs sip-tester (sipp), kamailio (kamailio, kamcmd), \
         baresip-core and iproute2",
        if std::env::var_os("CI").is_some() {
            " (CI run)"
        } else {
            ""
        }
    );
}

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A loopback port that is free for both UDP and TCP right now and was not
/// handed out before in this process.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind a TCP port");
        let port = tcp.local_addr().expect("local addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if guard.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
    panic!("no free loopback port found for UDP and TCP");
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `timeout`.
/// Panics with `what` when the time is up.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a socket of this network namespace is bound to `port` on any
/// address: `proto` "udp" (any state) or "tcp" (listening). Reads
/// `/proc/net/*` so that probing never steals the port from the process
/// being waited for.
pub fn port_bound(proto: &str, port: u16) -> bool {
    let want = format!(":{port:04X}");
    [format!("/proc/net/{proto}"), format!("/proc/net/{proto}6")]
        .iter()
        .any(|file| {
            let Ok(text) = fs::read_to_string(file) else {
                return false;
            };
            text.lines().skip(1).any(|line| {
                let cols: Vec<&str> = line.split_whitespace().collect();
                let local_matches = cols.get(1).is_some_and(|a| a.ends_with(&want));
                let listening = proto != "tcp" || cols.get(3) == Some(&"0A");
                local_matches && listening
            })
        })
}

/// Waits until something has bound `port` (UDP) in this namespace.
pub fn wait_udp_port_bound(port: u16, timeout: Duration) {
    wait_for(
        &format!("a process to bind UDP port {port}"),
        timeout,
        || port_bound("udp", port).then_some(()),
    );
}

/// Last `max_lines` lines of a text file (lossy UTF-8), for failure output.
pub fn tail_file(path: &Path, max_lines: usize) -> String {
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return format!("<cannot read {}: {e}>", path.display()),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    let _ = file.seek(SeekFrom::Start(start));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(max_lines);
    lines[from..].join("\n")
}

/// Sends SIGTERM (via `kill`, the crate forbids unsafe code), waits up to
/// `grace`, then SIGKILLs. Returns once the child is reaped.
pub fn terminate(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Like [`terminate`] for a child that leads its own process group
/// (`process_group(0)`): signals the whole group.
pub fn terminate_group(child: &mut Child, grace: Duration) {
    let group = format!("-{}", child.id());
    let signal = |sig: &str| {
        let _ = Command::new("kill")
            .args([sig, "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    };
    signal("-TERM");
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    signal("-KILL");
    let _ = child.wait();
}

/// Runs `cmd` to completion with piped output, killing it after `timeout`.
/// Returns (status, stdout, stderr).
pub fn run_with_timeout(
    mut cmd: Command,
    timeout: Duration,
) -> Result<(std::process::ExitStatus, String, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let err_reader = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{cmd:?} did not finish within {timeout:?}"));
            }
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Ok((status, stdout, stderr))
}

/// Options for [`Callwire::start`].
#[derive(Debug, Clone, Default)]
pub struct CallwireOpts {
    /// Extra TOML written into the config file (top-level keys first, then
    /// tables). An `[rtp]` table with a per-instance port range is appended
    /// unless this text has one.
    pub toml: String,
    /// Extra environment variables for the service.
    pub env: Vec<(String, String)>,
    /// IP address the SIP and HTTP sockets bind (default 127.0.0.1).
    pub bind_ip: Option<String>,
    /// Extra `callwire serve` arguments, after the harness's own.
    pub args: Vec<String>,
}

impl CallwireOpts {
    pub fn with_toml(toml: &str) -> Self {
        Self {
            toml: toml.to_string(),
            ..Self::default()
        }
    }
}

/// A running `callwire serve` process with its own data dir and ports.
///
/// When a test panics while it holds one, dropping it prints the tail of the
/// service's log, so panic messages need not include it.
pub struct Callwire {
    child: Child,
    dir: TempDir,
    bin: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log_path: PathBuf,
    client: reqwest::blocking::Client,
    /// HTTP base URL, e.g. `http://127.0.0.1:41234`.
    pub http: String,
    /// SIP port (UDP and TCP) on 127.0.0.1.
    pub sip_port: u16,
    /// IP the SIP port is bound to.
    pub sip_ip: String,
}

impl Callwire {
    /// Starts the binary and waits (20 s at most) until `GET /v1/health`
    /// answers 200. Panics with the service's log when it does not.
    pub fn start(opts: CallwireOpts) -> Callwire {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_callwire"));
        assert!(
            bin.is_file(),
            "callwire binary {} is missing",
            bin.display()
        );
        let dir = tempfile::Builder::new()
            .prefix("callwire-test-")
            .tempdir()
            .expect("create temp dir");
        let ip = opts
            .bind_ip
            .clone()
            .unwrap_or_else(|| "127.0.0.1".to_string());
        let http_port = free_port();
        let sip_port = free_port();
        let data_dir = dir.path().join("data");
        fs::create_dir_all(&data_dir).expect("create data dir");

        let mut toml = opts.toml.clone();
        if !toml.contains("[rtp]") {
            // One RTP range per instance, so parallel tests never fight for ports.
            let start = 20_000 + u32::from(sip_port % 50) * 200;
            toml.push_str(&format!(
                "\n[rtp]\nport_start = {start}\nport_count = 200\n"
            ));
        }
        let config_path = dir.path().join("callwire.toml");
        fs::write(&config_path, &toml).expect("write config");

        let log_path = dir.path().join("callwire.log");
        let http_addr = format!("{ip}:{http_port}");
        let sip_addr = format!("{ip}:{sip_port}");
        let args: Vec<String> = vec![
            "serve".into(),
            "--config".into(),
            config_path.display().to_string(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--http".into(),
            http_addr.clone(),
            "--sip".into(),
            sip_addr.clone(),
        ];
        let args = [args, opts.args.clone()].concat();
        let child = spawn_service(&bin, &args, &opts.env, &log_path);
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let mut cw = Callwire {
            child,
            dir,
            bin,
            args,
            env: opts.env.clone(),
            log_path,
            client,
            http: format!("http://{http_addr}"),
            sip_port,
            sip_ip: ip,
        };
        cw.wait_healthy(Duration::from_secs(20));
        cw
    }

    /// Sends SIGTERM and waits up to `within` for the process to exit; returns
    /// its exit status and how long it took. Panics (with the log) on a timeout.
    pub fn sigterm(&mut self, within: Duration) -> (std::process::ExitStatus, Duration) {
        let pid = self.child.id().to_string();
        let started = Instant::now();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid} failed");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status, started.elapsed());
            }
            if started.elapsed() > within {
                panic!("callwire did not exit within {within:?} of SIGTERM; its log follows");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process with SIGKILL (no chance to save anything) and reaps it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the service again with the same data dir, config and ports (after
    /// it stopped), and waits until it is healthy.
    pub fn restart(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            terminate(&mut self.child, Duration::from_secs(5));
        }
        self.child = spawn_service(&self.bin, &self.args, &self.env, &self.log_path);
        self.wait_healthy(Duration::from_secs(20));
    }

    fn wait_healthy(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let url = format!("{}/v1/health", self.http);
        let mut last: String;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("callwire exited ({status}) before GET /v1/health answered 200 (its log follows)");
            }
            match self.client.get(&url).timeout(Duration::from_secs(2)).send() {
                Ok(resp) if resp.status().as_u16() == 200 => return,
                Ok(resp) => last = format!("HTTP {}", resp.status()),
                Err(e) => last = format!("{e}"),
            }
            if Instant::now() >= deadline {
                panic!(
                    "callwire did not answer GET /v1/health with 200 within {timeout:?} \
                     (last: {last}; its log follows)"
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// `127.0.0.1:<sip_port>` as a socket address.
    pub fn sip_addr(&self) -> SocketAddr {
        format!("{}:{}", self.sip_ip, self.sip_port)
            .parse()
            .expect("sip addr")
    }

    /// The test's temporary directory (holds data dir, config and log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Path of the service's log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Panics (with the log) if the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("callwire is no longer running ({status}); its log follows");
        }
    }

    fn request(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}{}", self.http, path);
        let mut req = self
            .client
            .request(method.clone(), &url)
            .bearer_auth(API_TOKEN);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.request(reqwest::Method::GET, path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::POST, path, Some(&body))
    }

    pub fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::PATCH, path, Some(&body))
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        self.request(reqwest::Method::DELETE, path, None)
    }

    /// Like [`Self::get`] etc. but asserts the status and returns the body.
    pub fn expect(&self, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
        let (got, value) = match method {
            "GET" => self.get(path),
            "POST" => self.post(path, body.unwrap_or(Value::Null)),
            "PATCH" => self.patch(path, body.unwrap_or(Value::Null)),
            "DELETE" => self.delete(path),
            other => panic!("unsupported method {other}"),
        };
        assert_eq!(
            got, status,
            "{method} {path}: expected HTTP {status}, got {got}: {value}"
        );
        value
    }

    /// `PATCH /v1/accounts/default {"auto_answer": on}`.
    pub fn set_default_auto_answer(&self, on: bool) {
        let account = self.expect(
            "PATCH",
            "/v1/accounts/default",
            Some(serde_json::json!({ "auto_answer": on })),
            200,
        );
        assert_eq!(
            account["auto_answer"],
            Value::Bool(on),
            "PATCH result: {account}"
        );
    }

    /// `GET /v1/calls/{id}` (must answer 200).
    pub fn call(&self, id: &str) -> Value {
        self.expect("GET", &format!("/v1/calls/{id}"), None, 200)
    }

    /// `GET /v1/calls?limit=N` (must answer 200 with an array).
    pub fn calls(&self, limit: u32) -> Vec<Value> {
        let v = self.expect("GET", &format!("/v1/calls?limit={limit}"), None, 200);
        match v {
            Value::Array(items) => items,
            other => panic!("GET /v1/calls did not return an array: {other}"),
        }
    }

    /// Polls the call until its `state` is `state`; returns the call.
    pub fn wait_call_state(&self, id: &str, state: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            last = self.call(id);
            if last["state"] == state {
                return last;
            }
            if last["state"] == "terminated" && state != "terminated" {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("call {id} did not reach state {state:?} within {timeout:?}; last: {last}");
    }

    /// `GET /v1/accounts/{id}` (must answer 200).
    pub fn account(&self, id: &str) -> Value {
        self.expect("GET", &format!("/v1/accounts/{id}"), None, 200)
    }

    /// Polls the account until `registration.state` is `state`.
    pub fn wait_registration_state(&self, id: &str, state: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            last = self.account(id);
            if last["registration"]["state"] == state {
                return last;
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "account {id}: registration did not reach {state:?} within {timeout:?}; last: {last}"
        );
    }

    /// `GET /v1/health` must answer 200 with `"status": "ok"`.
    pub fn assert_healthy(&self) -> Value {
        let url = format!("{}/v1/health", self.http);
        let resp = self
            .client
            .get(&url)
            .send()
            .unwrap_or_else(|e| panic!("GET /v1/health failed: {e}"));
        let status = resp.status().as_u16();
        let body: Value = resp.json().unwrap_or(Value::Null);
        assert_eq!(status, 200, "GET /v1/health: {body}");
        assert_eq!(body["status"], "ok", "GET /v1/health: {body}");
        body
    }

    /// Last lines of the service's log.
    pub fn log_tail(&self) -> String {
        tail_file(&self.log_path, 80)
    }
}

impl Drop for Callwire {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(5));
        if thread::panicking() {
            eprintln!(
                "--- callwire log tail ({}) ---\n{}\n--- end of callwire log ---",
                self.log_path.display(),
                tail_file(&self.log_path, 120)
            );
        }
    }
}

/// Spawns `callwire` with its output appended to `log_path`.
fn spawn_service(bin: &Path, args: &[String], env: &[(String, String)], log_path: &Path) -> Child {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .expect("open log file");
    let log_err = log.try_clone().expect("clone log file");
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env("CALLWIRE_API_TOKEN", API_TOKEN)
        .env("RUST_LOG", "info")
        .env_remove("CALLWIRE_CONFIG")
        .env_remove("CALLWIRE_DATA_DIR")
        .env_remove("CALLWIRE_HTTP")
        .env_remove("CALLWIRE_SIP")
        .env_remove("CALLWIRE_DATABASE")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", bin.display()))
}

/// Seeded xorshift64* generator for reproducible hostile input.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish value in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}
