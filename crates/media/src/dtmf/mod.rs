//! DTMF: receive and send digits by the three methods a SIP call uses.
//!
//! - [`rfc4733`]: telephone-event RTP payloads (RFC 4733). The caller parses
//!   the RTP header and hands over the sequence number, timestamp, marker bit
//!   and payload; the [`rfc4733::Receiver`] turns the redundant packet stream
//!   into exactly one [`DigitEvent`] per tone, and the [`rfc4733::Sender`]
//!   produces per-frame event payloads for the session to wrap in RTP.
//! - [`info`]: SIP INFO bodies (`application/dtmf-relay`, `application/dtmf`).
//! - [`inband`]: tones in the audio itself: a Goertzel detector following the
//!   ITU-T Q.24 limits and a phase-continuous tone generator.
//!
//! This module owns the digit model ([`Digit`], [`DigitEvent`]) and digit-string
//! parsing. It does no I/O and reads no clock: every time is passed in as an
//! [`Instant`] or counted in samples.

mod error;
pub mod inband;
pub mod info;
pub mod rfc4733;

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

pub use error::DtmfError;

/// Longest digit string accepted by [`parse_digits`] and [`parse_send_sequence`].
pub const MAX_SEQUENCE_LEN: usize = 256;

/// Length of the pause that a `,` stands for in a send sequence.
pub const COMMA_PAUSE: Duration = Duration::from_millis(500);

/// One DTMF digit: the sixteen keys of the 4x4 keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Digit {
    /// `0` (event 0).
    Zero,
    /// `1` (event 1).
    One,
    /// `2` (event 2).
    Two,
    /// `3` (event 3).
    Three,
    /// `4` (event 4).
    Four,
    /// `5` (event 5).
    Five,
    /// `6` (event 6).
    Six,
    /// `7` (event 7).
    Seven,
    /// `8` (event 8).
    Eight,
    /// `9` (event 9).
    Nine,
    /// `*` (event 10).
    Star,
    /// `#` (event 11).
    Pound,
    /// `A` (event 12).
    A,
    /// `B` (event 13).
    B,
    /// `C` (event 14).
    C,
    /// `D` (event 15).
    D,
}

/// Low-group (row) frequencies in Hz, indexed by row.
pub(crate) const ROW_FREQS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies in Hz, indexed by column.
pub(crate) const COL_FREQS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// Digits by keypad position, `[row][column]`.
const KEYPAD: [[Digit; 4]; 4] = [
    [Digit::One, Digit::Two, Digit::Three, Digit::A],
    [Digit::Four, Digit::Five, Digit::Six, Digit::B],
    [Digit::Seven, Digit::Eight, Digit::Nine, Digit::C],
    [Digit::Star, Digit::Zero, Digit::Pound, Digit::D],
];

impl Digit {
    /// All sixteen digits in event-code order (`0`..`9`, `*`, `#`, `A`..`D`).
    pub const ALL: [Digit; 16] = [
        Digit::Zero,
        Digit::One,
        Digit::Two,
        Digit::Three,
        Digit::Four,
        Digit::Five,
        Digit::Six,
        Digit::Seven,
        Digit::Eight,
        Digit::Nine,
        Digit::Star,
        Digit::Pound,
        Digit::A,
        Digit::B,
        Digit::C,
        Digit::D,
    ];

    /// The digit for a character: `0`-`9`, `*`, `#`, `A`-`D` (also `a`-`d`).
    pub fn from_char(c: char) -> Option<Digit> {
        match c {
            '0'..='9' => Self::from_event_code(c as u8 - b'0'),
            '*' => Some(Digit::Star),
            '#' => Some(Digit::Pound),
            'A'..='D' => Self::from_event_code(c as u8 - b'A' + 12),
            'a'..='d' => Self::from_event_code(c as u8 - b'a' + 12),
            _ => None,
        }
    }

    /// The digit for an RFC 4733 event code (0-15). Codes above 15 are other
    /// telephone events (flash, tones) and give `None`.
    pub fn from_event_code(code: u8) -> Option<Digit> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The RFC 4733 event code (0-15).
    pub fn event_code(self) -> u8 {
        self as u8
    }

    /// The character: `0`-`9`, `*`, `#`, `A`-`D`.
    pub fn as_char(self) -> char {
        match self {
            Digit::Star => '*',
            Digit::Pound => '#',
            Digit::A => 'A',
            Digit::B => 'B',
            Digit::C => 'C',
            Digit::D => 'D',
            d => char::from(b'0' + d.event_code()),
        }
    }

    /// Keypad position `(row, column)`, each 0..4.
    pub(crate) fn position(self) -> (usize, usize) {
        match self {
            Digit::One => (0, 0),
            Digit::Two => (0, 1),
            Digit::Three => (0, 2),
            Digit::A => (0, 3),
            Digit::Four => (1, 0),
            Digit::Five => (1, 1),
            Digit::Six => (1, 2),
            Digit::B => (1, 3),
            Digit::Seven => (2, 0),
            Digit::Eight => (2, 1),
            Digit::Nine => (2, 2),
            Digit::C => (2, 3),
            Digit::Star => (3, 0),
            Digit::Zero => (3, 1),
            Digit::Pound => (3, 2),
            Digit::D => (3, 3),
        }
    }

    /// The digit at keypad position `(row, column)`.
    pub(crate) fn at(row: usize, col: usize) -> Digit {
        KEYPAD[row & 3][col & 3]
    }

    /// The nominal `(low, high)` tone frequencies in Hz (ITU-T Q.23).
    pub fn frequencies(self) -> (f64, f64) {
        let (r, c) = self.position();
        (ROW_FREQS[r], COL_FREQS[c])
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char(self.as_char())
    }
}

impl TryFrom<char> for Digit {
    type Error = DtmfError;

    fn try_from(c: char) -> Result<Self, Self::Error> {
        Digit::from_char(c).ok_or(DtmfError::InvalidCharacter { ch: c, position: 0 })
    }
}

impl FromStr for Digit {
    type Err = DtmfError;

    /// Parses exactly one digit character.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Digit::try_from(c),
            (Some(_), Some(c)) => Err(DtmfError::InvalidCharacter { ch: c, position: 1 }),
            (None, _) => Err(DtmfError::InvalidCharacter {
                ch: '\0',
                position: 0,
            }),
        }
    }
}

/// How a digit reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// RTP telephone-event packets (RFC 4733, formerly RFC 2833).
    Rfc4733,
    /// A SIP INFO request (`application/dtmf-relay` or `application/dtmf`).
    Info,
    /// Tones detected in the audio.
    Inband,
}

/// One received digit: exactly one per key press, reported once the tone has
/// ended (or is known to have ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitEvent {
    /// The digit.
    pub digit: Digit,
    /// When the tone started, as best the method can tell.
    pub start: Instant,
    /// How long the tone lasted.
    pub duration: Duration,
    /// How the digit was received.
    pub source: Method,
}

/// One step of a send sequence: a digit or a `,` pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendItem {
    /// Send this digit.
    Digit(Digit),
    /// Stay silent for [`COMMA_PAUSE`].
    Pause,
}

/// Parses a digit string such as `"123#*ABCD"` (lower-case `a`-`d` accepted).
/// An empty string gives no digits.
pub fn parse_digits(s: &str) -> Result<Vec<Digit>, DtmfError> {
    check_len(s)?;
    s.chars()
        .enumerate()
        .map(|(position, ch)| {
            Digit::from_char(ch).ok_or(DtmfError::InvalidCharacter { ch, position })
        })
        .collect()
}

/// Parses a send sequence: digits as in [`parse_digits`], plus `,` for a
/// pause of [`COMMA_PAUSE`].
pub fn parse_send_sequence(s: &str) -> Result<Vec<SendItem>, DtmfError> {
    check_len(s)?;
    s.chars()
        .enumerate()
        .map(|(position, ch)| match ch {
            ',' => Ok(SendItem::Pause),
            _ => Digit::from_char(ch)
                .map(SendItem::Digit)
                .ok_or(DtmfError::InvalidCharacter { ch, position }),
        })
        .collect()
}

fn check_len(s: &str) -> Result<(), DtmfError> {
    // Byte length bounds the work before counting characters.
    if s.len() > MAX_SEQUENCE_LEN * 4 {
        return Err(DtmfError::SequenceTooLong {
            len: s.len(),
            max: MAX_SEQUENCE_LEN,
        });
    }
    let len = s.chars().count();
    if len > MAX_SEQUENCE_LEN {
        return Err(DtmfError::SequenceTooLong {
            len,
            max: MAX_SEQUENCE_LEN,
        });
    }
    Ok(())
}

/// Converts a duration to whole ticks of a `rate` Hz clock (rounded down).
pub(crate) fn duration_to_samples(d: Duration, rate: u32) -> u64 {
    let n = d.as_nanos().saturating_mul(u128::from(rate)) / 1_000_000_000;
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Converts a number of ticks of a `rate` Hz clock to a duration.
pub(crate) fn samples_to_duration(samples: u64, rate: u32) -> Duration {
    if rate == 0 {
        return Duration::ZERO;
    }
    let nanos = u128::from(samples) * 1_000_000_000 / u128::from(rate);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}
