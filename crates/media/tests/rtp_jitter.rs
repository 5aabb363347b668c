//! Jitter buffer scenarios in simulated time: a sender, a network that
//! delays, reorders, loses or bursts packets, and a playout tick.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use callwire_media::rtp::{JitterBuffer, JitterConfig, Playout, Pushed};

const FRAME: u32 = 160;
const SSRC: u32 = 0x1234_5678;

/// Small deterministic generator (xorshift64*), so scenarios are repeatable
/// without a dependency.
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

/// One packet as the network delivers it.
#[derive(Debug, Clone)]
struct Arrival {
    at_ms: f64,
    ssrc: u32,
    seq: u16,
    ts: u32,
    marker: bool,
    payload: Vec<u8>,
}

/// A sent packet: index `i` of a stream starting at `seq0`/`ts0`.
fn packet(i: u32, seq0: u16, ts0: u32, at_ms: f64) -> Arrival {
    let ts = ts0.wrapping_add(i * FRAME);
    Arrival {
        at_ms,
        ssrc: SSRC,
        seq: seq0.wrapping_add(i as u16),
        ts,
        marker: i == 0,
        payload: ts.to_be_bytes().to_vec(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Frame(u32),
    Missing(u32),
    Idle,
}

struct Sim {
    start: Instant,
    jb: JitterBuffer,
    out: Vec<Out>,
    pushed: Vec<Pushed>,
}

impl Sim {
    fn new(config: JitterConfig) -> Self {
        Sim {
            start: Instant::now(),
            jb: JitterBuffer::new(config),
            out: Vec::new(),
            pushed: Vec::new(),
        }
    }

    fn at(&self, ms: f64) -> Instant {
        self.start + Duration::from_micros((ms * 1000.0).round() as u64)
    }

    fn pop(&mut self, ms: f64) -> Out {
        let now = self.at(ms);
        let out = match self.jb.pop(now) {
            Playout::Frame { timestamp, payload } => {
                assert_eq!(payload, timestamp.to_be_bytes(), "payload of {timestamp}");
                Out::Frame(timestamp)
            }
            Playout::Missing {
                timestamp,
                duration,
            } => {
                assert!(duration > 0);
                Out::Missing(timestamp)
            }
            Playout::Idle => Out::Idle,
        };
        self.out.push(out.clone());
        out
    }

    /// Delivers `arrivals` (in any order) and pops every 20 ms from `tick0`
    /// until `end_ms`. A packet arriving at the same time as a tick is
    /// pushed first.
    fn run(&mut self, mut arrivals: Vec<Arrival>, tick0: f64, end_ms: f64) {
        arrivals.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        let mut next = arrivals.into_iter().peekable();
        let mut tick = tick0;
        while tick <= end_ms {
            while let Some(a) = next.next_if(|a| a.at_ms <= tick) {
                let now = self.at(a.at_ms);
                let r = self.jb.push(now, a.ssrc, a.seq, a.ts, a.marker, &a.payload);
                self.pushed.push(r);
            }
            self.pop(tick);
            tick += 20.0;
        }
    }

    fn frames(&self) -> Vec<u32> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Out::Frame(ts) => Some(*ts),
                _ => None,
            })
            .collect()
    }

    fn missing(&self) -> Vec<u32> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Out::Missing(ts) => Some(*ts),
                _ => None,
            })
            .collect()
    }

    /// Every packet pushed is accounted for exactly once.
    fn check_accounting(&self) {
        let s = self.jb.stats();
        assert_eq!(
            s.received,
            s.played
                + s.late
                + s.duplicates
                + s.dropped_overflow
                + s.dropped_invalid
                + s.flushed
                + self.jb.buffered() as u64,
            "{s:?}"
        );
    }
}

fn sent_ts(n: u32, ts0: u32) -> Vec<u32> {
    (0..n).map(|i| ts0.wrapping_add(i * FRAME)).collect()
}

#[test]
fn in_order_stream_plays_every_frame_once() {
    let mut sim = Sim::new(JitterConfig::default());
    let arrivals = (0..500)
        .map(|i| packet(i, 1000, 5000, 3.0 + 20.0 * f64::from(i)))
        .collect();
    sim.run(arrivals, 0.0, 20.0 * 520.0);
    assert_eq!(sim.frames(), sent_ts(500, 5000));
    let s = sim.jb.stats().clone();
    assert_eq!(
        (s.played, s.late, s.duplicates, s.dropped_overflow),
        (500, 0, 0, 0)
    );
    // Idle before the first frame, frames without gaps, then at most the
    // concealment limit (100 ms) of Missing before Idle again.
    let first = sim
        .out
        .iter()
        .position(|o| matches!(o, Out::Frame(_)))
        .unwrap();
    assert!(sim.out[..first].iter().all(|o| *o == Out::Idle));
    assert!(
        first >= 3,
        "the initial delay of 60 ms is kept, started at tick {first}"
    );
    let tail = &sim.out[first + 500..];
    assert!(tail.iter().filter(|o| matches!(o, Out::Missing(_))).count() <= 5);
    assert!(tail.ends_with(&[Out::Idle, Out::Idle]));
    assert!(s.delay_ms >= 20 && s.delay_ms <= 100, "{s:?}");
    sim.check_accounting();
}

#[test]
fn reordering_and_jitter_play_every_frame_after_adapting() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let n = 3000;
    let arrivals = (0..n)
        .map(|i| {
            let mut delay = 40.0 + 60.0 * rng.unit() - 30.0;
            if rng.unit() < 0.10 {
                // Held back past its successor.
                delay += 25.0;
            }
            packet(i, 40_000, 77, 20.0 * f64::from(i) + delay)
        })
        .collect::<Vec<_>>();
    // The network really reorders: count the inversions.
    let mut by_arrival = arrivals.clone();
    by_arrival.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
    let inversions = by_arrival
        .windows(2)
        .filter(|w| w[1].seq.wrapping_sub(w[0].seq) > 0x8000)
        .count();
    assert!(inversions > 300, "only {inversions} reorderings");

    let mut sim = Sim::new(JitterConfig::default());
    sim.run(arrivals, 0.0, 20.0 * f64::from(n + 40));
    let frames = sim.frames();
    // Played in order, never twice.
    assert!(frames
        .windows(2)
        .all(|w| w[1].wrapping_sub(w[0]) < 0x8000_0000 && w[0] != w[1]));
    // After the first 5 seconds, every frame plays.
    let adapted = 250;
    let played: BTreeSet<u32> = frames.iter().copied().collect();
    let lost_after: Vec<u32> = sent_ts(n, 77)[adapted..]
        .iter()
        .copied()
        .filter(|ts| !played.contains(ts))
        .collect();
    assert!(lost_after.is_empty(), "lost after adapting: {lost_after:?}");
    let s = sim.jb.stats().clone();
    assert!(s.played >= u64::from(n) - 10, "{s:?}");
    assert!(s.target_delay_ms >= 40 && s.target_delay_ms <= 200, "{s:?}");
    sim.check_accounting();
}

#[test]
fn loss_gives_exactly_the_lost_frames_as_missing() {
    let mut rng = Rng(42);
    let n = 2000;
    let mut lost = BTreeSet::new();
    let mut arrivals = Vec::new();
    for i in 0..n {
        // Keep the first packets so the start is known, and the last so the
        // stream end is not a loss.
        if i > 5 && i < n - 5 && rng.unit() < 0.05 {
            lost.insert(FRAME * i);
            continue;
        }
        arrivals.push(packet(i, 0, 0, 10.0 + 20.0 * f64::from(i)));
    }
    assert!(lost.len() > 60, "{}", lost.len());
    let mut sim = Sim::new(JitterConfig::default());
    sim.run(arrivals, 0.0, 20.0 * f64::from(n + 3));
    let missing = sim.missing();
    let missing_set: BTreeSet<u32> = missing.iter().copied().collect();
    assert_eq!(
        missing.len(),
        missing_set.len(),
        "a frame reported missing twice"
    );
    assert_eq!(missing_set, lost);
    let frames = sim.frames();
    assert_eq!(frames.len() + lost.len(), n as usize);
    assert!(frames.iter().all(|ts| !lost.contains(ts)));
    // Frames and concealment interleave in timestamp order.
    let timeline: Vec<u32> = sim
        .out
        .iter()
        .filter_map(|o| match o {
            Out::Frame(ts) | Out::Missing(ts) => Some(*ts),
            Out::Idle => None,
        })
        .collect();
    assert_eq!(timeline, sent_ts(n, 0));
    assert_eq!(sim.jb.stats().concealed, lost.len() as u64);
    sim.check_accounting();
}

#[test]
fn sequence_and_timestamp_wrap() {
    let ts0 = u32::MAX - 20 * FRAME + 1;
    let seq0: u16 = 65_500;
    let n = 200;
    // Lose the packets on both sides of the sequence wrap.
    let arrivals = (0..n)
        .filter(|&i| seq0.wrapping_add(i as u16) != 65_535 && seq0.wrapping_add(i as u16) != 0)
        .map(|i| packet(i, seq0, ts0, 7.0 + 20.0 * f64::from(i)))
        .collect();
    let mut sim = Sim::new(JitterConfig::default());
    sim.run(arrivals, 0.0, 20.0 * f64::from(n + 3));
    let expected: Vec<u32> = sent_ts(n, ts0);
    let timeline: Vec<u32> = sim
        .out
        .iter()
        .filter_map(|o| match o {
            Out::Frame(ts) | Out::Missing(ts) => Some(*ts),
            Out::Idle => None,
        })
        .collect();
    assert_eq!(timeline, expected);
    let lost: Vec<u32> = [35u32, 36]
        .iter()
        .map(|i| ts0.wrapping_add(i * FRAME))
        .collect();
    assert_eq!(sim.missing(), lost);
    // The timestamp wrapped too.
    assert!(sim.frames().contains(&0) || lost.contains(&0));
    assert!(sim.frames().iter().any(|&ts| ts < 10_000));
    assert!(sim.frames().iter().any(|&ts| ts > u32::MAX - 10_000));
}

#[test]
fn duplicates_are_dropped_and_counted() {
    let mut arrivals = Vec::new();
    for i in 0..300 {
        arrivals.push(packet(i, 9, 1, 20.0 * f64::from(i)));
        arrivals.push(packet(i, 9, 1, 20.0 * f64::from(i) + 1.0));
        if i % 10 == 0 {
            // A third copy much later, after it has played.
            arrivals.push(packet(i, 9, 1, 20.0 * f64::from(i) + 150.0));
        }
    }
    let mut sim = Sim::new(JitterConfig::default());
    sim.run(arrivals, 0.0, 20.0 * 310.0);
    assert_eq!(sim.frames(), sent_ts(300, 1));
    let s = sim.jb.stats();
    assert_eq!(s.duplicates, 330);
    assert_eq!(s.late, 0);
    sim.check_accounting();
}

#[test]
fn burst_is_bounded_and_does_not_panic() {
    let config = JitterConfig {
        capacity: 32,
        ..JitterConfig::default()
    };
    let mut sim = Sim::new(config);
    // Normal flow for a second, then 200 packets at once, then normal again.
    let mut arrivals: Vec<Arrival> = (0..50)
        .map(|i| packet(i, 0, 0, 20.0 * f64::from(i)))
        .collect();
    arrivals.extend((50..250).map(|i| packet(i, 0, 0, 5000.0)));
    arrivals.extend((250..400).map(|i| packet(i, 0, 0, 20.0 * f64::from(i))));
    sim.run(arrivals, 0.0, 20.0 * 420.0);
    assert!(sim.jb.buffered() <= 32);
    let s = sim.jb.stats().clone();
    assert!(s.late + s.dropped_overflow >= 200 - 32, "{s:?}");
    // The frames that play do so in order and the delay comes back down.
    let frames = sim.frames();
    assert!(frames.windows(2).all(|w| w[0] < w[1]));
    assert!(frames.contains(&(399 * FRAME)));
    assert!(s.delay_ms <= 400, "{s:?}");
    sim.check_accounting();

    // And the same burst straight into a fresh buffer.
    let mut jb = JitterBuffer::new(JitterConfig {
        capacity: 16,
        ..JitterConfig::default()
    });
    let now = Instant::now();
    for i in 0..200u16 {
        jb.push(now, 1, i, u32::from(i) * FRAME, false, &[0; 160]);
        assert!(jb.buffered() <= 16);
    }
    let mut frames = 0;
    for k in 0..300u64 {
        if let Playout::Frame { .. } = jb.pop(now + Duration::from_millis(20 * k)) {
            frames += 1;
        }
    }
    assert!((1..=16).contains(&frames), "{frames}");
}

#[test]
fn late_packet_is_dropped_and_grows_the_delay() {
    let mut arrivals: Vec<Arrival> = (0..600)
        .map(|i| packet(i, 0, 0, 5.0 + 20.0 * f64::from(i)))
        .collect();
    // Packet 300 comes 200 ms late, packet 320 150 ms late.
    arrivals[300].at_ms += 200.0;
    arrivals[320].at_ms += 150.0;
    let (early, late): (Vec<Arrival>, Vec<Arrival>) =
        arrivals.into_iter().partition(|a| a.at_ms < 6210.0);
    let mut sim = Sim::new(JitterConfig::default());
    sim.run(early.clone(), 0.0, 5800.0);
    let before = sim.jb.stats().target_delay_ms;
    sim.run(
        early.into_iter().filter(|a| a.at_ms > 5800.0).collect(),
        5820.0,
        6220.0,
    );
    let s = sim.jb.stats().clone();
    assert_eq!(s.late, 1, "{s:?}");
    assert_eq!(sim.missing(), vec![300 * FRAME]);
    assert!(
        s.target_delay_ms >= before + 150,
        "target {before} -> {}",
        s.target_delay_ms
    );

    // The next late packet finds a longer delay and plays, after
    // concealment frames that stretch the delay.
    sim.run(late, 6240.0, 20.0 * 610.0);
    let s = sim.jb.stats().clone();
    assert_eq!(s.late, 1, "{s:?}");
    assert!(sim.frames().contains(&(320 * FRAME)));
    let stretched = sim
        .missing()
        .iter()
        .filter(|&&ts| ts == 320 * FRAME)
        .count();
    assert!((3..=10).contains(&stretched), "{stretched}");
    assert!(s.delay_ms >= 150, "{s:?}");
    sim.check_accounting();
}

#[test]
fn talkspurts_shrink_the_delay_in_silence_only() {
    // Ten seconds of jittery continuous speech, then talkspurts of one
    // second separated by half a second of silence (DTX: the timestamp jumps,
    // the sequence does not) without jitter.
    let mut rng = Rng(7);
    let mut arrivals = Vec::new();
    let mut seq: u16 = 100;
    let mut ts: u32 = 0;
    let mut spurt_starts = Vec::new();
    let mut all_ts = Vec::new();
    let mut t = 0.0;
    for i in 0..500 {
        arrivals.push(Arrival {
            at_ms: t + 10.0 + 80.0 * rng.unit(),
            ssrc: SSRC,
            seq,
            ts,
            marker: i == 0,
            payload: ts.to_be_bytes().to_vec(),
        });
        all_ts.push(ts);
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(FRAME);
        t += 20.0;
    }
    for _spurt in 0..20 {
        t += 500.0;
        ts = ts.wrapping_add(4000);
        spurt_starts.push(ts);
        for i in 0..50 {
            arrivals.push(Arrival {
                at_ms: t + 10.0,
                ssrc: SSRC,
                seq,
                ts,
                marker: i == 0,
                payload: ts.to_be_bytes().to_vec(),
            });
            all_ts.push(ts);
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(FRAME);
            t += 20.0;
        }
    }
    let mut sim = Sim::new(JitterConfig::default());
    sim.run(arrivals.clone(), 0.0, 20.0 * 500.0);
    let jittery = sim.jb.stats().delay_ms;
    let rest: Vec<Arrival> = arrivals
        .into_iter()
        .filter(|a| a.at_ms > 20.0 * 500.0)
        .collect();
    sim.run(rest, 20.0 * 501.0, t + 200.0);
    let s = sim.jb.stats().clone();
    assert!(jittery >= 35, "delay under jitter {jittery}");
    assert!(
        s.target_delay_ms <= 25 && s.delay_ms <= 25,
        "delay did not come down from {jittery}: {s:?}"
    );
    // Nothing was dropped to get there: every talkspurt frame played.
    assert_eq!(s.dropped_overflow, 0);
    let played: BTreeSet<u32> = sim.frames().into_iter().collect();
    let skipped: Vec<u32> = all_ts[500..]
        .iter()
        .copied()
        .filter(|t| !played.contains(t))
        .collect();
    assert!(skipped.is_empty(), "{skipped:?}");
    // Between talkspurts only a short concealment, then silence.
    let mut run = 0;
    for o in &sim.out[600..] {
        match o {
            Out::Missing(_) => {
                run += 1;
                assert!(run <= 5);
            }
            _ => run = 0,
        }
    }
}

#[test]
fn longer_packets_than_configured_play_by_timestamp() {
    // 30 ms packets (240 units) while the buffer expects 20 ms; the decoder
    // pulls a frame whenever it has less than one 20 ms tick of audio.
    let n = 400;
    let arrivals: Vec<Arrival> = (0..n)
        .map(|i| {
            let ts = 240 * i;
            Arrival {
                at_ms: 4.0 + 30.0 * f64::from(i),
                ssrc: SSRC,
                seq: i as u16,
                ts,
                marker: i == 0,
                payload: ts.to_be_bytes().to_vec(),
            }
        })
        .collect();
    let mut sim = Sim::new(JitterConfig::default());
    let mut next = arrivals.into_iter().peekable();
    let mut queued: u32 = 0;
    let mut tick = 0.0;
    while tick < 30.0 * f64::from(n) + 400.0 {
        while let Some(a) = next.next_if(|a| a.at_ms <= tick) {
            let now = sim.at(a.at_ms);
            sim.jb.push(now, a.ssrc, a.seq, a.ts, a.marker, &a.payload);
        }
        while queued < 160 {
            queued += match sim.pop(tick) {
                Out::Frame(_) => 240,
                Out::Missing(_) | Out::Idle => 160,
            };
        }
        queued -= 160;
        tick += 20.0;
    }
    let frames = sim.frames();
    assert_eq!(frames, (0..n).map(|i| 240 * i).collect::<Vec<_>>());
    let first = sim
        .out
        .iter()
        .position(|o| matches!(o, Out::Frame(_)))
        .unwrap();
    let last = sim
        .out
        .iter()
        .rposition(|o| matches!(o, Out::Frame(_)))
        .unwrap();
    let between = &sim.out[first..=last];
    let gaps = between
        .iter()
        .filter(|o| !matches!(o, Out::Frame(_)))
        .count();
    assert!(gaps <= 2, "{gaps} gaps while learning the packet length");
}

#[test]
fn ssrc_change_resyncs() {
    let mut arrivals: Vec<Arrival> = (0..100)
        .map(|i| packet(i, 10, 1000, 20.0 * f64::from(i)))
        .collect();
    // A new source 2 s later with unrelated numbers.
    arrivals.extend((0..100).map(|i| Arrival {
        ssrc: 0xdead_beef,
        ..packet(i, 50_000, 3_000_000_000, 4000.0 + 20.0 * f64::from(i))
    }));
    let mut sim = Sim::new(JitterConfig::default());
    sim.run(arrivals, 0.0, 20.0 * 320.0);
    let s = sim.jb.stats().clone();
    assert_eq!(s.resyncs, 1, "{s:?}");
    let frames = sim.frames();
    // The old stream fully, the new one from its second packet (the first
    // only announces the change).
    let mut expected = sent_ts(100, 1000);
    expected.extend(sent_ts(100, 3_000_000_000).into_iter().skip(1));
    assert_eq!(frames, expected);
    assert!(sim.pushed.contains(&Pushed::Resynced));
    sim.check_accounting();
}

#[test]
fn stray_packet_does_not_resync() {
    let mut arrivals: Vec<Arrival> = (0..200)
        .map(|i| packet(i, 0, 0, 20.0 * f64::from(i)))
        .collect();
    // Packet 100 carries a wild timestamp, packet 150 a foreign SSRC.
    arrivals[100].ts = 0x8000_0000;
    arrivals[150].ssrc = 99;
    let mut sim = Sim::new(JitterConfig::default());
    sim.run(arrivals, 0.0, 20.0 * 203.0);
    let s = sim.jb.stats().clone();
    assert_eq!((s.resyncs, s.dropped_invalid), (0, 2), "{s:?}");
    let missing: Vec<u32> = sim
        .missing()
        .into_iter()
        .filter(|&ts| ts < 200 * FRAME)
        .collect();
    assert_eq!(missing, vec![100 * FRAME, 150 * FRAME]);
    assert_eq!(sim.frames().len(), 198);
}

#[test]
fn timestamp_jump_with_continuous_sequence_resyncs() {
    // The sender restarts its timestamps (same SSRC, sequence continues).
    let mut arrivals: Vec<Arrival> = (0..100)
        .map(|i| packet(i, 0, 0, 20.0 * f64::from(i)))
        .collect();
    arrivals.extend((100..200).map(|i| {
        let mut p = packet(i, 0, 0, 20.0 * f64::from(i));
        p.ts = p.ts.wrapping_add(1_000_000_000);
        p.payload = p.ts.to_be_bytes().to_vec();
        p
    }));
    let mut sim = Sim::new(JitterConfig::default());
    sim.run(arrivals, 0.0, 20.0 * 210.0);
    let s = sim.jb.stats().clone();
    assert_eq!(s.resyncs, 1, "{s:?}");
    assert!(s.played >= 190, "{s:?}");
    sim.check_accounting();

    // Restarted backwards: the packets look hopelessly late, which a backlog
    // after an outage also does; only after a second of them is it a resync.
    let mut arrivals: Vec<Arrival> = (0..100)
        .map(|i| packet(i, 0, 0, 20.0 * f64::from(i)))
        .collect();
    arrivals.extend((100..300).map(|i| {
        let mut p = packet(i, 0, 0, 20.0 * f64::from(i));
        p.ts = p.ts.wrapping_sub(1_000_000_000);
        p.payload = p.ts.to_be_bytes().to_vec();
        p
    }));
    let mut sim = Sim::new(JitterConfig::default());
    sim.run(arrivals, 0.0, 20.0 * 310.0);
    let s = sim.jb.stats().clone();
    assert_eq!(s.resyncs, 1, "{s:?}");
    assert_eq!(s.late, 50, "{s:?}");
    assert!(s.played >= 240, "{s:?}");
    let frames = sim.frames();
    assert_eq!(
        frames.last(),
        Some(&(299 * FRAME).wrapping_sub(1_000_000_000))
    );
    sim.check_accounting();
}

#[test]
fn hostile_pushes_and_clock_going_backwards() {
    let mut rng = Rng(99);
    let start = Instant::now();
    let mut jb = JitterBuffer::new(JitterConfig {
        capacity: 8,
        max_payload: 64,
        ..JitterConfig::default()
    });
    let mut counts = BTreeMap::new();
    let mut ms = 0u64;
    let (mut seq, mut ts) = (0u16, 0u32);
    for _ in 0..50_000 {
        let r = rng.next();
        // Time mostly advances, sometimes jumps back or far ahead.
        ms = match r % 50 {
            0 => ms.saturating_sub(r >> 50),
            1 => ms + (r >> 48),
            _ => ms + (r >> 8) % 30,
        };
        let now = start + Duration::from_millis(ms);
        // A plausible stream with every kind of damage mixed in.
        let (ssrc, s, t) = match (r >> 16) % 20 {
            0 => (1, (r >> 24) as u16, (r >> 32) as u32),
            1 => ((r >> 24) as u32 % 3, seq, ts),
            2 => (1, seq.wrapping_sub((r >> 24) as u16 % 200), ts),
            3 => (1, seq, ts.wrapping_add((r >> 24) as u32)),
            4 => (1, seq.wrapping_add(1), ts.wrapping_add(80)),
            _ => {
                seq = seq.wrapping_add(1 + ((r >> 24) % 2) as u16);
                ts = ts.wrapping_add(160 * (1 + ((r >> 26) % 2) as u32));
                (1, seq, ts)
            }
        };
        let len = ((r >> 40) % 100) as usize;
        let pushed = jb.push(now, ssrc, s, t, r & 1 == 0, &vec![0xab; len]);
        *counts.entry(format!("{pushed:?}")).or_insert(0) += 1;
        assert!(jb.buffered() <= 8);
        if matches!(r % 3, 1 | 2) {
            if let Playout::Missing { duration, .. } = jb.pop(now) {
                assert!(duration > 0);
            }
        }
    }
    assert!(counts.len() >= 5, "{counts:?}");
    let s = jb.stats();
    assert!(s.played > 100, "{s:?}");
    assert_eq!(
        s.received,
        s.played
            + s.late
            + s.duplicates
            + s.dropped_overflow
            + s.dropped_invalid
            + s.flushed
            + jb.buffered() as u64
    );

    // Degenerate configuration is corrected, not a division by zero.
    let mut jb = JitterBuffer::new(JitterConfig {
        clock_rate: 0,
        frame_duration: 0,
        min_delay_ms: 500,
        max_delay_ms: 10,
        initial_delay_ms: 0,
        capacity: 0,
        max_payload: 0,
    });
    assert_eq!(jb.push(start, 1, 1, 1, true, &[]), Pushed::Buffered);
    assert_eq!(jb.push(start, 1, 2, 2, false, &[1]), Pushed::Dropped);
    for k in 0..10 {
        let _ = jb.pop(start + Duration::from_secs(k));
    }
}

#[test]
fn pop_before_any_packet_is_idle() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    assert_eq!(jb.pop(Instant::now()), Playout::Idle);
    assert_eq!(jb.stats().played, 0);
}
