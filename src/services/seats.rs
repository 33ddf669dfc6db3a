//! Seat maps: organizers import or lay out seats; attendees see each seat's
//! status. (Holding and selling seats arrive with the holds work; until then
//! a seat is available or blocked.)

use std::collections::HashMap;

use crate::{
    domain::{
        EventId,
        seats::{SeatSpec, grid, parse_csv},
    },
    error::ServiceError,
    server_fns::views::{SeatMapView, SeatRowView, SeatSectionView, SeatView},
    services::{authz::Identity, events::managed_event},
    state::AppState,
    store::catalogue::NewSeat,
};

async fn store_map(
    state: &AppState,
    id: &EventId,
    specs: Vec<SeatSpec>,
) -> Result<usize, ServiceError> {
    if specs.is_empty() {
        return Err(ServiceError::Invalid(
            "The seat map has no seats: give one seat per line as section,row,number[,kind[,tier[,blocked]]].".into(),
        ));
    }
    let tiers: HashMap<String, String> = state
        .store
        .tiers_of_event(id, state.now())
        .await?
        .into_iter()
        .map(|t| (t.name.to_lowercase(), t.id.to_string()))
        .collect();
    let mut seats = Vec::with_capacity(specs.len());
    for spec in specs {
        let tier_id = match spec.tier.trim() {
            "" => None,
            name => Some(tiers.get(&name.to_lowercase()).cloned().ok_or_else(|| {
                ServiceError::Invalid(format!(
                    "Unknown tier {name:?} on the seat map; create the tier first."
                ))
            })?),
        };
        seats.push(NewSeat { spec, tier_id });
    }
    let n = seats.len();
    state
        .store
        .replace_seats(id, &seats)
        .await
        .map_err(|e| match e {
            // Duplicates are caught above; the UNIQUE constraint is the backstop.
            crate::store::StoreError::Conflict(_) => {
                ServiceError::Invalid("A seat appears twice in the map.".into())
            }
            other => other.into(),
        })?;
    Ok(n)
}

/// Replaces the map from CSV (`section,row,number[,kind[,tier[,blocked]]]`).
#[tracing::instrument(skip(state, who, csv))]
pub async fn import_csv(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    csv: &str,
) -> Result<usize, ServiceError> {
    managed_event(state, who, id).await?;
    let specs = parse_csv(csv).map_err(|e| ServiceError::Invalid(format!("Seat map, {e}.")))?;
    store_map(state, id, specs).await
}

/// A grid section to add: rows labelled from `first_row`, `per_row` seats each.
#[derive(Clone, Debug)]
pub struct GridSpec {
    /// Section name.
    pub section: String,
    /// Label of the first row (a capital letter).
    pub first_row: char,
    /// Number of rows.
    pub rows: u32,
    /// Seats per row.
    pub per_row: u32,
    /// Tier name the seats sell as (may be empty).
    pub tier: String,
}

/// Adds a grid section (rows from a letter, seats numbered from 1) to the map.
#[tracing::instrument(skip(state, who))]
pub async fn add_grid(
    state: &AppState,
    who: &Identity,
    id: &EventId,
    g: &GridSpec,
) -> Result<usize, ServiceError> {
    managed_event(state, who, id).await?;
    let tier_names: HashMap<String, String> = state
        .store
        .tiers_of_event(id, state.now())
        .await?
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .collect();
    let mut specs: Vec<SeatSpec> = state
        .store
        .seats_of_event(id)
        .await?
        .into_iter()
        .map(|s| SeatSpec {
            section: s.section,
            row: s.row_label,
            number: u32::try_from(s.number).unwrap_or(1),
            kind: crate::domain::seats::SeatKind::parse(&s.kind)
                .unwrap_or(crate::domain::seats::SeatKind::Standard),
            blocked: s.blocked,
            tier: s
                .tier_id
                .and_then(|t| tier_names.get(&t).cloned())
                .unwrap_or_default(),
        })
        .collect();
    let added = grid(&g.section, g.first_row, g.rows, g.per_row, &g.tier)
        .map_err(|e| ServiceError::Invalid(format!("Seat grid: {e}.")))?;
    for seat in &added {
        if specs
            .iter()
            .any(|s| s.section == seat.section && s.row == seat.row && s.number == seat.number)
        {
            return Err(ServiceError::Invalid(format!(
                "Seat {} {}{} already exists; choose another section or rows.",
                seat.section, seat.row, seat.number
            )));
        }
    }
    specs.extend(added);
    store_map(state, id, specs).await
}

/// The map with each seat's status. Published events are public; drafts
/// only for those who manage them.
pub async fn seat_map(
    state: &AppState,
    who: &Identity,
    id: &EventId,
) -> Result<SeatMapView, ServiceError> {
    let event = state.store.event(id).await?.ok_or(ServiceError::NotFound)?;
    if event.status() != crate::domain::EventStatus::Published {
        managed_event(state, who, id).await?;
    }
    build_view(state, id).await
}

/// The map of an event, already known to be visible to the caller.
pub async fn build_view(state: &AppState, id: &EventId) -> Result<SeatMapView, ServiceError> {
    let tier_names: HashMap<String, String> = state
        .store
        .tiers_of_event(id, state.now())
        .await?
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .collect();
    let seats = state.store.seats_of_event(id).await?;
    let claims: HashMap<String, bool> = state
        .store
        .seat_claims_of_event(id, state.now())
        .await?
        .into_iter()
        .map(|c| (c.seat_id, c.sold))
        .collect();
    let total = seats.len();
    let mut sections: Vec<SeatSectionView> = Vec::new();
    for s in seats {
        let view = SeatView {
            status: match (s.blocked, claims.get(&s.id)) {
                (true, _) => "blocked".into(),
                (false, Some(true)) => "sold".into(),
                (false, Some(false)) => "held".into(),
                (false, None) => "available".into(),
            },
            tier: s
                .tier_id
                .and_then(|t| tier_names.get(&t).cloned())
                .unwrap_or_default(),
            id: s.id,
            number: s.number,
            kind: s.kind,
        };
        let section = match sections.iter_mut().position(|x| x.name == s.section) {
            Some(i) => &mut sections[i],
            None => {
                sections.push(SeatSectionView {
                    name: s.section.clone(),
                    rows: Vec::new(),
                });
                sections.last_mut().expect("pushed")
            }
        };
        match section.rows.iter_mut().find(|r| r.label == s.row_label) {
            Some(row) => row.seats.push(view),
            None => section.rows.push(SeatRowView {
                label: s.row_label,
                seats: vec![view],
            }),
        }
    }
    Ok(SeatMapView { sections, total })
}

/// Removes the seat map (the event becomes general admission).
pub async fn clear(state: &AppState, who: &Identity, id: &EventId) -> Result<(), ServiceError> {
    managed_event(state, who, id).await?;
    Ok(state.store.replace_seats(id, &[]).await?)
}
