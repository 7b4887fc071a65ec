//! The quickstart job (`cargo run --example quickstart`), as a function tests can call.
//!
//! [`run_quickstart`] syncs Adobe Commerce and Amazon into QAD with the default mappers, masters
//! first, then does it again from scratch to show that nothing is posted twice:
//!
//! ```text
//! stage masters    adobe/customers, adobe/companies     → QAD customers
//! stage crosswalk  the QAD item master is read; both crosswalks are validated against it
//! stage documents  adobe/orders, amazon/orders          → QAD sales orders (guests' customers first)
//! stage invoices   adobe/invoices                       → QAD receivables
//! stage credit memos adobe/creditmemos                  → QAD credit notes (after their invoices)
//! ```
//!
//! It works on any [`Systems`]: the simulators ([`super::Sandbox::systems`]) or real systems
//! (`ConnectorConfig::resolve`). The second pass keeps the dedup and audit stores but starts
//! without checkpoints (as after a lost checkpoint), so every record is read again and every
//! document is skipped as done: the duplicates prevented.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::TryStreamExt;
use tracing::{info, warn};

use crate::adobe::AdobeSource;
use crate::amazon::AmazonSource;
use crate::config::{Channel, Systems};
use crate::core::{DeadLetterQuery, MapContext};
use crate::error::{Error, Result};
use crate::mapping::DefaultMapper;
use crate::pipeline::{
    Flow, FlowCheck, FlowReport, Pipeline, ProgressFn, RetryPolicy, Step, shutdown_channel,
};
use crate::qad::QadSink;
use crate::store::{MemoryCheckpointStore, Stores};
use crate::{ErpSink, SourceSystem};

/// Called with a pass's label before it starts.
pub type PassFn = Arc<dyn Fn(&str) + Send + Sync>;

/// Quickstart settings.
#[derive(Clone, Default)]
pub struct QuickstartOptions {
    /// Progress callback attached to every pipeline (a host turns it into progress bars).
    pub progress: Option<ProgressFn>,
    /// Records in flight per stream (default 8).
    pub concurrency: Option<usize>,
    /// Run only the first pass.
    pub single_pass: bool,
    /// Called with each pass's label before it starts.
    pub on_pass: Option<PassFn>,
}

impl fmt::Debug for QuickstartOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuickstartOptions")
            .field("progress", &self.progress.is_some())
            .field("concurrency", &self.concurrency)
            .field("single_pass", &self.single_pass)
            .field("on_pass", &self.on_pass.is_some())
            .finish()
    }
}

/// One line of the summary: one stream in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLine {
    /// `adobe/orders`.
    pub stream: String,
    /// Records read.
    pub read: u64,
    /// Documents posted.
    pub posted: u64,
    /// Documents skipped because they were done already: the duplicates prevented.
    pub duplicates: u64,
    /// Records dead-lettered.
    pub failed: u64,
    /// `Some(reason)` when the run did not finish.
    pub partial: Option<String>,
}

/// One pass of the job.
#[derive(Debug, Clone)]
pub struct Pass {
    /// What the pass was.
    pub label: String,
    /// Per stream, in flow order.
    pub streams: Vec<StreamLine>,
    /// The flow's report.
    pub flow: FlowReport,
    /// Wall-clock time.
    pub duration: Duration,
}

impl Pass {
    /// Records read.
    pub fn read(&self) -> u64 {
        self.streams.iter().map(|s| s.read).sum()
    }
    /// Documents posted.
    pub fn posted(&self) -> u64 {
        self.streams.iter().map(|s| s.posted).sum()
    }
    /// Duplicates prevented.
    pub fn duplicates(&self) -> u64 {
        self.streams.iter().map(|s| s.duplicates).sum()
    }
    /// Records dead-lettered.
    pub fn failed(&self) -> u64 {
        self.streams.iter().map(|s| s.failed).sum()
    }
}

/// A record held in the dead-letter list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRecord {
    /// `adobe/orders/1:100000017`.
    pub record: String,
    /// The error, with its fix.
    pub reason: String,
    /// Times it failed.
    pub failures: u32,
}

/// What the quickstart did.
#[derive(Debug, Clone)]
pub struct QuickstartSummary {
    /// Where it ran (`the built-in simulators`, a configuration file).
    pub origin: String,
    /// The passes.
    pub passes: Vec<Pass>,
    /// Unresolved dead letters after the last pass.
    pub held: Vec<HeldRecord>,
}

impl fmt::Display for QuickstartSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Summary ({})", self.origin)?;
        for pass in &self.passes {
            writeln!(f)?;
            writeln!(f, "{} — {:.1?}", pass.label, pass.duration)?;
            writeln!(
                f,
                "  {:<22} {:>8} {:>8} {:>12} {:>8}",
                "stream", "read", "posted", "duplicates", "failed"
            )?;
            for s in &pass.streams {
                writeln!(
                    f,
                    "  {:<22} {:>8} {:>8} {:>12} {:>8}{}",
                    s.stream,
                    s.read,
                    s.posted,
                    s.duplicates,
                    s.failed,
                    s.partial
                        .as_deref()
                        .map(|p| format!("  PARTIAL: {p}"))
                        .unwrap_or_default()
                )?;
            }
            writeln!(
                f,
                "  {:<22} {:>8} {:>8} {:>12} {:>8}",
                "total",
                pass.read(),
                pass.posted(),
                pass.duplicates(),
                pass.failed()
            )?;
            if let Some(p) = &pass.flow.partial {
                writeln!(f, "  flow stopped early: {p}")?;
            }
        }
        writeln!(f)?;
        if self.held.is_empty() {
            writeln!(f, "Dead letters: none")?;
        } else {
            writeln!(
                f,
                "Dead letters ({}, held with their payload; fix and replay with examples/replay_failed.rs):",
                self.held.len()
            )?;
            for h in &self.held {
                writeln!(f, "  {}", h.record)?;
                writeln!(f, "      {}", h.reason)?;
            }
        }
        Ok(())
    }
}

/// A flow check between masters and documents: reads the QAD item master and validates each
/// channel's SKU crosswalk against it, so that an unknown SKU holds its order with a message
/// naming the SKU (instead of QAD refusing the order line). Crosswalk entries that point to
/// items QAD does not have are logged.
pub struct CrosswalkCheck {
    sink: Arc<QadSink>,
    targets: Vec<Target>,
    loaded: std::sync::Mutex<Option<usize>>,
}

/// A pipeline whose crosswalk the check validates: its base context and explicit entries.
type Target = (Pipeline, MapContext, Vec<(String, String)>);

impl CrosswalkCheck {
    /// A check for `sink`'s item master.
    pub fn new(sink: Arc<QadSink>) -> Self {
        Self {
            sink,
            targets: Vec::new(),
            loaded: std::sync::Mutex::new(None),
        }
    }

    /// Validates `pipeline`'s crosswalk (from `base`) and installs the validated context;
    /// `entries` are the explicit `(sku, item)` pairs to report on.
    #[must_use]
    pub fn pipeline(
        mut self,
        pipeline: &Pipeline,
        base: MapContext,
        entries: Vec<(String, String)>,
    ) -> Self {
        self.targets.push((pipeline.clone(), base, entries));
        self
    }

    /// Items read by the last check.
    pub fn items_loaded(&self) -> Option<usize> {
        *self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The item codes of the QAD item master (every page of the item browse).
///
/// # Errors
/// Transport and auth errors of the browse.
pub async fn item_master(sink: &QadSink) -> Result<Vec<String>> {
    sink.items().map_ok(|i| i.code).try_collect().await
}

/// `ctx` with its crosswalk validated against `items` (an unknown SKU then holds its record
/// with a message naming the SKU and the crosswalk file).
///
/// # Errors
/// What [`MapContext`]'s builder returns (nothing new: `ctx` was valid).
pub fn validated(ctx: &MapContext, items: &[String]) -> Result<MapContext> {
    ctx.to_builder()
        .skus(ctx.skus().with_item_master(items.iter().cloned()))
        .build()
}

#[async_trait]
impl FlowCheck for CrosswalkCheck {
    fn name(&self) -> &str {
        "SKU crosswalk against the QAD item master"
    }

    async fn check(&self) -> Result<()> {
        let items: Vec<String> = self.sink.items().map_ok(|i| i.code).try_collect().await?;
        if items.is_empty() {
            return Err(Error::config(
                "qad.registry.item.browse",
                "the QAD item master browse returned no items: every order would be held; check the item browse id and fields (docs/qad.md §4) and the user's read access",
            ));
        }
        let known: std::collections::HashSet<&str> = items.iter().map(String::as_str).collect();
        for (pipeline, base, entries) in &self.targets {
            let missing: Vec<String> = entries
                .iter()
                .filter(|(_, item)| !known.contains(item.as_str()))
                .map(|(sku, item)| format!("{sku} → {item}"))
                .collect();
            if !missing.is_empty() {
                warn!(
                    crosswalk = base.skus().source(),
                    missing = missing.len(),
                    entries = %missing.join(", "),
                    "crosswalk entries point to items QAD does not have; their orders will be held"
                );
            }
            pipeline.set_map_context(validated(base, &items)?);
        }
        *self.loaded.lock().unwrap_or_else(|p| p.into_inner()) = Some(items.len());
        info!(
            items = items.len(),
            "item master loaded; crosswalks validated"
        );
        Ok(())
    }
}

/// The pipelines of one pass.
struct Job {
    adobe: Option<Pipeline>,
    amazon: Option<Pipeline>,
    flow: Flow,
}

fn pipeline(
    source: Arc<dyn SourceSystem>,
    sink: Arc<dyn ErpSink>,
    stores: &Stores,
    ctx: MapContext,
    opts: &QuickstartOptions,
) -> Result<Pipeline> {
    let mut b = Pipeline::builder()
        .source(source)
        .mapper(Arc::new(DefaultMapper))
        .sink(sink)
        .stores(stores)?
        .context(ctx)
        .concurrency(opts.concurrency.unwrap_or(8))
        .lease(Duration::from_secs(120))
        .retry(
            RetryPolicy::with_attempts(4).delays(Duration::from_millis(50), Duration::from_secs(2)),
        );
    if let Some(p) = &opts.progress {
        b = b.progress(p.clone());
    }
    b.build()
}

fn job(
    systems: &Systems,
    sink: &Arc<QadSink>,
    stores: &Stores,
    opts: &QuickstartOptions,
) -> Result<Job> {
    let reference = &systems.reference;
    let erp: Arc<dyn ErpSink> = sink.clone();
    let mut check = CrosswalkCheck::new(sink.clone());
    let adobe = match &systems.adobe {
        Some(cfg) => {
            let ctx = reference.context(Channel::Adobe)?;
            let p = pipeline(
                Arc::new(AdobeSource::new(cfg.clone())?),
                erp.clone(),
                stores,
                ctx.clone(),
                opts,
            )?;
            check = check.pipeline(&p, ctx, reference.crosswalk_entries(Channel::Adobe)?);
            Some(p)
        }
        None => None,
    };
    let amazon = match &systems.amazon {
        Some(cfg) => {
            let ctx = reference.context(Channel::Amazon)?;
            let p = pipeline(
                Arc::new(AmazonSource::new(cfg.clone())?),
                erp,
                stores,
                ctx.clone(),
                opts,
            )?;
            check = check.pipeline(&p, ctx, reference.crosswalk_entries(Channel::Amazon)?);
            Some(p)
        }
        None => None,
    };
    if adobe.is_none() && amazon.is_none() {
        return Err(Error::config(
            "adobe",
            format!(
                "{} configures neither [adobe] nor [amazon]: nothing to sync",
                systems.origin
            ),
        ));
    }
    let sync = |p: &Option<Pipeline>, streams: &[&str]| -> Vec<Step> {
        p.as_ref()
            .map(|p| streams.iter().map(|s| Step::sync(p, *s)).collect())
            .unwrap_or_default()
    };
    let mut documents = sync(&adobe, &["orders"]);
    documents.extend(sync(&amazon, &["orders"]));
    let flow = Flow::new("quickstart")
        .stage("masters", sync(&adobe, &["customers", "companies"]))
        .stage("crosswalk", [Step::check(Arc::new(check))])
        .stage("documents", documents)
        .stage("invoices", sync(&adobe, &["invoices"]))
        .stage("credit memos", sync(&adobe, &["creditmemos"]));
    Ok(Job {
        adobe,
        amazon,
        flow,
    })
}

fn lines(report: &FlowReport) -> Vec<StreamLine> {
    report
        .runs
        .iter()
        .map(|r| StreamLine {
            stream: format!("{}/{}", r.source, r.stream),
            read: r.fetched,
            posted: r.posted,
            duplicates: r.skipped,
            failed: r.failed,
            partial: r.partial.clone(),
        })
        .collect()
}

/// Runs the quickstart job on `systems` (QAD plus Adobe Commerce and/or Amazon).
///
/// # Errors
/// Configuration and connection errors before the first record (QAD login and validation, the
/// stores); everything after that shows in the summary (partial runs, dead letters).
pub async fn run_quickstart(
    systems: &Systems,
    opts: &QuickstartOptions,
) -> Result<QuickstartSummary> {
    let stores = systems.stores().await?;
    let audit = stores.require_audit()?;
    let sink = Arc::new(QadSink::new(systems.require_qad()?.clone())?);
    let caps = sink.connect().await?;
    info!(?caps, "QAD validated");
    let (_trigger, shutdown) = shutdown_channel();

    let announce = |label: &str| {
        if let Some(f) = &opts.on_pass {
            f(label);
        }
    };
    let mut passes = Vec::new();
    let first = job(systems, &sink, &stores, opts)?;
    let label = "Pass 1: first sync";
    announce(label);
    let started = Instant::now();
    let report = first.flow.run(&shutdown).await;
    passes.push(Pass {
        label: label.into(),
        streams: lines(&report),
        flow: report,
        duration: started.elapsed(),
    });

    if !opts.single_pass {
        // Same dedup and audit, no checkpoints: everything is read again.
        let reread = Stores {
            checkpoints: Arc::new(MemoryCheckpointStore::new()),
            ..stores.clone()
        };
        let second = job(systems, &sink, &reread, opts)?;
        let label = "Pass 2: the same job again from scratch (checkpoints reset)";
        announce(label);
        let started = Instant::now();
        let report = second.flow.run(&shutdown).await;
        passes.push(Pass {
            label: label.into(),
            streams: lines(&report),
            flow: report,
            duration: started.elapsed(),
        });
        drop((second.adobe, second.amazon));
    }
    drop((first.adobe, first.amazon));

    let held = audit
        .dead_letters(&DeadLetterQuery::default())
        .await?
        .into_iter()
        .map(|l| HeldRecord {
            record: l.record.key.to_string(),
            reason: l.error,
            failures: l.failures,
        })
        .collect();
    Ok(QuickstartSummary {
        origin: systems.origin.clone(),
        passes,
        held,
    })
}

/// Counts of what the QAD simulator holds, by document kind (for the demo's closing line).
pub fn qad_counts(qad: &super::qad::QadSimulator) -> BTreeMap<&'static str, usize> {
    use crate::model::DocumentKind as K;
    [
        ("customers", K::Customer),
        ("sales orders", K::SalesOrder),
        ("receivables", K::Receivable),
        ("credit notes", K::CreditNote),
    ]
    .into_iter()
    .map(|(n, k)| (n, qad.count(k)))
    .collect()
}

/// One row of the ping table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingResult {
    /// `adobe`, `amazon`, `qad`.
    pub system: &'static str,
    /// What was tried.
    pub check: String,
    /// Passed?
    pub ok: bool,
    /// What was seen, or why it failed (the error names the setting to fix).
    pub detail: String,
    /// How long it took.
    pub elapsed: Duration,
}

/// Logs in to every configured system and makes one cheap authenticated read:
///
/// * Adobe Commerce: one page of one order (`GET V1/orders`, `pageSize=1`);
/// * Amazon: `getMarketplaceParticipations` (Sellers API), checking every configured
///   marketplace is among them;
/// * QAD: `connect()` — login, domain, browse fields and component probes (the registry
///   validation), listing the document kinds that are not writable.
///
/// Never fails: a failure is a row with its reason.
pub async fn ping(systems: &Systems) -> Vec<PingResult> {
    let mut out = Vec::new();
    if let Some(cfg) = &systems.adobe {
        let t = Instant::now();
        let r = async {
            let client = crate::adobe::AdobeClient::new(cfg.clone())?;
            client
                .search("ping", "V1/orders", &crate::adobe::SearchCriteria::new(1))
                .await
        }
        .await;
        out.push(PingResult {
            system: "adobe",
            check: format!(
                "GET {} (one order)",
                cfg.resource_url("V1/orders")
                    .map_or_else(|_| "V1/orders".to_string(), |u| u.to_string())
            ),
            ok: r.is_ok(),
            detail: match r {
                Ok(page) => format!(
                    "authenticated; {} order(s) in the store",
                    page.total_count
                        .map_or_else(|| "?".into(), |n| n.to_string())
                ),
                Err(e) => e.to_string(),
            },
            elapsed: t.elapsed(),
        });
    }
    if let Some(cfg) = &systems.amazon {
        let t = Instant::now();
        let r = async {
            let client = crate::amazon::SpApiClient::new(cfg.clone())?;
            client.get_marketplace_participations().await
        }
        .await;
        let (ok, detail) = match r {
            Ok(p) => {
                let ids: Vec<&str> = p
                    .payload
                    .iter()
                    .filter(|x| x.participation.is_participating)
                    .map(|x| x.marketplace.id.as_str())
                    .collect();
                let missing: Vec<&String> = cfg
                    .marketplace_ids
                    .iter()
                    .filter(|m| !ids.contains(&m.as_str()))
                    .collect();
                if missing.is_empty() {
                    (
                        true,
                        format!("authenticated; participating in {}", ids.join(", ")),
                    )
                } else {
                    (
                        false,
                        format!(
                            "the seller does not participate in {missing:?} (it does in {ids:?}); fix amazon.marketplaces"
                        ),
                    )
                }
            }
            Err(e) => (false, e.to_string()),
        };
        out.push(PingResult {
            system: "amazon",
            check: "getMarketplaceParticipations".into(),
            ok,
            detail,
            elapsed: t.elapsed(),
        });
    }
    if let Some(cfg) = &systems.qad {
        let t = Instant::now();
        let r = async {
            let sink = QadSink::new(cfg.clone())?;
            let caps = sink.connect().await?;
            Ok::<_, Error>((caps, sink.report().await))
        }
        .await;
        let (ok, detail) = match r {
            Ok((caps, report)) => {
                use crate::core::EntityAccess as A;
                let settings = report.map(|r| r.settings.clone()).unwrap_or_default();
                let mut writable = Vec::new();
                let mut disabled = Vec::new();
                let mut blocked = Vec::new();
                for (kind, access) in &caps.entities {
                    let fix = settings
                        .get(kind)
                        .map(|s| format!(", fix {s}"))
                        .unwrap_or_default();
                    match access {
                        A::Available => writable.push(kind.as_str().to_string()),
                        A::Disabled(_) => disabled.push(kind.as_str().to_string()),
                        A::Unavailable(why) | A::Forbidden(why) => {
                            blocked.push(format!("{} ({why}{fix})", kind.as_str()));
                        }
                    }
                }
                let mut d = format!("validated; writable: {}", writable.join(", "));
                if !disabled.is_empty() {
                    d.push_str(&format!(
                        "; disabled by configuration: {}",
                        disabled.join(", ")
                    ));
                }
                if !blocked.is_empty() {
                    d.push_str(&format!("; NOT writable: {}", blocked.join("; ")));
                }
                (true, d)
            }
            Err(e) => (false, e.to_string()),
        };
        out.push(PingResult {
            system: "qad",
            check: format!("connect {} (registry validation)", cfg.base_url()),
            ok,
            detail,
            elapsed: t.elapsed(),
        });
    }
    out
}

/// The ping results as a table.
pub fn ping_table(results: &[PingResult]) -> String {
    let mut s = format!(
        "{:<8} {:<6} {:>8}  {}\n",
        "system", "result", "time", "check / detail"
    );
    for r in results {
        s.push_str(&format!(
            "{:<8} {:<6} {:>8}  {}\n{:<8} {:<6} {:>8}  {}\n",
            r.system,
            if r.ok { "PASS" } else { "FAIL" },
            format!("{:.0?}", r.elapsed),
            r.check,
            "",
            "",
            "",
            r.detail
        ));
    }
    s
}
