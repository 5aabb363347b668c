//! The server side: issuing challenges and verifying credentials.
//!
//! Nonces need no storage: each one carries its issue time and a random salt,
//! signed with HMAC-SHA-256 under a server secret together with the realm and the
//! algorithm. A nonce that verifies but is older than the TTL is reported as
//! [`Verification::Stale`]. Replays are caught by remembering the highest `nc`
//! accepted per nonce, in a table of bounded size.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use rand::RngCore;

use super::algorithm::{ct_eq, hmac_sha256, Algorithm, Qop};
use super::challenge::Challenge;
use super::credentials::Credentials;
use super::UserSecret;

/// Hex digits of the issue time, salt and tag in a nonce.
const TIME_HEX: usize = 16;
const SALT_BYTES: usize = 8;
const TAG_BYTES: usize = 16;
const NONCE_LEN: usize = TIME_HEX + 2 * SALT_BYTES + 2 * TAG_BYTES;
/// A nonce issued this far in the future (the clock went back) is treated as stale.
const MAX_FUTURE_SECS: u64 = 60;

/// The outcome of [`DigestServer::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verification {
    /// The credentials are valid: serve the request.
    Ok,
    /// The response is right but the nonce expired (or was forgotten by the replay
    /// table): challenge again with [`Challenge::stale`] set, so the client retries
    /// without failing.
    Stale,
    /// The response digest is wrong: wrong password, user, URI or method.
    BadResponse,
    /// The nonce was not issued by this server for this realm and algorithm, or
    /// was tampered with.
    BadNonce,
    /// The nonce count is not above one already accepted for this nonce.
    Replay,
    /// The qop used is not one this server offers (including answering without
    /// qop when qop is offered, which would bypass replay protection).
    QopNotOffered,
    /// The algorithm is not one this module can compute.
    UnsupportedAlgorithm,
}

/// Issues challenges and verifies credentials. Holds the nonce secret and the
/// replay table; `Debug` does not show the secret.
pub struct DigestServer {
    secret: [u8; 32],
    qop: Vec<Qop>,
    nonce_ttl_secs: u64,
    replay: ReplayWindow,
}

impl fmt::Debug for DigestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestServer")
            .field("secret", &"<redacted>")
            .field("qop", &self.qop)
            .field("nonce_ttl_secs", &self.nonce_ttl_secs)
            .field("replay", &self.replay)
            .finish()
    }
}

impl DigestServer {
    /// Default nonce lifetime, in seconds.
    pub const DEFAULT_NONCE_TTL_SECS: u64 = 300;
    /// Default number of nonces whose nonce count is remembered.
    pub const DEFAULT_REPLAY_CAPACITY: usize = 4096;

    /// A server signing nonces with `secret`. Use a random secret per process
    /// (nonces then die with it) or a configured one shared by several nodes.
    /// Offers `qop=auth` by default.
    pub fn new(secret: [u8; 32]) -> DigestServer {
        DigestServer {
            secret,
            qop: vec![Qop::Auth],
            nonce_ttl_secs: Self::DEFAULT_NONCE_TTL_SECS,
            replay: ReplayWindow::new(Self::DEFAULT_REPLAY_CAPACITY),
        }
    }

    /// A server with a secret drawn from `rng`.
    pub fn from_rng(rng: &mut impl RngCore) -> DigestServer {
        let mut secret = [0u8; 32];
        rng.fill_bytes(&mut secret);
        DigestServer::new(secret)
    }

    /// Sets how long a nonce is accepted after it was issued.
    pub fn with_nonce_ttl(mut self, secs: u64) -> DigestServer {
        self.nonce_ttl_secs = secs;
        self
    }

    /// Sets the qop values offered. An empty list is the legacy RFC 2069 mode,
    /// which has no nonce count and so no replay protection within the TTL.
    pub fn with_qop(mut self, qop: Vec<Qop>) -> DigestServer {
        self.qop = qop;
        self
    }

    /// Sets how many nonces have their highest nonce count remembered (at least 1).
    pub fn with_replay_capacity(mut self, capacity: usize) -> DigestServer {
        self.replay = ReplayWindow::new(capacity);
        self
    }

    /// A fresh challenge for `realm` with `algorithm`, issued at `now_secs`
    /// (seconds on any clock that does not go back; Unix time suits several
    /// nodes). After [`Verification::Stale`], set `stale` on it before sending.
    pub fn challenge(
        &self,
        realm: &str,
        algorithm: Algorithm,
        rng: &mut impl RngCore,
        now_secs: u64,
    ) -> Challenge {
        let mut salt = [0u8; SALT_BYTES];
        rng.fill_bytes(&mut salt);
        let head = format!("{now_secs:016x}{}", hex::encode(salt));
        let tag = self.tag(&head, realm, &algorithm);
        Challenge {
            realm: realm.to_owned(),
            nonce: format!("{head}{tag}"),
            opaque: None,
            algorithm,
            qop: self.qop.clone(),
            stale: false,
            domain: None,
            userhash: false,
        }
    }

    /// Verifies `creds` received on a request with `method` and `body` (hashed
    /// only for `auth-int`), against the user's `secret` looked up by
    /// `creds.username` and `creds.realm`.
    ///
    /// The caller should also check that `creds.uri` names the request URI.
    /// On [`Verification::Ok`] with qop, the nonce count is recorded so the same
    /// credentials are refused as [`Verification::Replay`] next time.
    pub fn verify(
        &mut self,
        creds: &Credentials,
        method: &str,
        secret: UserSecret<'_>,
        body: &[u8],
        now_secs: u64,
    ) -> Verification {
        if !creds.algorithm.is_supported() {
            return Verification::UnsupportedAlgorithm;
        }
        let Some(issued) = self.issue_time(&creds.nonce, &creds.realm, &creds.algorithm) else {
            return Verification::BadNonce;
        };
        let qop_ok = match &creds.qop {
            None => self.qop.is_empty(),
            Some(qop) => self.qop.contains(qop),
        };
        if !qop_ok {
            return Verification::QopNotOffered;
        }
        let Ok(expected) = creds.compute_response(method, secret, body) else {
            return Verification::BadResponse;
        };
        if !ct_eq(
            expected.as_bytes(),
            creds.response.to_ascii_lowercase().as_bytes(),
        ) {
            return Verification::BadResponse;
        }
        // Only now: `stale` tells the client its password was right (RFC 7616 §3.3).
        let expired = now_secs > issued.saturating_add(self.nonce_ttl_secs);
        if expired || issued > now_secs.saturating_add(MAX_FUTURE_SECS) {
            return Verification::Stale;
        }
        if creds.qop.is_none() {
            return Verification::Ok;
        }
        let expiry = now_secs.saturating_sub(self.nonce_ttl_secs);
        match self.replay.record(&creds.nonce, issued, creds.nc, expiry) {
            Seen::Fresh => Verification::Ok,
            Seen::Replay => Verification::Replay,
            Seen::Forgotten => Verification::Stale,
        }
    }

    /// The hex tag binding a nonce head to this server, realm and algorithm.
    fn tag(&self, head: &str, realm: &str, algorithm: &Algorithm) -> String {
        let message = [
            head.as_bytes(),
            realm.as_bytes(),
            algorithm.as_str().as_bytes(),
        ]
        .join(&0u8);
        let mac = hmac_sha256(&self.secret, &message);
        hex::encode(mac.get(..TAG_BYTES).unwrap_or_default())
    }

    /// The issue time of a nonce this server signed for `realm` and `algorithm`.
    fn issue_time(&self, nonce: &str, realm: &str, algorithm: &Algorithm) -> Option<u64> {
        if nonce.len() != NONCE_LEN {
            return None;
        }
        let head = nonce.get(..TIME_HEX + 2 * SALT_BYTES)?;
        let tag = nonce.get(TIME_HEX + 2 * SALT_BYTES..)?;
        let expected = self.tag(head, realm, algorithm);
        if !ct_eq(expected.as_bytes(), tag.as_bytes()) {
            return None;
        }
        u64::from_str_radix(head.get(..TIME_HEX)?, 16).ok()
    }

    #[cfg(test)]
    pub(crate) fn tracked_nonces(&self) -> usize {
        self.replay.highest.len()
    }
}

/// What the replay table says about a nonce count.
enum Seen {
    Fresh,
    Replay,
    /// Not in the table, and possibly evicted from it: cannot tell.
    Forgotten,
}

/// Highest accepted nonce count per nonce, for at most `capacity` nonces.
///
/// Evicting a nonce would let its counts be replayed, so the table remembers the
/// newest issue time it evicted and treats unknown nonces issued no later than
/// that as [`Seen::Forgotten`] (the client is sent a fresh nonce).
#[derive(Debug)]
struct ReplayWindow {
    capacity: usize,
    highest: HashMap<String, u32>,
    /// Nonces in first-use order, with their issue times.
    order: VecDeque<(String, u64)>,
    forgotten_up_to: Option<u64>,
}

impl ReplayWindow {
    fn new(capacity: usize) -> ReplayWindow {
        ReplayWindow {
            capacity: capacity.max(1),
            highest: HashMap::new(),
            order: VecDeque::new(),
            forgotten_up_to: None,
        }
    }

    /// Records `nc` for `nonce` if it is above every count accepted before.
    /// Entries issued before `expiry` may be dropped: their nonces are reported
    /// stale before the table is consulted.
    fn record(&mut self, nonce: &str, issued: u64, nc: u32, expiry: u64) -> Seen {
        if let Some(highest) = self.highest.get_mut(nonce) {
            if nc > *highest {
                *highest = nc;
                return Seen::Fresh;
            }
            return Seen::Replay;
        }
        if self.forgotten_up_to.is_some_and(|t| issued <= t) {
            return Seen::Forgotten;
        }
        if nc == 0 {
            return Seen::Replay;
        }
        while let Some((_, front_issued)) = self.order.front() {
            let expired = *front_issued < expiry;
            if !expired && self.highest.len() < self.capacity {
                break;
            }
            if let Some((old, old_issued)) = self.order.pop_front() {
                self.highest.remove(&old);
                if !expired {
                    self.forgotten_up_to = Some(
                        self.forgotten_up_to
                            .map_or(old_issued, |t| t.max(old_issued)),
                    );
                }
            }
        }
        self.highest.insert(nonce.to_owned(), nc);
        self.order.push_back((nonce.to_owned(), issued));
        Seen::Fresh
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::auth::DigestClient;

    const NOW: u64 = 1_700_000_000;

    fn answer(challenge: &Challenge, password: &str, client: &mut DigestClient) -> Credentials {
        let mut rng = StdRng::seed_from_u64(7);
        client
            .respond(
                challenge,
                "REGISTER",
                "sip:example.com",
                "alice",
                password,
                b"",
                &mut rng,
            )
            .unwrap()
    }

    fn setup() -> (DigestServer, Challenge, DigestClient) {
        let mut rng = StdRng::seed_from_u64(6);
        let server = DigestServer::from_rng(&mut rng);
        let challenge = server.challenge("example.com", Algorithm::Md5, &mut rng, NOW);
        (server, challenge, DigestClient::new())
    }

    fn verify(server: &mut DigestServer, creds: &Credentials, now: u64) -> Verification {
        server.verify(creds, "REGISTER", UserSecret::Password("secret"), b"", now)
    }

    #[test]
    fn nonces_are_unique_and_well_formed() {
        let mut rng = StdRng::seed_from_u64(1);
        let server = DigestServer::new([3; 32]);
        let a = server.challenge("r", Algorithm::Md5, &mut rng, NOW);
        let b = server.challenge("r", Algorithm::Md5, &mut rng, NOW);
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(a.nonce.len(), NONCE_LEN);
        assert_eq!(server.issue_time(&a.nonce, "r", &Algorithm::Md5), Some(NOW));
        assert_eq!(a.qop, [Qop::Auth]);
        assert!(!format!("{server:?}").contains("[3, 3"));
    }

    #[test]
    fn accepts_then_refuses_replay() {
        let (mut server, challenge, mut client) = setup();
        let first = answer(&challenge, "secret", &mut client);
        assert_eq!(verify(&mut server, &first, NOW + 1), Verification::Ok);
        assert_eq!(verify(&mut server, &first, NOW + 2), Verification::Replay);
        let second = answer(&challenge, "secret", &mut client);
        assert_eq!(second.nc, 2);
        assert_eq!(verify(&mut server, &second, NOW + 3), Verification::Ok);
        assert_eq!(verify(&mut server, &first, NOW + 4), Verification::Replay);
    }

    #[test]
    fn wrong_password_is_bad_response_and_not_recorded() {
        let (mut server, challenge, mut client) = setup();
        let wrong = answer(&challenge, "guess", &mut client);
        assert_eq!(verify(&mut server, &wrong, NOW), Verification::BadResponse);
        assert_eq!(server.tracked_nonces(), 0);
        let mut right = wrong.clone();
        right.response = right
            .compute_response("REGISTER", UserSecret::Password("secret"), b"")
            .unwrap();
        assert_eq!(verify(&mut server, &right, NOW), Verification::Ok);
        // The method and the URI are covered too.
        let mut other_uri = right.clone();
        other_uri.uri = "sip:evil.example".into();
        assert_eq!(
            verify(&mut server, &other_uri, NOW),
            Verification::BadResponse
        );
        assert_eq!(
            server.verify(&right, "INVITE", UserSecret::Password("secret"), b"", NOW),
            Verification::BadResponse
        );
    }

    #[test]
    fn expired_nonce_is_stale_only_with_the_right_password() {
        let (mut server, challenge, mut client) = setup();
        let creds = answer(&challenge, "secret", &mut client);
        let late = NOW + DigestServer::DEFAULT_NONCE_TTL_SECS + 1;
        assert_eq!(verify(&mut server, &creds, late), Verification::Stale);
        let wrong = answer(&challenge, "guess", &mut DigestClient::new());
        assert_eq!(verify(&mut server, &wrong, late), Verification::BadResponse);
        // At the edge of the TTL it is still valid; from the future it is stale.
        let edge = NOW + DigestServer::DEFAULT_NONCE_TTL_SECS;
        assert_eq!(verify(&mut server, &creds, edge), Verification::Ok);
        let creds = answer(&challenge, "secret", &mut client);
        assert_eq!(
            verify(&mut server, &creds, NOW - MAX_FUTURE_SECS - 1),
            Verification::Stale
        );
    }

    #[test]
    fn tampered_or_foreign_nonces_are_bad() {
        let (mut server, challenge, mut client) = setup();
        let creds = answer(&challenge, "secret", &mut client);

        // A nonce from another server.
        let mut other = DigestServer::new([9; 32]);
        assert_eq!(verify(&mut other, &creds, NOW), Verification::BadNonce);

        // An extended lifetime: the issue time is signed.
        let mut forged = challenge.clone();
        forged.nonce = format!(
            "{:016x}{}",
            NOW + 10_000,
            challenge.nonce.get(TIME_HEX..).unwrap()
        );
        let creds = answer(&forged, "secret", &mut client);
        assert_eq!(verify(&mut server, &creds, NOW), Verification::BadNonce);

        // The realm and the algorithm are bound to the nonce.
        let mut moved = challenge.clone();
        moved.realm = "other.example".into();
        let creds = answer(&moved, "secret", &mut client);
        assert_eq!(verify(&mut server, &creds, NOW), Verification::BadNonce);
        let mut downgraded = challenge.clone();
        downgraded.algorithm = Algorithm::Md5Sess;
        let creds = answer(&downgraded, "secret", &mut client);
        assert_eq!(verify(&mut server, &creds, NOW), Verification::BadNonce);

        for nonce in [
            "",
            "short",
            &"z".repeat(NONCE_LEN),
            "é".repeat(NONCE_LEN / 2).as_str(),
        ] {
            let mut junk = challenge.clone();
            junk.nonce = nonce.to_owned();
            let creds = answer(&junk, "secret", &mut client);
            assert_eq!(
                verify(&mut server, &creds, NOW),
                Verification::BadNonce,
                "{nonce}"
            );
        }
    }

    #[test]
    fn qop_must_be_one_offered() {
        let (mut server, challenge, mut client) = setup();
        let mut legacy = challenge.clone();
        legacy.qop.clear();
        let creds = answer(&legacy, "secret", &mut client);
        assert_eq!(
            verify(&mut server, &creds, NOW),
            Verification::QopNotOffered
        );
        let mut int_only = challenge.clone();
        int_only.qop = vec![Qop::AuthInt];
        let creds = answer(&int_only, "secret", &mut client);
        assert_eq!(
            verify(&mut server, &creds, NOW),
            Verification::QopNotOffered
        );

        let mut unknown = answer(&challenge, "secret", &mut client);
        unknown.algorithm = Algorithm::Unknown("SHA-512-256".into());
        assert_eq!(
            verify(&mut server, &unknown, NOW),
            Verification::UnsupportedAlgorithm
        );
    }

    #[test]
    fn replay_table_is_bounded_and_never_forgets_unsafely() {
        let mut rng = StdRng::seed_from_u64(8);
        let mut server = DigestServer::new([1; 32]).with_replay_capacity(4);
        let mut client = DigestClient::new();
        let mut used = Vec::new();
        for i in 0..10u64 {
            let challenge = server.challenge("example.com", Algorithm::Md5, &mut rng, NOW + i);
            let creds = answer(&challenge, "secret", &mut client);
            assert_eq!(verify(&mut server, &creds, NOW + i), Verification::Ok);
            assert!(server.tracked_nonces() <= 4);
            used.push(creds);
        }
        // Evicted nonces cannot be replayed: they are reported stale instead.
        for creds in &used[..6] {
            assert_eq!(verify(&mut server, creds, NOW + 10), Verification::Stale);
        }
        for creds in &used[6..] {
            assert_eq!(verify(&mut server, creds, NOW + 10), Verification::Replay);
        }
        // A nonce issued after the evictions is fine.
        let challenge = server.challenge("example.com", Algorithm::Md5, &mut rng, NOW + 20);
        let creds = answer(&challenge, "secret", &mut client);
        assert_eq!(verify(&mut server, &creds, NOW + 20), Verification::Ok);
    }

    #[test]
    fn expired_entries_leave_the_table_first() {
        let mut rng = StdRng::seed_from_u64(9);
        let mut server = DigestServer::new([1; 32])
            .with_replay_capacity(2)
            .with_nonce_ttl(10);
        let mut client = DigestClient::new();
        let old = server.challenge("example.com", Algorithm::Md5, &mut rng, NOW);
        let creds = answer(&old, "secret", &mut client);
        assert_eq!(verify(&mut server, &creds, NOW), Verification::Ok);
        let later = NOW + 100;
        let new = server.challenge("example.com", Algorithm::Md5, &mut rng, later);
        let creds = answer(&new, "secret", &mut client);
        assert_eq!(verify(&mut server, &creds, later), Verification::Ok);
        assert_eq!(server.tracked_nonces(), 1);
        assert_eq!(server.replay.forgotten_up_to, None);
    }

    #[test]
    fn ha1_secret_and_legacy_mode() {
        let mut rng = StdRng::seed_from_u64(10);
        let mut server = DigestServer::new([2; 32]).with_qop(Vec::new());
        let challenge = server.challenge("example.com", Algorithm::Md5, &mut rng, NOW);
        assert!(challenge.qop.is_empty());
        let creds = answer(&challenge, "secret", &mut DigestClient::new());
        assert_eq!(creds.qop, None);
        // HA1 = MD5("alice:example.com:secret"), computed with Python hashlib.
        let ha1 = "b1726872c344b6dc8365b774f8fd6412";
        assert_eq!(
            server.verify(&creds, "REGISTER", UserSecret::Ha1(ha1), b"", NOW),
            Verification::Ok
        );
        assert_eq!(
            server.verify(
                &creds,
                "REGISTER",
                UserSecret::Ha1(&ha1.replace('7', "8")),
                b"",
                NOW
            ),
            Verification::BadResponse
        );
    }
}
