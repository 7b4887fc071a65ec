//! An in-process SP-API simulator (feature `sandbox`): a stateful axum server on 127.0.0.1 that
//! behaves like the parts of Amazon the crate talks to.
//!
//! * **Login with Amazon** (`POST /auth/o2/token`): refresh-token and client-credentials grants,
//!   access tokens that really expire (`invalid_grant` once the refresh token is revoked,
//!   `invalid_client` for a wrong secret). Every SP-API call checks `x-amz-access-token` and
//!   answers an expired token with Amazon's 403 `"The access token you provided has expired."`.
//! * **Usage plans**: a token bucket per operation seeded from the published table; an empty
//!   bucket answers 429 `QuotaExceeded` *without* `x-amzn-RateLimit-Limit` (as Amazon does);
//!   successful answers carry the header. A time scale runs an hour of limits in seconds.
//! * Orders 2026-01-01 (`searchOrders`, `getOrder`) and v0 (`getOrders`, `getOrder`,
//!   `getOrderItems`), with pagination tokens that contain `+ / =`, the two-minute rule, pending
//!   orders without prices that later get them, and restricted data tokens for PII.
//! * Reports: `getReports` (nextToken alone), `getReportDocument` with presigned download URLs
//!   that expire and refuse SP-API headers, gzipped settlement documents.
//! * Finances `listTransactions`, FBA `getInventorySummaries` (30-second next tokens, scaled),
//!   Listings Items get/put/patch with `VALIDATION_PREVIEW`, Sellers participations.
//! * Fault injection: forced 429 storms and 5xx per operation.
//!
//! Inspection methods ([`AmazonSim::stats`], [`AmazonSim::requests`], …) let tests assert what the
//! client did.

mod server;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::error::{Error, Result};

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct AmazonSimConfig {
    /// Simulated seconds per real second (rates are multiplied, lifetimes divided). `1.0` is
    /// real time; `3600.0` runs an hour of usage plans in a second.
    pub time_scale: f64,
    /// The LWA client id the token endpoint accepts.
    pub client_id: String,
    /// The LWA client secret the token endpoint accepts.
    pub client_secret: String,
    /// The refresh token the token endpoint accepts.
    pub refresh_token: String,
    /// Simulated lifetime of an access token (Amazon: one hour). The token endpoint advertises it
    /// as `expires_in`; with a time scale the real lifetime is shorter than advertised, which
    /// exercises the client's reactive refresh on Amazon's expired-token 403.
    pub token_lifetime: Duration,
    /// The seller id (merchant token) Listings paths must carry.
    pub seller_id: String,
    /// Override the published plans: operation → (rate per second, burst).
    pub limits: HashMap<String, (f64, u32)>,
    /// Page size of `searchOrders`/`getOrders` when the request does not say.
    pub default_page_size: usize,
    /// Page size of `getInventorySummaries`.
    pub inventory_page_size: usize,
    /// Page size of `listTransactions`.
    pub transactions_page_size: usize,
    /// Page size of `getReports` when the request does not say (Amazon: 10).
    pub reports_page_size: usize,
    /// The largest `getReports` page served whatever the request asks (Amazon: 100); lower it to
    /// exercise `nextToken` paging.
    pub reports_page_cap: usize,
    /// The marketplaces the seller participates in (`getMarketplaceParticipations`).
    pub marketplace_ids: Vec<String>,
}

impl Default for AmazonSimConfig {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            client_id: "amzn1.application-oa2-client.sim".into(),
            client_secret: "sim-client-secret".into(),
            refresh_token: "Atzr|sim-refresh-token".into(),
            token_lifetime: Duration::from_secs(3600),
            seller_id: "A1SIMSELLER".into(),
            limits: HashMap::new(),
            default_page_size: 100,
            inventory_page_size: 50,
            transactions_page_size: 100,
            reports_page_size: 10,
            reports_page_cap: 100,
            marketplace_ids: vec!["ATVPDKIKX0DER".into()],
        }
    }
}

/// Order lifecycle in the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimOrderStatus {
    /// Placed, payment not confirmed: no prices in any answer.
    Pending,
    /// Confirmed, not shipped.
    Unshipped,
    /// Shipped.
    Shipped,
    /// Cancelled.
    Canceled,
}

impl SimOrderStatus {
    fn v0(self) -> &'static str {
        match self {
            SimOrderStatus::Pending => "Pending",
            SimOrderStatus::Unshipped => "Unshipped",
            SimOrderStatus::Shipped => "Shipped",
            SimOrderStatus::Canceled => "Canceled",
        }
    }
    fn v2026(self) -> &'static str {
        match self {
            SimOrderStatus::Pending => "PENDING",
            SimOrderStatus::Unshipped => "UNSHIPPED",
            SimOrderStatus::Shipped => "SHIPPED",
            SimOrderStatus::Canceled => "CANCELLED",
        }
    }
}

/// One order line in the simulator.
#[derive(Debug, Clone, PartialEq)]
pub struct SimItem {
    /// Order item id.
    pub item_id: String,
    /// Seller SKU.
    pub sku: String,
    /// Title.
    pub title: String,
    /// Quantity.
    pub quantity: i64,
    /// Unit price (hidden while Pending).
    pub unit_price: Decimal,
    /// Tax on the line (hidden while Pending).
    pub tax: Decimal,
}

/// One order in the simulator.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOrder {
    /// Order id.
    pub order_id: String,
    /// Marketplace id.
    pub marketplace_id: String,
    /// Currency.
    pub currency: String,
    /// Purchase time.
    pub created: DateTime<Utc>,
    /// Last update.
    pub last_updated: DateTime<Utc>,
    /// Status.
    pub status: SimOrderStatus,
    /// `MERCHANT` or `AMAZON`.
    pub fulfilled_by: String,
    /// Buyer name (restricted in v0).
    pub buyer_name: String,
    /// Shipping address line (restricted in v0).
    pub address_line: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// Country.
    pub country: String,
    /// Lines.
    pub items: Vec<SimItem>,
    /// Shipping charged.
    pub shipping: Decimal,
}

impl SimOrder {
    /// A deterministic order number `n` created and updated at `at`, with one or two lines.
    pub fn generate(n: u32, at: DateTime<Utc>, marketplace_id: &str, currency: &str) -> Self {
        let lines = 1 + (n % 2) as usize;
        let items = (0..lines)
            .map(|i| SimItem {
                item_id: format!("{:014}", u64::from(n) * 10 + i as u64),
                sku: format!("SKU-{:03}", (n as usize + i) % 50),
                title: format!("Product {}", (n as usize + i) % 50),
                quantity: 1 + i64::from(n % 3),
                unit_price: Decimal::new(1999 + i64::from(n % 7) * 100, 2),
                tax: Decimal::new(160 + i64::from(n % 5), 2),
            })
            .collect();
        Self {
            order_id: format!("{:03}-{:07}-{:07}", 100 + n % 900, n, 7_000_000 + n),
            marketplace_id: marketplace_id.into(),
            currency: currency.into(),
            created: at,
            last_updated: at,
            status: SimOrderStatus::Unshipped,
            fulfilled_by: if n.is_multiple_of(3) {
                "AMAZON"
            } else {
                "MERCHANT"
            }
            .into(),
            buyer_name: format!("Buyer {n}"),
            address_line: format!("{n} Main Street"),
            city: "Seattle".into(),
            postal_code: "98101".into(),
            country: "US".into(),
            items,
            shipping: Decimal::new(499, 2),
        }
    }

    /// Σ quantity × unit price.
    pub fn subtotal(&self) -> Decimal {
        self.items
            .iter()
            .map(|i| i.unit_price * Decimal::from(i.quantity))
            .sum()
    }

    /// Σ line tax.
    pub fn tax(&self) -> Decimal {
        self.items.iter().map(|i| i.tax).sum()
    }

    /// What the buyer pays.
    pub fn grand_total(&self) -> Decimal {
        self.subtotal() + self.shipping + self.tax()
    }
}

/// A report held by the simulator (with its document).
#[derive(Debug, Clone, PartialEq)]
pub struct SimReport {
    /// Report id.
    pub report_id: String,
    /// Report type.
    pub report_type: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Data window start.
    pub data_start: DateTime<Utc>,
    /// Data window end.
    pub data_end: DateTime<Utc>,
    /// Marketplaces listed on the report.
    pub marketplace_ids: Vec<String>,
    /// Document id.
    pub document_id: String,
    /// The document as served (already gzipped when `gzip`).
    pub document: Vec<u8>,
    /// Whether `getReportDocument` says `compressionAlgorithm: GZIP`.
    pub gzip: bool,
    /// The download's `Content-Type` (e.g. `text/plain;charset=Cp1252`); `None` sends
    /// `application/octet-stream` without a charset (as Amazon sometimes does).
    pub content_type: Option<String>,
}

/// One detail row of a generated settlement file.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSettlementRow {
    /// `transaction-type`.
    pub transaction_type: &'static str,
    /// `order-id`.
    pub order_id: &'static str,
    /// `amount-type`.
    pub amount_type: &'static str,
    /// `amount-description`.
    pub amount_description: &'static str,
    /// `amount`.
    pub amount: Decimal,
    /// `sku`.
    pub sku: &'static str,
}

/// Writes a `GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2` file (24 columns, summary row first)
/// whose total is the sum of `rows`; `decimal_comma` writes amounts the EU way (`95,00`).
pub fn settlement_file(
    settlement_id: &str,
    currency: &str,
    marketplace_name: &str,
    start: DateTime<Utc>,
    rows: &[SimSettlementRow],
    decimal_comma: bool,
) -> String {
    const HEADER: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tmerchant-order-id\tadjustment-id\tshipment-id\tmarketplace-name\tamount-type\tamount-description\tamount\tfulfillment-id\tposted-date\tposted-date-time\torder-item-code\tmerchant-order-item-id\tmerchant-adjustment-item-id\tsku\tquantity-purchased\tpromotion-id";
    let fmt_amount = |d: Decimal| {
        let t = format!("{:.2}", d);
        if decimal_comma {
            t.replace('.', ",")
        } else {
            t
        }
    };
    let ts = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let end = start + chrono::Duration::days(14);
    let total: Decimal = rows.iter().map(|r| r.amount).sum();
    let mut out = format!(
        "{HEADER}\n{settlement_id}\t{}\t{}\t{}\t{}\t{currency}{}\n",
        ts(start),
        ts(end),
        ts(end + chrono::Duration::days(2)),
        fmt_amount(total),
        "\t".repeat(18)
    );
    for (i, r) in rows.iter().enumerate() {
        let posted = start + chrono::Duration::hours(i as i64 + 1);
        out.push_str(&format!(
            "{settlement_id}\t\t\t\t\t{currency}\t{}\t{}\t\t\t\t{marketplace_name}\t{}\t{}\t{}\tAFN\t{}\t{}\t\t\t\t{}\t{}\t\n",
            r.transaction_type,
            r.order_id,
            r.amount_type,
            r.amount_description,
            fmt_amount(r.amount),
            posted.format("%m/%d/%y"),
            ts(posted),
            r.sku,
            if r.sku.is_empty() { "" } else { "1" },
        ));
    }
    out
}

/// A small, realistic set of rows (an order with fees, a refund, a storage fee, reserves).
pub fn demo_settlement_rows() -> Vec<SimSettlementRow> {
    let row = |t, o, at, ad, cents: i64, sku| SimSettlementRow {
        transaction_type: t,
        order_id: o,
        amount_type: at,
        amount_description: ad,
        amount: Decimal::new(cents, 2),
        sku,
    };
    vec![
        row(
            "Order",
            "114-8829371-4410258",
            "ItemPrice",
            "Principal",
            12999,
            "NX-HD-1200",
        ),
        row(
            "Order",
            "114-8829371-4410258",
            "ItemPrice",
            "Tax",
            1040,
            "NX-HD-1200",
        ),
        row(
            "Order",
            "114-8829371-4410258",
            "ItemFees",
            "Commission",
            -1950,
            "NX-HD-1200",
        ),
        row(
            "Order",
            "114-8829371-4410258",
            "ItemFees",
            "FBAPerUnitFulfillmentFee",
            -475,
            "NX-HD-1200",
        ),
        row(
            "Refund",
            "112-5561209-7742044",
            "ItemPrice",
            "Principal",
            -4550,
            "NX-AC-0071",
        ),
        row(
            "ServiceFee",
            "",
            "other-transaction",
            "Storage Fee",
            -6428,
            "",
        ),
        row(
            "Transfer",
            "",
            "other-transaction",
            "Previous Reserve Amount Balance",
            82044,
            "",
        ),
        row(
            "Transfer",
            "",
            "other-transaction",
            "Current Reserve Amount",
            -42000,
            "",
        ),
    ]
}

impl SimReport {
    /// A settlement report whose document is `text` encoded with `encoding` and gzipped.
    pub fn settlement(
        report_id: &str,
        created: DateTime<Utc>,
        marketplace_id: &str,
        text: &str,
        encoding: &'static encoding_rs::Encoding,
        content_type: Option<&str>,
    ) -> Self {
        use std::io::Write;
        let (bytes, _, _) = encoding.encode(text);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&bytes).expect("in-memory gzip");
        let document = gz.finish().expect("in-memory gzip");
        Self {
            report_id: report_id.into(),
            report_type: crate::amazon::settlement::SETTLEMENT_REPORT_TYPE.into(),
            created,
            data_start: created - chrono::Duration::days(14),
            data_end: created,
            marketplace_ids: vec![marketplace_id.into()],
            document_id: format!("amzn1.spdoc.1.4.na.{report_id}"),
            document,
            gzip: true,
            content_type: content_type.map(str::to_string),
        }
    }
}

/// One FBA inventory row in the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimInventory {
    /// Seller SKU.
    pub sku: String,
    /// ASIN.
    pub asin: String,
    /// Fulfillable.
    pub fulfillable: i64,
    /// Inbound (working + shipped + receiving, reported as working).
    pub inbound: i64,
    /// Reserved.
    pub reserved: i64,
    /// Unfulfillable.
    pub unfulfillable: i64,
}

/// One listing in the simulator.
#[derive(Debug, Clone, PartialEq)]
pub struct SimListing {
    /// Product type.
    pub product_type: String,
    /// Attributes as last written.
    pub attributes: Value,
    /// MFN quantity (`fulfillment_availability`).
    pub quantity: Option<i64>,
}

/// One write the simulator received for a SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimListingWrite {
    /// `PUT` or `PATCH`.
    pub method: String,
    /// `true` for `mode=VALIDATION_PREVIEW`.
    pub preview: bool,
    /// `VALID`, `INVALID`, `ACCEPTED`.
    pub status: String,
}

/// A fault to inject into the next request(s) of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer 429 `QuotaExceeded` (no rate header), consuming no bucket token.
    Throttle,
    /// Answer this HTTP status with an `InternalFailure` body.
    Status(u16),
    /// Hold the request this long before handling it normally (a slow network or server).
    Latency(Duration),
}

/// Counters of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpStats {
    /// Requests received.
    pub requests: u64,
    /// 2xx answers.
    pub succeeded: u64,
    /// 429 answers (bucket empty or injected).
    pub throttled: u64,
    /// 429 answers because the bucket was empty (not injected).
    pub throttled_by_bucket: u64,
    /// Other error answers.
    pub failed: u64,
}

/// One request the simulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRequest {
    /// Operation (`searchOrders`, …; `token` for LWA, `download` for report downloads).
    pub operation: String,
    /// HTTP method.
    pub method: String,
    /// Path as received (still percent-encoded).
    pub path: String,
    /// Decoded query pairs in order.
    pub query: Vec<(String, String)>,
    /// The raw query string.
    pub raw_query: String,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// Whether `x-amz-access-token` was present.
    pub had_access_token: bool,
    /// Whether the access token was a restricted data token.
    pub used_rdt: bool,
    /// The body (JSON requests).
    pub body: Option<Value>,
    /// The status answered.
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
}

/// A grant the token endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimGrant {
    /// `refresh_token` or `client_credentials`.
    pub grant_type: String,
    /// Scope (client credentials).
    pub scope: Option<String>,
    /// The status answered.
    pub status: u16,
}

pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, burst: u32, now: Instant) -> Self {
        Self {
            rate,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
        }
    }
    /// Takes a token; `false` when the bucket is empty.
    fn take(&mut self, now: Instant, scale: f64) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate * scale).min(self.burst);
        self.last = now;
        // A hair of tolerance for float rounding between the client's and our clocks.
        if self.tokens >= 1.0 - 1e-6 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub(crate) struct PageToken {
    offset: usize,
    query: Vec<(String, String)>,
    created: Instant,
}

#[derive(Default)]
pub(crate) struct State {
    access_tokens: HashMap<String, (Instant, bool)>,
    rdts: HashMap<String, (Instant, Vec<String>)>,
    refresh_revoked: bool,
    grants: Vec<SimGrant>,
    buckets: HashMap<String, Bucket>,
    faults: HashMap<String, VecDeque<Option<Fault>>>,
    stats: HashMap<String, OpStats>,
    log: Vec<SimRequest>,
    orders: Vec<SimOrder>,
    reports: Vec<SimReport>,
    presigned: HashMap<String, (String, Instant)>,
    transactions: Vec<Value>,
    inventory: Vec<SimInventory>,
    page_tokens: HashMap<String, PageToken>,
    listings: BTreeMap<String, SimListing>,
    listing_writes: BTreeMap<String, Vec<SimListingWrite>>,
    counter: u64,
}

pub(crate) struct Shared {
    cfg: AmazonSimConfig,
    state: Mutex<State>,
    base_url: String,
    /// Buckets exist (full) from this instant on, as Amazon's exist before a client connects.
    started: Instant,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running simulator. Dropping it stops the server.
pub struct AmazonSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for AmazonSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmazonSim")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for AmazonSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AmazonSim {
    /// Starts a simulator on `127.0.0.1:0` (an ephemeral port).
    ///
    /// # Errors
    /// [`Error::Config`] when the port cannot be bound.
    pub async fn start(cfg: AmazonSimConfig) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| {
                Error::config("sandbox.amazon", format!("cannot bind 127.0.0.1:0: {e}"))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::config("sandbox.amazon", e.to_string()))?;
        let shared = Arc::new(Shared {
            cfg,
            state: Mutex::new(State::default()),
            base_url: format!("http://{addr}"),
            started: Instant::now(),
        });
        let app = server::router(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { shared, addr, task })
    }

    /// `http://127.0.0.1:PORT` — use as the SP-API endpoint.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The LWA token endpoint URL.
    pub fn token_url(&self) -> String {
        format!("{}/auth/o2/token", self.shared.base_url)
    }

    /// The settings it runs with.
    pub fn config(&self) -> &AmazonSimConfig {
        &self.shared.cfg
    }

    // ---- seeding -------------------------------------------------------------------------

    /// Adds orders (or replaces those with the same id).
    pub fn upsert_orders(&self, orders: impl IntoIterator<Item = SimOrder>) {
        let mut st = self.shared.lock();
        for o in orders {
            if let Some(existing) = st.orders.iter_mut().find(|x| x.order_id == o.order_id) {
                *existing = o;
            } else {
                st.orders.push(o);
            }
        }
    }

    /// The simulator's copy of an order.
    pub fn order(&self, order_id: &str) -> Option<SimOrder> {
        self.shared
            .lock()
            .orders
            .iter()
            .find(|o| o.order_id == order_id)
            .cloned()
    }

    /// Moves a pending order to `Unshipped` (its prices become visible) and stamps
    /// `lastUpdatedTime` with `at`.
    pub fn confirm_order(&self, order_id: &str, at: DateTime<Utc>) -> bool {
        let mut st = self.shared.lock();
        match st.orders.iter_mut().find(|o| o.order_id == order_id) {
            Some(o) => {
                o.status = SimOrderStatus::Unshipped;
                o.last_updated = at;
                true
            }
            None => false,
        }
    }

    /// Adds a report with its document.
    pub fn add_report(&self, report: SimReport) {
        self.shared.lock().reports.push(report);
    }

    /// Adds three settlement reports for demos: a US settlement (USD, no charset on the
    /// download), the same settlement published again as an overlapping duplicate report, and a
    /// German settlement with decimal commas (EUR, windows-1252). Returns their settlement ids.
    pub fn add_demo_settlements(&self) -> [String; 2] {
        let now = Utc::now();
        let start = now - chrono::Duration::days(30);
        let rows = demo_settlement_rows();
        let us = settlement_file("30000000001", "USD", "Amazon.com", start, &rows, false);
        let de = settlement_file(
            "30000000002",
            "EUR",
            "Amazon.de",
            start + chrono::Duration::days(14),
            &rows,
            true,
        );
        let w1252 = encoding_rs::WINDOWS_1252;
        let mp = self
            .shared
            .cfg
            .marketplace_ids
            .first()
            .cloned()
            .unwrap_or_else(|| "ATVPDKIKX0DER".into());
        self.add_report(SimReport::settlement(
            "DEMO-US-1",
            now - chrono::Duration::days(14),
            &mp,
            &us,
            w1252,
            None,
        ));
        self.add_report(SimReport::settlement(
            "DEMO-US-1-DUP",
            now - chrono::Duration::days(13),
            &mp,
            &us,
            w1252,
            None,
        ));
        self.add_report(SimReport::settlement(
            "DEMO-DE-1",
            now - chrono::Duration::days(1),
            "A1PA6795UKMFR9",
            &de,
            w1252,
            Some("text/plain;charset=Cp1252"),
        ));
        ["30000000001".into(), "30000000002".into()]
    }

    /// Adds Finances transactions (JSON as Amazon sends them).
    pub fn add_transactions(&self, txs: impl IntoIterator<Item = Value>) {
        self.shared.lock().transactions.extend(txs);
    }

    /// Adds FBA inventory rows.
    pub fn add_inventory(&self, rows: impl IntoIterator<Item = SimInventory>) {
        self.shared.lock().inventory.extend(rows);
    }

    /// Creates or replaces a listing.
    pub fn set_listing(&self, sku: &str, listing: SimListing) {
        self.shared.lock().listings.insert(sku.into(), listing);
    }

    // ---- faults --------------------------------------------------------------------------

    /// Makes the next `n` requests of `operation` fail with `fault` (after any faults already
    /// queued).
    pub fn inject(&self, operation: &str, fault: Fault, n: usize) {
        self.inject_after(operation, 0, fault, n);
    }

    /// Lets `after` more requests of `operation` through, then fails the `n` after them with
    /// `fault`.
    pub fn inject_after(&self, operation: &str, after: usize, fault: Fault, n: usize) {
        let mut st = self.shared.lock();
        let q = st.faults.entry(operation.into()).or_default();
        q.extend(std::iter::repeat_n(None, after));
        q.extend(std::iter::repeat_n(Some(fault), n));
    }

    /// Drops every fault still queued for `operation`.
    pub fn clear_faults(&self, operation: &str) {
        self.shared.lock().faults.remove(operation);
    }

    /// Revokes the refresh token: the token endpoint answers `invalid_grant` from now on.
    pub fn revoke_refresh_token(&self) {
        self.shared.lock().refresh_revoked = true;
    }

    /// Expires every access token issued so far (the next SP-API call gets the expired-token 403).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        let mut st = self.shared.lock();
        for (exp, _) in st.access_tokens.values_mut() {
            *exp = now;
        }
    }

    // ---- inspection ----------------------------------------------------------------------

    /// Counters of `operation`.
    pub fn stats(&self, operation: &str) -> OpStats {
        self.shared
            .lock()
            .stats
            .get(operation)
            .copied()
            .unwrap_or_default()
    }

    /// Every request of `operation`, in arrival order.
    pub fn requests(&self, operation: &str) -> Vec<SimRequest> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.operation == operation)
            .cloned()
            .collect()
    }

    /// Every request, in arrival order.
    pub fn all_requests(&self) -> Vec<SimRequest> {
        self.shared.lock().log.clone()
    }

    /// Grants the token endpoint answered.
    pub fn grants(&self) -> Vec<SimGrant> {
        self.shared.lock().grants.clone()
    }

    /// The listing of `sku`, if any.
    pub fn listing(&self, sku: &str) -> Option<SimListing> {
        self.shared.lock().listings.get(sku).cloned()
    }

    /// The writes received for `sku`.
    pub fn listing_writes(&self, sku: &str) -> Vec<SimListingWrite> {
        self.shared
            .lock()
            .listing_writes
            .get(sku)
            .cloned()
            .unwrap_or_default()
    }

    /// The usage plan the simulator enforces for `operation` (rate per simulated second, burst).
    pub fn limit(&self, operation: &str) -> Option<(f64, u32)> {
        server::limit_of(&self.shared.cfg, operation)
    }
}

/// Helper for tests: the real-time duration of `sim` simulated time at this scale.
pub fn real_duration(sim: Duration, time_scale: f64) -> Duration {
    Duration::from_secs_f64(sim.as_secs_f64() / time_scale.max(1e-9))
}
