use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::core::{
    AuditEvent, AuditQuery, AuditSink, CheckpointKey, CheckpointStore, Claim, Cursor, DeadLetter,
    DeadLetterQuery, DedupStore, JobState, Lease, Receipt,
};
use crate::error::{Error, Result};
use crate::model::{JobId, RecordKey};

fn poisoned<T>(_: T) -> Error {
    Error::store("memory", "lock poisoned by a panicking thread")
}

fn lease_until(lease: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)
}

#[derive(Debug)]
enum Slot {
    Leased {
        token: String,
        expires_at: DateTime<Utc>,
        attempt: u32,
    },
    Released {
        attempt: u32,
    },
    Done(Receipt),
}

/// An in-memory [`DedupStore`] (one process; for tests and quick starts).
#[derive(Debug, Default)]
pub struct MemoryDedupStore {
    jobs: Mutex<HashMap<JobId, Slot>>,
}

impl MemoryDedupStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl DedupStore for MemoryDedupStore {
    async fn claim(&self, job: &JobId, lease: Duration) -> Result<Claim> {
        let mut jobs = self.jobs.lock().map_err(poisoned)?;
        let now = Utc::now();
        let attempt = match jobs.get(job) {
            Some(Slot::Done(r)) => return Ok(Claim::Done(r.clone())),
            Some(Slot::Leased { expires_at, .. }) if *expires_at > now => {
                return Ok(Claim::Busy { until: *expires_at });
            }
            Some(Slot::Leased { attempt, .. }) | Some(Slot::Released { attempt }) => attempt + 1,
            None => 1,
        };
        let l = Lease {
            job: job.clone(),
            token: uuid::Uuid::new_v4().to_string(),
            expires_at: lease_until(lease),
            attempt,
        };
        jobs.insert(
            job.clone(),
            Slot::Leased {
                token: l.token.clone(),
                expires_at: l.expires_at,
                attempt,
            },
        );
        Ok(Claim::Claimed(l))
    }

    async fn complete(&self, lease: &Lease, receipt: &Receipt) -> Result<()> {
        let mut jobs = self.jobs.lock().map_err(poisoned)?;
        match jobs.get(&lease.job) {
            Some(Slot::Done(_)) => Ok(()),
            Some(Slot::Leased { token, .. }) if *token == lease.token => {
                jobs.insert(lease.job.clone(), Slot::Done(receipt.clone()));
                Ok(())
            }
            _ => Err(Error::store(
                "memory",
                format!("lease on {} was lost to another worker", lease.job),
            )),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        let mut jobs = self.jobs.lock().map_err(poisoned)?;
        if let Some(Slot::Leased { token, attempt, .. }) = jobs.get(&lease.job)
            && *token == lease.token
        {
            let attempt = *attempt;
            jobs.insert(lease.job.clone(), Slot::Released { attempt });
        }
        Ok(())
    }

    async fn state(&self, job: &JobId) -> Result<Option<JobState>> {
        let jobs = self.jobs.lock().map_err(poisoned)?;
        Ok(match jobs.get(job) {
            Some(Slot::Done(r)) => Some(JobState::Done(r.clone())),
            Some(Slot::Leased {
                token,
                expires_at,
                attempt,
            }) => Some(JobState::Leased(Lease {
                job: job.clone(),
                token: token.clone(),
                expires_at: *expires_at,
                attempt: *attempt,
            })),
            Some(Slot::Released { .. }) | None => None,
        })
    }
}

/// Inserts `event` after every event with `at <= event.at` (append order among equal times).
fn insert_in_time_order(events: &mut Vec<AuditEvent>, event: AuditEvent) {
    let at = events.partition_point(|e| e.at <= event.at);
    events.insert(at, event);
}

/// An in-memory [`AuditSink`].
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    events: Mutex<Vec<AuditEvent>>,
    letters: Mutex<Vec<DeadLetter>>,
}

impl MemoryAuditSink {
    /// An empty trail.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AuditSink for MemoryAuditSink {
    async fn append(&self, mut event: AuditEvent) -> Result<()> {
        event.detail = crate::core::redact_json(&event.detail);
        event.message = crate::core::redact_text(&event.message);
        insert_in_time_order(&mut *self.events.lock().map_err(poisoned)?, event);
        Ok(())
    }

    async fn query(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let events = self.events.lock().map_err(poisoned)?;
        // Kept sorted by `at` (stable), so "oldest first" holds for out-of-order appends too.
        let it = events.iter().filter(|e| {
            q.record.as_ref().is_none_or(|r| &e.record == r)
                && q.run.as_ref().is_none_or(|r| &e.run == r)
                && q.stage.is_none_or(|s| e.stage == s)
                && q.since.is_none_or(|t| e.at >= t)
        });
        Ok(it.take(q.limit.unwrap_or(usize::MAX)).cloned().collect())
    }

    async fn park(&self, letter: DeadLetter) -> Result<()> {
        let mut letters = self.letters.lock().map_err(poisoned)?;
        letters.retain(|l| !(l.record.key == letter.record.key && l.resolved_at.is_none()));
        let mut letter = letter;
        letter.error = crate::core::redact_text(&letter.error);
        let at = letters.partition_point(|l| l.parked_at <= letter.parked_at);
        letters.insert(at, letter);
        Ok(())
    }

    async fn dead_letters(&self, q: &DeadLetterQuery) -> Result<Vec<DeadLetter>> {
        let letters = self.letters.lock().map_err(poisoned)?;
        Ok(letters
            .iter()
            .filter(|l| {
                (q.include_resolved || l.resolved_at.is_none())
                    && q.record.as_ref().is_none_or(|r| &l.record.key == r)
                    && q.run.as_ref().is_none_or(|r| &l.run == r)
                    && q.since.is_none_or(|t| l.parked_at >= t)
            })
            .cloned()
            .collect())
    }

    async fn resolve(&self, record: &RecordKey, at: DateTime<Utc>) -> Result<()> {
        let mut letters = self.letters.lock().map_err(poisoned)?;
        for l in letters
            .iter_mut()
            .filter(|l| &l.record.key == record && l.resolved_at.is_none())
        {
            l.resolved_at = Some(at);
        }
        Ok(())
    }
}

/// An in-memory [`CheckpointStore`].
#[derive(Debug, Default)]
pub struct MemoryCheckpointStore {
    cursors: Mutex<HashMap<CheckpointKey, Cursor>>,
}

impl MemoryCheckpointStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CheckpointStore for MemoryCheckpointStore {
    async fn load(&self, key: &CheckpointKey) -> Result<Option<Cursor>> {
        Ok(self.cursors.lock().map_err(poisoned)?.get(key).cloned())
    }

    async fn commit(&self, key: &CheckpointKey, cursor: &Cursor) -> Result<()> {
        self.cursors
            .lock()
            .map_err(poisoned)?
            .insert(key.clone(), cursor.clone());
        Ok(())
    }
}
