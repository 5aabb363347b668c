//! SIP INFO DTMF bodies: known bodies from Cisco/Asterisk practice, the
//! variations seen in the field, printing round trips, and arbitrary bytes.

use std::time::Duration;

use callwire_media::dtmf::info::{
    format_dtmf, format_dtmf_relay, parse_dtmf, parse_dtmf_relay, parse_info, InfoFormat,
    DEFAULT_DURATION, MAX_INFO_BODY,
};
use callwire_media::dtmf::{Digit, DtmfError};
use proptest::prelude::*;

const MS: fn(u64) -> Duration = Duration::from_millis;

#[test]
fn dtmf_relay_known_bodies() {
    let cases: &[(&[u8], Digit, u64)] = &[
        (b"Signal=5\r\nDuration=160\r\n", Digit::Five, 160),
        (b"Signal=5\nDuration=160\n", Digit::Five, 160),
        (b"Signal=5\rDuration=160\r", Digit::Five, 160),
        (b"signal=*\r\nduration=250\r\n", Digit::Star, 250),
        (b"SIGNAL = # \r\nDURATION = 100\r\n", Digit::Pound, 100),
        (b"Signal= 1\r\nDuration= 200", Digit::One, 200),
        (b"\tSignal\t=\tA\t\r\n", Digit::A, 100),
        (b"Signal=d\r\n", Digit::D, 100),
        // Event codes for * and # and A-D.
        (b"Signal=10\r\nDuration=100\r\n", Digit::Star, 100),
        (b"Signal=11\r\nDuration=100\r\n", Digit::Pound, 100),
        (b"Signal=12\r\n", Digit::A, 100),
        (b"Signal=15\r\n", Digit::D, 100),
        (b"Signal=0\r\n", Digit::Zero, 100),
        (b"Signal=09\r\n", Digit::Nine, 100),
        // Unknown keys and lines without '=' are skipped; order does not matter.
        (
            b"Duration=300\r\nVolume=10\r\ngarbage\r\n\r\nSignal=7\r\n",
            Digit::Seven,
            300,
        ),
        (b"Signal=3\r\nDuration=0\r\n", Digit::Three, 0),
    ];
    for (body, digit, ms) in cases {
        assert_eq!(
            parse_dtmf_relay(body),
            Ok((*digit, MS(*ms))),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn dtmf_relay_errors() {
    use DtmfError::*;
    let cases: &[(&[u8], DtmfError)] = &[
        (b"", InfoMissingSignal),
        (b"Duration=160\r\n", InfoMissingSignal),
        (
            b"Signal=\r\n",
            InfoInvalidSignal {
                value: String::new(),
            },
        ),
        (b"Signal=E\r\n", InfoInvalidSignal { value: "E".into() }),
        (b"Signal=17\r\n", InfoInvalidSignal { value: "17".into() }),
        (b"Signal=55\r\n", InfoInvalidSignal { value: "55".into() }),
        (b"Signal=-1\r\n", InfoInvalidSignal { value: "-1".into() }),
        (
            b"Signal=12345\r\n",
            InfoInvalidSignal {
                value: "12345".into(),
            },
        ),
        (b"Signal=16\r\n", InfoUnsupportedEvent { code: 16 }),
        (b"Signal=!\r\n", InfoUnsupportedEvent { code: 16 }),
        (
            b"Signal=5\r\nDuration=abc\r\n",
            InfoInvalidDuration {
                value: "abc".into(),
            },
        ),
        (
            b"Signal=5\r\nDuration=-5\r\n",
            InfoInvalidDuration { value: "-5".into() },
        ),
        (
            b"Signal=5\r\nDuration=99999999999\r\n",
            InfoInvalidDuration {
                value: "99999999999".into(),
            },
        ),
        (
            b"Signal=5\r\nDuration=60001\r\n",
            InfoInvalidDuration {
                value: "60001".into(),
            },
        ),
        (
            b"Signal=5\r\nSignal=6\r\n",
            InfoDuplicateField { field: "Signal" },
        ),
        (
            b"Signal=5\r\nDuration=1\r\nDuration=2\r\n",
            InfoDuplicateField { field: "Duration" },
        ),
        (b"Signal=\xff\r\n", InfoNotUtf8),
    ];
    for (body, err) in cases {
        assert_eq!(
            parse_dtmf_relay(body).as_ref(),
            Err(err),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
    let big = vec![b' '; MAX_INFO_BODY + 1];
    assert_eq!(
        parse_dtmf_relay(&big),
        Err(InfoBodyTooLarge {
            len: MAX_INFO_BODY + 1,
            max: MAX_INFO_BODY
        })
    );
    // A long bad value is truncated in the error.
    let long = format!("Signal={}\r\n", "x".repeat(100));
    match parse_dtmf_relay(long.as_bytes()) {
        Err(InfoInvalidSignal { value }) => assert_eq!(value.len(), 16),
        other => panic!("{other:?}"),
    }
}

#[test]
fn application_dtmf_bodies() {
    assert_eq!(parse_dtmf(b"5"), Ok(Digit::Five));
    assert_eq!(parse_dtmf(b"5\r\n"), Ok(Digit::Five));
    assert_eq!(parse_dtmf(b" # "), Ok(Digit::Pound));
    assert_eq!(parse_dtmf(b"11\r\n"), Ok(Digit::Pound));
    assert_eq!(parse_dtmf(b"10"), Ok(Digit::Star));
    assert_eq!(parse_dtmf(b"b"), Ok(Digit::B));
    assert_eq!(parse_dtmf(b""), Err(DtmfError::InfoMissingSignal));
    assert_eq!(parse_dtmf(b"\r\n"), Err(DtmfError::InfoMissingSignal));
    assert_eq!(
        parse_dtmf(b"16"),
        Err(DtmfError::InfoUnsupportedEvent { code: 16 })
    );
    assert!(matches!(
        parse_dtmf(b"Signal=5"),
        Err(DtmfError::InfoInvalidSignal { .. })
    ));
    assert!(matches!(
        parse_dtmf(b"1 2"),
        Err(DtmfError::InfoInvalidSignal { .. })
    ));
}

#[test]
fn by_content_type() {
    assert_eq!(
        parse_info("application/dtmf-relay", b"Signal=1\r\nDuration=90\r\n"),
        Ok((Digit::One, MS(90)))
    );
    assert_eq!(
        parse_info("Application/DTMF-Relay; charset=utf-8", b"Signal=2\r\n"),
        Ok((Digit::Two, DEFAULT_DURATION))
    );
    assert_eq!(
        parse_info(" application/dtmf ", b"3"),
        Ok((Digit::Three, DEFAULT_DURATION))
    );
    assert!(matches!(
        parse_info("application/sdp", b"v=0"),
        Err(DtmfError::InfoUnsupportedContentType { .. })
    ));
    assert_eq!(
        InfoFormat::from_content_type("application/dtmf"),
        Ok(InfoFormat::Dtmf)
    );
    assert_eq!(
        InfoFormat::DtmfRelay.content_type(),
        "application/dtmf-relay"
    );
}

#[test]
fn printing_and_round_trip() {
    assert_eq!(
        format_dtmf_relay(Digit::Five, MS(160)),
        "Signal=5\r\nDuration=160\r\n"
    );
    assert_eq!(
        format_dtmf_relay(Digit::Pound, MS(250)),
        "Signal=#\r\nDuration=250\r\n"
    );
    assert_eq!(format_dtmf(Digit::Five), "5\r\n");
    assert_eq!(format_dtmf(Digit::Star), "10\r\n");
    assert_eq!(format_dtmf(Digit::D), "15\r\n");
    for d in Digit::ALL {
        for ms in [0, 40, 100, 160, 60_000] {
            let body = format_dtmf_relay(d, MS(ms));
            assert_eq!(parse_dtmf_relay(body.as_bytes()), Ok((d, MS(ms))));
        }
        assert_eq!(parse_dtmf(format_dtmf(d).as_bytes()), Ok(d));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_dtmf_relay(&body);
        let _ = parse_dtmf(&body);
        let _ = parse_info("application/dtmf-relay", &body);
    }

    #[test]
    fn structured_noise_never_panics(
        lines in prop::collection::vec(
            (
                prop::sample::select(vec!["Signal", "signal", "Duration", "DURATION", "x", "", " Signal "]),
                prop::sample::select(vec!["=", " = ", "", "=="]),
                "[0-9*#A-Da-z!\\- ]{0,6}",
                prop::sample::select(vec!["\r\n", "\n", "\r", ""]),
            ),
            0..6,
        )
    ) {
        let body: String = lines.iter().map(|(k, eq, v, nl)| format!("{k}{eq}{v}{nl}")).collect();
        if let Ok((digit, dur)) = parse_dtmf_relay(body.as_bytes()) {
            // What parses re-prints to something that parses the same.
            prop_assert_eq!(parse_dtmf_relay(format_dtmf_relay(digit, dur).as_bytes()), Ok((digit, dur)));
        }
    }
}
