//! REST authentication for apps: access and refresh tokens, and
//! organization API keys.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, raw_i64, raw_text, spawn_app},
};

both_backends!(
    refresh_tokens_rotate_and_reusing_an_old_one_kills_the_newer_one_too,
    access_tokens_expire_and_end_with_sign_out_everywhere,
    a_token_login_sets_no_cookie_and_bearer_requests_ignore_cookies_and_csrf,
    a_read_only_key_reads_but_cannot_write_and_a_revoked_key_fails_at_once,
    api_keys_act_only_for_their_organization_and_never_as_a_person,
    the_dashboard_shows_a_new_key_once_and_revokes_it,
);

/// A plain HTTP client with no cookie jar (what an app uses).
fn app_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn token_login(app: &TestApp, email: &str) -> Value {
    let r = app_client()
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": email, "password": admit::services::seed::DEMO_PASSWORD, "tokens": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn me_with(app: &TestApp, access: &str) -> reqwest::Response {
    app_client()
        .get(format!("{}/api/v1/user/me", app.url))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app_client()
        .post(format!("{}/api/v1/auth/refresh-token", app.url))
        .json(&json!({"refresh_token": token}))
        .send()
        .await
        .unwrap()
}

async fn refresh_tokens_rotate_and_reusing_an_old_one_kills_the_newer_one_too(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    // Arrange: log in; the access token works.
    let first = token_login(&app, "attendee1@admit.test").await;
    assert_eq!(first["email"], "attendee1@admit.test");
    let tokens = &first["tokens"];
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 15 * 60);
    let access = tokens["access_token"].as_str().unwrap();
    let old_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let me = me_with(&app, access).await;
    assert_eq!(me.status(), 200);
    assert_eq!(
        me.json::<Value>().await.unwrap()["email"],
        "attendee1@admit.test"
    );
    assert_eq!(
        raw_i64(
            &app.db,
            &format!("SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '{old_refresh}'")
        )
        .await,
        0,
        "refresh tokens are stored hashed"
    );

    // Act: refresh rotates.
    let r = refresh(&app, &old_refresh).await;
    assert_eq!(r.status(), 200);
    let second: Value = r.json().await.unwrap();
    let new_refresh = second["tokens"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let new_access = second["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_refresh, old_refresh);
    assert_eq!(me_with(&app, &new_access).await.status(), 200);

    // Re-using the old one fails, and kills the newer one too.
    let r = refresh(&app, &old_refresh).await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        refresh(&app, &new_refresh).await.status(),
        422,
        "the whole family is revoked"
    );
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'refresh_token_reused'"
        )
        .await,
        1,
        "the reuse is a security event"
    );
    // Another sign-in's family is untouched.
    let other = token_login(&app, "attendee1@admit.test").await;
    assert_eq!(
        refresh(&app, other["tokens"]["refresh_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    app.finish().await;
}

async fn access_tokens_expire_and_end_with_sign_out_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let t = token_login(&app, "attendee2@admit.test").await;
    let access = t["tokens"]["access_token"].as_str().unwrap().to_owned();
    app.advance(Duration::from_secs(14 * 60));
    assert_eq!(me_with(&app, &access).await.status(), 200);
    app.advance(Duration::from_secs(2 * 60));
    let r = me_with(&app, &access).await;
    assert_eq!(r.status(), 401, "expired after 15 minutes");
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(me_with(&app, "not.a.jwt").await.status(), 401);

    let t = token_login(&app, "attendee2@admit.test").await;
    let access = t["tokens"]["access_token"].as_str().unwrap().to_owned();
    let r = app_client()
        .post(format!("{}/api/v1/auth/logout-all", app.url))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        me_with(&app, &access).await.status(),
        401,
        "signing out everywhere ends access tokens"
    );
    assert_eq!(
        refresh(&app, t["tokens"]["refresh_token"].as_str().unwrap())
            .await
            .status(),
        422,
        "and refresh tokens"
    );
    app.finish().await;
}

async fn a_token_login_sets_no_cookie_and_bearer_requests_ignore_cookies_and_csrf(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let r = app_client()
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "attendee1@admit.test", "password": admit::services::seed::DEMO_PASSWORD, "tokens": true}))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("set-cookie").is_none(),
        "token logins start no session"
    );
    let t: Value = r.json().await.unwrap();
    let access = t["tokens"]["access_token"].as_str().unwrap();

    // A browser signed in as someone else: its cookie is ignored when a bearer token is sent.
    app.sign_in_as(&app.client, "attendee2@admit.test").await;
    let me: Value = app
        .client
        .get(format!("{}/api/v1/user/me", app.url))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "attendee1@admit.test");

    // A cross-site, cookie-authenticated change is refused by the CSRF check…
    let r = app
        .client
        .put(format!("{}/api/v1/user/me", app.url))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"name": "Hacked"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // …but a bearer request carries no ambient authority, so the check does not apply.
    let r = app_client()
        .put(format!("{}/api/v1/user/me", app.url))
        .bearer_auth(access)
        .header("origin", "https://app.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"name": "Zoë N."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "Zoë N.");
    let spec: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let schemes = &spec["components"]["securitySchemes"];
    assert!(schemes["bearer"].is_object() && schemes["api_key"].is_object());
    assert!(
        spec["info"]["description"]
            .as_str()
            .unwrap()
            .contains("CSRF check does not apply"),
        "the spec says bearer and key requests are not CSRF-checked"
    );
    app.finish().await;
}

/// Owner of Jakarta Live (X) creates a key with `scope`; returns (key id, secret).
async fn create_key(app: &TestApp, org: &str, scope: &str) -> (String, String) {
    let r = app
        .post_json(
            &format!("/api/v1/organizations/{org}/api-keys"),
            json!({"name": format!("{scope} app"), "scope": scope}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let k: Value = r.json().await.unwrap();
    let secret = k["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("admit_"));
    assert!(secret.starts_with(k["prefix"].as_str().unwrap()));
    (k["id"].as_str().unwrap().to_owned(), secret)
}

fn keyed(method: reqwest::Method, app: &TestApp, path: &str, key: &str) -> reqwest::RequestBuilder {
    app_client()
        .request(method, format!("{}{path}", app.url))
        .header("x-api-key", key)
}

async fn a_read_only_key_reads_but_cannot_write_and_a_revoked_key_fails_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    app.sign_in_as(&app.client, "owner@jakarta-live.test").await;
    let org = raw_text(
        &app.db,
        "SELECT id FROM organizations WHERE slug = 'jakarta-live'",
    )
    .await;
    let event = raw_text(
        &app.db,
        &format!("SELECT id FROM events WHERE org_id = '{org}' ORDER BY starts_at LIMIT 1"),
    )
    .await;
    let (read_id, read) = create_key(&app, &org, "read").await;
    let (_, write) = create_key(&app, &org, "read_write").await;
    assert_eq!(
        raw_i64(
            &app.db,
            &format!(
                "SELECT COUNT(*) FROM api_keys WHERE key_hash = '{read}' OR prefix = '{read}'"
            )
        )
        .await,
        0,
        "keys are stored hashed"
    );
    let listed: Value = app
        .get(&format!("/api/v1/organizations/{org}/api-keys"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(&read),
        "a key is shown only once"
    );

    let codes = format!("/api/v1/events/{event}/codes");
    let r = keyed(reqwest::Method::GET, &app, &codes, &read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a read key reads the organization's data");
    let quota = json!({"name": "Balcony", "size": 10});
    let quotas = format!("/api/v1/events/{event}/quotas");
    let r = keyed(reqwest::Method::POST, &app, &quotas, &read)
        .json(&quota)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a read key cannot write");
    assert!(
        r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("read-only")
    );
    let r = keyed(reqwest::Method::POST, &app, &quotas, &write)
        .json(&quota)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "a read_write key writes");

    let r = app
        .client
        .delete(format!(
            "{}/api/v1/organizations/{org}/api-keys/{read_id}",
            app.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = keyed(reqwest::Method::GET, &app, &codes, &read)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "revoked: refused at once");
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('api_key_created', 'api_key_revoked')"
        )
        .await,
        3
    );
    app.finish().await;
}

async fn api_keys_act_only_for_their_organization_and_never_as_a_person(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    app.sign_in_as(&app.client, "owner@jakarta-live.test").await;
    let x = raw_text(
        &app.db,
        "SELECT id FROM organizations WHERE slug = 'jakarta-live'",
    )
    .await;
    let y = raw_text(
        &app.db,
        "SELECT id FROM organizations WHERE slug = 'bali-arts'",
    )
    .await;
    let y_event = raw_text(
        &app.db,
        &format!("SELECT id FROM events WHERE org_id = '{y}' ORDER BY starts_at LIMIT 1"),
    )
    .await;
    let (_, key) = create_key(&app, &x, "read_write").await;
    let r = keyed(
        reqwest::Method::GET,
        &app,
        &format!("/api/v1/events/{y_event}/codes"),
        &key,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        404,
        "another organization's event looks missing"
    );
    let r = keyed(reqwest::Method::GET, &app, "/api/v1/user/me", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a key is not a person");
    let r = keyed(
        reqwest::Method::POST,
        &app,
        &format!("/api/v1/organizations/{x}/api-keys"),
        &key,
    )
    .json(&json!({"name": "child", "scope": "read"}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 403, "keys cannot mint keys");
    let r = keyed(reqwest::Method::GET, &app, "/api/v1/admin/users", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = keyed(
        reqwest::Method::GET,
        &app,
        "/api/v1/user/me",
        "admit_forged",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 401);
    app.finish().await;
}

async fn the_dashboard_shows_a_new_key_once_and_revokes_it(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    app.sign_in_as(&app.client, "owner@jakarta-live.test").await;
    let org = raw_text(
        &app.db,
        "SELECT id FROM organizations WHERE slug = 'jakarta-live'",
    )
    .await;
    let r = app
        .client
        .post(format!("{}/_fn/organizer/api_key_create", app.url))
        .header("accept", "text/html")
        .form(&[
            ("org_id", org.as_str()),
            ("name", "Box office"),
            ("scope", "read_write"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let page = format!("/organizer/api-keys/{org}");
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{page}?notice=key_created")
    );
    let (status, html) = app.get_text(&format!("{page}?notice=key_created")).await;
    assert_eq!(status, 200);
    let at = html
        .find("data-testid=\"new-api-key\"")
        .expect("the new key is shown");
    let start = at + html[at..].find('>').unwrap() + 1;
    let secret: String = html[start..].chars().take_while(|c| *c != '<').collect();
    assert!(secret.starts_with("admit_"), "{secret}");
    let (_, again) = app.get_text(&page).await;
    assert!(again.contains("data-testid=\"api-key\""));
    assert!(
        !again.contains(&secret),
        "shown once, on the page after creating it"
    );
    assert!(again.contains("Box office"));
    let r = keyed(
        reqwest::Method::GET,
        &app,
        &format!("/api/v1/organizations/{org}"),
        &secret,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200, "the key shown works");
    let key_id = raw_text(&app.db, "SELECT id FROM api_keys").await;
    let r = app
        .client
        .post(format!("{}/_fn/organizer/api_key_revoke", app.url))
        .header("accept", "text/html")
        .form(&[("org_id", org.as_str()), ("key_id", key_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{page}?notice=key_revoked")
    );
    let (_, dashboard) = app.get_text("/organizer").await;
    assert!(
        dashboard.contains(&format!("href=\"{page}\"")),
        "the dashboard links to the keys"
    );
    let r = keyed(
        reqwest::Method::GET,
        &app,
        &format!("/api/v1/organizations/{org}"),
        &secret,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 401);
    app.finish().await;
}
