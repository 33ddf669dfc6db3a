//! The organizer's event management forms (plain HTML forms posting here,
//! redirecting back to the management page).

use leptos::prelude::*;

use super::views::{CodeInput, EventInput, EventManageView, TierInput};

#[cfg(feature = "ssr")]
use super::accounts::ssr;

#[cfg(feature = "ssr")]
fn event(id: &str) -> Result<crate::domain::EventId, crate::error::ServiceError> {
    crate::domain::EventId::parse(id).ok_or(crate::error::ServiceError::NotFound)
}

/// The management page's data.
#[server(prefix = "/_fn", endpoint = "organizer/event")]
pub async fn event_manage(id: String) -> Result<EventManageView, ServerFnError> {
    let c = ssr::ctx().await?;
    let result =
        async { crate::services::events::manage_view(&c.state, &c.who, &event(&id)?).await };
    result.await.map_err(ssr::load_error)
}

/// New event form.
#[server(prefix = "/_fn", endpoint = "organizer/event_create")]
pub async fn create_event(org_id: String, input: EventInput) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        let org =
            crate::domain::OrgId::parse(&org_id).ok_or(crate::error::ServiceError::NotFound)?;
        crate::services::events::create_event(&c.state, &c.who, &org, &input).await
    }
    .await;
    let ok = result
        .as_ref()
        .map(|id| format!("/organizer/events/{id}?notice=saved"))
        .unwrap_or_default();
    ssr::finish(result, &ok, &format!("/organizer/events/new?org={org_id}"))
}

/// Event details form.
#[server(prefix = "/_fn", endpoint = "organizer/event_update")]
pub async fn update_event(id: String, input: EventInput) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/organizer/events/{id}");
    let result = async {
        crate::services::events::update_event(&c.state, &c.who, &event(&id)?, &input).await
    }
    .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// Publish / unpublish buttons.
#[server(prefix = "/_fn", endpoint = "organizer/event_status")]
pub async fn set_event_published(id: String, publish: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/organizer/events/{id}");
    let result = async {
        crate::services::events::set_published(&c.state, &c.who, &event(&id)?, publish == "true")
            .await
    }
    .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// Delete button (events without orders).
#[server(prefix = "/_fn", endpoint = "organizer/event_delete")]
pub async fn delete_event(id: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result =
        async { crate::services::events::delete_event(&c.state, &c.who, &event(&id)?).await }.await;
    ssr::finish(
        result,
        "/organizer?notice=saved",
        &format!("/organizer/events/{id}"),
    )
}

/// Add-quota form.
#[server(prefix = "/_fn", endpoint = "organizer/quota_create")]
pub async fn create_quota(id: String, name: String, size: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/organizer/events/{id}");
    let result = async {
        let size: i64 = size.trim().parse().map_err(|_| {
            crate::error::ServiceError::Invalid("Enter the quota's size as a whole number.".into())
        })?;
        crate::services::events::create_quota(&c.state, &c.who, &event(&id)?, &name, size).await
    }
    .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// Add-tier form.
#[server(prefix = "/_fn", endpoint = "organizer/tier_create")]
pub async fn create_tier(id: String, input: TierInput) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/organizer/events/{id}");
    let result = async {
        crate::services::events::create_tier(&c.state, &c.who, &event(&id)?, &input).await
    }
    .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// Delete-tier button.
#[server(prefix = "/_fn", endpoint = "organizer/tier_delete")]
pub async fn delete_tier(id: String, tier_id: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/organizer/events/{id}");
    let result = async {
        let tier =
            crate::domain::TierId::parse(&tier_id).ok_or(crate::error::ServiceError::NotFound)?;
        crate::services::events::delete_tier(&c.state, &c.who, &event(&id)?, &tier).await
    }
    .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// Add-code form.
#[server(prefix = "/_fn", endpoint = "organizer/code_create")]
pub async fn create_code(id: String, input: CodeInput) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/organizer/events/{id}");
    let result = async {
        crate::services::events::create_code(&c.state, &c.who, &event(&id)?, &input).await
    }
    .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// Delete-code button.
#[server(prefix = "/_fn", endpoint = "organizer/code_delete")]
pub async fn delete_code(id: String, code_id: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/organizer/events/{id}");
    let result = async {
        crate::services::events::delete_code(&c.state, &c.who, &event(&id)?, &code_id).await
    }
    .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// Seat-map CSV import form (replaces the map).
#[server(prefix = "/_fn", endpoint = "organizer/seats_import")]
pub async fn import_seats(id: String, csv: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/organizer/events/{id}");
    let result =
        async { crate::services::seats::import_csv(&c.state, &c.who, &event(&id)?, &csv).await }
            .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// Seat grid form: adds a section of rows × seats.
#[server(prefix = "/_fn", endpoint = "organizer/seats_grid")]
pub async fn add_seat_grid(
    id: String,
    section: String,
    first_row: String,
    rows: String,
    per_row: String,
    tier: String,
) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/organizer/events/{id}");
    let result = async {
        let bad = || {
            crate::error::ServiceError::Invalid(
                "Give the first row as a capital letter and the numbers of rows and seats per row."
                    .into(),
            )
        };
        let first = first_row
            .trim()
            .chars()
            .next()
            .ok_or_else(bad)?
            .to_ascii_uppercase();
        let rows: u32 = rows.trim().parse().map_err(|_| bad())?;
        let per_row: u32 = per_row.trim().parse().map_err(|_| bad())?;
        crate::services::seats::add_grid(
            &c.state,
            &c.who,
            &event(&id)?,
            &crate::services::seats::GridSpec {
                section,
                first_row: first,
                rows,
                per_row,
                tier,
            },
        )
        .await
    }
    .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// The seat map (for the event and management pages).
#[server(prefix = "/_fn", endpoint = "events/seatmap")]
pub async fn seat_map(id: String) -> Result<super::views::SeatMapView, ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async { crate::services::seats::seat_map(&c.state, &c.who, &event(&id)?).await };
    result.await.map_err(ssr::load_error)
}
