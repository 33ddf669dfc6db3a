//! Reading the catalogue: what attendees browse.

use crate::{
    domain::{
        Availability, Category, Currency, EventId, EventStatus, Money, Timestamp,
        catalogue::{sale_window_open, unit_price_at},
        money::Lang,
    },
    error::ServiceError,
    server_fns::views::{EventCardView, EventListView, EventPageView, TierView},
    services::format,
    state::AppState,
    store::{
        EventCard, Page,
        catalogue::{EventSearch, EventSort},
    },
};

pub use crate::server_fns::views::SearchParams;

fn day(s: &str, field: &str) -> Result<Option<Timestamp>, ServiceError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let d: jiff::civil::Date = s.parse().map_err(|_| {
        ServiceError::Invalid(format!("The {field} date must look like 2026-12-31."))
    })?;
    let ts = d
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|_| ServiceError::Invalid(format!("The {field} date is out of range.")))?;
    Ok(Some(Timestamp::from_millis(
        ts.timestamp().as_millisecond(),
    )))
}

fn amount(s: &str, field: &str) -> Result<Option<i64>, ServiceError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .map(Some)
        .ok_or_else(|| {
            ServiceError::Invalid(format!(
                "The {field} must be a whole number of zero or more."
            ))
        })
}

impl SearchParams {
    /// Parses into a store query (page size and clock from the state).
    pub fn to_search(&self, now: Timestamp, page_size: i64) -> Result<EventSearch, ServiceError> {
        let category = match self.category.trim() {
            "" => None,
            c => Some(
                Category::parse(c)
                    .ok_or_else(|| ServiceError::Invalid(format!("Unknown category {c:?}.")))?,
            ),
        };
        let page: i64 = self.page.trim().parse().unwrap_or(1).max(1);
        Ok(EventSearch {
            terms: crate::domain::search::terms(&self.q),
            category,
            city: Some(self.city.trim().to_owned()).filter(|c| !c.is_empty()),
            from: day(&self.from, "from")?,
            // The last day is inclusive: up to the next midnight.
            to: day(&self.to, "to")?.map(|t| t.plus_minutes(24 * 60)),
            min_price: amount(&self.min_price, "minimum price")?,
            max_price: amount(&self.max_price, "maximum price")?,
            free_only: matches!(self.free.trim(), "1" | "on" | "true"),
            sort: if self.sort.trim() == "price" {
                EventSort::Price
            } else {
                EventSort::Date
            },
            limit: page_size,
            offset: (page - 1) * page_size,
            now,
        })
    }
}

/// Searches upcoming published events. Results are cached in this process
/// for a short, configurable time, and dropped whenever this instance changes
/// the catalogue.
#[tracing::instrument(skip(state))]
pub async fn search(
    state: &AppState,
    params: &SearchParams,
    lang: Lang,
) -> Result<EventListView, ServiceError> {
    let now = state.now();
    if let Some(hit) = state.listings.get(params, lang, now) {
        return Ok(hit);
    }
    let size = i64::from(state.config.settings.page_size);
    let q = params.to_search(now, size)?;
    let page = u32::try_from(q.offset / size + 1).unwrap_or(1);
    let view = cards(state.store.search_events(&q).await?, page, size, lang);
    state.listings.put(params, lang, now, view.clone());
    Ok(view)
}

fn cards(result: Page<EventCard>, page: u32, size: i64, lang: Lang) -> EventListView {
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
    EventListView {
        items,
        page,
        pages,
        total: result.total,
    }
}

/// Upcoming published events, `page` is 1-based (0 is treated as 1).
#[tracing::instrument(skip(state))]
pub async fn list_upcoming(
    state: &AppState,
    page: u32,
    lang: Lang,
) -> Result<EventListView, ServiceError> {
    let params = SearchParams {
        page: page.max(1).to_string(),
        ..SearchParams::default()
    };
    search(state, &params, lang).await
}

/// A published event with its visible tiers and live availability.
/// Drafts and unknown slugs are both `None`, so outsiders cannot tell them apart.
#[tracing::instrument(skip(state))]
///
/// With a `code`, hidden tiers that the code unlocks are shown too; a code
/// that does not work here is reported in `code_error`.
pub async fn event_page(
    state: &AppState,
    slug: &str,
    lang: Lang,
    code: Option<&str>,
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
    let extras = state
        .store
        .event_extras(&EventId::from_string(ev.id.clone()))
        .await?
        .ok_or(ServiceError::NotFound)?;
    let now = state.now();
    // A typed code: which hidden tiers it reveals, or why it does not work.
    let (mut unlocked, mut code_applied, mut code_error) = (Vec::new(), None, None);
    if let Some(raw) = code.map(str::trim).filter(|c| !c.is_empty()) {
        let event_id = EventId::from_string(ev.id.clone());
        let found = match crate::domain::codes::normalize_code(raw) {
            Some(c) => state.store.code_by_text(&event_id, &c).await?,
            None => None,
        };
        match found {
            Some(row) if row.rules().valid_at(now) => {
                unlocked = row.rules().unlocks;
                code_applied = Some(row.code);
            }
            Some(_) => code_error = Some("This code is not valid right now.".to_owned()),
            None => code_error = Some("This code is not valid for this event.".to_owned()),
        }
    }
    let event_open = now < Timestamp::from_millis(ev.ends_at);
    let event_id = EventId::from_string(ev.id.clone());
    let seat_map = crate::services::seats::build_view(state, &event_id).await?;
    let seated: std::collections::HashSet<String> = state
        .store
        .seats_of_event(&event_id)
        .await?
        .into_iter()
        .filter_map(|s| s.tier_id)
        .collect();
    let tiers = state
        .store
        .tiers_of_event(&EventId::from_string(ev.id.clone()), now)
        .await?
        .into_iter()
        .filter(|t| !t.hidden || unlocked.iter().any(|u| u == t.id.as_str()))
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
                seated: seated.contains(t.id.as_str()),
                name: t.name,
                description: t.description,
                price_minor: price,
            }
        })
        .collect();
    Ok(Some(EventPageView {
        id: ev.id.clone(),
        when: format::when(Timestamp::from_millis(ev.starts_at), &ev.time_zone, lang),
        until: format::when(Timestamp::from_millis(ev.ends_at), &ev.time_zone, lang),
        slug: ev.slug,
        title: ev.title,
        organizer: ev.org_name,
        description_html: crate::services::markdown::to_safe_html(&ev.description),
        terms_html: crate::services::markdown::to_safe_html(&extras.terms),
        refund_rules: crate::domain::catalogue::RefundPolicy::parse(&extras.refund_policy)
            .unwrap_or_default()
            .rules()
            .iter()
            .map(|r| (r.days_before, r.percent))
            .collect(),
        category: ev.category,
        venue: ev.venue,
        address: ev.address,
        city: ev.city,
        time_zone: ev.time_zone,
        currency,
        lang,
        tiers,
        seats: seat_map,
        banner: extras.banner_key.as_ref().map(|k| format!("/media/{k}")),
        code: code_applied,
        code_error,
    }))
}
