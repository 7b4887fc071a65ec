//! Simulators of the three systems (feature `sandbox`), and [`Sandbox`]: all three started
//! together with one consistent demo data set.
//!
//! * [`adobe::AdobeSim`]: Adobe Commerce REST (PaaS with OAuth 1.0a, Cloud Service with IMS).
//! * [`amazon::AmazonSim`]: SP-API with Login with Amazon, usage plans, reports, listings.
//! * [`qad::QadSimulator`]: QAD Adaptive ERP business components and browses.
//!
//! [`Sandbox::start`] starts the three on `127.0.0.1` (ephemeral ports, or fixed ones with
//! [`SandboxConfig::ports`]) and seeds them so that a sync works end to end:
//!
//! * the **QAD item master** holds every item of `examples/data/items.csv`, and every SKU the
//!   simulated store and Amazon account sell resolves to one of them through the shipped
//!   crosswalks (`examples/data/skus.csv` for Adobe Commerce, `examples/data/amazon-skus.csv`
//!   for Amazon) — with two deliberate gaps that show dead-lettering: fixed-price bundles are
//!   ordered in the store under SKUs Magento composes from their components (not in the
//!   crosswalk), and one Amazon order sells `NX-GC-0500`, a SKU created in Seller Central
//!   without a crosswalk entry;
//! * the Amazon marketplace customer `AMZUS` (the explicit code of `customers.toml`) exists in
//!   QAD; shop customers, B2B companies and guests are created by the sync itself;
//! * domain `10USA`, entity `10USACO`, sites `10-100` (default) and `10-200` (FBA stock);
//! * on-hand stock in QAD and FBA inventory on Amazon that differ for a few SKUs, and three
//!   settlement reports (US, its duplicate, a German one with decimal commas).
//!
//! [`Sandbox::systems`] returns the same [`Systems`] a configuration file resolves to, so every
//! example runs one code path against the simulators and against real systems. [`demo`] holds
//! the quickstart job.

pub mod adobe;
pub mod amazon;
pub mod demo;
pub mod qad;

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::adobe::{AdobeConfig, AdobeConfigBuilder};
use crate::amazon::{AmazonConfig, LwaCredentials, Region};
use crate::config::{ReferenceData, Systems};
use crate::error::{Error, Result};
use crate::http::RetryPolicy;
use crate::qad::{CustomerDefaults, QadAuthConfig, QadConfig, QadConfigBuilder, TenantDefaults};

use self::adobe::{AdobeSim, AdobeSimConfig};
use self::amazon::{AmazonSim, AmazonSimConfig, SimInventory, SimOrder, SimOrderStatus};
use self::qad::QadSimulator;

/// The demo data shipped in `examples/data/` (compiled in, so the sandbox needs no files).
pub mod data {
    /// The QAD item master: `item,description,uom,price`.
    pub const ITEMS_CSV: &str = include_str!("../../examples/data/items.csv");
    /// Adobe Commerce SKU → QAD item (`sku,item`).
    pub const SKUS_CSV: &str = include_str!("../../examples/data/skus.csv");
    /// Amazon seller SKU → QAD item (`sku,item`).
    pub const AMAZON_SKUS_CSV: &str = include_str!("../../examples/data/amazon-skus.csv");
    /// Customer map.
    pub const CUSTOMERS_TOML: &str = include_str!("../../examples/data/customers.toml");
    /// Account map.
    pub const ACCOUNTS_TOML: &str = include_str!("../../examples/data/accounts.toml");
    /// Mapping settings.
    pub const SETTINGS_TOML: &str = include_str!("../../examples/data/settings.toml");

    /// The Amazon SKU sold in the demo that no crosswalk knows (its order is held).
    pub const UNKNOWN_AMAZON_SKU: &str = "NX-GC-0500";
    /// The Amazon marketplace of the demo.
    pub const MARKETPLACE_US: &str = "ATVPDKIKX0DER";
    /// The QAD customer of Amazon US orders (explicit in `customers.toml`, seeded in QAD).
    pub const AMAZON_US_CUSTOMER: &str = "AMZUS";
    /// Amazon seller SKUs of the demo catalog (all in `amazon-skus.csv`).
    pub const AMAZON_SKUS: [&str; 8] = [
        "NX-TS-1001",
        "NX-TS-1002",
        "NX-MG-1005",
        "NX-AC-0071",
        "NX-BT-1012",
        "NX-HD-1200",
        "NX-HD-1201",
        "NX-KT-0003",
    ];

    /// The QAD items of `items.csv`: (code, description, uom, price).
    pub fn items() -> Vec<(String, String, String, rust_decimal::Decimal)> {
        ITEMS_CSV
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("item,"))
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').map(str::trim).collect();
                let price = f.get(3)?.parse().ok()?;
                Some((f[0].to_string(), f[1].to_string(), f[2].to_string(), price))
            })
            .collect()
    }

    /// The item an Amazon seller SKU maps to in `amazon-skus.csv`.
    pub fn amazon_item(sku: &str) -> Option<&'static str> {
        AMAZON_SKUS_CSV
            .lines()
            .filter_map(|l| l.trim().split_once(','))
            .find(|(s, _)| *s == sku)
            .map(|(_, i)| i)
    }
}

/// Sandbox settings.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Fixed local ports `(adobe, amazon, qad)`; `None` (default): ephemeral ports.
    pub ports: Option<(u16, u16, u16)>,
    /// Orders in the simulated store (default 60).
    pub adobe_orders: usize,
    /// Amazon orders (default 24, one of them with the unknown SKU).
    pub amazon_orders: u32,
    /// Seed of the store's data set (default 42).
    pub seed: u64,
    /// Simulated seconds per real second of the SP-API usage plans (default 60: a demo does
    /// not wait for Amazon's hourly rates; use 1.0 to feel the real ones).
    pub amazon_time_scale: f64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            ports: None,
            adobe_orders: 60,
            amazon_orders: 24,
            seed: 42,
            amazon_time_scale: 60.0,
        }
    }
}

/// The three simulators, seeded with one consistent data set. Dropping it stops them.
pub struct Sandbox {
    adobe: AdobeSim,
    amazon: AmazonSim,
    qad: QadSimulator,
    adobe_url: String,
    amazon_url: String,
    qad_url: String,
    relays: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("adobe", &self.adobe_url)
            .field("amazon", &self.amazon_url)
            .field("qad", &self.qad_url)
            .finish()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for r in &self.relays {
            r.abort();
        }
    }
}

/// Forwards every connection to `listener` to `target` (the simulators bind ephemeral ports;
/// this serves them on a fixed one). The simulators read the `Host` header, which the relay
/// passes through, so OAuth 1.0a signatures made for the fixed port verify.
fn relay(listener: TcpListener, target: SocketAddr) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

async fn bind_fixed(system: &str, port: u16) -> Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        Error::config(
            format!("sandbox.{system}.port"),
            format!("cannot listen on 127.0.0.1:{port} ({e}): free the port or choose another"),
        )
    })
}

fn addr_of(url: &str) -> Result<SocketAddr> {
    let u = url::Url::parse(url).map_err(|e| Error::config("sandbox", e.to_string()))?;
    let host = u.host_str().unwrap_or("127.0.0.1");
    let port = u.port().unwrap_or(80);
    format!("{host}:{port}")
        .parse()
        .map_err(|e| Error::config("sandbox", format!("{url}: {e}")))
}

/// The Amazon demo orders: `n - 1` good ones over the last three days (all older than the
/// two-minute rule), one of them pending, some FBA; and one with the unknown SKU.
fn amazon_orders(n: u32, now: DateTime<Utc>) -> Vec<SimOrder> {
    let n = n.max(2);
    let start = now - chrono::Duration::hours(72);
    let step = chrono::Duration::seconds(60 * 60 * 70 / i64::from(n));
    (0..n)
        .map(|i| {
            let at = start + step * i as i32;
            let mut o = SimOrder::generate(1000 + i, at, data::MARKETPLACE_US, "USD");
            for (j, item) in o.items.iter_mut().enumerate() {
                let sku = data::AMAZON_SKUS[(i as usize + j * 3) % data::AMAZON_SKUS.len()];
                item.sku = sku.into();
                item.title = format!("Demo product {sku}");
            }
            if i == n / 2 {
                // A SKU created in Seller Central without a crosswalk entry: held.
                o.items.truncate(1);
                o.items[0].sku = data::UNKNOWN_AMAZON_SKU.into();
                o.items[0].title = "Gift box".into();
            }
            if i == n - 1 {
                o.status = SimOrderStatus::Pending;
            } else if i % 4 == 0 {
                o.status = SimOrderStatus::Shipped;
            }
            o
        })
        .collect()
}

impl Sandbox {
    /// Starts the three simulators on ephemeral ports with the demo data.
    ///
    /// # Errors
    /// [`Error::Config`] when a port cannot be bound.
    pub async fn start() -> Result<Self> {
        Self::start_with(SandboxConfig::default()).await
    }

    /// Starts the three simulators with `cfg`.
    ///
    /// # Errors
    /// [`Error::Config`] when a port cannot be bound (naming it).
    pub async fn start_with(cfg: SandboxConfig) -> Result<Self> {
        // Bind fixed ports first: a busy port fails before anything starts.
        let fixed = match cfg.ports {
            Some((a, m, q)) => Some((
                bind_fixed("adobe", a).await?,
                bind_fixed("amazon", m).await?,
                bind_fixed("qad", q).await?,
            )),
            None => None,
        };
        let adobe = AdobeSim::start(AdobeSimConfig {
            seed: cfg.seed,
            ..AdobeSimConfig::with_orders(cfg.adobe_orders)
        })
        .await?;
        let amazon = AmazonSim::start(AmazonSimConfig {
            time_scale: cfg.amazon_time_scale,
            token_lifetime: Duration::from_secs(3600),
            marketplace_ids: vec![data::MARKETPLACE_US.into()],
            ..AmazonSimConfig::default()
        })
        .await?;
        let qad = QadSimulator::start().await?;

        let mut relays = Vec::new();
        let (adobe_url, amazon_url, qad_url) = match fixed {
            Some((a, m, q)) => {
                let urls = (
                    format!("http://{}", a.local_addr().map_err(io_config)?),
                    format!("http://{}", m.local_addr().map_err(io_config)?),
                    format!(
                        "http://{}{}",
                        q.local_addr().map_err(io_config)?,
                        qad.sim_config().prefix
                    ),
                );
                relays.push(relay(a, addr_of(adobe.base_url())?));
                relays.push(relay(m, addr_of(amazon.base_url())?));
                relays.push(relay(q, addr_of(&qad.base_url())?));
                urls
            }
            None => (
                adobe.base_url().to_string(),
                amazon.base_url().to_string(),
                qad.base_url(),
            ),
        };
        let sandbox = Self {
            adobe,
            amazon,
            qad,
            adobe_url,
            amazon_url,
            qad_url,
            relays,
        };
        sandbox.seed(&cfg);
        Ok(sandbox)
    }

    fn seed(&self, cfg: &SandboxConfig) {
        // QAD: item master, the explicit Amazon customer, stock.
        for (code, description, uom, price) in data::items() {
            self.qad.seed_item(&code, &description, &uom, price);
        }
        self.qad
            .seed_customer(data::AMAZON_US_CUSTOMER, "Amazon.com marketplace", "USD");
        // Amazon: orders, FBA inventory, settlements.
        let now = Utc::now();
        self.amazon
            .upsert_orders(amazon_orders(cfg.amazon_orders, now));
        let mut inventory = Vec::new();
        for (i, sku) in data::AMAZON_SKUS.iter().enumerate() {
            let fba = 10 + (i as i64) * 5;
            inventory.push(SimInventory {
                sku: (*sku).to_string(),
                asin: format!("B0DEMO{i:04}"),
                fulfillable: fba,
                inbound: 4,
                reserved: 1,
                unfulfillable: i64::from(i == 2),
            });
            // QAD agrees with Amazon for every other SKU; the rest differ (adjustments).
            if let Some(item) = data::amazon_item(sku) {
                let physical = fba + 1 + i64::from(i == 2);
                let qad_qty = if i % 2 == 0 { physical } else { physical - 3 };
                self.qad
                    .seed_stock("10-200", "FBA", item, Decimal::from(qad_qty));
                self.qad
                    .seed_stock("10-100", "STOCK", item, Decimal::from(20 + i as i64));
            }
        }
        self.amazon.add_inventory(inventory);
        self.amazon.add_demo_settlements();
    }

    /// The Adobe Commerce simulator.
    pub fn adobe(&self) -> &AdobeSim {
        &self.adobe
    }

    /// The SP-API simulator.
    pub fn amazon(&self) -> &AmazonSim {
        &self.amazon
    }

    /// The QAD simulator.
    pub fn qad(&self) -> &QadSimulator {
        &self.qad
    }

    /// Adobe Commerce base URL (`http://127.0.0.1:port`; PaaS routes under `/rest/…`).
    pub fn adobe_url(&self) -> &str {
        &self.adobe_url
    }

    /// SP-API endpoint (`http://127.0.0.1:port`; Login with Amazon at `/auth/o2/token`).
    pub fn amazon_url(&self) -> &str {
        &self.amazon_url
    }

    /// QAD tenant base URL (`http://127.0.0.1:port/clouderp`).
    pub fn qad_url(&self) -> &str {
        &self.qad_url
    }

    /// A PaaS (OAuth 1.0a) configuration for the store, store view `default`.
    pub fn adobe_config(&self) -> AdobeConfigBuilder {
        AdobeConfig::paas(self.adobe_url.clone(), self.adobe.oauth1_credentials())
            .store_code("default")
            .store_code_for(1, "default")
            .store_code_for(2, "fr")
            .page_size(50)
            .retry(demo_retry())
    }

    /// A Cloud Service (IMS) configuration for the store, `Store: default`.
    pub fn adobe_cloud_config(&self) -> AdobeConfigBuilder {
        let mut ims = self.adobe.ims_credentials();
        ims.token_url = format!("{}/ims/token/v3", self.adobe_url);
        let tenant = self
            .adobe
            .cloud_base_url()
            .rsplit('/')
            .next()
            .unwrap_or("sandbox-tenant")
            .to_string();
        AdobeConfig::cloud_service(format!("{}/{tenant}", self.adobe_url), ims)
            .store_code("default")
            .store_code_for(1, "default")
            .store_code_for(2, "fr")
            .page_size(50)
            .retry(demo_retry())
    }

    /// An SP-API configuration for the seller of the simulator (amazon.com).
    pub fn amazon_config(&self) -> AmazonConfig {
        let s = self.amazon.config();
        let creds = LwaCredentials::new(&s.client_id, &s.client_secret, &s.refresh_token)
            .with_token_url(format!("{}/auth/o2/token", self.amazon_url));
        let mut cfg = AmazonConfig::new(
            &s.seller_id,
            Region::Na,
            vec![data::MARKETPLACE_US.into()],
            creds,
        );
        cfg.endpoint = Some(self.amazon_url.clone());
        cfg.time_scale = s.time_scale;
        cfg.retry = demo_retry();
        cfg
    }

    /// A QAD configuration for the simulator's tenant (password grant, customer defaults).
    pub fn qad_config(&self) -> QadConfigBuilder {
        let c = self.qad.sim_config();
        let (domain, entity) = c.domains.first().cloned().unwrap_or_default();
        QadConfig::builder(self.qad_url.clone())
            .allow_insecure_loopback(true)
            .domain(domain.clone())
            .entity(entity.clone())
            .workspace_id(format!("{domain}_{entity}"))
            .shared_set(c.shared_sets.first().cloned().unwrap_or_default())
            .default_site(c.sites.first().cloned().unwrap_or_default())
            .auth(QadAuthConfig::password(
                c.client_id.clone(),
                c.username.clone(),
                c.password.clone(),
            ))
            .defaults(TenantDefaults {
                customer: CustomerDefaults {
                    invoice_control_gl_profile: Some("AR".into()),
                    credit_note_control_gl_profile: Some("AR".into()),
                    prepayment_control_gl_profile: Some("PREPAY".into()),
                    sales_account_gl_profile: Some("SALES".into()),
                    daybook_set: Some("SO".into()),
                    ..CustomerDefaults::default()
                },
                ..TenantDefaults::default()
            })
    }

    /// The demo mapping tables (the files of `examples/data/`).
    pub fn reference_data() -> ReferenceData {
        let f = |name: &str, text: &str| Some((format!("examples/data/{name}"), text.to_string()));
        ReferenceData {
            skus: f("skus.csv", data::SKUS_CSV),
            sku_rules: Vec::new(),
            adobe_skus: None,
            amazon_skus: f("amazon-skus.csv", data::AMAZON_SKUS_CSV),
            customers: f("customers.toml", data::CUSTOMERS_TOML),
            accounts: f("accounts.toml", data::ACCOUNTS_TOML),
            settings: f("settings.toml", data::SETTINGS_TOML),
        }
    }

    /// The three configurations, the store URL and the demo mapping tables, in the shape a
    /// configuration file resolves to.
    ///
    /// # Errors
    /// [`Error::Config`] if a configuration does not validate (it does).
    pub fn systems(&self, store_url: impl Into<String>) -> Result<Systems> {
        Ok(Systems {
            adobe: Some(self.adobe_config().build()?),
            amazon: Some(self.amazon_config()),
            qad: Some(self.qad_config().build()?),
            store_url: store_url.into(),
            audit_url: None,
            reference: Self::reference_data(),
            origin: "the built-in simulators".into(),
        })
    }

    /// The simulators' credentials (demo values, not secrets of any real system), as
    /// `(variable, value)` pairs named like `connector_toml` expects them.
    pub fn demo_credentials(&self) -> Vec<(&'static str, String)> {
        use secrecy::ExposeSecret;
        let o = self.adobe.oauth1_credentials();
        let a = self.amazon.config();
        let q = self.qad.sim_config();
        vec![
            ("SANDBOX_ADOBE_CONSUMER_KEY", o.consumer_key.clone()),
            (
                "SANDBOX_ADOBE_CONSUMER_SECRET",
                o.consumer_secret.expose_secret().to_string(),
            ),
            (
                "SANDBOX_ADOBE_ACCESS_TOKEN",
                o.access_token.expose_secret().to_string(),
            ),
            (
                "SANDBOX_ADOBE_ACCESS_TOKEN_SECRET",
                o.access_token_secret.expose_secret().to_string(),
            ),
            ("SANDBOX_AMAZON_LWA_CLIENT_ID", a.client_id.clone()),
            ("SANDBOX_AMAZON_LWA_CLIENT_SECRET", a.client_secret.clone()),
            ("SANDBOX_AMAZON_REFRESH_TOKEN", a.refresh_token.clone()),
            ("SANDBOX_QAD_CLIENT_ID", q.client_id.clone()),
            ("SANDBOX_QAD_USERNAME", q.username.clone()),
            ("SANDBOX_QAD_PASSWORD", q.password.clone()),
        ]
    }

    /// A configuration file pointing at these simulators, with the credentials taken from the
    /// environment variables of [`demo_credentials`](Self::demo_credentials) and the mapping
    /// tables from `data_dir` — what an operator writes for real systems.
    pub fn connector_toml(&self, data_dir: &str, store_url: &str) -> String {
        let c = self.qad.sim_config();
        let (domain, entity) = c.domains.first().cloned().unwrap_or_default();
        format!(
            r#"# Generated by the sandbox: the simulators on {adobe}, {amazon}, {qad}.
# Secrets come from the environment (the sandbox prints the `export` lines).

[adobe]
deployment = "paas"
base_url = "{adobe}"
store_code = "default"
store_codes = {{ "1" = "default", "2" = "fr" }}
[adobe.credentials.env]
consumer_key = "SANDBOX_ADOBE_CONSUMER_KEY"
consumer_secret = "SANDBOX_ADOBE_CONSUMER_SECRET"
access_token = "SANDBOX_ADOBE_ACCESS_TOKEN"
access_token_secret = "SANDBOX_ADOBE_ACCESS_TOKEN_SECRET"

[amazon]
region = "na"
seller_id = "{seller}"
marketplaces = ["{mp}"]
endpoint = "{amazon}"
token_url = "{amazon}/auth/o2/token"
[amazon.credentials.env]
lwa_client_id = "SANDBOX_AMAZON_LWA_CLIENT_ID"
lwa_client_secret = "SANDBOX_AMAZON_LWA_CLIENT_SECRET"
refresh_token = "SANDBOX_AMAZON_REFRESH_TOKEN"

[qad]
base_url = "{qad}"
allow_insecure_loopback = true
domain = "{domain}"
entity = "{entity}"
workspace_id = "{domain}_{entity}"
shared_set = "{shared}"
default_site = "{site}"
[qad.defaults.customer]
invoice_control_gl_profile = "AR"
credit_note_control_gl_profile = "AR"
prepayment_control_gl_profile = "PREPAY"
sales_account_gl_profile = "SALES"
daybook_set = "SO"
[qad.credentials.env]
client_id = "SANDBOX_QAD_CLIENT_ID"
username = "SANDBOX_QAD_USERNAME"
password = "SANDBOX_QAD_PASSWORD"

[store]
url = "{store_url}"

[mapping]
skus = "{data_dir}/skus.csv"
customers = "{data_dir}/customers.toml"
accounts = "{data_dir}/accounts.toml"
settings = "{data_dir}/settings.toml"
[mapping.amazon]
skus = "{data_dir}/amazon-skus.csv"
"#,
            adobe = self.adobe_url,
            amazon = self.amazon_url,
            qad = self.qad_url,
            seller = self.amazon.config().seller_id,
            mp = data::MARKETPLACE_US,
            shared = c.shared_sets.first().cloned().unwrap_or_default(),
            site = c.sites.first().cloned().unwrap_or_default(),
        )
    }
}

fn io_config(e: std::io::Error) -> Error {
    Error::config("sandbox", e.to_string())
}

/// Short backoff: the simulators answer in microseconds.
fn demo_retry() -> RetryPolicy {
    RetryPolicy::with_attempts(5).delays(Duration::from_millis(20), Duration::from_millis(500))
}
