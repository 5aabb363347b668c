//! A call's media as the core sees it: the negotiated stream handed to the
//! call's media task, what the task reports back (DTMF, playback, recordings,
//! statistics, media timeout), and the API's media controls (play, DTMF,
//! recording).

use callwire_media::codec::Codec;
use callwire_media::dtmf::Method as DtmfMethod;
use callwire_media::sdp::Negotiated;
use callwire_media::session::{PlaySource, RecordMode, SendMethod, SessionConfig, SessionEvent};

use super::*;
use crate::core::MediaOp;
use crate::driver::media::{
    default_rtcp, CallMediaEvent, MediaCommand, MediaEvent, RecordAction, RecordingStart,
};
use crate::model::account::DtmfMode;
use crate::model::call::{DtmfView, MediaStatsView};
use crate::model::event::kind;
use crate::RecordingAction;

/// Received digits a call keeps for its view.
const MAX_DTMF_KEPT: usize = 256;
/// Digits further apart than this start a new DTMF sequence.
const INTER_DIGIT: Duration = Duration::from_secs(5);
/// Digits a call remembers for sequence matching.
const SEQUENCE_DIGITS: usize = 32;
/// Recordings one call may make.
const MAX_RECORDINGS_PER_CALL: usize = 64;

/// Media state of one call.
#[derive(Default)]
pub(crate) struct CallMedia {
    /// The last successful offer/answer.
    pub(super) negotiated: Option<Negotiated>,
    /// We put the call on hold.
    pub(super) on_hold: bool,
    pub(super) dtmf: Vec<DtmfView>,
    pub(super) playback: Option<u64>,
    pub(super) recordings: Vec<String>,
    /// The recording in progress, if any.
    pub(super) recording: Option<String>,
    pub(super) stats: Option<MediaStatsView>,
    /// Our re-INVITE in progress.
    pub(super) reinvite: Option<ReInvite>,
    /// After a 491: the hold state to offer again when the glare timer fires.
    pub(super) glare_retry: Option<bool>,
    /// The last state published for each recording of the call.
    pub(super) recording_states: std::collections::HashMap<String, String>,
    /// Digits received lately, for DTMF sequence matching, and when the last
    /// one came.
    sequence_digits: String,
    last_digit_at: Option<Instant>,
}

/// Our re-INVITE in progress: its offer and what it asks for.
pub(crate) struct ReInvite {
    pub(super) offer: callwire_media::sdp::SessionDescription,
    pub(super) hold: bool,
}

impl Call {
    /// Adds a received digit to those matched against DTMF sequences (a gap
    /// over [`INTER_DIGIT`] starts afresh) and returns the digits so far.
    pub(crate) fn sequence_digits(&mut self, digit: char, now: Instant) -> &str {
        let m = &mut self.media;
        if m.last_digit_at
            .is_some_and(|at| now.saturating_duration_since(at) > INTER_DIGIT)
        {
            m.sequence_digits.clear();
        }
        m.last_digit_at = Some(now);
        m.sequence_digits.push(digit.to_ascii_uppercase());
        if m.sequence_digits.len() > SEQUENCE_DIGITS {
            m.sequence_digits.remove(0);
        }
        &m.sequence_digits
    }

    /// A sequence matched: matching starts afresh.
    pub(crate) fn clear_sequence_digits(&mut self) {
        self.media.sequence_digits.clear();
    }
}

impl CallMedia {
    pub(super) fn remote_hold(&self) -> bool {
        self.negotiated
            .as_ref()
            .is_some_and(Negotiated::is_remote_hold)
    }
}

/// What `POST /v1/calls/{id}/play` asks for.
#[derive(Debug, Clone)]
pub struct PlayRequest {
    /// The audio.
    pub source: PlaySource,
    /// Loop until stopped.
    pub looped: bool,
}

/// How `POST /v1/calls/{id}/dtmf` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfSend {
    /// The account's `dtmf_mode`.
    Account,
    /// A given mode.
    Mode(DtmfMode),
}

impl Core {
    /// Settings for a new call's media session.
    fn session_config(&mut self) -> SessionConfig {
        let m = &self.config.media;
        SessionConfig {
            ssrc: self.rng.next_u32(),
            initial_sequence: (self.rng.next_u32() & 0x7fff) as u16,
            initial_timestamp: self.rng.next_u32(),
            cname: format!("{:016x}@callwire", self.rng.next_u64()),
            media_timeout: (m.timeout_secs > 0).then(|| Duration::from_secs(m.timeout_secs.into())),
            jitter_min_ms: m.jitter_min_ms,
            jitter_max_ms: m.jitter_max_ms,
            detect_inband: m.detect_inband_dtmf,
            rtcp_seed: self.rng.next_u64(),
            // The driver reads the wall clock when it starts the session.
            ntp_at_start: 0,
        }
    }

    /// Hands a call's RTP sockets to a new media task.
    pub(super) fn start_media(&mut self, id: &str, ports: RtpPorts) {
        let config = self.session_config();
        self.outputs.push_back(Output::Media(MediaOp::Start {
            call: id.to_owned(),
            ports,
            config,
        }));
    }

    fn media_command(&mut self, id: &str, cmd: MediaCommand) {
        self.outputs.push_back(Output::Media(MediaOp::Command {
            call: id.to_owned(),
            cmd,
        }));
    }

    /// Records a new offer/answer outcome; the media task gets it once the
    /// call is answered or has early media.
    pub(super) fn set_negotiated(&mut self, id: &str, neg: Negotiated) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        call.codec = Some(neg.codec.name.to_string());
        call.remote_rtp = Some(neg.remote_addr);
        call.media.negotiated = Some(neg);
        if call.state == CallState::Active || call.early_media {
            self.push_stream(id);
        }
        // A re-offer may have put the call on hold or taken it off.
        self.call_changed(id);
    }

    /// Sends the negotiated stream to the call's media task.
    pub(super) fn push_stream(&mut self, id: &str) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        let Some(neg) = call.media.negotiated.as_ref() else {
            return;
        };
        let Some(codec) = Codec::from_spec(&neg.codec) else {
            tracing::warn!(call = %id, codec = %neg.codec.name, "negotiated a codec the media engine lacks");
            return;
        };
        let params = callwire_media::session::StreamParams {
            remote_rtp: neg.remote_addr,
            remote_rtcp: neg.remote_rtcp.unwrap_or(default_rtcp(neg.remote_addr)),
            codec,
            payload_type: neg.payload_type,
            telephone_event_pt: neg.telephone_event_pt,
            ptime_ms: neg.ptime,
            direction: neg.direction,
        };
        self.media_command(id, MediaCommand::Stream(params));
    }

    /// Ends a call's media task (on call end).
    pub(super) fn stop_media(&mut self, id: &str) {
        self.outputs.push_back(Output::Media(MediaOp::Stop {
            call: id.to_owned(),
        }));
    }

    /// A report from a call's media task.
    pub(crate) fn on_media_event(&mut self, ev: CallMediaEvent, now: Instant) {
        self.media_event(ev, now);
        // A media timeout sends a BYE: hand it to the wire now.
        self.drain_tx(now);
    }

    fn media_event(&mut self, ev: CallMediaEvent, now: Instant) {
        let id = ev.call;
        let Some(call) = self.calls.get_mut(&id) else {
            // The call already left the live table: its final statistics (sent
            // when its media task ends) go into the ended call's view.
            if let MediaEvent::Stats(s) = &ev.event {
                if let Some(v) = self.ended.iter_mut().rev().find(|v| v.id == id) {
                    v.media = Some(MediaStatsView::from(s));
                }
            }
            return;
        };
        match ev.event {
            MediaEvent::Session(SessionEvent::Dtmf(d)) => {
                let method = match d.source {
                    DtmfMethod::Rfc4733 => "rfc4733",
                    DtmfMethod::Info => "info",
                    DtmfMethod::Inband => "inband",
                };
                let at = Self::now_utc()
                    - chrono::Duration::from_std(now.saturating_duration_since(d.start))
                        .unwrap_or_default();
                let view = DtmfView {
                    digit: d.digit.as_char(),
                    method,
                    duration_ms: u32::try_from(d.duration.as_millis()).unwrap_or(u32::MAX),
                    at,
                };
                self.dtmf_received(&id, view, now);
            }
            MediaEvent::Session(SessionEvent::PlaybackFinished { id: p, stopped }) => {
                if call.media.playback == Some(p) {
                    call.media.playback = None;
                }
                let detail = serde_json::json!({ "playback": p, "stopped": stopped });
                self.call_detail_event(&id, kind::CALL_PLAYBACK_FINISHED, detail);
            }
            MediaEvent::Session(SessionEvent::MediaTimeout { silence }) => {
                if call.state == CallState::Active {
                    tracing::info!(call = %id, silence_ms = silence.as_millis() as u64, "no RTP; ending the call");
                    let _ = self.send_bye(&id, Reason::MediaTimeout, now);
                }
            }
            MediaEvent::Session(SessionEvent::DtmfSent | SessionEvent::RemoteBye) => {}
            MediaEvent::Stats(s) => call.media.stats = Some(MediaStatsView::from(&s)),
            MediaEvent::Recording(r) => {
                let ended = r.state == "finished" || r.state == "failed";
                if ended && call.media.recording.as_deref() == Some(r.id.as_str()) {
                    call.media.recording = None;
                }
                // Progress reports (every second) are no event; state changes are.
                let previous = call
                    .media
                    .recording_states
                    .insert(r.id.clone(), r.state.clone());
                if previous.as_deref() != Some(r.state.as_str()) {
                    let kind = match (previous.is_none(), ended) {
                        (_, true) => kind::RECORDING_FINISHED,
                        (true, false) => kind::RECORDING_STARTED,
                        (false, false) => kind::RECORDING_STATE_CHANGED,
                    };
                    let detail = serde_json::to_value(&r).unwrap_or_default();
                    self.call_detail_event(&id, kind, detail);
                }
            }
        }
    }

    /// A DTMF digit from a SIP INFO.
    pub(super) fn on_info_dtmf(&mut self, id: &str, digit: char, duration_ms: u32, now: Instant) {
        let view = DtmfView {
            digit,
            method: "info",
            duration_ms,
            at: Self::now_utc(),
        };
        self.dtmf_received(id, view, now);
    }

    /// A digit arrived (any method): the call's list, `call.dtmf`, and the
    /// sequences bound to the account.
    fn dtmf_received(&mut self, id: &str, view: DtmfView, now: Instant) {
        let Some(call) = self.calls.get_mut(id) else {
            return;
        };
        tracing::debug!(call = %id, digit = %view.digit, method = view.method, "DTMF received");
        if call.media.dtmf.len() >= MAX_DTMF_KEPT {
            call.media.dtmf.remove(0);
        }
        call.media.dtmf.push(view.clone());
        let digit = view.digit;
        let detail = serde_json::to_value(view).unwrap_or_default();
        self.call_detail_event(id, kind::CALL_DTMF, detail);
        self.match_dtmf_sequence(id, digit, now);
    }

    /// The call `id` if it is active; 404 or 409 otherwise.
    pub(super) fn active_call(&self, id: &str) -> Result<&Call, EngineError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| self.not_found_or_ended(id))?;
        if call.state != CallState::Active {
            return Err(EngineError::Conflict(format!(
                "call {id} is {}, not active",
                call.state.as_str()
            )));
        }
        Ok(call)
    }

    /// The call `id` if its media runs: answered, or ringing with early
    /// media; 404 or 409 otherwise.
    pub(super) fn media_call(&self, id: &str) -> Result<&Call, EngineError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| self.not_found_or_ended(id))?;
        let early =
            call.early_media && matches!(call.state, CallState::Calling | CallState::Ringing);
        if call.state != CallState::Active && !early {
            return Err(EngineError::Conflict(format!(
                "call {id} is {} without early media, not active",
                call.state.as_str()
            )));
        }
        Ok(call)
    }

    /// `POST /v1/calls/{id}/play`.
    pub(crate) fn play(&mut self, id: &str, req: PlayRequest) -> Result<CallView, EngineError> {
        self.media_call(id)?;
        self.playback_seq += 1;
        let pid = self.playback_seq;
        if let Some(call) = self.calls.get_mut(id) {
            call.media.playback = Some(pid);
        }
        self.media_command(
            id,
            MediaCommand::Play {
                id: pid,
                source: req.source,
                looped: req.looped,
            },
        );
        self.get_call(id)
    }

    /// `POST /v1/calls/{id}/play/stop`.
    pub(crate) fn stop_play(&mut self, id: &str) -> Result<CallView, EngineError> {
        self.media_call(id)?;
        if let Some(call) = self.calls.get_mut(id) {
            call.media.playback = None;
        }
        self.media_command(id, MediaCommand::StopPlay);
        self.get_call(id)
    }

    /// `POST /v1/calls/{id}/dtmf`.
    pub(crate) fn send_dtmf(
        &mut self,
        id: &str,
        digits: &str,
        how: DtmfSend,
        now: Instant,
    ) -> Result<CallView, EngineError> {
        let call = self.media_call(id)?;
        callwire_media::dtmf::parse_send_sequence(digits)
            .map_err(|e| EngineError::InvalidArgument(format!("digits: {e}")))?;
        let mode = match how {
            DtmfSend::Mode(m) => m,
            DtmfSend::Account => self
                .accounts
                .get(&call.account)
                .map(|a| a.settings().dtmf_mode)
                .unwrap_or_default(),
        };
        let te = call
            .media
            .negotiated
            .as_ref()
            .and_then(|n| n.telephone_event_pt);
        match mode {
            DtmfMode::Info if call.state != CallState::Active => {
                return Err(EngineError::Conflict(format!(
                    "call {id} is not answered: DTMF by SIP INFO needs an answered call"
                )))
            }
            DtmfMode::Info => self.send_info_dtmf(id, digits, now)?,
            DtmfMode::Rfc4733 if te.is_none() && how == DtmfSend::Account => {
                // The account asks for RFC 4733 but the peer has no telephone-event.
                self.media_command(
                    id,
                    MediaCommand::SendDtmf {
                        digits: digits.to_owned(),
                        method: SendMethod::Inband,
                    },
                );
            }
            DtmfMode::Rfc4733 if te.is_none() => {
                return Err(EngineError::Conflict(
                    "the peer did not negotiate telephone-event (RFC 4733)".into(),
                ))
            }
            DtmfMode::Rfc4733 | DtmfMode::Inband => {
                let method = if mode == DtmfMode::Inband {
                    SendMethod::Inband
                } else {
                    SendMethod::Rfc4733
                };
                self.media_command(
                    id,
                    MediaCommand::SendDtmf {
                        digits: digits.to_owned(),
                        method,
                    },
                );
            }
        }
        self.get_call(id)
    }

    /// `POST /v1/calls/{id}/recording`; returns the recording id on start.
    pub(crate) fn control_recording(
        &mut self,
        id: &str,
        action: RecordingAction,
    ) -> Result<(CallView, Option<String>), EngineError> {
        let call = self.media_call(id)?;
        let account = call.account.clone();
        let running = call.media.recording.clone();
        let made = call.media.recordings.len();
        let new_id = match action {
            RecordingAction::Start { split } => {
                let mode = if split {
                    RecordMode::Split
                } else {
                    RecordMode::Mixed
                };
                if made >= MAX_RECORDINGS_PER_CALL {
                    return Err(EngineError::Conflict(format!(
                        "a call may make at most {MAX_RECORDINGS_PER_CALL} recordings"
                    )));
                }
                let rid = uuid::Uuid::new_v4().to_string();
                if let Some(call) = self.calls.get_mut(id) {
                    call.media.recordings.push(rid.clone());
                    call.media.recording = Some(rid.clone());
                }
                self.media_command(
                    id,
                    MediaCommand::RecordStart(RecordingStart {
                        id: rid.clone(),
                        account,
                        mode,
                    }),
                );
                Some(rid)
            }
            RecordingAction::Pause | RecordingAction::Resume | RecordingAction::Stop => {
                if running.is_none() {
                    return Err(EngineError::Conflict(format!(
                        "call {id} is not being recorded"
                    )));
                }
                let action = match action {
                    RecordingAction::Pause => RecordAction::Pause,
                    RecordingAction::Resume => RecordAction::Resume,
                    _ => RecordAction::Stop,
                };
                if action == RecordAction::Stop {
                    if let Some(call) = self.calls.get_mut(id) {
                        call.media.recording = None;
                    }
                }
                self.media_command(id, MediaCommand::Record(action));
                None
            }
        };
        Ok((self.get_call(id)?, new_id))
    }
}
