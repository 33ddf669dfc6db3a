//! The audit log of security events and admin actions.

use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, raw_text, spawn_app},
};

both_backends!(
    security_events_and_admin_actions_are_logged_and_admins_filter_them,
    the_log_masks_addresses_and_never_holds_a_password,
);

async fn actions(app: &TestApp, query: &str) -> (i64, Vec<String>) {
    let r = app.get(&format!("/api/v1/admin/audit?{query}")).await;
    assert_eq!(r.status(), 200, "{query}");
    let page: Value = r.json().await.unwrap();
    (
        page["total"].as_i64().unwrap(),
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect(),
    )
}

async fn security_events_and_admin_actions_are_logged_and_admins_filter_them(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    // A failed and a successful sign-in.
    let someone = app.new_client();
    someone
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "attendee2@admit.test", "password": "Wr0ng!pass"}))
        .send()
        .await
        .unwrap();
    app.sign_in_as(&someone, "attendee2@admit.test").await;
    // A password change.
    someone
        .put(format!("{}/api/v1/user/me/password", app.url))
        .json(&json!({"current_password": admit::services::seed::DEMO_PASSWORD, "new_password": "N3w!password"}))
        .send()
        .await
        .unwrap();
    // An owner's API key, created and revoked.
    let owner = app.new_client();
    app.sign_in_as(&owner, "owner@jakarta-live.test").await;
    let org = raw_text(
        &app.db,
        "SELECT id FROM organizations WHERE slug = 'jakarta-live'",
    )
    .await;
    let key: Value = owner
        .post(format!("{}/api/v1/organizations/{org}/api-keys", app.url))
        .json(&json!({"name": "door app", "scope": "read"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    owner
        .delete(format!(
            "{}/api/v1/organizations/{org}/api-keys/{}",
            app.url,
            key["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    // Admin actions: a role change and a suspension.
    app.sign_in_as(&app.client, "admin@admit.test").await;
    let attendee1 = raw_text(
        &app.db,
        "SELECT id FROM users WHERE email = 'attendee1@admit.test'",
    )
    .await;
    app.put_json(
        &format!("/api/v1/admin/users/{attendee1}/admin"),
        json!({"is_admin": true}),
    )
    .await;
    app.put_json(
        &format!("/api/v1/admin/users/{attendee1}/suspension"),
        json!({"suspended": true}),
    )
    .await;

    let (_, all) = actions(&app, "").await;
    for action in [
        "sign_in",
        "sign_in_failed",
        "password_changed",
        "api_key_created",
        "api_key_revoked",
        "role_changed",
        "suspended",
    ] {
        assert!(
            all.contains(&action.to_owned()),
            "{action} is logged: {all:?}"
        );
    }
    let (n, only) = actions(&app, "action=sign_in_failed").await;
    assert_eq!((n, only), (1, vec!["sign_in_failed".to_owned()]));
    let (_, about) = actions(&app, "user=attendee1%40admit.test").await;
    assert_eq!(
        about,
        vec!["suspended", "role_changed"],
        "newest first, by or about them"
    );
    let (_, keys) = actions(&app, &format!("org={org}")).await;
    assert_eq!(keys, vec!["api_key_revoked", "api_key_created"]);
    let (n, _) = actions(&app, "from=2000-01-01&to=2000-01-02").await;
    assert_eq!(n, 0, "dates filter");
    let r = app.get("/api/v1/admin/audit?action=made_up").await;
    assert_eq!(r.status(), 422);
    let r = app.get("/api/v1/admin/audit?from=yesterday").await;
    assert_eq!(r.status(), 422);

    let (status, html) = app.get_text("/admin/audit?action=role_changed").await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("data-testid=\"audit-row\"").count(), 1);
    assert!(html.contains("attendee1@admit.test"));
    assert_eq!(
        owner
            .get(format!("{}/api/v1/admin/audit", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "only admins read the log"
    );
    app.finish().await;
}

async fn the_log_masks_addresses_and_never_holds_a_password(backend: Backend) {
    let app = spawn_app(backend).await;
    app.new_client()
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "stranger@example.com", "password": "MyS3cret!guess"}))
        .send()
        .await
        .unwrap();
    let detail = raw_text(
        &app.db,
        "SELECT detail FROM audit_log WHERE action = 'sign_in_failed'",
    )
    .await;
    assert!(detail.contains("s***@example.com"), "{detail}");
    assert!(!detail.contains("stranger@"), "{detail}");
    assert!(!detail.contains("MyS3cret"), "{detail}");
    let ip = raw_text(
        &app.db,
        "SELECT ip FROM audit_log WHERE action = 'sign_in_failed'",
    )
    .await;
    assert_eq!(ip, "127.0.0.1");
    app.finish().await;
}
