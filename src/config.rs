//! The connector's configuration file: which real systems to talk to, where the state lives and
//! where the mapping tables are — **without a single secret in it**.
//!
//! ```toml
//! [adobe]
//! deployment = "paas"                      # or "cloud_service"
//! base_url = "https://shop.example.com"
//! store_code = "default"
//! credentials = { vault = "adobe/shop" }   # consumer_key, consumer_secret, access_token, access_token_secret
//!
//! [amazon]
//! region = "na"
//! seller_id = "A1MERCHANTTOKEN"
//! marketplaces = ["ATVPDKIKX0DER"]
//! [amazon.credentials.env]                 # or a vault credential set
//! lwa_client_id = "AMAZON_LWA_CLIENT_ID"
//! lwa_client_secret = "AMAZON_LWA_CLIENT_SECRET"
//! refresh_token = "AMAZON_REFRESH_TOKEN"
//!
//! [qad]
//! base_url = "https://acme.qad.com/clouderp"
//! domain = "10USA"
//! entity = "10USACO"
//! shared_set = "SHARED01"
//! default_site = "10-100"
//! credentials = { vault = "qad/acme" }     # client_id, username, password
//!
//! [store]
//! url = "sqlite://ml-connector.db"
//!
//! [mapping]
//! skus = "skus.csv"
//! customers = "customers.toml"
//! accounts = "accounts.toml"
//! settings = "settings.toml"
//! ```
//!
//! Secrets come from the encrypted [vault](crate::vault) (a credential set id per system) or
//! from environment variables whose **names** the file gives. A secret written into the file
//! (`password = "…"`, `refresh_token = "…"`, …) is refused with an error naming the setting
//! and the two places it belongs. Every other problem is an [`Error::Config`] naming the
//! setting (`qad.base_url`, `amazon.credentials.env.refresh_token`, `mapping.skus`, …).
//!
//! [`ConnectorConfig::resolve`] reads the secrets and the mapping files and returns
//! [`Systems`]: ready client configurations ([`AdobeConfig`](crate::adobe::AdobeConfig),
//! [`AmazonConfig`](crate::amazon::AmazonConfig), [`QadConfig`](crate::qad::QadConfig)), the
//! store URL and the [`ReferenceData`] for the mappers. The simulators hand out the same
//! [`Systems`] (`sandbox::Sandbox::systems`), so a host runs one code path against both.
//!
//! The full reference is `docs/configuration.md`; a sample is `examples/connector.example.toml`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use secrecy::SecretString;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::mapping::{AccountMap, CustomerMap, MapContext, MapSettings, SkuCrosswalk, SkuRule};
use crate::vault::{CredentialSet, MasterKey, Vault};

/// Keys that hold secrets: never accepted in the configuration file, wherever they appear.
const SECRET_KEYS: [&str; 10] = [
    "password",
    "client_secret",
    "lwa_client_secret",
    "refresh_token",
    "consumer_secret",
    "access_token",
    "access_token_secret",
    "master_key",
    "secret",
    "token",
];

/// The configuration file, parsed (no secret has been read yet).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// Adobe Commerce, if used.
    #[serde(default)]
    pub adobe: Option<AdobeSettings>,
    /// Amazon SP-API, if used.
    #[serde(default)]
    pub amazon: Option<AmazonSettings>,
    /// QAD, if used.
    #[serde(default)]
    pub qad: Option<QadSection>,
    /// Dedup, audit and checkpoint stores.
    #[serde(default)]
    pub store: StoreSettings,
    /// Mapping tables.
    #[serde(default)]
    pub mapping: MappingSettings,
    /// Where the vault is (when credential sets are used).
    #[serde(default)]
    pub vault: Option<VaultSettings>,
    /// Directory relative paths are resolved against (the file's directory).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Where the configuration came from (for messages).
    #[serde(skip)]
    pub source: String,
}

/// Where one system's credentials come from. Each field the system needs is looked up in `env`
/// first (when it names a variable for it), then in the vault credential set `vault`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSource {
    /// A credential set id in the vault (`qad/acme`).
    #[serde(default)]
    pub vault: Option<String>,
    /// Field → name of the environment variable holding it (`password = "QAD_PASSWORD"`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// Adobe Commerce deployment model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdobeDeployment {
    /// On-prem / Adobe Commerce on Cloud: OAuth 1.0a integration.
    Paas,
    /// Adobe Commerce as a Cloud Service: Adobe IMS client credentials.
    CloudService,
}

/// `[adobe]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdobeSettings {
    /// `paas` or `cloud_service`.
    pub deployment: AdobeDeployment,
    /// `https://shop.example.com` (PaaS, without `/rest`) or
    /// `https://na1.api.commerce.adobe.com/<tenant>` (Cloud Service).
    pub base_url: String,
    /// Store view code (default `default`).
    #[serde(default)]
    pub store_code: Option<String>,
    /// `hmac-sha256` (default) or `hmac-sha1` (stores before 2.4.4). PaaS only.
    #[serde(default)]
    pub signature_method: Option<String>,
    /// `searchCriteria[pageSize]` (1..=300).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Only these `store_id`s (default: every store).
    #[serde(default)]
    pub store_ids: Vec<i64>,
    /// Store id → store view code, used as the order channel (`"1" = "default"`).
    #[serde(default)]
    pub store_codes: BTreeMap<String, String>,
    /// Seconds incremental reads stay behind now (default 120).
    #[serde(default)]
    pub settle_lag_secs: Option<u64>,
    /// The source name in checkpoint keys (default `adobe`; one per store).
    #[serde(default)]
    pub name: Option<String>,
    /// IMS organisation id (`XXXX@AdobeOrg`), Cloud Service only.
    #[serde(default)]
    pub ims_org_id: Option<String>,
    /// IMS token endpoint (default Adobe's), Cloud Service only.
    #[serde(default)]
    pub ims_token_url: Option<String>,
    /// PaaS: `consumer_key`, `consumer_secret`, `access_token`, `access_token_secret`.
    /// Cloud Service: `client_id`, `client_secret`.
    pub credentials: CredentialSource,
}

/// `[amazon]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmazonSettings {
    /// `na`, `eu` or `fe`.
    pub region: String,
    /// The merchant token (Seller Central → Account Info).
    pub seller_id: String,
    /// Marketplace ids, all of `region`.
    pub marketplaces: Vec<String>,
    /// `production` (default) or `sandbox` (Amazon's static sandbox).
    #[serde(default)]
    pub environment: Option<String>,
    /// Overrides the region's host (a proxy or a simulator).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Overrides the Login with Amazon token endpoint (a proxy or a simulator).
    #[serde(default)]
    pub token_url: Option<String>,
    /// The source name in checkpoint keys (default `amazon`; one per region).
    #[serde(default)]
    pub source_name: Option<String>,
    /// `v2026` (default) or `v0`.
    #[serde(default)]
    pub orders_api: Option<String>,
    /// Merchant-fulfilled SKUs whose quantity the inventory stream reads.
    #[serde(default)]
    pub merchant_skus: Vec<String>,
    /// `lwa_client_id`, `lwa_client_secret`, `refresh_token`.
    pub credentials: CredentialSource,
}

/// How the QAD sink logs in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QadAuthMode {
    /// OAuth password grant (default): `client_id`, `username`, `password`.
    #[default]
    OauthPassword,
    /// HTTP Basic: `username`, `password`.
    Basic,
}

/// `[qad]`: the tenant (see `docs/qad.md` §2 for every field) without the password.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QadSection {
    /// Full tenant base URL including the context root.
    pub base_url: String,
    /// Domain (`10USA`).
    pub domain: String,
    /// Financial entity (`10USACO`).
    pub entity: String,
    /// Customer shared set.
    pub shared_set: String,
    /// Default site.
    pub default_site: String,
    /// `x-qad-workspace-id`.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// `Accept-Language`.
    #[serde(default)]
    pub accept_language: Option<String>,
    /// Browse page size.
    #[serde(default)]
    pub page_size: Option<u32>,
    /// `http://` to a loopback host (simulators only).
    #[serde(default)]
    pub allow_insecure_loopback: bool,
    /// Registry override file (TOML or JSON), relative to this file.
    #[serde(default)]
    pub registry_file: Option<PathBuf>,
    /// Inline registry overrides.
    #[serde(default)]
    pub registry: Option<toml::Table>,
    /// `oauth_password` (default) or `basic`.
    #[serde(default)]
    pub auth: QadAuthMode,
    /// Token endpoint relative to the base URL (default `oauth/token`).
    #[serde(default)]
    pub token_path: Option<String>,
    /// Renew tokens this many seconds before expiry (default 60).
    #[serde(default)]
    pub refresh_margin_secs: Option<u64>,
    /// Timeouts.
    #[cfg(feature = "qad")]
    #[serde(default)]
    pub timeouts: crate::qad::Timeouts,
    /// Business defaults (customer GL profiles, daybooks, order numbering).
    #[cfg(feature = "qad")]
    #[serde(default)]
    pub defaults: crate::qad::TenantDefaults,
    /// `client_id`, `username`, `password` (Basic: `username`, `password`).
    pub credentials: CredentialSource,
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// Dedup, audit and checkpoints (`sqlite://…`, `postgres://…`, `redis://…`, `memory://`).
    /// Default `sqlite://ml-connector.db`.
    #[serde(default = "default_store_url")]
    pub url: String,
    /// A separate audit store (required with `redis://`).
    #[serde(default)]
    pub audit_url: Option<String>,
}

fn default_store_url() -> String {
    "sqlite://ml-connector.db".into()
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            url: default_store_url(),
            audit_url: None,
        }
    }
}

/// `[mapping]`: the reference data files (paths relative to the configuration file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSettings {
    /// SKU crosswalk, CSV (`sku,item`) or TOML (`[items]` + `[[rules]]`).
    #[serde(default)]
    pub skus: Option<PathBuf>,
    /// Rules appended to the crosswalk (`{ strip_prefix = "AMZ-" }`; `{}` is identity).
    #[serde(default)]
    pub sku_rules: Vec<SkuRule>,
    /// Customer map (TOML).
    #[serde(default)]
    pub customers: Option<PathBuf>,
    /// Account map (TOML).
    #[serde(default)]
    pub accounts: Option<PathBuf>,
    /// Mapping settings (TOML).
    #[serde(default)]
    pub settings: Option<PathBuf>,
    /// Adobe Commerce overrides (its own crosswalk).
    #[serde(default)]
    pub adobe: ChannelMapping,
    /// Amazon overrides (its own crosswalk; the catalog push reads it backwards).
    #[serde(default)]
    pub amazon: ChannelMapping,
}

/// Per-channel mapping overrides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelMapping {
    /// This channel's SKU crosswalk (instead of `mapping.skus`).
    #[serde(default)]
    pub skus: Option<PathBuf>,
}

/// `[vault]`. Without it, credential sets are read from the vault named by the environment
/// (`ML_CONNECTOR_VAULT_PATH` and `ML_CONNECTOR_MASTER_KEY` or `ML_CONNECTOR_MASTER_KEY_FILE`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSettings {
    /// The vault file.
    pub path: PathBuf,
    /// A file holding the master key (mode 0600). Without it the key comes from
    /// `ML_CONNECTOR_MASTER_KEY` or `ML_CONNECTOR_MASTER_KEY_FILE`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// A variable lookup (`std::env::var`, or a host's own secret source).
pub type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where secrets are read from: an environment lookup and, opened on first use, the vault.
pub struct Secrets {
    lookup: Lookup,
    vault: Mutex<Option<Vault>>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets").finish_non_exhaustive()
    }
}

impl Secrets {
    /// The process environment; the vault from `[vault]` or the environment.
    pub fn from_env() -> Self {
        Self::with_lookup(|name| std::env::var(name).ok())
    }

    /// A custom variable lookup (tests, a host's own secret source).
    pub fn with_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Box::new(lookup),
            vault: Mutex::new(None),
        }
    }

    /// Uses this vault for credential sets (instead of opening one).
    #[must_use]
    pub fn with_vault(self, vault: Vault) -> Self {
        *self.vault.lock().unwrap_or_else(|p| p.into_inner()) = Some(vault);
        self
    }

    fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.is_empty())
    }

    fn credential_set(
        &self,
        cfg: &ConnectorConfig,
        id: &str,
        setting: &str,
    ) -> Result<CredentialSet> {
        let mut guard = self.vault.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            let vault = match &cfg.vault {
                Some(v) => {
                    let key = match &v.key_file {
                        Some(k) => MasterKey::from_file(cfg.path(k))?,
                        None => MasterKey::from_env_with(|n| (self.lookup)(n))?,
                    };
                    Vault::open_file(key, cfg.path(&v.path))
                }
                None => Vault::from_env_with(|n| (self.lookup)(n)).map_err(|e| {
                    Error::config(
                        setting,
                        format!(
                            "credential set `{id}` needs the vault, which could not be opened ({e}); add a [vault] section with `path` (and `key_file`), or set ML_CONNECTOR_VAULT_PATH and ML_CONNECTOR_MASTER_KEY"
                        ),
                    )
                })?,
            };
            *guard = Some(vault);
        }
        let vault = guard.as_ref().expect("opened above");
        vault.get(id).map_err(|e| {
            Error::config(
                setting,
                format!("cannot read credential set `{id}` from the vault: {e}"),
            )
        })
    }

    /// Resolves the `fields` of `section`'s credentials: env first, then the vault set.
    fn resolve(
        &self,
        cfg: &ConnectorConfig,
        section: &str,
        source: &CredentialSource,
        fields: &[&str],
    ) -> Result<BTreeMap<String, SecretString>> {
        for name in source.env.keys() {
            if !fields.contains(&name.as_str()) {
                return Err(Error::config(
                    format!("{section}.credentials.env.{name}"),
                    format!(
                        "`{name}` is not a credential of this system; expected {}",
                        fields.join(", ")
                    ),
                ));
            }
        }
        let set = match &source.vault {
            Some(id) => {
                Some(self.credential_set(cfg, id, &format!("{section}.credentials.vault"))?)
            }
            None => None,
        };
        let mut out = BTreeMap::new();
        for field in fields {
            if let Some(var) = source.env.get(*field) {
                let value = self.var(var).ok_or_else(|| {
                    Error::config(
                        format!("{section}.credentials.env.{field}"),
                        format!("environment variable `{var}` is not set (or empty): export it, or store `{field}` in a vault credential set"),
                    )
                })?;
                out.insert((*field).to_string(), SecretString::from(value));
                continue;
            }
            match (&set, &source.vault) {
                (Some(set), Some(id)) => {
                    let v = set.require(field).map_err(|_| {
                        Error::config(
                            format!("{section}.credentials.vault"),
                            format!("credential set `{id}` has no `{field}`: add it with Vault::put, or name an environment variable under [{section}.credentials.env]"),
                        )
                    })?;
                    out.insert((*field).to_string(), v.clone());
                }
                _ => {
                    return Err(Error::config(
                        format!("{section}.credentials"),
                        format!(
                            "no source for `{field}`: set `vault = \"<credential set id>\"` or `env.{field} = \"<VARIABLE>\"` under [{section}.credentials]"
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// The mapping tables as text (read from files, or shipped with the simulators), turned into
/// [`MapContext`]s per channel.
#[derive(Debug, Clone, Default)]
pub struct ReferenceData {
    /// The default SKU crosswalk: (name, text).
    pub skus: Option<(String, String)>,
    /// Rules appended to every crosswalk.
    pub sku_rules: Vec<SkuRule>,
    /// Adobe Commerce's own crosswalk.
    pub adobe_skus: Option<(String, String)>,
    /// Amazon's own crosswalk.
    pub amazon_skus: Option<(String, String)>,
    /// Customer map.
    pub customers: Option<(String, String)>,
    /// Account map.
    pub accounts: Option<(String, String)>,
    /// Settings.
    pub settings: Option<(String, String)>,
}

/// Which channel a context is for (selects the crosswalk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Adobe Commerce.
    Adobe,
    /// Amazon (orders, inventory, the catalog push).
    Amazon,
}

fn parse_crosswalk(name: &str, text: &str) -> Result<SkuCrosswalk> {
    if name.ends_with(".toml") {
        SkuCrosswalk::from_toml_str(name, text)
    } else {
        SkuCrosswalk::from_csv_str(name, text)
    }
}

impl ReferenceData {
    /// The crosswalk of `channel` (its own file, else the default one), rules appended. Without
    /// any file: the identity rule (unvalidated).
    ///
    /// # Errors
    /// [`Error::Config`] naming the file for a malformed table.
    pub fn crosswalk(&self, channel: Channel) -> Result<SkuCrosswalk> {
        let own = match channel {
            Channel::Adobe => self.adobe_skus.as_ref(),
            Channel::Amazon => self.amazon_skus.as_ref(),
        };
        let cw = match own.or(self.skus.as_ref()) {
            Some((name, text)) => parse_crosswalk(name, text)?,
            None => SkuCrosswalk::default(),
        };
        Ok(if self.sku_rules.is_empty() {
            cw
        } else {
            cw.with_rules(self.sku_rules.clone())
        })
    }

    /// The explicit `(sku, item)` pairs of `channel`'s crosswalk file (CSV form only; for
    /// checks that compare the table with the item master).
    ///
    /// # Errors
    /// [`Error::Config`] naming the file for a malformed line.
    pub fn crosswalk_entries(&self, channel: Channel) -> Result<Vec<(String, String)>> {
        let own = match channel {
            Channel::Adobe => self.adobe_skus.as_ref(),
            Channel::Amazon => self.amazon_skus.as_ref(),
        };
        let Some((name, text)) = own.or(self.skus.as_ref()) else {
            return Ok(Vec::new());
        };
        if name.ends_with(".toml") {
            #[derive(Deserialize)]
            struct Items {
                #[serde(default)]
                items: BTreeMap<String, String>,
            }
            let t: toml::Table = toml::from_str(text)
                .map_err(|e| Error::config(name.clone(), format!("invalid TOML: {e}")))?;
            let items: Items = t
                .try_into()
                .map_err(|e| Error::config(name.clone(), format!("invalid crosswalk: {e}")))?;
            return Ok(items.items.into_iter().collect());
        }
        // Validate with the crosswalk's own parser first, then read the pairs.
        parse_crosswalk(name, text)?;
        let mut out = Vec::new();
        let mut header = true;
        for line in text.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if header {
                header = false;
                continue;
            }
            let mut rdr = csv_line_fields(t);
            if let (Some(sku), Some(item)) = (rdr.next(), rdr.next()) {
                out.push((sku, item));
            }
        }
        Ok(out)
    }

    /// A [`MapContext`] for `channel`: its crosswalk, the customer map, the account map and the
    /// settings. The item master and snapshots are the host's to add (`to_builder()`).
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and key of the first problem.
    pub fn context(&self, channel: Channel) -> Result<MapContext> {
        let mut b = MapContext::builder().skus(self.crosswalk(channel)?);
        if let Some((name, text)) = &self.customers {
            b = b.customers(CustomerMap::from_toml_str(name, text)?);
        }
        if let Some((name, text)) = &self.accounts {
            b = b.accounts(AccountMap::from_toml_str(name, text)?);
        }
        if let Some((name, text)) = &self.settings {
            b = b.settings(MapSettings::from_toml_str(text).map_err(|e| match e {
                Error::Config { setting, message } => {
                    Error::config(format!("{name}: {setting}"), message)
                }
                other => other,
            })?);
        }
        b.build()
    }
}

/// Splits one CSV line (RFC 4180 quoting) into trimmed fields.
fn csv_line_fields(line: &str) -> impl Iterator<Item = String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur).trim().to_string()),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur.trim().to_string());
    fields.into_iter()
}

/// Everything a host needs to build its clients, sinks, stores and mappers: the result of
/// [`ConnectorConfig::resolve`] (real systems) or of `sandbox::Sandbox::systems` (simulators).
#[derive(Debug, Clone)]
pub struct Systems {
    /// Adobe Commerce.
    #[cfg(feature = "adobe")]
    pub adobe: Option<crate::adobe::AdobeConfig>,
    /// Amazon SP-API.
    #[cfg(feature = "amazon")]
    pub amazon: Option<crate::amazon::AmazonConfig>,
    /// QAD.
    #[cfg(feature = "qad")]
    pub qad: Option<crate::qad::QadConfig>,
    /// The store URL ([`crate::store::connect`]).
    pub store_url: String,
    /// A separate audit store URL.
    pub audit_url: Option<String>,
    /// The mapping tables.
    pub reference: ReferenceData,
    /// Where these came from (`the simulators`, the configuration file).
    pub origin: String,
}

impl Systems {
    /// Opens the stores (`store_url`, plus `audit_url` when set).
    ///
    /// # Errors
    /// What [`crate::store::connect`] returns.
    pub async fn stores(&self) -> Result<crate::store::Stores> {
        let stores = crate::store::connect(&self.store_url).await?;
        match &self.audit_url {
            Some(url) => {
                let audit = crate::store::connect(url).await?.require_audit()?;
                Ok(stores.with_audit(audit))
            }
            None => Ok(stores),
        }
    }

    /// The Adobe Commerce configuration, or an error naming the missing section.
    ///
    /// # Errors
    /// [`Error::Config`] `adobe` when the configuration has no `[adobe]`.
    #[cfg(feature = "adobe")]
    pub fn require_adobe(&self) -> Result<&crate::adobe::AdobeConfig> {
        self.adobe
            .as_ref()
            .ok_or_else(|| missing_section("adobe", &self.origin))
    }

    /// The Amazon configuration, or an error naming the missing section.
    ///
    /// # Errors
    /// [`Error::Config`] `amazon` when the configuration has no `[amazon]`.
    #[cfg(feature = "amazon")]
    pub fn require_amazon(&self) -> Result<&crate::amazon::AmazonConfig> {
        self.amazon
            .as_ref()
            .ok_or_else(|| missing_section("amazon", &self.origin))
    }

    /// The QAD configuration, or an error naming the missing section.
    ///
    /// # Errors
    /// [`Error::Config`] `qad` when the configuration has no `[qad]`.
    #[cfg(feature = "qad")]
    pub fn require_qad(&self) -> Result<&crate::qad::QadConfig> {
        self.qad
            .as_ref()
            .ok_or_else(|| missing_section("qad", &self.origin))
    }
}

#[allow(dead_code)]
fn missing_section(section: &str, origin: &str) -> Error {
    Error::config(
        section,
        format!("this job needs the [{section}] section, which {origin} does not have"),
    )
}

/// Finds secret keys anywhere in the table; returns the dotted path of the first.
fn find_secret(table: &toml::Table, prefix: &str) -> Option<String> {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        // Values under `credentials.env` are variable *names*, not secrets.
        if prefix.ends_with("credentials.env") {
            continue;
        }
        if SECRET_KEYS.contains(&k.as_str()) && v.is_str() {
            return Some(path);
        }
        if let toml::Value::Table(t) = v
            && let Some(p) = find_secret(t, &path)
        {
            return Some(p);
        }
    }
    None
}

impl ConnectorConfig {
    /// Reads and parses a configuration file; relative paths in it are resolved against its
    /// directory.
    ///
    /// # Errors
    /// [`Error::Config`] naming the file (unreadable) or the setting (invalid).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config("config", format!("cannot read {}: {e}", path.display())))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        Self::from_toml_str(&path.display().to_string(), &text, dir)
    }

    /// Parses configuration text; `source` names it in messages, `base_dir` resolves relative
    /// paths.
    ///
    /// # Errors
    /// [`Error::Config`]: a secret written into the file, unknown keys, wrong types.
    pub fn from_toml_str(source: &str, text: &str, base_dir: impl Into<PathBuf>) -> Result<Self> {
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| Error::config(source, format!("invalid TOML: {e}")))?;
        if let Some(path) = find_secret(&table, "") {
            let section = path.split('.').next().unwrap_or("section");
            let field = path.rsplit('.').next().unwrap_or("secret");
            return Err(Error::config(
                path.clone(),
                format!(
                    "secrets never go in the configuration file ({source}): store `{field}` in the vault and set `vault = \"<credential set id>\"` under [{section}.credentials], or name an environment variable: [{section}.credentials.env] {field} = \"<VARIABLE>\""
                ),
            ));
        }
        let mut cfg: ConnectorConfig = toml::from_str(text).map_err(|e: toml::de::Error| {
            let at = e
                .span()
                .map(|s| format!("{source}:{}", line_of(text, s.start)))
                .unwrap_or_else(|| source.to_string());
            Error::config(at, e.message().trim().to_string())
        })?;
        cfg.base_dir = base_dir.into();
        cfg.source = source.to_string();
        Ok(cfg)
    }

    /// `p` relative to the configuration file.
    pub fn path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    fn read(&self, setting: &str, p: &Option<PathBuf>) -> Result<Option<(String, String)>> {
        let Some(p) = p else { return Ok(None) };
        let full = self.path(p);
        let text = std::fs::read_to_string(&full)
            .map_err(|e| Error::config(setting, format!("cannot read {}: {e}", full.display())))?;
        Ok(Some((full.display().to_string(), text)))
    }

    /// Reads the mapping files.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting of a file that cannot be read or parsed.
    pub fn reference_data(&self) -> Result<ReferenceData> {
        let m = &self.mapping;
        let data = ReferenceData {
            skus: self.read("mapping.skus", &m.skus)?,
            sku_rules: m.sku_rules.clone(),
            adobe_skus: self.read("mapping.adobe.skus", &m.adobe.skus)?,
            amazon_skus: self.read("mapping.amazon.skus", &m.amazon.skus)?,
            customers: self.read("mapping.customers", &m.customers)?,
            accounts: self.read("mapping.accounts", &m.accounts)?,
            settings: self.read("mapping.settings", &m.settings)?,
        };
        // Parse everything now, so a bad table fails at start-up and not mid-run.
        data.context(Channel::Adobe)?;
        data.context(Channel::Amazon)?;
        Ok(data)
    }

    /// Reads the secrets from the environment and the vault, the mapping files, and builds
    /// every configured system's configuration.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first setting that is missing or wrong.
    pub fn resolve(&self) -> Result<Systems> {
        self.resolve_with(&Secrets::from_env())
    }

    /// [`resolve`](Self::resolve) with an explicit secret source.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first setting that is missing or wrong.
    pub fn resolve_with(&self, secrets: &Secrets) -> Result<Systems> {
        Ok(Systems {
            #[cfg(feature = "adobe")]
            adobe: self
                .adobe
                .as_ref()
                .map(|a| self.adobe_config(a, secrets))
                .transpose()?,
            #[cfg(feature = "amazon")]
            amazon: self
                .amazon
                .as_ref()
                .map(|a| self.amazon_config(a, secrets))
                .transpose()?,
            #[cfg(feature = "qad")]
            qad: self
                .qad
                .as_ref()
                .map(|q| self.qad_config(q, secrets))
                .transpose()?,
            store_url: self.store_url()?,
            audit_url: self.store.audit_url.clone(),
            reference: self.reference_data()?,
            origin: self.source.clone(),
        })
        .and_then(|s| self.check_features().map(|()| s))
    }

    fn check_features(&self) -> Result<()> {
        let missing = [
            ("adobe", self.adobe.is_some(), cfg!(feature = "adobe")),
            ("amazon", self.amazon.is_some(), cfg!(feature = "amazon")),
            ("qad", self.qad.is_some(), cfg!(feature = "qad")),
        ]
        .into_iter()
        .find(|(_, present, enabled)| *present && !*enabled);
        match missing {
            Some((name, _, _)) => Err(Error::config(
                name,
                format!("this build has no `{name}` support: enable the crate feature `{name}`"),
            )),
            None => Ok(()),
        }
    }

    /// The store URL; a relative `sqlite://` path is resolved against the configuration file.
    fn store_url(&self) -> Result<String> {
        let url = self.store.url.trim();
        if url.is_empty() {
            return Err(Error::config(
                "store.url",
                "is empty: use sqlite://ml-connector.db, postgres://… or redis://…",
            ));
        }
        if let Some(rest) = url.strip_prefix("sqlite://")
            && !rest.is_empty()
            && !rest.starts_with('/')
            && rest != ":memory:"
        {
            return Ok(format!("sqlite://{}", self.path(Path::new(rest)).display()));
        }
        Ok(url.to_string())
    }

    #[cfg(feature = "adobe")]
    fn adobe_config(
        &self,
        a: &AdobeSettings,
        secrets: &Secrets,
    ) -> Result<crate::adobe::AdobeConfig> {
        use crate::adobe::{AdobeConfig, ImsCredentials, OAuth1Credentials, SignatureMethod};
        let mut b = match a.deployment {
            AdobeDeployment::Paas => {
                let mut s = secrets.resolve(
                    self,
                    "adobe",
                    &a.credentials,
                    &[
                        "consumer_key",
                        "consumer_secret",
                        "access_token",
                        "access_token_secret",
                    ],
                )?;
                let creds = OAuth1Credentials {
                    consumer_key: secrecy::ExposeSecret::expose_secret(&s["consumer_key"])
                        .to_string(),
                    consumer_secret: s.remove("consumer_secret").expect("resolved"),
                    access_token: s.remove("access_token").expect("resolved"),
                    access_token_secret: s.remove("access_token_secret").expect("resolved"),
                };
                let mut b = AdobeConfig::paas(a.base_url.clone(), creds);
                if let Some(m) = &a.signature_method {
                    let method = SignatureMethod::parse(m).ok_or_else(|| {
                        Error::config(
                            "adobe.signature_method",
                            format!("`{m}` is not `hmac-sha256` or `hmac-sha1`"),
                        )
                    })?;
                    b = b.signature_method(method);
                }
                b
            }
            AdobeDeployment::CloudService => {
                let org = a.ims_org_id.clone().ok_or_else(|| {
                    Error::config(
                        "adobe.ims_org_id",
                        "the Cloud Service needs the IMS organisation id (`XXXX@AdobeOrg`, Developer Console → project → credential)",
                    )
                })?;
                let mut s = secrets.resolve(
                    self,
                    "adobe",
                    &a.credentials,
                    &["client_id", "client_secret"],
                )?;
                let mut ims = ImsCredentials {
                    client_id: secrecy::ExposeSecret::expose_secret(&s["client_id"]).to_string(),
                    client_secret: s.remove("client_secret").expect("resolved"),
                    ..ImsCredentials::new("", "", org)
                };
                if let Some(u) = &a.ims_token_url {
                    ims = ims.token_url(u.clone());
                }
                if a.signature_method.is_some() {
                    return Err(Error::config(
                        "adobe.signature_method",
                        "applies to PaaS (OAuth 1.0a) only; remove it for the Cloud Service",
                    ));
                }
                AdobeConfig::cloud_service(a.base_url.clone(), ims)
            }
        };
        b = b.store_code(a.store_code.clone().unwrap_or_else(|| "default".into()));
        if let Some(n) = a.page_size {
            b = b.page_size(n);
        }
        if !a.store_ids.is_empty() {
            b = b.store_ids(a.store_ids.clone());
        }
        for (id, code) in &a.store_codes {
            let id: i64 = id.parse().map_err(|_| {
                Error::config(
                    format!("adobe.store_codes.{id}"),
                    "keys are numeric store ids (`\"1\" = \"default\"`)",
                )
            })?;
            b = b.store_code_for(id, code.clone());
        }
        if let Some(s) = a.settle_lag_secs {
            b = b.settle_lag(std::time::Duration::from_secs(s));
        }
        if let Some(n) = &a.name {
            b = b.name(n.clone());
        }
        b.build()
    }

    #[cfg(feature = "amazon")]
    fn amazon_config(
        &self,
        a: &AmazonSettings,
        secrets: &Secrets,
    ) -> Result<crate::amazon::AmazonConfig> {
        use crate::amazon::{AmazonConfig, Environment, LwaCredentials, OrdersApi, Region};
        let region: Region = a.region.parse()?;
        if a.seller_id.trim().is_empty() {
            return Err(Error::config(
                "amazon.seller_id",
                "is empty: the merchant token is under Seller Central → Settings → Account Info → Merchant Token",
            ));
        }
        let mut s = secrets.resolve(
            self,
            "amazon",
            &a.credentials,
            &["lwa_client_id", "lwa_client_secret", "refresh_token"],
        )?;
        let creds = LwaCredentials {
            client_id: secrecy::ExposeSecret::expose_secret(&s["lwa_client_id"]).to_string(),
            client_secret: s.remove("lwa_client_secret").expect("resolved"),
            refresh_token: s.remove("refresh_token").expect("resolved"),
            token_url: a
                .token_url
                .clone()
                .unwrap_or_else(|| crate::amazon::auth::DEFAULT_TOKEN_URL.to_string()),
        };
        let mut cfg = AmazonConfig::new(a.seller_id.trim(), region, a.marketplaces.clone(), creds);
        cfg.environment = match a
            .environment
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("production") => Environment::Production,
            Some("sandbox") => Environment::Sandbox,
            Some(other) => {
                return Err(Error::config(
                    "amazon.environment",
                    format!("`{other}` is not `production` or `sandbox`"),
                ));
            }
        };
        cfg.endpoint = a.endpoint.clone();
        if let Some(n) = &a.source_name {
            cfg.source_name = n.clone();
        }
        cfg.orders.api = match a
            .orders_api
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("v2026") | Some("2026-01-01") => OrdersApi::V2026,
            Some("v0") => OrdersApi::V0,
            Some(other) => {
                return Err(Error::config(
                    "amazon.orders_api",
                    format!("`{other}` is not `v2026` or `v0`"),
                ));
            }
        };
        cfg.inventory.merchant_skus = a.merchant_skus.clone();
        cfg.validate().map_err(|e| match e {
            Error::Config { setting, message } if !setting.starts_with("amazon") => {
                Error::config(format!("amazon.{setting}"), message)
            }
            other => other,
        })?;
        Ok(cfg)
    }

    #[cfg(feature = "qad")]
    fn qad_config(&self, q: &QadSection, secrets: &Secrets) -> Result<crate::qad::QadConfig> {
        use crate::qad::{QadAuthConfig, QadConfig};
        let auth = match q.auth {
            QadAuthMode::OauthPassword => {
                let mut s = secrets.resolve(
                    self,
                    "qad",
                    &q.credentials,
                    &["client_id", "username", "password"],
                )?;
                let expose = |k: &str| secrecy::ExposeSecret::expose_secret(&s[k]).to_string();
                let (client_id, username) = (expose("client_id"), expose("username"));
                QadAuthConfig::OauthPassword {
                    client_id,
                    username,
                    password: s.remove("password").expect("resolved"),
                    token_path: q.token_path.clone().unwrap_or_else(|| "oauth/token".into()),
                    refresh_margin_secs: q.refresh_margin_secs.unwrap_or(60),
                }
            }
            QadAuthMode::Basic => {
                let mut s =
                    secrets.resolve(self, "qad", &q.credentials, &["username", "password"])?;
                QadAuthConfig::Basic {
                    username: secrecy::ExposeSecret::expose_secret(&s["username"]).to_string(),
                    password: s.remove("password").expect("resolved"),
                }
            }
        };
        let mut b = QadConfig::builder(q.base_url.clone())
            .domain(q.domain.clone())
            .entity(q.entity.clone())
            .shared_set(q.shared_set.clone())
            .default_site(q.default_site.clone())
            .allow_insecure_loopback(q.allow_insecure_loopback)
            .auth(auth)
            .timeouts(
                std::time::Duration::from_millis(q.timeouts.connect_ms),
                std::time::Duration::from_millis(q.timeouts.request_ms),
            )
            .defaults(q.defaults.clone());
        if let Some(w) = &q.workspace_id {
            b = b.workspace_id(w.clone());
        }
        if let Some(l) = &q.accept_language {
            b = b.accept_language(l.clone());
        }
        if let Some(n) = q.page_size {
            b = b.page_size(n);
        }
        if let Some(f) = &q.registry_file {
            b = b.registry_file(self.path(f));
        }
        if let Some(r) = &q.registry {
            let v = serde_json::to_value(r).map_err(|e| {
                Error::config(
                    "qad.registry",
                    format!("cannot read the inline overrides: {e}"),
                )
            })?;
            b = b.registry_overrides(v);
        }
        b.build()
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Secrets {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        Secrets::with_lookup(move |k| map.get(k).cloned())
    }

    #[test]
    fn a_secret_in_the_file_is_refused_naming_the_setting_and_where_it_belongs() {
        let e = ConnectorConfig::from_toml_str(
            "c.toml",
            "[qad]\nbase_url = \"https://x\"\npassword = \"hunter2\"\n",
            ".",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`qad.password`"), "{e}");
        assert!(e.contains("[qad.credentials.env]"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        // Variable names under credentials.env are fine.
        ConnectorConfig::from_toml_str("c.toml", "[store]\nurl = \"memory://\"\n", ".").unwrap();
    }

    #[test]
    fn unknown_keys_name_the_file_and_line() {
        let e = ConnectorConfig::from_toml_str("c.toml", "\n[store]\nurll = \"x\"\n", ".")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml:3") && e.contains("urll"), "{e}");
    }

    #[cfg(all(feature = "qad", feature = "amazon", feature = "adobe"))]
    #[test]
    fn secrets_come_from_the_environment_and_missing_ones_are_named() {
        let text = r#"
[qad]
base_url = "https://acme.qad.com/clouderp"
domain = "10USA"
entity = "10USACO"
shared_set = "SHARED01"
default_site = "10-100"
[qad.credentials.env]
client_id = "QAD_CLIENT"
username = "QAD_USER"
password = "QAD_PASSWORD"

[amazon]
region = "na"
seller_id = "A1SELLER"
marketplaces = ["ATVPDKIKX0DER"]
[amazon.credentials.env]
lwa_client_id = "LWA_ID"
lwa_client_secret = "LWA_SECRET"
refresh_token = "LWA_REFRESH"

[store]
url = "sqlite://state/ml.db"
"#;
        let cfg = ConnectorConfig::from_toml_str("c.toml", text, "/etc/mlc").unwrap();
        let full = env(&[
            ("QAD_CLIENT", "cid"),
            ("QAD_USER", "svc"),
            ("QAD_PASSWORD", "pw"),
            ("LWA_ID", "amzn1.application-oa2-client.x"),
            ("LWA_SECRET", "s"),
            ("LWA_REFRESH", "Atzr|r"),
        ]);
        let sys = cfg.resolve_with(&full).unwrap();
        let qad = sys.qad.as_ref().unwrap();
        assert_eq!(qad.domain(), "10USA");
        let dbg = format!("{sys:?}");
        assert!(!dbg.contains("pw\"") && !dbg.contains("Atzr|r"), "{dbg}");
        assert_eq!(sys.store_url, "sqlite:///etc/mlc/state/ml.db");
        assert_eq!(sys.amazon.as_ref().unwrap().seller_id, "A1SELLER");

        let partial = env(&[
            ("QAD_CLIENT", "cid"),
            ("QAD_USER", "svc"),
            ("LWA_ID", "amzn1.application-oa2-client.x"),
            ("LWA_SECRET", "s"),
            ("LWA_REFRESH", "Atzr|r"),
        ]);
        let e = cfg.resolve_with(&partial).unwrap_err().to_string();
        assert!(
            e.contains("qad.credentials.env.password") && e.contains("QAD_PASSWORD"),
            "{e}"
        );
    }

    #[cfg(feature = "qad")]
    #[test]
    fn credential_sets_come_from_the_vault() {
        let text = r#"
[qad]
base_url = "https://acme.qad.com/clouderp"
domain = "10USA"
entity = "10USACO"
shared_set = "SHARED01"
default_site = "10-100"
credentials = { vault = "qad/acme" }
"#;
        let cfg = ConnectorConfig::from_toml_str("c.toml", text, ".").unwrap();
        let store = std::sync::Arc::new(crate::vault::MemoryStore::new());
        let vault = || Vault::new(MasterKey::from_bytes([7; 32]), store.clone());
        vault()
            .put(
                "qad/acme",
                &CredentialSet::new()
                    .with("client_id", "cid")
                    .with("username", "svc"),
            )
            .unwrap();
        let e = cfg
            .resolve_with(&env(&[]).with_vault(vault()))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("qad.credentials.vault") && e.contains("`password`"),
            "{e}"
        );
        vault()
            .put(
                "qad/acme",
                &CredentialSet::new()
                    .with("client_id", "cid")
                    .with("username", "svc")
                    .with("password", "pw"),
            )
            .unwrap();
        let sys = cfg.resolve_with(&env(&[]).with_vault(vault())).unwrap();
        assert_eq!(sys.qad.unwrap().entity(), "10USACO");
    }

    #[test]
    fn no_credential_source_is_a_clear_error() {
        let text = "[amazon]\nregion = \"eu\"\nseller_id = \"A\"\nmarketplaces = [\"A1PA6795UKMFR9\"]\ncredentials = {}\n";
        let cfg = ConnectorConfig::from_toml_str("c.toml", text, ".").unwrap();
        let e = cfg.resolve_with(&env(&[])).unwrap_err().to_string();
        if cfg!(feature = "amazon") {
            assert!(
                e.contains("amazon.credentials") && e.contains("lwa_client_id"),
                "{e}"
            );
        }
    }

    #[cfg(all(feature = "qad", feature = "amazon", feature = "adobe"))]
    #[test]
    fn the_sample_configuration_resolves() {
        let text = include_str!("../examples/connector.example.toml");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
        let cfg = ConnectorConfig::from_toml_str("connector.example.toml", text, dir).unwrap();
        let store = std::sync::Arc::new(crate::vault::MemoryStore::new());
        let vault = || Vault::new(MasterKey::from_bytes([9; 32]), store.clone());
        vault()
            .put(
                "adobe/shop",
                &CredentialSet::new()
                    .with("consumer_key", "ck")
                    .with("consumer_secret", "cs")
                    .with("access_token", "at")
                    .with("access_token_secret", "ats"),
            )
            .unwrap();
        vault()
            .put(
                "qad/acme",
                &CredentialSet::new()
                    .with("client_id", "cid")
                    .with("username", "svc")
                    .with("password", "pw"),
            )
            .unwrap();
        let secrets = env(&[
            ("AMAZON_LWA_CLIENT_ID", "amzn1.application-oa2-client.x"),
            ("AMAZON_LWA_CLIENT_SECRET", "s"),
            ("AMAZON_REFRESH_TOKEN", "Atzr|x"),
        ])
        .with_vault(vault());
        let sys = cfg.resolve_with(&secrets).unwrap();
        let adobe = sys.adobe.as_ref().unwrap();
        assert_eq!(adobe.base_url.as_str(), "https://shop.example.com/");
        assert_eq!(adobe.store_code, "default");
        let qad = sys.qad.as_ref().unwrap();
        assert_eq!(qad.defaults().sales_order.number_prefix, "W");
        assert_eq!(qad.workspace_id(), Some("10USA_10USACO"));
        assert_eq!(
            sys.amazon.as_ref().unwrap().marketplace_ids,
            ["ATVPDKIKX0DER"]
        );
        assert!(
            sys.store_url.ends_with("/examples/ml-connector.db"),
            "{}",
            sys.store_url
        );
        // The mapping tables were read and parse.
        let cw = sys.reference.crosswalk(Channel::Amazon).unwrap();
        assert_eq!(cw.resolve(&"r", "NX-HD-1200").unwrap(), "HD01-M");
        assert!(sys.reference.context(Channel::Adobe).is_ok());
        let dbg = format!("{sys:?}");
        for secret in ["\"pw\"", "\"cs\"", "Atzr|x"] {
            assert!(!dbg.contains(secret), "{secret} in {dbg}");
        }
    }

    #[test]
    fn a_missing_mapping_file_names_the_setting() {
        let cfg = ConnectorConfig::from_toml_str(
            "c.toml",
            "[mapping]\nskus = \"nowhere/skus.csv\"\n",
            "/nonexistent",
        )
        .unwrap();
        let e = cfg.reference_data().unwrap_err().to_string();
        assert!(
            e.contains("mapping.skus") && e.contains("nowhere/skus.csv"),
            "{e}"
        );
    }

    #[test]
    fn csv_fields_split_with_quotes() {
        let f: Vec<String> = csv_line_fields(r#""odd,sku", 10-2000 "#).collect();
        assert_eq!(f, ["odd,sku", "10-2000"]);
    }
}
