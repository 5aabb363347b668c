//! RTP packet parsing and building (RFC 3550 §5.1) and RFC 5761 demux.

use callwire_media::rtp::{is_rtcp, RtpError, RtpHeader, RtpPacket};

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// A captured packet with a header extension (the vector pion/rtp's tests
/// use): V=2 X=1 CC=0, M=1 PT=96, seq 27023, ts 3653407706, SSRC
/// 476325762, extension profile 1 with one word, 5 payload bytes.
#[test]
fn captured_packet_with_extension() {
    let buf = hex("90e0 698f d9c293da 1c642782 0001 0001 ffffffff 9836be889e");
    let p = RtpPacket::parse(&buf).unwrap();
    assert!(p.marker());
    assert_eq!(p.payload_type(), 96);
    assert_eq!(p.sequence(), 27023);
    assert_eq!(p.timestamp(), 3_653_407_706);
    assert_eq!(p.ssrc(), 476_325_762);
    assert_eq!(p.csrcs().len(), 0);
    let ext = p.extension().unwrap();
    assert_eq!(ext.profile, 1);
    assert_eq!(ext.data, [0xff; 4]);
    assert_eq!(p.payload(), hex("9836be889e"));
    assert_eq!(p.padding_len(), 0);
}

#[test]
fn pcmu_packet_builds_to_known_bytes() {
    let header = RtpHeader {
        marker: true,
        payload_type: 0,
        sequence: 0x1234,
        timestamp: 0xdead_beef,
        ssrc: 0x0102_0304,
    };
    let mut out = vec![9; 3];
    header.write(&[0xff, 0x7f], &mut out);
    assert_eq!(out, hex("8080 1234 deadbeef 01020304 ff7f"));
    let p = RtpPacket::parse(&out).unwrap();
    assert_eq!(p.header(), header);
    assert_eq!(p.payload(), [0xff, 0x7f]);

    // Reusing the buffer clears it first; the PT is cut to 7 bits.
    let header = RtpHeader {
        marker: false,
        payload_type: 0x80 | 8,
        ..header
    };
    header.write(&[], &mut out);
    assert_eq!(out, hex("8008 1234 deadbeef 01020304"));
}

#[test]
fn csrcs_and_padding() {
    // CC=2, P=1: two CSRCs, 3 payload bytes, 4 bytes of padding.
    let buf = hex("a2 08 0001 00000002 00000003 0000000a 0000000b 616263 00000004");
    let p = RtpPacket::parse(&buf).unwrap();
    assert_eq!(p.csrcs().collect::<Vec<_>>(), [10, 11]);
    assert_eq!(p.payload(), b"abc");
    assert_eq!(p.padding_len(), 4);
    assert!(!p.marker());

    // Padding may take everything after the headers.
    let buf = hex("a0 00 0001 00000002 00000003 000003");
    let p = RtpPacket::parse(&buf).unwrap();
    assert_eq!(p.payload(), b"");
}

#[test]
fn truncated_packets() {
    let full = hex("8000 0001 00000002 00000003");
    for len in 0..12 {
        assert_eq!(
            RtpPacket::parse(&full[..len]),
            Err(RtpError::Truncated { len })
        );
    }
    assert!(RtpPacket::parse(&full).unwrap().payload().is_empty());
}

#[test]
fn wrong_version() {
    for first in [0x00u8, 0x40, 0xc0] {
        let mut buf = hex("8000 0001 00000002 00000003 00");
        buf[0] = first;
        assert_eq!(
            RtpPacket::parse(&buf),
            Err(RtpError::BadVersion {
                version: first >> 6
            })
        );
    }
}

#[test]
fn csrc_count_15_with_short_buffer() {
    // CC=15 needs 12 + 60 bytes; give 14 CSRCs' worth.
    let mut buf = hex("8f00 0001 00000002 00000003");
    buf.extend(std::iter::repeat_n(0u8, 56));
    assert_eq!(
        RtpPacket::parse(&buf),
        Err(RtpError::CsrcOverrun {
            count: 15,
            needed: 72,
            len: 68
        })
    );
    buf.extend([0; 4]);
    assert_eq!(RtpPacket::parse(&buf).unwrap().csrcs().len(), 15);
}

#[test]
fn padding_count_bigger_than_packet() {
    // 2 bytes after the header, padding count 3.
    let buf = hex("a000 0001 00000002 00000003 0003");
    assert_eq!(
        RtpPacket::parse(&buf),
        Err(RtpError::BadPadding {
            count: 3,
            available: 2
        })
    );
    // Count 0 is invalid too.
    let buf = hex("a000 0001 00000002 00000003 aa00");
    assert_eq!(
        RtpPacket::parse(&buf),
        Err(RtpError::BadPadding {
            count: 0,
            available: 2
        })
    );
    // P set and nothing after the header.
    let buf = hex("a000 0001 00000002 00000003");
    assert_eq!(
        RtpPacket::parse(&buf),
        Err(RtpError::BadPadding {
            count: 0,
            available: 0
        })
    );
    // Padding cannot eat into the extension: it only counts what follows.
    let buf = hex("b000 0001 00000002 00000003 bede0001 01020305 05");
    assert_eq!(
        RtpPacket::parse(&buf),
        Err(RtpError::BadPadding {
            count: 5,
            available: 1
        })
    );
}

#[test]
fn extension_length_past_the_end() {
    // Extension header cut short.
    let buf = hex("9000 0001 00000002 00000003 bede");
    assert_eq!(
        RtpPacket::parse(&buf),
        Err(RtpError::ExtensionOverrun {
            needed: 16,
            len: 14
        })
    );
    // Length says 2 words, 1 present.
    let buf = hex("9000 0001 00000002 00000003 bede0002 11223344");
    assert_eq!(
        RtpPacket::parse(&buf),
        Err(RtpError::ExtensionOverrun {
            needed: 24,
            len: 20
        })
    );
    // Length 0xffff.
    let buf = hex("9000 0001 00000002 00000003 bedeffff 11223344");
    assert_eq!(
        RtpPacket::parse(&buf),
        Err(RtpError::ExtensionOverrun {
            needed: 16 + 4 * 0xffff,
            len: 20
        })
    );
    // After CSRCs.
    let buf = hex("9100 0001 00000002 00000003 00000004 bede0001");
    assert_eq!(
        RtpPacket::parse(&buf),
        Err(RtpError::ExtensionOverrun {
            needed: 24,
            len: 20
        })
    );
    // Exactly fitting, empty payload.
    let buf = hex("9000 0001 00000002 00000003 bede0001 11223344");
    let p = RtpPacket::parse(&buf).unwrap();
    assert_eq!(p.extension().unwrap().data, hex("11223344"));
    assert!(p.payload().is_empty());
}

#[test]
fn rtcp_mux_demultiplexing() {
    // RFC 5761 §4: RTCP packet types 192..=223 in the second octet.
    for pt in [192u8, 200, 201, 202, 203, 204, 205, 206, 207, 223] {
        assert!(is_rtcp(&[0x80, pt, 0, 1]), "{pt}");
    }
    // RTP: payload types 0..=63 and 96..=127, with or without marker.
    for second in [0u8, 8, 18, 63, 96, 101, 127, 128, 136, 191, 224, 255] {
        assert!(!is_rtcp(&[0x80, second, 0, 1]), "{second}");
    }
    assert!(!is_rtcp(&[]));
    assert!(!is_rtcp(&[0x80]));
}
