//! Redis dedup claims and checkpoints for several workers sharing one state (the BullMQ-style
//! job id).
//!
//! Per job two keys share one hash slot (`{prefix}:job:{<job id>}` and `…:lease`):
//!
//! * the **lease** key is taken with `SET … NX PX <lease>`: it exists only while a claim is live,
//!   and Redis expires it by itself when a worker dies;
//! * the **state** hash is permanent: `attempt` (claims so far), `token` (the current claim's
//!   fencing token), `expires_ms`, and `receipt` once the job is done.
//!
//! Claim, complete and release are Lua scripts, so each is atomic: `complete` and `release`
//! check the fencing token, a completed job stays completed, and `Done` wins over every later
//! claim. Checkpoints are plain keys `{prefix}:checkpoint:["source","stream"]` holding the
//! cursor's JSON. Redis keeps no audit trail here: pair it with SQLite or PostgreSQL audit.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

use super::codec::{check_ident, decode, encode, from_millis, lease_lost, lease_millis};
use crate::core::{
    CheckpointKey, CheckpointStore, Claim, Cursor, DedupStore, JobState, Lease, Receipt,
    redact_text,
};
use crate::error::{Error, Result};
use crate::model::JobId;

const BACKEND: &str = "redis";

/// KEYS: state, lease. ARGV: token, lease ms.
/// Returns {"done", receipt} | {"claimed", attempt, expires_ms} | {"busy", until_ms}.
const CLAIM: &str = r"
local receipt = redis.call('HGET', KEYS[1], 'receipt')
if receipt then return {'done', receipt} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[2])
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ms) then
  local attempt = redis.call('HINCRBY', KEYS[1], 'attempt', 1)
  redis.call('HSET', KEYS[1], 'token', ARGV[1], 'expires_ms', now + ms)
  return {'claimed', attempt, now + ms}
end
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 0 then ttl = 0 end
return {'busy', now + ttl}
";

/// KEYS: state, lease. ARGV: token, receipt. Returns 1 when done (now or before), 0 when the
/// token is not the current claim.
const COMPLETE: &str = r"
if redis.call('HEXISTS', KEYS[1], 'receipt') == 1 then return 1 end
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'receipt', ARGV[2])
  redis.call('HDEL', KEYS[1], 'token', 'expires_ms')
  if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
  return 1
end
return 0
";

/// KEYS: state, lease. ARGV: token. Returns 1 when released, 0 when the token was not current.
const RELEASE: &str = r"
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'token', 'expires_ms')
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
";

/// Connection settings for [`RedisStore`].
#[derive(Clone)]
pub struct RedisConfig {
    url: String,
    /// Prefix of every key. Default `mlc`.
    pub prefix: String,
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &redact_url(&self.url))
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("[REDACTED]"));
            }
            u.to_string()
        }
        Err(_) => "(unparseable URL)".into(),
    }
}

impl RedisConfig {
    /// Parses `redis://[user:password@]host:port/db[?prefix=name]` (`rediss://` for TLS when the
    /// `redis` crate is built with TLS). `prefix` is this crate's; the rest goes to `redis`.
    ///
    /// # Errors
    /// [`Error::Config`] naming what is wrong (the password is never echoed).
    pub fn from_url(url: &str) -> Result<Self> {
        let mut parsed = url::Url::parse(url).map_err(|e| {
            Error::config(
                "store.url",
                format!("not a valid Redis URL ({e}); expected redis://127.0.0.1:6379/0"),
            )
        })?;
        let mut prefix = "mlc".to_string();
        let mut rest: Vec<(String, String)> = Vec::new();
        for (k, v) in parsed.query_pairs() {
            if k == "prefix" {
                prefix = v.into_owned();
            } else {
                rest.push((k.into_owned(), v.into_owned()));
            }
        }
        check_ident("store.url prefix", &prefix)?;
        if rest.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(rest);
        }
        Ok(Self {
            url: parsed.to_string(),
            prefix,
        })
    }

    /// Uses `prefix` instead of the default (tests isolate themselves this way).
    ///
    /// # Errors
    /// [`Error::Config`] when the prefix is not a plain lower-case identifier.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Result<Self> {
        let prefix = prefix.into();
        check_ident("store.redis.prefix", &prefix)?;
        self.prefix = prefix;
        Ok(self)
    }
}

fn redis_err(op: &'static str) -> impl FnOnce(redis::RedisError) -> Error {
    move |e| {
        let transient = e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal();
        let message = format!("{op}: {}", redact_text(&e.to_string()));
        if transient {
            Error::store_transient(BACKEND, message)
        } else {
            Error::store(BACKEND, message)
        }
    }
}

/// Dedup claims and checkpoints in Redis. Implements [`DedupStore`] and [`CheckpointStore`].
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    target: String,
    claim: Script,
    complete: Script,
    release: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("target", &self.target)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects (with automatic reconnection).
    ///
    /// # Errors
    /// [`Error::Store`] naming the server when it cannot be reached.
    pub async fn connect(config: RedisConfig) -> Result<Self> {
        let target = redact_url(&config.url);
        let client = redis::Client::open(config.url.as_str()).map_err(|e| {
            Error::config(
                "store.url",
                format!("Redis URL rejected: {}", redact_text(&e.to_string())),
            )
        })?;
        let conn = client.get_connection_manager().await.map_err(|e| {
            Error::store_transient(
                BACKEND,
                format!(
                    "cannot connect to {target} ({}); check that the server is running and the URL",
                    redact_text(&e.to_string())
                ),
            )
        })?;
        Ok(Self {
            conn,
            prefix: config.prefix,
            target,
            claim: Script::new(CLAIM),
            complete: Script::new(COMPLETE),
            release: Script::new(RELEASE),
        })
    }

    /// Opens the store at `url` (see [`RedisConfig::from_url`]).
    ///
    /// # Errors
    /// As [`RedisConfig::from_url`] and [`RedisStore::connect`].
    pub async fn connect_url(url: &str) -> Result<Self> {
        Self::connect(RedisConfig::from_url(url)?).await
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Deletes every key under this store's prefix (`SCAN` + `UNLINK`). Meant for tests that
    /// used a throw-away prefix.
    ///
    /// # Errors
    /// [`Error::Store`] when a command fails.
    pub async fn purge(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}:*", self.prefix);
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await
                .map_err(redis_err("scan keys"))?;
            if !keys.is_empty() {
                let _: i64 = redis::cmd("UNLINK")
                    .arg(&keys)
                    .query_async(&mut conn)
                    .await
                    .map_err(redis_err("unlink keys"))?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    fn job_keys(&self, job: &JobId) -> (String, String) {
        let base = format!("{}:job:{{{}}}", self.prefix, job.as_str());
        (base.clone(), format!("{base}:lease"))
    }

    fn checkpoint_key(&self, key: &CheckpointKey) -> Result<String> {
        let suffix = encode(BACKEND, "checkpoint key", &[&key.source, &key.stream])?;
        Ok(format!("{}:checkpoint:{suffix}", self.prefix))
    }
}

#[async_trait]
impl DedupStore for RedisStore {
    async fn claim(&self, job: &JobId, lease: Duration) -> Result<Claim> {
        let (state, lease_key) = self.job_keys(job);
        let token = uuid::Uuid::new_v4().to_string();
        let mut conn = self.conn.clone();
        let reply: Vec<redis::Value> = self
            .claim
            .key(&state)
            .key(&lease_key)
            .arg(&token)
            .arg(lease_millis(lease))
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err("claim job"))?;
        let text = |v: &redis::Value| -> Result<String> {
            redis::from_redis_value_ref::<String>(v)
                .map_err(|e| Error::store(BACKEND, format!("unexpected claim reply: {e}")))
        };
        let int = |v: &redis::Value| -> Result<i64> {
            redis::from_redis_value_ref::<i64>(v)
                .map_err(|e| Error::store(BACKEND, format!("unexpected claim reply: {e}")))
        };
        match reply.as_slice() {
            [tag, receipt] if text(tag)? == "done" => {
                Ok(Claim::Done(decode(BACKEND, "receipt", &text(receipt)?)?))
            }
            [tag, attempt, expires] if text(tag)? == "claimed" => Ok(Claim::Claimed(Lease {
                job: job.clone(),
                token,
                expires_at: from_millis(BACKEND, int(expires)?)?,
                attempt: u32::try_from(int(attempt)?).unwrap_or(u32::MAX),
            })),
            [tag, until] if text(tag)? == "busy" => Ok(Claim::Busy {
                until: from_millis(BACKEND, int(until)?)?,
            }),
            other => Err(Error::store(
                BACKEND,
                format!("unexpected claim reply {other:?}"),
            )),
        }
    }

    async fn complete(&self, lease: &Lease, receipt: &Receipt) -> Result<()> {
        let (state, lease_key) = self.job_keys(&lease.job);
        let receipt = encode(BACKEND, "receipt", receipt)?;
        let mut conn = self.conn.clone();
        let done: i64 = self
            .complete
            .key(&state)
            .key(&lease_key)
            .arg(&lease.token)
            .arg(receipt)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err("complete job"))?;
        if done == 1 {
            Ok(())
        } else {
            Err(lease_lost(BACKEND, &lease.job))
        }
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        let (state, lease_key) = self.job_keys(&lease.job);
        let mut conn = self.conn.clone();
        let _: i64 = self
            .release
            .key(&state)
            .key(&lease_key)
            .arg(&lease.token)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_err("release job"))?;
        Ok(())
    }

    async fn state(&self, job: &JobId) -> Result<Option<JobState>> {
        let (state, _) = self.job_keys(job);
        let mut conn = self.conn.clone();
        let fields: std::collections::HashMap<String, String> = conn
            .hgetall(&state)
            .await
            .map_err(redis_err("read job state"))?;
        if let Some(r) = fields.get("receipt") {
            return Ok(Some(JobState::Done(decode(BACKEND, "receipt", r)?)));
        }
        match (fields.get("token"), fields.get("expires_ms")) {
            (Some(token), Some(ms)) => {
                let ms: i64 = ms
                    .parse()
                    .map_err(|_| Error::store(BACKEND, format!("job {job} has a bad expiry")))?;
                let attempt = fields
                    .get("attempt")
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(1);
                Ok(Some(JobState::Leased(Lease {
                    job: job.clone(),
                    token: token.clone(),
                    expires_at: from_millis(BACKEND, ms)?,
                    attempt,
                })))
            }
            _ => Ok(None),
        }
    }
}

#[async_trait]
impl CheckpointStore for RedisStore {
    async fn load(&self, key: &CheckpointKey) -> Result<Option<Cursor>> {
        let k = self.checkpoint_key(key)?;
        let mut conn = self.conn.clone();
        let v: Option<String> = conn.get(&k).await.map_err(redis_err("load checkpoint"))?;
        v.map(|s| decode(BACKEND, "checkpoint cursor", &s))
            .transpose()
    }

    async fn commit(&self, key: &CheckpointKey, cursor: &Cursor) -> Result<()> {
        let k = self.checkpoint_key(key)?;
        let v = encode(BACKEND, "checkpoint cursor", cursor)?;
        let mut conn = self.conn.clone();
        let _: () = conn
            .set(&k, v)
            .await
            .map_err(redis_err("commit checkpoint"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_prefix_and_redaction() {
        let c = RedisConfig::from_url("redis://:s3cret@127.0.0.1:6379/2?prefix=tenant_b").unwrap();
        assert_eq!(c.prefix, "tenant_b");
        let d = format!("{c:?}");
        assert!(
            !d.contains("s3cret") && d.contains("127.0.0.1:6379/2"),
            "{d}"
        );
        assert!(RedisConfig::from_url("redis://h/0?prefix=a:b").is_err());
        assert_eq!(
            RedisConfig::from_url("redis://127.0.0.1/").unwrap().prefix,
            "mlc"
        );
    }
}
