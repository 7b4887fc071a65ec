use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{JobId, RecordKey, RunId, SourceRecord};

/// The stage an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditStage {
    /// Read from the source.
    Fetched,
    /// Mapped to documents.
    Mapped,
    /// Posted to the ERP (detail holds the request and response).
    Posted,
    /// Not posted because the job was done already (dedup) or the ERP already had it (`find`).
    Skipped,
    /// A failure (detail holds the error); transient ones are retried.
    Failed,
    /// Parked in the dead-letter list.
    DeadLettered,
    /// Replayed from its stored payload.
    Replayed,
}

impl AuditStage {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditStage::Fetched => "fetched",
            AuditStage::Mapped => "mapped",
            AuditStage::Posted => "posted",
            AuditStage::Skipped => "skipped",
            AuditStage::Failed => "failed",
            AuditStage::DeadLettered => "dead_lettered",
            AuditStage::Replayed => "replayed",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            AuditStage::Fetched,
            AuditStage::Mapped,
            AuditStage::Posted,
            AuditStage::Skipped,
            AuditStage::Failed,
            AuditStage::DeadLettered,
            AuditStage::Replayed,
        ]
        .into_iter()
        .find(|s2| s2.as_str() == s)
    }
}

/// One append-only audit event. `detail` is redacted before it is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// Which run.
    pub run: RunId,
    /// Which record.
    pub record: RecordKey,
    /// Which job, for document-level stages.
    pub job: Option<JobId>,
    /// Which stage.
    pub stage: AuditStage,
    /// A one-line summary.
    pub message: String,
    /// Stage details (request/response, error, documents), secrets redacted.
    pub detail: serde_json::Value,
}

/// A filter over audit events; `None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Only this record.
    pub record: Option<RecordKey>,
    /// Only this run.
    pub run: Option<RunId>,
    /// Only this stage.
    pub stage: Option<AuditStage>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many (oldest first).
    pub limit: Option<usize>,
}

/// A record that failed permanently, kept with its payload until it is replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The record as it was read (including its raw payload).
    pub record: SourceRecord,
    /// The run that parked it.
    pub run: RunId,
    /// The error, as text (secrets redacted).
    pub error: String,
    /// When it was parked.
    pub parked_at: DateTime<Utc>,
    /// How many times it has failed.
    pub failures: u32,
    /// When it was resolved by a replay, if it was.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A filter over dead letters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterQuery {
    /// Only this record.
    pub record: Option<RecordKey>,
    /// Only those parked by this run.
    pub run: Option<RunId>,
    /// Only those parked at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Include resolved letters too.
    pub include_resolved: bool,
}
