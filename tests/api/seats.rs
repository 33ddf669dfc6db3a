//! Seat maps: CSV import, grid sections, statuses, isolation.

use serde_json::Value;

use crate::{
    both_backends,
    helpers::{Backend, TestApp, raw_text, spawn_app},
};

both_backends!(
    an_imported_map_shows_sections_rows_kinds_and_statuses,
    a_grid_adds_a_section_and_refuses_overlaps,
    bad_seat_maps_get_a_clear_message,
    another_organizer_can_neither_see_nor_change_a_draft_map,
);

async fn event_of_x(app: &TestApp) -> (String, String) {
    admit::services::seed::seed(&app.state).await.unwrap();
    app.sign_in_as(&app.client, "owner@jakarta-live.test").await;
    let id = raw_text(
        &app.db,
        "SELECT id FROM events WHERE slug = 'java-jazz-night'",
    )
    .await;
    (id, "java-jazz-night".into())
}

async fn put_csv(
    client: &reqwest::Client,
    app: &TestApp,
    id: &str,
    csv: &str,
) -> reqwest::Response {
    client
        .put(format!("{}/api/v1/events/{id}/seatmap", app.url))
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap()
}

async fn an_imported_map_shows_sections_rows_kinds_and_statuses(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, slug) = event_of_x(&app).await;
    let csv = "section,row,number,kind,tier,blocked\nStalls,A,1,,Regular\nStalls,A,2,wheelchair,Regular\nStalls,A,3,companion,regular\nStalls,B,1,,VIP,yes\nBalcony,C,1,,VIP\n";
    assert_eq!(put_csv(&app.client, &app, &id, csv).await.status(), 204);

    let map: Value = app
        .get(&format!("/api/v1/events/{id}/seatmap"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(map["total"], 5);
    assert_eq!(map["sections"][0]["name"], "Stalls");
    assert_eq!(
        map["sections"][0]["rows"][0]["seats"][1]["kind"],
        "wheelchair"
    );
    assert_eq!(
        map["sections"][0]["rows"][0]["seats"][2]["tier"], "Regular",
        "tier names match case-insensitively"
    );
    assert_eq!(
        map["sections"][0]["rows"][1]["seats"][0]["status"],
        "blocked"
    );
    assert_eq!(
        map["sections"][1]["rows"][0]["seats"][0]["status"],
        "available"
    );

    let (_, html) = app.get_text(&format!("/events/{slug}")).await;
    assert!(html.contains("data-testid=\"seat-map\""));
    assert_eq!(html.matches("data-testid=\"seat\"").count(), 5);
    assert_eq!(html.matches("data-status=\"blocked\"").count(), 1);

    // Removing the map makes the event general admission again.
    assert_eq!(
        app.client
            .delete(format!("{}/api/v1/events/{id}/seatmap", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let map: Value = app
        .get(&format!("/api/v1/events/{id}/seatmap"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(map["total"], 0);

    // A new import replaces the map.
    assert_eq!(
        put_csv(&app.client, &app, &id, "Floor,A,1\nFloor,A,2")
            .await
            .status(),
        204
    );
    let map: Value = app
        .get(&format!("/api/v1/events/{id}/seatmap"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(map["total"], 2);
    app.finish().await;
}

async fn a_grid_adds_a_section_and_refuses_overlaps(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, _) = event_of_x(&app).await;
    let form = |body: String| {
        let c = app.client.clone();
        let url = format!("{}/_fn/organizer/seats_grid", app.url);
        async move {
            let r = c
                .post(url)
                .header("accept", "text/html")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            r.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    let to = form(format!(
        "id={id}&section=Stalls&first_row=A&rows=3&per_row=10&tier=Regular"
    ))
    .await;
    assert!(to.ends_with("?notice=saved"), "{to}");
    let to = form(format!(
        "id={id}&section=Balcony&first_row=d&rows=2&per_row=5&tier=VIP"
    ))
    .await;
    assert!(to.ends_with("?notice=saved"), "{to}");
    let map: Value = app
        .get(&format!("/api/v1/events/{id}/seatmap"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(map["total"], 40);
    assert_eq!(map["sections"][1]["rows"][1]["label"], "E");
    let to = form(format!(
        "id={id}&section=Stalls&first_row=C&rows=2&per_row=3&tier="
    ))
    .await;
    assert!(to.contains("error=Seat+Stalls+C1+already+exists"), "{to}");
    app.finish().await;
}

async fn bad_seat_maps_get_a_clear_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, _) = event_of_x(&app).await;
    for (csv, message) in [
        (
            "Stalls,A,1\nStalls,A,x",
            "Seat map, line 2: \"x\" is not a seat number from 1 to 10000.",
        ),
        (
            "Stalls,A,1,,Platinum",
            "Unknown tier \"Platinum\" on the seat map; create the tier first.",
        ),
        (
            "Stalls,A,1\nStalls,A,1",
            "Seat map, line 2: seat Stalls A1 appears twice.",
        ),
        (
            "",
            "The seat map has no seats: give one seat per line as section,row,number[,kind[,tier[,blocked]]].",
        ),
    ] {
        let r = put_csv(&app.client, &app, &id, csv).await;
        assert_eq!(r.status(), 422, "{csv}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], message);
    }
    app.finish().await;
}

async fn another_organizer_can_neither_see_nor_change_a_draft_map(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, _) = event_of_x(&app).await;
    let draft = raw_text(&app.db, &format!("SELECT id FROM events WHERE id = '{id}'")).await;
    admit::services::events::set_published(
        &app.state,
        &crate::helpers::identity_of(&app, "owner@jakarta-live.test").await,
        &admit::domain::EventId::from_string(draft.clone()),
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        put_csv(&app.client, &app, &draft, "Stalls,A,1")
            .await
            .status(),
        204
    );
    let y = app.new_client();
    app.sign_in_as(&y, "owner@bali-arts.test").await;
    assert_eq!(
        y.get(format!("{}/api/v1/events/{draft}/seatmap", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(put_csv(&y, &app, &draft, "Hijack,A,1").await.status(), 404);
    let map: Value = app
        .get(&format!("/api/v1/events/{draft}/seatmap"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(map["sections"][0]["name"], "Stalls", "unchanged");
    app.finish().await;
}
