use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::Result;

/// A freshly issued bearer token.
#[derive(Clone)]
pub struct AccessToken {
    /// The token.
    pub secret: SecretString,
    /// Its lifetime from now.
    pub expires_in: Duration,
    /// A refresh token, when the grant returned one.
    pub refresh_token: Option<SecretString>,
}

impl AccessToken {
    /// A token valid for `expires_in`.
    pub fn new(secret: impl Into<String>, expires_in: Duration) -> Self {
        Self {
            secret: SecretString::from(secret.into()),
            expires_in,
            refresh_token: None,
        }
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

struct Cached {
    token: AccessToken,
    refresh_at: Instant,
}

/// A bearer-token cache with one refresh in flight however many tasks ask.
///
/// A token is refreshed `margin` before it expires (or halfway through its life, for tokens that
/// live shorter than twice the margin), never per call. Concurrent callers wait for the one
/// refresh and share its result.
pub struct TokenCache {
    margin: Duration,
    state: Mutex<Option<Cached>>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("margin", &self.margin)
            .field("fetches", &self.fetches())
            .finish()
    }
}

impl TokenCache {
    /// A cache refreshing `margin` before expiry.
    pub fn new(margin: Duration) -> Self {
        Self {
            margin,
            state: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the cache fetched a token.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The cached token, or a fresh one from `fetch` when there is none or it is within the
    /// refresh margin.
    ///
    /// # Errors
    /// Whatever `fetch` returns.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<SecretString>
    where
        F: FnOnce(Option<SecretString>) -> Fut,
        Fut: Future<Output = Result<AccessToken>>,
    {
        let mut state = self.state.lock().await;
        if let Some(c) = state.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.secret.clone());
        }
        let previous_refresh = state.as_ref().and_then(|c| c.token.refresh_token.clone());
        self.store(&mut state, fetch(previous_refresh).await?)
    }

    /// The server rejected `stale`: fetch a new token unless another task already replaced it.
    ///
    /// # Errors
    /// Whatever `fetch` returns.
    pub async fn refresh_if_current<F, Fut>(
        &self,
        stale: &SecretString,
        fetch: F,
    ) -> Result<SecretString>
    where
        F: FnOnce(Option<SecretString>) -> Fut,
        Fut: Future<Output = Result<AccessToken>>,
    {
        let mut state = self.state.lock().await;
        if let Some(c) = state.as_ref()
            && c.token.secret.expose_secret() != stale.expose_secret()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.secret.clone());
        }
        let previous_refresh = state.as_ref().and_then(|c| c.token.refresh_token.clone());
        self.store(&mut state, fetch(previous_refresh).await?)
    }

    /// Forgets the cached token.
    pub async fn invalidate(&self) {
        *self.state.lock().await = None;
    }

    fn store(&self, state: &mut Option<Cached>, token: AccessToken) -> Result<SecretString> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let margin = self.margin.min(token.expires_in / 2);
        let refresh_at = Instant::now() + token.expires_in.saturating_sub(margin);
        let secret = token.secret.clone();
        *state = Some(Cached { token, refresh_at });
        Ok(secret)
    }
}
