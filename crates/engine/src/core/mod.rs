//! The core: one task's worth of state — accounts, registrations, calls, dialogs
//! and the SIP transaction layer — driven by commands, inbound messages and
//! timeouts, each with `now` passed in. It performs no I/O itself: what it wants
//! done (send bytes, resolve a name, save a record) goes into [`Core::outputs`],
//! which the driver drains after every input.

pub(crate) mod accounts;
pub(crate) mod calls;
pub(crate) mod dtmf;
pub(crate) mod events;
pub(crate) mod registrations;
pub(crate) mod target;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod transfer_tests;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use callwire_sip::dialog::{DialogId, DialogTable, LocalEndpoint};
use callwire_sip::message::{Host, Method, Request, Response, SipUri, StatusCode};
use callwire_sip::transaction::{
    ClientTxId, Event, ServerTxId, Target, TransactionLayer, Transport,
};
use callwire_store::{AccountRecord, CallRecord};
use rand::rngs::StdRng;
use tokio::sync::oneshot;

use crate::config::EngineConfig;
use crate::driver::dns::Resolved;
use crate::driver::rtp::RtpPortPool;
use crate::error::EngineError;
use crate::model::account::{AccountSettings, AccountView, PasswordChange};
use crate::model::call::CallView;
use crate::PlaceCall;

use self::accounts::Account;
use self::calls::Call;

/// Running totals since start, for `/metrics`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counters {
    /// Calls created, by direction.
    pub calls_started: BTreeMap<&'static str, u64>,
    /// Calls ended, by reason.
    pub calls_ended: BTreeMap<&'static str, u64>,
}

/// A reply channel for a command.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// Commands from the [`crate::Engine`] handle (and internal completions).
pub(crate) enum Command {
    ActiveCalls(Reply<usize>),
    State(Reply<crate::StateSnapshot>),
    Metrics(Reply<crate::MetricsSnapshot>),
    Dtmf(DtmfCommand),
    ListAccounts(Reply<Vec<AccountView>>),
    GetAccount {
        id: String,
        reply: Reply<AccountView>,
    },
    CreateAccount {
        id: String,
        settings: AccountSettings,
        password: Option<String>,
        reply: Reply<AccountView>,
    },
    UpdateAccount {
        id: String,
        settings: AccountSettings,
        password: PasswordChange,
        reply: Reply<AccountView>,
    },
    DeleteAccount {
        id: String,
        reply: Reply<()>,
    },
    ListCalls {
        limit: usize,
        reply: Reply<Vec<CallView>>,
    },
    GetCall {
        id: String,
        reply: Reply<CallView>,
    },
    PlaceCall {
        call: PlaceCall,
        target: SipUri,
        resolved: Resolved,
        reply: Reply<CallView>,
    },
    Answer {
        id: String,
        reply: Reply<CallView>,
    },
    /// 183 Session Progress with our SDP: early media on an incoming call.
    Progress {
        id: String,
        reply: Reply<CallView>,
    },
    Reject {
        id: String,
        code: u16,
        reply: Reply<CallView>,
    },
    Hangup {
        id: String,
        reply: Reply<CallView>,
    },
    Play {
        id: String,
        request: calls::PlayRequest,
        reply: Reply<CallView>,
    },
    StopPlay {
        id: String,
        reply: Reply<CallView>,
    },
    SendDtmf {
        id: String,
        digits: String,
        how: calls::DtmfSend,
        reply: Reply<CallView>,
    },
    Recording {
        id: String,
        action: crate::RecordingAction,
        reply: Reply<(CallView, Option<String>)>,
    },
    Hold {
        id: String,
        hold: bool,
        reply: Reply<CallView>,
    },
    Transfer {
        id: String,
        to: calls::transfer::TransferTo,
        reply: Reply<CallView>,
    },
    Shutdown {
        grace: Duration,
        reply: oneshot::Sender<()>,
    },
}

/// What the core asks of the media tasks.
#[derive(Debug)]
pub(crate) enum MediaOp {
    /// A new call's media: its sockets and session settings.
    Start {
        call: String,
        ports: crate::driver::rtp::RtpPorts,
        config: callwire_media::session::SessionConfig,
    },
    /// A command for a running call's media.
    Command {
        call: String,
        cmd: crate::driver::media::MediaCommand,
    },
    /// The call ended.
    Stop { call: String },
}

/// DTMF configuration and trigger commands.
pub(crate) enum DtmfCommand {
    ListConfigurations(Reply<Vec<crate::model::dtmf::DtmfConfiguration>>),
    GetConfiguration {
        id: String,
        reply: Reply<crate::model::dtmf::DtmfConfiguration>,
    },
    PutConfiguration {
        id: String,
        input: crate::model::dtmf::DtmfConfigurationInput,
        create: bool,
        reply: Reply<crate::model::dtmf::DtmfConfiguration>,
    },
    DeleteConfiguration {
        id: String,
        reply: Reply<()>,
    },
    ListTriggers(Reply<Vec<crate::model::dtmf::DtmfTrigger>>),
    GetTrigger {
        id: String,
        reply: Reply<crate::model::dtmf::DtmfTrigger>,
    },
    CreateTrigger {
        id: String,
        configuration: String,
        account: String,
        reply: Reply<crate::model::dtmf::DtmfTrigger>,
    },
    DeleteTrigger {
        id: String,
        reply: Reply<()>,
    },
}

/// Work the core hands to the driver.
#[derive(Debug)]
pub(crate) enum Output {
    /// Send bytes.
    Send {
        transport: Transport,
        dest: SocketAddr,
        bytes: Vec<u8>,
    },
    /// Publish and persist an event.
    Event(crate::model::event::Event),
    /// Persist a call record.
    SaveCall(CallRecord),
    /// Persist a DTMF configuration.
    SaveDtmfConfiguration(callwire_store::DtmfConfigurationRecord),
    /// Remove a DTMF configuration from the store.
    DeleteDtmfConfiguration(String),
    /// Persist a DTMF trigger.
    SaveDtmfTrigger(callwire_store::DtmfTriggerRecord),
    /// Remove a DTMF trigger from the store.
    DeleteDtmfTrigger(String),
    /// Persist an account (insert or update).
    SaveAccount(AccountRecord),
    /// Remove an account from the store.
    DeleteAccount(String),
    /// Start, steer or stop a call's media task.
    Media(MediaOp),
    /// Persist a recording's metadata.
    SaveRecording(callwire_store::RecordingRecord),
    /// Persist a call's final media statistics (JSON).
    SaveMediaStats { call: String, json: String },
    /// Resolve the first hop of a call a received REFER asks for; answer with
    /// [`Core::on_transfer_target_resolved`].
    ResolveTransferTarget {
        call: String,
        uri: SipUri,
        transport: Transport,
    },
    /// Resolve where an account's registrar is; answer with [`Core::on_registrar_resolved`].
    ResolveRegistrar {
        account: String,
        uri: SipUri,
        transport: Transport,
        generation: u64,
    },
}

/// What a client transaction was started for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClientPurpose {
    /// The INVITE of an outgoing call.
    Invite(String),
    /// A CANCEL for a call's INVITE.
    Cancel(String),
    /// A BYE ending a call.
    Bye(String),
    /// Any other in-dialog request of a call (re-INVITE…).
    InDialog(String),
    /// An INFO carrying one DTMF digit; the next waits for its answer.
    DtmfInfo(String),
    /// Our re-INVITE (hold/resume).
    ReInvite(String),
    /// A REGISTER of an account.
    Register(String),
    /// Our REFER on a call (we transfer it).
    Refer(String),
    /// A NOTIFY reporting a transfer's progress to the referrer.
    TransferNotify(String),
}

/// Named deadlines the core keeps besides the transaction layer's own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum CoreTimer {
    /// An outgoing call rang too long.
    RingTimeout(String),
    /// An incoming call was not answered in time.
    AnswerTimeout(String),
    /// A 2xx we sent needs a retransmission check.
    Responder(String),
    /// An ended call leaves the live table.
    Reap(String),
    /// A CANCEL or BYE got no answer in time.
    Guard(String),
    /// A registration's own deadline.
    Registration(String),
    /// Re-send a re-INVITE after a 491 (glare).
    ReInviteRetry(String),
    /// A call reached its maximum duration.
    MaxDuration(String),
    /// A call's transfer heard nothing in time.
    Transfer(String),
    /// A call an attended transfer replaced is still up: hang it up.
    TransferCleanup(String),
    /// An auto-answer account's `policy.answer_delay_ms` passed: answer.
    AnswerDelay(String),
    /// A call waiting for its account's registration waited too long.
    RegistrationWait(String),
}

/// The core's state.
pub(crate) struct Core {
    pub(crate) config: EngineConfig,
    /// Address in Via/Contact/SDP.
    pub(crate) local_ip: IpAddr,
    /// SIP port.
    pub(crate) local_port: u16,
    pub(crate) tx: TransactionLayer,
    pub(crate) dialogs: DialogTable,
    pub(crate) accounts: BTreeMap<String, Account>,
    /// Registrations of deleted accounts, finishing their unREGISTER.
    pub(crate) retiring: HashMap<String, registrations::Registered>,
    pub(crate) calls: HashMap<String, Call>,
    /// Ended calls, newest last, kept for listing until they age out.
    pub(crate) ended: VecDeque<CallView>,
    pub(crate) by_dialog: HashMap<DialogId, String>,
    pub(crate) by_server_tx: HashMap<ServerTxId, String>,
    pub(crate) client_tx: HashMap<ClientTxId, ClientPurpose>,
    pub(crate) timers: BTreeMap<(Instant, u64), CoreTimer>,
    /// Where each named timer sits in `timers`, so clearing one is O(log n).
    timer_index: HashMap<CoreTimer, (Instant, u64)>,
    /// Calls not yet terminated, in total and per account.
    pub(crate) live_calls: usize,
    pub(crate) live_per_account: HashMap<String, usize>,
    timer_seq: u64,
    pub(crate) timer_generation: u64,
    pub(crate) rtp: RtpPortPool,
    pub(crate) rng: StdRng,
    pub(crate) outputs: VecDeque<Output>,
    pub(crate) shutting_down: bool,
    /// Playback ids handed out so far.
    pub(crate) playback_seq: u64,
    /// The seq the next event gets.
    pub(crate) next_seq: u64,
    /// Totals for `/metrics`.
    pub(crate) counters: Counters,
    /// DTMF configurations and triggers, by id.
    pub(crate) dtmf_configs: BTreeMap<String, crate::model::dtmf::DtmfConfiguration>,
    pub(crate) dtmf_triggers: BTreeMap<String, crate::model::dtmf::DtmfTrigger>,
    /// Calls placed for received REFERs, watched to report their progress.
    pub(crate) transfers: calls::transfer::Transfers,
}

/// Ended calls kept in memory for `GET /v1/calls` (older ones live in the store).
const ENDED_IN_MEMORY: usize = 1000;
/// Dialogs at once: room for forks and re-INVITE races above the call limit.
fn max_dialogs(config: &EngineConfig) -> usize {
    (config.calls.max_concurrent as usize)
        .saturating_mul(2)
        .max(1000)
}

impl Core {
    pub(crate) fn new(
        config: EngineConfig,
        local_ip: IpAddr,
        local_port: u16,
        rng: StdRng,
    ) -> Core {
        let timers = callwire_sip::transaction::TimerConfig {
            t1: Duration::from_millis(config.timers.t1_ms),
            t2: Duration::from_millis(config.timers.t2_ms),
            t4: Duration::from_millis(config.timers.t4_ms),
        };
        let rtp = RtpPortPool::new(
            bind_ip_for(config.sip_bind.ip(), local_ip),
            config.rtp.port_start,
            config.rtp.port_count,
        );
        Core {
            tx: TransactionLayer::new(callwire_sip::transaction::Config {
                timers,
                ..Default::default()
            }),
            dialogs: DialogTable::new(max_dialogs(&config)),
            accounts: BTreeMap::new(),
            retiring: HashMap::new(),
            calls: HashMap::new(),
            ended: VecDeque::new(),
            by_dialog: HashMap::new(),
            by_server_tx: HashMap::new(),
            client_tx: HashMap::new(),
            timers: BTreeMap::new(),
            timer_index: HashMap::new(),
            live_calls: 0,
            live_per_account: HashMap::new(),
            timer_seq: 0,
            timer_generation: 0,
            rtp,
            rng,
            outputs: VecDeque::new(),
            shutting_down: false,
            playback_seq: 0,
            next_seq: 1,
            counters: Counters::default(),
            dtmf_configs: BTreeMap::new(),
            dtmf_triggers: BTreeMap::new(),
            transfers: Default::default(),
            config,
            local_ip,
            local_port,
        }
    }

    /// Our local endpoint for a transport (Via sent-by and Contact).
    pub(crate) fn local_endpoint(&self, transport: Transport, user: Option<&str>) -> LocalEndpoint {
        let host = Host::from(self.local_ip);
        let mut contact = SipUri::new(user, host.clone(), Some(self.local_port));
        if transport == Transport::Tcp {
            contact.params.set("transport", Some("tcp"));
        }
        LocalEndpoint::new(transport.as_str(), host, Some(self.local_port), contact)
    }

    /// Arms a named timer, replacing an earlier one of the same name.
    pub(crate) fn set_timer(&mut self, at: Instant, timer: CoreTimer) {
        self.clear_timer(&timer);
        self.timer_seq += 1;
        let key = (at, self.timer_seq);
        self.timer_index.insert(timer.clone(), key);
        self.timers.insert(key, timer);
    }

    pub(crate) fn clear_timer(&mut self, timer: &CoreTimer) {
        if let Some(key) = self.timer_index.remove(timer) {
            self.timers.remove(&key);
        }
    }

    /// The earliest deadline of the core and its transaction layer.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let own = self.timers.keys().next().map(|(at, _)| *at);
        match (own, self.tx.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs everything due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.tx.handle_timeout(now);
        self.drain_tx(now);
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let timer = entry.remove();
            self.timer_index.remove(&timer);
            match timer {
                CoreTimer::RingTimeout(id) => self.on_ring_timeout(&id, now),
                CoreTimer::AnswerTimeout(id) => self.on_answer_timeout(&id, now),
                CoreTimer::Responder(id) => self.on_responder_timeout(&id, now),
                CoreTimer::Reap(id) => self.reap(&id),
                CoreTimer::Guard(id) => self.on_guard(&id, now),
                CoreTimer::Registration(id) => self.on_registration_timeout(&id, now),
                CoreTimer::ReInviteRetry(id) => self.on_reinvite_retry(&id, now),
                CoreTimer::MaxDuration(id) => self.on_max_duration(&id, now),
                CoreTimer::Transfer(id) => self.on_transfer_timeout(&id, now),
                CoreTimer::TransferCleanup(id) => self.on_transfer_cleanup(&id, now),
                CoreTimer::AnswerDelay(id) => self.on_answer_delay(&id, now),
                CoreTimer::RegistrationWait(id) => self.on_registration_wait_timeout(&id, now),
            }
            self.drain_tx(now);
        }
    }

    /// A message from the network.
    pub(crate) fn receive(&mut self, inbound: crate::driver::transport::Inbound, now: Instant) {
        self.tx
            .receive(inbound.message, inbound.source, inbound.transport, now);
        self.drain_tx(now);
    }

    /// Moves the transaction layer's transmits to the outputs and handles its events.
    pub(crate) fn drain_tx(&mut self, now: Instant) {
        loop {
            while let Some(t) = self.tx.poll_transmit() {
                self.outputs.push_back(Output::Send {
                    transport: t.target.transport,
                    dest: t.target.addr,
                    bytes: t.bytes,
                });
            }
            let Some(event) = self.tx.poll_event() else {
                // Transfers follow the calls they watch; what they send is
                // drained in one more round.
                if self.sync_transfers(now) {
                    continue;
                }
                break;
            };
            self.on_tx_event(event, now);
        }
    }

    fn on_tx_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Request {
                tx,
                request,
                source,
                transport,
            } => self.on_request(
                tx,
                request,
                Target {
                    transport,
                    addr: source,
                },
                now,
            ),
            Event::Ack { request, .. } => self.on_ack(&request, now),
            Event::Response { tx, response } => self.on_response(tx, response, now),
            Event::StrayResponse { response, source } => self.on_stray_response(&response, source),
            Event::Timeout { tx } => self.on_client_failure(tx, 408, "Request Timeout", now),
            Event::TransportError {
                tx: callwire_sip::transaction::TransactionId::Client(tx),
            } => {
                self.on_client_failure(tx, 503, "Transport Error", now);
            }
            Event::AckTimeout { tx } => {
                tracing::debug!(%tx, "no ACK for a final response");
            }
            Event::Overloaded {
                request,
                source,
                transport,
            } if request.method != Method::Ack => {
                let mut resp =
                    Response::for_request(&request, StatusCode::SERVICE_UNAVAILABLE, None);
                resp.head.other.push("Retry-After", "5");
                let to = request
                    .head
                    .top_via()
                    .map(|v| callwire_sip::transaction::response_target(v, source, transport))
                    .unwrap_or(Target {
                        transport,
                        addr: source,
                    });
                self.send_stateless_response(&resp, to);
            }
            Event::Terminated { tx } => {
                if let callwire_sip::transaction::TransactionId::Client(id) = tx {
                    self.client_tx.remove(&id);
                } else if let callwire_sip::transaction::TransactionId::Server(id) = tx {
                    self.by_server_tx.remove(&id);
                }
            }
            _ => {}
        }
    }

    /// Sends a response outside any transaction (e.g. to a request the layer refused).
    pub(crate) fn send_stateless_response(&mut self, resp: &Response, to: Target) {
        self.outputs.push_back(Output::Send {
            transport: to.transport,
            dest: to.addr,
            bytes: resp.to_bytes(),
        });
    }

    /// Sends a request outside any transaction (ACK for 2xx).
    pub(crate) fn send_stateless_request(&mut self, req: &Request, to: Target) {
        self.outputs.push_back(Output::Send {
            transport: to.transport,
            dest: to.addr,
            bytes: req.to_bytes(),
        });
    }

    /// Answers a request through its server transaction.
    pub(crate) fn respond(&mut self, tx: ServerTxId, resp: Response, now: Instant) {
        if let Err(e) = self.tx.send_response(tx, resp, now) {
            tracing::debug!(%tx, error = %e, "response not sent");
        }
    }

    fn on_request(&mut self, tx: ServerTxId, req: Request, source: Target, now: Instant) {
        if let Err(rejection) = callwire_sip::parse::validate::check_request(&req, SUPPORTED) {
            let mut resp = Response::for_request(
                &req,
                StatusCode::new(rejection.status).unwrap_or(StatusCode::BAD_REQUEST),
                Some(&rejection.reason),
            );
            for (n, v) in rejection.extra_headers {
                resp.head.other.push(&n, v);
            }
            self.add_to_tag(&mut resp);
            self.respond(tx, resp, now);
            return;
        }
        if callwire_sip::dialog::is_in_dialog(&req) {
            self.on_in_dialog_request(tx, req, source, now);
            return;
        }
        match req.method {
            Method::Invite => self.on_new_invite(tx, req, source, now),
            Method::Cancel => self.on_cancel(tx, req, now),
            Method::Options => {
                let mut resp = Response::for_request(&req, StatusCode::OK, None);
                self.add_capabilities(&mut resp);
                self.add_to_tag(&mut resp);
                self.respond(tx, resp, now);
            }
            Method::Bye | Method::Info | Method::Update | Method::Prack | Method::Notify => {
                // No To tag: not in a dialog we know.
                let resp = Response::for_request(&req, StatusCode::CALL_DOES_NOT_EXIST, None);
                self.respond(tx, resp, now);
            }
            Method::Refer => {
                let mut resp = Response::for_request(
                    &req,
                    StatusCode::FORBIDDEN,
                    Some("Forbidden - REFER Only Within A Call"),
                );
                self.add_to_tag(&mut resp);
                self.respond(tx, resp, now);
            }
            Method::Extension(_) => {
                let mut resp = Response::for_request(&req, StatusCode::NOT_IMPLEMENTED, None);
                self.add_capabilities(&mut resp);
                self.add_to_tag(&mut resp);
                self.respond(tx, resp, now);
            }
            _ => {
                let mut resp = Response::for_request(&req, StatusCode::METHOD_NOT_ALLOWED, None);
                self.add_capabilities(&mut resp);
                self.add_to_tag(&mut resp);
                self.respond(tx, resp, now);
            }
        }
    }

    /// Allow/Accept/Supported, as OPTIONS, 405 and 501 carry them.
    pub(crate) fn add_capabilities(&self, resp: &mut Response) {
        resp.head.other.push("Allow", ALLOW);
        resp.head.other.push("Accept", "application/sdp");
        resp.head.other.push("Supported", SUPPORTED.join(", "));
        resp.head
            .other
            .push("Server", self.config.user_agent.clone());
    }

    /// A To tag for a final response that creates no dialog (RFC 3261 §8.2.6.2).
    pub(crate) fn add_to_tag(&mut self, resp: &mut Response) {
        if resp.head.to.tag().is_none() {
            let tag = callwire_sip::dialog::new_tag(&mut self.rng);
            resp.head.to.set_tag(&tag);
        }
    }

    fn on_client_failure(&mut self, tx: ClientTxId, code: u16, reason: &str, now: Instant) {
        let Some(purpose) = self.client_tx.remove(&tx) else {
            return;
        };
        match purpose {
            ClientPurpose::Invite(id) => self.on_invite_failed(&id, code, reason, now),
            ClientPurpose::Bye(id) | ClientPurpose::Cancel(id) => self.finish_call(&id, now),
            ClientPurpose::InDialog(_) => {}
            ClientPurpose::DtmfInfo(id) => self.next_info_dtmf(&id, now),
            ClientPurpose::ReInvite(id) => self.on_reinvite_failure(&id, now),
            ClientPurpose::Register(account) => self.on_register_failure(&account, now),
            ClientPurpose::Refer(id) => self.on_refer_failure(&id, code, reason, now),
            ClientPurpose::TransferNotify(id) => self.on_transfer_notify_answered(&id, code, now),
        }
    }

    fn on_response(&mut self, tx: ClientTxId, resp: Response, now: Instant) {
        let Some(purpose) = self.client_tx.get(&tx).cloned() else {
            return;
        };
        if resp.status.is_final() && !(purpose_is_invite(&purpose) && resp.status.is_success()) {
            self.client_tx.remove(&tx);
        }
        match purpose {
            ClientPurpose::Invite(id) => {
                self.transfers.note_provisional(&id, &resp);
                self.on_invite_response(&id, tx, resp, now)
            }
            ClientPurpose::Cancel(_) => {}
            ClientPurpose::Bye(id) => {
                if resp.status.is_final() {
                    self.finish_call(&id, now);
                }
            }
            ClientPurpose::InDialog(_) => {}
            ClientPurpose::DtmfInfo(id) => {
                if resp.status.is_final() {
                    self.next_info_dtmf(&id, now);
                }
            }
            ClientPurpose::ReInvite(id) => self.on_reinvite_response(&id, &resp, now),
            ClientPurpose::Register(account) => self.on_register_response(&account, &resp, now),
            ClientPurpose::Refer(id) => self.on_refer_response(&id, &resp, now),
            ClientPurpose::TransferNotify(id) => {
                if resp.status.is_final() {
                    self.on_transfer_notify_answered(&id, resp.status.code(), now);
                }
            }
        }
    }

    pub(crate) fn active_calls(&self) -> usize {
        self.live_calls
    }

    /// Handles one command; replies go out on the command's channel.
    pub(crate) fn command(&mut self, cmd: Command, now: Instant) {
        match cmd {
            Command::State(reply) => {
                let calls = self
                    .calls
                    .values()
                    .filter(|c| !c.is_ended())
                    .map(|c| c.view())
                    .collect();
                let _ = reply.send(Ok(crate::StateSnapshot {
                    seq: self.next_seq.saturating_sub(1),
                    accounts: self.accounts.values().map(|a| a.view()).collect(),
                    calls,
                }));
            }
            Command::Dtmf(cmd) => match cmd {
                DtmfCommand::ListConfigurations(reply) => {
                    let _ = reply.send(Ok(self.list_dtmf_configurations()));
                }
                DtmfCommand::GetConfiguration { id, reply } => {
                    let _ = reply.send(self.get_dtmf_configuration(&id));
                }
                DtmfCommand::PutConfiguration {
                    id,
                    input,
                    create,
                    reply,
                } => {
                    let _ = reply.send(self.put_dtmf_configuration(id, input, create));
                }
                DtmfCommand::DeleteConfiguration { id, reply } => {
                    let _ = reply.send(self.delete_dtmf_configuration(&id));
                }
                DtmfCommand::ListTriggers(reply) => {
                    let _ = reply.send(Ok(self.list_dtmf_triggers()));
                }
                DtmfCommand::GetTrigger { id, reply } => {
                    let _ = reply.send(self.get_dtmf_trigger(&id));
                }
                DtmfCommand::CreateTrigger {
                    id,
                    configuration,
                    account,
                    reply,
                } => {
                    let _ = reply.send(self.create_dtmf_trigger(id, configuration, account));
                }
                DtmfCommand::DeleteTrigger { id, reply } => {
                    let _ = reply.send(self.delete_dtmf_trigger(&id));
                }
            },
            Command::Metrics(reply) => {
                let mut registrations: BTreeMap<&'static str, u64> = BTreeMap::new();
                for a in self.accounts.values() {
                    let state = match a.view().registration.state {
                        crate::RegistrationState::Unregistered => "unregistered",
                        crate::RegistrationState::Registering => "registering",
                        crate::RegistrationState::Registered => "registered",
                        crate::RegistrationState::Failed => "failed",
                    };
                    *registrations.entry(state).or_default() += 1;
                }
                let _ = reply.send(Ok(crate::MetricsSnapshot {
                    active_calls: self.active_calls() as u64,
                    calls_started: self.counters.calls_started.clone(),
                    calls_ended: self.counters.calls_ended.clone(),
                    registrations,
                    events_emitted: self.next_seq.saturating_sub(1),
                    transactions: self.tx.len() as u64,
                }));
            }
            Command::ActiveCalls(reply) => {
                let _ = reply.send(Ok(self.active_calls()));
            }
            Command::ListAccounts(reply) => {
                let _ = reply.send(Ok(self.accounts.values().map(Account::view).collect()));
            }
            Command::GetAccount { id, reply } => {
                let _ = reply.send(self.account(&id).map(Account::view));
            }
            Command::CreateAccount {
                id,
                settings,
                password,
                reply,
            } => {
                let _ = reply.send(self.create_account(id, settings, password, now));
            }
            Command::UpdateAccount {
                id,
                settings,
                password,
                reply,
            } => {
                let _ = reply.send(self.update_account(&id, settings, password, now));
            }
            Command::DeleteAccount { id, reply } => {
                let _ = reply.send(self.delete_account(&id, now));
            }
            Command::ListCalls { limit, reply } => {
                let _ = reply.send(Ok(self.list_calls(limit)));
            }
            Command::GetCall { id, reply } => {
                let result = self.get_call(&id);
                let _ = reply.send(result);
            }
            Command::PlaceCall {
                call,
                target,
                resolved,
                reply,
            } => {
                let _ = reply.send(self.place_call(call, target, resolved, now));
            }
            Command::Answer { id, reply } => {
                let _ = reply.send(self.answer(&id, now));
            }
            Command::Progress { id, reply } => {
                let _ = reply.send(self.progress(&id, now));
            }
            Command::Reject { id, code, reply } => {
                let _ = reply.send(self.reject(&id, code, now));
            }
            Command::Hangup { id, reply } => {
                let _ = reply.send(self.hangup(&id, now));
            }
            Command::Play { id, request, reply } => {
                let _ = reply.send(self.play(&id, request));
            }
            Command::StopPlay { id, reply } => {
                let _ = reply.send(self.stop_play(&id));
            }
            Command::SendDtmf {
                id,
                digits,
                how,
                reply,
            } => {
                let _ = reply.send(self.send_dtmf(&id, &digits, how, now));
            }
            Command::Recording { id, action, reply } => {
                let _ = reply.send(self.control_recording(&id, action));
            }
            Command::Hold { id, hold, reply } => {
                let _ = reply.send(self.set_hold(&id, hold, now));
            }
            Command::Transfer { id, to, reply } => {
                let _ = reply.send(self.transfer(&id, to, now));
            }
            Command::Shutdown { .. } => {
                // Handled by the driver, which owns the grace period.
            }
        }
        self.drain_tx(now);
    }

    /// Starts a graceful stop: hang up every call, unregister every account.
    pub(crate) fn begin_shutdown(&mut self, now: Instant) {
        self.shutting_down = true;
        let ids: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, c)| !c.is_ended())
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let _ = self.hangup(&id, now);
        }
        let accounts: Vec<String> = self.accounts.keys().cloned().collect();
        for id in accounts {
            self.stop_registration(&id, now);
        }
        self.drain_tx(now);
    }

    /// Whether a graceful stop has nothing left to wait for.
    pub(crate) fn quiescent(&self) -> bool {
        self.active_calls() == 0
            && self.accounts.values().all(Account::is_quiet)
            && self
                .retiring
                .values()
                .all(registrations::Registered::is_quiet)
    }
}

fn purpose_is_invite(p: &ClientPurpose) -> bool {
    matches!(p, ClientPurpose::Invite(_) | ClientPurpose::ReInvite(_))
}

/// The IP RTP sockets bind on: the SIP bind address unless it is unspecified.
fn bind_ip_for(bind: IpAddr, advertised: IpAddr) -> IpAddr {
    if bind.is_unspecified() {
        if advertised.is_loopback() {
            advertised
        } else {
            bind
        }
    } else {
        bind
    }
}

/// Methods we answer.
pub(crate) const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, NOTIFY, REFER";
/// Option tags we support (Require with any other tag gets 420): INVITE
/// with Replaces (RFC 3891) and REFER without subscription (RFC 4488).
pub(crate) const SUPPORTED: &[&str] = &["replaces", "norefersub"];
