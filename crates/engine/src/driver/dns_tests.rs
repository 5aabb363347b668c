//! Tests for RFC 3263 server location ([`resolve_using`]) against a tiny
//! authoritative DNS responder on 127.0.0.1: SRV ordering and ports, the SRV name
//! per transport, default ports, explicit ports skipping SRV, A/AAAA fallback,
//! NXDOMAIN, and servers that stay silent or answer garbage.
//!
//! Record data uses documentation addresses only (192.0.2.0/24, 2001:db8::/32);
//! nothing here connects to them.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use callwire_sip::message::{SipUri, Uri};
use callwire_sip::transaction::Transport;
use hickory_resolver::config::{
    LookupIpStrategy, NameServerConfigGroup, Protocol, ResolverConfig, ResolverOpts,
};
use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, AAAA, SRV};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::TokioAsyncResolver;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use super::{resolve_using, Resolved};
use crate::EngineError;

/// Records by (lower-case fully qualified name, type).
#[derive(Default)]
struct Zone(HashMap<(String, RecordType), Vec<RData>>);

impl Zone {
    fn add(mut self, name: &str, rdata: RData) -> Zone {
        let key = (fqdn(name), rdata.record_type());
        self.0.entry(key).or_default().push(rdata);
        self
    }

    fn srv(self, name: &str, priority: u16, weight: u16, port: u16, target: &str) -> Zone {
        let target = Name::from_ascii(fqdn(target)).unwrap();
        self.add(name, RData::SRV(SRV::new(priority, weight, port, target)))
    }

    fn a(self, name: &str, ip: [u8; 4]) -> Zone {
        self.add(name, RData::A(A::from(Ipv4Addr::from(ip))))
    }

    fn aaaa(self, name: &str, ip: &str) -> Zone {
        let ip: Ipv6Addr = ip.parse().unwrap();
        self.add(name, RData::AAAA(AAAA::from(ip)))
    }

    fn has_name(&self, name: &str) -> bool {
        self.0.keys().any(|(n, _)| n == name)
    }
}

fn fqdn(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    }
}

/// How the responder treats each query.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Answers from the zone; NXDOMAIN for names it does not hold.
    Authoritative,
    /// Replies with bytes that are not a DNS message at all.
    Garbage,
    /// Replies with the query's id and a response header, then hostile contents
    /// (compression loops, counts that run past the end, bad lengths).
    GarbageWithId,
    /// Reads queries, never replies.
    Silent,
}

/// A UDP DNS server task on 127.0.0.1 that records every question it is asked.
struct Responder {
    port: u16,
    asked: Arc<Mutex<Vec<(String, RecordType)>>>,
    task: JoinHandle<()>,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Responder {
    async fn start(zone: Zone, behaviour: Behaviour) -> Responder {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = socket.local_addr().unwrap().port();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&asked);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut replies = 0usize;
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let query = &buf[..n];
                if let Ok(msg) = Message::from_vec(query) {
                    let mut log = log.lock().unwrap();
                    for q in msg.queries() {
                        log.push((q.name().to_lowercase().to_ascii(), q.query_type()));
                    }
                }
                let reply = match behaviour {
                    Behaviour::Authoritative => authoritative_answer(&zone, query),
                    Behaviour::Garbage => Some(garbage(replies)),
                    Behaviour::GarbageWithId => Some(garbage_with_id(query, replies)),
                    Behaviour::Silent => None,
                };
                replies += 1;
                if let Some(reply) = reply {
                    let _ = socket.send_to(&reply, from).await;
                }
            }
        });
        Responder { port, asked, task }
    }

    /// How many times `name` was asked for `rtype`.
    fn asked(&self, name: &str, rtype: RecordType) -> usize {
        let name = fqdn(name);
        let log = self.asked.lock().unwrap();
        log.iter()
            .filter(|(n, t)| *n == name && *t == rtype)
            .count()
    }

    fn asked_any(&self, rtype: RecordType) -> usize {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, t)| *t == rtype)
            .count()
    }

    fn all_asked(&self) -> Vec<(String, RecordType)> {
        self.asked.lock().unwrap().clone()
    }

    /// A resolver that asks only this responder, over UDP, without cache or hosts file.
    fn resolver(&self) -> TokioAsyncResolver {
        self.resolver_with(Vec::new(), |_| {})
    }

    fn resolver_with(
        &self,
        search: Vec<Name>,
        tweak: impl FnOnce(&mut ResolverOpts),
    ) -> TokioAsyncResolver {
        let servers: Vec<_> = NameServerConfigGroup::from_ips_clear(
            &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
            self.port,
            true,
        )
        .into_inner()
        .into_iter()
        .filter(|s| s.protocol == Protocol::Udp)
        .collect();
        let config = ResolverConfig::from_parts(None, search, NameServerConfigGroup::from(servers));
        let mut opts = ResolverOpts::default();
        opts.cache_size = 0;
        opts.timeout = Duration::from_millis(300);
        opts.attempts = 1;
        opts.use_hosts_file = false;
        opts.try_tcp_on_error = false;
        tweak(&mut opts);
        TokioAsyncResolver::tokio(config, opts)
    }
}

fn authoritative_answer(zone: &Zone, query: &[u8]) -> Option<Vec<u8>> {
    let req = Message::from_vec(query).ok()?;
    let mut resp = Message::new();
    resp.set_id(req.id())
        .set_message_type(MessageType::Response)
        .set_op_code(req.op_code())
        .set_authoritative(true)
        .set_recursion_desired(req.recursion_desired())
        .set_recursion_available(true);
    for q in req.queries() {
        resp.add_query(q.clone());
        let name = q.name().to_lowercase().to_ascii();
        match zone.0.get(&(name.clone(), q.query_type())) {
            Some(rdatas) => {
                for rdata in rdatas {
                    resp.add_answer(Record::from_rdata(q.name().clone(), 60, rdata.clone()));
                }
            }
            // The name exists with other types: NOERROR, no answers (NODATA).
            None if zone.has_name(&name) => {}
            None => {
                resp.set_response_code(ResponseCode::NXDomain);
            }
        }
    }
    resp.to_vec().ok()
}

/// Deterministic junk: lengths 0..=600, bytes from a small LCG.
fn garbage(seed: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9u32.wrapping_add(seed as u32);
    let len = (seed * 97) % 601;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// A response header carrying the query's id, followed by hostile contents.
fn garbage_with_id(query: &[u8], seed: usize) -> Vec<u8> {
    let id = [
        query.first().copied().unwrap_or(0),
        query.get(1).copied().unwrap_or(0),
    ];
    // QR=1 AA=1 RD=1 RA=1, NOERROR.
    let mut m = vec![id[0], id[1], 0x85, 0x80];
    match seed % 4 {
        // One question whose name is a compression pointer to itself.
        0 => m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 33, 0, 1]),
        // Claims 1 question and 200 answers, carries only half a question.
        1 => m.extend_from_slice(&[0, 1, 0, 200, 0, 0, 0, 0, 4, b's', b'i']),
        // An SRV answer whose rdlength runs past the end of the packet.
        2 => m.extend_from_slice(&[
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 33, 0, 1, 0, 0, 0, 60, 0xFF, 0xF0, 0, 10,
        ]),
        // Header only, then random bytes.
        _ => {
            m.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]);
            m.extend(garbage(seed + 1));
        }
    }
    m
}

fn uri(s: &str) -> SipUri {
    match callwire_sip::parse::uri(s).unwrap() {
        Uri::Sip(u) => u,
        other => panic!("not a SIP URI: {other:?}"),
    }
}

fn addrs(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

fn assert_invalid_argument(r: Result<Resolved, EngineError>) -> String {
    match r {
        Err(EngineError::InvalidArgument(msg)) => msg,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[tokio::test]
async fn srv_targets_are_ordered_by_priority_then_weight_with_srv_ports() {
    // Served deliberately out of order.
    let zone = Zone::default()
        .srv("_sip._udp.example.test", 20, 0, 5070, "sip3.example.test")
        .srv("_sip._udp.example.test", 10, 10, 5062, "sip2.example.test")
        .srv("_sip._udp.example.test", 10, 60, 5064, "sip1.example.test")
        .a("sip1.example.test", [192, 0, 2, 1])
        .a("sip2.example.test", [192, 0, 2, 2])
        .aaaa("sip3.example.test", "2001:db8::3")
        .a("example.test", [192, 0, 2, 99]);
    let dns = Responder::start(zone, Behaviour::Authoritative).await;
    let r = resolve_using(
        &dns.resolver(),
        &uri("sip:alice@example.test"),
        Transport::Udp,
    )
    .await
    .unwrap();
    assert_eq!(r.transport, Transport::Udp);
    assert_eq!(
        r.addrs,
        addrs(&["192.0.2.1:5064", "192.0.2.2:5062", "[2001:db8::3]:5070"])
    );
    assert_eq!(dns.asked("_sip._udp.example.test", RecordType::SRV), 1);
    // SRV answered, so the domain's own A record is not consulted.
    assert_eq!(dns.asked("example.test", RecordType::A), 0);
}

#[tokio::test]
async fn unresolvable_srv_targets_are_skipped() {
    let zone = Zone::default()
        .srv("_sip._udp.example.test", 1, 0, 5070, "gone.example.test")
        .srv("_sip._udp.example.test", 2, 0, 5072, "sip2.example.test")
        .a("sip2.example.test", [192, 0, 2, 2]);
    let dns = Responder::start(zone, Behaviour::Authoritative).await;
    let r = resolve_using(&dns.resolver(), &uri("sip:example.test"), Transport::Udp)
        .await
        .unwrap();
    assert_eq!(r.addrs, addrs(&["192.0.2.2:5072"]));
    assert_eq!(dns.asked("gone.example.test", RecordType::A), 1);
}

#[tokio::test]
async fn transport_tcp_uses_the_sip_tcp_srv_name() {
    let zone = Zone::default()
        .srv("_sip._udp.example.test", 10, 0, 5070, "udp.example.test")
        .srv("_sip._tcp.example.test", 10, 0, 5090, "tcp.example.test")
        .a("udp.example.test", [192, 0, 2, 20])
        .a("tcp.example.test", [192, 0, 2, 10]);
    let dns = Responder::start(zone, Behaviour::Authoritative).await;
    let resolver = dns.resolver();

    let r = resolve_using(
        &resolver,
        &uri("sip:example.test;transport=tcp"),
        Transport::Udp,
    )
    .await
    .unwrap();
    assert_eq!(r.transport, Transport::Tcp);
    assert_eq!(r.addrs, addrs(&["192.0.2.10:5090"]));
    assert_eq!(dns.asked("_sip._tcp.example.test", RecordType::SRV), 1);
    assert_eq!(dns.asked("_sip._udp.example.test", RecordType::SRV), 0);

    // The account's transport applies when the URI names none...
    let r = resolve_using(&resolver, &uri("sip:example.test"), Transport::Tcp)
        .await
        .unwrap();
    assert_eq!(
        (r.transport, r.addrs),
        (Transport::Tcp, addrs(&["192.0.2.10:5090"]))
    );

    // ...and the URI's own parameter wins over it.
    let r = resolve_using(
        &resolver,
        &uri("sip:example.test;transport=UDP"),
        Transport::Tcp,
    )
    .await
    .unwrap();
    assert_eq!(
        (r.transport, r.addrs),
        (Transport::Udp, addrs(&["192.0.2.20:5070"]))
    );
    assert_eq!(dns.asked("_sip._udp.example.test", RecordType::SRV), 1);
}

#[tokio::test]
async fn sips_uses_sips_tcp_srv_and_defaults_to_5061() {
    // A `_sip._tcp` record that must not be used for a SIPS URI.
    let zone = Zone::default()
        .srv("_sip._tcp.example.test", 10, 0, 5090, "tcp.example.test")
        .a("tcp.example.test", [192, 0, 2, 10])
        .a("example.test", [192, 0, 2, 1]);
    let dns = Responder::start(zone, Behaviour::Authoritative).await;
    let r = resolve_using(
        &dns.resolver(),
        &uri("sips:bob@example.test"),
        Transport::Udp,
    )
    .await
    .unwrap();
    assert_eq!(r.transport, Transport::Tcp);
    assert_eq!(r.addrs, addrs(&["192.0.2.1:5061"]));
    assert_eq!(dns.asked("_sips._tcp.example.test", RecordType::SRV), 1);
    assert_eq!(dns.asked("_sip._tcp.example.test", RecordType::SRV), 0);

    let zone = Zone::default()
        .srv("_sips._tcp.example.test", 10, 0, 5091, "tls.example.test")
        .a("tls.example.test", [192, 0, 2, 11]);
    let dns = Responder::start(zone, Behaviour::Authoritative).await;
    let r = resolve_using(&dns.resolver(), &uri("sips:example.test"), Transport::Udp)
        .await
        .unwrap();
    assert_eq!(
        (r.transport, r.addrs),
        (Transport::Tcp, addrs(&["192.0.2.11:5091"]))
    );
}

#[tokio::test]
async fn explicit_port_skips_srv() {
    let zone = Zone::default()
        .srv("_sip._udp.example.test", 10, 0, 5070, "sip1.example.test")
        .a("sip1.example.test", [192, 0, 2, 1])
        .a("example.test", [192, 0, 2, 5]);
    let dns = Responder::start(zone, Behaviour::Authoritative).await;
    let r = resolve_using(
        &dns.resolver(),
        &uri("sip:example.test:5080"),
        Transport::Udp,
    )
    .await
    .unwrap();
    assert_eq!(r.addrs, addrs(&["192.0.2.5:5080"]));
    assert_eq!(dns.asked("_sip._udp.example.test", RecordType::SRV), 0);
    assert_eq!(dns.asked_any(RecordType::SRV), 0, "{:?}", dns.all_asked());
    assert_eq!(dns.asked("example.test", RecordType::A), 1);
}

#[tokio::test]
async fn without_srv_a_and_aaaa_are_used_on_5060() {
    let zone = Zone::default()
        .a("example.test", [192, 0, 2, 7])
        .aaaa("example.test", "2001:db8::7")
        .aaaa("v6only.example.test", "2001:db8::6");
    let dns = Responder::start(zone, Behaviour::Authoritative).await;

    // The default strategy (IPv4, then IPv6 if there is no IPv4).
    let resolver = dns.resolver();
    let r = resolve_using(&resolver, &uri("sip:example.test"), Transport::Udp)
        .await
        .unwrap();
    assert_eq!(r.addrs, addrs(&["192.0.2.7:5060"]));
    assert_eq!(dns.asked("_sip._udp.example.test", RecordType::SRV), 1);
    let r = resolve_using(&resolver, &uri("sip:v6only.example.test"), Transport::Udp)
        .await
        .unwrap();
    assert_eq!(r.addrs, addrs(&["[2001:db8::6]:5060"]));

    // Both families when the resolver asks for both.
    let both = dns.resolver_with(Vec::new(), |o| {
        o.ip_strategy = LookupIpStrategy::Ipv4AndIpv6
    });
    let mut got = resolve_using(&both, &uri("sip:example.test"), Transport::Udp)
        .await
        .unwrap()
        .addrs;
    got.sort();
    assert_eq!(got, addrs(&["192.0.2.7:5060", "[2001:db8::7]:5060"]));
}

#[tokio::test]
async fn fully_qualified_uri_host_still_gets_srv() {
    let zone = Zone::default()
        .srv("_sip._udp.example.test", 10, 0, 5070, "sip1.example.test")
        .a("sip1.example.test", [192, 0, 2, 1])
        .a("example.test", [192, 0, 2, 5]);
    let dns = Responder::start(zone, Behaviour::Authoritative).await;
    let r = resolve_using(&dns.resolver(), &uri("sip:example.test."), Transport::Udp)
        .await
        .unwrap();
    assert_eq!(r.addrs, addrs(&["192.0.2.1:5070"]));
}

#[tokio::test]
async fn srv_targets_are_not_expanded_with_the_search_list() {
    let zone = Zone::default()
        .srv("_sip._udp.example.test", 10, 0, 5070, "sip1.example.test")
        .a("sip1.example.test", [192, 0, 2, 1])
        // A wildcard-like record under the search domain that must not be picked.
        .a("sip1.example.test.corp.test", [192, 0, 2, 66]);
    let dns = Responder::start(zone, Behaviour::Authoritative).await;
    // ndots:5 and a search domain, as in many container setups.
    let resolver = dns.resolver_with(vec![Name::from_ascii("corp.test.").unwrap()], |o| {
        o.ndots = 5
    });
    let r = resolve_using(&resolver, &uri("sip:example.test"), Transport::Udp)
        .await
        .unwrap();
    assert_eq!(r.addrs, addrs(&["192.0.2.1:5070"]));
    let stray: Vec<_> = dns
        .all_asked()
        .into_iter()
        .filter(|(n, _)| n.starts_with("sip1.") && n.ends_with("corp.test."))
        .collect();
    assert!(
        stray.is_empty(),
        "SRV target expanded with search list: {stray:?}"
    );
}

#[tokio::test]
async fn srv_target_dot_means_not_offered() {
    let zone = Zone::default()
        .srv("_sip._udp.example.test", 0, 0, 0, ".")
        .a("example.test", [192, 0, 2, 5]);
    let dns = Responder::start(zone, Behaviour::Authoritative).await;
    let msg = assert_invalid_argument(
        resolve_using(&dns.resolver(), &uri("sip:example.test"), Transport::Udp).await,
    );
    assert!(msg.contains("example.test"), "{msg}");
    assert_eq!(dns.asked("example.test", RecordType::A), 0);
}

#[tokio::test]
async fn unknown_name_is_an_error_without_waiting() {
    let dns = Responder::start(Zone::default(), Behaviour::Authoritative).await;
    let started = std::time::Instant::now();
    let msg = assert_invalid_argument(
        resolve_using(&dns.resolver(), &uri("sip:nowhere.test"), Transport::Udp).await,
    );
    // NXDOMAIN comes straight back: no timeout should be involved.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(msg.contains("nowhere.test"), "{msg}");
    assert_eq!(dns.asked("_sip._udp.nowhere.test", RecordType::SRV), 1);
    assert_eq!(dns.asked("nowhere.test", RecordType::A), 1);

    // With an explicit port, too.
    assert_invalid_argument(
        resolve_using(
            &dns.resolver(),
            &uri("sip:nowhere.test:5070"),
            Transport::Udp,
        )
        .await,
    );
}

#[tokio::test(start_paused = true)]
async fn silent_server_is_bounded_by_the_five_second_limit() {
    let dns = Responder::start(Zone::default(), Behaviour::Silent).await;
    // The resolver itself would wait far longer than resolve_using allows.
    let resolver = dns.resolver_with(Vec::new(), |o| o.timeout = Duration::from_secs(60));
    let started = tokio::time::Instant::now();
    let msg = assert_invalid_argument(
        resolve_using(&resolver, &uri("sip:example.test"), Transport::Udp).await,
    );
    let waited = started.elapsed();
    assert!(msg.contains("timed out"), "{msg}");
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
}

async fn garbage_case(behaviour: Behaviour, u: &str) {
    let dns = Responder::start(Zone::default(), behaviour).await;
    let started = std::time::Instant::now();
    assert_invalid_argument(resolve_using(&dns.resolver(), &uri(u), Transport::Udp).await);
    // Bad replies are dropped and the resolver's own timeout (300 ms) ends each query.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        dns.asked_any(RecordType::A) > 0,
        "responder never asked: {u}"
    );
}

/// Panics raised inside hickory code. The resolver runs its exchanges in spawned
/// tasks, where tokio would swallow a panic and the lookup would just fail.
static HICKORY_PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_hickory_panics() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info
                .location()
                .is_some_and(|l| l.file().contains("hickory"))
            {
                HICKORY_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

#[tokio::test]
async fn garbage_answers_are_an_error_not_a_panic() {
    count_hickory_panics();
    let mut cases = tokio::task::JoinSet::new();
    for behaviour in [Behaviour::Garbage, Behaviour::GarbageWithId] {
        for u in [
            "sip:example.test",
            "sips:example.test",
            "sip:example.test:5070",
        ] {
            cases.spawn(garbage_case(behaviour, u));
        }
    }
    while let Some(done) = cases.join_next().await {
        done.unwrap();
    }
    assert_eq!(HICKORY_PANICS.load(Ordering::SeqCst), 0);
}
