//! Reading the catalogue: what attendees browse.

use crate::{
    domain::{
        Availability, Currency, EventId, EventStatus, Money, Timestamp,
        catalogue::{sale_window_open, unit_price_at},
        money::Lang,
    },
    error::ServiceError,
    server_fns::views::{EventCardView, EventListView, EventPageView, TierView},
    services::format,
    state::AppState,
};

/// Upcoming published events, `page` is 1-based (0 is treated as 1).
#[tracing::instrument(skip(state))]
pub async fn list_upcoming(
    state: &AppState,
    page: u32,
    lang: Lang,
) -> Result<EventListView, ServiceError> {
    let size = i64::from(state.config.settings.page_size);
    let page = page.max(1);
    let result = state
        .store
        .list_upcoming_events(state.now(), size, (i64::from(page) - 1) * size)
        .await?;
    let items = result
        .items
        .into_iter()
        .map(|e| {
            let currency = Currency::parse(&e.currency).unwrap_or(Currency::IDR);
            EventCardView {
                when: format::when(Timestamp::from_millis(e.starts_at), &e.time_zone, lang),
                from_price: e
                    .min_price_minor
                    .map(|p| Money::from_minor(p, currency).format(lang)),
                free: e.min_price_minor == Some(0),
                slug: e.slug,
                title: e.title,
                category: e.category,
                venue: e.venue,
                city: e.city,
            }
        })
        .collect();
    let pages = u32::try_from(((result.total + size - 1) / size).max(1)).unwrap_or(u32::MAX);
    Ok(EventListView {
        items,
        page,
        pages,
        total: result.total,
    })
}

/// A published event with its visible tiers and live availability.
/// Drafts and unknown slugs are both `None`, so outsiders cannot tell them apart.
#[tracing::instrument(skip(state))]
pub async fn event_page(
    state: &AppState,
    slug: &str,
    lang: Lang,
) -> Result<Option<EventPageView>, ServiceError> {
    let Some(ev) = state.store.event_by_slug(slug).await? else {
        return Ok(None);
    };
    if ev.status() != EventStatus::Published {
        return Ok(None);
    }
    let currency = Currency::parse(&ev.currency).map_err(|e| {
        ServiceError::Internal(anyhow::anyhow!("event {} has a bad currency: {e}", ev.id))
    })?;
    let now = state.now();
    let event_open = now < Timestamp::from_millis(ev.ends_at);
    let tiers = state
        .store
        .tiers_of_event(&EventId::from_string(ev.id.clone()))
        .await?
        .into_iter()
        .filter(|t| !t.hidden)
        .map(|t| {
            let available = Availability::of_tier(&t.quotas);
            let price = unit_price_at(t.price_minor, t.early_bird, now);
            let on_sale = event_open && sale_window_open(now, t.sale_starts_at, t.sale_ends_at);
            TierView {
                id: t.id.to_string(),
                price_label: Money::from_minor(price, currency).format(lang),
                max_pickable: if on_sale {
                    available.max_pickable(t.max_per_order)
                } else {
                    0
                },
                sold_out: available.is_sold_out(),
                available: available.0,
                on_sale,
                name: t.name,
                description: t.description,
                price_minor: price,
            }
        })
        .collect();
    Ok(Some(EventPageView {
        when: format::when(Timestamp::from_millis(ev.starts_at), &ev.time_zone, lang),
        until: format::when(Timestamp::from_millis(ev.ends_at), &ev.time_zone, lang),
        slug: ev.slug,
        title: ev.title,
        organizer: ev.org_name,
        description: ev.description,
        category: ev.category,
        venue: ev.venue,
        address: ev.address,
        city: ev.city,
        time_zone: ev.time_zone,
        currency,
        lang,
        tiers,
    }))
}
