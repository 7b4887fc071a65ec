//! Settings of one SP-API client: one seller in one region.

use std::time::Duration;

use super::auth::LwaCredentials;
use super::region::{Environment, Region};
use crate::error::{Error, Result};
use crate::http::RetryPolicy;

/// Which Orders API the `orders` stream reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrdersApi {
    /// Orders API 2026-01-01 (`searchOrders`, `getOrder`): items inline, no RDT.
    #[default]
    V2026,
    /// Orders API v0 (`getOrders` + `getOrderItems`), deprecated by Amazon (migrate by
    /// 2027-03-27); kept as a fallback.
    V0,
}

/// Orders settings.
#[derive(Debug, Clone)]
pub struct OrdersSettings {
    /// Which API.
    pub api: OrdersApi,
    /// How far a run reaches back before the committed watermark (orders updated while a
    /// window was read, clock skew). Default 5 minutes; dedup absorbs the overlap.
    pub overlap: Duration,
    /// Where the first run starts (now minus this). Default 7 days.
    pub initial_lookback: Duration,
    /// `lastUpdatedBefore` is clamped to now minus this (Amazon requires at least two minutes;
    /// default 2 minutes 30 seconds for clock skew).
    pub freshness_delay: Duration,
    /// `maxResultsPerPage` (1–100, default 100).
    pub page_size: u32,
    /// `includedData` of `searchOrders` / `getOrder` (v2026). Default: BUYER, RECIPIENT,
    /// PROCEEDS, FULFILLMENT.
    pub included_data: Vec<String>,
    /// v0 only: request a restricted data token so orders carry the buyer and the shipping
    /// address (needs the app's PII roles). Default `false`.
    pub restricted_data: bool,
}

impl Default for OrdersSettings {
    fn default() -> Self {
        Self {
            api: OrdersApi::V2026,
            overlap: Duration::from_secs(300),
            initial_lookback: Duration::from_secs(7 * 86_400),
            freshness_delay: Duration::from_secs(150),
            page_size: 100,
            included_data: ["BUYER", "RECIPIENT", "PROCEEDS", "FULFILLMENT"]
                .map(String::from)
                .to_vec(),
            restricted_data: false,
        }
    }
}

/// Settlement settings.
#[derive(Debug, Clone)]
pub struct SettlementSettings {
    /// Where the first run starts (now minus this; at most 89 days — Amazon keeps reports 90
    /// days and refuses an older `createdSince`). Default 89 days.
    pub initial_lookback: Duration,
    /// Settlement ids to skip (after an operator handled a report that cannot reconcile).
    pub skip_settlement_ids: Vec<String>,
}

impl Default for SettlementSettings {
    fn default() -> Self {
        Self {
            initial_lookback: Duration::from_secs(89 * 86_400),
            skip_settlement_ids: Vec::new(),
        }
    }
}

/// Finances settings.
#[derive(Debug, Clone)]
pub struct FinancesSettings {
    /// Where the first run starts (now minus this). Default 30 days.
    pub initial_lookback: Duration,
    /// How far a run reaches back before the watermark. Default 10 minutes.
    pub overlap: Duration,
}

impl Default for FinancesSettings {
    fn default() -> Self {
        Self {
            initial_lookback: Duration::from_secs(30 * 86_400),
            overlap: Duration::from_secs(600),
        }
    }
}

/// Inventory settings.
#[derive(Debug, Clone)]
pub struct InventorySettings {
    /// Read FBA inventory (`getInventorySummaries`). Default `true`.
    pub fba: bool,
    /// Merchant-fulfilled SKUs whose quantity to read with `getListingsItem`
    /// (`fulfillmentAvailability`).
    pub merchant_skus: Vec<String>,
}

impl Default for InventorySettings {
    fn default() -> Self {
        Self {
            fba: true,
            merchant_skus: Vec::new(),
        }
    }
}

/// Everything one SP-API client needs. A seller selling in several regions gets one
/// configuration (and one client) per region, each with that region's refresh token.
#[derive(Debug, Clone)]
pub struct AmazonConfig {
    /// The seller's merchant token (Seller Central → Account Info → Merchant Token); Listings
    /// paths carry it.
    pub seller_id: String,
    /// The region whose host serves the marketplaces.
    pub region: Region,
    /// Production or Amazon's sandbox.
    pub environment: Environment,
    /// Overrides the region's host (a simulator, a proxy), e.g. `http://127.0.0.1:8080`.
    pub endpoint: Option<String>,
    /// The marketplaces to read and write (all of `region`). Sent on every call that takes one.
    pub marketplace_ids: Vec<String>,
    /// LWA credentials.
    pub credentials: LwaCredentials,
    /// The application name and version in the `User-Agent` (`AppId/AppVersion`).
    pub app_id: String,
    /// Application version.
    pub app_version: String,
    /// The source name used in checkpoint keys (default `amazon`; give each region's source its
    /// own name, e.g. `amazon-eu`).
    pub source_name: String,
    /// Retries of one call (attempt cap and delays).
    pub retry: RetryPolicy,
    /// Runs rate limits this many times faster (simulators only; 1.0 in production).
    pub time_scale: f64,
    /// The fraction of Amazon's published (or advertised, `x-amzn-RateLimit-Limit`) rate the
    /// client's buckets run at (default 0.97). The small margin absorbs the difference between
    /// this host's clock and Amazon's so that steady state never meets a 429; bursts are not
    /// reduced.
    pub rate_safety_factor: f64,
    /// Orders.
    pub orders: OrdersSettings,
    /// Settlements.
    pub settlements: SettlementSettings,
    /// Finances.
    pub finances: FinancesSettings,
    /// Inventory.
    pub inventory: InventorySettings,
}

impl AmazonConfig {
    /// A configuration with defaults for everything but the identity.
    pub fn new(
        seller_id: impl Into<String>,
        region: Region,
        marketplace_ids: Vec<String>,
        credentials: LwaCredentials,
    ) -> Self {
        Self {
            seller_id: seller_id.into(),
            region,
            environment: Environment::Production,
            endpoint: None,
            marketplace_ids,
            credentials,
            app_id: "ml-connector".into(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            source_name: "amazon".into(),
            retry: RetryPolicy::with_attempts(8)
                .delays(Duration::from_secs(1), Duration::from_secs(60)),
            time_scale: 1.0,
            rate_safety_factor: 0.97,
            orders: OrdersSettings::default(),
            settlements: SettlementSettings::default(),
            finances: FinancesSettings::default(),
            inventory: InventorySettings::default(),
        }
    }

    /// The SP-API base URL (no trailing slash).
    pub fn base_url(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| self.region.endpoint(self.environment).to_string())
            .trim_end_matches('/')
            .to_string()
    }

    /// `AppId/AppVersion (Language=Rust; Platform=<os>)`, with Amazon's escaping of `\ / ( = ) ;`
    /// in the parts and at most 500 characters.
    pub fn user_agent(&self) -> String {
        fn esc(s: &str) -> String {
            s.chars()
                .flat_map(|c| {
                    if matches!(c, '\\' | '/' | '(' | ')' | '=' | ';') {
                        vec!['\\', c]
                    } else {
                        vec![c]
                    }
                })
                .collect()
        }
        let ua = format!(
            "{}/{} (Language=Rust; Platform={})",
            esc(&self.app_id),
            esc(&self.app_version),
            esc(std::env::consts::OS)
        );
        ua.chars().take(500).collect()
    }

    /// The rate-bucket account: `seller/region`.
    pub fn bucket_account(&self) -> String {
        format!("{}/{}", self.seller_id, self.region)
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting and the fix.
    pub fn validate(&self) -> Result<()> {
        if self.seller_id.trim().is_empty() {
            return Err(Error::config(
                "amazon.seller_id",
                "empty seller id; copy the Merchant Token from Seller Central → Account Info",
            ));
        }
        super::region::check_marketplaces(self.region, &self.marketplace_ids)?;
        if !(1..=100).contains(&self.orders.page_size) {
            return Err(Error::config(
                "amazon.orders.page_size",
                "must be between 1 and 100",
            ));
        }
        if self.orders.freshness_delay < Duration::from_secs(120) {
            return Err(Error::config(
                "amazon.orders.freshness_delay",
                "Amazon refuses a lastUpdatedBefore later than two minutes ago; use at least 120 s",
            ));
        }
        if self.settlements.initial_lookback > Duration::from_secs(89 * 86_400) {
            return Err(Error::config(
                "amazon.settlements.initial_lookback",
                "Amazon keeps reports 90 days and refuses an older createdSince; use at most 89 days",
            ));
        }
        if !(self.rate_safety_factor > 0.0 && self.rate_safety_factor <= 1.0) {
            return Err(Error::config(
                "amazon.rate_safety_factor",
                "must be in (0, 1]; 0.97 runs 3% under Amazon's rate",
            ));
        }
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(Error::config(
                "amazon.time_scale",
                "must be a positive number",
            ));
        }
        Ok(())
    }
}
