//! The core traits a host composes into pipelines, and the small types they exchange.
//!
//! All traits are object-safe and `Send + Sync`: a host holds them as `Arc<dyn …>`.

mod audit;
mod redact;

pub use audit::{AuditEvent, AuditQuery, AuditStage, DeadLetter, DeadLetterQuery};
pub use redact::{redact_json, redact_text};

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::error::{Issue, Result};
pub use crate::mapping::MapContext;
use crate::model::{DocumentKind, ErpDocument, JobId, RecordKey, SourceRecord};

/// An opaque, serialisable position in a stream. Each source defines its content (Adobe: the
/// `(updated_at, entity_id)` watermark; Amazon: `lastUpdatedAfter`; settlements: `createdSince`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor(pub serde_json::Value);

impl Cursor {
    /// Wraps any serialisable value.
    ///
    /// # Errors
    /// When the value cannot be serialised to JSON.
    pub fn from_value<T: Serialize>(v: &T) -> Result<Self> {
        Ok(Self(serde_json::to_value(v)?))
    }

    /// Reads the cursor back as `T`.
    ///
    /// # Errors
    /// When the stored cursor does not have `T`'s shape (e.g. written by another source).
    pub fn to_value<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        Ok(serde_json::from_value(self.0.clone())?)
    }
}

/// A page of records, oldest first. `cursor` is the position to commit once every record of
/// this page (and of every earlier page) is acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records.
    pub records: Vec<SourceRecord>,
    /// Where to resume after this page.
    pub cursor: Option<Cursor>,
}

/// A source of records: Adobe Commerce, Amazon SP-API, QAD items.
#[async_trait]
pub trait SourceSystem: Send + Sync {
    /// Short name used in checkpoint keys and logs (`adobe`, `amazon`, `qad`).
    fn name(&self) -> &str;

    /// The streams this source offers (`orders`, `invoices`, …).
    fn streams(&self) -> Vec<String>;

    /// Pages of records changed after `cursor`, oldest first, until the source has nothing newer.
    /// Reads may overlap the cursor (dedup absorbs the overlap); they never skip a record. A
    /// stream that must stop early (retry budget spent, rate limit) yields the pages it has and
    /// then an error: the caller commits what was acknowledged and reports the run as partial.
    fn changes<'a>(
        &'a self,
        stream: &'a str,
        cursor: Option<Cursor>,
    ) -> BoxStream<'a, Result<Page>>;

    /// One record by its source id (webhook triggers and replay use this). `Ok(None)` when the
    /// source does not have it.
    async fn fetch(&self, stream: &str, source_id: &str) -> Result<Option<SourceRecord>>;
}

/// Turns one source record into the ERP documents it requires.
///
/// Pure and synchronous: every lookup (SKU crosswalk, customer map, account map) comes from
/// `ctx`. A record that cannot be mapped returns [`Error::Data`](crate::Error::Data) naming the
/// record and the fix; the pipeline holds it in the dead-letter list until it is replayed.
pub trait Mapper: Send + Sync {
    /// The documents for `record`, masters first. An empty vector means "nothing to post"
    /// (e.g. a cancelled order that never reached the ERP).
    ///
    /// # Errors
    /// [`Error::Data`](crate::Error::Data) when the record cannot be mapped.
    fn map(&self, record: &SourceRecord, ctx: &MapContext) -> Result<Vec<ErpDocument>>;
}

/// What the ERP answered for a written (or found) document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The ERP's key for the document (customer code, order number, voucher).
    pub erp_key: String,
    /// The ERP's URI for it, when it has one.
    pub uri: Option<String>,
    /// Warnings the ERP attached (e.g. QAD's "duplicate customer PO").
    pub warnings: Vec<Issue>,
    /// The request(s) sent, secrets redacted (for the audit trail).
    pub request: Option<serde_json::Value>,
    /// The response(s) received (for the audit trail).
    pub response: Option<serde_json::Value>,
}

/// Whether an ERP entity can be written on this instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum EntityAccess {
    /// Validated and writable.
    Available,
    /// The path does not answer with ERP JSON (HTML, 404, 405).
    Unavailable(String),
    /// The credentials lack permission (403).
    Forbidden(String),
    /// Not configured, or disabled until verified on this tenant.
    Disabled(String),
}

/// The outcome of [`ErpSink::connect`]: the allowlist of writable document kinds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Access per document kind.
    pub entities: BTreeMap<DocumentKind, EntityAccess>,
}

impl Capabilities {
    /// `true` when `kind` was validated as writable.
    pub fn can_write(&self, kind: DocumentKind) -> bool {
        matches!(self.entities.get(&kind), Some(EntityAccess::Available))
    }
}

/// Where documents go: QAD, or Amazon Listings for the catalog push.
#[async_trait]
pub trait ErpSink: Send + Sync {
    /// Short name (`qad`, `amazon-listings`).
    fn name(&self) -> &str;

    /// Logs in and validates every configured entity path against the live instance. Writes to
    /// entities not validated are refused locally afterwards.
    ///
    /// # Errors
    /// Auth or configuration errors naming the setting to fix.
    async fn connect(&self) -> Result<Capabilities>;

    /// Does a document with this external reference exist already? Used after an ambiguous
    /// failure and whenever dedup state may be stale (a taken-over lease), before any re-post.
    async fn find(&self, doc: &ErpDocument) -> Result<Option<Receipt>>;

    /// Writes the document.
    ///
    /// # Errors
    /// [`Error::Rejected`](crate::Error::Rejected) for business errors (not retried),
    /// [`Error::Ambiguous`](crate::Error::Ambiguous) when the outcome is unknown.
    async fn post(&self, doc: &ErpDocument) -> Result<Receipt>;
}

/// A claim on a job, valid until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The job.
    pub job: JobId,
    /// The claim's unique token (a fencing token: `complete` and `release` must present it).
    pub token: String,
    /// When the lease lapses and another worker may take the job over.
    pub expires_at: DateTime<Utc>,
    /// 1 for a first claim; more when the job was claimed before (a crashed or failed worker):
    /// the caller must then check [`ErpSink::find`] before posting.
    pub attempt: u32,
}

/// The answer to [`DedupStore::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the job until the lease lapses.
    Claimed(Lease),
    /// The job was completed earlier: never post it again.
    Done(Receipt),
    /// Another worker holds a live lease; try again after `until`.
    Busy {
        /// When that lease lapses.
        until: DateTime<Utc>,
    },
}

/// The state of a job, for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Claimed, not yet completed.
    Leased(Lease),
    /// Completed.
    Done(Receipt),
}

/// Exactly-once effect: a job is claimed before its document is posted and completed after.
#[async_trait]
pub trait DedupStore: Send + Sync {
    /// Claims `job` for `lease`. Returns [`Claim::Done`] when it was completed before (by anyone),
    /// [`Claim::Busy`] while another claim's lease is live, and [`Claim::Claimed`] otherwise —
    /// including when an earlier claim lapsed or was released (then `attempt > 1`).
    async fn claim(&self, job: &JobId, lease: Duration) -> Result<Claim>;

    /// Marks the job done, permanently. Succeeds if the lease is still the current claim or the
    /// job is already done.
    ///
    /// # Errors
    /// [`Error::Store`](crate::Error::Store) when another worker has taken the claim over.
    async fn complete(&self, lease: &Lease, receipt: &Receipt) -> Result<()>;

    /// Gives the claim up without completing (the post failed). A no-op when the lease is no
    /// longer current.
    async fn release(&self, lease: &Lease) -> Result<()>;

    /// The job's state, if it was ever claimed.
    async fn state(&self, job: &JobId) -> Result<Option<JobState>>;
}

/// The audit trail and the dead-letter list.
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Appends an event. Events are never updated or deleted.
    async fn append(&self, event: AuditEvent) -> Result<()>;

    /// Events matching `query`, oldest first.
    async fn query(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>>;

    /// Parks a record that failed permanently, with its payload (replaces an unresolved letter
    /// for the same record).
    async fn park(&self, letter: DeadLetter) -> Result<()>;

    /// Dead letters matching `query`, oldest first.
    async fn dead_letters(&self, query: &DeadLetterQuery) -> Result<Vec<DeadLetter>>;

    /// Marks the record's dead letter resolved (after a successful replay).
    async fn resolve(&self, record: &RecordKey, at: DateTime<Utc>) -> Result<()>;
}

/// Identifies one checkpoint: a source and one of its streams.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CheckpointKey {
    /// The source's name (plus its account/store scope when a host runs several).
    pub source: String,
    /// The stream.
    pub stream: String,
}

impl CheckpointKey {
    /// A key.
    pub fn new(source: impl Into<String>, stream: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            stream: stream.into(),
        }
    }
}

impl fmt::Display for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.source, self.stream)
    }
}

/// Where each stream resumes.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// The committed cursor, if any.
    async fn load(&self, key: &CheckpointKey) -> Result<Option<Cursor>>;
    /// Commits `cursor` (only ever called with positions whose records were all acknowledged).
    async fn commit(&self, key: &CheckpointKey, cursor: &Cursor) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn traits_are_object_safe_and_send_sync() {
        fn assert<T: Send + Sync + ?Sized>() {}
        assert::<Arc<dyn SourceSystem>>();
        assert::<Arc<dyn Mapper>>();
        assert::<Arc<dyn ErpSink>>();
        assert::<Arc<dyn DedupStore>>();
        assert::<Arc<dyn AuditSink>>();
        assert::<Arc<dyn CheckpointStore>>();
    }
}
