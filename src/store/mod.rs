//! Storage: one object-safe [`Store`] trait with a SQLite and a PostgreSQL
//! implementation, chosen by the URL scheme.
//!
//! Every method is one transaction (writes on SQLite start with
//! `BEGIN IMMEDIATE`), retried a bounded number of times on serialization
//! failures, deadlocks and `SQLITE_BUSY`, so those never reach a user. The
//! database itself enforces the stock invariants through CHECK and UNIQUE
//! constraints; the conditional updates here only turn would-be violations into
//! clear domain answers.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use crate::domain::{
    Category, Currency, EventId, EventStatus, OrgId, QuotaId, QuotaLevel, TierId, Timestamp, UserId,
};

#[macro_use]
mod common;
#[macro_use]
mod accounts_sql;
#[macro_use]
mod catalogue_sql;
#[macro_use]
mod orders_sql;
#[macro_use]
mod payments_sql;
#[macro_use]
mod tickets_sql;
#[macro_use]
mod security_sql;
pub mod accounts;
pub mod catalogue;
pub mod orders;
pub mod payments;
mod postgres;
pub mod security;
mod sqlite;
pub mod tickets;

pub use accounts::AccountStore;
pub use catalogue::CatalogueStore;
pub(crate) use common::constant_time_eq;
pub use orders::{
    Attendee, Checkout, CheckoutOutcome, HoldCode, HoldLine, HoldReceipt, HoldSeat, OrderStore,
    TakeHold,
};
pub use payments::{
    BeginPayment, LapsedPayment, PaymentEvent, PaymentOutcome, PaymentStart, PaymentStore,
    SimulatedSession,
};
pub use security::SecurityStore;
pub use tickets::TicketStore;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A boxed future, so that [`Store`] stays object-safe (`Arc<dyn Store>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// The result of every store method.
pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong in storage, in domain terms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist (or is not visible to the caller).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was hit.
    #[error("{0}")]
    Conflict(Conflict),
    /// A tier has less stock left than was asked for.
    #[error("{}", sold_out_message(tier, *remaining))]
    SoldOut {
        /// The tier's name, for the buyer.
        tier: String,
        /// What is left now.
        remaining: i64,
    },
    /// Someone else holds or bought this seat.
    #[error("Seat {seat} was just taken. Please pick another seat.")]
    SeatTaken {
        /// The seat's label, e.g. "Balcony C12".
        seat: String,
    },
    /// The request breaks a rule (event not on sale, tier closed…).
    #[error("{0}")]
    Refused(String),
    /// Too much is queued to take this now; the buyer may try again at once.
    #[error("{0}")]
    Busy(String),
    /// Anything else: logged with context, shown as an opaque message.
    #[error("storage failure: {0}")]
    Internal(#[from] anyhow::Error),
}

/// Which uniqueness rule was hit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// Another event already uses this slug.
    #[error("an event with the address {0:?} already exists")]
    DuplicateSlug(String),
    /// Another account already uses this email.
    #[error("an account with this email already exists")]
    DuplicateEmail,
    /// Another organization already uses this slug.
    #[error("an organization with the address {0:?} already exists")]
    DuplicateOrganization(String),
    /// The event already has this code.
    #[error("this event already has the code {0:?}")]
    DuplicateCode(String),
    /// The buyer took another hold on this event at the same instant.
    #[error("you are already taking tickets for this event in another window")]
    OpenHold,
    /// The event's terms changed after the hold was priced against them.
    #[error("this event's tickets changed a moment ago; please try again")]
    StaleTerms,
    /// The same ticket was scanned at the same instant elsewhere.
    #[error("this ticket was scanned at the same moment elsewhere; scan it again")]
    SimultaneousScan,
}

/// "Only 2 VIP tickets left", or that the tier is sold out.
fn sold_out_message(tier: &str, remaining: i64) -> String {
    match remaining {
        0 => format!("{tier} is sold out."),
        1 => format!("Only 1 {tier} ticket left."),
        n => format!("Only {n} {tier} tickets left."),
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Internal(anyhow::Error::new(e))
    }
}

/// Knobs for a store; the defaults are what production runs.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Pool size.
    pub max_connections: u32,
    /// Connections kept apart for group admission's batches
    /// (`db_admission_connections`): one admitter per hot event uses one at
    /// a time, and never waits for a connection behind the requests' reads,
    /// which under a flash sale number in the thousands.
    pub admission_connections: u32,
    /// How long a SQLite writer waits for the write lock.
    pub busy_timeout: Duration,
    /// Test-only: take stock with a read-then-write instead of the
    /// conditional update, every racer reading before any of them writes.
    /// Exists so race tests can prove they would see a race (the
    /// "race-sanity twin").
    #[cfg(feature = "test-hooks")]
    pub unguarded_race_window: Option<RaceWindow>,
    /// Test-only: run every PostgreSQL write transaction at REPEATABLE READ,
    /// so tests prove that bounded retries turn serialization failures into
    /// the right answers.
    #[cfg(feature = "test-hooks")]
    pub repeatable_read: bool,
    /// Test-only (`ADMIT_TEST_STALL_ADMISSION_BATCH`): while this file
    /// exists, a batch of holds stops just before its commit, so a test can
    /// kill the server in the middle of a batch.
    #[cfg(feature = "test-hooks")]
    pub stall_admission_batch: Option<std::path::PathBuf>,
}

/// Test-only: how the race-sanity twin lines its racers up.
///
/// A fixed pause between the early read and the write is not enough on a
/// loaded machine: a racer may be scheduled so late that the others have
/// already written, and the twin then shows no race. So each racer, after its
/// read, waits until `racers` reads have been made (or `max_wait` has passed),
/// which makes the stale writes overlap whatever the load.
#[cfg(feature = "test-hooks")]
#[derive(Clone, Debug)]
pub struct RaceWindow {
    /// How many racers read before any of them writes.
    pub racers: usize,
    /// The longest a racer waits for the others.
    pub max_wait: Duration,
    /// Reads made so far, shared by every clone of the store's options.
    pub reads: Arc<std::sync::atomic::AtomicUsize>,
}

#[cfg(feature = "test-hooks")]
impl RaceWindow {
    /// A window for `racers` racers, each waiting at most `max_wait`.
    pub fn new(racers: usize, max_wait: Duration) -> Self {
        Self {
            racers,
            max_wait,
            reads: Arc::default(),
        }
    }

    /// Counts this racer's read, then waits for the rest (bounded).
    pub(crate) async fn wait_for_the_others(&self) {
        use std::sync::atomic::Ordering;
        self.reads.fetch_add(1, Ordering::SeqCst);
        let started = std::time::Instant::now();
        while self.reads.load(Ordering::SeqCst) < self.racers && started.elapsed() < self.max_wait {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // A little more, so that the last reader's companions are all past
        // their reads and into their transactions together.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            admission_connections: 2,
            busy_timeout: Duration::from_secs(10),
            #[cfg(feature = "test-hooks")]
            unguarded_race_window: None,
            #[cfg(feature = "test-hooks")]
            repeatable_read: false,
            #[cfg(feature = "test-hooks")]
            stall_admission_batch: None,
        }
    }
}

/// Opens the store named by `url` (`sqlite://…` or `postgres://…`) and runs
/// its migrations.
pub async fn open(url: &str, opts: StoreOptions) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url, opts).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PgStore::open(url, opts).await?))
    } else {
        anyhow::bail!("unsupported database URL {url:?}: use sqlite://… or postgres://…")
    }
}

/// A new account.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Lower-cased email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id hash, if the account has a password.
    pub password_hash: Option<String>,
    /// Platform admin.
    pub is_admin: bool,
    /// Set for accounts whose email is already confirmed (seeded accounts).
    pub email_verified_at: Option<Timestamp>,
    /// Now.
    pub now: Timestamp,
}

/// An account as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Platform admin.
    pub is_admin: bool,
    /// When the email was confirmed.
    pub email_verified_at: Option<i64>,
}

/// A new organization, created with its owner as first member.
#[derive(Clone, Debug)]
pub struct NewOrganization {
    /// URL handle.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Where the organizer can be reached.
    pub contact_email: String,
    /// About the organizer.
    pub description: String,
    /// `pending` until an admin approves; seeded ones start approved.
    pub approved: bool,
    /// The user who applied.
    pub owner: UserId,
    /// Now.
    pub now: Timestamp,
}

/// A new event (always starts as a draft).
#[derive(Clone, Debug)]
pub struct NewEvent {
    /// Owning organization.
    pub org_id: OrgId,
    /// Unique URL handle.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Markdown description.
    pub description: String,
    /// Category.
    pub category: Category,
    /// Venue name.
    pub venue: String,
    /// Street address.
    pub address: String,
    /// City.
    pub city: String,
    /// Start (UTC).
    pub starts_at: Timestamp,
    /// End (UTC).
    pub ends_at: Timestamp,
    /// IANA zone for display.
    pub time_zone: String,
    /// Currency of every price of the event.
    pub currency: Currency,
    /// Now.
    pub now: Timestamp,
}

/// A new quota of an event.
#[derive(Clone, Debug)]
pub struct NewQuota {
    /// Event.
    pub event_id: EventId,
    /// Name shown to the organizer (e.g. "Venue capacity").
    pub name: String,
    /// Units of stock.
    pub size: i64,
}

/// A new tier of an event.
#[derive(Clone, Debug)]
pub struct NewTier {
    /// Event.
    pub event_id: EventId,
    /// Name (e.g. VIP).
    pub name: String,
    /// Description.
    pub description: String,
    /// Price in minor units of the event currency.
    pub price_minor: i64,
    /// Max tickets of this tier in one order.
    pub max_per_order: u32,
    /// Sale window start.
    pub sale_starts_at: Option<Timestamp>,
    /// Sale window end.
    pub sale_ends_at: Option<Timestamp>,
    /// Shown only with an access code.
    pub hidden: bool,
    /// Display order.
    pub position: i64,
    /// Early-bird price and the instant it ends.
    pub early_bird: Option<(i64, Timestamp)>,
    /// The quotas it draws on (at least one).
    pub quota_ids: Vec<QuotaId>,
}

/// One event in a listing.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventCard {
    /// Id.
    pub id: String,
    /// URL handle.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Category (stored value).
    pub category: String,
    /// Venue.
    pub venue: String,
    /// City.
    pub city: String,
    /// Start (UTC ms).
    pub starts_at: i64,
    /// IANA zone.
    pub time_zone: String,
    /// Currency code.
    pub currency: String,
    /// Lowest visible price, if any tier is visible.
    pub min_price_minor: Option<i64>,
}

/// An event with everything the event page shows.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventRecord {
    /// Id.
    pub id: String,
    /// Owning organization.
    pub org_id: String,
    /// Organization name.
    pub org_name: String,
    /// URL handle.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Markdown description.
    pub description: String,
    /// Category (stored value).
    pub category: String,
    /// Venue.
    pub venue: String,
    /// Street address.
    pub address: String,
    /// City.
    pub city: String,
    /// Start (UTC ms).
    pub starts_at: i64,
    /// End (UTC ms).
    pub ends_at: i64,
    /// IANA zone.
    pub time_zone: String,
    /// Currency code.
    pub currency: String,
    /// Status (stored value).
    pub status: String,
}

impl EventRecord {
    /// The parsed status.
    pub fn status(&self) -> EventStatus {
        EventStatus::parse(&self.status).unwrap_or(EventStatus::Draft)
    }
}

/// A tier with the levels of the quotas it draws on.
#[derive(Clone, Debug)]
pub struct TierRecord {
    /// Id.
    pub id: TierId,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Price in minor units.
    pub price_minor: i64,
    /// Per-order limit.
    pub max_per_order: u32,
    /// Sale window start.
    pub sale_starts_at: Option<Timestamp>,
    /// Sale window end.
    pub sale_ends_at: Option<Timestamp>,
    /// Hidden tier.
    pub hidden: bool,
    /// Early-bird price and the instant it ends.
    pub early_bird: Option<(i64, Timestamp)>,
    /// Quotas it draws on, with their levels.
    pub quota_ids: Vec<QuotaId>,
    /// Levels of its quotas.
    pub quotas: Vec<QuotaLevel>,
}

/// A page of results.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Total matching items.
    pub total: i64,
}

/// A job to put in the outbox.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// Handler name.
    pub kind: String,
    /// JSON payload.
    pub payload: serde_json::Value,
    /// Not before.
    pub run_at: Timestamp,
    /// At most one job per key, ever.
    pub dedupe_key: Option<String>,
    /// Attempts before it is dead-lettered.
    pub max_attempts: u32,
}

/// A job claimed by a worker.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClaimedJob {
    /// Id.
    pub id: String,
    /// Handler name.
    pub kind: String,
    /// JSON payload.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Attempts allowed.
    pub max_attempts: i64,
}

/// How a failed job continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobRetry {
    /// Run again at this instant.
    At(Timestamp),
    /// Give up: dead-letter it.
    Dead,
}

/// Counts of jobs by state, for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Waiting to run.
    pub queued: i64,
    /// Claimed by a worker.
    pub running: i64,
    /// Finished.
    pub done: i64,
    /// Gave up.
    pub dead: i64,
}

/// The storage contract. Every method is one transaction. Account storage
/// is a supertrait so each area keeps its own file.
pub trait Store:
    AccountStore
    + CatalogueStore
    + OrderStore
    + PaymentStore
    + TicketStore
    + SecurityStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Checks the database answers (readiness).
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;
    /// Closes the pools, shared and admission (graceful shutdown).
    fn close(&self) -> BoxFuture<'_, ()>;

    /// Creates an account. A taken email is [`Conflict::DuplicateEmail`].
    fn create_user(&self, user: NewUser) -> BoxFuture<'_, StoreResult<User>>;
    /// Finds an account by (lower-cased) email.
    fn user_by_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, StoreResult<Option<User>>>;
    /// Creates an organization with its owner as first member.
    fn create_organization(&self, org: NewOrganization) -> BoxFuture<'_, StoreResult<OrgId>>;

    /// Creates a draft event. A taken slug is [`Conflict::DuplicateSlug`].
    fn create_event(&self, event: NewEvent) -> BoxFuture<'_, StoreResult<EventId>>;
    /// Creates a quota.
    fn create_quota(&self, quota: NewQuota) -> BoxFuture<'_, StoreResult<QuotaId>>;
    /// Creates a tier drawing on existing quotas of the same event.
    fn create_tier(&self, tier: NewTier) -> BoxFuture<'_, StoreResult<TierId>>;
    /// Sets an event's status.
    fn set_event_status<'a>(
        &'a self,
        event: &'a EventId,
        status: EventStatus,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// How many events exist (any status).
    fn count_events(&self) -> BoxFuture<'_, StoreResult<i64>>;
    /// Published events that have not ended, by start time then id.
    fn list_upcoming_events(
        &self,
        now: Timestamp,
        limit: i64,
        offset: i64,
    ) -> BoxFuture<'_, StoreResult<Page<EventCard>>>;
    /// An event by its slug, whatever its status.
    fn event_by_slug<'a>(
        &'a self,
        slug: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<EventRecord>>>;
    /// The tiers of an event, in display order, with their quota levels at
    /// `now`: holds past their end no longer count as held, even before the
    /// sweeper has released them.
    fn tiers_of_event<'a>(
        &'a self,
        event: &'a EventId,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Vec<TierRecord>>>;

    /// Puts a job in the outbox on its own (periodic schedules). Jobs caused
    /// by a state change are written inside that change's transaction instead.
    /// Returns false when the dedupe key was already used.
    fn enqueue_job(&self, job: NewJob, now: Timestamp) -> BoxFuture<'_, StoreResult<bool>>;
    /// Claims the next due job (or one whose worker's lease ran out) for
    /// `lease`; several workers on one database never claim the same job.
    fn claim_job(
        &self,
        now: Timestamp,
        lease: Duration,
    ) -> BoxFuture<'_, StoreResult<Option<ClaimedJob>>>;
    /// Marks a claimed job done.
    fn complete_job<'a>(&'a self, id: &'a str, now: Timestamp) -> BoxFuture<'a, StoreResult<()>>;
    /// Records a failure: retry at a time, or dead-letter.
    fn fail_job<'a>(
        &'a self,
        id: &'a str,
        error: &'a str,
        retry: JobRetry,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Counts jobs by state.
    fn job_counts(&self) -> BoxFuture<'_, StoreResult<JobCounts>>;
    /// Deletes finished jobs older than `before`.
    fn purge_finished_jobs(&self, before: Timestamp) -> BoxFuture<'_, StoreResult<u64>>;
}

/// A fresh id: UUIDv7 text, time-ordered so indexes stay compact.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
