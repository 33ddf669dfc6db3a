//! Tickets and the door: "My tickets" (QR, PDF, calendar), the scanner page
//! for door staff on a phone, and the door dashboard of an event.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::{Meta, Title};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{
    account_pages::{Flash, refusal},
    islands::scanner::{Scanner, ScannerLabels},
    lang_of,
};
use crate::{
    i18n::*,
    server_fns::{
        tickets::{
            CheckInForm, ScanForm, UndoCheckIn, admin_tasks, door_dashboard, last_scan, my_tickets,
            scan_events, scanner_data, search_tickets,
        },
        views::{ScanView, TicketView},
    },
};

const CARD: &str = "rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200";

/// `/tickets`: every ticket of the signed-in buyer, with its QR code.
#[component]
pub fn MyTicketsPage() -> impl IntoView {
    let i18n = use_i18n();
    let list = Resource::new(move || lang_of(i18n.get_locale()), my_tickets);
    view! {
        <Title text="My tickets — admit" />
        <h1 class="mb-4 text-2xl font-semibold">{t!(i18n, my_tickets)}</h1>
        <Suspense>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => refusal(&e),
                    Ok(list) if list.is_empty() => view! { <p data-testid="no-tickets" class="text-slate-600">{t!(i18n, no_tickets)}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="grid gap-4 sm:grid-cols-2">
                            {list.into_iter().map(|t| view! { <TicketCard ticket=t /> }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TicketCard(ticket: TicketView) -> impl IntoView {
    let i18n = use_i18n();
    let valid = ticket.status == "valid";
    view! {
        <li class=CARD data-testid="ticket" data-status=ticket.status.clone() data-ticket=ticket.id.clone()>
            <p class="text-sm text-slate-600">{ticket.event_when.clone()}</p>
            <h2 class="text-lg font-semibold">{ticket.event_title.clone()}</h2>
            <p class="text-sm">{ticket.venue.clone()}</p>
            <p class="mt-2 font-medium">{ticket.attendee.clone()}</p>
            <p class="text-sm">{ticket.tier.clone()}{ticket.seat.clone().map(|s| format!(" · {s}"))}</p>
            {if valid {
                view! {
                    // The SVG is made by admit from its own code: no user text.
                    <div class="mx-auto mt-3 w-56 max-w-full" data-testid="ticket-qr" inner_html=ticket.qr_svg.clone()></div>
                    <p class="text-center font-mono text-sm" data-testid="ticket-reference">{ticket.reference.clone()}</p>
                    <p class="mt-3 flex flex-wrap gap-3 text-sm">
                        <a data-testid="ticket-pdf" class="font-medium text-indigo-700" href=format!("/api/v1/user-ticket/{}/print", ticket.id)>{t!(i18n, download_pdf)}</a>
                        <a data-testid="ticket-ics" class="font-medium text-indigo-700" href=format!("/api/v1/user-ticket/{}/calendar", ticket.id)>{t!(i18n, add_to_calendar)}</a>
                    </p>
                }.into_any()
            } else {
                view! { <p role="note" class="mt-3 rounded bg-red-50 p-2 text-sm text-red-800">{t!(i18n, ticket_revoked)}</p> }.into_any()
            }}
            <p class="mt-2 text-xs text-slate-500">{format!("{} {}", t_string!(i18n, order_number), ticket.order_number)}</p>
        </li>
    }
}

/// The big answer of a scan.
#[component]
fn ScanAnswer(scan: ScanView) -> impl IntoView {
    let tone = match scan.result.as_str() {
        "valid" => "bg-emerald-600",
        "already_used" | "flagged" => "bg-amber-500",
        _ => "bg-red-700",
    };
    let detail = [scan.attendee.clone(), scan.tier.clone(), scan.seat.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let by = scan.used_by.clone();
    view! {
        <div role="status" data-testid="scan-answer" data-result=scan.result.clone()
            class=format!("rounded-xl p-6 text-center text-white {tone}")>
            <p class="text-2xl font-bold">{scan.headline.clone()}</p>
            {(!detail.is_empty()).then(|| view! { <p class="mt-2 text-lg">{detail}</p> })}
            {by.map(|b| view! { <p class="mt-1">{b}</p> })}
        </div>
    }
}

/// `/scan`: door staff pick an event and a gate, then scan (camera or typed
/// code) and find attendees by name or order number. Big type, big buttons:
/// it is used one-handed on a phone.
#[component]
pub fn ScanPage() -> impl IntoView {
    let query = use_query_map();
    let event = move || query.with(|q| q.get("event").unwrap_or_default());
    let gate = move || query.with(|q| q.get("gate").unwrap_or_default());
    view! {
        <Title text="Scan tickets — admit" />
        <Flash />
        {move || {
            if event().is_empty() || gate().trim().is_empty() {
                view! { <ChooseDoor /> }.into_any()
            } else {
                view! { <Door event=event() gate=gate() /> }.into_any()
            }
        }}
    }
}

#[component]
fn ChooseDoor() -> impl IntoView {
    let i18n = use_i18n();
    let events = Resource::new(move || lang_of(i18n.get_locale()), scan_events);
    view! {
        <h1 class="mb-4 text-2xl font-semibold">{t!(i18n, scan_title)}</h1>
        <Suspense>
            {move || Suspend::new(async move {
                match events.await {
                    Err(e) => refusal(&e),
                    Ok(list) if list.is_empty() => view! { <p data-testid="no-scan-events">{t!(i18n, no_scan_events)}</p> }.into_any(),
                    Ok(list) => view! {
                        <form method="get" action="/scan" class=format!("{CARD} space-y-4") data-testid="choose-door">
                            <label class="block text-lg">{t!(i18n, scan_event)}
                                <select name="event" class="mt-1 block w-full rounded border border-slate-300 p-3 text-lg" data-testid="scan-event">
                                    {list.into_iter().map(|e| view! { <option value=e.id.clone()>{format!("{} — {}", e.title, e.when)}</option> }).collect_view()}
                                </select>
                            </label>
                            <label class="block text-lg">{t!(i18n, scan_gate)}
                                <input name="gate" required maxlength="60" value="Main" class="mt-1 block w-full rounded border border-slate-300 p-3 text-lg" data-testid="scan-gate" />
                            </label>
                            <button type="submit" data-testid="open-scanner" class="w-full rounded bg-indigo-700 py-4 text-xl font-semibold text-white">{t!(i18n, open_scanner)}</button>
                        </form>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Door(event: String, gate: String) -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let setup = Resource::new(
        {
            let event = event.clone();
            move || event.clone()
        },
        scanner_data,
    );
    let nonce = move || query.with(|q| q.get("scan"));
    let search = move || query.with(|q| q.get("q")).filter(|q| !q.trim().is_empty());
    let last = Resource::new(
        {
            let event = event.clone();
            move || (event.clone(), nonce(), lang_of(i18n.get_locale()))
        },
        |(event, nonce, lang)| async move {
            match nonce {
                Some(n) => last_scan(event, n, lang).await,
                None => Ok(None),
            }
        },
    );
    let found = Resource::new(
        {
            let event = event.clone();
            move || (event.clone(), search(), lang_of(i18n.get_locale()))
        },
        |(event, q, lang)| async move {
            match q {
                Some(q) => search_tickets(event, q, lang).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let labels = move || ScannerLabels {
        manual: t_string!(i18n, scan_manual).to_string(),
        check: t_string!(i18n, scan_check).to_string(),
        forged: t_string!(i18n, scan_forged).to_string(),
        wrong_event: t_string!(i18n, scan_wrong_event).to_string(),
        revoked: t_string!(i18n, scan_revoked).to_string(),
        already_used: t_string!(i18n, scan_already_used).to_string(),
        unreachable: t_string!(i18n, scan_unreachable).to_string(),
        camera_start: t_string!(i18n, scan_camera_start).to_string(),
        camera_stop: t_string!(i18n, scan_camera_stop).to_string(),
        camera_unavailable: t_string!(i18n, scan_camera_unavailable).to_string(),
        next: t_string!(i18n, scan_next).to_string(),
        offline_valid: t_string!(i18n, scan_offline_valid).to_string(),
        offline_reference: t_string!(i18n, scan_offline_reference).to_string(),
        offline: t_string!(i18n, scan_offline).to_string(),
        queued: t_string!(i18n, scan_queued).to_string(),
    };
    let (ev, gt) = (StoredValue::new(event), StoredValue::new(gate));
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match setup.await {
                    Err(e) => refusal(&e),
                    Ok(s) => view! {
                        <div class="mx-auto max-w-md space-y-5" data-testid="door">
                            <header>
                                <h1 class="text-xl font-semibold">{s.event_title.clone()}</h1>
                                <p class="text-slate-600">{format!("{} {}", t_string!(i18n, scan_gate), gt.get_value())}
                                    " · " <a href="/scan" class="text-indigo-700">{t!(i18n, change_door)}</a></p>
                            </header>
                            <Scanner setup=s gate=gt.get_value() labels=labels() lang=lang_of(i18n.get_locale()) />
                            <Suspense>
                                {move || Suspend::new(async move {
                                    last.await.ok().flatten().map(|scan| view! { <ScanAnswer scan=scan /> })
                                })}
                            </Suspense>
                            <noscript>
                                <form method="post" action=ScanForm::PATH class="flex gap-2">
                                    <input type="hidden" name="event_id" value=ev.get_value() />
                                    <input type="hidden" name="gate" value=gt.get_value() />
                                    <input name="code" required class="min-w-0 flex-1 rounded border p-3 text-lg" placeholder=t_string!(i18n, scan_manual) />
                                    <button type="submit" class="rounded bg-indigo-700 px-5 text-white">{t!(i18n, scan_check)}</button>
                                </form>
                            </noscript>
                            <form method="get" action="/scan" class="flex gap-2" data-testid="door-search">
                                <input type="hidden" name="event" value=ev.get_value() />
                                <input type="hidden" name="gate" value=gt.get_value() />
                                <input name="q" minlength="2" class="min-w-0 flex-1 rounded border border-slate-300 p-3 text-lg" placeholder=t_string!(i18n, scan_search) data-testid="door-search-input" />
                                <button type="submit" class="rounded border border-indigo-700 px-4 text-indigo-700">{t!(i18n, search)}</button>
                            </form>
                            <Suspense>
                                {move || Suspend::new(async move {
                                    match found.await {
                                        Err(e) => Some(view! { <p role="alert" class="text-red-800">{e.to_string()}</p> }.into_any()),
                                        Ok(None) => None,
                                        Ok(Some(list)) => Some(view! {
                                            <ul class="space-y-2" data-testid="door-results">
                                                {list.into_iter().map(|t| view! {
                                                    <li class="flex items-center justify-between gap-2 rounded bg-white p-3 ring-1 ring-slate-200" data-testid="door-result">
                                                        <span>
                                                            <span class="block font-medium">{t.attendee.clone()}</span>
                                                            <span class="block text-sm text-slate-600">{format!("{} · {} · {}", t.tier, t.order_number, t.reference)}</span>
                                                        </span>
                                                        <form method="post" action=CheckInForm::PATH>
                                                            <input type="hidden" name="ticket_id" value=t.id.clone() />
                                                            <input type="hidden" name="event_id" value=ev.get_value() />
                                                            <input type="hidden" name="gate" value=gt.get_value() />
                                                            <button type="submit" data-testid="door-check-in" class="rounded bg-emerald-700 px-4 py-3 font-semibold text-white">{t!(i18n, check_in)}</button>
                                                        </form>
                                                    </li>
                                                }).collect_view()}
                                            </ul>
                                        }.into_any()),
                                    }
                                })}
                            </Suspense>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/organizer/events/:id/door`: checked in / total per tier and per gate,
/// refreshed every few seconds, the conflicts of offline admissions, and
/// undoing a mistaken check-in.
#[component]
pub fn DoorDashboardPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(
        move || (id(), lang_of(i18n.get_locale())),
        |(id, l)| door_dashboard(id, l),
    );
    view! {
        <Title text="Door — admit" />
        <Meta http_equiv="refresh" content="5" />
        <Flash />
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => refusal(&e),
                    Ok(d) => view! {
                        <div class="space-y-6" data-testid="door-dashboard">
                            <h1 class="text-2xl font-semibold">{d.event_title.clone()}</h1>
                            <p class="text-4xl font-bold" data-testid="door-total">{format!("{} / {}", d.checked_in, d.total)}</p>
                            <div class="grid gap-4 sm:grid-cols-2">
                                <table class=CARD data-testid="door-tiers">
                                    <caption class="text-left font-semibold">{t!(i18n, door_per_tier)}</caption>
                                    <tbody>
                                        {d.per_tier.iter().map(|(name, n, total)| view! {
                                            <tr><th class="pr-4 text-left font-normal">{name.clone()}</th><td>{format!("{n} / {total}")}</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <table class=CARD data-testid="door-gates">
                                    <caption class="text-left font-semibold">{t!(i18n, door_per_gate)}</caption>
                                    <tbody>
                                        {d.per_gate.iter().map(|(gate, n)| view! {
                                            <tr><th class="pr-4 text-left font-normal">{gate.clone()}</th><td>{n.to_string()}</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <section class=CARD data-testid="door-conflicts">
                                <h2 class="font-semibold">{t!(i18n, door_conflicts)}</h2>
                                {if d.conflicts.is_empty() {
                                    view! { <p class="text-slate-600">{t!(i18n, door_no_conflicts)}</p> }.into_any()
                                } else {
                                    view! {
                                        <ul>
                                            {d.conflicts.iter().map(|c| view! {
                                                <li data-testid="door-conflict">{format!("{} ({}) — {} · {}", c.attendee, c.reference, c.gate, c.at)}</li>
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                            </section>
                            <form method="post" action=UndoCheckIn::PATH class=format!("{CARD} space-y-3") data-testid="undo-check-in">
                                <h2 class="font-semibold">{t!(i18n, undo_check_in)}</h2>
                                <input type="hidden" name="event_id" value=d.event_id.clone() />
                                <label class="block text-sm">{t!(i18n, ticket_id_label)}
                                    <input name="ticket_id" required class="mt-1 block w-full rounded border border-slate-300 p-2 font-mono" />
                                </label>
                                <label class="block text-sm">{t!(i18n, reason_label)}
                                    <input name="reason" required maxlength="200" class="mt-1 block w-full rounded border border-slate-300 p-2" />
                                </label>
                                <button type="submit" class="rounded border border-slate-400 px-4 py-2">{t!(i18n, undo_check_in)}</button>
                            </form>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Open tasks on the admin page (tickets that could not be issued…).
#[component]
pub fn AdminTasks() -> impl IntoView {
    let i18n = use_i18n();
    let tasks = Resource::new(|| (), |_| admin_tasks());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                tasks.await.ok().map(|list| view! {
                    <section class="mb-6" data-testid="admin-tasks">
                        <h2 class="mb-2 text-lg font-semibold">{t!(i18n, admin_tasks)}</h2>
                        {if list.is_empty() {
                            view! { <p class="text-slate-600">{t!(i18n, no_admin_tasks)}</p> }.into_any()
                        } else {
                            view! {
                                <ul class="space-y-2">
                                    {list.into_iter().map(|(kind, subject, detail)| view! {
                                        <li class="rounded bg-amber-50 p-3 text-sm" data-testid="admin-task">
                                            <span class="font-medium">{kind}</span>" · "
                                            <a class="text-indigo-700 underline" href=format!("/orders/{subject}")>{subject.clone()}</a>
                                            <p class="text-slate-700">{detail}</p>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    </section>
                })
            })}
        </Suspense>
    }
}
