//! SP-API regions, their production and sandbox hosts, and the marketplace table.
//!
//! Source: reference §2.1 (hosts) and §2.2 (marketplace ids,
//! <https://developer-docs.amazon.com/sp-api/docs/marketplace-ids>). Marketplace ids stay open
//! strings everywhere else in the crate (non-Amazon pseudo-marketplaces exist); this table is
//! what the crate knows about the official ones (region, currency, report charset).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An SP-API selling region. A seller active in several regions needs one client per region
/// (each region has its own host, its own refresh-token authorisation and its own usage plans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// North America: Canada, United States, Mexico, Brazil.
    Na,
    /// Europe: Ireland, Spain, UK, France, Belgium, Netherlands, Germany, Italy, Sweden, South
    /// Africa, Poland, Egypt, Turkey, Saudi Arabia, UAE, India.
    Eu,
    /// Far East: Singapore, Australia, Japan.
    Fe,
}

/// Production or Amazon's static sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// `https://sellingpartnerapi-{na,eu,fe}.amazon.com`.
    #[default]
    Production,
    /// `https://sandbox.sellingpartnerapi-{na,eu,fe}.amazon.com` (static pattern-matching
    /// sandbox, 5 rps / burst 15 for every operation).
    Sandbox,
}

impl Region {
    /// Every region.
    pub const ALL: [Region; 3] = [Region::Na, Region::Eu, Region::Fe];

    /// `na`, `eu` or `fe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Na => "na",
            Region::Eu => "eu",
            Region::Fe => "fe",
        }
    }

    /// The SP-API base URL of this region in `env` (no trailing slash).
    pub fn endpoint(self, env: Environment) -> &'static str {
        match (self, env) {
            (Region::Na, Environment::Production) => "https://sellingpartnerapi-na.amazon.com",
            (Region::Eu, Environment::Production) => "https://sellingpartnerapi-eu.amazon.com",
            (Region::Fe, Environment::Production) => "https://sellingpartnerapi-fe.amazon.com",
            (Region::Na, Environment::Sandbox) => "https://sandbox.sellingpartnerapi-na.amazon.com",
            (Region::Eu, Environment::Sandbox) => "https://sandbox.sellingpartnerapi-eu.amazon.com",
            (Region::Fe, Environment::Sandbox) => "https://sandbox.sellingpartnerapi-fe.amazon.com",
        }
    }

    /// The marketplaces of this region.
    pub fn marketplaces(self) -> impl Iterator<Item = &'static Marketplace> {
        MARKETPLACES.iter().filter(move |m| m.region == self)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "na" | "north-america" | "us-east-1" => Ok(Region::Na),
            "eu" | "europe" | "eu-west-1" => Ok(Region::Eu),
            "fe" | "far-east" | "us-west-2" => Ok(Region::Fe),
            other => Err(Error::config(
                "amazon.region",
                format!("unknown region `{other}`; use `na`, `eu` or `fe`"),
            )),
        }
    }
}

/// One Amazon marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Marketplace {
    /// The marketplace id (`ATVPDKIKX0DER`).
    pub id: &'static str,
    /// ISO 3166-1 alpha-2 country code (`US`; the United Kingdom is `GB`, Amazon writes `UK`).
    pub country: &'static str,
    /// Country name.
    pub name: &'static str,
    /// The region whose host serves it.
    pub region: Region,
    /// Default currency (ISO 4217).
    pub currency: &'static str,
    /// The storefront domain as it appears in `marketplace-name` of settlement rows and in
    /// `SalesChannel` (`Amazon.com`).
    pub domain: &'static str,
}

impl Marketplace {
    /// The charset a report of this marketplace uses when the download names none: Shift_JIS
    /// for Japan, windows-1252 (a superset of ISO-8859-1) otherwise (reference §4.4).
    pub fn default_report_charset(&self) -> &'static encoding_rs::Encoding {
        if self.country == "JP" {
            encoding_rs::SHIFT_JIS
        } else {
            encoding_rs::WINDOWS_1252
        }
    }
}

macro_rules! mp {
    ($id:literal, $cc:literal, $name:literal, $region:ident, $cur:literal, $domain:literal) => {
        Marketplace {
            id: $id,
            country: $cc,
            name: $name,
            region: Region::$region,
            currency: $cur,
            domain: $domain,
        }
    };
}

/// The official marketplaces (reference §2.2).
pub const MARKETPLACES: &[Marketplace] = &[
    mp!("A2EUQ1WTGCTBG2", "CA", "Canada", Na, "CAD", "Amazon.ca"),
    mp!(
        "ATVPDKIKX0DER",
        "US",
        "United States",
        Na,
        "USD",
        "Amazon.com"
    ),
    mp!("A1AM78C64UM0Y8", "MX", "Mexico", Na, "MXN", "Amazon.com.mx"),
    mp!("A2Q3Y263D00KWC", "BR", "Brazil", Na, "BRL", "Amazon.com.br"),
    mp!("A28R8C7NBKEWEA", "IE", "Ireland", Eu, "EUR", "Amazon.ie"),
    mp!("A1RKKUPIHCS9HS", "ES", "Spain", Eu, "EUR", "Amazon.es"),
    mp!(
        "A1F83G8C2ARO7P",
        "GB",
        "United Kingdom",
        Eu,
        "GBP",
        "Amazon.co.uk"
    ),
    mp!("A13V1IB3VIYZZH", "FR", "France", Eu, "EUR", "Amazon.fr"),
    mp!("AMEN7PMS3EDWL", "BE", "Belgium", Eu, "EUR", "Amazon.com.be"),
    mp!(
        "A1805IZSGTT6HS",
        "NL",
        "Netherlands",
        Eu,
        "EUR",
        "Amazon.nl"
    ),
    mp!("A1PA6795UKMFR9", "DE", "Germany", Eu, "EUR", "Amazon.de"),
    mp!("APJ6JRA9NG5V4", "IT", "Italy", Eu, "EUR", "Amazon.it"),
    mp!("A2NODRKZP88ZB9", "SE", "Sweden", Eu, "SEK", "Amazon.se"),
    mp!(
        "AE08WJ6YKNBMC",
        "ZA",
        "South Africa",
        Eu,
        "ZAR",
        "Amazon.co.za"
    ),
    mp!("A1C3SOZRARQ6R3", "PL", "Poland", Eu, "PLN", "Amazon.pl"),
    mp!("ARBP9OOSHTCHU", "EG", "Egypt", Eu, "EGP", "Amazon.eg"),
    mp!("A33AVAJ2PDY3EV", "TR", "Turkey", Eu, "TRY", "Amazon.com.tr"),
    mp!(
        "A17E79C6D8DWNP",
        "SA",
        "Saudi Arabia",
        Eu,
        "SAR",
        "Amazon.sa"
    ),
    mp!(
        "A2VIGQ35RCS4UG",
        "AE",
        "United Arab Emirates",
        Eu,
        "AED",
        "Amazon.ae"
    ),
    mp!("A21TJRUUN4KGV", "IN", "India", Eu, "INR", "Amazon.in"),
    mp!("A19VAU5U5O7RUS", "SG", "Singapore", Fe, "SGD", "Amazon.sg"),
    mp!(
        "A39IBJ37TRP1C6",
        "AU",
        "Australia",
        Fe,
        "AUD",
        "Amazon.com.au"
    ),
    mp!("A1VC38T7YXB528", "JP", "Japan", Fe, "JPY", "Amazon.co.jp"),
];

/// The marketplace with this id, if it is an official one.
pub fn marketplace(id: &str) -> Option<&'static Marketplace> {
    MARKETPLACES.iter().find(|m| m.id == id)
}

/// The marketplace for a country code (`US`, `DE`; `UK` and `GB` both give the United Kingdom).
pub fn marketplace_by_country(code: &str) -> Option<&'static Marketplace> {
    let code = code.trim().to_ascii_uppercase();
    let code = if code == "UK" { "GB".to_string() } else { code };
    MARKETPLACES.iter().find(|m| m.country == code)
}

/// The marketplace whose storefront domain matches (`amazon.com`, `Amazon.de`), case-insensitive.
pub fn marketplace_by_domain(domain: &str) -> Option<&'static Marketplace> {
    let d = domain.trim();
    MARKETPLACES
        .iter()
        .find(|m| m.domain.eq_ignore_ascii_case(d))
}

/// Checks that every configured marketplace belongs to `region`.
///
/// # Errors
/// [`Error::Config`] naming the marketplace and the region whose host serves it.
pub fn check_marketplaces(region: Region, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Err(Error::config(
            "amazon.marketplace_ids",
            "no marketplace configured; add at least one marketplace id of the region (e.g. ATVPDKIKX0DER for the US)",
        ));
    }
    for id in ids {
        if let Some(m) = marketplace(id)
            && m.region != region
        {
            return Err(Error::config(
                "amazon.marketplace_ids",
                format!(
                    "marketplace {id} ({}) is served by the {} region, not {region}; configure a separate client for region {}",
                    m.name, m.region, m.region
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_marketplaces() {
        assert_eq!(
            Region::Eu.endpoint(Environment::Sandbox),
            "https://sandbox.sellingpartnerapi-eu.amazon.com"
        );
        assert_eq!(marketplace("A1VC38T7YXB528").unwrap().region, Region::Fe);
        assert_eq!(marketplace_by_country("uk").unwrap().id, "A1F83G8C2ARO7P");
        assert_eq!(
            marketplace_by_domain("amazon.com").unwrap().id,
            "ATVPDKIKX0DER"
        );
        assert_eq!(Region::Na.marketplaces().count(), 4);
        assert_eq!(Region::Eu.marketplaces().count(), 16);
        assert_eq!(Region::Fe.marketplaces().count(), 3);
        assert_eq!("EU".parse::<Region>().unwrap(), Region::Eu);
        assert!(check_marketplaces(Region::Na, &["A1PA6795UKMFR9".into()]).is_err());
        assert!(check_marketplaces(Region::Na, &["ATVPDKIKX0DER".into()]).is_ok());
        assert!(check_marketplaces(Region::Na, &[]).is_err());
        assert_eq!(
            marketplace("A1VC38T7YXB528")
                .unwrap()
                .default_report_charset()
                .name(),
            "Shift_JIS"
        );
    }
}
