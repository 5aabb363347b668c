//! The adaptive jitter buffer for one received audio stream: reordering,
//! loss and silence detection, delay adaptation, bounded storage. Sans-IO:
//! arrival and playout times are passed in.

use std::collections::VecDeque;
use std::time::Instant;

use super::stats::{clock_units, MAX_DROPOUT};

/// How long to conceal an unexplained run of missing frames before treating
/// it as silence.
const CONCEAL_LIMIT_MS: i64 = 100;
/// Packets whose transit differs from the mean by more than this (or by
/// twice the maximum delay, if larger) are out of window: stray packets, or
/// the first packets of a restarted stream.
const RESYNC_WINDOW_MS: i64 = 2000;
/// How long only far-late packets must keep arriving before they are taken
/// as a stream whose timestamps restarted backwards.
const RESYNC_PERSIST_MS: i64 = 1000;
/// In a talkspurt, the delay must exceed the target by more than this (and
/// four frames) before frames are dropped to shrink it...
const SHRINK_EXCESS_MS: i64 = 80;
/// ...one frame per this interval at most.
const SHRINK_INTERVAL_MS: i64 = 500;
/// Longest packet duration trusted when learning the frame length.
const MAX_FRAME_MS: i64 = 120;
/// Width of the duplicate detection window, in sequence numbers.
const SEEN_WINDOW: i64 = 128;

/// Configuration of a [`JitterBuffer`]. Out-of-range values are corrected
/// by [`JitterBuffer::new`] (zero rates and lengths become 1, delays are
/// ordered `min <= initial <= max`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP clock rate of the payload in Hz.
    pub clock_rate: u32,
    /// Expected packet duration in timestamp units (160 for 20 ms at 8 kHz).
    /// Used until the real one has been seen, and for concealment.
    pub frame_duration: u32,
    /// Lowest target delay, in ms.
    pub min_delay_ms: u32,
    /// Highest target delay, in ms; beyond it frames are dropped.
    pub max_delay_ms: u32,
    /// Target delay before any jitter has been measured, in ms.
    pub initial_delay_ms: u32,
    /// Number of packets the buffer holds; when full, the oldest is dropped.
    pub capacity: usize,
    /// Largest payload accepted, in bytes; larger packets are dropped.
    pub max_payload: usize,
}

impl Default for JitterConfig {
    /// 20 ms frames at 8 kHz, 20..400 ms delay starting at 60 ms, 64 slots
    /// of up to 1500 bytes.
    fn default() -> Self {
        JitterConfig {
            clock_rate: 8000,
            frame_duration: 160,
            min_delay_ms: 20,
            max_delay_ms: 400,
            initial_delay_ms: 60,
            capacity: 64,
            max_payload: 1500,
        }
    }
}

/// What to play for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Decode this payload.
    Frame {
        /// RTP timestamp of the packet.
        timestamp: u32,
        /// Its payload.
        payload: &'a [u8],
    },
    /// The frame at `timestamp` is missing: conceal `duration` timestamp
    /// units. The same timestamp can be reported missing more than once
    /// when the buffer grows its delay, and then still play as a frame.
    Missing {
        /// RTP timestamp of the missing frame.
        timestamp: u32,
        /// Timestamp units to conceal.
        duration: u32,
    },
    /// Nothing to play (not started, or silence between talkspurts): play
    /// silence or comfort noise for one tick.
    Idle,
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pushed {
    /// Stored for playout.
    Buffered,
    /// It confirmed a new stream (new SSRC or a jump in sequence or
    /// timestamp): the old packets were flushed and this one stored.
    Resynced,
    /// Already received: dropped.
    Duplicate,
    /// Its time has passed: dropped.
    Late,
    /// Dropped: too large, older than everything in a full buffer, or out of
    /// window (kept in mind as the possible start of a new stream).
    Dropped,
}

/// Counters of a [`JitterBuffer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets pushed.
    pub received: u64,
    /// Frames played.
    pub played: u64,
    /// Missing frames reported for concealment.
    pub concealed: u64,
    /// Packets dropped because their time had passed.
    pub late: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Packets dropped because the buffer was full or over its maximum delay.
    pub dropped_overflow: u64,
    /// Packets dropped as too large or out of window.
    pub dropped_invalid: u64,
    /// Buffered packets discarded by a resynchronization.
    pub flushed: u64,
    /// Resynchronizations to a new stream.
    pub resyncs: u64,
    /// Current playout delay behind the mean arrival, in ms.
    pub delay_ms: u32,
    /// Current target delay, in ms.
    pub target_delay_ms: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Buffering the first packets of a stream.
    Start,
    /// Playing a talkspurt.
    Playing,
    /// Between talkspurts, waiting for the next one's scheduled time.
    Waiting,
}

#[derive(Debug, Clone)]
struct Slot {
    ts: i64,
    seq: i64,
    data: Vec<u8>,
}

/// A packet out of window, remembered in case the next one confirms it.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    ssrc: u32,
    seq: u16,
    ts: u32,
}

enum Action {
    Play,
    Missing {
        ts: i64,
        duration: i64,
        advance: bool,
    },
    Idle,
}

/// An adaptive jitter buffer for one audio stream.
///
/// Packets go in with [`JitterBuffer::push`] as they arrive; the playout
/// side calls [`JitterBuffer::pop`] whenever the decoder needs the next frame
/// (once per tick when the sender's packets are as long as the tick). Playout
/// follows RTP timestamps, not sequence numbers: the position advances by
/// what was played, so packets of any length play in order, and sequence
/// numbers serve only to tell a loss (a gap in sequence) from silence (a gap
/// in timestamps only, RFC 3551 §4.1).
///
/// Delay control. Each packet's transit (arrival on the media clock minus
/// its timestamp) feeds a mean and a peak estimate; the target delay is
/// `peak - mean + one frame`, clamped to the configured bounds. The peak
/// jumps at once on a delayed or late packet and decays with a time constant
/// of about 256 packets, so the delay grows fast and shrinks slowly. Growth
/// happens where it costs least: when the next frame is missing and we are
/// playing ahead of the target, a concealment frame is inserted instead of
/// declaring the packet lost; at a talkspurt start the silence is lengthened.
/// Shrinking happens by shortening silences; inside a talkspurt a frame is
/// dropped only when the delay is far above target (more than 80 ms and
/// four frames, at most one frame per 500 ms, for streams that never pause)
/// or above the configured maximum (after a burst).
///
/// Resynchronization. A packet from another SSRC, or more than 3000
/// sequence numbers or 2 s (or twice the maximum delay) of transit away from
/// the stream, is dropped unless the next one confirms it (same SSRC, next
/// sequence number); then the buffer is flushed and restarts on the new
/// stream, keeping its adapted delay. Packets far behind schedule are
/// dropped as late (a backlog after an outage) unless nothing else arrives
/// for a second (timestamps restarted backwards).
///
/// Storage is a fixed pool of slots kept in timestamp order, whose byte
/// buffers are reused, so a warmed-up buffer does not allocate.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    clock_rate: u32,
    frame: i64,
    min_delay: i64,
    max_delay: i64,
    initial_delay: i64,
    max_payload: usize,
    conceal_limit: u32,
    resync_window: i64,
    persist: i64,
    shrink_excess: i64,
    shrink_interval: i64,
    max_frame: i64,

    slots: Vec<Slot>,
    /// Indexes of used slots, sorted by (timestamp, sequence).
    order: VecDeque<usize>,
    free: Vec<usize>,

    origin: Option<Instant>,
    ssrc: Option<u32>,
    /// Highest extended sequence number seen, and its extended timestamp.
    seq_ref: i64,
    ts_ref: i64,
    /// Bit i set: extended sequence `seq_ref - i` was received.
    seen: u128,
    prev_push: Option<(i64, i64)>,
    last_delta: i64,
    frame_est: i64,
    /// Mean transit × 16 and peak transit × 256.
    mean_q4: i64,
    peak_q8: i64,
    candidate: Option<Candidate>,
    /// Local time since which only far-late packets arrived.
    way_late_since: Option<i64>,

    mode: Mode,
    /// Nominal timestamp of the next frame to play.
    play_ts: i64,
    /// Timestamps below this have been played or concealed.
    floor: i64,
    expected_seq: i64,
    empty_run: u32,
    /// Local time of the last frame dropped to shrink the delay.
    last_shrink: i64,

    stats: JitterStats,
}

fn ms_to_units(ms: u32, rate: u32) -> i64 {
    i64::from(ms) * i64::from(rate) / 1000
}

impl JitterBuffer {
    /// A buffer for one stream; see [`JitterConfig`] for the corrections
    /// applied to the values.
    pub fn new(config: JitterConfig) -> Self {
        let rate = config.clock_rate.max(1);
        let frame = i64::from(config.frame_duration.max(1));
        let min_delay = ms_to_units(config.min_delay_ms, rate);
        let max_delay = ms_to_units(config.max_delay_ms, rate).max(min_delay);
        let initial_delay = ms_to_units(config.initial_delay_ms, rate).clamp(min_delay, max_delay);
        let capacity = config.capacity.clamp(1, 4096);
        let frame_ms = (frame * 1000 / i64::from(rate)).max(1);
        JitterBuffer {
            clock_rate: rate,
            frame,
            min_delay,
            max_delay,
            initial_delay,
            max_payload: config.max_payload,
            conceal_limit: (CONCEAL_LIMIT_MS / frame_ms).clamp(1, 50) as u32,
            resync_window: ms_to_units(RESYNC_WINDOW_MS as u32, rate).max(2 * max_delay),
            persist: ms_to_units(RESYNC_PERSIST_MS as u32, rate),
            shrink_excess: ms_to_units(SHRINK_EXCESS_MS as u32, rate).max(4 * frame),
            shrink_interval: ms_to_units(SHRINK_INTERVAL_MS as u32, rate),
            max_frame: ms_to_units(MAX_FRAME_MS as u32, rate).max(frame),
            slots: (0..capacity)
                .map(|_| Slot {
                    ts: 0,
                    seq: 0,
                    data: Vec::new(),
                })
                .collect(),
            order: VecDeque::with_capacity(capacity),
            free: (0..capacity).rev().collect(),
            origin: None,
            ssrc: None,
            seq_ref: 0,
            ts_ref: 0,
            seen: 0,
            prev_push: None,
            last_delta: 0,
            frame_est: frame,
            mean_q4: 0,
            peak_q8: 0,
            candidate: None,
            way_late_since: None,
            mode: Mode::Start,
            play_ts: 0,
            floor: i64::MIN,
            expected_seq: 0,
            empty_run: 0,
            last_shrink: i64::MIN / 2,
            stats: JitterStats::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &JitterStats {
        &self.stats
    }

    /// Packets currently buffered.
    pub fn buffered(&self) -> usize {
        self.order.len()
    }

    /// Media clock ticks since the first packet, at `now`.
    fn local(&self, now: Instant) -> i64 {
        let Some(origin) = self.origin else { return 0 };
        let units = clock_units(now.saturating_duration_since(origin), self.clock_rate);
        // Far beyond any call's length; keeps the arithmetic below in range.
        units.min(1 << 48) as i64
    }

    fn mean(&self) -> i64 {
        self.mean_q4 >> 4
    }

    /// Target delay behind the mean transit, in timestamp units.
    fn delay_target(&self) -> i64 {
        ((self.peak_q8 >> 8) - self.mean() + self.frame).clamp(self.min_delay, self.max_delay)
    }

    /// Target for `local time - timestamp` at playout.
    fn schedule(&self) -> i64 {
        self.mean() + self.delay_target()
    }

    fn to_ms(&self, units: i64) -> u32 {
        (units.max(0) * 1000 / i64::from(self.clock_rate)).min(i64::from(u32::MAX)) as u32
    }

    fn key(&self, idx: usize) -> (i64, i64) {
        self.slots
            .get(idx)
            .map_or((i64::MAX, i64::MAX), |s| (s.ts, s.seq))
    }

    fn head(&self) -> Option<(i64, i64)> {
        self.order.front().map(|&i| self.key(i))
    }

    fn unwrap_seq(&self, seq: u16) -> i64 {
        self.seq_ref + i64::from(seq.wrapping_sub(self.seq_ref as u16) as i16)
    }

    fn unwrap_ts(&self, ts: u32) -> i64 {
        self.ts_ref + i64::from(ts.wrapping_sub(self.ts_ref as u32) as i32)
    }

    /// Stores a packet that arrived at `now`. The payload is copied.
    ///
    /// Talkspurt starts are recognized from the gaps (a timestamp jump with
    /// no sequence gap), which also works when the packet with the marker
    /// bit is lost; `marker` only keeps a talkspurt's first packet from
    /// being used to learn the packet duration.
    pub fn push(
        &mut self,
        now: Instant,
        ssrc: u32,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Pushed {
        self.stats.received += 1;
        if payload.len() > self.max_payload {
            self.stats.dropped_invalid += 1;
            return Pushed::Dropped;
        }
        self.origin.get_or_insert(now);
        let local = self.local(now);
        let Some(current) = self.ssrc else {
            self.restart(local, ssrc, seq, timestamp);
            return self.store(timestamp.into(), seq.into(), payload);
        };

        let ext_seq = self.unwrap_seq(seq);
        let ext_ts = self.unwrap_ts(timestamp);
        let transit = local - ext_ts;
        let seq_jump = (ext_seq - self.seq_ref).abs() > i64::from(MAX_DROPOUT);
        let deviation = transit - self.mean();
        if ssrc == current && !seq_jump && deviation > self.resync_window {
            // Far behind schedule: a backlog released after an outage (drop
            // it), or timestamps restarted backwards (resync once it lasts).
            let since = *self.way_late_since.get_or_insert(local);
            if local - since < self.persist {
                self.stats.late += 1;
                return Pushed::Late;
            }
            return self.resync(local, ssrc, seq, timestamp, payload);
        }
        self.way_late_since = None;
        if ssrc != current || seq_jump || deviation < -self.resync_window {
            let confirms = self.candidate.is_some_and(|c| {
                c.ssrc == ssrc
                    && c.seq.wrapping_add(1) == seq
                    && i64::from((timestamp.wrapping_sub(c.ts) as i32).unsigned_abs())
                        <= self.resync_window
            });
            if !confirms {
                self.candidate = Some(Candidate {
                    ssrc,
                    seq,
                    ts: timestamp,
                });
                self.stats.dropped_invalid += 1;
                return Pushed::Dropped;
            }
            return self.resync(local, ssrc, seq, timestamp, payload);
        }

        // Duplicates within the window.
        let ahead = ext_seq - self.seq_ref;
        if ahead > 0 {
            self.seen = self.seen.checked_shl(ahead as u32).unwrap_or(0) | 1;
            self.seq_ref = ext_seq;
            self.ts_ref = ext_ts;
        } else if -ahead < SEEN_WINDOW {
            let bit = 1u128 << -ahead;
            if self.seen & bit != 0 {
                self.stats.duplicates += 1;
                return Pushed::Duplicate;
            }
            self.seen |= bit;
        }

        self.observe(transit);
        if let Some((prev_seq, prev_ts)) = self.prev_push {
            let delta = ext_ts - prev_ts;
            if !marker && ext_seq == prev_seq + 1 && delta > 0 && delta <= self.max_frame {
                // Learn the packet length once seen twice in a row, so that
                // one timestamp jump over a silence does not count.
                if delta == self.last_delta {
                    self.frame_est = delta;
                }
                self.last_delta = delta;
            }
        }
        self.prev_push = Some((ext_seq, ext_ts));

        if ext_ts < self.floor {
            self.stats.late += 1;
            return Pushed::Late;
        }
        self.store(ext_ts, ext_seq, payload)
    }

    /// Flushes the buffer and starts a new stream at this packet.
    fn resync(
        &mut self,
        local: i64,
        ssrc: u32,
        seq: u16,
        timestamp: u32,
        payload: &[u8],
    ) -> Pushed {
        self.stats.resyncs += 1;
        self.stats.flushed += self.order.len() as u64;
        while let Some(i) = self.order.pop_front() {
            self.free.push(i);
        }
        self.restart(local, ssrc, seq, timestamp);
        match self.store(self.ts_ref, self.seq_ref, payload) {
            Pushed::Buffered => Pushed::Resynced,
            other => other,
        }
    }

    /// Starts a new stream at this packet, keeping the adapted delay.
    fn restart(&mut self, local: i64, ssrc: u32, seq: u16, timestamp: u32) {
        let delay = if self.ssrc.is_some() {
            self.delay_target()
        } else {
            self.initial_delay
        };
        self.ssrc = Some(ssrc);
        self.seq_ref = seq.into();
        self.ts_ref = timestamp.into();
        self.seen = 1;
        self.prev_push = Some((self.seq_ref, self.ts_ref));
        self.last_delta = 0;
        let transit = local - self.ts_ref;
        self.mean_q4 = transit << 4;
        self.peak_q8 = (transit + delay - self.frame) << 8;
        self.candidate = None;
        self.way_late_since = None;
        self.mode = Mode::Start;
        self.play_ts = 0;
        self.floor = i64::MIN;
        self.expected_seq = self.seq_ref;
        self.empty_run = 0;
    }

    /// Feeds one transit sample to the mean and peak estimates.
    fn observe(&mut self, transit: i64) {
        let mean = self.mean();
        self.mean_q4 += transit - ((self.mean_q4 + 8) >> 4);
        // Beyond the maximum delay a peak would only slow the decay down.
        let t = transit.min(mean + self.max_delay) << 8;
        if t > self.peak_q8 {
            self.peak_q8 = t;
        } else {
            self.peak_q8 -= (self.peak_q8 - t) >> 8;
        }
        self.peak_q8 = self.peak_q8.min((self.mean() + self.max_delay) << 8);
    }

    /// Copies the packet into a free slot (evicting the oldest when full).
    fn store(&mut self, ts: i64, seq: i64, payload: &[u8]) -> Pushed {
        let key = (ts, seq);
        let pos = self.order.partition_point(|&i| self.key(i) < key);
        if self.order.get(pos).is_some_and(|&i| self.key(i) == key) {
            self.stats.duplicates += 1;
            return Pushed::Duplicate;
        }
        let (idx, pos) = match self.free.pop() {
            Some(idx) => (idx, pos),
            None => {
                if pos == 0 {
                    self.stats.dropped_overflow += 1;
                    return Pushed::Dropped;
                }
                let Some(oldest) = self.order.pop_front() else {
                    self.stats.dropped_overflow += 1;
                    return Pushed::Dropped;
                };
                self.stats.dropped_overflow += 1;
                let (old_ts, old_seq) = self.key(oldest);
                self.skip_past(old_ts, old_seq);
                (oldest, pos - 1)
            }
        };
        if let Some(slot) = self.slots.get_mut(idx) {
            slot.ts = ts;
            slot.seq = seq;
            slot.data.clear();
            slot.data.extend_from_slice(payload);
        }
        self.order.insert(pos, idx);
        Pushed::Buffered
    }

    /// Moves the playout position past a frame dropped without playing.
    fn skip_past(&mut self, ts: i64, seq: i64) {
        self.floor = self.floor.max(ts + 1);
        if self.mode != Mode::Start {
            self.play_ts = self.play_ts.max(ts + self.frame_est);
            self.expected_seq = self.expected_seq.max(seq + 1);
        }
    }

    /// Returns what to play next. Call when the decoder needs a frame:
    /// once per tick of one frame duration in the usual case.
    pub fn pop(&mut self, now: Instant) -> Playout<'_> {
        if self.origin.is_none() {
            return Playout::Idle;
        }
        let local = self.local(now);
        let action = self.decide(local);
        self.stats.delay_ms = match self.mode {
            Mode::Start => 0,
            Mode::Playing => self.to_ms(local - self.play_ts - self.mean()),
            Mode::Waiting => self.to_ms(self.delay_target()),
        };
        self.stats.target_delay_ms = self.to_ms(self.delay_target());
        match action {
            Action::Idle => Playout::Idle,
            Action::Missing {
                ts,
                duration,
                advance,
            } => {
                self.stats.concealed += 1;
                if advance {
                    self.play_ts = ts + duration;
                    self.floor = self.floor.max(self.play_ts);
                    self.expected_seq += 1;
                }
                Playout::Missing {
                    timestamp: ts as u32,
                    duration: duration.clamp(1, i64::from(u32::MAX)) as u32,
                }
            }
            Action::Play => {
                let Some(idx) = self.order.pop_front() else {
                    return Playout::Idle;
                };
                self.free.push(idx);
                let (ts, seq) = self.key(idx);
                self.stats.played += 1;
                self.empty_run = 0;
                self.floor = ts + 1;
                self.play_ts = ts + self.frame_est;
                self.expected_seq = seq + 1;
                let payload = self.slots.get(idx).map_or(&[][..], |s| s.data.as_slice());
                Playout::Frame {
                    timestamp: ts as u32,
                    payload,
                }
            }
        }
    }

    /// Decides the next output and updates the mode; the caller applies it.
    fn decide(&mut self, local: i64) -> Action {
        let schedule = self.schedule();
        // Each pass either returns or drops a packet or leaves Playing, so
        // this bound is never reached; it only guarantees termination.
        for _ in 0..self.slots.len() + 3 {
            // Packets whose time has passed cannot be buffered (push checks
            // the floor), but the floor also moves on eviction.
            if let Some((ts, _)) = self.head() {
                if ts < self.floor {
                    self.drop_head();
                    self.stats.late += 1;
                    continue;
                }
            }
            // Before a talkspurt starts, packets more than a frame behind the
            // schedule are skipped (a backlog after an outage) while a later
            // one is buffered.
            if self.mode != Mode::Playing && self.order.len() > 1 {
                if let Some((ts, seq)) = self.head() {
                    if ts < local - schedule - self.frame {
                        self.drop_head();
                        self.stats.late += 1;
                        self.skip_past(ts, seq);
                        continue;
                    }
                }
            }
            match self.mode {
                Mode::Start => {
                    let Some((ts, seq)) = self.head() else {
                        return Action::Idle;
                    };
                    if local - ts < schedule {
                        return Action::Idle;
                    }
                    self.mode = Mode::Playing;
                    self.play_ts = ts;
                    self.expected_seq = seq;
                    return Action::Play;
                }
                Mode::Waiting => {
                    let Some((ts, seq)) = self.head() else {
                        return Action::Idle;
                    };
                    if seq > self.expected_seq && ts > self.play_ts {
                        // Packets lost before this one: conceal them first.
                        return Action::Missing {
                            ts: self.play_ts,
                            duration: self.frame_est.min(ts - self.play_ts),
                            advance: true,
                        };
                    }
                    if local - ts < schedule {
                        return Action::Idle;
                    }
                    self.mode = Mode::Playing;
                    return Action::Play;
                }
                Mode::Playing => {
                    let ahead = local - self.play_ts < schedule - self.frame / 2;
                    match self.head() {
                        None => {
                            if self.empty_run >= self.conceal_limit {
                                self.mode = Mode::Waiting;
                                return Action::Idle;
                            }
                            self.empty_run += 1;
                            return Action::Missing {
                                ts: self.play_ts,
                                duration: self.frame_est,
                                advance: !ahead,
                            };
                        }
                        Some((ts, seq)) if ts <= self.play_ts => {
                            let delay = local - self.play_ts - self.mean();
                            let over_max = delay > self.max_delay + self.frame;
                            // A stream without silences can only shrink by
                            // dropping: far over target, one frame at a time.
                            let shrink = delay - self.delay_target() > self.shrink_excess
                                && local - self.last_shrink >= self.shrink_interval;
                            if (over_max || shrink) && self.order.len() > 1 {
                                self.drop_head();
                                self.stats.dropped_overflow += 1;
                                self.skip_past(ts, seq);
                                self.last_shrink = local;
                                continue;
                            }
                            return Action::Play;
                        }
                        Some((ts, seq)) => {
                            if seq > self.expected_seq {
                                self.empty_run = 0;
                                return Action::Missing {
                                    ts: self.play_ts,
                                    duration: self.frame_est.min(ts - self.play_ts),
                                    advance: !ahead,
                                };
                            }
                            // A gap in timestamps only: silence.
                            self.mode = Mode::Waiting;
                        }
                    }
                }
            }
        }
        Action::Idle
    }

    fn drop_head(&mut self) {
        if let Some(i) = self.order.pop_front() {
            self.free.push(i);
        }
    }
}
