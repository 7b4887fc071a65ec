//! One record through map → claim → (find) → post → complete → audit.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use tracing::{debug, warn};

use super::report::{ProgressEvent, Stats};
use super::retry::is_throttle;
use super::{Inner, Shutdown};
use crate::core::{AuditEvent, AuditStage, Claim, DeadLetter, DeadLetterQuery, Lease, Receipt};
use crate::error::{Context, Error, ErrorKind, Result};
use crate::model::{ErpDocument, JobId, RecordKey, RunId, SourceRecord};

/// Per-run state shared by the record tasks.
pub(crate) struct RunCtx {
    pub run: RunId,
    pub stats: Stats,
    pub shutdown: Shutdown,
}

/// How a record ended, as the run loop needs to know it.
#[derive(Debug)]
pub(crate) enum Processed {
    /// Every document posted or skipped.
    Done { posted: u32, skipped: u32 },
    /// The record failed permanently (or ran out of retries): dead-letter it.
    Failed(Error),
    /// Not finished and not failed (shutdown, another worker's live lease): not acknowledged.
    Interrupted(String),
    /// A store failed: the record cannot be acknowledged and the run must stop.
    Fatal(Error),
}

/// Why a document did not finish.
enum Stop {
    Failed(Error),
    Interrupted(String),
    Fatal(Error),
}

impl From<Stop> for Processed {
    fn from(s: Stop) -> Self {
        match s {
            Stop::Failed(e) => Processed::Failed(e),
            Stop::Interrupted(m) => Processed::Interrupted(m),
            Stop::Fatal(e) => Processed::Fatal(e),
        }
    }
}

enum DocOutcome {
    Posted,
    Skipped,
}

enum Acquired {
    Lease(Lease),
    Done(Receipt),
}

fn receipt_detail(r: &Receipt) -> serde_json::Value {
    serde_json::json!({
        "erp_key": r.erp_key,
        "uri": r.uri,
        "warnings": r.warnings,
        "request": r.request,
        "response": r.response,
    })
}

impl Inner {
    /// Appends an audit event, retrying transient store failures.
    pub(crate) async fn audit(
        &self,
        run: &RunId,
        record: &RecordKey,
        job: Option<&JobId>,
        stage: AuditStage,
        message: String,
        detail: serde_json::Value,
    ) -> Result<()> {
        let event = AuditEvent {
            at: Utc::now(),
            run: run.clone(),
            record: record.clone(),
            job: job.cloned(),
            stage,
            message,
            detail,
        };
        self.store_op("append audit event", || self.audit.append(event.clone()))
            .await
    }

    /// Runs a store operation, retrying transient failures under the retry policy.
    pub(crate) async fn store_op<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut failures = 0u32;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.kind() == ErrorKind::Transient => {
                    failures += 1;
                    if !self.config.retry.allows_retry(failures) {
                        return Err(e);
                    }
                    let delay = self.config.retry.delay(failures, e.retry_after());
                    warn!(error = %e, ?delay, "{what} failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Maps and posts every document of `record`. The caller audited `fetched` (or `replayed`)
    /// and handles the outcome (acknowledge, dead-letter, resolve).
    pub(crate) async fn process_record(&self, rc: &RunCtx, record: &SourceRecord) -> Processed {
        let key = &record.key;
        let ctx = self.map_context();
        let docs = match self.mapper.map(record, &ctx) {
            Ok(docs) => docs,
            Err(e) => {
                let detail =
                    serde_json::json!({"error": e.to_string(), "transient": false, "stage": "map"});
                if let Err(fatal) = self
                    .audit(
                        &rc.run,
                        key,
                        None,
                        AuditStage::Failed,
                        format!("mapping failed: {e}"),
                        detail,
                    )
                    .await
                {
                    return Processed::Fatal(fatal);
                }
                return Processed::Failed(e);
            }
        };
        let jobs: Vec<JobId> = docs
            .iter()
            .map(|d| JobId::with_part(key, d.kind(), d.part()))
            .collect();
        let distinct: HashSet<&JobId> = jobs.iter().collect();
        if distinct.len() != jobs.len() {
            let e = Error::data(
                key,
                "the mapper produced two documents with the same kind and part, so they would share one job id and the second would never be posted",
                "give each document of one kind a distinct `part` (e.g. the accounting period)",
            );
            return match self
                .audit(
                    &rc.run,
                    key,
                    None,
                    AuditStage::Failed,
                    e.to_string(),
                    serde_json::json!({"error": e.to_string(), "stage": "map"}),
                )
                .await
            {
                Ok(()) => Processed::Failed(e),
                Err(fatal) => Processed::Fatal(fatal),
            };
        }
        let summary: Vec<serde_json::Value> = docs
            .iter()
            .zip(&jobs)
            .map(|(d, j)| {
                serde_json::json!({
                    "job": j.as_str(),
                    "kind": d.kind(),
                    "external_id": d.external_id(),
                    "document": d,
                })
            })
            .collect();
        if let Err(fatal) = self
            .audit(
                &rc.run,
                key,
                None,
                AuditStage::Mapped,
                format!("mapped to {} document(s)", docs.len()),
                serde_json::json!({"documents": summary}),
            )
            .await
        {
            return Processed::Fatal(fatal);
        }
        let (mut posted, mut skipped) = (0u32, 0u32);
        for (doc, job) in docs.iter().zip(&jobs) {
            match self.process_document(rc, key, job, doc).await {
                Ok(DocOutcome::Posted) => posted += 1,
                Ok(DocOutcome::Skipped) => skipped += 1,
                Err(stop) => return stop.into(),
            }
        }
        Processed::Done { posted, skipped }
    }

    async fn acquire(&self, rc: &RunCtx, job: &JobId) -> Result<Acquired, Stop> {
        let started = tokio::time::Instant::now();
        let mut poll = Duration::from_millis(10);
        loop {
            let claim = self
                .store_op("claim job", || self.dedup.claim(job, self.config.lease))
                .await
                .map_err(Stop::Fatal)?;
            match claim {
                Claim::Claimed(lease) => return Ok(Acquired::Lease(lease)),
                Claim::Done(receipt) => return Ok(Acquired::Done(receipt)),
                Claim::Busy { until } => {
                    if started.elapsed() >= self.config.busy_timeout {
                        return Err(Stop::Interrupted(format!(
                            "job {job} is held by another worker until {until}; it is left for the next run"
                        )));
                    }
                    let to_lapse = (until - Utc::now())
                        .to_std()
                        .unwrap_or(Duration::from_millis(1));
                    let jitter = Duration::from_millis(fastrand::u64(0..=5));
                    let wait = poll.min(to_lapse) + jitter;
                    debug!(%job, ?wait, "job busy on another worker; waiting");
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = rc.shutdown.requested() => {
                            return Err(Stop::Interrupted(format!(
                                "shutdown while job {job} was held by another worker"
                            )));
                        }
                    }
                    poll = (poll * 2).min(self.config.busy_poll);
                }
            }
        }
    }

    async fn process_document(
        &self,
        rc: &RunCtx,
        key: &RecordKey,
        job: &JobId,
        doc: &ErpDocument,
    ) -> Result<DocOutcome, Stop> {
        let fatal = Stop::Fatal;
        let lease = match self.acquire(rc, job).await? {
            Acquired::Done(receipt) => {
                self.audit(
                    &rc.run,
                    key,
                    Some(job),
                    AuditStage::Skipped,
                    format!(
                        "already posted as {} (dedup): not posted again",
                        receipt.erp_key
                    ),
                    serde_json::json!({"reason": "done", "erp_key": receipt.erp_key, "uri": receipt.uri}),
                )
                .await
                .map_err(fatal)?;
                Stats::add(&rc.stats.skipped, 1);
                return Ok(DocOutcome::Skipped);
            }
            Acquired::Lease(l) => l,
        };
        let lease_len =
            chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::MAX);
        let margin = (lease_len / 5).min(chrono::Duration::seconds(30));
        // A taken-over claim may hide a post whose completion was lost: ask the ERP first.
        let mut must_find = lease.attempt > 1;
        let mut ours_unknown = false; // our own post's outcome is unknown (ambiguous)
        let mut failures = 0u32;
        loop {
            if must_find {
                match self.sink.find(doc).await {
                    Ok(Some(receipt)) => {
                        self.finish(rc, key, &lease, &receipt, ours_unknown).await?;
                        return Ok(if ours_unknown {
                            DocOutcome::Posted
                        } else {
                            DocOutcome::Skipped
                        });
                    }
                    Ok(None) => must_find = false,
                    Err(e) => {
                        if let Some(stop) = self
                            .transient_or_stop(rc, key, &lease, e, &mut failures, "find")
                            .await
                        {
                            return Err(stop);
                        }
                        continue;
                    }
                }
            }
            if Utc::now() + margin >= lease.expires_at {
                let e = Error::data(
                    key,
                    format!(
                        "job {job} could not be posted before its {}s lease ran out",
                        self.config.lease.as_secs()
                    ),
                    "replay the record; if this repeats, raise the pipeline lease or lower the retry policy's delays",
                );
                return Err(self.give_up(&lease, e).await);
            }
            match self.sink.post(doc).await {
                Ok(receipt) => {
                    self.finish(rc, key, &lease, &receipt, true).await?;
                    return Ok(DocOutcome::Posted);
                }
                Err(e) => {
                    if matches!(e, Error::Ambiguous { .. }) {
                        // Never re-post before the ERP has said it does not have the document.
                        must_find = true;
                        ours_unknown = true;
                    }
                    if let Some(stop) = self
                        .transient_or_stop(rc, key, &lease, e, &mut failures, "post")
                        .await
                    {
                        return Err(stop);
                    }
                }
            }
        }
    }

    /// Handles a failed `find`/`post`: audits it; for a transient error within the retry
    /// budget, waits and returns `None` (retry); otherwise releases the claim and returns why.
    async fn transient_or_stop(
        &self,
        rc: &RunCtx,
        key: &RecordKey,
        lease: &Lease,
        e: Error,
        failures: &mut u32,
        what: &str,
    ) -> Option<Stop> {
        let e = e.with_record(key);
        *failures += 1;
        let retryable = e.is_retryable();
        let throttle = is_throttle(&e);
        let retry = retryable && self.config.retry.allows_retry(*failures);
        let delay = retry.then(|| self.config.retry.delay(*failures, e.retry_after()));
        let detail = serde_json::json!({
            "error": e.to_string(),
            "operation": what,
            "transient": retryable,
            "throttled": throttle,
            "failures": *failures,
            "retry_in_ms": delay.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        });
        if let Err(fatal) = self
            .audit(
                &rc.run,
                key,
                Some(&lease.job),
                AuditStage::Failed,
                format!("{what} failed: {e}"),
                detail,
            )
            .await
        {
            let _ = self.dedup.release(lease).await;
            return Some(Stop::Fatal(fatal));
        }
        if throttle {
            Stats::add(&rc.stats.throttled, 1);
        }
        let Some(delay) = delay else {
            let e = if retryable {
                Error::RetriesExhausted {
                    ctx: e
                        .context()
                        .cloned()
                        .unwrap_or_else(|| Context {
                            record: Some(key.to_string()),
                            ..Context::op(format!("{}.{what}", self.sink.name()))
                        })
                        .into(),
                    attempts: *failures,
                    message: e.to_string(),
                }
            } else {
                e
            };
            return Some(self.give_up(lease, e).await);
        };
        Stats::add(&rc.stats.retried, 1);
        self.emit(&ProgressEvent::Retrying {
            run: rc.run.clone(),
            job: lease.job.clone(),
            failures: *failures,
            delay,
            error: e.to_string(),
        });
        tokio::select! {
            () = tokio::time::sleep(delay) => None,
            () = rc.shutdown.requested() => {
                let _ = self.dedup.release(lease).await;
                Some(Stop::Interrupted(format!(
                    "shutdown while job {} waited to retry",
                    lease.job
                )))
            }
        }
    }

    /// Releases the claim (so a replay or another worker can take it) and fails the record.
    async fn give_up(&self, lease: &Lease, e: Error) -> Stop {
        match self
            .store_op("release job", || self.dedup.release(lease))
            .await
        {
            Ok(()) => Stop::Failed(e),
            Err(store) => {
                // The lease lapses on its own; the record is still dead-lettered.
                warn!(job = %lease.job, error = %store, "could not release the claim; it will lapse");
                Stop::Failed(e)
            }
        }
    }

    /// Completes the job and audits it. `posted_by_us`: the receipt is of our own post (posted
    /// now, or confirmed by `find` after an ambiguous failure); otherwise the ERP already had it.
    async fn finish(
        &self,
        rc: &RunCtx,
        key: &RecordKey,
        lease: &Lease,
        receipt: &Receipt,
        posted_by_us: bool,
    ) -> Result<(), Stop> {
        let completed = match self
            .store_op("complete job", || self.dedup.complete(lease, receipt))
            .await
        {
            Ok(()) => true,
            Err(e) => {
                // The document is in the ERP; whoever holds the job now will find it there.
                warn!(job = %lease.job, error = %e, "posted, but the claim could not be completed");
                false
            }
        };
        let mut detail = receipt_detail(receipt);
        detail["claim_attempt"] = lease.attempt.into();
        detail["completed"] = completed.into();
        let (stage, message) = if posted_by_us {
            Stats::add(&rc.stats.posted, 1);
            (AuditStage::Posted, format!("posted as {}", receipt.erp_key))
        } else {
            Stats::add(&rc.stats.skipped, 1);
            detail["reason"] = "found_in_erp".into();
            (
                AuditStage::Skipped,
                format!(
                    "found in the ERP as {} (an earlier attempt posted it): not posted again",
                    receipt.erp_key
                ),
            )
        };
        self.audit(&rc.run, key, Some(&lease.job), stage, message, detail)
            .await
            .map_err(Stop::Fatal)
    }

    /// Parks `record` with `error` (counting earlier failures) and audits it.
    pub(crate) async fn dead_letter(
        &self,
        rc: &RunCtx,
        record: &SourceRecord,
        error: &Error,
    ) -> Result<()> {
        let key = &record.key;
        let query = DeadLetterQuery {
            record: Some(key.clone()),
            ..DeadLetterQuery::default()
        };
        let earlier = self
            .store_op("read dead letters", || self.audit.dead_letters(&query))
            .await?;
        let failures = earlier.iter().map(|l| l.failures).max().unwrap_or(0) + 1;
        let letter = DeadLetter {
            record: record.clone(),
            run: rc.run.clone(),
            error: error.to_string(),
            parked_at: Utc::now(),
            failures,
            resolved_at: None,
        };
        self.store_op("park dead letter", || self.audit.park(letter.clone()))
            .await?;
        Stats::add(&rc.stats.failed, 1);
        self.audit(
            &rc.run,
            key,
            None,
            AuditStage::DeadLettered,
            format!("dead-lettered (failure {failures}): {error}"),
            serde_json::json!({"error": error.to_string(), "failures": failures, "kind": format!("{:?}", error.kind())}),
        )
        .await
    }
}
