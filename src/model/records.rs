use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Currency, Money, RecordKey};

/// One record read from a source: key, version, typed canonical body and the raw payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// Which record this is.
    pub key: RecordKey,
    /// The source's version of it (`updated_at`, `lastUpdatedTime`, a report id): a record seen
    /// again with the same version is the same record.
    pub version: String,
    /// When the source last changed it, if the source says.
    pub updated_at: Option<DateTime<Utc>>,
    /// The typed canonical body.
    pub body: RecordBody,
    /// The payload exactly as the source sent it (JSON; a settlement's rows as JSON).
    pub raw: serde_json::Value,
}

/// The canonical body of a source record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
// Records live in pages of a few hundred and are moved rarely; unboxed variants keep them simple
// to build and match.
#[allow(clippy::large_enum_variant)]
pub enum RecordBody {
    /// A sales order (Adobe Commerce order, Amazon order).
    Order(Order),
    /// A captured invoice.
    Invoice(Invoice),
    /// A credit memo (refund).
    CreditMemo(CreditMemo),
    /// A customer account.
    Customer(Customer),
    /// A B2B company.
    Company(Company),
    /// A catalog product or an ERP item (catalog push source).
    Product(Product),
    /// An Amazon settlement (one settlement report).
    Settlement(Settlement),
    /// An inventory level (FBA or merchant-fulfilled, or ERP on-hand).
    InventoryLevel(InventoryLevel),
    /// A financial event (Amazon Finances `listTransactions`), kept as the source's JSON.
    FinancialTransaction(serde_json::Value),
}

impl RecordBody {
    /// Short name of the body's type (`order`, `invoice`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            RecordBody::Order(_) => "order",
            RecordBody::Invoice(_) => "invoice",
            RecordBody::CreditMemo(_) => "credit_memo",
            RecordBody::Customer(_) => "customer",
            RecordBody::Company(_) => "company",
            RecordBody::Product(_) => "product",
            RecordBody::Settlement(_) => "settlement",
            RecordBody::InventoryLevel(_) => "inventory_level",
            RecordBody::FinancialTransaction(_) => "financial_transaction",
        }
    }
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Person or company name on the address.
    pub name: Option<String>,
    /// Company line.
    pub company: Option<String>,
    /// Street lines.
    pub street: Vec<String>,
    /// City.
    pub city: Option<String>,
    /// Region / state code or name.
    pub region: Option<String>,
    /// Postal code.
    pub postcode: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// VAT / tax id on the address.
    pub vat_id: Option<String>,
}

/// Order lifecycle, normalised across sources. Drive logic off this, display the source status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OrderStatus {
    /// Not yet confirmed (Amazon `PENDING`, Adobe `pending_payment`/`payment_review`): amounts
    /// are provisional and the order will be read again when it changes.
    Pending,
    /// Confirmed and open (new, processing, unshipped, partially shipped).
    Open,
    /// On hold.
    OnHold,
    /// Fully shipped / complete.
    Complete,
    /// Closed (fully refunded).
    Closed,
    /// Cancelled.
    Cancelled,
}

/// Who placed an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderParty {
    /// The source's customer id (None for guests and for Amazon buyers).
    pub customer_id: Option<String>,
    /// Buyer e-mail, when the source shares it.
    pub email: Option<String>,
    /// Buyer name.
    pub name: Option<String>,
    /// `true` for guest checkouts.
    pub is_guest: bool,
    /// The B2B company that placed the order (Adobe `company_order_attributes`), if any.
    pub company: Option<CompanyRef>,
    /// `true` for business buyers (Amazon Business, B2B companies).
    pub is_business: bool,
    /// The buyer's tax id, when known.
    pub tax_id: Option<String>,
}

/// A reference to a B2B company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyRef {
    /// The source's company id.
    pub id: String,
    /// Company name.
    pub name: Option<String>,
}

/// How an order line relates to others (Adobe Commerce lists parents and children flat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineRole {
    /// A plain line.
    Standalone,
    /// A configurable parent carrying price and quantity (its child is dropped).
    ConfigurableParent,
    /// A bundle component carrying its own price (the bundle parent is dropped).
    BundleComponent,
    /// A fixed-price bundle kept as one kit line.
    BundleKit,
}

/// One order, invoice or credit-memo line as it counts toward the document's subtotal: a source
/// adapter emits each sold unit once (never a configurable parent *and* its child, never a bundle
/// *and* its components).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The source's line id (Adobe `item_id`, Amazon `orderItemId`).
    pub line_id: String,
    /// The order line this line refers to (invoice and credit-memo lines).
    pub order_line_id: Option<String>,
    /// The sellable SKU (resolved to an ERP item through the crosswalk).
    pub sku: String,
    /// Product name.
    pub name: Option<String>,
    /// Quantity (decimal: Adobe allows decimal quantities).
    pub quantity: Decimal,
    /// Unit price before discount, excluding tax.
    pub unit_price: Decimal,
    /// Line total before discount, excluding tax (`quantity × unit_price` as the source computed it).
    pub row_total: Decimal,
    /// Discount on the line (positive number).
    pub discount: Decimal,
    /// Tax on the line.
    pub tax: Decimal,
    /// How the line relates to the source's parent/child rows.
    pub role: LineRole,
    /// The source's line id of the parent row, if this line came from a child row.
    pub parent_line_id: Option<String>,
}

/// Document totals in the document's currency. Discounts are positive numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Currency of every amount below.
    pub currency: Currency,
    /// Sum of line row totals (before discount, excluding tax).
    pub subtotal: Decimal,
    /// Shipping charged (excluding tax).
    pub shipping: Decimal,
    /// Discount (positive).
    pub discount: Decimal,
    /// Tax.
    pub tax: Decimal,
    /// Amount the buyer pays (or is refunded).
    pub grand_total: Decimal,
}

impl Totals {
    /// All zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self {
            currency,
            subtotal: Decimal::ZERO,
            shipping: Decimal::ZERO,
            discount: Decimal::ZERO,
            tax: Decimal::ZERO,
            grand_total: Decimal::ZERO,
        }
    }

    /// The grand total as [`Money`].
    pub fn grand_total_money(&self) -> Money {
        Money::new(self.grand_total, self.currency.clone())
    }
}

/// A sales order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The order number people see (Adobe `increment_id`, Amazon `orderId`).
    pub number: String,
    /// The source's internal id (Adobe `entity_id`), if different from the number.
    pub entity_id: Option<String>,
    /// Store code / store id (Adobe) or marketplace id (Amazon).
    pub channel: Option<String>,
    /// Normalised status.
    pub status: OrderStatus,
    /// The source's own status text.
    pub source_status: String,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Who placed it.
    pub party: OrderParty,
    /// Billing address.
    pub billing_address: Option<Address>,
    /// Shipping address (Adobe: from `extension_attributes.shipping_assignments`).
    pub shipping_address: Option<Address>,
    /// Lines counted once each.
    pub lines: Vec<Line>,
    /// Totals in the order currency.
    pub totals: Totals,
    /// Totals in the store's base currency, when it differs (Adobe `base_*`).
    pub base_totals: Option<Totals>,
    /// Customer purchase order number, when given.
    pub customer_po: Option<String>,
    /// Payment method code.
    pub payment_method: Option<String>,
    /// Shipping method.
    pub shipping_method: Option<String>,
    /// `AMAZON` (FBA) or `MERCHANT` fulfilment, for Amazon orders.
    pub fulfilled_by: Option<String>,
    /// For edited orders (`100000042-1`): the number of the order this one replaces.
    pub replaces: Option<String>,
}

/// State of an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceState {
    /// Open (not captured yet).
    Open,
    /// Paid (captured).
    Paid,
    /// Cancelled.
    Cancelled,
}

/// A captured (or open) invoice against an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    /// Invoice number (Adobe `increment_id`).
    pub number: String,
    /// Source id (Adobe `entity_id`).
    pub entity_id: String,
    /// The order's source id (Adobe `order_id` = order `entity_id`).
    pub order_entity_id: String,
    /// The order's number, when known.
    pub order_number: Option<String>,
    /// Store / channel.
    pub channel: Option<String>,
    /// State.
    pub state: InvoiceState,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who is billed.
    pub party: OrderParty,
    /// Lines invoiced (a partial invoice lists only what it invoices).
    pub lines: Vec<Line>,
    /// Totals.
    pub totals: Totals,
}

/// Online (through the payment gateway) or offline refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundMethod {
    /// Refunded through the payment gateway against a captured invoice.
    Online,
    /// Refunded outside the gateway.
    Offline,
}

/// A credit memo (refund) against an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditMemo {
    /// Credit memo number.
    pub number: String,
    /// Source id (Adobe `entity_id`).
    pub entity_id: String,
    /// The order's source id.
    pub order_entity_id: String,
    /// The order's number, when known.
    pub order_number: Option<String>,
    /// The invoice refunded, when there is one (online refunds).
    pub invoice_entity_id: Option<String>,
    /// Store / channel.
    pub channel: Option<String>,
    /// Online or offline.
    pub method: RefundMethod,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who is refunded.
    pub party: OrderParty,
    /// Lines refunded.
    pub lines: Vec<Line>,
    /// Totals (positive amounts = money back to the buyer).
    pub totals: Totals,
    /// "Adjustment refund" (added to the refund).
    pub adjustment_positive: Decimal,
    /// "Adjustment fee" (kept from the refund).
    pub adjustment_negative: Decimal,
}

/// A customer account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Source id.
    pub id: String,
    /// E-mail.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The company the customer belongs to (B2B), if any.
    pub company: Option<CompanyRef>,
    /// Default billing address.
    pub billing_address: Option<Address>,
    /// Default shipping address.
    pub shipping_address: Option<Address>,
    /// Tax id.
    pub tax_id: Option<String>,
    /// Customer group.
    pub group: Option<String>,
    /// Website / store scope.
    pub channel: Option<String>,
    /// Created.
    pub created_at: Option<DateTime<Utc>>,
}

/// A B2B company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Company {
    /// Source id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Legal name.
    pub legal_name: Option<String>,
    /// Company e-mail.
    pub email: Option<String>,
    /// VAT / tax id.
    pub tax_id: Option<String>,
    /// Legal address.
    pub address: Option<Address>,
    /// Active / blocked / pending.
    pub status: Option<String>,
}

/// A catalog product (Adobe) or ERP item (QAD, as the catalog push source).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// SKU / item code.
    pub sku: String,
    /// Name / description.
    pub name: Option<String>,
    /// Product type (`simple`, `configurable`, …; QAD item type).
    pub product_type: Option<String>,
    /// Price, when known.
    pub price: Option<Money>,
    /// Active?
    pub active: bool,
    /// Unit of measure.
    pub uom: Option<String>,
    /// Barcodes (UPC/EAN/GTIN) when known.
    pub barcodes: Vec<String>,
    /// Any further attributes, as the source gave them.
    pub attributes: serde_json::Value,
}

/// One settlement report: the summary and its detail rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settlement {
    /// `settlement-id`: the identity of the settlement (duplicate reports collapse to it).
    pub settlement_id: String,
    /// Period start.
    pub start: Option<DateTime<Utc>>,
    /// Period end.
    pub end: Option<DateTime<Utc>>,
    /// Deposit date.
    pub deposit_date: Option<DateTime<Utc>>,
    /// `total-amount`: what Amazon pays out (negative: what it charges).
    pub total: Money,
    /// Marketplace name or id, when known.
    pub marketplace: Option<String>,
    /// The detail rows.
    pub rows: Vec<SettlementRow>,
}

/// One detail row of a settlement report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettlementRow {
    /// `transaction-type` (`Order`, `Refund`, `ServiceFee`, …; an open vocabulary).
    pub transaction_type: String,
    /// `order-id`.
    pub order_id: Option<String>,
    /// `merchant-order-id`.
    pub merchant_order_id: Option<String>,
    /// `adjustment-id`.
    pub adjustment_id: Option<String>,
    /// `shipment-id`.
    pub shipment_id: Option<String>,
    /// `marketplace-name`.
    pub marketplace_name: Option<String>,
    /// `amount-type` (`ItemPrice`, `ItemFees`, `other-transaction`, …).
    pub amount_type: String,
    /// `amount-description` (`Principal`, `Commission`, `Current Reserve Amount`, …).
    pub amount_description: String,
    /// `amount`, in the settlement currency.
    pub amount: Decimal,
    /// `fulfillment-id` (`AFN`, `MFN`).
    pub fulfillment_id: Option<String>,
    /// `posted-date-time` (else `posted-date`).
    pub posted_at: Option<DateTime<Utc>>,
    /// `order-item-code`.
    pub order_item_code: Option<String>,
    /// `sku`.
    pub sku: Option<String>,
    /// `quantity-purchased`.
    pub quantity: Option<Decimal>,
    /// `promotion-id`.
    pub promotion_id: Option<String>,
}

/// FBA (Amazon) or merchant-fulfilled stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockOwner {
    /// Held in Amazon fulfilment centres.
    Fba,
    /// Held by the merchant.
    Merchant,
    /// The ERP's on-hand.
    Erp,
}

/// A stock level for one SKU at one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryLevel {
    /// Seller SKU / item code.
    pub sku: String,
    /// Who holds it.
    pub owner: StockOwner,
    /// Marketplace id, site or location, as the source scopes it.
    pub location: Option<String>,
    /// Sellable quantity (FBA `fulfillableQuantity`; merchant available quantity; ERP on hand).
    pub available: Decimal,
    /// Inbound (FBA working + shipped + receiving).
    pub inbound: Decimal,
    /// Reserved.
    pub reserved: Decimal,
    /// Unfulfillable.
    pub unfulfillable: Decimal,
    /// When the level was observed.
    pub observed_at: DateTime<Utc>,
}

/// A calendar date helper used by documents.
pub fn date_of(ts: &DateTime<Utc>) -> NaiveDate {
    ts.date_naive()
}
