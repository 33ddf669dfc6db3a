//! "Sign in with Google": the OAuth 2.0 authorization-code flow with PKCE,
//! state and nonce (oauth2 through openidconnect), and the ID token verified
//! against the provider's published keys (JWKS): signature, `iss`, `aud`,
//! `exp` (by admit's clock) and `nonce`.
//!
//! The provider is found through OpenID discovery at `google_issuer_url`, so
//! tests point admit at a local fake provider that speaks the same HTTP.
//! The flow's secrets (state, nonce, PKCE verifier) live in the browser's
//! server-side session between the start and the callback, never in the URL
//! or a cookie of their own.
//!
//! A Google account whose *verified* email matches an account is linked to
//! it; an unverified Google email is never linked (nor used to create an
//! account). Every refusal leaves no signed-in session behind.

use std::net::IpAddr;

use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    domain::{UserId, account::EmailAddress, money::Lang},
    error::ServiceError,
    services::{
        accounts::signed_in,
        audit::{self, AuditExt, actions},
    },
    state::AppState,
    store::{
        accounts::Account,
        constant_time_eq, new_id,
        security::{ExternalLogin, ExternalOutcome},
    },
    telemetry::mask_email,
};

/// A flow must come back within this long.
pub const FLOW_MINUTES: i64 = 10;
/// The path of the callback, registered at the provider as
/// `<public_url>/api/v1/auth/google/callback`.
pub const CALLBACK_PATH: &str = "/api/v1/auth/google/callback";

/// What the session keeps between the start and the callback.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GoogleFlow {
    /// The `state` sent to the provider (CSRF protection of the callback).
    pub state: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier; its S256 challenge went to the provider.
    pub pkce_verifier: String,
    /// Where to go after signing in (a local path).
    pub next: String,
    /// When the flow started (UTC ms).
    pub started_at: i64,
}

/// What the provider sent back to the callback.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    /// The authorization code.
    #[serde(default)]
    pub code: Option<String>,
    /// The state, to compare with the session's.
    #[serde(default)]
    pub state: Option<String>,
    /// Set when the person cancelled or the provider refused.
    #[serde(default)]
    pub error: Option<String>,
}

/// Whether "Sign in with Google" is configured.
pub fn enabled(state: &AppState) -> bool {
    state.config.google.is_some()
}

/// The redirect URI registered at the provider.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}{CALLBACK_PATH}", state.config.settings.public_base())
}

fn http_client() -> Result<openidconnect::reqwest::Client, ServiceError> {
    openidconnect::reqwest::ClientBuilder::new()
        // Following redirects would let a provider point admit anywhere.
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| ServiceError::Internal(e.into()))
}

fn unavailable(e: impl std::fmt::Display) -> ServiceError {
    tracing::warn!(error = %e, "the Google sign-in provider could not be reached");
    ServiceError::Conflict(
        "Google sign-in is not available right now. Try again in a moment, or sign in with your email."
            .into(),
    )
}

/// The client, configured from the provider's discovery document (which
/// also brings its JWKS).
async fn client(
    state: &AppState,
    http: &openidconnect::reqwest::Client,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    ServiceError,
> {
    let google = state.config.google.as_ref().ok_or(ServiceError::NotFound)?;
    let issuer = IssuerUrl::new(state.config.settings.google_issuer_url.clone())
        .map_err(|e| ServiceError::Internal(e.into()))?;
    let metadata = CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(unavailable)?;
    let redirect =
        RedirectUrl::new(redirect_uri(state)).map_err(|e| ServiceError::Internal(e.into()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(google.client_id.clone()),
        Some(ClientSecret::new(google.client_secret.expose().to_owned())),
    )
    .set_redirect_uri(redirect))
}

/// Starts a flow: returns the provider's authorization URL to send the
/// browser to, and what the session must keep for the callback.
pub async fn start(state: &AppState, next: &str) -> Result<(String, GoogleFlow), ServiceError> {
    let http = http_client()?;
    let client = client(state, &http).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok((
        url.to_string(),
        GoogleFlow {
            state: csrf.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next: next.to_owned(),
            started_at: state.now().as_millis(),
        },
    ))
}

/// A refusal: logged and audited with its reason, one clear message for the person.
async fn refuse(state: &AppState, ip: IpAddr, reason: &str, message: &str) -> ServiceError {
    tracing::warn!(reason, "Google sign-in refused");
    audit::record(
        state,
        audit::entry(actions::SIGN_IN_FAILED, None, None, state.now())
            .ip(ip)
            .detail(json!({"method": "google", "reason": reason})),
    )
    .await;
    ServiceError::Forbidden(message.to_owned())
}

const TRY_AGAIN: &str = "Google sign-in did not work. Please try again.";

/// Finishes a flow: checks the state against the session's flow, trades the
/// code (with the PKCE verifier) for tokens, verifies the ID token and
/// resolves the account. Returns it with where to go next.
#[tracing::instrument(skip(state, flow, callback))]
pub async fn finish(
    state: &AppState,
    flow: Option<GoogleFlow>,
    callback: &Callback,
    ip: IpAddr,
    lang: Lang,
) -> Result<(Account, String), ServiceError> {
    if !enabled(state) {
        return Err(ServiceError::NotFound);
    }
    if let Some(error) = &callback.error {
        let message = if error == "access_denied" {
            "Google sign-in was cancelled."
        } else {
            TRY_AGAIN
        };
        return Err(refuse(state, ip, &format!("provider error {error}"), message).await);
    }
    // Without the flow there is no PKCE verifier (and no state to compare):
    // the callback was not started in this browser, or already used.
    let Some(flow) = flow else {
        return Err(refuse(
            state,
            ip,
            "no flow in this session (no PKCE verifier)",
            TRY_AGAIN,
        )
        .await);
    };
    let now = state.now();
    if now.as_millis() - flow.started_at > FLOW_MINUTES * 60_000 {
        return Err(refuse(state, ip, "flow expired", TRY_AGAIN).await);
    }
    let given = callback.state.as_deref().unwrap_or("");
    if !constant_time_eq(given.as_bytes(), flow.state.as_bytes()) {
        return Err(refuse(state, ip, "state mismatch", TRY_AGAIN).await);
    }
    let Some(code) = callback.code.clone().filter(|c| !c.is_empty()) else {
        return Err(refuse(state, ip, "no authorization code", TRY_AGAIN).await);
    };
    let http = http_client()?;
    let client = client(state, &http).await?;
    let tokens = match client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| ServiceError::Internal(e.into()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
        .request_async(&http)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            return Err(refuse(
                state,
                ip,
                &format!("token exchange refused: {e}"),
                TRY_AGAIN,
            )
            .await);
        }
    };
    let Some(id_token) = tokens.id_token() else {
        return Err(refuse(state, ip, "no ID token", TRY_AGAIN).await);
    };
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now.as_millis())
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("the clock is out of range")))?;
    let verifier = client.id_token_verifier().set_time_fn(move || at);
    let claims = match id_token.claims(&verifier, &Nonce::new(flow.nonce.clone())) {
        Ok(c) => c,
        Err(e) => {
            return Err(refuse(state, ip, &format!("ID token refused: {e}"), TRY_AGAIN).await);
        }
    };
    let Some(email) = claims
        .email()
        .and_then(|e| EmailAddress::parse(e.as_str()).ok())
    else {
        return Err(refuse(
            state,
            ip,
            "no usable email in the ID token",
            "Your Google account did not share an email address with admit.",
        )
        .await);
    };
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().trim().to_owned())
        .filter(|n| !n.is_empty() && n.chars().count() <= 100)
        .unwrap_or_else(|| {
            email
                .as_str()
                .split('@')
                .next()
                .unwrap_or("admit user")
                .to_owned()
        });
    let login = ExternalLogin {
        provider: "google",
        subject: claims.subject().as_str().to_owned(),
        email: email.as_str().to_owned(),
        email_verified: claims.email_verified().unwrap_or(false),
        name,
        locale: lang.tag().to_owned(),
        new_user_id: UserId::from_string(new_id()),
        now,
    };
    let entry = audit::entry(actions::GOOGLE_LINKED, None, None, now)
        .ip(ip)
        .detail(json!({"email": mask_email(email.as_str())}));
    let account = match state.store.external_login(login, entry).await? {
        ExternalOutcome::Known(a) | ExternalOutcome::Linked(a) | ExternalOutcome::Created(a) => *a,
        ExternalOutcome::UnverifiedEmail => {
            return Err(refuse(
                state,
                ip,
                "the Google email is not verified",
                "Google has not verified this email address, so admit cannot use it. Verify it with Google, \
                 or sign in with your email instead.",
            )
            .await);
        }
    };
    let account = signed_in(state, account, ip, "google").await?;
    Ok((account, flow.next))
}
