//! Payments through Stripe (a local fake speaking Stripe's API) and the
//! simulated gateway: one payment pays an order once however often and in
//! whatever order its events arrive, bad signatures change nothing, money
//! that cannot be kept is refunded exactly once, the sweeper asks the gateway
//! before releasing a hold, and reconciliation applies dropped webhooks.

use std::{sync::Arc, time::Duration};

use admit::integrations::webhook_signature::sign;
use serde_json::{Value, json};

use crate::{
    both_backends,
    fake_stripe::{FakeStripe, WEBHOOK_SECRET, spawn_with_stripe},
    helpers::{
        Backend, Fixture, SpawnOptions, TestApp, assert_all_invariants, fixture, raw_i64,
        sent_mail, spawn_app,
    },
    holds::{buyer, ga, get_json, page, post_hold, submit},
};

both_backends!(
    the_simulated_gateway_takes_an_order_from_checkout_to_paid,
    a_stripe_session_carries_the_order_and_ends_with_the_hold,
    the_same_event_five_times_in_a_row_and_at_once_pays_once,
    webhooks_with_bad_signatures_change_nothing,
    out_of_order_events_end_as_the_gateway_says,
    a_failed_delayed_payment_releases_the_hold_for_good,
    a_payment_after_the_hold_was_released_and_resold_is_refunded_once,
    a_timed_out_session_creation_is_retried_with_the_same_key,
    an_unreachable_gateway_keeps_the_hold_and_payment_resumes_later,
    the_sweeper_expires_the_session_before_releasing_the_hold,
    the_sweeper_applies_a_payment_completed_before_the_end,
    reconciliation_applies_a_dropped_webhook_exactly_once,
);

/// A held, checked-out order waiting for payment: (client, order id, page url).
async fn pending(app: &TestApp, fx: &Fixture, units: u32) -> (reqwest::Client, String, String) {
    let client = buyer(app, "payer").await;
    let (s, order) = post_hold(app, &client, ga(fx, units)).await;
    assert_eq!(s, 201, "{order}");
    let id = order["id"].as_str().unwrap().to_owned();
    let attendees: Vec<Value> = (0..units)
        .map(|i| json!({"name": format!("Ayu {i}"), "email": format!("ayu{i}@example.test")}))
        .collect();
    let r = client
        .post(format!("{}/api/v1/orders/{id}/checkout", app.url))
        .json(&json!({ "attendees": attendees }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let order: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["status"], "pending_payment");
    let url = order["payment_url"].as_str().unwrap().to_owned();
    (client, id, url)
}

/// The fake's session of an order.
fn session_of(fake: &FakeStripe, order: &str) -> String {
    fake.session_of(order).expect("a session for the order").id
}

/// POSTs a webhook body with a signature header (None: no header).
async fn deliver(app: &TestApp, body: &str, signature: Option<String>) -> u16 {
    let mut req = app
        .client
        .post(format!("{}/api/v1/payments/stripe/webhooks", app.url))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(s) = signature {
        req = req.header("stripe-signature", s);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Stripe's signature of `body`, made `age` seconds ago.
fn signed(app: &TestApp, body: &str, age: i64) -> Option<String> {
    Some(sign(
        WEBHOOK_SECRET,
        app.now().as_millis() / 1000 - age,
        body.as_bytes(),
    ))
}

async fn status(app: &TestApp, client: &reqwest::Client, id: &str) -> String {
    let (_, o) = get_json(client, format!("{}/api/v1/orders/{id}", app.url)).await;
    o["status"].as_str().unwrap().to_owned()
}

fn confirmations(app: &TestApp) -> usize {
    sent_mail(app)
        .iter()
        .filter(|m| m.contains("Subject: Your tickets for"))
        .count()
}

async fn sold(app: &TestApp, fx: &Fixture) -> i64 {
    raw_i64(
        &app.db,
        &format!("SELECT sold FROM quotas WHERE id = '{}'", fx.quota.as_str()),
    )
    .await
}

/// Runs the cleanup job (holds, and the payment sweeper) now.
async fn sweep(app: &TestApp) {
    let r = admit::services::payments::sweep_lapsed(&app.state)
        .await
        .expect("the sweep runs");
    let released = app.store().release_expired_holds(app.now()).await.unwrap();
    let _ = (r, released);
}

async fn the_simulated_gateway_takes_an_order_from_checkout_to_paid(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    let (client, id, url) = pending(&app, &fx, 1).await;
    let session = url.rsplit('/').next().unwrap().to_owned();
    assert!(session.starts_with("cs_sim_"), "{url}");
    let (_, order) = get_json(&client, format!("{}/api/v1/orders/{id}", app.url)).await;
    let left = order["remaining_ms"].as_i64().unwrap();
    assert!(
        (30 * 60_000..=31 * 60_000).contains(&left),
        "the hold is extended to 31 minutes: {left}"
    );

    let html = page(&client, format!("{}/pay/sim/{session}", app.url)).await;
    assert!(html.contains("data-testid=\"sim-pay\""));
    // 100,000 + 5 % + Rp 2,500.
    assert!(
        html.contains("Rp 107,500"),
        "the fee shown is the fee charged"
    );
    // A declined card charges nothing and keeps the page open.
    let r = submit(
        &client,
        format!("{}/_fn/pay/sim/act", app.url),
        &[("session", session.as_str()), ("action", "fail")],
    )
    .await;
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        back.starts_with(&format!("/pay/sim/{session}?error=")),
        "{back}"
    );
    assert_eq!(status(&app, &client, &id).await, "pending_payment");

    let r = submit(
        &client,
        format!("{}/_fn/pay/sim/act", app.url),
        &[("session", session.as_str()), ("action", "pay")],
    )
    .await;
    assert_eq!(
        r.headers()["location"],
        format!("/orders/{id}?notice=paying").as_str()
    );
    assert_eq!(status(&app, &client, &id).await, "paid");
    assert_eq!(sold(&app, &fx).await, 1);
    assert_all_invariants(&app.db).await;
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 1);
    // Paying twice is refused: the session is complete.
    let r = submit(
        &client,
        format!("{}/_fn/pay/sim/act", app.url),
        &[("session", session.as_str()), ("action", "pay")],
    )
    .await;
    assert!(
        r.headers()["location"].to_str().unwrap().contains("error="),
        "a second payment of the same session is refused"
    );
    // Someone else cannot open the page.
    let html = page(
        &buyer(&app, "other").await,
        format!("{}/pay/sim/{session}", app.url),
    )
    .await;
    assert!(!html.contains("data-testid=\"sim-pay\""));
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 1);
    app.finish().await;
}

async fn a_stripe_session_carries_the_order_and_ends_with_the_hold(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    let (client, id, url) = pending(&app, &fx, 2).await;
    let s = fake.session_of(&id).expect("one session for the order");
    assert_eq!(url, format!("https://checkout.stripe.test/c/pay/{}", s.id));
    assert_eq!(fake.sessions().len(), 1);
    let (_, order) = get_json(&client, format!("{}/api/v1/orders/{id}", app.url)).await;
    assert_eq!(
        s.expires_at * 1000,
        order["expires_at_ms"].as_i64().unwrap(),
        "the session ends at the instant the hold does"
    );
    assert!(s.customer_email.ends_with("@example.test"));
    assert_eq!(
        s.success_url,
        format!("{}/orders/{id}?notice=paying", app.url)
    );
    assert_eq!(s.cancel_url, format!("{}/orders/{id}", app.url));
    // 2 × Rp 100,000 + fee (2 × 5,000 + 2 × 2,500): Stripe counts IDR in hundredths.
    let total = order["total_minor"].as_i64().unwrap();
    assert_eq!(total, 215_000);
    assert_eq!(s.amount_total, total * 100);
    assert_eq!(
        s.lines,
        vec![
            ("Regular".to_owned(), 10_000_000, 2),
            ("Service fee".to_owned(), 1_500_000, 1)
        ]
    );
    // Stripe's events, as the fake sends them, parse as complete typed events
    // of the pinned API version.
    let body = fake.complete(&s.id, true);
    let now = app.now().as_millis() / 1000;
    assert_eq!(
        admit::integrations::stripe::typed_event_kind(
            &body,
            &fake.sign(&body),
            WEBHOOK_SECRET,
            now
        ),
        Ok("checkout.session.completed".to_owned())
    );
    assert_eq!(fake.deliver(&body).await, 200);
    assert_eq!(status(&app, &client, &id).await, "paid");
    assert_eq!(sold(&app, &fx).await, 2);
    app.run_jobs().await;
    app.finish().await;
}

async fn the_same_event_five_times_in_a_row_and_at_once_pays_once(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    let (client, id, _) = pending(&app, &fx, 1).await;
    let body = fake.complete(&session_of(&fake, &id), true);
    for _ in 0..5 {
        assert_eq!(fake.deliver(&body).await, 200);
    }
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (fake, body) = (fake.clone(), body.clone());
        tasks.push(tokio::spawn(async move { fake.deliver(&body).await }));
    }
    // The buyer lands on the success page at the same moment.
    let landing = page(&client, format!("{}/orders/{id}?notice=paying", app.url)).await;
    assert!(
        landing.contains("data-testid=\"order\""),
        "the success page: {:.400}",
        landing.split("<main").nth(1).unwrap_or(&landing)
    );
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(status(&app, &client, &id).await, "paid");
    let events = raw_i64(&app.db, "SELECT COUNT(*) FROM payment_events").await;
    assert_eq!(events, 1, "one event recorded");
    assert_eq!(sold(&app, &fx).await, 1);
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 1, "one email");
    assert_all_invariants(&app.db).await;
    Arc::into_inner(app).expect("no other owner").finish().await;
}

async fn webhooks_with_bad_signatures_change_nothing(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    let (client, id, _) = pending(&app, &fx, 1).await;
    let body = fake.complete(&session_of(&fake, &id), true);
    let forged = Some(sign(
        "whsec_forged",
        app.now().as_millis() / 1000,
        body.as_bytes(),
    ));
    assert_eq!(deliver(&app, &body, forged).await, 400);
    let mut changed = body.clone().into_bytes();
    changed[20] ^= 1;
    let changed = String::from_utf8(changed).unwrap();
    assert_eq!(deliver(&app, &changed, signed(&app, &body, 0)).await, 400);
    assert_eq!(deliver(&app, &body, None).await, 400);
    assert_eq!(deliver(&app, &body, signed(&app, &body, 301)).await, 400);
    assert_eq!(deliver(&app, &body, signed(&app, &body, -301)).await, 400);
    assert_eq!(status(&app, &client, &id).await, "pending_payment");
    assert_eq!(
        raw_i64(&app.db, "SELECT COUNT(*) FROM payment_events").await,
        0
    );
    assert_eq!(deliver(&app, &body, signed(&app, &body, 299)).await, 200);
    assert_eq!(deliver(&app, &body, signed(&app, &body, 299)).await, 200);
    assert_eq!(status(&app, &client, &id).await, "paid");
    assert_eq!(
        raw_i64(&app.db, "SELECT COUNT(*) FROM payment_events").await,
        1,
        "accepted once"
    );
    app.run_jobs().await;
    app.finish().await;
}

async fn out_of_order_events_end_as_the_gateway_says(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;

    // An "expired" event arrives before "completed", for a session the buyer
    // paid: the gateway's session says paid, so the order is paid.
    let (client, id, _) = pending(&app, &fx, 1).await;
    let cs = session_of(&fake, &id);
    let mut stale = fake.session_of(&id).unwrap();
    stale.status = "expired".into();
    let expired = fake.event_for(&stale, "checkout.session.expired");
    let completed = fake.complete(&cs, true);
    assert_eq!(fake.deliver(&expired).await, 200);
    assert_eq!(status(&app, &client, &id).await, "paid");
    assert_eq!(fake.deliver(&completed).await, 200);
    assert_eq!(status(&app, &client, &id).await, "paid");

    // A delayed payment: completed unpaid, then succeeded; a "failed" that
    // arrives after "succeeded" does not undo it.
    let (client2, id2, _) = pending(&app, &fx, 1).await;
    let cs2 = session_of(&fake, &id2);
    let unpaid = fake.complete(&cs2, false);
    assert_eq!(fake.deliver(&unpaid).await, 200);
    assert_eq!(
        status(&app, &client2, &id2).await,
        "pending_payment",
        "an unpaid completion pays nothing yet"
    );
    let stale_failed = fake.event(&cs2, "checkout.session.async_payment_failed");
    let succeeded = fake.settle_async(&cs2, true);
    assert_eq!(fake.deliver(&succeeded).await, 200);
    assert_eq!(fake.deliver(&stale_failed).await, 200);
    assert_eq!(status(&app, &client2, &id2).await, "paid");

    assert_eq!(sold(&app, &fx).await, 2);
    assert_all_invariants(&app.db).await;
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 2);
    app.finish().await;
}

async fn a_failed_delayed_payment_releases_the_hold_for_good(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 1, 100_000, 0).await;
    let (client, id, _) = pending(&app, &fx, 1).await;
    let cs = session_of(&fake, &id);
    let unpaid = fake.complete(&cs, false);
    assert_eq!(fake.deliver(&unpaid).await, 200);
    let stale_succeeded = fake.event(&cs, "checkout.session.async_payment_succeeded");
    let failed = fake.settle_async(&cs, false);
    assert_eq!(fake.deliver(&failed).await, 200);
    assert_eq!(status(&app, &client, &id).await, "expired");
    // Its stock is free again at once, and a stale "succeeded" (the gateway
    // still says unpaid) never revives the order.
    let (s, _) = post_hold(&app, &buyer(&app, "next").await, ga(&fx, 1)).await;
    assert_eq!(s, 201, "the released ticket can be held again");
    assert_eq!(fake.deliver(&stale_succeeded).await, 200);
    assert_eq!(status(&app, &client, &id).await, "expired");
    assert!(fake.refunds().is_empty());
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn a_payment_after_the_hold_was_released_and_resold_is_refunded_once(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 1, 100_000, 0).await;
    let (client, id, _) = pending(&app, &fx, 1).await;
    let cs = session_of(&fake, &id);
    // The hold runs out: the sweeper finds the session expired and releases
    // the ticket, which is sold on to someone else.
    app.advance(Duration::from_secs(32 * 60));
    sweep(&app).await;
    assert_eq!(status(&app, &client, &id).await, "expired");
    let (s, _) = post_hold(&app, &buyer(&app, "next").await, ga(&fx, 1)).await;
    assert_eq!(s, 201, "the released ticket is held again");

    // Then the gateway reports the money after all.
    let late = fake.complete_late(&cs);
    assert_eq!(fake.deliver(&late).await, 200);
    let again = fake.event(&cs, "checkout.session.completed");
    assert_eq!(fake.deliver(&again).await, 200);
    assert_eq!(fake.deliver(&late).await, 200);
    assert_eq!(
        status(&app, &client, &id).await,
        "cancelled",
        "never revived"
    );
    let refund_jobs = raw_i64(
        &app.db,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'refund_payment'",
    )
    .await;
    assert_eq!(refund_jobs, 1, "exactly one refund job");
    app.run_jobs().await;
    // Reconciliation sees the same completed session: still one refund.
    admit::services::payments::reconcile(&app.state, 3600)
        .await
        .unwrap();
    app.run_jobs().await;
    let refunds = fake.refunds();
    assert_eq!(refunds.len(), 1, "exactly one refund at the gateway");
    assert!(refunds[0].id.starts_with("re_fake_"));
    assert_eq!(refunds[0].amount, 107_500 * 100);
    assert_eq!(
        refunds[0].idempotency_key.as_deref(),
        Some(
            format!(
                "refund:{}",
                fake.session_of(&id).unwrap().payment_intent.unwrap()
            )
            .as_str()
        )
    );
    assert_eq!(confirmations(&app), 0, "nothing confirmed");
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn a_timed_out_session_creation_is_retried_with_the_same_key(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    // The first answer comes after the client's 1 s timeout.
    fake.delay_next_creates(1, Duration::from_secs(3));
    let (_, id, url) = pending(&app, &fx, 1).await;
    assert_eq!(fake.create_calls(), 2, "the timed-out call was sent again");
    assert_eq!(fake.sessions().len(), 1, "the fake saw one session");
    assert!(url.ends_with(&session_of(&fake, &id)));
    app.finish().await;
}

async fn an_unreachable_gateway_keeps_the_hold_and_payment_resumes_later(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    let client = buyer(&app, "patient").await;
    let (_, order) = post_hold(&app, &client, ga(&fx, 1)).await;
    let id = order["id"].as_str().unwrap().to_owned();
    // Every attempt of this start times out.
    fake.delay_next_creates(3, Duration::from_secs(2));
    let r = client
        .post(format!("{}/api/v1/orders/{id}/checkout", app.url))
        .json(&json!({"attendees": [{"name": "Ayu", "email": "ayu@example.test"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("stay held"),
        "{body}"
    );
    let (_, order) = get_json(&client, format!("{}/api/v1/orders/{id}", app.url)).await;
    assert_eq!(order["status"], "pending_payment");
    assert!(order["payment_url"].is_null());
    // The buyer tries again: the same session comes back (same key, same
    // parameters), and there is still only one.
    let r = client
        .post(format!("{}/api/v1/orders/{id}/checkout", app.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let order: Value = r.json().await.unwrap();
    assert_eq!(fake.sessions().len(), 1, "one session for the order");
    assert_eq!(
        order["payment_url"].as_str().unwrap(),
        format!(
            "https://checkout.stripe.test/c/pay/{}",
            session_of(&fake, &id)
        )
    );
    app.finish().await;
}

async fn the_sweeper_expires_the_session_before_releasing_the_hold(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 1, 100_000, 0).await;
    let (client, id, _) = pending(&app, &fx, 1).await;
    let cs = session_of(&fake, &id);
    app.advance(Duration::from_secs(32 * 60));
    // Past its end the hold still counts until the gateway has answered.
    assert_eq!(status(&app, &client, &id).await, "pending_payment");
    let (s, _) = post_hold(&app, &buyer(&app, "eager").await, ga(&fx, 1)).await;
    assert_eq!(s, 409, "not resold before the sweeper asked the gateway");
    sweep(&app).await;
    let asked = fake.requests();
    assert!(
        asked.contains(&format!("POST /v1/checkout/sessions/{cs}/expire")),
        "{asked:?}"
    );
    assert_eq!(fake.session_of(&id).unwrap().status, "expired");
    assert_eq!(status(&app, &client, &id).await, "expired");
    let (s, _) = post_hold(&app, &buyer(&app, "next").await, ga(&fx, 1)).await;
    assert_eq!(s, 201, "then the ticket is free");
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn the_sweeper_applies_a_payment_completed_before_the_end(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 1, 100_000, 0).await;
    let (client, id, _) = pending(&app, &fx, 1).await;
    // The buyer pays; the webhook never comes.
    fake.drop_webhooks(true);
    let body = fake.complete(&session_of(&fake, &id), true);
    assert_eq!(fake.deliver(&body).await, 0);
    app.advance(Duration::from_secs(32 * 60));
    sweep(&app).await;
    assert_eq!(status(&app, &client, &id).await, "paid");
    assert_eq!(sold(&app, &fx).await, 1);
    // The webhook arrives at last: nothing changes.
    fake.drop_webhooks(false);
    assert_eq!(fake.deliver(&body).await, 200);
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 1);
    assert!(fake.refunds().is_empty());
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn reconciliation_applies_a_dropped_webhook_exactly_once(backend: Backend) {
    let (app, fake) = spawn_with_stripe(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    let (client, id, _) = pending(&app, &fx, 1).await;
    let (client2, id2, _) = pending(&app, &fx, 1).await;
    fake.drop_webhooks(true);
    let body = fake.complete(&session_of(&fake, &id), true);
    assert_eq!(fake.deliver(&body).await, 0, "dropped");
    assert_eq!(status(&app, &client, &id).await, "pending_payment");
    // The reconciliation job runs on its schedule, twice.
    for _ in 0..2 {
        admit::jobs::schedule_periodic(&app.state).await.unwrap();
        app.run_jobs().await;
        app.advance(Duration::from_secs(
            u64::from(app.state.config.settings.reconcile_interval_secs) + 1,
        ));
    }
    assert_eq!(status(&app, &client, &id).await, "paid");
    assert_eq!(
        status(&app, &client2, &id2).await,
        "pending_payment",
        "an unpaid session is left alone"
    );
    assert_eq!(sold(&app, &fx).await, 1);
    assert_eq!(
        raw_i64(
            &app.db,
            "SELECT COUNT(*) FROM payment_events WHERE outcome = 'paid'"
        )
        .await,
        1,
        "applied exactly once"
    );
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 1);
    assert_all_invariants(&app.db).await;
    app.finish().await;
}
