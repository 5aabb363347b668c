//! Raw SIP over sockets for tests: build an OPTIONS request, parse a
//! response, frame messages on a TCP stream, extract Call-IDs.
//!
//! Deliberately independent of the `callwire-sip` crate, so the tests check
//! the service against a second, minimal reading of RFC 3261.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A parsed SIP response (status line and headers; body kept raw).
#[derive(Debug, Clone)]
pub struct SipResponse {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub raw: Vec<u8>,
}

impl SipResponse {
    /// First value of header `name` (case-insensitive, compact forms known
    /// to [`canonical_header`] included).
    pub fn header(&self, name: &str) -> Option<&str> {
        let want = canonical_header(name);
        self.headers
            .iter()
            .find(|(n, _)| canonical_header(n) == want)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

/// Lower-case long name of a header, expanding RFC 3261 compact forms.
pub fn canonical_header(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "i" => "call-id".into(),
        "m" => "contact".into(),
        "e" => "content-encoding".into(),
        "l" => "content-length".into(),
        "c" => "content-type".into(),
        "f" => "from".into(),
        "s" => "subject".into(),
        "k" => "supported".into(),
        "t" => "to".into(),
        "v" => "via".into(),
        _ => lower,
    }
}

/// Header lines of the first message in `bytes` (up to the first empty line,
/// or all of it), unfolded, as (name, value).
pub fn header_lines(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let head = match text.find("\r\n\r\n") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    let mut lines: Vec<String> = Vec::new();
    for (n, line) in head.split("\r\n").enumerate() {
        if n == 0 {
            continue; // start line
        }
        if (line.starts_with(' ') || line.starts_with('\t')) && !lines.is_empty() {
            if let Some(last) = lines.last_mut() {
                last.push(' ');
                last.push_str(line.trim());
            }
        } else {
            lines.push(line.to_string());
        }
    }
    lines
        .into_iter()
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Every Call-ID value in the header block of the first message.
pub fn call_ids(bytes: &[u8]) -> Vec<String> {
    header_lines(bytes)
        .into_iter()
        .filter(|(n, _)| canonical_header(n) == "call-id")
        .map(|(_, v)| v)
        .collect()
}

/// Parses a SIP response; `None` when the start line is not
/// `SIP/2.0 <3 digits> ...`.
pub fn parse_response(bytes: &[u8]) -> Option<SipResponse> {
    let text = String::from_utf8_lossy(bytes);
    let first = text.split("\r\n").next()?;
    let rest = first.strip_prefix("SIP/2.0 ")?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 {
        return None;
    }
    let status: u16 = code.parse().ok()?;
    Some(SipResponse {
        status,
        reason: reason.to_string(),
        headers: header_lines(bytes),
        raw: bytes.to_vec(),
    })
}

/// A fresh token for branches, tags and Call-IDs.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id())
}

/// An OPTIONS request from `local` to `target` (with `rport`, so the answer
/// comes back to the sending socket).
pub fn options_request(
    transport: &str,
    local: SocketAddr,
    target: SocketAddr,
    call_id: &str,
) -> String {
    format!(
        "OPTIONS sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};rport;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:tester@{local}>;tag={tag}\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Contact: <sip:tester@{local};transport={lt}>\r\n\
         Accept: application/sdp\r\n\
         Content-Length: 0\r\n\r\n",
        branch = unique("opt"),
        tag = unique("t"),
        lt = transport.to_ascii_lowercase(),
    )
}

/// Sends OPTIONS over UDP (retransmitting every 500 ms) and returns the
/// first final response whose Call-ID matches, within `timeout`.
pub fn udp_options(target: SocketAddr, timeout: Duration) -> io::Result<SipResponse> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let local = sock.local_addr()?;
    let call_id = unique("options-udp-");
    let req = options_request("UDP", local, target, &call_id);
    let deadline = Instant::now() + timeout;
    let mut next_send = Instant::now();
    let mut buf = vec![0u8; 65_536];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no final answer to OPTIONS over UDP to {target}"),
            ));
        }
        if now >= next_send {
            sock.send_to(req.as_bytes(), target)?;
            next_send = now + Duration::from_millis(500);
        }
        let wait = next_send
            .min(deadline)
            .saturating_duration_since(Instant::now());
        sock.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                if let Some(resp) = parse_response(&buf[..n]) {
                    if resp.status >= 200 && resp.header("call-id") == Some(call_id.as_str()) {
                        return Ok(resp);
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            // ICMP port unreachable shows up as ConnectionRefused on Linux: retry.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => return Err(e),
        }
    }
}

/// Sends OPTIONS over a new TCP connection and returns the first final
/// response, within `timeout`.
pub fn tcp_options(target: SocketAddr, timeout: Duration) -> io::Result<SipResponse> {
    let mut stream = TcpStream::connect_timeout(&target, timeout)?;
    let local = stream.local_addr()?;
    let call_id = unique("options-tcp-");
    stream.write_all(options_request("TCP", local, target, &call_id).as_bytes())?;
    let deadline = Instant::now() + timeout;
    let mut reader = StreamReader::default();
    loop {
        match reader.next_message(&mut stream, deadline)? {
            StreamEvent::Message(bytes) => {
                if let Some(resp) = parse_response(&bytes) {
                    if resp.status >= 200 {
                        return Ok(resp);
                    }
                }
            }
            StreamEvent::Closed => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before a final answer",
                ))
            }
            StreamEvent::TimedOut => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no final answer to OPTIONS over TCP to {target}"),
                ))
            }
        }
    }
}

/// Asserts the service answers OPTIONS with 200 and an `Allow` header that
/// lists INVITE, over `transport` ("udp" or "tcp").
pub fn assert_options_ok(target: SocketAddr, transport: &str) -> SipResponse {
    let timeout = Duration::from_secs(5);
    let resp = match transport {
        "udp" => udp_options(target, timeout),
        "tcp" => tcp_options(target, timeout),
        other => panic!("unknown transport {other}"),
    }
    .unwrap_or_else(|e| panic!("OPTIONS over {transport} to {target}: {e}"));
    assert_eq!(
        resp.status,
        200,
        "OPTIONS over {transport}: {}",
        resp.text()
    );
    let allow = resp.header("allow").unwrap_or_else(|| {
        panic!(
            "200 to OPTIONS over {transport} has no Allow header: {}",
            resp.text()
        )
    });
    assert!(
        allow.to_ascii_uppercase().contains("INVITE"),
        "Allow header {allow:?} does not list INVITE"
    );
    resp
}

/// What [`StreamReader::next_message`] saw.
#[derive(Debug)]
pub enum StreamEvent {
    Message(Vec<u8>),
    Closed,
    TimedOut,
}

/// Frames SIP messages on a byte stream (headers up to CRLFCRLF, then
/// Content-Length bytes of body; keep-alive CRLFs skipped).
#[derive(Default)]
pub struct StreamReader {
    buf: Vec<u8>,
}

impl StreamReader {
    fn take_message(&mut self) -> Option<Vec<u8>> {
        while self.buf.starts_with(b"\r\n") {
            self.buf.drain(..2);
        }
        let end = self.buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let len = header_lines(&self.buf[..end])
            .into_iter()
            .find(|(n, _)| canonical_header(n) == "content-length")
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if self.buf.len() < end + len {
            return None;
        }
        Some(self.buf.drain(..end + len).collect())
    }

    /// Next complete message, or `Closed`/`TimedOut` (at `deadline`).
    pub fn next_message(
        &mut self,
        stream: &mut TcpStream,
        deadline: Instant,
    ) -> io::Result<StreamEvent> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(msg) = self.take_message() {
                return Ok(StreamEvent::Message(msg));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(StreamEvent::TimedOut);
            }
            stream.set_read_timeout(Some(left))?;
            match stream.read(&mut chunk) {
                Ok(0) => return Ok(StreamEvent::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(StreamEvent::TimedOut)
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Ok(StreamEvent::Closed)
                }
                Err(e) => return Err(e),
            }
        }
    }
}
