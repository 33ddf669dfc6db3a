//! Accounts: sign-up with an emailed code, verification, sign-in with a
//! password or an emailed code, passwords (change, forgotten, reset),
//! sign-out.
//!
//! Everything a stranger can ask about an email address (sign in, send a
//! code, reset the password) answers the same whether or not an account
//! has that address, and is counted by the abuse limits.

use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::{
    domain::{
        UserId,
        account::{EmailAddress, check_password, parse_code, parse_name},
        limits::LimitedAction,
        money::Lang,
    },
    error::ServiceError,
    services::{
        audit::{self, AuditExt, actions},
        authz::Identity,
        limits,
        mail::{self, Template},
        tokens,
    },
    state::AppState,
    store::{
        Conflict, StoreError,
        accounts::{Account, CodeCheck, CodePurpose, SignUp},
        new_id,
        security::NewPasswordReset,
    },
    telemetry::mask_email,
};

/// Codes work for this long.
pub const CODE_TTL_MINUTES: i64 = 10;
/// Wrong tries before a code is burned.
pub const CODE_MAX_TRIES: i64 = 5;
/// Password-reset links work for this long.
pub const RESET_TTL_MINUTES: i64 = 30;
/// Reset links start with this (`/reset?token=pr_…`).
pub const RESET_PREFIX: &str = "pr_";

/// The one answer to a wrong sign-in, whatever was wrong.
pub const WRONG_PASSWORD: &str = "Wrong email or password.";
/// The one answer to a sign-in code that does not work, whatever the reason:
/// wrong, expired, used, burned or never sent (to an address without an
/// account), so the answer says nothing about who has an account.
pub const WRONG_CODE: &str =
    "That code does not work. Check the newest email from admit, or send a new code.";

/// What the sign-up form carries.
#[derive(Clone, Debug)]
pub struct SignUpInput {
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Password (never logged).
    pub password: String,
    /// Language for emails.
    pub lang: Lang,
}

/// A fresh 6-digit code.
fn new_code() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

/// The keyed hash stored for a code: HMAC-SHA256 over user, purpose and
/// code, so a database leak does not reveal codes and a hash is useless for
/// another user or purpose.
pub fn code_hash(state: &AppState, user: &UserId, purpose: CodePurpose, code: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(state.config.secrets.session_secret.expose().as_bytes())
            .expect("HMAC takes any key length");
    mac.update(user.as_str().as_bytes());
    mac.update(b"|");
    mac.update(purpose.as_str().as_bytes());
    mac.update(b"|");
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Hashes a password with argon2id, off the async threads.
pub async fn hash_password(password: String) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || {
        use argon2::{Argon2, PasswordHasher};
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| ServiceError::Internal(e.into()))?
    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("argon2 failed: {e}")))
}

/// Checks a password against a stored hash, off the async threads. A
/// missing hash still costs one verification, so timing does not tell
/// whether an account exists.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        use argon2::{Argon2, PasswordHash, PasswordVerifier};
        // A real hash of a random password, made once, for unknown accounts.
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            use argon2::PasswordHasher;
            Argon2::default()
                .hash_password(new_id().as_bytes())
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let stored = hash.as_deref().unwrap_or(dummy);
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && hash.is_some()
    })
    .await
    .unwrap_or(false)
}

/// Creates an account and emails its verification code (through the outbox,
/// in the same transaction).
#[tracing::instrument(skip(state, input), fields(email = %mask_email(&input.email)))]
pub async fn sign_up(
    state: &AppState,
    input: SignUpInput,
    ip: IpAddr,
) -> Result<Account, ServiceError> {
    limits::check(state, LimitedAction::SignUp, ip, Some(&input.email)).await?;
    let name = parse_name(&input.name).map_err(|e| ServiceError::Invalid(capitalize(e)))?;
    let email = EmailAddress::parse(&input.email)
        .map_err(|e| ServiceError::Invalid(capitalize(&e.to_string())))?;
    check_password(&input.password)
        .map_err(|e| ServiceError::Invalid(capitalize(&e.to_string())))?;
    let password_hash = hash_password(input.password).await?;
    let now = state.now();
    let id = UserId::from_string(new_id());
    let code = new_code();
    let signup = SignUp {
        code_hash: code_hash(state, &id, CodePurpose::VerifyEmail, &code),
        code_expires_at: now.plus_minutes(CODE_TTL_MINUTES),
        mail: mail::job(
            email.as_str(),
            input.lang,
            Template::VerifyEmail,
            json!({"name": name, "code": code}),
            now,
        ),
        id,
        email: email.as_str().to_owned(),
        name,
        password_hash,
        locale: input.lang.tag().to_owned(),
        now,
    };
    state.store.sign_up(signup).await.map_err(|e| match e {
        StoreError::Conflict(Conflict::DuplicateEmail) => ServiceError::Conflict(
            "An account with this email already exists. Sign in instead.".into(),
        ),
        other => other.into(),
    })
}

/// Sends a new verification code (the old one stops working).
#[tracing::instrument(skip(state, account), fields(user = %account.id))]
pub async fn resend_verification(
    state: &AppState,
    account: &Account,
    ip: IpAddr,
) -> Result<(), ServiceError> {
    if account.is_verified() {
        return Err(ServiceError::Invalid(
            "Your email address is already verified.".into(),
        ));
    }
    limits::check(state, LimitedAction::SendCode, ip, Some(&account.email)).await?;
    let now = state.now();
    let code = new_code();
    let lang = Lang::parse(&account.locale).unwrap_or_default();
    let user = account.user_id();
    state
        .store
        .replace_code(
            &user,
            CodePurpose::VerifyEmail,
            &code_hash(state, &user, CodePurpose::VerifyEmail, &code),
            now.plus_minutes(CODE_TTL_MINUTES),
            mail::job(
                &account.email,
                lang,
                Template::VerifyEmail,
                json!({"name": account.name, "code": code}),
                now,
            ),
            now,
        )
        .await?;
    Ok(())
}

/// Confirms the email with the emailed code.
#[tracing::instrument(skip(state, account, code), fields(user = %account.id))]
pub async fn verify_email(
    state: &AppState,
    account: &Account,
    code: &str,
) -> Result<(), ServiceError> {
    if account.is_verified() {
        return Ok(());
    }
    let code = parse_code(code)
        .ok_or_else(|| ServiceError::Invalid("Enter the 6 digits from the email.".into()))?;
    let user = account.user_id();
    let hash = code_hash(state, &user, CodePurpose::VerifyEmail, &code);
    match state
        .store
        .check_code(
            &user,
            CodePurpose::VerifyEmail,
            &hash,
            CODE_MAX_TRIES,
            state.now(),
        )
        .await?
    {
        CodeCheck::Accepted => Ok(()),
        CodeCheck::Wrong { tries_left } => Err(ServiceError::Invalid(format!(
            "That code is not right. {tries_left} {} left.",
            if tries_left == 1 { "try" } else { "tries" }
        ))),
        CodeCheck::Burned => Err(ServiceError::Invalid(
            "Too many wrong tries: this code no longer works. Send a new code.".into(),
        )),
        CodeCheck::Expired => Err(ServiceError::Invalid(
            "This code has expired. Send a new code.".into(),
        )),
        CodeCheck::Missing => Err(ServiceError::Invalid(
            "This code was already used or never sent. Send a new code.".into(),
        )),
    }
}

/// Checks email and password. The same message answers a wrong password and
/// an unknown email; both are logged (without the password) and audited.
#[tracing::instrument(skip(state, email, password), fields(email = %mask_email(email)))]
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
    ip: IpAddr,
) -> Result<Account, ServiceError> {
    limits::check(state, LimitedAction::SignIn, ip, Some(email)).await?;
    let account = match EmailAddress::parse(email) {
        Ok(e) => state.store.account_by_email(e.as_str()).await?,
        Err(_) => None,
    };
    let ok = verify_password(
        password.to_owned(),
        account.as_ref().and_then(|a| a.password_hash.clone()),
    )
    .await;
    let Some(account) = account.filter(|_| ok) else {
        tracing::info!("failed sign-in");
        return Err(failed_sign_in(state, email, ip, "password").await);
    };
    signed_in(state, account, ip, "password").await
}

/// Records a refused sign-in and returns the one answer to it.
async fn failed_sign_in(state: &AppState, email: &str, ip: IpAddr, method: &str) -> ServiceError {
    let subject = match EmailAddress::parse(email) {
        Ok(e) => state
            .store
            .account_by_email(e.as_str())
            .await
            .ok()
            .flatten()
            .map(|a| a.user_id()),
        Err(_) => None,
    };
    audit::record(
        state,
        audit::entry(actions::SIGN_IN_FAILED, None, subject.as_ref(), state.now())
            .ip(ip)
            .detail(json!({"email": mask_email(email), "method": method})),
    )
    .await;
    ServiceError::Invalid(
        if method == "code" {
            WRONG_CODE
        } else {
            WRONG_PASSWORD
        }
        .into(),
    )
}

/// The end of every successful sign-in: suspended accounts are refused,
/// the rest audited.
pub(crate) async fn signed_in(
    state: &AppState,
    account: Account,
    ip: IpAddr,
    method: &str,
) -> Result<Account, ServiceError> {
    if account.is_suspended() {
        return Err(ServiceError::Forbidden(
            "This account is suspended. Contact the admit team if you think this is a mistake."
                .into(),
        ));
    }
    if account.is_deleted() {
        return Err(ServiceError::Invalid(WRONG_PASSWORD.into()));
    }
    tracing::info!(user = %account.id, method, "signed in");
    let user = account.user_id();
    audit::record(
        state,
        audit::entry(actions::SIGN_IN, Some(&user), Some(&user), state.now())
            .ip(ip)
            .detail(json!({"method": method})),
    )
    .await;
    Ok(account)
}

/// Emails a 6-digit sign-in code (hashed, 10 minutes, single use, 5 tries)
/// to the account with this address. An address without an account gets
/// nothing, and the caller the same answer either way.
#[tracing::instrument(skip(state, email), fields(email = %mask_email(email)))]
pub async fn send_sign_in_code(
    state: &AppState,
    email: &str,
    ip: IpAddr,
    lang: Lang,
) -> Result<(), ServiceError> {
    limits::check(state, LimitedAction::SendCode, ip, Some(email)).await?;
    let email = EmailAddress::parse(email)
        .map_err(|e| ServiceError::Invalid(capitalize(&e.to_string())))?;
    let Some(account) = state.store.account_by_email(email.as_str()).await? else {
        tracing::info!("sign-in code asked for an address without an account");
        return Ok(());
    };
    if !account.can_sign_in() {
        return Ok(());
    }
    let now = state.now();
    let code = new_code();
    let user = account.user_id();
    let lang = Lang::parse(&account.locale).unwrap_or(lang);
    state
        .store
        .replace_code(
            &user,
            CodePurpose::SignIn,
            &code_hash(state, &user, CodePurpose::SignIn, &code),
            now.plus_minutes(CODE_TTL_MINUTES),
            mail::job(
                &account.email,
                lang,
                Template::SignInCode,
                json!({"name": account.name, "code": code}),
                now,
            ),
            now,
        )
        .await?;
    Ok(())
}

/// Signs in with an emailed code. Every failure gets the same answer
/// ([`WRONG_CODE`]); wrong tries still count towards burning the code.
#[tracing::instrument(skip(state, email, code), fields(email = %mask_email(email)))]
pub async fn sign_in_with_code(
    state: &AppState,
    email: &str,
    code: &str,
    ip: IpAddr,
) -> Result<Account, ServiceError> {
    limits::check(state, LimitedAction::SignIn, ip, Some(email)).await?;
    let code = parse_code(code)
        .ok_or_else(|| ServiceError::Invalid("Enter the 6 digits from the email.".into()))?;
    let account = match EmailAddress::parse(email) {
        Ok(e) => state.store.account_by_email(e.as_str()).await?,
        Err(_) => None,
    };
    let accepted = match &account {
        Some(a) => {
            let user = a.user_id();
            state
                .store
                .check_code(
                    &user,
                    CodePurpose::SignIn,
                    &code_hash(state, &user, CodePurpose::SignIn, &code),
                    CODE_MAX_TRIES,
                    state.now(),
                )
                .await?
                == CodeCheck::Accepted
        }
        None => false,
    };
    match account {
        Some(a) if accepted => {
            // Accepting the code verified the address: read it again.
            let fresh = state.store.account(&a.user_id()).await?.unwrap_or(a);
            signed_in(state, fresh, ip, "code").await
        }
        _ => {
            tracing::info!("failed sign-in with a code");
            Err(failed_sign_in(state, email, ip, "code").await)
        }
    }
}

/// Emails a single-use password-reset link (30 minutes) to the account with
/// this address; an address without an account gets nothing, and the caller
/// the same answer either way.
#[tracing::instrument(skip(state, email), fields(email = %mask_email(email)))]
pub async fn forgot_password(
    state: &AppState,
    email: &str,
    ip: IpAddr,
    lang: Lang,
) -> Result<(), ServiceError> {
    limits::check(state, LimitedAction::PasswordReset, ip, Some(email)).await?;
    let email = EmailAddress::parse(email)
        .map_err(|e| ServiceError::Invalid(capitalize(&e.to_string())))?;
    let Some(account) = state.store.account_by_email(email.as_str()).await? else {
        tracing::info!("password reset asked for an address without an account");
        return Ok(());
    };
    if !account.can_sign_in() {
        return Ok(());
    }
    let now = state.now();
    let token = tokens::random_token(RESET_PREFIX);
    let url = format!(
        "{}/reset?{}",
        state.config.settings.public_base(),
        serde_urlencoded::to_string([("token", token.as_str())]).unwrap_or_default()
    );
    let lang = Lang::parse(&account.locale).unwrap_or(lang);
    state
        .store
        .create_password_reset(NewPasswordReset {
            user: account.user_id(),
            token_hash: tokens::hash(&token),
            expires_at: now.plus_minutes(RESET_TTL_MINUTES),
            mail: mail::job(
                &account.email,
                lang,
                Template::PasswordReset,
                json!({"name": account.name, "url": url}),
                now,
            ),
            now,
        })
        .await?;
    Ok(())
}

/// Sets a new password with an emailed link (once). Every session and API
/// token of the account ends; the caller may start a new session for the
/// person who reset it. Returns the account as of now.
#[tracing::instrument(skip(state, token, password))]
pub async fn reset_password(
    state: &AppState,
    token: &str,
    password: &str,
    ip: IpAddr,
) -> Result<Account, ServiceError> {
    check_password(password).map_err(|e| ServiceError::Invalid(capitalize(&e.to_string())))?;
    let expired = || {
        ServiceError::Invalid(
            "This reset link has expired or was already used. Ask for a new one.".into(),
        )
    };
    if !token.starts_with(RESET_PREFIX) {
        return Err(expired());
    }
    let password_hash = hash_password(password.to_owned()).await?;
    let entry = audit::entry(actions::PASSWORD_RESET, None, None, state.now()).ip(ip);
    let account = state
        .store
        .use_password_reset(&tokens::hash(token), &password_hash, entry)
        .await?
        .ok_or_else(expired)?;
    tracing::info!(user = %account.id, "password reset; every session ended");
    Ok(account)
}

/// Changes the password of the signed-in person, who must give the current
/// one (accounts without a password, e.g. Google-only, set their first).
/// Every other session and API token ends; the caller keeps this session
/// going with the returned account's new epoch.
#[tracing::instrument(skip(state, who, current, new))]
pub async fn change_password(
    state: &AppState,
    who: &Identity,
    current: &str,
    new: &str,
    ip: IpAddr,
) -> Result<Account, ServiceError> {
    let viewer = who.require_user()?;
    let account = &viewer.account;
    // Guessing the current password is guessing a password.
    limits::check(state, LimitedAction::SignIn, ip, Some(&account.email)).await?;
    if account.password_hash.is_some()
        && !verify_password(current.to_owned(), account.password_hash.clone()).await
    {
        return Err(ServiceError::Invalid(
            "Your current password is not right.".into(),
        ));
    }
    check_password(new).map_err(|e| ServiceError::Invalid(capitalize(&e.to_string())))?;
    let password_hash = hash_password(new.to_owned()).await?;
    let user = account.user_id();
    let updated = state
        .store
        .set_password(
            &user,
            &password_hash,
            audit::entry(
                actions::PASSWORD_CHANGED,
                Some(&user),
                Some(&user),
                state.now(),
            )
            .ip(ip),
        )
        .await?;
    tracing::info!(user = %user, "password changed; other sessions ended");
    Ok(updated)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => {
            f.to_uppercase().chain(c).collect::<String>() + if s.ends_with('.') { "" } else { "." }
        }
        None => String::new(),
    }
}

/// Ends every session of the account at once ("sign out everywhere"): the
/// session epoch moves on, so sessions started before no longer match.
#[tracing::instrument(skip(state, account), fields(user = %account.id))]
pub async fn sign_out_everywhere(state: &AppState, account: &Account) -> Result<(), ServiceError> {
    let user = account.user_id();
    state.store.bump_session_epoch(&user).await?;
    audit::record(
        state,
        audit::entry(
            actions::SIGNED_OUT_EVERYWHERE,
            Some(&user),
            Some(&user),
            state.now(),
        ),
    )
    .await;
    Ok(())
}
