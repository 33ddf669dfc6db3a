//! Resolving who is asking, once per request: the session names a user and
//! the epoch it was started in; the account, its roles and memberships are
//! read from the database every time. A suspended account, or one whose
//! epoch moved on ("sign out everywhere"), is signed out on the spot.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use crate::{
    domain::UserId,
    services::authz::{Identity, Viewer},
    state::AppState,
    store::accounts::Account,
};

const AUTH_KEY: &str = "auth";

/// What the session stores about the signed-in user.
#[derive(Serialize, Deserialize)]
struct AuthRecord {
    user_id: String,
    epoch: i64,
}

/// Middleware: puts the request's [`Identity`] into its extensions.
pub async fn resolve(
    State(state): State<AppState>,
    session: Session,
    mut req: Request<Body>,
    next: Next,
) -> Response {
    let identity = match identify(&state, &session).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::error!(error = ?e, "could not resolve the session; treating the request as anonymous");
            Identity::default()
        }
    };
    req.extensions_mut().insert(identity);
    next.run(req).await
}

async fn identify(state: &AppState, session: &Session) -> anyhow::Result<Identity> {
    let Some(auth) = session.get::<AuthRecord>(AUTH_KEY).await? else {
        return Ok(Identity::default());
    };
    let id = UserId::from_string(auth.user_id);
    let Some(account) = state.store.account(&id).await? else {
        session.flush().await?;
        return Ok(Identity::default());
    };
    if account.is_suspended() || account.session_epoch != auth.epoch {
        session.flush().await?;
        return Ok(Identity::default());
    }
    let memberships = state.store.memberships(&id).await?;
    Ok(Identity(Some(Arc::new(Viewer {
        account,
        memberships,
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

/// Ends the session (the record is deleted and the cookie cleared).
pub async fn sign_out(session: &Session) -> anyhow::Result<()> {
    session.flush().await?;
    Ok(())
}

/// A role changed: keep the user signed in under a new session id.
pub async fn roles_changed(session: &Session) -> anyhow::Result<()> {
    session.cycle_id().await?;
    Ok(())
}
