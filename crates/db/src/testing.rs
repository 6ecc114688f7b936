//! A uniquely named database per test, migrated on creation and dropped afterwards.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::Db;

/// Server URL used to create test databases; override with `SKLAD_TEST_DATABASE_URL`
/// (any database on the server; its name is replaced).
pub fn server_url() -> String {
    std::env::var("SKLAD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url)?;
    parsed.set_path(&format!("/{database}"));
    Ok(parsed.into())
}

/// A migrated database that exists for the life of this value.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub db: Db,
    admin_url: String,
}

impl TestDatabase {
    /// Creates `sklad_t_<random>` and applies every migration.
    pub async fn create() -> anyhow::Result<Self> {
        let database = Self::create_empty().await?;
        crate::migrate::run(&database.url).await?;
        Ok(database)
    }

    /// Creates `sklad_t_<random>` with no tables (for migration tests).
    pub async fn create_empty() -> anyhow::Result<Self> {
        let admin_url = with_database(&server_url(), "postgres")?;
        let name = format!("sklad_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&admin_url).await?;
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        // A test database need not survive a power cut: skipping the WAL flush at commit
        // makes tests several times faster and changes nothing they can observe.
        diesel::sql_query(format!(
            "ALTER DATABASE {name} SET synchronous_commit = off"
        ))
        .execute(&mut admin)
        .await?;
        let url = with_database(&admin_url, &name)?;
        let db = Db::from_url(&url, 4, Duration::from_secs(10))?;
        Ok(Self {
            name,
            url,
            db,
            admin_url,
        })
    }
}

impl TestDatabase {
    /// Sets a server parameter for every later connection to this database (e.g.
    /// `lc_messages`, so PostgreSQL answers in another language).
    pub async fn set(&self, parameter: &str, value: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            parameter
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'),
            "not a parameter name: {parameter}"
        );
        let mut admin = AsyncPgConnection::establish(&self.admin_url).await?;
        let value = value.replace('\'', "''");
        diesel::sql_query(format!(
            "ALTER DATABASE {} SET {parameter} = '{value}'",
            self.name
        ))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop may run inside or outside a runtime; a fresh thread with its own runtime works
        // in both cases and finishes before the test process exits.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let mut admin = AsyncPgConnection::establish(&admin_url).await?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: test database {} was not dropped", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name_and_keeps_the_query() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres", "x").unwrap(),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x").unwrap(),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
