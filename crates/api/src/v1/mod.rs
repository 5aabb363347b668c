//! The native REST API, `/v1`: accounts, calls, health. The shapes are documented
//! in `docs/api.md`.

mod accounts;
mod calls;

use axum::routing::{get, post};
use axum::{middleware, Json, Router};

use crate::{ApiError, AppState};

/// The `/v1` routes; all but `/v1/health` need the bearer token.
pub fn router(state: AppState) -> Router<AppState> {
    let not_allowed = || async { ApiError::MethodNotAllowed };
    let protected = Router::new()
        .route("/v1/accounts", get(accounts::list).post(accounts::create))
        .route(
            "/v1/accounts/{id}",
            get(accounts::get)
                .patch(accounts::patch)
                .delete(accounts::delete),
        )
        .route("/v1/calls", get(calls::list).post(calls::create))
        .route("/v1/calls/{id}", get(calls::get))
        .route("/v1/calls/{id}/answer", post(calls::answer))
        .route("/v1/calls/{id}/reject", post(calls::reject))
        .route("/v1/calls/{id}/hangup", post(calls::hangup))
        .method_not_allowed_fallback(not_allowed)
        .route_layer(middleware::from_fn_with_state(
            state,
            crate::auth::require_token,
        ));
    Router::new()
        .route("/v1/health", get(health))
        .method_not_allowed_fallback(not_allowed)
        .merge(protected)
}

async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<Json<callwire_engine::Health>, ApiError> {
    Ok(Json(state.engine.health().await?))
}
