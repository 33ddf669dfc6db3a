//! Payment store methods, written once for both backends.
//!
//! Every gateway event is recorded in `payment_events` (primary key: the
//! event id) in the same transaction as its effect, so a duplicate delivery
//! stops at the insert. Status changes are conditional updates, so a paid,
//! expired or cancelled order never moves back.

macro_rules! impl_payment_store {
    ($store:ty) => {
        impl $crate::store::payments::PaymentStore for $store {
            fn begin_payment(
                &self,
                p: $crate::store::payments::BeginPayment,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::payments::PaymentStart>> {
                Box::pin(async move {
                    let p = &p;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "UPDATE orders SET status = 'pending_payment', expires_at = $4, updated_at = $3
                             WHERE id = $1 AND user_id = $2 AND status = 'reserved' AND expires_at > $3
                               AND total_minor > 0",
                        )
                        .bind(p.order_id.as_str())
                        .bind(p.user_id.as_str())
                        .bind(p.now.as_millis())
                        .bind(p.expires_at.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        let row: Option<(String, i64, Option<String>, Option<String>)> = sqlx::query_as(
                            "SELECT status, expires_at, payment_session_id, payment_url FROM orders
                             WHERE id = $1 AND user_id = $2",
                        )
                        .bind(p.order_id.as_str())
                        .bind(p.user_id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                        let (status, expires_at, session, url) = row.ok_or($crate::store::StoreError::NotFound)?;
                        // A retry of a start that already happened gets the
                        // same instant back; anything else is refused.
                        if r.rows_affected() == 0 && (status != "pending_payment" || expires_at <= p.now.as_millis()) {
                            return Err($crate::store::StoreError::Refused(
                                "This hold has ended. Please pick your tickets again.".into(),
                            ));
                        }
                        tx.commit().await?;
                        Ok($crate::store::payments::PaymentStart {
                            expires_at: $crate::domain::Timestamp::from_millis(expires_at),
                            session: session.zip(url),
                        })
                    })
                    .await
                })
            }

            fn attach_payment_session<'a>(
                &'a self,
                order: &'a $crate::domain::OrderId,
                session_id: &'a str,
                url: &'a str,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        // Only a started payment without a session takes one;
                        // attaching the same session again is a no-op.
                        sqlx::query(
                            "UPDATE orders SET payment_session_id = $2, payment_url = $3, updated_at = $4
                             WHERE id = $1 AND status = 'pending_payment' AND payment_session_id IS NULL",
                        )
                        .bind(order.as_str())
                        .bind(session_id)
                        .bind(url)
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        let (attached,): (Option<String>,) =
                            sqlx::query_as("SELECT payment_session_id FROM orders WHERE id = $1")
                                .bind(order.as_str())
                                .fetch_one(&mut *tx)
                                .await?;
                        tx.commit().await?;
                        if attached.as_deref() == Some(session_id) {
                            Ok(())
                        } else {
                            Err($crate::store::StoreError::Refused(
                                "This hold has ended or its payment was already settled.".into(),
                            ))
                        }
                    })
                    .await
                })
            }

            fn apply_payment(
                &self,
                e: $crate::store::payments::PaymentEvent,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::payments::PaymentOutcome>> {
                use $crate::store::payments::PaymentOutcome;
                Box::pin(async move {
                    let e = &e;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let order: Option<(String, Option<String>)> =
                            sqlx::query_as("SELECT status, payment_session_id FROM orders WHERE id = $1")
                                .bind(&e.order_id)
                                .fetch_optional(&mut *tx)
                                .await?;
                        let outcome = match &order {
                            None => PaymentOutcome::Recorded,
                            Some((status, session)) => {
                                // The order's own session, or the one a crash
                                // kept from being attached.
                                let ours = session.as_deref().is_none_or(|s| s == e.session_id);
                                let open = status == "reserved" || status == "pending_payment";
                                if e.paid {
                                    match (ours, status.as_str()) {
                                        (true, "paid") => PaymentOutcome::AlreadyPaid,
                                        (true, _) if open => PaymentOutcome::Paid,
                                        // Money for an order that was given up,
                                        // or for a session that is not the
                                        // order's: it goes back.
                                        _ => PaymentOutcome::Late,
                                    }
                                } else if e.settled_unpaid && ours && status == "pending_payment" {
                                    PaymentOutcome::Released
                                } else {
                                    PaymentOutcome::Recorded
                                }
                            }
                        };
                        // The event's record comes first: a duplicate stops here.
                        let recorded = sqlx::query(
                            "INSERT INTO payment_events (id, order_id, kind, outcome, created_at)
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                        )
                        .bind(&e.event_id)
                        .bind(order.as_ref().map(|_| e.order_id.as_str()))
                        .bind(&e.kind)
                        .bind(format!("{outcome:?}").to_lowercase())
                        .bind(e.now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        if recorded.rows_affected() == 0 {
                            return Ok(PaymentOutcome::Duplicate);
                        }
                        match outcome {
                            PaymentOutcome::Paid => {
                                sqlx::query(
                                    "UPDATE orders SET payment_ref = $2,
                                            payment_session_id = COALESCE(payment_session_id, $3)
                                     WHERE id = $1",
                                )
                                .bind(&e.order_id)
                                .bind(&e.payment_ref)
                                .bind(&e.session_id)
                                .execute(&mut *tx)
                                .await?;
                                Self::pay_in(&mut tx, &e.order_id, e.now, &e.on_paid).await?;
                            }
                            PaymentOutcome::Late => {
                                // A given-up order is never revived: an expired
                                // one is marked cancelled (its money refused),
                                // a paid or open one stays as it is.
                                sqlx::query(
                                    "UPDATE orders SET status = 'cancelled', updated_at = $2
                                     WHERE id = $1 AND status = 'expired'",
                                )
                                .bind(&e.order_id)
                                .bind(e.now.as_millis())
                                .execute(&mut *tx)
                                .await?;
                                if let Some(job) = &e.on_late {
                                    Self::enqueue_in(&mut tx, job, e.now).await?;
                                }
                            }
                            PaymentOutcome::Released => {
                                Self::release_orders_in(
                                    &mut tx,
                                    std::slice::from_ref(&e.order_id),
                                    e.now.as_millis(),
                                    $crate::store::orders_sql::Release::PaymentEnded,
                                )
                                .await?;
                            }
                            _ => {}
                        }
                        tx.commit().await?;
                        Ok(outcome)
                    })
                    .await
                })
            }

            fn lapsed_payments(
                &self,
                now: $crate::domain::Timestamp,
                limit: i64,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<Vec<$crate::store::payments::LapsedPayment>>> {
                Box::pin(async move {
                    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
                        "SELECT id, payment_session_id FROM orders
                         WHERE status = 'pending_payment' AND expires_at <= $1
                         ORDER BY expires_at, id LIMIT $2",
                    )
                    .bind(now.as_millis())
                    .bind(limit.clamp(1, 1000))
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|(id, session_id)| $crate::store::payments::LapsedPayment {
                            order_id: $crate::domain::OrderId::from_string(id),
                            session_id,
                        })
                        .collect())
                })
            }

            fn release_lapsed_payment<'a>(
                &'a self,
                order: &'a $crate::domain::OrderId,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let n = Self::release_orders_in(
                            &mut tx,
                            &[order.as_str().to_owned()],
                            now.as_millis(),
                            $crate::store::orders_sql::Release::PaymentLapsed,
                        )
                        .await?;
                        tx.commit().await?;
                        Ok(n == 1)
                    })
                    .await
                })
            }

            fn order_by_payment_session<'a>(
                &'a self,
                session_id: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::orders::OrderRecord>>> {
                Box::pin(async move { Ok(self.orders_where("o.payment_session_id = $1", session_id, 1).await?.pop()) })
            }

            fn create_simulated_session(
                &self,
                s: $crate::store::payments::SimulatedSession,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::payments::SimulatedSession>> {
                Box::pin(async move {
                    let s = &s;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query(
                            "INSERT INTO simulated_sessions (id, order_id, idempotency_key, status, payment_status,
                                 amount_total, currency, customer_email, payment_intent, success_url, cancel_url,
                                 expires_at, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                             ON CONFLICT (idempotency_key) DO NOTHING",
                        )
                        .bind(&s.id)
                        .bind(&s.order_id)
                        .bind(&s.idempotency_key)
                        .bind(&s.status)
                        .bind(&s.payment_status)
                        .bind(s.amount_total)
                        .bind(&s.currency)
                        .bind(&s.customer_email)
                        .bind(&s.payment_intent)
                        .bind(&s.success_url)
                        .bind(&s.cancel_url)
                        .bind(s.expires_at)
                        .bind(s.created_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::store::common::on_check(e, "A payment must be a positive amount."))?;
                        let row: $crate::store::payments::SimulatedSession =
                            sqlx::query_as("SELECT * FROM simulated_sessions WHERE idempotency_key = $1")
                                .bind(&s.idempotency_key)
                                .fetch_one(&mut *tx)
                                .await?;
                        tx.commit().await?;
                        Ok(row)
                    })
                    .await
                })
            }

            fn simulated_session<'a>(
                &'a self,
                id: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::payments::SimulatedSession>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as("SELECT * FROM simulated_sessions WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await?)
                })
            }

            fn finish_simulated_session<'a>(
                &'a self,
                id: &'a str,
                paid: bool,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = if paid {
                            sqlx::query(
                                "UPDATE simulated_sessions SET status = 'complete', payment_status = 'paid',
                                        payment_intent = 'pi_sim_' || substr(id, 8)
                                 WHERE id = $1 AND status = 'open' AND expires_at > $2",
                            )
                            .bind(id)
                            .bind(now.as_millis())
                            .execute(&mut *tx)
                            .await?
                        } else {
                            sqlx::query("UPDATE simulated_sessions SET status = 'expired' WHERE id = $1 AND status = 'open'")
                                .bind(id)
                                .execute(&mut *tx)
                                .await?
                        };
                        tx.commit().await?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                })
            }

            fn simulated_sessions_since(
                &self,
                since: i64,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<Vec<$crate::store::payments::SimulatedSession>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT * FROM simulated_sessions WHERE created_at >= $1 ORDER BY created_at DESC LIMIT 1000",
                    )
                    .bind(since)
                    .fetch_all(&self.pool)
                    .await?)
                })
            }
        }
    };
}
