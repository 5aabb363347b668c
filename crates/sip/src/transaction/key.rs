//! Transaction matching keys (RFC 3261 §17.1.3 and §17.2.3).
//!
//! Client transactions are found by top Via branch and CSeq method. Server
//! transactions are found by branch, sent-by and method when the branch carries
//! the magic cookie, and by the RFC 2543 comparison of Request-URI, tags, Call-ID,
//! CSeq and top Via otherwise.

use crate::message::{Method, Request, Response, Uri, Via, MAGIC_COOKIE};

/// Whether `branch` is an RFC 3261 branch (starts with the magic cookie).
pub(crate) fn is_rfc3261_branch(branch: &str) -> bool {
    branch.starts_with(MAGIC_COOKIE)
}

/// The key of a client transaction: top Via branch and method (RFC 3261 §17.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    branch: String,
    method: Method,
}

impl ClientKey {
    /// The key of a request about to be sent; `None` without a top Via branch.
    pub(crate) fn of_request(req: &Request) -> Option<ClientKey> {
        let branch = req.head.top_via()?.branch()?;
        Some(ClientKey {
            branch: branch.to_owned(),
            method: req.method.clone(),
        })
    }

    /// The key a response matches: its top Via branch and its CSeq method.
    pub(crate) fn of_response(resp: &Response) -> Option<ClientKey> {
        let branch = resp.head.top_via()?.branch()?;
        Some(ClientKey {
            branch: branch.to_owned(),
            method: resp.head.cseq.method.clone(),
        })
    }
}

/// The key of an RFC 3261 server transaction (§17.2.3): branch, sent-by and the
/// method, with ACK standing for INVITE.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ServerKey {
    branch: String,
    /// sent-by host, lower-cased (host names compare case-insensitively).
    host: String,
    /// sent-by port, with the transport's default filled in.
    port: u16,
    method: Method,
}

impl ServerKey {
    /// The key of `req` as the transaction of `method` (normally the request's own
    /// method; ACK maps to INVITE). `None` when the top Via has no RFC 3261 branch.
    pub(crate) fn of_request(req: &Request, method: &Method) -> Option<ServerKey> {
        let via = req.head.top_via()?;
        let branch = via.branch().filter(|b| is_rfc3261_branch(b))?;
        let method = if *method == Method::Ack {
            Method::Invite
        } else {
            method.clone()
        };
        Some(ServerKey {
            branch: branch.to_owned(),
            host: via.host.to_string().to_ascii_lowercase(),
            port: via
                .port
                .unwrap_or(if via.transport.eq_ignore_ascii_case("TLS") {
                    5061
                } else {
                    5060
                }),
            method,
        })
    }
}

/// The fields an RFC 2543 server transaction is matched by (RFC 3261 §17.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LegacyKey {
    uri: Uri,
    to_tag: Option<String>,
    from_tag: Option<String>,
    call_id: String,
    cseq: u32,
    /// The transaction's method (INVITE for ACKs and CANCEL lookups).
    method: Method,
    /// The top Via without the parameters this layer stamps.
    via: Via,
}

impl LegacyKey {
    /// The key of `req` as a transaction of `method`.
    pub(crate) fn of_request(req: &Request, method: &Method) -> Option<LegacyKey> {
        let mut via = req.head.top_via()?.clone();
        via.params.remove("received");
        via.params.remove("rport");
        Some(LegacyKey {
            uri: req.uri.clone(),
            to_tag: req.head.to.tag().map(str::to_owned),
            from_tag: req.head.from.tag().map(str::to_owned),
            call_id: req.head.call_id.clone(),
            cseq: req.head.cseq.seq,
            method: method.clone(),
            via,
        })
    }

    /// Whether an ACK with key `ack` (built with method INVITE) matches the INVITE
    /// transaction with this key that sent a response with To tag `sent_to_tag`:
    /// everything but the To tag equal, and the ACK's To tag equal to the
    /// response's.
    pub(crate) fn matches_ack(&self, ack: &LegacyKey, sent_to_tag: Option<&str>) -> bool {
        self.uri == ack.uri
            && self.from_tag == ack.from_tag
            && self.call_id == ack.call_id
            && self.cseq == ack.cseq
            && self.method == Method::Invite
            && self.via == ack.via
            && ack.to_tag.as_deref() == sent_to_tag
    }
}
