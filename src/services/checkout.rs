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
    let currency = Currency::parse(&order.currency).map_err(|e| {
        ServiceError::Internal(anyhow::anyhow!("order {id} has a bad currency: {e}"))
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
    let bill = price_items(&items, fee);
    let confirmation = confirmation_email(
        state,
        &viewer.account.email,
        lang,
        &order,
        bill.total_minor,
        currency,
    );
    let outcome = state
        .store
        .checkout(Checkout {
            order_id: id.clone(),
            user_id,
            attendees,
            fee_minor: bill.fee_minor,
            total_minor: bill.total_minor,
            on_paid: vec![confirmation],
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

/// The "your order is confirmed" email, sent once per order (its dedupe key).
pub(crate) fn confirmation_email(
    state: &AppState,
    to: &str,
    lang: Lang,
    order: &crate::store::orders::OrderRecord,
    total_minor: i64,
    currency: Currency,
) -> NewJob {
    let mut job = mail::job(
        to,
        lang,
        mail::Template::OrderConfirmed,
        json!({
            "event": order.event_title,
            "when": format::when(order.event_starts_at, &order.event_time_zone, lang),
            "tickets": order.items.len(),
            "total": crate::domain::Money::from_minor(total_minor, currency).format(lang),
            "url": format!("{}/orders/{}", state.config.settings.public_base(), order.id),
        }),
        state.now(),
    );
    job.dedupe_key = Some(format!("order-confirmed:{}", order.id));
    job
}
