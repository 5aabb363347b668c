//! Digest algorithms and qop values, and the hashing, HMAC and constant-time
//! comparison they need.

use std::fmt;

use sha2::Digest as _;

use super::echo;
use super::AuthError;

/// A Digest `algorithm` parameter value.
///
/// Parsing is case-insensitive; an absent parameter means [`Algorithm::Md5`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// `MD5` (RFC 2617, the SIP default).
    #[default]
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// Any other token, e.g. `SHA-512-256`, kept as received. Not computable here.
    Unknown(String),
}

impl Algorithm {
    /// Parses an algorithm token, case-insensitively.
    pub fn from_token(token: &str) -> Algorithm {
        if token.eq_ignore_ascii_case("MD5") {
            Algorithm::Md5
        } else if token.eq_ignore_ascii_case("MD5-sess") {
            Algorithm::Md5Sess
        } else if token.eq_ignore_ascii_case("SHA-256") {
            Algorithm::Sha256
        } else if token.eq_ignore_ascii_case("SHA-256-sess") {
            Algorithm::Sha256Sess
        } else {
            Algorithm::Unknown(token.to_owned())
        }
    }

    /// The canonical token (`Unknown` gives the token as received).
    pub fn as_str(&self) -> &str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Unknown(s) => s,
        }
    }

    /// Whether this is a `-sess` variant, whose HA1 mixes in the nonce and cnonce.
    pub fn is_session(&self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Whether this module can compute responses for this algorithm.
    pub fn is_supported(&self) -> bool {
        self.hash().is_ok()
    }

    /// The hash function, or [`AuthError::UnsupportedAlgorithm`].
    pub(crate) fn hash(&self) -> Result<HashKind, AuthError> {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => Ok(HashKind::Md5),
            Algorithm::Sha256 | Algorithm::Sha256Sess => Ok(HashKind::Sha256),
            Algorithm::Unknown(s) => Err(AuthError::UnsupportedAlgorithm { algorithm: echo(s) }),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Digest "quality of protection" value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Qop {
    /// `auth`: authentication only.
    Auth,
    /// `auth-int`: authentication with integrity protection of the body.
    AuthInt,
    /// Any other token, kept as received. Never chosen by the client.
    Unknown(String),
}

impl Qop {
    /// Parses a qop token, case-insensitively.
    pub fn from_token(token: &str) -> Qop {
        if token.eq_ignore_ascii_case("auth") {
            Qop::Auth
        } else if token.eq_ignore_ascii_case("auth-int") {
            Qop::AuthInt
        } else {
            Qop::Unknown(token.to_owned())
        }
    }

    /// The canonical token (`Unknown` gives the token as received).
    pub fn as_str(&self) -> &str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
            Qop::Unknown(s) => s,
        }
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The hash function behind an [`Algorithm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashKind {
    Md5,
    Sha256,
}

impl HashKind {
    /// Lower-case hex hash of `parts` joined with `:`, the `H(a:b:c)` of the RFCs.
    pub(crate) fn hex(self, parts: &[&[u8]]) -> String {
        match self {
            HashKind::Md5 => joined::<md5::Md5>(parts),
            HashKind::Sha256 => joined::<sha2::Sha256>(parts),
        }
    }
}

fn joined<D: sha2::Digest>(parts: &[&[u8]]) -> String {
    let mut hasher = D::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update(b":");
        }
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// HMAC-SHA-256 (RFC 2104), used to sign server nonces.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest = sha2::Sha256::digest(key);
        for (dst, src) in block_key.iter_mut().zip(digest.iter()) {
            *dst = *src;
        }
    } else {
        for (dst, src) in block_key.iter_mut().zip(key.iter()) {
            *dst = *src;
        }
    }
    let mut inner = sha2::Sha256::new();
    inner.update(block_key.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = sha2::Sha256::new();
    outer.update(block_key.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Equality whose running time does not depend on where `a` and `b` differ.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_tokens_are_case_insensitive_and_round_trip() {
        for (token, alg) in [
            ("md5", Algorithm::Md5),
            ("MD5-SESS", Algorithm::Md5Sess),
            ("sha-256", Algorithm::Sha256),
            ("Sha-256-Sess", Algorithm::Sha256Sess),
        ] {
            let parsed = Algorithm::from_token(token);
            assert_eq!(parsed, alg);
            assert_eq!(Algorithm::from_token(parsed.as_str()), alg);
            assert!(parsed.is_supported());
        }
        let unknown = Algorithm::from_token("SHA-512-256");
        assert_eq!(unknown, Algorithm::Unknown("SHA-512-256".into()));
        assert!(!unknown.is_supported());
        assert!(Algorithm::Sha256Sess.is_session() && !Algorithm::Sha256.is_session());
    }

    #[test]
    fn hashes_join_with_colons() {
        // md5("a:b") and sha256("a:b") computed with a separate tool (Python hashlib).
        assert_eq!(
            HashKind::Md5.hex(&[b"a", b"b"]),
            "d8160c9b3dc20d4e931aeb4f45262155"
        );
        assert_eq!(
            HashKind::Sha256.hex(&[b"a", b"b"]),
            "6783a31eabf68ccc0660f935c0826282bdd2241f3a80a9f2d10d59aea9ebb5d8"
        );
        assert_eq!(
            HashKind::Md5.hex(&[b""]),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            HashKind::Sha256.hex(&[b""]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hmac_matches_rfc4231() {
        // RFC 4231 test case 2.
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // RFC 4231 test case 6: a key longer than the block size.
        let tag = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex::encode(tag),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn ct_eq_compares() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(ct_eq(b"", b""));
    }
}
