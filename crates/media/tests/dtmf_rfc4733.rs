//! RFC 4733 receiver and sender: packet sequences modelled on the RFC's
//! examples (§5), with duplication, loss, reordering, long events, packed
//! events, and sender-to-receiver round trips under loss.

use std::time::{Duration, Instant};

use callwire_media::dtmf::rfc4733::{
    parse_payload, EventBlock, EventPacket, Receiver, ReceiverConfig, Sender, SenderConfig,
    END_PACKETS,
};
use callwire_media::dtmf::{Digit, DigitEvent, DtmfError, Method};
use proptest::prelude::*;

const MS: fn(u64) -> Duration = Duration::from_millis;

/// One received packet: arrival time (ms), seq, timestamp, marker, payload.
#[derive(Debug, Clone)]
struct Pkt {
    at: u64,
    seq: u16,
    ts: u32,
    marker: bool,
    payload: Vec<u8>,
}

fn block(event: u8, end: bool, volume: u8, duration: u16) -> Vec<u8> {
    EventBlock {
        event,
        end,
        volume,
        duration,
    }
    .to_bytes()
    .to_vec()
}

fn pkt(at: u64, seq: u16, ts: u32, marker: bool, event: u8, end: bool, duration: u16) -> Pkt {
    Pkt {
        at,
        seq,
        ts,
        marker,
        payload: block(event, end, 10, duration),
    }
}

/// Digit "9" then digit "1" as in RFC 4733 §5 (8000 Hz, 50 ms packets): "9"
/// lasts 1600 ticks and its final packet is sent three times; "1" starts at
/// timestamp 7040 and lasts 1600 ticks.
fn rfc_example() -> Vec<Pkt> {
    vec![
        pkt(50, 1, 0, true, 9, false, 400),
        pkt(100, 2, 0, false, 9, false, 800),
        pkt(150, 3, 0, false, 9, false, 1200),
        pkt(200, 4, 0, false, 9, true, 1600),
        pkt(250, 5, 0, false, 9, true, 1600),
        pkt(300, 6, 0, false, 9, true, 1600),
        pkt(930, 7, 7040, true, 1, false, 400),
        pkt(980, 8, 7040, false, 1, false, 800),
        pkt(1030, 9, 7040, false, 1, false, 1200),
        pkt(1080, 10, 7040, false, 1, true, 1600),
        pkt(1130, 11, 7040, false, 1, true, 1600),
        pkt(1180, 12, 7040, false, 1, true, 1600),
    ]
}

/// Feeds packets in order, then a final timeout; returns all digits.
fn run(rx: &mut Receiver, t0: Instant, pkts: &[Pkt]) -> Vec<DigitEvent> {
    let mut out = Vec::new();
    for p in pkts {
        let now = t0 + MS(p.at);
        if let Some(deadline) = rx.poll_timeout() {
            if deadline <= now {
                out.extend(rx.handle_timeout(deadline));
                out.extend(std::iter::from_fn(|| rx.poll_event()));
            }
        }
        out.extend(rx.on_packet(now, p.seq, p.ts, p.marker, &p.payload));
        out.extend(std::iter::from_fn(|| rx.poll_event()));
    }
    if let Some(deadline) = rx.poll_timeout() {
        out.extend(rx.handle_timeout(deadline));
        out.extend(std::iter::from_fn(|| rx.poll_event()));
    }
    out
}

fn digits(events: &[DigitEvent]) -> String {
    events.iter().map(|e| e.digit.as_char()).collect()
}

#[test]
fn rfc_example_gives_two_digits() {
    let t0 = Instant::now();
    let mut rx = Receiver::default();
    let pkts = rfc_example();
    // The digit is reported on the first end packet, not before, not again.
    let mut reported_at = Vec::new();
    for p in &pkts {
        if let Some(ev) = rx.on_packet(t0 + MS(p.at), p.seq, p.ts, p.marker, &p.payload) {
            reported_at.push((p.seq, ev));
        }
        assert!(rx.poll_event().is_none());
    }
    assert_eq!(reported_at.len(), 2);
    let (seq9, nine) = reported_at[0];
    let (seq1, one) = reported_at[1];
    assert_eq!((seq9, nine.digit), (4, Digit::Nine));
    assert_eq!((seq1, one.digit), (10, Digit::One));
    assert_eq!(nine.duration, MS(200));
    assert_eq!(one.duration, MS(200));
    assert_eq!(nine.source, Method::Rfc4733);
    // Start: first packet at 50 ms reported 400 ticks (50 ms) already.
    assert_eq!(nine.start, t0);
    assert_eq!(one.start, t0 + MS(880));
    let s = rx.stats();
    assert_eq!(
        (
            s.packets,
            s.digits,
            s.duplicates,
            s.ended_without_end_packet
        ),
        (12, 2, 4, 0)
    );
    assert_eq!(rx.poll_timeout(), None);
}

#[test]
fn duplicated_packets_give_one_digit_each() {
    let t0 = Instant::now();
    let mut rx = Receiver::default();
    let pkts: Vec<Pkt> = rfc_example()
        .into_iter()
        .flat_map(|p| [p.clone(), p])
        .collect();
    let ev = run(&mut rx, t0, &pkts);
    assert_eq!(digits(&ev), "91");
    assert_eq!(ev[0].duration, MS(200));
}

#[test]
fn lost_end_packets_reported_when_next_event_starts() {
    let t0 = Instant::now();
    let mut rx = Receiver::default();
    let pkts: Vec<Pkt> = rfc_example()
        .into_iter()
        .filter(|p| !(p.ts == 0 && p.seq >= 4))
        .collect();
    let mut out = Vec::new();
    for p in &pkts {
        out.extend(rx.on_packet(t0 + MS(p.at), p.seq, p.ts, p.marker, &p.payload));
        if p.seq == 7 {
            // The "1" started: the "9" is over, with the duration last seen.
            assert_eq!(digits(&out), "9");
            assert_eq!(out[0].duration, MS(150));
        }
    }
    assert_eq!(digits(&out), "91");
    assert_eq!(rx.stats().ended_without_end_packet, 1);
}

#[test]
fn lost_end_packets_reported_after_timeout() {
    let t0 = Instant::now();
    let mut rx = Receiver::new(ReceiverConfig {
        clock_rate: 8000,
        timeout: MS(250),
    });
    let pkts: Vec<Pkt> = rfc_example().into_iter().filter(|p| p.seq <= 3).collect();
    let mut out = Vec::new();
    for p in &pkts {
        out.extend(rx.on_packet(t0 + MS(p.at), p.seq, p.ts, p.marker, &p.payload));
    }
    assert!(out.is_empty());
    let deadline = rx.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + MS(150 + 250));
    assert_eq!(rx.handle_timeout(deadline - MS(1)), None);
    let ev = rx.handle_timeout(deadline).unwrap();
    assert_eq!(ev.digit, Digit::Nine);
    assert_eq!(ev.duration, MS(150));
    assert_eq!(rx.poll_timeout(), None);
    assert_eq!(rx.handle_timeout(deadline + MS(1000)), None);
    // Late end packets of that event change nothing.
    for p in rfc_example().iter().filter(|p| p.seq >= 4 && p.seq <= 6) {
        assert_eq!(
            rx.on_packet(t0 + MS(500), p.seq, p.ts, p.marker, &p.payload),
            None
        );
    }
    assert_eq!(rx.stats().digits, 1);
}

#[test]
fn same_digit_twice_gives_two_digits() {
    let t0 = Instant::now();
    let two_ones = |lose_first_end: bool| {
        let mut v = vec![
            pkt(20, 100, 8000, true, 1, false, 160),
            pkt(40, 101, 8000, false, 1, false, 320),
            pkt(60, 102, 8000, false, 1, false, 480),
        ];
        if !lose_first_end {
            v.extend([
                pkt(80, 103, 8000, false, 1, true, 640),
                pkt(100, 104, 8000, false, 1, true, 640),
                pkt(120, 105, 8000, false, 1, true, 640),
            ]);
        }
        // Second press 60 ms after the first ended.
        v.extend([
            pkt(160, 106, 9120, true, 1, false, 160),
            pkt(180, 107, 9120, false, 1, false, 320),
            pkt(200, 108, 9120, false, 1, true, 480),
            pkt(220, 109, 9120, false, 1, true, 480),
            pkt(240, 110, 9120, false, 1, true, 480),
        ]);
        v
    };
    for lose in [false, true] {
        let mut rx = Receiver::default();
        let ev = run(&mut rx, t0, &two_ones(lose));
        assert_eq!(digits(&ev), "11", "end packets lost: {lose}");
    }
    // Back to back with no pause and the first end lost: the timestamp is
    // contiguous, but the marker bit says it is a new event, not a segment.
    let pkts = [
        pkt(20, 1, 8000, true, 1, false, 160),
        pkt(40, 2, 8000, false, 1, false, 320),
        pkt(60, 3, 8320, true, 1, false, 160),
        pkt(80, 4, 8320, false, 1, true, 320),
    ];
    let mut rx = Receiver::default();
    assert_eq!(digits(&run(&mut rx, t0, &pkts)), "11");
}

#[test]
fn reordering_within_and_across_events() {
    let t0 = Instant::now();
    let base = rfc_example();
    let orders: Vec<Vec<usize>> = vec![
        // Second packet overtakes the first.
        vec![1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        // An end packet before the last update.
        vec![0, 1, 3, 2, 4, 5, 6, 7, 8, 9, 10, 11],
        // The next event's first packet before this one's end packets.
        vec![0, 1, 2, 6, 3, 4, 5, 7, 8, 9, 10, 11],
        // Fully reversed.
        (0..12).rev().collect(),
    ];
    for order in orders {
        let pkts: Vec<Pkt> = order.iter().map(|&i| base[i].clone()).collect();
        let mut rx = Receiver::default();
        let ev = run(&mut rx, t0, &pkts);
        let got = digits(&ev);
        if order[0] == 11 {
            // Reversed: "1" ends at once; every "9" packet is older than it
            // in sequence number and timestamp, so it counts as late.
            assert_eq!(got, "1");
            assert_eq!(rx.stats().late, 6);
        } else {
            assert_eq!(got, "91", "order {order:?}");
            assert_eq!(
                ev[0].duration,
                if order[3] == 6 { MS(150) } else { MS(200) },
                "order {order:?}"
            );
        }
    }
}

#[test]
fn long_event_in_segments_is_one_digit() {
    // '#' for 10 s at 8000 Hz: 80000 ticks, first segment 0xFFFF, second
    // starts at ts + 0xFFFF without marker (RFC 4733 §2.5.1.3).
    let t0 = Instant::now();
    let ts0: u32 = 4_294_960_000; // wraps during the event
    let mut pkts = Vec::new();
    let mut seq: u16 = 65_500;
    let mut at = 0;
    let mut elapsed: u32 = 0;
    loop {
        elapsed += 160;
        at += 20;
        let total = elapsed.min(80_000);
        let (seg_ts, dur) = if total <= 0xFFFF {
            (ts0, total)
        } else {
            (ts0.wrapping_add(0xFFFF), total - 0xFFFF)
        };
        let end = total == 80_000;
        pkts.push(pkt(at, seq, seg_ts, elapsed == 160, 11, end, dur as u16));
        seq = seq.wrapping_add(1);
        if end {
            break;
        }
    }
    for _ in 0..2 {
        let mut last = pkts.last().unwrap().clone();
        last.seq = seq;
        seq = seq.wrapping_add(1);
        pkts.push(last);
    }
    let mut rx = Receiver::default();
    let ev = run(&mut rx, t0, &pkts);
    assert_eq!(digits(&ev), "#");
    assert_eq!(ev[0].duration, Duration::from_secs(10));

    // Same with the packets around the segment boundary lost.
    let lossy: Vec<Pkt> = pkts
        .iter()
        .filter(|p| {
            let boundary = p.ts == ts0 && p.payload[2..] >= [0xFF, 0x00][..];
            let every_third = p.ts != ts0 && p.at % 60 == 0;
            !boundary && !every_third
        })
        .cloned()
        .collect();
    assert!(lossy.len() < pkts.len() - 3);
    let mut rx = Receiver::default();
    let ev = run(&mut rx, t0, &lossy);
    assert_eq!(digits(&ev), "#");
    assert_eq!(ev[0].duration, Duration::from_secs(10));
}

#[test]
fn packed_events_in_one_packet() {
    // '1' (800 ticks) and '2' (800 ticks) back to back in one payload, both
    // ended; the second starts at ts + 800 (RFC 4733 §2.5.1.5).
    let t0 = Instant::now();
    let mut payload = block(1, true, 10, 800);
    payload.extend(block(2, true, 10, 800));
    let mut rx = Receiver::default();
    let first = rx.on_packet(t0, 1, 1000, true, &payload).unwrap();
    let second = rx.poll_event().unwrap();
    assert_eq!((first.digit, second.digit), (Digit::One, Digit::Two));
    assert_eq!(rx.poll_event(), None);
    // The same packet again (redundant copy) adds nothing, nor does a packet
    // repeating the second event alone.
    assert_eq!(rx.on_packet(t0 + MS(20), 2, 1000, false, &payload), None);
    assert_eq!(
        rx.on_packet(t0 + MS(40), 3, 1800, false, &block(2, true, 10, 800)),
        None
    );
    assert_eq!(rx.poll_event(), None);
    // Then a third event starting in a later packet that repeats '2'.
    let mut payload = block(2, true, 10, 800);
    payload.extend(block(3, false, 10, 160));
    assert_eq!(rx.on_packet(t0 + MS(60), 4, 1800, false, &payload), None);
    let ev = rx
        .on_packet(t0 + MS(80), 5, 2600, false, &block(3, true, 10, 400))
        .unwrap();
    assert_eq!(ev.digit, Digit::Three);
    assert_eq!(rx.stats().digits, 3);
}

#[test]
fn non_digit_events_and_short_payloads_are_counted() {
    let t0 = Instant::now();
    let mut rx = Receiver::default();
    // Flash (16) and a tone event (70) are ignored.
    assert_eq!(
        rx.on_packet(t0, 1, 0, true, &block(16, false, 10, 160)),
        None
    );
    assert_eq!(
        rx.on_packet(t0, 2, 0, false, &block(16, true, 10, 800)),
        None
    );
    assert_eq!(
        rx.on_packet(t0, 3, 800, true, &block(70, true, 10, 800)),
        None
    );
    for short in [&[][..], &[5][..], &[5, 0x80, 1][..]] {
        assert_eq!(rx.on_packet(t0, 4, 900, true, short), None);
    }
    assert!(matches!(
        parse_payload(&[1, 2, 3]),
        Err(DtmfError::PayloadTooShort { len: 3 })
    ));
    // A digit still works afterwards; trailing octets are ignored.
    let mut payload = block(5, true, 10, 800);
    payload.push(0xAA);
    assert_eq!(
        rx.on_packet(t0, 5, 2000, true, &payload).map(|e| e.digit),
        Some(Digit::Five)
    );
    let s = *rx.stats();
    assert_eq!((s.unsupported_events, s.malformed, s.digits), (3, 3, 1));
}

#[test]
fn block_encoding_known_answer() {
    // Event 9, E bit, volume 10, duration 1600 = 0x0640.
    let b = EventBlock {
        event: 9,
        end: true,
        volume: 10,
        duration: 1600,
    };
    assert_eq!(b.to_bytes(), [0x09, 0x8A, 0x06, 0x40]);
    assert_eq!(EventBlock::parse(&[0x09, 0x8A, 0x06, 0x40]).unwrap(), b);
    // The R bit is ignored on receipt.
    assert_eq!(
        EventBlock::parse(&[0x0B, 0x4A, 0x00, 0xA0]).unwrap().volume,
        10
    );
    assert_eq!(
        EventBlock::parse(&[0x0B, 0x4A, 0x00, 0xA0])
            .unwrap()
            .digit(),
        Some(Digit::Pound)
    );
    assert_eq!(parse_payload(&[0; 40]).unwrap().count(), 8);
}

fn collect_packets(tx: &mut Sender, ts0: u32, ticks: usize) -> Vec<(usize, u32, EventPacket)> {
    let frame = tx.config().frame_samples;
    let mut out = Vec::new();
    for i in 0..ticks {
        let ts = ts0.wrapping_add(frame * i as u32);
        if let Some(p) = tx.poll(ts) {
            out.push((i, ts, p));
        }
    }
    out
}

#[test]
fn sender_packet_sequence() {
    let mut tx = Sender::default();
    assert!(tx.is_idle());
    tx.send("12").unwrap();
    assert!(!tx.is_idle());
    let pkts = collect_packets(&mut tx, 1000, 40);
    assert!(tx.is_idle());
    // 100 ms tone = 800 ticks = 5 frames, then 2 more end packets: 7 packets.
    assert_eq!(pkts.len(), 14);
    let (first, second) = pkts.split_at(7);
    for (n, (tick, _, p)) in first.iter().enumerate() {
        assert_eq!(*tick, n);
        assert_eq!(p.timestamp, 1000);
        assert_eq!(p.marker, n == 0);
        assert_eq!(p.digit, Digit::One);
        let b = EventBlock::parse(&p.payload).unwrap();
        assert_eq!(b.event, 1);
        assert_eq!(b.volume, 10);
        assert_eq!(u32::from(b.duration), (160 * (n as u32 + 1)).min(800));
        assert_eq!(b.end, n >= 4);
        assert_eq!(p.end, b.end);
    }
    assert_eq!(
        first.iter().filter(|(_, _, p)| p.end).count(),
        usize::from(END_PACKETS)
    );
    // Next digit: 800 ticks of tone + 480 ticks (60 ms) of pause later.
    let (tick, ts, p) = second[0];
    assert_eq!((tick, ts, p.timestamp), (8, 1000 + 1280, 1000 + 1280));
    assert!(p.marker);
    assert!(second
        .iter()
        .all(|(_, _, p)| p.timestamp == 2280 && p.digit == Digit::Two));
    // Audio frames between them: ticks 7.
    assert_eq!(pkts.iter().filter(|(i, _, _)| *i == 7).count(), 0);
}

#[test]
fn sender_pause_and_errors() {
    let mut tx = Sender::default();
    tx.send_with("1,1", MS(100), MS(60)).unwrap();
    let pkts = collect_packets(&mut tx, 0, 100);
    let starts: Vec<usize> = pkts
        .iter()
        .filter(|(_, _, p)| p.marker)
        .map(|(i, _, _)| *i)
        .collect();
    // Tone+pause = 8 frames, comma = 25 frames.
    assert_eq!(starts, vec![0, 33]);
    assert!(matches!(
        tx.send("12x"),
        Err(DtmfError::InvalidCharacter {
            ch: 'x',
            position: 2
        })
    ));
    assert!(tx.send_with("1", MS(10), MS(60)).is_err());
    assert!(tx
        .send_with("1", MS(100), Duration::from_secs(3600))
        .is_err());
    assert!(tx.is_idle(), "nothing queued by failed calls");
    assert!(SenderConfig::new(8000, MS(0)).is_err());
    assert!(SenderConfig::new(1000, MS(20)).is_err());
    assert_eq!(SenderConfig::new(48000, MS(20)).unwrap().frame_samples, 960);
}

#[test]
fn sender_cancel_ends_tone_cleanly() {
    let mut tx = Sender::default();
    tx.send("123").unwrap();
    let p0 = tx.poll(0).unwrap();
    let p1 = tx.poll(160).unwrap();
    assert!(!p0.end && !p1.end);
    tx.cancel();
    let ends: Vec<EventPacket> = (2..10).filter_map(|i| tx.poll(160 * i)).collect();
    assert_eq!(ends.len(), 3);
    assert!(ends
        .iter()
        .all(|p| p.end && p.digit == Digit::One && p.timestamp == 0));
    assert_eq!(EventBlock::parse(&ends[0].payload).unwrap().duration, 320);
    assert!(tx.is_idle());
}

/// Runs a sender through a lossy link into a receiver.
fn round_trip(
    digits_in: &str,
    cfg: SenderConfig,
    tone: Duration,
    drop: impl Fn(usize) -> bool,
) -> Vec<DigitEvent> {
    let mut tx = Sender::new(cfg);
    tx.send_with(digits_in, tone, MS(60)).unwrap();
    let mut rx = Receiver::new(ReceiverConfig {
        clock_rate: cfg.clock_rate,
        timeout: MS(250),
    });
    let t0 = Instant::now();
    let mut out = Vec::new();
    let mut seq: u16 = 40_000;
    let mut n = 0;
    let ptime = Duration::from_secs_f64(f64::from(cfg.frame_samples) / f64::from(cfg.clock_rate));
    for tick in 0..200_000u32 {
        let now = t0 + ptime * tick;
        out.extend(rx.handle_timeout(now));
        let ts = 123_456u32.wrapping_add(tick.wrapping_mul(cfg.frame_samples));
        if let Some(p) = tx.poll(ts) {
            if !drop(n) {
                out.extend(rx.on_packet(now, seq, p.timestamp, p.marker, &p.payload));
                out.extend(std::iter::from_fn(|| rx.poll_event()));
            }
            n += 1;
        }
        seq = seq.wrapping_add(1);
        if tx.is_idle() && rx.poll_timeout().is_none() && tick > 10 {
            break;
        }
    }
    out
}

#[test]
fn sender_to_receiver_round_trip() {
    let ev = round_trip("1234567890*#ABCD", SenderConfig::default(), MS(100), |_| {
        false
    });
    assert_eq!(digits(&ev), "1234567890*#ABCD");
    assert!(ev.iter().all(|e| e.duration == MS(100)));
    // Every other packet lost.
    let ev = round_trip("55#", SenderConfig::default(), MS(100), |n| n % 2 == 1);
    assert_eq!(digits(&ev), "55#");
    // 48 kHz clock, 10 s tone: two segments.
    let cfg = SenderConfig::new(48000, MS(20)).unwrap();
    let ev = round_trip("7", cfg, Duration::from_secs(10), |_| false);
    assert_eq!(digits(&ev), "7");
    assert_eq!(ev[0].duration, Duration::from_secs(10));
}

#[test]
fn sender_long_tone_segments() {
    let mut tx = Sender::default();
    tx.send_with("9", Duration::from_secs(9), MS(0)).unwrap();
    let pkts = collect_packets(&mut tx, 0, 500);
    let seg1: Vec<_> = pkts.iter().filter(|(_, _, p)| p.timestamp == 0).collect();
    let seg2: Vec<_> = pkts
        .iter()
        .filter(|(_, _, p)| p.timestamp == 0xFFFF)
        .collect();
    assert_eq!(seg1.len() + seg2.len(), pkts.len());
    let last1 = EventBlock::parse(&seg1.last().unwrap().2.payload).unwrap();
    assert_eq!((last1.duration, last1.end), (0xFFFF, false));
    assert!(!seg2[0].2.marker);
    let end = EventBlock::parse(&seg2.last().unwrap().2.payload).unwrap();
    assert_eq!((u32::from(end.duration), end.end), (72_000 - 0xFFFF, true));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary packets never panic, and never yield more digits than
    /// blocks carrying a digit event.
    #[test]
    fn arbitrary_packets_never_panic(
        pkts in prop::collection::vec(
            (any::<u16>(), 0u32..4000, any::<bool>(), prop::collection::vec(any::<u8>(), 0..24), 0u64..100),
            0..60,
        )
    ) {
        let t0 = Instant::now();
        let mut rx = Receiver::default();
        let mut at = 0;
        let mut n = 0;
        let mut digit_blocks = 0;
        for (seq, ts, marker, payload, dt) in &pkts {
            at += dt;
            let now = t0 + MS(at);
            if payload.len() >= 4 {
                digit_blocks += payload.chunks_exact(4).take(8).filter(|b| b[0] <= 15).count();
            }
            n += rx.on_packet(now, *seq, *ts, *marker, payload).into_iter().count();
            n += std::iter::from_fn(|| rx.poll_event()).count();
            n += rx.handle_timeout(now).into_iter().count();
        }
        n += rx.flush().into_iter().count();
        n += std::iter::from_fn(|| rx.poll_event()).count();
        prop_assert!(n <= digit_blocks);
        prop_assert_eq!(rx.stats().packets, pkts.len() as u64);
    }

    /// Losing any packets except a whole event still delivers every digit,
    /// once and in order.
    #[test]
    fn round_trip_under_random_loss(
        seq in "[0-9*#A-D]{1,8}",
        loss in prop::collection::vec(any::<bool>(), 200),
    ) {
        let ev = round_trip(&seq, SenderConfig::default(), MS(100), |n| {
            // Keep the first packet of each 7-packet event so none vanishes.
            n % 7 != 0 && loss.get(n % loss.len()).copied().unwrap_or(false)
        });
        prop_assert_eq!(digits(&ev), seq);
    }

    /// Duplicated and locally reordered delivery (within each event) gives
    /// each digit once.
    #[test]
    fn duplication_and_swaps(swaps in prop::collection::vec((0usize..12, any::<bool>()), 0..12)) {
        let mut pkts = rfc_example();
        for (i, dup) in swaps {
            if dup {
                let p = pkts[i].clone();
                pkts.insert(i, p);
            } else if i + 1 < pkts.len() && pkts[i].ts == pkts[i + 1].ts {
                pkts.swap(i, i + 1);
            }
        }
        let mut rx = Receiver::default();
        let ev = run(&mut rx, Instant::now(), &pkts);
        prop_assert_eq!(digits(&ev), "91");
    }
}
