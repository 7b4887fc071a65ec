//! Helpers shared by the store and pipeline test binaries.
//!
//! Services: PostgreSQL from `ML_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and Redis from `ML_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379/`). Every test uses its own throw-away schema / key prefix, so
//! parallel tests and parallel CI runs never collide; they are dropped when a test passes.

#![allow(dead_code)]

pub mod conformance;
pub mod fakes;

use std::sync::Arc;

use ml_connector::store::{PostgresConfig, PostgresStore, RedisConfig, RedisStore, Stores};

/// PostgreSQL URL for tests.
pub fn postgres_url() -> String {
    std::env::var("ML_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Redis URL for tests.
pub fn redis_url() -> String {
    std::env::var("ML_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// A unique lower-case identifier (`mlct_<pid>_<12 hex>`), usable as a schema or key prefix.
pub fn unique_name() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("mlct_{}_{}", std::process::id(), &id[..12])
}

/// A PostgreSQL store in a fresh schema.
pub async fn postgres_store_in(schema: &str) -> PostgresStore {
    let cfg = PostgresConfig::from_url(&postgres_url())
        .expect("ML_TEST_POSTGRES_URL is a valid URL")
        .with_schema(schema)
        .expect("schema name");
    PostgresStore::connect(cfg).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for this test ({e}). Start it on 127.0.0.1:5432 with database `test` \
             (trust auth) or set ML_TEST_POSTGRES_URL"
        )
    })
}

/// A Redis store under a fresh key prefix.
pub async fn redis_store_in(prefix: &str) -> RedisStore {
    let cfg = RedisConfig::from_url(&redis_url())
        .expect("ML_TEST_REDIS_URL is a valid URL")
        .with_prefix(prefix)
        .expect("prefix");
    RedisStore::connect(cfg).await.unwrap_or_else(|e| {
        panic!(
            "Redis is required for this test ({e}). Start it on 127.0.0.1:6379 or set ML_TEST_REDIS_URL"
        )
    })
}

/// One backend opened for one test, with the means to open a second, independent handle on
/// the same state (another "worker") and to clean up afterwards.
pub enum Backend {
    /// In-memory stores.
    Memory(Stores),
    /// A SQLite file in a temporary directory.
    Sqlite {
        /// The open stores.
        stores: Stores,
        /// Keeps the directory alive.
        dir: Arc<tempfile::TempDir>,
    },
    /// A throw-away PostgreSQL schema.
    Postgres {
        /// The open stores.
        stores: Stores,
        /// The concrete store (for cleanup).
        store: Arc<PostgresStore>,
    },
    /// A throw-away Redis prefix.
    Redis {
        /// The open stores.
        stores: Stores,
        /// The concrete store (for cleanup).
        store: Arc<RedisStore>,
    },
}

impl Backend {
    /// Fresh in-memory stores.
    pub async fn memory() -> Self {
        Backend::Memory(Stores::memory())
    }

    /// A fresh SQLite file.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("ml.db").display());
        let stores = ml_connector::store::connect(&url)
            .await
            .expect("open sqlite");
        Backend::Sqlite {
            stores,
            dir: Arc::new(dir),
        }
    }

    /// A fresh PostgreSQL schema.
    pub async fn postgres() -> Self {
        let store = Arc::new(postgres_store_in(&unique_name()).await);
        Backend::Postgres {
            stores: Stores::from_one("postgres", store.clone()),
            store,
        }
    }

    /// A fresh Redis prefix.
    pub async fn redis() -> Self {
        let store = Arc::new(redis_store_in(&unique_name()).await);
        Backend::Redis {
            stores: Stores {
                dedup: store.clone(),
                audit: None,
                checkpoints: store.clone(),
                backend: "redis",
            },
            store,
        }
    }

    /// The stores.
    pub fn stores(&self) -> &Stores {
        match self {
            Backend::Memory(s) => s,
            Backend::Sqlite { stores, .. }
            | Backend::Postgres { stores, .. }
            | Backend::Redis { stores, .. } => stores,
        }
    }

    /// A second, independent handle on the same state: a new connection (pool) for SQL and
    /// Redis backends, the same objects for memory (which cannot be shared otherwise).
    pub async fn another_handle(&self) -> Stores {
        match self {
            Backend::Memory(s) => s.clone(),
            Backend::Sqlite { dir, .. } => {
                let url = format!("sqlite://{}", dir.path().join("ml.db").display());
                ml_connector::store::connect(&url)
                    .await
                    .expect("open sqlite")
            }
            Backend::Postgres { store, .. } => {
                let s = Arc::new(postgres_store_in(store.schema()).await);
                Stores::from_one("postgres", s)
            }
            Backend::Redis { store, .. } => {
                let s = Arc::new(redis_store_in(store.prefix()).await);
                Stores {
                    dedup: s.clone(),
                    audit: None,
                    checkpoints: s,
                    backend: "redis",
                }
            }
        }
    }

    /// Drops the schema / keys (only reached when the test passed; failed runs leave them for
    /// inspection, all named `mlct_*`).
    pub async fn cleanup(self) {
        match self {
            Backend::Postgres { store, .. } => store.drop_schema().await.expect("drop schema"),
            Backend::Redis { store, .. } => store.purge().await.expect("purge keys"),
            Backend::Memory(_) | Backend::Sqlite { .. } => {}
        }
    }
}
