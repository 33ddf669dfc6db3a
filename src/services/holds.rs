//! Holds and orders: a signed-in, verified buyer holds tickets (tiers,
//! seats, or the best available seats of a section) for a few minutes, sees
//! them, and lets them go. Server functions, the REST API and the event page's
//! form all come here.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;

use crate::{
    domain::{
        Currency, EventId, EventStatus, Money, OrderId, OrderStatus, Timestamp,
        catalogue::unit_price_at,
        hold::{PickError, TierTerms, check_pick},
        money::Lang,
        pricing::{FEE_BASIS_POINTS, FeeRule, price_items},
        seats::{SeatCell, SeatKind, best_available},
    },
    error::ServiceError,
    server_fns::views::{HoldStatusView, OrderItemView, OrderView, SeatStatusView},
    services::{
        authz::{Identity, Viewer},
        format,
    },
    state::AppState,
    store::{
        Conflict, HoldCode, HoldLine, HoldSeat, StoreError, TakeHold,
        catalogue::{CodeRow, SeatRow},
        orders::OrderRecord,
    },
};

/// What a hold on an event is checked against: the event, its tiers' terms
/// and its seat map. Read once per version of the event's terms (which the
/// database bumps on every change to them), so that a flash sale's buyers
/// do not each read the same rows. The hold carries the version, and its
/// transaction refuses it if the terms moved on ([`Conflict::StaleTerms`]);
/// it also checks the event's status, the tiers' quotas and each seat again.
pub struct HoldTerms {
    /// `events.terms_version` when these were read (or older: see
    /// [`HoldTermsCache::read`]).
    pub version: i64,
    /// The event (published).
    pub event: crate::store::EventRecord,
    /// Its tiers (their availability is not used: the store decides stock).
    pub tiers: Vec<crate::store::TierRecord>,
    /// Its seat map.
    pub seats: Vec<SeatRow>,
}

/// This instance's hold terms, by event and version.
#[derive(Default)]
pub struct HoldTermsCache {
    entries: std::sync::Mutex<HashMap<String, std::sync::Arc<HoldTerms>>>,
}

/// Events whose terms one instance keeps; past it the cache starts afresh.
const HOLD_TERMS_KEPT: usize = 1_000;

impl HoldTermsCache {
    /// The terms of a published event as this instance last read them, with
    /// no read at all when it has them: whether they are still current is
    /// for the hold's transaction to say.
    pub async fn of(
        &self,
        state: &AppState,
        event: &EventId,
        now: Timestamp,
    ) -> Result<std::sync::Arc<HoldTerms>, ServiceError> {
        let cached = {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries.get(event.as_str()).cloned()
        };
        match cached {
            Some(terms) => Ok(terms),
            None => self.read(state, event, now).await,
        }
    }

    /// Reads the terms of a published event and keeps them; an event that
    /// is no longer on sale is forgotten.
    pub async fn read(
        &self,
        state: &AppState,
        event: &EventId,
        now: Timestamp,
    ) -> Result<std::sync::Arc<HoldTerms>, ServiceError> {
        let read = Self::read_from_store(state, event, now).await;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match &read {
            Ok(terms) => {
                if entries.len() >= HOLD_TERMS_KEPT {
                    entries.clear();
                }
                entries.insert(event.as_str().to_owned(), terms.clone());
            }
            Err(_) => {
                entries.remove(event.as_str());
            }
        }
        read
    }

    async fn read_from_store(
        state: &AppState,
        event: &EventId,
        now: Timestamp,
    ) -> Result<std::sync::Arc<HoldTerms>, ServiceError> {
        let version = state
            .store
            .terms_version(event)
            .await?
            .ok_or(ServiceError::NotFound)?;
        // Read after the version: a change in between is at worst newer than
        // the version it is kept under, and only costs a hold one more read.
        let record = state
            .store
            .event(event)
            .await?
            .filter(|e| e.status() == EventStatus::Published)
            .ok_or(ServiceError::NotFound)?;
        Ok(std::sync::Arc::new(HoldTerms {
            version,
            event: record,
            tiers: state.store.tiers_of_event(event, now).await?,
            seats: state.store.seats_of_event(event).await?,
        }))
    }
}

/// Units of one tier, picked by quantity.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TierPick {
    /// The tier's id.
    pub tier_id: String,
    /// How many.
    pub quantity: u32,
}

/// "Best available N seats in section X", for buyers who do not use the map.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BestAvailable {
    /// Section name, as on the map.
    pub section: String,
    /// How many seats together.
    pub quantity: u32,
    /// One wheelchair space with companion seats beside it.
    #[serde(default)]
    pub accessible: bool,
}

/// What a buyer asks to hold.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HoldRequest {
    /// The event's id.
    pub event_id: String,
    /// General-admission quantities.
    #[serde(default)]
    pub tiers: Vec<TierPick>,
    /// Seat ids picked on the map.
    #[serde(default)]
    pub seats: Vec<String>,
    /// Or: the best available seats of a section.
    #[serde(default)]
    pub best_available: Option<BestAvailable>,
    /// A code: unlocks hidden tiers, and its use is reserved with the hold.
    #[serde(default)]
    pub code: Option<String>,
}

/// How often best-available picks again after losing a seat to another buyer.
const BEST_AVAILABLE_TRIES: usize = 3;

fn label(seat: &SeatRow) -> String {
    format!("{} {}{}", seat.section, seat.row_label, seat.number)
}

/// A typed code that works for this event now, or why not.
async fn resolve_code(
    state: &AppState,
    event: &EventId,
    raw: Option<&str>,
    now: Timestamp,
) -> Result<Option<CodeRow>, ServiceError> {
    let Some(raw) = raw.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let found = match crate::domain::codes::normalize_code(raw) {
        Some(c) => state.store.code_by_text(event, &c).await?,
        None => None,
    };
    match found {
        Some(row) if row.rules().valid_at(now) => Ok(Some(row)),
        Some(_) => Err(ServiceError::Invalid(
            "This code is not valid right now.".into(),
        )),
        None => Err(ServiceError::Invalid(
            "This code is not valid for this event.".into(),
        )),
    }
}

/// Takes a hold for the signed-in, verified buyer. The buyer's earlier open
/// hold on the same event is released by the same transaction.
#[tracing::instrument(skip_all, fields(event = %req.event_id))]
pub async fn take_hold(
    state: &AppState,
    who: &Identity,
    req: &HoldRequest,
    lang: Lang,
) -> Result<OrderView, ServiceError> {
    let viewer = who.require_verified()?;
    let event_id = EventId::parse(&req.event_id).ok_or(ServiceError::NotFound)?;
    let now = state.now();
    // The terms kept by this instance. When the hold's transaction finds
    // them stale, or when they refuse the request before it gets that far
    // and turn out stale, read them afresh and start over.
    let mut terms = state.hold_terms.of(state, &event_id, now).await?;
    for _ in 0..TERMS_TRIES {
        match hold_on_terms(state, viewer, &event_id, req, &terms, now, lang).await {
            Ok(Attempt::Decided(answer)) => return answer.map(|view| *view),
            Ok(Attempt::Stale) => {}
            Err(refusal) => {
                if state.store.terms_version(&event_id).await? == Some(terms.version) {
                    return Err(refusal);
                }
            }
        }
        terms = state.hold_terms.read(state, &event_id, now).await?;
    }
    Err(StoreError::Conflict(Conflict::StaleTerms).into())
}

/// How often a hold starts over on fresh terms after its terms changed
/// under it (an organizer editing the event during the sale).
const TERMS_TRIES: usize = 3;

/// What a hold on one reading of the event's terms came to.
enum Attempt {
    /// The store's answer, given on terms its transaction found current.
    Decided(Result<Box<OrderView>, ServiceError>),
    /// The transaction found that the terms had changed since.
    Stale,
}

/// [`take_hold`] on one reading of the event's terms. `Err` is a refusal
/// before the store was asked, on these terms.
async fn hold_on_terms(
    state: &AppState,
    viewer: &Viewer,
    event_id: &EventId,
    req: &HoldRequest,
    terms: &HoldTerms,
    now: Timestamp,
    lang: Lang,
) -> Result<Attempt, ServiceError> {
    let HoldTerms {
        version,
        event,
        tiers,
        seats: seat_rows,
    } = terms;
    let code = resolve_code(state, event_id, req.code.as_deref(), now).await?;
    let unlocked = code.as_ref().map(|c| c.rules().unlocks).unwrap_or_default();
    let seated: HashSet<&str> = seat_rows
        .iter()
        .filter_map(|s| s.tier_id.as_deref())
        .collect();
    let event_over = now >= Timestamp::from_millis(event.ends_at);
    let tier = |id: &str| {
        tiers
            .iter()
            .find(|t| t.id.as_str() == id)
            .ok_or(ServiceError::Invalid(PickError::UnknownTier.to_string()))
    };
    let price = |t: &crate::store::TierRecord| unit_price_at(t.price_minor, t.early_bird, now);
    // The code's discount is fixed per ticket when the hold is taken.
    let rules = code.as_ref().map(CodeRow::rules);
    let discount = |t: &crate::store::TierRecord| {
        rules
            .as_ref()
            .map_or(0, |r| r.discount_on(t.id.as_str(), price(t)))
    };

    // General admission, by quantity.
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    let mut lines = Vec::new();
    for pick in req.tiers.iter().filter(|p| p.quantity > 0) {
        let t = tier(&pick.tier_id)?;
        if seated.contains(t.id.as_str()) {
            return Err(ServiceError::Invalid(format!(
                "Pick {} seats on the seat map.",
                t.name
            )));
        }
        *counts.entry(t.id.as_str()).or_default() += pick.quantity;
        lines.push(HoldLine {
            tier_id: t.id.clone(),
            count: pick.quantity,
            unit_price_minor: price(t),
            discount_minor: discount(t),
        });
    }
    if req.best_available.is_some() && !req.seats.is_empty() {
        return Err(ServiceError::Invalid(
            "Choose seats on the map or ask for the best available, not both.".into(),
        ));
    }

    let by_id: HashMap<&str, &SeatRow> = seat_rows.iter().map(|s| (s.id.as_str(), s)).collect();
    for attempt in 1..=BEST_AVAILABLE_TRIES {
        let seat_ids: Vec<String> = match &req.best_available {
            Some(best) => pick_best(state, event_id, seat_rows, best, now).await?,
            None => {
                let mut ids = req.seats.clone();
                ids.sort();
                ids.dedup();
                ids
            }
        };
        let mut seat_counts = counts.clone();
        let mut seats = Vec::new();
        for id in &seat_ids {
            let row = by_id.get(id.as_str()).ok_or_else(|| {
                ServiceError::Invalid("That seat is not part of this event's map.".into())
            })?;
            let Some(t) = row.tier_id.as_deref().filter(|_| !row.blocked) else {
                return Err(ServiceError::Invalid(format!(
                    "Seat {} is not for sale.",
                    label(row)
                )));
            };
            let t = tier(t)?;
            *seat_counts.entry(t.id.as_str()).or_default() += 1;
            seats.push(HoldSeat {
                seat_id: row.id.clone(),
                tier_id: t.id.clone(),
                label: label(row),
                unit_price_minor: price(t),
                discount_minor: discount(t),
            });
        }
        if seat_counts.values().sum::<u32>() == 0 {
            return Err(ServiceError::Invalid(PickError::Nothing.to_string()));
        }
        for (id, n) in &seat_counts {
            let t = tier(id)?;
            let terms = TierTerms {
                name: &t.name,
                max_per_order: t.max_per_order,
                sale_starts_at: t.sale_starts_at,
                sale_ends_at: t.sale_ends_at,
                hidden: t.hidden,
            };
            check_pick(
                &terms,
                *n,
                now,
                unlocked.iter().any(|u| u == id),
                event_over,
            )
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        }
        let hold = TakeHold {
            order_id: OrderId::from_string(crate::store::new_id()),
            user_id: viewer.user_id(),
            event_id: event_id.clone(),
            lines: lines.clone(),
            seats,
            code: code.as_ref().map(|c| HoldCode {
                id: c.id.clone(),
                text: c.code.clone(),
                max_uses_per_user: c.max_uses_per_user,
            }),
            now,
            expires_at: now.plus_minutes(i64::from(state.config.settings.hold_minutes)),
            terms_version: Some(*version),
        };
        match state.admission.take_hold(hold).await {
            Ok(receipt) => {
                tracing::info!(order = %receipt.order_id, units = receipt.units, "hold taken");
                metrics::counter!("admit_holds_taken_total").increment(1);
                // The receipt is the order as committed: no second read.
                return Ok(Attempt::Decided(Ok(Box::new(view(
                    state,
                    &receipt.order,
                    now,
                    lang,
                )))));
            }
            // Another buyer took one of the picked seats first: pick again.
            Err(StoreError::SeatTaken { .. })
                if req.best_available.is_some() && attempt < BEST_AVAILABLE_TRIES => {}
            Err(StoreError::Conflict(Conflict::StaleTerms)) => return Ok(Attempt::Stale),
            Err(e) => return Ok(Attempt::Decided(Err(e.into()))),
        }
    }
    Ok(Attempt::Decided(Err(ServiceError::Conflict(
        "Those seats were just taken. Please try again.".into(),
    ))))
}

/// The ids of the best free seats for a best-available request.
async fn pick_best(
    state: &AppState,
    event: &EventId,
    seats: &[SeatRow],
    best: &BestAvailable,
    now: Timestamp,
) -> Result<Vec<String>, ServiceError> {
    let section = best.section.trim();
    if !seats.iter().any(|s| s.section == section) {
        return Err(ServiceError::Invalid(format!(
            "There is no section {section:?} on this map."
        )));
    }
    if best.quantity == 0 {
        return Err(ServiceError::Invalid(PickError::Nothing.to_string()));
    }
    let taken: HashSet<String> = state
        .store
        .seat_claims_of_event(event, now)
        .await?
        .into_iter()
        .map(|c| c.seat_id)
        .collect();
    let cells: Vec<SeatCell> = seats
        .iter()
        .map(|s| SeatCell {
            section: s.section.clone(),
            row: s.row_label.clone(),
            number: u32::try_from(s.number).unwrap_or(0),
            kind: SeatKind::parse(&s.kind).unwrap_or(SeatKind::Standard),
            free: !s.blocked && s.tier_id.is_some() && !taken.contains(&s.id),
        })
        .collect();
    let n = usize::try_from(best.quantity).unwrap_or(usize::MAX);
    best_available(&cells, section, n, best.accessible)
        .map(|picked| picked.into_iter().map(|i| seats[i].id.clone()).collect())
        .ok_or_else(|| {
            ServiceError::Conflict(if best.accessible {
                format!(
                    "There is no free wheelchair space with {} seat(s) beside it in {section} right now.",
                    n - 1
                )
            } else {
                format!(
                    "There are no {n} seats together in {section} right now. Try fewer seats or pick them on the map."
                )
            })
        })
}

/// An order of the signed-in buyer. Anyone else's order is not found.
pub async fn order(
    state: &AppState,
    who: &Identity,
    id: &OrderId,
    lang: Lang,
) -> Result<OrderView, ServiceError> {
    let (_, record) = own_order(state, who, id).await?;
    Ok(view(state, &record, state.now(), lang))
}

/// The signed-in viewer's id and their order; anyone else's is not found.
pub(crate) async fn own_order(
    state: &AppState,
    who: &Identity,
    id: &OrderId,
) -> Result<(crate::domain::UserId, OrderRecord), ServiceError> {
    let viewer = who.require_user()?.user_id();
    let record = state
        .store
        .order(id)
        .await?
        .filter(|o| o.user_id == viewer)
        .ok_or(ServiceError::NotFound)?;
    Ok((viewer, record))
}

/// The signed-in buyer's orders, newest first.
pub async fn my_orders(
    state: &AppState,
    who: &Identity,
    lang: Lang,
) -> Result<Vec<OrderView>, ServiceError> {
    let viewer = who.require_user()?;
    let now = state.now();
    Ok(state
        .store
        .orders_of_user(&viewer.user_id(), 100)
        .await?
        .iter()
        .map(|o| view(state, o, now, lang))
        .collect())
}

/// The buyer lets go of a hold. Releasing one that already ended is a no-op;
/// a paid order cannot be released (it is refunded instead).
pub async fn release(state: &AppState, who: &Identity, id: &OrderId) -> Result<(), ServiceError> {
    let (viewer, record) = own_order(state, who, id).await?;
    match record.status {
        OrderStatus::Paid => Err(ServiceError::Conflict(
            "This order is paid. Ask for a refund instead.".into(),
        )),
        OrderStatus::PendingPayment => Err(ServiceError::Conflict(
            "Payment for this order has started. Finish or cancel it at the payment page.".into(),
        )),
        _ => {
            if state.store.release_hold(id, &viewer, state.now()).await? {
                tracing::info!(order = %id, "hold released by its buyer");
            }
            Ok(())
        }
    }
}

/// The live state of the buyer's hold, for the countdown.
pub async fn hold_status(
    state: &AppState,
    who: &Identity,
    id: &OrderId,
) -> Result<HoldStatusView, ServiceError> {
    let v = order(state, who, id, Lang::En).await?;
    Ok(HoldStatusView {
        status: v.status,
        remaining_ms: v.remaining_ms,
    })
}

/// Which seats of a published event are held or sold right now; `mine` are
/// those of the viewer's own open hold.
pub async fn seat_status(
    state: &AppState,
    who: &Identity,
    event: &EventId,
) -> Result<SeatStatusView, ServiceError> {
    state
        .store
        .event(event)
        .await?
        .filter(|e| e.status() == EventStatus::Published)
        .ok_or(ServiceError::NotFound)?;
    let now = state.now();
    let claims = state.store.seat_claims_of_event(event, now).await?;
    let mine: HashSet<String> = match who.0.as_ref() {
        Some(v) => state
            .store
            .orders_of_user(&v.user_id(), 20)
            .await?
            .into_iter()
            .filter(|o| o.event_id == *event && o.status_at(now).holds_stock())
            .map(|o| o.id.to_string())
            .collect(),
        None => HashSet::new(),
    };
    let mut out = SeatStatusView::default();
    for c in claims {
        if mine.contains(&c.order_id) {
            out.mine.push(c.seat_id.clone());
        }
        if c.sold {
            out.sold.push(c.seat_id);
        } else {
            out.held.push(c.seat_id);
        }
    }
    Ok(out)
}

/// An order as its buyer sees it at `now`, with its bill: ticket prices and
/// discounts as fixed by the hold, and the platform fee of its currency.
pub fn view(state: &AppState, o: &OrderRecord, now: Timestamp, lang: Lang) -> OrderView {
    let currency = Currency::parse(&o.currency).unwrap_or(Currency::IDR);
    let status = o.status_at(now);
    let fee = state.config.settings.fee_rule(currency).unwrap_or(FeeRule {
        basis_points: FEE_BASIS_POINTS,
        fixed_minor: 0,
    });
    let items: Vec<(i64, i64)> = o
        .items
        .iter()
        .map(|i| (i.unit_price_minor, i.discount_minor))
        .collect();
    let bill = price_items(&items, fee);
    let money = |minor: i64| Money::from_minor(minor, currency).format(lang);
    OrderView {
        id: o.id.to_string(),
        event_title: o.event_title.clone(),
        event_slug: o.event_slug.clone(),
        event_when: format::when(o.event_starts_at, &o.event_time_zone, lang),
        status: status.as_str().to_owned(),
        expires_at_ms: o.expires_at.as_millis(),
        remaining_ms: if status.holds_stock() {
            (o.expires_at.as_millis() - now.as_millis()).max(0)
        } else {
            0
        },
        currency: o.currency.clone(),
        items: o
            .items
            .iter()
            .map(|i| OrderItemView {
                tier: i.tier_name.clone(),
                seat: i.seat_label.clone(),
                price_minor: i.unit_price_minor,
                price_label: Money::from_minor(i.unit_price_minor, currency).format(lang),
                attendee_name: i.attendee_name.clone(),
                attendee_email: i.attendee_email.clone(),
            })
            .collect(),
        subtotal_minor: bill.subtotal_minor,
        subtotal_label: money(bill.subtotal_minor),
        discount_minor: bill.discount_minor,
        discount_label: money(bill.discount_minor),
        fee_minor: bill.fee_minor,
        fee_label: money(bill.fee_minor),
        total_minor: bill.total_minor,
        total_label: money(bill.total_minor),
        code: o.code.clone(),
        payment_url: o.payment_url.clone(),
        created: format::when(o.created_at, &o.event_time_zone, lang),
    }
}
