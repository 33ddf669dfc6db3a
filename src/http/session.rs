//! Sessions: tower-sessions with a database-backed store on both backends.
//! The cookie carries only a random id; the record lives in `sessions`.

use std::sync::Arc;

use tower_sessions::{
    Expiry, SessionManagerLayer,
    cookie::SameSite,
    session::{Id, Record},
    session_store::{self, SessionStore},
};

use crate::{clock::SystemClock, config::Settings, domain::Timestamp, store::Store};

/// Sessions last this long without activity.
pub const IDLE_DAYS: i64 = 14;

/// A tower-sessions store over admit's own [`Store`].
#[derive(Clone)]
pub struct DbSessionStore {
    store: Arc<dyn Store>,
    clock: Arc<SystemClock>,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

impl DbSessionStore {
    /// Wraps the store.
    pub fn new(store: Arc<dyn Store>, clock: Arc<SystemClock>) -> Self {
        Self { store, clock }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// The signed-in user a record belongs to (see `identity::sign_in`), kept
/// in its own column so a person's sessions can be counted and ended.
fn user_of(record: &Record) -> Option<String> {
    record
        .data
        .get(super::identity::AUTH_KEY)?
        .get("user_id")?
        .as_str()
        .map(str::to_owned)
}

fn expiry_ms(record: &Record) -> Timestamp {
    Timestamp::from_millis((record.expiry_date.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        // A fresh id on the (astronomically unlikely) collision.
        let user = user_of(record);
        while !self
            .store
            .session_create(
                &record.id.to_string(),
                &data,
                user.as_deref(),
                expiry_ms(record),
            )
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data).map_err(backend)?;
        let user = user_of(record);
        self.store
            .session_save(
                &record.id.to_string(),
                &data,
                user.as_deref(),
                expiry_ms(record),
            )
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = crate::clock::Clock::now(&*self.clock);
        let Some(data) = self
            .store
            .session_load(&id.to_string(), now)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&data).map_err(backend)?;
        // The expiry is re-set on every save; here it only needs to be in the future.
        let expiry_date = time::OffsetDateTime::now_utc() + time::Duration::days(IDLE_DAYS);
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store
            .session_delete(&id.to_string())
            .await
            .map_err(backend)
    }
}

/// The cookie name: `__Host-` prefixed whenever the site is served over https.
pub fn cookie_name(settings: &Settings) -> &'static str {
    if settings.is_secure() {
        "__Host-admit_session"
    } else {
        "admit_session"
    }
}

/// The session layer: HttpOnly, SameSite=Lax, Secure and `__Host-` when the
/// public URL is https, path `/`, no domain.
pub fn layer(store: DbSessionStore, settings: &Settings) -> SessionManagerLayer<DbSessionStore> {
    SessionManagerLayer::new(store)
        .with_name(cookie_name(settings))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.is_secure())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::days(IDLE_DAYS)))
}
