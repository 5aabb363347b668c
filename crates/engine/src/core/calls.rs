//! Calls: incoming INVITEs (UAS), outgoing calls (UAC), answer, reject, hang-up,
//! CANCEL and BYE in both directions, the ring/answer timeouts and call records.
//!
//! In-dialog requests go to the first Route's address, else the remote target,
//! when that is an IP literal; otherwise to the address the peer's messages came
//! from (the next hop we already talk to). No DNS happens inside a dialog.

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
    tx: ClientTxId,
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
}

pub(crate) enum Leg {
    Incoming(Box<IncomingLeg>),
    Outgoing(Box<OutgoingLeg>),
}

/// One call.
pub(crate) struct Call {
    id: String,
    account: String,
    direction: Direction,
    from: String,
    to: String,
    state: CallState,
    reason: Reason,
    sip_status: Option<u16>,
    sip_reason: Option<String>,
    sip_call_id: String,
    codec: Option<String>,
    local_rtp: Option<SocketAddr>,
    remote_rtp: Option<SocketAddr>,
    created_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    leg: Leg,
    rtp: Option<RtpPorts>,
}

impl Call {
    pub(crate) fn is_ended(&self) -> bool {
        self.state.is_ended()
    }

    pub(crate) fn account(&self) -> &str {
        &self.account
    }

    pub(crate) fn view(&self) -> CallView {
        CallView {
            id: self.id.clone(),
            account: self.account.clone(),
            direction: self.direction,
            from: self.from.clone(),
            to: self.to.clone(),
            state: self.state,
            reason: self.reason,
            sip_status: self.sip_status,
            sip_reason: self.sip_reason.clone(),
            sip_call_id: self.sip_call_id.clone(),
            codec: self.codec.clone(),
            local_rtp: self.local_rtp.map(|a| a.to_string()),
            remote_rtp: self.remote_rtp.map(|a| a.to_string()),
            created_at: self.created_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
        }
    }

    fn record(&self) -> CallRecord {
        CallRecord {
            id: self.id.clone(),
            account: self.account.clone(),
            direction: self.direction.as_str().into(),
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
        codec: None,
        local_rtp: None,
        remote_rtp: None,
        created_at: r.created_at,
        answered_at: r.answered_at,
        ended_at: r.ended_at,
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

    fn local_media(&mut self, port: u16) -> LocalMedia {
        let mut media = LocalMedia::new(self.local_ip, port);
        media.session_id = self.rng.next_u64() >> 1;
        media.session_version = 1;
        media.username = "callwire".into();
        media
    }

    fn responder_timers(&self) -> TimerConfig {
        TimerConfig {
            t1: Duration::from_millis(self.config.timers.t1_ms),
            t2: Duration::from_millis(self.config.timers.t2_ms),
            t4: Duration::from_millis(self.config.timers.t4_ms),
        }
    }

    fn save(&mut self, id: &str) {
        if let Some(call) = self.calls.get(id) {
            self.outputs.push_back(Output::SaveCall(call.record()));
        }
    }

    fn calls_on_account(&self, account: &str) -> usize {
        self.live_per_account.get(account).copied().unwrap_or(0)
    }

    /// Adds a new call to the table and the live counters.
    fn insert_call(&mut self, call: Call) {
        self.live_calls += 1;
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

    /// A new incoming INVITE (no To tag).
    pub(crate) fn on_invite(&mut self, tx: ServerTxId, req: Request, source: Target, now: Instant) {
        let reject = |core: &mut Core, status: StatusCode, reason: Option<&str>, retry: bool| {
            let mut resp = Response::for_request(&req, status, reason);
            if retry {
                resp.head.other.push("Retry-After", "5");
            }
            core.add_to_tag(&mut resp);
            core.respond(tx, resp, now);
        };
        if self.shutting_down {
            return reject(
                self,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Shutting Down"),
                true,
            );
        }
        if self.active_calls() >= self.config.calls.max_concurrent as usize {
            return reject(
                self,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Too Many Calls"),
                true,
            );
        }
        if req.head.contact.is_empty() {
            return reject(
                self,
                StatusCode::BAD_REQUEST,
                Some("Bad Request - Missing Contact"),
                false,
            );
        }
        let account_id = self.account_for_invite(&req);
        let Some(account) = self.accounts.get(&account_id) else {
            return reject(self, StatusCode::NOT_FOUND, None, false);
        };
        let settings = account.settings().clone();
        if !settings.enabled {
            return reject(self, StatusCode::TEMPORARILY_UNAVAILABLE, None, false);
        }
        if settings
            .max_calls
            .is_some_and(|m| self.calls_on_account(&account_id) >= m as usize)
        {
            return reject(self, StatusCode::BUSY_HERE, None, false);
        }
        // The offer, if any.
        let offer = if req.body.is_empty() {
            None
        } else if !is_sdp(req.head.content_type.as_deref()) {
            let mut resp = Response::for_request(&req, StatusCode::UNSUPPORTED_MEDIA_TYPE, None);
            resp.head.other.push("Accept", "application/sdp");
            self.add_to_tag(&mut resp);
            return self.respond(tx, resp, now);
        } else {
            match SessionDescription::parse(&req.body) {
                Ok(o) => Some(o),
                Err(e) => {
                    let why = format!("Bad Request - Invalid SDP ({e})");
                    return reject(self, StatusCode::BAD_REQUEST, Some(&why), false);
                }
            }
        };
        let Some(rtp) = self.rtp.allocate() else {
            return reject(
                self,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("No Media Ports"),
                true,
            );
        };
        let media = self.local_media(rtp.port());
        let (local_sdp, our_offer, negotiated) = match &offer {
            Some(offer) => match sdp::answer(offer, &media) {
                Ok((answer, neg)) => (answer.to_string().into_bytes(), None, Some(neg)),
                Err(e) => {
                    let mut resp =
                        Response::for_request(&req, StatusCode::NOT_ACCEPTABLE_HERE, None);
                    resp.head
                        .other
                        .push("Warning", format!("304 callwire \"{e}\""));
                    self.add_to_tag(&mut resp);
                    return self.respond(tx, resp, now);
                }
            },
            None => {
                let o = sdp::build_offer(&media);
                (o.to_string().into_bytes(), Some(o), None)
            }
        };
        let local_tag = dialog::new_tag(&mut self.rng);
        let local = self.local_endpoint(source.transport, Some(&settings.user));
        let dlg = match Dialog::from_uas(&req, &local_tag, &local) {
            Ok(d) => d,
            Err(_) => {
                return reject(
                    self,
                    StatusCode::BAD_REQUEST,
                    Some("Bad Request - Cannot Create Dialog"),
                    false,
                )
            }
        };
        let dialog_id = dlg.id().clone();
        if self.dialogs.insert(dlg).is_err() {
            return reject(
                self,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("Too Many Dialogs"),
                true,
            );
        }
        let id = uuid::Uuid::new_v4().to_string();
        let mut call = Call {
            id: id.clone(),
            account: account_id,
            direction: Direction::Incoming,
            from: req.head.from.uri.to_string(),
            to: req.head.to.uri.to_string(),
            state: CallState::Calling,
            reason: Reason::Initiated,
            sip_status: None,
            sip_reason: None,
            sip_call_id: req.head.call_id.clone(),
            codec: None,
            local_rtp: Some(SocketAddr::new(self.local_ip, rtp.port())),
            remote_rtp: None,
            created_at: Self::now_utc(),
            answered_at: None,
            ended_at: None,
            leg: Leg::Incoming(Box::new(IncomingLeg {
                tx,
                invite: req.clone(),
                dialog: dialog_id.clone(),
                peer: source,
                local_sdp,
                our_offer,
                responder: None,
                answered: false,
            })),
            rtp: Some(rtp),
        };
        if let Some(neg) = negotiated {
            call.codec = Some(neg.codec.name.to_string());
            call.remote_rtp = Some(neg.remote_addr);
        }
        self.by_dialog.insert(dialog_id.clone(), id.clone());
        self.by_server_tx.insert(tx, id.clone());
        self.insert_call(call);

        self.respond(
            tx,
            Response::for_request(&req, StatusCode::TRYING, None),
            now,
        );
        if let Some(d) = self.dialogs.get_mut(&dialog_id) {
            let ringing = d.response(&req, StatusCode::RINGING);
            self.respond(tx, ringing, now);
        }
        if let Some(c) = self.calls.get_mut(&id) {
            c.state = CallState::Ringing;
        }
        tracing::debug!(call = %id, from = %req.head.from.uri, "incoming call");
        if settings.auto_answer {
            // Answering saves the record; one write instead of two.
            self.answer_incoming(&id, now);
        } else {
            self.save(&id);
            self.set_timer(
                now + self.config.calls.answer_timeout(),
                CoreTimer::AnswerTimeout(id),
            );
        }
    }

    /// Sends the 2xx for an incoming call.
    fn answer_incoming(&mut self, id: &str, now: Instant) -> bool {
        let timers = self.responder_timers();
        let Some(call) = self.calls.get_mut(id) else {
            return false;
        };
        let Leg::Incoming(leg) = &mut call.leg else {
            return false;
        };
        if leg.answered || call.state.is_ended() {
            return false;
        }
        let Some(d) = self.dialogs.get_mut(&leg.dialog) else {
            return false;
        };
        let mut ok = d.response(&leg.invite, StatusCode::OK);
        ok.head.content_type = Some("application/sdp".into());
        ok.body = leg.local_sdp.clone();
        ok.head.other.push("Allow", super::ALLOW);
        leg.answered = true;
        leg.responder = Some(UasInviteResponder::new(ok.clone(), now, timers));
        let tx = leg.tx;
        let deadline = leg
            .responder
            .as_ref()
            .and_then(UasInviteResponder::poll_timeout);
        call.state = CallState::Active;
        call.reason = Reason::AcceptedByDevice;
        call.answered_at = Some(Self::now_utc());
        self.clear_timer(&CoreTimer::AnswerTimeout(id.to_owned()));
        self.respond(tx, ok, now);
        if let Some(at) = deadline {
            self.set_timer(at, CoreTimer::Responder(id.to_owned()));
        }
        self.save(id);
        true
    }

    /// 2xx retransmission (RFC 3261 §13.3.1.4) until the ACK comes.
    pub(crate) fn on_responder_timeout(&mut self, id: &str, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Incoming(leg) = &mut call.leg else {
            return;
        };
        let Some(responder) = leg.responder.as_mut() else {
            return;
        };
        let action = responder.handle_timeout(now);
        let next = responder.poll_timeout();
        let peer = leg.peer;
        match action {
            Some(ResponderAction::Retransmit(resp)) => {
                let target = resp
                    .head
                    .top_via()
                    .map(|v| response_target(v, peer.addr, peer.transport))
                    .unwrap_or(peer);
                self.send_stateless_response(&resp, target);
            }
            Some(_) => {
                tracing::info!(call = %id, "no ACK for our 2xx; ending the call");
                let _ = self.send_bye(id, Reason::Failed, now);
            }
            None => {}
        }
        if let Some(at) = next {
            self.set_timer(at, CoreTimer::Responder(id.to_owned()));
        }
    }

    /// ACK for a 2xx (the transaction layer absorbs ACKs for 3xx–6xx).
    pub(crate) fn on_ack(&mut self, req: &Request, _now: Instant) {
        let Some(did) = DialogId::for_incoming_request(req) else {
            return;
        };
        let Some(id) = self.by_dialog.get(&did).cloned() else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let Leg::Incoming(leg) = &mut call.leg else {
            return;
        };
        if let Some(r) = leg.responder.as_mut() {
            r.on_ack(req.head.cseq.seq);
        }
        // Late offer: the ACK carries the answer to the offer in our 2xx.
        if let (Some(offer), false) = (&leg.our_offer, req.body.is_empty()) {
            if let Ok(answer) = SessionDescription::parse(&req.body) {
                if let Ok(neg) = sdp::accept_answer(offer, &answer) {
                    call.codec = Some(neg.codec.name.to_string());
                    call.remote_rtp = Some(neg.remote_addr);
                }
            }
        }
        self.clear_timer(&CoreTimer::Responder(id));
    }

    /// CANCEL of an incoming INVITE.
    pub(crate) fn on_cancel(&mut self, tx: ServerTxId, req: Request, now: Instant) {
        let invite_tx = self.tx.find_invite_for_cancel(&req);
        let call_id = invite_tx.and_then(|t| self.by_server_tx.get(&t).cloned());
        let Some(id) = call_id else {
            let resp = Response::for_request(&req, StatusCode::CALL_DOES_NOT_EXIST, None);
            return self.respond(tx, resp, now);
        };
        let mut ok = Response::for_request(&req, StatusCode::OK, None);
        let mut terminated = None;
        if let Some(call) = self.calls.get_mut(&id) {
            if let Leg::Incoming(leg) = &call.leg {
                ok.head.to.set_tag(&leg.dialog.local_tag);
                if !leg.answered && !call.state.is_ended() {
                    if let Some(d) = self.dialogs.get_mut(&leg.dialog) {
                        terminated = Some((
                            leg.tx,
                            d.response(&leg.invite, StatusCode::REQUEST_TERMINATED),
                        ));
                    }
                }
            }
        }
        self.respond(tx, ok, now);
        if let Some((invite_tx, resp)) = terminated {
            self.respond(invite_tx, resp, now);
            self.end_call(
                &id,
                Reason::Terminated,
                Some((487, "Request Terminated")),
                now,
            );
        }
    }

    /// A request inside a dialog (To tag present).
    pub(crate) fn on_in_dialog_request(
        &mut self,
        tx: ServerTxId,
        req: Request,
        source: Target,
        now: Instant,
    ) {
        use callwire_sip::message::Method;
        let timers = self.responder_timers();
        let Some(d) = self.dialogs.lookup_request(&req) else {
            let resp = Response::for_request(&req, StatusCode::CALL_DOES_NOT_EXIST, None);
            return self.respond(tx, resp, now);
        };
        if let Err(rejection) = d.receive_request(&req) {
            let resp = rejection.to_response(&req, &mut self.rng);
            return self.respond(tx, resp, now);
        }
        let did = d.id().clone();
        let call_id = self.by_dialog.get(&did).cloned();
        match req.method {
            Method::Bye => {
                let resp = d.response(&req, StatusCode::OK);
                self.respond(tx, resp, now);
                if let Some(id) = call_id {
                    self.end_call(&id, Reason::Terminated, None, now);
                }
            }
            Method::Invite | Method::Update => {
                // Re-offer: answer with our media, keeping our port.
                let answer = match (&call_id, req.body.is_empty()) {
                    (Some(id), false) => self.reanswer(id, &req),
                    (Some(id), true) => self.calls.get(id).map(|c| match &c.leg {
                        Leg::Incoming(l) => Ok(l.local_sdp.clone()),
                        Leg::Outgoing(l) => Ok(l.offer.to_string().into_bytes()),
                    }),
                    _ => None,
                };
                let Some(d) = self.dialogs.get_mut(&did) else {
                    return;
                };
                let resp = match answer {
                    Some(Ok(body)) => {
                        let mut ok = d.response(&req, StatusCode::OK);
                        ok.head.content_type = Some("application/sdp".into());
                        ok.body = body;
                        ok
                    }
                    Some(Err(())) => d.response(&req, StatusCode::NOT_ACCEPTABLE_HERE),
                    None => d.response(&req, StatusCode::OK),
                };
                if req.method == Method::Invite && resp.status.is_success() {
                    if let Some(Call {
                        leg: Leg::Incoming(leg),
                        ..
                    }) = call_id.as_ref().and_then(|id| self.calls.get_mut(id))
                    {
                        leg.responder = Some(UasInviteResponder::new(resp.clone(), now, timers));
                        leg.peer = source;
                    }
                    if let Some(id) = &call_id {
                        if let Some(at) = self.calls.get(id).and_then(|c| match &c.leg {
                            Leg::Incoming(l) => l
                                .responder
                                .as_ref()
                                .and_then(UasInviteResponder::poll_timeout),
                            Leg::Outgoing(_) => None,
                        }) {
                            self.set_timer(at, CoreTimer::Responder(id.clone()));
                        }
                    }
                }
                self.respond(tx, resp, now);
            }
            Method::Info | Method::Notify | Method::Options | Method::Message | Method::Prack => {
                let resp = d.response(&req, StatusCode::OK);
                self.respond(tx, resp, now);
            }
            _ => {
                let mut resp = d.response(&req, StatusCode::METHOD_NOT_ALLOWED);
                resp.head.other.push("Allow", super::ALLOW);
                self.respond(tx, resp, now);
            }
        }
    }

    /// Our answer to a re-offer inside a call; `Err` when nothing matches (488).
    fn reanswer(&mut self, id: &str, req: &Request) -> Option<Result<Vec<u8>, ()>> {
        let offer = SessionDescription::parse(&req.body).ok()?;
        let port = self.calls.get(id)?.rtp.as_ref()?.port();
        let mut media = self.local_media(port);
        media.session_version = 2;
        let call = self.calls.get_mut(id)?;
        Some(match sdp::answer(&offer, &media) {
            Ok((answer, neg)) => {
                call.remote_rtp = Some(neg.remote_addr);
                call.codec = Some(neg.codec.name.to_string());
                Ok(answer.to_string().into_bytes())
            }
            Err(_) => Err(()),
        })
    }

    /// The incoming call was not answered in time: 480.
    pub(crate) fn on_answer_timeout(&mut self, id: &str, now: Instant) {
        if self.reject_incoming(id, StatusCode::TEMPORARILY_UNAVAILABLE, now) {
            self.end_call(
                id,
                Reason::NoAnswer,
                Some((480, "Temporarily Unavailable")),
                now,
            );
        }
    }

    /// Sends a final failure for an unanswered incoming call; false if not possible.
    fn reject_incoming(&mut self, id: &str, status: StatusCode, now: Instant) -> bool {
        let Some(call) = self.calls.get_mut(id) else {
            return false;
        };
        let Leg::Incoming(leg) = &mut call.leg else {
            return false;
        };
        if leg.answered || call.state.is_ended() {
            return false;
        }
        let Some(d) = self.dialogs.get_mut(&leg.dialog) else {
            return false;
        };
        let resp = d.response(&leg.invite, status);
        leg.answered = true;
        let tx = leg.tx;
        self.respond(tx, resp, now);
        true
    }

    /// `POST /v1/calls`.
    pub(crate) fn place_call(
        &mut self,
        req: PlaceCall,
        target: SipUri,
        resolved: Resolved,
        now: Instant,
    ) -> Result<CallView, EngineError> {
        if self.shutting_down {
            return Err(EngineError::Unavailable("shutting down".into()));
        }
        let account = self.account(&req.account)?;
        let settings = account.settings().clone();
        let password = account.password().map(str::to_owned);
        if !settings.enabled {
            return Err(EngineError::Conflict(format!(
                "account {} is disabled",
                req.account
            )));
        }
        if settings
            .max_calls
            .is_some_and(|m| self.calls_on_account(&req.account) >= m as usize)
        {
            return Err(EngineError::Conflict(format!(
                "account {} is at its max_calls limit",
                req.account
            )));
        }
        if self.active_calls() >= self.config.calls.max_concurrent as usize {
            return Err(EngineError::Unavailable(
                "the service is at its concurrent call limit".into(),
            ));
        }
        let Some(addr) = resolved.addrs.first().copied() else {
            return Err(EngineError::InvalidArgument(
                "the callee's host has no address".into(),
            ));
        };
        let peer = Target::new(resolved.transport, addr);
        let rtp = self
            .rtp
            .allocate()
            .ok_or_else(|| EngineError::Unavailable("no free RTP ports".into()))?;
        let offer = sdp::build_offer(&self.local_media(rtp.port()));

        let local = self.local_endpoint(peer.transport, Some(&settings.user));
        let mut from_uri = SipUri::new(
            Some(&settings.user),
            callwire_sip::message::Host::Name(settings.domain.clone()),
            None,
        );
        if settings.domain.parse::<IpAddr>().is_ok() {
            from_uri.host = callwire_sip::message::Host::from(
                settings
                    .domain
                    .parse::<IpAddr>()
                    .map_err(|_| EngineError::InvalidArgument("domain".into()))?,
            );
        }
        let mut from = NameAddr::new(Uri::Sip(from_uri));
        from.display = settings.display_name.clone();
        let mut to_uri = target.clone();
        to_uri.headers.clear();
        let to = NameAddr::new(Uri::Sip(to_uri.clone()));
        let mut invite = dialog::new_invite(from, to, Uri::Sip(to_uri), &local, &mut self.rng);
        if let Some(proxy) = settings
            .outbound_proxy
            .as_deref()
            .and_then(|p| super::target::parse_target(p).ok())
        {
            let mut route = proxy;
            route.params.set("lr", None);
            invite.head.route = vec![NameAddr::new(Uri::Sip(route))];
        }
        invite
            .head
            .other
            .push("User-Agent", self.config.user_agent.clone());
        invite.head.other.push("Allow", super::ALLOW);
        invite.head.content_type = Some("application/sdp".into());
        invite.body = offer.to_string().into_bytes();

        let tx = self
            .tx
            .send_request(invite.clone(), peer, now)
            .map_err(|e| EngineError::Unavailable(format!("cannot send INVITE: {e}")))?;
        let id = uuid::Uuid::new_v4().to_string();
        self.client_tx.insert(tx, ClientPurpose::Invite(id.clone()));
        let call = Call {
            id: id.clone(),
            account: req.account.clone(),
            direction: Direction::Outgoing,
            from: invite.head.from.uri.to_string(),
            to: target.to_string(),
            state: CallState::Calling,
            reason: Reason::Initiated,
            sip_status: None,
            sip_reason: None,
            sip_call_id: invite.head.call_id.clone(),
            codec: None,
            local_rtp: Some(SocketAddr::new(self.local_ip, rtp.port())),
            remote_rtp: None,
            created_at: Self::now_utc(),
            answered_at: None,
            ended_at: None,
            leg: Leg::Outgoing(Box::new(OutgoingLeg {
                tx,
                invite,
                peer,
                dialog: None,
                provisional: false,
                cancel: None,
                cancel_sent: false,
                offer,
                auth: AuthState::new(),
                digest: DigestClient::new(),
            })),
            rtp: Some(rtp),
        };
        let _ = password;
        let view = call.view();
        self.insert_call(call);
        let ring = req
            .ring_timeout_secs
            .map(|s| Duration::from_secs(s.into()))
            .unwrap_or(self.config.calls.ring_timeout());
        self.set_timer(now + ring, CoreTimer::RingTimeout(id.clone()));
        self.save(&id);
        tracing::debug!(call = %id, to = %target, "outgoing call");
        Ok(view)
    }

    /// A response to our INVITE.
    pub(crate) fn on_invite_response(
        &mut self,
        id: &str,
        tx: ClientTxId,
        resp: Response,
        now: Instant,
    ) {
        let code = resp.status.code();
        if resp.status.is_provisional() {
            return self.on_invite_provisional(id, &resp, now);
        }
        if resp.status.is_success() {
            return self.on_invite_success(id, &resp, now);
        }
        if (code == 401 || code == 407) && self.retry_with_auth(id, tx, &resp, now) {
            return;
        }
        self.on_invite_failed(id, code, &resp.reason, now);
    }

    fn on_invite_provisional(&mut self, id: &str, resp: &Response, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return;
        };
        leg.provisional = true;
        if resp.head.to.tag().is_some() && leg.dialog.is_none() {
            if let Ok(d) = Dialog::from_uac_response(&leg.invite, resp) {
                let did = d.id().clone();
                if self.dialogs.insert(d).is_ok() {
                    leg.dialog = Some(did.clone());
                    self.by_dialog.insert(did, id.to_owned());
                }
            }
        }
        let code = resp.status.code();
        if (180..=183).contains(&code) && call.state == CallState::Calling {
            call.state = CallState::Ringing;
        }
        if leg.cancel.is_some() && !leg.cancel_sent {
            self.send_cancel(id, now);
        }
    }

    fn on_invite_success(&mut self, id: &str, resp: &Response, now: Instant) {
        let Some(to_tag) = resp.head.to.tag() else {
            return;
        };
        let Some(Call {
            leg: Leg::Outgoing(leg),
            ..
        }) = self.calls.get(id)
        else {
            return;
        };
        let invite = leg.invite.clone();
        let peer = leg.peer;
        let did = DialogId {
            call_id: resp.head.call_id.clone(),
            local_tag: invite.head.from.tag().unwrap_or_default().to_owned(),
            remote_tag: to_tag.to_owned(),
        };
        // Find or create the dialog for this 2xx's To tag (forks get their own).
        if self.dialogs.get(&did).is_none() {
            let Ok(d) = Dialog::from_uac_response(&invite, resp) else {
                return;
            };
            if self.dialogs.insert(d).is_err() {
                return;
            }
            self.by_dialog.insert(did.clone(), id.to_owned());
        }
        let Some(d) = self.dialogs.get_mut(&did) else {
            return;
        };
        let action = d
            .on_response(resp, &mut self.rng)
            .unwrap_or(ResponseAction::None);
        let (ack, retransmission) = match action {
            ResponseAction::ResendAck(ack) => (ack, true),
            _ => match d.last_ack() {
                Some(ack) if ack.head.cseq.seq == resp.head.cseq.seq => (ack.clone(), true),
                _ => (d.ack_for_2xx(resp.head.cseq.seq, &mut self.rng), false),
            },
        };
        let target = in_dialog_target(d, peer);
        self.send_stateless_request(&ack, target);
        if retransmission {
            return;
        }
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return;
        };
        if call.answered_at.is_some() {
            // A second fork answered: we keep the first; end this one.
            if let Some(d) = self.dialogs.get_mut(&did) {
                if let Ok(bye) = d.new_request(callwire_sip::message::Method::Bye, &mut self.rng) {
                    if let Ok(tx) = self.tx.send_request(bye, target, now) {
                        self.client_tx
                            .insert(tx, ClientPurpose::InDialog(id.to_owned()));
                    }
                }
            }
            return;
        }
        if let Some(old) = leg.dialog.replace(did.clone()) {
            if old != did {
                self.dialogs.remove(&old);
                self.by_dialog.remove(&old);
            }
        }
        leg.peer = target;
        if call.state.is_ended() || leg.cancel.is_some() {
            // Answered after we gave up: end it properly. The call was never
            // answered as far as the user is concerned, so `answered_at` stays unset.
            let reason = leg.cancel.unwrap_or(Reason::Terminated);
            let _ = self.send_bye(id, reason, now);
            return;
        }
        call.answered_at = Some(Self::now_utc());
        let negotiated = SessionDescription::parse(&resp.body)
            .ok()
            .and_then(|a| sdp::accept_answer(&leg.offer, &a).ok());
        match negotiated {
            Some(neg) => {
                call.codec = Some(neg.codec.name.to_string());
                call.remote_rtp = Some(neg.remote_addr);
                call.state = CallState::Active;
                call.reason = Reason::AcceptedByRemote;
                self.clear_timer(&CoreTimer::RingTimeout(id.to_owned()));
                self.save(id);
            }
            None => {
                tracing::info!(call = %id, "2xx without an acceptable SDP answer; hanging up");
                call.sip_status = Some(488);
                call.sip_reason = Some("Not Acceptable Here".into());
                let _ = self.send_bye(id, Reason::Failed, now);
            }
        }
    }

    /// Resends the INVITE with credentials; false when we cannot or should not.
    fn retry_with_auth(
        &mut self,
        id: &str,
        _tx: ClientTxId,
        resp: &Response,
        now: Instant,
    ) -> bool {
        let Some(call) = self.calls.get(id) else {
            return false;
        };
        let Some(account) = self.accounts.get(call.account()) else {
            return false;
        };
        let Some(password) = account.password().map(str::to_owned) else {
            return false;
        };
        let settings = account.settings().clone();
        let header = if resp.status.code() == 407 {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        };
        let challenges: Vec<Challenge> = resp
            .head
            .other
            .get_all(header)
            .filter_map(|v| Challenge::parse(v).ok())
            .collect();
        let Some(call) = self.calls.get_mut(id) else {
            return false;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return false;
        };
        if leg.cancel.is_some() {
            return false;
        }
        let Some(challenge) = pick_challenge(&challenges) else {
            return false;
        };
        if leg.auth.on_challenge(challenge).is_err() {
            return false;
        }
        let user = settings.auth_user.clone().unwrap_or(settings.user.clone());
        let uri = leg.invite.uri.to_string();
        let Ok(creds) = leg.digest.respond(
            challenge,
            "INVITE",
            &uri,
            &user,
            &password,
            &leg.invite.body,
            &mut self.rng,
        ) else {
            return false;
        };
        let mut invite = leg.invite.clone();
        invite.head.cseq.seq += 1;
        let auth_header = if resp.status.code() == 407 {
            "Proxy-Authorization"
        } else {
            "Authorization"
        };
        invite.head.other.remove(auth_header);
        invite.head.other.push(auth_header, creds.to_string());
        if let Some(via) = invite.head.via.first_mut() {
            via.params
                .set("branch", Some(&txn::new_branch(&mut self.rng)));
        }
        let Ok(tx) = self.tx.send_request(invite.clone(), leg.peer, now) else {
            return false;
        };
        leg.invite = invite;
        leg.tx = tx;
        leg.provisional = false;
        self.client_tx
            .insert(tx, ClientPurpose::Invite(id.to_owned()));
        true
    }

    /// The INVITE failed (final 3xx–6xx, timeout or transport error).
    pub(crate) fn on_invite_failed(&mut self, id: &str, code: u16, reason: &str, now: Instant) {
        let Some(call) = self.calls.get(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &call.leg else {
            return;
        };
        if call.answered_at.is_some() {
            return;
        }
        let ended_reason = leg
            .cancel
            .unwrap_or_else(|| Reason::for_failure_status(code));
        let status = if leg.cancel.is_some() && code == 487 {
            None
        } else {
            Some((code, reason))
        };
        if let Some(did) = leg.dialog.clone() {
            self.dialogs.remove(&did);
        }
        match status {
            Some((c, r)) => self.end_call(id, ended_reason, Some((c, r)), now),
            None => self.end_call(id, ended_reason, Some((487, "Request Terminated")), now),
        }
    }

    /// A response no transaction claimed: 2xx retransmissions for answered calls.
    pub(crate) fn on_stray_response(&mut self, resp: &Response, source: SocketAddr) {
        if !resp.status.is_success() {
            return;
        }
        let Some(d) = self.dialogs.lookup_response(resp) else {
            return;
        };
        if let Ok(ResponseAction::ResendAck(ack)) = d.on_response(resp, &mut self.rng) {
            let target = Target::new(Transport::Udp, source);
            self.send_stateless_request(&ack, target);
        }
    }

    pub(crate) fn on_ring_timeout(&mut self, id: &str, now: Instant) {
        let ringing = self.calls.get(id).is_some_and(|c| {
            matches!(c.state, CallState::Calling | CallState::Ringing)
                && matches!(c.leg, Leg::Outgoing(_))
        });
        if ringing {
            tracing::info!(call = %id, "no answer in time; cancelling");
            self.cancel_outgoing(id, Reason::NoAnswer, now);
        }
    }

    /// Cancels an unanswered outgoing call; the call ends with `reason`.
    fn cancel_outgoing(&mut self, id: &str, reason: Reason, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return;
        };
        leg.cancel = Some(reason);
        if leg.provisional {
            call.state = CallState::Terminating;
            self.send_cancel(id, now);
            self.set_timer(now + TERMINATING_GUARD, CoreTimer::Guard(id.to_owned()));
        } else {
            // RFC 3261 §9.1: no CANCEL before a provisional response. End the call
            // now; a late provisional gets its CANCEL, a late 2xx an ACK and a BYE.
            self.end_call(id, reason, None, now);
        }
    }

    fn send_cancel(&mut self, id: &str, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Leg::Outgoing(leg) = &mut call.leg else {
            return;
        };
        if leg.cancel_sent {
            return;
        }
        leg.cancel_sent = true;
        let peer = leg.peer;
        let cancel = match txn::cancel_for(&leg.invite) {
            Ok(c) => c,
            Err(e) => return tracing::debug!(call = %id, error = %e, "CANCEL not built"),
        };
        match self.tx.send_request(cancel, peer, now) {
            Ok(tx) => {
                self.client_tx
                    .insert(tx, ClientPurpose::Cancel(id.to_owned()));
            }
            Err(e) => tracing::debug!(call = %id, error = %e, "CANCEL not sent"),
        }
    }

    /// Sends BYE for an answered call; the call ends when it is answered.
    fn send_bye(&mut self, id: &str, reason: Reason, now: Instant) -> Result<(), EngineError> {
        let Some(call) = self.calls.get_mut(id) else {
            return Err(not_found(id));
        };
        let peer = call.peer();
        let Some(did) = call.dialog_id().cloned() else {
            return Err(EngineError::Conflict("the call has no dialog".into()));
        };
        if !call.state.is_ended() {
            call.state = CallState::Terminating;
            call.reason = reason;
        }
        let Some(d) = self.dialogs.get_mut(&did) else {
            return Err(EngineError::Conflict("the call has no dialog".into()));
        };
        let bye = d
            .new_request(callwire_sip::message::Method::Bye, &mut self.rng)
            .map_err(|e| EngineError::Conflict(format!("cannot send BYE: {e}")))?;
        let target = in_dialog_target(d, peer);
        match self.tx.send_request(bye, target, now) {
            Ok(tx) => {
                self.client_tx.insert(tx, ClientPurpose::Bye(id.to_owned()));
                self.set_timer(now + TERMINATING_GUARD, CoreTimer::Guard(id.to_owned()));
                self.save(id);
                Ok(())
            }
            Err(e) => {
                self.end_call(id, reason, None, now);
                Err(EngineError::Unavailable(format!("cannot send BYE: {e}")))
            }
        }
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
        if let Some((code, phrase)) = status {
            call.sip_status = Some(code);
            call.sip_reason = Some(phrase.to_owned());
        }
        call.ended_at = Some(Self::now_utc());
        call.rtp = None;
        // An INVITE we cancelled may still be answered: keep the call a while so a
        // late 2xx gets its ACK and BYE. Every other call leaves the table now.
        let linger = matches!(&call.leg, Leg::Outgoing(l) if l.cancel.is_some() && call.answered_at.is_none());
        let account = call.account.clone();
        self.live_calls = self.live_calls.saturating_sub(1);
        if let Some(n) = self.live_per_account.get_mut(&account) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.live_per_account.remove(&account);
            }
        }
        for t in [
            CoreTimer::RingTimeout(id.into()),
            CoreTimer::AnswerTimeout(id.into()),
            CoreTimer::Responder(id.into()),
            CoreTimer::Guard(id.into()),
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
        self.ended.push_back(call.view());
        while self.ended.len() > super::ENDED_IN_MEMORY {
            self.ended.pop_front();
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

    pub(crate) fn answer(&mut self, id: &str, now: Instant) -> Result<CallView, EngineError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| self.not_found_or_ended(id))?;
        match (&call.leg, call.state) {
            (Leg::Incoming(l), CallState::Calling | CallState::Ringing) if !l.answered => {}
            _ => {
                return Err(EngineError::Conflict(format!(
                    "call {id} is not an unanswered incoming call"
                )))
            }
        }
        self.answer_incoming(id, now);
        self.get_call(id)
    }

    pub(crate) fn reject(
        &mut self,
        id: &str,
        code: u16,
        now: Instant,
    ) -> Result<CallView, EngineError> {
        let status =
            StatusCode::new(code).ok_or_else(|| EngineError::InvalidArgument("code".into()))?;
        if !self.calls.contains_key(id) {
            return Err(self.not_found_or_ended(id));
        }
        if !self.reject_incoming(id, status, now) {
            return Err(EngineError::Conflict(format!(
                "call {id} is not an unanswered incoming call"
            )));
        }
        let reason = if code == 486 || code == 600 {
            Reason::Busy
        } else {
            Reason::Denied
        };
        self.end_call(id, reason, Some((code, status.default_reason())), now);
        self.get_call(id)
    }

    pub(crate) fn hangup(&mut self, id: &str, now: Instant) -> Result<CallView, EngineError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| self.not_found_or_ended(id))?;
        match (call.state, &call.leg) {
            (CallState::Terminated, _) => {
                return Err(EngineError::Conflict(format!("call {id} has ended")))
            }
            (CallState::Terminating, _) => {}
            (CallState::Active, _) => self.send_bye(id, Reason::Terminated, now)?,
            (_, Leg::Outgoing(_)) => self.cancel_outgoing(id, Reason::Terminated, now),
            (_, Leg::Incoming(_)) => {
                if self.reject_incoming(id, StatusCode::BUSY_HERE, now) {
                    self.end_call(id, Reason::Terminated, Some((486, "Busy Here")), now);
                }
            }
        }
        self.get_call(id)
    }

    fn not_found_or_ended(&self, id: &str) -> EngineError {
        if self.ended.iter().any(|v| v.id == id) {
            EngineError::Conflict(format!("call {id} has ended"))
        } else {
            not_found(id)
        }
    }
}

fn not_found(id: &str) -> EngineError {
    EngineError::NotFound {
        what: "call",
        id: id.to_owned(),
    }
}
