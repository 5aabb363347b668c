//! Transaction identifiers, public state views, and the events handed to the
//! transaction user (TU).

use std::fmt;
use std::net::SocketAddr;

use super::transport::Transport;
use crate::message::{Request, Response};

/// A client transaction, as returned by
/// [`send_request`](super::TransactionLayer::send_request). Never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTxId(pub(crate) u64);

/// A server transaction, as announced by [`Event::Request`]. Never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTxId(pub(crate) u64);

/// Either kind of transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransactionId {
    /// A client transaction.
    Client(ClientTxId),
    /// A server transaction.
    Server(ServerTxId),
}

impl From<ClientTxId> for TransactionId {
    fn from(id: ClientTxId) -> TransactionId {
        TransactionId::Client(id)
    }
}

impl From<ServerTxId> for TransactionId {
    fn from(id: ServerTxId) -> TransactionId {
        TransactionId::Server(id)
    }
}

impl fmt::Display for ClientTxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client#{}", self.0)
    }
}

impl fmt::Display for ServerTxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server#{}", self.0)
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionId::Client(id) => id.fmt(f),
            TransactionId::Server(id) => id.fmt(f),
        }
    }
}

/// The state of a live client transaction (terminated ones are gone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientState {
    /// INVITE sent, no response yet (Timers A, B).
    Calling,
    /// Non-INVITE request sent, no response yet (Timers E, F).
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A final response arrived (non-2xx for INVITE); absorbing retransmissions
    /// (Timer D or K).
    Completed,
    /// INVITE got a 2xx (RFC 6026): every further 2xx goes to the TU until Timer M.
    Accepted,
}

/// The state of a live server transaction (terminated ones are gone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerState {
    /// Non-INVITE request received, nothing sent yet.
    Trying,
    /// INVITE received (or a provisional response sent).
    Proceeding,
    /// Final response sent (non-2xx for INVITE); waiting for ACK (Timers G, H) or
    /// absorbing retransmissions (Timer J).
    Completed,
    /// INVITE server: ACK received, absorbing ACK retransmissions (Timer I).
    Confirmed,
    /// INVITE server sent a 2xx (RFC 6026): further 2xx from the TU are sent, the
    /// INVITE retransmissions absorbed, until Timer L.
    Accepted,
}

/// Something the transaction user must know about, from
/// [`poll_event`](super::TransactionLayer::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A new request created a server transaction. Answer it with
    /// [`send_response`](super::TransactionLayer::send_response). A CANCEL comes
    /// this way too: look up what it cancels with
    /// [`find_invite_for_cancel`](super::TransactionLayer::find_invite_for_cancel).
    /// The top Via already carries `received`/`rport` (RFC 3581).
    Request {
        /// The new server transaction.
        tx: ServerTxId,
        /// The request.
        request: Request,
        /// Where it came from.
        source: SocketAddr,
        /// Over which transport.
        transport: Transport,
    },
    /// An ACK that belongs to no transaction in a state that absorbs it: the ACK
    /// for a 2xx (RFC 3261 §17.2.3 and §13.3.1.4). `tx` is the INVITE server
    /// transaction in Accepted state it matched (RFC 2543 peers reuse the branch),
    /// normally `None`.
    Ack {
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: SocketAddr,
        /// Over which transport.
        transport: Transport,
        /// The Accepted INVITE server transaction it matched, if any.
        tx: Option<ServerTxId>,
    },
    /// A response for a client transaction: provisional, final, and for INVITE
    /// every 2xx (retransmissions and forks) while Accepted (RFC 6026).
    Response {
        /// The client transaction.
        tx: ClientTxId,
        /// The response.
        response: Response,
    },
    /// A response that matches no client transaction (or a 2xx arriving after a
    /// non-2xx final). A UAC core ACKs and BYEs a stray 2xx to INVITE.
    StrayResponse {
        /// The response.
        response: Response,
        /// Where it came from.
        source: SocketAddr,
    },
    /// Timer B or F fired: no final response. The TU treats it as a 408.
    Timeout {
        /// The client transaction, now terminated.
        tx: ClientTxId,
    },
    /// Timer H fired: the non-2xx final response to an INVITE was never ACKed.
    AckTimeout {
        /// The INVITE server transaction, now terminated.
        tx: ServerTxId,
    },
    /// The driver reported a transport error for the transaction's target
    /// ([`transport_error`](super::TransactionLayer::transport_error)). The
    /// transaction is terminated; the TU treats a client one as a 503.
    TransportError {
        /// The transaction.
        tx: TransactionId,
    },
    /// A new request arrived while the layer holds
    /// [`Config::max_active`](super::Config::max_active) active transactions (an
    /// out-of-dialog request), or
    /// [`Config::active_hard_limit`](super::Config::active_hard_limit) of them (a
    /// CANCEL or a request with a To tag). No transaction was created: answer 503
    /// statelessly with [`send_stateless`](super::TransactionLayer::send_stateless)
    /// to [`response_target`](super::response_target). Lingering transactions do
    /// not count: they are evicted instead ([`Config::max_lingering`](super::Config::max_lingering)).
    Overloaded {
        /// The request (top Via stamped).
        request: Request,
        /// Where it came from.
        source: SocketAddr,
        /// Over which transport.
        transport: Transport,
    },
    /// The transaction ended and was removed; its id is no longer valid. A
    /// lingering transaction evicted early ([`Config::max_lingering`](super::Config::max_lingering))
    /// ends this way too.
    Terminated {
        /// The transaction.
        tx: TransactionId,
    },
}
