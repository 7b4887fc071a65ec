//! Small helpers the persistent backends share: timestamps as integer microseconds, JSON
//! columns, and the "lease lost" error every backend reports the same way.

#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "redis")),
    allow(dead_code)
)]

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::model::JobId;

/// Microseconds since the Unix epoch (the precision every persistent backend stores).
pub(crate) fn to_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The inverse of [`to_micros`].
pub(crate) fn from_micros(backend: &'static str, us: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| Error::store(backend, format!("timestamp {us}µs is out of range")))
}

/// Milliseconds since the Unix epoch to a timestamp.
pub(crate) fn from_millis(backend: &'static str, ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| Error::store(backend, format!("timestamp {ms}ms is out of range")))
}

/// A lease duration in whole milliseconds (at least 1, saturating).
pub(crate) fn lease_millis(lease: std::time::Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// Serialises a value for a JSON/TEXT column.
pub(crate) fn encode<T: Serialize + ?Sized>(
    backend: &'static str,
    what: &str,
    v: &T,
) -> Result<String> {
    serde_json::to_string(v)
        .map_err(|e| Error::store(backend, format!("cannot encode {what}: {e}")))
}

/// Reads a value back from a JSON/TEXT column.
pub(crate) fn decode<T: DeserializeOwned>(backend: &'static str, what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| {
        Error::store(
            backend,
            format!(
                "stored {what} cannot be read ({e}); was it written by an incompatible version?"
            ),
        )
    })
}

/// The error `complete` returns when another worker has taken the claim over.
pub(crate) fn lease_lost(backend: &'static str, job: &JobId) -> Error {
    Error::store(
        backend,
        format!(
            "lease on job {job} was lost: another worker has claimed it since (the lease lapsed or was released); \
             do not post it again, the current holder checks the ERP first"
        ),
    )
}

/// Checks a schema / prefix name used to build SQL identifiers or Redis keys.
pub(crate) fn check_ident(setting: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 48
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            setting,
            format!(
                "`{name}` is not a valid name: use 1–48 characters a-z, 0-9 and `_`, not starting with a digit"
            ),
        ))
    }
}
