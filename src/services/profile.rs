//! A person's own data: profile (name, phone, language, photo), "export my
//! data" and "delete my account".
//!
//! Deleting is a soft delete that anonymizes: the account row stays so the
//! orders that point at it stay whole for accounting, but everything that
//! identified the person goes, and so does every way to sign in to it
//! (password, codes, reset links, Google, sessions, refresh tokens, and the
//! API keys they created). Signing in with the same Google account later
//! starts a new, empty account.

use base64::Engine;
use serde_json::{Value, json};

use crate::{
    domain::{
        account::{parse_name, parse_phone},
        money::Lang,
    },
    error::ServiceError,
    services::{
        accounts::verify_password,
        audit::{self, actions},
        authz::Identity,
        banners,
    },
    state::AppState,
    store::{
        accounts::{Account, ProfileUpdate},
        security::AuditQuery,
    },
};

/// Largest photo accepted.
pub const PHOTO_MAX_BYTES: usize = 2 * 1024 * 1024;
/// Side of the stored (square) photo.
pub const PHOTO_SIDE: u32 = 320;

/// What the profile form carries.
#[derive(Clone, Debug)]
pub struct ProfileInput {
    /// Display name.
    pub name: String,
    /// Phone (empty for none).
    pub phone: String,
    /// `en` or `id`; empty keeps the current one.
    pub locale: String,
}

fn capitalized(e: &str) -> String {
    let mut c = e.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

/// Saves name, phone and language.
#[tracing::instrument(skip(state, who, input))]
pub async fn update(
    state: &AppState,
    who: &Identity,
    input: &ProfileInput,
) -> Result<Account, ServiceError> {
    let viewer = who.require_user()?;
    let name = parse_name(&input.name).map_err(|e| ServiceError::Invalid(capitalized(e)))?;
    let phone = parse_phone(&input.phone).map_err(|e| ServiceError::Invalid(capitalized(e)))?;
    let locale = match input.locale.trim() {
        "" => viewer.account.locale.clone(),
        l => Lang::parse(l)
            .ok_or_else(|| ServiceError::Invalid("Choose English (en) or Indonesian (id).".into()))?
            .tag()
            .to_owned(),
    };
    let account = state
        .store
        .update_profile(
            &viewer.user_id(),
            &ProfileUpdate {
                name,
                phone,
                locale,
            },
        )
        .await?;
    Ok(account)
}

/// Decodes, checks, crops to a centred square and re-encodes a photo as a
/// JPEG (no EXIF or other metadata survives).
pub fn process_photo(bytes: &[u8]) -> Result<Vec<u8>, ServiceError> {
    let image = banners::decode_upload(bytes, PHOTO_MAX_BYTES, "photo")?;
    if image.width() < 64 || image.height() < 64 {
        return Err(ServiceError::Invalid(
            "The photo must be at least 64 × 64 pixels.".into(),
        ));
    }
    let side = image.width().min(image.height());
    let square = image
        .crop_imm(
            (image.width() - side) / 2,
            (image.height() - side) / 2,
            side,
            side,
        )
        .to_rgb8();
    banners::jpeg_at_width(&square, PHOTO_SIDE)
}

/// Replaces the profile photo. The file is written before the account
/// points at it, and removed again if that fails; the old file goes after.
#[tracing::instrument(skip(state, who, bytes), fields(bytes = bytes.len()))]
pub async fn upload_photo(
    state: &AppState,
    who: &Identity,
    bytes: Vec<u8>,
) -> Result<(), ServiceError> {
    let viewer = who.require_user()?;
    let jpeg = tokio::task::spawn_blocking(move || process_photo(&bytes))
        .await
        .map_err(|e| ServiceError::Internal(e.into()))??;
    let key = format!(
        "photos/{}/{}.jpg",
        viewer.account.id,
        crate::store::new_id()
    );
    state
        .files
        .put(&key, jpeg)
        .await
        .map_err(ServiceError::Internal)?;
    match state.store.set_photo(&viewer.user_id(), Some(&key)).await {
        Ok(old) => {
            remove_file(state, old).await;
            Ok(())
        }
        Err(e) => {
            remove_file(state, Some(key)).await;
            Err(e.into())
        }
    }
}

/// Removes the profile photo.
pub async fn remove_photo(state: &AppState, who: &Identity) -> Result<(), ServiceError> {
    let viewer = who.require_user()?;
    let old = state.store.set_photo(&viewer.user_id(), None).await?;
    remove_file(state, old).await;
    Ok(())
}

/// The signed-in person's photo (JPEG), if any.
pub async fn photo(state: &AppState, who: &Identity) -> Result<Vec<u8>, ServiceError> {
    let viewer = who.require_user()?;
    let key = viewer
        .account
        .photo_key
        .as_deref()
        .ok_or(ServiceError::NotFound)?;
    state
        .files
        .get(key)
        .await
        .map_err(ServiceError::Internal)?
        .ok_or(ServiceError::NotFound)
}

async fn remove_file(state: &AppState, key: Option<String>) {
    if let Some(key) = key
        && let Err(e) = state.files.delete(&key).await
    {
        tracing::warn!(error = ?e, "could not delete a profile photo file");
    }
}

/// Everything admit holds about the signed-in person, as one JSON document:
/// profile, sign-in methods, memberships, orders with their tickets, live
/// sessions and the audit entries by or about them. Secrets (password
/// hash, codes, tokens, keys) are never included.
#[tracing::instrument(skip(state, who))]
pub async fn export(state: &AppState, who: &Identity) -> Result<Value, ServiceError> {
    let viewer = who.require_user()?;
    let account = &viewer.account;
    let user = account.user_id();
    let now = state.now();
    let photo = match &account.photo_key {
        Some(key) => state
            .files
            .get(key)
            .await
            .map_err(ServiceError::Internal)?
            .map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        None => None,
    };
    let identities = state.store.identities_of_user(&user).await?;
    let orders = state.store.orders_of_user(&user, 10_000).await?;
    let sessions = state.store.session_count(&user, now).await?;
    let audit = state
        .store
        .audit_entries(&AuditQuery {
            user: Some(user.clone()),
            limit: 10_000,
            ..AuditQuery::default()
        })
        .await?;
    Ok(json!({
        "format": "admit-export-1",
        "exported_at": now.as_millis(),
        "times": "UTC milliseconds since 1970",
        "profile": {
            "id": account.id,
            "email": account.email,
            "name": account.name,
            "phone": account.phone,
            "language": account.locale,
            "email_verified_at": account.email_verified_at,
            "created_at": account.created_at,
            "platform_admin": account.is_admin,
            "photo_jpeg_base64": photo,
        },
        "sign_in": {
            "password": account.password_hash.is_some(),
            "linked_accounts": identities.iter().map(|(provider, email, at)| json!({
                "provider": provider, "email": email, "linked_at": at,
            })).collect::<Vec<_>>(),
            "active_sessions": sessions,
        },
        "memberships": viewer.memberships.iter().map(|m| json!({
            "organization_id": m.org_id, "organization": m.org_name, "role": m.role, "status": m.org_status,
        })).collect::<Vec<_>>(),
        "orders": orders.iter().map(|o| json!({
            "id": o.id.to_string(),
            "event": {"title": o.event_title, "slug": o.event_slug, "starts_at": o.event_starts_at.as_millis()},
            "status": o.status_at(now).as_str(),
            "currency": o.currency,
            "created_at": o.created_at.as_millis(),
            "paid_at": o.paid_at.map(|t| t.as_millis()),
            "total_minor": o.total_minor,
            "code": o.code,
            "tickets": o.items.iter().map(|i| json!({
                "tier": i.tier_name,
                "unit_price_minor": i.unit_price_minor,
                "discount_minor": i.discount_minor,
                "seat": i.seat_label,
                "attendee_name": i.attendee_name,
                "attendee_email": i.attendee_email,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "security_log": audit.items.iter().map(|a| json!({
            "at": a.at, "action": a.action, "ip": a.ip,
            "detail": serde_json::from_str::<Value>(&a.detail).unwrap_or(Value::Null),
        })).collect::<Vec<_>>(),
    }))
}

/// Deletes the signed-in person's account (see the module docs). Accounts
/// with a password must give it; `confirm` must be set either way. The
/// log keeps that it happened, but no address of the person.
#[tracing::instrument(skip(state, who, password))]
pub async fn delete_account(
    state: &AppState,
    who: &Identity,
    password: Option<&str>,
    confirm: bool,
) -> Result<(), ServiceError> {
    let viewer = who.require_user()?;
    let account = &viewer.account;
    if !confirm {
        return Err(ServiceError::Invalid(
            "Confirm that you want to delete your account: this cannot be undone.".into(),
        ));
    }
    if account.password_hash.is_some()
        && !verify_password(
            password.unwrap_or_default().to_owned(),
            account.password_hash.clone(),
        )
        .await
    {
        return Err(ServiceError::Invalid(
            "Enter your current password to delete your account.".into(),
        ));
    }
    let user = account.user_id();
    let photo = state
        .store
        .delete_account(
            &user,
            audit::entry(
                actions::ACCOUNT_DELETED,
                Some(&user),
                Some(&user),
                state.now(),
            ),
        )
        .await?;
    remove_file(state, photo).await;
    tracing::info!(user = %user, "account deleted and anonymized");
    Ok(())
}
