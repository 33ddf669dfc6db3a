//! The REST API under `/api/v1`, documented by the OpenAPI spec at
//! `/api/v1/openapi.json`. Handlers parse input, call a service and map the
//! result. Authentication is the session cookie (CSRF-checked like every
//! mutating request), a bearer access token, or an organization API key
//! (see `http::identity`).

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::{OpenApi, ToSchema};

use super::identity::ClientIp;
use crate::{
    domain::{OrgId, UserId, money::Lang},
    error::ServiceError,
    services::{accounts, admin, authz::Identity, organizers},
    state::AppState,
    store::accounts::Account,
};

/// The `/api/v1` routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/logout-all", post(logout_all))
        .route("/auth/verify-email", post(verify_email))
        .route("/auth/resend-code", post(resend_code))
        .route("/user/me", get(me))
        .route("/organizer-applications", post(apply))
        .route("/organizations/{id}", get(organization))
        .route("/organizations/{id}/invitations", post(invite))
        .route("/invitations/{token}/accept", post(accept))
        .route("/admin/applications", get(applications))
        .route("/admin/applications/{id}/decision", post(decide))
        .route("/admin/users", get(users))
        .route("/admin/users/{id}", get(user))
        .route("/admin/users/{id}/admin", put(set_admin))
        .route("/admin/users/{id}/suspension", put(set_suspension))
        .merge(super::api_accounts::router())
        .merge(super::api_events::router())
        .merge(super::api_orders::router())
        .merge(super::api_tickets::router())
        .fallback(not_found)
}

async fn not_found() -> Response {
    ServiceError::NotFound.into_response()
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "admit",
        description = "admit's REST API. Authentication, one of: the session cookie set by /auth/login; \
        a bearer access token (`Authorization: Bearer <jwt>`, from /auth/login with `\"tokens\": true`, 15 minutes, \
        renewed at /auth/refresh-token); an organization API key (`X-Api-Key: admit_…`; read keys may only GET). \
        Cookie-authenticated requests that change state must be same-origin (Origin / Sec-Fetch-Site are checked). \
        Requests that present a bearer token or an API key are judged by it alone: their cookies are ignored, so they \
        carry no CSRF risk and the CSRF check does not apply to them."
    ),
    paths(
        register,
        login,
        logout,
        logout_all,
        verify_email,
        resend_code,
        me,
        apply,
        organization,
        invite,
        accept,
        applications,
        decide,
        users,
        user,
        set_admin,
        set_suspension,
        super::api_events::list,
        super::api_events::one,
        super::api_events::tickets,
        super::api_events::create,
        super::api_events::update,
        super::api_events::delete,
        super::api_events::create_quota,
        super::api_events::update_quota,
        super::api_events::create_tier,
        super::api_events::update_tier,
        super::api_events::delete_tier,
        super::api_events::list_codes,
        super::api_events::create_code,
        super::api_events::update_code,
        super::api_events::delete_code,
        super::api_events::put_banner,
        super::api_events::post_banner,
        super::api_events::seat_map,
        super::api_events::put_seat_map,
        super::api_events::delete_seat_map,
        super::api_events::delete_quota,
        super::api_orders::create,
        super::api_orders::list,
        super::api_orders::one,
        super::api_orders::release,
        super::api_orders::seat_status,
        super::api_orders::checkout,
        super::api_orders::stripe_webhook
    ),
    components(schemas(
        RegisterBody,
        LoginBody,
        CodeBody,
        UserView,
        ApplyBody,
        OrgView,
        InviteBody,
        InviteView,
        DecisionBody,
        UserList,
        AdminFlag,
        SuspensionFlag,
        ErrorView,
        super::api_events::NewEventBody,
        super::api_events::UpdateEventBody,
        super::api_events::Created,
        super::api_events::QuotaBody,
        crate::services::events::EventInput,
        crate::services::events::TierInput,
        crate::services::events::CodeInput,
        crate::services::events::CodeView,
        crate::services::holds::HoldRequest,
        crate::services::holds::TierPick,
        crate::services::holds::BestAvailable,
        crate::server_fns::views::OrderView,
        crate::server_fns::views::OrderItemView,
        crate::server_fns::views::SeatStatusView,
        crate::server_fns::views::CheckoutInput,
        crate::server_fns::views::AttendeeInput
    ))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    doc.merge(super::api_accounts::AccountsApiDoc::openapi());
    doc.merge(super::api_tickets::TicketsApiDoc::openapi());
    Json(doc)
}

/// Every error body.
#[derive(Serialize, ToSchema)]
pub struct ErrorView {
    /// What went wrong and what to do.
    pub error: String,
}

/// An account as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Email confirmed.
    pub verified: bool,
    /// Platform admin.
    pub is_admin: bool,
    /// Suspended by an admin.
    pub suspended: bool,
    /// Phone number, if given.
    pub phone: Option<String>,
    /// `en` or `id`: the language of emails.
    pub language: String,
    /// Whether a profile photo is set (`GET /user/me/photo`).
    pub has_photo: bool,
    /// Whether the account has a password (Google-only accounts may not).
    pub has_password: bool,
}

impl From<&Account> for UserView {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.clone(),
            email: a.email.clone(),
            name: a.name.clone(),
            verified: a.is_verified(),
            is_admin: a.is_admin,
            suspended: a.is_suspended(),
            phone: a.phone.clone(),
            language: a.locale.clone(),
            has_photo: a.photo_key.is_some(),
            has_password: a.password_hash.is_some(),
        }
    }
}

/// Sign-up.
#[derive(Deserialize, ToSchema)]
pub struct RegisterBody {
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// At least 8 characters with upper and lower case, a digit and a symbol.
    pub password: String,
    /// `en` or `id` (emails' language).
    #[serde(default)]
    pub lang: Option<String>,
    /// `true`: answer with an access and a refresh token instead of starting
    /// a cookie session (for apps).
    #[serde(default)]
    pub tokens: bool,
}

/// Creates an account, emails a 6-digit code and signs in (unverified):
/// a cookie session, or tokens with `"tokens": true`.
#[utoipa::path(post, path = "/api/v1/auth/register", request_body = RegisterBody,
    responses((status = 201, body = super::api_accounts::SignedInView), (status = 409, body = ErrorView),
        (status = 422, body = ErrorView), (status = 429, body = ErrorView)))]
async fn register(
    State(state): State<AppState>,
    session: Session,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Json(b): Json<RegisterBody>,
) -> Response {
    let lang = b.lang.as_deref().and_then(Lang::parse).unwrap_or_default();
    let input = accounts::SignUpInput {
        name: b.name,
        email: b.email,
        password: b.password,
        lang,
    };
    match accounts::sign_up(&state, input, ip).await {
        Ok(account) => {
            super::api_accounts::signed_in(&state, &session, account, b.tokens, StatusCode::CREATED)
                .await
        }
        Err(e) => e.into_response(),
    }
}

/// Sign-in.
#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// `true`: answer with an access and a refresh token instead of starting
    /// a cookie session (for apps).
    #[serde(default)]
    pub tokens: bool,
}

/// Signs in with email and password: a cookie session (a new session id
/// every time), or, with `"tokens": true`, an access and a refresh token and
/// no cookie. A wrong password and an unknown email get the same answer.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginBody,
    responses((status = 200, body = super::api_accounts::SignedInView), (status = 422, body = ErrorView),
        (status = 403, body = ErrorView), (status = 429, body = ErrorView)))]
async fn login(
    State(state): State<AppState>,
    session: Session,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Json(b): Json<LoginBody>,
) -> Response {
    match accounts::sign_in(&state, &b.email, &b.password, ip).await {
        Ok(account) => {
            super::api_accounts::signed_in(&state, &session, account, b.tokens, StatusCode::OK)
                .await
        }
        Err(e) => e.into_response(),
    }
}

/// Signs out.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)))]
async fn logout(session: Session) -> Response {
    match crate::http::identity::sign_out(&session).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ServiceError::Internal(e).into_response(),
    }
}

/// Signs out every session of the account, this one included.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", responses((status = 204), (status = 401, body = ErrorView)))]
async fn logout_all(
    State(state): State<AppState>,
    session: Session,
    Extension(who): Extension<Identity>,
) -> Response {
    let result = async {
        let viewer = who.require_user()?;
        accounts::sign_out_everywhere(&state, &viewer.account).await?;
        crate::http::identity::sign_out(&session)
            .await
            .map_err(ServiceError::Internal)
    };
    no_content(result.await)
}

/// A 6-digit code.
#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    /// The code from the email.
    pub code: String,
}

/// Confirms the email address with the emailed code.
#[utoipa::path(post, path = "/api/v1/auth/verify-email", request_body = CodeBody,
    responses((status = 204), (status = 401, body = ErrorView), (status = 422, body = ErrorView)))]
async fn verify_email(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Json(b): Json<CodeBody>,
) -> Response {
    let result = async {
        let viewer = who.require_user()?;
        accounts::verify_email(&state, &viewer.account, &b.code).await
    };
    no_content(result.await)
}

/// Sends a new verification code.
#[utoipa::path(post, path = "/api/v1/auth/resend-code",
    responses((status = 204), (status = 401, body = ErrorView), (status = 422, body = ErrorView), (status = 429, body = ErrorView)))]
async fn resend_code(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
) -> Response {
    let result = async {
        let viewer = who.require_user()?;
        accounts::resend_verification(&state, &viewer.account, ip).await
    };
    no_content(result.await)
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/user/me", responses((status = 200, body = UserView), (status = 401, body = ErrorView)))]
async fn me(Extension(who): Extension<Identity>) -> Response {
    match who.require_user() {
        Ok(v) => Json(UserView::from(&v.account)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// An organizer application.
#[derive(Deserialize, ToSchema)]
pub struct ApplyBody {
    /// Organization name.
    pub name: String,
    /// Contact email.
    pub contact_email: String,
    /// About the organizer.
    #[serde(default)]
    pub description: String,
}

/// An organization.
#[derive(Serialize, ToSchema)]
pub struct OrgView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// The admin's reason, once decided.
    pub decision_reason: Option<String>,
}

/// Applies to become an organizer (verified accounts).
#[utoipa::path(post, path = "/api/v1/organizer-applications", request_body = ApplyBody,
    responses((status = 201, body = OrgView), (status = 401, body = ErrorView), (status = 403, body = ErrorView), (status = 422, body = ErrorView)))]
async fn apply(
    State(state): State<AppState>,
    session: Session,
    Extension(who): Extension<Identity>,
    Json(b): Json<ApplyBody>,
) -> Response {
    let app = organizers::Application {
        name: b.name,
        contact_email: b.contact_email,
        description: b.description,
    };
    match organizers::apply(&state, &who, app).await {
        Ok(org) => {
            let _ = crate::http::identity::roles_changed(&session).await;
            match state.store.organization(&org).await {
                Ok(Some(o)) => (StatusCode::CREATED, Json(OrgView::from(o))).into_response(),
                Ok(None) => ServiceError::NotFound.into_response(),
                Err(e) => ServiceError::from(e).into_response(),
            }
        }
        Err(e) => e.into_response(),
    }
}

impl From<crate::store::accounts::Organization> for OrgView {
    fn from(o: crate::store::accounts::Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            status: o.status,
            decision_reason: o.decision_reason,
        }
    }
}

/// An organization, for its members and admins (others: 404).
#[utoipa::path(get, path = "/api/v1/organizations/{id}", params(("id" = String, Path)),
    responses((status = 200, body = OrgView), (status = 401, body = ErrorView), (status = 404, body = ErrorView)))]
async fn organization(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let org = parse_org(&id)?;
        who.require_member(&org)?;
        state
            .store
            .organization(&org)
            .await?
            .ok_or(ServiceError::NotFound)
    };
    match result.await {
        Ok(o) => Json(OrgView::from(o)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn parse_org(id: &str) -> Result<OrgId, ServiceError> {
    OrgId::parse(id).ok_or(ServiceError::NotFound)
}

fn parse_user(id: &str) -> Result<UserId, ServiceError> {
    UserId::parse(id).ok_or(ServiceError::NotFound)
}

/// A staff invitation.
#[derive(Deserialize, ToSchema)]
pub struct InviteBody {
    /// The staff member's email.
    pub email: String,
    /// Events they may scan; empty or missing for all.
    #[serde(default)]
    pub event_ids: Vec<String>,
}

/// A created invitation.
#[derive(Serialize, ToSchema)]
pub struct InviteView {
    /// The acceptance link (also emailed).
    pub url: String,
}

/// Invites door staff (owners and admins).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/invitations", request_body = InviteBody, params(("id" = String, Path)),
    responses((status = 201, body = InviteView), (status = 401, body = ErrorView), (status = 404, body = ErrorView), (status = 422, body = ErrorView)))]
async fn invite(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Json(b): Json<InviteBody>,
) -> Response {
    let result = async {
        let org = parse_org(&id)?;
        organizers::invite_staff(&state, &who, &org, &b.email, b.event_ids).await
    };
    match result.await {
        Ok(token) => (
            StatusCode::CREATED,
            Json(InviteView {
                url: format!(
                    "{}/invitations/{token}",
                    state.config.settings.public_base()
                ),
            }),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Accepts an invitation as the signed-in invitee.
#[utoipa::path(post, path = "/api/v1/invitations/{token}/accept", params(("token" = String, Path)),
    responses((status = 200, body = OrgView), (status = 401, body = ErrorView), (status = 403, body = ErrorView), (status = 404, body = ErrorView)))]
async fn accept(
    State(state): State<AppState>,
    session: Session,
    Extension(who): Extension<Identity>,
    Path(token): Path<String>,
) -> Response {
    match organizers::accept_invitation(&state, &who, &token).await {
        Ok(org) => {
            let _ = crate::http::identity::roles_changed(&session).await;
            match state.store.organization(&org).await {
                Ok(Some(o)) => Json(OrgView::from(o)).into_response(),
                Ok(None) => ServiceError::NotFound.into_response(),
                Err(e) => ServiceError::from(e).into_response(),
            }
        }
        Err(e) => e.into_response(),
    }
}

/// Pending organizer applications (admins).
#[utoipa::path(get, path = "/api/v1/admin/applications",
    responses((status = 200, body = [OrgView]), (status = 401, body = ErrorView), (status = 404, body = ErrorView)))]
async fn applications(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> Response {
    match organizers::pending(&state, &who).await {
        Ok(list) => Json(list.into_iter().map(OrgView::from).collect::<Vec<_>>()).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A decision on an application.
#[derive(Deserialize, ToSchema)]
pub struct DecisionBody {
    /// Approve (true) or reject (false).
    pub approve: bool,
    /// Why; emailed to the applicant.
    pub reason: String,
}

/// Approves or rejects an application (admins).
#[utoipa::path(post, path = "/api/v1/admin/applications/{id}/decision", request_body = DecisionBody, params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorView), (status = 404, body = ErrorView), (status = 409, body = ErrorView)))]
async fn decide(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Json(b): Json<DecisionBody>,
) -> Response {
    let result = async {
        let org = parse_org(&id)?;
        organizers::decide(&state, &who, &org, b.approve, &b.reason).await
    };
    no_content(result.await)
}

/// Query of the user list.
#[derive(Deserialize)]
struct UserQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<u32>,
}

/// A page of users.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    /// Users.
    pub items: Vec<UserView>,
    /// Matching users.
    pub total: i64,
}

/// Lists and searches users (admins).
#[utoipa::path(get, path = "/api/v1/admin/users", params(("q" = Option<String>, Query), ("page" = Option<u32>, Query)),
    responses((status = 200, body = UserList), (status = 401, body = ErrorView), (status = 404, body = ErrorView)))]
async fn users(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<UserQuery>,
) -> Response {
    match admin::users(&state, &who, &q.q, q.page.unwrap_or(1)).await {
        Ok(page) => Json(UserList {
            items: page.items.iter().map(UserView::from).collect(),
            total: page.total,
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// One user (admins).
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 401, body = ErrorView), (status = 404, body = ErrorView)))]
async fn user(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async { admin::user(&state, &who, &parse_user(&id)?).await };
    match result.await {
        Ok((account, _)) => Json(UserView::from(&account)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Platform-admin flag.
#[derive(Deserialize, ToSchema)]
pub struct AdminFlag {
    /// Grant or remove.
    pub is_admin: bool,
}

/// Grants or removes platform admin (admins).
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/admin", request_body = AdminFlag, params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorView), (status = 404, body = ErrorView)))]
async fn set_admin(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Json(b): Json<AdminFlag>,
) -> Response {
    let result = async { admin::set_admin(&state, &who, &parse_user(&id)?, b.is_admin).await };
    no_content(result.await)
}

/// Suspension flag.
#[derive(Deserialize, ToSchema)]
pub struct SuspensionFlag {
    /// Suspend or lift.
    pub suspended: bool,
}

/// Suspends (ending every session) or unsuspends a user (admins).
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/suspension", request_body = SuspensionFlag, params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorView), (status = 404, body = ErrorView)))]
async fn set_suspension(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Json(b): Json<SuspensionFlag>,
) -> Response {
    let result = async { admin::set_suspended(&state, &who, &parse_user(&id)?, b.suspended).await };
    no_content(result.await)
}

fn no_content(result: Result<(), ServiceError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
