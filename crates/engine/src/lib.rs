//! callwire's engine: the domain (accounts, registrations, calls) and the tokio
//! driver that connects it to sockets, timers and the store.
//!
//! Every HTTP face talks to the engine through [`Engine`], a cheap-to-clone handle.
//! The engine runs one task (the core) that owns all SIP and call state; handle
//! methods send it a command and wait for the reply, so state is never shared
//! behind locks and every SIP message is handled in arrival order.
#![warn(missing_docs)]

pub mod config;
pub(crate) mod core;
mod driver;
pub mod error;
pub mod events;
mod media;
pub mod model;
pub mod tokens;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

pub use config::EngineConfig;
pub use error::EngineError;
pub use media::{PlayWhat, RecordingAction, RecordingView};
pub use model::account::{
    AccountSettings, AccountView, DtmfMode, PasswordChange, RegistrationState, RegistrationView,
};
pub use model::call::{CallState, CallView, Direction, DtmfView, MediaStatsView, Reason};
pub use model::transfer::{TransferRequest, TransferRole, TransferState, TransferView};

use crate::core::Command;

/// How long a handle waits for the core before giving up on a command.
const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Meta key: "1" while the node is stopped cleanly (every published event stored).
const CLEAN_STOP_KEY: &str = "events.clean_stop";
/// How far the event seq jumps after an unclean stop: more than the events
/// that can be published but not yet stored (the store queue and one batch).
const SEQ_CRASH_MARGIN: u64 = 20_000;
/// Commands queued for the core at most; beyond that callers get `Unavailable`.
const COMMAND_QUEUE: usize = 1024;

/// The longest a call may wait for its account's registration.
pub const MAX_REGISTRATION_WAIT_SECS: u32 = 300;

/// Options of a new outgoing call.
#[derive(Clone, Debug, Default)]
pub struct PlaceCall {
    /// Account id.
    pub account: String,
    /// Callee: a SIP URI, or `user@host[:port]`.
    pub to: String,
    /// Cancel after this many seconds without an answer (default from the config).
    pub ring_timeout_secs: Option<u32>,
    /// Caller display name in From (default: the account's).
    pub caller_name: Option<String>,
    /// Caller user part in From (default: the account's user).
    pub caller_user: Option<String>,
    /// Extra headers for the INVITE; names must start with `X-`.
    pub headers: Vec<(String, String)>,
    /// Hang up (BYE, reason `Terminated`) this many seconds after the answer.
    /// The account's `policy.max_duration_secs` applies too: the shorter wins.
    pub max_duration_secs: Option<u32>,
    /// When the account has a registrar and is not registered: create the
    /// call at once but send the INVITE only once the registration succeeds,
    /// waiting at most this many seconds (then the call ends with reason
    /// `RegistrationTimeout`). `None`: place the call at once.
    pub wait_for_registration_secs: Option<u32>,
    /// Do not start media on a 18x with SDP; wait for the answer.
    pub refuse_early_media: bool,
}

impl PlaceCall {
    /// Checks the options; the message names the field.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |m: &str| Err(EngineError::InvalidArgument(m.to_owned()));
        if let Some(n) = &self.caller_name {
            if n.len() > 128 || n.contains(['"', '\\', '\r', '\n']) {
                return bad("caller_name must be at most 128 characters without quotes, backslashes or line breaks");
            }
        }
        if let Some(u) = &self.caller_user {
            if u.is_empty()
                || u.len() > 64
                || !u
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/".contains(c))
            {
                return bad("caller_user must be 1-64 characters allowed in a SIP user part");
            }
        }
        if self.headers.len() > 16 {
            return bad("at most 16 headers");
        }
        for (name, value) in &self.headers {
            let token = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c));
            if !token || !name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("X-")) {
                return bad("header names must be tokens starting with X-");
            }
            if value.len() > 1024 || value.chars().any(|c| c.is_control()) {
                return bad(
                    "header values must be at most 1024 characters without control characters",
                );
            }
        }
        if matches!(self.max_duration_secs, Some(0))
            || self.max_duration_secs.is_some_and(|d| d > 86_400)
        {
            return bad("max_duration_secs must be between 1 and 86400");
        }
        if self
            .wait_for_registration_secs
            .is_some_and(|s| !(1..=MAX_REGISTRATION_WAIT_SECS).contains(&s))
        {
            return bad("wait_for_registration_secs must be between 1 and 300");
        }
        Ok(())
    }
}

/// What `GET /v1/health` shows.
#[derive(Clone, Debug, Serialize)]
pub struct Health {
    /// Always `"ok"` while the core answers.
    pub status: &'static str,
    /// Package version.
    pub version: &'static str,
    /// Bound SIP sockets.
    pub sip: SipBindings,
    /// Calls not yet terminated.
    pub active_calls: usize,
}

/// `GET /v1/state`: every account and every live call, consistent with the
/// event stream up to `seq` (replay from `seq` to stay current).
#[derive(Clone, Debug, Serialize)]
pub struct StateSnapshot {
    /// The last event this snapshot includes.
    pub seq: u64,
    /// Every account.
    pub accounts: Vec<AccountView>,
    /// Calls not yet ended.
    pub calls: Vec<CallView>,
}

/// Counters and gauges for `GET /metrics`.
#[derive(Clone, Debug, Serialize)]
pub struct MetricsSnapshot {
    /// Calls not yet ended.
    pub active_calls: u64,
    /// Calls created since start, by direction.
    pub calls_started: std::collections::BTreeMap<&'static str, u64>,
    /// Calls ended since start, by reason.
    pub calls_ended: std::collections::BTreeMap<&'static str, u64>,
    /// Accounts by registration state.
    pub registrations: std::collections::BTreeMap<&'static str, u64>,
    /// The newest event's seq (events emitted, counting across restarts).
    pub events_emitted: u64,
    /// SIP transactions in the transaction layer.
    pub transactions: u64,
}

/// The SIP sockets the engine bound.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SipBindings {
    /// UDP socket.
    pub udp: SocketAddr,
    /// TCP listener.
    pub tcp: SocketAddr,
}

/// A handle to the running engine.
#[derive(Clone)]
pub struct Engine {
    commands: mpsc::Sender<Command>,
    inner: Arc<Inner>,
}

struct Inner {
    bindings: SipBindings,
    store: callwire_store::Store,
    core: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    recordings_dir: std::path::PathBuf,
    prompts_dir: std::path::PathBuf,
    hub: Arc<events::EventHub>,
    webhooks: webhooks::Webhooks,
    tokens: tokens::Tokens,
    max_play_secs: u32,
}

impl Engine {
    /// Binds the SIP sockets, loads accounts from the store and starts the core.
    pub async fn start(
        config: EngineConfig,
        store: callwire_store::Store,
    ) -> Result<Engine, EngineError> {
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let media = config.media.clone();
        media::close_interrupted_recordings(&store, &media.recordings_dir()).await?;
        let last_seq = store.event_seq_range().await?.map_or(0, |(_, hi)| hi);
        // Events are published before they are stored, so a crash may lose
        // some that live subscribers already saw. After an unclean stop the
        // stream jumps past every seq that could have been handed out, so a
        // seq is never reused for a different event.
        let clean = store.get_meta(CLEAN_STOP_KEY).await?.as_deref() == Some("1");
        let next_seq = if clean || last_seq == 0 {
            last_seq + 1
        } else {
            tracing::warn!(
                last_stored = last_seq,
                "unclean stop: event seqs continue after a gap"
            );
            last_seq + 1 + SEQ_CRASH_MARGIN
        };
        store.set_meta(CLEAN_STOP_KEY, "0").await?;
        let hub = Arc::new(events::EventHub::new(next_seq));
        let marks = Arc::new(events::LogMarks::new(last_seq, config.webhooks.max_backlog));
        let webhooks = webhooks::Webhooks::start(
            store.clone(),
            config.webhooks.clone(),
            Arc::clone(&marks),
            Arc::clone(&hub),
        )
        .await?;
        let tokens = tokens::Tokens::load(store.clone()).await?;
        let (bindings, join) =
            driver::start(config, store.clone(), Arc::clone(&hub), marks, rx).await?;
        Ok(Engine {
            commands,
            inner: Arc::new(Inner {
                bindings,
                store,
                core: tokio::sync::Mutex::new(Some(join)),
                recordings_dir: media.recordings_dir(),
                hub,
                webhooks,
                tokens,
                prompts_dir: media.prompts_dir(),
                max_play_secs: media.max_play_secs,
            }),
        })
    }

    /// The bound SIP sockets.
    pub fn bindings(&self) -> SipBindings {
        self.inner.bindings
    }

    /// The node's named API tokens.
    pub fn tokens(&self) -> &tokens::Tokens {
        &self.inner.tokens
    }

    /// The node's webhooks.
    pub fn webhooks(&self) -> &webhooks::Webhooks {
        &self.inner.webhooks
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, EngineError>>) -> Command,
    ) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .try_send(make(tx))
            .map_err(|_| EngineError::Unavailable("the engine is busy or stopping".into()))?;
        match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(EngineError::Unavailable("the engine is stopping".into())),
            Err(_) => Err(EngineError::Unavailable(
                "the engine did not answer in time".into(),
            )),
        }
    }

    /// Health summary.
    pub async fn health(&self) -> Result<Health, EngineError> {
        let active_calls = self.ask(Command::ActiveCalls).await?;
        Ok(Health {
            status: "ok",
            version: env!("CARGO_PKG_VERSION"),
            sip: self.inner.bindings,
            active_calls,
        })
    }

    /// Every account.
    pub async fn list_accounts(&self) -> Result<Vec<AccountView>, EngineError> {
        self.ask(Command::ListAccounts).await
    }

    /// One account.
    pub async fn get_account(&self, id: &str) -> Result<AccountView, EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::GetAccount { id, reply }).await
    }

    /// Creates an account; registers it when it has a registrar.
    pub async fn create_account(
        &self,
        id: &str,
        settings: AccountSettings,
        password: Option<String>,
    ) -> Result<AccountView, EngineError> {
        model::account::validate_account_id(id)?;
        settings.validate()?;
        let id = id.to_owned();
        self.ask(|reply| Command::CreateAccount {
            id,
            settings,
            password,
            reply,
        })
        .await
    }

    /// Replaces an account's settings; re-registers when they change.
    pub async fn update_account(
        &self,
        id: &str,
        settings: AccountSettings,
        password: PasswordChange,
    ) -> Result<AccountView, EngineError> {
        settings.validate()?;
        let id = id.to_owned();
        self.ask(|reply| Command::UpdateAccount {
            id,
            settings,
            password,
            reply,
        })
        .await
    }

    /// Deletes an account after unregistering it.
    pub async fn delete_account(&self, id: &str) -> Result<(), EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::DeleteAccount { id, reply }).await
    }

    /// Calls in progress first, then recent ended ones, newest first.
    pub async fn list_calls(&self, limit: usize) -> Result<Vec<CallView>, EngineError> {
        let mut calls = self
            .ask(|reply| Command::ListCalls { limit, reply })
            .await?;
        if calls.len() < limit {
            // Older calls come from the store's call records.
            let seen: std::collections::HashSet<String> =
                calls.iter().map(|c| c.id.clone()).collect();
            let want = u32::try_from(limit - calls.len() + seen.len()).unwrap_or(u32::MAX);
            let records = self.inner.store.list_call_records(want, None).await?;
            for r in records {
                if calls.len() >= limit {
                    break;
                }
                if !seen.contains(&r.id) {
                    calls.push(core::calls::view_from_record(r));
                }
            }
        }
        Ok(calls)
    }

    /// Call records matching `query`, newest first, and the cursor of the
    /// next page (`None` on the last page). A cursor from a previous page
    /// goes in `cursor`.
    pub async fn call_records(
        &self,
        mut query: callwire_store::CallRecordQuery,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<CallView>, Option<String>), EngineError> {
        if let Some(c) = cursor {
            query.after = Some(parse_cursor(c)?);
        }
        let limit = limit.clamp(1, 1000);
        let records = self.inner.store.query_call_records(&query, limit).await?;
        let next = (records.len() == limit as usize)
            .then(|| records.last().map(make_cursor))
            .flatten();
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let recordings = self.inner.store.recording_ids_for_calls(&ids).await?;
        let views = records
            .into_iter()
            .map(|r| {
                let mut v = core::calls::view_from_record(r);
                v.recordings = recordings
                    .iter()
                    .filter(|(call, _)| *call == v.id)
                    .map(|(_, rec)| rec.clone())
                    .collect();
                v
            })
            .collect();
        Ok((views, next))
    }

    /// One call, live or from the records.
    pub async fn get_call(&self, id: &str) -> Result<CallView, EngineError> {
        let key = id.to_owned();
        match self.ask(|reply| Command::GetCall { id: key, reply }).await {
            Err(EngineError::NotFound { .. }) => {
                match self.inner.store.get_call_record(id).await? {
                    Some(r) => Ok(core::calls::view_from_record(r)),
                    None => Err(EngineError::NotFound {
                        what: "call",
                        id: id.to_owned(),
                    }),
                }
            }
            other => other,
        }
    }

    /// Places an outgoing call.
    pub async fn place_call(&self, call: PlaceCall) -> Result<CallView, EngineError> {
        call.validate()?;
        let target = core::target::parse_callee(&call.to)?;
        // The first hop is the account's outbound proxy when it has one.
        let account = self.get_account(&call.account).await?;
        // No name is resolved for a call the policy refuses (the core checks
        // again, against the settings it places the call with).
        account
            .settings
            .policy
            .check_callee(&call.account, &target.to_string())?;
        let fallback = match account.settings.transport {
            model::account::AccountTransport::Udp => callwire_sip::transaction::Transport::Udp,
            model::account::AccountTransport::Tcp => callwire_sip::transaction::Transport::Tcp,
        };
        let hop = match account.settings.outbound_proxy.as_deref() {
            Some(proxy) => core::target::parse_target(proxy)?,
            None => target.clone(),
        };
        let resolved = driver::dns::resolve_with(&hop, fallback).await?;
        self.ask(|reply| Command::PlaceCall {
            call,
            target,
            resolved,
            reply,
        })
        .await
    }

    /// A subscription to the event stream from `since` (exclusive; `None`:
    /// only new events). `Gone` when events after `since` were pruned.
    pub async fn subscribe(&self, since: Option<u64>) -> Result<events::Subscription, EngineError> {
        self.inner
            .hub
            .subscribe(since, self.inner.store.clone())
            .await
    }

    /// One consistent snapshot of accounts and live calls with its seq.
    pub async fn state(&self) -> Result<StateSnapshot, EngineError> {
        self.ask(Command::State).await
    }

    /// Every DTMF configuration.
    pub async fn dtmf_configurations(
        &self,
    ) -> Result<Vec<model::dtmf::DtmfConfiguration>, EngineError> {
        self.ask(|r| Command::Dtmf(core::DtmfCommand::ListConfigurations(r)))
            .await
    }

    /// One DTMF configuration.
    pub async fn dtmf_configuration(
        &self,
        id: &str,
    ) -> Result<model::dtmf::DtmfConfiguration, EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::Dtmf(core::DtmfCommand::GetConfiguration { id, reply }))
            .await
    }

    /// Creates (`create`) or replaces a DTMF configuration.
    pub async fn put_dtmf_configuration(
        &self,
        id: &str,
        input: model::dtmf::DtmfConfigurationInput,
        create: bool,
    ) -> Result<model::dtmf::DtmfConfiguration, EngineError> {
        model::account::validate_account_id(id)?;
        input.validate()?;
        let id = id.to_owned();
        self.ask(|reply| {
            Command::Dtmf(core::DtmfCommand::PutConfiguration {
                id,
                input,
                create,
                reply,
            })
        })
        .await
    }

    /// Deletes a DTMF configuration no trigger uses.
    pub async fn delete_dtmf_configuration(&self, id: &str) -> Result<(), EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::Dtmf(core::DtmfCommand::DeleteConfiguration { id, reply }))
            .await
    }

    /// Every DTMF trigger.
    pub async fn dtmf_triggers(&self) -> Result<Vec<model::dtmf::DtmfTrigger>, EngineError> {
        self.ask(|r| Command::Dtmf(core::DtmfCommand::ListTriggers(r)))
            .await
    }

    /// One DTMF trigger.
    pub async fn dtmf_trigger(&self, id: &str) -> Result<model::dtmf::DtmfTrigger, EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::Dtmf(core::DtmfCommand::GetTrigger { id, reply }))
            .await
    }

    /// Binds a configuration to an account.
    pub async fn create_dtmf_trigger(
        &self,
        id: &str,
        configuration: &str,
        account: &str,
    ) -> Result<model::dtmf::DtmfTrigger, EngineError> {
        model::account::validate_account_id(id)?;
        let (id, configuration, account) =
            (id.to_owned(), configuration.to_owned(), account.to_owned());
        self.ask(|reply| {
            Command::Dtmf(core::DtmfCommand::CreateTrigger {
                id,
                configuration,
                account,
                reply,
            })
        })
        .await
    }

    /// Deletes a DTMF trigger.
    pub async fn delete_dtmf_trigger(&self, id: &str) -> Result<(), EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::Dtmf(core::DtmfCommand::DeleteTrigger { id, reply }))
            .await
    }

    /// Counters and gauges for `/metrics`.
    pub async fn metrics(&self) -> Result<MetricsSnapshot, EngineError> {
        self.ask(Command::Metrics).await
    }

    /// The seq of the newest event.
    pub fn last_event_seq(&self) -> u64 {
        self.inner.hub.last_seq()
    }

    /// Answers an incoming call.
    pub async fn answer(&self, id: &str) -> Result<CallView, EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::Answer { id, reply }).await
    }

    /// Sends 183 Session Progress with our SDP on an unanswered incoming
    /// call: media (playback, recording, DTMF) starts before the answer.
    pub async fn progress(&self, id: &str) -> Result<CallView, EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::Progress { id, reply }).await
    }

    /// Rejects an incoming call with a final status (400-699).
    pub async fn reject(&self, id: &str, code: u16) -> Result<CallView, EngineError> {
        if !(400..=699).contains(&code) {
            return Err(EngineError::InvalidArgument(
                "code must be between 400 and 699".into(),
            ));
        }
        let id = id.to_owned();
        self.ask(|reply| Command::Reject { id, code, reply }).await
    }

    /// Hangs up: CANCEL or a rejection before answer, BYE after.
    pub async fn hangup(&self, id: &str) -> Result<CallView, EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::Hangup { id, reply }).await
    }

    /// Transfers an active call: REFER to its peer, blind (`to`) or attended
    /// (replacing our other call). Returns at once with the call, whose
    /// `transfer` shows `requested`; progress comes as `call.transfer` events.
    pub async fn transfer(
        &self,
        id: &str,
        request: TransferRequest,
    ) -> Result<CallView, EngineError> {
        let to = match request {
            TransferRequest::Blind { to } => {
                core::calls::transfer::TransferTo::Uri(core::target::parse_callee(&to)?)
            }
            TransferRequest::Attended { replaces } => {
                core::calls::transfer::TransferTo::Replaces(replaces)
            }
        };
        let id = id.to_owned();
        self.ask(|reply| Command::Transfer { id, to, reply }).await
    }

    /// Graceful stop: ends calls with BYE/CANCEL, unregisters accounts, flushes the
    /// store, within `grace`. Later commands answer `Unavailable`.
    pub async fn shutdown(&self, grace: std::time::Duration) {
        let (tx, rx) = oneshot::channel();
        if self
            .commands
            .send(Command::Shutdown { grace, reply: tx })
            .await
            .is_ok()
        {
            let _ = tokio::time::timeout(grace + std::time::Duration::from_secs(1), rx).await;
        }
        if let Some(join) = self.inner.core.lock().await.take() {
            // The core ends after its store writer, so every event is stored.
            if let Ok(Ok(())) = tokio::time::timeout(std::time::Duration::from_secs(1), join).await
            {
                if let Err(e) = self.inner.store.set_meta(CLEAN_STOP_KEY, "1").await {
                    tracing::warn!(error = %e, "recording the clean stop failed");
                }
            }
        }
        // After the core, so the cursors saved cover the last calls' events;
        // whatever is undelivered goes out after the next start.
        self.inner.webhooks.shutdown().await;
    }
}

/// A page cursor: the last record's creation time (µs since the epoch) and id.
fn make_cursor(r: &callwire_store::CallRecord) -> String {
    format!("{}.{}", r.created_at.timestamp_micros(), r.id)
}

fn parse_cursor(c: &str) -> Result<(chrono::DateTime<chrono::Utc>, String), EngineError> {
    let bad = || EngineError::InvalidArgument("cursor is not one this API gave out".into());
    let (micros, id) = c.split_once('.').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    if id.is_empty() || id.len() > 64 {
        return Err(bad());
    }
    Ok((at, id.to_owned()))
}
