//! Reception and transmission statistics: RFC 3550 Appendix A.1 (sequence
//! validation and extension), A.3 (loss), A.8 (interarrival jitter), the
//! report blocks and sender info we put in RR/SR, and the round-trip time
//! from a report block about our stream (§6.4.1).
//!
//! Arrival times come in as `now: Instant` and wall-clock times as NTP
//! 32.32 values; nothing here reads a clock.

use std::time::{Duration, Instant};

use super::rtcp::{clamp_lost, ReportBlock, SenderInfo};

/// Sequential packets needed before a new source is valid (A.1).
pub const MIN_SEQUENTIAL: u16 = 2;
/// Largest forward sequence jump still taken as in order (A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// Largest backward sequence jump taken as reordering (A.1).
pub const MAX_MISORDER: u16 = 100;

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
const NANOS: u128 = 1_000_000_000;

/// NTP 32.32 timestamp for a time given as the duration since the Unix
/// epoch (e.g. `SystemTime::now().duration_since(UNIX_EPOCH)` in the driver).
/// The seconds wrap in 2036 as the NTP era does.
pub fn ntp_from_unix(since_epoch: Duration) -> u64 {
    let secs = since_epoch.as_secs().wrapping_add(NTP_UNIX_OFFSET) as u32;
    let frac = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
    u64::from(secs) << 32 | frac
}

/// The middle 32 bits of an NTP timestamp (16.16 fixed point), as carried in
/// LSR and compared for the round-trip time.
pub fn ntp_mid32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A 16.16 fixed-point duration (DLSR, or a round-trip time) as a `Duration`.
pub fn mid32_to_duration(value: u32) -> Duration {
    let nanos = (u64::from(value & 0xffff) * 1_000_000_000) >> 16;
    Duration::from_secs(u64::from(value >> 16)) + Duration::from_nanos(nanos)
}

/// A `Duration` in 16.16 fixed point, saturating at `u32::MAX` (18 hours).
pub fn duration_to_mid32(d: Duration) -> u32 {
    if d.as_secs() > 0xffff {
        return u32::MAX;
    }
    let frac = (u64::from(d.subsec_nanos()) << 16) / 1_000_000_000;
    ((d.as_secs() << 16) | frac) as u32
}

/// Round-trip time from a report block about our stream (RFC 3550
/// §6.4.1): `A - LSR - DLSR`, where `A` is the middle 32 bits of the NTP time
/// the block arrived (`ntp_now`). `None` when the peer has not seen an SR
/// (LSR 0) or the values are inconsistent (the delay would be negative).
pub fn round_trip_time(ntp_now: u64, last_sr: u32, delay_since_last_sr: u32) -> Option<Duration> {
    if last_sr == 0 {
        return None;
    }
    let since_sr = ntp_mid32(ntp_now).wrapping_sub(last_sr);
    let rtt = since_sr.checked_sub(delay_since_last_sr)?;
    // More than half the 16.16 range means `A` was before `LSR`.
    if rtt > i32::MAX as u32 {
        return None;
    }
    Some(mid32_to_duration(rtt))
}

/// `d` in units of a `clock_rate` Hz clock, exact (no accumulated rounding).
pub(crate) fn clock_units(d: Duration, clock_rate: u32) -> u64 {
    (d.as_nanos() * u128::from(clock_rate) / NANOS) as u64
}

/// What [`ReceiverStats::on_rtp`] made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqStatus {
    /// Counted, in order (possibly after a gap).
    Valid,
    /// Counted, but it arrived after a higher sequence number (reordered).
    Late,
    /// Already received: not counted again.
    Duplicate,
    /// The source is not yet validated (fewer than [`MIN_SEQUENTIAL`]
    /// sequential packets); it is counted once validated.
    Probation,
    /// A jump of more than [`MAX_DROPOUT`] ahead or [`MAX_MISORDER`] behind:
    /// ignored, unless the next packet follows it, in which case the sequence
    /// tracking restarts there (the source restarted).
    Jump,
}

/// Receive-side statistics for one source (one SSRC): create a new one when
/// the SSRC changes.
///
/// Follows RFC 3550 A.1 with two deliberate differences that keep the
/// counts exact for a call record: the [`MIN_SEQUENTIAL`] packets that
/// validate a source are counted (A.1 drops the first), and duplicates seen
/// within the last 128 sequence numbers are not counted as received (so they
/// cannot hide losses). After a restart the totals carry on.
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    clock_rate: u32,
    started: bool,
    probation: u16,
    max_seq: u16,
    /// Number of sequence wraps.
    cycles: u64,
    /// Extended sequence number of the first counted packet.
    base_seq: i64,
    bad_seq: u32,
    /// Bit i set: extended sequence `max - i` was received.
    seen: u128,
    received: u64,
    /// Expected and received before the last restart.
    carry_expected: u64,
    carry_received: u64,
    expected_prior: i64,
    received_prior: u64,
    octets: u64,
    probation_octets: u64,
    jump_octets: u64,
    duplicates: u64,
    late: u64,
    fraction_lost: u8,
    origin: Option<Instant>,
    transit: Option<u32>,
    /// Jitter × 16, as in A.8.
    jitter_q4: u64,
    /// LSR value and local arrival of the last SR from this source.
    last_sr: Option<(u32, Instant)>,
}

impl ReceiverStats {
    /// New statistics for a source whose media clock runs at `clock_rate` Hz
    /// (0 is taken as 1).
    pub fn new(clock_rate: u32) -> Self {
        ReceiverStats {
            clock_rate: clock_rate.max(1),
            started: false,
            probation: MIN_SEQUENTIAL,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 1 << 16 | 1,
            seen: 0,
            received: 0,
            carry_expected: 0,
            carry_received: 0,
            expected_prior: 0,
            received_prior: 0,
            octets: 0,
            probation_octets: 0,
            jump_octets: 0,
            duplicates: 0,
            late: 0,
            fraction_lost: 0,
            origin: None,
            transit: None,
            jitter_q4: 0,
            last_sr: None,
        }
    }

    /// Accounts for one received RTP packet that arrived at `now`.
    pub fn on_rtp(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        payload_len: usize,
    ) -> SeqStatus {
        if !self.started {
            self.started = true;
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        let status = self.update_seq(seq, payload_len as u64);
        match status {
            SeqStatus::Valid | SeqStatus::Late => {
                self.octets += payload_len as u64;
                self.update_jitter(now, timestamp);
            }
            SeqStatus::Probation => self.update_jitter(now, timestamp),
            SeqStatus::Duplicate => self.duplicates += 1,
            SeqStatus::Jump => {}
        }
        status
    }

    fn update_seq(&mut self, seq: u16, len: u64) -> SeqStatus {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if udelta == 1 {
                self.probation -= 1;
                self.max_seq = seq;
                self.probation_octets += len;
                if self.probation == 0 {
                    self.restart(seq, MIN_SEQUENTIAL);
                    // The caller adds this packet's octets.
                    self.octets += self.probation_octets - len;
                    self.probation_octets = 0;
                    return SeqStatus::Valid;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
                self.probation_octets = len;
            }
            return SeqStatus::Probation;
        }
        if udelta == 0 {
            return SeqStatus::Duplicate;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += 1;
            }
            self.max_seq = seq;
            self.seen = self.seen.checked_shl(u32::from(udelta)).unwrap_or(0) | 1;
            self.received += 1;
            SeqStatus::Valid
        } else if udelta <= u16::MAX - MAX_MISORDER + 1 {
            // A very large jump: restart if the previous packet announced it.
            if u32::from(seq) == self.bad_seq {
                self.restart(seq, 2);
                self.octets += self.jump_octets;
                self.transit = None;
                SeqStatus::Valid
            } else {
                self.bad_seq = u32::from(seq.wrapping_add(1));
                self.jump_octets = len;
                SeqStatus::Jump
            }
        } else {
            // Behind the highest sequence number by 1..MAX_MISORDER.
            let back = u32::from(udelta.wrapping_neg());
            let bit = 1u128.checked_shl(back).unwrap_or(0);
            if self.seen & bit != 0 {
                return SeqStatus::Duplicate;
            }
            self.seen |= bit;
            // A packet from before the first one counted moves the start back.
            self.base_seq = self.base_seq.min(self.extended_max() - i64::from(back));
            self.late += 1;
            self.received += 1;
            SeqStatus::Late
        }
    }

    /// Restarts sequence tracking at `seq`, counting it and the `run - 1`
    /// packets just before it as received.
    fn restart(&mut self, seq: u16, run: u16) {
        if self.received > 0 {
            self.carry_expected = self.expected().max(0) as u64;
            self.carry_received += self.received;
        }
        self.max_seq = seq;
        self.cycles = 0;
        self.base_seq = i64::from(seq) - i64::from(run - 1);
        self.bad_seq = 1 << 16 | 1;
        self.seen = (1u128 << run) - 1;
        self.received = u64::from(run);
    }

    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        let origin = *self.origin.get_or_insert(now);
        // Arrival on the media clock, taken modulo 2^32 like the timestamp so
        // that the difference below stays exact across either wrapping.
        let arrival = clock_units(now.saturating_duration_since(origin), self.clock_rate) as u32;
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(prev) = self.transit {
            let d = u64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    /// Records a sender report from this source: `ntp` is the NTP timestamp
    /// it carries, `now` when it arrived. Needed for LSR/DLSR in our reports.
    pub fn on_sender_report(&mut self, now: Instant, ntp: u64) {
        self.last_sr = Some((ntp_mid32(ntp), now));
    }

    /// Builds the report block about this source (whose SSRC is `ssrc`) for
    /// an RR or SR sent at `now`, and starts a new loss interval (A.3).
    pub fn report_block(&mut self, ssrc: u32, now: Instant) -> ReportBlock {
        let expected = self.expected();
        let received = self.total_received();
        let expected_interval = expected - self.expected_prior;
        let received_interval = received.saturating_sub(self.received_prior) as i64;
        self.expected_prior = expected;
        self.received_prior = received;
        let lost_interval = expected_interval - received_interval;
        self.fraction_lost = if expected_interval <= 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => (lsr, duration_to_mid32(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        ReportBlock {
            ssrc,
            fraction_lost: self.fraction_lost,
            cumulative_lost: clamp_lost(self.lost()),
            highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        }
    }

    fn extended_max(&self) -> i64 {
        (self.cycles << 16 | u64::from(self.max_seq)) as i64
    }

    fn validated(&self) -> bool {
        self.started && self.probation == 0
    }

    /// Extended highest sequence number received (wraps at 2^32 as on the wire).
    pub fn extended_highest_seq(&self) -> u32 {
        if self.validated() {
            self.extended_max() as u32
        } else {
            0
        }
    }

    /// Packets expected: highest minus first sequence number plus one (A.3).
    pub fn expected(&self) -> i64 {
        let current = if self.validated() {
            self.extended_max() - self.base_seq + 1
        } else {
            0
        };
        self.carry_expected as i64 + current
    }

    /// Packets received and counted (duplicates and ignored jumps excluded).
    pub fn total_received(&self) -> u64 {
        self.carry_received + self.received
    }

    /// Cumulative packets lost: expected minus received (negative only if
    /// duplicates older than the detection window were counted).
    pub fn lost(&self) -> i64 {
        self.expected() - self.total_received() as i64
    }

    /// Payload octets received in counted packets.
    pub fn octets(&self) -> u64 {
        self.octets
    }

    /// Duplicates dropped.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Packets that arrived after a higher sequence number.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Fraction lost in the interval ended by the last [`report_block`](Self::report_block), in 1/256.
    pub fn fraction_lost(&self) -> u8 {
        self.fraction_lost
    }

    /// Interarrival jitter in timestamp units (A.8).
    pub fn jitter(&self) -> u32 {
        (self.jitter_q4 >> 4).min(u64::from(u32::MAX)) as u32
    }

    /// The media clock rate in Hz.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }
}

/// Send-side statistics for our stream: counts for the SR sender info and the
/// peer's latest report block about us.
#[derive(Debug, Clone)]
pub struct SenderStats {
    clock_rate: u32,
    packets: u64,
    octets: u64,
    last: Option<(Instant, u32)>,
    rtt: Option<Duration>,
    remote: Option<ReportBlock>,
}

impl SenderStats {
    /// New statistics for a stream with a `clock_rate` Hz media clock (0 is
    /// taken as 1).
    pub fn new(clock_rate: u32) -> Self {
        SenderStats {
            clock_rate: clock_rate.max(1),
            packets: 0,
            octets: 0,
            last: None,
            rtt: None,
            remote: None,
        }
    }

    /// Accounts for one RTP packet sent at `now`.
    pub fn on_sent(&mut self, now: Instant, timestamp: u32, payload_len: usize) {
        self.packets += 1;
        self.octets += payload_len as u64;
        self.last = Some((now, timestamp));
    }

    /// Sender info for an SR sent at `now` (NTP time `ntp_now`): the RTP
    /// timestamp is the last one sent advanced by the time elapsed since.
    pub fn sender_info(&self, now: Instant, ntp_now: u64) -> SenderInfo {
        let rtp_timestamp = match self.last {
            Some((at, ts)) => {
                let elapsed = clock_units(now.saturating_duration_since(at), self.clock_rate);
                ts.wrapping_add(elapsed as u32)
            }
            None => 0,
        };
        SenderInfo {
            ntp_timestamp: ntp_now,
            rtp_timestamp,
            packet_count: self.packets as u32,
            octet_count: self.octets as u32,
        }
    }

    /// Takes the peer's report block about our stream (the caller matches
    /// its SSRC to ours), received when the wall clock read `ntp_now`.
    /// Returns the round-trip time when the block allows one.
    pub fn on_report_block(&mut self, block: &ReportBlock, ntp_now: u64) -> Option<Duration> {
        self.remote = Some(*block);
        let rtt = round_trip_time(ntp_now, block.last_sr, block.delay_since_last_sr);
        if rtt.is_some() {
            self.rtt = rtt;
        }
        rtt
    }

    /// Packets sent.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Payload octets sent.
    pub fn octets(&self) -> u64 {
        self.octets
    }

    /// RTP timestamp of the last packet sent.
    pub fn last_timestamp(&self) -> Option<u32> {
        self.last.map(|(_, ts)| ts)
    }

    /// Latest round-trip time measured.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The peer's latest report block about our stream.
    pub fn remote_report(&self) -> Option<&ReportBlock> {
        self.remote.as_ref()
    }
}

/// A plain snapshot of a call's RTP statistics, for records and APIs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Packets we sent.
    pub packets_sent: u64,
    /// Payload octets we sent.
    pub octets_sent: u64,
    /// Packets we received and counted.
    pub packets_received: u64,
    /// Payload octets we received.
    pub octets_received: u64,
    /// Packets we expected but did not receive.
    pub packets_lost: i64,
    /// Fraction lost (0..=1) in our last report interval.
    pub fraction_lost: f64,
    /// Interarrival jitter of what we receive, in milliseconds.
    pub jitter_ms: f64,
    /// Latest round-trip time, in milliseconds.
    pub rtt_ms: Option<f64>,
    /// Duplicate packets received.
    pub duplicates: u64,
    /// Reordered packets received.
    pub late: u64,
    /// Packets the peer reports lost from our stream.
    pub remote_packets_lost: Option<i64>,
    /// Fraction (0..=1) the peer reports lost in its last interval.
    pub remote_fraction_lost: Option<f64>,
    /// Jitter the peer reports for our stream, in milliseconds.
    pub remote_jitter_ms: Option<f64>,
}

impl Stats {
    /// Gathers a snapshot from both directions.
    pub fn collect(sender: &SenderStats, receiver: &ReceiverStats) -> Stats {
        let ms = |units: u32, rate: u32| f64::from(units) * 1000.0 / f64::from(rate);
        let remote = sender.remote.as_ref();
        Stats {
            packets_sent: sender.packets,
            octets_sent: sender.octets,
            packets_received: receiver.total_received(),
            octets_received: receiver.octets,
            packets_lost: receiver.lost(),
            fraction_lost: f64::from(receiver.fraction_lost) / 256.0,
            jitter_ms: ms(receiver.jitter(), receiver.clock_rate),
            rtt_ms: sender.rtt.map(|d| d.as_secs_f64() * 1000.0),
            duplicates: receiver.duplicates,
            late: receiver.late,
            remote_packets_lost: remote.map(|b| i64::from(b.cumulative_lost)),
            remote_fraction_lost: remote.map(|b| f64::from(b.fraction_lost) / 256.0),
            remote_jitter_ms: remote.map(|b| ms(b.jitter, sender.clock_rate)),
        }
    }
}
