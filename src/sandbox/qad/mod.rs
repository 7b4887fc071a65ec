//! An in-process QAD Adaptive ERP REST simulator (axum on `127.0.0.1:0`).
//!
//! It behaves like the QAD surface the sink uses (reference qad.md §3–§7), under a tenant path
//! prefix (default `/clouderp`):
//!
//! * `POST {prefix}/oauth/token`: password and refresh grants for one client id and one user;
//!   access tokens expire after [`QadSimConfig::token_ttl`]; refresh tokens rotate; HTTP Basic is
//!   also accepted on the API.
//! * `x-qad-workspace-id` must name a configured `<DOMAIN>_<ENTITY>`; `domainCode`s and entity
//!   codes in payloads are checked.
//! * `GET {prefix}/api/qracore/browses`: the browses of the default registry, filters
//!   (`field,op,value,literal`), projection (`fields`), paging (`page`, `pageSize`,
//!   `pageAction` required) and — as QAD does — **HTTP 200 with no rows for an unknown browse**;
//!   `urn:browse:custom:lookupBrowseFields` lists a browse's fields.
//! * business components under `{prefix}/api/erp/…` answering with the `submitResult` envelope;
//!   business errors are **HTTP 200 with `success:false`** (unknown item, unknown customer,
//!   closed period, unbalanced journal, …); the sales-order line flow is stateful
//!   (initialize → fieldChange → commit) and so are unplanned receipts/issues.
//! * QAD's real weakness is kept: a duplicate customer PO is only a **warning** (message 624), so a
//!   client that sends an order twice gets a double-booked order.
//! * unknown component paths answer with an HTML 404 page, wrong methods with 405; forbidden
//!   components answer 403 with a bare `errors[]`.
//! * fault injection ([`QadSimulator::inject`]): fail with a status, delay, store the document
//!   and then time out, store and then drop the connection, drop without storing.
//! * inspection: count stored documents by kind and key, read them, seed items, customers and
//!   stock, close periods, expire tokens, list the requests received.

mod server;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::model::DocumentKind;
use crate::qad::{
    CustomerDefaults, QadAuthConfig, QadConfig, QadConfigBuilder, Registry, TenantDefaults,
};

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct QadSimConfig {
    /// Tenant path prefix (`/clouderp`).
    pub prefix: String,
    /// The OAuth client id the token endpoint accepts.
    pub client_id: String,
    /// The one user.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Access-token lifetime.
    pub token_ttl: Duration,
    /// Accept HTTP Basic on the API.
    pub allow_basic: bool,
    /// `(domain, entity)` pairs.
    pub domains: Vec<(String, String)>,
    /// Customer shared sets.
    pub shared_sets: Vec<String>,
    /// Sites.
    pub sites: Vec<String>,
    /// Serve `urn:browse:custom:lookupBrowseFields`.
    pub field_lookup: bool,
}

impl Default for QadSimConfig {
    fn default() -> Self {
        Self {
            prefix: "/clouderp".into(),
            client_id: "ml-connector-sim".into(),
            username: "svc_integration".into(),
            password: "sim-password".into(),
            token_ttl: Duration::from_secs(300),
            allow_basic: true,
            domains: vec![("10USA".into(), "10USACO".into())],
            shared_sets: vec!["SHARED01".into()],
            sites: vec!["10-100".into(), "10-200".into()],
            field_lookup: true,
        }
    }
}

/// What an injected fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (and a short body) without processing.
    Status(u16),
    /// Wait, then process normally.
    Delay(Duration),
    /// Process (store the document), then wait this long before answering — longer than the
    /// client's timeout makes the outcome ambiguous.
    StoreThenDelay(Duration),
    /// Process (store the document), then break the connection instead of answering.
    StoreThenDrop,
    /// Break the connection without processing.
    Drop,
}

/// A fault for matching requests.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// Only this method (`GET`, `POST`), if set.
    pub method: Option<String>,
    /// Only paths containing this text, if set.
    pub path_contains: Option<String>,
    /// What to do.
    pub fault: Fault,
    /// How many matching requests it applies to.
    pub times: u32,
}

impl FaultRule {
    /// The next `POST` whose path contains `path` suffers `fault`.
    pub fn next_post(path: impl Into<String>, fault: Fault) -> Self {
        Self {
            method: Some("POST".into()),
            path_contains: Some(path.into()),
            fault,
            times: 1,
        }
    }

    /// The next `times` `GET`s whose path contains `path` suffer `fault`.
    pub fn gets(path: impl Into<String>, fault: Fault, times: u32) -> Self {
        Self {
            method: Some("GET".into()),
            path_contains: Some(path.into()),
            fault,
            times,
        }
    }
}

/// One request the simulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRequest {
    /// Method.
    pub method: String,
    /// Path without the tenant prefix (`api/erp/customerV2s`).
    pub path: String,
    /// Raw query string.
    pub query: String,
}

/// How many grants the token endpoint served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantCounts {
    /// Password grants issued.
    pub password: u32,
    /// Refresh grants issued.
    pub refresh: u32,
    /// Grants refused.
    pub refused: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct SimItem {
    pub description: String,
    pub uom: String,
    pub price: Decimal,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct SimOrder {
    pub header: Value,
    pub lines: BTreeMap<u32, Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct LineDraft {
    pub domain: String,
    pub number: String,
    pub validated: BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct UnplannedDraft {
    pub issue: bool,
    pub domain: String,
    pub site: String,
    pub detail_id: String,
    pub validated: BTreeMap<String, Value>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub access_tokens: HashMap<String, tokio::time::Instant>,
    pub refresh_tokens: BTreeSet<String>,
    pub grants: GrantCounts,
    pub items: BTreeMap<(String, String), SimItem>,
    pub customers: BTreeMap<(String, String), Value>,
    pub mfg_customers: BTreeMap<(String, String), Value>,
    pub orders: BTreeMap<(String, String), SimOrder>,
    pub order_seq: Vec<(String, String)>,
    pub line_drafts: HashMap<String, LineDraft>,
    pub unplanned_drafts: HashMap<String, UnplannedDraft>,
    pub invoices: Vec<Value>,
    pub journals: Vec<Value>,
    pub adjustments: Vec<Value>,
    pub stock: BTreeMap<(String, String, String, String), Decimal>,
    pub closed_periods: BTreeSet<(String, i32, u32)>,
    pub forbidden: BTreeSet<String>,
    pub removed: BTreeSet<String>,
    pub faults: Vec<FaultRule>,
    pub requests: Vec<SimRequest>,
    pub seq: u64,
}

impl State {
    pub(crate) fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

pub(crate) struct Shared {
    pub cfg: QadSimConfig,
    pub registry: Registry,
    pub state: Mutex<State>,
}

impl Shared {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running simulator; stops when dropped.
pub struct QadSimulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for QadSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QadSimulator")
            .field("addr", &self.addr)
            .field("prefix", &self.shared.cfg.prefix)
            .finish()
    }
}

impl Drop for QadSimulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl QadSimulator {
    /// Starts a simulator with the default settings on `127.0.0.1:0`.
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn start() -> Result<Self> {
        Self::start_with(QadSimConfig::default()).await
    }

    /// Starts a simulator with `cfg` on `127.0.0.1:0`.
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn start_with(cfg: QadSimConfig) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::config("sandbox.qad", format!("cannot bind 127.0.0.1:0: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::config("sandbox.qad", e.to_string()))?;
        let shared = Arc::new(Shared {
            cfg,
            registry: Registry::default(),
            state: Mutex::new(State::default()),
        });
        let router = server::router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }

    /// The tenant base URL (`http://127.0.0.1:<port>/clouderp`).
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.shared.cfg.prefix)
    }

    /// The simulator's settings.
    pub fn sim_config(&self) -> &QadSimConfig {
        &self.shared.cfg
    }

    /// A configuration builder pointing at this simulator: base URL (loopback http allowed),
    /// first domain/entity, first shared set and site, the password grant, and customer GL
    /// profile defaults filled in.
    pub fn config_builder(&self) -> QadConfigBuilder {
        let c = &self.shared.cfg;
        let (domain, entity) = c.domains.first().cloned().unwrap_or_default();
        QadConfig::builder(self.base_url())
            .allow_insecure_loopback(true)
            .domain(domain.clone())
            .entity(entity.clone())
            .workspace_id(format!("{domain}_{entity}"))
            .shared_set(c.shared_sets.first().cloned().unwrap_or_default())
            .default_site(c.sites.first().cloned().unwrap_or_default())
            .auth(QadAuthConfig::password(
                c.client_id.clone(),
                c.username.clone(),
                c.password.clone(),
            ))
            .defaults(TenantDefaults {
                customer: CustomerDefaults {
                    invoice_control_gl_profile: Some("AR".into()),
                    credit_note_control_gl_profile: Some("AR".into()),
                    prepayment_control_gl_profile: Some("PREPAY".into()),
                    sales_account_gl_profile: Some("SALES".into()),
                    daybook_set: Some("SO".into()),
                    ..CustomerDefaults::default()
                },
                ..TenantDefaults::default()
            })
    }

    /// Adds (or replaces) an item in every configured domain.
    pub fn seed_item(&self, code: &str, description: &str, uom: &str, price: Decimal) {
        let mut st = self.shared.lock();
        for (domain, _) in &self.shared.cfg.domains {
            st.items.insert(
                (domain.clone(), code.to_string()),
                SimItem {
                    description: description.into(),
                    uom: uom.into(),
                    price,
                },
            );
        }
    }

    /// Adds a customer to the first shared set (with its domain records).
    pub fn seed_customer(&self, code: &str, name: &str, currency: &str) {
        let shared_set = self
            .shared
            .cfg
            .shared_sets
            .first()
            .cloned()
            .unwrap_or_default();
        let rec = serde_json::json!({
            "customerCode": code, "sharedSetCode": shared_set, "businessRelationCode": code,
            "businessRelationName": name, "currencyCode": currency, "isActive": true,
            "creditTermsCode": "30", "concurrencyHash": "seed",
        });
        let mut st = self.shared.lock();
        st.customers.insert((shared_set, code.to_string()), rec);
        for (domain, _) in &self.shared.cfg.domains {
            st.mfg_customers.insert(
                (domain.clone(), code.to_string()),
                serde_json::json!({"customerCode": code, "domainCode": domain, "siteCode": "", "daybookSetCode": "", "concurrencyHash": "seed"}),
            );
        }
    }

    /// Sets the on-hand quantity of `item` at `site`/`location` in the first domain.
    pub fn seed_stock(&self, site: &str, location: &str, item: &str, qty: Decimal) {
        let domain = self.first_domain();
        self.shared
            .lock()
            .stock
            .insert((domain, site.into(), location.into(), item.into()), qty);
    }

    /// On-hand quantity of `item` at `site`/`location` in the first domain.
    pub fn stock(&self, site: &str, location: &str, item: &str) -> Decimal {
        let domain = self.first_domain();
        self.shared
            .lock()
            .stock
            .get(&(domain, site.into(), location.into(), item.into()))
            .copied()
            .unwrap_or_default()
    }

    fn first_domain(&self) -> String {
        self.shared
            .cfg
            .domains
            .first()
            .map(|d| d.0.clone())
            .unwrap_or_default()
    }

    /// Closes GL period `year`/`month` for `entity`.
    pub fn close_period(&self, entity: &str, year: i32, month: u32) {
        self.shared
            .lock()
            .closed_periods
            .insert((entity.into(), year, month));
    }

    /// Answers 403 (bare `errors[]`) for `path` (`api/erp/journalEntries`) and below.
    pub fn forbid(&self, path: &str) {
        self.shared
            .lock()
            .forbidden
            .insert(path.trim_matches('/').into());
    }

    /// Answers an HTML 404 for `path` and below, as if the component did not exist.
    pub fn remove(&self, path: &str) {
        self.shared
            .lock()
            .removed
            .insert(path.trim_matches('/').into());
    }

    /// Injects a fault.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.lock().faults.push(rule);
    }

    /// Makes every issued access token invalid (the next API call gets 401).
    pub fn expire_access_tokens(&self) {
        self.shared.lock().access_tokens.clear();
    }

    /// Makes every issued refresh token invalid (the refresh grant fails with `invalid_grant`).
    pub fn revoke_refresh_tokens(&self) {
        self.shared.lock().refresh_tokens.clear();
    }

    /// Grants served so far.
    pub fn grants(&self) -> GrantCounts {
        self.shared.lock().grants
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<SimRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests that could change data: every `POST` under `api/`.
    pub fn write_requests(&self) -> Vec<SimRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.starts_with("api/"))
            .collect()
    }

    /// How many documents of `kind` are stored.
    pub fn count(&self, kind: DocumentKind) -> usize {
        self.documents(kind).len()
    }

    /// How many documents of `kind` carry `key`: customer code, item code, sales-order customer
    /// PO, or the reference (external id) of invoices, credit notes, journals and adjustments.
    pub fn count_key(&self, kind: DocumentKind, key: &str) -> usize {
        let reg = &self.shared.registry;
        let field = match kind {
            DocumentKind::Customer => "customerCode".to_string(),
            DocumentKind::Item => "itemCode".to_string(),
            DocumentKind::SalesOrder => reg.sales_order.po_field.clone(),
            DocumentKind::Receivable => reg.receivable.reference_field.clone(),
            DocumentKind::CreditNote => reg.credit_note.reference_field.clone(),
            DocumentKind::Journal => reg.journal.reference_field.clone(),
            DocumentKind::InventoryAdjustment => "reference".to_string(),
            DocumentKind::Listing => return 0,
        };
        self.documents(kind)
            .iter()
            .filter(|d| d.get(&field).and_then(Value::as_str) == Some(key))
            .count()
    }

    /// The stored documents of `kind` (sales orders with their committed `lines`).
    pub fn documents(&self, kind: DocumentKind) -> Vec<Value> {
        let st = self.shared.lock();
        let reg = &self.shared.registry;
        match kind {
            DocumentKind::Customer => st.customers.values().cloned().collect(),
            DocumentKind::Item => st
                .items
                .iter()
                .map(|((d, c), i)| {
                    serde_json::json!({"domainCode": d, "itemCode": c, "description1": i.description, "unitOfMeasure": i.uom})
                })
                .collect(),
            DocumentKind::SalesOrder => st
                .order_seq
                .iter()
                .filter_map(|k| st.orders.get(k))
                .map(server::order_json)
                .collect(),
            DocumentKind::Receivable | DocumentKind::CreditNote => {
                let t = if kind == DocumentKind::Receivable {
                    &reg.receivable.invoice_type
                } else {
                    &reg.credit_note.invoice_type
                };
                st.invoices
                    .iter()
                    .filter(|i| i.get("invoiceType").and_then(Value::as_str) == Some(t.as_str()))
                    .cloned()
                    .collect()
            }
            DocumentKind::Journal => st.journals.clone(),
            DocumentKind::InventoryAdjustment => st.adjustments.clone(),
            DocumentKind::Listing => Vec::new(),
        }
    }

    /// One sales order (header fields plus `lines`).
    pub fn order(&self, number: &str) -> Option<Value> {
        let st = self.shared.lock();
        st.orders
            .iter()
            .find(|((_, n), _)| n == number)
            .map(|(_, o)| server::order_json(o))
    }

    /// The domain record of a customer.
    pub fn mfg_customer(&self, code: &str) -> Option<Value> {
        let domain = self.first_domain();
        self.shared
            .lock()
            .mfg_customers
            .get(&(domain, code.to_string()))
            .cloned()
    }
}
