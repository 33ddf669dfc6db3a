//! The outbox: retries with backoff, dead letters, dedupe, leases, and
//! several workers on one database.

use std::time::Duration;

use admit::{domain::Timestamp, jobs, store::NewJob};

use crate::{
    both_backends,
    helpers::{Backend, SpawnOptions, raw_i64, spawn_app, spawn_app_with},
};

/// The configured job lease.
fn lease(app: &crate::helpers::TestApp) -> Duration {
    Duration::from_secs(u64::from(app.state.config.settings.job_lease_secs))
}

both_backends!(
    a_failing_job_is_retried_with_backoff_then_dead_lettered,
    two_instances_never_run_the_same_job_twice,
    periodic_jobs_are_scheduled_once_per_slot_across_instances,
    a_job_whose_worker_died_is_taken_again_after_its_lease,
    the_cleanup_job_releases_expired_holds,
    the_cleanup_job_deletes_expired_sessions,
);

async fn the_cleanup_job_deletes_expired_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    admit::services::seed::seed(&app.state).await.unwrap();
    app.sign_in_as(&app.client, "attendee1@admit.test").await;
    assert_eq!(raw_i64(&app.db, "SELECT COUNT(*) FROM sessions").await, 1);

    // Idle past the session lifetime: the record is deleted in the background.
    app.advance(Duration::from_secs(15 * 86_400));
    jobs::schedule_periodic(&app.state).await.unwrap();
    // The cleanup and the payment reconciliation.
    assert_eq!(app.run_jobs().await, 2);

    assert_eq!(raw_i64(&app.db, "SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(app.get("/api/v1/user/me").await.status(), 401);
    app.finish().await;
}

fn job(kind: &str, at: Timestamp, key: Option<String>, max_attempts: u32) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: serde_json::json!({}),
        run_at: at,
        dedupe_key: key,
        max_attempts,
    }
}

async fn a_failing_job_is_retried_with_backoff_then_dead_lettered(backend: Backend) {
    let app = spawn_app(backend).await;
    // No handler knows this kind, so every attempt fails.
    app.store()
        .enqueue_job(job("no-such-job", app.now(), None, 3), app.now())
        .await
        .unwrap();

    assert_eq!(app.run_jobs().await, 1, "first attempt runs at once");
    assert_eq!(app.run_jobs().await, 0, "the retry waits for its backoff");
    let counts = app.store().job_counts().await.unwrap();
    assert_eq!((counts.queued, counts.dead), (1, 0));

    // Backoff after attempt 1 is 1-3 s, after attempt 2 is 2-6 s.
    app.advance(Duration::from_secs(4));
    assert_eq!(app.run_jobs().await, 1);
    app.advance(Duration::from_secs(7));
    assert_eq!(app.run_jobs().await, 1);

    let counts = app.store().job_counts().await.unwrap();
    assert_eq!(
        (counts.queued, counts.running, counts.dead),
        (0, 0, 1),
        "dead after max attempts"
    );
    let attempts = raw_i64(&app.db, "SELECT attempts FROM jobs").await;
    assert_eq!(attempts, 3);
    app.finish().await;
}

async fn two_instances_never_run_the_same_job_twice(backend: Backend) {
    let a = spawn_app(backend).await;
    let b = spawn_app_with(
        backend,
        SpawnOptions {
            db: Some(a.db.clone()),
            ..SpawnOptions::default()
        },
    )
    .await;
    for _ in 0..30 {
        a.store()
            .enqueue_job(job(jobs::kinds::CLEANUP, a.now(), None, 3), a.now())
            .await
            .unwrap();
    }

    let (ran_a, ran_b) = tokio::join!(jobs::drain(&a.state), jobs::drain(&b.state));

    assert_eq!(
        ran_a.unwrap() + ran_b.unwrap(),
        30,
        "each job ran exactly once"
    );
    assert_eq!(a.store().job_counts().await.unwrap().done, 30);
    let mut b = b;
    b.shutdown().await;
    drop(b);
    a.finish().await;
}

async fn periodic_jobs_are_scheduled_once_per_slot_across_instances(backend: Backend) {
    let a = spawn_app(backend).await;
    let b = spawn_app_with(
        backend,
        SpawnOptions {
            db: Some(a.db.clone()),
            ..SpawnOptions::default()
        },
    )
    .await;

    for _ in 0..3 {
        let (x, y) = tokio::join!(
            jobs::schedule_periodic(&a.state),
            jobs::schedule_periodic(&b.state)
        );
        x.unwrap();
        y.unwrap();
    }
    assert_eq!(
        a.store().job_counts().await.unwrap().queued,
        2,
        "one cleanup and one reconciliation per slot"
    );
    assert_eq!(a.run_jobs().await, 2);
    let mut b = b;
    b.shutdown().await;
    drop(b);
    a.finish().await;
}

async fn a_job_whose_worker_died_is_taken_again_after_its_lease(backend: Backend) {
    let app = spawn_app(backend).await;
    app.store()
        .enqueue_job(job(jobs::kinds::CLEANUP, app.now(), None, 3), app.now())
        .await
        .unwrap();
    // A worker claims it and "crashes" (never reports back).
    let claimed = app
        .store()
        .claim_job(app.now(), lease(&app))
        .await
        .unwrap()
        .expect("claimed");
    assert!(
        app.store()
            .claim_job(app.now(), lease(&app))
            .await
            .unwrap()
            .is_none(),
        "leased job is not handed out"
    );

    app.advance(lease(&app) + Duration::from_secs(1));
    let again = app
        .store()
        .claim_job(app.now(), lease(&app))
        .await
        .unwrap()
        .expect("taken again after the lease");
    assert_eq!(again.id, claimed.id);
    assert_eq!(again.attempts, 2);
    app.store()
        .complete_job(&again.id, app.now())
        .await
        .unwrap();
    app.finish().await;
}

async fn the_cleanup_job_releases_expired_holds(backend: Backend) {
    use admit::store::TakeHold;
    let app = spawn_app(backend).await;
    let fx = crate::helpers::fixture(app.store(), app.now(), 5, 1_000, 1).await;
    let now = app.now();
    app.store()
        .take_hold(TakeHold::of_tier(
            fx.buyers[0].clone(),
            fx.event.clone(),
            fx.tier.clone(),
            3,
            1_000,
            now,
            now.plus_minutes(15),
        ))
        .await
        .unwrap();
    app.advance(Duration::from_secs(15 * 60 + 1));

    jobs::schedule_periodic(&app.state).await.unwrap();
    // The cleanup and the payment reconciliation.
    assert_eq!(app.run_jobs().await, 2);

    let (_, _, held) = crate::helpers::assert_quota_invariants(&app.db, &fx.quota).await;
    assert_eq!(held, 0, "the sweeper gave the stock back");
    app.finish().await;
}
