//! The connection pool (diesel-async over tokio-postgres; no libpq needed).

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use futures::future::BoxFuture;
use secrecy::ExposeSecret;
use sklad_runtime::health::ReadinessCheck;
use sklad_runtime::settings::DatabaseSettings;

use crate::{DbError, DbResult};

/// A pooled connection.
pub type Conn = Object<AsyncPgConnection>;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<AsyncPgConnection>,
    url: secrecy::SecretString,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("status", &self.pool.status())
            .finish()
    }
}

impl Db {
    /// Builds the pool. Connections open lazily, so this succeeds while the database is down;
    /// readiness reports it.
    pub fn new(settings: &DatabaseSettings) -> DbResult<Self> {
        Self::from_url(
            settings.url.expose_secret(),
            settings.pool_size,
            settings.acquire_timeout,
        )
    }

    /// Builds a pool for an explicit URL (tests, CLI).
    pub fn from_url(url: &str, size: usize, acquire_timeout: Duration) -> DbResult<Self> {
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
        let pool = Pool::builder(manager)
            .max_size(size.max(1))
            .wait_timeout(Some(acquire_timeout))
            .create_timeout(Some(acquire_timeout))
            .recycle_timeout(Some(acquire_timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        Ok(Self {
            pool,
            url: secrecy::SecretString::from(url.to_owned()),
        })
    }

    /// A connection of its own, outside the pool: for what must hold a connection for long
    /// (a listener) or must end with it (a session lock is released when it closes, however
    /// its holder ends).
    pub async fn dedicated(&self) -> DbResult<AsyncPgConnection> {
        use diesel_async::AsyncConnection;
        AsyncPgConnection::establish(self.url.expose_secret())
            .await
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// A dedicated connection that `LISTEN`s on `channel`; read its `notifications_stream()`.
    pub async fn listen(&self, channel: &str) -> DbResult<AsyncPgConnection> {
        let mut conn = self.dedicated().await?;
        diesel::sql_query(format!("LISTEN {channel}"))
            .execute(&mut conn)
            .await?;
        Ok(conn)
    }

    /// Takes a connection from the pool.
    pub async fn conn(&self) -> DbResult<Conn> {
        self.pool
            .get()
            .await
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// Runs `SELECT 1` on a pooled connection.
    pub async fn ping(&self) -> DbResult<()> {
        let mut conn = self.conn().await?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await?;
        Ok(())
    }
}

impl ReadinessCheck for Db {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.ping().await.map_err(|e| e.to_string()) })
    }
}
