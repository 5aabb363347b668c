//! How the store reaches its database: the two backends (SQLite, the
//! zero-setup default, and PostgreSQL), their connection URLs, pool settings
//! and migration sets, and the small seams that let one set of SQL statements
//! run on both ([`on_pool!`] and [`Columns`]). No SQL of the domain lives here.
//!
//! Each backend keeps its own sqlx pool type (an enum of pools rather than
//! sqlx's `Any` driver): the SQLite path stays exactly the typed path it was,
//! with its connect options (WAL, busy timeout) set in code, and `Any`'s
//! SQLite mapping rejects `BOOLEAN` columns (sqlx issue #2778).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::Row;

use crate::StoreError;

/// Schema migrations for SQLite (`migrations/sqlite`). The files of versions
/// 1-4 are byte-identical to the ones released before PostgreSQL support:
/// sqlx stores each applied migration's checksum and refuses a database whose
/// history does not match.
pub(crate) static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Schema migrations for PostgreSQL (`migrations/postgres`): the same
/// versions and logical schema as SQLite's.
pub(crate) static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a SQLite statement waits for a lock held by another connection
/// (or process) before failing with "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections of a file-backed SQLite pool. WAL lets readers run beside the
/// one writer; more connections would only queue on the write lock.
const SQLITE_MAX_CONNECTIONS: u32 = 4;

/// Connections of a PostgreSQL pool: the engine's store writer, API reads
/// and event replay; PostgreSQL runs writers concurrently.
const POSTGRES_MAX_CONNECTIONS: u32 = 8;

/// How long an operation waits for a free pooled connection (or for
/// PostgreSQL to accept a new one) before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database a [`Store`](crate::Store) runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite: a file in the data directory (or memory, for tests).
    Sqlite,
    /// PostgreSQL, reached by a `postgres://` URL.
    Postgres,
}

/// The pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Pool {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// Evaluates `$body` with `$pool` bound to the store's pool, whichever
/// backend it is. The body is compiled once per backend, so it must use only
/// SQL and Rust types both accept (`$N` placeholders, `i64`, `bool`, text).
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::backend::Pool::Sqlite($pool) => $body,
            $crate::backend::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Typed column access shared by both backends' rows, so the row decoders
/// are written once (`fn decode<R: Columns>(row: &R)`).
pub(crate) trait Columns {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
}

macro_rules! impl_columns {
    ($row:ty) => {
        impl Columns for $row {
            fn text(&self, column: &str) -> Result<String, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
            fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
            fn flag(&self, column: &str) -> Result<bool, sqlx::Error> {
                self.try_get(column)
            }
        }
    };
}
impl_columns!(SqliteRow);
impl_columns!(PgRow);

/// What a database URL names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A SQLite database file.
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database.
    SqliteMemory,
    /// A PostgreSQL database (the URL as given).
    Postgres,
}

/// Classifies `url`. Errors never repeat the URL: it may hold a password.
pub(crate) fn parse_url(url: &str) -> Result<Target, StoreError> {
    let invalid = |reason| StoreError::InvalidUrl { reason };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres);
    }
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Err(invalid(
            "expected sqlite:PATH, postgres://... or postgresql://...",
        ));
    };
    // `sqlite://PATH` and `sqlite:PATH` name the same file; the path is taken
    // literally (no percent-decoding), so it cannot carry query parameters.
    let path = rest.strip_prefix("//").unwrap_or(rest);
    if path.contains('?') {
        return Err(invalid(
            "sqlite: URLs take no query parameters (the store sets its own options)",
        ));
    }
    match path {
        "" => Err(invalid("sqlite: URL without a file path")),
        ":memory:" => Ok(Target::SqliteMemory),
        _ => Ok(Target::SqliteFile(PathBuf::from(path))),
    }
}

/// Opens (creating if missing) the SQLite database file `path`, creating its
/// parent directory, and applies the migrations.
pub(crate) async fn open_sqlite_file(path: &Path) -> Result<Pool, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_dir(dir).await?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable across application crashes in WAL mode; only
        // an OS crash can lose the last transactions.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(SQLITE_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    let pool = migrate(Pool::Sqlite(pool)).await?;
    tracing::info!(backend = "sqlite", path = %path.display(), "store opened");
    Ok(pool)
}

/// Opens a fresh, private in-memory SQLite database with the schema applied.
pub(crate) async fn open_sqlite_memory() -> Result<Pool, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite::memory:")?
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true);
    // An in-memory database lives as long as its connection: keep exactly
    // one, forever.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await?;
    migrate(Pool::Sqlite(pool)).await
}

/// Connects to the PostgreSQL database of `url` (any form libpq-style URLs
/// take: user, password, host, port, database, `sslmode`, `host=/socket/dir`)
/// and applies the migrations.
pub(crate) async fn open_postgres(url: &str) -> Result<Pool, StoreError> {
    let options = PgConnectOptions::from_str(url)?.application_name("callwire");
    let (host, port) = (options.get_host().to_owned(), options.get_port());
    let database = options.get_database().unwrap_or("").to_owned();
    let pool = PgPoolOptions::new()
        .max_connections(POSTGRES_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await?;
    let pool = migrate(Pool::Postgres(pool)).await?;
    // Host, port and database only: the URL may carry a password.
    tracing::info!(backend = "postgres", %host, port, %database, "store opened");
    Ok(pool)
}

async fn migrate(pool: Pool) -> Result<Pool, StoreError> {
    let result = match &pool {
        Pool::Sqlite(p) => SQLITE_MIGRATOR.run(p).await,
        Pool::Postgres(p) => POSTGRES_MIGRATOR.run(p).await,
    };
    if let Err(err) = result {
        pool.close().await;
        return Err(err.into());
    }
    Ok(pool)
}

pub(crate) async fn create_dir(dir: &Path) -> Result<(), StoreError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|source| StoreError::Io {
            path: dir.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_classified_without_echoing_them() {
        assert_eq!(
            parse_url("sqlite:///var/lib/callwire/c.db").unwrap(),
            Target::SqliteFile("/var/lib/callwire/c.db".into())
        );
        assert_eq!(
            parse_url("sqlite:data/c.db").unwrap(),
            Target::SqliteFile("data/c.db".into())
        );
        assert_eq!(
            parse_url("sqlite://c#1.db").unwrap(),
            Target::SqliteFile("c#1.db".into())
        );
        assert_eq!(parse_url("sqlite::memory:").unwrap(), Target::SqliteMemory);
        assert_eq!(
            parse_url("postgres://u:secret@db.example/callwire").unwrap(),
            Target::Postgres
        );
        assert_eq!(
            parse_url("postgresql:///callwire?host=/run/postgresql").unwrap(),
            Target::Postgres
        );
        for bad in [
            "mysql://u:secret@h/db",
            "secret",
            "sqlite:",
            "sqlite://",
            "sqlite:c.db?mode=ro",
        ] {
            let err = parse_url(bad).unwrap_err();
            assert!(matches!(err, StoreError::InvalidUrl { .. }), "{bad}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }

    /// Both directories hold the same migrations: a version added to one
    /// backend only would leave the other behind.
    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |m: &Migrator| {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect::<Vec<_>>()
        };
        let sqlite = names(&SQLITE_MIGRATOR);
        assert!(sqlite.len() >= 4, "{sqlite:?}");
        assert_eq!(sqlite, names(&POSTGRES_MIGRATOR));
        let versions: Vec<i64> = sqlite.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>());
    }

    /// The SQLite files of versions 1-4 are the ones released before
    /// PostgreSQL support, byte for byte: databases created then record these
    /// checksums (the fixture test in tests/upgrade.rs opens such a database).
    #[test]
    fn released_sqlite_migrations_are_unchanged() {
        let released: [(i64, &str); 4] = [
            (1, "5593d79b0fce037d7d152bbd63884b6335679c14a406c696d94eefc4224bd5020c847e9f6f17379ef024c71288477acb"),
            (2, "ab3f751033ba0a03806a8671590d0f1635e501a1c158930e3ad034a5ff20f5b2c0f3ea02d75182df712a95aba0654f6d"),
            (3, "089c809b1fb2bb9e307f2c346bbbe20572bb3c8beca1c1d8614385f9c5ac4a8ceeefdabd3b5f73c5e904abf6ef942c88"),
            (4, "64f741eeb55ee3f50bfe9b058e63a4a511c354b22053ec12f075a32a3d612544095c4985b2cca87c00f25e52f3110423"),
        ];
        for (version, checksum) in released {
            let m = SQLITE_MIGRATOR
                .iter()
                .find(|m| m.version == version)
                .unwrap();
            let hex: String = m.checksum.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, checksum, "migration {version}");
        }
    }
}
