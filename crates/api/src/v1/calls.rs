//! `/v1/calls`: place, list, read, progress (early media), answer, reject and
//! hang up calls.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use callwire_engine::{CallView, PlaceCall};
use serde::Deserialize;

use crate::json::{Json, OptionalJson};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewCall {
    #[serde(default = "default_account")]
    account: String,
    to: String,
    #[serde(default)]
    ring_timeout_secs: Option<u32>,
    #[serde(default)]
    caller_name: Option<String>,
    #[serde(default)]
    caller_user: Option<String>,
    /// Extra INVITE headers, `X-` names only.
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    max_duration_secs: Option<u32>,
    /// Queue the INVITE until the account is registered, this long at most.
    #[serde(default)]
    wait_for_registration_secs: Option<u32>,
    /// Start media on a 18x with SDP (default true).
    #[serde(default = "yes")]
    early_media: bool,
}

fn default_account() -> String {
    "default".into()
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListQuery {
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RejectBody {
    #[serde(default)]
    code: Option<u16>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<Vec<CallView>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 1000".into(),
        ));
    }
    Ok(axum::Json(state.engine.list_calls(limit).await?))
}

pub(super) async fn create(
    State(state): State<AppState>,
    Json(body): Json<NewCall>,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(t) = body.ring_timeout_secs {
        if !(1..=3600).contains(&t) {
            return Err(ApiError::BadRequest(
                "ring_timeout_secs must be between 1 and 3600".into(),
            ));
        }
    }
    let call = PlaceCall {
        account: body.account,
        to: body.to,
        ring_timeout_secs: body.ring_timeout_secs,
        caller_name: body.caller_name,
        caller_user: body.caller_user,
        headers: body.headers.into_iter().collect(),
        max_duration_secs: body.max_duration_secs,
        wait_for_registration_secs: body.wait_for_registration_secs,
        refuse_early_media: !body.early_media,
    };
    let view = state.engine.place_call(call).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<CallView>, ApiError> {
    Ok(axum::Json(state.engine.get_call(&id).await?))
}

pub(super) async fn answer(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<CallView>, ApiError> {
    Ok(axum::Json(state.engine.answer(&id).await?))
}

pub(super) async fn progress(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<CallView>, ApiError> {
    Ok(axum::Json(state.engine.progress(&id).await?))
}

pub(super) async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalJson(body): OptionalJson<RejectBody>,
) -> Result<axum::Json<CallView>, ApiError> {
    Ok(axum::Json(
        state.engine.reject(&id, body.code.unwrap_or(486)).await?,
    ))
}

pub(super) async fn hangup(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<CallView>, ApiError> {
    Ok(axum::Json(state.engine.hangup(&id).await?))
}
