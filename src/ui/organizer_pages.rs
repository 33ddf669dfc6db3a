//! Organizer pages: creating and managing an event, its quotas, tiers and
//! codes. Plain forms posting to server functions; no WASM needed.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{account_pages::Flash, components::category_label, page_title, pages::NotFound};
use crate::{
    domain::{Category, Currency},
    i18n::*,
    server_fns::{
        organizer::{
            AddSeatGrid, CreateCode, CreateEvent, CreateQuota, CreateTier, DeleteCode, DeleteEvent,
            DeleteTier, ImportSeats, SetEventPublished, UpdateEvent, event_manage,
        },
        views::EventInput,
    },
};

const INPUT: &str = "mt-1 w-full rounded border border-slate-300 px-3 py-2";
const BUTTON: &str = "rounded bg-indigo-700 px-4 py-2 font-medium text-white hover:bg-indigo-800";
const BUTTON_LIGHT: &str =
    "rounded border border-indigo-700 px-3 py-1 text-indigo-700 hover:bg-indigo-50";
const CARD: &str = "rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200";

/// The event fields, named `input[...]` for the server function.
#[component]
fn EventFields(input: EventInput) -> impl IntoView {
    let i18n = use_i18n();
    let locale = i18n.get_locale_untracked();
    let zones = [
        "Asia/Jakarta",
        "Asia/Makassar",
        "Asia/Jayapura",
        "Asia/Singapore",
        "Asia/Kuala_Lumpur",
        "Asia/Tokyo",
        "Europe/Amsterdam",
        "UTC",
    ];
    view! {
        <label class="block">{t!(i18n, title_label)}<input name="input[title]" required value=input.title.clone() class=INPUT /></label>
        <label class="block">{t!(i18n, description_label)}
            <textarea name="input[description]" rows="5" class=INPUT>{super::rcdata(&input.description)}</textarea>
            <span class="text-xs text-slate-500">{t!(i18n, markdown_hint)}</span>
        </label>
        <div class="grid gap-3 sm:grid-cols-2">
            <label class="block">{t!(i18n, category_label)}
                <select name="input[category]" class=INPUT>
                    {Category::ALL.into_iter().map(|c| view! {
                        <option value=c.as_str() selected=input.category == c.as_str()>{category_label(locale, c.as_str())}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="block">{t!(i18n, currency_label)}
                <select name="input[currency]" class=INPUT>
                    {Currency::ALL.into_iter().map(|c| view! {
                        <option value=c.code() selected=input.currency == c.code() || (input.currency.is_empty() && c == Currency::IDR)>{c.code()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="block">{t!(i18n, venue_label)}<input name="input[venue]" required value=input.venue.clone() class=INPUT /></label>
            <label class="block">{t!(i18n, city_label)}<input name="input[city]" required value=input.city.clone() class=INPUT /></label>
        </div>
        <label class="block">{t!(i18n, address_label)}<input name="input[address]" value=input.address.clone() class=INPUT /></label>
        <div class="grid gap-3 sm:grid-cols-3">
            <label class="block">{t!(i18n, starts_label)}<input type="datetime-local" name="input[starts_at]" required value=input.starts_at.clone() class=INPUT /></label>
            <label class="block">{t!(i18n, ends_label)}<input type="datetime-local" name="input[ends_at]" required value=input.ends_at.clone() class=INPUT /></label>
            <label class="block">{t!(i18n, zone_label)}
                <select name="input[time_zone]" class=INPUT>
                    {zones.into_iter().map(|z| view! {
                        <option value=z selected=input.time_zone == z || (input.time_zone.is_empty() && z == "Asia/Jakarta")>{z}</option>
                    }).collect_view()}
                </select>
            </label>
        </div>
        <label class="block">{t!(i18n, refund_policy_label)}
            <input name="input[refund_policy]" value=input.refund_policy.clone() placeholder="30:100,7:50" class=INPUT />
            <span class="text-xs text-slate-500">{t!(i18n, refund_policy_hint)}</span>
        </label>
        <label class="block">{t!(i18n, terms_heading)}<textarea name="input[terms]" rows="3" class=INPUT>{super::rcdata(&input.terms)}</textarea></label>
    }
}

/// `/organizer/events/new?org=…`.
#[component]
pub fn NewEventPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let org = move || query.with(|q| q.get("org").unwrap_or_default());
    view! {
        <Title text="New event — admit" />
        <div class=format!("{CARD} mx-auto max-w-3xl")>
            <h1 class="text-2xl font-semibold mb-4">{t!(i18n, new_event)}</h1>
            <Flash />
            <form method="post" action=CreateEvent::PATH class="space-y-4" data-testid="event-form">
                <input type="hidden" name="org_id" value=org />
                <EventFields input=EventInput::default() />
                <button type="submit" class=BUTTON>{t!(i18n, create_draft)}</button>
            </form>
        </div>
    }
}

/// `/organizer/events/:id`: details, publishing, quotas, tiers and codes.
#[component]
pub fn ManageEventPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(id, event_manage);
    view! {
        <Flash />
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) if e.to_string().contains("unauthenticated") => {
                        #[cfg(feature = "ssr")]
                        leptos_axum::redirect("/signin");
                        view! { <p>"Sign in"</p> }.into_any()
                    }
                    Err(_) => view! { <NotFound /> }.into_any(),
                    Ok(ev) => {
                        let published = ev.status == "published";
                        let id = ev.id.clone();
                        view! {
                            <Title text=page_title(&ev.input.title) />
                            <div class="flex flex-wrap items-center justify-between gap-3 mb-4">
                                <h1 class="text-2xl font-semibold" data-testid="manage-title">{ev.input.title.clone()}</h1>
                                <div class="flex gap-2">
                                    <span data-testid="event-status" class="rounded bg-slate-100 px-2 py-1 text-sm">{ev.status.clone()}</span>
                                    <form method="post" action=SetEventPublished::PATH>
                                        <input type="hidden" name="id" value=id.clone() />
                                        <input type="hidden" name="publish" value=if published { "false" } else { "true" } />
                                        <button type="submit" class=BUTTON data-testid="toggle-publish">
                                            {if published { t_string!(i18n, unpublish).to_string() } else { t_string!(i18n, publish).to_string() }}
                                        </button>
                                    </form>
                                    {published.then(|| view! { <a class=BUTTON_LIGHT href=format!("/events/{}", ev.slug)>{t!(i18n, view_page)}</a> })}
                                    <a class=BUTTON_LIGHT data-testid="door-link" href=format!("/organizer/events/{id}/door")>{t!(i18n, door_link)}</a>
                                </div>
                            </div>
                            <section class=format!("{CARD} mb-6")>
                                <form method="post" action=UpdateEvent::PATH class="space-y-4" data-testid="event-form">
                                    <input type="hidden" name="id" value=id.clone() />
                                    <EventFields input=ev.input.clone() />
                                    <button type="submit" class=BUTTON>{t!(i18n, save)}</button>
                                </form>
                                <form method="post" action=format!("/api/v1/events/{id}/banner") enctype="multipart/form-data" class="mt-4 flex items-end gap-2" data-testid="banner-form">
                                    <label class="text-sm">{t!(i18n, banner_label)}
                                        <input type="file" name="banner" accept="image/jpeg,image/png,image/webp" required class="block" />
                                    </label>
                                    <button type="submit" class=BUTTON_LIGHT>{t!(i18n, upload)}</button>
                                </form>
                                <form method="post" action=DeleteEvent::PATH class="mt-4">
                                    <input type="hidden" name="id" value=id.clone() />
                                    <button type="submit" class="text-sm text-red-700 underline">{t!(i18n, delete_event)}</button>
                                </form>
                            </section>
                            <section class=format!("{CARD} mb-6")>
                                <h2 class="text-lg font-semibold mb-2">{t!(i18n, quotas_heading)}</h2>
                                <ul class="mb-3" data-testid="quotas">
                                    {ev.quotas.iter().map(|(_, name, size, sold, held)| view! {
                                        <li>{format!("{name}: {sold} sold, {held} held, {size} in total")}</li>
                                    }).collect_view()}
                                </ul>
                                <form method="post" action=CreateQuota::PATH class="flex flex-wrap items-end gap-2" data-testid="quota-form">
                                    <input type="hidden" name="id" value=id.clone() />
                                    <label class="text-sm">{t!(i18n, name_label)}<input name="name" required class=INPUT /></label>
                                    <label class="text-sm">{t!(i18n, size_label)}<input name="size" type="number" min="0" required class=INPUT /></label>
                                    <button type="submit" class=BUTTON_LIGHT>{t!(i18n, add_quota)}</button>
                                </form>
                            </section>
                            <section class=format!("{CARD} mb-6")>
                                <h2 class="text-lg font-semibold mb-2">{t!(i18n, tickets)}</h2>
                                <ul class="mb-3 divide-y divide-slate-100" data-testid="tiers">
                                    {ev.tiers.iter().map(|(tier_id, name, price, hidden, quotas, sold, capacity)| view! {
                                        <li class="flex items-center justify-between py-1">
                                            <span>{format!("{name} — {price} ({quotas}) — {sold}/{capacity}{}", if *hidden { " · hidden" } else { "" })}</span>
                                            <form method="post" action=DeleteTier::PATH>
                                                <input type="hidden" name="id" value=id.clone() />
                                                <input type="hidden" name="tier_id" value=tier_id.clone() />
                                                <button type="submit" class="text-sm text-red-700 underline">{t!(i18n, delete)}</button>
                                            </form>
                                        </li>
                                    }).collect_view()}
                                </ul>
                                <form method="post" action=CreateTier::PATH class="grid gap-2 sm:grid-cols-3" data-testid="tier-form">
                                    <input type="hidden" name="id" value=id.clone() />
                                    <label class="text-sm">{t!(i18n, name_label)}<input name="input[name]" required class=INPUT /></label>
                                    <label class="text-sm">{t!(i18n, price_label)}<input name="input[price_minor]" type="number" min="0" required class=INPUT /></label>
                                    <label class="text-sm">{t!(i18n, max_per_order_label)}<input name="input[max_per_order]" type="number" min="1" max="100" class=INPUT /></label>
                                    <fieldset class="sm:col-span-2 text-sm">
                                        <legend>{t!(i18n, quotas_heading)}</legend>
                                        {ev.quotas.iter().map(|(qid, name, ..)| view! {
                                            <label class="mr-3"><input type="checkbox" name="input[quota_ids][]" value=qid.clone() /> " " {name.clone()}</label>
                                        }).collect_view()}
                                    </fieldset>
                                    <label class="text-sm flex items-center gap-2"><input type="checkbox" name="input[hidden]" value="true" />{t!(i18n, hidden_tier)}</label>
                                    <button type="submit" class=BUTTON_LIGHT>{t!(i18n, add_tier)}</button>
                                </form>
                            </section>
                            <section class=format!("{CARD} mb-6")>
                                <h2 class="text-lg font-semibold mb-2">{t!(i18n, seat_map_heading)}</h2>
                                <p class="text-sm text-slate-600 mb-2" data-testid="seat-count">{format!("{} seats", ev.seats.total)}</p>
                                <super::components::SeatMapGrid map=ev.seats.clone() />
                                <form method="post" action=AddSeatGrid::PATH class="mt-4 grid gap-2 sm:grid-cols-6" data-testid="seat-grid-form">
                                    <input type="hidden" name="id" value=id.clone() />
                                    <label class="text-sm sm:col-span-2">{t!(i18n, section_label)}<input name="section" required class=INPUT /></label>
                                    <label class="text-sm">{t!(i18n, first_row_label)}<input name="first_row" value="A" maxlength="1" required class=INPUT /></label>
                                    <label class="text-sm">{t!(i18n, rows_label)}<input name="rows" type="number" min="1" max="26" required class=INPUT /></label>
                                    <label class="text-sm">{t!(i18n, per_row_label)}<input name="per_row" type="number" min="1" max="200" required class=INPUT /></label>
                                    <label class="text-sm">{t!(i18n, tier_label)}
                                        <select name="tier" class=INPUT>
                                            <option value="">"—"</option>
                                            {ev.tiers.iter().map(|t| view! { <option value=t.1.clone()>{t.1.clone()}</option> }).collect_view()}
                                        </select>
                                    </label>
                                    <button type="submit" class=BUTTON_LIGHT>{t!(i18n, add_section)}</button>
                                </form>
                                <form method="post" action=ImportSeats::PATH class="mt-4 space-y-2" data-testid="seat-csv-form">
                                    <input type="hidden" name="id" value=id.clone() />
                                    <label class="block text-sm">{t!(i18n, seat_csv_label)}
                                        <textarea name="csv" rows="4" placeholder="section,row,number,kind,tier,blocked" class=INPUT></textarea>
                                    </label>
                                    <button type="submit" class=BUTTON_LIGHT>{t!(i18n, import_seats)}</button>
                                </form>
                            </section>
                            <section class=CARD>
                                <h2 class="text-lg font-semibold mb-2">{t!(i18n, codes_heading)}</h2>
                                <ul class="mb-3 divide-y divide-slate-100" data-testid="codes">
                                    {ev.codes.iter().map(|(code_id, code, summary, uses)| view! {
                                        <li class="flex items-center justify-between py-1">
                                            <span>{format!("{code} — {summary} — {uses} used")}</span>
                                            <form method="post" action=DeleteCode::PATH>
                                                <input type="hidden" name="id" value=id.clone() />
                                                <input type="hidden" name="code_id" value=code_id.clone() />
                                                <button type="submit" class="text-sm text-red-700 underline">{t!(i18n, delete)}</button>
                                            </form>
                                        </li>
                                    }).collect_view()}
                                </ul>
                                <form method="post" action=CreateCode::PATH class="grid gap-2 sm:grid-cols-3" data-testid="code-form">
                                    <input type="hidden" name="id" value=id.clone() />
                                    <label class="text-sm">{t!(i18n, code_label)}<input name="input[code]" required class=INPUT /></label>
                                    <label class="text-sm">{t!(i18n, discount_label)}
                                        <select name="input[discount_kind]" class=INPUT>
                                            <option value="none">"—"</option>
                                            <option value="percent">"%"</option>
                                            <option value="fixed">{t!(i18n, fixed_amount)}</option>
                                        </select>
                                    </label>
                                    <label class="text-sm">{t!(i18n, discount_value_label)}<input name="input[discount_value]" type="number" min="0" class=INPUT /></label>
                                    <fieldset class="sm:col-span-2 text-sm">
                                        <legend>{t!(i18n, unlocks_label)}</legend>
                                        {ev.tiers.iter().filter(|t| t.3).map(|(tier_id, name, ..)| view! {
                                            <label class="mr-3"><input type="checkbox" name="input[unlock_tier_ids][]" value=tier_id.clone() /> " " {name.clone()}</label>
                                        }).collect_view()}
                                    </fieldset>
                                    <label class="text-sm">{t!(i18n, max_uses_label)}<input name="input[max_uses]" type="number" min="1" class=INPUT /></label>
                                    <button type="submit" class=BUTTON_LIGHT>{t!(i18n, add_code)}</button>
                                </form>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}
