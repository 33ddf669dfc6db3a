//! Pages and page parts of Accounts II: passwordless and Google sign-in,
//! forgotten passwords, the account page's profile and privacy sections,
//! organization API keys and the admins' audit log. Plain forms that post to
//! server functions (or the REST API for uploads and downloads), working
//! without WASM.

use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{account_pages::Flash, lang_of};
use crate::{
    i18n::*,
    server_fns::{
        accounts::{
            ChangePassword, CodeSignIn, CreateApiKey, DeleteAccount, ForgotPassword, RemovePhoto,
            ResetPassword, RevokeApiKey, SendSignInCode, UpdateProfile, admin_audit, api_keys, me,
        },
        views::MeView,
    },
    ui::InlineSignIn,
};

const INPUT: &str = "mt-1 w-full rounded border border-slate-300 px-3 py-2";
const BUTTON: &str = "rounded bg-indigo-700 px-4 py-2 font-medium text-white hover:bg-indigo-800";
const BUTTON_LIGHT: &str =
    "rounded border border-indigo-700 px-4 py-2 text-indigo-700 hover:bg-indigo-50";
const DANGER: &str = "rounded bg-red-700 px-4 py-2 font-medium text-white hover:bg-red-800";
const CARD: &str = "rounded-lg bg-white p-6 shadow-sm ring-1 ring-slate-200";

/// Whether "Sign in with Google" is configured (read on the server; pages
/// are rendered there).
fn google_enabled() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<crate::state::AppState>()
            .is_some_and(|s| crate::services::google::enabled(&s))
    }
    #[cfg(not(feature = "ssr"))]
    {
        false
    }
}

/// The other ways to sign in, under the password form: Google (when
/// configured), an emailed code, and the forgotten-password link.
#[component]
pub fn OtherSignIns(next: String) -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || lang_of(i18n.get_locale()).tag();
    let google = google_enabled().then(|| {
        let href = format!(
            "/api/v1/auth/google/start?{}",
            serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default()
        );
        view! {
            <a href=href class=format!("{BUTTON_LIGHT} mt-4 block text-center") data-testid="google-sign-in">
                {t!(i18n, sign_in_google)}
            </a>
        }
    });
    view! {
        <p class="mt-3 text-sm"><a href="/forgot" class="text-indigo-700 underline" data-testid="forgot-link">{t!(i18n, forgot_link)}</a></p>
        {google}
        <form method="post" action=SendSignInCode::PATH class="mt-6 space-y-3 border-t border-slate-200 pt-4" data-testid="code-request-form">
            <h2 class="font-medium">{t!(i18n, code_sign_in_title)}</h2>
            <p class="text-sm text-slate-600">{t!(i18n, code_sign_in_intro)}</p>
            <input type="hidden" name="next" value=next.clone() />
            <input type="hidden" name="lang" value=lang />
            <label class="block">{t!(i18n, email_label)}
                <input name="email" type="email" required autocomplete="email" class=INPUT />
            </label>
            <button type="submit" class=BUTTON_LIGHT>{t!(i18n, email_me_code)}</button>
        </form>
    }
}

/// `/signin/code?email=…&next=…`: enter the emailed sign-in code.
#[component]
pub fn SignInCodePage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let email = move || query.with(|q| q.get("email").unwrap_or_default());
    let next = move || query.with(|q| q.get("next").unwrap_or_default());
    let lang = move || lang_of(i18n.get_locale()).tag();
    view! {
        <Title text="Sign in with a code — admit" />
        <div class=format!("{CARD} mx-auto max-w-md")>
            <h1 class="text-2xl font-semibold mb-2">{t!(i18n, code_sign_in_title)}</h1>
            <p class="mb-4 text-slate-600">{t!(i18n, code_sent_intro)} " " <strong>{email}</strong></p>
            <Flash />
            <form method="post" action=CodeSignIn::PATH class="space-y-4" data-testid="code-sign-in-form">
                <input type="hidden" name="email" value=email />
                <input type="hidden" name="next" value=next />
                <label class="block">{t!(i18n, code_label)}
                    <input name="code" inputmode="numeric" autocomplete="one-time-code" required pattern="[0-9 -]{6,9}" class=INPUT />
                </label>
                <button type="submit" class=BUTTON>{t!(i18n, sign_in)}</button>
            </form>
            <form method="post" action=SendSignInCode::PATH class="mt-4">
                <input type="hidden" name="email" value=email />
                <input type="hidden" name="next" value=next />
                <input type="hidden" name="lang" value=lang />
                <button type="submit" class=BUTTON_LIGHT>{t!(i18n, resend_code)}</button>
            </form>
        </div>
    }
}

/// `/forgot`: ask for a reset link.
#[component]
pub fn ForgotPage() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || lang_of(i18n.get_locale()).tag();
    view! {
        <Title text="Forgot your password — admit" />
        <div class=format!("{CARD} mx-auto max-w-md")>
            <h1 class="text-2xl font-semibold mb-2">{t!(i18n, forgot_title)}</h1>
            <p class="mb-4 text-slate-600">{t!(i18n, forgot_intro)}</p>
            <Flash />
            <form method="post" action=ForgotPassword::PATH class="space-y-4" data-testid="forgot-form">
                <input type="hidden" name="lang" value=lang />
                <label class="block">{t!(i18n, email_label)}
                    <input name="email" type="email" required autocomplete="email" class=INPUT />
                </label>
                <button type="submit" class=BUTTON>{t!(i18n, send_reset_link)}</button>
            </form>
        </div>
    }
}

/// `/reset?token=…`: choose a new password.
#[component]
pub fn ResetPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let token = move || query.with(|q| q.get("token").unwrap_or_default());
    view! {
        <Title text="Choose a new password — admit" />
        <div class=format!("{CARD} mx-auto max-w-md")>
            <h1 class="text-2xl font-semibold mb-2">{t!(i18n, reset_title)}</h1>
            <p class="mb-4 text-slate-600">{t!(i18n, reset_intro)}</p>
            <Flash />
            <form method="post" action=ResetPassword::PATH class="space-y-4" data-testid="reset-form">
                <input type="hidden" name="token" value=token />
                <label class="block">{t!(i18n, new_password_label)}
                    <input name="password" type="password" required minlength="8" autocomplete="new-password" class=INPUT />
                    <span class="text-xs text-slate-500">{t!(i18n, password_hint)}</span>
                </label>
                <button type="submit" class=BUTTON>{t!(i18n, save_password)}</button>
            </form>
        </div>
    }
}

/// The account page's profile, password and privacy sections.
#[component]
pub fn AccountSections(me: MeView) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class=format!("{CARD} mt-6") data-testid="profile-section">
            <h2 class="text-lg font-semibold mb-3">{t!(i18n, profile_title)}</h2>
            <div class="mb-4 flex items-center gap-4">
                {if me.has_photo {
                    view! { <img src="/api/v1/user/me/photo" alt="" class="h-16 w-16 rounded-full object-cover" data-testid="profile-photo" /> }.into_any()
                } else {
                    view! { <span class="inline-block h-16 w-16 rounded-full bg-slate-200"></span> }.into_any()
                }}
                <form method="post" action="/api/v1/user/me/photo" enctype="multipart/form-data" class="flex items-end gap-2" data-testid="photo-form">
                    <label class="text-sm">{t!(i18n, photo_label)}
                        <input type="file" name="photo" accept="image/jpeg,image/png,image/webp" required class="block" />
                    </label>
                    <button type="submit" class=BUTTON_LIGHT>{t!(i18n, upload)}</button>
                </form>
                {me.has_photo.then(|| view! {
                    <form method="post" action=RemovePhoto::PATH>
                        <button type="submit" class="text-sm text-red-700 underline">{t!(i18n, remove_photo)}</button>
                    </form>
                })}
            </div>
            <form method="post" action=UpdateProfile::PATH class="space-y-3" data-testid="profile-form">
                <label class="block">{t!(i18n, name_label)}
                    <input name="name" required value=me.name.clone() autocomplete="name" class=INPUT />
                </label>
                <label class="block">{t!(i18n, phone_label)}
                    <input name="phone" type="tel" value=me.phone.clone() autocomplete="tel" class=INPUT />
                </label>
                <label class="block">{t!(i18n, language)}
                    <select name="language" class=INPUT>
                        <option value="en" selected=me.language == "en">"English"</option>
                        <option value="id" selected=me.language == "id">"Bahasa Indonesia"</option>
                    </select>
                </label>
                <button type="submit" class=BUTTON>{t!(i18n, save)}</button>
            </form>
        </section>
        <section class=format!("{CARD} mt-6") data-testid="password-section">
            <h2 class="text-lg font-semibold mb-3">{t!(i18n, password_title)}</h2>
            <form method="post" action=ChangePassword::PATH class="space-y-3" data-testid="password-form">
                {me.has_password.then(|| view! {
                    <label class="block">{t!(i18n, current_password_label)}
                        <input name="current_password" type="password" required autocomplete="current-password" class=INPUT />
                    </label>
                })}
                {(!me.has_password).then(|| view! { <input type="hidden" name="current_password" value="" /> })}
                <label class="block">{t!(i18n, new_password_label)}
                    <input name="new_password" type="password" required minlength="8" autocomplete="new-password" class=INPUT />
                    <span class="text-xs text-slate-500">{t!(i18n, password_change_hint)}</span>
                </label>
                <button type="submit" class=BUTTON>{t!(i18n, save_password)}</button>
            </form>
        </section>
        <section class=format!("{CARD} mt-6") data-testid="privacy-section">
            <h2 class="text-lg font-semibold mb-3">{t!(i18n, privacy_title)}</h2>
            <p class="text-sm text-slate-600">{t!(i18n, export_intro)}</p>
            <a href="/api/v1/user/me/export" download="admit-my-data.json" class=format!("{BUTTON_LIGHT} mt-2 inline-block") data-testid="export-link">
                {t!(i18n, export_data)}
            </a>
            <form method="post" action=DeleteAccount::PATH class="mt-6 space-y-3 border-t border-slate-200 pt-4" data-testid="delete-form">
                <h3 class="font-medium text-red-800">{t!(i18n, delete_title)}</h3>
                <p class="text-sm text-slate-600">{t!(i18n, delete_intro)}</p>
                {me.has_password.then(|| view! {
                    <label class="block">{t!(i18n, current_password_label)}
                        <input name="password" type="password" required autocomplete="current-password" class=INPUT />
                    </label>
                })}
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" name="confirm" value="yes" required />
                    {t!(i18n, delete_confirm)}
                </label>
                <button type="submit" class=DANGER>{t!(i18n, delete_button)}</button>
            </form>
        </section>
    }
}

/// `/organizer/api-keys/:org`: an organization's API keys (owners). A key
/// just created is shown here once.
#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = leptos_router::hooks::use_params_map();
    let org = move || params.with(|p| p.get("org").unwrap_or_default());
    // Created once per render: reading the new key's secret takes it out
    // of the session.
    let data = Resource::new(org, api_keys);
    view! {
        <Title text="API keys — admit" />
        <Flash />
        <div class=CARD data-testid="api-keys">
            <h1 class="text-2xl font-semibold mb-2">{t!(i18n, api_keys_title)}</h1>
            <p class="mb-4 text-sm text-slate-600">{t!(i18n, api_keys_intro)}</p>
            <Suspense>
                {move || Suspend::new(async move {
                    let org_id = org();
                    match data.await {
                        Err(e) => super::account_pages::refusal(&e),
                        Ok(v) => view! {
                            {v.new_secret.map(|secret| view! {
                                <div class="mb-4 rounded bg-amber-50 p-3 text-sm" role="status">
                                    <p class="font-medium">{t!(i18n, api_key_shown_once)}</p>
                                    <code class="break-all" data-testid="new-api-key">{secret}</code>
                                </div>
                            })}
                            <ul class="divide-y divide-slate-100 text-sm">
                                {v.keys.into_iter().map(|k| {
                                    let org_id = org_id.clone();
                                    view! {
                                        <li class="flex items-center justify-between gap-3 py-2" data-testid="api-key">
                                            <span>
                                                <strong>{k.name.clone()}</strong> " · " <code>{format!("{}…", k.prefix)}</code> " · " {k.scope.clone()}
                                                " · " {k.created.clone()}
                                                {(!k.last_used.is_empty()).then(|| format!(" · {} {}", t_string!(i18n, api_key_used), k.last_used))}
                                            </span>
                                            {if k.revoked {
                                                view! { <span class="text-slate-500">{t!(i18n, api_key_revoked)}</span> }.into_any()
                                            } else {
                                                view! {
                                                    <form method="post" action=RevokeApiKey::PATH>
                                                        <input type="hidden" name="org_id" value=org_id />
                                                        <input type="hidden" name="key_id" value=k.id.clone() />
                                                        <button type="submit" class="text-red-700 underline">{t!(i18n, revoke)}</button>
                                                    </form>
                                                }.into_any()
                                            }}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            <form method="post" action=CreateApiKey::PATH class="mt-4 flex flex-wrap items-end gap-2" data-testid="api-key-form">
                                <input type="hidden" name="org_id" value=org_id.clone() />
                                <label class="text-sm">{t!(i18n, api_key_name)}
                                    <input name="name" required class="block rounded border border-slate-300 px-2 py-1" />
                                </label>
                                <label class="text-sm">{t!(i18n, api_key_scope)}
                                    <select name="scope" class="block rounded border border-slate-300 px-2 py-1">
                                        <option value="read">{t!(i18n, scope_read)}</option>
                                        <option value="read_write">{t!(i18n, scope_read_write)}</option>
                                    </select>
                                </label>
                                <button type="submit" class=BUTTON_LIGHT>{t!(i18n, create_api_key)}</button>
                            </form>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

/// `/admin/audit`: security events and admin actions, with filters.
#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let get = move |k: &'static str| move || query.with(|q| q.get(k).unwrap_or_default());
    let (action, user, from, to) = (get("action"), get("user"), get("from"), get("to"));
    let page = move || {
        query.with(|q| {
            q.get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
        })
    };
    let data = Resource::new(
        move || (action(), user(), from(), to(), page()),
        |(a, u, f, t, p)| admin_audit(a, u, f, t, p),
    );
    view! {
        <Title text="Audit log — admit" />
        <h1 class="text-2xl font-semibold mb-4">{t!(i18n, audit_title)}</h1>
        <Suspense>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => super::account_pages::refusal(&e),
                    Ok(log) => {
                        let current = action();
                        let link = move |p: u32| format!("/admin/audit?{}", serde_urlencoded::to_string([
                            ("action", action()), ("user", user()), ("from", from()), ("to", to()), ("page", p.to_string()),
                        ]).unwrap_or_default());
                        view! {
                            <form method="get" action="/admin/audit" class="mb-4 grid gap-2 sm:grid-cols-5" data-testid="audit-filters">
                                <select name="action" class=INPUT aria-label=move || t_string!(i18n, audit_action)>
                                    <option value="">{t!(i18n, audit_all_actions)}</option>
                                    {log.actions.iter().map(|a| view! { <option value=a.clone() selected=*a == current>{a.clone()}</option> }).collect_view()}
                                </select>
                                <input name="user" value=user placeholder=move || t_string!(i18n, audit_user) class=INPUT />
                                <input type="date" name="from" value=from class=INPUT aria-label=move || t_string!(i18n, from_label) />
                                <input type="date" name="to" value=to class=INPUT aria-label=move || t_string!(i18n, to_label) />
                                <button type="submit" class=BUTTON>{t!(i18n, search)}</button>
                            </form>
                            <p class="mb-2 text-sm text-slate-600" data-testid="audit-total">{t!(i18n, results_count, count = log.total)}</p>
                            <table class="w-full text-left text-sm">
                                <thead><tr class="border-b border-slate-200">
                                    <th class="py-2">{t!(i18n, audit_when)}</th><th>{t!(i18n, audit_action)}</th><th>{t!(i18n, audit_actor)}</th>
                                    <th>{t!(i18n, audit_subject)}</th><th>"IP"</th><th>{t!(i18n, audit_detail)}</th>
                                </tr></thead>
                                <tbody>
                                    {log.items.into_iter().map(|r| view! {
                                        <tr class="border-b border-slate-100 align-top" data-testid="audit-row">
                                            <td class="py-1 pr-2 whitespace-nowrap">{r.at}</td>
                                            <td class="pr-2" data-testid="audit-action">{r.action}</td>
                                            <td class="pr-2">{r.actor}</td>
                                            <td class="pr-2">{r.subject}</td>
                                            <td class="pr-2">{r.ip}</td>
                                            <td class="font-mono text-xs break-all">{r.detail}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <nav class="mt-4 flex justify-between text-sm" aria-label="Pagination">
                                {(log.page > 1).then(|| view! { <a class="text-indigo-700 hover:underline" href=link(log.page - 1)>{t!(i18n, previous)}</a> })}
                                <span class="text-slate-500">{t!(i18n, page_of, page = log.page, pages = log.pages)}</span>
                                {(log.page < log.pages).then(|| view! { <a class="text-indigo-700 hover:underline" href=link(log.page + 1)>{t!(i18n, next)}</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// On the event page, for a buyer who is not signed in: sign in with an
/// emailed code without leaving the page. Plain forms that post back to the
/// event page (`http::pages::event_form`).
#[component]
pub fn BuyerSignIn(slug: String, state: InlineSignIn) -> impl IntoView {
    let i18n = use_i18n();
    let viewer = Resource::new(|| (), |_| me());
    view! {
        <Suspense>
            {move || {
                let (slug, state) = (slug.clone(), state.clone());
                Suspend::new(async move {
                    if viewer.await.ok().flatten().is_some() {
                        return ().into_any();
                    }
                    let action = format!("/events/{slug}");
                    view! {
                        <div class="mt-4 rounded border border-slate-200 p-3" data-testid="buyer-sign-in">
                            <h3 class="text-sm font-semibold">{t!(i18n, buyer_sign_in_title)}</h3>
                            <p class="mb-2 text-xs text-slate-600">{t!(i18n, buyer_sign_in_intro)}</p>
                            {state.error.clone().map(|e| view! { <p role="alert" data-testid="buyer-sign-in-error" class="mb-2 rounded bg-red-50 p-2 text-sm text-red-800">{e}</p> })}
                            {if state.sent {
                                view! {
                                    <p class="mb-2 text-xs text-slate-600" role="status">{t!(i18n, code_sent_intro)} " " <strong>{state.email.clone()}</strong></p>
                                    <form method="post" action=action.clone() class="flex gap-2" data-testid="buyer-code-form">
                                        <input type="hidden" name="email" value=state.email.clone() />
                                        <label class="sr-only" for="buyer-code">{t!(i18n, code_label)}</label>
                                        <input id="buyer-code" name="code" inputmode="numeric" autocomplete="one-time-code" required
                                            class="w-full rounded border border-slate-300 px-2 py-1 text-sm" placeholder=move || t_string!(i18n, code_label) />
                                        <button type="submit" name="action" value="signin_code" class="rounded bg-indigo-700 px-3 py-1 text-sm text-white">{t!(i18n, sign_in)}</button>
                                    </form>
                                }.into_any()
                            } else {
                                view! {
                                    <form method="post" action=action.clone() class="flex gap-2" data-testid="buyer-email-form">
                                        <label class="sr-only" for="buyer-email">{t!(i18n, email_label)}</label>
                                        <input id="buyer-email" name="email" type="email" required autocomplete="email" value=state.email.clone()
                                            class="w-full rounded border border-slate-300 px-2 py-1 text-sm" placeholder=move || t_string!(i18n, email_label) />
                                        <button type="submit" name="action" value="signin_send" class="rounded border border-indigo-700 px-3 py-1 text-sm text-indigo-700">{t!(i18n, email_me_code)}</button>
                                    </form>
                                }.into_any()
                            }}
                            <p class="mt-2 text-xs"><a href=format!("/signup?{}", serde_urlencoded::to_string([("next", action.as_str())]).unwrap_or_default()) class="text-indigo-700 underline">{t!(i18n, no_account)} " " {t!(i18n, sign_up)}</a></p>
                        </div>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}
