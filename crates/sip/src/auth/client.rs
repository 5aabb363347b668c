//! The client side: choosing a challenge, answering it, and knowing when to give up.
//!
//! [`DigestClient`] lives as long as an account and keeps, per realm, the nonce
//! last answered, its nonce count and the cnonce, so that answering the same
//! challenge again (e.g. the next REGISTER refresh) counts up `nc`. [`AuthState`]
//! lives as long as one request and its authenticated retries, and says when a
//! new 401/407 means the credentials were refused.

use rand::RngCore;

use super::algorithm::{Algorithm, Qop};
use super::challenge::Challenge;
use super::credentials::Credentials;
use super::{echo, AuthError, UserSecret};

/// Realms remembered by one [`DigestClient`]; the oldest is forgotten beyond this.
const MAX_REALMS: usize = 16;
/// Random bytes in a client nonce (printed as twice as many hex digits).
const CNONCE_BYTES: usize = 16;

/// Picks the challenge to answer among those of one response (several
/// `WWW-Authenticate` / `Proxy-Authenticate` headers, RFC 8760 §2.4):
/// SHA-256 over MD5, plain over `-sess`, and the first one on a tie. Challenges
/// that cannot be answered (unknown algorithm, only unknown qop values, `-sess`
/// without qop) are skipped.
pub fn pick_challenge(challenges: &[Challenge]) -> Option<&Challenge> {
    let mut best: Option<(u8, &Challenge)> = None;
    for challenge in challenges {
        let Some(rank) = rank(challenge) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((best_rank, _)) => rank > best_rank,
        };
        if better {
            best = Some((rank, challenge));
        }
    }
    best.map(|(_, challenge)| challenge)
}

fn rank(challenge: &Challenge) -> Option<u8> {
    choose_qop(challenge).ok()?;
    Some(match challenge.algorithm {
        Algorithm::Sha256 => 4,
        Algorithm::Sha256Sess => 3,
        Algorithm::Md5 => 2,
        Algorithm::Md5Sess => 1,
        Algorithm::Unknown(_) => return None,
    })
}

/// The qop to answer with: `auth` when offered, else `auth-int`, `None` for the
/// legacy mode. Also rejects what cannot be answered at all.
fn choose_qop(challenge: &Challenge) -> Result<Option<Qop>, AuthError> {
    challenge.algorithm.hash()?;
    let qop = if challenge.qop.is_empty() {
        None
    } else if challenge.qop.contains(&Qop::Auth) {
        Some(Qop::Auth)
    } else if challenge.qop.contains(&Qop::AuthInt) {
        Some(Qop::AuthInt)
    } else {
        return Err(AuthError::UnsupportedQop);
    };
    if qop.is_none() && challenge.algorithm.is_session() {
        return Err(AuthError::SessionWithoutQop {
            algorithm: challenge.algorithm.clone(),
        });
    }
    Ok(qop)
}

/// Per-account Digest client state. Holds no password.
#[derive(Debug, Default)]
pub struct DigestClient {
    realms: Vec<RealmState>,
}

#[derive(Debug)]
struct RealmState {
    realm: String,
    nonce: String,
    cnonce: String,
    nc: u32,
}

impl DigestClient {
    /// A client with no remembered nonces.
    pub fn new() -> DigestClient {
        DigestClient::default()
    }

    /// Answers `challenge` for a request with `method`, request URI `uri` and
    /// `body` (hashed only for `auth-int`). Call it for each 401/407 received
    /// (after [`AuthState::on_challenge`]) and again to reuse a challenge for a
    /// later request: each call with the nonce last answered in that realm counts
    /// `nc` up; a new nonce (including after `stale=true`) restarts at 1 with a
    /// fresh cnonce.
    ///
    /// Answers with `qop=auth` when offered, `auth-int` when it is the only
    /// choice, and in RFC 2069 mode when the challenge has no qop.
    #[allow(clippy::too_many_arguments)] // the Digest inputs, each distinct
    pub fn respond(
        &mut self,
        challenge: &Challenge,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
        body: &[u8],
        rng: &mut impl RngCore,
    ) -> Result<Credentials, AuthError> {
        let qop = choose_qop(challenge)?;
        let (nc, cnonce) = self.next_count(challenge, rng)?;
        // Without qop there is no cnonce or nc on the wire (RFC 2069).
        let (nc, cnonce) = match qop {
            Some(_) => (nc, Some(cnonce)),
            None => (0, None),
        };
        let mut credentials = Credentials {
            username: username.to_owned(),
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            uri: uri.to_owned(),
            response: String::new(),
            algorithm: challenge.algorithm.clone(),
            cnonce,
            opaque: challenge.opaque.clone(),
            qop,
            nc,
        };
        credentials.response =
            credentials.compute_response(method, UserSecret::Password(password), body)?;
        Ok(credentials)
    }

    /// The nonce count last used in `realm`, if any.
    pub fn nonce_count(&self, realm: &str) -> Option<u32> {
        self.realms.iter().find(|r| r.realm == realm).map(|r| r.nc)
    }

    /// Forgets the nonce of `realm`, e.g. after the server refused the credentials.
    pub fn forget(&mut self, realm: &str) {
        self.realms.retain(|r| r.realm != realm);
    }

    /// Counts up on the same nonce, restarts on a new one; returns `(nc, cnonce)`.
    fn next_count(
        &mut self,
        challenge: &Challenge,
        rng: &mut impl RngCore,
    ) -> Result<(u32, String), AuthError> {
        if let Some(state) = self.realms.iter_mut().find(|r| r.realm == challenge.realm) {
            if state.nonce == challenge.nonce {
                state.nc =
                    state
                        .nc
                        .checked_add(1)
                        .ok_or_else(|| AuthError::NonceCountExhausted {
                            realm: echo(&challenge.realm),
                        })?;
            } else {
                state.nonce = challenge.nonce.clone();
                state.cnonce = new_cnonce(rng);
                state.nc = 1;
            }
            return Ok((state.nc, state.cnonce.clone()));
        }
        if self.realms.len() >= MAX_REALMS {
            self.realms.remove(0);
        }
        let cnonce = new_cnonce(rng);
        self.realms.push(RealmState {
            realm: challenge.realm.clone(),
            nonce: challenge.nonce.clone(),
            cnonce: cnonce.clone(),
            nc: 1,
        });
        Ok((1, cnonce))
    }
}

fn new_cnonce(rng: &mut impl RngCore) -> String {
    let mut bytes = [0u8; CNONCE_BYTES];
    rng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Retry bookkeeping for one request and its authenticated resends.
///
/// Feed it every challenge you are about to answer. It refuses when the server
/// sends back, without `stale=true`, a realm and nonce that was already answered
/// (the credentials were wrong), and after [`AuthState::max_attempts`] challenges
/// in all (a server that keeps issuing new nonces, or `stale=true` forever).
#[derive(Debug, Clone)]
pub struct AuthState {
    answered: Vec<Answered>,
    attempts: u32,
    max_attempts: u32,
}

#[derive(Debug, Clone)]
struct Answered {
    realm: String,
    nonce: String,
    times: u32,
}

impl Default for AuthState {
    fn default() -> Self {
        AuthState::new()
    }
}

impl AuthState {
    /// Default for [`AuthState::max_attempts`].
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

    /// Bookkeeping for a new request, allowing
    /// [`AuthState::DEFAULT_MAX_ATTEMPTS`] challenges.
    pub fn new() -> AuthState {
        AuthState::with_max_attempts(Self::DEFAULT_MAX_ATTEMPTS)
    }

    /// Bookkeeping allowing `max_attempts` challenges to be answered.
    pub fn with_max_attempts(max_attempts: u32) -> AuthState {
        AuthState {
            answered: Vec::new(),
            attempts: 0,
            max_attempts,
        }
    }

    /// How many challenges may be answered in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// How many challenges were accepted for answering so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// How many times this realm and nonce came back in a challenge.
    pub fn times_seen(&self, realm: &str, nonce: &str) -> u32 {
        self.answered
            .iter()
            .find(|a| a.realm == realm && a.nonce == nonce)
            .map_or(0, |a| a.times)
    }

    /// Call with the challenge of each 401/407 before answering it. `Ok` means
    /// answer it; an error means stop and report the failure.
    pub fn on_challenge(&mut self, challenge: &Challenge) -> Result<(), AuthError> {
        let seen = self
            .answered
            .iter()
            .position(|a| a.realm == challenge.realm && a.nonce == challenge.nonce);
        if let Some(answered) = seen.and_then(|i| self.answered.get_mut(i)) {
            answered.times = answered.times.saturating_add(1);
            if !challenge.stale {
                return Err(AuthError::Rejected {
                    realm: echo(&challenge.realm),
                });
            }
        }
        if self.attempts >= self.max_attempts {
            return Err(AuthError::TooManyAttempts {
                attempts: self.attempts,
            });
        }
        self.attempts += 1;
        if seen.is_none() {
            // Bounded by `max_attempts`: at most one entry per accepted challenge.
            self.answered.push(Answered {
                realm: challenge.realm.clone(),
                nonce: challenge.nonce.clone(),
                times: 1,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    fn challenge(alg: Algorithm, qop: &[Qop]) -> Challenge {
        let mut c = Challenge::new("realm", "nonce");
        c.algorithm = alg;
        c.qop = qop.to_vec();
        c
    }

    #[test]
    fn pick_prefers_sha256_and_skips_unknown() {
        let md5 = challenge(Algorithm::Md5, &[Qop::Auth]);
        let sha = challenge(Algorithm::Sha256, &[Qop::Auth]);
        let sha_sess = challenge(Algorithm::Sha256Sess, &[Qop::Auth]);
        let unknown = challenge(Algorithm::Unknown("SHA-512-256".into()), &[Qop::Auth]);
        let all = [unknown.clone(), md5.clone(), sha_sess.clone(), sha.clone()];
        assert_eq!(pick_challenge(&all), Some(&sha));
        let some = [md5.clone(), sha_sess.clone()];
        assert_eq!(pick_challenge(&some), Some(&sha_sess));
        assert_eq!(pick_challenge(&[unknown.clone(), md5.clone()]), Some(&md5));
        assert_eq!(pick_challenge(&[unknown]), None);
        assert_eq!(pick_challenge(&[]), None);
        let odd_qop = challenge(Algorithm::Sha256, &[Qop::Unknown("auth-conf".into())]);
        assert_eq!(pick_challenge(&[odd_qop, md5.clone()]), Some(&md5));
        let sess_no_qop = challenge(Algorithm::Sha256Sess, &[]);
        assert_eq!(pick_challenge(&[sess_no_qop, md5.clone()]), Some(&md5));
        // First one wins a tie.
        let mut other_md5 = md5.clone();
        other_md5.realm = "other".into();
        assert_eq!(pick_challenge(&[md5.clone(), other_md5]), Some(&md5));
    }

    #[test]
    fn qop_choice() {
        let mut client = DigestClient::new();
        let mut rng = StdRng::seed_from_u64(1);
        let mut answer = |qop: &[Qop]| {
            client.respond(
                &challenge(Algorithm::Md5, qop),
                "REGISTER",
                "sip:example.com",
                "alice",
                "secret",
                b"",
                &mut rng,
            )
        };
        assert_eq!(
            answer(&[Qop::AuthInt, Qop::Auth]).unwrap().qop,
            Some(Qop::Auth)
        );
        assert_eq!(answer(&[Qop::AuthInt]).unwrap().qop, Some(Qop::AuthInt));
        let legacy = answer(&[]).unwrap();
        assert_eq!((legacy.qop, legacy.cnonce), (None, None));
        assert_eq!(
            answer(&[Qop::Unknown("x".into())]),
            Err(AuthError::UnsupportedQop)
        );
    }

    #[test]
    fn nonce_count_increments_and_resets() {
        let mut client = DigestClient::new();
        let mut rng = StdRng::seed_from_u64(2);
        let mut c = challenge(Algorithm::Md5, &[Qop::Auth]);
        let first = client
            .respond(&c, "REGISTER", "sip:r", "u", "p", b"", &mut rng)
            .unwrap();
        let second = client
            .respond(&c, "REGISTER", "sip:r", "u", "p", b"", &mut rng)
            .unwrap();
        assert_eq!((first.nc, second.nc), (1, 2));
        assert_eq!(first.cnonce, second.cnonce);
        assert_ne!(first.response, second.response);
        assert_eq!(client.nonce_count("realm"), Some(2));
        c.nonce = "fresh".into();
        let third = client
            .respond(&c, "REGISTER", "sip:r", "u", "p", b"", &mut rng)
            .unwrap();
        assert_eq!(third.nc, 1);
        assert_ne!(third.cnonce, first.cnonce);
        assert_eq!(
            third.cnonce.as_ref().map(String::len),
            Some(2 * CNONCE_BYTES)
        );
        client.forget("realm");
        assert_eq!(client.nonce_count("realm"), None);
    }

    #[test]
    fn realm_table_is_bounded() {
        let mut client = DigestClient::new();
        let mut rng = StdRng::seed_from_u64(3);
        for i in 0..(MAX_REALMS + 5) {
            let mut c = challenge(Algorithm::Md5, &[Qop::Auth]);
            c.realm = format!("realm{i}");
            client
                .respond(&c, "INVITE", "sip:x", "u", "p", b"", &mut rng)
                .unwrap();
        }
        assert_eq!(client.realms.len(), MAX_REALMS);
        assert_eq!(client.nonce_count("realm0"), None);
        assert_eq!(
            client.nonce_count(&format!("realm{}", MAX_REALMS + 4)),
            Some(1)
        );
    }

    #[test]
    fn nonce_count_exhaustion_is_an_error() {
        let mut client = DigestClient::new();
        let mut rng = StdRng::seed_from_u64(4);
        let c = challenge(Algorithm::Md5, &[Qop::Auth]);
        client
            .respond(&c, "INVITE", "sip:x", "u", "p", b"", &mut rng)
            .unwrap();
        if let Some(state) = client.realms.first_mut() {
            state.nc = u32::MAX;
        }
        assert!(matches!(
            client.respond(&c, "INVITE", "sip:x", "u", "p", b"", &mut rng),
            Err(AuthError::NonceCountExhausted { .. })
        ));
    }

    #[test]
    fn respond_rejects_unanswerable_challenges() {
        let mut client = DigestClient::new();
        let mut rng = StdRng::seed_from_u64(5);
        let unknown = challenge(Algorithm::Unknown("SHA-512-256".into()), &[Qop::Auth]);
        assert!(matches!(
            client.respond(&unknown, "INVITE", "sip:x", "u", "p", b"", &mut rng),
            Err(AuthError::UnsupportedAlgorithm { .. })
        ));
        let sess = challenge(Algorithm::Md5Sess, &[]);
        assert_eq!(
            client.respond(&sess, "INVITE", "sip:x", "u", "p", b"", &mut rng),
            Err(AuthError::SessionWithoutQop {
                algorithm: Algorithm::Md5Sess
            })
        );
        // Refused challenges leave no state behind.
        assert!(client.realms.is_empty());
    }

    #[test]
    fn auth_state_gives_up_on_same_nonce_without_stale() {
        let mut state = AuthState::new();
        let c = challenge(Algorithm::Md5, &[Qop::Auth]);
        assert_eq!(state.on_challenge(&c), Ok(()));
        assert_eq!(
            state.on_challenge(&c),
            Err(AuthError::Rejected {
                realm: "realm".into()
            })
        );
        assert_eq!(state.times_seen("realm", "nonce"), 2);
        assert_eq!(state.attempts(), 1);
    }

    #[test]
    fn auth_state_allows_stale_and_new_nonces_up_to_the_limit() {
        let mut state = AuthState::with_max_attempts(3);
        let mut c = challenge(Algorithm::Md5, &[Qop::Auth]);
        assert_eq!(state.on_challenge(&c), Ok(()));
        c.nonce = "n2".into();
        c.stale = true;
        assert_eq!(state.on_challenge(&c), Ok(()));
        c.nonce = "n3".into();
        c.stale = false;
        assert_eq!(state.on_challenge(&c), Ok(()));
        c.nonce = "n4".into();
        assert_eq!(
            state.on_challenge(&c),
            Err(AuthError::TooManyAttempts { attempts: 3 })
        );
        // A stale challenge repeating its nonce is not a rejection, but it counts.
        let mut state = AuthState::with_max_attempts(2);
        c.stale = true;
        assert_eq!(state.on_challenge(&c), Ok(()));
        assert_eq!(state.on_challenge(&c), Ok(()));
        assert!(state.on_challenge(&c).is_err());
    }
}
