//! The embedded default: one SQLite file (bundled SQLite, WAL) holding dedup claims, the audit
//! trail, dead letters and checkpoints.
//!
//! Every call runs on tokio's blocking pool (`spawn_blocking`) against one connection behind a
//! mutex. Claims run in `BEGIN IMMEDIATE` transactions, so several processes sharing one file
//! (on one machine) still see one winner per job.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::codec::{decode, encode, from_micros, lease_lost, lease_millis, to_micros};
use crate::core::{
    AuditEvent, AuditQuery, AuditSink, AuditStage, CheckpointKey, CheckpointStore, Claim, Cursor,
    DeadLetter, DeadLetterQuery, DedupStore, JobState, Lease, Receipt, redact_json, redact_text,
};
use crate::error::{Error, Result};
use crate::model::{JobId, RecordKey, RunId, SourceRecord, SystemId};

const BACKEND: &str = "sqlite";

const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS mlc_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO mlc_meta(key, value) VALUES ('schema_version', '1');

CREATE TABLE IF NOT EXISTS dedup_jobs (
    job_id       TEXT PRIMARY KEY,
    state        TEXT NOT NULL CHECK (state IN ('leased', 'released', 'done')),
    token        TEXT,
    expires_us   INTEGER,
    attempt      INTEGER NOT NULL,
    receipt      TEXT,
    updated_us   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us      INTEGER NOT NULL,
    run        TEXT NOT NULL,
    system     TEXT NOT NULL,
    stream     TEXT NOT NULL,
    source_id  TEXT NOT NULL,
    job_id     TEXT,
    stage      TEXT NOT NULL,
    message    TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_record ON audit_events(system, stream, source_id, at_us);
CREATE INDEX IF NOT EXISTS audit_events_run ON audit_events(run, at_us);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events(at_us);
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

CREATE TABLE IF NOT EXISTS dead_letters (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    system       TEXT NOT NULL,
    stream       TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    run          TEXT NOT NULL,
    error        TEXT NOT NULL,
    parked_us    INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    resolved_us  INTEGER,
    record       TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_open
    ON dead_letters(system, stream, source_id) WHERE resolved_us IS NULL;
CREATE INDEX IF NOT EXISTS dead_letters_parked ON dead_letters(parked_us);

CREATE TABLE IF NOT EXISTS checkpoints (
    source      TEXT NOT NULL,
    stream      TEXT NOT NULL,
    cursor      TEXT NOT NULL,
    updated_us  INTEGER NOT NULL,
    PRIMARY KEY (source, stream)
);
";

fn sql_err(op: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| {
        let transient = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        );
        let message = format!("{op}: {e}");
        if transient {
            Error::store_transient(BACKEND, message)
        } else {
            Error::store(BACKEND, message)
        }
    }
}

/// Dedup claims, audit trail, dead letters and checkpoints in one SQLite file.
///
/// Implements [`DedupStore`], [`AuditSink`] and [`CheckpointStore`]; hold it in an `Arc` and
/// hand the same `Arc` to all three places.
///
/// ```no_run
/// # fn main() -> ml_connector::Result<()> {
/// use std::sync::Arc;
/// use ml_connector::store::SqliteStore;
/// let store = Arc::new(SqliteStore::open("ml-connector.db")?);
/// let dedup: Arc<dyn ml_connector::DedupStore> = store.clone();
/// let audit: Arc<dyn ml_connector::AuditSink> = store.clone();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, switches it to WAL and creates
    /// the schema idempotently. Blocks briefly on file I/O.
    ///
    /// # Errors
    /// [`Error::Store`] when the file cannot be opened or the schema cannot be created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(|e| {
            Error::store(
                BACKEND,
                format!(
                    "cannot open {}: {e}; check that the directory exists and is writable",
                    path.display()
                ),
            )
        })?;
        Self::init(conn, Some(path))
    }

    /// A private in-memory database (tests, dry runs): gone when the store is dropped.
    ///
    /// # Errors
    /// [`Error::Store`] when SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(sql_err("open in-memory database"))?;
        Self::init(conn, None)
    }

    fn init(conn: Connection, path: Option<PathBuf>) -> Result<Self> {
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(sql_err("set busy timeout"))?;
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(sql_err("enable WAL"))?;
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
            .map_err(sql_err("set pragmas"))?;
        conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;"))
            .map_err(sql_err("create schema"))?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// The database file, if the store is file-backed.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| Error::store(BACKEND, "connection lock poisoned by a panic"))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| Error::store(BACKEND, format!("blocking task failed: {e}")))?
    }
}

#[async_trait]
impl DedupStore for SqliteStore {
    async fn claim(&self, job: &JobId, lease: Duration) -> Result<Claim> {
        let job = job.clone();
        let lease_us = lease_millis(lease).saturating_mul(1000);
        self.call(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err("begin claim"))?;
            let now = to_micros(Utc::now());
            let expires = now.saturating_add(lease_us);
            let token = uuid::Uuid::new_v4().to_string();
            let attempt: Option<i64> = tx
                .query_row(
                    "INSERT INTO dedup_jobs(job_id, state, token, expires_us, attempt, receipt, updated_us)
                     VALUES (?1, 'leased', ?2, ?3, 1, NULL, ?4)
                     ON CONFLICT(job_id) DO UPDATE SET
                        state = 'leased', token = excluded.token, expires_us = excluded.expires_us,
                        attempt = dedup_jobs.attempt + 1, updated_us = excluded.updated_us
                     WHERE dedup_jobs.state = 'released'
                        OR (dedup_jobs.state = 'leased' AND dedup_jobs.expires_us <= ?4)
                     RETURNING attempt",
                    params![job.as_str(), token, expires, now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err("claim job"))?;
            let claim = match attempt {
                Some(attempt) => Claim::Claimed(Lease {
                    job: job.clone(),
                    token,
                    expires_at: from_micros(BACKEND, expires)?,
                    attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                }),
                None => {
                    let (state, expires_us, receipt): (String, Option<i64>, Option<String>) = tx
                        .query_row(
                            "SELECT state, expires_us, receipt FROM dedup_jobs WHERE job_id = ?1",
                            params![job.as_str()],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                        )
                        .map_err(sql_err("read job state"))?;
                    match (state.as_str(), expires_us, receipt) {
                        ("done", _, Some(r)) => Claim::Done(decode(BACKEND, "receipt", &r)?),
                        ("leased", Some(us), _) => Claim::Busy {
                            until: from_micros(BACKEND, us)?,
                        },
                        (s, _, _) => {
                            return Err(Error::store(
                                BACKEND,
                                format!("job {job} is in an inconsistent state `{s}`"),
                            ));
                        }
                    }
                }
            };
            tx.commit().map_err(sql_err("commit claim"))?;
            Ok(claim)
        })
        .await
    }

    async fn complete(&self, lease: &Lease, receipt: &Receipt) -> Result<()> {
        let lease = lease.clone();
        let receipt = encode(BACKEND, "receipt", receipt)?;
        self.call(move |conn| {
            let now = to_micros(Utc::now());
            let n = conn
                .execute(
                    "UPDATE dedup_jobs SET state = 'done', receipt = ?3, token = NULL,
                            expires_us = NULL, updated_us = ?4
                     WHERE job_id = ?1 AND state = 'leased' AND token = ?2",
                    params![lease.job.as_str(), lease.token, receipt, now],
                )
                .map_err(sql_err("complete job"))?;
            if n == 1 {
                return Ok(());
            }
            let state: Option<String> = conn
                .query_row(
                    "SELECT state FROM dedup_jobs WHERE job_id = ?1",
                    params![lease.job.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err("read job state"))?;
            if state.as_deref() == Some("done") {
                Ok(())
            } else {
                Err(lease_lost(BACKEND, &lease.job))
            }
        })
        .await
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        let lease = lease.clone();
        self.call(move |conn| {
            let now = to_micros(Utc::now());
            conn.execute(
                "UPDATE dedup_jobs SET state = 'released', token = NULL, expires_us = NULL, updated_us = ?3
                 WHERE job_id = ?1 AND state = 'leased' AND token = ?2",
                params![lease.job.as_str(), lease.token, now],
            )
            .map_err(sql_err("release job"))?;
            Ok(())
        })
        .await
    }

    async fn state(&self, job: &JobId) -> Result<Option<JobState>> {
        let job = job.clone();
        self.call(move |conn| {
            type Row = (String, Option<String>, Option<i64>, i64, Option<String>);
            let row: Option<Row> = conn
                .query_row(
                    "SELECT state, token, expires_us, attempt, receipt FROM dedup_jobs WHERE job_id = ?1",
                    params![job.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(sql_err("read job state"))?;
            Ok(match row {
                Some((s, _, _, _, Some(r))) if s == "done" => {
                    Some(JobState::Done(decode(BACKEND, "receipt", &r)?))
                }
                Some((s, Some(token), Some(us), attempt, _)) if s == "leased" => {
                    Some(JobState::Leased(Lease {
                        job: job.clone(),
                        token,
                        expires_at: from_micros(BACKEND, us)?,
                        attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
                    }))
                }
                _ => None,
            })
        })
        .await
    }
}

/// A WHERE clause under construction with its positional parameters.
struct Filter {
    clauses: Vec<String>,
    params: Vec<SqlValue>,
}

impl Filter {
    fn new() -> Self {
        Self {
            clauses: vec!["1 = 1".into()],
            params: Vec::new(),
        }
    }

    fn push(&mut self, column_op: &str, value: SqlValue) {
        self.params.push(value);
        self.clauses
            .push(format!("{column_op} ?{}", self.params.len()));
    }

    fn record(&mut self, key: &RecordKey) {
        self.push("system =", SqlValue::Text(key.system.as_str().to_string()));
        self.push("stream =", SqlValue::Text(key.stream.clone()));
        self.push("source_id =", SqlValue::Text(key.source_id.clone()));
    }

    fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

fn stored_event(e: &AuditEvent) -> Result<(i64, String, String)> {
    let detail = encode(BACKEND, "audit detail", &redact_json(&e.detail))?;
    Ok((to_micros(e.at), redact_text(&e.message), detail))
}

#[async_trait]
impl AuditSink for SqliteStore {
    async fn append(&self, event: AuditEvent) -> Result<()> {
        let (at, message, detail) = stored_event(&event)?;
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO audit_events(at_us, run, system, stream, source_id, job_id, stage, message, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    at,
                    event.run.0,
                    event.record.system.as_str(),
                    event.record.stream,
                    event.record.source_id,
                    event.job.as_ref().map(JobId::as_str),
                    event.stage.as_str(),
                    message,
                    detail
                ],
            )
            .map_err(sql_err("append audit event"))?;
            Ok(())
        })
        .await
    }

    async fn query(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let mut f = Filter::new();
        if let Some(r) = &q.record {
            f.record(r);
        }
        if let Some(run) = &q.run {
            f.push("run =", SqlValue::Text(run.0.clone()));
        }
        if let Some(stage) = q.stage {
            f.push("stage =", SqlValue::Text(stage.as_str().into()));
        }
        if let Some(since) = q.since {
            f.push("at_us >=", SqlValue::Integer(to_micros(since)));
        }
        let limit = q.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let sql = format!(
            "SELECT at_us, run, system, stream, source_id, job_id, stage, message, detail
             FROM audit_events WHERE {} ORDER BY at_us, id LIMIT {limit}",
            f.sql()
        );
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(sql_err("query audit"))?;
            type Row = (
                i64,
                String,
                String,
                String,
                String,
                Option<String>,
                String,
                String,
                String,
            );
            let rows: Vec<Row> = stmt
                .query_map(rusqlite::params_from_iter(f.params.iter()), |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                })
                .map_err(sql_err("query audit"))?
                .collect::<rusqlite::Result<_>>()
                .map_err(sql_err("read audit rows"))?;
            rows.into_iter()
                .map(
                    |(at, run, system, stream, source_id, job, stage, message, detail)| {
                        Ok(AuditEvent {
                            at: from_micros(BACKEND, at)?,
                            run: RunId(run),
                            record: RecordKey::new(SystemId::parse(&system), stream, source_id),
                            job: job.map(JobId::from_raw),
                            stage: AuditStage::parse(&stage).ok_or_else(|| {
                                Error::store(BACKEND, format!("unknown audit stage `{stage}`"))
                            })?,
                            message,
                            detail: decode(BACKEND, "audit detail", &detail)?,
                        })
                    },
                )
                .collect()
        })
        .await
    }

    async fn park(&self, letter: DeadLetter) -> Result<()> {
        let record = encode(BACKEND, "dead-letter record", &letter.record)?;
        let error = redact_text(&letter.error);
        self.call(move |conn| {
            let key = &letter.record.key;
            conn.execute(
                "INSERT INTO dead_letters(system, stream, source_id, run, error, parked_us, failures, resolved_us, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(system, stream, source_id) WHERE resolved_us IS NULL DO UPDATE SET
                    run = excluded.run, error = excluded.error, parked_us = excluded.parked_us,
                    failures = excluded.failures, resolved_us = excluded.resolved_us,
                    record = excluded.record",
                params![
                    key.system.as_str(),
                    key.stream,
                    key.source_id,
                    letter.run.0,
                    error,
                    to_micros(letter.parked_at),
                    i64::from(letter.failures),
                    letter.resolved_at.map(to_micros),
                    record
                ],
            )
            .map_err(sql_err("park dead letter"))?;
            Ok(())
        })
        .await
    }

    async fn dead_letters(&self, q: &DeadLetterQuery) -> Result<Vec<DeadLetter>> {
        let mut f = Filter::new();
        if let Some(r) = &q.record {
            f.record(r);
        }
        if let Some(run) = &q.run {
            f.push("run =", SqlValue::Text(run.0.clone()));
        }
        if let Some(since) = q.since {
            f.push("parked_us >=", SqlValue::Integer(to_micros(since)));
        }
        if !q.include_resolved {
            f.clauses.push("resolved_us IS NULL".into());
        }
        let sql = format!(
            "SELECT run, error, parked_us, failures, resolved_us, record
             FROM dead_letters WHERE {} ORDER BY parked_us, id",
            f.sql()
        );
        self.call(move |conn| {
            let mut stmt = conn
                .prepare_cached(&sql)
                .map_err(sql_err("query dead letters"))?;
            type Row = (String, String, i64, i64, Option<i64>, String);
            let rows: Vec<Row> = stmt
                .query_map(rusqlite::params_from_iter(f.params.iter()), |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .map_err(sql_err("query dead letters"))?
                .collect::<rusqlite::Result<_>>()
                .map_err(sql_err("read dead-letter rows"))?;
            rows.into_iter()
                .map(|(run, error, parked, failures, resolved, record)| {
                    Ok(DeadLetter {
                        record: decode::<SourceRecord>(BACKEND, "dead-letter record", &record)?,
                        run: RunId(run),
                        error,
                        parked_at: from_micros(BACKEND, parked)?,
                        failures: u32::try_from(failures).unwrap_or(u32::MAX),
                        resolved_at: resolved.map(|us| from_micros(BACKEND, us)).transpose()?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn resolve(&self, record: &RecordKey, at: DateTime<Utc>) -> Result<()> {
        let key = record.clone();
        self.call(move |conn| {
            conn.execute(
                "UPDATE dead_letters SET resolved_us = ?4
                 WHERE system = ?1 AND stream = ?2 AND source_id = ?3 AND resolved_us IS NULL",
                params![
                    key.system.as_str(),
                    key.stream,
                    key.source_id,
                    to_micros(at)
                ],
            )
            .map_err(sql_err("resolve dead letter"))?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl CheckpointStore for SqliteStore {
    async fn load(&self, key: &CheckpointKey) -> Result<Option<Cursor>> {
        let key = key.clone();
        self.call(move |conn| {
            let s: Option<String> = conn
                .query_row(
                    "SELECT cursor FROM checkpoints WHERE source = ?1 AND stream = ?2",
                    params![key.source, key.stream],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err("load checkpoint"))?;
            s.map(|s| decode(BACKEND, "checkpoint cursor", &s))
                .transpose()
        })
        .await
    }

    async fn commit(&self, key: &CheckpointKey, cursor: &Cursor) -> Result<()> {
        let key = key.clone();
        let cursor = encode(BACKEND, "checkpoint cursor", cursor)?;
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO checkpoints(source, stream, cursor, updated_us) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(source, stream) DO UPDATE SET cursor = excluded.cursor, updated_us = excluded.updated_us",
                params![key.source, key.stream, cursor, to_micros(Utc::now())],
            )
            .map_err(sql_err("commit checkpoint"))?;
            Ok(())
        })
        .await
    }
}
