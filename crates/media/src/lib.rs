//! callwire-media
