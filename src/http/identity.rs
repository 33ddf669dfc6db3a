//! Resolving who is asking, once per request. There are three ways:
//!
//! - the **session cookie** (pages, server functions and the REST API): the
//!   session names a user and the epoch it was started in;
//! - a **bearer access token** (`Authorization: Bearer <jwt>`, REST API
//!   only): a short-lived JWT naming the user and the epoch it was issued in;
//! - an **organization API key** (`X-Api-Key: admit_…`, REST API only): the
//!   organization's calls, read-only keys refused anything but GET and HEAD.
//!
//! Either way the account, its roles and memberships are read from the
//! database every time, in one query. A suspended or deleted account, or one whose epoch
//! moved on ("sign out everywhere", a password reset), is signed out on the
//! spot. A request that presents a token or key is judged by it alone: its
//! cookies were already dropped (`security::credentials_without_cookies`),
//! and a bad token is refused with 401 rather than treated as anonymous.
//!
//! The client's address is resolved here too ([`ClientIp`]): the socket
//! peer, or `X-Forwarded-For` when the peer is a trusted proxy.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json,
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::{
    domain::{UserId, limits},
    services::{
        api_keys,
        authz::{Credential, Identity, Viewer},
        google::GoogleFlow,
        tokens,
    },
    state::AppState,
    store::accounts::Account,
};

/// The session key of the signed-in user (also read by the session store).
pub const AUTH_KEY: &str = "auth";
/// The session key of a Google sign-in in progress.
const GOOGLE_FLOW_KEY: &str = "google_flow";
/// The header carrying an organization API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// What the session stores about the signed-in user.
#[derive(Serialize, Deserialize)]
struct AuthRecord {
    user_id: String,
    epoch: i64,
}

/// The address the request came from (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

/// A credential presented in the headers of a REST request.
enum Presented {
    Bearer(String),
    ApiKey(String),
}

/// The bearer token or API key of a request, if it has one.
fn presented(headers: &HeaderMap) -> Option<Presented> {
    if let Some(key) = headers.get(API_KEY_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(Presented::ApiKey(key.trim().to_owned()));
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| Presented::Bearer(token.trim().to_owned()))
}

/// Whether a request presents a token or key to the REST API.
pub fn has_credential(path: &str, headers: &HeaderMap) -> bool {
    path.starts_with("/api/v1/") && presented(headers).is_some()
}

fn client_ip(state: &AppState, req: &Request<Body>) -> std::net::IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let trusted = limits::parse_proxies(&state.config.settings.trusted_proxies).unwrap_or_default();
    if trusted.is_empty() {
        return peer;
    }
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    limits::client_ip(peer, &forwarded, &trusted)
}

fn refused(status: StatusCode, message: &str, challenge: Option<&'static str>) -> Response {
    let mut res = (status, Json(serde_json::json!({"error": message}))).into_response();
    if let Some(c) = challenge {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static(c),
        );
    }
    res
}

/// Middleware: puts the request's [`ClientIp`] and [`Identity`] into its extensions.
pub async fn resolve(
    State(state): State<AppState>,
    session: Session,
    mut req: Request<Body>,
    next: Next,
) -> Response {
    let ip = client_ip(&state, &req);
    req.extensions_mut().insert(ClientIp(ip));
    let credential = if req.uri().path().starts_with("/api/v1/") {
        presented(req.headers())
    } else {
        None
    };
    let identity = match credential {
        Some(Presented::Bearer(token)) => match bearer(&state, &token).await {
            Ok(Some(viewer)) => Identity(Some(Arc::new(viewer))),
            Ok(None) => {
                return refused(
                    StatusCode::UNAUTHORIZED,
                    "This access token is not valid (it may have expired). Refresh it or sign in again.",
                    Some("Bearer error=\"invalid_token\""),
                );
            }
            Err(e) => {
                tracing::error!(error = ?e, "could not check an access token");
                return crate::error::ServiceError::Internal(e).into_response();
            }
        },
        Some(Presented::ApiKey(key)) => match api_keys::authenticate(&state, &key).await {
            Ok(Some(viewer)) => {
                let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
                if writes
                    && matches!(
                        viewer.credential,
                        Credential::ApiKey {
                            read_write: false,
                            ..
                        }
                    )
                {
                    return refused(
                        StatusCode::FORBIDDEN,
                        "This API key is read-only: it cannot change anything. Use a read_write key.",
                        None,
                    );
                }
                Identity(Some(Arc::new(viewer)))
            }
            Ok(None) => {
                return refused(
                    StatusCode::UNAUTHORIZED,
                    "This API key is not valid (it may have been revoked).",
                    Some("ApiKey"),
                );
            }
            Err(e) => return e.into_response(),
        },
        None => match identify(&state, &session).await {
            Ok(identity) => identity,
            Err(e) => {
                tracing::error!(error = ?e, "could not resolve the session; treating the request as anonymous");
                Identity::default()
            }
        },
    };
    req.extensions_mut().insert(identity);
    next.run(req).await
}

/// The person an access token stands for, while the token and the account
/// are both still good.
async fn bearer(state: &AppState, token: &str) -> anyhow::Result<Option<Viewer>> {
    let Some(claims) = tokens::verify_access(state, token) else {
        return Ok(None);
    };
    let Some((account, memberships)) = state
        .store
        .account_with_memberships(&UserId::from_string(claims.sub))
        .await?
    else {
        return Ok(None);
    };
    if !account.can_sign_in() || account.session_epoch != claims.epoch {
        return Ok(None);
    }
    Ok(Some(Viewer {
        account,
        memberships,
        credential: Credential::AccessToken,
    }))
}

async fn identify(state: &AppState, session: &Session) -> anyhow::Result<Identity> {
    let Some(auth) = session.get::<AuthRecord>(AUTH_KEY).await? else {
        return Ok(Identity::default());
    };
    let id = UserId::from_string(auth.user_id);
    let Some((account, memberships)) = state.store.account_with_memberships(&id).await? else {
        session.flush().await?;
        return Ok(Identity::default());
    };
    if !account.can_sign_in() || account.session_epoch != auth.epoch {
        session.flush().await?;
        return Ok(Identity::default());
    }
    Ok(Identity(Some(Arc::new(Viewer {
        account,
        memberships,
        credential: Credential::Session,
    }))))
}

/// Starts a signed-in session: a new session id (no fixation), then the user.
pub async fn sign_in(session: &Session, account: &Account) -> anyhow::Result<()> {
    session.cycle_id().await?;
    session
        .insert(
            AUTH_KEY,
            AuthRecord {
                user_id: account.id.clone(),
                epoch: account.session_epoch,
            },
        )
        .await?;
    Ok(())
}

/// Ends the session (the record is deleted and the cookie cleared). A
/// request without a session (a bearer client) has nothing to end.
pub async fn sign_out(session: &Session) -> anyhow::Result<()> {
    if session.id().is_some() {
        session.flush().await?;
    }
    Ok(())
}

/// A role changed: keep the user signed in under a new session id.
pub async fn roles_changed(session: &Session) -> anyhow::Result<()> {
    session.cycle_id().await?;
    Ok(())
}

/// Keeps a Google sign-in's secrets in the session until its callback.
pub async fn begin_google(session: &Session, flow: &GoogleFlow) -> anyhow::Result<()> {
    session.insert(GOOGLE_FLOW_KEY, flow).await?;
    Ok(())
}

/// Takes the Google sign-in in progress out of the session (once). An
/// anonymous session existed only for the flow, so it is deleted with it:
/// a refused callback leaves no session behind.
pub async fn take_google(session: &Session) -> anyhow::Result<Option<GoogleFlow>> {
    let flow = session.remove::<GoogleFlow>(GOOGLE_FLOW_KEY).await?;
    if session.id().is_some() && session.get_value(AUTH_KEY).await?.is_none() {
        session.flush().await?;
    }
    Ok(flow)
}
