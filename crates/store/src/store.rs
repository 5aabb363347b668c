//! The [`Store`]: every SQL statement of the project, on either backend (see
//! [`crate::backend`]). Queries are bound at run time (no `query!` macros, as
//! there is no database at build time) and use only SQL both SQLite and
//! PostgreSQL accept: `$N` placeholders, `ON CONFLICT` upserts, `LIMIT $N`,
//! text, BIGINT and BOOLEAN columns.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::backend::{self, on_pool, Backend, Columns, Pool, Target};
use crate::{
    time, AccountRecord, ApiTokenRecord, CallRecord, CallRecordQuery, DtmfConfigurationRecord,
    DtmfTriggerRecord, EventRecord, RecordingRecord, StoreError, WebhookDeliveryRecord,
    WebhookRecord,
};

/// Name of the SQLite database file inside the data directory.
pub const DB_FILE_NAME: &str = "callwire.db";

/// Largest page [`Store::list_call_records`] returns; larger limits are capped.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// Rows per multi-row INSERT: 15 columns × 60 = 900 bound values, far below
/// SQLite's variable limit (32766) and PostgreSQL's (65535).
const ROWS_PER_STATEMENT: usize = 60;

const ACCOUNT_COLUMNS: &str = "id, display_name, sip_user, domain, registrar, \
    secondary_registrar, outbound_proxy, auth_user, password, transport, expires, \
    auto_answer, enabled, max_calls, created_at, updated_at, codecs, dtmf_mode, policy";

const CALL_COLUMNS: &str = "id, account, direction, from_uri, to_uri, state, reason, \
    sip_status, sip_reason, call_id, created_at, answered_at, ended_at, codec, media_stats";

const EVENT_COLUMNS: &str = "seq, id, type, at, account, call_id, data";

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_seq, event_id, event_type, payload, \
    state, attempts, last_status, last_error, created_at, updated_at";

const RECORDING_COLUMNS: &str = "id, call_id, account, state, mode, file, sample_rate, \
    channels, duration_ms, bytes, started_at, ended_at";

/// Handle to the database. Cheap to clone: clones share one pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Opens (creating if missing) the SQLite database `<data_dir>/callwire.db`
    /// and applies the embedded migrations. Creates `data_dir` if it does not
    /// exist.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        backend::create_dir(data_dir).await?;
        let pool = backend::open_sqlite_file(&data_dir.join(DB_FILE_NAME)).await?;
        Ok(Store { pool })
    }

    /// Opens the database `url` names and applies the embedded migrations:
    ///
    /// - `sqlite:PATH` or `sqlite://PATH`: a SQLite file (created, with its
    ///   directory, if missing; `sqlite:///abs/path` for an absolute path).
    ///   The path is taken literally; no query parameters.
    /// - `sqlite::memory:`: as [`open_memory`](Store::open_memory).
    /// - `postgres://user:password@host:port/database` (or `postgresql://`,
    ///   with libpq's parameters such as `sslmode` or `host=/socket/dir`): an
    ///   existing PostgreSQL database the user may create tables in.
    ///
    /// Anything else is [`StoreError::InvalidUrl`]. Errors and logs never
    /// repeat the URL, which may hold a password.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let pool = match backend::parse_url(url)? {
            Target::SqliteFile(path) => backend::open_sqlite_file(&path).await?,
            Target::SqliteMemory => backend::open_sqlite_memory().await?,
            Target::Postgres => backend::open_postgres(url).await?,
        };
        Ok(Store { pool })
    }

    /// Opens a fresh, empty in-memory SQLite database with the schema applied.
    /// Data is lost on [`close`](Store::close) or drop; meant for tests.
    pub async fn open_memory() -> Result<Store, StoreError> {
        let pool = backend::open_sqlite_memory().await?;
        Ok(Store { pool })
    }

    /// The database this store runs on.
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Waits for running queries, then closes every connection (for SQLite
    /// this also checkpoints the WAL). Later calls on this store or its
    /// clones fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ----- accounts -----

    /// All accounts, ordered by id.
    pub async fn list_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id");
        on_pool!(self, |pool| {
            let rows = sqlx::query(&sql).fetch_all(pool).await?;
            rows.iter().map(account_from_row).collect()
        })
    }

    /// The account `id`, or `None`.
    pub async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
        on_pool!(self, |pool| {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(account_from_row).transpose()
        })
    }

    /// Inserts a new account. [`StoreError::Conflict`] if the id is taken.
    pub async fn insert_account(&self, account: &AccountRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        );
        let result = on_pool!(self, |pool| sqlx::query(&sql)
            .bind(&account.id)
            .bind(&account.display_name)
            .bind(&account.user)
            .bind(&account.domain)
            .bind(&account.registrar)
            .bind(&account.secondary_registrar)
            .bind(&account.outbound_proxy)
            .bind(&account.auth_user)
            .bind(&account.password)
            .bind(&account.transport)
            .bind(i64::from(account.expires))
            .bind(account.auto_answer)
            .bind(account.enabled)
            .bind(account.max_calls.map(i64::from))
            .bind(time::encode(&account.created_at))
            .bind(time::encode(&account.updated_at))
            .bind(&account.codecs)
            .bind(&account.dtmf_mode)
            .bind(&account.policy)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()));
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(StoreError::Conflict {
                    entity: "account",
                    id: account.id.clone(),
                })
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Replaces every field of the account `account.id` except `created_at`.
    /// [`StoreError::NotFound`] if there is no such account.
    pub async fn update_account(&self, account: &AccountRecord) -> Result<(), StoreError> {
        let sql = "UPDATE accounts SET display_name = $2, sip_user = $3, domain = $4, \
             registrar = $5, secondary_registrar = $6, outbound_proxy = $7, auth_user = $8, \
             password = $9, transport = $10, expires = $11, auto_answer = $12, enabled = $13, \
             max_calls = $14, updated_at = $15, codecs = $16, dtmf_mode = $17, policy = $18 \
             WHERE id = $1";
        let affected = on_pool!(self, |pool| sqlx::query(sql)
            .bind(&account.id)
            .bind(&account.display_name)
            .bind(&account.user)
            .bind(&account.domain)
            .bind(&account.registrar)
            .bind(&account.secondary_registrar)
            .bind(&account.outbound_proxy)
            .bind(&account.auth_user)
            .bind(&account.password)
            .bind(&account.transport)
            .bind(i64::from(account.expires))
            .bind(account.auto_answer)
            .bind(account.enabled)
            .bind(account.max_calls.map(i64::from))
            .bind(time::encode(&account.updated_at))
            .bind(&account.codecs)
            .bind(&account.dtmf_mode)
            .bind(&account.policy)
            .execute(pool)
            .await?
            .rows_affected());
        if affected == 0 {
            return Err(StoreError::NotFound {
                entity: "account",
                id: account.id.clone(),
            });
        }
        Ok(())
    }

    /// Deletes the account `id`. [`StoreError::NotFound`] if there is none.
    /// Its call records are kept.
    pub async fn delete_account(&self, id: &str) -> Result<(), StoreError> {
        if self.delete_by_id("accounts", id).await? == 0 {
            return Err(StoreError::NotFound {
                entity: "account",
                id: id.to_owned(),
            });
        }
        Ok(())
    }

    /// `DELETE FROM <table> WHERE id = $1`; how many rows went.
    async fn delete_by_id(&self, table: &'static str, id: &str) -> Result<u64, StoreError> {
        let sql = format!("DELETE FROM {table} WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query(&sql)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()))
    }

    // ----- call records -----

    /// Inserts `record`, or replaces every field of the record with its id.
    pub async fn upsert_call_record(&self, record: &CallRecord) -> Result<(), StoreError> {
        self.upsert_call_records(std::slice::from_ref(record)).await
    }

    /// Inserts or replaces several call records in one transaction (one disk sync
    /// for the lot), in order: a later record for the same id wins.
    pub async fn upsert_call_records(&self, records: &[CallRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        // The last record of each id wins (a statement may not touch a row
        // twice in PostgreSQL); one multi-row statement per chunk (each
        // statement is a round trip to SQLite's thread or to the server).
        let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, r) in records.iter().enumerate() {
            last.insert(r.id.as_str(), i);
        }
        let latest: Vec<&CallRecord> = records
            .iter()
            .enumerate()
            .filter(|(i, r)| last.get(r.id.as_str()) == Some(i))
            .map(|(_, r)| r)
            .collect();
        let head = format!("INSERT INTO call_records ({CALL_COLUMNS}) ");
        let tail = " ON CONFLICT (id) DO UPDATE SET account = excluded.account, \
                 direction = excluded.direction, from_uri = excluded.from_uri, \
                 to_uri = excluded.to_uri, state = excluded.state, reason = excluded.reason, \
                 sip_status = excluded.sip_status, sip_reason = excluded.sip_reason, \
                 call_id = excluded.call_id, created_at = excluded.created_at, \
                 answered_at = excluded.answered_at, ended_at = excluded.ended_at, \
                 codec = excluded.codec, \
                 media_stats = COALESCE(excluded.media_stats, call_records.media_stats)";
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for chunk in latest.chunks(ROWS_PER_STATEMENT) {
                let mut qb = sqlx::QueryBuilder::new(&head);
                qb.push_values(chunk, |mut b, r| {
                    b.push_bind(r.id.clone())
                        .push_bind(r.account.clone())
                        .push_bind(r.direction.clone())
                        .push_bind(r.from_uri.clone())
                        .push_bind(r.to_uri.clone())
                        .push_bind(r.state.clone())
                        .push_bind(r.reason.clone())
                        .push_bind(r.sip_status.map(i64::from))
                        .push_bind(r.sip_reason.clone())
                        .push_bind(r.call_id.clone())
                        .push_bind(time::encode(&r.created_at))
                        .push_bind(r.answered_at.as_ref().map(time::encode))
                        .push_bind(r.ended_at.as_ref().map(time::encode))
                        .push_bind(r.codec.clone())
                        .push_bind(r.media_stats.clone());
                });
                qb.push(tail);
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Sets the media statistics (JSON text) of the call record `id`; a record
    /// saved later without statistics keeps them. Nothing happens when there
    /// is no such record.
    pub async fn set_call_media_stats(&self, id: &str, json: &str) -> Result<(), StoreError> {
        self.set_calls_media_stats(&[(id.to_owned(), json.to_owned())])
            .await
    }

    /// [`Store::set_call_media_stats`] for several calls in one transaction.
    pub async fn set_calls_media_stats(
        &self,
        stats: &[(String, String)],
    ) -> Result<(), StoreError> {
        if stats.is_empty() {
            return Ok(());
        }
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for (id, json) in stats {
                sqlx::query("UPDATE call_records SET media_stats = $2 WHERE id = $1")
                    .bind(id)
                    .bind(json)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The call record `id`, or `None`.
    pub async fn get_call_record(&self, id: &str) -> Result<Option<CallRecord>, StoreError> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM call_records WHERE id = $1");
        on_pool!(self, |pool| {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(call_from_row).transpose()
        })
    }

    /// Up to `limit` records (capped at [`MAX_LIST_LIMIT`]), newest
    /// `created_at` first; with `before`, only records created strictly
    /// before it. To page, pass the `created_at` of the last record seen
    /// (records sharing that exact microsecond are then skipped).
    pub async fn list_call_records(
        &self,
        limit: u32,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let limit = i64::from(limit.min(MAX_LIST_LIMIT));
        on_pool!(self, |pool| {
            let rows = match before {
                None => {
                    let sql = format!(
                        "SELECT {CALL_COLUMNS} FROM call_records \
                         ORDER BY created_at DESC, id DESC LIMIT $1"
                    );
                    sqlx::query(&sql).bind(limit).fetch_all(pool).await?
                }
                Some(before) => {
                    let sql = format!(
                        "SELECT {CALL_COLUMNS} FROM call_records WHERE created_at < $1 \
                         ORDER BY created_at DESC, id DESC LIMIT $2"
                    );
                    sqlx::query(&sql)
                        .bind(time::encode(&before))
                        .bind(limit)
                        .fetch_all(pool)
                        .await?
                }
            };
            rows.iter().map(call_from_row).collect()
        })
    }

    /// Up to `limit` records (capped at [`MAX_LIST_LIMIT`]) matching `q`,
    /// newest first (`created_at`, then `id`, descending). To page, pass the
    /// last record's (`created_at`, `id`) as `q.after`: no record is skipped or
    /// repeated, even when several share a timestamp.
    pub async fn query_call_records(
        &self,
        q: &CallRecordQuery,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let limit = i64::from(limit.min(MAX_LIST_LIMIT));
        // NULL parameters switch a filter off: one statement for every case.
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM call_records WHERE \
             ($1 IS NULL OR account = $1) AND ($2 IS NULL OR direction = $2) AND \
             ($3 IS NULL OR state = $3) AND ($4 IS NULL OR reason = $4) AND \
             ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) AND \
             ($7 IS NULL OR created_at < $7 OR (created_at = $7 AND id < $8)) \
             ORDER BY created_at DESC, id DESC LIMIT $9"
        );
        on_pool!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(q.account.as_deref())
                .bind(q.direction.as_deref())
                .bind(q.state.as_deref())
                .bind(q.reason.as_deref())
                .bind(q.from.as_ref().map(time::encode))
                .bind(q.until.as_ref().map(time::encode))
                .bind(q.after.as_ref().map(|(t, _)| time::encode(t)))
                .bind(q.after.as_ref().map(|(_, id)| id.as_str()))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(call_from_row).collect()
        })
    }

    /// Recording ids per call, for the given calls (oldest recording first).
    pub async fn recording_ids_for_calls(
        &self,
        calls: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(self, |pool| {
            let mut qb =
                sqlx::QueryBuilder::new("SELECT call_id, id FROM recordings WHERE call_id IN (");
            let mut sep = qb.separated(", ");
            for c in calls {
                sep.push_bind(c.clone());
            }
            qb.push(") ORDER BY started_at, id");
            let rows = qb.build().fetch_all(pool).await?;
            rows.iter()
                .map(|r| Ok((r.text("call_id")?, r.text("id")?)))
                .collect()
        })
    }

    /// Deletes all but the `keep` newest records (same order as
    /// [`list_call_records`](Store::list_call_records)); returns how many
    /// were deleted.
    pub async fn prune_call_records(&self, keep: u32) -> Result<u64, StoreError> {
        let sql = "DELETE FROM call_records WHERE id NOT IN \
             (SELECT id FROM call_records ORDER BY created_at DESC, id DESC LIMIT $1)";
        Ok(on_pool!(self, |pool| sqlx::query(sql)
            .bind(i64::from(keep))
            .execute(pool)
            .await?
            .rows_affected()))
    }

    // ----- recordings -----

    /// Inserts `record`, or replaces every field of the recording with its id.
    pub async fn upsert_recording(&self, record: &RecordingRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO recordings ({RECORDING_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (id) DO UPDATE SET call_id = excluded.call_id, \
             account = excluded.account, state = excluded.state, mode = excluded.mode, \
             file = excluded.file, sample_rate = excluded.sample_rate, \
             channels = excluded.channels, duration_ms = excluded.duration_ms, \
             bytes = excluded.bytes, started_at = excluded.started_at, \
             ended_at = excluded.ended_at"
        );
        on_pool!(self, |pool| sqlx::query(&sql)
            .bind(&record.id)
            .bind(&record.call_id)
            .bind(&record.account)
            .bind(&record.state)
            .bind(&record.mode)
            .bind(&record.file)
            .bind(i64::from(record.sample_rate))
            .bind(i64::from(record.channels))
            .bind(i64::try_from(record.duration_ms).unwrap_or(i64::MAX))
            .bind(i64::try_from(record.bytes).unwrap_or(i64::MAX))
            .bind(time::encode(&record.started_at))
            .bind(record.ended_at.as_ref().map(time::encode))
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// The recording `id`, or `None`.
    pub async fn get_recording(&self, id: &str) -> Result<Option<RecordingRecord>, StoreError> {
        let sql = format!("SELECT {RECORDING_COLUMNS} FROM recordings WHERE id = $1");
        on_pool!(self, |pool| {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(recording_from_row).transpose()
        })
    }

    /// Up to `limit` recordings (capped at [`MAX_LIST_LIMIT`]), newest first,
    /// only those of `call_id` when given, only those started strictly before
    /// `before` when given (to page, pass the last `started_at` seen).
    pub async fn list_recordings(
        &self,
        limit: u32,
        call_id: Option<&str>,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<RecordingRecord>, StoreError> {
        let limit = i64::from(limit.min(MAX_LIST_LIMIT));
        // NULL parameters switch a filter off; one statement serves all four cases.
        let sql = format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings \
             WHERE ($1 IS NULL OR call_id = $1) AND ($2 IS NULL OR started_at < $2) \
             ORDER BY started_at DESC, id DESC LIMIT $3"
        );
        on_pool!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(call_id)
                .bind(before.as_ref().map(time::encode))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            rows.iter().map(recording_from_row).collect()
        })
    }

    /// Recordings still marked `recording` or `paused`: after a restart, those
    /// the previous process did not finish.
    pub async fn unfinished_recordings(&self) -> Result<Vec<RecordingRecord>, StoreError> {
        let sql = format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings \
             WHERE state IN ('recording', 'paused') ORDER BY started_at, id"
        );
        on_pool!(self, |pool| {
            let rows = sqlx::query(&sql).fetch_all(pool).await?;
            rows.iter().map(recording_from_row).collect()
        })
    }

    /// Deletes the recording `id`. [`StoreError::NotFound`] if there is none.
    pub async fn delete_recording(&self, id: &str) -> Result<(), StoreError> {
        if self.delete_by_id("recordings", id).await? == 0 {
            return Err(StoreError::NotFound {
                entity: "recording",
                id: id.to_owned(),
            });
        }
        Ok(())
    }

    // ----- events -----

    /// Appends events (in one transaction). An event whose `seq` is already
    /// stored is left as it is.
    pub async fn insert_events(&self, events: &[EventRecord]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let head = format!("INSERT INTO events ({EVENT_COLUMNS}) ");
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for chunk in events.chunks(ROWS_PER_STATEMENT) {
                let mut qb = sqlx::QueryBuilder::new(&head);
                qb.push_values(chunk, |mut b, e| {
                    b.push_bind(i64::try_from(e.seq).unwrap_or(i64::MAX))
                        .push_bind(e.id.clone())
                        .push_bind(e.kind.clone())
                        .push_bind(time::encode(&e.at))
                        .push_bind(e.account.clone())
                        .push_bind(e.call_id.clone())
                        .push_bind(e.data.clone());
                });
                qb.push(" ON CONFLICT (seq) DO NOTHING");
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Up to `limit` events with `seq` greater than `after`, oldest first.
    pub async fn events_after(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let sql =
            format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2");
        on_pool!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(i64::try_from(after).unwrap_or(i64::MAX))
                .bind(i64::from(limit.min(MAX_LIST_LIMIT)))
                .fetch_all(pool)
                .await?;
            rows.iter().map(event_from_row).collect()
        })
    }

    /// The lowest and highest stored `seq`, or `None` when there are no events.
    pub async fn event_seq_range(&self) -> Result<Option<(u64, u64)>, StoreError> {
        let sql = "SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM events";
        let (lo, hi) = on_pool!(self, |pool| {
            let row = sqlx::query(sql).fetch_one(pool).await?;
            (row.opt_int("lo")?, row.opt_int("hi")?)
        });
        let corrupt = || StoreError::Corrupt {
            table: "events",
            column: "seq",
        };
        match (lo, hi) {
            (Some(lo), Some(hi)) => Ok(Some((
                u64::try_from(lo).map_err(|_| corrupt())?,
                u64::try_from(hi).map_err(|_| corrupt())?,
            ))),
            _ => Ok(None),
        }
    }

    /// Deletes all but the newest `keep` events, and every event older than
    /// `before`, but never an event with `seq` above `floor` (events a webhook
    /// still has to deliver); returns how many went.
    pub async fn prune_events(
        &self,
        keep: u32,
        before: DateTime<Utc>,
        floor: Option<u64>,
    ) -> Result<u64, StoreError> {
        let sql = "DELETE FROM events WHERE (seq <= \
             (SELECT COALESCE(MAX(seq), 0) FROM events) - $1 OR at < $2) AND seq <= $3";
        Ok(on_pool!(self, |pool| sqlx::query(sql)
            .bind(i64::from(keep))
            .bind(time::encode(&before))
            .bind(floor.map_or(i64::MAX, |f| i64::try_from(f).unwrap_or(i64::MAX)))
            .execute(pool)
            .await?
            .rows_affected()))
    }

    // ----- DTMF configurations and triggers -----

    /// Every DTMF configuration, by id.
    pub async fn list_dtmf_configurations(
        &self,
    ) -> Result<Vec<DtmfConfigurationRecord>, StoreError> {
        let sql = "SELECT id, name, sequences, created_at, updated_at \
                   FROM dtmf_configurations ORDER BY id";
        on_pool!(self, |pool| {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(dtmf_configuration_from_row).collect()
        })
    }

    /// Inserts or replaces a DTMF configuration.
    pub async fn upsert_dtmf_configuration(
        &self,
        c: &DtmfConfigurationRecord,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO dtmf_configurations (id, name, sequences, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             sequences = excluded.sequences, updated_at = excluded.updated_at";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(&c.id)
            .bind(&c.name)
            .bind(&c.sequences)
            .bind(time::encode(&c.created_at))
            .bind(time::encode(&c.updated_at))
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Deletes a DTMF configuration (no error when it is gone already).
    pub async fn delete_dtmf_configuration(&self, id: &str) -> Result<(), StoreError> {
        self.delete_by_id("dtmf_configurations", id).await?;
        Ok(())
    }

    /// Every DTMF trigger, by id.
    pub async fn list_dtmf_triggers(&self) -> Result<Vec<DtmfTriggerRecord>, StoreError> {
        let sql =
            "SELECT id, configuration_id, account_id, created_at FROM dtmf_triggers ORDER BY id";
        on_pool!(self, |pool| {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(dtmf_trigger_from_row).collect()
        })
    }

    /// Inserts or replaces a DTMF trigger.
    pub async fn upsert_dtmf_trigger(&self, t: &DtmfTriggerRecord) -> Result<(), StoreError> {
        let sql = "INSERT INTO dtmf_triggers (id, configuration_id, account_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET \
             configuration_id = excluded.configuration_id, account_id = excluded.account_id";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(&t.id)
            .bind(&t.configuration_id)
            .bind(&t.account_id)
            .bind(time::encode(&t.created_at))
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Deletes a DTMF trigger (no error when it is gone already).
    pub async fn delete_dtmf_trigger(&self, id: &str) -> Result<(), StoreError> {
        self.delete_by_id("dtmf_triggers", id).await?;
        Ok(())
    }

    // ----- webhooks -----

    /// Every webhook, by id.
    pub async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>, StoreError> {
        let sql = "SELECT id, url, types, secret, enabled, description, delivered_seq, \
                   created_at, updated_at FROM webhooks ORDER BY id";
        on_pool!(self, |pool| {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(webhook_from_row).collect()
        })
    }

    /// Inserts a webhook or replaces its settings; an existing webhook keeps
    /// its `delivered_seq` and `created_at`.
    pub async fn upsert_webhook(&self, w: &WebhookRecord) -> Result<(), StoreError> {
        let sql = "INSERT INTO webhooks (id, url, types, secret, enabled, description, \
             delivered_seq, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET url = excluded.url, types = excluded.types, \
             secret = excluded.secret, enabled = excluded.enabled, \
             description = excluded.description, updated_at = excluded.updated_at";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(&w.id)
            .bind(&w.url)
            .bind(&w.types)
            .bind(&w.secret)
            .bind(w.enabled)
            .bind(&w.description)
            .bind(i64::try_from(w.delivered_seq).unwrap_or(i64::MAX))
            .bind(time::encode(&w.created_at))
            .bind(time::encode(&w.updated_at))
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Records that webhook `id` is done with every event up to `seq`.
    pub async fn set_webhook_cursor(&self, id: &str, seq: u64) -> Result<(), StoreError> {
        let sql = "UPDATE webhooks SET delivered_seq = $2 WHERE id = $1";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(id)
            .bind(i64::try_from(seq).unwrap_or(i64::MAX))
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Deletes a webhook and its parked deliveries (no error when gone).
    pub async fn delete_webhook(&self, id: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM webhooks WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Inserts or replaces a parked delivery.
    pub async fn upsert_webhook_delivery(
        &self,
        d: &WebhookDeliveryRecord,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO webhook_deliveries (id, webhook_id, event_seq, event_id, \
             event_type, payload, state, attempts, last_status, last_error, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, \
             attempts = excluded.attempts, last_status = excluded.last_status, \
             last_error = excluded.last_error, updated_at = excluded.updated_at";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(&d.id)
            .bind(&d.webhook_id)
            .bind(i64::try_from(d.event_seq).unwrap_or(i64::MAX))
            .bind(&d.event_id)
            .bind(&d.event_type)
            .bind(&d.payload)
            .bind(&d.state)
            .bind(i64::from(d.attempts))
            .bind(d.last_status.map(i64::from))
            .bind(&d.last_error)
            .bind(time::encode(&d.created_at))
            .bind(time::encode(&d.updated_at))
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }

    /// Parked deliveries of webhook `id`, newest first, at most `limit`
    /// (capped at [`MAX_LIST_LIMIT`]), with `event_seq` below `before` when given.
    pub async fn list_webhook_deliveries(
        &self,
        webhook_id: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<WebhookDeliveryRecord>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE webhook_id = $1 AND event_seq < $2 ORDER BY event_seq DESC, id LIMIT $3"
        );
        on_pool!(self, |pool| {
            let rows = sqlx::query(&sql)
                .bind(webhook_id)
                .bind(before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX)))
                .bind(i64::from(limit.min(MAX_LIST_LIMIT)))
                .fetch_all(pool)
                .await?;
            rows.iter().map(delivery_from_row).collect()
        })
    }

    /// One parked delivery.
    pub async fn get_webhook_delivery(
        &self,
        id: &str,
    ) -> Result<Option<WebhookDeliveryRecord>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        on_pool!(self, |pool| {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(delivery_from_row).transpose()
        })
    }

    /// How many parked deliveries in state `failed` each webhook has.
    pub async fn count_failed_deliveries(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let sql = "SELECT webhook_id, COUNT(*) AS n FROM webhook_deliveries \
                   WHERE state = 'failed' GROUP BY webhook_id";
        on_pool!(self, |pool| {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    let n = r.int("n")?;
                    Ok((r.text("webhook_id")?, u64::try_from(n).unwrap_or(0)))
                })
                .collect()
        })
    }

    // ----- API tokens -----

    /// Every API token (hashes only), by id.
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let sql = "SELECT id, name, token_hash, scopes, created_at FROM api_tokens ORDER BY id";
        on_pool!(self, |pool| {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(api_token_from_row).collect()
        })
    }

    /// Inserts a token. [`StoreError::Conflict`] if the id or hash is taken.
    pub async fn insert_api_token(&self, t: &ApiTokenRecord) -> Result<(), StoreError> {
        let sql = "INSERT INTO api_tokens (id, name, token_hash, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5)";
        let result = on_pool!(self, |pool| sqlx::query(sql)
            .bind(&t.id)
            .bind(&t.name)
            .bind(&t.token_hash)
            .bind(&t.scopes)
            .bind(time::encode(&t.created_at))
            .execute(pool)
            .await
            .map(|_| ()));
        match result {
            Ok(()) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(StoreError::Conflict {
                    entity: "api token",
                    id: t.id.clone(),
                })
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes a token. [`StoreError::NotFound`] if there is none.
    pub async fn delete_api_token(&self, id: &str) -> Result<(), StoreError> {
        if self.delete_by_id("api_tokens", id).await? == 0 {
            return Err(StoreError::NotFound {
                entity: "api token",
                id: id.to_owned(),
            });
        }
        Ok(())
    }

    // ----- meta -----

    /// The value stored under `key`, or `None`.
    pub async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT value FROM meta WHERE key = $1";
        Ok(on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(key)
            .fetch_optional(pool)
            .await?))
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let sql = "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        on_pool!(self, |pool| sqlx::query(sql)
            .bind(key)
            .bind(value)
            .execute(pool)
            .await
            .map(|_| ())?);
        Ok(())
    }
}

fn account_from_row<R: Columns>(row: &R) -> Result<AccountRecord, StoreError> {
    const T: &str = "accounts";
    let corrupt = |column| StoreError::Corrupt { table: T, column };
    Ok(AccountRecord {
        id: row.text("id")?,
        display_name: row.opt_text("display_name")?,
        user: row.text("sip_user")?,
        domain: row.text("domain")?,
        registrar: row.opt_text("registrar")?,
        secondary_registrar: row.opt_text("secondary_registrar")?,
        outbound_proxy: row.opt_text("outbound_proxy")?,
        auth_user: row.opt_text("auth_user")?,
        password: row.opt_text("password")?,
        transport: row.text("transport")?,
        expires: u32::try_from(row.int("expires")?).map_err(|_| corrupt("expires"))?,
        auto_answer: row.flag("auto_answer")?,
        enabled: row.flag("enabled")?,
        max_calls: row
            .opt_int("max_calls")?
            .map(u32::try_from)
            .transpose()
            .map_err(|_| corrupt("max_calls"))?,
        created_at: time::decode(&row.text("created_at")?, T, "created_at")?,
        updated_at: time::decode(&row.text("updated_at")?, T, "updated_at")?,
        codecs: row.opt_text("codecs")?,
        dtmf_mode: row.opt_text("dtmf_mode")?,
        policy: row.opt_text("policy")?,
    })
}

fn call_from_row<R: Columns>(row: &R) -> Result<CallRecord, StoreError> {
    const T: &str = "call_records";
    let opt_time = |column| -> Result<Option<DateTime<Utc>>, StoreError> {
        row.opt_text(column)?
            .map(|s| time::decode(&s, T, column))
            .transpose()
    };
    Ok(CallRecord {
        id: row.text("id")?,
        account: row.text("account")?,
        direction: row.text("direction")?,
        from_uri: row.text("from_uri")?,
        to_uri: row.text("to_uri")?,
        state: row.text("state")?,
        reason: row.text("reason")?,
        sip_status: row
            .opt_int("sip_status")?
            .map(u16::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt {
                table: T,
                column: "sip_status",
            })?,
        sip_reason: row.opt_text("sip_reason")?,
        call_id: row.opt_text("call_id")?,
        created_at: time::decode(&row.text("created_at")?, T, "created_at")?,
        answered_at: opt_time("answered_at")?,
        ended_at: opt_time("ended_at")?,
        codec: row.opt_text("codec")?,
        media_stats: row.opt_text("media_stats")?,
    })
}

fn event_from_row<R: Columns>(row: &R) -> Result<EventRecord, StoreError> {
    const T: &str = "events";
    Ok(EventRecord {
        seq: u64::try_from(row.int("seq")?).map_err(|_| StoreError::Corrupt {
            table: T,
            column: "seq",
        })?,
        id: row.text("id")?,
        kind: row.text("type")?,
        at: time::decode(&row.text("at")?, T, "at")?,
        account: row.opt_text("account")?,
        call_id: row.opt_text("call_id")?,
        data: row.text("data")?,
    })
}

fn recording_from_row<R: Columns>(row: &R) -> Result<RecordingRecord, StoreError> {
    const T: &str = "recordings";
    let corrupt = |column| StoreError::Corrupt { table: T, column };
    let ended_at = row.opt_text("ended_at")?;
    Ok(RecordingRecord {
        id: row.text("id")?,
        call_id: row.text("call_id")?,
        account: row.text("account")?,
        state: row.text("state")?,
        mode: row.text("mode")?,
        file: row.text("file")?,
        sample_rate: u32::try_from(row.int("sample_rate")?).map_err(|_| corrupt("sample_rate"))?,
        channels: u16::try_from(row.int("channels")?).map_err(|_| corrupt("channels"))?,
        duration_ms: u64::try_from(row.int("duration_ms")?).map_err(|_| corrupt("duration_ms"))?,
        bytes: u64::try_from(row.int("bytes")?).map_err(|_| corrupt("bytes"))?,
        started_at: time::decode(&row.text("started_at")?, T, "started_at")?,
        ended_at: ended_at
            .map(|s| time::decode(&s, T, "ended_at"))
            .transpose()?,
    })
}

fn dtmf_configuration_from_row<R: Columns>(row: &R) -> Result<DtmfConfigurationRecord, StoreError> {
    const T: &str = "dtmf_configurations";
    Ok(DtmfConfigurationRecord {
        id: row.text("id")?,
        name: row.text("name")?,
        sequences: row.text("sequences")?,
        created_at: time::decode(&row.text("created_at")?, T, "created_at")?,
        updated_at: time::decode(&row.text("updated_at")?, T, "updated_at")?,
    })
}

fn dtmf_trigger_from_row<R: Columns>(row: &R) -> Result<DtmfTriggerRecord, StoreError> {
    Ok(DtmfTriggerRecord {
        id: row.text("id")?,
        configuration_id: row.text("configuration_id")?,
        account_id: row.text("account_id")?,
        created_at: time::decode(&row.text("created_at")?, "dtmf_triggers", "created_at")?,
    })
}

fn webhook_from_row<R: Columns>(row: &R) -> Result<WebhookRecord, StoreError> {
    const T: &str = "webhooks";
    Ok(WebhookRecord {
        id: row.text("id")?,
        url: row.text("url")?,
        types: row.text("types")?,
        secret: row.text("secret")?,
        enabled: row.flag("enabled")?,
        description: row.opt_text("description")?,
        delivered_seq: u64::try_from(row.int("delivered_seq")?).map_err(|_| {
            StoreError::Corrupt {
                table: T,
                column: "delivered_seq",
            }
        })?,
        created_at: time::decode(&row.text("created_at")?, T, "created_at")?,
        updated_at: time::decode(&row.text("updated_at")?, T, "updated_at")?,
    })
}

fn delivery_from_row<R: Columns>(row: &R) -> Result<WebhookDeliveryRecord, StoreError> {
    const T: &str = "webhook_deliveries";
    let corrupt = |column| StoreError::Corrupt { table: T, column };
    Ok(WebhookDeliveryRecord {
        id: row.text("id")?,
        webhook_id: row.text("webhook_id")?,
        event_seq: u64::try_from(row.int("event_seq")?).map_err(|_| corrupt("event_seq"))?,
        event_id: row.text("event_id")?,
        event_type: row.text("event_type")?,
        payload: row.text("payload")?,
        state: row.text("state")?,
        attempts: u32::try_from(row.int("attempts")?).map_err(|_| corrupt("attempts"))?,
        last_status: row
            .opt_int("last_status")?
            .map(u16::try_from)
            .transpose()
            .map_err(|_| corrupt("last_status"))?,
        last_error: row.opt_text("last_error")?,
        created_at: time::decode(&row.text("created_at")?, T, "created_at")?,
        updated_at: time::decode(&row.text("updated_at")?, T, "updated_at")?,
    })
}

fn api_token_from_row<R: Columns>(row: &R) -> Result<ApiTokenRecord, StoreError> {
    Ok(ApiTokenRecord {
        id: row.text("id")?,
        name: row.text("name")?,
        token_hash: row.text("token_hash")?,
        scopes: row.text("scopes")?,
        created_at: time::decode(&row.text("created_at")?, "api_tokens", "created_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(store: &Store) -> &sqlx::SqlitePool {
        match &store.pool {
            Pool::Sqlite(p) => p,
            Pool::Postgres(_) => panic!("not a SQLite store"),
        }
    }

    #[tokio::test]
    async fn file_store_uses_wal() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).await.unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(sqlite(&store))
            .await
            .unwrap();
        assert_eq!(mode.to_ascii_lowercase(), "wal");
        store.close().await;
    }

    #[tokio::test]
    async fn out_of_range_values_are_corrupt_not_panics() {
        let store = Store::open_memory().await.unwrap();
        sqlx::query(
            "INSERT INTO accounts (id, sip_user, domain, transport, expires, \
             auto_answer, enabled, created_at, updated_at) \
             VALUES ('bad', 'u', 'd', 'udp', -1, FALSE, TRUE, $1, $1)",
        )
        .bind(time::encode(&Utc::now()))
        .execute(sqlite(&store))
        .await
        .unwrap();
        let err = store.get_account("bad").await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Corrupt {
                    table: "accounts",
                    column: "expires"
                }
            ),
            "{err:?}"
        );
        assert!(store.list_accounts().await.is_err());

        sqlx::query(
            "INSERT INTO call_records (id, account, direction, from_uri, to_uri, state, \
             reason, sip_status, created_at) \
             VALUES ('c', 'a', 'incoming', 'f', 't', 's', 'r', 70000, 'not a time')",
        )
        .execute(sqlite(&store))
        .await
        .unwrap();
        let err = store.get_call_record("c").await.unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Corrupt {
                    table: "call_records",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
