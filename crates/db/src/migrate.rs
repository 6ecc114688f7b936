//! Embedded migrations, applied once under a PostgreSQL advisory lock so that several
//! processes starting together do not race.

use diesel::RunQueryDsl;
use diesel::connection::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations compiled into every binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Arbitrary but fixed: the advisory lock every sklad process takes to migrate.
const MIGRATION_LOCK: i64 = 0x736b_6c61_645f_6d67; // "sklad_mg"

/// Applies pending migrations; returns the versions applied by this call.
pub async fn run(database_url: &str) -> anyhow::Result<Vec<String>> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)?;
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .execute(&mut conn)?;
        let outcome = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .execute(&mut conn)?;
        outcome
    })
    .await?
}
