//! The store's error type. Messages name tables, columns and ids, never
//! column values, so secrets such as account passwords cannot leak through
//! them.

use std::path::PathBuf;

/// An error from a [`Store`](crate::Store) operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The addressed row does not exist.
    #[error("{entity} `{id}` not found")]
    NotFound {
        /// Kind of row, e.g. `"account"`.
        entity: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// A row with this id already exists.
    #[error("{entity} `{id}` already exists")]
    Conflict {
        /// Kind of row, e.g. `"account"`.
        entity: &'static str,
        /// The id that collided.
        id: String,
    },
    /// A stored value could not be turned back into its Rust type
    /// (e.g. a negative `expires`, an unparsable timestamp).
    #[error("invalid stored value in {table}.{column}")]
    Corrupt {
        /// Table holding the value.
        table: &'static str,
        /// Column holding the value.
        column: &'static str,
    },
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the embedded schema migrations failed.
    #[error("schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database URL is not one the store understands. The URL itself is
    /// not repeated (it may hold a password).
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Creating the data directory failed.
    #[error("cannot create data directory {}: {source}", path.display())]
    Io {
        /// The directory that could not be created.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}
