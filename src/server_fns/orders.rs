//! Holds and orders: the buyer's pages, and the live data the countdown and
//! seat picker islands poll.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::accounts::ssr;
use super::views::{CheckoutInput, HoldStatusView, OrderView, SeatStatusView};
use crate::domain::money::Lang;

#[cfg(feature = "ssr")]
fn order_id(id: &str) -> Result<crate::domain::OrderId, crate::error::ServiceError> {
    crate::domain::OrderId::parse(id).ok_or(crate::error::ServiceError::NotFound)
}

/// One of the signed-in buyer's orders.
#[server(prefix = "/_fn", endpoint = "orders/get")]
pub async fn get_order(id: String, lang: Lang) -> Result<OrderView, ServerFnError> {
    let c = ssr::ctx().await?;
    let result =
        async { crate::services::holds::order(&c.state, &c.who, &order_id(&id)?, lang).await };
    result.await.map_err(ssr::load_error)
}

/// The signed-in buyer's orders, newest first.
#[server(prefix = "/_fn", endpoint = "orders/mine")]
pub async fn my_orders(lang: Lang) -> Result<Vec<OrderView>, ServerFnError> {
    let c = ssr::ctx().await?;
    crate::services::holds::my_orders(&c.state, &c.who, lang)
        .await
        .map_err(ssr::load_error)
}

/// The live state of a hold (the countdown island polls this: the server's
/// clock is the authority).
#[server(prefix = "/_fn", endpoint = "orders/hold_status")]
pub async fn hold_status(id: String) -> Result<HoldStatusView, ServerFnError> {
    let c = ssr::ctx().await?;
    let result =
        async { crate::services::holds::hold_status(&c.state, &c.who, &order_id(&id)?).await };
    result.await.map_err(ssr::load_error)
}

/// Seats of an event held or sold right now (the seat picker polls this).
#[server(prefix = "/_fn", endpoint = "orders/seat_status")]
pub async fn seat_status(event_id: String) -> Result<SeatStatusView, ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        let event =
            crate::domain::EventId::parse(&event_id).ok_or(crate::error::ServiceError::NotFound)?;
        crate::services::holds::seat_status(&c.state, &c.who, &event).await
    };
    result.await.map_err(ssr::load_error)
}

/// The details step on the order page: who each ticket is for. A free order
/// is confirmed at once.
#[server(prefix = "/_fn", endpoint = "orders/checkout")]
pub async fn checkout_details(id: String, input: CheckoutInput) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        crate::services::checkout::checkout(&c.state, &c.who, &order_id(&id)?, &input, Lang::En)
            .await
    };
    let back = format!("/orders/{id}");
    let result = result.await;
    let next = match &result {
        Ok(order) if order.status == "paid" => format!("{back}?notice=confirmed"),
        // Off to the gateway's page (the simulated one is ours, under /pay).
        Ok(order) => match order.payment_url.as_deref() {
            Some(url) => {
                leptos_axum::redirect(url);
                return Ok(());
            }
            None => back.clone(),
        },
        Err(_) => back.clone(),
    };
    ssr::finish(result, &next, &back)
}

/// "Continue to payment" on an order whose payment started but whose page
/// was never reached: the same session comes back (the order's idempotency
/// key), or is made now.
#[server(prefix = "/_fn", endpoint = "orders/resume_payment")]
pub async fn resume_payment(id: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/orders/{id}");
    let result = async {
        crate::services::checkout::checkout(
            &c.state,
            &c.who,
            &order_id(&id)?,
            &CheckoutInput::default(),
            Lang::En,
        )
        .await
    };
    match result.await {
        Ok(order) => match order.payment_url.as_deref() {
            Some(url) => {
                leptos_axum::redirect(url);
                Ok(())
            }
            None => ssr::finish(Ok(()), &back, &back),
        },
        Err(e) => ssr::finish(Err::<(), _>(e), &back, &back),
    }
}

/// The simulated gateway's page data (development only).
#[server(prefix = "/_fn", endpoint = "pay/sim/session")]
pub async fn sim_session(
    session: String,
    lang: Lang,
) -> Result<super::views::SimulatedSession, ServerFnError> {
    let c = ssr::ctx().await?;
    crate::services::payments::simulated_session(&c.state, &c.who, &session, lang)
        .await
        .map(|(_, v)| v)
        .map_err(ssr::load_error)
}

/// The simulated gateway's buttons: `pay` completes the session and sends a
/// signed `checkout.session.completed` through the webhook handler; `fail`
/// is a declined card (nothing happens, the buyer may try again, as on
/// Stripe's page); `cancel` goes back to the order (the session ends with the
/// hold).
#[server(prefix = "/_fn", endpoint = "pay/sim/act")]
pub async fn sim_act(session: String, action: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let here: String = session
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
        .collect();
    let here = format!("/pay/sim/{here}");
    match action.as_str() {
        "pay" => {
            let result =
                crate::services::payments::simulate_payment(&c.state, &c.who, &session).await;
            let ok = result.as_deref().unwrap_or("/orders").to_owned();
            ssr::finish(result, &ok, &here)
        }
        "fail" => {
            let result =
                crate::services::payments::simulate_decline(&c.state, &c.who, &session).await;
            ssr::finish(result, &here, &here)
        }
        _ => {
            let result =
                crate::services::payments::simulated_session(&c.state, &c.who, &session, Lang::En)
                    .await;
            let ok = result
                .as_ref()
                .map(|(o, _)| format!("/orders/{}", o.id))
                .unwrap_or_default();
            ssr::finish(result, &ok, "/orders")
        }
    }
}

/// "Release these tickets" on the order page: back to the event.
#[server(prefix = "/_fn", endpoint = "orders/release")]
pub async fn release_hold(id: String, event_slug: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async { crate::services::holds::release(&c.state, &c.who, &order_id(&id)?).await };
    let back = format!("/orders/{id}");
    let slug: String = event_slug
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '-')
        .collect();
    ssr::finish(
        result.await,
        &format!("/events/{slug}?notice=released"),
        &back,
    )
}
