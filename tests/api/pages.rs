//! Pages, probes and the cross-cutting HTTP layers, through real HTTP.

use crate::{
    both_backends,
    helpers::{Backend, TestApp, spawn_app},
};

both_backends!(
    the_home_page_lists_seeded_upcoming_events_with_pagination,
    the_event_page_shows_tiers_availability_and_local_time,
    a_sold_out_tier_shows_a_badge_and_cannot_be_picked,
    the_tier_form_without_wasm_posts_and_gets_a_server_rendered_subtotal,
    unknown_and_draft_events_are_not_found,
    the_language_follows_the_cookie_then_accept_language,
    probes_metrics_and_request_ids_work,
    pages_carry_a_csp_with_a_per_response_nonce,
    cross_site_posts_are_refused_and_change_nothing,
    server_functions_live_under_their_own_prefix,
    seeding_twice_changes_nothing,
);

async fn seeded(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.expect("seed");
    app
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

async fn the_home_page_lists_seeded_upcoming_events_with_pagination(backend: Backend) {
    let app = seeded(backend).await;

    let (status, page1) = app.get_text("/").await;
    assert_eq!(status, 200);
    assert_eq!(
        count(&page1, "data-testid=\"event-card\""),
        12,
        "a full first page"
    );
    assert!(page1.contains("data-testid=\"next-page\""));
    assert!(page1.contains("<title>admit — upcoming events</title>"));
    // Ordered by start time: the first seeded event comes first.
    let jazz = page1.find("Java Jazz Night").expect("first event listed");
    let rust = page1.find("RustConf Jakarta").expect("second event listed");
    assert!(jazz < rust);

    let (_, page2) = app.get_text("/?page=2").await;
    assert_eq!(
        count(&page2, "data-testid=\"event-card\""),
        8,
        "the other 8 of 20 events"
    );
    assert!(!page2.contains("data-testid=\"next-page\""));
    assert!(page2.contains("data-testid=\"prev-page\""));
    app.finish().await;
}

async fn the_event_page_shows_tiers_availability_and_local_time(backend: Backend) {
    let app = seeded(backend).await;

    let (status, html) = app.get_text("/events/java-jazz-night").await;
    assert_eq!(status, 200);
    assert!(html.contains("<title>Java Jazz Night — admit</title>"));
    assert!(
        html.contains("19:30 WIB"),
        "start in Jakarta time with its label"
    );
    assert!(html.contains("Rp 350,000") && html.contains("Rp 1,250,000"));
    assert!(
        html.contains("500 left"),
        "live availability of the shared quota"
    );
    assert_eq!(count(&html, "data-testid=\"tier-qty\""), 2);
    assert!(
        !html.contains("data-hydrated"),
        "hydration marker only appears in the browser"
    );

    // A Bali event is shown in its own zone.
    let (_, bali) = app.get_text("/events/ubud-sunset-dance").await;
    assert!(
        bali.contains("20:30 WITA"),
        "Ubud is one hour ahead of Jakarta"
    );
    app.finish().await;
}

async fn a_sold_out_tier_shows_a_badge_and_cannot_be_picked(backend: Backend) {
    let app = seeded(backend).await;
    let (_, html) = app.get_text("/events/kecak-fire-dance").await;
    assert!(html.contains("data-testid=\"sold-out\""));
    assert!(html.contains("Sold out"));
    assert!(html.contains("max=\"0\""), "nothing can be picked");
    app.finish().await;
}

async fn the_tier_form_without_wasm_posts_and_gets_a_server_rendered_subtotal(backend: Backend) {
    let app = seeded(backend).await;
    let (_, html) = app.get_text("/events/java-jazz-night").await;
    let ids = tier_ids(&html);
    assert_eq!(ids.len(), 2);

    let form = [
        (format!("qty.{}", ids[0]), "2".to_string()),
        (format!("qty.{}", ids[1]), "1".to_string()),
    ];
    let res = app
        .client
        .post(format!("{}/events/java-jazz-night", app.url))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();

    // 2 × 350,000 + 1 × 1,250,000
    assert!(
        html.contains("data-subtotal-minor=\"1950000\""),
        "server-rendered subtotal"
    );
    assert!(html.contains("Rp 1,950,000"));

    // Quantities above what may be picked are clamped, not trusted.
    let form = [(format!("qty.{}", ids[0]), "999".to_string())];
    let html = app
        .client
        .post(format!("{}/events/java-jazz-night", app.url))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-subtotal-minor=\"2100000\""),
        "clamped to the per-order limit of 6"
    );
    app.finish().await;
}

/// The tier ids in an event page, from the `qty.<id>` field names.
fn tier_ids(html: &str) -> Vec<String> {
    html.split("name=\"qty.")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

async fn unknown_and_draft_events_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = crate::helpers::fixture(app.store(), app.now(), 5, 1000, 0).await;
    let (status, html) = app.get_text("/events/no-such-event").await;
    assert_eq!(status, 404);
    assert!(html.contains("Page not found"));

    let slug = app
        .store()
        .list_upcoming_events(app.now(), 1, 0)
        .await
        .unwrap()
        .items[0]
        .slug
        .clone();
    app.store()
        .set_event_status(&fx.event, admit::domain::EventStatus::Draft, app.now())
        .await
        .unwrap();
    let (status, draft) = app.get_text(&format!("/events/{slug}")).await;
    assert_eq!(status, 404, "a draft looks exactly like a missing event");
    assert_eq!(main_of(&draft), main_of(&html));

    let (status, _) = app.get_text("/no/such/page").await;
    assert_eq!(status, 404);
    app.finish().await;
}

/// The page's `<main>` element.
fn main_of(html: &str) -> &str {
    let start = html.find("<main").expect("a <main>");
    let end = html.find("</main>").expect("a </main>");
    &html[start..end]
}

async fn the_language_follows_the_cookie_then_accept_language(backend: Backend) {
    let app = seeded(backend).await;
    let (_, en) = app.get_text("/").await;
    assert!(en.contains("lang=\"en\"") && en.contains("Upcoming events"));

    let id = app
        .client
        .get(format!("{}/", app.url))
        .header("accept-language", "id-ID,id;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(id.contains("lang=\"id\"") && id.contains("Acara mendatang"));

    // The switch sets a cookie that wins over Accept-Language.
    let res = app
        .client
        .post(format!("{}/locale", app.url))
        .form(&[("lang", "id"), ("back", "/events/java-jazz-night")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/events/java-jazz-night");
    let html = app
        .client
        .get(format!("{}/events/java-jazz-night", app.url))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("lang=\"id\""));
    assert!(html.contains("19.30 WIB"), "Indonesian time format");
    assert!(
        html.contains("Rp 350.000"),
        "Indonesian thousands separator"
    );
    assert!(html.contains("Tiket"));

    // Open redirects are refused.
    let res = app
        .client
        .post(format!("{}/locale", app.url))
        .form(&[("lang", "en"), ("back", "//evil.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/");
    let res = app
        .client
        .post(format!("{}/locale", app.url))
        .form(&[("lang", "fr")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    app.finish().await;
}

async fn probes_metrics_and_request_ids_work(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers().contains_key("x-request-id"),
        "every response carries a request id"
    );
    let (status, body) = app.get_text("/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready"));
    let _ = app.get_text("/").await;
    let (status, metrics) = app.get_text("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("admit_http_requests_total"),
        "request metrics are exported"
    );

    let res = app.get("/healthz").await;
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers().contains_key("referrer-policy"));
    app.finish().await;
}

async fn pages_carry_a_csp_with_a_per_response_nonce(backend: Backend) {
    let app = spawn_app(backend).await;
    let nonce_of = |res: &reqwest::Response| {
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .map(str::to_owned);
        (csp, nonce)
    };
    let res = app.get("/").await;
    let (csp, nonce) = nonce_of(&res);
    let html = res.text().await.unwrap();
    let nonce = nonce.expect("pages have a nonce");
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "img-src 'self' data: blob:",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}: {csp}");
    }
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "scripts carry the response's nonce"
    );
    let (_, second) = nonce_of(&app.get("/").await);
    assert_ne!(second.unwrap(), nonce, "a fresh nonce per response");
    app.finish().await;
}

async fn cross_site_posts_are_refused_and_change_nothing(backend: Backend) {
    let app = seeded(backend).await;
    let res = app
        .client
        .post(format!("{}/locale", app.url))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("lang", "id")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none(), "nothing changed");

    let res = app
        .client
        .post(format!("{}/_fn/events/list", app.url))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("page", "1"), ("lang", "En")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "server functions are covered too");

    // The same posts from our own origin work.
    let res = app
        .client
        .post(format!("{}/locale", app.url))
        .header("origin", &app.url)
        .header("sec-fetch-site", "same-origin")
        .form(&[("lang", "id")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    app.finish().await;
}

async fn server_functions_live_under_their_own_prefix(backend: Backend) {
    let app = seeded(backend).await;
    let res = app
        .client
        .post(format!("{}/_fn/events/list", app.url))
        .form(&[("page", "2"), ("lang", "En")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["page"], 2);
    assert_eq!(body["total"], 20);
    assert_eq!(body["items"].as_array().unwrap().len(), 8);

    let res = app
        .client
        .post(format!("{}/api/events/list", app.url))
        .form(&[("page", "1"), ("lang", "En")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        404,
        "nothing is served under the default /api prefix"
    );
    app.finish().await;
}

async fn seeding_twice_changes_nothing(backend: Backend) {
    let app = seeded(backend).await;
    let again = admit::services::seed::seed(&app.state).await.unwrap();
    assert_eq!(again, admit::services::seed::SeedOutcome::AlreadySeeded);
    assert_eq!(app.store().count_events().await.unwrap(), 20);
    let admins =
        crate::helpers::raw_i64(&app.db, "SELECT COUNT(*) FROM users WHERE is_admin").await;
    assert_eq!(admins, 1);
    let zones =
        crate::helpers::raw_i64(&app.db, "SELECT COUNT(DISTINCT time_zone) FROM events").await;
    assert!(zones >= 2, "at least one event outside Jakarta's zone");
    app.finish().await;
}
