//! Stable-toolchain fuzzing of the SIP parser with proptest: random bytes and
//! mutations of the RFC 4475 messages and of a valid INVITE go through
//! `parse_datagram`, the stream framer (whole buffer vs. random splits) and
//! `error_response`. Properties: no panic, structured errors, printed messages
//! re-parse equal. `PROPTEST_CASES` overrides the 3000 cases per property.

use std::sync::OnceLock;

use callwire_sip::parse::{error_response, frame, parse_datagram, Frame, Limits, StreamFramer};
use proptest::prelude::*;

const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Route: <sip:p1.example.com;lr>, <sip:[2001:db8::1]:5070;lr>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 13\r\n\
\r\n\
v=0\r\no=- 1 1\r\n";

fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let dir = format!(
            "{}/../../../shared/conformance/rfc4475",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("RFC 4475 directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "dat"))
            .collect();
        files.sort();
        let mut out: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
        out.push(INVITE.to_vec());
        assert!(out.len() >= 50);
        out
    })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: usize, byte: u8 },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    DuplicateLine { line: usize },
    DeleteLine { line: usize },
    InsertInteresting { at: usize, which: usize },
}

/// Fragments that hit parser edge cases.
const INTERESTING: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"\r\n ",
    b":",
    b";",
    b",",
    b"\"",
    b"\\",
    b"<",
    b">",
    b"@",
    b"%",
    b"[",
    b"]",
    b"\x00",
    b"\xff",
    b"\xe2\x82",
    b"SIP/2.0",
    b"Content-Length: 99999\r\n",
    b"l: -1\r\n",
    b"Via: SIP/2.0/UDP [::1]:5060;branch=z9hG4bK\r\n",
    b"CSeq: 4294967296 INVITE\r\n",
    b" SIP / 2.0 / UDP ",
    b";tag=",
    b"?",
    b"sips:",
    b"Contact: *\r\n",
    b"\t",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        any::<usize>().prop_map(|line| Mutation::DeleteLine { line }),
        (any::<usize>(), any::<usize>())
            .prop_map(|(at, which)| Mutation::InsertInteresting { at, which }),
    ]
}

/// Byte ranges of the CRLF-terminated lines of `buf`.
fn line_spans(buf: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for i in 0..buf.len().saturating_sub(1) {
        if buf[i] == b'\r' && buf[i + 1] == b'\n' {
            spans.push((start, i + 2));
            start = i + 2;
        }
    }
    spans
}

fn apply(mut buf: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        let len = buf.len();
        match m {
            Mutation::Flip { at, byte } if len > 0 => buf[at % len] = *byte,
            Mutation::Truncate { at } => buf.truncate(at % (len + 1)),
            Mutation::Insert { at, bytes } => {
                let at = at % (len + 1);
                buf.splice(at..at, bytes.iter().copied());
            }
            Mutation::InsertInteresting { at, which } => {
                let at = at % (len + 1);
                buf.splice(
                    at..at,
                    INTERESTING[which % INTERESTING.len()].iter().copied(),
                );
            }
            Mutation::DuplicateLine { line } | Mutation::DeleteLine { line } => {
                let spans = line_spans(&buf);
                if spans.is_empty() {
                    continue;
                }
                let (s, e) = spans[line % spans.len()];
                if matches!(m, Mutation::DuplicateLine { .. }) {
                    let copy = buf[s..e].to_vec();
                    buf.splice(e..e, copy);
                } else {
                    buf.drain(s..e);
                }
            }
            _ => {}
        }
    }
    buf
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<prop::sample::Index>(),
        proptest::collection::vec(mutation(), 0..6),
    )
        .prop_map(|(i, muts)| apply(i.get(corpus()).clone(), &muts))
}

/// Every check the datagram path must pass for any input.
fn check_datagram(buf: &[u8]) -> Result<(), TestCaseError> {
    let limits = Limits::default();
    match parse_datagram(buf, &limits) {
        Ok(m) => {
            let printed = m.to_bytes();
            let again = parse_datagram(&printed, &limits);
            prop_assert_eq!(
                again.as_ref(),
                Ok(&m),
                "printed message re-parses differently"
            );
        }
        Err(e) => {
            prop_assert!(matches!(e.status(), 400 | 501 | 505 | 513));
            let phrase = e.reason_phrase();
            prop_assert!(!phrase.is_empty() && !phrase.contains(['\r', '\n']));
            prop_assert!(!e.to_string().is_empty());
            if let Some(reply) = error_response(buf, &e) {
                prop_assert!(e.is_request());
                let status_line = format!("SIP/2.0 {} ", e.status());
                prop_assert!(reply.starts_with(status_line.as_bytes()));
                prop_assert!(reply.ends_with(b"Content-Length: 0\r\n\r\n"));
                // The reply frames as exactly one message on a stream.
                prop_assert_eq!(frame(&reply, &limits), Frame::Message { len: reply.len() });
            }
            if e.is_response() {
                prop_assert!(error_response(buf, &e).is_none());
            }
        }
    }
    Ok(())
}

fn frames_whole(buf: &[u8], limits: &Limits) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let f = frame(&buf[pos..], limits);
        match f {
            Frame::Message { len } | Frame::Ping { len } | Frame::KeepAlive { len } => {
                assert!(len > 0 && pos + len <= buf.len());
                pos += len;
                out.push(f);
            }
            Frame::Incomplete | Frame::Error(_) => {
                out.push(f);
                return out;
            }
        }
    }
}

fn frames_split(buf: &[u8], cuts: &[usize], limits: &Limits) -> Vec<Frame> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (buf.len() + 1)).collect();
    cuts.push(buf.len());
    cuts.sort_unstable();
    let mut framer = StreamFramer::new(limits.clone());
    let mut rx = Vec::new();
    let mut out = Vec::new();
    let mut fed = 0;
    for cut in cuts {
        rx.extend_from_slice(&buf[fed..cut]);
        fed = cut;
        loop {
            match framer.next_frame(&rx) {
                f @ (Frame::Message { len } | Frame::Ping { len } | Frame::KeepAlive { len }) => {
                    rx.drain(..len);
                    out.push(f);
                }
                Frame::Incomplete => break,
                f @ Frame::Error(_) => {
                    out.push(f);
                    return out;
                }
            }
        }
    }
    out.push(Frame::Incomplete);
    out
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            3 => mutated(),
            1 => Just(b"\r\n\r\n".to_vec()),
            1 => Just(b"\r\n".to_vec()),
            1 => Just(INVITE.to_vec()),
        ],
        1..4,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn random_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_datagram(&buf)?;
        let _ = frames_whole(&buf, &Limits::default());
    }

    #[test]
    fn random_text_like_sip_never_panics(
        head in "(INVITE|SIP/2.0|OPTIONS|ACK) [ -~]{0,40}\r\n",
        lines in proptest::collection::vec("[A-Za-z-]{1,12} ?: ?[ -~]{0,60}\r\n", 0..12),
        body in "[ -~]{0,20}",
    ) {
        let buf = format!("{head}{}\r\n{body}", lines.concat());
        check_datagram(buf.as_bytes())?;
    }

    #[test]
    fn mutated_messages_never_panic(buf in mutated()) {
        check_datagram(&buf)?;
    }

    #[test]
    fn framing_does_not_depend_on_read_sizes(
        buf in stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let limits = Limits::default();
        let whole = frames_whole(&buf, &limits);
        let split = frames_split(&buf, &cuts, &limits);
        prop_assert_eq!(&whole, &split);
        // Framed messages parse the same way a datagram holding only them does.
        let mut pos = 0;
        for f in &whole {
            match f {
                Frame::Message { len } => {
                    check_datagram(&buf[pos..pos + len])?;
                    pos += len;
                }
                Frame::Ping { len } | Frame::KeepAlive { len } => pos += len,
                _ => {}
            }
        }
    }
}
