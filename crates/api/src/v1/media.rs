//! `/v1/calls/{id}/…` media controls: play and stop, DTMF, recording, hold and resume.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use callwire_engine::{CallView, DtmfMode, PlayWhat, RecordingAction};
use serde::Deserialize;

use crate::json::Json;
use crate::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlayBody {
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    tone: Option<String>,
    #[serde(default, rename = "loop")]
    looped: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DtmfBody {
    digits: String,
    #[serde(default)]
    method: Option<DtmfMode>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RecordVerb {
    Start,
    Stop,
    Pause,
    Resume,
}

#[derive(Deserialize, Clone, Copy, Default)]
#[serde(rename_all = "lowercase")]
enum RecordChannels {
    #[default]
    Mixed,
    Split,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecordBody {
    action: RecordVerb,
    #[serde(default)]
    mode: Option<RecordChannels>,
}

pub(super) async fn play(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<PlayBody>,
) -> Result<axum::Json<CallView>, ApiError> {
    let what = match (body.file, body.tone) {
        (Some(f), None) => PlayWhat::File(f),
        (None, Some(t)) => PlayWhat::Tone(t),
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of \"file\" and \"tone\"".into(),
            ))
        }
    };
    Ok(axum::Json(state.engine.play(&id, what, body.looped).await?))
}

pub(super) async fn stop_play(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<CallView>, ApiError> {
    Ok(axum::Json(state.engine.stop_play(&id).await?))
}

pub(super) async fn dtmf(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<DtmfBody>,
) -> Result<axum::Json<CallView>, ApiError> {
    Ok(axum::Json(
        state
            .engine
            .send_dtmf(&id, &body.digits, body.method)
            .await?,
    ))
}

pub(super) async fn recording(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<RecordBody>,
) -> Result<impl IntoResponse, ApiError> {
    if body.mode.is_some() && !matches!(body.action, RecordVerb::Start) {
        return Err(ApiError::BadRequest(
            "\"mode\" goes with \"action\": \"start\" only".into(),
        ));
    }
    let action = match body.action {
        RecordVerb::Start => RecordingAction::Start {
            split: matches!(body.mode.unwrap_or_default(), RecordChannels::Split),
        },
        RecordVerb::Stop => RecordingAction::Stop,
        RecordVerb::Pause => RecordingAction::Pause,
        RecordVerb::Resume => RecordingAction::Resume,
    };
    let (call, recording) = state.engine.record(&id, action).await?;
    let status = if recording.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(serde_json::json!({ "recording": recording, "call": call })),
    ))
}

pub(super) async fn hold(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<CallView>, ApiError> {
    Ok(axum::Json(state.engine.hold(&id, true).await?))
}

pub(super) async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<CallView>, ApiError> {
    Ok(axum::Json(state.engine.hold(&id, false).await?))
}
