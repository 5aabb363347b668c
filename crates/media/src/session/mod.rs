//! One call's media, sans-IO: RTP and RTCP in, a frame tick every `ptime`
//! (jitter buffer → decoder → DTMF detection and the recording tap; playback or
//! silence → encoder → RTP out), RFC 4733 and in-band DTMF sending, symmetric
//! RTP, RTCP reports, statistics and the media timeout.
//!
//! The caller feeds datagrams with [`MediaSession::receive`], wakes the session
//! at [`MediaSession::poll_timeout`] with [`MediaSession::handle_timeout`], and
//! after every call drains [`MediaSession::drain_transmit`],
//! [`MediaSession::poll_event`] and [`MediaSession::take_recorded`].

mod play;
mod stats;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::codec::{Codec, Decoder, Encoder, Resampler};
use crate::dtmf::{self, DigitEvent};
use crate::rtp::{
    self, CompoundReport, JitterBuffer, JitterConfig, Playout, ReceiverStats, RtcpPacket,
    RtcpTimer, RtpHeader, RtpPacket, SenderStats,
};
use crate::sdp::Direction;

pub use play::PlaySource;
pub use stats::MediaStats;

/// Events a session holds at most before the oldest are dropped (counted).
const MAX_EVENTS: usize = 256;
/// Packets queued for sending at most (a tick queues one or two).
const MAX_TRANSMIT: usize = 64;
/// How long the latched RTP source must be silent before packets from another
/// address may take its place without proving anything.
const LATCH_GRACE: Duration = Duration::from_millis(500);
/// Packets in a row with the stream's SSRC from a new address that move the
/// latch while the old source is still live.
const LATCH_CONFIRM: u8 = 3;
/// Recorded samples held at most between two drains (10 s at 48 kHz stereo).
const MAX_RECORDED: usize = 48_000 * 2 * 10;

/// Fixed settings of a session, chosen when the call's media starts.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our SSRC (random).
    pub ssrc: u32,
    /// First RTP sequence number (random).
    pub initial_sequence: u16,
    /// First RTP timestamp (random).
    pub initial_timestamp: u32,
    /// RTCP CNAME.
    pub cname: String,
    /// No RTP for this long while we expect some ends the call
    /// ([`SessionEvent::MediaTimeout`]); `None` disables the check.
    pub media_timeout: Option<Duration>,
    /// Jitter buffer bounds, in milliseconds.
    pub jitter_min_ms: u32,
    /// See `jitter_min_ms`.
    pub jitter_max_ms: u32,
    /// Look for DTMF tones in the received audio.
    pub detect_inband: bool,
    /// Seed for the RTCP interval randomisation (RFC 3550 §6.3).
    pub rtcp_seed: u64,
    /// The wall clock at the session's creation as a 64-bit NTP timestamp
    /// (RFC 3550 §4), for sender reports and round-trip times.
    pub ntp_at_start: u64,
}

/// The negotiated stream: where to send, what, and which way.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamParams {
    /// Remote RTP address from the SDP (until symmetric RTP latches).
    pub remote_rtp: SocketAddr,
    /// Remote RTCP address.
    pub remote_rtcp: SocketAddr,
    /// Audio codec.
    pub codec: Codec,
    /// Payload type to send and expect the codec with.
    pub payload_type: u8,
    /// Payload type of telephone-event, when negotiated.
    pub telephone_event_pt: Option<u8>,
    /// Packetisation time in ms.
    pub ptime_ms: u32,
    /// Our direction.
    pub direction: Direction,
}

/// How DTMF is sent in the media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMethod {
    /// RFC 4733 telephone-event packets.
    Rfc4733,
    /// Tones in the audio.
    Inband,
}

/// What the recording tap produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordMode {
    /// Both directions summed into one channel.
    Mixed,
    /// Two channels: received (left), sent (right).
    Split,
}

impl RecordMode {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordMode::Mixed => "mixed",
            RecordMode::Split => "split",
        }
    }
}

/// Something the session noticed.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent {
    /// A DTMF digit was received (RFC 4733 or in-band).
    Dtmf(DigitEvent),
    /// A playback ended: it ran out, or was stopped or replaced.
    PlaybackFinished {
        /// The id given to [`MediaSession::play`].
        id: u64,
        /// True when stopped or replaced before its end.
        stopped: bool,
    },
    /// DTMF queued with [`MediaSession::send_dtmf`] has all been sent.
    DtmfSent,
    /// No RTP arrived for the configured time.
    MediaTimeout {
        /// How long nothing arrived.
        silence: Duration,
    },
    /// The peer sent an RTCP BYE.
    RemoteBye,
}

/// Why a request to the session was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The codec cannot be set up.
    #[error("codec: {0}")]
    Codec(String),
    /// DTMF digits are not valid.
    #[error("DTMF: {0}")]
    Dtmf(String),
    /// RFC 4733 was asked for but the peer did not negotiate telephone-event.
    #[error("the peer did not negotiate telephone-event")]
    NoTelephoneEvent,
    /// There is no negotiated stream yet.
    #[error("no media stream negotiated yet")]
    NoStream,
}

/// A datagram to send.
#[derive(Debug)]
pub struct Transmit<'a> {
    /// Destination.
    pub to: SocketAddr,
    /// True for the RTCP socket, false for RTP.
    pub rtcp: bool,
    /// The datagram.
    pub data: &'a [u8],
}

/// The negotiated stream with its codec state.
struct Stream {
    params: StreamParams,
    encoder: Encoder,
    decoder: Decoder,
    jitter: JitterBuffer,
    dtmf_rx: dtmf::rfc4733::Receiver,
    dtmf_tx: dtmf::rfc4733::Sender,
    /// PCM samples per frame at the codec's PCM rate.
    frame_samples: usize,
    /// RTP timestamp units per frame.
    frame_ticks: u32,
    /// Resampler to 8 kHz for in-band detection (wideband codecs only).
    to_8k: Option<Resampler>,
}

/// One call's media (see the module doc).
pub struct MediaSession {
    config: SessionConfig,
    started: Instant,
    stream: Option<Stream>,
    /// Where RTP/RTCP actually come from, once they do (symmetric RTP).
    latched_rtp: Option<SocketAddr>,
    latched_rtcp: Option<SocketAddr>,
    /// A new address sending with the stream's SSRC, and how many in a row.
    latch_candidate: Option<(SocketAddr, u32, u8)>,
    sequence: u16,
    timestamp: u32,
    next_tick: Option<Instant>,
    rtcp_timer: Option<RtcpTimer>,
    rng: u64,
    last_rtp_at: Instant,
    timeout_reported: bool,
    closed: bool,
    receiver: ReceiverStats,
    sender: SenderStats,
    remote_ssrc: Option<u32>,
    inband_rx: Option<dtmf::inband::Detector>,
    inband_tx: Option<dtmf::inband::Generator>,
    dtmf_pending: bool,
    playback: Option<play::Playback>,
    recording: Option<RecordMode>,
    /// Recorded audio: mixed (or received, when split) and sent.
    recorded_left: Vec<i16>,
    recorded_right: Vec<i16>,
    events: VecDeque<SessionEvent>,
    transmit: VecDeque<(SocketAddr, bool, Vec<u8>)>,
    spare: Vec<Vec<u8>>,
    counters: stats::Counters,
    // Scratch buffers reused every tick.
    rx_pcm: Vec<i16>,
    tx_pcm: Vec<i16>,
    scratch: Vec<i16>,
    digits: Vec<DigitEvent>,
    payload: Vec<u8>,
}

impl MediaSession {
    /// A session with no stream yet: it sends nothing until [`MediaSession::set_stream`].
    pub fn new(config: SessionConfig, now: Instant) -> MediaSession {
        let detector = if config.detect_inband {
            dtmf::inband::Detector::new(8000).ok()
        } else {
            None
        };
        MediaSession {
            started: now,
            sequence: config.initial_sequence,
            timestamp: config.initial_timestamp,
            rng: config.rtcp_seed | 1,
            stream: None,
            latched_rtp: None,
            latched_rtcp: None,
            latch_candidate: None,
            next_tick: None,
            rtcp_timer: None,
            last_rtp_at: now,
            timeout_reported: false,
            closed: false,
            receiver: ReceiverStats::new(8000),
            sender: SenderStats::new(8000),
            remote_ssrc: None,
            inband_rx: detector,
            inband_tx: None,
            dtmf_pending: false,
            playback: None,
            recording: None,
            recorded_left: Vec::new(),
            recorded_right: Vec::new(),
            events: VecDeque::new(),
            transmit: VecDeque::new(),
            spare: Vec::new(),
            counters: stats::Counters::default(),
            rx_pcm: Vec::new(),
            tx_pcm: Vec::new(),
            scratch: Vec::new(),
            digits: Vec::new(),
            payload: Vec::new(),
            config,
        }
    }

    /// A value in [0, 1) for the RTCP interval (xorshift; quality is no concern).
    fn random(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The wall clock at `now` as an NTP timestamp.
    fn ntp(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.started);
        let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
        self.config
            .ntp_at_start
            .wrapping_add((d.as_secs() << 32) | frac)
    }

    /// Applies a negotiated stream (first offer/answer or a re-INVITE). A new
    /// codec, payload type or ptime resets the codec state and the jitter buffer.
    pub fn set_stream(&mut self, now: Instant, params: StreamParams) -> Result<(), SessionError> {
        let same_codec = self.stream.as_ref().is_some_and(|s| {
            s.params.codec == params.codec
                && s.params.payload_type == params.payload_type
                && s.params.ptime_ms == params.ptime_ms.clamp(10, 120)
                && s.params.telephone_event_pt == params.telephone_event_pt
        });
        let remote_moved = self
            .stream
            .as_ref()
            .is_none_or(|s| s.params.remote_rtp != params.remote_rtp);
        if remote_moved {
            // A new address in the SDP: latch again to whatever comes from it.
            self.latched_rtp = None;
            self.latched_rtcp = None;
        }
        match (same_codec, self.stream.as_mut()) {
            (true, Some(s)) => {
                s.params = StreamParams {
                    ptime_ms: s.params.ptime_ms,
                    ..params
                }
            }
            _ => {
                let stream = self.new_stream(params)?;
                self.stream = Some(stream);
            }
        }
        // Expecting media again restarts the media timeout.
        self.last_rtp_at = now;
        self.timeout_reported = false;
        if self.next_tick.is_none() {
            self.next_tick = Some(now);
        }
        if self.rtcp_timer.is_none() {
            let r = self.random();
            self.rtcp_timer = Some(RtcpTimer::new(now, r));
        }
        Ok(())
    }

    fn new_stream(&mut self, params: StreamParams) -> Result<Stream, SessionError> {
        let codec = params.codec;
        let codec_err = |e: crate::codec::CodecError| SessionError::Codec(e.to_string());
        let dtmf_err = |e: dtmf::DtmfError| SessionError::Dtmf(e.to_string());
        let encoder = Encoder::new(codec).map_err(codec_err)?;
        let decoder = Decoder::new(codec).map_err(codec_err)?;
        let ptime = params.ptime_ms.clamp(10, 120);
        let frame_ticks = codec.timestamp_increment(ptime);
        let frame_samples = codec.samples_per_frame(ptime);
        let jitter = JitterBuffer::new(JitterConfig {
            clock_rate: codec.clock_rate(),
            frame_duration: frame_ticks,
            min_delay_ms: self.config.jitter_min_ms,
            max_delay_ms: self.config.jitter_max_ms,
            initial_delay_ms: self.config.jitter_min_ms.max(40),
            capacity: 32,
            // 120 ms of the widest codec (L16 at 48 kHz is 11520 bytes) would
            // cost too much per call; 20 ms of it fits, Opus's maximum too.
            max_payload: 2048,
        });
        let to_8k = if self.inband_rx.is_some() && codec.pcm_rate() != 8000 {
            Some(Resampler::new(codec.pcm_rate(), 8000).map_err(codec_err)?)
        } else {
            None
        };
        let rate = codec.clock_rate();
        let dtmf_rx = dtmf::rfc4733::Receiver::new(dtmf::rfc4733::ReceiverConfig {
            clock_rate: rate,
            ..Default::default()
        });
        let dtmf_tx = dtmf::rfc4733::Sender::new(
            dtmf::rfc4733::SenderConfig::new(rate, Duration::from_millis(ptime.into()))
                .map_err(dtmf_err)?,
        );
        self.receiver = ReceiverStats::new(rate);
        self.sender = SenderStats::new(rate);
        if let Some(p) = self.playback.as_mut() {
            p.set_rate(codec.pcm_rate());
        }
        Ok(Stream {
            frame_samples,
            frame_ticks,
            encoder,
            decoder,
            jitter,
            dtmf_rx,
            dtmf_tx,
            to_8k,
            params: StreamParams {
                ptime_ms: ptime,
                ..params
            },
        })
    }

    /// The PCM rate of the stream's codec (8000 before negotiation).
    pub fn sample_rate(&self) -> u32 {
        self.stream
            .as_ref()
            .map_or(8000, |s| s.params.codec.pcm_rate())
    }

    /// A datagram arrived on the RTP socket (`rtcp_port` false) or the RTCP one.
    pub fn receive(&mut self, now: Instant, from: SocketAddr, data: &[u8], rtcp_port: bool) {
        if self.closed {
            return;
        }
        if rtcp_port || rtp::is_rtcp(data) {
            self.receive_rtcp(now, from, data);
            return;
        }
        let packet = match RtpPacket::parse(data) {
            Ok(p) => p,
            Err(_) => {
                self.counters.malformed_rtp += 1;
                return;
            }
        };
        let Some(stream) = self.stream.as_mut() else {
            self.counters.before_stream += 1;
            return;
        };
        let pt = packet.payload_type();
        let is_event = stream.params.telephone_event_pt == Some(pt);
        if pt != stream.params.payload_type && !is_event {
            self.counters.unknown_payload_type += 1;
            return;
        }
        let ssrc = packet.ssrc();
        // Symmetric RTP follows the stream's source. While the latched source
        // is live, another address takes over only with the stream's SSRC (a
        // NAT rebinding) and only after LATCH_CONFIRM packets in a row, so a
        // stray or spoofed packet cannot steal the audio ("RTP bleed"); once
        // the latched source has been silent for LATCH_GRACE, anyone may.
        if let Some(latched) = self.latched_rtp {
            let live = now.saturating_duration_since(self.last_rtp_at) < LATCH_GRACE;
            if latched != from && live {
                let confirmed = self.remote_ssrc == Some(ssrc) && {
                    let n = match self.latch_candidate {
                        Some((a, s, n)) if a == from && s == ssrc => n + 1,
                        _ => 1,
                    };
                    self.latch_candidate = Some((from, ssrc, n));
                    n >= LATCH_CONFIRM
                };
                if !confirmed {
                    self.counters.foreign_source += 1;
                    return;
                }
            }
        }
        self.latch_candidate = None;
        if self.remote_ssrc.is_some_and(|s| s != ssrc) {
            self.counters.ssrc_changes += 1;
        }
        self.remote_ssrc = Some(ssrc);
        self.latched_rtp = Some(from);
        self.last_rtp_at = now;
        self.timeout_reported = false;
        let (seq, ts, marker, payload) = (
            packet.sequence(),
            packet.timestamp(),
            packet.marker(),
            packet.payload(),
        );
        self.receiver.on_rtp(now, seq, ts, payload.len());
        if !stream.params.direction.receives() {
            // On hold from our side: counted, not played.
            return;
        }
        if is_event {
            self.counters.telephone_events += 1;
            let first = stream.dtmf_rx.on_packet(now, seq, ts, marker, payload);
            // One packet can end two digits (a lost end, packed events).
            let rest = std::iter::from_fn(|| stream.dtmf_rx.poll_event());
            for ev in first.into_iter().chain(rest) {
                push_bounded(&mut self.events, &mut self.counters, SessionEvent::Dtmf(ev));
            }
            return;
        }
        stream.jitter.push(now, ssrc, seq, ts, marker, payload);
    }

    fn receive_rtcp(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let packets = match rtp::parse_compound(data) {
            Ok(p) => p,
            Err(_) => {
                self.counters.malformed_rtcp += 1;
                return;
            }
        };
        self.latched_rtcp = Some(from);
        self.counters.rtcp_received += 1;
        let ntp = self.ntp(now);
        let mut bye = false;
        for p in &packets {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    self.receiver.on_sender_report(now, sr.info.ntp_timestamp);
                    for block in sr.reports.iter().filter(|b| b.ssrc == self.config.ssrc) {
                        self.sender.on_report_block(block, ntp);
                    }
                }
                RtcpPacket::ReceiverReport(rr) => {
                    for block in rr.reports.iter().filter(|b| b.ssrc == self.config.ssrc) {
                        self.sender.on_report_block(block, ntp);
                    }
                }
                // Only the peer's own leaving ends the call (anyone who can
                // reach the port could send a BYE); before its first RTP we
                // do not know its SSRC and take any.
                RtcpPacket::Goodbye(g) => {
                    bye |= self
                        .remote_ssrc
                        .is_none_or(|ssrc| g.sources.contains(&ssrc));
                }
                _ => {}
            }
        }
        if bye {
            self.push_event(SessionEvent::RemoteBye);
        }
    }

    /// When the session next needs [`MediaSession::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let rtcp = self.rtcp_timer.as_ref().map(RtcpTimer::next_report);
        let dtmf = self.stream.as_ref().and_then(|s| s.dtmf_rx.poll_timeout());
        [self.next_tick, rtcp, self.media_timeout_at(), dtmf]
            .into_iter()
            .flatten()
            .min()
    }

    fn media_timeout_at(&self) -> Option<Instant> {
        let stream = self.stream.as_ref()?;
        if self.timeout_reported || !stream.params.direction.receives() {
            return None;
        }
        Some(self.last_rtp_at + self.config.media_timeout?)
    }

    /// Runs every tick, report and timeout that is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        // Catch up on missed ticks, but never send a burst of more than 5 frames:
        // after a longer stall the clock jumps ahead.
        let mut budget = 5;
        while let Some(at) = self.next_tick.filter(|&t| t <= now) {
            let Some(ptime) = self.stream.as_ref().map(|s| s.params.ptime_ms) else {
                self.next_tick = None;
                break;
            };
            let step = Duration::from_millis(u64::from(ptime));
            if budget == 0 {
                self.next_tick = Some(now + step);
                break;
            }
            self.next_tick = Some(at + step);
            budget -= 1;
            self.tick(now);
        }
        let r = self.random();
        if self.rtcp_timer.as_mut().is_some_and(|t| t.poll(now, r)) {
            self.send_rtcp(now, false);
        }
        if let Some(at) = self.media_timeout_at() {
            if at <= now {
                self.timeout_reported = true;
                self.push_event(SessionEvent::MediaTimeout {
                    silence: now.saturating_duration_since(self.last_rtp_at),
                });
            }
        }
        if let Some(ev) = self
            .stream
            .as_mut()
            .and_then(|s| s.dtmf_rx.handle_timeout(now))
        {
            self.push_event(SessionEvent::Dtmf(ev));
        }
    }

    /// One frame: receive side, then send side.
    fn tick(&mut self, now: Instant) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let n = stream.frame_samples;
        // Receive: one frame out of the jitter buffer.
        self.rx_pcm.clear();
        if stream.params.direction.receives() {
            match stream.jitter.pop(now) {
                Playout::Frame { payload, .. } => {
                    if stream.decoder.decode(payload, &mut self.rx_pcm).is_err() {
                        self.counters.undecodable += 1;
                        self.rx_pcm.clear();
                        stream.decoder.conceal(n, &mut self.rx_pcm);
                    }
                }
                Playout::Missing { .. } => stream.decoder.conceal(n, &mut self.rx_pcm),
                Playout::Idle => {}
            }
        } else {
            // On hold: nothing is pushed, but the jitter buffer's clock must
            // run so that it takes the pause as the end of a talkspurt. Left
            // frozen mid-talkspurt, it would conceal the whole sequence gap
            // frame by frame when we receive again.
            let _ = stream.jitter.pop(now);
        }
        self.rx_pcm.resize(n, 0);
        if let Some(det) = self.inband_rx.as_mut() {
            self.digits.clear();
            match stream.to_8k.as_mut() {
                Some(rs) => {
                    self.scratch.clear();
                    if rs.process(&self.rx_pcm, &mut self.scratch).is_ok() {
                        det.process(now, &self.scratch, &mut self.digits);
                    }
                }
                None => det.process(now, &self.rx_pcm, &mut self.digits),
            }
            for ev in self.digits.drain(..) {
                push_bounded(&mut self.events, &mut self.counters, SessionEvent::Dtmf(ev));
            }
        }

        // Send: playback and in-band DTMF mixed, else silence.
        self.tx_pcm.clear();
        self.tx_pcm.resize(n, 0);
        if let Some(p) = self.playback.as_mut() {
            if p.fill(&mut self.tx_pcm) {
                let id = p.id();
                self.playback = None;
                self.push_event(SessionEvent::PlaybackFinished { id, stopped: false });
            }
        }
        if let Some(gen) = self.inband_tx.as_mut() {
            self.scratch.clear();
            self.scratch.resize(n, 0);
            let done = gen.fill(&mut self.scratch);
            for (out, tone) in self.tx_pcm.iter_mut().zip(&self.scratch) {
                *out = out.saturating_add(*tone);
            }
            if done {
                self.inband_tx = None;
                self.push_event(SessionEvent::DtmfSent);
            }
        }
        self.tap_recording();
        self.send_frame(now);
    }

    fn tap_recording(&mut self) {
        let Some(mode) = self.recording else {
            return;
        };
        if self.recorded_left.len() + self.rx_pcm.len() > MAX_RECORDED {
            self.counters.recording_overflow += 1;
            return;
        }
        match mode {
            RecordMode::Mixed => self.recorded_left.extend(
                self.rx_pcm
                    .iter()
                    .zip(&self.tx_pcm)
                    .map(|(a, b)| a.saturating_add(*b)),
            ),
            RecordMode::Split => {
                self.recorded_left.extend_from_slice(&self.rx_pcm);
                self.recorded_right.extend_from_slice(&self.tx_pcm);
            }
        }
    }

    /// Encodes and queues this tick's frame, or the RFC 4733 packet that
    /// replaces it.
    fn send_frame(&mut self, now: Instant) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let ticks = stream.frame_ticks;
        let to = self.latched_rtp.unwrap_or(stream.params.remote_rtp);
        let sends = stream.params.direction.sends() && !to.ip().is_unspecified() && to.port() != 0;
        let event = match stream.params.telephone_event_pt {
            Some(pt) => stream.dtmf_tx.poll(self.timestamp).map(|ev| (pt, ev)),
            None => None,
        };
        if event.is_none() && self.dtmf_pending && stream.dtmf_tx.is_idle() {
            // Nothing to send after all (an empty or pause-only string, or a
            // new stream dropped the queue): done, rather than pending forever.
            self.dtmf_pending = false;
            push_bounded(&mut self.events, &mut self.counters, SessionEvent::DtmfSent);
        }
        let header_payload = match event {
            Some((pt, ev)) => {
                self.payload.clear();
                self.payload.extend_from_slice(&ev.payload);
                if ev.end && stream.dtmf_tx.is_idle() && self.dtmf_pending {
                    self.dtmf_pending = false;
                    push_bounded(&mut self.events, &mut self.counters, SessionEvent::DtmfSent);
                }
                Some(RtpHeader {
                    marker: ev.marker,
                    payload_type: pt,
                    sequence: self.sequence,
                    timestamp: ev.timestamp,
                    ssrc: self.config.ssrc,
                })
            }
            None if sends => {
                self.payload.clear();
                match stream.encoder.encode(&self.tx_pcm, &mut self.payload) {
                    Ok(()) => Some(RtpHeader {
                        marker: false,
                        payload_type: stream.params.payload_type,
                        sequence: self.sequence,
                        timestamp: self.timestamp,
                        ssrc: self.config.ssrc,
                    }),
                    Err(_) => None,
                }
            }
            None => None,
        };
        if let (Some(header), true) = (header_payload, sends) {
            self.sequence = self.sequence.wrapping_add(1);
            if self.transmit.len() < MAX_TRANSMIT {
                let mut buf = self.spare.pop().unwrap_or_default();
                header.write(&self.payload, &mut buf);
                self.sender
                    .on_sent(now, header.timestamp, self.payload.len());
                self.transmit.push_back((to, false, buf));
            }
        }
        self.timestamp = self.timestamp.wrapping_add(ticks);
    }

    fn send_rtcp(&mut self, now: Instant, bye: bool) {
        let Some(stream) = self.stream.as_ref() else {
            return;
        };
        let to = self.latched_rtcp.unwrap_or(stream.params.remote_rtcp);
        if to.ip().is_unspecified() || to.port() == 0 {
            return;
        }
        let ntp = self.ntp(now);
        let blocks: Vec<_> = self
            .remote_ssrc
            .map(|ssrc| self.receiver.report_block(ssrc, now))
            .into_iter()
            .collect();
        let sender_info = (self.sender.packets() > 0).then(|| self.sender.sender_info(now, ntp));
        let report = CompoundReport {
            ssrc: self.config.ssrc,
            sender_info,
            report_blocks: &blocks,
            cname: &self.config.cname,
            bye: bye.then_some(""),
        };
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        if report.write(&mut buf).is_ok() && self.transmit.len() < MAX_TRANSMIT {
            self.transmit.push_back((to, true, buf));
        }
    }

    /// Hands every queued datagram to `send`.
    pub fn drain_transmit(&mut self, mut send: impl FnMut(Transmit<'_>)) {
        while let Some((to, rtcp, buf)) = self.transmit.pop_front() {
            send(Transmit {
                to,
                rtcp,
                data: &buf,
            });
            if self.spare.len() < MAX_TRANSMIT {
                self.spare.push(buf);
            }
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    fn push_event(&mut self, ev: SessionEvent) {
        push_bounded(&mut self.events, &mut self.counters, ev);
    }

    /// Starts playing `source` into the call (replacing what plays, which then
    /// reports [`SessionEvent::PlaybackFinished`] with `stopped`).
    pub fn play(&mut self, id: u64, source: PlaySource, looped: bool) {
        self.stop_playback();
        self.playback = Some(play::Playback::new(id, source, looped, self.sample_rate()));
    }

    /// Stops the playback, if any.
    pub fn stop_playback(&mut self) {
        if let Some(p) = self.playback.take() {
            self.push_event(SessionEvent::PlaybackFinished {
                id: p.id(),
                stopped: true,
            });
        }
    }

    /// Queues DTMF digits (`0-9 * # A-D`, `,` a 500 ms pause): 100 ms tones,
    /// 60 ms apart.
    pub fn send_dtmf(&mut self, digits: &str, method: SendMethod) -> Result<(), SessionError> {
        let stream = self.stream.as_mut().ok_or(SessionError::NoStream)?;
        let dtmf_err = |e: dtmf::DtmfError| SessionError::Dtmf(e.to_string());
        match method {
            SendMethod::Rfc4733 => {
                if stream.params.telephone_event_pt.is_none() {
                    return Err(SessionError::NoTelephoneEvent);
                }
                stream.dtmf_tx.send(digits).map_err(dtmf_err)?;
                // In-band reports itself when its generator runs dry.
                self.dtmf_pending = true;
            }
            SendMethod::Inband => {
                // A generator made for a refused request must not stay behind:
                // it would report `DtmfSent` for nothing on the next tick.
                let fresh = self.inband_tx.is_none();
                let gen = match self.inband_tx.as_mut() {
                    Some(g) => g,
                    None => self.inband_tx.insert(
                        dtmf::inband::Generator::new(stream.params.codec.pcm_rate())
                            .map_err(dtmf_err)?,
                    ),
                };
                let queued = gen.queue(
                    digits,
                    Duration::from_millis(100),
                    Duration::from_millis(60),
                );
                if let Err(e) = queued {
                    if fresh {
                        self.inband_tx = None;
                    }
                    return Err(dtmf_err(e));
                }
            }
        }
        Ok(())
    }

    /// Turns the recording tap on (`Some`) or off.
    pub fn set_recording(&mut self, mode: Option<RecordMode>) {
        self.recording = mode;
        if mode.is_none() {
            self.recorded_left.clear();
            self.recorded_right.clear();
        }
    }

    /// Moves the recorded samples out: `left` gets the mixed audio (or the
    /// received side when split), `right` the sent side when split.
    pub fn take_recorded(&mut self, left: &mut Vec<i16>, right: &mut Vec<i16>) {
        left.append(&mut self.recorded_left);
        right.append(&mut self.recorded_right);
    }

    /// Statistics now.
    pub fn stats(&self) -> MediaStats {
        MediaStats {
            codec: self.stream.as_ref().map(|s| s.params.codec),
            rtp: rtp::Stats::collect(&self.sender, &self.receiver),
            jitter_buffer: self.stream.as_ref().map(|s| s.jitter.stats().clone()),
            counters: self.counters.clone(),
        }
    }

    /// Ends the session: queues an RTCP BYE; nothing is sent afterwards.
    pub fn close(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        self.send_rtcp(now, true);
        self.closed = true;
        self.next_tick = None;
        self.rtcp_timer = None;
    }
}

/// Queues an event unless [`MAX_EVENTS`] wait already (then it is counted as
/// dropped). A free function so that it can run while a stream is borrowed.
fn push_bounded(
    events: &mut VecDeque<SessionEvent>,
    counters: &mut stats::Counters,
    ev: SessionEvent,
) {
    if events.len() < MAX_EVENTS {
        events.push_back(ev);
    } else {
        counters.events_dropped += 1;
    }
}
