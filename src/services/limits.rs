//! Abuse limits on sign-in, code sending, sign-up and password reset, per
//! client address and per account, counted in the database so every app
//! instance sharing it enforces the same limit.
//!
//! Accounts are counted by the email address asked about, whether or not an
//! account has it: a limit reached for an unknown address looks exactly like
//! one reached for a real account, so limits tell nothing about who is
//! registered. Buckets hold keyed hashes, never addresses.

use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{
    domain::{
        account::EmailAddress,
        limits::{LimitedAction, Limits, retry_after_secs, window_start},
    },
    error::ServiceError,
    state::AppState,
};

fn bucket(state: &AppState, action: LimitedAction, kind: &str, value: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(state.config.secrets.session_secret.expose().as_bytes())
            .expect("HMAC takes any key length");
    mac.update(b"rate-limit|");
    mac.update(value.as_bytes());
    format!(
        "{}:{kind}:{}",
        action.as_str(),
        hex::encode(mac.finalize().into_bytes())
    )
}

fn limits(state: &AppState) -> Limits {
    // Validated at start-up, so this only falls back if the settings were
    // changed in memory (tests).
    Limits::parse(&state.config.settings.rate_limits)
        .unwrap_or_else(|_| Limits::parse("").expect("an empty spec parses"))
}

/// Counts one attempt at `action` from `ip` about `email` (when the action
/// names an account). Over a limit: `RateLimited` with the seconds until the
/// window ends.
pub async fn check(
    state: &AppState,
    action: LimitedAction,
    ip: IpAddr,
    email: Option<&str>,
) -> Result<(), ServiceError> {
    let limit = limits(state).of(action);
    let window_ms = i64::from(state.config.settings.rate_limit_window_secs) * 1000;
    let now = state.now().as_millis();
    let start = window_start(now, window_ms);
    let mut checks = Vec::new();
    if let Some(n) = limit.per_ip {
        checks.push((bucket(state, action, "ip", &ip.to_string()), n));
    }
    if let (Some(n), Some(email)) = (limit.per_account, email) {
        let normalized = EmailAddress::parse(email)
            .map(|e| e.as_str().to_owned())
            .unwrap_or_else(|_| email.trim().to_lowercase());
        checks.push((bucket(state, action, "account", &normalized), n));
    }
    for (key, n) in checks {
        if let Err(start) = state.store.hit_rate_limit(&key, start, n).await? {
            let secs = retry_after_secs(start, window_ms, now);
            tracing::warn!(
                action = action.as_str(),
                bucket = %key.split(':').nth(1).unwrap_or(""),
                "abuse limit reached"
            );
            let minutes = secs.div_ceil(60);
            return Err(ServiceError::RateLimited {
                message: format!(
                    "Too many attempts. Please wait {} and try again.",
                    if minutes <= 1 {
                        "a minute".to_owned()
                    } else {
                        format!("{minutes} minutes")
                    }
                ),
                retry_after_secs: secs,
            });
        }
    }
    Ok(())
}
