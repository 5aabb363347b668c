//! DTMF configurations and triggers (the Axis model): a configuration holds
//! named digit sequences; a trigger binds a configuration to an account; a
//! call on that account that receives one of the sequences emits
//! `call.dtmf_sequence` with the sequence's name.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// Configurations at most, and triggers at most (each).
pub const MAX_ENTITIES: usize = 100;
/// Sequences per configuration at most.
pub const MAX_SEQUENCES: usize = 32;

/// One named sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DtmfSequence {
    /// The digits, e.g. `#1234#` (`0-9 * # A-D`, 1-32).
    pub sequence: String,
    /// The event name it produces, e.g. `OpenDoor`.
    pub name: String,
}

/// What a client sends to create or replace a configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DtmfConfigurationInput {
    /// Display name.
    pub name: String,
    /// The sequences.
    #[serde(default)]
    pub sequences: Vec<DtmfSequence>,
}

impl DtmfConfigurationInput {
    /// Checks names, digits and counts; the message names the field.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |m: String| Err(EngineError::InvalidArgument(m));
        if self.name.is_empty() || self.name.len() > 64 {
            return bad("name must be 1-64 characters".into());
        }
        if self.sequences.len() > MAX_SEQUENCES {
            return bad(format!("at most {MAX_SEQUENCES} sequences"));
        }
        for s in &self.sequences {
            let digits_ok = !s.sequence.is_empty()
                && s.sequence.len() <= 32
                && s.sequence
                    .chars()
                    .all(|c| c.is_ascii_digit() || "*#ABCDabcd".contains(c));
            if !digits_ok {
                return bad(format!(
                    "sequence {:?} must be 1-32 of 0-9 * # A-D",
                    s.sequence
                ));
            }
            if s.name.is_empty() || s.name.len() > 64 {
                return bad("sequence names must be 1-64 characters".into());
            }
        }
        Ok(())
    }
}

/// A configuration as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DtmfConfiguration {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The sequences (upper-case digits).
    pub sequences: Vec<DtmfSequence>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A trigger as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DtmfTrigger {
    /// Id.
    pub id: String,
    /// The configuration's id.
    pub configuration: String,
    /// The account's id.
    pub account: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}
