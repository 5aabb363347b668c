//! Accounts in the core: the in-memory copy of the stored accounts, their CRUD,
//! and the registration client of each account that has a registrar.

use std::time::Instant;

use callwire_store::AccountRecord;
use chrono::{DateTime, Utc};

use super::{Core, Output};
use crate::error::EngineError;
use crate::model::account::{
    AccountSettings, AccountTransport, AccountView, PasswordChange, RegistrationView,
    DEFAULT_ACCOUNT,
};

/// Accounts at most (each may hold a registration).
const MAX_ACCOUNTS: usize = 1000;

/// One account and its live registration.
pub(crate) struct Account {
    id: String,
    settings: AccountSettings,
    password: Option<String>,
    created_at: DateTime<Utc>,
    pub(crate) registration: Option<super::registrations::Registered>,
}

impl Account {
    pub(crate) fn from_record(r: AccountRecord) -> Account {
        let transport = if r.transport == "tcp" {
            AccountTransport::Tcp
        } else {
            AccountTransport::Udp
        };
        Account {
            settings: AccountSettings {
                display_name: r.display_name,
                user: r.user,
                domain: r.domain,
                registrar: r.registrar,
                secondary_registrar: r.secondary_registrar,
                outbound_proxy: r.outbound_proxy,
                auth_user: r.auth_user,
                transport,
                expires: r.expires,
                auto_answer: r.auto_answer,
                enabled: r.enabled,
                max_calls: r.max_calls,
                codecs: r
                    .codecs
                    .as_deref()
                    .map(|c| c.split(',').map(str::to_owned).collect())
                    .unwrap_or_else(crate::model::account::default_codecs),
                dtmf_mode: crate::model::account::DtmfMode::from_stored(r.dtmf_mode.as_deref()),
                // A policy that no longer parses (never written by us) is
                // dropped with a warning rather than failing the start.
                policy: r
                    .policy
                    .as_deref()
                    .and_then(|p| {
                        serde_json::from_str(p)
                            .map_err(|e| tracing::warn!(account = %r.id, error = %e, "stored call policy ignored"))
                            .ok()
                    })
                    .unwrap_or_default(),
            },
            id: r.id,
            password: r.password,
            created_at: r.created_at,
            registration: None,
        }
    }

    fn record(&self) -> AccountRecord {
        let s = &self.settings;
        AccountRecord {
            id: self.id.clone(),
            display_name: s.display_name.clone(),
            user: s.user.clone(),
            domain: s.domain.clone(),
            registrar: s.registrar.clone(),
            secondary_registrar: s.secondary_registrar.clone(),
            outbound_proxy: s.outbound_proxy.clone(),
            auth_user: s.auth_user.clone(),
            password: self.password.clone(),
            transport: s.transport.as_str().into(),
            expires: s.expires,
            auto_answer: s.auto_answer,
            enabled: s.enabled,
            max_calls: s.max_calls,
            created_at: self.created_at,
            updated_at: Utc::now(),
            codecs: Some(s.codecs.join(",")),
            dtmf_mode: Some(s.dtmf_mode.as_str().into()),
            policy: (s.policy != crate::model::account::CallPolicy::default())
                .then(|| serde_json::to_string(&s.policy).ok())
                .flatten(),
        }
    }

    pub(crate) fn settings(&self) -> &AccountSettings {
        &self.settings
    }

    pub(crate) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    pub(crate) fn view(&self) -> AccountView {
        AccountView {
            id: self.id.clone(),
            settings: self.settings.clone(),
            has_password: self.password.is_some(),
            registration: self
                .registration
                .as_ref()
                .map(|r| r.view())
                .unwrap_or_else(RegistrationView::unregistered),
        }
    }

    /// Nothing pending (used by the graceful stop).
    pub(crate) fn is_quiet(&self) -> bool {
        self.registration.as_ref().is_none_or(|r| r.is_quiet())
    }
}

impl Core {
    pub(crate) fn account(&self, id: &str) -> Result<&Account, EngineError> {
        self.accounts.get(id).ok_or_else(|| EngineError::NotFound {
            what: "account",
            id: id.to_owned(),
        })
    }

    /// Loads accounts at start; creates `default` when the store has none.
    pub(crate) fn load_accounts(&mut self, records: Vec<AccountRecord>, now: Instant) {
        for r in records {
            let account = Account::from_record(r);
            self.accounts.insert(account.id.clone(), account);
        }
        if !self.accounts.contains_key(DEFAULT_ACCOUNT) {
            let account = Account {
                id: DEFAULT_ACCOUNT.into(),
                settings: AccountSettings::default_account(&self.local_ip.to_string()),
                password: None,
                created_at: Utc::now(),
                registration: None,
            };
            self.outputs
                .push_back(Output::SaveAccount(account.record()));
            self.accounts.insert(DEFAULT_ACCOUNT.into(), account);
        }
        let ids: Vec<String> = self.accounts.keys().cloned().collect();
        for id in ids {
            self.start_registration(&id, now);
        }
    }

    pub(crate) fn create_account(
        &mut self,
        id: String,
        settings: AccountSettings,
        password: Option<String>,
        now: Instant,
    ) -> Result<AccountView, EngineError> {
        if self.accounts.contains_key(&id) {
            return Err(EngineError::Conflict(format!("account {id} exists")));
        }
        if self.accounts.len() >= MAX_ACCOUNTS {
            return Err(EngineError::Unavailable(format!(
                "at most {MAX_ACCOUNTS} accounts"
            )));
        }
        let account = Account {
            id: id.clone(),
            settings,
            password,
            created_at: Utc::now(),
            registration: None,
        };
        self.outputs
            .push_back(Output::SaveAccount(account.record()));
        self.accounts.insert(id.clone(), account);
        self.account_event(&id, crate::model::event::kind::ACCOUNT_CREATED);
        self.start_registration(&id, now);
        self.account(&id).map(Account::view)
    }

    pub(crate) fn update_account(
        &mut self,
        id: &str,
        settings: AccountSettings,
        password: PasswordChange,
        now: Instant,
    ) -> Result<AccountView, EngineError> {
        let account = self
            .accounts
            .get_mut(id)
            .ok_or_else(|| EngineError::NotFound {
                what: "account",
                id: id.to_owned(),
            })?;
        if id == DEFAULT_ACCOUNT && settings.registrar.is_some() {
            return Err(EngineError::InvalidArgument(
                "the default account is peer-to-peer and cannot have a registrar".into(),
            ));
        }
        let before = (account.settings.clone(), account.password.clone());
        account.settings = settings;
        match password {
            PasswordChange::Keep => {}
            PasswordChange::Set(p) => account.password = Some(p),
            PasswordChange::Clear => account.password = None,
        }
        let record = account.record();
        let registration_changed = {
            let (s, p) = &before;
            let n = &account.settings;
            s.registrar != n.registrar
                || s.secondary_registrar != n.secondary_registrar
                || s.outbound_proxy != n.outbound_proxy
                || s.user != n.user
                || s.domain != n.domain
                || s.auth_user != n.auth_user
                || s.transport != n.transport
                || s.expires != n.expires
                || s.enabled != n.enabled
                || *p != account.password
        };
        self.outputs.push_back(Output::SaveAccount(record));
        self.account_event(id, crate::model::event::kind::ACCOUNT_UPDATED);
        if registration_changed {
            self.stop_registration(id, now);
            self.start_registration(id, now);
            if self
                .accounts
                .get(id)
                .is_some_and(|a| a.settings.registrar.is_none())
            {
                // Nothing to register with any more: waiting calls go now.
                self.release_waiting_calls(id, now);
            }
        }
        self.account(id).map(Account::view)
    }

    pub(crate) fn delete_account(&mut self, id: &str, now: Instant) -> Result<(), EngineError> {
        if id == DEFAULT_ACCOUNT {
            return Err(EngineError::Conflict(
                "the default account cannot be deleted".into(),
            ));
        }
        let mut account = self
            .accounts
            .remove(id)
            .ok_or_else(|| EngineError::NotFound {
                what: "account",
                id: id.to_owned(),
            })?;
        let view = account.view();
        self.emit(
            crate::model::event::kind::ACCOUNT_DELETED,
            Some(id),
            None,
            serde_json::to_value(view).unwrap_or_default(),
            None,
        );
        // The registration lives on until its unREGISTER is answered.
        if let Some(mut reg) = account.registration.take() {
            reg.stop(now, &mut self.rng);
            if !reg.is_quiet() {
                self.retiring.insert(id.to_owned(), reg);
            }
            self.pump_registration(id, now);
        }
        self.outputs.push_back(Output::DeleteAccount(id.to_owned()));
        Ok(())
    }
}
