//! callwire-store
