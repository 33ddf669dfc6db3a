//! Reading the catalogue: listings and the event page.

use leptos::prelude::*;

use super::views::{EventListView, EventPageView, SearchParams};
use crate::domain::money::Lang;

/// Upcoming published events, one page at a time (1-based).
#[server(prefix = "/_fn", endpoint = "events/list")]
pub async fn list_events(page: u32, lang: Lang) -> Result<EventListView, ServerFnError> {
    let state = expect_context::<crate::state::AppState>();
    crate::services::catalogue::list_upcoming(&state, page, lang)
        .await
        .map_err(|e| ServerFnError::new(e.public_message()))
}

/// One event by its slug; `None` when it does not exist or is not published.
#[server(prefix = "/_fn", endpoint = "events/page")]
pub async fn event_page(
    slug: String,
    lang: Lang,
    code: Option<String>,
) -> Result<Option<EventPageView>, ServerFnError> {
    let state = expect_context::<crate::state::AppState>();
    crate::services::catalogue::event_page(&state, &slug, lang, code.as_deref())
        .await
        .map_err(|e| ServerFnError::new(e.public_message()))
}

/// Searches upcoming published events (the `/events` page).
#[server(prefix = "/_fn", endpoint = "events/search")]
pub async fn search_events(
    params: SearchParams,
    lang: Lang,
) -> Result<EventListView, ServerFnError> {
    let state = expect_context::<crate::state::AppState>();
    crate::services::catalogue::search(&state, &params, lang)
        .await
        .map_err(|e| ServerFnError::new(e.public_message()))
}
