//! A small scheduler: each flow on an interval or a cron expression plus jitter, a "run now"
//! channel (the webhook handler's queue), and graceful shutdown.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{Instrument, info, info_span, warn};

use super::flow::{Flow, FlowReport};
use super::shutdown::{Shutdown, ShutdownTrigger, shutdown_channel};
use crate::error::{Error, Result};

/// When a flow runs.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Start-to-start interval.
    Every(Duration),
    /// A cron expression (UTC), parsed by the `cron` crate: six or seven fields with seconds,
    /// e.g. `0 */15 * * * *` for every quarter hour.
    Cron(Box<cron::Schedule>),
}

impl Schedule {
    /// Every `interval`, start to start.
    pub fn every(interval: Duration) -> Self {
        Schedule::Every(interval)
    }

    /// A cron schedule.
    ///
    /// # Errors
    /// [`Error::Config`] quoting the expression and the expected form.
    pub fn cron(expr: &str) -> Result<Self> {
        cron::Schedule::from_str(expr)
            .map(|s| Schedule::Cron(Box::new(s)))
            .map_err(|e| {
                Error::config(
                    "schedule.cron",
                    format!(
                        "`{expr}` is not a cron expression ({e}); use sec min hour day-of-month month day-of-week [year], e.g. `0 */15 * * * *`"
                    ),
                )
            })
    }

    /// The next start after `now`, given the last start (None: the schedule has no future run).
    pub fn next_after(
        &self,
        last_start: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Every(d) => {
                let d = chrono::Duration::from_std(*d).ok()?;
                let base = last_start.unwrap_or(now);
                Some((base + d).max(now))
            }
            Schedule::Cron(s) => s.after(&now).next(),
        }
    }
}

/// A "run now" request (a webhook arrived, an operator clicked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunNow {
    /// The flow to run, or every flow.
    pub flow: Option<String>,
    /// Why (logged).
    pub reason: String,
}

impl RunNow {
    /// Run every flow now.
    pub fn all(reason: impl Into<String>) -> Self {
        Self {
            flow: None,
            reason: reason.into(),
        }
    }

    /// Run the named flow now.
    pub fn flow(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            flow: Some(name.into()),
            reason: reason.into(),
        }
    }
}

/// A flow with its schedule.
#[derive(Debug, Clone)]
pub struct ScheduledFlow {
    flow: Arc<Flow>,
    schedule: Schedule,
    jitter: Duration,
    run_on_start: bool,
}

impl ScheduledFlow {
    /// `flow` on `schedule`, no jitter, first run at the first scheduled time.
    pub fn new(flow: Flow, schedule: Schedule) -> Self {
        Self {
            flow: Arc::new(flow),
            schedule,
            jitter: Duration::ZERO,
            run_on_start: false,
        }
    }

    /// Adds a random delay up to `jitter` to every scheduled start, so workers sharing a
    /// schedule do not all hit the source at the same second.
    #[must_use]
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Runs once as soon as the scheduler starts.
    #[must_use]
    pub fn run_on_start(mut self, yes: bool) -> Self {
        self.run_on_start = yes;
        self
    }
}

type ReportFn = Arc<dyn Fn(&FlowReport) + Send + Sync>;

/// Runs flows on their schedules until shut down.
#[derive(Default)]
pub struct Scheduler {
    flows: Vec<ScheduledFlow>,
    on_report: Option<ReportFn>,
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("flows", &self.flows)
            .finish_non_exhaustive()
    }
}

/// Controls a running [`Scheduler`].
#[derive(Debug)]
pub struct SchedulerHandle {
    triggers: mpsc::Sender<RunNow>,
    shutdown: ShutdownTrigger,
    task: JoinHandle<()>,
}

impl SchedulerHandle {
    /// A sender for "run now" requests (give it to the webhook handler).
    pub fn triggers(&self) -> mpsc::Sender<RunNow> {
        self.triggers.clone()
    }

    /// A shutdown signal tied to this scheduler (for work the host runs beside it).
    pub fn shutdown_signal(&self) -> Shutdown {
        self.shutdown.subscribe()
    }

    /// Stops: no new runs start, running flows finish their in-flight records and commit,
    /// then this returns.
    pub async fn shutdown(self) {
        self.shutdown.trigger();
        if let Err(e) = self.task.await {
            warn!(error = %e, "scheduler task ended abnormally");
        }
    }
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a scheduled flow.
    #[must_use]
    pub fn add_flow(mut self, flow: ScheduledFlow) -> Self {
        self.flows.push(flow);
        self
    }

    /// Called with every flow report (log it, export metrics).
    #[must_use]
    pub fn on_report(mut self, f: impl Fn(&FlowReport) + Send + Sync + 'static) -> Self {
        self.on_report = Some(Arc::new(f));
        self
    }

    /// Starts the scheduler on the current tokio runtime.
    pub fn spawn(self) -> SchedulerHandle {
        let (trigger, shutdown) = shutdown_channel();
        let (tx, mut rx) = mpsc::channel::<RunNow>(64);
        let mut per_flow: HashMap<String, mpsc::Sender<RunNow>> = HashMap::new();
        let mut tasks = Vec::new();
        for sf in self.flows {
            // Capacity 1: requests that arrive during a run coalesce into one more run.
            let (ftx, frx) = mpsc::channel::<RunNow>(1);
            per_flow.insert(sf.flow.name().to_string(), ftx);
            tasks.push(tokio::spawn(flow_loop(
                sf,
                frx,
                shutdown.clone(),
                self.on_report.clone(),
            )));
        }
        let dispatch_shutdown = shutdown.clone();
        let task = tokio::spawn(async move {
            loop {
                let req = tokio::select! {
                    req = rx.recv() => req,
                    () = dispatch_shutdown.requested() => None,
                };
                let Some(req) = req else { break };
                let targets: Vec<(&String, &mpsc::Sender<RunNow>)> = per_flow
                    .iter()
                    .filter(|(name, _)| req.flow.as_ref().is_none_or(|f| f == *name))
                    .collect();
                if targets.is_empty() {
                    warn!(flow = ?req.flow, reason = %req.reason, "run-now request for an unknown flow ignored");
                }
                for (name, ftx) in targets {
                    if ftx.try_send(req.clone()).is_err() {
                        info!(flow = %name, "run-now request coalesced with one already pending");
                    }
                }
            }
            drop(per_flow);
            for t in tasks {
                if let Err(e) = t.await {
                    warn!(error = %e, "flow task ended abnormally");
                }
            }
        });
        SchedulerHandle {
            triggers: tx,
            shutdown: trigger,
            task,
        }
    }
}

async fn flow_loop(
    sf: ScheduledFlow,
    mut requests: mpsc::Receiver<RunNow>,
    shutdown: Shutdown,
    on_report: Option<ReportFn>,
) {
    let span = info_span!("schedule", flow = %sf.flow.name());
    async move {
        let mut last_start: Option<DateTime<Utc>> = None;
        let mut first = true;
        loop {
            let reason = if first && sf.run_on_start {
                "scheduler start".to_string()
            } else {
                let now = Utc::now();
                let wait = sf
                    .schedule
                    .next_after(last_start, now)
                    .map(|t| (t - now).to_std().unwrap_or(Duration::ZERO) + jitter(sf.jitter));
                tokio::select! {
                    () = sleep_or_forever(wait) => "schedule".to_string(),
                    req = requests.recv() => match req {
                        Some(r) => format!("run now: {}", r.reason),
                        None => break,
                    },
                    () = shutdown.requested() => break,
                }
            };
            first = false;
            if shutdown.is_requested() {
                break;
            }
            info!(%reason, "flow starting");
            last_start = Some(Utc::now());
            let report = sf.flow.run(&shutdown).await;
            if let Some(f) = &on_report {
                f(&report);
            }
        }
        info!("flow schedule stopped");
    }
    .instrument(span)
    .await;
}

fn jitter(max: Duration) -> Duration {
    let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        Duration::ZERO
    } else {
        Duration::from_millis(fastrand::u64(0..=ms))
    }
}

async fn sleep_or_forever(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_start_to_start_and_never_in_the_past() {
        let s = Schedule::every(Duration::from_secs(300));
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(
            s.next_after(None, t0),
            Some(t0 + chrono::Duration::seconds(300))
        );
        let now = t0 + chrono::Duration::seconds(120);
        assert_eq!(
            s.next_after(Some(t0), now),
            Some(t0 + chrono::Duration::seconds(300))
        );
        let late = t0 + chrono::Duration::seconds(900);
        assert_eq!(s.next_after(Some(t0), late), Some(late));
    }

    #[test]
    fn cron_next_and_bad_expression() {
        let s = Schedule::cron("0 */15 * * * *").unwrap();
        let t = DateTime::parse_from_rfc3339("2026-03-01T10:07:30Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            s.next_after(None, t).unwrap().to_rfc3339(),
            "2026-03-01T10:15:00+00:00"
        );
        let e = Schedule::cron("every five minutes")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("every five minutes") && e.contains("0 */15"),
            "{e}"
        );
    }
}
