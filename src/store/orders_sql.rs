//! Order and hold store methods, written once for both backends.
//!
//! Every guard against overselling lives in the database: the conditional
//! update on `quotas` (backed by its CHECK), the primary key of `seat_claims`,
//! the conditional update on `codes.uses` (backed by its CHECK) and the
//! partial unique index allowing one open hold per buyer and event.

/// Which orders a release ends, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Release {
    /// A hold past its end becomes `expired`. Holds whose payment started
    /// are left to the payment sweeper, which asks the gateway first.
    Lapsed,
    /// A hold the buyer lets go of (or replaces) becomes `cancelled`.
    Cancel,
    /// A hold whose payment started and whose session can no longer be paid
    /// becomes `expired`, whatever its end says.
    PaymentEnded,
    /// A hold whose payment started and whose end passed becomes `expired`.
    PaymentLapsed,
}

impl Release {
    /// The conditional status update (`$1` order id, `$2` now).
    pub(crate) const fn sql(self) -> &'static str {
        match self {
            Release::Lapsed => {
                "UPDATE orders SET status = 'expired', updated_at = $2
                 WHERE id = $1 AND status = 'reserved' AND expires_at <= $2"
            }
            Release::Cancel => {
                "UPDATE orders SET status = 'cancelled', updated_at = $2
                 WHERE id = $1 AND status = 'reserved'"
            }
            Release::PaymentEnded => {
                "UPDATE orders SET status = 'expired', updated_at = $2
                 WHERE id = $1 AND status = 'pending_payment'"
            }
            Release::PaymentLapsed => {
                "UPDATE orders SET status = 'expired', updated_at = $2
                 WHERE id = $1 AND status = 'pending_payment' AND expires_at <= $2"
            }
        }
    }
}

/// SQL for "this order (alias `o`) holds its stock at `$n`": a hold still
/// within its end, or one whose payment started (until the gateway's answer
/// is in, however late).
#[macro_export]
#[doc(hidden)]
macro_rules! holds_stock_sql {
    ($now:literal) => {
        concat!(
            "(o.status = 'pending_payment' OR (o.status = 'reserved' AND o.expires_at > ",
            $now,
            "))"
        )
    };
}

/// What a test-only race-sanity twin read before its transaction.
#[derive(Default)]
#[allow(dead_code)]
pub(crate) struct RaceTwin {
    /// Set when the twin is on: the guards are skipped.
    pub on: bool,
    /// Quota levels (size, sold, held) read early.
    pub levels: std::collections::BTreeMap<String, (i64, i64, i64)>,
    /// Seats that looked taken when read early.
    pub seats_taken: std::collections::BTreeSet<String>,
    /// Code uses and limit read early.
    pub code_uses: Option<(i64, Option<i64>)>,
}

/// Appends `(…)` with one bound value per item: an `IN` list.
pub(crate) fn push_list<'a, DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<'a, DB>,
    items: impl Iterator<Item = &'a str>,
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push("(");
    let mut list = q.separated(", ");
    for item in items {
        list.push_bind(item.to_owned());
    }
    list.push_unseparated(")");
}

/// The answer of each hold of a batch that failed as a whole (the error is
/// not `Clone`; each buyer's answer carries its text).
pub(crate) fn batch_failed(e: &anyhow::Error) -> crate::store::StoreError {
    crate::store::StoreError::Internal(anyhow::anyhow!("{e:#}"))
}

/// One hold of a batch, ready for its round: what it takes from each quota.
pub(crate) struct Prepared<'a> {
    /// The request.
    pub hold: &'a crate::store::orders::TakeHold,
    /// Units per quota, sorted by quota id (the lock order).
    pub demand: std::collections::BTreeMap<String, i64>,
    /// A tier of this hold drawing on each quota, for "sold out" messages.
    pub quota_tier: std::collections::HashMap<String, String>,
    /// Tier names by id, for the receipt's items.
    pub tier_names: std::collections::HashMap<String, String>,
    /// The test-only race-sanity twin's early read (off in production).
    pub twin: RaceTwin,
}

impl<'a> Prepared<'a> {
    pub(crate) fn new(hold: &'a crate::store::orders::TakeHold) -> Self {
        Self {
            hold,
            demand: Default::default(),
            quota_tier: Default::default(),
            tier_names: Default::default(),
            twin: RaceTwin::default(),
        }
    }
}

macro_rules! impl_order_store {
    ($store:ty) => {
        impl $store {
            /// Ends the given orders inside the caller's transaction and gives
            /// back everything they hold: units to every quota their tiers
            /// draw on, seat claims, and the reserved code use. Only orders in
            /// the state `mode` names are ended (the conditional status
            /// update), so a second release is a no-op.
            async fn release_orders_in(
                tx: &mut sqlx::Transaction<'static, Db>,
                order_ids: &[String],
                now: i64,
                mode: $crate::store::orders_sql::Release,
            ) -> Result<u64, sqlx::Error> {
                let mut released = 0;
                for id in order_ids {
                    let done = sqlx::query(mode.sql()).bind(id).bind(now).execute(&mut **tx).await?;
                    if done.rows_affected() == 0 {
                        continue;
                    }
                    sqlx::query(
                        "UPDATE quotas SET held = held - (
                             SELECT COUNT(*) FROM order_items oi JOIN tier_quotas tq ON tq.tier_id = oi.tier_id
                             WHERE oi.order_id = $1 AND tq.quota_id = quotas.id)
                         WHERE id IN (
                             SELECT tq.quota_id FROM order_items oi JOIN tier_quotas tq ON tq.tier_id = oi.tier_id
                             WHERE oi.order_id = $1)",
                    )
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                    sqlx::query("DELETE FROM seat_claims WHERE order_id = $1").bind(id).execute(&mut **tx).await?;
                    sqlx::query(
                        "UPDATE codes SET uses = uses - 1
                         WHERE id = (SELECT code_id FROM orders WHERE id = $1) AND uses > 0",
                    )
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                    released += 1;
                }
                Ok(released)
            }

            /// Pays an open order inside the caller's transaction: it becomes
            /// `paid` (the conditional update makes a second payment a no-op),
            /// its held units become sold on every quota they draw on, and the
            /// given jobs are written. Returns false when it was not open.
            async fn pay_in(
                tx: &mut sqlx::Transaction<'static, Db>,
                order_id: &str,
                now: $crate::domain::Timestamp,
                jobs: &[$crate::store::NewJob],
            ) -> Result<bool, sqlx::Error> {
                let done = sqlx::query(
                    "UPDATE orders SET status = 'paid', paid_at = $2, updated_at = $2
                     WHERE id = $1 AND status IN ('reserved', 'pending_payment')",
                )
                .bind(order_id)
                .bind(now.as_millis())
                .execute(&mut **tx)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE quotas SET held = held - n.units, sold = sold + n.units
                     FROM (SELECT tq.quota_id, COUNT(*) AS units FROM order_items oi
                           JOIN tier_quotas tq ON tq.tier_id = oi.tier_id
                           WHERE oi.order_id = $1 GROUP BY tq.quota_id) n
                     WHERE quotas.id = n.quota_id",
                )
                .bind(order_id)
                .execute(&mut **tx)
                .await?;
                for job in jobs {
                    Self::enqueue_in(tx, job, now).await?;
                }
                Ok(true)
            }

            /// Test-only race-sanity twin: reads quota levels, seat claims
            /// and code uses before the transaction and pauses, so the writes
            /// use stale numbers. Off unless the store was opened with
            /// `unguarded_race_window`.
            #[allow(unused_variables)]
            async fn race_twin(
                &self,
                quotas: impl Iterator<Item = &str>,
                seats: &[$crate::store::orders::HoldSeat],
                code: Option<&$crate::store::orders::HoldCode>,
                now: i64,
            ) -> Result<$crate::store::orders_sql::RaceTwin, sqlx::Error> {
                #[allow(unused_mut)]
                let mut twin = $crate::store::orders_sql::RaceTwin::default();
                #[cfg(feature = "test-hooks")]
                if let Some(window) = &self.opts.unguarded_race_window {
                    twin.on = true;
                    for q in quotas {
                        let level: (i64, i64, i64) = sqlx::query_as("SELECT size, sold, held FROM quotas WHERE id = $1")
                            .bind(q)
                            .fetch_one(&self.pool)
                            .await?;
                        twin.levels.insert(q.to_owned(), level);
                    }
                    for s in seats {
                        let (n,): (i64,) = sqlx::query_as(concat!(
                            "SELECT COUNT(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id
                             WHERE oi.seat_id = $1 AND (o.status = 'paid' OR ", $crate::holds_stock_sql!("$2"), ")",
                        ))
                        .bind(&s.seat_id)
                        .bind(now)
                        .fetch_one(&self.pool)
                        .await?;
                        if n > 0 {
                            twin.seats_taken.insert(s.seat_id.clone());
                        }
                    }
                    if let Some(c) = code {
                        twin.code_uses = sqlx::query_as("SELECT uses, max_uses FROM codes WHERE id = $1")
                            .bind(&c.id)
                            .fetch_optional(&self.pool)
                            .await?;
                    }
                    window.wait_for_the_others().await;
                }
                Ok(twin)
            }

            /// Takes `n` units of a quota inside the caller's transaction.
            /// Returns false when there is not enough left.
            ///
            /// The guard is the conditional update: the row is changed only if
            /// `sold + held + n <= size`, checked by the database at write time,
            /// so no interleaving of buyers can take more than exists. `stale`
            /// is only ever set by the test-only race-sanity twin, which writes
            /// an absolute value computed from an old read (lost updates).
            async fn take_stock(
                tx: &mut sqlx::Transaction<'static, Db>,
                quota: &str,
                n: i64,
                stale: Option<&(i64, i64, i64)>,
            ) -> Result<bool, sqlx::Error> {
                if let Some(&(size, sold, held)) = stale {
                    if sold + held + n > size {
                        return Ok(false);
                    }
                    sqlx::query("UPDATE quotas SET held = $2 WHERE id = $1")
                        .bind(quota)
                        .bind(held + n)
                        .execute(&mut **tx)
                        .await?;
                    return Ok(true);
                }
                let r = sqlx::query("UPDATE quotas SET held = held + $2 WHERE id = $1 AND sold + held + $2 <= size")
                    .bind(quota)
                    .bind(n)
                    .execute(&mut **tx)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            /// Claims one seat for an order inside the caller's transaction.
            /// The insert only happens for a sellable seat of this event and
            /// tier; the primary key refuses a second claim.
            async fn claim_seat(
                tx: &mut sqlx::Transaction<'static, Db>,
                hold: &$crate::store::orders::TakeHold,
                seat: &$crate::store::orders::HoldSeat,
                twin: &$crate::store::orders_sql::RaceTwin,
            ) -> $crate::store::StoreResult<()> {
                let taken = || $crate::store::StoreError::SeatTaken { seat: seat.label.clone() };
                if twin.on {
                    // The twin trusts its early read and writes no claim.
                    return if twin.seats_taken.contains(&seat.seat_id) { Err(taken()) } else { Ok(()) };
                }
                let r = sqlx::query(
                    "INSERT INTO seat_claims (seat_id, event_id, order_id, created_at)
                     SELECT id, event_id, $2, $3 FROM seats
                     WHERE id = $1 AND event_id = $4 AND NOT blocked AND tier_id = $5",
                )
                .bind(&seat.seat_id)
                .bind(hold.order_id.as_str())
                .bind(hold.now.as_millis())
                .bind(hold.event_id.as_str())
                .bind(seat.tier_id.as_str())
                .execute(&mut **tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_unique_violation() => taken(),
                    _ => e.into(),
                })?;
                if r.rows_affected() == 0 {
                    return Err($crate::store::StoreError::Refused(format!(
                        "Seat {} is not for sale.",
                        seat.label
                    )));
                }
                Ok(())
            }

            /// Reserves one use of a code inside the caller's transaction:
            /// the per-buyer limit first, then the conditional update that
            /// never lets uses pass `max_uses`.
            async fn reserve_code_use(
                tx: &mut sqlx::Transaction<'static, Db>,
                hold: &$crate::store::orders::TakeHold,
                code: &$crate::store::orders::HoldCode,
                twin: &$crate::store::orders_sql::RaceTwin,
            ) -> $crate::store::StoreResult<()> {
                if let Some(per_user) = code.max_uses_per_user {
                    let (mine,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM orders
                         WHERE user_id = $1 AND code_id = $2 AND id <> $3
                           AND status IN ('reserved', 'pending_payment', 'paid')",
                    )
                    .bind(hold.user_id.as_str())
                    .bind(&code.id)
                    .bind(hold.order_id.as_str())
                    .fetch_one(&mut **tx)
                    .await?;
                    if mine >= per_user {
                        return Err($crate::store::StoreError::Refused(format!(
                            "You have already used the code {} as often as it allows.",
                            code.text
                        )));
                    }
                }
                let used_up = || {
                    $crate::store::StoreError::Refused(format!("The code {} has been used up.", code.text))
                };
                if twin.on {
                    let (uses, max) = twin.code_uses.unwrap_or((0, None));
                    if max.is_some_and(|m| uses >= m) {
                        return Err(used_up());
                    }
                    sqlx::query("UPDATE codes SET uses = $2 WHERE id = $1")
                        .bind(&code.id)
                        .bind(uses + 1)
                        .execute(&mut **tx)
                        .await?;
                    return Ok(());
                }
                let r = sqlx::query(
                    "UPDATE codes SET uses = uses + 1
                     WHERE id = $1 AND event_id = $2 AND (max_uses IS NULL OR uses < max_uses)",
                )
                .bind(&code.id)
                .bind(hold.event_id.as_str())
                .execute(&mut **tx)
                .await?;
                if r.rows_affected() == 0 {
                    return Err(used_up());
                }
                Ok(())
            }

            /// Writes the orders of these holds (each with its event's
            /// currency) and returns `(id, buyer, event)` of each row the
            /// statement touched. With `find_earlier`, a buyer's open hold on
            /// the event that stands in the way is returned in place of the
            /// new order (found through the one-open-hold index and locked,
            /// not changed); without, such a new order is just not written.
            async fn insert_hold_orders(
                tx: &mut sqlx::Transaction<'static, Db>,
                holds: &[(&$crate::store::orders::TakeHold, &str)],
                find_earlier: bool,
            ) -> Result<Vec<(String, String, String)>, sqlx::Error> {
                let mut rows = Vec::new();
                for chunk in holds.chunks(500) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO orders (id, user_id, event_id, status, currency, expires_at, created_at, updated_at, code_id) ",
                    );
                    q.push_values(chunk, |mut b, (h, currency)| {
                        b.push_bind(h.order_id.as_str().to_owned())
                            .push_bind(h.user_id.as_str().to_owned())
                            .push_bind(h.event_id.as_str().to_owned())
                            .push_bind("reserved")
                            .push_bind((*currency).to_owned())
                            .push_bind(h.expires_at.as_millis())
                            .push_bind(h.now.as_millis())
                            .push_bind(h.now.as_millis())
                            .push_bind(h.code.as_ref().map(|c| c.id.clone()));
                    });
                    q.push(if find_earlier {
                        " ON CONFLICT (user_id, event_id) WHERE status = 'reserved' DO UPDATE SET updated_at = orders.updated_at"
                    } else {
                        " ON CONFLICT DO NOTHING"
                    });
                    q.push(" RETURNING id, user_id, event_id");
                    rows.extend(q.build_query_as::<(String, String, String)>().fetch_all(&mut **tx).await?);
                }
                Ok(rows)
            }

            /// Open orders past their end that hold any of these quotas or seats.
            async fn lapsed_holders(
                tx: &mut sqlx::Transaction<'static, Db>,
                quotas: impl Iterator<Item = &str>,
                seats: &[$crate::store::orders::HoldSeat],
                now: i64,
            ) -> Result<Vec<String>, sqlx::Error> {
                let mut expired: Vec<String> = Vec::new();
                for quota in quotas {
                    let ids: Vec<(String,)> = sqlx::query_as(
                        "SELECT DISTINCT o.id FROM orders o
                         JOIN order_items oi ON oi.order_id = o.id
                         JOIN tier_quotas tq ON tq.tier_id = oi.tier_id
                         WHERE tq.quota_id = $1 AND o.status = 'reserved' AND o.expires_at <= $2",
                    )
                    .bind(quota)
                    .bind(now)
                    .fetch_all(&mut **tx)
                    .await?;
                    expired.extend(ids.into_iter().map(|(id,)| id));
                }
                for seat in seats {
                    let ids: Vec<(String,)> = sqlx::query_as(
                        "SELECT o.id FROM seat_claims sc JOIN orders o ON o.id = sc.order_id
                         WHERE sc.seat_id = $1 AND o.status = 'reserved' AND o.expires_at <= $2",
                    )
                    .bind(&seat.seat_id)
                    .bind(now)
                    .fetch_all(&mut **tx)
                    .await?;
                    expired.extend(ids.into_iter().map(|(id,)| id));
                }
                expired.sort();
                expired.dedup();
                Ok(expired)
            }

            /// Items of the given orders, grouped by order id.
            async fn items_of(
                &self,
                where_sql: &str,
                key: &str,
            ) -> Result<std::collections::HashMap<String, Vec<$crate::store::orders::OrderItemRecord>>, sqlx::Error> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    order_id: String,
                    #[sqlx(flatten)]
                    item: $crate::store::orders::OrderItemRecord,
                }
                let sql = format!(
                    "SELECT oi.order_id, oi.id, oi.tier_id, t.name AS tier_name, oi.unit_price_minor, oi.discount_minor, oi.seat_id, oi.seat_label,
                            oi.attendee_name, oi.attendee_email
                     FROM order_items oi JOIN tiers t ON t.id = oi.tier_id
                     WHERE {where_sql}
                     ORDER BY oi.order_id, oi.id"
                );
                let rows: Vec<Row> = sqlx::query_as(&sql).bind(key).fetch_all(&self.pool).await?;
                let mut out: std::collections::HashMap<String, Vec<_>> = std::collections::HashMap::new();
                for r in rows {
                    out.entry(r.order_id).or_default().push(r.item);
                }
                Ok(out)
            }

            /// Orders matching `where_sql` (one `$1` parameter), newest first.
            async fn orders_where(
                &self,
                where_sql: &str,
                key: &str,
                limit: i64,
            ) -> Result<Vec<$crate::store::orders::OrderRecord>, sqlx::Error> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    id: String,
                    user_id: String,
                    event_id: String,
                    title: String,
                    slug: String,
                    starts_at: i64,
                    time_zone: String,
                    status: String,
                    currency: String,
                    expires_at: i64,
                    created_at: i64,
                    code: Option<String>,
                    total_minor: Option<i64>,
                    paid_at: Option<i64>,
                    payment_url: Option<String>,
                    payment_session_id: Option<String>,
                    payment_ref: Option<String>,
                    refunded_at: Option<i64>,
                }
                let sql = format!(
                    "SELECT o.id, o.user_id, o.event_id, e.title, e.slug, e.starts_at, e.time_zone, o.status,
                            o.currency, o.expires_at, o.created_at, c.code, o.total_minor, o.paid_at, o.payment_url,
                            o.payment_session_id, o.payment_ref, o.refunded_at
                     FROM orders o JOIN events e ON e.id = o.event_id LEFT JOIN codes c ON c.id = o.code_id
                     WHERE {where_sql}
                     ORDER BY o.created_at DESC, o.id DESC LIMIT {limit}"
                );
                let rows: Vec<Row> = sqlx::query_as(&sql).bind(key).fetch_all(&self.pool).await?;
                let item_filter = format!(
                    "oi.order_id IN (SELECT o.id FROM orders o WHERE {where_sql} ORDER BY o.created_at DESC, o.id DESC LIMIT {limit})"
                );
                let mut items = self.items_of(&item_filter, key).await?;
                Ok(rows
                    .into_iter()
                    .map(|r| $crate::store::orders::OrderRecord {
                        items: items.remove(&r.id).unwrap_or_default(),
                        id: $crate::domain::OrderId::from_string(r.id),
                        user_id: $crate::domain::UserId::from_string(r.user_id),
                        event_id: $crate::domain::EventId::from_string(r.event_id),
                        event_title: r.title,
                        event_slug: r.slug,
                        event_starts_at: $crate::domain::Timestamp::from_millis(r.starts_at),
                        event_time_zone: r.time_zone,
                        status: $crate::domain::OrderStatus::parse(&r.status)
                            .unwrap_or($crate::domain::OrderStatus::Cancelled),
                        currency: r.currency,
                        expires_at: $crate::domain::Timestamp::from_millis(r.expires_at),
                        created_at: $crate::domain::Timestamp::from_millis(r.created_at),
                        code: r.code,
                        total_minor: r.total_minor,
                        paid_at: r.paid_at.map($crate::domain::Timestamp::from_millis),
                        payment_url: r.payment_url,
                        payment_session_id: r.payment_session_id,
                        payment_ref: r.payment_ref,
                        refunded_at: r.refunded_at.map($crate::domain::Timestamp::from_millis),
                    })
                    .collect())
            }

            /// One transaction of a batch of holds (see `take_holds`): at most
            /// one hold per buyer and event, decided in the order given. A
            /// refusal is that hold's answer; an error rolls back the round.
            ///
            /// The quota rows are locked (PostgreSQL; SQLite's `BEGIN
            /// IMMEDIATE` already holds the write lock) and read once, each
            /// hold is granted in order while stock is left, and the stock is
            /// then taken with one conditional update per quota. The guard is
            /// still the database's: that update changes nothing unless
            /// `sold + held + n <= size`, backed by the CHECK, and the round is
            /// rolled back if it refuses. Seats and code uses are taken per
            /// hold inside a savepoint, so that one buyer's lost seat leaves
            /// the others' holds standing. A hold priced on terms older than
            /// the event's `terms_version` is refused (`StaleTerms`).
            async fn take_holds_round(
                &self,
                pool: &sqlx::Pool<Db>,
                round: &[&$crate::store::orders_sql::Prepared<'_>],
            ) -> $crate::store::StoreResult<Vec<$crate::store::StoreResult<$crate::store::orders::HoldReceipt>>> {
                use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
                use $crate::store::{Conflict, StoreError, orders::{HoldReceipt, OrderItemRecord, OrderRecord}, orders_sql::Release};
                #[derive(sqlx::FromRow)]
                struct Ev {
                    status: String,
                    currency: String,
                    title: String,
                    slug: String,
                    starts_at: i64,
                    time_zone: String,
                    terms_version: i64,
                }
                self.with_retry(|| async move {
                    let mut tx = self.begin_write_on(pool).await?;
                    let mut answers: Vec<Option<$crate::store::StoreResult<HoldReceipt>>> = round.iter().map(|_| None).collect();
                    // The latest instant of the round: what has lapsed by then
                    // stops counting.
                    let now = round.iter().map(|p| p.hold.now.as_millis()).max().unwrap_or(0);

                    let mut events: HashMap<&str, Option<Ev>> = HashMap::new();
                    for p in round {
                        let id = p.hold.event_id.as_str();
                        if !events.contains_key(id) {
                            let ev: Option<Ev> = sqlx::query_as(
                                "SELECT status, currency, title, slug, starts_at, time_zone, terms_version FROM events WHERE id = $1",
                            )
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                            events.insert(id, ev);
                        }
                    }
                    for (i, p) in round.iter().enumerate() {
                        match events[p.hold.event_id.as_str()].as_ref() {
                            None => answers[i] = Some(Err(StoreError::NotFound)),
                            // First: on fresh terms the buyer may get another
                            // answer (the event was unpublished, say).
                            Some(ev) if p.hold.terms_version.is_some_and(|v| v != ev.terms_version) => {
                                answers[i] = Some(Err(StoreError::Conflict(Conflict::StaleTerms)))
                            }
                            Some(ev) if ev.status != "published" => {
                                answers[i] = Some(Err(StoreError::Refused("This event is not on sale.".into())))
                            }
                            Some(_) => {}
                        }
                    }
                    let live: Vec<usize> = (0..round.len()).filter(|i| answers[*i].is_none()).collect();
                    if live.is_empty() {
                        tx.rollback().await?;
                        return Ok(answers.into_iter().map(|a| a.unwrap_or(Err(StoreError::NotFound))).collect());
                    }

                    // 1. The orders (seat claims and items refer to them).
                    // A buyer's open hold on the event stands in the way of
                    // the new one; the one-open-hold index finds it (no
                    // query plan involved) and hands back its id instead.
                    let currency = |h: &$crate::store::orders::TakeHold| {
                        events[h.event_id.as_str()].as_ref().map_or("", |e| e.currency.as_str())
                    };
                    let mut inserted: HashSet<String> = HashSet::new();
                    let mut earlier: HashMap<(String, String), String> = HashMap::new();
                    let holds: Vec<(&$crate::store::orders::TakeHold, &str)> =
                        live.iter().map(|i| (round[*i].hold, currency(round[*i].hold))).collect();
                    let new_ids: HashSet<&str> = holds.iter().map(|(h, _)| h.order_id.as_str()).collect();
                    for (id, user, event) in Self::insert_hold_orders(&mut tx, &holds, true).await? {
                        if new_ids.contains(id.as_str()) {
                            inserted.insert(id);
                        } else {
                            earlier.insert((user, event), id);
                        }
                    }

                    // 2. Those earlier holds are replaced: released, then the
                    // new orders that they stood in the way of are written.
                    // The index may still refuse one whose buyer's other hold
                    // committed meanwhile elsewhere: that one is retried.
                    let replaced: Vec<String> = earlier.values().cloned().collect();
                    Self::release_orders_in(&mut tx, &replaced, now, Release::Cancel).await?;
                    let blocked: Vec<(&$crate::store::orders::TakeHold, &str)> = holds
                        .iter()
                        .filter(|(h, _)| earlier.contains_key(&(h.user_id.as_str().to_owned(), h.event_id.as_str().to_owned())))
                        .copied()
                        .collect();
                    for (id, _, _) in Self::insert_hold_orders(&mut tx, &blocked, false).await? {
                        inserted.insert(id);
                    }

                    // 3. Expired holds on these quotas and seats stop counting now.
                    let quotas: BTreeSet<&str> =
                        live.iter().flat_map(|i| round[*i].demand.keys().map(String::as_str)).collect();
                    let seats: Vec<$crate::store::orders::HoldSeat> =
                        live.iter().flat_map(|i| round[*i].hold.seats.iter().cloned()).collect();
                    let expired = Self::lapsed_holders(&mut tx, quotas.iter().copied(), &seats, now).await?;
                    Self::release_orders_in(&mut tx, &expired, now, Release::Lapsed).await?;

                    // 4. Stock levels, locked, read once.
                    let twin = live.iter().map(|i| &round[*i].twin).find(|t| t.on);
                    let mut levels: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
                    for quota in &quotas {
                        let level = match twin.and_then(|t| t.levels.get(*quota)) {
                            Some(stale) => *stale,
                            None => sqlx::query_as(&format!("SELECT size, sold, held FROM quotas WHERE id = $1{}", Self::LOCK_ROW))
                                .bind(*quota)
                                .fetch_one(&mut *tx)
                                .await?,
                        };
                        levels.insert(*quota, level);
                    }

                    // 5. Each hold in order: stock, then its seats and code.
                    let mut refused: Vec<String> = Vec::new();
                    let mut granted: Vec<usize> = Vec::new();
                    for i in &live {
                        let p = round[*i];
                        let h = p.hold;
                        if !inserted.contains(h.order_id.as_str()) {
                            answers[*i] = Some(Err(StoreError::Conflict(Conflict::OpenHold)));
                            continue;
                        }
                        let short = p.demand.iter().find(|(q, n)| {
                            let (size, sold, held) = levels[q.as_str()];
                            sold + held + **n > size
                        });
                        if let Some((quota, _)) = short {
                            let (size, sold, held) = levels[quota.as_str()];
                            answers[*i] = Some(Err(StoreError::SoldOut {
                                tier: p.quota_tier.get(quota).cloned().unwrap_or_default(),
                                remaining: (size - sold - held).max(0),
                            }));
                            refused.push(h.order_id.as_str().to_owned());
                            continue;
                        }
                        if !h.seats.is_empty() || h.code.is_some() {
                            sqlx::query("SAVEPOINT admit_hold").execute(&mut *tx).await?;
                            let mut taken: $crate::store::StoreResult<()> = Ok(());
                            for seat in &h.seats {
                                taken = Self::claim_seat(&mut tx, h, seat, &p.twin).await;
                                if taken.is_err() {
                                    break;
                                }
                            }
                            if let (Ok(()), Some(code)) = (&taken, &h.code) {
                                taken = Self::reserve_code_use(&mut tx, h, code, &p.twin).await;
                            }
                            match taken {
                                Ok(()) => {
                                    sqlx::query("RELEASE SAVEPOINT admit_hold").execute(&mut *tx).await?;
                                }
                                Err(e) => {
                                    sqlx::query("ROLLBACK TO SAVEPOINT admit_hold").execute(&mut *tx).await?;
                                    sqlx::query("RELEASE SAVEPOINT admit_hold").execute(&mut *tx).await?;
                                    if matches!(e, StoreError::Internal(_)) {
                                        // A failure, not a refusal: the whole
                                        // round is retried or fails.
                                        return Err(e);
                                    }
                                    answers[*i] = Some(Err(e));
                                    refused.push(h.order_id.as_str().to_owned());
                                    continue;
                                }
                            }
                        }
                        for (quota, n) in &p.demand {
                            if let Some(level) = levels.get_mut(quota.as_str()) {
                                level.2 += n;
                            }
                        }
                        granted.push(*i);
                    }
                    for chunk in refused.chunks(500) {
                        let mut q = sqlx::QueryBuilder::<Db>::new("DELETE FROM orders WHERE id IN ");
                        $crate::store::orders_sql::push_list(&mut q, chunk.iter().map(String::as_str));
                        q.build().execute(&mut *tx).await?;
                    }

                    // 6. One item per unit, at the price given.
                    let mut items: HashMap<usize, Vec<OrderItemRecord>> = HashMap::new();
                    let mut rows: Vec<(usize, OrderItemRecord)> = Vec::new();
                    for i in &granted {
                        let p = round[*i];
                        let units = p
                            .hold
                            .lines
                            .iter()
                            .flat_map(|l| (0..l.count).map(move |_| (&l.tier_id, l.unit_price_minor, l.discount_minor, None)))
                            .chain(p.hold.seats.iter().map(|s| (&s.tier_id, s.unit_price_minor, s.discount_minor, Some(s))));
                        for (tier, price, discount, seat) in units {
                            rows.push((*i, OrderItemRecord {
                                id: $crate::store::new_id(),
                                tier_id: tier.as_str().to_owned(),
                                tier_name: p.tier_names.get(tier.as_str()).cloned().unwrap_or_default(),
                                unit_price_minor: price,
                                discount_minor: discount,
                                seat_id: seat.map(|s| s.seat_id.clone()),
                                seat_label: seat.map(|s| s.label.clone()),
                                attendee_name: None,
                                attendee_email: None,
                            }));
                        }
                    }
                    for chunk in rows.chunks(1000) {
                        let mut q = sqlx::QueryBuilder::<Db>::new(
                            "INSERT INTO order_items (id, order_id, tier_id, unit_price_minor, seat_id, seat_label, discount_minor) ",
                        );
                        q.push_values(chunk, |mut b, (i, item)| {
                            b.push_bind(item.id.clone())
                                .push_bind(round[*i].hold.order_id.as_str().to_owned())
                                .push_bind(item.tier_id.clone())
                                .push_bind(item.unit_price_minor)
                                .push_bind(item.seat_id.clone())
                                .push_bind(item.seat_label.clone())
                                .push_bind(item.discount_minor);
                        });
                        q.build().execute(&mut *tx).await?;
                    }
                    for (i, item) in rows {
                        items.entry(i).or_default().push(item);
                    }

                    // 7. The stock, one conditional update per quota, in sorted order.
                    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
                    for i in &granted {
                        for (quota, n) in &round[*i].demand {
                            *totals.entry(quota.as_str()).or_default() += n;
                        }
                    }
                    for (quota, n) in &totals {
                        if !Self::take_stock(&mut tx, quota, *n, twin.and_then(|t| t.levels.get(*quota))).await? {
                            // The rows were locked and read in this very
                            // transaction, so this cannot happen unless the
                            // code above is wrong; the database said no.
                            return Err(StoreError::Internal(anyhow::anyhow!(
                                "quota {quota} refused {n} units that its locked level allowed"
                            )));
                        }
                    }
                    self.stall_if_asked(granted.len()).await;
                    tx.commit().await?;

                    for i in granted {
                        let p = round[i];
                        let h = p.hold;
                        let ev = events[h.event_id.as_str()].as_ref().ok_or(StoreError::NotFound)?;
                        let items = items.remove(&i).unwrap_or_default();
                        answers[i] = Some(Ok(HoldReceipt {
                            order_id: h.order_id.clone(),
                            units: u32::try_from(items.len()).unwrap_or(u32::MAX),
                            replaced: earlier
                                .get(&(h.user_id.as_str().to_owned(), h.event_id.as_str().to_owned()))
                                .map(|id| $crate::domain::OrderId::from_string(id.clone())),
                            order: OrderRecord {
                                id: h.order_id.clone(),
                                user_id: h.user_id.clone(),
                                event_id: h.event_id.clone(),
                                event_title: ev.title.clone(),
                                event_slug: ev.slug.clone(),
                                event_starts_at: $crate::domain::Timestamp::from_millis(ev.starts_at),
                                event_time_zone: ev.time_zone.clone(),
                                status: $crate::domain::OrderStatus::Reserved,
                                currency: ev.currency.clone(),
                                expires_at: h.expires_at,
                                created_at: h.now,
                                code: h.code.as_ref().map(|c| c.text.clone()),
                                total_minor: None,
                                paid_at: None,
                                payment_url: None,
                                payment_session_id: None,
                                payment_ref: None,
                                refunded_at: None,
                                items,
                            },
                        }));
                    }
                    Ok(answers
                        .into_iter()
                        .map(|a| a.unwrap_or_else(|| Err(StoreError::Internal(anyhow::anyhow!("a hold of the round got no answer")))))
                        .collect())
                })
                .await
            }

            /// Test-only: with `stall_admission_batch` set and its flag file
            /// present, a batch that granted holds stops just before its
            /// commit, after saying so in `<flag>.stalled`, until the flag is
            /// removed, so a test can kill the server in the middle of a batch.
            #[allow(unused_variables)]
            async fn stall_if_asked(&self, granted: usize) {
                #[cfg(feature = "test-hooks")]
                if let Some(flag) = &self.opts.stall_admission_batch
                    && granted > 0
                    && flag.exists()
                {
                    let _ = std::fs::write(flag.with_extension("stalled"), granted.to_string());
                    while flag.exists() {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
            }

            /// The batch of holds behind `take_holds` and `take_hold`, its
            /// transactions opened on `pool`: the admission pool for batches,
            /// so that an admitter never queues for a connection behind the
            /// requests' reads; the shared pool for a hold taken alone.
            async fn take_holds_on(
                &self,
                pool: &sqlx::Pool<Db>,
                holds: Vec<$crate::store::orders::TakeHold>,
            ) -> Vec<$crate::store::StoreResult<$crate::store::orders::HoldReceipt>> {
                use std::collections::{BTreeMap, HashMap, HashSet};
                use $crate::store::{Conflict, StoreError, orders_sql::Prepared};
                let mut answers: Vec<Option<$crate::store::StoreResult<$crate::store::orders::HoldReceipt>>> =
                    holds.iter().map(|_| None).collect();

                // The quotas each tier draws on, once per tier of the batch.
                let mut links: HashMap<&str, Vec<(String, String, String)>> = HashMap::new();
                for hold in &holds {
                    for tier in hold.lines.iter().map(|l| &l.tier_id).chain(hold.seats.iter().map(|s| &s.tier_id)) {
                        if links.contains_key(tier.as_str()) {
                            continue;
                        }
                        let rows: Result<Vec<(String, String, String)>, sqlx::Error> = sqlx::query_as(
                            "SELECT tq.quota_id, t.event_id, t.name FROM tier_quotas tq JOIN tiers t ON t.id = tq.tier_id
                             WHERE tq.tier_id = $1",
                        )
                        .bind(tier.as_str())
                        .fetch_all(pool)
                        .await;
                        match rows {
                            Ok(rows) => {
                                links.insert(tier.as_str(), rows);
                            }
                            Err(e) => {
                                let e = anyhow::Error::new(e);
                                return holds.iter().map(|_| Err($crate::store::orders_sql::batch_failed(&e))).collect();
                            }
                        }
                    }
                }

                // Each hold's demand per quota, or why it cannot be taken.
                let mut prepared: Vec<Option<Prepared<'_>>> = Vec::with_capacity(holds.len());
                for (i, hold) in holds.iter().enumerate() {
                    let mut per_tier: BTreeMap<&str, i64> = BTreeMap::new();
                    for l in &hold.lines {
                        *per_tier.entry(l.tier_id.as_str()).or_default() += i64::from(l.count);
                    }
                    for s in &hold.seats {
                        *per_tier.entry(s.tier_id.as_str()).or_default() += 1;
                    }
                    if per_tier.values().sum::<i64>() < 1 {
                        answers[i] = Some(Err(StoreError::Refused("Pick at least one ticket.".into())));
                        prepared.push(None);
                        continue;
                    }
                    let mut p = Prepared::new(hold);
                    let mut foreign = false;
                    for (tier, n) in &per_tier {
                        let rows = &links[tier];
                        if rows.is_empty() || rows.iter().any(|(_, event, _)| event != hold.event_id.as_str()) {
                            foreign = true;
                            break;
                        }
                        for (quota, _, name) in rows {
                            *p.demand.entry(quota.clone()).or_default() += n;
                            p.quota_tier.entry(quota.clone()).or_insert_with(|| name.clone());
                        }
                        p.tier_names.insert((*tier).to_owned(), rows[0].2.clone());
                    }
                    if foreign {
                        answers[i] = Some(Err(StoreError::Refused(
                            "That ticket type is not part of this event.".into(),
                        )));
                        prepared.push(None);
                        continue;
                    }
                    match self
                        .race_twin(p.demand.keys().map(String::as_str), &hold.seats, hold.code.as_ref(), hold.now.as_millis())
                        .await
                    {
                        Ok(twin) => p.twin = twin,
                        Err(e) => {
                            answers[i] = Some(Err(e.into()));
                            prepared.push(None);
                            continue;
                        }
                    }
                    prepared.push(Some(p));
                }

                // Rounds: one transaction each, holding the first hold of
                // each buyer and event still pending, in arrival order. A
                // buyer's second hold in the same batch replaces the
                // first in the next round, as it would one after another.
                let mut pending: Vec<usize> = (0..holds.len()).filter(|i| prepared[*i].is_some()).collect();
                let mut replace_attempts: HashMap<usize, u32> = HashMap::new();
                while !pending.is_empty() {
                    let mut seen = HashSet::new();
                    let (round, rest): (Vec<usize>, Vec<usize>) = pending.iter().partition(|i| {
                        let h = &holds[**i];
                        seen.insert((h.user_id.as_str(), h.event_id.as_str()))
                    });
                    pending = rest;
                    let members: Vec<&Prepared<'_>> = round.iter().filter_map(|i| prepared[*i].as_ref()).collect();
                    match self.take_holds_round(pool, &members).await {
                        Ok(results) => {
                            for (i, r) in round.iter().zip(results) {
                                match r {
                                    // Two holds of one buyer at the same
                                    // instant (on two app instances): the
                                    // index let one through; the other
                                    // replaces it on a new try.
                                    Err(StoreError::Conflict(Conflict::OpenHold))
                                        if replace_attempts.get(i).copied().unwrap_or(0) < 3 =>
                                    {
                                        *replace_attempts.entry(*i).or_default() += 1;
                                        pending.push(*i);
                                    }
                                    r => answers[*i] = Some(r),
                                }
                            }
                            pending.sort_unstable();
                        }
                        Err(e) => {
                            // Nothing of this round was committed: each of
                            // its buyers is told, and later rounds still run.
                            let e = anyhow::Error::new(e);
                            for i in &round {
                                answers[*i] = Some(Err($crate::store::orders_sql::batch_failed(&e)));
                            }
                        }
                    }
                }
                answers
                    .into_iter()
                    .map(|a| a.unwrap_or_else(|| Err(StoreError::Internal(anyhow::anyhow!("a hold of the batch got no answer")))))
                    .collect()
            }
        }

        impl $crate::store::orders::OrderStore for $store {
            fn take_hold(
                &self,
                hold: $crate::store::orders::TakeHold,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::orders::HoldReceipt>> {
                Box::pin(async move {
                    self.take_holds_on(&self.pool, vec![hold]).await.pop().unwrap_or_else(|| {
                        Err($crate::store::StoreError::Internal(anyhow::anyhow!(
                            "a batch of one hold gave no answer"
                        )))
                    })
                })
            }

            fn take_holds(
                &self,
                holds: Vec<$crate::store::orders::TakeHold>,
            ) -> $crate::store::BoxFuture<'_, Vec<$crate::store::StoreResult<$crate::store::orders::HoldReceipt>>> {
                Box::pin(self.take_holds_on(&self.admission_pool, holds))
            }

            fn release_expired_holds(
                &self,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<u64>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let ids: Vec<(String,)> = sqlx::query_as(
                            "SELECT id FROM orders WHERE status = 'reserved' AND expires_at <= $1
                             ORDER BY id LIMIT 500",
                        )
                        .bind(now.as_millis())
                        .fetch_all(&mut *tx)
                        .await?;
                        let ids: Vec<String> = ids.into_iter().map(|(id,)| id).collect();
                        let n = Self::release_orders_in(&mut tx, &ids, now.as_millis(), $crate::store::orders_sql::Release::Lapsed).await?;
                        tx.commit().await?;
                        Ok(n)
                    })
                    .await
                })
            }

            fn release_hold<'a>(
                &'a self,
                order: &'a $crate::domain::OrderId,
                user: &'a $crate::domain::UserId,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let owner: Option<(String,)> = sqlx::query_as("SELECT user_id FROM orders WHERE id = $1")
                            .bind(order.as_str())
                            .fetch_optional(&mut *tx)
                            .await?;
                        if owner.is_none_or(|(u,)| u != user.as_str()) {
                            return Err($crate::store::StoreError::NotFound);
                        }
                        // A hold already past its end is expired, not cancelled.
                        let ids = [order.as_str().to_owned()];
                        let expired = Self::release_orders_in(&mut tx, &ids, now.as_millis(), $crate::store::orders_sql::Release::Lapsed).await?;
                        let cancelled = if expired == 0 {
                            Self::release_orders_in(&mut tx, &ids, now.as_millis(), $crate::store::orders_sql::Release::Cancel).await?
                        } else {
                            0
                        };
                        tx.commit().await?;
                        Ok(cancelled == 1)
                    })
                    .await
                })
            }

            fn order<'a>(
                &'a self,
                id: &'a $crate::domain::OrderId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::orders::OrderRecord>>> {
                Box::pin(async move { Ok(self.orders_where("o.id = $1", id.as_str(), 1).await?.pop()) })
            }

            fn orders_of_user<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
                limit: i64,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::orders::OrderRecord>>> {
                Box::pin(async move { Ok(self.orders_where("o.user_id = $1", user.as_str(), limit.clamp(1, 500)).await?) })
            }

            fn checkout(
                &self,
                c: $crate::store::orders::Checkout,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::orders::CheckoutOutcome>> {
                Box::pin(async move {
                    let c = &c;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let row: Option<(String, String, i64)> =
                            sqlx::query_as("SELECT user_id, status, expires_at FROM orders WHERE id = $1")
                                .bind(c.order_id.as_str())
                                .fetch_optional(&mut *tx)
                                .await?;
                        let (owner, status, expires_at) = row.ok_or($crate::store::StoreError::NotFound)?;
                        if owner != c.user_id.as_str() {
                            return Err($crate::store::StoreError::NotFound);
                        }
                        if status != "reserved" || expires_at <= c.now.as_millis() {
                            return Err($crate::store::StoreError::Refused(
                                "This hold has ended. Please pick your tickets again.".into(),
                            ));
                        }
                        for a in &c.attendees {
                            let r = sqlx::query(
                                "UPDATE order_items SET attendee_name = $3, attendee_email = $4
                                 WHERE id = $1 AND order_id = $2",
                            )
                            .bind(&a.item_id)
                            .bind(c.order_id.as_str())
                            .bind(&a.name)
                            .bind(&a.email)
                            .execute(&mut *tx)
                            .await?;
                            if r.rows_affected() != 1 {
                                return Err($crate::store::StoreError::Refused(
                                    "That ticket is not part of this order.".into(),
                                ));
                            }
                        }
                        sqlx::query("UPDATE orders SET fee_minor = $2, total_minor = $3, updated_at = $4 WHERE id = $1")
                            .bind(c.order_id.as_str())
                            .bind(c.fee_minor)
                            .bind(c.total_minor)
                            .bind(c.now.as_millis())
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| $crate::store::common::on_check(e, "The bill cannot be negative."))?;
                        let outcome = if c.total_minor == 0 {
                            Self::pay_in(&mut tx, c.order_id.as_str(), c.now, &c.on_paid).await?;
                            $crate::store::orders::CheckoutOutcome::Paid
                        } else {
                            $crate::store::orders::CheckoutOutcome::AwaitingPayment
                        };
                        tx.commit().await?;
                        Ok(outcome)
                    })
                    .await
                })
            }

            fn seat_claims_of_event<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::orders::SeatClaim>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(concat!(
                        "SELECT sc.seat_id, sc.order_id, (o.status = 'paid') AS sold
                         FROM seat_claims sc JOIN orders o ON o.id = sc.order_id
                         WHERE sc.event_id = $1 AND (o.status = 'paid' OR ", $crate::holds_stock_sql!("$2"), ")
                         ORDER BY sc.seat_id",
                    ))
                    .bind(event.as_str())
                    .bind(now.as_millis())
                    .fetch_all(&self.pool)
                    .await?)
                })
            }
        }
    };
}
