//! callwire's HTTP edge: one axum router holding every face. Today that is the
//! native `/v1` API; the vendor faces (`vapix`, `decoder`, `cloudua`, `netaxis`,
//! `ucm`) join it as sibling modules, each a translation onto the same
//! [`callwire_engine::Engine`] plus its own auth and error format.
#![warn(missing_docs)]

mod auth;
mod error;
mod json;
mod metrics;
pub mod v1;

use std::sync::Arc;

use axum::Router;
use callwire_engine::Engine;

pub use error::ApiError;

/// Largest request body accepted, in bytes (larger bodies get 413).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Engine,
    /// SHA-256 of the admin bearer token (the token itself is not kept).
    token_hash: Arc<[u8; 32]>,
    /// API request latencies for `/metrics`.
    latency: Arc<metrics::ApiLatency>,
}

impl AppState {
    /// State for an engine and its admin token.
    pub fn new(engine: Engine, token: &str) -> AppState {
        AppState {
            engine,
            token_hash: Arc::new(auth::hash_token(token)),
            latency: Arc::new(metrics::ApiLatency::default()),
        }
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let metrics_route = Router::new()
        .route("/metrics", axum::routing::get(metrics::render))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .merge(v1::router(state.clone()))
        .merge(metrics_route)
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::measure,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
