//! Accounts: sign-up with an emailed code, verification, sign-in, sign-out.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::{
    domain::{
        UserId,
        account::{EmailAddress, check_password, parse_code, parse_name},
        money::Lang,
    },
    error::ServiceError,
    services::mail::{self, Template},
    state::AppState,
    store::{
        Conflict, StoreError,
        accounts::{Account, CodeCheck, CodePurpose, SignUp},
        new_id,
    },
};

/// Codes work for this long.
pub const CODE_TTL_MINUTES: i64 = 10;
/// Wrong tries before a code is burned.
pub const CODE_MAX_TRIES: i64 = 5;

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
#[tracing::instrument(skip(state, input), fields(email = %crate::telemetry::mask_email(&input.email)))]
pub async fn sign_up(state: &AppState, input: SignUpInput) -> Result<Account, ServiceError> {
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
pub async fn resend_verification(state: &AppState, account: &Account) -> Result<(), ServiceError> {
    if account.is_verified() {
        return Err(ServiceError::Invalid(
            "Your email address is already verified.".into(),
        ));
    }
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
/// an unknown email.
#[tracing::instrument(skip(state, email, password), fields(email = %crate::telemetry::mask_email(email)))]
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: &str,
) -> Result<Account, ServiceError> {
    let wrong = || ServiceError::Invalid("Wrong email or password.".into());
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
        return Err(wrong());
    };
    if account.is_suspended() {
        return Err(ServiceError::Forbidden(
            "This account is suspended. Contact the admit team if you think this is a mistake."
                .into(),
        ));
    }
    tracing::info!(user = %account.id, "signed in");
    Ok(account)
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
    state.store.bump_session_epoch(&account.user_id()).await?;
    Ok(())
}
