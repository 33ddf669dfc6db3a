//! Accounts, organizers and admin: server functions behind plain HTML forms.
//!
//! Forms post straight to these functions (they work without WASM). On
//! success they redirect to the next page; on a refusal they redirect back to
//! the form with `?error=…`, and to the sign-in page when a session is needed.

use leptos::prelude::*;

use super::views::{
    AdminUserView, AdminUsersView, ApiKeysView, ApplicationView, AuditPageView, DashboardOrgView,
    InvitationView, MeView,
};
#[cfg(feature = "ssr")]
use super::views::{ApiKeyView, AuditRowView, MembershipView};

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use leptos::prelude::*;
    use tower_sessions::Session;

    use crate::{error::ServiceError, services::authz::Identity, state::AppState};

    /// What every server function needs from the request.
    pub struct Ctx {
        pub state: AppState,
        pub who: Identity,
        pub session: Session,
        /// The client's address (abuse limits, audit).
        pub ip: std::net::IpAddr,
    }

    pub async fn ctx() -> Result<Ctx, ServerFnError> {
        let state = expect_context::<AppState>();
        let parts = expect_context::<axum::http::request::Parts>();
        let who = parts
            .extensions
            .get::<Identity>()
            .cloned()
            .unwrap_or_default();
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| ServerFnError::new("sessions are not available"))?;
        let ip = parts
            .extensions
            .get::<crate::http::identity::ClientIp>()
            .map(|c| c.0)
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        Ok(Ctx {
            state,
            who,
            session,
            ip,
        })
    }

    /// A local path to go back to (never another site).
    pub fn local(path: &str) -> String {
        if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') {
            path.to_owned()
        } else {
            "/".into()
        }
    }

    /// `path` with one query parameter set (replacing an older one).
    pub fn with_param(path: &str, key: &str, value: &str) -> String {
        let (base, query) = path.split_once('?').unwrap_or((path, ""));
        let mut pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).unwrap_or_default();
        pairs.retain(|(k, _)| k != key && k != "error" && k != "notice");
        pairs.push((key.to_owned(), value.to_owned()));
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }

    /// Redirects according to a service result.
    pub fn finish<T>(
        result: Result<T, ServiceError>,
        ok: &str,
        back: &str,
    ) -> Result<(), ServerFnError> {
        let back = local(back);
        match result {
            Ok(_) => leptos_axum::redirect(&local(ok)),
            Err(ServiceError::Unauthenticated) => {
                leptos_axum::redirect(&with_param("/signin", "next", &back))
            }
            Err(e) => leptos_axum::redirect(&with_param(&back, "error", &e.public_message())),
        }
        Ok(())
    }

    /// Maps a service error for data-loading functions and sets the
    /// response status (401, 404…): pages turn these into a sign-in redirect
    /// or a not-found page, API callers get the status.
    pub fn load_error(e: ServiceError) -> ServerFnError {
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(e.status());
        }
        match e {
            ServiceError::Unauthenticated => ServerFnError::new("unauthenticated"),
            ServiceError::NotFound => ServerFnError::new("not found"),
            other => ServerFnError::new(other.public_message()),
        }
    }
}

#[cfg(feature = "ssr")]
fn membership_views(ms: &[crate::store::accounts::Membership]) -> Vec<MembershipView> {
    ms.iter()
        .map(|m| MembershipView {
            org_id: m.org_id.clone(),
            org_name: m.org_name.clone(),
            status: m.org_status.clone(),
            role: m.role.clone(),
        })
        .collect()
}

/// The signed-in person, or `None` for anonymous visitors.
#[server(prefix = "/_fn", endpoint = "me")]
pub async fn me() -> Result<Option<MeView>, ServerFnError> {
    let c = ssr::ctx().await?;
    Ok(c.who.0.as_deref().map(|v| MeView {
        id: v.account.id.clone(),
        name: v.account.name.clone(),
        email: v.account.email.clone(),
        verified: v.account.is_verified(),
        is_admin: v.account.is_admin,
        memberships: membership_views(&v.memberships),
        phone: v.account.phone.clone().unwrap_or_default(),
        language: v.account.locale.clone(),
        has_photo: v.account.photo_key.is_some(),
        has_password: v.account.password_hash.is_some(),
    }))
}

/// Sign-up form.
#[server(prefix = "/_fn", endpoint = "auth/sign_up")]
pub async fn sign_up(
    name: String,
    email: String,
    password: String,
    lang: String,
) -> Result<(), ServerFnError> {
    use crate::{domain::money::Lang, services::accounts};
    let c = ssr::ctx().await?;
    let input = accounts::SignUpInput {
        name,
        email,
        password,
        lang: Lang::parse(&lang).unwrap_or_default(),
    };
    let result = match accounts::sign_up(&c.state, input, c.ip).await {
        Ok(account) => crate::http::identity::sign_in(&c.session, &account)
            .await
            .map_err(crate::error::ServiceError::Internal),
        Err(e) => Err(e),
    };
    ssr::finish(result, "/verify", "/signup")
}

/// Verification-code form.
#[server(prefix = "/_fn", endpoint = "auth/verify")]
pub async fn verify_email(code: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        let viewer = c.who.require_user()?;
        crate::services::accounts::verify_email(&c.state, &viewer.account, &code).await
    }
    .await;
    ssr::finish(result, "/account?notice=verified", "/verify")
}

/// "Send a new code" button.
#[server(prefix = "/_fn", endpoint = "auth/resend")]
pub async fn resend_code() -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        let viewer = c.who.require_user()?;
        crate::services::accounts::resend_verification(&c.state, &viewer.account, c.ip).await
    }
    .await;
    ssr::finish(result, "/verify?notice=sent", "/verify")
}

/// Sign-in form.
#[server(prefix = "/_fn", endpoint = "auth/sign_in")]
pub async fn sign_in(email: String, password: String, next: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = match crate::services::accounts::sign_in(&c.state, &email, &password, c.ip).await {
        Ok(account) => crate::http::identity::sign_in(&c.session, &account)
            .await
            .map_err(crate::error::ServiceError::Internal),
        Err(e) => Err(e),
    };
    let next = if next.is_empty() {
        "/account".to_owned()
    } else {
        next
    };
    ssr::finish(result, &next, &ssr::with_param("/signin", "next", &next))
}

/// Sign-out button.
#[server(prefix = "/_fn", endpoint = "auth/sign_out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = crate::http::identity::sign_out(&c.session)
        .await
        .map_err(crate::error::ServiceError::Internal);
    ssr::finish(result, "/", "/")
}

/// "Sign out everywhere" button.
#[server(prefix = "/_fn", endpoint = "auth/sign_out_all")]
pub async fn sign_out_all() -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        let viewer = c.who.require_user()?;
        crate::services::accounts::sign_out_everywhere(&c.state, &viewer.account).await?;
        crate::http::identity::sign_out(&c.session)
            .await
            .map_err(crate::error::ServiceError::Internal)
    }
    .await;
    ssr::finish(result, "/", "/account")
}

/// Organizer application form.
#[server(prefix = "/_fn", endpoint = "organizer/apply")]
pub async fn apply_organizer(
    name: String,
    contact_email: String,
    description: String,
) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let app = crate::services::organizers::Application {
        name,
        contact_email,
        description,
    };
    let result = crate::services::organizers::apply(&c.state, &c.who, app).await;
    if result.is_ok() {
        let _ = crate::http::identity::roles_changed(&c.session).await;
    }
    ssr::finish(result, "/account?notice=applied", "/organizer/apply")
}

/// Staff invitation form (owners).
#[server(prefix = "/_fn", endpoint = "organizer/invite")]
pub async fn invite_staff(
    org_id: String,
    email: String,
    events: Option<Vec<String>>,
) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        let org =
            crate::domain::OrgId::parse(&org_id).ok_or(crate::error::ServiceError::NotFound)?;
        crate::services::organizers::invite_staff(
            &c.state,
            &c.who,
            &org,
            &email,
            events.unwrap_or_default(),
        )
        .await
    }
    .await;
    ssr::finish(result, "/organizer?notice=invited", "/organizer")
}

/// Invitation acceptance button.
#[server(prefix = "/_fn", endpoint = "invitations/accept")]
pub async fn accept_invitation(token: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = crate::services::organizers::accept_invitation(&c.state, &c.who, &token).await;
    if result.is_ok() {
        let _ = crate::http::identity::roles_changed(&c.session).await;
    }
    ssr::finish(
        result,
        "/organizer?notice=joined",
        &format!("/invitations/{token}"),
    )
}

/// Approve/reject form (admins).
#[server(prefix = "/_fn", endpoint = "admin/decide")]
pub async fn decide_application(
    org_id: String,
    decision: String,
    reason: String,
) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        let org =
            crate::domain::OrgId::parse(&org_id).ok_or(crate::error::ServiceError::NotFound)?;
        crate::services::organizers::decide(&c.state, &c.who, &org, decision == "approve", &reason)
            .await
    }
    .await;
    ssr::finish(result, "/admin?notice=decided", "/admin")
}

/// Admin flag form (admins).
#[server(prefix = "/_fn", endpoint = "admin/set_admin")]
pub async fn set_admin(user_id: String, admin: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/admin/users/{user_id}");
    let result = async {
        let user =
            crate::domain::UserId::parse(&user_id).ok_or(crate::error::ServiceError::NotFound)?;
        crate::services::admin::set_admin(&c.state, &c.who, &user, admin == "true").await
    }
    .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// Suspension form (admins).
#[server(prefix = "/_fn", endpoint = "admin/suspend")]
pub async fn set_suspended(user_id: String, suspended: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let back = format!("/admin/users/{user_id}");
    let result = async {
        let user =
            crate::domain::UserId::parse(&user_id).ok_or(crate::error::ServiceError::NotFound)?;
        crate::services::admin::set_suspended(&c.state, &c.who, &user, suspended == "true").await
    }
    .await;
    ssr::finish(result, &format!("{back}?notice=saved"), &back)
}

/// The organizer dashboard's data: every approved organization of the viewer.
#[server(prefix = "/_fn", endpoint = "organizer/dashboard")]
pub async fn organizer_dashboard(
    lang: crate::domain::money::Lang,
) -> Result<Vec<DashboardOrgView>, ServerFnError> {
    use crate::{
        domain::{OrgId, Timestamp},
        server_fns::views::DashboardEventView,
    };
    let c = ssr::ctx().await?;
    let viewer = c.who.require_user().map_err(ssr::load_error)?;
    let mut out = Vec::new();
    for m in viewer.organizations() {
        let org = OrgId::from_string(m.org_id.clone());
        let events = c
            .state
            .store
            .events_of_org(&org)
            .await
            .map_err(|e| ssr::load_error(e.into()))?;
        let mut views = Vec::with_capacity(events.len());
        for e in events {
            let quotas = c
                .state
                .store
                .quotas_of_event(&crate::domain::EventId::from_string(e.id.clone()))
                .await
                .map_err(|e| ssr::load_error(e.into()))?;
            views.push(DashboardEventView {
                when: crate::services::format::when(
                    Timestamp::from_millis(e.starts_at),
                    &e.time_zone,
                    lang,
                ),
                sold: quotas.iter().map(|q| q.sold).sum(),
                capacity: quotas.iter().map(|q| q.size).sum(),
                id: e.id,
                slug: e.slug,
                title: e.title,
                status: e.status,
            });
        }
        out.push(DashboardOrgView {
            id: m.org_id.clone(),
            name: m.org_name.clone(),
            role: m.role.clone(),
            events: views,
        });
    }
    if out.is_empty() {
        return Err(ssr::load_error(crate::error::ServiceError::NotFound));
    }
    Ok(out)
}

/// Pending organizer applications (admins).
#[server(prefix = "/_fn", endpoint = "admin/applications")]
pub async fn admin_applications() -> Result<Vec<ApplicationView>, ServerFnError> {
    let c = ssr::ctx().await?;
    let list = crate::services::organizers::pending(&c.state, &c.who)
        .await
        .map_err(ssr::load_error)?;
    Ok(list
        .into_iter()
        .map(|o| ApplicationView {
            id: o.id,
            name: o.name,
            contact_email: o.contact_email,
            description: o.description,
        })
        .collect())
}

#[cfg(feature = "ssr")]
fn admin_user_view(
    a: &crate::store::accounts::Account,
    ms: &[crate::store::accounts::Membership],
) -> AdminUserView {
    AdminUserView {
        id: a.id.clone(),
        name: a.name.clone(),
        email: a.email.clone(),
        verified: a.is_verified(),
        is_admin: a.is_admin,
        suspended: a.is_suspended(),
        memberships: membership_views(ms),
    }
}

/// Users matching a search (admins).
#[server(prefix = "/_fn", endpoint = "admin/users")]
pub async fn admin_users(q: String, page: u32) -> Result<AdminUsersView, ServerFnError> {
    let c = ssr::ctx().await?;
    let found = crate::services::admin::users(&c.state, &c.who, &q, page)
        .await
        .map_err(ssr::load_error)?;
    Ok(AdminUsersView {
        items: found
            .items
            .iter()
            .map(|a| admin_user_view(a, &[]))
            .collect(),
        total: found.total,
    })
}

/// One user (admins).
#[server(prefix = "/_fn", endpoint = "admin/user")]
pub async fn admin_user(id: String) -> Result<AdminUserView, ServerFnError> {
    let c = ssr::ctx().await?;
    let user = crate::domain::UserId::parse(&id)
        .ok_or_else(|| ssr::load_error(crate::error::ServiceError::NotFound))?;
    let (account, ms) = crate::services::admin::user(&c.state, &c.who, &user)
        .await
        .map_err(ssr::load_error)?;
    Ok(admin_user_view(&account, &ms))
}

/// Whom an invitation is for.
#[server(prefix = "/_fn", endpoint = "invitations/view")]
pub async fn invitation(token: String) -> Result<InvitationView, ServerFnError> {
    let c = ssr::ctx().await?;
    let (org_name, email) = crate::services::organizers::invitation_summary(&c.state, &token)
        .await
        .map_err(ssr::load_error)?;
    Ok(InvitationView { org_name, email })
}

/// "Email me a code" on the sign-in page (and the event page's inline form
/// posts to the event page instead). The same answer whether or not an
/// account has the address.
#[server(prefix = "/_fn", endpoint = "auth/send_code")]
pub async fn send_sign_in_code(
    email: String,
    next: String,
    lang: String,
) -> Result<(), ServerFnError> {
    use crate::domain::money::Lang;
    let c = ssr::ctx().await?;
    let result = crate::services::accounts::send_sign_in_code(
        &c.state,
        &email,
        c.ip,
        Lang::parse(&lang).unwrap_or_default(),
    )
    .await;
    let query = serde_urlencoded::to_string([
        ("email", email.trim()),
        ("next", next.as_str()),
        ("notice", "code_sent"),
    ])
    .unwrap_or_default();
    ssr::finish(
        result,
        &format!("/signin/code?{query}"),
        &ssr::with_param("/signin", "next", &next),
    )
}

/// The code form of passwordless sign-in.
#[server(prefix = "/_fn", endpoint = "auth/code_sign_in")]
pub async fn code_sign_in(email: String, code: String, next: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result =
        match crate::services::accounts::sign_in_with_code(&c.state, &email, &code, c.ip).await {
            Ok(account) => crate::http::identity::sign_in(&c.session, &account)
                .await
                .map_err(crate::error::ServiceError::Internal),
            Err(e) => Err(e),
        };
    let next = if next.is_empty() {
        "/account".to_owned()
    } else {
        next
    };
    let back = format!(
        "/signin/code?{}",
        serde_urlencoded::to_string([("email", email.trim()), ("next", next.as_str())])
            .unwrap_or_default()
    );
    ssr::finish(result, &next, &back)
}

/// "Forgot your password?" form.
#[server(prefix = "/_fn", endpoint = "auth/forgot")]
pub async fn forgot_password(email: String, lang: String) -> Result<(), ServerFnError> {
    use crate::domain::money::Lang;
    let c = ssr::ctx().await?;
    let result = crate::services::accounts::forgot_password(
        &c.state,
        &email,
        c.ip,
        Lang::parse(&lang).unwrap_or_default(),
    )
    .await;
    ssr::finish(result, "/forgot?notice=reset_sent", "/forgot")
}

/// The new-password form behind the emailed link. Every other session
/// ends; this browser is signed in.
#[server(prefix = "/_fn", endpoint = "auth/reset")]
pub async fn reset_password(token: String, password: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result =
        match crate::services::accounts::reset_password(&c.state, &token, &password, c.ip).await {
            Ok(account) if account.can_sign_in() => {
                crate::http::identity::sign_in(&c.session, &account)
                    .await
                    .map_err(crate::error::ServiceError::Internal)
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
    let back = format!(
        "/reset?{}",
        serde_urlencoded::to_string([("token", token.as_str())]).unwrap_or_default()
    );
    ssr::finish(result, "/account?notice=password_reset", &back)
}

/// The profile form on the account page.
#[server(prefix = "/_fn", endpoint = "account/profile")]
pub async fn update_profile(
    name: String,
    phone: String,
    language: String,
) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let input = crate::services::profile::ProfileInput {
        name,
        phone,
        locale: language,
    };
    let result = crate::services::profile::update(&c.state, &c.who, &input).await;
    ssr::finish(result, "/account?notice=saved", "/account")
}

/// The password form on the account page: other sessions end, this one stays.
#[server(prefix = "/_fn", endpoint = "account/password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = match crate::services::accounts::change_password(
        &c.state,
        &c.who,
        &current_password,
        &new_password,
        c.ip,
    )
    .await
    {
        Ok(account) => crate::http::identity::sign_in(&c.session, &account)
            .await
            .map_err(crate::error::ServiceError::Internal),
        Err(e) => Err(e),
    };
    ssr::finish(result, "/account?notice=password_changed", "/account")
}

/// "Remove photo" on the account page.
#[server(prefix = "/_fn", endpoint = "account/photo_remove")]
pub async fn remove_photo() -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = crate::services::profile::remove_photo(&c.state, &c.who).await;
    ssr::finish(result, "/account?notice=saved", "/account")
}

/// "Delete my account" on the account page.
#[server(prefix = "/_fn", endpoint = "account/delete")]
pub async fn delete_account(
    password: Option<String>,
    confirm: Option<String>,
) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        crate::services::profile::delete_account(
            &c.state,
            &c.who,
            password.as_deref(),
            confirm.is_some_and(|v| !v.is_empty()),
        )
        .await?;
        crate::http::identity::sign_out(&c.session)
            .await
            .map_err(crate::error::ServiceError::Internal)
    }
    .await;
    ssr::finish(result, "/?notice=deleted", "/account")
}

#[cfg(feature = "ssr")]
const NEW_KEY: &str = "new_api_key";

/// Creates an organization API key from the dashboard; the key is shown
/// once on the next page (kept in the session until then, never in a URL).
#[server(prefix = "/_fn", endpoint = "organizer/api_key_create")]
pub async fn create_api_key(
    org_id: String,
    name: String,
    scope: String,
) -> Result<(), ServerFnError> {
    use crate::services::api_keys;
    let c = ssr::ctx().await?;
    let result = async {
        let org =
            crate::domain::OrgId::parse(&org_id).ok_or(crate::error::ServiceError::NotFound)?;
        let scope = api_keys::Scope::parse(&scope)?;
        let (_, secret) = api_keys::create(&c.state, &c.who, &org, &name, scope).await?;
        c.session
            .insert(NEW_KEY, (org_id.clone(), secret))
            .await
            .map_err(|e| crate::error::ServiceError::Internal(e.into()))
    }
    .await;
    let page = format!("/organizer/api-keys/{org_id}");
    ssr::finish(result, &format!("{page}?notice=key_created"), &page)
}

/// Revokes an organization API key from the dashboard.
#[server(prefix = "/_fn", endpoint = "organizer/api_key_revoke")]
pub async fn revoke_api_key(org_id: String, key_id: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = async {
        let org =
            crate::domain::OrgId::parse(&org_id).ok_or(crate::error::ServiceError::NotFound)?;
        crate::services::api_keys::revoke(&c.state, &c.who, &org, &key_id).await
    }
    .await;
    let page = format!("/organizer/api-keys/{org_id}");
    ssr::finish(result, &format!("{page}?notice=key_revoked"), &page)
}

/// An organization's API keys for the dashboard, with the secret of a key
/// created just before (taken out of the session: shown once).
#[server(prefix = "/_fn", endpoint = "organizer/api_keys")]
pub async fn api_keys(org_id: String) -> Result<ApiKeysView, ServerFnError> {
    use crate::{domain::Timestamp, services::format};
    let c = ssr::ctx().await?;
    let org = crate::domain::OrgId::parse(&org_id)
        .ok_or_else(|| ssr::load_error(crate::error::ServiceError::NotFound))?;
    let keys = crate::services::api_keys::list(&c.state, &c.who, &org)
        .await
        .map_err(ssr::load_error)?;
    // Shown once: reading it takes it out of the session.
    let new_secret = match c.session.get::<(String, String)>(NEW_KEY).await {
        Ok(Some((for_org, secret))) if for_org == org_id => {
            let _ = c.session.remove_value(NEW_KEY).await;
            Some(secret)
        }
        _ => None,
    };
    let fmt = |ms: i64| {
        format::when(
            Timestamp::from_millis(ms),
            "UTC",
            crate::domain::money::Lang::En,
        )
    };
    Ok(ApiKeysView {
        keys: keys
            .into_iter()
            .map(|k| ApiKeyView {
                created: fmt(k.created_at),
                last_used: k.last_used_at.map(fmt).unwrap_or_default(),
                revoked: k.revoked_at.is_some(),
                id: k.id,
                name: k.name,
                prefix: k.prefix,
                scope: k.scope,
            })
            .collect(),
        new_secret,
    })
}

/// The audit log for admins, filtered.
#[server(prefix = "/_fn", endpoint = "admin/audit")]
pub async fn admin_audit(
    action: String,
    user: String,
    from: String,
    to: String,
    page: u32,
) -> Result<AuditPageView, ServerFnError> {
    use crate::{
        domain::Timestamp,
        services::{audit, format},
    };
    let c = ssr::ctx().await?;
    let filter = audit::AuditFilter {
        action,
        user,
        org: String::new(),
        from,
        to,
        page: Some(page.max(1)),
    };
    let found = audit::list(&c.state, &c.who, &filter)
        .await
        .map_err(ssr::load_error)?;
    let pages = ((found.total + audit::PAGE - 1) / audit::PAGE).max(1) as u32;
    Ok(AuditPageView {
        items: found
            .items
            .into_iter()
            .map(|a| AuditRowView {
                at: format::when(
                    Timestamp::from_millis(a.at),
                    "UTC",
                    crate::domain::money::Lang::En,
                ),
                action: a.action,
                actor: a.actor_email.or(a.actor_id).unwrap_or_default(),
                subject: a.subject_email.or(a.subject_id).unwrap_or_default(),
                org: a.org_id.unwrap_or_default(),
                ip: a.ip.unwrap_or_default(),
                detail: a.detail,
            })
            .collect(),
        total: found.total,
        page: page.max(1),
        pages,
        actions: audit::actions::ALL
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    })
}
