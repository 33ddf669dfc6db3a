//! The buyer's orders: the order (hold) page with its countdown, and the
//! list of all their orders.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{
    account_pages::{Flash, refusal},
    islands::countdown::{CountdownLabels, HoldCountdown},
    lang_of,
};
use crate::{
    i18n::*,
    server_fns::{
        orders::{
            CheckoutDetails, ReleaseHold, ResumePayment, SimAct, get_order, my_orders, sim_session,
        },
        views::OrderView,
    },
};

const CARD: &str = "rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200";

/// A status as the buyer reads it.
fn status_label(i18n: leptos_i18n::I18nContext<Locale>, status: &str) -> String {
    match status {
        "reserved" => t_string!(i18n, order_status_reserved).to_string(),
        "pending_payment" => t_string!(i18n, order_status_pending_payment).to_string(),
        "paid" => t_string!(i18n, order_status_paid).to_string(),
        "expired" => t_string!(i18n, order_status_expired).to_string(),
        _ => t_string!(i18n, order_status_cancelled).to_string(),
    }
}

/// `/orders/:id`: what is held, for how long, and the way out.
#[component]
pub fn OrderPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let order = Resource::new(
        move || (id(), lang_of(i18n.get_locale())),
        |(id, lang)| get_order(id, lang),
    );
    view! {
        <Title text="Your order — admit" />
        <Flash />
        <Suspense>
            {move || Suspend::new(async move {
                match order.await {
                    Err(e) => refusal(&e),
                    Ok(o) => view! { <OrderDetails order=o /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrderDetails(order: OrderView) -> impl IntoView {
    let i18n = use_i18n();
    let open = order.status == "reserved";
    let labels = CountdownLabels {
        left: t_string!(i18n, countdown_left).to_string(),
        ended: t_string!(i18n, hold_ended).to_string(),
        retry: t_string!(i18n, try_again).to_string(),
    };
    let retry = format!("/events/{}", order.event_slug);
    view! {
        <div class=CARD data-testid="order" data-status=order.status.clone()>
            <p class="text-sm text-slate-600">{t!(i18n, order_heading)}</p>
            <h1 class="text-2xl font-semibold" data-testid="order-event">
                <a href=retry.clone()>{order.event_title.clone()}</a>
            </h1>
            <p class="text-sm text-slate-600">{order.event_when.clone()}</p>
            <p class="mt-2">
                <span data-testid="order-status" class="rounded bg-slate-100 px-2 py-0.5 text-sm font-medium">
                    {status_label(i18n, &order.status)}
                </span>
            </p>
            {open.then(|| view! {
                <div class="mt-4">
                    <HoldCountdown order_id=order.id.clone() remaining_ms=order.remaining_ms retry_href=retry.clone() labels />
                </div>
            })}
            {(order.status == "expired").then(|| view! {
                <p role="alert" data-testid="hold-ended" class="mt-4 rounded bg-amber-50 p-3 text-amber-900">
                    {t!(i18n, hold_ended)} " " <a href=retry.clone() data-testid="try-again">{t!(i18n, try_again)}</a>
                </p>
            })}
            <table class="mt-4 w-full text-sm" data-testid="order-items">
                <tbody>
                    {order.items.iter().map(|item| view! {
                        <tr class="border-b border-slate-100" data-testid="order-item">
                            <td class="py-1">{item.tier.clone()}</td>
                            <td class="py-1" data-testid="order-seat">{item.seat.clone().unwrap_or_default()}</td>
                            <td class="py-1" data-testid="order-attendee">{item.attendee_name.clone().unwrap_or_default()}</td>
                            <td class="py-1 text-right">{item.price_label.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
                <tfoot>
                    <tr>
                        <th class="pt-2 text-left font-normal" colspan="2">{t!(i18n, subtotal)}</th>
                        <td class="pt-2 text-right" data-testid="order-subtotal">{order.subtotal_label.clone()}</td>
                    </tr>
                    {(order.discount_minor > 0).then(|| view! {
                        <tr>
                            <th class="text-left font-normal" colspan="2">{t!(i18n, discount_label)}</th>
                            <td class="text-right" data-testid="order-discount">{format!("− {}", order.discount_label)}</td>
                        </tr>
                    })}
                    <tr>
                        <th class="text-left font-normal" colspan="2">{t!(i18n, fee_label)}</th>
                        <td class="text-right" data-testid="order-fee" data-fee-minor=order.fee_minor.to_string()>{order.fee_label.clone()}</td>
                    </tr>
                    <tr>
                        <th class="pt-1 text-left" colspan="2">{t!(i18n, total_label)}</th>
                        <td class="pt-1 text-right font-semibold" data-testid="order-total" data-total-minor=order.total_minor.to_string()>{order.total_label.clone()}</td>
                    </tr>
                </tfoot>
            </table>
            {order.code.clone().map(|c| view! { <p class="mt-2 text-sm">{t!(i18n, order_code)} ": " {c}</p> })}
            {open.then(|| view! { <DetailsStep order=order.clone() /> })}
            {(order.status == "pending_payment").then(|| view! {
                <p class="mt-4 rounded bg-sky-50 p-3 text-sky-900" data-testid="awaiting-payment">
                    {t!(i18n, awaiting_payment)} " "
                    {order.payment_url.clone().map(|u| view! { <a href=u data-testid="continue-payment" class="font-medium">{t!(i18n, continue_payment)}</a> })}
                </p>
                {order.payment_url.is_none().then(|| view! {
                    // The gateway did not answer when payment started: try again.
                    <form method="post" action=ResumePayment::PATH class="mt-2">
                        <input type="hidden" name="id" value=order.id.clone() />
                        <button type="submit" data-testid="resume-payment" class="rounded bg-indigo-700 px-4 py-2 font-medium text-white">{t!(i18n, continue_payment)}</button>
                    </form>
                })}
            })}
            {open.then(|| view! {
                <form method="post" action=ReleaseHold::PATH class="mt-4">
                    <input type="hidden" name="id" value=order.id.clone() />
                    <input type="hidden" name="event_slug" value=order.event_slug.clone() />
                    <button type="submit" data-testid="release-hold"
                        class="rounded border border-slate-400 px-3 py-2 text-sm text-slate-700 hover:bg-slate-50">
                        {t!(i18n, release_hold)}
                    </button>
                </form>
            })}
        </div>
    }
}

/// The details step: a name and an email per ticket. A free order is then
/// confirmed at once; otherwise the buyer goes on to pay.
#[component]
fn DetailsStep(order: OrderView) -> impl IntoView {
    let free = order.total_minor == 0;
    let i18n = use_i18n();
    let input = "w-full rounded border border-slate-300 px-2 py-1";
    view! {
        <form method="post" action=CheckoutDetails::PATH class="mt-6 space-y-4" data-testid="checkout-form">
            <h2 class="text-lg font-semibold">{t!(i18n, attendees_heading)}</h2>
            <input type="hidden" name="id" value=order.id.clone() />
            {order.items.iter().enumerate().map(|(n, item)| view! {
                <fieldset class="grid gap-2 sm:grid-cols-2">
                    <legend class="text-sm font-medium">{format!("{} {} · {}", t_string!(i18n, ticket_label), n + 1, item.tier)}</legend>
                    <label class="text-sm">{t!(i18n, name_label)}
                        <input name=format!("input[attendees][{n}][name]") required maxlength="100" autocomplete="name" class=input data-testid="attendee-name" />
                    </label>
                    <label class="text-sm">{t!(i18n, email_label)}
                        <input type="email" name=format!("input[attendees][{n}][email]") required autocomplete="email" class=input data-testid="attendee-email" />
                    </label>
                </fieldset>
            }).collect_view()}
            <button type="submit" data-testid="checkout-submit" class="rounded bg-indigo-700 px-4 py-2 font-medium text-white hover:bg-indigo-800">
                {if free { t_string!(i18n, confirm_free) } else { t_string!(i18n, continue_payment) }}
            </button>
        </form>
    }
}

/// `/pay/sim/:session`: the simulated gateway's hosted page (development
/// only): pay, have the card declined, or go back without paying.
#[component]
pub fn SimulatedPayPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let session = move || params.with(|p| p.get("session").unwrap_or_default());
    let data = Resource::new(
        move || (session(), lang_of(i18n.get_locale())),
        |(s, l)| sim_session(s, l),
    );
    view! {
        <Title text="Simulated payment — admit" />
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => refusal(&e),
                    Ok(s) => view! {
                        <div class=CARD data-testid="sim-pay">
                            <p class="text-sm uppercase tracking-wide text-amber-700">{t!(i18n, sim_banner)}</p>
                            <h1 class="text-2xl font-semibold">{s.event_title.clone()}</h1>
                            <p class="mt-2 text-lg" data-testid="sim-total">{s.total_label.clone()}</p>
                            <div class="mt-4 flex gap-3">
                                <form method="post" action=SimAct::PATH>
                                    <input type="hidden" name="session" value=session() />
                                    <input type="hidden" name="action" value="pay" />
                                    <button type="submit" data-testid="sim-pay-button" class="rounded bg-indigo-700 px-4 py-2 font-medium text-white">{t!(i18n, sim_pay)}</button>
                                </form>
                                <form method="post" action=SimAct::PATH>
                                    <input type="hidden" name="session" value=session() />
                                    <input type="hidden" name="action" value="fail" />
                                    <button type="submit" data-testid="sim-fail" class="rounded border border-rose-400 px-4 py-2 text-rose-800">{t!(i18n, sim_fail)}</button>
                                </form>
                                <form method="post" action=SimAct::PATH>
                                    <input type="hidden" name="session" value=session() />
                                    <input type="hidden" name="action" value="cancel" />
                                    <button type="submit" data-testid="sim-cancel" class="rounded border border-slate-400 px-4 py-2">{t!(i18n, sim_cancel)}</button>
                                </form>
                            </div>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/orders`: every order of the signed-in buyer, newest first.
#[component]
pub fn MyOrdersPage() -> impl IntoView {
    let i18n = use_i18n();
    let orders = Resource::new(move || lang_of(i18n.get_locale()), my_orders);
    view! {
        <Title text="My orders — admit" />
        <h1 class="text-2xl font-semibold mb-4">{t!(i18n, my_orders)}</h1>
        <Suspense>
            {move || Suspend::new(async move {
                match orders.await {
                    Err(e) => refusal(&e),
                    Ok(list) if list.is_empty() => view! { <p data-testid="no-orders" class="text-slate-600">{t!(i18n, no_orders)}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="space-y-3">
                            {list.into_iter().map(|o| view! {
                                <li class=CARD data-testid="order-row" data-status=o.status.clone()>
                                    <div class="flex flex-wrap items-baseline justify-between gap-2">
                                        <a href=format!("/orders/{}", o.id) class="font-semibold">{o.event_title.clone()}</a>
                                        <span class="text-sm">{status_label(i18n, &o.status)}</span>
                                    </div>
                                    <p class="text-sm text-slate-600">{o.event_when.clone()}</p>
                                    <p class="text-sm">{format!("{} × · {}", o.items.len(), o.subtotal_label)}</p>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
