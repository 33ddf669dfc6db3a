//! The audit log: security events and admin actions. Entries are written by
//! the store in the same transaction as the change they record (where there
//! is one); this module names the actions, builds entries and lets admins
//! read them with filters.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::{
    domain::{OrgId, Timestamp, UserId, account::EmailAddress},
    error::ServiceError,
    services::authz::Identity,
    state::AppState,
    store::{
        Page,
        security::{AuditEntry, AuditQuery, NewAudit},
    },
};

/// The actions the log records.
pub mod actions {
    /// Signed in (password, code or Google).
    pub const SIGN_IN: &str = "sign_in";
    /// A sign-in was refused (wrong password or code, Google refusal).
    pub const SIGN_IN_FAILED: &str = "sign_in_failed";
    /// Every session and token of the account was ended.
    pub const SIGNED_OUT_EVERYWHERE: &str = "signed_out_everywhere";
    /// The password was changed while signed in.
    pub const PASSWORD_CHANGED: &str = "password_changed";
    /// The password was set through an emailed reset link.
    pub const PASSWORD_RESET: &str = "password_reset";
    /// A Google account was linked to an existing account.
    pub const GOOGLE_LINKED: &str = "google_linked";
    /// A rotated refresh token was used again; its family was revoked.
    pub const REFRESH_TOKEN_REUSED: &str = "refresh_token_reused";
    /// Platform-admin rights granted or removed.
    pub const ROLE_CHANGED: &str = "role_changed";
    /// Someone joined an organization (staff invitation accepted).
    pub const MEMBERSHIP_CHANGED: &str = "membership_changed";
    /// An organizer application was approved.
    pub const APPLICATION_APPROVED: &str = "application_approved";
    /// An organizer application was rejected.
    pub const APPLICATION_REJECTED: &str = "application_rejected";
    /// An account was suspended.
    pub const SUSPENDED: &str = "suspended";
    /// A suspension was lifted.
    pub const UNSUSPENDED: &str = "unsuspended";
    /// An organization API key was created.
    pub const API_KEY_CREATED: &str = "api_key_created";
    /// An organization API key was revoked.
    pub const API_KEY_REVOKED: &str = "api_key_revoked";
    /// The person deleted their account.
    pub const ACCOUNT_DELETED: &str = "account_deleted";

    /// Every action, for the admin page's filter.
    pub const ALL: &[&str] = &[
        SIGN_IN,
        SIGN_IN_FAILED,
        SIGNED_OUT_EVERYWHERE,
        PASSWORD_CHANGED,
        PASSWORD_RESET,
        GOOGLE_LINKED,
        REFRESH_TOKEN_REUSED,
        ROLE_CHANGED,
        MEMBERSHIP_CHANGED,
        APPLICATION_APPROVED,
        APPLICATION_REJECTED,
        SUSPENDED,
        UNSUSPENDED,
        API_KEY_CREATED,
        API_KEY_REVOKED,
        ACCOUNT_DELETED,
    ];
}

/// Entries per page.
pub const PAGE: i64 = 50;

/// A new entry: `actor` did `action` to `subject` at `at`.
pub fn entry(
    action: &'static str,
    actor: Option<&UserId>,
    subject: Option<&UserId>,
    at: Timestamp,
) -> NewAudit {
    NewAudit {
        action,
        actor: actor.cloned(),
        subject: subject.cloned(),
        org: None,
        ip: None,
        detail: json!({}),
        at,
    }
}

/// Builder steps for entries.
pub trait AuditExt {
    /// From this client address.
    fn ip(self, ip: IpAddr) -> Self;
    /// About this organization.
    fn org(self, org: &OrgId) -> Self;
    /// With these details (already masked).
    fn detail(self, detail: Value) -> Self;
}

impl AuditExt for NewAudit {
    fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip.to_string());
        self
    }
    fn org(mut self, org: &OrgId) -> Self {
        self.org = Some(org.clone());
        self
    }
    fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Writes an entry that records no other change (sign-ins, refusals). A
/// failure to write is logged, never shown: the person's request goes on.
pub async fn record(state: &AppState, entry: NewAudit) {
    let action = entry.action;
    if let Err(e) = state.store.record_audit(entry).await {
        tracing::error!(error = ?e, action, "could not write an audit entry");
    }
}

/// What admins filter the log by (all optional, as typed in the form).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, PartialEq)]
pub struct AuditFilter {
    /// One action, or empty for all.
    #[serde(default)]
    pub action: String,
    /// An email address or account id the entries are by or about.
    #[serde(default)]
    pub user: String,
    /// An organization id.
    #[serde(default)]
    pub org: String,
    /// From this day (YYYY-MM-DD, UTC), inclusive.
    #[serde(default)]
    pub from: String,
    /// Until this day (YYYY-MM-DD, UTC), inclusive.
    #[serde(default)]
    pub to: String,
    /// 1-based page.
    #[serde(default)]
    pub page: Option<u32>,
}

fn day_start(s: &str, what: &str) -> Result<Option<Timestamp>, ServiceError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let date: jiff::civil::Date = s.parse().map_err(|_| {
        ServiceError::Invalid(format!("The {what} date must look like 2026-05-31."))
    })?;
    let ts = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| ServiceError::Internal(e.into()))?
        .timestamp();
    Ok(Some(Timestamp::from_millis(ts.as_millisecond())))
}

/// A page of the log, newest first (admins only).
pub async fn list(
    state: &AppState,
    who: &Identity,
    f: &AuditFilter,
) -> Result<Page<AuditEntry>, ServiceError> {
    who.require_admin()?;
    let action = f.action.trim();
    if !action.is_empty() && !actions::ALL.contains(&action) {
        return Err(ServiceError::Invalid(format!(
            "Unknown action {action:?}. Choose one of: {}.",
            actions::ALL.join(", ")
        )));
    }
    let user = match f.user.trim() {
        "" => None,
        u if u.contains('@') => {
            let email = EmailAddress::parse(u)
                .map_err(|_| ServiceError::Invalid("Enter a valid email address.".into()))?;
            match state.store.account_by_email(email.as_str()).await? {
                Some(a) => Some(a.user_id()),
                // Nobody has it: nothing matches.
                None => {
                    return Ok(Page {
                        items: vec![],
                        total: 0,
                    });
                }
            }
        }
        u => Some(UserId::from_string(u)),
    };
    let org = match f.org.trim() {
        "" => None,
        o => Some(OrgId::from_string(o)),
    };
    let page = i64::from(f.page.unwrap_or(1).max(1));
    let q = AuditQuery {
        action: (!action.is_empty()).then(|| action.to_owned()),
        user,
        org,
        from: day_start(&f.from, "from")?,
        to: day_start(&f.to, "to")?.map(|t| t.plus_minutes(24 * 60)),
        limit: PAGE,
        offset: (page - 1) * PAGE,
    };
    Ok(state.store.audit_entries(&q).await?)
}
