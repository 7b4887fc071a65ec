//! Amazon Selling Partner API (SP-API): orders, settlements, Finances transactions, FBA and
//! merchant inventory as a [`SourceSystem`](crate::SourceSystem) ([`AmazonSource`]), and Listings
//! Items as the catalog-push destination ([`AmazonListingsSink`]).
//!
//! One [`SpApiClient`] per (seller, region); the source and the sink of one seller/region share
//! it (and with it the rate buckets). Every call goes through the transport kernel
//! ([`crate::http`]): a rate bucket per (seller, region, operation) seeded from the published
//! usage plans ([`limits`]) and re-seeded from `x-amzn-RateLimit-Limit`, the LWA access token in
//! `x-amz-access-token` ([`auth`]), the SP-API classifier ([`AmazonClassifier`]), full-jitter
//! backoff with a retry budget, and one refresh on Amazon's expired-token 403. No SigV4: Amazon
//! stopped requiring it in October 2023.
//!
//! ```no_run
//! use std::sync::Arc;
//! use ml_connector::amazon::{AmazonConfig, AmazonListingsSink, AmazonSource, LwaCredentials,
//!     Region, SpApiClient};
//!
//! # fn main() -> ml_connector::Result<()> {
//! let creds = LwaCredentials::new("amzn1.application-oa2-client.x", "secret", "Atzr|…");
//! let cfg = AmazonConfig::new("A1SELLER", Region::Eu, vec!["A1PA6795UKMFR9".into()], creds);
//! let client = Arc::new(SpApiClient::new(cfg)?);
//! let source = AmazonSource::with_client(client.clone());
//! let listings = AmazonListingsSink::new(client);
//! # let _ = (source, listings);
//! # Ok(()) }
//! ```
//!
//! See `docs/amazon.md` for configuration, regions, rate limits and what each stream reads.

pub mod auth;
pub mod classify;
pub mod client;
pub mod config;
pub mod limits;
pub mod listings;
pub mod orders;
pub mod records;
pub mod region;
pub mod settlement;
pub mod source;
pub mod wire;

pub use auth::{LwaCredentials, LwaTokenSource};
pub use classify::AmazonClassifier;
pub use client::SpApiClient;
pub use config::{
    AmazonConfig, FinancesSettings, InventorySettings, OrdersApi, OrdersSettings,
    SettlementSettings,
};
pub use listings::AmazonListingsSink;
pub use region::{Environment, Marketplace, Region};
pub use settlement::{ParsedSettlement, parse_settlement};
pub use source::AmazonSource;
