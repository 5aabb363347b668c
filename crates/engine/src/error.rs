//! Errors the engine gives its callers (the HTTP faces map them to their formats).

use thiserror::Error;

/// What went wrong with an engine command.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// No such object.
    #[error("no {what} with id {id}")]
    NotFound {
        /// Kind of object ("account", "call").
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The object exists already, or is in a state that forbids the action.
    #[error("{0}")]
    Conflict(String),
    /// A field or argument is invalid; the message names it.
    #[error("{0}")]
    InvalidArgument(String),
    /// Refused by a policy (an account's call policy); the message says which.
    #[error("{0}")]
    Forbidden(String),
    /// Over a limit or shutting down.
    #[error("{0}")]
    Unavailable(String),
    /// What was asked for existed but is no longer kept (events older than
    /// retention).
    #[error("{0}")]
    Gone(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] callwire_store::StoreError),
    /// A socket could not be opened.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}
