//! The pages. Server-rendered; the tier picker is the only island here.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{
    PickedQuantities,
    components::category_label,
    islands::tier_picker::{PickerLabels, PickerTier, TierPicker},
    lang_of,
};
use crate::{
    i18n::*,
    server_fns::{
        catalogue::{event_page, list_events},
        views::{EventCardView, EventPageView},
    },
};

/// Upcoming events with pagination (`?page=N`).
#[component]
pub fn HomePage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let page = move || {
        query.with(|q| {
            q.get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
        })
    };
    let events = Resource::new(
        move || (page(), lang_of(i18n.get_locale())),
        |(p, l)| list_events(p, l),
    );
    view! {
        <Title text="admit — upcoming events" />
        <h1 class="text-2xl font-semibold mb-4">{t!(i18n, upcoming_events)}</h1>
        <Suspense>
            {move || Suspend::new(async move {
                match events.await {
                    Err(_) => view! { <ErrorNote /> }.into_any(),
                    Ok(list) if list.items.is_empty() => {
                        view! { <p class="text-slate-600">{t!(i18n, no_events)}</p> }.into_any()
                    }
                    Ok(list) => {
                        let (page, pages) = (list.page, list.pages);
                        view! {
                            <ul class="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
                                {list.items.into_iter().map(|e| view! { <li><EventCard event=e /></li> }).collect_view()}
                            </ul>
                            <nav class="flex items-center justify-between mt-6 text-sm" aria-label="Pagination">
                                {(page > 1).then(|| view! {
                                    <a data-testid="prev-page" class="text-indigo-700 hover:underline" href=format!("/?page={}", page - 1)>
                                        {t!(i18n, previous)}
                                    </a>
                                })}
                                <span class="text-slate-500">{t!(i18n, page_of, page = page, pages = pages)}</span>
                                {(page < pages).then(|| view! {
                                    <a data-testid="next-page" class="text-indigo-700 hover:underline" href=format!("/?page={}", page + 1)>
                                        {t!(i18n, next)}
                                    </a>
                                })}
                            </nav>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn EventCard(event: EventCardView) -> impl IntoView {
    let i18n = use_i18n();
    let price = match (&event.from_price, event.free) {
        (_, true) => t_string!(i18n, free).to_string(),
        (Some(p), false) => format!("{} {p}", t_string!(i18n, from_price)),
        (None, false) => String::new(),
    };
    let category = category_label(i18n.get_locale_untracked(), &event.category);
    view! {
        <a
            data-testid="event-card"
            href=format!("/events/{}", event.slug)
            class="block h-full rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200 hover:ring-indigo-400"
        >
            <p class="text-xs uppercase tracking-wide text-indigo-700">{category}</p>
            <h2 class="mt-1 font-semibold">{event.title}</h2>
            <p class="mt-1 text-sm text-slate-600">{event.when}</p>
            <p class="text-sm text-slate-600">{format!("{} · {}", event.venue, event.city)}</p>
            <p class="mt-2 text-sm font-medium">{price}</p>
        </a>
    }
}

/// One event: details in its own time zone, and the tier picker.
#[component]
pub fn EventPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let event = Resource::new(
        move || (slug(), lang_of(i18n.get_locale())),
        |(s, l)| event_page(s, l),
    );
    let picked = use_context::<PickedQuantities>().unwrap_or_default();
    view! {
        <Suspense>
            {move || {
                let picked = picked.clone();
                Suspend::new(async move {
                    match event.await {
                        Err(_) => view! { <ErrorNote /> }.into_any(),
                        Ok(None) => view! { <NotFound /> }.into_any(),
                        Ok(Some(ev)) => view! { <EventDetails ev picked /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn EventDetails(ev: EventPageView, picked: PickedQuantities) -> impl IntoView {
    let i18n = use_i18n();
    let tiers: Vec<PickerTier> = ev
        .tiers
        .iter()
        .map(|t| PickerTier {
            id: t.id.clone(),
            name: t.name.clone(),
            price_minor: t.price_minor,
            price_label: t.price_label.clone(),
            available: t.available,
            max: t.max_pickable,
            sold_out: t.sold_out,
            on_sale: t.on_sale,
        })
        .collect();
    let initial: Vec<u32> = tiers
        .iter()
        .map(|t| picked.0.get(&t.id).copied().unwrap_or(0).min(t.max))
        .collect();
    let labels = PickerLabels {
        subtotal: t_string!(i18n, subtotal).to_string(),
        update: t_string!(i18n, update_subtotal).to_string(),
        sold_out: t_string!(i18n, sold_out).to_string(),
        not_on_sale: t_string!(i18n, not_on_sale).to_string(),
        left: t_string!(i18n, left).to_string(),
        quantity: t_string!(i18n, quantity_for).to_string(),
    };
    let category = category_label(i18n.get_locale_untracked(), &ev.category);
    let paragraphs: Vec<String> = ev
        .description
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    view! {
        <Title text=format!("{} — admit", ev.title) />
        <article class="grid gap-6 lg:grid-cols-3">
            <div class="lg:col-span-2 space-y-4">
                <p class="text-xs uppercase tracking-wide text-indigo-700">{category}</p>
                <h1 data-testid="event-title" class="text-3xl font-bold">{ev.title.clone()}</h1>
                <p class="text-sm text-slate-600">{t!(i18n, organized_by)} " " {ev.organizer.clone()}</p>
                <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
                    <dt class="font-medium">{t!(i18n, when_label)}</dt>
                    <dd data-testid="event-when">{ev.when.clone()}</dd>
                    <dt class="font-medium">{t!(i18n, until_label)}</dt>
                    <dd>{ev.until.clone()}</dd>
                    <dt class="font-medium">{t!(i18n, where_label)}</dt>
                    <dd>{format!("{}, {}", ev.venue, ev.address)}</dd>
                </dl>
                <section>
                    <h2 class="text-lg font-semibold mb-2">{t!(i18n, about_event)}</h2>
                    {paragraphs.into_iter().map(|p| view! { <p class="mb-2 text-slate-700">{p}</p> }).collect_view()}
                </section>
            </div>
            <aside class="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200 h-fit">
                <h2 class="text-lg font-semibold mb-3">{t!(i18n, tickets)}</h2>
                <TierPicker tiers currency=ev.currency lang=ev.lang initial labels />
            </aside>
        </article>
    }
}

/// Shown for unknown addresses and unpublished events (status 404).
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    let i18n = use_i18n();
    view! {
        <Title text="Not found — admit" />
        <div class="py-12 text-center">
            <h1 class="text-2xl font-semibold">{t!(i18n, not_found_title)}</h1>
            <p class="mt-2 text-slate-600">{t!(i18n, not_found_body)}</p>
            <a href="/" class="mt-4 inline-block text-indigo-700 hover:underline">{t!(i18n, back_to_events)}</a>
        </div>
    }
}

#[component]
fn ErrorNote() -> impl IntoView {
    let i18n = use_i18n();
    view! { <p role="alert" class="rounded bg-red-50 p-4 text-red-800">{t!(i18n, load_error)}</p> }
}
