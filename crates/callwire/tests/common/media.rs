//! Media helpers for the interop tests: SIPp's shipped pcaps read back as
//! RTP, G.711 decoding, WAV parsing, energy envelopes and their correlation,
//! RTP packet building, and finding the call SIPp placed.
//!
//! Deliberately independent of the `callwire-media` crate, so the tests
//! check the service against a second reading of the formats.

use std::fs;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{free_port, wait_for, Callwire, API_TOKEN};

/// Where Debian's `sip-tester` package installs SIPp's pcaps.
pub const SIPP_PCAP_DIR: &str = "/usr/share/sip-tester";

/// `/usr/share/sip-tester/<name>`; panics (never skips) when it is missing.
pub fn sipp_pcap(name: &str) -> PathBuf {
    let path = PathBuf::from(SIPP_PCAP_DIR).join(name);
    assert!(
        path.is_file(),
        "SIPp pcap {} is missing: run ./scripts/test, which installs sip-tester",
        path.display()
    );
    path
}

/// An even loopback port whose next three ports are free for UDP too, for
/// SIPp's `-mp` (it binds audio on the port and video two ports up; RTCP is
/// the port after each).
pub fn free_media_port() -> u16 {
    for _ in 0..200 {
        // Linux hands out odd ports for bind(0): take the even one below.
        let p = free_port() & !1;
        if !(1024..=65_000).contains(&p) {
            continue;
        }
        let all_free = (0..4).all(|i| UdpSocket::bind(("127.0.0.1", p + i)).is_ok());
        if all_free {
            return p;
        }
    }
    panic!("no free block of 4 UDP ports for SIPp media");
}

/// The newest incoming call in state `active`, waited for up to `timeout`.
pub fn wait_incoming_active(cw: &Callwire, timeout: Duration) -> Value {
    wait_for("an active incoming call", timeout, || {
        cw.calls(20)
            .into_iter()
            .find(|c| c["direction"] == "incoming" && c["state"] == "active")
    })
}

/// The call's `media` statistics once `pred` holds for them (they refresh
/// every 2 s), or a panic with the last value after `timeout`.
pub fn wait_media(
    cw: &Callwire,
    id: &str,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    let mut last;
    loop {
        last = cw.call(id);
        if !last["media"].is_null() && pred(&last["media"]) {
            return last;
        }
        if Instant::now() >= deadline {
            panic!("call {id}: media statistics never showed {what} within {timeout:?}; last call: {last}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Callwire {
    /// `GET path` with the bearer token, returning the status and raw body.
    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let url = format!("{}{}", self.http, path);
        let resp = self
            .client
            .get(&url)
            .bearer_auth(API_TOKEN)
            .send()
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"));
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .unwrap_or_else(|e| panic!("GET {path}: reading the body failed: {e}"));
        (status, body.to_vec())
    }
}

/// G.711 A-law to linear 16-bit (ITU-T G.711, as in Sun's reference code).
pub fn alaw_to_linear(a: u8) -> i16 {
    let a = a ^ 0x55;
    let mut t = i32::from(a & 0x0f) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

/// G.711 μ-law to linear 16-bit.
pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let mut t = (i32::from(u & 0x0f) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;
    (if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }) as i16
}

/// Linear 16-bit to G.711 μ-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let mut exp = 7u8;
    let mut mask = 0x4000;
    while exp > 0 && s & mask == 0 {
        exp -= 1;
        mask >>= 1;
    }
    let mantissa = ((s >> (exp + 3)) & 0x0f) as u8;
    !(sign | (exp << 4) | mantissa)
}

/// One RTP packet read from a pcap.
#[derive(Debug, Clone)]
pub struct PcapRtp {
    /// Capture time, seconds.
    pub time: f64,
    pub payload_type: u8,
    pub marker: bool,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: Vec<u8>,
}

/// The RTP packets of a classic-format pcap of Ethernet/IPv4/UDP frames (as
/// SIPp's shipped pcaps are).
pub fn read_pcap_rtp(path: &std::path::Path) -> Vec<PcapRtp> {
    let d = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(d.len() >= 24, "{}: too short for a pcap", path.display());
    let magic = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
    let le = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        other => panic!("{}: not a pcap (magic {other:#x})", path.display()),
    };
    let u32_at = |o: usize| {
        let b = [d[o], d[o + 1], d[o + 2], d[o + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let link = u32_at(20);
    let link_hdr = match link {
        1 => 14,   // Ethernet
        113 => 16, // Linux cooked
        other => panic!("{}: unsupported link type {other}", path.display()),
    };
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= d.len() {
        let time = f64::from(u32_at(off)) + f64::from(u32_at(off + 4)) / 1e6;
        let caplen = u32_at(off + 8) as usize;
        off += 16;
        let frame = &d[off..(off + caplen).min(d.len())];
        off += caplen;
        let Some(ip) = frame.get(link_hdr..) else {
            continue;
        };
        if ip.first().map(|b| b >> 4) != Some(4) || ip.get(9) != Some(&17) {
            continue;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let Some(rtp) = ip.get(ihl + 8..) else {
            continue;
        };
        if rtp.len() < 12 || rtp[0] >> 6 != 2 {
            continue;
        }
        let cc = usize::from(rtp[0] & 0x0f);
        let mut start = 12 + 4 * cc;
        if rtp[0] & 0x10 != 0 && rtp.len() >= start + 4 {
            let words = usize::from(u16::from_be_bytes([rtp[start + 2], rtp[start + 3]]));
            start += 4 + 4 * words;
        }
        let mut end = rtp.len();
        if rtp[0] & 0x20 != 0 {
            end = end.saturating_sub(usize::from(rtp[rtp.len() - 1]));
        }
        out.push(PcapRtp {
            time,
            payload_type: rtp[1] & 0x7f,
            marker: rtp[1] & 0x80 != 0,
            seq: u16::from_be_bytes([rtp[2], rtp[3]]),
            timestamp: u32::from_be_bytes([rtp[4], rtp[5], rtp[6], rtp[7]]),
            ssrc: u32::from_be_bytes([rtp[8], rtp[9], rtp[10], rtp[11]]),
            payload: rtp.get(start..end).unwrap_or_default().to_vec(),
        });
    }
    out
}

/// A parsed PCM WAV file (16-bit samples, interleaved).
#[derive(Debug, Clone)]
pub struct Wav {
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<i16>,
}

impl Wav {
    /// Length in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        let frames = self.samples.len() as f64 / f64::from(self.channels.max(1));
        frames * 1000.0 / f64::from(self.sample_rate.max(1))
    }
}

/// Parses a RIFF/WAVE file with a 16-bit PCM `fmt ` chunk. Checks that the
/// RIFF size and the `data` size agree with the bytes present.
pub fn parse_wav(bytes: &[u8]) -> Result<Wav, String> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(format!("not RIFF/WAVE ({} bytes)", bytes.len()));
    }
    let riff_size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    if riff_size + 8 != bytes.len() {
        return Err(format!(
            "RIFF size {riff_size} + 8 != file length {}",
            bytes.len()
        ));
    }
    let mut off = 12;
    let mut fmt: Option<(u16, u16, u32, u16)> = None;
    while off + 8 <= bytes.len() {
        let id = &bytes[off..off + 4];
        let size = u32::from_le_bytes([
            bytes[off + 4],
            bytes[off + 5],
            bytes[off + 6],
            bytes[off + 7],
        ]) as usize;
        let body = bytes.get(off + 8..off + 8 + size).ok_or_else(|| {
            format!(
                "chunk {:?} of {size} bytes runs past the end",
                String::from_utf8_lossy(id)
            )
        })?;
        if id == b"fmt " {
            if size < 16 {
                return Err(format!("fmt chunk of {size} bytes"));
            }
            let le16 = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
            let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            fmt = Some((le16(0), le16(2), rate, le16(14)));
        } else if id == b"data" {
            let (format, channels, sample_rate, bits) = fmt.ok_or("data chunk before fmt chunk")?;
            if format != 1 || bits != 16 {
                return Err(format!(
                    "format {format} with {bits} bits, expected PCM 16-bit"
                ));
            }
            if channels == 0 || !size.is_multiple_of(2 * usize::from(channels)) {
                return Err(format!(
                    "data size {size} is not whole frames of {channels} channels"
                ));
            }
            let samples = body
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            return Ok(Wav {
                sample_rate,
                channels,
                samples,
            });
        }
        off += 8 + size + (size & 1);
    }
    Err("no data chunk".into())
}

/// Root mean square of the samples.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// RMS of consecutive windows of `window_ms` (mono samples at `rate`).
pub fn envelope(samples: &[i16], rate: u32, window_ms: u32) -> Vec<f64> {
    let w = (rate * window_ms / 1000).max(1) as usize;
    samples.chunks_exact(w).map(rms).collect()
}

/// Pearson correlation of `a` and `b` over the shorter length.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (a, b) = (&a[..n], &b[..n]);
    let ma = a.iter().sum::<f64>() / n as f64;
    let mb = b.iter().sum::<f64>() / n as f64;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (x, y) = (a[i] - ma, b[i] - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    if saa == 0.0 || sbb == 0.0 {
        return 0.0;
    }
    sab / (saa * sbb).sqrt()
}

/// Where `reference` (mono at `ref_rate`) sits in `recorded` (mono at
/// `rec_rate`): tries every offset in steps of `step_ms` and compares energy
/// envelopes of `window_ms` windows. Returns (offset in recorded samples,
/// Pearson correlation of the envelopes there). The reference must fit.
pub fn locate(
    reference: &[i16],
    ref_rate: u32,
    recorded: &[i16],
    rec_rate: u32,
    window_ms: u32,
    step_ms: u32,
) -> (usize, f64) {
    let ref_env = envelope(reference, ref_rate, window_ms);
    let span = reference.len() * rec_rate as usize / ref_rate as usize;
    let step = (rec_rate * step_ms / 1000).max(1) as usize;
    let mut best = (0, f64::MIN);
    let mut offset = 0;
    while offset + span <= recorded.len() {
        let env = envelope(&recorded[offset..offset + span], rec_rate, window_ms);
        let c = correlation(&ref_env, &env);
        if c > best.1 {
            best = (offset, c);
        }
        offset += step;
    }
    best
}

/// Pearson correlation of two sample runs (over the shorter length).
pub fn waveform_correlation(a: &[i16], b: &[i16]) -> f64 {
    let a: Vec<f64> = a.iter().map(|&x| f64::from(x)).collect();
    let b: Vec<f64> = b.iter().map(|&x| f64::from(x)).collect();
    correlation(&a, &b)
}

/// Sample-level match of `reference` against `recorded` (same rate), chunk
/// by chunk: each chunk of `chunk` samples expected at `offset` + its own
/// position is searched within ±`slack` samples (so a frame the jitter
/// buffer concealed or a playout shift only spoils the chunks it touches).
/// Returns each chunk's best waveform correlation.
pub fn chunk_matches(
    reference: &[i16],
    recorded: &[i16],
    offset: usize,
    chunk: usize,
    slack: usize,
) -> Vec<f64> {
    let rec: Vec<f64> = recorded.iter().map(|&x| f64::from(x)).collect();
    reference
        .chunks_exact(chunk)
        .enumerate()
        .map(|(k, piece)| {
            let piece: Vec<f64> = piece.iter().map(|&x| f64::from(x)).collect();
            let at = offset + k * chunk;
            let lo = at.saturating_sub(slack);
            let hi = (at + slack).min(rec.len().saturating_sub(chunk));
            (lo..=hi)
                .map(|o| correlation(&piece, &rec[o..o + chunk]))
                .fold(f64::MIN, f64::max)
        })
        .collect()
}

/// A valid RTP packet (version 2, no CSRC, no extension, no padding).
pub fn rtp_packet(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + payload.len());
    p.push(0x80);
    p.push((pt & 0x7f) | if marker { 0x80 } else { 0 });
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Whether the service's log shows a panic.
pub fn log_has_panic(cw: &Callwire) -> Option<String> {
    let text = fs::read_to_string(cw.log_path()).unwrap_or_default();
    text.lines()
        .find(|l| l.contains("panicked") || l.contains("RUST_BACKTRACE"))
        .map(str::to_string)
}
