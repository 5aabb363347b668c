//! `/v1/tokens`: named API tokens with scopes (admin only). The token is
//! shown once, in the answer to its creation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use callwire_engine::model::token::{TokenInput, TokenView};

use crate::json::Json;
use crate::{ApiError, AppState};

pub(super) async fn list(State(state): State<AppState>) -> axum::Json<Vec<TokenView>> {
    axum::Json(state.engine.tokens().list())
}

pub(super) async fn create(
    State(state): State<AppState>,
    Json(body): Json<TokenInput>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.engine.tokens().create(body).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<TokenView>, ApiError> {
    Ok(axum::Json(state.engine.tokens().get(&id)?))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.tokens().delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
