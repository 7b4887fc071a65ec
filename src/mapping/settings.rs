//! Mapping policies: where orders land, how shipping, discounts and tax are carried, how
//! settlements are posted, where stock lives and how listings are built.
//!
//! Every setting has a documented default so `MapSettings::default()` is usable as is; a host
//! usually loads them from TOML with [`MapSettings::from_toml_str`]:
//!
//! ```toml
//! default_site = "10-100"
//! default_currency = "USD"
//! due_date_offset_days = 2
//! receivable_terms_days = 30
//! business_buyers_own_customer = true
//!
//! [discount]
//! policy = "net_price"
//!
//! [settlement]
//! mode = "summary"
//! daybook = "AMZ"
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Currency;

/// How shipping charged to the buyer reaches the sales order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum ShippingPolicy {
    /// `SalesOrderDoc::freight` carries the shipping amount (QAD freight charge). Default.
    Freight,
    /// A separate order line on a freight item (quantity 1, price = shipping amount).
    Line {
        /// The QAD item code of the freight line (not run through the SKU crosswalk).
        item: String,
    },
}

/// How discounts reach the sales order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum DiscountPolicy {
    /// Each line's discount lowers its net price (`list_price` stays the catalogue price);
    /// order-level discount not attributed to lines is spread over the lines pro rata to their
    /// net amount, cent-exact (largest remainder). Default.
    NetPrice,
    /// Lines keep `net_price = list_price`; the whole discount becomes one line on a discount
    /// item with quantity 1 and a negative price.
    Line {
        /// The QAD item code of the discount line (not run through the SKU crosswalk).
        item: String,
    },
}

/// Whether sales-order lines are taxable in the ERP. In every case the source's tax amount is
/// kept on the document (`SalesOrderDoc::tax`) for reconciliation; the ERP computes its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxPolicy {
    /// Lines are taxable; the ERP computes tax from customer and item tax data. Default.
    ErpComputes,
    /// Lines are not taxable (e.g. Amazon marketplace-facilitator states, where Amazon collects
    /// and remits the tax).
    NotTaxable,
}

/// The two settlement posting modes (see `docs/settlement-accounting.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingMode {
    /// Mode A: one summary journal per settlement and accounting period, sales and fees to
    /// their role accounts, the payout to the clearing account. Default.
    Summary,
    /// Mode B: amounts that belong to invoiced orders are applied against the open receivables
    /// (from [`OpenItems`](super::OpenItems)); what does not match goes to the variance account.
    OpenItems,
}

/// Settlement posting settings. The `*_role` fields name roles of the
/// [`AccountMap`](super::AccountMap); the account map gives each role its GL account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SettlementSettings {
    /// Mode A (summary) or Mode B (open items).
    pub mode: PostingMode,
    /// Role of the balancing line that carries `total-amount` (default `AMZ_CLEARING`).
    pub clearing_role: String,
    /// Role of the account that carries a period's balance into the next period of a split
    /// settlement (default `AMZ_CARRY_FWD`).
    pub carry_forward_role: String,
    /// Role of the reserve account (default `AMZ_RESERVE`); the default rules send
    /// `Current Reserve Amount` / `Previous Reserve Amount Balance` there.
    pub reserve_role: String,
    /// Role of the variance account for unmatched amounts in Mode B (default `VARIANCE`).
    pub variance_role: String,
    /// Role of the receivable (AR control) account that open items are applied against in
    /// Mode B (default `AR_AMZ`).
    pub receivable_role: String,
    /// Roles whose rows belong to an invoiced order and are applied against its open item in
    /// Mode B (default: sales, shipping income, promotions, refunds, seller-remitted tax).
    pub receivable_roles: Vec<String>,
    /// Daybook for settlement journals (None: the tenant's default journal daybook).
    pub daybook: Option<String>,
    /// Daybook per marketplace name or id (overrides `daybook`).
    pub daybooks: BTreeMap<String, String>,
}

impl Default for SettlementSettings {
    fn default() -> Self {
        Self {
            mode: PostingMode::Summary,
            clearing_role: "AMZ_CLEARING".into(),
            carry_forward_role: "AMZ_CARRY_FWD".into(),
            reserve_role: "AMZ_RESERVE".into(),
            variance_role: "VARIANCE".into(),
            receivable_role: "AR_AMZ".into(),
            receivable_roles: [
                "SALES_AMZ",
                "SHIP_INC_AMZ",
                "PROMO_AMZ",
                "REFUND_AMZ",
                "TAX_PAYABLE",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
            daybook: None,
            daybooks: BTreeMap::new(),
        }
    }
}

/// Which channel quantity is compared with the ERP's on-hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockBasis {
    /// Units physically held: available + reserved + unfulfillable (inbound excluded: not
    /// received yet). Default — what an ERP location's on-hand counts.
    Physical,
    /// Sellable units only (FBA `fulfillableQuantity`).
    Available,
}

/// Where channel stock lives in the ERP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InventorySettings {
    /// ERP site holding FBA stock (None: `default_site`).
    pub fba_site: Option<String>,
    /// ERP location of FBA stock (default `FBA`).
    pub fba_location: Option<String>,
    /// ERP site of merchant-fulfilled stock (None: `default_site`).
    pub merchant_site: Option<String>,
    /// ERP location of merchant-fulfilled stock (None: the site's default location).
    pub merchant_location: Option<String>,
    /// What is compared with on-hand.
    pub basis: StockBasis,
}

impl Default for InventorySettings {
    fn default() -> Self {
        Self {
            fba_site: None,
            fba_location: Some("FBA".into()),
            merchant_site: None,
            merchant_location: None,
            basis: StockBasis::Physical,
        }
    }
}

/// Who fulfils the offers the catalog push creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fulfillment {
    /// Merchant-fulfilled: the listing carries the ERP on-hand as its quantity. Default.
    Merchant,
    /// Fulfilled by Amazon: no quantity is pushed (Amazon holds the stock).
    Amazon,
}

/// Catalog push (QAD items → Amazon listings) settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListingSettings {
    /// The marketplace the listings are for (default `ATVPDKIKX0DER`, amazon.com).
    pub marketplace_id: String,
    /// Product type when neither the item nor `product_types` names one (default `PRODUCT`).
    pub default_product_type: String,
    /// Amazon product type per QAD item type (`Product::product_type`).
    pub product_types: BTreeMap<String, String>,
    /// `condition_type` value (default `new_new`).
    pub condition: String,
    /// Language tag of text attributes (default `en_US`).
    pub language_tag: String,
    /// Merchant- or Amazon-fulfilled.
    pub fulfillment: Fulfillment,
}

impl Default for ListingSettings {
    fn default() -> Self {
        Self {
            marketplace_id: "ATVPDKIKX0DER".into(),
            default_product_type: "PRODUCT".into(),
            product_types: BTreeMap::new(),
            condition: "new_new".into(),
            language_tag: "en_US".into(),
            fulfillment: Fulfillment::Merchant,
        }
    }
}

/// Prefixes of derived customer codes, one per kind of party, so codes of different kinds never
/// collide. Numeric source ids are encoded (collision-free); other keys are hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerPrefixes {
    /// Adobe Commerce (shop) customers (default `W`).
    pub customer: String,
    /// B2B companies (default `B`).
    pub company: String,
    /// Guest checkouts, keyed by e-mail (default `G`).
    pub guest: String,
    /// Amazon marketplaces (default `M`).
    pub marketplace: String,
    /// Amazon business buyers with their own customer (default `Z`).
    pub business_buyer: String,
}

impl Default for CustomerPrefixes {
    fn default() -> Self {
        Self {
            customer: "W".into(),
            company: "B".into(),
            guest: "G".into(),
            marketplace: "M".into(),
            business_buyer: "Z".into(),
        }
    }
}

impl CustomerPrefixes {
    fn all(&self) -> [(&'static str, &str); 5] {
        [
            ("customer", &self.customer),
            ("company", &self.company),
            ("guest", &self.guest),
            ("marketplace", &self.marketplace),
            ("business_buyer", &self.business_buyer),
        ]
    }
}

/// All mapping policies. See the field docs for defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MapSettings {
    /// Site for sales orders and, unless overridden, stock (None: the tenant's default site).
    pub default_site: Option<String>,
    /// Currency of customer masters when the source has none (default `USD`).
    pub default_currency: Currency,
    /// Sales-order due date = order date + this many days (default 0).
    pub due_date_offset_days: i64,
    /// Receivable due date = invoice date + this many days (default 30).
    pub receivable_terms_days: i64,
    /// Credit terms code set on customer masters (None: the ERP default).
    pub credit_terms: Option<String>,
    /// Shipping policy.
    pub shipping: ShippingPolicy,
    /// Discount policy.
    pub discount: DiscountPolicy,
    /// Tax policy.
    pub tax: TaxPolicy,
    /// Decimal places of unit net prices when a discount does not divide evenly (default 4).
    pub price_scale: u32,
    /// Amazon Business buyers get their own customer (derived from tax id or company name)
    /// instead of the marketplace customer (default false).
    pub business_buyers_own_customer: bool,
    /// Orders, invoices and credit memos placed for a B2B company are sold to the company's
    /// customer, and company users are not customers of their own (default true).
    pub b2b_orders_to_company: bool,
    /// A fixed customer code for all guest checkouts (None: one customer per guest e-mail,
    /// created through the customer master ahead of the order).
    pub guest_customer: Option<String>,
    /// Maximum length of an ERP customer code (QAD: 8).
    pub customer_code_max_len: usize,
    /// Prefixes of derived customer codes.
    pub customer_prefixes: CustomerPrefixes,
    /// Settlement posting.
    pub settlement: SettlementSettings,
    /// Stock alignment.
    pub inventory: InventorySettings,
    /// Catalog push.
    pub listing: ListingSettings,
}

impl Default for MapSettings {
    fn default() -> Self {
        Self {
            default_site: None,
            default_currency: Currency::new("USD").expect("USD is a valid currency"),
            due_date_offset_days: 0,
            receivable_terms_days: 30,
            credit_terms: None,
            shipping: ShippingPolicy::Freight,
            discount: DiscountPolicy::NetPrice,
            tax: TaxPolicy::ErpComputes,
            price_scale: 4,
            business_buyers_own_customer: false,
            b2b_orders_to_company: true,
            guest_customer: None,
            customer_code_max_len: 8,
            customer_prefixes: CustomerPrefixes::default(),
            settlement: SettlementSettings::default(),
            inventory: InventorySettings::default(),
            listing: ListingSettings::default(),
        }
    }
}

impl MapSettings {
    /// Parses settings from TOML; missing keys keep their defaults.
    ///
    /// # Errors
    /// [`Error::Config`] naming the TOML problem, or a setting that fails [`validate`](Self::validate).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let s: Self = toml::from_str(text)
            .map_err(|e| Error::config("mapping settings", format!("invalid TOML: {e}")))?;
        s.validate()?;
        Ok(s)
    }

    /// Checks the settings for consistency.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting: a customer-code prefix that is empty, not
    /// alphanumeric, shared by two kinds, or too long for `customer_code_max_len`; a zero code
    /// length; a price scale above 10; an empty settlement role.
    pub fn validate(&self) -> Result<()> {
        if self.customer_code_max_len < 2 {
            return Err(Error::config(
                "mapping.customer_code_max_len",
                "must be at least 2 (QAD allows 8)",
            ));
        }
        let prefixes = self.customer_prefixes.all();
        for (i, (kind, p)) in prefixes.iter().enumerate() {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(Error::config(
                    format!("mapping.customer_prefixes.{kind}"),
                    format!("prefix `{p}` must be one or more ASCII letters or digits"),
                ));
            }
            if p.len() + 4 > self.customer_code_max_len {
                return Err(Error::config(
                    format!("mapping.customer_prefixes.{kind}"),
                    format!(
                        "prefix `{p}` leaves fewer than 4 characters of a {}-character customer code",
                        self.customer_code_max_len
                    ),
                ));
            }
            for (other_kind, q) in &prefixes[i + 1..] {
                if q.eq_ignore_ascii_case(p) {
                    return Err(Error::config(
                        format!("mapping.customer_prefixes.{other_kind}"),
                        format!("prefix `{q}` is also used for {kind}: give each kind its own"),
                    ));
                }
            }
        }
        if self.price_scale > 10 {
            return Err(Error::config(
                "mapping.price_scale",
                "at most 10 decimal places",
            ));
        }
        let s = &self.settlement;
        for (name, role) in [
            ("clearing_role", &s.clearing_role),
            ("carry_forward_role", &s.carry_forward_role),
            ("reserve_role", &s.reserve_role),
            ("variance_role", &s.variance_role),
            ("receivable_role", &s.receivable_role),
        ] {
            if role.trim().is_empty() {
                return Err(Error::config(
                    format!("mapping.settlement.{name}"),
                    "must name a role of the account map",
                ));
            }
        }
        if let Some(code) = &self.guest_customer
            && (code.is_empty() || code.chars().count() > self.customer_code_max_len)
        {
            return Err(Error::config(
                "mapping.guest_customer",
                format!(
                    "`{code}` must be 1 to {} characters",
                    self.customer_code_max_len
                ),
            ));
        }
        Ok(())
    }

    /// The site of stock held by `owner`'s location, falling back to `default_site`.
    pub(crate) fn stock_site(&self, fba: bool) -> Option<&str> {
        let s = if fba {
            self.inventory.fba_site.as_deref()
        } else {
            self.inventory.merchant_site.as_deref()
        };
        s.or(self.default_site.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_toml_overrides_merge() {
        MapSettings::default().validate().unwrap();
        let s = MapSettings::from_toml_str(
            r#"
            default_site = "10-100"
            business_buyers_own_customer = true
            [discount]
            policy = "line"
            item = "DISC"
            [settlement]
            mode = "open_items"
            daybook = "AMZ"
            "#,
        )
        .unwrap();
        assert_eq!(s.default_site.as_deref(), Some("10-100"));
        assert_eq!(
            s.discount,
            DiscountPolicy::Line {
                item: "DISC".into()
            }
        );
        assert_eq!(s.settlement.mode, PostingMode::OpenItems);
        assert_eq!(s.settlement.clearing_role, "AMZ_CLEARING");
        assert_eq!(s.customer_code_max_len, 8);

        // The example of docs/settlement-accounting.md §5.
        let s = MapSettings::from_toml_str(
            r#"
            [settlement]
            mode = "summary"
            daybook = "AMZ"
            daybooks = { "amazon.de" = "AMZDE" }
            clearing_role = "AMZ_CLEARING"
            carry_forward_role = "AMZ_CARRY_FWD"
            reserve_role = "AMZ_RESERVE"
            variance_role = "VARIANCE"
            receivable_role = "AR_AMZ"
            receivable_roles = ["SALES_AMZ", "SHIP_INC_AMZ", "PROMO_AMZ", "REFUND_AMZ", "TAX_PAYABLE"]
            "#,
        )
        .unwrap();
        assert_eq!(
            s.settlement,
            SettlementSettings {
                daybook: Some("AMZ".into()),
                daybooks: [("amazon.de".to_string(), "AMZDE".to_string())].into(),
                ..SettlementSettings::default()
            }
        );
    }

    #[test]
    fn clashing_or_long_prefixes_are_refused_with_the_setting_name() {
        let mut s = MapSettings::default();
        s.customer_prefixes.guest = "w".into();
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("customer_prefixes.guest"), "{e}");
        let mut s = MapSettings::default();
        s.customer_prefixes.company = "ACMEB".into();
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("customer_prefixes.company"), "{e}");
        assert!(MapSettings::from_toml_str("price_scale = 99").is_err());
        assert!(MapSettings::from_toml_str("nonsense = [").is_err());
    }
}
