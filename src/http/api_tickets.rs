//! `/api/v1/user-ticket…` and the door: tickets (JSON, PDF, .ics), scanning
//! and checking in, undoing a check-in, what a scanner needs offline, the
//! door dashboard, and the organizer's refunds and re-issues.

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, patch, post},
};
use serde::Deserialize;

use crate::{
    domain::{EventId, OrderId, money::Lang},
    error::ServiceError,
    server_fns::views::{DoorView, ScanInput, ScanView, ScannerSetup, TicketView},
    services::{authz::Identity, door, tickets},
    state::AppState,
};

/// The routes, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/user-ticket/validate", post(validate))
        .route("/user-ticket/{id}", get(one))
        .route("/user-ticket/{id}/print", get(print))
        .route("/user-ticket/{id}/calendar", get(calendar))
        .route("/user-ticket/{id}/use", patch(use_ticket).delete(undo))
        .route("/user-ticket/{id}/reissue", post(reissue))
        .route("/orders/{id}/user-tickets", get(of_order))
        .route("/orders/{id}/refund", post(refund))
        .route("/events/{id}/scanner", get(scanner))
        .route("/events/{id}/door", get(dashboard))
}

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

fn json<T: serde::Serialize>(status: StatusCode, r: Result<T, ServiceError>) -> Response {
    match r {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn event_id(id: &str) -> Result<EventId, ServiceError> {
    EventId::parse(id).ok_or(ServiceError::NotFound)
}

/// A ticket: its buyer, the event's organization and admins may see it.
#[utoipa::path(get, path = "/api/v1/user-ticket/{id}", params(("id" = String, Path), ("lang" = Option<String>, Query)),
    responses((status = 200, body = TicketView), (status = 401, body = super::api::ErrorView),
        (status = 404, body = super::api::ErrorView)))]
pub(crate) async fn one(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    json(
        StatusCode::OK,
        tickets::ticket(&state, &who, &id)
            .await
            .map(|t| tickets::view(&t, q.lang())),
    )
}

/// A ticket's PDF (printable, with its QR code).
#[utoipa::path(get, path = "/api/v1/user-ticket/{id}/print", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", description = "The PDF e-ticket"),
        (status = 401, body = super::api::ErrorView), (status = 404, body = super::api::ErrorView),
        (status = 409, body = super::api::ErrorView, description = "The ticket was revoked")))]
pub(crate) async fn print(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    match tickets::ticket_pdf(&state, &who, &id).await {
        Ok((t, pdf)) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/pdf"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    super::header(&format!(
                        "attachment; filename=\"ticket-{}.pdf\"",
                        t.reference
                    )),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("private, no-store"),
                ),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// A ticket's calendar entry (.ics).
#[utoipa::path(get, path = "/api/v1/user-ticket/{id}/calendar", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/calendar", description = "An iCalendar VEVENT"),
        (status = 401, body = super::api::ErrorView), (status = 404, body = super::api::ErrorView)))]
pub(crate) async fn calendar(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    match tickets::ticket_ics(&state, &who, &id).await {
        Ok(ics) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/calendar; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_static("attachment; filename=\"event.ics\""),
                ),
            ],
            ics,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The tickets of an order.
#[utoipa::path(get, path = "/api/v1/orders/{id}/user-tickets", params(("id" = String, Path), ("lang" = Option<String>, Query)),
    responses((status = 200, body = Vec<TicketView>), (status = 401, body = super::api::ErrorView),
        (status = 404, body = super::api::ErrorView)))]
pub(crate) async fn of_order(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let result = async {
        let id = OrderId::parse(&id).ok_or(ServiceError::NotFound)?;
        tickets::tickets_of_order(&state, &who, &id).await
    };
    json(
        StatusCode::OK,
        result.await.map(|list| {
            list.iter()
                .map(|t| tickets::view(t, q.lang()))
                .collect::<Vec<_>>()
        }),
    )
}

/// Scans a code at a door (door staff of the event's organization, its
/// owners, admins): the answer is `valid` once per ticket, then
/// `already_used` with when, where and by whom. The scan's `nonce` makes a
/// retried upload answer the same and count once.
#[utoipa::path(post, path = "/api/v1/user-ticket/validate", request_body = ScanInput,
    params(("lang" = Option<String>, Query)),
    responses((status = 200, body = ScanView), (status = 401, body = super::api::ErrorView),
        (status = 404, body = super::api::ErrorView), (status = 422, body = super::api::ErrorView)))]
pub(crate) async fn validate(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<LangQuery>,
    Json(input): Json<ScanInput>,
) -> Response {
    json(
        StatusCode::OK,
        door::scan(&state, &who, &input, q.lang()).await,
    )
}

/// Body of a check-in by ticket id.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UseBody {
    /// Gate name.
    gate: String,
    /// The device.
    #[serde(default)]
    device: Option<String>,
    /// A fresh random id per check-in (retries answer the same).
    #[serde(default)]
    nonce: Option<String>,
}

/// Checks a ticket in by its id (found by name or order number).
#[utoipa::path(patch, path = "/api/v1/user-ticket/{id}/use", params(("id" = String, Path), ("lang" = Option<String>, Query)),
    request_body = UseBody,
    responses((status = 200, body = ScanView), (status = 401, body = super::api::ErrorView),
        (status = 404, body = super::api::ErrorView), (status = 422, body = super::api::ErrorView)))]
pub(crate) async fn use_ticket(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
    Json(body): Json<UseBody>,
) -> Response {
    let input = ScanInput {
        code: String::new(),
        event_id: String::new(),
        gate: body.gate,
        device: body.device,
        nonce: body.nonce,
        scanned_at_ms: None,
        offline: false,
    };
    json(
        StatusCode::OK,
        door::check_in(&state, &who, &id, &input, q.lang()).await,
    )
}

/// Why a check-in is undone.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct UndoBody {
    /// The reason, kept with the undone check-in.
    reason: String,
}

/// The organizer undoes a mistaken check-in (it stays recorded, with who
/// undid it and why).
#[utoipa::path(delete, path = "/api/v1/user-ticket/{id}/use", params(("id" = String, Path)), request_body = UndoBody,
    responses((status = 204), (status = 401, body = super::api::ErrorView), (status = 404, body = super::api::ErrorView),
        (status = 409, body = super::api::ErrorView, description = "Not checked in")))]
pub(crate) async fn undo(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Json(body): Json<UndoBody>,
) -> Response {
    match door::undo_check_in(&state, &who, &id, &body.reason).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Re-issues a ticket (organizer): a new code; the old one is refused.
#[utoipa::path(post, path = "/api/v1/user-ticket/{id}/reissue", params(("id" = String, Path)),
    responses((status = 201, body = TicketView), (status = 401, body = super::api::ErrorView),
        (status = 404, body = super::api::ErrorView), (status = 409, body = super::api::ErrorView)))]
pub(crate) async fn reissue(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    json(
        StatusCode::CREATED,
        tickets::reissue(&state, &who, &id).await,
    )
}

/// Refunds a paid order in full (organizer): its tickets are revoked at once.
#[utoipa::path(post, path = "/api/v1/orders/{id}/refund", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = super::api::ErrorView), (status = 404, body = super::api::ErrorView),
        (status = 409, body = super::api::ErrorView, description = "Not paid, or already refunded")))]
pub(crate) async fn refund(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id = OrderId::parse(&id).ok_or(ServiceError::NotFound)?;
        tickets::refund_order(&state, &who, &id).await
    };
    match result.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// What a scanner needs to verify an event's tickets offline: the public
/// key, the tiers, the revocation list and the tickets already admitted.
#[utoipa::path(get, path = "/api/v1/events/{id}/scanner", params(("id" = String, Path)),
    responses((status = 200, body = ScannerSetup), (status = 401, body = super::api::ErrorView),
        (status = 404, body = super::api::ErrorView)))]
pub(crate) async fn scanner(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async { door::scanner_setup(&state, &who, &event_id(&id)?).await };
    let mut res = json(StatusCode::OK, result.await);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The door dashboard: checked in / total per tier and gate, and conflicts.
#[utoipa::path(get, path = "/api/v1/events/{id}/door", params(("id" = String, Path), ("lang" = Option<String>, Query)),
    responses((status = 200, body = DoorView), (status = 401, body = super::api::ErrorView),
        (status = 404, body = super::api::ErrorView)))]
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let result = async { door::dashboard(&state, &who, &event_id(&id)?, q.lang()).await };
    let mut res = json(StatusCode::OK, result.await);
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The OpenAPI part of these routes (merged into `/api/v1/openapi.json`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        one, print, calendar, of_order, validate, use_ticket, undo, reissue, refund, scanner,
        dashboard
    ),
    components(schemas(
        TicketView,
        ScanInput,
        ScanView,
        ScannerSetup,
        DoorView,
        crate::server_fns::views::ConflictView,
        UseBody,
        UndoBody
    ))
)]
pub struct TicketsApiDoc;
