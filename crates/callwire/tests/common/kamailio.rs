//! Kamailio runner: a registrar on a free loopback port (UDP and TCP) from
//! `tests/kamailio/kamailio.cfg.tmpl`, in-memory location table, fixed
//! digest users (alice/alicepw, bob/bobpw), and a `ctl` socket in the temp
//! dir so `kamcmd ul.dump` shows what callwire registered.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{
    free_port, port_bound, require_tool, run_with_timeout, sip, tail_file, terminate,
    workspace_root,
};

/// One binding of the location table as `ul.dump` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UlContact {
    pub aor: String,
    pub address: String,
    /// Seconds left; `None` for "permanent", "expired", "deleted".
    pub expires: Option<i64>,
    pub expires_raw: String,
    pub cseq: Option<u64>,
    pub call_id: String,
}

/// A running Kamailio; stopped on drop.
pub struct Kamailio {
    child: Child,
    dir: TempDir,
    log_path: PathBuf,
    kamcmd: PathBuf,
    /// SIP port (UDP and TCP) on 127.0.0.1.
    pub port: u16,
}

impl Kamailio {
    /// Writes the config, starts Kamailio in the foreground and waits until
    /// its ctl socket answers and it replies 200 to OPTIONS (15 s at most).
    pub fn start() -> Kamailio {
        Kamailio::start_on(free_port())
    }

    /// Like [`Kamailio::start`] on a given port (e.g. one a client was
    /// pointed at before the registrar came up).
    pub fn start_on(port: u16) -> Kamailio {
        let kamailio = require_tool("kamailio");
        let kamcmd = require_tool("kamcmd");
        let dir = tempfile::Builder::new()
            .prefix("kamailio-")
            .tempdir()
            .expect("temp dir");
        let template_path = workspace_root().join("tests/kamailio/kamailio.cfg.tmpl");
        let template = fs::read_to_string(&template_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", template_path.display()));
        let dir_str = dir.path().display().to_string();
        let cfg = template
            .replace("@PORT@", &port.to_string())
            .replace("@DIR@", &dir_str);
        let cfg_path = dir.path().join("kamailio.cfg");
        fs::write(&cfg_path, cfg).expect("write kamailio.cfg");
        let log_path = dir.path().join("kamailio.log");
        let log = fs::File::create(&log_path).expect("log file");
        let log_err = log.try_clone().expect("clone");
        let child = Command::new(&kamailio)
            .arg("-f")
            .arg(&cfg_path)
            .args(["-DD", "-E", "-m", "64", "-M", "8"])
            .arg("-w")
            .arg(dir.path())
            .arg("-Y")
            .arg(dir.path())
            .arg("-P")
            .arg(dir.path().join("kamailio.pid"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", kamailio.display()));
        let mut k = Kamailio {
            child,
            dir,
            log_path,
            kamcmd,
            port,
        };
        k.wait_ready(Duration::from_secs(15));
        k
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "kamailio exited ({status}) during start\n--- kamailio log ---\n{}",
                    self.log_tail()
                );
            }
            if port_bound("udp", self.port) && self.try_kamcmd(&["core.uptime"]).is_ok() {
                let target = format!("127.0.0.1:{}", self.port).parse().expect("addr");
                if let Ok(resp) = sip::udp_options(target, Duration::from_secs(1)) {
                    assert_eq!(resp.status, 200, "kamailio OPTIONS: {}", resp.text());
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "kamailio not ready within {timeout:?}\n--- kamailio log ---\n{}",
                self.log_tail()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// `host:port` of the registrar.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn ctl(&self) -> String {
        format!("unix:{}", self.dir.path().join("kamailio_ctl").display())
    }

    fn try_kamcmd(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(&self.kamcmd);
        cmd.arg("-s").arg(self.ctl()).args(args);
        let (status, stdout, stderr) = run_with_timeout(cmd, Duration::from_secs(10))?;
        if status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "kamcmd {args:?} failed ({status}): {stdout}{stderr}"
            ))
        }
    }

    /// Runs `kamcmd -s unix:<dir>/kamailio_ctl <args>` and returns stdout.
    pub fn kamcmd(&self, args: &[&str]) -> String {
        self.try_kamcmd(args)
            .unwrap_or_else(|e| panic!("{e}\n--- kamailio log ---\n{}", self.log_tail()))
    }

    /// `kamcmd ul.dump` output.
    pub fn ul_dump(&self) -> String {
        self.kamcmd(&["ul.dump"])
    }

    /// Every binding in the location table.
    pub fn contacts(&self) -> Vec<UlContact> {
        parse_ul_dump(&self.ul_dump())
    }

    /// Contact addresses bound to `user`'s AOR.
    pub fn contacts_for(&self, user: &str) -> Vec<String> {
        self.contacts()
            .into_iter()
            .filter(|c| aor_user(&c.aor) == user)
            .map(|c| c.address)
            .collect()
    }

    /// Full bindings of `user`'s AOR.
    pub fn contact_details(&self, user: &str) -> Vec<UlContact> {
        self.contacts()
            .into_iter()
            .filter(|c| aor_user(&c.aor) == user)
            .collect()
    }

    pub fn log_tail(&self) -> String {
        tail_file(&self.log_path, 60)
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(5));
        if thread::panicking() {
            eprintln!(
                "--- kamailio log tail ---\n{}\n--- end of kamailio log ---",
                self.log_tail()
            );
        }
    }
}

/// User part of an AOR as usrloc stores it (`alice` or `alice@domain`).
fn aor_user(aor: &str) -> &str {
    aor.split('@').next().unwrap_or(aor)
}

/// Parses `kamcmd ul.dump` text output (Kamailio 5.x layout).
pub fn parse_ul_dump(text: &str) -> Vec<UlContact> {
    let mut out = Vec::new();
    let mut aor = String::new();
    let mut current: Option<UlContact> = None;
    for line in text.lines() {
        let line = line.trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "AoR" => aor = value.to_string(),
            "Contact" if value == "{" => {
                if let Some(c) = current.take() {
                    out.push(c);
                }
                current = Some(UlContact {
                    aor: aor.clone(),
                    address: String::new(),
                    expires: None,
                    expires_raw: String::new(),
                    cseq: None,
                    call_id: String::new(),
                });
            }
            "Address" => {
                if let Some(c) = current.as_mut() {
                    c.address = value.to_string();
                }
            }
            "Expires" => {
                if let Some(c) = current.as_mut() {
                    c.expires = value.parse().ok();
                    c.expires_raw = value.to_string();
                }
            }
            "CSeq" => {
                if let Some(c) = current.as_mut() {
                    c.cseq = value.parse().ok();
                }
            }
            "Call-ID" => {
                if let Some(c) = current.as_mut() {
                    c.call_id = value.to_string();
                }
            }
            _ => {}
        }
    }
    if let Some(c) = current.take() {
        out.push(c);
    }
    out
}
