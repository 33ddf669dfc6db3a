//! Payments: starting a hosted checkout session for an order, and applying
//! what the gateway says about it. Stripe's webhook, the simulated gateway's
//! events, the payment sweeper and the reconciliation job all end in
//! [`apply_session`], which decides on the session as re-fetched from the
//! gateway (never on a webhook's payload alone) and writes the outcome once.

use serde::Deserialize;
use serde_json::json;

use crate::{
    domain::{Currency, Money, OrderId, Timestamp, money::Lang},
    error::ServiceError,
    integrations::{
        payments::{LineItem, SessionRequest, SessionState, SessionStatus},
        webhook_signature,
    },
    server_fns::views::SimulatedSession,
    services::checkout,
    state::AppState,
    store::{BeginPayment, NewJob, PaymentEvent, PaymentOutcome, orders::OrderRecord},
};

/// The job that refunds a payment admit cannot keep.
pub const REFUND_PAYMENT: &str = "refund_payment";

/// Minutes a hold gets when payment starts: Stripe's Checkout needs at least
/// 30 minutes, and the session ends at the same instant as the hold.
pub const PAYMENT_MINUTES: i64 = 31;

/// How many lapsed payments one sweep looks at.
const SWEEP_BATCH: i64 = 200;

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

/// The gateway's lines for an order: one per tier and price, one for the fee.
/// Their sum must be the bill; anything else is a bug, refused before any
/// money moves.
fn line_items(
    order: &OrderRecord,
    total_minor: i64,
    fee_minor: i64,
) -> Result<Vec<LineItem>, ServiceError> {
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
    Ok(lines)
}

/// Starts (or resumes) payment of an order whose details and bill are saved.
/// The hold is extended once, to the instant the session will end; then the
/// gateway makes the session under the order's idempotency key, so a retry
/// after a timeout or a crash gets the same session, never a second one.
/// Returns the session's page.
#[tracing::instrument(skip_all, fields(order = %order.id))]
pub async fn start(
    state: &AppState,
    order: &OrderRecord,
    buyer_email: &str,
    total_minor: i64,
    fee_minor: i64,
) -> Result<String, ServiceError> {
    let now = state.now();
    let lines = line_items(order, total_minor, fee_minor)?;
    // The gateway counts whole seconds: the hold ends on one, so that both
    // end at the very same instant.
    let end = now.plus_minutes(PAYMENT_MINUTES).as_millis();
    let expires_at = Timestamp::from_millis(end / 1000 * 1000);
    let started = state
        .store
        .begin_payment(BeginPayment {
            order_id: order.id.clone(),
            user_id: order.user_id.clone(),
            expires_at,
            now,
        })
        .await?;
    if let Some((_, url)) = started.session {
        return Ok(url);
    }
    let base = state.config.settings.public_base();
    let session = state
        .payments
        .create_session(SessionRequest {
            order_id: order.id.to_string(),
            line_items: lines,
            currency: order.currency.to_ascii_lowercase(),
            customer_email: buyer_email.to_owned(),
            expires_at: started.expires_at.as_millis() / 1000,
            success_url: format!("{base}/orders/{}?notice=paying", order.id),
            cancel_url: format!("{base}/orders/{}", order.id),
            idempotency_key: format!("checkout:{}", order.id),
        })
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, gateway = state.payments.name(), "payment session could not be created");
            ServiceError::Unavailable(
                "The payment page could not be opened just now. Your tickets stay held: \
                 please try again in a minute from your order page."
                    .into(),
            )
        })?;
    state
        .store
        .attach_payment_session(&order.id, &session.id, &session.url, state.now())
        .await?;
    tracing::info!(gateway = state.payments.name(), "payment started");
    Ok(session.url)
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Bad signature or body: 400, the sender should not retry.
    #[error("{0}")]
    Refused(String),
    /// Storage or the gateway failed: 500, the sender retries.
    #[error(transparent)]
    Internal(#[from] ServiceError),
}

/// The few fields of an event admit reads; everything else comes from the
/// gateway when the session is re-fetched.
#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: EventObject,
}

#[derive(Deserialize)]
struct EventObject {
    id: String,
    #[serde(default)]
    object: String,
}

/// Checks a webhook's signature on the raw body, re-fetches the session it
/// is about from the gateway and applies what the gateway says, in one
/// transaction with the event's record, so a duplicate changes nothing.
#[tracing::instrument(skip_all, fields(event = tracing::field::Empty))]
pub async fn handle_webhook(
    state: &AppState,
    signature: Option<&str>,
    body: &[u8],
) -> Result<PaymentOutcome, WebhookError> {
    let now_secs = state.now().as_millis() / 1000;
    let secret = webhook_secret(state);
    webhook_signature::verify(&secret, signature, body, now_secs)
        .map_err(|e| WebhookError::Refused(e.to_string()))?;
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Refused(format!("the event is not a Stripe event: {e}")))?;
    tracing::Span::current().record("event", event.id.as_str());
    if let (Ok(text), Some(sig)) = (std::str::from_utf8(body), signature)
        && let Err(e) = crate::integrations::stripe::typed_event_kind(text, sig, &secret, now_secs)
    {
        tracing::warn!(event = %event.id, error = %e,
            "webhook event does not parse as a {} Stripe event; check the endpoint's API version",
            crate::integrations::stripe::api_version());
    }
    if !event.kind.starts_with("checkout.session.")
        || event.data.object.object != "checkout.session"
    {
        tracing::debug!(kind = %event.kind, "webhook event ignored");
        return Ok(PaymentOutcome::Recorded);
    }
    // The payload may be stale or out of order; the gateway's object is not.
    let session = state
        .payments
        .session(&event.data.object.id)
        .await
        .map_err(|e| {
            WebhookError::Internal(ServiceError::Internal(
                e.context("while re-fetching the session of a webhook event"),
            ))
        })?;
    let failed = event.kind == "checkout.session.async_payment_failed";
    Ok(apply_session(state, &event.id, &event.kind, &session, failed).await?)
}

/// Applies a session's state, as the gateway reports it, under `event_id`
/// (applied at most once). `payment_failed` marks a session whose delayed
/// payment was declined: it can no longer be paid either.
#[tracing::instrument(skip(state, session), fields(session = %session.id))]
pub async fn apply_session(
    state: &AppState,
    event_id: &str,
    kind: &str,
    session: &SessionState,
    payment_failed: bool,
) -> Result<PaymentOutcome, ServiceError> {
    let now = state.now();
    let Some(order_id) = session.order_id.clone() else {
        tracing::warn!("a session without client_reference_id; not admit's");
        return Ok(PaymentOutcome::Recorded);
    };
    let order = match OrderId::parse(&order_id) {
        Some(id) => state.store.order(&id).await?,
        None => None,
    };
    let (on_paid, on_late) = match &order {
        Some(o) => {
            let buyer = state.store.account(&o.user_id).await?;
            let on_paid = buyer
                .map(|b| checkout::on_paid_jobs(state, &b.email, Lang::En, o))
                .unwrap_or_default();
            let on_late = session.payment_ref.as_ref().map(|pi| {
                refund_job(
                    o,
                    pi,
                    session.amount_total.or(o.total_minor).unwrap_or(0),
                    now,
                )
            });
            (on_paid, on_late)
        }
        None => {
            if session.paid {
                tracing::error!(order = %order_id, "money received for an order admit does not know");
            }
            (Vec::new(), None)
        }
    };
    let settled_unpaid = !session.paid
        && (session.status == SessionStatus::Expired
            || (payment_failed && session.status == SessionStatus::Complete));
    let outcome = state
        .store
        .apply_payment(PaymentEvent {
            event_id: event_id.to_owned(),
            kind: kind.to_owned(),
            order_id,
            session_id: session.id.clone(),
            paid: session.paid,
            settled_unpaid,
            payment_ref: session.payment_ref.clone(),
            on_paid,
            on_late,
            now,
        })
        .await?;
    tracing::info!(?outcome, kind, "payment state applied");
    metrics::counter!("admit_payment_events_total", "outcome" => format!("{outcome:?}"))
        .increment(1);
    if outcome == PaymentOutcome::Paid {
        metrics::counter!("admit_orders_paid_total", "gateway" => state.payments.name())
            .increment(1);
    }
    Ok(outcome)
}

/// The refund of a payment admit cannot keep: once per payment, whatever
/// path found it (its dedupe key and the gateway's idempotency key).
pub(crate) fn refund_job(
    order: &OrderRecord,
    payment: &str,
    amount: i64,
    now: Timestamp,
) -> NewJob {
    NewJob {
        kind: REFUND_PAYMENT.into(),
        payload: json!({"order_id": order.id.as_str(), "payment": payment, "amount": amount,
            "currency": order.currency.to_ascii_lowercase()}),
        run_at: now,
        dedupe_key: Some(format!("refund:{payment}")),
        max_attempts: 10,
    }
}

/// Runs a refund job: the gateway refunds with the payment's idempotency key.
pub async fn run_refund(state: &AppState, payload: &str) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Refund {
        order_id: String,
        payment: String,
        amount: i64,
        currency: String,
    }
    let r: Refund = serde_json::from_str(payload)?;
    let id = state
        .payments
        .refund(
            &r.payment,
            r.amount,
            &r.currency,
            &format!("refund:{}", r.payment),
        )
        .await?;
    tracing::info!(order = %r.order_id, refund = %id, "payment refunded");
    Ok(())
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Holds released because their session can no longer be paid.
    pub released: u32,
    /// Holds the gateway said were paid after all.
    pub paid: u32,
    /// Holds left for the next sweep (the gateway did not answer).
    pub deferred: u32,
}

/// The payment sweeper: for every hold whose payment started and whose end
/// passed, the gateway's session is expired first, so it can no longer be
/// paid; a session the buyer completed in time is applied as paid instead.
/// Only then is the hold released. A gateway that does not answer leaves the
/// hold for the next sweep: stock is never freed while money may still come.
#[tracing::instrument(skip(state))]
pub async fn sweep_lapsed(state: &AppState) -> anyhow::Result<SweepReport> {
    let mut report = SweepReport::default();
    for lapsed in state
        .store
        .lapsed_payments(state.now(), SWEEP_BATCH)
        .await?
    {
        let Some(session_id) = lapsed.session_id else {
            // No session was attached (its creation failed): nothing can be
            // paid through admit, and reconciliation covers a crash between
            // creating and attaching one.
            if state
                .store
                .release_lapsed_payment(&lapsed.order_id, state.now())
                .await?
            {
                report.released += 1;
            }
            continue;
        };
        let session = match state.payments.expire_session(&session_id).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(order = %lapsed.order_id, error = ?e, "could not expire a payment session; will try again");
                report.deferred += 1;
                continue;
            }
        };
        if session.paid {
            apply_session(
                state,
                &format!("sweep:{session_id}"),
                "sweep",
                &session,
                false,
            )
            .await?;
            report.paid += 1;
        } else if session.status == SessionStatus::Open {
            // The gateway refused to expire it: keep the hold, try again.
            report.deferred += 1;
        } else if state
            .store
            .release_lapsed_payment(&lapsed.order_id, state.now())
            .await?
        {
            report.released += 1;
        }
    }
    if report != SweepReport::default() {
        tracing::info!(?report, "payment sweep");
    }
    Ok(report)
}

/// Reconciliation: completed sessions of the recent past, as the gateway
/// lists them, are applied once each (event id `reconcile:<session>`), so a
/// payment whose webhook never arrived is not lost. Returns how many paid an
/// order (or were refunded) that no webhook had.
#[tracing::instrument(skip(state))]
pub async fn reconcile(state: &AppState, lookback_secs: i64) -> anyhow::Result<u32> {
    let since = state.now().as_millis() / 1000 - lookback_secs;
    let mut applied = 0;
    for session in state.payments.completed_sessions(since).await? {
        if !session.paid {
            continue;
        }
        let outcome = apply_session(
            state,
            &format!("reconcile:{}", session.id),
            "reconcile",
            &session,
            false,
        )
        .await?;
        if matches!(outcome, PaymentOutcome::Paid | PaymentOutcome::Late) {
            tracing::warn!(session = %session.id, ?outcome, "reconciliation applied a payment no webhook had");
            applied += 1;
        }
    }
    Ok(applied)
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
        .order_by_payment_session(session)
        .await?
        .filter(|o| o.user_id == viewer)
        .ok_or(ServiceError::NotFound)?;
    let sim = state
        .store
        .simulated_session(session)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let currency = Currency::parse(&order.currency).unwrap_or(Currency::IDR);
    let view = SimulatedSession {
        order_id: order.id.to_string(),
        event_title: order.event_title.clone(),
        total_label: Money::from_minor(sim.amount_total, currency).format(lang),
    };
    Ok((order, view))
}

/// The buyer pays on the simulated page: the session completes, and a
/// `checkout.session.completed` event in Stripe's format, signed as Stripe
/// signs it, goes through [`handle_webhook`] like any other. Returns where
/// the buyer lands (the session's success page).
pub async fn simulate_payment(
    state: &AppState,
    who: &crate::services::authz::Identity,
    session: &str,
) -> Result<String, ServiceError> {
    let (order, _) = simulated_session(state, who, session, Lang::En).await?;
    let now = state.now();
    if !state
        .store
        .finish_simulated_session(session, true, now)
        .await?
    {
        return Err(ServiceError::Conflict(
            "This payment page has expired. Go back to your order to see where it stands.".into(),
        ));
    }
    let sim = state
        .store
        .simulated_session(session)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let (body, signature) = simulated_completed_event(state, &sim, now);
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

/// What the simulated gateway posts when a buyer completed `sim`: a
/// `checkout.session.completed` event in Stripe's format, and its
/// `Stripe-Signature` header, signed at `now` exactly as Stripe signs. The
/// load benchmark posts the same event over HTTP, as a gateway would.
pub fn simulated_completed_event(
    state: &AppState,
    sim: &crate::store::SimulatedSession,
    now: Timestamp,
) -> (String, String) {
    let body = crate::integrations::stripe::wire::event(
        &format!("evt_sim_{}", crate::store::new_id().replace('-', "")),
        "checkout.session.completed",
        now.as_millis() / 1000,
        crate::integrations::stripe::wire::checkout_session(
            &crate::integrations::stripe::wire::Session {
                id: &sim.id,
                order_id: &sim.order_id,
                status: "complete",
                payment_status: "paid",
                amount_total: sim.amount_total,
                currency: &sim.currency,
                customer_email: &sim.customer_email,
                payment_intent: sim.payment_intent.as_deref(),
                created: sim.created_at / 1000,
                expires_at: sim.expires_at / 1000,
                success_url: &sim.success_url,
                cancel_url: &sim.cancel_url,
                url: None,
            },
        ),
    )
    .to_string();
    let signature = webhook_signature::sign(
        &webhook_secret(state),
        now.as_millis() / 1000,
        body.as_bytes(),
    );
    (body, signature)
}

/// The buyer's card is declined on the simulated page: nothing is charged and
/// the session stays open, as on Stripe's page, so the buyer may try again.
pub async fn simulate_decline(
    state: &AppState,
    who: &crate::services::authz::Identity,
    session: &str,
) -> Result<(), ServiceError> {
    simulated_session(state, who, session, Lang::En).await?;
    Err(ServiceError::Invalid(
        "The card was declined (simulated). Nothing was charged: try again, or go back to your order."
            .into(),
    ))
}
