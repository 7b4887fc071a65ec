//! Wire types of the Adobe Commerce REST API, tolerant of what real stores send.
//!
//! * Unknown fields are ignored (third-party modules add extension attributes freely).
//! * Every field is optional (null, non-required attributes are omitted; "required" ones can be
//!   null).
//! * Numbers may arrive as JSON numbers or strings (`region_id`, `gw_*`, I/O Events payloads);
//!   money is read into [`Decimal`] from either, never through an `f64` that is kept.
//! * Ids may be numbers or strings; they are kept as strings.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Tolerant deserializers used by the wire types (public so custom wire types can reuse them).
pub mod de {
    use std::str::FromStr;

    use super::*;

    /// `Option<Decimal>` from a number, a numeric string, `""` (none) or null.
    pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(v.as_ref().and_then(value_to_decimal))
    }

    /// Reads a decimal out of a JSON value (number or numeric string).
    pub fn value_to_decimal(v: &Value) -> Option<Decimal> {
        match v {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Some(Decimal::from(i))
                } else if let Some(u) = n.as_u64() {
                    Some(Decimal::from(u))
                } else {
                    // `f64`'s Display is the shortest representation that round-trips, so
                    // 1917.6 becomes exactly 1917.6.
                    let s = n.to_string();
                    Decimal::from_str(&s)
                        .or_else(|_| Decimal::from_scientific(&s))
                        .ok()
                }
            }
            Value::String(s) if !s.trim().is_empty() => Decimal::from_str(s.trim())
                .or_else(|_| Decimal::from_scientific(s.trim()))
                .ok(),
            _ => None,
        }
    }

    /// `Option<String>` from a string, a number or a bool; null and `""` are none.
    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(v.as_ref().and_then(value_to_id))
    }

    /// Reads an id out of a JSON value.
    pub fn value_to_id(v: &Value) -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// `Option<i64>` from a number, a numeric string or a bool.
    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(v.as_ref().and_then(value_to_int))
    }

    /// Reads an integer out of a JSON value.
    pub fn value_to_int(v: &Value) -> Option<i64> {
        match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    /// `Option<String>` from a string, or a number rendered as text; other shapes are none.
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(match v {
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        })
    }

    /// `Vec<String>` from an array of strings/numbers, a single string, or null.
    pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let v = Option::<Value>::deserialize(d)?;
        Ok(match v {
            Some(Value::Array(a)) => a.iter().filter_map(value_to_id).collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s],
            _ => Vec::new(),
        })
    }

    /// A list that may be null or missing.
    pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }
}

/// A list response: `{"items":[…],"search_criteria":{…},"total_count":N}`. Items are kept as
/// raw JSON so each record's payload is preserved exactly as received.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SearchResult {
    /// The records.
    #[serde(deserialize_with = "de::list")]
    pub items: Vec<Value>,
    /// Unpaged match count (absent when a `fields` projection omitted it).
    #[serde(deserialize_with = "de::int")]
    pub total_count: Option<i64>,
    /// The criteria as echoed (do not depend on it).
    pub search_criteria: Option<Value>,
}

/// A REST error body: the standard `{message, parameters}` shape and the fallback
/// `{"messages":{"error":[{code,message}]}}` shape (reference §6).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    /// Message with `%1` / `%name` placeholders.
    #[serde(deserialize_with = "de::text")]
    pub message: Option<String>,
    /// Positional (array) or named (object) parameters.
    pub parameters: Option<Value>,
    /// Aggregate errors.
    #[serde(deserialize_with = "de::list")]
    pub errors: Vec<ErrorBody>,
    /// Fallback shape.
    pub messages: Option<Value>,
    /// Error code, when non-zero.
    #[serde(deserialize_with = "de::int")]
    pub code: Option<i64>,
}

impl ErrorBody {
    /// The message with its placeholders substituted (`%1`, `%2`… from an array, `%name` from
    /// an object); the fallback shape's first message otherwise.
    pub fn rendered(&self) -> Option<String> {
        if let Some(m) = &self.message {
            let mut out = m.clone();
            match &self.parameters {
                Some(Value::Array(a)) => {
                    // Replace from the highest index down so `%1` does not eat `%10`.
                    for (i, p) in a.iter().enumerate().rev() {
                        out = out.replace(&format!("%{}", i + 1), &param_text(p));
                    }
                }
                Some(Value::Object(o)) => {
                    let mut keys: Vec<&String> = o.keys().collect();
                    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
                    for k in keys {
                        out = out.replace(&format!("%{k}"), &param_text(&o[k]));
                    }
                }
                _ => {}
            }
            return Some(out);
        }
        self.messages
            .as_ref()
            .and_then(|m| m.get("error"))
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `sales-data-order-address-interface` (also used for customer addresses where shapes agree).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireAddress {
    /// `billing` / `shipping`.
    pub address_type: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Street lines.
    #[serde(deserialize_with = "de::strings")]
    pub street: Vec<String>,
    /// City.
    pub city: Option<String>,
    /// Region name (or an object on customer addresses — then use `region_code`).
    #[serde(deserialize_with = "region_text")]
    pub region: Option<String>,
    /// Region code.
    pub region_code: Option<String>,
    /// Postcode.
    #[serde(deserialize_with = "de::text")]
    pub postcode: Option<String>,
    /// Country.
    pub country_id: Option<String>,
    /// Phone.
    #[serde(deserialize_with = "de::text")]
    pub telephone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// VAT id.
    pub vat_id: Option<String>,
    /// Address id (customer addresses).
    #[serde(deserialize_with = "de::id")]
    pub id: Option<String>,
    /// Default billing flag (customer addresses).
    pub default_billing: Option<bool>,
    /// Default shipping flag (customer addresses).
    pub default_shipping: Option<bool>,
}

fn region_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(o)) => o
            .get("region_code")
            .or_else(|| o.get("region"))
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    })
}

/// `sales-data-order-item-interface` (the fields the connector reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireOrderItem {
    /// Item id.
    #[serde(deserialize_with = "de::id")]
    pub item_id: Option<String>,
    /// Parent item id (bundle components, configurable children).
    #[serde(deserialize_with = "de::id")]
    pub parent_item_id: Option<String>,
    /// Product id.
    #[serde(deserialize_with = "de::id")]
    pub product_id: Option<String>,
    /// `simple`, `configurable`, `bundle`, `virtual`, `downloadable`, …
    pub product_type: Option<String>,
    /// SKU.
    pub sku: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Quantity ordered (decimal).
    #[serde(deserialize_with = "de::decimal")]
    pub qty_ordered: Option<Decimal>,
    /// Unit price (order currency).
    #[serde(deserialize_with = "de::decimal")]
    pub price: Option<Decimal>,
    /// Unit price (base currency).
    #[serde(deserialize_with = "de::decimal")]
    pub base_price: Option<Decimal>,
    /// Row total (order currency).
    #[serde(deserialize_with = "de::decimal")]
    pub row_total: Option<Decimal>,
    /// Row total (base currency).
    #[serde(deserialize_with = "de::decimal")]
    pub base_row_total: Option<Decimal>,
    /// Discount (positive, order currency).
    #[serde(deserialize_with = "de::decimal")]
    pub discount_amount: Option<Decimal>,
    /// Discount (base currency).
    #[serde(deserialize_with = "de::decimal")]
    pub base_discount_amount: Option<Decimal>,
    /// Tax (order currency).
    #[serde(deserialize_with = "de::decimal")]
    pub tax_amount: Option<Decimal>,
    /// Tax (base currency).
    #[serde(deserialize_with = "de::decimal")]
    pub base_tax_amount: Option<Decimal>,
    /// Product options (bundle options, configurable attributes).
    pub product_option: Option<Value>,
}

/// `sales-data-order-payment-interface` (the fields the connector reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WirePayment {
    /// Method code.
    pub method: Option<String>,
    /// Purchase order number.
    pub po_number: Option<String>,
    /// Gateway transaction id of the last transaction.
    pub last_trans_id: Option<String>,
}

/// `shipping_assignments[].shipping`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireShipping {
    /// Shipping address.
    pub address: Option<WireAddress>,
    /// Method code (`tablerate_bestway`).
    pub method: Option<String>,
}

/// One shipping assignment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireShippingAssignment {
    /// The shipping.
    pub shipping: Option<WireShipping>,
}

/// `company_order_attributes` (B2B).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireCompanyOrderAttributes {
    /// Company id.
    #[serde(deserialize_with = "de::id")]
    pub company_id: Option<String>,
    /// Company name.
    pub company_name: Option<String>,
}

/// Order `extension_attributes` (the parts the connector reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireOrderExtension {
    /// Shipping assignments (the only place the shipping address lives).
    #[serde(deserialize_with = "de::list")]
    pub shipping_assignments: Vec<WireShippingAssignment>,
    /// The B2B company that placed the order.
    pub company_order_attributes: Option<WireCompanyOrderAttributes>,
}

/// `sales-data-order-interface` (the fields the connector reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireOrder {
    /// Primary key.
    #[serde(deserialize_with = "de::int")]
    pub entity_id: Option<i64>,
    /// Order number (unique per store only).
    #[serde(deserialize_with = "de::id")]
    pub increment_id: Option<String>,
    /// Store id.
    #[serde(deserialize_with = "de::int")]
    pub store_id: Option<i64>,
    /// State (`new`, `processing`, `complete`, `closed`, `canceled`, `holded`, …).
    pub state: Option<String>,
    /// Status label.
    pub status: Option<String>,
    /// Created (UTC, `YYYY-MM-DD HH:MM:SS`).
    pub created_at: Option<String>,
    /// Updated (UTC).
    pub updated_at: Option<String>,
    /// Customer id (none for guests).
    #[serde(deserialize_with = "de::id")]
    pub customer_id: Option<String>,
    /// 1 for guest checkouts.
    #[serde(deserialize_with = "de::int")]
    pub customer_is_guest: Option<i64>,
    /// E-mail.
    pub customer_email: Option<String>,
    /// First name.
    pub customer_firstname: Option<String>,
    /// Last name.
    pub customer_lastname: Option<String>,
    /// Tax/VAT id.
    pub customer_taxvat: Option<String>,
    /// Base (website) currency.
    pub base_currency_code: Option<String>,
    /// Currency the order was placed in.
    pub order_currency_code: Option<String>,
    /// Subtotal (order currency).
    #[serde(deserialize_with = "de::decimal")]
    pub subtotal: Option<Decimal>,
    /// Subtotal (base).
    #[serde(deserialize_with = "de::decimal")]
    pub base_subtotal: Option<Decimal>,
    /// Shipping (order currency).
    #[serde(deserialize_with = "de::decimal")]
    pub shipping_amount: Option<Decimal>,
    /// Shipping (base).
    #[serde(deserialize_with = "de::decimal")]
    pub base_shipping_amount: Option<Decimal>,
    /// Discount (negative in Magento, order currency).
    #[serde(deserialize_with = "de::decimal")]
    pub discount_amount: Option<Decimal>,
    /// Discount (base).
    #[serde(deserialize_with = "de::decimal")]
    pub base_discount_amount: Option<Decimal>,
    /// Tax (order currency).
    #[serde(deserialize_with = "de::decimal")]
    pub tax_amount: Option<Decimal>,
    /// Tax (base).
    #[serde(deserialize_with = "de::decimal")]
    pub base_tax_amount: Option<Decimal>,
    /// Grand total (order currency).
    #[serde(deserialize_with = "de::decimal")]
    pub grand_total: Option<Decimal>,
    /// Grand total (base).
    #[serde(deserialize_with = "de::decimal")]
    pub base_grand_total: Option<Decimal>,
    /// Base → order currency rate.
    #[serde(deserialize_with = "de::decimal")]
    pub base_to_order_rate: Option<Decimal>,
    /// Shipping description.
    pub shipping_description: Option<String>,
    /// Edit counter (edited orders).
    #[serde(deserialize_with = "de::int")]
    pub edit_increment: Option<i64>,
    /// Increment id of the original order of an edit chain.
    #[serde(deserialize_with = "de::id")]
    pub original_increment_id: Option<String>,
    /// Entity id of the order this one was edited from.
    #[serde(deserialize_with = "de::id")]
    pub relation_parent_id: Option<String>,
    /// Increment id of the order this one was edited from.
    #[serde(deserialize_with = "de::id")]
    pub relation_parent_real_id: Option<String>,
    /// Entity id of the order that replaced this one.
    #[serde(deserialize_with = "de::id")]
    pub relation_child_id: Option<String>,
    /// Increment id of the order that replaced this one.
    #[serde(deserialize_with = "de::id")]
    pub relation_child_real_id: Option<String>,
    /// Items, parents and children flat.
    #[serde(deserialize_with = "de::list")]
    pub items: Vec<WireOrderItem>,
    /// Billing address.
    pub billing_address: Option<WireAddress>,
    /// Payment.
    pub payment: Option<WirePayment>,
    /// Extension attributes.
    pub extension_attributes: Option<WireOrderExtension>,
}

/// Invoice / credit-memo item (the fields the connector reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireDocItem {
    /// Item id.
    #[serde(deserialize_with = "de::id")]
    pub entity_id: Option<String>,
    /// The order item it refers to.
    #[serde(deserialize_with = "de::id")]
    pub order_item_id: Option<String>,
    /// SKU.
    pub sku: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Quantity.
    #[serde(deserialize_with = "de::decimal")]
    pub qty: Option<Decimal>,
    /// Unit price.
    #[serde(deserialize_with = "de::decimal")]
    pub price: Option<Decimal>,
    /// Row total (absent on dynamic bundle parents and configurable children).
    #[serde(deserialize_with = "de::decimal")]
    pub row_total: Option<Decimal>,
    /// Discount.
    #[serde(deserialize_with = "de::decimal")]
    pub discount_amount: Option<Decimal>,
    /// Tax.
    #[serde(deserialize_with = "de::decimal")]
    pub tax_amount: Option<Decimal>,
}

/// `sales-data-invoice-interface` and `sales-data-creditmemo-interface` (shared fields).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireSalesDoc {
    /// Primary key.
    #[serde(deserialize_with = "de::int")]
    pub entity_id: Option<i64>,
    /// Number.
    #[serde(deserialize_with = "de::id")]
    pub increment_id: Option<String>,
    /// The order's `entity_id`.
    #[serde(deserialize_with = "de::int")]
    pub order_id: Option<i64>,
    /// The invoice refunded (credit memos; may be absent or 0).
    #[serde(deserialize_with = "de::int")]
    pub invoice_id: Option<i64>,
    /// Store id.
    #[serde(deserialize_with = "de::int")]
    pub store_id: Option<i64>,
    /// State (invoice: 1 open, 2 paid, 3 canceled; credit memo: 1 open, 2 refunded, 3 canceled).
    #[serde(deserialize_with = "de::int")]
    pub state: Option<i64>,
    /// Created (UTC).
    pub created_at: Option<String>,
    /// Updated (UTC).
    pub updated_at: Option<String>,
    /// Gateway transaction id (set for online captures/refunds).
    #[serde(deserialize_with = "de::id")]
    pub transaction_id: Option<String>,
    /// Order currency.
    pub order_currency_code: Option<String>,
    /// Base currency.
    pub base_currency_code: Option<String>,
    /// Subtotal.
    #[serde(deserialize_with = "de::decimal")]
    pub subtotal: Option<Decimal>,
    /// Shipping.
    #[serde(deserialize_with = "de::decimal")]
    pub shipping_amount: Option<Decimal>,
    /// Discount (negative in Magento).
    #[serde(deserialize_with = "de::decimal")]
    pub discount_amount: Option<Decimal>,
    /// Tax.
    #[serde(deserialize_with = "de::decimal")]
    pub tax_amount: Option<Decimal>,
    /// Grand total.
    #[serde(deserialize_with = "de::decimal")]
    pub grand_total: Option<Decimal>,
    /// Adjustment refund (credit memos).
    #[serde(deserialize_with = "de::decimal")]
    pub adjustment_positive: Option<Decimal>,
    /// Adjustment fee (credit memos).
    #[serde(deserialize_with = "de::decimal")]
    pub adjustment_negative: Option<Decimal>,
    /// Items (parents and children flat).
    #[serde(deserialize_with = "de::list")]
    pub items: Vec<WireDocItem>,
}

/// Customer `extension_attributes.company_attributes` (B2B).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireCompanyAttributes {
    /// Company id.
    #[serde(deserialize_with = "de::id")]
    pub company_id: Option<String>,
}

/// Customer `extension_attributes`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireCustomerExtension {
    /// B2B company membership.
    pub company_attributes: Option<WireCompanyAttributes>,
}

/// `customer-data-customer-interface` (the fields the connector reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireCustomer {
    /// Id.
    #[serde(deserialize_with = "de::int")]
    pub id: Option<i64>,
    /// Group id.
    #[serde(deserialize_with = "de::id")]
    pub group_id: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Tax/VAT id.
    pub taxvat: Option<String>,
    /// Website id.
    #[serde(deserialize_with = "de::id")]
    pub website_id: Option<String>,
    /// Created (UTC).
    pub created_at: Option<String>,
    /// Updated (UTC).
    pub updated_at: Option<String>,
    /// Default billing address id (a string in samples).
    #[serde(deserialize_with = "de::id")]
    pub default_billing: Option<String>,
    /// Default shipping address id.
    #[serde(deserialize_with = "de::id")]
    pub default_shipping: Option<String>,
    /// Addresses.
    #[serde(deserialize_with = "de::list")]
    pub addresses: Vec<WireAddress>,
    /// Extension attributes.
    pub extension_attributes: Option<WireCustomerExtension>,
}

/// `company-data-company-interface` (the fields the connector reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireCompany {
    /// Id.
    #[serde(deserialize_with = "de::int")]
    pub id: Option<i64>,
    /// 0 pending approval, 1 approved, 2 rejected, 3 blocked.
    #[serde(deserialize_with = "de::int")]
    pub status: Option<i64>,
    /// Name.
    pub company_name: Option<String>,
    /// Legal name.
    pub legal_name: Option<String>,
    /// E-mail.
    pub company_email: Option<String>,
    /// VAT / tax id.
    pub vat_tax_id: Option<String>,
    /// Street lines.
    #[serde(deserialize_with = "de::strings")]
    pub street: Vec<String>,
    /// City.
    pub city: Option<String>,
    /// Country.
    pub country_id: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Postcode.
    #[serde(deserialize_with = "de::text")]
    pub postcode: Option<String>,
    /// Phone.
    #[serde(deserialize_with = "de::text")]
    pub telephone: Option<String>,
}

/// A product `custom_attributes` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireCustomAttribute {
    /// Attribute code.
    pub attribute_code: Option<String>,
    /// Value (string, number or array).
    pub value: Option<Value>,
}

/// `catalog-data-product-interface` (the fields the connector reads).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct WireProduct {
    /// Id.
    #[serde(deserialize_with = "de::int")]
    pub id: Option<i64>,
    /// SKU.
    pub sku: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Type (`simple`, `configurable`, `bundle`, …).
    pub type_id: Option<String>,
    /// Price (base currency).
    #[serde(deserialize_with = "de::decimal")]
    pub price: Option<Decimal>,
    /// 1 enabled, 2 disabled.
    #[serde(deserialize_with = "de::int")]
    pub status: Option<i64>,
    /// Created (UTC).
    pub created_at: Option<String>,
    /// Updated (UTC).
    pub updated_at: Option<String>,
    /// Custom attributes.
    #[serde(deserialize_with = "de::list")]
    pub custom_attributes: Vec<WireCustomAttribute>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn numbers_and_strings_are_both_accepted() {
        let i: WireOrderItem = serde_json::from_value(serde_json::json!({
            "item_id": 3, "parent_item_id": "5", "price": "32444.000000",
            "row_total": 1917.6, "qty_ordered": 1, "unknown_field": {"x": 1}
        }))
        .unwrap();
        assert_eq!(i.item_id.as_deref(), Some("3"));
        assert_eq!(i.parent_item_id.as_deref(), Some("5"));
        assert_eq!(i.price, Some(Decimal::from_str("32444.000000").unwrap()));
        assert_eq!(i.row_total, Some(Decimal::from_str("1917.6").unwrap()));
        assert_eq!(i.qty_ordered, Some(Decimal::ONE));
    }

    #[test]
    fn nulls_and_missing_fields_are_none() {
        let o: WireOrder =
            serde_json::from_value(serde_json::json!({"entity_id": "7", "items": null})).unwrap();
        assert_eq!(o.entity_id, Some(7));
        assert!(o.items.is_empty());
        assert!(o.billing_address.is_none());
    }

    #[test]
    fn error_messages_are_rendered_with_their_parameters() {
        let e: ErrorBody = serde_json::from_str(
            r#"{"message":"The consumer isn't authorized to access %resources.","parameters":{"resources":"Magento_Catalog::products"}}"#,
        )
        .unwrap();
        assert_eq!(
            e.rendered().unwrap(),
            "The consumer isn't authorized to access Magento_Catalog::products."
        );
        let e: ErrorBody = serde_json::from_str(
            r#"{"message":"Signature method %1 is not supported","parameters":["HMAC-SHA1"]}"#,
        )
        .unwrap();
        assert_eq!(
            e.rendered().unwrap(),
            "Signature method HMAC-SHA1 is not supported"
        );
        let e: ErrorBody = serde_json::from_str(
            r#"{"messages":{"error":[{"code":500,"message":"Server internal error. See details in report api/1"}]}}"#,
        )
        .unwrap();
        assert!(e.rendered().unwrap().starts_with("Server internal error"));
    }
}
