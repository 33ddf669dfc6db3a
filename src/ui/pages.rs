//! The catalogue pages. Server-rendered; on the event page the tier picker
//! and the seat picker are islands.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{
    EventForm,
    components::category_label,
    islands::{
        seat_picker::{SeatPicker, SeatPickerLabels},
        tier_picker::{PickerLabels, PickerTier, TierPicker},
    },
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
    let query = use_query_map();
    let code = move || {
        query
            .with(|q| q.get("code"))
            .filter(|c| !c.trim().is_empty())
    };
    let event = Resource::new(
        move || (slug(), lang_of(i18n.get_locale()), code()),
        |(s, l, c)| event_page(s, l, c),
    );
    let picked = use_context::<EventForm>().unwrap_or_default();
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
fn EventDetails(ev: EventPageView, picked: EventForm) -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let released = query.with_untracked(|q| q.get("notice")).as_deref() == Some("released");
    let signed_in = query.with_untracked(|q| q.get("notice")).as_deref() == Some("signed_in");
    let inline_sign_in = picked.sign_in.clone();
    let tiers: Vec<PickerTier> = ev
        .tiers
        .iter()
        .filter(|t| !t.seated)
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
        .map(|t| picked.picked.get(&t.id).copied().unwrap_or(0).min(t.max))
        .collect();
    let labels = PickerLabels {
        subtotal: t_string!(i18n, subtotal).to_string(),
        update: t_string!(i18n, update_subtotal).to_string(),
        sold_out: t_string!(i18n, sold_out).to_string(),
        not_on_sale: t_string!(i18n, not_on_sale).to_string(),
        left: t_string!(i18n, left).to_string(),
        quantity: t_string!(i18n, quantity_for).to_string(),
        hold: t_string!(i18n, hold_tickets).to_string(),
    };
    let seat_labels = SeatPickerLabels {
        hold: t_string!(i18n, hold_seats).to_string(),
        selected: t_string!(i18n, seats_selected).to_string(),
        just_taken: t_string!(i18n, seat_just_taken).to_string(),
        available: t_string!(i18n, seat_available).to_string(),
        held: t_string!(i18n, seat_held).to_string(),
        sold: t_string!(i18n, seat_sold).to_string(),
        mine: t_string!(i18n, seat_mine).to_string(),
        blocked: t_string!(i18n, seat_blocked).to_string(),
    };
    let seat_prices: Vec<(String, i64)> = ev
        .tiers
        .iter()
        .filter(|t| t.seated)
        .map(|t| (t.name.clone(), t.price_minor))
        .collect();
    let sections: Vec<String> = ev.seats.sections.iter().map(|s| s.name.clone()).collect();
    let has_tiers = !tiers.is_empty();
    let hold_error = picked.error.clone();
    let category = category_label(i18n.get_locale_untracked(), &ev.category);
    let refund = ev.refund_rules.clone();

    view! {
        <Title text=super::page_title(&ev.title) />
        <article class="grid gap-6 lg:grid-cols-3">
            <div class="lg:col-span-2 space-y-4">
                {ev.banner.clone().map(|b| view! {
                    <img
                        data-testid="event-banner"
                        src=format!("{b}-800.jpg")
                        srcset=format!("{b}-400.jpg 400w, {b}-800.jpg 800w, {b}-1600.jpg 1600w")
                        sizes="(min-width: 1024px) 66vw, 100vw"
                        alt=""
                        class="w-full rounded-lg object-cover"
                    />
                })}
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
                    <div class="prose max-w-none text-slate-700" data-testid="event-description" inner_html=ev.description_html.clone()></div>
                </section>
                {(ev.seats.total > 0).then(|| view! {
                    <section>
                        <h2 class="text-lg font-semibold mb-2">{t!(i18n, seat_map_heading)}</h2>
                        <p class="mb-2 text-sm text-slate-600">{t!(i18n, pick_seats_hint)}</p>
                        <SeatPicker event_id=ev.id.clone() map=ev.seats.clone() prices=seat_prices currency=ev.currency
                            lang=ev.lang labels=seat_labels initial=picked.seats.clone() code=ev.code.clone() />
                        <BestAvailableForm sections code=ev.code.clone() />
                    </section>
                })}
                <section>
                    <h2 class="text-lg font-semibold mb-2">{t!(i18n, refund_heading)}</h2>
                    {if refund.is_empty() {
                        view! { <p data-testid="refund-policy">{t!(i18n, no_refunds)}</p> }.into_any()
                    } else {
                        view! {
                            <ul class="list-disc pl-6" data-testid="refund-policy">
                                {refund.iter().map(|(days, percent)| view! { <li>{t!(i18n, refund_rule, percent = *percent, days = *days)}</li> }).collect_view()}
                                <li>{t!(i18n, refund_after)}</li>
                            </ul>
                        }.into_any()
                    }}
                </section>
                {(!ev.terms_html.is_empty()).then(|| view! {
                    <section>
                        <h2 class="text-lg font-semibold mb-2">{t!(i18n, terms_heading)}</h2>
                        <div class="prose max-w-none text-sm text-slate-700" data-testid="event-terms" inner_html=ev.terms_html.clone()></div>
                    </section>
                })}
            </div>
            <aside class="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200 h-fit">
                <h2 class="text-lg font-semibold mb-3">{t!(i18n, tickets)}</h2>
                {released.then(|| view! { <p role="status" data-testid="notice" class="mb-3 rounded bg-green-50 p-3 text-green-800">{t!(i18n, notice_released)}</p> })}
                {hold_error.map(|e| view! { <p role="alert" data-testid="hold-error" class="mb-3 rounded bg-red-50 p-3 text-red-800">{e}</p> })}
                {signed_in.then(|| view! { <p role="status" data-testid="notice" class="mb-3 rounded bg-green-50 p-3 text-green-800">{t!(i18n, notice_signed_in)}</p> })}
                {has_tiers.then(|| view! { <TierPicker tiers currency=ev.currency lang=ev.lang initial labels code=ev.code.clone() /> })}
                <super::security_pages::BuyerSignIn slug=ev.slug.clone() state=inline_sign_in />
                <form method="get" class="mt-4 flex gap-2" data-testid="code-form">
                    <label class="sr-only" for="code">{t!(i18n, code_prompt)}</label>
                    <input id="code" name="code" value=ev.code.clone().unwrap_or_default() placeholder=move || t_string!(i18n, code_prompt)
                        class="w-full rounded border border-slate-300 px-2 py-1 text-sm" />
                    <button type="submit" class="rounded border border-indigo-700 px-3 py-1 text-sm text-indigo-700">{t!(i18n, apply_code)}</button>
                </form>
                {ev.code.clone().map(|c| view! { <p class="mt-2 text-sm text-green-700" data-testid="code-applied">{t!(i18n, code_applied)} " " {c}</p> })}
                {ev.code_error.clone().map(|e| view! { <p class="mt-2 text-sm text-red-700" role="alert" data-testid="code-error">{e}</p> })}
            </aside>
        </article>
    }
}

/// "Best available N seats in section X": a plain form, operable with the
/// keyboard alone, for buyers who do not use the map.
#[component]
fn BestAvailableForm(sections: Vec<String>, code: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let input = "rounded border border-slate-300 px-2 py-1";
    view! {
        <form method="post" class="mt-4 rounded border border-slate-200 p-3" data-testid="best-available">
            <h3 class="text-sm font-semibold mb-2">{t!(i18n, best_heading)}</h3>
            <div class="flex flex-wrap items-end gap-3 text-sm">
                <label class="flex flex-col">{t!(i18n, best_section)}
                    <select name="best_section" class=input data-testid="best-section">
                        {sections.into_iter().map(|s| view! { <option value=s.clone()>{s.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="flex flex-col">{t!(i18n, best_count)}
                    <input type="number" name="best_count" min="1" max="10" value="2" class=format!("{input} w-20") data-testid="best-count" />
                </label>
                <label class="flex items-center gap-2">
                    <input type="checkbox" name="best_accessible" value="1" data-testid="best-accessible" />
                    {t!(i18n, best_accessible)}
                </label>
            </div>
            {code.map(|c| view! { <input type="hidden" name="code" value=c /> })}
            <button type="submit" name="action" value="best" data-testid="best-submit"
                class="mt-3 rounded bg-indigo-700 px-3 py-2 font-medium text-white hover:bg-indigo-800">
                {t!(i18n, best_submit)}
            </button>
        </form>
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

/// `/events`: keyword search with filters, sorting and pagination. A plain
/// GET form, so it works without JavaScript and results can be linked.
#[component]
pub fn SearchPage() -> impl IntoView {
    use crate::{
        domain::Category,
        server_fns::{catalogue::search_events, views::SearchParams},
    };
    let i18n = use_i18n();
    let query = use_query_map();
    let params = move || {
        query.with(|q| {
            let get = |k: &str| q.get(k).unwrap_or_default();
            SearchParams {
                q: get("q"),
                category: get("category"),
                city: get("city"),
                from: get("from"),
                to: get("to"),
                min_price: get("min_price"),
                max_price: get("max_price"),
                free: get("free"),
                sort: get("sort"),
                page: get("page"),
            }
        })
    };
    let results = Resource::new(
        move || (params(), lang_of(i18n.get_locale())),
        |(p, l)| search_events(p, l),
    );
    let input = "rounded border border-slate-300 px-3 py-2";
    let p = params();
    let locale = i18n.get_locale_untracked();
    view! {
        <Title text="Find events — admit" />
        <h1 class="text-2xl font-semibold mb-4">{t!(i18n, search_title)}</h1>
        <form method="get" action="/events" class="grid gap-3 sm:grid-cols-4 mb-6" data-testid="search-form" role="search">
            <input name="q" value=p.q.clone() placeholder=move || t_string!(i18n, search_placeholder) class=format!("{input} sm:col-span-2")
                aria-label=move || t_string!(i18n, search_title) />
            <select name="category" class=input aria-label="Category">
                <option value="">{t!(i18n, all_categories)}</option>
                {Category::ALL.into_iter().map(|c| view! {
                    <option value=c.as_str() selected=p.category == c.as_str()>{category_label(locale, c.as_str())}</option>
                }).collect_view()}
            </select>
            <input name="city" value=p.city.clone() placeholder=move || t_string!(i18n, city_label) class=input aria-label=move || t_string!(i18n, city_label) />
            <label class="text-sm">{t!(i18n, from_label)}<input type="date" name="from" value=p.from.clone() class=format!("{input} w-full") /></label>
            <label class="text-sm">{t!(i18n, to_label)}<input type="date" name="to" value=p.to.clone() class=format!("{input} w-full") /></label>
            <label class="text-sm">{t!(i18n, min_price_label)}<input type="number" min="0" name="min_price" value=p.min_price.clone() class=format!("{input} w-full") /></label>
            <label class="text-sm">{t!(i18n, max_price_label)}<input type="number" min="0" name="max_price" value=p.max_price.clone() class=format!("{input} w-full") /></label>
            <label class="text-sm flex items-center gap-2"><input type="checkbox" name="free" value="1" checked=!p.free.is_empty() />{t!(i18n, free_only)}</label>
            <label class="text-sm">{t!(i18n, sort_label)}
                <select name="sort" class=format!("{input} w-full")>
                    <option value="date" selected=p.sort != "price">{t!(i18n, sort_date)}</option>
                    <option value="price" selected=p.sort == "price">{t!(i18n, sort_price)}</option>
                </select>
            </label>
            <button type="submit" class="rounded bg-indigo-700 px-4 py-2 font-medium text-white sm:col-start-4">{t!(i18n, search_title)}</button>
        </form>
        <Suspense>
            {move || Suspend::new(async move {
                match results.await {
                    Err(e) => view! { <p role="alert" class="rounded bg-red-50 p-4 text-red-800">{e.to_string().replace("error running server function: ", "")}</p> }.into_any(),
                    Ok(list) if list.items.is_empty() => view! { <p class="text-slate-600" data-testid="no-results">{t!(i18n, no_results)}</p> }.into_any(),
                    Ok(list) => {
                        let p = params();
                        let link = move |page: u32| {
                            let mut q = p.clone();
                            q.page = page.to_string();
                            format!("/events?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
                        };
                        let (page, pages, total) = (list.page, list.pages, list.total);
                        view! {
                            <p class="mb-3 text-sm text-slate-600" data-testid="result-count">{t!(i18n, results_count, count = total)}</p>
                            <ul class="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
                                {list.items.into_iter().map(|e| view! { <li><EventCard event=e /></li> }).collect_view()}
                            </ul>
                            <nav class="flex items-center justify-between mt-6 text-sm" aria-label="Pagination">
                                {(page > 1).then(|| view! { <a data-testid="prev-page" class="text-indigo-700 hover:underline" href=link(page - 1)>{t!(i18n, previous)}</a> })}
                                <span class="text-slate-500">{t!(i18n, page_of, page = page, pages = pages)}</span>
                                {(page < pages).then(|| view! { <a data-testid="next-page" class="text-indigo-700 hover:underline" href=link(page + 1)>{t!(i18n, next)}</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
