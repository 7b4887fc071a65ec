//! One conformance suite, run against every store backend: memory, SQLite, PostgreSQL, Redis.
//!
//! PostgreSQL and Redis must be running (see `tests/common/mod.rs` for the URLs and the env
//! vars that override them); each test works in its own schema / key prefix.

mod common;

use std::sync::Arc;

use common::{Backend, conformance};

/// Dedup checks: run on every backend.
macro_rules! dedup_suite {
    ($backend:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn dedup_first_claim_then_busy() {
            let b = Backend::$backend().await;
            conformance::dedup_first_claim_then_busy(b.stores().dedup.clone()).await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn dedup_complete_is_permanent() {
            let b = Backend::$backend().await;
            conformance::dedup_complete_is_permanent(b.stores().dedup.clone()).await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn dedup_release_then_reclaim() {
            let b = Backend::$backend().await;
            conformance::dedup_release_then_reclaim(b.stores().dedup.clone()).await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn dedup_lapsed_lease_is_taken_over() {
            let b = Backend::$backend().await;
            conformance::dedup_lapsed_lease_is_taken_over(b.stores().dedup.clone()).await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn dedup_lapsed_but_untaken_lease_completes() {
            let b = Backend::$backend().await;
            conformance::dedup_lapsed_but_untaken_lease_completes(b.stores().dedup.clone())
                .await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn dedup_concurrent_claims_have_one_winner() {
            let b = Backend::$backend().await;
            let handles = vec![
                b.stores().dedup.clone(),
                b.another_handle().await.dedup,
                b.another_handle().await.dedup,
            ];
            conformance::dedup_concurrent_claims_have_one_winner(handles).await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn dedup_concurrent_takeover_has_one_winner() {
            let b = Backend::$backend().await;
            let handles = vec![b.stores().dedup.clone(), b.another_handle().await.dedup];
            conformance::dedup_concurrent_takeover_has_one_winner(handles).await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn dedup_odd_job_ids() {
            let b = Backend::$backend().await;
            conformance::dedup_odd_job_ids(b.stores().dedup.clone()).await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn checkpoints_roundtrip() {
            let b = Backend::$backend().await;
            conformance::checkpoints_roundtrip(b.stores().checkpoints.clone()).await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn checkpoints_are_shared_between_handles() {
            let b = Backend::$backend().await;
            let other = b.another_handle().await;
            let key = ml_connector::core::CheckpointKey::new("adobe", "orders");
            let cursor = ml_connector::core::Cursor(serde_json::json!({"page": 9}));
            b.stores().checkpoints.commit(&key, &cursor).await.unwrap();
            assert_eq!(other.checkpoints.load(&key).await.unwrap(), Some(cursor));
            b.cleanup().await;
        }
    };
}

/// Audit checks: run on backends with an audit trail.
macro_rules! audit_suite {
    ($backend:ident) => {
        fn audit(b: &Backend) -> Arc<dyn ml_connector::AuditSink> {
            b.stores()
                .require_audit()
                .expect("backend has an audit trail")
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn audit_append_and_query() {
            let b = Backend::$backend().await;
            conformance::audit_append_and_query(audit(&b)).await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn audit_redacts_secrets() {
            let b = Backend::$backend().await;
            conformance::audit_redacts_secrets(audit(&b)).await;
            b.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn audit_dead_letter_lifecycle() {
            let b = Backend::$backend().await;
            conformance::audit_dead_letter_lifecycle(audit(&b)).await;
            b.cleanup().await;
        }
    };
}

mod memory_backend {
    use super::*;
    dedup_suite!(memory);
    audit_suite!(memory);
}

mod sqlite_backend {
    use super::*;
    dedup_suite!(sqlite);
    audit_suite!(sqlite);

    #[tokio::test]
    async fn audit_events_are_append_only_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ml.db");
        let store = ml_connector::store::SqliteStore::open(&path).unwrap();
        conformance::audit_redacts_secrets(Arc::new(store)).await;
        let conn = rusqlite::Connection::open(&path).unwrap();
        let e = conn
            .execute("UPDATE audit_events SET message = 'edited'", [])
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        let e = conn.execute("DELETE FROM audit_events", []).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn in_memory_database_passes_the_dedup_basics() {
        let s = Arc::new(ml_connector::store::SqliteStore::open_in_memory().unwrap());
        conformance::dedup_release_then_reclaim(s.clone()).await;
        conformance::checkpoints_roundtrip(s).await;
    }
}

mod postgres_backend {
    use super::*;
    dedup_suite!(postgres);
    audit_suite!(postgres);

    #[tokio::test]
    async fn connect_by_url_creates_the_schema_idempotently() {
        let schema = common::unique_name();
        let sep = if common::postgres_url().contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{sep}schema={schema}", common::postgres_url());
        // Several workers starting at once all create (or find) the schema.
        let opened = futures::future::join_all((0..4).map(|_| ml_connector::store::connect(&url)))
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert!(opened.iter().all(|s| s.backend == "postgres"));
        conformance::checkpoints_roundtrip(opened[0].checkpoints.clone()).await;
        let store = common::postgres_store_in(&schema).await;
        store.drop_schema().await.unwrap();
    }

    #[tokio::test]
    async fn unreachable_server_is_a_transient_error_naming_the_target() {
        let cfg = ml_connector::store::PostgresConfig::from_url(
            "postgres://postgres:pw@127.0.0.1:1/test?connect_timeout=2",
        )
        .unwrap();
        let e = ml_connector::store::PostgresStore::connect(cfg)
            .await
            .unwrap_err();
        assert!(e.is_retryable(), "{e}");
        let s = e.to_string();
        assert!(s.contains("127.0.0.1:1/test") && !s.contains("pw"), "{s}");
    }
}

mod redis_backend {
    use super::*;
    use ml_connector::DedupStore as _;
    dedup_suite!(redis);

    #[tokio::test]
    async fn connect_by_url_has_no_audit_and_says_so() {
        let prefix = common::unique_name();
        let url = format!("{}?prefix={prefix}", common::redis_url());
        let stores = ml_connector::store::connect(&url).await.unwrap();
        assert_eq!(stores.backend, "redis");
        let e = stores
            .require_audit()
            .err()
            .expect("no audit on redis")
            .to_string();
        assert!(e.contains("Stores::with_audit"), "{e}");
        conformance::checkpoints_roundtrip(stores.checkpoints.clone()).await;
        common::redis_store_in(&prefix).await.purge().await.unwrap();
    }

    #[tokio::test]
    async fn lease_key_expires_by_itself_and_done_is_permanent() {
        use ::redis::AsyncCommands;
        let prefix = common::unique_name();
        let store = Arc::new(common::redis_store_in(&prefix).await);
        let job = ml_connector::model::JobId::from_raw("adobe/orders/default:1/sales_order");
        let lease = match store
            .claim(&job, std::time::Duration::from_millis(200))
            .await
            .unwrap()
        {
            ml_connector::core::Claim::Claimed(l) => l,
            other => panic!("{other:?}"),
        };
        let client = ::redis::Client::open(common::redis_url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let lease_key = format!("{prefix}:job:{{{}}}:lease", job.as_str());
        let pttl: i64 = conn.pttl(&lease_key).await.unwrap();
        assert!(
            pttl > 0 && pttl <= 200,
            "lease key carries the PX ttl: {pttl}"
        );
        store
            .complete(&lease, &ml_connector::core::Receipt::default())
            .await
            .unwrap();
        let state_key = format!("{prefix}:job:{{{}}}", job.as_str());
        let ttl: i64 = conn.ttl(&state_key).await.unwrap();
        assert_eq!(ttl, -1, "a completed job never expires");
        let exists: bool = conn.exists(&lease_key).await.unwrap();
        assert!(!exists, "completion removes the lease key");
        store.purge().await.unwrap();
    }
}
