//! `/v1/call-records`: ended and ongoing calls from the store, filtered, newest
//! first, with cursor pagination.

use axum::extract::{Query, State};
use callwire_engine::CallView;
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecordsQuery {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    direction: Option<callwire_engine::Direction>,
    #[serde(default)]
    state: Option<callwire_engine::CallState>,
    #[serde(default)]
    reason: Option<callwire_engine::Reason>,
    #[serde(default)]
    from: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    until: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Page {
    records: Vec<CallView>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    query: Result<Query<RecordsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::Json<Page>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 1000".into(),
        ));
    }
    let filter = callwire_store::CallRecordQuery {
        account: q.account,
        direction: q.direction.map(|d| d.as_str().to_owned()),
        state: q.state.map(|s| s.as_str().to_owned()),
        reason: q.reason.map(|r| r.as_str().to_owned()),
        from: q.from,
        until: q.until,
        after: None,
    };
    let (records, next_cursor) = state
        .engine
        .call_records(filter, limit, q.cursor.as_deref())
        .await?;
    Ok(axum::Json(Page {
        records,
        next_cursor,
    }))
}
