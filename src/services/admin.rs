//! Platform administration of users.

use serde_json::json;

use crate::{
    domain::UserId,
    error::ServiceError,
    services::{
        audit::{self, AuditExt, actions},
        authz::Identity,
    },
    state::AppState,
    store::{
        Page,
        accounts::{Account, Membership},
    },
};

/// Users per admin page.
pub const PAGE: i64 = 25;

/// Searches users by email or name (admins only).
pub async fn users(
    state: &AppState,
    who: &Identity,
    query: &str,
    page: u32,
) -> Result<Page<Account>, ServiceError> {
    who.require_admin()?;
    let page = i64::from(page.max(1));
    Ok(state
        .store
        .search_accounts(query, PAGE, (page - 1) * PAGE)
        .await?)
}

/// One user with their memberships (admins only).
pub async fn user(
    state: &AppState,
    who: &Identity,
    id: &UserId,
) -> Result<(Account, Vec<Membership>), ServiceError> {
    who.require_admin()?;
    let account = state
        .store
        .account(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let memberships = state.store.memberships(id).await?;
    Ok((account, memberships))
}

/// Grants or removes platform admin. Admins cannot demote themselves, so
/// the platform never locks itself out by accident.
#[tracing::instrument(skip(state, who))]
pub async fn set_admin(
    state: &AppState,
    who: &Identity,
    id: &UserId,
    admin: bool,
) -> Result<(), ServiceError> {
    let me = who.require_admin()?;
    if me.account.id == id.as_str() && !admin {
        return Err(ServiceError::Invalid(
            "You cannot remove your own admin rights; ask another admin.".into(),
        ));
    }
    let me_id = me.user_id();
    state
        .store
        .set_admin(
            id,
            admin,
            audit::entry(actions::ROLE_CHANGED, Some(&me_id), Some(id), state.now())
                .detail(json!({"platform_admin": admin})),
        )
        .await?;
    tracing::info!(target_user = %id, admin, by = %me.account.id, "admin status changed");
    Ok(())
}

/// Suspends (ending every session at once) or unsuspends a user.
#[tracing::instrument(skip(state, who))]
pub async fn set_suspended(
    state: &AppState,
    who: &Identity,
    id: &UserId,
    suspended: bool,
) -> Result<(), ServiceError> {
    let me = who.require_admin()?;
    if me.account.id == id.as_str() {
        return Err(ServiceError::Invalid("You cannot suspend yourself.".into()));
    }
    let me_id = me.user_id();
    let action = if suspended {
        actions::SUSPENDED
    } else {
        actions::UNSUSPENDED
    };
    state
        .store
        .set_suspended(
            id,
            suspended,
            audit::entry(action, Some(&me_id), Some(id), state.now()),
        )
        .await?;
    tracing::info!(target_user = %id, suspended, by = %me.account.id, "suspension changed");
    Ok(())
}
