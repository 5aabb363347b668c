//! callwire-api
