//! Checkout: the details step (who each ticket is for) and the bill the
//! buyer accepts. A free order (total 0, also through a 100 % code) is paid
//! at once, without any payment gateway.

use serde_json::json;

use crate::{
    domain::{
        Currency, OrderId, OrderStatus, account::EmailAddress, money::Lang, pricing::price_items,
    },
    error::ServiceError,
    server_fns::views::{CheckoutInput, OrderView},
    services::{authz::Identity, format, holds, mail},
    state::AppState,
    store::{Attendee, Checkout, CheckoutOutcome, NewJob},
};

/// Longest name printed on a ticket.
const MAX_NAME: usize = 100;

/// Saves who each ticket is for and accepts the bill. A free order is paid
/// in the same transaction (its stock sold, the confirmation email queued).
#[tracing::instrument(skip(state, who, input))]
pub async fn checkout(
    state: &AppState,
    who: &Identity,
    id: &OrderId,
    input: &CheckoutInput,
    lang: Lang,
) -> Result<OrderView, ServiceError> {
    let viewer = who.require_verified()?;
    let (user_id, order) = holds::own_order(state, who, id).await?;
    let now = state.now();
    // Payment started before but the page was never reached (the gateway
    // did not answer, or the buyer came back): resume it. The same session
    // comes back, under the order's idempotency key.
    if order.status_at(now) == OrderStatus::PendingPayment && order.payment_url.is_none() {
        let bill = bill_of(state, &order)?;
        crate::services::payments::start(
            state,
            &order,
            &viewer.account.email,
            bill.total_minor,
            bill.fee_minor,
        )
        .await?;
        return holds::order(state, who, id, lang).await;
    }
    if order.status_at(now) != OrderStatus::Reserved {
        return Err(ServiceError::Conflict(
            "This order is no longer an open hold. Please pick your tickets again.".into(),
        ));
    }
    if input.attendees.len() != order.items.len() {
        return Err(ServiceError::Invalid(format!(
            "Enter a name and an email for each of the {} tickets.",
            order.items.len()
        )));
    }
    let mut attendees = Vec::with_capacity(order.items.len());
    for (n, (item, a)) in order.items.iter().zip(&input.attendees).enumerate() {
        let name = a.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(ServiceError::Invalid(format!(
                "Ticket {}: enter the attendee's name (at most {MAX_NAME} characters).",
                n + 1
            )));
        }
        let email = EmailAddress::parse(&a.email)
            .map_err(|e| ServiceError::Invalid(format!("Ticket {}: {e}.", n + 1)))?;
        attendees.push(Attendee {
            item_id: item.id.clone(),
            name: name.to_owned(),
            email: email.as_str().to_owned(),
        });
    }
    let bill = bill_of(state, &order)?;
    let mut priced = order.clone();
    priced.total_minor = Some(bill.total_minor);
    let on_paid = on_paid_jobs(state, &viewer.account.email, lang, &priced);
    let outcome = state
        .store
        .checkout(Checkout {
            order_id: id.clone(),
            user_id,
            attendees,
            fee_minor: bill.fee_minor,
            total_minor: bill.total_minor,
            on_paid,
            now,
        })
        .await?;
    if outcome == CheckoutOutcome::Paid {
        tracing::info!(order = %id, "free order paid at checkout");
        metrics::counter!("admit_orders_paid_total", "gateway" => "none").increment(1);
    } else {
        let (_, saved) = holds::own_order(state, who, id).await?;
        crate::services::payments::start(
            state,
            &saved,
            &viewer.account.email,
            bill.total_minor,
            bill.fee_minor,
        )
        .await?;
    }
    holds::order(state, who, id, lang).await
}

/// The bill of an order's items under its currency's fee rule: what the
/// buyer accepts at checkout, and what a resumed payment charges.
fn bill_of(
    state: &AppState,
    order: &crate::store::orders::OrderRecord,
) -> Result<crate::domain::pricing::Breakdown, ServiceError> {
    let currency = Currency::parse(&order.currency).map_err(|e| {
        ServiceError::Internal(anyhow::anyhow!(
            "order {} has a bad currency: {e}",
            order.id
        ))
    })?;
    let fee = state.config.settings.fee_rule(currency).ok_or_else(|| {
        ServiceError::Invalid(format!(
            "Tickets in {} cannot be bought right now: the platform has no fee rule for it.",
            currency.code()
        ))
    })?;
    let items: Vec<(i64, i64)> = order
        .items
        .iter()
        .map(|i| (i.unit_price_minor, i.discount_minor))
        .collect();
    Ok(price_items(&items, fee))
}

/// The jobs written in the same transaction that pays an order, whatever
/// pays it (a free checkout, a webhook, the sweeper, reconciliation): the
/// confirmation email and the issuance of its tickets, each once per order
/// (their dedupe keys).
pub(crate) fn on_paid_jobs(
    state: &AppState,
    buyer_email: &str,
    lang: Lang,
    order: &crate::store::orders::OrderRecord,
) -> Vec<NewJob> {
    let currency = Currency::parse(&order.currency).unwrap_or(Currency::IDR);
    let total = order.total_minor.unwrap_or(0);
    let mut confirmation = mail::job(
        buyer_email,
        lang,
        mail::Template::OrderConfirmed,
        json!({
            "event": order.event_title,
            "when": format::when(order.event_starts_at, &order.event_time_zone, lang),
            "tickets": order.items.len(),
            "total": crate::domain::Money::from_minor(total, currency).format(lang),
            "url": format!("{}/orders/{}", state.config.settings.public_base(), order.id),
        }),
        state.now(),
    );
    confirmation.dedupe_key = Some(format!("order-confirmed:{}", order.id));
    vec![
        confirmation,
        crate::services::tickets::issue_job(&order.id, state.now()),
    ]
}
