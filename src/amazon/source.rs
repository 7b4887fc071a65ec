//! [`AmazonSource`]: the SP-API as a [`SourceSystem`] with the streams `orders`, `settlements`,
//! `financial_transactions` and `inventory`.
//!
//! Every stream pages through the kernel's [`paginate`] with the API's own token rules and yields
//! each page with the cursor to commit once its records are acknowledged. When a call gives up
//! (retry budget or attempt cap spent under throttling), the stream yields the pages it has and
//! then the error: the caller commits what was acknowledged and reports the run as partial; the
//! next run resumes from the committed cursor.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{
    GetOrdersQuery, ReportsQuery, SearchOrdersQuery, SpApiClient, TransactionsQuery, amazon_time,
    parse_amazon_time,
};
use super::config::{AmazonConfig, OrdersApi};
use super::limits;
use super::orders::{self, record_2026, record_v0};
use super::records::{
    FINANCIAL_TRANSACTIONS, INVENTORY, SETTLEMENTS, fba_record, merchant_record, settlement_record,
    transaction_record,
};
use super::settlement::{
    ParsedSettlement, SETTLEMENT_REPORT_TYPE, decode_document, parse_settlement_unchecked,
    reconcile,
};
use super::wire;
use crate::core::{Cursor, Page, SourceSystem};
use crate::error::{Context, Error, Result};
use crate::http::{PageOf, paginate};
use crate::model::SourceRecord;

/// Where the `orders` stream resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrdersCursor {
    /// The watermark: orders updated at or after it are read (minus the overlap window, unless
    /// resuming inside a window).
    pub last_updated_after: DateTime<Utc>,
    /// Set while a window is half read: its upper bound …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_before: Option<DateTime<Utc>>,
    /// … and the `paginationToken` of the next page (Orders 2026-01-01 tokens live 24 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination_token: Option<String>,
}

/// Where the `settlements` stream resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementsCursor {
    /// `createdSince` of the next `getReports` (the last processed report's creation time).
    pub created_since: DateTime<Utc>,
}

/// Where the `financial_transactions` stream resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionsCursor {
    /// `postedAfter` of the next run (minus the overlap).
    pub posted_after: DateTime<Utc>,
}

/// Position of the `inventory` stream (a snapshot: every run reads everything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryCursor {
    /// When the last snapshot was taken.
    pub observed_at: DateTime<Utc>,
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Ends a stream after its first error (the kernel's pages end there already; this covers the
/// conversion steps).
fn stop_after_error<'a, T: Send + 'a>(s: BoxStream<'a, Result<T>>) -> BoxStream<'a, Result<T>> {
    s.scan(false, |failed, item| {
        let out = if *failed {
            None
        } else {
            *failed = item.is_err();
            Some(item)
        };
        futures::future::ready(out)
    })
    .boxed()
}

fn cursor<T: Serialize>(v: &T) -> Option<Cursor> {
    Cursor::from_value(v).ok()
}

/// The Amazon source of one seller in one region.
#[derive(Debug, Clone)]
pub struct AmazonSource {
    client: Arc<SpApiClient>,
}

impl AmazonSource {
    /// A source on its own client.
    ///
    /// # Errors
    /// [`Error::Config`] when a setting is wrong.
    pub fn new(cfg: AmazonConfig) -> Result<Self> {
        Ok(Self::with_client(Arc::new(SpApiClient::new(cfg)?)))
    }

    /// A source sharing `client` (and its rate buckets) with e.g. the listings sink.
    pub fn with_client(client: Arc<SpApiClient>) -> Self {
        Self { client }
    }

    /// The client.
    pub fn client(&self) -> &Arc<SpApiClient> {
        &self.client
    }

    fn cfg(&self) -> &AmazonConfig {
        self.client.config()
    }

    // ---- orders ---------------------------------------------------------------------------

    fn orders_stream(&self, cur: Option<OrdersCursor>) -> BoxStream<'static, Result<Page>> {
        let cfg = self.cfg();
        let now = Utc::now();
        let limit = now - chrono_dur(cfg.orders.freshness_delay);
        let overlap = chrono_dur(cfg.orders.overlap);
        let (watermark, after, before, token) = match cur {
            Some(OrdersCursor {
                last_updated_after,
                window_before: Some(b),
                pagination_token: Some(t),
            }) if cfg.orders.api == OrdersApi::V2026 => {
                (last_updated_after, last_updated_after, b, Some(t))
            }
            Some(c) => (
                c.last_updated_after,
                c.last_updated_after - overlap,
                limit,
                None,
            ),
            None => {
                let start = now - chrono_dur(cfg.orders.initial_lookback);
                (start + overlap, start, limit, None)
            }
        };
        if after >= before {
            return stream::empty().boxed();
        }
        match cfg.orders.api {
            OrdersApi::V2026 => self.orders_2026(after, before, token),
            OrdersApi::V0 => self.orders_v0(watermark, after, before),
        }
    }

    fn search_query(&self, after: DateTime<Utc>, before: DateTime<Utc>) -> SearchOrdersQuery {
        let cfg = self.cfg();
        let mut included = cfg.orders.included_data.clone();
        if !included.iter().any(|i| i == "FULFILLMENT") {
            included.push("FULFILLMENT".into());
        }
        SearchOrdersQuery {
            last_updated_after: Some(amazon_time(after)),
            last_updated_before: Some(amazon_time(before)),
            marketplace_ids: cfg.marketplace_ids.clone(),
            max_results_per_page: Some(cfg.orders.page_size),
            included_data: included,
            ..SearchOrdersQuery::default()
        }
    }

    fn orders_2026(
        &self,
        after: DateTime<Utc>,
        before: DateTime<Utc>,
        resume: Option<String>,
    ) -> BoxStream<'static, Result<Page>> {
        let client = self.client.clone();
        let base = self.search_query(after, before);
        let resumed = resume.clone();
        let pages = paginate(limits::SEARCH_ORDERS, resume, move |token| {
            let client = client.clone();
            let mut q = base.clone();
            let is_resumed = token.is_some() && token == resumed;
            q.pagination_token = token;
            async move {
                let page = match client.search_orders(&q).await {
                    // A stored token older than its 24 hours: read the window from its start.
                    Err(Error::Rejected { .. }) if is_resumed => {
                        tracing::warn!("stored paginationToken refused; re-reading the window");
                        q.pagination_token = None;
                        client.search_orders(&q).await?
                    }
                    other => other?,
                };
                let items = match page.raw.get("orders") {
                    Some(Value::Array(a)) => a.clone(),
                    _ => Vec::new(),
                };
                Ok(PageOf {
                    items,
                    next: page.value.pagination.and_then(|p| p.next_token),
                })
            }
        });
        stop_after_error(
            pages
                .map(move |page| {
                    let page = page?;
                    let records = page
                        .items
                        .into_iter()
                        .map(record_2026)
                        .collect::<Result<Vec<_>>>()?;
                    let c = match page.next {
                        Some(t) => OrdersCursor {
                            last_updated_after: after,
                            window_before: Some(before),
                            pagination_token: Some(t),
                        },
                        None => OrdersCursor {
                            last_updated_after: before,
                            window_before: None,
                            pagination_token: None,
                        },
                    };
                    Ok(Page {
                        records,
                        cursor: cursor(&c),
                    })
                })
                .boxed(),
        )
    }

    fn orders_v0(
        &self,
        watermark: DateTime<Utc>,
        after: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> BoxStream<'static, Result<Page>> {
        let client = self.client.clone();
        let base = GetOrdersQuery {
            last_updated_after: Some(amazon_time(after)),
            last_updated_before: Some(amazon_time(before)),
            marketplace_ids: self.cfg().marketplace_ids.clone(),
            max_results_per_page: Some(self.cfg().orders.page_size),
            ..GetOrdersQuery::default()
        };
        let c2 = self.client.clone();
        let pages = paginate(limits::GET_ORDERS_V0, None, move |token| {
            let client = client.clone();
            let mut q = base.clone();
            q.next_token = token;
            async move {
                let page = client.get_orders_v0(&q).await?;
                let items = match page.raw.pointer("/payload/Orders") {
                    Some(Value::Array(a)) => a.clone(),
                    _ => Vec::new(),
                };
                Ok(PageOf {
                    items,
                    next: page.value.payload.and_then(|p| p.next_token),
                })
            }
        });
        stop_after_error(
            pages
                .then(move |page| {
                    let client = c2.clone();
                    async move {
                        let page = page?;
                        let mut records = Vec::with_capacity(page.items.len());
                        for order in page.items {
                            let id = order["AmazonOrderId"].as_str().unwrap_or("").to_string();
                            let items = order_items(&client, &id).await?;
                            records.push(record_v0(order, items)?);
                        }
                        // v0 tokens are opaque: a half-read window is read again from its start.
                        let c = OrdersCursor {
                            last_updated_after: if page.next.is_some() {
                                watermark
                            } else {
                                before
                            },
                            window_before: None,
                            pagination_token: None,
                        };
                        Ok(Page {
                            records,
                            cursor: cursor(&c),
                        })
                    }
                })
                .boxed(),
        )
    }

    // ---- settlements ----------------------------------------------------------------------

    fn settlements_stream(
        &self,
        cur: Option<SettlementsCursor>,
    ) -> BoxStream<'static, Result<Page>> {
        let client = self.client.clone();
        let cfg = self.cfg().clone();
        let now = Utc::now();
        let oldest = now - chrono_dur(cfg.settlements.initial_lookback);
        let since = match cur {
            Some(c) if c.created_since > oldest => c.created_since,
            Some(c) => {
                tracing::warn!(
                    watermark = %c.created_since,
                    "settlement watermark older than Amazon's 90-day retention; reading from {oldest}"
                );
                oldest
            }
            None => oldest,
        };
        enum St {
            List,
            Reports(VecDeque<wire::Report>, HashMap<String, String>),
            Done,
        }
        let skip: HashSet<String> = cfg
            .settlements
            .skip_settlement_ids
            .iter()
            .cloned()
            .collect();
        stream::unfold(St::List, move |st| {
            let client = client.clone();
            let cfg = cfg.clone();
            let skip = skip.clone();
            async move {
                match st {
                    St::Done => None,
                    St::List => match list_settlement_reports(&client, &cfg, since).await {
                        Err(e) => Some((Err(e), St::Done)),
                        Ok(reports) => {
                            let mut q: VecDeque<wire::Report> = reports.into();
                            match q.pop_front() {
                                None => None,
                                Some(r) => {
                                    let mut seen = HashMap::new();
                                    let item =
                                        settlement_page(&client, &cfg, &r, &mut seen, &skip).await;
                                    let next = if item.is_err() {
                                        St::Done
                                    } else {
                                        St::Reports(q, seen)
                                    };
                                    Some((item, next))
                                }
                            }
                        }
                    },
                    St::Reports(mut q, mut seen) => {
                        let r = q.pop_front()?;
                        let item = settlement_page(&client, &cfg, &r, &mut seen, &skip).await;
                        let next = if item.is_err() {
                            St::Done
                        } else {
                            St::Reports(q, seen)
                        };
                        Some((item, next))
                    }
                }
            }
        })
        .boxed()
    }

    // ---- finances -------------------------------------------------------------------------

    fn transactions_stream(
        &self,
        cur: Option<TransactionsCursor>,
    ) -> BoxStream<'static, Result<Page>> {
        let cfg = self.cfg();
        let now = Utc::now();
        let overlap = chrono_dur(cfg.finances.overlap);
        let (watermark, after) = match cur {
            Some(c) => (c.posted_after, c.posted_after - overlap),
            None => {
                let start = now - chrono_dur(cfg.finances.initial_lookback);
                (start + overlap, start)
            }
        };
        // More than two minutes before now, and at most 180 days after `postedAfter` (a wider
        // window answers empty).
        let before =
            (now - chrono_dur(cfg.orders.freshness_delay)).min(after + chrono::Duration::days(180));
        if after >= before {
            return stream::empty().boxed();
        }
        let base = TransactionsQuery {
            posted_after: Some(amazon_time(after)),
            posted_before: Some(amazon_time(before)),
            marketplace_id: (cfg.marketplace_ids.len() == 1)
                .then(|| cfg.marketplace_ids[0].clone()),
            ..TransactionsQuery::default()
        };
        let client = self.client.clone();
        let pages = paginate(limits::LIST_TRANSACTIONS, None, move |token| {
            let client = client.clone();
            let mut q = base.clone();
            // "call the operation with this token and include the same arguments".
            q.next_token = token;
            async move {
                let page = client.list_transactions(&q).await?;
                let items = match page.raw.pointer("/payload/transactions") {
                    Some(Value::Array(a)) => a.clone(),
                    _ => Vec::new(),
                };
                Ok(PageOf {
                    items,
                    next: page.value.payload.and_then(|p| p.next_token),
                })
            }
        });
        pages
            .map(move |page| {
                let page = page?;
                let c = TransactionsCursor {
                    posted_after: if page.next.is_some() {
                        watermark
                    } else {
                        before
                    },
                };
                Ok(Page {
                    records: page.items.into_iter().map(transaction_record).collect(),
                    cursor: cursor(&c),
                })
            })
            .boxed()
    }

    // ---- inventory ------------------------------------------------------------------------

    fn inventory_stream(&self) -> BoxStream<'static, Result<Page>> {
        let cfg = self.cfg().clone();
        let observed_at = Utc::now();
        let c = cursor(&InventoryCursor { observed_at });
        let mut jobs: Vec<(bool, String)> = Vec::new();
        if cfg.inventory.fba {
            jobs.extend(cfg.marketplace_ids.iter().map(|m| (true, m.clone())));
        }
        if !cfg.inventory.merchant_skus.is_empty() {
            jobs.extend(cfg.marketplace_ids.iter().map(|m| (false, m.clone())));
        }
        let client = self.client.clone();
        stop_after_error(
            stream::iter(jobs)
                .then(move |(fba, mp)| {
                    let client = client.clone();
                    let skus = cfg.inventory.merchant_skus.clone();
                    let c = c.clone();
                    async move {
                        let records = if fba {
                            fba_snapshot(&client, &mp, &[], observed_at).await?
                        } else {
                            let mut out = Vec::new();
                            for sku in &skus {
                                if let Some(r) =
                                    merchant_level(&client, &mp, sku, observed_at).await?
                                {
                                    out.push(r);
                                }
                            }
                            out
                        };
                        Ok(Page { records, cursor: c })
                    }
                })
                .boxed(),
        )
    }
}

/// All item pages of one v0 order (raw items).
async fn order_items(client: &Arc<SpApiClient>, order_id: &str) -> Result<Vec<Value>> {
    let c = client.clone();
    let id = order_id.to_string();
    let pages: Vec<PageOf<Value>> = paginate(limits::GET_ORDER_ITEMS, None, move |token| {
        let c = c.clone();
        let id = id.clone();
        async move {
            let p = c.get_order_items(&id, token.as_deref()).await?;
            let items = match p.raw.pointer("/payload/OrderItems") {
                Some(Value::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            Ok(PageOf {
                items,
                next: p.value.payload.next_token,
            })
        }
    })
    .try_collect()
    .await?;
    Ok(pages.into_iter().flat_map(|p| p.items).collect())
}

/// Every DONE settlement report created since `since`, oldest first.
async fn list_settlement_reports(
    client: &Arc<SpApiClient>,
    cfg: &AmazonConfig,
    since: DateTime<Utc>,
) -> Result<Vec<wire::Report>> {
    let first = ReportsQuery::Filters {
        report_types: vec![SETTLEMENT_REPORT_TYPE.into()],
        processing_statuses: vec!["DONE".into()],
        marketplace_ids: cfg.marketplace_ids.clone(),
        page_size: Some(100),
        created_since: Some(amazon_time(since)),
    };
    let c = client.clone();
    let pages: Vec<PageOf<wire::Report>> = paginate(limits::GET_REPORTS, None, move |token| {
        let c = c.clone();
        // Pages after the first carry the nextToken alone.
        let q = match token {
            Some(t) => ReportsQuery::Next(t),
            None => first.clone(),
        };
        async move {
            let p = c.get_reports(&q).await?;
            Ok(PageOf {
                items: p.value.reports,
                next: p.value.next_token,
            })
        }
    })
    .try_collect()
    .await?;
    let mut reports: Vec<wire::Report> = pages
        .into_iter()
        .flat_map(|p| p.items)
        .filter(|r| {
            r.report_type == SETTLEMENT_REPORT_TYPE
                && r.processing_status == "DONE"
                && r.report_document_id.is_some()
        })
        .collect();
    reports.sort_by(|a, b| {
        let ta = parse_amazon_time(&a.created_time);
        let tb = parse_amazon_time(&b.created_time);
        ta.cmp(&tb).then(a.report_id.cmp(&b.report_id))
    });
    reports.dedup_by(|a, b| a.report_id == b.report_id);
    Ok(reports)
}

/// Mints the document URL, downloads (once more with a fresh URL if S3 says it expired),
/// decodes and parses one settlement report (not yet reconciled). Nothing touches the disk.
pub(crate) async fn fetch_settlement(
    client: &SpApiClient,
    report: &wire::Report,
) -> Result<ParsedSettlement> {
    let doc_id = report.report_document_id.as_deref().ok_or_else(|| {
        Error::data(
            format!("amazon/reports/{}", report.report_id),
            "the report has no document",
            "wait until the report is DONE",
        )
    })?;
    let mut doc = client.get_report_document(doc_id).await?;
    let (bytes, content_type) = match client.download(&doc).await {
        Ok(x) => x,
        Err(e) if e.status() == Some(403) => {
            tracing::warn!(report = %report.report_id, "presigned URL expired; minting a new one");
            doc = client.get_report_document(doc_id).await?;
            client.download(&doc).await?
        }
        Err(e) => return Err(e),
    };
    let marketplace = report
        .marketplace_ids
        .first()
        .or_else(|| client.config().marketplace_ids.first())
        .cloned();
    let text = decode_document(
        &format!("amazon/reports/{}", report.report_id),
        &bytes,
        doc.compression_algorithm.as_deref(),
        content_type.as_deref(),
        marketplace.as_deref(),
    )?;
    drop(bytes);
    parse_settlement_unchecked(&text, marketplace.as_deref()).map_err(|e| with_report(e, report))
}

/// Names the report in a settlement's data error.
fn with_report(e: Error, report: &wire::Report) -> Error {
    match e {
        Error::Data {
            record,
            message,
            fix,
        } => Error::Data {
            record,
            message: format!("{message} (report {})", report.report_id),
            fix,
        },
        other => other,
    }
}

/// Checks that the rows sum to the total.
fn reconciled(parsed: ParsedSettlement, report: &wire::Report) -> Result<ParsedSettlement> {
    reconcile(&parsed.settlement).map_err(|e| with_report(e, report))?;
    Ok(parsed)
}

async fn settlement_page(
    client: &SpApiClient,
    _cfg: &AmazonConfig,
    report: &wire::Report,
    seen: &mut HashMap<String, String>,
    skip: &HashSet<String>,
) -> Result<Page> {
    let c = cursor(&SettlementsCursor {
        created_since: parse_amazon_time(&report.created_time).unwrap_or_else(Utc::now),
    });
    let parsed = fetch_settlement(client, report).await?;
    let id = parsed.settlement.settlement_id.clone();
    if skip.contains(&id) {
        tracing::info!(settlement = %id, "skipped by configuration");
        return Ok(Page {
            records: Vec::new(),
            cursor: c,
        });
    }
    let parsed = reconciled(parsed, report)?;
    match seen.get(&id) {
        Some(d) if *d == parsed.digest => {
            // The same settlement published as another report (overlapping windows).
            tracing::debug!(settlement = %id, report = %report.report_id, "duplicate settlement report collapsed");
            return Ok(Page {
                records: Vec::new(),
                cursor: c,
            });
        }
        Some(_) => {
            tracing::warn!(settlement = %id, report = %report.report_id, "settlement re-issued with different content");
        }
        None => {}
    }
    seen.insert(id, parsed.digest.clone());
    Ok(Page {
        records: vec![settlement_record(&parsed, report)],
        cursor: c,
    })
}

/// Every FBA summary of one marketplace. Pages are fetched back to back (the next token lives
/// 30 seconds) before anything is yielded; if a token still expires (throttling in between),
/// the snapshot restarts once.
async fn fba_snapshot(
    client: &Arc<SpApiClient>,
    marketplace_id: &str,
    skus: &[String],
    observed_at: DateTime<Utc>,
) -> Result<Vec<SourceRecord>> {
    let mut restarted = false;
    loop {
        let c = client.clone();
        let mp = marketplace_id.to_string();
        let skus_v = skus.to_vec();
        let pages: Result<Vec<PageOf<Value>>> =
            paginate(limits::GET_INVENTORY_SUMMARIES, None, move |token| {
                let c = c.clone();
                let mp = mp.clone();
                let skus = skus_v.clone();
                async move {
                    let p = c
                        .get_inventory_summaries(&mp, &skus, token.as_deref())
                        .await?;
                    let items = match p.raw.pointer("/payload/inventorySummaries") {
                        Some(Value::Array(a)) => a.clone(),
                        _ => Vec::new(),
                    };
                    Ok(PageOf {
                        items,
                        next: p.value.pagination.and_then(|x| x.next_token),
                    })
                }
            })
            .try_collect()
            .await;
        match pages {
            Ok(pages) => {
                return Ok(pages
                    .into_iter()
                    .flat_map(|p| p.items)
                    .filter_map(|raw| fba_record(marketplace_id, raw, observed_at))
                    .collect());
            }
            Err(Error::Rejected { ref message, .. })
                if !restarted && message.to_ascii_lowercase().contains("expired") =>
            {
                tracing::warn!(
                    marketplace = marketplace_id,
                    "FBA next token expired; restarting the snapshot"
                );
                restarted = true;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn merchant_level(
    client: &SpApiClient,
    marketplace_id: &str,
    sku: &str,
    observed_at: DateTime<Utc>,
) -> Result<Option<SourceRecord>> {
    Ok(client
        .get_listings_item(sku, marketplace_id, &["fulfillmentAvailability"])
        .await?
        .map(|p| merchant_record(marketplace_id, &p.value, p.raw, observed_at)))
}

fn unknown_stream(stream: &str) -> Error {
    Error::Unsupported {
        ctx: Context::op("amazon.changes").into(),
        message: format!(
            "unknown stream `{stream}`; Amazon offers orders, settlements, financial_transactions and inventory"
        ),
    }
}

fn bad_cursor(stream: &str, e: Error) -> Error {
    Error::config(
        format!("checkpoint amazon/{stream}"),
        format!(
            "the stored cursor is not an Amazon {stream} cursor ({e}); delete the checkpoint to start from the initial lookback"
        ),
    )
}

#[async_trait]
impl SourceSystem for AmazonSource {
    fn name(&self) -> &str {
        &self.cfg().source_name
    }

    fn streams(&self) -> Vec<String> {
        [
            orders::STREAM,
            SETTLEMENTS,
            FINANCIAL_TRANSACTIONS,
            INVENTORY,
        ]
        .map(String::from)
        .to_vec()
    }

    fn changes<'a>(
        &'a self,
        stream: &'a str,
        cursor: Option<Cursor>,
    ) -> BoxStream<'a, Result<Page>> {
        fn parse<T: serde::de::DeserializeOwned>(
            stream: &str,
            c: Option<Cursor>,
        ) -> Result<Option<T>> {
            c.map(|c| c.to_value::<T>().map_err(|e| bad_cursor(stream, e)))
                .transpose()
        }
        let s = match stream {
            orders::STREAM => parse::<OrdersCursor>(stream, cursor).map(|c| self.orders_stream(c)),
            SETTLEMENTS => {
                parse::<SettlementsCursor>(stream, cursor).map(|c| self.settlements_stream(c))
            }
            FINANCIAL_TRANSACTIONS => {
                parse::<TransactionsCursor>(stream, cursor).map(|c| self.transactions_stream(c))
            }
            INVENTORY => Ok(self.inventory_stream()),
            other => Err(unknown_stream(other)),
        };
        match s {
            Ok(s) => s,
            Err(e) => stream::once(async move { Err(e) }).boxed(),
        }
    }

    async fn fetch(&self, stream: &str, source_id: &str) -> Result<Option<SourceRecord>> {
        match stream {
            orders::STREAM => match self.cfg().orders.api {
                OrdersApi::V2026 => {
                    let mut included = self.cfg().orders.included_data.clone();
                    if !included.iter().any(|i| i == "FULFILLMENT") {
                        included.push("FULFILLMENT".into());
                    }
                    match self.client.get_order(source_id, &included).await {
                        Ok(p) => Ok(Some(record_2026(p.raw["order"].clone())?)),
                        Err(e) if e.status() == Some(404) => Ok(None),
                        Err(e) => Err(e),
                    }
                }
                OrdersApi::V0 => match self.client.get_order_v0(source_id).await {
                    Ok(p) => {
                        let items = order_items(&self.client, source_id).await?;
                        Ok(Some(record_v0(p.raw["payload"].clone(), items)?))
                    }
                    Err(e) if e.status() == Some(404) => Ok(None),
                    Err(e) => Err(e),
                },
            },
            SETTLEMENTS => {
                // No lookup by settlement id: walk the retained reports, newest first.
                let since = Utc::now() - chrono_dur(self.cfg().settlements.initial_lookback);
                let mut reports = list_settlement_reports(&self.client, self.cfg(), since).await?;
                reports.reverse();
                for r in &reports {
                    let parsed = fetch_settlement(&self.client, r).await?;
                    if parsed.settlement.settlement_id == source_id {
                        let parsed = reconciled(parsed, r)?;
                        return Ok(Some(settlement_record(&parsed, r)));
                    }
                }
                Ok(None)
            }
            INVENTORY => {
                let mut parts = source_id.splitn(3, ':');
                let (Some(kind), Some(mp), Some(sku)) = (parts.next(), parts.next(), parts.next())
                else {
                    return Ok(None);
                };
                let now = Utc::now();
                match kind {
                    "fba" => Ok(fba_snapshot(&self.client, mp, &[sku.to_string()], now)
                        .await?
                        .into_iter()
                        .find(|r| r.key.source_id == source_id)),
                    "merchant" => merchant_level(&self.client, mp, sku, now).await,
                    _ => Ok(None),
                }
            }
            FINANCIAL_TRANSACTIONS => Err(Error::Unsupported {
                ctx: Context::op("amazon.listTransactions").into(),
                message: "Finances transactions cannot be looked up by id; replay them from the stored payload".into(),
            }),
            other => Err(unknown_stream(other)),
        }
    }
}
