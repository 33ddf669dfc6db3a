//! Account, organizer and admin pages. Plain forms post to server
//! functions and work without WASM; refusals come back as `?error=…`.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{lang_of, pages::NotFound};
use crate::{
    i18n::*,
    server_fns::accounts::{
        AcceptInvitation, ApplyOrganizer, DecideApplication, InviteStaff, ResendCode, SetAdmin,
        SetSuspended, SignIn, SignOut, SignOutAll, SignUp, VerifyEmail, admin_applications,
        admin_user, admin_users, invitation, me, organizer_dashboard,
    },
};

const INPUT: &str = "mt-1 w-full rounded border border-slate-300 px-3 py-2";
const BUTTON: &str = "rounded bg-indigo-700 px-4 py-2 font-medium text-white hover:bg-indigo-800";
const BUTTON_LIGHT: &str =
    "rounded border border-indigo-700 px-4 py-2 text-indigo-700 hover:bg-indigo-50";
const CARD: &str = "rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200";

/// `?error=` and `?notice=` from the last form, shown above the page.
#[component]
pub fn Flash() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let error = move || query.with(|q| q.get("error"));
    let notice = move || {
        query.with(|q| q.get("notice")).map(|n| match n.as_str() {
            "verified" => t_string!(i18n, notice_verified).to_string(),
            "applied" => t_string!(i18n, notice_applied).to_string(),
            "sent" => t_string!(i18n, notice_sent).to_string(),
            "invited" => t_string!(i18n, notice_invited).to_string(),
            "joined" => t_string!(i18n, notice_joined).to_string(),
            "decided" => t_string!(i18n, notice_decided).to_string(),
            "released" => t_string!(i18n, notice_released).to_string(),
            "confirmed" => t_string!(i18n, notice_confirmed).to_string(),
            "paying" => t_string!(i18n, notice_paying).to_string(),
            "code_sent" => t_string!(i18n, notice_code_sent).to_string(),
            "reset_sent" => t_string!(i18n, notice_reset_sent).to_string(),
            "password_changed" => t_string!(i18n, notice_password_changed).to_string(),
            "password_reset" => t_string!(i18n, notice_password_reset).to_string(),
            "deleted" => t_string!(i18n, notice_deleted).to_string(),
            "key_created" => t_string!(i18n, notice_key_created).to_string(),
            "key_revoked" => t_string!(i18n, notice_key_revoked).to_string(),
            "signed_in" => t_string!(i18n, notice_signed_in).to_string(),
            _ => t_string!(i18n, notice_saved).to_string(),
        })
    };
    view! {
        {move || error().map(|e| view! {
            <p role="alert" data-testid="form-error" class="mb-4 rounded bg-red-50 p-3 text-red-800">{e}</p>
        })}
        {move || notice().map(|n| view! {
            <p role="status" data-testid="notice" class="mb-4 rounded bg-green-50 p-3 text-green-800">{n}</p>
        })}
    }
}

/// Sends anonymous visitors to sign in (and back afterwards); shows
/// "not found" for what the viewer may not see.
pub(crate) fn refusal(e: &ServerFnError) -> AnyView {
    let msg = e.to_string();
    if msg.contains("unauthenticated") {
        #[cfg(feature = "ssr")]
        {
            let loc = leptos_router::hooks::use_location();
            let next = loc.pathname.get_untracked();
            let target = format!(
                "/signin?{}",
                serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
            );
            leptos_axum::redirect(&target);
        }
        view! { <p><a href="/signin" class="text-indigo-700 underline">"Sign in"</a></p> }
            .into_any()
    } else if msg.contains("not found") {
        view! { <NotFound /> }.into_any()
    } else {
        view! { <p role="alert" class="rounded bg-red-50 p-4 text-red-800">{msg}</p> }.into_any()
    }
}

/// `/signup`.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || lang_of(i18n.get_locale()).tag();
    let query = use_query_map();
    let email = move || query.with(|q| q.get("email").unwrap_or_default());
    view! {
        <Title text="Sign up — admit" />
        <div class=format!("{CARD} mx-auto max-w-md")>
            <h1 class="text-2xl font-semibold mb-4">{t!(i18n, sign_up)}</h1>
            <Flash />
            <form method="post" action=SignUp::PATH class="space-y-4" data-testid="signup-form">
                <input type="hidden" name="lang" value=lang />
                <label class="block">{t!(i18n, name_label)}
                    <input name="name" required autocomplete="name" class=INPUT />
                </label>
                <label class="block">{t!(i18n, email_label)}
                    <input name="email" type="email" required autocomplete="email" value=email class=INPUT />
                </label>
                <label class="block">{t!(i18n, password_label)}
                    <input name="password" type="password" required minlength="8" autocomplete="new-password" class=INPUT />
                    <span class="text-xs text-slate-500">{t!(i18n, password_hint)}</span>
                </label>
                <button type="submit" class=BUTTON>{t!(i18n, create_account)}</button>
            </form>
            <p class="mt-4 text-sm">{t!(i18n, have_account)} " " <a href="/signin" class="text-indigo-700 underline">{t!(i18n, sign_in)}</a></p>
        </div>
    }
}

/// `/signin?next=…`.
#[component]
pub fn SignInPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next").unwrap_or_default());
    view! {
        <Title text="Sign in — admit" />
        <div class=format!("{CARD} mx-auto max-w-md")>
            <h1 class="text-2xl font-semibold mb-4">{t!(i18n, sign_in)}</h1>
            <Flash />
            <form method="post" action=SignIn::PATH class="space-y-4" data-testid="signin-form">
                <input type="hidden" name="next" value=next />
                <label class="block">{t!(i18n, email_label)}
                    <input name="email" type="email" required autocomplete="email" class=INPUT />
                </label>
                <label class="block">{t!(i18n, password_label)}
                    <input name="password" type="password" required autocomplete="current-password" class=INPUT />
                </label>
                <button type="submit" class=BUTTON>{t!(i18n, sign_in)}</button>
            </form>
            <super::security_pages::OtherSignIns next=next() />
            <p class="mt-4 text-sm">{t!(i18n, no_account)} " " <a href="/signup" class="text-indigo-700 underline">{t!(i18n, sign_up)}</a></p>
        </div>
    }
}

/// `/verify`: enter the emailed code.
#[component]
pub fn VerifyPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Title text="Verify your email — admit" />
        <div class=format!("{CARD} mx-auto max-w-md")>
            <h1 class="text-2xl font-semibold mb-2">{t!(i18n, verify_title)}</h1>
            <p class="mb-4 text-slate-600">{t!(i18n, verify_intro)}</p>
            <Flash />
            <form method="post" action=VerifyEmail::PATH class="space-y-4" data-testid="verify-form">
                <label class="block">{t!(i18n, code_label)}
                    <input name="code" inputmode="numeric" autocomplete="one-time-code" required pattern="[0-9 -]{6,9}" class=INPUT />
                </label>
                <button type="submit" class=BUTTON>{t!(i18n, verify_button)}</button>
            </form>
            <form method="post" action=ResendCode::PATH class="mt-4">
                <button type="submit" class=BUTTON_LIGHT>{t!(i18n, resend_code)}</button>
            </form>
        </div>
    }
}

fn status_label(locale: Locale, status: &str) -> String {
    match status {
        "approved" => td_string!(locale, status_approved).to_string(),
        "rejected" => td_string!(locale, status_rejected).to_string(),
        _ => td_string!(locale, status_pending).to_string(),
    }
}

fn role_label(locale: Locale, role: &str) -> String {
    if role == "owner" {
        td_string!(locale, role_owner).to_string()
    } else {
        td_string!(locale, role_staff).to_string()
    }
}

/// `/account`.
#[component]
pub fn AccountPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(|| (), |_| me());
    view! {
        <Title text="Account — admit" />
        <Flash />
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => refusal(&e),
                    Ok(None) => refusal(&ServerFnError::new("unauthenticated")),
                    Ok(Some(me)) => view! {
                        <div class=CARD>
                            <h1 class="text-2xl font-semibold" data-testid="account-name">{me.name.clone()}</h1>
                            <p class="text-slate-600" data-testid="account-email">{me.email.clone()}</p>
                            {if me.verified {
                                view! { <p data-testid="verified" class="mt-2 text-green-700">{t!(i18n, verified)}</p> }.into_any()
                            } else {
                                view! {
                                    <p class="mt-2 text-amber-700">{t!(i18n, not_verified)} " "
                                        <a href="/verify" class="underline">{t!(i18n, verify_now)}</a></p>
                                }.into_any()
                            }}
                            <h2 class="mt-6 text-lg font-semibold">{t!(i18n, your_organizations)}</h2>
                            {if me.memberships.is_empty() {
                                view! { <p class="text-slate-600">{t!(i18n, no_organizations)}</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="list-disc pl-6">
                                        {me.memberships.iter().map(|m| view! {
                                            <li data-testid="membership">{format!("{} — {} — {}", m.org_name, role_label(i18n.get_locale_untracked(), &m.role), status_label(i18n.get_locale_untracked(), &m.status))}</li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                            <div class="mt-6 flex flex-wrap gap-3">
                                {me.memberships.iter().any(|m| m.status == "approved").then(|| view! {
                                    <a href="/organizer" class=BUTTON_LIGHT data-testid="dashboard-link">{t!(i18n, organizer_dashboard)}</a>
                                })}
                                {(!me.memberships.iter().any(|m| m.role == "owner" && m.status != "rejected")).then(|| view! {
                                    <a href="/organizer/apply" class=BUTTON_LIGHT>{t!(i18n, apply_organizer)}</a>
                                })}
                                {me.is_admin.then(|| view! { <a href="/admin" class=BUTTON_LIGHT>{t!(i18n, admin_title)}</a> })}
                                <form method="post" action=SignOutAll::PATH>
                                    <button type="submit" class=BUTTON_LIGHT data-testid="sign-out-everywhere">{t!(i18n, sign_out_everywhere)}</button>
                                </form>
                            </div>
                        </div>
                        <super::security_pages::AccountSections me=me.clone() />
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/organizer/apply`.
#[component]
pub fn ApplyPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Title text="Become an organizer — admit" />
        <div class=format!("{CARD} mx-auto max-w-xl")>
            <h1 class="text-2xl font-semibold mb-2">{t!(i18n, apply_organizer)}</h1>
            <p class="mb-4 text-slate-600">{t!(i18n, apply_intro)}</p>
            <Flash />
            <form method="post" action=ApplyOrganizer::PATH class="space-y-4" data-testid="apply-form">
                <label class="block">{t!(i18n, org_name_label)}<input name="name" required class=INPUT /></label>
                <label class="block">{t!(i18n, contact_email_label)}<input name="contact_email" type="email" required class=INPUT /></label>
                <label class="block">{t!(i18n, description_label)}<textarea name="description" rows="4" class=INPUT></textarea></label>
                <button type="submit" class=BUTTON>{t!(i18n, submit_application)}</button>
            </form>
        </div>
    }
}

/// `/organizer`: the organizations the viewer runs or staffs.
#[component]
pub fn OrganizerPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(move || lang_of(i18n.get_locale()), organizer_dashboard);
    view! {
        <Title text="Organizer dashboard — admit" />
        <h1 class="text-2xl font-semibold mb-4" data-testid="dashboard-title">{t!(i18n, organizer_dashboard)}</h1>
        <Flash />
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => refusal(&e),
                    Ok(orgs) => orgs.into_iter().map(|org| {
                        let owner = org.role == "owner";
                        let events = org.events.clone();
                        view! {
                            <section class=format!("{CARD} mb-6") data-testid="dashboard-org">
                                <h2 class="text-xl font-semibold">{org.name.clone()} " "
                                    <span class="text-sm font-normal text-slate-500">{role_label(i18n.get_locale_untracked(), &org.role)}</span></h2>
                                <h3 class="mt-4 font-medium">{t!(i18n, events_heading)}</h3>
                                {owner.then(|| view! {
                                    <a href=format!("/organizer/events/new?org={}", org.id) class="text-sm text-indigo-700 underline" data-testid="new-event">
                                        {t!(i18n, new_event)}
                                    </a>
                                })}
                                {if events.is_empty() {
                                    view! { <p class="text-slate-600">{t!(i18n, no_org_events)}</p> }.into_any()
                                } else {
                                    view! { <ul class="divide-y divide-slate-100">
                                        {events.iter().map(|e| view! {
                                            <li class="py-2 flex justify-between gap-4">
                                                <a
                                                    href=if owner { format!("/organizer/events/{}", e.id) } else { format!("/events/{}", e.slug) }
                                                    class="text-indigo-700 hover:underline"
                                                    data-testid="dashboard-event"
                                                >
                                                    {e.title.clone()}
                                                </a>
                                                <span class="text-sm text-slate-500" data-testid="event-sales">{format!("{} · {} · {}/{}", e.when, e.status, e.sold, e.capacity)}</span>
                                            </li>
                                        }).collect_view()}
                                    </ul> }.into_any()
                                }}
                                {owner.then(|| view! {
                                    <form method="post" action=InviteStaff::PATH class="mt-6 space-y-3" data-testid="invite-form">
                                        <h3 class="font-medium">{t!(i18n, invite_staff)}</h3>
                                        <input type="hidden" name="org_id" value=org.id.clone() />
                                        <label class="block">{t!(i18n, email_label)}<input name="email" type="email" required class=INPUT /></label>
                                        <fieldset>
                                            <legend class="text-sm text-slate-600">{t!(i18n, invite_scope)}</legend>
                                            {events.iter().map(|e| view! {
                                                <label class="mr-4 text-sm"><input type="checkbox" name="events[]" value=e.id.clone() /> " " {e.title.clone()}</label>
                                            }).collect_view()}
                                        </fieldset>
                                        <button type="submit" class=BUTTON>{t!(i18n, send_invitation)}</button>
                                    </form>
                                    <p class="mt-4 text-sm">
                                        <a href=format!("/organizer/api-keys/{}", org.id) class="text-indigo-700 underline" data-testid="api-keys-link">
                                            {t!(i18n, api_keys_title)}
                                        </a>
                                    </p>
                                })}
                            </section>
                        }
                    }).collect_view().into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/invitations/:token`.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let data = Resource::new(token, invitation);
    let viewer = Resource::new(|| (), |_| me());
    view! {
        <Title text="Invitation — admit" />
        <Flash />
        <Suspense>
            {move || Suspend::new(async move {
                let (inv, me) = (data.await, viewer.await);
                match inv {
                    Err(e) => refusal(&e),
                    Ok(inv) => {
                        let next = format!("/invitations/{}", token());
                        let enc = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                        view! {
                            <div class=format!("{CARD} mx-auto max-w-md")>
                                <h1 class="text-2xl font-semibold mb-2">{t!(i18n, invitation_title)}</h1>
                                <p>{t!(i18n, invitation_intro)} " " <strong>{inv.org_name.clone()}</strong></p>
                                <p class="mt-2 text-sm text-slate-600">{t!(i18n, invitation_for)} " " {inv.email.clone()}</p>
                                {match me.ok().flatten() {
                                    Some(_) => view! {
                                        <form method="post" action=AcceptInvitation::PATH class="mt-4">
                                            <input type="hidden" name="token" value=token() />
                                            <button type="submit" class=BUTTON data-testid="accept-invitation">{t!(i18n, accept_invitation)}</button>
                                        </form>
                                    }.into_any(),
                                    None => view! {
                                        <p class="mt-4">{t!(i18n, sign_in_to_accept)}</p>
                                        <div class="mt-2 flex gap-3">
                                            <a class=BUTTON href=format!("/signin?{enc}")>{t!(i18n, sign_in)}</a>
                                            <a class=BUTTON_LIGHT href=format!("/signup?{}", serde_urlencoded::to_string([("email", inv.email.as_str())]).unwrap_or_default())>{t!(i18n, sign_up)}</a>
                                        </div>
                                    }.into_any(),
                                }}
                            </div>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// `/admin`: applications waiting for a decision.
#[component]
pub fn AdminPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = Resource::new(|| (), |_| admin_applications());
    view! {
        <Title text="Administration — admit" />
        <Flash />
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => refusal(&e),
                    Ok(apps) => view! {
                        <h1 class="text-2xl font-semibold mb-4">{t!(i18n, admin_title)}</h1>
                        <p class="mb-4 flex gap-4">
                            <a href="/admin/users" class="text-indigo-700 underline">{t!(i18n, users_title)}</a>
                            <a href="/admin/audit" class="text-indigo-700 underline" data-testid="audit-link">{t!(i18n, audit_title)}</a>
                        </p>
                        <super::ticket_pages::AdminTasks />
                        <h2 class="text-lg font-semibold mb-2">{t!(i18n, pending_applications)}</h2>
                        {if apps.is_empty() {
                            view! { <p class="text-slate-600">{t!(i18n, no_applications)}</p> }.into_any()
                        } else {
                            apps.into_iter().map(|a| view! {
                                <section class=format!("{CARD} mb-4") data-testid="application">
                                    <h3 class="font-semibold">{a.name.clone()}</h3>
                                    <p class="text-sm text-slate-600">{a.contact_email.clone()}</p>
                                    <p class="mt-2">{a.description.clone()}</p>
                                    <form method="post" action=DecideApplication::PATH class="mt-3 space-y-2">
                                        <input type="hidden" name="org_id" value=a.id.clone() />
                                        <label class="block text-sm">{t!(i18n, reason_label)}<input name="reason" required class=INPUT /></label>
                                        <div class="flex gap-2">
                                            <button type="submit" name="decision" value="approve" class=BUTTON data-testid="approve">{t!(i18n, approve)}</button>
                                            <button type="submit" name="decision" value="reject" class=BUTTON_LIGHT data-testid="reject">{t!(i18n, reject)}</button>
                                        </div>
                                    </form>
                                </section>
                            }).collect_view().into_any()
                        }}
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/admin/users?q=…`.
#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let q = move || query.with(|q| q.get("q").unwrap_or_default());
    let page = move || {
        query.with(|q| {
            q.get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
        })
    };
    let data = Resource::new(move || (q(), page()), |(q, p)| admin_users(q, p));
    view! {
        <Title text="Users — admit" />
        <h1 class="text-2xl font-semibold mb-4">{t!(i18n, users_title)}</h1>
        <form method="get" action="/admin/users" class="mb-4 flex gap-2">
            <input name="q" value=q placeholder=move || t_string!(i18n, search_users) class=INPUT />
            <button type="submit" class=BUTTON>{t!(i18n, search)}</button>
        </form>
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => refusal(&e),
                    Ok(list) => view! {
                        <table class="w-full text-left text-sm">
                            <tbody>
                                {list.items.into_iter().map(|u| view! {
                                    <tr class="border-b border-slate-100" data-testid="user-row">
                                        <td class="py-2"><a href=format!("/admin/users/{}", u.id) class="text-indigo-700 hover:underline">{u.name.clone()}</a></td>
                                        <td>{u.email.clone()}</td>
                                        <td>{u.is_admin.then(|| t_string!(i18n, admin_badge).to_string())}</td>
                                        <td>{u.suspended.then(|| t_string!(i18n, suspended_badge).to_string())}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/admin/users/:id`.
#[component]
pub fn AdminUserPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = Resource::new(id, admin_user);
    view! {
        <Title text="User — admit" />
        <Flash />
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => refusal(&e),
                    Ok(u) => view! {
                        <div class=CARD>
                            <h1 class="text-2xl font-semibold">{u.name.clone()}</h1>
                            <p class="text-slate-600">{u.email.clone()}</p>
                            <p class="mt-2 text-sm">
                                {if u.verified { t_string!(i18n, verified).to_string() } else { t_string!(i18n, not_verified).to_string() }}
                                {u.is_admin.then(|| format!(" · {}", t_string!(i18n, admin_badge)))}
                                {u.suspended.then(|| format!(" · {}", t_string!(i18n, suspended_badge)))}
                            </p>
                            <ul class="mt-4 list-disc pl-6">
                                {u.memberships.iter().map(|m| view! {
                                    <li>{format!("{} — {} — {}", m.org_name, role_label(i18n.get_locale_untracked(), &m.role), status_label(i18n.get_locale_untracked(), &m.status))}</li>
                                }).collect_view()}
                            </ul>
                            <div class="mt-6 flex gap-3">
                                <form method="post" action=SetAdmin::PATH>
                                    <input type="hidden" name="user_id" value=u.id.clone() />
                                    <input type="hidden" name="admin" value=if u.is_admin { "false" } else { "true" } />
                                    <button type="submit" class=BUTTON_LIGHT>
                                        {if u.is_admin { t_string!(i18n, remove_admin).to_string() } else { t_string!(i18n, make_admin).to_string() }}
                                    </button>
                                </form>
                                <form method="post" action=SetSuspended::PATH>
                                    <input type="hidden" name="user_id" value=u.id.clone() />
                                    <input type="hidden" name="suspended" value=if u.suspended { "false" } else { "true" } />
                                    <button type="submit" class=BUTTON_LIGHT data-testid="toggle-suspension">
                                        {if u.suspended { t_string!(i18n, unsuspend).to_string() } else { t_string!(i18n, suspend).to_string() }}
                                    </button>
                                </form>
                            </div>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The sign-out button in the header.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <form method="post" action=SignOut::PATH>
            <button type="submit" data-testid="sign-out" class="text-sm text-indigo-700 hover:underline">{t!(i18n, sign_out)}</button>
        </form>
    }
}
