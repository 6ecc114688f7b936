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
pub mod pool;
pub mod product_imports;
pub mod production;
pub mod products;
pub mod push_log;
pub mod push_waiting;
pub mod retention;
pub mod schema;
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

    /// True when the database itself failed (down, unreachable, a connection lost or shut
    /// down), not the statement: the same work may succeed later, and must not count
    /// against the message or order that was being handled.
    pub fn is_infra(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            DbError::Unavailable(_) => true,
            DbError::Query(Error::BrokenTransactionManager) => true,
            DbError::Query(Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => true,
            DbError::Query(Error::DatabaseError(_, info)) => {
                let message = info.message();
                message.contains("terminating connection")
                    || message.contains("connection closed")
                    || message.contains("the database system is")
            }
            _ => false,
        }
    }

    /// True when a value did not fit its column (a numeric overflow, text too long): the
    /// input's fault, answered as such.
    pub fn is_out_of_range(&self) -> bool {
        match self {
            DbError::Query(diesel::result::Error::DatabaseError(_, info)) => {
                let message = info.message();
                message.contains("out of range")
                    || message.contains("overflow")
                    || message.contains("value too long")
                    || message.contains("invalid byte sequence")
                    || message.contains("unsupported Unicode escape")
            }
            _ => false,
        }
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
