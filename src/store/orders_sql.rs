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
        }

        impl $crate::store::orders::OrderStore for $store {
            fn take_hold(
                &self,
                hold: $crate::store::orders::TakeHold,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::orders::HoldReceipt>> {
                Box::pin(async move {
                    let hold = &hold;
                    let now = hold.now.as_millis();
                    // Units per tier, from lines and seats alike.
                    let mut per_tier: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
                    for l in &hold.lines {
                        *per_tier.entry(l.tier_id.as_str()).or_default() += i64::from(l.count);
                    }
                    for s in &hold.seats {
                        *per_tier.entry(s.tier_id.as_str()).or_default() += 1;
                    }
                    if per_tier.values().sum::<i64>() < 1 {
                        return Err($crate::store::StoreError::Refused("Pick at least one ticket.".into()));
                    }
                    // Per-quota demand, in a fixed (sorted) order so that two
                    // holds never wait on each other's quotas in a cycle.
                    let mut links: Vec<(String, String)> = Vec::new();
                    for tier in per_tier.keys() {
                        let rows: Vec<(String, String)> = sqlx::query_as(
                            "SELECT tq.tier_id, tq.quota_id FROM tier_quotas tq JOIN tiers t ON t.id = tq.tier_id
                             WHERE tq.tier_id = $1 AND t.event_id = $2",
                        )
                        .bind(*tier)
                        .bind(hold.event_id.as_str())
                        .fetch_all(&self.pool)
                        .await?;
                        if rows.is_empty() {
                            return Err($crate::store::StoreError::Refused(
                                "That ticket type is not part of this event.".into(),
                            ));
                        }
                        links.extend(rows);
                    }
                    let mut demand: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
                    for (tier, quota) in &links {
                        *demand.entry(quota.as_str()).or_default() += per_tier[tier.as_str()];
                    }
                    let twin = self
                        .race_twin(demand.keys().copied(), &hold.seats, hold.code.as_ref(), now)
                        .await?;
                    let (demand, links, twin) = (&demand, &links, &twin);
                    let mut replace_attempts = 0;
                    loop {
                        let result = self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let ev: Option<(String, String)> =
                            sqlx::query_as("SELECT status, currency FROM events WHERE id = $1")
                                .bind(hold.event_id.as_str())
                                .fetch_optional(&mut *tx)
                                .await?;
                        let (status, currency) = ev.ok_or($crate::store::StoreError::NotFound)?;
                        if status != "published" {
                            return Err($crate::store::StoreError::Refused("This event is not on sale.".into()));
                        }

                        // 1. The buyer's earlier hold on this event is replaced.
                        let earlier: Option<(String,)> = sqlx::query_as(
                            "SELECT id FROM orders WHERE user_id = $1 AND event_id = $2 AND status = 'reserved'",
                        )
                        .bind(hold.user_id.as_str())
                        .bind(hold.event_id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                        if let Some((id,)) = &earlier {
                            Self::release_orders_in(&mut tx, std::slice::from_ref(id), now, $crate::store::orders_sql::Release::Cancel).await?;
                        }

                        // 2. Expired holds on these quotas and seats stop counting now.
                        let expired = Self::lapsed_holders(&mut tx, demand.keys().copied(), &hold.seats, now).await?;
                        Self::release_orders_in(&mut tx, &expired, now, $crate::store::orders_sql::Release::Lapsed).await?;

                        // 3. The order itself (seat claims and items refer to it).
                        sqlx::query(
                            "INSERT INTO orders (id, user_id, event_id, status, currency, expires_at, created_at, updated_at, code_id)
                             VALUES ($1, $2, $3, 'reserved', $4, $5, $6, $6, $7)",
                        )
                        .bind(hold.order_id.as_str())
                        .bind(hold.user_id.as_str())
                        .bind(hold.event_id.as_str())
                        .bind(&currency)
                        .bind(hold.expires_at.as_millis())
                        .bind(now)
                        .bind(hold.code.as_ref().map(|c| c.id.as_str()))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::store::common::on_unique(e, $crate::store::Conflict::OpenHold))?;
                        // 4. Take stock, quota by quota, in sorted order.
                        for (quota, n) in demand {
                            if !Self::take_stock(&mut tx, quota, *n, twin.levels.get(*quota)).await? {
                                let (size, sold, held): (i64, i64, i64) =
                                    sqlx::query_as("SELECT size, sold, held FROM quotas WHERE id = $1")
                                        .bind(*quota)
                                        .fetch_one(&mut *tx)
                                        .await?;
                                let tier_id = links.iter().find(|(_, q)| q == quota).map(|(t, _)| t.as_str()).unwrap_or("");
                                let (tier,): (String,) = sqlx::query_as("SELECT name FROM tiers WHERE id = $1")
                                    .bind(tier_id)
                                    .fetch_one(&mut *tx)
                                    .await?;
                                return Err($crate::store::StoreError::SoldOut {
                                    tier,
                                    remaining: (size - sold - held).max(0),
                                });
                            }
                        }

                        // 5. Seats, then the code.
                        for seat in &hold.seats {
                            Self::claim_seat(&mut tx, hold, seat, twin).await?;
                        }
                        if let Some(code) = &hold.code {
                            Self::reserve_code_use(&mut tx, hold, code, twin).await?;
                        }

                        // 6. One item per unit, at the price given.
                        let mut units = 0u32;
                        let items = hold
                            .lines
                            .iter()
                            .flat_map(|l| {
                                (0..l.count).map(move |_| (&l.tier_id, l.unit_price_minor, l.discount_minor, None))
                            })
                            .chain(hold.seats.iter().map(|s| (&s.tier_id, s.unit_price_minor, s.discount_minor, Some(s))));
                        for (tier, price, discount, seat) in items {
                            sqlx::query(
                                "INSERT INTO order_items (id, order_id, tier_id, unit_price_minor, seat_id, seat_label, discount_minor)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            )
                            .bind($crate::store::new_id())
                            .bind(hold.order_id.as_str())
                            .bind(tier.as_str())
                            .bind(price)
                            .bind(seat.map(|s| s.seat_id.as_str()))
                            .bind(seat.map(|s| s.label.as_str()))
                            .bind(discount)
                            .execute(&mut *tx)
                            .await?;
                            units += 1;
                        }
                        tx.commit().await?;
                        Ok($crate::store::orders::HoldReceipt {
                            order_id: hold.order_id.clone(),
                            status: $crate::domain::OrderStatus::Reserved,
                            expires_at: hold.expires_at,
                            units,
                            replaced: earlier.map(|(id,)| $crate::domain::OrderId::from_string(id)),
                        })
                    })
                    .await;
                        // Two holds of one buyer at the same instant: the index
                        // let one through; the other replaces it on a new try.
                        match result {
                            Err($crate::store::StoreError::Conflict($crate::store::Conflict::OpenHold))
                                if replace_attempts < 3 =>
                            {
                                replace_attempts += 1;
                            }
                            r => return r,
                        }
                    }
                })
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
