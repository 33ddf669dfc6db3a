//! Holds through the REST API and the pages: who may hold, the tier's rules,
//! seats and best available, codes, replacing and releasing, and the pages
//! that show a hold counting down.

use std::time::Duration;

use admit::{
    domain::{
        EventStatus, Timestamp,
        codes::Discount,
        seats::{SeatKind, SeatSpec},
    },
    store::{NewTier, catalogue::NewSeat},
};
use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{
        Backend, Fixture, TestApp, assert_all_invariants, fixture, raw_i64, seat_map, spawn_app,
    },
};

both_backends!(
    a_verified_buyer_holds_reads_lists_and_releases_through_the_api,
    holds_are_for_verified_buyers_and_orders_are_private,
    a_hold_keeps_every_rule_of_the_tier,
    a_new_hold_replaces_the_buyers_earlier_one,
    seats_are_held_shown_live_and_refused_to_others,
    best_available_finds_seats_together_and_keeps_accessible_ones_together,
    a_code_use_is_reserved_with_the_hold_and_given_back_on_release,
    the_event_page_form_holds_and_the_order_page_counts_down,
    a_change_to_the_terms_reaches_the_next_hold_on_every_instance,
);

/// POSTs a hold; returns (status, body).
pub(crate) async fn post_hold(
    app: &TestApp,
    client: &reqwest::Client,
    body: Value,
) -> (u16, Value) {
    let r = client
        .post(format!("{}/api/v1/orders", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn get_json(client: &reqwest::Client, url: String) -> (u16, Value) {
    let r = client.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Posts a page's form to a server function as a browser does: HTML is
/// accepted, so the answer is a redirect.
pub(crate) async fn submit(
    client: &reqwest::Client,
    url: String,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(url)
        .header("accept", "text/html")
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// A page's HTML.
pub(crate) async fn page(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// A signed-in, verified buyer on a client of their own.
pub(crate) async fn buyer(app: &TestApp, name: &str) -> reqwest::Client {
    let client = app.new_client();
    app.verified_user(
        &client,
        &format!("{name}-{}@example.test", admit::store::new_id()),
    )
    .await;
    client
}

pub(crate) fn ga(fx: &Fixture, n: u32) -> Value {
    json!({"event_id": fx.event.as_str(), "tiers": [{"tier_id": fx.tier.as_str(), "quantity": n}]})
}

async fn available(app: &TestApp, fx: &Fixture) -> i64 {
    let (_, ev) = get_json(
        &app.client,
        format!("{}/api/v1/events/{}", app.url, fx.event.as_str()),
    )
    .await;
    ev["tiers"][0]["available"].as_i64().unwrap()
}

async fn a_verified_buyer_holds_reads_lists_and_releases_through_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 5, 150_000, 0).await;
    let client = buyer(&app, "ana").await;

    let (status, order) = post_hold(&app, &client, ga(&fx, 2)).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "reserved");
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    assert_eq!(order["subtotal_minor"], 300_000);
    // 5 % of 150,000 plus Rp 2,500, per ticket.
    assert_eq!(order["fee_minor"], 2 * (7_500 + 2_500));
    assert_eq!(order["total_minor"], 320_000);
    let remaining = order["remaining_ms"].as_i64().unwrap();
    assert!(
        (14 * 60_000..=15 * 60_000).contains(&remaining),
        "15 minutes: {remaining}"
    );
    assert_eq!(available(&app, &fx).await, 3, "the hold counts at once");

    let id = order["id"].as_str().unwrap();
    let (status, read) = get_json(&client, format!("{}/api/v1/orders/{id}", app.url)).await;
    assert_eq!((status, read["id"].as_str()), (200, Some(id)));
    let (_, list) = get_json(&client, format!("{}/api/v1/orders", app.url)).await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    let del = client
        .delete(format!("{}/api/v1/orders/{id}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    let (_, read) = get_json(&client, format!("{}/api/v1/orders/{id}", app.url)).await;
    assert_eq!(read["status"], "cancelled");
    assert_eq!(available(&app, &fx).await, 5, "released stock is back");
    // Releasing again changes nothing.
    let again = client
        .delete(format!("{}/api/v1/orders/{id}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 204);
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn holds_are_for_verified_buyers_and_orders_are_private(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 5, 150_000, 0).await;

    let (status, body) = post_hold(&app, &app.new_client(), ga(&fx, 1)).await;
    assert_eq!(status, 401, "{body}");

    let unverified = app.new_client();
    let r = unverified
        .post(format!("{}/api/v1/auth/register", app.url))
        .json(&json!({"name": "Nova", "email": "nova@example.test", "password": "Str0ng!pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (status, body) = post_hold(&app, &unverified, ga(&fx, 1)).await;
    assert_eq!(status, 403, "{body}");

    let owner = buyer(&app, "owner").await;
    let (_, order) = post_hold(&app, &owner, ga(&fx, 1)).await;
    let id = order["id"].as_str().unwrap();
    let other = buyer(&app, "other").await;
    let (status, _) = get_json(&other, format!("{}/api/v1/orders/{id}", app.url)).await;
    assert_eq!(status, 404, "someone else's order is not found");
    let del = other
        .delete(format!("{}/api/v1/orders/{id}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 404);
    let (status, _) = get_json(&owner, format!("{}/api/v1/orders/not-an-id", app.url)).await;
    assert_eq!(status, 404);
    let (status, _) = get_json(&app.new_client(), format!("{}/api/v1/orders", app.url)).await;
    assert_eq!(status, 401);
    app.finish().await;
}

async fn a_hold_keeps_every_rule_of_the_tier(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = app.now();
    let fx = fixture(app.store(), now, 3, 150_000, 0).await;
    let client = buyer(&app, "rules").await;
    let tier = |name: &str,
                hidden: bool,
                ends: Option<Timestamp>,
                early: Option<(i64, Timestamp)>| NewTier {
        event_id: fx.event.clone(),
        name: name.into(),
        description: String::new(),
        price_minor: 100_000,
        max_per_order: 4,
        sale_starts_at: None,
        sale_ends_at: ends,
        hidden,
        position: 1,
        early_bird: early,
        quota_ids: vec![fx.quota.clone()],
    };
    let hidden = app
        .store()
        .create_tier(tier("Crew", true, None, None))
        .await
        .unwrap();
    let closed = app
        .store()
        .create_tier(tier(
            "Door",
            false,
            Some(Timestamp::from_millis(now.as_millis() - 60_000)),
            None,
        ))
        .await
        .unwrap();
    let early = app
        .store()
        .create_tier(tier(
            "Early",
            false,
            None,
            Some((80_000, now.plus_minutes(60))),
        ))
        .await
        .unwrap();

    let refused = |status: u16, body: &Value, expected: &str| {
        assert_eq!(body["error"], expected, "status {status}");
    };
    let (s, b) = post_hold(&app, &client, ga(&fx, 0)).await;
    assert_eq!(s, 422);
    refused(s, &b, "Pick at least one ticket.");
    let (s, b) = post_hold(&app, &client, ga(&fx, 11)).await;
    assert_eq!(s, 422);
    refused(
        s,
        &b,
        "You can take at most 10 Regular tickets in one order.",
    );
    let (s, b) = post_hold(&app, &client, ga(&fx, 4)).await;
    assert_eq!(s, 409);
    refused(s, &b, "Only 3 Regular tickets left.");
    let pick = |t: &admit::domain::TierId, code: Option<&str>| json!({"event_id": fx.event.as_str(), "tiers": [{"tier_id": t.as_str(), "quantity": 1}], "code": code});
    let (s, b) = post_hold(&app, &client, pick(&hidden, None)).await;
    assert_eq!(s, 422);
    refused(s, &b, "That ticket type is not part of this event.");
    let (s, b) = post_hold(&app, &client, pick(&closed, None)).await;
    assert_eq!(s, 422);
    refused(s, &b, "Door tickets are not on sale right now.");
    let (s, b) = post_hold(&app, &client, pick(&fx.tier, Some("NOPE"))).await;
    assert_eq!(s, 422);
    refused(s, &b, "This code is not valid for this event.");
    let (s, b) = post_hold(
        &app,
        &client,
        json!({"event_id": fx.event.as_str(), "tiers": [{"tier_id": "0197aaaa-0000-7000-8000-000000000000", "quantity": 1}]}),
    )
    .await;
    assert_eq!(s, 422, "{b}");

    // A code that unlocks the hidden tier lets it be held.
    crate::helpers::create_code(
        &app,
        &fx.event,
        "CREW",
        Discount::None,
        vec![hidden.to_string()],
        (None, None),
    )
    .await;
    let (s, b) = post_hold(&app, &client, pick(&hidden, Some("crew"))).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["code"], "CREW");

    // The early-bird price is the one held.
    let (s, b) = post_hold(&app, &client, pick(&early, None)).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["items"][0]["price_minor"], 80_000);

    // Not on sale at all once the event is no longer published.
    app.store()
        .set_event_status(&fx.event, EventStatus::Draft, now)
        .await
        .unwrap();
    let (s, _) = post_hold(&app, &client, ga(&fx, 1)).await;
    assert_eq!(s, 404);
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn a_new_hold_replaces_the_buyers_earlier_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 5, 150_000, 0).await;
    let client = buyer(&app, "again").await;
    let (_, first) = post_hold(&app, &client, ga(&fx, 3)).await;
    let (s, second) = post_hold(&app, &client, ga(&fx, 1)).await;
    assert_eq!(s, 201);
    assert_ne!(first["id"], second["id"]);
    let (_, first) = get_json(
        &client,
        format!(
            "{}/api/v1/orders/{}",
            app.url,
            first["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        first["status"], "cancelled",
        "the earlier hold was released"
    );
    assert_eq!(available(&app, &fx).await, 4);
    let (_, list) = get_json(&client, format!("{}/api/v1/orders", app.url)).await;
    let statuses: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["reserved", "cancelled"], "newest first");
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn seats_are_held_shown_live_and_refused_to_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 20, 200_000, 0).await;
    let seats = seat_map(app.store(), &fx.event, &fx.tier, 2, 10).await;
    let ana = buyer(&app, "ana").await;
    let ben = buyer(&app, "ben").await;

    let (s, order) = post_hold(
        &app,
        &ana,
        json!({"event_id": fx.event.as_str(), "seats": [seats[0], seats[1]]}),
    )
    .await;
    assert_eq!(s, 201, "{order}");
    let labels: Vec<&str> = order["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["seat"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Stalls A1", "Stalls A2"]);
    assert_eq!(order["subtotal_minor"], 400_000);

    let status_url = format!(
        "{}/api/v1/events/{}/seats/status",
        app.url,
        fx.event.as_str()
    );
    let (_, mine) = get_json(&ana, status_url.clone()).await;
    let held: Vec<&str> = mine["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        held.len() == 2 && held.contains(&seats[0].as_str()) && held.contains(&seats[1].as_str())
    );
    assert_eq!(mine["mine"].as_array().unwrap().len(), 2);
    let (_, theirs) = get_json(&ben, status_url.clone()).await;
    assert_eq!(theirs["held"].as_array().unwrap().len(), 2);
    assert!(theirs["mine"].as_array().unwrap().is_empty());

    let (s, b) = post_hold(
        &app,
        &ben,
        json!({"event_id": fx.event.as_str(), "seats": [seats[1], seats[2]]}),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(
        b["error"],
        "Seat Stalls A2 was just taken. Please pick another seat."
    );
    let (s, b) = post_hold(&app, &ben, ga(&fx, 1)).await;
    assert_eq!(s, 422);
    assert_eq!(b["error"], "Pick Regular seats on the seat map.");

    // The event page shows the held seats to everyone.
    let slug = raw_text_slug(&app, &fx).await;
    let (_, html) = app.get_text(&format!("/events/{slug}")).await;
    let held = html.matches("data-status=\"held\"").count();
    assert_eq!(held, 2, "two seats show as held");
    assert_eq!(available(&app, &fx).await, 18);

    // Without WASM the map is a form of checkboxes: ticked seats post as `seat`.
    let r = ben
        .post(format!("{}/events/{slug}", app.url))
        .form(&[
            ("seat", seats[5].as_str()),
            ("seat", seats[6].as_str()),
            ("action", "hold"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the seat form holds");
    let (_, list) = get_json(&ben, format!("{}/api/v1/orders", app.url)).await;
    assert_eq!(list[0]["items"][1]["seat"], "Stalls A7");
    let (s, _) = post_hold(
        &app,
        &ben,
        json!({"event_id": fx.event.as_str(), "seats": [seats[7]]}),
    )
    .await;
    assert_eq!(s, 201, "a new hold replaces the form's");

    // The hold runs out: the seats are free again at once.
    app.advance(Duration::from_secs(15 * 60 + 1));
    let (_, after) = get_json(&ben, status_url).await;
    assert!(after["held"].as_array().unwrap().is_empty());
    let (s, _) = post_hold(
        &app,
        &ben,
        json!({"event_id": fx.event.as_str(), "seats": [seats[1]]}),
    )
    .await;
    assert_eq!(s, 201);
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn raw_text_slug(app: &TestApp, fx: &Fixture) -> String {
    crate::helpers::raw_text(
        &app.db,
        &format!("SELECT slug FROM events WHERE id = '{}'", fx.event.as_str()),
    )
    .await
}

async fn best_available_finds_seats_together_and_keeps_accessible_ones_together(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 20, 100_000, 0).await;
    let spec = |row: &str, number: u32, kind: SeatKind| NewSeat {
        spec: SeatSpec {
            section: "Stalls".into(),
            row: row.into(),
            number,
            kind,
            blocked: false,
            tier: String::new(),
        },
        tier_id: Some(fx.tier.to_string()),
    };
    let mut map = vec![
        spec("A", 1, SeatKind::Wheelchair),
        spec("A", 2, SeatKind::Companion),
    ];
    map.extend((3..=6).map(|n| spec("A", n, SeatKind::Standard)));
    map.extend((1..=6).map(|n| spec("B", n, SeatKind::Standard)));
    app.store().replace_seats(&fx.event, &map).await.unwrap();
    let best = |n: u32, accessible: bool, section: &str| json!({"event_id": fx.event.as_str(), "best_available": {"section": section, "quantity": n, "accessible": accessible}});
    let seats_of = |order: &Value| -> Vec<String> {
        order["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["seat"].as_str().unwrap().to_owned())
            .collect()
    };

    let (s, first) = post_hold(&app, &buyer(&app, "one").await, best(3, false, "Stalls")).await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(seats_of(&first), ["Stalls A3", "Stalls A4", "Stalls A5"]);
    let (_, second) = post_hold(&app, &buyer(&app, "two").await, best(3, false, "Stalls")).await;
    assert_eq!(seats_of(&second), ["Stalls B2", "Stalls B3", "Stalls B4"]);

    let wheel = buyer(&app, "wheel").await;
    let (s, b) = post_hold(&app, &wheel, best(3, true, "Stalls")).await;
    assert_eq!(s, 409);
    assert_eq!(
        b["error"],
        "There is no free wheelchair space with 2 seat(s) beside it in Stalls right now."
    );
    let (s, together) = post_hold(&app, &wheel, best(2, true, "Stalls")).await;
    assert_eq!(s, 201);
    assert_eq!(seats_of(&together), ["Stalls A1", "Stalls A2"]);

    let (s, b) = post_hold(&app, &wheel, best(2, false, "Balcony")).await;
    assert_eq!(s, 422);
    assert_eq!(b["error"], "There is no section \"Balcony\" on this map.");
    let (s, b) = post_hold(&app, &buyer(&app, "crowd").await, best(4, false, "Stalls")).await;
    assert_eq!(s, 409, "{b}");
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn a_code_use_is_reserved_with_the_hold_and_given_back_on_release(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 100_000, 0).await;
    let code = crate::helpers::create_code(
        &app,
        &fx.event,
        "SAVE10",
        Discount::Percent(10),
        vec![],
        (Some(2), Some(1)),
    )
    .await;
    let uses_sql = format!("SELECT uses FROM codes WHERE id = '{code}'");
    let uses = || raw_i64(&app.db, &uses_sql);
    let with_code = json!({"event_id": fx.event.as_str(), "tiers": [{"tier_id": fx.tier.as_str(), "quantity": 1}], "code": "save10"});
    let ana = buyer(&app, "ana").await;
    let (s, order) = post_hold(&app, &ana, with_code.clone()).await;
    assert_eq!(s, 201, "{order}");
    assert_eq!(uses().await, 1);
    // The discount is fixed with the hold; the fee is 5 % of what is left plus Rp 2,500.
    assert_eq!(
        (
            &order["discount_minor"],
            &order["fee_minor"],
            &order["total_minor"]
        ),
        (&json!(10_000), &json!(4_500 + 2_500), &json!(97_000))
    );
    // A new hold by the same buyer replaces the old one: still one use.
    let (s, order) = post_hold(&app, &ana, with_code.clone()).await;
    assert_eq!(s, 201, "{order}");
    assert_eq!(uses().await, 1);
    let (s, _) = post_hold(&app, &buyer(&app, "ben").await, with_code.clone()).await;
    assert_eq!(s, 201);
    let (s, b) = post_hold(&app, &buyer(&app, "cy").await, with_code.clone()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (422, Some("The code SAVE10 has been used up."))
    );
    let del = ana
        .delete(format!(
            "{}/api/v1/orders/{}",
            app.url,
            order["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(uses().await, 1, "the released use is given back");
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

async fn the_event_page_form_holds_and_the_order_page_counts_down(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 5, 150_000, 0).await;
    let slug = raw_text_slug(&app, &fx).await;
    let form = |n: &str| {
        vec![
            (format!("qty.{}", fx.tier.as_str()), n.to_owned()),
            ("action".to_owned(), "hold".to_owned()),
        ]
    };
    // Anonymous visitors are sent to sign in, and back.
    let r = app
        .new_client()
        .post(format!("{}/events/{slug}", app.url))
        .form(&form("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/signin?next=%2Fevents%2F{slug}").as_str()
    );

    let client = buyer(&app, "page").await;
    let r = client
        .post(format!("{}/events/{slug}", app.url))
        .form(&form("9"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "a refusal renders the page again");
    let html = r.text().await.unwrap();
    assert!(html.contains("data-testid=\"hold-error\""));
    assert!(html.contains("Only 5 Regular tickets left."));

    let r = client
        .post(format!("{}/events/{slug}", app.url))
        .form(&form("2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/orders/"), "{location}");
    let id = location.trim_start_matches("/orders/").to_owned();

    let html = page(&client, format!("{}{location}", app.url)).await;
    assert!(
        html.contains("data-testid=\"countdown-time\""),
        "a countdown"
    );
    assert!(
        html.contains(">15:00<") || html.contains(">14:59<"),
        "15 minutes left"
    );
    assert_eq!(html.matches("data-testid=\"order-item\"").count(), 2);
    let list = page(&client, format!("{}/orders", app.url)).await;
    assert!(list.contains(&format!("/orders/{id}")));
    let anonymous = app
        .new_client()
        .get(format!("{}{location}", app.url))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        302,
        "anonymous visitors are sent to sign in"
    );

    // Release from the order page: back to the event, stock returned.
    let r = submit(
        &client,
        format!("{}/_fn/orders/release", app.url),
        &[("id", id.as_str()), ("event_slug", slug.as_str())],
    )
    .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    assert_eq!(
        r.headers()["location"],
        format!("/events/{slug}?notice=released").as_str()
    );
    assert_eq!(available(&app, &fx).await, 5);

    // A hold that runs out reads as ended, without any sweeper.
    let r = client
        .post(format!("{}/events/{slug}", app.url))
        .form(&form("1"))
        .send()
        .await
        .unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    app.advance(Duration::from_secs(16 * 60));
    let html = page(&client, format!("{}{location}", app.url)).await;
    assert!(html.contains("data-status=\"expired\""));
    assert!(html.contains("data-testid=\"hold-ended\""));
    assert_all_invariants(&app.db).await;
    app.finish().await;
}

/// Each instance keeps the hold terms it read while their version (bumped
/// by the database on every change) stays the same. A change made anywhere,
/// even by hand in SQL, reaches the next hold on both instances.
async fn a_change_to_the_terms_reaches_the_next_hold_on_every_instance(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut other = crate::helpers::spawn_app_with(
        backend,
        crate::helpers::SpawnOptions {
            db: Some(app.db.clone()),
            ..crate::helpers::SpawnOptions::default()
        },
    )
    .await;
    let fx = fixture(app.store(), app.now(), 100, 100_000, 0).await;
    let here = buyer(&app, "here").await;
    let there = buyer(&other, "there").await;
    // Both instances read and keep the terms.
    for (instance, client) in [(&app, &here), (&other, &there)] {
        let (s, b) = post_hold(instance, client, ga(&fx, 2)).await;
        assert_eq!(s, 201, "{b}");
    }
    // The organizer's limit drops to one per order (here, by hand).
    crate::helpers::raw_execute(
        &app.db,
        &format!(
            "UPDATE tiers SET max_per_order = 1 WHERE id = '{}'",
            fx.tier.as_str()
        ),
    )
    .await
    .unwrap();
    for (instance, client) in [(&app, &here), (&other, &there)] {
        let (s, b) = post_hold(instance, client, ga(&fx, 2)).await;
        assert_eq!(s, 422, "{b}");
        assert!(
            b["error"].as_str().unwrap_or("").contains("at most 1"),
            "{b}"
        );
        let (s, b) = post_hold(instance, client, ga(&fx, 1)).await;
        assert_eq!(s, 201, "{b}");
    }
    // The limit rises to three: the terms each instance kept (one per order)
    // would refuse, but a refusal on kept terms is not given if they moved on.
    crate::helpers::raw_execute(
        &app.db,
        &format!(
            "UPDATE tiers SET max_per_order = 3 WHERE id = '{}'",
            fx.tier.as_str()
        ),
    )
    .await
    .unwrap();
    for (instance, client) in [(&app, &here), (&other, &there)] {
        let (s, b) = post_hold(instance, client, ga(&fx, 3)).await;
        assert_eq!(s, 201, "{b}");
    }
    // The event goes back to draft: no instance takes holds on it.
    crate::helpers::raw_execute(
        &app.db,
        &format!(
            "UPDATE events SET status = 'draft' WHERE id = '{}'",
            fx.event.as_str()
        ),
    )
    .await
    .unwrap();
    for (instance, client) in [(&app, &here), (&other, &there)] {
        let (s, b) = post_hold(instance, client, ga(&fx, 1)).await;
        assert_eq!(s, 404, "{b}");
    }
    other.shutdown().await;
    app.finish().await;
}
