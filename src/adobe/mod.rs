//! Adobe Commerce (Magento 2) source, for both deployment models.
//!
//! * **PaaS / on-prem / Commerce on Cloud**: `https://host/rest/{store_code}/V1/…`, requests
//!   signed with the integration's OAuth 1.0a credentials ([`OAuth1Signer`], HMAC-SHA256 by
//!   default, HMAC-SHA1 for stores before 2.4.4).
//! * **Adobe Commerce as a Cloud Service**: `https://{server}.api.commerce.adobe.com/{tenant}/V1/…`
//!   with the `Store` header and a cached Adobe IMS client-credentials token
//!   ([`auth::ims_auth`]) plus `x-api-key` and `x-gw-ims-org-id`.
//!
//! [`AdobeSource`] implements [`SourceSystem`](crate::SourceSystem) for the streams `orders`,
//! `invoices`, `creditmemos`, `customers`, `companies` and `products`: incremental reads with the
//! (`updated_at`, `entity_id`) keyset loop that loses nothing while the store keeps changing,
//! canonical records that count every sold unit once ([`convert`]), and the raw JSON of every
//! record. Every request goes through the shared transport kernel ([`crate::http`]).
//!
//! With the `webhooks` feature, [`webhook`] receives Adobe Commerce webhooks and Adobe I/O
//! Events, verifies their RSA signatures and turns them into "poll this stream now" triggers.
//!
//! ```no_run
//! # async fn demo() -> ml_connector::Result<()> {
//! use futures::TryStreamExt;
//! use ml_connector::SourceSystem;
//! use ml_connector::adobe::{AdobeConfig, AdobeSource, OAuth1Credentials};
//!
//! let cfg = AdobeConfig::paas(
//!     "https://shop.example.com",
//!     OAuth1Credentials::new("ck", "cs", "at", "ts"),
//! )
//! .store_code("default")
//! .build()?;
//! let source = AdobeSource::new(cfg)?;
//! let mut pages = source.changes("orders", None);
//! while let Some(page) = pages.try_next().await? {
//!     // post page.records, then commit page.cursor
//! #   let _ = page;
//! }
//! # Ok(()) }
//! ```

pub mod auth;
pub mod client;
pub mod config;
pub mod convert;
pub mod oauth1;
pub mod search;
pub mod source;
#[cfg(feature = "webhooks")]
pub mod webhook;
pub mod wire;

pub use client::{AdobeClassifier, AdobeClient};
pub use config::{AdobeConfig, AdobeConfigBuilder, Credentials, Deployment, ImsCredentials};
pub use convert::{BundleLines, ConvertOptions};
pub use oauth1::{OAuth1Credentials, OAuth1Signer, SignatureMethod};
pub use search::{Condition, Direction, FilterGroup, SearchCriteria};
pub use source::{AdobeCursor, AdobeSource, STREAMS};
