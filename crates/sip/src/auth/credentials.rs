//! Digest credentials: the value of `Authorization` / `Proxy-Authorization`
//! (RFC 7616 §3.4, RFC 3261 §22.2), and the response computation both sides share.

use std::fmt;
use std::str::FromStr;

use super::algorithm::{Algorithm, Qop};
use super::params::{self, write_quoted, write_token};
use super::{AuthError, UserSecret};

/// Parsed or computed Digest credentials.
///
/// `Display` prints the header value, e.g.
/// `Digest username="bob",realm="biloxi.com",nonce="...",uri="sip:bob@biloxi.com",response="...",algorithm=MD5,cnonce="...",qop=auth,nc=00000001`.
/// `cnonce`, `qop` and `nc` are printed only when `qop` is set (RFC 2069 mode has
/// none of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The realm of the challenge being answered.
    pub realm: String,
    /// The nonce of the challenge being answered.
    pub nonce: String,
    /// The request URI (`digest-uri`).
    pub uri: String,
    /// The lower-case hex response digest.
    pub response: String,
    /// The algorithm of the challenge being answered.
    pub algorithm: Algorithm,
    /// The client nonce; present with `qop`.
    pub cnonce: Option<String>,
    /// The challenge's `opaque`, returned unchanged.
    pub opaque: Option<String>,
    /// The chosen qop; `None` in RFC 2069 mode.
    pub qop: Option<Qop>,
    /// The nonce count (printed as 8 hex digits); meaningful only with `qop`.
    pub nc: u32,
}

impl Credentials {
    /// Parses a credentials header value (server side).
    ///
    /// `username`, `realm`, `nonce`, `uri` and `response` are required, and
    /// `cnonce` and `nc` (exactly 8 hex digits) are required when `qop` is
    /// present. Unknown parameters are ignored.
    pub fn parse(value: &str) -> Result<Credentials, AuthError> {
        let params = params::parse_digest(value)?;
        let get = |name| params::find(&params, name);
        let required = |name: &'static str| {
            get(name)
                .map(str::to_owned)
                .ok_or(AuthError::MissingParam { name })
        };
        let username = required("username")?;
        let realm = required("realm")?;
        let nonce = required("nonce")?;
        let uri = required("uri")?;
        let response = required("response")?;
        let algorithm = get("algorithm")
            .map(|a| Algorithm::from_token(a.trim()))
            .unwrap_or_default();
        let qop = get("qop").map(|q| Qop::from_token(q.trim()));
        let cnonce = get("cnonce").map(str::to_owned);
        let nc = match (&qop, get("nc")) {
            (_, Some(nc)) => parse_nc(nc.trim())?,
            (Some(_), None) => return Err(AuthError::MissingParam { name: "nc" }),
            (None, None) => 0,
        };
        if qop.is_some() && cnonce.is_none() {
            return Err(AuthError::MissingParam { name: "cnonce" });
        }
        Ok(Credentials {
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            cnonce,
            opaque: get("opaque").map(str::to_owned),
            qop,
            nc,
        })
    }

    /// Computes the response digest these credentials should carry for a
    /// request with `method` and `body` (RFC 7616 §3.4.1–3.4.3, RFC 2069 when
    /// `qop` is `None`). The body is hashed only for `auth-int`.
    pub fn compute_response(
        &self,
        method: &str,
        secret: UserSecret<'_>,
        body: &[u8],
    ) -> Result<String, AuthError> {
        let hash = self.algorithm.hash()?;
        let mut ha1 = match secret {
            UserSecret::Password(password) => hash.hex(&[
                self.username.as_bytes(),
                self.realm.as_bytes(),
                password.as_bytes(),
            ]),
            UserSecret::Ha1(ha1) => ha1.to_ascii_lowercase(),
        };
        if self.algorithm.is_session() {
            let cnonce = self
                .cnonce
                .as_deref()
                .ok_or(AuthError::MissingParam { name: "cnonce" })?;
            ha1 = hash.hex(&[ha1.as_bytes(), self.nonce.as_bytes(), cnonce.as_bytes()]);
        }
        let ha2 = match &self.qop {
            Some(Qop::AuthInt) => {
                let body_hash = hash.hex(&[body]);
                hash.hex(&[method.as_bytes(), self.uri.as_bytes(), body_hash.as_bytes()])
            }
            Some(Qop::Auth) | None => hash.hex(&[method.as_bytes(), self.uri.as_bytes()]),
            Some(Qop::Unknown(_)) => {
                return Err(AuthError::InvalidParam {
                    name: "qop",
                    reason: "not auth or auth-int",
                })
            }
        };
        Ok(match &self.qop {
            Some(qop) => {
                let cnonce = self
                    .cnonce
                    .as_deref()
                    .ok_or(AuthError::MissingParam { name: "cnonce" })?;
                let nc = format!("{:08x}", self.nc);
                hash.hex(&[
                    ha1.as_bytes(),
                    self.nonce.as_bytes(),
                    nc.as_bytes(),
                    cnonce.as_bytes(),
                    qop.as_str().as_bytes(),
                    ha2.as_bytes(),
                ])
            }
            None => hash.hex(&[ha1.as_bytes(), self.nonce.as_bytes(), ha2.as_bytes()]),
        })
    }
}

/// `nc` is exactly 8 hex digits (RFC 7616 §3.4); the digits are hashed as printed,
/// so anything else could never verify.
fn parse_nc(nc: &str) -> Result<u32, AuthError> {
    const INVALID: AuthError = AuthError::InvalidParam {
        name: "nc",
        reason: "not 8 hex digits",
    };
    if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(INVALID);
    }
    u32::from_str_radix(nc, 16).map_err(|_| INVALID)
}

impl FromStr for Credentials {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Credentials::parse(s)
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest username=")?;
        write_quoted(f, &self.username)?;
        f.write_str(",realm=")?;
        write_quoted(f, &self.realm)?;
        f.write_str(",nonce=")?;
        write_quoted(f, &self.nonce)?;
        f.write_str(",uri=")?;
        write_quoted(f, &self.uri)?;
        f.write_str(",response=")?;
        write_quoted(f, &self.response)?;
        f.write_str(",algorithm=")?;
        write_token(f, self.algorithm.as_str())?;
        if self.qop.is_some() {
            f.write_str(",cnonce=")?;
            write_quoted(f, self.cnonce.as_deref().unwrap_or_default())?;
        }
        if let Some(opaque) = &self.opaque {
            f.write_str(",opaque=")?;
            write_quoted(f, opaque)?;
        }
        if let Some(qop) = &self.qop {
            f.write_str(",qop=")?;
            write_token(f, qop.as_str())?;
            write!(f, ",nc={:08x}", self.nc)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC2617: &str = r#"Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

    #[test]
    fn parses_rfc2617_example() {
        let c = Credentials::parse(RFC2617).unwrap();
        assert_eq!(c.username, "Mufasa");
        assert_eq!(c.realm, "testrealm@host.com");
        assert_eq!(c.uri, "/dir/index.html");
        assert_eq!(c.qop, Some(Qop::Auth));
        assert_eq!(c.nc, 1);
        assert_eq!(c.cnonce.as_deref(), Some("0a4f113b"));
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert_eq!(
            c.compute_response("GET", UserSecret::Password("Circle Of Life"), b"")
                .unwrap(),
            "6629fae49393a05397450978507c4ef1"
        );
    }

    #[test]
    fn display_round_trips_with_unquoted_qop_and_hex_nc() {
        let mut c = Credentials::parse(RFC2617).unwrap();
        c.nc = 0x1a;
        let printed = c.to_string();
        assert_eq!(
            printed,
            "Digest username=\"Mufasa\",realm=\"testrealm@host.com\",\
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",uri=\"/dir/index.html\",\
             response=\"6629fae49393a05397450978507c4ef1\",algorithm=MD5,cnonce=\"0a4f113b\",\
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\",qop=auth,nc=0000001a"
        );
        assert_eq!(Credentials::parse(&printed).unwrap(), c);
    }

    #[test]
    fn legacy_mode_prints_no_qop_fields() {
        let c = Credentials {
            username: "u".into(),
            realm: "r".into(),
            nonce: "n".into(),
            uri: "sip:r".into(),
            response: "00".into(),
            algorithm: Algorithm::Md5,
            cnonce: None,
            opaque: None,
            qop: None,
            nc: 0,
        };
        let printed = c.to_string();
        assert_eq!(
            printed,
            "Digest username=\"u\",realm=\"r\",nonce=\"n\",uri=\"sip:r\",response=\"00\",algorithm=MD5"
        );
        assert_eq!(Credentials::parse(&printed).unwrap(), c);
    }

    #[test]
    fn rejects_incomplete_credentials() {
        let base = r#"Digest username="u",realm="r",nonce="n",uri="sip:r",response="00""#;
        assert!(Credentials::parse(base).is_ok());
        for missing in ["username", "realm", "nonce", "uri", "response"] {
            let value = base.replace(&format!("{missing}="), "x-other=");
            assert_eq!(
                Credentials::parse(&value),
                Err(AuthError::MissingParam {
                    name: match missing {
                        "username" => "username",
                        "realm" => "realm",
                        "nonce" => "nonce",
                        "uri" => "uri",
                        _ => "response",
                    }
                }),
                "{value}"
            );
        }
        assert_eq!(
            Credentials::parse(&format!("{base},qop=auth,cnonce=\"c\"")),
            Err(AuthError::MissingParam { name: "nc" })
        );
        assert_eq!(
            Credentials::parse(&format!("{base},qop=auth,nc=00000001")),
            Err(AuthError::MissingParam { name: "cnonce" })
        );
        for bad_nc in ["1", "000000001", "0000000g", "+0000001", ""] {
            assert!(
                Credentials::parse(&format!("{base},qop=auth,cnonce=c,nc=\"{bad_nc}\"")).is_err(),
                "{bad_nc}"
            );
        }
        assert_eq!(
            Credentials::parse("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            Err(AuthError::UnsupportedScheme {
                scheme: "Basic".into()
            })
        );
    }

    #[test]
    fn compute_refuses_what_it_cannot_compute() {
        let mut c = Credentials::parse(RFC2617).unwrap();
        c.qop = Some(Qop::Unknown("auth-conf".into()));
        assert!(matches!(
            c.compute_response("GET", UserSecret::Password("p"), b""),
            Err(AuthError::InvalidParam { name: "qop", .. })
        ));
        c.qop = Some(Qop::Auth);
        c.algorithm = Algorithm::Unknown("SHA-512-256".into());
        assert!(matches!(
            c.compute_response("GET", UserSecret::Password("p"), b""),
            Err(AuthError::UnsupportedAlgorithm { .. })
        ));
        c.algorithm = Algorithm::Md5Sess;
        c.cnonce = None;
        assert_eq!(
            c.compute_response("GET", UserSecret::Password("p"), b""),
            Err(AuthError::MissingParam { name: "cnonce" })
        );
    }

    #[test]
    fn ha1_secret_gives_the_same_response_as_the_password() {
        let c = Credentials::parse(RFC2617).unwrap();
        // HA1 = MD5("Mufasa:testrealm@host.com:Circle Of Life"), upper-cased on purpose.
        let ha1 = "939E7578ED9E3C518A452ACEE763BCE9";
        assert_eq!(
            c.compute_response("GET", UserSecret::Ha1(ha1), b"")
                .unwrap(),
            "6629fae49393a05397450978507c4ef1"
        );
    }
}
