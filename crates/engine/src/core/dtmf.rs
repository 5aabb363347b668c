//! DTMF configurations and triggers in the core: their CRUD, and matching the
//! digits a call receives against the sequences bound to its account.

use std::time::Instant;

use callwire_store::{DtmfConfigurationRecord, DtmfTriggerRecord};
use chrono::Utc;

use super::{Core, Output};
use crate::error::EngineError;
use crate::model::dtmf::{DtmfConfiguration, DtmfConfigurationInput, DtmfTrigger, MAX_ENTITIES};
use crate::model::event::kind;

fn config_record(c: &DtmfConfiguration) -> DtmfConfigurationRecord {
    DtmfConfigurationRecord {
        id: c.id.clone(),
        name: c.name.clone(),
        sequences: serde_json::to_string(&c.sequences).unwrap_or_else(|_| "[]".into()),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

impl Core {
    /// Loads the stored configurations and triggers at start.
    pub(crate) fn load_dtmf(
        &mut self,
        configs: Vec<DtmfConfigurationRecord>,
        triggers: Vec<DtmfTriggerRecord>,
    ) {
        for r in configs {
            let sequences = serde_json::from_str(&r.sequences).unwrap_or_default();
            self.dtmf_configs.insert(
                r.id.clone(),
                DtmfConfiguration {
                    id: r.id,
                    name: r.name,
                    sequences,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                },
            );
        }
        for r in triggers {
            self.dtmf_triggers.insert(
                r.id.clone(),
                DtmfTrigger {
                    id: r.id,
                    configuration: r.configuration_id,
                    account: r.account_id,
                    created_at: r.created_at,
                },
            );
        }
    }

    pub(crate) fn list_dtmf_configurations(&self) -> Vec<DtmfConfiguration> {
        self.dtmf_configs.values().cloned().collect()
    }

    pub(crate) fn get_dtmf_configuration(
        &self,
        id: &str,
    ) -> Result<DtmfConfiguration, EngineError> {
        self.dtmf_configs
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::NotFound {
                what: "DTMF configuration",
                id: id.to_owned(),
            })
    }

    /// Creates (`create`) or replaces a configuration.
    pub(crate) fn put_dtmf_configuration(
        &mut self,
        id: String,
        input: DtmfConfigurationInput,
        create: bool,
    ) -> Result<DtmfConfiguration, EngineError> {
        let now = Utc::now();
        let existing = self.dtmf_configs.get(&id).map(|c| c.created_at);
        match (create, existing) {
            (true, Some(_)) => {
                return Err(EngineError::Conflict(format!(
                    "DTMF configuration {id} exists"
                )))
            }
            (false, None) => {
                return Err(EngineError::NotFound {
                    what: "DTMF configuration",
                    id,
                })
            }
            (true, None) if self.dtmf_configs.len() >= MAX_ENTITIES => {
                return Err(EngineError::Unavailable(format!(
                    "at most {MAX_ENTITIES} DTMF configurations"
                )))
            }
            _ => {}
        }
        let mut sequences = input.sequences;
        for s in &mut sequences {
            s.sequence = s.sequence.to_ascii_uppercase();
        }
        let config = DtmfConfiguration {
            id: id.clone(),
            name: input.name,
            sequences,
            created_at: existing.unwrap_or(now),
            updated_at: now,
        };
        self.outputs
            .push_back(Output::SaveDtmfConfiguration(config_record(&config)));
        self.dtmf_configs.insert(id, config.clone());
        Ok(config)
    }

    pub(crate) fn delete_dtmf_configuration(&mut self, id: &str) -> Result<(), EngineError> {
        if !self.dtmf_configs.contains_key(id) {
            return Err(EngineError::NotFound {
                what: "DTMF configuration",
                id: id.to_owned(),
            });
        }
        if let Some(t) = self.dtmf_triggers.values().find(|t| t.configuration == id) {
            return Err(EngineError::Conflict(format!(
                "DTMF trigger {} uses this configuration; delete it first",
                t.id
            )));
        }
        self.dtmf_configs.remove(id);
        self.outputs
            .push_back(Output::DeleteDtmfConfiguration(id.to_owned()));
        Ok(())
    }

    pub(crate) fn list_dtmf_triggers(&self) -> Vec<DtmfTrigger> {
        self.dtmf_triggers.values().cloned().collect()
    }

    pub(crate) fn get_dtmf_trigger(&self, id: &str) -> Result<DtmfTrigger, EngineError> {
        self.dtmf_triggers
            .get(id)
            .cloned()
            .ok_or_else(|| EngineError::NotFound {
                what: "DTMF trigger",
                id: id.to_owned(),
            })
    }

    pub(crate) fn create_dtmf_trigger(
        &mut self,
        id: String,
        configuration: String,
        account: String,
    ) -> Result<DtmfTrigger, EngineError> {
        if self.dtmf_triggers.contains_key(&id) {
            return Err(EngineError::Conflict(format!("DTMF trigger {id} exists")));
        }
        if self.dtmf_triggers.len() >= MAX_ENTITIES {
            return Err(EngineError::Unavailable(format!(
                "at most {MAX_ENTITIES} DTMF triggers"
            )));
        }
        if !self.dtmf_configs.contains_key(&configuration) {
            return Err(EngineError::InvalidArgument(format!(
                "no DTMF configuration {configuration}"
            )));
        }
        if !self.accounts.contains_key(&account) {
            return Err(EngineError::InvalidArgument(format!(
                "no account {account}"
            )));
        }
        let trigger = DtmfTrigger {
            id: id.clone(),
            configuration,
            account,
            created_at: Utc::now(),
        };
        self.outputs
            .push_back(Output::SaveDtmfTrigger(DtmfTriggerRecord {
                id: trigger.id.clone(),
                configuration_id: trigger.configuration.clone(),
                account_id: trigger.account.clone(),
                created_at: trigger.created_at,
            }));
        self.dtmf_triggers.insert(id, trigger.clone());
        Ok(trigger)
    }

    pub(crate) fn delete_dtmf_trigger(&mut self, id: &str) -> Result<(), EngineError> {
        if self.dtmf_triggers.remove(id).is_none() {
            return Err(EngineError::NotFound {
                what: "DTMF trigger",
                id: id.to_owned(),
            });
        }
        self.outputs
            .push_back(Output::DeleteDtmfTrigger(id.to_owned()));
        Ok(())
    }

    /// A call received `digit`: when the digits so far end with a sequence
    /// bound to the call's account, emit `call.dtmf_sequence` and start over.
    pub(crate) fn match_dtmf_sequence(&mut self, call_id: &str, digit: char, now: Instant) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let digits = call.sequence_digits(digit, now).to_owned();
        let account = call.account().to_owned();
        let hit = self
            .dtmf_triggers
            .values()
            .filter(|t| t.account == account)
            .filter_map(|t| self.dtmf_configs.get(&t.configuration))
            .flat_map(|c| c.sequences.iter().map(move |s| (c, s)))
            .find(|(_, s)| digits.ends_with(&s.sequence))
            .map(|(c, s)| {
                serde_json::json!({
                    "name": s.name,
                    "sequence": s.sequence,
                    "configuration": c.id,
                })
            });
        if let Some(detail) = hit {
            if let Some(call) = self.calls.get_mut(call_id) {
                call.clear_sequence_digits();
            }
            self.call_detail_event(call_id, kind::CALL_DTMF_SEQUENCE, detail);
        }
    }
}
