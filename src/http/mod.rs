//! The transport kernel every client sends through.
//!
//! One path for every call: acquire a token from the operation's rate bucket → attach auth
//! (OAuth 1.0a signature, bearer, `x-amz-access-token`) → send → classify the answer with the
//! system's [`Classify`] → sleep with full-jitter exponential backoff honouring `Retry-After`
//! (bounded by an attempt cap and a shared [`RetryBudget`]), or refresh auth **once** and retry →
//! give up with a typed [`Error`] that names the operation, the status, the provider's request id
//! and the record.
//!
//! A non-idempotent call (POST/PUT) is never re-sent after it may have reached the server: a
//! timeout or a 5xx after sending becomes [`Error::Ambiguous`], and the sink checks with `find`
//! before anything is posted again. Throttling (429) and refused connections are safe to retry.
//!
//! Pagination is a lazy stream ([`paginate`]) guarded against repeated tokens and identical pages.

mod bearer;
mod classify;
mod encode;
pub mod oauth;
mod paginate;
mod rate;
mod retry;
mod token;

pub use bearer::{BearerAuth, TokenSource};
pub use classify::{
    Classification, Classify, DefaultClassifier, FailKind, FailReason, body_message,
    parse_retry_after,
};
pub use encode::percent_encode;
pub use paginate::{PageOf, paginate};
pub use rate::{BucketKey, Quota, RateLimits};
pub use retry::{RetryBudget, RetryPolicy};
pub use token::{AccessToken, TokenCache};

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tracing::Instrument;

use crate::core::redact_text;
use crate::error::{Context, Error, ErrorKind, Result};

/// Signs or authorises a request, and refreshes the credential when the server says it expired.
#[async_trait]
pub trait AuthHook: Send + Sync {
    /// Adds the signature or token to `req` (called before every attempt).
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()>;

    /// The server rejected `rejected` as unauthenticated: obtain a fresh credential. Called at
    /// most once per call.
    async fn refresh(&self, rejected: &reqwest::Request) -> Result<()>;
}

/// An answer that the classifier accepted.
#[derive(Debug, Clone)]
pub struct Response {
    /// The operation.
    pub op: String,
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Bytes,
    /// The provider's request id, if any.
    pub request_id: Option<String>,
    /// How many attempts the call took.
    pub attempts: u32,
}

impl Response {
    /// Parses the body as JSON.
    ///
    /// # Errors
    /// A permanent [`Error::Http`] naming the operation when the body is not the expected JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Http {
            ctx: self.context().into(),
            message: format!("response is not the expected JSON: {e}"),
            kind: ErrorKind::Permanent,
            retry_after: None,
        })
    }

    /// The body as UTF-8 text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error context of this answer.
    pub fn context(&self) -> Context {
        Context {
            op: self.op.clone(),
            status: Some(self.status.as_u16()),
            request_id: self.request_id.clone(),
            record: None,
        }
    }
}

struct Inner {
    system: &'static str,
    http: reqwest::Client,
    retry: RetryPolicy,
    budget: Arc<RetryBudget>,
    limits: RateLimits,
}

/// The shared HTTP client of one system (cheap to clone).
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("system", &self.inner.system)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// Builds an [`HttpClient`].
#[derive(Debug)]
pub struct HttpClientBuilder {
    system: &'static str,
    http: Option<reqwest::Client>,
    user_agent: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
    budget: Option<Arc<RetryBudget>>,
}

impl HttpClientBuilder {
    /// Uses a host-provided `reqwest::Client` (proxies, TLS roots, timeouts are then the host's).
    pub fn reqwest(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Sets the `User-Agent` of the built-in client.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }

    /// Per-request timeout of the built-in client (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The retry policy (attempt cap, delays).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Shares a retry budget with other clients (default: one budget per client).
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] when the TLS backend cannot be initialised.
    pub fn build(self) -> Result<HttpClient> {
        let http = match self.http {
            Some(c) => c,
            None => reqwest::Client::builder()
                .user_agent(self.user_agent.unwrap_or_else(default_user_agent))
                .timeout(self.timeout)
                .connect_timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| Error::config("http", format!("cannot build the HTTP client: {e}")))?,
        };
        Ok(HttpClient {
            inner: Arc::new(Inner {
                system: self.system,
                http,
                retry: self.retry,
                budget: self.budget.unwrap_or_default(),
                limits: RateLimits::new(),
            }),
        })
    }
}

/// `ml-connector/<version> (Language=Rust)`.
pub fn default_user_agent() -> String {
    format!("ml-connector/{} (Language=Rust)", env!("CARGO_PKG_VERSION"))
}

impl HttpClient {
    /// A builder for `system` (`adobe`, `amazon`, `qad`: used in logs and errors).
    pub fn builder(system: &'static str) -> HttpClientBuilder {
        HttpClientBuilder {
            system,
            http: None,
            user_agent: None,
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            budget: None,
        }
    }

    /// The underlying `reqwest::Client`, to build requests with.
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The rate buckets of this client.
    pub fn limits(&self) -> &RateLimits {
        &self.inner.limits
    }

    /// The retry budget of this client.
    pub fn budget(&self) -> &Arc<RetryBudget> {
        &self.inner.budget
    }

    /// The system name.
    pub fn system(&self) -> &'static str {
        self.inner.system
    }

    /// Starts a call of operation `op` (also the rate bucket's operation name).
    pub fn call<'a>(&'a self, op: &'a str, request: reqwest::Request) -> Call<'a> {
        Call {
            client: self,
            op,
            request,
            account: String::new(),
            auth: None,
            classifier: &DefaultClassifier,
            idempotent: None,
            record: None,
        }
    }
}

/// One call being configured; [`Call::send`] runs it through the kernel.
pub struct Call<'a> {
    client: &'a HttpClient,
    op: &'a str,
    request: reqwest::Request,
    account: String,
    auth: Option<&'a dyn AuthHook>,
    classifier: &'a dyn Classify,
    idempotent: Option<bool>,
    record: Option<String>,
}

impl<'a> Call<'a> {
    /// The account part of the rate bucket key (seller + region, tenant, store).
    pub fn bucket_account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    /// Authorises every attempt with `auth`.
    pub fn auth(mut self, auth: &'a dyn AuthHook) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Classifies answers with `classifier` (default [`DefaultClassifier`]).
    pub fn classifier(mut self, classifier: &'a dyn Classify) -> Self {
        self.classifier = classifier;
        self
    }

    /// Whether the call may be re-sent after it possibly reached the server (default: `true` for
    /// GET, HEAD, OPTIONS, PUT and DELETE; `false` for POST and PATCH).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// The record the call is for, named in errors.
    pub fn record(mut self, record: impl std::fmt::Display) -> Self {
        self.record = Some(record.to_string());
        self
    }

    /// Runs the call: rate bucket → auth → send → classify → backoff / refresh once → result.
    ///
    /// # Errors
    /// Typed errors naming the operation, status, request id and record.
    pub async fn send(self) -> Result<Response> {
        let span = tracing::debug_span!("http", system = self.client.inner.system, op = self.op);
        self.run().instrument(span).await
    }

    async fn run(self) -> Result<Response> {
        let inner = &self.client.inner;
        let key = BucketKey::new(self.account.clone(), self.op);
        let idempotent = self.idempotent.unwrap_or_else(|| {
            !matches!(
                *self.request.method(),
                reqwest::Method::POST | reqwest::Method::PATCH
            )
        });
        let mut ctx = Context {
            op: format!("{}.{}", inner.system, self.op),
            record: self.record.clone(),
            ..Context::default()
        };
        let mut delays = inner.retry.ceilings();
        let mut refreshed = false;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            inner.limits.acquire(&key).await;
            let mut req = self.request.try_clone().ok_or_else(|| Error::Unsupported {
                ctx: ctx.clone().into(),
                message: "streaming request bodies cannot be retried; send a buffered body".into(),
            })?;
            if let Some(auth) = self.auth {
                auth.authorize(&mut req)
                    .await
                    .map_err(|e| e.with_record(ctx.record.as_deref().unwrap_or("")))?;
            }
            let refresh_template = if self.auth.is_some() {
                req.try_clone()
            } else {
                None
            };
            tracing::trace!(attempt, method = %req.method(), "sending");
            // Why the attempt failed, when it may be retried.
            let (message, retry_after, throttled) = match inner.http.execute(req).await {
                Err(e) => {
                    let message = redact_text(&e.to_string());
                    let sent = !(e.is_connect() || e.is_builder());
                    if sent && !idempotent {
                        return Err(Error::Ambiguous {
                            ctx: ctx.into(),
                            message: format!(
                                "{message}; the request may have been processed — check before re-sending"
                            ),
                        });
                    }
                    ctx.status = None;
                    (format!("transport error: {message}"), None, false)
                }
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    ctx.status = Some(status.as_u16());
                    ctx.request_id = self.classifier.request_id(&headers);
                    let body = match resp.bytes().await {
                        Ok(b) => b,
                        Err(e) if idempotent => {
                            let m = redact_text(&e.to_string());
                            self.backoff(
                                &mut delays,
                                attempt,
                                &ctx,
                                &format!("reading the body failed: {m}"),
                                None,
                                false,
                            )
                            .await?;
                            continue;
                        }
                        Err(e) => {
                            return Err(Error::Ambiguous {
                                ctx: ctx.into(),
                                message: format!(
                                    "reading the answer failed: {}",
                                    redact_text(&e.to_string())
                                ),
                            });
                        }
                    };
                    if let Some(rate) = self.classifier.rate_limit(&headers) {
                        inner.limits.observe_rate(&key, rate);
                    }
                    match self.classifier.classify(status, &headers, &body) {
                        Classification::Success => {
                            inner.budget.refund();
                            inner.limits.succeeded(&key);
                            return Ok(Response {
                                op: ctx.op,
                                status,
                                headers,
                                body,
                                request_id: ctx.request_id,
                                attempts: attempt,
                            });
                        }
                        Classification::Retry { after, throttled } => {
                            if throttled {
                                inner.limits.throttled(&key);
                            }
                            let message = self.classifier.error_message(status, &body);
                            if !throttled && !idempotent {
                                return Err(Error::Ambiguous {
                                    ctx: ctx.into(),
                                    message: format!(
                                        "{message}; the request may have been processed — check before re-sending"
                                    ),
                                });
                            }
                            (message, after, throttled)
                        }
                        Classification::RefreshAuthThenRetry => {
                            let message = self.classifier.error_message(status, &body);
                            match (self.auth, refreshed, refresh_template) {
                                (Some(auth), false, Some(template)) => {
                                    tracing::debug!("credential rejected; refreshing once");
                                    auth.refresh(&template).await?;
                                    refreshed = true;
                                    continue;
                                }
                                _ => {
                                    return Err(Error::Auth {
                                        ctx: ctx.into(),
                                        message: format!(
                                            "{message} (still rejected after one credential refresh)"
                                        ),
                                        permanent: false,
                                    });
                                }
                            }
                        }
                        Classification::Fail(reason) => return Err(reason.into_error(ctx)),
                    }
                }
            };
            self.backoff(&mut delays, attempt, &ctx, &message, retry_after, throttled)
                .await?;
        }
    }

    /// Sleeps before the next attempt, or gives up (attempt cap, retry budget).
    async fn backoff(
        &self,
        delays: &mut retry::Ceilings,
        attempt: u32,
        ctx: &Context,
        message: &str,
        retry_after: Option<Duration>,
        throttled: bool,
    ) -> Result<()> {
        let inner = &self.client.inner;
        if attempt >= inner.retry.max_attempts {
            return Err(Error::RetriesExhausted {
                ctx: ctx.clone().into(),
                attempts: attempt,
                message: message.to_string(),
            });
        }
        if !inner.budget.withdraw(throttled) {
            return Err(Error::RetriesExhausted {
                ctx: ctx.clone().into(),
                attempts: attempt,
                message: format!(
                    "{message}; retry budget exhausted (too many failures across calls)"
                ),
            });
        }
        let delay = inner.retry.next_delay(delays, retry_after);
        tracing::warn!(op = %ctx.op, status = ?ctx.status, attempt, delay_ms = delay.as_millis() as u64, "{message}; retrying");
        tokio::time::sleep(delay).await;
        Ok(())
    }
}
