//! Test-only endpoints under `/_test`, compiled only with the `test-hooks`
//! feature (which production refuses to start with).

use axum::Router;

use crate::state::AppState;

/// The test-only routes (none without the feature).
#[cfg(not(feature = "test-hooks"))]
pub fn router() -> Router<AppState> {
    Router::new()
}

/// The test-only routes.
#[cfg(feature = "test-hooks")]
pub fn router() -> Router<AppState> {
    use axum::{
        Json,
        extract::State,
        routing::{get, post},
    };
    use serde::Deserialize;

    /// Every page route and server function the app serves.
    async fn routes() -> Json<serde_json::Value> {
        let pages: Vec<String> = leptos_axum::generate_route_list(crate::app::App)
            .iter()
            .map(|r| r.path().to_owned())
            .collect();
        let server_fns: Vec<(String, String)> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, method)| (method.to_string(), path.to_owned()))
            .collect();
        Json(serde_json::json!({"pages": pages, "server_fns": server_fns}))
    }

    #[derive(Deserialize)]
    struct Advance {
        ms: i64,
    }

    /// Moves the server's clock forward (expiry tests in the browser).
    async fn advance_clock(
        State(state): State<AppState>,
        Json(a): Json<Advance>,
    ) -> Json<serde_json::Value> {
        state.clock.advance_millis(a.ms);
        Json(serde_json::json!({"now": state.now().as_millis()}))
    }

    Router::new()
        .route("/_test/routes", get(routes))
        .route("/_test/clock/advance", post(advance_clock))
}
