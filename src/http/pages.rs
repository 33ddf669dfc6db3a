//! Plain-HTTP companions of the pages, for browsers without WASM: the
//! language switch and the event page's forms (quantities, seats, best
//! available).

use axum::{
    Form,
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::provide_context;
use serde::Deserialize;

use crate::{
    app,
    domain::money::Lang,
    error::ServiceError,
    services::{
        authz::Identity,
        holds::{self, BestAvailable, HoldRequest, TierPick},
    },
    state::AppState,
    ui::EventForm,
};

/// The cookie leptos_i18n reads the preferred language from.
pub const LOCALE_COOKIE: &str = "i18n_pref_locale";

/// Form of the language switch.
#[derive(Deserialize)]
pub struct LocaleForm {
    lang: String,
    #[serde(default)]
    back: String,
}

/// `POST /locale`: remembers the language for a year and goes back to the page.
pub async fn switch_locale(Form(form): Form<LocaleForm>) -> Response {
    let Some(lang) = Lang::parse(&form.lang) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Unknown language: choose en or id.",
        )
            .into_response();
    };
    // Only local paths, never "//evil.example" or absolute URLs.
    let back = if form.back.starts_with('/')
        && !form.back.starts_with("//")
        && !form.back.contains('\\')
    {
        form.back
    } else {
        "/".to_owned()
    };
    let cookie = format!(
        "{LOCALE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.tag()
    );
    let mut res = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `POST /events/{slug}`: the event page's forms, with or without WASM.
///
/// - no `action`: the tier picker's "update subtotal" (renders the page with
///   the server-computed subtotal);
/// - `action=hold`: holds the picked quantities (`qty.<tier id>`) and seats
///   (`seat`), with the `code` if one was applied;
/// - `action=best`: holds the best available `best_count` seats of
///   `best_section` (`best_accessible` for a wheelchair space with companions).
///
/// A hold redirects to its order page; a refusal renders the page again with
/// the reason and the buyer's picks kept.
pub async fn event_form(
    State(state): State<AppState>,
    axum::extract::Path(slug): axum::extract::Path<String>,
    req: Request<Body>,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response(),
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut form = EventForm {
        picked: fields
            .iter()
            .filter_map(|(k, v)| {
                let tier = k.strip_prefix("qty.")?.to_owned();
                Some((tier, v.trim().parse::<u32>().unwrap_or(0)))
            })
            .collect(),
        seats: fields
            .iter()
            .filter(|(k, _)| k == "seat")
            .map(|(_, v)| v.clone())
            .collect(),
        ..EventForm::default()
    };
    let action = field("action");
    let mut status = StatusCode::OK;
    if action == "signin_send" || action == "signin_code" {
        match inline_sign_in(&state, &parts, &action, &field("email"), &field("code")).await {
            Ok(()) => {
                return Redirect::to(&format!("/events/{slug}?notice=signed_in")).into_response();
            }
            Err(Some(e)) => {
                status = e.status();
                form.sign_in.error = Some(e.public_message());
            }
            Err(None) => {}
        }
        form.sign_in.email = field("email");
        form.sign_in.sent = true;
    }
    if action == "hold" || action == "best" {
        let who = parts
            .extensions
            .get::<Identity>()
            .cloned()
            .unwrap_or_default();
        let lang = lang_of_request(&parts);
        let result = async {
            let event = state
                .store
                .event_by_slug(&slug)
                .await?
                .ok_or(ServiceError::NotFound)?;
            let request = HoldRequest {
                event_id: event.id,
                tiers: form
                    .picked
                    .iter()
                    .map(|(tier_id, quantity)| TierPick {
                        tier_id: tier_id.clone(),
                        quantity: *quantity,
                    })
                    .collect(),
                seats: form.seats.clone(),
                best_available: (action == "best").then(|| BestAvailable {
                    section: field("best_section"),
                    quantity: field("best_count").parse().unwrap_or(0),
                    accessible: !field("best_accessible").is_empty(),
                }),
                code: Some(field("code")).filter(|c| !c.is_empty()),
            };
            holds::take_hold(&state, &who, &request, lang).await
        };
        match result.await {
            Ok(order) => return Redirect::to(&format!("/orders/{}", order.id)).into_response(),
            Err(ServiceError::Unauthenticated) => {
                let next = serde_urlencoded::to_string([("next", format!("/events/{slug}"))])
                    .unwrap_or_default();
                return Redirect::to(&format!("/signin?{next}")).into_response();
            }
            Err(e) => {
                status = e.status();
                form.error = Some(e.public_message());
            }
        }
    }
    // Render the page as for a GET, with the form in context.
    let mut get = Request::from_parts(parts, Body::empty());
    *get.method_mut() = Method::GET;
    let handler = leptos_axum::render_app_async_with_context(
        {
            let state = state.clone();
            move || {
                provide_context(state.clone());
                provide_context(form.clone());
                super::security::provide_request_nonce();
            }
        },
        {
            let opts = state.leptos.clone();
            move || app::shell(opts.clone())
        },
    );
    let mut res = handler(get).await;
    if res.status() == StatusCode::OK {
        *res.status_mut() = status;
    }
    res
}

/// The event page's inline passwordless sign-in, for a buyer who is not
/// signed in: `signin_send` emails a code, `signin_code` checks it and signs
/// the session in. `Err(None)` means "code sent, show the code field".
async fn inline_sign_in(
    state: &AppState,
    parts: &axum::http::request::Parts,
    action: &str,
    email: &str,
    code: &str,
) -> Result<(), Option<ServiceError>> {
    let ip = parts
        .extensions
        .get::<super::identity::ClientIp>()
        .map(|c| c.0)
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    if action == "signin_send" {
        return match crate::services::accounts::send_sign_in_code(
            state,
            email,
            ip,
            lang_of_request(parts),
        )
        .await
        {
            Ok(()) => Err(None),
            Err(e) => Err(Some(e)),
        };
    }
    let session = parts
        .extensions
        .get::<tower_sessions::Session>()
        .ok_or_else(|| Some(ServiceError::Internal(anyhow::anyhow!("no session layer"))))?;
    let account = crate::services::accounts::sign_in_with_code(state, email, code, ip)
        .await
        .map_err(Some)?;
    super::identity::sign_in(session, &account)
        .await
        .map_err(|e| Some(ServiceError::Internal(e)))
}

/// The language the page will be rendered in (the locale cookie).
fn lang_of_request(parts: &axum::http::request::Parts) -> Lang {
    lang_of_headers(&parts.headers)
}

/// The language pages are rendered in (the locale cookie), from request headers.
pub fn lang_of_headers(headers: &axum::http::HeaderMap) -> Lang {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(LOCALE_COOKIE)?.strip_prefix('='))
        .find_map(Lang::parse)
        .unwrap_or_default()
}

/// `GET /media/<key>`: an uploaded banner image. Keys are unique per upload,
/// so responses may be cached forever.
pub async fn media(
    State(state): State<AppState>,
    axum::extract::Path(key): axum::extract::Path<String>,
) -> Response {
    if !key.starts_with("banners/") || !key.ends_with(".jpg") {
        return StatusCode::NOT_FOUND.into_response();
    }
    match state.files.get(&key).await {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => crate::error::ServiceError::Internal(e).into_response(),
    }
}
