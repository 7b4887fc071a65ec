use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use super::{AccessToken, AuthHook, TokenCache};
use crate::error::{Error, Result};

/// Where bearer tokens come from (an OAuth grant, LWA, IMS, a QAD login).
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// Obtains a new token. `refresh_token` is the refresh token of the previous one, if the
    /// grant returned one (sources that support the refresh grant use it, and fall back to a
    /// full login when it fails).
    async fn fetch(&self, refresh_token: Option<SecretString>) -> Result<AccessToken>;
}

/// An [`AuthHook`] that attaches a cached bearer token to every request — as
/// `Authorization: Bearer …` by default, or under another header (`x-amz-access-token`) — and
/// refreshes it once when the server rejects it.
pub struct BearerAuth {
    cache: TokenCache,
    source: Arc<dyn TokenSource>,
    header: HeaderName,
    scheme: Option<&'static str>,
    extra: HeaderMap,
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("header", &self.header)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl BearerAuth {
    /// `Authorization: Bearer <token>` from `source`, refreshed `margin` before expiry.
    pub fn new(source: Arc<dyn TokenSource>, margin: Duration) -> Self {
        Self {
            cache: TokenCache::new(margin),
            source,
            header: http::header::AUTHORIZATION,
            scheme: Some("Bearer"),
            extra: HeaderMap::new(),
        }
    }

    /// Sends the bare token under `header` instead (e.g. `x-amz-access-token`).
    #[must_use]
    pub fn with_header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self.scheme = None;
        self
    }

    /// Adds a constant header to every request (e.g. `x-api-key`).
    #[must_use]
    pub fn with_extra_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.extra.insert(name, value);
        self
    }

    /// The token cache (for inspection: how many tokens were fetched).
    pub fn cache(&self) -> &TokenCache {
        &self.cache
    }

    /// A valid token (cached or fresh).
    ///
    /// # Errors
    /// Whatever the token source returns.
    pub async fn token(&self) -> Result<SecretString> {
        let source = self.source.clone();
        self.cache
            .get(|r| async move { source.fetch(r).await })
            .await
    }

    fn header_value(&self, token: &SecretString) -> Result<HeaderValue> {
        let text = match self.scheme {
            Some(s) => format!("{s} {}", token.expose_secret()),
            None => token.expose_secret().to_string(),
        };
        let mut v = HeaderValue::from_str(&text).map_err(|_| Error::Auth {
            ctx: crate::error::Context::op("auth").into(),
            message: "token contains characters not allowed in a header".into(),
            permanent: true,
        })?;
        v.set_sensitive(true);
        Ok(v)
    }
}

#[async_trait]
impl AuthHook for BearerAuth {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        let token = self.token().await?;
        let value = self.header_value(&token)?;
        let headers = req.headers_mut();
        headers.insert(self.header.clone(), value);
        for (k, v) in &self.extra {
            headers.insert(k.clone(), v.clone());
        }
        Ok(())
    }

    async fn refresh(&self, rejected: &reqwest::Request) -> Result<()> {
        let stale = rejected
            .headers()
            .get(&self.header)
            .and_then(|v| v.to_str().ok())
            .map(|v| match self.scheme {
                Some(s) => v.strip_prefix(s).map(str::trim).unwrap_or(v).to_string(),
                None => v.to_string(),
            })
            .unwrap_or_default();
        let source = self.source.clone();
        self.cache
            .refresh_if_current(&SecretString::from(stale), |r| async move {
                source.fetch(r).await
            })
            .await?;
        Ok(())
    }
}
