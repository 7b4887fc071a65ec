//! Pipeline throughput: one run of 1,000 orders (pages of 100, concurrency 16) into an
//! in-memory ERP, on in-memory stores and on a SQLite file. Measures the engine and the store
//! round trips (claim, complete, audit, checkpoint), not any remote system.
//!
//! `cargo bench --bench pipeline`

#[allow(dead_code)]
#[path = "../tests/common/fakes.rs"]
mod fakes;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fakes::{MemoryErp, OrderMapper, VecSource, order_pages};
use ml_connector::pipeline::Pipeline;
use ml_connector::store::{SqliteStore, Stores};

const ORDERS: usize = 1_000;

fn pipeline(stores: &Stores) -> Pipeline {
    Pipeline::builder()
        .source(Arc::new(VecSource::new(order_pages(1, ORDERS, 100))))
        .mapper(Arc::new(OrderMapper::default()))
        .sink(Arc::new(MemoryErp::new()))
        .stores(stores)
        .expect("stores with audit")
        .concurrency(16)
        .build()
        .expect("pipeline")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("pipeline_run");
    group.throughput(Throughput::Elements(ORDERS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));

    group.bench_function("memory_stores_1000_orders", |b| {
        b.to_async(&rt).iter(|| async {
            let p = pipeline(&Stores::memory());
            let r = p.run("orders").await.expect("run");
            assert_eq!(r.posted, ORDERS as u64);
        });
    });

    group.bench_function("sqlite_file_1000_orders", |b| {
        b.to_async(&rt).iter(|| async {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Arc::new(SqliteStore::open(dir.path().join("bench.db")).expect("sqlite"));
            let p = pipeline(&Stores::from_one("sqlite", store));
            let r = p.run("orders").await.expect("run");
            assert_eq!(r.posted, ORDERS as u64);
        });
    });

    // A second pass over already-posted orders: the cost of a re-read that dedup absorbs.
    group.bench_function("sqlite_file_1000_duplicates", |b| {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open(dir.path().join("bench.db")).expect("sqlite"));
        let stores = Stores::from_one("sqlite", store);
        rt.block_on(async {
            pipeline(&stores).run("orders").await.expect("first run");
        });
        b.to_async(&rt).iter(|| async {
            let fresh = Stores {
                checkpoints: Arc::new(ml_connector::store::MemoryCheckpointStore::new()),
                ..stores.clone()
            };
            let r = pipeline(&fresh).run("orders").await.expect("run");
            assert_eq!(r.skipped, ORDERS as u64);
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
