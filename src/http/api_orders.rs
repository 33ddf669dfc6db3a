//! `/api/v1/orders…`: holds and orders of the signed-in buyer, and the live
//! seat status of an event.

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use crate::{
    domain::{EventId, OrderId, money::Lang},
    error::ServiceError,
    server_fns::views::{CheckoutInput, OrderView, SeatStatusView},
    services::{
        authz::Identity,
        holds::{self, HoldRequest},
    },
    state::AppState,
};

/// The routes, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list).post(create))
        .route("/orders/{id}", get(one).delete(release))
        .route("/orders/{id}/checkout", axum::routing::post(checkout))
        .route("/events/{id}/seats/status", get(seat_status))
        .route(
            "/payments/stripe/webhooks",
            axum::routing::post(stripe_webhook),
        )
}

/// `?lang=` for prices and dates.
#[derive(Deserialize)]
pub(crate) struct LangQuery {
    #[serde(default)]
    lang: Option<String>,
}

impl LangQuery {
    fn lang(&self) -> Lang {
        self.lang
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or_default()
    }
}

fn order_id(id: &str) -> Result<OrderId, ServiceError> {
    OrderId::parse(id).ok_or(ServiceError::NotFound)
}

fn json<T: serde::Serialize>(status: StatusCode, r: Result<T, ServiceError>) -> Response {
    match r {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Takes a hold: tier quantities, seats from the map, or the best available
/// seats of a section. It replaces the buyer's earlier open hold on the event.
#[utoipa::path(post, path = "/api/v1/orders", request_body = HoldRequest,
    params(("lang" = Option<String>, Query)),
    responses((status = 201, body = OrderView, description = "The hold (status reserved)"),
        (status = 401, body = super::api::ErrorView), (status = 403, body = super::api::ErrorView, description = "Email not verified"),
        (status = 404, body = super::api::ErrorView), (status = 409, body = super::api::ErrorView, description = "Sold out, or a seat was just taken"),
        (status = 422, body = super::api::ErrorView)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<LangQuery>,
    Json(req): Json<HoldRequest>,
) -> Response {
    json(
        StatusCode::CREATED,
        holds::take_hold(&state, &who, &req, q.lang()).await,
    )
}

/// The buyer's orders, newest first.
#[utoipa::path(get, path = "/api/v1/orders", params(("lang" = Option<String>, Query)),
    responses((status = 200, body = Vec<OrderView>), (status = 401, body = super::api::ErrorView)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<LangQuery>,
) -> Response {
    json(
        StatusCode::OK,
        holds::my_orders(&state, &who, q.lang()).await,
    )
}

/// One of the buyer's orders.
#[utoipa::path(get, path = "/api/v1/orders/{id}", params(("id" = String, Path), ("lang" = Option<String>, Query)),
    responses((status = 200, body = OrderView), (status = 401, body = super::api::ErrorView), (status = 404, body = super::api::ErrorView)))]
pub(crate) async fn one(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let result = async { holds::order(&state, &who, &order_id(&id)?, q.lang()).await };
    json(StatusCode::OK, result.await)
}

/// Releases a hold at once (its tickets go back on sale). Releasing a hold
/// that already ended changes nothing.
#[utoipa::path(delete, path = "/api/v1/orders/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = super::api::ErrorView), (status = 404, body = super::api::ErrorView),
        (status = 409, body = super::api::ErrorView, description = "Paid, or payment under way")))]
pub(crate) async fn release(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async { holds::release(&state, &who, &order_id(&id)?).await };
    match result.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The details step of checkout: who each ticket is for (one attendee per
/// item, in order). A free order (total 0, also through a 100 % code) is paid
/// at once and its confirmation emailed. For orders with a total above zero
/// the details and the accepted bill are saved; online payment is the next
/// step and is not available yet.
#[utoipa::path(post, path = "/api/v1/orders/{id}/checkout", request_body = CheckoutInput,
    params(("id" = String, Path), ("lang" = Option<String>, Query)),
    responses((status = 200, body = OrderView, description = "The order: `paid` when free"),
        (status = 401, body = super::api::ErrorView), (status = 403, body = super::api::ErrorView),
        (status = 404, body = super::api::ErrorView),
        (status = 409, body = super::api::ErrorView, description = "The hold has ended"),
        (status = 422, body = super::api::ErrorView)))]
pub(crate) async fn checkout(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    Json(input): Json<CheckoutInput>,
) -> Response {
    let result = async {
        crate::services::checkout::checkout(&state, &who, &order_id(&id)?, &input, q.lang()).await
    };
    json(StatusCode::OK, result.await)
}

/// Stripe's webhook (and the simulated gateway's events): the signature is
/// checked on the raw body with a 300 s tolerance; each event is applied at
/// most once. 400: refused, do not retry; 500: retry later.
#[utoipa::path(post, path = "/api/v1/payments/stripe/webhooks",
    params(("Stripe-Signature" = String, Header)),
    responses((status = 200, description = "Applied, or a duplicate"), (status = 400, body = super::api::ErrorView),
        (status = 500, body = super::api::ErrorView)))]
pub(crate) async fn stripe_webhook(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    use crate::services::payments::{WebhookError, handle_webhook};
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match handle_webhook(&state, signature, &body).await {
        Ok(outcome) => (
            StatusCode::OK,
            Json(serde_json::json!({"received": true, "outcome": format!("{outcome:?}").to_lowercase()})),
        )
            .into_response(),
        Err(WebhookError::Refused(m)) => {
            tracing::warn!(reason = %m, "webhook refused");
            (StatusCode::BAD_REQUEST, Json(serde_json::json!({"error": m}))).into_response()
        }
        Err(WebhookError::Internal(e)) => e.into_response(),
    }
}

/// Seats of a published event that are held or sold right now.
#[utoipa::path(get, path = "/api/v1/events/{id}/seats/status", params(("id" = String, Path)),
    responses((status = 200, body = SeatStatusView), (status = 404, body = super::api::ErrorView)))]
pub(crate) async fn seat_status(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let event = EventId::parse(&id).ok_or(ServiceError::NotFound)?;
        holds::seat_status(&state, &who, &event).await
    };
    let mut res = json(StatusCode::OK, result.await);
    // Live data: never cached on the way.
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}
