//! Login with Amazon (LWA) and restricted data tokens.
//!
//! * Seller-authorised operations: the **refresh-token grant** through the `oauth2` crate,
//!   client id and secret in the form body (as Amazon documents), against a configurable token
//!   endpoint (default `https://api.amazon.com/auth/o2/token`). The access token lives one hour;
//!   the kernel's [`TokenCache`](crate::http::TokenCache) (inside
//!   [`BearerAuth`](crate::http::BearerAuth)) refreshes it a minute before it ends, one refresh
//!   in flight however many tasks call, and once more when Amazon answers the expired-token 403.
//! * Grantless operations (Notifications destinations and subscriptions): the
//!   **client-credentials grant** with a `sellingpartnerapi::…` scope.
//! * `invalid_grant` and `invalid_client` are permanent [`Error::Auth`] whose message says what to
//!   do: re-authorise the seller, or rotate the client secret (LWA client secrets expire every 180
//!   days; refresh tokens survive the rotation).
//! * Restricted data tokens (Tokens API `createRestrictedDataToken`) for Orders v0 PII, cached for
//!   their lifetime like access tokens.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, RefreshToken, Scope,
    TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};

use super::classify::AmazonClassifier;
use super::limits::CREATE_RDT;
use super::wire::{
    CreateRestrictedDataTokenRequest, CreateRestrictedDataTokenResponse, RestrictedResource,
};
use crate::error::{Context, Error, Result};
use crate::http::{AccessToken, AuthHook, BearerAuth, HttpClient, TokenSource, oauth};

/// Amazon's global LWA token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://api.amazon.com/auth/o2/token";

/// Refresh a token this long before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The app's LWA credentials and the seller's refresh token. `Debug` never shows the secrets.
#[derive(Clone)]
pub struct LwaCredentials {
    /// `amzn1.application-oa2-client.…`
    pub client_id: String,
    /// The client secret (rotate every 180 days).
    pub client_secret: SecretString,
    /// The seller's refresh token (`Atzr|…`), from the OAuth authorisation or self-authorisation.
    pub refresh_token: SecretString,
    /// Token endpoint (default [`DEFAULT_TOKEN_URL`]).
    pub token_url: String,
}

impl std::fmt::Debug for LwaCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LwaCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("refresh_token", &"[REDACTED]")
            .field("token_url", &self.token_url)
            .finish()
    }
}

impl LwaCredentials {
    /// Credentials against Amazon's token endpoint.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            refresh_token: SecretString::from(refresh_token.into()),
            token_url: DEFAULT_TOKEN_URL.into(),
        }
    }

    /// Uses another token endpoint (a simulator, a proxy).
    #[must_use]
    pub fn with_token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = url.into();
        self
    }
}

type LwaOAuthClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Which grant a [`LwaTokenSource`] uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `grant_type=refresh_token` (every seller operation).
    RefreshToken,
    /// `grant_type=client_credentials` with this scope (grantless operations), e.g.
    /// `sellingpartnerapi::notifications`.
    ClientCredentials(String),
}

/// What the operator must do about each permanent LWA error.
const FIXES: &[(&str, &str)] = &[
    (
        "invalid_grant",
        "the refresh token was revoked or never granted: re-authorize the seller (Seller Central → Apps and Services → Manage Your Apps, or the app's OAuth flow) and store the new refresh token",
    ),
    (
        "invalid_client",
        "the LWA client id or secret is wrong or expired: rotate the client secret in Developer Central (secrets expire every 180 days) and update the stored secret; refresh tokens stay valid",
    ),
    (
        "unauthorized_client",
        "the app is not authorised for this grant: check the app registration in Developer Central",
    ),
];

/// Fetches LWA access tokens with the `oauth2` crate.
pub struct LwaTokenSource {
    client: LwaOAuthClient,
    http: reqwest::Client,
    refresh_token: SecretString,
    grant: Grant,
}

impl std::fmt::Debug for LwaTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LwaTokenSource")
            .field("grant", &self.grant)
            .finish_non_exhaustive()
    }
}

impl LwaTokenSource {
    /// A source for `grant` with `creds`.
    ///
    /// # Errors
    /// [`Error::Config`] when the token URL is not a URL or the HTTP client cannot be built.
    pub fn new(creds: &LwaCredentials, grant: Grant) -> Result<Self> {
        let token_url = TokenUrl::new(creds.token_url.clone()).map_err(|e| {
            Error::config(
                "amazon.lwa.token_url",
                format!("`{}` is not a URL: {e}", creds.token_url),
            )
        })?;
        if creds.client_id.trim().is_empty() {
            return Err(Error::config(
                "amazon.lwa.client_id",
                "empty LWA client id; copy it from Developer Central (amzn1.application-oa2-client.…)",
            ));
        }
        let client = BasicClient::new(ClientId::new(creds.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                creds.client_secret.expose_secret().to_string(),
            ))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url);
        Ok(Self {
            client,
            http: oauth::token_client()?,
            refresh_token: creds.refresh_token.clone(),
            grant,
        })
    }
}

#[async_trait]
impl TokenSource for LwaTokenSource {
    async fn fetch(&self, _previous_refresh: Option<SecretString>) -> Result<AccessToken> {
        let http = oauth::client(&self.http);
        let (op, resp) = match &self.grant {
            Grant::RefreshToken => {
                // LWA refresh tokens never rotate: always present the configured one.
                let rt = RefreshToken::new(self.refresh_token.expose_secret().to_string());
                let r = self
                    .client
                    .exchange_refresh_token(&rt)
                    .request_async(&http)
                    .await;
                ("amazon.lwa.refresh_token", r)
            }
            Grant::ClientCredentials(scope) => {
                let r = self
                    .client
                    .exchange_client_credentials()
                    .add_scope(Scope::new(scope.clone()))
                    .request_async(&http)
                    .await;
                ("amazon.lwa.client_credentials", r)
            }
        };
        let resp = resp.map_err(|e| oauth::token_error(op, e, FIXES))?;
        Ok(AccessToken {
            secret: SecretString::from(resp.access_token().secret().to_string()),
            // "An LWA access token expires one hour after it is issued."
            expires_in: resp.expires_in().unwrap_or(Duration::from_secs(3600)),
            refresh_token: None,
        })
    }
}

/// The `x-amz-access-token` header.
pub fn access_token_header() -> http::HeaderName {
    http::HeaderName::from_static("x-amz-access-token")
}

/// An [`AuthHook`] that attaches a cached LWA access token as `x-amz-access-token`.
///
/// # Errors
/// As [`LwaTokenSource::new`].
pub fn lwa_auth(creds: &LwaCredentials, grant: Grant) -> Result<BearerAuth> {
    let source = Arc::new(LwaTokenSource::new(creds, grant)?);
    Ok(BearerAuth::new(source, REFRESH_MARGIN).with_header(access_token_header()))
}

/// Fetches restricted data tokens through the kernel (authorised with the LWA token).
pub struct RdtTokenSource {
    http: HttpClient,
    classifier: AmazonClassifier,
    lwa: Arc<BearerAuth>,
    url: String,
    account: String,
    request: CreateRestrictedDataTokenRequest,
}

impl std::fmt::Debug for RdtTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdtTokenSource")
            .field("url", &self.url)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl RdtTokenSource {
    /// A source asking `base_url`'s Tokens API for `resources`.
    pub fn new(
        http: HttpClient,
        classifier: AmazonClassifier,
        lwa: Arc<BearerAuth>,
        base_url: &str,
        account: String,
        resources: Vec<RestrictedResource>,
    ) -> Self {
        Self {
            http,
            classifier,
            lwa,
            url: format!(
                "{}/tokens/2021-03-01/restrictedDataToken",
                base_url.trim_end_matches('/')
            ),
            account,
            request: CreateRestrictedDataTokenRequest {
                target_application: None,
                restricted_resources: resources,
            },
        }
    }

    /// The resources of the Orders v0 reads with buyer and address data.
    pub fn orders_v0_resources() -> Vec<RestrictedResource> {
        let elements = vec!["buyerInfo".to_string(), "shippingAddress".to_string()];
        ["/orders/v0/orders", "/orders/v0/orders/{orderId}"]
            .into_iter()
            .map(|p| RestrictedResource {
                method: "GET".into(),
                path: p.into(),
                data_elements: elements.clone(),
            })
            .chain(std::iter::once(RestrictedResource {
                method: "GET".into(),
                path: "/orders/v0/orders/{orderId}/orderItems".into(),
                data_elements: vec!["buyerInfo".into()],
            }))
            .collect()
    }
}

#[async_trait]
impl TokenSource for RdtTokenSource {
    async fn fetch(&self, _previous: Option<SecretString>) -> Result<AccessToken> {
        let req = self
            .http
            .reqwest()
            .post(&self.url)
            .json(&self.request)
            .build()
            .map_err(|e| Error::Transport {
                ctx: Context::op(format!("amazon.{CREATE_RDT}")).into(),
                message: e.to_string(),
            })?;
        let resp = self
            .http
            .call(CREATE_RDT, req)
            .bucket_account(self.account.clone())
            .auth(&*self.lwa)
            .classifier(&self.classifier)
            // Creating a token has no side effect: safe to repeat.
            .idempotent(true)
            .send()
            .await
            .map_err(|e| match e {
                Error::PermissionDenied { ctx, message } => Error::PermissionDenied {
                    ctx,
                    message: format!(
                        "{message} — the app needs the restricted roles for buyer and address data (e.g. Direct-to-Consumer Shipping), or turn off `amazon.orders.restricted_data`"
                    ),
                },
                other => other,
            })?;
        let body: CreateRestrictedDataTokenResponse = resp.json()?;
        Ok(AccessToken {
            secret: SecretString::from(body.restricted_data_token),
            expires_in: Duration::from_secs(body.expires_in),
            refresh_token: None,
        })
    }
}

/// Uses an RDT for restricted reads; the hook refreshes it like an access token.
pub struct RdtAuth {
    inner: BearerAuth,
}

impl std::fmt::Debug for RdtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdtAuth").finish_non_exhaustive()
    }
}

impl RdtAuth {
    /// A cached RDT from `source`.
    pub fn new(source: RdtTokenSource) -> Self {
        Self {
            inner: BearerAuth::new(Arc::new(source), REFRESH_MARGIN)
                .with_header(access_token_header()),
        }
    }

    /// How many RDTs were created.
    pub fn fetches(&self) -> u64 {
        self.inner.cache().fetches()
    }
}

#[async_trait]
impl AuthHook for RdtAuth {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        self.inner.authorize(req).await
    }
    async fn refresh(&self, rejected: &reqwest::Request) -> Result<()> {
        self.inner.refresh(rejected).await
    }
}
