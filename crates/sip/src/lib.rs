//! callwire-sip
