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
use callwire_media::dtmf::Method;
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
fn params(
    codec: Codec,
    remote_rtp: SocketAddr,
    remote_rtcp: SocketAddr,
    dir: Direction,
) -> StreamParams {
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
                assert!(
                    stuck < 10_000,
                    "a deadline does not move at {:?}",
                    self.elapsed()
                );
            } else {
                stuck = 0;
            }
            self.now = self.now.max(next);
            let now = self.now;
            while self.queue.peek().is_some_and(|Reverse(f)| f.at <= now) {
                let Some(Reverse(f)) = self.queue.pop() else {
                    break;
                };
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
        let dest = [
            (B_RTP, true, false),
            (B_RTCP, true, true),
            (A_RTP, false, false),
            (A_RTCP, false, true),
        ]
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
        .map(|i| {
            (amplitude * (std::f64::consts::TAU * freq * i as f64 / f64::from(rate)).sin()) as i16
        })
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
    let (first, last) =
        tone_span(rec, rate, 1000.0).unwrap_or_else(|| panic!("{codec:?}: no tone"));
    let dur = (last - first) as f64 / f64::from(rate);
    assert!((dur - 1.0).abs() <= 0.060, "{codec:?}: tone lasted {dur} s");
    // The middle half of the tone: 1000 Hz within ±2 %, and dominant.
    let mid = &rec[first + (last - first) / 4..last - (last - first) / 4];
    let f = dominant_freq(mid, rate, 300.0, 3400.0, 10.0);
    let f = dominant_freq(mid, rate, f - 10.0, f + 10.0, 1.0);
    assert!((f - 1000.0).abs() <= 20.0, "{codec:?}: dominant {f} Hz");
    let p_tone = goertzel_power(mid, rate, f);
    for other in [300.0, 500.0, 700.0, 1500.0, 2000.0, 3000.0] {
        assert!(
            p_tone > 100.0 * goertzel_power(mid, rate, other),
            "{codec:?}: {other} Hz too strong"
        );
    }
    // Amplitude survives the codec (about 8000 peak, RMS ~5657).
    let level = rms(mid);
    assert!((4000.0..7000.0).contains(&level), "{codec:?}: RMS {level}");
    // Outside the tone: quiet.
    let before = &rec[..first.saturating_sub(rate as usize / 50)];
    assert!(
        rms(before) < 200.0,
        "{codec:?}: noise before the tone {}",
        rms(before)
    );

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
    assert_eq!(
        st.rtp.packets_received,
        net.b.rtp_arrivals.len() as u64,
        "{codec:?}"
    );
    assert_eq!(
        net.a.rtp_sent().count(),
        91,
        "{codec:?}: a packet per tick from 0 to 1800 ms"
    );
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

// ---------------------------------------------------------------- 2. PCM playback

fn pcmu_pair() -> Net {
    let mut net = Net::pair(Link::default());
    net.start_a(Codec::Pcmu, Direction::SendRecv);
    net.start_b(Codec::Pcmu, Direction::SendRecv);
    net.b.s.set_recording(Some(RecordMode::Mixed));
    net
}

fn finished(peer: &Peer) -> Vec<(u64, bool)> {
    peer.events
        .iter()
        .filter_map(|(_, e)| match e {
            SessionEvent::PlaybackFinished { id, stopped } => Some((*id, *stopped)),
            _ => None,
        })
        .collect()
}

/// The recording of a PCMU session started at 0 between two times.
fn rec_8k(rec: &[i16], from: Duration, to: Duration) -> &[i16] {
    let idx = |d: Duration| ((d.as_millis() as usize) * 8).min(rec.len());
    &rec[idx(from)..idx(to)]
}

#[test]
fn pcm_at_16k_is_resampled_into_a_pcmu_call() {
    let mut net = pcmu_pair();
    net.run_until(ms(100));
    let buf: Arc<[i16]> = sine(440.0, 16000, 16000, 8000.0).into();
    net.a.s.play(
        1,
        PlaySource::Pcm {
            samples: buf,
            rate: 16000,
        },
        false,
    );
    net.run_until(ms(1600));

    let rec = &net.b.left;
    let (first, last) = tone_span(rec, 8000, 440.0).expect("no 440 Hz");
    let dur = (last - first) as f64 / 8000.0;
    assert!((dur - 1.0).abs() <= 0.060, "played {dur} s");
    let mid = &rec[first + 2000..last - 2000];
    let f = dominant_freq(mid, 8000, 200.0, 3400.0, 5.0);
    let f = dominant_freq(mid, 8000, f - 5.0, f + 5.0, 0.5);
    assert!((f - 440.0).abs() <= 8.8, "dominant {f} Hz");
    // Twice the frequency is what a missing resampler would give.
    assert!(goertzel_power(mid, 8000, 440.0) > 100.0 * goertzel_power(mid, 8000, 880.0));
    assert_eq!(finished(&net.a), vec![(1, false)]);
}

#[test]
fn looped_pcm_plays_until_stopped() {
    let mut net = pcmu_pair();
    net.run_until(ms(100));
    // 250 ms of 440 Hz (110 whole cycles), so the loop has no seam.
    let buf: Arc<[i16]> = sine(440.0, 16000, 4000, 8000.0).into();
    net.a.s.play(
        2,
        PlaySource::Pcm {
            samples: buf,
            rate: 16000,
        },
        true,
    );
    net.run_until(ms(3000));
    assert_eq!(
        finished(&net.a),
        vec![],
        "a looped playback ended by itself"
    );
    // Still playing 11 loops later, with no gap anywhere.
    for frame in rec_8k(&net.b.left, ms(300), ms(2900)).chunks(160) {
        assert!(
            rms(frame) > 4000.0,
            "gap in the looped playback: RMS {}",
            rms(frame)
        );
    }
    let tail = rec_8k(&net.b.left, ms(2500), ms(2900));
    assert!((dominant_freq(tail, 8000, 400.0, 480.0, 1.0) - 440.0).abs() <= 8.8);

    net.a.s.stop_playback();
    net.drain();
    assert_eq!(finished(&net.a), vec![(2, true)]);
    net.a.s.stop_playback();
    net.run_until(ms(3600));
    assert_eq!(finished(&net.a), vec![(2, true)], "stopped twice");
    let after = rec_8k(&net.b.left, ms(3300), ms(3600));
    assert!(
        rms(after) < 100.0,
        "still audible after stop: {}",
        rms(after)
    );

    // Replacing a playback reports the old one as stopped.
    let spec = ToneSpec::parse("!1000/5000").unwrap();
    net.a.s.play(3, PlaySource::Tone(spec.clone()), false);
    net.run_for(ms(100));
    net.a.s.play(4, PlaySource::Tone(spec), false);
    net.run_for(ms(100));
    assert_eq!(finished(&net.a), vec![(2, true), (3, true)]);
}

// ---------------------------------------------------------------- 3. DTMF

fn dtmf_run(net: &mut Net, digits: &str, method: SendMethod) {
    net.run_until(ms(200));
    net.a.s.send_dtmf(digits, method).unwrap();
    net.run_until(ms(3000));
}

fn expect_digits(peer: &Peer, digits: &str, method: Method) {
    let want: Vec<_> = digits.chars().map(|c| (c, method)).collect();
    assert_eq!(peer.dtmf(), want);
}

#[test]
fn rfc4733_digits_arrive_once_in_order() {
    let mut net = pcmu_pair();
    dtmf_run(&mut net, "159#", SendMethod::Rfc4733);
    expect_digits(&net.b, "159#", Method::Rfc4733);
    assert_eq!(net.a.count(|e| *e == SessionEvent::DtmfSent), 1);
    // The events travel on the telephone-event payload type.
    let events = net
        .a
        .rtp_sent()
        .filter(|s| s.rtp_header().unwrap().payload_type == TEL_EVENT_PT);
    assert!(events.count() >= 4 * 5, "100 ms per digit at 20 ms ptime");
    // The digits carry sensible durations (100 ms sent).
    for (_, e) in &net.b.events {
        if let SessionEvent::Dtmf(d) = e {
            assert!((ms(80)..=ms(140)).contains(&d.duration), "{d:?}");
        }
    }
}

#[test]
fn rfc4733_survives_loss_and_reordering() {
    for seed in 1..=20u64 {
        let mut net = Net::pair(Link {
            delay: ms(30),
            jitter: ms(50),
            loss: 0.10,
            loss_rtcp: true,
        });
        net.rng = Rng(seed * 0x1234_5677 + 1);
        net.start_a(Codec::Pcmu, Direction::SendRecv);
        net.start_b(Codec::Pcmu, Direction::SendRecv);
        dtmf_run(&mut net, "159#", SendMethod::Rfc4733);
        assert!(net.lost[0] > 0, "seed {seed}: nothing lost");
        assert_eq!(
            net.b.dtmf(),
            "159#"
                .chars()
                .map(|c| (c, Method::Rfc4733))
                .collect::<Vec<_>>(),
            "seed {seed}"
        );
        assert_eq!(
            net.a.count(|e| *e == SessionEvent::DtmfSent),
            1,
            "seed {seed}"
        );
    }
}

fn inband(codec: Codec) {
    let mut cfg_b = config(2);
    cfg_b.detect_inband = true;
    let mut net = Net::new(config(1), cfg_b, Link::default());
    net.start_a(codec, Direction::SendRecv);
    net.start_b(codec, Direction::SendRecv);
    dtmf_run(&mut net, "2580", SendMethod::Inband);
    assert_eq!(
        net.b.dtmf(),
        "2580"
            .chars()
            .map(|c| (c, Method::Inband))
            .collect::<Vec<_>>(),
        "{codec:?}"
    );
    assert_eq!(
        net.a.count(|e| *e == SessionEvent::DtmfSent),
        1,
        "{codec:?}"
    );
    // In-band means audio: no telephone-event packet was sent.
    assert!(net
        .a
        .rtp_sent()
        .all(|s| s.rtp_header().unwrap().payload_type == payload_type(codec)));
}

#[test]
fn inband_dtmf_pcmu() {
    inband(Codec::Pcmu);
}

#[test]
fn inband_dtmf_g722() {
    inband(Codec::G722);
}

#[test]
fn dtmf_requests_are_checked() {
    let mut net = Net::pair(Link::default());
    assert!(
        net.a.s.send_dtmf("1", SendMethod::Rfc4733).is_err(),
        "no stream yet"
    );
    let mut p = params(Codec::Pcmu, B_RTP, B_RTCP, Direction::SendRecv);
    p.telephone_event_pt = None;
    net.a.s.set_stream(net.now, p).unwrap();
    assert!(
        net.a.s.send_dtmf("1", SendMethod::Rfc4733).is_err(),
        "not negotiated"
    );
    assert!(
        net.a.s.send_dtmf("1x", SendMethod::Inband).is_err(),
        "bad digit"
    );
    net.run_until(ms(1000));
    assert_eq!(
        net.a.count(|e| *e == SessionEvent::DtmfSent),
        0,
        "DtmfSent for a refused request"
    );
    assert_eq!(net.b.dtmf(), vec![]);
}

#[test]
fn empty_dtmf_string_is_refused_or_reported_done() {
    for (method, digits) in [
        (SendMethod::Rfc4733, ""),
        (SendMethod::Rfc4733, ","),
        (SendMethod::Inband, ""),
        (SendMethod::Inband, ","),
    ] {
        let mut net = pcmu_pair();
        net.run_until(ms(100));
        if net.a.s.send_dtmf(digits, method).is_ok() {
            net.run_until(ms(1000));
            assert_eq!(
                net.a.count(|e| *e == SessionEvent::DtmfSent),
                1,
                "{method:?}"
            );
        }
        // The session still sends DTMF afterwards.
        net.a.s.send_dtmf("7", method).unwrap();
        net.run_until(ms(2000));
        assert!(
            net.a.count(|e| *e == SessionEvent::DtmfSent) >= 1,
            "{method:?}"
        );
    }
}

// ---------------------------------------------------------------- 4. jitter and loss

#[test]
fn jitter_and_loss_on_pcmu() {
    let link = Link {
        delay: ms(20),
        jitter: ms(30),
        loss: 0.02,
        loss_rtcp: false,
    };
    let mut net = Net::pair(link);
    net.rng = Rng(0xDEAD_BEEF_0042);
    net.start_a(Codec::Pcmu, Direction::SendRecv);
    net.start_b(Codec::Pcmu, Direction::SendRecv);
    net.b.s.set_recording(Some(RecordMode::Mixed));
    let spec = ToneSpec::parse("440").unwrap();
    net.a.s.play(1, PlaySource::Tone(spec), false);
    let end = ms(30_000);
    net.run_until(end);

    // Every packet sent before `settled` has arrived or been lost by now.
    let settled = net.at(end) - link.delay - link.jitter;
    let sent = net.a.rtp_sent().filter(|s| s.at <= settled).count() as f64;
    let st = net.b.s.stats();
    let received = st.rtp.packets_received as f64;
    let ratio = received / sent;
    assert!(
        (ratio - 0.98).abs() <= 0.01,
        "received {received} of {sent}: {ratio}"
    );
    let lost = st.rtp.packets_lost;
    assert!(lost > 0, "loss not counted");
    // Reported loss matches what the network dropped (± the packets in flight).
    assert!(
        (lost - net.lost[0] as i64).abs() <= 3,
        "lost {lost}, dropped {}",
        net.lost[0]
    );
    let jb = st.jitter_buffer.expect("jitter buffer stats");
    assert!(jb.concealed > 0, "{jb:?}");
    assert!(
        jb.concealed <= net.lost[0] + jb.late + 10,
        "too much concealment: {jb:?}"
    );
    assert!(
        st.rtp.jitter_ms > 1.0,
        "jitter not measured: {}",
        st.rtp.jitter_ms
    );
    assert_eq!(st.counters.undecodable, 0);
    assert_eq!(st.counters.ssrc_changes, 0);

    // The recording is continuous: one frame per tick, 0..=30 s.
    assert_eq!(net.b.left.len(), 1501 * 160);
    // And the tone is there nearly all the time (concealment fills the gaps).
    let frames = rec_8k(&net.b.left, ms(500), end).chunks(160);
    let n = frames.len();
    let loud = frames.filter(|f| rms(f) > 2000.0).count();
    assert!(loud * 100 >= n * 97, "{loud} of {n} frames have the tone");
}

// ---------------------------------------------------------------- 5. hold

/// A plays a 440 Hz tone forever to B, which uses `dir`; B records split.
fn hold_pair(dir: Direction) -> Net {
    let mut net = Net::pair(Link::default());
    net.start_a(Codec::Pcmu, Direction::SendRecv);
    net.start_b(Codec::Pcmu, dir);
    net.b.s.set_recording(Some(RecordMode::Split));
    net.a
        .s
        .play(1, PlaySource::Tone(ToneSpec::parse("440").unwrap()), false);
    net
}

fn rtp_between(peer: &Peer, net_start: Instant, from: Duration, to: Duration) -> usize {
    peer.rtp_sent()
        .filter(|s| s.at > net_start + from && s.at <= net_start + to)
        .count()
}

#[test]
fn recvonly_sends_only_rtcp_and_plays_what_arrives() {
    let mut net = hold_pair(Direction::RecvOnly);
    net.run_until(ms(4000));
    assert_eq!(net.b.rtp_sent().count(), 0, "recvonly sent RTP");
    assert!(net.b.rtcp_sent().count() >= 1, "no RTCP while recvonly");
    assert!(
        rms(rec_8k(&net.b.left, ms(500), ms(4000))) > 4000.0,
        "received audio not played"
    );
    assert!(rms(&net.b.right) < 1.0);
    assert_eq!(net.a.s.stats().rtp.packets_received, 0);
}

#[test]
fn sendonly_does_not_play_what_arrives() {
    let mut net = hold_pair(Direction::SendOnly);
    net.b
        .s
        .play(2, PlaySource::Tone(ToneSpec::parse("1000").unwrap()), false);
    net.run_until(ms(4000));
    assert!(net.b.rtp_sent().count() >= 190, "sendonly must send");
    let st = net.b.s.stats();
    assert!(st.rtp.packets_received > 150, "arrivals are still counted");
    assert_eq!(
        st.jitter_buffer.unwrap().received,
        0,
        "sendonly fed the jitter buffer"
    );
    assert!(
        net.b.left.iter().all(|&s| s == 0),
        "received audio recorded while sendonly"
    );
    assert!(rms(&net.b.right) > 4000.0, "our own playback is recorded");
    assert!(rms(&net.a.left) == 0.0);
}

#[test]
fn inactive_sends_no_rtp() {
    let mut net = hold_pair(Direction::Inactive);
    net.b
        .s
        .play(2, PlaySource::Tone(ToneSpec::parse("1000").unwrap()), false);
    net.run_until(ms(4000));
    assert_eq!(net.b.rtp_sent().count(), 0, "inactive sent RTP");
    assert_eq!(net.b.s.stats().jitter_buffer.unwrap().received, 0);
    assert!(net.b.left.iter().all(|&s| s == 0));
}

#[test]
fn direction_changes_take_effect() {
    let mut net = hold_pair(Direction::SendRecv);
    let s = net.start;
    let steps = [
        (Direction::SendRecv, 0),
        (Direction::RecvOnly, 1000),
        (Direction::SendRecv, 2000),
        (Direction::Inactive, 3000),
        (Direction::SendOnly, 4000),
        (Direction::SendRecv, 5000),
    ];
    for (dir, at) in steps.iter().skip(1) {
        net.run_until(ms(*at));
        net.start_b(Codec::Pcmu, *dir);
    }
    net.run_until(ms(6000));
    for (i, (dir, at)) in steps.iter().enumerate() {
        let (from, to) = (ms(*at), ms(at + 1000));
        let sent = rtp_between(&net.b, s, from, to);
        if dir.sends() {
            assert!(
                (49..=51).contains(&sent),
                "step {i} {dir:?}: {sent} packets"
            );
        } else {
            assert_eq!(sent, 0, "step {i} {dir:?}");
        }
        // Received audio, 200 ms after the change (jitter buffer delay).
        let heard = rms(rec_8k(&net.b.left, from + ms(200), to));
        if dir.receives() {
            assert!(heard > 4000.0, "step {i} {dir:?}: RMS {heard}");
        } else {
            assert!(heard < 1.0, "step {i} {dir:?}: RMS {heard}");
        }
    }
    // The recording never skipped a tick.
    assert_eq!(net.b.left.len(), 301 * 160);
    assert_eq!(net.b.right.len(), 301 * 160);
}

// ---------------------------------------------------------------- 6. media timeout

/// B's media timeouts: (when, reported silence), from the start.
fn timeouts(net: &Net) -> Vec<(Duration, Duration)> {
    net.b
        .events
        .iter()
        .filter_map(|(at, e)| match e {
            SessionEvent::MediaTimeout { silence } => Some((*at - net.start, *silence)),
            _ => None,
        })
        .collect()
}

fn timeout_net() -> Net {
    let mut cfg_b = config(2);
    cfg_b.media_timeout = Some(ms(3000));
    Net::new(config(1), cfg_b, Link::default())
}

fn near(d: Duration, want: Duration) -> bool {
    d.abs_diff(want) <= TICK
}

#[test]
fn media_timeout_once_when_nothing_arrives() {
    for dir in [Direction::SendRecv, Direction::RecvOnly] {
        let mut net = timeout_net();
        net.start_b(Codec::Pcmu, dir);
        net.run_until(ms(10_000));
        let t = timeouts(&net);
        assert_eq!(t.len(), 1, "{dir:?}: {t:?}");
        assert!(
            near(t[0].0, ms(3000)) && near(t[0].1, ms(3000)),
            "{dir:?}: {t:?}"
        );
        // A never started: what B sent is counted there, not played.
        if dir.sends() {
            assert!(net.a.s.stats().counters.before_stream > 0);
        }
    }
}

#[test]
fn no_media_timeout_when_not_expecting_media() {
    for dir in [Direction::SendOnly, Direction::Inactive] {
        let mut net = timeout_net();
        net.start_b(Codec::Pcmu, dir);
        net.run_until(ms(10_000));
        assert_eq!(timeouts(&net), vec![], "{dir:?}");
    }
    // Going on hold stops the clock; resuming restarts it from zero.
    let mut net = timeout_net();
    net.start_b(Codec::Pcmu, Direction::SendRecv);
    net.run_until(ms(2000));
    net.start_b(Codec::Pcmu, Direction::SendOnly);
    net.run_until(ms(6000));
    assert_eq!(timeouts(&net), vec![]);
    net.start_b(Codec::Pcmu, Direction::SendRecv);
    net.run_until(ms(12_000));
    let t = timeouts(&net);
    assert_eq!(t.len(), 1, "{t:?}");
    assert!(near(t[0].0, ms(9000)), "{t:?}");
}

#[test]
fn received_rtp_resets_the_media_timer() {
    let mut net = timeout_net();
    net.start_b(Codec::Pcmu, Direction::SendRecv);
    net.run_until(ms(2000));
    net.start_a(Codec::Pcmu, Direction::SendRecv);
    net.run_until(ms(5000));
    // A stops sending: the timeout counts from A's last packet.
    net.start_a(Codec::Pcmu, Direction::RecvOnly);
    net.run_until(ms(10_000));
    let last = *net.b.rtp_arrivals.last().unwrap() - net.start;
    assert!(near(last, ms(5030)), "last arrival {last:?}");
    let t = timeouts(&net);
    assert_eq!(t.len(), 1, "{t:?}");
    assert!(near(t[0].0, last + ms(3000)), "{t:?} after {last:?}");
    // Media comes back, then stops again: a new timeout.
    net.start_a(Codec::Pcmu, Direction::SendRecv);
    net.run_until(ms(12_000));
    net.start_a(Codec::Pcmu, Direction::Inactive);
    net.run_until(ms(20_000));
    let t = timeouts(&net);
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(near(t[1].0, ms(15_030)), "{t:?}");
}

// ---------------------------------------------------------------- 7. RTCP

fn rtcp_kinds(peer: &Peer) -> Vec<(bool, bool, Vec<u32>)> {
    peer.rtcp_sent()
        .map(|s| {
            let packets = parse_compound(&s.data).expect("our own RTCP parses");
            let mut sr = false;
            let mut bye = false;
            let mut blocks = Vec::new();
            for p in packets {
                match p {
                    RtcpPacket::SenderReport(r) => {
                        sr = true;
                        blocks.extend(r.reports.iter().map(|b| b.ssrc));
                    }
                    RtcpPacket::ReceiverReport(r) => {
                        blocks.extend(r.reports.iter().map(|b| b.ssrc))
                    }
                    RtcpPacket::Goodbye(_) => bye = true,
                    _ => {}
                }
            }
            (sr, bye, blocks)
        })
        .collect()
}

#[test]
fn rtcp_reports_rtt_and_bye() {
    let link = Link {
        delay: ms(40),
        ..Link::default()
    };
    let mut net = Net::pair(link);
    net.start_a(Codec::Pcmu, Direction::SendRecv);
    net.start_b(Codec::Pcmu, Direction::SendRecv);
    net.run_until(ms(12_000));
    let (ssrc_a, ssrc_b) = (config(1).ssrc, config(2).ssrc);
    for (peer, other) in [(&net.a, ssrc_b), (&net.b, ssrc_a)] {
        let kinds = rtcp_kinds(peer);
        assert!(kinds.len() >= 2, "{kinds:?}");
        assert!(kinds.iter().all(|(sr, bye, _)| *sr && !bye), "{kinds:?}");
        assert!(kinds.iter().all(|(_, _, b)| b == &[other]), "{kinds:?}");
        assert!(peer
            .rtcp_sent()
            .all(|s| s.to == if peer.rtp == A_RTP { B_RTCP } else { A_RTCP }));
        let st = peer.s.stats();
        let rtt = st.rtp.rtt_ms.expect("an RTT after 12 s");
        assert!((rtt - 80.0).abs() < 2.0, "rtt {rtt} ms");
        assert_eq!(st.rtp.remote_packets_lost, Some(0));
        assert!(st.counters.rtcp_received >= 1);
    }

    let bye_at = net.now;
    let before_close = net.b.sent.len();
    net.b.s.close(bye_at);
    net.drain();
    assert_eq!(net.b.s.poll_timeout(), None);
    net.run_until(ms(13_000));
    let after = &net.b.sent[before_close..];
    assert_eq!(after.len(), 1, "only the BYE after close");
    assert!(after[0].rtcp);
    assert!(rtcp_kinds(&net.b).last().unwrap().1, "last RTCP is no BYE");
    assert_eq!(net.a.count(|e| *e == SessionEvent::RemoteBye), 1);
    let at = net
        .a
        .events
        .iter()
        .find(|(_, e)| *e == SessionEvent::RemoteBye)
        .unwrap()
        .0;
    assert_eq!(at, bye_at + link.delay);
    // A BYE for some other source is not the peer leaving.
    let mut bye = Vec::new();
    callwire_media::rtp::CompoundReport {
        ssrc: 0xBAD,
        sender_info: None,
        report_blocks: &[],
        cname: "stranger",
        bye: Some(""),
    }
    .write(&mut bye)
    .unwrap();
    net.a.s.receive(net.now, addr(66, 6667), &bye, true);
    net.drain();
    assert_eq!(
        net.a.count(|e| *e == SessionEvent::RemoteBye),
        1,
        "a stranger's BYE"
    );
    // Closing twice sends nothing more.
    net.b.s.close(net.now);
    net.drain();
    assert_eq!(net.b.sent.len(), before_close + 1);
}

// ---------------------------------------------------------------- 8. symmetric RTP

#[test]
fn symmetric_rtp_latches_to_the_real_source() {
    let mut net = Net::pair(Link::default());
    let wrong_rtp = addr(1, 4998);
    let wrong_rtcp = addr(1, 4999);
    net.b.s.set_recording(Some(RecordMode::Split));
    net.b
        .s
        .set_stream(
            net.now,
            params(Codec::Pcmu, wrong_rtp, wrong_rtcp, Direction::SendRecv),
        )
        .unwrap();
    net.run_until(ms(500));
    net.start_a(Codec::Pcmu, Direction::SendRecv);
    net.b
        .s
        .play(1, PlaySource::Tone(ToneSpec::parse("1000").unwrap()), false);
    net.run_until(ms(12_000));

    let first_arrival = net.b.rtp_arrivals[0];
    assert_eq!(first_arrival, net.at(ms(530)));
    for s in net.b.rtp_sent() {
        let want = if s.at < first_arrival {
            wrong_rtp
        } else {
            A_RTP
        };
        assert_eq!(s.to, want, "sent at {:?}", s.at - net.start);
    }
    assert!(net.undeliverable.iter().any(|(to, _)| *to == wrong_rtp));
    // A hears B from the first packet after the latch.
    let st = net.a.s.stats();
    assert!(st.rtp.packets_received > 500, "{:?}", st.rtp);
    // RTCP latches on RTCP: once A's first report came in, B answers there.
    let a_first_rtcp = net.a.rtcp_sent().next().expect("A sent RTCP").at + Link::default().delay;
    for s in net.b.rtcp_sent() {
        let want = if s.at < a_first_rtcp {
            wrong_rtcp
        } else {
            A_RTCP
        };
        assert_eq!(s.to, want);
    }
    assert!(net.b.rtcp_sent().any(|s| s.to == A_RTCP));
    assert!(net.a.s.stats().rtp.rtt_ms.is_some());
}

/// Milliseconds after `from` until the tone plays steadily (10 frames in a
/// row; a burst of concealment does not count).
fn audio_back_ms(rec: &[i16], from: Duration, to: Duration) -> Option<usize> {
    let loud: Vec<bool> = rec_8k(rec, from, to)
        .chunks(160)
        .map(|f| rms(f) > 4000.0)
        .collect();
    loud.windows(10)
        .position(|w| w.iter().all(|&l| l))
        .map(|frames| frames * 20)
}

/// A 2 s outage (every packet lost) in a steady stream: the audio comes back
/// within the jitter delay once packets flow again.
#[test]
fn audio_returns_quickly_after_an_outage() {
    let mut net = hold_pair(Direction::SendRecv);
    net.run_until(ms(2000));
    net.link.loss = 1.0;
    net.run_until(ms(4000));
    net.link.loss = 0.0;
    net.run_until(ms(5000));
    let back = audio_back_ms(&net.b.left, ms(4000), ms(5000));
    assert!(
        back.is_some_and(|t| t <= 200),
        "audio back after {back:?} ms"
    );
    let jb = net.b.s.stats().jitter_buffer.unwrap();
    assert!(jb.concealed <= 10, "{jb:?}");
}

/// Coming off hold: audio is back within the jitter delay (not after the
/// jitter buffer concealed every packet dropped during the hold).
#[test]
fn audio_returns_quickly_after_hold() {
    for hold in [Direction::SendOnly, Direction::Inactive] {
        let mut net = hold_pair(Direction::SendRecv);
        net.run_until(ms(1000));
        net.start_b(Codec::Pcmu, hold);
        net.run_until(ms(3000));
        net.start_b(Codec::Pcmu, Direction::SendRecv);
        net.run_until(ms(4000));
        let back = audio_back_ms(&net.b.left, ms(3000), ms(4000));
        assert!(
            back.is_some_and(|t| t <= 200),
            "{hold:?}: audio back after {back:?} ms"
        );
    }
}

// ---------------------------------------------------------------- 9. hostile input

const ATTACKER: SocketAddr = addr(66, 6666);

fn rtp_packet(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    RtpHeader {
        marker: false,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc,
    }
    .write(payload, &mut out);
    out
}

/// Everything B counts about what reached it, summed: each datagram lands
/// in exactly one of these (telephone-event packets aside).
fn accounted(net: &Net) -> u64 {
    let st = net.b.s.stats();
    let c = &st.counters;
    c.malformed_rtp
        + c.malformed_rtcp
        + c.rtcp_received
        + c.unknown_payload_type
        + c.before_stream
        + c.foreign_source
        + c.telephone_events
        + st.jitter_buffer.map_or(0, |j| j.received)
}

fn inject(net: &mut Net, from: SocketAddr, data: &[u8], rtcp_port: bool) {
    let now = net.now;
    net.b.s.receive(now, from, data, rtcp_port);
    net.drain();
}

/// A datagram B should not count anywhere in `accounted`: an RTP
/// telephone-event packet goes to the RFC 4733 receiver.

#[test]
fn hostile_datagrams_are_counted_and_the_stream_goes_on() {
    let mut net = Net::pair(Link::default());
    net.start_a(Codec::Pcmu, Direction::SendRecv);
    net.a
        .s
        .play(1, PlaySource::Tone(ToneSpec::parse("440").unwrap()), false);
    // B has no stream yet: A's packets are counted, not played.
    net.run_until(ms(500));
    let early = net.b.rtp_arrivals.len() as u64;
    assert!(early > 20);
    assert_eq!(net.b.s.stats().counters.before_stream, early);
    net.start_b(Codec::Pcmu, Direction::SendRecv);
    net.b.s.set_recording(Some(RecordMode::Mixed));
    net.run_until(ms(1000));

    let good = rtp_packet(0, 1, 1, 0xBAD, &[0xFF; 160]);
    let mut huge_csrc = good.clone();
    huge_csrc[0] = 0x8F;
    huge_csrc.truncate(12 + 20);
    let mut bad_padding = good.clone();
    bad_padding[0] |= 0x20;
    *bad_padding.last_mut().unwrap() = 200;
    let mut zero_padding = good.clone();
    zero_padding[0] |= 0x20;
    *zero_padding.last_mut().unwrap() = 0;
    let mut version1 = good.clone();
    version1[0] = 0x40;
    let mut ext_overrun = good[..16].to_vec();
    ext_overrun[0] |= 0x10;
    ext_overrun[14] = 0xFF;
    ext_overrun[15] = 0xFF;
    let malformed_rtp: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0x80],
        good[..11].to_vec(),
        version1,
        vec![0u8; 40],
        huge_csrc,
        bad_padding,
        zero_padding,
        ext_overrun,
    ];
    let malformed_rtcp: Vec<Vec<u8>> = vec![
        vec![0x80, 200],
        vec![0x80, 200, 0x00, 0x30, 1, 2, 3, 4],
        vec![0x81, 201, 0xFF, 0xFF, 0, 0, 0, 1],
        vec![0x00, 203, 0, 1, 0, 0, 0, 1],
        vec![0xFF; 64],
    ];
    let before = net.b.s.stats().counters;
    let from_before = accounted(&net);
    for d in &malformed_rtp {
        inject(&mut net, ATTACKER, d, false);
    }
    for d in &malformed_rtcp {
        inject(&mut net, ATTACKER, d, true);
    }
    // Valid RTP, but a payload type nobody negotiated.
    inject(
        &mut net,
        ATTACKER,
        &rtp_packet(77, 5, 5, 0xBAD, &[1; 160]),
        false,
    );
    // A telephone-event packet too short to hold an event.
    inject(
        &mut net,
        ATTACKER,
        &rtp_packet(TEL_EVENT_PT, 9, 9, 0xBAD, &[1, 2]),
        false,
    );
    let c = net.b.s.stats().counters;
    assert_eq!(
        c.malformed_rtp - before.malformed_rtp,
        malformed_rtp.len() as u64
    );
    assert_eq!(
        c.malformed_rtcp - before.malformed_rtcp,
        malformed_rtcp.len() as u64
    );
    assert_eq!(c.unknown_payload_type - before.unknown_payload_type, 1);
    // The event packet comes from another address with another SSRC while A's
    // stream is live: the latch drops it.
    assert_eq!(c.foreign_source - before.foreign_source, 1);
    assert_eq!(
        accounted(&net) - from_before,
        (malformed_rtp.len() + malformed_rtcp.len() + 2) as u64
    );
    assert_eq!(net.b.dtmf(), vec![], "a broken event packet made a digit");

    net.run_until(ms(2000));
    // None of it moved B's destination, and the audio never stopped.
    let injected_at = net.at(ms(1000));
    assert!(net
        .b
        .rtp_sent()
        .filter(|s| s.at >= injected_at)
        .all(|s| s.to == A_RTP));
    for frame in rec_8k(&net.b.left, ms(700), ms(2000)).chunks(160) {
        assert!(
            rms(frame) > 4000.0,
            "a gap in the audio: RMS {}",
            rms(frame)
        );
    }
    assert_eq!(net.b.s.stats().counters.undecodable, 0);
}

#[test]
fn undecodable_and_oversized_payloads_are_counted() {
    // L16 needs an even byte count; 3000 bytes exceed the jitter buffer's limit.
    let codec = Codec::L16(L16Rate::Hz8000);
    let mut net = Net::pair(Link::default());
    net.start_b(codec, Direction::SendRecv);
    let pt = payload_type(codec);
    let ssrc = 0x5151;
    for i in 0..60u16 {
        net.run_until(ms(u64::from(i) * 20 + 5));
        let payload = match i {
            30 => vec![0u8; 319],
            40 => vec![0u8; 3000],
            _ => vec![0u8; 320],
        };
        inject(
            &mut net,
            A_RTP,
            &rtp_packet(pt, 100 + i, 1000 + u32::from(i) * 160, ssrc, &payload),
            false,
        );
    }
    net.run_until(ms(1500));
    let st = net.b.s.stats();
    assert_eq!(st.counters.undecodable, 1, "{:?}", st.counters);
    assert_eq!(st.jitter_buffer.unwrap().dropped_invalid, 1);
    assert_eq!(st.rtp.packets_received, 60);
    // Still one frame per tick.
    assert_eq!(net.b.rtp_sent().count(), 76);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Structurally valid RTP with hostile field values.
    fn crafted() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![Just(0u8), Just(TEL_EVENT_PT), 0u8..128],
            any::<u16>(),
            any::<u32>(),
            prop_oneof![Just(config(1).ssrc), any::<u32>()],
            prop::collection::vec(any::<u8>(), 0..400),
        )
            .prop_map(|(pt, seq, ts, ssrc, payload)| rtp_packet(pt, seq, ts, ssrc, &payload))
    }

    fn datagram() -> impl Strategy<Value = (Vec<u8>, bool, bool)> {
        (
            prop_oneof![prop::collection::vec(any::<u8>(), 0..200), crafted()],
            any::<bool>(),
            any::<bool>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn hostile_datagrams_never_break_the_session(
            codec in prop::sample::select(ALL_CODECS.to_vec()),
            garbage in prop::collection::vec(datagram(), 1..12),
        ) {
            let mut net = Net::pair(Link::default());
            net.start_a(codec, Direction::SendRecv);
            net.start_b(codec, Direction::SendRecv);
            net.b.s.set_recording(Some(RecordMode::Mixed));
            net.a.s.play(1, PlaySource::Tone(ToneSpec::parse("440").unwrap()), false);
            net.run_until(ms(300));
            let before = accounted(&net);
            let mut expected = 0;
            for (data, rtcp_port, from_attacker) in &garbage {
                let from = if *from_attacker { ATTACKER } else { A_RTP };
                inject(&mut net, from, data, *rtcp_port);
                expected += 1;
            }
            prop_assert_eq!(accounted(&net) - before, expected);
            net.run_until(ms(1000));
            // The real stream plays on: the tone is steady at the end, and
            // B sends to A again.
            let rate = codec.pcm_rate();
            let frame = codec.samples_per_frame(20);
            let rec = &net.b.left;
            let tail = &rec[rec.len() - 10 * frame..];
            for f in tail.chunks(frame) {
                prop_assert!(rms(f) > 4000.0, "gap at the end: RMS {}", rms(f));
            }
            prop_assert!((dominant_freq(tail, rate, 400.0, 480.0, 2.0) - 440.0).abs() <= 8.8);
            prop_assert_eq!(net.b.rtp_sent().last().unwrap().to, A_RTP);
        }
    }
}

/// Found by the fuzz test in CI: a spoofed packet with A's SSRC from another
/// address, then one with a new SSRC from there, must not take the stream
/// away from A (the latch needs several packets in a row to move).
#[test]
fn spoofed_ssrc_then_new_ssrc_cannot_steal_the_stream() {
    let mut net = Net::pair(Link::default());
    net.start_a(Codec::Pcmu, Direction::SendRecv);
    net.start_b(Codec::Pcmu, Direction::SendRecv);
    net.b.s.set_recording(Some(RecordMode::Mixed));
    net.a
        .s
        .play(1, PlaySource::Tone(ToneSpec::parse("440").unwrap()), false);
    net.run_until(ms(300));
    let a_ssrc = config(1).ssrc;
    inject(&mut net, ATTACKER, &rtp_packet(0, 0, 0, a_ssrc, &[]), false);
    inject(
        &mut net,
        ATTACKER,
        &rtp_packet(0, 0, 0x0338_863c, 0x6605_b27b, &[0x55; 160]),
        false,
    );
    net.run_until(ms(1000));
    let frame = Codec::Pcmu.samples_per_frame(20);
    let rec = &net.b.left;
    for f in rec[rec.len() - 30 * frame..].chunks(frame) {
        assert!(rms(f) > 4000.0, "gap: RMS {}", rms(f));
    }
    assert_eq!(net.b.s.stats().counters.foreign_source, 2);
    assert_eq!(net.b.rtp_sent().last().unwrap().to, A_RTP);
}
