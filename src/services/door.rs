//! The door: scanning a ticket's code (or its typed reference), checking a
//! ticket in, undoing a mistaken check-in, what a scanner needs to work
//! offline, and the door dashboard.
//!
//! A code is verified first (the same `domain::ticket_code` that runs in the
//! scanner island), then the store decides the admission atomically: of any
//! number of simultaneous scans of one ticket, exactly one admits it.

pub use crate::server_fns::views::{ScanEvent, ScanInput, ScanView, ScannerSetup};
use crate::{
    domain::{
        EventId, OrgId, TierId, Timestamp, UserId,
        money::Lang,
        ticket_code::{CodeError, EventPublicKey, TicketCode, TicketReference, TierTag},
    },
    error::ServiceError,
    services::{authz::Identity, format},
    state::AppState,
    store::{
        EventRecord,
        tickets::{Scan, ScanOutcome, ScanResult, TicketRecord},
    },
};

/// Longest gate or device name.
const MAX_LABEL: usize = 60;

/// Loads an event the viewer may scan for: staff of its organization
/// (limited to their events if scoped), its owners, and admins. Anyone else
/// gets `NotFound`, as for a missing event.
pub async fn scannable_event(
    state: &AppState,
    who: &Identity,
    event: &EventId,
) -> Result<EventRecord, ServiceError> {
    let viewer = who.require_user()?;
    let e = state
        .store
        .event(event)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let org = OrgId::from_string(e.org_id.clone());
    if viewer.account.is_admin || viewer.is_owner_of(&org) {
        return Ok(e);
    }
    match viewer.membership(&org) {
        Some(_) => {
            let scope = state.store.staff_scope(&org, &viewer.user_id()).await?;
            if scope.is_empty() || scope.iter().any(|id| id == event.as_str()) {
                Ok(e)
            } else {
                Err(ServiceError::NotFound)
            }
        }
        None => Err(ServiceError::NotFound),
    }
}

/// The events the viewer may scan for, soonest first.
pub async fn scan_events(
    state: &AppState,
    who: &Identity,
    lang: Lang,
) -> Result<Vec<ScanEvent>, ServiceError> {
    let viewer = who.require_user()?;
    let mut out = Vec::new();
    for m in viewer.organizations() {
        let org = OrgId::from_string(m.org_id.clone());
        let scope = if m.role == "owner" {
            Vec::new()
        } else {
            state.store.staff_scope(&org, &viewer.user_id()).await?
        };
        for e in state.store.events_of_org(&org).await? {
            if scope.is_empty() || scope.contains(&e.id) {
                out.push((
                    e.starts_at,
                    ScanEvent {
                        when: format::when(Timestamp::from_millis(e.starts_at), &e.time_zone, lang),
                        id: e.id,
                        title: e.title,
                    },
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
    Ok(out.into_iter().map(|(_, e)| e).collect())
}

/// A gate or device name: trimmed, 1 to 60 characters.
fn label(value: &str, what: &str) -> Result<String, ServiceError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > MAX_LABEL || v.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(format!(
            "Give the {what} a name of 1 to {MAX_LABEL} characters."
        )));
    }
    Ok(v.to_owned())
}

/// A client nonce: 8 to 64 characters of letters, digits, `-` and `_`.
fn nonce(value: Option<&str>) -> Result<String, ServiceError> {
    match value {
        None => Ok(crate::store::new_id()),
        Some(n)
            if (8..=64).contains(&n.len())
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(n.to_owned())
        }
        Some(_) => Err(ServiceError::Invalid(
            "The scan's nonce must be 8 to 64 letters, digits, - or _.".into(),
        )),
    }
}

/// The event's public key, if it has one.
async fn public_key(
    state: &AppState,
    event: &EventId,
) -> Result<Option<EventPublicKey>, ServiceError> {
    Ok(state
        .store
        .event_public_key(event)
        .await?
        .and_then(|k| EventPublicKey::parse(&k).ok()))
}

/// What the code says, before the store decides: the ticket it names, or a
/// refusal (forged, wrong event).
async fn read_code(
    state: &AppState,
    event: &EventRecord,
    text: &str,
) -> Result<(Option<String>, Option<ScanResult>), ServiceError> {
    let event_id = EventId::from_string(event.id.clone());
    let text = text.trim();
    // A typed reference names a ticket of this event.
    if text.len() <= 16
        && let Some(reference) = TicketReference::parse(text)
    {
        let found = state
            .store
            .search_tickets(&event_id, reference.as_str(), 2)
            .await?
            .into_iter()
            .find(|t| t.reference == reference.as_str());
        return Ok(match found {
            Some(t) => (Some(t.id), None),
            None => (None, Some(ScanResult::Unknown)),
        });
    }
    let Ok(code) = TicketCode::parse(text) else {
        return Ok((None, Some(ScanResult::Forged)));
    };
    let named = code.event_id();
    if named != event_id {
        // Another event's code: real if that event's key verifies it.
        let real = match public_key(state, &named).await? {
            Some(k) => code.verify(&k).is_ok(),
            None => false,
        };
        return Ok((
            None,
            Some(if real {
                ScanResult::WrongEvent
            } else {
                ScanResult::Forged
            }),
        ));
    }
    let Some(key) = public_key(state, &event_id).await? else {
        return Ok((None, Some(ScanResult::Forged)));
    };
    match code.verify_for_event(&event_id, &key) {
        Ok(verified) => {
            let id = verified.ticket_id();
            // The name digest must match the issued ticket's attendee.
            let matches = state.store.ticket(&id).await?.is_none_or(|t| {
                verified.attendee_matches(&t.attendee_name)
                    && verified.is_tier(&TierId::from_string(t.tier_id.clone()))
            });
            Ok((Some(id), (!matches).then_some(ScanResult::Forged)))
        }
        Err(CodeError::WrongEvent) => Ok((None, Some(ScanResult::WrongEvent))),
        Err(_) => Ok((None, Some(ScanResult::Forged))),
    }
}

/// Scans a code at a door: verified, then decided atomically and recorded
/// (refused scans too), under the scan's nonce.
#[tracing::instrument(skip(state, who, input), fields(event = %input.event_id))]
pub async fn scan(
    state: &AppState,
    who: &Identity,
    input: &ScanInput,
    lang: Lang,
) -> Result<ScanView, ServiceError> {
    let event_id = EventId::parse(&input.event_id).ok_or(ServiceError::NotFound)?;
    let event = scannable_event(state, who, &event_id).await?;
    let staff = who.require_user()?.user_id();
    if input.code.trim().is_empty() {
        return Err(ServiceError::Invalid(
            "Scan a ticket's QR code or type its reference.".into(),
        ));
    }
    if input.code.len() > 1024 {
        return Ok(view(&event, outcome_of(ScanResult::Forged), lang));
    }
    let (ticket_id, refused) = read_code(state, &event, &input.code).await?;
    decide(state, &event, staff, input, ticket_id, refused, lang).await
}

fn outcome_of(result: ScanResult) -> ScanOutcome {
    ScanOutcome {
        result,
        ticket_id: None,
        attendee_name: None,
        tier_name: None,
        seat_label: None,
        earlier: None,
        revoked_reason: None,
        replayed: false,
    }
}

async fn decide(
    state: &AppState,
    event: &EventRecord,
    staff: UserId,
    input: &ScanInput,
    ticket_id: Option<String>,
    refused: Option<ScanResult>,
    lang: Lang,
) -> Result<ScanView, ServiceError> {
    let now = state.now();
    let scanned_at = match input.scanned_at_ms {
        // An offline scan keeps its own time, but never one in the future.
        Some(ms) if input.offline && ms > 0 => Timestamp::from_millis(ms.min(now.as_millis())),
        _ => now,
    };
    let outcome = state
        .store
        .scan(Scan {
            nonce: nonce(input.nonce.as_deref())?,
            event_id: EventId::from_string(event.id.clone()),
            ticket_id,
            gate: label(&input.gate, "gate")?,
            device: label(input.device.as_deref().unwrap_or("web scanner"), "device")?,
            staff_id: staff,
            scanned_at,
            offline: input.offline,
            refused,
            now,
        })
        .await?;
    metrics::counter!("admit_scans_total", "result" => outcome.result.as_str()).increment(1);
    tracing::info!(
        result = outcome.result.as_str(),
        replayed = outcome.replayed,
        "ticket scanned"
    );
    Ok(view(event, outcome, lang))
}

/// The answer of an earlier scan of this event, by its nonce.
pub async fn scan_answer(
    state: &AppState,
    who: &Identity,
    event: &EventId,
    nonce: &str,
    lang: Lang,
) -> Result<Option<ScanView>, ServiceError> {
    let e = scannable_event(state, who, event).await?;
    Ok(state
        .store
        .scan_answer(nonce)
        .await?
        .filter(|(ev, _)| ev == event.as_str())
        .map(|(_, o)| view(&e, o, lang)))
}

/// Checks a ticket in by its id (door staff found the attendee by name or
/// order number).
pub async fn check_in(
    state: &AppState,
    who: &Identity,
    ticket_id: &str,
    input: &ScanInput,
    lang: Lang,
) -> Result<ScanView, ServiceError> {
    let t = state
        .store
        .ticket(ticket_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let event_id = EventId::from_string(t.event_id.clone());
    let event = scannable_event(state, who, &event_id).await?;
    let staff = who.require_user()?.user_id();
    decide(state, &event, staff, input, Some(t.id), None, lang).await
}

/// The organizer undoes a mistaken check-in; it stays recorded, with who
/// undid it and why.
pub async fn undo_check_in(
    state: &AppState,
    who: &Identity,
    ticket_id: &str,
    reason: &str,
) -> Result<(), ServiceError> {
    let t = state
        .store
        .ticket(ticket_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let viewer = who.require_owner(&OrgId::from_string(t.org_id.clone()))?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ServiceError::Invalid(
            "Say why the check-in is undone (at most 200 characters).".into(),
        ));
    }
    if !state
        .store
        .undo_check_in(&t.id, &viewer.user_id(), reason, state.now())
        .await?
    {
        return Err(ServiceError::Conflict(
            "This ticket is not checked in.".into(),
        ));
    }
    tracing::info!(ticket = %t.id, by = %viewer.user_id(), "check-in undone");
    Ok(())
}

/// What a scanner for an event needs to verify offline.
pub async fn scanner_setup(
    state: &AppState,
    who: &Identity,
    event: &EventId,
) -> Result<ScannerSetup, ServiceError> {
    let e = scannable_event(state, who, event).await?;
    let tiers = state
        .store
        .tiers_of_event(event, state.now())
        .await?
        .into_iter()
        .map(|t| (t.id.to_string(), t.name))
        .collect();
    Ok(ScannerSetup {
        event_id: e.id.clone(),
        event_title: e.title.clone(),
        public_key: state.store.event_public_key(event).await?,
        tiers,
        revoked: state.store.revoked_tickets(event).await?,
        admitted: state.store.admitted_tickets(event).await?,
    })
}

/// Tickets of an event found by attendee name, order number or reference.
pub async fn search(
    state: &AppState,
    who: &Identity,
    event: &EventId,
    query: &str,
) -> Result<Vec<TicketRecord>, ServiceError> {
    scannable_event(state, who, event).await?;
    let q = query.trim();
    if q.chars().count() < 2 {
        return Err(ServiceError::Invalid(
            "Type at least 2 letters of the name or order number.".into(),
        ));
    }
    Ok(state.store.search_tickets(event, q, 50).await?)
}

/// The door dashboard of an event: counts per tier and gate, and flagged
/// conflicts.
pub async fn dashboard(
    state: &AppState,
    who: &Identity,
    event: &EventId,
    lang: Lang,
) -> Result<crate::server_fns::views::DoorView, ServiceError> {
    let e = scannable_event(state, who, event).await?;
    let counts = state.store.door_counts(event).await?;
    let conflicts = state.store.door_conflicts(event).await?;
    Ok(crate::server_fns::views::DoorView {
        event_id: e.id.clone(),
        event_title: e.title.clone(),
        total: counts.total,
        checked_in: counts.checked_in,
        per_tier: counts.per_tier,
        per_gate: counts.per_gate,
        conflicts: conflicts
            .into_iter()
            .map(|c| crate::server_fns::views::ConflictView {
                at: format::when(Timestamp::from_millis(c.scanned_at), &e.time_zone, lang),
                ticket_id: c.ticket_id,
                attendee: c.attendee_name,
                reference: c.reference,
                gate: c.gate,
            })
            .collect(),
    })
}

/// The door's words for an outcome.
fn view(event: &EventRecord, o: ScanOutcome, lang: Lang) -> ScanView {
    let when = o
        .earlier
        .as_ref()
        .map(|a| format::time_of_day(Timestamp::from_millis(a.scanned_at), &event.time_zone, lang));
    let headline = match (o.result, lang) {
        (ScanResult::Valid, Lang::En) => "Valid: let them in".to_owned(),
        (ScanResult::Valid, Lang::Id) => "Sah: silakan masuk".to_owned(),
        (ScanResult::AlreadyUsed, Lang::En) => format!(
            "Already used at {}, gate {}",
            when.clone().unwrap_or_default(),
            o.earlier.as_ref().map(|a| a.gate.as_str()).unwrap_or("?")
        ),
        (ScanResult::AlreadyUsed, Lang::Id) => format!(
            "Sudah dipakai pukul {}, gerbang {}",
            when.clone().unwrap_or_default(),
            o.earlier.as_ref().map(|a| a.gate.as_str()).unwrap_or("?")
        ),
        (ScanResult::WrongEvent, Lang::En) => {
            "Wrong event: this ticket is for another event".into()
        }
        (ScanResult::WrongEvent, Lang::Id) => "Acara salah: tiket ini untuk acara lain".into(),
        (ScanResult::Revoked, Lang::En) => format!(
            "Revoked: this ticket was {}",
            o.revoked_reason.as_deref().unwrap_or("cancelled")
        ),
        (ScanResult::Revoked, Lang::Id) => "Dibatalkan: tiket ini tidak berlaku lagi".into(),
        (ScanResult::Forged, Lang::En) => "Forged: this code is not a real ticket".into(),
        (ScanResult::Forged, Lang::Id) => "Palsu: kode ini bukan tiket asli".into(),
        (ScanResult::Unknown, Lang::En) => "Unknown ticket: no such ticket was issued".into(),
        (ScanResult::Unknown, Lang::Id) => "Tiket tidak dikenal".into(),
        (ScanResult::Flagged, Lang::En) => {
            "Admitted offline at two gates: flagged for the organizer".into()
        }
        (ScanResult::Flagged, Lang::Id) => {
            "Masuk luring di dua gerbang: ditandai untuk penyelenggara".into()
        }
    };
    ScanView {
        result: o.result.as_str().to_owned(),
        headline,
        ticket_id: o.ticket_id,
        attendee: o.attendee_name,
        tier: o.tier_name,
        seat: o.seat_label,
        used_at: when,
        used_gate: o.earlier.as_ref().map(|a| a.gate.clone()),
        used_by: o.earlier.as_ref().and_then(|a| a.staff_name.clone()),
        replayed: o.replayed,
    }
}

/// The tier tag of a tier id, as the code carries it (hex), for scanners.
pub fn tier_tag(tier: &str) -> String {
    TierTag::of(&TierId::from_string(tier)).to_string()
}
