//! SIPp runner: spawns `sipp` in the foreground (`-nostdin`) with its own
//! temp dir, a hard timeout and kill-on-drop, and reads the outcome from
//! SIPp's exit code and its own statistics file (`-trace_stat`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{free_port, port_bound, require_tool, tail_file, terminate};

/// SIP transport SIPp uses (`-t u1` / `-t t1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    fn sipp_flag(self) -> &'static str {
        match self {
            Transport::Udp => "u1",
            Transport::Tcp => "t1",
        }
    }
}

/// Builder for one SIPp run.
#[derive(Debug, Clone)]
pub struct SippCmd {
    scenario: Vec<String>,
    remote: Option<String>,
    port: Option<u16>,
    transport: Transport,
    calls: Option<u32>,
    rate: Option<u32>,
    extra: Vec<String>,
    timeout: Duration,
}

impl SippCmd {
    /// SIPp's built-in UAC (`-sn uac`) calling `remote` (`host:port`).
    pub fn uac(remote: &str) -> Self {
        Self::new(vec!["-sn".into(), "uac".into()], Some(remote.to_string()))
    }

    /// SIPp's built-in UAS (`-sn uas`).
    pub fn uas() -> Self {
        Self::new(vec!["-sn".into(), "uas".into()], None)
    }

    /// A scenario file (`-sf`), with `remote` for client scenarios.
    pub fn scenario(path: &Path, remote: Option<&str>) -> Self {
        Self::new(
            vec!["-sf".into(), path.display().to_string()],
            remote.map(str::to_string),
        )
    }

    fn new(scenario: Vec<String>, remote: Option<String>) -> Self {
        SippCmd {
            scenario,
            remote,
            port: None,
            transport: Transport::Udp,
            calls: None,
            rate: None,
            extra: Vec::new(),
            timeout: Duration::from_secs(60),
        }
    }

    /// Local SIP port (`-p`); a free one is picked when not set.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    pub fn transport(mut self, t: Transport) -> Self {
        self.transport = t;
        self
    }

    /// Stop after this many calls (`-m`).
    pub fn calls(mut self, n: u32) -> Self {
        self.calls = Some(n);
        self
    }

    /// New calls per second (`-r`).
    pub fn rate(mut self, cps: u32) -> Self {
        self.rate = Some(cps);
        self
    }

    /// Any other SIPp argument.
    pub fn arg(mut self, a: &str) -> Self {
        self.extra.push(a.to_string());
        self
    }

    /// Hard limit for the whole run; SIPp is killed after it.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Starts SIPp. For a server scenario, returns once it has bound its port.
    pub fn spawn(self) -> Sipp {
        let sipp = require_tool("sipp");
        let dir = tempfile::Builder::new()
            .prefix("sipp-")
            .tempdir()
            .expect("temp dir");
        let port = self.port.unwrap_or_else(free_port);
        let stat_path = dir.path().join("stat.csv");
        let err_path = dir.path().join("errors.log");
        let screen_path = dir.path().join("screen.log");
        let mut args: Vec<String> = self.scenario.clone();
        if let Some(r) = &self.remote {
            args.push(r.clone());
        }
        args.extend(
            [
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                self.transport.sipp_flag(),
                "-nostdin",
                "-trace_stat",
                "-stf",
                &stat_path.display().to_string(),
                "-fd",
                "1",
                "-trace_err",
                "-error_file",
                &err_path.display().to_string(),
            ]
            .map(String::from),
        );
        // Let SIPp stop by itself a little before the hard limit, so its
        // statistics are written.
        let soft = self
            .timeout
            .saturating_sub(Duration::from_secs(3))
            .as_secs()
            .max(1);
        args.extend([
            "-timeout".to_string(),
            format!("{soft}s"),
            "-timeout_error".to_string(),
        ]);
        if let Some(m) = self.calls {
            args.extend(["-m".to_string(), m.to_string()]);
        }
        if let Some(r) = self.rate {
            args.extend(["-r".to_string(), r.to_string()]);
        }
        args.extend(self.extra.iter().cloned());
        let screen = fs::File::create(&screen_path).expect("screen log");
        let screen_err = screen.try_clone().expect("clone");
        let child = Command::new(&sipp)
            .args(&args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(screen))
            .stderr(Stdio::from(screen_err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", sipp.display()));
        let mut run = Sipp {
            child: Some(child),
            dir,
            port,
            args,
            started: Instant::now(),
            timeout: self.timeout,
            stat_path,
            err_path,
            screen_path,
        };
        if self.remote.is_none() {
            // Server scenario: do not let the peer send before SIPp listens.
            let proto = match self.transport {
                Transport::Udp => "udp",
                Transport::Tcp => "tcp",
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while !port_bound(proto, port) {
                if let Some(Ok(Some(status))) = run.child.as_mut().map(|c| c.try_wait()) {
                    panic!(
                        "sipp exited ({status}) right after start: {}\n{}",
                        run.args.join(" "),
                        tail_file(&run.screen_path, 30)
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "sipp did not bind {proto} port {port} within 10 s\n{}",
                    tail_file(&run.screen_path, 30)
                );
                thread::sleep(Duration::from_millis(20));
            }
        }
        run
    }

    /// Spawns SIPp and waits for it to finish.
    pub fn run(self) -> SippResult {
        self.spawn().wait()
    }
}

/// A running SIPp; killed on drop.
pub struct Sipp {
    child: Option<Child>,
    dir: TempDir,
    /// Local SIP port SIPp uses.
    pub port: u16,
    args: Vec<String>,
    started: Instant,
    timeout: Duration,
    stat_path: PathBuf,
    err_path: PathBuf,
    screen_path: PathBuf,
}

impl Sipp {
    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits until SIPp exits or its timeout passes (then kills it).
    pub fn wait(mut self) -> SippResult {
        let mut child = self.child.take().expect("sipp child");
        let deadline = self.started + self.timeout;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) => {}
                Err(_) => break None,
            }
            if Instant::now() >= deadline {
                timed_out = true;
                terminate(&mut child, Duration::from_secs(2));
                break child.try_wait().ok().flatten();
            }
            thread::sleep(Duration::from_millis(50));
        };
        let stats = read_stats(&self.stat_path);
        let rtt = read_rtt(self.dir.path());
        SippResult {
            exit_code: status.and_then(|s| s.code()),
            timed_out,
            stats,
            command: format!("sipp {}", self.args.join(" ")),
            errors: if self.err_path.exists() {
                tail_file(&self.err_path, 40)
            } else {
                String::new()
            },
            screen: tail_file(&self.screen_path, 40),
            elapsed: self.started.elapsed(),
            rtt,
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&mut child, Duration::from_secs(2));
            if thread::panicking() {
                eprintln!(
                    "--- sipp (stopped by the failing test): sipp {} ---\n{}\n--- sipp errors ---\n{}",
                    self.args.join(" "),
                    tail_file(&self.screen_path, 30),
                    tail_file(&self.err_path, 20)
                );
            }
        }
    }
}

/// SIPp's cumulative counters from the last line of its statistics file.
#[derive(Debug, Clone, Default)]
pub struct SippStats {
    pub successful: u64,
    pub failed: u64,
    pub created: u64,
    pub retransmissions: u64,
    pub failed_unexpected_msg: u64,
    pub failed_max_udp_retrans: u64,
    pub failed_timeout_on_recv: u64,
    /// Whether a statistics line was read at all.
    pub present: bool,
}

fn read_stats(path: &Path) -> SippStats {
    let Ok(text) = fs::read_to_string(path) else {
        return SippStats::default();
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return SippStats::default();
    };
    let Some(last) = lines.next_back() else {
        return SippStats::default();
    };
    let names: Vec<&str> = header.split(';').collect();
    let values: Vec<&str> = last.split(';').collect();
    let get = |name: &str| -> u64 {
        names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| values.get(i))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    SippStats {
        successful: get("SuccessfulCall(C)"),
        failed: get("FailedCall(C)"),
        created: get("TotalCallCreated"),
        retransmissions: get("Retransmissions(C)"),
        failed_unexpected_msg: get("FailedUnexpectedMessage(C)"),
        failed_max_udp_retrans: get("FailedMaxUDPRetrans(C)"),
        failed_timeout_on_recv: get("FailedTimeoutOnRecv(C)"),
        present: true,
    }
}

/// The response times SIPp measured (`start_rtd`/`rtd` in a scenario, run
/// with `-trace_rtt -rtt_freq 1`): (rtd name, milliseconds), in order.
fn read_rtt(dir: &Path) -> Vec<(String, f64)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().ends_with("_rtt.csv") {
            continue;
        }
        let text = fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split(';').collect();
            if let (Some(ms), Some(name)) =
                (cols.get(1).and_then(|v| v.trim().parse().ok()), cols.get(2))
            {
                out.push((name.trim().to_string(), ms));
            }
        }
    }
    out
}

/// Outcome of one SIPp run.
#[derive(Debug, Clone)]
pub struct SippResult {
    /// 0: every call succeeded; 1: at least one failed; 97: stopped by an
    /// internal command; 99: normal exit without calls; 255/254: fatal error.
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub stats: SippStats,
    pub command: String,
    pub errors: String,
    pub screen: String,
    pub elapsed: Duration,
    /// Response times the scenario measured (see `read_rtt`).
    pub rtt: Vec<(String, f64)>,
}

impl SippResult {
    /// A readable summary for assertion messages.
    pub fn report(&self) -> String {
        format!(
            "{}\nexit code {:?}{} after {:.1?}; stats: {:?}\n--- sipp errors ---\n{}\n--- sipp screen ---\n{}",
            self.command,
            self.exit_code,
            if self.timed_out { " (killed at its timeout)" } else { "" },
            self.elapsed,
            self.stats,
            self.errors,
            self.screen
        )
    }

    /// Exit code 0 and exactly `calls` successful, 0 failed calls in
    /// SIPp's own statistics.
    pub fn assert_all_successful(&self, calls: u64) {
        assert!(
            !self.timed_out,
            "sipp did not finish in time\n{}",
            self.report()
        );
        assert_eq!(
            self.exit_code,
            Some(0),
            "sipp reported failures\n{}",
            self.report()
        );
        assert!(
            self.stats.present,
            "sipp wrote no statistics\n{}",
            self.report()
        );
        assert_eq!(
            self.stats.failed,
            0,
            "sipp counted failed calls\n{}",
            self.report()
        );
        assert_eq!(
            self.stats.successful,
            calls,
            "sipp successful call count\n{}",
            self.report()
        );
    }
}
