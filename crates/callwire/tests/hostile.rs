//! Hostile input over the wire: the RFC 4475 torture messages, random bytes,
//! mutated, truncated, stalled and oversized messages, over UDP and TCP.
//! The service must answer each torture message as the table [`CASES`]
//! says (one row per `manifest.tsv` row, with the reason for the statuses
//! it accepts), refuse messages over `max_message_bytes`, and keep serving:
//! afterwards OPTIONS gets 200 with `Allow` and `/v1/health` answers.
//!
//! The test runs in a network namespace with only loopback (`unshare -n`),
//! so that it can listen on the ports the torture messages' Via headers
//! name (5060, 5050, ...) without touching the host. The outer test
//! re-executes this test binary for `hostile_inner` inside the namespace.
//!
//! Responses go where RFC 3261 §18.2.2 says: over UDP to the `received`
//! address (127.0.0.1 here) and the Via's port (5060 when none is given), or
//! back to the source port with `rport`; a Via that names TCP may also be
//! answered over a new TCP connection. So every UDP message is sent from
//! 127.0.0.1:5060 and sinks listen on UDP and TCP 5050, 5060, 5061, 5070;
//! responses are matched to messages by Call-ID (all torture Call-IDs are
//! distinct), which lets all messages be in flight at once. Over TCP each
//! message has its own connection and only answers on it count. Each
//! transport gets its own callwire instances, so that a TCP message is never
//! taken for a retransmission of the same UDP message, and torture messages
//! that share a transaction key go to different instances.

mod common;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

use common::sip::{self, SipResponse, StreamEvent, StreamReader};
use common::{conformance_dir, netns, Callwire, CallwireOpts, Rng};

/// What a message may get back. `expected` is the manifest's
/// `expected_status` set (`a|b` = either).
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// A final response with a status from the manifest.
    Manifest,
    /// A final response from the manifest or from this list.
    ManifestOr(&'static [u16]),
    /// A final response from this list (the manifest names no code).
    OneOf(&'static [u16]),
    /// Handled as a well-formed request: 180/183 or a final response that
    /// is not 400 (bad syntax), 483 (Max-Forwards is a proxy's business)
    /// or 5xx.
    Accepted,
    /// `Accepted`, or one of these statuses.
    AcceptedOr(&'static [u16]),
    /// Like `Accepted`, and over UDP the octets after the first message
    /// must be ignored: no response with the trailing message's Call-ID.
    AcceptedIgnoringTrailer,
    /// The manifest's code, or liberal acceptance (then as `Accepted`).
    ManifestOrLiberal,
    /// Some answer (180/183 or a final below 500): reject or accept.
    AnyAnswer,
    /// A 4xx final response.
    ClientError,
    /// The manifest's code, or nothing (the response may be undeliverable).
    ManifestOrNothing,
    /// Nothing, an error response (>= 400), or the connection closed: a
    /// stream framing error the server cannot answer in general.
    ErrorOrNothing,
    /// No answer may come back: the message is a response.
    NoAnswer,
}

struct Case {
    file: &'static str,
    udp: Rule,
    tcp: Rule,
    why: &'static str,
}

/// One row per manifest.tsv row; the test fails when the two disagree.
const CASES: &[Case] = &[
    Case { file: "wsinv.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "valid INVITE; rings (auto_answer off) or is refused by routing, never 400" },
    Case { file: "intmeth.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "unknown method: 501" },
    Case { file: "esc01.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "valid INVITE with escapes" },
    Case { file: "escnull.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "valid REGISTER: 200 from a registrar, 401/403/404, or 405 from a non-registrar endpoint" },
    Case { file: "esc02.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "unknown method RE%47IST%45R: 501" },
    Case { file: "lwsdisp.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "valid OPTIONS (spec bug, accept)" },
    Case { file: "longreq.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "valid INVITE with long values and 34 Vias" },
    Case { file: "dblreq.dat", udp: Rule::AcceptedIgnoringTrailer, tcp: Rule::Accepted, why: "valid REGISTER; over UDP the trailing INVITE octets are ignored, over TCP they frame as a second message" },
    Case { file: "semiuri.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "valid OPTIONS" },
    Case { file: "transports.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "valid OPTIONS, unknown transports in lower Vias" },
    Case { file: "mpart01.dat", udp: Rule::AcceptedOr(&[501]), tcp: Rule::AcceptedOr(&[501]), why: "valid MESSAGE with a multipart/signed body: 2xx, 405/415, or 501 from a UA that does not know MESSAGE (RFC 3428), never 400" },
    Case { file: "unreason.dat", udp: Rule::NoAnswer, tcp: Rule::NoAnswer, why: "a response" },
    Case { file: "noreason.dat", udp: Rule::NoAnswer, tcp: Rule::NoAnswer, why: "a response" },
    Case { file: "badinv01.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "stray separators: 400" },
    Case { file: "clerr.dat", udp: Rule::Manifest, tcp: Rule::ErrorOrNothing, why: "Content-Length past the end: 400 over UDP; over TCP the server waits for more data" },
    Case { file: "ncl.dat", udp: Rule::ClientError, tcp: Rule::ErrorOrNothing, why: "negative Content-Length: an error (RFC names no code); TCP may close" },
    Case { file: "scalar02.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "CSeq > 2**32-1: 400" },
    Case { file: "scalarlg.dat", udp: Rule::NoAnswer, tcp: Rule::NoAnswer, why: "a response" },
    Case { file: "quotbal.dat", udp: Rule::ManifestOrLiberal, tcp: Rule::ManifestOrLiberal, why: "400, liberal acceptance allowed" },
    Case { file: "ltgtruri.dat", udp: Rule::ManifestOrLiberal, tcp: Rule::ManifestOrLiberal, why: "400, liberal acceptance allowed" },
    Case { file: "lwsruri.dat", udp: Rule::ManifestOrLiberal, tcp: Rule::ManifestOrLiberal, why: "400, liberal acceptance allowed" },
    Case { file: "lwsstart.dat", udp: Rule::AnyAnswer, tcp: Rule::AnyAnswer, why: "reject as malformed or accept (no code named)" },
    Case { file: "trws.dat", udp: Rule::AnyAnswer, tcp: Rule::AnyAnswer, why: "reject as malformed or accept (no code named)" },
    Case { file: "escruri.dat", udp: Rule::ManifestOrLiberal, tcp: Rule::ManifestOrLiberal, why: "400, liberal acceptance allowed" },
    Case { file: "baddate.dat", udp: Rule::AnyAnswer, tcp: Rule::AnyAnswer, why: "reject only if the Date matters, or accept" },
    Case { file: "regbadct.dat", udp: Rule::ManifestOrLiberal, tcp: Rule::ManifestOrLiberal, why: "400, liberal acceptance allowed" },
    Case { file: "badaspec.dat", udp: Rule::ManifestOrLiberal, tcp: Rule::ManifestOrLiberal, why: "400, liberal acceptance allowed" },
    Case { file: "baddn.dat", udp: Rule::ManifestOrLiberal, tcp: Rule::ErrorOrNothing, why: "400, liberal acceptance allowed; the file has no empty line after the headers, so over TCP the message never completes" },
    Case { file: "badvers.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "SIP/7.0: 505" },
    Case { file: "mismatch01.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "CSeq method mismatch: 400" },
    Case { file: "mismatch02.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "unknown method and mismatch: 501 or 400" },
    Case { file: "bigcode.dat", udp: Rule::NoAnswer, tcp: Rule::NoAnswer, why: "a response (status > 699): drop" },
    Case { file: "badbranch.dat", udp: Rule::AnyAnswer, tcp: Rule::AnyAnswer, why: "bare magic cookie: 400 or RFC 2543 matching" },
    Case { file: "insuf.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "no Call-ID/From/To: 400 (matched without Call-ID)" },
    Case { file: "unkscm.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "unknown URI scheme: 416" },
    Case { file: "novelsc.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "soap.beep URI: 416 or 404" },
    Case { file: "unksm2.dat", udp: Rule::ManifestOr(&[401, 403, 404, 405]), tcp: Rule::ManifestOr(&[401, 403, 404, 405]), why: "400 from a registrar; a non-registrar UAS inspects the method first (RFC 3261 8.2.1) and answers 405; a registrar authenticates (401/403) or checks its domain (404) before the To URI (10.3)" },
    Case { file: "bext01.dat", udp: Rule::ManifestOrNothing, tcp: Rule::Manifest, why: "unsupported Require: 420; over UDP its Via names TLS, which callwire may not be able to answer on" },
    Case { file: "invut.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "unknown Content-Type: 415" },
    Case { file: "regaut01.dat", udp: Rule::OneOf(&[200, 401, 403, 404, 405]), tcp: Rule::OneOf(&[200, 401, 403, 404, 405]), why: "registrar: 200 or a 401 challenge; non-registrar endpoint: 405; unknown domain/user: 403/404" },
    Case { file: "multi01.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "several Call-ID/To/From/CSeq values: 400" },
    Case { file: "mcl01.dat", udp: Rule::ClientError, tcp: Rule::ErrorOrNothing, why: "conflicting Content-Length: an error; TCP may close" },
    Case { file: "bcast.dat", udp: Rule::NoAnswer, tcp: Rule::NoAnswer, why: "a response: discard" },
    Case { file: "zeromf.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "Max-Forwards 0 at an endpoint: process normally, no 483" },
    Case { file: "cparam01.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "valid REGISTER (see escnull)" },
    Case { file: "cparam02.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "valid REGISTER (see escnull)" },
    Case { file: "regescrt.dat", udp: Rule::Accepted, tcp: Rule::Accepted, why: "valid REGISTER (see escnull)" },
    Case { file: "sdp01.dat", udp: Rule::Manifest, tcp: Rule::Manifest, why: "Accept excludes SDP: 406 or 400" },
    Case { file: "inv2543.dat", udp: Rule::AnyAnswer, tcp: Rule::ErrorOrNothing, why: "RFC 2543 INVITE: accept or reject; over TCP it has no Content-Length, so its body frames as garbage" },
];

/// UDP and TCP ports the torture messages' Via headers point responses at.
const SINK_PORTS: [u16; 4] = [5050, 5060, 5061, 5070];

const ANSWER_WAIT: Duration = Duration::from_secs(5);
const QUIET_WAIT: Duration = Duration::from_millis(800);

const CONFIG: &str = "\
[calls]
answer_timeout_secs = 2

[limits]
max_message_bytes = 16384
";

struct ManifestRow {
    verdict: String,
    expected: Vec<u16>,
}

fn read_manifest(dir: &Path) -> HashMap<String, ManifestRow> {
    let text = fs::read_to_string(dir.join("manifest.tsv")).expect("manifest.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("manifest header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("manifest column {name}"))
    };
    let (file_c, verdict_c, expected_c) = (col("file"), col("verdict"), col("expected_status"));
    let mut rows = HashMap::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let expected = cols
            .get(expected_c)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.split('|')
                    .map(|c| c.trim().parse::<u16>().expect("status code"))
                    .collect()
            })
            .unwrap_or_default();
        rows.insert(
            cols[file_c].to_string(),
            ManifestRow {
                verdict: cols[verdict_c].to_string(),
                expected,
            },
        );
    }
    rows
}

#[derive(Default, Debug)]
struct Outcome {
    provisional: Vec<u16>,
    finals: Vec<u16>,
    /// Responses carrying another Call-ID of the same file (dblreq's trailer).
    trailer: Vec<u16>,
    closed: bool,
}

impl Outcome {
    fn ringing(&self) -> bool {
        self.provisional.iter().any(|s| *s > 100)
    }

    fn summary(&self) -> String {
        format!(
            "provisional {:?}, final {:?}{}{}",
            self.provisional,
            self.finals,
            if self.trailer.is_empty() {
                String::new()
            } else {
                format!(", trailer answered {:?}", self.trailer)
            },
            if self.closed {
                ", connection closed"
            } else {
                ""
            }
        )
    }
}

fn needs_answer(rule: Rule) -> bool {
    !matches!(
        rule,
        Rule::ManifestOrNothing | Rule::ErrorOrNothing | Rule::NoAnswer
    )
}

fn ringing_is_enough(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::Accepted
            | Rule::AcceptedOr(_)
            | Rule::AcceptedIgnoringTrailer
            | Rule::ManifestOrLiberal
            | Rule::AnyAnswer
    )
}

fn done(rule: Rule, o: &Outcome) -> bool {
    !o.finals.is_empty()
        || o.closed
        || (ringing_is_enough(rule) && o.ringing())
        || (matches!(rule, Rule::NoAnswer) && !o.provisional.is_empty())
}

fn accepted_status(s: u16) -> bool {
    s != 400 && s != 483 && s < 500
}

fn judge(rule: Rule, row: &ManifestRow, o: &Outcome) -> Result<(), String> {
    let fin = o.finals.first().copied();
    let expected = &row.expected;
    if row.verdict == "valid" && o.finals.contains(&400) {
        return Err("a valid message was answered 400".into());
    }
    let ok = match rule {
        Rule::Manifest => fin.is_some_and(|s| expected.contains(&s)),
        Rule::ManifestOr(extra) => fin.is_some_and(|s| expected.contains(&s) || extra.contains(&s)),
        Rule::OneOf(set) => fin.is_some_and(|s| set.contains(&s)),
        Rule::Accepted => match fin {
            Some(s) => accepted_status(s),
            None => o.ringing(),
        },
        Rule::AcceptedOr(extra) => match fin {
            Some(s) => accepted_status(s) || extra.contains(&s),
            None => o.ringing(),
        },
        Rule::AcceptedIgnoringTrailer => {
            if !o.trailer.is_empty() {
                return Err("the trailing octets after the first message were processed".into());
            }
            match fin {
                Some(s) => accepted_status(s),
                None => o.ringing(),
            }
        }
        Rule::ManifestOrLiberal => match fin {
            Some(s) => expected.contains(&s) || accepted_status(s),
            None => o.ringing(),
        },
        Rule::AnyAnswer => match fin {
            Some(s) => s < 500,
            None => o.ringing(),
        },
        Rule::ClientError => fin.is_some_and(|s| (400..500).contains(&s)),
        Rule::ManifestOrNothing => !matches!(fin, Some(s) if !expected.contains(&s)),
        Rule::ErrorOrNothing => !matches!(fin, Some(s) if s < 400),
        Rule::NoAnswer => o.finals.is_empty() && o.provisional.is_empty(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "not allowed by rule {rule:?} (manifest expects {expected:?})"
        ))
    }
}

/// Sorts a response into `o` if it belongs to the message with `ids`.
fn classify(
    resp: &SipResponse,
    primary: &HashSet<String>,
    others: &HashSet<String>,
    o: &mut Outcome,
) {
    let cid = resp.header("call-id").map(str::to_string);
    let mine = match &cid {
        None => true,
        Some(c) => primary.contains(c),
    };
    if mine {
        if resp.status < 200 {
            o.provisional.push(resp.status);
        } else {
            o.finals.push(resp.status);
        }
    } else if cid.is_some_and(|c| others.contains(&c)) {
        o.trailer.push(resp.status);
    }
}

/// Call-IDs of the first message of a file, and of anything after it.
fn split_call_ids(bytes: &[u8]) -> (HashSet<String>, HashSet<String>) {
    let primary: HashSet<String> = sip::call_ids(bytes).into_iter().collect();
    let text = String::from_utf8_lossy(bytes);
    let all: HashSet<String> = text
        .split("\r\n")
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            (sip::canonical_header(n) == "call-id").then(|| v.trim().to_string())
        })
        .collect();
    let others = all.difference(&primary).cloned().collect();
    (primary, others)
}

/// Starts UDP and TCP listeners on the sink ports; every SIP response they
/// receive goes to the returned channel. Returns the UDP socket on 5060,
/// from which UDP messages are sent.
fn start_sinks() -> (UdpSocket, Receiver<SipResponse>) {
    let (tx, rx) = channel::<SipResponse>();
    let mut sender = None;
    for port in SINK_PORTS {
        let udp =
            UdpSocket::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("bind UDP {port}: {e}"));
        if port == 5060 {
            sender = Some(udp.try_clone().expect("clone"));
        }
        let txu = tx.clone();
        thread::spawn(move || udp_sink(udp, txu));
        let tcp = TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("bind TCP {port}: {e}"));
        let txt = tx.clone();
        thread::spawn(move || {
            for stream in tcp.incoming().flatten() {
                let txc = txt.clone();
                thread::spawn(move || tcp_sink(stream, txc));
            }
        });
    }
    (sender.expect("5060 sink"), rx)
}

fn udp_sink(sock: UdpSocket, tx: Sender<SipResponse>) {
    let mut buf = vec![0u8; 65_536];
    loop {
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                if let Some(r) = sip::parse_response(&buf[..n]) {
                    if tx.send(r).is_err() {
                        return;
                    }
                }
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn tcp_sink(mut stream: TcpStream, tx: Sender<SipResponse>) {
    let mut reader = StreamReader::default();
    loop {
        let deadline = Instant::now() + Duration::from_secs(60);
        match reader.next_message(&mut stream, deadline) {
            Ok(StreamEvent::Message(m)) => {
                if let Some(r) = sip::parse_response(&m) {
                    if tx.send(r).is_err() {
                        return;
                    }
                }
            }
            _ => return,
        }
    }
}

struct Torture {
    file: String,
    bytes: Vec<u8>,
    row: ManifestRow,
    case: &'static Case,
    /// Which callwire instance (per transport) gets this message.
    instance: usize,
}

/// RFC 3261 §17.2.3 server transaction key of a request: top Via branch,
/// top Via sent-by (default port dropped), method. `None` for responses.
fn transaction_key(bytes: &[u8]) -> Option<(String, String, String)> {
    if bytes.starts_with(b"SIP/2.0 ") {
        return None;
    }
    let start = String::from_utf8_lossy(bytes);
    let method = start.split(' ').next()?.to_string();
    let via = sip::header_lines(bytes)
        .into_iter()
        .find(|(n, _)| sip::canonical_header(n) == "via")?
        .1;
    let first = via.split(',').next()?;
    let mut parts = first.split(';');
    let sent_by = parts
        .next()?
        .split_whitespace()
        .last()?
        .to_ascii_lowercase();
    let sent_by = sent_by
        .strip_suffix(":5060")
        .unwrap_or(&sent_by)
        .to_string();
    let branch = parts
        .find_map(|p| {
            let (n, v) = p.split_once('=')?;
            n.trim()
                .eq_ignore_ascii_case("branch")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    Some((branch, sent_by, method))
}

fn load_torture() -> Vec<Torture> {
    let dir = conformance_dir("rfc4475");
    let mut manifest = read_manifest(&dir);
    let listed: HashSet<&str> = CASES.iter().map(|c| c.file).collect();
    assert_eq!(listed.len(), CASES.len(), "a file is listed twice in CASES");
    let mut out = Vec::new();
    for case in CASES {
        let row = manifest
            .remove(case.file)
            .unwrap_or_else(|| panic!("{} is in CASES but not in manifest.tsv", case.file));
        let bytes =
            fs::read(dir.join(case.file)).unwrap_or_else(|e| panic!("read {}: {e}", case.file));
        for rule in [case.udp, case.tcp] {
            if matches!(
                rule,
                Rule::Manifest
                    | Rule::ManifestOr(_)
                    | Rule::ManifestOrLiberal
                    | Rule::ManifestOrNothing
            ) {
                assert!(
                    !row.expected.is_empty(),
                    "{}: rule {rule:?} but the manifest names no status",
                    case.file
                );
            }
            if matches!(rule, Rule::NoAnswer) {
                assert!(
                    bytes.starts_with(b"SIP/2.0 "),
                    "{}: NoAnswer is only for responses",
                    case.file
                );
            }
        }
        out.push(Torture {
            file: case.file.to_string(),
            bytes,
            row,
            case,
            instance: 0,
        });
    }
    assert!(
        manifest.is_empty(),
        "manifest.tsv rows without a rule in CASES: {:?}",
        manifest.keys().collect::<Vec<_>>()
    );
    // Some torture requests share branch, sent-by and method (cparam01 and
    // cparam02, escnull and regescrt, unkscm and novelsc): one server would
    // rightly take the second for a retransmission of the first. Such
    // messages go to different instances.
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    for t in &mut out {
        if let Some(key) = transaction_key(&t.bytes) {
            let n = seen.entry(key).or_insert(0);
            t.instance = *n;
            *n += 1;
        }
    }
    out
}

/// Judges one message's outcome, prints a line and records a failure.
fn report(transport: &str, t: &Torture, rule: Rule, o: &Outcome, failures: &mut Vec<String>) {
    let verdict = judge(rule, &t.row, o);
    println!(
        "{transport} {:<15} {:<40} {:<60} {}",
        t.file,
        format!("{rule:?}"),
        o.summary(),
        if verdict.is_ok() { "ok" } else { "FAIL" }
    );
    if let Err(e) = verdict {
        failures.push(format!(
            "{transport} {}: {e}; got {} ({})",
            t.file,
            o.summary(),
            t.case.why
        ));
    }
}

/// Sends every torture message over UDP from 127.0.0.1:5060, 10 ms apart,
/// collects the answers (matched by Call-ID) until every message that needs
/// one has it or [`ANSWER_WAIT`] has passed, and judges them. Returns one
/// line per failure.
fn udp_round(
    cws: &mut [Callwire],
    torture: &[Torture],
    sender: &UdpSocket,
    rx: &Receiver<SipResponse>,
) -> Vec<String> {
    let mut outcomes: Vec<Outcome> = torture.iter().map(|_| Outcome::default()).collect();
    // Call-ID -> (message index, belongs to its first message).
    let mut owner: HashMap<String, (usize, bool)> = HashMap::new();
    let mut without_call_id = Vec::new();
    for (i, t) in torture.iter().enumerate() {
        let (primary, others) = split_call_ids(&t.bytes);
        if primary.is_empty() {
            without_call_id.push(i);
        }
        for c in primary {
            owner.insert(c, (i, true));
        }
        for c in others {
            owner.insert(c, (i, false));
        }
    }
    while rx.try_recv().is_ok() {}
    for t in torture {
        sender
            .send_to(&t.bytes, cws[t.instance].sip_addr())
            .expect("send torture datagram");
        thread::sleep(Duration::from_millis(10));
    }
    let last_send = Instant::now();
    let deadline = last_send + ANSWER_WAIT;
    loop {
        let all_answered = torture
            .iter()
            .zip(&outcomes)
            .all(|(t, o)| !needs_answer(t.case.udp) || done(t.case.udp, o));
        let now = Instant::now();
        if (all_answered && now >= last_send + QUIET_WAIT) || now >= deadline {
            break;
        }
        let Ok(resp) = rx.recv_timeout(Duration::from_millis(50)) else {
            continue;
        };
        let target_msg = match resp.header("call-id") {
            Some(cid) => owner.get(cid).copied(),
            // Only a message without Call-ID can get an answer without one.
            None if without_call_id.len() == 1 => Some((without_call_id[0], true)),
            None => None,
        };
        if let Some((i, first)) = target_msg {
            let o = &mut outcomes[i];
            if !first {
                o.trailer.push(resp.status);
            } else if resp.status < 200 {
                o.provisional.push(resp.status);
            } else {
                o.finals.push(resp.status);
            }
        }
    }
    for cw in cws.iter_mut() {
        cw.assert_running();
    }
    let mut failures = Vec::new();
    for (t, o) in torture.iter().zip(&outcomes) {
        report("udp", t, t.case.udp, o, &mut failures);
    }
    failures
}

/// A TCP connection with a write timeout, so a server that stops reading
/// cannot block the test.
fn connect(target: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&target, Duration::from_secs(5))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(s)
}

/// One torture message over its own TCP connection; only answers on that
/// connection count.
fn tcp_exchange(target: SocketAddr, t: &Torture) -> Outcome {
    let rule = t.case.tcp;
    let (primary, others) = split_call_ids(&t.bytes);
    let mut o = Outcome::default();
    let mut stream = match connect(target) {
        Ok(s) => s,
        Err(_) => {
            o.closed = true;
            return o;
        }
    };
    if stream.write_all(&t.bytes).is_err() {
        o.closed = true;
        return o;
    }
    let mut reader = StreamReader::default();
    let deadline = Instant::now()
        + if needs_answer(rule) {
            ANSWER_WAIT
        } else {
            QUIET_WAIT
        };
    while !done(rule, &o) {
        match reader.next_message(&mut stream, deadline) {
            Ok(StreamEvent::Message(m)) => {
                if let Some(resp) = sip::parse_response(&m) {
                    classify(&resp, &primary, &others, &mut o);
                }
            }
            Ok(StreamEvent::Closed) | Err(_) => o.closed = true,
            Ok(StreamEvent::TimedOut) => break,
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    o
}

/// Sends every torture message over its own TCP connection, all at once,
/// and judges the answers that come back on each connection.
fn tcp_round(cws: &mut [Callwire], torture: &[Torture]) -> Vec<String> {
    let targets: Vec<SocketAddr> = cws.iter().map(Callwire::sip_addr).collect();
    let outcomes: Vec<Outcome> = thread::scope(|scope| {
        let handles: Vec<_> = torture
            .iter()
            .map(|t| {
                let target = targets[t.instance];
                scope.spawn(move || tcp_exchange(target, t))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("tcp exchange thread"))
            .collect()
    });
    for cw in cws.iter_mut() {
        cw.assert_running();
    }
    let mut failures = Vec::new();
    for (t, o) in torture.iter().zip(&outcomes) {
        report("tcp", t, t.case.tcp, o, &mut failures);
    }
    failures
}

fn requests(torture: &[Torture]) -> Vec<&[u8]> {
    torture
        .iter()
        .filter(|t| !t.bytes.starts_with(b"SIP/2.0 "))
        .map(|t| t.bytes.as_slice())
        .collect()
}

fn mutate(rng: &mut Rng, msg: &[u8]) -> Vec<u8> {
    let mut m = msg.to_vec();
    for _ in 0..rng.range(1, 10) {
        let i = rng.range(0, m.len() - 1);
        m[i] = rng.next_u64() as u8;
    }
    m
}

/// An OPTIONS padded with a header of `pad` bytes (and optionally a body).
fn padded_options(pad: usize, body: usize, transport: &str) -> Vec<u8> {
    let mut m = format!(
        "OPTIONS sip:big@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:5060;branch=z9hG4bK{}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:big@127.0.0.1>\r\n\
         Call-ID: {}\r\nCSeq: 1 OPTIONS\r\nX-Pad: {}\r\nContent-Length: {body}\r\n\r\n",
        sip::unique("big"),
        sip::unique("oversized-"),
        "a".repeat(pad)
    )
    .into_bytes();
    m.extend(vec![b'x'; body]);
    m
}

/// Random, mutated, truncated and oversized datagrams.
fn udp_garbage(cw: &mut Callwire, torture: &[Torture], rx: &Receiver<SipResponse>) -> Vec<String> {
    let target = cw.sip_addr();
    let mut rng = Rng::new(0x5eed_4475);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for _ in 0..300 {
        let len = rng.range(1, 1400);
        let _ = sock.send_to(&rng.bytes(len), target);
    }
    let reqs = requests(torture);
    for i in 0..300 {
        let msg = reqs[i % reqs.len()];
        let _ = sock.send_to(&mutate(&mut rng, msg), target);
        let cut = rng.range(1, msg.len() - 1);
        let _ = sock.send_to(&msg[..cut], target);
        if i % 50 == 0 {
            thread::sleep(Duration::from_millis(20));
        }
    }
    cw.assert_running();

    let mut failures = Vec::new();
    // Over max_message_bytes (16384): refused with an error or dropped.
    while rx.try_recv().is_ok() {}
    let big = padded_options(60_000, 0, "UDP");
    let big_id = sip::call_ids(&big).remove(0);
    sock.send_to(&big, target).expect("send 60 kB datagram");
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Ok(resp) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if resp.header("call-id") == Some(big_id.as_str())
            && resp.status >= 200
            && resp.status < 400
        {
            failures.push(format!(
                "UDP 60 kB OPTIONS over max_message_bytes was accepted: {}",
                resp.status
            ));
        }
    }
    cw.assert_running();
    failures
}

/// Waits until the server answers with a final error or closes `stream`.
fn expect_refusal(stream: &mut TcpStream, what: &str, within: Duration) -> Option<String> {
    let mut reader = StreamReader::default();
    let deadline = Instant::now() + within;
    loop {
        match reader.next_message(stream, deadline) {
            Ok(StreamEvent::Message(m)) => {
                if let Some(r) = sip::parse_response(&m) {
                    if r.status >= 400 {
                        return None;
                    }
                    if r.status >= 200 {
                        return Some(format!("TCP {what}: accepted with {}", r.status));
                    }
                }
            }
            Ok(StreamEvent::Closed) | Err(_) => return None,
            Ok(StreamEvent::TimedOut) => {
                return Some(format!(
                    "TCP {what}: neither refused nor closed within {within:?}"
                ))
            }
        }
    }
}

/// Random, mutated, truncated, stalled and oversized input over TCP.
fn tcp_garbage(cw: &mut Callwire, torture: &[Torture]) -> Vec<String> {
    let target = cw.sip_addr();
    let mut rng = Rng::new(0x7c9_4475);
    let reqs = requests(torture);
    let connect = || connect(target).unwrap_or_else(|e| panic!("TCP connect to callwire: {e}"));
    for i in 0..60 {
        let mut s = connect();
        let payload = match i % 3 {
            0 => {
                let len = rng.range(1, 4096);
                rng.bytes(len)
            }
            1 => mutate(&mut rng, reqs[i % reqs.len()]),
            _ => {
                let msg = reqs[i % reqs.len()];
                msg[..rng.range(1, msg.len() - 1)].to_vec()
            }
        };
        let _ = s.write_all(&payload);
        let _ = s.shutdown(Shutdown::Write);
        let mut reader = StreamReader::default();
        let _ = reader.next_message(&mut s, Instant::now() + Duration::from_millis(100));
    }
    cw.assert_running();

    let mut failures = Vec::new();
    // Stalled connections holding half a message must not block others.
    let mut stalled = Vec::new();
    for msg in reqs.iter().take(5) {
        let mut s = connect();
        let _ = s.write_all(&msg[..msg.len() / 2]);
        stalled.push(s);
    }
    if let Err(e) = sip::tcp_options(target, Duration::from_secs(5)) {
        failures.push(format!(
            "TCP OPTIONS while 5 connections hold half messages: {e}"
        ));
    }
    drop(stalled);

    // 100 kB of headers, 100 kB of body, and an absurd Content-Length.
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("100 kB header", padded_options(100_000, 0, "TCP")),
        ("100 kB body", padded_options(10, 100_000, "TCP")),
        (
            "Content-Length 99999999999999999999",
            b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKhuge\r\n\
Max-Forwards: 70\r\nFrom: <sip:t@x>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: huge-cl\r\nCSeq: 1 OPTIONS\r\n\
Content-Length: 99999999999999999999\r\n\r\nabc"
                .to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        let mut s = connect();
        // The server may stop reading (and reset) once it has refused.
        let _ = s.write_all(&bytes);
        if let Some(f) = expect_refusal(&mut s, what, Duration::from_secs(5)) {
            failures.push(f);
        }
    }
    cw.assert_running();
    failures
}

fn assert_still_serving(cw: &mut Callwire) {
    cw.assert_running();
    sip::assert_options_ok(cw.sip_addr(), "udp");
    sip::assert_options_ok(cw.sip_addr(), "tcp");
    cw.assert_healthy();
}

#[test]
fn hostile_input_in_network_namespace() {
    netns::run_in_netns("hostile_inner", Duration::from_secs(110));
}

#[test]
#[ignore = "started by hostile_input_in_network_namespace inside a network namespace"]
fn hostile_inner() {
    netns::assert_inside();
    let torture = load_torture();
    let (sender, rx) = start_sinks();
    let instances = torture.iter().map(|t| t.instance + 1).max().unwrap_or(1);
    let start = || -> Vec<Callwire> {
        (0..instances)
            .map(|_| Callwire::start(CallwireOpts::with_toml(CONFIG)))
            .collect()
    };
    let mut udp_cws = start();
    let mut tcp_cws = start();
    for cw in udp_cws.iter().chain(&tcp_cws) {
        assert!(
            !SINK_PORTS.contains(&cw.sip_port),
            "callwire got a sink port"
        );
    }

    let mut failures = udp_round(&mut udp_cws, &torture, &sender, &rx);
    failures.extend(tcp_round(&mut tcp_cws, &torture));
    failures.extend(udp_garbage(&mut udp_cws[0], &torture, &rx));
    failures.extend(tcp_garbage(&mut tcp_cws[0], &torture));

    for cw in udp_cws.iter_mut().chain(tcp_cws.iter_mut()) {
        assert_still_serving(cw);
    }
    assert!(
        failures.is_empty(),
        "{} hostile-input checks failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
