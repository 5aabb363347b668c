//! The engine handle's media controls: play a WAV file or a tone, send DTMF,
//! record, and the recordings kept in the store and the recordings directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use callwire_media::audio::{TonePreset, ToneSpec};
use callwire_media::session::{PlaySource, RecordMode};
use callwire_store::RecordingRecord;

use crate::core::calls::{DtmfSend, PlayRequest, RecordingControl};
use crate::core::Command;
use crate::model::account::DtmfMode;
use crate::{CallView, Engine, EngineError};

/// Largest WAV file `play` reads, in bytes.
const MAX_PLAY_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// What to play into a call.
#[derive(Debug, Clone)]
pub enum PlayWhat {
    /// A WAV file in the prompts directory, by name.
    File(String),
    /// A tone: a preset name (`ringback`, `busy`, …) or a tone list
    /// (`"440+480/2000,0/4000"`).
    Tone(String),
}

/// A recording's metadata, as the API shows it.
pub type RecordingView = RecordingRecord;

/// The recording controls of `POST /v1/calls/{id}/recording`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingAction {
    /// Start (mixed mono or one channel per direction).
    Start {
        /// True for two channels.
        split: bool,
    },
    /// Pause.
    Pause,
    /// Resume.
    Resume,
    /// Stop.
    Stop,
}

impl Engine {
    /// Plays a file or tone into an active call.
    pub async fn play(
        &self,
        id: &str,
        what: PlayWhat,
        looped: bool,
    ) -> Result<CallView, EngineError> {
        let source = match what {
            PlayWhat::Tone(spec) => PlaySource::Tone(match TonePreset::from_name(&spec) {
                Ok(preset) => preset.spec(),
                Err(_) => ToneSpec::parse(&spec)
                    .map_err(|e| EngineError::InvalidArgument(format!("tone: {e}")))?,
            }),
            PlayWhat::File(name) => self.load_prompt(&name).await?,
        };
        let id = id.to_owned();
        let request = PlayRequest { source, looped };
        self.ask(|reply| Command::Play { id, request, reply }).await
    }

    /// Stops what plays into a call.
    pub async fn stop_play(&self, id: &str) -> Result<CallView, EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::StopPlay { id, reply }).await
    }

    /// Sends DTMF digits; `mode` `None` uses the account's `dtmf_mode`.
    pub async fn send_dtmf(
        &self,
        id: &str,
        digits: &str,
        mode: Option<DtmfMode>,
    ) -> Result<CallView, EngineError> {
        if digits.is_empty() || digits.len() > 64 {
            return Err(EngineError::InvalidArgument(
                "digits must be 1-64 characters of 0-9 * # A-D ,".into(),
            ));
        }
        let id = id.to_owned();
        let digits = digits.to_owned();
        let how = mode.map_or(DtmfSend::Account, DtmfSend::Mode);
        self.ask(|reply| Command::SendDtmf {
            id,
            digits,
            how,
            reply,
        })
        .await
    }

    /// Starts, pauses, resumes or stops recording a call; a start returns the
    /// new recording's id.
    pub async fn record(
        &self,
        id: &str,
        action: RecordingAction,
    ) -> Result<(CallView, Option<String>), EngineError> {
        let control = match action {
            RecordingAction::Start { split } => RecordingControl::Start(if split {
                RecordMode::Split
            } else {
                RecordMode::Mixed
            }),
            RecordingAction::Pause => RecordingControl::Pause,
            RecordingAction::Resume => RecordingControl::Resume,
            RecordingAction::Stop => RecordingControl::Stop,
        };
        let id = id.to_owned();
        self.ask(|reply| Command::Recording { id, control, reply })
            .await
    }

    /// Puts an active call on hold (`true`: re-INVITE with `sendonly`) or
    /// resumes it (`false`: `sendrecv`).
    pub async fn hold(&self, id: &str, hold: bool) -> Result<CallView, EngineError> {
        let id = id.to_owned();
        self.ask(|reply| Command::Hold { id, hold, reply }).await
    }

    /// Recordings, newest first, optionally of one call.
    pub async fn list_recordings(
        &self,
        limit: u32,
        call: Option<&str>,
        before: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<RecordingView>, EngineError> {
        Ok(self
            .inner
            .store
            .list_recordings(limit, call, before)
            .await?)
    }

    /// One recording's metadata.
    pub async fn get_recording(&self, id: &str) -> Result<RecordingView, EngineError> {
        self.inner
            .store
            .get_recording(id)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                what: "recording",
                id: id.to_owned(),
            })
    }

    /// The path of a recording's WAV file.
    pub async fn recording_file(&self, id: &str) -> Result<PathBuf, EngineError> {
        let rec = self.get_recording(id).await?;
        Ok(self.inner.recordings_dir.join(safe_name(&rec.file)?))
    }

    /// Deletes a finished recording and its file.
    pub async fn delete_recording(&self, id: &str) -> Result<(), EngineError> {
        let rec = self.get_recording(id).await?;
        if rec.state == "recording" || rec.state == "paused" {
            return Err(EngineError::Conflict(format!(
                "recording {id} is still running; stop it first"
            )));
        }
        let path = self.inner.recordings_dir.join(safe_name(&rec.file)?);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(EngineError::Io {
                    context: format!("cannot delete {}", path.display()),
                    source,
                })
            }
        }
        Ok(self.inner.store.delete_recording(id).await?)
    }

    /// Reads a prompt WAV (bounded in size and length) off the async threads.
    async fn load_prompt(&self, name: &str) -> Result<PlaySource, EngineError> {
        let path = self.inner.prompts_dir.join(safe_name(name)?);
        let max_secs = self.inner.max_play_secs;
        let shown = name.to_owned();
        let loaded = tokio::task::spawn_blocking(move || read_prompt(&path, max_secs))
            .await
            .map_err(|_| EngineError::Unavailable("prompt reader failed".into()))?;
        match loaded {
            Ok((samples, rate)) => Ok(PlaySource::Pcm {
                samples: Arc::from(samples),
                rate,
            }),
            Err(PromptError::NotFound) => Err(EngineError::NotFound {
                what: "prompt",
                id: shown,
            }),
            Err(PromptError::Invalid(why)) => Err(EngineError::InvalidArgument(format!(
                "prompt {shown}: {why}"
            ))),
        }
    }
}

enum PromptError {
    NotFound,
    Invalid(String),
}

fn read_prompt(path: &Path, max_secs: u32) -> Result<(Vec<i16>, u32), PromptError> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => PromptError::NotFound,
        _ => PromptError::Invalid(e.to_string()),
    })?;
    let len = file
        .metadata()
        .map_err(|e| PromptError::Invalid(e.to_string()))?
        .len();
    if len > MAX_PLAY_FILE_BYTES {
        return Err(PromptError::Invalid(format!(
            "larger than {MAX_PLAY_FILE_BYTES} bytes"
        )));
    }
    let wav = callwire_media::audio::read_wav(
        std::io::BufReader::new(file),
        std::time::Duration::from_secs(max_secs.into()),
    )
    .map_err(|e| PromptError::Invalid(e.to_string()))?;
    Ok((wav.samples, wav.rate))
}

/// A file name inside a directory we own: no separators, no `..`, not hidden.
fn safe_name(name: &str) -> Result<&str, EngineError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0']);
    if ok {
        Ok(name)
    } else {
        Err(EngineError::InvalidArgument(format!(
            "{name:?} is not a plain file name"
        )))
    }
}
