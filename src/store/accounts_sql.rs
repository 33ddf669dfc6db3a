//! The account store methods, written once for both backends.

macro_rules! impl_account_store {
    ($store:ty) => {
        impl $crate::store::accounts::AccountStore for $store {
            fn sign_up(
                &self,
                s: $crate::store::accounts::SignUp,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<$crate::store::accounts::Account>> {
                Box::pin(async move {
                    let s = &s;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let account: $crate::store::accounts::Account = sqlx::query_as(concat!(
                            "INSERT INTO users (id, email, name, password_hash, locale, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6)
                             RETURNING ",
                            $crate::account_columns!()
                        ))
                        .bind(s.id.as_str())
                        .bind(&s.email)
                        .bind(&s.name)
                        .bind(&s.password_hash)
                        .bind(&s.locale)
                        .bind(s.now.as_millis())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(|e| $crate::store::common::on_unique(e, $crate::store::Conflict::DuplicateEmail))?;
                        sqlx::query(
                            "INSERT INTO email_codes (user_id, purpose, code_hash, expires_at, created_at)
                             VALUES ($1, 'verify_email', $2, $3, $4)",
                        )
                        .bind(s.id.as_str())
                        .bind(&s.code_hash)
                        .bind(s.code_expires_at.as_millis())
                        .bind(s.now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        Self::enqueue_in(&mut tx, &s.mail, s.now).await?;
                        tx.commit().await?;
                        Ok(account)
                    })
                    .await
                })
            }

            fn account<'a>(
                &'a self,
                id: &'a $crate::domain::UserId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::accounts::Account>>>
            {
                Box::pin(async move {
                    Ok(sqlx::query_as(concat!("SELECT ", $crate::account_columns!(), " FROM users WHERE id = $1"))
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?)
                })
            }

            fn account_by_email<'a>(
                &'a self,
                email: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::accounts::Account>>>
            {
                Box::pin(async move {
                    Ok(sqlx::query_as(concat!("SELECT ", $crate::account_columns!(), " FROM users WHERE email = $1"))
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await?)
                })
            }

            fn replace_code<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
                purpose: $crate::store::accounts::CodePurpose,
                code_hash: &'a str,
                expires_at: $crate::domain::Timestamp,
                mail: $crate::store::NewJob,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    let mail = &mail;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query(
                            "INSERT INTO email_codes (user_id, purpose, code_hash, expires_at, attempts, created_at)
                             VALUES ($1, $2, $3, $4, 0, $5)
                             ON CONFLICT (user_id, purpose)
                             DO UPDATE SET code_hash = $3, expires_at = $4, attempts = 0, created_at = $5",
                        )
                        .bind(user.as_str())
                        .bind(purpose.as_str())
                        .bind(code_hash)
                        .bind(expires_at.as_millis())
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        Self::enqueue_in(&mut tx, mail, now).await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn check_code<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
                purpose: $crate::store::accounts::CodePurpose,
                code_hash: &'a str,
                max_tries: i64,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<$crate::store::accounts::CodeCheck>> {
                use $crate::store::accounts::CodeCheck;
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let row: Option<(String, i64, i64)> = sqlx::query_as(
                            "SELECT code_hash, expires_at, attempts FROM email_codes WHERE user_id = $1 AND purpose = $2",
                        )
                        .bind(user.as_str())
                        .bind(purpose.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                        let Some((stored, expires_at, attempts)) = row else {
                            return Ok(CodeCheck::Missing);
                        };
                        let outcome = if attempts >= max_tries {
                            CodeCheck::Burned
                        } else if now.as_millis() >= expires_at {
                            CodeCheck::Expired
                        } else if $crate::store::common::constant_time_eq(stored.as_bytes(), code_hash.as_bytes()) {
                            CodeCheck::Accepted
                        } else {
                            // Count the wrong try; the conditional update means
                            // parallel guesses can never exceed the budget.
                            let r = sqlx::query(
                                "UPDATE email_codes SET attempts = attempts + 1
                                 WHERE user_id = $1 AND purpose = $2 AND attempts < $3",
                            )
                            .bind(user.as_str())
                            .bind(purpose.as_str())
                            .bind(max_tries)
                            .execute(&mut *tx)
                            .await?;
                            if r.rows_affected() == 0 {
                                CodeCheck::Burned
                            } else {
                                CodeCheck::Wrong { tries_left: (max_tries - attempts - 1).max(0) }
                            }
                        };
                        if outcome == CodeCheck::Accepted {
                            // Single use: the row goes away in the same transaction.
                            let r = sqlx::query(
                                "DELETE FROM email_codes WHERE user_id = $1 AND purpose = $2 AND code_hash = $3",
                            )
                            .bind(user.as_str())
                            .bind(purpose.as_str())
                            .bind(code_hash)
                            .execute(&mut *tx)
                            .await?;
                            if r.rows_affected() != 1 {
                                return Ok(CodeCheck::Missing);
                            }
                            // Both purposes prove the person reads this address.
                            sqlx::query(
                                "UPDATE users SET email_verified_at = $2 WHERE id = $1 AND email_verified_at IS NULL",
                            )
                            .bind(user.as_str())
                            .bind(now.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        }
                        tx.commit().await?;
                        Ok(outcome)
                    })
                    .await
                })
            }

            fn memberships<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::accounts::Membership>>>
            {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT o.id AS org_id, o.name AS org_name, o.slug AS org_slug, o.status AS org_status, m.role
                         FROM memberships m JOIN organizations o ON o.id = m.org_id
                         WHERE m.user_id = $1
                         ORDER BY CASE o.status WHEN 'approved' THEN 0 ELSE 1 END, o.name",
                    )
                    .bind(user.as_str())
                    .fetch_all(&self.pool)
                    .await?)
                })
            }

            fn account_with_memberships<'a>(
                &'a self,
                id: &'a $crate::domain::UserId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::accounts::AccountWithMemberships>>> {
                use $crate::store::accounts::{Account, Membership};
                #[derive(sqlx::FromRow)]
                struct Row {
                    #[sqlx(flatten)]
                    account: Account,
                    org_id: Option<String>,
                    org_name: Option<String>,
                    org_slug: Option<String>,
                    org_status: Option<String>,
                    role: Option<String>,
                }
                Box::pin(async move {
                    // One row per membership, or one with no organization.
                    let rows: Vec<Row> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::account_columns!(u),
                        ", o.id AS org_id, o.name AS org_name, o.slug AS org_slug, o.status AS org_status, m.role
                         FROM users u
                         LEFT JOIN memberships m ON m.user_id = u.id
                         LEFT JOIN organizations o ON o.id = m.org_id
                         WHERE u.id = $1
                         ORDER BY CASE o.status WHEN 'approved' THEN 0 ELSE 1 END, o.name"
                    ))
                    .bind(id.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                    let mut rows = rows.into_iter();
                    let Some(first) = rows.next() else {
                        return Ok(None);
                    };
                    let membership = |r: Row| -> Option<Membership> {
                        Some(Membership {
                            org_id: r.org_id?,
                            org_name: r.org_name?,
                            org_slug: r.org_slug?,
                            org_status: r.org_status?,
                            role: r.role?,
                        })
                    };
                    let account = first.account.clone();
                    let memberships = std::iter::once(first).chain(rows).filter_map(membership).collect();
                    Ok(Some((account, memberships)))
                })
            }

            fn staff_scope<'a>(
                &'a self,
                org: &'a $crate::domain::OrgId,
                user: &'a $crate::domain::UserId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<String>>> {
                Box::pin(async move {
                    let rows: Vec<(String,)> = sqlx::query_as(
                        "SELECT event_id FROM staff_event_scopes WHERE org_id = $1 AND user_id = $2 ORDER BY event_id",
                    )
                    .bind(org.as_str())
                    .bind(user.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(rows.into_iter().map(|(e,)| e).collect())
                })
            }

            fn organization<'a>(
                &'a self,
                id: &'a $crate::domain::OrgId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::accounts::Organization>>>
            {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT id, slug, name, contact_email, description, status, decision_reason, created_at
                         FROM organizations WHERE id = $1",
                    )
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?)
                })
            }

            fn organization_owners<'a>(
                &'a self,
                org: &'a $crate::domain::OrgId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::accounts::Account>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::account_columns!(u),
                        " FROM users u JOIN memberships m ON m.user_id = u.id
                         WHERE m.org_id = $1 AND m.role = 'owner' ORDER BY u.created_at"
                    ))
                    .bind(org.as_str())
                    .fetch_all(&self.pool)
                    .await?)
                })
            }

            fn pending_applications(
                &self,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<Vec<$crate::store::accounts::Organization>>>
            {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT id, slug, name, contact_email, description, status, decision_reason, created_at
                         FROM organizations WHERE status = 'pending' ORDER BY created_at, id",
                    )
                    .fetch_all(&self.pool)
                    .await?)
                })
            }

            fn decide_application(
                &self,
                d: $crate::store::accounts::Decision,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    let d = &d;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "UPDATE organizations SET status = $2, decision_reason = $3, decided_at = $4, decided_by = $5
                             WHERE id = $1 AND status = 'pending'",
                        )
                        .bind(d.org_id.as_str())
                        .bind(if d.approve { "approved" } else { "rejected" })
                        .bind(&d.reason)
                        .bind(d.now.as_millis())
                        .bind(d.admin.as_str())
                        .execute(&mut *tx)
                        .await?;
                        if r.rows_affected() == 0 {
                            return Err($crate::store::StoreError::NotFound);
                        }
                        for job in &d.mail {
                            Self::enqueue_in(&mut tx, job, d.now).await?;
                        }
                        Self::audit_in(&mut tx, &d.audit).await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn create_invitation(
                &self,
                inv: $crate::store::accounts::NewInvitation,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<String>> {
                Box::pin(async move {
                    let inv = &inv;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        // Scoped events must belong to the organization.
                        for ev in &inv.event_ids {
                            let (n,): (i64,) =
                                sqlx::query_as("SELECT COUNT(*) FROM events WHERE id = $1 AND org_id = $2")
                                    .bind(ev)
                                    .bind(inv.org_id.as_str())
                                    .fetch_one(&mut *tx)
                                    .await?;
                            if n != 1 {
                                return Err($crate::store::StoreError::Refused(
                                    "one of the chosen events does not belong to this organization".into(),
                                ));
                            }
                        }
                        let id = $crate::store::new_id();
                        sqlx::query(
                            "INSERT INTO invitations (id, org_id, email, token_hash, event_ids, invited_by, expires_at, created_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(&id)
                        .bind(inv.org_id.as_str())
                        .bind(&inv.email)
                        .bind(&inv.token_hash)
                        .bind(inv.event_ids.join(","))
                        .bind(inv.invited_by.as_str())
                        .bind(inv.expires_at.as_millis())
                        .bind(inv.now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        Self::enqueue_in(&mut tx, &inv.mail, inv.now).await?;
                        tx.commit().await?;
                        Ok(id)
                    })
                    .await
                })
            }

            fn invitation<'a>(
                &'a self,
                token_hash: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<$crate::store::accounts::Invitation>>>
            {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT i.id, i.org_id, o.name AS org_name, i.email, i.event_ids, i.expires_at, i.accepted_at
                         FROM invitations i JOIN organizations o ON o.id = i.org_id WHERE i.token_hash = $1",
                    )
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?)
                })
            }

            fn accept_invitation<'a>(
                &'a self,
                token_hash: &'a str,
                user: &'a $crate::store::accounts::Account,
                audit: $crate::store::security::NewAudit,
            ) -> $crate::store::BoxFuture<
                'a,
                $crate::store::StoreResult<Result<$crate::domain::OrgId, $crate::store::accounts::InvitationRefusal>>,
            > {
                use $crate::store::accounts::InvitationRefusal;
                let now = audit.at;
                Box::pin(async move {
                    let audit = &audit;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let inv: Option<(String, String, String, String, i64, Option<i64>)> = sqlx::query_as(
                            "SELECT id, org_id, email, event_ids, expires_at, accepted_at FROM invitations WHERE token_hash = $1",
                        )
                        .bind(token_hash)
                        .fetch_optional(&mut *tx)
                        .await?;
                        let Some((id, org_id, email, event_ids, expires_at, accepted_at)) = inv else {
                            return Ok(Err(InvitationRefusal::NotFound));
                        };
                        if email != user.email {
                            return Ok(Err(InvitationRefusal::WrongAccount));
                        }
                        if accepted_at.is_some() {
                            return Ok(Err(InvitationRefusal::AlreadyAccepted));
                        }
                        if now.as_millis() >= expires_at {
                            return Ok(Err(InvitationRefusal::Expired));
                        }
                        // An owner stays owner; anyone else becomes staff.
                        sqlx::query(
                            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'staff', $3)
                             ON CONFLICT (org_id, user_id) DO NOTHING",
                        )
                        .bind(&org_id)
                        .bind(&user.id)
                        .bind(now.as_millis())
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query("DELETE FROM staff_event_scopes WHERE org_id = $1 AND user_id = $2")
                            .bind(&org_id)
                            .bind(&user.id)
                            .execute(&mut *tx)
                            .await?;
                        for ev in event_ids.split(',').filter(|e| !e.is_empty()) {
                            sqlx::query(
                                "INSERT INTO staff_event_scopes (org_id, user_id, event_id) VALUES ($1, $2, $3)
                                 ON CONFLICT DO NOTHING",
                            )
                            .bind(&org_id)
                            .bind(&user.id)
                            .bind(ev)
                            .execute(&mut *tx)
                            .await?;
                        }
                        let r = sqlx::query("UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL")
                            .bind(&id)
                            .bind(now.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        if r.rows_affected() != 1 {
                            return Ok(Err(InvitationRefusal::AlreadyAccepted));
                        }
                        let mut entry = audit.clone();
                        entry.org = Some($crate::domain::OrgId::from_string(org_id.clone()));
                        Self::audit_in(&mut tx, &entry).await?;
                        tx.commit().await?;
                        Ok(Ok($crate::domain::OrgId::from_string(org_id)))
                    })
                    .await
                })
            }

            fn add_member<'a>(
                &'a self,
                org: &'a $crate::domain::OrgId,
                user: &'a $crate::domain::UserId,
                role: &'a str,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query("INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
                            .bind(org.as_str())
                            .bind(user.as_str())
                            .bind(role)
                            .bind(now.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn search_accounts<'a>(
                &'a self,
                query: &'a str,
                limit: i64,
                offset: i64,
            ) -> $crate::store::BoxFuture<
                'a,
                $crate::store::StoreResult<$crate::store::Page<$crate::store::accounts::Account>>,
            > {
                Box::pin(async move {
                    // LIKE with escaped wildcards; emails are stored lower-cased.
                    let needle = format!(
                        "%{}%",
                        query.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
                    );
                    let mut tx = self.pool.begin().await?;
                    let items: Vec<$crate::store::accounts::Account> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::account_columns!(),
                        " FROM users WHERE email LIKE $1 ESCAPE '\\' OR LOWER(name) LIKE $1 ESCAPE '\\'
                         ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
                    ))
                    .bind(&needle)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&mut *tx)
                    .await?;
                    let (total,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM users WHERE email LIKE $1 ESCAPE '\\' OR LOWER(name) LIKE $1 ESCAPE '\\'",
                    )
                    .bind(&needle)
                    .fetch_one(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok($crate::store::Page { items, total })
                })
            }

            fn set_admin<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
                admin: bool,
                audit: $crate::store::security::NewAudit,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    let audit = &audit;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query("UPDATE users SET is_admin = $2 WHERE id = $1 AND deleted_at IS NULL")
                            .bind(user.as_str())
                            .bind(admin)
                            .execute(&mut *tx)
                            .await?;
                        if r.rows_affected() == 0 {
                            return Err($crate::store::StoreError::NotFound);
                        }
                        Self::audit_in(&mut tx, audit).await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn set_suspended<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
                suspended: bool,
                audit: $crate::store::security::NewAudit,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                let now = audit.at;
                Box::pin(async move {
                    let audit = &audit;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "UPDATE users SET suspended_at = $2, session_epoch = session_epoch + $3 WHERE id = $1",
                        )
                        .bind(user.as_str())
                        .bind(suspended.then_some(now.as_millis()))
                        .bind(i64::from(suspended))
                        .execute(&mut *tx)
                        .await?;
                        if r.rows_affected() == 0 {
                            return Err($crate::store::StoreError::NotFound);
                        }
                        if suspended {
                            Self::end_credentials_in(&mut tx, user).await?;
                        }
                        Self::audit_in(&mut tx, audit).await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn bump_session_epoch<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<i64>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let (epoch,): (i64,) = sqlx::query_as(
                            "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
                        )
                        .bind(user.as_str())
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or($crate::store::StoreError::NotFound)?;
                        Self::end_credentials_in(&mut tx, user).await?;
                        tx.commit().await?;
                        Ok(epoch)
                    })
                    .await
                })
            }

            fn events_of_org<'a>(
                &'a self,
                org: &'a $crate::domain::OrgId,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Vec<$crate::store::EventRecord>>> {
                Box::pin(async move {
                    Ok(sqlx::query_as(
                        "SELECT e.id, e.org_id, o.name AS org_name, e.slug, e.title, e.description, e.category, e.venue,
                                e.address, e.city, e.starts_at, e.ends_at, e.time_zone, e.currency, e.status
                         FROM events e JOIN organizations o ON o.id = e.org_id
                         WHERE e.org_id = $1 ORDER BY e.starts_at, e.id",
                    )
                    .bind(org.as_str())
                    .fetch_all(&self.pool)
                    .await?)
                })
            }

            fn session_load<'a>(
                &'a self,
                id: &'a str,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<String>>> {
                Box::pin(async move {
                    let row: Option<(String,)> =
                        sqlx::query_as("SELECT data FROM sessions WHERE id = $1 AND expires_at > $2")
                            .bind(id)
                            .bind(now.as_millis())
                            .fetch_optional(&self.pool)
                            .await?;
                    Ok(row.map(|(d,)| d))
                })
            }

            fn session_save<'a>(
                &'a self,
                id: &'a str,
                data: &'a str,
                user: Option<&'a str>,
                expires_at: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query(
                            "INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4)
                             ON CONFLICT (id) DO UPDATE SET data = $2, expires_at = $3, user_id = $4",
                        )
                        .bind(id)
                        .bind(data)
                        .bind(expires_at.as_millis())
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn session_create<'a>(
                &'a self,
                id: &'a str,
                data: &'a str,
                user: Option<&'a str>,
                expires_at: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<bool>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query(
                            "INSERT INTO sessions (id, data, expires_at, user_id) VALUES ($1, $2, $3, $4)
                             ON CONFLICT (id) DO NOTHING",
                        )
                        .bind(id)
                        .bind(data)
                        .bind(expires_at.as_millis())
                        .bind(user)
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        Ok(r.rows_affected() == 1)
                    })
                    .await
                })
            }

            fn session_delete<'a>(
                &'a self,
                id: &'a str,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<()>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(&mut *tx).await?;
                        tx.commit().await?;
                        Ok(())
                    })
                    .await
                })
            }

            fn purge_expired_sessions(
                &self,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'_, $crate::store::StoreResult<u64>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                            .bind(now.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        // Windows end within a day at the most generous settings.
                        sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
                            .bind(now.as_millis() - 86_400_000)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM refresh_tokens WHERE expires_at <= $1")
                            .bind(now.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("DELETE FROM password_resets WHERE expires_at <= $1")
                            .bind(now.as_millis())
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok(r.rows_affected())
                    })
                    .await
                })
            }

            fn set_password<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
                password_hash: &'a str,
                audit: $crate::store::security::NewAudit,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<$crate::store::accounts::Account>> {
                Box::pin(async move {
                    let audit = &audit;
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let account: $crate::store::accounts::Account = sqlx::query_as(concat!(
                            "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1
                             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
                            $crate::account_columns!()
                        ))
                        .bind(user.as_str())
                        .bind(password_hash)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or($crate::store::StoreError::NotFound)?;
                        Self::end_credentials_in(&mut tx, user).await?;
                        // A new password makes outstanding reset links moot.
                        sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
                            .bind(user.as_str())
                            .execute(&mut *tx)
                            .await?;
                        Self::audit_in(&mut tx, audit).await?;
                        tx.commit().await?;
                        Ok(account)
                    })
                    .await
                })
            }

            fn update_profile<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
                profile: &'a $crate::store::accounts::ProfileUpdate,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<$crate::store::accounts::Account>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let account: $crate::store::accounts::Account = sqlx::query_as(concat!(
                            "UPDATE users SET name = $2, phone = $3, locale = $4
                             WHERE id = $1 AND deleted_at IS NULL RETURNING ",
                            $crate::account_columns!()
                        ))
                        .bind(user.as_str())
                        .bind(&profile.name)
                        .bind(&profile.phone)
                        .bind(&profile.locale)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or($crate::store::StoreError::NotFound)?;
                        tx.commit().await?;
                        Ok(account)
                    })
                    .await
                })
            }

            fn set_photo<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
                key: Option<&'a str>,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<String>>> {
                Box::pin(async move {
                    self.with_retry(|| async move {
                        let mut tx = self.begin_write().await?;
                        let old: Option<(Option<String>,)> =
                            sqlx::query_as("SELECT photo_key FROM users WHERE id = $1 AND deleted_at IS NULL")
                                .bind(user.as_str())
                                .fetch_optional(&mut *tx)
                                .await?;
                        let Some((old,)) = old else {
                            return Err($crate::store::StoreError::NotFound);
                        };
                        sqlx::query("UPDATE users SET photo_key = $2 WHERE id = $1")
                            .bind(user.as_str())
                            .bind(key)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                        Ok(old)
                    })
                    .await
                })
            }

            fn delete_account<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
                audit: $crate::store::security::NewAudit,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<Option<String>>> {
                Box::pin(async move {
                    let audit = &audit;
                    self.with_retry(|| async move {
                        let now = audit.at.as_millis();
                        let mut tx = self.begin_write().await?;
                        let row: Option<(String, Option<String>)> =
                            sqlx::query_as("SELECT email, photo_key FROM users WHERE id = $1 AND deleted_at IS NULL")
                                .bind(user.as_str())
                                .fetch_optional(&mut *tx)
                                .await?;
                        let Some((email, photo_key)) = row else {
                            return Err($crate::store::StoreError::NotFound);
                        };
                        // Tickets the person bought for themselves carry their
                        // name and address: those go. Tickets for others stay.
                        sqlx::query(
                            "UPDATE order_items SET attendee_name = 'Deleted account', attendee_email = NULL
                             WHERE order_id IN (SELECT id FROM orders WHERE user_id = $1) AND attendee_email = $2",
                        )
                        .bind(user.as_str())
                        .bind(&email)
                        .execute(&mut *tx)
                        .await?;
                        // The row stays for the orders that point at it; what
                        // identified the person does not. The email must stay
                        // unique, so it becomes one nobody can receive.
                        sqlx::query(
                            "UPDATE users SET email = $2, name = 'Deleted account', password_hash = NULL, phone = NULL,
                                              photo_key = NULL, is_admin = FALSE, email_verified_at = NULL,
                                              session_epoch = session_epoch + 1, deleted_at = $3
                             WHERE id = $1",
                        )
                        .bind(user.as_str())
                        .bind(format!("deleted-{}@deleted.invalid", user.as_str()))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        for sql in [
                            "DELETE FROM email_codes WHERE user_id = $1",
                            "DELETE FROM password_resets WHERE user_id = $1",
                            "DELETE FROM oauth_identities WHERE user_id = $1",
                            "DELETE FROM memberships WHERE user_id = $1",
                            "UPDATE audit_log SET ip = NULL WHERE actor_id = $1 OR subject_id = $1",
                        ] {
                            sqlx::query(sql).bind(user.as_str()).execute(&mut *tx).await?;
                        }
                        // Their sessions' records name them: gone at once.
                        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                            .bind(user.as_str())
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE created_by = $1 AND revoked_at IS NULL")
                            .bind(user.as_str())
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        Self::end_credentials_in(&mut tx, user).await?;
                        Self::audit_in(&mut tx, audit).await?;
                        tx.commit().await?;
                        Ok(photo_key)
                    })
                    .await
                })
            }

            fn session_count<'a>(
                &'a self,
                user: &'a $crate::domain::UserId,
                now: $crate::domain::Timestamp,
            ) -> $crate::store::BoxFuture<'a, $crate::store::StoreResult<i64>> {
                Box::pin(async move {
                    let (n,): (i64,) =
                        sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expires_at > $2")
                            .bind(user.as_str())
                            .bind(now.as_millis())
                            .fetch_one(&self.pool)
                            .await?;
                    Ok(n)
                })
            }
        }

        impl $store {
            /// Ends every session and API refresh token of a user, inside
            /// the caller's transaction. The caller bumps the epoch, which is
            /// what ends the sessions: their records are only detached from
            /// the user here (no longer counted as theirs) and go away at
            /// their next request.
            async fn end_credentials_in(
                tx: &mut sqlx::Transaction<'static, Db>,
                user: &$crate::domain::UserId,
            ) -> Result<(), sqlx::Error> {
                sqlx::query("UPDATE sessions SET user_id = NULL WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(&mut **tx)
                    .await?;
                sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1")
                    .bind(user.as_str())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
        }
    };
}
