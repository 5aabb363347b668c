//! Receiver and sender statistics (RFC 3550 A.1, A.3, A.8, §6.4.1), NTP
//! helpers and the RTCP report timer.

use std::time::{Duration, Instant};

use callwire_media::rtp::{
    duration_to_mid32, mid32_to_duration, ntp_from_unix, ntp_mid32, round_trip_time, ReceiverStats,
    ReportBlock, RtcpTimer, SenderStats, SeqStatus, Stats,
};

const MS: Duration = Duration::from_millis(1);

#[test]
fn rfc3550_round_trip_example() {
    // §6.4.1: A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000 (46853.125 s),
    // DLSR = 0x0005:4000 (5.250 s): delay 0x0006:2000 (6.125 s).
    let ntp_now = 0xb710_8000u64 << 16;
    assert_eq!(ntp_mid32(ntp_now), 0xb710_8000);
    assert_eq!(
        round_trip_time(ntp_now, 0xb705_2000, 0x0005_4000),
        Some(Duration::from_millis(6125))
    );
    assert_eq!(mid32_to_duration(0x0005_4000), Duration::from_millis(5250));
    assert_eq!(duration_to_mid32(Duration::from_millis(5250)), 0x0005_4000);
    assert_eq!(duration_to_mid32(Duration::from_secs(70_000)), u32::MAX);
    // No SR seen by the peer, or a DLSR longer than the time since LSR.
    assert_eq!(round_trip_time(ntp_now, 0, 0), None);
    assert_eq!(round_trip_time(ntp_now, 0xb705_2000, 0x000c_0000), None);
    // Across the wrap of the middle 32 bits.
    assert_eq!(
        round_trip_time(0x0000_0000_8000_0000, 0xffff_8000, 0),
        Some(Duration::from_secs(1))
    );
}

#[test]
fn ntp_from_unix_epoch() {
    // The Unix epoch is 2208988800 s after the NTP epoch.
    assert_eq!(ntp_from_unix(Duration::ZERO), 0x83aa_7e80_0000_0000);
    assert_eq!(
        ntp_from_unix(Duration::from_millis(1500)),
        0x83aa_7e81_8000_0000
    );
    assert_eq!(
        ntp_from_unix(Duration::from_millis(250)) & 0xffff_ffff,
        0x4000_0000
    );
    // 2036-02-07T06:28:16Z wraps the era.
    assert_eq!(ntp_from_unix(Duration::from_secs(2_085_978_496)), 0);
}

/// Feeds `seqs` 20 ms apart with matching timestamps.
fn feed(
    stats: &mut ReceiverStats,
    start: Instant,
    seqs: impl IntoIterator<Item = u16>,
) -> Vec<SeqStatus> {
    seqs.into_iter()
        .enumerate()
        .map(|(i, seq)| {
            let now = start + 20 * MS * i as u32;
            stats.on_rtp(now, seq, u32::from(seq) * 160, 160)
        })
        .collect()
}

#[test]
fn in_order_with_probation() {
    let mut s = ReceiverStats::new(8000);
    let st = feed(&mut s, Instant::now(), 1000..1100);
    assert_eq!(st[0], SeqStatus::Probation);
    assert!(st[1..].iter().all(|&x| x == SeqStatus::Valid));
    assert_eq!((s.total_received(), s.expected(), s.lost()), (100, 100, 0));
    assert_eq!(s.extended_highest_seq(), 1099);
    assert_eq!(s.octets(), 16_000);
    assert_eq!(s.jitter(), 0);
}

#[test]
fn probation_restarts_on_non_sequential_packets() {
    let mut s = ReceiverStats::new(8000);
    let st = feed(&mut s, Instant::now(), [1, 5, 9, 10, 11]);
    assert_eq!(
        st,
        [
            SeqStatus::Probation,
            SeqStatus::Probation,
            SeqStatus::Probation,
            SeqStatus::Valid,
            SeqStatus::Valid
        ]
    );
    assert_eq!((s.total_received(), s.expected()), (3, 3));
}

#[test]
fn sequence_wrap_extends_with_cycles() {
    let mut s = ReceiverStats::new(8000);
    let seqs: Vec<u16> = (0..20u16).map(|i| 65_530u16.wrapping_add(i)).collect();
    feed(&mut s, Instant::now(), seqs);
    assert_eq!(s.extended_highest_seq(), 0x1_0000 + 13);
    assert_eq!((s.total_received(), s.expected(), s.lost()), (20, 20, 0));
    // Reordering across the wrap: 65535 after 0.
    let mut s = ReceiverStats::new(8000);
    let st = feed(&mut s, Instant::now(), [65_533, 65_534, 0, 65_535, 1]);
    assert_eq!(st[3], SeqStatus::Late);
    assert_eq!((s.total_received(), s.expected(), s.late()), (5, 5, 1));
    assert_eq!(s.extended_highest_seq(), 0x1_0001);
}

#[test]
fn loss_and_fraction_per_interval() {
    let mut s = ReceiverStats::new(8000);
    let start = Instant::now();
    // 100 packets, 5 lost (A.3: fraction = (5 << 8) / 100 = 12).
    let seqs: Vec<u16> = (0..100)
        .filter(|i| ![10, 20, 30, 40, 50].contains(i))
        .collect();
    feed(&mut s, start, seqs);
    let b = s.report_block(0xaa, start + Duration::from_secs(2));
    assert_eq!(b.ssrc, 0xaa);
    assert_eq!(
        (b.fraction_lost, b.cumulative_lost, b.highest_seq),
        (12, 5, 99)
    );
    assert_eq!((b.last_sr, b.delay_since_last_sr), (0, 0));
    // Next interval: 100 more, none lost.
    let later = start + Duration::from_secs(3);
    feed(&mut s, later, 100..200);
    let b = s.report_block(0xaa, later + Duration::from_secs(3));
    assert_eq!(
        (b.fraction_lost, b.cumulative_lost, b.highest_seq),
        (0, 5, 199)
    );
    // Then everything lost but the last packet of 50.
    feed(&mut s, later, [249]);
    let b = s.report_block(0xaa, later + Duration::from_secs(4));
    assert_eq!((b.fraction_lost, b.cumulative_lost), (250, 54)); // (49 << 8) / 50
    let stats = Stats::collect(&SenderStats::new(8000), &s);
    assert_eq!(stats.packets_lost, 54);
    assert!((stats.fraction_lost - 250.0 / 256.0).abs() < 1e-9);
}

#[test]
fn duplicates_and_reordering() {
    let mut s = ReceiverStats::new(8000);
    let st = feed(&mut s, Instant::now(), [1, 2, 3, 3, 5, 4, 4, 2, 6]);
    assert_eq!(
        st,
        [
            SeqStatus::Probation,
            SeqStatus::Valid,
            SeqStatus::Valid,
            SeqStatus::Duplicate,
            SeqStatus::Valid,
            SeqStatus::Late,
            SeqStatus::Duplicate,
            SeqStatus::Duplicate,
            SeqStatus::Valid
        ]
    );
    assert_eq!((s.total_received(), s.expected(), s.lost()), (6, 6, 0));
    assert_eq!((s.duplicates(), s.late()), (3, 1));
    // A packet from before the first counted one extends the range.
    let mut s = ReceiverStats::new(8000);
    feed(&mut s, Instant::now(), [10, 11, 12, 8]);
    assert_eq!((s.total_received(), s.expected(), s.lost()), (4, 5, 1));
}

#[test]
fn large_jump_is_ignored_then_restarts() {
    let mut s = ReceiverStats::new(8000);
    let start = Instant::now();
    feed(&mut s, start, 0..50);
    // One stray packet far ahead: ignored.
    assert_eq!(s.on_rtp(start, 30_000, 0, 160), SeqStatus::Jump);
    assert_eq!(feed(&mut s, start, [50]), [SeqStatus::Valid]);
    assert_eq!(s.extended_highest_seq(), 50);
    // Far behind (more than MAX_MISORDER): also a jump.
    assert_eq!(s.on_rtp(start, 65_000, 0, 160), SeqStatus::Jump);
    // A real restart: two sequential packets far away.
    assert_eq!(s.on_rtp(start, 40_000, 0, 160), SeqStatus::Jump);
    assert_eq!(s.on_rtp(start, 40_001, 160, 160), SeqStatus::Valid);
    assert_eq!(s.extended_highest_seq(), 40_001);
    // Totals carry on over the restart.
    assert_eq!((s.total_received(), s.expected(), s.lost()), (53, 53, 0));
    assert_eq!(s.octets(), 53 * 160);
    // Forward within MAX_DROPOUT is a gap, not a jump.
    assert_eq!(s.on_rtp(start, 42_900, 0, 160), SeqStatus::Valid);
    assert_eq!(s.lost(), 2898);
}

/// Interarrival jitter computed with the floating-point formula of
/// RFC 3550 §6.4.1, for comparison.
fn reference_jitter(transits: &[f64]) -> f64 {
    let mut j = 0.0;
    for w in transits.windows(2) {
        j += ((w[1] - w[0]).abs() - j) / 16.0;
    }
    j
}

#[test]
fn interarrival_jitter() {
    let start = Instant::now();
    // Arrival offsets alternating 0 and 10 ms: |D| = 80 units every packet.
    let mut s = ReceiverStats::new(8000);
    let mut transits = Vec::new();
    for i in 0..300u32 {
        let offset = if i % 2 == 0 { 0 } else { 10 };
        s.on_rtp(start + MS * (20 * i + offset), i as u16, i * 160, 160);
        transits.push(f64::from(offset * 8));
    }
    let reference = reference_jitter(&transits);
    assert!(
        (f64::from(s.jitter()) - reference).abs() <= 1.0,
        "{} vs {reference}",
        s.jitter()
    );
    assert!((79..=80).contains(&s.jitter()));
    let stats = Stats::collect(&SenderStats::new(8000), &s);
    assert!((stats.jitter_ms - 10.0).abs() < 0.2, "{}", stats.jitter_ms);
}

#[test]
fn jitter_exact_across_timestamp_wrap_and_long_calls() {
    let start = Instant::now();
    // The same arrival pattern with timestamps starting at 0 and just before
    // the 2^32 wrap gives the same jitter after every packet.
    let mut a = ReceiverStats::new(8000);
    let mut b = ReceiverStats::new(8000);
    let ts_b0 = u32::MAX - 50 * 160;
    for i in 0..200u32 {
        let now = start + MS * (20 * i + (i * 7919) % 13);
        a.on_rtp(now, i as u16, i * 160, 160);
        b.on_rtp(now, i as u16, ts_b0.wrapping_add(i * 160), 160);
        assert_eq!(a.jitter(), b.jitter(), "packet {i}");
    }
    assert!(a.jitter() > 0);

    // A perfectly paced hour at 48 kHz (20 ms = 960 units): no rounding
    // drift, so no jitter; arrival also wraps 2^32 units after 24.8 hours,
    // here exercised through a timestamp base near the wrap.
    let mut s = ReceiverStats::new(48_000);
    for i in 0..180_000u32 {
        let ts = (u32::MAX - 1_000_000).wrapping_add(i * 960);
        s.on_rtp(start + MS * (20 * i), i as u16, ts, 80);
    }
    assert_eq!(s.jitter(), 0);
    assert_eq!(s.lost(), 0);
    assert_eq!(s.extended_highest_seq(), 180_000 - 1);
}

#[test]
fn sender_info_and_round_trip() {
    let t0 = Instant::now();
    let ntp0 = ntp_from_unix(Duration::from_secs(1_700_000_000));
    let mut sender = SenderStats::new(8000);
    for i in 0..50u32 {
        sender.on_sent(t0 + 20 * MS * i, 1000 + 160 * i, 160);
    }
    let last = t0 + 20 * MS * 49;
    // SR 100 ms after the last packet: RTP time advanced by 800 units.
    let sr_at = last + 100 * MS;
    let ntp_sr = ntp0 + (1 << 32);
    let info = sender.sender_info(sr_at, ntp_sr);
    assert_eq!(info.rtp_timestamp, 1000 + 160 * 49 + 800);
    assert_eq!((info.packet_count, info.octet_count), (50, 8000));
    assert_eq!(info.ntp_timestamp, ntp_sr);
    assert_eq!(sender.last_timestamp(), Some(1000 + 160 * 49));

    // The peer gets the SR 40 ms later, reports 250 ms after that; the
    // report reaches us 60 ms later: RTT = 100 ms.
    let mut peer = ReceiverStats::new(8000);
    let peer_t = Instant::now();
    peer.on_sender_report(peer_t, ntp_sr);
    let block = peer.report_block(0x5151, peer_t + 250 * MS);
    assert_eq!(block.last_sr, ntp_mid32(ntp_sr));
    assert_eq!(block.delay_since_last_sr, 65_536 / 4);
    let ntp_back = ntp_sr + ((350u64 << 32) / 1000);
    let rtt = sender.on_report_block(&block, ntp_back).unwrap();
    assert!(
        rtt.abs_diff(100 * MS) < Duration::from_micros(50),
        "{rtt:?}"
    );
    assert_eq!(sender.rtt(), Some(rtt));

    // A later block without LSR keeps the previous RTT.
    let no_sr = ReportBlock {
        fraction_lost: 64,
        cumulative_lost: 3,
        jitter: 80,
        ..ReportBlock::default()
    };
    assert_eq!(sender.on_report_block(&no_sr, ntp_back), None);
    let stats = Stats::collect(&sender, &ReceiverStats::new(8000));
    assert_eq!(stats.packets_sent, 50);
    assert_eq!(stats.octets_sent, 8000);
    assert!((stats.rtt_ms.unwrap() - 100.0).abs() < 0.05);
    assert_eq!(stats.remote_packets_lost, Some(3));
    assert_eq!(stats.remote_fraction_lost, Some(0.25));
    assert_eq!(stats.remote_jitter_ms, Some(10.0));
    assert_eq!(stats.packets_received, 0);
    assert_eq!(Stats::default().rtt_ms, None);
}

#[test]
fn rtcp_timer() {
    let t0 = Instant::now();
    // First report after half the 5 s minimum, times 0.5..1.5.
    assert_eq!(RtcpTimer::new(t0, 0.0).next_report(), t0 + 1250 * MS);
    assert_eq!(RtcpTimer::new(t0, 1.0).next_report(), t0 + 3750 * MS);
    assert_eq!(RtcpTimer::new(t0, 0.5).next_report(), t0 + 2500 * MS);
    // Out of range and NaN random values are tamed.
    assert_eq!(RtcpTimer::new(t0, f64::NAN).next_report(), t0 + 2500 * MS);
    assert_eq!(RtcpTimer::new(t0, -3.0).next_report(), t0 + 1250 * MS);
    assert_eq!(RtcpTimer::new(t0, 7.0).next_report(), t0 + 3750 * MS);

    let mut timer = RtcpTimer::new(t0, 0.5);
    assert!(!timer.poll(t0 + 2499 * MS, 0.5));
    assert!(timer.poll(t0 + 2600 * MS, 0.25));
    // Then every 5 s × factor, from when the report was sent.
    assert_eq!(timer.next_report(), t0 + 2600 * MS + 3750 * MS);
    assert!(!timer.poll(t0 + 6000 * MS, 0.0));
    let at = timer.next_report();
    assert!(timer.poll(at, 1.0));
    assert_eq!(timer.next_report(), at + 7500 * MS);

    let timer = RtcpTimer::with_interval(t0, Duration::from_secs(1), 0.5);
    assert_eq!(timer.next_report(), t0 + 500 * MS);
    let timer = RtcpTimer::with_interval(t0, Duration::MAX, 0.5);
    assert_eq!(timer.next_report(), t0 + Duration::from_secs(43_200));
}
