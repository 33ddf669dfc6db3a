//! The security store methods, written once for both backends.

macro_rules! impl_security_store {
    ($store:ty) => {
        impl $store {
            /// Writes an audit entry inside the caller's transaction.
            async fn audit_in(
                tx: &mut sqlx::Transaction<'static, Db>,
                a: &$crate::store::security::NewAudit,
            ) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "INSERT INTO audit_log (id, at, action, actor_id, subject_id, org_id, ip, detail)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind($crate::store::new_id())
                .bind(a.at.as_millis())
                .bind(a.action)
                .bind(a.actor.as_ref().map(|u| u.as_str().to_owned()))
                .bind(a.subject.as_ref().map(|u| u.as_str().to_owned()))
                .bind(a.org.as_ref().map(|o| o.as_str().to_owned()))
                .bind(&a.ip)
                .bind(a.detail.to_string())
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Revokes every unrevoked token of a refresh-token family.
            async fn revoke_family_in(
                tx: &mut sqlx::Transaction<'static, Db>,
                family: &str,
                now: i64,
            ) -> Result<(), sqlx::Error> {
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                    .bind(family)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
        }

        impl $crate::store::security::SecurityStore for $store {
            fn record_audit(
                &self,
                entry: $crate::store::security::NewAudit,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    let entry = &entry;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        Self::audit_in(&mut tx, entry).await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn audit_entries<'a>(
                &'a self,
                q: &'a $crate::store::security::AuditQuery,
            ) -> $crate::store::BoxFuture<
                'a,
                $crate::store::StoreResult<$crate::store::Page<$crate::store::security::AuditEntry>>,
            > {
                Box::pin(async move {
                    // Every filter is optional: a NULL parameter matches all.
                    const WHERE: &str = "WHERE ($1 IS NULL OR a.action = $1)
                          AND ($2 IS NULL OR a.actor_id = $2 OR a.subject_id = $2)
                          AND ($3 IS NULL OR a.org_id = $3)
                          AND ($4 IS NULL OR a.at >= $4)
                          AND ($5 IS NULL OR a.at < $5)";
                    let user = q.user.as_ref().map(|u| u.as_str().to_owned());
                    let org = q.org.as_ref().map(|o| o.as_str().to_owned());
                    let from = q.from.map(|t| t.as_millis());
                    let to = q.to.map(|t| t.as_millis());
                    let mut tx = self.pool.begin().await?;
                    let items: Vec<$crate::store::security::AuditEntry> = sqlx::query_as(&format!(
                        "SELECT a.id, a.at, a.action, a.actor_id, ua.email AS actor_email, a.subject_id,
                                us.email AS subject_email, a.org_id, a.ip, a.detail
                         FROM audit_log a
                         LEFT JOIN users ua ON ua.id = a.actor_id
                         LEFT JOIN users us ON us.id = a.subject_id
                         {WHERE}
                         ORDER BY a.at DESC, a.id DESC LIMIT $6 OFFSET $7"
                    ))
                    .bind(&q.action)
                    .bind(&user)
                    .bind(&org)
                    .bind(from)
                    .bind(to)
                    .bind(q.limit)
                    .bind(q.offset)
                    .fetch_all(&mut *tx)
                    .await?;
                    let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM audit_log a {WHERE}"))
                        .bind(&q.action)
                        .bind(&user)
                        .bind(&org)
                        .bind(from)
                        .bind(to)
                        .fetch_one(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok($crate::store::Page { items, total })
                })
            }

            fn hit_rate_limit<'a>(
                &'a self,
                bucket: &'a str,
                window_start: i64,
                limit: u32,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Result<i64, i64>>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        // One statement decides: a new window starts at 1, the
                        // current one counts on only while under the limit.
                        // No row back means the limit was already reached.
                        let row: Option<(i64,)> = sqlx::query_as(
                            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1)
                             ON CONFLICT (bucket) DO UPDATE
                               SET hits = CASE WHEN rate_limits.window_start = excluded.window_start
                                               THEN rate_limits.hits + 1 ELSE 1 END,
                                   window_start = excluded.window_start
                               WHERE rate_limits.window_start <> excluded.window_start OR rate_limits.hits < $3
                             RETURNING hits",
                        )
                        .bind(bucket)
                        .bind(window_start)
                        .bind(i64::from(limit))
                        .fetch_optional(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(match row {
                            Some((hits,)) => Ok(hits),
                            None => Err(window_start),
                        })
                    })
                    .await
                })
            }

            fn issue_refresh_token(
                &self,
                t: $crate::store::security::NewRefreshToken,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    let t = &t;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query(
                            "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(&t.id)
                        .bind(&t.family_id)
                        .bind(t.user.as_str())
                        .bind(&t.token_hash)
                        .bind(t.expires_at.as_millis())
                        .bind(t.now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn rotate_refresh_token<'a>(
                &'a self,
                token_hash: &'a str,
                next: $crate::store::security::NewRefreshToken,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<$crate::store::security::RefreshOutcome>> {
                use $crate::store::security::RefreshOutcome;
                Box::pin(async move {
                    let next = &next;
                    self.with_retry(|| async move {
                        let now = next.now.as_millis();
                        let mut tx = self.begin_write().await?;
                        let row: Option<(String, String, String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
                            "SELECT id, family_id, user_id, expires_at, used_at, revoked_at
                             FROM refresh_tokens WHERE token_hash = $1",
                        )
                        .bind(token_hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let Some((id, family, user_id, expires_at, used_at, revoked_at)) = row else {
                            return Ok(RefreshOutcome::Invalid);
                        };
                        if revoked_at.is_some() {
                            return Ok(RefreshOutcome::Invalid);
                        }
                        if used_at.is_some() {
                            // A rotated token came back: someone holds a copy.
                            // Neither copy may go on; the newer token dies too.
                            Self::revoke_family_in(&mut tx, &family, now).await?;
                            tx.commit().await?;
                            return Ok(RefreshOutcome::Reused { user_id });
                        }
                        if now >= expires_at {
                            return Ok(RefreshOutcome::Invalid);
                        }
                        let r = sqlx::query(
                            "UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
                        )
                        .bind(&id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        if r.rows_affected() != 1 {
                            // Used in parallel: the same as a reuse.
                            Self::revoke_family_in(&mut tx, &family, now).await?;
                            tx.commit().await?;
                            return Ok(RefreshOutcome::Reused { user_id });
                        }
                        let account: Option<$crate::store::accounts::Account> =
                            sqlx::query_as(concat!("SELECT ", $crate::account_columns!(), " FROM users WHERE id = $1"))
                                .bind(&user_id)
                                .fetch_optional(&mut *tx)
                                .await?;
                        let Some(account) = account.filter(|a| a.can_sign_in()) else {
                            Self::revoke_family_in(&mut tx, &family, now).await?;
                            tx.commit().await?;
                            return Ok(RefreshOutcome::Invalid);
                        };
                        sqlx::query(
                            "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(&next.id)
                        .bind(&family)
                        .bind(&user_id)
                        .bind(&next.token_hash)
                        .bind(next.expires_at.as_millis())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(RefreshOutcome::Rotated { account: Box::new(account) })
                    })
                    .await
                })
            }

            fn revoke_refresh_family<'a>(
                &'a self,
                token_hash: &'a str,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let family: Option<(String,)> =
                            sqlx::query_as("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
                                .bind(token_hash)
                                .fetch_optional(&mut *tx)
                                .await?;
                        if let Some((family,)) = family {
                            Self::revoke_family_in(&mut tx, &family, now.as_millis()).await?;
                        }
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn create_api_key(
                &self,
                k: $crate::store::security::NewApiKey,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    let k = &k;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query(
                            "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, scope, created_by, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(&k.id)
                        .bind(k.org_id.as_str())
                        .bind(&k.name)
                        .bind(&k.prefix)
                        .bind(&k.key_hash)
                        .bind(&k.scope)
                        .bind(k.created_by.as_str())
                        .bind(k.now.as_millis())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::store::common::on_check(e, "An API key is either read or read_write."))?;
                        Self::audit_in(&mut tx, &k.audit).await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn api_keys_of_org<'a>(
                &'a self,
                org: &'a $crate::domain::OrgId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::security::ApiKeyRecord>>>
            {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT id, org_id, name, prefix, scope, created_by, created_at, last_used_at, revoked_at
                         FROM api_keys WHERE org_id = $1 ORDER BY created_at DESC, id DESC",
                    )
                    .bind(org.as_str())
                    .fetch_all(&self.pool)
                    .await?)
                })
            }

            fn revoke_api_key<'a>(
                &'a self,
                org: &'a $crate::domain::OrgId,
                id: &'a str,
                audit: $crate::store::security::NewAudit,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    let audit = &audit;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL",
                        )
                        .bind(org.as_str())
                        .bind(id)
                        .bind(audit.at.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        if r.rows_affected() != 1 {
                            return Ok(false);
                        }
                        Self::audit_in(&mut tx, audit).await?;
                        tx.commit().await?;
                        Ok(true)
                    })
                    .await
                })
            }

            fn api_key_by_hash<'a>(
                &'a self,
                key_hash: &'a str,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::security::ApiKeyGrant>>>
            {
                Box::pin(async move {
                    let mut tx = self.pool.begin().await?;
                    let key: Option<$crate::store::security::ApiKeyRecord> = sqlx::query_as(
                        "SELECT id, org_id, name, prefix, scope, created_by, created_at, last_used_at, revoked_at
                         FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
                    )
                    .bind(key_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(key) = key else {
                        return Ok(None);
                    };
                    let (org_name, org_slug, org_status): (String, String, String) =
                        sqlx::query_as("SELECT name, slug, status FROM organizations WHERE id = $1")
                            .bind(&key.org_id)
                            .fetch_one(&mut *tx)
                            .await?;
                    let creator: $crate::store::accounts::Account =
                        sqlx::query_as(concat!("SELECT ", $crate::account_columns!(), " FROM users WHERE id = $1"))
                            .bind(&key.created_by)
                            .fetch_one(&mut *tx)
                            .await?;
                    let (owner,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND user_id = $2 AND role = 'owner'",
                    )
                    .bind(&key.org_id)
                    .bind(&key.created_by)
                    .fetch_one(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    // Bookkeeping only, to the minute: most requests write nothing.
                    if key.last_used_at.is_none_or(|t| t < now.as_millis() - 60_000) {
                        let key_id = key.id.as_str();
                        self.with_retry(|| async move {
                            let mut tx = self.begin_write().await?;
                            sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
                                .bind(key_id)
                                .bind(now.as_millis())
                                .execute(&mut *tx)
                                .await?;
                            tx.commit().await?;
                            Ok(())
                        })
                        .await?;
                    }
                    Ok(Some($crate::store::security::ApiKeyGrant {
                        key,
                        org_name,
                        org_slug,
                        org_status,
                        creator,
                        creator_is_owner: owner > 0,
                    }))
                })
            }

            fn external_login(
                &self,
                login: $crate::store::security::ExternalLogin,
                audit: $crate::store::security::NewAudit,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::security::ExternalOutcome>> {
                use $crate::store::{accounts::Account, security::ExternalOutcome};
                Box::pin(async move {
                    let (login, audit) = (&login, &audit);
                    self.with_retry(|| async move {
                        let now = login.now.as_millis();
                        let mut tx = self.begin_write().await?;
                        let linked: Option<(String,)> = sqlx::query_as(
                            "SELECT user_id FROM oauth_identities WHERE provider = $1 AND subject = $2",
                        )
                        .bind(login.provider)
                        .bind(&login.subject)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let by_id = concat!("SELECT ", $crate::account_columns!(), " FROM users WHERE id = $1");
                        let mut entry = audit.clone();
                        let outcome = if let Some((user_id,)) = linked {
                            let account: Account = sqlx::query_as(by_id).bind(&user_id).fetch_one(&mut *tx).await?;
                            ExternalOutcome::Known(Box::new(account))
                        } else if !login.email_verified {
                            return Ok(ExternalOutcome::UnverifiedEmail);
                        } else {
                            let existing: Option<Account> =
                                sqlx::query_as(concat!("SELECT ", $crate::account_columns!(), " FROM users WHERE email = $1"))
                                    .bind(&login.email)
                                    .fetch_optional(&mut *tx)
                                    .await?;
                            let (user_id, created) = match existing {
                                Some(a) => {
                                    if !a.is_verified() {
                                        // Whoever signed up with this address never
                                        // proved it; the provider just did. Their
                                        // password and sessions must not survive.
                                        sqlx::query(
                                            "UPDATE users SET email_verified_at = $2, password_hash = NULL,
                                                              session_epoch = session_epoch + 1
                                             WHERE id = $1",
                                        )
                                        .bind(&a.id)
                                        .bind(now)
                                        .execute(&mut *tx)
                                        .await?;
                                        Self::end_credentials_in(&mut tx, &a.user_id()).await?;
                                        entry.detail["took_over_unverified"] = serde_json::Value::Bool(true);
                                    }
                                    (a.id, false)
                                }
                                None => {
                                    sqlx::query(
                                        "INSERT INTO users (id, email, name, password_hash, locale, email_verified_at, created_at)
                                         VALUES ($1, $2, $3, NULL, $4, $5, $5)",
                                    )
                                    .bind(login.new_user_id.as_str())
                                    .bind(&login.email)
                                    .bind(&login.name)
                                    .bind(&login.locale)
                                    .bind(now)
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(|e| {
                                        $crate::store::common::on_unique(e, $crate::store::Conflict::DuplicateEmail)
                                    })?;
                                    (login.new_user_id.as_str().to_owned(), true)
                                }
                            };
                            sqlx::query(
                                "INSERT INTO oauth_identities (provider, subject, user_id, email, created_at)
                                 VALUES ($1, $2, $3, $4, $5)",
                            )
                            .bind(login.provider)
                            .bind(&login.subject)
                            .bind(&user_id)
                            .bind(&login.email)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            let account: Account = sqlx::query_as(by_id).bind(&user_id).fetch_one(&mut *tx).await?;
                            if created {
                                ExternalOutcome::Created(Box::new(account))
                            } else {
                                ExternalOutcome::Linked(Box::new(account))
                            }
                        };
                        // A link is a change worth recording with it; a known
                        // identity is just a sign-in (audited by the caller).
                        if let ExternalOutcome::Linked(account) | ExternalOutcome::Created(account) = &outcome {
                            entry.subject = Some(account.user_id());
                            entry.actor = Some(account.user_id());
                            entry.detail["new_account"] =
                                serde_json::Value::Bool(matches!(outcome, ExternalOutcome::Created(_)));
                            Self::audit_in(&mut tx, &entry).await?;
                        }
                        tx.commit().await?;
                        Ok(outcome)
                    })
                    .await
                })
            }

            fn identities_of_user<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<(String, String, i64)>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT provider, email, created_at FROM oauth_identities WHERE user_id = $1 ORDER BY created_at",
                    )
                    .bind(user.as_str())
                    .fetch_all(&self.pool)
                    .await?)
                })
            }

            fn create_password_reset(
                &self,
                r: $crate::store::security::NewPasswordReset,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    let r = &r;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        // Only the newest link works.
                        sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
                            .bind(r.user.as_str())
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(
                            "INSERT INTO password_resets (token_hash, user_id, expires_at, created_at)
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(&r.token_hash)
                        .bind(r.user.as_str())
                        .bind(r.expires_at.as_millis())
                        .bind(r.now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        Self::enqueue_in(&mut tx, &r.mail, r.now).await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn use_password_reset<'a>(
                &'a self,
                token_hash: &'a str,
                password_hash: &'a str,
                audit: $crate::store::security::NewAudit,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::accounts::Account>>>
            {
                Box::pin(async move {
                    let audit = &audit;
                    self.with_retry(|| async move {
                        let now = audit.at.as_millis();
                        let mut tx = self.begin_write().await?;
                        let row: Option<(String, i64)> = sqlx::query_as(
                            "SELECT user_id, expires_at FROM password_resets WHERE token_hash = $1 AND used_at IS NULL",
                        )
                        .bind(token_hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let Some((user_id, expires_at)) = row.filter(|(_, e)| now < *e) else {
                            return Ok(None);
                        };
                        let r = sqlx::query("UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL")
                            .bind(token_hash)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        if r.rows_affected() != 1 || now >= expires_at {
                            return Ok(None);
                        }
                        // The link reached the inbox, so the address is proven too.
                        let account: Option<$crate::store::accounts::Account> = sqlx::query_as(concat!(
                            "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1,
                                              email_verified_at = COALESCE(email_verified_at, $3)
                             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
                            $crate::account_columns!()
                        ))
                        .bind(&user_id)
                        .bind(password_hash)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let Some(account) = account else {
                            return Ok(None);
                        };
                        Self::end_credentials_in(&mut tx, &account.user_id()).await?;
                        let mut entry = audit.clone();
                        entry.subject = Some(account.user_id());
                        entry.actor = Some(account.user_id());
                        Self::audit_in(&mut tx, &entry).await?;
                        tx.commit().await?;
                        Ok(Some(account))
                    })
                    .await
                })
            }
        }
    };
}
