//! Catalogue management store methods, written once for both backends.

macro_rules! impl_catalogue_store {
    ($store:ty) => {
        impl $crate::store::catalogue::CatalogueStore for $store {
            fn event<'a>(
                &'a self,
                id: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::EventRecord>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT e.id, e.org_id, o.name AS org_name, e.slug, e.title, e.description, e.category, e.venue,
                                e.address, e.city, e.starts_at, e.ends_at, e.time_zone, e.currency, e.status
                         FROM events e JOIN organizations o ON o.id = e.org_id WHERE e.id = $1",
                    )
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?)
                })
            }

            fn terms_version<'a>(
                &'a self,
                id: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<i64>>> {
                Box::pin(async move {
                    let v: Option<(i64,)> = sqlx::query_as("SELECT terms_version FROM events WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                    Ok(v.map(|(v,)| v))
                })
            }

            fn event_extras<'a>(
                &'a self,
                id: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::catalogue::EventExtras>>>
            {
                Box::pin(async move {
                    Ok(sqlx::query_as("SELECT terms, refund_policy, banner_key FROM events WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await?)
                })
            }

            fn update_event<'a>(
                &'a self,
                id: &'a $crate::domain::EventId,
                f: &'a $crate::store::catalogue::EventFields,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "UPDATE events SET title = $2, description = $3, category = $4, venue = $5, address = $6,
                                    city = $7, starts_at = $8, ends_at = $9, time_zone = $10, currency = $11, terms = $12,
                                    refund_policy = $13, updated_at = $14, search_text = $15
                             WHERE id = $1",
                        )
                        .bind(id.as_str())
                        .bind(&f.title)
                        .bind(&f.description)
                        .bind(f.category.as_str())
                        .bind(&f.venue)
                        .bind(&f.address)
                        .bind(&f.city)
                        .bind(f.starts_at.as_millis())
                        .bind(f.ends_at.as_millis())
                        .bind(&f.time_zone)
                        .bind(f.currency.code())
                        .bind(&f.terms)
                        .bind(&f.refund_policy)
                        .bind(now.as_millis())
                        .bind($crate::domain::search::document(&[&f.title, &f.venue, &f.city, &f.address, &f.description]))
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

            fn event_take_up<'a>(
                &'a self,
                id: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<$crate::store::catalogue::EventTakeUp>> {
                Box::pin(async move {
                    let (sold, held): (Option<i64>, Option<i64>) =
                        sqlx::query_as("SELECT CAST(SUM(sold) AS BIGINT), CAST(SUM(held) AS BIGINT) FROM quotas WHERE event_id = $1")
                            .bind(id.as_str())
                            .fetch_one(&self.pool)
                            .await?;
                    let (orders,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM orders WHERE event_id = $1")
                        .bind(id.as_str())
                        .fetch_one(&self.pool)
                        .await?;
                    Ok($crate::store::catalogue::EventTakeUp {
                        sold: sold.unwrap_or(0),
                        held: held.unwrap_or(0),
                        orders,
                    })
                })
            }

            fn unpublish_event<'a>(
                &'a self,
                id: &'a $crate::domain::EventId,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "UPDATE events SET status = 'draft', updated_at = $2
                             WHERE id = $1 AND status = 'published'
                               AND NOT EXISTS (SELECT 1 FROM quotas WHERE event_id = $1 AND (sold > 0 OR held > 0))",
                        )
                        .bind(id.as_str())
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                })
            }

            fn delete_event<'a>(
                &'a self,
                id: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "DELETE FROM events WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM orders WHERE event_id = $1)",
                        )
                        .bind(id.as_str())
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                })
            }

            fn quotas_of_event<'a>(
                &'a self,
                id: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::catalogue::QuotaRow>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as("SELECT id, name, size, sold, held FROM quotas WHERE event_id = $1 ORDER BY name, id")
                        .bind(id.as_str())
                        .fetch_all(&self.pool)
                        .await?)
                })
            }

            fn update_quota<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                quota: &'a $crate::domain::QuotaId,
                name: &'a str,
                size: i64,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query("UPDATE quotas SET name = $3, size = $4 WHERE id = $1 AND event_id = $2")
                            .bind(quota.as_str())
                            .bind(event.as_str())
                            .bind(name)
                            .bind(size)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| $crate::store::common::on_check(e, "A quota cannot be smaller than what is already sold or held."))?;
                        if r.rows_affected() == 0 {
                            return Err($crate::store::StoreError::NotFound);
                        }
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn update_tier<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                tier: &'a $crate::domain::TierId,
                f: &'a $crate::store::catalogue::TierFields,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    if f.quota_ids.is_empty() {
                        return Err($crate::store::StoreError::Refused("A tier must draw on at least one quota.".into()));
                    }
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "UPDATE tiers SET name = $3, description = $4, price_minor = $5, max_per_order = $6,
                                    sale_starts_at = $7, sale_ends_at = $8, hidden = $9, early_bird_price_minor = $10,
                                    early_bird_until = $11
                             WHERE id = $1 AND event_id = $2",
                        )
                        .bind(tier.as_str())
                        .bind(event.as_str())
                        .bind(&f.name)
                        .bind(&f.description)
                        .bind(f.price_minor)
                        .bind(i64::from(f.max_per_order))
                        .bind(f.sale_starts_at.map(|t| t.as_millis()))
                        .bind(f.sale_ends_at.map(|t| t.as_millis()))
                        .bind(f.hidden)
                        .bind(f.early_bird.map(|(p, _)| p))
                        .bind(f.early_bird.map(|(_, t)| t.as_millis()))
                        .execute(&mut *tx)
                        .await?;
                        if r.rows_affected() == 0 {
                            return Err($crate::store::StoreError::NotFound);
                        }
                        sqlx::query("DELETE FROM tier_quotas WHERE tier_id = $1").bind(tier.as_str()).execute(&mut *tx).await?;
                        for q in &f.quota_ids {
                            let linked = sqlx::query(
                                "INSERT INTO tier_quotas (tier_id, quota_id) SELECT $1, id FROM quotas WHERE id = $2 AND event_id = $3",
                            )
                            .bind(tier.as_str())
                            .bind(q.as_str())
                            .bind(event.as_str())
                            .execute(&mut *tx)
                            .await?;
                            if linked.rows_affected() != 1 {
                                return Err($crate::store::StoreError::Refused(format!("Quota {q} does not belong to this event.")));
                            }
                        }
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn search_events<'a>(
                &'a self,
                q: &'a $crate::store::catalogue::EventSearch,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<$crate::store::Page<$crate::store::EventCard>>>
            {
                Box::pin(async move {
                    // Built from fixed fragments; every value is a bind parameter.
                    enum Arg {
                        Int(i64),
                        Text(String),
                    }
                    let mut args: Vec<Arg> = vec![Arg::Int(q.now.as_millis())];
                    let min_price = "(SELECT MIN(t.price_minor) FROM tiers t WHERE t.event_id = e.id AND NOT t.hidden)";
                    let mut conds = vec!["e.status = 'published'".to_owned(), "e.ends_at > $1".to_owned()];
                    if !q.terms.is_empty() {
                        args.push(Arg::Text(Self::fts_query(&q.terms)));
                        conds.push(Self::fts_condition(args.len()));
                    }
                    if let Some(c) = q.category {
                        args.push(Arg::Text(c.as_str().to_owned()));
                        conds.push(format!("e.category = ${}", args.len()));
                    }
                    if let Some(city) = &q.city {
                        args.push(Arg::Text(city.to_lowercase()));
                        conds.push(format!("LOWER(e.city) = ${}", args.len()));
                    }
                    if let Some(from) = q.from {
                        args.push(Arg::Int(from.as_millis()));
                        conds.push(format!("e.starts_at >= ${}", args.len()));
                    }
                    if let Some(to) = q.to {
                        args.push(Arg::Int(to.as_millis()));
                        conds.push(format!("e.starts_at < ${}", args.len()));
                    }
                    if q.free_only {
                        conds.push(format!("{min_price} = 0"));
                    }
                    if let Some(p) = q.min_price {
                        args.push(Arg::Int(p));
                        conds.push(format!("{min_price} >= ${}", args.len()));
                    }
                    if let Some(p) = q.max_price {
                        args.push(Arg::Int(p));
                        conds.push(format!("{min_price} <= ${}", args.len()));
                    }
                    let filter = conds.join(" AND ");
                    let order = match q.sort {
                        $crate::store::catalogue::EventSort::Date => "e.starts_at, e.id",
                        $crate::store::catalogue::EventSort::Price => "min_price_minor, e.starts_at, e.id",
                    };
                    let n = args.len();
                    let list_sql = format!(
                        "SELECT e.id, e.slug, e.title, e.category, e.venue, e.city, e.starts_at, e.time_zone, e.currency,
                                {min_price} AS min_price_minor
                         FROM events e WHERE {filter} ORDER BY {order} LIMIT ${} OFFSET ${}",
                        n + 1,
                        n + 2
                    );
                    let count_sql = format!("SELECT COUNT(*) FROM events e WHERE {filter}");
                    let mut tx = self.pool.begin().await?;
                    let mut list = sqlx::query_as::<_, $crate::store::EventCard>(&list_sql);
                    let mut count = sqlx::query_as::<_, (i64,)>(&count_sql);
                    for a in &args {
                        match a {
                            Arg::Int(v) => {
                                list = list.bind(*v);
                                count = count.bind(*v);
                            }
                            Arg::Text(v) => {
                                list = list.bind(v.clone());
                                count = count.bind(v.clone());
                            }
                        }
                    }
                    let items = list.bind(q.limit).bind(q.offset).fetch_all(&mut *tx).await?;
                    let (total,) = count.fetch_one(&mut *tx).await?;
                    tx.commit().await?;
                    Ok($crate::store::Page { items, total })
                })
            }

            fn create_code<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                f: &'a $crate::store::catalogue::CodeFields,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<String>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        Self::check_code_tiers(&mut tx, event, f).await?;
                        let id = $crate::store::new_id();
                        let (kind, value) = Self::discount_columns(&f.rules.discount);
                        sqlx::query(
                            "INSERT INTO codes (id, event_id, code, discount_kind, discount_value, tier_ids, unlock_tier_ids,
                                                max_uses, max_uses_per_user, valid_from, valid_until, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        )
                        .bind(&id)
                        .bind(event.as_str())
                        .bind(&f.code)
                        .bind(kind)
                        .bind(value)
                        .bind(f.rules.tiers.join(","))
                        .bind(f.rules.unlocks.join(","))
                        .bind(f.max_uses)
                        .bind(f.max_uses_per_user)
                        .bind(f.rules.valid_from.map(|t| t.as_millis()))
                        .bind(f.rules.valid_until.map(|t| t.as_millis()))
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::store::common::on_unique(e, $crate::store::Conflict::DuplicateCode(f.code.clone())))?;
                        tx.commit().await?;
                        Ok(id)
                    })
                    .await
                })
            }

            fn update_code<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                id: &'a str,
                f: &'a $crate::store::catalogue::CodeFields,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        Self::check_code_tiers(&mut tx, event, f).await?;
                        let (kind, value) = Self::discount_columns(&f.rules.discount);
                        let r = sqlx::query(
                            "UPDATE codes SET code = $3, discount_kind = $4, discount_value = $5, tier_ids = $6,
                                    unlock_tier_ids = $7, max_uses = $8, max_uses_per_user = $9, valid_from = $10,
                                    valid_until = $11
                             WHERE id = $1 AND event_id = $2",
                        )
                        .bind(id)
                        .bind(event.as_str())
                        .bind(&f.code)
                        .bind(kind)
                        .bind(value)
                        .bind(f.rules.tiers.join(","))
                        .bind(f.rules.unlocks.join(","))
                        .bind(f.max_uses)
                        .bind(f.max_uses_per_user)
                        .bind(f.rules.valid_from.map(|t| t.as_millis()))
                        .bind(f.rules.valid_until.map(|t| t.as_millis()))
                        .execute(&mut *tx)
                            .await
                            .map_err(|e| match &e {
                                sqlx::Error::Database(db) if db.is_unique_violation() => {
                                    $crate::store::common::on_unique(e, $crate::store::Conflict::DuplicateCode(f.code.clone()))
                                }
                                _ => $crate::store::common::on_check(e, "The use limit cannot be lower than the uses so far."),
                            })?;
                        if r.rows_affected() == 0 {
                            return Err($crate::store::StoreError::NotFound);
                        }
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn delete_code<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                id: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query("DELETE FROM codes WHERE id = $1 AND event_id = $2 AND uses = 0")
                            .bind(id)
                            .bind(event.as_str())
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                })
            }

            fn codes_of_event<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::catalogue::CodeRow>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT id, code, discount_kind, discount_value, tier_ids, unlock_tier_ids, max_uses,
                                max_uses_per_user, valid_from, valid_until, uses
                         FROM codes WHERE event_id = $1 ORDER BY code",
                    )
                    .bind(event.as_str())
                    .fetch_all(&self.pool)
                    .await?)
                })
            }

            fn code_by_text<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                code: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::catalogue::CodeRow>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT id, code, discount_kind, discount_value, tier_ids, unlock_tier_ids, max_uses,
                                max_uses_per_user, valid_from, valid_until, uses
                         FROM codes WHERE event_id = $1 AND code = $2",
                    )
                    .bind(event.as_str())
                    .bind(code)
                    .fetch_optional(&self.pool)
                    .await?)
                })
            }

            fn set_banner<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                key: Option<&'a str>,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<String>>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let old: Option<(Option<String>,)> = sqlx::query_as("SELECT banner_key FROM events WHERE id = $1")
                            .bind(event.as_str())
                            .fetch_optional(&mut *tx)
                            .await?;
                        let Some((old,)) = old else {
                            return Err($crate::store::StoreError::NotFound);
                        };
                        sqlx::query("UPDATE events SET banner_key = $2 WHERE id = $1")
                            .bind(event.as_str())
                            .bind(key)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok(old)
                    })
                    .await
                })
            }

            fn delete_quota<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                quota: &'a $crate::domain::QuotaId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "DELETE FROM quotas WHERE id = $1 AND event_id = $2 AND sold = 0 AND held = 0
                               AND NOT EXISTS (SELECT 1 FROM tier_quotas WHERE quota_id = $1)",
                        )
                        .bind(quota.as_str())
                        .bind(event.as_str())
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                })
            }

            fn cancel_event_without_orders<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "UPDATE events SET status = 'cancelled', updated_at = $2
                             WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM orders WHERE event_id = $1)",
                        )
                        .bind(event.as_str())
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                })
            }

            fn replace_seats<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                seats: &'a [$crate::store::catalogue::NewSeat],
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let (claimed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM seat_claims WHERE event_id = $1")
                            .bind(event.as_str())
                            .fetch_one(&mut *tx)
                            .await?;
                        if claimed > 0 {
                            return Err($crate::store::StoreError::Refused(
                                "Seats of this map are held or sold, so the map can no longer be replaced.".into(),
                            ));
                        }
                        sqlx::query("DELETE FROM seats WHERE event_id = $1").bind(event.as_str()).execute(&mut *tx).await?;
                        for (position, seat) in seats.iter().enumerate() {
                            sqlx::query(
                                "INSERT INTO seats (id, event_id, section, row_label, number, kind, blocked, tier_id, position)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                            )
                            .bind($crate::store::new_id())
                            .bind(event.as_str())
                            .bind(&seat.spec.section)
                            .bind(&seat.spec.row)
                            .bind(i64::from(seat.spec.number))
                            .bind(seat.spec.kind.as_str())
                            .bind(seat.spec.blocked)
                            .bind(&seat.tier_id)
                            .bind(position as i64)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| {
                                $crate::store::common::on_unique(
                                    e,
                                    $crate::store::Conflict::DuplicateSlug(format!(
                                        "{} {}{}",
                                        seat.spec.section, seat.spec.row, seat.spec.number
                                    )),
                                )
                            })?;
                        }
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn seats_of_event<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::catalogue::SeatRow>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT id, section, row_label, number, kind, blocked, tier_id FROM seats
                         WHERE event_id = $1 ORDER BY position, id",
                    )
                    .bind(event.as_str())
                    .fetch_all(&self.pool)
                    .await?)
                })
            }

            fn tier_sales<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<(String, i64)>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT oi.tier_id, COUNT(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id
                         WHERE o.event_id = $1 AND o.status = 'paid' GROUP BY oi.tier_id",
                    )
                    .bind(event.as_str())
                    .fetch_all(&self.pool)
                    .await?)
                })
            }

            fn delete_tier<'a>(
                &'a self,
                event: &'a $crate::domain::EventId,
                tier: &'a $crate::domain::TierId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "DELETE FROM tiers WHERE id = $1 AND event_id = $2
                               AND NOT EXISTS (SELECT 1 FROM order_items WHERE tier_id = $1)",
                        )
                        .bind(tier.as_str())
                        .bind(event.as_str())
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                })
            }
        }

        impl $store {
            /// Every tier a code names must be a tier of the event.
            async fn check_code_tiers(
                tx: &mut sqlx::Transaction<'static, Db>,
                event: &$crate::domain::EventId,
                f: &$crate::store::catalogue::CodeFields,
            ) -> $crate::store::StoreResult<()> {
                for tier in f.rules.tiers.iter().chain(&f.rules.unlocks) {
                    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM tiers WHERE id = $1 AND event_id = $2")
                        .bind(tier)
                        .bind(event.as_str())
                        .fetch_one(&mut **tx)
                        .await?;
                    if n != 1 {
                        return Err($crate::store::StoreError::Refused("A code can only name tiers of its own event.".into()));
                    }
                }
                Ok(())
            }

            fn discount_columns(d: &$crate::domain::codes::Discount) -> (&'static str, i64) {
                match d {
                    $crate::domain::codes::Discount::None => ("none", 0),
                    $crate::domain::codes::Discount::Percent(p) => ("percent", i64::from(*p)),
                    $crate::domain::codes::Discount::Fixed(a) => ("fixed", *a),
                }
            }
        }
    };
}
