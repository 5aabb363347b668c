//! sans-IO media: SDP offer/answer (`sdp`), RTP/RTCP and the jitter buffer
//! (`rtp`), codecs and resampling (`codec`), WAV and tones (`audio`), DTMF
//! (`dtmf`), and one call's media put together (`session`).
//!
//! Nothing in this crate opens a socket, reads a clock or spawns a task: it
//! turns bytes into values and values into bytes, and the caller drives I/O.
#![warn(missing_docs)]

pub mod audio;
pub mod codec;
pub mod dtmf;
pub mod rtp;
pub mod sdp;
pub mod session;
