//! View models sent from the server to pages and islands. Plain data, already
//! formatted for the viewer's language and the event's time zone (dates are
//! formatted on the server so the wasm bundle carries no time-zone database).

use serde::{Deserialize, Serialize};

use crate::domain::{Currency, money::Lang};

/// One event in a listing.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EventCardView {
    /// URL handle.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Category value (`music`, …).
    pub category: String,
    /// Venue.
    pub venue: String,
    /// City.
    pub city: String,
    /// Start, in the event's zone with its label.
    pub when: String,
    /// "from" price, formatted; `None` when nothing is on sale.
    pub from_price: Option<String>,
    /// All tiers free.
    pub free: bool,
}

/// A page of events.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EventListView {
    /// The events.
    pub items: Vec<EventCardView>,
    /// 1-based page number.
    pub page: u32,
    /// Number of pages (at least 1).
    pub pages: u32,
    /// Matching events.
    pub total: i64,
}

/// A tier as buyers see it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TierView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Price in minor units.
    pub price_minor: i64,
    /// Price, formatted.
    pub price_label: String,
    /// Units left (never negative).
    pub available: i64,
    /// The most one order can take now (0 when sold out or closed).
    pub max_pickable: u32,
    /// Nothing left.
    pub sold_out: bool,
    /// Inside its sale window.
    pub on_sale: bool,
    /// Sold by seat on the map, not by quantity.
    pub seated: bool,
}

/// Everything the event page shows.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EventPageView {
    /// Id.
    pub id: String,
    /// URL handle.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Organizer's name.
    pub organizer: String,
    /// Description, rendered from Markdown and sanitized on the server.
    pub description_html: String,
    /// Terms and conditions, rendered from Markdown and sanitized.
    pub terms_html: String,
    /// Refund rules as (days before, percent), earliest first; empty: no refunds.
    pub refund_rules: Vec<(u32, u8)>,
    /// Category value.
    pub category: String,
    /// Venue.
    pub venue: String,
    /// Street address.
    pub address: String,
    /// City.
    pub city: String,
    /// Start, in the event's zone with its label.
    pub when: String,
    /// End, in the event's zone with its label.
    pub until: String,
    /// IANA zone.
    pub time_zone: String,
    /// Currency of every price.
    pub currency: Currency,
    /// The viewer's language (decides number formats in the island).
    pub lang: Lang,
    /// Visible tiers (hidden ones only when a code unlocked them).
    pub tiers: Vec<TierView>,
    /// The seat map (empty for general admission).
    pub seats: SeatMapView,
    /// Banner image URL prefix (`/media/banners/…`), if any; append
    /// `-400.jpg`, `-800.jpg` or `-1600.jpg`.
    pub banner: Option<String>,
    /// The code that was applied, upper-case.
    pub code: Option<String>,
    /// Why a typed code did not work.
    pub code_error: Option<String>,
}

/// The signed-in person, as pages show it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MeView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Email confirmed.
    pub verified: bool,
    /// Platform admin.
    pub is_admin: bool,
    /// Memberships.
    pub memberships: Vec<MembershipView>,
    /// Phone number (empty when none).
    pub phone: String,
    /// `en` or `id`.
    pub language: String,
    /// A profile photo is set.
    pub has_photo: bool,
    /// The account has a password.
    pub has_password: bool,
}

/// An organization's API key, as the dashboard lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ApiKeyView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// First characters of the key.
    pub prefix: String,
    /// `read` or `read_write`.
    pub scope: String,
    /// Created, formatted.
    pub created: String,
    /// Last used, formatted (empty: never).
    pub last_used: String,
    /// Revoked.
    pub revoked: bool,
}

/// An organization's keys, and a key just created (shown this once).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ApiKeysView {
    /// Keys, newest first.
    pub keys: Vec<ApiKeyView>,
    /// The secret of the key created just before, once.
    pub new_secret: Option<String>,
}

/// One audit entry on the admin page.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditRowView {
    /// When, formatted (UTC).
    pub at: String,
    /// Action.
    pub action: String,
    /// Who (email or id; empty: anonymous).
    pub actor: String,
    /// About whom.
    pub subject: String,
    /// Organization id.
    pub org: String,
    /// Client address.
    pub ip: String,
    /// Details (JSON).
    pub detail: String,
}

/// A page of the audit log.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditPageView {
    /// Entries, newest first.
    pub items: Vec<AuditRowView>,
    /// Matching entries.
    pub total: i64,
    /// 1-based page.
    pub page: u32,
    /// Pages.
    pub pages: u32,
    /// Every action, for the filter.
    pub actions: Vec<String>,
}

/// A membership as pages show it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MembershipView {
    /// Organization id.
    pub org_id: String,
    /// Organization name.
    pub org_name: String,
    /// `pending`, `approved`, `rejected`.
    pub status: String,
    /// `owner` or `staff`.
    pub role: String,
}

/// One organization on the organizer dashboard.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DashboardOrgView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `owner` or `staff` (admins see every organization as owner would).
    pub role: String,
    /// Its events: (id, title, status, when).
    pub events: Vec<DashboardEventView>,
}

/// An event on the dashboard.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DashboardEventView {
    /// Id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Status.
    pub status: String,
    /// Start, formatted.
    pub when: String,
    /// Units sold across its quotas.
    pub sold: i64,
    /// Units in its quotas.
    pub capacity: i64,
}

/// A pending application, for admins.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ApplicationView {
    /// Organization id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Contact.
    pub contact_email: String,
    /// Description.
    pub description: String,
}

/// A user row for admins.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AdminUserView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Verified.
    pub verified: bool,
    /// Admin.
    pub is_admin: bool,
    /// Suspended.
    pub suspended: bool,
    /// Memberships (only on the detail page).
    pub memberships: Vec<MembershipView>,
}

/// A page of users for admins.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AdminUsersView {
    /// Users.
    pub items: Vec<AdminUserView>,
    /// Matching users.
    pub total: i64,
}

/// An invitation as the invitee sees it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InvitationView {
    /// Organization name.
    pub org_name: String,
    /// The invited email.
    pub email: String,
}

/// What a visitor can search by (all optional); from the `/events` form,
/// the REST query string or a server function.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub struct SearchParams {
    /// Keywords.
    #[serde(default)]
    pub q: String,
    /// Category value.
    #[serde(default)]
    pub category: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// First day, `YYYY-MM-DD` (UTC).
    #[serde(default)]
    pub from: String,
    /// Last day, `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    pub to: String,
    /// Lowest price at least, in minor units.
    #[serde(default)]
    pub min_price: String,
    /// Lowest price at most, in minor units.
    #[serde(default)]
    pub max_price: String,
    /// Only free events (`1`/`on`/`true`).
    #[serde(default)]
    pub free: String,
    /// `date` (default) or `price`.
    #[serde(default)]
    pub sort: String,
    /// 1-based page.
    #[serde(default)]
    pub page: String,
}

/// An event as typed into the form or sent to the API. Times are local to
/// `time_zone`, as `YYYY-MM-DDTHH:MM` (what `<input type=datetime-local>` sends).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventInput {
    /// Title.
    pub title: String,
    /// Markdown description.
    #[serde(default)]
    pub description: String,
    /// Category value (`music`, `conference`, …).
    pub category: String,
    /// Venue.
    pub venue: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// City.
    pub city: String,
    /// Local start.
    pub starts_at: String,
    /// Local end.
    pub ends_at: String,
    /// IANA zone, e.g. `Asia/Jakarta`.
    pub time_zone: String,
    /// ISO currency.
    pub currency: String,
    /// Terms and conditions.
    #[serde(default)]
    pub terms: String,
    /// Refund rules, `days:percent,…`.
    #[serde(default)]
    pub refund_policy: String,
}

/// A tier as typed into the form or sent to the API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TierInput {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Price in minor units (0: free).
    #[serde(deserialize_with = "num")]
    pub price_minor: i64,
    /// Per-order limit (default 10).
    #[serde(default, deserialize_with = "opt_num")]
    pub max_per_order: Option<u32>,
    /// Local sale start (optional).
    #[serde(default)]
    pub sale_starts_at: Option<String>,
    /// Local sale end (optional).
    #[serde(default)]
    pub sale_ends_at: Option<String>,
    /// Hidden behind an access code.
    #[serde(default, deserialize_with = "checkbox")]
    pub hidden: bool,
    /// Early-bird price (optional).
    #[serde(default, deserialize_with = "opt_num")]
    pub early_bird_price_minor: Option<i64>,
    /// Local end of the early-bird price.
    #[serde(default)]
    pub early_bird_until: Option<String>,
    /// Quotas the tier draws on.
    #[serde(default)]
    pub quota_ids: Vec<String>,
}

/// A code as typed into the form or sent to the API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CodeInput {
    /// The code buyers type (3–32 letters, digits, `-`, `_`).
    pub code: String,
    /// `none` (unlock only), `percent` or `fixed`.
    #[serde(default)]
    pub discount_kind: String,
    /// Percent (1–100) or an amount in minor units.
    #[serde(default, deserialize_with = "num")]
    pub discount_value: i64,
    /// Tiers the discount applies to; empty for every tier.
    #[serde(default)]
    pub tier_ids: Vec<String>,
    /// Hidden tiers the code reveals.
    #[serde(default)]
    pub unlock_tier_ids: Vec<String>,
    /// Total uses allowed.
    #[serde(default, deserialize_with = "opt_num")]
    pub max_uses: Option<i64>,
    /// Uses per buyer allowed.
    #[serde(default, deserialize_with = "opt_num")]
    pub max_uses_per_user: Option<i64>,
    /// Local start of validity.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// Local end of validity.
    #[serde(default)]
    pub valid_until: Option<String>,
}

/// Reads an optional number sent as a JSON number, a string, or an empty
/// form field (which means "none").
pub fn opt_num<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr + serde::Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N<T> {
        Num(T),
        Str(String),
    }
    match Option::<N<T>>::deserialize(d)? {
        None => Ok(None),
        Some(N::Num(n)) => Ok(Some(n)),
        Some(N::Str(s)) if s.trim().is_empty() => Ok(None),
        Some(N::Str(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a number"))),
    }
}

/// Reads a number sent as a JSON number or a (form) string.
pub fn num<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr + serde::Deserialize<'de> + Default,
{
    opt_num(d).map(Option::unwrap_or_default)
}

/// Reads a checkbox: `true`, `on` or `1` are true; absent is false.
pub fn checkbox<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Str(String),
    }
    Ok(match Option::<B>::deserialize(d)? {
        None => false,
        Some(B::Bool(b)) => b,
        Some(B::Str(s)) => matches!(s.as_str(), "true" | "on" | "1"),
    })
}

/// An event as its organizers manage it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EventManageView {
    /// Id.
    pub id: String,
    /// Owning organization.
    pub org_id: String,
    /// URL handle.
    pub slug: String,
    /// `draft`, `published`, `cancelled`.
    pub status: String,
    /// The form's current values (times local to the event's zone).
    pub input: EventInput,
    /// Quotas: (id, name, size, sold, held).
    pub quotas: Vec<(String, String, i64, i64, i64)>,
    /// Tiers: (id, name, price minor, hidden, quota names, sold, capacity).
    pub tiers: Vec<(String, String, i64, bool, String, i64, i64)>,
    /// Codes: (id, code, summary, uses).
    pub codes: Vec<(String, String, String, i64)>,
    /// The seat map.
    pub seats: SeatMapView,
}

/// A seat as the map shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeatView {
    /// Id.
    pub id: String,
    /// Number in the row.
    pub number: i64,
    /// `standard`, `wheelchair` or `companion`.
    pub kind: String,
    /// `available`, `held`, `sold` or `blocked`.
    pub status: String,
    /// Tier name it sells as.
    pub tier: String,
}

/// A row of seats.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeatRowView {
    /// Row label.
    pub label: String,
    /// Seats, in order.
    pub seats: Vec<SeatView>,
}

/// A section of the map.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeatSectionView {
    /// Section name.
    pub name: String,
    /// Rows, in order.
    pub rows: Vec<SeatRowView>,
}

/// An event's seat map with each seat's status.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SeatMapView {
    /// Sections, in order.
    pub sections: Vec<SeatSectionView>,
    /// Seats in all.
    pub total: usize,
}

/// One ticket unit of an order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderItemView {
    /// Tier name.
    pub tier: String,
    /// Seat label ("Stalls A12"), for seated tickets.
    pub seat: Option<String>,
    /// Unit price at hold time, minor units.
    pub price_minor: i64,
    /// Unit price, formatted.
    pub price_label: String,
    /// Ticket holder, once checkout asked for it.
    pub attendee_name: Option<String>,
    /// Ticket holder's email.
    pub attendee_email: Option<String>,
}

/// An order (a hold while `reserved`), as its buyer sees it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderView {
    /// Id.
    pub id: String,
    /// Event title.
    pub event_title: String,
    /// Event URL handle.
    pub event_slug: String,
    /// Event start, in its zone.
    pub event_when: String,
    /// `reserved`, `pending_payment`, `paid`, `expired` or `cancelled`, as of
    /// now: a hold past its end reads `expired` at once.
    pub status: String,
    /// When the hold ends (unix ms); meaningful while `reserved`.
    pub expires_at_ms: i64,
    /// Milliseconds left on the hold by the server's clock (0 once over).
    pub remaining_ms: i64,
    /// ISO currency.
    pub currency: String,
    /// Units.
    pub items: Vec<OrderItemView>,
    /// Sum of unit prices, minor units.
    pub subtotal_minor: i64,
    /// Sum, formatted.
    pub subtotal_label: String,
    /// The code's discount, minor units.
    pub discount_minor: i64,
    /// Discount, formatted.
    pub discount_label: String,
    /// The platform fee (5 % of each ticket's discounted price plus a fixed
    /// part per paid ticket), minor units.
    pub fee_minor: i64,
    /// Fee, formatted.
    pub fee_label: String,
    /// What the buyer pays, minor units.
    pub total_minor: i64,
    /// Total, formatted.
    pub total_label: String,
    /// The code used.
    pub code: Option<String>,
    /// Where the buyer pays, once payment has started.
    pub payment_url: Option<String>,
    /// When it was created, in the event's zone.
    pub created: String,
}

/// The live state of a hold, polled by the countdown island.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HoldStatusView {
    /// The order's status as of now (see [`OrderView::status`]).
    pub status: String,
    /// Milliseconds left by the server's clock.
    pub remaining_ms: i64,
}

/// Which seats of an event are taken right now, polled by the seat picker.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SeatStatusView {
    /// Seats held by an open hold.
    pub held: Vec<String>,
    /// Seats sold.
    pub sold: Vec<String>,
    /// Of those, the ones held by the viewer's own open hold.
    pub mine: Vec<String>,
}

/// Who one ticket is for.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttendeeInput {
    /// Full name, as it will be printed on the ticket.
    pub name: String,
    /// Where the ticket is sent.
    pub email: String,
}

/// The details step: one attendee per ticket, in the order's item order.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CheckoutInput {
    /// One per ticket (none when resuming a payment that already started).
    #[serde(default)]
    pub attendees: Vec<AttendeeInput>,
}

/// What the simulated gateway's page shows.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SimulatedSession {
    /// The order.
    pub order_id: String,
    /// The event.
    pub event_title: String,
    /// What is charged, formatted.
    pub total_label: String,
}

/// A scan as a scanner sends it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ScanInput {
    /// The QR payload, or the short reference printed under it.
    pub code: String,
    /// The event this door is for.
    pub event_id: String,
    /// Gate name ("B", "VIP entrance").
    pub gate: String,
    /// The scanning device (a name the scanner picks once).
    #[serde(default)]
    pub device: Option<String>,
    /// A fresh random id per scan: a retried upload of the same scan is
    /// answered the same and counted once.
    #[serde(default)]
    pub nonce: Option<String>,
    /// When the scan happened (UTC ms), for scans made offline.
    #[serde(default)]
    pub scanned_at_ms: Option<i64>,
    /// Made offline and uploaded now.
    #[serde(default)]
    pub offline: bool,
}

/// The door's answer, ready to show big.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ScanView {
    /// `valid`, `already_used`, `wrong_event`, `revoked`, `forged`,
    /// `unknown` or `flagged`.
    pub result: String,
    /// One line for the screen ("Valid", "Already used at 19:42, gate B").
    pub headline: String,
    /// The ticket, when known.
    pub ticket_id: Option<String>,
    /// Attendee.
    pub attendee: Option<String>,
    /// Tier.
    pub tier: Option<String>,
    /// Seat.
    pub seat: Option<String>,
    /// For `already_used`: when (in the event's zone), gate, and by whom.
    pub used_at: Option<String>,
    /// Gate of the earlier admission.
    pub used_gate: Option<String>,
    /// Staff member of the earlier admission.
    pub used_by: Option<String>,
    /// A retried upload: the first answer, repeated.
    pub replayed: bool,
}

/// What a scanner needs to verify tickets offline.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ScannerSetup {
    /// The event.
    pub event_id: String,
    /// Its title.
    pub event_title: String,
    /// Its Ed25519 public key (base64url); none before any ticket is issued.
    pub public_key: Option<String>,
    /// Its tiers: (tier id, name), to name a verified ticket's tier.
    pub tiers: Vec<(String, String)>,
    /// Tickets that must be refused (refunded, cancelled, re-issued).
    pub revoked: Vec<String>,
    /// Tickets already admitted.
    pub admitted: Vec<String>,
}

/// An event the viewer may scan for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ScanEvent {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// When, in its zone.
    pub when: String,
}

/// A ticket as its holder sees it on "My tickets".
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TicketView {
    /// Id.
    pub id: String,
    /// The order.
    pub order_id: String,
    /// The order number people read.
    pub order_number: String,
    /// Event title.
    pub event_title: String,
    /// When, in the event's zone with its label.
    pub event_when: String,
    /// Venue.
    pub venue: String,
    /// Attendee.
    pub attendee: String,
    /// Tier.
    pub tier: String,
    /// Seat.
    pub seat: Option<String>,
    /// The short reference printed under the QR.
    pub reference: String,
    /// `valid` or `revoked`.
    pub status: String,
    /// Why it was revoked.
    pub revoked_reason: Option<String>,
    /// The QR code as SVG (made by admit from its own code: safe to inline).
    pub qr_svg: String,
    /// The text the QR code carries (empty once revoked), for apps that
    /// draw their own QR code or put it in a wallet pass.
    pub code: String,
}

/// The door dashboard of an event.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DoorView {
    /// The event.
    pub event_id: String,
    /// Its title.
    pub event_title: String,
    /// Valid tickets.
    pub total: i64,
    /// Checked in.
    pub checked_in: i64,
    /// Per tier: name, checked in, total.
    pub per_tier: Vec<(String, i64, i64)>,
    /// Per gate: name, checked in.
    pub per_gate: Vec<(String, i64)>,
    /// Flagged check-ins (admitted offline at two gates).
    pub conflicts: Vec<ConflictView>,
}

/// A flagged check-in.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConflictView {
    /// The ticket.
    pub ticket_id: String,
    /// Its attendee.
    pub attendee: String,
    /// Its reference.
    pub reference: String,
    /// The gate of the flagged admission.
    pub gate: String,
    /// When, in the event's zone.
    pub at: String,
}
