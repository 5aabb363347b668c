//! SIP messages: the typed model, its printer, and response building.
//!
//! A message keeps the headers the transaction and dialog layers need as typed
//! fields in [`Head`] (Via, From, To, Call-ID, CSeq, Max-Forwards, Contact, Route,
//! Record-Route, Content-Type) and every other header as an opaque [`Headers`] entry,
//! so unknown headers survive unchanged (RFC 4475 §3.1.1.1). Content-Length is not
//! stored: it is computed from the body when printing.

mod headers;
mod method;
mod uri;

use std::fmt::Write as _;

pub use headers::{canonical_name, CSeq, Header, Headers, NameAddr, Via, MAGIC_COOKIE};
pub use method::{Method, StatusCode};
pub use uri::{Host, Params, SipUri, Uri};

/// The headers every request and response carries, typed, plus the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// Via values, topmost first.
    pub via: Vec<Via>,
    /// From.
    pub from: NameAddr,
    /// To.
    pub to: NameAddr,
    /// Call-ID.
    pub call_id: String,
    /// CSeq.
    pub cseq: CSeq,
    /// Max-Forwards (requests).
    pub max_forwards: Option<u32>,
    /// Contact values (empty when absent). `Contact: *` sets [`Head::contact_wildcard`].
    pub contact: Vec<NameAddr>,
    /// `Contact: *` (REGISTER removal of all bindings).
    pub contact_wildcard: bool,
    /// Route values, in order.
    pub route: Vec<NameAddr>,
    /// Record-Route values, in order.
    pub record_route: Vec<NameAddr>,
    /// Content-Type (media type with parameters, as written).
    pub content_type: Option<String>,
    /// Every other header, in order.
    pub other: Headers,
}

impl Head {
    /// A head with the mandatory fields and nothing else.
    pub fn new(from: NameAddr, to: NameAddr, call_id: String, cseq: CSeq) -> Head {
        Head {
            via: Vec::new(),
            from,
            to,
            call_id,
            cseq,
            max_forwards: None,
            contact: Vec::new(),
            contact_wildcard: false,
            route: Vec::new(),
            record_route: Vec::new(),
            content_type: None,
            other: Headers::new(),
        }
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Option<&Via> {
        self.via.first()
    }

    fn write_to(&self, out: &mut String, body_len: usize) {
        // `write!` into a String cannot fail; the results are ignored on purpose.
        for v in &self.via {
            let _ = write!(out, "Via: {v}\r\n");
        }
        if let Some(mf) = self.max_forwards {
            let _ = write!(out, "Max-Forwards: {mf}\r\n");
        }
        for r in &self.route {
            let _ = write!(out, "Route: {r}\r\n");
        }
        for r in &self.record_route {
            let _ = write!(out, "Record-Route: {r}\r\n");
        }
        let _ = write!(out, "From: {}\r\nTo: {}\r\n", self.from, self.to);
        let _ = write!(out, "Call-ID: {}\r\nCSeq: {}\r\n", self.call_id, self.cseq);
        if self.contact_wildcard {
            out.push_str("Contact: *\r\n");
        }
        for c in &self.contact {
            let _ = write!(out, "Contact: {c}\r\n");
        }
        for h in self.other.iter() {
            let _ = write!(out, "{}: {}\r\n", h.name, h.value);
        }
        if let Some(ct) = &self.content_type {
            let _ = write!(out, "Content-Type: {ct}\r\n");
        }
        let _ = write!(out, "Content-Length: {body_len}\r\n\r\n");
    }
}

/// A SIP request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Headers.
    pub head: Head,
    /// Body (framed by Content-Length).
    pub body: Vec<u8>,
}

impl Request {
    /// Serialises the request, with a Content-Length matching the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(512);
        let _ = write!(out, "{} {} SIP/2.0\r\n", self.method, self.uri);
        self.head.write_to(&mut out, self.body.len());
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// A SIP response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase (may be empty, RFC 4475 §3.1.1.13).
    pub reason: String,
    /// Headers.
    pub head: Head,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// Builds a response to `req` as RFC 3261 §8.2.6.2 says: Via, From, To,
    /// Call-ID and CSeq copied, no To tag added (the caller adds one when it
    /// creates or belongs to a dialog), Record-Route copied for 1xx/2xx to dialog
    /// creating requests is left to the dialog layer.
    pub fn for_request(req: &Request, status: StatusCode, reason: Option<&str>) -> Response {
        let mut head = Head::new(
            req.head.from.clone(),
            req.head.to.clone(),
            req.head.call_id.clone(),
            req.head.cseq.clone(),
        );
        head.via = req.head.via.clone();
        Response {
            status,
            reason: reason.unwrap_or(status.default_reason()).to_owned(),
            head,
            body: Vec::new(),
        }
    }

    /// Serialises the response, with a Content-Length matching the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(512);
        let _ = write!(out, "SIP/2.0 {} {}\r\n", self.status, self.reason);
        self.head.write_to(&mut out, self.body.len());
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// A request or a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Request.
    Request(Request),
    /// Response.
    Response(Response),
}

impl Message {
    /// The shared headers.
    pub fn head(&self) -> &Head {
        match self {
            Message::Request(r) => &r.head,
            Message::Response(r) => &r.head,
        }
    }

    /// Serialises the message.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}
