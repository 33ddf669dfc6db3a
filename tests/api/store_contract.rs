//! The store contract, on both backends: stock can never be oversold, and the
//! database itself refuses writes that break the invariants.

use std::time::Duration;

use admit::{
    domain::{Timestamp, UserId},
    store::{Conflict, NewOrganization, NewUser, StoreError, TakeHold},
};

use crate::{
    both_backends,
    helpers::{
        Backend, SpawnOptions, assert_quota_invariants, fixture, raw_execute, raw_i64,
        spawn_app_with,
    },
};

both_backends!(
    the_database_refuses_raw_sql_that_breaks_stock_invariants,
    a_duplicate_slug_is_a_domain_conflict,
    an_expired_hold_stops_counting_at_the_next_hold,
    a_hold_priced_on_stale_terms_is_refused_and_takes_nothing,
    an_account_comes_with_its_memberships_in_one_read,
);

async fn the_database_refuses_raw_sql_that_breaks_stock_invariants(backend: Backend) {
    let app = spawn_app_with(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let q = fx.quota.as_str();

    for sql in [
        format!("UPDATE quotas SET held = 11 WHERE id = '{q}'"),
        format!("UPDATE quotas SET sold = 6, held = 5 WHERE id = '{q}'"),
        format!("UPDATE quotas SET sold = -1 WHERE id = '{q}'"),
        format!("UPDATE quotas SET held = -1 WHERE id = '{q}'"),
        format!("UPDATE quotas SET size = -1 WHERE id = '{q}'"),
        format!(
            "UPDATE tiers SET price_minor = -5 WHERE id = '{}'",
            fx.tier.as_str()
        ),
    ] {
        let result = raw_execute(&app.db, &sql).await;
        assert!(result.is_err(), "the database accepted {sql}");
    }
    // A valid write still works, so the refusals above were the constraints.
    assert_eq!(
        raw_execute(
            &app.db,
            &format!("UPDATE quotas SET sold = 4, held = 6 WHERE id = '{q}'")
        )
        .await
        .unwrap(),
        1
    );
    app.finish().await;
}

async fn a_duplicate_slug_is_a_domain_conflict(backend: Backend) {
    let app = spawn_app_with(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let slug: String = {
        let n = raw_i64(&app.db, "SELECT COUNT(*) FROM events").await;
        assert_eq!(n, 1);
        let ev = app
            .store()
            .list_upcoming_events(app.now(), 10, 0)
            .await
            .unwrap();
        ev.items[0].slug.clone()
    };
    let org = raw_org(&app).await;
    let now = app.now();
    let result = app
        .store()
        .create_event(admit::store::NewEvent {
            org_id: org,
            slug: slug.clone(),
            title: "Another".into(),
            description: String::new(),
            category: admit::domain::Category::Arts,
            venue: "V".into(),
            address: String::new(),
            city: "C".into(),
            starts_at: now.plus_minutes(100),
            ends_at: now.plus_minutes(200),
            time_zone: "Asia/Jakarta".into(),
            currency: admit::domain::Currency::IDR,
            now,
        })
        .await;
    match result {
        Err(StoreError::Conflict(Conflict::DuplicateSlug(s))) => assert_eq!(s, slug),
        other => panic!("expected a duplicate-slug conflict, got {other:?}"),
    }
    let _ = fx;
    app.finish().await;
}

async fn raw_org(app: &crate::helpers::TestApp) -> admit::domain::OrgId {
    let ev = app
        .store()
        .list_upcoming_events(app.now(), 1, 0)
        .await
        .unwrap();
    let rec = app
        .store()
        .event_by_slug(&ev.items[0].slug)
        .await
        .unwrap()
        .unwrap();
    admit::domain::OrgId::from_string(rec.org_id)
}

async fn an_expired_hold_stops_counting_at_the_next_hold(backend: Backend) {
    let app = spawn_app_with(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 1, 50_000, 2).await;
    let take = |who: usize, now: Timestamp| {
        TakeHold::of_tier(
            fx.buyers[who].clone(),
            fx.event.clone(),
            fx.tier.clone(),
            1,
            50_000,
            now,
            now.plus_minutes(15),
        )
    };

    app.store()
        .take_hold(take(0, app.now()))
        .await
        .expect("first hold");
    let second = app.store().take_hold(take(1, app.now())).await;
    assert!(
        matches!(second, Err(StoreError::SoldOut { remaining: 0, .. })),
        "got {second:?}"
    );

    // The first hold runs out; no sweeper has run, yet the stock is back.
    app.advance(Duration::from_secs(16 * 60));
    app.store()
        .take_hold(take(1, app.now()))
        .await
        .expect("the released ticket is sold again");

    let (_, sold, held) = assert_quota_invariants(&app.db, &fx.quota).await;
    assert_eq!((sold, held), (0, 1));
    let expired = raw_i64(
        &app.db,
        "SELECT COUNT(*) FROM orders WHERE status = 'expired'",
    )
    .await;
    assert_eq!(expired, 1);
    app.finish().await;
}

async fn a_hold_priced_on_stale_terms_is_refused_and_takes_nothing(backend: Backend) {
    let app = spawn_app_with(backend, SpawnOptions::default()).await;
    let fx = fixture(app.store(), app.now(), 10, 50_000, 2).await;
    let version = app
        .store()
        .terms_version(&fx.event)
        .await
        .unwrap()
        .expect("the event has terms");
    let take = |who: usize, version: i64| {
        let mut h = TakeHold::of_tier(
            fx.buyers[who].clone(),
            fx.event.clone(),
            fx.tier.clone(),
            2,
            50_000,
            app.now(),
            app.now().plus_minutes(15),
        );
        h.terms_version = Some(version);
        h
    };
    app.store()
        .take_hold(take(0, version))
        .await
        .expect("a hold on the current terms");

    // The price changes after a buyer's terms were read.
    raw_execute(
        &app.db,
        &format!(
            "UPDATE tiers SET price_minor = 60000 WHERE id = '{}'",
            fx.tier.as_str()
        ),
    )
    .await
    .unwrap();
    // In a batch and alone, the hold priced on the old terms is refused.
    let batch = app.store().take_holds(vec![take(1, version)]).await;
    assert!(
        matches!(batch[..], [Err(StoreError::Conflict(Conflict::StaleTerms))]),
        "got {batch:?}"
    );
    let alone = app.store().take_hold(take(1, version)).await;
    assert!(
        matches!(alone, Err(StoreError::Conflict(Conflict::StaleTerms))),
        "got {alone:?}"
    );
    let (_, sold, held) = assert_quota_invariants(&app.db, &fx.quota).await;
    assert_eq!((sold, held), (0, 2), "only the first hold took stock");
    let orders = raw_i64(&app.db, "SELECT COUNT(*) FROM orders").await;
    assert_eq!(orders, 1);

    let now_version = app.store().terms_version(&fx.event).await.unwrap().unwrap();
    assert!(now_version > version);
    app.store()
        .take_hold(take(1, now_version))
        .await
        .expect("a hold on the new terms");
    app.finish().await;
}

async fn an_account_comes_with_its_memberships_in_one_read(backend: Backend) {
    let app = spawn_app_with(backend, SpawnOptions::default()).await;
    let store = app.store();
    let now = app.now();
    let user = |email: &str| NewUser {
        email: email.into(),
        name: "Member".into(),
        password_hash: None,
        is_admin: false,
        email_verified_at: Some(now),
        now,
    };
    let org = |slug: &str, name: &str, approved: bool, owner: &UserId| NewOrganization {
        slug: slug.into(),
        name: name.into(),
        contact_email: "org@example.test".into(),
        description: String::new(),
        approved,
        owner: owner.clone(),
        now,
    };
    let member = UserId::from_string(store.create_user(user("m@example.test")).await.unwrap().id);
    let other = UserId::from_string(store.create_user(user("o@example.test")).await.unwrap().id);
    let loner = UserId::from_string(store.create_user(user("l@example.test")).await.unwrap().id);
    // Pending "Alpha" owned by the member; approved "Zulu" with the member as staff.
    store
        .create_organization(org("alpha", "Alpha", false, &member))
        .await
        .unwrap();
    let zulu = store
        .create_organization(org("zulu", "Zulu", true, &other))
        .await
        .unwrap();
    store
        .add_member(&zulu, &member, "staff", now)
        .await
        .unwrap();

    let (account, memberships) = store
        .account_with_memberships(&member)
        .await
        .unwrap()
        .expect("the member");
    assert_eq!(Some(account), store.account(&member).await.unwrap());
    assert_eq!(memberships, store.memberships(&member).await.unwrap());
    let names: Vec<(&str, &str)> = memberships
        .iter()
        .map(|m| (m.org_name.as_str(), m.role.as_str()))
        .collect();
    assert_eq!(
        names,
        [("Zulu", "staff"), ("Alpha", "owner")],
        "approved first"
    );

    let (account, memberships) = store
        .account_with_memberships(&loner)
        .await
        .unwrap()
        .expect("the loner");
    assert_eq!(account.email, "l@example.test");
    assert!(memberships.is_empty());
    assert!(
        store
            .account_with_memberships(&UserId::from_string("nobody"))
            .await
            .unwrap()
            .is_none()
    );
    app.finish().await;
}
