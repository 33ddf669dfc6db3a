//! The door scanner: a code (typed, or read by the camera) is verified in
//! the browser with the event's public key, the same `domain::ticket_code`
//! the server runs, and then checked in online. The answer fills the screen.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    domain::{
        EventId,
        ticket_code::{CodeError, EventPublicKey, TicketCode},
    },
    server_fns::views::{ScanInput, ScanView, ScannerSetup},
};

/// Translated labels.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ScannerLabels {
    /// "Type the code or its reference".
    pub manual: String,
    /// "Check".
    pub check: String,
    /// "Forged: this code is not a real ticket".
    pub forged: String,
    /// "Wrong event: this ticket is for another event".
    pub wrong_event: String,
    /// "Revoked: this ticket no longer admits anyone".
    pub revoked: String,
    /// "Already used here".
    pub already_used: String,
    /// "Could not reach the server; try again".
    pub unreachable: String,
}

/// What the scanner decides before (or without) the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LocalVerdict {
    /// Verified: this ticket id, for the server to check in.
    Verified(String),
    /// A typed reference: only the server can look it up.
    Reference,
    /// Refused here: the result name (`forged`, `wrong_event`, `revoked`,
    /// `already_used`).
    Refused(&'static str),
}

/// Decides a code locally with the event's key, revocation list and the
/// admissions the scanner knows of.
pub fn verdict(setup: &ScannerSetup, admitted: &[String], text: &str) -> LocalVerdict {
    let text = text.trim();
    if crate::domain::ticket_code::TicketReference::parse(text).is_some() && text.len() <= 16 {
        return LocalVerdict::Reference;
    }
    let Ok(code) = TicketCode::parse(text) else {
        return LocalVerdict::Refused("forged");
    };
    let Some(key) = setup
        .public_key
        .as_deref()
        .and_then(|k| EventPublicKey::parse(k).ok())
    else {
        return LocalVerdict::Refused("forged");
    };
    let event = EventId::from_string(setup.event_id.clone());
    match code.verify_for_event(&event, &key) {
        Ok(t) => {
            let id = t.ticket_id();
            if setup.revoked.contains(&id) {
                LocalVerdict::Refused("revoked")
            } else if admitted.contains(&id) {
                LocalVerdict::Refused("already_used")
            } else {
                LocalVerdict::Verified(id)
            }
        }
        Err(CodeError::WrongEvent) => LocalVerdict::Refused("wrong_event"),
        Err(_) => LocalVerdict::Refused("forged"),
    }
}

/// A random nonce for one scan.
fn nonce() -> String {
    #[cfg(feature = "hydrate")]
    {
        let a = (js_sys_random() * 1e15) as u64;
        let b = (js_sys_random() * 1e15) as u64;
        format!("s{a:x}{b:x}")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::from("server-rendered")
    }
}

#[cfg(feature = "hydrate")]
fn js_sys_random() -> f64 {
    #[wasm_bindgen::prelude::wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = Math)]
        fn random() -> f64;
    }
    random()
}

/// The scanner of one event at one gate.
#[island]
pub fn Scanner(setup: ScannerSetup, gate: String, labels: ScannerLabels) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let answer = RwSignal::new(None::<(String, String)>);
    let admitted = RwSignal::new(setup.admitted.clone());
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let setup = StoredValue::new(setup);
    let labels = StoredValue::new(labels);
    let gate = StoredValue::new(gate);
    let check = move || {
        let text = code.get_untracked();
        let local = setup.with_value(|s| admitted.with_untracked(|a| verdict(s, a, &text)));
        let refused = |name: &'static str| {
            let l = labels.get_value();
            let line = match name {
                "revoked" => l.revoked,
                "already_used" => l.already_used,
                "wrong_event" => l.wrong_event,
                _ => l.forged,
            };
            answer.set(Some((name.to_owned(), line)));
        };
        match local {
            LocalVerdict::Refused(name) => refused(name),
            LocalVerdict::Verified(_) | LocalVerdict::Reference => {
                let input = ScanInput {
                    code: text,
                    event_id: setup.with_value(|s| s.event_id.clone()),
                    gate: gate.get_value(),
                    device: Some("web scanner".into()),
                    nonce: Some(nonce()),
                    scanned_at_ms: None,
                    offline: false,
                };
                leptos::task::spawn_local(async move {
                    match crate::server_fns::tickets::scan_ticket(
                        input,
                        crate::domain::money::Lang::En,
                    )
                    .await
                    {
                        Ok(ScanView {
                            result,
                            headline,
                            ticket_id,
                            attendee,
                            tier,
                            seat,
                            ..
                        }) => {
                            if result == "valid"
                                && let Some(id) = ticket_id
                            {
                                admitted.update(|a| a.push(id));
                            }
                            let detail = [attendee, tier, seat]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" · ");
                            let line = if detail.is_empty() {
                                headline
                            } else {
                                format!("{headline} — {detail}")
                            };
                            answer.set(Some((result, line)));
                        }
                        Err(_) => {
                            answer.set(Some(("offline".into(), labels.get_value().unreachable)))
                        }
                    }
                });
            }
        }
    };
    view! {
        <div data-testid="scanner" data-hydrated=move || hydrated.get().then_some("true") class="space-y-4">
            {move || answer.get().map(|(result, line)| {
                let tone = match result.as_str() {
                    "valid" => "bg-emerald-600",
                    "already_used" | "flagged" => "bg-amber-500",
                    _ => "bg-red-700",
                };
                view! {
                    <div role="status" aria-live="assertive" data-testid="scan-result" data-result=result.clone()
                        class=format!("rounded-xl p-6 text-center text-2xl font-bold text-white {tone}")>
                        {line}
                    </div>
                }
            })}
            <form class="flex gap-2" on:submit=move |ev| { ev.prevent_default(); check(); }>
                <label class="sr-only" for="scan-code">{labels.with_value(|l| l.manual.clone())}</label>
                <input id="scan-code" data-testid="scan-code" class="min-w-0 flex-1 rounded border border-slate-300 px-3 py-3 text-lg"
                    autocomplete="off" autocapitalize="characters" placeholder=labels.with_value(|l| l.manual.clone())
                    prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev)) />
                <button type="submit" data-testid="scan-check" class="rounded bg-indigo-700 px-5 py-3 text-lg font-semibold text-white">
                    {labels.with_value(|l| l.check.clone())}
                </button>
            </form>
        </div>
    }
}
