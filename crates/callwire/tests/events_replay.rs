//! The event stream under real traffic: SIPp places 1000 calls into
//! auto-answer while a consumer reads `GET /v1/events`, drops the connection
//! half-way, and comes back with `Last-Event-ID`. In the end it has every
//! event exactly once and in order: seqs 1, 2, 3, … without a gap, and for
//! every call `call.created`, `call.answered`, `call.ended` in that order.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::sipp::SippCmd;
use common::{Callwire, CallwireOpts, API_TOKEN};

const CALLS: u32 = 1000;

/// An open SSE connection, read line by line.
struct Sse {
    lines: BufReader<reqwest::blocking::Response>,
}

impl Sse {
    fn open(cw: &Callwire, last_event_id: Option<u64>) -> Sse {
        let client = reqwest::blocking::Client::builder()
            .timeout(None)
            .build()
            .expect("client");
        let mut req = client
            .get(format!("{}/v1/events?since=0", cw.http))
            .bearer_auth(API_TOKEN);
        if let Some(id) = last_event_id {
            // Last-Event-ID and since together: the header is what SSE
            // clients send; the query asks for the start. Use only one.
            req = client
                .get(format!("{}/v1/events", cw.http))
                .bearer_auth(API_TOKEN)
                .header("Last-Event-ID", id.to_string());
        }
        let resp = req.send().expect("GET /v1/events");
        assert_eq!(resp.status().as_u16(), 200);
        Sse {
            lines: BufReader::new(resp),
        }
    }

    /// The next event's (seq, JSON), skipping keep-alives.
    fn next(&mut self) -> (u64, Value) {
        let mut id = None;
        let mut data = String::new();
        loop {
            let mut line = String::new();
            let n = self.lines.read_line(&mut line).expect("read SSE");
            assert!(n > 0, "the stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if let Some(id) = id {
                    let v: Value = serde_json::from_str(&data).expect("event JSON");
                    return (id, v);
                }
                data.clear();
                continue;
            }
            if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
    }
}

#[test]
fn a_consumer_that_reconnects_gets_every_event_once_in_order() {
    let cw = Callwire::start(CallwireOpts::default());
    cw.set_default_auto_answer(true);
    // The PATCH above is event 1 (account.updated).
    let mut first = Sse::open(&cw, None);
    let sipp = SippCmd::uac(&cw.sip_addr().to_string())
        .calls(CALLS)
        .rate(200)
        .timeout(Duration::from_secs(60))
        .spawn();

    let mut seen: Vec<(u64, Value)> = Vec::new();
    // Read about half of the 3000 call events, then drop the connection.
    while seen.len() < 1500 {
        seen.push(first.next());
    }
    drop(first);
    let resume_from = seen.last().map(|e| e.0).unwrap_or(0);
    // Stay away for a while: events keep happening meanwhile.
    std::thread::sleep(Duration::from_millis(1500));
    let mut second = Sse::open(&cw, Some(resume_from));

    let mut ended = seen
        .iter()
        .filter(|(_, e)| e["type"] == "call.ended")
        .count();
    let deadline = Instant::now() + Duration::from_secs(60);
    while ended < CALLS as usize {
        assert!(Instant::now() < deadline, "only {ended} calls ended");
        let e = second.next();
        if e.1["type"] == "call.ended" {
            ended += 1;
        }
        seen.push(e);
    }
    sipp.wait().assert_all_successful(u64::from(CALLS));

    // Every seq once, no gap, from 1.
    let seqs: Vec<u64> = seen.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    for (seq, e) in &seen {
        assert_eq!(e["seq"].as_u64(), Some(*seq), "{e}");
    }
    // Per call: created, answered, ended, in that order, each once.
    let mut per_call: HashMap<String, Vec<String>> = HashMap::new();
    for (_, e) in &seen {
        if let Some(call) = e["call"].as_str() {
            per_call
                .entry(call.to_owned())
                .or_default()
                .push(e["type"].as_str().unwrap_or("?").to_owned());
        }
    }
    assert_eq!(per_call.len(), CALLS as usize);
    for (call, kinds) in &per_call {
        assert_eq!(
            kinds,
            &["call.created", "call.answered", "call.ended"],
            "call {call}"
        );
    }
    // Ids are unique.
    let mut ids: Vec<&str> = seen.iter().filter_map(|e| e.1["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), seen.len());
    eprintln!(
        "{} events over two connections, resumed after seq {resume_from}",
        seen.len()
    );
}
