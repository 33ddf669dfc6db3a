//! Checkout's details step and free orders: a name and an email per ticket,
//! the bill accepted, and a free order (also through a 100 % code) paid at
//! once without any gateway, its stock sold and its confirmation emailed once.

use std::time::Duration;

use admit::domain::codes::Discount;
use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, assert_all_invariants, fixture, raw_i64, sent_mail, spawn_app},
    holds::{buyer, ga, get_json, page, post_hold, submit},
};

both_backends!(
    a_free_order_is_paid_at_checkout_and_confirmed_once,
    a_hundred_percent_code_makes_the_order_free,
    checkout_asks_for_every_ticket_and_refuses_ended_holds,
    the_order_page_confirms_a_free_order_without_javascript,
);

fn attendees(n: usize) -> Value {
    json!({"attendees": (0..n).map(|i| json!({"name": format!("Guest {i}"), "email": format!("guest{i}@example.test")})).collect::<Vec<_>>()})
}

async fn checkout(app: &TestApp, client: &reqwest::Client, id: &str, body: Value) -> (u16, Value) {
    let r = client
        .post(format!("{}/api/v1/orders/{id}/checkout", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn confirmations(app: &TestApp) -> usize {
    sent_mail(app)
        .iter()
        .filter(|m| m.contains("Subject: Your tickets for"))
        .count()
}

async fn a_free_order_is_paid_at_checkout_and_confirmed_once(backend: Backend) {
    // Stripe is configured, and never called.
    let (app, stripe) =
        crate::fake_stripe::spawn_with_stripe(backend, crate::helpers::SpawnOptions::default())
            .await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let client = buyer(&app, "free").await;
    let (_, order) = post_hold(&app, &client, ga(&fx, 2)).await;
    assert_eq!(
        (&order["fee_minor"], &order["total_minor"]),
        (&json!(0), &json!(0)),
        "free tickets carry no fee"
    );
    let id = order["id"].as_str().unwrap();

    let (s, paid) = checkout(&app, &client, id, attendees(2)).await;
    assert_eq!(s, 200, "{paid}");
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["items"][1]["attendee_name"], "Guest 1");
    let sold = raw_i64(
        &app.db,
        &format!("SELECT sold FROM quotas WHERE id = '{}'", fx.quota.as_str()),
    )
    .await;
    assert_eq!(sold, 2, "the held stock is sold");
    assert_all_invariants(&app.db).await;

    // Checking out again changes nothing and sends nothing more.
    let (s, _) = checkout(&app, &client, id, attendees(2)).await;
    assert_eq!(s, 409);
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 1, "one confirmation email");
    let (_, read) = get_json(&client, format!("{}/api/v1/orders/{id}", app.url)).await;
    assert_eq!(read["status"], "paid");
    // A paid order is not released.
    let del = client
        .delete(format!("{}/api/v1/orders/{id}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 409);
    assert_eq!(stripe.requests(), Vec::<String>::new(), "no gateway call");
    app.finish().await;
}

async fn a_hundred_percent_code_makes_the_order_free(backend: Backend) {
    // Stripe is configured, and never called.
    let (app, stripe) =
        crate::fake_stripe::spawn_with_stripe(backend, crate::helpers::SpawnOptions::default())
            .await;
    let fx = fixture(app.store(), app.now(), 10, 250_000, 0).await;
    crate::helpers::create_code(
        &app,
        &fx.event,
        "COMP",
        Discount::Percent(100),
        vec![],
        (Some(1), None),
    )
    .await;
    let client = buyer(&app, "comp").await;
    let (_, order) = post_hold(
        &app,
        &client,
        json!({"event_id": fx.event.as_str(), "tiers": [{"tier_id": fx.tier.as_str(), "quantity": 1}], "code": "comp"}),
    )
    .await;
    assert_eq!(
        (
            &order["subtotal_minor"],
            &order["discount_minor"],
            &order["fee_minor"],
            &order["total_minor"]
        ),
        (&json!(250_000), &json!(250_000), &json!(0), &json!(0))
    );
    let (s, paid) = checkout(&app, &client, order["id"].as_str().unwrap(), attendees(1)).await;
    assert_eq!((s, paid["status"].as_str()), (200, Some("paid")));
    assert_all_invariants(&app.db).await;
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 1);
    assert_eq!(stripe.requests(), Vec::<String>::new(), "no gateway call");
    app.finish().await;
}

async fn checkout_asks_for_every_ticket_and_refuses_ended_holds(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 100_000, 0).await;
    let client = buyer(&app, "details").await;
    let (_, order) = post_hold(&app, &client, ga(&fx, 2)).await;
    let id = order["id"].as_str().unwrap();

    let (s, b) = checkout(&app, &client, id, attendees(1)).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (
            422,
            Some("Enter a name and an email for each of the 2 tickets.")
        )
    );
    let mut bad = attendees(2);
    bad["attendees"][1]["email"] = json!("not-an-email");
    let (s, b) = checkout(&app, &client, id, bad).await;
    assert_eq!(s, 422);
    assert_eq!(
        b["error"],
        "Ticket 2: enter a valid email address, like name@example.com."
    );
    let mut blank = attendees(2);
    blank["attendees"][0]["name"] = json!("  ");
    let (s, _) = checkout(&app, &client, id, blank).await;
    assert_eq!(s, 422);
    let (s, _) = checkout(&app, &buyer(&app, "stranger").await, id, attendees(2)).await;
    assert_eq!(s, 404, "someone else's order is not found");

    // A priced order keeps its details and bill and goes on to payment.
    let (s, saved) = checkout(&app, &client, id, attendees(2)).await;
    assert_eq!(
        (s, saved["status"].as_str()),
        (200, Some("pending_payment")),
        "{saved}"
    );
    assert!(
        saved["payment_url"]
            .as_str()
            .unwrap()
            .contains("/pay/sim/cs_sim_")
    );
    assert_eq!(saved["items"][0]["attendee_email"], "guest0@example.test");
    let total = raw_i64(
        &app.db,
        &format!("SELECT total_minor FROM orders WHERE id = '{id}'"),
    )
    .await;
    assert_eq!(total, 2 * (100_000 + 5_000 + 2_500));

    let (s, b) = checkout(&app, &client, id, attendees(2)).await;
    assert_eq!(s, 409, "payment has started: {b}");

    // A hold that ran out cannot be checked out.
    let (_, second) = post_hold(&app, &client, ga(&fx, 1)).await;
    app.advance(Duration::from_secs(15 * 60 + 1));
    let (s, b) = checkout(&app, &client, second["id"].as_str().unwrap(), attendees(1)).await;
    assert_eq!(s, 409, "{b}");
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn the_order_page_confirms_a_free_order_without_javascript(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let client = buyer(&app, "page").await;
    let (_, order) = post_hold(&app, &client, ga(&fx, 2)).await;
    let id = order["id"].as_str().unwrap();
    let html = page(&client, format!("{}/orders/{id}", app.url)).await;
    assert!(html.contains("data-testid=\"checkout-form\""));
    assert_eq!(html.matches("data-testid=\"attendee-name\"").count(), 2);

    let r = submit(
        &client,
        format!("{}/_fn/orders/checkout", app.url),
        &[
            ("id", id),
            ("input[attendees][0][name]", "Ayu"),
            ("input[attendees][0][email]", "ayu@example.test"),
            ("input[attendees][1][name]", "Budi"),
            ("input[attendees][1][email]", "budi@example.test"),
        ],
    )
    .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(
        r.headers()["location"],
        format!("/orders/{id}?notice=confirmed").as_str()
    );
    let html = page(&client, format!("{}/orders/{id}?notice=confirmed", app.url)).await;
    assert!(html.contains("data-status=\"paid\""));
    assert!(html.contains(">Budi<"));
    assert!(!html.contains("data-testid=\"checkout-form\""));
    app.run_jobs().await;
    assert_eq!(confirmations(&app), 1);
    app.finish().await;
}
