//! callwire-engine
