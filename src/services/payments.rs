//! Payments: starting a hosted checkout session for an order, and applying
//! the gateway's signed events. Stripe's webhook and the simulated gateway's
//! events go through [`handle_webhook`] alike.

use serde::Deserialize;
use serde_json::json;

use crate::{
    domain::{Currency, Money, Timestamp, money::Lang},
    error::ServiceError,
    integrations::{
        payments::{LineItem, SessionRequest, SimulatedGateway},
        webhook_signature,
    },
    server_fns::views::SimulatedSession,
    services::checkout,
    state::AppState,
    store::{BeginPayment, NewJob, PaymentEvent, PaymentOutcome, orders::OrderRecord},
};

/// The job that refunds a payment which arrived after its hold ended.
pub const REFUND_PAYMENT: &str = "refund_payment";

/// Minutes a hold gets when payment starts: Stripe's Checkout needs at least
/// 30 minutes, and the session ends at the same instant as the hold.
pub const PAYMENT_MINUTES: i64 = 31;

/// The webhook signing secret: Stripe's, or in development one derived from
/// the session secret (the simulated gateway signs with it).
pub fn webhook_secret(state: &AppState) -> String {
    match &state.config.stripe_webhook_secret {
        Some(s) => s.expose().to_owned(),
        None => {
            use hmac::{Hmac, KeyInit, Mac};
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(
                state.config.secrets.session_secret.expose().as_bytes(),
            )
            .expect("HMAC takes any key length");
            mac.update(b"simulated-gateway-webhook");
            format!("whsec_sim_{}", hex::encode(mac.finalize().into_bytes()))
        }
    }
}

/// Starts payment of an order whose details and bill are saved: a hosted
/// session with one line per tier and price, and one for the fee, ending
/// with the hold, which is extended once to match. Returns the session's page.
pub async fn start(
    state: &AppState,
    order: &OrderRecord,
    buyer_email: &str,
    total_minor: i64,
    fee_minor: i64,
) -> Result<String, ServiceError> {
    let now = state.now();
    let expires_at = now.plus_minutes(PAYMENT_MINUTES);
    let mut lines: Vec<LineItem> = Vec::new();
    for item in &order.items {
        let amount = item.unit_price_minor - item.discount_minor;
        if amount <= 0 {
            continue;
        }
        match lines
            .iter_mut()
            .find(|l| l.name == item.tier_name && l.unit_amount == amount)
        {
            Some(l) => l.quantity += 1,
            None => lines.push(LineItem {
                name: item.tier_name.clone(),
                unit_amount: amount,
                quantity: 1,
            }),
        }
    }
    if fee_minor > 0 {
        lines.push(LineItem {
            name: "Service fee".into(),
            unit_amount: fee_minor,
            quantity: 1,
        });
    }
    let sum: i64 = lines
        .iter()
        .map(|l| l.unit_amount * i64::from(l.quantity))
        .sum();
    if sum != total_minor {
        return Err(ServiceError::Internal(anyhow::anyhow!(
            "order {}: line items add up to {sum}, the bill to {total_minor}",
            order.id
        )));
    }
    let base = state.config.settings.public_base();
    let session = state
        .payments
        .create_session(SessionRequest {
            order_id: order.id.to_string(),
            line_items: lines,
            currency: order.currency.to_ascii_lowercase(),
            customer_email: buyer_email.to_owned(),
            expires_at: expires_at.as_millis() / 1000,
            success_url: format!("{base}/orders/{}?notice=paying", order.id),
            cancel_url: format!("{base}/orders/{}", order.id),
            idempotency_key: format!("checkout:{}", order.id),
        })
        .await
        .map_err(ServiceError::Internal)?;
    state
        .store
        .begin_payment(BeginPayment {
            order_id: order.id.clone(),
            user_id: order.user_id.clone(),
            session_id: session.id.clone(),
            session_url: session.url.clone(),
            expires_at,
            now,
        })
        .await?;
    tracing::info!(order = %order.id, gateway = state.payments.name(), "payment started");
    Ok(session.url)
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Bad signature or body: 400, the sender should not retry.
    #[error("{0}")]
    Refused(String),
    /// Storage failed: 500, the sender retries.
    #[error(transparent)]
    Internal(#[from] ServiceError),
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: SessionObject,
}

#[derive(Deserialize)]
struct SessionObject {
    id: String,
    #[serde(default)]
    client_reference_id: Option<String>,
    #[serde(default)]
    payment_status: Option<String>,
    #[serde(default)]
    payment_intent: Option<String>,
    #[serde(default)]
    amount_total: Option<i64>,
}

/// Checks a webhook's signature on the raw body and applies its event, in
/// one transaction with the event's record, so a duplicate changes nothing.
#[tracing::instrument(skip_all)]
pub async fn handle_webhook(
    state: &AppState,
    signature: Option<&str>,
    body: &[u8],
) -> Result<PaymentOutcome, WebhookError> {
    let now = state.now();
    webhook_signature::verify(
        &webhook_secret(state),
        signature,
        body,
        now.as_millis() / 1000,
    )
    .map_err(|e| WebhookError::Refused(e.to_string()))?;
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Refused(format!("the event is not a Stripe event: {e}")))?;
    let paid = match event.kind.as_str() {
        "checkout.session.completed" => matches!(
            event.data.object.payment_status.as_deref(),
            Some("paid" | "no_payment_required")
        ),
        "checkout.session.async_payment_succeeded" => true,
        "checkout.session.async_payment_failed" | "checkout.session.expired" => false,
        other => {
            tracing::debug!(kind = other, "webhook event ignored");
            return Ok(PaymentOutcome::Recorded);
        }
    };
    let session = event.data.object;
    let Some(order_id) = session.client_reference_id.clone() else {
        return Ok(PaymentOutcome::Recorded);
    };
    let order = crate::domain::OrderId::parse(&order_id)
        .map(|id| async move { state.store.order(&id).await })
        .ok_or_else(|| WebhookError::Refused("unknown client_reference_id".into()))?
        .await
        .map_err(|e| WebhookError::Internal(e.into()))?;
    let (on_paid, on_late) = match &order {
        Some(o) => {
            let buyer = state
                .store
                .account(&o.user_id)
                .await
                .map_err(|e| WebhookError::Internal(e.into()))?;
            let currency = Currency::parse(&o.currency).unwrap_or(Currency::IDR);
            let total = o.total_minor.unwrap_or(0);
            let on_paid = buyer
                .map(|b| {
                    vec![checkout::confirmation_email(
                        state,
                        &b.email,
                        Lang::En,
                        o,
                        total,
                        currency,
                    )]
                })
                .unwrap_or_default();
            let on_late = session
                .payment_intent
                .as_ref()
                .map(|pi| refund_job(o, pi, session.amount_total.unwrap_or(total), now));
            (on_paid, on_late)
        }
        None => (Vec::new(), None),
    };
    let outcome = state
        .store
        .apply_payment(PaymentEvent {
            event_id: event.id,
            kind: event.kind,
            order_id,
            session_id: session.id,
            paid,
            payment_ref: session.payment_intent,
            on_paid,
            on_late,
            now,
        })
        .await
        .map_err(|e| WebhookError::Internal(e.into()))?;
    tracing::info!(?outcome, "payment event applied");
    metrics::counter!("admit_payment_events_total", "outcome" => format!("{outcome:?}"))
        .increment(1);
    Ok(outcome)
}

/// The refund of a payment that came too late, once per order.
fn refund_job(order: &OrderRecord, payment: &str, amount: i64, now: Timestamp) -> NewJob {
    NewJob {
        kind: REFUND_PAYMENT.into(),
        payload: json!({"order_id": order.id.as_str(), "payment": payment, "amount": amount}),
        run_at: now,
        dedupe_key: Some(format!("refund:{}", order.id)),
        max_attempts: 10,
    }
}

/// Runs a refund job: the gateway refunds with the order's idempotency key.
pub async fn run_refund(state: &AppState, payload: &str) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Refund {
        order_id: String,
        payment: String,
        amount: i64,
    }
    let r: Refund = serde_json::from_str(payload)?;
    let id = state
        .payments
        .refund(&r.payment, r.amount, &format!("refund:{}", r.order_id))
        .await?;
    tracing::info!(order = %r.order_id, refund = %id, "late payment refunded");
    Ok(())
}

/// The simulated gateway's page for a session of the viewer's own order.
pub async fn simulated_session(
    state: &AppState,
    who: &crate::services::authz::Identity,
    session: &str,
    lang: Lang,
) -> Result<(OrderRecord, SimulatedSession), ServiceError> {
    if state.payments.name() != "simulated" {
        return Err(ServiceError::NotFound);
    }
    let viewer = who.require_user()?.user_id();
    let order = state
        .store
        .orders_of_user(&viewer, 100)
        .await?
        .into_iter()
        .find(|o| SimulatedGateway::session_id(o.id.as_str()) == session)
        .ok_or(ServiceError::NotFound)?;
    let currency = Currency::parse(&order.currency).unwrap_or(Currency::IDR);
    let view = SimulatedSession {
        order_id: order.id.to_string(),
        event_title: order.event_title.clone(),
        total_label: Money::from_minor(order.total_minor.unwrap_or(0), currency).format(lang),
    };
    Ok((order, view))
}

/// The buyer pays on the simulated page: a `checkout.session.completed`
/// event in Stripe's format, signed as Stripe signs it, goes through
/// [`handle_webhook`] like any other.
pub async fn simulate_payment(
    state: &AppState,
    who: &crate::services::authz::Identity,
    session: &str,
) -> Result<String, ServiceError> {
    let (order, _) = simulated_session(state, who, session, Lang::En).await?;
    let now = state.now();
    let body = json!({
        "id": format!("evt_sim_{}", crate::store::new_id().replace('-', "")),
        "object": "event",
        "api_version": "2024-06-20",
        "created": now.as_millis() / 1000,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": session,
            "object": "checkout.session",
            "client_reference_id": order.id.as_str(),
            "payment_status": "paid",
            "status": "complete",
            "mode": "payment",
            "amount_total": order.total_minor.unwrap_or(0),
            "currency": order.currency.to_ascii_lowercase(),
            "payment_intent": format!("pi_sim_{}", order.id.as_str().replace('-', "")),
        }},
    })
    .to_string();
    let signature = webhook_signature::sign(
        &webhook_secret(state),
        now.as_millis() / 1000,
        body.as_bytes(),
    );
    handle_webhook(state, Some(&signature), body.as_bytes())
        .await
        .map_err(|e| match e {
            WebhookError::Refused(m) => {
                ServiceError::Internal(anyhow::anyhow!("simulated event refused: {m}"))
            }
            WebhookError::Internal(e) => e,
        })?;
    Ok(format!("/orders/{}?notice=paying", order.id))
}
