//! Audio codecs: what each codec is on the wire (SDP name, RTP clock rate,
//! static payload type), and per-call encoder and decoder state for G.711
//! µ-law/A-law, G.722, Opus and L16, with packet loss concealment and a
//! resampler between call rates.
//!
//! Encoders and decoders are enums dispatched with a `match` (no trait
//! objects, no per-frame allocation: output is appended to caller buffers).
//! Everything here is pure computation over samples and bytes.

mod error;
pub mod g711;
mod g722;
mod opus;
mod plc;
pub mod resample;

pub use error::CodecError;
pub use opus::OpusOptions;
pub use resample::Resampler;

use crate::sdp::CodecSpec;

/// Sample rate of an L16 stream (mono).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L16Rate {
    /// 8000 Hz.
    Hz8000,
    /// 16000 Hz.
    Hz16000,
    /// 48000 Hz.
    Hz48000,
}

impl L16Rate {
    /// The rate in Hz.
    pub fn hz(self) -> u32 {
        match self {
            L16Rate::Hz8000 => 8000,
            L16Rate::Hz16000 => 16000,
            L16Rate::Hz48000 => 48000,
        }
    }

    /// The variant for a rate in Hz, if supported.
    pub fn from_hz(hz: u32) -> Option<L16Rate> {
        match hz {
            8000 => Some(L16Rate::Hz8000),
            16000 => Some(L16Rate::Hz16000),
            48000 => Some(L16Rate::Hz48000),
            _ => None,
        }
    }
}

/// An audio codec this crate can encode and decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law (RFC 3551 PCMU).
    Pcmu,
    /// G.711 A-law (RFC 3551 PCMA).
    Pcma,
    /// G.722 at 64 kbit/s (RFC 3551 §4.5.2).
    G722,
    /// Opus, mono at 48 kHz (RFC 7587).
    Opus,
    /// 16-bit linear PCM in network byte order, mono (RFC 3551 §4.5.11).
    L16(L16Rate),
}

impl Codec {
    /// Every codec, in a sensible default preference order.
    pub const ALL: [Codec; 7] = [
        Codec::Opus,
        Codec::G722,
        Codec::Pcma,
        Codec::Pcmu,
        Codec::L16(L16Rate::Hz48000),
        Codec::L16(L16Rate::Hz16000),
        Codec::L16(L16Rate::Hz8000),
    ];

    /// RTP encoding name as written in SDP `a=rtpmap`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::Opus => "opus",
            Codec::L16(_) => "L16",
        }
    }

    /// RTP clock rate in Hz. G.722 uses 8000 although it samples at 16000
    /// (RFC 3551 §4.5.2); Opus always uses 48000 (RFC 7587 §4.1).
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma | Codec::G722 => 8000,
            Codec::Opus => 48000,
            Codec::L16(rate) => rate.hz(),
        }
    }

    /// Channel count written in `a=rtpmap`: Opus is always `/2`
    /// (RFC 7587 §7), the others are mono and omit it.
    pub fn rtpmap_channels(self) -> u8 {
        match self {
            Codec::Opus => 2,
            _ => 1,
        }
    }

    /// Rate in Hz of the PCM the encoder takes and the decoder produces.
    pub fn pcm_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => 8000,
            Codec::G722 => 16000,
            Codec::Opus => opus::RATE,
            Codec::L16(rate) => rate.hz(),
        }
    }

    /// Static RTP payload type from RFC 3551, if the codec has one at this
    /// rate (PCMU 0, PCMA 8, G722 9).
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
            Codec::G722 => Some(9),
            Codec::Opus | Codec::L16(_) => None,
        }
    }

    /// PCM samples in one frame of `ptime_ms` milliseconds.
    pub fn samples_per_frame(self, ptime_ms: u32) -> usize {
        (u64::from(self.pcm_rate()) * u64::from(ptime_ms) / 1000) as usize
    }

    /// RTP timestamp increase for one frame of `ptime_ms` milliseconds.
    pub fn timestamp_increment(self, ptime_ms: u32) -> u32 {
        (u64::from(self.clock_rate()) * u64::from(ptime_ms) / 1000) as u32
    }

    /// The `a=rtpmap` value after the payload type, e.g. `opus/48000/2`.
    pub fn rtpmap(self) -> String {
        match self.rtpmap_channels() {
            1 => format!("{}/{}", self.encoding_name(), self.clock_rate()),
            n => format!("{}/{}/{}", self.encoding_name(), self.clock_rate(), n),
        }
    }

    /// The codec named by an rtpmap (name case-insensitive; a missing
    /// channel count means 1). Opus is accepted with `/2` as RFC 7587
    /// requires, and with `/1` or none, as some peers send.
    pub fn from_rtpmap(name: &str, clock_rate: u32, channels: Option<u8>) -> Option<Codec> {
        let channels = channels.unwrap_or(1);
        let codec = if name.eq_ignore_ascii_case("PCMU") {
            Codec::Pcmu
        } else if name.eq_ignore_ascii_case("PCMA") {
            Codec::Pcma
        } else if name.eq_ignore_ascii_case("G722") {
            Codec::G722
        } else if name.eq_ignore_ascii_case("opus") {
            return (clock_rate == 48000 && channels <= 2).then_some(Codec::Opus);
        } else if name.eq_ignore_ascii_case("L16") {
            Codec::L16(L16Rate::from_hz(clock_rate)?)
        } else {
            return None;
        };
        (codec.clock_rate() == clock_rate && channels == 1).then_some(codec)
    }

    /// The SDP negotiation description of this codec.
    pub fn spec(self) -> CodecSpec {
        CodecSpec::fixed(
            self.encoding_name(),
            self.clock_rate(),
            self.rtpmap_channels(),
            self.static_payload_type(),
        )
    }

    /// The codec a negotiated SDP codec description names, if supported.
    pub fn from_spec(spec: &CodecSpec) -> Option<Codec> {
        Codec::from_rtpmap(&spec.name, spec.clock_rate, Some(spec.channels))
    }
}

/// Per-call encoder for one codec.
pub struct Encoder {
    kind: EncoderKind,
}

enum EncoderKind {
    Pcmu,
    Pcma,
    G722(Box<g722::G722Enc>),
    Opus(Box<opus::OpusEnc>),
    L16(L16Rate),
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("codec", &self.codec())
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder with default settings (Opus: [`OpusOptions::default`]).
    pub fn new(codec: Codec) -> Result<Encoder, CodecError> {
        Encoder::with_opus_options(codec, OpusOptions::default())
    }

    /// An encoder; `opus` applies when `codec` is [`Codec::Opus`].
    pub fn with_opus_options(codec: Codec, opus: OpusOptions) -> Result<Encoder, CodecError> {
        let kind = match codec {
            Codec::Pcmu => EncoderKind::Pcmu,
            Codec::Pcma => EncoderKind::Pcma,
            Codec::G722 => EncoderKind::G722(Box::new(g722::G722Enc::new())),
            Codec::Opus => EncoderKind::Opus(Box::new(opus::OpusEnc::new(opus)?)),
            Codec::L16(rate) => EncoderKind::L16(rate),
        };
        Ok(Encoder { kind })
    }

    /// The codec this encoder produces.
    pub fn codec(&self) -> Codec {
        match self.kind {
            EncoderKind::Pcmu => Codec::Pcmu,
            EncoderKind::Pcma => Codec::Pcma,
            EncoderKind::G722(_) => Codec::G722,
            EncoderKind::Opus(_) => Codec::Opus,
            EncoderKind::L16(rate) => Codec::L16(rate),
        }
    }

    /// Encodes one frame of PCM at [`Codec::pcm_rate`] and appends the RTP
    /// payload to `out`. G.722 needs an even sample count; Opus a frame of
    /// 10, 20, 40 or 60 ms.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        match &mut self.kind {
            EncoderKind::Pcmu => g711::encode_ulaw(pcm, out),
            EncoderKind::Pcma => g711::encode_alaw(pcm, out),
            EncoderKind::G722(enc) => enc.encode(pcm, out)?,
            EncoderKind::Opus(enc) => {
                if !opus::valid_encoder_frame(pcm.len()) {
                    return Err(CodecError::FrameSize {
                        codec: Codec::Opus,
                        samples: pcm.len(),
                    });
                }
                enc.encode(pcm, out)?
            }
            EncoderKind::L16(_) => {
                out.reserve(pcm.len() * 2);
                for s in pcm {
                    out.extend_from_slice(&s.to_be_bytes());
                }
            }
        }
        Ok(())
    }
}

/// Per-call decoder for one codec, with packet loss concealment.
pub struct Decoder {
    kind: DecoderKind,
}

enum DecoderKind {
    Pcmu(plc::FadePlc),
    Pcma(plc::FadePlc),
    G722(Box<(g722::G722Dec, plc::FadePlc)>),
    Opus(Box<opus::OpusDec>),
    L16(L16Rate, plc::FadePlc),
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("codec", &self.codec())
            .finish_non_exhaustive()
    }
}

/// Largest payload any decoder here accepts; larger ones are refused before
/// any work (one RTP packet cannot be larger than a UDP datagram).
pub const MAX_PAYLOAD: usize = 65_535;

impl Decoder {
    /// A decoder for `codec`.
    pub fn new(codec: Codec) -> Result<Decoder, CodecError> {
        let plc = || plc::FadePlc::new(codec.pcm_rate());
        let kind = match codec {
            Codec::Pcmu => DecoderKind::Pcmu(plc()),
            Codec::Pcma => DecoderKind::Pcma(plc()),
            Codec::G722 => DecoderKind::G722(Box::new((g722::G722Dec::new(), plc()))),
            Codec::Opus => DecoderKind::Opus(Box::new(opus::OpusDec::new()?)),
            Codec::L16(rate) => DecoderKind::L16(rate, plc()),
        };
        Ok(Decoder { kind })
    }

    /// The codec this decoder reads.
    pub fn codec(&self) -> Codec {
        match self.kind {
            DecoderKind::Pcmu(_) => Codec::Pcmu,
            DecoderKind::Pcma(_) => Codec::Pcma,
            DecoderKind::G722(_) => Codec::G722,
            DecoderKind::Opus(_) => Codec::Opus,
            DecoderKind::L16(rate, _) => Codec::L16(rate),
        }
    }

    /// Decodes one RTP payload and appends its PCM (at [`Codec::pcm_rate`])
    /// to `out`. On error `out` is left as it was.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(CodecError::PayloadTooLarge {
                len: payload.len(),
                max: MAX_PAYLOAD,
            });
        }
        let start = out.len();
        match &mut self.kind {
            DecoderKind::Pcmu(plc) => {
                g711::decode_ulaw(payload, out);
                plc.record(out.get(start..).unwrap_or_default());
            }
            DecoderKind::Pcma(plc) => {
                g711::decode_alaw(payload, out);
                plc.record(out.get(start..).unwrap_or_default());
            }
            DecoderKind::G722(state) => {
                let (dec, plc) = &mut **state;
                dec.decode(payload, out)?;
                plc.record(out.get(start..).unwrap_or_default());
            }
            DecoderKind::Opus(dec) => dec.decode(payload, out)?,
            DecoderKind::L16(rate, plc) => {
                if !payload.len().is_multiple_of(2) {
                    return Err(CodecError::PayloadLength {
                        codec: Codec::L16(*rate),
                        len: payload.len(),
                    });
                }
                let (pairs, _) = payload.as_chunks::<2>();
                out.extend(pairs.iter().map(|&b| i16::from_be_bytes(b)));
                plc.record(out.get(start..).unwrap_or_default());
            }
        }
        Ok(())
    }

    /// Appends `samples` samples (at [`Codec::pcm_rate`]) standing in for
    /// lost packets: Opus's own concealment, otherwise the last good frame
    /// replayed with a fade to silence over 60 ms.
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        match &mut self.kind {
            DecoderKind::Pcmu(plc) | DecoderKind::Pcma(plc) | DecoderKind::L16(_, plc) => {
                plc.conceal(samples, out)
            }
            DecoderKind::G722(state) => state.1.conceal(samples, out),
            DecoderKind::Opus(dec) => dec.conceal(samples, out),
        }
    }

    /// Opus only: rebuilds `samples` lost samples (a valid Opus frame
    /// length) from the in-band FEC of `next_payload`, the packet after the
    /// loss; the decoder conceals when that packet carries no FEC. Call it
    /// before decoding `next_payload` itself. Other codecs have no FEC and
    /// fall back to [`Decoder::conceal`].
    pub fn decode_fec(
        &mut self,
        next_payload: &[u8],
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<(), CodecError> {
        match &mut self.kind {
            DecoderKind::Opus(dec) => dec.decode_fec(next_payload, samples, out),
            _ => {
                self.conceal(samples, out);
                Ok(())
            }
        }
    }
}
