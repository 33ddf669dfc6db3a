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

/// Catalogue management storage.
pub trait CatalogueStore: Send + Sync {
    /// An event by id, with its organization name.
    fn event<'a>(&'a self, id: &'a EventId) -> BoxFuture<'a, StoreResult<Option<EventRecord>>>;
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
    /// Deletes a tier that was never ordered. False when it was.
    fn delete_tier<'a>(
        &'a self,
        event: &'a EventId,
        tier: &'a TierId,
    ) -> BoxFuture<'a, StoreResult<bool>>;
}
