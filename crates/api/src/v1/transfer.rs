//! `POST /v1/calls/{id}/transfer`: blind (`{"to": …}`) or attended
//! (`{"replaces": other_call_id}`) transfer of an active call. Answers 202
//! with the call at once; the outcome comes as `call.transfer` events.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use callwire_engine::TransferRequest;
use serde::Deserialize;

use crate::json::Json;
use crate::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TransferBody {
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    replaces: Option<String>,
}

pub(super) async fn transfer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<TransferBody>,
) -> Result<impl IntoResponse, ApiError> {
    let request = TransferRequest::from_fields(body.to, body.replaces)?;
    let call = state.engine.transfer(&id, request).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(call)))
}
