//! The SP-API client of one seller in one region: every operation the crate calls, sent through
//! the transport kernel (rate bucket per (seller, region, operation) → `x-amz-access-token` →
//! send → [`AmazonClassifier`] → backoff / refresh once → typed error).

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::{Grant, RdtAuth, RdtTokenSource, lwa_auth};
use super::classify::AmazonClassifier;
use super::config::AmazonConfig;
use super::limits::{self, PUBLISHED_LIMITS, SANDBOX_LIMIT};
use super::region::Environment;
use super::wire;
use crate::error::{Context, Error, Result};
use crate::http::{AuthHook, BearerAuth, DefaultClassifier, HttpClient, Quota, Response};

/// Percent-encodes one path segment (a SKU, an order id): RFC 3986, the kernel's encoder.
pub use crate::http::percent_encode as encode_segment;

/// Formats a time the way SP-API wants it: UTC with `Z` (an offset's `+` would be read as a
/// space).
pub fn amazon_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an SP-API date-time leniently (`""` and odd values give `None`).
pub fn parse_amazon_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| super::settlement::parse_report_datetime(s))
}

fn join(v: &[String]) -> String {
    v.join(",")
}

/// Query of `searchOrders` (Orders 2026-01-01). Times are text so Amazon's sandbox magic values
/// (`createdAfter=TEST_CASE_400`) can be sent; use [`amazon_time`] for real ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchOrdersQuery {
    /// `createdAfter` (exclusive with `lastUpdatedAfter`).
    pub created_after: Option<String>,
    /// `createdBefore`.
    pub created_before: Option<String>,
    /// `lastUpdatedAfter`.
    pub last_updated_after: Option<String>,
    /// `lastUpdatedBefore` (at least two minutes before now).
    pub last_updated_before: Option<String>,
    /// `marketplaceIds` (required, ≤ 50).
    pub marketplace_ids: Vec<String>,
    /// `fulfillmentStatuses`.
    pub fulfillment_statuses: Vec<String>,
    /// `fulfilledBy` (`MERCHANT` / `AMAZON`).
    pub fulfilled_by: Option<String>,
    /// `maxResultsPerPage` (1–100).
    pub max_results_per_page: Option<u32>,
    /// `includedData`.
    pub included_data: Vec<String>,
    /// `paginationToken` (send every other parameter unchanged with it).
    pub pagination_token: Option<String>,
}

impl SearchOrdersQuery {
    /// The query pairs in a stable order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                q.push((k.to_string(), v));
            }
        };
        push("createdAfter", self.created_after.clone());
        push("createdBefore", self.created_before.clone());
        push("lastUpdatedAfter", self.last_updated_after.clone());
        push("lastUpdatedBefore", self.last_updated_before.clone());
        push("marketplaceIds", Some(join(&self.marketplace_ids)));
        push(
            "fulfillmentStatuses",
            Some(join(&self.fulfillment_statuses)),
        );
        push("fulfilledBy", self.fulfilled_by.clone());
        push(
            "maxResultsPerPage",
            self.max_results_per_page.map(|n| n.to_string()),
        );
        push("includedData", Some(join(&self.included_data)));
        push("paginationToken", self.pagination_token.clone());
        q
    }
}

/// Query of `getOrders` (Orders v0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOrdersQuery {
    /// `CreatedAfter`.
    pub created_after: Option<String>,
    /// `CreatedBefore`.
    pub created_before: Option<String>,
    /// `LastUpdatedAfter`.
    pub last_updated_after: Option<String>,
    /// `LastUpdatedBefore`.
    pub last_updated_before: Option<String>,
    /// `MarketplaceIds` (required).
    pub marketplace_ids: Vec<String>,
    /// `MaxResultsPerPage`.
    pub max_results_per_page: Option<u32>,
    /// `NextToken` (resent with the original query).
    pub next_token: Option<String>,
}

impl GetOrdersQuery {
    /// The query pairs in a stable order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                q.push((k.to_string(), v));
            }
        };
        push("CreatedAfter", self.created_after.clone());
        push("CreatedBefore", self.created_before.clone());
        push("LastUpdatedAfter", self.last_updated_after.clone());
        push("LastUpdatedBefore", self.last_updated_before.clone());
        push("MarketplaceIds", Some(join(&self.marketplace_ids)));
        push(
            "MaxResultsPerPage",
            self.max_results_per_page.map(|n| n.to_string()),
        );
        push("NextToken", self.next_token.clone());
        q
    }
}

/// Query of `getReports`: either the filters, or a `nextToken` alone (Amazon refuses a
/// `nextToken` with any other parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportsQuery {
    /// The first page.
    Filters {
        /// `reportTypes` (1–10).
        report_types: Vec<String>,
        /// `processingStatuses`.
        processing_statuses: Vec<String>,
        /// `marketplaceIds` (ignored by Amazon for settlement reports).
        marketplace_ids: Vec<String>,
        /// `pageSize` (1–100).
        page_size: Option<u32>,
        /// `createdSince` (at most 90 days ago).
        created_since: Option<String>,
    },
    /// A later page.
    Next(String),
}

impl ReportsQuery {
    /// The query pairs.
    pub fn pairs(&self) -> Vec<(String, String)> {
        match self {
            ReportsQuery::Next(t) => vec![("nextToken".into(), t.clone())],
            ReportsQuery::Filters {
                report_types,
                processing_statuses,
                marketplace_ids,
                page_size,
                created_since,
            } => {
                let mut q = vec![("reportTypes".to_string(), join(report_types))];
                if !processing_statuses.is_empty() {
                    q.push(("processingStatuses".into(), join(processing_statuses)));
                }
                if !marketplace_ids.is_empty() {
                    q.push(("marketplaceIds".into(), join(marketplace_ids)));
                }
                if let Some(n) = page_size {
                    q.push(("pageSize".into(), n.to_string()));
                }
                if let Some(s) = created_since {
                    q.push(("createdSince".into(), s.clone()));
                }
                q
            }
        }
    }
}

/// Query of `listTransactions` (Finances 2024-06-19). A `nextToken` is sent with the same
/// arguments as the call that produced it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionsQuery {
    /// `postedAfter` (required unless a related identifier is given).
    pub posted_after: Option<String>,
    /// `postedBefore` (more than two minutes before now).
    pub posted_before: Option<String>,
    /// `marketplaceId`.
    pub marketplace_id: Option<String>,
    /// `transactionStatus`.
    pub transaction_status: Option<String>,
    /// `nextToken`.
    pub next_token: Option<String>,
}

impl TransactionsQuery {
    /// The query pairs.
    pub fn pairs(&self) -> Vec<(String, String)> {
        [
            ("postedAfter", &self.posted_after),
            ("postedBefore", &self.posted_before),
            ("marketplaceId", &self.marketplace_id),
            ("transactionStatus", &self.transaction_status),
            ("nextToken", &self.next_token),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
        .collect()
    }
}

/// A JSON answer: typed, and as Amazon sent it.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// Typed view.
    pub value: T,
    /// The body as JSON.
    pub raw: Value,
    /// The kernel's answer (status, headers, request id, attempts).
    pub response: Response,
}

/// Which credential a call uses.
#[derive(Clone, Copy)]
enum Credential {
    Lwa,
    Rdt,
}

/// The SP-API client of one seller in one region. Cheap to share (`Arc`); the source and the
/// listings sink of one seller/region should share one so they share its rate buckets.
pub struct SpApiClient {
    cfg: AmazonConfig,
    http: HttpClient,
    classifier: AmazonClassifier,
    base: String,
    account: String,
    user_agent: http::HeaderValue,
    lwa: Arc<BearerAuth>,
    rdt: Option<RdtAuth>,
}

impl std::fmt::Debug for SpApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpApiClient")
            .field("base", &self.base)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl SpApiClient {
    /// A client with its own HTTP connection pool.
    ///
    /// # Errors
    /// [`Error::Config`] when a setting is wrong.
    pub fn new(cfg: AmazonConfig) -> Result<Self> {
        Self::build(cfg, None)
    }

    /// A client on a host-provided `reqwest::Client` (proxies, TLS roots).
    ///
    /// # Errors
    /// [`Error::Config`] when a setting is wrong.
    pub fn with_reqwest(cfg: AmazonConfig, client: reqwest::Client) -> Result<Self> {
        Self::build(cfg, Some(client))
    }

    fn build(cfg: AmazonConfig, client: Option<reqwest::Client>) -> Result<Self> {
        cfg.validate()?;
        let ua = cfg.user_agent();
        let mut builder = HttpClient::builder("amazon")
            .user_agent(ua.clone())
            .retry(cfg.retry.clone());
        if let Some(c) = client {
            builder = builder.reqwest(c);
        }
        let http = builder.build()?;
        let safety = cfg.rate_safety_factor;
        let classifier = AmazonClassifier::with_rate_safety_factor(safety);
        for l in PUBLISHED_LIMITS {
            let q = match cfg.environment {
                Environment::Production => Quota::new(l.rate * safety, l.burst),
                Environment::Sandbox => Quota::new(SANDBOX_LIMIT.0 * safety, SANDBOX_LIMIT.1),
            };
            http.limits().set_quota(l.operation, q);
        }
        http.limits().set_time_scale(cfg.time_scale);
        let base = cfg.base_url();
        let account = cfg.bucket_account();
        let lwa = Arc::new(lwa_auth(&cfg.credentials, Grant::RefreshToken)?);
        let rdt = cfg.orders.restricted_data.then(|| {
            RdtAuth::new(RdtTokenSource::new(
                http.clone(),
                classifier,
                lwa.clone(),
                &base,
                account.clone(),
                RdtTokenSource::orders_v0_resources(),
            ))
        });
        let user_agent = http::HeaderValue::from_str(&ua)
            .map_err(|_| Error::config("amazon.app_id", "the User-Agent has invalid characters"))?;
        Ok(Self {
            cfg,
            http,
            classifier,
            base,
            account,
            user_agent,
            lwa,
            rdt,
        })
    }

    /// The settings.
    pub fn config(&self) -> &AmazonConfig {
        &self.cfg
    }

    /// The kernel client (rate buckets, retry budget).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// The LWA auth hook (its cache tells how many tokens were fetched).
    pub fn lwa(&self) -> &BearerAuth {
        &self.lwa
    }

    /// How many restricted data tokens were created (0 when RDTs are off).
    pub fn rdt_fetches(&self) -> u64 {
        self.rdt.as_ref().map_or(0, RdtAuth::fetches)
    }

    /// The rate-bucket account (`seller/region`).
    pub fn bucket_account(&self) -> &str {
        &self.account
    }

    /// An auth hook with a grantless (client-credentials) token for `scope`, e.g.
    /// `sellingpartnerapi::notifications`, for Notifications destination and subscription calls.
    ///
    /// # Errors
    /// As [`lwa_auth`].
    pub fn grantless_auth(&self, scope: &str) -> Result<BearerAuth> {
        lwa_auth(
            &self.cfg.credentials,
            Grant::ClientCredentials(scope.to_string()),
        )
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn build_request(
        &self,
        op: &str,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<reqwest::Request> {
        let mut b = self
            .http
            .reqwest()
            .request(method, self.url(path))
            .header(http::header::USER_AGENT, self.user_agent.clone());
        if !query.is_empty() {
            b = b.query(query);
        }
        if let Some(body) = body {
            b = b.json(body);
        }
        b.build().map_err(|e| Error::Transport {
            ctx: Context::op(format!("amazon.{op}")).into(),
            message: format!("cannot build the request: {e}"),
        })
    }

    async fn send(
        &self,
        op: &str,
        request: reqwest::Request,
        credential: Credential,
        record: Option<&str>,
        idempotent: bool,
    ) -> Result<Response> {
        let auth: &dyn AuthHook = match (credential, &self.rdt) {
            (Credential::Rdt, Some(rdt)) => rdt,
            _ => &*self.lwa,
        };
        let mut call = self
            .http
            .call(op, request)
            .bucket_account(self.account.clone())
            .auth(auth)
            .classifier(&self.classifier)
            .idempotent(idempotent);
        if let Some(r) = record {
            call = call.record(r);
        }
        call.send().await
    }

    /// Sends a JSON call and parses the answer.
    #[allow(clippy::too_many_arguments)]
    async fn call_json<T: DeserializeOwned>(
        &self,
        op: &str,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        credential: Credential,
        record: Option<&str>,
        idempotent: bool,
    ) -> Result<Parsed<T>> {
        let req = self.build_request(op, method, path, query, body)?;
        let response = self.send(op, req, credential, record, idempotent).await?;
        let raw: Value = response.json()?;
        let value = serde_json::from_value::<T>(raw.clone()).map_err(|e| Error::Http {
            ctx: response.context().into(),
            message: format!("response does not match Amazon's model: {e}"),
            kind: crate::ErrorKind::Permanent,
            retry_after: None,
        })?;
        Ok(Parsed {
            value,
            raw,
            response,
        })
    }

    fn order_credential(&self) -> Credential {
        if self.rdt.is_some() {
            Credential::Rdt
        } else {
            Credential::Lwa
        }
    }

    // ---- Orders 2026-01-01 --------------------------------------------------------------------

    /// `searchOrders`.
    ///
    /// # Errors
    /// Kernel errors (throttling past the retry budget, Amazon's 400 as [`Error::Rejected`]).
    pub async fn search_orders(
        &self,
        q: &SearchOrdersQuery,
    ) -> Result<Parsed<wire::SearchOrdersResponse>> {
        self.call_json(
            limits::SEARCH_ORDERS,
            Method::GET,
            "/orders/2026-01-01/orders",
            &q.pairs(),
            None,
            Credential::Lwa,
            None,
            true,
        )
        .await
    }

    /// `getOrder` (2026-01-01) with `includedData`.
    ///
    /// # Errors
    /// Kernel errors; 404 as [`Error::Rejected`].
    pub async fn get_order(
        &self,
        order_id: &str,
        included_data: &[String],
    ) -> Result<Parsed<wire::GetOrderResponse>> {
        let mut q = Vec::new();
        if !included_data.is_empty() {
            q.push(("includedData".to_string(), join(included_data)));
        }
        self.call_json(
            limits::GET_ORDER,
            Method::GET,
            &format!("/orders/2026-01-01/orders/{}", encode_segment(order_id)),
            &q,
            None,
            Credential::Lwa,
            Some(&format!("amazon/orders/{order_id}")),
            true,
        )
        .await
    }

    // ---- Orders v0 ----------------------------------------------------------------------------

    /// `getOrders` (v0), with an RDT when restricted data is on.
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn get_orders_v0(
        &self,
        q: &GetOrdersQuery,
    ) -> Result<Parsed<wire::GetOrdersResponse>> {
        self.call_json(
            limits::GET_ORDERS_V0,
            Method::GET,
            "/orders/v0/orders",
            &q.pairs(),
            None,
            self.order_credential(),
            None,
            true,
        )
        .await
    }

    /// `getOrder` (v0).
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn get_order_v0(&self, order_id: &str) -> Result<Parsed<wire::GetOrderV0Response>> {
        self.call_json(
            limits::GET_ORDER_V0,
            Method::GET,
            &format!("/orders/v0/orders/{}", encode_segment(order_id)),
            &[],
            None,
            self.order_credential(),
            Some(&format!("amazon/orders/{order_id}")),
            true,
        )
        .await
    }

    /// `getOrderItems` (v0), one page.
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn get_order_items(
        &self,
        order_id: &str,
        next_token: Option<&str>,
    ) -> Result<Parsed<wire::GetOrderItemsResponse>> {
        let q: Vec<(String, String)> = next_token
            .map(|t| vec![("NextToken".to_string(), t.to_string())])
            .unwrap_or_default();
        self.call_json(
            limits::GET_ORDER_ITEMS,
            Method::GET,
            &format!("/orders/v0/orders/{}/orderItems", encode_segment(order_id)),
            &q,
            None,
            self.order_credential(),
            Some(&format!("amazon/orders/{order_id}")),
            true,
        )
        .await
    }

    /// `createRestrictedDataToken` with an explicit body (the RDT cache calls it by itself; this
    /// is for hosts that need an RDT for another restricted operation).
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn create_restricted_data_token(
        &self,
        request: &wire::CreateRestrictedDataTokenRequest,
    ) -> Result<wire::CreateRestrictedDataTokenResponse> {
        let body = serde_json::to_value(request)?;
        let p: Parsed<wire::CreateRestrictedDataTokenResponse> = self
            .call_json(
                limits::CREATE_RDT,
                Method::POST,
                "/tokens/2021-03-01/restrictedDataToken",
                &[],
                Some(&body),
                Credential::Lwa,
                None,
                true,
            )
            .await?;
        Ok(p.value)
    }

    // ---- Reports ------------------------------------------------------------------------------

    /// `getReports`, one page.
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn get_reports(&self, q: &ReportsQuery) -> Result<Parsed<wire::GetReportsResponse>> {
        self.call_json(
            limits::GET_REPORTS,
            Method::GET,
            "/reports/2021-06-30/reports",
            &q.pairs(),
            None,
            Credential::Lwa,
            None,
            true,
        )
        .await
    }

    /// `getReportDocument`: a presigned URL valid five minutes — call it right before downloading.
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn get_report_document(&self, document_id: &str) -> Result<wire::ReportDocument> {
        let p: Parsed<wire::ReportDocument> = self
            .call_json(
                limits::GET_REPORT_DOCUMENT,
                Method::GET,
                &format!(
                    "/reports/2021-06-30/documents/{}",
                    encode_segment(document_id)
                ),
                &[],
                None,
                Credential::Lwa,
                Some(&format!("amazon/report-documents/{document_id}")),
                true,
            )
            .await?;
        Ok(p.value)
    }

    /// Downloads a report document from its presigned URL — **without** SP-API headers (no
    /// access token), into memory. Returns the bytes and the `Content-Type`.
    ///
    /// # Errors
    /// Kernel errors; an expired URL is a 403 ([`Error::PermissionDenied`]).
    pub async fn download(&self, doc: &wire::ReportDocument) -> Result<(Bytes, Option<String>)> {
        let req = self
            .http
            .reqwest()
            .get(&doc.url)
            .header(http::header::USER_AGENT, self.user_agent.clone())
            .build()
            .map_err(|e| Error::Transport {
                ctx: Context::op(format!("amazon.{}", limits::DOWNLOAD_REPORT)).into(),
                message: format!("the document URL is not usable: {e}"),
            })?;
        let resp = self
            .http
            .call(limits::DOWNLOAD_REPORT, req)
            .classifier(&DefaultClassifier)
            .record(format!(
                "amazon/report-documents/{}",
                doc.report_document_id
            ))
            .send()
            .await?;
        let ct = resp
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok((resp.body, ct))
    }

    // ---- Finances -----------------------------------------------------------------------------

    /// `listTransactions` (2024-06-19), one page.
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn list_transactions(
        &self,
        q: &TransactionsQuery,
    ) -> Result<Parsed<wire::ListTransactionsResponse>> {
        self.call_json(
            limits::LIST_TRANSACTIONS,
            Method::GET,
            "/finances/2024-06-19/transactions",
            &q.pairs(),
            None,
            Credential::Lwa,
            None,
            true,
        )
        .await
    }

    // ---- FBA inventory ------------------------------------------------------------------------

    /// `getInventorySummaries` for one marketplace (`details=true`, Marketplace granularity),
    /// one page; `seller_skus` (≤ 50) narrows it to those SKUs. The next token lives 30
    /// seconds: request the next page right away.
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn get_inventory_summaries(
        &self,
        marketplace_id: &str,
        seller_skus: &[String],
        next_token: Option<&str>,
    ) -> Result<Parsed<wire::GetInventorySummariesResponse>> {
        let mut q = vec![
            ("details".to_string(), "true".to_string()),
            ("granularityType".to_string(), "Marketplace".to_string()),
            ("granularityId".to_string(), marketplace_id.to_string()),
            ("marketplaceIds".to_string(), marketplace_id.to_string()),
        ];
        if !seller_skus.is_empty() {
            q.push(("sellerSkus".into(), join(seller_skus)));
        }
        if let Some(t) = next_token {
            q.push(("nextToken".into(), t.to_string()));
        }
        self.call_json(
            limits::GET_INVENTORY_SUMMARIES,
            Method::GET,
            "/fba/inventory/v1/summaries",
            &q,
            None,
            Credential::Lwa,
            None,
            true,
        )
        .await
    }

    // ---- Listings -----------------------------------------------------------------------------

    fn listing_path(&self, sku: &str) -> String {
        format!(
            "/listings/2021-08-01/items/{}/{}",
            encode_segment(&self.cfg.seller_id),
            encode_segment(sku)
        )
    }

    /// `getListingsItem`; `Ok(None)` when Amazon does not know the SKU (404).
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn get_listings_item(
        &self,
        sku: &str,
        marketplace_id: &str,
        included_data: &[&str],
    ) -> Result<Option<Parsed<wire::ListingsItem>>> {
        let mut q = vec![("marketplaceIds".to_string(), marketplace_id.to_string())];
        if !included_data.is_empty() {
            q.push(("includedData".into(), included_data.join(",")));
        }
        match self
            .call_json(
                limits::GET_LISTINGS_ITEM,
                Method::GET,
                &self.listing_path(sku),
                &q,
                None,
                Credential::Lwa,
                Some(&format!("amazon/listings/{sku}")),
                true,
            )
            .await
        {
            Ok(p) => Ok(Some(p)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `putListingsItem` (`mode=VALIDATION_PREVIEW` when `preview`).
    ///
    /// # Errors
    /// Kernel errors (an `INVALID` answer is not an error here: the caller reads `status`).
    pub async fn put_listings_item(
        &self,
        sku: &str,
        marketplace_id: &str,
        body: &wire::ListingsItemPutRequest,
        preview: bool,
    ) -> Result<Parsed<wire::ListingsItemSubmissionResponse>> {
        let q = listing_write_query(marketplace_id, preview);
        let body = serde_json::to_value(body)?;
        self.call_json(
            limits::PUT_LISTINGS_ITEM,
            Method::PUT,
            &self.listing_path(sku),
            &q,
            Some(&body),
            Credential::Lwa,
            Some(&format!("amazon/listings/{sku}")),
            // Listings writes replace the SKU's state: repeating one is harmless.
            true,
        )
        .await
    }

    /// `patchListingsItem` (`mode=VALIDATION_PREVIEW` when `preview`).
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn patch_listings_item(
        &self,
        sku: &str,
        marketplace_id: &str,
        body: &wire::ListingsItemPatchRequest,
        preview: bool,
    ) -> Result<Parsed<wire::ListingsItemSubmissionResponse>> {
        let q = listing_write_query(marketplace_id, preview);
        let body = serde_json::to_value(body)?;
        self.call_json(
            limits::PATCH_LISTINGS_ITEM,
            Method::PATCH,
            &self.listing_path(sku),
            &q,
            Some(&body),
            Credential::Lwa,
            Some(&format!("amazon/listings/{sku}")),
            true,
        )
        .await
    }

    // ---- Sellers ------------------------------------------------------------------------------

    /// `getMarketplaceParticipations`.
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn get_marketplace_participations(&self) -> Result<wire::MarketplaceParticipations> {
        let p: Parsed<wire::MarketplaceParticipations> = self
            .call_json(
                limits::GET_MARKETPLACE_PARTICIPATIONS,
                Method::GET,
                "/sellers/v1/marketplaceParticipations",
                &[],
                None,
                Credential::Lwa,
                None,
                true,
            )
            .await?;
        Ok(p.value)
    }

    /// Sends any other SP-API call through the kernel with the seller's LWA token (for operations
    /// this crate does not wrap). `op` names the bucket; give it a quota with
    /// `self.http().limits().set_quota(op, …)`.
    ///
    /// # Errors
    /// Kernel errors.
    pub async fn send_raw<B: Serialize>(
        &self,
        op: &str,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&B>,
    ) -> Result<Response> {
        let body = body.map(serde_json::to_value).transpose()?;
        let idempotent = method != Method::POST;
        let req = self.build_request(op, method, path, query, body.as_ref())?;
        self.send(op, req, Credential::Lwa, None, idempotent).await
    }
}

fn listing_write_query(marketplace_id: &str, preview: bool) -> Vec<(String, String)> {
    let mut q = vec![
        ("marketplaceIds".to_string(), marketplace_id.to_string()),
        ("includedData".to_string(), "identifiers,issues".to_string()),
    ];
    if preview {
        q.push(("mode".into(), "VALIDATION_PREVIEW".into()));
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_skus_and_times() {
        assert_eq!(encode_segment("EMTEC 1 GB"), "EMTEC%201%20GB");
        assert_eq!(encode_segment("a/b#c+d"), "a%2Fb%23c%2Bd");
        assert_eq!(encode_segment("NX-HD_1.2~"), "NX-HD_1.2~");
        let t = DateTime::parse_from_rfc3339("2026-06-01T10:00:00+02:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(amazon_time(t), "2026-06-01T08:00:00Z");
        assert!(parse_amazon_time("").is_none());
        assert!(parse_amazon_time("2019-05-07T15:42:57.058Z").is_some());
    }

    #[test]
    fn reports_next_token_goes_alone() {
        assert_eq!(
            ReportsQuery::Next("a+b".into()).pairs(),
            vec![("nextToken".to_string(), "a+b".to_string())]
        );
        let q = SearchOrdersQuery {
            last_updated_after: Some("2026-01-01T00:00:00Z".into()),
            marketplace_ids: vec!["A".into(), "B".into()],
            ..Default::default()
        };
        assert_eq!(q.pairs()[1], ("marketplaceIds".into(), "A,B".into()));
    }
}
