//! The state of one dialog: identifiers, targets, route set, CSeq numbers, the
//! INVITE in progress in each direction (glare) and the last ACK for 2xx.

use std::time::Duration;

use rand::{Rng, RngCore};

use super::build::{uas_response, LocalEndpoint, MAX_FORWARDS};
use super::DialogError;
use crate::message::{CSeq, Head, Method, NameAddr, Request, Response, StatusCode, Uri};

/// Which side of the dialog-creating INVITE this UA was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sent the INVITE (and chose the Call-ID).
    Uac,
    /// Received the INVITE.
    Uas,
}

/// Dialog state (RFC 3261 §12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a 1xx with a To tag; the initial INVITE has no final response yet.
    Early,
    /// The initial INVITE got (UAC) or was answered with (UAS) a 2xx.
    Confirmed,
    /// Ended: BYE, a non-2xx final response to the initial INVITE, 481 or 408.
    Terminated,
}

/// A dialog identifier (RFC 3261 §12): Call-ID with the local and remote tags.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag (From tag in requests we send).
    pub local_tag: String,
    /// The peer's tag (empty for an RFC 2543 peer that sent no From tag).
    pub remote_tag: String,
}

impl DialogId {
    /// The id of the dialog an incoming request belongs to: To tag local, From tag
    /// remote. `None` when the request has no To tag (it is outside any dialog).
    pub fn for_incoming_request(request: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: request.head.call_id.clone(),
            local_tag: request.head.to.tag()?.to_owned(),
            remote_tag: request.head.from.tag().unwrap_or_default().to_owned(),
        })
    }

    /// The id of the dialog a response to one of our requests belongs to: From tag
    /// local, To tag remote. `None` without both tags.
    pub fn for_response(response: &Response) -> Option<DialogId> {
        Some(DialogId {
            call_id: response.head.call_id.clone(),
            local_tag: response.head.from.tag()?.to_owned(),
            remote_tag: response.head.to.tag()?.to_owned(),
        })
    }
}

/// Why an incoming in-dialog request is refused; answer with
/// [`Rejection::to_response`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The dialog is terminated: 481 (RFC 3261 §12.2.2).
    #[error("dialog terminated")]
    DoesNotExist,
    /// CSeq lower than the last one received: 500 (RFC 3261 §12.2.2).
    #[error("CSeq {received} is lower than {last}")]
    OutOfOrder {
        /// The request's CSeq number.
        received: u32,
        /// The highest CSeq number received so far.
        last: u32,
    },
    /// A re-INVITE while our own re-INVITE is pending: 491 (RFC 3261 §14.2).
    #[error("glare: our INVITE is pending")]
    Glare,
    /// A second INVITE before the first got its final response: 500 with
    /// Retry-After 0–10 s (RFC 3261 §14.2).
    #[error("an INVITE from the peer is still in progress")]
    InviteInProgress,
}

impl Rejection {
    /// The status code to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::DoesNotExist => StatusCode::CALL_DOES_NOT_EXIST,
            Rejection::OutOfOrder { .. } | Rejection::InviteInProgress => {
                StatusCode::SERVER_INTERNAL_ERROR
            }
            Rejection::Glare => StatusCode::REQUEST_PENDING,
        }
    }

    /// The response to `request` (To tag kept as received; Retry-After added for
    /// [`Rejection::InviteInProgress`], random 0–10 s).
    pub fn to_response(&self, request: &Request, rng: &mut (impl RngCore + ?Sized)) -> Response {
        let mut response = Response::for_request(request, self.status(), None);
        if let Rejection::InviteInProgress = self {
            let secs: u32 = rng.gen_range(0..=10);
            response.head.other.push("Retry-After", secs.to_string());
        }
        response
    }
}

/// What the caller does after [`Dialog::on_response`].
// A short-lived return value, never stored in bulk: boxing would only cost.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseAction {
    /// Nothing beyond the transaction layer's own work.
    None,
    /// A first 2xx to an INVITE: send the ACK built by [`Dialog::ack_for_2xx`]
    /// (directly to the transport, not through a transaction).
    AckRequired {
        /// The INVITE's CSeq number.
        cseq: u32,
    },
    /// A retransmitted 2xx to an INVITE already acknowledged: send this ACK again.
    ResendAck(Request),
    /// 491 to our re-INVITE: retry it after this delay (RFC 3261 §14.1).
    RetryAfter(Duration),
    /// The dialog just ended (final response to BYE, 481, 408, or a failed initial
    /// INVITE). Remove it from the table.
    Terminated,
}

/// The glare retry delay after a 491 (RFC 3261 §14.1), in 10 ms units: 2.1–4 s
/// when this UA owns the Call-ID (it sent the dialog-creating INVITE), 0–2 s
/// otherwise.
pub fn glare_retry_delay(owns_call_id: bool, rng: &mut (impl RngCore + ?Sized)) -> Duration {
    let tens: u64 = if owns_call_id {
        rng.gen_range(210..=400)
    } else {
        rng.gen_range(0..=200)
    };
    Duration::from_millis(tens * 10)
}

/// Methods whose requests and 2xx responses replace the remote target (RFC 3261
/// §12.2, RFC 3311, RFC 6665) and which therefore carry Contact.
fn is_target_refresh(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify
    )
}

/// Methods that carry the sender's Contact inside a dialog.
fn carries_contact(method: &Method) -> bool {
    is_target_refresh(method) || *method == Method::Refer
}

/// One dialog: everything needed to build requests within it and to check the
/// requests and responses that arrive in it.
///
/// Build with [`Dialog::from_uac_response`] or [`Dialog::from_uas`]; keep in a
/// [`super::DialogTable`].
#[derive(Clone, Debug)]
pub struct Dialog {
    id: DialogId,
    role: Role,
    state: DialogState,
    /// From of our requests (with our tag).
    local_uri: NameAddr,
    /// To of our requests (with the peer's tag, if any).
    remote_uri: NameAddr,
    remote_target: Uri,
    route_set: Vec<NameAddr>,
    local_seq: Option<u32>,
    remote_seq: Option<u32>,
    secure: bool,
    local: LocalEndpoint,
    /// CSeq of the dialog-creating INVITE.
    invite_cseq: u32,
    /// Our INVITE in progress (the initial one while early on the UAC side).
    outgoing_invite: Option<u32>,
    /// The peer's INVITE without final response yet.
    incoming_invite: Option<u32>,
    /// The last ACK for 2xx sent, kept to answer 2xx retransmissions.
    last_ack: Option<Request>,
}

impl Dialog {
    /// The UAC side (RFC 3261 §12.1.2): a dialog from our `invite` and a 101–299
    /// `response` to it carrying a To tag. A 1xx makes it early, a 2xx confirmed
    /// (then send [`Dialog::ack_for_2xx`]). With forking, each To tag makes its own
    /// dialog: call this for a response whose id is not in the table yet.
    ///
    /// Route set: the response's Record-Route reversed. Remote target: its Contact;
    /// leniently, a response without Contact keeps the INVITE's Request-URI. The
    /// local endpoint (Via sent-by, Contact) is taken from the INVITE.
    pub fn from_uac_response(invite: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let status = response.status.code();
        let cseq = &response.head.cseq;
        if cseq.method != Method::Invite || !(101..300).contains(&status) {
            return Err(DialogError::NotDialogCreating {
                status,
                method: cseq.method.clone(),
            });
        }
        if response.head.call_id != invite.head.call_id {
            return Err(DialogError::Mismatch { field: "Call-ID" });
        }
        if cseq.seq != invite.head.cseq.seq || invite.method != Method::Invite {
            return Err(DialogError::Mismatch { field: "CSeq" });
        }
        let local_tag = invite
            .head
            .from
            .tag()
            .ok_or(DialogError::MissingTag { header: "From" })?;
        if response.head.from.tag() != Some(local_tag) {
            return Err(DialogError::Mismatch { field: "From tag" });
        }
        let remote_tag = response
            .head
            .to
            .tag()
            .ok_or(DialogError::MissingTag { header: "To" })?;
        let via = invite.head.top_via().ok_or(DialogError::MissingVia)?;
        let contact = invite
            .head
            .contact
            .first()
            .and_then(|c| c.uri.as_sip())
            .ok_or(DialogError::MissingContact { what: "request" })?;
        let local = LocalEndpoint {
            transport: via.transport.clone(),
            host: via.host.clone(),
            port: via.port,
            contact: contact.clone(),
            rport: via.params.contains("rport"),
        };
        let confirmed = response.status.is_success();
        let mut remote_uri = invite.head.to.clone();
        remote_uri.set_tag(remote_tag);
        Ok(Dialog {
            id: DialogId {
                call_id: invite.head.call_id.clone(),
                local_tag: local_tag.to_owned(),
                remote_tag: remote_tag.to_owned(),
            },
            role: Role::Uac,
            state: if confirmed {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_uri: invite.head.from.clone(),
            remote_uri,
            remote_target: response
                .head
                .contact
                .first()
                .map(|c| c.uri.clone())
                .unwrap_or_else(|| invite.uri.clone()),
            route_set: response.head.record_route.iter().rev().cloned().collect(),
            local_seq: Some(invite.head.cseq.seq),
            remote_seq: None,
            secure: invite.uri.scheme() == "sips",
            local,
            invite_cseq: invite.head.cseq.seq,
            outgoing_invite: (!confirmed).then_some(invite.head.cseq.seq),
            incoming_invite: None,
            last_ack: None,
        })
    }

    /// The UAS side (RFC 3261 §12.1.1): an early dialog for an incoming INVITE that
    /// we answer with tag `local_tag` from `local`. Build its responses with
    /// [`Dialog::response`]: a 2xx confirms it, a 3xx–6xx ends it.
    ///
    /// Route set: the INVITE's Record-Route as is. Remote target: its Contact
    /// (required). A missing From tag (RFC 2543 peer) gives an empty remote tag.
    pub fn from_uas(
        invite: &Request,
        local_tag: &str,
        local: &LocalEndpoint,
    ) -> Result<Dialog, DialogError> {
        if invite.method != Method::Invite {
            return Err(DialogError::InvalidMethod {
                method: invite.method.clone(),
            });
        }
        let remote_target = invite
            .head
            .contact
            .first()
            .map(|c| c.uri.clone())
            .ok_or(DialogError::MissingContact { what: "request" })?;
        let mut local_uri = invite.head.to.clone();
        local_uri.set_tag(local_tag);
        let secure = invite.uri.scheme() == "sips"
            && invite
                .head
                .top_via()
                .is_some_and(|v| v.transport.eq_ignore_ascii_case("TLS"));
        Ok(Dialog {
            id: DialogId {
                call_id: invite.head.call_id.clone(),
                local_tag: local_tag.to_owned(),
                remote_tag: invite.head.from.tag().unwrap_or_default().to_owned(),
            },
            role: Role::Uas,
            state: DialogState::Early,
            local_uri,
            remote_uri: invite.head.from.clone(),
            remote_target,
            route_set: invite.head.record_route.clone(),
            local_seq: None,
            remote_seq: Some(invite.head.cseq.seq),
            secure,
            local: local.clone(),
            invite_cseq: invite.head.cseq.seq,
            outgoing_invite: None,
            incoming_invite: Some(invite.head.cseq.seq),
            last_ack: None,
        })
    }

    /// The dialog id.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// Whether we sent or received the dialog-creating INVITE.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current state.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// Our URI with our tag (From of our requests).
    pub fn local_uri(&self) -> &NameAddr {
        &self.local_uri
    }

    /// The peer's URI with its tag (To of our requests).
    pub fn remote_uri(&self) -> &NameAddr {
        &self.remote_uri
    }

    /// Our Contact (local target).
    pub fn local_target(&self) -> &crate::message::SipUri {
        &self.local.contact
    }

    /// The peer's Contact (remote target): the Request-URI of our requests.
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    /// The route set, in the order of the Route header of our requests.
    pub fn route_set(&self) -> &[NameAddr] {
        &self.route_set
    }

    /// The last CSeq number we used (`None` for a UAS that sent nothing yet).
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }

    /// The highest CSeq number received from the peer.
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }

    /// Whether the dialog was created over TLS with a `sips:` Request-URI.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The CSeq number of the dialog-creating INVITE.
    pub fn invite_cseq(&self) -> u32 {
        self.invite_cseq
    }

    /// Whether this UA chose the Call-ID (it is the UAC): matters for glare timing.
    pub fn owns_call_id(&self) -> bool {
        self.role == Role::Uac
    }

    /// The CSeq of our INVITE in progress (initial while early, or a re-INVITE).
    pub fn pending_outgoing_invite(&self) -> Option<u32> {
        self.outgoing_invite
    }

    /// The CSeq of the peer's INVITE that has no final response from us yet.
    pub fn pending_incoming_invite(&self) -> Option<u32> {
        self.incoming_invite
    }

    /// The last ACK for 2xx built by [`Dialog::ack_for_2xx`].
    pub fn last_ack(&self) -> Option<&Request> {
        self.last_ack.as_ref()
    }

    /// The endpoint our in-dialog requests are sent from.
    pub fn local_endpoint(&self) -> &LocalEndpoint {
        &self.local
    }

    /// Changes the endpoint (Via sent-by, Contact) of later requests, e.g. after a
    /// transport change. Our next target refresh tells the peer the new Contact.
    pub fn set_local_endpoint(&mut self, local: LocalEndpoint) {
        self.local = local;
    }

    /// Ends the dialog (e.g. after our BYE timed out, or on shutdown).
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// Request-URI and Route for a request in this dialog (RFC 3261 §12.2.1.1).
    ///
    /// Loose routing (first route has `lr`): Request-URI is the remote target and
    /// Route the route set. Strict routing (no `lr`): Request-URI is the first
    /// route's URI (its URI headers removed; other parameters are kept, a
    /// simplification of "stripping parameters not allowed in a Request-URI"), and
    /// Route is the rest of the set followed by the remote target.
    fn target_and_route(&self) -> (Uri, Vec<NameAddr>) {
        let Some(first) = self.route_set.first() else {
            return (self.remote_target.clone(), Vec::new());
        };
        let loose = match &first.uri {
            Uri::Sip(s) => s.params.contains("lr"),
            Uri::Other { .. } => true,
        };
        if loose {
            return (self.remote_target.clone(), self.route_set.clone());
        }
        let mut uri = first.uri.clone();
        if let Uri::Sip(s) = &mut uri {
            s.headers.clear();
        }
        let mut route: Vec<NameAddr> = self.route_set.iter().skip(1).cloned().collect();
        route.push(NameAddr::new(self.remote_target.clone()));
        (uri, route)
    }

    fn build(&self, method: Method, seq: u32, rng: &mut (impl RngCore + ?Sized)) -> Request {
        let (uri, route) = self.target_and_route();
        let mut head = Head::new(
            self.local_uri.clone(),
            self.remote_uri.clone(),
            self.id.call_id.clone(),
            CSeq {
                seq,
                method: method.clone(),
            },
        );
        head.via.push(self.local.via(rng));
        head.max_forwards = Some(MAX_FORWARDS);
        head.route = route;
        if carries_contact(&method) {
            head.contact.push(self.local.contact_header());
        }
        Request {
            method,
            uri,
            head,
            body: Vec::new(),
        }
    }

    /// A new request in the dialog (RFC 3261 §12.2.1.1): BYE, re-INVITE, UPDATE,
    /// INFO, REFER, NOTIFY, … with the next local CSeq, From/To with tags, a fresh
    /// branch, Request-URI and Route from the remote target and route set, and
    /// Contact for target refresh requests and REFER. Add a body afterwards. Send
    /// it through a new client transaction; feed its responses to
    /// [`Dialog::on_response`].
    ///
    /// Refused: on a terminated dialog, for ACK and CANCEL, for INVITE while an
    /// INVITE is in progress in either direction (RFC 3261 §14.1), and for BYE by
    /// the callee on an early dialog (RFC 3261 §15).
    pub fn new_request(
        &mut self,
        method: Method,
        rng: &mut (impl RngCore + ?Sized),
    ) -> Result<Request, DialogError> {
        if self.state == DialogState::Terminated {
            return Err(DialogError::Terminated);
        }
        match method {
            Method::Ack | Method::Cancel => return Err(DialogError::InvalidMethod { method }),
            Method::Invite if self.outgoing_invite.is_some() || self.incoming_invite.is_some() => {
                return Err(DialogError::InvitePending)
            }
            Method::Bye if self.role == Role::Uas && self.state == DialogState::Early => {
                return Err(DialogError::ByeOnEarlyDialog)
            }
            _ => {}
        }
        // A UAS that never sent a request starts at 1 (RFC 3261 §12.2.1.1 allows any
        // value below 2^31).
        let seq = match self.local_seq {
            None => 1,
            Some(s) => s.checked_add(1).ok_or(DialogError::CSeqExhausted)?,
        };
        self.local_seq = Some(seq);
        if method == Method::Invite {
            self.outgoing_invite = Some(seq);
        }
        Ok(self.build(method, seq, rng))
    }

    /// The ACK for a 2xx to our INVITE with CSeq `invite_cseq` (RFC 3261
    /// §13.2.2.4): same CSeq number, method ACK, a fresh branch, no body. It is
    /// stored and sent again by [`Dialog::on_response`] when the 2xx is
    /// retransmitted. Send it directly to the transport.
    pub fn ack_for_2xx(&mut self, invite_cseq: u32, rng: &mut (impl RngCore + ?Sized)) -> Request {
        self.ack_for_2xx_with_body(invite_cseq, None, Vec::new(), rng)
    }

    /// [`Dialog::ack_for_2xx`] carrying a body (the SDP answer when the 2xx held
    /// the offer).
    pub fn ack_for_2xx_with_body(
        &mut self,
        invite_cseq: u32,
        content_type: Option<&str>,
        body: Vec<u8>,
        rng: &mut (impl RngCore + ?Sized),
    ) -> Request {
        let mut ack = self.build(Method::Ack, invite_cseq, rng);
        ack.head.content_type = content_type.map(str::to_owned);
        ack.body = body;
        self.last_ack = Some(ack.clone());
        ack
    }

    /// Checks an incoming request that the table matched to this dialog (RFC 3261
    /// §12.2.2) and updates the dialog: remote CSeq, remote target (target
    /// refresh), INVITE in progress, termination on BYE.
    ///
    /// ACK and CANCEL are accepted without CSeq checks (the ACK of a 2xx goes to
    /// [`super::UasInviteResponder::on_ack`]; CANCEL belongs to the transaction
    /// layer). Answer a rejection with [`Rejection::to_response`].
    pub fn receive_request(&mut self, request: &Request) -> Result<(), Rejection> {
        if self.state == DialogState::Terminated {
            return Err(Rejection::DoesNotExist);
        }
        let method = &request.method;
        if matches!(method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        let seq = request.head.cseq.seq;
        if let Some(last) = self.remote_seq {
            if seq < last {
                return Err(Rejection::OutOfOrder {
                    received: seq,
                    last,
                });
            }
        }
        self.remote_seq = Some(seq);
        if *method == Method::Invite {
            if self.outgoing_invite.is_some() {
                return Err(Rejection::Glare);
            }
            if self.incoming_invite.is_some_and(|pending| pending != seq) {
                return Err(Rejection::InviteInProgress);
            }
            self.incoming_invite = Some(seq);
        }
        if is_target_refresh(method) {
            if let Some(contact) = request.head.contact.first() {
                self.remote_target = contact.uri.clone();
            }
        }
        if *method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        Ok(())
    }

    /// Our response to a request of this dialog (including the dialog-creating
    /// INVITE): To tag, Contact on 101–299 to target refresh requests and REFER,
    /// Record-Route copied for the dialog-creating INVITE ([`uas_response`]).
    ///
    /// A final response to the peer's INVITE ends its "in progress" state; for
    /// the dialog-creating INVITE a 2xx confirms the dialog (start a
    /// [`super::UasInviteResponder`] with it) and a 3xx–6xx terminates it.
    pub fn response(&mut self, request: &Request, status: StatusCode) -> Response {
        let contact = carries_contact(&request.method).then_some(&self.local.contact);
        let response = uas_response(request, status, &self.id.local_tag, contact);
        let seq = request.head.cseq.seq;
        if request.method == Method::Invite && status.is_final() {
            if self.incoming_invite == Some(seq) {
                self.incoming_invite = None;
            }
            let initial = self.role == Role::Uas && seq == self.invite_cseq;
            if initial && self.state == DialogState::Early {
                self.state = if status.is_success() {
                    DialogState::Confirmed
                } else {
                    DialogState::Terminated
                };
            }
        }
        response
    }

    /// Processes a response to a request we sent in this dialog (or to the
    /// dialog-creating INVITE) and says what to do next. See [`ResponseAction`].
    ///
    /// A 2xx to an INVITE confirms an early dialog and recomputes its route set
    /// (RFC 3261 §13.2.2.4); 1xx/2xx to target refresh requests replace the remote
    /// target with their Contact; 481 and 408 terminate the dialog (§12.2.1.2),
    /// as does any final response to BYE and a 3xx–6xx to the initial INVITE.
    pub fn on_response(
        &mut self,
        response: &Response,
        rng: &mut (impl RngCore + ?Sized),
    ) -> Result<ResponseAction, DialogError> {
        let head = &response.head;
        if head.call_id != self.id.call_id {
            return Err(DialogError::Mismatch { field: "Call-ID" });
        }
        if head.from.tag() != Some(self.id.local_tag.as_str()) {
            return Err(DialogError::Mismatch { field: "From tag" });
        }
        if head.to.tag().unwrap_or_default() != self.id.remote_tag {
            return Err(DialogError::Mismatch { field: "To tag" });
        }
        let CSeq { seq, method } = &head.cseq;
        let seq = *seq;
        let status = response.status;
        let initial = self.role == Role::Uac && seq == self.invite_cseq;

        if status.is_provisional() {
            if *method == Method::Invite && initial && self.state == DialogState::Early {
                if let Some(c) = head.contact.first() {
                    self.remote_target = c.uri.clone();
                }
            }
            return Ok(ResponseAction::None);
        }

        if status.is_success() {
            if *method == Method::Invite {
                if let Some(ack) = self.last_ack.as_ref().filter(|a| a.head.cseq.seq == seq) {
                    return Ok(ResponseAction::ResendAck(ack.clone()));
                }
                if initial && self.state == DialogState::Early {
                    self.state = DialogState::Confirmed;
                    self.route_set = head.record_route.iter().rev().cloned().collect();
                }
                if self.outgoing_invite == Some(seq) {
                    self.outgoing_invite = None;
                }
            }
            if is_target_refresh(method) && self.state != DialogState::Terminated {
                if let Some(c) = head.contact.first() {
                    self.remote_target = c.uri.clone();
                }
            }
            return Ok(match method {
                Method::Invite => ResponseAction::AckRequired { cseq: seq },
                Method::Bye => {
                    self.state = DialogState::Terminated;
                    ResponseAction::Terminated
                }
                _ => ResponseAction::None,
            });
        }

        // 3xx–6xx.
        let mut action = ResponseAction::None;
        if *method == Method::Invite && self.outgoing_invite == Some(seq) {
            self.outgoing_invite = None;
            if status == StatusCode::REQUEST_PENDING {
                action = ResponseAction::RetryAfter(glare_retry_delay(self.owns_call_id(), rng));
            }
            if initial && self.state == DialogState::Early {
                self.state = DialogState::Terminated;
            }
        }
        if *method == Method::Bye
            || status == StatusCode::CALL_DOES_NOT_EXIST
            || status == StatusCode::REQUEST_TIMEOUT
        {
            self.state = DialogState::Terminated;
        }
        if self.state == DialogState::Terminated {
            action = ResponseAction::Terminated;
        }
        Ok(action)
    }

    /// A client transaction of this dialog timed out (Timer B/F) or failed at the
    /// transport: handled as a 408 (RFC 3261 §12.2.1.2), which ends the dialog.
    pub fn on_transaction_timeout(&mut self, cseq: &CSeq) -> ResponseAction {
        if cseq.method == Method::Invite && self.outgoing_invite == Some(cseq.seq) {
            self.outgoing_invite = None;
        }
        self.state = DialogState::Terminated;
        ResponseAction::Terminated
    }
}
