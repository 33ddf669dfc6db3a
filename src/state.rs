//! The application state every entry point reads: one per process.

use std::sync::Arc;

use leptos::config::LeptosOptions;

use crate::{clock::SystemClock, config::Config, integrations::mail::Mailer, store::Store};

/// Shared, cheap to clone. Server functions read it from Leptos context;
/// axum handlers from `State`.
#[derive(Clone)]
pub struct AppState {
    /// Loaded configuration.
    pub config: Arc<Config>,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// The injected clock (tests move it).
    pub clock: Arc<SystemClock>,
    /// Leptos' own options (site root, output name).
    pub leptos: LeptosOptions,
    /// Outgoing mail (SMTP, or files in development).
    pub mailer: Arc<dyn Mailer>,
    /// Uploaded files (banners).
    pub files: Arc<dyn crate::integrations::files::FileStore>,
    /// The payment gateway (simulated in development).
    pub payments: Arc<dyn crate::integrations::payments::PaymentGateway>,
    /// Cached listing pages of this instance.
    pub listings: Arc<crate::services::listings::ListingCache>,
    /// Hold terms this instance read, by event and version.
    pub hold_terms: Arc<crate::services::holds::HoldTermsCache>,
    /// Group admission of holds on this instance.
    pub admission: Arc<crate::services::admission::Admission>,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos.clone()
    }
}

impl AppState {
    /// Now, by the injected clock.
    pub fn now(&self) -> crate::domain::Timestamp {
        crate::clock::Clock::now(&*self.clock)
    }
}
