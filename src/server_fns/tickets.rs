//! Tickets and the door: "My tickets", the scanner (its setup and scans, for
//! the scanner island and for plain forms), the door dashboard, and the
//! organizer's undo, refund and re-issue buttons.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::accounts::ssr;
use super::views::{DoorView, ScanEvent, ScanInput, ScanView, ScannerSetup, TicketView};
use crate::domain::money::Lang;

#[cfg(feature = "ssr")]
fn event_id(id: &str) -> Result<crate::domain::EventId, crate::error::ServiceError> {
    crate::domain::EventId::parse(id).ok_or(crate::error::ServiceError::NotFound)
}

/// The signed-in buyer's tickets.
#[server(prefix = "/_fn", endpoint = "tickets/mine")]
pub async fn my_tickets(lang: Lang) -> Result<Vec<TicketView>, ServerFnError> {
    let c = ssr::ctx().await?;
    crate::services::tickets::my_tickets(&c.state, &c.who)
        .await
        .map(|list| {
            list.iter()
                .map(|t| crate::services::tickets::view(t, lang))
                .collect()
        })
        .map_err(ssr::load_error)
}

/// The events the viewer may scan for.
#[server(prefix = "/_fn", endpoint = "door/events")]
pub async fn scan_events(lang: Lang) -> Result<Vec<ScanEvent>, ServerFnError> {
    let c = ssr::ctx().await?;
    crate::services::door::scan_events(&c.state, &c.who, lang)
        .await
        .map_err(ssr::load_error)
}

/// What a scanner needs to verify an event's tickets offline (the scanner
/// island refreshes it while online).
#[server(prefix = "/_fn", endpoint = "door/setup")]
pub async fn scanner_data(event_id: String) -> Result<ScannerSetup, ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        crate::services::door::scanner_setup(&c.state, &c.who, &self::event_id(&event_id)?).await
    };
    result.await.map_err(ssr::load_error)
}

/// One scan, from the scanner island (camera, typed code, or an offline
/// scan uploaded later).
#[server(prefix = "/_fn", endpoint = "door/scan")]
pub async fn scan_ticket(input: ScanInput, lang: Lang) -> Result<ScanView, ServerFnError> {
    let c = ssr::ctx().await?;
    crate::services::door::scan(&c.state, &c.who, &input, lang)
        .await
        .map_err(ssr::load_error)
}

/// The typed-code form of the scan page (works without WASM): back to the
/// page, which shows the answer of this scan (its nonce).
#[server(prefix = "/_fn", endpoint = "door/scan_form")]
pub async fn scan_form(event_id: String, gate: String, code: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let nonce = crate::store::new_id();
    let input = ScanInput {
        code,
        event_id: event_id.clone(),
        gate: gate.clone(),
        device: Some("web form".into()),
        nonce: Some(nonce.clone()),
        scanned_at_ms: None,
        offline: false,
    };
    let back = scan_page(&event_id, &gate, None);
    let result = crate::services::door::scan(&c.state, &c.who, &input, Lang::En).await;
    ssr::finish(result, &scan_page(&event_id, &gate, Some(&nonce)), &back)
}

/// "Check in" next to a ticket found by name or order number.
#[server(prefix = "/_fn", endpoint = "door/check_in")]
pub async fn check_in_form(
    ticket_id: String,
    event_id: String,
    gate: String,
) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let nonce = crate::store::new_id();
    let input = ScanInput {
        code: String::new(),
        event_id: event_id.clone(),
        gate: gate.clone(),
        device: Some("web form".into()),
        nonce: Some(nonce.clone()),
        scanned_at_ms: None,
        offline: false,
    };
    let back = scan_page(&event_id, &gate, None);
    let result =
        crate::services::door::check_in(&c.state, &c.who, &ticket_id, &input, Lang::En).await;
    ssr::finish(result, &scan_page(&event_id, &gate, Some(&nonce)), &back)
}

/// The answer of a scan made from a form, by its nonce (the scan page shows
/// it after the redirect).
#[server(prefix = "/_fn", endpoint = "door/last_scan")]
pub async fn last_scan(
    event_id: String,
    nonce: String,
    lang: Lang,
) -> Result<Option<ScanView>, ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        crate::services::door::scan_answer(
            &c.state,
            &c.who,
            &self::event_id(&event_id)?,
            &nonce,
            lang,
        )
        .await
    };
    result.await.map_err(ssr::load_error)
}

/// Tickets of an event found by attendee name, order number or reference.
#[server(prefix = "/_fn", endpoint = "door/search")]
pub async fn search_tickets(
    event_id: String,
    query: String,
    lang: Lang,
) -> Result<Vec<TicketView>, ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        crate::services::door::search(&c.state, &c.who, &self::event_id(&event_id)?, &query).await
    };
    result
        .await
        .map(|list| {
            list.iter()
                .map(|t| {
                    let mut v = crate::services::tickets::view(t, lang);
                    v.qr_svg.clear();
                    v
                })
                .collect()
        })
        .map_err(ssr::load_error)
}

/// The door dashboard (the page polls it).
#[server(prefix = "/_fn", endpoint = "door/dashboard")]
pub async fn door_dashboard(event_id: String, lang: Lang) -> Result<DoorView, ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        crate::services::door::dashboard(&c.state, &c.who, &self::event_id(&event_id)?, lang).await
    };
    result.await.map_err(ssr::load_error)
}

/// The organizer undoes a mistaken check-in.
#[server(prefix = "/_fn", endpoint = "door/undo")]
pub async fn undo_check_in(
    ticket_id: String,
    event_id: String,
    reason: String,
) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!(
        "/organizer/events/{}/door",
        crate::services::tickets::safe_id(&event_id)
    );
    let result = crate::services::door::undo_check_in(&c.state, &c.who, &ticket_id, &reason).await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// The organizer refunds a paid order: its tickets stop admitting anyone and
/// the money goes back.
#[server(prefix = "/_fn", endpoint = "orders/refund")]
pub async fn refund_order(order_id: String, back: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        let id =
            crate::domain::OrderId::parse(&order_id).ok_or(crate::error::ServiceError::NotFound)?;
        crate::services::tickets::refund_order(&c.state, &c.who, &id).await
    };
    ssr::finish(
        result.await,
        &ssr::with_param(&back, "notice", "saved"),
        &back,
    )
}

/// The organizer re-issues a ticket (a new code; the old one is refused).
#[server(prefix = "/_fn", endpoint = "tickets/reissue")]
pub async fn reissue_ticket(ticket_id: String, back: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = crate::services::tickets::reissue(&c.state, &c.who, &ticket_id).await;
    ssr::finish(result, &ssr::with_param(&back, "notice", "saved"), &back)
}

/// Open tasks for admins: (kind, subject, detail).
#[server(prefix = "/_fn", endpoint = "admin/tasks")]
pub async fn admin_tasks() -> Result<Vec<(String, String, String)>, ServerFnError> {
    let c = ssr::ctx().await?;
    crate::services::tickets::open_tasks(&c.state, &c.who)
        .await
        .map(|list| {
            list.into_iter()
                .map(|t| (t.kind, t.subject, t.detail))
                .collect()
        })
        .map_err(ssr::load_error)
}

/// The scan page of an event and gate (with the answer of a scan).
pub fn scan_page(event_id: &str, gate: &str, nonce: Option<&str>) -> String {
    let mut q = vec![("event", event_id), ("gate", gate)];
    if let Some(n) = nonce {
        q.push(("scan", n));
    }
    format!(
        "/scan?{}",
        serde_urlencoded::to_string(q).unwrap_or_default()
    )
}
