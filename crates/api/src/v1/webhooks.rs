//! `/v1/webhooks`: subscriptions that receive the event stream by signed
//! HTTP POST, their delivery state, and their parked deliveries.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use callwire_engine::model::webhook::{DeliveryView, WebhookInput, WebhookView};
use serde::Deserialize;
use serde_json::Value;

use crate::json::Json;
use crate::{ApiError, AppState};

pub(super) async fn list(
    State(state): State<AppState>,
) -> Result<axum::Json<Vec<WebhookView>>, ApiError> {
    Ok(axum::Json(state.engine.webhooks().list().await))
}

pub(super) async fn create(
    State(state): State<AppState>,
    Json(body): Json<WebhookInput>,
) -> Result<impl IntoResponse, ApiError> {
    let created = state.engine.webhooks().create(body).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<WebhookView>, ApiError> {
    Ok(axum::Json(state.engine.webhooks().get(&id).await?))
}

/// Top-level fields of the body replace the current ones; `secret` sets a
/// new secret.
pub(super) async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<axum::Json<WebhookView>, ApiError> {
    let Value::Object(patch) = body else {
        return Err(ApiError::BadRequest("expected a JSON object".into()));
    };
    let hooks = state.engine.webhooks();
    let current = hooks.input(&id).await?;
    let Value::Object(mut merged) =
        serde_json::to_value(&current).map_err(|_| ApiError::Internal)?
    else {
        return Err(ApiError::Internal);
    };
    for (k, v) in patch {
        merged.insert(k, v);
    }
    let input: WebhookInput = serde_json::from_value(Value::Object(merged))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(axum::Json(hooks.update(&id, input).await?))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.webhooks().delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliveriesQuery {
    /// Only deliveries of events before this seq (the next page).
    before: Option<u64>,
    /// Page size, 1-1000 (default 100).
    limit: Option<u32>,
}

pub(super) async fn deliveries(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<DeliveriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<Vec<DeliveryView>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be 1-1000".into()));
    }
    Ok(axum::Json(
        state
            .engine
            .webhooks()
            .deliveries(&id, q.before, limit)
            .await?,
    ))
}

pub(super) async fn redeliver(
    State(state): State<AppState>,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<axum::Json<DeliveryView>, ApiError> {
    Ok(axum::Json(
        state.engine.webhooks().redeliver(&id, &delivery).await?,
    ))
}
