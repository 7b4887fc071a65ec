//! Default mappers and the reference data they use: the SKU crosswalk, the customer map, the
//! account map, the mapping settings, and ERP snapshots (open items, on-hand).
//!
//! | record | default mapping | module |
//! |---|---|---|
//! | order (Adobe Commerce) | sales order; a guest's customer master first | [`orders`] |
//! | order (Amazon) | sales order to the marketplace customer (or the business buyer's own) | [`orders`] |
//! | order pending / cancelled | nothing yet / nothing | [`orders`] |
//! | invoice (paid) | receivable | [`billing`] |
//! | credit memo | credit note | [`billing`] |
//! | customer, company | customer master | [`customers`] |
//! | settlement | one balanced journal per accounting period (Mode A or B) | [`settlement`] |
//! | inventory level | inventory adjustment for the difference to ERP on-hand | [`inventory`] |
//! | QAD item (product) | Amazon listing | [`catalog`] |
//!
//! [`DefaultMapper`] dispatches on the record body. Everything a mapper looks up comes from the
//! [`MapContext`], so mapping is pure and replayable. External ids are documented in [`ids`].
//!
//! # Changing one field, or writing a mapper from scratch
//!
//! ```
//! use ml_connector::mapping::{DefaultMapper, MapContext, MapperExt, map_order};
//! use ml_connector::model::*;
//! use ml_connector::{Mapper, Result};
//!
//! // Wrap the default mapper: every rule and guard stays, one field changes.
//! let mapper = DefaultMapper.customize().sales_order(|so, _record, _ctx| {
//!     so.site = Some("20-200".into());
//!     Ok(())
//! });
//!
//! // Or write one from scratch, reusing the default order mapping where it fits.
//! struct RushOrders;
//! impl Mapper for RushOrders {
//!     fn map(&self, record: &SourceRecord, ctx: &MapContext) -> Result<Vec<ErpDocument>> {
//!         let RecordBody::Order(order) = &record.body else {
//!             return Ok(Vec::new()); // this mapper only handles orders
//!         };
//!         let mut docs = map_order(record, order, ctx)?;
//!         for doc in &mut docs {
//!             if let ErpDocument::SalesOrder(so) = doc {
//!                 so.due_date = so.order_date; // ship today
//!             }
//!         }
//!         Ok(docs)
//!     }
//! }
//!
//! let usd = Currency::new("USD")?;
//! let order = Order {
//!     number: "000000042".into(),
//!     entity_id: Some("42".into()),
//!     channel: Some("default".into()),
//!     status: OrderStatus::Open,
//!     source_status: "processing".into(),
//!     placed_at: "2026-03-01T10:00:00Z".parse().unwrap(),
//!     party: OrderParty { customer_id: Some("7".into()), ..OrderParty::default() },
//!     billing_address: None,
//!     shipping_address: None,
//!     lines: vec![Line {
//!         line_id: "1".into(),
//!         order_line_id: None,
//!         sku: "WS12-M-Orange".into(),
//!         name: Some("Radiant Tee".into()),
//!         quantity: Decimal::from(2),
//!         unit_price: Decimal::from(22),
//!         row_total: Decimal::from(44),
//!         discount: Decimal::ZERO,
//!         tax: Decimal::ZERO,
//!         role: LineRole::Standalone,
//!         parent_line_id: None,
//!     }],
//!     totals: Totals { subtotal: Decimal::from(44), shipping: Decimal::from(5), grand_total: Decimal::from(49), ..Totals::zero(usd) },
//!     base_totals: None,
//!     customer_po: None,
//!     payment_method: None,
//!     shipping_method: None,
//!     fulfilled_by: None,
//!     replaces: None,
//! };
//! let record = SourceRecord {
//!     key: RecordKey::new(SystemId::Adobe, "orders", "default:000000042"),
//!     version: "2026-03-01 10:00:00".into(),
//!     updated_at: None,
//!     body: RecordBody::Order(order),
//!     raw: serde_json::Value::Null,
//! };
//! let ctx = MapContext::builder()
//!     .skus(ml_connector::mapping::SkuCrosswalk::new("skus.csv").with_entry("WS12-M-Orange", "10-1000"))
//!     .build()?;
//!
//! let docs = mapper.map(&record, &ctx)?;
//! let ErpDocument::SalesOrder(so) = &docs[0] else { unreachable!() };
//! assert_eq!(so.site.as_deref(), Some("20-200"));
//! assert_eq!(so.external_id, "adobe:default:order:000000042");
//! assert_eq!(so.customer, "W0000007");
//! assert_eq!(so.lines[0].item, "10-1000");
//! assert_eq!(so.freight, Decimal::from(5));
//!
//! let rush = RushOrders.map(&record, &ctx)?;
//! let ErpDocument::SalesOrder(so) = &rush[0] else { unreachable!() };
//! assert_eq!(so.due_date, so.order_date);
//! # Ok::<(), ml_connector::Error>(())
//! ```

pub mod accounts;
pub mod billing;
pub mod catalog;
pub mod crosswalk;
pub mod custom;
pub mod customers;
pub mod ids;
pub mod inventory;
pub mod orders;
pub mod settings;
pub mod settlement;
pub mod snapshots;

use std::sync::Arc;

pub use accounts::{AccountMap, AccountOverride, AccountRef, AccountRule, RoleAccount};
pub use billing::{map_credit_memo, map_invoice};
pub use catalog::map_listing;
pub use crosswalk::{CaseFold, SkuCrosswalk, SkuRule};
pub use custom::{AndThen, Customize, Hook, MapperExt};
pub use customers::{CustomerCode, CustomerMap, Party, PartyKind, map_company, map_customer};
pub use inventory::{align_inventory, map_inventory_level};
pub use orders::{check_lines, map_order};
pub use settings::{
    CustomerPrefixes, DiscountPolicy, Fulfillment, InventorySettings, ListingSettings, MapSettings,
    PostingMode, SettlementSettings, ShippingPolicy, StockBasis, TaxPolicy,
};
pub use settlement::{Period, map_settlement, settlement_journals};
pub use snapshots::{OnHand, OpenItem, OpenItems, StockKey};

use crate::Mapper;
use crate::error::{Context, Error, Result};
use crate::model::{ErpDocument, RecordBody, SourceRecord, SystemId};

#[derive(Debug, Default)]
struct ContextInner {
    skus: SkuCrosswalk,
    customers: CustomerMap,
    accounts: AccountMap,
    settings: MapSettings,
    open_items: OpenItems,
    on_hand: OnHand,
}

/// Everything a [`Mapper`] may look up: reference data and settings.
///
/// Built once per run by the host (or the pipeline builder) and shared read-only; cloning is a
/// reference-count increment. `MapContext::default()` has the identity SKU rule (unvalidated),
/// derived customer codes, the built-in account map with placeholder accounts and default
/// settings — enough for a demo; production hosts load their tables with [`MapContext::builder`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MapContext {
    inner: Arc<ContextInner>,
}

impl MapContext {
    /// A builder starting from the defaults.
    pub fn builder() -> MapContextBuilder {
        MapContextBuilder::default()
    }

    /// A builder starting from this context (to replace one table, e.g. after a crosswalk fix).
    pub fn to_builder(&self) -> MapContextBuilder {
        let i = &self.inner;
        MapContextBuilder {
            inner: ContextInner {
                skus: i.skus.clone(),
                customers: i.customers.clone(),
                accounts: i.accounts.clone(),
                settings: i.settings.clone(),
                open_items: i.open_items.clone(),
                on_hand: i.on_hand.clone(),
            },
        }
    }

    /// The SKU crosswalk.
    pub fn skus(&self) -> &SkuCrosswalk {
        &self.inner.skus
    }

    /// The customer map.
    pub fn customers(&self) -> &CustomerMap {
        &self.inner.customers
    }

    /// The account map.
    pub fn accounts(&self) -> &AccountMap {
        &self.inner.accounts
    }

    /// The settings.
    pub fn settings(&self) -> &MapSettings {
        &self.inner.settings
    }

    /// Open receivables (settlement Mode B).
    pub fn open_items(&self) -> &OpenItems {
        &self.inner.open_items
    }

    /// ERP on-hand snapshot (stock alignment, listing quantities).
    pub fn on_hand(&self) -> &OnHand {
        &self.inner.on_hand
    }
}

/// Builds a [`MapContext`]; [`build`](Self::build) validates the combination.
#[derive(Debug, Default)]
pub struct MapContextBuilder {
    inner: ContextInner,
}

impl MapContextBuilder {
    /// Sets the SKU crosswalk.
    #[must_use]
    pub fn skus(mut self, skus: SkuCrosswalk) -> Self {
        self.inner.skus = skus;
        self
    }

    /// Sets the customer map.
    #[must_use]
    pub fn customers(mut self, customers: CustomerMap) -> Self {
        self.inner.customers = customers;
        self
    }

    /// Sets the account map.
    #[must_use]
    pub fn accounts(mut self, accounts: AccountMap) -> Self {
        self.inner.accounts = accounts;
        self
    }

    /// Sets the settings.
    #[must_use]
    pub fn settings(mut self, settings: MapSettings) -> Self {
        self.inner.settings = settings;
        self
    }

    /// Sets the open receivables (settlement Mode B).
    #[must_use]
    pub fn open_items(mut self, items: OpenItems) -> Self {
        self.inner.open_items = items;
        self
    }

    /// Sets the ERP on-hand snapshot.
    #[must_use]
    pub fn on_hand(mut self, on_hand: OnHand) -> Self {
        self.inner.on_hand = on_hand;
        self
    }

    /// Sets the customer of Amazon orders in `marketplace` (id or name) to `code` (an entry of
    /// the customer map's `[marketplaces]` table).
    ///
    /// # Errors
    /// [`Error::Config`] when `code` is empty or already another party's.
    pub fn marketplace_customer(mut self, marketplace: &str, code: &str) -> Result<Self> {
        self.inner.customers =
            self.inner
                .customers
                .with_entry(PartyKind::Marketplace, marketplace, code)?;
        Ok(self)
    }

    /// Validates and builds.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting or table: invalid settings, an explicit customer code
    /// beyond the length limit, or a settlement role the account map has no account for
    /// (clearing, carry-forward and reserve always; receivable and variance in Mode B).
    pub fn build(self) -> Result<MapContext> {
        let i = &self.inner;
        i.settings.validate()?;
        i.customers.validate(i.settings.customer_code_max_len)?;
        let s = &i.settings.settlement;
        let mut roles = vec![
            s.clearing_role.as_str(),
            s.carry_forward_role.as_str(),
            s.reserve_role.as_str(),
        ];
        if s.mode == PostingMode::OpenItems {
            roles.push(&s.receivable_role);
            roles.push(&s.variance_role);
        }
        i.accounts.validate_roles(roles)?;
        Ok(MapContext {
            inner: Arc::new(self.inner),
        })
    }
}

/// The default mapper: dispatches each record body to its default mapping (see the module
/// table). Financial transactions and non-QAD products have no default mapping and are refused
/// with [`Error::Unsupported`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultMapper;

impl Mapper for DefaultMapper {
    fn map(&self, record: &SourceRecord, ctx: &MapContext) -> Result<Vec<ErpDocument>> {
        match &record.body {
            RecordBody::Order(o) => map_order(record, o, ctx),
            RecordBody::Invoice(i) => map_invoice(record, i, ctx),
            RecordBody::CreditMemo(c) => map_credit_memo(record, c, ctx),
            RecordBody::Customer(c) => map_customer(record, c, ctx),
            RecordBody::Company(c) => map_company(record, c, ctx),
            RecordBody::Settlement(s) => map_settlement(record, s, ctx),
            RecordBody::InventoryLevel(l) => map_inventory_level(record, l, ctx),
            RecordBody::Product(p) if record.key.system == SystemId::Qad => {
                map_listing(record, p, ctx)
            }
            RecordBody::Product(_) => Err(unsupported(
                record,
                "products from this source have no default mapping (the catalog push maps QAD items)",
            )),
            RecordBody::FinancialTransaction(_) => Err(unsupported(
                record,
                "financial transactions have no default mapping (settlements carry the accounting)",
            )),
        }
    }
}

fn unsupported(record: &SourceRecord, why: &str) -> Error {
    Error::Unsupported {
        ctx: Context {
            op: "mapping.default".into(),
            status: None,
            request_id: None,
            record: Some(record.key.to_string()),
        }
        .into(),
        message: format!("{why}; wrap DefaultMapper or write a custom mapper (docs/mapping.md)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_cheap_to_clone_and_send_sync() {
        fn assert<T: Send + Sync + Clone + Default>() {}
        assert::<MapContext>();
        let a = MapContext::default();
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
    }

    #[test]
    fn build_validates_the_combination() {
        let accounts = AccountMap::from_toml_str(
            "accounts.toml",
            "[roles.AMZ_CLEARING]\naccount = \"1150\"\n",
        )
        .unwrap();
        let e = MapContext::builder()
            .accounts(accounts)
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("AMZ_CARRY_FWD") && e.contains("accounts.toml"),
            "{e}"
        );
        let e = MapContext::builder()
            .marketplace_customer("ATVPDKIKX0DER", "AMAZONUS1")
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(e.contains("AMAZONUS1"), "{e}");
        let ctx = MapContext::builder()
            .marketplace_customer("ATVPDKIKX0DER", "AMZUS")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(
            ctx.customers()
                .explicit(PartyKind::Marketplace, "ATVPDKIKX0DER"),
            Some("AMZUS")
        );
        let rebuilt = ctx.to_builder().build().unwrap();
        assert_eq!(
            rebuilt
                .customers()
                .explicit(PartyKind::Marketplace, "ATVPDKIKX0DER"),
            Some("AMZUS")
        );
    }
}
