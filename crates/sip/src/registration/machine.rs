//! The registration state machine.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand::{Rng, RngCore};

use super::config::RegistrationConfig;
use super::RegistrationError;
use crate::auth::{pick_challenge, AuthError, AuthState, Challenge, DigestClient};
use crate::dialog::{new_call_id, new_request, new_tag, LocalEndpoint, NewRequest};
use crate::message::{Host, Method, NameAddr, Request, Response, SipUri, StatusCode, Uri};

/// Which registrar a REGISTER goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Registrar {
    /// [`RegistrationConfig::registrar`].
    Primary,
    /// [`RegistrationConfig::secondary_registrar`].
    Secondary,
}

/// Why a registration failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// The registrar answered with a final error status (see the code).
    Rejected,
    /// The credentials were refused: the registrar challenged again with the nonce
    /// already answered (not stale), or kept challenging.
    AuthRejected,
    /// The registrar asked for credentials and none are configured.
    NoCredentials,
    /// No challenge of the 401/407 could be parsed and answered.
    BadChallenge,
    /// 423 without a usable Min-Expires above the requested expiry.
    IntervalTooBrief,
    /// No final response (Timer F) or a transport error.
    Timeout,
    /// A 2xx that granted an expiry of 0.
    NotBound,
}

/// The state of a registration, as reported by [`RegistrationEvent`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrationState {
    /// Not registered: before [`Registration::start`] and after
    /// [`Registration::stop`] completed.
    Unregistered,
    /// A REGISTER is on its way (first one, after a failure, or failover).
    Registering,
    /// Bound until `expires_at`; refreshed before that.
    Registered {
        /// When the binding expires.
        expires_at: Instant,
        /// The expiry the registrar granted, in seconds.
        granted: u32,
    },
    /// The unREGISTER (Expires: 0) is on its way.
    Unregistering,
    /// Failed. For [`FailureReason::Timeout`], [`FailureReason::Rejected`] (except
    /// 403), [`FailureReason::IntervalTooBrief`] and [`FailureReason::NotBound`] a
    /// retry is scheduled after a backoff ([`Registration::poll_timeout`]); the
    /// others (bad credentials, 403) wait for [`Registration::start`].
    Failed {
        /// The status code, `None` for a timeout.
        code: Option<u16>,
        /// Why.
        reason: FailureReason,
    },
}

/// Something the caller should know, from [`Registration::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrationEvent {
    /// The state changed (a successful refresh reports a new `expires_at`).
    StateChanged {
        /// The new state.
        state: RegistrationState,
    },
}

/// Most events kept when the caller does not poll them; the oldest go first.
const MAX_EVENTS: usize = 32;

/// Which kind of challenge: `WWW-Authenticate` (401) or `Proxy-Authenticate` (407).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AuthKind {
    Www,
    Proxy,
}

impl AuthKind {
    fn challenge_header(self) -> &'static str {
        match self {
            AuthKind::Www => "WWW-Authenticate",
            AuthKind::Proxy => "Proxy-Authenticate",
        }
    }

    fn credentials_header(self) -> &'static str {
        match self {
            AuthKind::Www => "Authorization",
            AuthKind::Proxy => "Proxy-Authorization",
        }
    }
}

/// The REGISTER we wait for an answer to.
#[derive(Clone, Debug)]
struct Pending {
    cseq: u32,
    registrar: Registrar,
    /// When it was handed out by `poll_request` (`None` while queued).
    sent_at: Option<Instant>,
    unregister: bool,
}

/// What the machine waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// Nothing (not started, stopped, or failed for good).
    Nothing,
    /// The response to the pending request.
    Response,
    /// Time to refresh the binding.
    Refresh(Instant),
    /// Time to retry after a failure.
    Retry(Instant),
}

/// One account's registration at a registrar, sans-IO.
///
/// Drive it like this: call [`Registration::start`]; after every call, send the
/// requests of [`Registration::poll_request`] (each in a new client
/// transaction), drain [`Registration::poll_event`], and call
/// [`Registration::handle_timeout`] at [`Registration::poll_timeout`]. Feed each
/// final response whose [`Registration::matches`] is true to
/// [`Registration::on_response`], and each transaction timeout or transport error
/// to [`Registration::on_transaction_timeout`].
#[derive(Debug)]
pub struct Registration {
    config: RegistrationConfig,
    call_id: String,
    from_tag: String,
    cseq: u32,
    state: RegistrationState,
    wait: Wait,
    registrar: Registrar,
    requested_expires: u32,
    digest: DigestClient,
    auth: AuthState,
    challenges: Vec<(AuthKind, Challenge)>,
    failures: u32,
    /// Where and until when a binding was granted (for the unREGISTER on stop).
    binding: Option<(Instant, Registrar)>,
    queued: Option<(Request, Registrar)>,
    pending: Option<Pending>,
    events: VecDeque<RegistrationEvent>,
}

impl Registration {
    /// A registration that does nothing until [`Registration::start`]. The Call-ID
    /// and From tag are chosen here and kept for its whole life (RFC 3261 §10.2).
    pub fn new(
        config: RegistrationConfig,
        rng: &mut (impl RngCore + ?Sized),
    ) -> Result<Registration, RegistrationError> {
        if config.aor.user.is_none() {
            return Err(RegistrationError::AorWithoutUser);
        }
        if config.expires == 0 {
            return Err(RegistrationError::ZeroExpires);
        }
        Ok(Registration {
            call_id: new_call_id(rng, &config.via_host),
            from_tag: new_tag(rng),
            cseq: 0,
            state: RegistrationState::Unregistered,
            wait: Wait::Nothing,
            registrar: Registrar::Primary,
            requested_expires: config.expires,
            digest: DigestClient::new(),
            auth: AuthState::new(),
            challenges: Vec::new(),
            failures: 0,
            binding: None,
            queued: None,
            pending: None,
            events: VecDeque::new(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &RegistrationConfig {
        &self.config
    }

    /// The current state.
    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    /// The Call-ID of every REGISTER of this registration.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The registrar the next or pending REGISTER goes to.
    pub fn registrar(&self) -> Registrar {
        self.registrar
    }

    /// The expiry requested in the next REGISTER (raised by 423 Min-Expires).
    pub fn requested_expires(&self) -> u32 {
        self.requested_expires
    }

    /// Starts (or restarts) registering at the primary registrar: a REGISTER is
    /// ready at [`Registration::poll_request`].
    pub fn start(&mut self, now: Instant, rng: &mut (impl RngCore + ?Sized)) {
        let _ = now;
        self.failures = 0;
        self.registrar = Registrar::Primary;
        self.requested_expires = self.config.expires;
        self.send(false, rng);
        self.set_state(RegistrationState::Registering);
    }

    /// Stops: if a binding may exist, an unREGISTER (Expires: 0, same Call-ID,
    /// credentials of the last challenge) is queued and the state becomes
    /// Unregistering until its response; otherwise the state becomes Unregistered
    /// at once. Responses to earlier REGISTERs are ignored from now on.
    pub fn stop(&mut self, now: Instant, rng: &mut (impl RngCore + ?Sized)) {
        if self.state == RegistrationState::Unregistering {
            return;
        }
        let in_flight = self
            .pending
            .as_ref()
            .filter(|p| p.sent_at.is_some() && !p.unregister)
            .map(|p| p.registrar);
        let bound = self
            .binding
            .filter(|(until, _)| now < *until)
            .map(|(_, r)| r);
        match in_flight.or(bound) {
            Some(registrar) => {
                self.registrar = registrar;
                self.send(true, rng);
                self.set_state(RegistrationState::Unregistering);
            }
            None => self.finish_unregistered(),
        }
    }

    /// The next REGISTER to send and to which registrar, stamped as sent at
    /// `now` (expiry times count from here). Send it in a new client transaction.
    pub fn poll_request(&mut self, now: Instant) -> Option<(Request, Registrar)> {
        let (request, registrar) = self.queued.take()?;
        if let Some(p) = self.pending.as_mut() {
            p.sent_at = Some(now);
        }
        Some((request, registrar))
    }

    /// The next state change, oldest first.
    pub fn poll_event(&mut self) -> Option<RegistrationEvent> {
        self.events.pop_front()
    }

    /// When [`Registration::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let wait = match self.wait {
            Wait::Refresh(at) | Wait::Retry(at) => Some(at),
            Wait::Nothing | Wait::Response => None,
        };
        // While a refresh is on its way, the binding's expiry is a deadline too.
        let expiry = match (&self.state, self.wait) {
            (RegistrationState::Registered { expires_at, .. }, Wait::Response) => Some(*expires_at),
            _ => None,
        };
        match (wait, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances to `now`: refreshes a binding that is due, retries after a
    /// backoff, and notices a binding that expired while its refresh was pending.
    pub fn handle_timeout(&mut self, now: Instant, rng: &mut (impl RngCore + ?Sized)) {
        match self.wait {
            Wait::Refresh(at) if now >= at => self.send(false, rng),
            Wait::Retry(at) if now >= at => {
                self.registrar = Registrar::Primary;
                self.send(false, rng);
                self.set_state(RegistrationState::Registering);
            }
            Wait::Response => {
                if let RegistrationState::Registered { expires_at, .. } = self.state {
                    if now >= expires_at {
                        self.set_state(RegistrationState::Registering);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether `response` answers the REGISTER this registration waits for
    /// (same Call-ID, CSeq number and method). Responses to superseded REGISTERs
    /// do not match.
    pub fn matches(&self, response: &Response) -> bool {
        response.head.call_id == self.call_id
            && response.head.cseq.method == Method::Register
            && self
                .pending
                .as_ref()
                .is_some_and(|p| p.cseq == response.head.cseq.seq)
    }

    /// Processes a response to the pending REGISTER; returns `false` (and does
    /// nothing) when it does not [`Registration::matches`]. Provisional responses
    /// are ignored.
    ///
    /// - 2xx: registered for the expiry of our Contact in the response, else its
    ///   Expires header, else the requested one; a refresh is scheduled;
    /// - 401/407: answered with credentials (same Call-ID, next CSeq); refused
    ///   credentials (the same nonce again, not stale) fail for good;
    /// - 423: retried with the Min-Expires value;
    /// - 403: fails for good;
    /// - anything else: failover to the secondary registrar, else failure and a
    ///   retry after a backoff (at least the Retry-After value, capped at the
    ///   maximum backoff).
    pub fn on_response(
        &mut self,
        response: &Response,
        now: Instant,
        rng: &mut (impl RngCore + ?Sized),
    ) -> bool {
        if !self.matches(response) {
            return false;
        }
        if response.status.is_provisional() {
            return true;
        }
        let Some(pending) = self.pending.take() else {
            return false;
        };
        let sent_at = pending.sent_at.unwrap_or(now);
        let status = response.status;
        let code = status.code();

        if pending.unregister {
            if code == 401 || code == 407 {
                self.pending = Some(pending);
                if self.answer_challenge(response, true, rng).is_ok() {
                    return true;
                }
                self.pending = None;
            }
            self.finish_unregistered();
            return true;
        }

        if status.is_success() {
            self.on_success(response, pending.registrar, sent_at, now, rng);
        } else if code == 401 || code == 407 {
            self.pending = Some(pending);
            if let Err(reason) = self.answer_challenge(response, false, rng) {
                self.pending = None;
                self.fail_for_good(Some(code), reason);
            }
        } else if status == StatusCode::INTERVAL_TOO_BRIEF {
            let min = header_u32(response, "Min-Expires");
            match min {
                Some(min) if min > self.requested_expires => {
                    self.requested_expires = min;
                    self.send(false, rng);
                }
                _ => {
                    self.fail_and_retry(Some(code), FailureReason::IntervalTooBrief, None, now, rng)
                }
            }
        } else if status == StatusCode::FORBIDDEN {
            self.fail_for_good(Some(code), FailureReason::Rejected);
        } else {
            let retry_after = header_u32(response, "Retry-After");
            self.fail_and_retry(Some(code), FailureReason::Rejected, retry_after, now, rng);
        }
        true
    }

    /// The pending REGISTER's transaction timed out (Timer F) or failed at the
    /// transport: failover to the secondary registrar, else failure and a retry
    /// after a backoff. During [`Registration::stop`], the registration just ends.
    pub fn on_transaction_timeout(&mut self, now: Instant, rng: &mut (impl RngCore + ?Sized)) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        if pending.unregister {
            self.finish_unregistered();
        } else {
            self.fail_and_retry(None, FailureReason::Timeout, None, now, rng);
        }
    }

    fn on_success(
        &mut self,
        response: &Response,
        registrar: Registrar,
        sent_at: Instant,
        now: Instant,
        rng: &mut (impl RngCore + ?Sized),
    ) {
        let granted = self.granted_expiry(response);
        if granted == 0 {
            self.binding = None;
            let code = Some(response.status.code());
            self.fail_and_retry(code, FailureReason::NotBound, None, now, rng);
            return;
        }
        self.failures = 0;
        let expires_at = sent_at + Duration::from_secs(u64::from(granted));
        self.binding = Some((expires_at, registrar));
        self.wait = Wait::Refresh(sent_at + self.config.retry.refresh_delay(granted));
        self.set_state(RegistrationState::Registered {
            expires_at,
            granted,
        });
    }

    /// The expiry of our binding in a 2xx: our Contact's `expires`, else the
    /// Expires header, else what we asked for.
    fn granted_expiry(&self, response: &Response) -> u32 {
        let ours = response.head.contact.iter().find(|c| match &c.uri {
            Uri::Sip(uri) => same_binding(uri, &self.config.contact),
            Uri::Other { .. } => false,
        });
        ours.and_then(|c| c.params.value("expires"))
            .and_then(|v| v.trim().parse().ok())
            .or_else(|| header_u32(response, "Expires"))
            .unwrap_or(self.requested_expires)
    }

    /// Records the challenge of a 401/407 and queues the REGISTER again with
    /// credentials. On error the pending request stays as it was.
    fn answer_challenge(
        &mut self,
        response: &Response,
        unregister: bool,
        rng: &mut (impl RngCore + ?Sized),
    ) -> Result<(), FailureReason> {
        let kind = if response.status == StatusCode::PROXY_AUTH_REQUIRED {
            AuthKind::Proxy
        } else {
            AuthKind::Www
        };
        if self.config.password.is_none() {
            return Err(FailureReason::NoCredentials);
        }
        let offered: Vec<Challenge> = response
            .head
            .other
            .get_all(kind.challenge_header())
            .filter_map(|v| Challenge::parse(v).ok())
            .collect();
        let challenge = pick_challenge(&offered)
            .ok_or(FailureReason::BadChallenge)?
            .clone();
        if let Err(e) = self.auth.on_challenge(&challenge) {
            self.digest.forget(&challenge.realm);
            self.challenges.retain(|(_, c)| c.realm != challenge.realm);
            return Err(match e {
                AuthError::Rejected { .. } | AuthError::TooManyAttempts { .. } => {
                    FailureReason::AuthRejected
                }
                _ => FailureReason::BadChallenge,
            });
        }
        self.challenges
            .retain(|(k, c)| !(*k == kind && c.realm == challenge.realm));
        self.challenges.push((kind, challenge));
        // A server with many realms cannot grow this without bound.
        if self.challenges.len() > 4 {
            self.challenges.remove(0);
        }
        self.queue(unregister, rng);
        Ok(())
    }

    /// Starts a new REGISTER chain (initial, refresh, retry, unREGISTER): fresh
    /// authentication bookkeeping, credentials from earlier challenges reused.
    fn send(&mut self, unregister: bool, rng: &mut (impl RngCore + ?Sized)) {
        self.auth = AuthState::new();
        // The reused challenges count as answered: the same nonce coming back
        // without stale=true means the credentials are wrong.
        for (_, c) in &self.challenges {
            let _ = self.auth.on_challenge(c);
        }
        self.queue(unregister, rng);
    }

    /// Builds the next REGISTER and makes it pending.
    fn queue(&mut self, unregister: bool, rng: &mut (impl RngCore + ?Sized)) {
        if self.cseq >= u32::MAX / 2 {
            // Never reached in practice (one REGISTER per refresh); stay within
            // the 2^31 range of RFC 3261 §8.1.1.5 with a new Call-ID.
            self.call_id = new_call_id(rng, &self.config.via_host);
            self.cseq = 0;
        }
        self.cseq += 1;
        let request = self.build(unregister, rng);
        self.pending = Some(Pending {
            cseq: self.cseq,
            registrar: self.registrar,
            sent_at: None,
            unregister,
        });
        self.queued = Some((request, self.registrar));
        self.wait = Wait::Response;
    }

    fn build(&mut self, unregister: bool, rng: &mut (impl RngCore + ?Sized)) -> Request {
        let config = &self.config;
        let registrar = match (self.registrar, &config.secondary_registrar) {
            (Registrar::Secondary, Some(secondary)) => secondary,
            _ => &config.registrar,
        };
        let aor = NameAddr::new(Uri::Sip(config.aor.clone()));
        let mut from = aor.clone();
        from.set_tag(&self.from_tag);
        let local = LocalEndpoint::new(
            &config.transport,
            config.via_host.clone(),
            config.via_port,
            config.contact.clone(),
        );
        let params = NewRequest {
            method: Method::Register,
            from,
            to: aor,
            request_uri: Uri::Sip(registrar.clone()),
            call_id: Some(self.call_id.clone()),
            cseq: self.cseq,
            route: Vec::new(),
        };
        let mut request = new_request(params, &local, rng);
        let expires = if unregister {
            0
        } else {
            self.requested_expires
        };
        request.head.other.push("Expires", expires.to_string());
        if let Some(ua) = &config.user_agent {
            request.head.other.push("User-Agent", ua.clone());
        }
        self.add_credentials(&mut request, rng);
        request
    }

    fn add_credentials(&mut self, request: &mut Request, rng: &mut (impl RngCore + ?Sized)) {
        let Some(password) = self.config.password.as_deref() else {
            return;
        };
        let user = self
            .config
            .auth_user
            .as_deref()
            .or(self.config.aor.user.as_deref())
            .unwrap_or_default();
        let uri = request.uri.to_string();
        let mut failed = Vec::new();
        for (kind, challenge) in &self.challenges {
            match self.digest.respond(
                challenge,
                "REGISTER",
                &uri,
                user,
                password,
                &[],
                &mut &mut *rng,
            ) {
                Ok(credentials) => {
                    request
                        .head
                        .other
                        .push(kind.credentials_header(), credentials.to_string());
                }
                // E.g. the nonce count ran out: drop it, the registrar challenges anew.
                Err(_) => failed.push(challenge.realm.clone()),
            }
        }
        self.challenges.retain(|(_, c)| !failed.contains(&c.realm));
    }

    /// A failure worth retrying: failover to the secondary registrar when the
    /// primary failed and a secondary exists, else Failed and a retry after a
    /// jittered backoff (at the primary again).
    fn fail_and_retry(
        &mut self,
        code: Option<u16>,
        reason: FailureReason,
        retry_after: Option<u32>,
        now: Instant,
        rng: &mut (impl RngCore + ?Sized),
    ) {
        if self.registrar == Registrar::Primary && self.config.secondary_registrar.is_some() {
            self.registrar = Registrar::Secondary;
            self.send(false, rng);
            self.set_state(RegistrationState::Registering);
            return;
        }
        self.failures = self.failures.saturating_add(1);
        let policy = &self.config.retry;
        let mut delay = jitter(policy.backoff(self.failures), policy.jitter_percent, rng);
        if let Some(secs) = retry_after {
            delay = delay.max(Duration::from_secs(u64::from(secs)).min(policy.max_backoff));
        }
        self.registrar = Registrar::Primary;
        self.queued = None;
        self.wait = Wait::Retry(now + delay);
        self.set_state(RegistrationState::Failed { code, reason });
    }

    fn fail_for_good(&mut self, code: Option<u16>, reason: FailureReason) {
        self.queued = None;
        self.pending = None;
        self.wait = Wait::Nothing;
        self.set_state(RegistrationState::Failed { code, reason });
    }

    fn finish_unregistered(&mut self) {
        self.binding = None;
        self.queued = None;
        self.pending = None;
        self.wait = Wait::Nothing;
        self.set_state(RegistrationState::Unregistered);
    }

    fn set_state(&mut self, state: RegistrationState) {
        if self.state == state {
            return;
        }
        self.state = state.clone();
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events
            .push_back(RegistrationEvent::StateChanged { state });
    }
}

/// `delay` shortened by a random 0–`percent` % (millisecond steps).
fn jitter(delay: Duration, percent: u8, rng: &mut (impl RngCore + ?Sized)) -> Duration {
    let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    let spread = ms / 100 * u64::from(percent.min(100));
    let cut = if spread > 0 {
        rng.gen_range(0..=spread)
    } else {
        0
    };
    Duration::from_millis(ms - cut)
}

/// A header's value as a number (leading digits; `Retry-After: 120 (busy)`).
fn header_u32(response: &Response, name: &str) -> Option<u32> {
    let value = response.head.other.get(name)?.trim();
    let end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    value.get(..end)?.parse().ok()
}

/// Whether a Contact in a REGISTER response is our binding: same scheme, user,
/// host (case-insensitive) and port (absent = the scheme's default).
fn same_binding(a: &SipUri, b: &SipUri) -> bool {
    let port = |u: &SipUri| u.port.unwrap_or(if u.secure { 5061 } else { 5060 });
    let host_eq = match (&a.host, &b.host) {
        (Host::Name(x), Host::Name(y)) => x.eq_ignore_ascii_case(y),
        (x, y) => x == y,
    };
    a.secure == b.secure && a.user == b.user && host_eq && port(a) == port(b)
}
