//! [`QadSink`]: the [`ErpSink`] for QAD Adaptive ERP.
//!
//! * **connect** logs in, checks that the domain exists, checks every configured browse's
//!   fields, and probes every configured business component. The outcome is the allowlist
//!   ([`Capabilities`]); a write to an entity not on it is refused locally, before any request,
//!   with a message naming the registry entry or setting to fix.
//! * **find** reads before writing, on deterministic keys: the customer code; the customer PO +
//!   sold-to (and the order number derived from the external id) for sales orders; the external
//!   id as reference for invoices, credit notes, journals and inventory adjustments. Browses are
//!   read page by page until an empty page.
//! * **post** begins with that same check (QAD has no idempotency keys and only *warns* about a
//!   duplicate customer PO), then writes. Creates and commits are sent with
//!   `idempotent(false)`: a timeout or 5xx after sending is never re-sent blindly — the sink
//!   waits a moment, checks with `find`, and either returns the document QAD already has or
//!   reports [`Error::Ambiguous`] so the caller retries later (when `post` checks again first).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::{Mutex, RwLock};

use super::client::{Filter, QadClient, Row, is_ambiguous};
use super::config::QadConfig;
use super::payloads::{self, derive_order_number, order_po, record_uri};
use super::registry::{BrowseDef, ComponentDef, InvoiceEntry, UnplannedDef};
use super::wire::{QadMessage, cell_str, records, value_decimal};
use crate::core::{Capabilities, EntityAccess, ErpSink, Receipt};
use crate::error::{Context, Error, Issue, Result};
use crate::http::RetryPolicy;
use crate::model::{
    CreditNoteDoc, CustomerDoc, DocumentKind, ErpDocument, InventoryAdjustmentDoc, ItemDoc,
    JournalDoc, ReceivableDoc, SalesOrderDoc, SalesOrderLine,
};

/// How many derived order numbers are tried before giving up on collisions.
const ORDER_NUMBER_SLOTS: u32 = 5;
/// Rows read when looking a document up by key.
const FIND_LIMIT: usize = 50;

/// What connect found out.
#[derive(Debug, Clone, Default)]
pub struct ConnectReport {
    /// The allowlist.
    pub capabilities: Capabilities,
    /// Access to the inventory *issue* flow (negative adjustments).
    pub inventory_issue: Option<EntityAccess>,
    /// Whether the item component answers keyed reads (used to check order lines' items before
    /// a header is written), whatever the item *write* setting.
    pub item_reads: Option<EntityAccess>,
    /// The setting to fix for each kind that is not available.
    pub settings: BTreeMap<DocumentKind, String>,
    /// Things worth knowing that did not block (unverifiable browses, entity mismatch).
    pub notes: Vec<String>,
}

/// The QAD sink. Cheap to share (`Arc<QadSink>`); all methods take `&self`.
pub struct QadSink {
    client: QadClient,
    cfg: Arc<QadConfig>,
    report: RwLock<Option<Arc<ConnectReport>>>,
    connecting: Mutex<()>,
    settle: Duration,
}

impl std::fmt::Debug for QadSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QadSink")
            .field("client", &self.client)
            .field("settle", &self.settle)
            .finish_non_exhaustive()
    }
}

fn registry_name(kind: DocumentKind) -> &'static str {
    kind.as_str()
}

fn warning(message: impl Into<String>) -> Issue {
    Issue {
        field: None,
        code: None,
        message: message.into(),
        severity: Some("WARNING".into()),
    }
}

fn ctx(op: &str, record: &str) -> Context {
    Context {
        op: op.to_string(),
        record: Some(record.to_string()),
        ..Context::default()
    }
}

/// [`Error::Ambiguous`] for a write whose follow-up check did not settle it: the failed call's
/// context (or `op` and `record`), and `message`.
fn still_ambiguous(err: &Error, op: &str, record: &str, message: String) -> Error {
    Error::Ambiguous {
        ctx: err
            .context()
            .cloned()
            .unwrap_or_else(|| ctx(op, record))
            .into(),
        message,
    }
}

/// A component to probe at connect: (setting suffix, path, view URI, key params).
type Probed<'a> = (String, &'a str, Option<&'a str>, &'a [String]);

/// The probe of component `c`, configured at `{prefix}.path`.
fn probed<'a>(prefix: &str, c: &'a ComponentDef) -> Probed<'a> {
    (
        format!("{prefix}.path"),
        &c.path,
        Some(&c.view_uri),
        &c.key_params,
    )
}

fn to_issues(w: &[QadMessage]) -> Vec<Issue> {
    w.iter().map(QadMessage::to_issue).collect()
}

enum OrderState {
    Complete(Receipt),
    Partial {
        number: String,
        lines: BTreeSet<u32>,
        warnings: Vec<Issue>,
    },
    Absent {
        number: String,
    },
}

impl QadSink {
    /// A sink for `cfg` with the kernel's default retry policy.
    ///
    /// # Errors
    /// [`Error::Config`] when the client cannot be set up.
    pub fn new(cfg: QadConfig) -> Result<Self> {
        Self::with_retry(cfg, RetryPolicy::default())
    }

    /// A sink with an explicit retry policy for reads.
    ///
    /// # Errors
    /// [`Error::Config`] when the client cannot be set up.
    pub fn with_retry(cfg: QadConfig, retry: RetryPolicy) -> Result<Self> {
        let cfg = Arc::new(cfg);
        Ok(Self {
            client: QadClient::with_retry(cfg.clone(), retry)?,
            cfg,
            report: RwLock::new(None),
            connecting: Mutex::new(()),
            settle: Duration::from_secs(2),
        })
    }

    /// How long to wait after an ambiguous write before checking whether QAD stored the
    /// document (default 2 s: lets a slow commit finish).
    #[must_use]
    pub fn with_settle_delay(mut self, d: Duration) -> Self {
        self.settle = d;
        self
    }

    /// The client (for reads and tooling).
    pub fn client(&self) -> &QadClient {
        &self.client
    }

    /// The configuration.
    pub fn config(&self) -> &QadConfig {
        &self.cfg
    }

    /// The last connect report, if connected.
    pub async fn report(&self) -> Option<Arc<ConnectReport>> {
        self.report.read().await.clone()
    }

    async fn connection(&self) -> Result<Arc<ConnectReport>> {
        if let Some(r) = self.report.read().await.clone() {
            return Ok(r);
        }
        self.connect().await?;
        self.report
            .read()
            .await
            .clone()
            .ok_or_else(|| Error::config("qad", "connect did not complete"))
    }

    async fn run_connect(&self) -> Result<ConnectReport> {
        let cfg = &self.cfg;
        let reg = cfg.registry();
        let mut report = ConnectReport::default();

        // 1. Login.
        self.client.auth().ensure_login().await?;

        // 2. Domain.
        let dom = &reg.domain.browse;
        let code_field = dom.field("code").unwrap_or_default();
        let rows = self
            .client
            .browse_rows(
                dom,
                vec![Filter::eq(code_field, cfg.domain())],
                5,
                cfg.domain(),
            )
            .await?;
        let Some(row) = rows
            .iter()
            .find(|r| cell_str(r, code_field).as_deref() == Some(cfg.domain()))
        else {
            let all = self.client.browse_rows(dom, vec![], 50, "domains").await?;
            let codes: Vec<String> = all.iter().filter_map(|r| cell_str(r, code_field)).collect();
            return Err(if codes.is_empty() {
                Error::config(
                    "qad.registry.domain.browse",
                    format!(
                        "the domain browse {} returned no rows on {}: check the browse id and field `{code_field}`, and that the API user has domain access",
                        dom.id,
                        cfg.base_url()
                    ),
                )
            } else {
                Error::config(
                    "qad.domain",
                    format!(
                        "domain `{}` does not exist on {} (or the API user has no access to it); this instance has: {}",
                        cfg.domain(),
                        cfg.base_url(),
                        codes.join(", ")
                    ),
                )
            });
        };
        if let Some(ef) = dom.field("entity")
            && let Some(e) = cell_str(row, ef)
            && !e.is_empty()
            && e != cfg.entity()
        {
            report.notes.push(format!(
                "domain {} lists entity {e} as its primary entity; qad.entity is {} (fine if the domain has several entities)",
                cfg.domain(),
                cfg.entity()
            ));
        }

        // 3. Browse fields.
        let lookup_usable = if reg.field_lookup.enabled {
            !self
                .client
                .browse_fields(&reg.field_lookup.browse, &dom.id)
                .await?
                .is_empty()
        } else {
            false
        };
        let mut browse_cache: HashMap<String, Option<(String, String)>> = HashMap::new();
        let mut probe_cache: HashMap<(String, String), EntityAccess> = HashMap::new();

        for kind in DocumentKind::ALL {
            let name = registry_name(kind);
            let (access, setting) = match kind {
                DocumentKind::Listing => (
                    EntityAccess::Disabled(
                        "listings are written by the Amazon Listings sink, not QAD".into(),
                    ),
                    "qad".to_string(),
                ),
                _ => {
                    self.check_kind(
                        kind,
                        lookup_usable,
                        &mut browse_cache,
                        &mut probe_cache,
                        &mut report,
                    )
                    .await?
                }
            };
            if access != EntityAccess::Available {
                tracing::info!(entity = name, ?access, "QAD entity not writable");
                report.settings.insert(kind, setting);
            }
            report.capabilities.entities.insert(kind, access);
        }
        let item = &reg.item.component;
        report.item_reads = Some(
            self.probe_cached(
                &mut probe_cache,
                &item.path,
                Some(&item.view_uri),
                &item.key_params,
            )
            .await?,
        );
        if report
            .capabilities
            .can_write(DocumentKind::InventoryAdjustment)
        {
            let issue = &reg.inventory_adjustment.issue;
            let access = if issue.enabled {
                self.probe_cached(
                    &mut probe_cache,
                    &issue.component.path,
                    Some(&issue.component.view_uri),
                    &issue.component.key_params,
                )
                .await?
            } else {
                EntityAccess::Disabled(
                    "qad.registry.inventory_adjustment.issue.enabled is false".into(),
                )
            };
            report.inventory_issue = Some(access);
        }
        Ok(report)
    }

    async fn probe_cached(
        &self,
        cache: &mut HashMap<(String, String), EntityAccess>,
        path: &str,
        view_uri: Option<&str>,
        keys: &[String],
    ) -> Result<EntityAccess> {
        let key = (path.to_string(), view_uri.unwrap_or_default().to_string());
        if let Some(a) = cache.get(&key) {
            return Ok(a.clone());
        }
        let p = self
            .client
            .probe(path, view_uri.unwrap_or_default(), keys)
            .await?;
        cache.insert(key, p.access.clone());
        Ok(p.access)
    }

    /// Checks a browse's mapped fields; `Some((setting suffix, reason))` when it is unusable.
    async fn check_browse(
        &self,
        b: &BrowseDef,
        lookup_usable: bool,
        cache: &mut HashMap<String, Option<(String, String)>>,
        notes: &mut Vec<String>,
    ) -> Result<Option<(String, String)>> {
        if let Some(v) = cache.get(&b.id) {
            return Ok(v.clone());
        }
        let reg = self.cfg.registry();
        let mut verdict = None;
        let offered: Vec<String> = if lookup_usable {
            self.client
                .browse_fields(&reg.field_lookup.browse, &b.id)
                .await?
        } else {
            Vec::new()
        };
        if lookup_usable && offered.is_empty() {
            verdict = Some((
                "browse.id".to_string(),
                format!(
                    "browse {} is unknown on this instance (the field lookup lists no fields for it)",
                    b.id
                ),
            ));
        } else if !offered.is_empty() {
            if let Some((logical, field)) = b.fields.iter().find(|(_, f)| !offered.contains(f)) {
                verdict = Some((
                    format!("browse.fields.{logical}"),
                    format!("browse {} has no field `{field}` on this instance", b.id),
                ));
            }
        } else {
            let rows = self.client.browse_rows(b, vec![], 1, &b.id).await?;
            match rows.first() {
                Some(row) => {
                    if let Some((logical, field)) =
                        b.fields.iter().find(|(_, f)| !row.contains_key(f.as_str()))
                    {
                        verdict = Some((
                            format!("browse.fields.{logical}"),
                            format!("browse {} returned rows without field `{field}`", b.id),
                        ));
                    }
                }
                None => notes.push(format!(
                    "browse {} returned no rows and no field lookup is available: its fields could not be verified (unknown browse or empty table); find() relies on it",
                    b.id
                )),
            }
        }
        cache.insert(b.id.clone(), verdict.clone());
        Ok(verdict)
    }

    async fn check_kind(
        &self,
        kind: DocumentKind,
        lookup_usable: bool,
        browse_cache: &mut HashMap<String, Option<(String, String)>>,
        probe_cache: &mut HashMap<(String, String), EntityAccess>,
        report: &mut ConnectReport,
    ) -> Result<(EntityAccess, String)> {
        let reg = self.cfg.registry();
        let name = registry_name(kind);
        let base = format!("qad.registry.{name}");
        let mut comps: Vec<Probed<'_>> = Vec::new();
        let (enabled, browse): (bool, &BrowseDef) = match kind {
            DocumentKind::Customer => {
                let e = &reg.customer;
                comps.push(probed("component", &e.component));
                if let Some(x) = &e.domain_extension {
                    comps.push(probed("domain_extension", x));
                }
                (e.enabled, &e.browse)
            }
            DocumentKind::Item => {
                let e = &reg.item;
                comps.push(probed("component", &e.component));
                (e.enabled, &e.browse)
            }
            DocumentKind::SalesOrder => {
                let e = &reg.sales_order;
                comps.push(probed("component", &e.component));
                comps.push((
                    "lines.grid_path".into(),
                    &e.lines.grid_path,
                    None,
                    &e.component.key_params,
                ));
                (e.enabled, &e.browse)
            }
            DocumentKind::Receivable | DocumentKind::CreditNote => {
                let e = if kind == DocumentKind::Receivable {
                    &reg.receivable
                } else {
                    &reg.credit_note
                };
                comps.push(probed("component", &e.component));
                (e.enabled, &e.browse)
            }
            DocumentKind::Journal => {
                let e = &reg.journal;
                comps.push(probed("component", &e.component));
                (e.enabled, &e.browse)
            }
            DocumentKind::InventoryAdjustment => {
                let e = &reg.inventory_adjustment;
                comps.push(probed("receipt.component", &e.receipt.component));
                (e.enabled && e.receipt.enabled, &e.browse)
            }
            DocumentKind::Listing => unreachable!("handled by the caller"),
        };
        if !enabled {
            return Ok((
                EntityAccess::Disabled(format!(
                    "{base}.enabled is false (set it to true once the component is confirmed on this tenant)"
                )),
                format!("{base}.enabled"),
            ));
        }
        if kind == DocumentKind::Customer
            && let Some(setting) = self.cfg.defaults().customer.missing_required()
        {
            return Ok((
                EntityAccess::Disabled(format!(
                    "{setting} is not set: QAD requires it to create customers"
                )),
                setting.to_string(),
            ));
        }
        for (suffix, path, view_uri, keys) in comps {
            let access = self.probe_cached(probe_cache, path, view_uri, keys).await?;
            if access != EntityAccess::Available {
                let setting = match &access {
                    EntityAccess::Forbidden(_) => base.clone(),
                    _ => format!("{base}.{suffix}"),
                };
                return Ok((access, setting));
            }
        }
        if let Some((suffix, reason)) = self
            .check_browse(browse, lookup_usable, browse_cache, &mut report.notes)
            .await?
        {
            return Ok((
                EntityAccess::Unavailable(format!(
                    "{reason}; find() needs it to prevent double-booking"
                )),
                format!("{base}.{suffix}"),
            ));
        }
        Ok((EntityAccess::Available, base))
    }

    /// Refuses locally when `kind` is not on the allowlist.
    fn allowed(&self, report: &ConnectReport, kind: DocumentKind, record: &str) -> Result<()> {
        let access = report
            .capabilities
            .entities
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| EntityAccess::Disabled("not configured".into()));
        let setting = report
            .settings
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| format!("qad.registry.{}", registry_name(kind)));
        match access {
            EntityAccess::Available => Ok(()),
            EntityAccess::Unavailable(reason) => Err(Error::config(
                setting.clone(),
                format!(
                    "refused before any request for {record}: {kind} is not available on this QAD instance — {reason}; fix `{setting}` (ask the tenant which component to use) and connect again"
                ),
            )),
            EntityAccess::Forbidden(reason) => Err(Error::PermissionDenied {
                ctx: ctx(&format!("qad.{kind}.post"), record).into(),
                message: format!(
                    "refused before any request: {reason}; grant the role, or set `{setting}.enabled = false` in the registry"
                ),
            }),
            EntityAccess::Disabled(reason) => Err(Error::config(
                setting,
                format!("refused before any request for {record}: {reason}"),
            )),
        }
    }

    /// Runs `write`; after an ambiguous outcome waits, checks with `find`, and returns what QAD
    /// has — or [`Error::Ambiguous`] when the document is not (yet) there.
    async fn write_checked<F, Fut>(&self, doc: &ErpDocument, write: F) -> Result<Receipt>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Receipt>>,
    {
        match write().await {
            Err(e) if is_ambiguous(&e) => {
                tracing::warn!(record = doc.external_id(), error = %e, "ambiguous QAD write; checking before anything is re-sent");
                tokio::time::sleep(self.settle).await;
                match self.find(doc).await {
                    Ok(Some(mut r)) => {
                        r.warnings.push(warning(format!(
                            "the write's answer was lost ({e}); QAD has the document, so it was not sent again"
                        )));
                        Ok(r)
                    }
                    Ok(None) => Err(still_ambiguous(
                        &e,
                        "qad.post",
                        doc.external_id(),
                        format!(
                            "{e}; QAD does not show the document yet — it will be looked up again before any re-post"
                        ),
                    )),
                    Err(fe) => Err(still_ambiguous(
                        &e,
                        "qad.post",
                        doc.external_id(),
                        format!(
                            "{e}; the follow-up check failed too ({fe}) — look it up before any re-post"
                        ),
                    )),
                }
            }
            other => other,
        }
    }

    fn already(mut r: Receipt) -> Receipt {
        r.warnings.push(warning("already in QAD; not posted again"));
        r
    }

    // ---------------------------------------------------------------- lookups

    async fn find_rows(
        &self,
        b: &BrowseDef,
        filters: Vec<Filter>,
        record: &str,
    ) -> Result<Vec<Row>> {
        self.client
            .browse_rows(b, filters, FIND_LIMIT, record)
            .await
    }

    /// The document whose `reference` field is `external_id`, keyed by its `key_logical` field.
    async fn find_receipt(
        &self,
        b: &BrowseDef,
        key_logical: &str,
        external_id: &str,
    ) -> Result<Option<Receipt>> {
        let field = b.field("reference").unwrap_or_default();
        let rows = self
            .find_rows(b, vec![Filter::eq(field, external_id)], external_id)
            .await?;
        Ok(rows
            .into_iter()
            .find(|r| cell_str(r, field).as_deref() == Some(external_id))
            .map(|row| Self::row_receipt(b, key_logical, external_id, row)))
    }

    fn row_receipt(b: &BrowseDef, key_logical: &str, fallback: &str, row: Row) -> Receipt {
        let key = b
            .field(key_logical)
            .and_then(|f| cell_str(&row, f))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| fallback.to_string());
        Receipt {
            erp_key: key,
            uri: None,
            warnings: Vec::new(),
            request: None,
            response: Some(Value::Object(row)),
        }
    }

    async fn find_customer(&self, code: &str, record: &str) -> Result<Option<Receipt>> {
        let e = &self.cfg.registry().customer;
        let field = e.browse.field("code").unwrap_or_default();
        let rows = self
            .find_rows(&e.browse, vec![Filter::eq(field, code)], record)
            .await?;
        Ok(rows
            .into_iter()
            .find(|r| cell_str(r, field).as_deref() == Some(code))
            .map(|row| {
                let mut r = Self::row_receipt(&e.browse, "code", code, row);
                r.uri = Some(record_uri(
                    &e.component.view_uri,
                    &[self.cfg.shared_set(), code],
                ));
                r
            }))
    }

    async fn order_lines(&self, number: &str, record: &str) -> Result<BTreeSet<u32>> {
        let e = &self.cfg.registry().sales_order;
        let v = self
            .client
            .get(
                &format!("{}.get", e.lines.collection),
                &e.lines.grid_path,
                &[
                    ("domainCode", self.cfg.domain().to_string()),
                    ("salesOrderNumber", number.to_string()),
                ],
                record,
            )
            .await?;
        Ok(records(&v, &e.lines.collection)
            .iter()
            .filter_map(|l| l.get("salesOrderLine").and_then(value_decimal))
            .filter_map(|d| u32::try_from(d.trunc().mantissa()).ok())
            .collect())
    }

    async fn locate_order(&self, doc: &SalesOrderDoc, po: &str) -> Result<OrderState> {
        let e = &self.cfg.registry().sales_order;
        let b = &e.browse;
        let f_number = b.field("number").unwrap_or_default();
        let f_po = b.field("po").unwrap_or_default();
        let f_customer = b.field("customer").unwrap_or_default();
        let domain_filter = b.field("domain").map(|f| Filter::eq(f, self.cfg.domain()));
        let record = &doc.external_id;

        let mut filters = vec![Filter::eq(f_po, po), Filter::eq(f_customer, &doc.customer)];
        filters.extend(domain_filter.clone());
        let rows: Vec<Row> = self
            .find_rows(b, filters, record)
            .await?
            .into_iter()
            .filter(|r| {
                cell_str(r, f_po).as_deref() == Some(po)
                    && cell_str(r, f_customer).as_deref() == Some(doc.customer.as_str())
            })
            .collect();
        if !rows.is_empty() {
            let mut warnings = Vec::new();
            if rows.len() > 1 {
                warnings.push(warning(format!(
                    "{} QAD orders carry customer PO {po} for customer {} (double-booked before?)",
                    rows.len(),
                    doc.customer
                )));
            }
            let remarks = b.field("remarks");
            let row = rows
                .iter()
                .find(|r| {
                    remarks.and_then(|f| cell_str(r, f)).as_deref()
                        == Some(doc.external_id.as_str())
                })
                .unwrap_or(&rows[0])
                .clone();
            let number = cell_str(&row, f_number).unwrap_or_default();
            let lines = self.order_lines(&number, record).await?;
            let wanted: BTreeSet<u32> = doc.lines.iter().map(|l| l.line).collect();
            if wanted.is_subset(&lines) {
                let mut r = Self::row_receipt(b, "number", &number, row);
                r.uri = Some(record_uri(
                    &e.component.view_uri,
                    &[self.cfg.domain(), &number],
                ));
                r.warnings = warnings;
                return Ok(OrderState::Complete(r));
            }
            return Ok(OrderState::Partial {
                number,
                lines,
                warnings,
            });
        }
        let so = &self.cfg.defaults().sales_order;
        for slot in 0..ORDER_NUMBER_SLOTS {
            let number =
                derive_order_number(&doc.external_id, &so.number_prefix, so.number_length, slot);
            let mut filters = vec![Filter::eq(f_number, &number)];
            filters.extend(domain_filter.clone());
            let taken = self
                .find_rows(b, filters, record)
                .await?
                .iter()
                .any(|r| cell_str(r, f_number).as_deref() == Some(number.as_str()));
            if !taken {
                return Ok(OrderState::Absent { number });
            }
            tracing::info!(
                number,
                slot,
                "derived QAD order number belongs to another order; trying the next slot"
            );
        }
        Err(Error::data(
            record,
            format!(
                "the {ORDER_NUMBER_SLOTS} order numbers derived from the external id are all taken by other QAD orders"
            ),
            "choose another qad.defaults.sales_order.number_prefix (one the tenant's numbering never produces)",
        ))
    }

    // ---------------------------------------------------------------- writes

    async fn post_customer(&self, d: &CustomerDoc, doc: &ErpDocument) -> Result<Receipt> {
        let e = &self.cfg.registry().customer;
        let c = &e.component;
        let rec = &d.external_id;
        if d.code.trim().is_empty() || d.code.contains(',') {
            return Err(Error::data(
                rec,
                format!("customer code `{}` is empty or contains `,`", d.code),
                "map a QAD customer code (≤ 8 characters by default)",
            ));
        }
        let keys = [self.cfg.shared_set(), d.code.as_str()];
        let key_query: Vec<(&str, String)> = vec![
            (c.key_params[0].as_str(), keys[0].to_string()),
            (
                c.key_params.get(1).map_or("customerCode", String::as_str),
                keys[1].to_string(),
            ),
            ("viewUri", c.view_uri.clone()),
        ];
        let existing = self.client.get_records(c, &keys, &[], rec).await?;
        let mut warnings = Vec::new();
        let (request, response) = if let Some(current) = existing.into_iter().next() {
            let body = json!({"supplementaryMessages": [], (c.collection.clone()): [payloads::customer_patch(current, d)]});
            let (resp, w) = self
                .client
                .post(
                    &format!("{}.update", c.collection),
                    &c.path,
                    &key_query,
                    &body,
                    false,
                    rec,
                )
                .await?;
            warnings.extend(to_issues(&w));
            warnings.push(warning(format!(
                "customer {} existed in QAD and was updated",
                d.code
            )));
            (body, resp)
        } else {
            let body = json!({"supplementaryMessages": [], (c.collection.clone()): [payloads::customer_create(&self.cfg, &c.view_uri, d)?]});
            let created = self
                .write_checked(doc, || async {
                    let (resp, w) = self.client.create(c, &body, rec).await?;
                    Ok(Receipt {
                        erp_key: d.code.clone(),
                        warnings: to_issues(&w),
                        response: Some(resp),
                        ..Receipt::default()
                    })
                })
                .await?;
            warnings.extend(created.warnings);
            (body, created.response.unwrap_or(Value::Null))
        };
        if let Some(x) = &e.domain_extension {
            let dom_keys = [self.cfg.domain(), d.code.as_str()];
            let current = self.client.get_records(x, &dom_keys, &[], rec).await?;
            match current.into_iter().next() {
                Some(cur) => {
                    let body = json!({(x.collection.clone()): [payloads::mfg_customer_patch(cur, &self.cfg)]});
                    let q: Vec<(&str, String)> = x
                        .key_params
                        .iter()
                        .map(String::as_str)
                        .zip(dom_keys.iter().map(|k| (*k).to_string()))
                        .chain([("viewUri", x.view_uri.clone())])
                        .collect();
                    let (_, w) = self
                        .client
                        .post(&format!("{}.update", x.collection), &x.path, &q, &body, false, rec)
                        .await?;
                    warnings.extend(to_issues(&w));
                }
                None => warnings.push(warning(format!(
                    "QAD has no {} record for customer {} in domain {}: site and daybook set were not set",
                    x.collection,
                    d.code,
                    self.cfg.domain()
                ))),
            }
        }
        Ok(Receipt {
            erp_key: d.code.clone(),
            uri: Some(record_uri(&c.view_uri, &keys)),
            warnings,
            request: Some(request),
            response: Some(response),
        })
    }

    async fn post_item(&self, d: &ItemDoc, doc: &ErpDocument) -> Result<Receipt> {
        let c = &self.cfg.registry().item.component;
        let keys = [self.cfg.domain(), d.code.as_str()];
        if !self
            .client
            .get_records(c, &keys, &[], &d.external_id)
            .await?
            .is_empty()
        {
            return Ok(Self::already(Receipt {
                erp_key: d.code.clone(),
                uri: Some(record_uri(&c.view_uri, &keys)),
                ..Receipt::default()
            }));
        }
        let body =
            json!({(c.collection.clone()): [payloads::item_create(&self.cfg, &c.view_uri, d)]});
        self.write_checked(doc, || async {
            let (resp, w) = self.client.create(c, &body, &d.external_id).await?;
            Ok(Receipt {
                erp_key: d.code.clone(),
                uri: Some(record_uri(&c.view_uri, &keys)),
                warnings: to_issues(&w),
                request: Some(body.clone()),
                response: Some(resp),
            })
        })
        .await
    }

    async fn check_items_exist(&self, d: &SalesOrderDoc, report: &ConnectReport) -> Result<()> {
        // Only when the item component answered at connect: otherwise QAD's own fieldChange
        // reports unknown items.
        if report.item_reads != Some(EntityAccess::Available) {
            return Ok(());
        }
        let c = &self.cfg.registry().item.component;
        let mut seen = BTreeSet::new();
        for l in &d.lines {
            if !seen.insert(l.item.as_str()) {
                continue;
            }
            if self
                .client
                .get_records(c, &[self.cfg.domain(), &l.item], &[], &d.external_id)
                .await?
                .is_empty()
            {
                return Err(Error::data(
                    &d.external_id,
                    format!(
                        "line {} (source SKU `{}`) refers to item `{}`, which does not exist in QAD domain {}; nothing was posted",
                        l.line,
                        l.source_sku,
                        l.item,
                        self.cfg.domain()
                    ),
                    format!(
                        "create item `{}` in QAD or correct the SKU crosswalk entry for `{}`, then replay",
                        l.item, l.source_sku
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn post_sales_order(&self, d: &SalesOrderDoc, report: &ConnectReport) -> Result<Receipt> {
        let rec = &d.external_id;
        if d.lines.is_empty() {
            return Err(Error::data(
                rec,
                "sales order has no lines",
                "map at least one line",
            ));
        }
        let mut nums = BTreeSet::new();
        for l in &d.lines {
            if l.line == 0 || !nums.insert(l.line) {
                return Err(Error::data(
                    rec,
                    format!("line number {} is zero or repeated", l.line),
                    "number lines 1, 2, 3 … once each",
                ));
            }
            if l.quantity.is_zero() {
                return Err(Error::data(
                    rec,
                    format!("line {} has quantity 0", l.line),
                    "drop zero-quantity lines in the mapper",
                ));
            }
        }
        let po = order_po(&self.cfg, d)?;
        let e = &self.cfg.registry().sales_order;
        let c = &e.component;
        let mut warnings = Vec::new();
        let mut request = None;
        let (number, mut present) = match self.locate_order(d, &po).await? {
            OrderState::Complete(r) => return Ok(Self::already(r)),
            OrderState::Partial {
                number,
                lines,
                warnings: w,
            } => {
                warnings.extend(w);
                warnings.push(warning(format!(
                    "order {number} was already in QAD with lines {lines:?}; the missing lines were added"
                )));
                (number, lines)
            }
            OrderState::Absent { number } => {
                self.check_items_exist(d, report).await?;
                let header = payloads::sales_order_header(
                    &self.cfg,
                    &c.view_uri,
                    &e.po_field,
                    &e.remarks_field,
                    d,
                    &number,
                )?;
                let body = json!({ (c.collection.clone()): [header] });
                request = Some(body.clone());
                match self.client.create(c, &body, rec).await {
                    Ok((_, w)) => {
                        warnings.extend(to_issues(&w));
                        (number, BTreeSet::new())
                    }
                    Err(err) if is_ambiguous(&err) => {
                        tracing::warn!(record = %rec, error = %err, "ambiguous sales-order header write; checking before anything is re-sent");
                        tokio::time::sleep(self.settle).await;
                        match self.locate_order(d, &po).await? {
                            OrderState::Complete(mut r) => {
                                r.warnings.push(warning(format!(
                                    "the header write's answer was lost ({err}); QAD has the order"
                                )));
                                return Ok(r);
                            }
                            OrderState::Partial {
                                number,
                                lines,
                                warnings: w,
                            } => {
                                warnings.extend(w);
                                warnings.push(warning(format!(
                                    "the header write's answer was lost ({err}); QAD has order {number}, so it was not sent again"
                                )));
                                (number, lines)
                            }
                            OrderState::Absent { .. } => {
                                return Err(still_ambiguous(
                                    &err,
                                    "qad.salesOrderHeaders.post",
                                    rec,
                                    format!(
                                        "{err}; QAD does not show order {number} yet — it will be looked up again before any re-post"
                                    ),
                                ));
                            }
                        }
                    }
                    Err(err) => return Err(err),
                }
            }
        };
        let mut responses = Vec::new();
        for line in &d.lines {
            if present.contains(&line.line) {
                continue;
            }
            match self.post_line(d, &number, line).await {
                Ok((resp, w)) => {
                    warnings.extend(w);
                    responses.push(resp);
                    present.insert(line.line);
                }
                Err(err) if is_ambiguous(&err) => {
                    tokio::time::sleep(self.settle).await;
                    let now = self.order_lines(&number, rec).await?;
                    if now.contains(&line.line) {
                        warnings.push(warning(format!(
                            "the commit of line {}'s answer was lost ({err}); QAD has the line",
                            line.line
                        )));
                        present = now;
                    } else {
                        return Err(still_ambiguous(
                            &err,
                            "qad.salesOrderLines.commit",
                            rec,
                            format!(
                                "{err}; order {number} does not show line {} yet — the next post checks again and adds only missing lines",
                                line.line
                            ),
                        ));
                    }
                }
                Err(err) => return Err(err),
            }
        }
        Ok(Receipt {
            erp_key: number.clone(),
            uri: Some(record_uri(&c.view_uri, &[self.cfg.domain(), &number])),
            warnings,
            request,
            response: Some(Value::Array(responses)),
        })
    }

    async fn post_line(
        &self,
        d: &SalesOrderDoc,
        number: &str,
        line: &SalesOrderLine,
    ) -> Result<(Value, Vec<Issue>)> {
        let e = &self.cfg.registry().sales_order;
        let lf = &e.lines;
        let record = format!("{} line {}", d.external_id, line.line);
        let init = self
            .client
            .get(
                &format!("{}.initialize", lf.collection),
                &lf.grid_path,
                &[
                    ("initialize", "true".to_string()),
                    ("domainCode", self.cfg.domain().to_string()),
                    ("salesOrderNumber", number.to_string()),
                ],
                &record,
            )
            .await?;
        let mut current = records(&init, &lf.collection)
            .first()
            .cloned()
            .ok_or_else(|| {
                Error::data(
                    &record,
                    format!(
                        "QAD's {} initialize call returned no blank line",
                        lf.grid_path
                    ),
                    "check qad.registry.sales_order.lines against the tenant",
                )
            })?;
        current["salesOrderLine"] = json!(line.line);
        let mut warnings = Vec::new();
        let mut fields: Vec<String> = lf.field_order.clone();
        if let Some(pos) = fields.iter().position(|f| f == "itemCode")
            && line.uom.is_some()
        {
            fields.insert(pos + 1, lf.uom_field.clone());
        }
        for field in &fields {
            let value = if field == &lf.uom_field && !lf.field_order.contains(field) {
                let want = line.uom.clone().unwrap_or_default();
                if current.get(field).and_then(Value::as_str) == Some(want.as_str()) {
                    continue;
                }
                Value::String(want)
            } else {
                payloads::line_field_value(&self.cfg, d, line, field)?
            };
            current[field.as_str()] = value;
            let body = json!({ (lf.collection.clone()): [current.clone()] });
            let (resp, w) = self
                .client
                .post(
                    &format!("{}.fieldChange", lf.collection),
                    &lf.field_change_path,
                    &[
                        ("fieldName", field.clone()),
                        ("dataOperation", "CREATE".to_string()),
                    ],
                    &body,
                    true,
                    &record,
                )
                .await?;
            warnings.extend(to_issues(&w));
            if let Some(next) = records(&resp, &lf.collection).first() {
                current = next.clone();
            }
        }
        let body = json!({ (lf.collection.clone()): [current] });
        let (resp, w) = self
            .client
            .post(
                &format!("{}.commit", lf.collection),
                &lf.grid_path,
                &[],
                &body,
                false,
                &record,
            )
            .await?;
        warnings.extend(to_issues(&w));
        Ok((resp, warnings))
    }

    async fn find_invoice(
        &self,
        entry: &InvoiceEntry,
        external_id: &str,
    ) -> Result<Option<Receipt>> {
        self.find_receipt(&entry.browse, "voucher", external_id)
            .await
    }

    /// Creates a voucher document (invoice, credit note, journal); its key is the voucher QAD
    /// assigned, or the external id when the answer has none.
    async fn post_voucher(
        &self,
        c: &ComponentDef,
        record: &ErpDocument,
        external_id: &str,
        payload: Value,
    ) -> Result<Receipt> {
        let body = json!({ (c.collection.clone()): [payload] });
        self.write_checked(record, || async {
            let (resp, w) = self.client.create(c, &body, external_id).await?;
            let key = records(&resp, &c.collection)
                .first()
                .and_then(|r| r.get("voucher"))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .filter(|v| !v.is_empty() && v != "0")
                .unwrap_or_else(|| external_id.to_string());
            Ok(Receipt {
                erp_key: key,
                uri: None,
                warnings: to_issues(&w),
                request: Some(body.clone()),
                response: Some(resp),
            })
        })
        .await
    }

    async fn post_receivable(&self, d: &ReceivableDoc, doc: &ErpDocument) -> Result<Receipt> {
        let entry = &self.cfg.registry().receivable;
        let payload = payloads::receivable(&self.cfg, entry, d)?;
        if let Some(r) = self.find_invoice(entry, &d.external_id).await? {
            return Ok(Self::already(r));
        }
        self.post_voucher(&entry.component, doc, &d.external_id, payload)
            .await
    }

    async fn post_credit_note(&self, d: &CreditNoteDoc, doc: &ErpDocument) -> Result<Receipt> {
        let reg = self.cfg.registry();
        let entry = &reg.credit_note;
        payloads::credit_note(&self.cfg, entry, d, None)?;
        if let Some(r) = self.find_invoice(entry, &d.external_id).await? {
            return Ok(Self::already(r));
        }
        let linked = match &d.linked_invoice {
            Some(inv) => match self.find_invoice(&reg.receivable, inv).await? {
                Some(r) => Some(r.erp_key),
                None => {
                    return Err(Error::data(
                        &d.external_id,
                        format!("the credit note reverses invoice {inv}, which is not in QAD"),
                        "post the receivable first (masters and invoices before credit notes), then replay",
                    ));
                }
            },
            None => None,
        };
        let payload = payloads::credit_note(&self.cfg, entry, d, linked.as_deref())?;
        self.post_voucher(&entry.component, doc, &d.external_id, payload)
            .await
    }

    async fn post_journal(&self, d: &JournalDoc, doc: &ErpDocument) -> Result<Receipt> {
        let e = &self.cfg.registry().journal;
        let payload = payloads::journal(&self.cfg, &e.lines_collection, &e.reference_field, d)?;
        let reference = d.reference();
        if let Some(r) = self.find_receipt(&e.browse, "voucher", &reference).await? {
            return Ok(Self::already(r));
        }
        self.post_voucher(&e.component, doc, &reference, payload)
            .await
    }

    async fn post_adjustment(
        &self,
        d: &InventoryAdjustmentDoc,
        doc: &ErpDocument,
        report: &ConnectReport,
    ) -> Result<Receipt> {
        let e = &self.cfg.registry().inventory_adjustment;
        let reference = d.reference();
        let rec = &reference;
        if d.quantity.is_zero() {
            return Err(Error::data(
                rec,
                "adjustment quantity is 0",
                "skip zero adjustments in the mapper",
            ));
        }
        let def: &UnplannedDef = if d.quantity > rust_decimal::Decimal::ZERO {
            &e.receipt
        } else {
            match &report.inventory_issue {
                Some(EntityAccess::Available) => &e.issue,
                other => {
                    let why = match other {
                        Some(
                            EntityAccess::Unavailable(r)
                            | EntityAccess::Forbidden(r)
                            | EntityAccess::Disabled(r),
                        ) => r.clone(),
                        _ => "not validated".into(),
                    };
                    return Err(Error::config(
                        "qad.registry.inventory_adjustment.issue",
                        format!(
                            "refused before any request for {rec}: negative adjustments need the unplanned-issue component, which is not available — {why}; set its path/view URI to the tenant's issue component (or post issues through QXtend issueInventory)"
                        ),
                    ));
                }
            }
        };
        if let Some(r) = self.find_receipt(&e.browse, "number", rec).await? {
            return Ok(Self::already(r));
        }
        let c = &def.component;
        let site = d.site.clone();
        let template = self
            .client
            .get(
                &format!("{}.template", c.collection),
                &c.path,
                &[
                    ("domainCode", self.cfg.domain().to_string()),
                    ("siteCode", site.clone()),
                    ("viewUri", c.view_uri.clone()),
                ],
                rec,
            )
            .await?;
        let headers = records(&template, &c.collection).to_vec();
        let mut tree = json!({ (c.collection.clone()): headers });
        payloads::unplanned_fill(&self.cfg, def, &mut tree, d)?;
        if let Some(h) = payloads::first_header_mut(&mut tree, def) {
            h.insert(
                "domainCode".into(),
                Value::String(self.cfg.domain().to_string()),
            );
            h.insert("siteCode".into(), Value::String(site.clone()));
        }
        let mut warnings = Vec::new();
        for field in &def.field_order {
            let (hid, did) = {
                let h = payloads::first_header_mut(&mut tree, def)
                    .map(|h| h.get("unplannedProcessorHeaderID").cloned());
                let dt = payloads::first_detail_mut(&mut tree, def)
                    .map(|x| x.get("unplannedProcessorDetailID").cloned());
                (h.flatten(), dt.flatten())
            };
            let id = |v: Option<Value>| {
                v.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                    .unwrap_or_default()
            };
            let (resp, w) = self
                .client
                .post(
                    &format!("{}.validate", c.collection),
                    &def.validate_path,
                    &[
                        ("domainCode", self.cfg.domain().to_string()),
                        ("unplannedProcessorHeaderID", id(hid)),
                        ("unplannedProcessorDetailID", id(did)),
                        ("fieldName", field.clone()),
                    ],
                    &tree,
                    true,
                    rec,
                )
                .await?;
            warnings.extend(to_issues(&w));
            let returned = records(&resp, &c.collection);
            if !returned.is_empty() {
                tree = json!({ (c.collection.clone()): returned });
                // Keep our reference whatever defaulting did.
                if let Some(det) = payloads::first_detail_mut(&mut tree, def) {
                    det.insert(def.reference_field.clone(), Value::String(rec.clone()));
                }
            }
        }
        let body = tree;
        self.write_checked(doc, || async {
            let (resp, w) = self
                .client
                .post(
                    &format!("{}.commit", c.collection),
                    &c.path,
                    &[
                        ("domainCode", self.cfg.domain().to_string()),
                        ("viewUri", c.view_uri.clone()),
                    ],
                    &body,
                    false,
                    rec,
                )
                .await?;
            let mut all = warnings.clone();
            all.extend(to_issues(&w));
            Ok(Receipt {
                erp_key: rec.clone(),
                uri: None,
                warnings: all,
                request: Some(body.clone()),
                response: Some(resp),
            })
        })
        .await
    }
}

#[async_trait]
impl ErpSink for QadSink {
    fn name(&self) -> &str {
        "qad"
    }

    async fn connect(&self) -> Result<Capabilities> {
        let _guard = self.connecting.lock().await;
        let report = self.run_connect().await?;
        let caps = report.capabilities.clone();
        for n in &report.notes {
            tracing::warn!("QAD connect: {n}");
        }
        *self.report.write().await = Some(Arc::new(report));
        Ok(caps)
    }

    async fn find(&self, doc: &ErpDocument) -> Result<Option<Receipt>> {
        let reg = self.cfg.registry();
        match doc {
            ErpDocument::Customer(d) => self.find_customer(&d.code, &d.external_id).await,
            ErpDocument::Item(d) => {
                let c = &reg.item.component;
                let keys = [self.cfg.domain(), d.code.as_str()];
                Ok(self
                    .client
                    .get_records(c, &keys, &[], &d.external_id)
                    .await?
                    .into_iter()
                    .next()
                    .map(|r| Receipt {
                        erp_key: d.code.clone(),
                        uri: Some(record_uri(&c.view_uri, &keys)),
                        response: Some(r),
                        ..Receipt::default()
                    }))
            }
            ErpDocument::SalesOrder(d) => {
                let po = order_po(&self.cfg, d)?;
                Ok(match self.locate_order(d, &po).await? {
                    OrderState::Complete(r) => Some(r),
                    OrderState::Partial { .. } | OrderState::Absent { .. } => None,
                })
            }
            ErpDocument::Receivable(d) => self.find_invoice(&reg.receivable, &d.external_id).await,
            ErpDocument::CreditNote(d) => self.find_invoice(&reg.credit_note, &d.external_id).await,
            ErpDocument::Journal(d) => {
                self.find_receipt(&reg.journal.browse, "voucher", &d.reference())
                    .await
            }
            ErpDocument::InventoryAdjustment(d) => {
                self.find_receipt(&reg.inventory_adjustment.browse, "number", &d.reference())
                    .await
            }
            ErpDocument::Listing(d) => Err(Error::Unsupported {
                ctx: ctx("qad.find", &d.external_id).into(),
                message: "listings are not QAD documents: use the Amazon Listings sink".into(),
            }),
        }
    }

    async fn post(&self, doc: &ErpDocument) -> Result<Receipt> {
        // Local checks that need no request come first.
        if let ErpDocument::Journal(j) = doc {
            j.check_balanced()?;
        }
        let report = self.connection().await?;
        self.allowed(&report, doc.kind(), doc.external_id())?;
        match doc {
            ErpDocument::Customer(d) => self.post_customer(d, doc).await,
            ErpDocument::Item(d) => self.post_item(d, doc).await,
            ErpDocument::SalesOrder(d) => self.post_sales_order(d, &report).await,
            ErpDocument::Receivable(d) => self.post_receivable(d, doc).await,
            ErpDocument::CreditNote(d) => self.post_credit_note(d, doc).await,
            ErpDocument::Journal(d) => self.post_journal(d, doc).await,
            ErpDocument::InventoryAdjustment(d) => self.post_adjustment(d, doc, &report).await,
            _ => Err(Error::Unsupported {
                ctx: ctx("qad.post", doc.external_id()).into(),
                message: format!("document kind {} is not written to QAD", doc.kind()),
            }),
        }
    }
}
