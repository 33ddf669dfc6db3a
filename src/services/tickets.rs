//! E-tickets: issuing them after payment (an outbox job), the buyer's
//! tickets, their PDF and calendar entry, and who may see a ticket.
//!
//! Issuance is idempotent step by step, so a retried job (after a crash or a
//! failure) finishes the work without doing any of it twice: tickets are
//! inserted only for units that have none (the database refuses a second
//! valid ticket per unit), PDFs are rewritten under the same key, and emails
//! are queued under per-order dedupe keys.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use crate::{
    domain::{
        EventId, OrderId, OrgId, TierId, Timestamp,
        money::Lang,
        ticket_code::{self, EventSigningKey, TicketCode, TicketPayload},
    },
    error::ServiceError,
    integrations::{
        keys::{self, MasterKey},
        render::{self, CalendarEntry, TicketDocument},
    },
    server_fns::views::TicketView,
    services::{authz::Identity, format, mail},
    state::AppState,
    store::{
        NewJob,
        orders::OrderRecord,
        tickets::{EventKeyRow, NewTicket, TicketRecord},
    },
};

/// The job that issues an order's tickets.
pub const ISSUE_TICKETS: &str = "issue_tickets";

/// Attempts before issuance is handed to the admins.
pub const ISSUE_ATTEMPTS: u32 = 5;

/// The admin task opened when issuance gives up.
pub const ISSUANCE_FAILED: &str = "ticket_issuance_failed";

/// The issuance job of a paid order, written in the transaction that pays it;
/// once per order.
pub fn issue_job(order: &OrderId, now: Timestamp) -> NewJob {
    NewJob {
        kind: ISSUE_TICKETS.into(),
        payload: json!({"order_id": order.as_str()}),
        run_at: now,
        dedupe_key: Some(format!("issue-tickets:{order}")),
        max_attempts: ISSUE_ATTEMPTS,
    }
}

/// The event's signing key, made (and sealed under the master key) the
/// first time it is needed. Every instance agrees on it: the first stored
/// pair wins.
pub async fn signing_key(state: &AppState, event: &EventId) -> anyhow::Result<EventSigningKey> {
    let master = MasterKey::derive(&state.config.secrets.master_key);
    let candidate = keys::generate_event_key(&master, event);
    let row = state
        .store
        .event_key(
            event,
            EventKeyRow {
                event_id: event.to_string(),
                public_key: candidate.public_key.to_string(),
                sealed_key: candidate.sealed,
            },
            state.now(),
        )
        .await?;
    keys::unseal_event_key(&master, event, &row.sealed_key)
        .map_err(|e| anyhow::anyhow!("the signing key of event {event} does not open: {e}"))
}

/// Seat labels go into the code whole when they fit; a longer one is cut
/// on a character boundary (the ticket record keeps the full label).
fn code_seat(label: &str) -> &str {
    if label.len() <= ticket_code::MAX_SEAT_BYTES {
        return label;
    }
    let mut end = ticket_code::MAX_SEAT_BYTES;
    while !label.is_char_boundary(end) {
        end -= 1;
    }
    &label[..end]
}

/// A signed ticket for one unit.
fn new_ticket(
    key: &EventSigningKey,
    order: &OrderRecord,
    item: &crate::store::orders::OrderItemRecord,
    fallback: (&str, &str),
) -> anyhow::Result<NewTicket> {
    let id = crate::store::new_id();
    let name = item
        .attendee_name
        .clone()
        .unwrap_or_else(|| fallback.0.to_owned());
    let email = item
        .attendee_email
        .clone()
        .unwrap_or_else(|| fallback.1.to_owned());
    let payload = TicketPayload::new(
        &id,
        &order.event_id,
        &TierId::from_string(item.tier_id.clone()),
        item.seat_label.as_deref().map(code_seat),
        &name,
    )
    .map_err(|e| anyhow::anyhow!("ticket {id} of order {}: {e}", order.id))?;
    let code = ticket_code::sign(&payload, key);
    let reference = TicketCode::parse(&code)
        .map_err(|e| anyhow::anyhow!("a code just signed does not parse: {e}"))?
        .reference()
        .as_str()
        .to_owned();
    Ok(NewTicket {
        id,
        order_item_id: item.id.clone(),
        tier_id: item.tier_id.clone(),
        seat_label: item.seat_label.clone(),
        attendee_name: name,
        attendee_email: email,
        code,
        reference,
    })
}

/// The printable document of a ticket.
fn document(t: &TicketRecord, lang: Lang) -> anyhow::Result<TicketDocument> {
    Ok(TicketDocument {
        event_title: t.event_title.clone(),
        starts_at: Timestamp::from_millis(t.starts_at),
        time_zone: t.time_zone.clone(),
        venue: t.venue.clone(),
        attendee_name: t.attendee_name.clone(),
        tier_name: t.tier_name.clone(),
        seat: t.seat_label.clone(),
        order_number: order_number(&t.order_id),
        code: TicketCode::parse(&t.code).map_err(|e| anyhow::anyhow!("ticket {}: {e}", t.id))?,
        terms: crate::services::markdown::to_plain_text(&t.terms),
        lang,
    })
}

/// The order number people read and type: the order id's first block.
pub fn order_number(order_id: &str) -> String {
    order_id
        .split('-')
        .next()
        .unwrap_or(order_id)
        .to_ascii_uppercase()
}

/// The calendar entry of a ticket (or of an order, with `uid`).
pub fn calendar_entry(state: &AppState, t: &TicketRecord, uid: &str) -> CalendarEntry {
    CalendarEntry {
        uid: format!("{uid}@admit"),
        summary: t.event_title.clone(),
        starts_at: Timestamp::from_millis(t.starts_at),
        ends_at: Timestamp::from_millis(t.ends_at),
        location: if t.address.is_empty() {
            t.venue.clone()
        } else {
            format!("{}, {}", t.venue, t.address)
        },
        description: format!(
            "{} · {}{}",
            t.attendee_name,
            t.tier_name,
            t.seat_label
                .as_deref()
                .map(|s| format!(" · {s}"))
                .unwrap_or_default()
        ),
        url: Some(format!("{}/tickets", state.config.settings.public_base())),
        stamp: state.now(),
    }
}

/// The file store key of a ticket's PDF.
fn pdf_key(t: &TicketRecord) -> String {
    format!("tickets/{}/{}.pdf", t.order_id, t.id)
}

/// Renders and stores the PDFs of tickets (off the async threads: printing
/// is CPU work).
async fn store_pdfs(state: &AppState, tickets: &[TicketRecord], lang: Lang) -> anyhow::Result<()> {
    for t in tickets {
        let doc = document(t, lang)?;
        let pdf = tokio::task::spawn_blocking(move || render::ticket_pdf(&doc)).await?;
        let key = pdf_key(t);
        state.files.put(&key, pdf).await?;
        if t.pdf_key.as_deref() != Some(key.as_str()) {
            state.store.set_ticket_pdf(&t.id, &key).await?;
        }
    }
    Ok(())
}

/// The attachments of an email carrying `tickets`: each PDF and one
/// calendar entry.
fn attachments(state: &AppState, tickets: &[&TicketRecord], uid: &str) -> Vec<mail::AttachmentRef> {
    let mut out: Vec<mail::AttachmentRef> = tickets
        .iter()
        .map(|t| mail::AttachmentRef {
            filename: format!("ticket-{}.pdf", t.reference),
            content_type: "application/pdf".into(),
            file_key: Some(pdf_key(t)),
            inline: None,
        })
        .collect();
    if let Some(first) = tickets.first() {
        out.push(mail::AttachmentRef {
            filename: "event.ics".into(),
            content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
            file_key: None,
            inline: Some(render::ticket_ics(&calendar_entry(state, first, uid))),
        });
    }
    out
}

/// Runs the issuance job of one order: sign a ticket per unit, print and
/// store each PDF, then email the buyer every ticket and each other
/// attendee their own.
#[tracing::instrument(skip(state, payload))]
pub async fn run_issue(state: &AppState, payload: &str) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Job {
        order_id: String,
    }
    let job: Job = serde_json::from_str(payload)?;
    let order_id = OrderId::parse(&job.order_id)
        .ok_or_else(|| anyhow::anyhow!("bad order id {:?}", job.order_id))?;
    let order = state
        .store
        .order(&order_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("order {order_id} does not exist"))?;
    let buyer = state
        .store
        .account(&order.user_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the buyer of order {order_id} does not exist"))?;
    let existing = state.store.tickets_of_order(&order_id).await?;
    let key = signing_key(state, &order.event_id).await?;
    let mut fresh = Vec::new();
    for item in &order.items {
        if !existing
            .iter()
            .any(|t| t.order_item_id == item.id && t.status == "valid")
        {
            fresh.push(new_ticket(&key, &order, item, (&buyer.name, &buyer.email))?);
        }
    }
    let now = state.now();
    let tickets = state
        .store
        .issue_tickets(&order_id, fresh, Vec::new(), now)
        .await?;
    let lang = Lang::En;
    store_pdfs(state, &tickets, lang).await?;

    let when = format::when(order.event_starts_at, &order.event_time_zone, lang);
    let all: Vec<&TicketRecord> = tickets.iter().collect();
    let mut to_buyer = mail::job(
        &buyer.email,
        lang,
        mail::Template::TicketsIssued,
        json!({"event": order.event_title, "when": when, "tickets": tickets.len(),
            "url": format!("{}/tickets", state.config.settings.public_base())}),
        now,
    );
    to_buyer.dedupe_key = Some(format!("tickets-email:{order_id}"));
    set_attachments(&mut to_buyer, attachments(state, &all, order_id.as_str()));
    state.store.enqueue_job(to_buyer, now).await?;

    // Each attendee whose email is not the buyer's gets their own tickets.
    let mut by_attendee: BTreeMap<String, Vec<&TicketRecord>> = BTreeMap::new();
    for t in &tickets {
        if !t.attendee_email.eq_ignore_ascii_case(&buyer.email) {
            by_attendee
                .entry(t.attendee_email.to_ascii_lowercase())
                .or_default()
                .push(t);
        }
    }
    for (email, theirs) in by_attendee {
        let mut to_attendee = mail::job(
            &email,
            lang,
            mail::Template::TicketForAttendee,
            json!({"name": theirs[0].attendee_name, "event": order.event_title, "when": when,
                "buyer": buyer.name}),
            now,
        );
        to_attendee.dedupe_key = Some(format!("ticket-email:{order_id}:{email}"));
        set_attachments(
            &mut to_attendee,
            attachments(state, &theirs, &format!("{order_id}-{}", theirs[0].id)),
        );
        state.store.enqueue_job(to_attendee, now).await?;
    }
    tracing::info!(order = %order_id, tickets = tickets.len(), "tickets issued");
    metrics::counter!("admit_tickets_issued_total").increment(tickets.len() as u64);
    Ok(())
}

/// Puts attachments into an email job's payload.
fn set_attachments(job: &mut NewJob, attachments: Vec<mail::AttachmentRef>) {
    job.payload["attachments"] = json!(attachments);
}

/// Issuance gave up after its last attempt: an admin task is opened and the
/// buyer is told the tickets will follow.
pub async fn issuance_gave_up(state: &AppState, payload: &str, error: &str) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Job {
        order_id: String,
    }
    let job: Job = serde_json::from_str(payload)?;
    let now = state.now();
    state
        .store
        .open_admin_task(ISSUANCE_FAILED, &job.order_id, error, now)
        .await?;
    let Some(order) = OrderId::parse(&job.order_id) else {
        return Ok(());
    };
    if let Some(order) = state.store.order(&order).await?
        && let Some(buyer) = state.store.account(&order.user_id).await?
    {
        let mut notice = mail::job(
            &buyer.email,
            Lang::En,
            mail::Template::TicketsDelayed,
            json!({"event": order.event_title,
                "url": format!("{}/orders/{}", state.config.settings.public_base(), order.id)}),
            now,
        );
        notice.dedupe_key = Some(format!("tickets-delayed:{}", order.id));
        state.store.enqueue_job(notice, now).await?;
    }
    tracing::error!(order = %job.order_id, "ticket issuance gave up; an admin task is open");
    Ok(())
}

/// Who may see a ticket: its buyer, the members of the event's
/// organization, and admins. Anyone else is told it does not exist.
pub fn may_see(who: &Identity, t: &TicketRecord) -> Result<(), ServiceError> {
    let v = who.require_user()?;
    if v.user_id().as_str() == t.buyer_id {
        return Ok(());
    }
    who.require_member(&OrgId::from_string(t.org_id.clone()))
        .map(|_| ())
}

/// A ticket the viewer may see.
pub async fn ticket(
    state: &AppState,
    who: &Identity,
    id: &str,
) -> Result<TicketRecord, ServiceError> {
    who.require_user()?;
    let t = state
        .store
        .ticket(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    may_see(who, &t)?;
    Ok(t)
}

/// The tickets of an order the viewer may see (its buyer, the organizer,
/// admins).
pub async fn tickets_of_order(
    state: &AppState,
    who: &Identity,
    id: &OrderId,
) -> Result<Vec<TicketRecord>, ServiceError> {
    let viewer = who.require_user()?;
    let order = state.store.order(id).await?.ok_or(ServiceError::NotFound)?;
    if order.user_id != viewer.user_id() {
        let event = state
            .store
            .event(&order.event_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        who.require_member(&OrgId::from_string(event.org_id))?;
    }
    Ok(state.store.tickets_of_order(id).await?)
}

/// The signed-in buyer's tickets.
pub async fn my_tickets(
    state: &AppState,
    who: &Identity,
) -> Result<Vec<TicketRecord>, ServiceError> {
    let viewer = who.require_user()?;
    Ok(state.store.tickets_of_buyer(&viewer.user_id()).await?)
}

/// A ticket's PDF: the stored one, or printed now if it is not stored yet.
pub async fn ticket_pdf(
    state: &AppState,
    who: &Identity,
    id: &str,
) -> Result<(TicketRecord, Vec<u8>), ServiceError> {
    let t = ticket(state, who, id).await?;
    if t.status != "valid" {
        return Err(ServiceError::Conflict(
            "This ticket is no longer valid, so it cannot be printed.".into(),
        ));
    }
    if let Some(key) = &t.pdf_key
        && let Some(bytes) = state.files.get(key).await.map_err(ServiceError::Internal)?
    {
        return Ok((t, bytes));
    }
    let doc = document(&t, Lang::En).map_err(ServiceError::Internal)?;
    let pdf = tokio::task::spawn_blocking(move || render::ticket_pdf(&doc))
        .await
        .map_err(|e| ServiceError::Internal(e.into()))?;
    Ok((t, pdf))
}

/// A ticket's calendar entry.
pub async fn ticket_ics(
    state: &AppState,
    who: &Identity,
    id: &str,
) -> Result<String, ServiceError> {
    let t = ticket(state, who, id).await?;
    Ok(render::ticket_ics(&calendar_entry(state, &t, &t.id)))
}

/// A ticket's QR code as SVG (for the tickets page).
pub fn qr_svg(t: &TicketRecord) -> String {
    TicketCode::parse(&t.code)
        .map(|c| render::ticket_qr_svg(&c))
        .unwrap_or_default()
}

/// A ticket as "My tickets" and the REST API show it.
pub fn view(t: &TicketRecord, lang: Lang) -> TicketView {
    TicketView {
        id: t.id.clone(),
        order_id: t.order_id.clone(),
        order_number: order_number(&t.order_id),
        event_title: t.event_title.clone(),
        event_when: format::when(Timestamp::from_millis(t.starts_at), &t.time_zone, lang),
        venue: t.venue.clone(),
        attendee: t.attendee_name.clone(),
        tier: t.tier_name.clone(),
        seat: t.seat_label.clone(),
        reference: t.reference.clone(),
        status: t.status.clone(),
        revoked_reason: t.revoked_reason.clone(),
        qr_svg: if t.status == "valid" {
            qr_svg(t)
        } else {
            String::new()
        },
        code: if t.status == "valid" {
            t.code.clone()
        } else {
            String::new()
        },
    }
}

/// An id fit for a URL path (letters, digits and dashes only).
pub fn safe_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// The organizer (or an admin) refunds a paid order in full: its tickets are
/// revoked at once (the door refuses them), the buyer is told, and the money
/// goes back through the outbox (one refund per payment, by its key). A free
/// order has nothing to pay back; its tickets are revoked all the same.
#[tracing::instrument(skip(state, who))]
pub async fn refund_order(
    state: &AppState,
    who: &Identity,
    id: &OrderId,
) -> Result<(), ServiceError> {
    let order = state.store.order(id).await?.ok_or(ServiceError::NotFound)?;
    let event = state
        .store
        .event(&order.event_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    who.require_owner(&OrgId::from_string(event.org_id.clone()))?;
    if order.status != crate::domain::OrderStatus::Paid {
        return Err(ServiceError::Conflict(
            "Only a paid order can be refunded.".into(),
        ));
    }
    if order.refunded_at.is_some() {
        return Err(ServiceError::Conflict(
            "This order was already refunded.".into(),
        ));
    }
    let now = state.now();
    let total = order.total_minor.unwrap_or(0);
    let currency =
        crate::domain::Currency::parse(&order.currency).unwrap_or(crate::domain::Currency::IDR);
    let mut jobs = Vec::new();
    if let (Some(payment), true) = (&order.payment_ref, total > 0) {
        jobs.push(crate::services::payments::refund_job(
            &order, payment, total, now,
        ));
    }
    if let Some(buyer) = state.store.account(&order.user_id).await? {
        let mut notice = mail::job(
            &buyer.email,
            Lang::En,
            mail::Template::OrderRefunded,
            json!({"event": order.event_title,
                "total": crate::domain::Money::from_minor(total, currency).format(Lang::En)}),
            now,
        );
        notice.dedupe_key = Some(format!("order-refunded:{id}"));
        jobs.push(notice);
    }
    if !state.store.refund_order(id, jobs, now).await? {
        return Err(ServiceError::Conflict(
            "This order was already refunded.".into(),
        ));
    }
    tracing::info!(order = %id, "order refunded by the organizer");
    Ok(())
}

/// The organizer (or an admin) re-issues a ticket: a new code is signed for
/// the same attendee and unit, the old one is revoked (the door refuses it),
/// and the attendee gets the new ticket by email.
#[tracing::instrument(skip(state, who))]
pub async fn reissue(
    state: &AppState,
    who: &Identity,
    ticket_id: &str,
) -> Result<TicketView, ServiceError> {
    let old = state
        .store
        .ticket(ticket_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    who.require_owner(&OrgId::from_string(old.org_id.clone()))?;
    if old.status != "valid" {
        return Err(ServiceError::Conflict(
            "Only a valid ticket can be re-issued.".into(),
        ));
    }
    let order_id = OrderId::from_string(old.order_id.clone());
    let order = state
        .store
        .order(&order_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let item = order
        .items
        .iter()
        .find(|i| i.id == old.order_item_id)
        .ok_or(ServiceError::NotFound)?;
    let key = signing_key(state, &order.event_id)
        .await
        .map_err(ServiceError::Internal)?;
    let fresh = new_ticket(
        &key,
        &order,
        item,
        (&old.attendee_name, &old.attendee_email),
    )
    .map_err(ServiceError::Internal)?;
    let now = state.now();
    let issued = state
        .store
        .reissue_ticket(&old.id, fresh, Vec::new(), now)
        .await?;
    store_pdfs(state, std::slice::from_ref(&issued), Lang::En)
        .await
        .map_err(ServiceError::Internal)?;
    let mut email = mail::job(
        &issued.attendee_email,
        Lang::En,
        mail::Template::TicketReissued,
        json!({"name": issued.attendee_name, "event": issued.event_title,
            "when": format::when(Timestamp::from_millis(issued.starts_at), &issued.time_zone, Lang::En)}),
        now,
    );
    email.dedupe_key = Some(format!("ticket-reissued:{}", issued.id));
    set_attachments(&mut email, attachments(state, &[&issued], &issued.id));
    state.store.enqueue_job(email, now).await?;
    tracing::info!(old = %old.id, new = %issued.id, "ticket re-issued");
    Ok(view(&issued, Lang::En))
}

/// Open tasks for platform admins (e.g. tickets that could not be issued).
pub async fn open_tasks(
    state: &AppState,
    who: &Identity,
) -> Result<Vec<crate::store::tickets::AdminTask>, ServiceError> {
    who.require_admin()?;
    Ok(state.store.open_admin_tasks().await?)
}
