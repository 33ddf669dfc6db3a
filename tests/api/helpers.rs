//! The test harness: `spawn_app()` starts the real app on port 0 with a
//! fresh database per test, on SQLite or PostgreSQL.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use admit::{
    clock::SystemClock,
    config::{Config, Settings},
    domain::{Category, Currency, EventId, EventStatus, QuotaId, TierId, Timestamp, UserId},
    state::AppState,
    store::{NewEvent, NewOrganization, NewQuota, NewTier, NewUser, Store, StoreOptions},
};

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Tests per backend that actually ran (printed by the Makefile from the
/// test names; counted here for the skip message).
pub static PG_SKIPPED: AtomicUsize = AtomicUsize::new(0);

/// Generates one test per backend from an `async fn(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    if $crate::helpers::pg_available().await {
                        super::$name($crate::helpers::Backend::Postgres).await
                    }
                }
            }
        )*
    };
}

/// The PostgreSQL server tests use.
pub fn pg_admin_url() -> String {
    std::env::var("ADMIT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Whether PostgreSQL answers. Under `CI=true` an unreachable server fails
/// the test instead of skipping it.
pub async fn pg_available() -> bool {
    use sqlx::Connection;
    match sqlx::PgConnection::connect(&pg_admin_url()).await {
        Ok(c) => {
            let _ = c.close().await;
            true
        }
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "PostgreSQL at {} is unreachable under CI=true: {e}",
                    pg_admin_url()
                );
            }
            PG_SKIPPED.fetch_add(1, Ordering::SeqCst);
            eprintln!("SKIPPED (PostgreSQL unreachable: {e})");
            false
        }
    }
}

/// A database made for one test, removed afterwards.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("admit.db").display());
                Self {
                    backend,
                    url,
                    dir,
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                use sqlx::Connection;
                let name = format!("admit_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&pg_admin_url())
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                let _ = admin.close().await;
                let base = pg_admin_url();
                let url = match base.rfind('/') {
                    Some(i) if base[..i].contains("://") && i > base.find("://").unwrap() + 2 => {
                        format!("{}/{name}", &base[..i])
                    }
                    _ => format!("{base}/{name}"),
                };
                Self {
                    backend,
                    url,
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    /// Drops the PostgreSQL database (SQLite files go with the temp dir).
    pub async fn drop_db(&self) {
        if let Some(name) = &self.pg_name {
            use sqlx::Connection;
            if let Ok(mut admin) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await;
                let _ = admin.close().await;
            }
        }
    }
}

/// Settings for a test app: the checked-in Leptos.toml with test overrides.
pub fn test_settings(db: &TestDb) -> Settings {
    let mut s =
        Settings::parse(include_str!("../../Leptos.toml"), |_| None).expect("Leptos.toml parses");
    s.database_url = db.url.clone();
    s.data_dir = db.data_dir();
    s.worker_enabled = false;
    s.log = "warn".into();
    // Every test signs in from 127.0.0.1, many times: abuse limits stay out
    // of the way unless a test sets its own.
    s.rate_limits =
        "sign_in=10000/10000,send_code=10000/10000,sign_up=10000/10000,password_reset=10000/10000"
            .into();
    s
}

/// A running app.
pub struct TestApp {
    pub url: String,
    pub state: AppState,
    pub db: Arc<TestDb>,
    pub client: reqwest::Client,
    finished: bool,
    /// Shared hold on the load lock (none for a second instance of a test,
    /// or for a test that runs alone).
    _load: Option<tokio::sync::RwLockReadGuard<'static, ()>>,
    server: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A change to a test app's settings before it starts.
pub type SettingsEdit = Box<dyn FnOnce(&mut Settings) + Send>;

/// Options for [`spawn_app_with`].
#[derive(Default)]
pub struct SpawnOptions {
    /// Share this database (a second instance) instead of making one.
    pub db: Option<Arc<TestDb>>,
    /// Store options (pool size, race-sanity twin).
    pub store: Option<StoreOptions>,
    /// Change settings before start.
    pub settings: Option<SettingsEdit>,
    /// Environment for secrets and providers (e.g. `ADMIT_SMTP_URL`).
    pub env: Vec<(&'static str, String)>,
    /// The test holds [`big_test_permit`] (it runs alone).
    pub alone: bool,
    /// The app's clock (shared with a fake that must agree on "now").
    pub clock: Option<Arc<SystemClock>>,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, SpawnOptions::default()).await
}

pub async fn spawn_app_with(backend: Backend, opts: SpawnOptions) -> TestApp {
    let load = if opts.db.is_none() && !opts.alone {
        Some(LOAD.read().await)
    } else {
        None
    };
    let db = match opts.db {
        Some(db) => db,
        None => Arc::new(TestDb::new(backend).await),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr = listener.local_addr().unwrap();
    let mut settings = test_settings(&db);
    settings.site_addr = addr;
    settings.public_url = format!("http://{addr}");
    if let Some(f) = opts.settings {
        f(&mut settings);
    }
    admit::telemetry::init_tracing(&settings);
    let env = opts.env;
    let config = Config::from_settings(settings, |k| {
        env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    })
    .expect("config");
    let store_opts = opts.store.unwrap_or(StoreOptions {
        max_connections: 8,
        ..StoreOptions::default()
    });
    let clock = opts.clock.unwrap_or_else(|| Arc::new(SystemClock::new()));
    let state = admit::startup::build_state(config, clock, store_opts)
        .await
        .expect("state");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server_state = state.clone();
    let server = tokio::spawn(async move {
        admit::startup::serve(server_state, listener, async {
            let _ = stop_rx.await;
        })
        .await
        .expect("server runs");
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    TestApp {
        url: format!("http://{addr}"),
        state,
        db,
        client,
        finished: false,
        _load: load,
        server,
        stop: Some(stop_tx),
    }
}

impl TestApp {
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.state.store
    }

    pub fn now(&self) -> Timestamp {
        self.state.now()
    }

    /// Moves the app's clock forward.
    pub fn advance(&self, d: Duration) {
        self.state.clock.advance_millis(d.as_millis() as i64);
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    /// Runs every due job now.
    pub async fn run_jobs(&self) -> u32 {
        admit::jobs::drain(&self.state).await.expect("jobs run")
    }

    /// Ends the test: no job may be left unprocessed; then the server stops
    /// and the database is dropped.
    pub async fn finish(mut self) {
        self.finished = true;
        let counts = self.store().job_counts().await.expect("job counts");
        assert_eq!(
            (counts.queued, counts.running),
            (0, 0),
            "the test left jobs unprocessed in the outbox: {counts:?}"
        );
        self.shutdown().await;
        if Arc::strong_count(&self.db) == 1 {
            self.db.drop_db().await;
        }
    }

    /// Stops the server (a second instance sharing the database).
    pub async fn shutdown(&mut self) {
        self.finished = true;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(15), &mut self.server).await;
        self.state.store.close().await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if !self.finished && !std::thread::panicking() {
            panic!("end every test with `app.finish().await` so the outbox is checked");
        }
    }
}

/// A published event with one quota and one tier, plus `buyers` users.
pub struct Fixture {
    pub event: EventId,
    pub quota: QuotaId,
    pub tier: TierId,
    pub buyers: Vec<UserId>,
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Creates an organization, a published event with one tier on one quota of
/// `size`, and `buyers` users.
pub async fn fixture(
    store: &Arc<dyn Store>,
    now: Timestamp,
    size: i64,
    price: i64,
    buyers: usize,
) -> Fixture {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let owner = store
        .create_user(NewUser {
            email: format!("owner{n}@example.test"),
            name: "Owner".into(),
            password_hash: None,
            is_admin: false,
            email_verified_at: Some(now),
            now,
        })
        .await
        .unwrap();
    let org = store
        .create_organization(NewOrganization {
            slug: format!("org-{n}"),
            name: "Org".into(),
            contact_email: "org@example.test".into(),
            description: String::new(),
            approved: true,
            owner: UserId::from_string(owner.id),
            now,
        })
        .await
        .unwrap();
    let event = store
        .create_event(NewEvent {
            org_id: org,
            slug: format!("event-{n}"),
            title: format!("Event {n}"),
            description: String::new(),
            category: Category::Music,
            venue: "Hall".into(),
            address: String::new(),
            city: "Jakarta".into(),
            starts_at: now.plus_minutes(60 * 24 * 7),
            ends_at: now.plus_minutes(60 * 24 * 7 + 120),
            time_zone: "Asia/Jakarta".into(),
            currency: Currency::IDR,
            now,
        })
        .await
        .unwrap();
    let quota = store
        .create_quota(NewQuota {
            event_id: event.clone(),
            name: "Capacity".into(),
            size,
        })
        .await
        .unwrap();
    let tier = store
        .create_tier(NewTier {
            event_id: event.clone(),
            name: "Regular".into(),
            description: String::new(),
            price_minor: price,
            max_per_order: 10,
            sale_starts_at: None,
            sale_ends_at: None,
            hidden: false,
            position: 0,
            early_bird: None,
            quota_ids: vec![quota.clone()],
        })
        .await
        .unwrap();
    store
        .set_event_status(&event, EventStatus::Published, now)
        .await
        .unwrap();
    let mut users = Vec::with_capacity(buyers);
    for i in 0..buyers {
        let u = store
            .create_user(NewUser {
                email: format!("buyer{n}-{i}@example.test"),
                name: format!("Buyer {i}"),
                password_hash: None,
                is_admin: false,
                email_verified_at: Some(now),
                now,
            })
            .await
            .unwrap();
        users.push(UserId::from_string(u.id));
    }
    Fixture {
        event,
        quota,
        tier,
        buyers: users,
    }
}

/// Runs raw SQL on the test database through its own connection (never
/// through the app), returning the error if the database refused it.
pub async fn raw_execute(db: &TestDb, sql: &str) -> Result<u64, sqlx::Error> {
    use sqlx::Connection;
    match db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await?;
            let r = sqlx::query(sql)
                .execute(&mut c)
                .await
                .map(|r| r.rows_affected());
            let _ = c.close().await;
            r
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await?;
            let r = sqlx::query(sql)
                .execute(&mut c)
                .await
                .map(|r| r.rows_affected());
            let _ = c.close().await;
            r
        }
    }
}

/// Runs a raw scalar query returning one i64.
pub async fn raw_i64(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection;
    match db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            let (v,): (i64,) = sqlx::query_as(sql).fetch_one(&mut c).await.unwrap();
            v
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let (v,): (i64,) = sqlx::query_as(sql).fetch_one(&mut c).await.unwrap();
            v
        }
    }
}

/// Asserts the stock invariants of one quota: `held` equals the items of
/// open holds drawing on it, `sold` the items of paid orders, and
/// `sold + held <= size`. Returns (size, sold, held).
pub async fn assert_quota_invariants(db: &TestDb, quota: &QuotaId) -> (i64, i64, i64) {
    let q = quota.as_str();
    let size = raw_i64(db, &format!("SELECT size FROM quotas WHERE id = '{q}'")).await;
    let sold = raw_i64(db, &format!("SELECT sold FROM quotas WHERE id = '{q}'")).await;
    let held = raw_i64(db, &format!("SELECT held FROM quotas WHERE id = '{q}'")).await;
    let open_items = raw_i64(
        db,
        &format!(
            "SELECT COUNT(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id
             JOIN tier_quotas tq ON tq.tier_id = oi.tier_id
             WHERE tq.quota_id = '{q}' AND o.status IN ('reserved', 'pending_payment')"
        ),
    )
    .await;
    let paid_items = raw_i64(
        db,
        &format!(
            "SELECT COUNT(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id
             JOIN tier_quotas tq ON tq.tier_id = oi.tier_id
             WHERE tq.quota_id = '{q}' AND o.status = 'paid'"
        ),
    )
    .await;
    assert_eq!(held, open_items, "held must equal the items of open holds");
    assert_eq!(sold, paid_items, "sold must equal the items of paid orders");
    assert!(sold + held <= size, "sold + held must not exceed size");
    (size, sold, held)
}

/// Every test app shares this lock for reading; the race tests, which load
/// both databases and both cores as hard as they can, take it for writing
/// and so run alone. Otherwise a test beside them could be starved past the
/// server's 30 s request timeout on this 2-core machine.
static LOAD: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Tests that open many connections at once take this permit: they run
/// alone, and must spawn their apps with `SpawnOptions::alone`.
pub async fn big_test_permit() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    LOAD.write().await
}

/// The emails the app wrote (development file transport), oldest first,
/// as raw RFC 5322 text.
pub fn sent_mail(app: &TestApp) -> Vec<String> {
    let dir = app.db.data_dir().join("mail");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// The last 6-digit code mailed to `email`.
pub fn last_code_for(app: &TestApp, email: &str) -> String {
    let mails = sent_mail(app);
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.contains(&format!("To: {email}")))
        .unwrap_or_else(|| panic!("no mail to {email}"));
    let text = decode_mail(mail);
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5))
        .find(|&i| {
            bytes[i..i + 6].iter().all(u8::is_ascii_digit)
                && (i == 0 || !bytes[i - 1].is_ascii_digit())
                && bytes.get(i + 6).is_none_or(|b| !b.is_ascii_digit())
        })
        .map(|i| text[i..i + 6].to_owned())
        .expect("a 6-digit code in the mail")
}

/// The bodies of a MIME message, decoded (quoted-printable and base64), so
/// tests can search what a person would read.
pub fn decode_mail(raw: &str) -> String {
    use base64::Engine;
    let raw = raw.replace("\r\n", "\n");
    let mut out = String::new();
    for part in raw.split("\n--") {
        let Some((headers, body)) = part.split_once("\n\n") else {
            continue;
        };
        let lower = headers.to_ascii_lowercase();
        if lower.contains("content-transfer-encoding: base64") {
            let joined: String = body.lines().take_while(|l| !l.starts_with("--")).collect();
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(joined.trim()) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        } else if lower.contains("content-transfer-encoding: quoted-printable") {
            let soft = body.replace("=\n", "");
            let b = soft.as_bytes();
            let mut bytes = Vec::with_capacity(b.len());
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'='
                    && i + 2 < b.len()
                    && let Ok(v) = u8::from_str_radix(&soft[i + 1..i + 3], 16)
                {
                    bytes.push(v);
                    i += 3;
                    continue;
                }
                bytes.push(b[i]);
                i += 1;
            }
            out.push_str(&String::from_utf8_lossy(&bytes));
        } else {
            out.push_str(body);
        }
        out.push('\n');
    }
    out
}

impl TestApp {
    /// POSTs JSON to the API.
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("POST")
    }

    /// PUTs JSON to the API.
    pub async fn put_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .put(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("PUT")
    }

    /// A second browser (its own cookie jar) on the same app.
    pub fn new_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap()
    }

    /// Registers, verifies with the mailed code, and stays signed in on `client`.
    pub async fn verified_user(&self, client: &reqwest::Client, email: &str) -> serde_json::Value {
        let r = client
            .post(format!("{}/api/v1/auth/register", self.url))
            .json(&serde_json::json!({"name": "Test Person", "email": email, "password": "Str0ng!pass"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "register {email}");
        self.run_jobs().await;
        let code = last_code_for(self, email);
        let r = client
            .post(format!("{}/api/v1/auth/verify-email", self.url))
            .json(&serde_json::json!({"code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "verify {email}");
        client
            .get(format!("{}/api/v1/user/me", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Signs in a seeded demo account on `client`.
    pub async fn sign_in_as(&self, client: &reqwest::Client, email: &str) {
        let r = client
            .post(format!("{}/api/v1/auth/login", self.url))
            .json(&serde_json::json!({"email": email, "password": admit::services::seed::DEMO_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "sign in {email}");
    }
}

/// Runs a raw query returning one text value.
pub async fn raw_text(db: &TestDb, sql: &str) -> String {
    raw_texts(db, sql)
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no row for {sql}"))
}

/// Runs a raw query returning text values.
pub async fn raw_texts(db: &TestDb, sql: &str) -> Vec<String> {
    use sqlx::Connection;
    match db.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
            rows.into_iter().map(|(v,)| v).collect()
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&db.url).await.unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
            rows.into_iter().map(|(v,)| v).collect()
        }
    }
}

/// The identity of an account, as the request middleware would resolve it.
pub async fn identity_of(app: &TestApp, email: &str) -> admit::services::authz::Identity {
    let account = app
        .store()
        .account_by_email(email)
        .await
        .unwrap()
        .expect("the account exists");
    let memberships = app.store().memberships(&account.user_id()).await.unwrap();
    admit::services::authz::Identity(Some(Arc::new(admit::services::authz::Viewer {
        account,
        memberships,
        credential: admit::services::authz::Credential::Session,
    })))
}

/// Takes a 15-minute hold of `units` of `tier` for `user` on `event`.
pub async fn hold(app: &TestApp, event: &str, tier: &str, user: &str, units: u32) {
    let now = app.now();
    app.store()
        .take_hold(admit::store::TakeHold::of_tier(
            UserId::from_string(user),
            EventId::from_string(event),
            TierId::from_string(tier),
            units,
            0,
            now,
            now.plus_minutes(15),
        ))
        .await
        .expect("the hold is granted");
}

/// Asserts every stock invariant of the whole database, by counting rows
/// independently of the counters the app keeps:
/// - each quota's `held` equals the items of open holds drawing on it, and
///   `sold + held <= size`;
/// - no seat is in two open or paid orders, and `seat_claims` holds exactly
///   the seats of open or paid orders;
/// - each code's `uses` equals the open or paid orders that used it.
pub async fn assert_all_invariants(db: &TestDb) {
    for q in raw_texts(db, "SELECT id FROM quotas").await {
        assert_quota_invariants(db, &QuotaId::from_string(q)).await;
    }
    let doubled = raw_i64(
        db,
        "SELECT COUNT(*) FROM (SELECT oi.seat_id FROM order_items oi JOIN orders o ON o.id = oi.order_id
          WHERE oi.seat_id IS NOT NULL AND o.status IN ('reserved', 'pending_payment', 'paid')
          GROUP BY oi.seat_id HAVING COUNT(*) > 1) d",
    )
    .await;
    assert_eq!(doubled, 0, "no seat may have two active claims");
    let seat_items = raw_i64(
        db,
        "SELECT COUNT(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id
          WHERE oi.seat_id IS NOT NULL AND o.status IN ('reserved', 'pending_payment', 'paid')",
    )
    .await;
    let claims = raw_i64(db, "SELECT COUNT(*) FROM seat_claims").await;
    assert_eq!(claims, seat_items, "a claim for every active seated item");
    let mismatched = raw_i64(
        db,
        "SELECT COUNT(*) FROM codes c WHERE c.uses <> (SELECT COUNT(*) FROM orders o
          WHERE o.code_id = c.id AND o.status IN ('reserved', 'pending_payment', 'paid'))",
    )
    .await;
    assert_eq!(mismatched, 0, "code uses must equal the orders using them");
}

/// Gives an event a seat map of `rows` rows of `per_row` seats in section
/// "Stalls", all selling as `tier`, and returns the seat ids in map order.
pub async fn seat_map(
    store: &Arc<dyn Store>,
    event: &EventId,
    tier: &TierId,
    rows: u32,
    per_row: u32,
) -> Vec<String> {
    let seats: Vec<admit::store::catalogue::NewSeat> =
        admit::domain::seats::grid("Stalls", 'A', rows, per_row, "")
            .unwrap()
            .into_iter()
            .map(|spec| admit::store::catalogue::NewSeat {
                spec,
                tier_id: Some(tier.to_string()),
            })
            .collect();
    store.replace_seats(event, &seats).await.unwrap();
    store
        .seats_of_event(event)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

/// Creates a code on an event: a discount, hidden tiers it unlocks, and use
/// limits (total, per buyer). Returns its id.
pub async fn create_code(
    app: &TestApp,
    event: &EventId,
    text: &str,
    discount: admit::domain::codes::Discount,
    unlocks: Vec<String>,
    limits: (Option<i64>, Option<i64>),
) -> String {
    app.store()
        .create_code(
            event,
            &admit::store::catalogue::CodeFields {
                code: text.into(),
                rules: admit::domain::codes::CodeRules {
                    discount,
                    tiers: vec![],
                    unlocks,
                    valid_from: None,
                    valid_until: None,
                },
                max_uses: limits.0,
                max_uses_per_user: limits.1,
            },
            app.now(),
        )
        .await
        .unwrap()
}

/// Waits (up to `limit`) until `path` exists; whether it does.
pub async fn wait_for_file(path: &std::path::Path, limit: Duration) -> bool {
    let started = std::time::Instant::now();
    while !path.exists() && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    path.exists()
}
