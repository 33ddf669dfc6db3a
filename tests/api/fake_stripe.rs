//! A local fake of Stripe's HTTP API, for the calls admit makes: Checkout
//! Session create / retrieve / list / expire, and Refund create. It speaks
//! Stripe's wire protocol (form-encoded requests, JSON objects of the pinned
//! API version, Stripe's error shape), and it **enforces** the rules admit
//! relies on:
//! - `expires_at` between 30 minutes and 24 hours ahead;
//! - positive integer amounts and quantities;
//! - an idempotency key replays the first answer, and the same key with
//!   different parameters is a 400 (Stripe's `idempotency_error`).
//!
//! It also sends webhook events, signed as Stripe signs them
//! (`t=…,v1=HMAC-SHA256(secret, "t.payload")`), to a target URL. Tests can
//! delay an answer past the client's timeout, drop webhooks, and read what it
//! saw.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use admit::{
    clock::{Clock, SystemClock},
    integrations::{stripe::wire, webhook_signature},
};
use axum::{
    Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

/// Starts a fake Stripe and an app that uses it as its gateway, with a short
/// per-call timeout, and points the fake's webhooks at the app.
pub async fn spawn_with_stripe(
    backend: crate::helpers::Backend,
    mut opts: crate::helpers::SpawnOptions,
) -> (crate::helpers::TestApp, FakeStripe) {
    let clock = opts
        .clock
        .clone()
        .unwrap_or_else(|| Arc::new(SystemClock::new()));
    let fake = FakeStripe::start(clock.clone()).await;
    let base = fake.url().to_owned();
    let earlier = opts.settings.take();
    opts.settings = Some(Box::new(move |s| {
        s.stripe_api_base = base;
        s.stripe_timeout_ms = 1_000;
        if let Some(f) = earlier {
            f(s);
        }
    }));
    opts.env.extend(fake.env());
    opts.clock = Some(clock);
    let app = crate::helpers::spawn_app_with(backend, opts).await;
    fake.set_webhook_target(&format!("{}/api/v1/payments/stripe/webhooks", app.url));
    (app, fake)
}

/// The secret key admit is configured with in tests.
pub const SECRET_KEY: &str = "sk_test_admit_fake";
/// The webhook endpoint's signing secret.
pub const WEBHOOK_SECRET: &str = "whsec_admit_fake_endpoint";

/// A session as the fake keeps it (amounts in Stripe's units).
#[derive(Clone, Debug)]
pub struct FakeSession {
    pub id: String,
    pub order_id: String,
    pub status: String,
    pub payment_status: String,
    pub amount_total: i64,
    pub currency: String,
    pub customer_email: String,
    pub payment_intent: Option<String>,
    pub created: i64,
    pub expires_at: i64,
    pub success_url: String,
    pub cancel_url: String,
    /// (name, unit amount, quantity).
    pub lines: Vec<(String, i64, u64)>,
}

/// A refund the fake made.
#[derive(Clone, Debug)]
pub struct FakeRefund {
    pub id: String,
    pub payment_intent: String,
    pub amount: i64,
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
struct Inner {
    sessions: Vec<FakeSession>,
    /// key → (fingerprint of the request, status, body).
    idempotency: HashMap<String, (String, u16, String)>,
    refunds: Vec<FakeRefund>,
    create_calls: u32,
    /// The next N session creations are applied, but answered only after
    /// this delay (longer than the client waits: an injected timeout).
    delayed_creates: u32,
    delay: Duration,
    webhook_target: Option<String>,
    drop_webhooks: bool,
    /// Bodies of every event sent.
    events: Vec<String>,
    /// "METHOD /path" of every API request, in order.
    requests: Vec<String>,
    seq: u64,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeStripe {
    url: String,
    inner: Arc<Mutex<Inner>>,
    clock: Arc<SystemClock>,
    http: reqwest::Client,
}

#[derive(Clone)]
struct AppCtx {
    inner: Arc<Mutex<Inner>>,
    clock: Arc<SystemClock>,
}

fn stripe_error(status: StatusCode, kind: &str, message: &str, param: Option<&str>) -> Response {
    (
        status,
        axum::Json(json!({"error": {"type": kind, "message": message, "param": param}})),
    )
        .into_response()
}

fn invalid(message: &str, param: &str) -> Response {
    stripe_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        message,
        Some(param),
    )
}

impl FakeStripe {
    /// Starts the fake on 127.0.0.1 with its own port. `clock` is the clock
    /// of the app under test, so "30 minutes ahead" means the same to both.
    pub async fn start(clock: Arc<SystemClock>) -> FakeStripe {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let ctx = AppCtx {
            inner: inner.clone(),
            clock: clock.clone(),
        };
        let app = Router::new()
            .route(
                "/v1/checkout/sessions",
                post(create_session).get(list_sessions),
            )
            .route("/v1/checkout/sessions/{id}", get(retrieve_session))
            .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
            .route("/v1/refunds", post(create_refund))
            .layer(axum::middleware::from_fn_with_state(
                ctx.clone(),
                log_and_require_key,
            ))
            .with_state(ctx);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeStripe {
            url: format!("http://{addr}/"),
            inner,
            clock,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    /// The base URL admit's Stripe client is pointed at.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The environment that makes admit use this fake as Stripe.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ADMIT_STRIPE_SECRET_KEY", SECRET_KEY.to_owned()),
            ("ADMIT_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ]
    }

    /// Where events are posted (admit's webhook URL).
    pub fn set_webhook_target(&self, url: &str) {
        self.inner.lock().unwrap().webhook_target = Some(url.to_owned());
    }

    /// Stops (or resumes) delivering webhooks: a dropped webhook is one that
    /// never arrives.
    pub fn drop_webhooks(&self, drop: bool) {
        self.inner.lock().unwrap().drop_webhooks = drop;
    }

    /// Answers the next `n` session creations only after `delay`.
    pub fn delay_next_creates(&self, n: u32, delay: Duration) {
        let mut g = self.inner.lock().unwrap();
        g.delayed_creates = n;
        g.delay = delay;
    }

    /// Every session, oldest first.
    pub fn sessions(&self) -> Vec<FakeSession> {
        self.inner.lock().unwrap().sessions.clone()
    }

    /// The session of an order.
    pub fn session_of(&self, order_id: &str) -> Option<FakeSession> {
        self.sessions().into_iter().find(|s| s.order_id == order_id)
    }

    /// "METHOD /path" of every API request so far.
    pub fn requests(&self) -> Vec<String> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// A payment the gateway reports only after the session ended (captured
    /// at the last second, reported late): the session becomes complete and
    /// paid whatever its state. Returns the `checkout.session.completed` event.
    pub fn complete_late(&self, session_id: &str) -> String {
        self.finish(session_id, true, false)
    }

    /// Every refund, oldest first.
    pub fn refunds(&self) -> Vec<FakeRefund> {
        self.inner.lock().unwrap().refunds.clone()
    }

    /// How many session-creation requests arrived (retries included).
    pub fn create_calls(&self) -> u32 {
        self.inner.lock().unwrap().create_calls
    }

    /// The buyer pays on Stripe's page: the session completes. Returns the
    /// `checkout.session.completed` event's body (not yet delivered).
    pub fn complete(&self, session_id: &str, paid: bool) -> String {
        self.finish(session_id, paid, true)
    }

    /// Completes a session, as Stripe's rules allow (`strict`) or not.
    fn finish(&self, session_id: &str, paid: bool, strict: bool) -> String {
        let mut g = self.inner.lock().unwrap();
        g.seq += 1;
        let pi = format!("pi_fake_{}", g.seq);
        let s = g
            .sessions
            .iter_mut()
            .find(|s| s.id == session_id)
            .expect("a session of the fake");
        if strict {
            assert_eq!(s.status, "open", "only an open session can be completed");
            assert!(
                s.expires_at > self.clock.now().as_millis() / 1000,
                "Stripe refuses to pay an expired session"
            );
        }
        s.status = "complete".into();
        s.payment_status = if paid { "paid" } else { "unpaid" }.into();
        s.payment_intent = Some(pi);
        let s = s.clone();
        drop(g);
        self.event_for(&s, "checkout.session.completed")
    }

    /// A delayed (async) payment settles after the session completed unpaid.
    pub fn settle_async(&self, session_id: &str, succeeded: bool) -> String {
        let mut g = self.inner.lock().unwrap();
        let s = g
            .sessions
            .iter_mut()
            .find(|s| s.id == session_id)
            .expect("a session of the fake");
        if succeeded {
            s.payment_status = "paid".into();
        }
        let s = s.clone();
        drop(g);
        self.event_for(
            &s,
            if succeeded {
                "checkout.session.async_payment_succeeded"
            } else {
                "checkout.session.async_payment_failed"
            },
        )
    }

    /// An event of `kind` about a session, as it stands now.
    pub fn event_for(&self, s: &FakeSession, kind: &str) -> String {
        let mut g = self.inner.lock().unwrap();
        g.seq += 1;
        let id = format!("evt_fake_{}", g.seq);
        drop(g);
        wire::event(
            &id,
            kind,
            self.clock.now().as_millis() / 1000,
            session_json(s, None),
        )
        .to_string()
    }

    /// An event about a session by id.
    pub fn event(&self, session_id: &str, kind: &str) -> String {
        let s = self
            .sessions()
            .into_iter()
            .find(|s| s.id == session_id)
            .expect("a session of the fake");
        self.event_for(&s, kind)
    }

    /// The `Stripe-Signature` header for `body`, signed now.
    pub fn sign(&self, body: &str) -> String {
        webhook_signature::sign(
            WEBHOOK_SECRET,
            self.clock.now().as_millis() / 1000,
            body.as_bytes(),
        )
    }

    /// Posts one event to the webhook target once; returns the status (0 if
    /// the target could not be reached). Dropped webhooks return 0 too.
    pub async fn deliver(&self, body: &str) -> u16 {
        let (target, dropping) = {
            let mut g = self.inner.lock().unwrap();
            g.events.push(body.to_owned());
            (g.webhook_target.clone(), g.drop_webhooks)
        };
        let Some(target) = target else { return 0 };
        if dropping {
            return 0;
        }
        match self
            .http
            .post(&target)
            .header("content-type", "application/json")
            .header("stripe-signature", self.sign(body))
            .body(body.to_owned())
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        }
    }

    /// Delivers like Stripe: again (re-signed each time) until a 2xx, up to
    /// `attempts` times, pausing `pause` between tries.
    pub async fn deliver_until_ok(&self, body: &str, attempts: u32, pause: Duration) -> u16 {
        let mut last = 0;
        for _ in 0..attempts {
            last = self.deliver(body).await;
            if (200..300).contains(&last) {
                return last;
            }
            tokio::time::sleep(pause).await;
        }
        last
    }
}

fn session_json(s: &FakeSession, url: Option<&str>) -> Value {
    let amount = admit::integrations::stripe::from_stripe_amount(s.amount_total, &s.currency);
    wire::checkout_session(&wire::Session {
        id: &s.id,
        order_id: &s.order_id,
        status: &s.status,
        payment_status: &s.payment_status,
        amount_total: amount,
        currency: &s.currency,
        customer_email: &s.customer_email,
        payment_intent: s.payment_intent.as_deref(),
        created: s.created,
        expires_at: s.expires_at,
        success_url: &s.success_url,
        cancel_url: &s.cancel_url,
        url,
    })
}

/// Logs the request; Stripe answers 401 without the right secret key.
async fn log_and_require_key(
    State(ctx): State<AppCtx>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    ctx.inner
        .lock()
        .unwrap()
        .requests
        .push(format!("{} {}", req.method(), req.uri().path()));
    let ok = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {SECRET_KEY}"));
    if !ok {
        return stripe_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
            None,
        );
    }
    next.run(req).await
}

/// The form fields of a request, in order.
fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn field<'a>(f: &'a [(String, String)], key: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Replays an idempotent request, refuses a reused key with other
/// parameters, or runs `f` and remembers its answer.
fn idempotent(
    ctx: &AppCtx,
    headers: &HeaderMap,
    fingerprint: String,
    f: impl FnOnce(&mut Inner) -> (u16, String),
) -> Response {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut g = ctx.inner.lock().unwrap();
    if let Some(k) = &key
        && let Some((fp, status, body)) = g.idempotency.get(k).cloned()
    {
        if fp != fingerprint {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                None,
            );
        }
        return (
            StatusCode::from_u16(status).unwrap(),
            [
                ("content-type", "application/json"),
                ("idempotent-replayed", "true"),
            ],
            body,
        )
            .into_response();
    }
    let (status, body) = f(&mut g);
    if let Some(k) = key {
        g.idempotency.insert(k, (fingerprint, status, body.clone()));
    }
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

fn error_body(message: &str, param: &str) -> (u16, String) {
    (
        400,
        json!({"error": {"type": "invalid_request_error", "message": message, "param": param}})
            .to_string(),
    )
}

async fn create_session(State(ctx): State<AppCtx>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = form(&body);
    let now = ctx.clock.now().as_millis() / 1000;
    let delay = {
        let mut g = ctx.inner.lock().unwrap();
        g.create_calls += 1;
        if g.delayed_creates > 0 {
            g.delayed_creates -= 1;
            Some(g.delay)
        } else {
            None
        }
    };
    let fingerprint = format!(
        "POST /v1/checkout/sessions {}",
        String::from_utf8_lossy(&body)
    );
    let response = idempotent(&ctx, &headers, fingerprint, |g| {
        if field(&fields, "mode") != Some("payment") {
            return error_body("mode must be payment", "mode");
        }
        let Some(expires_at) = field(&fields, "expires_at").and_then(|v| v.parse::<i64>().ok())
        else {
            return error_body("expires_at is required", "expires_at");
        };
        if expires_at < now + 30 * 60 || expires_at > now + 24 * 3600 {
            return error_body(
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
                "expires_at",
            );
        }
        let mut lines = Vec::new();
        let mut currency = String::new();
        for i in 0.. {
            let p = |k: &str| format!("line_items[{i}][{k}]");
            let Some(qty) = field(&fields, &p("quantity")) else {
                break;
            };
            let Ok(qty) = qty.parse::<u64>() else {
                return error_body("Invalid positive integer", &p("quantity"));
            };
            let amount = field(&fields, &p("price_data][unit_amount"));
            let Some(amount) = amount.and_then(|a| a.parse::<i64>().ok()) else {
                return error_body("Invalid positive integer", &p("price_data][unit_amount"));
            };
            if qty == 0 || amount <= 0 {
                return error_body(
                    "Line items need a positive integer quantity and unit_amount",
                    &p("price_data][unit_amount"),
                );
            }
            let name = field(&fields, &p("price_data][product_data][name"))
                .unwrap_or_default()
                .to_owned();
            if name.is_empty() {
                return error_body(
                    "A product name is required",
                    &p("price_data][product_data][name"),
                );
            }
            currency = field(&fields, &p("price_data][currency"))
                .unwrap_or_default()
                .to_owned();
            lines.push((name, amount, qty));
        }
        if lines.is_empty() {
            return error_body("line_items is required in payment mode", "line_items");
        }
        let (Some(success), Some(cancel)) =
            (field(&fields, "success_url"), field(&fields, "cancel_url"))
        else {
            return error_body("success_url and cancel_url are required", "success_url");
        };
        g.seq += 1;
        let s = FakeSession {
            id: format!("cs_test_fake{:04}", g.seq),
            order_id: field(&fields, "client_reference_id")
                .unwrap_or_default()
                .to_owned(),
            status: "open".into(),
            payment_status: "unpaid".into(),
            amount_total: lines.iter().map(|(_, a, q)| a * *q as i64).sum(),
            currency,
            customer_email: field(&fields, "customer_email")
                .unwrap_or_default()
                .to_owned(),
            payment_intent: None,
            created: now,
            expires_at,
            success_url: success.to_owned(),
            cancel_url: cancel.to_owned(),
            lines,
        };
        let url = format!("https://checkout.stripe.test/c/pay/{}", s.id);
        let body = session_json(&s, Some(&url)).to_string();
        g.sessions.push(s);
        (200, body)
    });
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    response
}

fn current(ctx: &AppCtx, s: &mut FakeSession) {
    // Stripe expires open sessions at their end by itself.
    if s.status == "open" && s.expires_at <= ctx.clock.now().as_millis() / 1000 {
        s.status = "expired".into();
    }
}

async fn retrieve_session(State(ctx): State<AppCtx>, Path(id): Path<String>) -> Response {
    let mut g = ctx.inner.lock().unwrap();
    match g.sessions.iter_mut().find(|s| s.id == id) {
        Some(s) => {
            current(&ctx, s);
            let url = (s.status == "open")
                .then(|| format!("https://checkout.stripe.test/c/pay/{}", s.id));
            axum::Json(session_json(s, url.as_deref())).into_response()
        }
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such checkout.session: '{id}'"),
            Some("session"),
        ),
    }
}

async fn expire_session(State(ctx): State<AppCtx>, Path(id): Path<String>) -> Response {
    let mut g = ctx.inner.lock().unwrap();
    match g.sessions.iter_mut().find(|s| s.id == id) {
        Some(s) => {
            current(&ctx, s);
            if s.status != "open" {
                return invalid(
                    &format!(
                        "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of \"{}\".",
                        s.status
                    ),
                    "session",
                );
            }
            s.status = "expired".into();
            axum::Json(session_json(s, None)).into_response()
        }
        None => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            &format!("No such checkout.session: '{id}'"),
            Some("session"),
        ),
    }
}

#[derive(serde::Deserialize)]
struct ListQuery {
    #[serde(rename = "created[gte]")]
    created_gte: Option<i64>,
    status: Option<String>,
    limit: Option<usize>,
    starting_after: Option<String>,
}

async fn list_sessions(State(ctx): State<AppCtx>, Query(q): Query<ListQuery>) -> Response {
    let mut g = ctx.inner.lock().unwrap();
    for s in g.sessions.iter_mut() {
        current(&ctx, s);
    }
    // Newest first, as Stripe lists.
    let mut all: Vec<&FakeSession> = g
        .sessions
        .iter()
        .rev()
        .filter(|s| q.created_gte.is_none_or(|t| s.created >= t))
        .filter(|s| q.status.as_deref().is_none_or(|st| s.status == st))
        .collect();
    if let Some(after) = &q.starting_after
        && let Some(i) = all.iter().position(|s| &s.id == after)
    {
        all.drain(..=i);
    }
    let limit = q.limit.unwrap_or(10).clamp(1, 100);
    let has_more = all.len() > limit;
    let data: Vec<Value> = all
        .iter()
        .take(limit)
        .map(|s| session_json(s, None))
        .collect();
    axum::Json(json!({"object": "list", "data": data, "has_more": has_more, "url": "/v1/checkout/sessions"}))
        .into_response()
}

async fn create_refund(State(ctx): State<AppCtx>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = form(&body);
    let now = ctx.clock.now().as_millis() / 1000;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let fingerprint = format!("POST /v1/refunds {}", String::from_utf8_lossy(&body));
    idempotent(&ctx, &headers, fingerprint, |g| {
        let Some(pi) = field(&fields, "payment_intent") else {
            return error_body("payment_intent or charge is required", "payment_intent");
        };
        let Some(session) = g
            .sessions
            .iter()
            .find(|s| s.payment_intent.as_deref() == Some(pi) && s.payment_status == "paid")
            .cloned()
        else {
            return error_body(&format!("No such payment_intent: '{pi}'"), "payment_intent");
        };
        let amount = match field(&fields, "amount").map(str::parse::<i64>) {
            None => session.amount_total,
            Some(Ok(a)) if a > 0 => a,
            Some(_) => return error_body("Invalid positive integer", "amount"),
        };
        let refunded: i64 = g
            .refunds
            .iter()
            .filter(|r| r.payment_intent == pi)
            .map(|r| r.amount)
            .sum();
        if refunded + amount > session.amount_total {
            return error_body(
                "Refund amount is greater than the unrefunded amount on the charge",
                "amount",
            );
        }
        g.seq += 1;
        let id = format!("re_fake_{}", g.seq);
        g.refunds.push(FakeRefund {
            id: id.clone(),
            payment_intent: pi.to_owned(),
            amount,
            idempotency_key: key.clone(),
        });
        (
            200,
            json!({"id": id, "object": "refund", "amount": amount, "created": now,
                "currency": session.currency, "payment_intent": pi, "status": "succeeded",
                "balance_transaction": null, "charge": null, "metadata": {}, "reason": null})
            .to_string(),
        )
    })
}
