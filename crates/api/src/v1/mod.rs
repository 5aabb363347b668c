//! The native REST API, `/v1`: accounts, calls, their media and transfers, recordings, health. The shapes are documented
//! in `docs/api.md`.

mod accounts;
mod call_records;
mod calls;
mod dtmf;
mod events;
mod media;
mod recordings;
mod tokens;
mod transfer;
mod webhooks;

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
        .route("/v1/calls/{id}/progress", post(calls::progress))
        .route("/v1/calls/{id}/reject", post(calls::reject))
        .route("/v1/calls/{id}/hangup", post(calls::hangup))
        .route("/v1/calls/{id}/transfer", post(transfer::transfer))
        .route("/v1/calls/{id}/play", post(media::play))
        .route("/v1/calls/{id}/play/stop", post(media::stop_play))
        .route("/v1/calls/{id}/dtmf", post(media::dtmf))
        .route("/v1/calls/{id}/recording", post(media::recording))
        .route("/v1/calls/{id}/hold", post(media::hold))
        .route("/v1/calls/{id}/resume", post(media::resume))
        .route("/v1/call-records", get(call_records::list))
        .route(
            "/v1/dtmf-configurations",
            get(dtmf::list_configurations).post(dtmf::create_configuration),
        )
        .route(
            "/v1/dtmf-configurations/{id}",
            get(dtmf::get_configuration)
                .put(dtmf::put_configuration)
                .delete(dtmf::delete_configuration),
        )
        .route(
            "/v1/dtmf-triggers",
            get(dtmf::list_triggers).post(dtmf::create_trigger),
        )
        .route(
            "/v1/dtmf-triggers/{id}",
            get(dtmf::get_trigger).delete(dtmf::delete_trigger),
        )
        .route("/v1/events", get(events::sse))
        .route("/v1/events/ws", get(events::websocket))
        .route("/v1/state", get(events::snapshot))
        .route("/v1/recordings", get(recordings::list))
        .route(
            "/v1/recordings/{id}",
            get(recordings::get).delete(recordings::delete),
        )
        .route("/v1/recordings/{id}/audio", get(recordings::audio))
        .route("/v1/tokens", get(tokens::list).post(tokens::create))
        .route("/v1/tokens/{id}", get(tokens::get).delete(tokens::delete))
        .route("/v1/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/v1/webhooks/{id}",
            get(webhooks::get)
                .patch(webhooks::patch)
                .delete(webhooks::delete),
        )
        .route("/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route(
            "/v1/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(webhooks::redeliver),
        )
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
