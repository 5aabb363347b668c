//! baresip driver: runs `/usr/bin/baresip` (1.0.0, Debian `baresip-core`)
//! headless as a real SIP/RTP peer, plus the audio analysis the media tests
//! use on WAV files (Goertzel, frequency estimate, tone run length).
//!
//! # How baresip 1.0.0 is driven (learned by experiment)
//!
//! - **Config dir.** `baresip -f <dir> -v` reads `<dir>/config` and
//!   `<dir>/accounts` (written here per instance) and creates `uuid`,
//!   `contacts` and `current_contact` itself. stdin is `/dev/null`, so the
//!   `stdio` UI module must not be loaded (it fails with EPERM on fd 0); the
//!   `-v` log plus a status line redrawn with `\r` go to stdout, which is
//!   appended to `<dir>/baresip.log`.
//! - **Loopback only.** `sip_listen 127.0.0.1:<port>` alone is not enough:
//!   baresip still picks the first non-loopback interface for SDP/RTP.
//!   `net_interface 127.0.0.1` (an address, not `lo`, which fails with "No
//!   such device") makes SDP, RTP and RTCP use 127.0.0.1. `rtp_ports a-b`
//!   bounds the RTP ports.
//! - **Audio source.** `module ausine.so` + `audio_source ausine,<Hz>`: the
//!   device string is the sine frequency. ausine only runs at 48 kHz stereo,
//!   so `ausrc_srate 48000` and `ausrc_channels 2` are required (otherwise
//!   the call closes at once with "Operation not supported"); baresip
//!   resamples to the codec's rate itself.
//! - **No player.** `aufile` is a source only in 1.0.0 and `alsa` is not
//!   loaded; without any player module the receive path still decodes and
//!   runs the decode filters, which is all the tests need.
//! - **Recording.** `module sndfile.so` + `snd_path <dir>` writes, per call,
//!   `dump-<YYYY-MM-DD-hh-mm-ss>-dec.wav` (the decoded received audio, at the
//!   codec's rate/channels: 8 kHz mono for G.711, 16 kHz for G.722, 48 kHz
//!   stereo for opus) and `...-enc.wav` (what it sends, before encoding).
//!   The files are complete once the call closed.
//! - **Codecs.** Load `g711.so g722.so opus.so` and restrict per account:
//!   `;audio_codecs=PCMU/8000/1` (or `PCMA/8000/1`, `G722/16000/1`,
//!   `opus/48000/2`). telephone-event is always offered/accepted.
//! - **Auto answer.** account param `;answermode=auto`; `;regint=0` stops it
//!   from registering anywhere.
//! - **Control.** `module_app ctrl_tcp.so` + `ctrl_tcp_listen 127.0.0.1:<port>`:
//!   netstrings (`<len>:<json>,`) both ways. Commands are the `menu` module's
//!   long names, so `module_app menu.so` must be loaded:
//!   `{"command":"dial","params":"sip:...","token":"t1"}` → a response
//!   `{"response":true,"ok":true,"data":"","token":"t1"}`. Used here: `dial`,
//!   `accept`, `hangup`, `sndcode` (params = a digit string, e.g. `159#`;
//!   baresip queues the digits and sends each as an RFC 4733 event).
//!   Events arrive unsolicited on the same socket:
//!   `{"event":true,"type":"CALL_ESTABLISHED"|"CALL_CLOSED"|"CALL_DTMF_START"|...,
//!   "param":...}`; `CALL_DTMF_START`'s `param` is the received digit.
//! - **DTMF methods.** baresip 1.0.0 *receives* both RFC 4733 (log line
//!   `received event: '<d>' (end=0)`) and SIP INFO `application/dtmf-relay`
//!   (log line `call: received DTMF: '<d>' (duration=...)`), and raises
//!   `CALL_DTMF_START` for either. It *sends* RFC 4733 only: there is no
//!   `dtmfmode` account parameter before baresip 1.1, so INFO DTMF from
//!   baresip cannot be tested with this version.

use std::collections::VecDeque;
use std::fs;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

use super::{free_port, port_bound, require_tool, tail_file, terminate, wait_for};

/// Options for one baresip instance.
#[derive(Debug, Clone)]
pub struct BaresipOpts {
    /// The only audio codec of the account, e.g. `PCMU/8000/1`.
    pub codec: String,
    /// Frequency of the `ausine` source, in Hz.
    pub sine_hz: u32,
    /// Answer incoming calls automatically (`;answermode=auto`).
    pub auto_answer: bool,
}

impl BaresipOpts {
    pub fn new(codec: &str, sine_hz: u32) -> Self {
        BaresipOpts {
            codec: codec.to_string(),
            sine_hz,
            auto_answer: false,
        }
    }

    pub fn auto_answer(mut self) -> Self {
        self.auto_answer = true;
        self
    }
}

#[derive(Default)]
struct Inbox {
    events: Vec<Value>,
    responses: VecDeque<Value>,
    closed: bool,
}

/// A running baresip with its own config dir, SIP port and ctrl_tcp socket.
/// Killed on drop; on a panic its log tail is printed.
pub struct Baresip {
    child: Child,
    dir: TempDir,
    log_path: PathBuf,
    rec_dir: PathBuf,
    ctrl: TcpStream,
    inbox: Arc<(Mutex<Inbox>, Condvar)>,
    next_token: u64,
    /// SIP port on 127.0.0.1.
    pub sip_port: u16,
    /// The account's user part (`alice`).
    pub user: String,
}

impl Baresip {
    /// Writes the config, starts `baresip -f <dir> -v`, waits (10 s at most)
    /// for its ctrl_tcp socket and connects to it.
    pub fn start(opts: BaresipOpts) -> Baresip {
        let bin = require_tool("baresip");
        let dir = tempfile::Builder::new()
            .prefix("baresip-test-")
            .tempdir()
            .expect("create temp dir");
        let sip_port = free_port();
        let ctrl_port = free_port();
        let rec_dir = dir.path().join("rec");
        fs::create_dir_all(&rec_dir).expect("create rec dir");
        let config = format!(
            "poll_method\t\tepoll\n\
             sip_listen\t\t127.0.0.1:{sip_port}\n\
             net_interface\t\t127.0.0.1\n\
             rtp_ports\t\t30000-39999\n\
             call_local_timeout\t120\n\
             call_max_calls\t\t4\n\
             audio_source\t\tausine,{sine}\n\
             ausrc_srate\t\t48000\n\
             ausrc_channels\t\t2\n\
             audio_buffer\t\t20-160\n\
             jitter_buffer_delay\t5-10\n\
             module_path\t\t/usr/lib/baresip/modules\n\
             module\t\t\tg711.so\n\
             module\t\t\tg722.so\n\
             module\t\t\topus.so\n\
             module\t\t\tausine.so\n\
             module\t\t\tsndfile.so\n\
             module_tmp\t\taccount.so\n\
             module_app\t\tmenu.so\n\
             module_app\t\tctrl_tcp.so\n\
             ctrl_tcp_listen\t\t127.0.0.1:{ctrl_port}\n\
             snd_path\t\t{rec}\n\
             opus_bitrate\t\t64000\n",
            sine = opts.sine_hz,
            rec = rec_dir.display(),
        );
        fs::write(dir.path().join("config"), config).expect("write baresip config");
        let user = "alice".to_string();
        let mut account = format!(
            "<sip:{user}@127.0.0.1:{sip_port}>;regint=0;audio_codecs={}",
            opts.codec
        );
        if opts.auto_answer {
            account.push_str(";answermode=auto");
        }
        fs::write(dir.path().join("accounts"), account + "\n").expect("write accounts");

        let log_path = dir.path().join("baresip.log");
        let log = fs::File::create(&log_path).expect("create baresip log");
        let log_err = log.try_clone().expect("clone log");
        let mut child = Command::new(&bin)
            .arg("-f")
            .arg(dir.path())
            .arg("-v")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", bin.display()));

        let deadline = Instant::now() + Duration::from_secs(10);
        while !port_bound("tcp", ctrl_port) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "baresip exited ({status}) before listening on ctrl_tcp; log:\n{}",
                    tail_file(&log_path, 60)
                );
            }
            if Instant::now() > deadline {
                terminate(&mut child, Duration::from_secs(2));
                panic!(
                    "baresip did not open ctrl_tcp 127.0.0.1:{ctrl_port} within 10 s; log:\n{}",
                    tail_file(&log_path, 60)
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
        let ctrl = TcpStream::connect(("127.0.0.1", ctrl_port)).expect("connect to ctrl_tcp");
        let inbox: Arc<(Mutex<Inbox>, Condvar)> = Arc::default();
        let reader = ctrl.try_clone().expect("clone ctrl socket");
        let inbox2 = inbox.clone();
        thread::spawn(move || read_netstrings(reader, &inbox2));
        Baresip {
            child,
            dir,
            log_path,
            rec_dir,
            ctrl,
            inbox,
            next_token: 0,
            sip_port,
            user,
        }
    }

    /// `sip:alice@127.0.0.1:<port>`: where callwire calls this baresip.
    pub fn uri(&self) -> String {
        format!("sip:{}@127.0.0.1:{}", self.user, self.sip_port)
    }

    /// Sends one ctrl_tcp command and waits (5 s) for its response, which
    /// must say `"ok": true`. Returns the response.
    pub fn command(&mut self, command: &str, params: &str) -> Value {
        self.next_token += 1;
        let token = format!("t{}", self.next_token);
        let body = json!({ "command": command, "params": params, "token": token }).to_string();
        let frame = format!("{}:{},", body.len(), body);
        self.ctrl
            .write_all(frame.as_bytes())
            .unwrap_or_else(|e| panic!("ctrl_tcp write of {command} failed: {e}"));
        let (lock, cvar) = &*self.inbox;
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut inbox = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(pos) = inbox.responses.iter().position(|r| r["token"] == token) {
                let resp = inbox.responses.remove(pos).unwrap_or_default();
                assert_eq!(
                    resp["ok"], true,
                    "baresip command {command} {params:?} failed: {resp}"
                );
                return resp;
            }
            let now = Instant::now();
            assert!(
                now < deadline && !inbox.closed,
                "no ctrl_tcp response to {command} {params:?} within 5 s"
            );
            inbox = cvar
                .wait_timeout(inbox, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// `dial <uri>`.
    pub fn dial(&mut self, uri: &str) {
        self.command("dial", uri);
    }

    /// `hangup` (the current call).
    pub fn hangup(&mut self) {
        self.command("hangup", "");
    }

    /// `sndcode <digits>`: RFC 4733 events, queued by baresip.
    pub fn send_dtmf(&mut self, digits: &str) {
        self.command("sndcode", digits);
    }

    /// Every event received so far, oldest first.
    pub fn events(&self) -> Vec<Value> {
        let (lock, _) = &*self.inbox;
        lock.lock()
            .unwrap_or_else(|e| e.into_inner())
            .events
            .clone()
    }

    /// Waits for the first event of `kind` (e.g. `CALL_ESTABLISHED`).
    pub fn wait_event(&self, kind: &str, timeout: Duration) -> Value {
        let found = (|| {
            let (lock, cvar) = &*self.inbox;
            let deadline = Instant::now() + timeout;
            let mut inbox = lock.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(ev) = inbox.events.iter().find(|e| e["type"] == kind) {
                    return Some(ev.clone());
                }
                let now = Instant::now();
                if now >= deadline || inbox.closed {
                    return None;
                }
                inbox = cvar
                    .wait_timeout(inbox, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        })();
        found.unwrap_or_else(|| {
            panic!(
                "baresip raised no {kind} event within {timeout:?}; events: {:?}",
                self.events()
                    .iter()
                    .map(|e| e["type"].as_str().unwrap_or("?").to_string())
                    .collect::<Vec<_>>()
            )
        })
    }

    /// Digits of the `CALL_DTMF_START` events so far, in order.
    pub fn dtmf_received(&self) -> String {
        self.events()
            .iter()
            .filter(|e| e["type"] == "CALL_DTMF_START")
            .filter_map(|e| e["param"].as_str().map(str::to_string))
            .collect()
    }

    /// The log (stdout + stderr of `-v`) so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log_path).unwrap_or_default()).into_owned()
    }

    /// Digits baresip logged as received by RFC 4733 (`received event:
    /// '<d>' (end=0)`) and by SIP INFO (`call: received DTMF: '<d>'`).
    pub fn logged_dtmf(&self) -> (String, String) {
        let log = self.log();
        let digit_after = |line: &str, marker: &str| -> Option<char> {
            let at = line.find(marker)? + marker.len();
            line[at..].chars().next()
        };
        let mut rtp = String::new();
        let mut info = String::new();
        // The status line is redrawn with '\r', so split on both.
        for line in log.split(['\n', '\r']) {
            if line.contains("received event: '") && line.contains("(end=0)") {
                rtp.extend(digit_after(line, "received event: '"));
            } else if let Some(d) = digit_after(line, "call: received DTMF: '") {
                info.push(d);
            }
        }
        (rtp, info)
    }

    /// Waits until the call's `*-dec.wav` (decoded received audio) exists
    /// and is complete (after `CALL_CLOSED`), then reads it.
    pub fn decoded_wav(&self) -> Wav {
        self.wait_event("CALL_CLOSED", Duration::from_secs(10));
        let path = wait_for("baresip's sndfile -dec.wav", Duration::from_secs(5), || {
            fs::read_dir(&self.rec_dir)
                .ok()?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        });
        // sndfile finalises the header when the call's audio is destroyed,
        // right after CALL_CLOSED; wait until the header's size is the file's.
        wait_for("a complete -dec.wav header", Duration::from_secs(5), || {
            let bytes = fs::read(&path).ok()?;
            let wav = Wav::parse(&bytes).ok()?;
            (!wav.samples.is_empty()).then_some(())
        });
        Wav::parse(&fs::read(&path).expect("read -dec.wav"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The config dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last `n` lines of the log, without the `[0:00:01] audio=...`
    /// status lines baresip redraws with `\r`.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log
            .split(['\n', '\r'])
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("[0:"))
            .collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.ctrl.shutdown(std::net::Shutdown::Both);
        terminate(&mut self.child, Duration::from_secs(3));
        if thread::panicking() {
            eprintln!(
                "--- baresip log tail ({}) ---\n{}\n--- baresip events ---\n{}\n--- end of baresip ---",
                self.log_path.display(),
                self.log_tail(60),
                self.events()
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

/// Reads netstrings `<len>:<json>,` from ctrl_tcp into the inbox.
fn read_netstrings(stream: TcpStream, inbox: &Arc<(Mutex<Inbox>, Condvar)>) {
    let mut reader = BufReader::new(stream);
    let (lock, cvar) = &**inbox;
    loop {
        let mut len = 0usize;
        let mut ok = false;
        let mut byte = [0u8; 1];
        while reader.read_exact(&mut byte).is_ok() {
            match byte[0] {
                b'0'..=b'9' => len = len * 10 + usize::from(byte[0] - b'0'),
                b':' => {
                    ok = true;
                    break;
                }
                _ => break,
            }
        }
        let mut body = vec![0u8; len + 1];
        if !ok || len > 1 << 20 || reader.read_exact(&mut body).is_err() {
            break;
        }
        body.pop();
        let value: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        let mut guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        if value["response"] == true {
            guard.responses.push_back(value);
        } else {
            guard.events.push(value);
        }
        cvar.notify_all();
    }
    lock.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
    cvar.notify_all();
}

// ---------------------------------------------------------------------------
// Audio analysis
// ---------------------------------------------------------------------------

/// A PCM 16-bit WAV file, first channel only.
#[derive(Debug, Clone)]
pub struct Wav {
    pub sample_rate: u32,
    pub channels: u16,
    /// Samples of channel 0.
    pub samples: Vec<i16>,
    /// Every channel, de-interleaved.
    pub all: Vec<Vec<i16>>,
}

impl Wav {
    /// Parses a RIFF/WAVE file with a 16-bit PCM `fmt ` chunk. Fails when
    /// the `data` chunk's declared size disagrees with the bytes present.
    pub fn parse(bytes: &[u8]) -> Result<Wav, String> {
        if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
            return Err("not a RIFF/WAVE file".into());
        }
        let riff_len = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
        if riff_len + 8 != bytes.len() {
            return Err(format!(
                "RIFF size {} + 8 != file size {}",
                riff_len,
                bytes.len()
            ));
        }
        let mut pos = 12;
        let mut fmt: Option<(u16, u16, u32, u16)> = None;
        while pos + 8 <= bytes.len() {
            let id = &bytes[pos..pos + 4];
            let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
            let body = pos + 8;
            if id == b"fmt " {
                if len < 16 || body + 16 > bytes.len() {
                    return Err("short fmt chunk".into());
                }
                let b = &bytes[body..];
                fmt = Some((
                    u16::from_le_bytes([b[0], b[1]]),
                    u16::from_le_bytes([b[2], b[3]]),
                    u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                    u16::from_le_bytes([b[14], b[15]]),
                ));
            } else if id == b"data" {
                let (format, channels, rate, bits) = fmt.ok_or("data before fmt")?;
                if format != 1 || bits != 16 || channels == 0 {
                    return Err(format!(
                        "not 16-bit PCM: format {format}, {bits} bits, {channels} channels"
                    ));
                }
                if body + len != bytes.len() {
                    return Err(format!(
                        "data chunk says {len} bytes, file has {}",
                        bytes.len() - body
                    ));
                }
                let ch = usize::from(channels);
                let frame = 2 * ch;
                if !len.is_multiple_of(frame) {
                    return Err(format!("data length {len} is not whole frames"));
                }
                let mut all = vec![Vec::with_capacity(len / frame); ch];
                for f in bytes[body..body + len].chunks_exact(frame) {
                    for (c, s) in f.chunks_exact(2).enumerate() {
                        all[c].push(i16::from_le_bytes([s[0], s[1]]));
                    }
                }
                return Ok(Wav {
                    sample_rate: rate,
                    channels,
                    samples: all[0].clone(),
                    all,
                });
            }
            pos = body + len + (len & 1);
        }
        Err("no data chunk".into())
    }

    /// Length in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        self.samples.len() as f64 * 1000.0 / f64::from(self.sample_rate)
    }
}

/// Power of `freq` in `x` (Goertzel), normalised so that a full-scale sine
/// of that frequency gives about `amplitude² / 4 * n²`.
pub fn goertzel_power(x: &[i16], rate: u32, freq: f64) -> f64 {
    let w = std::f64::consts::TAU * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Share of the block's energy that lies at `freq` (0..1; a clean sine of
/// that frequency over a whole number of periods gives ~1).
pub fn tone_purity(x: &[i16], rate: u32, freq: f64) -> f64 {
    let energy: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    if energy <= 0.0 {
        return 0.0;
    }
    // For a sine of amplitude A over n samples: Goertzel ≈ (A n / 2)²,
    // energy ≈ A² n / 2, so purity = 2 G / (n E).
    2.0 * goertzel_power(x, rate, freq) / (x.len() as f64 * energy)
}

/// Frequency estimate from the positions of the rising zero crossings
/// (linear interpolation between samples), over the whole slice.
pub fn estimate_frequency(x: &[i16], rate: u32) -> Option<f64> {
    let mut crossings = Vec::new();
    for i in 1..x.len() {
        let (a, b) = (f64::from(x[i - 1]), f64::from(x[i]));
        if a < 0.0 && b >= 0.0 {
            crossings.push((i - 1) as f64 + a / (a - b));
        }
    }
    if crossings.len() < 3 {
        return None;
    }
    let span = crossings[crossings.len() - 1] - crossings[0];
    Some((crossings.len() - 1) as f64 * f64::from(rate) / span)
}

/// Root mean square of the slice.
pub fn rms(x: &[i16]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
}

/// The longest run of 5 ms blocks in which `freq` dominates (purity over
/// 0.5 and RMS over 300): (start sample, length in samples).
pub fn longest_tone_run(x: &[i16], rate: u32, freq: f64) -> Option<(usize, usize)> {
    let block = (rate / 200) as usize;
    let mut best: Option<(usize, usize)> = None;
    let mut run_start: Option<usize> = None;
    let blocks = x.len() / block;
    for b in 0..=blocks {
        let is_tone = b < blocks && {
            let s = &x[b * block..(b + 1) * block];
            rms(s) > 300.0 && tone_purity(s, rate, freq) > 0.5
        };
        match (is_tone, run_start) {
            (true, None) => run_start = Some(b),
            (false, Some(start)) => {
                let len = b - start;
                if best.is_none_or(|(_, l)| len * block > l) {
                    best = Some((start * block, len * block));
                }
                run_start = None;
            }
            _ => {}
        }
    }
    best
}

/// Asserts that `x` holds `freq` (±2 %) for `want_ms` (± `tol_ms`) in one
/// run; returns the measured (frequency, duration ms).
pub fn assert_tone(
    x: &[i16],
    rate: u32,
    freq: f64,
    want_ms: f64,
    tol_ms: f64,
    what: &str,
) -> (f64, f64) {
    let (start, len) = longest_tone_run(x, rate, freq).unwrap_or_else(|| {
        panic!(
            "{what}: no {freq} Hz tone found in {} samples at {rate} Hz (rms {:.0})",
            x.len(),
            rms(x)
        )
    });
    let ms = len as f64 * 1000.0 / f64::from(rate);
    // Estimate the frequency inside the run, away from its edges.
    let margin = (rate / 50) as usize;
    let inner = &x[start + margin.min(len / 4)..start + len - margin.min(len / 4)];
    let est = estimate_frequency(inner, rate)
        .unwrap_or_else(|| panic!("{what}: no zero crossings in the tone run"));
    assert!(
        (est - freq).abs() <= freq * 0.02,
        "{what}: tone frequency {est:.1} Hz, want {freq} Hz ±2 %"
    );
    assert!(
        (ms - want_ms).abs() <= tol_ms,
        "{what}: {freq} Hz tone lasted {ms:.0} ms, want {want_ms} ms ±{tol_ms} ms"
    );
    (est, ms)
}

/// In-band DTMF digits in `x`: 20 ms blocks whose energy is (over 70 %)
/// one row plus one column frequency, each at least a quarter of it; runs of
/// at least two such blocks of the same digit count once, in order.
pub fn dtmf_digits(x: &[i16], rate: u32) -> String {
    const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
    const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    const KEYS: [[char; 4]; 4] = [
        ['1', '2', '3', 'A'],
        ['4', '5', '6', 'B'],
        ['7', '8', '9', 'C'],
        ['*', '0', '#', 'D'],
    ];
    let block = (rate / 50) as usize;
    let best = |s: &[i16], freqs: &[f64; 4]| -> (usize, f64) {
        freqs
            .iter()
            .map(|&f| tone_purity(s, rate, f))
            .enumerate()
            .fold((0, 0.0), |b, (i, p)| if p > b.1 { (i, p) } else { b })
    };
    let mut out = String::new();
    let mut current: Option<(char, usize)> = None;
    for s in x.chunks_exact(block) {
        let key = (rms(s) > 300.0)
            .then(|| {
                let (r, pr) = best(s, &ROWS);
                let (c, pc) = best(s, &COLS);
                (pr > 0.25 && pc > 0.25 && pr + pc > 0.7).then_some(KEYS[r][c])
            })
            .flatten();
        current = match (key, current) {
            (Some(k), Some((c, n))) if k == c => Some((c, n + 1)),
            (Some(k), prev) => {
                if let Some((c, n)) = prev {
                    if n >= 2 {
                        out.push(c);
                    }
                }
                Some((k, 1))
            }
            (None, Some((c, n))) => {
                if n >= 2 {
                    out.push(c);
                }
                None
            }
            (None, None) => None,
        };
    }
    if let Some((c, n)) = current {
        if n >= 2 {
            out.push(c);
        }
    }
    out
}
