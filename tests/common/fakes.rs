//! In-test parts for pipeline tests: a source that serves a vector of pages, a mapper from
//! orders to sales orders (and customers), and an ERP sink that keeps documents in memory and
//! can be told to fail, throttle, time out after storing, or hang after storing (a crash).
//!
//! These stand in for Adobe Commerce and QAD; the thing under test (the pipeline and the
//! stores) is real.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use ml_connector::core::{Capabilities, Cursor, EntityAccess, MapContext, Page, Receipt};
use ml_connector::error::Context;
use ml_connector::model::*;
use ml_connector::{ErpSink, Error, Mapper, Result, SourceSystem};
use rust_decimal::Decimal;

/// The source id of order `n` (store-scoped increment id).
pub fn order_id(n: usize) -> String {
    format!("default:{n:09}")
}

/// The ERP external id the test mapper writes for order `n`.
pub fn order_external_id(n: usize) -> String {
    format!("adobe:default:order:{n:09}")
}

/// An order record with one line, in USD, with a raw payload like Adobe's.
pub fn order_record(n: usize) -> SourceRecord {
    let number = format!("{n:09}");
    let placed = chrono::DateTime::from_timestamp(1_760_000_000 + n as i64 * 60, 0).unwrap();
    let usd = Currency::new("USD").unwrap();
    let price = Decimal::new(1999 + n as i64, 2);
    let line = Line {
        line_id: format!("{n}-1"),
        order_line_id: None,
        sku: format!("SKU-{}", n % 7),
        name: Some("Widget".into()),
        quantity: Decimal::from(2),
        unit_price: price,
        row_total: price * Decimal::from(2),
        discount: Decimal::ZERO,
        tax: Decimal::ZERO,
        role: LineRole::Standalone,
        parent_line_id: None,
    };
    let totals = Totals {
        currency: usd,
        subtotal: line.row_total,
        shipping: Decimal::new(500, 2),
        discount: Decimal::ZERO,
        tax: Decimal::ZERO,
        grand_total: line.row_total + Decimal::new(500, 2),
    };
    let order = Order {
        number: number.clone(),
        entity_id: Some(n.to_string()),
        channel: Some("default".into()),
        status: OrderStatus::Open,
        source_status: "processing".into(),
        placed_at: placed,
        party: OrderParty {
            customer_id: Some(format!("{}", 100 + n % 13)),
            email: Some(format!("buyer{n}@example.com")),
            name: Some(format!("Buyer {n}")),
            ..OrderParty::default()
        },
        billing_address: None,
        shipping_address: None,
        lines: vec![line],
        totals,
        base_totals: None,
        customer_po: None,
        payment_method: Some("checkmo".into()),
        shipping_method: Some("flatrate_flatrate".into()),
        fulfilled_by: None,
        replaces: None,
    };
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "orders", order_id(n)),
        version: placed.to_rfc3339(),
        updated_at: Some(placed),
        raw: serde_json::json!({
            "entity_id": n,
            "increment_id": number,
            "store_id": 1,
            "grand_total": order.totals.grand_total.to_string(),
            "items": [{"sku": order.lines[0].sku, "qty_ordered": 2}],
        }),
        body: RecordBody::Order(order),
    }
}

/// A customer account record.
pub fn customer_record(n: usize) -> SourceRecord {
    let created = chrono::DateTime::from_timestamp(1_750_000_000 + n as i64 * 60, 0).unwrap();
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "customers", n.to_string()),
        version: created.to_rfc3339(),
        updated_at: Some(created),
        raw: serde_json::json!({"id": n, "email": format!("c{n}@example.com"), "firstname": "Ada", "lastname": format!("Customer{n}")}),
        body: RecordBody::Customer(Customer {
            id: n.to_string(),
            email: Some(format!("c{n}@example.com")),
            first_name: Some("Ada".into()),
            last_name: Some(format!("Customer{n}")),
            company: None,
            billing_address: None,
            shipping_address: None,
            tax_id: None,
            group: None,
            channel: Some("base".into()),
            created_at: Some(created),
        }),
    }
}

/// `count` orders numbered from `first`, cut into pages of `page_size`.
pub fn order_pages(first: usize, count: usize, page_size: usize) -> Vec<Vec<SourceRecord>> {
    (first..first + count)
        .map(order_record)
        .collect::<Vec<_>>()
        .chunks(page_size)
        .map(<[SourceRecord]>::to_vec)
        .collect()
}

/// The cursor the test source gives page `i` (0-based).
pub fn page_cursor(i: usize) -> Cursor {
    Cursor(serde_json::json!({ "page": i }))
}

/// A source serving fixed pages for one stream. The cursor is `{"page": i}`; `changes` resumes
/// after the committed page. It can be told to fail after serving some pages.
pub struct VecSource {
    name: String,
    stream: String,
    pages: Vec<Vec<SourceRecord>>,
    fail_after_pages: Mutex<Option<usize>>,
    /// How many times `changes` was called.
    pub reads: AtomicUsize,
}

impl VecSource {
    /// A source named `adobe` with stream `orders`.
    pub fn new(pages: Vec<Vec<SourceRecord>>) -> Self {
        Self::with_stream("adobe", "orders", pages)
    }

    /// A source named `name` serving `stream`.
    pub fn with_stream(name: &str, stream: &str, pages: Vec<Vec<SourceRecord>>) -> Self {
        Self {
            name: name.into(),
            stream: stream.into(),
            pages,
            fail_after_pages: Mutex::new(None),
            reads: AtomicUsize::new(0),
        }
    }

    /// After serving `n` pages, the stream yields a transient error (rate limit spent).
    pub fn fail_after(&self, n: Option<usize>) {
        *self.fail_after_pages.lock().unwrap() = n;
    }
}

#[async_trait]
impl SourceSystem for VecSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn streams(&self) -> Vec<String> {
        vec![self.stream.clone()]
    }

    fn changes<'a>(
        &'a self,
        stream: &'a str,
        cursor: Option<Cursor>,
    ) -> BoxStream<'a, Result<Page>> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            stream, self.stream,
            "test source asked for an unknown stream"
        );
        let start = cursor
            .and_then(|c| c.0.get("page").and_then(serde_json::Value::as_u64))
            .map_or(0, |p| p as usize + 1);
        let fail_after = *self.fail_after_pages.lock().unwrap();
        let mut items: Vec<Result<Page>> = Vec::new();
        for (i, records) in self.pages.iter().enumerate().skip(start) {
            if fail_after.is_some_and(|n| i - start >= n) {
                items.push(Err(Error::Http {
                    ctx: Context {
                        op: "adobe.orders.search".into(),
                        status: Some(429),
                        request_id: None,
                        record: None,
                    }
                    .into(),
                    message: "retry budget spent".into(),
                    kind: ml_connector::ErrorKind::Transient,
                    retry_after: Some(Duration::from_secs(60)),
                }));
                break;
            }
            items.push(Ok(Page {
                records: records.clone(),
                cursor: Some(page_cursor(i)),
            }));
        }
        stream::iter(items).boxed()
    }

    async fn fetch(&self, _stream: &str, source_id: &str) -> Result<Option<SourceRecord>> {
        Ok(self
            .pages
            .iter()
            .flatten()
            .find(|r| r.key.source_id == source_id)
            .cloned())
    }
}

/// Orders → (optionally a customer, then) a sales order. Can be told to refuse given records
/// (an "unknown SKU" until the crosswalk is fixed).
#[derive(Default)]
pub struct OrderMapper {
    /// Emit a customer document before each sales order.
    pub with_customer: bool,
    refuse: Mutex<HashSet<String>>,
}

impl OrderMapper {
    /// A mapper that emits a customer before each sales order.
    pub fn with_customers() -> Self {
        Self {
            with_customer: true,
            ..Self::default()
        }
    }

    /// Refuses to map `source_id` until [`OrderMapper::accept`] is called.
    pub fn refuse(&self, source_id: &str) {
        self.refuse.lock().unwrap().insert(source_id.to_string());
    }

    /// Maps `source_id` again.
    pub fn accept(&self, source_id: &str) {
        self.refuse.lock().unwrap().remove(source_id);
    }
}

impl Mapper for OrderMapper {
    fn map(&self, record: &SourceRecord, _ctx: &MapContext) -> Result<Vec<ErpDocument>> {
        if self.refuse.lock().unwrap().contains(&record.key.source_id) {
            return Err(Error::data(
                &record.key,
                "SKU \"SKU-X\" has no QAD item",
                "add SKU \"SKU-X\" to the SKU crosswalk (skus.toml)",
            ));
        }
        if let RecordBody::Customer(c) = &record.body {
            return Ok(vec![ErpDocument::Customer(CustomerDoc {
                external_id: format!("adobe:customer:{}", c.id),
                code: format!("C{}", c.id),
                name: format!(
                    "{} {}",
                    c.first_name.clone().unwrap_or_default(),
                    c.last_name.clone().unwrap_or_default()
                ),
                email: c.email.clone(),
                currency: Currency::new("USD").unwrap(),
                address: None,
                tax_id: None,
                is_business: false,
                credit_terms: None,
            })]);
        }
        let RecordBody::Order(order) = &record.body else {
            return Err(Error::data(
                &record.key,
                "not an order",
                "route this stream to another mapper",
            ));
        };
        let customer = format!("C{}", order.party.customer_id.clone().unwrap_or_default());
        let mut docs = Vec::new();
        if self.with_customer {
            docs.push(ErpDocument::Customer(CustomerDoc {
                external_id: format!("adobe:customer:{}", record.key.source_id),
                code: customer.clone(),
                name: order.party.name.clone().unwrap_or_default(),
                email: order.party.email.clone(),
                currency: order.totals.currency.clone(),
                address: None,
                tax_id: None,
                is_business: false,
                credit_terms: None,
            }));
        }
        let date = order.placed_at.date_naive();
        docs.push(ErpDocument::SalesOrder(SalesOrderDoc {
            external_id: format!("adobe:default:order:{}", order.number),
            customer,
            bill_to: None,
            ship_to: None,
            ship_to_address: None,
            order_date: date,
            due_date: date,
            site: None,
            currency: order.totals.currency.clone(),
            customer_po: order.number.clone(),
            lines: order
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| SalesOrderLine {
                    line: u32::try_from(i + 1).unwrap(),
                    item: l.sku.clone(),
                    source_sku: l.sku.clone(),
                    description: l.name.clone(),
                    quantity: l.quantity,
                    uom: None,
                    list_price: l.unit_price,
                    net_price: l.unit_price,
                    taxable: true,
                    site: None,
                })
                .collect(),
            freight: order.totals.shipping,
            tax: order.totals.tax,
            remarks: None,
        }));
        Ok(docs)
    }
}

/// What the sink does on the next post of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Refuse it (a business error; permanent).
    Reject,
    /// Fail it transiently `n` more times (HTTP 429 with `Retry-After`).
    Throttle(u32),
    /// Fail it transiently `n` more times (HTTP 503, no `Retry-After`).
    Unavailable(u32),
    /// Store it, then answer "outcome unknown" (a timeout after sending).
    StoreThenAmbiguous,
    /// Store it, then never answer (the worker crashes between post and complete).
    StoreThenHang,
}

/// An ERP that keeps documents in memory, keyed by external id, and records every post.
#[derive(Default)]
pub struct MemoryErp {
    docs: Mutex<HashMap<String, (ErpDocument, Receipt)>>,
    /// Every successful store, by external id (a double post shows as a count of 2).
    stored: Mutex<HashMap<String, usize>>,
    faults: Mutex<HashMap<String, Fault>>,
    log: Mutex<Vec<String>>,
    posts: AtomicUsize,
    finds: AtomicUsize,
    delay: Mutex<Duration>,
    /// Signalled after a `StoreThenHang` document was stored.
    pub hung: tokio::sync::Notify,
}

impl MemoryErp {
    /// An empty ERP.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a delay to every post.
    pub fn with_delay(self, d: Duration) -> Self {
        *self.delay.lock().unwrap() = d;
        self
    }

    /// Sets the fault for the document with `external_id`.
    pub fn fault(&self, external_id: &str, fault: Fault) {
        self.faults
            .lock()
            .unwrap()
            .insert(external_id.to_string(), fault);
    }

    /// Clears the fault for `external_id` (its cause was fixed).
    pub fn heal(&self, external_id: &str) {
        self.faults.lock().unwrap().remove(external_id);
    }

    /// Calls to `post` so far (including failed ones).
    pub fn post_calls(&self) -> usize {
        self.posts.load(Ordering::SeqCst)
    }

    /// Calls to `find` so far.
    pub fn find_calls(&self) -> usize {
        self.finds.load(Ordering::SeqCst)
    }

    /// How many times each external id was written.
    pub fn stored_counts(&self) -> HashMap<String, usize> {
        self.stored.lock().unwrap().clone()
    }

    /// The receipt of the document stored under `external_id`.
    pub fn receipt(&self, external_id: &str) -> Option<Receipt> {
        self.docs
            .lock()
            .unwrap()
            .get(external_id)
            .map(|(_, r)| r.clone())
    }

    /// External ids in the order they were stored.
    pub fn store_log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The document stored under `external_id`.
    pub fn document(&self, external_id: &str) -> Option<ErpDocument> {
        self.docs
            .lock()
            .unwrap()
            .get(external_id)
            .map(|(d, _)| d.clone())
    }

    fn store(&self, doc: &ErpDocument) -> Receipt {
        let mut docs = self.docs.lock().unwrap();
        let n = docs.len() + 1;
        let receipt = Receipt {
            erp_key: format!("{}-{n:06}", doc.kind().as_str().to_uppercase()),
            uri: Some(format!("/erp/{}/{n}", doc.kind())),
            warnings: vec![],
            request: Some(serde_json::to_value(doc).unwrap()),
            response: Some(serde_json::json!({"success": true, "key": n})),
        };
        docs.insert(
            doc.external_id().to_string(),
            (doc.clone(), receipt.clone()),
        );
        self.log.lock().unwrap().push(doc.external_id().to_string());
        *self
            .stored
            .lock()
            .unwrap()
            .entry(doc.external_id().to_string())
            .or_default() += 1;
        receipt
    }

    fn ctx(doc: &ErpDocument, status: u16) -> Context {
        Context {
            op: format!("erp.{}.post", doc.kind()),
            status: Some(status),
            request_id: Some(format!("req-{}", doc.external_id())),
            record: None,
        }
    }
}

#[async_trait]
impl ErpSink for MemoryErp {
    fn name(&self) -> &str {
        "memory-erp"
    }

    async fn connect(&self) -> Result<Capabilities> {
        let mut caps = Capabilities::default();
        for k in DocumentKind::ALL {
            caps.entities.insert(k, EntityAccess::Available);
        }
        Ok(caps)
    }

    async fn find(&self, doc: &ErpDocument) -> Result<Option<Receipt>> {
        self.finds.fetch_add(1, Ordering::SeqCst);
        let docs = self.docs.lock().unwrap();
        Ok(docs.get(doc.external_id()).map(|(_, r)| Receipt {
            request: None,
            response: Some(serde_json::json!({"found": r.erp_key})),
            ..r.clone()
        }))
    }

    async fn post(&self, doc: &ErpDocument) -> Result<Receipt> {
        self.posts.fetch_add(1, Ordering::SeqCst);
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let fault = {
            let mut faults = self.faults.lock().unwrap();
            let f = faults.get(doc.external_id()).cloned();
            match &f {
                Some(Fault::Throttle(n)) | Some(Fault::Unavailable(n)) if *n <= 1 => {
                    faults.remove(doc.external_id());
                }
                Some(Fault::Throttle(n)) => {
                    faults.insert(doc.external_id().into(), Fault::Throttle(n - 1));
                }
                Some(Fault::Unavailable(n)) => {
                    faults.insert(doc.external_id().into(), Fault::Unavailable(n - 1));
                }
                Some(Fault::StoreThenAmbiguous) => {
                    faults.remove(doc.external_id());
                }
                _ => {}
            }
            f
        };
        match fault {
            None => Ok(self.store(doc)),
            Some(Fault::Reject) => Err(Error::Rejected {
                ctx: Self::ctx(doc, 200).into(),
                message: "submitResult.success=false".into(),
                issues: vec![ml_connector::error::Issue {
                    field: Some("customer".into()),
                    code: Some("2403".into()),
                    message: "Customer does not exist".into(),
                    severity: Some("ERROR".into()),
                }],
            }),
            Some(Fault::Throttle(_)) => Err(Error::Http {
                ctx: Self::ctx(doc, 429).into(),
                message: "rate limit exceeded".into(),
                kind: ml_connector::ErrorKind::Transient,
                retry_after: Some(Duration::from_millis(5)),
            }),
            Some(Fault::Unavailable(_)) => Err(Error::Http {
                ctx: Self::ctx(doc, 503).into(),
                message: "service unavailable".into(),
                kind: ml_connector::ErrorKind::Transient,
                retry_after: None,
            }),
            Some(Fault::StoreThenAmbiguous) => {
                self.store(doc);
                Err(Error::Ambiguous {
                    ctx: Context::op(format!("erp.{}.post", doc.kind())).into(),
                    message: "timed out after the request was sent".into(),
                })
            }
            Some(Fault::StoreThenHang) => {
                self.store(doc);
                self.hung.notify_one();
                std::future::pending::<()>().await;
                unreachable!("a hung post never answers")
            }
        }
    }
}
