//! Accounts I: sign-up, codes, sessions, organizers, invitations, admin.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, SpawnOptions, last_code_for, sent_mail, spawn_app, spawn_app_with},
};

both_backends!(
    sign_up_emails_a_code_that_verifies_the_account_once,
    wrong_expired_reused_and_brute_forced_codes_are_refused_clearly,
    the_password_policy_says_exactly_what_is_missing,
    sign_in_cycles_the_session_id_and_sign_out_ends_it,
    a_suspended_users_sessions_stop_at_their_next_request,
    secure_mode_cookies_are_host_prefixed_secure_httponly_and_lax,
    an_application_is_approved_by_an_admin_and_the_owner_reaches_the_dashboard,
    a_rejected_applicant_is_told_why,
    an_owner_invites_staff_who_accept_by_signing_in,
    admins_search_users_and_change_roles,
    unverified_accounts_cannot_apply,
    signing_out_everywhere_ends_every_session_of_the_account,
);

async fn signing_out_everywhere_ends_every_session_of_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let phone = app.new_client();
    app.sign_in_as(&app.client, "attendee1@admit.test").await;
    app.sign_in_as(&phone, "attendee1@admit.test").await;
    let other = app.new_client();
    app.sign_in_as(&other, "attendee2@admit.test").await;

    assert_eq!(
        app.post_json("/api/v1/auth/logout-all", json!({}))
            .await
            .status(),
        204
    );

    assert_eq!(app.get("/api/v1/user/me").await.status(), 401);
    let r = phone
        .get(format!("{}/api/v1/user/me", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the other device is signed out too");
    let r = other
        .get(format!("{}/api/v1/user/me", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "other people stay signed in");
    app.sign_in_as(&phone, "attendee1@admit.test").await;
    assert_eq!(
        phone
            .get(format!("{}/api/v1/user/me", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "signing in again works"
    );
    app.finish().await;
}

async fn sign_up_emails_a_code_that_verifies_the_account_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app.post_json("/api/v1/auth/register", json!({"name": "Zoë Nguyễn", "email": "Zoe@Example.com", "password": "Str0ng!pass", "lang": "id"})).await;
    assert_eq!(r.status(), 201);
    let me: Value = app.get("/api/v1/user/me").await.json().await.unwrap();
    assert_eq!(
        (me["email"].as_str(), me["verified"].as_bool()),
        (Some("zoe@example.com"), Some(false))
    );

    assert_eq!(
        app.run_jobs().await,
        1,
        "the code email goes through the outbox"
    );
    let mails = sent_mail(&app);
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("Kode admit Anda"),
        "the email is in the recipient's language"
    );
    assert!(
        mails[0].contains("multipart/alternative"),
        "text and HTML parts"
    );
    let code = last_code_for(&app, "zoe@example.com");

    let r = app
        .post_json("/api/v1/auth/verify-email", json!({"code": code}))
        .await;
    assert_eq!(r.status(), 204);
    let me: Value = app.get("/api/v1/user/me").await.json().await.unwrap();
    assert_eq!(me["verified"], true);
    // The code is stored hashed: it never appears in the database.
    let stored = crate::helpers::raw_i64(
        &app.db,
        &format!("SELECT COUNT(*) FROM email_codes WHERE code_hash = '{code}'"),
    )
    .await;
    assert_eq!(stored, 0);
    app.finish().await;
}

async fn wrong_expired_reused_and_brute_forced_codes_are_refused_clearly(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post_json(
        "/api/v1/auth/register",
        json!({"name": "A", "email": "a@example.com", "password": "Str0ng!pass"}),
    )
    .await;
    app.run_jobs().await;
    let code = last_code_for(&app, "a@example.com");
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let err = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        (status, body["error"].as_str().unwrap().to_owned())
    };
    let (status, msg) = err(app
        .post_json("/api/v1/auth/verify-email", json!({"code": wrong}))
        .await)
    .await;
    assert_eq!(
        (status, msg.as_str()),
        (422, "That code is not right. 4 tries left.")
    );

    // Expired: move the clock past 10 minutes.
    app.advance(Duration::from_secs(11 * 60));
    let (_, msg) = err(app
        .post_json("/api/v1/auth/verify-email", json!({"code": code}))
        .await)
    .await;
    assert_eq!(msg, "This code has expired. Send a new code.");

    // A new code; the old one no longer works, the new one works once.
    assert_eq!(
        app.post_json("/api/v1/auth/resend-code", json!({}))
            .await
            .status(),
        204
    );
    app.run_jobs().await;
    let fresh = last_code_for(&app, "a@example.com");
    if fresh != code {
        let (_, msg) = err(app
            .post_json("/api/v1/auth/verify-email", json!({"code": code}))
            .await)
        .await;
        assert!(msg.starts_with("That code is not right."), "{msg}");
    }
    assert_eq!(
        app.post_json("/api/v1/auth/verify-email", json!({"code": fresh}))
            .await
            .status(),
        204
    );

    // Brute force on a second account: 5 wrong tries burn the code, even the right one fails after.
    let other = app.new_client();
    other
        .post(format!("{}/api/v1/auth/register", app.url))
        .json(&json!({"name": "B", "email": "b@example.com", "password": "Str0ng!pass"}))
        .send()
        .await
        .unwrap();
    app.run_jobs().await;
    let right = last_code_for(&app, "b@example.com");
    let mut last = String::new();
    for guess in 0..6 {
        let g = format!(
            "{:06}",
            (right.parse::<u32>().unwrap() + 1 + guess) % 1_000_000
        );
        let r = other
            .post(format!("{}/api/v1/auth/verify-email", app.url))
            .json(&json!({"code": g}))
            .send()
            .await
            .unwrap();
        last = r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    assert_eq!(
        last,
        "Too many wrong tries: this code no longer works. Send a new code."
    );
    let r = other
        .post(format!("{}/api/v1/auth/verify-email", app.url))
        .json(&json!({"code": right}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "Too many wrong tries: this code no longer works. Send a new code."
    );

    // Reused: the first account's used code.
    let third = app.new_client();
    third
        .post(format!("{}/api/v1/auth/register", app.url))
        .json(&json!({"name": "C", "email": "c@example.com", "password": "Str0ng!pass"}))
        .send()
        .await
        .unwrap();
    app.run_jobs().await;
    let c = last_code_for(&app, "c@example.com");
    assert_eq!(
        third
            .post(format!("{}/api/v1/auth/verify-email", app.url))
            .json(&json!({"code": c}))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let checked = app
        .store()
        .check_code(
            &admit::domain::UserId::from_string(
                crate::helpers::raw_text(
                    &app.db,
                    "SELECT id FROM users WHERE email = 'c@example.com'",
                )
                .await,
            ),
            admit::store::accounts::CodePurpose::VerifyEmail,
            "anything",
            5,
            app.now(),
        )
        .await
        .unwrap();
    assert_eq!(
        checked,
        admit::store::accounts::CodeCheck::Missing,
        "a used code is gone"
    );
    app.finish().await;
}

async fn the_password_policy_says_exactly_what_is_missing(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .post_json(
            "/api/v1/auth/register",
            json!({"name": "A", "email": "a@example.com", "password": "abcdefgh"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"],
        "The password needs an upper-case letter, a digit, a symbol such as ! or #."
    );
    let r = app
        .post_json(
            "/api/v1/auth/register",
            json!({"name": "A", "email": "not-an-email", "password": "Str0ng!pass"}),
        )
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "Enter a valid email address, like name@example.com."
    );
    app.finish().await;
}

async fn sign_in_cycles_the_session_id_and_sign_out_ends_it(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    // An anonymous session exists first (the language cookie does not count; make one via a failed login).
    let before = session_ids(&app).await;
    app.sign_in_as(&app.client, "attendee1@admit.test").await;
    let after = session_ids(&app).await;
    assert_eq!(after.len(), before.len() + 1);
    assert!(
        after
            .iter()
            .all(|id| !before.contains(id) || before.is_empty())
    );
    let me = app.get("/api/v1/user/me").await;
    assert_eq!(me.status(), 200);

    let wrong = app.new_client();
    let r = wrong
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "attendee1@admit.test", "password": "nope"}))
        .send()
        .await
        .unwrap();
    let unknown = wrong
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "nobody@admit.test", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), unknown.status());
    assert_eq!(
        r.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "no hint whether the account exists"
    );

    assert_eq!(
        app.post_json("/api/v1/auth/logout", json!({}))
            .await
            .status(),
        204
    );
    assert_eq!(app.get("/api/v1/user/me").await.status(), 401);
    assert_eq!(
        session_ids(&app).await.len(),
        before.len(),
        "the session record is gone"
    );
    app.finish().await;
}

async fn session_ids(app: &crate::helpers::TestApp) -> Vec<String> {
    crate::helpers::raw_texts(&app.db, "SELECT id FROM sessions ORDER BY id").await
}

async fn a_suspended_users_sessions_stop_at_their_next_request(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let attendee = app.new_client();
    app.sign_in_as(&attendee, "attendee1@admit.test").await;
    let me: Value = attendee
        .get(format!("{}/api/v1/user/me", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.sign_in_as(&app.client, "admin@admit.test").await;

    let r = app
        .put_json(
            &format!(
                "/api/v1/admin/users/{}/suspension",
                me["id"].as_str().unwrap()
            ),
            json!({"suspended": true}),
        )
        .await;
    assert_eq!(r.status(), 204);

    let r = attendee
        .get(format!("{}/api/v1/user/me", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the suspended user's session ended");
    let r = attendee.post(format!("{}/api/v1/auth/login", app.url)).json(&json!({"email": "attendee1@admit.test", "password": admit::services::seed::DEMO_PASSWORD})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    app.finish().await;
}

async fn secure_mode_cookies_are_host_prefixed_secure_httponly_and_lax(backend: Backend) {
    let app = spawn_app_with(
        backend,
        SpawnOptions {
            settings: Some(Box::new(|s| {
                s.public_url = "https://tickets.example".into()
            })),
            ..SpawnOptions::default()
        },
    )
    .await;
    admit::services::seed::seed(&app.state).await.unwrap();
    // A client that keeps no cookies: we read Set-Cookie ourselves.
    let raw = reqwest::Client::new();
    let r = raw
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "attendee1@admit.test", "password": admit::services::seed::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-admit_session="))
        .expect("a __Host- session cookie");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} missing in {cookie}");
    }
    assert!(
        !cookie.contains("Domain="),
        "__Host- cookies have no Domain"
    );
    app.finish().await;
}

async fn an_application_is_approved_by_an_admin_and_the_owner_reaches_the_dashboard(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let applicant = app.new_client();
    app.verified_user(&applicant, "new.organizer@example.com")
        .await;

    let r = applicant.post(format!("{}/api/v1/organizer-applications", app.url)).json(&json!({"name": "Surabaya Sounds", "contact_email": "hi@sounds.example", "description": "Gigs"})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let org: Value = r.json().await.unwrap();
    assert_eq!(org["status"], "pending");
    // Not yet an organizer.
    let r = applicant
        .get(format!("{}/organizer", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    app.sign_in_as(&app.client, "admin@admit.test").await;
    let pending: Value = app
        .get("/api/v1/admin/applications")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == org["id"])
    );
    let r = app
        .post_json(
            &format!(
                "/api/v1/admin/applications/{}/decision",
                org["id"].as_str().unwrap()
            ),
            json!({"approve": true, "reason": "Welcome aboard"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let again = app
        .post_json(
            &format!(
                "/api/v1/admin/applications/{}/decision",
                org["id"].as_str().unwrap()
            ),
            json!({"approve": false, "reason": "changed my mind"}),
        )
        .await;
    assert_eq!(again.status(), 409, "decided once");

    app.run_jobs().await;
    let mail = sent_mail(&app)
        .into_iter()
        .find(|m| m.contains("To: new.organizer@example.com") && m.contains("approved"))
        .expect("approval email");
    assert!(crate::helpers::decode_mail(&mail).contains("Welcome aboard"));

    let r = applicant
        .get(format!("{}/organizer", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Surabaya Sounds"));
    app.finish().await;
}

async fn a_rejected_applicant_is_told_why(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let applicant = app.new_client();
    app.verified_user(&applicant, "hopeful@example.com").await;
    let org: Value = applicant
        .post(format!("{}/api/v1/organizer-applications", app.url))
        .json(&json!({"name": "Hopeful Org", "contact_email": "x@hopeful.example"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.sign_in_as(&app.client, "admin@admit.test").await;
    let r = app
        .post_json(
            &format!(
                "/api/v1/admin/applications/{}/decision",
                org["id"].as_str().unwrap()
            ),
            json!({"approve": false, "reason": "Please add a tax id"}),
        )
        .await;
    assert_eq!(r.status(), 204);
    app.run_jobs().await;
    assert!(
        sent_mail(&app)
            .iter()
            .any(|m| m.contains("To: hopeful@example.com") && m.contains("Please add a tax id"))
    );
    let r = applicant
        .get(format!("{}/organizer", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.finish().await;
}

async fn an_owner_invites_staff_who_accept_by_signing_in(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    app.sign_in_as(&app.client, "owner@bali-arts.test").await;
    let org_id = crate::helpers::raw_text(
        &app.db,
        "SELECT id FROM organizations WHERE slug = 'bali-arts'",
    )
    .await;
    let event_id = crate::helpers::raw_text(
        &app.db,
        &format!("SELECT id FROM events WHERE org_id = '{org_id}' ORDER BY starts_at LIMIT 1"),
    )
    .await;

    let r = app
        .post_json(
            &format!("/api/v1/organizations/{org_id}/invitations"),
            json!({"email": "Door.Person@example.com", "event_ids": [event_id]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let url = r.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = url.rsplit('/').next().unwrap().to_owned();
    app.run_jobs().await;
    assert!(
        sent_mail(&app)
            .iter()
            .any(|m| m.contains("To: door.person@example.com")
                && crate::helpers::decode_mail(m).contains(&token))
    );

    // Someone else cannot use it.
    let intruder = app.new_client();
    app.verified_user(&intruder, "intruder@example.com").await;
    let r = intruder
        .post(format!("{}/api/v1/invitations/{token}/accept", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let staff = app.new_client();
    app.verified_user(&staff, "door.person@example.com").await;
    let r = staff
        .post(format!("{}/api/v1/invitations/{token}/accept", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let scope = crate::helpers::raw_i64(
        &app.db,
        &format!("SELECT COUNT(*) FROM staff_event_scopes WHERE event_id = '{event_id}'"),
    )
    .await;
    assert_eq!(scope, 1, "staff scoped to the chosen event");
    let r = staff
        .post(format!("{}/api/v1/invitations/{token}/accept", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "single use");
    let r = staff
        .get(format!("{}/organizer", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "staff reach the dashboard");
    let html = r.text().await.unwrap();
    assert!(
        !html.contains("data-testid=\"invite-form\""),
        "staff cannot invite"
    );
    app.finish().await;
}

async fn admins_search_users_and_change_roles(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    app.sign_in_as(&app.client, "admin@admit.test").await;
    let list: Value = app
        .get("/api/v1/admin/users?q=jakarta-live")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
    let budi = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "owner@jakarta-live.test")
        .unwrap()
        .clone();
    let r = app
        .put_json(
            &format!("/api/v1/admin/users/{}/admin", budi["id"].as_str().unwrap()),
            json!({"is_admin": true}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let one: Value = app
        .get(&format!(
            "/api/v1/admin/users/{}",
            budi["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["is_admin"], true);
    let me: Value = app.get("/api/v1/user/me").await.json().await.unwrap();
    let r = app
        .put_json(
            &format!("/api/v1/admin/users/{}/admin", me["id"].as_str().unwrap()),
            json!({"is_admin": false}),
        )
        .await;
    assert_eq!(r.status(), 422, "admins cannot demote themselves");
    app.finish().await;
}

async fn unverified_accounts_cannot_apply(backend: Backend) {
    let app = spawn_app(backend).await;
    app.post_json(
        "/api/v1/auth/register",
        json!({"name": "U", "email": "u@example.com", "password": "Str0ng!pass"}),
    )
    .await;
    let r = app
        .post_json(
            "/api/v1/organizer-applications",
            json!({"name": "Org", "contact_email": "o@example.com"}),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(
        r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .contains("Verify your email")
    );
    app.run_jobs().await;
    app.finish().await;
}
