//! E-tickets and the door: issuance after payment (signed codes, PDFs,
//! emails, calendar entries), who may see a ticket, and check-in: exactly
//! once under concurrency from two instances, idempotent by nonce, scoped to
//! the event's staff, refusing revoked, forged and foreign codes, flagging
//! offline conflicts, and undoable by the organizer.

use std::{process::Command, sync::Arc, time::Duration};

use admit::{
    domain::{
        OrderId,
        ticket_code::{EventPublicKey, TicketCode},
    },
    store::tickets::TicketRecord,
};
use serde_json::{Value, json};

use crate::{
    both_backends,
    helpers::{
        Backend, Fixture, SpawnOptions, TestApp, big_test_permit, decode_mail, fixture,
        raw_execute, raw_i64, raw_text, sent_mail, spawn_app, spawn_app_with,
    },
    holds::{buyer, ga, get_json, page, post_hold, submit},
};

both_backends!(
    paying_issues_one_signed_ticket_per_unit_with_pdfs_emails_and_a_calendar_entry,
    issuance_that_keeps_failing_opens_an_admin_task_and_tells_the_buyer,
    twenty_simultaneous_scans_from_two_instances_admit_a_ticket_once,
    refused_codes_say_why_and_every_scan_is_recorded,
    only_the_events_staff_may_scan_and_scoped_staff_only_their_events,
    an_offline_admission_at_a_second_gate_is_flagged_not_refused,
    the_organizer_undoes_a_check_in_and_the_ticket_admits_again,
    a_ticket_is_shown_to_its_buyer_the_organizer_and_admins_only,
    door_staff_find_an_attendee_by_name_and_check_them_in_without_javascript,
);

/// A buyer's paid order of `names.len()` free tickets, one per attendee
/// (name, email), with its tickets issued: (buyer client, order id).
async fn paid_order(
    app: &TestApp,
    fx: &Fixture,
    names: &[(&str, &str)],
) -> (reqwest::Client, String) {
    let client = buyer(app, "buyer").await;
    let me = get_json(&client, format!("{}/api/v1/user/me", app.url))
        .await
        .1;
    let mine = me["email"].as_str().unwrap().to_owned();
    // "{buyer}" stands for the buyer's own address.
    let names: Vec<(&str, &str)> = names
        .iter()
        .map(|(n, e)| (*n, if *e == "{buyer}" { mine.as_str() } else { *e }))
        .collect();
    let names = names.as_slice();
    let (s, order) = post_hold(app, &client, ga(fx, names.len() as u32)).await;
    assert_eq!(s, 201, "{order}");
    let id = order["id"].as_str().unwrap().to_owned();
    let attendees: Vec<Value> = names
        .iter()
        .map(|(n, e)| json!({"name": n, "email": e}))
        .collect();
    let r = client
        .post(format!("{}/api/v1/orders/{id}/checkout", app.url))
        .json(&json!({ "attendees": attendees }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.run_jobs().await;
    (client, id)
}

async fn tickets_of(app: &TestApp, order: &str) -> Vec<TicketRecord> {
    app.store()
        .tickets_of_order(&OrderId::from_string(order))
        .await
        .unwrap()
}

async fn org_of(app: &TestApp, fx: &Fixture) -> String {
    raw_text(
        &app.db,
        &format!(
            "SELECT org_id FROM events WHERE id = '{}'",
            fx.event.as_str()
        ),
    )
    .await
}

/// A signed-in member of an organization, as `role`.
async fn member(app: &TestApp, org: &str, role: &str, name: &str) -> (reqwest::Client, String) {
    let client = app.new_client();
    let me = app
        .verified_user(
            &client,
            &format!("{name}-{}@example.test", admit::store::new_id()),
        )
        .await;
    let id = me["id"].as_str().unwrap().to_owned();
    app.store()
        .add_member(
            &admit::domain::OrgId::from_string(org),
            &admit::domain::UserId::from_string(&id),
            role,
            app.now(),
        )
        .await
        .unwrap();
    (client, id)
}

/// POSTs a scan; returns (status, body).
async fn scan(
    app: &TestApp,
    client: &reqwest::Client,
    event: &str,
    code: &str,
    gate: &str,
    nonce: &str,
) -> (u16, Value) {
    scan_with(
        app,
        client,
        json!({"code": code, "event_id": event, "gate": gate, "nonce": nonce}),
    )
    .await
}

async fn scan_with(app: &TestApp, client: &reqwest::Client, body: Value) -> (u16, Value) {
    let r = client
        .post(format!("{}/api/v1/user-ticket/validate", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn public_key(app: &TestApp, fx: &Fixture) -> EventPublicKey {
    let k = app
        .store()
        .event_public_key(&fx.event)
        .await
        .unwrap()
        .expect("the event has a key once tickets are issued");
    EventPublicKey::parse(&k).unwrap()
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("the tool runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

async fn paying_issues_one_signed_ticket_per_unit_with_pdfs_emails_and_a_calendar_entry(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let (client, order) = paid_order(
        &app,
        &fx,
        &[
            ("Buyer Self", "{buyer}"),
            ("Zoë Nguyễn", "zoe@example.test"),
        ],
    )
    .await;

    // One valid ticket per unit, each code signed with the event's key.
    let tickets = tickets_of(&app, &order).await;
    assert_eq!(tickets.len(), 2);
    let key = public_key(&app, &fx).await;
    for t in &tickets {
        let code = TicketCode::parse(&t.code).unwrap();
        let v = code
            .verify_for_event(&fx.event, &key)
            .expect("the code verifies");
        assert_eq!(v.ticket_id(), t.id);
        assert!(v.attendee_matches(&t.attendee_name));
        assert_eq!(t.status, "valid");
        assert!(t.pdf_key.is_some(), "the PDF is stored");
    }
    // A second run of the job (a retry) issues nothing new and mails nothing more.
    let mails_before = sent_mail(&app).len();
    admit::services::tickets::run_issue(&app.state, &json!({"order_id": order}).to_string())
        .await
        .unwrap();
    app.run_jobs().await;
    assert_eq!(tickets_of(&app, &order).await, tickets);
    assert_eq!(sent_mail(&app).len(), mails_before);

    // The buyer's email carries both PDFs and the calendar entry; Zoë gets her own.
    let mails = sent_mail(&app);
    let to_buyer: Vec<&String> = mails
        .iter()
        .filter(|m| m.contains("Subject: Your e-tickets for"))
        .collect();
    assert_eq!(to_buyer.len(), 1, "one tickets email to the buyer");
    assert_eq!(
        to_buyer[0].matches("Content-Type: application/pdf").count(),
        2
    );
    assert!(to_buyer[0].contains("Content-Type: text/calendar"));
    let to_zoe: Vec<&String> = mails
        .iter()
        .filter(|m| m.contains("To: zoe@example.test"))
        .collect();
    assert_eq!(to_zoe.len(), 1, "the other attendee gets their own ticket");
    assert_eq!(
        to_zoe[0].matches("Content-Type: application/pdf").count(),
        1
    );
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.contains("Subject: Your ticket for"))
            .count(),
        1,
        "the buyer's own ticket is not mailed twice"
    );

    // The .ics has the event's start in UTC.
    let text = decode_mail(to_buyer[0]);
    let start = jiff::Timestamp::from_millisecond(fx_start(&app, &fx).await)
        .unwrap()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    assert!(
        text.contains(&format!("DTSTART:{start}")),
        "DTSTART is the event start in UTC ({start})"
    );

    // The PDF (downloaded) renders, and the QR read from the rendered page verifies.
    let zoe = tickets
        .iter()
        .find(|t| t.attendee_name == "Zoë Nguyễn")
        .unwrap();
    let r = client
        .get(format!("{}/api/v1/user-ticket/{}/print", app.url, zoe.id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.pdf"), &pdf).unwrap();
    run(Command::new("pdftoppm")
        .args(["-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile"])
        .arg(dir.path().join("t.pdf"))
        .arg(dir.path().join("t")));
    let out = run(Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(dir.path().join("t.png")));
    let decoded = String::from_utf8(out.stdout).unwrap();
    let code = TicketCode::parse(decoded.trim()).expect("the printed QR is a ticket code");
    assert_eq!(
        code.verify_for_event(&fx.event, &key).unwrap().ticket_id(),
        zoe.id
    );
    let out = run(Command::new("pdftotext")
        .arg(dir.path().join("t.pdf"))
        .arg("-"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Zoë Nguyễn"));
    app.finish().await;
}

async fn fx_start(app: &TestApp, fx: &Fixture) -> i64 {
    raw_i64(
        &app.db,
        &format!(
            "SELECT starts_at FROM events WHERE id = '{}'",
            fx.event.as_str()
        ),
    )
    .await
}

async fn issuance_that_keeps_failing_opens_an_admin_task_and_tells_the_buyer(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    // The event's sealed key is damaged: no ticket can be signed.
    raw_execute(
        &app.db,
        &format!(
            "INSERT INTO event_keys (event_id, public_key, sealed_key, created_at)
             VALUES ('{}', 'AAAA', 'ek1.00000000.broken', 0)",
            fx.event.as_str()
        ),
    )
    .await
    .unwrap();
    let client = buyer(&app, "unlucky").await;
    let (_, order) = post_hold(&app, &client, ga(&fx, 1)).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let r = client
        .post(format!("{}/api/v1/orders/{id}/checkout", app.url))
        .json(&json!({"attendees": [{"name": "Ayu", "email": "ayu@example.test"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the order is paid whatever happens to its tickets"
    );
    // Five attempts, each after its backoff.
    for _ in 0..6 {
        app.run_jobs().await;
        app.advance(Duration::from_secs(3_600));
    }
    app.run_jobs().await;
    let attempts = raw_i64(
        &app.db,
        "SELECT attempts FROM jobs WHERE kind = 'issue_tickets'",
    )
    .await;
    assert_eq!(attempts, 5, "retried up to 5 times");
    assert_eq!(
        raw_text(
            &app.db,
            "SELECT status FROM jobs WHERE kind = 'issue_tickets'"
        )
        .await,
        "dead"
    );
    let tasks = app.store().open_admin_tasks().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].kind, "ticket_issuance_failed");
    assert_eq!(tasks[0].subject, id);
    let delayed = sent_mail(&app)
        .iter()
        .filter(|m| m.contains("will follow"))
        .count();
    assert_eq!(delayed, 1, "the buyer is told the tickets will follow");
    assert!(tickets_of(&app, &id).await.is_empty());
    app.finish().await;
}

async fn twenty_simultaneous_scans_from_two_instances_admit_a_ticket_once(backend: Backend) {
    let _alone = big_test_permit().await;
    let a = spawn_app_with(
        backend,
        SpawnOptions {
            alone: true,
            ..SpawnOptions::default()
        },
    )
    .await;
    let mut b = spawn_app_with(
        backend,
        SpawnOptions {
            db: Some(a.db.clone()),
            alone: true,
            ..SpawnOptions::default()
        },
    )
    .await;
    let fx = fixture(a.store(), a.now(), 10, 0, 0).await;
    let (_, order) = paid_order(&a, &fx, &[("Dwi Ayu Lestari", "dwi@example.test")]).await;
    let ticket = tickets_of(&a, &order).await.remove(0);
    let org = org_of(&a, &fx).await;
    let (staff_a, _) = member(&a, &org, "staff", "door-a").await;
    // A second door person; sessions live in the shared database, so the
    // cookie works on either instance.
    let (b_client, _) = member(&a, &org, "staff", "door-b").await;
    let a = Arc::new(a);
    let b_url = b.url.clone();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (app, client, code, event, b_url) = (
            a.clone(),
            if i % 2 == 0 {
                staff_a.clone()
            } else {
                b_client.clone()
            },
            ticket.code.clone(),
            fx.event.to_string(),
            b_url.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let url = if i % 2 == 0 { app.url.clone() } else { b_url };
            let r = client
                .post(format!("{url}/api/v1/user-ticket/validate"))
                .json(&json!({"code": code, "event_id": event, "gate": format!("G{}", i % 2), "nonce": format!("nonce-{i:04}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()["result"].as_str().unwrap().to_owned()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let valid = results.iter().filter(|r| *r == "valid").count();
    let used = results.iter().filter(|r| *r == "already_used").count();
    assert_eq!((valid, used), (1, 19), "{results:?}");
    assert_eq!(
        raw_i64(
            &a.db,
            "SELECT COUNT(*) FROM check_ins WHERE undone_at IS NULL AND NOT flagged"
        )
        .await,
        1,
        "one admission"
    );
    assert_eq!(
        raw_i64(&a.db, "SELECT COUNT(*) FROM scans").await,
        20,
        "every scan recorded"
    );
    // A retried upload of a scan gets the same answer and adds nothing.
    let winner = results.iter().position(|r| r == "valid").unwrap();
    let (s, again) = scan(
        &a,
        if winner % 2 == 0 { &staff_a } else { &b_client },
        fx.event.as_str(),
        &ticket.code,
        "G9",
        &format!("nonce-{winner:04}"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(again["result"], "valid");
    assert_eq!(again["replayed"], true);
    assert_eq!(raw_i64(&a.db, "SELECT COUNT(*) FROM scans").await, 20);
    assert_eq!(raw_i64(&a.db, "SELECT COUNT(*) FROM check_ins").await, 1);
    // "Already used" says when, where and by whom.
    let (_, used) = scan(
        &a,
        &staff_a,
        fx.event.as_str(),
        &ticket.code,
        "G0",
        "nonce-late",
    )
    .await;
    assert_eq!(used["result"], "already_used");
    assert!(used["used_at"].as_str().is_some_and(|s| s.contains(':')));
    assert!(used["used_gate"].as_str().is_some());
    assert_eq!(used["used_by"], "Test Person");
    b.shutdown().await;
    Arc::into_inner(a).expect("no other owner").finish().await;
}

async fn refused_codes_say_why_and_every_scan_is_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let other = fixture(app.store(), app.now(), 10, 0, 0).await;
    let (_, order) = paid_order(
        &app,
        &fx,
        &[("Ana", "ana@example.test"), ("Budi", "budi@example.test")],
    )
    .await;
    let (_, foreign) = paid_order(&app, &other, &[("Citra", "citra@example.test")]).await;
    let tickets = tickets_of(&app, &order).await;
    let foreign = tickets_of(&app, &foreign).await.remove(0);
    let org = org_of(&app, &fx).await;
    let (owner, _) = member(&app, &org, "owner", "owner").await;
    let ev = fx.event.as_str();

    // A forged code: one character changed.
    let mut forged = tickets[0].code.clone().into_bytes();
    let i = forged.len() - 3;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let (_, r) = scan(&app, &owner, ev, &forged, "A", "nonce-forged").await;
    assert_eq!(r["result"], "forged");
    let (_, r) = scan(&app, &owner, ev, "not a ticket at all", "A", "nonce-junk").await;
    assert_eq!(r["result"], "forged");
    // Another event's real ticket.
    let (_, r) = scan(&app, &owner, ev, &foreign.code, "A", "nonce-foreign").await;
    assert_eq!(r["result"], "wrong_event");
    // Re-issued: the old code is refused, the new one admits.
    let r = owner
        .post(format!(
            "{}/api/v1/user-ticket/{}/reissue",
            app.url, tickets[1].id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let fresh: Value = r.json().await.unwrap();
    let (_, r) = scan(&app, &owner, ev, &tickets[1].code, "A", "nonce-old").await;
    assert_eq!(r["result"], "revoked");
    let new_code = app
        .store()
        .ticket(fresh["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap()
        .code;
    let (_, r) = scan(&app, &owner, ev, &new_code, "A", "nonce-new").await;
    assert_eq!(r["result"], "valid");
    // The typed reference finds a ticket too.
    let (_, r) = scan(
        &app,
        &owner,
        ev,
        &tickets[0].reference.to_lowercase(),
        "A",
        "nonce-typed",
    )
    .await;
    assert_eq!(r["result"], "valid", "{r}");
    // Refunded: every ticket of the order is refused at once, and the
    // scanners' revocation list names them.
    let r = owner
        .post(format!("{}/api/v1/orders/{order}/refund", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, r) = scan(&app, &owner, ev, &new_code, "A", "nonce-refunded").await;
    assert_eq!(r["result"], "revoked");
    let (_, setup) = get_json(&owner, format!("{}/api/v1/events/{ev}/scanner", app.url)).await;
    let revoked: Vec<&str> = setup["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(revoked.contains(&tickets[0].id.as_str()) && revoked.contains(&tickets[1].id.as_str()));
    assert!(setup["public_key"].as_str().is_some());
    let results: Vec<String> = crate::helpers::raw_texts(
        &app.db,
        "SELECT result FROM scans ORDER BY recorded_at, nonce",
    )
    .await;
    assert_eq!(
        results.len(),
        7,
        "every scan is recorded, refused ones too: {results:?}"
    );
    app.run_jobs().await;
    app.finish().await;
}

async fn only_the_events_staff_may_scan_and_scoped_staff_only_their_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let y = fixture(app.store(), app.now(), 10, 0, 0).await;
    let (_, order) = paid_order(&app, &fx, &[("Eka", "eka@example.test")]).await;
    let ticket = tickets_of(&app, &order).await.remove(0);
    let (staff_y, _) = member(&app, &org_of(&app, &y).await, "staff", "staff-y").await;
    let (s, _) = scan(
        &app,
        &staff_y,
        fx.event.as_str(),
        &ticket.code,
        "A",
        "nonce-y-of-test",
    )
    .await;
    assert_eq!(s, 404, "staff of Y cannot check in X's tickets");
    let (s, _) = scan(
        &app,
        &buyer(&app, "nobody").await,
        fx.event.as_str(),
        &ticket.code,
        "A",
        "nonce-n-of-test",
    )
    .await;
    assert_eq!(s, 404);
    let anon = app.new_client();
    let (s, _) = scan(
        &app,
        &anon,
        fx.event.as_str(),
        &ticket.code,
        "A",
        "nonce-anon",
    )
    .await;
    assert_eq!(s, 401);
    // Staff of X limited to another event of X.
    let org = org_of(&app, &fx).await;
    let (scoped, scoped_id) = member(&app, &org, "staff", "scoped").await;
    let other_event = raw_text(
        &app.db,
        &format!(
            "SELECT id FROM events WHERE id <> '{}' LIMIT 1",
            fx.event.as_str()
        ),
    )
    .await;
    raw_execute(
        &app.db,
        &format!("UPDATE events SET org_id = '{org}' WHERE id = '{other_event}'"),
    )
    .await
    .unwrap();
    raw_execute(
        &app.db,
        &format!("INSERT INTO staff_event_scopes (org_id, user_id, event_id) VALUES ('{org}', '{scoped_id}', '{other_event}')"),
    )
    .await
    .unwrap();
    let (s, _) = scan(
        &app,
        &scoped,
        fx.event.as_str(),
        &ticket.code,
        "A",
        "nonce-scoped",
    )
    .await;
    assert_eq!(s, 404, "scoped staff scan only their events");
    assert_eq!(raw_i64(&app.db, "SELECT COUNT(*) FROM check_ins").await, 0);
    let (staff_x, _) = member(&app, &org, "staff", "staff-x").await;
    let (s, r) = scan(
        &app,
        &staff_x,
        fx.event.as_str(),
        &ticket.code,
        "A",
        "nonce-x-of-test",
    )
    .await;
    assert_eq!((s, r["result"].as_str()), (200, Some("valid")));
    app.finish().await;
}

async fn an_offline_admission_at_a_second_gate_is_flagged_not_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let (_, order) = paid_order(&app, &fx, &[("Fajar", "fajar@example.test")]).await;
    let ticket = tickets_of(&app, &order).await.remove(0);
    let (staff, _) = member(&app, &org_of(&app, &fx).await, "staff", "door").await;
    let ev = fx.event.as_str();
    let (_, r) = scan(&app, &staff, ev, &ticket.code, "A", "nonce-online").await;
    assert_eq!(r["result"], "valid");
    // Gate B was offline, admitted the same ticket ten minutes ago, and
    // uploads now: recorded as a conflict, never refused.
    let earlier = app.now().as_millis() - 600_000;
    let body = json!({"code": ticket.code, "event_id": ev, "gate": "B", "nonce": "nonce-offline",
        "offline": true, "scanned_at_ms": earlier});
    let (s, r) = scan_with(&app, &staff, body.clone()).await;
    assert_eq!((s, r["result"].as_str()), (200, Some("flagged")));
    // Uploaded twice (a retry): still one conflict.
    let (_, again) = scan_with(&app, &staff, body).await;
    assert_eq!(
        (again["result"].as_str(), again["replayed"].as_bool()),
        (Some("flagged"), Some(true))
    );
    assert_eq!(
        raw_i64(&app.db, "SELECT COUNT(*) FROM check_ins WHERE flagged").await,
        1
    );
    assert_eq!(
        raw_i64(&app.db, "SELECT scanned_at FROM check_ins WHERE flagged").await,
        earlier,
        "the offline scan keeps its own time"
    );
    let (_, door) = get_json(&staff, format!("{}/api/v1/events/{ev}/door", app.url)).await;
    assert_eq!(door["checked_in"], 1);
    assert_eq!(door["total"], 1);
    assert_eq!(door["conflicts"].as_array().unwrap().len(), 1);
    assert_eq!(door["conflicts"][0]["gate"], "B");
    assert_eq!(door["per_gate"], json!([["A", 1]]));
    assert_eq!(door["per_tier"], json!([["Regular", 1, 1]]));
    // A first admission made offline is simply valid.
    let (_, second) = paid_order(&app, &fx, &[("Gita", "gita@example.test")]).await;
    let t2 = tickets_of(&app, &second).await.remove(0);
    let (_, r) = scan_with(
        &app,
        &staff,
        json!({"code": t2.code, "event_id": ev, "gate": "B", "nonce": "nonce-off-2",
        "offline": true, "scanned_at_ms": earlier}),
    )
    .await;
    assert_eq!(r["result"], "valid");
    let html = page(&staff, format!("{}/organizer/events/{ev}/door", app.url)).await;
    assert!(
        html.contains("data-testid=\"door-conflict\""),
        "the dashboard lists the conflict"
    );
    app.finish().await;
}

async fn the_organizer_undoes_a_check_in_and_the_ticket_admits_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let (_, order) = paid_order(&app, &fx, &[("Hadi", "hadi@example.test")]).await;
    let ticket = tickets_of(&app, &order).await.remove(0);
    let org = org_of(&app, &fx).await;
    let (staff, _) = member(&app, &org, "staff", "door").await;
    let (owner, owner_id) = member(&app, &org, "owner", "boss").await;
    let ev = fx.event.as_str();
    assert_eq!(
        scan(&app, &staff, ev, &ticket.code, "A", "nonce-1-of-test")
            .await
            .1["result"],
        "valid"
    );
    // Staff cannot undo; the owner can, with a reason.
    let undo = |c: &reqwest::Client, reason: &str| {
        c.delete(format!("{}/api/v1/user-ticket/{}/use", app.url, ticket.id))
            .json(&json!({"reason": reason}))
            .send()
    };
    assert_eq!(undo(&staff, "oops").await.unwrap().status(), 404);
    assert_eq!(undo(&owner, "").await.unwrap().status(), 422);
    assert_eq!(
        undo(&owner, "scanned the wrong phone")
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(undo(&owner, "again").await.unwrap().status(), 409);
    assert_eq!(
        scan(&app, &staff, ev, &ticket.code, "A", "nonce-2-of-test")
            .await
            .1["result"],
        "valid"
    );
    // The undone admission stays recorded, with who and why.
    assert_eq!(
        raw_text(
            &app.db,
            "SELECT undone_by FROM check_ins WHERE undone_at IS NOT NULL"
        )
        .await,
        owner_id
    );
    assert_eq!(
        raw_text(
            &app.db,
            "SELECT undo_reason FROM check_ins WHERE undone_at IS NOT NULL"
        )
        .await,
        "scanned the wrong phone"
    );
    assert_eq!(raw_i64(&app.db, "SELECT COUNT(*) FROM check_ins").await, 2);
    app.finish().await;
}

async fn a_ticket_is_shown_to_its_buyer_the_organizer_and_admins_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let (client, order) = paid_order(&app, &fx, &[("Indah", "indah@example.test")]).await;
    let ticket = tickets_of(&app, &order).await.remove(0);
    let url = format!("{}/api/v1/user-ticket/{}", app.url, ticket.id);
    let (s, t) = get_json(&client, url.clone()).await;
    assert_eq!((s, t["attendee"].as_str()), (200, Some("Indah")));
    assert!(t["qr_svg"].as_str().unwrap().contains("<svg"));
    let (s, list) = get_json(
        &client,
        format!("{}/api/v1/orders/{order}/user-tickets", app.url),
    )
    .await;
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(1)));
    let r = client.get(format!("{url}/calendar")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().starts_with("BEGIN:VCALENDAR"));
    let html = page(&client, format!("{}/tickets", app.url)).await;
    assert!(html.contains("data-testid=\"ticket-qr\"") && html.contains(&ticket.reference));
    // Someone else: as if it did not exist.
    let stranger = buyer(&app, "stranger").await;
    assert_eq!(get_json(&stranger, url.clone()).await.0, 404);
    assert_eq!(
        stranger
            .get(format!("{url}/print"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        get_json(
            &stranger,
            format!("{}/api/v1/orders/{order}/user-tickets", app.url)
        )
        .await
        .0,
        404
    );
    assert_eq!(get_json(&app.new_client(), url.clone()).await.0, 401);
    // The organization of the event sees it.
    let (owner, _) = member(&app, &org_of(&app, &fx).await, "owner", "org").await;
    assert_eq!(get_json(&owner, url.clone()).await.0, 200);
    app.finish().await;
}

async fn door_staff_find_an_attendee_by_name_and_check_them_in_without_javascript(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let fx = fixture(app.store(), app.now(), 10, 0, 0).await;
    let (_, order) = paid_order(&app, &fx, &[("Joko Widodo", "joko@example.test")]).await;
    let ticket = tickets_of(&app, &order).await.remove(0);
    let (staff, _) = member(&app, &org_of(&app, &fx).await, "staff", "door").await;
    let ev = fx.event.as_str();
    let base = format!("{}/scan?event={ev}&gate=North", app.url);
    let html = page(&staff, format!("{base}&q=joko")).await;
    assert!(
        html.contains("data-testid=\"door-result\""),
        "found by name"
    );
    assert!(html.contains("Joko Widodo"));
    let number = admit::services::tickets::order_number(&order);
    let html = page(&staff, format!("{base}&q={}", number.to_lowercase())).await;
    assert!(html.contains("Joko Widodo"), "found by order number");
    let r = submit(
        &staff,
        format!("{}/_fn/door/check_in", app.url),
        &[
            ("ticket_id", ticket.id.as_str()),
            ("event_id", ev),
            ("gate", "North"),
        ],
    )
    .await;
    let next = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        next.starts_with("/scan?") && next.contains("scan="),
        "{next}"
    );
    let html = page(&staff, format!("{}{next}", app.url)).await;
    assert!(
        html.contains("data-result=\"valid\""),
        "the page shows the answer"
    );
    // The typed-code form: the same ticket again is already used.
    let r = submit(
        &staff,
        format!("{}/_fn/door/scan_form", app.url),
        &[
            ("event_id", ev),
            ("gate", "North"),
            ("code", ticket.reference.as_str()),
        ],
    )
    .await;
    let next = r.headers()["location"].to_str().unwrap().to_owned();
    let html = page(&staff, format!("{}{next}", app.url)).await;
    assert!(html.contains("data-result=\"already_used\""), "{next}");
    app.finish().await;
}
