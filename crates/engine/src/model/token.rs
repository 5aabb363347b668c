//! Named API tokens and their scopes, as clients see and manage them. The
//! token itself is shown once, at creation; only its SHA-256 is kept.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// What a token may do. Each scope includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read everything (GET), including the event streams and metrics;
    /// not the tokens.
    Read,
    /// `read`, plus placing and controlling calls and their media and
    /// recordings.
    Calls,
    /// Everything: accounts, webhooks, DTMF configurations, tokens.
    Admin,
}

impl Scope {
    /// Lower-case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Calls => "calls",
            Scope::Admin => "admin",
        }
    }

    fn from_str(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "calls" => Some(Scope::Calls),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// Scopes stored comma-separated; unknown names are dropped.
    pub(crate) fn parse_list(s: &str) -> Vec<Scope> {
        s.split(',')
            .filter_map(|p| Scope::from_str(p.trim()))
            .collect()
    }
}

/// What a client sends to create a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// A name to recognise it by (1-64 characters).
    pub name: String,
    /// Its scopes (1-3; the widest one counts).
    pub scopes: Vec<Scope>,
}

impl TokenInput {
    /// Checks name and scopes.
    pub fn validate(&self) -> Result<(), EngineError> {
        if self.name.trim().is_empty() || self.name.len() > 64 {
            return Err(EngineError::InvalidArgument(
                "name must be 1-64 characters".into(),
            ));
        }
        if self.scopes.is_empty() || self.scopes.len() > 3 {
            return Err(EngineError::InvalidArgument(
                "scopes must list 1-3 of read, calls, admin".into(),
            ));
        }
        Ok(())
    }
}

/// A token as the API lists it (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// The answer to creating a token: its view and, this once, the token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCreated {
    /// The token's view.
    #[serde(flatten)]
    pub view: TokenView,
    /// The bearer token; not retrievable later.
    pub token: String,
}
