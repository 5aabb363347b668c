//! RTCP compound parsing and building (RFC 3550 §6.4 to §6.6).

use callwire_media::rtp::{
    parse_compound, CompoundReport, Goodbye, ReceiverReport, ReportBlock, RtcpError, RtcpPacket,
    SdesChunk, SenderInfo, SenderReport,
};

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// A compound packet from a browser's packet dump (the one pion/rtcp's tests
/// decode): RR, SDES CNAME, BYE, PLI, RRR, APP.
const CAPTURE: &str = "
    81c90007 902f9e2e bc5e9a40 00000000 000046e1 00000111 09f36432 00024a79
    81ca000c 902f9e2e 0126 7b396330 30656239 322d3161 66622d39 6434392d
        61343764 2d393166 36346565 65363966 357d 00000000
    81cb0001 902f9e2e
    81ce0002 902f9e2e 902f9e2e
    85cd0002 902f9e2e 902f9e2e
    80cc0003 4baae1ab 4e414d45 41424344";

#[test]
fn captured_compound_packet() {
    let buf = hex(CAPTURE);
    let packets = parse_compound(&buf).unwrap();
    assert_eq!(packets.len(), 6);
    assert_eq!(
        packets[0],
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 0x902f_9e2e,
            reports: vec![ReportBlock {
                ssrc: 0xbc5e_9a40,
                fraction_lost: 0,
                cumulative_lost: 0,
                highest_seq: 0x46e1,
                jitter: 273,
                last_sr: 0x09f3_6432,
                delay_since_last_sr: 150_137,
            }],
        })
    );
    assert_eq!(
        packets[1],
        RtcpPacket::SourceDescription(vec![SdesChunk {
            ssrc: 0x902f_9e2e,
            cname: Some(b"{9c00eb92-1afb-9d49-a47d-91f64eee69f5}"),
        }])
    );
    assert_eq!(
        packets[2],
        RtcpPacket::Goodbye(Goodbye {
            sources: vec![0x902f_9e2e],
            reason: None,
        })
    );
    assert!(matches!(
        packets[3],
        RtcpPacket::Other {
            packet_type: 206,
            count: 1,
            body
        } if body.len() == 8
    ));
    assert!(matches!(
        packets[4],
        RtcpPacket::Other {
            packet_type: 205,
            count: 5,
            ..
        }
    ));
    assert_eq!(
        packets[5],
        RtcpPacket::Other {
            packet_type: 204,
            count: 0,
            body: &hex("4baae1ab 4e414d45 41424344"),
        }
    );
}

#[test]
fn sender_report_with_two_blocks_and_negative_loss() {
    let buf = hex("82c80012 11111111
         e5a1b2c3 80000000 0001e240 00000064 00003e80
         22222222 19fffffe 0001000a 00000020 b2c38000 00018000
         33333333 ff7fffff 00000000 00000000 00000000 00000000");
    let packets = parse_compound(&buf).unwrap();
    let RtcpPacket::SenderReport(SenderReport {
        ssrc,
        info,
        reports,
    }) = &packets[0]
    else {
        panic!("{packets:?}")
    };
    assert_eq!(*ssrc, 0x1111_1111);
    assert_eq!(
        *info,
        SenderInfo {
            ntp_timestamp: 0xe5a1_b2c3_8000_0000,
            rtp_timestamp: 123_456,
            packet_count: 100,
            octet_count: 16_000,
        }
    );
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].fraction_lost, 0x19);
    assert_eq!(reports[0].cumulative_lost, -2);
    assert_eq!(reports[0].highest_seq, 0x0001_000a);
    assert_eq!(reports[0].last_sr, 0xb2c3_8000);
    assert_eq!(reports[0].delay_since_last_sr, 0x0001_8000);
    assert_eq!(reports[1].fraction_lost, 255);
    assert_eq!(reports[1].cumulative_lost, 0x7f_ffff);
}

#[test]
fn build_sr_sdes_bye_round_trip() {
    let block = ReportBlock {
        ssrc: 0xabcd_0001,
        fraction_lost: 12,
        cumulative_lost: -5,
        highest_seq: 70_000,
        jitter: 33,
        last_sr: 0x1234_5678,
        delay_since_last_sr: 65_536,
    };
    let info = SenderInfo {
        ntp_timestamp: 0xe000_0000_0000_0001,
        rtp_timestamp: 8000,
        packet_count: 50,
        octet_count: 8000,
    };
    let report = CompoundReport {
        ssrc: 0x0102_0304,
        sender_info: Some(info),
        report_blocks: &[block],
        cname: "callwire@192.0.2.1",
        bye: Some("hangup"),
    };
    let mut out = vec![1, 2, 3];
    report.write(&mut out).unwrap();
    assert_eq!(out.len() % 4, 0);
    // SR: 28 + 24 bytes; SDES: 8 + 24 (2 + 18 + null, padded); BYE: 8 + 8.
    assert_eq!(out.len(), 52 + 32 + 16);
    assert_eq!(out[..4], hex("81c8000c"));
    assert_eq!(out[52..56], hex("81ca0007"));
    assert_eq!(out[84..88], hex("81cb0003"));
    assert_eq!(out[92..], *b"\x06hangup\0");

    let packets = parse_compound(&out).unwrap();
    assert_eq!(
        packets,
        vec![
            RtcpPacket::SenderReport(SenderReport {
                ssrc: 0x0102_0304,
                info,
                reports: vec![block],
            }),
            RtcpPacket::SourceDescription(vec![SdesChunk {
                ssrc: 0x0102_0304,
                cname: Some(b"callwire@192.0.2.1"),
            }]),
            RtcpPacket::Goodbye(Goodbye {
                sources: vec![0x0102_0304],
                reason: Some(b"hangup"),
            }),
        ]
    );
}

#[test]
fn build_rr_without_blocks_and_cname_padding() {
    // Each CNAME length lands the null terminator on a different offset.
    for len in 0..=9 {
        let cname = "x".repeat(len);
        let report = CompoundReport {
            ssrc: 7,
            sender_info: None,
            report_blocks: &[],
            cname: &cname,
            bye: Some(""),
        };
        let mut out = Vec::new();
        report.write(&mut out).unwrap();
        assert_eq!(out[..8], hex("80c90001 00000007"));
        let packets = parse_compound(&out).unwrap();
        assert_eq!(
            packets,
            vec![
                RtcpPacket::ReceiverReport(ReceiverReport {
                    ssrc: 7,
                    reports: vec![]
                }),
                RtcpPacket::SourceDescription(vec![SdesChunk {
                    ssrc: 7,
                    cname: Some(cname.as_bytes()),
                }]),
                RtcpPacket::Goodbye(Goodbye {
                    sources: vec![7],
                    reason: None
                }),
            ]
        );
    }
}

#[test]
fn builder_limits() {
    let blocks = vec![ReportBlock::default(); 32];
    let mut out = Vec::new();
    let mut report = CompoundReport {
        ssrc: 1,
        sender_info: None,
        report_blocks: &blocks,
        cname: "c",
        bye: None,
    };
    assert_eq!(
        report.write(&mut out),
        Err(RtcpError::TooManyReportBlocks { count: 32 })
    );
    report.report_blocks = &blocks[..31];
    report.write(&mut out).unwrap();
    assert!(
        matches!(&parse_compound(&out).unwrap()[0], RtcpPacket::ReceiverReport(rr) if rr.reports.len() == 31)
    );

    let long = "y".repeat(256);
    report.cname = &long;
    assert_eq!(
        report.write(&mut out),
        Err(RtcpError::TextTooLong { len: 256 })
    );
    report.cname = &long[..255];
    report.write(&mut out).unwrap();
    report.bye = Some(&long);
    assert_eq!(
        report.write(&mut out),
        Err(RtcpError::TextTooLong { len: 256 })
    );

    // Loss beyond 24 bits is clamped, not wrapped.
    let block = ReportBlock {
        cumulative_lost: i32::MIN,
        ..ReportBlock::default()
    };
    let report = CompoundReport {
        ssrc: 1,
        sender_info: None,
        report_blocks: &[block],
        cname: "",
        bye: None,
    };
    report.write(&mut out).unwrap();
    let RtcpPacket::ReceiverReport(rr) = &parse_compound(&out).unwrap()[0] else {
        panic!()
    };
    assert_eq!(rr.reports[0].cumulative_lost, -0x80_0000);
}

#[test]
fn sdes_other_items_skipped_and_multiple_chunks() {
    // Two chunks: NAME then CNAME; TOOL only.
    let buf = hex("82ca0007
         00000001 0203414243 0102 6869 000000
         00000002 06026162 00000000");
    let packets = parse_compound(&buf).unwrap();
    assert_eq!(
        packets,
        vec![RtcpPacket::SourceDescription(vec![
            SdesChunk {
                ssrc: 1,
                cname: Some(b"hi")
            },
            SdesChunk {
                ssrc: 2,
                cname: None
            },
        ])]
    );
}

#[test]
fn padding_on_the_last_packet() {
    // RR with 4 bytes of padding (P set, length includes them).
    let buf = hex("a0c90002 00000005 00000004");
    let packets = parse_compound(&buf).unwrap();
    assert_eq!(
        packets,
        vec![RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 5,
            reports: vec![]
        })]
    );
    assert_eq!(
        parse_compound(&hex("a0c90001 00000000")),
        Err(RtcpError::BadPadding {
            offset: 0,
            count: 0
        })
    );
    assert_eq!(
        parse_compound(&hex("a0c90001 00000009")),
        Err(RtcpError::BadPadding {
            offset: 0,
            count: 9
        })
    );
    // Padding that leaves the RR without its SSRC.
    assert!(matches!(
        parse_compound(&hex("a0c90001 00000004")),
        Err(RtcpError::ShortBody {
            packet_type: 201,
            needed: 4,
            len: 0,
            ..
        })
    ));
}

#[test]
fn malformed_compounds() {
    assert_eq!(parse_compound(&[]), Err(RtcpError::Empty));
    assert_eq!(
        parse_compound(&hex("80c9")),
        Err(RtcpError::Truncated { offset: 0, len: 2 })
    );
    // Trailing bytes after a valid packet.
    assert_eq!(
        parse_compound(&hex("80c90001 00000001 8000")),
        Err(RtcpError::Truncated { offset: 8, len: 2 })
    );
    assert_eq!(
        parse_compound(&hex("40c90001 00000001")),
        Err(RtcpError::BadVersion {
            offset: 0,
            version: 1
        })
    );
    assert_eq!(
        parse_compound(&hex("80c90001 00000001 c0c90001 00000001")),
        Err(RtcpError::BadVersion {
            offset: 8,
            version: 3
        })
    );
    // Length past the end (the pion "invalid header length" case).
    assert_eq!(
        parse_compound(&hex("81c90064")),
        Err(RtcpError::LengthOverrun {
            offset: 0,
            declared: 404,
            available: 4
        })
    );
    // RC=1 but no report block.
    assert_eq!(
        parse_compound(&hex("81c90001 00000001")),
        Err(RtcpError::ShortBody {
            offset: 0,
            packet_type: 201,
            needed: 28,
            len: 4
        })
    );
    // SR without sender info.
    assert!(matches!(
        parse_compound(&hex("80c80001 00000001")),
        Err(RtcpError::ShortBody {
            packet_type: 200,
            needed: 24,
            ..
        })
    ));
    // Zero-length RR (header only).
    assert!(matches!(
        parse_compound(&hex("80c90000")),
        Err(RtcpError::ShortBody {
            packet_type: 201,
            needed: 4,
            len: 0,
            ..
        })
    ));
    // SDES: count 2 with one chunk; item length past the end.
    assert_eq!(
        parse_compound(&hex("82ca0002 00000001 01016100")),
        Err(RtcpError::BadSdes { offset: 0 })
    );
    assert_eq!(
        parse_compound(&hex("81ca0002 00000001 01096162")),
        Err(RtcpError::BadSdes { offset: 0 })
    );
    // BYE: count 2 with one SSRC; reason past the end.
    assert!(matches!(
        parse_compound(&hex("82cb0001 00000001")),
        Err(RtcpError::ShortBody {
            packet_type: 203,
            needed: 8,
            ..
        })
    ));
    assert_eq!(
        parse_compound(&hex("81cb0002 00000001 09616263")),
        Err(RtcpError::BadBye { offset: 0 })
    );
}
