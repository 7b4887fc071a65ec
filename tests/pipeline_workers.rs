//! Three workers sync the same 3,000 orders at the same time, sharing PostgreSQL stores — and
//! again sharing Redis for dedup and checkpoints — and the QAD simulator holds each sales order
//! exactly once (issue 6, "done means").
//!
//! Everything between the source and QAD is the product: the [`DefaultMapper`] with a SKU
//! crosswalk validated against the item master read back from QAD, one real [`QadSink`] per
//! worker (its own HTTP client, token and connect, as separate processes would have), and the
//! PostgreSQL / Redis stores. The source is an in-test `SourceSystem` serving canonical Adobe
//! Commerce orders (`tests/common/fakes.rs`): store-scoped increment ids, registered customers,
//! one line each over seven SKUs. The simulator is seeded with the QAD items those SKUs map to
//! and with the customers the mapper derives, as a tenant that ran the master flows would be.
//!
//! Exactly-once is checked through the simulator's inspection API (every stored sales order,
//! grouped by the external id the sink writes into its remarks), not through the sink.
//!
//! Needs PostgreSQL and Redis (see `tests/common/mod.rs` and docs/testing.md).

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fakes::*;
use futures::TryStreamExt;
use ml_connector::ErpSink;
use ml_connector::core::{AuditQuery, AuditStage, JobState};
use ml_connector::http::RetryPolicy;
use ml_connector::mapping::{
    CustomerMap, DefaultMapper, MapContext, MapSettings, Party, PartyKind, SkuCrosswalk,
};
use ml_connector::model::{Decimal, DocumentKind, JobId, RecordBody};
use ml_connector::pipeline::{Pipeline, RunReport};
use ml_connector::qad::QadSink;
use ml_connector::sandbox::qad::QadSimulator;
use ml_connector::store::Stores;

const PAGE: usize = 100;

/// 3,000 orders (the number); `ML_TEST_WORKER_ORDERS` sets another multiple of 100 for
/// a quicker local run (see docs/testing.md).
fn orders() -> usize {
    let n = std::env::var("ML_TEST_WORKER_ORDERS")
        .ok()
        .map(|v| v.parse().expect("ML_TEST_WORKER_ORDERS is a number"))
        .unwrap_or(3_000);
    assert!(
        n >= PAGE && n.is_multiple_of(PAGE),
        "ML_TEST_WORKER_ORDERS must be a multiple of {PAGE}"
    );
    n
}
/// Records in flight per worker (posts toward QAD). Measured with 600 orders on 2 busy cores
/// in debug: 4 → 30 s, 8 → 21 s, 16 → 22 s (the simulator handles one request at a time).
const CONCURRENCY: usize = 8;

/// The seven seller SKUs of the test orders and the QAD items they map to.
fn sku_items() -> Vec<(String, String)> {
    (0..7)
        .map(|k| (format!("SKU-{k}"), format!("10-50{k:02}")))
        .collect()
}

/// The QAD simulator with the items and the customers the orders need.
async fn seeded_qad() -> QadSimulator {
    let sim = QadSimulator::start().await.unwrap();
    for (_, item) in sku_items() {
        sim.seed_item(
            &item,
            &format!("Widget {item}"),
            "EA",
            Decimal::new(2000, 2),
        );
    }
    // The registered customers of the orders (ids 100..=112), under the codes the default
    // customer map derives for them.
    let customers = CustomerMap::default();
    let settings = MapSettings::default();
    let mut seeded = BTreeSet::new();
    for n in 1..=13 {
        let RecordBody::Order(order) = order_record(n).body else {
            unreachable!("the test source serves orders")
        };
        let id = order.party.customer_id.unwrap();
        let code = customers
            .resolve(
                &"seed",
                &Party::new(PartyKind::Customer, "adobe", &id),
                &settings,
            )
            .unwrap()
            .code;
        sim.seed_customer(&code, &format!("Customer {id}"), "USD");
        seeded.insert(code);
    }
    assert_eq!(seeded.len(), 13);
    sim
}

/// A worker's own QAD sink (short retry delays; the simulator answers at once).
fn qad_sink(sim: &QadSimulator) -> QadSink {
    QadSink::with_retry(
        sim.config_builder().build().unwrap(),
        RetryPolicy::with_attempts(4).delays(Duration::from_millis(10), Duration::from_millis(100)),
    )
    .unwrap()
    .with_settle_delay(Duration::from_millis(20))
}

/// The mapping context a host builds at start-up: the crosswalk validated against the item
/// master read from QAD, the default site.
async fn map_context(sink: &QadSink) -> MapContext {
    let items: Vec<String> = sink.items().map_ok(|i| i.code).try_collect().await.unwrap();
    assert_eq!(items.len(), 7, "{items:?}");
    let mut skus = SkuCrosswalk::new("skus.csv");
    for (sku, item) in sku_items() {
        skus = skus.with_entry(sku, item);
    }
    MapContext::builder()
        .skus(skus.with_item_master(items))
        .settings(MapSettings {
            default_site: Some("10-100".into()),
            ..MapSettings::default()
        })
        .build()
        .unwrap()
}

/// Sales orders the simulator holds, by the external id the sink wrote into their remarks.
fn qad_holdings(sim: &QadSimulator) -> HashMap<String, usize> {
    let mut held = HashMap::new();
    for o in sim.documents(DocumentKind::SalesOrder) {
        let ext = o["remarks"].as_str().unwrap_or_default().to_string();
        *held.entry(ext).or_insert(0) += 1;
    }
    held
}

/// Runs one worker per entry of `workers` (each its own store handles on the same shared
/// state, and its own QAD sink), all syncing the same orders concurrently into the simulator,
/// then checks exactly-once through the simulator.
async fn three_workers_sync_the_same_orders(workers: Vec<Stores>) -> Vec<RunReport> {
    let orders = orders();
    let sim = seeded_qad().await;
    let mut pipelines = Vec::new();
    for stores in &workers {
        let sink = Arc::new(qad_sink(&sim));
        sink.connect().await.unwrap();
        let ctx = map_context(&sink).await;
        let sink: Arc<dyn ErpSink> = sink;
        pipelines.push(
            Pipeline::builder()
                .source(Arc::new(VecSource::new(order_pages(1, orders, PAGE))))
                .mapper(Arc::new(DefaultMapper))
                .context(ctx)
                .sink(sink)
                .stores(stores)
                .unwrap()
                .concurrency(CONCURRENCY)
                .lease(Duration::from_secs(30))
                .build()
                .unwrap(),
        );
    }
    let started = Instant::now();
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
        "{} workers × {orders} orders into the QAD simulator in {:.1?}",
        workers.len(),
        started.elapsed()
    );
    for r in &reports {
        eprintln!("  {r}");
        assert!(r.is_complete(), "{r}");
        assert_eq!(r.fetched, orders as u64);
        assert_eq!(r.failed, 0, "{r}");
    }

    // The ERP side: every order once, with its line on the crosswalked item.
    let held = qad_holdings(&sim);
    assert_eq!(held.len(), orders, "every order is in QAD");
    let doubles: Vec<(&String, &usize)> = held.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubles.is_empty(), "double-booked: {doubles:?}");
    for n in 1..=orders {
        assert_eq!(held.get(&order_external_id(n)), Some(&1), "order {n}");
    }
    assert_eq!(sim.count(DocumentKind::SalesOrder), orders);
    let items: HashMap<String, String> = sku_items().into_iter().collect();
    for n in (1..=orders).step_by(131) {
        let number = format!("{n:09}");
        assert_eq!(sim.count_key(DocumentKind::SalesOrder, &number), 1);
        let o = sim
            .documents(DocumentKind::SalesOrder)
            .into_iter()
            .find(|o| o["customerPO"] == number.as_str())
            .unwrap();
        let lines = o["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 1, "{o}");
        assert_eq!(
            lines[0]["itemCode"].as_str(),
            Some(items[&format!("SKU-{}", n % 7)].as_str())
        );
    }

    // The workers' side: one post per order over all workers, every other sighting skipped.
    let posted: u64 = reports.iter().map(|r| r.posted).sum();
    let skipped: u64 = reports.iter().map(|r| r.skipped).sum();
    assert_eq!(posted, orders as u64, "one post per order over all workers");
    assert_eq!(
        skipped,
        (orders * (workers.len() - 1)) as u64,
        "every other sighting was a prevented duplicate"
    );
    let p = &pipelines[0];
    assert_eq!(
        p.checkpoints()
            .load(&p.checkpoint_key("orders"))
            .await
            .unwrap(),
        Some(page_cursor(orders / PAGE - 1))
    );
    for n in (1..=orders).step_by(97) {
        let job = JobId::new(&order_record(n).key, DocumentKind::SalesOrder);
        match p.dedup().state(&job).await.unwrap() {
            Some(JobState::Done(receipt)) => {
                let o = sim
                    .order(&receipt.erp_key)
                    .expect("the receipt names a QAD order");
                assert_eq!(o["remarks"].as_str(), Some(order_external_id(n).as_str()));
            }
            other => panic!("{job} should be done, is {other:?}"),
        }
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
        orders,
        "one `posted` audit event per order"
    );
    reports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_sharing_postgres_put_each_order_into_qad_once() {
    let schema = common::unique_name();
    let mut workers = Vec::new();
    let mut first = None;
    for _ in 0..3 {
        let store = Arc::new(common::postgres_store_in(&schema).await);
        first.get_or_insert_with(|| store.clone());
        workers.push(Stores::from_one("postgres", store));
    }
    three_workers_sync_the_same_orders(workers).await;
    first.unwrap().drop_schema().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_sharing_redis_dedup_put_each_order_into_qad_once() {
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
    three_workers_sync_the_same_orders(workers).await;
    let (redis, pg) = cleanup.unwrap();
    redis.purge().await.unwrap();
    pg.drop_schema().await.unwrap();
}
