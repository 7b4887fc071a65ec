//! Test support for the mapping tests: builds canonical records from the fixtures in
//! `tests/fixtures/mapping/` (see its README for provenance) with small local readers. The real
//! Adobe and settlement parsers live elsewhere; these readers only apply the documented rules
//! (UTC timestamps, configurable child / bundle parent dropped, V2 columns by header name).
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, NaiveDateTime, Utc};
use ml_connector::mapping::{AccountMap, MapContext, SkuCrosswalk};
use ml_connector::model::*;
use serde_json::Value;

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mapping")
        .join(name)
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn usd() -> Currency {
    Currency::new("USD").unwrap()
}

fn num(v: &Value) -> Decimal {
    match v {
        Value::Number(n) => n.to_string().parse().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        Value::Null => Decimal::ZERO,
        other => panic!("not a number: {other}"),
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Adobe timestamps are UTC without an offset.
pub fn adobe_ts(s: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        .and_utc()
}

fn address(v: &Value) -> Address {
    let name = [v["firstname"].as_str(), v["lastname"].as_str()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Address {
        name: Some(name).filter(|n| !n.is_empty()),
        company: text(&v["company"]),
        street: v["street"]
            .as_array()
            .map(|a| a.iter().filter_map(text).collect())
            .unwrap_or_default(),
        city: text(&v["city"]),
        region: text(&v["region_code"]).or_else(|| text(&v["region"])),
        postcode: text(&v["postcode"]),
        country: text(&v["country_id"]),
        phone: text(&v["telephone"]),
        email: text(&v["email"]),
        vat_id: text(&v["vat_id"]),
    }
}

/// Picks the lines that count toward the subtotal, per adobe-commerce.md §5.2.
fn lines_from_items(
    items: &[Value],
    qty_field: &str,
    order_items: &HashMap<String, Value>,
) -> Vec<Line> {
    let mut out = Vec::new();
    for it in items {
        // Invoice rows point at their order row; order rows are their own order row.
        let order_item_id = text(&it["order_item_id"])
            .or_else(|| text(&it["item_id"]))
            .unwrap();
        let order_row = order_items.get(&order_item_id).unwrap_or(it);
        let ptype = order_row["product_type"].as_str().unwrap_or("simple");
        let parent = text(&order_row["parent_item_id"]);
        let role = match (&parent, ptype) {
            (Some(p), _) => {
                let parent_type = order_items[p]["product_type"].as_str().unwrap();
                if parent_type == "configurable" {
                    continue; // the configurable parent carries price and quantity
                }
                LineRole::BundleComponent
            }
            (None, "bundle") => continue, // components carry their own prices
            (None, "configurable") => LineRole::ConfigurableParent,
            (None, _) => LineRole::Standalone,
        };
        let quantity = num(&it[qty_field]);
        let unit_price = num(&it["price"]);
        let row_total = if it["row_total"].is_null() {
            quantity * unit_price
        } else {
            num(&it["row_total"])
        };
        out.push(Line {
            line_id: text(&it["entity_id"])
                .filter(|_| qty_field == "qty")
                .unwrap_or(order_item_id.clone()),
            order_line_id: (qty_field == "qty").then(|| order_item_id.clone()),
            sku: it["sku"].as_str().unwrap().to_string(),
            name: text(&it["name"]),
            quantity,
            unit_price,
            row_total,
            discount: num(&it["discount_amount"]).abs(),
            tax: num(&it["tax_amount"]),
            role,
            parent_line_id: parent,
        });
    }
    out
}

fn totals(v: &Value, currency: &str) -> Totals {
    Totals {
        currency: Currency::new(v[currency].as_str().unwrap()).unwrap(),
        subtotal: num(&v["subtotal"]),
        shipping: num(&v["shipping_amount"]),
        discount: num(&v["discount_amount"]).abs(),
        tax: num(&v["tax_amount"]),
        grand_total: num(&v["grand_total"]),
    }
}

fn order_items(o: &Value) -> HashMap<String, Value> {
    o["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (text(&i["item_id"]).unwrap(), i.clone()))
        .collect()
}

/// The sample order `GET /V1/orders/3` as a canonical record.
pub fn adobe_order_record() -> SourceRecord {
    let raw: Value = serde_json::from_str(&fixture("order-get-v1-orders-3.json")).unwrap();
    let items = order_items(&raw);
    let lines = lines_from_items(raw["items"].as_array().unwrap(), "qty_ordered", &items);
    let shipping = &raw["extension_attributes"]["shipping_assignments"][0]["shipping"];
    let order = Order {
        number: raw["increment_id"].as_str().unwrap().into(),
        entity_id: text(&raw["entity_id"]),
        channel: Some("default".into()),
        status: match raw["state"].as_str().unwrap() {
            "pending_payment" | "payment_review" => OrderStatus::Pending,
            "canceled" => OrderStatus::Cancelled,
            "holded" => OrderStatus::OnHold,
            "complete" => OrderStatus::Complete,
            "closed" => OrderStatus::Closed,
            _ => OrderStatus::Open,
        },
        source_status: raw["status"].as_str().unwrap().into(),
        placed_at: adobe_ts(raw["created_at"].as_str().unwrap()),
        party: OrderParty {
            customer_id: text(&raw["customer_id"]),
            email: text(&raw["customer_email"]),
            name: Some(format!(
                "{} {}",
                raw["customer_firstname"].as_str().unwrap(),
                raw["customer_lastname"].as_str().unwrap()
            )),
            is_guest: raw["customer_is_guest"].as_i64() == Some(1),
            company: None,
            is_business: false,
            tax_id: text(&raw["customer_taxvat"]),
        },
        billing_address: Some(address(&raw["billing_address"])),
        shipping_address: Some(address(&shipping["address"])),
        lines,
        totals: totals(&raw, "order_currency_code"),
        base_totals: None,
        customer_po: text(&raw["payment"]["po_number"]),
        payment_method: text(&raw["payment"]["method"]),
        shipping_method: text(&shipping["method"]),
        fulfilled_by: None,
        replaces: None,
    };
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "orders", "default:000000003"),
        version: raw["updated_at"].as_str().unwrap().into(),
        updated_at: Some(adobe_ts(raw["updated_at"].as_str().unwrap())),
        body: RecordBody::Order(order),
        raw,
    }
}

pub fn order_of(r: &SourceRecord) -> &Order {
    match &r.body {
        RecordBody::Order(o) => o,
        _ => panic!("not an order"),
    }
}

pub fn order_mut(r: &mut SourceRecord) -> &mut Order {
    match &mut r.body {
        RecordBody::Order(o) => o,
        _ => panic!("not an order"),
    }
}

/// The sample invoice `GET /V1/invoices/3` (for order 000000003) as a canonical record.
pub fn adobe_invoice_record() -> SourceRecord {
    let raw: Value = serde_json::from_str(&fixture("invoice-get-v1-invoices-3.json")).unwrap();
    let order_raw: Value = serde_json::from_str(&fixture("order-get-v1-orders-3.json")).unwrap();
    let items = order_items(&order_raw);
    let lines = lines_from_items(raw["items"].as_array().unwrap(), "qty", &items);
    let order = adobe_order_record();
    let invoice = Invoice {
        number: raw["increment_id"].as_str().unwrap().into(),
        entity_id: text(&raw["entity_id"]).unwrap(),
        order_entity_id: text(&raw["order_id"]).unwrap(),
        order_number: Some(order_of(&order).number.clone()),
        channel: Some("default".into()),
        state: match raw["state"].as_i64() {
            Some(1) => InvoiceState::Open,
            Some(3) => InvoiceState::Cancelled,
            _ => InvoiceState::Paid,
        },
        created_at: adobe_ts(raw["created_at"].as_str().unwrap()),
        party: order_of(&order).party.clone(),
        lines,
        totals: totals(&raw, "order_currency_code"),
    };
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "invoices", "3"),
        version: raw["updated_at"].as_str().unwrap().into(),
        updated_at: Some(adobe_ts(raw["updated_at"].as_str().unwrap())),
        body: RecordBody::Invoice(invoice),
        raw,
    }
}

/// `GET /V1/company/2` as a canonical record, with its `status` as given (0 = pending approval).
pub fn company_record() -> SourceRecord {
    let raw: Value = serde_json::from_str(&fixture("company-get-v1-company-2.json")).unwrap();
    let company = Company {
        id: text(&raw["id"]).unwrap(),
        name: raw["company_name"].as_str().unwrap().into(),
        legal_name: text(&raw["legal_name"]),
        email: text(&raw["company_email"]),
        tax_id: text(&raw["vat_tax_id"]),
        address: Some(Address {
            name: None,
            company: text(&raw["company_name"]),
            street: raw["street"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(text)
                .collect(),
            city: text(&raw["city"]),
            region: text(&raw["region"]),
            postcode: text(&raw["postcode"]),
            country: text(&raw["country_id"]),
            phone: text(&raw["telephone"]),
            email: text(&raw["company_email"]),
            vat_id: None,
        }),
        status: text(&raw["status"]),
    };
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "companies", "2"),
        version: "1".into(),
        updated_at: None,
        body: RecordBody::Company(company),
        raw,
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` (V2 settlement dates).
pub fn settlement_ts(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let s = s.strip_suffix(" UTC").unwrap_or(s);
    Some(
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc(),
    )
}

/// Reads a V2 flat-file settlement by header name (tab-separated, summary row = the row with a
/// `total-amount`).
pub fn read_settlement(tsv: &str) -> Settlement {
    let mut lines = tsv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap().split('\t').map(str::trim).collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let mut summary: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for line in lines {
        let cells: Vec<String> = line.split('\t').map(|c| c.trim().to_string()).collect();
        let get = |name: &str| -> Option<String> {
            col(name)
                .and_then(|i| cells.get(i))
                .filter(|c| !c.is_empty())
                .cloned()
        };
        if get("total-amount").is_some() {
            summary = Some(cells.clone());
            continue;
        }
        rows.push(SettlementRow {
            transaction_type: get("transaction-type").unwrap(),
            order_id: get("order-id"),
            merchant_order_id: get("merchant-order-id"),
            adjustment_id: get("adjustment-id"),
            shipment_id: get("shipment-id"),
            marketplace_name: get("marketplace-name"),
            amount_type: get("amount-type").unwrap(),
            amount_description: get("amount-description").unwrap(),
            amount: Money::parse_amount(&get("amount").unwrap()).unwrap(),
            fulfillment_id: get("fulfillment-id"),
            posted_at: get("posted-date-time").and_then(|s| settlement_ts(&s)),
            order_item_code: get("order-item-code"),
            sku: get("sku"),
            quantity: get("quantity-purchased").map(|q| q.parse().unwrap()),
            promotion_id: get("promotion-id"),
        });
    }
    let s = summary.expect("summary row");
    let cell = |name: &str| {
        col(name)
            .and_then(|i| s.get(i))
            .cloned()
            .unwrap_or_default()
    };
    Settlement {
        settlement_id: cell("settlement-id"),
        start: settlement_ts(&cell("settlement-start-date")),
        end: settlement_ts(&cell("settlement-end-date")),
        deposit_date: settlement_ts(&cell("deposit-date")),
        total: Money::new(
            Money::parse_amount(&cell("total-amount")).unwrap(),
            Currency::new(&cell("currency")).unwrap(),
        ),
        marketplace: None,
        rows,
    }
}

pub fn settlement_fixture() -> Settlement {
    read_settlement(&fixture("synthetic_settlement_V2flat_xieyi138.txt"))
}

pub fn settlement_record(s: Settlement) -> SourceRecord {
    SourceRecord {
        key: RecordKey::new(SystemId::Amazon, "settlements", s.settlement_id.clone()),
        version: s.settlement_id.clone(),
        updated_at: None,
        raw: serde_json::to_value(&s).unwrap(),
        body: RecordBody::Settlement(s),
    }
}

pub fn item_master() -> Vec<String> {
    fixture("items.txt")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

pub fn crosswalk() -> SkuCrosswalk {
    SkuCrosswalk::from_csv_str("tests/fixtures/mapping/skus.csv", &fixture("skus.csv"))
        .unwrap()
        .with_item_master(item_master())
}

pub fn account_map() -> AccountMap {
    AccountMap::from_toml_str(
        "tests/fixtures/mapping/accounts.toml",
        &fixture("accounts.toml"),
    )
    .unwrap()
}

/// The context most tests use: the fixture crosswalk validated against the fixture item master,
/// the fixture account map, default settings with site `10-100`.
pub fn ctx() -> MapContext {
    let settings = ml_connector::mapping::MapSettings {
        default_site: Some("10-100".into()),
        ..Default::default()
    };
    MapContext::builder()
        .skus(crosswalk())
        .accounts(account_map())
        .settings(settings)
        .build()
        .unwrap()
}
