//! Abuse limits (per account and per address, in the database) and answers
//! that never tell whether an account exists.

use std::{sync::Arc, time::Duration};

use serde_json::json;

use crate::{
    both_backends,
    helpers::{Backend, SpawnOptions, TestApp, spawn_app, spawn_app_with},
};

both_backends!(
    the_sign_in_after_the_limit_is_refused_with_retry_after_until_the_window_ends,
    the_per_account_limit_holds_across_two_instances_sharing_the_database,
    only_trusted_proxies_may_name_the_client_address,
    code_sending_sign_up_and_password_reset_are_limited_too,
    sign_in_reset_and_code_sending_answer_byte_for_byte_alike_for_unknown_addresses,
);

const WINDOW_SECS: u32 = 3600;

fn limited(spec: &'static str) -> SpawnOptions {
    SpawnOptions {
        settings: Some(Box::new(move |s| {
            s.rate_limits = spec.into();
            s.rate_limit_window_secs = WINDOW_SECS;
        })),
        ..SpawnOptions::default()
    }
}

/// Moves each app's clock to one second into a fresh window, so a test's
/// attempts never straddle two windows.
fn align(apps: &[&TestApp]) {
    let window = i64::from(WINDOW_SECS) * 1000;
    let now = apps[0].now().as_millis();
    let next = admit::domain::limits::window_start(now, window) + window + 1000;
    for app in apps {
        app.state.clock.advance_millis(next - now);
    }
}

async fn attempt(app: &TestApp, email: &str) -> reqwest::Response {
    app.new_client()
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": email, "password": "Wr0ng!pass"}))
        .send()
        .await
        .unwrap()
}

async fn the_sign_in_after_the_limit_is_refused_with_retry_after_until_the_window_ends(
    backend: Backend,
) {
    let app = spawn_app_with(backend, limited("sign_in=3/100")).await;
    align(&[&app]);
    for _ in 0..3 {
        assert_eq!(attempt(&app, "target@example.com").await.status(), 422);
    }
    let r = attempt(&app, "Target@Example.com").await;
    assert_eq!(r.status(), 429, "the 4th attempt within the window");
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (3590..=3600).contains(&retry),
        "Retry-After counts to the end of the window: {retry}"
    );
    assert!(
        r.text().await.unwrap().contains("Too many attempts"),
        "the body says why"
    );
    assert_eq!(
        attempt(&app, "other@example.com").await.status(),
        422,
        "another account is not affected"
    );
    app.advance(Duration::from_secs(u64::from(WINDOW_SECS)));
    assert_eq!(
        attempt(&app, "target@example.com").await.status(),
        422,
        "a new window"
    );
    app.finish().await;
}

async fn the_per_account_limit_holds_across_two_instances_sharing_the_database(backend: Backend) {
    let first = spawn_app_with(backend, limited("sign_in=4/100")).await;
    let mut second = spawn_app_with(
        backend,
        SpawnOptions {
            db: Some(Arc::clone(&first.db)),
            ..limited("sign_in=4/100")
        },
    )
    .await;
    align(&[&first, &second]);
    for app in [&first, &second, &first, &second] {
        assert_eq!(attempt(app, "shared@example.com").await.status(), 422);
    }
    assert_eq!(
        attempt(&first, "shared@example.com").await.status(),
        429,
        "the 5th attempt is refused, wherever it lands"
    );
    assert_eq!(attempt(&second, "shared@example.com").await.status(), 429);
    second.shutdown().await;
    first.finish().await;
}

async fn only_trusted_proxies_may_name_the_client_address(backend: Backend) {
    let via = |xff: &'static str| {
        move |app: &TestApp| {
            app.new_client()
            .post(format!("{}/api/v1/auth/login", app.url))
            .header("x-forwarded-for", xff)
            .json(&json!({"email": format!("{}@example.com", xff.replace('.', "-")), "password": "x"}))
            .send()
        }
    };
    // Behind a trusted proxy (the tests connect from 127.0.0.1), each
    // forwarded address has its own per-address limit.
    let app = spawn_app_with(
        backend,
        SpawnOptions {
            settings: Some(Box::new(|s| {
                s.rate_limits = "sign_in=-/2".into();
                s.rate_limit_window_secs = WINDOW_SECS;
                s.trusted_proxies = "127.0.0.1/32".into();
            })),
            ..SpawnOptions::default()
        },
    )
    .await;
    align(&[&app]);
    for _ in 0..2 {
        assert_eq!(via("198.51.100.1")(&app).await.unwrap().status(), 422);
    }
    assert_eq!(via("198.51.100.1")(&app).await.unwrap().status(), 429);
    assert_eq!(
        via("198.51.100.2")(&app).await.unwrap().status(),
        422,
        "another client behind the same proxy"
    );
    app.finish().await;

    // Without trusted proxies, X-Forwarded-For is the client's own claim:
    // ignored, so changing it does not escape the limit.
    let app = spawn_app_with(backend, limited("sign_in=-/2")).await;
    align(&[&app]);
    assert_eq!(via("198.51.100.1")(&app).await.unwrap().status(), 422);
    assert_eq!(via("198.51.100.2")(&app).await.unwrap().status(), 422);
    assert_eq!(via("198.51.100.3")(&app).await.unwrap().status(), 429);
    app.finish().await;
}

async fn code_sending_sign_up_and_password_reset_are_limited_too(backend: Backend) {
    let app = spawn_app_with(
        backend,
        limited("send_code=1/100,password_reset=1/100,sign_up=-/1"),
    )
    .await;
    align(&[&app]);
    let post = |path: &'static str, body: serde_json::Value| {
        app.new_client()
            .post(format!("{}{path}", app.url))
            .json(&body)
            .send()
    };
    let email = json!({"email": "someone@example.com"});
    assert_eq!(
        post("/api/v1/auth/send-otp", email.clone())
            .await
            .unwrap()
            .status(),
        202
    );
    assert_eq!(
        post("/api/v1/auth/send-otp", email.clone())
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        post("/api/v1/auth/forgot-password", email.clone())
            .await
            .unwrap()
            .status(),
        202
    );
    assert_eq!(
        post("/api/v1/auth/forgot-password", email)
            .await
            .unwrap()
            .status(),
        429
    );
    let signup = |n: u32| json!({"name": "N", "email": format!("new{n}@example.com"), "password": "Str0ng!pass"});
    assert_eq!(
        post("/api/v1/auth/register", signup(1))
            .await
            .unwrap()
            .status(),
        201
    );
    let r = post("/api/v1/auth/register", signup(2)).await.unwrap();
    assert_eq!(r.status(), 429, "one sign-up per address per window here");
    assert!(r.headers().contains_key("retry-after"));
    app.run_jobs().await;
    app.finish().await;
}

/// Status, headers (but the request id, and the date, which is the clock's
/// and not the account's) and body of a response.
async fn whole(r: reqwest::Response) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let status = r.status().as_u16();
    let mut headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "x-request-id" | "date"))
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
        .collect();
    headers.sort();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

async fn sign_in_reset_and_code_sending_answer_byte_for_byte_alike_for_unknown_addresses(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let app_ref = &app;
    let ask = |path: &'static str, body: serde_json::Value| async move {
        whole(
            app_ref
                .new_client()
                .post(format!("{}{path}", app_ref.url))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    let cases = [
        (
            "/api/v1/auth/login",
            json!({"email": "attendee1@admit.test", "password": "Wr0ng!pass"}),
            json!({"email": "nobody@admit.test", "password": "Wr0ng!pass"}),
        ),
        (
            "/api/v1/auth/forgot-password",
            json!({"email": "attendee1@admit.test"}),
            json!({"email": "nobody@admit.test"}),
        ),
        (
            "/api/v1/auth/send-otp",
            json!({"email": "attendee1@admit.test"}),
            json!({"email": "nobody@admit.test"}),
        ),
        (
            "/api/v1/auth/verify-otp",
            json!({"email": "attendee1@admit.test", "code": "000001"}),
            json!({"email": "nobody@admit.test", "code": "000001"}),
        ),
    ];
    for (path, existing, unknown) in cases {
        let a = ask(path, existing).await;
        let b = ask(path, unknown).await;
        assert_eq!(
            a,
            b,
            "{path} answers the same for an existing and an unknown address:\n{}\n{}",
            String::from_utf8_lossy(&a.2),
            String::from_utf8_lossy(&b.2)
        );
    }
    // The real account did get its mail; nobody else got any.
    app.run_jobs().await;
    let mails = crate::helpers::sent_mail(&app);
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.contains("To: attendee1@admit.test"))
            .count(),
        2
    );
    assert!(!mails.iter().any(|m| m.contains("To: nobody@admit.test")));
    app.finish().await;
}
