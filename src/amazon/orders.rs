//! Orders: conversion of Orders API 2026-01-01 and v0 answers into the canonical
//! [`Order`](crate::model::Order).
//!
//! Money is parsed from Amazon's decimal strings into `rust_decimal` (never `f64`). A pending
//! order carries no prices: it converts with [`OrderStatus::Pending`] and zero totals, and is read
//! again when it changes (its `lastUpdatedTime` moves, so the next window returns it).

use rust_decimal::Decimal;
use serde_json::Value;

use super::client::parse_amazon_time;
use super::region::marketplace;
use super::wire;
use crate::error::{Error, Result};
use crate::model::{
    Address, CompanyRef, Currency, Line, LineRole, Order, OrderParty, OrderStatus, RecordBody,
    RecordKey, SourceRecord, SystemId, Totals,
};

/// The stream name of orders.
pub const STREAM: &str = "orders";

fn record_of(order_id: &str) -> String {
    format!("amazon/{STREAM}/{order_id}")
}

fn decimal(record: &str, field: &str, text: &str) -> Result<Decimal> {
    text.trim().parse::<Decimal>().map_err(|_| {
        Error::data(
            record,
            format!("{field} `{text}` is not a decimal amount"),
            "report the order to Amazon Seller Support; the amount cannot be read",
        )
    })
}

fn money(record: &str, field: &str, m: &wire::Money) -> Result<(Decimal, String)> {
    Ok((decimal(record, field, &m.amount)?, m.currency_code.clone()))
}

fn money_v0(
    record: &str,
    field: &str,
    m: &Option<wire::MoneyV0>,
) -> Result<Option<(Decimal, String)>> {
    match m {
        Some(wire::MoneyV0 {
            amount: Some(a),
            currency_code,
        }) if !a.trim().is_empty() => Ok(Some((
            decimal(record, field, a)?,
            currency_code.clone().unwrap_or_default(),
        ))),
        _ => Ok(None),
    }
}

fn currency(record: &str, code: Option<&str>, marketplace_id: Option<&str>) -> Result<Currency> {
    let code = code
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .or_else(|| {
            marketplace_id
                .and_then(marketplace)
                .map(|m| m.currency.to_string())
        });
    match code {
        Some(c) => Currency::new(&c).map_err(|_| {
            Error::data(
                record,
                format!("currency `{c}` is not an ISO 4217 code"),
                "report the order to Amazon Seller Support",
            )
        }),
        None => Err(Error::data(
            record,
            "the order names no currency and its marketplace is unknown",
            "add the marketplace to the connector's marketplace table or wait until the order has prices",
        )),
    }
}

fn time(record: &str, field: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    parse_amazon_time(text).ok_or_else(|| {
        Error::data(
            record,
            format!("{field} `{text}` is not an ISO 8601 date-time"),
            "report the order to Amazon Seller Support",
        )
    })
}

/// Maps Orders 2026-01-01 `fulfillmentStatus`.
pub fn status_2026(s: &str) -> OrderStatus {
    match s {
        "PENDING" | "PENDING_AVAILABILITY" => OrderStatus::Pending,
        "SHIPPED" => OrderStatus::Complete,
        "CANCELLED" => OrderStatus::Cancelled,
        "UNFULFILLABLE" => OrderStatus::OnHold,
        _ => OrderStatus::Open,
    }
}

/// Maps Orders v0 `OrderStatus`.
pub fn status_v0(s: &str) -> OrderStatus {
    match s {
        "Pending" | "PendingAvailability" => OrderStatus::Pending,
        "Shipped" | "InvoiceUnconfirmed" => OrderStatus::Complete,
        "Canceled" => OrderStatus::Cancelled,
        "Unfulfillable" => OrderStatus::OnHold,
        _ => OrderStatus::Open,
    }
}

fn sum_breakdowns(
    record: &str,
    breakdowns: &[wire::ProceedsBreakdown],
    kind: &str,
) -> Result<Option<Decimal>> {
    let mut total = None;
    for b in breakdowns.iter().filter(|b| b.kind == kind) {
        let (v, _) = money(record, kind, &b.subtotal)?;
        total = Some(total.unwrap_or(Decimal::ZERO) + v);
    }
    Ok(total)
}

fn address_2026(a: &wire::CustomerAddress) -> Address {
    Address {
        name: a.name.clone(),
        company: a.company_name.clone(),
        street: [&a.address_line1, &a.address_line2, &a.address_line3]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect(),
        city: a.city.clone(),
        region: a.state_or_region.clone().filter(|s| !s.is_empty()),
        postcode: a.postal_code.clone(),
        country: a.country_code.clone(),
        phone: a.phone.clone(),
        email: None,
        vat_id: None,
    }
}

/// Converts an Orders 2026-01-01 order.
///
/// # Errors
/// [`Error::Data`] naming the order when an amount, a date or the currency cannot be read.
pub fn convert_2026(o: &wire::Order) -> Result<Order> {
    let record = record_of(&o.order_id);
    let fulfillment = o.fulfillment.clone().unwrap_or_default();
    let source_status = fulfillment
        .fulfillment_status
        .clone()
        .unwrap_or_else(|| "UNKNOWN".into());
    let status = status_2026(&source_status);
    let currency_code = o
        .proceeds
        .as_ref()
        .and_then(|p| p.grand_total.as_ref())
        .map(|m| m.currency_code.clone())
        .or_else(|| {
            o.order_items.iter().find_map(|i| {
                i.product
                    .price
                    .as_ref()
                    .and_then(|p| p.unit_price.as_ref())
                    .map(|m| m.currency_code.clone())
            })
        });
    let cur = currency(
        &record,
        currency_code.as_deref(),
        o.sales_channel.marketplace_id.as_deref(),
    )?;
    let mut lines = Vec::with_capacity(o.order_items.len());
    let (mut subtotal, mut discount, mut tax, mut shipping) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for item in &o.order_items {
        let qty = Decimal::from(item.quantity_ordered);
        let unit = match item
            .product
            .price
            .as_ref()
            .and_then(|p| p.unit_price.as_ref())
        {
            Some(m) => money(&record, "unitPrice", m)?.0,
            None => Decimal::ZERO,
        };
        let empty = Vec::new();
        let breakdowns = item.proceeds.as_ref().map_or(&empty, |p| &p.breakdowns);
        let row_total = sum_breakdowns(&record, breakdowns, "ITEM")?.unwrap_or(unit * qty);
        let line_tax = sum_breakdowns(&record, breakdowns, "TAX")?.unwrap_or(Decimal::ZERO);
        let line_discount = sum_breakdowns(&record, breakdowns, "DISCOUNT")?
            .unwrap_or(Decimal::ZERO)
            .abs();
        shipping += sum_breakdowns(&record, breakdowns, "SHIPPING")?.unwrap_or(Decimal::ZERO);
        subtotal += row_total;
        tax += line_tax;
        discount += line_discount;
        let sku = item
            .product
            .seller_sku
            .clone()
            .or_else(|| item.product.asin.as_ref().map(|a| format!("ASIN:{a}")))
            .unwrap_or_default();
        lines.push(Line {
            line_id: item.order_item_id.clone(),
            order_line_id: None,
            sku,
            name: item.product.title.clone(),
            quantity: qty,
            unit_price: unit,
            row_total,
            discount: line_discount,
            tax: line_tax,
            role: LineRole::Standalone,
            parent_line_id: None,
        });
    }
    // Order-level breakdowns (when Amazon gives them) win over the item sums.
    if let Some(p) = &o.proceeds {
        if let Some(s) = sum_breakdowns(&record, &p.breakdowns, "SHIPPING")? {
            shipping = s;
        }
        if let Some(t) = sum_breakdowns(&record, &p.breakdowns, "TAX")? {
            tax = t;
        }
        if let Some(d) = sum_breakdowns(&record, &p.breakdowns, "DISCOUNT")? {
            discount = d.abs();
        }
    }
    let grand_total = match o.proceeds.as_ref().and_then(|p| p.grand_total.as_ref()) {
        Some(m) => money(&record, "grandTotal", m)?.0,
        None => subtotal + shipping + tax - discount,
    };
    let buyer = o.buyer.clone().unwrap_or_default();
    let is_business =
        o.programs.iter().any(|p| p == "AMAZON_BUSINESS") || buyer.buyer_company_name.is_some();
    Ok(Order {
        number: o.order_id.clone(),
        entity_id: None,
        channel: o.sales_channel.marketplace_id.clone(),
        status,
        source_status,
        placed_at: time(&record, "createdTime", &o.created_time)?,
        party: OrderParty {
            customer_id: None,
            email: buyer.buyer_email.clone(),
            name: buyer.buyer_name.clone(),
            is_guest: false,
            company: buyer.buyer_company_name.clone().map(|n| CompanyRef {
                id: n.clone(),
                name: Some(n),
            }),
            is_business,
            tax_id: None,
        },
        billing_address: None,
        shipping_address: o
            .recipient
            .as_ref()
            .and_then(|r| r.delivery_address.as_ref())
            .map(address_2026),
        lines,
        totals: Totals {
            currency: cur,
            subtotal,
            shipping,
            discount,
            tax,
            grand_total,
        },
        base_totals: None,
        customer_po: buyer.buyer_purchase_order_number.clone(),
        payment_method: None,
        shipping_method: fulfillment.fulfillment_service_level.clone(),
        fulfilled_by: fulfillment.fulfilled_by.clone(),
        replaces: None,
    })
}

/// A source record for an Orders 2026-01-01 order (`raw` as Amazon sent it).
///
/// # Errors
/// As [`convert_2026`], and when `raw` is not an order.
pub fn record_2026(raw: Value) -> Result<SourceRecord> {
    let o: wire::Order = serde_json::from_value(raw.clone()).map_err(|e| {
        Error::data(
            "amazon/orders/(unknown)",
            format!("an order of searchOrders does not match Amazon's model: {e}"),
            "report the payload to the connector maintainers",
        )
    })?;
    let order = convert_2026(&o)?;
    Ok(SourceRecord {
        key: RecordKey::new(SystemId::Amazon, STREAM, &o.order_id),
        version: format!("{}|{}", o.last_updated_time, order.source_status),
        updated_at: parse_amazon_time(&o.last_updated_time),
        body: RecordBody::Order(order),
        raw,
    })
}

fn address_v0(a: &wire::AddressV0) -> Address {
    Address {
        name: a.name.clone(),
        company: a.company_name.clone(),
        street: [&a.address_line1, &a.address_line2, &a.address_line3]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect(),
        city: a.city.clone(),
        region: a.state_or_region.clone(),
        postcode: a.postal_code.clone(),
        country: a.country_code.clone(),
        phone: a.phone.clone(),
        email: None,
        vat_id: None,
    }
}

/// Converts an Orders v0 order and its items.
///
/// # Errors
/// [`Error::Data`] naming the order when an amount, a date or the currency cannot be read.
pub fn convert_v0(o: &wire::OrderV0, items: &[wire::OrderItemV0]) -> Result<Order> {
    let record = record_of(&o.amazon_order_id);
    let total = money_v0(&record, "OrderTotal", &o.order_total)?;
    let item_currency = items
        .iter()
        .find_map(|i| i.item_price.as_ref().and_then(|m| m.currency_code.clone()));
    let cur = currency(
        &record,
        total
            .as_ref()
            .map(|(_, c)| c.as_str())
            .filter(|c| !c.is_empty())
            .or(item_currency.as_deref()),
        o.marketplace_id.as_deref(),
    )?;
    let (mut subtotal, mut discount, mut tax, mut shipping) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let mut lines = Vec::with_capacity(items.len());
    let amount = |m: &Option<wire::MoneyV0>, f: &str| -> Result<Decimal> {
        Ok(money_v0(&record, f, m)?.map_or(Decimal::ZERO, |(v, _)| v))
    };
    for i in items {
        let qty = Decimal::from(i.quantity_ordered);
        // `ItemPrice` is the selling price × quantity.
        let row_total = amount(&i.item_price, "ItemPrice")?;
        let unit = if qty.is_zero() {
            Decimal::ZERO
        } else {
            row_total / qty
        };
        let line_tax = amount(&i.item_tax, "ItemTax")?;
        let line_discount = amount(&i.promotion_discount, "PromotionDiscount")?.abs();
        subtotal += row_total;
        tax += line_tax + amount(&i.shipping_tax, "ShippingTax")?;
        shipping += amount(&i.shipping_price, "ShippingPrice")?;
        discount += line_discount + amount(&i.shipping_discount, "ShippingDiscount")?.abs();
        lines.push(Line {
            line_id: i.order_item_id.clone(),
            order_line_id: None,
            sku: i
                .seller_sku
                .clone()
                .or_else(|| i.asin.as_ref().map(|a| format!("ASIN:{a}")))
                .unwrap_or_default(),
            name: i.title.clone(),
            quantity: qty,
            unit_price: unit,
            row_total,
            discount: line_discount,
            tax: line_tax,
            role: LineRole::Standalone,
            parent_line_id: None,
        });
    }
    let grand_total = total.map_or(subtotal + shipping + tax - discount, |(v, _)| v);
    let buyer = o.buyer_info.clone().unwrap_or_default();
    Ok(Order {
        number: o.amazon_order_id.clone(),
        entity_id: None,
        channel: o.marketplace_id.clone(),
        status: status_v0(&o.order_status),
        source_status: o.order_status.clone(),
        placed_at: time(&record, "PurchaseDate", &o.purchase_date)?,
        party: OrderParty {
            customer_id: None,
            email: buyer.buyer_email.clone(),
            name: buyer.buyer_name.clone(),
            is_guest: false,
            company: None,
            is_business: o.is_business_order.unwrap_or(false),
            tax_id: None,
        },
        billing_address: None,
        shipping_address: o.shipping_address.as_ref().map(address_v0),
        lines,
        totals: Totals {
            currency: cur,
            subtotal,
            shipping,
            discount,
            tax,
            grand_total,
        },
        base_totals: None,
        customer_po: buyer.purchase_order_number.clone(),
        payment_method: o.payment_method.clone(),
        shipping_method: o.ship_service_level.clone(),
        fulfilled_by: o.fulfillment_channel.as_deref().map(|c| {
            if c == "AFN" {
                "AMAZON".to_string()
            } else {
                "MERCHANT".to_string()
            }
        }),
        replaces: o.replaced_order_id.clone().filter(|s| !s.is_empty()),
    })
}

/// A source record for an Orders v0 order (`raw` = `{"order": …, "items": […]}`).
///
/// # Errors
/// As [`convert_v0`], and when `order_raw` is not an order.
pub fn record_v0(order_raw: Value, items_raw: Vec<Value>) -> Result<SourceRecord> {
    let o: wire::OrderV0 = serde_json::from_value(order_raw.clone()).map_err(|e| {
        Error::data(
            "amazon/orders/(unknown)",
            format!("an order of getOrders does not match Amazon's model: {e}"),
            "report the payload to the connector maintainers",
        )
    })?;
    let items: Vec<wire::OrderItemV0> = items_raw
        .iter()
        .map(|v| serde_json::from_value(v.clone()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            Error::data(
                record_of(&o.amazon_order_id),
                format!("an order item does not match Amazon's model: {e}"),
                "report the payload to the connector maintainers",
            )
        })?;
    let order = convert_v0(&o, &items)?;
    Ok(SourceRecord {
        key: RecordKey::new(SystemId::Amazon, STREAM, &o.amazon_order_id),
        version: format!("{}|{}", o.last_update_date, o.order_status),
        updated_at: parse_amazon_time(&o.last_update_date),
        body: RecordBody::Order(order),
        raw: serde_json::json!({"order": order_raw, "items": items_raw}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v2026_pending_has_zero_totals_and_currency_from_marketplace() {
        let raw = json!({"orderId": "111-1-1", "createdTime": "2026-01-01T00:00:00Z",
            "lastUpdatedTime": "2026-01-01T00:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
            "fulfillment": {"fulfillmentStatus": "PENDING", "fulfilledBy": "MERCHANT"},
            "orderItems": [{"orderItemId": "1", "quantityOrdered": 2,
                "product": {"sellerSku": "S-1"}}]});
        let r = record_2026(raw).unwrap();
        let RecordBody::Order(o) = r.body else {
            panic!()
        };
        assert_eq!(o.status, OrderStatus::Pending);
        assert_eq!(o.totals.currency.as_str(), "EUR");
        assert_eq!(o.totals.grand_total, Decimal::ZERO);
        assert_eq!(o.lines[0].quantity, Decimal::from(2));
        assert_eq!(r.version, "2026-01-01T00:00:00Z|PENDING");
    }

    #[test]
    fn v0_uses_item_price_as_line_total() {
        let order = json!({"AmazonOrderId": "902-1", "PurchaseDate": "2020-01-01T00:00:00Z",
            "LastUpdateDate": "2020-01-02T00:00:00Z", "OrderStatus": "Unshipped",
            "FulfillmentChannel": "AFN", "OrderTotal": {"CurrencyCode": "USD", "Amount": "25.01"},
            "MarketplaceId": "ATVPDKIKX0DER"});
        let items = vec![json!({"ASIN": "B1", "OrderItemId": "1", "SellerSKU": "S",
            "QuantityOrdered": 2, "ItemPrice": {"CurrencyCode": "USD", "Amount": "20.00"},
            "ItemTax": {"CurrencyCode": "USD", "Amount": "1.01"},
            "ShippingPrice": {"CurrencyCode": "USD", "Amount": "4.00"}})];
        let r = record_v0(order, items).unwrap();
        let RecordBody::Order(o) = r.body else {
            panic!()
        };
        assert_eq!(o.lines[0].unit_price, Decimal::new(1000, 2));
        assert_eq!(o.totals.subtotal, Decimal::new(2000, 2));
        assert_eq!(o.totals.shipping, Decimal::new(400, 2));
        assert_eq!(o.totals.grand_total, Decimal::new(2501, 2));
        assert_eq!(o.fulfilled_by.as_deref(), Some("AMAZON"));
    }

    #[test]
    fn bad_amount_names_the_order() {
        let raw = json!({"orderId": "111-1-2", "createdTime": "2026-01-01T00:00:00Z",
            "lastUpdatedTime": "2026-01-01T00:00:00Z",
            "salesChannel": {"channelName": "AMAZON"},
            "proceeds": {"grandTotal": {"amount": "12,5x", "currencyCode": "USD"}},
            "orderItems": []});
        let e = record_2026(raw).unwrap_err().to_string();
        assert!(e.contains("amazon/orders/111-1-2"), "{e}");
    }
}
