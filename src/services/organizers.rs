//! Organizers: applying, admin decisions, staff invitations.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{
    domain::{
        OrgId,
        account::{EmailAddress, parse_name},
        catalogue::slugify,
        money::Lang,
    },
    error::ServiceError,
    services::{
        audit::{self, AuditExt, actions},
        authz::Identity,
        mail::{self, Template},
    },
    state::AppState,
    store::{
        Conflict, NewOrganization, StoreError,
        accounts::{Decision, InvitationRefusal, NewInvitation, Organization},
    },
};

/// Invitations are valid this long.
pub const INVITATION_DAYS: i64 = 7;

/// What the application form carries.
#[derive(Clone, Debug)]
pub struct Application {
    /// Organization name.
    pub name: String,
    /// Contact email.
    pub contact_email: String,
    /// About the organizer.
    pub description: String,
}

/// A verified user applies to become an organizer. The organization is
/// created pending, with the applicant as owner.
#[tracing::instrument(skip(state, who, app))]
pub async fn apply(
    state: &AppState,
    who: &Identity,
    app: Application,
) -> Result<OrgId, ServiceError> {
    let viewer = who.require_verified()?;
    let name = parse_name(&app.name).map_err(|_| {
        ServiceError::Invalid("Enter the organization's name (at most 100 characters).".into())
    })?;
    let contact = EmailAddress::parse(&app.contact_email).map_err(|_| {
        ServiceError::Invalid("Enter a valid contact email, like hello@example.com.".into())
    })?;
    let description = app.description.trim().to_owned();
    if description.chars().count() > 2000 {
        return Err(ServiceError::Invalid(
            "Keep the description under 2,000 characters.".into(),
        ));
    }
    if viewer.pending_applications().next().is_some() {
        return Err(ServiceError::Conflict(
            "You already have an application waiting for a decision.".into(),
        ));
    }
    let base = slugify(&name);
    let now = state.now();
    // Collision-safe slug: try the plain one, then numbered ones.
    for n in 1..=20 {
        let slug = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let result = state
            .store
            .create_organization(NewOrganization {
                slug,
                name: name.clone(),
                contact_email: contact.as_str().to_owned(),
                description: description.clone(),
                approved: false,
                owner: viewer.user_id(),
                now,
            })
            .await;
        match result {
            Err(StoreError::Conflict(Conflict::DuplicateOrganization(_))) => continue,
            other => return other.map_err(Into::into),
        }
    }
    Err(ServiceError::Conflict(
        "Choose a more distinctive organization name.".into(),
    ))
}

/// Pending applications (admins only).
pub async fn pending(state: &AppState, who: &Identity) -> Result<Vec<Organization>, ServiceError> {
    who.require_admin()?;
    Ok(state.store.pending_applications().await?)
}

/// An admin approves or rejects an application with a reason; the applicant
/// is emailed either way, in the same transaction.
#[tracing::instrument(skip(state, who, reason))]
pub async fn decide(
    state: &AppState,
    who: &Identity,
    org: &OrgId,
    approve: bool,
    reason: &str,
) -> Result<(), ServiceError> {
    let admin = who.require_admin()?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(ServiceError::Invalid(
            "Give a reason (at most 1,000 characters); the applicant will read it.".into(),
        ));
    }
    let organization = state
        .store
        .organization(org)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let now = state.now();
    let owners = owners_of(state, org).await?;
    let mail = owners
        .iter()
        .map(|(email, name, locale)| {
            let lang = Lang::parse(locale).unwrap_or_default();
            let (template, vars) = if approve {
                (
                    Template::ApplicationApproved,
                    json!({"name": name, "org": organization.name, "reason": reason,
                           "url": format!("{}/organizer", state.config.settings.public_base())}),
                )
            } else {
                (
                    Template::ApplicationRejected,
                    json!({"name": name, "org": organization.name, "reason": reason}),
                )
            };
            mail::job(email, lang, template, vars, now)
        })
        .collect();
    state
        .store
        .decide_application(Decision {
            org_id: org.clone(),
            approve,
            reason: reason.to_owned(),
            admin: admin.user_id(),
            mail,
            audit: audit::entry(
                if approve {
                    actions::APPLICATION_APPROVED
                } else {
                    actions::APPLICATION_REJECTED
                },
                Some(&admin.user_id()),
                None,
                now,
            )
            .org(org)
            .detail(json!({"reason": reason})),
            now,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ServiceError::Conflict("This application was already decided.".into())
            }
            other => other.into(),
        })
}

/// (email, name, locale) of an organization's owners.
async fn owners_of(
    state: &AppState,
    org: &OrgId,
) -> Result<Vec<(String, String, String)>, ServiceError> {
    Ok(state
        .store
        .organization_owners(org)
        .await?
        .into_iter()
        .map(|a| (a.email, a.name, a.locale))
        .collect())
}

/// SHA-256 of an invitation token, hex: only the hash is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An owner invites door staff by email, for all events or some.
#[tracing::instrument(skip(state, who, email))]
pub async fn invite_staff(
    state: &AppState,
    who: &Identity,
    org: &OrgId,
    email: &str,
    event_ids: Vec<String>,
) -> Result<String, ServiceError> {
    let owner = who.require_owner(org)?;
    let email = EmailAddress::parse(email)
        .map_err(|_| ServiceError::Invalid("Enter the staff member's email address.".into()))?;
    let organization = state
        .store
        .organization(org)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let now = state.now();
    let url = format!(
        "{}/invitations/{token}",
        state.config.settings.public_base()
    );
    let lang = Lang::parse(&owner.account.locale).unwrap_or_default();
    state
        .store
        .create_invitation(NewInvitation {
            org_id: org.clone(),
            email: email.as_str().to_owned(),
            token_hash: token_hash(&token),
            event_ids,
            invited_by: owner.user_id(),
            expires_at: now.plus_minutes(INVITATION_DAYS * 24 * 60),
            mail: mail::job(
                email.as_str(),
                lang,
                Template::StaffInvitation,
                json!({"org": organization.name, "inviter": owner.account.name, "url": url}),
                now,
            ),
            now,
        })
        .await?;
    Ok(token)
}

/// The signed-in invitee accepts; the session's roles are re-read on the
/// next request, and callers cycle the session id (a role change).
#[tracing::instrument(skip(state, who, token))]
pub async fn accept_invitation(
    state: &AppState,
    who: &Identity,
    token: &str,
) -> Result<OrgId, ServiceError> {
    let viewer = who.require_user()?;
    let user = viewer.user_id();
    let entry = audit::entry(
        actions::MEMBERSHIP_CHANGED,
        Some(&user),
        Some(&user),
        state.now(),
    )
    .detail(json!({"role": "staff", "via": "invitation"}));
    match state.store.accept_invitation(&token_hash(token), &viewer.account, entry).await? {
        Ok(org) => Ok(org),
        Err(InvitationRefusal::NotFound) => Err(ServiceError::NotFound),
        Err(InvitationRefusal::WrongAccount) => Err(ServiceError::Forbidden(
            "This invitation was sent to another email address. Sign in with that address to accept it.".into(),
        )),
        Err(InvitationRefusal::Expired) => {
            Err(ServiceError::Invalid("This invitation has expired. Ask the organizer for a new one.".into()))
        }
        Err(InvitationRefusal::AlreadyAccepted) => {
            Err(ServiceError::Conflict("This invitation was already accepted.".into()))
        }
    }
}

/// Whom an invitation is for (for the acceptance page).
pub async fn invitation_summary(
    state: &AppState,
    token: &str,
) -> Result<(String, String), ServiceError> {
    let inv = state
        .store
        .invitation(&token_hash(token))
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok((inv.org_name, inv.email))
}
