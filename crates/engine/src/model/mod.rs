//! The domain model every face reads: accounts, calls, their views, events.

pub mod account;
pub mod call;
pub mod dtmf;
pub mod event;
pub mod token;
pub mod webhook;
