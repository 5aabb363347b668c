//! callwire's HTTP edge: one axum router holding every face. Today that is the
//! native `/v1` API; the vendor faces (`vapix`, `decoder`, `cloudua`, `netaxis`,
//! `ucm`) join it as sibling modules, each a translation onto the same
//! [`callwire_engine::Engine`] plus its own auth and error format.
#![warn(missing_docs)]

mod auth;
mod error;
mod json;
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
}

impl AppState {
    /// State for an engine and its admin token.
    pub fn new(engine: Engine, token: &str) -> AppState {
        AppState {
            engine,
            token_hash: Arc::new(auth::hash_token(token)),
        }
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(v1::router(state.clone()))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
