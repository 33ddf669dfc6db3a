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

/// Requests to the REST API that present a bearer token or an API key are
/// judged by that credential alone: their `Cookie`, `Origin` and
/// `Sec-Fetch-Site` headers are dropped before sessions and the CSRF check.
/// Without cookies there is no ambient authority for a forged request to
/// ride on, so the CSRF check has nothing to protect; and a cross-site page
/// cannot attach such a header without a CORS preflight, which admit never
/// grants.
pub async fn credentials_without_cookies(mut req: Request<Body>, next: Next) -> Response {
    if super::identity::has_credential(req.uri().path(), req.headers()) {
        let h = req.headers_mut();
        h.remove(header::COOKIE);
        h.remove(header::ORIGIN);
        h.remove("sec-fetch-site");
    }
    next.run(req).await
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

/// The nonce of this request's Content-Security-Policy. `headers` mints one
/// per request and puts it in the request's extensions; page rendering hands
/// it to Leptos ([`provide_request_nonce`]) so inline scripts carry it.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Gives Leptos this request's nonce. Called in every render context, so
/// the nonce in the scripts is always the one in the header.
pub fn provide_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    if let Some(parts) = use_context::<axum::http::request::Parts>()
        && let Some(nonce) = parts.extensions.get::<CspNonce>()
    {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0.clone()));
    }
}

/// Adds nosniff, Referrer-Policy and the CSP to every response. The nonce
/// is minted here, before the request is handled, and HTML responses get a
/// policy that names it.
pub async fn headers(
    State(state): State<AppState>,
    mut req: Request<Body>,
    next: Next,
) -> Response {
    let nonce = leptos::nonce::Nonce::new().to_string();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, super::header("nosniff"));
    h.insert(
        header::REFERRER_POLICY,
        super::header("strict-origin-when-cross-origin"),
    );
    let csp = content_security_policy(&state, html.then_some(nonce.as_str()));
    h.insert(header::CONTENT_SECURITY_POLICY, super::header(&csp));
    res
}
