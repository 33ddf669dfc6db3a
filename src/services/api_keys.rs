//! Organization API keys: an owner creates one for an app (shown once,
//! stored hashed), read-only or read-write; the key authenticates that
//! organization's REST calls (`X-Api-Key`) with an owner's rights on it and
//! nothing else. A revoked key fails at once. A key also stops working when
//! the owner who created it is no longer an owner of the organization, is
//! suspended, or deletes their account.

use serde_json::json;

use crate::{
    domain::OrgId,
    error::ServiceError,
    services::{
        audit::{self, AuditExt, actions},
        authz::{Credential, Identity, Viewer},
        tokens,
    },
    state::AppState,
    store::{
        accounts::Membership,
        new_id,
        security::{ApiKeyRecord, NewApiKey},
    },
};

/// Every key starts with this, so it is recognisable in a leak scan.
pub const PREFIX: &str = "admit_";
/// Characters of the key shown in lists.
const SHOWN: usize = 12;

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Reads only (GET, HEAD).
    Read,
    /// Reads and changes.
    ReadWrite,
}

impl Scope {
    /// Parses `read` or `read_write`.
    pub fn parse(s: &str) -> Result<Self, ServiceError> {
        match s.trim() {
            "read" => Ok(Scope::Read),
            "read_write" => Ok(Scope::ReadWrite),
            _ => Err(ServiceError::Invalid(
                "Choose the key's scope: read or read_write.".into(),
            )),
        }
    }
    /// Stored value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::ReadWrite => "read_write",
        }
    }
}

/// Owners (people, not keys) manage keys.
fn manager<'a>(who: &'a Identity, org: &OrgId) -> Result<&'a Viewer, ServiceError> {
    who.require_user()?;
    who.require_owner(org)
}

/// Creates a key; returns it with the secret, which is never shown again.
#[tracing::instrument(skip(state, who, name))]
pub async fn create(
    state: &AppState,
    who: &Identity,
    org: &OrgId,
    name: &str,
    scope: Scope,
) -> Result<(ApiKeyRecord, String), ServiceError> {
    let owner = manager(who, org)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(
            "Name the key (at most 100 characters), e.g. \"box office app\".".into(),
        ));
    }
    let secret = tokens::random_token(PREFIX);
    let prefix: String = secret.chars().take(SHOWN).collect();
    let now = state.now();
    let id = new_id();
    let user = owner.user_id();
    state
        .store
        .create_api_key(NewApiKey {
            id: id.clone(),
            org_id: org.clone(),
            name: name.to_owned(),
            prefix: prefix.clone(),
            key_hash: tokens::hash(&secret),
            scope: scope.as_str().to_owned(),
            created_by: user.clone(),
            audit: audit::entry(actions::API_KEY_CREATED, Some(&user), None, now)
                .org(org)
                .detail(json!({"key": id, "name": name, "scope": scope.as_str()})),
            now,
        })
        .await?;
    let record = ApiKeyRecord {
        id,
        org_id: org.to_string(),
        name: name.to_owned(),
        prefix,
        scope: scope.as_str().to_owned(),
        created_by: user.to_string(),
        created_at: now.as_millis(),
        last_used_at: None,
        revoked_at: None,
    };
    tracing::info!(org = %org, key = %record.id, scope = scope.as_str(), "API key created");
    Ok((record, secret))
}

/// The organization's keys, newest first (never their secrets).
pub async fn list(
    state: &AppState,
    who: &Identity,
    org: &OrgId,
) -> Result<Vec<ApiKeyRecord>, ServiceError> {
    manager(who, org)?;
    Ok(state.store.api_keys_of_org(org).await?)
}

/// Revokes a key at once.
#[tracing::instrument(skip(state, who))]
pub async fn revoke(
    state: &AppState,
    who: &Identity,
    org: &OrgId,
    id: &str,
) -> Result<(), ServiceError> {
    let owner = manager(who, org)?;
    let user = owner.user_id();
    let revoked = state
        .store
        .revoke_api_key(
            org,
            id,
            audit::entry(actions::API_KEY_REVOKED, Some(&user), None, state.now())
                .org(org)
                .detail(json!({"key": id})),
        )
        .await?;
    if revoked {
        tracing::info!(org = %org, key = %id, "API key revoked");
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

/// The viewer a key stands for, or `None` when the key is unknown, revoked,
/// or its organization or creator can no longer use it.
pub async fn authenticate(state: &AppState, key: &str) -> Result<Option<Viewer>, ServiceError> {
    if !key.starts_with(PREFIX) {
        return Ok(None);
    }
    let Some(grant) = state
        .store
        .api_key_by_hash(&tokens::hash(key), state.now())
        .await?
    else {
        return Ok(None);
    };
    let creator_ok =
        grant.creator.can_sign_in() && (grant.creator_is_owner || grant.creator.is_admin);
    if !creator_ok || grant.org_status != "approved" {
        return Ok(None);
    }
    let mut account = grant.creator;
    // The key acts for its organization only: no platform-admin rights.
    account.is_admin = false;
    Ok(Some(Viewer {
        account,
        memberships: vec![Membership {
            org_id: grant.key.org_id.clone(),
            org_name: grant.org_name,
            org_slug: grant.org_slug,
            org_status: grant.org_status,
            role: "owner".into(),
        }],
        credential: Credential::ApiKey {
            key_id: grant.key.id,
            org_id: grant.key.org_id,
            read_write: grant.key.scope == Scope::ReadWrite.as_str(),
        },
    }))
}
