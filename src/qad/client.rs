//! The QAD REST client: business components (`api/erp/…`) and browses
//! (`api/qracore/browses`), sent through the transport kernel.
//!
//! Every request carries `Accept: application/json`, the tenant's `x-qad-workspace-id` and
//! `Accept-Language` when configured, and the auth header from [`QadAuth`]. Query strings are
//! built here from typed values only (URL-encoded by `reqwest`); registry paths never carry one.

use std::sync::Arc;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use http::{HeaderValue, Method};
use serde_json::{Map, Value};

use super::auth::QadAuth;
use super::classify::{ProbeClassifier, QadClassifier};
use super::config::QadConfig;
use super::registry::{BrowseDef, ComponentDef};
use super::wire::{BrowsePage, Envelope, QadMessage, is_qad_json, summarize};
use crate::core::EntityAccess;
use crate::error::{Context, Error, Result};
use crate::http::{HttpClient, PageOf, RetryPolicy, paginate};

/// A browse row: flat dotted keys.
pub type Row = Map<String, Value>;

/// A browse filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// equals
    Eq,
    /// starts with
    StartsWith,
    /// contains
    Contains,
    /// greater or equal
    Ge,
    /// less or equal
    Le,
}

impl FilterOp {
    fn as_str(self) -> &'static str {
        match self {
            FilterOp::Eq => "eq",
            FilterOp::StartsWith => "sw",
            FilterOp::Contains => "cn",
            FilterOp::Ge => "ge",
            FilterOp::Le => "le",
        }
    }
}

/// One browse filter: `filter=<field>,<op>,<value>,literal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Browse field.
    pub field: String,
    /// Operator.
    pub op: FilterOp,
    /// Value (no commas: QAD's filter syntax has no escape).
    pub value: String,
}

impl Filter {
    /// `field eq value`.
    pub fn eq(field: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            op: FilterOp::Eq,
            value: value.into(),
        }
    }

    fn encode(&self) -> Result<String> {
        if self.value.contains(',') {
            return Err(Error::data(
                &self.value,
                format!(
                    "cannot filter QAD browse field {} on a value containing `,`",
                    self.field
                ),
                "use identifiers without commas for QAD keys and references",
            ));
        }
        Ok(format!(
            "{},{},{},literal",
            self.field,
            self.op.as_str(),
            self.value
        ))
    }
}

/// What a probe of one component found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The verdict.
    pub access: EntityAccess,
    /// HTTP status of the answer.
    pub status: u16,
}

/// The client (cheap to clone).
#[derive(Clone)]
pub struct QadClient {
    http: HttpClient,
    cfg: Arc<QadConfig>,
    auth: Arc<QadAuth>,
    account: String,
}

impl std::fmt::Debug for QadClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QadClient")
            .field("base_url", &self.cfg.base_url().as_str())
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl QadClient {
    /// A client for `cfg` with the default retry policy.
    ///
    /// # Errors
    /// [`Error::Config`] when the HTTP client or the credentials cannot be set up.
    pub fn new(cfg: Arc<QadConfig>) -> Result<Self> {
        Self::with_retry(cfg, RetryPolicy::default())
    }

    /// A client with an explicit retry policy (tests shorten the delays).
    ///
    /// # Errors
    /// As [`QadClient::new`].
    pub fn with_retry(cfg: Arc<QadConfig>, retry: RetryPolicy) -> Result<Self> {
        let reqwest = reqwest::Client::builder()
            .user_agent(crate::http::default_user_agent())
            .connect_timeout(cfg.connect_timeout())
            .timeout(cfg.request_timeout())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::config("qad", format!("cannot build the HTTP client: {e}")))?;
        let http = HttpClient::builder("qad")
            .reqwest(reqwest)
            .retry(retry)
            .build()?;
        let auth = Arc::new(QadAuth::new(&cfg)?);
        let account = format!(
            "{}{}",
            cfg.base_url().host_str().unwrap_or_default(),
            cfg.base_url().path()
        );
        Ok(Self {
            http,
            cfg,
            auth,
            account,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &QadConfig {
        &self.cfg
    }

    /// The auth hook.
    pub fn auth(&self) -> &QadAuth {
        &self.auth
    }

    /// The kernel client (rate limits, retry budget).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<reqwest::Request> {
        let url = self.cfg.url(path);
        let mut b = self.http.reqwest().request(method, url).header(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        if !query.is_empty() {
            b = b.query(query);
        }
        if let Some(ws) = self.cfg.workspace_id() {
            b = b.header("x-qad-workspace-id", ws);
        }
        if let Some(lang) = self.cfg.accept_language() {
            b = b.header(http::header::ACCEPT_LANGUAGE, lang);
        }
        if let Some(body) = body {
            b = b
                .header(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )
                .body(serde_json::to_vec(body)?);
        }
        b.build().map_err(|e| Error::Transport {
            ctx: Context::op(format!("qad.{path}")).into(),
            message: format!("cannot build the request: {e}"),
        })
    }

    async fn send(
        &self,
        op: &str,
        req: reqwest::Request,
        idempotent: bool,
        record: &str,
    ) -> Result<(Value, Context)> {
        let resp = self
            .http
            .call(op, req)
            .bucket_account(self.account.clone())
            .auth(&*self.auth)
            .classifier(&QadClassifier)
            .idempotent(idempotent)
            .record(record)
            .send()
            .await?;
        let ctx = Context {
            record: Some(record.to_string()),
            ..resp.context()
        };
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok((Value::Object(Map::new()), ctx));
        }
        let v: Value = resp.json()?;
        Ok((v, ctx))
    }

    /// `GET {path}?{query}` → JSON (retried on 5xx/transport: reads are idempotent).
    ///
    /// # Errors
    /// Kernel errors; [`Error::Rejected`] with QAD's messages.
    pub async fn get(
        &self,
        op: &str,
        path: &str,
        query: &[(&str, String)],
        record: &str,
    ) -> Result<Value> {
        let req = self.request(Method::GET, path, query, None)?;
        Ok(self.send(op, req, true, record).await?.0)
    }

    /// `POST {path}?{query}` with a JSON body → `(answer, QAD warnings)`.
    ///
    /// `idempotent = false` for creates and commits: a timeout or 5xx after sending becomes
    /// [`Error::Ambiguous`] and nothing is re-sent here. Validation calls and keyed updates may
    /// pass `true`.
    ///
    /// # Errors
    /// Kernel errors; [`Error::Rejected`] with QAD's field names and messages for
    /// `submitResult.success=false`.
    pub async fn post(
        &self,
        op: &str,
        path: &str,
        query: &[(&str, String)],
        body: &Value,
        idempotent: bool,
        record: &str,
    ) -> Result<(Value, Vec<QadMessage>)> {
        let req = self.request(Method::POST, path, query, Some(body))?;
        let (v, ctx) = self.send(op, req, idempotent, record).await?;
        match Envelope::of(&v) {
            Envelope::Ok { warnings } => Ok((v, warnings)),
            Envelope::Rejected { errors } | Envelope::Gateway { errors } => Err(Error::Rejected {
                ctx: ctx.into(),
                message: format!("QAD rejected the request: {}", summarize(&errors)),
                issues: errors.iter().map(QadMessage::to_issue).collect(),
            }),
        }
    }

    /// Creates a record: `POST {path}?viewUri={view_uri}` with `body`, never re-sent after it
    /// may have reached QAD (see [`QadClient::post`]).
    ///
    /// # Errors
    /// As [`QadClient::post`].
    pub async fn create(
        &self,
        c: &ComponentDef,
        body: &Value,
        record: &str,
    ) -> Result<(Value, Vec<QadMessage>)> {
        self.post(
            &format!("{}.post", c.collection),
            &c.path,
            &[("viewUri", c.view_uri.clone())],
            body,
            false,
            record,
        )
        .await
    }

    /// Keyed read of a component: `GET {path}?{k1}={v1}&…&viewUri={view_uri}` → the records.
    ///
    /// # Errors
    /// As [`QadClient::get`].
    pub async fn get_records(
        &self,
        c: &ComponentDef,
        keys: &[&str],
        extra: &[(&str, String)],
        record: &str,
    ) -> Result<Vec<Value>> {
        let mut q: Vec<(&str, String)> = c
            .key_params
            .iter()
            .map(String::as_str)
            .zip(keys.iter().map(|k| (*k).to_string()))
            .collect();
        q.extend(extra.iter().cloned());
        q.push(("viewUri", c.view_uri.clone()));
        let v = self
            .get(&format!("{}.get", c.collection), &c.path, &q, record)
            .await?;
        Ok(super::wire::records(&v, &c.collection).to_vec())
    }

    /// One browse page.
    ///
    /// # Errors
    /// As [`QadClient::get`]; [`Error::Data`] for a malformed page.
    pub async fn browse_page(
        &self,
        browse: &BrowseDef,
        filters: &[Filter],
        page: u32,
        page_size: u32,
        call_id: &str,
        record: &str,
    ) -> Result<BrowsePage> {
        let mut q: Vec<(&str, String)> = vec![
            ("browseId", browse.id.clone()),
            ("page", page.to_string()),
            ("pageSize", page_size.to_string()),
            (
                "pageAction",
                if page <= 1 { "first" } else { "next" }.to_string(),
            ),
            ("callId", call_id.to_string()),
        ];
        for f in filters {
            q.push(("filter", f.encode()?));
        }
        if !browse.fields.is_empty() {
            let mut fields: Vec<&str> = browse.fields.values().map(String::as_str).collect();
            fields.sort_unstable();
            fields.dedup();
            q.push(("fields", fields.join(",")));
        }
        let v = self
            .get("browses", "api/qracore/browses", &q, record)
            .await?;
        BrowsePage::parse(&format!("qad.browses {}", browse.id), &v)
    }

    /// All rows of a browse, page by page until an empty page (the kernel's guarded
    /// pagination: a repeated page stops the stream).
    pub fn browse<'a>(
        &'a self,
        browse: &'a BrowseDef,
        filters: Vec<Filter>,
        record: String,
    ) -> BoxStream<'a, Result<Row>> {
        let call_id = uuid::Uuid::new_v4().to_string();
        let page_size = self.cfg.page_size();
        let filters = Arc::new(filters);
        let record = Arc::new(record);
        paginate("browses", Some("1".to_string()), move |token| {
            let filters = filters.clone();
            let record = record.clone();
            let call_id = call_id.clone();
            async move {
                let page: u32 = token.as_deref().unwrap_or("1").parse().unwrap_or(1);
                let p = self
                    .browse_page(browse, &filters, page, page_size, &call_id, &record)
                    .await?;
                let next = (!p.rows.is_empty()).then(|| (page + 1).to_string());
                Ok(PageOf {
                    items: p.rows,
                    next,
                })
            }
        })
        .map_ok(|page| futures::stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// Rows of a browse matching `filters` (at most `limit`).
    ///
    /// # Errors
    /// As [`QadClient::browse_page`].
    pub async fn browse_rows(
        &self,
        browse: &BrowseDef,
        filters: Vec<Filter>,
        limit: usize,
        record: &str,
    ) -> Result<Vec<Row>> {
        self.browse(browse, filters, record.to_string())
            .take(limit)
            .try_collect()
            .await
    }

    /// Probes a component at connect time: keyed `GET` with placeholder keys.
    ///
    /// QAD JSON (found or not, even `success:false`) → available; HTML, 404 or 405 → unavailable;
    /// 403 → forbidden; another 4xx → unavailable with QAD's message (e.g. an unknown view URI).
    ///
    /// # Errors
    /// Authentication failures and exhausted retries (the instance is not usable at all).
    pub async fn probe(&self, path: &str, view_uri: &str, key_params: &[String]) -> Result<Probe> {
        let mut q: Vec<(&str, String)> = key_params
            .iter()
            .map(|k| (k.as_str(), "__probe__".to_string()))
            .collect();
        if !view_uri.is_empty() {
            q.push(("viewUri", view_uri.to_string()));
        }
        let req = self.request(Method::GET, path, &q, None)?;
        let resp = self
            .http
            .call("probe", req)
            .bucket_account(self.account.clone())
            .auth(&*self.auth)
            .classifier(&ProbeClassifier)
            .idempotent(true)
            .record(path)
            .send()
            .await?;
        let status = resp.status.as_u16();
        let json: Option<Value> = serde_json::from_slice(&resp.body).ok();
        let snippet = || {
            let t = resp.text();
            let t: String = t.trim().chars().take(120).collect();
            crate::core::redact_text(&t)
        };
        let access = match status {
            200..=299 => match &json {
                Some(v) if is_qad_json(v) => EntityAccess::Available,
                Some(_) => EntityAccess::Unavailable(format!(
                    "{path} answered JSON that is not a QAD envelope (no data/submitResult/errors)"
                )),
                None => EntityAccess::Unavailable(format!(
                    "{path} answered HTTP {status} with HTML/non-JSON ({}) instead of QAD JSON: wrong path or context root",
                    snippet()
                )),
            },
            403 => EntityAccess::Forbidden(format!(
                "{path} answered 403 for {view_uri}: the API user's role lacks this business component ({})",
                json.as_ref()
                    .map(|v| match Envelope::of(v) {
                        Envelope::Gateway { errors } | Envelope::Rejected { errors } =>
                            summarize(&errors),
                        Envelope::Ok { .. } => snippet(),
                    })
                    .unwrap_or_else(snippet)
            )),
            404 | 405 => EntityAccess::Unavailable(format!(
                "{path} answered HTTP {status}: the component does not exist at this path on this instance"
            )),
            _ => EntityAccess::Unavailable(format!(
                "{path} answered HTTP {status}: {}",
                json.as_ref()
                    .map(|v| match Envelope::of(v) {
                        Envelope::Gateway { errors } | Envelope::Rejected { errors } =>
                            summarize(&errors),
                        Envelope::Ok { .. } => snippet(),
                    })
                    .unwrap_or_else(snippet)
            )),
        };
        Ok(Probe { access, status })
    }

    /// The fields a browse offers according to the field-lookup browse
    /// (`urn:browse:custom:lookupBrowseFields`). Empty when the lookup browse is unknown on the
    /// instance (QAD answers unknown browses with zero rows).
    ///
    /// # Errors
    /// As [`QadClient::browse_page`].
    pub async fn browse_fields(&self, lookup: &BrowseDef, browse_id: &str) -> Result<Vec<String>> {
        let uri_field = lookup.field("browse").unwrap_or("browseURI");
        let field_field = lookup.field("field").unwrap_or("field");
        let unprojected = BrowseDef {
            id: lookup.id.clone(),
            fields: Default::default(),
        };
        let rows = self
            .browse_rows(
                &unprojected,
                vec![Filter::eq(uri_field, browse_id)],
                2000,
                browse_id,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                r.get(field_field)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect())
    }
}

/// `true` when `e` says the outcome of a write is unknown.
pub fn is_ambiguous(e: &Error) -> bool {
    matches!(e, Error::Ambiguous { .. })
}
