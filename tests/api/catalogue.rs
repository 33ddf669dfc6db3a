//! Organizers managing events, quotas and tiers through the REST API.

use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, raw_text, spawn_app, spawn_app_with},
};

both_backends!(
    an_owner_builds_an_event_with_two_tiers_sharing_a_quota_and_publishes_it,
    slugs_stay_unique_when_titles_repeat,
    a_quota_cannot_shrink_below_what_is_held,
    an_event_with_holds_cannot_be_unpublished_or_deleted,
    an_event_in_a_currency_without_a_fee_rule_cannot_be_published,
    another_organizer_can_neither_see_nor_change_a_draft,
    bad_event_input_gets_a_clear_message,
    markdown_renders_and_script_never_reaches_the_page,
    an_access_code_reveals_a_hidden_tier,
    the_dashboard_forms_build_and_publish_an_event_without_javascript,
    only_events_without_orders_can_be_cancelled_and_unused_quotas_deleted,
);

async fn only_events_without_orders_can_be_cancelled_and_unused_quotas_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = owner_of_x(&app).await;
    let event = create(&app, "/api/v1/events", event_body(&org, "Maybe Not")).await;
    let used = create(
        &app,
        &format!("/api/v1/events/{event}/quotas"),
        json!({"name": "Used", "size": 5}),
    )
    .await;
    let spare = create(
        &app,
        &format!("/api/v1/events/{event}/quotas"),
        json!({"name": "Spare", "size": 5}),
    )
    .await;
    create(
        &app,
        &format!("/api/v1/events/{event}/tiers"),
        json!({"name": "Regular", "price_minor": 1, "quota_ids": [used]}),
    )
    .await;
    let del = |q: String| {
        let c = app.client.clone();
        let url = format!("{}/api/v1/events/{event}/quotas/{q}", app.url);
        async move { c.delete(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(del(used.clone()).await, 409, "a tier draws on it");
    assert_eq!(del(spare.clone()).await, 204);
    assert_eq!(del(spare).await, 404);

    let mut body = event_body(&org, "Maybe Not");
    body["status"] = json!("cancelled");
    assert_eq!(
        app.client
            .put(format!("{}/api/v1/events/{event}", app.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        raw_text(
            &app.db,
            &format!("SELECT status FROM events WHERE id = '{event}'")
        )
        .await,
        "cancelled"
    );

    // An event with orders cannot be cancelled yet (refunds come later).
    let sold = raw_text(
        &app.db,
        &format!("SELECT id FROM events WHERE org_id = '{org}' AND slug = 'java-jazz-night'"),
    )
    .await;
    let tier = raw_text(
        &app.db,
        &format!("SELECT id FROM tiers WHERE event_id = '{sold}' LIMIT 1"),
    )
    .await;
    let buyer = raw_text(
        &app.db,
        "SELECT id FROM users WHERE email = 'attendee1@admit.test'",
    )
    .await;
    crate::helpers::hold(&app, &sold, &tier, &buyer, 1).await;
    let r = admit::services::events::cancel_event(
        &app.state,
        &crate::helpers::identity_of(&app, "owner@jakarta-live.test").await,
        &admit::domain::EventId::from_string(sold),
    )
    .await;
    assert_eq!(
        r.unwrap_err().to_string(),
        "This event has orders; cancelling it needs refunds, which are not available yet."
    );
    app.finish().await;
}

async fn form(app: &TestApp, path: &str, body: &str) -> String {
    let r = app
        .client
        .post(format!("{}{path}", app.url))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "{path} redirects");
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(!to.contains("error="), "{path} was refused: {to}");
    to
}

async fn the_dashboard_forms_build_and_publish_an_event_without_javascript(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = owner_of_x(&app).await;
    let (status, dash) = app.get_text("/organizer").await;
    assert_eq!(status, 200);
    assert!(dash.contains(&format!("/organizer/events/new?org={org}")));

    let enc = |s: &str| serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_owned();
    let fields = format!(
        "org_id={org}&input[title]={}&input[description]={}&input[category]=arts&input[venue]=Gedung+Kesenian&input[city]=Jakarta\
         &input[address]=&input[starts_at]=2030-05-01T19:00&input[ends_at]=2030-05-01T21:00&input[time_zone]=Asia/Jakarta\
         &input[currency]=IDR&input[terms]=&input[refund_policy]=14:100",
        enc("Wayang Kulit Malam"),
        enc("A **night** of shadow puppets.")
    );
    let to = form(&app, "/_fn/organizer/event_create", &fields).await;
    let id = to
        .trim_start_matches("/organizer/events/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    form(
        &app,
        "/_fn/organizer/quota_create",
        &format!("id={id}&name=Hall&size=120"),
    )
    .await;
    let quota = raw_text(
        &app.db,
        &format!("SELECT id FROM quotas WHERE event_id = '{id}'"),
    )
    .await;
    form(&app, "/_fn/organizer/tier_create", &format!("id={id}&input[name]=Regular&input[price_minor]=90000&input[max_per_order]=&input[quota_ids][]={quota}")).await;
    form(&app, "/_fn/organizer/code_create", &format!("id={id}&input[code]=wayang10&input[discount_kind]=percent&input[discount_value]=10&input[max_uses]=")).await;
    form(
        &app,
        "/_fn/organizer/event_status",
        &format!("id={id}&publish=true"),
    )
    .await;

    let (status, manage) = app.get_text(&format!("/organizer/events/{id}")).await;
    assert_eq!(status, 200);
    assert!(manage.contains("Hall: 0 sold, 0 held, 120 in total"));
    assert!(manage.contains("WAYANG10"));
    assert!(
        manage.contains("Regular — 90000 (Hall) — 0/120"),
        "sold / capacity per tier"
    );
    let (status, dash) = app.get_text("/organizer").await;
    assert!(
        dash.contains("published · 0/120"),
        "sold / capacity per event; got {status}: {:.400}",
        dash.split("<main").nth(1).unwrap_or(&dash)
    );
    assert!(manage.contains("data-testid=\"event-status\"") && manage.contains(">published<"));
    let (status, page) = app.get_text("/events/wayang-kulit-malam").await;
    assert_eq!(status, 200);
    assert!(page.contains("<strong>night</strong>") && page.contains("19:00 WIB"));

    // A refused form comes back with a clear message.
    let r = app
        .client
        .post(format!("{}/_fn/organizer/quota_create", app.url))
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("id={id}&name=Balcony&size=lots"))
        .send()
        .await
        .unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.contains("error=Enter+the+quota%27s+size+as+a+whole+number."),
        "{to}"
    );
    app.finish().await;
}

async fn an_access_code_reveals_a_hidden_tier(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = owner_of_x(&app).await;
    let event = create(
        &app,
        "/api/v1/events",
        event_body(&org, "Secret Garden Party"),
    )
    .await;
    let q = create(
        &app,
        &format!("/api/v1/events/{event}/quotas"),
        json!({"name": "Garden", "size": 50}),
    )
    .await;
    create(
        &app,
        &format!("/api/v1/events/{event}/tiers"),
        json!({"name": "Public", "price_minor": 100000, "quota_ids": [q]}),
    )
    .await;
    let hidden = create(&app, &format!("/api/v1/events/{event}/tiers"), json!({"name": "Friends of the house", "price_minor": 50000, "hidden": true, "quota_ids": [q]})).await;
    create(
        &app,
        &format!("/api/v1/events/{event}/codes"),
        json!({"code": "garden-friend", "unlock_tier_ids": [hidden]}),
    )
    .await;
    create(
        &app,
        &format!("/api/v1/events/{event}/codes"),
        json!({"code": "LATE", "unlock_tier_ids": [hidden], "valid_until": "2026-01-01T00:00"}),
    )
    .await;
    let dup = app
        .post_json(
            &format!("/api/v1/events/{event}/codes"),
            json!({"code": "GARDEN-FRIEND", "discount_kind": "percent", "discount_value": 5}),
        )
        .await;
    assert_eq!(dup.status(), 409, "codes are unique per event");
    let useless = app
        .post_json(
            &format!("/api/v1/events/{event}/codes"),
            json!({"code": "NOTHING"}),
        )
        .await;
    assert_eq!(
        useless.json::<Value>().await.unwrap()["error"],
        "A code must give a discount, unlock a hidden tier, or both."
    );
    let mut body = event_body(&org, "Secret Garden Party");
    body["status"] = json!("published");
    assert_eq!(
        app.client
            .put(format!("{}/api/v1/events/{event}", app.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    let page = |q: &'static str| {
        let url = format!("{}/events/secret-garden-party{q}", app.url);
        let client = app.new_client();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let plain = page("").await;
    assert!(
        plain.contains("Public") && !plain.contains("Friends of the house"),
        "hidden without a code"
    );
    let with_code = page("?code=Garden-Friend").await;
    assert!(
        with_code.contains("Friends of the house"),
        "the code reveals the hidden tier; got {:.300}",
        with_code
    );
    assert!(with_code.contains("data-testid=\"code-applied\""));
    let wrong = page("?code=NOPE").await;
    assert!(
        !wrong.contains("Friends of the house")
            && wrong.contains("This code is not valid for this event.")
    );
    let expired = page("?code=late").await;
    assert!(
        !expired.contains("Friends of the house")
            && expired.contains("This code is not valid right now.")
    );
    // A hidden tier is never in the public API listing.
    let tickets: Value = app
        .get(&format!("/api/v1/events/{event}/tickets"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tickets.as_array().unwrap().len(), 1);
    app.finish().await;
}

async fn markdown_renders_and_script_never_reaches_the_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = owner_of_x(&app).await;
    let evil = "<script>window.__xss=1</script><img src=x onerror=alert(1)>";
    let mut body = event_body(&org, &format!("Show {evil}"));
    body["description"] = json!(format!(
        "**Loud** night.\n\n[site](https://example.com) [bad](javascript:alert(1)) {evil}"
    ));
    body["terms"] = json!(format!("No *refunds* for no-shows. {evil}"));
    body["venue"] = json!(format!("Hall \"><svg onload=alert(1)>"));
    let event = create(&app, "/api/v1/events", body.clone()).await;
    let quota = create(
        &app,
        &format!("/api/v1/events/{event}/quotas"),
        json!({"name": "Venue", "size": 5}),
    )
    .await;
    create(
        &app,
        &format!("/api/v1/events/{event}/tiers"),
        json!({"name": format!("VIP {evil}"), "price_minor": 1, "quota_ids": [quota]}),
    )
    .await;
    body["status"] = json!("published");
    assert_eq!(
        app.client
            .put(format!("{}/api/v1/events/{event}", app.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    let slug = raw_text(
        &app.db,
        &format!("SELECT slug FROM events WHERE id = '{event}'"),
    )
    .await;
    let (status, html) = app.get_text(&format!("/events/{slug}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<strong>Loud</strong>"),
        "Markdown is rendered"
    );
    assert!(html.contains("<em>refunds</em>"), "terms are rendered");
    // Text split by interpolation carries hydration markers between parts.
    let text = html.replace("<!>", "").replace("<!-- -->", "");
    assert!(
        text.contains("100% refund until 30 days before the event"),
        "the refund policy is shown: {}",
        text.split("refund-policy")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take(300)
            .collect::<String>()
    );
    for bad in [
        "<script>window.__xss",
        "<img src=x",
        "<svg onload",
        "href=\"javascript:",
    ] {
        assert!(
            !html.contains(bad),
            "{bad} reached the page: {}",
            html.find(bad)
                .map(|i| &html[i.saturating_sub(150)..(i + 80).min(html.len())])
                .unwrap_or("")
        );
    }
    assert!(
        html.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"),
        "the title is shown as text"
    );
    app.finish().await;
}

fn event_body(org: &str, title: &str) -> Value {
    json!({"org_id": org, "title": title, "description": "Two sets.\n\nBring friends.", "category": "music",
           "venue": "Taman Ismail Marzuki", "city": "Jakarta", "starts_at": "2030-03-02T19:30", "ends_at": "2030-03-02T23:00",
           "time_zone": "Asia/Jakarta", "currency": "IDR", "refund_policy": "30:100,7:50", "terms": "No re-entry."})
}

async fn owner_of_x(app: &TestApp) -> String {
    admit::services::seed::seed(&app.state).await.unwrap();
    app.sign_in_as(&app.client, "owner@jakarta-live.test").await;
    raw_text(
        &app.db,
        "SELECT id FROM organizations WHERE slug = 'jakarta-live'",
    )
    .await
}

/// POSTs JSON and returns the id of what was created.
async fn create(app: &TestApp, path: &str, body: Value) -> String {
    created(app.post_json(path, body).await).await
}

async fn created(r: reqwest::Response) -> String {
    assert_eq!(r.status(), 201, "created");
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn an_owner_builds_an_event_with_two_tiers_sharing_a_quota_and_publishes_it(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let org = owner_of_x(&app).await;
    let event = create(&app, "/api/v1/events", event_body(&org, "Kroncong Revival")).await;
    let venue = create(
        &app,
        &format!("/api/v1/events/{event}/quotas"),
        json!({"name": "Venue", "size": 500}),
    )
    .await;
    let vip_only = create(
        &app,
        &format!("/api/v1/events/{event}/quotas"),
        json!({"name": "VIP seats", "size": 3}),
    )
    .await;

    // Publishing needs a visible tier.
    let r = app
        .client
        .put(format!("{}/api/v1/events/{event}", app.url))
        .json(&{
            let mut b = event_body(&org, "Kroncong Revival");
            b["status"] = json!("published");
            b
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    create(
        &app,
        &format!("/api/v1/events/{event}/tiers"),
        json!({"name": "Regular", "price_minor": 150000, "quota_ids": [venue]}),
    )
    .await;
    create(
        &app,
        &format!("/api/v1/events/{event}/tiers"),
        json!({"name": "VIP", "price_minor": 600000, "quota_ids": [venue, vip_only],
        "early_bird_price_minor": 450000, "early_bird_until": "2026-01-01T00:00"}),
    )
    .await;
    let mut body = event_body(&org, "Kroncong Revival");
    body["status"] = json!("published");
    assert_eq!(
        app.client
            .put(format!("{}/api/v1/events/{event}", app.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    let tickets: Value = app
        .get(&format!("/api/v1/events/{event}/tickets"))
        .await
        .json()
        .await
        .unwrap();
    let tiers = tickets.as_array().unwrap();
    assert_eq!(tiers.len(), 2);
    assert_eq!(tiers[0]["available"], 500);
    assert_eq!(
        tiers[1]["available"], 3,
        "availability is the minimum over the tier's quotas"
    );
    assert_eq!(
        tiers[1]["price_minor"], 600000,
        "the early-bird window is over"
    );

    let slug = raw_text(
        &app.db,
        &format!("SELECT slug FROM events WHERE id = '{event}'"),
    )
    .await;
    assert_eq!(slug, "kroncong-revival");
    let (status, html) = app.get_text(&format!("/events/{slug}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("19:30 WIB"),
        "shown in the event's zone with its label"
    );
    assert!(html.contains("Sat, 2 Mar 2030"));
    let (_, home) = app.get_text("/?page=2").await;
    let (_, home1) = app.get_text("/").await;
    assert!(
        home.contains("Kroncong Revival") || home1.contains("Kroncong Revival"),
        "listed once published"
    );
    let terms = raw_text(
        &app.db,
        &format!("SELECT refund_policy FROM events WHERE id = '{event}'"),
    )
    .await;
    assert_eq!(terms, "30:100,7:50");
    app.finish().await;
}

async fn an_event_in_a_currency_without_a_fee_rule_cannot_be_published(backend: Backend) {
    let app = spawn_app_with(
        backend,
        crate::helpers::SpawnOptions {
            settings: Some(Box::new(|s| s.platform_fees = "IDR=2500,EUR=0.25".into())),
            ..Default::default()
        },
    )
    .await;
    let org = owner_of_x(&app).await;
    for (currency, expected) in [("USD", 422), ("EUR", 204)] {
        let mut body = event_body(&org, &format!("Priced in {currency}"));
        body["currency"] = json!(currency);
        let event = create(&app, "/api/v1/events", body.clone()).await;
        let quota = create(
            &app,
            &format!("/api/v1/events/{event}/quotas"),
            json!({"name": "Venue", "size": 10}),
        )
        .await;
        create(
            &app,
            &format!("/api/v1/events/{event}/tiers"),
            json!({"name": "Regular", "price_minor": 2000, "quota_ids": [quota]}),
        )
        .await;
        body["status"] = json!("published");
        let r = app
            .client
            .put(format!("{}/api/v1/events/{event}", app.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expected, "{currency}");
        if expected == 422 {
            let msg = r.json::<Value>().await.unwrap()["error"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(msg.contains("no fee rule for USD"), "{msg}");
        }
    }
    app.finish().await;
}

async fn slugs_stay_unique_when_titles_repeat(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = owner_of_x(&app).await;
    let a = create(&app, "/api/v1/events", event_body(&org, "Java Jazz Night")).await;
    let b = create(&app, "/api/v1/events", event_body(&org, "Java Jazz Night")).await;
    let slug = |id: String| {
        let db = app.db.clone();
        async move { raw_text(&db, &format!("SELECT slug FROM events WHERE id = '{id}'")).await }
    };
    // The seed already has "java-jazz-night".
    assert_eq!(slug(a).await, "java-jazz-night-2");
    assert_eq!(slug(b).await, "java-jazz-night-3");
    app.finish().await;
}

async fn a_quota_cannot_shrink_below_what_is_held(backend: Backend) {
    let app = spawn_app(backend).await;
    let _ = owner_of_x(&app).await;
    let fx = crate::helpers::fixture(app.store(), app.now(), 10, 1000, 1).await;
    crate::helpers::hold(
        &app,
        fx.event.as_str(),
        fx.tier.as_str(),
        fx.buyers[0].as_str(),
        4,
    )
    .await;
    let err = app
        .store()
        .update_quota(&fx.event, &fx.quota, "Capacity", 3)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "A quota cannot be smaller than what is already sold or held."
    );
    app.store()
        .update_quota(&fx.event, &fx.quota, "Capacity", 4)
        .await
        .expect("exactly what is held is fine");
    app.finish().await;
}

async fn an_event_with_holds_cannot_be_unpublished_or_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = owner_of_x(&app).await;
    let event = raw_text(
        &app.db,
        &format!("SELECT id FROM events WHERE org_id = '{org}' ORDER BY starts_at LIMIT 1"),
    )
    .await;
    let tier = raw_text(
        &app.db,
        &format!("SELECT id FROM tiers WHERE event_id = '{event}' LIMIT 1"),
    )
    .await;
    let buyer = raw_text(
        &app.db,
        "SELECT id FROM users WHERE email = 'attendee1@admit.test'",
    )
    .await;
    crate::helpers::hold(&app, &event, &tier, &buyer, 1).await;
    let id = admit::domain::EventId::from_string(event.clone());
    let r = admit::services::events::set_published(
        &app.state,
        &crate::helpers::identity_of(&app, "owner@jakarta-live.test").await,
        &id,
        false,
    )
    .await;
    assert_eq!(
        r.unwrap_err().to_string(),
        "Tickets are already sold or held, so the event cannot be unpublished."
    );
    let r = app
        .client
        .delete(format!("{}/api/v1/events/{event}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    app.finish().await;
}

async fn another_organizer_can_neither_see_nor_change_a_draft(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = owner_of_x(&app).await;
    let event = create(&app, "/api/v1/events", event_body(&org, "Secret Draft")).await;
    let quota = create(
        &app,
        &format!("/api/v1/events/{event}/quotas"),
        json!({"name": "Venue", "size": 5}),
    )
    .await;
    let tier = create(
        &app,
        &format!("/api/v1/events/{event}/tiers"),
        json!({"name": "Regular", "price_minor": 1, "quota_ids": [quota]}),
    )
    .await;

    let y = app.new_client();
    app.sign_in_as(&y, "owner@bali-arts.test").await;
    let url = |p: &str| format!("{}{p}", app.url);
    assert_eq!(
        y.get(url(&format!("/api/v1/events/{event}")))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "drafts are not public"
    );
    assert_eq!(
        y.put(url(&format!("/api/v1/events/{event}")))
            .json(&event_body(&org, "Hijacked"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        y.delete(url(&format!("/api/v1/events/{event}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        y.put(url(&format!("/api/v1/events/{event}/quotas/{quota}")))
            .json(&json!({"name": "x", "size": 1}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        y.put(url(&format!("/api/v1/events/{event}/tiers/{tier}")))
            .json(&json!({"name": "x", "price_minor": 0, "quota_ids": [quota]}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        y.delete(url(&format!("/api/v1/events/{event}/tiers/{tier}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let title = raw_text(
        &app.db,
        &format!("SELECT title FROM events WHERE id = '{event}'"),
    )
    .await;
    assert_eq!(title, "Secret Draft", "nothing changed");
    app.finish().await;
}

async fn bad_event_input_gets_a_clear_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let org = owner_of_x(&app).await;
    let cases = [
        (
            "time_zone",
            json!("Mars/Olympus"),
            "Unknown time zone \"Mars/Olympus\"; use one like Asia/Jakarta.",
        ),
        (
            "ends_at",
            json!("2030-03-02T18:00"),
            "The event must end after it starts.",
        ),
        (
            "currency",
            json!("XYZ"),
            "Choose a currency: unsupported currency \"XYZ\"; use one of IDR, USD, EUR, SGD, MYR, JPY.",
        ),
        (
            "refund_policy",
            json!("7:50,30:20"),
            "Refund policy: a refund cannot grow as the event gets closer.",
        ),
        (
            "starts_at",
            json!("tomorrow"),
            "\"tomorrow\" is not a date and time; use YYYY-MM-DDTHH:MM.",
        ),
    ];
    for (field, value, message) in cases {
        let mut body = event_body(&org, "Bad");
        body[field] = value;
        let r = app.post_json("/api/v1/events", body).await;
        assert_eq!(r.status(), 422, "{field}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], message);
    }
    app.finish().await;
}
