//! `/v1` contract tests: the real router and engine driven in-process with
//! `oneshot`, checked against docs/api.md.

mod accounts;
mod auth;
mod call_policy;
mod call_records;
mod calls;
mod dtmf;
mod events;
mod hostile;
mod media;
mod metrics;
mod support;
mod tokens;
mod transfer;
mod webhooks;
