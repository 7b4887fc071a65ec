//! Dedup, audit and checkpoint stores: in-memory (tests, quick starts), SQLite (the embedded
//! default), PostgreSQL and Redis (several workers sharing one state).
//!
//! Every backend passes the same conformance suite (`tests/store_conformance.rs`), so the lease
//! semantics documented on [`DedupStore`] hold everywhere:
//!
//! * the first claim of a job is `Claimed` with `attempt == 1`;
//! * while that lease is live, every other claim is `Busy { until }`;
//! * after the lease lapses or is released, the next claim is `Claimed` with `attempt > 1` (the
//!   pipeline then asks the ERP with `find` before posting);
//! * `complete` is permanent: every later claim answers `Done(receipt)`;
//! * `complete` with a token that is no longer current fails, unless the job is already done.
//!
//! Pick a backend by URL with [`connect`]:
//!
//! | URL | backend | parts |
//! |---|---|---|
//! | `memory://` | this process only | dedup, audit, checkpoints |
//! | `sqlite://path/to/file.db`, `sqlite:///abs/path.db`, `sqlite::memory:` | [`SqliteStore`] | dedup, audit, checkpoints |
//! | `postgres://user@host:5432/db?schema=name` | [`PostgresStore`] (feature `postgres`) | dedup, audit, checkpoints |
//! | `redis://host:6379/0?prefix=name` | [`RedisStore`] (feature `redis`) | dedup, checkpoints |

mod codec;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;
use std::sync::Arc;

pub use memory::{MemoryAuditSink, MemoryCheckpointStore, MemoryDedupStore};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresConfig, PostgresStore};
#[cfg(feature = "redis")]
pub use redis::{RedisConfig, RedisStore};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::core::{AuditSink, CheckpointStore, DedupStore};
use crate::error::{Error, Result};

/// The store parts a pipeline needs, as opened by [`connect`].
#[derive(Clone)]
pub struct Stores {
    /// Dedup claims.
    pub dedup: Arc<dyn DedupStore>,
    /// The audit trail and dead letters; `None` for backends without one (Redis): take it from
    /// another URL with [`Stores::with_audit`].
    pub audit: Option<Arc<dyn AuditSink>>,
    /// Checkpoints.
    pub checkpoints: Arc<dyn CheckpointStore>,
    /// Which backend (`memory`, `sqlite`, `postgres`, `redis`).
    pub backend: &'static str,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores")
            .field("backend", &self.backend)
            .field("audit", &self.audit.is_some())
            .finish_non_exhaustive()
    }
}

impl Stores {
    /// All three parts from one value implementing every store trait.
    pub fn from_one<S>(backend: &'static str, store: Arc<S>) -> Self
    where
        S: DedupStore + AuditSink + CheckpointStore + 'static,
    {
        Self {
            dedup: store.clone(),
            audit: Some(store.clone()),
            checkpoints: store,
            backend,
        }
    }

    /// Fresh in-memory stores (one process, nothing persisted).
    pub fn memory() -> Self {
        Self {
            dedup: Arc::new(MemoryDedupStore::new()),
            audit: Some(Arc::new(MemoryAuditSink::new())),
            checkpoints: Arc::new(MemoryCheckpointStore::new()),
            backend: "memory",
        }
    }

    /// Replaces (or supplies) the audit sink, e.g. PostgreSQL audit next to Redis dedup.
    #[must_use]
    pub fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The audit sink, or a configuration error naming the fix.
    ///
    /// # Errors
    /// [`Error::Config`] when this backend has no audit trail and none was supplied.
    pub fn require_audit(&self) -> Result<Arc<dyn AuditSink>> {
        self.audit.clone().ok_or_else(|| {
            Error::config(
                "store.audit_url",
                format!(
                    "the {} store keeps no audit trail; connect an audit store too (sqlite:// or postgres://) and add it with Stores::with_audit",
                    self.backend
                ),
            )
        })
    }
}

/// Opens the stores named by `url` (see the [module docs](self) for the forms).
///
/// # Errors
/// [`Error::Config`] for an unknown scheme or a backend whose feature is off; the backend's
/// connection error otherwise.
pub async fn connect(url: &str) -> Result<Stores> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "memory" => Ok(Stores::memory()),
        "sqlite" => connect_sqlite(url),
        "postgres" | "postgresql" => connect_postgres(url).await,
        "redis" | "rediss" => connect_redis(url).await,
        _ => Err(Error::config(
            "store.url",
            format!(
                "unknown store URL scheme `{scheme}:`; use memory://, sqlite://path, postgres://… or redis://…"
            ),
        )),
    }
}

/// The file path of a `sqlite:` URL (`None` for an in-memory database).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
fn sqlite_path(url: &str) -> Result<Option<String>> {
    let rest = url
        .strip_prefix("sqlite:")
        .ok_or_else(|| Error::config("store.url", "a SQLite URL starts with sqlite:"))?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let rest = rest.split('?').next().unwrap_or_default();
    if rest.is_empty() {
        return Err(Error::config(
            "store.url",
            "the SQLite URL names no file: use sqlite://relative/path.db, sqlite:///absolute/path.db or sqlite::memory:",
        ));
    }
    if rest == ":memory:" {
        return Ok(None);
    }
    let decoded = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .map_err(|_| Error::config("store.url", "the SQLite path is not valid UTF-8"))?;
    Ok(Some(decoded.into_owned()))
}

#[cfg(feature = "sqlite")]
fn connect_sqlite(url: &str) -> Result<Stores> {
    let store = match sqlite_path(url)? {
        Some(path) => SqliteStore::open(path)?,
        None => SqliteStore::open_in_memory()?,
    };
    Ok(Stores::from_one("sqlite", Arc::new(store)))
}

#[cfg(not(feature = "sqlite"))]
fn connect_sqlite(_url: &str) -> Result<Stores> {
    Err(Error::config(
        "store.url",
        "sqlite:// needs the crate feature `sqlite`",
    ))
}

#[cfg(feature = "postgres")]
async fn connect_postgres(url: &str) -> Result<Stores> {
    let store = PostgresStore::connect(PostgresConfig::from_url(url)?).await?;
    Ok(Stores::from_one("postgres", Arc::new(store)))
}

#[cfg(not(feature = "postgres"))]
async fn connect_postgres(_url: &str) -> Result<Stores> {
    Err(Error::config(
        "store.url",
        "postgres:// needs the crate feature `postgres`",
    ))
}

#[cfg(feature = "redis")]
async fn connect_redis(url: &str) -> Result<Stores> {
    let store = Arc::new(RedisStore::connect(RedisConfig::from_url(url)?).await?);
    Ok(Stores {
        dedup: store.clone(),
        audit: None,
        checkpoints: store,
        backend: "redis",
    })
}

#[cfg(not(feature = "redis"))]
async fn connect_redis(_url: &str) -> Result<Stores> {
    Err(Error::config(
        "store.url",
        "redis:// needs the crate feature `redis`",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls() {
        assert_eq!(
            sqlite_path("sqlite://data/ml.db").unwrap().as_deref(),
            Some("data/ml.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/ml.db").unwrap().as_deref(),
            Some("/var/lib/ml.db")
        );
        assert_eq!(
            sqlite_path("sqlite:ml.db?mode=rwc").unwrap().as_deref(),
            Some("ml.db")
        );
        assert_eq!(
            sqlite_path("sqlite://my%20dir/ml.db").unwrap().as_deref(),
            Some("my dir/ml.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:").unwrap(), None);
        assert_eq!(sqlite_path("sqlite://:memory:").unwrap(), None);
        assert!(sqlite_path("sqlite://").is_err());
    }

    #[tokio::test]
    async fn unknown_scheme_names_the_fix() {
        let e = connect("mysql://x").await.unwrap_err().to_string();
        assert!(e.contains("store.url") && e.contains("sqlite://"), "{e}");
    }

    #[tokio::test]
    async fn memory_and_sqlite_urls_open() {
        let m = connect("memory://").await.unwrap();
        assert_eq!(m.backend, "memory");
        assert!(m.require_audit().is_ok());
        #[cfg(feature = "sqlite")]
        {
            let s = connect("sqlite::memory:").await.unwrap();
            assert_eq!(s.backend, "sqlite");
        }
    }
}
