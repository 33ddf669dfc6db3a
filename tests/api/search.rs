//! Discovery: full-text search and filters give the same, checked-in results
//! on both backends; listings are cached with explicit invalidation.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{Backend, SpawnOptions, raw_text, spawn_app, spawn_app_with},
};

both_backends!(
    searches_return_the_checked_in_results_in_order,
    bad_filters_get_a_clear_message,
    an_edit_shows_at_once_here_and_within_the_ttl_on_another_instance,
);

const EXPECTATIONS: &str = include_str!("search_expectations.tsv");

async fn searches_return_the_checked_in_results_in_order(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    let today = jiff::Timestamp::from_millisecond(app.now().as_millis())
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let mut failures = Vec::new();
    for line in EXPECTATIONS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let mut cells = line.split_whitespace();
        let mut query = cells.next().unwrap().to_owned();
        let expected: Vec<&str> = cells
            .next()
            .map(|c| c.split(',').collect())
            .unwrap_or_default();
        for n in 0..40 {
            query = query.replace(
                &format!("{{DAY+{n}}}"),
                &(today + jiff::Span::new().days(n)).to_string(),
            );
        }
        let body: Value = app
            .get(&format!("/api/v1/events?{query}"))
            .await
            .json()
            .await
            .unwrap();
        let got: Vec<&str> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["slug"].as_str().unwrap())
            .collect();
        if got != expected {
            failures.push(format!("{query}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.finish().await;
}

async fn bad_filters_get_a_clear_message(backend: Backend) {
    let app = spawn_app(backend).await;
    for (query, message) in [
        ("category=poetry", "Unknown category \"poetry\"."),
        ("from=yesterday", "The from date must look like 2026-12-31."),
        (
            "min_price=-5",
            "The minimum price must be a whole number of zero or more.",
        ),
    ] {
        let r = app.get(&format!("/api/v1/events?{query}")).await;
        assert_eq!(r.status(), 422, "{query}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], message);
    }
    app.finish().await;
}

async fn an_edit_shows_at_once_here_and_within_the_ttl_on_another_instance(backend: Backend) {
    let a = spawn_app(backend).await;
    let b = spawn_app_with(
        backend,
        SpawnOptions {
            db: Some(a.db.clone()),
            ..SpawnOptions::default()
        },
    )
    .await;
    admit::services::seed::seed(&a.state).await.unwrap();
    let titles = |app: &crate::helpers::TestApp| {
        let url = format!("{}/api/v1/events?q=jazz", app.url);
        let client = app.client.clone();
        async move {
            let v: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["title"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        titles(&b).await,
        vec!["Java Jazz Night"],
        "b caches this listing"
    );

    a.sign_in_as(&a.client, "owner@jakarta-live.test").await;
    let id = raw_text(
        &a.db,
        "SELECT id FROM events WHERE slug = 'java-jazz-night'",
    )
    .await;
    let org = raw_text(
        &a.db,
        "SELECT org_id FROM events WHERE slug = 'java-jazz-night'",
    )
    .await;
    let body = json!({"org_id": org, "title": "Java Jazz Night Deluxe", "category": "music", "venue": "JIExpo Hall A",
        "city": "Jakarta", "starts_at": "2030-01-01T19:30", "ends_at": "2030-01-01T23:30", "time_zone": "Asia/Jakarta", "currency": "IDR"});
    assert_eq!(
        a.client
            .put(format!("{}/api/v1/events/{id}", a.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    assert_eq!(
        titles(&a).await,
        vec!["Java Jazz Night Deluxe"],
        "at once on the instance that changed it"
    );
    assert_eq!(
        titles(&b).await,
        vec!["Java Jazz Night"],
        "the other instance may serve its cache"
    );
    b.advance(Duration::from_secs(6));
    assert_eq!(
        titles(&b).await,
        vec!["Java Jazz Night Deluxe"],
        "within the TTL (5 s) everywhere"
    );
    let mut b = b;
    b.shutdown().await;
    drop(b);
    a.finish().await;
}
