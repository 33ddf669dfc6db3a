//! Payment gateways behind one trait. In development, without Stripe keys,
//! the simulated gateway stands in: its "hosted page" is admit's own
//! `/pay/sim/<session>`, and its events are signed exactly as Stripe signs
//! them and go through the same webhook handler.

use std::future::Future;
use std::pin::Pin;

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

/// A hosted checkout session as the gateway reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewaySession {
    /// Session id (`cs_…`).
    pub id: String,
    /// The page the buyer pays on.
    pub url: String,
}

/// A payment gateway.
pub trait PaymentGateway: Send + Sync {
    /// `simulated` or `stripe`.
    fn name(&self) -> &'static str;
    /// Creates a hosted checkout session.
    fn create_session(&self, req: SessionRequest) -> GatewayFuture<'_, GatewaySession>;
    /// Refunds `amount` of a payment, once per idempotency key.
    fn refund<'a>(
        &'a self,
        payment: &'a str,
        amount: i64,
        idempotency_key: &'a str,
    ) -> GatewayFuture<'a, String>;
}

/// The development gateway: sessions are admit's own page. Nothing leaves
/// the machine, and production refuses it.
pub struct SimulatedGateway {
    base_url: String,
}

impl SimulatedGateway {
    /// A gateway whose pages live under `base_url`.
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The session id for an order: one per order, like an idempotency key.
    pub fn session_id(order_id: &str) -> String {
        format!("cs_sim_{}", order_id.replace('-', ""))
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
            let id = Self::session_id(&req.order_id);
            Ok(GatewaySession {
                url: format!("{}/pay/sim/{id}", self.base_url),
                id,
            })
        })
    }

    fn refund<'a>(
        &'a self,
        payment: &'a str,
        amount: i64,
        idempotency_key: &'a str,
    ) -> GatewayFuture<'a, String> {
        Box::pin(async move {
            anyhow::ensure!(amount > 0, "a refund must be a positive amount");
            tracing::info!(payment, amount, idempotency_key, "simulated refund");
            Ok(format!(
                "re_sim_{}",
                idempotency_key.replace([':', '-'], "")
            ))
        })
    }
}

/// Stands in where Stripe keys are configured until the Stripe Checkout
/// gateway exists: every call fails with a message saying so, instead of
/// pretending to take money.
pub struct UnavailableGateway;

impl PaymentGateway for UnavailableGateway {
    fn name(&self) -> &'static str {
        "unavailable"
    }

    fn create_session(&self, _req: SessionRequest) -> GatewayFuture<'_, GatewaySession> {
        Box::pin(async { anyhow::bail!("online payment through Stripe is not available yet") })
    }

    fn refund<'a>(&'a self, _: &'a str, _: i64, _: &'a str) -> GatewayFuture<'a, String> {
        Box::pin(async { anyhow::bail!("online payment through Stripe is not available yet") })
    }
}
