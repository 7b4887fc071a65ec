//! What a run tells its host: the [`RunReport`] at the end and [`ProgressEvent`]s on the way.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::core::Cursor;
use crate::model::{JobId, RecordKey, RunId};

/// The outcome of one run of one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The run's id (audit events carry it).
    pub run: RunId,
    /// The source (checkpoint scope).
    pub source: String,
    /// The stream.
    pub stream: String,
    /// Pages read.
    pub pages: u64,
    /// Records read.
    pub fetched: u64,
    /// Documents written to the ERP.
    pub posted: u64,
    /// Documents not written because they were done already (dedup) or the ERP had them
    /// (`find`): the duplicates prevented.
    pub skipped: u64,
    /// Records parked in the dead-letter list (replayable).
    pub failed: u64,
    /// Retries of transient failures (throttling, 5xx, timeouts, ambiguous posts).
    pub retried: u64,
    /// Of the transient failures, those that were throttling (HTTP 429 or `Retry-After`).
    pub throttled: u64,
    /// The checkpoint committed by this run, if it committed one.
    pub committed: Option<Cursor>,
    /// Wall-clock time.
    pub duration: Duration,
    /// `Some(reason)` when the run did not reach the end of the stream (source error,
    /// shutdown, a store failure, records left to another worker): what was acknowledged is
    /// committed, the rest is read again next run. Never a silent success.
    pub partial: Option<String>,
}

impl RunReport {
    /// `true` when the run read the stream to its end and acknowledged every record.
    pub fn is_complete(&self) -> bool {
        self.partial.is_none()
    }
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}: {} fetched, {} posted, {} skipped (duplicates prevented), {} dead-lettered, {} retried ({} throttled) in {:.1?}",
            self.source,
            self.stream,
            self.fetched,
            self.posted,
            self.skipped,
            self.failed,
            self.retried,
            self.throttled,
            self.duration
        )?;
        if let Some(p) = &self.partial {
            write!(f, " — PARTIAL: {p}")?;
        }
        Ok(())
    }
}

/// How one record ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordOutcome {
    /// Every document was posted or skipped; `posted` of them were written now.
    Done {
        /// Documents written by this run.
        posted: u32,
        /// Documents skipped as duplicates.
        skipped: u32,
    },
    /// Parked in the dead-letter list.
    DeadLettered,
    /// Not acknowledged (shutdown, or another worker still holds it): read again next run.
    Deferred,
}

/// What a run reports while it works; a host can drive a progress bar from it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// A run started.
    RunStarted {
        /// The run.
        run: RunId,
        /// Source (checkpoint scope).
        source: String,
        /// Stream.
        stream: String,
        /// The checkpoint it resumes from.
        resume_from: Option<Cursor>,
    },
    /// A page arrived from the source.
    PageFetched {
        /// The run.
        run: RunId,
        /// 1-based page number within the run.
        page: u64,
        /// Records on it.
        records: usize,
    },
    /// A record was finished.
    RecordFinished {
        /// The run.
        run: RunId,
        /// The record.
        record: RecordKey,
        /// How.
        outcome: RecordOutcome,
    },
    /// A transient failure will be retried.
    Retrying {
        /// The run.
        run: RunId,
        /// The job being retried.
        job: JobId,
        /// Failures so far.
        failures: u32,
        /// Pause before the next attempt.
        delay: Duration,
        /// The failure (secrets redacted).
        error: String,
    },
    /// The checkpoint advanced.
    CheckpointCommitted {
        /// The run.
        run: RunId,
        /// The new position.
        cursor: Cursor,
    },
    /// The run ended.
    RunFinished {
        /// Its report.
        report: RunReport,
    },
}

/// A progress callback. Called inline: keep it quick (update a bar, send on a channel).
pub type ProgressFn = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Counters shared by the concurrent record tasks of one run.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub pages: AtomicU64,
    pub fetched: AtomicU64,
    pub posted: AtomicU64,
    pub skipped: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub throttled: AtomicU64,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn report(
        &self,
        run: RunId,
        source: String,
        stream: String,
        committed: Option<Cursor>,
        duration: Duration,
        partial: Option<String>,
    ) -> RunReport {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RunReport {
            run,
            source,
            stream,
            pages: get(&self.pages),
            fetched: get(&self.fetched),
            posted: get(&self.posted),
            skipped: get(&self.skipped),
            failed: get(&self.failed),
            retried: get(&self.retried),
            throttled: get(&self.throttled),
            committed,
            duration,
            partial,
        }
    }
}
