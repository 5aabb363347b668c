//! Calls: the call table, views and records, and the end of a call. The SIP
//! sides live in `incoming` (UAS) and `outgoing` (UAC), requests inside an
//! established call in `in_dialog`, the API's controls in `control`, and call
//! transfer (REFER, NOTIFY, Replaces) in `transfer`.
//!
//! In-dialog requests go to the first Route's address, else the remote target,
//! when that is an IP literal; otherwise to the address the peer's messages came
//! from (the next hop we already talk to). No DNS happens inside a dialog.

mod control;
mod early;
mod hold;
mod in_dialog;
mod incoming;
mod media;
mod outgoing;
mod policy;
pub(crate) mod transfer;
mod waiting;

pub use media::{DtmfSend, PlayRequest};

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use callwire_media::sdp::{self, LocalMedia, SessionDescription};
use callwire_sip::auth::{pick_challenge, AuthState, Challenge, DigestClient};
use callwire_sip::dialog::{
    self, Dialog, DialogId, ResponderAction, ResponseAction, UasInviteResponder,
};
use callwire_sip::message::{NameAddr, Request, Response, SipUri, StatusCode, Uri};
use callwire_sip::transaction::{
    self as txn, response_target, ClientTxId, ServerTxId, Target, TimerConfig, Transport,
};
use callwire_store::CallRecord;
use chrono::{DateTime, Utc};
use rand::RngCore;

use super::{ClientPurpose, Core, CoreTimer, Output};
use crate::driver::dns::Resolved;
use crate::driver::rtp::RtpPorts;
use crate::error::EngineError;
use crate::model::call::{CallState, CallView, Direction, Reason};
use crate::PlaceCall;

/// How long an ended call stays in the live table to absorb late messages.
const LINGER: Duration = Duration::from_secs(32);
/// How long a CANCEL or BYE may go unanswered before the call is ended anyway.
const TERMINATING_GUARD: Duration = Duration::from_secs(32);

/// The SIP side of an incoming call.
pub(crate) struct IncomingLeg {
    tx: ServerTxId,
    invite: Request,
    dialog: DialogId,
    /// Where the INVITE came from.
    peer: Target,
    /// Our SDP (answer to their offer, or our offer when theirs was absent).
    local_sdp: Vec<u8>,
    /// The offer we sent in the 2xx when the INVITE had none.
    our_offer: Option<SessionDescription>,
    responder: Option<UasInviteResponder>,
    answered: bool,
}

/// The SIP side of an outgoing call.
pub(crate) struct OutgoingLeg {
    /// The INVITE's transaction; `None` while the call waits for its
    /// account's registration (nothing sent yet).
    tx: Option<ClientTxId>,
    /// The ring timeout, armed when the INVITE goes out.
    ring: Duration,
    invite: Request,
    peer: Target,
    dialog: Option<DialogId>,
    provisional: bool,
    /// Set once we decided to cancel: the reason the call ends with.
    cancel: Option<Reason>,
    cancel_sent: bool,
    offer: SessionDescription,
    auth: AuthState,
    digest: DigestClient,
    /// Start media on a 18x with SDP (`PlaceCall::refuse_early_media` unset).
    accept_early: bool,
    /// The answer a 18x carried: the answer of the call when the 2xx has none.
    early_answer: Option<callwire_media::sdp::Negotiated>,
}

pub(crate) enum Leg {
    Incoming(Box<IncomingLeg>),
    Outgoing(Box<OutgoingLeg>),
}

/// One call.
pub(crate) struct Call {
    id: String,
    account: String,
    from: String,
    to: String,
    state: CallState,
    reason: Reason,
    sip_status: Option<u16>,
    sip_reason: Option<String>,
    sip_call_id: String,
    codec: Option<String>,
    /// Our RTP address (the media task owns the socket).
    local_rtp: SocketAddr,
    remote_rtp: Option<SocketAddr>,
    created_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    leg: Leg,
    /// `o=` session id and version of our SDP; the version goes up with every
    /// new description we send.
    sdp_session: u64,
    sdp_version: u64,
    media: media::CallMedia,
    /// DTMF digits waiting to go out as INFO, and whether one is under way.
    info_dtmf: std::collections::VecDeque<callwire_media::dtmf::Digit>,
    info_busy: bool,
    /// What the event stream last said about this call.
    mark: Option<crate::core::events::CallMark>,
    /// Hang up this long after the answer.
    max_duration: Option<Duration>,
    /// The call's latest transfer.
    transfer: Option<transfer::Transfer>,
    /// How a transfer made this call, if one did.
    origin: Option<transfer::Origin>,
    /// Media runs before the answer (see [`CallView::early_media`]).
    early_media: bool,
}

impl Call {
    /// A new call in state `calling`, with our description `local` (its
    /// address, `o=` session id and version).
    fn new(
        id: String,
        account: String,
        from: String,
        to: String,
        sip_call_id: String,
        local: &LocalMedia,
        leg: Leg,
    ) -> Call {
        Call {
            id,
            account,
            from,
            to,
            state: CallState::Calling,
            reason: Reason::Initiated,
            sip_status: None,
            sip_reason: None,
            sip_call_id,
            codec: None,
            local_rtp: SocketAddr::new(local.ip, local.rtp_port),
            remote_rtp: None,
            created_at: Utc::now(),
            answered_at: None,
            ended_at: None,
            leg,
            sdp_session: local.session_id,
            sdp_version: local.session_version,
            media: Default::default(),
            info_dtmf: Default::default(),
            info_busy: false,
            mark: None,
            max_duration: None,
            transfer: None,
            origin: None,
            early_media: false,
        }
    }

    /// The leg's kind is the call's direction.
    fn direction(&self) -> Direction {
        match self.leg {
            Leg::Incoming(_) => Direction::Incoming,
            Leg::Outgoing(_) => Direction::Outgoing,
        }
    }

    pub(crate) fn is_ended(&self) -> bool {
        self.state.is_ended()
    }

    pub(crate) fn account(&self) -> &str {
        &self.account
    }

    pub(crate) fn mark(&self) -> Option<crate::core::events::CallMark> {
        self.mark
    }

    /// What the event stream would say about the call now.
    pub(crate) fn current_mark(&self) -> crate::core::events::CallMark {
        crate::core::events::CallMark {
            state: self.state,
            on_hold: self.media.on_hold,
            remote_hold: self.media.remote_hold(),
            waiting: self.is_waiting(),
        }
    }

    /// The call waits for its account's registration: no INVITE sent yet.
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(&self.leg, Leg::Outgoing(l) if l.tx.is_none()) && !self.state.is_ended()
    }

    pub(crate) fn set_mark(&mut self, mark: crate::core::events::CallMark) {
        self.mark = Some(mark);
    }

    pub(crate) fn view(&self) -> CallView {
        CallView {
            id: self.id.clone(),
            account: self.account.clone(),
            direction: self.direction(),
            from: self.from.clone(),
            to: self.to.clone(),
            state: self.state,
            reason: self.reason,
            sip_status: self.sip_status,
            sip_reason: self.sip_reason.clone(),
            sip_call_id: self.sip_call_id.clone(),
            codec: self.codec.clone(),
            local_rtp: Some(self.local_rtp.to_string()),
            remote_rtp: self.remote_rtp.map(|a| a.to_string()),
            created_at: self.created_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
            on_hold: self.media.on_hold,
            remote_hold: self.media.remote_hold(),
            dtmf: self.media.dtmf.clone(),
            playback: self.media.playback,
            recordings: self.media.recordings.clone(),
            media: self.media.stats.clone(),
            transfer: self.transfer.as_ref().map(transfer::Transfer::view),
            transferred_from: self
                .origin
                .as_ref()
                .and_then(transfer::Origin::transferred_from),
            replaces: self.origin.as_ref().and_then(transfer::Origin::replaces),
            early_media: self.early_media,
            waiting_for_registration: self.is_waiting(),
        }
    }

    fn record(&self) -> CallRecord {
        CallRecord {
            id: self.id.clone(),
            account: self.account.clone(),
            direction: self.direction().as_str().into(),
            from_uri: self.from.clone(),
            to_uri: self.to.clone(),
            state: self.state.as_str().into(),
            reason: self.reason.as_str().into(),
            sip_status: self.sip_status,
            sip_reason: self.sip_reason.clone(),
            call_id: Some(self.sip_call_id.clone()),
            created_at: self.created_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
            codec: self.codec.clone(),
            media_stats: None,
        }
    }

    fn peer(&self) -> Target {
        match &self.leg {
            Leg::Incoming(l) => l.peer,
            Leg::Outgoing(l) => l.peer,
        }
    }

    fn dialog_id(&self) -> Option<&DialogId> {
        match &self.leg {
            Leg::Incoming(l) => Some(&l.dialog),
            Leg::Outgoing(l) => l.dialog.as_ref(),
        }
    }
}

/// A call view rebuilt from a stored record (calls no longer in memory).
pub(crate) fn view_from_record(r: CallRecord) -> CallView {
    let direction = if r.direction == "incoming" {
        Direction::Incoming
    } else {
        Direction::Outgoing
    };
    let state = match r.state.as_str() {
        "calling" => CallState::Calling,
        "ringing" => CallState::Ringing,
        "active" => CallState::Active,
        "terminating" => CallState::Terminating,
        _ => CallState::Terminated,
    };
    let reason = match r.reason.as_str() {
        "Initiated" => Reason::Initiated,
        "AcceptedByRemote" => Reason::AcceptedByRemote,
        "AcceptedByDevice" => Reason::AcceptedByDevice,
        "NoAnswer" => Reason::NoAnswer,
        "Busy" => Reason::Busy,
        "Denied" => Reason::Denied,
        "Failed" => Reason::Failed,
        "MediaTimeout" => Reason::MediaTimeout,
        "Transferred" => Reason::Transferred,
        "Replaced" => Reason::Replaced,
        "RegistrationTimeout" => Reason::RegistrationTimeout,
        _ => Reason::Terminated,
    };
    CallView {
        id: r.id,
        account: r.account,
        direction,
        from: r.from_uri,
        to: r.to_uri,
        state,
        reason,
        sip_status: r.sip_status,
        sip_reason: r.sip_reason,
        sip_call_id: r.call_id.unwrap_or_default(),
        codec: r.codec,
        local_rtp: None,
        remote_rtp: None,
        created_at: r.created_at,
        answered_at: r.answered_at,
        ended_at: r.ended_at,
        on_hold: false,
        remote_hold: false,
        dtmf: Vec::new(),
        playback: None,
        recordings: Vec::new(),
        media: r
            .media_stats
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok()),
        transfer: None,
        transferred_from: None,
        replaces: None,
        early_media: false,
        waiting_for_registration: false,
    }
}

/// Where to send in-dialog requests (see the module doc).
fn in_dialog_target(d: &Dialog, peer: Target) -> Target {
    let uri = d
        .route_set()
        .first()
        .map(|r| &r.uri)
        .unwrap_or(d.remote_target());
    if let Uri::Sip(s) = uri {
        if let Some(ip) = s.host.ip() {
            let transport = match s.transport_param().as_deref() {
                Some("tcp") => Transport::Tcp,
                Some("udp") => Transport::Udp,
                _ => peer.transport,
            };
            return Target::new(transport, SocketAddr::new(ip, s.port.unwrap_or(5060)));
        }
    }
    peer
}

fn is_sdp(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|c| {
        c.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp"))
    })
}

impl Core {
    fn now_utc() -> DateTime<Utc> {
        Utc::now()
    }

    /// Our audio description for a call on `account`: its codecs in its order.
    fn local_media(&mut self, port: u16, account: &str) -> LocalMedia {
        let mut media = LocalMedia::new(self.local_ip, port);
        media.session_id = self.rng.next_u64() >> 1;
        media.session_version = 1;
        media.username = "callwire".into();
        if let Some(a) = self.accounts.get(account) {
            let codecs = a.settings().codec_specs();
            if !codecs.is_empty() {
                media.codecs = codecs;
            }
        }
        media
    }

    /// Our description for a new offer or answer inside the call: same port,
    /// session id and codecs, the next `o=` version (RFC 3264 §8), `sendonly`
    /// while we hold the call.
    fn renewed_local_media(&mut self, id: &str, hold: bool) -> Option<LocalMedia> {
        let call = self.calls.get_mut(id)?;
        call.sdp_version += 1;
        let (port, version, session, account) = (
            call.local_rtp.port(),
            call.sdp_version,
            call.sdp_session,
            call.account.clone(),
        );
        let mut media = self.local_media(port, &account);
        media.session_id = session;
        media.session_version = version;
        if hold {
            media.direction = callwire_media::sdp::Direction::SendOnly;
        }
        Some(media)
    }

    fn responder_timers(&self) -> TimerConfig {
        TimerConfig {
            t1: Duration::from_millis(self.config.timers.t1_ms),
            t2: Duration::from_millis(self.config.timers.t2_ms),
            t4: Duration::from_millis(self.config.timers.t4_ms),
        }
    }

    /// Persists a call's record and publishes what changed about it.
    fn save(&mut self, id: &str) {
        if let Some(call) = self.calls.get(id) {
            self.outputs.push_back(Output::SaveCall(call.record()));
        }
        self.call_changed(id);
    }

    fn calls_on_account(&self, account: &str) -> usize {
        self.live_per_account.get(account).copied().unwrap_or(0)
    }

    /// Adds a new call to the table and the live counters.
    fn insert_call(&mut self, mut call: Call) {
        call.origin = self.transfers.take_origin();
        self.live_calls += 1;
        *self
            .counters
            .calls_started
            .entry(call.direction().as_str())
            .or_default() += 1;
        *self
            .live_per_account
            .entry(call.account.clone())
            .or_default() += 1;
        self.calls.insert(call.id.clone(), call);
    }

    /// Picks the account an incoming INVITE is for: an enabled account whose user
    /// matches the Request-URI user (domain match preferred), else `default`.
    fn account_for_invite(&self, req: &Request) -> String {
        let Some(sip) = req.uri.as_sip() else {
            return crate::model::account::DEFAULT_ACCOUNT.into();
        };
        let user = sip.user.as_deref().unwrap_or_default();
        let host = sip.host.to_string();
        let mut best: Option<&str> = None;
        for (id, a) in &self.accounts {
            let s = a.settings();
            if !s.enabled || s.user != user || id == crate::model::account::DEFAULT_ACCOUNT {
                continue;
            }
            if s.domain.eq_ignore_ascii_case(&host) {
                return id.clone();
            }
            best.get_or_insert(id);
        }
        best.map(str::to_owned)
            .unwrap_or_else(|| crate::model::account::DEFAULT_ACCOUNT.into())
    }

    /// The call's BYE or CANCEL got its answer (or timed out).
    pub(crate) fn finish_call(&mut self, id: &str, now: Instant) {
        let reason = self
            .calls
            .get(id)
            .map(|c| c.reason)
            .unwrap_or(Reason::Terminated);
        let Some(call) = self.calls.get(id) else {
            return;
        };
        if call.state == CallState::Terminating {
            if let Leg::Outgoing(leg) = &call.leg {
                if leg.cancel_sent && call.answered_at.is_none() {
                    // Wait for the 487; the guard timer ends it otherwise.
                    return;
                }
            }
            self.end_call(id, reason, None, now);
        }
    }

    /// Marks a call terminated, frees its media and dialog, saves the record.
    pub(crate) fn end_call(
        &mut self,
        id: &str,
        reason: Reason,
        status: Option<(u16, &str)>,
        now: Instant,
    ) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        if call.state.is_ended() {
            return;
        }
        call.state = CallState::Terminated;
        call.reason = reason;
        *self
            .counters
            .calls_ended
            .entry(reason.as_str())
            .or_default() += 1;
        if let Some((code, phrase)) = status {
            call.sip_status = Some(code);
            call.sip_reason = Some(phrase.to_owned());
        }
        call.ended_at = Some(Self::now_utc());
        call.info_dtmf.clear();
        // An INVITE we cancelled may still be answered: keep the call a while so a
        // late 2xx gets its ACK and BYE. Every other call leaves the table now.
        let linger = matches!(&call.leg, Leg::Outgoing(l) if l.cancel.is_some() && l.tx.is_some() && call.answered_at.is_none());
        let account = call.account.clone();
        self.live_calls = self.live_calls.saturating_sub(1);
        if let Some(n) = self.live_per_account.get_mut(&account) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.live_per_account.remove(&account);
            }
        }
        self.stop_media(id);
        for t in [
            CoreTimer::RingTimeout(id.into()),
            CoreTimer::AnswerTimeout(id.into()),
            CoreTimer::Responder(id.into()),
            CoreTimer::Guard(id.into()),
            CoreTimer::MaxDuration(id.into()),
            CoreTimer::Transfer(id.into()),
            CoreTimer::AnswerDelay(id.into()),
            CoreTimer::RegistrationWait(id.into()),
        ] {
            self.clear_timer(&t);
        }
        tracing::debug!(call = %id, reason = reason.as_str(), "call ended");
        self.save(id);
        if linger {
            self.set_timer(now + LINGER, CoreTimer::Reap(id.to_owned()));
        } else {
            self.reap(id);
        }
    }

    /// A CANCEL or BYE went unanswered for too long: end the call anyway.
    pub(crate) fn on_guard(&mut self, id: &str, now: Instant) {
        let Some(call) = self.calls.get(id) else {
            return;
        };
        let reason = match &call.leg {
            Leg::Outgoing(l) => l.cancel.unwrap_or(call.reason),
            Leg::Incoming(_) => call.reason,
        };
        self.end_call(id, reason, None, now);
    }

    /// Drops an ended call from the live table (it stays listed from memory/store).
    pub(crate) fn reap(&mut self, id: &str) {
        let Some(call) = self.calls.remove(id) else {
            return;
        };
        if let Some(did) = call.dialog_id() {
            self.dialogs.remove(did);
            self.by_dialog.remove(did);
        }
        if let Leg::Incoming(l) = &call.leg {
            self.by_server_tx.remove(&l.tx);
        }
        self.remember_ended(call.view());
    }

    /// Keeps an ended call's view for listing (the newest ones only).
    fn remember_ended(&mut self, view: CallView) {
        self.ended.push_back(view);
        while self.ended.len() > super::ENDED_IN_MEMORY {
            self.ended.pop_front();
        }
    }

    /// The call's maximum duration passed: hang up.
    pub(crate) fn on_max_duration(&mut self, id: &str, now: Instant) {
        if self
            .calls
            .get(id)
            .is_some_and(|c| c.state == CallState::Active)
        {
            tracing::info!(call = %id, "maximum duration reached; hanging up");
            let _ = self.send_bye(id, Reason::Terminated, now);
        }
    }

    pub(crate) fn list_calls(&self, limit: usize) -> Vec<CallView> {
        let mut live: Vec<CallView> = self.calls.values().map(Call::view).collect();
        live.sort_by_key(|c| (c.state.is_ended(), std::cmp::Reverse(c.created_at)));
        let mut out: Vec<CallView> = live.into_iter().take(limit).collect();
        for v in self.ended.iter().rev() {
            if out.len() >= limit {
                break;
            }
            out.push(v.clone());
        }
        out
    }

    pub(crate) fn get_call(&self, id: &str) -> Result<CallView, EngineError> {
        if let Some(c) = self.calls.get(id) {
            return Ok(c.view());
        }
        self.ended
            .iter()
            .rev()
            .find(|v| v.id == id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }
}

fn not_found(id: &str) -> EngineError {
    EngineError::NotFound {
        what: "call",
        id: id.to_owned(),
    }
}
