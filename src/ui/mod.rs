//! Pages, shared components and islands. Everything is a server-rendered
//! `#[component]` unless it must react in the browser (`islands`).

pub mod account_pages;
pub mod components;
pub mod islands;
pub mod order_pages;
pub mod organizer_pages;
pub mod pages;
pub mod security_pages;
pub mod ticket_pages;

use std::collections::HashMap;

use crate::{domain::money::Lang, i18n::Locale};

/// What the event page's forms posted (quantities, seats, a refusal), in
/// context while the server renders the page again.
#[derive(Clone, Debug, Default)]
pub struct EventForm {
    /// Quantities by tier id.
    pub picked: HashMap<String, u32>,
    /// Seats ticked on the map.
    pub seats: Vec<String>,
    /// Why the hold was not taken.
    pub error: Option<String>,
    /// The inline passwordless sign-in of a buyer who is not signed in.
    pub sign_in: InlineSignIn,
}

/// The event page's inline sign-in, as posted.
#[derive(Clone, Debug, Default)]
pub struct InlineSignIn {
    /// The address the code went to.
    pub email: String,
    /// A code was asked for: show the code field.
    pub sent: bool,
    /// Why signing in did not work.
    pub error: Option<String>,
}

/// The domain's language for an i18n locale.
pub fn lang_of(locale: Locale) -> Lang {
    match locale {
        Locale::en => Lang::En,
        Locale::id => Lang::Id,
    }
}

/// A `<title>` text for untrusted content. leptos_meta writes titles into the
/// document head verbatim, so a title such as `</title><script>` would break
/// out of the element; escaping `&`, `<` and `>` keeps it inert text (the
/// browser shows the characters as typed).
pub fn page_title(name: &str) -> String {
    format!("{} — admit", rcdata(name))
}

/// Text for the inside of `<title>` or `<textarea>` (raw-text elements that
/// Leptos writes unescaped): `&`, `<` and `>` become entities, so content such
/// as `</textarea><script>` stays text. Browsers decode the entities back, so
/// the person sees and submits exactly what was stored.
pub fn rcdata(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
