//! The pipeline: pulls pages from a [`SourceSystem`], maps each record with a [`Mapper`],
//! claims each document's job in a [`DedupStore`], posts it to an [`ErpSink`], completes the
//! claim, records every stage in an [`AuditSink`] and advances the [`CheckpointStore`] to the
//! low-water mark of acknowledged records.
//!
//! ```no_run
//! # async fn demo(
//! #     source: std::sync::Arc<dyn ml_connector::SourceSystem>,
//! #     mapper: std::sync::Arc<dyn ml_connector::Mapper>,
//! #     sink: std::sync::Arc<dyn ml_connector::ErpSink>,
//! # ) -> ml_connector::Result<()> {
//! use ml_connector::pipeline::Pipeline;
//! let stores = ml_connector::store::connect("sqlite://ml-connector.db").await?;
//! let pipeline = Pipeline::builder()
//!     .source(source)
//!     .mapper(mapper)
//!     .sink(sink)
//!     .stores(&stores)?
//!     .concurrency(8)
//!     .build()?;
//! let report = pipeline.run("orders").await?;
//! println!("{report}");
//! # Ok(()) }
//! ```
//!
//! The guarantees (see `docs/pipeline.md`):
//!
//! * **Nothing is double-booked**: every post is preceded by a claim on the document's
//!   deterministic [`JobId`]; a claim taken over from a crashed worker, and every ambiguous
//!   failure, is followed by [`ErpSink::find`] before anything is re-posted.
//! * **Nothing is lost**: a page's cursor is committed only when every record of it and of
//!   every earlier page is acknowledged — posted, skipped as a duplicate, or dead-lettered with
//!   its raw payload. A source error ends the run as *partial*, never as a silent success.
//! * **Every record has a trail**: fetched, mapped, posted (request and response), skipped,
//!   failed, dead-lettered, replayed.

mod acks;
mod flow;
mod process;
mod replay;
mod report;
mod retry;
mod run;
mod schedule;
mod shutdown;

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use crate::http::RetryPolicy;
pub use flow::{Flow, FlowCheck, FlowReport, Stage, Step};
pub use replay::{PlannedDocument, ReplayOptions, ReplayReport, ReplayScope};
pub use report::{ProgressEvent, ProgressFn, RecordOutcome, RunReport};
pub use schedule::{RunNow, Schedule, ScheduledFlow, Scheduler, SchedulerHandle};
pub use shutdown::{Shutdown, ShutdownTrigger, shutdown_channel};

use crate::core::{
    AuditSink, CheckpointKey, CheckpointStore, DedupStore, ErpSink, MapContext, Mapper,
    SourceSystem,
};
use crate::error::{Error, Result};
use crate::model::JobId;
use crate::store::Stores;

/// Tuning of a [`Pipeline`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Records processed at once (posts in flight toward the sink). Default 8.
    pub concurrency: usize,
    /// How long a claim is held before another worker may take the job over. It must cover a
    /// post with all its retries: the pipeline stops retrying a document when less than a
    /// fifth of the lease (at most 30 s) is left. Default 5 minutes.
    pub lease: Duration,
    /// Retries of transient failures (sink and stores).
    pub retry: RetryPolicy,
    /// How long one job may wait on another worker's live claim before the record is left for
    /// the next run (the run then reports partial). Default: the lease plus 30 s.
    pub busy_timeout: Duration,
    /// The longest pause between claim attempts while another worker holds a job (polling
    /// starts at 10 ms and doubles). Default 1 s.
    pub busy_poll: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        let lease = Duration::from_secs(300);
        Self {
            concurrency: 8,
            lease,
            retry: RetryPolicy::default(),
            busy_timeout: lease + Duration::from_secs(30),
            busy_poll: Duration::from_secs(1),
        }
    }
}

/// A source, a mapper, a sink and the stores, composed into a running sync. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub source: Arc<dyn SourceSystem>,
    pub mapper: Arc<dyn Mapper>,
    pub sink: Arc<dyn ErpSink>,
    pub dedup: Arc<dyn DedupStore>,
    pub audit: Arc<dyn AuditSink>,
    pub checkpoints: Arc<dyn CheckpointStore>,
    pub context: RwLock<Arc<MapContext>>,
    pub config: PipelineConfig,
    pub progress: Option<ProgressFn>,
    pub scope: String,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("source", &self.inner.scope)
            .field("sink", &self.inner.sink.name())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Inner {
    pub(crate) fn emit(&self, event: &ProgressEvent) {
        if let Some(p) = &self.progress {
            p(event);
        }
    }

    pub(crate) fn map_context(&self) -> Arc<MapContext> {
        match self.context.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

impl Pipeline {
    /// Starts a builder.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// The checkpoint key of `stream` for this pipeline's source scope.
    pub fn checkpoint_key(&self, stream: &str) -> CheckpointKey {
        CheckpointKey::new(self.inner.scope.clone(), stream)
    }

    /// The deterministic job id of `doc` from `record` (what the dedup store is asked about).
    pub fn job_id(record: &crate::model::RecordKey, doc: &crate::model::ErpDocument) -> JobId {
        JobId::with_part(record, doc.kind(), doc.part())
    }

    /// Replaces the mapping context (reference data reloaded, a SKU added to the crosswalk).
    /// Runs in flight keep the context they started records with.
    pub fn set_map_context(&self, ctx: MapContext) {
        let mut g = match self.inner.context.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *g = Arc::new(ctx);
    }

    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.inner.config
    }

    /// The source.
    pub fn source(&self) -> &Arc<dyn SourceSystem> {
        &self.inner.source
    }

    /// The sink.
    pub fn sink(&self) -> &Arc<dyn ErpSink> {
        &self.inner.sink
    }

    /// The audit trail.
    pub fn audit(&self) -> &Arc<dyn AuditSink> {
        &self.inner.audit
    }

    /// The dedup store.
    pub fn dedup(&self) -> &Arc<dyn DedupStore> {
        &self.inner.dedup
    }

    /// The checkpoint store.
    pub fn checkpoints(&self) -> &Arc<dyn CheckpointStore> {
        &self.inner.checkpoints
    }
}

/// Builds a [`Pipeline`]; every part is required except the map context (default empty), the
/// progress callback and the tuning.
#[derive(Default)]
pub struct PipelineBuilder {
    source: Option<Arc<dyn SourceSystem>>,
    mapper: Option<Arc<dyn Mapper>>,
    sink: Option<Arc<dyn ErpSink>>,
    dedup: Option<Arc<dyn DedupStore>>,
    audit: Option<Arc<dyn AuditSink>>,
    checkpoints: Option<Arc<dyn CheckpointStore>>,
    context: Option<MapContext>,
    config: PipelineConfig,
    progress: Option<ProgressFn>,
    scope: Option<String>,
}

impl fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PipelineBuilder {
    /// Where records come from.
    #[must_use]
    pub fn source(mut self, source: Arc<dyn SourceSystem>) -> Self {
        self.source = Some(source);
        self
    }

    /// How records become documents.
    #[must_use]
    pub fn mapper(mut self, mapper: Arc<dyn Mapper>) -> Self {
        self.mapper = Some(mapper);
        self
    }

    /// Where documents go.
    #[must_use]
    pub fn sink(mut self, sink: Arc<dyn ErpSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// The dedup store.
    #[must_use]
    pub fn dedup(mut self, dedup: Arc<dyn DedupStore>) -> Self {
        self.dedup = Some(dedup);
        self
    }

    /// The audit trail and dead letters.
    #[must_use]
    pub fn audit(mut self, audit: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The checkpoint store.
    #[must_use]
    pub fn checkpoints(mut self, checkpoints: Arc<dyn CheckpointStore>) -> Self {
        self.checkpoints = Some(checkpoints);
        self
    }

    /// All three stores from [`crate::store::connect`].
    ///
    /// # Errors
    /// [`Error::Config`] when the stores have no audit trail (Redis alone).
    pub fn stores(mut self, stores: &Stores) -> Result<Self> {
        self.audit = Some(stores.require_audit()?);
        self.dedup = Some(stores.dedup.clone());
        self.checkpoints = Some(stores.checkpoints.clone());
        Ok(self)
    }

    /// Reference data for the mapper.
    #[must_use]
    pub fn context(mut self, ctx: MapContext) -> Self {
        self.context = Some(ctx);
        self
    }

    /// All tuning at once.
    #[must_use]
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.config = config;
        self
    }

    /// Records processed at once (at least 1).
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n.max(1);
        self
    }

    /// The claim lease (see [`PipelineConfig::lease`]); also sets the busy timeout to the
    /// lease plus 30 s.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.config.lease = lease;
        self.config.busy_timeout = lease + Duration::from_secs(30);
        self
    }

    /// The retry policy.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.config.retry = retry;
        self
    }

    /// A progress callback.
    #[must_use]
    pub fn progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// The checkpoint scope (default: the source's name). Give each store/account its own
    /// scope when a host runs several sources of one system (`adobe:default`, `adobe:b2b`).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Builds the pipeline.
    ///
    /// # Errors
    /// [`Error::Config`] naming the missing part.
    pub fn build(self) -> Result<Pipeline> {
        fn need<T>(v: Option<T>, what: &str) -> Result<T> {
            v.ok_or_else(|| {
                Error::config(
                    format!("pipeline.{what}"),
                    format!("no {what} given: call PipelineBuilder::{what}(…) before build()"),
                )
            })
        }
        let source = need(self.source, "source")?;
        let scope = self.scope.unwrap_or_else(|| source.name().to_string());
        if self.config.lease.is_zero() {
            return Err(Error::config(
                "pipeline.lease",
                "the lease must be longer than zero (it should cover a post with its retries)",
            ));
        }
        Ok(Pipeline {
            inner: Arc::new(Inner {
                source,
                mapper: need(self.mapper, "mapper")?,
                sink: need(self.sink, "sink")?,
                dedup: need(self.dedup, "dedup")?,
                audit: need(self.audit, "audit")?,
                checkpoints: need(self.checkpoints, "checkpoints")?,
                context: RwLock::new(Arc::new(self.context.unwrap_or_default())),
                config: PipelineConfig {
                    concurrency: self.config.concurrency.max(1),
                    ..self.config
                },
                progress: self.progress,
                scope,
            }),
        })
    }
}
