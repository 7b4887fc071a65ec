//! The run loop of one stream: pages in, bounded concurrent record processing, checkpoint at
//! the low-water mark of acknowledged records.

use std::collections::VecDeque;

use std::sync::Arc;

use futures::stream::StreamExt;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{Instrument, info, info_span, warn};

use super::acks::AckTracker;
use super::process::{Processed, RunCtx};
use super::report::{ProgressEvent, RecordOutcome, RunReport, Stats};
use super::{Inner, Pipeline, Shutdown};
use crate::core::{AuditStage, CheckpointKey, Cursor};
use crate::error::{Error, Result};
use crate::model::{RunId, SourceRecord};

/// How a record ended, for the loop.
enum Ack {
    /// Acknowledged: the checkpoint may pass it.
    Yes(RecordOutcome),
    /// Not acknowledged: the checkpoint must stay before it.
    No(String),
    /// Not acknowledged and the run must stop (a store failed).
    Fatal(Error),
}

impl Inner {
    /// Audits `fetched`, processes, and dead-letters on failure.
    async fn run_record(&self, rc: &RunCtx, record: &SourceRecord) -> Ack {
        let key = &record.key;
        let fetched = self
            .audit(
                &rc.run,
                key,
                None,
                AuditStage::Fetched,
                format!("fetched version {}", record.version),
                serde_json::json!({
                    "version": record.version,
                    "updated_at": record.updated_at,
                    "type": record.body.type_name(),
                    "raw": record.raw,
                }),
            )
            .await;
        if let Err(e) = fetched {
            return Ack::Fatal(e);
        }
        match self.process_record(rc, record).await {
            Processed::Done { posted, skipped } => {
                Ack::Yes(RecordOutcome::Done { posted, skipped })
            }
            Processed::Failed(e) => match self.dead_letter(rc, record, &e).await {
                Ok(()) => Ack::Yes(RecordOutcome::DeadLettered),
                Err(store) => Ack::Fatal(store),
            },
            Processed::Interrupted(why) => Ack::No(why),
            Processed::Fatal(e) => Ack::Fatal(e),
        }
    }

    async fn commit(&self, run: &RunId, key: &CheckpointKey, cursor: &Cursor) -> Result<()> {
        self.store_op("commit checkpoint", || self.checkpoints.commit(key, cursor))
            .await?;
        info!(checkpoint = %key, "checkpoint committed");
        self.emit(&ProgressEvent::CheckpointCommitted {
            run: run.clone(),
            cursor: cursor.clone(),
        });
        Ok(())
    }
}

impl Pipeline {
    /// Syncs `stream` from its checkpoint to the end of what the source has, then returns.
    ///
    /// # Errors
    /// Only when the run cannot start (the checkpoint cannot be loaded). Failures after that
    /// end the run as partial: see [`RunReport::partial`].
    pub async fn run(&self, stream: &str) -> Result<RunReport> {
        self.run_until(stream, &Shutdown::never()).await
    }

    /// As [`Pipeline::run`], stopping early (in-flight records finish, the checkpoint is
    /// committed, the report says partial) when `shutdown` fires.
    ///
    /// # Errors
    /// Only when the run cannot start (the checkpoint cannot be loaded).
    pub async fn run_until(&self, stream: &str, shutdown: &Shutdown) -> Result<RunReport> {
        let inner = &*self.inner;
        let run = RunId::new();
        let span = info_span!("run", run = %run, source = %inner.scope, stream = %stream);
        async move {
            let started = Instant::now();
            let key = self.checkpoint_key(stream);
            let resume = inner
                .store_op("load checkpoint", || inner.checkpoints.load(&key))
                .await?;
            inner.emit(&ProgressEvent::RunStarted {
                run: run.clone(),
                source: inner.scope.clone(),
                stream: stream.to_string(),
                resume_from: resume.clone(),
            });
            info!(resume_from = ?resume.as_ref().map(|c| &c.0), "run started");
            let rc = Arc::new(RunCtx {
                run: run.clone(),
                stats: Stats::default(),
                shutdown: shutdown.clone(),
            });
            let limit = inner.config.concurrency;
            let mut pages = inner.source.changes(stream, resume);
            let mut acks = AckTracker::default();
            let mut queue: VecDeque<(u64, SourceRecord)> = VecDeque::new();
            // Record tasks run on their own (so the loop may await a commit while they hold
            // store connections); dropping the set — a cancelled run — aborts them.
            let mut inflight: JoinSet<(u64, SourceRecord, Ack)> = JoinSet::new();
            let mut source_done = false;
            let mut stop_starting = false;
            let mut partial: Option<String> = None;
            let mut committed: Option<Cursor> = None;
            let mut page_no = 0u64;

            loop {
                if !stop_starting && shutdown.is_requested() {
                    stop_starting = true;
                    partial.get_or_insert_with(|| {
                        "shutdown requested: stopped before the end of the stream".to_string()
                    });
                }
                while !stop_starting && inflight.len() < limit {
                    let Some((seq, record)) = queue.pop_front() else {
                        break;
                    };
                    let rspan = info_span!("record", record = %record.key, page = seq + 1);
                    let rc = Arc::clone(&rc);
                    let task_inner = Arc::clone(&self.inner);
                    inflight.spawn(
                        async move {
                            let ack = task_inner.run_record(&rc, &record).await;
                            (seq, record, ack)
                        }
                        .instrument(rspan),
                    );
                }
                let want_page = !source_done && !stop_starting && queue.is_empty();
                if inflight.is_empty() && !want_page {
                    break;
                }
                tokio::select! {
                    biased;
                    Some(joined) = inflight.join_next(), if !inflight.is_empty() => {
                        let (seq, record, ack) = match joined {
                            Ok(done) => done,
                            Err(e) => {
                                // A panicking mapper or sink: that record is never acknowledged.
                                warn!(error = %e, "a record task failed; stopping the run");
                                stop_starting = true;
                                partial.get_or_insert_with(|| format!("a record task failed: {e}"));
                                continue;
                            }
                        };
                        match ack {
                            Ack::Yes(outcome) => {
                                inner.emit(&ProgressEvent::RecordFinished {
                                    run: run.clone(),
                                    record: record.key.clone(),
                                    outcome,
                                });
                                if let Some(cursor) = acks.ack(seq) {
                                    match inner.commit(&run, &key, &cursor).await {
                                        Ok(()) => committed = Some(cursor),
                                        Err(e) => {
                                            warn!(error = %e, "checkpoint commit failed; stopping the run");
                                            stop_starting = true;
                                            partial.get_or_insert_with(|| format!("checkpoint commit failed: {e}"));
                                        }
                                    }
                                }
                            }
                            Ack::No(why) => {
                                warn!(record = %record.key, "{why}");
                                inner.emit(&ProgressEvent::RecordFinished {
                                    run: run.clone(),
                                    record: record.key.clone(),
                                    outcome: RecordOutcome::Deferred,
                                });
                                partial.get_or_insert_with(|| format!("record {} not acknowledged: {why}", record.key));
                            }
                            Ack::Fatal(e) => {
                                warn!(record = %record.key, error = %e, "store failure; stopping the run");
                                stop_starting = true;
                                partial.get_or_insert_with(|| format!("store failure at record {}: {e}", record.key));
                            }
                        }
                    }
                    page = pages.next(), if want_page => match page {
                        None => source_done = true,
                        Some(Ok(page)) => {
                            page_no += 1;
                            let n = page.records.len();
                            info_span!("page", page = page_no, records = n).in_scope(|| {
                                info!("page fetched");
                                Stats::add(&rc.stats.pages, 1);
                                Stats::add(&rc.stats.fetched, n as u64);
                                let seq = acks.open(page.cursor, n);
                                queue.extend(page.records.into_iter().map(|r| (seq, r)));
                            });
                            inner.emit(&ProgressEvent::PageFetched { run: run.clone(), page: page_no, records: n });
                            if n == 0 && let Some(cursor) = acks.settle() {
                                match inner.commit(&run, &key, &cursor).await {
                                    Ok(()) => committed = Some(cursor),
                                    Err(e) => {
                                        stop_starting = true;
                                        partial.get_or_insert_with(|| format!("checkpoint commit failed: {e}"));
                                    }
                                }
                            }
                        }
                        Some(Err(e)) => {
                            warn!(error = %e, pages = page_no, "source stream failed; finishing what was read");
                            source_done = true;
                            partial.get_or_insert_with(|| format!(
                                "the source stream failed after {page_no} page(s): {e}"
                            ));
                        }
                    },
                    () = shutdown.requested(), if !stop_starting => {}
                }
            }
            let report = rc.stats.report(
                run.clone(),
                inner.scope.clone(),
                stream.to_string(),
                committed,
                started.elapsed(),
                partial,
            );
            info!(%report, "run finished");
            inner.emit(&ProgressEvent::RunFinished {
                report: report.clone(),
            });
            Ok(report)
        }
        .instrument(span)
        .await
    }

    /// Syncs one record by its source id now (a webhook's "this order changed"): fetched from
    /// the source, then the same map → claim → post path as a run, without touching the
    /// checkpoint. Polling stays the safety net.
    ///
    /// # Errors
    /// When the source cannot be asked; a record the source does not have is reported as
    /// partial with the reason.
    pub async fn sync_record(&self, stream: &str, source_id: &str) -> Result<RunReport> {
        let inner = &*self.inner;
        let run = RunId::new();
        let span = info_span!("sync_record", run = %run, source = %inner.scope, stream = %stream, source_id = %source_id);
        async move {
            let started = Instant::now();
            let rc = RunCtx {
                run: run.clone(),
                stats: Stats::default(),
                shutdown: Shutdown::never(),
            };
            let mut partial = None;
            match inner.source.fetch(stream, source_id).await? {
                None => {
                    partial = Some(format!(
                        "{}/{stream} has no record {source_id}",
                        inner.source.name()
                    ));
                }
                Some(record) => {
                    Stats::add(&rc.stats.fetched, 1);
                    match inner.run_record(&rc, &record).await {
                        Ack::Yes(_) => {}
                        Ack::No(why) => partial = Some(why),
                        Ack::Fatal(e) => partial = Some(format!("store failure: {e}")),
                    }
                }
            }
            Ok(rc.stats.report(
                run.clone(),
                inner.scope.clone(),
                stream.to_string(),
                None,
                started.elapsed(),
                partial,
            ))
        }
        .instrument(span)
        .await
    }
}
