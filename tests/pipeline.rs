//! The pipeline against real stores (memory and SQLite), an in-test source (pages of orders)
//! and an in-test ERP that can fail, throttle, time out after storing, or hang (a crash).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::fakes::*;
use ml_connector::core::{
    AuditEvent, AuditQuery, AuditStage, Claim, Cursor, DeadLetter, DeadLetterQuery, JobState,
};
use ml_connector::model::{DocumentKind, JobId, RecordKey, SourceRecord};
use ml_connector::pipeline::*;
use ml_connector::store::{MemoryAuditSink, SqliteStore, Stores};
use ml_connector::{AuditSink, Error, Result};

fn fast_retry() -> RetryPolicy {
    RetryPolicy::with_attempts(4).delays(Duration::from_millis(2), Duration::from_millis(20))
}

fn build(
    source: &Arc<VecSource>,
    mapper: &Arc<OrderMapper>,
    sink: &Arc<MemoryErp>,
    stores: &Stores,
) -> PipelineBuilder {
    Pipeline::builder()
        .source(source.clone())
        .mapper(mapper.clone())
        .sink(sink.clone())
        .stores(stores)
        .unwrap()
        .concurrency(4)
        .lease(Duration::from_secs(30))
        .retry(fast_retry())
}

fn sales_order_job(n: usize) -> JobId {
    JobId::new(&order_record(n).key, DocumentKind::SalesOrder)
}

async fn trail(audit: &Arc<dyn AuditSink>, key: &RecordKey) -> Vec<AuditEvent> {
    audit
        .query(&AuditQuery {
            record: Some(key.clone()),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
}

fn stages(events: &[AuditEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.stage.as_str()).collect()
}

async fn checkpoint(p: &Pipeline) -> Option<Cursor> {
    p.checkpoints()
        .load(&p.checkpoint_key("orders"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_every_page_once_commits_the_end_and_rereads_post_nothing() {
    let stores = Stores::memory();
    let source = Arc::new(VecSource::new(order_pages(1, 250, 50)));
    let mapper = Arc::new(OrderMapper::with_customers());
    let sink = Arc::new(MemoryErp::new());
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let p = build(&source, &mapper, &sink, &stores)
        .progress(Arc::new(move |e: &ProgressEvent| {
            ev.lock().unwrap().push(e.clone())
        }))
        .build()
        .unwrap();

    let r = p.run("orders").await.unwrap();
    assert!(r.is_complete(), "{r}");
    assert_eq!(
        (r.pages, r.fetched, r.posted, r.skipped, r.failed),
        (5, 250, 500, 0, 0)
    );
    assert_eq!(r.committed, Some(page_cursor(4)));
    assert_eq!(checkpoint(&p).await, Some(page_cursor(4)));
    let counts = sink.stored_counts();
    assert_eq!(counts.len(), 500);
    assert!(counts.values().all(|c| *c == 1));
    // Masters first within a record: each order's customer was stored before its order.
    let log = sink.store_log();
    let pos = |id: &str| log.iter().position(|x| x == id).unwrap();
    assert!(pos("adobe:customer:default:000000007") < pos(&order_external_id(7)));

    // The trail of one record: fetched (with the raw payload), mapped, posted ×2 with the
    // ERP request and response.
    let t = trail(p.audit(), &order_record(7).key).await;
    assert_eq!(stages(&t), ["fetched", "mapped", "posted", "posted"]);
    assert_eq!(t[0].detail["raw"]["increment_id"], "000000007");
    assert_eq!(
        t[1].detail["documents"].as_array().unwrap().len(),
        2,
        "{:?}",
        t[1].detail
    );
    let posted = &t[3];
    assert_eq!(posted.job, Some(sales_order_job(7)));
    assert_eq!(
        posted.detail["request"]["external_id"],
        order_external_id(7)
    );
    assert_eq!(posted.detail["response"]["success"], true);
    assert!(t.iter().all(|e| e.run == r.run));

    // Progress: one start, five pages, a finish per record, commits, one end.
    let events = events.lock().unwrap().clone();
    let count = |f: fn(&ProgressEvent) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(count(|e| matches!(e, ProgressEvent::RunStarted { .. })), 1);
    assert_eq!(count(|e| matches!(e, ProgressEvent::PageFetched { .. })), 5);
    assert_eq!(
        count(|e| matches!(e, ProgressEvent::RecordFinished { .. })),
        250
    );
    assert!(count(|e| matches!(e, ProgressEvent::CheckpointCommitted { .. })) >= 1);
    assert!(matches!(
        events.last(),
        Some(ProgressEvent::RunFinished { report }) if report.posted == 500
    ));

    // Run again: the source resumes after the checkpoint and has nothing newer.
    let again = p.run("orders").await.unwrap();
    assert_eq!((again.fetched, again.posted), (0, 0));

    // A re-read of everything (checkpoint lost) posts nothing: dedup absorbs the overlap.
    let fresh = Stores {
        checkpoints: Arc::new(ml_connector::store::MemoryCheckpointStore::new()),
        ..stores.clone()
    };
    let p2 = build(&source, &mapper, &sink, &fresh).build().unwrap();
    let reread = p2.run("orders").await.unwrap();
    assert_eq!(
        (reread.fetched, reread.posted, reread.skipped),
        (250, 0, 500)
    );
    assert_eq!(sink.stored_counts().values().sum::<usize>(), 500);
    let t = trail(p.audit(), &order_record(7).key).await;
    assert_eq!(
        stages(&t)[4..],
        ["fetched", "mapped", "skipped", "skipped"],
        "the re-read is on the trail too"
    );
}

/// (a) A record that cannot be acknowledged (the sink keeps throttling it until shutdown)
/// holds the checkpoint before its page, even though later pages were all posted. A restart
/// re-reads from there, posts the held record once, and skips the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_never_passes_an_unacknowledged_record() {
    let stores = Stores::memory();
    // Pages 0..=4 of 10 records; order 15 sits in page 1.
    let source = Arc::new(VecSource::new(order_pages(1, 50, 10)));
    let mapper = Arc::new(OrderMapper::default());
    let sink = Arc::new(MemoryErp::new());
    sink.fault(&order_external_id(15), Fault::Throttle(u32::MAX));
    let p = build(&source, &mapper, &sink, &stores)
        .retry(
            RetryPolicy::with_attempts(1000)
                .delays(Duration::from_millis(5), Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let (trigger, shutdown) = shutdown_channel();
    let run = {
        let p = p.clone();
        tokio::spawn(async move { p.run_until("orders", &shutdown).await })
    };
    // Wait until every other record is in the ERP.
    tokio::time::timeout(Duration::from_secs(20), async {
        while sink.stored_counts().len() < 49 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the other 49 orders are posted");
    trigger.trigger();
    let r = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("shutdown ends the run")
        .unwrap()
        .unwrap();
    assert_eq!(r.posted, 49);
    assert!(r.throttled >= 1 && r.retried >= 1, "{r}");
    let partial = r
        .partial
        .clone()
        .expect("a run with an unacknowledged record is partial");
    assert!(partial.contains("shutdown"), "{partial}");
    assert_eq!(
        checkpoint(&p).await,
        Some(page_cursor(0)),
        "the checkpoint stays before the page of the unacknowledged record"
    );
    assert_eq!(r.committed, Some(page_cursor(0)));
    // The claim was given back: nobody has to wait for its lease.
    assert_eq!(p.dedup().state(&sales_order_job(15)).await.unwrap(), None);
    // Nothing was dead-lettered: the record is simply read again.
    assert!(
        p.audit()
            .dead_letters(&DeadLetterQuery::default())
            .await
            .unwrap()
            .is_empty()
    );

    sink.heal(&order_external_id(15));
    let r2 = p.run("orders").await.unwrap();
    assert!(r2.is_complete(), "{r2}");
    assert_eq!((r2.fetched, r2.posted, r2.skipped), (40, 1, 39));
    assert_eq!(checkpoint(&p).await, Some(page_cursor(4)));
    let counts = sink.stored_counts();
    assert_eq!(counts.len(), 50);
    assert!(counts.values().all(|c| *c == 1));
}

/// (a) A record held by another worker's live claim is not acknowledged either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_held_by_another_worker_holds_the_checkpoint() {
    let stores = Stores::memory();
    let source = Arc::new(VecSource::new(order_pages(1, 30, 10)));
    let mapper = Arc::new(OrderMapper::default());
    let sink = Arc::new(MemoryErp::new());
    // Another worker holds order 25 (page 2) for a minute.
    let other = stores
        .dedup
        .claim(&sales_order_job(25), Duration::from_secs(60))
        .await
        .unwrap();
    assert!(matches!(other, Claim::Claimed(_)));
    let p = build(&source, &mapper, &sink, &stores)
        .config(PipelineConfig {
            concurrency: 4,
            lease: Duration::from_secs(30),
            retry: fast_retry(),
            busy_timeout: Duration::from_millis(300),
            busy_poll: Duration::from_millis(50),
        })
        .build()
        .unwrap();
    let r = p.run("orders").await.unwrap();
    assert_eq!(r.posted, 29);
    assert!(
        r.partial.as_deref().unwrap().contains("another worker"),
        "{r}"
    );
    assert_eq!(checkpoint(&p).await, Some(page_cursor(1)));
    assert!(!sink.stored_counts().contains_key(&order_external_id(25)));
}

/// (a) A record the sink refuses is acknowledged by parking it — with its raw payload — and
/// only then may the checkpoint pass it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_is_parked_with_its_payload_before_the_checkpoint_passes() {
    let stores = Stores::memory();
    let source = Arc::new(VecSource::new(order_pages(1, 30, 10)));
    let mapper = Arc::new(OrderMapper::default());
    let sink = Arc::new(MemoryErp::new());
    sink.fault(&order_external_id(15), Fault::Reject);
    let p = build(&source, &mapper, &sink, &stores).build().unwrap();
    let r = p.run("orders").await.unwrap();
    assert!(
        r.is_complete(),
        "dead-lettered records are acknowledged: {r}"
    );
    assert_eq!((r.posted, r.failed), (29, 1));
    assert_eq!(checkpoint(&p).await, Some(page_cursor(2)));
    let letters = p
        .audit()
        .dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].record, order_record(15), "the payload as read");
    assert_eq!(letters[0].record.raw["increment_id"], "000000015");
    assert!(
        letters[0].error.contains("Customer does not exist"),
        "{}",
        letters[0].error
    );
    assert_eq!(letters[0].run, r.run);
    let t = trail(p.audit(), &order_record(15).key).await;
    assert_eq!(stages(&t), ["fetched", "mapped", "failed", "dead_lettered"]);
    assert_eq!(sink.post_calls(), 30, "a business rejection is not retried");
    // The claim was released, so a replay can take it at once.
    assert_eq!(p.dedup().state(&sales_order_job(15)).await.unwrap(), None);
}

/// An audit store that cannot park one record (its disk is full, say).
struct CannotPark {
    inner: MemoryAuditSink,
    refuse: RecordKey,
}

#[async_trait]
impl AuditSink for CannotPark {
    async fn append(&self, event: AuditEvent) -> Result<()> {
        self.inner.append(event).await
    }
    async fn query(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.inner.query(q).await
    }
    async fn park(&self, letter: DeadLetter) -> Result<()> {
        if letter.record.key == self.refuse {
            return Err(Error::store("memory", "disk full"));
        }
        self.inner.park(letter).await
    }
    async fn dead_letters(&self, q: &DeadLetterQuery) -> Result<Vec<DeadLetter>> {
        self.inner.dead_letters(q).await
    }
    async fn resolve(&self, r: &RecordKey, at: chrono::DateTime<chrono::Utc>) -> Result<()> {
        self.inner.resolve(r, at).await
    }
}

/// (a) If the refused record cannot be parked, it is not acknowledged: the run stops as
/// partial and the checkpoint stays before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_record_that_cannot_be_parked_holds_the_checkpoint() {
    let stores = Stores::memory().with_audit(Arc::new(CannotPark {
        inner: MemoryAuditSink::new(),
        refuse: order_record(15).key,
    }));
    let source = Arc::new(VecSource::new(order_pages(1, 30, 10)));
    let mapper = Arc::new(OrderMapper::default());
    let sink = Arc::new(MemoryErp::new());
    sink.fault(&order_external_id(15), Fault::Reject);
    let p = build(&source, &mapper, &sink, &stores)
        .concurrency(1)
        .build()
        .unwrap();
    let r = p.run("orders").await.unwrap();
    let partial = r.partial.clone().expect("partial");
    assert!(
        partial.contains("disk full") && partial.contains("default:000000015"),
        "{partial}"
    );
    assert_eq!(checkpoint(&p).await, Some(page_cursor(0)));
    assert!(
        r.posted < 30 && r.posted >= 14,
        "the run stopped starting records: {r}"
    );
}

/// A source that fails after some pages ends the run as partial; what was read is processed
/// and committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_error_after_some_pages_is_a_partial_run_not_a_success() {
    let stores = Stores::memory();
    let source = Arc::new(VecSource::new(order_pages(1, 50, 10)));
    source.fail_after(Some(2));
    let mapper = Arc::new(OrderMapper::default());
    let sink = Arc::new(MemoryErp::new());
    let p = build(&source, &mapper, &sink, &stores).build().unwrap();
    let r = p.run("orders").await.unwrap();
    let partial = r.partial.clone().expect("partial");
    assert!(
        partial.contains("after 2 page(s)") && partial.contains("retry budget spent"),
        "{partial}"
    );
    assert_eq!((r.fetched, r.posted), (20, 20));
    assert_eq!(checkpoint(&p).await, Some(page_cursor(1)));
    assert!(r.to_string().contains("PARTIAL"), "{r}");

    source.fail_after(None);
    let r2 = p.run("orders").await.unwrap();
    assert!(r2.is_complete());
    assert_eq!((r2.fetched, r2.posted), (30, 30));
}

/// Transient failures retry with backoff and are counted; throttling separately; a record that
/// runs out of retries is dead-lettered with the claim released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_retry_then_dead_letter_when_exhausted() {
    let stores = Stores::memory();
    let source = Arc::new(VecSource::new(order_pages(1, 10, 10)));
    let mapper = Arc::new(OrderMapper::default());
    let sink = Arc::new(MemoryErp::new());
    sink.fault(&order_external_id(2), Fault::Throttle(2));
    sink.fault(&order_external_id(3), Fault::Unavailable(2));
    sink.fault(&order_external_id(4), Fault::Unavailable(100));
    let p = build(&source, &mapper, &sink, &stores).build().unwrap();
    let r = p.run("orders").await.unwrap();
    assert!(r.is_complete(), "{r}");
    assert_eq!((r.posted, r.failed), (9, 1));
    assert_eq!(r.throttled, 2);
    assert_eq!(
        r.retried,
        2 + 2 + 3,
        "max_attempts 4 = 3 retries for order 4"
    );
    let letter = &p
        .audit()
        .dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap()[0];
    assert_eq!(letter.record.key, order_record(4).key);
    assert!(
        letter.error.contains("gave up after 4 attempt(s)"),
        "{}",
        letter.error
    );
    let failed = p
        .audit()
        .query(&AuditQuery {
            record: Some(order_record(2).key),
            stage: Some(AuditStage::Failed),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].detail["throttled"], true);
    assert_eq!(p.dedup().state(&sales_order_job(4)).await.unwrap(), None);
    assert_eq!(sink.stored_counts().get(&order_external_id(2)), Some(&1));
}

/// (b) A post whose answer is lost (stored, then a timeout) is checked with `find` before any
/// re-post: one document, and the trail shows the failure and the confirmed post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_post_is_found_not_posted_again() {
    let stores = Stores::memory();
    let source = Arc::new(VecSource::new(order_pages(1, 10, 5)));
    let mapper = Arc::new(OrderMapper::default());
    let sink = Arc::new(MemoryErp::new());
    sink.fault(&order_external_id(3), Fault::StoreThenAmbiguous);
    let p = build(&source, &mapper, &sink, &stores).build().unwrap();
    let r = p.run("orders").await.unwrap();
    assert!(r.is_complete(), "{r}");
    assert_eq!((r.posted, r.skipped, r.retried), (10, 0, 1));
    assert_eq!(sink.post_calls(), 10, "no second post for order 3");
    assert_eq!(sink.find_calls(), 1);
    assert_eq!(sink.stored_counts().get(&order_external_id(3)), Some(&1));
    let t = trail(p.audit(), &order_record(3).key).await;
    assert_eq!(stages(&t), ["fetched", "mapped", "failed", "posted"]);
    assert!(
        t[2].detail["error"]
            .as_str()
            .unwrap()
            .contains("outcome unknown")
    );
    assert_eq!(
        t[3].detail["response"]["found"],
        sink.receipt(&order_external_id(3)).unwrap().erp_key
    );
    assert!(matches!(
        p.dedup().state(&sales_order_job(3)).await.unwrap(),
        Some(JobState::Done(_))
    ));
}

/// (b) A worker crashes after the ERP stored the document and before the claim was completed.
/// A new worker on the same SQLite file waits out the lease, finds the document in the ERP,
/// completes the job without posting: one document and a complete trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_post_and_complete_heals_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ml.db");
    let source = Arc::new(VecSource::new(order_pages(1, 20, 5)));
    let mapper = Arc::new(OrderMapper::default());
    let sink = Arc::new(MemoryErp::new());
    sink.fault(&order_external_id(8), Fault::StoreThenHang);

    let first_run;
    {
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        let stores = Stores::from_one("sqlite", store);
        let p = build(&source, &mapper, &sink, &stores)
            .lease(Duration::from_millis(800))
            .build()
            .unwrap();
        let hung = sink.hung.notified();
        let worker = tokio::spawn(async move { p.run("orders").await });
        tokio::time::timeout(Duration::from_secs(10), hung)
            .await
            .expect("order 8 reaches the ERP");
        tokio::time::timeout(Duration::from_secs(10), async {
            while sink.stored_counts().len() < 20 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the other orders are posted");
        worker.abort(); // the crash
        assert!(worker.await.unwrap_err().is_cancelled());
        let t = trail(&(stores.audit.clone().unwrap()), &order_record(8).key).await;
        assert_eq!(stages(&t), ["fetched", "mapped"], "crashed mid-post");
        first_run = t[0].run.clone();
        assert!(matches!(
            stores.dedup.state(&sales_order_job(8)).await.unwrap(),
            Some(JobState::Leased(_))
        ));
    }

    // Restart: a new process opens the same file.
    sink.heal(&order_external_id(8));
    let posts_before = sink.post_calls();
    let store = Arc::new(SqliteStore::open(&db).unwrap());
    let stores = Stores::from_one("sqlite", store);
    let p = build(&source, &mapper, &sink, &stores).build().unwrap();
    assert_eq!(
        checkpoint(&p).await,
        Some(page_cursor(0)),
        "order 8's page was never acknowledged"
    );
    let r = p.run("orders").await.unwrap();
    assert!(r.is_complete(), "{r}");
    assert_eq!(r.fetched, 15);
    assert_eq!(r.posted, 0, "everything was in the ERP already: {r}");
    assert_eq!(r.skipped, 15);
    assert_eq!(sink.post_calls(), posts_before, "nothing re-posted");
    assert_eq!(sink.stored_counts().get(&order_external_id(8)), Some(&1));
    assert!(sink.stored_counts().values().all(|c| *c == 1));
    match p.dedup().state(&sales_order_job(8)).await.unwrap() {
        Some(JobState::Done(receipt)) => assert_eq!(
            receipt.erp_key,
            sink.receipt(&order_external_id(8)).unwrap().erp_key
        ),
        other => panic!("job should be done, got {other:?}"),
    }
    let t = trail(p.audit(), &order_record(8).key).await;
    assert_eq!(
        stages(&t),
        ["fetched", "mapped", "fetched", "mapped", "skipped"]
    );
    assert_eq!(t[0].run, first_run);
    assert_eq!(t[4].run, r.run);
    assert_eq!(t[4].detail["reason"], "found_in_erp");
    assert_eq!(t[4].detail["claim_attempt"], 2);
    assert_eq!(
        t[4].detail["erp_key"],
        sink.receipt(&order_external_id(8)).unwrap().erp_key
    );
    assert_eq!(checkpoint(&p).await, Some(page_cursor(3)));
}

/// (c) A record that failed to map is replayed from its stored payload after the fix: posted
/// once, the letter resolved; replaying again posts nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_after_the_fix_posts_once_and_replaying_again_posts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stores =
        ml_connector::store::connect(&format!("sqlite://{}", dir.path().join("ml.db").display()))
            .await
            .unwrap();
    let source = Arc::new(VecSource::new(order_pages(1, 20, 10)));
    let mapper = Arc::new(OrderMapper::default());
    mapper.refuse(&order_id(12));
    let sink = Arc::new(MemoryErp::new());
    let p = build(&source, &mapper, &sink, &stores).build().unwrap();
    let r = p.run("orders").await.unwrap();
    assert!(r.is_complete());
    assert_eq!((r.posted, r.failed), (19, 1));
    let key = order_record(12).key;

    // Replaying before the fix fails again and counts the failure.
    let before = p
        .replay(ReplayScope::Record(key.clone()), ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (before.letters, before.resolved, before.still_failing),
        (1, 0, 1)
    );
    let letter = &p
        .audit()
        .dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap()[0];
    assert_eq!(letter.failures, 2);
    assert!(letter.error.contains("skus.toml"), "{}", letter.error);

    // A dry run shows the mapping error, posts nothing.
    let dry = p
        .replay(
            ReplayScope::Unresolved,
            ReplayOptions {
                dry_run: true,
                ..ReplayOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(dry.errors.len(), 1);
    assert_eq!(dry.would_post().count(), 0);

    // The fix: the SKU is added to the crosswalk.
    mapper.accept(&order_id(12));
    let dry = p
        .replay(
            ReplayScope::Unresolved,
            ReplayOptions {
                dry_run: true,
                ..ReplayOptions::default()
            },
        )
        .await
        .unwrap();
    let plan: Vec<&PlannedDocument> = dry.would_post().collect();
    assert_eq!(plan.len(), 1);
    assert_eq!(plan[0].job, sales_order_job(12));
    assert_eq!(plan[0].document.external_id(), order_external_id(12));
    assert_eq!(sink.post_calls(), 19, "dry runs post nothing");

    let posts = sink.post_calls();
    let fixed = p
        .replay(ReplayScope::Record(key.clone()), ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!((fixed.resolved, fixed.still_failing), (1, 0));
    assert_eq!(fixed.report.posted, 1);
    assert_eq!(sink.post_calls(), posts + 1);
    assert_eq!(sink.stored_counts().get(&order_external_id(12)), Some(&1));
    assert!(
        p.audit()
            .dead_letters(&DeadLetterQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    let t = trail(p.audit(), &key).await;
    assert_eq!(
        stages(&t),
        [
            "fetched",
            "failed",
            "dead_lettered",
            "replayed",
            "failed",
            "dead_lettered",
            "replayed",
            "mapped",
            "posted"
        ]
    );
    assert_eq!(t[6].run, fixed.report.run);

    // Again: nothing is left to replay.
    let again = p
        .replay(ReplayScope::Record(key.clone()), ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!((again.letters, again.report.posted), (0, 0));
    // Even forcing the resolved letter through posts nothing: the job is done.
    let forced = p
        .replay(
            ReplayScope::Record(key.clone()),
            ReplayOptions {
                include_resolved: true,
                ..ReplayOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(forced.letters, 1);
    assert_eq!((forced.report.posted, forced.report.skipped), (0, 1));
    assert_eq!(sink.post_calls(), posts + 1);
    assert_eq!(sink.stored_counts().get(&order_external_id(12)), Some(&1));
    let dry = p
        .replay(
            ReplayScope::Record(key),
            ReplayOptions {
                dry_run: true,
                include_resolved: true,
                ..ReplayOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(dry.planned.iter().all(|d| d.already_done));
    assert_eq!(dry.would_post().count(), 0);
}

/// (c) Replay of a run: every record a run dead-lettered after the ERP-side cause is fixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_a_run_after_the_erp_side_fix() {
    let stores = Stores::memory();
    let source = Arc::new(VecSource::new(order_pages(1, 20, 10)));
    let mapper = Arc::new(OrderMapper::default());
    let sink = Arc::new(MemoryErp::new());
    for n in [4, 9, 17] {
        sink.fault(&order_external_id(n), Fault::Reject);
    }
    let p = build(&source, &mapper, &sink, &stores).build().unwrap();
    let r = p.run("orders").await.unwrap();
    assert_eq!(r.failed, 3);
    for n in [4, 9, 17] {
        sink.heal(&order_external_id(n));
    }
    let replay = p
        .replay(ReplayScope::Run(r.run.clone()), ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!((replay.letters, replay.resolved), (3, 3));
    assert_eq!(replay.report.posted, 3);
    assert!(replay.report.is_complete());
    let counts = sink.stored_counts();
    assert_eq!(counts.len(), 20);
    assert!(counts.values().all(|c| *c == 1));
    let replayed = p
        .audit()
        .query(&AuditQuery {
            run: Some(replay.report.run.clone()),
            stage: Some(AuditStage::Replayed),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(replayed.len(), 3);
    let again = p
        .replay(ReplayScope::Run(r.run), ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!((again.letters, again.report.posted), (0, 0));
}

/// A webhook-triggered single record takes the same path and leaves the checkpoint alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_record_posts_one_record_without_touching_the_checkpoint() {
    let stores = Stores::memory();
    let source = Arc::new(VecSource::new(order_pages(1, 20, 10)));
    let mapper = Arc::new(OrderMapper::default());
    let sink = Arc::new(MemoryErp::new());
    let p = build(&source, &mapper, &sink, &stores).build().unwrap();
    let r = p.sync_record("orders", &order_id(5)).await.unwrap();
    assert!(r.is_complete());
    assert_eq!((r.fetched, r.posted), (1, 1));
    assert_eq!(checkpoint(&p).await, None);
    let missing = p.sync_record("orders", "default:999").await.unwrap();
    assert!(missing.partial.unwrap().contains("default:999"));
    let full = p.run("orders").await.unwrap();
    assert_eq!((full.posted, full.skipped), (19, 1));
}

/// A mapper that gives two documents one job id would silently lose the second: refused.
#[tokio::test]
async fn duplicate_job_ids_from_a_mapper_are_refused() {
    struct Twice;
    impl ml_connector::Mapper for Twice {
        fn map(
            &self,
            record: &SourceRecord,
            ctx: &ml_connector::core::MapContext,
        ) -> Result<Vec<ml_connector::model::ErpDocument>> {
            let one = OrderMapper::default().map(record, ctx)?;
            Ok(vec![one[0].clone(), one[0].clone()])
        }
    }
    let stores = Stores::memory();
    let sink = Arc::new(MemoryErp::new());
    let p = Pipeline::builder()
        .source(Arc::new(VecSource::new(order_pages(1, 1, 1))))
        .mapper(Arc::new(Twice))
        .sink(sink.clone())
        .stores(&stores)
        .unwrap()
        .build()
        .unwrap();
    let r = p.run("orders").await.unwrap();
    assert_eq!((r.posted, r.failed), (0, 1));
    let letter = &p
        .audit()
        .dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap()[0];
    assert!(letter.error.contains("distinct `part`"), "{}", letter.error);
    assert_eq!(sink.post_calls(), 0);
}

#[tokio::test]
async fn the_builder_names_a_missing_part() {
    let e = Pipeline::builder()
        .source(Arc::new(VecSource::new(vec![])))
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("pipeline.mapper"), "{e}");
    let redis_only = Stores {
        audit: None,
        ..Stores::memory()
    };
    let e = Pipeline::builder()
        .stores(&redis_only)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("audit"), "{e}");
}

struct CrosswalkCheck {
    ok: bool,
    calls: Mutex<u32>,
}

#[async_trait]
impl FlowCheck for CrosswalkCheck {
    fn name(&self) -> &str {
        "sku-crosswalk"
    }
    async fn check(&self) -> Result<()> {
        *self.calls.lock().unwrap() += 1;
        if self.ok {
            Ok(())
        } else {
            Err(Error::data(
                "adobe/products/SKU-3",
                "SKU-3 has no QAD item",
                "add it to skus.toml",
            ))
        }
    }
}

fn customer_pages(n: usize) -> Vec<Vec<SourceRecord>> {
    vec![(1..=n).map(customer_record).collect()]
}

/// Flows run stages in order: every customer is in the ERP before the first order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_posts_masters_before_orders_and_stops_on_a_failed_check() {
    let stores = Stores::memory();
    let sink = Arc::new(MemoryErp::new());
    let mapper = Arc::new(OrderMapper::default());
    let customers = Pipeline::builder()
        .source(Arc::new(VecSource::with_stream(
            "adobe",
            "customers",
            customer_pages(15),
        )))
        .mapper(mapper.clone())
        .sink(sink.clone())
        .stores(&stores)
        .unwrap()
        .build()
        .unwrap();
    let orders = build(
        &Arc::new(VecSource::new(order_pages(1, 30, 10))),
        &mapper,
        &sink,
        &stores,
    )
    .build()
    .unwrap();
    let check = Arc::new(CrosswalkCheck {
        ok: true,
        calls: Mutex::new(0),
    });
    let flow = Flow::new("adobe-to-qad")
        .stage("masters", [Step::sync(&customers, "customers")])
        .stage("crosswalk", [Step::check(check.clone())])
        .stage("documents", [Step::sync(&orders, "orders")]);
    let report = flow.run(&Shutdown::never()).await;
    assert!(report.partial.is_none(), "{report:?}");
    assert_eq!(report.stages_run, 3);
    assert_eq!((report.fetched(), report.posted()), (45, 45));
    assert_eq!(report.checks, vec![("sku-crosswalk".to_string(), None)]);
    let log = sink.store_log();
    let last_customer = log
        .iter()
        .rposition(|x| x.starts_with("adobe:customer:"))
        .unwrap();
    let first_order = log
        .iter()
        .position(|x| x.starts_with("adobe:default:order:"))
        .unwrap();
    assert!(last_customer < first_order, "{log:?}");

    // A failing check stops the flow before the orders stage.
    let sink2 = Arc::new(MemoryErp::new());
    let stores2 = Stores::memory();
    let orders2 = build(
        &Arc::new(VecSource::new(order_pages(1, 30, 10))),
        &mapper,
        &sink2,
        &stores2,
    )
    .build()
    .unwrap();
    let failing = Flow::new("blocked")
        .stage(
            "crosswalk",
            [Step::check(Arc::new(CrosswalkCheck {
                ok: false,
                calls: Mutex::new(0),
            }))],
        )
        .stage("documents", [Step::sync(&orders2, "orders")]);
    let report = failing.run(&Shutdown::never()).await;
    assert_eq!(report.stages_run, 1);
    let partial = report.partial.unwrap();
    assert!(
        partial.contains("sku-crosswalk") && partial.contains("skus.toml"),
        "{partial}"
    );
    assert_eq!(sink2.post_calls(), 0);
}

/// The scheduler runs a flow on a "run now" request and shuts down gracefully.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_runs_on_demand_and_shuts_down() {
    let stores = Stores::memory();
    let sink = Arc::new(MemoryErp::new());
    let mapper = Arc::new(OrderMapper::default());
    let orders = build(
        &Arc::new(VecSource::new(order_pages(1, 20, 10))),
        &mapper,
        &sink,
        &stores,
    )
    .build()
    .unwrap();
    let flow = Flow::new("orders").stage("documents", [Step::sync(&orders, "orders")]);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<FlowReport>();
    let handle = Scheduler::new()
        .add_flow(
            ScheduledFlow::new(flow, Schedule::every(Duration::from_secs(3600)))
                .jitter(Duration::from_secs(5)),
        )
        .on_report(move |r| {
            let _ = tx.send(r.clone());
        })
        .spawn();
    // Nothing runs before the hour is up…
    assert!(
        tokio::time::timeout(Duration::from_millis(200), rx.recv())
            .await
            .is_err()
    );
    // …until a webhook asks.
    handle
        .triggers()
        .send(RunNow::flow("orders", "webhook: order 7 changed"))
        .await
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the flow runs on request")
        .unwrap();
    assert_eq!(report.posted(), 20);
    handle
        .triggers()
        .send(RunNow::all("operator"))
        .await
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.fetched(), 0, "resumed from the checkpoint");
    tokio::time::timeout(Duration::from_secs(10), handle.shutdown())
        .await
        .expect("shutdown returns");
}

/// A cron schedule fires on its own; shutdown during a run lets in-flight records finish,
/// commits what was acknowledged, and reports the run as partial.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cron_fires_and_shutdown_mid_run_commits_what_was_acknowledged() {
    let stores = Stores::memory();
    let sink = Arc::new(MemoryErp::new().with_delay(Duration::from_millis(20)));
    let mapper = Arc::new(OrderMapper::default());
    let orders = build(
        &Arc::new(VecSource::new(order_pages(1, 400, 10))),
        &mapper,
        &sink,
        &stores,
    )
    .build()
    .unwrap();
    let flow = Flow::new("orders").stage("documents", [Step::sync(&orders, "orders")]);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<FlowReport>();
    let handle = Scheduler::new()
        .add_flow(ScheduledFlow::new(
            flow,
            Schedule::cron("* * * * * *").unwrap(),
        ))
        .on_report(move |r| {
            let _ = tx.send(r.clone());
        })
        .spawn();
    // The every-second cron starts the flow; wait until it is well under way.
    tokio::time::timeout(Duration::from_secs(10), async {
        while sink.stored_counts().len() < 30 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the cron schedule started the flow");
    tokio::time::timeout(Duration::from_secs(10), handle.shutdown())
        .await
        .expect("graceful shutdown returns");
    let report = rx.recv().await.expect("the interrupted run reported");
    let run = &report.runs[0];
    assert!(
        run.partial.as_deref().unwrap().contains("shutdown"),
        "{run}"
    );
    assert!(run.posted < 400, "stopped early: {run}");
    let posted_now = sink.stored_counts().len() as u64;
    assert_eq!(
        run.posted, posted_now,
        "in-flight posts finished and were counted"
    );
    // The committed checkpoint covers only acknowledged records.
    let committed = checkpoint(&orders).await.expect("something was committed");
    let page = committed.0["page"].as_u64().unwrap() as usize;
    for n in 1..=(page + 1) * 10 {
        assert_eq!(
            sink.stored_counts().get(&order_external_id(n)),
            Some(&1),
            "order {n} is before the checkpoint"
        );
    }
    assert!(rx.try_recv().is_err(), "no run starts after shutdown");
}
