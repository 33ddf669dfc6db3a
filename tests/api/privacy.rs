//! The person's own data: profile, photo, export and deletion.

use std::io::Cursor;

use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, raw_i64, raw_text, raw_texts, spawn_app},
};

both_backends!(
    the_profile_keeps_a_checked_name_phone_and_language,
    a_photo_is_decoded_cropped_and_re_encoded_without_metadata_up_to_2_mb,
    the_export_holds_the_profile_and_the_orders,
    a_deleted_account_is_anonymized_keeps_its_orders_and_cannot_sign_in_again,
);

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A JPEG with an EXIF segment carrying a GPS-ish marker.
fn jpeg_with_exif() -> Vec<u8> {
    let img = image::RgbImage::from_fn(300, 200, |x, _| image::Rgb([(x % 255) as u8, 80, 160]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
        .encode_image(&img)
        .unwrap();
    let payload = b"Exif\0\0SECRET-GPS-LOCATION";
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    app1.extend_from_slice(payload);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

async fn put(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.put_json(path, body).await
}

async fn the_profile_keeps_a_checked_name_phone_and_language(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user(&app.client, "profile@example.com").await;
    let r = put(
        &app,
        "/api/v1/user/me",
        json!({"name": "Dwi Ayu", "phone": "+62 812-3456-7890", "language": "id"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(
        (
            me["name"].as_str(),
            me["phone"].as_str(),
            me["language"].as_str()
        ),
        (Some("Dwi Ayu"), Some("+6281234567890"), Some("id"))
    );
    let r = put(
        &app,
        "/api/v1/user/me",
        json!({"name": "Dwi", "phone": "12ab"}),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "Enter a phone number of 7 to 15 digits, like +62 812 3456 7890."
    );
    let r = put(&app, "/api/v1/user/me", json!({"name": "   "})).await;
    assert_eq!(r.status(), 422);
    let r = put(&app, "/api/v1/user/me", json!({"name": "Dwi", "phone": ""})).await;
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["phone"], Value::Null, "an empty phone removes it");
    assert_eq!(me["language"], "id", "a missing language keeps the old one");
    app.finish().await;
}

async fn a_photo_is_decoded_cropped_and_re_encoded_without_metadata_up_to_2_mb(backend: Backend) {
    let app = spawn_app(backend).await;
    app.verified_user(&app.client, "photo@example.com").await;
    let upload = |bytes: Vec<u8>| {
        app.client
            .put(format!("{}/api/v1/user/me/photo", app.url))
            .body(bytes)
            .send()
    };
    let r = upload(jpeg_with_exif()).await.unwrap();
    assert_eq!(r.status(), 204);
    let r = app.get("/api/v1/user/me/photo").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let stored = r.bytes().await.unwrap().to_vec();
    assert!(
        !stored.windows(10).any(|w| w == b"SECRET-GPS"),
        "EXIF is stripped"
    );
    let decoded = image::load_from_memory(&stored).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (200, 200),
        "cropped to a square"
    );
    let first_key = raw_text(
        &app.db,
        "SELECT photo_key FROM users WHERE email = 'photo@example.com'",
    )
    .await;

    let r = upload(png(1200, 900)).await.unwrap();
    assert_eq!(r.status(), 204);
    let decoded = image::load_from_memory(
        &app.get("/api/v1/user/me/photo")
            .await
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!((decoded.width(), decoded.height()), (320, 320));
    assert!(
        !app.db.data_dir().join("files").join(&first_key).exists(),
        "the replaced file is gone"
    );

    let r = upload(b"GIF89a not really".to_vec()).await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "The photo must be a JPG, PNG or WebP image."
    );
    let mut big = png(16, 16);
    big.resize(2 * 1024 * 1024 + 1, 0);
    let r = upload(big).await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "The photo must be at most 2 MB."
    );
    let r = upload(png(20, 20)).await.unwrap();
    assert_eq!(r.status(), 422, "too small to be a photo");

    let r = app
        .client
        .delete(format!("{}/api/v1/user/me/photo", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.get("/api/v1/user/me/photo").await.status(), 404);
    app.finish().await;
}

/// Attendee 1 holds a ticket of Bali Arts' first published event and checks
/// out with their own name and email; returns the order id.
async fn an_order_of_attendee1(app: &TestApp) -> String {
    app.sign_in_as(&app.client, "attendee1@admit.test").await;
    let event = raw_text(
        &app.db,
        "SELECT e.id FROM events e JOIN organizations o ON o.id = e.org_id
         WHERE o.slug = 'bali-arts' AND e.status = 'published' ORDER BY e.starts_at LIMIT 1",
    )
    .await;
    let tier = raw_text(
        &app.db,
        &format!(
            "SELECT t.id FROM tiers t JOIN tier_quotas tq ON tq.tier_id = t.id JOIN quotas q ON q.id = tq.quota_id
             WHERE t.event_id = '{event}' AND NOT t.hidden AND t.sale_starts_at IS NULL AND t.sale_ends_at IS NULL
               AND q.size - q.sold - q.held >= 2
             ORDER BY t.position LIMIT 1"
        ),
    )
    .await;
    let r = app
        .post_json(
            "/api/v1/orders",
            json!({"event_id": event, "tiers": [{"tier_id": tier, "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let order: Value = r.json().await.unwrap();
    let id = order["id"].as_str().unwrap().to_owned();
    let r = app
        .post_json(
            &format!("/api/v1/orders/{id}/checkout"),
            json!({"attendees": [
                {"name": "Zoë Nguyễn", "email": "attendee1@admit.test"},
                {"name": "A Friend", "email": "friend@example.com"},
            ]}),
        )
        .await;
    assert!(r.status().is_success(), "checkout: {}", r.status());
    id
}

async fn the_export_holds_the_profile_and_the_orders(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let order = an_order_of_attendee1(&app).await;
    put(
        &app,
        "/api/v1/user/me",
        json!({"name": "Zoë Nguyễn", "phone": "+6281200000001"}),
    )
    .await;
    let r = app.get("/api/v1/user/me/export").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"),
        "a download"
    );
    let export: Value = r.json().await.unwrap();
    assert_eq!(export["profile"]["email"], "attendee1@admit.test");
    assert_eq!(export["profile"]["phone"], "+6281200000001");
    assert_eq!(export["sign_in"]["password"], true);
    assert!(export["sign_in"]["active_sessions"].as_i64().unwrap() >= 1);
    let orders = export["orders"].as_array().unwrap();
    let mine = orders
        .iter()
        .find(|o| o["id"] == order.as_str())
        .expect("the order is in the export");
    assert_eq!(mine["tickets"].as_array().unwrap().len(), 2);
    assert!(
        export["security_log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "sign_in"),
        "the sign-ins are there"
    );
    let text = export.to_string();
    for secret in ["$argon2", "password_hash", "token_hash", "code_hash"] {
        assert!(!text.contains(secret), "no secrets in the export: {secret}");
    }
    assert_eq!(
        app.new_client()
            .get(format!("{}/api/v1/user/me/export", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    app.run_jobs().await;
    app.finish().await;
}

async fn a_deleted_account_is_anonymized_keeps_its_orders_and_cannot_sign_in_again(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let order = an_order_of_attendee1(&app).await;
    app.run_jobs().await;
    let id = raw_text(
        &app.db,
        "SELECT id FROM users WHERE email = 'attendee1@admit.test'",
    )
    .await;
    put(
        &app,
        "/api/v1/user/me",
        json!({"name": "Zoë Nguyễn", "phone": "+6281200000001"}),
    )
    .await;
    app.client
        .put(format!("{}/api/v1/user/me/photo", app.url))
        .body(png(300, 300))
        .send()
        .await
        .unwrap();
    let photo_key = raw_text(
        &app.db,
        &format!("SELECT photo_key FROM users WHERE id = '{id}'"),
    )
    .await;
    let phone = app.new_client();
    app.sign_in_as(&phone, "attendee1@admit.test").await;
    let tokens: Value = app
        .new_client()
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "attendee1@admit.test", "password": admit::services::seed::DEMO_PASSWORD, "tokens": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let delete = |body: Value| {
        app.client
            .delete(format!("{}/api/v1/user/me", app.url))
            .json(&body)
            .send()
    };
    assert_eq!(
        delete(json!({"confirm": true, "password": "Wr0ng!pass"}))
            .await
            .unwrap()
            .status(),
        422,
        "the password is needed"
    );
    assert_eq!(
        delete(json!({"password": admit::services::seed::DEMO_PASSWORD}))
            .await
            .unwrap()
            .status(),
        422,
        "and the confirmation"
    );
    let r = delete(json!({"confirm": true, "password": admit::services::seed::DEMO_PASSWORD}))
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    // The personal fields are gone from the database.
    let row = raw_texts(
        &app.db,
        &format!(
            "SELECT email || '|' || name || '|' || COALESCE(phone, '-') || '|' || COALESCE(password_hash, '-')
             || '|' || COALESCE(photo_key, '-') FROM users WHERE id = '{id}'"
        ),
    )
    .await;
    assert_eq!(
        row,
        vec![format!(
            "deleted-{id}@deleted.invalid|Deleted account|-|-|-"
        )]
    );
    assert_eq!(
        raw_i64(
            &app.db,
            &format!("SELECT COUNT(*) FROM users WHERE id = '{id}' AND deleted_at IS NOT NULL")
        )
        .await,
        1
    );
    for table in [
        "users WHERE email = 'attendee1@admit.test' OR name = 'Zoë Nguyễn'",
        "order_items WHERE attendee_email = 'attendee1@admit.test' OR attendee_name = 'Zoë Nguyễn'",
        &format!("sessions WHERE user_id = '{id}'"),
        &format!("refresh_tokens WHERE user_id = '{id}'"),
        &format!("email_codes WHERE user_id = '{id}'"),
        &format!("memberships WHERE user_id = '{id}'"),
        &format!("audit_log WHERE ip IS NOT NULL AND (actor_id = '{id}' OR subject_id = '{id}')"),
    ] {
        assert_eq!(
            raw_i64(&app.db, &format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "nothing left in {table}"
        );
    }
    assert!(
        !app.db.data_dir().join("files").join(&photo_key).exists(),
        "the photo file is gone"
    );
    // The order stays, with the person anonymized; the friend's ticket stays whole.
    assert_eq!(
        raw_text(
            &app.db,
            &format!("SELECT user_id FROM orders WHERE id = '{order}'")
        )
        .await,
        id
    );
    assert_eq!(
        raw_i64(
            &app.db,
            &format!(
                "SELECT COUNT(*) FROM order_items WHERE order_id = '{order}' AND attendee_email = 'friend@example.com'"
            )
        )
        .await,
        1
    );

    // No way back in.
    assert_eq!(app.get("/api/v1/user/me").await.status(), 401);
    assert_eq!(
        phone
            .get(format!("{}/api/v1/user/me", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "other sessions ended"
    );
    let r = app
        .new_client()
        .post(format!("{}/api/v1/auth/login", app.url))
        .json(&json!({"email": "attendee1@admit.test", "password": admit::services::seed::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "the password no longer signs in");
    let r = app
        .new_client()
        .post(format!("{}/api/v1/auth/refresh-token", app.url))
        .json(&json!({"refresh_token": tokens["tokens"]["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "nor a refresh token");
    assert_eq!(
        app.new_client()
            .get(format!("{}/api/v1/user/me", app.url))
            .bearer_auth(tokens["tokens"]["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "nor an access token"
    );
    app.new_client()
        .post(format!("{}/api/v1/auth/send-otp", app.url))
        .json(&json!({"email": "attendee1@admit.test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.run_jobs().await,
        0,
        "nor a code: nothing is sent to the old address"
    );
    app.finish().await;
}
