//! The customer map: source parties → ERP customer codes, and customer/company records →
//! [`CustomerDoc`].
//!
//! A party is an Adobe Commerce customer, a B2B company, a guest (keyed by e-mail), an Amazon
//! marketplace or an Amazon business buyer ([`PartyKind`]). Its code is, in this order:
//!
//! 1. the **explicit table** entry for the party (TOML, one table per kind, see below);
//! 2. a **derived code**, deterministic and within [`MapSettings::customer_code_max_len`]
//!    (QAD: 8). Each kind has its own prefix ([`CustomerPrefixes`]); the rest of the code is
//!    * for a numeric source id (Adobe customer and company ids): the id in upper-case base 36,
//!      zero-padded (`W0000003` for customer 3). Injective, so two parties never share a code;
//!    * otherwise (e-mails, marketplace ids, company names): base 36 of the first 64 bits of
//!      SHA-256 over `kind:key`, truncated to the space left (7 characters = 36⁷ ≈ 7.8·10¹⁰
//!      values). A candidate that is already taken — an explicit code, or a code the host lists
//!      as known for another party ([`CustomerMap::with_known_codes`], e.g. read back from the
//!      ERP's external-reference field) — is skipped and the next candidate (`kind:key#1`, `#2`,
//!      …) is tried, so collisions with known codes are impossible and collisions between
//!      unknown hashed codes are as unlikely as the hash allows.
//!
//! ```toml
//! [customers]          # Adobe customer id → code
//! "3" = "C100045"
//! [companies]          # B2B company id → code
//! "2" = "ACME01"
//! [guests]             # guest e-mail (case-insensitive) → code
//! "jdoe@example.com" = "WEBGUEST"
//! [marketplaces]       # Amazon marketplace id or name → code
//! ATVPDKIKX0DER = "AMZUS"
//! [business_buyers]    # Amazon business buyer tax id or company name → code
//! "DE123456789" = "ACMEDE"
//! ```
//!
//! Every derived code belongs to a customer master the connector creates itself: shop customers
//! and companies through their own streams (masters first), guests, derived marketplace
//! customers and business buyers through a [`CustomerDoc`] the order mapper emits ahead of the
//! sales order.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::MapContext;
use super::settings::{CustomerPrefixes, MapSettings};
use crate::error::{Error, Result};
use crate::model::{Company, Customer, CustomerDoc, ErpDocument, SourceRecord};

/// The kinds of party that become ERP customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// A registered shop customer (keyed by the source's customer id).
    Customer,
    /// A B2B company (keyed by the source's company id).
    Company,
    /// A guest checkout (keyed by e-mail, case-insensitive).
    Guest,
    /// An Amazon marketplace (keyed by marketplace id or name).
    Marketplace,
    /// An Amazon business buyer (keyed by tax id, else company name; case-insensitive).
    BusinessBuyer,
}

impl PartyKind {
    /// The name used in external ids and the TOML tables' singular form.
    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Customer => "customer",
            PartyKind::Company => "company",
            PartyKind::Guest => "guest",
            PartyKind::Marketplace => "marketplace",
            PartyKind::BusinessBuyer => "buyer",
        }
    }

    fn table(self) -> &'static str {
        match self {
            PartyKind::Customer => "customers",
            PartyKind::Company => "companies",
            PartyKind::Guest => "guests",
            PartyKind::Marketplace => "marketplaces",
            PartyKind::BusinessBuyer => "business_buyers",
        }
    }

    fn prefix(self, p: &CustomerPrefixes) -> &str {
        match self {
            PartyKind::Customer => &p.customer,
            PartyKind::Company => &p.company,
            PartyKind::Guest => &p.guest,
            PartyKind::Marketplace => &p.marketplace,
            PartyKind::BusinessBuyer => &p.business_buyer,
        }
    }

    /// Normalises a key: e-mails and buyer names compare case-insensitively, whitespace is
    /// collapsed.
    pub fn normalize(self, key: &str) -> String {
        let collapsed = key.split_whitespace().collect::<Vec<_>>().join(" ");
        match self {
            PartyKind::Guest => collapsed.to_lowercase(),
            PartyKind::BusinessBuyer => collapsed.to_uppercase(),
            _ => collapsed,
        }
    }
}

impl fmt::Display for PartyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One party to resolve: its kind, the source system (`adobe`, `amazon`) and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// Kind.
    pub kind: PartyKind,
    /// Source system short name.
    pub system: String,
    /// Normalised key.
    pub key: String,
}

impl Party {
    /// A party; `key` is normalised for its kind.
    pub fn new(kind: PartyKind, system: impl Into<String>, key: &str) -> Self {
        Self {
            kind,
            system: system.into(),
            key: kind.normalize(key),
        }
    }

    /// The party's external id, written into the customer master (`adobe:customer:3`,
    /// `amazon:marketplace:ATVPDKIKX0DER`, `adobe:guest:jdoe@example.com`).
    pub fn external_id(&self) -> String {
        format!("{}:{}:{}", self.system, self.kind.as_str(), self.key)
    }
}

/// A resolved customer code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCode {
    /// The code.
    pub code: String,
    /// `true` when derived (not from the explicit table): the connector owns this customer.
    pub derived: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerMapToml {
    #[serde(default)]
    customers: BTreeMap<String, String>,
    #[serde(default)]
    companies: BTreeMap<String, String>,
    #[serde(default)]
    guests: BTreeMap<String, String>,
    #[serde(default)]
    marketplaces: BTreeMap<String, String>,
    #[serde(default)]
    business_buyers: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
struct Inner {
    explicit: HashMap<(PartyKind, String), String>,
    /// code → the party key (`kind:key`) it was given to explicitly.
    explicit_codes: HashMap<String, String>,
    /// code → external id of the party that owns it in the ERP.
    known: HashMap<String, String>,
    source: String,
}

/// Source party → ERP customer code. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CustomerMap {
    inner: Arc<Inner>,
}

impl Default for CustomerMap {
    /// No explicit entries: every code is derived.
    fn default() -> Self {
        Self::new("the customer map")
    }
}

const MAX_ATTEMPTS: u32 = 32;

impl CustomerMap {
    /// An empty map; `source` names the file people edit (used in error messages).
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                source: source.into(),
                ..Inner::default()
            }),
        }
    }

    /// Parses the TOML form (see the module docs).
    ///
    /// # Errors
    /// [`Error::Config`] naming `source`: invalid TOML, an empty code, or one code given to two
    /// parties.
    pub fn from_toml_str(source: impl Into<String>, text: &str) -> Result<Self> {
        let source = source.into();
        let t: CustomerMapToml = toml::from_str(text)
            .map_err(|e| Error::config(source.clone(), format!("invalid customer map: {e}")))?;
        let mut map = Self::new(source);
        for (kind, table) in [
            (PartyKind::Customer, t.customers),
            (PartyKind::Company, t.companies),
            (PartyKind::Guest, t.guests),
            (PartyKind::Marketplace, t.marketplaces),
            (PartyKind::BusinessBuyer, t.business_buyers),
        ] {
            for (key, code) in table {
                map = map.with_entry(kind, &key, code)?;
            }
        }
        Ok(map)
    }

    fn edit(&self, f: impl FnOnce(&mut Inner) -> Result<()>) -> Result<Self> {
        let mut inner = (*self.inner).clone();
        f(&mut inner)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// A copy with an explicit code for `(kind, key)`.
    ///
    /// # Errors
    /// [`Error::Config`] when `code` is empty or already given to another party.
    pub fn with_entry(&self, kind: PartyKind, key: &str, code: impl Into<String>) -> Result<Self> {
        let code = code.into().trim().to_string();
        let key = kind.normalize(key);
        let owner = format!("{kind}:{key}");
        self.edit(|i| {
            if code.is_empty() {
                return Err(Error::config(
                    i.source.clone(),
                    format!("[{}] \"{key}\": empty customer code", kind.table()),
                ));
            }
            if let Some(prev) = i.explicit_codes.get(&code)
                && prev != &owner
            {
                return Err(Error::config(
                    i.source.clone(),
                    format!("customer code `{code}` is given to both {prev} and {owner}"),
                ));
            }
            if let Some(old) = i.explicit.insert((kind, key), code.clone())
                && old != code
            {
                i.explicit_codes.remove(&old);
            }
            i.explicit_codes.insert(code, owner);
            Ok(())
        })
    }

    /// A copy that knows which codes already exist in the ERP and whose they are: pairs of
    /// `(code, external id)` as [`Party::external_id`] writes them. Derived codes skip codes
    /// known for another party.
    #[must_use]
    pub fn with_known_codes(&self, known: impl IntoIterator<Item = (String, String)>) -> Self {
        let known: Vec<(String, String)> = known.into_iter().collect();
        self.edit(|i| {
            i.known.extend(known);
            Ok(())
        })
        .expect("adding known codes cannot fail")
    }

    /// The file errors point to.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// The explicit code for a party, if any.
    pub fn explicit(&self, kind: PartyKind, key: &str) -> Option<&str> {
        self.inner
            .explicit
            .get(&(kind, kind.normalize(key)))
            .map(String::as_str)
    }

    /// Checks every explicit code against the length limit.
    ///
    /// # Errors
    /// [`Error::Config`] naming the entry that is too long.
    pub fn validate(&self, max_len: usize) -> Result<()> {
        let mut entries: Vec<_> = self.inner.explicit.iter().collect();
        entries.sort();
        for ((kind, key), code) in entries {
            if code.chars().count() > max_len {
                return Err(Error::config(
                    self.inner.source.clone(),
                    format!(
                        "[{}] \"{key}\" = \"{code}\" is longer than the ERP's {max_len}-character customer code",
                        kind.table()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The code for `party`: explicit, else derived (see the module docs).
    ///
    /// # Errors
    /// [`Error::Data`] naming `record` when the key is empty or no free derived code was found.
    pub fn resolve(
        &self,
        record: &dyn fmt::Display,
        party: &Party,
        settings: &MapSettings,
    ) -> Result<CustomerCode> {
        if party.key.is_empty() {
            return Err(Error::data(
                record,
                format!(
                    "the {} has no id to derive a customer code from",
                    party.kind
                ),
                format!(
                    "fix the source record or add an explicit code to [{}] in {}",
                    party.kind.table(),
                    self.inner.source
                ),
            ));
        }
        if let Some(code) = self.inner.explicit.get(&(party.kind, party.key.clone())) {
            return Ok(CustomerCode {
                code: code.clone(),
                derived: false,
            });
        }
        let max_len = settings.customer_code_max_len;
        let prefix = party
            .kind
            .prefix(&settings.customer_prefixes)
            .to_ascii_uppercase();
        let width = max_len.saturating_sub(prefix.chars().count());
        let owner = format!("{}:{}", party.kind, party.key);
        let ext = party.external_id();
        let free = |code: &str| {
            self.inner
                .explicit_codes
                .get(code)
                .is_none_or(|o| o == &owner)
                && self.inner.known.get(code).is_none_or(|e| e == &ext)
        };
        if matches!(party.kind, PartyKind::Customer | PartyKind::Company)
            && let Ok(n) = party.key.parse::<u64>()
            && party.key.bytes().all(|b| b.is_ascii_digit())
        {
            let digits = base36(n);
            if digits.len() <= width {
                let code = format!("{prefix}{digits:0>width$}");
                if free(&code) {
                    return Ok(CustomerCode {
                        code,
                        derived: true,
                    });
                }
            }
        }
        for attempt in 0..MAX_ATTEMPTS {
            let code = format!("{prefix}{}", hashed(&owner, attempt, width));
            if free(&code) {
                return Ok(CustomerCode {
                    code,
                    derived: true,
                });
            }
        }
        Err(Error::data(
            record,
            format!("no free {max_len}-character customer code could be derived for {owner}"),
            format!(
                "add an explicit code for \"{}\" to [{}] in {}",
                party.key,
                party.kind.table(),
                self.inner.source
            ),
        ))
    }
}

/// Upper-case base 36 of `n`.
fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

/// `width` base-36 characters from SHA-256 of `owner` (+ `#attempt`).
fn hashed(owner: &str, attempt: u32, width: usize) -> String {
    let mut h = Sha256::new();
    h.update(owner.as_bytes());
    if attempt > 0 {
        h.update(format!("#{attempt}").as_bytes());
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(bytes);
    // 36^12 > 2^62: for widths up to 12 reduce modulo 36^width; wider codes use the whole value.
    let modulus = (width <= 12).then(|| 36u64.pow(width as u32));
    let v = modulus.map_or(n, |m| n % m);
    format!("{:0>width$}", base36(v))
}

/// Maps a shop customer to its customer master. Company users map to nothing when
/// [`MapSettings::b2b_orders_to_company`] is on (the company is the ERP customer).
///
/// # Errors
/// [`Error::Data`] when no code can be derived.
pub fn map_customer(
    record: &SourceRecord,
    customer: &Customer,
    ctx: &MapContext,
) -> Result<Vec<ErpDocument>> {
    let settings = ctx.settings();
    if settings.b2b_orders_to_company && customer.company.is_some() {
        return Ok(Vec::new());
    }
    let party = Party::new(
        PartyKind::Customer,
        record.key.system.as_str(),
        &customer.id,
    );
    let code = ctx.customers().resolve(&record.key, &party, settings)?;
    let name = [
        customer.first_name.as_deref(),
        customer.last_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ");
    let name = if name.is_empty() {
        customer
            .email
            .clone()
            .unwrap_or_else(|| format!("Customer {}", customer.id))
    } else {
        name
    };
    let address = customer
        .billing_address
        .clone()
        .or_else(|| customer.shipping_address.clone());
    let tax_id = customer
        .tax_id
        .clone()
        .or_else(|| address.as_ref().and_then(|a| a.vat_id.clone()));
    Ok(vec![ErpDocument::Customer(CustomerDoc {
        external_id: party.external_id(),
        code: code.code,
        name,
        email: customer.email.clone(),
        currency: settings.default_currency.clone(),
        address,
        tax_id,
        is_business: false,
        credit_terms: settings.credit_terms.clone(),
    })])
}

/// Maps a B2B company to its customer master. Companies pending approval (`0`, `pending`) or
/// rejected (`2`, `rejected`) map to nothing: they cannot order yet, and they are read again
/// when their status changes.
///
/// # Errors
/// [`Error::Data`] when no code can be derived.
pub fn map_company(
    record: &SourceRecord,
    company: &Company,
    ctx: &MapContext,
) -> Result<Vec<ErpDocument>> {
    let settings = ctx.settings();
    if let Some(status) = company
        .status
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        && matches!(
            status.as_str(),
            "0" | "2" | "pending" | "pending_approval" | "rejected"
        )
    {
        return Ok(Vec::new());
    }
    let party = Party::new(PartyKind::Company, record.key.system.as_str(), &company.id);
    let code = ctx.customers().resolve(&record.key, &party, settings)?;
    let tax_id = company
        .tax_id
        .clone()
        .or_else(|| company.address.as_ref().and_then(|a| a.vat_id.clone()));
    Ok(vec![ErpDocument::Customer(CustomerDoc {
        external_id: party.external_id(),
        code: code.code,
        name: company
            .legal_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| company.name.clone()),
        email: company.email.clone(),
        currency: settings.default_currency.clone(),
        address: company.address.clone(),
        tax_id,
        is_business: true,
        credit_terms: settings.credit_terms.clone(),
    })])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> MapSettings {
        MapSettings::default()
    }

    #[test]
    fn numeric_ids_encode_injectively_and_fit_the_limit() {
        let m = CustomerMap::default();
        let c = |id: &str| {
            m.resolve(&"r", &Party::new(PartyKind::Customer, "adobe", id), &s())
                .unwrap()
                .code
        };
        assert_eq!(c("3"), "W0000003");
        assert_eq!(c("36"), "W0000010");
        assert_eq!(c("78364164095"), "WZZZZZZZ");
        // Beyond 36^7 − 1 the id is hashed; still 8 characters.
        assert_eq!(c("78364164096").len(), 8);
        let company = m
            .resolve(&"r", &Party::new(PartyKind::Company, "adobe", "3"), &s())
            .unwrap();
        assert_eq!(company.code, "B0000003");
        assert!(company.derived);
    }

    #[test]
    fn hashed_codes_are_deterministic_case_insensitive_and_skip_taken_codes() {
        let m = CustomerMap::default();
        let g = Party::new(PartyKind::Guest, "adobe", "JDoe@Example.com ");
        let a = m.resolve(&"r", &g, &s()).unwrap().code;
        let b = m
            .resolve(
                &"r",
                &Party::new(PartyKind::Guest, "adobe", "jdoe@example.com"),
                &s(),
            )
            .unwrap()
            .code;
        assert_eq!(a, b);
        assert!(a.starts_with('G') && a.len() == 8, "{a}");
        // The ERP already has this code for someone else: the next candidate is used.
        let m2 = m.with_known_codes([(a.clone(), "adobe:guest:other@example.com".into())]);
        let c = m2.resolve(&"r", &g, &s()).unwrap().code;
        assert_ne!(c, a);
        assert!(c.starts_with('G') && c.len() == 8);
        // Known for the same party: kept.
        let m3 = m.with_known_codes([(a.clone(), g.external_id())]);
        assert_eq!(m3.resolve(&"r", &g, &s()).unwrap().code, a);
        // An explicit code another party holds is skipped too.
        let m4 = CustomerMap::default()
            .with_entry(PartyKind::Customer, "99", "W0000003")
            .unwrap();
        let d = m4
            .resolve(&"r", &Party::new(PartyKind::Customer, "adobe", "3"), &s())
            .unwrap()
            .code;
        assert_ne!(d, "W0000003");
        assert!(d.starts_with('W') && d.len() == 8);
    }

    #[test]
    fn explicit_table_from_toml_wins_and_is_validated() {
        let m = CustomerMap::from_toml_str(
            "customers.toml",
            "[customers]\n\"3\" = \"C100045\"\n[marketplaces]\nATVPDKIKX0DER = \"AMZUS\"\n",
        )
        .unwrap();
        let r = m
            .resolve(&"r", &Party::new(PartyKind::Customer, "adobe", "3"), &s())
            .unwrap();
        assert_eq!(
            r,
            CustomerCode {
                code: "C100045".into(),
                derived: false
            }
        );
        assert_eq!(
            m.explicit(PartyKind::Marketplace, "ATVPDKIKX0DER"),
            Some("AMZUS")
        );
        m.validate(8).unwrap();
        let e = m.validate(5).unwrap_err().to_string();
        assert!(e.contains("C100045") && e.contains("customers.toml"), "{e}");
        let dup = CustomerMap::from_toml_str(
            "c.toml",
            "[customers]\n\"1\" = \"X\"\n[companies]\n\"1\" = \"X\"\n",
        );
        assert!(dup.unwrap_err().to_string().contains("given to both"));
    }

    #[test]
    fn base36_round_numbers() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "Z");
        assert_eq!(base36(36), "10");
        assert_eq!(hashed("customer:x", 0, 7).len(), 7);
    }
}
