//! Signing in without a password (emailed codes), forgotten passwords and
//! changing the password.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, decode_mail, last_code_for, raw_i64, sent_mail, spawn_app},
};

both_backends!(
    an_emailed_code_signs_in_once_and_verifies_the_address,
    sign_in_codes_burn_after_five_wrong_tries_and_expire_after_ten_minutes,
    every_failed_code_gets_the_same_answer,
    a_forgotten_password_is_reset_once_by_the_emailed_link_and_ends_every_session,
    a_reset_link_expires_after_thirty_minutes,
    changing_the_password_needs_the_current_one_and_ends_the_other_sessions,
    the_event_page_signs_a_buyer_in_with_a_code_without_leaving_it,
    the_sign_in_page_offers_codes_and_the_forgotten_password_link,
);

const PASSWORD: &str = "Str0ng!pass";

async fn error_of(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Registers an account on a client of its own and signs that client out.
async fn registered(app: &TestApp, email: &str) {
    let c = app.new_client();
    let r = c
        .post(format!("{}/api/v1/auth/register", app.url))
        .json(&json!({"name": "Code Person", "email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    app.run_jobs().await;
}

async fn send_code(app: &TestApp, client: &reqwest::Client, email: &str) -> reqwest::Response {
    let r = client
        .post(format!("{}/api/v1/auth/send-otp", app.url))
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    app.run_jobs().await;
    r
}

async fn verify_code(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    code: &str,
) -> reqwest::Response {
    client
        .post(format!("{}/api/v1/auth/verify-otp", app.url))
        .json(&json!({"email": email, "code": code}))
        .send()
        .await
        .unwrap()
}

async fn me_status(app: &TestApp, client: &reqwest::Client) -> u16 {
    client
        .get(format!("{}/api/v1/user/me", app.url))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn an_emailed_code_signs_in_once_and_verifies_the_address(backend: Backend) {
    let app = spawn_app(backend).await;
    registered(&app, "coder@example.com").await;
    let browser = app.new_client();
    let r = send_code(&app, &browser, "Coder@Example.com").await;
    assert_eq!(r.status(), 202);
    let mail = sent_mail(&app)
        .into_iter()
        .rev()
        .find(|m| m.contains("To: coder@example.com"))
        .unwrap();
    assert!(
        decode_mail(&mail).contains("sign-in code"),
        "the email says what the code is for"
    );
    let code = last_code_for(&app, "coder@example.com");
    assert_eq!(
        raw_i64(
            &app.db,
            &format!("SELECT COUNT(*) FROM email_codes WHERE code_hash = '{code}'")
        )
        .await,
        0,
        "only a hash of the code is stored"
    );

    let r = verify_code(&app, &browser, "coder@example.com", &code).await;
    assert_eq!(r.status(), 200);
    let me: Value = browser
        .get(format!("{}/api/v1/user/me", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "coder@example.com");
    assert_eq!(
        me["verified"], true,
        "a sign-in code proves the address like a verification code"
    );

    let again = app.new_client();
    let (status, msg) = error_of(verify_code(&app, &again, "coder@example.com", &code).await).await;
    assert_eq!(
        (status, msg.as_str()),
        (422, admit::services::accounts::WRONG_CODE),
        "single use"
    );
    assert_eq!(me_status(&app, &again).await, 401);
    app.finish().await;
}

async fn sign_in_codes_burn_after_five_wrong_tries_and_expire_after_ten_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    registered(&app, "guess@example.com").await;
    let browser = app.new_client();
    send_code(&app, &browser, "guess@example.com").await;
    let right = last_code_for(&app, "guess@example.com");
    for i in 0..5 {
        let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1 + i) % 1_000_000);
        let r = verify_code(&app, &browser, "guess@example.com", &wrong).await;
        assert_eq!(r.status(), 422);
    }
    let r = verify_code(&app, &browser, "guess@example.com", &right).await;
    assert_eq!(
        r.status(),
        422,
        "after 5 wrong tries even the right code fails"
    );
    assert_eq!(me_status(&app, &browser).await, 401);

    // A new code works; one left for ten minutes does not.
    send_code(&app, &browser, "guess@example.com").await;
    let fresh = last_code_for(&app, "guess@example.com");
    app.advance(Duration::from_secs(10 * 60 + 1));
    let r = verify_code(&app, &browser, "guess@example.com", &fresh).await;
    assert_eq!(r.status(), 422, "expired after 10 minutes");
    send_code(&app, &browser, "guess@example.com").await;
    let newest = last_code_for(&app, "guess@example.com");
    let r = verify_code(&app, &browser, "guess@example.com", &newest).await;
    assert_eq!(r.status(), 200);
    app.finish().await;
}

async fn every_failed_code_gets_the_same_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    registered(&app, "real@example.com").await;
    let c = app.new_client();
    send_code(&app, &c, "real@example.com").await;
    let right = last_code_for(&app, "real@example.com");
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    let real = error_of(verify_code(&app, &c, "real@example.com", wrong).await).await;
    let unknown = error_of(verify_code(&app, &c, "nobody@example.com", wrong).await).await;
    send_code(&app, &c, "nobody@example.com").await;
    let unknown_after_send =
        error_of(verify_code(&app, &c, "nobody@example.com", wrong).await).await;
    assert_eq!(
        real, unknown,
        "a wrong code tells nothing about the account"
    );
    assert_eq!(real, unknown_after_send);
    assert_eq!(real.1, admit::services::accounts::WRONG_CODE);
    assert!(
        !sent_mail(&app)
            .iter()
            .any(|m| m.contains("To: nobody@example.com")),
        "an address without an account gets no email"
    );
    app.finish().await;
}

/// The reset token in the newest reset email to `email`.
fn reset_token(app: &TestApp, email: &str) -> String {
    let mail = sent_mail(app)
        .into_iter()
        .rev()
        .find(|m| m.contains(&format!("To: {email}")) && decode_mail(m).contains("/reset?token="))
        .expect("a reset email");
    let text = decode_mail(&mail);
    let start = text.find("/reset?token=").unwrap() + "/reset?token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect()
}

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    let r = app
        .new_client()
        .post(format!("{}/api/v1/auth/forgot-password", app.url))
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    app.run_jobs().await;
    r
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.new_client()
        .post(format!("{}/api/v1/auth/reset-password", app.url))
        .json(&json!({"token": token, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn login(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> u16 {
    client
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn a_forgotten_password_is_reset_once_by_the_emailed_link_and_ends_every_session(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let laptop = app.new_client();
    app.verified_user(&laptop, "forgetful@example.com").await;
    let phone = app.new_client();
    assert_eq!(
        login(&app, &phone, "forgetful@example.com", PASSWORD).await,
        200
    );
    let tokens: Value = app
        .new_client()
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "forgetful@example.com", "password": PASSWORD, "tokens": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(forgot(&app, "forgetful@example.com").await.status(), 202);
    let token = reset_token(&app, "forgetful@example.com");
    assert!(token.starts_with("pr_"), "{token}");

    let (status, msg) = error_of(reset(&app, &token, "weak").await).await;
    assert_eq!(status, 422);
    assert!(msg.starts_with("The password needs"), "{msg}");
    let r = reset(&app, &token, "N3w!password").await;
    assert_eq!(r.status(), 204);

    assert_eq!(me_status(&app, &laptop).await, 401, "sessions end");
    assert_eq!(me_status(&app, &phone).await, 401);
    let r = app
        .new_client()
        .post(format!("{}/api/v1/auth/refresh-token", app.url))
        .json(&json!({"refresh_token": tokens["tokens"]["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "refresh tokens end too");
    assert_eq!(
        login(&app, &app.new_client(), "forgetful@example.com", PASSWORD).await,
        422,
        "the old password no longer works"
    );
    assert_eq!(
        login(&app, &phone, "forgetful@example.com", "N3w!password").await,
        200
    );
    let (status, msg) = error_of(reset(&app, &token, "An0ther!pass").await).await;
    assert_eq!(
        (status, msg.as_str()),
        (
            422,
            "This reset link has expired or was already used. Ask for a new one."
        ),
        "single use"
    );
    app.finish().await;
}

async fn a_reset_link_expires_after_thirty_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user(&app.new_client(), "late@example.com")
        .await;
    forgot(&app, "late@example.com").await;
    let first = reset_token(&app, "late@example.com");
    forgot(&app, "late@example.com").await;
    let second = reset_token(&app, "late@example.com");
    assert_ne!(first, second);
    assert_eq!(
        reset(&app, &first, "N3w!password").await.status(),
        422,
        "only the newest link works"
    );
    app.advance(Duration::from_secs(30 * 60 + 1));
    assert_eq!(reset(&app, &second, "N3w!password").await.status(), 422);
    assert_eq!(
        login(&app, &app.new_client(), "late@example.com", PASSWORD).await,
        200,
        "nothing changed"
    );
    app.finish().await;
}

async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let here = app.new_client();
    app.verified_user(&here, "changer@example.com").await;
    let elsewhere = app.new_client();
    login(&app, &elsewhere, "changer@example.com", PASSWORD).await;

    let change = |current: &str, new: &str| {
        here.put(format!("{}/api/v1/user/me/password", app.url))
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    let (status, msg) = error_of(change("Wr0ng!pass", "N3w!password").await.unwrap()).await;
    assert_eq!(
        (status, msg.as_str()),
        (422, "Your current password is not right.")
    );
    assert_eq!(me_status(&app, &elsewhere).await, 200, "nothing changed");
    let r = change(PASSWORD, "N3w!password").await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        me_status(&app, &here).await,
        200,
        "this session stays signed in"
    );
    assert_eq!(
        me_status(&app, &elsewhere).await,
        401,
        "the other one is signed out"
    );
    assert_eq!(
        login(&app, &elsewhere, "changer@example.com", "N3w!password").await,
        200
    );
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'password_changed'"
        )
        .await,
        1
    );
    app.finish().await;
}

async fn the_event_page_signs_a_buyer_in_with_a_code_without_leaving_it(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let slug = crate::helpers::raw_text(
        &app.db,
        "SELECT slug FROM events WHERE status = 'published' ORDER BY starts_at LIMIT 1",
    )
    .await;
    let page = format!("{}/events/{slug}", app.url);
    let buyer = app.new_client();
    let html = buyer.get(&page).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("data-testid=\"buyer-email-form\""),
        "a signed-out buyer is offered the inline sign-in"
    );

    let r = buyer
        .post(&page)
        .header("accept", "text/html")
        .form(&[("action", "signin_send"), ("email", "attendee1@admit.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the event page again, with the code field");
    let html = r.text().await.unwrap();
    assert!(html.contains("data-testid=\"buyer-code-form\""));
    assert!(html.contains("attendee1@admit.test"));
    app.run_jobs().await;
    let code = last_code_for(&app, "attendee1@admit.test");

    let r = buyer
        .post(&page)
        .form(&[
            ("action", "signin_code"),
            ("email", "attendee1@admit.test"),
            ("code", "000000"),
        ])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    if code != "000000" {
        assert!(
            html.contains(admit::services::accounts::WRONG_CODE),
            "a wrong code is explained on the page"
        );
    }
    let r = buyer
        .post(&page)
        .form(&[
            ("action", "signin_code"),
            ("email", "attendee1@admit.test"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/events/{slug}?notice=signed_in"),
        "back on the same event page"
    );
    assert_eq!(me_status(&app, &buyer).await, 200);
    let html = buyer.get(&page).send().await.unwrap().text().await.unwrap();
    assert!(
        !html.contains("data-testid=\"buyer-email-form\""),
        "signed in: no sign-in form"
    );
    app.finish().await;
}

async fn the_sign_in_page_offers_codes_and_the_forgotten_password_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let (status, html) = app.get_text("/signin").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"code-request-form\""));
    assert!(html.contains("href=\"/forgot\""));
    assert!(
        !html.contains("data-testid=\"google-sign-in\""),
        "no Google button without Google credentials"
    );
    for page in [
        "/forgot",
        "/reset?token=pr_x",
        "/signin/code?email=a%40b.co",
    ] {
        assert_eq!(app.get_text(page).await.0, 200, "{page}");
    }
    app.finish().await;
}
