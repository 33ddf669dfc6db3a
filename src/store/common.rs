//! The store methods, written once and expanded for each backend.
//!
//! SQLite and PostgreSQL accept the same SQL for everything admit does (`$n`
//! placeholders, `ON CONFLICT`, `RETURNING`, BIGINT/TEXT/BOOLEAN columns), so
//! the statements are shared byte for byte. What differs lives in each
//! backend's module: how a write transaction begins (`BEGIN IMMEDIATE` on
//! SQLite), which errors are worth retrying, and how a job is claimed
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL).

/// Is this error (somewhere in its chain) a transient database conflict?
pub(crate) fn retryable(e: &super::StoreError, is_transient: fn(&sqlx::Error) -> bool) -> bool {
    match e {
        super::StoreError::Internal(any) => any
            .chain()
            .any(|c| c.downcast_ref::<sqlx::Error>().is_some_and(is_transient)),
        _ => false,
    }
}

/// How long a transaction keeps being retried on transient conflicts once its
/// retry count is spent. Bounded, so no request waits without end; long
/// enough that a crowd on one hot row at REPEATABLE READ on a loaded 2-core
/// machine still gets answers rather than errors.
pub(crate) const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// A short, jittered pause before retrying a transaction.
pub(crate) async fn retry_pause(attempt: u32) {
    let base = 2u64.saturating_pow(attempt.min(5));
    let jitter = rand::random::<u64>() % (base * 2 + 1);
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}

/// Maps a CHECK violation to a refusal with `message`, anything else to `Internal`.
pub(crate) fn on_check(e: sqlx::Error, message: &str) -> super::StoreError {
    match &e {
        sqlx::Error::Database(db)
            if matches!(db.kind(), sqlx::error::ErrorKind::CheckViolation) =>
        {
            super::StoreError::Refused(message.to_owned())
        }
        _ => e.into(),
    }
}

/// Maps a unique violation to a domain conflict, anything else to `Internal`.
pub(crate) fn on_unique(e: sqlx::Error, conflict: super::Conflict) -> super::StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            super::StoreError::Conflict(conflict)
        }
        _ => e.into(),
    }
}

macro_rules! impl_store {
    ($store:ty) => {
        impl $store {
            /// Runs `f` (one whole transaction) again on transient conflicts:
            /// at least `MAX_RETRIES` times, and for as long as
            /// [`RETRY_BUDGET`](crate::store::common::RETRY_BUDGET) allows, so a
            /// burst of conflicts on a loaded machine is ridden out rather than
            /// answered with an error after a count that was reached quickly.
            async fn with_retry<T, F, Fut>(&self, mut f: F) -> $crate::store::StoreResult<T>
            where
                F: FnMut() -> Fut,
                Fut: std::future::Future<Output = $crate::store::StoreResult<T>>,
            {
                let mut attempt = 0;
                let started = std::time::Instant::now();
                loop {
                    match f().await {
                        Err(e)
                            if (attempt < Self::MAX_RETRIES
                                || started.elapsed() < $crate::store::common::RETRY_BUDGET)
                                && $crate::store::common::retryable(&e, Self::is_transient) =>
                        {
                            attempt += 1;
                            metrics::counter!("admit_store_retries_total", "backend" => Self::BACKEND).increment(1);
                            tracing::debug!(attempt, error = %e, "retrying a transaction after a transient conflict");
                            $crate::store::common::retry_pause(attempt).await;
                        }
                        r => return r,
                    }
                }
            }

        }

        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            fn ping(&self) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                })
            }

            fn close(&self) -> $crate::store::BoxFuture<'_, ()> {
                Box::pin(async move {
                    // The admitters' batches were answered before shutdown
                    // got here; their connections go too.
                    self.admission_pool.close().await;
                    self.pool.close().await;
                })
            }

            fn create_user(
                &self,
                user: $crate::store::NewUser,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::User>> {
                Box::pin(async move {
                    let user = &user;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let id = $crate::store::new_id();
                        let row: $crate::store::User = sqlx::query_as(
                            "INSERT INTO users (id, email, name, password_hash, is_admin, email_verified_at, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7)
                             RETURNING id, email, name, is_admin, email_verified_at",
                        )
                        .bind(&id)
                        .bind(&user.email)
                        .bind(&user.name)
                        .bind(&user.password_hash)
                        .bind(user.is_admin)
                        .bind(user.email_verified_at.map(|t| t.as_millis()))
                        .bind(user.now.as_millis())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(|e| $crate::store::common::on_unique(e, $crate::store::Conflict::DuplicateEmail))?;
                        tx.commit().await?;
                        Ok(row)
                    })
                    .await
                })
            }

            fn user_by_email<'a>(
                &'a self,
                email: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::User>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as("SELECT id, email, name, is_admin, email_verified_at FROM users WHERE email = $1")
                        .bind(email)
                        .fetch_optional(&self.pool)
                        .await?)
                })
            }

            fn create_organization(
                &self,
                org: $crate::store::NewOrganization,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::domain::OrgId>> {
                Box::pin(async move {
                    let org = &org;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let id = $crate::store::new_id();
                        sqlx::query(
                            "INSERT INTO organizations (id, slug, name, contact_email, description, status, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(&id)
                        .bind(&org.slug)
                        .bind(&org.name)
                        .bind(&org.contact_email)
                        .bind(&org.description)
                        .bind(if org.approved { "approved" } else { "pending" })
                        .bind(org.now.as_millis())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            $crate::store::common::on_unique(
                                e,
                                $crate::store::Conflict::DuplicateOrganization(org.slug.clone()),
                            )
                        })?;
                        sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)")
                            .bind(&id)
                            .bind(org.owner.as_str())
                            .bind(org.now.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok($crate::domain::OrgId::from_string(id))
                    })
                    .await
                })
            }

            fn create_event(
                &self,
                ev: $crate::store::NewEvent,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::domain::EventId>> {
                Box::pin(async move {
                    let ev = &ev;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let id = $crate::store::new_id();
                        sqlx::query(
                            "INSERT INTO events (id, org_id, slug, title, description, category, venue, address, city,
                                                 starts_at, ends_at, time_zone, currency, status, created_at, updated_at,
                                                 search_text)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'draft', $14, $14, $15)",
                        )
                        .bind(&id)
                        .bind(ev.org_id.as_str())
                        .bind(&ev.slug)
                        .bind(&ev.title)
                        .bind(&ev.description)
                        .bind(ev.category.as_str())
                        .bind(&ev.venue)
                        .bind(&ev.address)
                        .bind(&ev.city)
                        .bind(ev.starts_at.as_millis())
                        .bind(ev.ends_at.as_millis())
                        .bind(&ev.time_zone)
                        .bind(ev.currency.code())
                        .bind(ev.now.as_millis())
                        .bind($crate::domain::search::document(&[&ev.title, &ev.venue, &ev.city, &ev.address, &ev.description]))
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            $crate::store::common::on_unique(e, $crate::store::Conflict::DuplicateSlug(ev.slug.clone()))
                        })?;
                        tx.commit().await?;
                        Ok($crate::domain::EventId::from_string(id))
                    })
                    .await
                })
            }

            fn create_quota(
                &self,
                q: $crate::store::NewQuota,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::domain::QuotaId>> {
                Box::pin(async move {
                    let q = &q;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let id = $crate::store::new_id();
                        sqlx::query("INSERT INTO quotas (id, event_id, name, size) VALUES ($1, $2, $3, $4)")
                            .bind(&id)
                            .bind(q.event_id.as_str())
                            .bind(&q.name)
                            .bind(q.size)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok($crate::domain::QuotaId::from_string(id))
                    })
                    .await
                })
            }

            fn create_tier(
                &self,
                t: $crate::store::NewTier,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::domain::TierId>> {
                Box::pin(async move {
                    let t = &t;
                    if t.quota_ids.is_empty() {
                        return Err($crate::store::StoreError::Refused("a tier must draw on at least one quota".into()));
                    }
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let id = $crate::store::new_id();
                        sqlx::query(
                            "INSERT INTO tiers (id, event_id, name, description, price_minor, max_per_order,
                                                sale_starts_at, sale_ends_at, hidden, position,
                                                early_bird_price_minor, early_bird_until)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        )
                        .bind(&id)
                        .bind(t.event_id.as_str())
                        .bind(&t.name)
                        .bind(&t.description)
                        .bind(t.price_minor)
                        .bind(i64::from(t.max_per_order))
                        .bind(t.sale_starts_at.map(|x| x.as_millis()))
                        .bind(t.sale_ends_at.map(|x| x.as_millis()))
                        .bind(t.hidden)
                        .bind(t.position)
                        .bind(t.early_bird.map(|(p, _)| p))
                        .bind(t.early_bird.map(|(_, u)| u.as_millis()))
                        .execute(&mut *tx)
                        .await?;
                        for q in &t.quota_ids {
                            // The quota must belong to the same event.
                            let linked = sqlx::query(
                                "INSERT INTO tier_quotas (tier_id, quota_id)
                                 SELECT $1, id FROM quotas WHERE id = $2 AND event_id = $3",
                            )
                            .bind(&id)
                            .bind(q.as_str())
                            .bind(t.event_id.as_str())
                            .execute(&mut *tx)
                            .await?;
                            if linked.rows_affected() != 1 {
                                return Err($crate::store::StoreError::Refused(format!(
                                    "quota {q} does not belong to this event"
                                )));
                            }
                        }
                        tx.commit().await?;
                        Ok($crate::domain::TierId::from_string(id))
                    })
                    .await
                })
            }

            fn set_event_status<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                status: $crate::domain::EventStatus,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query("UPDATE events SET status = $2, updated_at = $3 WHERE id = $1")
                            .bind(event.as_str())
                            .bind(status.as_str())
                            .bind(now.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        if r.rows_affected() == 0 {
                            return Err($crate::store::StoreError::NotFound);
                        }
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn count_events(&self) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<i64>> {
                Box::pin(async move {
                    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM events").fetch_one(&self.pool).await?;
                    Ok(n)
                })
            }

            fn list_upcoming_events(
                &self,
                now: $crate::domain::Timestamp,
                limit: i64,
                offset: i64,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::Page<$crate::store::EventCard>>>
            {
                Box::pin(async move {
                    // One read transaction so the page and its total agree.
                    let mut tx = self.pool.begin().await?;
                    let items: Vec<$crate::store::EventCard> = sqlx::query_as(
                        "SELECT e.id, e.slug, e.title, e.category, e.venue, e.city, e.starts_at, e.time_zone, e.currency,
                                (SELECT MIN(t.price_minor) FROM tiers t WHERE t.event_id = e.id AND NOT t.hidden) AS min_price_minor
                         FROM events e
                         WHERE e.status = 'published' AND e.ends_at > $1
                         ORDER BY e.starts_at, e.id
                         LIMIT $2 OFFSET $3",
                    )
                    .bind(now.as_millis())
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&mut *tx)
                    .await?;
                    let (total,): (i64,) =
                        sqlx::query_as("SELECT COUNT(*) FROM events WHERE status = 'published' AND ends_at > $1")
                            .bind(now.as_millis())
                            .fetch_one(&mut *tx)
                            .await?;
                    tx.commit().await?;
                    Ok($crate::store::Page { items, total })
                })
            }

            fn event_by_slug<'a>(
                &'a self,
                slug: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::EventRecord>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT e.id, e.org_id, o.name AS org_name, e.slug, e.title, e.description, e.category, e.venue,
                                e.address, e.city, e.starts_at, e.ends_at, e.time_zone, e.currency, e.status
                         FROM events e JOIN organizations o ON o.id = e.org_id
                         WHERE e.slug = $1",
                    )
                    .bind(slug)
                    .fetch_optional(&self.pool)
                    .await?)
                })
            }

            fn tiers_of_event<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::TierRecord>>> {
                Box::pin(async move {
                    #[derive(sqlx::FromRow)]
                    struct Row {
                        id: String,
                        name: String,
                        description: String,
                        price_minor: i64,
                        max_per_order: i64,
                        sale_starts_at: Option<i64>,
                        sale_ends_at: Option<i64>,
                        hidden: bool,
                        early_bird_price_minor: Option<i64>,
                        early_bird_until: Option<i64>,
                        quota_id: Option<String>,
                        size: Option<i64>,
                        sold: Option<i64>,
                        held: Option<i64>,
                    }
                    let rows: Vec<Row> = sqlx::query_as(
                        "SELECT t.id, t.name, t.description, t.price_minor, t.max_per_order, t.sale_starts_at,
                                t.sale_ends_at, t.hidden, t.early_bird_price_minor, t.early_bird_until,
                                q.id AS quota_id, q.size, q.sold,
                                q.held - (SELECT COUNT(*) FROM order_items oi
                                          JOIN orders o ON o.id = oi.order_id
                                          JOIN tier_quotas lq ON lq.tier_id = oi.tier_id
                                          WHERE lq.quota_id = q.id AND o.status = 'reserved'
                                            AND o.expires_at <= $2) AS held
                         FROM tiers t
                         LEFT JOIN tier_quotas tq ON tq.tier_id = t.id
                         LEFT JOIN quotas q ON q.id = tq.quota_id
                         WHERE t.event_id = $1
                         ORDER BY t.position, t.id, q.id",
                    )
                    .bind(event.as_str())
                    .bind(now.as_millis())
                    .fetch_all(&self.pool)
                    .await?;
                    let mut tiers: Vec<$crate::store::TierRecord> = Vec::new();
                    for r in rows {
                        if tiers.last().is_none_or(|t| t.id.as_str() != r.id) {
                            tiers.push($crate::store::TierRecord {
                                id: $crate::domain::TierId::from_string(r.id.clone()),
                                name: r.name,
                                description: r.description,
                                price_minor: r.price_minor,
                                max_per_order: u32::try_from(r.max_per_order).unwrap_or(u32::MAX),
                                sale_starts_at: r.sale_starts_at.map($crate::domain::Timestamp::from_millis),
                                sale_ends_at: r.sale_ends_at.map($crate::domain::Timestamp::from_millis),
                                hidden: r.hidden,
                                early_bird: r
                                    .early_bird_price_minor
                                    .zip(r.early_bird_until)
                                    .map(|(p, u)| (p, $crate::domain::Timestamp::from_millis(u))),
                                quota_ids: Vec::new(),
                                quotas: Vec::new(),
                            });
                        }
                        if let (Some(id), Some(size), Some(sold), Some(held)) = (r.quota_id, r.size, r.sold, r.held) {
                            let tier = tiers.last_mut().expect("pushed above");
                            tier.quota_ids.push($crate::domain::QuotaId::from_string(id));
                            tier.quotas.push($crate::domain::QuotaLevel { size, sold, held });
                        }
                    }
                    Ok(tiers)
                })
            }

            fn enqueue_job(
                &self,
                job: $crate::store::NewJob,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    let job = &job;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let inserted = Self::enqueue_in(&mut tx, job, now).await?;
                        tx.commit().await?;
                        Ok(inserted)
                    })
                    .await
                })
            }

            fn claim_job(
                &self,
                now: $crate::domain::Timestamp,
                lease: std::time::Duration,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<Option<$crate::store::ClaimedJob>>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let job: Option<$crate::store::ClaimedJob> = sqlx::query_as(Self::CLAIM_SQL)
                            .bind(now.as_millis())
                            .bind(now.as_millis() + lease.as_millis() as i64)
                            .fetch_optional(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok(job)
                    })
                    .await
                })
            }

            fn complete_job<'a>(
                &'a self,
                id: &'a str,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query(
                            "UPDATE jobs SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = $2
                             WHERE id = $1",
                        )
                        .bind(id)
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn fail_job<'a>(
                &'a self,
                id: &'a str,
                error: &'a str,
                retry: $crate::store::JobRetry,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    let (status, run_at) = match retry {
                        $crate::store::JobRetry::At(t) => ("queued", t.as_millis()),
                        $crate::store::JobRetry::Dead => ("dead", now.as_millis()),
                    };
                    // Bound what we store: errors can be long.
                    let error: String = error.chars().take(2000).collect();
                    let error = &error;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query(
                            "UPDATE jobs SET status = $2, run_at = $3, last_error = $4, locked_until = NULL, updated_at = $5
                             WHERE id = $1",
                        )
                        .bind(id)
                        .bind(status)
                        .bind(run_at)
                        .bind(error)
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn job_counts(&self) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::JobCounts>> {
                Box::pin(async move {
                    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
                        .fetch_all(&self.pool)
                        .await?;
                    let mut c = $crate::store::JobCounts::default();
                    for (status, n) in rows {
                        match status.as_str() {
                            "queued" => c.queued = n,
                            "running" => c.running = n,
                            "done" => c.done = n,
                            _ => c.dead = n,
                        }
                    }
                    Ok(c)
                })
            }

            fn purge_finished_jobs(
                &self,
                before: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<u64>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query("DELETE FROM jobs WHERE status = 'done' AND updated_at < $1")
                            .bind(before.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok(r.rows_affected())
                    })
                    .await
                })
            }
        }

        impl $store {
            /// Writes a job into the outbox inside the caller's transaction.
            /// Returns false when its dedupe key was already used.
            #[allow(dead_code)]
            async fn enqueue_in(
                tx: &mut sqlx::Transaction<'static, Db>,
                job: &$crate::store::NewJob,
                now: $crate::domain::Timestamp,
            ) -> Result<bool, sqlx::Error> {
                let r = sqlx::query(
                    "INSERT INTO jobs (id, kind, payload, status, run_at, max_attempts, dedupe_key, created_at, updated_at)
                     VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $7)
                     ON CONFLICT (dedupe_key) DO NOTHING",
                )
                .bind($crate::store::new_id())
                .bind(&job.kind)
                .bind(job.payload.to_string())
                .bind(job.run_at.as_millis())
                .bind(i64::from(job.max_attempts.max(1)))
                .bind(&job.dedupe_key)
                .bind(now.as_millis())
                .execute(&mut **tx)
                .await?;
                Ok(r.rows_affected() == 1)
            }

        }
    };
}

/// Compares two byte strings in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
