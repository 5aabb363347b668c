//! A Digest challenge: the value of `WWW-Authenticate` / `Proxy-Authenticate`
//! (RFC 7616 §3.3, RFC 3261 §22.1, RFC 8760).

use std::fmt;
use std::str::FromStr;

use super::algorithm::{Algorithm, Qop};
use super::params::{self, write_quoted, write_token};
use super::AuthError;

/// A parsed Digest challenge. The scheme is always `Digest`: other schemes fail
/// to parse with [`AuthError::UnsupportedScheme`].
///
/// `Display` prints a header value that [`Challenge::parse`] reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection space, shown to users and part of HA1.
    pub realm: String,
    /// The server nonce.
    pub nonce: String,
    /// Opaque data the client returns unchanged.
    pub opaque: Option<String>,
    /// The hash algorithm; [`Algorithm::Md5`] when the parameter is absent.
    pub algorithm: Algorithm,
    /// The offered qop values, in the server's order. Empty means the legacy
    /// RFC 2069 mode without qop, cnonce and nonce count.
    pub qop: Vec<Qop>,
    /// `stale=true`: the previous credentials were right but their nonce expired;
    /// retry with the new nonce without asking the user again.
    pub stale: bool,
    /// The `domain` parameter (space-separated URIs), as received.
    pub domain: Option<String>,
    /// `userhash=true` (RFC 7616 §3.4.4). Parsed for completeness; the client
    /// always sends the clear username, which servers must accept.
    pub userhash: bool,
}

impl Challenge {
    /// A challenge with the given realm and nonce, algorithm MD5, `qop=auth`.
    pub fn new(realm: impl Into<String>, nonce: impl Into<String>) -> Challenge {
        Challenge {
            realm: realm.into(),
            nonce: nonce.into(),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop: vec![Qop::Auth],
            stale: false,
            domain: None,
            userhash: false,
        }
    }

    /// Parses a challenge header value such as
    /// `Digest realm="atlanta.com", nonce="84a4cc6f", algorithm=MD5, qop="auth"`.
    ///
    /// Unknown parameters are ignored; `realm` and `nonce` are required.
    pub fn parse(value: &str) -> Result<Challenge, AuthError> {
        let params = params::parse_digest(value)?;
        let get = |name| params::find(&params, name);
        let realm = get("realm").ok_or(AuthError::MissingParam { name: "realm" })?;
        let nonce = get("nonce").ok_or(AuthError::MissingParam { name: "nonce" })?;
        Ok(Challenge {
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            opaque: get("opaque").map(str::to_owned),
            algorithm: get("algorithm")
                .map(|a| Algorithm::from_token(a.trim()))
                .unwrap_or_default(),
            qop: get("qop").map(parse_qop_list).unwrap_or_default(),
            stale: get("stale").is_some_and(|s| s.trim().eq_ignore_ascii_case("true")),
            domain: get("domain").map(str::to_owned),
            userhash: get("userhash").is_some_and(|s| s.trim().eq_ignore_ascii_case("true")),
        })
    }
}

/// `"auth, auth-int"` to its values; empty elements are skipped.
fn parse_qop_list(list: &str) -> Vec<Qop> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Qop::from_token)
        .collect()
}

impl FromStr for Challenge {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Challenge::parse(s)
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest realm=")?;
        write_quoted(f, &self.realm)?;
        f.write_str(",nonce=")?;
        write_quoted(f, &self.nonce)?;
        if let Some(opaque) = &self.opaque {
            f.write_str(",opaque=")?;
            write_quoted(f, opaque)?;
        }
        f.write_str(",algorithm=")?;
        write_token(f, self.algorithm.as_str())?;
        if !self.qop.is_empty() {
            // The list is a quoted string in challenges (RFC 7616 §3.3).
            let list: Vec<&str> = self.qop.iter().map(Qop::as_str).collect();
            f.write_str(",qop=")?;
            write_quoted(f, &list.join(","))?;
        }
        if self.stale {
            f.write_str(",stale=true")?;
        }
        if let Some(domain) = &self.domain {
            f.write_str(",domain=")?;
            write_quoted(f, domain)?;
        }
        if self.userhash {
            f.write_str(",userhash=true")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3261_example() {
        let c = Challenge::parse(
            "Digest realm=\"atlanta.com\",\r\n domain=\"sip:boxesbybob.com\", qop=\"auth\",\r\n \
             nonce=\"f84f1cec41e6cbe5aea9c8e88d359\",\r\n opaque=\"\", stale=FALSE, algorithm=MD5",
        )
        .unwrap();
        assert_eq!(c.realm, "atlanta.com");
        assert_eq!(c.nonce, "f84f1cec41e6cbe5aea9c8e88d359");
        assert_eq!(c.domain.as_deref(), Some("sip:boxesbybob.com"));
        assert_eq!(c.opaque.as_deref(), Some(""));
        assert_eq!(c.qop, [Qop::Auth]);
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert!(!c.stale);
    }

    #[test]
    fn parses_tolerant_variants() {
        let c =
            Challenge::parse(r#"Digest realm="a", nonce="b",algorithm=MD5,qop="auth,auth-int""#)
                .unwrap();
        assert_eq!((c.realm.as_str(), c.nonce.as_str()), ("a", "b"));
        assert_eq!(c.qop, [Qop::Auth, Qop::AuthInt]);

        let c = Challenge::parse(
            "digest   REALM = a ,NONCE=b , Algorithm=\"sha-256\", QOP=\" Auth-Int , , x \", \
             STALE=\"TRUE\", userhash=true, foo=\"bar, baz\", charset=UTF-8",
        )
        .unwrap();
        assert_eq!(c.realm, "a");
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.qop, [Qop::AuthInt, Qop::Unknown("x".into())]);
        assert!(c.stale && c.userhash);

        let c = Challenge::parse("Digest realm=a,nonce=b").unwrap();
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert!(c.qop.is_empty());
        assert!(c.opaque.is_none());

        let c = Challenge::parse("Digest realm=a,nonce=b,algorithm=SHA-512-256").unwrap();
        assert_eq!(c.algorithm, Algorithm::Unknown("SHA-512-256".into()));
    }

    #[test]
    fn requires_realm_and_nonce() {
        assert_eq!(
            Challenge::parse("Digest nonce=\"b\""),
            Err(AuthError::MissingParam { name: "realm" })
        );
        assert_eq!(
            Challenge::parse("Digest realm=\"a\""),
            Err(AuthError::MissingParam { name: "nonce" })
        );
        assert_eq!(
            Challenge::parse("Digest"),
            Err(AuthError::MissingParam { name: "realm" })
        );
    }

    #[test]
    fn other_schemes_are_structured_errors() {
        for (value, scheme) in [
            ("Basic realm=\"x\"", "Basic"),
            ("Bearer", "Bearer"),
            ("Negotiate abc==", "Negotiate"),
        ] {
            assert_eq!(
                Challenge::parse(value),
                Err(AuthError::UnsupportedScheme {
                    scheme: scheme.into()
                })
            );
        }
    }

    #[test]
    fn display_round_trips() {
        let mut c = Challenge::new("realm \"with\" quotes", "n/+=");
        c.opaque = Some("op".into());
        c.algorithm = Algorithm::Sha256Sess;
        c.qop = vec![Qop::Auth, Qop::AuthInt];
        c.stale = true;
        c.domain = Some("sip:a.example sip:b.example".into());
        c.userhash = true;
        let printed = c.to_string();
        assert_eq!(
            printed,
            "Digest realm=\"realm \\\"with\\\" quotes\",nonce=\"n/+=\",opaque=\"op\",\
             algorithm=SHA-256-sess,qop=\"auth,auth-int\",stale=true,\
             domain=\"sip:a.example sip:b.example\",userhash=true"
        );
        assert_eq!(printed.parse::<Challenge>().unwrap(), c);

        let plain = Challenge::new("r", "n");
        assert_eq!(
            plain.to_string(),
            "Digest realm=\"r\",nonce=\"n\",algorithm=MD5,qop=\"auth\""
        );
        assert_eq!(Challenge::parse(&plain.to_string()).unwrap(), plain);
    }
}
