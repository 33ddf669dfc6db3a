//! REST API credentials for apps: short-lived JWT access tokens (HS256,
//! keyed by `ADMIT_TOKEN_SIGNING_KEY`) and opaque refresh tokens that rotate
//! on every use. Only hashes of refresh tokens are stored; a rotated token
//! presented again revokes its whole family, so a stolen copy dies with the
//! original.
//!
//! Access tokens carry the account's session epoch: signing out everywhere,
//! resetting the password, suspension and deletion end them at once, like
//! cookie sessions.

use std::net::IpAddr;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{
    domain::{Timestamp, UserId},
    error::ServiceError,
    services::audit::{self, AuditExt, actions},
    state::AppState,
    store::{
        accounts::Account,
        new_id,
        security::{NewRefreshToken, RefreshOutcome},
    },
};

/// Refresh tokens last this long (renewed by each rotation).
pub const REFRESH_DAYS: i64 = 7;
/// The audience of admit's access tokens.
pub const AUDIENCE: &str = "admit-api";
/// Refresh tokens start with this, so they are recognisable in a leak scan.
pub const REFRESH_PREFIX: &str = "rt_";

/// What an access token says.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The account id.
    pub sub: String,
    /// Issuer: the public URL.
    pub iss: String,
    /// Audience: [`AUDIENCE`].
    pub aud: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires (unix seconds).
    pub exp: i64,
    /// The account's session epoch when issued.
    pub epoch: i64,
}

/// A token pair for an app.
#[derive(Clone, Debug, Serialize)]
pub struct TokenPair {
    /// The bearer token for `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token works.
    pub expires_in: i64,
    /// Trade it at `/auth/refresh-token` for a new pair (once).
    pub refresh_token: String,
    /// Seconds the refresh token works.
    pub refresh_expires_in: i64,
}

/// 32 random bytes, URL-safe base64, behind a prefix.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// SHA-256 of a token, hex: what is stored. Tokens are 256 random bits, so
/// a plain hash is as good as a slow one here.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn key(state: &AppState) -> &[u8] {
    state.config.secrets.token_signing_key.expose().as_bytes()
}

fn access_token(
    state: &AppState,
    account: &Account,
    now: Timestamp,
) -> Result<(String, i64), ServiceError> {
    let lifetime = i64::from(state.config.settings.access_token_minutes) * 60;
    let iat = now.as_millis() / 1000;
    let claims = AccessClaims {
        sub: account.id.clone(),
        iss: state.config.settings.public_base().to_owned(),
        aud: AUDIENCE.to_owned(),
        iat,
        exp: iat + lifetime,
        epoch: account.session_epoch,
    };
    Ok((sign_access(state, &claims)?, lifetime))
}

/// Signs access-token claims with the token signing key. Besides sign-in,
/// the load benchmark mints its buyers' tokens with it (signing in 100,000
/// buyers one by one would measure argon2, not holds).
pub fn sign_access(state: &AppState, claims: &AccessClaims) -> Result<String, ServiceError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key(state)),
    )
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("signing an access token failed: {e}")))
}

fn pair(
    state: &AppState,
    account: &Account,
    refresh: String,
    now: Timestamp,
) -> Result<TokenPair, ServiceError> {
    let (access_token, expires_in) = access_token(state, account, now)?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token: refresh,
        refresh_expires_in: REFRESH_DAYS * 86_400,
    })
}

/// A fresh pair for a person who just signed in: a new refresh family.
pub async fn issue(state: &AppState, account: &Account) -> Result<TokenPair, ServiceError> {
    let now = state.now();
    let refresh = random_token(REFRESH_PREFIX);
    state
        .store
        .issue_refresh_token(NewRefreshToken {
            id: new_id(),
            family_id: new_id(),
            user: account.user_id(),
            token_hash: hash(&refresh),
            expires_at: now.plus_minutes(REFRESH_DAYS * 24 * 60),
            now,
        })
        .await?;
    pair(state, account, refresh, now)
}

/// Trades a refresh token for a new pair (the old one stops working). A
/// token that was already traded revokes its family: the newer token dies
/// too, and the reuse is logged as a security event.
#[tracing::instrument(skip(state, refresh_token))]
pub async fn refresh(
    state: &AppState,
    refresh_token: &str,
    ip: IpAddr,
) -> Result<(Account, TokenPair), ServiceError> {
    let invalid =
        || ServiceError::Invalid("This refresh token is not valid any more. Sign in again.".into());
    if !refresh_token.starts_with(REFRESH_PREFIX) {
        return Err(invalid());
    }
    let now = state.now();
    let next = random_token(REFRESH_PREFIX);
    let outcome = state
        .store
        .rotate_refresh_token(
            &hash(refresh_token),
            NewRefreshToken {
                id: new_id(),
                family_id: String::new(),
                user: UserId::from_string(""),
                token_hash: hash(&next),
                expires_at: now.plus_minutes(REFRESH_DAYS * 24 * 60),
                now,
            },
        )
        .await?;
    match outcome {
        RefreshOutcome::Rotated { account } => {
            let tokens = pair(state, &account, next, now)?;
            Ok((*account, tokens))
        }
        RefreshOutcome::Reused { user_id } => {
            let user = UserId::from_string(user_id);
            tracing::warn!(user = %user, "a rotated refresh token was used again; its family is revoked");
            audit::record(
                state,
                audit::entry(actions::REFRESH_TOKEN_REUSED, None, Some(&user), now)
                    .ip(ip)
                    .detail(json!({"family": "revoked"})),
            )
            .await;
            Err(invalid())
        }
        RefreshOutcome::Invalid => Err(invalid()),
    }
}

/// Checks an access token: signature, issuer, audience and expiry (by the
/// injected clock, so tests can move time). The account and its epoch are
/// checked by the caller against the database.
pub fn verify_access(state: &AppState, token: &str) -> Option<AccessClaims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[state.config.settings.public_base()]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Expiry is checked below against admit's own clock.
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<AccessClaims>(
        token,
        &DecodingKey::from_secret(key(state)),
        &validation,
    )
    .ok()?;
    (state.now().as_millis() / 1000 < data.claims.exp).then_some(data.claims)
}
