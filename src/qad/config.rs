//! Tenant configuration: where the QAD instance lives, which domain/entity to work in, how to log
//! in, and the tenant's business defaults.
//!
//! QAD publishes no shared API host: every customer has its own URL, context root and (for
//! non-production) environment segment (`https://acme.qad.com/clouderp`,
//! `https://acme-nonprod.qad.com/clouderp/test`, `https://host:22011/qad-central`). The base URL
//! is therefore taken whole from the customer and validated strictly; it is never derived from a
//! tenant name and host names are never rewritten.
//!
//! A configuration is loaded from TOML/JSON ([`QadConfig::from_toml_str`],
//! [`QadConfig::from_json_str`], [`QadConfig::from_file`], or as part of a host's own config
//! through `Deserialize`) or built in code with [`QadConfig::builder`]. Either way it is validated
//! once; every problem is an [`Error::Config`] naming the setting (`qad.base_url`, `qad.domain`,
//! …) and the fix.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

use super::registry::Registry;
use crate::error::{Error, Result};

/// A validated QAD tenant configuration.
///
/// ```
/// use ml_connector::qad::{QadAuthConfig, QadConfig};
///
/// let cfg = QadConfig::builder("https://acme.qad.com/clouderp")
///     .domain("10USA")
///     .entity("10USACO")
///     .shared_set("SHARED01")
///     .default_site("10-100")
///     .auth(QadAuthConfig::password("client-id-from-admin", "svc_integration", "secret"))
///     .build()
///     .unwrap();
/// assert_eq!(cfg.base_url().as_str(), "https://acme.qad.com/clouderp/");
///
/// let err = QadConfig::builder("http://acme.qad.com/clouderp?x=1")
///     .domain("10USA").entity("10USACO").shared_set("S").default_site("10-100")
///     .auth(QadAuthConfig::basic("u", "p"))
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("qad.base_url"));
/// ```
#[derive(Debug, Clone)]
pub struct QadConfig {
    base_url: Url,
    domain: String,
    entity: String,
    shared_set: String,
    default_site: String,
    workspace_id: Option<String>,
    accept_language: Option<String>,
    auth: QadAuthConfig,
    timeouts: Timeouts,
    page_size: u32,
    defaults: TenantDefaults,
    registry: Registry,
}

/// How the sink logs in.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum QadAuthConfig {
    /// OAuth2 resource-owner password grant at `{base}/oauth/token` with the tenant's client id
    /// (issued by the environment administrator), refreshed with the refresh grant and logged in
    /// again when the refresh grant fails. This is what every public QAD client uses.
    OauthPassword {
        /// The environment's OAuth client id.
        client_id: String,
        /// The service user.
        username: String,
        /// The service user's password.
        #[serde(serialize_with = "serialize_redacted")]
        password: SecretString,
        /// Token endpoint relative to the base URL (default `oauth/token`).
        #[serde(default = "default_token_path")]
        token_path: String,
        /// Refresh this many seconds before the token expires (default 60).
        #[serde(default = "default_refresh_margin")]
        refresh_margin_secs: u64,
    },
    /// HTTP Basic on every request (accepted by the same REST endpoints; no token to refresh).
    Basic {
        /// The service user.
        username: String,
        /// The service user's password.
        #[serde(serialize_with = "serialize_redacted")]
        password: SecretString,
    },
}

fn serialize_redacted<S: serde::Serializer>(_: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[REDACTED]")
}

fn default_token_path() -> String {
    "oauth/token".into()
}

fn default_refresh_margin() -> u64 {
    60
}

impl QadAuthConfig {
    /// OAuth password grant with the default token path and refresh margin.
    pub fn password(
        client_id: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        QadAuthConfig::OauthPassword {
            client_id: client_id.into(),
            username: username.into(),
            password: SecretString::from(password.into()),
            token_path: default_token_path(),
            refresh_margin_secs: default_refresh_margin(),
        }
    }

    /// HTTP Basic.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        QadAuthConfig::Basic {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            QadAuthConfig::OauthPassword {
                client_id,
                username,
                token_path,
                ..
            } => {
                if client_id.trim().is_empty() {
                    return Err(Error::config(
                        "qad.auth.client_id",
                        "is empty: ask the QAD environment administrator for the OAuth client id of this environment",
                    ));
                }
                if username.trim().is_empty() {
                    return Err(Error::config(
                        "qad.auth.username",
                        "is empty: set the QAD service user that holds the roles for the business components",
                    ));
                }
                if !is_relative_path(token_path) {
                    return Err(Error::config(
                        "qad.auth.token_path",
                        format!(
                            "`{token_path}` must be a path relative to qad.base_url such as `oauth/token` (letters, digits, `/`, `-`, `_`; no `..`, query or scheme)"
                        ),
                    ));
                }
                Ok(())
            }
            QadAuthConfig::Basic { username, .. } => {
                if username.trim().is_empty() || username.contains(':') {
                    return Err(Error::config(
                        "qad.auth.username",
                        "must be a non-empty user name without `:` for HTTP Basic",
                    ));
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for QadAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QadAuthConfig::OauthPassword {
                client_id,
                username,
                token_path,
                refresh_margin_secs,
                ..
            } => f
                .debug_struct("OauthPassword")
                .field("client_id", client_id)
                .field("username", username)
                .field("password", &"[REDACTED]")
                .field("token_path", token_path)
                .field("refresh_margin_secs", refresh_margin_secs)
                .finish(),
            QadAuthConfig::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"[REDACTED]")
                .finish(),
        }
    }
}

fn is_relative_path(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Connect and request timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// TCP/TLS connect timeout in milliseconds (default 10 000).
    #[serde(default = "default_connect_ms")]
    pub connect_ms: u64,
    /// Whole-request timeout in milliseconds (default 60 000). A POST that runs into it has an
    /// unknown outcome: the sink checks with `find` before anything is sent again.
    #[serde(default = "default_request_ms")]
    pub request_ms: u64,
}

fn default_connect_ms() -> u64 {
    10_000
}
fn default_request_ms() -> u64 {
    60_000
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect_ms: default_connect_ms(),
            request_ms: default_request_ms(),
        }
    }
}

/// The tenant's business codes the sink fills in when a document does not carry them. Every one
/// of these is tenant data: collect them during onboarding (docs/qad.md has the checklist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantDefaults {
    /// Customer creation defaults.
    #[serde(default)]
    pub customer: CustomerDefaults,
    /// Sales order defaults.
    #[serde(default)]
    pub sales_order: SalesOrderDefaults,
    /// Daybook for AR invoices (receivables). Default `CI` (QAD demo data; confirm per tenant).
    #[serde(default = "default_invoice_daybook")]
    pub invoice_daybook: String,
    /// Daybook for credit notes. Default `CN` (confirm per tenant).
    #[serde(default = "default_credit_note_daybook")]
    pub credit_note_daybook: String,
    /// Daybook for GL journals when the document has none (a daybook of type "Journal
    /// Entries"). Default `JE` (confirm per tenant).
    #[serde(default = "default_journal_daybook")]
    pub journal_daybook: String,
    /// Inventory location used when an adjustment has none. Default empty (QAD's blank
    /// location).
    #[serde(default)]
    pub inventory_location: String,
}

fn default_invoice_daybook() -> String {
    "CI".into()
}
fn default_credit_note_daybook() -> String {
    "CN".into()
}
fn default_journal_daybook() -> String {
    "JE".into()
}

impl Default for TenantDefaults {
    fn default() -> Self {
        Self {
            customer: CustomerDefaults::default(),
            sales_order: SalesOrderDefaults::default(),
            invoice_daybook: default_invoice_daybook(),
            credit_note_daybook: default_credit_note_daybook(),
            journal_daybook: default_journal_daybook(),
            inventory_location: String::new(),
        }
    }
}

/// Codes QAD requires when a customer is created (`customerV2s`). The four GL profiles have no
/// sensible default: while one is missing, customer writes are disabled at connect with a
/// message naming the setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerDefaults {
    /// Credit terms when the document has none (default `30`).
    #[serde(default = "default_credit_terms")]
    pub credit_terms: String,
    /// Invoice status code (default `OPEN`).
    #[serde(default = "default_invoice_status")]
    pub invoice_status: String,
    /// Address type of the head-office address (default `HEADOFFICE`).
    #[serde(default = "default_address_type")]
    pub address_type: String,
    /// Language code (default `en`).
    #[serde(default = "default_language")]
    pub language: String,
    /// Invoice control GL profile (required for customer creation).
    #[serde(default)]
    pub invoice_control_gl_profile: Option<String>,
    /// Credit-note control GL profile (required).
    #[serde(default)]
    pub credit_note_control_gl_profile: Option<String>,
    /// Prepayment control GL profile (required).
    #[serde(default)]
    pub prepayment_control_gl_profile: Option<String>,
    /// Sales account GL profile (required).
    #[serde(default)]
    pub sales_account_gl_profile: Option<String>,
    /// Daybook set written on the domain record (`mfgCustomers`), if the tenant uses one.
    #[serde(default)]
    pub daybook_set: Option<String>,
    /// Customer type code, if the tenant uses one.
    #[serde(default)]
    pub customer_type: Option<String>,
}

fn default_credit_terms() -> String {
    "30".into()
}
fn default_invoice_status() -> String {
    "OPEN".into()
}
fn default_address_type() -> String {
    "HEADOFFICE".into()
}
fn default_language() -> String {
    "en".into()
}

impl Default for CustomerDefaults {
    fn default() -> Self {
        Self {
            credit_terms: default_credit_terms(),
            invoice_status: default_invoice_status(),
            address_type: default_address_type(),
            language: default_language(),
            invoice_control_gl_profile: None,
            credit_note_control_gl_profile: None,
            prepayment_control_gl_profile: None,
            sales_account_gl_profile: None,
            daybook_set: None,
            customer_type: None,
        }
    }
}

impl CustomerDefaults {
    /// The first required GL profile that is missing, as the setting name to fix.
    pub fn missing_required(&self) -> Option<&'static str> {
        [
            (
                "qad.defaults.customer.invoice_control_gl_profile",
                &self.invoice_control_gl_profile,
            ),
            (
                "qad.defaults.customer.credit_note_control_gl_profile",
                &self.credit_note_control_gl_profile,
            ),
            (
                "qad.defaults.customer.prepayment_control_gl_profile",
                &self.prepayment_control_gl_profile,
            ),
            (
                "qad.defaults.customer.sales_account_gl_profile",
                &self.sales_account_gl_profile,
            ),
        ]
        .into_iter()
        .find(|(_, v)| v.as_deref().is_none_or(|s| s.trim().is_empty()))
        .map(|(k, _)| k)
    }
}

/// Sales-order defaults and the deterministic order-number scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesOrderDefaults {
    /// Daybook set on the header, if the tenant uses one.
    #[serde(default)]
    pub daybook_set: Option<String>,
    /// Credit terms on the header when the customer's should not apply.
    #[serde(default)]
    pub credit_terms: Option<String>,
    /// Prefix of generated order numbers (default `W`). Choose one the tenant's own numbering
    /// never produces.
    #[serde(default = "default_number_prefix")]
    pub number_prefix: String,
    /// Total length of generated order numbers (default 8: `so_nbr` is `x(8)` in classic
    /// databases).
    #[serde(default = "default_number_length")]
    pub number_length: usize,
    /// Maximum length of the customer PO field (default 22, `so_po`).
    #[serde(default = "default_po_max_len")]
    pub po_max_len: usize,
    /// Send `isConfirmed = true` on the header (default true).
    #[serde(default = "default_true")]
    pub confirmed: bool,
}

fn default_number_prefix() -> String {
    "W".into()
}
fn default_number_length() -> usize {
    8
}
fn default_po_max_len() -> usize {
    22
}
fn default_true() -> bool {
    true
}

impl Default for SalesOrderDefaults {
    fn default() -> Self {
        Self {
            daybook_set: None,
            credit_terms: None,
            number_prefix: default_number_prefix(),
            number_length: default_number_length(),
            po_max_len: default_po_max_len(),
            confirmed: true,
        }
    }
}

/// The serialisable form of a [`QadConfig`] (what a TOML/JSON file holds). Validate it with
/// [`QadSettings::validate`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QadSettings {
    /// The full tenant base URL including the context root (`https://acme.qad.com/clouderp`).
    pub base_url: String,
    /// Permit `http://` for loopback hosts only (simulators, tests). Never set in production.
    #[serde(default)]
    pub allow_insecure_loopback: bool,
    /// Operational domain (`10USA`).
    pub domain: String,
    /// Financial entity (`10USACO`).
    pub entity: String,
    /// Shared set for customers (`sharedSetCode`).
    pub shared_set: String,
    /// Default site (`10-100`).
    pub default_site: String,
    /// `x-qad-workspace-id` header value (usually `<DOMAIN>_<ENTITY>`); not sent when absent.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// `Accept-Language` header value.
    #[serde(default)]
    pub accept_language: Option<String>,
    /// How to log in.
    pub auth: QadAuthConfig,
    /// Timeouts.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Browse page size (default 100, at most 1000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Business defaults.
    #[serde(default)]
    pub defaults: TenantDefaults,
    /// A registry override file (TOML or JSON) merged over the built-in defaults.
    #[serde(default)]
    pub registry_file: Option<PathBuf>,
    /// Inline registry overrides merged over the defaults (after `registry_file`).
    #[serde(default)]
    pub registry: Option<serde_json::Value>,
}

fn default_page_size() -> u32 {
    100
}

impl QadSettings {
    /// Validates everything and loads the registry.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first wrong setting.
    pub fn validate(self) -> Result<QadConfig> {
        let base_url = validate_base_url(&self.base_url, self.allow_insecure_loopback)?;
        let domain = check_code("qad.domain", &self.domain, 8)?;
        let entity = check_code("qad.entity", &self.entity, 8)?;
        let shared_set = check_code("qad.shared_set", &self.shared_set, 20)?;
        let default_site = check_code("qad.default_site", &self.default_site, 8)?;
        let workspace_id = match self.workspace_id {
            Some(w) => Some(check_code("qad.workspace_id", &w, 40)?),
            None => None,
        };
        if let Some(lang) = &self.accept_language
            && (lang.is_empty()
                || !lang
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b','))
        {
            return Err(Error::config(
                "qad.accept_language",
                format!("`{lang}` is not a language tag such as `en-US`"),
            ));
        }
        self.auth.validate()?;
        if self.timeouts.connect_ms == 0 || self.timeouts.request_ms == 0 {
            return Err(Error::config(
                "qad.timeouts",
                "connect_ms and request_ms must be greater than zero",
            ));
        }
        if !(1..=1000).contains(&self.page_size) {
            return Err(Error::config(
                "qad.page_size",
                format!(
                    "{} is out of range: use 1..=1000 (QAD clients use up to 1000 rows per browse page)",
                    self.page_size
                ),
            ));
        }
        validate_defaults(&self.defaults)?;
        let mut registry = match &self.registry_file {
            Some(path) => Registry::load_file(path)?,
            None => Registry::default(),
        };
        if let Some(inline) = &self.registry {
            registry = registry.merged_with(inline, "qad.registry")?;
        }
        Ok(QadConfig {
            base_url,
            domain,
            entity,
            shared_set,
            default_site,
            workspace_id,
            accept_language: self.accept_language,
            auth: self.auth,
            timeouts: self.timeouts,
            page_size: self.page_size,
            defaults: self.defaults,
            registry,
        })
    }
}

fn validate_defaults(d: &TenantDefaults) -> Result<()> {
    let so = &d.sales_order;
    if so.number_prefix.len() > 3
        || !so
            .number_prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(Error::config(
            "qad.defaults.sales_order.number_prefix",
            format!(
                "`{}` must be at most 3 upper-case letters or digits",
                so.number_prefix
            ),
        ));
    }
    if so.number_length > 30 || so.number_length < so.number_prefix.len() + 6 {
        return Err(Error::config(
            "qad.defaults.sales_order.number_length",
            format!(
                "{} leaves fewer than 6 generated characters after the prefix `{}` (or exceeds 30): raise it or shorten the prefix",
                so.number_length, so.number_prefix
            ),
        ));
    }
    if so.po_max_len == 0 {
        return Err(Error::config(
            "qad.defaults.sales_order.po_max_len",
            "must be at least 1",
        ));
    }
    for (setting, value) in [
        ("qad.defaults.invoice_daybook", &d.invoice_daybook),
        ("qad.defaults.credit_note_daybook", &d.credit_note_daybook),
        ("qad.defaults.journal_daybook", &d.journal_daybook),
    ] {
        check_code(setting, value, 8)?;
    }
    Ok(())
}

/// Validates a tenant base URL: absolute, `https` (or `http` to a loopback host when
/// `allow_insecure_loopback` is set), no user info, no query, no fragment; the path is kept as the
/// context root and normalised to end with `/` so relative API paths resolve under it.
///
/// # Errors
/// [`Error::Config`] for `qad.base_url` saying what is wrong and how to fix it.
pub fn validate_base_url(raw: &str, allow_insecure_loopback: bool) -> Result<Url> {
    const SETTING: &str = "qad.base_url";
    let example = "give the full tenant URL as shown in the environment's \"My Developer Settings → Connection URL\", e.g. https://acme.qad.com/clouderp";
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Error::config(SETTING, format!("is empty: {example}")));
    }
    if trimmed.split('/').any(|seg| seg == "..") {
        return Err(Error::config(
            SETTING,
            format!("`{trimmed}` contains a `..` segment: {example}"),
        ));
    }
    let url = Url::parse(trimmed).map_err(|e| {
        Error::config(
            SETTING,
            format!("`{trimmed}` is not an absolute URL ({e}): {example}"),
        )
    })?;
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => {
            return Err(Error::config(
                SETTING,
                format!("`{trimmed}` has no host: {example}"),
            ));
        }
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_loopback && is_loopback(&url) => {}
        "http" if allow_insecure_loopback => {
            return Err(Error::config(
                SETTING,
                format!(
                    "`{trimmed}` uses http:// to `{host}`, which is not a loopback host: plain http is only allowed for 127.0.0.1/::1/localhost simulators; use https://"
                ),
            ));
        }
        "http" => {
            return Err(Error::config(
                SETTING,
                format!(
                    "`{trimmed}` uses http://: QAD credentials and tokens must travel over TLS; use https:// (allow_insecure_loopback permits http only for a local simulator)"
                ),
            ));
        }
        other => {
            return Err(Error::config(
                SETTING,
                format!("`{trimmed}` has scheme `{other}`: use https://"),
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            SETTING,
            "must not carry user info (`user:password@`): put the credentials in qad.auth",
        ));
    }
    if url.query().is_some() {
        return Err(Error::config(
            SETTING,
            format!(
                "`{trimmed}` has a query string: remove everything from `?` (domain and entity go in qad.domain / qad.entity)"
            ),
        ));
    }
    if url.fragment().is_some() {
        return Err(Error::config(
            SETTING,
            format!(
                "`{trimmed}` has a fragment: remove everything from `#` (a browser deep link is not the API base)"
            ),
        ));
    }
    let mut url = url;
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks a QAD code (domain, entity, site, shared set, daybook): non-empty, at most `max`
/// characters, ASCII letters, digits and `-_./`.
pub(crate) fn check_code(setting: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::config(
            setting,
            "is empty: set the code as it appears in QAD",
        ));
    }
    if v.len() > max {
        return Err(Error::config(
            setting,
            format!("`{v}` is longer than {max} characters"),
        ));
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
    {
        return Err(Error::config(
            setting,
            format!("`{v}` may contain only letters, digits and `-_./`"),
        ));
    }
    Ok(v.to_string())
}

impl QadConfig {
    /// A builder starting from the tenant base URL.
    pub fn builder(base_url: impl Into<String>) -> QadConfigBuilder {
        QadConfigBuilder {
            settings: QadSettings {
                base_url: base_url.into(),
                allow_insecure_loopback: false,
                domain: String::new(),
                entity: String::new(),
                shared_set: String::new(),
                default_site: String::new(),
                workspace_id: None,
                accept_language: None,
                auth: QadAuthConfig::Basic {
                    username: String::new(),
                    password: SecretString::from(String::new()),
                },
                timeouts: Timeouts::default(),
                page_size: default_page_size(),
                defaults: TenantDefaults::default(),
                registry_file: None,
                registry: None,
            },
            registry: None,
        }
    }

    /// Parses and validates a TOML document (the `[qad]` table's content).
    ///
    /// # Errors
    /// [`Error::Config`] naming the wrong setting.
    pub fn from_toml_str(s: &str) -> Result<Self> {
        let settings: QadSettings =
            toml::from_str(s).map_err(|e| Error::config("qad", format!("invalid TOML: {e}")))?;
        settings.validate()
    }

    /// Parses and validates a JSON document.
    ///
    /// # Errors
    /// [`Error::Config`] naming the wrong setting.
    pub fn from_json_str(s: &str) -> Result<Self> {
        let settings: QadSettings = serde_json::from_str(s)
            .map_err(|e| Error::config("qad", format!("invalid JSON: {e}")))?;
        settings.validate()
    }

    /// Reads a `.toml` or `.json` file.
    ///
    /// # Errors
    /// [`Error::Config`] when the file cannot be read or is invalid.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(
                "qad",
                format!("cannot read configuration file {}: {e}", path.display()),
            )
        })?;
        if path.extension().is_some_and(|e| e == "json") {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        }
    }

    /// The tenant base URL, ending with `/`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }
    /// Operational domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }
    /// Financial entity.
    pub fn entity(&self) -> &str {
        &self.entity
    }
    /// Shared set for customers.
    pub fn shared_set(&self) -> &str {
        &self.shared_set
    }
    /// Default site.
    pub fn default_site(&self) -> &str {
        &self.default_site
    }
    /// `x-qad-workspace-id`, if configured.
    pub fn workspace_id(&self) -> Option<&str> {
        self.workspace_id.as_deref()
    }
    /// `Accept-Language`, if configured.
    pub fn accept_language(&self) -> Option<&str> {
        self.accept_language.as_deref()
    }
    /// Authentication.
    pub fn auth(&self) -> &QadAuthConfig {
        &self.auth
    }
    /// Timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }
    /// Connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.timeouts.connect_ms)
    }
    /// Request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.timeouts.request_ms)
    }
    /// Browse page size.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }
    /// Business defaults.
    pub fn defaults(&self) -> &TenantDefaults {
        &self.defaults
    }
    /// The entity registry (defaults merged with the tenant's overrides).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Resolves a path relative to the base URL (the path must already satisfy the registry
    /// grammar).
    pub(crate) fn url(&self, path: &str) -> Url {
        // Paths are validated (no scheme, no `..`, no leading `/`), so joining stays under the
        // context root.
        self.base_url
            .join(path)
            .unwrap_or_else(|_| self.base_url.clone())
    }
}

impl<'de> Deserialize<'de> for QadConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let settings = QadSettings::deserialize(d)?;
        settings.validate().map_err(serde::de::Error::custom)
    }
}

/// Builds a [`QadConfig`] in code.
#[derive(Debug, Clone)]
#[must_use]
pub struct QadConfigBuilder {
    settings: QadSettings,
    registry: Option<Registry>,
}

impl QadConfigBuilder {
    /// Operational domain.
    pub fn domain(mut self, v: impl Into<String>) -> Self {
        self.settings.domain = v.into();
        self
    }
    /// Financial entity.
    pub fn entity(mut self, v: impl Into<String>) -> Self {
        self.settings.entity = v.into();
        self
    }
    /// Shared set for customers.
    pub fn shared_set(mut self, v: impl Into<String>) -> Self {
        self.settings.shared_set = v.into();
        self
    }
    /// Default site.
    pub fn default_site(mut self, v: impl Into<String>) -> Self {
        self.settings.default_site = v.into();
        self
    }
    /// `x-qad-workspace-id` header value.
    pub fn workspace_id(mut self, v: impl Into<String>) -> Self {
        self.settings.workspace_id = Some(v.into());
        self
    }
    /// `Accept-Language` header value.
    pub fn accept_language(mut self, v: impl Into<String>) -> Self {
        self.settings.accept_language = Some(v.into());
        self
    }
    /// Authentication.
    pub fn auth(mut self, auth: QadAuthConfig) -> Self {
        self.settings.auth = auth;
        self
    }
    /// Permit `http://` to loopback hosts (simulators only).
    pub fn allow_insecure_loopback(mut self, allow: bool) -> Self {
        self.settings.allow_insecure_loopback = allow;
        self
    }
    /// Timeouts.
    pub fn timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.settings.timeouts = Timeouts {
            connect_ms: u64::try_from(connect.as_millis()).unwrap_or(u64::MAX),
            request_ms: u64::try_from(request.as_millis()).unwrap_or(u64::MAX),
        };
        self
    }
    /// Browse page size.
    pub fn page_size(mut self, n: u32) -> Self {
        self.settings.page_size = n;
        self
    }
    /// Business defaults.
    pub fn defaults(mut self, d: TenantDefaults) -> Self {
        self.settings.defaults = d;
        self
    }
    /// A complete registry (replaces defaults and any file/inline overrides).
    pub fn registry(mut self, r: Registry) -> Self {
        self.registry = Some(r);
        self
    }
    /// A registry override file merged over the defaults.
    pub fn registry_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.registry_file = Some(path.into());
        self
    }
    /// Inline registry overrides (JSON object) merged over the defaults.
    pub fn registry_overrides(mut self, v: serde_json::Value) -> Self {
        self.settings.registry = Some(v);
        self
    }

    /// Validates and builds.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first wrong setting.
    pub fn build(self) -> Result<QadConfig> {
        let mut cfg = self.settings.validate()?;
        if let Some(r) = self.registry {
            r.validate()?;
            cfg.registry = r;
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        let ok = validate_base_url("https://acme.qad.com/clouderp", false).unwrap();
        assert_eq!(ok.as_str(), "https://acme.qad.com/clouderp/");
        let ok = validate_base_url("https://acme-nonprod.qad.com/clouderp/test/", false).unwrap();
        assert_eq!(ok.as_str(), "https://acme-nonprod.qad.com/clouderp/test/");
        let ok = validate_base_url("https://host:22011/qad-central", false).unwrap();
        assert_eq!(
            ok.join("api/erp/items").unwrap().path(),
            "/qad-central/api/erp/items"
        );
        let ok = validate_base_url("http://127.0.0.1:8080/clouderp", true).unwrap();
        assert_eq!(ok.as_str(), "http://127.0.0.1:8080/clouderp/");
        validate_base_url("http://localhost:1/x", true).unwrap();
        validate_base_url("http://[::1]:1/x", true).unwrap();

        for (bad, needle) in [
            ("", "empty"),
            ("acme.qad.com/clouderp", "absolute"),
            ("http://acme.qad.com/clouderp", "https"),
            ("ftp://acme.qad.com/clouderp", "scheme"),
            ("https://u:p@acme.qad.com/clouderp", "user info"),
            ("https://acme.qad.com/clouderp?domain=10USA", "query"),
            ("https://acme.qad.com/clouderp#/view", "fragment"),
            ("https://acme.qad.com/clouderp/../x", ".."),
        ] {
            let e = validate_base_url(bad, false).unwrap_err().to_string();
            assert!(e.contains("qad.base_url"), "{bad}: {e}");
            assert!(e.contains(needle), "{bad}: {e}");
        }
        let e = validate_base_url("http://acme.qad.com/clouderp", true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a loopback"), "{e}");
        let e = validate_base_url("http://127.0.0.1/clouderp", false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("https"), "{e}");
    }

    #[test]
    fn toml_round_trip_and_secret_redaction() {
        let cfg = QadConfig::from_toml_str(
            r#"
            base_url = "https://acme.qad.com/clouderp"
            domain = "10USA"
            entity = "10USACO"
            shared_set = "SHARED01"
            default_site = "10-100"
            workspace_id = "10USA_10USACO"
            [auth]
            mode = "oauth_password"
            client_id = "abc"
            username = "svc"
            password = "hunter2-very-secret"
            [defaults.customer]
            invoice_control_gl_profile = "AR"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.workspace_id(), Some("10USA_10USACO"));
        assert_eq!(
            cfg.defaults()
                .customer
                .invoice_control_gl_profile
                .as_deref(),
            Some("AR")
        );
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("REDACTED"));
    }

    #[test]
    fn codes_and_unknown_settings_are_refused_with_the_setting_name() {
        let base = |extra: &str| {
            format!(
                r#"
                base_url = "https://acme.qad.com/clouderp"
                domain = "10USA"
                entity = "10USACO"
                shared_set = "S"
                default_site = "10-100"
                {extra}
                [auth]
                mode = "basic"
                username = "u"
                password = "p"
                "#
            )
        };
        QadConfig::from_toml_str(&base("")).unwrap();
        let e = QadConfig::from_toml_str(&base("page_size = 5000"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("qad.page_size"), "{e}");
        let e = QadConfig::from_toml_str(&base("domian = \"x\""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("domian"), "{e}");
        let e = QadConfig::builder("https://a.qad.com/c")
            .domain("10 USA")
            .entity("E")
            .shared_set("S")
            .default_site("1")
            .auth(QadAuthConfig::basic("u", "p"))
            .build()
            .unwrap_err()
            .to_string();
        assert!(e.contains("qad.domain"), "{e}");
    }

    #[test]
    fn missing_gl_profile_is_named() {
        let d = CustomerDefaults::default();
        assert_eq!(
            d.missing_required(),
            Some("qad.defaults.customer.invoice_control_gl_profile")
        );
    }
}
