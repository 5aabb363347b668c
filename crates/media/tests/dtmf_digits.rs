//! The digit model: characters, RFC 4733 event codes, keypad frequencies and
//! digit-string parsing.

use callwire_media::dtmf::{
    parse_digits, parse_send_sequence, Digit, DtmfError, SendItem, MAX_SEQUENCE_LEN,
};
use proptest::prelude::*;

#[test]
fn characters_and_codes() {
    let chars = "0123456789*#ABCD";
    for (code, c) in chars.chars().enumerate() {
        let d = Digit::from_char(c).unwrap();
        assert_eq!(d.event_code(), code as u8);
        assert_eq!(Digit::from_event_code(code as u8), Some(d));
        assert_eq!(d.as_char(), c);
        assert_eq!(d.to_string(), c.to_string());
        assert_eq!(c.to_string().parse::<Digit>(), Ok(d));
        assert_eq!(Digit::try_from(c), Ok(d));
    }
    assert_eq!(Digit::from_char('a'), Some(Digit::A));
    assert_eq!(Digit::from_char('d'), Some(Digit::D));
    for bad in ['e', 'E', ' ', ',', '!', 'p', 'w', '٣'] {
        assert_eq!(Digit::from_char(bad), None, "{bad:?}");
    }
    for code in 16..=255u8 {
        assert_eq!(Digit::from_event_code(code), None);
    }
    assert!("12".parse::<Digit>().is_err());
    assert!("".parse::<Digit>().is_err());
}

#[test]
fn keypad_frequencies() {
    // ITU-T Q.23 keypad.
    assert_eq!(Digit::One.frequencies(), (697.0, 1209.0));
    assert_eq!(Digit::Five.frequencies(), (770.0, 1336.0));
    assert_eq!(Digit::Nine.frequencies(), (852.0, 1477.0));
    assert_eq!(Digit::Zero.frequencies(), (941.0, 1336.0));
    assert_eq!(Digit::Star.frequencies(), (941.0, 1209.0));
    assert_eq!(Digit::Pound.frequencies(), (941.0, 1477.0));
    assert_eq!(Digit::A.frequencies(), (697.0, 1633.0));
    assert_eq!(Digit::D.frequencies(), (941.0, 1633.0));
    let mut pairs: Vec<_> = Digit::ALL
        .iter()
        .map(|d| format!("{:?}", d.frequencies()))
        .collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), 16);
}

#[test]
fn digit_strings() {
    assert_eq!(
        parse_digits("123#*ABCD")
            .unwrap()
            .iter()
            .map(|d| d.as_char())
            .collect::<String>(),
        "123#*ABCD"
    );
    assert_eq!(parse_digits("").unwrap(), vec![]);
    assert_eq!(
        parse_digits("12x4"),
        Err(DtmfError::InvalidCharacter {
            ch: 'x',
            position: 2
        })
    );
    assert_eq!(
        parse_digits("1,2"),
        Err(DtmfError::InvalidCharacter {
            ch: ',',
            position: 1
        })
    );
    assert_eq!(
        parse_digits("é1"),
        Err(DtmfError::InvalidCharacter {
            ch: 'é',
            position: 0
        })
    );
    assert_eq!(
        parse_send_sequence("1,#").unwrap(),
        vec![
            SendItem::Digit(Digit::One),
            SendItem::Pause,
            SendItem::Digit(Digit::Pound)
        ]
    );
    assert_eq!(
        parse_send_sequence("1 2"),
        Err(DtmfError::InvalidCharacter {
            ch: ' ',
            position: 1
        })
    );
    let long = "1".repeat(MAX_SEQUENCE_LEN + 1);
    assert!(matches!(
        parse_digits(&long),
        Err(DtmfError::SequenceTooLong { .. })
    ));
    assert!(parse_digits(&"1".repeat(MAX_SEQUENCE_LEN)).is_ok());
}

proptest! {
    #[test]
    fn parse_never_panics_and_round_trips(s in "\\PC{0,40}") {
        if let Ok(digits) = parse_digits(&s) {
            let printed: String = digits.iter().map(|d| d.as_char()).collect();
            prop_assert_eq!(printed, s.to_uppercase());
        }
        let _ = parse_send_sequence(&s);
    }
}
