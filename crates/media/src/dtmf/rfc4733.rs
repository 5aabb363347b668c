//! RFC 4733 telephone events (DTMF digits 0-15) over RTP, both directions.
//!
//! No RTP parsing happens here: the media session demultiplexes packets of the
//! negotiated `telephone-event` payload type and passes the RTP sequence number,
//! timestamp, marker bit and payload to [`Receiver::on_packet`]; for sending,
//! it calls [`Sender::poll`] once per audio frame and wraps what comes back in
//! an RTP header of its own stream.
//!
//! # Payload (RFC 4733 §2.3)
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     event     |E|R| volume    |          duration             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! One event is identified by its RTP timestamp (the time it began); every
//! packet of it repeats that timestamp with a growing duration, and the last
//! one, with the E bit, is sent three times. Durations and timestamps count
//! ticks of the RTP clock of the stream (8000 Hz for G.711).
//!
//! # Receiver rules
//!
//! - One [`DigitEvent`] per event, reported when it ends: on the first packet
//!   with the E bit, when a packet of a later event arrives (the end packets
//!   were lost), or on [`Receiver::handle_timeout`] when the event has gone
//!   silent for [`ReceiverConfig::timeout`].
//! - Packets repeating an event that has already been reported (redundant end
//!   packets, network duplicates, stragglers) are counted and dropped; so are
//!   packets older than the latest event (by sequence number and timestamp).
//! - A long event (§2.5.1.3) whose duration would overflow 16 bits continues
//!   in a new segment with timestamp `old + old duration` and no marker; the
//!   segments are joined into one digit.
//! - Several blocks in one payload (§2.5.1.5) are contiguous events: the first
//!   starts at the RTP timestamp, each next one where the previous ended.
//! - Events above 15 (flash, tones) are counted and ignored; payloads shorter
//!   than 4 octets are counted as malformed. Trailing octets after the last
//!   whole block are ignored.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{duration_to_samples, parse_send_sequence, samples_to_duration};
use super::{Digit, DigitEvent, DtmfError, Method, SendItem, COMMA_PAUSE};

/// Volume (as -dBm0) the sender puts in its packets.
pub const DEFAULT_VOLUME: u8 = 10;
/// Times the sender sends the final packet of an event (RFC 4733 §2.5.1.4).
pub const END_PACKETS: u8 = 3;
/// Largest number of event blocks read from one payload; further blocks are ignored.
pub const MAX_BLOCKS: usize = 8;
/// Largest value of the 16-bit duration field.
pub const MAX_SEGMENT: u32 = 0xFFFF;

/// One 4-octet event block of a telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBlock {
    /// Event code (0-15 are DTMF digits).
    pub event: u8,
    /// E bit: this packet reports the end of the event.
    pub end: bool,
    /// Power level as -dBm0 (0-63).
    pub volume: u8,
    /// Duration so far, in ticks of the RTP clock.
    pub duration: u16,
}

impl EventBlock {
    /// Reads the first block of `payload`.
    pub fn parse(payload: &[u8]) -> Result<EventBlock, DtmfError> {
        match payload {
            [event, flags, d0, d1, ..] => Ok(EventBlock {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3f,
                duration: u16::from_be_bytes([*d0, *d1]),
            }),
            _ => Err(DtmfError::PayloadTooShort { len: payload.len() }),
        }
    }

    /// Encodes the block (R bit zero, volume masked to 6 bits).
    pub fn to_bytes(self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        let flags = (if self.end { 0x80 } else { 0 }) | (self.volume & 0x3f);
        [self.event, flags, d0, d1]
    }

    /// The digit, if the event is one of 0-15.
    pub fn digit(self) -> Option<Digit> {
        Digit::from_event_code(self.event)
    }
}

/// Parses every whole block of a payload (at most [`MAX_BLOCKS`]).
pub fn parse_payload(payload: &[u8]) -> Result<impl Iterator<Item = EventBlock> + '_, DtmfError> {
    if payload.len() < 4 {
        return Err(DtmfError::PayloadTooShort { len: payload.len() });
    }
    Ok(payload
        .chunks_exact(4)
        .take(MAX_BLOCKS)
        .filter_map(|b| EventBlock::parse(b).ok()))
}

/// Settings of a [`Receiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// RTP clock rate of the telephone-event payload type, in Hz.
    pub clock_rate: u32,
    /// An event with no packet for this long is taken as ended (its end
    /// packets were lost).
    pub timeout: Duration,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            clock_rate: 8000,
            timeout: Duration::from_millis(250),
        }
    }
}

/// Counters kept by a [`Receiver`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Packets passed to [`Receiver::on_packet`].
    pub packets: u64,
    /// Payloads shorter than one block, or a block contradicting its event
    /// (same timestamp, different code).
    pub malformed: u64,
    /// Blocks with an event code above 15.
    pub unsupported_events: u64,
    /// Blocks repeating an event already reported.
    pub duplicates: u64,
    /// Blocks of an unknown event older than the latest one.
    pub late: u64,
    /// Digits reported.
    pub digits: u64,
    /// Of those, digits whose end packet never arrived.
    pub ended_without_end_packet: u64,
    /// Digits dropped because nobody drained the output queue.
    pub dropped: u64,
}

/// The event being received.
#[derive(Debug, Clone, Copy)]
struct Active {
    code: u8,
    /// Timestamp of the current segment.
    seg_ts: u32,
    /// Largest duration seen in the current segment.
    seg_dur: u32,
    /// Sum of the durations of earlier segments.
    base: u64,
    start: Instant,
    last_heard: Instant,
}

/// Number of recently finished event timestamps remembered to drop repeats.
const RECENT: usize = 16;
/// Largest number of digits waiting to be drained.
const MAX_QUEUE: usize = 32;

/// Receives RFC 4733 packets and reports each tone once. See the module docs
/// for the rules; drive it with [`on_packet`](Self::on_packet),
/// [`poll_timeout`](Self::poll_timeout) and [`handle_timeout`](Self::handle_timeout).
#[derive(Debug, Clone)]
pub struct Receiver {
    config: ReceiverConfig,
    current: Option<Active>,
    /// Timestamps (segments) of finished events, newest last.
    recent: [Option<u32>; RECENT],
    recent_next: usize,
    max_seq: Option<u16>,
    last_ts: Option<u32>,
    queue: VecDeque<DigitEvent>,
    stats: ReceiverStats,
}

impl Receiver {
    /// A receiver with the given settings.
    pub fn new(config: ReceiverConfig) -> Receiver {
        Receiver {
            config,
            current: None,
            recent: [None; RECENT],
            recent_next: 0,
            max_seq: None,
            last_ts: None,
            queue: VecDeque::with_capacity(4),
            stats: ReceiverStats::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReceiverStats {
        &self.stats
    }

    /// Feeds one packet of the telephone-event payload type, received at `now`.
    ///
    /// Returns the next finished digit, if any. One packet can finish more
    /// than one (a new event closing one whose end was lost, or several packed
    /// events), so call [`poll_event`](Self::poll_event) until it returns
    /// `None` afterwards. Malformed payloads are counted, never an error.
    pub fn on_packet(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Option<DigitEvent> {
        self.stats.packets += 1;
        let blocks = match parse_payload(payload) {
            Ok(blocks) => blocks,
            Err(_) => {
                self.stats.malformed += 1;
                return self.queue.pop_front();
            }
        };
        let seq_newer = match self.max_seq {
            None => true,
            Some(max) => seq_after(seq, max),
        };
        if seq_newer {
            self.max_seq = Some(seq);
        }
        let mut ts = timestamp;
        for (i, block) in blocks.enumerate() {
            self.on_block(now, ts, marker && i == 0, seq_newer, block);
            ts = ts.wrapping_add(u32::from(block.duration));
        }
        self.queue.pop_front()
    }

    /// The next finished digit not yet returned.
    pub fn poll_event(&mut self) -> Option<DigitEvent> {
        self.queue.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next:
    /// the time at which the event in progress is given up as ended.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current.and_then(|a| self.deadline(&a))
    }

    /// Ends the event in progress if it has gone silent for the timeout and
    /// returns the next finished digit, if any (drain the rest with
    /// [`poll_event`](Self::poll_event)).
    pub fn handle_timeout(&mut self, now: Instant) -> Option<DigitEvent> {
        if let Some(active) = self.current {
            if self
                .deadline(&active)
                .is_some_and(|deadline| now >= deadline)
            {
                self.current = None;
                self.finish(active, false);
            }
        }
        self.queue.pop_front()
    }

    /// Ends the event in progress at once (call teardown, stream change) and
    /// returns the next finished digit, if any.
    pub fn flush(&mut self) -> Option<DigitEvent> {
        if let Some(active) = self.current.take() {
            self.finish(active, false);
        }
        self.queue.pop_front()
    }

    /// When `active` is given up without an end packet (`None`: never, if
    /// the timeout is too large to represent).
    fn deadline(&self, active: &Active) -> Option<Instant> {
        active.last_heard.checked_add(self.config.timeout)
    }

    fn on_block(
        &mut self,
        now: Instant,
        ts: u32,
        marker: bool,
        seq_newer: bool,
        block: EventBlock,
    ) {
        if block.event > 15 {
            self.stats.unsupported_events += 1;
            return;
        }
        let dur = u32::from(block.duration);

        // A packet of the event in progress.
        if let Some(active) = self.current.as_mut() {
            if active.seg_ts == ts {
                if active.code != block.event {
                    self.stats.malformed += 1;
                    return;
                }
                active.last_heard = now;
                active.seg_dur = active.seg_dur.max(dur);
                if block.end {
                    let active = *active;
                    self.current = None;
                    self.finish(active, true);
                }
                return;
            }
        }

        // A repeat of something already reported.
        if self.recent.contains(&Some(ts)) {
            self.stats.duplicates += 1;
            return;
        }

        // The next segment of a long event.
        if let Some(active) = self.current.as_mut() {
            let offset = ts.wrapping_sub(active.seg_ts);
            // Packets lost at the end of a segment leave `seg_dur` short of the
            // real segment length; accept up to 200 ms of them when the segment
            // was (nearly) full length.
            let slack = (self.config.clock_rate / 5).min(MAX_SEGMENT / 2);
            let contiguous = offset == active.seg_dur
                || (offset >= active.seg_dur
                    && offset >= MAX_SEGMENT - slack
                    && offset <= MAX_SEGMENT);
            let fresh = now.saturating_duration_since(active.last_heard) <= self.config.timeout;
            if active.code == block.event && !marker && contiguous && fresh && active.seg_dur > 0 {
                let old_ts = active.seg_ts;
                active.base += u64::from(offset);
                active.seg_ts = ts;
                active.seg_dur = dur;
                active.last_heard = now;
                self.remember(old_ts);
                self.last_ts = Some(ts);
                if block.end {
                    if let Some(active) = self.current.take() {
                        self.finish(active, true);
                    }
                }
                return;
            }
        }

        // A new event, unless it is an old one arriving late. An in-order
        // packet (newer sequence number) with an older timestamp is a sender
        // timestamp jump and starts a new event.
        let ts_newer = match self.last_ts {
            None => true,
            Some(last) => ts_after(ts, last),
        };
        if !seq_newer && !ts_newer {
            self.stats.late += 1;
            return;
        }
        if let Some(active) = self.current.take() {
            self.finish(active, false);
        }
        let already = samples_to_duration(u64::from(dur), self.config.clock_rate);
        let active = Active {
            code: block.event,
            seg_ts: ts,
            seg_dur: dur,
            base: 0,
            start: now.checked_sub(already).unwrap_or(now),
            last_heard: now,
        };
        self.last_ts = Some(ts);
        if block.end {
            self.finish(active, true);
        } else {
            self.current = Some(active);
        }
    }

    fn remember(&mut self, ts: u32) {
        if let Some(slot) = self.recent.get_mut(self.recent_next) {
            *slot = Some(ts);
        }
        self.recent_next = (self.recent_next + 1) % RECENT;
    }

    fn finish(&mut self, active: Active, by_end_packet: bool) {
        self.remember(active.seg_ts);
        let Some(digit) = Digit::from_event_code(active.code) else {
            return;
        };
        if !by_end_packet {
            self.stats.ended_without_end_packet += 1;
        }
        self.stats.digits += 1;
        if self.queue.len() >= MAX_QUEUE {
            self.queue.pop_front();
            self.stats.dropped += 1;
        }
        self.queue.push_back(DigitEvent {
            digit,
            start: active.start,
            duration: samples_to_duration(
                active.base + u64::from(active.seg_dur),
                self.config.clock_rate,
            ),
            source: Method::Rfc4733,
        });
    }
}

impl Default for Receiver {
    fn default() -> Self {
        Receiver::new(ReceiverConfig::default())
    }
}

/// `a` comes after `b` in RFC 3550 sequence-number order.
fn seq_after(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// `a` comes after `b` in timestamp order (modulo 2^32).
fn ts_after(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

/// Settings of a [`Sender`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderConfig {
    /// RTP clock rate of the stream (the telephone-event rate must equal the
    /// audio codec's RTP clock rate), in Hz.
    pub clock_rate: u32,
    /// Clock ticks per audio frame: how far the RTP timestamp advances
    /// between two calls of [`Sender::poll`] (160 for 20 ms at 8000 Hz).
    pub frame_samples: u32,
    /// Tone length used by [`Sender::send`].
    pub tone: Duration,
    /// Silence after each tone used by [`Sender::send`], counted from the end
    /// of the tone to the start of the next one.
    pub pause: Duration,
    /// Volume field, -dBm0 (0-63).
    pub volume: u8,
}

impl SenderConfig {
    /// Settings for a stream with this RTP clock rate and packet time, with
    /// 100 ms tones, 60 ms pauses and volume 10.
    pub fn new(clock_rate: u32, ptime: Duration) -> Result<SenderConfig, DtmfError> {
        if !(8000..=48000).contains(&clock_rate) {
            return Err(DtmfError::UnsupportedRate { rate: clock_rate });
        }
        let samples = duration_to_samples(ptime, clock_rate);
        let frame_samples = u32::try_from(samples)
            .ok()
            .filter(|s| (1..=MAX_SEGMENT / 4).contains(s))
            .ok_or(DtmfError::InvalidFrame { samples })?;
        Ok(SenderConfig {
            clock_rate,
            frame_samples,
            tone: Duration::from_millis(100),
            pause: Duration::from_millis(60),
            volume: DEFAULT_VOLUME,
        })
    }
}

impl Default for SenderConfig {
    /// 8000 Hz, 20 ms frames (160 ticks).
    fn default() -> Self {
        SenderConfig {
            clock_rate: 8000,
            frame_samples: 160,
            tone: Duration::from_millis(100),
            pause: Duration::from_millis(60),
            volume: DEFAULT_VOLUME,
        }
    }
}

/// One packet to send, from [`Sender::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// The RTP payload (one event block).
    pub payload: [u8; 4],
    /// The RTP marker bit: set on the first packet of an event only.
    pub marker: bool,
    /// The RTP timestamp: the start of the event (of the segment, for events
    /// longer than 0xFFFF ticks), the same in every packet of it.
    pub timestamp: u32,
    /// The digit being sent.
    pub digit: Digit,
    /// This packet has the E bit (one of the three end packets).
    pub end: bool,
}

/// Shortest tone [`Sender`] accepts (ITU-T Q.24 operate limit).
pub const MIN_TONE: Duration = Duration::from_millis(40);
/// Longest tone or pause [`Sender`] accepts.
pub const MAX_TONE: Duration = Duration::from_secs(60);
/// Largest number of queued items (digits and pauses) in a [`Sender`].
pub const MAX_SEND_QUEUE: usize = 256;

#[derive(Debug, Clone, Copy)]
enum Queued {
    Tone {
        digit: Digit,
        duration: u64,
        pause: u64,
    },
    Silence {
        ticks: u64,
    },
}

#[derive(Debug, Clone, Copy)]
struct ToneState {
    digit: Digit,
    /// Timestamp of the event's first segment.
    start_ts: u32,
    /// Ticks of the event before the current segment.
    seg_offset: u64,
    /// Ticks elapsed from the event start to the end of the last frame sent.
    elapsed: u64,
    duration: u64,
    pause: u64,
    /// End packets sent so far.
    ends_sent: u8,
}

#[derive(Debug, Clone, Copy)]
enum SendState {
    Idle,
    Tone(ToneState),
    Gap { remaining: u64 },
}

/// Sends digits as RFC 4733 events, one at a time from a queue.
///
/// # Contract with the media session
///
/// - Call [`poll`](Self::poll) once per audio frame tick, passing the RTP
///   timestamp the audio frame of this tick would carry (the stream's
///   timestamp keeps advancing by [`SenderConfig::frame_samples`] per tick
///   whether audio or events are sent).
/// - When it returns a packet, send that packet *instead of* the audio frame:
///   same SSRC and sequence-number space as the audio, payload type of the
///   negotiated `telephone-event`, with the packet's `marker` and `timestamp`
///   (the tick on which the event started, repeated in all its packets).
///   Audio is paused from the first packet of an event to its last end packet.
/// - When it returns `None`, send audio as usual (pauses between digits are
///   ordinary audio or silence).
///
/// Each event: a first packet with the marker bit and one frame of duration,
/// one packet per frame with the duration growing by a frame, then three
/// packets with the E bit and the final duration. Events longer than 0xFFFF
/// ticks continue in new segments (RFC 4733 §2.5.1.3).
#[derive(Debug, Clone)]
pub struct Sender {
    config: SenderConfig,
    queue: VecDeque<Queued>,
    state: SendState,
}

impl Sender {
    /// A sender with the given settings.
    pub fn new(config: SenderConfig) -> Sender {
        Sender {
            config,
            queue: VecDeque::new(),
            state: SendState::Idle,
        }
    }

    /// The settings.
    pub fn config(&self) -> &SenderConfig {
        &self.config
    }

    /// Queues a digit string (`,` is a 500 ms pause) with the configured tone
    /// and pause lengths. Nothing is queued if the string is invalid.
    pub fn send(&mut self, digits: &str) -> Result<(), DtmfError> {
        self.send_with(digits, self.config.tone, self.config.pause)
    }

    /// Queues a digit string with the given tone and pause lengths.
    pub fn send_with(
        &mut self,
        digits: &str,
        tone: Duration,
        pause: Duration,
    ) -> Result<(), DtmfError> {
        let items = parse_send_sequence(digits)?;
        let len = self.queue.len() + items.len();
        if len > MAX_SEND_QUEUE {
            return Err(DtmfError::SequenceTooLong {
                len,
                max: MAX_SEND_QUEUE,
            });
        }
        let (duration, pause) = self.tone_ticks(tone, pause)?;
        let comma = duration_to_samples(COMMA_PAUSE, self.config.clock_rate);
        self.queue.extend(items.into_iter().map(|item| match item {
            SendItem::Digit(digit) => Queued::Tone {
                digit,
                duration,
                pause,
            },
            SendItem::Pause => Queued::Silence { ticks: comma },
        }));
        Ok(())
    }

    /// Queues one digit.
    pub fn send_digit(
        &mut self,
        digit: Digit,
        tone: Duration,
        pause: Duration,
    ) -> Result<(), DtmfError> {
        if self.queue.len() >= MAX_SEND_QUEUE {
            return Err(DtmfError::SequenceTooLong {
                len: self.queue.len() + 1,
                max: MAX_SEND_QUEUE,
            });
        }
        let (duration, pause) = self.tone_ticks(tone, pause)?;
        self.queue.push_back(Queued::Tone {
            digit,
            duration,
            pause,
        });
        Ok(())
    }

    /// Drops every queued digit. A tone in progress is cut short: its end
    /// packets are still sent so that the far end sees it end.
    pub fn cancel(&mut self) {
        self.queue.clear();
        if let SendState::Tone(tone) = &mut self.state {
            if tone.ends_sent == 0 {
                tone.duration = tone.elapsed.max(tone.seg_offset + 1);
            }
        }
    }

    /// Nothing queued and no event in progress (a trailing pause may remain,
    /// which only matters if more digits are queued).
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && !matches!(self.state, SendState::Tone(_))
    }

    /// One frame tick: the packet to send instead of this frame's audio, or
    /// `None` to send audio. `rtp_timestamp` is the timestamp this frame's
    /// audio packet would carry.
    pub fn poll(&mut self, rtp_timestamp: u32) -> Option<EventPacket> {
        // A zero frame size would stall every tone and pause.
        let frame = u64::from(self.config.frame_samples.max(1));
        loop {
            match self.state {
                SendState::Idle => match self.queue.pop_front()? {
                    Queued::Silence { ticks } => self.state = SendState::Gap { remaining: ticks },
                    Queued::Tone {
                        digit,
                        duration,
                        pause,
                    } => {
                        self.state = SendState::Tone(ToneState {
                            digit,
                            start_ts: rtp_timestamp,
                            seg_offset: 0,
                            elapsed: 0,
                            duration,
                            pause,
                            ends_sent: 0,
                        });
                    }
                },
                SendState::Gap { remaining: 0 } => self.state = SendState::Idle,
                SendState::Gap { remaining } => {
                    self.state = SendState::Gap {
                        remaining: remaining.saturating_sub(frame),
                    };
                    return None;
                }
                SendState::Tone(tone) => return Some(self.tone_packet(frame, tone)),
            }
        }
    }

    fn tone_packet(&mut self, frame: u64, tone: ToneState) -> EventPacket {
        let ToneState {
            digit,
            start_ts,
            seg_offset,
            elapsed,
            duration,
            pause,
            mut ends_sent,
        } = tone;
        let marker = elapsed == 0;
        let elapsed = elapsed + frame;
        // Total duration to report so far, and this segment's share of it.
        let reported = elapsed.min(duration);
        let mut seg_dur = reported.saturating_sub(seg_offset);
        let mut next_seg_offset = seg_offset;
        if seg_dur >= u64::from(MAX_SEGMENT) {
            // The segment is full: report it at the maximum; unless that is
            // exactly the end of the tone, the next packet starts a new
            // segment at `timestamp + 0xFFFF` (RFC 4733 §2.5.1.3).
            seg_dur = u64::from(MAX_SEGMENT);
            if seg_offset + seg_dur < duration {
                next_seg_offset = seg_offset + seg_dur;
            }
        }
        let end = seg_offset + seg_dur >= duration;
        if end {
            ends_sent += 1;
        }
        let block = EventBlock {
            event: digit.event_code(),
            end,
            volume: self.config.volume,
            duration: u16::try_from(seg_dur).unwrap_or(u16::MAX),
        };
        // Timestamps wrap modulo 2^32.
        let timestamp = start_ts.wrapping_add(seg_offset as u32);
        self.state = if end && ends_sent >= END_PACKETS {
            SendState::Gap {
                remaining: (duration + pause).saturating_sub(elapsed),
            }
        } else {
            SendState::Tone(ToneState {
                digit,
                start_ts,
                seg_offset: next_seg_offset,
                elapsed,
                duration,
                pause,
                ends_sent,
            })
        };
        EventPacket {
            payload: block.to_bytes(),
            marker,
            timestamp,
            digit,
            end,
        }
    }

    fn tone_ticks(&self, tone: Duration, pause: Duration) -> Result<(u64, u64), DtmfError> {
        for (d, min) in [(tone, MIN_TONE), (pause, Duration::ZERO)] {
            if d < min || d > MAX_TONE {
                return Err(DtmfError::InvalidDuration {
                    ms: d.as_millis(),
                    min_ms: min.as_millis() as u64,
                    max_ms: MAX_TONE.as_millis() as u64,
                });
            }
        }
        let rate = self.config.clock_rate;
        Ok((
            duration_to_samples(tone, rate).max(1),
            duration_to_samples(pause, rate),
        ))
    }
}

impl Default for Sender {
    fn default() -> Self {
        Sender::new(SenderConfig::default())
    }
}
