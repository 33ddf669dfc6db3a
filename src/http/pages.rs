//! Plain-HTTP companions of the pages, for browsers without WASM: the
//! language switch and the tier picker's form post.

use std::collections::HashMap;

use axum::{
    Form,
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::provide_context;
use serde::Deserialize;

use crate::{app, domain::money::Lang, state::AppState, ui::PickedQuantities};

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

/// `POST /events/{slug}`: the tier picker without WASM. Reads the chosen
/// quantities (`qty.<tier id>` fields) and renders the event page with the
/// server-computed subtotal.
pub async fn event_quote(State(state): State<AppState>, req: Request<Body>) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.").into_response(),
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let picked: HashMap<String, u32> = fields
        .into_iter()
        .filter_map(|(k, v)| {
            let tier = k.strip_prefix("qty.")?.to_owned();
            let n = v.trim().parse::<u32>().unwrap_or(0);
            Some((tier, n))
        })
        .collect();
    // Render the page as for a GET, with the picks in context.
    let mut get = Request::from_parts(parts, Body::empty());
    *get.method_mut() = Method::GET;
    let handler = leptos_axum::render_app_async_with_context(
        {
            let state = state.clone();
            move || {
                provide_context(state.clone());
                provide_context(PickedQuantities(picked.clone()));
                super::security::provide_request_nonce();
            }
        },
        {
            let opts = state.leptos.clone();
            move || app::shell(opts.clone())
        },
    );
    handler(get).await
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
