//! `/api/v1` routes of Accounts II: passwordless and Google sign-in, tokens
//! for apps, passwords, the person's own profile and data, organization API
//! keys, the admins' user list and audit log.
//!
//! Sign-in routes answer with a cookie session by default, or, with
//! `"tokens": true` in the body, with an access token (JWT, for
//! `Authorization: Bearer`) and a refresh token, and no cookie.

use axum::{
    Extension, Json, Router,
    extract::{DefaultBodyLimit, Multipart, Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{delete, get, post, put},
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{
    api::{ErrorView, UserList, UserView},
    identity::{self, ClientIp},
};
use crate::{
    domain::{OrgId, UserId, money::Lang},
    error::ServiceError,
    services::{
        accounts, admin, api_keys, audit,
        authz::{Credential, Identity},
        google, profile, tokens,
    },
    state::AppState,
    store::{accounts::Account, security::ApiKeyRecord},
};

/// The routes, relative to `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/send-otp", post(send_otp))
        .route("/auth/verify-otp", post(verify_otp))
        .route("/auth/refresh-token", post(refresh_token))
        .route("/auth/forgot-password", post(forgot_password))
        .route("/auth/reset-password", post(reset_password))
        .route("/auth/google/start", get(google_start))
        .route("/auth/google/callback", get(google_callback))
        .route("/user/me", put(update_me).delete(delete_me))
        .route("/user/me/password", put(change_password))
        .route("/user/me/export", get(export_me))
        .route(
            "/user/me/photo",
            get(photo)
                .put(put_photo)
                .post(post_photo)
                .delete(delete_photo)
                .layer(DefaultBodyLimit::max(profile::PHOTO_MAX_BYTES + 64 * 1024)),
        )
        .route("/user", get(users))
        .route("/user/{id}", get(user))
        .route(
            "/organizations/{id}/api-keys",
            get(list_keys).post(create_key),
        )
        .route("/organizations/{id}/api-keys/{key_id}", delete(revoke_key))
        .route("/admin/audit", get(audit_log))
}

/// The OpenAPI document of these routes (merged into `api::ApiDoc`'s).
#[derive(OpenApi)]
#[openapi(
    modifiers(&SecuritySchemes),
    paths(
        send_otp,
        verify_otp,
        refresh_token,
        forgot_password,
        reset_password,
        google_start,
        google_callback,
        update_me,
        delete_me,
        change_password,
        export_me,
        photo,
        put_photo,
        post_photo,
        delete_photo,
        users,
        user,
        list_keys,
        create_key,
        revoke_key,
        audit_log
    ),
    components(schemas(
        SignedInView,
        TokenView,
        EmailBody,
        OtpBody,
        RefreshBody,
        ResetBody,
        MessageView,
        ProfileBody,
        PasswordBody,
        DeleteBody,
        KeyBody,
        KeyView,
        NewKeyView,
        AuditView,
        AuditList
    ))
)]
pub struct AccountsApiDoc;

/// The three ways to authenticate, as OpenAPI security schemes.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "admit_session",
                "The session cookie set by /auth/login (`__Host-admit_session` over https). \
                 Requests that change state must be same-origin (CSRF check).",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from /auth/login, /auth/verify-otp or /auth/refresh-token with \
                         `\"tokens\": true`. Cookies are ignored on such requests, so no CSRF check applies.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "An organization API key (`admit_…`): that organization's calls with an owner's rights; \
                 `read` keys may only GET. Cookies are ignored on such requests, so no CSRF check applies.",
            ))),
        );
    }
}

/// An access and a refresh token.
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    /// For `Authorization: Bearer …`.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds the access token works.
    pub expires_in: i64,
    /// Trade it once at `/auth/refresh-token` for a new pair.
    pub refresh_token: String,
    /// Seconds the refresh token works.
    pub refresh_expires_in: i64,
}

impl From<tokens::TokenPair> for TokenView {
    fn from(t: tokens::TokenPair) -> Self {
        Self {
            access_token: t.access_token,
            token_type: t.token_type.into(),
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
            refresh_expires_in: t.refresh_expires_in,
        }
    }
}

/// The account that signed in, and its tokens when they were asked for.
#[derive(Serialize, ToSchema)]
pub struct SignedInView {
    /// The account.
    #[serde(flatten)]
    pub user: UserView,
    /// Only with `"tokens": true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenView>,
}

/// Answers a successful sign-in: tokens when asked for (no cookie), a
/// cookie session otherwise.
pub(super) async fn signed_in(
    state: &AppState,
    session: &Session,
    account: Account,
    want_tokens: bool,
    status: StatusCode,
) -> Response {
    let tokens = if want_tokens {
        match tokens::issue(state, &account).await {
            Ok(t) => Some(TokenView::from(t)),
            Err(e) => return e.into_response(),
        }
    } else {
        if let Err(e) = identity::sign_in(session, &account).await {
            return ServiceError::Internal(e).into_response();
        }
        None
    };
    (
        status,
        Json(SignedInView {
            user: UserView::from(&account),
            tokens,
        }),
    )
        .into_response()
}

/// A plain answer that says what happened.
#[derive(Serialize, ToSchema)]
pub struct MessageView {
    /// What happened; the same whatever the address.
    pub message: String,
}

/// An email address.
#[derive(Deserialize, ToSchema)]
pub struct EmailBody {
    /// Email.
    pub email: String,
    /// `en` or `id`: the email's language if no account has one.
    #[serde(default)]
    pub lang: Option<String>,
}

/// The answer to /auth/send-otp, whether or not an account has the address.
pub const CODE_SENT: &str = "If an admit account uses this address, we emailed it a 6-digit sign-in code (valid 10 minutes).";
/// The answer to /auth/forgot-password, whether or not an account has the address.
pub const RESET_SENT: &str = "If an admit account uses this address, we emailed it a link to choose a new password (valid 30 minutes).";

fn accepted(message: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(MessageView {
            message: message.to_owned(),
        }),
    )
        .into_response()
}

/// Emails a 6-digit sign-in code. The answer is the same whether or not an
/// account has the address.
#[utoipa::path(post, path = "/api/v1/auth/send-otp", request_body = EmailBody,
    responses((status = 202, body = MessageView), (status = 422, body = ErrorView), (status = 429, body = ErrorView)))]
async fn send_otp(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Json(b): Json<EmailBody>,
) -> Response {
    let lang = b.lang.as_deref().and_then(Lang::parse).unwrap_or_default();
    match accounts::send_sign_in_code(&state, &b.email, ip, lang).await {
        Ok(()) => accepted(CODE_SENT),
        Err(e) => e.into_response(),
    }
}

/// An emailed code.
#[derive(Deserialize, ToSchema)]
pub struct OtpBody {
    /// Email.
    pub email: String,
    /// The 6 digits.
    pub code: String,
    /// `true`: tokens instead of a cookie session.
    #[serde(default)]
    pub tokens: bool,
}

/// Signs in with an emailed code (hashed, 10 minutes, single use, 5 tries).
/// Every failure gets the same answer.
#[utoipa::path(post, path = "/api/v1/auth/verify-otp", request_body = OtpBody,
    responses((status = 200, body = SignedInView), (status = 403, body = ErrorView), (status = 422, body = ErrorView),
        (status = 429, body = ErrorView)))]
async fn verify_otp(
    State(state): State<AppState>,
    session: Session,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Json(b): Json<OtpBody>,
) -> Response {
    match accounts::sign_in_with_code(&state, &b.email, &b.code, ip).await {
        Ok(account) => signed_in(&state, &session, account, b.tokens, StatusCode::OK).await,
        Err(e) => e.into_response(),
    }
}

/// A refresh token.
#[derive(Deserialize, ToSchema)]
pub struct RefreshBody {
    /// The refresh token (`rt_…`).
    pub refresh_token: String,
}

/// Trades a refresh token for a new pair; the old one stops working. Using
/// a token a second time revokes every token rotated from the same sign-in.
#[utoipa::path(post, path = "/api/v1/auth/refresh-token", request_body = RefreshBody,
    responses((status = 200, body = SignedInView), (status = 422, body = ErrorView)))]
async fn refresh_token(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Json(b): Json<RefreshBody>,
) -> Response {
    match tokens::refresh(&state, &b.refresh_token, ip).await {
        Ok((account, pair)) => Json(SignedInView {
            user: UserView::from(&account),
            tokens: Some(pair.into()),
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Emails a single-use link to choose a new password (30 minutes). The
/// answer is the same whether or not an account has the address.
#[utoipa::path(post, path = "/api/v1/auth/forgot-password", request_body = EmailBody,
    responses((status = 202, body = MessageView), (status = 422, body = ErrorView), (status = 429, body = ErrorView)))]
async fn forgot_password(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Json(b): Json<EmailBody>,
) -> Response {
    let lang = b.lang.as_deref().and_then(Lang::parse).unwrap_or_default();
    match accounts::forgot_password(&state, &b.email, ip, lang).await {
        Ok(()) => accepted(RESET_SENT),
        Err(e) => e.into_response(),
    }
}

/// A new password from an emailed link.
#[derive(Deserialize, ToSchema)]
pub struct ResetBody {
    /// The token from the link (`pr_…`).
    pub token: String,
    /// The new password.
    pub password: String,
}

/// Sets a new password with the emailed link (once). Every session and token
/// of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/reset-password", request_body = ResetBody,
    responses((status = 204), (status = 422, body = ErrorView)))]
async fn reset_password(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Json(b): Json<ResetBody>,
) -> Response {
    match accounts::reset_password(&state, &b.token, &b.password, ip).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

fn local(path: &str) -> String {
    crate::server_fns::accounts::ssr::local(if path.is_empty() { "/account" } else { path })
}

/// Starts "Sign in with Google": redirects the browser to the provider
/// (authorization code with PKCE S256, state and nonce). 404 when Google
/// sign-in is not configured.
#[utoipa::path(get, path = "/api/v1/auth/google/start", params(("next" = Option<String>, Query)),
    responses((status = 303, description = "to the provider"), (status = 404, body = ErrorView)))]
async fn google_start(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<NextQuery>,
) -> Response {
    if !google::enabled(&state) {
        return ServiceError::NotFound.into_response();
    }
    match google::start(&state, &local(&q.next)).await {
        Ok((url, flow)) => match identity::begin_google(&session, &flow).await {
            Ok(()) => Redirect::to(&url).into_response(),
            Err(e) => ServiceError::Internal(e).into_response(),
        },
        Err(e) => to_sign_in(e),
    }
}

fn to_sign_in(e: ServiceError) -> Response {
    Redirect::to(&crate::server_fns::accounts::ssr::with_param(
        "/signin",
        "error",
        &e.public_message(),
    ))
    .into_response()
}

/// Where the provider sends the browser back: checks state, PKCE, the ID
/// token, signs in and goes on to where the person was (or back to the
/// sign-in page with the reason). A refusal leaves no session.
#[utoipa::path(get, path = "/api/v1/auth/google/callback",
    params(("code" = Option<String>, Query), ("state" = Option<String>, Query), ("error" = Option<String>, Query)),
    responses((status = 303, description = "signed in, or back to /signin with the reason"), (status = 404, body = ErrorView)))]
async fn google_callback(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Query(callback): Query<google::Callback>,
) -> Response {
    if !google::enabled(&state) {
        return ServiceError::NotFound.into_response();
    }
    let flow = match identity::take_google(&session).await {
        Ok(f) => f,
        Err(e) => return ServiceError::Internal(e).into_response(),
    };
    let lang = crate::http::pages::lang_of_headers(&headers);
    match google::finish(&state, flow, &callback, ip, lang).await {
        Ok((account, next)) => match identity::sign_in(&session, &account).await {
            Ok(()) => Redirect::to(&local(&next)).into_response(),
            Err(e) => ServiceError::Internal(e).into_response(),
        },
        Err(e) => to_sign_in(e),
    }
}

/// Profile fields.
#[derive(Deserialize, ToSchema)]
pub struct ProfileBody {
    /// Display name.
    pub name: String,
    /// Phone number; empty or missing for none.
    #[serde(default)]
    pub phone: Option<String>,
    /// `en` or `id`; missing keeps the current one.
    #[serde(default)]
    pub language: Option<String>,
}

/// Updates the signed-in person's name, phone and language.
#[utoipa::path(put, path = "/api/v1/user/me", request_body = ProfileBody,
    responses((status = 200, body = UserView), (status = 401, body = ErrorView), (status = 422, body = ErrorView)))]
async fn update_me(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Json(b): Json<ProfileBody>,
) -> Response {
    let input = profile::ProfileInput {
        name: b.name,
        phone: b.phone.unwrap_or_default(),
        locale: b.language.unwrap_or_default(),
    };
    match profile::update(&state, &who, &input).await {
        Ok(a) => Json(UserView::from(&a)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A password change.
#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    /// The current password (not needed by accounts that have none yet).
    #[serde(default)]
    pub current_password: String,
    /// The new password.
    pub new_password: String,
}

/// Changes the password; every other session and token ends. A cookie
/// session stays signed in (204); a bearer client gets a new token pair (200).
#[utoipa::path(put, path = "/api/v1/user/me/password", request_body = PasswordBody,
    responses((status = 204), (status = 200, body = SignedInView), (status = 401, body = ErrorView),
        (status = 422, body = ErrorView), (status = 429, body = ErrorView)))]
async fn change_password(
    State(state): State<AppState>,
    session: Session,
    Extension(who): Extension<Identity>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Json(b): Json<PasswordBody>,
) -> Response {
    let account =
        match accounts::change_password(&state, &who, &b.current_password, &b.new_password, ip)
            .await
        {
            Ok(a) => a,
            Err(e) => return e.into_response(),
        };
    let bearer = who
        .0
        .as_deref()
        .is_some_and(|v| v.credential == Credential::AccessToken);
    if bearer {
        signed_in(&state, &session, account, true, StatusCode::OK).await
    } else {
        match identity::sign_in(&session, &account).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => ServiceError::Internal(e).into_response(),
        }
    }
}

/// Confirmation of a deletion.
#[derive(Deserialize, ToSchema)]
pub struct DeleteBody {
    /// Must be true.
    #[serde(default)]
    pub confirm: bool,
    /// The current password, for accounts that have one.
    #[serde(default)]
    pub password: Option<String>,
}

/// Deletes the signed-in person's account: personal data is anonymized,
/// orders stay for accounting, every way to sign in ends.
#[utoipa::path(delete, path = "/api/v1/user/me", request_body = DeleteBody,
    responses((status = 204), (status = 401, body = ErrorView), (status = 422, body = ErrorView)))]
async fn delete_me(
    State(state): State<AppState>,
    session: Session,
    Extension(who): Extension<Identity>,
    Json(b): Json<DeleteBody>,
) -> Response {
    let result = async {
        profile::delete_account(&state, &who, b.password.as_deref(), b.confirm).await?;
        identity::sign_out(&session)
            .await
            .map_err(ServiceError::Internal)
    };
    match result.await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Everything admit holds about the signed-in person, as a JSON download.
#[utoipa::path(get, path = "/api/v1/user/me/export",
    responses((status = 200, description = "the export (JSON attachment)"), (status = 401, body = ErrorView)))]
async fn export_me(State(state): State<AppState>, Extension(who): Extension<Identity>) -> Response {
    match profile::export(&state, &who).await {
        Ok(doc) => (
            [
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"admit-my-data.json\"",
                ),
                (header::CACHE_CONTROL, "private, no-store"),
            ],
            Json(doc),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The signed-in person's photo (JPEG).
#[utoipa::path(get, path = "/api/v1/user/me/photo",
    responses((status = 200, content_type = "image/jpeg"), (status = 401, body = ErrorView), (status = 404, body = ErrorView)))]
async fn photo(State(state): State<AppState>, Extension(who): Extension<Identity>) -> Response {
    match profile::photo(&state, &who).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "private, no-store"),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Sets the photo from the raw body (JPG, PNG or WebP, at most 2 MB); it is
/// decoded, cropped square and re-encoded without metadata.
#[utoipa::path(put, path = "/api/v1/user/me/photo", request_body(content_type = "image/*"),
    responses((status = 204), (status = 401, body = ErrorView), (status = 413), (status = 422, body = ErrorView)))]
async fn put_photo(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    body: axum::body::Bytes,
) -> Response {
    no_content(profile::upload_photo(&state, &who, body.to_vec()).await)
}

/// The same from an HTML form (`multipart/form-data`, field `photo`); a
/// browser is sent back to its account page.
#[utoipa::path(post, path = "/api/v1/user/me/photo", request_body(content_type = "multipart/form-data"),
    responses((status = 204), (status = 303), (status = 401, body = ErrorView), (status = 422, body = ErrorView)))]
async fn post_photo(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let result = async {
        let mut bytes = None;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|_| ServiceError::Invalid("The upload was cut off; try again.".into()))?
        {
            if field.name() == Some("photo") {
                bytes = Some(field.bytes().await.map_err(|_| {
                    ServiceError::Invalid("The photo must be at most 2 MB.".into())
                })?);
            }
        }
        let bytes =
            bytes.ok_or_else(|| ServiceError::Invalid("Choose an image file to upload.".into()))?;
        profile::upload_photo(&state, &who, bytes.to_vec()).await
    };
    let result = result.await;
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !browser {
        return no_content(result);
    }
    let to = match result {
        Ok(()) => "/account?notice=saved".to_owned(),
        Err(ServiceError::Unauthenticated) => "/signin?next=/account".to_owned(),
        Err(e) => {
            crate::server_fns::accounts::ssr::with_param("/account", "error", &e.public_message())
        }
    };
    Redirect::to(&to).into_response()
}

/// Removes the photo.
#[utoipa::path(delete, path = "/api/v1/user/me/photo",
    responses((status = 204), (status = 401, body = ErrorView)))]
async fn delete_photo(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) -> Response {
    no_content(profile::remove_photo(&state, &who).await)
}

#[derive(Deserialize)]
struct UserQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<u32>,
}

/// Lists and searches users by email or name (admins).
#[utoipa::path(get, path = "/api/v1/user", params(("q" = Option<String>, Query), ("page" = Option<u32>, Query)),
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
#[utoipa::path(get, path = "/api/v1/user/{id}", params(("id" = String, Path)),
    responses((status = 200, body = UserView), (status = 401, body = ErrorView), (status = 404, body = ErrorView)))]
async fn user(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let id = UserId::parse(&id).ok_or(ServiceError::NotFound)?;
        admin::user(&state, &who, &id).await
    };
    match result.await {
        Ok((account, _)) => Json(UserView::from(&account)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A new API key.
#[derive(Deserialize, ToSchema)]
pub struct KeyBody {
    /// What it is for ("box office app").
    pub name: String,
    /// `read` or `read_write`.
    pub scope: String,
}

/// An API key as listed (never the key itself).
#[derive(Serialize, ToSchema)]
pub struct KeyView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    /// `read` or `read_write`.
    pub scope: String,
    /// Created (UTC ms).
    pub created_at: i64,
    /// Last used, to the minute (UTC ms).
    pub last_used_at: Option<i64>,
    /// Revoked (UTC ms).
    pub revoked_at: Option<i64>,
}

impl From<ApiKeyRecord> for KeyView {
    fn from(k: ApiKeyRecord) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            scope: k.scope,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A key just created: the only time it is shown.
#[derive(Serialize, ToSchema)]
pub struct NewKeyView {
    /// The key as listed.
    #[serde(flatten)]
    pub key: KeyView,
    /// The key itself, for `X-Api-Key`; store it now, it is never shown again.
    pub secret: String,
}

fn parse_org(id: &str) -> Result<OrgId, ServiceError> {
    OrgId::parse(id).ok_or(ServiceError::NotFound)
}

/// The organization's API keys (owners and admins).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/api-keys", params(("id" = String, Path)),
    responses((status = 200, body = [KeyView]), (status = 401, body = ErrorView), (status = 404, body = ErrorView)))]
async fn list_keys(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Response {
    let result = async { api_keys::list(&state, &who, &parse_org(&id)?).await };
    match result.await {
        Ok(keys) => Json(keys.into_iter().map(KeyView::from).collect::<Vec<_>>()).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Creates an API key (owners and admins); the answer shows it once.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/api-keys", request_body = KeyBody, params(("id" = String, Path)),
    responses((status = 201, body = NewKeyView), (status = 401, body = ErrorView), (status = 404, body = ErrorView),
        (status = 422, body = ErrorView)))]
async fn create_key(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Json(b): Json<KeyBody>,
) -> Response {
    let result = async {
        let org = parse_org(&id)?;
        let scope = api_keys::Scope::parse(&b.scope)?;
        api_keys::create(&state, &who, &org, &b.name, scope).await
    };
    match result.await {
        Ok((key, secret)) => (
            StatusCode::CREATED,
            Json(NewKeyView {
                key: key.into(),
                secret,
            }),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Revokes an API key at once (owners and admins).
#[utoipa::path(delete, path = "/api/v1/organizations/{id}/api-keys/{key_id}",
    params(("id" = String, Path), ("key_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorView), (status = 404, body = ErrorView)))]
async fn revoke_key(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, key_id)): Path<(String, String)>,
) -> Response {
    let result = async { api_keys::revoke(&state, &who, &parse_org(&id)?, &key_id).await };
    no_content(result.await)
}

/// One audit entry.
#[derive(Serialize, ToSchema)]
pub struct AuditView {
    /// Id.
    pub id: String,
    /// When (UTC ms).
    pub at: i64,
    /// What happened.
    pub action: String,
    /// Who did it.
    pub actor_id: Option<String>,
    /// Their email now.
    pub actor_email: Option<String>,
    /// The account concerned.
    pub subject_id: Option<String>,
    /// Its email now.
    pub subject_email: Option<String>,
    /// The organization concerned.
    pub org_id: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Details.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A page of the audit log.
#[derive(Serialize, ToSchema)]
pub struct AuditList {
    /// Entries, newest first.
    pub items: Vec<AuditView>,
    /// Matching entries.
    pub total: i64,
}

/// The audit log of security events and admin actions, newest first
/// (admins). Filters: `action`, `user` (email or id, by or about), `org`,
/// `from` and `to` (days, UTC, inclusive), `page`.
#[utoipa::path(get, path = "/api/v1/admin/audit",
    params(("action" = Option<String>, Query), ("user" = Option<String>, Query), ("org" = Option<String>, Query),
        ("from" = Option<String>, Query), ("to" = Option<String>, Query), ("page" = Option<u32>, Query)),
    responses((status = 200, body = AuditList), (status = 401, body = ErrorView), (status = 404, body = ErrorView),
        (status = 422, body = ErrorView)))]
async fn audit_log(
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(f): Query<audit::AuditFilter>,
) -> Response {
    match audit::list(&state, &who, &f).await {
        Ok(page) => Json(AuditList {
            items: page.items.into_iter().map(audit_view).collect(),
            total: page.total,
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// An entry as the API and the admin page show it.
pub fn audit_view(a: crate::store::security::AuditEntry) -> AuditView {
    AuditView {
        detail: serde_json::from_str(&a.detail).unwrap_or(serde_json::Value::Null),
        id: a.id,
        at: a.at,
        action: a.action,
        actor_id: a.actor_id,
        actor_email: a.actor_email,
        subject_id: a.subject_id,
        subject_email: a.subject_email,
        org_id: a.org_id,
        ip: a.ip,
    }
}

fn no_content(result: Result<(), ServiceError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}
