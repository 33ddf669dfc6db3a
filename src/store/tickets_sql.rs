//! Ticket and door store methods, written once for both backends.
//!
//! The guards live in the database: one valid ticket per unit
//! (`tickets_one_valid_per_unit`), one standing admission per ticket
//! (`check_ins_one_admission`), and one answer per scan nonce (the primary
//! key of `scans`).

/// The columns of a [`super::tickets::TicketRecord`], from `tickets t`
/// joined to its order, event and tier.
macro_rules! ticket_select {
    () => {
        "SELECT t.id, t.order_id, t.order_item_id, o.user_id AS buyer_id, t.event_id, e.org_id,
                e.title AS event_title, e.starts_at, e.ends_at, e.time_zone,
                e.venue || ', ' || e.city AS venue, e.address, e.terms, t.tier_id, ti.name AS tier_name,
                t.seat_label, t.attendee_name, t.attendee_email, t.code, t.reference, t.status,
                t.revoked_reason, t.pdf_key, t.issued_at
         FROM tickets t
         JOIN orders o ON o.id = t.order_id
         JOIN events e ON e.id = t.event_id
         JOIN tiers ti ON ti.id = t.tier_id "
    };
}

macro_rules! impl_ticket_store {
    ($store:ty) => {
        impl $store {
            /// The standing admission of a ticket, inside the caller's transaction.
            async fn admission_in(
                tx: &mut sqlx::Transaction<'static, Db>,
                ticket: &str,
            ) -> Result<Option<$crate::store::tickets::Admission>, sqlx::Error> {
                sqlx::query_as(
                    "SELECT c.id, c.scanned_at, c.gate, c.device, u.name AS staff_name
                     FROM check_ins c LEFT JOIN users u ON u.id = c.staff_id
                     WHERE c.ticket_id = $1 AND c.undone_at IS NULL AND NOT c.flagged",
                )
                .bind(ticket)
                .fetch_optional(&mut **tx)
                .await
            }

            /// Inserts tickets inside the caller's transaction; a unit that
            /// already has a valid ticket keeps it.
            async fn insert_tickets_in(
                tx: &mut sqlx::Transaction<'static, Db>,
                order: &str,
                event: &str,
                tickets: &[$crate::store::tickets::NewTicket],
                now: i64,
            ) -> Result<(), sqlx::Error> {
                for t in tickets {
                    sqlx::query(
                        "INSERT INTO tickets (id, order_id, order_item_id, event_id, tier_id, seat_label, attendee_name,
                                              attendee_email, code, reference, status, issued_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'valid', $11)
                         ON CONFLICT (order_item_id) WHERE status = 'valid' DO NOTHING",
                    )
                    .bind(&t.id)
                    .bind(order)
                    .bind(&t.order_item_id)
                    .bind(event)
                    .bind(&t.tier_id)
                    .bind(&t.seat_label)
                    .bind(&t.attendee_name)
                    .bind(&t.attendee_email)
                    .bind(&t.code)
                    .bind(&t.reference)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            async fn tickets_where(
                &self,
                where_sql: &str,
                key: &str,
                limit: i64,
            ) -> Result<Vec<$crate::store::tickets::TicketRecord>, sqlx::Error> {
                let sql = format!("{} WHERE {where_sql} LIMIT {limit}", ticket_select!());
                sqlx::query_as(&sql).bind(key).fetch_all(&self.pool).await
            }
        }

        impl $crate::store::tickets::TicketStore for $store {
            fn event_key<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                candidate: $crate::store::tickets::EventKeyRow,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<$crate::store::tickets::EventKeyRow>> {
                Box::pin(async move {
                    let candidate = &candidate;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query(
                            "INSERT INTO event_keys (event_id, public_key, sealed_key, created_at)
                             VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
                        )
                        .bind(event.as_str())
                        .bind(&candidate.public_key)
                        .bind(&candidate.sealed_key)
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        let row = sqlx::query_as(
                            "SELECT event_id, public_key, sealed_key FROM event_keys WHERE event_id = $1",
                        )
                        .bind(event.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(row)
                    })
                    .await
                })
            }

            fn event_public_key<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<String>>> {
                Box::pin(async move {
                    let row: Option<(String,)> = sqlx::query_as("SELECT public_key FROM event_keys WHERE event_id = $1")
                        .bind(event.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(row.map(|(k,)| k))
                })
            }

            fn issue_tickets<'a>(
                &'a self,
                order: &'a $crate::domain::OrderId,
                tickets: Vec<$crate::store::tickets::NewTicket>,
                jobs: Vec<$crate::store::NewJob>,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::tickets::TicketRecord>>> {
                Box::pin(async move {
                    let (tickets, jobs) = (&tickets, &jobs);
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let row: Option<(String, String, Option<i64>)> =
                            sqlx::query_as("SELECT status, event_id, refunded_at FROM orders WHERE id = $1")
                                .bind(order.as_str())
                                .fetch_optional(&mut *tx)
                                .await?;
                        let (status, event, refunded) = row.ok_or($crate::store::StoreError::NotFound)?;
                        if status != "paid" || refunded.is_some() {
                            return Err($crate::store::StoreError::Refused(
                                "Tickets are issued only for paid orders.".into(),
                            ));
                        }
                        Self::insert_tickets_in(&mut tx, order.as_str(), &event, tickets, now.as_millis()).await?;
                        for job in jobs {
                            Self::enqueue_in(&mut tx, job, now).await?;
                        }
                        let sql = format!(
                            "{} WHERE t.order_id = $1 AND t.status = 'valid' ORDER BY t.order_item_id",
                            ticket_select!()
                        );
                        let issued = sqlx::query_as(&sql).bind(order.as_str()).fetch_all(&mut *tx).await?;
                        tx.commit().await?;
                        Ok(issued)
                    })
                    .await
                })
            }

            fn set_ticket_pdf<'a>(
                &'a self,
                ticket: &'a str,
                key: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query("UPDATE tickets SET pdf_key = $2 WHERE id = $1")
                            .bind(ticket)
                            .bind(key)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn ticket<'a>(
                &'a self,
                id: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::tickets::TicketRecord>>> {
                Box::pin(async move { Ok(self.tickets_where("t.id = $1", id, 1).await?.pop()) })
            }

            fn tickets_of_order<'a>(
                &'a self,
                order: &'a $crate::domain::OrderId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::tickets::TicketRecord>>> {
                Box::pin(async move {
                    Ok(self
                        .tickets_where("t.order_id = $1 ORDER BY t.order_item_id, t.issued_at", order.as_str(), 1000)
                        .await?)
                })
            }

            fn tickets_of_buyer<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::tickets::TicketRecord>>> {
                Box::pin(async move {
                    Ok(self
                        .tickets_where(
                            "o.user_id = $1 ORDER BY e.starts_at DESC, t.order_id, t.order_item_id, t.issued_at",
                            user.as_str(),
                            500,
                        )
                        .await?)
                })
            }

            fn search_tickets<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                query: &'a str,
                limit: i64,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::tickets::TicketRecord>>> {
                Box::pin(async move {
                    let pattern = format!(
                        "%{}%",
                        query.to_lowercase().replace('\\', "").replace('%', "").replace('_', "")
                    );
                    let sql = format!(
                        "{} WHERE t.event_id = $1 AND (lower(t.attendee_name) LIKE $2 OR lower(t.order_id) LIKE $2
                              OR lower(t.reference) LIKE $2)
                         ORDER BY t.attendee_name, t.id LIMIT {}",
                        ticket_select!(),
                        limit.clamp(1, 200)
                    );
                    Ok(sqlx::query_as(&sql).bind(event.as_str()).bind(pattern).fetch_all(&self.pool).await?)
                })
            }

            fn scan(
                &self,
                scan: $crate::store::tickets::Scan,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::tickets::ScanOutcome>> {
                use $crate::store::tickets::{ScanOutcome, ScanResult};
                Box::pin(async move {
                    let s = &scan;
                    let attempt = || async move {
                        let mut tx = self.begin_write().await?;
                        // A nonce seen before: the same scan, the same answer.
                        let seen: Option<(String,)> = sqlx::query_as("SELECT answer FROM scans WHERE nonce = $1")
                            .bind(&s.nonce)
                            .fetch_optional(&mut *tx)
                            .await?;
                        if let Some((answer,)) = seen {
                            tx.commit().await?;
                            let mut out: ScanOutcome = serde_json::from_str(&answer)
                                .map_err(|e| $crate::store::StoreError::Internal(e.into()))?;
                            out.replayed = true;
                            return Ok(out);
                        }
                        let ticket = match &s.ticket_id {
                            Some(id) => {
                                let sql = format!("{} WHERE t.id = $1", ticket_select!());
                                sqlx::query_as::<_, $crate::store::tickets::TicketRecord>(&sql)
                                    .bind(id)
                                    .fetch_optional(&mut *tx)
                                    .await?
                            }
                            None => None,
                        };
                        let mut out = ScanOutcome {
                            result: ScanResult::Unknown,
                            ticket_id: ticket.as_ref().map(|t| t.id.clone()),
                            attendee_name: ticket.as_ref().map(|t| t.attendee_name.clone()),
                            tier_name: ticket.as_ref().map(|t| t.tier_name.clone()),
                            seat_label: ticket.as_ref().and_then(|t| t.seat_label.clone()),
                            earlier: None,
                            revoked_reason: None,
                            replayed: false,
                        };
                        let mut check_in: Option<String> = None;
                        match (&s.refused, &ticket) {
                            (Some(verdict), _) => out.result = *verdict,
                            (None, None) => out.result = ScanResult::Unknown,
                            (None, Some(t)) if t.event_id != s.event_id.as_str() => out.result = ScanResult::WrongEvent,
                            (None, Some(t)) if t.status != "valid" => {
                                out.result = ScanResult::Revoked;
                                out.revoked_reason = t.revoked_reason.clone();
                            }
                            (None, Some(t)) => {
                                let earlier = Self::admission_in(&mut tx, &t.id).await?;
                                let flagged = match (&earlier, s.offline) {
                                    (Some(_), false) => None,
                                    (Some(_), true) => Some(true),
                                    (None, _) => Some(false),
                                };
                                match flagged {
                                    None => {
                                        out.result = ScanResult::AlreadyUsed;
                                        out.earlier = earlier;
                                    }
                                    Some(flagged) => {
                                        let id = $crate::store::new_id();
                                        // The partial unique index refuses a
                                        // second standing admission: a racing
                                        // scan that got here first wins.
                                        let inserted = sqlx::query(
                                            "INSERT INTO check_ins (id, ticket_id, event_id, gate, device, staff_id,
                                                                    scanned_at, recorded_at, flagged)
                                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                                        )
                                        .bind(&id)
                                        .bind(&t.id)
                                        .bind(s.event_id.as_str())
                                        .bind(&s.gate)
                                        .bind(&s.device)
                                        .bind(s.staff_id.as_str())
                                        .bind(s.scanned_at.as_millis())
                                        .bind(s.now.as_millis())
                                        .bind(flagged)
                                        .execute(&mut *tx)
                                        .await;
                                        match inserted {
                                            Ok(_) => {
                                                check_in = Some(id);
                                                out.result = if flagged { ScanResult::Flagged } else { ScanResult::Valid };
                                                out.earlier = earlier;
                                            }
                                            // Lost the race to a scan that
                                            // committed first (PostgreSQL):
                                            // tried again, it reads the winner.
                                            Err(e) => {
                                                return Err($crate::store::common::on_unique(
                                                    e,
                                                    $crate::store::Conflict::SimultaneousScan,
                                                ));
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        let answer = serde_json::to_string(&out).map_err(|e| $crate::store::StoreError::Internal(e.into()))?;
                        sqlx::query(
                            "INSERT INTO scans (nonce, event_id, ticket_id, gate, device, staff_id, scanned_at, recorded_at,
                                                offline, result, check_in_id, answer)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        )
                        .bind(&s.nonce)
                        .bind(s.event_id.as_str())
                        .bind(ticket.as_ref().map(|t| t.id.as_str()))
                        .bind(&s.gate)
                        .bind(&s.device)
                        .bind(s.staff_id.as_str())
                        .bind(s.scanned_at.as_millis())
                        .bind(s.now.as_millis())
                        .bind(s.offline)
                        .bind(out.result.as_str())
                        .bind(&check_in)
                        .bind(&answer)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::store::common::on_unique(e, $crate::store::Conflict::SimultaneousScan))?;
                        tx.commit().await?;
                        Ok(out)
                    };
                    // A simultaneous scan of the same ticket (or a retried
                    // upload of the same nonce) committed first: deciding
                    // again sees it. Bounded: each round has a new winner.
                    let mut rounds = 0;
                    loop {
                        match self.with_retry(attempt).await {
                            Err($crate::store::StoreError::Conflict($crate::store::Conflict::SimultaneousScan))
                                if rounds < 5 =>
                            {
                                rounds += 1;
                            }
                            r => return r,
                        }
                    }
                })
            }

            fn scan_answer<'a>(
                &'a self,
                nonce: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<(String, $crate::store::tickets::ScanOutcome)>>> {
                Box::pin(async move {
                    let row: Option<(String, String)> = sqlx::query_as("SELECT event_id, answer FROM scans WHERE nonce = $1")
                        .bind(nonce)
                        .fetch_optional(&self.pool)
                        .await?;
                    match row {
                        None => Ok(None),
                        Some((event, answer)) => Ok(Some((
                            event,
                            serde_json::from_str(&answer).map_err(|e| $crate::store::StoreError::Internal(e.into()))?,
                        ))),
                    }
                })
            }

            fn undo_check_in<'a>(
                &'a self,
                ticket: &'a str,
                by: &'a $crate::domain::UserId,
                reason: &'a str,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "UPDATE check_ins SET undone_at = $2, undone_by = $3, undo_reason = $4
                             WHERE ticket_id = $1 AND undone_at IS NULL AND NOT flagged",
                        )
                        .bind(ticket)
                        .bind(now.as_millis())
                        .bind(by.as_str())
                        .bind(reason)
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                })
            }

            fn revoked_tickets<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<String>>> {
                Box::pin(async move {
                    let rows: Vec<(String,)> =
                        sqlx::query_as("SELECT id FROM tickets WHERE event_id = $1 AND status = 'revoked' ORDER BY id")
                            .bind(event.as_str())
                            .fetch_all(&self.pool)
                            .await?;
                    Ok(rows.into_iter().map(|(id,)| id).collect())
                })
            }

            fn admitted_tickets<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<String>>> {
                Box::pin(async move {
                    let rows: Vec<(String,)> = sqlx::query_as(
                        "SELECT ticket_id FROM check_ins WHERE event_id = $1 AND undone_at IS NULL AND NOT flagged
                         ORDER BY ticket_id",
                    )
                    .bind(event.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(|(id,)| id).collect())
                })
            }

            fn door_counts<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<$crate::store::tickets::DoorCounts>> {
                Box::pin(async move {
                    let per_tier: Vec<(String, i64, i64)> = sqlx::query_as(
                        "SELECT ti.name,
                                (SELECT COUNT(*) FROM check_ins c JOIN tickets t2 ON t2.id = c.ticket_id
                                  WHERE t2.tier_id = ti.id AND c.undone_at IS NULL AND NOT c.flagged) AS admitted,
                                (SELECT COUNT(*) FROM tickets t3 WHERE t3.tier_id = ti.id AND t3.status = 'valid') AS total
                         FROM tiers ti WHERE ti.event_id = $1 ORDER BY ti.position, ti.id",
                    )
                    .bind(event.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                    let per_gate: Vec<(String, i64)> = sqlx::query_as(
                        "SELECT gate, COUNT(*) FROM check_ins WHERE event_id = $1 AND undone_at IS NULL AND NOT flagged
                         GROUP BY gate ORDER BY gate",
                    )
                    .bind(event.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                    let per_tier: Vec<(String, i64, i64)> = per_tier.into_iter().filter(|(_, _, total)| *total > 0).collect();
                    Ok($crate::store::tickets::DoorCounts {
                        total: per_tier.iter().map(|t| t.2).sum(),
                        checked_in: per_gate.iter().map(|g| g.1).sum(),
                        per_tier,
                        per_gate,
                    })
                })
            }

            fn door_conflicts<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::tickets::Conflict>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT c.ticket_id, t.attendee_name, t.reference, c.gate, c.scanned_at
                         FROM check_ins c JOIN tickets t ON t.id = c.ticket_id
                         WHERE c.event_id = $1 AND c.flagged ORDER BY c.scanned_at DESC LIMIT 200",
                    )
                    .bind(event.as_str())
                    .fetch_all(&self.pool)
                    .await?)
                })
            }

            fn refund_order<'a>(
                &'a self,
                order: &'a $crate::domain::OrderId,
                jobs: Vec<$crate::store::NewJob>,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    let jobs = &jobs;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "UPDATE orders SET refunded_at = $2, updated_at = $2
                             WHERE id = $1 AND status = 'paid' AND refunded_at IS NULL",
                        )
                        .bind(order.as_str())
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        if r.rows_affected() == 0 {
                            return Ok(false);
                        }
                        sqlx::query(
                            "UPDATE tickets SET status = 'revoked', revoked_reason = 'refunded', revoked_at = $2
                             WHERE order_id = $1 AND status = 'valid'",
                        )
                        .bind(order.as_str())
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        for job in jobs {
                            Self::enqueue_in(&mut tx, job, now).await?;
                        }
                        tx.commit().await?;
                        Ok(true)
                    })
                    .await
                })
            }

            fn reissue_ticket<'a>(
                &'a self,
                old: &'a str,
                new: $crate::store::tickets::NewTicket,
                jobs: Vec<$crate::store::NewJob>,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<$crate::store::tickets::TicketRecord>> {
                Box::pin(async move {
                    let (new, jobs) = (&new, &jobs);
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let row: Option<(String, String)> = sqlx::query_as(
                            "SELECT order_id, event_id FROM tickets WHERE id = $1 AND status = 'valid'",
                        )
                        .bind(old)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let (order, event) = row.ok_or_else(|| {
                            $crate::store::StoreError::Refused("Only a valid ticket can be re-issued.".into())
                        })?;
                        sqlx::query(
                            "UPDATE tickets SET status = 'revoked', revoked_reason = 'reissued', revoked_at = $2 WHERE id = $1",
                        )
                        .bind(old)
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        Self::insert_tickets_in(&mut tx, &order, &event, std::slice::from_ref(new), now.as_millis()).await?;
                        for job in jobs {
                            Self::enqueue_in(&mut tx, job, now).await?;
                        }
                        let sql = format!("{} WHERE t.id = $1", ticket_select!());
                        let issued = sqlx::query_as(&sql).bind(&new.id).fetch_one(&mut *tx).await?;
                        tx.commit().await?;
                        Ok(issued)
                    })
                    .await
                })
            }

            fn open_admin_task<'a>(
                &'a self,
                kind: &'a str,
                subject: &'a str,
                detail: &'a str,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query(
                            "INSERT INTO admin_tasks (id, kind, subject, detail, created_at) VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (kind, subject) DO NOTHING",
                        )
                        .bind($crate::store::new_id())
                        .bind(kind)
                        .bind(subject)
                        .bind(detail)
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn open_admin_tasks(
                &self,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<Vec<$crate::store::tickets::AdminTask>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT kind, subject, detail, created_at FROM admin_tasks WHERE resolved_at IS NULL
                         ORDER BY created_at DESC LIMIT 200",
                    )
                    .fetch_all(&self.pool)
                    .await?)
                })
            }
        }
    };
}
