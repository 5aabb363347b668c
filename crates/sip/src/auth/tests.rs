//! Cross-cutting tests: published vectors, client/server round trips, retry flows
//! and hostile input through the public entry points.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;

const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Md5,
    Algorithm::Md5Sess,
    Algorithm::Sha256,
    Algorithm::Sha256Sess,
];

/// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
#[test]
fn rfc7616_examples() {
    for (algorithm, expected) in [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        (
            "SHA-256",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ] {
        let challenge = Challenge::parse(&format!(
            "Digest\n       realm=\"http-auth@example.org\",\n       qop=\"auth, auth-int\",\n       \
             algorithm={algorithm},\n       nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\n       \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        ))
        .unwrap();
        assert_eq!(challenge.qop, [Qop::Auth, Qop::AuthInt]);
        let header = format!(
            "Digest username=\"Mufasa\",\n       realm=\"http-auth@example.org\",\n       \
             uri=\"/dir/index.html\",\n       algorithm={algorithm},\n       \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\n       nc=00000001,\n       \
             cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\n       qop=auth,\n       \
             response=\"{expected}\",\n       opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
        let creds = Credentials::parse(&header).unwrap();
        assert_eq!(creds.algorithm.as_str(), algorithm);
        let computed = creds
            .compute_response("GET", UserSecret::Password("Circle of Life"), b"")
            .unwrap();
        assert_eq!(computed, expected);
        assert_eq!(creds.response, expected);
    }
}

/// RFC 2617 §3.5, recomputed from the challenge through the public types.
#[test]
fn rfc2617_example() {
    let challenge = Challenge::parse(
        r#"Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
    )
    .unwrap();
    let creds = Credentials {
        username: "Mufasa".into(),
        realm: challenge.realm.clone(),
        nonce: challenge.nonce.clone(),
        uri: "/dir/index.html".into(),
        response: String::new(),
        algorithm: challenge.algorithm.clone(),
        cnonce: Some("0a4f113b".into()),
        opaque: challenge.opaque.clone(),
        qop: Some(Qop::Auth),
        nc: 1,
    };
    assert_eq!(
        creds
            .compute_response("GET", UserSecret::Password("Circle Of Life"), b"")
            .unwrap(),
        "6629fae49393a05397450978507c4ef1"
    );
}

/// RFC 2069 §2.4 example (as corrected by its erratum), no qop: H(HA1:nonce:HA2).
/// Cross-checked with Python hashlib.
#[test]
fn rfc2069_legacy_example() {
    let creds = Credentials::parse(
        r#"Digest username="Mufasa", realm="testrealm@host.com",
           nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html",
           response="1949323746fe6a43ef61f9606e7febea",
           opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
    )
    .unwrap();
    assert_eq!(creds.qop, None);
    assert_eq!(
        creds
            .compute_response("GET", UserSecret::Password("CircleOfLife"), b"")
            .unwrap(),
        creds.response
    );
}

/// SHA-256-sess with auth-int, vector computed independently with Python hashlib.
#[test]
fn sha256_sess_auth_int_vector() {
    let creds = Credentials {
        username: "bob".into(),
        realm: "biloxi.com".into(),
        nonce: "abc123".into(),
        uri: "sip:bob@biloxi.com".into(),
        response: String::new(),
        algorithm: Algorithm::Sha256Sess,
        cnonce: Some("c0ffee".into()),
        opaque: None,
        qop: Some(Qop::AuthInt),
        nc: 10,
    };
    assert_eq!(
        creds
            .compute_response("INVITE", UserSecret::Password("zanzibar"), b"v=0\r\n")
            .unwrap(),
        "53a74e18725d1fac70621ce72804029c89b5b9faa0c487551d58a7b04b9de65e"
    );
}

/// Every algorithm and qop mode, through the printed and re-parsed headers.
#[test]
fn client_server_round_trips() {
    let mut rng = StdRng::seed_from_u64(42);
    for algorithm in ALGORITHMS {
        for qop in [vec![Qop::Auth], vec![Qop::AuthInt], vec![]] {
            if qop.is_empty() && algorithm.is_session() {
                continue; // unanswerable, tested in client.rs
            }
            let mut server = DigestServer::from_rng(&mut rng).with_qop(qop.clone());
            let challenge = server.challenge("biloxi.com", algorithm.clone(), &mut rng, 1000);
            let received = Challenge::parse(&challenge.to_string()).unwrap();
            assert_eq!(received, challenge);

            let mut client = DigestClient::new();
            let body = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n";
            let creds = client
                .respond(
                    &received,
                    "INVITE",
                    "sip:bob@biloxi.com",
                    "bob",
                    "zanzibar",
                    body,
                    &mut rng,
                )
                .unwrap();
            let label = format!("{algorithm} {qop:?}");
            assert_eq!(creds.qop, qop.first().cloned(), "{label}");
            let sent = Credentials::parse(&creds.to_string()).unwrap();
            assert_eq!(sent, creds, "{label}");

            let check = |server: &mut DigestServer, password: &str, body: &[u8], now| {
                server.verify(&sent, "INVITE", UserSecret::Password(password), body, now)
            };
            assert_eq!(
                check(&mut server, "wrong", body, 1001),
                Verification::BadResponse,
                "{label}"
            );
            if qop == [Qop::AuthInt] {
                assert_eq!(
                    check(&mut server, "zanzibar", b"tampered", 1001),
                    Verification::BadResponse,
                    "{label}"
                );
            }
            assert_eq!(
                check(&mut server, "zanzibar", body, 1001),
                Verification::Ok,
                "{label}"
            );
            if !qop.is_empty() {
                assert_eq!(
                    check(&mut server, "zanzibar", body, 1002),
                    Verification::Replay,
                    "{label}"
                );
                let again = client
                    .respond(
                        &received,
                        "INVITE",
                        "sip:bob@biloxi.com",
                        "bob",
                        "zanzibar",
                        body,
                        &mut rng,
                    )
                    .unwrap();
                assert_eq!(again.nc, 2, "{label}");
                assert_eq!(
                    server.verify(
                        &again,
                        "INVITE",
                        UserSecret::Password("zanzibar"),
                        body,
                        1003
                    ),
                    Verification::Ok,
                    "{label}"
                );
            }
        }
    }
}

/// The server prefers SHA-256 but also offers MD5; the client picks SHA-256.
#[test]
fn several_challenges_pick_sha256() {
    let mut rng = StdRng::seed_from_u64(43);
    let mut server = DigestServer::from_rng(&mut rng);
    let headers = [
        server
            .challenge("atlanta.com", Algorithm::Md5, &mut rng, 5)
            .to_string(),
        server
            .challenge("atlanta.com", Algorithm::Sha256, &mut rng, 5)
            .to_string(),
        "Basic realm=\"atlanta.com\"".to_owned(),
        "Digest realm=\"atlanta.com\",nonce=\"x\",algorithm=SHA-512-256,qop=\"auth\"".to_owned(),
    ];
    let challenges: Vec<Challenge> = headers.iter().filter_map(|h| h.parse().ok()).collect();
    assert_eq!(challenges.len(), 3);
    let picked = pick_challenge(&challenges).unwrap();
    assert_eq!(picked.algorithm, Algorithm::Sha256);
    let creds = DigestClient::new()
        .respond(
            picked,
            "REGISTER",
            "sip:atlanta.com",
            "alice",
            "pw",
            b"",
            &mut rng,
        )
        .unwrap();
    assert_eq!(
        server.verify(&creds, "REGISTER", UserSecret::Password("pw"), b"", 6),
        Verification::Ok
    );
}

/// A REGISTER flow: 401, answer, later refresh on an expired nonce gets
/// `stale=true`, the client retries with the new nonce without failing; a wrong
/// password makes it give up.
#[test]
fn stale_flow_and_giving_up() {
    let mut rng = StdRng::seed_from_u64(44);
    let mut server = DigestServer::from_rng(&mut rng).with_nonce_ttl(60);
    let mut client = DigestClient::new();

    let mut attempt = AuthState::new();
    let challenge = Challenge::parse(
        &server
            .challenge("example.com", Algorithm::Sha256, &mut rng, 0)
            .to_string(),
    )
    .unwrap();
    attempt.on_challenge(&challenge).unwrap();
    let creds = client
        .respond(
            &challenge,
            "REGISTER",
            "sip:example.com",
            "alice",
            "pw",
            b"",
            &mut rng,
        )
        .unwrap();
    assert_eq!(
        server.verify(&creds, "REGISTER", UserSecret::Password("pw"), b"", 1),
        Verification::Ok
    );

    // Refresh later with the cached challenge: nc 2, but the nonce expired.
    let mut refresh = AuthState::new();
    let creds = client
        .respond(
            &challenge,
            "REGISTER",
            "sip:example.com",
            "alice",
            "pw",
            b"",
            &mut rng,
        )
        .unwrap();
    assert_eq!(creds.nc, 2);
    assert_eq!(
        server.verify(&creds, "REGISTER", UserSecret::Password("pw"), b"", 500),
        Verification::Stale
    );
    let mut stale = server.challenge("example.com", Algorithm::Sha256, &mut rng, 500);
    stale.stale = true;
    let stale = Challenge::parse(&stale.to_string()).unwrap();
    assert!(stale.stale);
    refresh.on_challenge(&stale).unwrap();
    let creds = client
        .respond(
            &stale,
            "REGISTER",
            "sip:example.com",
            "alice",
            "pw",
            b"",
            &mut rng,
        )
        .unwrap();
    assert_eq!(creds.nc, 1);
    assert_eq!(
        server.verify(&creds, "REGISTER", UserSecret::Password("pw"), b"", 501),
        Verification::Ok
    );

    // Wrong password: a server re-challenging with the same nonce means give up.
    let mut bad = AuthState::new();
    let challenge = server.challenge("example.com", Algorithm::Sha256, &mut rng, 600);
    bad.on_challenge(&challenge).unwrap();
    let creds = client
        .respond(
            &challenge,
            "REGISTER",
            "sip:example.com",
            "alice",
            "oops",
            b"",
            &mut rng,
        )
        .unwrap();
    assert_eq!(
        server.verify(&creds, "REGISTER", UserSecret::Password("pw"), b"", 601),
        Verification::BadResponse
    );
    assert!(matches!(
        bad.on_challenge(&challenge),
        Err(AuthError::Rejected { .. })
    ));
}

#[test]
fn hostile_values_are_errors() {
    let huge = "a".repeat(1 << 20);
    let cases = [
        String::new(),
        " \t ".into(),
        "Digest realm=\"unterminated".into(),
        "Digest realm=\"a\\".into(),
        "Digest realm=\"a\", nonce".into(),
        "Digest ,,,=,,,".into(),
        "Digest realm==a".into(),
        "Digest realm=\"a\"nonce=\"b\"".into(),
        "Digest realm=\"a\0\",nonce=b".into(),
        format!("Digest realm=\"{huge}\",nonce=b"),
        format!("Digest {huge}"),
        format!("Digest realm={huge}"),
        huge.clone(),
        "\u{feff}Digest realm=a,nonce=b".into(),
    ];
    for case in &cases {
        let short = case.get(..40).unwrap_or(case);
        assert!(Challenge::parse(case).is_err(), "{short:?}");
        assert!(Credentials::parse(case).is_err(), "{short:?}");
    }
    assert_eq!(
        Challenge::parse(&format!("Digest realm=\"{huge}\"")),
        Err(AuthError::TooLong {
            len: huge.len() + 15,
            max: MAX_HEADER_LEN
        })
    );
}

#[test]
fn errors_and_debug_never_show_passwords() {
    let secret = UserSecret::Password("hunter2");
    assert!(!format!("{secret:?}").contains("hunter2"));
    let ha1 = UserSecret::Ha1("0123abcd");
    assert!(!format!("{ha1:?}").contains("0123abcd"));

    let mut rng = StdRng::seed_from_u64(45);
    let mut client = DigestClient::new();
    let mut challenge = Challenge::new("r", "n");
    let creds = client
        .respond(&challenge, "INVITE", "sip:x", "u", "hunter2", b"", &mut rng)
        .unwrap();
    for shown in [
        format!("{client:?}"),
        format!("{creds:?}"),
        creds.to_string(),
    ] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    challenge.algorithm = Algorithm::Unknown("X-NEW".into());
    let err = client
        .respond(&challenge, "INVITE", "sip:x", "u", "hunter2", b"", &mut rng)
        .unwrap_err();
    assert!(!format!("{err:?} {err}").contains("hunter2"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary strings never panic the parsers.
    #[test]
    fn parsers_never_panic(input in any::<String>()) {
        let _ = Challenge::parse(&input);
        let _ = Credentials::parse(&input);
    }

    /// Strings shaped like headers (the grammar's own characters) never panic either.
    #[test]
    fn header_shaped_input_never_panics(
        input in r#"(Digest|digest|Basic)?[ ,="\\a-zA-Z0-9\t\r\n-]{0,80}"#
    ) {
        let _ = Challenge::parse(&input);
        let _ = Credentials::parse(&input);
    }

    /// Any printable field values survive print and parse.
    #[test]
    fn challenge_round_trips(
        realm in "[^\\x00-\\x1f\\x7f]{0,40}",
        nonce in "[^\\x00-\\x1f\\x7f]{0,40}",
        opaque in proptest::option::of("[^\\x00-\\x1f\\x7f]{0,20}"),
        alg in 0usize..4,
        qop in proptest::collection::vec(prop_oneof![Just(Qop::Auth), Just(Qop::AuthInt)], 0..3),
        stale in any::<bool>(),
    ) {
        let challenge = Challenge {
            realm,
            nonce,
            opaque,
            algorithm: ALGORITHMS.get(alg).cloned().unwrap_or_default(),
            qop,
            stale,
            domain: None,
            userhash: false,
        };
        prop_assert_eq!(Challenge::parse(&challenge.to_string()), Ok(challenge));
    }

    #[test]
    fn credentials_round_trip(
        username in "[^\\x00-\\x1f\\x7f]{0,40}",
        uri in "[^\\x00-\\x1f\\x7f]{0,40}",
        cnonce in "[^\\x00-\\x1f\\x7f]{0,20}",
        nc in any::<u32>(),
        with_qop in any::<bool>(),
    ) {
        let creds = Credentials {
            username,
            realm: "r".into(),
            nonce: "n".into(),
            uri,
            response: "00".into(),
            algorithm: Algorithm::Sha256,
            cnonce: with_qop.then_some(cnonce),
            opaque: None,
            qop: with_qop.then_some(Qop::Auth),
            nc: if with_qop { nc } else { 0 },
        };
        prop_assert_eq!(Credentials::parse(&creds.to_string()), Ok(creds));
    }
}
