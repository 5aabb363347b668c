//! Registration client (RFC 3261 §10.2), sans-IO.
//!
//! Owns one account's binding at a registrar: building REGISTER requests (one
//! Call-ID for the life of the [`Registration`], CSeq counting up), answering
//! Digest challenges with [`crate::auth`], 423 Interval Too Brief, refreshing
//! before expiry, failover to a secondary registrar, backoff with jitter after
//! failures, and the final unREGISTER.
//!
//! It does not send anything or run transactions: the caller takes each REGISTER
//! from [`Registration::poll_request`], runs it in a client transaction, and
//! feeds back its final response ([`Registration::on_response`]) or its failure
//! ([`Registration::on_transaction_timeout`]). It never reads the clock and takes
//! randomness from the caller.

mod config;
mod machine;

pub use config::{RegistrationConfig, RetryPolicy};
pub use machine::{FailureReason, Registrar, Registration, RegistrationEvent, RegistrationState};

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The address of record has no user part.
    #[error("the address of record has no user part")]
    AorWithoutUser,
    /// The requested expiry is 0, which would remove the binding.
    #[error("the requested expiry must be above 0")]
    ZeroExpires,
}
