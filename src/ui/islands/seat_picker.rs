//! The seat picker: the event's seat map as a form of checkboxes, one per
//! seat. In the browser it polls the seats' live status every few seconds and
//! un-ticks a seat someone else just took; without WASM it is a plain form
//! that posts the ticked seats with `action=hold`.

use std::collections::HashMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{Currency, Money, money::Lang},
    server_fns::views::{SeatMapView, SeatStatusView},
};

/// Translated labels (the island carries no translation tables).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeatPickerLabels {
    /// The submit button.
    pub hold: String,
    /// "seats selected".
    pub selected: String,
    /// "was just taken" (after a seat label).
    pub just_taken: String,
    /// Legend: free seat.
    pub available: String,
    /// Legend: held by someone.
    pub held: String,
    /// Legend: sold.
    pub sold: String,
    /// Legend: in your hold.
    pub mine: String,
    /// Legend: not for sale.
    pub blocked: String,
}

/// How often the map refreshes, in milliseconds.
pub const POLL_MS: u64 = 2_000;

/// A seat's status after a poll: blocked seats never change; the viewer's own
/// held seats read `mine`.
fn status_after(base: &str, id: &str, s: &SeatStatusView) -> &'static str {
    let has = |v: &Vec<String>| v.iter().any(|x| x == id);
    if base == "blocked" {
        "blocked"
    } else if has(&s.mine) {
        "mine"
    } else if has(&s.sold) {
        "sold"
    } else if has(&s.held) {
        "held"
    } else {
        "available"
    }
}

/// The picker. `prices` maps a tier name to its unit price (minor units).
#[island]
pub fn SeatPicker(
    event_id: String,
    map: SeatMapView,
    prices: Vec<(String, i64)>,
    currency: Currency,
    lang: Lang,
    labels: SeatPickerLabels,
    /// Seats ticked in a form the server rendered again.
    initial: Vec<String>,
    /// The code applied on the page, held with the seats.
    code: Option<String>,
) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    let selected: RwSignal<Vec<String>> = RwSignal::new(initial);
    let notice: RwSignal<Option<String>> = RwSignal::new(None);
    // One status signal per seat, keyed by id; the base status from the server.
    let mut statuses: Vec<(String, String, String, RwSignal<String>)> = Vec::new();
    for section in &map.sections {
        for row in &section.rows {
            for seat in &row.seats {
                statuses.push((
                    seat.id.clone(),
                    seat.status.clone(),
                    format!("{} {}{}", section.name, row.label, seat.number),
                    RwSignal::new(seat.status.clone()),
                ));
            }
        }
    }
    let statuses = StoredValue::new(statuses);
    let price_of: HashMap<String, i64> = prices.into_iter().collect();
    let seat_price: HashMap<String, i64> = map
        .sections
        .iter()
        .flat_map(|s| &s.rows)
        .flat_map(|r| &r.seats)
        .map(|s| (s.id.clone(), price_of.get(&s.tier).copied().unwrap_or(0)))
        .collect();
    let total = Memo::new(move |_| {
        let minor: i64 = selected
            .get()
            .iter()
            .map(|id| seat_price.get(id).copied().unwrap_or(0))
            .sum();
        Money::from_minor(minor, currency).format(lang)
    });

    let just_taken = labels.just_taken.clone();
    let apply = move |s: SeatStatusView| {
        statuses.with_value(|all| {
            for (id, base, label, signal) in all {
                let now = status_after(base, id, &s);
                if signal.get_untracked() != now {
                    signal.set(now.to_owned());
                }
                let mine_or_free = now == "available" || now == "mine";
                if !mine_or_free && selected.get_untracked().contains(id) {
                    selected.update(|v| v.retain(|x| x != id));
                    notice.set(Some(format!("{label} {just_taken}")));
                }
            }
        });
    };
    Effect::new(move |_| {
        hydrated.set(true);
        let event_id = event_id.clone();
        let apply = apply.clone();
        set_interval(
            move || {
                let event_id = event_id.clone();
                let apply = apply.clone();
                leptos::task::spawn_local(async move {
                    if let Ok(s) = crate::server_fns::orders::seat_status(event_id).await {
                        apply(s);
                    }
                });
            },
            std::time::Duration::from_millis(POLL_MS),
        );
    });

    let sections = map
        .sections
        .into_iter()
        .map(|section| {
            let name = section.name.clone();
            let rows = section
                .rows
                .into_iter()
                .map(|row| {
                    let row_label = row.label.clone();
                    let seats = row
                        .seats
                        .into_iter()
                        .map(|seat| {
                            let signal = statuses.with_value(|all| {
                                all.iter().find(|(id, ..)| *id == seat.id).map(|(.., s)| *s)
                            });
                            let status = signal.unwrap_or_else(|| RwSignal::new(seat.status.clone()));
                            let id = seat.id.clone();
                            let id_attr = seat.id.clone();
                            let title = format!("{name} {row_label}{} · {} · {}", seat.number, seat.tier, seat.kind);
                            let id_checked = seat.id.clone();
                            let id_toggle = seat.id.clone();
                            let mark = match seat.kind.as_str() {
                                "wheelchair" => "♿".to_owned(),
                                "companion" => "+".to_owned(),
                                _ => seat.number.to_string(),
                            };
                            let aria = format!("{name} {row_label}{} · {} · {}", seat.number, seat.tier, seat.kind);
                            view! {
                                <label
                                    data-testid="seat"
                                    data-seat-id=id_attr
                                    data-status=move || status.get()
                                    data-kind=seat.kind.clone()
                                    title=title
                                    class="seat relative inline-flex"
                                >
                                    <input
                                        type="checkbox"
                                        name="seat"
                                        value=id
                                        aria-label=aria
                                        class="peer sr-only"
                                        disabled=move || !matches!(status.get().as_str(), "available" | "mine")
                                        prop:checked=move || selected.with(|v| v.contains(&id_checked))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            notice.set(None);
                                            selected.update(|v| {
                                                v.retain(|x| *x != id_toggle);
                                                if on {
                                                    v.push(id_toggle.clone());
                                                }
                                            });
                                        }
                                    />
                                    <span class="inline-flex h-7 w-7 cursor-pointer items-center justify-center rounded text-[10px] ring-indigo-500 peer-focus-visible:ring-2 peer-checked:bg-indigo-700 peer-checked:text-white peer-disabled:cursor-not-allowed">
                                        {mark}
                                    </span>
                                </label>
                            }
                        })
                        .collect_view();
                    view! {
                        <div class="flex items-center gap-1">
                            <span class="w-6 text-xs text-slate-500" aria-hidden="true">{row.label.clone()}</span>
                            {seats}
                        </div>
                    }
                })
                .collect_view();
            view! {
                <fieldset class="space-y-1">
                    <legend class="text-sm font-semibold">{section.name.clone()}</legend>
                    {rows}
                </fieldset>
            }
        })
        .collect_view();

    // The same colours as the seats (style/main.css).
    let legend = [
        ("bg-emerald-200", labels.available.clone()),
        ("bg-amber-300", labels.held.clone()),
        ("bg-sky-300", labels.mine.clone()),
        ("bg-red-300", labels.sold.clone()),
        ("bg-slate-300", labels.blocked.clone()),
    ];
    view! {
        <form method="post" data-testid="seat-picker" data-hydrated=move || hydrated.get().then_some("true")>
            <div data-testid="seat-map" class="space-y-4 overflow-x-auto">{sections}</div>
            <ul class="mt-3 flex flex-wrap gap-3 text-xs text-slate-600" aria-hidden="true">
                {legend.into_iter().map(|(colour, text)| view! {
                    <li class="flex items-center gap-1"><span class=format!("inline-block h-3 w-3 rounded {colour}")></span>{text}</li>
                }).collect_view()}
            </ul>
            <p role="status" aria-live="polite" class="mt-2 text-sm text-amber-800" data-testid="seat-notice">{move || notice.get()}</p>
            <div class="mt-2 flex items-center justify-between text-sm">
                <span data-testid="seats-selected">{move || format!("{} {}", selected.with(Vec::len), labels.selected)}</span>
                <output data-testid="seats-total" class="font-semibold">{move || total.get()}</output>
            </div>
            {code.map(|c| view! { <input type="hidden" name="code" value=c /> })}
            <button
                type="submit"
                name="action"
                value="hold"
                data-testid="hold-seats"
                disabled=move || hydrated.get() && selected.with(Vec::is_empty)
                class="mt-2 w-full rounded bg-indigo-700 px-3 py-2 font-medium text-white hover:bg-indigo-800 disabled:opacity-50"
            >
                {labels.hold.clone()}
            </button>
        </form>
    }
}
