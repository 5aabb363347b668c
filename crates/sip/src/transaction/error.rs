//! Errors of the transaction user's calls into the layer.

use super::event::{ServerState, TransactionId};
use crate::message::{Method, StatusCode};

/// A call into the [`TransactionLayer`](super::TransactionLayer) that was refused.
/// Nothing was sent and no state changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionError {
    /// The message has no Via header.
    #[error("the message has no Via header")]
    MissingVia,
    /// The request's top Via branch is missing or lacks the `z9hG4bK` magic cookie.
    #[error("the top Via branch is missing or lacks the z9hG4bK magic cookie")]
    InvalidBranch,
    /// ACK (for a 2xx) is not sent in a transaction: use `send_stateless`.
    #[error("ACK is not sent in a transaction; send it statelessly")]
    AckIsNotATransaction,
    /// A client transaction with this branch and method already exists.
    #[error("a client transaction with this branch for {method} already exists")]
    DuplicateTransaction {
        /// The request method.
        method: Method,
    },
    /// The transaction does not exist (never did, or terminated).
    #[error("unknown transaction {0}")]
    UnknownTransaction(TransactionId),
    /// The response's CSeq method is not the transaction's method.
    #[error("a response for {response} cannot be sent in a {transaction} transaction")]
    MethodMismatch {
        /// The transaction's method.
        transaction: Method,
        /// The response's CSeq method.
        response: Method,
    },
    /// The state machine does not accept this response now (e.g. a response after
    /// a non-2xx final, or a provisional after a 2xx).
    #[error("cannot send a {status} response in state {state:?}")]
    InvalidState {
        /// The transaction's state.
        state: ServerState,
        /// The refused response status.
        status: StatusCode,
    },
    /// The layer holds its maximum number of active transactions
    /// ([`Config::max_active`](super::Config::max_active), or
    /// [`Config::active_hard_limit`](super::Config::active_hard_limit) for CANCEL
    /// and in-dialog requests).
    #[error("the active transaction limit ({limit}) is reached")]
    Overloaded {
        /// The cap that was hit.
        limit: usize,
    },
    /// Only a request that creates a transaction (not ACK or CANCEL) can be
    /// cancelled.
    #[error("a {0} request cannot be cancelled")]
    NotCancellable(Method),
}
