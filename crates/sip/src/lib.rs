//! callwire's SIP protocol core, sans-IO.
//!
//! Bytes and `now` go in; messages to send, events and the next deadline come out.
//! Nothing here reads the clock, opens a socket or spawns a task: the engine's driver
//! does that. Layers, bottom up:
//!
//! - [`message`]: the typed message model and printer;
//! - [`parse`]: bytes to messages, stream framing, request validation;
//! - [`auth`]: Digest authentication, client and server side;
//! - [`transaction`]: RFC 3261 §17 / RFC 6026 transactions, timers and response routing;
//! - [`refer`]: call transfer header values (Replaces, sipfrag, URI headers).
#![warn(missing_docs)]

pub mod auth;
pub mod dialog;
pub mod message;
pub mod parse;
pub mod refer;
pub mod registration;
pub mod transaction;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
