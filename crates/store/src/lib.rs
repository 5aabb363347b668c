//! Persistence for callwire: SIP accounts, call records, recordings' metadata,
//! the event log, webhooks and their parked deliveries, API tokens and a small key/value `meta` table, behind one [`Store`] with async methods.
//!
//! All SQL of the project lives in this crate. It runs on SQLite (embedded,
//! the default) through sqlx with runtime-bound queries, and is written to stay
//! portable to PostgreSQL: `$N` placeholders, `ON CONFLICT` upserts, no
//! backend-specific types. The store does not validate domain rules (which
//! transports exist, how many accounts are allowed); that is the engine's job.
//!
//! Timestamps are stored with microsecond precision; finer precision is
//! truncated on write.

#![warn(missing_docs)]

mod account;
mod call_record;
mod dtmf;
mod error;
mod event;
mod recording;
mod store;
mod time;
mod webhook;

pub use account::AccountRecord;
pub use call_record::{CallRecord, CallRecordQuery};
pub use dtmf::{DtmfConfigurationRecord, DtmfTriggerRecord};
pub use error::StoreError;
pub use event::EventRecord;
pub use recording::RecordingRecord;
pub use store::{Store, DB_FILE_NAME, MAX_LIST_LIMIT};
pub use webhook::{ApiTokenRecord, WebhookDeliveryRecord, WebhookRecord};
