//! Who is asking, and what they may do. Pages, server functions and REST
//! handlers all resolve the same [`Viewer`] (read from the database on each
//! request, never trusted from the session) and ask the same questions here.

use std::sync::Arc;

use crate::{
    domain::{OrgId, UserId},
    error::ServiceError,
    store::accounts::{Account, Membership},
};

/// A signed-in person (or an organization's API key), as of this request.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// The account, read from the database for this request. For an API
    /// key, the owner who created it (never with admin rights).
    pub account: Account,
    /// Memberships, read from the database for this request. For an API
    /// key, only its organization.
    pub memberships: Vec<Membership>,
    /// How the request proved who it is.
    pub credential: Credential,
}

/// How a request proved who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The session cookie.
    Session,
    /// A bearer access token (JWT).
    AccessToken,
    /// An organization API key.
    ApiKey {
        /// The key's id.
        key_id: String,
        /// The organization it acts for.
        org_id: String,
        /// Whether it may change things.
        read_write: bool,
    },
}

/// The caller of a request: anonymous or a viewer.
#[derive(Clone, Debug, Default)]
pub struct Identity(pub Option<Arc<Viewer>>);

impl Identity {
    /// A person: signed in with a session or an access token. An API key is
    /// an organization, not a person, and is refused.
    pub fn require_user(&self) -> Result<&Viewer, ServiceError> {
        let v = self.require_caller()?;
        if matches!(v.credential, Credential::ApiKey { .. }) {
            return Err(ServiceError::Forbidden(
                "API keys act for an organization; this needs a person's sign-in.".into(),
            ));
        }
        Ok(v)
    }

    /// Whoever asks, signed in: a person or an organization's API key. What
    /// they may do is for the organization checks below.
    pub fn require_caller(&self) -> Result<&Viewer, ServiceError> {
        self.0.as_deref().ok_or(ServiceError::Unauthenticated)
    }

    /// A viewer whose email is verified (needed to buy and to apply).
    pub fn require_verified(&self) -> Result<&Viewer, ServiceError> {
        let v = self.require_user()?;
        if v.account.is_verified() {
            Ok(v)
        } else {
            Err(ServiceError::Forbidden(
                "Verify your email address first: enter the 6-digit code we sent you.".into(),
            ))
        }
    }

    /// A platform admin. Everyone else is told the page does not exist.
    pub fn require_admin(&self) -> Result<&Viewer, ServiceError> {
        let v = self.require_user()?;
        if v.account.is_admin {
            Ok(v)
        } else {
            Err(ServiceError::NotFound)
        }
    }

    /// The owner of an approved organization (or an admin). Others get
    /// `NotFound`, exactly as for an organization that does not exist.
    pub fn require_owner(&self, org: &OrgId) -> Result<&Viewer, ServiceError> {
        let v = self.require_caller()?;
        if v.account.is_admin || v.is_owner_of(org) {
            Ok(v)
        } else {
            Err(ServiceError::NotFound)
        }
    }

    /// A member (owner or staff) of an approved organization, or an admin.
    pub fn require_member(&self, org: &OrgId) -> Result<&Viewer, ServiceError> {
        let v = self.require_caller()?;
        if v.account.is_admin || v.membership(org).is_some() {
            Ok(v)
        } else {
            Err(ServiceError::NotFound)
        }
    }
}

impl Viewer {
    /// The user id.
    pub fn user_id(&self) -> UserId {
        self.account.user_id()
    }

    /// The membership in an approved organization.
    pub fn membership(&self, org: &OrgId) -> Option<&Membership> {
        self.memberships
            .iter()
            .find(|m| m.org_id == org.as_str() && m.org_status == "approved")
    }

    /// Owner of an approved organization.
    pub fn is_owner_of(&self, org: &OrgId) -> bool {
        self.membership(org).is_some_and(|m| m.role == "owner")
    }

    /// Approved organizations this viewer belongs to.
    pub fn organizations(&self) -> impl Iterator<Item = &Membership> {
        self.memberships
            .iter()
            .filter(|m| m.org_status == "approved")
    }

    /// Organizations this viewer has applied for that await a decision.
    pub fn pending_applications(&self) -> impl Iterator<Item = &Membership> {
        self.memberships
            .iter()
            .filter(|m| m.org_status == "pending")
    }
}
