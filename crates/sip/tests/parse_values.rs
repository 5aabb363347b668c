//! Typed header value parsers and datagram-level rules, through the public API.

use callwire_sip::message::{Host, Message, Method, Uri};
use callwire_sip::parse::{self, parse_datagram, Limits, ParseErrorKind};

const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: \"Alice\" <sip:alice@example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\r\n";

fn with_header(extra: &str) -> Vec<u8> {
    INVITE
        .replacen(
            "Max-Forwards: 70\r\n",
            &format!("Max-Forwards: 70\r\n{extra}"),
            1,
        )
        .into_bytes()
}

#[test]
fn sip_uris() {
    let Uri::Sip(u) =
        parse::uri("sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&X=y").unwrap()
    else {
        panic!()
    };
    assert!(u.secure);
    assert_eq!(u.user.as_deref(), Some("alice"));
    assert_eq!(u.password.as_deref(), Some("secret"));
    assert_eq!(u.host, Host::V6("2001:db8::1".parse().unwrap()));
    assert_eq!(u.port, Some(5061));
    assert_eq!(u.transport_param().as_deref(), Some("tcp"));
    assert!(u.params.contains("lr"));
    assert_eq!(u.headers.len(), 2);
    assert_eq!(
        u.to_string(),
        "sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&X=y"
    );

    let Uri::Sip(u) = parse::uri("SIP:10.0.0.1").unwrap() else {
        panic!()
    };
    assert_eq!(u.host, Host::V4([10, 0, 0, 1].into()));
    assert_eq!(u.user, None);
    assert_eq!(parse::uri("tel:+1-201-555-0123").unwrap().scheme(), "tel");

    for bad in [
        "",
        "sip:",
        "sip:@host",
        "sip:host:99999",
        "sip:host:",
        "sip:[::1",
        "sip:[zz]",
        "sip:a b@c",
        "1sip:x",
        "sip:host;",
        "sip:host;=x",
        "sip:host;a=",
        "sip:ho%st",
        "sip:h<st",
        "sip:host?noeq",
        "no-scheme",
        "sip:caf\u{e9}.example.com",
    ] {
        let e = parse::uri(bad).unwrap_err();
        assert!(
            matches!(e.kind(), ParseErrorKind::BadValue { what: "URI", .. }),
            "{bad}: {e}"
        );
    }
}

#[test]
fn name_addrs() {
    let n = parse::name_addr("\"A \\\"q\\\" B\" <sip:a@b;lr>;tag=x;expires = 60").unwrap();
    assert_eq!(n.display.as_deref(), Some("A \\\"q\\\" B"));
    assert!(n.uri.as_sip().unwrap().params.contains("lr"));
    assert_eq!(n.tag(), Some("x"));
    assert_eq!(n.params.value("expires"), Some("60"));

    let n = parse::name_addr("Plain  Words <sip:a@b>").unwrap();
    assert_eq!(n.display.as_deref(), Some("Plain Words"));

    // Bare addr-spec: parameters belong to the header (RFC 3261 §20.10).
    let n = parse::name_addr("sip:a@b;tag=1;maddr=x").unwrap();
    assert!(n.uri.as_sip().unwrap().params.is_empty());
    assert_eq!(n.params.len(), 2);

    let n = parse::name_addr("<sip:a@b>;+sip.instance=\"<urn:uuid:1;x>\"").unwrap();
    assert_eq!(n.params.value("+sip.instance"), Some("\"<urn:uuid:1;x>\""));

    for bad in [
        "\"open <sip:a@b>",
        "\"x\" sip:a@b",
        "<sip:a@b",
        "< sip:a@b>",
        "Bad, Name <sip:a@b>",
        "sip:a@b?x=y",
        "<sip:a@b>;",
        "<sip:a@b>;;tag=1",
        "<sip:a@b>;tag=",
        "<sip:a@b> junk",
        "<sip:a@b>;p=\"unterminated",
    ] {
        assert!(parse::name_addr(bad).is_err(), "{bad}");
    }
}

#[test]
fn vias() {
    let v = parse::via(
        "SIP / 2.0 / tcp  [2001:db8::9] : 5070 ; branch = z9hG4bKx ; rport ; received=2001:db8::1",
    )
    .unwrap();
    assert_eq!(v.protocol, "SIP/2.0");
    assert_eq!(v.transport, "TCP");
    assert_eq!(v.host, Host::V6("2001:db8::9".parse().unwrap()));
    assert_eq!(v.port, Some(5070));
    assert_eq!(v.branch(), Some("z9hG4bKx"));
    assert_eq!(v.rport(), Some(None));
    assert_eq!(v.received(), Some("2001:db8::1"));
    assert!(v.is_reliable());
    for bad in [
        "SIP/2.0/UDP",
        "SIP/2.0 UDP host",
        "SIP/2.0/UDPhost",
        "SIP/2.0/UDP host;;",
        "SIP/2.0/UDP host:x",
        "/2.0/UDP h",
    ] {
        assert!(parse::via(bad).is_err(), "{bad}");
    }
}

#[test]
fn scalars() {
    let c = parse::cseq("0009  INVITE").unwrap();
    assert_eq!((c.seq, c.method), (9, Method::Invite));
    assert_eq!(parse::cseq("4294967295 ACK").unwrap().seq, u32::MAX);
    for bad in [
        "4294967296 ACK",
        "1",
        "1 INVITE x",
        "+1 INVITE",
        "-1 INVITE",
        "x INVITE",
        "1 IN<VITE",
    ] {
        assert!(parse::cseq(bad).is_err(), "{bad}");
    }
    assert_eq!(parse::max_forwards("0068").unwrap(), 68);
    assert_eq!(parse::max_forwards("300").unwrap(), 300, "tolerated");
    assert!(parse::max_forwards("-1").is_err());
    assert_eq!(parse::content_length(" 12 ").unwrap(), 12);
    assert!(parse::content_length("-999").is_err());
    assert!(parse::content_length("99999999999999999999999999").is_err());
    assert_eq!(
        parse::split_list("a, \"b,c\" <sip:x;y,z>, d")
            .unwrap()
            .len(),
        3
    );
    assert!(parse::split_list("a, ,b").is_err());
}

#[test]
fn datagram_basics() {
    let m = parse_datagram(INVITE.as_bytes(), &Limits::default()).unwrap();
    let Message::Request(r) = &m else { panic!() };
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.body, b"v=0\r\n"[..4]);
    assert_eq!(
        parse_datagram(&m.to_bytes(), &Limits::default()).unwrap(),
        m
    );

    // Leading CRLFs are skipped; CRLF-only is a keep-alive.
    let mut b = b"\r\n\r\n".to_vec();
    b.extend_from_slice(INVITE.as_bytes());
    assert_eq!(parse_datagram(&b, &Limits::default()).unwrap(), m);
    let e = parse_datagram(b"\r\n\r\n", &Limits::default()).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::Empty);
    assert!(!e.is_request() && !e.is_response());

    // Truncated inside the header section.
    let e = parse_datagram(&INVITE.as_bytes()[..60], &Limits::default()).unwrap_err();
    assert_eq!(e.kind(), &ParseErrorKind::Incomplete);
    assert!(e.is_request());

    // Compact forms and folding.
    let compact = "OPTIONS sip:x@y SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nt: <sip:x@y>\r\ni: c1\r\nCSeq:\r\n 1\r\n\tOPTIONS\r\nk: timer\r\nl: 0\r\n\r\n";
    let m = parse_datagram(compact.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(m.head().other.get("Supported"), Some("timer"));
    assert_eq!(m.head().cseq.seq, 1);
}

#[test]
fn datagram_errors() {
    let l = Limits::default();
    let kind = |b: &[u8]| parse_datagram(b, &l).unwrap_err().kind().clone();
    assert_eq!(
        kind(&with_header("Call-ID: other\r\n")),
        ParseErrorKind::DuplicateHeader("Call-ID")
    );
    assert_eq!(
        kind(&with_header("Max-Forwards: 1\r\n")),
        ParseErrorKind::DuplicateHeader("Max-Forwards")
    );
    assert!(matches!(
        kind(&with_header("Content-Length: 5\r\n")),
        ParseErrorKind::BadContentLength(_)
    ));
    // The same Content-Length twice is tolerated.
    assert!(parse_datagram(&with_header("l: 4\r\n"), &l).is_ok());
    assert!(matches!(
        kind(b"INVITE sip:a@b SIP/2.0\r\n folded\r\n\r\n"),
        ParseErrorKind::BadHeaderLine(_)
    ));
    assert!(matches!(
        kind(&with_header("No colon here\r\n")),
        ParseErrorKind::BadHeaderLine(_)
    ));
    assert!(matches!(
        kind(&with_header("Contact: *\r\n")),
        ParseErrorKind::BadHeader { .. }
    ));
    let bad_utf8 = [
        &INVITE.as_bytes()[..40],
        b"\xff\xfe: x\r\n",
        &INVITE.as_bytes()[40..],
    ]
    .concat();
    assert!(parse_datagram(&bad_utf8, &l).is_err());
    assert_eq!(
        kind(b"INVITE sip:a@b SIP/2.0\r\n\r\n"),
        ParseErrorKind::MissingHeader("To")
    );
    assert!(matches!(
        kind(b"SIP/2.0 99 Low\r\n\r\n"),
        ParseErrorKind::BadStatusCode
    ));
    assert!(matches!(
        kind(b"SIP/2.0 1000 x\r\n\r\n"),
        ParseErrorKind::BadStatusCode
    ));
    assert!(matches!(
        kind(b"INVITE sip:a@b SIP/2.0x\r\n\r\n"),
        ParseErrorKind::BadStartLine(_)
    ));
    assert!(matches!(
        kind(b"INVITE sip:a@b HTTP/1.1\r\n\r\n"),
        ParseErrorKind::BadStartLine(_)
    ));
    assert!(matches!(
        kind(b"IN VITE sip:a@b SIP/2.0\r\n\r\n"),
        ParseErrorKind::BadRequestUri(_)
    ));
    assert!(matches!(
        kind(b"INV<ITE sip:a@b SIP/2.0\r\n\r\n"),
        ParseErrorKind::BadStartLine(_)
    ));
    let resp_err = parse_datagram(b"SIP/3.0 200 OK\r\n\r\n", &l).unwrap_err();
    assert!(resp_err.is_response());
    assert!(parse::error_response(b"SIP/3.0 200 OK\r\n\r\n", &resp_err).is_none());
}

#[test]
fn limits_are_enforced() {
    let small = Limits {
        max_headers: 5,
        ..Limits::default()
    };
    let e = parse_datagram(INVITE.as_bytes(), &small).unwrap_err();
    assert_eq!(
        e.kind(),
        &ParseErrorKind::TooLarge {
            what: "header count",
            limit: 5
        }
    );

    let long = with_header(&format!("X-Long: {}\r\n", "a".repeat(9000)));
    let e = parse_datagram(&long, &Limits::default()).unwrap_err();
    assert_eq!(
        e.kind(),
        &ParseErrorKind::TooLarge {
            what: "line",
            limit: 8192
        }
    );
    let narrow = Limits {
        max_line: 100,
        ..Limits::default()
    };
    let exact = with_header(&format!("X: {}\r\n", "a".repeat(97)));
    assert!(
        parse_datagram(&exact, &narrow).is_ok(),
        "a line of exactly max_line"
    );
    let over = with_header(&format!("X: {}\r\n", "a".repeat(98)));
    assert!(parse_datagram(&over, &narrow).is_err());
    let folded_over = with_header(&format!("X: a\r\n {}\r\n", "a".repeat(100)));
    assert!(
        parse_datagram(&folded_over, &narrow).is_err(),
        "continuation lines count"
    );
    assert!(matches!(
        parse::frame(&over, &narrow),
        parse::Frame::Error(_)
    ));
    assert!(matches!(
        parse::frame(&exact, &narrow),
        parse::Frame::Message { .. }
    ));
    // A long value folded over short lines is fine.
    let folded = with_header(&format!(
        "X-Long: {}\r\n",
        vec!["a".repeat(100); 100].join("\r\n ")
    ));
    assert!(parse_datagram(&folded, &Limits::default()).is_ok());

    let e = parse_datagram(&vec![b'a'; 70_000], &Limits::default()).unwrap_err();
    assert_eq!(e.status(), 513);
    let tiny_body = Limits {
        max_body: 2,
        ..Limits::default()
    };
    let e = parse_datagram(INVITE.as_bytes(), &tiny_body).unwrap_err();
    assert_eq!(
        e.kind(),
        &ParseErrorKind::TooLarge {
            what: "body",
            limit: 2
        }
    );

    let many_vias = with_header(&format!(
        "Via: {}\r\n",
        vec!["SIP/2.0/UDP h"; 200].join(",")
    ));
    let e = parse_datagram(&many_vias, &Limits::default()).unwrap_err();
    assert!(matches!(
        e.kind(),
        ParseErrorKind::TooLarge { what: "list", .. }
    ));
}

#[test]
fn error_response_copies_headers() {
    let bad = with_header("CSeq: 2 INVITE\r\n");
    let e = parse_datagram(&bad, &Limits::default()).unwrap_err();
    assert_eq!(e.reason_phrase(), "Bad Request - Multiple CSeq Values");
    let reply = parse::error_response(&bad, &e).unwrap();
    let text = String::from_utf8(reply).unwrap();
    assert!(text.starts_with("SIP/2.0 400 Bad Request - Multiple CSeq Values\r\n"));
    assert!(text.contains("\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"));
    assert!(text.contains("\r\nCSeq: 2 INVITE\r\n"), "first CSeq copied");
    assert!(!text.contains("CSeq: 314159"));
    assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
    // No Via: nowhere to send a reply.
    assert!(
        parse::error_response(b"INVITE sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\n\r\n", &e).is_none()
    );
    assert!(parse::error_response(b"", &e).is_none());
    // Garbage with a Via is neither a request nor a response: never answered.
    let junk = b"hello world\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n";
    let e = parse_datagram(junk, &Limits::default()).unwrap_err();
    assert!(!e.is_request() && !e.is_response());
    assert!(parse::error_response(junk, &e).is_none());
    // A malformed Request-Line that still ends in a version is answered.
    let bad_uri = b"INVITE <sip:a@b> SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n";
    let e = parse_datagram(bad_uri, &Limits::default()).unwrap_err();
    assert!(e.is_request());
    assert!(parse::error_response(bad_uri, &e).is_some());
}

#[test]
fn reason_phrase_never_echoes_input() {
    let hostile = with_header("X-Evil\r\n\r\nINVITE: x\r\n");
    if let Err(e) = parse_datagram(&hostile, &Limits::default()) {
        assert!(!e.reason_phrase().contains('\r'));
    }
    let named = "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContact: <bad uri>\r\n\r\n";
    let e = parse_datagram(named.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(e.reason_phrase(), "Bad Request - Malformed Contact");
}

/// A 64 KiB message (many headers, a long folded value, a big body) parses in well
/// under a millisecond per KiB: no quadratic paths.
#[test]
fn big_message_is_fast() {
    let mut head = String::from(
        "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
         To: <sip:bob@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: big\r\n\
         CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n",
    );
    for i in 0..100 {
        head.push_str(&format!("X-H{i}: {}\r\n", "v".repeat(200)));
    }
    head.push_str(&format!(
        "X-Folded: {}\r\n",
        vec!["w".repeat(80); 100].join("\r\n ")
    ));
    let body_len = 65_000 - head.len() - 30;
    head.push_str(&format!("Content-Length: {body_len}\r\n\r\n"));
    let mut bytes = head.into_bytes();
    bytes.extend(vec![b'x'; body_len]);
    assert!(
        bytes.len() > 60_000 && bytes.len() <= 65_535,
        "{}",
        bytes.len()
    );
    let start = std::time::Instant::now();
    for _ in 0..20 {
        parse_datagram(&bytes, &Limits::default()).unwrap();
    }
    let per = start.elapsed() / 20;
    assert!(
        per < std::time::Duration::from_millis(20),
        "64 KiB parse took {per:?}"
    );

    // A header section of 64 KiB without a blank line is rejected by the framer, and a
    // huge single line too, quickly.
    let junk = vec![b'a'; 70_000];
    let start = std::time::Instant::now();
    assert!(matches!(
        parse::frame(&junk, &Limits::default()),
        parse::Frame::Error(_)
    ));
    assert!(start.elapsed() < std::time::Duration::from_millis(50));
}
