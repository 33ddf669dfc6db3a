//! Components shared by pages.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::i18n::*;

/// Header, language switch and footer around every page.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <header class="bg-white border-b border-slate-200">
            <nav class="mx-auto max-w-5xl flex items-center justify-between gap-4 px-4 py-3">
                <a href="/" class="flex items-baseline gap-2">
                    <span class="text-xl font-bold text-indigo-700">"admit"</span>
                    <span class="hidden sm:inline text-sm text-slate-500">{t!(i18n, site_tagline)}</span>
                </a>
                <div class="flex items-center gap-4">
                    <a href="/events" data-testid="nav-events" class="text-sm text-slate-700 hover:underline">{t!(i18n, nav_events)}</a>
                    <AccountNav />
                    <LocaleSwitch />
                </div>
            </nav>
        </header>
        <main class="mx-auto max-w-5xl px-4 py-6">{children()}</main>
        <footer class="mx-auto max-w-5xl px-4 py-8 text-sm text-slate-500">{t!(i18n, footer)}</footer>
    }
}

/// Sign-in links, or the signed-in person's name and a sign-out button.
#[component]
fn AccountNav() -> impl IntoView {
    let i18n = use_i18n();
    let me = Resource::new(|| (), |_| crate::server_fns::accounts::me());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match me.await.ok().flatten() {
                    Some(me) => view! {
                        <a href="/orders" data-testid="nav-orders" class="text-sm text-slate-700 hover:underline">{t!(i18n, my_orders)}</a>
                        <a href="/tickets" data-testid="nav-tickets" class="text-sm text-slate-700 hover:underline">{t!(i18n, my_tickets)}</a>
                        <a href="/account" data-testid="nav-account" class="text-sm text-slate-700 hover:underline">{me.name}</a>
                        <crate::ui::account_pages::SignOutButton />
                    }.into_any(),
                    None => view! {
                        <a href="/signin" data-testid="nav-signin" class="text-sm text-indigo-700 hover:underline">{t!(i18n, sign_in)}</a>
                        <a href="/signup" class="text-sm text-indigo-700 hover:underline">{t!(i18n, sign_up)}</a>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Two small forms that post to `/locale`; work without JavaScript.
#[component]
fn LocaleSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let back = move || {
        let search = location.search.get();
        if search.is_empty() {
            location.pathname.get()
        } else {
            format!("{}?{}", location.pathname.get(), search)
        }
    };
    let button = move |lang: &'static str, label: &'static str, active: bool| {
        view! {
            <form method="post" action="/locale">
                <input type="hidden" name="lang" value=lang />
                <input type="hidden" name="back" value=back />
                <button
                    type="submit"
                    data-testid=format!("locale-{lang}")
                    aria-pressed=if active { "true" } else { "false" }
                    class=if active {
                        "px-2 py-1 rounded bg-indigo-700 text-white text-sm"
                    } else {
                        "px-2 py-1 rounded text-indigo-700 text-sm hover:bg-indigo-50"
                    }
                >
                    {label}
                </button>
            </form>
        }
    };
    let current = i18n.get_locale_untracked();
    view! {
        <div class="flex items-center gap-1" role="group" aria-label=move || t_string!(i18n, language)>
            {button("en", "EN", current == Locale::en)}
            {button("id", "ID", current == Locale::id)}
        </div>
    }
}

/// A category's translated name.
pub fn category_label(locale: Locale, category: &str) -> String {
    match category {
        "music" => td_string!(locale, cat_music).to_string(),
        "conference" => td_string!(locale, cat_conference).to_string(),
        "workshop" => td_string!(locale, cat_workshop).to_string(),
        "sports" => td_string!(locale, cat_sports).to_string(),
        "arts" => td_string!(locale, cat_arts).to_string(),
        "food" => td_string!(locale, cat_food).to_string(),
        _ => td_string!(locale, cat_other).to_string(),
    }
}

/// A seat map, server-rendered: sections, rows and seats with their status.
/// (The interactive seat picker builds on this markup.)
#[component]
pub fn SeatMapGrid(map: crate::server_fns::views::SeatMapView) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div data-testid="seat-map" class="space-y-4" role="group" aria-label=move || t_string!(i18n, seat_map_heading)>
            {map.sections.into_iter().map(|section| view! {
                <section>
                    <h3 class="text-sm font-semibold">{section.name.clone()}</h3>
                    {section.rows.into_iter().map(|row| {
                        let label = row.label.clone();
                        view! {
                            <div class="flex items-center gap-1">
                                <span class="w-6 text-xs text-slate-500">{row.label.clone()}</span>
                                {row.seats.into_iter().map(|seat| {
                                    let class = match seat.status.as_str() {
                                        "blocked" => "bg-slate-300",
                                        "held" => "bg-amber-300",
                                        "sold" => "bg-red-300",
                                        _ => "bg-emerald-200",
                                    };
                                    let mark = match seat.kind.as_str() { "wheelchair" => "♿", "companion" => "+", _ => "" };
                                    view! {
                                        <span
                                            data-testid="seat"
                                            data-status=seat.status.clone()
                                            data-kind=seat.kind.clone()
                                            title=format!("{}{} · {} · {}", label, seat.number, seat.tier, seat.status)
                                            class=format!("inline-flex h-6 w-6 items-center justify-center rounded text-[10px] {class}")
                                        >
                                            {if mark.is_empty() { seat.number.to_string() } else { mark.to_owned() }}
                                        </span>
                                    }
                                }).collect_view()}
                            </div>
                        }
                    }).collect_view()}
                </section>
            }).collect_view()}
        </div>
    }
}
