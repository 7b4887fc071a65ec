//! # ml-connector
//!
//! Moves commerce data into an ERP, safely and on a schedule the host controls:
//!
//! * **Adobe Commerce → QAD**: sales orders, captured invoices, credit memos (→ credit notes),
//!   customers and B2B companies, with every SKU resolved to a real QAD item first.
//! * **Amazon Seller Central (SP-API) → QAD**: orders, settlement reports (→ receivables and
//!   balanced GL journals), FBA and merchant inventory (→ stock alignment); and **QAD → Amazon**
//!   listings.
//!
//! The library is a set of parts that a host composes into pipelines:
//!
//! | part | trait | provided |
//! |---|---|---|
//! | where records come from | [`SourceSystem`] | Adobe Commerce, Amazon SP-API, QAD items |
//! | record → ERP documents | [`Mapper`] | default mappers in [`mapping`] |
//! | where documents go | [`ErpSink`] | QAD, Amazon Listings |
//! | "has this job been done?" | [`DedupStore`] | memory, SQLite, PostgreSQL, Redis |
//! | every stage of every record | [`AuditSink`] | memory, SQLite, PostgreSQL |
//! | where a stream resumes | [`CheckpointStore`] | memory, SQLite, PostgreSQL, Redis |
//!
//! Every HTTP client shares one transport kernel ([`http`]): per-operation rate buckets, an auth
//! hook, a per-system response classifier, full-jitter backoff honouring `Retry-After`, a retry
//! budget, a single-flight token cache and guarded pagination.
//!
//! The invariants the crate keeps are written down in `docs/architecture.md`: nothing is
//! double-booked, nothing is lost, every record has a trail, money is decimal, secrets never leak.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod core;
pub mod error;
pub mod http;
pub mod mapping;
pub mod model;
pub mod pipeline;
pub mod store;
pub mod vault;

#[cfg(feature = "adobe")]
pub mod adobe;
#[cfg(feature = "amazon")]
pub mod amazon;
#[cfg(feature = "qad")]
pub mod qad;
#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use crate::core::{AuditSink, CheckpointStore, DedupStore, ErpSink, Mapper, SourceSystem};
pub use crate::error::{Error, ErrorKind, Result};
