//! Opus (RFC 6716, RTP per RFC 7587): mono 48 kHz over the `opus-rs` crate,
//! a pure-Rust port of libopus (no C toolchain, cmake or system library).
//!
//! The encoder runs the VOIP application; in-band FEC is off unless
//! [`OpusOptions::fec`] asks for it. Lost frames are concealed by the
//! decoder's own PLC, or recovered from the next packet's FEC data with
//! [`Decoder::decode_fec`](super::Decoder::decode_fec).

use opus_rs::{Application, OpusDecoder, OpusEncoder};

use super::CodecError;

/// PCM rate of the Opus encoder and decoder.
pub(crate) const RATE: u32 = 48_000;
/// Longest Opus packet duration (120 ms) in samples at 48 kHz.
pub(crate) const MAX_PACKET_SAMPLES: usize = 5760;
/// Upper bound on the size of one encoded packet (RFC 6716 §3.4, for up
/// to three 20 ms frames of 1275 bytes).
const MAX_PACKET_BYTES: usize = 4000;
/// Largest payload handed to the decoder (RFC 6716 caps a packet at
/// 120 ms of 1275-byte frames plus framing).
pub(crate) const MAX_PAYLOAD: usize = 6 * 1275 + 64;
/// PLC granularity: 2.5 ms at 48 kHz.
const PLC_STEP: usize = 120;

/// Encoder settings for Opus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusOptions {
    /// Target bit rate in bit/s (clamped by the library to 500..=512000).
    pub bitrate: u32,
    /// Encoder complexity, 0..=10.
    pub complexity: u8,
    /// Constant bit rate instead of VBR.
    pub cbr: bool,
    /// In-band forward error correction (LBRR). Off by default.
    pub fec: bool,
    /// Expected packet loss in percent; tunes FEC when it is on.
    pub expected_loss_percent: u8,
}

impl Default for OpusOptions {
    fn default() -> OpusOptions {
        OpusOptions {
            bitrate: 32_000,
            complexity: 5,
            cbr: false,
            fec: false,
            expected_loss_percent: 0,
        }
    }
}

fn opus_err(reason: &'static str) -> CodecError {
    CodecError::Opus { reason }
}

/// Whether `samples` at 48 kHz is a frame duration Opus can carry.
pub(crate) fn valid_frame(samples: usize) -> bool {
    matches!(samples, 120 | 240 | 480 | 960 | 1920 | 2880)
}

/// Whether the encoder takes a frame of `samples` at 48 kHz: 10, 20, 40
/// or 60 ms. (The VOIP encoder of `opus-rs` does not switch to CELT for
/// 2.5 and 5 ms frames as libopus does; no telephony ptime needs them.)
pub(crate) fn valid_encoder_frame(samples: usize) -> bool {
    matches!(samples, 480 | 960 | 1920 | 2880)
}

/// Opus encoder state.
pub(crate) struct OpusEnc {
    enc: OpusEncoder,
}

impl OpusEnc {
    pub(crate) fn new(options: OpusOptions) -> Result<OpusEnc, CodecError> {
        let mut enc = OpusEncoder::new(RATE as i32, 1, Application::Voip).map_err(opus_err)?;
        enc.bitrate_bps = options.bitrate.min(i32::MAX as u32) as i32;
        enc.complexity = i32::from(options.complexity.min(10));
        enc.use_cbr = options.cbr;
        enc.use_inband_fec = options.fec;
        enc.packet_loss_perc = i32::from(options.expected_loss_percent.min(100));
        Ok(OpusEnc { enc })
    }

    /// Appends one packet for `pcm`, which the caller checked is a valid
    /// frame length.
    pub(crate) fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let start = out.len();
        out.resize(start + MAX_PACKET_BYTES, 0);
        let tail = out.get_mut(start..).unwrap_or_default();
        match self.enc.encode_i16(pcm, pcm.len(), tail) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(())
            }
            Err(reason) => {
                out.truncate(start);
                Err(opus_err(reason))
            }
        }
    }
}

/// Opus decoder state with its float scratch buffer.
pub(crate) struct OpusDec {
    dec: OpusDecoder,
    scratch: Vec<f32>,
}

/// Float sample (nominal ±1.0) to i16 with rounding and saturation.
#[inline]
fn to_i16(x: f32) -> i16 {
    // `as` saturates and maps NaN to 0.
    (x * 32768.0).round() as i16
}

impl OpusDec {
    pub(crate) fn new() -> Result<OpusDec, CodecError> {
        let dec = OpusDecoder::new(RATE as i32, 1).map_err(opus_err)?;
        Ok(OpusDec {
            dec,
            scratch: vec![0.0; MAX_PACKET_SAMPLES],
        })
    }

    fn append(&self, n: usize, out: &mut Vec<i16>) {
        let n = n.min(self.scratch.len());
        out.extend(self.scratch.iter().take(n).map(|&x| to_i16(x)));
    }

    /// Appends the samples of one packet.
    pub(crate) fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        if payload.is_empty() {
            // An empty payload would be taken as a loss by the library.
            return Err(opus_err("empty packet"));
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(CodecError::PayloadTooLarge {
                len: payload.len(),
                max: MAX_PAYLOAD,
            });
        }
        let n = self
            .dec
            .decode(payload, MAX_PACKET_SAMPLES, &mut self.scratch)
            .map_err(opus_err)?;
        self.append(n, out);
        Ok(())
    }

    /// Recovers `samples` lost samples from the FEC data of the packet that
    /// followed them.
    pub(crate) fn decode_fec(
        &mut self,
        next_payload: &[u8],
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<(), CodecError> {
        if next_payload.len() > MAX_PAYLOAD {
            return Err(CodecError::PayloadTooLarge {
                len: next_payload.len(),
                max: MAX_PAYLOAD,
            });
        }
        if !valid_frame(samples) {
            return Err(CodecError::FrameSize {
                codec: super::Codec::Opus,
                samples,
            });
        }
        let n = self
            .dec
            .decode_fec(next_payload, samples, &mut self.scratch)
            .map_err(opus_err)?;
        self.append(n, out);
        Ok(())
    }

    /// Appends `samples` samples of the library's concealment.
    pub(crate) fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        let mut left = samples;
        while left > 0 {
            let step = left.div_ceil(PLC_STEP) * PLC_STEP;
            let step = step.min(MAX_PACKET_SAMPLES);
            let want = left.min(step);
            match self.dec.decode(&[], step, &mut self.scratch) {
                Ok(n) => {
                    let n = n.min(want);
                    self.append(n, out);
                    if n == 0 {
                        break;
                    }
                    left -= n;
                }
                Err(_) => break,
            }
        }
        // Whatever the library could not produce is silence.
        out.resize(out.len() + left, 0);
    }
}
