//! sans-IO media: SDP now; RTP, codecs, DTMF later.
//!
//! Nothing in this crate opens a socket, reads a clock or spawns a task: it
//! turns bytes into values and values into bytes, and the caller drives I/O.
#![warn(missing_docs)]

pub mod dtmf;
pub mod sdp;
