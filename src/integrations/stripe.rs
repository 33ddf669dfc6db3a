//! Stripe Checkout through async-stripe: the only module that imports it.
//!
//! Every call carries an idempotency key and a per-attempt timeout; a call
//! that times out, cannot connect, or gets an answer Stripe marks as
//! retryable (409, 429, 5xx) is sent again with the *same* key, so a retry
//! never makes a second session or refund. Amounts cross this boundary in
//! admit's minor units and are converted to Stripe's here: Stripe counts IDR
//! in hundredths although admit (and every rupiah price) uses whole rupiah.

use std::time::Duration;

use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    ExpireCheckoutSession, ListCheckoutSession, ProductData, RetrieveCheckoutSession,
};
use stripe_shared::{
    CheckoutSession, CheckoutSessionMode, CheckoutSessionPaymentStatus, CheckoutSessionStatus,
};

use super::payments::{
    GatewayFuture, GatewaySession, PaymentGateway, SessionRequest, SessionState, SessionStatus,
};

/// The Stripe API version admit speaks (pinned by the async-stripe release).
pub fn api_version() -> &'static str {
    stripe_shared::version::VERSION.as_str()
}

/// How many times a call is sent before giving up.
const ATTEMPTS: u32 = 3;

/// Stripe Checkout.
pub struct StripeGateway {
    client: Client,
    timeout: Duration,
}

impl StripeGateway {
    /// A gateway for `secret_key`, talking to `api_base` (Stripe's
    /// `https://api.stripe.com/` in production, a local fake in tests), with
    /// `timeout` per attempt.
    pub fn new(secret_key: &str, api_base: &str, timeout: Duration) -> anyhow::Result<Self> {
        let base = if api_base.ends_with('/') {
            api_base.to_owned()
        } else {
            format!("{api_base}/")
        };
        let client = ClientBuilder::new(secret_key)
            .url(base)
            .app_info("admit", Some(env!("CARGO_PKG_VERSION").to_owned()), None)
            .build()
            .map_err(|e| anyhow::anyhow!("while configuring the Stripe client: {e}"))?;
        Ok(Self { client, timeout })
    }

    /// Sends `req` with `key`, again on transient failures.
    async fn send<R>(&self, what: &str, req: &R, key: &str) -> anyhow::Result<R::Output>
    where
        R: StripeRequest,
        R::Output: miniserde::Deserialize,
    {
        let key = IdempotencyKey::new(key)
            .map_err(|e| anyhow::anyhow!("bad idempotency key for {what}: {e}"))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = req
                .customize()
                .request_strategy(RequestStrategy::Idempotent(key.clone()))
                .timeout(self.timeout)
                .send(&self.client)
                .await;
            match result {
                Ok(out) => return Ok(out),
                Err(e) if attempt < ATTEMPTS && transient(&e) => {
                    tracing::warn!(what, attempt, error = %e, "Stripe call failed; retrying with the same idempotency key");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                Err(e) => return Err(anyhow::anyhow!("Stripe {what} failed: {e}")),
            }
        }
    }
}

/// Failures worth sending again: the answer never came, or Stripe said so.
fn transient(e: &StripeError) -> bool {
    match e {
        StripeError::Timeout | StripeError::ClientError(_) => true,
        StripeError::Stripe(_, status) => matches!(status, 409 | 429 | 500..=599),
        _ => false,
    }
}

/// Stripe's amount for admit's minor units of `currency`.
pub fn to_stripe_amount(minor: i64, currency: &str) -> i64 {
    minor * stripe_factor(currency)
}

/// admit's minor units for Stripe's amount in `currency`.
pub fn from_stripe_amount(amount: i64, currency: &str) -> i64 {
    amount / stripe_factor(currency)
}

/// Stripe counts IDR in hundredths; admit in whole rupiah. Every other
/// currency admit supports has the same minor unit on both sides.
fn stripe_factor(currency: &str) -> i64 {
    if currency.eq_ignore_ascii_case("idr") {
        100
    } else {
        1
    }
}

/// The state admit needs from a Stripe session.
fn state_of(s: &CheckoutSession) -> SessionState {
    let currency = s
        .currency
        .as_ref()
        .map(|c| c.to_string())
        .unwrap_or_default();
    SessionState {
        id: s.id.to_string(),
        order_id: s.client_reference_id.clone(),
        status: match s.status {
            Some(CheckoutSessionStatus::Complete) => SessionStatus::Complete,
            Some(CheckoutSessionStatus::Expired) => SessionStatus::Expired,
            _ => SessionStatus::Open,
        },
        paid: matches!(
            s.payment_status,
            CheckoutSessionPaymentStatus::Paid | CheckoutSessionPaymentStatus::NoPaymentRequired
        ),
        payment_ref: s.payment_intent.as_ref().map(|p| p.id().to_string()),
        amount_total: s.amount_total.map(|a| from_stripe_amount(a, &currency)),
    }
}

impl PaymentGateway for StripeGateway {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn create_session(&self, req: SessionRequest) -> GatewayFuture<'_, GatewaySession> {
        Box::pin(async move {
            let currency: stripe_types::Currency = req
                .currency
                .parse()
                .map_err(|_| anyhow::anyhow!("unknown currency {}", req.currency))?;
            let lines: Vec<CreateCheckoutSessionLineItems> = req
                .line_items
                .iter()
                .map(|l| {
                    let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency.clone());
                    price.unit_amount = Some(to_stripe_amount(l.unit_amount, &req.currency));
                    price.product_data = Some(ProductData::new(l.name.clone()));
                    let mut item = CreateCheckoutSessionLineItems::new();
                    item.price_data = Some(price);
                    item.quantity = Some(u64::from(l.quantity));
                    item
                })
                .collect();
            let create = CreateCheckoutSession::new()
                .mode(CheckoutSessionMode::Payment)
                .line_items(lines)
                .client_reference_id(req.order_id.clone())
                .customer_email(req.customer_email.clone())
                .expires_at(req.expires_at)
                .success_url(req.success_url.clone())
                .cancel_url(req.cancel_url.clone());
            let s = self
                .send("session creation", &create, &req.idempotency_key)
                .await?;
            let url = s
                .url
                .clone()
                .ok_or_else(|| anyhow::anyhow!("Stripe returned session {} without a url", s.id))?;
            Ok(GatewaySession {
                id: s.id.to_string(),
                url,
            })
        })
    }

    fn session<'a>(&'a self, id: &'a str) -> GatewayFuture<'a, SessionState> {
        Box::pin(async move {
            let s = self
                .send(
                    "session retrieval",
                    &RetrieveCheckoutSession::new(id),
                    &format!("retrieve:{id}:{}", crate::store::new_id()),
                )
                .await?;
            Ok(state_of(&s))
        })
    }

    fn expire_session<'a>(&'a self, id: &'a str) -> GatewayFuture<'a, SessionState> {
        Box::pin(async move {
            match self
                .send(
                    "session expiry",
                    &ExpireCheckoutSession::new(id),
                    &format!("expire:{id}"),
                )
                .await
            {
                Ok(s) => Ok(state_of(&s)),
                // Only open sessions can be expired: a complete or already
                // expired one answers 400, and its state is what counts.
                Err(e) => {
                    tracing::debug!(session = id, error = %e, "session not expired; re-fetching it");
                    self.session(id).await
                }
            }
        })
    }

    fn completed_sessions(&self, since: i64) -> GatewayFuture<'_, Vec<SessionState>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut after: Option<String> = None;
            // A bounded walk: reconciliation runs often and looks back only
            // over a short window, so a few pages are plenty.
            for _ in 0..20 {
                let mut list = ListCheckoutSession::new()
                    .created(stripe_types::RangeQueryTs::gte(since))
                    .status(CheckoutSessionStatus::Complete)
                    .limit(100);
                if let Some(a) = &after {
                    list = list.starting_after(a.clone());
                }
                let page = self
                    .send(
                        "session listing",
                        &list,
                        &format!("list:{since}:{}", crate::store::new_id()),
                    )
                    .await?;
                out.extend(page.data.iter().map(state_of));
                if !page.has_more {
                    break;
                }
                after = page.data.last().map(|s| s.id.to_string());
                if after.is_none() {
                    break;
                }
            }
            Ok(out)
        })
    }

    fn refund<'a>(
        &'a self,
        payment: &'a str,
        amount: i64,
        currency: &'a str,
        idempotency_key: &'a str,
    ) -> GatewayFuture<'a, String> {
        Box::pin(async move {
            anyhow::ensure!(amount > 0, "a refund must be a positive amount");
            let create = stripe_core::refund::CreateRefund::new()
                .payment_intent(payment)
                .amount(to_stripe_amount(amount, currency));
            let r = self.send("refund", &create, idempotency_key).await?;
            Ok(r.id.to_string())
        })
    }
}

/// Checks that a signed webhook body parses as a complete Stripe event of
/// the pinned API version (async-stripe's typed parser, which verifies the
/// signature again at `now_secs`, the injected clock). The handler decides on
/// the re-fetched session, never on this parse; a failure here only means the
/// endpoint's API version drifted from admit's, which is worth a warning.
pub fn typed_event_kind(
    body: &str,
    signature: &str,
    secret: &str,
    now_secs: i64,
) -> Result<String, String> {
    stripe_webhook::Webhook::construct_event_with_timestamp(body, signature, secret, now_secs)
        .map(|e| e.type_.as_str().to_owned())
        .map_err(|e| e.to_string())
}

/// Stripe's wire shapes, for the objects admit itself writes in Stripe's
/// format: the simulated gateway's events (and, in tests, the fake Stripe's
/// answers). They are complete objects of the pinned API version, so
/// async-stripe's typed parser reads them like Stripe's own.
pub mod wire {
    use serde_json::{Value, json};

    /// The fields of a Checkout Session that vary.
    pub struct Session<'a> {
        /// `cs_…`.
        pub id: &'a str,
        /// admit's order (`client_reference_id`).
        pub order_id: &'a str,
        /// `open`, `complete` or `expired`.
        pub status: &'a str,
        /// `paid` or `unpaid`.
        pub payment_status: &'a str,
        /// In admit's minor units; written in Stripe's.
        pub amount_total: i64,
        /// Lower-case ISO code.
        pub currency: &'a str,
        /// The buyer's email.
        pub customer_email: &'a str,
        /// `pi_…` once paid.
        pub payment_intent: Option<&'a str>,
        /// Unix seconds.
        pub created: i64,
        /// Unix seconds.
        pub expires_at: i64,
        /// Where the buyer lands after paying.
        pub success_url: &'a str,
        /// Where the buyer lands after giving up.
        pub cancel_url: &'a str,
        /// The hosted page (only while open).
        pub url: Option<&'a str>,
    }

    /// A complete `checkout.session` object.
    pub fn checkout_session(s: &Session<'_>) -> Value {
        let amount = super::to_stripe_amount(s.amount_total, s.currency);
        json!({
            "id": s.id,
            "object": "checkout.session",
            "adaptive_pricing": null,
            "after_expiration": null,
            "allow_promotion_codes": null,
            "amount_subtotal": amount,
            "amount_total": amount,
            "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
            "billing_address_collection": null,
            "cancel_url": s.cancel_url,
            "client_reference_id": s.order_id,
            "client_secret": null,
            "collected_information": null,
            "consent": null,
            "consent_collection": null,
            "created": s.created,
            "currency": s.currency,
            "currency_conversion": null,
            "custom_fields": [],
            "custom_text": {"after_submit": null, "shipping_address": null, "submit": null,
                "terms_of_service_acceptance": null},
            "customer": null,
            "customer_creation": "if_required",
            "customer_details": {"address": null, "email": s.customer_email, "name": null,
                "phone": null, "tax_exempt": "none", "tax_ids": []},
            "customer_email": s.customer_email,
            "discounts": [],
            "expires_at": s.expires_at,
            "invoice": null,
            "invoice_creation": null,
            "livemode": false,
            "locale": null,
            "metadata": {},
            "mode": "payment",
            "payment_intent": s.payment_intent,
            "payment_link": null,
            "payment_method_collection": "if_required",
            "payment_method_configuration_details": null,
            "payment_method_options": {},
            "payment_method_types": ["card"],
            "payment_status": s.payment_status,
            "phone_number_collection": {"enabled": false},
            "recovered_from": null,
            "saved_payment_method_options": null,
            "setup_intent": null,
            "shipping_address_collection": null,
            "shipping_cost": null,
            "shipping_options": [],
            "status": s.status,
            "submit_type": null,
            "subscription": null,
            "success_url": s.success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted_page",
            "url": s.url,
        })
    }

    /// A complete event wrapping `object`, as Stripe posts it to a webhook.
    pub fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
        json!({
            "id": id,
            "object": "event",
            "account": null,
            "api_version": super::api_version(),
            "context": null,
            "created": created,
            "data": {"object": object, "previous_attributes": null},
            "livemode": false,
            "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "type": kind,
        })
    }
}
