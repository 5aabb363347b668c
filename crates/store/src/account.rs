//! The stored form of a SIP account.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A SIP account as persisted in the `accounts` table.
///
/// `Debug` is written by hand so the password never reaches a log line.
/// `Serialize` does include the password (the store's callers may export
/// accounts); faces that show accounts to users must leave it out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// User-chosen slug, e.g. `"default"` or `"alice"`; the primary key.
    pub id: String,
    /// Display name put in From headers.
    pub display_name: Option<String>,
    /// SIP user part of the address of record.
    pub user: String,
    /// SIP domain of the address of record.
    pub domain: String,
    /// Registrar URI or host; `None` means the domain.
    pub registrar: Option<String>,
    /// Fallback registrar.
    pub secondary_registrar: Option<String>,
    /// Outbound proxy for all requests of this account.
    pub outbound_proxy: Option<String>,
    /// Digest authentication user, when it differs from `user`.
    pub auth_user: Option<String>,
    /// Digest authentication password.
    pub password: Option<String>,
    /// Transport name, `"udp"` or `"tcp"`; checked by the engine, not here.
    pub transport: String,
    /// Requested registration lifetime in seconds (default 3600).
    pub expires: u32,
    /// Answer incoming calls automatically.
    pub auto_answer: bool,
    /// Whether the account registers and takes calls.
    pub enabled: bool,
    /// Limit on simultaneous calls; `None` means the engine default.
    pub max_calls: Option<u32>,
    /// When the account was created. Kept by [`update_account`](crate::Store::update_account).
    pub created_at: DateTime<Utc>,
    /// When the account was last changed.
    pub updated_at: DateTime<Utc>,
    /// Codec names in priority order, comma-separated; `None` means the engine default.
    pub codecs: Option<String>,
    /// DTMF send method (`rfc4733`, `info`, `inband`); `None` means the engine default.
    pub dtmf_mode: Option<String>,
    /// Call policy as JSON text; `None` means the engine default (no limits).
    pub policy: Option<String>,
}

impl AccountRecord {
    /// Default registration lifetime in seconds.
    pub const DEFAULT_EXPIRES: u32 = 3600;
}

impl fmt::Debug for AccountRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Shows whether a password is set, never what it is.
        let password = self.password.as_ref().map(|_| Redacted);
        f.debug_struct("AccountRecord")
            .field("id", &self.id)
            .field("display_name", &self.display_name)
            .field("user", &self.user)
            .field("domain", &self.domain)
            .field("registrar", &self.registrar)
            .field("secondary_registrar", &self.secondary_registrar)
            .field("outbound_proxy", &self.outbound_proxy)
            .field("auth_user", &self.auth_user)
            .field("password", &password)
            .field("transport", &self.transport)
            .field("expires", &self.expires)
            .field("auto_answer", &self.auto_answer)
            .field("enabled", &self.enabled)
            .field("max_calls", &self.max_calls)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("codecs", &self.codecs)
            .field("dtmf_mode", &self.dtmf_mode)
            .field("policy", &self.policy)
            .finish()
    }
}

struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("REDACTED")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(password: Option<&str>) -> AccountRecord {
        AccountRecord {
            id: "alice".into(),
            display_name: None,
            user: "alice".into(),
            domain: "example.com".into(),
            registrar: None,
            secondary_registrar: None,
            outbound_proxy: None,
            auth_user: None,
            password: password.map(str::to_owned),
            transport: "udp".into(),
            expires: AccountRecord::DEFAULT_EXPIRES,
            auto_answer: false,
            enabled: true,
            max_calls: None,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            codecs: None,
            dtmf_mode: None,
            policy: None,
        }
    }

    #[test]
    fn debug_hides_password() {
        let rec = account(Some("s3cr3t-Pa55"));
        for text in [format!("{rec:?}"), format!("{rec:#?}")] {
            assert!(!text.contains("s3cr3t-Pa55"), "{text}");
            assert!(text.contains("REDACTED"), "{text}");
            assert!(text.contains("example.com"), "{text}");
        }
        assert!(format!("{rec:?}").contains("password: Some(REDACTED)"));
        let none = format!("{:?}", account(None));
        assert!(
            none.contains("password: None") && !none.contains("REDACTED"),
            "{none}"
        );
    }
}
