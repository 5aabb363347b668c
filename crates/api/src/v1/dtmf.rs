//! `/v1/dtmf-configurations` and `/v1/dtmf-triggers`: named DTMF sequences and
//! the accounts they apply to (a match emits `call.dtmf_sequence`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use callwire_engine::model::dtmf::{DtmfConfiguration, DtmfConfigurationInput, DtmfTrigger};
use serde::Deserialize;

use crate::json::Json;
use crate::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewConfiguration {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    sequences: Vec<callwire_engine::model::dtmf::DtmfSequence>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewTrigger {
    #[serde(default)]
    id: Option<String>,
    configuration: String,
    account: String,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(super) async fn list_configurations(
    State(state): State<AppState>,
) -> Result<axum::Json<Vec<DtmfConfiguration>>, ApiError> {
    Ok(axum::Json(state.engine.dtmf_configurations().await?))
}

pub(super) async fn create_configuration(
    State(state): State<AppState>,
    Json(body): Json<NewConfiguration>,
) -> Result<impl IntoResponse, ApiError> {
    let id = body.id.unwrap_or_else(new_id);
    let input = DtmfConfigurationInput {
        name: body.name,
        sequences: body.sequences,
    };
    let c = state
        .engine
        .put_dtmf_configuration(&id, input, true)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(c)))
}

pub(super) async fn get_configuration(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<DtmfConfiguration>, ApiError> {
    Ok(axum::Json(state.engine.dtmf_configuration(&id).await?))
}

pub(super) async fn put_configuration(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<DtmfConfigurationInput>,
) -> Result<axum::Json<DtmfConfiguration>, ApiError> {
    Ok(axum::Json(
        state
            .engine
            .put_dtmf_configuration(&id, body, false)
            .await?,
    ))
}

pub(super) async fn delete_configuration(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_dtmf_configuration(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn list_triggers(
    State(state): State<AppState>,
) -> Result<axum::Json<Vec<DtmfTrigger>>, ApiError> {
    Ok(axum::Json(state.engine.dtmf_triggers().await?))
}

pub(super) async fn create_trigger(
    State(state): State<AppState>,
    Json(body): Json<NewTrigger>,
) -> Result<impl IntoResponse, ApiError> {
    let id = body.id.unwrap_or_else(new_id);
    let t = state
        .engine
        .create_dtmf_trigger(&id, &body.configuration, &body.account)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(t)))
}

pub(super) async fn get_trigger(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<DtmfTrigger>, ApiError> {
    Ok(axum::Json(state.engine.dtmf_trigger(&id).await?))
}

pub(super) async fn delete_trigger(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_dtmf_trigger(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
