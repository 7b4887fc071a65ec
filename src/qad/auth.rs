//! Logging in to QAD: OAuth2 password grant (with refresh grant and re-login) or HTTP Basic.
//!
//! The password grant runs through the `oauth2` crate against `{base}/oauth/token` with the
//! tenant's client id (no client secret: QAD environments issue a public client id) and the
//! credentials in the form body. Tokens live in the kernel's [`TokenCache`](crate::http::TokenCache)
//! (through [`BearerAuth`]) and are renewed `refresh_margin_secs` before they expire: first with
//! the refresh token, and with a fresh password login when the refresh grant fails.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use http::HeaderValue;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, EndpointNotSet, EndpointSet, RefreshToken, ResourceOwnerPassword,
    ResourceOwnerUsername, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};

use super::config::{QadAuthConfig, QadConfig};
use crate::error::{Context, Error, Result};
use crate::http::{AccessToken, AuthHook, BearerAuth, TokenSource, oauth};

type TokenClient =
    BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Lifetime assumed when the token endpoint sends no `expires_in`.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);

const FIXES: &[(&str, &str)] = &[
    (
        "invalid_grant",
        "QAD refused the user name or password: check qad.auth.username / qad.auth.password and that the service user is active",
    ),
    (
        "invalid_client",
        "QAD does not know the client id: check qad.auth.client_id with the environment administrator",
    ),
    (
        "unauthorized_client",
        "the client id may not use the password grant: ask the environment administrator",
    ),
];

/// Fetches QAD tokens through the oauth2 crate.
pub struct QadTokenSource {
    client: TokenClient,
    http: reqwest::Client,
    username: ResourceOwnerUsername,
    password: SecretString,
}

impl std::fmt::Debug for QadTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QadTokenSource")
            .field("token_url", &self.client.token_uri().as_str())
            .field("username", &self.username.as_str())
            .finish_non_exhaustive()
    }
}

impl QadTokenSource {
    /// A token source for the tenant (OAuth mode only).
    ///
    /// # Errors
    /// [`Error::Config`] when the config is not OAuth or the token URL is invalid.
    pub fn new(cfg: &QadConfig, http: reqwest::Client) -> Result<Self> {
        let QadAuthConfig::OauthPassword {
            client_id,
            username,
            password,
            token_path,
            ..
        } = cfg.auth()
        else {
            return Err(Error::config(
                "qad.auth.mode",
                "a token source needs mode = \"oauth_password\"",
            ));
        };
        let url = cfg.url(token_path);
        let token_url = TokenUrl::new(url.to_string()).map_err(|e| {
            Error::config(
                "qad.auth.token_path",
                format!("invalid token URL {url}: {e}"),
            )
        })?;
        let client = BasicClient::new(ClientId::new(client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url);
        Ok(Self {
            client,
            http,
            username: ResourceOwnerUsername::new(username.clone()),
            password: password.clone(),
        })
    }

    fn token_of(resp: &oauth2::basic::BasicTokenResponse) -> AccessToken {
        AccessToken {
            secret: SecretString::from(resp.access_token().secret().clone()),
            expires_in: resp.expires_in().unwrap_or(DEFAULT_TOKEN_LIFETIME),
            refresh_token: resp
                .refresh_token()
                .map(|r| SecretString::from(r.secret().clone())),
        }
    }

    /// Password grant.
    ///
    /// # Errors
    /// [`Error::Auth`] naming the setting to fix; [`Error::Transport`] when the endpoint is
    /// unreachable.
    pub async fn login(&self) -> Result<AccessToken> {
        let http = oauth::client(&self.http);
        let password = ResourceOwnerPassword::new(self.password.expose_secret().to_string());
        let resp = self
            .client
            .exchange_password(&self.username, &password)
            .request_async(&http)
            .await
            .map_err(|e| oauth::token_error("qad.oauth.password", e, FIXES))?;
        Ok(Self::token_of(&resp))
    }

    /// Refresh grant.
    ///
    /// # Errors
    /// As [`QadTokenSource::login`].
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<AccessToken> {
        let http = oauth::client(&self.http);
        let rt = RefreshToken::new(refresh_token.expose_secret().to_string());
        let resp = self
            .client
            .exchange_refresh_token(&rt)
            .request_async(&http)
            .await
            .map_err(|e| oauth::token_error("qad.oauth.refresh", e, FIXES))?;
        let mut token = Self::token_of(&resp);
        // Servers that do not rotate refresh tokens omit it: keep the one we have.
        if token.refresh_token.is_none() {
            token.refresh_token = Some(refresh_token.clone());
        }
        Ok(token)
    }
}

#[async_trait]
impl TokenSource for QadTokenSource {
    async fn fetch(&self, refresh_token: Option<SecretString>) -> Result<AccessToken> {
        if let Some(rt) = refresh_token {
            match self.refresh(&rt).await {
                Ok(t) => return Ok(t),
                Err(e) => {
                    tracing::info!(error = %e, "QAD refresh grant failed; logging in again with the password grant");
                }
            }
        }
        self.login().await
    }
}

/// The auth hook for QAD requests.
pub enum QadAuth {
    /// Bearer tokens from the password grant.
    Bearer {
        /// The kernel's bearer hook (token cache inside).
        hook: Box<BearerAuth>,
        /// The token source (kept for an explicit login at connect).
        source: Arc<QadTokenSource>,
    },
    /// HTTP Basic.
    Basic(HeaderValue),
}

impl std::fmt::Debug for QadAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QadAuth::Bearer { source, .. } => f.debug_tuple("Bearer").field(source).finish(),
            QadAuth::Basic(_) => f.write_str("Basic([REDACTED])"),
        }
    }
}

impl QadAuth {
    /// The hook for `cfg`.
    ///
    /// # Errors
    /// [`Error::Config`] when the credentials cannot form a header.
    pub fn new(cfg: &QadConfig) -> Result<Self> {
        match cfg.auth() {
            QadAuthConfig::OauthPassword {
                refresh_margin_secs,
                ..
            } => {
                let source = Arc::new(QadTokenSource::new(cfg, oauth::token_client()?)?);
                let hook =
                    BearerAuth::new(source.clone(), Duration::from_secs(*refresh_margin_secs));
                Ok(QadAuth::Bearer {
                    hook: Box::new(hook),
                    source,
                })
            }
            QadAuthConfig::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(raw.as_bytes());
                let mut v = HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|_| {
                    Error::config(
                        "qad.auth.password",
                        "contains characters that cannot be sent in an HTTP header",
                    )
                })?;
                v.set_sensitive(true);
                Ok(QadAuth::Basic(v))
            }
        }
    }

    /// Makes sure a token is available (OAuth: logs in unless a valid token is cached).
    ///
    /// # Errors
    /// [`Error::Auth`] naming the setting to fix.
    pub async fn ensure_login(&self) -> Result<()> {
        match self {
            QadAuth::Bearer { hook, .. } => hook.token().await.map(|_| ()),
            QadAuth::Basic(_) => Ok(()),
        }
    }

    /// How many tokens were fetched (0 for Basic).
    pub fn token_fetches(&self) -> u64 {
        match self {
            QadAuth::Bearer { hook, .. } => hook.cache().fetches(),
            QadAuth::Basic(_) => 0,
        }
    }
}

#[async_trait]
impl AuthHook for QadAuth {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        match self {
            QadAuth::Bearer { hook, .. } => hook.authorize(req).await,
            QadAuth::Basic(v) => {
                req.headers_mut()
                    .insert(http::header::AUTHORIZATION, v.clone());
                Ok(())
            }
        }
    }

    async fn refresh(&self, rejected: &reqwest::Request) -> Result<()> {
        match self {
            QadAuth::Bearer { hook, .. } => hook.refresh(rejected).await,
            QadAuth::Basic(_) => Err(Error::Auth {
                ctx: Context::op("qad.basic").into(),
                message: "QAD rejected the HTTP Basic credentials: check qad.auth.username and qad.auth.password (Basic cannot be refreshed)".into(),
                permanent: true,
            }),
        }
    }
}
