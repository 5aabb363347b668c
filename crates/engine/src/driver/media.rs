//! Media tasks: one tokio task per call runs its [`MediaSession`] — reads the
//! call's RTP and RTCP sockets, wakes at the session's deadlines, sends what it
//! queues, writes its recording taps to WAV files and reports events (DTMF,
//! playback finished, media timeout, recording progress, statistics) back to
//! the core. The core steers it with [`MediaCommand`]s through [`MediaTasks`].

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use callwire_media::audio::{RecordLayout, WavRecorder};
use callwire_media::session::{
    MediaSession, MediaStats, PlaySource, RecordMode, SendMethod, SessionConfig, SessionEvent,
    StreamParams,
};
use callwire_store::RecordingRecord;
use chrono::Utc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::rtp::RtpPorts;
use crate::core::Output;

/// Commands queued for one media task at most.
const COMMAND_QUEUE: usize = 64;
/// How often a recording's WAV header is rewritten (so a crash leaves a valid
/// file) and its row updated.
const RECORDING_FLUSH: Duration = Duration::from_secs(1);
/// How often a task reports its statistics to the core.
const STATS_EVERY: Duration = Duration::from_secs(2);
/// Largest datagram read from an RTP or RTCP socket.
const MAX_DATAGRAM: usize = 2048;

/// What the core asks of a call's media.
#[derive(Debug)]
pub(crate) enum MediaCommand {
    /// The negotiated stream (new or changed by a re-INVITE).
    Stream(StreamParams),
    /// Play audio into the call; replaces what is playing.
    Play {
        id: u64,
        source: PlaySource,
        looped: bool,
    },
    /// Stop playing.
    StopPlay,
    /// Send DTMF in the media.
    SendDtmf { digits: String, method: SendMethod },
    /// Start recording into a new WAV file.
    RecordStart(RecordingStart),
    /// Pause, resume or stop the recording.
    Record(RecordAction),
}

/// A recording to start.
#[derive(Debug, Clone)]
pub(crate) struct RecordingStart {
    pub id: String,
    pub account: String,
    pub mode: RecordMode,
}

/// A change to a running recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordAction {
    Pause,
    Resume,
    Stop,
}

/// What a media task reports to the core.
#[derive(Debug)]
pub(crate) enum MediaEvent {
    /// Something the session noticed.
    Session(SessionEvent),
    /// Statistics, now and then and when the task ends.
    Stats(MediaStats),
    /// A recording changed state (started, paused, resumed, finished, failed).
    Recording(RecordingRecord),
}

/// A media event for one call.
#[derive(Debug)]
pub(crate) struct CallMediaEvent {
    pub call: String,
    pub event: MediaEvent,
}

/// The running media tasks, by call id.
pub(crate) struct MediaTasks {
    tasks: HashMap<String, mpsc::Sender<MediaCommand>>,
    events: mpsc::Sender<CallMediaEvent>,
    store: mpsc::Sender<Output>,
    recordings_dir: Arc<PathBuf>,
}

impl MediaTasks {
    pub(crate) fn new(
        events: mpsc::Sender<CallMediaEvent>,
        store: mpsc::Sender<Output>,
        recordings_dir: PathBuf,
    ) -> MediaTasks {
        MediaTasks {
            tasks: HashMap::new(),
            events,
            store,
            recordings_dir: Arc::new(recordings_dir),
        }
    }

    /// Starts the media task of a call.
    pub(crate) fn start(&mut self, call: String, ports: RtpPorts, mut config: SessionConfig) {
        config.ntp_at_start = ntp_now();
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let task = MediaTask {
            call: call.clone(),
            session: MediaSession::new(config, Instant::now()),
            events: self.events.clone(),
            store: self.store.clone(),
            recordings_dir: Arc::clone(&self.recordings_dir),
            recording: None,
            last_stats: Instant::now(),
        };
        self.tasks.insert(call, tx);
        tokio::spawn(task.run(ports, rx));
    }

    /// Hands a command to a call's media task.
    pub(crate) fn command(&mut self, call: &str, command: MediaCommand) {
        let Some(tx) = self.tasks.get(call) else {
            tracing::debug!(call, "media command for a call without media");
            return;
        };
        if tx.try_send(command).is_err() {
            tracing::warn!(call, "media command queue full; command dropped");
        }
    }

    /// Ends a call's media: the task finishes its recording, reports final
    /// statistics and closes the sockets (freeing the ports).
    pub(crate) fn stop(&mut self, call: &str) {
        self.tasks.remove(call);
    }
}

/// A recording being written. While it is paused the session's tap is off,
/// so no samples reach it.
struct ActiveRecording {
    record: RecordingRecord,
    mode: RecordMode,
    writer: WavRecorder<BufWriter<File>>,
    last_flush: Instant,
}

struct MediaTask {
    call: String,
    session: MediaSession,
    events: mpsc::Sender<CallMediaEvent>,
    store: mpsc::Sender<Output>,
    recordings_dir: Arc<PathBuf>,
    recording: Option<ActiveRecording>,
    last_stats: Instant,
}

impl MediaTask {
    async fn run(mut self, ports: RtpPorts, mut commands: mpsc::Receiver<MediaCommand>) {
        let (rtp, rtcp) = match (
            UdpSocket::from_std(ports.rtp),
            UdpSocket::from_std(ports.rtcp),
        ) {
            (Ok(a), Ok(b)) => (a, b),
            _ => {
                tracing::error!(call = %self.call, "cannot register the RTP sockets");
                return;
            }
        };
        let mut rtp_buf = vec![0u8; MAX_DATAGRAM];
        let mut rtcp_buf = vec![0u8; MAX_DATAGRAM];
        let mut samples = (Vec::new(), Vec::new());
        loop {
            self.flush(&rtp, &rtcp, &mut samples).await;
            let deadline = self.session.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.apply(cmd),
                    None => break,
                },
                r = rtp.recv_from(&mut rtp_buf) => {
                    if let Ok((n, from)) = r {
                        let data = rtp_buf.get(..n).unwrap_or_default();
                        self.session.receive(Instant::now(), from, data, false);
                    }
                }
                r = rtcp.recv_from(&mut rtcp_buf) => {
                    if let Ok((n, from)) = r {
                        let data = rtcp_buf.get(..n).unwrap_or_default();
                        self.session.receive(Instant::now(), from, data, true);
                    }
                }
                _ = sleep => self.session.handle_timeout(Instant::now()),
            }
        }
        // The call is over: a last RTCP BYE, the recording closed, final stats.
        self.session.close(Instant::now());
        self.flush(&rtp, &rtcp, &mut samples).await;
        self.finish_recording("finished");
        let stats = self.session.stats();
        let view = crate::model::call::MediaStatsView::from(&stats);
        if let Ok(json) = serde_json::to_string(&view) {
            let _ = self
                .store
                .send(Output::SaveMediaStats {
                    call: self.call.clone(),
                    json,
                })
                .await;
        }
        self.report(MediaEvent::Stats(stats)).await;
    }

    /// Sends queued packets, forwards events, writes recorded audio.
    async fn flush(
        &mut self,
        rtp: &UdpSocket,
        rtcp: &UdpSocket,
        samples: &mut (Vec<i16>, Vec<i16>),
    ) {
        self.session.drain_transmit(|t| {
            let socket = if t.rtcp { rtcp } else { rtp };
            // A full socket buffer drops the packet, as the network would.
            let _ = socket.try_send_to(t.data, t.to);
        });
        while let Some(ev) = self.session.poll_event() {
            self.report(MediaEvent::Session(ev)).await;
        }
        samples.0.clear();
        samples.1.clear();
        self.session.take_recorded(&mut samples.0, &mut samples.1);
        if !samples.0.is_empty() {
            self.write_recording(&samples.0, &samples.1);
        }
        let now = Instant::now();
        if now.duration_since(self.last_stats) >= STATS_EVERY {
            self.last_stats = now;
            let stats = self.session.stats();
            // Statistics are best effort: a busy core skips a report.
            let _ = self.events.try_send(CallMediaEvent {
                call: self.call.clone(),
                event: MediaEvent::Stats(stats),
            });
        }
    }

    async fn report(&self, event: MediaEvent) {
        let _ = self
            .events
            .send(CallMediaEvent {
                call: self.call.clone(),
                event,
            })
            .await;
    }

    fn apply(&mut self, cmd: MediaCommand) {
        let now = Instant::now();
        match cmd {
            MediaCommand::Stream(params) => {
                if let Err(e) = self.session.set_stream(now, params) {
                    tracing::warn!(call = %self.call, error = %e, "media stream not applied");
                }
            }
            MediaCommand::Play { id, source, looped } => {
                self.session.play(id, source, looped);
            }
            MediaCommand::StopPlay => self.session.stop_playback(),
            MediaCommand::SendDtmf { digits, method } => {
                if let Err(e) = self.session.send_dtmf(&digits, method) {
                    tracing::info!(call = %self.call, error = %e, "DTMF not sent");
                }
            }
            MediaCommand::RecordStart(start) => self.start_recording(start),
            MediaCommand::Record(action) => self.change_recording(action),
        }
    }

    fn start_recording(&mut self, start: RecordingStart) {
        // One recording at a time per call: a new one ends the old one.
        self.finish_recording("finished");
        let rate = self.session.sample_rate();
        let (channels, layout): (u16, _) = match start.mode {
            RecordMode::Mixed => (1, RecordLayout::Mono),
            RecordMode::Split => (2, RecordLayout::Stereo),
        };
        let file = format!("{}.wav", start.id);
        let mut record = RecordingRecord {
            id: start.id,
            call_id: self.call.clone(),
            account: start.account,
            state: "recording".into(),
            mode: start.mode.as_str().into(),
            file: file.clone(),
            sample_rate: rate,
            channels,
            duration_ms: 0,
            bytes: 0,
            started_at: Utc::now(),
            ended_at: None,
        };
        let path = self.recordings_dir.join(&file);
        let opened = std::fs::create_dir_all(self.recordings_dir.as_path())
            .and_then(|()| File::create(&path))
            .map_err(|e| e.to_string())
            .and_then(|f| {
                WavRecorder::new(BufWriter::new(f), rate, layout).map_err(|e| e.to_string())
            });
        match opened {
            Ok(writer) => {
                self.session.set_recording(Some(start.mode));
                self.save_recording(&record);
                self.recording = Some(ActiveRecording {
                    record,
                    mode: start.mode,
                    writer,
                    last_flush: Instant::now(),
                });
            }
            Err(e) => {
                tracing::error!(call = %self.call, path = %path.display(), error = %e, "cannot start recording");
                record.state = "failed".into();
                record.ended_at = Some(Utc::now());
                self.save_recording(&record);
            }
        }
    }

    fn change_recording(&mut self, action: RecordAction) {
        match action {
            RecordAction::Stop => self.finish_recording("finished"),
            RecordAction::Pause | RecordAction::Resume => {
                let paused = action == RecordAction::Pause;
                let Some(rec) = self.recording.as_mut() else {
                    return;
                };
                rec.record.state = if paused { "paused" } else { "recording" }.into();
                let record = rec.record.clone();
                self.session.set_recording((!paused).then_some(rec.mode));
                self.save_recording(&record);
            }
        }
    }

    fn write_recording(&mut self, left: &[i16], right: &[i16]) {
        let Some(rec) = self.recording.as_mut() else {
            return;
        };
        let written = match rec.mode {
            RecordMode::Split => rec.writer.write_stereo(left, right),
            RecordMode::Mixed => rec.writer.write_mono(left),
        };
        if let Err(e) = written {
            tracing::error!(call = %self.call, error = %e, "recording write failed");
            self.finish_recording("failed");
            return;
        }
        if rec.last_flush.elapsed() >= RECORDING_FLUSH {
            rec.last_flush = Instant::now();
            if let Err(e) = rec.writer.flush() {
                tracing::error!(call = %self.call, error = %e, "recording flush failed");
                self.finish_recording("failed");
                return;
            }
            update_progress(&mut rec.record, &rec.writer);
            let record = rec.record.clone();
            self.save_recording(&record);
        }
    }

    fn finish_recording(&mut self, state: &str) {
        let Some(mut rec) = self.recording.take() else {
            return;
        };
        self.session.set_recording(None);
        update_progress(&mut rec.record, &rec.writer);
        let state = match rec.writer.finalize() {
            Ok(()) => state,
            Err(e) => {
                tracing::error!(call = %self.call, error = %e, "recording not finalized");
                "failed"
            }
        };
        rec.record.state = state.into();
        rec.record.ended_at = Some(Utc::now());
        self.save_recording(&rec.record);
    }

    fn save_recording(&self, record: &RecordingRecord) {
        if self
            .store
            .try_send(Output::SaveRecording(record.clone()))
            .is_err()
        {
            tracing::error!(recording = %record.id, "store queue full; recording state not saved");
        }
        let _ = self.events.try_send(CallMediaEvent {
            call: self.call.clone(),
            event: MediaEvent::Recording(record.clone()),
        });
    }
}

/// WAV header size of the files [`WavRecorder`] writes.
const WAV_HEADER_BYTES: u64 = 44;

fn update_progress(record: &mut RecordingRecord, writer: &WavRecorder<BufWriter<File>>) {
    let frames = writer.frames();
    record.duration_ms = frames.saturating_mul(1000) / u64::from(record.sample_rate.max(1));
    record.bytes = WAV_HEADER_BYTES + frames * u64::from(record.channels) * 2;
}

/// The wall clock as a 64-bit NTP timestamp (RFC 3550 §4).
fn ntp_now() -> u64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    callwire_media::rtp::ntp_from_unix(unix)
}

/// Where RTCP goes when the SDP gave no `a=rtcp`: the RTP port + 1.
pub(crate) fn default_rtcp(rtp: SocketAddr) -> SocketAddr {
    SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1))
}
