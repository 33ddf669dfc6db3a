//! Accounts, organizers and admin: server functions behind plain HTML forms.
//!
//! Forms post straight to these functions (they work without WASM). On
//! success they redirect to the next page; on a refusal they redirect back to
//! the form with `?error=…`, and to the sign-in page when a session is needed.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::views::MembershipView;
use super::views::{
    AdminUserView, AdminUsersView, ApplicationView, DashboardOrgView, InvitationView, MeView,
};

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
        Ok(Ctx {
            state,
            who,
            session,
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
    let result = match accounts::sign_up(&c.state, input).await {
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
        crate::services::accounts::resend_verification(&c.state, &viewer.account).await
    }
    .await;
    ssr::finish(result, "/verify?notice=sent", "/verify")
}

/// Sign-in form.
#[server(prefix = "/_fn", endpoint = "auth/sign_in")]
pub async fn sign_in(email: String, password: String, next: String) -> Result<(), ServerFnError> {
    let c = ssr::ctx().await?;
    let result = match crate::services::accounts::sign_in(&c.state, &email, &password).await {
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
