//! The Adobe Commerce REST client: store scoping, the response classifier, and guarded offset
//! paging — all through the shared transport kernel.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use http::{HeaderMap, StatusCode};
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::auth::auth_hook;
use super::config::{AdobeConfig, Credentials, Deployment};
use super::search::SearchCriteria;
use super::wire::{ErrorBody, SearchResult};
use crate::error::{Error, Result};
use crate::http::{
    AuthHook, Classification, Classify, FailKind, HttpClient, PageOf, body_message, paginate,
};

/// Classifies Adobe Commerce answers (reference §2.1, §6).
///
/// * 2xx success; 429 throttled (honouring `Retry-After`); 408/500/502/503/504 retried.
/// * 401: "The signature is invalid" and "consumer isn't authorized" are permanent (a retry
///   cannot fix a wrong secret or a missing ACL resource); other 401s (nonce collision, expired
///   IMS token) refresh the credential once.
/// * 400 "Signature method … not supported", timestamp and OAuth version errors are permanent
///   auth errors with the fix; other 4xx are rejections (403: permission denied).
#[derive(Debug, Clone, Copy, Default)]
pub struct AdobeClassifier {
    /// Requests are OAuth 1.0a signed (affects the advice in messages).
    pub oauth1: bool,
}

impl AdobeClassifier {
    fn message(&self, status: StatusCode, body: &[u8]) -> String {
        match serde_json::from_slice::<ErrorBody>(body)
            .ok()
            .and_then(|b| b.rendered())
        {
            Some(m) => format!(
                "HTTP {} {}: {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or(""),
                crate::core::redact_text(&m)
            ),
            None => body_message(status, body),
        }
    }
}

impl Classify for AdobeClassifier {
    fn classify(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Classification {
        let code = status.as_u16();
        match code {
            200..=299 => Classification::Success,
            429 => Classification::throttled(headers),
            408 | 500 | 502 | 503 | 504 => Classification::transient(headers),
            401 => {
                let m = self.message(status, body);
                let lower = m.to_ascii_lowercase();
                if lower.contains("signature is invalid") {
                    Classification::fail(
                        FailKind::Auth { permanent: true },
                        format!(
                            "{m} — check adobe.oauth1 consumer secret and access token secret, and that the store sees the same scheme/host/port the connector calls (HTTPS offloading at a proxy breaks signatures)"
                        ),
                    )
                } else if lower.contains("isn't authorized") || lower.contains("not authorized") {
                    Classification::fail(
                        FailKind::PermissionDenied,
                        format!(
                            "{m} — grant the integration the resource (Magento_Sales::actions_view for sales, Magento_Customer::customer, Magento_Catalog::products, the B2B company resources){}",
                            if self.oauth1 {
                                ""
                            } else {
                                "; a bare integration token as Bearer also needs oauth/consumer/enable_integration_as_bearer=1"
                            }
                        ),
                    )
                } else if lower.contains("consumer key") || lower.contains("token is not") {
                    Classification::fail(
                        FailKind::Auth { permanent: true },
                        format!("{m} — re-activate the integration and copy its four values again"),
                    )
                } else {
                    Classification::RefreshAuthThenRetry
                }
            }
            403 => Classification::fail(
                FailKind::PermissionDenied,
                format!(
                    "{} — on the Cloud Service check adobe.ims.org_id and the project's product profile",
                    self.message(status, body)
                ),
            ),
            400 => {
                let m = self.message(status, body);
                let lower = m.to_ascii_lowercase();
                if lower.contains("signature method") {
                    Classification::fail(
                        FailKind::Auth { permanent: true },
                        format!(
                            "{m} — Adobe Commerce 2.4.4 and later accept only HMAC-SHA256; remove signature_method = HMAC-SHA1"
                        ),
                    )
                } else if lower.contains("timestamp") || lower.contains("oauth version") {
                    Classification::fail(
                        FailKind::Auth { permanent: true },
                        format!("{m} — synchronise this machine's clock (NTP)"),
                    )
                } else if lower.contains("pagesize") {
                    Classification::fail(FailKind::Rejected, format!("{m} — lower adobe.page_size"))
                } else {
                    Classification::fail(FailKind::Rejected, m)
                }
            }
            402 | 404..=499 => Classification::fail(FailKind::Rejected, self.message(status, body)),
            _ => Classification::fail(FailKind::Other, self.message(status, body)),
        }
    }

    fn error_message(&self, status: StatusCode, body: &[u8]) -> String {
        self.message(status, body)
    }
}

/// An Adobe Commerce REST client bound to one store (cheap to clone).
#[derive(Clone)]
pub struct AdobeClient {
    cfg: Arc<AdobeConfig>,
    http: HttpClient,
    auth: Arc<dyn AuthHook>,
    classifier: AdobeClassifier,
    store_header: Option<HeaderValue>,
}

impl std::fmt::Debug for AdobeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdobeClient")
            .field("base_url", &self.cfg.base_url.as_str())
            .field("store_code", &self.cfg.store_code)
            .field("deployment", &self.cfg.deployment)
            .finish_non_exhaustive()
    }
}

/// Every operation name the client uses (the rate bucket operations).
pub const OPERATIONS: [&str; 8] = [
    "orders",
    "invoices",
    "creditmemos",
    "customers",
    "companies",
    "products",
    "order",
    "search",
];

impl AdobeClient {
    /// A client for `cfg`.
    ///
    /// # Errors
    /// [`Error::Config`] when the HTTP client or a credential header cannot be built.
    pub fn new(cfg: AdobeConfig) -> Result<Self> {
        let mut b = HttpClient::builder("adobe")
            .retry(cfg.retry.clone())
            .timeout(cfg.timeout);
        if let Some(h) = &cfg.http {
            b = b.reqwest(h.clone());
        }
        let http = b.build()?;
        if let Some(q) = cfg.rate {
            for op in OPERATIONS {
                http.limits().set_quota(op, q);
            }
        }
        let auth = auth_hook(&cfg.credentials)?;
        let store_header = match cfg.deployment {
            Deployment::CloudService => {
                Some(HeaderValue::from_str(&cfg.store_code).map_err(|_| {
                    Error::config("adobe.store_code", "cannot go into the `Store` header")
                })?)
            }
            Deployment::Paas => None,
        };
        Ok(Self {
            classifier: AdobeClassifier {
                oauth1: matches!(cfg.credentials, Credentials::OAuth1 { .. }),
            },
            cfg: Arc::new(cfg),
            http,
            auth,
            store_header,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AdobeConfig {
        &self.cfg
    }

    /// The transport kernel client (rate limits, retry budget).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// `GET resource?query` through the kernel: store scope, auth, classification, retries.
    /// `query` must already be RFC 3986-encoded (see [`encode_pairs`](super::search::encode_pairs)).
    ///
    /// # Errors
    /// The kernel's typed errors, naming `op` and `record`.
    pub async fn get(
        &self,
        op: &str,
        resource: &str,
        query: Option<&str>,
        record: Option<&str>,
    ) -> Result<crate::http::Response> {
        let mut url = self.cfg.resource_url(resource)?;
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            url.set_query(Some(q));
        }
        let mut req = reqwest::Request::new(reqwest::Method::GET, url);
        req.headers_mut().insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        if let Some(store) = &self.store_header {
            req.headers_mut()
                .insert(HeaderName::from_static("store"), store.clone());
        }
        let mut call = self
            .http
            .call(op, req)
            .bucket_account(self.cfg.base_url.as_str())
            .auth(&*self.auth)
            .classifier(&self.classifier)
            .idempotent(true);
        if let Some(r) = record {
            call = call.record(r);
        }
        call.send().await
    }

    /// One `searchCriteria` request against a list resource (`V1/orders`, `V1/company/`, …).
    ///
    /// # Errors
    /// [`Error::Config`] for invalid criteria; the kernel's errors otherwise; a permanent
    /// [`Error::Http`] when the answer is not a search result.
    pub async fn search(
        &self,
        op: &str,
        resource: &str,
        criteria: &SearchCriteria,
    ) -> Result<SearchResult> {
        let q = criteria.to_query()?;
        let resp = self.get(op, resource, Some(&q), None).await?;
        resp.json::<SearchResult>()
    }

    /// One object by path (`V1/orders/3`); `Ok(None)` on 404.
    ///
    /// # Errors
    /// The kernel's errors other than 404.
    pub async fn get_object(
        &self,
        op: &str,
        resource: &str,
        record: &str,
    ) -> Result<Option<Value>> {
        match self.get(op, resource, None, Some(record)).await {
            Ok(resp) => Ok(Some(resp.json::<Value>()?)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every page of a search, by `currentPage`, lazily. Stops when
    /// `currentPage × pageSize ≥ total_count`, on an empty page, or on a page identical to the
    /// previous one (stores before 2.4 repeat the last page forever).
    ///
    /// Offset paging over data that changes while it is read can skip or repeat rows (§4.2):
    /// use it for listings, not for incremental sync (the source's keyset loop does that).
    pub fn search_pages<'a>(
        &'a self,
        op: &'a str,
        resource: &'a str,
        criteria: SearchCriteria,
    ) -> BoxStream<'a, Result<PageOf<Value>>> {
        let first = criteria.current_page.max(1).to_string();
        paginate(op, Some(first), move |token| {
            let page: u32 = token.and_then(|t| t.parse().ok()).unwrap_or(1);
            let c = criteria.clone().page(page);
            async move {
                let res = self.search(op, resource, &c).await?;
                let seen = u64::from(page) * u64::from(c.page_size);
                let more = match res.total_count {
                    Some(total) => seen < u64::try_from(total.max(0)).unwrap_or(0),
                    // A projection without total_count: continue while pages are full.
                    None => res.items.len() as u64 >= u64::from(c.page_size),
                };
                let next = (more && !res.items.is_empty()).then(|| (page + 1).to_string());
                Ok(PageOf {
                    items: res.items,
                    next,
                })
            }
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::FailReason;

    fn classify(status: u16, body: &str) -> Classification {
        AdobeClassifier { oauth1: true }.classify(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn signature_errors_are_permanent_and_nonce_errors_refresh() {
        assert!(matches!(
            classify(
                401,
                r#"{"message":"The signature is invalid. Verify and try again."}"#
            ),
            Classification::Fail(FailReason {
                kind: FailKind::Auth { permanent: true },
                ..
            })
        ));
        assert_eq!(
            classify(
                401,
                r#"{"message":"The nonce is already being used by the consumer with ID %1","parameters":["1"]}"#
            ),
            Classification::RefreshAuthThenRetry
        );
        assert!(matches!(
            classify(400, r#"{"message":"Signature method %1 is not supported","parameters":["HMAC-SHA1"]}"#),
            Classification::Fail(FailReason { kind: FailKind::Auth { permanent: true }, ref message, .. }) if message.contains("HMAC-SHA256")
        ));
        assert!(matches!(
            classify(401, r#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Catalog::products"}}"#),
            Classification::Fail(FailReason { kind: FailKind::PermissionDenied, ref message, .. }) if message.contains("Magento_Catalog::products")
        ));
        assert!(matches!(
            classify(429, r#"{"message":"Too Many Requests","trace":null}"#),
            Classification::Retry {
                throttled: true,
                ..
            }
        ));
        assert!(matches!(
            classify(503, "<html>maintenance</html>"),
            Classification::Retry {
                throttled: false,
                ..
            }
        ));
    }
}
