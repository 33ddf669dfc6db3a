//! `/api/v1/events…`: the public catalogue and organizers' management of
//! events, quotas and tiers.

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, put},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    domain::{EventId, EventStatus, OrgId, QuotaId, TierId, money::Lang},
    error::ServiceError,
    services::{
        authz::Identity,
        catalogue,
        events::{self, EventInput, TierInput},
    },
    state::AppState,
};

/// The routes, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list).post(create))
        .route("/events/{id}", get(one).put(update).delete(delete))
        .route("/events/{id}/tickets", get(tickets))
        .route("/events/{id}/quotas", axum::routing::post(create_quota))
        .route(
            "/events/{id}/quotas/{quota_id}",
            put(update_quota).delete(delete_quota),
        )
        .route("/events/{id}/tiers", axum::routing::post(create_tier))
        .route(
            "/events/{id}/tiers/{tier_id}",
            put(update_tier).delete(delete_tier),
        )
        .route(
            "/events/{id}/banner",
            put(put_banner)
                .post(post_banner)
                .layer(axum::extract::DefaultBodyLimit::max(
                    super::super::services::banners::MAX_BYTES + 64 * 1024,
                )),
        )
        .route(
            "/events/{id}/seatmap",
            get(seat_map).put(put_seat_map).delete(delete_seat_map),
        )
        .route("/events/{id}/codes", get(list_codes).post(create_code))
        .route(
            "/events/{id}/codes/{code_id}",
            put(update_code).delete(delete_code),
        )
}

fn event_id(id: &str) -> Result<EventId, ServiceError> {
    EventId::parse(id).ok_or(ServiceError::NotFound)
}

fn respond<T: Serialize>(status: StatusCode, result: Result<T, ServiceError>) -> Response {
    match result {
        Ok(v) => (status, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn no_content(result: Result<(), ServiceError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Listing query: the search filters plus the language of dates and prices.
#[derive(Deserialize)]
pub(crate) struct ListQuery {
    #[serde(flatten)]
    search: crate::services::catalogue::SearchParams,
    #[serde(default)]
    lang: Option<String>,
}

/// Upcoming published events matching the filters, a page at a time.
#[utoipa::path(get, path = "/api/v1/events", params(("q" = Option<String>, Query), ("category" = Option<String>, Query),
    ("city" = Option<String>, Query), ("from" = Option<String>, Query, description = "YYYY-MM-DD"),
    ("to" = Option<String>, Query, description = "YYYY-MM-DD, inclusive"), ("min_price" = Option<i64>, Query),
    ("max_price" = Option<i64>, Query), ("free" = Option<bool>, Query),
    ("sort" = Option<String>, Query, description = "date or price"), ("page" = Option<u32>, Query),
    ("lang" = Option<String>, Query)),
    responses((status = 200, description = "A page of events"), (status = 422)))]
pub(crate) async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let lang = q.lang.as_deref().and_then(Lang::parse).unwrap_or_default();
    respond(
        StatusCode::OK,
        catalogue::search(&state, &q.search, lang).await,
    )
}

async fn published(
    state: &AppState,
    id: &str,
) -> Result<crate::server_fns::views::EventPageView, ServiceError> {
    let event = state
        .store
        .event(&event_id(id)?)
        .await?
        .ok_or(ServiceError::NotFound)?;
    catalogue::event_page(state, &event.slug, Lang::En, None)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// A published event.
#[utoipa::path(get, path = "/api/v1/events/{id}", params(("id" = String, Path)),
    responses((status = 200, description = "The event"), (status = 404)))]
pub(crate) async fn one(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(StatusCode::OK, published(&state, &id).await)
}

/// A published event's tiers with live availability.
#[utoipa::path(get, path = "/api/v1/events/{id}/tickets", params(("id" = String, Path)),
    responses((status = 200, description = "Tiers"), (status = 404)))]
pub(crate) async fn tickets(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    respond(
        StatusCode::OK,
        published(&state, &id).await.map(|e| e.tiers),
    )
}

/// A new event: its organization and its fields.
#[derive(Deserialize, ToSchema)]
pub struct NewEventBody {
    /// The organization (its owners may create events).
    pub org_id: String,
    /// The event.
    #[serde(flatten)]
    pub event: EventInput,
}

/// A created object.
#[derive(Serialize, ToSchema)]
pub struct Created {
    /// Its id.
    pub id: String,
}

/// Creates a draft event (owners of an approved organization, admins).
#[utoipa::path(post, path = "/api/v1/events", request_body = NewEventBody,
    responses((status = 201, body = Created), (status = 401), (status = 404), (status = 422)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Json(b): Json<NewEventBody>,
) -> Response {
    let result = async {
        let org = OrgId::parse(&b.org_id).ok_or(ServiceError::NotFound)?;
        events::create_event(&state, &who, &org, &b.event).await
    };
    respond(
        StatusCode::CREATED,
        result.await.map(|id| Created { id: id.to_string() }),
    )
}

/// An event update; `status` publishes or unpublishes.
#[derive(Deserialize, ToSchema)]
pub struct UpdateEventBody {
    /// The event's fields.
    #[serde(flatten)]
    pub event: EventInput,
    /// `published` or `draft`, to change the status.
    #[serde(default)]
    pub status: Option<String>,
}

/// Updates an event, and publishes or unpublishes it.
#[utoipa::path(put, path = "/api/v1/events/{id}", params(("id" = String, Path)), request_body = UpdateEventBody,
    responses((status = 204), (status = 401), (status = 404), (status = 409), (status = 422)))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Json(b): Json<UpdateEventBody>,
) -> Response {
    let result = async {
        let id = event_id(&id)?;
        events::update_event(&state, &who, &id, &b.event).await?;
        match b.status.as_deref().map(EventStatus::parse) {
            None => Ok(()),
            Some(Some(EventStatus::Published)) => {
                events::set_published(&state, &who, &id, true).await
            }
            Some(Some(EventStatus::Draft)) => events::set_published(&state, &who, &id, false).await,
            Some(Some(EventStatus::Cancelled)) => events::cancel_event(&state, &who, &id).await,
            Some(_) => Err(ServiceError::Invalid(
                "status must be published or draft".into(),
            )),
        }
    };
    no_content(result.await)
}

/// Deletes an event that never had an order.
#[utoipa::path(delete, path = "/api/v1/events/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404), (status = 409)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async { events::delete_event(&state, &who, &event_id(&id)?).await };
    no_content(result.await)
}

/// A quota.
#[derive(Deserialize, ToSchema)]
pub struct QuotaBody {
    /// Name (e.g. "Venue capacity").
    pub name: String,
    /// Units of stock.
    pub size: i64,
}

/// Adds a quota.
#[utoipa::path(post, path = "/api/v1/events/{id}/quotas", params(("id" = String, Path)), request_body = QuotaBody,
    responses((status = 201, body = Created), (status = 401), (status = 404), (status = 422)))]
pub(crate) async fn create_quota(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Json(b): Json<QuotaBody>,
) -> Response {
    let result =
        async { events::create_quota(&state, &who, &event_id(&id)?, &b.name, b.size).await };
    respond(
        StatusCode::CREATED,
        result.await.map(|id| Created { id: id.to_string() }),
    )
}

/// Renames or resizes a quota (never below sold + held).
#[utoipa::path(put, path = "/api/v1/events/{id}/quotas/{quota_id}", params(("id" = String, Path), ("quota_id" = String, Path)),
    request_body = QuotaBody, responses((status = 204), (status = 401), (status = 404), (status = 422)))]
pub(crate) async fn update_quota(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, quota)): Path<(String, String)>,
    Json(b): Json<QuotaBody>,
) -> Response {
    let result = async {
        let quota = QuotaId::parse(&quota).ok_or(ServiceError::NotFound)?;
        events::update_quota(&state, &who, &event_id(&id)?, &quota, &b.name, b.size).await
    };
    no_content(result.await)
}

/// Adds a tier.
#[utoipa::path(post, path = "/api/v1/events/{id}/tiers", params(("id" = String, Path)), request_body = TierInput,
    responses((status = 201, body = Created), (status = 401), (status = 404), (status = 422)))]
pub(crate) async fn create_tier(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Json(b): Json<TierInput>,
) -> Response {
    let result = async { events::create_tier(&state, &who, &event_id(&id)?, &b).await };
    respond(
        StatusCode::CREATED,
        result.await.map(|id| Created { id: id.to_string() }),
    )
}

/// Changes a tier.
#[utoipa::path(put, path = "/api/v1/events/{id}/tiers/{tier_id}", params(("id" = String, Path), ("tier_id" = String, Path)),
    request_body = TierInput, responses((status = 204), (status = 401), (status = 404), (status = 422)))]
pub(crate) async fn update_tier(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, tier)): Path<(String, String)>,
    Json(b): Json<TierInput>,
) -> Response {
    let result = async {
        let tier = TierId::parse(&tier).ok_or(ServiceError::NotFound)?;
        events::update_tier(&state, &who, &event_id(&id)?, &tier, &b).await
    };
    no_content(result.await)
}

/// Deletes a tier that was never ordered.
#[utoipa::path(delete, path = "/api/v1/events/{id}/tiers/{tier_id}", params(("id" = String, Path), ("tier_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404), (status = 409)))]
pub(crate) async fn delete_tier(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, tier)): Path<(String, String)>,
) -> Response {
    let result = async {
        let tier = TierId::parse(&tier).ok_or(ServiceError::NotFound)?;
        events::delete_tier(&state, &who, &event_id(&id)?, &tier).await
    };
    no_content(result.await)
}

/// The codes of an event (owners, admins).
#[utoipa::path(get, path = "/api/v1/events/{id}/codes", params(("id" = String, Path)),
    responses((status = 200, body = [events::CodeView]), (status = 401), (status = 404)))]
pub(crate) async fn list_codes(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async { events::codes(&state, &who, &event_id(&id)?).await };
    respond(StatusCode::OK, result.await)
}

/// Adds a discount or access code.
#[utoipa::path(post, path = "/api/v1/events/{id}/codes", params(("id" = String, Path)), request_body = events::CodeInput,
    responses((status = 201, body = Created), (status = 401), (status = 404), (status = 409), (status = 422)))]
pub(crate) async fn create_code(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Json(b): Json<events::CodeInput>,
) -> Response {
    let result = async { events::create_code(&state, &who, &event_id(&id)?, &b).await };
    respond(StatusCode::CREATED, result.await.map(|id| Created { id }))
}

/// Changes a code.
#[utoipa::path(put, path = "/api/v1/events/{id}/codes/{code_id}", params(("id" = String, Path), ("code_id" = String, Path)),
    request_body = events::CodeInput, responses((status = 204), (status = 401), (status = 404), (status = 409), (status = 422)))]
pub(crate) async fn update_code(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, code)): Path<(String, String)>,
    Json(b): Json<events::CodeInput>,
) -> Response {
    let result = async { events::update_code(&state, &who, &event_id(&id)?, &code, &b).await };
    no_content(result.await)
}

/// Deletes a code that was never used.
#[utoipa::path(delete, path = "/api/v1/events/{id}/codes/{code_id}", params(("id" = String, Path), ("code_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404), (status = 409)))]
pub(crate) async fn delete_code(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, code)): Path<(String, String)>,
) -> Response {
    let result = async { events::delete_code(&state, &who, &event_id(&id)?, &code).await };
    no_content(result.await)
}

/// Replaces the event's banner with the image in the body (JPG, PNG or WebP,
/// at most 5 MB). It is checked by decoding, resized and stripped of metadata.
#[utoipa::path(put, path = "/api/v1/events/{id}/banner", params(("id" = String, Path)),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 204), (status = 401), (status = 404), (status = 422)))]
pub(crate) async fn put_banner(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let result = async {
        crate::services::banners::upload(&state, &who, &event_id(&id)?, body.to_vec()).await
    };
    no_content(result.await)
}

/// The same from an HTML form (`multipart/form-data`, field `banner`). A
/// browser is sent back to the management page with a notice or an error.
#[utoipa::path(post, path = "/api/v1/events/{id}/banner", params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data"),
    responses((status = 204), (status = 303), (status = 401), (status = 404), (status = 422)))]
pub(crate) async fn post_banner(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    mut form: axum::extract::Multipart,
) -> Response {
    let result = async {
        let mut bytes = None;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|_| ServiceError::Invalid("The upload was cut off; try again.".into()))?
        {
            if field.name() == Some("banner") {
                bytes = Some(field.bytes().await.map_err(|_| {
                    ServiceError::Invalid("The banner must be at most 5 MB.".into())
                })?);
            }
        }
        let bytes =
            bytes.ok_or_else(|| ServiceError::Invalid("Choose an image file to upload.".into()))?;
        crate::services::banners::upload(&state, &who, &event_id(&id)?, bytes.to_vec()).await
    };
    let result = result.await;
    let browser = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !browser {
        return no_content(result);
    }
    let back = format!("/organizer/events/{id}");
    let to = match result {
        Ok(()) => format!("{back}?notice=saved"),
        Err(ServiceError::Unauthenticated) => "/signin".to_owned(),
        Err(e) => format!(
            "{back}?{}",
            serde_urlencoded::to_string([("error", e.public_message())]).unwrap_or_default()
        ),
    };
    axum::response::Redirect::to(&to).into_response()
}

/// The seat map with each seat's status (published events; drafts for their
/// organizers).
#[utoipa::path(get, path = "/api/v1/events/{id}/seatmap", params(("id" = String, Path)),
    responses((status = 200, description = "Sections, rows and seats"), (status = 404)))]
pub(crate) async fn seat_map(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async { crate::services::seats::seat_map(&state, &who, &event_id(&id)?).await };
    respond(StatusCode::OK, result.await)
}

/// Replaces the seat map from CSV: `section,row,number[,kind[,tier[,blocked]]]`
/// per line (kind: standard, wheelchair, companion; blocked: yes/no).
#[utoipa::path(put, path = "/api/v1/events/{id}/seatmap", params(("id" = String, Path)),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 204), (status = 401), (status = 404), (status = 422)))]
pub(crate) async fn put_seat_map(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let result = async {
        crate::services::seats::import_csv(&state, &who, &event_id(&id)?, &body)
            .await
            .map(|_| ())
    };
    no_content(result.await)
}

/// Deletes a quota no tier draws on and nothing was taken from.
#[utoipa::path(delete, path = "/api/v1/events/{id}/quotas/{quota_id}", params(("id" = String, Path), ("quota_id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404), (status = 409)))]
pub(crate) async fn delete_quota(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, quota)): Path<(String, String)>,
) -> Response {
    let result = async {
        let quota = QuotaId::parse(&quota).ok_or(ServiceError::NotFound)?;
        events::delete_quota(&state, &who, &event_id(&id)?, &quota).await
    };
    no_content(result.await)
}

/// Removes the seat map (general admission).
#[utoipa::path(delete, path = "/api/v1/events/{id}/seatmap", params(("id" = String, Path)),
    responses((status = 204), (status = 401), (status = 404)))]
pub(crate) async fn delete_seat_map(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async { crate::services::seats::clear(&state, &who, &event_id(&id)?).await };
    no_content(result.await)
}
