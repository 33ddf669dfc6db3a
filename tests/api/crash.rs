//! Crash safety: the real server binary is killed with SIGKILL at random
//! points while buyers hold, check out and pay (through the fake Stripe,
//! whose webhooks are re-delivered until answered, as Stripe does), 20 times
//! in a row. After every kill the stock invariants hold; after the last
//! restart the outbox drains, every paid order has its confirmation and
//! ticket-issue jobs exactly once and one ticket per unit, and every payment
//! is either kept or refunded.

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use admit::{
    clock::SystemClock,
    store::{NewUser, StoreOptions},
};
use rand::Rng;
use serde_json::{Value, json};

use crate::{
    both_backends,
    fake_stripe::FakeStripe,
    helpers::{Backend, TestDb, assert_all_invariants, big_test_permit, fixture, raw_i64},
};

both_backends!(
    killing_the_server_at_random_points_loses_no_payment_and_runs_every_job_once,
    killing_the_server_in_the_middle_of_a_batch_keeps_every_told_hold_and_no_other,
);

const ITERATIONS: usize = 20;
const BUYERS: usize = 6;
const PASSWORD: &str = "Str0ng!pass";

/// A free port on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: tokio::process::Child,
    url: String,
}

/// Starts `admit serve` on the test database with the fake as Stripe, and
/// waits until it is ready.
async fn start_server(db: &TestDb, port: u16, fake: &FakeStripe) -> Server {
    start_server_with(db, port, fake, &[]).await
}

/// [`start_server`] with more environment.
async fn start_server_with(
    db: &TestDb,
    port: u16,
    fake: &FakeStripe,
    extra: &[(&str, String)],
) -> Server {
    let url = format!("http://127.0.0.1:{port}");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_admit"))
        .arg("serve")
        .env("ADMIT_DATABASE_URL", &db.url)
        .env("ADMIT_DATA_DIR", db.data_dir())
        .env("ADMIT_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("ADMIT_PUBLIC_URL", &url)
        .env("ADMIT_LOG", "error")
        .env("ADMIT_WORKER_POLL_MS", "20")
        .env("ADMIT_JOB_LEASE_SECS", "1")
        .env("ADMIT_DB_MAX_CONNECTIONS", "8")
        .env("ADMIT_STRIPE_API_BASE", fake.url())
        .env("ADMIT_STRIPE_TIMEOUT_MS", "2000")
        .envs(fake.env())
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the admit binary starts");
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{url}/readyz")).send().await
            && r.status().is_success()
        {
            return Server { child, url };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not become ready");
}

/// One buyer's way through, again and again until the server dies: sign in,
/// then hold a ticket, check out, pay at the (fake) Stripe, and have the
/// webhook delivered. Any step may fail when the server dies; what Stripe
/// sent is remembered so it can be delivered again later.
async fn buy(
    url: &str,
    email: &str,
    fake: &FakeStripe,
    undelivered: &Mutex<Vec<String>>,
    event: &str,
    tier: &str,
) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let Ok(r) = client
        .post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
    else {
        return;
    };
    if !r.status().is_success() {
        return;
    }
    while purchase(&client, url, email, fake, undelivered, event, tier).await {}
}

/// One purchase; false once the server stopped answering.
async fn purchase(
    client: &reqwest::Client,
    url: &str,
    email: &str,
    fake: &FakeStripe,
    undelivered: &Mutex<Vec<String>>,
    event: &str,
    tier: &str,
) -> bool {
    let Ok(r) = client
        .post(format!("{url}/api/v1/orders"))
        .json(&json!({"event_id": event, "tiers": [{"tier_id": tier, "quantity": 1}]}))
        .send()
        .await
    else {
        return false;
    };
    let Ok(order) = r.json::<Value>().await else {
        return false;
    };
    let Some(id) = order["id"].as_str().map(str::to_owned) else {
        return true;
    };
    let Ok(r) = client
        .post(format!("{url}/api/v1/orders/{id}/checkout"))
        .json(&json!({"attendees": [{"name": "Crash Test", "email": email}]}))
        .send()
        .await
    else {
        return false;
    };
    if !r.status().is_success() {
        return true;
    }
    let Some(session) = fake.session_of(&id) else {
        return true;
    };
    if session.status != "open" {
        return true;
    }
    let body = fake.complete(&session.id, true);
    undelivered.lock().unwrap().push(body.clone());
    let delivered = fake.deliver(&body).await;
    if (200..300).contains(&delivered) {
        undelivered.lock().unwrap().retain(|b| b != &body);
    }
    delivered != 0
}

async fn killing_the_server_at_random_points_loses_no_payment_and_runs_every_job_once(
    backend: Backend,
) {
    let _alone = big_test_permit().await;
    // Arrange: an event with more stock than will be sold, and buyers with
    // passwords, written through the store before any server runs.
    let db = TestDb::new(backend).await;
    let store = admit::store::open(&db.url, StoreOptions::default())
        .await
        .unwrap();
    let clock = SystemClock::new();
    let now = admit::clock::Clock::now(&clock);
    let fx = fixture(&store, now, 100_000, 100_000, 0).await;
    let hash = admit::services::accounts::hash_password(PASSWORD.to_owned())
        .await
        .unwrap();
    let mut buyers = Vec::new();
    for i in 0..BUYERS * 4 {
        let email = format!("crash{i}@example.test");
        store
            .create_user(NewUser {
                email: email.clone(),
                name: format!("Buyer {i}"),
                password_hash: Some(hash.clone()),
                is_admin: false,
                email_verified_at: Some(now),
                now,
            })
            .await
            .unwrap();
        buyers.push(email);
    }
    store.close().await;
    let fake = FakeStripe::start(Arc::new(SystemClock::new())).await;
    let port = free_port();
    let undelivered = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut rng = rand::rng();
    // Figures: flows cut short by a kill, and webhooks Stripe had to send
    // again after a restart.
    let (mut interrupted, mut redelivered) = (0usize, 0usize);

    // Act: 20 rounds of load, each ended by SIGKILL at a random instant.
    for round in 0..ITERATIONS {
        let mut server = start_server(&db, port, &fake).await;
        fake.set_webhook_target(&format!("{}/api/v1/payments/stripe/webhooks", server.url));
        let mut tasks = tokio::task::JoinSet::new();
        // Stripe re-delivers what was not answered.
        let pending = undelivered.lock().unwrap().clone();
        for body in pending {
            redelivered += 1;
            let (fake, undelivered) = (fake.clone(), undelivered.clone());
            tasks.spawn(async move {
                if (200..300).contains(&fake.deliver(&body).await) {
                    undelivered.lock().unwrap().retain(|b| b != &body);
                }
            });
        }
        for b in 0..BUYERS {
            let email = buyers[(round * BUYERS + b) % buyers.len()].clone();
            let (fake, undelivered, url) = (fake.clone(), undelivered.clone(), server.url.clone());
            let (event, tier) = (fx.event.to_string(), fx.tier.to_string());
            tasks.spawn(async move { buy(&url, &email, &fake, &undelivered, &event, &tier).await });
        }
        let kill_after = Duration::from_millis(rng.random_range(50..1500));
        tokio::time::sleep(kill_after).await;
        server.child.start_kill().expect("SIGKILL");
        let _ = server.child.wait().await;
        while tasks.try_join_next().is_some() {}
        interrupted += tasks.len();
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        // Assert after every kill: the database is consistent.
        assert_all_invariants(&db).await;
    }

    // The last restart: every webhook is delivered and the outbox drains.
    let mut server = start_server(&db, port, &fake).await;
    fake.set_webhook_target(&format!("{}/api/v1/payments/stripe/webhooks", server.url));
    let pending = undelivered.lock().unwrap().clone();
    for body in pending {
        assert_eq!(
            fake.deliver_until_ok(&body, 50, Duration::from_millis(100))
                .await,
            200
        );
    }
    let mut left = i64::MAX;
    for _ in 0..600 {
        left = raw_i64(
            &db,
            "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND kind <> 'cleanup' AND kind <> 'reconcile_payments'",
        )
        .await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.child.start_kill().unwrap();
    let _ = server.child.wait().await;
    assert_eq!(left, 0, "the outbox drained after the restart");

    // Every payment the gateway took is kept (its order paid) or refunded.
    let paid_sessions: Vec<_> = fake
        .sessions()
        .into_iter()
        .filter(|s| s.payment_status == "paid")
        .collect();
    assert!(!paid_sessions.is_empty(), "some purchases went through");
    let refunds = fake.refunds();
    for s in &paid_sessions {
        let status = crate::helpers::raw_text(
            &db,
            &format!("SELECT status FROM orders WHERE id = '{}'", s.order_id),
        )
        .await;
        let refunded = refunds
            .iter()
            .filter(|r| Some(r.payment_intent.as_str()) == s.payment_intent.as_deref())
            .count();
        match status.as_str() {
            "paid" => assert_eq!(refunded, 0, "a kept payment is not refunded"),
            _ => assert_eq!(
                refunded, 1,
                "money for order {} ({status}) is refunded once",
                s.order_id
            ),
        }
    }
    // Every paid order has each of its jobs exactly once.
    let paid = raw_i64(&db, "SELECT COUNT(*) FROM orders WHERE status = 'paid'").await;
    assert_eq!(paid as usize, paid_sessions.len() - refunds.len());
    for (kind, key) in [
        ("send_email", "order-confirmed:"),
        ("issue_tickets", "issue-tickets:"),
    ] {
        let per_order = raw_i64(
            &db,
            &format!(
                "SELECT COUNT(*) FROM orders o WHERE o.status = 'paid' AND
                   (SELECT COUNT(*) FROM jobs j WHERE j.kind = '{kind}' AND j.dedupe_key = '{key}' || o.id) = 1"
            ),
        )
        .await;
        assert_eq!(per_order, paid, "every paid order has one {kind} job");
    }
    // …and each unit of a paid order exactly one valid ticket.
    let units = raw_i64(
        &db,
        "SELECT COUNT(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id WHERE o.status = 'paid'",
    )
    .await;
    let issued = raw_i64(&db, "SELECT COUNT(*) FROM tickets WHERE status = 'valid'").await;
    assert_eq!(issued, units, "one ticket per unit sold");
    eprintln!(
        "crash test ({backend:?}): {ITERATIONS} kills cut {interrupted} flows short; {} sessions, \
         {} paid at the gateway, {paid} orders paid, {issued} tickets issued, {} refunded, \
         {redelivered} webhook deliveries repeated after a restart",
        fake.sessions().len(),
        paid_sessions.len(),
        refunds.len()
    );
    let dead = raw_i64(&db, "SELECT COUNT(*) FROM jobs WHERE status = 'dead'").await;
    assert_eq!(dead, 0, "no job gave up");
    assert_all_invariants(&db).await;
    db.drop_db().await;
}

/// The signing key the mid-batch test gives the server, so it can mint its
/// buyers' access tokens without signing each of them in.
const TOKEN_KEY: &str = "crash-test-token-signing-key-0123456789abcdef0123456789abcdef";

/// An access token for `user`, as the server at `url` would issue it.
fn access_token(user: &str, url: &str) -> String {
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &admit::services::tokens::AccessClaims {
            sub: user.to_owned(),
            iss: url.to_owned(),
            aud: admit::services::tokens::AUDIENCE.to_owned(),
            iat,
            exp: iat + 3600,
            epoch: 0,
        },
        &jsonwebtoken::EncodingKey::from_secret(TOKEN_KEY.as_bytes()),
    )
    .unwrap()
}

/// Buyers `range` each ask for one ticket at once; the order ids of those
/// told "held" (201), and how many got no answer at all.
async fn hold_all(
    url: &str,
    tokens: &[String],
    range: std::ops::Range<usize>,
    event: &str,
    tier: &str,
) -> (Vec<String>, usize) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for b in range {
        let (client, url, token) = (client.clone(), url.to_owned(), tokens[b].clone());
        let body = json!({"event_id": event, "tiers": [{"tier_id": tier, "quantity": 1}]});
        tasks.spawn(async move {
            let r = client
                .post(format!("{url}/api/v1/orders"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .ok()?;
            if r.status() != reqwest::StatusCode::CREATED {
                return Some(None);
            }
            let v: Value = r.json().await.ok()?;
            Some(v["id"].as_str().map(str::to_owned))
        });
    }
    let (mut told, mut unanswered) = (Vec::new(), 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Some(Some(id)) => told.push(id),
            Some(None) => {}
            None => unanswered += 1,
        }
    }
    (told, unanswered)
}

/// Group admission and durability: a batch of holds is stopped just before
/// its commit (the test hook) and the server is killed with SIGKILL. Every
/// buyer told "held" before keeps the hold; the buyers of the killed batch
/// were told nothing and hold nothing; after a restart they can hold.
async fn killing_the_server_in_the_middle_of_a_batch_keeps_every_told_hold_and_no_other(
    backend: Backend,
) {
    let _alone = big_test_permit().await;
    const FIRST: usize = 20;
    const SECOND: usize = 20;
    let db = TestDb::new(backend).await;
    let store = admit::store::open(&db.url, StoreOptions::default())
        .await
        .unwrap();
    let now = admit::clock::Clock::now(&SystemClock::new());
    let fx = fixture(&store, now, 1_000, 100_000, FIRST + SECOND).await;
    store.close().await;
    let (event, tier) = (fx.event.to_string(), fx.tier.to_string());
    let level = |column: &str| {
        format!(
            "SELECT {column} FROM quotas WHERE id = '{}'",
            fx.quota.as_str()
        )
    };
    let fake = FakeStripe::start(Arc::new(SystemClock::new())).await;
    let port = free_port();
    let flag = db.data_dir().join("stall-admission");
    let env = [
        ("ADMIT_GROUP_ADMISSION", "true".to_owned()),
        // Wide enough that each wave of buyers is gathered in a few batches.
        ("ADMIT_ADMISSION_MAX_WAIT_MS", "50".to_owned()),
        ("ADMIT_TOKEN_SIGNING_KEY", TOKEN_KEY.to_owned()),
        (
            "ADMIT_TEST_STALL_ADMISSION_BATCH",
            flag.display().to_string(),
        ),
    ];
    let mut server = start_server_with(&db, port, &fake, &env).await;
    let tokens: Vec<String> = fx
        .buyers
        .iter()
        .map(|b| access_token(b.as_str(), &server.url))
        .collect();

    // The first wave is told "held".
    let (told, unanswered) = hold_all(&server.url, &tokens, 0..FIRST, &event, &tier).await;
    assert_eq!(
        (told.len(), unanswered),
        (FIRST, 0),
        "the first wave is held"
    );

    // The second wave's first batch stops before its commit; SIGKILL.
    std::fs::write(&flag, "").unwrap();
    let second = tokio::spawn({
        let (url, tokens, event, tier) = (
            server.url.clone(),
            tokens.clone(),
            event.clone(),
            tier.clone(),
        );
        async move { hold_all(&url, &tokens, FIRST..FIRST + SECOND, &event, &tier).await }
    });
    let stalled = flag.with_extension("stalled");
    crate::helpers::wait_for_file(&stalled, Duration::from_secs(30)).await;
    let in_batch: usize = std::fs::read_to_string(&stalled)
        .expect("a batch reached the stall")
        .trim()
        .parse()
        .unwrap();
    server.child.start_kill().expect("SIGKILL");
    let _ = server.child.wait().await;
    let (told_late, unanswered) = second.await.unwrap();
    assert!(
        told_late.is_empty(),
        "nobody of the killed wave was told \"held\": {told_late:?}"
    );
    assert_eq!(unanswered, SECOND, "the killed wave got no answers");
    std::fs::remove_file(&flag).unwrap();

    // Every told hold is there and counted; nothing else is.
    let ids = told
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        raw_i64(
            &db,
            &format!("SELECT COUNT(*) FROM orders WHERE status = 'reserved' AND id IN ({ids})")
        )
        .await,
        FIRST as i64
    );
    assert_eq!(
        raw_i64(&db, "SELECT COUNT(*) FROM orders").await,
        FIRST as i64
    );
    assert_eq!(raw_i64(&db, &level("held")).await, FIRST as i64);
    assert_eq!(raw_i64(&db, &level("sold")).await, 0);
    assert_all_invariants(&db).await;

    // After a restart the killed wave can hold.
    let mut server = start_server_with(&db, port, &fake, &env).await;
    let (again, unanswered) =
        hold_all(&server.url, &tokens, FIRST..FIRST + SECOND, &event, &tier).await;
    assert_eq!(
        (again.len(), unanswered),
        (SECOND, 0),
        "the killed wave holds after the restart"
    );
    assert_eq!(raw_i64(&db, &level("held")).await, (FIRST + SECOND) as i64);
    server.child.start_kill().unwrap();
    let _ = server.child.wait().await;
    assert_all_invariants(&db).await;
    eprintln!(
        "mid-batch kill ({backend:?}): {FIRST} holds told and kept; the killed batch had {in_batch} granted holds, none kept"
    );
    db.drop_db().await;
}
