//! Accounts: the SIP identities callwire uses, as clients see and change them.

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// The account that always exists: peer-to-peer, no registrar.
pub const DEFAULT_ACCOUNT: &str = "default";

/// SIP transport an account uses towards its registrar and peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AccountTransport {
    /// UDP (default).
    #[default]
    Udp,
    /// TCP.
    Tcp,
}

impl AccountTransport {
    /// Lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountTransport::Udp => "udp",
            AccountTransport::Tcp => "tcp",
        }
    }
}

/// How DTMF digits are sent on an account's calls (all methods are always
/// received).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DtmfMode {
    /// RTP events (RFC 4733); in-band tones when the peer negotiated none.
    #[default]
    Rfc4733,
    /// SIP INFO with `application/dtmf-relay`.
    Info,
    /// Tones in the audio.
    Inband,
}

impl DtmfMode {
    /// Lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DtmfMode::Rfc4733 => "rfc4733",
            DtmfMode::Info => "info",
            DtmfMode::Inband => "inband",
        }
    }

    /// The mode a stored name means; unknown names give the default.
    pub fn from_stored(name: Option<&str>) -> DtmfMode {
        match name {
            Some("info") => DtmfMode::Info,
            Some("inband") => DtmfMode::Inband,
            _ => DtmfMode::Rfc4733,
        }
    }
}

/// The writable fields of an account (everything but the password and the id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// Display name used in From.
    #[serde(default)]
    pub display_name: Option<String>,
    /// SIP user part.
    pub user: String,
    /// SIP domain.
    pub domain: String,
    /// Registrar, `host[:port]` or SIP URI; none = peer-to-peer.
    #[serde(default)]
    pub registrar: Option<String>,
    /// Registrar to fail over to.
    #[serde(default)]
    pub secondary_registrar: Option<String>,
    /// Outbound proxy for every request.
    #[serde(default)]
    pub outbound_proxy: Option<String>,
    /// Digest user name (defaults to `user`).
    #[serde(default)]
    pub auth_user: Option<String>,
    /// Transport.
    #[serde(default)]
    pub transport: AccountTransport,
    /// Registration interval in seconds.
    #[serde(default = "default_expires")]
    pub expires: u32,
    /// Answer every incoming call.
    #[serde(default)]
    pub auto_answer: bool,
    /// Enabled accounts register and take calls.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Concurrent calls on this account.
    #[serde(default)]
    pub max_calls: Option<u32>,
    /// Audio codecs in priority order: `PCMU`, `PCMA`, `G722`, `opus`, `L16`
    /// (8 kHz), `L16/16000`, `L16/48000`. Offers list them in this order and
    /// answers pick the first one the peer also offers.
    #[serde(default = "default_codecs")]
    pub codecs: Vec<String>,
    /// How DTMF is sent.
    #[serde(default)]
    pub dtmf_mode: DtmfMode,
    /// Which calls the account takes and places, and how.
    #[serde(default)]
    pub policy: CallPolicy,
}

/// What happens to a REFER (transfer request) received on an account's call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReferPolicy {
    /// Call the Refer-To target (subject to `allow`/`deny`) and report
    /// progress with NOTIFY.
    #[default]
    Accept,
    /// Answer 603 Decline.
    Reject,
}

/// Per-account call policy. Patterns match the remote party as
/// `user@host` (or `host` when the URI has no user; no scheme, port or
/// parameters), case-insensitively, with `*` (any run) and `?` (one character).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CallPolicy {
    /// Remote parties calls may be taken from or placed to; empty means all.
    pub allow: Vec<String>,
    /// Remote parties refused even when `allow` matches (incoming: 403).
    pub deny: Vec<String>,
    /// Ring this long before an `auto_answer` account answers.
    pub answer_delay_ms: u32,
    /// Hang up every call of the account this long after the answer; a call's
    /// own `max_duration_secs` may only shorten it.
    pub max_duration_secs: Option<u32>,
    /// What a REFER received on a call does.
    pub refer: ReferPolicy,
}

/// Patterns per list at most.
const MAX_PATTERNS: usize = 32;

impl CallPolicy {
    /// Whether the remote party `remote` (a URI or `user@host`) passes
    /// `allow` and `deny`.
    pub fn permits(&self, remote: &str) -> bool {
        let party = remote_party(remote);
        let hit = |p: &String| wildmatch::WildMatch::new_case_insensitive(p).matches(&party);
        if self.deny.iter().any(hit) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(hit)
    }

    /// `Forbidden`, naming `account` and the callee, when this policy does
    /// not let `account` call `callee`.
    pub(crate) fn check_callee(&self, account: &str, callee: &str) -> Result<(), EngineError> {
        if self.permits(callee) {
            return Ok(());
        }
        Err(EngineError::Forbidden(format!(
            "account {account}'s call policy does not allow calls to {}",
            remote_party(callee)
        )))
    }

    fn validate(&self) -> Result<(), EngineError> {
        let bad = |m: &str| Err(EngineError::InvalidArgument(m.into()));
        for list in [&self.allow, &self.deny] {
            if list.len() > MAX_PATTERNS {
                return bad("policy.allow and policy.deny take at most 32 patterns each");
            }
            if list
                .iter()
                .any(|p| p.is_empty() || p.len() > 256 || p.chars().any(char::is_whitespace))
            {
                return bad("policy patterns must be 1-256 characters without spaces");
            }
        }
        if self.answer_delay_ms > 60_000 {
            return bad("policy.answer_delay_ms must be at most 60000");
        }
        if matches!(self.max_duration_secs, Some(s) if s == 0 || s > 86_400) {
            return bad("policy.max_duration_secs must be 1-86400 (or null)");
        }
        Ok(())
    }
}

/// `user@host` of a URI (or `host` without a user), lower-cased, without
/// scheme, port, parameters or headers; anything unparsable as it is.
pub(crate) fn remote_party(uri: &str) -> String {
    let s = uri.trim();
    // A name-addr: take what is inside the angle brackets.
    let s = match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    let s = s
        .strip_prefix("sips:")
        .or_else(|| s.strip_prefix("sip:"))
        .or_else(|| s.strip_prefix("tel:"))
        .unwrap_or(s);
    let s = s.split([';', '?']).next().unwrap_or(s);
    let (user, host) = match s.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, s),
    };
    // Strip a port, keeping IPv6 brackets intact.
    let host = match host.rfind(':') {
        Some(i) if !host.ends_with(']') => &host[..i],
        _ => host,
    };
    match user {
        Some(u) => format!("{u}@{host}").to_ascii_lowercase(),
        None => host.to_ascii_lowercase(),
    }
}

/// The codec list of a new account.
pub fn default_codecs() -> Vec<String> {
    ["PCMU", "PCMA", "G722", "opus"]
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn default_expires() -> u32 {
    3600
}

fn default_true() -> bool {
    true
}

impl AccountSettings {
    /// The settings of the `default` account for a host.
    pub fn default_account(host: &str) -> AccountSettings {
        AccountSettings {
            display_name: None,
            user: DEFAULT_ACCOUNT.to_owned(),
            domain: host.to_owned(),
            registrar: None,
            secondary_registrar: None,
            outbound_proxy: None,
            auth_user: None,
            transport: AccountTransport::Udp,
            expires: default_expires(),
            auto_answer: false,
            enabled: true,
            max_calls: None,
            codecs: default_codecs(),
            dtmf_mode: DtmfMode::default(),
            policy: CallPolicy::default(),
        }
    }

    /// The codec list as the media engine takes it (validated names only).
    pub fn codec_specs(&self) -> Vec<callwire_media::sdp::CodecSpec> {
        self.codecs
            .iter()
            .filter_map(|c| callwire_media::sdp::CodecSpec::by_name(c))
            .collect()
    }

    /// Checks ranges and formats; the message names the field.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |m: String| Err(EngineError::InvalidArgument(m));
        if self.user.is_empty()
            || self.user.len() > 128
            || self
                .user
                .chars()
                .any(|c| c.is_whitespace() || c == '@' || c == ':')
        {
            return bad("user must be 1-128 characters without spaces, '@' or ':'".into());
        }
        if self.domain.is_empty()
            || self.domain.len() > 253
            || self.domain.chars().any(|c| c.is_whitespace() || c == '@')
        {
            return bad("domain must be 1-253 characters without spaces or '@'".into());
        }
        if !(10..=86400).contains(&self.expires) {
            return bad("expires must be between 10 and 86400 seconds".into());
        }
        for (name, v) in [
            ("registrar", &self.registrar),
            ("secondary_registrar", &self.secondary_registrar),
            ("outbound_proxy", &self.outbound_proxy),
        ] {
            if let Some(v) = v {
                if crate::core::target::parse_target(v).is_err() {
                    return bad(format!("{name} must be host[:port] or a SIP URI"));
                }
            }
        }
        if self.secondary_registrar.is_some() && self.registrar.is_none() {
            return bad("secondary_registrar needs a registrar".into());
        }
        if let Some(d) = &self.display_name {
            if d.len() > 128 || d.contains(['"', '\r', '\n', '\\']) {
                return bad(
                    "display_name must be at most 128 characters without quotes or backslashes"
                        .into(),
                );
            }
        }
        if matches!(self.max_calls, Some(0)) {
            return bad("max_calls must be at least 1 (or null for no limit)".into());
        }
        if self.codecs.is_empty() || self.codecs.len() > 16 {
            return bad("codecs must list 1-16 codecs".into());
        }
        let mut seen = Vec::new();
        for name in &self.codecs {
            let Some(spec) = callwire_media::sdp::CodecSpec::by_name(name) else {
                return bad(format!(
                    "unknown codec {name:?}: use PCMU, PCMA, G722, opus, L16, L16/16000 or L16/48000"
                ));
            };
            if seen.contains(&spec) {
                return bad(format!("codec {name:?} is listed twice"));
            }
            seen.push(spec);
        }
        self.policy.validate()
    }
}

/// Registration state of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationState {
    /// Not registered (peer-to-peer accounts, disabled accounts, or not yet started).
    Unregistered,
    /// A REGISTER is under way.
    Registering,
    /// The registrar accepted the binding.
    Registered,
    /// The registrar refused or did not answer; retried with backoff.
    Failed,
}

/// What the API shows of an account's registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationView {
    /// State.
    pub state: RegistrationState,
    /// Last SIP status code, when it explains the state.
    pub code: Option<u16>,
    /// Its reason phrase or a description.
    pub reason: Option<String>,
    /// When the binding expires.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl RegistrationView {
    /// Not registered, nothing to explain.
    pub fn unregistered() -> RegistrationView {
        RegistrationView {
            state: RegistrationState::Unregistered,
            code: None,
            reason: None,
            expires_at: None,
        }
    }
}

/// An account as the API shows it: settings, no password, live registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountView {
    /// Id.
    pub id: String,
    /// Settings.
    #[serde(flatten)]
    pub settings: AccountSettings,
    /// Whether a password is stored (the password itself is never returned).
    pub has_password: bool,
    /// Registration.
    pub registration: RegistrationView,
}

/// How an update treats the stored password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordChange {
    /// Keep what is stored.
    Keep,
    /// Store a new one.
    Set(String),
    /// Remove it.
    Clear,
}

/// Checks an account id: 1-64 characters of `[A-Za-z0-9_.-]`.
pub fn validate_account_id(id: &str) -> Result<(), EngineError> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    {
        return Err(EngineError::InvalidArgument(
            "id must be 1-64 characters of A-Z a-z 0-9 _ . -".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn remote_party_strips_scheme_port_params_and_brackets() {
        assert_eq!(
            remote_party("sip:Alice@Example.com:5070;transport=tcp"),
            "alice@example.com"
        );
        assert_eq!(
            remote_party("\"Bob\" <sips:bob@[::1]:5061>;tag=x"),
            "bob@[::1]"
        );
        assert_eq!(remote_party("sip:example.com"), "example.com");
        assert_eq!(remote_party("tel:+15551234"), "+15551234");
        assert_eq!(remote_party("1001@10.0.0.1"), "1001@10.0.0.1");
    }

    #[test]
    fn deny_wins_and_an_empty_allow_list_allows_all() {
        let mut p = CallPolicy::default();
        assert!(p.permits("sip:anyone@anywhere"));
        p.allow = vec!["*@example.com".into(), "1???@10.0.0.*".into()];
        p.deny = vec!["900*@*".into()];
        assert!(p.permits("sip:alice@EXAMPLE.com"));
        assert!(p.permits("sip:1234@10.0.0.9:5060"));
        assert!(!p.permits("sip:12345@10.0.0.9"));
        assert!(!p.permits("sip:mallory@example.org"));
        assert!(!p.permits("sip:9001@example.com"));
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = AccountSettings::default_account("h");
        s.policy.answer_delay_ms = 60_001;
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("answer_delay_ms"));
        s.policy.answer_delay_ms = 0;
        s.policy.max_duration_secs = Some(0);
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_duration_secs"));
        s.policy.max_duration_secs = None;
        s.policy.deny = vec!["a b".into()];
        assert!(s.validate().unwrap_err().to_string().contains("patterns"));
        s.policy.deny = vec!["*".into(); 33];
        assert!(s.validate().is_err());
        s.policy.deny.truncate(32);
        assert!(s.validate().is_ok());
    }
}
