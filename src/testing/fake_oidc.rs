//! A local fake of Google's OpenID provider, for tests only (feature
//! `test-hooks`): the integration tests start it in-process on 127.0.0.1:0,
//! and `admit fake-oidc --addr …` runs it next to the browser tests' server.
//!
//! It speaks real HTTP with documents shaped like Google's: discovery
//! (`/.well-known/openid-configuration`), `/authorize` (an HTML page where
//! the browser "chooses an account"), `/token`, `/jwks` and `/userinfo`. ID
//! tokens are RS256 JWTs with `iss`, `aud`, `sub`, `email`,
//! `email_verified`, `nonce`, `exp`, `iat`, `name` and `picture`.
//!
//! It **enforces** what Google enforces for admit's flow: the exact
//! registered redirect URI, the client's credentials, single-use codes, and
//! PKCE (S256: the token request's `code_verifier` must hash to the
//! authorization's `code_challenge`).
//!
//! Each authorization can carry a twist, chosen on the account page (field
//! `twist`), to mint what a broken or hostile provider would: a token with a
//! bad signature, a wrong audience, a wrong issuer, a wrong nonce, an
//! expired token, or an unverified email.
//!
//! The two RSA keys under this folder exist for this fake alone: the first is
//! published in its JWKS, the second signs the "bad signature" tokens.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use base64::Engine;
use openidconnect::{
    AccessToken, Audience, EmptyAdditionalClaims, EndUserEmail, EndUserName, EndUserPictureUrl,
    IssuerUrl, JsonWebKeyId, LocalizedClaim, Nonce, PrivateSigningKey, StandardClaims,
    SubjectIdentifier,
    core::{
        CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
        CoreRsaPrivateSigningKey,
    },
};
use serde::Deserialize;
use sha2::{Digest, Sha256};

const KEY_ID: &str = "fake-oidc-1";
const KEY_PEM: &str = include_str!("fake_oidc_key.pem");
const ROGUE_PEM: &str = include_str!("fake_oidc_rogue_key.pem");
/// Authorization codes work this long (seconds).
const CODE_SECS: i64 = 60;

/// The one OAuth client the fake knows: admit, as registered at "Google".
#[derive(Clone, Debug)]
pub struct Registration {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// The exact redirect URI allowed.
    pub redirect_uri: String,
}

/// What an authorization should go wrong with (none by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Twist {
    /// A correct token.
    #[default]
    None,
    /// Signed by a key that is not in the JWKS (under the published key id).
    BadSignature,
    /// `aud` is another client.
    WrongAudience,
    /// `iss` is another provider.
    WrongIssuer,
    /// `nonce` is not the one asked for.
    WrongNonce,
    /// `exp` has passed.
    Expired,
    /// `email_verified` is false.
    UnverifiedEmail,
}

#[derive(Clone, Debug)]
struct Person {
    sub: String,
    email: String,
    name: String,
    email_verified: bool,
}

#[derive(Clone, Debug)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    person: Person,
    twist: Twist,
    issued_at: i64,
}

struct Inner {
    issuer: String,
    reg: Mutex<Registration>,
    key: CoreRsaPrivateSigningKey,
    rogue: CoreRsaPrivateSigningKey,
    codes: Mutex<HashMap<String, Grant>>,
    access: Mutex<HashMap<String, Person>>,
}

type Shared = Arc<Inner>;

/// A running fake provider.
pub struct FakeOidc {
    /// Its issuer URL (`http://127.0.0.1:PORT`), for `ADMIT_GOOGLE_ISSUER_URL`.
    pub url: String,
    inner: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeOidc {
    /// Starts the fake on `addr` (port 0 for any free port).
    pub async fn start(addr: SocketAddr, reg: Registration) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (app, inner) = router(&url, reg)?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            url,
            inner,
            stop: Some(stop),
            task,
        })
    }

    /// Registers the redirect URI (known once the app under test listens).
    pub fn set_redirect_uri(&self, uri: &str) {
        self.inner
            .reg
            .lock()
            .expect("registration lock")
            .redirect_uri = uri.to_owned();
    }

    /// Stops it.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Serves the fake on `listener` until the process ends (`admit fake-oidc`).
pub async fn serve(listener: tokio::net::TcpListener, reg: Registration) -> anyhow::Result<()> {
    let url = format!("http://{}", listener.local_addr()?);
    axum::serve(listener, router(&url, reg)?.0).await?;
    Ok(())
}

fn router(issuer: &str, reg: Registration) -> anyhow::Result<(Router, Shared)> {
    let key = CoreRsaPrivateSigningKey::from_pem(KEY_PEM, Some(JsonWebKeyId::new(KEY_ID.into())))
        .map_err(|e| anyhow::anyhow!("fake OIDC key: {e}"))?;
    let rogue =
        CoreRsaPrivateSigningKey::from_pem(ROGUE_PEM, Some(JsonWebKeyId::new(KEY_ID.into())))
            .map_err(|e| anyhow::anyhow!("fake OIDC rogue key: {e}"))?;
    let inner = Arc::new(Inner {
        issuer: issuer.trim_end_matches('/').to_owned(),
        reg: Mutex::new(reg),
        key,
        rogue,
        codes: Mutex::new(HashMap::new()),
        access: Mutex::new(HashMap::new()),
    });
    let router = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/authorize", get(authorize_page).post(authorize_choose))
        .route("/token", axum::routing::post(token))
        .route("/jwks", get(jwks))
        .route("/userinfo", get(userinfo))
        .with_state(inner.clone());
    Ok((router, inner))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn random() -> String {
    let mut b = [0u8; 24];
    rand::fill(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Google's discovery document, with this fake's endpoints.
async fn discovery(State(s): State<Shared>) -> Json<serde_json::Value> {
    let i = &s.issuer;
    Json(serde_json::json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token", "none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "picture", "sub"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"]
    }))
}

async fn jwks(State(s): State<Shared>) -> Json<CoreJsonWebKeySet> {
    Json(CoreJsonWebKeySet::new(vec![s.key.as_verification_key()]))
}

/// The authorization request's parameters (query, then the account form).
#[derive(Clone, Debug, Deserialize, Default)]
struct AuthRequest {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!DOCTYPE html><title>Error 400</title><h1>400. That's an error.</h1><p>{}</p>",
            escape(message)
        )),
    )
        .into_response()
}

fn escape(s: &str) -> String {
    crate::integrations::mail::escape_html(s)
}

/// Checks an authorization request. `Err` is either a page (bad client or
/// redirect URI: never redirect there) or a redirect carrying the error.
fn check(s: &Inner, r: &AuthRequest) -> Result<(), Box<Response>> {
    let reg = s.reg.lock().expect("registration lock").clone();
    if r.client_id != reg.client_id {
        return Err(Box::new(bad_request(
            "The OAuth client was not found (invalid_client).",
        )));
    }
    if r.redirect_uri != reg.redirect_uri {
        return Err(Box::new(bad_request(&format!(
            "redirect_uri_mismatch: {} is not registered for this client.",
            r.redirect_uri
        ))));
    }
    let back = |error: &str, description: &str| {
        let q = serde_urlencoded::to_string([
            ("error", error),
            ("error_description", description),
            ("state", r.state.as_str()),
        ])
        .unwrap_or_default();
        Err(Box::new(
            Redirect::to(&format!("{}?{q}", r.redirect_uri)).into_response(),
        ))
    };
    if r.response_type != "code" {
        return back("unsupported_response_type", "Only response_type=code.");
    }
    if !r.scope.split_whitespace().any(|s| s == "openid") {
        return back("invalid_scope", "The openid scope is required.");
    }
    if r.code_challenge.len() < 43 || r.code_challenge_method != "S256" {
        return back(
            "invalid_request",
            "PKCE is required: code_challenge with code_challenge_method=S256.",
        );
    }
    Ok(())
}

/// "Choose an account": a page with a form, like Google's account chooser.
async fn authorize_page(State(s): State<Shared>, Query(r): Query<AuthRequest>) -> Response {
    if let Err(res) = check(&s, &r) {
        return *res;
    }
    let hidden: String = [
        ("response_type", &r.response_type),
        ("client_id", &r.client_id),
        ("redirect_uri", &r.redirect_uri),
        ("scope", &r.scope),
        ("state", &r.state),
        ("nonce", &r.nonce),
        ("code_challenge", &r.code_challenge),
        ("code_challenge_method", &r.code_challenge_method),
    ]
    .iter()
    .map(|(k, v)| {
        format!(
            "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
            escape(v)
        )
    })
    .collect();
    Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign in - Google Accounts (fake)</title></head>\
         <body><h1>Choose an account</h1><p>to continue to admit</p>\
         <form method=\"post\" action=\"/authorize\" id=\"choose\">{hidden}\
         <label>Email <input name=\"email\" type=\"email\" required></label>\
         <label>Name <input name=\"name\" value=\"\"></label>\
         <label>Subject <input name=\"sub\" value=\"\"></label>\
         <label><input type=\"checkbox\" name=\"email_verified\" value=\"true\" checked> Email verified</label>\
         <label>Twist <select name=\"twist\"><option value=\"none\">none</option><option value=\"bad_signature\">bad signature</option>\
         <option value=\"wrong_audience\">wrong audience</option><option value=\"wrong_issuer\">wrong issuer</option>\
         <option value=\"wrong_nonce\">wrong nonce</option><option value=\"expired\">expired</option>\
         <option value=\"unverified_email\">unverified email</option></select></label>\
         <button type=\"submit\" id=\"continue\">Continue</button></form></body></html>"
    ))
    .into_response()
}

#[derive(Deserialize)]
struct Choice {
    #[serde(flatten)]
    request: AuthRequest,
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    sub: String,
    #[serde(default)]
    email_verified: Option<String>,
    #[serde(default)]
    twist: Twist,
}

/// The account was chosen: issue a code bound to the client, redirect URI,
/// PKCE challenge and nonce, and send the browser back.
async fn authorize_choose(State(s): State<Shared>, Form(c): Form<Choice>) -> Response {
    if let Err(res) = check(&s, &c.request) {
        return *res;
    }
    let email = c.email.trim().to_lowercase();
    let sub = if c.sub.trim().is_empty() {
        // Google's subjects are stable numeric strings; derive one from the email.
        let digest = Sha256::digest(email.as_bytes());
        let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
        format!("1{:020}", n)
    } else {
        c.sub.trim().to_owned()
    };
    let name = if c.name.trim().is_empty() {
        email.split('@').next().unwrap_or("Someone").to_owned()
    } else {
        c.name.trim().to_owned()
    };
    let code = format!("4/{}", random());
    s.codes.lock().expect("codes lock").insert(
        code.clone(),
        Grant {
            client_id: c.request.client_id.clone(),
            redirect_uri: c.request.redirect_uri.clone(),
            challenge: c.request.code_challenge.clone(),
            nonce: (!c.request.nonce.is_empty()).then(|| c.request.nonce.clone()),
            person: Person {
                sub,
                email,
                name,
                email_verified: c.email_verified.is_some() && c.twist != Twist::UnverifiedEmail,
            },
            twist: c.twist,
            issued_at: now_secs(),
        },
    );
    let q = serde_urlencoded::to_string([
        ("state", c.request.state.as_str()),
        ("code", code.as_str()),
        ("scope", "email profile openid"),
    ])
    .unwrap_or_default();
    Redirect::to(&format!("{}?{q}", c.request.redirect_uri)).into_response()
}

#[derive(Deserialize)]
struct TokenRequest {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    code_verifier: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The client's credentials: HTTP Basic, or in the form.
fn client_credentials(headers: &HeaderMap, t: &TokenRequest) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        let unescape = |s: &str| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
                .ok()
                .and_then(|v| v.into_iter().next())
                .map(|(_, v)| v)
                .unwrap_or_default()
        };
        return Some((unescape(id), unescape(secret)));
    }
    Some((t.client_id.clone()?, t.client_secret.clone()?))
}

/// The token endpoint: client authentication, single-use code, exact
/// redirect URI, and PKCE.
async fn token(
    State(s): State<Shared>,
    headers: HeaderMap,
    Form(t): Form<TokenRequest>,
) -> Response {
    let reg = s.reg.lock().expect("registration lock").clone();
    match client_credentials(&headers, &t) {
        Some((id, secret)) if id == reg.client_id && secret == reg.client_secret => {}
        _ => {
            return token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The OAuth client was not found.",
            );
        }
    }
    if t.grant_type != "authorization_code" {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only authorization_code.",
        );
    }
    // Single use: taken out whatever happens next.
    let Some(grant) = s.codes.lock().expect("codes lock").remove(&t.code) else {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Malformed auth code.",
        );
    };
    if now_secs() - grant.issued_at > CODE_SECS || grant.client_id != reg.client_id {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
    }
    if t.redirect_uri != grant.redirect_uri {
        return token_error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "Bad Request",
        );
    }
    if t.code_verifier.is_empty() {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Missing code verifier.",
        );
    }
    let hashed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(t.code_verifier.as_bytes()));
    if hashed != grant.challenge {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid code verifier.",
        );
    }
    let access = format!("ya29.{}", random());
    let id_token = match id_token(&s, &grant, &access) {
        Ok(t) => t,
        Err(e) => {
            return token_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e);
        }
    };
    s.access
        .lock()
        .expect("access lock")
        .insert(access.clone(), grant.person.clone());
    Json(serde_json::json!({
        "access_token": access,
        "expires_in": 3599,
        "scope": "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
        "token_type": "Bearer",
        "id_token": id_token,
    }))
    .into_response()
}

fn id_token(s: &Inner, g: &Grant, access: &str) -> Result<String, String> {
    let at = |secs: i64| {
        chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0).ok_or("time out of range")
    };
    let now = now_secs();
    let (iat, exp) = if g.twist == Twist::Expired {
        (at(now - 7200)?, at(now - 3600)?)
    } else {
        (at(now)?, at(now + 3600)?)
    };
    let issuer = if g.twist == Twist::WrongIssuer {
        "https://accounts.evil.example".to_owned()
    } else {
        s.issuer.clone()
    };
    let audience = if g.twist == Twist::WrongAudience {
        "someone-elses-client.apps.googleusercontent.com".to_owned()
    } else {
        g.client_id.clone()
    };
    let nonce = match (&g.nonce, g.twist) {
        (_, Twist::WrongNonce) => Some(Nonce::new(random())),
        (Some(n), _) => Some(Nonce::new(n.clone())),
        (None, _) => None,
    };
    let picture = EndUserPictureUrl::new(format!(
        "https://lh3.googleusercontent.com/a/{}=s96-c",
        g.person.sub
    ));
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(issuer).map_err(|e| e.to_string())?,
        vec![Audience::new(audience)],
        exp,
        iat,
        StandardClaims::new(SubjectIdentifier::new(g.person.sub.clone()))
            .set_email(Some(EndUserEmail::new(g.person.email.clone())))
            .set_email_verified(Some(g.person.email_verified))
            .set_name(Some(LocalizedClaim::from(EndUserName::new(
                g.person.name.clone(),
            ))))
            .set_picture(Some(LocalizedClaim::from(picture))),
        EmptyAdditionalClaims {},
    )
    .set_nonce(nonce);
    let key = if g.twist == Twist::BadSignature {
        &s.rogue
    } else {
        &s.key
    };
    CoreIdToken::new(
        claims,
        key,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        Some(&AccessToken::new(access.to_owned())),
        None,
    )
    .map(|t| t.to_string())
    .map_err(|e| e.to_string())
}

/// Google's userinfo for an access token it issued.
async fn userinfo(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let person = s.access.lock().expect("access lock").get(token).cloned();
    match person {
        Some(p) => Json(serde_json::json!({
            "sub": p.sub,
            "name": p.name,
            "picture": format!("https://lh3.googleusercontent.com/a/{}=s96-c", p.sub),
            "email": p.email,
            "email_verified": p.email_verified,
        }))
        .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
            Json(serde_json::json!({"error": "invalid_request", "error_description": "Invalid Credentials"})),
        )
            .into_response(),
    }
}
