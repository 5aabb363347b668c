//! Turning what users type (`host:port`, `user@host`, SIP URIs) into SIP URIs.

use callwire_sip::message::{SipUri, Uri};

use crate::EngineError;

/// Longest address accepted from the API.
const MAX_ADDRESS: usize = 512;

fn parse_sip(text: &str, what: &str) -> Result<SipUri, EngineError> {
    let bad = || {
        EngineError::InvalidArgument(format!(
            "{what} must be a SIP URI, user@host[:port] or host[:port]"
        ))
    };
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_ADDRESS || text.chars().any(|c| c.is_control()) {
        return Err(bad());
    }
    let lower = text.to_ascii_lowercase();
    let full = if lower.starts_with("sip:") || lower.starts_with("sips:") {
        text.to_owned()
    } else if text.contains(':')
        && !text.contains('@')
        && !text.starts_with('[')
        && text.matches(':').count() == 1
    {
        // host:port
        format!("sip:{text}")
    } else {
        format!("sip:{text}")
    };
    match callwire_sip::parse::uri(&full) {
        Ok(Uri::Sip(u)) => Ok(u),
        _ => Err(bad()),
    }
}

/// A registrar, proxy or other server: `host[:port]` or a SIP URI (no user needed).
pub fn parse_target(text: &str) -> Result<SipUri, EngineError> {
    parse_sip(text, "address")
}

/// A callee for `POST /v1/calls`: a SIP URI or `user@host[:port]`.
pub fn parse_callee(text: &str) -> Result<SipUri, EngineError> {
    parse_sip(text, "to")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_usual_forms() {
        assert_eq!(
            parse_target("127.0.0.1:5080").unwrap().to_string(),
            "sip:127.0.0.1:5080"
        );
        assert_eq!(
            parse_target("pbx.example.com").unwrap().to_string(),
            "sip:pbx.example.com"
        );
        assert_eq!(
            parse_callee("bob@127.0.0.1:5070").unwrap().to_string(),
            "sip:bob@127.0.0.1:5070"
        );
        assert_eq!(
            parse_callee("sip:bob@[::1]:5070;transport=tcp")
                .unwrap()
                .to_string(),
            "sip:bob@[::1]:5070;transport=tcp"
        );
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            " ",
            "tel:+123",
            "sip:",
            "a b@c",
            "x\r\nVia: 1",
            &"a".repeat(600),
        ] {
            assert!(parse_callee(bad).is_err(), "{bad:?}");
        }
    }
}
