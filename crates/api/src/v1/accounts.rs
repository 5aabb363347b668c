//! `/v1/accounts`: create, list, read, patch and delete accounts.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use callwire_engine::{AccountSettings, AccountView, PasswordChange};
use serde_json::{Map, Value};

use crate::json::Json;
use crate::{ApiError, AppState};

pub(super) async fn list(
    State(state): State<AppState>,
) -> Result<axum::Json<Vec<AccountView>>, ApiError> {
    Ok(axum::Json(state.engine.list_accounts().await?))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<AccountView>, ApiError> {
    Ok(axum::Json(state.engine.get_account(&id).await?))
}

/// Takes `password` out of a JSON object: absent → Keep, null → Clear, string → Set.
fn take_password(obj: &mut Map<String, Value>) -> Result<PasswordChange, ApiError> {
    match obj.remove("password") {
        None => Ok(PasswordChange::Keep),
        Some(Value::Null) => Ok(PasswordChange::Clear),
        Some(Value::String(s)) if s.len() <= 256 => Ok(PasswordChange::Set(s)),
        Some(_) => Err(ApiError::BadRequest(
            "password must be a string of at most 256 characters".into(),
        )),
    }
}

fn settings_from(obj: Map<String, Value>) -> Result<AccountSettings, ApiError> {
    serde_json::from_value(Value::Object(obj)).map_err(|e| ApiError::BadRequest(e.to_string()))
}

pub(super) async fn create(
    State(state): State<AppState>,
    Json(body): Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let Value::Object(mut obj) = body else {
        return Err(ApiError::BadRequest("expected a JSON object".into()));
    };
    let id = match obj.remove("id") {
        Some(Value::String(id)) => id,
        _ => {
            return Err(ApiError::BadRequest(
                "id is required and must be a string".into(),
            ))
        }
    };
    let password = match take_password(&mut obj)? {
        PasswordChange::Set(p) => Some(p),
        _ => None,
    };
    let settings = settings_from(obj)?;
    let view = state.engine.create_account(&id, settings, password).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

pub(super) async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<axum::Json<AccountView>, ApiError> {
    let Value::Object(mut patch) = body else {
        return Err(ApiError::BadRequest("expected a JSON object".into()));
    };
    match patch.remove("id") {
        None => {}
        Some(Value::String(s)) if s == id => {}
        Some(_) => return Err(ApiError::BadRequest("id cannot be changed".into())),
    }
    let password = take_password(&mut patch)?;
    let current = state.engine.get_account(&id).await?;
    let Value::Object(mut merged) =
        serde_json::to_value(&current.settings).map_err(|_| ApiError::Internal)?
    else {
        return Err(ApiError::Internal);
    };
    for (k, v) in patch {
        match (k.as_str(), v, merged.get_mut(&k)) {
            // `policy` is patched field by field; null resets it.
            ("policy", Value::Object(fields), Some(Value::Object(current))) => {
                current.extend(fields);
            }
            ("policy", Value::Null, _) => {
                merged.remove("policy");
            }
            (_, v, _) => {
                merged.insert(k, v);
            }
        }
    }
    let settings = settings_from(merged)?;
    Ok(axum::Json(
        state.engine.update_account(&id, settings, password).await?,
    ))
}

pub(super) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_account(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
