//! Payments through the simulated gateway and the webhook: one signed event
//! pays an order once however often it arrives, bad signatures change
//! nothing, and money that comes after the hold was given up is refunded once.

use std::{sync::Arc, time::Duration};

use admit::integrations::webhook_signature::sign;
use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{
        Backend, Fixture, TestApp, assert_all_invariants, fixture, raw_i64, sent_mail, spawn_app,
    },
    holds::{buyer, ga, get_json, page, post_hold, submit},
};

both_backends!(
    the_simulated_gateway_takes_an_order_from_checkout_to_paid,
    the_same_event_five_times_in_a_row_and_at_once_pays_once,
    webhooks_with_bad_signatures_change_nothing,
    out_of_order_events_end_as_the_gateway_says,
    a_payment_after_the_hold_was_released_is_refunded_once,
);

/// A held, checked-out order waiting for payment: (client, order id, session).
async fn pending(app: &TestApp, fx: &Fixture) -> (reqwest::Client, String, String) {
    let client = buyer(app, "payer").await;
    let (_, order) = post_hold(app, &client, ga(fx, 1)).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let r = client
        .post(format!("{}/api/v1/orders/{id}/checkout", app.url))
        .json(&json!({"attendees": [{"name": "Ayu", "email": "ayu@example.test"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let order: Value = r.json().await.unwrap();
    assert_eq!(order["status"], "pending_payment");
    let url = order["payment_url"].as_str().unwrap();
    let session = url.rsplit('/').next().unwrap().to_owned();
    (client, id, session)
}

fn event(id: &str, kind: &str, session: &str, order: &str, payment_status: &str) -> String {
    json!({
        "id": id, "object": "event", "api_version": "2024-06-20", "created": 0, "type": kind,
        "data": {"object": {"id": session, "object": "checkout.session", "client_reference_id": order,
            "payment_status": payment_status, "status": "complete", "amount_total": 107_500,
            "currency": "idr", "payment_intent": format!("pi_{order}")}}
    })
    .to_string()
}

/// POSTs a webhook signed `age` seconds ago (None: no signature header).
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

fn signed(app: &TestApp, body: &str, age: i64) -> Option<String> {
    let secret = admit::services::payments::webhook_secret(&app.state);
    Some(sign(
        &secret,
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

async fn the_simulated_gateway_takes_an_order_from_checkout_to_paid(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    let (client, id, session) = pending(&app, &fx).await;
    assert!(session.starts_with("cs_sim_"));
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
    assert_all_invariants(&app.db).await;
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 1);
    // Someone else cannot open the page.
    let html = page(
        &buyer(&app, "other").await,
        format!("{}/pay/sim/{session}", app.url),
    )
    .await;
    assert!(!html.contains("data-testid=\"sim-pay\""));
    app.finish().await;
}

async fn the_same_event_five_times_in_a_row_and_at_once_pays_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    let (client, id, session) = pending(&app, &fx).await;
    let body = event(
        "evt_dup",
        "checkout.session.completed",
        &session,
        &id,
        "paid",
    );
    for _ in 0..5 {
        assert_eq!(deliver(&app, &body, signed(&app, &body, 0)).await, 200);
    }
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (app, body) = (app.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let sig = signed(&app, &body, 0);
            deliver(&app, &body, sig).await
        }));
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
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 1, "one email");
    assert_all_invariants(&app.db).await;
    Arc::into_inner(app).expect("no other owner").finish().await;
}

async fn webhooks_with_bad_signatures_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    let (client, id, session) = pending(&app, &fx).await;
    let body = event(
        "evt_sig",
        "checkout.session.completed",
        &session,
        &id,
        "paid",
    );
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
        1
    );
    app.run_jobs().await;
    app.finish().await;
}

async fn out_of_order_events_end_as_the_gateway_says(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 5, 100_000, 0).await;
    let (client, id, session) = pending(&app, &fx).await;
    // "expired" arrives before "completed": the completed session is paid.
    let expired = event(
        "evt_exp",
        "checkout.session.expired",
        &session,
        &id,
        "unpaid",
    );
    assert_eq!(
        deliver(&app, &expired, signed(&app, &expired, 0)).await,
        200
    );
    assert_eq!(status(&app, &client, &id).await, "pending_payment");
    let succeeded = event(
        "evt_ok",
        "checkout.session.async_payment_succeeded",
        &session,
        &id,
        "paid",
    );
    assert_eq!(
        deliver(&app, &succeeded, signed(&app, &succeeded, 0)).await,
        200
    );
    // "failed" after "succeeded" does not undo the payment.
    let failed = event(
        "evt_fail",
        "checkout.session.async_payment_failed",
        &session,
        &id,
        "unpaid",
    );
    assert_eq!(deliver(&app, &failed, signed(&app, &failed, 0)).await, 200);
    assert_eq!(status(&app, &client, &id).await, "paid");
    // An unpaid completion (async payment still running) pays nothing.
    let (client2, id2, session2) = pending(&app, &fx).await;
    let unpaid = event(
        "evt_unpaid",
        "checkout.session.completed",
        &session2,
        &id2,
        "unpaid",
    );
    assert_eq!(deliver(&app, &unpaid, signed(&app, &unpaid, 0)).await, 200);
    assert_eq!(status(&app, &client2, &id2).await, "pending_payment");
    assert_all_invariants(&app.db).await;
    app.run_jobs().await;
    app.finish().await;
}

async fn a_payment_after_the_hold_was_released_is_refunded_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 1, 100_000, 0).await;
    let (client, id, session) = pending(&app, &fx).await;
    // The hold runs out and its ticket is sold on to someone else.
    app.advance(Duration::from_secs(32 * 60));
    app.store().release_expired_holds(app.now()).await.unwrap();
    let (s, _) = post_hold(&app, &buyer(&app, "next").await, ga(&fx, 1)).await;
    assert_eq!(s, 201, "the released ticket is held again");

    let body = event(
        "evt_late",
        "checkout.session.completed",
        &session,
        &id,
        "paid",
    );
    assert_eq!(deliver(&app, &body, signed(&app, &body, 0)).await, 200);
    let again = event(
        "evt_late_2",
        "checkout.session.completed",
        &session,
        &id,
        "paid",
    );
    assert_eq!(deliver(&app, &again, signed(&app, &again, 0)).await, 200);
    assert_eq!(deliver(&app, &body, signed(&app, &body, 0)).await, 200);
    assert_eq!(
        status(&app, &client, &id).await,
        "cancelled",
        "never revived"
    );
    let refunds = raw_i64(
        &app.db,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'refund_payment'",
    )
    .await;
    assert_eq!(refunds, 1, "exactly one refund");
    assert_eq!(app.run_jobs().await, 1);
    let done = raw_i64(
        &app.db,
        "SELECT COUNT(*) FROM jobs WHERE kind = 'refund_payment' AND status = 'done'",
    )
    .await;
    assert_eq!(done, 1);
    assert_all_invariants(&app.db).await;
    app.finish().await;
}
