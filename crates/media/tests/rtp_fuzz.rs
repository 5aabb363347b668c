//! Property tests standing in for fuzz targets (stable toolchain): arbitrary
//! and mutated bytes through the RTP and RTCP parsers, builder/parser round
//! trips, and random operation sequences on the statistics and the jitter
//! buffer. Nothing may panic.

use std::time::{Duration, Instant};

use callwire_media::rtp::{
    is_rtcp, parse_compound, CompoundReport, Goodbye, JitterBuffer, JitterConfig, Playout,
    ReceiverReport, ReceiverStats, ReportBlock, RtcpPacket, RtpHeader, RtpPacket, SdesChunk,
    SenderInfo, SenderReport, SenderStats, Stats,
};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        ..ProptestConfig::default()
    }
}

/// Valid packets to mutate.
fn seeds() -> Vec<Vec<u8>> {
    let mut rtp = Vec::new();
    RtpHeader {
        marker: true,
        payload_type: 8,
        sequence: 65_535,
        timestamp: u32::MAX,
        ssrc: 7,
    }
    .write(&[0xd5; 20], &mut rtp);
    let mut with_ext = rtp.clone();
    with_ext[0] |= 0x10 | 0x20 | 0x02;
    with_ext.splice(
        12..12,
        [0, 0, 0, 1, 0, 0, 0, 2, 0xbe, 0xde, 0, 1, 1, 2, 3, 4],
    );
    with_ext.extend([0, 0, 3]);
    let mut rtcp = Vec::new();
    CompoundReport {
        ssrc: 1,
        sender_info: Some(SenderInfo::default()),
        report_blocks: &[ReportBlock::default(); 2],
        cname: "seed@example",
        bye: Some("bye"),
    }
    .write(&mut rtcp)
    .unwrap();
    vec![rtp, with_ext, rtcp]
}

fn exercise(buf: &[u8]) {
    let _ = is_rtcp(buf);
    if let Ok(p) = RtpPacket::parse(buf) {
        let header_len = 12 + 4 * p.csrcs().len() + p.extension().map_or(0, |e| 4 + e.data.len());
        assert_eq!(
            header_len + p.payload().len() + usize::from(p.padding_len()),
            buf.len()
        );
        // What we would re-send parses back to the same header and payload.
        let mut out = Vec::new();
        p.header().write(p.payload(), &mut out);
        let again = RtpPacket::parse(&out).unwrap();
        assert_eq!((again.header(), again.payload()), (p.header(), p.payload()));
        let _ = format!("{p:?}");
    }
    if let Ok(packets) = parse_compound(buf) {
        assert!(!packets.is_empty());
        for p in &packets {
            if let RtcpPacket::SenderReport(SenderReport { reports, .. })
            | RtcpPacket::ReceiverReport(ReceiverReport { reports, .. }) = p
            {
                assert!(reports.len() <= 31);
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..200)) {
        exercise(&buf);
    }

    #[test]
    fn version_2_bytes_never_panic(mut buf in proptest::collection::vec(any::<u8>(), 1..200)) {
        // Most random buffers fail the version check: force it to reach
        // the deeper paths.
        buf[0] = (buf[0] & 0x3f) | 0x80;
        exercise(&buf);
    }

    #[test]
    fn mutated_packets_never_panic(
        seed in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut buf = seeds()[seed].clone();
        for (at, byte, kind) in edits {
            match kind {
                0 if !buf.is_empty() => { let i = at % buf.len(); buf[i] = byte; }
                1 => { let i = at % (buf.len() + 1); buf.truncate(i); }
                _ => { let i = at % (buf.len() + 1); buf.insert(i, byte); }
            }
        }
        exercise(&buf);
    }

    #[test]
    fn rtp_round_trip(
        marker in any::<bool>(),
        payload_type in 0u8..128,
        sequence in any::<u16>(),
        timestamp in any::<u32>(),
        ssrc in any::<u32>(),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let header = RtpHeader { marker, payload_type, sequence, timestamp, ssrc };
        let mut out = Vec::new();
        header.write(&payload, &mut out);
        let p = RtpPacket::parse(&out).unwrap();
        prop_assert_eq!(p.header(), header);
        prop_assert_eq!(p.payload(), &payload[..]);
        prop_assert!(p.extension().is_none());
        prop_assert_eq!(p.csrcs().len(), 0);
        prop_assert_eq!(is_rtcp(&out), marker && (64..96).contains(&payload_type));
    }

    #[test]
    fn rtcp_round_trip(
        ssrc in any::<u32>(),
        info in proptest::option::of((any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>())),
        blocks in proptest::collection::vec(
            (any::<u32>(), any::<u8>(), -0x80_0000i32..=0x7f_ffff, any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
            0..=31,
        ),
        cname in "[ -~]{0,255}",
        bye in proptest::option::of("[ -~]{0,255}"),
    ) {
        let sender_info = info.map(|(ntp_timestamp, rtp_timestamp, packet_count, octet_count)| SenderInfo {
            ntp_timestamp, rtp_timestamp, packet_count, octet_count,
        });
        let report_blocks: Vec<ReportBlock> = blocks
            .into_iter()
            .map(|(ssrc, fraction_lost, cumulative_lost, highest_seq, jitter, last_sr, delay_since_last_sr)| ReportBlock {
                ssrc, fraction_lost, cumulative_lost, highest_seq, jitter, last_sr, delay_since_last_sr,
            })
            .collect();
        let report = CompoundReport { ssrc, sender_info, report_blocks: &report_blocks, cname: &cname, bye: bye.as_deref() };
        let mut out = Vec::new();
        report.write(&mut out).unwrap();
        prop_assert_eq!(out.len() % 4, 0);
        let packets = parse_compound(&out).unwrap();
        let first = match sender_info {
            Some(info) => RtcpPacket::SenderReport(SenderReport { ssrc, info, reports: report_blocks.clone() }),
            None => RtcpPacket::ReceiverReport(ReceiverReport { ssrc, reports: report_blocks.clone() }),
        };
        let mut expected = vec![
            first,
            RtcpPacket::SourceDescription(vec![SdesChunk { ssrc, cname: Some(cname.as_bytes()) }]),
        ];
        if let Some(reason) = &bye {
            expected.push(RtcpPacket::Goodbye(Goodbye {
                sources: vec![ssrc],
                reason: (!reason.is_empty()).then_some(reason.as_bytes()),
            }));
        }
        prop_assert_eq!(packets, expected);
    }

    #[test]
    fn statistics_never_panic(
        ops in proptest::collection::vec((any::<u16>(), any::<u32>(), 0u64..100_000, 0usize..2000, 0u8..6), 1..300),
    ) {
        let start = Instant::now();
        let mut rx = ReceiverStats::new(8000);
        let mut tx = SenderStats::new(8000);
        for (seq, ts, ms, len, kind) in ops {
            let now = start + Duration::from_millis(ms);
            match kind {
                0 => { rx.on_sender_report(now, u64::from(ts) << 20); }
                1 => {
                    let b = rx.report_block(1, now);
                    prop_assert!(i64::from(b.cumulative_lost) >= -0x80_0000);
                    tx.on_report_block(&b, u64::from(ts) << 16);
                }
                2 => tx.on_sent(now, ts, len),
                3 => { let _ = tx.sender_info(now, u64::from(ts)); }
                _ => { rx.on_rtp(now, seq, ts, len); }
            }
            let s = Stats::collect(&tx, &rx);
            prop_assert!(s.jitter_ms.is_finite() && s.fraction_lost <= 1.0);
            prop_assert!(rx.expected() >= 0);
        }
    }

    #[test]
    fn jitter_buffer_never_panics(
        ops in proptest::collection::vec((0u8..8, any::<u16>(), any::<u32>(), 0u64..3000, 0usize..200), 1..400),
        capacity in 1usize..40,
    ) {
        let start = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig { capacity, max_payload: 160, ..JitterConfig::default() });
        let (mut seq, mut ts, mut ms) = (0u16, 0u32, 0u64);
        for (kind, rseq, rts, dt, len) in ops {
            ms += dt % 60;
            let now = start + Duration::from_millis(if kind == 7 { dt } else { ms });
            match kind {
                0..=3 => {
                    seq = seq.wrapping_add(1);
                    ts = ts.wrapping_add(160);
                    jb.push(now, 1, seq, ts, false, &vec![1; len]);
                }
                4 => { jb.push(now, rts % 3, rseq, rts, true, &vec![2; len]); }
                5 => { jb.push(now, 1, seq.wrapping_sub(rseq % 300), ts.wrapping_sub(rts % 100_000), false, &[3; 20]); }
                _ => {
                    if let Playout::Frame { payload, .. } = jb.pop(now) {
                        prop_assert!(payload.len() <= 160);
                    }
                }
            }
            prop_assert!(jb.buffered() <= capacity);
            let s = jb.stats();
            prop_assert_eq!(
                s.received,
                s.played + s.late + s.duplicates + s.dropped_overflow + s.dropped_invalid + s.flushed + jb.buffered() as u64
            );
        }
    }
}
