//! QAD Adaptive ERP: the [`QadSink`] and the reads the mappers need.
//!
//! QAD publishes no shared API host and no public REST reference, so this module is a thin,
//! registry-driven REST client (see `docs/qad.md`):
//!
//! * [`config`]: the tenant — full base URL (validated strictly), domain, entity, shared set,
//!   default site, optional `x-qad-workspace-id`, OAuth password grant or HTTP Basic, business
//!   defaults.
//! * [`registry`]: component paths, view URIs, browse ids and field names as data, with the
//!   best-known defaults, overridable per tenant, checked against a strict grammar.
//! * [`client`]: business components (`api/erp/…`) and browses (`api/qracore/browses`) through
//!   the transport kernel, with the QAD [`classify`]er (HTTP 200 + `submitResult.success=false`
//!   is a business error carrying QAD's field names).
//! * [`sink`]: connect (login, domain, browse fields, component probes → allowlist), find
//!   (read before write on deterministic keys) and post for every document kind.
//! * [`reads`]: item master, customer master, stock levels.
//!
//! ```no_run
//! # async fn demo() -> ml_connector::Result<()> {
//! use ml_connector::ErpSink;
//! use ml_connector::qad::{QadConfig, QadSink};
//!
//! let sink = QadSink::new(QadConfig::from_file("qad.toml")?)?;
//! let caps = sink.connect().await?; // refuses writes to anything not validated here
//! println!("{caps:?}");
//! # Ok(()) }
//! ```

pub mod auth;
pub mod classify;
pub mod client;
pub mod config;
pub mod payloads;
pub mod reads;
pub mod registry;
pub mod sink;
pub mod wire;

pub use classify::QadClassifier;
pub use client::{Filter, FilterOp, QadClient};
pub use config::{
    CustomerDefaults, QadAuthConfig, QadConfig, QadConfigBuilder, QadSettings, SalesOrderDefaults,
    TenantDefaults, Timeouts, validate_base_url,
};
pub use reads::{QadCustomer, QadItem, StockLevel};
pub use registry::Registry;
pub use sink::{ConnectReport, QadSink};
