//! Building requests outside a dialog and UAS responses that create or
//! end dialogs; random identifiers (branch, tag, Call-ID).

use rand::RngCore;

use crate::message::{
    CSeq, Head, Host, Method, NameAddr, Request, Response, SipUri, StatusCode, Uri, Via,
};

/// Max-Forwards of every request callwire originates (RFC 3261 §8.1.1.6).
pub(crate) const MAX_FORWARDS: u32 = 70;

/// Where this UA sends from: the Via sent-by and the Contact it advertises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalEndpoint {
    /// Via transport token (`UDP`, `TCP`, `TLS`).
    pub transport: String,
    /// Via sent-by host.
    pub host: Host,
    /// Via sent-by port.
    pub port: Option<u16>,
    /// The Contact URI (the local target of dialogs).
    pub contact: SipUri,
    /// Add the RFC 3581 `rport` flag to Via (default `true`).
    pub rport: bool,
}

impl LocalEndpoint {
    /// An endpoint sending from `host:port` over `transport`, advertising `contact`.
    pub fn new(transport: &str, host: Host, port: Option<u16>, contact: SipUri) -> LocalEndpoint {
        LocalEndpoint {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            contact,
            rport: true,
        }
    }

    /// A Via for a new client transaction from this endpoint, with a fresh branch
    /// ([`crate::transaction::new_branch`]).
    pub fn via(&self, rng: &mut (impl RngCore + ?Sized)) -> Via {
        let branch = crate::transaction::new_branch(&mut &mut *rng);
        let mut via = Via::new(&self.transport, self.host.clone(), self.port, &branch);
        if self.rport {
            via.params.set("rport", None);
        }
        via
    }

    /// The Contact header value for this endpoint.
    pub fn contact_header(&self) -> NameAddr {
        NameAddr::new(Uri::Sip(self.contact.clone()))
    }
}

/// `count` random bytes as lower-case hex.
fn random_hex(rng: &mut (impl RngCore + ?Sized), count: usize) -> String {
    let mut bytes = vec![0u8; count];
    rng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A fresh From/To tag: 64 random bits (RFC 3261 §19.3 asks for at least 32).
pub fn new_tag(rng: &mut (impl RngCore + ?Sized)) -> String {
    random_hex(rng, 8)
}

/// A fresh Call-ID `random@host`, 128 random bits.
pub fn new_call_id(rng: &mut (impl RngCore + ?Sized), host: &Host) -> String {
    // Brackets of IPv6 literals are fine in a Call-ID word, but keep it plain.
    let host = host.to_string().replace(['[', ']'], "");
    format!("{}@{host}", random_hex(rng, 16))
}

/// What an out-of-dialog request needs besides the local endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRequest {
    /// The method.
    pub method: Method,
    /// From; a random tag is added when it has none.
    pub from: NameAddr,
    /// To; any tag is kept (it should have none outside a dialog).
    pub to: NameAddr,
    /// The Request-URI.
    pub request_uri: Uri,
    /// Call-ID; a random `hex@host` is made when `None`.
    pub call_id: Option<String>,
    /// CSeq number (RFC 3261 §8.1.1.5: below 2^31).
    pub cseq: u32,
    /// A preloaded route set (outbound proxy), copied to Route in order.
    pub route: Vec<NameAddr>,
}

impl NewRequest {
    /// A request with CSeq 1, a new Call-ID and no preloaded route.
    pub fn new(method: Method, from: NameAddr, to: NameAddr, request_uri: Uri) -> NewRequest {
        NewRequest {
            method,
            from,
            to,
            request_uri,
            call_id: None,
            cseq: 1,
            route: Vec::new(),
        }
    }
}

/// Whether a request of this method carries the sender's Contact.
fn carries_contact(method: &Method) -> bool {
    !matches!(
        method,
        Method::Ack | Method::Cancel | Method::Bye | Method::Message | Method::Prack
    )
}

/// Builds an out-of-dialog request (RFC 3261 §8.1.1): Via with a fresh branch,
/// Max-Forwards 70, From with a tag, Call-ID, CSeq, and Contact (except for ACK,
/// CANCEL, BYE, MESSAGE and PRACK). Add a body and Content-Type afterwards.
pub fn new_request(
    params: NewRequest,
    local: &LocalEndpoint,
    rng: &mut (impl RngCore + ?Sized),
) -> Request {
    let NewRequest {
        method,
        mut from,
        to,
        request_uri,
        call_id,
        cseq,
        route,
    } = params;
    if from.tag().is_none() {
        from.set_tag(&new_tag(rng));
    }
    let call_id = call_id.unwrap_or_else(|| new_call_id(rng, &local.host));
    let mut head = Head::new(
        from,
        to,
        call_id,
        CSeq {
            seq: cseq,
            method: method.clone(),
        },
    );
    head.via.push(local.via(rng));
    head.max_forwards = Some(MAX_FORWARDS);
    head.route = route;
    if carries_contact(&method) {
        head.contact.push(local.contact_header());
    }
    Request {
        method,
        uri: request_uri,
        head,
        body: Vec::new(),
    }
}

/// An initial INVITE from `from` to `to` at `request_uri`: CSeq 1, a new Call-ID,
/// a new From tag. Add the SDP offer as body afterwards.
pub fn new_invite(
    from: NameAddr,
    to: NameAddr,
    request_uri: Uri,
    local: &LocalEndpoint,
    rng: &mut (impl RngCore + ?Sized),
) -> Request {
    new_request(
        NewRequest::new(Method::Invite, from, to, request_uri),
        local,
        rng,
    )
}

/// A UAS response to `request` (RFC 3261 §8.2.6, §12.1.1):
///
/// - the To tag `to_tag` is added when the request's To has none (except to 100,
///   which needs no tag); an existing To tag is kept;
/// - `contact` is added to 101–299 responses when given (it is mandatory in
///   responses that create dialogs and in 2xx to target refresh requests);
/// - Record-Route is copied to 101–299 responses to a request without To tag
///   (the dialog-creating request).
pub fn uas_response(
    request: &Request,
    status: StatusCode,
    to_tag: &str,
    contact: Option<&SipUri>,
) -> Response {
    let mut response = Response::for_request(request, status, None);
    let code = status.code();
    if code > 100 && response.head.to.tag().is_none() {
        response.head.to.set_tag(to_tag);
    }
    if (101..300).contains(&code) {
        if let Some(c) = contact {
            response
                .head
                .contact
                .push(NameAddr::new(Uri::Sip(c.clone())));
        }
        if request.head.to.tag().is_none() {
            response.head.record_route = request.head.record_route.clone();
        }
    }
    response
}

/// The 487 Request Terminated for an INVITE that a CANCEL ended (RFC 3261 §9.2),
/// with `to_tag` (use the tag of the early dialog if one was sent in a 1xx).
pub fn request_terminated(invite: &Request, to_tag: &str) -> Response {
    uas_response(invite, StatusCode::REQUEST_TERMINATED, to_tag, None)
}
