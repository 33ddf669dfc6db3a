//! Reading the catalogue: listings and the event page.

use leptos::prelude::*;

use super::views::{EventListView, EventPageView};
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
pub async fn event_page(slug: String, lang: Lang) -> Result<Option<EventPageView>, ServerFnError> {
    let state = expect_context::<crate::state::AppState>();
    crate::services::catalogue::event_page(&state, &slug, lang)
        .await
        .map_err(|e| ServerFnError::new(e.public_message()))
}
