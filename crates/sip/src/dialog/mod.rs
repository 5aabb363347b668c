//! SIP dialogs (RFC 3261 §12–15), sans-IO.
//!
//! Owns: building out-of-dialog requests ([`new_request`], [`new_invite`]), the
//! dialog state of one leg ([`Dialog`]: identifiers, route set, CSeq
//! bookkeeping, target refresh, glare, ACK for 2xx), the table that finds
//! the dialog of an incoming message ([`DialogTable`]), UAS responses that create
//! or belong to dialogs ([`uas_response`], [`request_terminated`]) and the UAS
//! 2xx retransmission until ACK ([`UasInviteResponder`], RFC 3261 §13.3.1.4,
//! RFC 6026).
//!
//! It does not own transactions: the caller hands every request built here to a
//! client transaction (except ACK for 2xx, which is sent directly to the
//! transport), and hands a request to the dialog only after the server
//! transaction layer has absorbed retransmissions. CANCEL is built by
//! [`crate::transaction::cancel_for`]. It never reads the clock
//! (`now` is passed in) and takes randomness from the caller.

mod build;
mod responder;
mod state;
mod table;

pub use build::{
    new_call_id, new_invite, new_request, new_tag, request_terminated, uas_response, LocalEndpoint,
    NewRequest,
};
pub use responder::{ResponderAction, UasInviteResponder};
pub use state::{
    glare_retry_delay, Dialog, DialogId, DialogState, Rejection, ResponseAction, Role,
};
pub use table::{is_in_dialog, DialogTable};

use crate::message::Method;

/// Errors of dialog creation and of building requests within a dialog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// A dialog needs a tag on this header and it has none.
    #[error("the {header} header has no tag")]
    MissingTag {
        /// `From` or `To`.
        header: &'static str,
    },
    /// The request that should create the dialog has no Via (UAC side).
    #[error("the request has no Via")]
    MissingVia,
    /// The request that should create the dialog has no Contact.
    #[error("the {what} has no usable Contact")]
    MissingContact {
        /// `request` or `response`.
        what: &'static str,
    },
    /// This response cannot create a dialog (100, 3xx–6xx, or not to INVITE).
    #[error("a {status} response to {method} does not create a dialog")]
    NotDialogCreating {
        /// The status code.
        status: u16,
        /// The CSeq method.
        method: Method,
    },
    /// The response does not answer this request (Call-ID, From tag or CSeq differ).
    #[error("the response does not match the request (its {field} differs)")]
    Mismatch {
        /// The header that differs.
        field: &'static str,
    },
    /// The dialog is terminated.
    #[error("the dialog is terminated")]
    Terminated,
    /// The method cannot be sent this way (ACK: use [`Dialog::ack_for_2xx`];
    /// CANCEL: use [`crate::transaction::cancel_for`]).
    #[error("{method} cannot be built with Dialog::new_request")]
    InvalidMethod {
        /// The method.
        method: Method,
    },
    /// An INVITE transaction is in progress in this dialog (RFC 3261 §14.1).
    #[error("an INVITE transaction is already in progress in this dialog")]
    InvitePending,
    /// The callee must not send BYE on an early dialog (RFC 3261 §15).
    #[error("the callee cannot send BYE on an early dialog")]
    ByeOnEarlyDialog,
    /// The local CSeq number reached 2^32-1.
    #[error("the local CSeq space of the dialog is exhausted")]
    CSeqExhausted,
    /// [`DialogTable`] holds as many dialogs as it may.
    #[error("the dialog table is full ({max} dialogs)")]
    TableFull {
        /// The limit.
        max: usize,
    },
    /// [`DialogTable`] already holds a dialog with this id.
    #[error("a dialog with this id already exists")]
    Duplicate,
}
