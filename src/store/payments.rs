//! Storage of payments: starting one on a hold, applying the gateway's word
//! about it exactly once, releasing holds whose payment lapsed, and the
//! simulated gateway's own sessions.

use crate::domain::{OrderId, Timestamp, UserId};

use super::{BoxFuture, NewJob, StoreResult, orders::OrderRecord};

/// Payment starts on a hold: its one extension.
#[derive(Clone, Debug)]
pub struct BeginPayment {
    /// The order (an open hold of `user_id` with a total above zero).
    pub order_id: OrderId,
    /// Its buyer.
    pub user_id: UserId,
    /// The hold's new end, the same instant the session will end.
    pub expires_at: Timestamp,
    /// Now.
    pub now: Timestamp,
}

/// Where a started payment stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentStart {
    /// The hold's end after its one extension (set by the first attempt;
    /// a retried start gets the same instant, so the gateway sees the same
    /// request under the same idempotency key).
    pub expires_at: Timestamp,
    /// The session already attached by an earlier attempt: (id, url).
    pub session: Option<(String, String)>,
}

/// What the gateway says about an order's payment, re-fetched from it.
#[derive(Clone, Debug)]
pub struct PaymentEvent {
    /// The event's id (the gateway's `evt_…`, or `sweep:`/`reconcile:` plus
    /// the session id): applied at most once.
    pub event_id: String,
    /// Its type, e.g. `checkout.session.completed`.
    pub kind: String,
    /// The order (`client_reference_id`).
    pub order_id: String,
    /// The session the event is about.
    pub session_id: String,
    /// The money was received.
    pub paid: bool,
    /// The session can no longer be paid (expired, or its payment failed):
    /// the hold is released now.
    pub settled_unpaid: bool,
    /// The payment's reference at the gateway (for refunds).
    pub payment_ref: Option<String>,
    /// Jobs to write if this pays the order (confirmation email, tickets).
    pub on_paid: Vec<NewJob>,
    /// The job to write if the money cannot be kept (the refund).
    pub on_late: Option<NewJob>,
    /// Now.
    pub now: Timestamp,
}

/// What a payment event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// Seen before: nothing changed.
    Duplicate,
    /// The order is now paid.
    Paid,
    /// The order was already paid.
    AlreadyPaid,
    /// The money came after the hold was given up (or on a session that is
    /// not the order's): the order stays as it is and a refund was queued.
    Late,
    /// The session can no longer be paid: the hold was released.
    Released,
    /// Recorded; nothing to do.
    Recorded,
}

/// A hold whose payment started and whose end has passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LapsedPayment {
    /// The order.
    pub order_id: OrderId,
    /// Its session, if one was attached.
    pub session_id: Option<String>,
}

/// A session of the simulated gateway, shaped like Stripe's.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SimulatedSession {
    /// `cs_sim_…`.
    pub id: String,
    /// admit's order (`client_reference_id`).
    pub order_id: String,
    /// One session per key.
    pub idempotency_key: String,
    /// `open`, `complete` or `expired`.
    pub status: String,
    /// `paid` or `unpaid`.
    pub payment_status: String,
    /// Minor units.
    pub amount_total: i64,
    /// Lower-case ISO code.
    pub currency: String,
    /// The buyer's email.
    pub customer_email: String,
    /// Set once paid.
    pub payment_intent: Option<String>,
    /// Where the buyer lands after paying.
    pub success_url: String,
    /// Where the buyer lands after giving up.
    pub cancel_url: String,
    /// UTC ms.
    pub expires_at: i64,
    /// UTC ms.
    pub created_at: i64,
}

/// Payments.
pub trait PaymentStore: Send + Sync {
    /// Starts payment of an open, unexpired hold of this buyer with a total
    /// above zero: it becomes `pending_payment` and is extended once to
    /// `expires_at`. Starting again (a retry) changes nothing and returns the
    /// instant and session set the first time.
    fn begin_payment(&self, p: BeginPayment) -> BoxFuture<'_, StoreResult<PaymentStart>>;
    /// Attaches the gateway's session to an order whose payment started.
    fn attach_payment_session<'a>(
        &'a self,
        order: &'a OrderId,
        session_id: &'a str,
        url: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Applies what the gateway says about a session, in one transaction with
    /// the event's record: a duplicate event id changes nothing. Paying an
    /// open hold sells its stock and writes `on_paid`; money that cannot be
    /// kept writes `on_late`; a cancelled or expired order is never revived.
    fn apply_payment(&self, e: PaymentEvent) -> BoxFuture<'_, StoreResult<PaymentOutcome>>;
    /// Holds whose payment started and whose end passed by `now`.
    fn lapsed_payments(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> BoxFuture<'_, StoreResult<Vec<LapsedPayment>>>;
    /// Releases a lapsed hold whose payment started (the gateway said its
    /// session can no longer be paid). False when it was not lapsed any more.
    fn release_lapsed_payment<'a>(
        &'a self,
        order: &'a OrderId,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// The order a payment session belongs to.
    fn order_by_payment_session<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<OrderRecord>>>;

    /// Creates a simulated session; the same idempotency key returns the
    /// session made the first time.
    fn create_simulated_session(
        &self,
        s: SimulatedSession,
    ) -> BoxFuture<'_, StoreResult<SimulatedSession>>;
    /// A simulated session.
    fn simulated_session<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<SimulatedSession>>>;
    /// Ends an open simulated session: paid (`complete`, only before its
    /// end) or not (`expired`). False when it was no longer open.
    fn finish_simulated_session<'a>(
        &'a self,
        id: &'a str,
        paid: bool,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// Simulated sessions created at or after `since` (UTC ms), newest first.
    fn simulated_sessions_since(
        &self,
        since: i64,
    ) -> BoxFuture<'_, StoreResult<Vec<SimulatedSession>>>;
}
