//! Logging and metrics set-up.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{LogFormat, Settings};

/// Installs the tracing subscriber: pretty in development, JSON with
/// `ADMIT_LOG_FORMAT=json`. Safe to call more than once (tests).
pub fn init_tracing(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match settings.log_format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
}

/// The process-wide Prometheus recorder (installed once, shared by every app
/// instance in a test process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be set (never in admit itself).
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Masks an email for logs: `budi@example.com` → `b***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// Masks a phone number for logs: `+6281234567890` → `+62*******890`
/// (the first three and last three characters stay, so a person can still
/// recognise their own number in a support conversation).
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 6 {
        return "***".to_owned();
    }
    let (head, tail) = (&chars[..3], &chars[chars.len() - 3..]);
    format!(
        "{}{}{}",
        head.iter().collect::<String>(),
        "*".repeat(chars.len() - 6),
        tail.iter().collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn phones_are_masked() {
        assert_eq!(super::mask_phone("+6281234567890"), "+62********890");
        assert_eq!(super::mask_phone("12345"), "***");
    }

    #[test]
    fn emails_are_masked() {
        assert_eq!(super::mask_email("budi@example.com"), "b***@example.com");
        assert_eq!(super::mask_email("nonsense"), "***");
    }
}
