//! The authorization matrix and CSRF, over every route the running app has.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, TestApp, raw_text, spawn_app},
};

both_backends!(
    every_route_answers_each_actor_as_the_matrix_says,
    cross_tenant_access_looks_exactly_like_a_missing_object,
    cross_site_requests_to_every_mutating_route_are_refused_and_change_nothing,
);

const MATRIX: &str = include_str!("authz_matrix.tsv");
const ACTORS: [&str; 7] = ["anon", "A", "B", "ownerX", "ownerY", "staffX", "admin"];

struct Row {
    method: String,
    path: String,
    body: String,
    expect: Vec<String>,
}

fn rows() -> Vec<Row> {
    MATRIX
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(cells.len(), 3 + ACTORS.len(), "malformed matrix row: {l}");
            Row {
                method: cells[0].into(),
                path: cells[1].into(),
                body: cells[2].into(),
                expect: cells[3..].iter().map(|s| s.to_string()).collect(),
            }
        })
        .collect()
}

/// Whether a concrete table path matches a route pattern (`{param}` segments).
fn matches(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len()
        && p.iter()
            .zip(&q)
            .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')))
}

/// Every route of the running app: pages, server functions, OpenAPI paths.
async fn app_routes(app: &TestApp) -> BTreeSet<(String, String)> {
    let listed: Value = app.get("/_test/routes").await.json().await.unwrap();
    let mut routes = BTreeSet::new();
    for p in listed["pages"].as_array().unwrap() {
        routes.insert(("GET".to_owned(), p.as_str().unwrap().to_owned()));
    }
    for sf in listed["server_fns"].as_array().unwrap() {
        routes.insert((
            sf[0].as_str().unwrap().to_owned(),
            sf[1].as_str().unwrap().to_owned(),
        ));
    }
    let spec: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes.insert(("GET".into(), "/api/v1/openapi.json".into()));
    routes
}

/// The people and objects the matrix talks about.
struct World {
    clients: Vec<reqwest::Client>,
    vars: BTreeMap<&'static str, String>,
}

const EMAILS: [Option<&str>; 7] = [
    None,
    Some("attendee1@admit.test"),
    Some("attendee2@admit.test"),
    Some("owner@jakarta-live.test"),
    Some("owner@bali-arts.test"),
    Some("staff@jakarta-live.test"),
    Some("admin@admit.test"),
];

async fn world(app: &TestApp) -> World {
    admit::services::seed::seed(&app.state).await.unwrap();
    let mut clients = Vec::new();
    for email in EMAILS {
        let c = app.new_client();
        if let Some(email) = email {
            app.sign_in_as(&c, email).await;
        }
        clients.push(c);
    }
    let x = raw_text(
        &app.db,
        "SELECT id FROM organizations WHERE slug = 'jakarta-live'",
    )
    .await;
    let y = raw_text(
        &app.db,
        "SELECT id FROM organizations WHERE slug = 'bali-arts'",
    )
    .await;
    let a = raw_text(
        &app.db,
        "SELECT id FROM users WHERE email = 'attendee1@admit.test'",
    )
    .await;
    let b = raw_text(
        &app.db,
        "SELECT id FROM users WHERE email = 'attendee2@admit.test'",
    )
    .await;
    let event = raw_text(
        &app.db,
        &format!("SELECT slug FROM events WHERE org_id = '{x}' ORDER BY starts_at LIMIT 1"),
    )
    .await;
    // An invitation of X for someone who is none of the actors.
    let r = clients[3]
        .post(format!("{}/api/v1/organizations/{x}/invitations", app.url))
        .json(&json!({"email": "someone.else@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let url: Value = r.json().await.unwrap();
    let inv = url["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    // Two pending applications from fresh verified users.
    let mut apps = Vec::new();
    for n in 0..2 {
        let c = app.new_client();
        app.verified_user(&c, &format!("applicant{n}@example.com"))
            .await;
        let org: Value = c
            .post(format!("{}/api/v1/organizer-applications", app.url))
            .json(&json!({"name": format!("Applicant Org {n}"), "contact_email": "o@example.com"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        apps.push(org["id"].as_str().unwrap().to_owned());
    }
    // X's published event (by id), one of its quotas and tiers, and a draft
    // event of X with a tier, created through the API by X's owner.
    let event_id = raw_text(
        &app.db,
        &format!("SELECT id FROM events WHERE slug = '{event}'"),
    )
    .await;
    let quota = raw_text(
        &app.db,
        &format!("SELECT id FROM quotas WHERE event_id = '{event_id}' LIMIT 1"),
    )
    .await;
    let tier = raw_text(
        &app.db,
        &format!("SELECT id FROM tiers WHERE event_id = '{event_id}' LIMIT 1"),
    )
    .await;
    let owner_x = &clients[3];
    let draft: Value = owner_x
        .post(format!("{}/api/v1/events", app.url))
        .json(&json!({"org_id": x, "title": "Draft of X", "category": "arts", "venue": "V", "city": "Jakarta",
                      "starts_at": "2030-01-01T19:00", "ends_at": "2030-01-01T22:00", "time_zone": "Asia/Jakarta", "currency": "IDR"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let draft = draft["id"].as_str().expect("draft created").to_owned();
    let dq: Value = owner_x
        .post(format!("{}/api/v1/events/{draft}/quotas", app.url))
        .json(&json!({"name": "Capacity", "size": 10}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dt: Value = owner_x
        .post(format!("{}/api/v1/events/{draft}/tiers", app.url))
        .json(&json!({"name": "Regular", "price_minor": 1000, "quota_ids": [dq["id"]]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code_x: Value = owner_x
        .post(format!("{}/api/v1/events/{event_id}/codes", app.url))
        .json(&json!({"code": "TENOFF", "discount_kind": "percent", "discount_value": 10}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code_draft: Value = owner_x
        .post(format!("{}/api/v1/events/{draft}/codes", app.url))
        .json(&json!({"code": "DRAFTOFF", "discount_kind": "fixed", "discount_value": 100}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A hold of attendee A on one of Y's events (kept away from X's event,
    // whose tiers and quotas other rows change).
    let hold_event = raw_text(
        &app.db,
        &format!("SELECT id FROM events WHERE org_id = '{y}' AND status = 'published' ORDER BY starts_at LIMIT 1"),
    )
    .await;
    let hold_tier = raw_text(
        &app.db,
        &format!(
            "SELECT t.id FROM tiers t JOIN tier_quotas tq ON tq.tier_id = t.id JOIN quotas q ON q.id = tq.quota_id
             WHERE t.event_id = '{hold_event}' AND NOT t.hidden AND t.sale_starts_at IS NULL AND t.sale_ends_at IS NULL
               AND q.size - q.sold - q.held >= 10
             ORDER BY t.position LIMIT 1"
        ),
    )
    .await;
    let order: Value = clients[1]
        .post(format!("{}/api/v1/orders", app.url))
        .json(&json!({"event_id": hold_event, "tiers": [{"tier_id": hold_tier, "quantity": 1}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A paid, ticketed order of attendee A on another published event of X
    // (written through the store: a free unit; its tickets issued by the job).
    let ticket_event = raw_text(
        &app.db,
        &format!("SELECT id FROM events WHERE org_id = '{x}' AND status = 'published' AND id <> '{event_id}' ORDER BY starts_at LIMIT 1"),
    )
    .await;
    let ticket_tier = raw_text(
        &app.db,
        &format!("SELECT id FROM tiers WHERE event_id = '{ticket_event}' AND NOT hidden ORDER BY position LIMIT 1"),
    )
    .await;
    let now = app.now();
    let held = app
        .store()
        .take_hold(admit::store::TakeHold::of_tier(
            admit::domain::UserId::from_string(a.clone()),
            admit::domain::EventId::from_string(ticket_event.clone()),
            admit::domain::TierId::from_string(ticket_tier),
            1,
            0,
            now,
            now.plus_minutes(15),
        ))
        .await
        .expect("A's ticket hold");
    let item = app
        .store()
        .order(&held.order_id)
        .await
        .unwrap()
        .unwrap()
        .items[0]
        .id
        .clone();
    app.store()
        .checkout(admit::store::Checkout {
            order_id: held.order_id.clone(),
            user_id: admit::domain::UserId::from_string(a.clone()),
            attendees: vec![admit::store::Attendee {
                item_id: item,
                name: "Attendee One".into(),
                email: "attendee1@admit.test".into(),
            }],
            fee_minor: 0,
            total_minor: 0,
            on_paid: Vec::new(),
            now,
        })
        .await
        .expect("A's order is paid");
    admit::services::tickets::run_issue(
        &app.state,
        &json!({"order_id": held.order_id.as_str()}).to_string(),
    )
    .await
    .expect("A's ticket is issued");
    app.run_jobs().await;
    let ticket = app
        .store()
        .tickets_of_order(&held.order_id)
        .await
        .unwrap()
        .remove(0);
    let vars = BTreeMap::from([
        ("{TICKET_A}", ticket.id.clone()),
        ("{TICKET_REF}", ticket.reference.clone()),
        ("{TICKET_EVENT}", ticket_event),
        ("{ORDER_T}", held.order_id.to_string()),
        (
            "{ORDER_A}",
            order["id"].as_str().expect("A's hold").to_owned(),
        ),
        (
            "{SESSION_A}",
            format!("cs_sim_{}", order["id"].as_str().unwrap().replace('-', "")),
        ),
        ("{HOLD_EVENT}", hold_event),
        ("{HOLD_TIER}", hold_tier),
        (
            "{CODE_X}",
            code_x["id"].as_str().expect("code created").to_owned(),
        ),
        (
            "{CODE_DRAFT_X}",
            code_draft["id"].as_str().expect("code created").to_owned(),
        ),
        ("{EVENT_X_ID}", event_id),
        ("{QUOTA_X}", quota),
        ("{TIER_X}", tier),
        ("{DRAFT_X}", draft),
        (
            "{TIER_DRAFT_X}",
            dt["id"].as_str().expect("tier created").to_owned(),
        ),
        ("{X}", x),
        ("{Y}", y),
        ("{A}", a),
        ("{B}", b),
        ("{EVENT_X}", event),
        ("{INV_X}", inv),
        ("{APP}", apps[0].clone()),
        ("{APP2}", apps[1].clone()),
    ]);
    World { clients, vars }
}

fn fill(s: &str, vars: &BTreeMap<&'static str, String>) -> String {
    vars.iter()
        .fold(s.to_owned(), |acc, (k, v)| acc.replace(k, v))
}

/// Sends one row's request as one actor; returns (status, location, body).
async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    row: &Row,
    vars: &BTreeMap<&'static str, String>,
) -> (u16, String, String) {
    let url = format!("{}{}", app.url, fill(&row.path, vars));
    let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
    // Pages and forms are what browsers load (Accept: text/html, so form
    // posts get real redirects); data functions and the API are fetched.
    let browser = (row.method == "GET" && !row.path.starts_with("/api/"))
        || row.expect.iter().any(|e| e.starts_with("302>"));
    let accept = if browser {
        "text/html"
    } else {
        "application/json"
    };
    let mut req = client.request(method, &url).header("accept", accept);
    let body = fill(&row.body, vars);
    if body.starts_with('{') {
        req = req.header("content-type", "application/json").body(body);
    } else if row.method != "GET" {
        req = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(if body == "-" { String::new() } else { body });
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, res.text().await.unwrap_or_default())
}

fn classify(status: u16, location: &str) -> String {
    if status == 302 || status == 303 {
        if location.contains("error=") {
            "302>err".into()
        } else if location == "/signin" || location.starts_with("/signin?") {
            "302>signin".into()
        } else {
            "302>ok".into()
        }
    } else {
        status.to_string()
    }
}

async fn every_route_answers_each_actor_as_the_matrix_says(backend: Backend) {
    let app = spawn_app(backend).await;
    let rows = rows();

    // Both sides of the list agree.
    let routes = app_routes(&app).await;
    let mut problems = Vec::new();
    for (method, pattern) in &routes {
        if !rows
            .iter()
            .any(|r| &r.method == method && matches(pattern, &r.path))
        {
            problems.push(format!(
                "route {method} {pattern} has no row in authz_matrix.tsv"
            ));
        }
    }
    for r in &rows {
        if !routes
            .iter()
            .any(|(m, p)| m == &r.method && matches(p, &r.path))
        {
            problems.push(format!(
                "matrix row {} {} matches no route of the app",
                r.method, r.path
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let w = world(&app).await;
    for row in &rows {
        for (i, actor) in ACTORS.iter().enumerate() {
            let (status, location, body) = send(&app, &w.clients[i], row, &w.vars).await;
            let got = classify(status, &location);
            if got != row.expect[i] {
                problems.push(format!(
                    "{} {} as {actor}: expected {}, got {got} (location {location:?}, body {:.120})",
                    row.method, row.path, row.expect[i], body
                ));
            }
            // Signing out ends the actor's session: sign back in.
            if (row.path.contains("sign_out") || row.path.contains("logout"))
                && let Some(email) = EMAILS[i]
            {
                app.sign_in_as(&w.clients[i], email).await;
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    app.run_jobs().await;
    app.finish().await;
}

async fn cross_tenant_access_looks_exactly_like_a_missing_object(backend: Backend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let owner_y = &w.clients[4];
    let x = &w.vars["{X}"];
    let pairs = [
        (
            "GET",
            format!("/api/v1/organizations/{x}"),
            "/api/v1/organizations/missing".to_owned(),
            "-",
        ),
        (
            "POST",
            format!("/api/v1/organizations/{x}/invitations"),
            "/api/v1/organizations/missing/invitations".to_owned(),
            r#"{"email":"door@example.com"}"#,
        ),
        (
            "GET",
            format!("/admin/users/{}", w.vars["{A}"]),
            "/admin/users/missing".to_owned(),
            "-",
        ),
    ];
    for (method, theirs, missing, body) in pairs {
        let row = |path: &str| Row {
            method: method.into(),
            path: path.into(),
            body: body.into(),
            expect: vec![],
        };
        let a = send(&app, owner_y, &row(&theirs), &w.vars).await;
        let b = send(&app, owner_y, &row(&missing), &w.vars).await;
        assert_eq!(
            a.0, b.0,
            "{method} {theirs}: status differs from a missing object"
        );
        assert_eq!(
            strip(&a.2),
            strip(&b.2),
            "{method} {theirs}: body differs from a missing object"
        );
    }
    // The invite form of another organization: the same refusal as for a missing one.
    let form = |org: &str| Row {
        method: "POST".into(),
        path: "/_fn/organizer/invite".into(),
        body: format!("org_id={org}&email=door@example.com"),
        expect: vec![],
    };
    let a = send(&app, owner_y, &form(x), &w.vars).await;
    let b = send(&app, owner_y, &form("missing"), &w.vars).await;
    assert_eq!((a.0, &a.1), (b.0, &b.1));
    app.run_jobs().await;
    app.finish().await;
}

/// Pages differ only in their nonces and the current path echoed in forms.
fn strip(html: &str) -> String {
    match (html.find("<main"), html.find("</main>")) {
        (Some(s), Some(e)) => html[s..e].to_owned(),
        _ => html.to_owned(),
    }
}

async fn cross_site_requests_to_every_mutating_route_are_refused_and_change_nothing(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let before = fingerprint(&app).await;
    let rows = rows();
    let mut checked = 0;
    for row in rows.iter().filter(|r| r.method != "GET") {
        for (i, actor) in ACTORS.iter().enumerate() {
            let url = format!("{}{}", app.url, fill(&row.path, &w.vars));
            let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
            let body = fill(&row.body, &w.vars);
            let ctype = if body.starts_with('{') {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            };
            let res = w.clients[i]
                .request(method, &url)
                .header("origin", "https://evil.example")
                .header("sec-fetch-site", "cross-site")
                .header("content-type", ctype)
                .body(if body == "-" { String::new() } else { body })
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                403,
                "{} {} as {actor} from another site",
                row.method,
                row.path
            );
            checked += 1;
        }
    }
    assert!(checked > 100);
    assert_eq!(
        fingerprint(&app).await,
        before,
        "refused requests changed nothing"
    );
    // Same-origin browser requests still work.
    let r = w.clients[1]
        .get(format!("{}/api/v1/user/me", app.url))
        .header("origin", &app.url)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = w.clients[1]
        .post(format!("{}/api/v1/auth/logout", app.url))
        .header("origin", &app.url)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    app.run_jobs().await;
    app.finish().await;
}

/// Counts of every table a request could change.
async fn fingerprint(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM users",
        "SELECT COUNT(*) FROM users WHERE is_admin",
        "SELECT COUNT(*) FROM users WHERE suspended_at IS NOT NULL",
        "SELECT COUNT(*) FROM organizations WHERE status = 'pending'",
        "SELECT COUNT(*) FROM memberships",
        "SELECT COUNT(*) FROM invitations",
        "SELECT COUNT(*) FROM invitations WHERE accepted_at IS NOT NULL",
        "SELECT COUNT(*) FROM sessions",
        "SELECT COUNT(*) FROM jobs",
        "SELECT COUNT(*) FROM events",
        "SELECT COUNT(*) FROM events WHERE status = 'published'",
        "SELECT COUNT(*) FROM tiers",
        "SELECT COUNT(*) FROM quotas",
    ] {
        out.push(crate::helpers::raw_i64(&app.db, sql).await);
    }
    out
}
