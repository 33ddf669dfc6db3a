//! Storage for accounts: users, emailed codes, sessions, organizations,
//! memberships, organizer applications and staff invitations.
//!
//! Like the rest of the store, every method is one transaction and the SQL
//! is shared by both backends (`impl_account_store!`).

use crate::domain::{OrgId, Timestamp, UserId};

use super::{BoxFuture, NewJob, Page, StoreResult, security::NewAudit};

/// An account, as the app needs it on every request.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct Account {
    /// Id.
    pub id: String,
    /// Lower-cased email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string, if the account has a password.
    pub password_hash: Option<String>,
    /// Platform admin.
    pub is_admin: bool,
    /// When the email was confirmed.
    pub email_verified_at: Option<i64>,
    /// Set while suspended.
    pub suspended_at: Option<i64>,
    /// Sessions started before the current epoch are over.
    pub session_epoch: i64,
    /// `en` or `id`: the language of emails.
    pub locale: String,
    /// Created.
    pub created_at: i64,
    /// Phone number, if given.
    pub phone: Option<String>,
    /// File-store key of the profile photo, if any.
    pub photo_key: Option<String>,
    /// Set once the person deleted the account (its personal data is gone).
    pub deleted_at: Option<i64>,
}

impl Account {
    /// The typed id.
    pub fn user_id(&self) -> UserId {
        UserId::from_string(self.id.clone())
    }
    /// Whether the email is confirmed (required to buy and to apply).
    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
    /// Whether an admin suspended the account.
    pub fn is_suspended(&self) -> bool {
        self.suspended_at.is_some()
    }
    /// Whether the person deleted the account.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
    /// Whether the account may be signed in to at all (not suspended, not deleted).
    pub fn can_sign_in(&self) -> bool {
        !self.is_suspended() && !self.is_deleted()
    }
}

/// The columns of [`Account`], for every query that reads one.
#[macro_export]
#[doc(hidden)]
macro_rules! account_columns {
    () => {
        "id, email, name, password_hash, is_admin, email_verified_at, suspended_at, session_epoch, \
         locale, created_at, phone, photo_key, deleted_at"
    };
    (u) => {
        "u.id, u.email, u.name, u.password_hash, u.is_admin, u.email_verified_at, u.suspended_at, \
         u.session_epoch, u.locale, u.created_at, u.phone, u.photo_key, u.deleted_at"
    };
}

/// Profile fields a person edits.
#[derive(Clone, Debug)]
pub struct ProfileUpdate {
    /// Display name.
    pub name: String,
    /// Phone, or none.
    pub phone: Option<String>,
    /// `en` or `id`.
    pub locale: String,
}

/// A new password account, with its verification code and the email that
/// carries it (written to the outbox in the same transaction).
#[derive(Clone, Debug)]
pub struct SignUp {
    /// The new account's id (chosen by the caller so the email job can name it).
    pub id: UserId,
    /// Lower-cased email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id hash.
    pub password_hash: String,
    /// `en` or `id`.
    pub locale: String,
    /// The verification code's keyed hash.
    pub code_hash: String,
    /// When the code stops working.
    pub code_expires_at: Timestamp,
    /// The email carrying the code.
    pub mail: NewJob,
    /// Now.
    pub now: Timestamp,
}

/// What the purpose of an emailed code is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePurpose {
    /// Confirms the email address.
    VerifyEmail,
    /// Signs in without a password.
    SignIn,
}

impl CodePurpose {
    /// Stored value.
    pub const fn as_str(self) -> &'static str {
        match self {
            CodePurpose::VerifyEmail => "verify_email",
            CodePurpose::SignIn => "sign_in",
        }
    }
}

/// The outcome of checking a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right code: it is now used up (and, for verification, the email is verified).
    Accepted,
    /// Wrong code; this many tries are left.
    Wrong {
        /// Tries left before the code is burned.
        tries_left: i64,
    },
    /// Too many wrong tries: the code is burned.
    Burned,
    /// The code ran out.
    Expired,
    /// No code is outstanding (never sent, or already used).
    Missing,
}

/// An account and its memberships, approved organizations first.
pub type AccountWithMemberships = (Account, Vec<Membership>);

/// A membership of a user in an organization.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct Membership {
    /// Organization.
    pub org_id: String,
    /// Organization name.
    pub org_name: String,
    /// Organization slug.
    pub org_slug: String,
    /// `pending`, `approved` or `rejected`.
    pub org_status: String,
    /// `owner` or `staff`.
    pub role: String,
}

/// An organization with its application state.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct Organization {
    /// Id.
    pub id: String,
    /// URL handle.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Contact email.
    pub contact_email: String,
    /// Description.
    pub description: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// The admin's reason.
    pub decision_reason: Option<String>,
    /// Applied.
    pub created_at: i64,
}

/// A decision on an organizer application.
#[derive(Clone, Debug)]
pub struct Decision {
    /// The organization applied for.
    pub org_id: OrgId,
    /// Approve or reject.
    pub approve: bool,
    /// Why (shown to the applicant).
    pub reason: String,
    /// The deciding admin.
    pub admin: UserId,
    /// Emails to the applicant, in the outbox with the decision.
    pub mail: Vec<NewJob>,
    /// The audit entry, written with the decision.
    pub audit: NewAudit,
    /// Now.
    pub now: Timestamp,
}

/// A staff invitation to create.
#[derive(Clone, Debug)]
pub struct NewInvitation {
    /// Organization.
    pub org_id: OrgId,
    /// Invitee's lower-cased email.
    pub email: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Events the staff member may scan; empty for all.
    pub event_ids: Vec<String>,
    /// Who invited.
    pub invited_by: UserId,
    /// Expiry.
    pub expires_at: Timestamp,
    /// The email carrying the link.
    pub mail: NewJob,
    /// Now.
    pub now: Timestamp,
}

/// An invitation as stored.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct Invitation {
    /// Id.
    pub id: String,
    /// Organization.
    pub org_id: String,
    /// Organization name.
    pub org_name: String,
    /// Invitee email.
    pub email: String,
    /// Comma-separated event ids (empty: all).
    pub event_ids: String,
    /// Expiry.
    pub expires_at: i64,
    /// When accepted.
    pub accepted_at: Option<i64>,
}

/// Why accepting an invitation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationRefusal {
    /// Unknown token.
    NotFound,
    /// Signed in as someone else than the invitee.
    WrongAccount,
    /// Too late.
    Expired,
    /// Already used.
    AlreadyAccepted,
}

/// Account storage.
pub trait AccountStore: Send + Sync {
    /// Creates a password account with its verification code and email.
    /// A taken email is `Conflict::DuplicateEmail`.
    fn sign_up(&self, s: SignUp) -> BoxFuture<'_, StoreResult<Account>>;
    /// An account by id.
    fn account<'a>(&'a self, id: &'a UserId) -> BoxFuture<'a, StoreResult<Option<Account>>>;
    /// An account by lower-cased email.
    fn account_by_email<'a>(
        &'a self,
        email: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Account>>>;
    /// Replaces the user's code for `purpose` and queues its email.
    fn replace_code<'a>(
        &'a self,
        user: &'a UserId,
        purpose: CodePurpose,
        code_hash: &'a str,
        expires_at: Timestamp,
        mail: NewJob,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Checks a code: counts the try, burns it after `max_tries` wrong ones,
    /// uses it up when right (verifying the email: a sign-in code proves the
    /// address as well as a verification code).
    fn check_code<'a>(
        &'a self,
        user: &'a UserId,
        purpose: CodePurpose,
        code_hash: &'a str,
        max_tries: i64,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<CodeCheck>>;
    /// Memberships of a user, approved organizations first.
    fn memberships<'a>(&'a self, user: &'a UserId) -> BoxFuture<'a, StoreResult<Vec<Membership>>>;
    /// An account and its memberships (as [`AccountStore::memberships`]
    /// orders them) in one read: what every signed-in request needs, so one
    /// round trip instead of two.
    fn account_with_memberships<'a>(
        &'a self,
        id: &'a UserId,
    ) -> BoxFuture<'a, StoreResult<Option<AccountWithMemberships>>>;
    /// Events a staff member is limited to in an organization (empty: all).
    fn staff_scope<'a>(
        &'a self,
        org: &'a OrgId,
        user: &'a UserId,
    ) -> BoxFuture<'a, StoreResult<Vec<String>>>;
    /// An organization.
    fn organization<'a>(
        &'a self,
        id: &'a OrgId,
    ) -> BoxFuture<'a, StoreResult<Option<Organization>>>;
    /// The owners of an organization.
    fn organization_owners<'a>(
        &'a self,
        org: &'a OrgId,
    ) -> BoxFuture<'a, StoreResult<Vec<Account>>>;
    /// Organizations waiting for a decision, oldest first.
    fn pending_applications(&self) -> BoxFuture<'_, StoreResult<Vec<Organization>>>;
    /// Approves or rejects a pending application (only once) and queues its emails.
    fn decide_application(&self, d: Decision) -> BoxFuture<'_, StoreResult<()>>;
    /// Creates a staff invitation and queues its email.
    fn create_invitation(&self, inv: NewInvitation) -> BoxFuture<'_, StoreResult<String>>;
    /// An invitation by the hash of its token.
    fn invitation<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Invitation>>>;
    /// Accepts an invitation for `user` (whose email must match): makes them
    /// staff (an owner stays owner) with the invitation's event scope, and
    /// writes `audit` (with the organization filled in).
    fn accept_invitation<'a>(
        &'a self,
        token_hash: &'a str,
        user: &'a Account,
        audit: NewAudit,
    ) -> BoxFuture<'a, StoreResult<Result<OrgId, InvitationRefusal>>>;
    /// Adds a member (`owner` or `staff`, every event) to an organization.
    fn add_member<'a>(
        &'a self,
        org: &'a OrgId,
        user: &'a UserId,
        role: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Users matching `query` in email or name (empty: all), newest first.
    fn search_accounts<'a>(
        &'a self,
        query: &'a str,
        limit: i64,
        offset: i64,
    ) -> BoxFuture<'a, StoreResult<Page<Account>>>;
    /// Grants or removes platform admin, with its audit entry.
    fn set_admin<'a>(
        &'a self,
        user: &'a UserId,
        admin: bool,
        audit: NewAudit,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Suspends (ending every session and refresh token) or unsuspends, with
    /// its audit entry.
    fn set_suspended<'a>(
        &'a self,
        user: &'a UserId,
        suspended: bool,
        audit: NewAudit,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Ends every session and every API refresh token of a user at once
    /// ("sign out everywhere"): the epoch moves on, so cookies and access
    /// tokens minted before stop matching. Returns the new epoch.
    fn bump_session_epoch<'a>(&'a self, user: &'a UserId) -> BoxFuture<'a, StoreResult<i64>>;
    /// Sets a new password hash and ends every session and refresh token
    /// (as [`AccountStore::bump_session_epoch`]), with its audit entry.
    /// Returns the account as of now.
    fn set_password<'a>(
        &'a self,
        user: &'a UserId,
        password_hash: &'a str,
        audit: NewAudit,
    ) -> BoxFuture<'a, StoreResult<Account>>;
    /// Saves profile fields; returns the account as of now.
    fn update_profile<'a>(
        &'a self,
        user: &'a UserId,
        profile: &'a ProfileUpdate,
    ) -> BoxFuture<'a, StoreResult<Account>>;
    /// Points the profile photo at a stored file (or none); returns the
    /// previous key so its file can be removed.
    fn set_photo<'a>(
        &'a self,
        user: &'a UserId,
        key: Option<&'a str>,
    ) -> BoxFuture<'a, StoreResult<Option<String>>>;
    /// Deletes an account softly, in one transaction: personal fields are
    /// anonymized (orders stay, pointing at the anonymous row; the
    /// attendee details the person gave as themselves are cleared), every
    /// credential goes (password, codes, reset links, Google identities,
    /// sessions, refresh tokens, the API keys they created), memberships
    /// end, and `audit` is written. Returns the old photo key.
    fn delete_account<'a>(
        &'a self,
        user: &'a UserId,
        audit: NewAudit,
    ) -> BoxFuture<'a, StoreResult<Option<String>>>;
    /// Live sessions of a user.
    fn session_count<'a>(
        &'a self,
        user: &'a UserId,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<i64>>;
    /// Events of an organization (any status), by start.
    fn events_of_org<'a>(
        &'a self,
        org: &'a OrgId,
    ) -> BoxFuture<'a, StoreResult<Vec<super::EventRecord>>>;

    /// Loads a session record (JSON) unless expired.
    fn session_load<'a>(
        &'a self,
        id: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Option<String>>>;
    /// Saves a session record (with its signed-in user, if any).
    fn session_save<'a>(
        &'a self,
        id: &'a str,
        data: &'a str,
        user: Option<&'a str>,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// Creates a session record; false when the id is taken.
    fn session_create<'a>(
        &'a self,
        id: &'a str,
        data: &'a str,
        user: Option<&'a str>,
        expires_at: Timestamp,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// Deletes a session record.
    fn session_delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, StoreResult<()>>;
    /// Deletes expired sessions; returns how many. Also drops what no longer
    /// counts for anything: abuse-limit windows that ended, refresh tokens
    /// and reset links past their expiry.
    fn purge_expired_sessions(&self, now: Timestamp) -> BoxFuture<'_, StoreResult<u64>>;
}
