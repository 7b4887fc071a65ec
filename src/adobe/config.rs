//! Configuration of an Adobe Commerce connection, for both deployment models.
//!
//! ```
//! use ml_connector::adobe::{AdobeConfig, ImsCredentials, OAuth1Credentials};
//!
//! // PaaS / on-prem / Commerce on Cloud: OAuth 1.0a integration, store code in the path.
//! let paas = AdobeConfig::paas(
//!     "https://shop.example.com",
//!     OAuth1Credentials::new("consumer-key", "consumer-secret", "access-token", "token-secret"),
//! )
//! .store_code("default")
//! .build()
//! .unwrap();
//! assert_eq!(paas.resource_url("V1/orders").unwrap().as_str(), "https://shop.example.com/rest/default/V1/orders");
//!
//! // Adobe Commerce as a Cloud Service: IMS client credentials, `Store` header.
//! let saas = AdobeConfig::cloud_service(
//!     "https://na1.api.commerce.adobe.com/TENANT",
//!     ImsCredentials::new("client-id", "client-secret", "ORG@AdobeOrg"),
//! )
//! .store_code("default")
//! .build()
//! .unwrap();
//! assert_eq!(saas.resource_url("V1/orders").unwrap().as_str(), "https://na1.api.commerce.adobe.com/TENANT/V1/orders");
//! ```

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use url::Url;

use super::convert::{BundleLines, ConvertOptions};
use super::oauth1::{OAuth1Credentials, SignatureMethod};
use super::search::MAX_PAGE_SIZE;
use crate::error::{Error, Result};
use crate::http::{Quota, RetryPolicy};
use crate::model::Currency;

/// The default Adobe IMS token endpoint.
pub const DEFAULT_IMS_TOKEN_URL: &str = "https://ims-na1.adobelogin.com/ims/token/v3";

/// The scopes the Cloud Service needs (comma-separated, as IMS expects; `commerce.accs` is the
/// one that matters).
pub const DEFAULT_IMS_SCOPES: &str = "openid,AdobeID,email,profile,additional_info.roles,additional_info.projectedProductContext,commerce.accs";

/// Where the store runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// On-prem or Adobe Commerce on Cloud: `https://host/rest/{store_code}/V1/…`.
    Paas,
    /// Adobe Commerce as a Cloud Service: `https://{server}.api.commerce.adobe.com/{tenant}/V1/…`
    /// with a `Store` header.
    CloudService,
}

/// Adobe IMS server-to-server (OAuth 2.0 client credentials) settings.
#[derive(Clone)]
pub struct ImsCredentials {
    /// The Developer Console client id (also sent as `x-api-key`).
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
    /// The IMS organisation id (`XXXX@AdobeOrg`, sent as `x-gw-ims-org-id`).
    pub org_id: String,
    /// The token endpoint (default [`DEFAULT_IMS_TOKEN_URL`]).
    pub token_url: String,
    /// Comma-separated scopes (default [`DEFAULT_IMS_SCOPES`]).
    pub scopes: String,
}

impl ImsCredentials {
    /// Client id, secret and organisation, with the default endpoint and scopes.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        org_id: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            org_id: org_id.into(),
            token_url: DEFAULT_IMS_TOKEN_URL.to_string(),
            scopes: DEFAULT_IMS_SCOPES.to_string(),
        }
    }

    /// Uses another token endpoint (a simulator, a regional IMS host).
    #[must_use]
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = url.into();
        self
    }

    /// Uses other scopes (comma-separated).
    #[must_use]
    pub fn scopes(mut self, scopes: impl Into<String>) -> Self {
        self.scopes = scopes.into();
        self
    }
}

impl fmt::Debug for ImsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImsCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("org_id", &self.org_id)
            .field("token_url", &self.token_url)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// How requests are authenticated.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// OAuth 1.0a integration (PaaS; recommended).
    OAuth1 {
        /// The four integration values.
        credentials: OAuth1Credentials,
        /// HMAC-SHA256 (2.4.4+) or HMAC-SHA1 (older stores).
        method: SignatureMethod,
    },
    /// Adobe IMS client credentials (Cloud Service).
    Ims(ImsCredentials),
    /// A token used as `Authorization: Bearer` (PaaS opt-in: an integration access token with
    /// `oauth/consumer/enable_integration_as_bearer=1`, or an admin token).
    Bearer(SecretString),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::OAuth1 {
                credentials,
                method,
            } => f
                .debug_struct("OAuth1")
                .field("credentials", credentials)
                .field("method", method)
                .finish(),
            Credentials::Ims(c) => f.debug_tuple("Ims").field(c).finish(),
            Credentials::Bearer(_) => f.write_str("Bearer([redacted])"),
        }
    }
}

/// A validated configuration; build it with [`AdobeConfig::paas`] or
/// [`AdobeConfig::cloud_service`].
#[derive(Debug, Clone)]
pub struct AdobeConfig {
    /// Deployment model.
    pub deployment: Deployment,
    /// Store base URL: `https://host` (PaaS, without `/rest`) or
    /// `https://server.api.commerce.adobe.com/tenant` (Cloud Service).
    pub base_url: Url,
    /// Store view code (`default`, `all` or a view code): in the path on PaaS, in the `Store`
    /// header on the Cloud Service. It selects store-view attribute values; it does **not**
    /// filter sales documents (use [`AdobeConfig::store_ids`]).
    pub store_code: String,
    /// Credentials.
    pub credentials: Credentials,
    /// `pageSize` of every list request (default 100, at most 300).
    pub page_size: u32,
    /// Incremental reads stop this far behind now (default 120 s), so rows whose transaction
    /// commits after its `updated_at` was assigned are never jumped over.
    pub settle_lag: Duration,
    /// Where a stream without a committed cursor starts (default: the beginning).
    pub initial_watermark: Option<DateTime<Utc>>,
    /// Restricts sales documents to these store ids (`store_id in …`); empty: every store.
    pub store_ids: Vec<i64>,
    /// Conversion settings (bundle handling, store codes, catalog currency).
    pub convert: ConvertOptions,
    /// Fetch the orders of each invoice/credit-memo page (one extra request per page) to
    /// resolve parent/child rows and the party exactly (default `true`).
    pub enrich_documents: bool,
    /// Client-side request rate per operation, if the store or its CDN limits requests.
    pub rate: Option<Quota>,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Per-request timeout (default 60 s).
    pub timeout: Duration,
    /// Source name used in record keys' checkpoint scope (default `adobe`).
    pub name: String,
    /// A host-provided HTTP client.
    pub http: Option<reqwest::Client>,
}

impl AdobeConfig {
    /// A PaaS / on-prem store signed with OAuth 1.0a (HMAC-SHA256).
    pub fn paas(base_url: impl Into<String>, credentials: OAuth1Credentials) -> AdobeConfigBuilder {
        AdobeConfigBuilder::new(
            Deployment::Paas,
            base_url.into(),
            Credentials::OAuth1 {
                credentials,
                method: SignatureMethod::HmacSha256,
            },
        )
    }

    /// An Adobe Commerce as a Cloud Service tenant (`base_url` includes the tenant id).
    pub fn cloud_service(base_url: impl Into<String>, ims: ImsCredentials) -> AdobeConfigBuilder {
        AdobeConfigBuilder::new(
            Deployment::CloudService,
            base_url.into(),
            Credentials::Ims(ims),
        )
    }

    /// The URL of `resource` (e.g. `V1/orders`), scoped to the store view on PaaS.
    ///
    /// # Errors
    /// [`Error::Config`] when the resulting URL is invalid.
    pub fn resource_url(&self, resource: &str) -> Result<Url> {
        let base = self.base_url.as_str().trim_end_matches('/');
        let resource = resource.trim_start_matches('/');
        let text = match self.deployment {
            Deployment::Paas => format!("{base}/rest/{}/{resource}", self.store_code),
            Deployment::CloudService => format!("{base}/{resource}"),
        };
        Url::parse(&text).map_err(|e| {
            Error::config(
                "adobe.base_url",
                format!("`{text}` is not a valid URL: {e}"),
            )
        })
    }
}

/// Builds an [`AdobeConfig`].
#[derive(Debug)]
pub struct AdobeConfigBuilder {
    deployment: Deployment,
    base_url: String,
    cfg: AdobeConfig,
}

impl AdobeConfigBuilder {
    fn new(deployment: Deployment, base_url: String, credentials: Credentials) -> Self {
        Self {
            deployment,
            base_url: base_url.clone(),
            cfg: AdobeConfig {
                deployment,
                base_url: Url::parse("http://placeholder.invalid").expect("static URL"),
                store_code: "default".into(),
                credentials,
                page_size: 100,
                settle_lag: Duration::from_secs(120),
                initial_watermark: None,
                store_ids: Vec::new(),
                convert: ConvertOptions::default(),
                enrich_documents: true,
                rate: None,
                retry: RetryPolicy::default(),
                timeout: Duration::from_secs(60),
                name: "adobe".into(),
                http: None,
            },
        }
    }

    /// Store view code (default `default`).
    #[must_use]
    pub fn store_code(mut self, code: impl Into<String>) -> Self {
        self.cfg.store_code = code.into();
        self
    }

    /// HMAC-SHA1 for stores older than 2.4.4 (OAuth 1.0a only).
    #[must_use]
    pub fn signature_method(mut self, m: SignatureMethod) -> Self {
        if let Credentials::OAuth1 { method, .. } = &mut self.cfg.credentials {
            *method = m;
        }
        self
    }

    /// Replaces the credentials (e.g. [`Credentials::Bearer`] on PaaS).
    #[must_use]
    pub fn credentials(mut self, c: Credentials) -> Self {
        self.cfg.credentials = c;
        self
    }

    /// `pageSize` (1..=300; default 100).
    #[must_use]
    pub fn page_size(mut self, n: u32) -> Self {
        self.cfg.page_size = n;
        self
    }

    /// How far behind now incremental reads stop (default 120 s).
    #[must_use]
    pub fn settle_lag(mut self, lag: Duration) -> Self {
        self.cfg.settle_lag = lag;
        self
    }

    /// Where streams without a cursor start.
    #[must_use]
    pub fn initial_watermark(mut self, t: DateTime<Utc>) -> Self {
        self.cfg.initial_watermark = Some(t);
        self
    }

    /// Restricts sales documents to these store ids.
    #[must_use]
    pub fn store_ids(mut self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.cfg.store_ids = ids.into_iter().collect();
        self
    }

    /// Names a store id's view code (used as the order's channel).
    #[must_use]
    pub fn store_code_for(mut self, store_id: i64, code: impl Into<String>) -> Self {
        self.cfg.convert.store_codes.insert(store_id, code.into());
        self
    }

    /// Bundle handling.
    #[must_use]
    pub fn bundle_lines(mut self, b: BundleLines) -> Self {
        self.cfg.convert.bundle_lines = b;
        self
    }

    /// Currency of product prices (the website base currency).
    #[must_use]
    pub fn catalog_currency(mut self, c: Currency) -> Self {
        self.cfg.convert.catalog_currency = Some(c);
        self
    }

    /// Whether invoice/credit-memo pages fetch their orders (default `true`).
    #[must_use]
    pub fn enrich_documents(mut self, on: bool) -> Self {
        self.cfg.enrich_documents = on;
        self
    }

    /// Client-side rate per operation.
    #[must_use]
    pub fn rate(mut self, q: Quota) -> Self {
        self.cfg.rate = Some(q);
        self
    }

    /// Retry policy.
    #[must_use]
    pub fn retry(mut self, p: RetryPolicy) -> Self {
        self.cfg.retry = p;
        self
    }

    /// Per-request timeout.
    #[must_use]
    pub fn timeout(mut self, t: Duration) -> Self {
        self.cfg.timeout = t;
        self
    }

    /// Source name (default `adobe`; use e.g. `adobe-eu` when a host runs several stores).
    #[must_use]
    pub fn name(mut self, n: impl Into<String>) -> Self {
        self.cfg.name = n.into();
        self
    }

    /// A host-provided HTTP client.
    #[must_use]
    pub fn http_client(mut self, c: reqwest::Client) -> Self {
        self.cfg.http = Some(c);
        self
    }

    /// Validates and builds.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting: an invalid or non-HTTP base URL, a `/rest` suffix
    /// on a PaaS base URL, an empty store code, a page size outside 1..=300, an empty credential.
    pub fn build(self) -> Result<AdobeConfig> {
        let mut cfg = self.cfg;
        let trimmed = self.base_url.trim().trim_end_matches('/');
        let mut url = Url::parse(trimmed).map_err(|e| {
            Error::config(
                "adobe.base_url",
                format!("`{trimmed}` is not a URL ({e}); use e.g. https://shop.example.com"),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::config(
                "adobe.base_url",
                format!("`{trimmed}` must be an http(s) URL with a host"),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::config(
                "adobe.base_url",
                "remove the query/fragment from the base URL",
            ));
        }
        if self.deployment == Deployment::Paas
            && (url.path().ends_with("/rest") || url.path().contains("/rest/"))
        {
            return Err(Error::config(
                "adobe.base_url",
                "give the store's base URL without `/rest/...` (the store code is added per call)",
            ));
        }
        // Lower-case host, no default port: exactly what the server signs (§2.1.1).
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        url.set_host(Some(&host))
            .map_err(|e| Error::config("adobe.base_url", format!("invalid host `{host}`: {e}")))?;
        cfg.base_url = url;
        if cfg.store_code.trim().is_empty()
            || !cfg
                .store_code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(Error::config(
                "adobe.store_code",
                format!(
                    "`{}` is not a store view code (letters, digits, `_`; e.g. `default` or `all`)",
                    cfg.store_code
                ),
            ));
        }
        if cfg.page_size == 0 || cfg.page_size > MAX_PAGE_SIZE {
            return Err(Error::config(
                "adobe.page_size",
                format!(
                    "{} is outside 1..={MAX_PAGE_SIZE}; use 100 for orders",
                    cfg.page_size
                ),
            ));
        }
        match &cfg.credentials {
            Credentials::OAuth1 { credentials, .. } => {
                if credentials.consumer_key.trim().is_empty() {
                    return Err(Error::config(
                        "adobe.oauth1.consumer_key",
                        "empty; copy the four values from System > Extensions > Integrations",
                    ));
                }
            }
            Credentials::Ims(ims) => {
                if ims.client_id.trim().is_empty() || ims.org_id.trim().is_empty() {
                    return Err(Error::config(
                        "adobe.ims",
                        "client_id and org_id are required; copy them from the Developer Console project (OAuth Server-to-Server credential)",
                    ));
                }
                Url::parse(&ims.token_url).map_err(|e| {
                    Error::config(
                        "adobe.ims.token_url",
                        format!("`{}` is not a URL: {e}", ims.token_url),
                    )
                })?;
            }
            Credentials::Bearer(_) => {}
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> OAuth1Credentials {
        OAuth1Credentials::new("ck", "cs", "at", "ts")
    }

    #[test]
    fn paas_urls_carry_the_store_code_and_cloud_urls_do_not() {
        let c = AdobeConfig::paas("https://Shop.Example.com:443/", creds())
            .store_code("fr")
            .build()
            .unwrap();
        assert_eq!(
            c.resource_url("/V1/orders").unwrap().as_str(),
            "https://shop.example.com/rest/fr/V1/orders"
        );
        let s = AdobeConfig::cloud_service(
            "https://na1.api.commerce.adobe.com/T1",
            ImsCredentials::new("id", "secret", "ORG@AdobeOrg"),
        )
        .build()
        .unwrap();
        assert_eq!(
            s.resource_url("V1/invoices").unwrap().as_str(),
            "https://na1.api.commerce.adobe.com/T1/V1/invoices"
        );
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let e = AdobeConfig::paas("https://shop.example.com/rest/default", creds())
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("adobe.base_url"), "{e}");
        let e = AdobeConfig::paas("https://shop.example.com", creds())
            .page_size(500)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("adobe.page_size"), "{e}");
        let e = AdobeConfig::paas("https://shop.example.com", creds())
            .store_code("de fault")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("adobe.store_code"), "{e}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = AdobeConfig::cloud_service(
            "https://na1.api.commerce.adobe.com/T1",
            ImsCredentials::new("id", "very-secret-value", "ORG@AdobeOrg"),
        )
        .build()
        .unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("very-secret-value"), "{d}");
        let p = AdobeConfig::paas(
            "https://x.example",
            OAuth1Credentials::new("ck", "sec-1", "tok-2", "sec-3"),
        )
        .build()
        .unwrap();
        let d = format!("{p:?}");
        assert!(
            !d.contains("sec-1") && !d.contains("tok-2") && !d.contains("sec-3"),
            "{d}"
        );
    }
}
