//! Race tests for holds, on both backends and, on PostgreSQL, once more at
//! REPEATABLE READ. Every racer calls the store behind a barrier with its own
//! connection (the pool is at least as large as the crowd, except where
//! PostgreSQL's connection limit caps it), and every race has a race-sanity
//! twin: the same race with the guard skipped and every racer reading before
//! any writes, which must go wrong at least once, proving the guarded test
//! could see a race.
//!
//! Every guarded race runs three ways: one transaction per hold straight to
//! the store, through group admission (many holds per transaction), and
//! through group admission on two app instances sharing the database, the
//! racers alternating between them. The batch tests at the end pin down how
//! one batch is decided.

use std::{sync::Arc, time::Duration};

use admit::{
    domain::codes::Discount,
    services::admission::{Admission, AdmissionSettings},
    store::{HoldCode, HoldSeat, RaceWindow, StoreError, StoreOptions, TakeHold},
};
use tokio::sync::Barrier;

use crate::{
    both_backends,
    helpers::{
        Backend, Fixture, SpawnOptions, TestApp, assert_all_invariants, fixture, raw_execute,
        raw_i64, raw_text, seat_map, spawn_app_with,
    },
};

both_backends!(
    the_last_ticket_with_two_buyers_gives_exactly_one_hold,
    two_hundred_buyers_on_a_quota_of_one_hundred_get_exactly_one_hundred_holds,
    twenty_claims_of_one_seat_give_exactly_one,
    fifty_uses_of_a_single_use_code_give_exactly_one,
    race_sanity_twin_the_last_ticket_is_oversold,
    race_sanity_twin_the_crowd_oversells,
    race_sanity_twin_a_seat_is_claimed_twice,
    race_sanity_twin_a_single_use_code_is_used_twice,
    a_hold_that_expires_while_its_stock_is_taken_again_is_resold_once,
    an_expired_seat_is_claimed_again_without_the_sweeper,
    the_database_refuses_a_second_active_claim_on_a_seat,
    a_batch_is_decided_in_arrival_order,
    a_lost_seat_leaves_the_rest_of_its_batch_standing,
    a_buyers_second_hold_in_one_batch_replaces_the_first,
    a_full_admission_queue_says_so_and_a_buyer_who_left_is_not_admitted,
);

/// How the racers reach the store.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Route {
    /// One transaction per hold, straight to the store.
    OneByOne,
    /// Group admission on one app instance.
    Grouped,
    /// Group admission on two app instances sharing the database; the racers
    /// alternate between them.
    GroupedOnTwoInstances,
}

const ROUTES: [Route; 3] = [
    Route::OneByOne,
    Route::Grouped,
    Route::GroupedOnTwoInstances,
];

/// The races of the acceptance list.
#[derive(Clone, Copy, Debug)]
enum Race {
    LastTicket,
    Crowd,
    OneSeat,
    SingleUseCode,
}

impl Race {
    /// (quota size, buyers, holds the guard allows)
    fn shape(self) -> (i64, usize, usize) {
        match self {
            Race::LastTicket => (1, 2, 1),
            Race::Crowd => (100, 200, 100),
            Race::OneSeat => (20, 20, 1),
            Race::SingleUseCode => (1_000, 50, 1),
        }
    }
}

/// How the store runs: READ COMMITTED (PostgreSQL's default) or forced
/// REPEATABLE READ; SQLite is always serializable.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Isolation {
    Default,
    RepeatableRead,
}

/// The isolation levels to run on a backend.
fn isolations(backend: Backend) -> Vec<Isolation> {
    match backend {
        Backend::Sqlite => vec![Isolation::Default],
        Backend::Postgres => vec![Isolation::Default, Isolation::RepeatableRead],
    }
}

/// What the racers got.
#[derive(Debug)]
struct Outcome {
    granted: usize,
    /// Clear refusals: sold out, seat taken, code used up.
    refused: usize,
    other: Vec<String>,
}

struct Arena {
    app: TestApp,
    /// The second app instance on the same database, if the route has one.
    second: Option<TestApp>,
    /// Where the racers send their holds (none: straight to the store).
    admissions: Vec<Arc<Admission>>,
    fx: Fixture,
    seat: Option<String>,
    code: Option<String>,
}

async fn arena(backend: Backend, race: Race, twin: bool, isolation: Isolation) -> Arena {
    arena_on(backend, race, twin, isolation, Route::OneByOne).await
}

async fn arena_on(
    backend: Backend,
    race: Race,
    twin: bool,
    isolation: Isolation,
    route: Route,
) -> Arena {
    let (size, buyers, _) = race.shape();
    // Each racer gets its own connection, up to 55: the races of 2, 20 and
    // 50 fully; in the crowd of 200, 55 transactions race at every instant
    // and the rest queue for a connection. The cap keeps PostgreSQL (100
    // connections in all, other tests alongside) and the 2 shared cores
    // usable by the tests that run at the same time.
    // Group admission needs few: one batch at a time per instance.
    let pool = match route {
        Route::OneByOne => (buyers as u32 + 5).min(55),
        Route::Grouped | Route::GroupedOnTwoInstances => 8,
    };
    let mut store = StoreOptions {
        max_connections: pool,
        ..StoreOptions::default()
    };
    // Every racer reads before any writes; 10 s is only the bound if one
    // never arrives.
    store.unguarded_race_window = twin.then(|| RaceWindow::new(buyers, Duration::from_secs(10)));
    store.repeatable_read = isolation == Isolation::RepeatableRead;
    let store_again = store.clone();
    let app = spawn_app_with(
        backend,
        SpawnOptions {
            store: Some(store),
            alone: true,
            ..SpawnOptions::default()
        },
    )
    .await;
    let fx = fixture(app.store(), app.now(), size, 100_000, buyers).await;
    let seat = match race {
        Race::OneSeat => Some(seat_map(app.store(), &fx.event, &fx.tier, 1, 20).await[0].clone()),
        _ => None,
    };
    let code = match race {
        Race::SingleUseCode => Some(
            crate::helpers::create_code(
                &app,
                &fx.event,
                "ONCE",
                Discount::Percent(10),
                vec![],
                (Some(1), None),
            )
            .await,
        ),
        _ => None,
    };
    let second = match route {
        Route::GroupedOnTwoInstances => Some(
            spawn_app_with(
                backend,
                SpawnOptions {
                    db: Some(app.db.clone()),
                    store: Some(store_again),
                    alone: true,
                    ..SpawnOptions::default()
                },
            )
            .await,
        ),
        _ => None,
    };
    let admissions = match route {
        Route::OneByOne => Vec::new(),
        Route::Grouped => vec![app.state.admission.clone()],
        Route::GroupedOnTwoInstances => vec![
            app.state.admission.clone(),
            second.as_ref().unwrap().state.admission.clone(),
        ],
    };
    for adm in &admissions {
        assert!(adm.settings().enabled, "group admission is on by default");
    }
    Arena {
        app,
        second,
        admissions,
        fx,
        seat,
        code,
    }
}

impl Arena {
    /// Ends the test: the second instance stops, then the first finishes.
    async fn finish(self) {
        if let Some(mut second) = self.second {
            second.shutdown().await;
        }
        self.app.finish().await;
    }
}

/// A 15-minute hold of buyer `who` on seat "Stalls A1".
fn seat_hold(a: &Arena, who: usize, seat: &str, now: admit::domain::Timestamp) -> TakeHold {
    let mut h = TakeHold::of_tier(
        a.fx.buyers[who].clone(),
        a.fx.event.clone(),
        a.fx.tier.clone(),
        1,
        100_000,
        now,
        now.plus_minutes(15),
    );
    h.lines.clear();
    h.seats.push(HoldSeat {
        seat_id: seat.to_owned(),
        tier_id: a.fx.tier.clone(),
        label: "Stalls A1".into(),
        unit_price_minor: 100_000,
        discount_minor: 0,
    });
    h
}

/// Every buyer asks for one unit at the same instant.
async fn race(a: &Arena, race: Race) -> Outcome {
    let (_, buyers, _) = race.shape();
    let barrier = Arc::new(Barrier::new(buyers));
    let now = a.app.now();
    let mut tasks = Vec::new();
    for (i, buyer) in a.fx.buyers.iter().enumerate() {
        let mut hold = match &a.seat {
            Some(seat) => seat_hold(a, i, seat, now),
            None => TakeHold::of_tier(
                buyer.clone(),
                a.fx.event.clone(),
                a.fx.tier.clone(),
                1,
                100_000,
                now,
                now.plus_minutes(15),
            ),
        };
        if let Some(code) = &a.code {
            hold.code = Some(HoldCode {
                id: code.clone(),
                text: "ONCE".into(),
                max_uses_per_user: None,
            });
        }
        let store = a.app.store().clone();
        let admission =
            (!a.admissions.is_empty()).then(|| a.admissions[i % a.admissions.len()].clone());
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            match admission {
                Some(admission) => admission.take_hold(hold).await,
                None => store.take_hold(hold).await,
            }
        }));
    }
    let mut out = Outcome {
        granted: 0,
        refused: 0,
        other: Vec::new(),
    };
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => out.granted += 1,
            Err(StoreError::SoldOut { .. } | StoreError::SeatTaken { .. }) => out.refused += 1,
            Err(StoreError::Refused(m)) if m == "The code ONCE has been used up." => {
                out.refused += 1
            }
            Err(e) => out.other.push(format!("{e:?}")),
        }
    }
    out
}

/// Runs a guarded race at every isolation level of the backend and checks
/// the exact outcome and every invariant afterwards.
async fn guarded(backend: Backend, kind: Race) {
    let _permit = crate::helpers::big_test_permit().await;
    let (_, buyers, allowed) = kind.shape();
    for isolation in isolations(backend) {
        for route in ROUTES {
            let a = arena_on(backend, kind, false, isolation, route).await;
            let out = race(&a, kind).await;
            assert_eq!(
                (out.granted, out.refused, out.other.len()),
                (allowed, buyers - allowed, 0),
                "{kind:?} at {isolation:?}, {route:?}: other errors {:?}",
                out.other
            );
            assert_all_invariants(&a.app.db).await;
            a.finish().await;
        }
    }
}

/// Runs the race-sanity twin at every isolation level and returns, per
/// level, how many holds were granted and the database's view of the damage.
async fn twin(backend: Backend, kind: Race, damage_sql: &str) {
    let _permit = crate::helpers::big_test_permit().await;
    let (_, _, allowed) = kind.shape();
    for isolation in isolations(backend) {
        let a = arena(backend, kind, true, isolation).await;
        let out = race(&a, kind).await;
        // The twin runs deliberately broken code: what matters is that the
        // race did damage. Other errors (a racer out of retries at
        // REPEATABLE READ, say) are shown, not judged; the guarded race
        // allows none.
        let damage = raw_i64(&a.app.db, damage_sql).await;
        assert!(
            out.granted > allowed && damage > 0,
            "{kind:?} at {isolation:?}: the unguarded twin should go wrong, granted {} (allowed {allowed}), damage {damage}, other errors {:?}",
            out.granted,
            out.other
        );
        a.finish().await;
    }
}

async fn the_last_ticket_with_two_buyers_gives_exactly_one_hold(backend: Backend) {
    guarded(backend, Race::LastTicket).await;
}

async fn two_hundred_buyers_on_a_quota_of_one_hundred_get_exactly_one_hundred_holds(
    backend: Backend,
) {
    guarded(backend, Race::Crowd).await;
}

async fn twenty_claims_of_one_seat_give_exactly_one(backend: Backend) {
    guarded(backend, Race::OneSeat).await;
}

async fn fifty_uses_of_a_single_use_code_give_exactly_one(backend: Backend) {
    guarded(backend, Race::SingleUseCode).await;
}

/// Units in open holds beyond the quota's size.
const OVERSOLD: &str =
    "SELECT COUNT(*) - MAX(q.size) FROM order_items oi JOIN orders o ON o.id = oi.order_id
     JOIN tier_quotas tq ON tq.tier_id = oi.tier_id JOIN quotas q ON q.id = tq.quota_id
     WHERE o.status = 'reserved'";

async fn race_sanity_twin_the_last_ticket_is_oversold(backend: Backend) {
    twin(backend, Race::LastTicket, OVERSOLD).await;
}

async fn race_sanity_twin_the_crowd_oversells(backend: Backend) {
    twin(backend, Race::Crowd, OVERSOLD).await;
}

async fn race_sanity_twin_a_seat_is_claimed_twice(backend: Backend) {
    twin(
        backend,
        Race::OneSeat,
        "SELECT COUNT(*) - 1 FROM order_items oi JOIN orders o ON o.id = oi.order_id
         WHERE oi.seat_id IS NOT NULL AND o.status = 'reserved'",
    )
    .await;
}

async fn race_sanity_twin_a_single_use_code_is_used_twice(backend: Backend) {
    twin(
        backend,
        Race::SingleUseCode,
        "SELECT COUNT(*) - 1 FROM orders WHERE code_id IS NOT NULL AND status = 'reserved'",
    )
    .await;
}

/// The clock passes a hold's end while two buyers race for its stock and
/// the sweeper runs: the ticket is held again exactly once.
async fn a_hold_that_expires_while_its_stock_is_taken_again_is_resold_once(backend: Backend) {
    let _permit = crate::helpers::big_test_permit().await;
    for isolation in isolations(backend) {
        let a = arena(backend, Race::LastTicket, false, isolation).await;
        let fx = &a.fx;
        let store = a.app.store().clone();
        let now = a.app.now();
        let first = store
            .take_hold(TakeHold::of_tier(
                fx.buyers[0].clone(),
                fx.event.clone(),
                fx.tier.clone(),
                1,
                100_000,
                now,
                now.plus_minutes(15),
            ))
            .await
            .expect("the first hold");
        a.app.advance(Duration::from_secs(15 * 60));
        let now = a.app.now();

        let third = store
            .create_user(admit::store::NewUser {
                email: format!("third-{}@example.test", admit::store::new_id()),
                name: "Third".into(),
                password_hash: None,
                is_admin: false,
                email_verified_at: Some(now),
                now,
            })
            .await
            .unwrap();
        let third = admit::domain::UserId::from_string(third.id);
        let barrier = Arc::new(Barrier::new(3));
        let mut takers = Vec::new();
        for buyer in [&fx.buyers[1], &third] {
            let hold = TakeHold::of_tier(
                buyer.clone(),
                fx.event.clone(),
                fx.tier.clone(),
                1,
                100_000,
                now,
                now.plus_minutes(15),
            );
            let (store, barrier) = (store.clone(), barrier.clone());
            takers.push(tokio::spawn(async move {
                barrier.wait().await;
                store.take_hold(hold).await
            }));
        }
        let sweeper = {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.release_expired_holds(now).await
            })
        };
        let mut granted = 0;
        for t in takers {
            match t.await.unwrap() {
                Ok(_) => granted += 1,
                Err(StoreError::SoldOut { .. }) => {}
                Err(e) => panic!("{isolation:?}: unexpected {e:?}"),
            }
        }
        sweeper.await.unwrap().expect("the sweeper runs");
        assert_eq!(
            granted, 1,
            "{isolation:?}: the released ticket is held once"
        );
        let status = raw_text(
            &a.app.db,
            &format!(
                "SELECT status FROM orders WHERE id = '{}'",
                first.order_id.as_str()
            ),
        )
        .await;
        assert_eq!(status, "expired", "the first hold ran out");
        assert_all_invariants(&a.app.db).await;
        a.finish().await;
    }
}

async fn an_expired_seat_is_claimed_again_without_the_sweeper(backend: Backend) {
    let a = arena(backend, Race::OneSeat, false, Isolation::Default).await;
    let seat = a.seat.clone().unwrap();
    let store = a.app.store().clone();
    let take = |who: usize, now| seat_hold(&a, who, &seat, now);
    store
        .take_hold(take(0, a.app.now()))
        .await
        .expect("first claim");
    let again = store.take_hold(take(1, a.app.now())).await;
    assert!(
        matches!(&again, Err(StoreError::SeatTaken { seat }) if seat == "Stalls A1"),
        "{again:?}"
    );
    assert_eq!(
        again.unwrap_err().to_string(),
        "Seat Stalls A1 was just taken. Please pick another seat."
    );
    a.app.advance(Duration::from_secs(15 * 60 + 1));
    store
        .take_hold(take(1, a.app.now()))
        .await
        .expect("the expired claim no longer counts");
    assert_all_invariants(&a.app.db).await;
    a.finish().await;
}

async fn the_database_refuses_a_second_active_claim_on_a_seat(backend: Backend) {
    let a = arena(backend, Race::OneSeat, false, Isolation::Default).await;
    let seat = a.seat.clone().unwrap();
    let receipt = a
        .app
        .store()
        .take_hold(seat_hold(&a, 0, &seat, a.app.now()))
        .await
        .unwrap();
    // A second order, written by hand, trying to claim the same seat.
    raw_execute(
        &a.app.db,
        &format!(
            "INSERT INTO orders (id, user_id, event_id, status, currency, expires_at, created_at, updated_at)
             VALUES ('raw-order', '{}', '{}', 'reserved', 'IDR', 0, 0, 0)",
            a.fx.buyers[1].as_str(),
            a.fx.event.as_str()
        ),
    )
    .await
    .expect("a plain order is fine");
    let second = raw_execute(
        &a.app.db,
        &format!(
            "INSERT INTO seat_claims (seat_id, event_id, order_id, created_at) VALUES ('{seat}', '{}', 'raw-order', 0)",
            a.fx.event.as_str()
        ),
    )
    .await;
    assert!(
        second.is_err(),
        "a second claim must be refused: {second:?}"
    );
    let owner = raw_text(
        &a.app.db,
        &format!("SELECT order_id FROM seat_claims WHERE seat_id = '{seat}'"),
    )
    .await;
    assert_eq!(owner, receipt.order_id.as_str());
    // A second open hold of one buyer on one event is refused too.
    let dup = raw_execute(
        &a.app.db,
        &format!(
            "INSERT INTO orders (id, user_id, event_id, status, currency, expires_at, created_at, updated_at)
             VALUES ('raw-order-2', '{}', '{}', 'reserved', 'IDR', 0, 0, 0)",
            a.fx.buyers[0].as_str(),
            a.fx.event.as_str()
        ),
    )
    .await;
    assert!(dup.is_err(), "one open hold per buyer and event: {dup:?}");
    raw_execute(&a.app.db, "DELETE FROM orders WHERE id = 'raw-order'")
        .await
        .unwrap();
    a.finish().await;
}

/// A hold of `n` units of the arena's tier for buyer `who`.
fn units(a: &Arena, who: usize, n: u32) -> TakeHold {
    let now = a.app.now();
    TakeHold::of_tier(
        a.fx.buyers[who].clone(),
        a.fx.event.clone(),
        a.fx.tier.clone(),
        n,
        100_000,
        now,
        now.plus_minutes(15),
    )
}

/// A crowd arena with a quota of `size` (and 200 buyers).
async fn batch_arena(backend: Backend, size: i64) -> Arena {
    let a = arena(backend, Race::Crowd, false, Isolation::Default).await;
    raw_execute(
        &a.app.db,
        &format!(
            "UPDATE quotas SET size = {size} WHERE id = '{}'",
            a.fx.quota.as_str()
        ),
    )
    .await
    .unwrap();
    a
}

fn held(a: &Arena) -> String {
    format!(
        "SELECT held FROM quotas WHERE id = '{}'",
        a.fx.quota.as_str()
    )
}

/// One batch, five buyers, a quota of 5: each is decided in arrival order
/// against what the ones before it left, and a later, smaller hold that
/// still fits is granted after a bigger one was refused.
async fn a_batch_is_decided_in_arrival_order(backend: Backend) {
    let _permit = crate::helpers::big_test_permit().await;
    let a = batch_arena(backend, 5).await;
    let batch: Vec<TakeHold> = [3, 3, 1, 1, 1]
        .iter()
        .enumerate()
        .map(|(who, n)| units(&a, who, *n))
        .collect();
    let answers = a.app.store().take_holds(batch).await;
    let verdicts: Vec<String> = answers
        .iter()
        .map(|r| match r {
            Ok(receipt) => format!("held {}", receipt.units),
            Err(StoreError::SoldOut { remaining, .. }) => format!("sold out, {remaining} left"),
            Err(e) => format!("{e:?}"),
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            "held 3",
            "sold out, 2 left",
            "held 1",
            "held 1",
            "sold out, 0 left"
        ]
    );
    assert_eq!(raw_i64(&a.app.db, &held(&a)).await, 5);
    // A refused buyer leaves no order behind; each granted one has its items.
    assert_eq!(raw_i64(&a.app.db, "SELECT COUNT(*) FROM orders").await, 3);
    assert_eq!(
        raw_i64(&a.app.db, "SELECT COUNT(*) FROM order_items").await,
        5
    );
    // The receipt is the order as stored.
    let first = answers[0].as_ref().unwrap();
    let stored = a.app.store().order(&first.order_id).await.unwrap().unwrap();
    assert_eq!(first.order.event_title, stored.event_title);
    assert_eq!(first.order.currency, stored.currency);
    let ids = |o: &admit::store::orders::OrderRecord| {
        let mut v: Vec<String> = o
            .items
            .iter()
            .map(|i| format!("{} {}", i.id, i.tier_name))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&first.order), ids(&stored));
    assert_all_invariants(&a.app.db).await;
    a.finish().await;
}

/// Two buyers of one batch pick the same seat: the first gets it, the
/// second is told the seat is taken, and the third buyer's hold, after them,
/// stands.
async fn a_lost_seat_leaves_the_rest_of_its_batch_standing(backend: Backend) {
    let _permit = crate::helpers::big_test_permit().await;
    let a = arena(backend, Race::OneSeat, false, Isolation::Default).await;
    let seat = a.seat.clone().unwrap();
    let now = a.app.now();
    let batch = vec![
        seat_hold(&a, 0, &seat, now),
        seat_hold(&a, 1, &seat, now),
        units(&a, 2, 1),
    ];
    let answers = a.app.store().take_holds(batch).await;
    assert!(answers[0].is_ok(), "{:?}", answers[0]);
    assert!(
        matches!(answers[1], Err(StoreError::SeatTaken { .. })),
        "{:?}",
        answers[1]
    );
    assert!(answers[2].is_ok(), "{:?}", answers[2]);
    assert_eq!(
        raw_i64(&a.app.db, "SELECT COUNT(*) FROM seat_claims").await,
        1
    );
    assert_eq!(raw_i64(&a.app.db, &held(&a)).await, 2);
    assert_all_invariants(&a.app.db).await;
    a.finish().await;
}

/// One buyer's two holds in one batch: the second replaces the first, as
/// it would one after the other.
async fn a_buyers_second_hold_in_one_batch_replaces_the_first(backend: Backend) {
    let _permit = crate::helpers::big_test_permit().await;
    let a = batch_arena(backend, 10).await;
    let answers = a
        .app
        .store()
        .take_holds(vec![units(&a, 0, 1), units(&a, 1, 1), units(&a, 0, 2)])
        .await;
    let first = answers[0].as_ref().expect("the first hold");
    let last = answers[2].as_ref().expect("the second hold of buyer 0");
    assert_eq!(last.replaced.as_ref(), Some(&first.order_id));
    assert!(answers[1].is_ok());
    let status = raw_text(
        &a.app.db,
        &format!(
            "SELECT status FROM orders WHERE id = '{}'",
            first.order_id.as_str()
        ),
    )
    .await;
    assert_eq!(status, "cancelled");
    assert_eq!(raw_i64(&a.app.db, &held(&a)).await, 3);
    assert_all_invariants(&a.app.db).await;
    a.finish().await;
}

/// While a batch is stuck before its commit (the test hook), the queue
/// behind it fills: a buyer past its limit is told to try again instead of
/// waiting, and a buyer who gave up before their batch began is not
/// admitted. Once the batch commits, the buyers still waiting are served in
/// order.
async fn a_full_admission_queue_says_so_and_a_buyer_who_left_is_not_admitted(backend: Backend) {
    let _permit = crate::helpers::big_test_permit().await;
    let flag_dir = tempfile::tempdir().unwrap();
    let flag = flag_dir.path().join("stall");
    let app = spawn_app_with(
        backend,
        SpawnOptions {
            store: Some(StoreOptions {
                max_connections: 8,
                stall_admission_batch: Some(flag.clone()),
                ..StoreOptions::default()
            }),
            alone: true,
            ..SpawnOptions::default()
        },
    )
    .await;
    let fx = fixture(app.store(), app.now(), 10, 100_000, 5).await;
    let a = Arena {
        app,
        second: None,
        admissions: Vec::new(),
        fx,
        seat: None,
        code: None,
    };
    let admission = Admission::new(
        a.app.store().clone(),
        AdmissionSettings {
            enabled: true,
            max_wait: Duration::ZERO,
            max_batch: 1,
            queue_limit: 2,
        },
    );
    std::fs::write(&flag, "").unwrap();
    let first = tokio::spawn({
        let (admission, hold) = (admission.clone(), units(&a, 0, 1));
        async move { admission.take_hold(hold).await }
    });
    let stalled = flag.with_extension("stalled");
    assert!(
        crate::helpers::wait_for_file(&stalled, Duration::from_secs(10)).await,
        "the first batch reached the stall"
    );
    // Buyer 1 gives up after 50 ms; buyer 2 waits; buyer 3 finds the queue full.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        admission.take_hold(units(&a, 1, 1)),
    )
    .await;
    assert!(gave_up.is_err(), "buyer 1 waited behind the stalled batch");
    let third = tokio::spawn({
        let (admission, hold) = (admission.clone(), units(&a, 2, 1));
        async move { admission.take_hold(hold).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let full = admission.take_hold(units(&a, 3, 1)).await;
    assert!(matches!(full, Err(StoreError::Busy(_))), "{full:?}");
    std::fs::remove_file(&flag).unwrap();
    assert!(first.await.unwrap().is_ok());
    assert!(third.await.unwrap().is_ok());
    let of = |who: usize| {
        format!(
            "SELECT COUNT(*) FROM orders WHERE user_id = '{}'",
            a.fx.buyers[who].as_str()
        )
    };
    assert_eq!(
        raw_i64(&a.app.db, &of(1)).await,
        0,
        "buyer 1 left, and holds nothing"
    );
    assert_eq!(raw_i64(&a.app.db, &of(3)).await, 0);
    assert_eq!(raw_i64(&a.app.db, &held(&a)).await, 2);
    assert_all_invariants(&a.app.db).await;
    a.finish().await;
}
