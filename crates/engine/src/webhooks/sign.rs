//! Standard Webhooks signing: secrets of the form `whsec_<base64 key>`, and
//! the `v1,<base64 HMAC-SHA256>` signature over `"{id}.{timestamp}.{body}"`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::EngineError;

const PREFIX: &str = "whsec_";

/// The key bytes of a secret; rejects anything but `whsec_` followed by the
/// base64 of 24-64 bytes.
pub(crate) fn secret_key(secret: &str) -> Result<Vec<u8>, EngineError> {
    let bad = || {
        EngineError::InvalidArgument(
            "secret must be whsec_ followed by the base64 of 24-64 random bytes".into(),
        )
    };
    let b64 = secret.strip_prefix(PREFIX).ok_or_else(bad)?;
    let key = STANDARD.decode(b64).map_err(|_| bad())?;
    if !(24..=64).contains(&key.len()) {
        return Err(bad());
    }
    Ok(key)
}

/// A new random secret (32 bytes).
pub(crate) fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` header value for a message.
pub(crate) fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification, checked with
    /// Python's `hmac` module as an independent implementation.
    #[test]
    fn signs_the_specification_example() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_checked_and_generated_ones_pass() {
        for bad in ["", "whsec_", "secret", "whsec_!!!!", "whsec_c2hvcnQ="] {
            assert!(secret_key(bad).is_err(), "{bad}");
        }
        let s = generate_secret();
        assert_eq!(secret_key(&s).unwrap().len(), 32);
        assert_ne!(s, generate_secret());
    }
}
