//! admit: an event-ticketing platform.
//!
//! Layers (see ARCHITECTURE.md): [`domain`] is pure and compiles for wasm;
//! `services` holds the use-cases; storage sits behind `store::Store`; entry
//! points (pages and server functions, `/api/v1`, webhooks, jobs) only parse
//! input, call a service and map the result.
#![recursion_limit = "256"]

/// Translations (locales/*.json), checked at compile time.
///
/// `load_locales!` is marked deprecated in favour of a build script, which
/// would add a build-dependency compiled for every target; the macro does the
/// same work and keeps the build simpler.
#[allow(deprecated)]
mod translations {
    leptos_i18n::load_locales!();
}
pub use translations::i18n;

pub mod app;
pub mod domain;
pub mod server_fns;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod bench;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod integrations;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod services;
#[cfg(feature = "ssr")]
pub mod startup;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod telemetry;
#[cfg(all(feature = "ssr", feature = "test-hooks"))]
pub mod testing;

/// Entry point of the wasm bundle: hydrates the islands on the page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
