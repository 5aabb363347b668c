//! callwire's SIP protocol core, sans-IO.
//!
//! Bytes and `now` go in; messages to send, events and the next deadline come out.
//! Nothing here reads the clock, opens a socket or spawns a task: the engine's driver
//! does that. Layers, bottom up:
//!
//! - [`message`]: the typed message model and printer;
//! - [`parse`]: bytes to messages, stream framing, request validation;
//! - [`auth`]: Digest authentication, client and server side.
#![warn(missing_docs)]

pub mod auth;
pub mod message;
