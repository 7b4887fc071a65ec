//! Three workers sync the same 3,000 orders at the same time, sharing PostgreSQL stores — and
//! again sharing Redis for dedup and checkpoints — and the ERP holds each order exactly once.
//!
//! The ERP side is a parameter: [`three_workers_sync_the_same_orders`] takes any `ErpSink`
//! plus an async "what do you hold?" probe, so the same check can be pointed at the QAD
//! simulator by passing its sink and a probe that lists its sales orders by external id.
//!
//! Needs PostgreSQL and Redis (see `tests/common/mod.rs`).

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::fakes::*;
use ml_connector::ErpSink;
use ml_connector::core::{AuditQuery, AuditStage, JobState};
use ml_connector::model::{DocumentKind, JobId};
use ml_connector::pipeline::{Pipeline, RunReport};
use ml_connector::store::Stores;

const ORDERS: usize = 3_000;
const PAGE: usize = 100;

/// Runs one worker per entry of `workers` (each its own store handles, same shared state),
/// all syncing the same orders concurrently into `erp`, then checks exactly-once through
/// `holdings` (external id → how many documents the ERP holds for it).
async fn three_workers_sync_the_same_orders(
    workers: Vec<Stores>,
    erp: Arc<dyn ErpSink>,
    holdings: impl AsyncFn() -> HashMap<String, usize>,
) -> Vec<RunReport> {
    let mapper = Arc::new(OrderMapper::default());
    let pipelines: Vec<Pipeline> = workers
        .iter()
        .map(|stores| {
            Pipeline::builder()
                .source(Arc::new(VecSource::new(order_pages(1, ORDERS, PAGE))))
                .mapper(mapper.clone())
                .sink(erp.clone())
                .stores(stores)
                .unwrap()
                .concurrency(16)
                .lease(Duration::from_secs(30))
                .build()
                .unwrap()
        })
        .collect();
    let started = std::time::Instant::now();
    let handles: Vec<_> = pipelines
        .iter()
        .cloned()
        .map(|p| tokio::spawn(async move { p.run("orders").await }))
        .collect();
    let mut reports = Vec::new();
    for h in handles {
        reports.push(h.await.unwrap().unwrap());
    }
    eprintln!(
        "{} workers × {ORDERS} orders in {:.1?}",
        workers.len(),
        started.elapsed()
    );
    for r in &reports {
        eprintln!("  {r}");
        assert!(r.is_complete(), "{r}");
        assert_eq!(r.fetched, ORDERS as u64);
        assert_eq!(r.failed, 0);
    }

    let held = holdings().await;
    assert_eq!(held.len(), ORDERS, "every order is in the ERP");
    let doubles: Vec<(&String, &usize)> = held.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubles.is_empty(), "double-booked: {doubles:?}");
    for n in 1..=ORDERS {
        assert_eq!(held.get(&order_external_id(n)), Some(&1));
    }
    let posted: u64 = reports.iter().map(|r| r.posted).sum();
    let skipped: u64 = reports.iter().map(|r| r.skipped).sum();
    assert_eq!(posted, ORDERS as u64, "one post per order over all workers");
    assert_eq!(
        skipped,
        (ORDERS * (workers.len() - 1)) as u64,
        "every other sighting was a prevented duplicate"
    );

    let p = &pipelines[0];
    assert_eq!(
        p.checkpoints()
            .load(&p.checkpoint_key("orders"))
            .await
            .unwrap(),
        Some(page_cursor(ORDERS / PAGE - 1))
    );
    for n in (1..=ORDERS).step_by(97) {
        let job = JobId::new(&order_record(n).key, DocumentKind::SalesOrder);
        assert!(
            matches!(
                p.dedup().state(&job).await.unwrap(),
                Some(JobState::Done(_))
            ),
            "{job} is done"
        );
    }
    let posted_events = p
        .audit()
        .query(&AuditQuery {
            stage: Some(AuditStage::Posted),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        posted_events.len(),
        ORDERS,
        "one `posted` audit event per order"
    );
    reports
}

fn memory_erp() -> (Arc<MemoryErp>, Arc<dyn ErpSink>) {
    let erp = Arc::new(MemoryErp::new().with_delay(Duration::from_millis(1)));
    let sink: Arc<dyn ErpSink> = erp.clone();
    (erp, sink)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_sharing_postgres_post_each_order_once() {
    let schema = common::unique_name();
    let mut workers = Vec::new();
    let mut first = None;
    for _ in 0..3 {
        let store = Arc::new(common::postgres_store_in(&schema).await);
        first.get_or_insert_with(|| store.clone());
        workers.push(Stores::from_one("postgres", store));
    }
    let (erp, sink) = memory_erp();
    three_workers_sync_the_same_orders(workers, sink, async || erp.stored_counts()).await;
    first.unwrap().drop_schema().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_sharing_redis_dedup_post_each_order_once() {
    let prefix = common::unique_name();
    let schema = common::unique_name();
    let mut workers = Vec::new();
    let mut cleanup = None;
    for _ in 0..3 {
        // Dedup claims and checkpoints in Redis; the audit trail in PostgreSQL.
        let redis = Arc::new(common::redis_store_in(&prefix).await);
        let audit = Arc::new(common::postgres_store_in(&schema).await);
        cleanup.get_or_insert_with(|| (redis.clone(), audit.clone()));
        workers.push(Stores {
            dedup: redis.clone(),
            audit: Some(audit),
            checkpoints: redis,
            backend: "redis",
        });
    }
    let (erp, sink) = memory_erp();
    three_workers_sync_the_same_orders(workers, sink, async || erp.stored_counts()).await;
    let (redis, pg) = cleanup.unwrap();
    redis.purge().await.unwrap();
    pg.drop_schema().await.unwrap();
}
