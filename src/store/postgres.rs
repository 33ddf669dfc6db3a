//! The PostgreSQL backend, for scale-out: many stateless app replicas share
//! one database. READ COMMITTED with conditional updates; jobs are claimed
//! with `FOR UPDATE SKIP LOCKED` so workers on several nodes never collide.

use std::str::FromStr;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::StoreOptions;

type Db = sqlx::Postgres;

/// The PostgreSQL implementation of [`super::Store`].
pub struct PgStore {
    pool: sqlx::PgPool,
    /// The admitters' own connections (see [`StoreOptions::admission_connections`]).
    admission_pool: sqlx::PgPool,
    #[allow(dead_code)]
    opts: StoreOptions,
}

impl PgStore {
    const BACKEND: &'static str = "postgres";

    /// Appended to a read of rows a transaction is about to change, so that
    /// concurrent writers (other app instances) queue behind it.
    const LOCK_ROW: &'static str = " FOR UPDATE";

    /// Bounded retries of serialization failures and deadlocks. Generous
    /// because under REPEATABLE READ every buyer who loses the race for a hot
    /// quota row is refused once per winner; the short jittered pauses keep
    /// the worst case to a few seconds.
    const MAX_RETRIES: u32 = 40;

    const CLAIM_SQL: &'static str = "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $2, updated_at = $1
         WHERE id = (SELECT id FROM jobs
                     WHERE (status = 'queued' AND run_at <= $1) OR (status = 'running' AND locked_until <= $1)
                     ORDER BY run_at, id LIMIT 1
                     FOR UPDATE SKIP LOCKED)
         RETURNING id, kind, payload, attempts, max_attempts";

    /// Connects and runs migrations.
    pub async fn open(url: &str, opts: StoreOptions) -> anyhow::Result<Self> {
        let connect =
            PgConnectOptions::from_str(url).context("while parsing the PostgreSQL URL")?;
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect_with(connect.clone())
            .await
            .context("while connecting to PostgreSQL")?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .context("while running PostgreSQL migrations")?;
        // Lazy: an instance that never sees a batch opens none of them.
        //
        // Custom plans only: a batch's statements are prepared, and a
        // prepared statement's generic plan, made while a sale's first
        // batches find `orders` nearly empty (and before autovacuum has
        // analyzed it), scanned every open hold to find a few buyers' ones:
        // 64 ms a batch once 20,000 holds were open. Planning each
        // statement afresh costs well under a millisecond per batch.
        let admission_pool = PgPoolOptions::new()
            .max_connections(opts.admission_connections.max(1))
            .acquire_timeout(std::time::Duration::from_secs(30))
            .connect_lazy_with(connect.options([("plan_cache_mode", "force_custom_plan")]));
        Ok(Self {
            pool,
            admission_pool,
            opts,
        })
    }

    /// The pool, for tests that check invariants with raw SQL.
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// tsquery: every word, the last one as a prefix (`:*`).
    fn fts_query(terms: &[String]) -> String {
        let n = terms.len();
        terms
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i + 1 == n {
                    format!("{t}:*")
                } else {
                    t.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }

    fn fts_condition(param: usize) -> String {
        format!("to_tsvector('simple', e.search_text) @@ to_tsquery('simple', ${param})")
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
        self.begin_write_on(&self.pool).await
    }

    /// A write transaction on `pool` (the shared pool or the admission one).
    async fn begin_write_on(
        &self,
        pool: &sqlx::Pool<Db>,
    ) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
        #[allow(unused_mut)]
        let mut tx = pool.begin().await?;
        #[cfg(feature = "test-hooks")]
        if self.opts.repeatable_read {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// serialization_failure (40001) and deadlock_detected (40P01).
    fn is_transient(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(db) => {
                matches!(db.code().as_deref(), Some("40001") | Some("40P01"))
            }
            _ => false,
        }
    }
}

impl_store!(PgStore);
impl_account_store!(PgStore);
impl_catalogue_store!(PgStore);
impl_order_store!(PgStore);
impl_payment_store!(PgStore);
impl_ticket_store!(PgStore);
impl_security_store!(PgStore);
