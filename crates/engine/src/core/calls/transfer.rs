//! Call transfer (RFC 3515 REFER, RFC 3891 Replaces, RFC 3420 sipfrag
//! NOTIFY bodies, the RFC 5589 flows), in all three roles:
//!
//! - **Transferor** (`POST …/transfer`): REFER in the call's dialog with
//!   Refer-To (a blind target, or our other call's remote target carrying
//!   `?Replaces=` for an attended transfer) and Referred-By. The REFER's
//!   answer and each NOTIFY's sipfrag move the transfer on; a final 2xx hangs
//!   the call up with reason `Transferred` (an attended transfer's other call
//!   too, unless the target hung it up itself within [`REPLACED_GRACE`]), a
//!   failure leaves the call as it was. No news for [`NOTIFY_TIMEOUT`] (or
//!   the subscription's `expires`) fails the transfer.
//! - **Transferee** (REFER received): the account's `policy.refer` and
//!   `policy.allow`/`deny` decide (603 / 403); accepted REFERs get 202, a
//!   `100 Trying` NOTIFY at once, and a new call from the same account to
//!   the Refer-To URI (its Replaces and the Referred-By carried into the
//!   INVITE). The new call is watched ([`Transfers`]) and each of its
//!   provisional and final outcomes goes to the referrer as a NOTIFY, one at
//!   a time and in order. The original call stays up until the referrer
//!   hangs it up, as RFC 5589 §6.1 has the transferor end it.
//! - **Target** (INVITE with Replaces): a match with one of our confirmed,
//!   active calls is answered at once and the replaced call hung up with
//!   reason `Replaced`; no match or an early dialog gets 481, a terminated
//!   one 603, `early-only` against a confirmed one 486 (RFC 3891 §3).
//!
//! Every step is a `call.transfer` event with the transfer's view as detail.

use std::collections::HashMap;

use callwire_sip::message::Method;
use callwire_sip::refer::{self, Replaces, SubscriptionState};

use super::*;
use crate::model::event::kind;
use crate::model::transfer::{TransferRole, TransferState, TransferView};

/// How long a transferor waits for the REFER's answer and the first NOTIFY,
/// and for the next NOTIFY when the last one named no `expires`.
pub(crate) const NOTIFY_TIMEOUT: Duration = Duration::from_secs(32);
/// The longest wait for the next NOTIFY a subscription's `expires` can ask for.
const MAX_NOTIFY_WAIT: Duration = Duration::from_secs(600);
/// How long the call an attended transfer replaced may stay up after the
/// transfer succeeded before we hang it up ourselves (the target should).
pub(crate) const REPLACED_GRACE: Duration = Duration::from_secs(2);
/// `expires` of the implicit subscription while a transferee reports progress.
const SUBSCRIPTION_EXPIRES: u32 = 60;

/// What a transfer asks the peer to call.
#[derive(Clone, Debug)]
pub(crate) enum TransferTo {
    /// Blind: this URI.
    Uri(SipUri),
    /// Attended: the party of our other call, replacing it.
    Replaces(String),
}

/// How a transfer made a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// We placed it for the REFER received on that call.
    TransferredFrom(String),
    /// Its INVITE replaced that call.
    Replaces(String),
}

impl Origin {
    pub(crate) fn transferred_from(&self) -> Option<String> {
        match self {
            Origin::TransferredFrom(id) => Some(id.clone()),
            Origin::Replaces(_) => None,
        }
    }

    pub(crate) fn replaces(&self) -> Option<String> {
        match self {
            Origin::Replaces(id) => Some(id.clone()),
            Origin::TransferredFrom(_) => None,
        }
    }
}

/// A transferee's NOTIFYs to the referrer: one in flight at a time, the
/// newest waiting one replacing older ones (a final is always the last).
#[derive(Debug, Default)]
struct Notifier {
    in_flight: bool,
    pending: Option<(StatusCode, String)>,
    /// No more NOTIFYs: the final one went out, the referrer asked for none
    /// (RFC 4488), or the subscription is gone (481, timeout).
    closed: bool,
}

/// One transfer of a call.
#[derive(Debug)]
pub(crate) struct Transfer {
    role: TransferRole,
    state: TransferState,
    attended: bool,
    target: Option<String>,
    call: Option<String>,
    sip_status: Option<u16>,
    sip_reason: Option<String>,
    referred_by: Option<String>,
    /// The REFER's CSeq number: the `id` of the subscription's Event.
    refer_cseq: u32,
    /// Transferor: this call is the one an attended transfer of `call`
    /// replaces (no REFER went on it).
    replaced: bool,
    /// Transferee: the target to call, its Replaces and Referred-By.
    dial: Option<Dial>,
    /// Transferee: NOTIFYs to the referrer.
    notifier: Notifier,
}

/// What a transferee dials.
#[derive(Clone, Debug)]
struct Dial {
    uri: SipUri,
    replaces: Option<String>,
    referred_by: Option<String>,
}

impl Transfer {
    fn new(role: TransferRole, state: TransferState, refer_cseq: u32) -> Transfer {
        Transfer {
            role,
            state,
            attended: false,
            target: None,
            call: None,
            sip_status: None,
            sip_reason: None,
            referred_by: None,
            refer_cseq,
            replaced: false,
            dial: None,
            notifier: Notifier::default(),
        }
    }

    pub(crate) fn view(&self) -> TransferView {
        TransferView {
            role: self.role,
            state: self.state,
            attended: self.attended,
            target: self.target.clone(),
            call: self.call.clone(),
            sip_status: self.sip_status,
            sip_reason: self.sip_reason.clone(),
            referred_by: self.referred_by.clone(),
        }
    }

    fn is_live(&self) -> bool {
        !self.state.is_final()
    }

    /// Moves to `state` with a status; false when nothing changed or the
    /// transfer is already over.
    fn advance(&mut self, state: TransferState, status: Option<(u16, &str)>) -> bool {
        if self.state.is_final() {
            return false;
        }
        let (code, reason) = match status {
            Some((c, r)) => (Some(c), Some(r.to_owned())),
            None => (None, None),
        };
        if self.state == state && self.sip_status == code {
            return false;
        }
        self.state = state;
        self.sip_status = code;
        self.sip_reason = reason;
        true
    }
}

/// The core's side of transfers that span calls.
#[derive(Debug, Default)]
pub(crate) struct Transfers {
    /// Calls placed for a received REFER → the call the REFER came on.
    watch: HashMap<String, String>,
    /// The latest provisional response of each watched call.
    provisional: HashMap<String, (u16, String)>,
    /// Given to the next call created (see `insert_call`).
    next_origin: Option<Origin>,
}

impl Transfers {
    pub(crate) fn take_origin(&mut self) -> Option<Origin> {
        self.next_origin.take()
    }

    /// Remembers a provisional response of a watched call, for its NOTIFY.
    pub(crate) fn note_provisional(&mut self, id: &str, resp: &Response) {
        let code = resp.status.code();
        if (101..200).contains(&code) && self.watch.contains_key(id) {
            self.provisional
                .insert(id.to_owned(), (code, resp.reason.clone()));
        }
    }
}

/// The status a failed call reports to the referrer.
fn failure_status(view: &CallView) -> (u16, String) {
    if let (Some(code), Some(reason)) = (view.sip_status, &view.sip_reason) {
        if code >= 300 {
            return (code, reason.clone());
        }
    }
    let code = match view.reason {
        Reason::NoAnswer => 408,
        Reason::Busy => 486,
        Reason::Denied => 603,
        Reason::Terminated => 487,
        _ => 500,
    };
    let reason = StatusCode::new(code)
        .map(StatusCode::default_reason)
        .unwrap_or("Failed");
    (code, reason.to_owned())
}

impl Core {
    /// `POST /v1/calls/{id}/transfer`: sends the REFER; the outcome comes as
    /// `call.transfer` events.
    pub(crate) fn transfer(
        &mut self,
        id: &str,
        to: TransferTo,
        now: Instant,
    ) -> Result<CallView, EngineError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| self.not_found_or_ended(id))?;
        check_transferable(id, call)?;
        let peer = call.peer();
        let account = call.account.clone();
        let did = call
            .dialog_id()
            .cloned()
            .ok_or_else(|| EngineError::Conflict("the call has no dialog".into()))?;
        let (refer_to, other) = match to {
            TransferTo::Uri(mut uri) => {
                uri.headers.clear();
                (uri, None)
            }
            TransferTo::Replaces(other) => {
                if other == id {
                    return Err(EngineError::InvalidArgument(
                        "a call cannot replace itself".into(),
                    ));
                }
                let o = self
                    .calls
                    .get(&other)
                    .ok_or_else(|| self.not_found_or_ended(&other))?;
                check_transferable(&other, o)?;
                let odid = o
                    .dialog_id()
                    .ok_or_else(|| EngineError::Conflict("the other call has no dialog".into()))?;
                let d = self
                    .dialogs
                    .get(odid)
                    .ok_or_else(|| EngineError::Conflict("the other call has no dialog".into()))?;
                let Uri::Sip(mut target) = d.remote_target().clone() else {
                    return Err(EngineError::Conflict(
                        "the other call's party has no SIP contact".into(),
                    ));
                };
                target.headers.clear();
                // Tags as the target sees them: its tag is our remote one.
                let replaces = Replaces {
                    call_id: odid.call_id.clone(),
                    to_tag: odid.remote_tag.clone(),
                    from_tag: odid.local_tag.clone(),
                    early_only: false,
                };
                (refer::with_replaces(&target, &replaces), Some(other))
            }
        };
        let referred_by = self.account_aor(&account);
        let d = self
            .dialogs
            .get_mut(&did)
            .ok_or_else(|| EngineError::Conflict("the call has no dialog".into()))?;
        let mut req = d
            .new_request(Method::Refer, &mut self.rng)
            .map_err(|e| EngineError::Conflict(format!("cannot send REFER: {e}")))?;
        req.head.other.push("Refer-To", format!("<{refer_to}>"));
        if let Some(aor) = &referred_by {
            req.head.other.push("Referred-By", format!("<{aor}>"));
        }
        req.head
            .other
            .push("User-Agent", self.config.user_agent.clone());
        let cseq = req.head.cseq.seq;
        let target = in_dialog_target(d, peer);
        let tx = self
            .tx
            .send_request(req, target, now)
            .map_err(|e| EngineError::Unavailable(format!("cannot send REFER: {e}")))?;
        self.client_tx
            .insert(tx, ClientPurpose::Refer(id.to_owned()));
        let mut t = Transfer::new(TransferRole::Transferor, TransferState::Requested, cseq);
        t.attended = other.is_some();
        t.target = Some(refer_to.to_string());
        t.call = other;
        let other = t.call.clone();
        if let Some(call) = self.calls.get_mut(id) {
            call.transfer = Some(t);
        }
        self.set_timer(now + NOTIFY_TIMEOUT, CoreTimer::Transfer(id.to_owned()));
        self.transfer_event(id);
        if let Some(other) = other {
            // The replaced call is part of the transfer: no other transfer of
            // it meanwhile, and its end counts as transferred.
            let mut t = Transfer::new(TransferRole::Transferor, TransferState::Requested, 0);
            t.attended = true;
            t.replaced = true;
            t.call = Some(id.to_owned());
            if let Some(call) = self.calls.get_mut(&other) {
                call.transfer = Some(t);
            }
            self.transfer_event(&other);
        }
        tracing::info!(call = %id, to = %refer_to, "transfer requested");
        self.get_call(id)
    }

    /// `sip:user@domain` of an account.
    fn account_aor(&self, account: &str) -> Option<SipUri> {
        let s = self.accounts.get(account)?.settings();
        let host = match s.domain.parse::<IpAddr>() {
            Ok(ip) => callwire_sip::message::Host::from(ip),
            Err(_) => callwire_sip::message::Host::Name(s.domain.clone()),
        };
        Some(SipUri::new(Some(&s.user), host, None))
    }

    /// Publishes a call's transfer as a `call.transfer` event.
    fn transfer_event(&mut self, id: &str) {
        let Some(detail) = self
            .calls
            .get(id)
            .and_then(|c| c.transfer.as_ref())
            .map(Transfer::view)
        else {
            return;
        };
        tracing::debug!(call = %id, state = detail.state.as_str(), status = ?detail.sip_status, "transfer");
        let detail = serde_json::to_value(&detail).unwrap_or_default();
        self.call_detail_event(id, kind::CALL_TRANSFER, detail);
    }

    /// The live transfer of `id` in `role`, if any (not the record on a call
    /// an attended transfer replaces: no REFER went on that one).
    fn live_transfer(&mut self, id: &str, role: TransferRole) -> Option<&mut Transfer> {
        self.calls
            .get_mut(id)?
            .transfer
            .as_mut()
            .filter(|t| t.role == role && t.is_live() && !t.replaced)
    }

    /// Moves a transferor's transfer on; true when it changed (an event went out).
    fn transferor_advance(
        &mut self,
        id: &str,
        state: TransferState,
        status: Option<(u16, &str)>,
        now: Instant,
    ) -> bool {
        let Some(t) = self.live_transfer(id, TransferRole::Transferor) else {
            return false;
        };
        if !t.advance(state, status) {
            return false;
        }
        let other = t.call.clone();
        self.transfer_event(id);
        if state.is_final() {
            if let Some(other) = other {
                self.finish_replaced(&other, id, state, now);
            }
        }
        match state {
            TransferState::Succeeded => {
                self.clear_timer(&CoreTimer::Transfer(id.to_owned()));
                tracing::info!(call = %id, "transfer succeeded; hanging up");
                if self
                    .calls
                    .get(id)
                    .is_some_and(|c| c.state == CallState::Active)
                {
                    let _ = self.send_bye(id, Reason::Transferred, now);
                }
            }
            TransferState::Failed => {
                self.clear_timer(&CoreTimer::Transfer(id.to_owned()));
                tracing::info!(call = %id, status = ?status.map(|s| s.0), "transfer failed");
            }
            _ => {}
        }
        true
    }

    /// An attended transfer of `id` ended: the call it replaces (`other`)
    /// learns the outcome; after a success it ends with reason
    /// `Transferred`, by the target's BYE or ours after [`REPLACED_GRACE`].
    fn finish_replaced(&mut self, other: &str, id: &str, state: TransferState, now: Instant) {
        let Some(t) = self
            .calls
            .get_mut(other)
            .and_then(|c| c.transfer.as_mut())
            .filter(|t| t.replaced && t.call.as_deref() == Some(id))
        else {
            return;
        };
        t.state = state;
        self.transfer_event(other);
        if state == TransferState::Succeeded {
            self.set_timer(
                now + REPLACED_GRACE,
                CoreTimer::TransferCleanup(other.to_owned()),
            );
        }
    }

    /// The reason a call ends with when the peer sends BYE: `Transferred`
    /// once a transfer of it succeeded (or, for the call an attended transfer
    /// replaces, while that transfer is under way: the target hangs it up as
    /// it takes over), else `Terminated`.
    pub(crate) fn remote_bye_reason(&self, id: &str) -> Reason {
        let transferred = self
            .calls
            .get(id)
            .and_then(|c| c.transfer.as_ref())
            .is_some_and(|t| {
                t.role == TransferRole::Transferor
                    && (t.state == TransferState::Succeeded || (t.replaced && t.is_live()))
            });
        if transferred {
            Reason::Transferred
        } else {
            Reason::Terminated
        }
    }

    /// A response to our REFER.
    pub(crate) fn on_refer_response(&mut self, id: &str, resp: &Response, now: Instant) {
        let code = resp.status.code();
        if resp.status.is_provisional() {
            return;
        }
        if resp.status.is_success() {
            // A NOTIFY may have overtaken the 202; then it already said more.
            let requested = self
                .live_transfer(id, TransferRole::Transferor)
                .is_some_and(|t| t.state == TransferState::Requested);
            if requested {
                self.transferor_advance(
                    id,
                    TransferState::Accepted,
                    Some((code, &resp.reason)),
                    now,
                );
            }
            return;
        }
        self.transferor_advance(id, TransferState::Failed, Some((code, &resp.reason)), now);
    }

    /// Our REFER timed out or could not be sent.
    pub(crate) fn on_refer_failure(&mut self, id: &str, code: u16, reason: &str, now: Instant) {
        self.transferor_advance(id, TransferState::Failed, Some((code, reason)), now);
    }

    /// A NOTIFY in a call's dialog (answered 200 already): progress of our
    /// transfer when it is for the `refer` event of our live REFER.
    pub(crate) fn on_transfer_notify(&mut self, id: &str, req: &Request, now: Instant) {
        let Some((package, event_id)) = req.head.other.get("Event").map(refer::event_package)
        else {
            return;
        };
        if package != "refer" {
            return;
        }
        let Some(t) = self.live_transfer(id, TransferRole::Transferor) else {
            tracing::debug!(call = %id, "NOTIFY for no transfer under way");
            return;
        };
        if event_id.is_some_and(|e| e != t.refer_cseq.to_string()) {
            tracing::debug!(call = %id, "NOTIFY for another REFER");
            return;
        }
        let sub = SubscriptionState::parse(req.head.other.get("Subscription-State").unwrap_or(""));
        let (state, status) = match refer::sipfrag_status(&req.body) {
            Ok((status, reason)) => (
                TransferState::for_status(status.code()),
                Some((status.code(), reason)),
            ),
            Err(e) if sub.is_terminated() => {
                tracing::info!(call = %id, error = %e, "transfer subscription ended without a status");
                (TransferState::Failed, None)
            }
            Err(e) => {
                tracing::info!(call = %id, error = %e, "NOTIFY without a usable sipfrag");
                return;
            }
        };
        // A subscription that ends without a final status ends the transfer.
        let state = if sub.is_terminated() && !state.is_final() {
            TransferState::Failed
        } else {
            state
        };
        let status_ref = status.as_ref().map(|(c, r)| (*c, r.as_str()));
        self.transferor_advance(id, state, status_ref, now);
        if !state.is_final() {
            let wait = sub
                .expires
                .map(|s| Duration::from_secs(s.into()).clamp(NOTIFY_TIMEOUT, MAX_NOTIFY_WAIT))
                .unwrap_or(NOTIFY_TIMEOUT);
            self.set_timer(now + wait, CoreTimer::Transfer(id.to_owned()));
        }
    }

    /// A transferor heard nothing in time: the transfer failed (408).
    pub(crate) fn on_transfer_timeout(&mut self, id: &str, now: Instant) {
        self.transferor_advance(
            id,
            TransferState::Failed,
            Some((408, "No Transfer Progress In Time")),
            now,
        );
    }

    /// The grace for the target to hang up a replaced call passed.
    pub(crate) fn on_transfer_cleanup(&mut self, id: &str, now: Instant) {
        if self
            .calls
            .get(id)
            .is_some_and(|c| c.state == CallState::Active)
        {
            tracing::info!(call = %id, "the transfer target left the replaced call up; hanging up");
            let _ = self.send_bye(id, Reason::Transferred, now);
        }
    }

    /// A REFER in a call's dialog: policy, 202 or a refusal, then the call to
    /// the target.
    pub(crate) fn on_refer(
        &mut self,
        tx: ServerTxId,
        req: &Request,
        did: &DialogId,
        call_id: Option<&str>,
        now: Instant,
    ) {
        let refuse = |core: &mut Core, code: u16, reason: &str| {
            let status = StatusCode::new(code).unwrap_or(StatusCode::FORBIDDEN);
            if let Some(d) = core.dialogs.get_mut(did) {
                let mut resp = d.response(req, status);
                resp.reason = reason.to_owned();
                core.respond(tx, resp, now);
            }
        };
        let Some(id) = call_id.filter(|id| self.calls.contains_key(*id)) else {
            return refuse(self, 481, "Call/Transaction Does Not Exist");
        };
        let Some(call) = self.calls.get(id) else {
            return;
        };
        if call.state != CallState::Active {
            return refuse(self, 403, "Forbidden - Call Not Active");
        }
        if call.transfer.as_ref().is_some_and(Transfer::is_live) {
            return refuse(self, 491, "Request Pending - A Transfer Is Under Way");
        }
        let account = call.account.clone();
        let values: Vec<&str> = req.head.other.get_all("Refer-To").collect();
        let [value] = values.as_slice() else {
            return refuse(self, 400, "Bad Request - Exactly One Refer-To Needed");
        };
        let Ok(na) = callwire_sip::parse::name_addr(value) else {
            return refuse(self, 400, "Bad Request - Malformed Refer-To");
        };
        let Uri::Sip(mut target) = na.uri else {
            return refuse(self, 416, "Unsupported URI Scheme In Refer-To");
        };
        if target
            .params
            .value("method")
            .is_some_and(|m| !m.eq_ignore_ascii_case("INVITE"))
        {
            return refuse(self, 501, "Not Implemented - Only INVITE Transfers");
        }
        let replaces = match refer::uri_header(&target, "Replaces") {
            None => None,
            Some(Ok(v)) if Replaces::parse(&v).is_ok() => Some(v),
            Some(_) => return refuse(self, 400, "Bad Request - Malformed Replaces In Refer-To"),
        };
        target.headers.clear();
        target.params.remove("method");
        let referred_by = req
            .head
            .other
            .get("Referred-By")
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 512)
            .map(str::to_owned);
        let mut t = Transfer::new(
            TransferRole::Transferee,
            TransferState::Accepted,
            req.head.cseq.seq,
        );
        t.attended = replaces.is_some();
        t.target = Some(target.to_string());
        t.referred_by = referred_by.clone();
        let policy = self
            .accounts
            .get(&account)
            .map(|a| a.settings().policy.clone())
            .unwrap_or_default();
        let refusal = if self.shutting_down {
            Some((503, "Service Unavailable - Shutting Down"))
        } else if policy.refer == crate::model::account::ReferPolicy::Reject {
            Some((603, "Decline"))
        } else if !policy.permits(&target.to_string()) {
            Some((403, "Forbidden - Target Not Allowed"))
        } else {
            None
        };
        if let Some((code, reason)) = refusal {
            refuse(self, code, reason);
            t.state = TransferState::Failed;
            t.sip_status = Some(code);
            t.sip_reason = Some(reason.to_owned());
            if let Some(call) = self.calls.get_mut(id) {
                call.transfer = Some(t);
            }
            tracing::info!(call = %id, code, "REFER refused");
            return self.transfer_event(id);
        }
        // RFC 4488: the referrer may ask for no NOTIFYs.
        let no_sub = req
            .head
            .other
            .get("Refer-Sub")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"));
        if let Some(d) = self.dialogs.get_mut(did) {
            let mut resp = d.response(req, StatusCode::ACCEPTED);
            if no_sub {
                resp.head.other.push("Refer-Sub", "false");
            }
            self.respond(tx, resp, now);
        }
        t.notifier.closed = no_sub;
        t.dial = Some(Dial {
            uri: target.clone(),
            replaces,
            referred_by,
        });
        if let Some(call) = self.calls.get_mut(id) {
            call.transfer = Some(t);
        }
        tracing::info!(call = %id, to = %target, "REFER accepted");
        self.transfer_event(id);
        self.queue_notify(id, StatusCode::TRYING, "Trying", now);
        self.dial_transfer_target(id, &account, target, now);
    }

    /// Finds the first hop of the transferee's call: at once for an IP
    /// literal, else through the driver's resolver.
    fn dial_transfer_target(&mut self, id: &str, account: &str, target: SipUri, now: Instant) {
        let Some(settings) = self.accounts.get(account).map(|a| a.settings().clone()) else {
            return self.transferee_progress(id, 503, "Service Unavailable", now);
        };
        let fallback = match settings.transport {
            crate::model::account::AccountTransport::Udp => Transport::Udp,
            crate::model::account::AccountTransport::Tcp => Transport::Tcp,
        };
        let hop = match settings.outbound_proxy.as_deref() {
            Some(proxy) => match crate::core::target::parse_target(proxy) {
                Ok(p) => p,
                Err(_) => return self.transferee_progress(id, 503, "Service Unavailable", now),
            },
            None => target,
        };
        match crate::driver::dns::resolve_literal(&hop, fallback) {
            Some(resolved) => self.place_transferee_call(id, resolved, now),
            None => self.outputs.push_back(Output::ResolveTransferTarget {
                call: id.to_owned(),
                uri: hop,
                transport: fallback,
            }),
        }
    }

    /// The driver resolved the first hop of a transferee's call.
    pub(crate) fn on_transfer_target_resolved(
        &mut self,
        id: &str,
        result: Result<Resolved, EngineError>,
        now: Instant,
    ) {
        match result {
            Ok(resolved) => self.place_transferee_call(id, resolved, now),
            Err(e) => {
                tracing::info!(call = %id, error = %e, "transfer target not resolved");
                self.transferee_progress(id, 404, "Not Found", now);
            }
        }
        self.drain_tx(now);
    }

    /// Places the call a received REFER asked for, from the same account.
    fn place_transferee_call(&mut self, id: &str, resolved: Resolved, now: Instant) {
        let Some(call) = self.calls.get(id) else {
            return;
        };
        let account = call.account.clone();
        let Some(dial) = call
            .transfer
            .as_ref()
            .filter(|t| t.role == TransferRole::Transferee && t.is_live() && t.call.is_none())
            .and_then(|t| t.dial.clone())
        else {
            return;
        };
        let mut headers = Vec::new();
        if let Some(r) = &dial.replaces {
            headers.push(("Replaces".to_owned(), r.clone()));
        }
        if let Some(r) = &dial.referred_by {
            headers.push(("Referred-By".to_owned(), r.clone()));
        }
        let place = PlaceCall {
            account,
            to: dial.uri.to_string(),
            headers,
            ..PlaceCall::default()
        };
        self.transfers.next_origin = Some(Origin::TransferredFrom(id.to_owned()));
        let placed = self.place_call(place, dial.uri, resolved, now);
        self.transfers.next_origin = None;
        match placed {
            Ok(view) => {
                self.transfers.watch.insert(view.id.clone(), id.to_owned());
                if let Some(t) = self.live_transfer(id, TransferRole::Transferee) {
                    t.call = Some(view.id.clone());
                    t.state = TransferState::Trying;
                    t.sip_status = Some(100);
                    t.sip_reason = Some("Trying".into());
                }
                self.transfer_event(id);
            }
            Err(e) => {
                tracing::info!(call = %id, error = %e, "transfer call not placed");
                let (code, reason) = match e {
                    EngineError::Conflict(_) => (486, "Busy Here"),
                    EngineError::Forbidden(_) => (403, "Forbidden"),
                    EngineError::InvalidArgument(_) => (404, "Not Found"),
                    _ => (503, "Service Unavailable"),
                };
                self.transferee_progress(id, code, reason, now);
            }
        }
    }

    /// Reports a status of the transferee's call: event and NOTIFY when it
    /// says something new.
    fn transferee_progress(&mut self, id: &str, code: u16, reason: &str, now: Instant) {
        let state = TransferState::for_status(code);
        let Some(t) = self.live_transfer(id, TransferRole::Transferee) else {
            return;
        };
        if !t.advance(state, Some((code, reason))) {
            return;
        }
        self.transfer_event(id);
        if let Some(status) = StatusCode::new(code) {
            self.queue_notify(id, status, reason, now);
        }
    }

    /// Brings every received transfer up to date with the call it placed;
    /// true when anything was sent.
    pub(crate) fn sync_transfers(&mut self, now: Instant) -> bool {
        if self.transfers.watch.is_empty() {
            return false;
        }
        // Every change emits an event, so a longer output queue means news.
        let before = self.outputs.len();
        let watched: Vec<(String, String)> = self
            .transfers
            .watch
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect();
        for (new_id, orig) in watched {
            let view = self.get_call(&new_id).ok();
            let answered = view
                .as_ref()
                .is_some_and(|v| v.answered_at.is_some() && v.reason != Reason::Failed);
            let (code, reason, done) = match &view {
                _ if answered => (200, "OK".to_owned(), true),
                None => (500, "Server Internal Error".to_owned(), true),
                Some(v) if v.state.is_ended() => {
                    let (c, r) = failure_status(v);
                    (c, r, true)
                }
                Some(v) => match self.transfers.provisional.get(&new_id) {
                    Some((c, r)) => (*c, r.clone(), false),
                    None if v.state == CallState::Ringing => (180, "Ringing".to_owned(), false),
                    None => continue,
                },
            };
            if done {
                self.transfers.watch.remove(&new_id);
                self.transfers.provisional.remove(&new_id);
            }
            self.transferee_progress(&orig, code, &reason, now);
        }
        self.outputs.len() != before
    }

    /// Queues a NOTIFY for the referrer and sends it when none is in flight.
    fn queue_notify(&mut self, id: &str, status: StatusCode, reason: &str, now: Instant) {
        let Some(t) = self
            .calls
            .get_mut(id)
            .and_then(|c| c.transfer.as_mut())
            .filter(|t| t.role == TransferRole::Transferee)
        else {
            return;
        };
        if t.notifier.closed {
            return;
        }
        t.notifier.pending = Some((status, reason.to_owned()));
        self.send_next_notify(id, now);
    }

    /// Sends the waiting NOTIFY, if any and none is in flight.
    fn send_next_notify(&mut self, id: &str, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let peer = call.peer();
        let did = call.dialog_id().cloned();
        let ended = call.is_ended();
        let Some(t) = call.transfer.as_mut() else {
            return;
        };
        let n = &mut t.notifier;
        if n.closed || n.in_flight {
            return;
        }
        let Some((status, reason)) = n.pending.take() else {
            return;
        };
        let Some(d) = did
            .filter(|_| !ended)
            .and_then(|did| self.dialogs.get_mut(&did))
        else {
            n.closed = true;
            return;
        };
        let Ok(mut notify) = d.new_request(Method::Notify, &mut self.rng) else {
            n.closed = true;
            return;
        };
        let last = status.is_final();
        notify
            .head
            .other
            .push("Event", format!("refer;id={}", t.refer_cseq));
        notify.head.other.push(
            "Subscription-State",
            if last {
                "terminated;reason=noresource".to_owned()
            } else {
                format!("active;expires={SUBSCRIPTION_EXPIRES}")
            },
        );
        notify.head.content_type = Some("message/sipfrag;version=2.0".into());
        notify.body = refer::sipfrag(status, &reason).into_bytes();
        let target = in_dialog_target(d, peer);
        match self.tx.send_request(notify, target, now) {
            Ok(tx) => {
                n.in_flight = true;
                n.closed = last;
                self.client_tx
                    .insert(tx, ClientPurpose::TransferNotify(id.to_owned()));
            }
            Err(e) => {
                n.closed = true;
                tracing::info!(call = %id, error = %e, "NOTIFY not sent");
            }
        }
    }

    /// Our NOTIFY got its final answer (or none): the next one may go; a 481
    /// or a timeout means the referrer no longer listens.
    pub(crate) fn on_transfer_notify_answered(&mut self, id: &str, code: u16, now: Instant) {
        let Some(t) = self.calls.get_mut(id).and_then(|c| c.transfer.as_mut()) else {
            return;
        };
        t.notifier.in_flight = false;
        if matches!(code, 408 | 481 | 503) {
            t.notifier.closed = true;
            t.notifier.pending = None;
            return;
        }
        self.send_next_notify(id, now);
    }

    /// A new INVITE; one with Replaces takes the place of the call it names.
    pub(crate) fn on_new_invite(
        &mut self,
        tx: ServerTxId,
        req: Request,
        source: Target,
        now: Instant,
    ) {
        let values: Vec<&str> = req.head.other.get_all("Replaces").collect();
        if values.is_empty() {
            return self.on_invite(tx, req, source, now);
        }
        let old = match self.replaced_call(&values) {
            Ok(old) => old,
            Err((code, reason)) => {
                let status = StatusCode::new(code).unwrap_or(StatusCode::CALL_DOES_NOT_EXIST);
                let mut resp = Response::for_request(&req, status, Some(reason));
                self.add_to_tag(&mut resp);
                tracing::info!(code, "INVITE with Replaces refused");
                return self.respond(tx, resp, now);
            }
        };
        self.transfers.next_origin = Some(Origin::Replaces(old.clone()));
        self.on_invite(tx, req, source, now);
        self.transfers.next_origin = None;
        let Some(new) = self.by_server_tx.get(&tx).cloned() else {
            // Refused like any other INVITE (limits, policy, SDP): the old call stays.
            return;
        };
        // The replaced call was answered already: so is its replacement.
        self.answer_incoming(&new, now);
        if !self
            .calls
            .get(&new)
            .is_some_and(|c| c.state == CallState::Active)
        {
            return;
        }
        for (this, other) in [(&new, &old), (&old, &new)] {
            let mut t = Transfer::new(TransferRole::Target, TransferState::Succeeded, 0);
            t.attended = true;
            t.call = Some(other.clone());
            t.sip_status = Some(200);
            t.sip_reason = Some("OK".into());
            if let Some(c) = self.calls.get_mut(this.as_str()) {
                c.transfer = Some(t);
            }
            self.transfer_event(this);
        }
        tracing::info!(call = %new, replaced = %old, "call replaced");
        let _ = self.send_bye(&old, Reason::Replaced, now);
    }

    /// The active call a Replaces value names, or the status to refuse with
    /// (RFC 3891 §3).
    fn replaced_call(&self, values: &[&str]) -> Result<String, (u16, &'static str)> {
        let [value] = values else {
            return Err((400, "Bad Request - More Than One Replaces"));
        };
        let r = Replaces::parse(value).map_err(|_| (400, "Bad Request - Malformed Replaces"))?;
        let did = DialogId {
            call_id: r.call_id,
            local_tag: r.to_tag,
            remote_tag: r.from_tag,
        };
        let no_match = (481, "Call/Transaction Does Not Exist");
        let d = self.dialogs.get(&did).ok_or(no_match)?;
        match d.state() {
            dialog::DialogState::Terminated => return Err((603, "Decline")),
            dialog::DialogState::Confirmed if r.early_only => return Err((486, "Busy Here")),
            dialog::DialogState::Early => return Err(no_match),
            dialog::DialogState::Confirmed => {}
        }
        let id = self.by_dialog.get(&did).ok_or(no_match)?;
        match self.calls.get(id) {
            Some(c) if c.state == CallState::Active => Ok(id.clone()),
            Some(c) if !c.is_ended() => Err((603, "Decline")),
            _ => Err(no_match),
        }
    }
}

/// A call can be transferred when it is active and no transfer of it is
/// under way.
fn check_transferable(id: &str, call: &Call) -> Result<(), EngineError> {
    if call.state != CallState::Active {
        return Err(EngineError::Conflict(format!("call {id} is not active")));
    }
    if call.transfer.as_ref().is_some_and(Transfer::is_live) {
        return Err(EngineError::Conflict(format!(
            "a transfer of call {id} is under way"
        )));
    }
    Ok(())
}
