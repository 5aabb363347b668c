//! The registration client against a scripted registrar, in simulated time.
//! The registrar verifies credentials with the auth module's server side.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use callwire_sip::auth::{Algorithm, Credentials, DigestServer, UserSecret, Verification};
use callwire_sip::message::{Host, Method, NameAddr, Request, Response, SipUri, StatusCode, Uri};
use callwire_sip::registration::{
    FailureReason, Registrar, Registration, RegistrationConfig, RegistrationError,
    RegistrationEvent, RegistrationState, RetryPolicy,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

const REALM: &str = "example.com";

fn uri(user: Option<&str>, host: &str, port: Option<u16>) -> SipUri {
    let host = match host.parse::<Ipv4Addr>() {
        Ok(ip) => Host::V4(ip),
        Err(_) => Host::Name(host.to_owned()),
    };
    SipUri::new(user, host, port)
}

fn config() -> RegistrationConfig {
    let mut c = RegistrationConfig::new(
        uri(Some("alice"), "example.com", None),
        uri(None, "example.com", None),
        uri(Some("alice"), "192.0.2.10", Some(5060)),
        "udp",
        Host::V4(Ipv4Addr::new(192, 0, 2, 10)),
        Some(5060),
    )
    .with_credentials(None, "secret".into())
    .with_expires(600);
    c.user_agent = Some("callwire-test".into());
    c
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.head.other.get(name)
}

/// A registrar with Digest authentication, on a simulated clock.
struct FakeRegistrar {
    server: DigestServer,
    password: &'static str,
    rng: StdRng,
    start: Instant,
    /// Expiry granted in the Contact's `expires` parameter.
    grant: u32,
    /// Whether the last verification said stale.
    saw_stale: bool,
}

impl FakeRegistrar {
    fn new(password: &'static str, start: Instant) -> FakeRegistrar {
        let mut rng = StdRng::seed_from_u64(1000);
        FakeRegistrar {
            server: DigestServer::from_rng(&mut rng),
            password,
            rng,
            start,
            grant: 0,
            saw_stale: false,
        }
    }

    fn secs(&self, now: Instant) -> u64 {
        (now - self.start).as_secs()
    }

    fn challenge(&mut self, req: &Request, now: Instant, stale: bool) -> Response {
        let secs = self.secs(now);
        let mut c = self
            .server
            .challenge(REALM, Algorithm::Md5, &mut self.rng, secs);
        c.stale = stale;
        let mut r = Response::for_request(req, StatusCode::UNAUTHORIZED, None);
        r.head.to.set_tag("reg");
        r.head.other.push("WWW-Authenticate", c.to_string());
        r
    }

    /// 200 with our Contact and `expires` as asked (or `grant` when set).
    fn ok(&self, req: &Request) -> Response {
        let asked: u32 = header(req, "Expires").unwrap().parse().unwrap();
        let mut r = Response::for_request(req, StatusCode::OK, None);
        r.head.to.set_tag("reg");
        if asked > 0 {
            let mut contact = req.head.contact[0].clone();
            let granted = if self.grant > 0 { self.grant } else { asked };
            contact.params.set("expires", Some(&granted.to_string()));
            r.head.contact.push(contact);
        }
        r
    }

    /// Verifies the Authorization header; answers 200, or 401 (stale when the
    /// nonce expired).
    fn handle(&mut self, req: &Request, now: Instant) -> Response {
        assert_eq!(req.method, Method::Register);
        let Some(value) = header(req, "Authorization") else {
            return self.challenge(req, now, false);
        };
        let creds = Credentials::parse(value).unwrap();
        assert_eq!(creds.uri, req.uri.to_string());
        assert_eq!(creds.username, "alice");
        let verdict = self.server.verify(
            &creds,
            "REGISTER",
            UserSecret::Password(self.password),
            &[],
            self.secs(now),
        );
        self.saw_stale = verdict == Verification::Stale;
        match verdict {
            Verification::Ok => self.ok(req),
            Verification::Stale => self.challenge(req, now, true),
            // Wrong password: the same nonce comes back (RFC 7616 clients then stop).
            Verification::BadResponse => {
                let mut r = Response::for_request(req, StatusCode::UNAUTHORIZED, None);
                let mut c = callwire_sip::auth::Challenge::parse(
                    self.challenge(req, now, false)
                        .head
                        .other
                        .get("WWW-Authenticate")
                        .unwrap(),
                )
                .unwrap();
                c.nonce = creds.nonce.clone();
                r.head.other.push("WWW-Authenticate", c.to_string());
                r
            }
            // A nonce this server did not issue (it restarted): a fresh challenge.
            _ => self.challenge(req, now, false),
        }
    }
}

fn events(reg: &mut Registration) -> Vec<RegistrationState> {
    std::iter::from_fn(|| reg.poll_event())
        .map(|e| match e {
            RegistrationEvent::StateChanged { state } => state,
            _ => panic!("unexpected event"),
        })
        .collect()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Starts and registers through one 401 at `t0`, answering instantly.
fn registered(rng: &mut StdRng, t0: Instant, registrar: &mut FakeRegistrar) -> Registration {
    let mut reg = Registration::new(config(), rng).unwrap();
    reg.start(t0, rng);
    for _ in 0..2 {
        let (req, _) = reg.poll_request(t0).unwrap();
        let resp = registrar.handle(&req, t0);
        assert!(reg.on_response(&resp, t0, rng));
    }
    assert!(matches!(reg.state(), RegistrationState::Registered { .. }));
    reg
}

#[test]
fn happy_path_refreshes_before_expiry() {
    let mut rng = StdRng::seed_from_u64(1);
    let t0 = Instant::now();
    let mut reg = Registration::new(config().with_expires(600), &mut rng).unwrap();
    assert_eq!(reg.state(), &RegistrationState::Unregistered);
    assert_eq!(reg.poll_request(t0), None);
    reg.start(t0, &mut rng);
    let (req, which) = reg.poll_request(t0).unwrap();
    assert_eq!(which, Registrar::Primary);
    assert_eq!(reg.poll_request(t0), None, "one request at a time");
    assert_eq!(req.uri, Uri::Sip(uri(None, "example.com", None)));
    assert_eq!(
        req.head.to.uri,
        Uri::Sip(uri(Some("alice"), "example.com", None))
    );
    assert_eq!(req.head.from.uri, req.head.to.uri);
    assert!(req.head.from.tag().is_some());
    assert_eq!(req.head.to.tag(), None);
    assert_eq!(req.head.cseq.seq, 1);
    assert_eq!(req.head.cseq.method, Method::Register);
    assert_eq!(req.head.call_id, reg.call_id());
    assert_eq!(header(&req, "Expires"), Some("600"));
    assert_eq!(header(&req, "User-Agent"), Some("callwire-test"));
    assert_eq!(header(&req, "Authorization"), None);
    assert_eq!(
        req.head.contact[0].uri,
        Uri::Sip(uri(Some("alice"), "192.0.2.10", Some(5060)))
    );
    assert_eq!(req.head.max_forwards, Some(70));
    assert!(req
        .head
        .top_via()
        .unwrap()
        .branch()
        .unwrap()
        .starts_with("z9hG4bK"));

    // The registrar has another binding for alice, and grants us 600 s. The 200
    // arrives 100 ms later; times count from the send.
    let mut ok = Response::for_request(&req, StatusCode::OK, None);
    let mut other = NameAddr::new(Uri::Sip(uri(Some("alice"), "198.51.100.7", None)));
    other.params.set("expires", Some("3000"));
    let mut ours = NameAddr::new(Uri::Sip(uri(Some("alice"), "192.0.2.10", Some(5060))));
    ours.params.set("expires", Some("600"));
    ok.head.contact = vec![other, ours];
    ok.head.other.push("Expires", "7200");
    assert!(reg.on_response(&ok, t0 + Duration::from_millis(100), &mut rng));
    let expected = RegistrationState::Registered {
        expires_at: t0 + secs(600),
        granted: 600,
    };
    assert_eq!(reg.state(), &expected);
    assert_eq!(events(&mut reg), [RegistrationState::Registering, expected]);
    // 80 % of 600 s.
    assert_eq!(reg.poll_timeout(), Some(t0 + secs(480)));
    reg.handle_timeout(t0 + secs(480) - Duration::from_millis(1), &mut rng);
    assert_eq!(reg.poll_request(t0 + secs(479)), None);

    let t1 = t0 + secs(480);
    reg.handle_timeout(t1, &mut rng);
    let (refresh, _) = reg.poll_request(t1).unwrap();
    assert_eq!(refresh.head.call_id, req.head.call_id, "Call-ID constant");
    assert_eq!(refresh.head.from.tag(), req.head.from.tag());
    assert_eq!(refresh.head.cseq.seq, 2, "CSeq counts up");
    assert_ne!(
        refresh.head.top_via().unwrap().branch(),
        req.head.top_via().unwrap().branch()
    );
    // While the refresh is pending, the old expiry is a deadline.
    assert_eq!(reg.poll_timeout(), Some(t0 + secs(600)));
    assert!(
        events(&mut reg).is_empty(),
        "still registered while refreshing"
    );

    // This time only the Expires header says it: 30 s -> refresh after 24 s.
    let mut ok = Response::for_request(&refresh, StatusCode::OK, None);
    ok.head.other.push("Expires", "30");
    assert!(reg.on_response(&ok, t1 + secs(1), &mut rng));
    assert_eq!(
        reg.state(),
        &RegistrationState::Registered {
            expires_at: t1 + secs(30),
            granted: 30
        }
    );
    assert_eq!(reg.poll_timeout(), Some(t1 + secs(24)));

    // 20 s: 80 % would leave 4 s; at least 5 s margin -> 15 s.
    let t2 = t1 + secs(24);
    reg.handle_timeout(t2, &mut rng);
    let (refresh, _) = reg.poll_request(t2).unwrap();
    assert_eq!(refresh.head.cseq.seq, 3);
    let mut ok = Response::for_request(&refresh, StatusCode::OK, None);
    ok.head.other.push("Expires", "20");
    reg.on_response(&ok, t2, &mut rng);
    assert_eq!(reg.poll_timeout(), Some(t2 + secs(15)));

    // Nothing in the 200 about expiry: the requested 600 s.
    let t3 = t2 + secs(15);
    reg.handle_timeout(t3, &mut rng);
    let (refresh, _) = reg.poll_request(t3).unwrap();
    let ok = Response::for_request(&refresh, StatusCode::OK, None);
    reg.on_response(&ok, t3, &mut rng);
    assert_eq!(
        reg.state(),
        &RegistrationState::Registered {
            expires_at: t3 + secs(600),
            granted: 600
        }
    );
}

#[test]
fn refresh_delay_policy() {
    let p = RetryPolicy::default();
    assert_eq!(p.refresh_delay(3600), secs(2880));
    assert_eq!(p.refresh_delay(60), secs(48));
    assert_eq!(p.refresh_delay(25), secs(20));
    assert_eq!(p.refresh_delay(20), secs(15));
    assert_eq!(p.refresh_delay(6), secs(1));
    assert_eq!(p.refresh_delay(5), Duration::from_millis(2500));
    assert_eq!(p.refresh_delay(1), Duration::from_millis(500));
    assert_eq!(p.backoff(1), secs(5));
    assert_eq!(p.backoff(2), secs(10));
    assert_eq!(p.backoff(7), secs(300));
    assert_eq!(p.backoff(1000), secs(300));
}

#[test]
fn expiry_while_refresh_pending_goes_back_to_registering() {
    let mut rng = StdRng::seed_from_u64(2);
    let t0 = Instant::now();
    let mut registrar = FakeRegistrar::new("secret", t0);
    let mut reg = registered(&mut rng, t0, &mut registrar);
    events(&mut reg);
    let t1 = t0 + secs(480);
    reg.handle_timeout(t1, &mut rng);
    reg.poll_request(t1).unwrap();
    reg.handle_timeout(t0 + secs(600), &mut rng);
    assert_eq!(events(&mut reg), [RegistrationState::Registering]);
    assert_eq!(
        reg.poll_timeout(),
        None,
        "waiting for the transaction outcome"
    );
}

#[test]
fn challenge_answered_with_verifiable_credentials() {
    let mut rng = StdRng::seed_from_u64(3);
    let t0 = Instant::now();
    let mut registrar = FakeRegistrar::new("secret", t0);
    let mut reg = Registration::new(config(), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let (first, _) = reg.poll_request(t0).unwrap();
    let challenge = registrar.handle(&first, t0);
    assert_eq!(challenge.status, StatusCode::UNAUTHORIZED);
    assert!(reg.on_response(&challenge, t0, &mut rng));
    assert_eq!(reg.state(), &RegistrationState::Registering);
    let (second, _) = reg.poll_request(t0).unwrap();
    assert_eq!(second.head.call_id, first.head.call_id);
    assert_eq!(second.head.cseq.seq, first.head.cseq.seq + 1);
    let creds = Credentials::parse(header(&second, "Authorization").unwrap()).unwrap();
    assert_eq!(creds.realm, REALM);
    assert_eq!(creds.nc, 1);
    assert_eq!(creds.uri, "sip:example.com");
    let ok = registrar.handle(&second, t0);
    assert_eq!(
        ok.status,
        StatusCode::OK,
        "the registrar verified the digest"
    );
    assert!(reg.on_response(&ok, t0, &mut rng));
    assert!(matches!(
        reg.state(),
        RegistrationState::Registered { granted: 600, .. }
    ));

    // The refresh carries credentials for the same nonce, nc counted up, and the
    // registrar accepts them without a new challenge.
    let t1 = t0 + secs(240);
    reg.handle_timeout(t0 + secs(480), &mut rng);
    let (refresh, _) = reg.poll_request(t1).unwrap();
    let again = Credentials::parse(header(&refresh, "Authorization").unwrap()).unwrap();
    assert_eq!(again.nonce, creds.nonce);
    assert_eq!(again.nc, 2);
    let ok = registrar.handle(&refresh, t1);
    assert_eq!(ok.status, StatusCode::OK);
    reg.on_response(&ok, t1, &mut rng);
    assert_eq!(reg.poll_request(t1), None);
    assert!(matches!(reg.state(), RegistrationState::Registered { .. }));
}

#[test]
fn wrong_password_fails_after_exactly_one_retry() {
    let mut rng = StdRng::seed_from_u64(4);
    let t0 = Instant::now();
    let mut registrar = FakeRegistrar::new("the-real-password", t0);
    let mut reg = Registration::new(config(), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let mut sent = 0;
    while let Some((req, _)) = reg.poll_request(t0) {
        sent += 1;
        assert!(sent <= 5, "must not loop");
        let resp = registrar.handle(&req, t0);
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        reg.on_response(&resp, t0, &mut rng);
    }
    assert_eq!(sent, 2, "one REGISTER without, one with credentials");
    assert_eq!(
        reg.state(),
        &RegistrationState::Failed {
            code: Some(401),
            reason: FailureReason::AuthRejected
        }
    );
    assert_eq!(reg.poll_timeout(), None, "bad credentials are not retried");
    assert_eq!(
        events(&mut reg).last(),
        Some(&RegistrationState::Failed {
            code: Some(401),
            reason: FailureReason::AuthRejected
        })
    );
}

#[test]
fn stale_nonce_is_retried_transparently() {
    let mut rng = StdRng::seed_from_u64(5);
    let t0 = Instant::now();
    let mut registrar = FakeRegistrar::new("secret", t0);
    registrar.server = DigestServer::from_rng(&mut registrar.rng).with_nonce_ttl(100);
    let mut reg = registered(&mut rng, t0, &mut registrar);
    events(&mut reg);

    let t1 = t0 + secs(480);
    reg.handle_timeout(t1, &mut rng);
    let (refresh, _) = reg.poll_request(t1).unwrap();
    let old = Credentials::parse(header(&refresh, "Authorization").unwrap()).unwrap();
    let stale = registrar.handle(&refresh, t1);
    assert!(registrar.saw_stale);
    assert!(stale
        .head
        .other
        .get("WWW-Authenticate")
        .unwrap()
        .contains("stale=true"));
    reg.on_response(&stale, t1, &mut rng);
    let (retry, _) = reg.poll_request(t1).unwrap();
    let new = Credentials::parse(header(&retry, "Authorization").unwrap()).unwrap();
    assert_ne!(new.nonce, old.nonce);
    assert_eq!(new.nc, 1);
    let ok = registrar.handle(&retry, t1);
    assert_eq!(ok.status, StatusCode::OK);
    reg.on_response(&ok, t1, &mut rng);
    assert_eq!(
        events(&mut reg),
        [RegistrationState::Registered {
            expires_at: t1 + secs(600),
            granted: 600
        }],
        "never left Registered"
    );
}

#[test]
fn interval_too_brief_retries_with_min_expires() {
    let mut rng = StdRng::seed_from_u64(6);
    let t0 = Instant::now();
    let mut reg = Registration::new(config().with_expires(60), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let (req, _) = reg.poll_request(t0).unwrap();
    assert_eq!(header(&req, "Expires"), Some("60"));
    let mut brief = Response::for_request(&req, StatusCode::INTERVAL_TOO_BRIEF, None);
    brief.head.other.push("Min-Expires", "1800");
    reg.on_response(&brief, t0, &mut rng);
    let (again, _) = reg.poll_request(t0).unwrap();
    assert_eq!(header(&again, "Expires"), Some("1800"));
    assert_eq!(again.head.cseq.seq, 2);
    assert_eq!(reg.requested_expires(), 1800);
    let ok = Response::for_request(&again, StatusCode::OK, None);
    reg.on_response(&ok, t0, &mut rng);
    assert_eq!(
        reg.state(),
        &RegistrationState::Registered {
            expires_at: t0 + secs(1800),
            granted: 1800
        }
    );

    // A 423 that does not raise the expiry is a failure, not a loop.
    let mut reg = Registration::new(config().with_expires(60), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let (req, _) = reg.poll_request(t0).unwrap();
    let mut brief = Response::for_request(&req, StatusCode::INTERVAL_TOO_BRIEF, None);
    brief.head.other.push("Min-Expires", "60");
    reg.on_response(&brief, t0, &mut rng);
    assert_eq!(
        reg.state(),
        &RegistrationState::Failed {
            code: Some(423),
            reason: FailureReason::IntervalTooBrief
        }
    );
}

#[test]
fn timeouts_fail_over_then_back_off_with_growing_delays() {
    let mut rng = StdRng::seed_from_u64(7);
    let t0 = Instant::now();
    let secondary = uri(None, "backup.example.com", Some(5070));
    let mut reg = Registration::new(config().with_secondary(secondary.clone()), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let mut now = t0;
    let mut delays = Vec::new();
    for round in 0..8 {
        let (req, which) = reg.poll_request(now).unwrap();
        assert_eq!(
            which,
            Registrar::Primary,
            "round {round} starts at the primary"
        );
        assert_eq!(req.uri, Uri::Sip(uri(None, "example.com", None)));
        // Timer F: 32 s later.
        now += secs(32);
        reg.on_transaction_timeout(now, &mut rng);
        assert_eq!(reg.state(), &RegistrationState::Registering);
        let (req, which) = reg.poll_request(now).unwrap();
        assert_eq!(which, Registrar::Secondary);
        assert_eq!(req.uri, Uri::Sip(secondary.clone()));
        now += secs(32);
        reg.on_transaction_timeout(now, &mut rng);
        assert_eq!(
            reg.state(),
            &RegistrationState::Failed {
                code: None,
                reason: FailureReason::Timeout
            }
        );
        assert_eq!(reg.poll_request(now), None);
        let at = reg.poll_timeout().unwrap();
        delays.push(at - now);
        reg.handle_timeout(at - Duration::from_millis(1), &mut rng);
        assert_eq!(reg.poll_request(at), None, "not before the backoff ends");
        now = at;
        reg.handle_timeout(now, &mut rng);
    }
    // Nominal 5, 10, 20, 40, 80, 160, 300, 300 s, each shortened by up to 20 %.
    let nominal = [5u64, 10, 20, 40, 80, 160, 300, 300];
    for (d, n) in delays.iter().zip(nominal) {
        assert!(*d <= secs(n) && *d >= secs(n) * 4 / 5, "{d:?} vs {n} s");
    }
    assert!(delays.windows(2).take(6).all(|w| w[0] < w[1]), "{delays:?}");

    // Success resets the backoff.
    let (req, _) = reg.poll_request(now).unwrap();
    reg.on_response(
        &Response::for_request(&req, StatusCode::OK, None),
        now,
        &mut rng,
    );
    assert!(matches!(reg.state(), RegistrationState::Registered { .. }));
    let t = now + secs(480);
    reg.handle_timeout(t, &mut rng);
    reg.poll_request(t).unwrap();
    reg.on_transaction_timeout(t, &mut rng);
    let (_, which) = reg.poll_request(t).unwrap();
    assert_eq!(which, Registrar::Secondary);
    reg.on_transaction_timeout(t, &mut rng);
    assert!(reg.poll_timeout().unwrap() - t <= secs(5));
}

#[test]
fn server_error_without_secondary_backs_off_respecting_retry_after() {
    let mut rng = StdRng::seed_from_u64(8);
    let t0 = Instant::now();
    let mut reg = Registration::new(config(), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let (req, _) = reg.poll_request(t0).unwrap();
    let mut busy = Response::for_request(&req, StatusCode::SERVICE_UNAVAILABLE, None);
    busy.head.other.push("Retry-After", "120 (maintenance)");
    reg.on_response(&busy, t0, &mut rng);
    assert_eq!(
        reg.state(),
        &RegistrationState::Failed {
            code: Some(503),
            reason: FailureReason::Rejected
        }
    );
    assert_eq!(reg.poll_timeout(), Some(t0 + secs(120)));
    reg.handle_timeout(t0 + secs(120), &mut rng);
    assert_eq!(reg.state(), &RegistrationState::Registering);
    let (again, which) = reg.poll_request(t0 + secs(120)).unwrap();
    assert_eq!(which, Registrar::Primary);
    assert_eq!(again.head.cseq.seq, 2);
}

#[test]
fn forbidden_and_missing_credentials_fail_for_good() {
    let mut rng = StdRng::seed_from_u64(9);
    let t0 = Instant::now();
    let mut reg = Registration::new(config(), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let (req, _) = reg.poll_request(t0).unwrap();
    reg.on_response(
        &Response::for_request(&req, StatusCode::FORBIDDEN, None),
        t0,
        &mut rng,
    );
    assert_eq!(
        reg.state(),
        &RegistrationState::Failed {
            code: Some(403),
            reason: FailureReason::Rejected
        }
    );
    assert_eq!(reg.poll_timeout(), None);

    let mut no_password = config();
    no_password.password = None;
    let mut registrar = FakeRegistrar::new("secret", t0);
    let mut reg = Registration::new(no_password, &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let (req, _) = reg.poll_request(t0).unwrap();
    reg.on_response(&registrar.handle(&req, t0), t0, &mut rng);
    assert_eq!(
        reg.state(),
        &RegistrationState::Failed {
            code: Some(401),
            reason: FailureReason::NoCredentials
        }
    );
    assert_eq!(reg.poll_request(t0), None);

    // A challenge that cannot be parsed.
    let mut reg = Registration::new(config(), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let (req, _) = reg.poll_request(t0).unwrap();
    let mut bad = Response::for_request(&req, StatusCode::UNAUTHORIZED, None);
    bad.head.other.push("WWW-Authenticate", "Basic realm=\"x\"");
    reg.on_response(&bad, t0, &mut rng);
    assert_eq!(
        reg.state(),
        &RegistrationState::Failed {
            code: Some(401),
            reason: FailureReason::BadChallenge
        }
    );
}

#[test]
fn proxy_challenge_gets_proxy_authorization() {
    let mut rng = StdRng::seed_from_u64(10);
    let t0 = Instant::now();
    let mut registrar = FakeRegistrar::new("secret", t0);
    let mut reg = Registration::new(config(), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let (req, _) = reg.poll_request(t0).unwrap();
    let www = registrar.challenge(&req, t0, false);
    let mut proxy = Response::for_request(&req, StatusCode::PROXY_AUTH_REQUIRED, None);
    proxy.head.other.push(
        "Proxy-Authenticate",
        www.head.other.get("WWW-Authenticate").unwrap(),
    );
    reg.on_response(&proxy, t0, &mut rng);
    let (again, _) = reg.poll_request(t0).unwrap();
    assert_eq!(header(&again, "Authorization"), None);
    let creds = Credentials::parse(header(&again, "Proxy-Authorization").unwrap()).unwrap();
    let verdict =
        registrar
            .server
            .verify(&creds, "REGISTER", UserSecret::Password("secret"), &[], 0);
    assert_eq!(verdict, Verification::Ok);
}

#[test]
fn stop_sends_unregister_with_credentials() {
    let mut rng = StdRng::seed_from_u64(11);
    let t0 = Instant::now();
    let mut registrar = FakeRegistrar::new("secret", t0);
    let mut reg = registered(&mut rng, t0, &mut registrar);
    events(&mut reg);
    let t1 = t0 + secs(100);
    reg.stop(t1, &mut rng);
    assert_eq!(reg.state(), &RegistrationState::Unregistering);
    let (unreg, which) = reg.poll_request(t1).unwrap();
    assert_eq!(which, Registrar::Primary);
    assert_eq!(header(&unreg, "Expires"), Some("0"));
    assert_eq!(unreg.head.call_id, reg.call_id());
    assert_eq!(unreg.head.cseq.seq, 3);
    assert!(!unreg.head.contact_wildcard);
    assert_eq!(unreg.head.contact.len(), 1);
    assert!(
        header(&unreg, "Authorization").is_some(),
        "credentials reused"
    );
    let ok = registrar.handle(&unreg, t1);
    assert_eq!(ok.status, StatusCode::OK);
    assert!(reg.on_response(&ok, t1, &mut rng));
    assert_eq!(reg.state(), &RegistrationState::Unregistered);
    assert_eq!(
        events(&mut reg),
        [
            RegistrationState::Unregistering,
            RegistrationState::Unregistered
        ]
    );
    assert_eq!(reg.poll_timeout(), None);
    assert_eq!(reg.poll_request(t1), None);
}

#[test]
fn unregister_answers_a_new_challenge() {
    let mut rng = StdRng::seed_from_u64(12);
    let t0 = Instant::now();
    let mut registrar = FakeRegistrar::new("secret", t0);
    let mut reg = registered(&mut rng, t0, &mut registrar);
    // The registrar restarted: its old nonces are unknown now.
    registrar.server = DigestServer::from_rng(&mut registrar.rng);
    let t1 = t0 + secs(10);
    reg.stop(t1, &mut rng);
    let (unreg, _) = reg.poll_request(t1).unwrap();
    let challenge = registrar.handle(&unreg, t1);
    assert_eq!(challenge.status, StatusCode::UNAUTHORIZED);
    reg.on_response(&challenge, t1, &mut rng);
    assert_eq!(reg.state(), &RegistrationState::Unregistering);
    let (again, _) = reg.poll_request(t1).unwrap();
    assert_eq!(header(&again, "Expires"), Some("0"));
    assert_eq!(again.head.cseq.seq, unreg.head.cseq.seq + 1);
    let ok = registrar.handle(&again, t1);
    assert_eq!(ok.status, StatusCode::OK);
    reg.on_response(&ok, t1, &mut rng);
    assert_eq!(reg.state(), &RegistrationState::Unregistered);
}

#[test]
fn stop_without_binding_needs_no_request() {
    let mut rng = StdRng::seed_from_u64(13);
    let t0 = Instant::now();
    let mut reg = Registration::new(config(), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    // Stopped before the REGISTER left.
    reg.stop(t0, &mut rng);
    assert_eq!(reg.state(), &RegistrationState::Unregistered);
    assert_eq!(reg.poll_request(t0), None);
}

#[test]
fn stale_and_foreign_responses_are_ignored() {
    let mut rng = StdRng::seed_from_u64(14);
    let t0 = Instant::now();
    let mut reg = Registration::new(config(), &mut rng).unwrap();
    reg.start(t0, &mut rng);
    let (first, _) = reg.poll_request(t0).unwrap();
    let trying = Response::for_request(&first, StatusCode::TRYING, None);
    assert!(reg.matches(&trying));
    assert!(reg.on_response(&trying, t0, &mut rng));
    assert_eq!(reg.state(), &RegistrationState::Registering);
    // Restarted: the first REGISTER is superseded.
    reg.start(t0, &mut rng);
    let (second, _) = reg.poll_request(t0).unwrap();
    let late = Response::for_request(&first, StatusCode::OK, None);
    assert!(!reg.matches(&late));
    assert!(!reg.on_response(&late, t0, &mut rng));
    assert_eq!(reg.state(), &RegistrationState::Registering);
    let mut foreign = Response::for_request(&second, StatusCode::OK, None);
    foreign.head.call_id = "someone-else@host".into();
    assert!(!reg.on_response(&foreign, t0, &mut rng));
    assert!(reg.on_response(
        &Response::for_request(&second, StatusCode::OK, None),
        t0,
        &mut rng
    ));
}

#[test]
fn config_checks_and_redacted_debug() {
    let mut rng = StdRng::seed_from_u64(15);
    let c = config();
    let shown = format!("{c:?}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(shown.contains("<redacted>"));
    let reg = Registration::new(c.clone(), &mut rng).unwrap();
    assert!(!format!("{reg:?}").contains("secret"));

    let mut no_user = c.clone();
    no_user.aor.user = None;
    assert_eq!(
        Registration::new(no_user, &mut rng).unwrap_err(),
        RegistrationError::AorWithoutUser
    );
    assert_eq!(
        Registration::new(c.with_expires(0), &mut rng).unwrap_err(),
        RegistrationError::ZeroExpires
    );
}

#[test]
fn refresh_with_refused_credentials_fails_without_a_second_try() {
    let mut rng = StdRng::seed_from_u64(16);
    let t0 = Instant::now();
    let mut registrar = FakeRegistrar::new("secret", t0);
    let mut reg = registered(&mut rng, t0, &mut registrar);
    // The password was changed on the registrar.
    registrar.password = "changed";
    let t1 = t0 + secs(480);
    reg.handle_timeout(t1, &mut rng);
    let mut sent = 0;
    while let Some((req, _)) = reg.poll_request(t1) {
        sent += 1;
        assert!(sent <= 5, "must not loop");
        let resp = registrar.handle(&req, t1);
        reg.on_response(&resp, t1, &mut rng);
    }
    assert_eq!(
        sent, 1,
        "the reused nonce came back: the credentials are wrong"
    );
    assert_eq!(
        reg.state(),
        &RegistrationState::Failed {
            code: Some(401),
            reason: FailureReason::AuthRejected
        }
    );
}
