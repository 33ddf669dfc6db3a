//! The tier quantity picker: live subtotal in the browser, a plain form
//! that posts to the server without WASM. "Hold tickets" submits the same
//! form with `action=hold`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{
    Currency, Money,
    catalogue::{Line, subtotal},
    money::Lang,
};

/// A tier as the picker needs it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PickerTier {
    /// Tier id (form field `qty.<id>`).
    pub id: String,
    /// Name.
    pub name: String,
    /// Unit price in minor units.
    pub price_minor: i64,
    /// Unit price, formatted.
    pub price_label: String,
    /// Units left.
    pub available: i64,
    /// The most one order can take (0: cannot be picked).
    pub max: u32,
    /// Nothing left.
    pub sold_out: bool,
    /// Inside its sale window.
    pub on_sale: bool,
}

/// Translated labels (the island carries no translation tables).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PickerLabels {
    /// "Subtotal".
    pub subtotal: String,
    /// The submit button.
    pub update: String,
    /// "Sold out".
    pub sold_out: String,
    /// "Not on sale".
    pub not_on_sale: String,
    /// "left" (as in "12 left").
    pub left: String,
    /// Accessible label of the quantity inputs.
    pub quantity: String,
    /// The button that holds the picked tickets.
    pub hold: String,
}

/// The picker. `initial` holds one quantity per tier (from a posted form).
#[island]
pub fn TierPicker(
    tiers: Vec<PickerTier>,
    currency: Currency,
    lang: Lang,
    initial: Vec<u32>,
    labels: PickerLabels,
    /// The code applied on the page, held with the tickets.
    code: Option<String>,
) -> impl IntoView {
    let quantities: Vec<RwSignal<u32>> = tiers
        .iter()
        .enumerate()
        .map(|(i, t)| RwSignal::new(initial.get(i).copied().unwrap_or(0).min(t.max)))
        .collect();
    // Effects run only in the browser: the marker says hydration happened.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    let prices: Vec<i64> = tiers.iter().map(|t| t.price_minor).collect();
    let qs = quantities.clone();
    let total = Memo::new(move |_| {
        let lines: Vec<Line> = prices
            .iter()
            .zip(&qs)
            .map(|(p, q)| Line {
                unit_price: Money::from_minor(*p, currency),
                count: q.get(),
            })
            .collect();
        subtotal(&lines, currency).unwrap_or(Money::zero(currency))
    });

    let units = quantities.clone();
    let total_units = Memo::new(move |_| units.iter().map(|q| q.get()).sum::<u32>());

    let rows = tiers
        .into_iter()
        .zip(quantities)
        .map(|(t, q)| {
            let status = if t.sold_out {
                view! { <span data-testid="sold-out" class="rounded bg-red-100 px-2 py-0.5 text-xs font-medium text-red-800">{labels.sold_out.clone()}</span> }.into_any()
            } else if !t.on_sale {
                view! { <span class="text-xs text-slate-500">{labels.not_on_sale.clone()}</span> }.into_any()
            } else {
                view! { <span class="text-xs text-slate-500">{format!("{} {}", t.available, labels.left)}</span> }.into_any()
            };
            let max = t.max;
            let input_id = format!("qty-{}", t.id);
            view! {
                <div class="flex items-center justify-between gap-3 py-2 border-b border-slate-100">
                    <div>
                        <label for=input_id.clone() class="font-medium">{t.name.clone()}</label>
                        <div class="text-sm text-slate-700">{t.price_label.clone()}</div>
                        {status}
                    </div>
                    <input
                        id=input_id
                        type="number"
                        inputmode="numeric"
                        data-testid="tier-qty"
                        name=format!("qty.{}", t.id)
                        min="0"
                        max=max.to_string()
                        data-price-minor=t.price_minor.to_string()
                        aria-label=format!("{} {}", labels.quantity, t.name)
                        disabled=max == 0
                        class="w-20 rounded border border-slate-300 px-2 py-1 text-right disabled:bg-slate-100"
                        prop:value=move || q.get().to_string()
                        on:input=move |ev| {
                            let n = event_target_value(&ev).trim().parse::<i64>().unwrap_or(0);
                            q.set(n.clamp(0, i64::from(max)) as u32);
                        }
                    />
                </div>
            }
        })
        .collect_view();

    view! {
        <form method="post" data-testid="tier-picker" data-hydrated=move || hydrated.get().then_some("true")>
            {rows}
            <div class="flex items-center justify-between pt-3">
                <span class="font-medium">{labels.subtotal.clone()}</span>
                <output
                    data-testid="subtotal"
                    aria-live="polite"
                    class="text-lg font-semibold"
                    data-subtotal-minor=move || total.get().minor().to_string()
                >
                    {move || total.get().format(lang)}
                </output>
            </div>
            {code.map(|c| view! { <input type="hidden" name="code" value=c /> })}
            <button
                type="submit"
                data-testid="update-subtotal"
                class="mt-3 w-full rounded border border-indigo-700 px-3 py-2 text-indigo-700 hover:bg-indigo-50"
            >
                {labels.update.clone()}
            </button>
            <button
                type="submit"
                name="action"
                value="hold"
                data-testid="hold-tickets"
                disabled=move || hydrated.get() && total_units.get() == 0
                class="mt-2 w-full rounded bg-indigo-700 px-3 py-2 font-medium text-white hover:bg-indigo-800 disabled:opacity-50"
            >
                {labels.hold.clone()}
            </button>
        </form>
    }
}
