//! Replay of dead-lettered records from their stored payload, through the same map → claim →
//! post path, with a dry run that shows what would be posted.

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use tokio::time::Instant;
use tracing::{Instrument, info, info_span};

use super::process::{Processed, RunCtx};
use super::report::{RunReport, Stats};
use super::{Pipeline, Shutdown};
use crate::core::{AuditStage, DeadLetter, DeadLetterQuery, JobState};
use crate::error::Result;
use crate::model::{ErpDocument, JobId, RecordKey, RunId};

/// Which dead letters to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayScope {
    /// One record.
    Record(RecordKey),
    /// Every unresolved dead letter.
    Unresolved,
    /// The dead letters parked by one run.
    Run(RunId),
    /// The dead letters parked at or after a time ("failed since").
    FailedSince(DateTime<Utc>),
}

/// How to replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Map and check dedup state only: post nothing, write nothing, return the plan.
    pub dry_run: bool,
    /// Also replay letters already resolved (dedup still prevents double posting).
    pub include_resolved: bool,
    /// Only letters of these streams (a pipeline replays with its own mapper; give the
    /// streams it maps when several pipelines share one audit store).
    pub streams: Option<Vec<String>>,
}

/// A document a replay would post (dry run).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedDocument {
    /// The record it comes from.
    pub record: RecordKey,
    /// Its job id.
    pub job: JobId,
    /// The document as the mapper produces it today.
    pub document: ErpDocument,
    /// `true` when the job is done already: a real replay would skip it.
    pub already_done: bool,
}

/// What a replay did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    /// Counters as for a run: `fetched` = letters replayed, `failed` = letters parked again.
    pub report: RunReport,
    /// Letters selected.
    pub letters: usize,
    /// Letters resolved by this replay.
    pub resolved: usize,
    /// Letters that failed again (parked again with their failure count raised).
    pub still_failing: usize,
    /// Dry run: the documents per letter, flagged when already done.
    pub planned: Vec<PlannedDocument>,
    /// Dry run: letters that would fail to map, with the error.
    pub errors: Vec<(RecordKey, String)>,
}

impl ReplayReport {
    /// Dry run: the documents that would actually be posted.
    pub fn would_post(&self) -> impl Iterator<Item = &PlannedDocument> {
        self.planned.iter().filter(|p| !p.already_done)
    }
}

enum LetterOutcome {
    Resolved,
    StillFailing,
    Deferred(String),
    Fatal(String),
}

impl Pipeline {
    /// Replays dead letters from their stored payload (not from today's source): audited as
    /// `replayed`, then mapped, claimed and posted like a run (dedup makes a second replay
    /// post nothing); a letter is resolved when all its documents are posted or skipped, and
    /// parked again with its failure count raised when it fails again.
    ///
    /// # Errors
    /// When the dead letters cannot be read.
    pub async fn replay(&self, scope: ReplayScope, opts: ReplayOptions) -> Result<ReplayReport> {
        let inner = &*self.inner;
        let run = RunId::new();
        let span = info_span!("replay", run = %run, scope = ?scope, dry_run = opts.dry_run);
        async move {
            let started = Instant::now();
            let query = match &scope {
                ReplayScope::Record(k) => DeadLetterQuery {
                    record: Some(k.clone()),
                    ..DeadLetterQuery::default()
                },
                ReplayScope::Unresolved => DeadLetterQuery::default(),
                ReplayScope::Run(r) => DeadLetterQuery {
                    run: Some(r.clone()),
                    ..DeadLetterQuery::default()
                },
                ReplayScope::FailedSince(t) => DeadLetterQuery {
                    since: Some(*t),
                    ..DeadLetterQuery::default()
                },
            };
            let query = DeadLetterQuery {
                include_resolved: opts.include_resolved,
                ..query
            };
            let mut letters = inner
                .store_op("read dead letters", || inner.audit.dead_letters(&query))
                .await?;
            if let Some(streams) = &opts.streams {
                letters.retain(|l| streams.contains(&l.record.key.stream));
            }
            if opts.include_resolved {
                // One replay per record: the newest letter carries the latest payload.
                let mut seen = std::collections::HashSet::new();
                letters.reverse();
                letters.retain(|l| seen.insert(l.record.key.clone()));
                letters.reverse();
            }
            info!(letters = letters.len(), "replay started");
            let rc = RunCtx {
                run: run.clone(),
                stats: Stats::default(),
                shutdown: Shutdown::never(),
            };
            let mut report = ReplayReport {
                report: rc.stats.report(
                    run.clone(),
                    inner.scope.clone(),
                    String::new(),
                    None,
                    started.elapsed(),
                    None,
                ),
                letters: letters.len(),
                resolved: 0,
                still_failing: 0,
                planned: Vec::new(),
                errors: Vec::new(),
            };
            if opts.dry_run {
                for letter in &letters {
                    self.plan(letter, &mut report).await?;
                }
                report.report.duration = started.elapsed();
                return Ok(report);
            }
            let outcomes: Vec<LetterOutcome> = stream::iter(letters.iter())
                .map(|letter| self.replay_one(&rc, letter))
                .buffer_unordered(inner.config.concurrency)
                .collect()
                .await;
            let mut partial = None;
            for o in outcomes {
                match o {
                    LetterOutcome::Resolved => report.resolved += 1,
                    LetterOutcome::StillFailing => report.still_failing += 1,
                    LetterOutcome::Deferred(why) | LetterOutcome::Fatal(why) => {
                        partial.get_or_insert(why);
                    }
                }
            }
            let streams: Vec<&str> = {
                let mut s: Vec<&str> = letters
                    .iter()
                    .map(|l| l.record.key.stream.as_str())
                    .collect();
                s.sort_unstable();
                s.dedup();
                s
            };
            report.report = rc.stats.report(
                run.clone(),
                inner.scope.clone(),
                streams.join(","),
                None,
                started.elapsed(),
                partial,
            );
            info!(
                resolved = report.resolved,
                still_failing = report.still_failing,
                "replay finished"
            );
            Ok(report)
        }
        .instrument(span)
        .await
    }

    async fn plan(&self, letter: &DeadLetter, report: &mut ReplayReport) -> Result<()> {
        let inner = &*self.inner;
        let key = &letter.record.key;
        let ctx = inner.map_context();
        match inner.mapper.map(&letter.record, &ctx) {
            Err(e) => report.errors.push((key.clone(), e.to_string())),
            Ok(docs) => {
                for document in docs {
                    let job = Pipeline::job_id(key, &document);
                    let state = inner
                        .store_op("read job state", || inner.dedup.state(&job))
                        .await?;
                    report.planned.push(PlannedDocument {
                        record: key.clone(),
                        already_done: matches!(state, Some(JobState::Done(_))),
                        job,
                        document,
                    });
                }
            }
        }
        Ok(())
    }

    async fn replay_one(&self, rc: &RunCtx, letter: &DeadLetter) -> LetterOutcome {
        let inner = &*self.inner;
        let key = &letter.record.key;
        let span = info_span!("record", record = %key, replay = true);
        async move {
            Stats::add(&rc.stats.fetched, 1);
            if let Err(e) = inner
                .audit(
                    &rc.run,
                    key,
                    None,
                    AuditStage::Replayed,
                    format!(
                        "replayed from the payload stored at {} (failure {} in run {})",
                        letter.parked_at, letter.failures, letter.run
                    ),
                    serde_json::json!({
                        "parked_at": letter.parked_at,
                        "parked_by_run": letter.run,
                        "failures": letter.failures,
                        "error": letter.error,
                        "version": letter.record.version,
                    }),
                )
                .await
            {
                return LetterOutcome::Fatal(format!("audit failed for {key}: {e}"));
            }
            match inner.process_record(rc, &letter.record).await {
                Processed::Done { .. } => {
                    match inner
                        .store_op("resolve dead letter", || {
                            inner.audit.resolve(key, Utc::now())
                        })
                        .await
                    {
                        Ok(()) => LetterOutcome::Resolved,
                        Err(e) => LetterOutcome::Fatal(format!(
                            "{key} was replayed but its letter could not be resolved: {e}"
                        )),
                    }
                }
                Processed::Failed(e) => match inner.dead_letter(rc, &letter.record, &e).await {
                    Ok(()) => LetterOutcome::StillFailing,
                    Err(store) => LetterOutcome::Fatal(format!(
                        "{key} failed again and could not be parked: {store}"
                    )),
                },
                Processed::Interrupted(why) => LetterOutcome::Deferred(why),
                Processed::Fatal(e) => LetterOutcome::Fatal(format!("store failure at {key}: {e}")),
            }
        }
        .instrument(span)
        .await
    }
}
