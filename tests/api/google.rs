//! "Sign in with Google" against the local fake OpenID provider
//! (`admit::testing::fake_oidc`), over real HTTP on 127.0.0.1.

use admit::testing::fake_oidc::{FakeOidc, Registration};
use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, SpawnOptions, TestApp, raw_i64, raw_text, spawn_app_with},
};

both_backends!(
    a_verified_google_email_links_the_existing_account_and_signs_in,
    a_new_google_account_gets_a_verified_account_without_a_password,
    an_unverified_account_with_the_same_email_is_taken_over_not_shared,
    each_untrustworthy_token_is_refused_and_leaves_no_session,
    a_state_mismatch_and_a_missing_pkce_verifier_are_refused_and_leave_no_session,
    an_unverified_google_email_is_never_linked,
    the_fake_provider_enforces_pkce_and_the_redirect_uri,
);

const CLIENT_ID: &str = "admit-test.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "fake-secret";

/// The app with Google configured, and the fake provider it trusts.
async fn google_app(backend: Backend) -> (TestApp, FakeOidc) {
    let fake = FakeOidc::start(
        "127.0.0.1:0".parse().unwrap(),
        Registration {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            redirect_uri: String::new(),
        },
    )
    .await
    .expect("the fake provider starts");
    let issuer = fake.url.clone();
    let app = spawn_app_with(
        backend,
        SpawnOptions {
            settings: Some(Box::new(move |s| s.google_issuer_url = issuer)),
            env: vec![
                ("ADMIT_GOOGLE_CLIENT_ID", CLIENT_ID.into()),
                ("ADMIT_GOOGLE_CLIENT_SECRET", CLIENT_SECRET.into()),
            ],
            ..SpawnOptions::default()
        },
    )
    .await;
    fake.set_redirect_uri(&format!("{}/api/v1/auth/google/callback", app.url));
    (app, fake)
}

/// A browser: follows no redirects, keeps cookies.
fn browser(app: &TestApp) -> reqwest::Client {
    app.new_client()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .unwrap_or_else(|| panic!("a redirect, got {}", r.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

fn query_of(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    serde_urlencoded::from_str(q).unwrap()
}

/// Starts a flow in `b`, chooses `email` on the fake's account page with
/// `twist`, and returns the callback URL the provider sends the browser to.
async fn authorize(
    app: &TestApp,
    b: &reqwest::Client,
    email: &str,
    verified: bool,
    twist: &str,
) -> String {
    let r = b
        .get(format!("{}/api/v1/auth/google/start?next=/orders", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let authorize = location(&r);
    let params = query_of(&authorize);
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("code_challenge_method"), "S256", "PKCE S256");
    assert!(!get("state").is_empty() && !get("nonce").is_empty());
    let page = b.get(&authorize).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Choose an account"));
    let mut form = params.clone();
    form.push(("email".into(), email.into()));
    form.push(("name".into(), "Google Person".into()));
    if verified {
        form.push(("email_verified".into(), "true".into()));
    }
    form.push(("twist".into(), twist.into()));
    let action = format!(
        "{}/authorize",
        authorize.split("/authorize").next().unwrap()
    );
    let r = b.post(action).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 303, "the fake sends the browser back");
    let callback = location(&r);
    assert!(callback.starts_with(&format!("{}/api/v1/auth/google/callback?", app.url)));
    callback
}

async fn me(app: &TestApp, b: &reqwest::Client) -> (u16, Value) {
    let r = b
        .get(format!("{}/api/v1/user/me", app.url))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Asserts a callback was refused: back to the sign-in page with the
/// reason, not signed in, and no session row for anyone.
async fn assert_refused(app: &TestApp, b: &reqwest::Client, callback: &str, what: &str) {
    let r = b.get(callback).send().await.unwrap();
    assert_eq!(r.status(), 303, "{what}");
    let to = location(&r);
    assert!(
        to.starts_with("/signin?") && to.contains("error="),
        "{what}: back to sign in with the reason, got {to}"
    );
    assert_eq!(me(app, b).await.0, 401, "{what}: not signed in");
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM sessions WHERE user_id IS NOT NULL"
        )
        .await,
        0,
        "{what}: no signed-in session anywhere"
    );
    assert_eq!(
        raw_i64(&app.db, "SELECT COUNT(*) FROM oauth_identities").await,
        0,
        "{what}: nothing linked"
    );
}

async fn a_verified_google_email_links_the_existing_account_and_signs_in(backend: Backend) {
    let (app, fake) = google_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let (status, html) = app.get_text("/signin").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("data-testid=\"google-sign-in\""),
        "the button shows when configured"
    );

    let b = browser(&app);
    let callback = authorize(&app, &b, "Attendee1@admit.test", true, "none").await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/orders", "back where the person was going");
    let (status, who) = me(&app, &b).await;
    assert_eq!(status, 200);
    assert_eq!(who["email"], "attendee1@admit.test", "the existing account");
    assert_eq!(
        who["has_password"], true,
        "a verified account keeps its password"
    );
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM oauth_identities WHERE provider = 'google'"
        )
        .await,
        1
    );
    // The callback works once.
    let r = b.get(&callback).send().await.unwrap();
    assert!(
        location(&r).starts_with("/signin?"),
        "a replayed callback is refused"
    );

    // Next time the identity is known, even if the Google address changed.
    let other = browser(&app);
    let sub = raw_text(&app.db, "SELECT subject FROM oauth_identities").await;
    let start = other
        .get(format!("{}/api/v1/auth/google/start", app.url))
        .send()
        .await
        .unwrap();
    let authorize_url = location(&start);
    let mut form = query_of(&authorize_url);
    form.extend([
        ("email".to_owned(), "zoe.new@gmail.example".to_owned()),
        ("sub".to_owned(), sub),
        ("email_verified".to_owned(), "true".to_owned()),
    ]);
    let r = other
        .post(format!("{}/authorize", fake.url))
        .form(&form)
        .send()
        .await
        .unwrap();
    let r = other.get(location(&r)).send().await.unwrap();
    assert_eq!(location(&r), "/account");
    assert_eq!(me(&app, &other).await.1["email"], "attendee1@admit.test");
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'google_linked'"
        )
        .await,
        1
    );
    fake.stop().await;
    app.finish().await;
}

async fn a_new_google_account_gets_a_verified_account_without_a_password(backend: Backend) {
    let (app, fake) = google_app(backend).await;
    let b = browser(&app);
    let callback = authorize(&app, &b, "newcomer@gmail.example", true, "none").await;
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(location(&r), "/orders");
    let (status, who) = me(&app, &b).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            who["email"].as_str(),
            who["name"].as_str(),
            who["verified"].as_bool(),
            who["has_password"].as_bool()
        ),
        (
            Some("newcomer@gmail.example"),
            Some("Google Person"),
            Some(true),
            Some(false)
        )
    );
    fake.stop().await;
    app.finish().await;
}

async fn an_unverified_account_with_the_same_email_is_taken_over_not_shared(backend: Backend) {
    let (app, fake) = google_app(backend).await;
    // Someone signs up with an address they do not own, and never verifies it.
    let squatter = browser(&app);
    let r = squatter
        .post(format!("{}/api/v1/auth/register", app.url))
        .json(
            &json!({"name": "Squatter", "email": "owner@gmail.example", "password": "Str0ng!pass"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    app.run_jobs().await;
    // The address's real owner signs in with Google.
    let owner = browser(&app);
    let callback = authorize(&app, &owner, "owner@gmail.example", true, "none").await;
    owner.get(&callback).send().await.unwrap();
    let (status, who) = me(&app, &owner).await;
    assert_eq!(status, 200);
    assert_eq!(who["verified"], true);
    assert_eq!(
        who["has_password"], false,
        "the squatter's password is gone"
    );
    assert_eq!(me(&app, &squatter).await.0, 401, "and so is their session");
    let r = app
        .new_client()
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "owner@gmail.example", "password": "Str0ng!pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    fake.stop().await;
    app.finish().await;
}

async fn each_untrustworthy_token_is_refused_and_leaves_no_session(backend: Backend) {
    let (app, fake) = google_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    for (twist, reason) in [
        ("bad_signature", "Signature verification failed"),
        ("wrong_audience", "Invalid audiences"),
        ("wrong_issuer", "Invalid issuer"),
        ("wrong_nonce", "nonce mismatch"),
        ("expired", "ID token expired"),
    ] {
        let b = browser(&app);
        let callback = authorize(&app, &b, "attendee2@admit.test", true, twist).await;
        assert_refused(&app, &b, &callback, twist).await;
        assert_eq!(
            raw_i64(&app.db, "SELECT COUNT(*) FROM sessions").await,
            0,
            "{twist}: the flow's session is gone too"
        );
        assert_eq!(
            raw_i64(
                &app.db,
                &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in_failed' AND detail LIKE '%{reason}%'")
            )
            .await,
            1,
            "{twist} is refused for its own reason ({reason})"
        );
    }
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'sign_in_failed' AND detail LIKE '%ID token refused%'"
        )
        .await,
        5,
        "each refusal is audited with its reason"
    );
    // The same flow without a twist works, so the refusals were the tokens'.
    let b = browser(&app);
    let callback = authorize(&app, &b, "attendee2@admit.test", true, "none").await;
    b.get(&callback).send().await.unwrap();
    assert_eq!(me(&app, &b).await.0, 200);
    fake.stop().await;
    app.finish().await;
}

async fn a_state_mismatch_and_a_missing_pkce_verifier_are_refused_and_leave_no_session(
    backend: Backend,
) {
    let (app, fake) = google_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();

    // A callback whose state was tampered with.
    let b = browser(&app);
    let callback = authorize(&app, &b, "attendee1@admit.test", true, "none").await;
    let tampered = {
        let mut q = query_of(&callback);
        for (k, v) in q.iter_mut() {
            if k == "state" {
                v.push('x');
            }
        }
        format!(
            "{}/api/v1/auth/google/callback?{}",
            app.url,
            serde_urlencoded::to_string(&q).unwrap()
        )
    };
    assert_refused(&app, &b, &tampered, "state mismatch").await;

    // A callback arriving in a browser that holds no PKCE verifier (the code
    // was intercepted, or the flow started elsewhere).
    let starter = browser(&app);
    let callback = authorize(&app, &starter, "attendee1@admit.test", true, "none").await;
    let thief = browser(&app);
    assert_refused(&app, &thief, &callback, "missing PKCE verifier").await;
    // Nor can the code be redeemed at the provider without the verifier.
    let code = query_of(&callback)
        .into_iter()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1;
    let r = reqwest::Client::new()
        .post(format!("{}/token", fake.url))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            (
                "redirect_uri",
                &format!("{}/api/v1/auth/google/callback", app.url),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    fake.stop().await;
    app.finish().await;
}

async fn an_unverified_google_email_is_never_linked(backend: Backend) {
    let (app, fake) = google_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let b = browser(&app);
    let callback = authorize(&app, &b, "attendee1@admit.test", false, "none").await;
    assert_refused(&app, &b, &callback, "unverified email (unchecked box)").await;
    let b = browser(&app);
    let callback = authorize(&app, &b, "attendee1@admit.test", true, "unverified_email").await;
    assert_refused(&app, &b, &callback, "unverified email (twist)").await;
    let b = browser(&app);
    let callback = authorize(&app, &b, "stranger@gmail.example", false, "none").await;
    assert_refused(&app, &b, &callback, "unverified new address").await;
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM users WHERE email = 'stranger@gmail.example'"
        )
        .await,
        0,
        "no account is made from an unverified address"
    );
    fake.stop().await;
    app.finish().await;
}

async fn the_fake_provider_enforces_pkce_and_the_redirect_uri(backend: Backend) {
    let (app, fake) = google_app(backend).await;
    let b = browser(&app);
    let start = b
        .get(format!("{}/api/v1/auth/google/start", app.url))
        .send()
        .await
        .unwrap();
    let authorize_url = location(&start);
    let params = query_of(&authorize_url);
    let with = |key: &str, value: &str| {
        let mut q: Vec<(String, String)> =
            params.iter().filter(|(k, _)| k != key).cloned().collect();
        if !value.is_empty() {
            q.push((key.into(), value.into()));
        }
        format!(
            "{}/authorize?{}",
            fake.url,
            serde_urlencoded::to_string(&q).unwrap()
        )
    };
    let r = b
        .get(with("redirect_uri", "https://evil.example/cb"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        400,
        "an unregistered redirect URI is refused, not followed"
    );
    let r = b.get(with("code_challenge", "")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        location(&r).contains("error=invalid_request"),
        "no PKCE, no code"
    );
    let r = b
        .get(with("code_challenge_method", "plain"))
        .send()
        .await
        .unwrap();
    assert!(location(&r).contains("error=invalid_request"), "only S256");

    // A code redeemed with the wrong verifier, then (single use) not at all.
    let mut form = params.clone();
    form.push(("email".into(), "pkce@gmail.example".into()));
    form.push(("email_verified".into(), "true".into()));
    let r = b
        .post(format!("{}/authorize", fake.url))
        .form(&form)
        .send()
        .await
        .unwrap();
    let code = query_of(&location(&r))
        .into_iter()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1;
    let token_url = format!("{}/token", fake.url);
    let redeem = |verifier: &'static str| {
        let code = code.clone();
        let redirect = format!("{}/api/v1/auth/google/callback", app.url);
        let token_url = token_url.clone();
        async move {
            reqwest::Client::new()
                .post(token_url)
                .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect.as_str()),
                    ("code_verifier", verifier),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let r = redeem("a-verifier-that-does-not-match-the-challenge-at-all-000").await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error_description"],
        "Invalid code verifier."
    );
    let discovery: Value = reqwest::get(format!("{}/.well-known/openid-configuration", fake.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], fake.url.as_str());
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let jwks: Value = reqwest::get(format!("{}/jwks", fake.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    fake.stop().await;
    app.finish().await;
}
