//! Storage for organizers managing their catalogue: events, quotas and tiers.

use crate::domain::{Category, Currency, EventId, QuotaId, TierId, Timestamp};

use super::{BoxFuture, EventRecord, StoreResult};

/// Editable fields of an event.
#[derive(Clone, Debug)]
pub struct EventFields {
    /// Title.
    pub title: String,
    /// Markdown description.
    pub description: String,
    /// Category.
    pub category: Category,
    /// Venue.
    pub venue: String,
    /// Address.
    pub address: String,
    /// City.
    pub city: String,
    /// Start (UTC).
    pub starts_at: Timestamp,
    /// End (UTC).
    pub ends_at: Timestamp,
    /// IANA zone.
    pub time_zone: String,
    /// Currency.
    pub currency: Currency,
    /// Terms and conditions.
    pub terms: String,
    /// Refund rules, stored form.
    pub refund_policy: String,
}

/// Extra event fields that the public listing does not need.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct EventExtras {
    /// Terms and conditions.
    pub terms: String,
    /// Refund rules, stored form.
    pub refund_policy: String,
    /// Storage key prefix of the banner images, if any.
    pub banner_key: Option<String>,
}

/// How much of an event is taken: units sold, units held, orders of any kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventTakeUp {
    /// Units sold across its quotas.
    pub sold: i64,
    /// Units held by open holds.
    pub held: i64,
    /// Orders in any state.
    pub orders: i64,
}

/// A quota as organizers see it.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct QuotaRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Size.
    pub size: i64,
    /// Sold.
    pub sold: i64,
    /// Held.
    pub held: i64,
}

/// Editable fields of a tier.
#[derive(Clone, Debug)]
pub struct TierFields {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Price (minor units).
    pub price_minor: i64,
    /// Per-order limit.
    pub max_per_order: u32,
    /// Sale window start.
    pub sale_starts_at: Option<Timestamp>,
    /// Sale window end.
    pub sale_ends_at: Option<Timestamp>,
    /// Hidden behind an access code.
    pub hidden: bool,
    /// Early-bird price and until when it applies.
    pub early_bird: Option<(i64, Timestamp)>,
    /// Quotas it draws on.
    pub quota_ids: Vec<QuotaId>,
}

/// How search results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventSort {
    /// By start, then id.
    #[default]
    Date,
    /// By lowest visible price, then start, then id.
    Price,
}

/// A search over published, upcoming events.
#[derive(Clone, Debug, Default)]
pub struct EventSearch {
    /// Normalized words (see `domain::search`); all must match, the last as a prefix.
    pub terms: Vec<String>,
    /// Only this category.
    pub category: Option<Category>,
    /// Only this city (case-insensitive).
    pub city: Option<String>,
    /// Starting at or after.
    pub from: Option<Timestamp>,
    /// Starting before.
    pub to: Option<Timestamp>,
    /// Lowest price at least (minor units).
    pub min_price: Option<i64>,
    /// Lowest price at most (minor units).
    pub max_price: Option<i64>,
    /// Only events with a free visible tier.
    pub free_only: bool,
    /// Order.
    pub sort: EventSort,
    /// Page size.
    pub limit: i64,
    /// Offset.
    pub offset: i64,
    /// Now: events that ended are left out.
    pub now: Timestamp,
}

/// A code as stored.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct CodeRow {
    /// Id.
    pub id: String,
    /// The code (upper-case).
    pub code: String,
    /// `none`, `percent` or `fixed`.
    pub discount_kind: String,
    /// Percent, or minor units.
    pub discount_value: i64,
    /// Discount scope (comma-separated tier ids; empty: all).
    pub tier_ids: String,
    /// Hidden tiers revealed (comma-separated).
    pub unlock_tier_ids: String,
    /// Total uses allowed.
    pub max_uses: Option<i64>,
    /// Uses per buyer allowed.
    pub max_uses_per_user: Option<i64>,
    /// Valid from.
    pub valid_from: Option<i64>,
    /// Valid until.
    pub valid_until: Option<i64>,
    /// Uses so far (reserved or final).
    pub uses: i64,
}

fn split_ids(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

impl CodeRow {
    /// The domain rules of this code.
    pub fn rules(&self) -> crate::domain::codes::CodeRules {
        use crate::domain::codes::Discount;
        crate::domain::codes::CodeRules {
            discount: match self.discount_kind.as_str() {
                "percent" => Discount::Percent(u8::try_from(self.discount_value).unwrap_or(100)),
                "fixed" => Discount::Fixed(self.discount_value),
                _ => Discount::None,
            },
            tiers: split_ids(&self.tier_ids),
            unlocks: split_ids(&self.unlock_tier_ids),
            valid_from: self.valid_from.map(Timestamp::from_millis),
            valid_until: self.valid_until.map(Timestamp::from_millis),
        }
    }
}

/// A code to create or replace.
#[derive(Clone, Debug)]
pub struct CodeFields {
    /// Upper-case code.
    pub code: String,
    /// The rules.
    pub rules: crate::domain::codes::CodeRules,
    /// Total uses allowed.
    pub max_uses: Option<i64>,
    /// Uses per buyer allowed.
    pub max_uses_per_user: Option<i64>,
}

/// A seat as stored.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct SeatRow {
    /// Id.
    pub id: String,
    /// Section.
    pub section: String,
    /// Row label.
    pub row_label: String,
    /// Number in the row.
    pub number: i64,
    /// `standard`, `wheelchair` or `companion`.
    pub kind: String,
    /// Never sold.
    pub blocked: bool,
    /// Tier it sells as.
    pub tier_id: Option<String>,
}

/// A seat to store: its spec and resolved tier.
#[derive(Clone, Debug)]
pub struct NewSeat {
    /// Section, row, number, kind, blocked.
    pub spec: crate::domain::seats::SeatSpec,
    /// The tier id it sells as.
    pub tier_id: Option<String>,
}

/// Catalogue management storage.
pub trait CatalogueStore: Send + Sync {
    /// An event by id, with its organization name.
    fn event<'a>(&'a self, id: &'a EventId) -> BoxFuture<'a, StoreResult<Option<EventRecord>>>;
    /// The version of an event's hold terms (the event row, its tiers, their
    /// quota links, its seat map), which the database bumps on every change.
    fn terms_version<'a>(&'a self, id: &'a EventId) -> BoxFuture<'a, StoreResult<Option<i64>>>;
    /// Terms and refund policy of an event.
    fn event_extras<'a>(
        &'a self,
        id: &'a EventId,
    ) -> BoxFuture<'a, StoreResult<Option<EventExtras>>>;
    /// Replaces an event's editable fields.
    fn update_event<'a>(
        &'a self,
        id: &'a EventId,
        fields: &'a EventFields,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Sales and holds of an event.
    fn event_take_up<'a>(&'a self, id: &'a EventId) -> BoxFuture<'a, StoreResult<EventTakeUp>>;
    /// Unpublishes a published event, only while nothing is sold or held
    /// (checked in the same transaction). False when it has sales.
    fn unpublish_event<'a>(
        &'a self,
        id: &'a EventId,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// Deletes an event with its tiers and quotas, only if it never had an
    /// order (checked in the same transaction). False when it has orders.
    fn delete_event<'a>(&'a self, id: &'a EventId) -> BoxFuture<'a, StoreResult<bool>>;
    /// The quotas of an event.
    fn quotas_of_event<'a>(&'a self, id: &'a EventId) -> BoxFuture<'a, StoreResult<Vec<QuotaRow>>>;
    /// Resizes or renames a quota. The database refuses a size below sold + held.
    fn update_quota<'a>(
        &'a self,
        event: &'a EventId,
        quota: &'a QuotaId,
        name: &'a str,
        size: i64,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Replaces a tier's fields and quota links.
    fn update_tier<'a>(
        &'a self,
        event: &'a EventId,
        tier: &'a TierId,
        fields: &'a TierFields,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Searches published, upcoming events.
    fn search_events<'a>(
        &'a self,
        q: &'a EventSearch,
    ) -> BoxFuture<'a, StoreResult<super::Page<super::EventCard>>>;
    /// Creates a code; the tiers it names must belong to the event.
    fn create_code<'a>(
        &'a self,
        event: &'a EventId,
        f: &'a CodeFields,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<String>>;
    /// Replaces a code's rules.
    fn update_code<'a>(
        &'a self,
        event: &'a EventId,
        id: &'a str,
        f: &'a CodeFields,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Deletes a code that was never used. False when it was (or is missing).
    fn delete_code<'a>(
        &'a self,
        event: &'a EventId,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// The codes of an event.
    fn codes_of_event<'a>(&'a self, event: &'a EventId)
    -> BoxFuture<'a, StoreResult<Vec<CodeRow>>>;
    /// A code of an event by its text (upper-case).
    fn code_by_text<'a>(
        &'a self,
        event: &'a EventId,
        code: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<CodeRow>>>;
    /// Sets (or clears) an event's banner; returns the previous key.
    fn set_banner<'a>(
        &'a self,
        event: &'a EventId,
        key: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<Option<String>>>;
    /// Deletes a quota no tier draws on and nothing was taken from. False otherwise.
    fn delete_quota<'a>(
        &'a self,
        event: &'a EventId,
        quota: &'a QuotaId,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// Cancels an event that never had an order (checked in the same
    /// transaction). False when it has orders.
    fn cancel_event_without_orders<'a>(
        &'a self,
        event: &'a EventId,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// Replaces an event's seat map in one transaction.
    fn replace_seats<'a>(
        &'a self,
        event: &'a EventId,
        seats: &'a [NewSeat],
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// An event's seats, in map order.
    fn seats_of_event<'a>(&'a self, event: &'a EventId)
    -> BoxFuture<'a, StoreResult<Vec<SeatRow>>>;
    /// Units sold per tier of an event (paid orders), as (tier id, units).
    fn tier_sales<'a>(
        &'a self,
        event: &'a EventId,
    ) -> BoxFuture<'a, StoreResult<Vec<(String, i64)>>>;
    /// Deletes a tier that was never ordered. False when it was.
    fn delete_tier<'a>(
        &'a self,
        event: &'a EventId,
        tier: &'a TierId,
    ) -> BoxFuture<'a, StoreResult<bool>>;
}
