//! RFC 4475 torture messages against the parser, the stream framer, the 400/505
//! reply builder and the UAS request checks. Every message in the shared manifest is
//! checked; run with `--nocapture` to see the outcome table.

use std::collections::BTreeMap;

use callwire_sip::message::{Host, Message, Method, Request, Uri};
use callwire_sip::parse::{
    check_request, error_response, frame, parse_datagram, Frame, Limits, ParseErrorKind,
};

/// Messages the manifest marks invalid-syntax that we accept on purpose, with the RFC
/// 4475 section allowing it. Everything else invalid-syntax must fail to parse.
const LIBERAL: &[(&str, &str)] = &[
    (
        "lwsstart.dat",
        "3.1.2.9: extra SP between Request-Line elements ignored",
    ),
    (
        "trws.dat",
        "3.1.2.10: trailing SP after SIP-Version ignored",
    ),
    (
        "baddate.dat",
        "3.1.2.12: Date is opaque to a UA, never interpreted",
    ),
];

/// invalid-semantics messages that parse and pass `check_request` because the
/// expected rejection belongs to another role.
const ROLE_DEPENDENT: &[(&str, &str)] = &[(
    "unksm2.dat",
    "3.3.4: only a registrar rejects a non-SIP To; a UA parses and processes it",
)];

struct Case {
    file: String,
    section: String,
    verdict: String,
    expected: Vec<u16>,
}

fn dir() -> String {
    format!(
        "{}/../../../shared/conformance/rfc4475",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(format!("{}/manifest.tsv", dir())).expect("manifest.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Case {
                file: cols[0].to_owned(),
                section: cols[1].to_owned(),
                verdict: cols[3].to_owned(),
                expected: cols[4]
                    .split('|')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().unwrap())
                    .collect(),
            }
        })
        .collect()
}

fn load(file: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{file}", dir())).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn req(m: &Message) -> &Request {
    match m {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

fn roundtrip(file: &str, m: &Message) {
    let printed = m.to_bytes();
    let again = parse_datagram(&printed, &Limits::default()).unwrap_or_else(|e| {
        panic!(
            "{file}: re-parse of printed message failed: {e}\n{}",
            String::from_utf8_lossy(&printed)
        )
    });
    assert_eq!(&again, m, "{file}: printed message re-parses differently");
    assert_eq!(again.to_bytes(), printed, "{file}: printing is not stable");
}

fn sip_user(u: &Uri) -> Option<&str> {
    u.as_sip().and_then(|s| s.user.as_deref())
}

/// Specific semantic details the RFC calls out, per message.
fn details(file: &str, m: &Message) {
    let h = m.head();
    match file {
        "wsinv.dat" => {
            let r = req(m);
            assert_eq!(
                h.other.get("UnknownHeaderWithUnusualValue"),
                Some(";;,,;;,;")
            );
            assert_eq!(h.other.get("Subject"), Some(""));
            assert_eq!(
                h.other.get("NewFangledHeader"),
                Some("newfangled value continued newfangled value")
            );
            assert_eq!(h.max_forwards, Some(68));
            assert_eq!((h.cseq.seq, &h.cseq.method), (9, &Method::Invite));
            assert_eq!(h.via.len(), 3);
            assert_eq!(h.via[0].protocol, "SIP/2.0");
            assert_eq!(h.via[1].transport, "TCP");
            assert_eq!(h.via[1].branch(), Some("z9hG4bK9ikj8"));
            assert_eq!(h.via[2].branch(), Some("z9hG4bK30239"));
            assert_eq!(h.from.display.as_deref(), Some(r#"J Rosenberg \\\""#));
            assert_eq!(h.from.tag(), Some("98asjd8"));
            assert_eq!(h.to.tag(), Some("1918181833n"));
            assert_eq!(h.contact.len(), 1);
            assert_eq!(
                h.contact[0].display.as_deref(),
                Some(r#"Quoted string \"\""#)
            );
            assert_eq!(h.contact[0].params.value("newparam"), Some("newvalue"));
            assert!(h.contact[0].params.contains("secondparam"));
            assert_eq!(h.contact[0].params.value("q"), Some("0.33"));
            assert!(h.route[0].uri.as_sip().unwrap().params.contains("lr"));
            assert!(r.uri.as_sip().unwrap().params.contains("unknownparam"));
            assert_eq!(r.body.len(), 150);
        }
        "intmeth.dat" => {
            let r = req(m);
            assert_eq!(
                r.method,
                Method::Extension("!interesting-Method0123456789_*+`.%indeed'~".into())
            );
            let u = r.uri.as_sip().unwrap();
            assert_eq!(
                u.user.as_deref(),
                Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
            );
            assert_eq!(
                u.password.as_deref(),
                Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
            );
            assert_eq!(
                h.to.display.as_deref(),
                Some("BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f")
            );
            assert_eq!(h.max_forwards, Some(255));
            assert_eq!(h.call_id, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
            assert_eq!(
                h.from.display.as_deref(),
                Some("token1~` token2'+_ token3*%!.-")
            );
            assert_eq!(h.other.len(), 1, "the extension header");
        }
        "esc01.dat" => {
            assert_eq!(sip_user(&req(m).uri), Some("sips%3Auser%40example.com"));
            assert_eq!(sip_user(&h.to.uri), Some("%75se%72"));
            let c = h.contact[0].uri.as_sip().unwrap();
            assert!(c.params.contains("%6C%72"));
            assert_eq!(
                c.params.value("n%61me"),
                Some("v%61lue%25%34%31"),
                "never unescaped"
            );
        }
        "escnull.dat" => {
            let users: Vec<_> = h
                .contact
                .iter()
                .map(|c| sip_user(&c.uri).unwrap())
                .collect();
            assert_eq!(users, ["%00", "%00%00"]);
            assert_eq!(sip_user(&h.to.uri), Some("null-%00-null"));
        }
        "esc02.dat" => {
            assert_eq!(req(m).method, Method::Extension("RE%47IST%45R".into()));
            assert_eq!(h.contact.len(), 2, "C%6Fntact is not Contact");
            assert_eq!(
                h.other.get("C%6Fntact"),
                Some("<sip:alias2@host2.example.com>")
            );
            assert_eq!(h.to.display.as_deref(), Some("%Z%45"));
        }
        "lwsdisp.dat" => assert_eq!(h.from.display.as_deref(), Some("caller")),
        "longreq.dat" => {
            assert_eq!(h.via.len(), 34);
            assert!(h.to.display.as_deref().unwrap().len() > 90);
            assert!(h.call_id.len() > 100);
        }
        "dblreq.dat" => {
            assert_eq!(req(m).method, Method::Register);
            assert!(req(m).body.is_empty(), "trailing INVITE ignored");
        }
        "semiuri.dat" => {
            let u = req(m).uri.as_sip().unwrap();
            assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
            assert_eq!(u.host, Host::Name("example.com".into()));
            assert!(u.params.is_empty());
        }
        "transports.dat" => {
            let t: Vec<_> = h.via.iter().map(|v| v.transport.as_str()).collect();
            assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
        }
        "mpart01.dat" => {
            assert_eq!(req(m).body.len(), 553);
            assert!(req(m).body.contains(&0));
            assert!(h
                .content_type
                .as_deref()
                .unwrap()
                .starts_with("multipart/mixed"));
        }
        "unreason.dat" | "noreason.dat" => {
            let Message::Response(r) = m else {
                panic!("response expected")
            };
            if file == "noreason.dat" {
                assert_eq!((r.status.code(), r.reason.as_str()), (100, ""));
            } else {
                assert_eq!(r.status.code(), 200);
                assert!(r.reason.starts_with("= 2**3 * 5**2 "));
                assert!(!r.reason.is_ascii());
                assert_eq!(r.body.len(), 154);
            }
        }
        "cparam01.dat" => {
            let c = &h.contact[0];
            assert!(c.params.contains("unknownparam"), "header parameter");
            assert!(
                c.uri.as_sip().unwrap().params.is_empty(),
                "not a URI parameter"
            );
        }
        "cparam02.dat" => {
            let c = &h.contact[0];
            assert!(c.params.is_empty());
            assert!(
                c.uri.as_sip().unwrap().params.contains("unknownparam"),
                "URI parameter"
            );
        }
        "regescrt.dat" => {
            let u = h.contact[0].uri.as_sip().unwrap();
            assert_eq!(
                u.headers,
                vec![("Route".to_owned(), "%3Csip:sip.example.com%3E".to_owned())]
            );
        }
        "unksm2.dat" => {
            assert_eq!(h.to.uri.scheme(), "isbn");
            assert_eq!(h.from.uri.scheme(), "http");
            assert_eq!(h.from.tag(), Some("3234233"));
            assert_eq!(h.contact[0].uri.scheme(), "name");
        }
        "unkscm.dat" => assert_eq!(req(m).uri.scheme(), "nobodyknowsthisscheme"),
        "novelsc.dat" => assert_eq!(req(m).uri.scheme(), "soap.beep"),
        "inv2543.dat" => {
            let r = req(m);
            assert!(
                r.body.starts_with(b"v=0\r\n"),
                "body is the rest of the datagram"
            );
            assert!(r.body.ends_with(b"RTP/AVP 0\r\n"));
            assert_eq!(h.max_forwards, None);
            assert_eq!(h.via[0].branch(), None);
            assert_eq!(h.record_route.len(), 1);
        }
        "bcast.dat" => assert_eq!(h.via[1].host, Host::V4([255, 255, 255, 255].into())),
        "zeromf.dat" => assert_eq!(h.max_forwards, Some(0)),
        "badbranch.dat" => assert_eq!(h.via[0].branch(), Some("z9hG4bK")),
        "regaut01.dat" => {
            assert_eq!(
                h.other.get("Authorization"),
                Some("NoOneKnowsThisScheme opaque-data=here")
            )
        }
        "lwsstart.dat" | "trws.dat" => {
            let printed = m.to_bytes();
            let first = printed.split(|&b| b == b'\n').next().unwrap();
            assert!(
                !first.windows(2).any(|w| w == b"  "),
                "extra SP never forwarded"
            );
            assert!(first.ends_with(b"SIP/2.0\r"));
        }
        "bext01.dat" => assert_eq!(h.other.get_all("Proxy-Require").count(), 1),
        _ => {}
    }
}

/// Specific checks on rejected messages.
fn error_details(file: &str, kind: &ParseErrorKind) {
    let ok = match file {
        "insuf.dat" => matches!(kind, ParseErrorKind::MissingHeader(_)),
        "multi01.dat" => matches!(kind, ParseErrorKind::DuplicateHeader(_)),
        "mcl01.dat" => matches!(kind, ParseErrorKind::BadContentLength(_)),
        "ncl.dat" => matches!(kind, ParseErrorKind::BadContentLength(_)),
        "clerr.dat" => matches!(kind, ParseErrorKind::BodyTruncated { declared: 9999, .. }),
        "scalar02.dat" | "scalarlg.dat" => {
            matches!(kind, ParseErrorKind::BadHeader { name, .. } if name == "CSeq")
        }
        "badvers.dat" => matches!(kind, ParseErrorKind::UnsupportedVersion(v) if v == "SIP/7.0"),
        "bigcode.dat" => matches!(kind, ParseErrorKind::BadStatusCode),
        "mismatch01.dat" | "mismatch02.dat" => matches!(kind, ParseErrorKind::CSeqMismatch { .. }),
        "ltgtruri.dat" | "lwsruri.dat" | "escruri.dat" => {
            matches!(kind, ParseErrorKind::BadRequestUri(_))
        }
        "quotbal.dat" | "regbadct.dat" | "badaspec.dat" | "baddn.dat" | "badinv01.dat" => {
            matches!(kind, ParseErrorKind::BadHeader { .. })
        }
        _ => true,
    };
    assert!(ok, "{file}: unexpected error kind {kind:?}");
}

#[test]
fn rfc4475_every_message() {
    let cases = manifest();
    assert_eq!(
        cases.len(),
        49,
        "the manifest lists the 49 RFC 4475 messages"
    );
    let mut table = Vec::new();
    let mut liberal_used = Vec::new();
    for c in &cases {
        let bytes = load(&c.file);
        let parsed = parse_datagram(&bytes, &Limits::default());
        let outcome = match (&parsed, c.verdict.as_str()) {
            (Ok(m), verdict) => {
                roundtrip(&c.file, m);
                details(&c.file, m);
                let checked = match m {
                    Message::Request(r) => check_request(r, &[]),
                    Message::Response(_) => Ok(()),
                };
                match verdict {
                    "valid" | "application" | "transaction" => {
                        assert!(
                            checked.is_ok(),
                            "{}: {verdict} request rejected: {checked:?}",
                            c.file
                        );
                        "parsed".to_owned()
                    }
                    "invalid-syntax" => {
                        let why = LIBERAL
                            .iter()
                            .find(|(f, _)| *f == c.file)
                            .unwrap_or_else(|| {
                                panic!(
                                    "{} (§{}): invalid-syntax message accepted",
                                    c.file, c.section
                                )
                            });
                        liberal_used.push(c.file.clone());
                        format!("accepted (liberal, §{})", why.1)
                    }
                    "invalid-semantics" => match checked {
                        Err(rej) => {
                            assert!(
                                c.expected.is_empty() || c.expected.contains(&rej.status),
                                "{}: check_request gave {} not {:?}",
                                c.file,
                                rej.status,
                                c.expected
                            );
                            if c.file == "bext01.dat" {
                                let unsupported = rej
                                    .extra_headers
                                    .iter()
                                    .find(|(n, _)| n == "Unsupported")
                                    .unwrap();
                                assert_eq!(
                                    unsupported.1,
                                    "nothingSupportsThis, nothingSupportsThisEither"
                                );
                            }
                            if c.file == "invut.dat" {
                                assert!(rej
                                    .extra_headers
                                    .contains(&("Accept".into(), "application/sdp".into())));
                            }
                            let resp = rej.to_response(req(m));
                            assert_eq!(resp.status.code(), rej.status);
                            format!("parsed, check_request -> {} {}", rej.status, rej.reason)
                        }
                        Ok(()) => {
                            let why = ROLE_DEPENDENT
                                .iter()
                                .find(|(f, _)| *f == c.file)
                                .unwrap_or_else(|| {
                                    panic!(
                                        "{}: invalid-semantics request passed check_request",
                                        c.file
                                    )
                                });
                            format!("parsed, passes UA checks ({})", why.1)
                        }
                    },
                    other => panic!("unknown verdict {other}"),
                }
            }
            (Err(e), verdict) => {
                assert!(
                    matches!(verdict, "invalid-syntax" | "invalid-semantics"),
                    "{} ({verdict}) must parse: {e}",
                    c.file
                );
                error_details(&c.file, e.kind());
                let reply = error_response(&bytes, e);
                if e.is_request() {
                    assert!(
                        c.expected.is_empty() || c.expected.contains(&e.status()),
                        "{}: status {} not in {:?} ({e})",
                        c.file,
                        e.status(),
                        c.expected
                    );
                    let reply = reply.unwrap_or_else(|| panic!("{}: no error response", c.file));
                    let status_line = format!("SIP/2.0 {} {}\r\n", e.status(), e.reason_phrase());
                    assert!(reply.starts_with(status_line.as_bytes()));
                    // The reply is a well-formed response, unless the very header that was
                    // bad (or missing) had to be copied into it.
                    match parse_datagram(&reply, &Limits::default()) {
                        Ok(parsed) => assert!(matches!(parsed, Message::Response(_))),
                        Err(e2) => {
                            assert_eq!(e2.kind(), e.kind(), "{}: reply fails differently", c.file)
                        }
                    }
                    format!("rejected {} {} ({e})", e.status(), e.reason_phrase())
                } else {
                    assert!(e.is_response(), "{}: origin unknown", c.file);
                    assert!(reply.is_none(), "{}: responses are never answered", c.file);
                    format!("response dropped ({e})")
                }
            }
        };
        table.push((
            c.file.clone(),
            c.section.clone(),
            c.verdict.clone(),
            outcome,
        ));
    }
    eprintln!("\nRFC 4475 outcomes:");
    for (file, section, verdict, outcome) in &table {
        eprintln!("  {file:<15} {section:<9} {verdict:<18} {outcome}");
    }
    assert_eq!(
        liberal_used.len(),
        LIBERAL.len(),
        "every liberal allow-list entry is exercised"
    );
}

#[test]
fn rfc4475_semantic_statuses() {
    let expect: BTreeMap<&str, u16> = [
        ("unkscm.dat", 416),
        ("novelsc.dat", 416),
        ("bext01.dat", 420),
        ("invut.dat", 415),
        ("sdp01.dat", 406),
    ]
    .into_iter()
    .collect();
    for (file, status) in expect {
        let m = parse_datagram(&load(file), &Limits::default()).unwrap();
        let rej = check_request(req(&m), &["timer"]).unwrap_err();
        assert_eq!(rej.status, status, "{file}");
    }
    for (file, status) in [
        ("insuf.dat", 400),
        ("multi01.dat", 400),
        ("badvers.dat", 505),
        ("mismatch01.dat", 400),
        ("mismatch02.dat", 501),
    ] {
        let e = parse_datagram(&load(file), &Limits::default()).unwrap_err();
        assert_eq!(e.status(), status, "{file}");
        assert!(e.is_request());
    }
    let e = parse_datagram(&load("insuf.dat"), &Limits::default()).unwrap_err();
    assert_eq!(e.reason_phrase(), "Bad Request - Missing To");
    let e = parse_datagram(&load("mcl01.dat"), &Limits::default()).unwrap_err();
    assert!(e.is_fatal_for_stream());
}

/// Over a stream, each message frames to the same bytes a datagram parse uses; dblreq
/// frames as two messages; inv2543 (no Content-Length) and the Content-Length errors
/// close the connection.
#[test]
fn rfc4475_stream_framing() {
    let limits = Limits::default();
    for c in manifest() {
        let bytes = load(&c.file);
        match frame(&bytes, &limits) {
            Frame::Message { len } => {
                assert!(len <= bytes.len());
                if let Ok(m) = parse_datagram(&bytes, &limits) {
                    let framed = parse_datagram(&bytes[..len], &limits).unwrap();
                    assert_eq!(framed, m, "{}", c.file);
                }
            }
            Frame::Incomplete => assert!(
                matches!(c.file.as_str(), "clerr.dat" | "baddn.dat"),
                "{}: unexpectedly incomplete",
                c.file
            ),
            Frame::Error(e) => {
                assert!(e.is_fatal_for_stream());
                assert!(
                    matches!(c.file.as_str(), "inv2543.dat" | "ncl.dat" | "mcl01.dat"),
                    "{}: unexpected framing error {e}",
                    c.file
                );
            }
            other => panic!("{}: unexpected {other:?}", c.file),
        }
    }
    // dblreq over a stream: REGISTER, then a stray CRLF, then the INVITE.
    let bytes = load("dblreq.dat");
    let Frame::Message { len } = frame(&bytes, &limits) else {
        panic!()
    };
    let rest = &bytes[len..];
    assert_eq!(frame(rest, &limits), Frame::KeepAlive { len: 2 });
    let rest = &rest[2..];
    let Frame::Message { len } = frame(rest, &limits) else {
        panic!()
    };
    let second = parse_datagram(&rest[..len], &limits).unwrap();
    assert_eq!(req(&second).method, Method::Invite);
    assert_eq!(req(&second).body.len(), 150);
}
