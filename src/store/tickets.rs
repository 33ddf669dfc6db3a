//! Storage of tickets and the door: event signing keys, issued tickets,
//! check-ins (one standing admission per ticket, enforced by a partial
//! unique index) and every scan (keyed by the client's nonce).

use crate::domain::{EventId, OrderId, Timestamp, UserId};

use super::{BoxFuture, NewJob, StoreResult};

/// An event's key pair as stored.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EventKeyRow {
    /// The event.
    pub event_id: String,
    /// base64url Ed25519 public key.
    pub public_key: String,
    /// The private key, sealed under the master key.
    pub sealed_key: String,
}

/// A ticket to issue for one unit of a paid order.
#[derive(Clone, Debug)]
pub struct NewTicket {
    /// Its id (a UUID; the code carries it).
    pub id: String,
    /// The unit it is for.
    pub order_item_id: String,
    /// The tier.
    pub tier_id: String,
    /// The seat, if any.
    pub seat_label: Option<String>,
    /// Who it is for.
    pub attendee_name: String,
    /// Their email.
    pub attendee_email: String,
    /// The signed code.
    pub code: String,
    /// The short reference printed under the QR.
    pub reference: String,
}

/// A ticket as stored, with what pages and the door show about it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct TicketRecord {
    /// Id.
    pub id: String,
    /// Order.
    pub order_id: String,
    /// The unit it is for.
    pub order_item_id: String,
    /// The buyer.
    pub buyer_id: String,
    /// Event.
    pub event_id: String,
    /// The event's organization.
    pub org_id: String,
    /// Event title.
    pub event_title: String,
    /// Event start (UTC ms).
    pub starts_at: i64,
    /// Event end (UTC ms).
    pub ends_at: i64,
    /// IANA zone.
    pub time_zone: String,
    /// Venue, with its city.
    pub venue: String,
    /// Event address.
    pub address: String,
    /// The event's terms (Markdown).
    pub terms: String,
    /// Tier.
    pub tier_id: String,
    /// Tier name.
    pub tier_name: String,
    /// Seat.
    pub seat_label: Option<String>,
    /// Attendee.
    pub attendee_name: String,
    /// Attendee's email.
    pub attendee_email: String,
    /// The signed code.
    pub code: String,
    /// Short reference.
    pub reference: String,
    /// `valid` or `revoked`.
    pub status: String,
    /// Why it was revoked.
    pub revoked_reason: Option<String>,
    /// Stored PDF.
    pub pdf_key: Option<String>,
    /// Issued (UTC ms).
    pub issued_at: i64,
}

/// A scan to record (and, if it admits, a check-in).
#[derive(Clone, Debug)]
pub struct Scan {
    /// The client's nonce: the same nonce is the same scan.
    pub nonce: String,
    /// The event the door is for.
    pub event_id: EventId,
    /// The ticket, when the code named one.
    pub ticket_id: Option<String>,
    /// Gate.
    pub gate: String,
    /// Device.
    pub device: String,
    /// Staff member scanning.
    pub staff_id: UserId,
    /// When the scan happened (offline: the device's time).
    pub scanned_at: Timestamp,
    /// Made offline and uploaded later: an admission that collides with
    /// another is kept as a flagged conflict instead of being refused.
    pub offline: bool,
    /// The verdict when the code itself is refused before any lookup
    /// (`forged`, `wrong_event`); `None` asks the store to admit.
    pub refused: Option<ScanResult>,
    /// Now.
    pub now: Timestamp,
}

/// The door's verdict on a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanResult {
    /// Admitted now.
    Valid,
    /// Admitted before.
    AlreadyUsed,
    /// A ticket of another event.
    WrongEvent,
    /// Refunded, cancelled or re-issued.
    Revoked,
    /// The signature does not verify.
    Forged,
    /// The code verifies but no such ticket was issued.
    Unknown,
    /// Admitted offline while admitted elsewhere: recorded as a conflict.
    Flagged,
}

impl ScanResult {
    /// The stored value.
    pub const fn as_str(self) -> &'static str {
        match self {
            ScanResult::Valid => "valid",
            ScanResult::AlreadyUsed => "already_used",
            ScanResult::WrongEvent => "wrong_event",
            ScanResult::Revoked => "revoked",
            ScanResult::Forged => "forged",
            ScanResult::Unknown => "unknown",
            ScanResult::Flagged => "flagged",
        }
    }
}

/// The standing admission of a ticket.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct Admission {
    /// The check-in.
    pub id: String,
    /// When (UTC ms).
    pub scanned_at: i64,
    /// At which gate.
    pub gate: String,
    /// On which device.
    pub device: String,
    /// By whom (their name).
    pub staff_name: Option<String>,
}

/// What the store decided about a scan, with what the door shows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanOutcome {
    /// The verdict.
    pub result: ScanResult,
    /// The ticket, if the code named an issued one.
    pub ticket_id: Option<String>,
    /// Attendee.
    pub attendee_name: Option<String>,
    /// Tier name.
    pub tier_name: Option<String>,
    /// Seat.
    pub seat_label: Option<String>,
    /// The earlier admission (already used, flagged).
    pub earlier: Option<Admission>,
    /// Why it was revoked.
    pub revoked_reason: Option<String>,
    /// A retried upload: the answer given the first time.
    pub replayed: bool,
}

/// Check-in counts of one event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DoorCounts {
    /// Valid tickets.
    pub total: i64,
    /// Admitted.
    pub checked_in: i64,
    /// Per tier: (tier name, admitted, valid tickets).
    pub per_tier: Vec<(String, i64, i64)>,
    /// Per gate: (gate, admitted).
    pub per_gate: Vec<(String, i64)>,
}

/// A flagged check-in: one ticket admitted at two gates while offline.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Conflict {
    /// The ticket.
    pub ticket_id: String,
    /// Its attendee.
    pub attendee_name: String,
    /// Its reference.
    pub reference: String,
    /// The flagged admission's gate.
    pub gate: String,
    /// Its scan time (UTC ms).
    pub scanned_at: i64,
}

/// A task for platform admins.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AdminTask {
    /// What kind (e.g. `ticket_issuance_failed`).
    pub kind: String,
    /// What it is about (an order id).
    pub subject: String,
    /// The last error.
    pub detail: String,
    /// When it was opened (UTC ms).
    pub created_at: i64,
}

/// Tickets and the door.
pub trait TicketStore: Send + Sync {
    /// The event's key pair; `candidate` is stored if it has none yet (the
    /// first caller wins, every caller gets the stored pair).
    fn event_key<'a>(
        &'a self,
        event: &'a EventId,
        candidate: EventKeyRow,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<EventKeyRow>>;
    /// An event's public key, if it has one.
    fn event_public_key<'a>(
        &'a self,
        event: &'a EventId,
    ) -> BoxFuture<'a, StoreResult<Option<String>>>;
    /// Issues tickets for the units of a paid order that have no valid one
    /// (a second run issues nothing new), writes `jobs` (the emails) in the
    /// same transaction, and returns every valid ticket of the order.
    fn issue_tickets<'a>(
        &'a self,
        order: &'a OrderId,
        tickets: Vec<NewTicket>,
        jobs: Vec<NewJob>,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Vec<TicketRecord>>>;
    /// Records where a ticket's PDF is stored.
    fn set_ticket_pdf<'a>(
        &'a self,
        ticket: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// A ticket.
    fn ticket<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<Option<TicketRecord>>>;
    /// The tickets of an order (valid and revoked), in unit order.
    fn tickets_of_order<'a>(
        &'a self,
        order: &'a OrderId,
    ) -> BoxFuture<'a, StoreResult<Vec<TicketRecord>>>;
    /// The tickets a buyer bought, newest event first.
    fn tickets_of_buyer<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, StoreResult<Vec<TicketRecord>>>;
    /// Tickets of an event whose attendee name, order number or reference
    /// contains `query` (case-insensitive), for the door's search.
    fn search_tickets<'a>(
        &'a self,
        event: &'a EventId,
        query: &'a str,
        limit: i64,
    ) -> BoxFuture<'a, StoreResult<Vec<TicketRecord>>>;
    /// Records a scan and decides it in one transaction: a nonce seen before
    /// returns its first answer; a valid ticket is admitted unless it has a
    /// standing admission (then "already used", or a flagged conflict for an
    /// offline scan). The partial unique index makes two admissions
    /// impossible, whatever the interleaving.
    fn scan(&self, scan: Scan) -> BoxFuture<'_, StoreResult<ScanOutcome>>;
    /// The answer given to a scan, by its nonce, with the scan's event.
    fn scan_answer<'a>(
        &'a self,
        nonce: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<(String, ScanOutcome)>>>;
    /// Undoes a ticket's standing admission (a mistake at the door). False
    /// when it had none.
    fn undo_check_in<'a>(
        &'a self,
        ticket: &'a str,
        by: &'a UserId,
        reason: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// Ids of an event's revoked tickets (for scanners).
    fn revoked_tickets<'a>(&'a self, event: &'a EventId)
    -> BoxFuture<'a, StoreResult<Vec<String>>>;
    /// Ids of an event's admitted tickets (for scanners).
    fn admitted_tickets<'a>(
        &'a self,
        event: &'a EventId,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>>;
    /// Check-in counts of an event.
    fn door_counts<'a>(&'a self, event: &'a EventId) -> BoxFuture<'a, StoreResult<DoorCounts>>;
    /// An event's flagged check-ins.
    fn door_conflicts<'a>(
        &'a self,
        event: &'a EventId,
    ) -> BoxFuture<'a, StoreResult<Vec<Conflict>>>;
    /// Refunds a paid order: every valid ticket is revoked (`refunded`) and
    /// `jobs` (the refund) are written, in one transaction. False when the
    /// order was not paid or already refunded.
    fn refund_order<'a>(
        &'a self,
        order: &'a OrderId,
        jobs: Vec<NewJob>,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// Re-issues a ticket: the old one is revoked (`reissued`) and `new`
    /// takes its unit, with `jobs` (its email), in one transaction.
    fn reissue_ticket<'a>(
        &'a self,
        old: &'a str,
        new: NewTicket,
        jobs: Vec<NewJob>,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<TicketRecord>>;
    /// Opens a task for platform admins (once per kind and subject).
    fn open_admin_task<'a>(
        &'a self,
        kind: &'a str,
        subject: &'a str,
        detail: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Open admin tasks, newest first.
    fn open_admin_tasks(&self) -> BoxFuture<'_, StoreResult<Vec<AdminTask>>>;
}
