//! Flows: ordered stages so masters go first (customers and companies, then a SKU crosswalk
//! check, then orders, invoices, credit memos), and every order line references a customer and
//! an item the ERP has.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use tokio::time::Instant;
use tracing::{Instrument, info, info_span, warn};

use super::report::RunReport;
use super::{Pipeline, Shutdown};
use crate::error::Result;

/// A precondition checked between stages (e.g. "every SKU sold has a QAD item").
#[async_trait]
pub trait FlowCheck: Send + Sync {
    /// A short name for reports and logs.
    fn name(&self) -> &str;

    /// `Ok` when later stages may run.
    ///
    /// # Errors
    /// An error naming what is missing and the fix; the flow stops before the next stage.
    async fn check(&self) -> Result<()>;
}

/// One step of a stage.
#[derive(Clone)]
pub enum Step {
    /// Run `pipeline` on `stream`.
    Sync {
        /// The pipeline.
        pipeline: Pipeline,
        /// The stream.
        stream: String,
    },
    /// A precondition.
    Check(Arc<dyn FlowCheck>),
}

impl Step {
    /// A sync step.
    pub fn sync(pipeline: &Pipeline, stream: impl Into<String>) -> Self {
        Step::Sync {
            pipeline: pipeline.clone(),
            stream: stream.into(),
        }
    }

    /// A check step.
    pub fn check(check: Arc<dyn FlowCheck>) -> Self {
        Step::Check(check)
    }
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Sync { pipeline, stream } => f
                .debug_struct("Sync")
                .field("pipeline", pipeline)
                .field("stream", stream)
                .finish(),
            Step::Check(c) => f.debug_tuple("Check").field(&c.name()).finish(),
        }
    }
}

/// Steps that run concurrently; the next stage starts when all of them are done.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Name for reports and logs.
    pub name: String,
    /// The steps.
    pub steps: Vec<Step>,
}

/// Ordered stages run one after another.
#[derive(Debug, Clone)]
pub struct Flow {
    name: String,
    stages: Vec<Stage>,
    continue_on_partial: bool,
}

/// What a flow run did.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowReport {
    /// The flow.
    pub flow: String,
    /// Each stream run, in stage order.
    pub runs: Vec<RunReport>,
    /// Each check: its name and the failure, if it failed.
    pub checks: Vec<(String, Option<String>)>,
    /// Stages that ran.
    pub stages_run: usize,
    /// `Some(reason)` when a stage was partial or a check failed (later stages were skipped
    /// unless the flow continues on partial stages), or shutdown stopped the flow.
    pub partial: Option<String>,
    /// Wall-clock time.
    pub duration: Duration,
}

impl FlowReport {
    /// Documents posted over all runs.
    pub fn posted(&self) -> u64 {
        self.runs.iter().map(|r| r.posted).sum()
    }

    /// Documents skipped as duplicates over all runs.
    pub fn skipped(&self) -> u64 {
        self.runs.iter().map(|r| r.skipped).sum()
    }

    /// Records dead-lettered over all runs.
    pub fn failed(&self) -> u64 {
        self.runs.iter().map(|r| r.failed).sum()
    }

    /// Records read over all runs.
    pub fn fetched(&self) -> u64 {
        self.runs.iter().map(|r| r.fetched).sum()
    }
}

impl Flow {
    /// An empty flow.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            stages: Vec::new(),
            continue_on_partial: false,
        }
    }

    /// Appends a stage of concurrent steps.
    #[must_use]
    pub fn stage(mut self, name: impl Into<String>, steps: impl IntoIterator<Item = Step>) -> Self {
        self.stages.push(Stage {
            name: name.into(),
            steps: steps.into_iter().collect(),
        });
        self
    }

    /// Keep running later stages after a partial one (default: stop, so orders never run
    /// ahead of customers that failed to sync).
    #[must_use]
    pub fn continue_on_partial(mut self, yes: bool) -> Self {
        self.continue_on_partial = yes;
        self
    }

    /// The flow's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stages.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// Runs the stages in order. Never fails as a whole: failures show in the report.
    pub async fn run(&self, shutdown: &Shutdown) -> FlowReport {
        let span = info_span!("flow", flow = %self.name);
        async move {
            let started = Instant::now();
            let mut report = FlowReport {
                flow: self.name.clone(),
                runs: Vec::new(),
                checks: Vec::new(),
                stages_run: 0,
                partial: None,
                duration: Duration::ZERO,
            };
            for stage in &self.stages {
                if shutdown.is_requested() {
                    report.partial.get_or_insert_with(|| {
                        format!("shutdown requested before stage `{}`", stage.name)
                    });
                    break;
                }
                info!(stage = %stage.name, steps = stage.steps.len(), "stage started");
                let results = join_all(stage.steps.iter().map(|step| async move {
                    match step {
                        Step::Sync { pipeline, stream } => {
                            StepResult::Run(pipeline.run_until(stream, shutdown).await.map_err(|e| {
                                format!("{} on {stream} could not start: {e}", pipeline.checkpoint_key(stream))
                            }))
                        }
                        Step::Check(c) => StepResult::Check(
                            c.name().to_string(),
                            c.check().await.err().map(|e| e.to_string()),
                        ),
                    }
                }))
                .await;
                report.stages_run += 1;
                let mut stage_problem: Option<String> = None;
                for r in results {
                    match r {
                        StepResult::Run(Ok(run)) => {
                            if let Some(p) = &run.partial {
                                stage_problem.get_or_insert_with(|| {
                                    format!("{}/{} was partial: {p}", run.source, run.stream)
                                });
                            }
                            report.runs.push(run);
                        }
                        StepResult::Run(Err(e)) => {
                            stage_problem.get_or_insert(e);
                        }
                        StepResult::Check(name, failure) => {
                            if let Some(f) = &failure {
                                stage_problem
                                    .get_or_insert_with(|| format!("check `{name}` failed: {f}"));
                            }
                            report.checks.push((name, failure));
                        }
                    }
                }
                if let Some(problem) = stage_problem {
                    let msg = format!("stage `{}`: {problem}", stage.name);
                    warn!("{msg}");
                    report.partial.get_or_insert(msg);
                    if !self.continue_on_partial {
                        break;
                    }
                }
            }
            report.duration = started.elapsed();
            info!(posted = report.posted(), skipped = report.skipped(), failed = report.failed(), partial = ?report.partial, "flow finished");
            report
        }
        .instrument(span)
        .await
    }
}

enum StepResult {
    Run(std::result::Result<RunReport, String>),
    Check(String, Option<String>),
}
