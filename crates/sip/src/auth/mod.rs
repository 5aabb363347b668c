//! Digest access authentication (RFC 7616, RFC 2617, RFC 3261 §22, RFC 8760), sans-IO.
//!
//! Owns the parsing and printing of challenge values (`WWW-Authenticate`,
//! `Proxy-Authenticate`) and credential values (`Authorization`,
//! `Proxy-Authorization`), the client side ([`DigestClient`]: answering
//! challenges, nonce counts, when to give up) and the server side
//! ([`DigestServer`]: stateless expiring nonces, response verification, bounded
//! nonce-count replay protection).
//!
//! It works on header *values* only and does not know SIP message types. It never
//! reads the clock (`now_secs` is passed in) and takes its randomness from the
//! caller. Passwords are never stored, and never appear in errors or `Debug` output.

mod algorithm;
mod challenge;
mod client;
mod credentials;
mod params;
mod server;
#[cfg(test)]
mod tests;

pub use algorithm::{Algorithm, Qop};
pub use challenge::Challenge;
pub use client::{pick_challenge, AuthState, DigestClient};
pub use credentials::Credentials;
pub use params::{MAX_HEADER_LEN, MAX_PARAMS};
pub use server::{DigestServer, Verification};

use std::fmt;

/// The user's secret, as given to [`Credentials::compute_response`] and
/// [`DigestServer::verify`].
///
/// `Debug` never shows the secret.
#[derive(Clone, Copy)]
pub enum UserSecret<'a> {
    /// The clear-text password.
    Password(&'a str),
    /// The hex `H(username:realm:password)` for the algorithm in use (for `-sess`
    /// algorithms: the value *before* the nonce and cnonce are mixed in). Lets a
    /// server store no clear-text passwords.
    Ha1(&'a str),
}

impl fmt::Debug for UserSecret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserSecret::Password(_) => f.write_str("Password(<redacted>)"),
            UserSecret::Ha1(_) => f.write_str("Ha1(<redacted>)"),
        }
    }
}

/// Errors of Digest parsing, answering and retry bookkeeping.
///
/// Strings copied from the input into a variant are cut to a few dozen characters;
/// no variant ever carries a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The header value is empty or only whitespace.
    #[error("empty authentication header value")]
    Empty,
    /// The header value is longer than [`MAX_HEADER_LEN`].
    #[error("authentication header value is {len} bytes, the limit is {max}")]
    TooLong {
        /// Length of the value, in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The scheme is not `Digest` (e.g. `Basic`, `Bearer`).
    #[error("unsupported authentication scheme {scheme:?}")]
    UnsupportedScheme {
        /// The scheme found, cut to a few dozen characters.
        scheme: String,
    },
    /// The value does not follow the `auth-param` grammar.
    #[error("syntax error at byte {pos}: expected {expected}")]
    Syntax {
        /// Byte offset in the header value.
        pos: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// A quoted string is not closed.
    #[error("unterminated quoted string starting at byte {pos}")]
    UnterminatedQuote {
        /// Byte offset of the opening quote.
        pos: usize,
    },
    /// A control character (other than whitespace) appears in the value.
    #[error("control character at byte {pos}")]
    InvalidChar {
        /// Byte offset of the character.
        pos: usize,
    },
    /// More than [`MAX_PARAMS`] parameters.
    #[error("more than {max} parameters")]
    TooManyParams {
        /// The limit.
        max: usize,
    },
    /// A parameter appears twice (RFC 7616 §3.3 forbids it).
    #[error("parameter {name:?} appears more than once")]
    DuplicateParam {
        /// The parameter name, lower-cased and cut to a few dozen characters.
        name: String,
    },
    /// A required parameter is absent.
    #[error("missing required parameter {name}")]
    MissingParam {
        /// The parameter name.
        name: &'static str,
    },
    /// A parameter has a value that cannot be used.
    #[error("invalid value for parameter {name}: {reason}")]
    InvalidParam {
        /// The parameter name.
        name: &'static str,
        /// Why the value was refused.
        reason: &'static str,
    },
    /// The algorithm is not one this module can compute.
    #[error("unsupported digest algorithm {algorithm:?}")]
    UnsupportedAlgorithm {
        /// The algorithm token, cut to a few dozen characters.
        algorithm: String,
    },
    /// The challenge offers `qop` values, none of which is `auth` or `auth-int`.
    #[error("none of the offered qop values is supported")]
    UnsupportedQop,
    /// A `-sess` algorithm needs a cnonce, which only exists with `qop`.
    #[error("algorithm {algorithm} needs qop, and the challenge offers none")]
    SessionWithoutQop {
        /// The `-sess` algorithm.
        algorithm: Algorithm,
    },
    /// The nonce count for this nonce reached `u32::MAX`; a new challenge is needed.
    #[error("nonce count exhausted for realm {realm:?}")]
    NonceCountExhausted {
        /// The realm.
        realm: String,
    },
    /// The server rejected the credentials: it challenged again with the very
    /// nonce that was already answered, without `stale=true`.
    #[error("credentials rejected by realm {realm:?}")]
    Rejected {
        /// The realm.
        realm: String,
    },
    /// Too many challenges in a row for one request.
    #[error("gave up after {attempts} authentication attempts")]
    TooManyAttempts {
        /// How many challenges were answered.
        attempts: u32,
    },
}

/// Longest input excerpt copied into an [`AuthError`].
const MAX_ECHO: usize = 40;

/// `s` cut to at most [`MAX_ECHO`] bytes on a character boundary, for error messages.
pub(crate) fn echo(s: &str) -> String {
    if s.len() <= MAX_ECHO {
        return s.to_owned();
    }
    let mut end = MAX_ECHO;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_owned()
}
