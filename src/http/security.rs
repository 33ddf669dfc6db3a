//! Security headers and CSRF protection.

use axum::{
    body::Body,
    extract::{Request, State},
    http::header,
    middleware::Next,
    response::Response,
};
use tower_http::csrf::CsrfLayer;

use crate::{config::Settings, state::AppState};

/// Origin of Stripe Checkout, allowed as a form/redirect target when Stripe is configured.
const STRIPE_ORIGIN: &str = "https://checkout.stripe.com";

/// CSRF protection for every mutating request: `Sec-Fetch-Site` and `Origin`
/// must say same-origin (or be absent, as for API clients and webhooks, which
/// carry no cookies). The public URL's origin is trusted explicitly so it
/// works behind a reverse proxy that rewrites `Host`.
pub fn csrf_layer(settings: &Settings) -> anyhow::Result<CsrfLayer> {
    CsrfLayer::new()
        .add_trusted_origin(settings.public_base())
        .map_err(|e| anyhow::anyhow!("ADMIT_PUBLIC_URL is not a valid origin: {e}"))
}

/// The Content-Security-Policy. Pages pass their per-response nonce; other
/// responses get the same policy without one (they run no inline script).
pub fn content_security_policy(state: &AppState, nonce: Option<&str>) -> String {
    let script_nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    let mut form_action = String::from("'self'");
    let mut connect = String::from("'self'");
    if state.config.stripe_secret_key.is_some() {
        form_action.push(' ');
        form_action.push_str(STRIPE_ORIGIN);
    }
    if cfg!(debug_assertions) {
        // cargo-leptos' live reload in `cargo leptos watch`.
        connect.push_str(" ws://127.0.0.1:3001");
    }
    format!(
        "default-src 'self'; script-src 'self'{script_nonce} 'wasm-unsafe-eval'; style-src 'self'{script_nonce}; \
         img-src 'self' data: blob:; connect-src {connect}; frame-ancestors 'none'; base-uri 'self'; \
         form-action {form_action}; object-src 'none'"
    )
}

/// Adds nosniff, Referrer-Policy and (unless the page set its own, with a
/// nonce) the CSP to every response.
pub async fn headers(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, super::header("nosniff"));
    h.insert(
        header::REFERRER_POLICY,
        super::header("strict-origin-when-cross-origin"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            super::header(&content_security_policy(&state, None)),
        );
    }
    res
}
