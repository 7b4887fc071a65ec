//! Authentication hooks: OAuth 1.0a signing (PaaS), Adobe IMS client credentials (Cloud
//! Service) and a static bearer token (PaaS opt-in).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use super::config::{Credentials, ImsCredentials};
use super::oauth1::OAuth1Signer;
use crate::error::{Error, Result};
use crate::http::{AccessToken, AuthHook, BearerAuth, TokenSource, oauth};

#[async_trait]
impl AuthHook for OAuth1Signer {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        // A fresh nonce and timestamp for every attempt: a retried request is a new request.
        self.sign_request(req)
    }

    async fn refresh(&self, _rejected: &reqwest::Request) -> Result<()> {
        // Integration tokens never expire; a 401 worth retrying (a nonce collision) only needs
        // a new nonce, which `authorize` adds to the retry.
        Ok(())
    }
}

/// IMS tokens are refreshed this long before they expire (they live about 24 h).
pub const IMS_REFRESH_MARGIN: Duration = Duration::from_secs(3600);

/// Fetches Adobe IMS access tokens with the OAuth 2.0 client-credentials grant (via the `oauth2`
/// crate). Wrap it in [`ims_auth`] so tokens are cached and refreshed before expiry.
pub struct ImsTokenSource {
    credentials: ImsCredentials,
    http: reqwest::Client,
}

impl std::fmt::Debug for ImsTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImsTokenSource")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl ImsTokenSource {
    /// A token source for `credentials` (token requests go through a client that never follows
    /// redirects).
    ///
    /// # Errors
    /// [`Error::Config`] when the HTTP client cannot be built.
    pub fn new(credentials: ImsCredentials) -> Result<Self> {
        Ok(Self {
            credentials,
            http: oauth::token_client()?,
        })
    }
}

#[async_trait]
impl TokenSource for ImsTokenSource {
    async fn fetch(&self, _refresh_token: Option<SecretString>) -> Result<AccessToken> {
        let c = &self.credentials;
        let token_url = TokenUrl::new(c.token_url.clone()).map_err(|e| {
            Error::config(
                "adobe.ims.token_url",
                format!("`{}` is not a URL: {e}", c.token_url),
            )
        })?;
        let client = BasicClient::new(ClientId::new(c.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                c.client_secret.expose_secret().to_string(),
            ))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url);
        let http = oauth::client(&self.http);
        // IMS takes the scopes comma-separated in one parameter.
        let resp = client
            .exchange_client_credentials()
            .add_scope(Scope::new(c.scopes.clone()))
            .request_async(&http)
            .await
            .map_err(|e| {
                oauth::token_error(
                    "adobe.ims.token",
                    e,
                    &[
                        (
                            "invalid_client",
                            "check adobe.ims.client_id / client_secret (Developer Console > OAuth Server-to-Server credential)",
                        ),
                        (
                            "invalid_scope",
                            "add the Commerce API to the Developer Console project; the scopes must include commerce.accs",
                        ),
                    ],
                )
            })?;
        let expires_in = resp.expires_in().unwrap_or(Duration::from_secs(24 * 3600));
        Ok(AccessToken::new(
            resp.access_token().secret().clone(),
            expires_in,
        ))
    }
}

fn header_value(setting: &str, v: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(v).map_err(|_| {
        Error::config(
            setting,
            "contains characters that cannot go into an HTTP header",
        )
    })
}

/// The Cloud Service auth hook: a cached IMS bearer token (refreshed an hour before expiry and
/// once after a 401, never per call) plus `x-api-key` and `x-gw-ims-org-id`.
///
/// # Errors
/// [`Error::Config`] when the client id or org id cannot go into a header.
pub fn ims_auth(credentials: ImsCredentials) -> Result<BearerAuth> {
    let api_key = header_value("adobe.ims.client_id", &credentials.client_id)?;
    let org = header_value("adobe.ims.org_id", &credentials.org_id)?;
    let source = Arc::new(ImsTokenSource::new(credentials)?);
    Ok(BearerAuth::new(source, IMS_REFRESH_MARGIN)
        .with_extra_header(HeaderName::from_static("x-api-key"), api_key)
        .with_extra_header(HeaderName::from_static("x-gw-ims-org-id"), org))
}

/// A fixed bearer token (PaaS opt-in).
pub struct StaticBearer(SecretString);

impl std::fmt::Debug for StaticBearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticBearer([redacted])")
    }
}

#[async_trait]
impl AuthHook for StaticBearer {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        let mut v = header_value(
            "adobe.bearer_token",
            &format!("Bearer {}", self.0.expose_secret()),
        )?;
        v.set_sensitive(true);
        req.headers_mut().insert(reqwest::header::AUTHORIZATION, v);
        Ok(())
    }

    async fn refresh(&self, _rejected: &reqwest::Request) -> Result<()> {
        Ok(())
    }
}

/// The auth hook for configured credentials.
///
/// # Errors
/// [`Error::Config`] when a credential cannot go into a header.
pub fn auth_hook(credentials: &Credentials) -> Result<Arc<dyn AuthHook>> {
    Ok(match credentials {
        Credentials::OAuth1 {
            credentials,
            method,
        } => Arc::new(OAuth1Signer::new(credentials.clone(), *method)),
        Credentials::Ims(ims) => Arc::new(ims_auth(ims.clone())?),
        Credentials::Bearer(t) => Arc::new(StaticBearer(t.clone())),
    })
}
