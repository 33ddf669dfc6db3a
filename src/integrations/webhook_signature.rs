//! Stripe's webhook signature scheme, used for Stripe's own webhooks and for
//! the events the simulated gateway posts into the same handler.
//!
//! The `Stripe-Signature` header reads `t=<unix seconds>,v1=<hex>[,v1=…]`;
//! each `v1` is HMAC-SHA256 of `"<t>.<raw body>"` keyed with the endpoint's
//! signing secret. A signature is accepted when one `v1` matches and the
//! timestamp is within [`TOLERANCE_SECS`] of now, in either direction (a
//! timestamp from the future is as suspicious as a stale one).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far the signed timestamp may be from now, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a webhook's signature was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header.
    #[error("the Stripe-Signature header is missing")]
    Missing,
    /// The header has no timestamp or no `v1` signature.
    #[error("the Stripe-Signature header is malformed")]
    Malformed,
    /// The timestamp is more than the tolerance away from now.
    #[error("the signature's timestamp is outside the {TOLERANCE_SECS} s tolerance")]
    OutsideTolerance,
    /// No `v1` signature matches the body.
    #[error("no signature matches the payload")]
    Mismatch,
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Vec<u8> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac.finalize().into_bytes().to_vec()
}

/// The `Stripe-Signature` header value for `payload` signed at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, payload))
    )
}

/// Checks a `Stripe-Signature` header against the raw body at `now_secs`.
/// Returns the signed timestamp.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    payload: &[u8],
    now_secs: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now_secs - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::OutsideTolerance);
    }
    let expected = mac(secret, timestamp, payload);
    if signatures
        .iter()
        .any(|s| crate::store::constant_time_eq(s, &expected))
    {
        Ok(timestamp)
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"checkout.session.completed"}"#;
    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_signature_is_accepted_within_the_tolerance_only() {
        let ok = sign(SECRET, NOW - 299, BODY);
        assert_eq!(verify(SECRET, Some(&ok), BODY, NOW), Ok(NOW - 299));
        assert_eq!(
            verify(SECRET, Some(&sign(SECRET, NOW - 300, BODY)), BODY, NOW),
            Ok(NOW - 300)
        );
        for t in [NOW - 301, NOW + 301] {
            assert_eq!(
                verify(SECRET, Some(&sign(SECRET, t, BODY)), BODY, NOW),
                Err(SignatureError::OutsideTolerance)
            );
        }
    }

    #[test]
    fn forged_changed_or_missing_signatures_are_refused() {
        let good = sign(SECRET, NOW, BODY);
        assert_eq!(
            verify(SECRET, Some(&sign("whsec_other", NOW, BODY)), BODY, NOW),
            Err(SignatureError::Mismatch)
        );
        let mut changed = BODY.to_vec();
        changed[10] ^= 1;
        assert_eq!(
            verify(SECRET, Some(&good), &changed, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, None, BODY, NOW),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some("v1=abcd"), BODY, NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(SECRET, Some(&format!("t={NOW}")), BODY, NOW),
            Err(SignatureError::Malformed)
        );
        // Stripe may send several v1 signatures while a secret is rolled.
        let rolled = format!(
            "{},v1={}",
            sign("whsec_old", NOW, BODY),
            good.split("v1=").nth(1).unwrap()
        );
        assert_eq!(verify(SECRET, Some(&rolled), BODY, NOW), Ok(NOW));
    }
}
