//! Organizers managing their catalogue: events, quotas and tiers.

use jiff::{civil::DateTime, tz::TimeZone};

pub use crate::server_fns::views::{CodeInput, EventInput, TierInput};

use crate::{
    domain::{
        Category, Currency, EventId, EventStatus, OrgId, QuotaId, TierId, Timestamp,
        catalogue::{RefundPolicy, slugify},
    },
    error::ServiceError,
    services::authz::{Identity, Viewer},
    state::AppState,
    store::{
        Conflict, EventRecord, NewEvent, NewQuota, NewTier, StoreError,
        catalogue::{EventFields, TierFields},
    },
};

fn invalid(msg: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(msg.into())
}

/// Parses a local `YYYY-MM-DDTHH:MM` in a zone to a UTC instant.
pub fn parse_local(s: &str, zone: &str) -> Result<Timestamp, ServiceError> {
    let tz = TimeZone::get(zone).map_err(|_| {
        invalid(format!(
            "Unknown time zone {zone:?}; use one like Asia/Jakarta."
        ))
    })?;
    let dt: DateTime = s.trim().parse().map_err(|_| {
        invalid(format!(
            "{s:?} is not a date and time; use YYYY-MM-DDTHH:MM."
        ))
    })?;
    let zoned = dt
        .to_zoned(tz)
        .map_err(|_| invalid(format!("{s:?} does not exist in {zone}.")))?;
    Ok(Timestamp::from_millis(zoned.timestamp().as_millisecond()))
}

/// Formats an instant as local `YYYY-MM-DDTHH:MM` for a form field.
pub fn format_local(at: Timestamp, zone: &str) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    jiff::Timestamp::from_millisecond(at.as_millis())
        .map(|t| t.to_zoned(tz).strftime("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

fn text(field: &str, value: &str, max: usize, required: bool) -> Result<String, ServiceError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(invalid(format!("Enter the {field}.")));
    }
    if v.chars().count() > max
        || v.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(invalid(format!(
            "The {field} must be at most {max} characters."
        )));
    }
    Ok(v.to_owned())
}

/// Validates an event form into storable fields.
pub fn parse_event(input: &EventInput) -> Result<EventFields, ServiceError> {
    let time_zone = input.time_zone.trim().to_owned();
    let starts_at = parse_local(&input.starts_at, &time_zone)?;
    let ends_at = parse_local(&input.ends_at, &time_zone)?;
    if ends_at <= starts_at {
        return Err(invalid("The event must end after it starts."));
    }
    let category = Category::parse(input.category.trim()).ok_or_else(|| {
        invalid("Choose a category: music, conference, workshop, sports, arts, food or other.")
    })?;
    let currency = Currency::parse(&input.currency)
        .map_err(|e| invalid(format!("Choose a currency: {e}.")))?;
    let refund_policy = RefundPolicy::parse(&input.refund_policy)
        .map_err(|e| invalid(format!("Refund policy: {e}.")))?;
    Ok(EventFields {
        title: text("title", &input.title, 200, true)?,
        description: text("description", &input.description, 20_000, false)?,
        category,
        venue: text("venue", &input.venue, 200, true)?,
        address: text("address", &input.address, 300, false)?,
        city: text("city", &input.city, 100, true)?,
        starts_at,
        ends_at,
        time_zone,
        currency,
        terms: text("terms", &input.terms, 20_000, false)?,
        refund_policy: refund_policy.to_storage(),
    })
}

/// Loads an event the viewer may manage: owners of its organization and
/// admins. Anyone else gets `NotFound`, exactly as for a missing event.
pub async fn managed_event<'a>(
    state: &AppState,
    who: &'a Identity,
    id: &EventId,
) -> Result<(EventRecord, &'a Viewer), ServiceError> {
    let viewer = who.require_caller()?;
    let event = state.store.event(id).await?.ok_or(ServiceError::NotFound)?;
    who.require_owner(&OrgId::from_string(event.org_id.clone()))?;
    Ok((event, viewer))
}

/// Creates a draft event for an organization the viewer owns.
#[tracing::instrument(skip(state, who, input))]
pub async fn create_event(
    state: &AppState,
    who: &Identity,
    org: &OrgId,
    input: &EventInput,
) -> Result<EventId, ServiceError> {
    who.require_owner(org)?;
    let organization = state
        .store
        .organization(org)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if organization.status != "approved" {
        return Err(ServiceError::Forbidden(
            "This organization is not approved yet.".into(),
        ));
    }
    let f = parse_event(input)?;
    let now = state.now();
    let base = slugify(&f.title);
    // Collision-safe slug: the plain one, then numbered ones.
    for n in 1..=50 {
        let slug = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let created = state
            .store
            .create_event(NewEvent {
                org_id: org.clone(),
                slug,
                title: f.title.clone(),
                description: f.description.clone(),
                category: f.category,
                venue: f.venue.clone(),
                address: f.address.clone(),
                city: f.city.clone(),
                starts_at: f.starts_at,
                ends_at: f.ends_at,
                time_zone: f.time_zone.clone(),
                currency: f.currency,
                now,
            })
            .await;
        match created {
            Err(StoreError::Conflict(Conflict::DuplicateSlug(_))) => continue,
            Err(e) => return Err(e.into()),
            Ok(id) => {
                // Terms and refund policy are not part of NewEvent; store them now.
                state.store.update_event(&id, &f, now).await?;
                state.listings.clear();
                return Ok(id);
            }
        }
    }
    Err(ServiceError::Conflict(
        "Choose a more distinctive title: too many events share this one.".into(),
    ))
}

/// Replaces an event's details.
#[tracing::instrument(skip(state, who, input))]
pub async fn update_event(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    input: &EventInput,
) -> Result<(), ServiceError> {
    let (event, _) = managed_event(state, who, id).await?;
    let f = parse_event(input)?;
    let take_up = state.store.event_take_up(id).await?;
    if take_up.orders > 0 && f.currency.code() != event.currency {
        return Err(invalid(
            "The currency cannot change once tickets were ordered.",
        ));
    }
    state.store.update_event(id, &f, state.now()).await?;
    state.listings.clear();
    Ok(())
}

/// Publishes a draft (it needs at least one visible tier) or unpublishes
/// (only while nothing is sold or held).
#[tracing::instrument(skip(state, who))]
pub async fn set_published(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    publish: bool,
) -> Result<(), ServiceError> {
    let (event, _) = managed_event(state, who, id).await?;
    let now = state.now();
    if publish {
        if event.status() == EventStatus::Cancelled {
            return Err(invalid("A cancelled event cannot be published again."));
        }
        let currency =
            crate::domain::Currency::parse(&event.currency).map_err(|e| invalid(e.to_string()))?;
        if state.config.settings.fee_rule(currency).is_none() {
            return Err(ServiceError::Invalid(format!(
                "Events in {} cannot be published yet: the platform has no fee rule for {} \
                 (setting platform_fees). Choose another currency or ask the platform admin.",
                currency.code(),
                currency.code()
            )));
        }
        let tiers = state.store.tiers_of_event(id, state.now()).await?;
        if !tiers.iter().any(|t| !t.hidden) {
            return Err(invalid(
                "Add at least one visible ticket tier before publishing.",
            ));
        }
        state
            .store
            .set_event_status(id, EventStatus::Published, now)
            .await?;
        state.listings.clear();
        Ok(())
    } else if event.status() != EventStatus::Published
        || state.store.unpublish_event(id, now).await?
    {
        state.listings.clear();
        Ok(())
    } else {
        Err(ServiceError::Conflict(
            "Tickets are already sold or held, so the event cannot be unpublished.".into(),
        ))
    }
}

/// Deletes an event that never had an order.
#[tracing::instrument(skip(state, who))]
pub async fn delete_event(
    state: &AppState,
    who: &Identity,
    id: &EventId,
) -> Result<(), ServiceError> {
    managed_event(state, who, id).await?;
    if state.store.delete_event(id).await? {
        state.listings.clear();
        Ok(())
    } else {
        Err(ServiceError::Conflict(
            "This event has orders, so it cannot be deleted.".into(),
        ))
    }
}

/// Adds a quota to an event.
pub async fn create_quota(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    name: &str,
    size: i64,
) -> Result<QuotaId, ServiceError> {
    managed_event(state, who, id).await?;
    let name = text("quota name", name, 100, true)?;
    if !(0..=10_000_000).contains(&size) {
        return Err(invalid("A quota's size must be between 0 and 10,000,000."));
    }
    Ok(state
        .store
        .create_quota(NewQuota {
            event_id: id.clone(),
            name,
            size,
        })
        .await?)
}

/// Renames or resizes a quota; never below what is sold or held.
pub async fn update_quota(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    quota: &QuotaId,
    name: &str,
    size: i64,
) -> Result<(), ServiceError> {
    managed_event(state, who, id).await?;
    let name = text("quota name", name, 100, true)?;
    if !(0..=10_000_000).contains(&size) {
        return Err(invalid("A quota's size must be between 0 and 10,000,000."));
    }
    state.store.update_quota(id, quota, &name, size).await?;
    state.listings.clear();
    Ok(())
}

fn optional_local(s: &Option<String>, zone: &str) -> Result<Option<Timestamp>, ServiceError> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_local(v, zone).map(Some),
    }
}

fn parse_tier(input: &TierInput, zone: &str) -> Result<TierFields, ServiceError> {
    if !(0..=1_000_000_000_000).contains(&input.price_minor) {
        return Err(invalid("A price must be zero or more."));
    }
    let max_per_order = input.max_per_order.unwrap_or(10);
    if !(1..=100).contains(&max_per_order) {
        return Err(invalid("The per-order limit must be between 1 and 100."));
    }
    let sale_starts_at = optional_local(&input.sale_starts_at, zone)?;
    let sale_ends_at = optional_local(&input.sale_ends_at, zone)?;
    if let (Some(s), Some(e)) = (sale_starts_at, sale_ends_at)
        && e <= s
    {
        return Err(invalid("The sale must end after it starts."));
    }
    let early_bird = match (
        input.early_bird_price_minor,
        optional_local(&input.early_bird_until, zone)?,
    ) {
        (None, None) => None,
        (Some(p), Some(until)) if (0..input.price_minor).contains(&p) => Some((p, until)),
        (Some(_), Some(_)) => {
            return Err(invalid(
                "The early-bird price must be below the regular price.",
            ));
        }
        _ => {
            return Err(invalid(
                "Give both the early-bird price and until when it applies.",
            ));
        }
    };
    let quota_ids = input
        .quota_ids
        .iter()
        .map(|q| QuotaId::parse(q).ok_or_else(|| invalid("Choose the quotas this tier draws on.")))
        .collect::<Result<Vec<_>, _>>()?;
    if quota_ids.is_empty() {
        return Err(invalid("Choose at least one quota for this tier."));
    }
    Ok(TierFields {
        name: text("tier name", &input.name, 100, true)?,
        description: text("tier description", &input.description, 2000, false)?,
        price_minor: input.price_minor,
        max_per_order,
        sale_starts_at,
        sale_ends_at,
        hidden: input.hidden,
        early_bird,
        quota_ids,
    })
}

/// Adds a tier.
pub async fn create_tier(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    input: &TierInput,
) -> Result<TierId, ServiceError> {
    let (event, _) = managed_event(state, who, id).await?;
    let f = parse_tier(input, &event.time_zone)?;
    let position = state.store.tiers_of_event(id, state.now()).await?.len() as i64;
    let id = state
        .store
        .create_tier(NewTier {
            event_id: id.clone(),
            name: f.name,
            description: f.description,
            price_minor: f.price_minor,
            max_per_order: f.max_per_order,
            sale_starts_at: f.sale_starts_at,
            sale_ends_at: f.sale_ends_at,
            hidden: f.hidden,
            position,
            early_bird: f.early_bird,
            quota_ids: f.quota_ids,
        })
        .await?;
    state.listings.clear();
    Ok(id)
}

/// Changes a tier.
pub async fn update_tier(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    tier: &TierId,
    input: &TierInput,
) -> Result<(), ServiceError> {
    let (event, _) = managed_event(state, who, id).await?;
    let f = parse_tier(input, &event.time_zone)?;
    state.store.update_tier(id, tier, &f).await?;
    state.listings.clear();
    Ok(())
}

/// Deletes a tier that was never ordered.
pub async fn delete_tier(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    tier: &TierId,
) -> Result<(), ServiceError> {
    managed_event(state, who, id).await?;
    if !state
        .store
        .tiers_of_event(id, state.now())
        .await?
        .iter()
        .any(|t| &t.id == tier)
    {
        return Err(ServiceError::NotFound);
    }
    if state.store.delete_tier(id, tier).await? {
        state.listings.clear();
        Ok(())
    } else {
        Err(ServiceError::Conflict(
            "This tier has orders, so it cannot be deleted.".into(),
        ))
    }
}

fn parse_code_input(
    input: &CodeInput,
    zone: &str,
) -> Result<crate::store::catalogue::CodeFields, ServiceError> {
    use crate::domain::codes::{CodeRules, Discount, normalize_code};
    let code = normalize_code(&input.code)
        .ok_or_else(|| invalid("A code has 3 to 32 letters, digits, dashes or underscores."))?;
    let discount = match input.discount_kind.trim() {
        "" | "none" => Discount::None,
        "percent" => Discount::Percent(
            u8::try_from(input.discount_value)
                .ok()
                .filter(|p| (1..=100).contains(p))
                .ok_or_else(|| invalid("A percentage discount is between 1 and 100."))?,
        ),
        "fixed" if input.discount_value > 0 => Discount::Fixed(input.discount_value),
        "fixed" => return Err(invalid("A fixed discount must be more than zero.")),
        other => {
            return Err(invalid(format!(
                "Unknown discount kind {other:?}: use none, percent or fixed."
            )));
        }
    };
    if discount == Discount::None && input.unlock_tier_ids.is_empty() {
        return Err(invalid(
            "A code must give a discount, unlock a hidden tier, or both.",
        ));
    }
    for limit in [input.max_uses, input.max_uses_per_user]
        .into_iter()
        .flatten()
    {
        if limit < 1 {
            return Err(invalid("Use limits must be at least 1."));
        }
    }
    let valid_from = optional_local(&input.valid_from, zone)?;
    let valid_until = optional_local(&input.valid_until, zone)?;
    if let (Some(f), Some(u)) = (valid_from, valid_until)
        && u <= f
    {
        return Err(invalid("A code must stop being valid after it starts."));
    }
    Ok(crate::store::catalogue::CodeFields {
        code,
        rules: CodeRules {
            discount,
            tiers: input.tier_ids.clone(),
            unlocks: input.unlock_tier_ids.clone(),
            valid_from,
            valid_until,
        },
        max_uses: input.max_uses,
        max_uses_per_user: input.max_uses_per_user,
    })
}

/// Adds a code to an event.
pub async fn create_code(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    input: &CodeInput,
) -> Result<String, ServiceError> {
    let (event, _) = managed_event(state, who, id).await?;
    let f = parse_code_input(input, &event.time_zone)?;
    Ok(state.store.create_code(id, &f, state.now()).await?)
}

/// Changes a code.
pub async fn update_code(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    code_id: &str,
    input: &CodeInput,
) -> Result<(), ServiceError> {
    let (event, _) = managed_event(state, who, id).await?;
    let f = parse_code_input(input, &event.time_zone)?;
    Ok(state.store.update_code(id, code_id, &f).await?)
}

/// Deletes a code that was never used.
pub async fn delete_code(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    code_id: &str,
) -> Result<(), ServiceError> {
    managed_event(state, who, id).await?;
    if !state
        .store
        .codes_of_event(id)
        .await?
        .iter()
        .any(|c| c.id == code_id)
    {
        return Err(ServiceError::NotFound);
    }
    if state.store.delete_code(id, code_id).await? {
        Ok(())
    } else {
        Err(ServiceError::Conflict(
            "This code was already used, so it cannot be deleted.".into(),
        ))
    }
}

/// A code as organizers see it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CodeView {
    /// Id.
    pub id: String,
    /// The code.
    pub code: String,
    /// `none`, `percent` or `fixed`.
    pub discount_kind: String,
    /// Percent or minor units.
    pub discount_value: i64,
    /// Discount scope (empty: all tiers).
    pub tier_ids: Vec<String>,
    /// Hidden tiers revealed.
    pub unlock_tier_ids: Vec<String>,
    /// Total uses allowed.
    pub max_uses: Option<i64>,
    /// Uses so far.
    pub uses: i64,
}

/// The codes of an event (owners, admins).
pub async fn codes(
    state: &AppState,
    who: &Identity,
    id: &EventId,
) -> Result<Vec<CodeView>, ServiceError> {
    managed_event(state, who, id).await?;
    Ok(state
        .store
        .codes_of_event(id)
        .await?
        .into_iter()
        .map(|c| {
            let rules = c.rules();
            CodeView {
                id: c.id,
                code: c.code,
                discount_kind: c.discount_kind,
                discount_value: c.discount_value,
                tier_ids: rules.tiers,
                unlock_tier_ids: rules.unlocks,
                max_uses: c.max_uses,
                uses: c.uses,
            }
        })
        .collect())
}

/// Everything the event management page shows.
pub async fn manage_view(
    state: &AppState,
    who: &Identity,
    id: &EventId,
) -> Result<crate::server_fns::views::EventManageView, ServiceError> {
    let (event, _) = managed_event(state, who, id).await?;
    let extras = state
        .store
        .event_extras(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let quotas = state.store.quotas_of_event(id).await?;
    let tiers = state.store.tiers_of_event(id, state.now()).await?;
    let codes = state.store.codes_of_event(id).await?;
    let sales = state.store.tier_sales(id).await?;
    let quota_name = |q: &QuotaId| {
        quotas
            .iter()
            .find(|r| r.id == q.as_str())
            .map(|r| r.name.clone())
            .unwrap_or_default()
    };
    Ok(crate::server_fns::views::EventManageView {
        input: EventInput {
            title: event.title.clone(),
            description: event.description.clone(),
            category: event.category.clone(),
            venue: event.venue.clone(),
            address: event.address.clone(),
            city: event.city.clone(),
            starts_at: format_local(Timestamp::from_millis(event.starts_at), &event.time_zone),
            ends_at: format_local(Timestamp::from_millis(event.ends_at), &event.time_zone),
            time_zone: event.time_zone.clone(),
            currency: event.currency.clone(),
            terms: extras.terms,
            refund_policy: extras.refund_policy,
        },
        tiers: tiers
            .iter()
            .map(|t| {
                let names: Vec<String> = t.quota_ids.iter().map(&quota_name).collect();
                let sold = sales
                    .iter()
                    .find(|(tier, _)| tier == t.id.as_str())
                    .map_or(0, |(_, n)| *n);
                // A tier can never sell more than its smallest quota.
                let capacity = t.quotas.iter().map(|q| q.size).min().unwrap_or(0);
                (
                    t.id.to_string(),
                    t.name.clone(),
                    t.price_minor,
                    t.hidden,
                    names.join(", "),
                    sold,
                    capacity,
                )
            })
            .collect(),
        quotas: quotas
            .iter()
            .map(|q| (q.id.clone(), q.name.clone(), q.size, q.sold, q.held))
            .collect(),
        codes: codes
            .into_iter()
            .map(|c| {
                let summary = match c.discount_kind.as_str() {
                    "percent" => format!("{}% off", c.discount_value),
                    "fixed" => format!("{} off", c.discount_value),
                    _ => "unlocks hidden tiers".to_owned(),
                };
                (c.id, c.code, summary, c.uses)
            })
            .collect(),
        seats: crate::services::seats::build_view(state, id).await?,
        id: event.id,
        org_id: event.org_id,
        slug: event.slug,
        status: event.status,
    })
}

/// Cancels an event. Until the refunds work exists, only events without any
/// order can be cancelled (nobody has to be refunded).
#[tracing::instrument(skip(state, who))]
pub async fn cancel_event(
    state: &AppState,
    who: &Identity,
    id: &EventId,
) -> Result<(), ServiceError> {
    managed_event(state, who, id).await?;
    if state
        .store
        .cancel_event_without_orders(id, state.now())
        .await?
    {
        state.listings.clear();
        Ok(())
    } else {
        Err(ServiceError::Conflict(
            "This event has orders; cancelling it needs refunds, which are not available yet."
                .into(),
        ))
    }
}

/// Deletes a quota that no tier draws on and nothing was taken from.
pub async fn delete_quota(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    quota: &QuotaId,
) -> Result<(), ServiceError> {
    managed_event(state, who, id).await?;
    if !state
        .store
        .quotas_of_event(id)
        .await?
        .iter()
        .any(|q| q.id == quota.as_str())
    {
        return Err(ServiceError::NotFound);
    }
    if state.store.delete_quota(id, quota).await? {
        Ok(())
    } else {
        Err(ServiceError::Conflict(
            "Tiers draw on this quota or tickets were taken from it; it cannot be deleted.".into(),
        ))
    }
}
