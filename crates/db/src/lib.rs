//! sklad's PostgreSQL layer: schema, migrations, pool and repositories.
//!
//! Every repository function takes the account it works for and filters by it; nothing here
//! reads across accounts except the token lookups that *find* an account.

pub mod accounts;
pub mod boms;
pub mod budget;
pub mod console_sessions;
pub mod counts;
pub mod crypto;
pub mod fetches;
pub mod inbox;
pub mod integrations;
pub mod migrate;
pub mod order_stock;
pub mod orders;
pub mod outbox;
pub mod parked;
pub mod pool;
pub mod product_imports;
pub mod production;
pub mod products;
pub mod push_log;
pub mod push_waiting;
pub mod retention;
pub mod schema;
mod sqlstate;
pub mod stock;
pub mod stock_sync;
pub mod sync_jobs;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token_acks;
pub mod warehouses;
pub mod webhook_tokens;

pub use crypto::SecretBox;
pub use pool::{Conn, Db};

/// Errors at the database boundary.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had (database down, pool exhausted).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
}

impl DbError {
    /// True when the row asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, DbError::Query(diesel::result::Error::NotFound))
    }

    /// True when a unique constraint refused the write (a duplicate name or SKU).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }

    /// The SQLSTATE PostgreSQL answered with, if the statement reached it. Errors are told
    /// apart by this code, never by their message: a server whose `lc_messages` is not
    /// English words every message differently.
    pub fn sqlstate(&self) -> Option<diesel::result::SqlState> {
        match self {
            DbError::Query(diesel::result::Error::DatabaseError(_, info)) => info.sqlstate(),
            _ => None,
        }
    }

    /// True when the database itself failed (down, unreachable, a connection lost or shut
    /// down, out of connections or disk, read-only during a fail-over), not the statement:
    /// the same work may succeed later, and must not count against the message or order
    /// that was being handled.
    pub fn is_infra(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            DbError::Unavailable(_) => true,
            DbError::Query(Error::BrokenTransactionManager) => true,
            DbError::Query(Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => true,
            DbError::Query(Error::DatabaseError(kind, info)) => match info.sqlstate() {
                Some(code) => sqlstate::is_infra(code.as_str()),
                // No SQLSTATE: the driver's own (English) words say what happened.
                None => {
                    matches!(kind, DatabaseErrorKind::UnableToSendCommand)
                        && sqlstate::is_driver_connection_error(info.message())
                }
            },
            _ => false,
        }
    }

    /// True when a value did not fit its column (a numeric overflow, text too long, a byte
    /// sequence the encoding refuses): SQLSTATE class 22, the input's fault, answered as such.
    pub fn is_out_of_range(&self) -> bool {
        self.sqlstate()
            .is_some_and(|code| sqlstate::is_data_exception(code.as_str()))
    }

    /// True when the named constraint (or unique index) refused the write; lets callers turn
    /// a race the database settled into the answer the winner got.
    pub fn violates(&self, constraint: &str) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(_, info))
                if info.constraint_name() == Some(constraint)
        )
    }

    /// True when a foreign key refused the write (it names something that does not exist).
    pub fn is_foreign_key_violation(&self) -> bool {
        matches!(
            self,
            DbError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _
            ))
        )
    }
}

/// Result alias for repository calls.
pub type DbResult<T> = Result<T, DbError>;
