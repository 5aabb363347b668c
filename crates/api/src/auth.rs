//! Bearer-token authentication and scopes for `/v1` and `/metrics`: the admin
//! token from the configuration, or a named token (`/v1/tokens`) whose scope
//! must cover the route: `read` for GET, `calls` for changes under
//! `/v1/calls` and `/v1/recordings`, `admin` for every other change and for
//! `/v1/tokens` itself.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use callwire_engine::model::token::Scope;
use sha2::{Digest, Sha256};

use crate::{ApiError, AppState};

/// SHA-256 of a token; tokens are compared by their hashes so the comparison time
/// does not depend on how many leading characters match.
pub(crate) fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The scope a request needs.
fn required(method: &Method, route: &str) -> Scope {
    if route.starts_with("/v1/tokens") {
        Scope::Admin
    } else if method == Method::GET || method == Method::HEAD {
        Scope::Read
    } else if route.starts_with("/v1/calls") || route.starts_with("/v1/recordings") {
        Scope::Calls
    } else {
        Scope::Admin
    }
}

/// Rejects requests without a bearer token (401) or whose token's scope
/// does not cover the route (403).
pub(crate) async fn require_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            // Auth schemes are case-insensitive (RFC 9110 §11.1).
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .map(str::trim);
    let Some(token) = presented else {
        return Err(ApiError::Unauthorized(
            "missing bearer token (Authorization: Bearer <token>)".into(),
        ));
    };
    let scope = if hash_token(token) == *state.token_hash {
        Scope::Admin
    } else {
        state
            .engine
            .tokens()
            .scope_of(&callwire_engine::tokens::token_hash(token))
            .ok_or_else(|| ApiError::Unauthorized("invalid bearer token".into()))?
    };
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let need = required(req.method(), &route);
    if scope < need {
        return Err(ApiError::Forbidden(format!(
            "this token's scope is {}; {} {route} needs {}",
            scope.as_str(),
            req.method(),
            need.as_str()
        )));
    }
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_method_and_route() {
        assert_eq!(required(&Method::GET, "/v1/calls/{id}"), Scope::Read);
        assert_eq!(required(&Method::GET, "/metrics"), Scope::Read);
        assert_eq!(required(&Method::POST, "/v1/calls"), Scope::Calls);
        assert_eq!(required(&Method::POST, "/v1/calls/{id}/dtmf"), Scope::Calls);
        assert_eq!(
            required(&Method::DELETE, "/v1/recordings/{id}"),
            Scope::Calls
        );
        assert_eq!(required(&Method::PATCH, "/v1/accounts/{id}"), Scope::Admin);
        assert_eq!(required(&Method::POST, "/v1/webhooks"), Scope::Admin);
        assert_eq!(required(&Method::GET, "/v1/tokens"), Scope::Admin);
    }
}
