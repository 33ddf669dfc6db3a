//! Payment gateways behind one trait: Stripe Checkout
//! ([`super::stripe::StripeGateway`]) in production, and in development,
//! without Stripe keys, the simulated gateway: its "hosted page" is admit's
//! own `/pay/sim/<session>`, its sessions are rows shaped like Stripe's, and
//! its events are signed exactly as Stripe signs them and go through the same
//! webhook handler, which re-fetches the session from the gateway either way.

use std::{future::Future, pin::Pin, sync::Arc};

use crate::{
    clock::{Clock, SystemClock},
    store::{SimulatedSession, Store},
};

/// A boxed future, so the trait stays object-safe.
pub type GatewayFuture<'a, T> = Pin<Box<dyn Future<Output = anyhow::Result<T>> + Send + 'a>>;

/// One line of the hosted payment page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineItem {
    /// What it is ("VIP", "Service fee").
    pub name: String,
    /// Price of one, minor units (positive).
    pub unit_amount: i64,
    /// How many.
    pub quantity: u32,
}

/// A request for a hosted checkout session.
#[derive(Clone, Debug)]
pub struct SessionRequest {
    /// admit's order id (Stripe's `client_reference_id`).
    pub order_id: String,
    /// Lines; their sum is the order's total.
    pub line_items: Vec<LineItem>,
    /// ISO currency, lower-case as Stripe writes it.
    pub currency: String,
    /// The buyer's email.
    pub customer_email: String,
    /// When the session ends (unix seconds), the same instant as the hold.
    pub expires_at: i64,
    /// Where the buyer lands after paying.
    pub success_url: String,
    /// Where the buyer lands after giving up.
    pub cancel_url: String,
    /// One key per order: a retried request never makes a second session.
    pub idempotency_key: String,
}

impl SessionRequest {
    /// The sum of the lines, minor units.
    pub fn amount_total(&self) -> i64 {
        self.line_items
            .iter()
            .map(|l| l.unit_amount * i64::from(l.quantity))
            .sum()
    }
}

/// A hosted checkout session, just created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewaySession {
    /// Session id (`cs_…`).
    pub id: String,
    /// The page the buyer pays on.
    pub url: String,
}

/// Where a hosted session is, as the gateway reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionStatus {
    /// The buyer can still pay.
    Open,
    /// The buyer finished; see [`SessionState::paid`] for the money.
    Complete,
    /// It can no longer be paid.
    Expired,
}

/// A session as the gateway reports it: the truth a webhook's payload only
/// hints at, so every decision is taken on this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionState {
    /// Session id.
    pub id: String,
    /// admit's order id (`client_reference_id`).
    pub order_id: Option<String>,
    /// Open, complete or expired.
    pub status: SessionStatus,
    /// The money was received (`payment_status` is `paid`).
    pub paid: bool,
    /// The payment's reference at the gateway (for refunds).
    pub payment_ref: Option<String>,
    /// What the buyer paid, minor units.
    pub amount_total: Option<i64>,
}

/// A payment gateway.
pub trait PaymentGateway: Send + Sync {
    /// `simulated` or `stripe`.
    fn name(&self) -> &'static str;
    /// Creates a hosted checkout session. The same idempotency key always
    /// gives the same session.
    fn create_session(&self, req: SessionRequest) -> GatewayFuture<'_, GatewaySession>;
    /// Re-fetches a session.
    fn session<'a>(&'a self, id: &'a str) -> GatewayFuture<'a, SessionState>;
    /// Expires an open session so it can no longer be paid, and returns its
    /// final state: a session the buyer completed first stays complete.
    fn expire_session<'a>(&'a self, id: &'a str) -> GatewayFuture<'a, SessionState>;
    /// Completed sessions created at or after `since` (unix seconds), newest
    /// first, for reconciliation.
    fn completed_sessions(&self, since: i64) -> GatewayFuture<'_, Vec<SessionState>>;
    /// Refunds `amount` (minor units of `currency`) of a payment, once per
    /// idempotency key. Returns the refund's id.
    fn refund<'a>(
        &'a self,
        payment: &'a str,
        amount: i64,
        currency: &'a str,
        idempotency_key: &'a str,
    ) -> GatewayFuture<'a, String>;
}

/// The development gateway: sessions are rows in `simulated_sessions` and
/// their page is admit's own. Nothing leaves the machine, and production
/// refuses it.
pub struct SimulatedGateway {
    base_url: String,
    store: Arc<dyn Store>,
    clock: Arc<SystemClock>,
}

impl SimulatedGateway {
    /// A gateway whose pages live under `base_url`.
    pub fn new(base_url: &str, store: Arc<dyn Store>, clock: Arc<SystemClock>) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            store,
            clock,
        }
    }

    /// The state of a stored session, as Stripe would report it: an open
    /// session past its end reads as expired.
    fn state_of(&self, s: &SimulatedSession) -> SessionState {
        let status = match s.status.as_str() {
            "complete" => SessionStatus::Complete,
            "expired" => SessionStatus::Expired,
            _ if s.expires_at <= self.clock.now().as_millis() => SessionStatus::Expired,
            _ => SessionStatus::Open,
        };
        SessionState {
            id: s.id.clone(),
            order_id: Some(s.order_id.clone()),
            status,
            paid: s.payment_status == "paid",
            payment_ref: s.payment_intent.clone(),
            amount_total: Some(s.amount_total),
        }
    }

    async fn load(&self, id: &str) -> anyhow::Result<SimulatedSession> {
        self.store
            .simulated_session(id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no such simulated session {id}"))
    }
}

impl PaymentGateway for SimulatedGateway {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn create_session(&self, req: SessionRequest) -> GatewayFuture<'_, GatewaySession> {
        Box::pin(async move {
            anyhow::ensure!(
                req.line_items
                    .iter()
                    .all(|l| l.unit_amount > 0 && l.quantity > 0),
                "line items must have positive integer amounts"
            );
            let now = self.clock.now();
            let session = self
                .store
                .create_simulated_session(SimulatedSession {
                    // One session per order (its idempotency key is the
                    // order's), so the id can be the order's.
                    id: format!("cs_sim_{}", req.order_id.replace('-', "")),
                    order_id: req.order_id.clone(),
                    idempotency_key: req.idempotency_key.clone(),
                    status: "open".into(),
                    payment_status: "unpaid".into(),
                    amount_total: req.amount_total(),
                    currency: req.currency.clone(),
                    customer_email: req.customer_email.clone(),
                    payment_intent: None,
                    success_url: req.success_url.clone(),
                    cancel_url: req.cancel_url.clone(),
                    expires_at: req.expires_at * 1000,
                    created_at: now.as_millis(),
                })
                .await?;
            Ok(GatewaySession {
                url: format!("{}/pay/sim/{}", self.base_url, session.id),
                id: session.id,
            })
        })
    }

    fn session<'a>(&'a self, id: &'a str) -> GatewayFuture<'a, SessionState> {
        Box::pin(async move { Ok(self.state_of(&self.load(id).await?)) })
    }

    fn expire_session<'a>(&'a self, id: &'a str) -> GatewayFuture<'a, SessionState> {
        Box::pin(async move {
            self.store
                .finish_simulated_session(id, false, self.clock.now())
                .await?;
            Ok(self.state_of(&self.load(id).await?))
        })
    }

    fn completed_sessions(&self, since: i64) -> GatewayFuture<'_, Vec<SessionState>> {
        Box::pin(async move {
            Ok(self
                .store
                .simulated_sessions_since(since * 1000)
                .await?
                .iter()
                .map(|s| self.state_of(s))
                .filter(|s| s.status == SessionStatus::Complete)
                .collect())
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
            tracing::info!(
                payment,
                amount,
                currency,
                idempotency_key,
                "simulated refund"
            );
            Ok(format!(
                "re_sim_{}",
                idempotency_key.replace([':', '-', '_'], "")
            ))
        })
    }
}
