//! The domain model every face reads: accounts, calls, their views.

pub mod account;
pub mod call;
