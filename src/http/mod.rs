//! The HTTP surface: pages, server functions, probes, metrics and the
//! cross-cutting layers (request ids, CSRF, security headers).

pub mod api;
pub mod api_accounts;
pub mod api_events;
pub mod api_orders;
pub mod api_tickets;
pub mod identity;
pub mod pages;
pub mod probes;
pub mod security;
pub mod session;
mod test_hooks;
pub mod tls;

use std::time::Duration;

use axum::{
    Router,
    body::Body,
    extract::{MatchedPath, Request},
    http::{HeaderName, HeaderValue},
    middleware::{self, Next},
    response::Response,
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{app, state::AppState};

/// The request id header, set on every request and response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the whole router for a state. Tests call this too (`spawn_app`).
///
/// Server functions are registered by `leptos_routes_with_context` under
/// their own prefix ([`crate::server_fns::PREFIX`]), apart from `/api/v1`.
pub fn router(state: AppState) -> anyhow::Result<Router> {
    // Install the metrics recorder before the first request is counted.
    let _ = crate::telemetry::metrics_handle();
    let leptos_options = state.leptos.clone();
    let routes = generate_route_list(app::App);
    let ctx_state = state.clone();
    let context = move || {
        provide_context(ctx_state.clone());
        security::provide_request_nonce();
    };
    let csrf = security::csrf_layer(&state.config.settings)?;
    let app = Router::new()
        .route("/healthz", axum::routing::get(probes::healthz))
        .route("/readyz", axum::routing::get(probes::readyz))
        .route("/metrics", axum::routing::get(probes::metrics))
        .route("/locale", axum::routing::post(pages::switch_locale))
        .route("/media/{*key}", axum::routing::get(pages::media))
        .nest("/api/v1", api::router())
        .merge(test_hooks::router())
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let opts = leptos_options.clone();
            move || app::shell(opts.clone())
        })
        .route("/events/{slug}", axum::routing::post(pages::event_form))
        // Built assets (wasm, JS, CSS, images) from the site root; anything
        // else renders the app's own "not found" page.
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, app::shell))
        .with_state(state.clone());

    let sessions = session::layer(
        session::DbSessionStore::new(state.store.clone(), state.clock.clone()),
        &state.config.settings,
    );
    Ok(app
        .layer(middleware::from_fn_with_state(state.clone(), identity::resolve))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(state.clone(), security::headers))
        .layer(csrf)
        .layer(middleware::from_fn(security::credentials_without_cookies))
        .layer(middleware::from_fn(record_metrics))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
            let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid)))
}

/// Counts requests and their latency per matched route and status.
async fn record_metrics(req: Request<Body>, next: Next) -> Response {
    let start = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("admit_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("admit_http_request_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    res
}

/// Builds a `HeaderValue` from text we produced ourselves.
pub(crate) fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""))
}
