//! Persistence for callwire: SIP accounts, call records, recordings' metadata,
//! the event log, webhooks and their parked deliveries, API tokens and a small key/value `meta` table, behind one [`Store`] with async methods.
//!
//! All SQL of the project lives in this crate. It runs through sqlx with
//! runtime-bound queries on SQLite (embedded, the zero-setup default:
//! [`Store::open`]) or PostgreSQL ([`Store::connect`] with a `postgres://`
//! URL). One set of statements serves both: `$N` placeholders, `ON CONFLICT`
//! upserts, no backend-specific types; each backend has its own migration
//! directory with the same versions and logical schema. The store does not
//! validate domain rules (which transports exist, how many accounts are
//! allowed); that is the engine's job.
//!
//! Timestamps are stored with microsecond precision; finer precision is
//! truncated on write.

#![warn(missing_docs)]

mod account;
mod backend;
mod call_record;
mod dtmf;
mod error;
mod event;
mod recording;
mod store;
mod time;
mod webhook;

pub use account::AccountRecord;
pub use backend::Backend;
pub use call_record::{CallRecord, CallRecordQuery};
pub use dtmf::{DtmfConfigurationRecord, DtmfTriggerRecord};
pub use error::StoreError;
pub use event::EventRecord;
pub use recording::RecordingRecord;
pub use store::{Store, DB_FILE_NAME, MAX_LIST_LIMIT};
pub use webhook::{ApiTokenRecord, WebhookDeliveryRecord, WebhookRecord};
