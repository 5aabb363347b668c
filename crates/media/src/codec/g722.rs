//! G.722 at 64 kbit/s (mode 1) over the `audio-codec` crate's pure-Rust
//! implementation: 16 kHz PCM, one octet per two samples (RFC 3551 §4.5.2).

use audio_codec::g722::{G722Decoder, G722Encoder};
use audio_codec::{Decoder as _, Encoder as _};

use super::{Codec, CodecError};

/// G.722 encoder state.
pub(crate) struct G722Enc(G722Encoder);

/// G.722 decoder state.
pub(crate) struct G722Dec(G722Decoder);

impl G722Enc {
    pub(crate) fn new() -> G722Enc {
        G722Enc(G722Encoder::new())
    }

    /// Appends the code of an even number of 16 kHz samples.
    pub(crate) fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        if !pcm.len().is_multiple_of(2) {
            return Err(CodecError::FrameSize {
                codec: Codec::G722,
                samples: pcm.len(),
            });
        }
        let start = out.len();
        out.resize(start + pcm.len() / 2 + 1, 0);
        let tail = out.get_mut(start..).unwrap_or_default();
        match self.0.encode_into(pcm, tail) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(CodecError::FrameSize {
                    codec: Codec::G722,
                    samples: pcm.len(),
                })
            }
        }
    }
}

impl G722Dec {
    pub(crate) fn new() -> G722Dec {
        G722Dec(G722Decoder::new())
    }

    /// Appends the 16 kHz samples of a payload (two per octet).
    pub(crate) fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        let start = out.len();
        out.resize(start + payload.len() * 2, 0);
        let tail = out.get_mut(start..).unwrap_or_default();
        match self.0.decode_into(payload, tail) {
            Ok(n) => {
                out.truncate(start + n);
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(CodecError::PayloadLength {
                    codec: Codec::G722,
                    len: payload.len(),
                })
            }
        }
    }
}
