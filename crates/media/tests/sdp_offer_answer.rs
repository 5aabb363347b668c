//! RFC 3264 offer/answer: building offers, answering, reading answers.

use std::net::{IpAddr, SocketAddr};

use callwire_media::sdp::{
    accept_answer, answer, build_offer, CodecSpec, Direction, LocalMedia, NegotiationError,
    SessionDescription,
};

const SIPP: &[u8] = include_bytes!("sdp_samples/sipp_uac.sdp");
const BARESIP: &[u8] = include_bytes!("sdp_samples/baresip_offer.sdp");
const IPV6: &[u8] = include_bytes!("sdp_samples/ipv6_audio_video.sdp");

fn sdp(body: &[u8]) -> SessionDescription {
    SessionDescription::parse(body).unwrap()
}

fn local_v4() -> LocalMedia {
    let mut l = LocalMedia::new("192.0.2.5".parse().unwrap(), 30000);
    l.session_id = 42;
    l.session_version = 7;
    l
}

/// An offer with one audio m-line built from the given m=/a= lines.
fn offer_with(media_lines: &str) -> SessionDescription {
    let body = format!(
        "v=0\r\no=- 1 1 IN IP4 203.0.113.9\r\ns=-\r\nc=IN IP4 203.0.113.9\r\nt=0 0\r\n{media_lines}"
    );
    sdp(body.as_bytes())
}

fn g722() -> CodecSpec {
    CodecSpec::fixed("G722", 8000, 1, Some(9))
}

fn opus() -> CodecSpec {
    CodecSpec::fixed("opus", 48000, 2, None)
}

#[test]
fn default_offer_text() {
    let offer = build_offer(&local_v4());
    assert_eq!(
        offer.to_string(),
        "v=0\r\n\
         o=- 42 7 IN IP4 192.0.2.5\r\n\
         s=callwire\r\n\
         c=IN IP4 192.0.2.5\r\n\
         t=0 0\r\n\
         m=audio 30000 RTP/AVP 0 8 101\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-16\r\n\
         a=ptime:20\r\n\
         a=sendrecv\r\n"
    );
    // And it parses back to itself.
    assert_eq!(sdp(offer.to_string().as_bytes()), offer);
}

#[test]
fn offer_ipv6_and_options() {
    let mut local = LocalMedia::new("2001:db8::5".parse().unwrap(), 4000);
    local.telephone_event_pt = None;
    local.ptime = None;
    local.direction = Direction::SendOnly;
    local.username = "callwire".into();
    let text = build_offer(&local).to_string();
    assert!(
        text.contains("o=callwire 0 0 IN IP6 2001:db8::5\r\n"),
        "{text}"
    );
    assert!(text.contains("c=IN IP6 2001:db8::5\r\n"));
    assert!(text.contains("m=audio 4000 RTP/AVP 0 8\r\n"));
    assert!(text.contains("a=sendonly\r\n"));
    assert!(!text.contains("telephone-event"));
    assert!(!text.contains("ptime"));
}

#[test]
fn offer_assigns_dynamic_payload_types() {
    let mut local = local_v4();
    local.telephone_event_pt = Some(96);
    local.codecs = vec![
        opus(),
        CodecSpec::PCMU,
        g722(),
        opus(),
        CodecSpec::fixed("L16", 8000, 1, None),
    ];
    let offer = build_offer(&local);
    let m = &offer.media[0];
    // opus skips 96 (telephone-event), the duplicate opus is dropped.
    assert_eq!(m.formats, vec!["97", "0", "9", "98", "96"]);
    assert_eq!(m.rtpmap(97).unwrap().channels, Some(2));
    assert_eq!(m.rtpmap(9).unwrap().encoding, "G722");
    assert_eq!(m.rtpmap(98).unwrap().encoding, "L16");
    assert_eq!(m.fmtp(96), Some("0-16"));
}

#[test]
fn answer_sipp_offer() {
    let offer = sdp(SIPP);
    let (ans, neg) = answer(&offer, &local_v4()).unwrap();
    assert_eq!(
        neg.remote_addr,
        "127.0.0.1:6000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(neg.codec, CodecSpec::PCMU);
    assert_eq!(neg.payload_type, 0);
    assert_eq!(
        neg.telephone_event_pt, None,
        "SIPp offered no telephone-event"
    );
    assert_eq!(neg.direction, Direction::SendRecv);
    assert_eq!(neg.ptime, 20);
    assert!(!neg.is_hold());
    assert_eq!(neg.remote_rtcp, None);
    let text = ans.to_string();
    assert!(
        text.contains(
            "m=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
        ),
        "{text}"
    );
    assert!(text.contains("o=- 42 7 IN IP4 192.0.2.5\r\n"));
    assert!(text.contains("c=IN IP4 192.0.2.5\r\n"));
}

#[test]
fn answer_baresip_offer_follows_local_priority() {
    let offer = sdp(BARESIP);
    let mut local = local_v4();
    local.codecs = vec![CodecSpec::PCMA, CodecSpec::PCMU];
    let (ans, neg) = answer(&offer, &local).unwrap();
    assert_eq!((neg.codec.clone(), neg.payload_type), (CodecSpec::PCMA, 8));
    assert_eq!(neg.telephone_event_pt, Some(101));
    assert_eq!(neg.remote_rtcp, Some("192.168.1.20:10001".parse().unwrap()));
    assert_eq!(ans.media[0].formats, vec!["8", "101"]);
    assert_eq!(ans.media[0].fmtp(101), Some("0-16"));

    // Local preference for opus picks the offer's dynamic payload type 111.
    local.codecs = vec![opus(), CodecSpec::PCMU];
    let (ans, neg) = answer(&offer, &local).unwrap();
    assert_eq!((neg.codec.clone(), neg.payload_type), (opus(), 111));
    assert_eq!(
        neg.telephone_event_pt, None,
        "offer has telephone-event only at 8000 Hz"
    );
    assert_eq!(ans.media[0].formats, vec!["111"]);
    assert_eq!(
        ans.media[0].rtpmap(111).unwrap().to_owned().encoding,
        "opus"
    );
}

#[test]
fn static_payload_types_need_no_rtpmap_and_names_ignore_case() {
    let offer = offer_with("m=audio 4000 RTP/AVP 18 8\r\n");
    let (_, neg) = answer(&offer, &local_v4()).unwrap();
    assert_eq!((neg.codec, neg.payload_type), (CodecSpec::PCMA, 8));

    let offer = offer_with("m=audio 4000 RTP/AVP 100\r\na=rtpmap:100 pcmu/8000\r\n");
    let (_, neg) = answer(&offer, &local_v4()).unwrap();
    assert_eq!((neg.codec, neg.payload_type), (CodecSpec::PCMU, 100));

    // Same name, different clock rate: not a match.
    let offer = offer_with("m=audio 4000 RTP/AVP 100\r\na=rtpmap:100 PCMU/16000\r\n");
    assert_eq!(
        answer(&offer, &local_v4()).unwrap_err(),
        NegotiationError::NoCommonCodec
    );
}

#[test]
fn no_common_codec_and_no_audio() {
    let offer = offer_with("m=audio 4000 RTP/AVP 18 101\r\na=rtpmap:101 telephone-event/8000\r\n");
    assert_eq!(
        answer(&offer, &local_v4()).unwrap_err(),
        NegotiationError::NoCommonCodec
    );

    let offer = offer_with("m=video 4000 RTP/AVP 31\r\n");
    assert_eq!(
        answer(&offer, &local_v4()).unwrap_err(),
        NegotiationError::NoAudioMedia
    );

    let offer = offer_with("m=audio 4000 RTP/SAVP 0\r\n");
    assert_eq!(
        answer(&offer, &local_v4()).unwrap_err(),
        NegotiationError::NoAudioMedia
    );

    let offer = offer_with("m=audio 0 RTP/AVP 0\r\n");
    assert_eq!(
        answer(&offer, &local_v4()).unwrap_err(),
        NegotiationError::NoAudioMedia
    );
}

#[test]
fn telephone_event_keeps_offer_payload_type() {
    let offer = offer_with(
        "m=audio 4000 RTP/AVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n",
    );
    let (ans, neg) = answer(&offer, &local_v4()).unwrap();
    assert_eq!(neg.telephone_event_pt, Some(96));
    let m = &ans.media[0];
    assert_eq!(m.formats, vec!["0", "96"]);
    assert_eq!(m.rtpmap(96).unwrap().encoding, "telephone-event");
    assert_eq!(m.fmtp(96), Some("0-16"));

    let mut no_dtmf = local_v4();
    no_dtmf.telephone_event_pt = None;
    let (ans, neg) = answer(&offer, &no_dtmf).unwrap();
    assert_eq!(neg.telephone_event_pt, None);
    assert_eq!(ans.media[0].formats, vec!["0"]);
}

#[test]
fn direction_is_complemented() {
    let cases = [
        ("sendrecv", Direction::SendRecv),
        ("sendonly", Direction::RecvOnly),
        ("recvonly", Direction::SendOnly),
        ("inactive", Direction::Inactive),
    ];
    for (offered, expected) in cases {
        let offer = offer_with(&format!("m=audio 4000 RTP/AVP 0\r\na={offered}\r\n"));
        let (ans, neg) = answer(&offer, &local_v4()).unwrap();
        assert_eq!(neg.direction, expected, "offer {offered}");
        assert_eq!(ans.media_direction(&ans.media[0]), expected);
        assert_eq!(neg.is_hold(), expected != Direction::SendRecv);
        assert_eq!(
            neg.is_remote_hold(),
            matches!(offered, "sendonly" | "inactive")
        );
    }

    // Session-level direction applies to the m-line.
    let body = "v=0\r\no=- 1 1 IN IP4 203.0.113.9\r\ns=-\r\nc=IN IP4 203.0.113.9\r\nt=0 0\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n";
    let (_, neg) = answer(&sdp(body.as_bytes()), &local_v4()).unwrap();
    assert_eq!(neg.direction, Direction::RecvOnly);

    // Local restriction: we only send.
    let mut local = local_v4();
    local.direction = Direction::SendOnly;
    let (_, neg) = answer(&offer_with("m=audio 4000 RTP/AVP 0\r\n"), &local).unwrap();
    assert_eq!(neg.direction, Direction::SendOnly);
}

#[test]
fn old_style_hold_address() {
    let body = "v=0\r\no=- 1 2 IN IP4 203.0.113.9\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let (ans, neg) = answer(&sdp(body.as_bytes()), &local_v4()).unwrap();
    assert!(neg.is_hold());
    assert!(neg.is_remote_hold());
    assert_eq!(neg.remote_direction, Direction::SendRecv);
    assert_eq!(neg.direction, Direction::RecvOnly, "cannot send to 0.0.0.0");
    assert_eq!(ans.media[0].direction_attr(), Some(Direction::RecvOnly));
}

#[test]
fn other_media_rejected_with_port_zero() {
    let offer = sdp(IPV6);
    let mut local = LocalMedia::new("2001:db8::5".parse().unwrap(), 5004);
    local.codecs = vec![CodecSpec::PCMU, CodecSpec::PCMA];
    let (ans, neg) = answer(&offer, &local).unwrap();
    assert_eq!(ans.media.len(), 2);
    let video = &ans.media[1];
    assert_eq!(
        (video.media.as_str(), video.port, video.proto.as_str()),
        ("video", 0, "RTP/AVP")
    );
    assert_eq!(video.formats, vec!["31", "34"]);
    assert!(video.attributes.is_empty());
    // IPv6 remote, PCMU preferred locally though PCMA is first in the offer.
    assert_eq!(
        neg.remote_addr,
        "[2001:db8::10]:49170".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(neg.payload_type, 0);
    assert_eq!(neg.telephone_event_pt, Some(96));
    assert_eq!(neg.ptime, 30);
    assert_eq!(neg.direction, Direction::RecvOnly);
    assert!(ans.to_string().contains("c=IN IP6 2001:db8::5\r\n"));
    // The answer parses and round-trips.
    assert_eq!(sdp(ans.to_string().as_bytes()), ans);
}

#[test]
fn rejected_and_codecless_audio_lines_are_skipped() {
    let offer = offer_with(
        "m=audio 0 RTP/AVP 0\r\nm=audio 4000 RTP/AVP 18\r\nm=audio 4002 RTP/AVP 8\r\nc=IN IP4 198.51.100.7\r\n",
    );
    let (ans, neg) = answer(&offer, &local_v4()).unwrap();
    let ports: Vec<u16> = ans.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, vec![0, 0, 30000]);
    assert_eq!(ans.media[1].formats, vec!["18"]);
    assert_eq!(neg.payload_type, 8);
    assert_eq!(
        neg.remote_addr,
        "198.51.100.7:4002".parse::<SocketAddr>().unwrap(),
        "media-level c= wins"
    );
}

#[test]
fn unusable_connection() {
    let body = "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert_eq!(
        answer(&sdp(body.as_bytes()), &local_v4()).unwrap_err(),
        NegotiationError::MissingConnection
    );
    let body = "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nc=IN IP4 pbx.example.com\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert_eq!(
        answer(&sdp(body.as_bytes()), &local_v4()).unwrap_err(),
        NegotiationError::InvalidConnectionAddress {
            address: "pbx.example.com".into()
        }
    );
}

#[test]
fn full_exchange_between_two_sides() {
    let mut alice = local_v4();
    alice.codecs = vec![opus(), CodecSpec::PCMU, CodecSpec::PCMA];
    let mut bob = LocalMedia::new(IpAddr::from([198, 51, 100, 2]), 40000);
    bob.codecs = vec![CodecSpec::PCMA, opus()];
    bob.ptime = Some(30);

    let offer = build_offer(&alice);
    let offer_on_wire = sdp(offer.to_string().as_bytes());
    let (ans, bob_neg) = answer(&offer_on_wire, &bob).unwrap();
    let alice_neg = accept_answer(&offer, &sdp(ans.to_string().as_bytes())).unwrap();

    assert_eq!(bob_neg.codec, CodecSpec::PCMA);
    assert_eq!(alice_neg.codec, CodecSpec::PCMA);
    assert_eq!(alice_neg.payload_type, 8);
    assert_eq!(alice_neg.telephone_event_pt, Some(101));
    assert_eq!(bob_neg.telephone_event_pt, Some(101));
    assert_eq!(
        alice_neg.remote_addr,
        "198.51.100.2:40000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        bob_neg.remote_addr,
        "192.0.2.5:30000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(alice_neg.ptime, 30);
    assert_eq!(bob_neg.ptime, 20);
    assert_eq!(alice_neg.direction, Direction::SendRecv);
}

#[test]
fn accept_answer_variants() {
    let offer = build_offer(&local_v4());
    let answer_with = |media: &str| {
        sdp(format!("v=0\r\no=- 5 5 IN IP4 198.51.100.2\r\ns=-\r\nc=IN IP4 198.51.100.2\r\nt=0 0\r\n{media}").as_bytes())
    };

    // Answer lists PCMA first and uses a different telephone-event pt.
    let neg = accept_answer(
        &offer,
        &answer_with("m=audio 7000 RTP/AVP 8 0 100\r\na=rtpmap:100 telephone-event/8000\r\na=ptime:30\r\na=recvonly\r\n"),
    )
    .unwrap();
    assert_eq!((neg.codec.clone(), neg.payload_type), (CodecSpec::PCMA, 8));
    assert_eq!(neg.telephone_event_pt, Some(100));
    assert_eq!(neg.ptime, 30);
    assert_eq!(neg.direction, Direction::SendOnly);
    assert!(neg.is_hold());
    assert!(!neg.is_remote_hold());

    // Answer without rtpmap for our dynamic telephone-event still resolves via the offer.
    let neg = accept_answer(&offer, &answer_with("m=audio 7000 RTP/AVP 0 101\r\n")).unwrap();
    assert_eq!(neg.telephone_event_pt, Some(101));

    assert_eq!(
        accept_answer(&offer, &answer_with("m=audio 0 RTP/AVP 0\r\n")).unwrap_err(),
        NegotiationError::NoCommonCodec
    );
    assert_eq!(
        accept_answer(&offer, &answer_with("m=audio 7000 RTP/AVP 9\r\n")).unwrap_err(),
        NegotiationError::NoCommonCodec,
        "G722 was not offered"
    );
    assert_eq!(
        accept_answer(&offer, &answer_with("")).unwrap_err(),
        NegotiationError::MediaCountMismatch {
            offer: 1,
            answer: 0
        }
    );
    let neg = accept_answer(
        &offer,
        &answer_with("m=audio 7000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n"),
    )
    .unwrap();
    assert!(neg.is_remote_hold());
    assert_eq!(
        neg.direction,
        Direction::RecvOnly,
        "peer still sends, but we cannot send to 0.0.0.0"
    );
}
