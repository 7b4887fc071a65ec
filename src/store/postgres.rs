//! PostgreSQL stores for several workers sharing one state: dedup claims with leases, the audit
//! trail, dead letters and checkpoints, in one schema (default `ml_connector`).
//!
//! A claim is one statement, `INSERT … ON CONFLICT (job_id) DO UPDATE … WHERE <lease lapsed or
//! released> RETURNING attempt`, so two workers racing for a job get one winner without explicit
//! locks. Lease times come from the database clock (`clock_timestamp()`), so workers' clocks may
//! drift without breaking leases. The schema is created idempotently under an advisory lock.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use super::codec::{check_ident, decode, encode, from_micros, lease_lost, lease_millis, to_micros};
use crate::core::{
    AuditEvent, AuditQuery, AuditSink, AuditStage, CheckpointKey, CheckpointStore, Claim, Cursor,
    DeadLetter, DeadLetterQuery, DedupStore, JobState, Lease, Receipt, redact_json, redact_text,
};
use crate::error::{Error, Result};
use crate::model::{JobId, RecordKey, RunId, SourceRecord, SystemId};

const BACKEND: &str = "postgres";

/// Connection settings for [`PostgresStore`].
#[derive(Clone)]
pub struct PostgresConfig {
    pg: tokio_postgres::Config,
    /// The schema holding the tables (created if missing). Default `ml_connector`.
    pub schema: String,
    /// Maximum pooled connections. Default 8.
    pub pool_size: usize,
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("target", &describe(&self.pg))
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// `user@host:port/db`, never the password.
fn describe(pg: &tokio_postgres::Config) -> String {
    let host = pg
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        pg.get_user().unwrap_or("(default user)"),
        pg.get_dbname().unwrap_or("(default db)")
    )
}

impl PostgresConfig {
    /// Parses `postgres://user[:password]@host[:port]/db[?schema=name&pool_size=n&…]`. `schema`
    /// and `pool_size` are this crate's; every other parameter goes to `tokio-postgres`.
    ///
    /// # Errors
    /// [`Error::Config`] naming what is wrong (the password is never echoed).
    pub fn from_url(url: &str) -> Result<Self> {
        let mut parsed = url::Url::parse(url).map_err(|e| {
            Error::config(
                "store.url",
                format!("not a valid PostgreSQL URL ({e}); expected postgres://user@host:5432/db"),
            )
        })?;
        let mut schema = "ml_connector".to_string();
        let mut pool_size = 8usize;
        let mut rest: Vec<(String, String)> = Vec::new();
        for (k, v) in parsed.query_pairs() {
            match k.as_ref() {
                "schema" => schema = v.into_owned(),
                "pool_size" => {
                    pool_size = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        Error::config("store.url", "pool_size must be a positive integer")
                    })?;
                }
                _ => rest.push((k.into_owned(), v.into_owned())),
            }
        }
        check_ident("store.url schema", &schema)?;
        if rest.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(rest);
        }
        let pg = tokio_postgres::Config::from_str(parsed.as_str()).map_err(|e| {
            Error::config(
                "store.url",
                format!("PostgreSQL URL rejected: {}", redact_text(&e.to_string())),
            )
        })?;
        Ok(Self {
            pg,
            schema,
            pool_size,
        })
    }

    /// Uses `schema` instead of the default (tests isolate themselves this way).
    ///
    /// # Errors
    /// [`Error::Config`] when the name is not a plain lower-case identifier.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Result<Self> {
        let schema = schema.into();
        check_ident("store.postgres.schema", &schema)?;
        self.schema = schema;
        Ok(self)
    }
}

fn pg_err(op: &'static str) -> impl FnOnce(tokio_postgres::Error) -> Error {
    move |e| {
        let transient = match e.code() {
            None => true, // I/O, closed connection, timeout
            Some(code) => {
                let c = code.code();
                c.starts_with("08") // connection exception
                    || c.starts_with("40") // serialization failure, deadlock
                    || c.starts_with("53") // insufficient resources
                    || c.starts_with("57P") // admin shutdown, cannot connect now
            }
        };
        let message = match e.as_db_error() {
            Some(db) => format!("{op}: {} ({})", db.message(), db.code().code()),
            None => format!("{op}: {e}"),
        };
        if transient {
            Error::store_transient(BACKEND, message)
        } else {
            Error::store(BACKEND, message)
        }
    }
}

/// SQL for "micros parameter → timestamptz".
fn ts(p: &str) -> String {
    format!("(timestamptz 'epoch' + ({p})::int8 * interval '1 microsecond')")
}

/// SQL for "timestamptz column → micros".
fn us(col: &str) -> String {
    format!("(extract(epoch from {col}) * 1000000)::int8")
}

/// Dedup claims, audit trail, dead letters and checkpoints in PostgreSQL.
///
/// Implements [`DedupStore`], [`AuditSink`] and [`CheckpointStore`] over one connection pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: String,
    target: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

type Param = Box<dyn ToSql + Sync + Send>;

impl PostgresStore {
    /// Connects, and creates the schema and its tables if they do not exist.
    ///
    /// # Errors
    /// [`Error::Store`] naming the server when it cannot be reached or the schema cannot be
    /// created (e.g. the user lacks `CREATE` on the database).
    pub async fn connect(config: PostgresConfig) -> Result<Self> {
        let target = describe(&config.pg);
        let mgr = Manager::from_config(
            config.pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::store(BACKEND, format!("cannot build the pool: {e}")))?;
        let store = Self {
            pool,
            schema: config.schema,
            target,
        };
        store.create_schema().await?;
        Ok(store)
    }

    /// Opens the store at `url` (see [`PostgresConfig::from_url`]).
    ///
    /// # Errors
    /// As [`PostgresConfig::from_url`] and [`PostgresStore::connect`].
    pub async fn connect_url(url: &str) -> Result<Self> {
        Self::connect(PostgresConfig::from_url(url)?).await
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Drops the schema and everything in it. Meant for tests that created a throw-away schema.
    ///
    /// # Errors
    /// [`Error::Store`] when the statement fails.
    pub async fn drop_schema(&self) -> Result<()> {
        let client = self.client().await?;
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.schema
            ))
            .await
            .map_err(pg_err("drop schema"))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| {
            Error::store_transient(
                BACKEND,
                format!(
                    "cannot get a connection to {} ({}); check that the server is running and the URL",
                    self.target,
                    redact_text(&e.to_string())
                ),
            )
        })
    }

    fn t(&self, table: &str) -> String {
        format!("\"{}\".{table}", self.schema)
    }

    async fn create_schema(&self) -> Result<()> {
        let s = &self.schema;
        let sql = format!(
            r#"
SELECT pg_advisory_xact_lock(4242104217);
CREATE SCHEMA IF NOT EXISTS "{s}";
CREATE TABLE IF NOT EXISTS "{s}".meta (key text PRIMARY KEY, value text NOT NULL);
INSERT INTO "{s}".meta(key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;
CREATE TABLE IF NOT EXISTS "{s}".dedup_jobs (
    job_id        text PRIMARY KEY,
    state         text NOT NULL CHECK (state IN ('leased', 'released', 'done')),
    token         text,
    expires_at    timestamptz,
    attempt       int4 NOT NULL,
    receipt       jsonb,
    completed_at  timestamptz,
    updated_at    timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS "{s}".audit_events (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL,
    run        text NOT NULL,
    system     text NOT NULL,
    stream     text NOT NULL,
    source_id  text NOT NULL,
    job_id     text,
    stage      text NOT NULL,
    message    text NOT NULL,
    detail     jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_record ON "{s}".audit_events(system, stream, source_id, at);
CREATE INDEX IF NOT EXISTS audit_events_run ON "{s}".audit_events(run, at);
CREATE INDEX IF NOT EXISTS audit_events_at ON "{s}".audit_events(at);
CREATE OR REPLACE FUNCTION "{s}".audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
$f$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END $f$;
DO $d$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgname = 'audit_events_append_only'
                     AND tgrelid = '"{s}".audit_events'::regclass) THEN
        CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON "{s}".audit_events
        FOR EACH ROW EXECUTE FUNCTION "{s}".audit_append_only();
    END IF;
END $d$;
CREATE TABLE IF NOT EXISTS "{s}".dead_letters (
    id           bigserial PRIMARY KEY,
    system       text NOT NULL,
    stream       text NOT NULL,
    source_id    text NOT NULL,
    run          text NOT NULL,
    error        text NOT NULL,
    parked_at    timestamptz NOT NULL,
    failures     int4 NOT NULL,
    resolved_at  timestamptz,
    record       jsonb NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_open
    ON "{s}".dead_letters(system, stream, source_id) WHERE resolved_at IS NULL;
CREATE INDEX IF NOT EXISTS dead_letters_parked ON "{s}".dead_letters(parked_at);
CREATE TABLE IF NOT EXISTS "{s}".checkpoints (
    source      text NOT NULL,
    stream      text NOT NULL,
    cursor      jsonb NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (source, stream)
);
"#
        );
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_err("begin schema creation"))?;
        tx.batch_execute(&sql)
            .await
            .map_err(pg_err("create schema"))?;
        tx.commit().await.map_err(pg_err("commit schema creation"))
    }

    async fn query(&self, sql: &str, params: &[Param]) -> Result<Vec<tokio_postgres::Row>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(sql)
            .await
            .map_err(pg_err("prepare query"))?;
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        client.query(&stmt, &refs).await.map_err(pg_err("query"))
    }
}

#[async_trait]
impl DedupStore for PostgresStore {
    async fn claim(&self, job: &JobId, lease: Duration) -> Result<Claim> {
        let jobs = self.t("dedup_jobs");
        let claim_sql = format!(
            "INSERT INTO {jobs} AS j (job_id, state, token, expires_at, attempt, updated_at)
             VALUES ($1, 'leased', $2, clock_timestamp() + $3::int8 * interval '1 millisecond', 1, clock_timestamp())
             ON CONFLICT (job_id) DO UPDATE SET
                state = 'leased', token = EXCLUDED.token, expires_at = EXCLUDED.expires_at,
                attempt = j.attempt + 1, updated_at = EXCLUDED.updated_at
             WHERE j.state = 'released' OR (j.state = 'leased' AND j.expires_at <= clock_timestamp())
             RETURNING attempt, {}",
            us("j.expires_at")
        );
        let read_sql = format!(
            "SELECT state, {}, receipt::text, expires_at > clock_timestamp() FROM {jobs} WHERE job_id = $1",
            us("expires_at")
        );
        let client = self.client().await?;
        let claim_stmt = client
            .prepare_cached(&claim_sql)
            .await
            .map_err(pg_err("prepare claim"))?;
        let read_stmt = client
            .prepare_cached(&read_sql)
            .await
            .map_err(pg_err("prepare job read"))?;
        let millis = lease_millis(lease);
        // The claim itself is one atomic statement; the read after a refused claim only says
        // why. If the state changed in between (released, lapsed), claim again.
        for _ in 0..8 {
            let token = uuid::Uuid::new_v4().to_string();
            if let Some(row) = client
                .query_opt(&claim_stmt, &[&job.as_str(), &token, &millis])
                .await
                .map_err(pg_err("claim job"))?
            {
                let attempt: i32 = row.get(0);
                return Ok(Claim::Claimed(Lease {
                    job: job.clone(),
                    token,
                    expires_at: from_micros(BACKEND, row.get(1))?,
                    attempt: u32::try_from(attempt).unwrap_or(1),
                }));
            }
            let Some(row) = client
                .query_opt(&read_stmt, &[&job.as_str()])
                .await
                .map_err(pg_err("read job state"))?
            else {
                continue;
            };
            let state: String = row.get(0);
            let expires: Option<i64> = row.get(1);
            let receipt: Option<String> = row.get(2);
            let live: Option<bool> = row.get(3);
            match (state.as_str(), receipt, expires, live) {
                ("done", Some(r), _, _) => return Ok(Claim::Done(decode(BACKEND, "receipt", &r)?)),
                ("leased", _, Some(us), Some(true)) => {
                    return Ok(Claim::Busy {
                        until: from_micros(BACKEND, us)?,
                    });
                }
                _ => continue,
            }
        }
        Err(Error::store_transient(
            BACKEND,
            format!("claim of job {job} kept changing hands; try again"),
        ))
    }

    async fn complete(&self, lease: &Lease, receipt: &Receipt) -> Result<()> {
        let jobs = self.t("dedup_jobs");
        let receipt = encode(BACKEND, "receipt", receipt)?;
        let rows = self
            .query(
                &format!(
                    "UPDATE {jobs} SET state = 'done', receipt = ($3::text)::jsonb, token = NULL,
                            expires_at = NULL, completed_at = clock_timestamp(), updated_at = clock_timestamp()
                     WHERE job_id = $1 AND state = 'leased' AND token = $2
                     RETURNING 1"
                ),
                &[
                    Box::new(lease.job.as_str().to_string()),
                    Box::new(lease.token.clone()),
                    Box::new(receipt),
                ],
            )
            .await?;
        if !rows.is_empty() {
            return Ok(());
        }
        let rows = self
            .query(
                &format!("SELECT state FROM {jobs} WHERE job_id = $1"),
                &[Box::new(lease.job.as_str().to_string())],
            )
            .await?;
        match rows.first().map(|r| r.get::<_, String>(0)) {
            Some(s) if s == "done" => Ok(()),
            _ => Err(lease_lost(BACKEND, &lease.job)),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        let jobs = self.t("dedup_jobs");
        self.query(
            &format!(
                "UPDATE {jobs} SET state = 'released', token = NULL, expires_at = NULL, updated_at = clock_timestamp()
                 WHERE job_id = $1 AND state = 'leased' AND token = $2
                 RETURNING 1"
            ),
            &[
                Box::new(lease.job.as_str().to_string()),
                Box::new(lease.token.clone()),
            ],
        )
        .await?;
        Ok(())
    }

    async fn state(&self, job: &JobId) -> Result<Option<JobState>> {
        let jobs = self.t("dedup_jobs");
        let rows = self
            .query(
                &format!(
                    "SELECT state, token, {}, attempt, receipt::text FROM {jobs} WHERE job_id = $1",
                    us("expires_at")
                ),
                &[Box::new(job.as_str().to_string())],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let state: String = row.get(0);
        let token: Option<String> = row.get(1);
        let expires: Option<i64> = row.get(2);
        let attempt: i32 = row.get(3);
        let receipt: Option<String> = row.get(4);
        Ok(match (state.as_str(), token, expires, receipt) {
            ("done", _, _, Some(r)) => Some(JobState::Done(decode(BACKEND, "receipt", &r)?)),
            ("leased", Some(token), Some(us), _) => Some(JobState::Leased(Lease {
                job: job.clone(),
                token,
                expires_at: from_micros(BACKEND, us)?,
                attempt: u32::try_from(attempt).unwrap_or(1),
            })),
            _ => None,
        })
    }
}

/// A WHERE clause under construction with its parameters.
struct Filter {
    clauses: Vec<String>,
    params: Vec<Param>,
}

impl Filter {
    fn new() -> Self {
        Self {
            clauses: vec!["TRUE".into()],
            params: Vec::new(),
        }
    }

    fn text(&mut self, column: &str, value: String) {
        self.params.push(Box::new(value));
        self.clauses
            .push(format!("{column} = ${}", self.params.len()));
    }

    fn since(&mut self, column: &str, at: DateTime<Utc>) {
        self.params.push(Box::new(to_micros(at)));
        self.clauses.push(format!(
            "{column} >= {}",
            ts(&format!("${}", self.params.len()))
        ));
    }

    fn record(&mut self, key: &RecordKey) {
        self.text("system", key.system.as_str().to_string());
        self.text("stream", key.stream.clone());
        self.text("source_id", key.source_id.clone());
    }

    fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

#[async_trait]
impl AuditSink for PostgresStore {
    async fn append(&self, event: AuditEvent) -> Result<()> {
        let detail = encode(BACKEND, "audit detail", &redact_json(&event.detail))?;
        let sql = format!(
            "INSERT INTO {} (at, run, system, stream, source_id, job_id, stage, message, detail)
             VALUES ({}, $2, $3, $4, $5, $6, $7, $8, ($9::text)::jsonb)",
            self.t("audit_events"),
            ts("$1")
        );
        self.query(
            &sql,
            &[
                Box::new(to_micros(event.at)),
                Box::new(event.run.0),
                Box::new(event.record.system.as_str().to_string()),
                Box::new(event.record.stream),
                Box::new(event.record.source_id),
                Box::new(event.job.map(|j| j.as_str().to_string())),
                Box::new(event.stage.as_str().to_string()),
                Box::new(redact_text(&event.message)),
                Box::new(detail),
            ],
        )
        .await?;
        Ok(())
    }

    async fn query(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let mut f = Filter::new();
        if let Some(r) = &q.record {
            f.record(r);
        }
        if let Some(run) = &q.run {
            f.text("run", run.0.clone());
        }
        if let Some(stage) = q.stage {
            f.text("stage", stage.as_str().to_string());
        }
        if let Some(since) = q.since {
            f.since("at", since);
        }
        let limit = q.limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
        let sql = format!(
            "SELECT {}, run, system, stream, source_id, job_id, stage, message, detail::text
             FROM {} WHERE {} ORDER BY at, id{limit}",
            us("at"),
            self.t("audit_events"),
            f.sql()
        );
        let rows = self.query(&sql, &f.params).await?;
        rows.iter()
            .map(|r| {
                let stage: String = r.get(6);
                let detail: String = r.get(8);
                Ok(AuditEvent {
                    at: from_micros(BACKEND, r.get(0))?,
                    run: RunId(r.get(1)),
                    record: RecordKey::new(
                        SystemId::parse(r.get::<_, &str>(2)),
                        r.get::<_, String>(3),
                        r.get::<_, String>(4),
                    ),
                    job: r.get::<_, Option<String>>(5).map(JobId::from_raw),
                    stage: AuditStage::parse(&stage).ok_or_else(|| {
                        Error::store(BACKEND, format!("unknown audit stage `{stage}`"))
                    })?,
                    message: r.get(7),
                    detail: decode(BACKEND, "audit detail", &detail)?,
                })
            })
            .collect()
    }

    async fn park(&self, letter: DeadLetter) -> Result<()> {
        let record = encode(BACKEND, "dead-letter record", &letter.record)?;
        let key = &letter.record.key;
        let sql = format!(
            "INSERT INTO {} AS d (system, stream, source_id, run, error, parked_at, failures, resolved_at, record)
             VALUES ($1, $2, $3, $4, $5, {}, $7, {}, ($9::text)::jsonb)
             ON CONFLICT (system, stream, source_id) WHERE resolved_at IS NULL DO UPDATE SET
                run = EXCLUDED.run, error = EXCLUDED.error, parked_at = EXCLUDED.parked_at,
                failures = EXCLUDED.failures, resolved_at = EXCLUDED.resolved_at, record = EXCLUDED.record",
            self.t("dead_letters"),
            ts("$6"),
            ts("$8"),
        );
        self.query(
            &sql,
            &[
                Box::new(key.system.as_str().to_string()),
                Box::new(key.stream.clone()),
                Box::new(key.source_id.clone()),
                Box::new(letter.run.0.clone()),
                Box::new(redact_text(&letter.error)),
                Box::new(to_micros(letter.parked_at)),
                Box::new(i32::try_from(letter.failures).unwrap_or(i32::MAX)),
                Box::new(letter.resolved_at.map(to_micros)),
                Box::new(record),
            ],
        )
        .await?;
        Ok(())
    }

    async fn dead_letters(&self, q: &DeadLetterQuery) -> Result<Vec<DeadLetter>> {
        let mut f = Filter::new();
        if let Some(r) = &q.record {
            f.record(r);
        }
        if let Some(run) = &q.run {
            f.text("run", run.0.clone());
        }
        if let Some(since) = q.since {
            f.since("parked_at", since);
        }
        if !q.include_resolved {
            f.clauses.push("resolved_at IS NULL".into());
        }
        let sql = format!(
            "SELECT run, error, {}, failures, {}, record::text
             FROM {} WHERE {} ORDER BY parked_at, id",
            us("parked_at"),
            us("resolved_at"),
            self.t("dead_letters"),
            f.sql()
        );
        let rows = self.query(&sql, &f.params).await?;
        rows.iter()
            .map(|r| {
                let record: String = r.get(5);
                Ok(DeadLetter {
                    record: decode::<SourceRecord>(BACKEND, "dead-letter record", &record)?,
                    run: RunId(r.get(0)),
                    error: r.get(1),
                    parked_at: from_micros(BACKEND, r.get(2))?,
                    failures: u32::try_from(r.get::<_, i32>(3)).unwrap_or(0),
                    resolved_at: r
                        .get::<_, Option<i64>>(4)
                        .map(|us| from_micros(BACKEND, us))
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn resolve(&self, record: &RecordKey, at: DateTime<Utc>) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET resolved_at = {}
             WHERE system = $1 AND stream = $2 AND source_id = $3 AND resolved_at IS NULL",
            self.t("dead_letters"),
            ts("$4")
        );
        self.query(
            &sql,
            &[
                Box::new(record.system.as_str().to_string()),
                Box::new(record.stream.clone()),
                Box::new(record.source_id.clone()),
                Box::new(to_micros(at)),
            ],
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl CheckpointStore for PostgresStore {
    async fn load(&self, key: &CheckpointKey) -> Result<Option<Cursor>> {
        let rows = self
            .query(
                &format!(
                    "SELECT cursor::text FROM {} WHERE source = $1 AND stream = $2",
                    self.t("checkpoints")
                ),
                &[Box::new(key.source.clone()), Box::new(key.stream.clone())],
            )
            .await?;
        rows.first()
            .map(|r| decode(BACKEND, "checkpoint cursor", r.get::<_, &str>(0)))
            .transpose()
    }

    async fn commit(&self, key: &CheckpointKey, cursor: &Cursor) -> Result<()> {
        let cursor = encode(BACKEND, "checkpoint cursor", cursor)?;
        self.query(
            &format!(
                "INSERT INTO {} (source, stream, cursor, updated_at) VALUES ($1, $2, ($3::text)::jsonb, clock_timestamp())
                 ON CONFLICT (source, stream) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = EXCLUDED.updated_at",
                self.t("checkpoints")
            ),
            &[
                Box::new(key.source.clone()),
                Box::new(key.stream.clone()),
                Box::new(cursor),
            ],
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parsing_keeps_password_out_of_debug_and_errors() {
        let c = PostgresConfig::from_url(
            "postgres://svc:hunter2@127.0.0.1:5432/test?schema=tenant_a&pool_size=3&application_name=x",
        )
        .unwrap();
        assert_eq!(c.schema, "tenant_a");
        assert_eq!(c.pool_size, 3);
        let d = format!("{c:?}");
        assert!(d.contains("svc@127.0.0.1:5432/test"), "{d}");
        assert!(!d.contains("hunter2"), "{d}");

        let e = PostgresConfig::from_url("postgres://u:pw@h/db?schema=Bad-Name")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Bad-Name") && !e.contains("pw@"), "{e}");
    }

    #[test]
    fn default_schema() {
        let c = PostgresConfig::from_url("postgresql://postgres@localhost/test").unwrap();
        assert_eq!(c.schema, "ml_connector");
        assert_eq!(c.pool_size, 8);
    }
}
