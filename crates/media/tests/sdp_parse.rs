//! SDP parser and printer: real-world bodies, round trips, hostile input.

use callwire_media::sdp::{
    Attribute, Direction, LineError, RtpMap, SdpError, SessionDescription, MAX_BODY_LEN,
};

const SIPP: &[u8] = include_bytes!("sdp_samples/sipp_uac.sdp");
const BARESIP: &[u8] = include_bytes!("sdp_samples/baresip_offer.sdp");
const IPV6: &[u8] = include_bytes!("sdp_samples/ipv6_audio_video.sdp");

fn parse(s: &str) -> Result<SessionDescription, SdpError> {
    SessionDescription::parse(s.as_bytes())
}

fn line_error(s: &str) -> (usize, LineError) {
    match parse(s) {
        Err(SdpError::InvalidLine { line, reason }) => (line, reason),
        other => panic!("expected a line error, got {other:?}"),
    }
}

const MINIMAL: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n";

#[test]
fn sipp_uac_offer() {
    let sdp = SessionDescription::parse(SIPP).unwrap();
    assert_eq!(sdp.origin.username, "user1");
    assert_eq!(sdp.origin.session_id, 53655765);
    assert_eq!(sdp.origin.session_version, 2353687637);
    assert_eq!(sdp.origin.address, "127.0.0.1");
    assert_eq!(sdp.session_name, "-");
    let c = sdp.connection.as_ref().unwrap();
    assert_eq!(
        (c.addr_type.as_str(), c.address.as_str()),
        ("IP4", "127.0.0.1")
    );
    assert_eq!(c.ip(), Some("127.0.0.1".parse().unwrap()));
    assert_eq!(sdp.media.len(), 1);
    let m = &sdp.media[0];
    assert_eq!(
        (m.media.as_str(), m.port, m.proto.as_str()),
        ("audio", 6000, "RTP/AVP")
    );
    assert_eq!(m.formats, vec!["0"]);
    assert_eq!(
        m.rtpmap(0),
        Some(RtpMap {
            pt: 0,
            encoding: "PCMU".into(),
            clock_rate: 8000,
            channels: None
        })
    );
    assert_eq!(sdp.media_direction(m), Direction::SendRecv);
    assert_eq!(m.ptime(), None);
}

#[test]
fn baresip_offer_keeps_everything() {
    let sdp = SessionDescription::parse(BARESIP).unwrap();
    assert_eq!(sdp.bandwidths[0].bw_type, "AS");
    assert_eq!(sdp.bandwidths[0].bandwidth, 64);
    assert_eq!(
        sdp.attribute("tool").and_then(|a| a.value.as_deref()),
        Some("baresip 3.10.1")
    );
    let m = &sdp.media[0];
    assert_eq!(m.formats, vec!["0", "8", "9", "111", "101"]);
    assert_eq!(
        m.payload_types().collect::<Vec<_>>(),
        vec![0, 8, 9, 111, 101]
    );
    assert_eq!(m.bandwidths[0].bw_type, "TIAS");
    assert_eq!(
        m.rtpmap(111),
        Some(RtpMap {
            pt: 111,
            encoding: "opus".into(),
            clock_rate: 48000,
            channels: Some(2)
        })
    );
    assert_eq!(m.rtpmap(101).unwrap().encoding, "telephone-event");
    assert_eq!(m.fmtp(101), Some("0-15"));
    assert_eq!(m.fmtp(111), Some("stereo=1;sprop-stereo=1"));
    assert_eq!(m.fmtp(0), None);
    assert_eq!(m.rtcp().map(|r| r.port), Some(10001));
    assert_eq!(m.ptime(), Some(20));
    assert_eq!(m.direction_attr(), Some(Direction::SendRecv));
    // Unknown attributes survive, flags and values alike.
    assert!(m.attributes.contains(&Attribute::flag("rtcp-rsize")));
    assert!(m.attributes.contains(&Attribute::with_value("label", "1")));
    assert!(m.attribute("ssrc").is_some());
}

#[test]
fn ipv6_audio_and_video() {
    let sdp = SessionDescription::parse(IPV6).unwrap();
    assert_eq!(sdp.origin.addr_type, "IP6");
    assert_eq!(sdp.session_name, "");
    let c = sdp.connection.as_ref().unwrap();
    assert_eq!(c.addr_type, "IP6");
    assert_eq!(c.ip(), Some("2001:db8::10".parse().unwrap()));
    assert_eq!(sdp.media.len(), 2);
    let audio = &sdp.media[0];
    assert_eq!(audio.rtpmap(8), None, "no explicit rtpmap");
    assert_eq!(
        audio.codec(8).unwrap().encoding,
        "PCMA",
        "static table fallback"
    );
    assert_eq!(audio.codec(96).unwrap().encoding, "telephone-event");
    assert_eq!(audio.ptime(), Some(30));
    assert_eq!(sdp.media_direction(audio), Direction::SendOnly);
    let video = &sdp.media[1];
    assert_eq!(video.media, "video");
    assert_eq!(video.rtpmap(34).unwrap().clock_rate, 90000);
    assert_eq!(sdp.media_direction(video), Direction::SendRecv);
}

#[test]
fn lf_and_crlf_parse_the_same() {
    let crlf = String::from_utf8(BARESIP.to_vec()).unwrap();
    let lf = crlf.replace("\r\n", "\n");
    assert_eq!(parse(&crlf).unwrap(), parse(&lf).unwrap());
}

#[test]
fn round_trip_samples() {
    for body in [SIPP, BARESIP, IPV6] {
        let first = SessionDescription::parse(body).unwrap();
        let printed = first.to_string();
        assert!(printed.ends_with("\r\n"));
        assert!(
            !printed.replace("\r\n", "").contains('\n'),
            "bare LF in {printed:?}"
        );
        let second = SessionDescription::parse(printed.as_bytes()).unwrap();
        assert_eq!(first, second);
        assert_eq!(printed, second.to_string());
    }
}

#[test]
fn sipp_prints_byte_identical() {
    let sdp = SessionDescription::parse(SIPP).unwrap();
    assert_eq!(sdp.to_string().as_bytes(), SIPP);
}

#[test]
fn unknown_lines_and_optional_fields_round_trip() {
    let body = "v=0\r\no=- 1 2 IN IP4 h.example\r\ns=x\r\ni=info\r\nu=http://a/\r\n\
e=a@b\r\np=+1 555\r\nt=3 4\r\nr=7d 1h 0 25h\r\nz=2882844526 -1h\r\nk=prompt\r\n\
a=recvonly\r\nx=session unknown\r\nm=audio 5000/2 RTP/AVP 0\r\ni=title\r\nk=clear:x\r\n\
a=rtpmap:0 PCMU/8000\r\ny=media unknown\r\n";
    let sdp = parse(body).unwrap();
    assert_eq!(sdp.timing[0].start, 3);
    assert_eq!(sdp.timing[0].repeats, vec!["7d 1h 0 25h"]);
    assert_eq!(sdp.unknown[0].kind, 'x');
    assert_eq!(sdp.media[0].port_count, Some(2));
    assert_eq!(sdp.media[0].unknown[0].value, "media unknown");
    assert_eq!(sdp.direction(), Direction::RecvOnly);
    assert_eq!(sdp.media_direction(&sdp.media[0]), Direction::RecvOnly);
    assert_eq!(sdp.to_string(), body, "already in canonical order");
}

#[test]
fn tolerant_forms() {
    // Missing t=, trailing whitespace, blank lines, lower-case address type.
    let sdp = parse(
        "v=0\n\no=- 1 1 IN ip4 10.0.0.1  \ns=-\nc=IN ip4 10.0.0.2\t\nm=audio 4000 RTP/AVP 0 \n\n",
    )
    .unwrap();
    assert_eq!(sdp.timing.len(), 1);
    assert_eq!((sdp.timing[0].start, sdp.timing[0].stop), (0, 0));
    assert_eq!(sdp.connection.as_ref().unwrap().addr_type, "IP4");
    assert_eq!(sdp.media[0].formats, vec!["0"]);
    let again = parse(&sdp.to_string()).unwrap();
    assert_eq!(sdp, again);
}

#[test]
fn media_level_overrides_session_level() {
    let body = format!(
        "{MINIMAL}c=IN IP4 10.0.0.1\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.9\r\n\
a=inactive\r\na=ptime:40\r\nm=audio 4002 RTP/AVP 0\r\n"
    );
    // c= after t= is fine in any order before the first m=.
    let sdp = parse(&body).unwrap();
    let (a, b) = (&sdp.media[0], &sdp.media[1]);
    assert_eq!(sdp.media_direction(a), Direction::Inactive);
    assert_eq!(sdp.media_direction(b), Direction::SendOnly);
    assert_eq!(sdp.media_connection(a).unwrap().address, "10.0.0.9");
    assert_eq!(sdp.media_connection(b).unwrap().address, "10.0.0.1");
    assert_eq!(sdp.media_ptime(a), Some(40));
    assert_eq!(sdp.media_ptime(b), None);
}

#[test]
fn printer_drops_line_breaks_from_values() {
    let mut sdp = parse(MINIMAL).unwrap();
    sdp.session_name = "evil\r\na=injected".into();
    sdp.attributes
        .push(Attribute::with_value("x", "1\n\0m=video 1 RTP/AVP 0"));
    let printed = sdp.to_string();
    let again = parse(&printed).unwrap();
    assert_eq!(again.session_name, "evila=injected");
    assert!(again.media.is_empty());
    assert_eq!(again.attributes.len(), 1);
}

#[test]
fn empty_and_whitespace() {
    assert_eq!(parse(""), Err(SdpError::Empty));
    assert_eq!(parse(" \r\n\r\n\t"), Err(SdpError::Empty));
}

#[test]
fn version_must_come_first() {
    assert_eq!(
        line_error("o=- 1 1 IN IP4 1.2.3.4\r\nv=0\r\n"),
        (1, LineError::VersionNotFirst)
    );
    assert_eq!(
        line_error("v=1\r\n"),
        (1, LineError::UnsupportedVersion("1".into()))
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}v=0\r\n")),
        (5, LineError::Duplicate { kind: 'v' })
    );
}

#[test]
fn required_lines() {
    assert_eq!(
        parse("v=0\r\ns=-\r\n"),
        Err(SdpError::MissingLine { kind: 'o' })
    );
    assert_eq!(
        parse("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n"),
        Err(SdpError::MissingLine { kind: 's' })
    );
}

#[test]
fn garbage_lines() {
    assert_eq!(
        line_error(&format!("{MINIMAL}hello world\r\n")),
        (5, LineError::NoEquals)
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}X=1\r\n")),
        (5, LineError::BadType)
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}ab=1\r\n")),
        (5, LineError::BadType)
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}=1\r\n")),
        (5, LineError::BadType)
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}a=\r\n")).1,
        LineError::Empty {
            field: "attribute name"
        }
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}a=x\0y\r\n")),
        (5, LineError::ForbiddenChar)
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}a=x\ry\r\n")),
        (5, LineError::ForbiddenChar)
    );
    assert_eq!(line_error("\u{1F600}\r\n"), (1, LineError::NoEquals));
}

#[test]
fn bad_numbers_and_ports() {
    let port = |p: &str| line_error(&format!("{MINIMAL}m=audio {p} RTP/AVP 0\r\n"));
    assert_eq!(
        port("65536"),
        (5, LineError::InvalidNumber { field: "port" })
    );
    assert_eq!(
        port("99999999999999999999999"),
        (5, LineError::InvalidNumber { field: "port" })
    );
    assert_eq!(port("-1"), (5, LineError::InvalidNumber { field: "port" }));
    assert_eq!(port("+5"), (5, LineError::InvalidNumber { field: "port" }));
    assert_eq!(
        port("5/x"),
        (
            5,
            LineError::InvalidNumber {
                field: "port count"
            }
        )
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}m=audio 5\r\n")),
        (
            5,
            LineError::FieldCount {
                kind: 'm',
                expected: 3,
                found: 2
            }
        )
    );
    assert_eq!(
        line_error("v=0\r\no=- 18446744073709551616 1 IN IP4 1.2.3.4\r\n"),
        (2, LineError::InvalidNumber { field: "sess-id" })
    );
    assert_eq!(
        line_error("v=0\r\no=- 1 IN IP4 1.2.3.4\r\n"),
        (
            2,
            LineError::FieldCount {
                kind: 'o',
                expected: 6,
                found: 5
            }
        )
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}b=AS:lots\r\n")).1,
        LineError::InvalidNumber { field: "bandwidth" }
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}t=0\r\n")).1,
        LineError::FieldCount {
            kind: 't',
            expected: 2,
            found: 1
        }
    );
}

#[test]
fn bad_connection_lines() {
    assert_eq!(
        line_error(&format!("{MINIMAL}c=ATM NSAP 1\r\n")).1,
        LineError::UnsupportedNetType
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}c=IN IP5 1.2.3.4\r\n")).1,
        LineError::UnsupportedAddrType
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}c=IN IP4\r\n")).1,
        LineError::FieldCount {
            kind: 'c',
            expected: 3,
            found: 2
        }
    );
    assert_eq!(
        line_error(&format!(
            "{MINIMAL}c=IN IP4 1.1.1.1\r\nc=IN IP4 2.2.2.2\r\n"
        )),
        (6, LineError::Duplicate { kind: 'c' })
    );
}

#[test]
fn structure_errors() {
    assert_eq!(
        line_error(&format!("{MINIMAL}m=audio 1 RTP/AVP 0\r\nt=0 0\r\n")),
        (6, LineError::NotAllowedInMedia { kind: 't' })
    );
    assert_eq!(
        line_error("v=0\r\nr=1d 1h 0\r\n"),
        (2, LineError::RepeatWithoutTiming)
    );
    assert_eq!(
        line_error(&format!("{MINIMAL}o=- 1 1 IN IP4 1.2.3.4\r\n")),
        (5, LineError::Duplicate { kind: 'o' })
    );
}

#[test]
fn non_utf8_reports_its_line() {
    let mut body = MINIMAL.as_bytes().to_vec();
    body.extend_from_slice(b"a=caf\xe9\r\n");
    assert_eq!(
        SessionDescription::parse(&body),
        Err(SdpError::InvalidLine {
            line: 5,
            reason: LineError::NotUtf8
        })
    );
    assert!(SessionDescription::parse(&[0xff, 0xfe, 0x00]).is_err());
}

#[test]
fn limits() {
    let big = vec![b'a'; MAX_BODY_LEN + 1];
    assert_eq!(
        SessionDescription::parse(&big),
        Err(SdpError::TooLarge {
            size: MAX_BODY_LEN + 1,
            max: MAX_BODY_LEN
        })
    );

    let many_lines = format!("{MINIMAL}{}", "a=x\r\n".repeat(600));
    assert_eq!(parse(&many_lines), Err(SdpError::TooManyLines { max: 512 }));
    let just_enough = format!("{MINIMAL}{}", "a=x\r\n".repeat(512 - 4));
    assert!(parse(&just_enough).is_ok());

    let many_media = format!("{MINIMAL}{}", "m=audio 1 RTP/AVP 0\r\n".repeat(65));
    assert_eq!(parse(&many_media), Err(SdpError::TooManyMedia { max: 64 }));
    let sixty_four = format!("{MINIMAL}{}", "m=audio 1 RTP/AVP 0\r\n".repeat(64));
    assert_eq!(parse(&sixty_four).unwrap().media.len(), 64);

    // Blank lines do not count towards the line limit and cost nothing.
    let blanks = format!("{MINIMAL}{}", "\n".repeat(MAX_BODY_LEN - MINIMAL.len()));
    assert!(parse(&blanks).is_ok());
}

#[test]
fn malformed_helper_attributes_are_ignored_not_fatal() {
    let body = format!(
        "{MINIMAL}c=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 0 300 abc\r\na=rtpmap:0 PCMU\r\n\
a=rtpmap:300 X/8000\r\na=ptime:fast\r\na=rtcp:99999\r\na=fmtp:x 0-16\r\n"
    );
    let sdp = parse(&body).unwrap();
    let m = &sdp.media[0];
    assert_eq!(m.payload_types().collect::<Vec<_>>(), vec![0]);
    assert_eq!(m.rtpmap(0), None);
    assert_eq!(m.codec(0).unwrap().encoding, "PCMU");
    assert_eq!(m.ptime(), None);
    assert_eq!(m.rtcp(), None);
    assert_eq!(m.fmtp(0), None);
}
