//! Stream framing (RFC 3261 §18.3, RFC 5626 §3.5.1) through the public API.

use callwire_sip::parse::{frame, parse_datagram, Frame, Limits, ParseErrorKind, StreamFramer};

const MSG: &str = "OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
From: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\
Content-Length: 5\r\n\r\nhello";

/// Frames `buf` to the end with a fresh framer and whole-buffer calls.
fn frames_whole(buf: &[u8], limits: &Limits) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let f = frame(&buf[pos..], limits);
        match f {
            Frame::Message { len } | Frame::Ping { len } | Frame::KeepAlive { len } => {
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

/// Frames `buf` fed `chunk` octets at a time into one [`StreamFramer`].
fn frames_chunked(buf: &[u8], chunk: usize, limits: &Limits) -> Vec<Frame> {
    let mut framer = StreamFramer::new(limits.clone());
    let mut rx: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for piece in buf.chunks(chunk.max(1)) {
        rx.extend_from_slice(piece);
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

#[test]
fn ping_keepalive_and_messages() {
    let l = Limits::default();
    let mut stream = b"\r\n\r\n".to_vec();
    stream.extend_from_slice(MSG.as_bytes());
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(MSG.as_bytes());
    stream.extend_from_slice(&MSG.as_bytes()[..30]);
    let whole = frames_whole(&stream, &l);
    let n = MSG.len();
    assert_eq!(
        whole,
        vec![
            Frame::Ping { len: 4 },
            Frame::Message { len: n },
            Frame::KeepAlive { len: 2 },
            Frame::Message { len: n },
            Frame::Incomplete,
        ]
    );
    for chunk in [1, 2, 3, 7, 64, 1000] {
        assert_eq!(frames_chunked(&stream, chunk, &l), whole, "chunk {chunk}");
    }
    let m = parse_datagram(&stream[4..4 + n], &l).unwrap();
    assert_eq!(m.head().call_id, "c1");
}

#[test]
fn lone_crlf_waits_unless_awaiting_pong() {
    let l = Limits::default();
    assert_eq!(frame(b"\r\n", &l), Frame::Incomplete);
    assert_eq!(frame(b"\r\n\r", &l), Frame::Incomplete);
    assert_eq!(frame(b"\r", &l), Frame::Incomplete);
    assert_eq!(frame(b"", &l), Frame::Incomplete);
    let mut f = StreamFramer::new(l);
    f.set_awaiting_pong(true);
    assert_eq!(f.next_frame(b"\r\n"), Frame::KeepAlive { len: 2 });
}

#[test]
fn body_arrives_later() {
    let l = Limits::default();
    let mut f = StreamFramer::new(l);
    let bytes = MSG.as_bytes();
    assert_eq!(f.next_frame(&bytes[..bytes.len() - 3]), Frame::Incomplete);
    assert_eq!(f.next_frame(bytes), Frame::Message { len: bytes.len() });
}

#[test]
fn unrecoverable_framing_errors() {
    let l = Limits::default();
    let err = |buf: &[u8]| match frame(buf, &l) {
        Frame::Error(e) => {
            assert!(e.is_fatal_for_stream());
            e.kind().clone()
        }
        other => panic!("expected an error, got {other:?}"),
    };
    let no_cl = MSG.replace("Content-Length: 5\r\n", "");
    assert_eq!(err(no_cl.as_bytes()), ParseErrorKind::MissingContentLength);
    let neg = MSG.replace("Content-Length: 5", "Content-Length: -5");
    assert!(matches!(
        err(neg.as_bytes()),
        ParseErrorKind::BadContentLength(_)
    ));
    let two = MSG.replace("Content-Length: 5\r\n", "Content-Length: 5\r\nl: 6\r\n");
    assert!(matches!(
        err(two.as_bytes()),
        ParseErrorKind::BadContentLength(_)
    ));
    let huge = MSG.replace("Content-Length: 5", "Content-Length: 1000000");
    assert!(matches!(
        err(huge.as_bytes()),
        ParseErrorKind::TooLarge { what: "body", .. }
    ));
    // A header section that never ends is an error once it passes the limit...
    let mut endless = MSG.as_bytes()[..60].to_vec();
    while endless.len() <= 65_535 {
        endless.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    assert_eq!(
        err(&endless),
        ParseErrorKind::TooLarge {
            what: "message",
            limit: 65_535
        }
    );
    // ...and before it: Incomplete.
    assert_eq!(frame(&endless[..60_000], &l), Frame::Incomplete);
    // A line longer than max_line fails as soon as it is too long.
    let mut long_line = b"INVITE sip:a@b SIP/2.0\r\nX: ".to_vec();
    long_line.extend(vec![b'a'; 8_200]);
    assert_eq!(
        err(&long_line),
        ParseErrorKind::TooLarge {
            what: "line",
            limit: 8_192
        }
    );
    // Fed in pieces, the same errors come out.
    for chunk in [1, 100, 4096] {
        let got = frames_chunked(&endless, chunk, &l);
        assert!(
            matches!(got.last(), Some(Frame::Error(e)) if e.kind() == &ParseErrorKind::TooLarge { what: "message", limit: 65_535 })
        );
    }
}

#[test]
fn framing_is_linear_for_small_reads() {
    // 64 KiB arriving one octet at a time must not rescan the buffer each time.
    let l = Limits::default();
    let mut msg = String::from("OPTIONS sip:x@y SIP/2.0\r\n");
    while msg.len() < 60_000 {
        msg.push_str("X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    msg.push_str("Content-Length: 0\r\n\r\n");
    let start = std::time::Instant::now();
    let got = frames_chunked(msg.as_bytes(), 1, &l);
    assert_eq!(got[0], Frame::Message { len: msg.len() });
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}
