//! Storage of orders and holds: taking and releasing stock, seats and code
//! uses, and reading orders back.

use crate::domain::{EventId, OrderId, OrderStatus, TierId, Timestamp, UserId};

use super::{BoxFuture, StoreResult};

/// General-admission units of one tier in a hold.
#[derive(Clone, Debug)]
pub struct HoldLine {
    /// The tier.
    pub tier_id: TierId,
    /// Units, at least 1.
    pub count: u32,
    /// Price of one unit at hold time (early bird applied), minor units.
    pub unit_price_minor: i64,
    /// The code's discount on one unit, minor units.
    pub discount_minor: i64,
}

/// A seat claimed by a hold. It sells as its map's tier.
#[derive(Clone, Debug)]
pub struct HoldSeat {
    /// The seat.
    pub seat_id: String,
    /// The tier it sells as (checked against the map inside the transaction).
    pub tier_id: TierId,
    /// "Balcony C12", for messages and the order's history.
    pub label: String,
    /// Price at hold time, minor units.
    pub unit_price_minor: i64,
    /// The code's discount on it, minor units.
    pub discount_minor: i64,
}

/// A code whose use a hold reserves.
#[derive(Clone, Debug)]
pub struct HoldCode {
    /// The code's id.
    pub id: String,
    /// The code as buyers type it, for messages.
    pub text: String,
    /// Uses one buyer may have open or paid at once.
    pub max_uses_per_user: Option<i64>,
}

/// A request to hold tickets.
#[derive(Clone, Debug)]
pub struct TakeHold {
    /// The new order's id.
    pub order_id: OrderId,
    /// Buyer.
    pub user_id: UserId,
    /// Event.
    pub event_id: EventId,
    /// General-admission lines.
    pub lines: Vec<HoldLine>,
    /// Seats to claim.
    pub seats: Vec<HoldSeat>,
    /// The code entered, if any.
    pub code: Option<HoldCode>,
    /// Now (by the injected clock).
    pub now: Timestamp,
    /// When the hold ends.
    pub expires_at: Timestamp,
    /// The version of the event's terms (`events.terms_version`) the hold
    /// was priced and checked against. The hold's transaction refuses it
    /// with [`super::Conflict::StaleTerms`] if the terms changed since, so a
    /// cached copy of them can never let a hold through. `None`: not checked.
    pub terms_version: Option<i64>,
}

impl TakeHold {
    /// A general-admission hold of `count` units of one tier at `price`.
    pub fn of_tier(
        user_id: UserId,
        event_id: EventId,
        tier_id: TierId,
        count: u32,
        price: i64,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Self {
        Self {
            order_id: OrderId::from_string(super::new_id()),
            user_id,
            event_id,
            lines: vec![HoldLine {
                tier_id,
                count,
                unit_price_minor: price,
                discount_minor: 0,
            }],
            seats: Vec::new(),
            code: None,
            now,
            expires_at,
            terms_version: None,
        }
    }
}

/// A hold that was granted.
#[derive(Clone, Debug)]
pub struct HoldReceipt {
    /// The order.
    pub order_id: OrderId,
    /// Units held.
    pub units: u32,
    /// The buyer's earlier open hold on this event, released by this one.
    pub replaced: Option<OrderId>,
    /// The new order as stored, so the buyer's answer needs no second read.
    pub order: OrderRecord,
}

/// One unit of an order.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrderItemRecord {
    /// Item id.
    pub id: String,
    /// Tier.
    pub tier_id: String,
    /// Tier name.
    pub tier_name: String,
    /// Price at hold time.
    pub unit_price_minor: i64,
    /// The code's discount on it.
    pub discount_minor: i64,
    /// Seat, if the item is for one.
    pub seat_id: Option<String>,
    /// "Balcony C12".
    pub seat_label: Option<String>,
    /// Ticket holder's name, once checkout asked for it.
    pub attendee_name: Option<String>,
    /// Ticket holder's email.
    pub attendee_email: Option<String>,
}

/// An order with its items.
#[derive(Clone, Debug)]
pub struct OrderRecord {
    /// Id.
    pub id: OrderId,
    /// Buyer.
    pub user_id: UserId,
    /// Event.
    pub event_id: EventId,
    /// Event title.
    pub event_title: String,
    /// Event slug.
    pub event_slug: String,
    /// Event start.
    pub event_starts_at: Timestamp,
    /// Event time zone.
    pub event_time_zone: String,
    /// Stored status (see [`OrderRecord::status_at`]).
    pub status: OrderStatus,
    /// ISO currency.
    pub currency: String,
    /// When the hold ends unless paid.
    pub expires_at: Timestamp,
    /// Created.
    pub created_at: Timestamp,
    /// The code used, as typed.
    pub code: Option<String>,
    /// The total accepted at checkout.
    pub total_minor: Option<i64>,
    /// When it was paid.
    pub paid_at: Option<Timestamp>,
    /// Where the buyer pays, once payment started.
    pub payment_url: Option<String>,
    /// The gateway's session, once payment started.
    pub payment_session_id: Option<String>,
    /// The payment's reference at the gateway (for refunds), once paid.
    pub payment_ref: Option<String>,
    /// When the organizer refunded it.
    pub refunded_at: Option<Timestamp>,
    /// Units, in the order they were taken.
    pub items: Vec<OrderItemRecord>,
}

impl OrderRecord {
    /// The status as buyers should see it at `now`: a hold past its end is
    /// expired even before the sweeper has released it. A hold whose payment
    /// started stays pending until the gateway's answer is in: the buyer may
    /// have paid at the last second.
    pub fn status_at(&self, now: Timestamp) -> OrderStatus {
        if self.status == OrderStatus::Reserved && self.expires_at <= now {
            OrderStatus::Expired
        } else {
            self.status
        }
    }
}

/// Who one ticket is for.
#[derive(Clone, Debug)]
pub struct Attendee {
    /// The order item (ticket unit).
    pub item_id: String,
    /// Full name.
    pub name: String,
    /// Email (lower-cased).
    pub email: String,
}

/// The details step of checkout.
#[derive(Clone, Debug)]
pub struct Checkout {
    /// The open hold.
    pub order_id: OrderId,
    /// Its buyer (anyone else's order is not found).
    pub user_id: UserId,
    /// One per item of the order.
    pub attendees: Vec<Attendee>,
    /// The fee and total the buyer accepts.
    pub fee_minor: i64,
    /// What the buyer pays; zero pays the order at once.
    pub total_minor: i64,
    /// Jobs to write when the order is paid (the confirmation email).
    pub on_paid: Vec<super::NewJob>,
    /// Now.
    pub now: Timestamp,
}

/// Where checkout left the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckoutOutcome {
    /// Free: paid at once, its stock sold.
    Paid,
    /// Details saved; payment comes next.
    AwaitingPayment,
}

/// A seat that is held or sold at some instant.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct SeatClaim {
    /// The seat.
    pub seat_id: String,
    /// The order holding it.
    pub order_id: String,
    /// Paid (sold) rather than held.
    pub sold: bool,
}

/// Orders and holds.
pub trait OrderStore: Send + Sync {
    /// Takes a hold, all or nothing, in one transaction: releases the buyer's
    /// earlier open hold on the event and any expired holds on the quotas and
    /// seats it touches, then takes stock with conditional updates in a fixed
    /// quota order, claims each seat (a second active claim is refused by the
    /// database), reserves a use of the code, and records the order with one
    /// item per unit.
    ///
    /// It is a batch of one (the rules live in one place), run on the shared
    /// pool rather than the admission connections.
    fn take_hold(&self, hold: TakeHold) -> BoxFuture<'_, StoreResult<HoldReceipt>>;
    /// Takes a batch of holds (group admission): each is decided in the
    /// order given, by the same rules as [`OrderStore::take_hold`], and gets
    /// its own answer, but many share one transaction and one commit. A
    /// buyer's second hold on the same event in one batch goes into a second
    /// transaction and replaces the first, as it would one after another.
    /// Only holds answered `Ok` were committed.
    fn take_holds(&self, holds: Vec<TakeHold>) -> BoxFuture<'_, Vec<StoreResult<HoldReceipt>>>;
    /// Releases every hold (`reserved`) that expired by `now`; returns how
    /// many. Holds whose payment started are not touched: the payment sweeper
    /// asks the gateway about them first.
    fn release_expired_holds(&self, now: Timestamp) -> BoxFuture<'_, StoreResult<u64>>;
    /// The buyer lets go of an open hold: it becomes `cancelled` and its
    /// stock, seats and code use are given back. False when it was no longer
    /// open; `NotFound` when it is not this buyer's.
    fn release_hold<'a>(
        &'a self,
        order: &'a OrderId,
        user: &'a UserId,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// An order with its items.
    fn order<'a>(&'a self, id: &'a OrderId) -> BoxFuture<'a, StoreResult<Option<OrderRecord>>>;
    /// A buyer's orders, newest first.
    fn orders_of_user<'a>(
        &'a self,
        user: &'a UserId,
        limit: i64,
    ) -> BoxFuture<'a, StoreResult<Vec<OrderRecord>>>;
    /// Saves the attendees and the accepted bill on an open, unexpired hold
    /// of this buyer. A bill of zero pays the order in the same transaction:
    /// its held stock becomes sold and `on_paid` jobs are written.
    fn checkout(&self, c: Checkout) -> BoxFuture<'_, StoreResult<CheckoutOutcome>>;
    /// Seats of an event that are sold, or held by a hold still open at `now`.
    fn seat_claims_of_event<'a>(
        &'a self,
        event: &'a EventId,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Vec<SeatClaim>>>;
}
