//! Registration of accounts that have a registrar: the sans-IO registration client
//! of `callwire-sip` per account, its REGISTERs run as client transactions, its
//! registrar names resolved by the driver, and its state shown in the account view.

use std::time::Instant;

use callwire_sip::message::{Host, SipUri};
use callwire_sip::registration::{
    Registrar, Registration, RegistrationConfig, RegistrationEvent, RegistrationState as SipState,
};
use callwire_sip::transaction::{Target, Transport};
use chrono::Utc;

use super::{ClientPurpose, Core, CoreTimer, Output};
use crate::driver::dns::Resolved;
use crate::error::EngineError;
use crate::model::account::{AccountTransport, RegistrationState, RegistrationView};

/// A running registration and what the API shows of it.
pub(crate) struct Registered {
    machine: Registration,
    view: RegistrationView,
    /// Resolved next hops for the primary and secondary registrar.
    targets: [Option<Target>; 2],
    /// Which resolution round is current (older answers are ignored).
    generation: u64,
    /// A REGISTER waiting for its registrar's address.
    pending: Option<(callwire_sip::message::Request, Registrar)>,
    stopping: bool,
    /// Deleted account: drop the registration once the unREGISTER is answered.
    pub(crate) delete_when_quiet: bool,
}

impl Registered {
    pub(crate) fn view(&self) -> RegistrationView {
        self.view.clone()
    }

    /// No REGISTER in flight and no binding left.
    pub(crate) fn is_quiet(&self) -> bool {
        matches!(
            self.machine.state(),
            SipState::Unregistered | SipState::Failed { .. }
        ) && self.pending.is_none()
            || (self.stopping && matches!(self.machine.state(), SipState::Unregistered))
    }

    pub(crate) fn stop(&mut self, now: Instant, rng: &mut rand::rngs::StdRng) {
        self.stopping = true;
        self.machine.stop(now, rng);
    }
}

fn slot(which: Registrar) -> usize {
    match which {
        Registrar::Primary => 0,
        _ => 1,
    }
}

impl Core {
    fn registration_mut(&mut self, id: &str) -> Option<&mut Registered> {
        registration_in(&mut self.accounts, &mut self.retiring, id)
    }

    /// Runs `f` on an account's registration with the core's random source.
    fn with_registration(
        &mut self,
        id: &str,
        f: impl FnOnce(&mut Registration, &mut rand::rngs::StdRng),
    ) {
        if let Some(r) = registration_in(&mut self.accounts, &mut self.retiring, id) {
            f(&mut r.machine, &mut self.rng);
        }
    }

    /// Starts registering an enabled account that has a registrar.
    pub(crate) fn start_registration(&mut self, id: &str, now: Instant) {
        let Some(account) = self.accounts.get(id) else {
            return;
        };
        let s = account.settings().clone();
        let (Some(registrar), true) = (s.registrar.as_deref(), s.enabled) else {
            return;
        };
        if self.shutting_down {
            return;
        }
        let transport = match s.transport {
            AccountTransport::Udp => Transport::Udp,
            AccountTransport::Tcp => Transport::Tcp,
        };
        let parse = |t: &str| super::target::parse_target(t).ok();
        let (Some(registrar_uri), secondary) = (
            parse(registrar),
            s.secondary_registrar.as_deref().and_then(parse),
        ) else {
            return;
        };
        let aor = SipUri::new(Some(&s.user), Host::Name(s.domain.clone()), None);
        let local = self.local_endpoint(transport, Some(&s.user));
        let mut config = RegistrationConfig::new(
            aor,
            request_uri(&registrar_uri),
            local.contact.clone(),
            transport.as_str(),
            local.host.clone(),
            local.port,
        );
        config.secondary_registrar = secondary.as_ref().map(request_uri);
        config.expires = s.expires;
        config.auth_user = s.auth_user.clone();
        config.password = account.password().map(str::to_owned);
        config.user_agent = Some(self.config.user_agent.clone());
        let machine = match Registration::new(config, &mut self.rng) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(account = %id, error = %e, "registration not started");
                return;
            }
        };
        let generation = self.next_generation();
        let proxy = s.outbound_proxy.as_deref().and_then(parse);
        let hops = [
            Some(proxy.clone().unwrap_or(registrar_uri)),
            proxy.or(secondary),
        ];
        let reg = Registered {
            machine,
            view: RegistrationView {
                state: RegistrationState::Registering,
                code: None,
                reason: None,
                expires_at: None,
            },
            targets: [None, None],
            generation,
            pending: None,
            stopping: false,
            delete_when_quiet: false,
        };
        if let Some(a) = self.accounts.get_mut(id) {
            a.registration = Some(reg);
        }
        for (i, hop) in hops.into_iter().enumerate() {
            if let Some(uri) = hop {
                self.outputs.push_back(Output::ResolveRegistrar {
                    account: format!("{id}#{i}"),
                    uri,
                    transport,
                    generation,
                });
            }
        }
        self.with_registration(id, |m, rng| m.start(now, rng));
        self.pump_registration(id, now);
    }

    fn next_generation(&mut self) -> u64 {
        self.timer_generation += 1;
        self.timer_generation
    }

    /// Stops an account's registration (unREGISTER when bound).
    pub(crate) fn stop_registration(&mut self, id: &str, now: Instant) {
        let Some(account) = self.accounts.get_mut(id) else {
            return;
        };
        let Some(mut reg) = account.registration.take() else {
            return;
        };
        reg.stop(now, &mut self.rng);
        if !reg.is_quiet() {
            self.retiring.insert(id.to_owned(), reg);
        }
        self.pump_registration(id, now);
    }

    /// The driver resolved a registrar (or proxy) name.
    pub(crate) fn on_registrar_resolved(
        &mut self,
        key: &str,
        generation: u64,
        result: Result<Resolved, EngineError>,
        now: Instant,
    ) {
        let Some((id, index)) = key.rsplit_once('#') else {
            return;
        };
        let index: usize = index.parse().unwrap_or(0).min(1);
        let Some(reg) = self.registration_mut(id) else {
            return;
        };
        if reg.generation != generation {
            return;
        }
        match result {
            Ok(resolved) => {
                if let Some(addr) = resolved.addrs.first() {
                    reg.targets[index] = Some(Target::new(resolved.transport, *addr));
                }
            }
            Err(e) => tracing::warn!(account = %id, error = %e, "registrar not resolved"),
        }
        let pending_ready = reg
            .pending
            .as_ref()
            .is_some_and(|(_, which)| reg.targets[slot(*which)].is_some());
        let pending_failed = reg.pending.is_some() && !pending_ready;
        if pending_ready {
            if let Some((req, which)) = reg.pending.take() {
                self.send_register(id, req, which, now);
            }
        } else if pending_failed {
            // The name did not resolve: the REGISTER fails like a timeout.
            if let Some(r) = self.registration_mut(id) {
                r.pending = None;
            }
            self.with_registration(id, |m, rng| m.on_transaction_timeout(now, rng));
        }
        self.pump_registration(id, now);
        // The REGISTER sits in the transaction layer until drained.
        self.drain_tx(now);
    }

    fn send_register(
        &mut self,
        id: &str,
        req: callwire_sip::message::Request,
        which: Registrar,
        now: Instant,
    ) {
        let Some(reg) = self.registration_mut(id) else {
            return;
        };
        let Some(target) = reg.targets[slot(which)] else {
            reg.pending = Some((req, which));
            return;
        };
        match self.tx.send_request(req, target, now) {
            Ok(tx) => {
                self.client_tx
                    .insert(tx, ClientPurpose::Register(id.to_owned()));
            }
            Err(e) => {
                tracing::warn!(account = %id, error = %e, "REGISTER not sent");
                self.with_registration(id, |m, rng| m.on_transaction_timeout(now, rng));
            }
        }
    }

    /// Sends what the registration wants sent, applies its events, arms its timer.
    pub(crate) fn pump_registration(&mut self, id: &str, now: Instant) {
        loop {
            let Some(reg) = self.registration_mut(id) else {
                return;
            };
            let Some((req, which)) = reg.machine.poll_request(now) else {
                break;
            };
            self.send_register(id, req, which, now);
        }
        let Some(reg) = self.registration_mut(id) else {
            return;
        };
        let mut changed = false;
        while let Some(event) = reg.machine.poll_event() {
            let RegistrationEvent::StateChanged { state } = event else {
                continue;
            };
            reg.view = match state {
                SipState::Registering => RegistrationView {
                    state: RegistrationState::Registering,
                    code: None,
                    reason: None,
                    expires_at: None,
                },
                SipState::Registered { expires_at, .. } => RegistrationView {
                    state: RegistrationState::Registered,
                    code: Some(200),
                    reason: Some("OK".into()),
                    expires_at: Some(
                        Utc::now()
                            + chrono::Duration::seconds(
                                expires_at
                                    .saturating_duration_since(now)
                                    .as_secs()
                                    .min(u32::MAX.into()) as i64,
                            ),
                    ),
                },
                SipState::Failed { code, reason } => RegistrationView {
                    state: RegistrationState::Failed,
                    code,
                    reason: Some(failure_text(&reason)),
                    expires_at: None,
                },
                SipState::Unregistered => RegistrationView::unregistered(),
                _ => reg.view.clone(),
            };
            tracing::info!(account = %id, state = ?reg.view.state, code = ?reg.view.code, "registration state");
            changed = true;
        }
        let deadline = reg.machine.poll_timeout();
        let registered = reg.view.state == RegistrationState::Registered;
        let quiet_delete = reg.delete_when_quiet || self.retiring.contains_key(id);
        self.clear_timer(&CoreTimer::Registration(id.to_owned()));
        if let Some(at) = deadline {
            self.set_timer(at, CoreTimer::Registration(id.to_owned()));
        }
        if quiet_delete && self.retiring.get(id).is_some_and(Registered::is_quiet) {
            self.retiring.remove(id);
        }
        if changed && self.accounts.contains_key(id) {
            self.account_event(id, crate::model::event::kind::ACCOUNT_REGISTRATION_CHANGED);
            if registered {
                self.release_waiting_calls(id, now);
            }
        }
    }

    pub(crate) fn on_registration_timeout(&mut self, id: &str, now: Instant) {
        self.with_registration(id, |m, rng| m.handle_timeout(now, rng));
        self.pump_registration(id, now);
    }

    pub(crate) fn on_register_response(
        &mut self,
        id: &str,
        resp: &callwire_sip::message::Response,
        now: Instant,
    ) {
        if !resp.status.is_final() {
            return;
        }
        self.with_registration(id, |m, rng| {
            m.on_response(resp, now, rng);
        });
        self.pump_registration(id, now);
    }

    pub(crate) fn on_register_failure(&mut self, id: &str, now: Instant) {
        self.with_registration(id, |m, rng| m.on_transaction_timeout(now, rng));
        self.pump_registration(id, now);
    }
}

fn registration_in<'a>(
    accounts: &'a mut std::collections::BTreeMap<String, super::accounts::Account>,
    retiring: &'a mut std::collections::HashMap<String, Registered>,
    id: &str,
) -> Option<&'a mut Registered> {
    match accounts.get_mut(id).and_then(|a| a.registration.as_mut()) {
        Some(r) => Some(r),
        None => retiring.get_mut(id),
    }
}

/// A short description of why a registration failed.
fn failure_text(reason: &callwire_sip::registration::FailureReason) -> String {
    use callwire_sip::registration::FailureReason as F;
    match reason {
        F::Rejected => "rejected by the registrar".into(),
        F::AuthRejected => "credentials rejected".into(),
        F::NoCredentials => "the registrar wants credentials and none are set".into(),
        other => format!("{other:?}"),
    }
}

/// The REGISTER Request-URI for a registrar: its host and port, no user.
fn request_uri(registrar: &SipUri) -> SipUri {
    let mut uri = registrar.clone();
    uri.user = None;
    uri.password = None;
    uri.headers.clear();
    uri
}
