//! Two media sessions back to back in simulated time: A and B exchange every
//! datagram through an in-test network with delay, jitter and loss, driven by
//! a virtual clock that jumps to the next deadline of either side or the next
//! delivery. No sockets, no sleeping.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use callwire_media::audio::{goertzel_power, ToneSpec};
use callwire_media::codec::{Codec, L16Rate};
use callwire_media::dtmf::{Digit, Method};
use callwire_media::rtp::{parse_compound, RtcpPacket, RtpHeader};
use callwire_media::sdp::Direction;
use callwire_media::session::{
    MediaSession, PlaySource, RecordMode, SendMethod, SessionConfig, SessionEvent, StreamParams,
};

const fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, last), port))
}

const A_RTP: SocketAddr = addr(1, 4000);
const A_RTCP: SocketAddr = addr(1, 4001);
const B_RTP: SocketAddr = addr(2, 5000);
const B_RTCP: SocketAddr = addr(2, 5001);
const TEL_EVENT_PT: u8 = 101;
const TICK: Duration = Duration::from_millis(20);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How the network treats datagrams (both directions alike).
#[derive(Debug, Clone, Copy)]
struct Link {
    delay: Duration,
    /// Extra delay drawn uniformly from [0, jitter) per datagram.
    jitter: Duration,
    /// Probability that an RTP datagram is lost.
    loss: f64,
    /// Apply `loss` to RTCP too.
    loss_rtcp: bool,
}

impl Default for Link {
    fn default() -> Link {
        Link {
            delay: ms(30),
            jitter: Duration::ZERO,
            loss: 0.0,
            loss_rtcp: false,
        }
    }
}

/// One datagram a session handed out.
#[derive(Debug, Clone)]
struct Sent {
    at: Instant,
    to: SocketAddr,
    rtcp: bool,
    data: Vec<u8>,
}

impl Sent {
    fn rtp_header(&self) -> Option<RtpHeader> {
        let p = callwire_media::rtp::RtpPacket::parse(&self.data).ok()?;
        Some(RtpHeader {
            marker: p.marker(),
            payload_type: p.payload_type(),
            sequence: p.sequence(),
            timestamp: p.timestamp(),
            ssrc: p.ssrc(),
        })
    }
}

struct Peer {
    s: MediaSession,
    rtp: SocketAddr,
    rtcp: SocketAddr,
    events: Vec<(Instant, SessionEvent)>,
    left: Vec<i16>,
    right: Vec<i16>,
    sent: Vec<Sent>,
    /// RTP datagrams that reached this peer, with their arrival time.
    rtp_arrivals: Vec<Instant>,
}

impl Peer {
    fn rtp_sent(&self) -> impl Iterator<Item = &Sent> {
        self.sent.iter().filter(|s| !s.rtcp)
    }
    fn rtcp_sent(&self) -> impl Iterator<Item = &Sent> {
        self.sent.iter().filter(|s| s.rtcp)
    }
    fn dtmf(&self) -> Vec<(char, Method)> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                SessionEvent::Dtmf(d) => Some((d.digit.as_char(), d.source)),
                _ => None,
            })
            .collect()
    }
    fn count(&self, f: impl Fn(&SessionEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }
}

struct InFlight {
    at: Instant,
    seq: u64,
    to_b: bool,
    from: SocketAddr,
    rtcp_port: bool,
    data: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Net {
    start: Instant,
    now: Instant,
    a: Peer,
    b: Peer,
    link: Link,
    rng: Rng,
    queue: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    /// Datagrams sent to an address nobody listens on.
    undeliverable: Vec<(SocketAddr, bool)>,
    /// RTP datagrams the network dropped, per direction (A→B, B→A).
    lost: [u64; 2],
}

fn config(seed: u64) -> SessionConfig {
    SessionConfig {
        ssrc: 0x1000_0000 + seed as u32,
        initial_sequence: (seed as u16).wrapping_mul(7919),
        initial_timestamp: (seed as u32).wrapping_mul(2_654_435_761),
        cname: format!("peer{seed}@callwire.test"),
        media_timeout: None,
        jitter_min_ms: 40,
        jitter_max_ms: 300,
        detect_inband: false,
        rtcp_seed: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ntp_at_start: (3_900_000_000u64 + seed * 1000) << 32,
    }
}

fn payload_type(codec: Codec) -> u8 {
    codec.static_payload_type().unwrap_or(match codec {
        Codec::Opus => 111,
        _ => 96,
    })
}

/// The stream one side uses to talk to the other.
fn params(codec: Codec, remote_rtp: SocketAddr, remote_rtcp: SocketAddr, dir: Direction) -> StreamParams {
    StreamParams {
        remote_rtp,
        remote_rtcp,
        codec,
        payload_type: payload_type(codec),
        telephone_event_pt: Some(TEL_EVENT_PT),
        ptime_ms: 20,
        direction: dir,
    }
}

impl Net {
    fn new(cfg_a: SessionConfig, cfg_b: SessionConfig, link: Link) -> Net {
        let start = Instant::now();
        let peer = |cfg, rtp, rtcp| Peer {
            s: MediaSession::new(cfg, start),
            rtp,
            rtcp,
            events: Vec::new(),
            left: Vec::new(),
            right: Vec::new(),
            sent: Vec::new(),
            rtp_arrivals: Vec::new(),
        };
        Net {
            start,
            now: start,
            a: peer(cfg_a, A_RTP, A_RTCP),
            b: peer(cfg_b, B_RTP, B_RTCP),
            link,
            rng: Rng(0x5EED_1234_ABCD_0001),
            queue: BinaryHeap::new(),
            seq: 0,
            undeliverable: Vec::new(),
            lost: [0; 2],
        }
    }

    /// A default pair: A and B both configured, nothing started.
    fn pair(link: Link) -> Net {
        Net::new(config(1), config(2), link)
    }

    fn start_a(&mut self, codec: Codec, dir: Direction) {
        let p = params(codec, B_RTP, B_RTCP, dir);
        self.a.s.set_stream(self.now, p).unwrap();
        self.drain();
    }

    fn start_b(&mut self, codec: Codec, dir: Direction) {
        let p = params(codec, A_RTP, A_RTCP, dir);
        self.b.s.set_stream(self.now, p).unwrap();
        self.drain();
    }

    fn at(&self, d: Duration) -> Instant {
        self.start + d
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Runs the world until `start + until` (inclusive).
    fn run_until(&mut self, until: Duration) {
        let end = self.start + until;
        let mut stuck = 0u32;
        loop {
            let next = [
                self.a.s.poll_timeout(),
                self.b.s.poll_timeout(),
                self.queue.peek().map(|Reverse(f)| f.at),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|&t| t <= end) else {
                self.now = self.now.max(end);
                return;
            };
            if next <= self.now {
                stuck += 1;
                assert!(stuck < 10_000, "a deadline does not move at {:?}", self.elapsed());
            } else {
                stuck = 0;
            }
            self.now = self.now.max(next);
            let now = self.now;
            while self.queue.peek().is_some_and(|Reverse(f)| f.at <= now) {
                let Some(Reverse(f)) = self.queue.pop() else { break };
                let peer = if f.to_b { &mut self.b } else { &mut self.a };
                if !f.rtcp_port {
                    peer.rtp_arrivals.push(now);
                }
                peer.s.receive(now, f.from, &f.data, f.rtcp_port);
            }
            if self.a.s.poll_timeout().is_some_and(|t| t <= now) {
                self.a.s.handle_timeout(now);
            }
            if self.b.s.poll_timeout().is_some_and(|t| t <= now) {
                self.b.s.handle_timeout(now);
            }
            self.drain();
        }
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.elapsed() + d;
        self.run_until(until);
    }

    /// Collects both sides' datagrams, events and recordings.
    fn drain(&mut self) {
        for from_a in [true, false] {
            let now = self.now;
            let mut out = Vec::new();
            let peer = if from_a { &mut self.a } else { &mut self.b };
            peer.s.drain_transmit(|t| {
                out.push(Sent {
                    at: now,
                    to: t.to,
                    rtcp: t.rtcp,
                    data: t.data.to_vec(),
                })
            });
            while let Some(ev) = peer.s.poll_event() {
                peer.events.push((now, ev));
            }
            peer.s.take_recorded(&mut peer.left, &mut peer.right);
            let (src_rtp, src_rtcp) = (peer.rtp, peer.rtcp);
            peer.sent.extend(out.iter().cloned());
            for s in out {
                self.route(from_a, if s.rtcp { src_rtcp } else { src_rtp }, s);
            }
        }
    }

    fn route(&mut self, from_a: bool, from: SocketAddr, s: Sent) {
        let dest = [(B_RTP, true, false), (B_RTCP, true, true), (A_RTP, false, false), (A_RTCP, false, true)]
            .into_iter()
            .find(|(a, _, _)| *a == s.to);
        let Some((_, to_b, rtcp_port)) = dest else {
            self.undeliverable.push((s.to, s.rtcp));
            return;
        };
        assert_ne!(to_b, !from_a, "a session sent to itself");
        if (!s.rtcp || self.link.loss_rtcp) && self.rng.unit() < self.link.loss {
            self.lost[usize::from(!from_a)] += 1;
            return;
        }
        let jitter = self.link.jitter.mul_f64(self.rng.unit());
        self.seq += 1;
        self.queue.push(Reverse(InFlight {
            at: s.at + self.link.delay + jitter,
            seq: self.seq,
            to_b,
            from,
            rtcp_port,
            data: s.data,
        }));
    }
}

// ---------------------------------------------------------------- analysis

/// The frequency in `[lo, hi]` (scanned by `step` Hz) with the most power.
fn dominant_freq(samples: &[i16], rate: u32, lo: f64, hi: f64, step: f64) -> f64 {
    let mut best = (0.0, lo);
    let mut f = lo;
    while f <= hi {
        let p = goertzel_power(samples, rate, f);
        if p > best.0 {
            best = (p, f);
        }
        f += step;
    }
    best.1
}

/// Start and end sample of the region where `freq` is present, from 5 ms
/// blocks whose power at `freq` is at least a quarter of the strongest one.
fn tone_span(samples: &[i16], rate: u32, freq: f64) -> Option<(usize, usize)> {
    let block = (rate / 200) as usize;
    let powers: Vec<f64> = samples
        .chunks(block)
        .map(|c| goertzel_power(c, rate, freq))
        .collect();
    let max = powers.iter().cloned().fold(0.0, f64::max);
    if max < 1000.0 {
        return None;
    }
    let first = powers.iter().position(|&p| p >= max / 4.0)?;
    let last = powers.iter().rposition(|&p| p >= max / 4.0)?;
    Some((first * block, (last + 1) * block))
}

fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

fn sine(freq: f64, rate: u32, len: usize, amplitude: f64) -> Vec<i16> {
    (0..len)
        .map(|i| (amplitude * (std::f64::consts::TAU * freq * i as f64 / f64::from(rate)).sin()) as i16)
        .collect()
}

const ALL_CODECS: [Codec; 7] = [
    Codec::Pcmu,
    Codec::Pcma,
    Codec::G722,
    Codec::Opus,
    Codec::L16(L16Rate::Hz8000),
    Codec::L16(L16Rate::Hz16000),
    Codec::L16(L16Rate::Hz48000),
];

// ---------------------------------------------------------------- 1. tone end to end

fn tone_end_to_end(codec: Codec) {
    let mut net = Net::pair(Link::default());
    net.start_a(codec, Direction::SendRecv);
    net.start_b(codec, Direction::SendRecv);
    net.b.s.set_recording(Some(RecordMode::Mixed));
    net.run_until(ms(200));
    let spec = ToneSpec::parse("!1000/1000").unwrap();
    net.a.s.play(7, PlaySource::Tone(spec), false);
    net.run_until(ms(1800));

    let rate = codec.pcm_rate();
    let rec = &net.b.left;
    let (first, last) = tone_span(rec, rate, 1000.0).unwrap_or_else(|| panic!("{codec:?}: no tone"));
    let dur = (last - first) as f64 / f64::from(rate);
    assert!((dur - 1.0).abs() <= 0.060, "{codec:?}: tone lasted {dur} s");
    // The middle half of the tone: 1000 Hz within ±2 %, and dominant.
    let mid = &rec[first + (last - first) / 4..last - (last - first) / 4];
    let f = dominant_freq(mid, rate, 300.0, 3400.0, 10.0);
    let f = dominant_freq(mid, rate, f - 10.0, f + 10.0, 1.0);
    assert!((f - 1000.0).abs() <= 20.0, "{codec:?}: dominant {f} Hz");
    let p_tone = goertzel_power(mid, rate, f);
    for other in [300.0, 500.0, 700.0, 1500.0, 2000.0, 3000.0] {
        assert!(p_tone > 100.0 * goertzel_power(mid, rate, other), "{codec:?}: {other} Hz too strong");
    }
    // Amplitude survives the codec (about 8000 peak, RMS ~5657).
    let level = rms(mid);
    assert!((4000.0..7000.0).contains(&level), "{codec:?}: RMS {level}");
    // Outside the tone: quiet.
    let before = &rec[..first.saturating_sub(rate as usize / 50)];
    assert!(rms(before) < 200.0, "{codec:?}: noise before the tone {}", rms(before));

    let finished: Vec<_> = net
        .a
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::PlaybackFinished { id, stopped } => Some((*id, *stopped)),
            _ => None,
        })
        .collect();
    assert_eq!(finished, vec![(7, false)], "{codec:?}");
    // B got every packet A sent, and recorded a frame per tick.
    let st = net.b.s.stats();
    assert_eq!(st.rtp.packets_received, net.b.rtp_arrivals.len() as u64, "{codec:?}");
    assert_eq!(net.a.rtp_sent().count(), 91, "{codec:?}: a packet per tick from 0 to 1800 ms");
    assert_eq!(st.counters, Default::default(), "{codec:?}");
    assert_eq!(rec.len(), 91 * codec.samples_per_frame(20), "{codec:?}");
}

#[test]
fn tone_end_to_end_pcmu() {
    tone_end_to_end(Codec::Pcmu);
}

#[test]
fn tone_end_to_end_pcma() {
    tone_end_to_end(Codec::Pcma);
}

#[test]
fn tone_end_to_end_g722() {
    tone_end_to_end(Codec::G722);
}

#[test]
fn tone_end_to_end_opus() {
    tone_end_to_end(Codec::Opus);
}

#[test]
fn tone_end_to_end_l16() {
    for rate in [L16Rate::Hz8000, L16Rate::Hz16000, L16Rate::Hz48000] {
        tone_end_to_end(Codec::L16(rate));
    }
}
