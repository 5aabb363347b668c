//! The engine handle's media controls: play a WAV file or a tone, send DTMF,
//! record, and the recordings kept in the store and the recordings directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use callwire_media::audio::{TonePreset, ToneSpec};
use callwire_media::session::PlaySource;
use callwire_store::RecordingRecord;

use crate::core::calls::{DtmfSend, PlayRequest};
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
        let id = id.to_owned();
        self.ask(|reply| Command::Recording { id, action, reply })
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

/// After a restart: recordings the previous process left `recording` or
/// `paused` (it crashed or was killed) are closed. Their WAV files are valid up
/// to the last flush (the header is rewritten every second); the duration is
/// read from that header. A missing file marks the recording `failed`.
pub(crate) async fn close_interrupted_recordings(
    store: &callwire_store::Store,
    dir: &Path,
) -> Result<usize, EngineError> {
    let unfinished = store.unfinished_recordings().await?;
    let n = unfinished.len();
    for mut r in unfinished {
        let path = dir.join(safe_name(&r.file).unwrap_or("-"));
        let header = tokio::task::spawn_blocking(move || wav_data_bytes(&path))
            .await
            .ok()
            .flatten();
        match header {
            Some((data_bytes, file_bytes, modified)) => {
                let frame_bytes = 2 * u64::from(r.channels.max(1));
                let frames = data_bytes / frame_bytes;
                r.duration_ms = frames * 1000 / u64::from(r.sample_rate.max(1));
                r.bytes = file_bytes;
                r.state = "finished".into();
                r.ended_at = Some(modified);
            }
            None => {
                r.state = "failed".into();
                r.ended_at = Some(chrono::Utc::now());
            }
        }
        tracing::info!(recording = %r.id, state = %r.state, duration_ms = r.duration_ms, "closed a recording interrupted by a restart");
        store.upsert_recording(&r).await?;
    }
    Ok(n)
}

/// The data chunk size a canonical 44-byte WAV header declares, the file's
/// size and modification time.
fn wav_data_bytes(path: &Path) -> Option<(u64, u64, chrono::DateTime<chrono::Utc>)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let meta = f.metadata().ok()?;
    let mut head = [0u8; 44];
    f.read_exact(&mut head).ok()?;
    if head.get(0..4)? != b"RIFF" || head.get(8..12)? != b"WAVE" || head.get(36..40)? != b"data" {
        return None;
    }
    let size = u32::from_le_bytes(head.get(40..44)?.try_into().ok()?);
    let modified = meta
        .modified()
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from)?;
    Some((
        u64::from(size).min(meta.len().saturating_sub(44)),
        meta.len(),
        modified,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use callwire_media::audio::{RecordLayout, WavRecorder};
    use std::io::Write;

    fn record(id: &str, state: &str) -> RecordingRecord {
        RecordingRecord {
            id: id.into(),
            call_id: "c".into(),
            account: "default".into(),
            state: state.into(),
            mode: "mixed".into(),
            file: format!("{id}.wav"),
            sample_rate: 8000,
            channels: 1,
            duration_ms: 0,
            bytes: 0,
            started_at: chrono::Utc::now(),
            ended_at: None,
        }
    }

    #[tokio::test]
    async fn interrupted_recordings_are_closed_from_their_flushed_header() {
        let dir = tempfile::tempdir().unwrap();
        let store = callwire_store::Store::open_memory().await.unwrap();
        // A recording the "crashed" process flushed after 1.5 s of audio, then
        // wrote more samples it never flushed into the header.
        let path = dir.path().join("crashed.wav");
        let mut w = WavRecorder::new(
            std::fs::File::create(&path).unwrap(),
            8000,
            RecordLayout::Mono,
        )
        .unwrap();
        w.write_mono(&vec![1000i16; 12_000]).unwrap();
        w.flush().unwrap();
        std::mem::forget(w);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&[0u8; 3200]).unwrap();
        drop(f);
        store
            .upsert_recording(&record("crashed", "recording"))
            .await
            .unwrap();
        store
            .upsert_recording(&record("gone", "paused"))
            .await
            .unwrap();
        let mut done = record("done", "finished");
        done.duration_ms = 42;
        store.upsert_recording(&done).await.unwrap();

        let n = close_interrupted_recordings(&store, dir.path())
            .await
            .unwrap();
        assert_eq!(n, 2);
        let crashed = store.get_recording("crashed").await.unwrap().unwrap();
        assert_eq!(crashed.state, "finished");
        assert_eq!(
            crashed.duration_ms, 1500,
            "from the flushed header, not the file size"
        );
        assert!(crashed.ended_at.is_some());
        let gone = store.get_recording("gone").await.unwrap().unwrap();
        assert_eq!(gone.state, "failed");
        let done = store.get_recording("done").await.unwrap().unwrap();
        assert_eq!(done.duration_ms, 42, "finished recordings are left alone");
        // The file still reads as a valid WAV of the flushed length.
        let wav = callwire_media::audio::read_wav(
            std::fs::File::open(&path).unwrap(),
            std::time::Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(wav.samples.len(), 12_000);
    }

    #[test]
    fn only_plain_names_are_files() {
        for bad in ["", ".", "..", "../x.wav", "a/b", "a\\b", ".hidden", "x\0y"] {
            assert!(safe_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(safe_name("hello-1.wav").unwrap(), "hello-1.wav");
    }
}
