//! QAD Adaptive ERP sink: per-tenant configuration, a validated entity registry, QAD's wire
//! shapes and (after the transport kernel) the client and `QadSink`.

pub mod config;
pub mod payloads;
pub mod registry;
pub mod wire;

pub use config::{
    CustomerDefaults, QadAuthConfig, QadConfig, QadConfigBuilder, QadSettings, SalesOrderDefaults,
    TenantDefaults, Timeouts, validate_base_url,
};
pub use registry::Registry;
