//! What a registration needs to know: identity, registrars, credentials, and
//! the refresh and retry timing.

use std::fmt;
use std::time::Duration;

use crate::message::{Host, SipUri};

/// Refresh and retry timing.
///
/// Refresh: a binding granted for `g` seconds is refreshed when
/// `refresh_percent` % of `g` has elapsed, but at least `min_refresh_margin`
/// before it expires; for `g` not above that margin, at `g / 2`. Times count
/// from when the REGISTER was handed out, not from when the 200 arrived
/// (RFC 3261 §10.2.4: the binding may start before the response is seen).
///
/// Retry after a failure that is worth retrying: `initial_backoff`, doubled per
/// consecutive failure up to `max_backoff`, each delay shortened by a random
/// amount of up to `jitter_percent` % so that many clients spread out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First retry delay (default 5 s).
    pub initial_backoff: Duration,
    /// Longest retry delay (default 300 s).
    pub max_backoff: Duration,
    /// Random shortening of each delay, 0–100 % (default 20 %).
    pub jitter_percent: u8,
    /// Refresh point, in percent of the granted expiry (default 80 %).
    pub refresh_percent: u8,
    /// Least time left before expiry when refreshing (default 5 s).
    pub min_refresh_margin: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            jitter_percent: 20,
            refresh_percent: 80,
            min_refresh_margin: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The delay after the REGISTER was sent at which a binding granted for
    /// `granted` seconds is refreshed.
    pub fn refresh_delay(&self, granted: u32) -> Duration {
        let granted = Duration::from_secs(u64::from(granted));
        if granted <= self.min_refresh_margin {
            return granted / 2;
        }
        let at_percent = granted * u32::from(self.refresh_percent.min(100)) / 100;
        at_percent.min(granted - self.min_refresh_margin)
    }

    /// The backoff before retry number `failures` (1 for the first), before jitter.
    pub fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }
}

/// One account's registration (RFC 3261 §10.2).
///
/// `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistrationConfig {
    /// The address of record, `sip:user@domain`: To and From of REGISTER.
    pub aor: SipUri,
    /// The registrar: Request-URI of REGISTER, normally `sip:domain`.
    pub registrar: SipUri,
    /// Tried when the registrar times out or fails with a status other than
    /// 401/403/407/423.
    pub secondary_registrar: Option<SipUri>,
    /// Our Contact: the binding registered.
    pub contact: SipUri,
    /// Requested binding lifetime in seconds (Expires).
    pub expires: u32,
    /// Digest user name; the AoR's user part when `None`.
    pub auth_user: Option<String>,
    /// Digest password; without one a challenge fails the registration.
    pub password: Option<String>,
    /// Via transport token (`UDP`, `TCP`, `TLS`).
    pub transport: String,
    /// Via sent-by host.
    pub via_host: Host,
    /// Via sent-by port.
    pub via_port: Option<u16>,
    /// User-Agent header value, if any.
    pub user_agent: Option<String>,
    /// Refresh and retry timing.
    pub retry: RetryPolicy,
}

impl RegistrationConfig {
    /// A configuration with expiry 3600 s, no credentials, no secondary
    /// registrar, no User-Agent and the default [`RetryPolicy`].
    pub fn new(
        aor: SipUri,
        registrar: SipUri,
        contact: SipUri,
        transport: &str,
        via_host: Host,
        via_port: Option<u16>,
    ) -> RegistrationConfig {
        RegistrationConfig {
            aor,
            registrar,
            secondary_registrar: None,
            contact,
            expires: 3600,
            auth_user: None,
            password: None,
            transport: transport.to_ascii_uppercase(),
            via_host,
            via_port,
            user_agent: None,
            retry: RetryPolicy::default(),
        }
    }

    /// Sets the Digest credentials.
    pub fn with_credentials(mut self, user: Option<String>, password: String) -> Self {
        self.auth_user = user;
        self.password = Some(password);
        self
    }

    /// Sets the secondary registrar.
    pub fn with_secondary(mut self, registrar: SipUri) -> Self {
        self.secondary_registrar = Some(registrar);
        self
    }

    /// Sets the requested expiry.
    pub fn with_expires(mut self, expires: u32) -> Self {
        self.expires = expires;
        self
    }
}

impl fmt::Debug for RegistrationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrationConfig")
            .field("aor", &self.aor.to_string())
            .field("registrar", &self.registrar.to_string())
            .field(
                "secondary_registrar",
                &self.secondary_registrar.as_ref().map(|r| r.to_string()),
            )
            .field("contact", &self.contact.to_string())
            .field("expires", &self.expires)
            .field("auth_user", &self.auth_user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("transport", &self.transport)
            .field("via_host", &self.via_host.to_string())
            .field("via_port", &self.via_port)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .finish()
    }
}
