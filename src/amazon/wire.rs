//! Wire types of the SP-API operations the crate calls, shaped after Amazon's models
//! (`orders_2026-01-01.json`, `ordersV0.json`, `reports_2021-06-30.json`,
//! `finances_2024-06-19.json`, `fbaInventory.json`, `listingsItems_2021-08-01.json`,
//! `tokens_2021-03-01.json`, `sellers.json`).
//!
//! Every field Amazon may omit is optional; unknown fields are ignored (Amazon adds fields).
//! Money stays text until conversion (`Money.amount` is a decimal *string* in Orders; the
//! conversion parses it into `rust_decimal`). Date-times stay text too: some sandbox answers carry
//! `""` or `"1.569521782042E9"` in date-time fields.

use serde::{Deserialize, Serialize};

/// `{"errors":[{code,message,details}]}` — the error body of every SP-API operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorList {
    /// The errors.
    #[serde(default)]
    pub errors: Vec<ApiError>,
}

/// One SP-API error. `code` can be symbolic (`InvalidInput`) or numeric (`"400"`); `message` can
/// be `null`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Error code.
    #[serde(default)]
    pub code: Option<String>,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
    /// Details.
    #[serde(default)]
    pub details: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Orders API 2026-01-01
// ---------------------------------------------------------------------------------------------

/// Orders 2026-01-01 and Listings `Money`: `amount` is a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// Decimal text, e.g. `"19.99"`.
    pub amount: String,
    /// ISO 4217.
    pub currency_code: String,
}

/// `searchOrders` response (no `payload` wrapper).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOrdersResponse {
    /// Orders of this page.
    #[serde(default)]
    pub orders: Vec<Order>,
    /// Absent on the last page.
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// The effective upper bound when searching by last update.
    #[serde(default)]
    pub last_updated_before: Option<String>,
    /// The effective upper bound when searching by creation.
    #[serde(default)]
    pub created_before: Option<String>,
}

/// `pagination` of searchOrders / FBA inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Token for the next page.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// `getOrder` (2026-01-01) response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetOrderResponse {
    /// The order.
    pub order: Order,
}

/// An order (2026-01-01).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// `3-7-7` order id.
    pub order_id: String,
    /// Seller order ids and other aliases.
    #[serde(default)]
    pub order_aliases: Vec<Alias>,
    /// Purchase time.
    pub created_time: String,
    /// Last update.
    pub last_updated_time: String,
    /// `AMAZON_BUSINESS`, `PRIME`, …
    #[serde(default)]
    pub programs: Vec<String>,
    /// Marketplace.
    pub sales_channel: SalesChannel,
    /// Buyer (`includedData=BUYER`).
    #[serde(default)]
    pub buyer: Option<Buyer>,
    /// Recipient (`includedData=RECIPIENT`).
    #[serde(default)]
    pub recipient: Option<Recipient>,
    /// Proceeds (`includedData=PROCEEDS`).
    #[serde(default)]
    pub proceeds: Option<OrderProceeds>,
    /// Fulfillment (`includedData=FULFILLMENT`).
    #[serde(default)]
    pub fulfillment: Option<OrderFulfillment>,
    /// Items (always included).
    #[serde(default)]
    pub order_items: Vec<OrderItem>,
}

/// An order alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alias {
    /// The alias.
    pub alias_id: String,
    /// `SELLER_ORDER_ID`.
    pub alias_type: String,
}

/// Sales channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesChannel {
    /// `AMAZON` or `NON_AMAZON`.
    pub channel_name: String,
    /// Marketplace id.
    #[serde(default)]
    pub marketplace_id: Option<String>,
    /// `Amazon.com`.
    #[serde(default)]
    pub marketplace_name: Option<String>,
}

/// Buyer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    /// Name.
    #[serde(default)]
    pub buyer_name: Option<String>,
    /// Anonymised e-mail.
    #[serde(default)]
    pub buyer_email: Option<String>,
    /// Company (Amazon Business).
    #[serde(default)]
    pub buyer_company_name: Option<String>,
    /// Purchase order number.
    #[serde(default)]
    pub buyer_purchase_order_number: Option<String>,
}

/// Recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    /// Delivery address.
    #[serde(default)]
    pub delivery_address: Option<CustomerAddress>,
}

/// Address (2026-01-01).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAddress {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Company.
    #[serde(default)]
    pub company_name: Option<String>,
    /// Line 1.
    #[serde(default)]
    pub address_line1: Option<String>,
    /// Line 2.
    #[serde(default)]
    pub address_line2: Option<String>,
    /// Line 3.
    #[serde(default)]
    pub address_line3: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// District.
    #[serde(default)]
    pub district_or_county: Option<String>,
    /// State.
    #[serde(default)]
    pub state_or_region: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default)]
    pub country_code: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
}

/// Order proceeds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderProceeds {
    /// Grand total.
    #[serde(default)]
    pub grand_total: Option<Money>,
    /// Per category.
    #[serde(default)]
    pub breakdowns: Vec<ProceedsBreakdown>,
}

/// A proceeds breakdown (`ITEM`, `SHIPPING`, `TAX`, `DISCOUNT`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProceedsBreakdown {
    /// Category.
    #[serde(rename = "type")]
    pub kind: String,
    /// Amount.
    pub subtotal: Money,
    /// Finer breakdown (TAX and DISCOUNT only).
    #[serde(default)]
    pub detailed_breakdowns: Vec<DetailedBreakdown>,
}

/// Finer breakdown of a TAX or DISCOUNT subtotal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailedBreakdown {
    /// `ITEM`, `SHIPPING`, …
    #[serde(default)]
    pub subtype: Option<String>,
    /// Amount.
    #[serde(default)]
    pub value: Option<Money>,
}

/// Order fulfillment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfillment {
    /// `PENDING`, `UNSHIPPED`, `SHIPPED`, `CANCELLED`, …
    #[serde(default)]
    pub fulfillment_status: Option<String>,
    /// `MERCHANT` or `AMAZON`.
    #[serde(default)]
    pub fulfilled_by: Option<String>,
    /// Service level.
    #[serde(default)]
    pub fulfillment_service_level: Option<String>,
}

/// An order item (2026-01-01).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    /// Item id.
    pub order_item_id: String,
    /// Quantity.
    pub quantity_ordered: i64,
    /// Product.
    pub product: ItemProduct,
    /// Proceeds.
    #[serde(default)]
    pub proceeds: Option<ItemProceeds>,
}

/// Product of an item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemProduct {
    /// ASIN.
    #[serde(default)]
    pub asin: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Seller SKU.
    #[serde(default)]
    pub seller_sku: Option<String>,
    /// Unit price.
    #[serde(default)]
    pub price: Option<ItemPrice>,
}

/// Item price.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPrice {
    /// The unit price.
    #[serde(default)]
    pub unit_price: Option<Money>,
}

/// Item proceeds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemProceeds {
    /// Total.
    #[serde(default)]
    pub proceeds_total: Option<Money>,
    /// Per category.
    #[serde(default)]
    pub breakdowns: Vec<ProceedsBreakdown>,
}

// ---------------------------------------------------------------------------------------------
// Orders API v0
// ---------------------------------------------------------------------------------------------

/// v0 `Money`: `Amount` is a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoneyV0 {
    /// ISO 4217.
    #[serde(default)]
    pub currency_code: Option<String>,
    /// Decimal text.
    #[serde(default)]
    pub amount: Option<String>,
}

/// `getOrders` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GetOrdersResponse {
    /// The payload.
    #[serde(default)]
    pub payload: Option<OrdersList>,
}

/// `OrdersList`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrdersList {
    /// Orders.
    #[serde(default)]
    pub orders: Vec<OrderV0>,
    /// Next page token.
    #[serde(default)]
    pub next_token: Option<String>,
    /// Effective upper bound.
    #[serde(default)]
    pub last_updated_before: Option<String>,
    /// Effective upper bound.
    #[serde(default)]
    pub created_before: Option<String>,
}

/// `getOrder` (v0) response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetOrderV0Response {
    /// The order.
    pub payload: OrderV0,
}

/// v0 order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderV0 {
    /// Order id.
    pub amazon_order_id: String,
    /// Seller order id.
    #[serde(default)]
    pub seller_order_id: Option<String>,
    /// Purchase date.
    pub purchase_date: String,
    /// Last update.
    pub last_update_date: String,
    /// `Pending`, `Unshipped`, `Shipped`, `Canceled`, …
    pub order_status: String,
    /// `MFN` or `AFN`.
    #[serde(default)]
    pub fulfillment_channel: Option<String>,
    /// `Amazon.com`.
    #[serde(default)]
    pub sales_channel: Option<String>,
    /// Ship service level.
    #[serde(default)]
    pub ship_service_level: Option<String>,
    /// Total (absent while Pending).
    #[serde(default)]
    pub order_total: Option<MoneyV0>,
    /// Payment method.
    #[serde(default)]
    pub payment_method: Option<String>,
    /// Marketplace id.
    #[serde(default)]
    pub marketplace_id: Option<String>,
    /// Business order?
    #[serde(default)]
    pub is_business_order: Option<bool>,
    /// Replacement order?
    #[serde(default)]
    pub is_replacement_order: Option<serde_json::Value>,
    /// The order it replaces.
    #[serde(default)]
    pub replaced_order_id: Option<String>,
    /// Restricted: shipping address (RDT).
    #[serde(default)]
    pub shipping_address: Option<AddressV0>,
    /// Restricted: buyer info (RDT).
    #[serde(default)]
    pub buyer_info: Option<BuyerInfoV0>,
}

/// v0 address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddressV0 {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Company.
    #[serde(default)]
    pub company_name: Option<String>,
    /// Line 1.
    #[serde(default)]
    pub address_line1: Option<String>,
    /// Line 2.
    #[serde(default)]
    pub address_line2: Option<String>,
    /// Line 3.
    #[serde(default)]
    pub address_line3: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// State.
    #[serde(default)]
    pub state_or_region: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// Country.
    #[serde(default)]
    pub country_code: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
}

/// v0 buyer info.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BuyerInfoV0 {
    /// E-mail.
    #[serde(default)]
    pub buyer_email: Option<String>,
    /// Name.
    #[serde(default)]
    pub buyer_name: Option<String>,
    /// PO.
    #[serde(default)]
    pub purchase_order_number: Option<String>,
}

/// `getOrderItems` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetOrderItemsResponse {
    /// The payload.
    pub payload: OrderItemsList,
}

/// `OrderItemsList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderItemsList {
    /// The order.
    #[serde(default)]
    pub amazon_order_id: Option<String>,
    /// Items.
    #[serde(default)]
    pub order_items: Vec<OrderItemV0>,
    /// Next page.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// v0 item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrderItemV0 {
    /// ASIN.
    #[serde(rename = "ASIN", default)]
    pub asin: Option<String>,
    /// Item id.
    pub order_item_id: String,
    /// SKU.
    #[serde(rename = "SellerSKU", default)]
    pub seller_sku: Option<String>,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Quantity.
    pub quantity_ordered: i64,
    /// Line price (unit × quantity).
    #[serde(default)]
    pub item_price: Option<MoneyV0>,
    /// Shipping.
    #[serde(default)]
    pub shipping_price: Option<MoneyV0>,
    /// Item tax.
    #[serde(default)]
    pub item_tax: Option<MoneyV0>,
    /// Shipping tax.
    #[serde(default)]
    pub shipping_tax: Option<MoneyV0>,
    /// Shipping discount.
    #[serde(default)]
    pub shipping_discount: Option<MoneyV0>,
    /// Promotion discount.
    #[serde(default)]
    pub promotion_discount: Option<MoneyV0>,
}

/// Tokens API `createRestrictedDataToken` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRestrictedDataTokenRequest {
    /// Delegation target, rarely used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_application: Option<String>,
    /// The resources.
    pub restricted_resources: Vec<RestrictedResource>,
}

/// One restricted resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestrictedResource {
    /// `GET`.
    pub method: String,
    /// Path, generic (`/orders/v0/orders/{orderId}`) or specific.
    pub path: String,
    /// `buyerInfo`, `shippingAddress`, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_elements: Vec<String>,
}

/// `createRestrictedDataToken` response.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRestrictedDataTokenResponse {
    /// The RDT (a secret).
    pub restricted_data_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
}

// ---------------------------------------------------------------------------------------------
// Reports API 2021-06-30
// ---------------------------------------------------------------------------------------------

/// `getReports` response (no `payload` wrapper).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetReportsResponse {
    /// Reports.
    #[serde(default)]
    pub reports: Vec<Report>,
    /// Next page (send it alone).
    #[serde(default)]
    pub next_token: Option<String>,
}

/// A report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Report id.
    pub report_id: String,
    /// Report type.
    pub report_type: String,
    /// Marketplaces.
    #[serde(default)]
    pub marketplace_ids: Vec<String>,
    /// Data window start.
    #[serde(default)]
    pub data_start_time: Option<String>,
    /// Data window end.
    #[serde(default)]
    pub data_end_time: Option<String>,
    /// Creation time.
    pub created_time: String,
    /// `DONE`, …
    pub processing_status: String,
    /// The document, when DONE.
    #[serde(default)]
    pub report_document_id: Option<String>,
}

/// `getReportDocument` response.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportDocument {
    /// Document id.
    pub report_document_id: String,
    /// Presigned URL, valid 5 minutes.
    pub url: String,
    /// `GZIP` when compressed.
    #[serde(default)]
    pub compression_algorithm: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Finances 2024-06-19
// ---------------------------------------------------------------------------------------------

/// `listTransactions` response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ListTransactionsResponse {
    /// The payload.
    #[serde(default)]
    pub payload: Option<TransactionsPayload>,
}

/// `listTransactions` payload. Transactions stay JSON (their amounts are JSON numbers; the
/// source rewrites them to exact decimal strings).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionsPayload {
    /// Next page (send with the same arguments).
    #[serde(default)]
    pub next_token: Option<String>,
    /// Transactions.
    #[serde(default)]
    pub transactions: Vec<serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// FBA inventory
// ---------------------------------------------------------------------------------------------

/// `getInventorySummaries` response: `pagination` is a sibling of `payload`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct GetInventorySummariesResponse {
    /// The payload.
    #[serde(default)]
    pub payload: Option<InventorySummariesPayload>,
    /// Pagination (30-second token).
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

/// Payload of `getInventorySummaries`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventorySummariesPayload {
    /// Summaries.
    #[serde(default)]
    pub inventory_summaries: Vec<InventorySummary>,
}

/// One FBA inventory summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventorySummary {
    /// ASIN.
    #[serde(default)]
    pub asin: Option<String>,
    /// FNSKU.
    #[serde(default)]
    pub fn_sku: Option<String>,
    /// Seller SKU.
    #[serde(default)]
    pub seller_sku: Option<String>,
    /// Condition.
    #[serde(default)]
    pub condition: Option<String>,
    /// Details (`details=true`).
    #[serde(default)]
    pub inventory_details: Option<InventoryDetails>,
    /// Last change (may be `""`).
    #[serde(default)]
    pub last_updated_time: Option<String>,
    /// Product name.
    #[serde(default)]
    pub product_name: Option<String>,
    /// Total quantity.
    #[serde(default)]
    pub total_quantity: Option<i64>,
}

/// FBA quantities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryDetails {
    /// Sellable.
    #[serde(default)]
    pub fulfillable_quantity: Option<i64>,
    /// Inbound working.
    #[serde(default)]
    pub inbound_working_quantity: Option<i64>,
    /// Inbound shipped.
    #[serde(default)]
    pub inbound_shipped_quantity: Option<i64>,
    /// Inbound receiving.
    #[serde(default)]
    pub inbound_receiving_quantity: Option<i64>,
    /// Reserved.
    #[serde(default)]
    pub reserved_quantity: Option<ReservedQuantity>,
    /// Unfulfillable.
    #[serde(default)]
    pub unfulfillable_quantity: Option<UnfulfillableQuantity>,
}

/// Reserved quantities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservedQuantity {
    /// Total reserved.
    #[serde(default)]
    pub total_reserved_quantity: Option<i64>,
}

/// Unfulfillable quantities.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnfulfillableQuantity {
    /// Total unfulfillable.
    #[serde(default)]
    pub total_unfulfillable_quantity: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Listings Items 2021-08-01
// ---------------------------------------------------------------------------------------------

/// `putListingsItem` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingsItemPutRequest {
    /// Product type.
    pub product_type: String,
    /// `LISTING`, `LISTING_PRODUCT_ONLY`, `LISTING_OFFER_ONLY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<String>,
    /// Attributes in the product type's schema.
    pub attributes: serde_json::Value,
}

/// `patchListingsItem` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingsItemPatchRequest {
    /// Product type.
    pub product_type: String,
    /// JSON patches.
    pub patches: Vec<PatchOperation>,
}

/// One patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOperation {
    /// `add`, `replace`, `merge`, `delete`.
    pub op: String,
    /// JSON pointer (`/attributes/fulfillment_availability`).
    pub path: String,
    /// Value array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// `ListingsItemSubmissionResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingsItemSubmissionResponse {
    /// SKU.
    pub sku: String,
    /// `ACCEPTED`, `INVALID`, `VALID`.
    pub status: String,
    /// Submission id.
    #[serde(default)]
    pub submission_id: Option<String>,
    /// Issues.
    #[serde(default)]
    pub issues: Vec<ListingIssue>,
    /// Identifiers (ASIN per marketplace).
    #[serde(default)]
    pub identifiers: Vec<serde_json::Value>,
}

/// A listing issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingIssue {
    /// Code.
    #[serde(default)]
    pub code: Option<String>,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
    /// `ERROR`, `WARNING`, `INFO`.
    #[serde(default)]
    pub severity: Option<String>,
    /// Attributes concerned.
    #[serde(default)]
    pub attribute_names: Vec<String>,
    /// `MISSING_ATTRIBUTE`, …
    #[serde(default)]
    pub categories: Vec<String>,
}

/// `getListingsItem` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingsItem {
    /// SKU.
    pub sku: String,
    /// Summaries per marketplace.
    #[serde(default)]
    pub summaries: Vec<serde_json::Value>,
    /// Attributes (`includedData=attributes`).
    #[serde(default)]
    pub attributes: Option<serde_json::Value>,
    /// Issues.
    #[serde(default)]
    pub issues: Vec<ListingIssue>,
    /// Offers.
    #[serde(default)]
    pub offers: Vec<serde_json::Value>,
    /// MFN quantities.
    #[serde(default)]
    pub fulfillment_availability: Vec<FulfillmentAvailability>,
}

/// MFN quantity of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentAvailability {
    /// `DEFAULT` for merchant-fulfilled.
    pub fulfillment_channel_code: String,
    /// Quantity.
    #[serde(default)]
    pub quantity: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// Sellers
// ---------------------------------------------------------------------------------------------

/// `getMarketplaceParticipations` response.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct MarketplaceParticipations {
    /// Participations.
    #[serde(default)]
    pub payload: Vec<MarketplaceParticipation>,
}

/// One participation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketplaceParticipation {
    /// Marketplace.
    pub marketplace: ParticipationMarketplace,
    /// Participation flags.
    pub participation: Participation,
}

/// Marketplace of a participation.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipationMarketplace {
    /// Id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
}

/// Participation flags.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participation {
    /// Participating?
    pub is_participating: bool,
    /// Suspended listings?
    #[serde(default)]
    pub has_suspended_listings: bool,
}
