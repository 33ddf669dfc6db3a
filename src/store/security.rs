//! Storage for how people and programs prove who they are, and the record of
//! what they did: Google identities, password resets, refresh tokens,
//! organization API keys, abuse-limit counters and the audit log.
//!
//! Like the rest of the store, every method is one transaction and the SQL
//! is shared by both backends (`impl_security_store!`).

use crate::domain::{OrgId, Timestamp, UserId};

use super::{BoxFuture, NewJob, Page, StoreResult, accounts::Account};

/// An audit-log entry to write (inside the transaction of the change it
/// records, where there is one).
#[derive(Clone, Debug)]
pub struct NewAudit {
    /// What happened (`sign_in`, `role_changed`…).
    pub action: &'static str,
    /// Who did it; `None` for an anonymous visitor.
    pub actor: Option<UserId>,
    /// The account it concerns.
    pub subject: Option<UserId>,
    /// The organization it concerns.
    pub org: Option<OrgId>,
    /// The client's address, for security events.
    pub ip: Option<String>,
    /// Details (JSON); personal data already masked.
    pub detail: serde_json::Value,
    /// When.
    pub at: Timestamp,
}

/// An audit-log entry as stored.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct AuditEntry {
    /// Id (time-ordered).
    pub id: String,
    /// When (UTC ms).
    pub at: i64,
    /// What happened.
    pub action: String,
    /// Who did it.
    pub actor_id: Option<String>,
    /// The actor's current email, when known.
    pub actor_email: Option<String>,
    /// The account it concerns.
    pub subject_id: Option<String>,
    /// The subject's current email, when known.
    pub subject_email: Option<String>,
    /// The organization it concerns.
    pub org_id: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Details (JSON text).
    pub detail: String,
}

/// Filters of the audit log; every one optional.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Exactly this action.
    pub action: Option<String>,
    /// Entries done by or about this account.
    pub user: Option<UserId>,
    /// Entries about this organization.
    pub org: Option<OrgId>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub to: Option<Timestamp>,
    /// Page size.
    pub limit: i64,
    /// Entries to skip (newest first).
    pub offset: i64,
}

/// A refresh token to store (only its hash).
#[derive(Clone, Debug)]
pub struct NewRefreshToken {
    /// Id.
    pub id: String,
    /// The family: a new one per sign-in, inherited on rotation.
    pub family_id: String,
    /// Owner.
    pub user: UserId,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Now.
    pub now: Timestamp,
}

/// What presenting a refresh token did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// It was valid: it is now used, and the new token (same family) is stored.
    Rotated {
        /// The owner, as of now.
        account: Box<Account>,
    },
    /// It had been rotated already: the whole family is now revoked.
    Reused {
        /// The owner (for the audit log).
        user_id: String,
    },
    /// Unknown, revoked or expired.
    Invalid,
}

/// A new organization API key (only its hash is stored).
#[derive(Clone, Debug)]
pub struct NewApiKey {
    /// Id.
    pub id: String,
    /// Organization.
    pub org_id: OrgId,
    /// What the owner calls it.
    pub name: String,
    /// The key's first characters, shown in lists.
    pub prefix: String,
    /// SHA-256 of the key, hex.
    pub key_hash: String,
    /// `read` or `read_write`.
    pub scope: String,
    /// The person who created it.
    pub created_by: UserId,
    /// Written with it.
    pub audit: NewAudit,
    /// Now.
    pub now: Timestamp,
}

/// An API key as listed (never the key itself).
#[derive(Clone, Debug, sqlx::FromRow, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Id.
    pub id: String,
    /// Organization.
    pub org_id: String,
    /// Name.
    pub name: String,
    /// First characters of the key.
    pub prefix: String,
    /// `read` or `read_write`.
    pub scope: String,
    /// Creator.
    pub created_by: String,
    /// Created.
    pub created_at: i64,
    /// Last used (to the minute).
    pub last_used_at: Option<i64>,
    /// Revoked.
    pub revoked_at: Option<i64>,
}

/// A live key presented with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyGrant {
    /// The key.
    pub key: ApiKeyRecord,
    /// Its organization's name, slug and status.
    pub org_name: String,
    /// Slug.
    pub org_slug: String,
    /// `approved`…
    pub org_status: String,
    /// The creator's account, as of now.
    pub creator: Account,
    /// Whether the creator is still an owner of the organization.
    pub creator_is_owner: bool,
}

/// What Google (or another provider) said about the person, verified.
#[derive(Clone, Debug)]
pub struct ExternalLogin {
    /// Provider name (`google`).
    pub provider: &'static str,
    /// The provider's stable user id.
    pub subject: String,
    /// Lower-cased email.
    pub email: String,
    /// Whether the provider verified the email.
    pub email_verified: bool,
    /// Display name for a new account.
    pub name: String,
    /// `en` or `id`, for a new account.
    pub locale: String,
    /// Id for a new account.
    pub new_user_id: UserId,
    /// Now.
    pub now: Timestamp,
}

/// How an external login resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternalOutcome {
    /// The identity was linked before.
    Known(Box<Account>),
    /// A verified email matched an account: the identity is now linked.
    Linked(Box<Account>),
    /// No account had the email: one was created, verified, without a password.
    Created(Box<Account>),
    /// The email is not verified and the identity is not linked: refused.
    UnverifiedEmail,
}

/// A password-reset link to store and email.
#[derive(Clone, Debug)]
pub struct NewPasswordReset {
    /// Account.
    pub user: UserId,
    /// SHA-256 of the emailed token, hex.
    pub token_hash: String,
    /// Expiry.
    pub expires_at: Timestamp,
    /// The email carrying the link.
    pub mail: NewJob,
    /// Now.
    pub now: Timestamp,
}

/// Storage of credentials, limits and the audit log.
pub trait SecurityStore: Send + Sync {
    /// Writes an audit entry on its own (events that change nothing else).
    fn record_audit(&self, entry: NewAudit) -> BoxFuture<'_, StoreResult<()>>;
    /// Audit entries matching the filters, newest first.
    fn audit_entries<'a>(
        &'a self,
        q: &'a AuditQuery,
    ) -> BoxFuture<'a, StoreResult<Page<AuditEntry>>>;

    /// Counts one attempt in `bucket`'s window starting at `window_start`,
    /// unless it already holds `limit` hits: a conditional upsert, so
    /// instances sharing the database never exceed the limit together.
    /// Returns `Some(hits)` when counted, `None` when over the limit (and
    /// the window start, for `Retry-After`).
    fn hit_rate_limit<'a>(
        &'a self,
        bucket: &'a str,
        window_start: i64,
        limit: u32,
    ) -> BoxFuture<'a, StoreResult<Result<i64, i64>>>;

    /// Stores a new refresh token.
    fn issue_refresh_token(&self, t: NewRefreshToken) -> BoxFuture<'_, StoreResult<()>>;
    /// Rotates the token with this hash into `next` (same family), or, if
    /// it was rotated before, revokes its whole family.
    fn rotate_refresh_token<'a>(
        &'a self,
        token_hash: &'a str,
        next: NewRefreshToken,
    ) -> BoxFuture<'a, StoreResult<RefreshOutcome>>;
    /// Revokes the family of the token with this hash (signing an app out).
    fn revoke_refresh_family<'a>(
        &'a self,
        token_hash: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<()>>;

    /// Stores an API key and its audit entry.
    fn create_api_key(&self, k: NewApiKey) -> BoxFuture<'_, StoreResult<()>>;
    /// The keys of an organization, newest first.
    fn api_keys_of_org<'a>(
        &'a self,
        org: &'a OrgId,
    ) -> BoxFuture<'a, StoreResult<Vec<ApiKeyRecord>>>;
    /// Revokes a key of the organization (once); false when there was none to revoke.
    fn revoke_api_key<'a>(
        &'a self,
        org: &'a OrgId,
        id: &'a str,
        audit: NewAudit,
    ) -> BoxFuture<'a, StoreResult<bool>>;
    /// The unrevoked key with this hash, its organization and creator; marks
    /// it used (at most once a minute).
    fn api_key_by_hash<'a>(
        &'a self,
        key_hash: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, StoreResult<Option<ApiKeyGrant>>>;

    /// Resolves a verified external login: the linked account, or links a
    /// verified email to its account (an unverified account is taken over:
    /// its password and sessions end, as whoever set them never proved the
    /// address), or creates a new account. When it links or creates, it
    /// writes `audit` (with the account filled in) in the same transaction.
    fn external_login(
        &self,
        login: ExternalLogin,
        audit: NewAudit,
    ) -> BoxFuture<'_, StoreResult<ExternalOutcome>>;
    /// `(provider, email, linked at)` of the identities linked to an account.
    fn identities_of_user<'a>(
        &'a self,
        user: &'a UserId,
    ) -> BoxFuture<'a, StoreResult<Vec<(String, String, i64)>>>;

    /// Stores a reset link (earlier unused links of the account stop working) and queues its email.
    fn create_password_reset(&self, r: NewPasswordReset) -> BoxFuture<'_, StoreResult<()>>;
    /// Uses a reset link once: sets the new password hash, ends every
    /// session and refresh token, writes `audit`. `None` when the link is
    /// unknown, used or expired.
    fn use_password_reset<'a>(
        &'a self,
        token_hash: &'a str,
        password_hash: &'a str,
        audit: NewAudit,
    ) -> BoxFuture<'a, StoreResult<Option<Account>>>;
}
