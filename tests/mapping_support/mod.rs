//! Test support for the mapping tests: builds canonical records from the fixtures in
//! `tests/fixtures/mapping/` (see its README for provenance) with the crate's own parsers — the
//! Adobe Commerce wire types and converters (`ml_connector::adobe::{wire, convert}`) and the
//! settlement flat-file parser (`ml_connector::amazon::settlement`) — exactly as the sources do.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ml_connector::adobe::convert::{self, ConvertOptions, OrderContext};
use ml_connector::adobe::search::parse_timestamp;
use ml_connector::adobe::wire::{WireCompany, WireOrder, WireSalesDoc};
use ml_connector::amazon::settlement::parse_settlement;
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

/// Adobe timestamps are UTC without an offset (`YYYY-MM-DD HH:MM:SS`).
pub fn adobe_ts(s: &str) -> DateTime<Utc> {
    parse_timestamp(s).unwrap_or_else(|| panic!("not an Adobe timestamp: {s}"))
}

/// The conversion settings of a source configured for the sample store: store id 1 is the
/// `default` store view (the Luma sample data's only store).
pub fn convert_options() -> ConvertOptions {
    ConvertOptions {
        store_codes: HashMap::from([(1, "default".to_string())]),
        ..ConvertOptions::default()
    }
}

fn json(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn wire_order() -> (WireOrder, Value) {
    let raw = json("order-get-v1-orders-3.json");
    (serde_json::from_value(raw.clone()).unwrap(), raw)
}

/// The sample order `GET /V1/orders/3` as the Adobe source delivers it: source id
/// `{store_id}:{increment_id}`, version = `updated_at`, the raw JSON kept.
pub fn adobe_order_record() -> SourceRecord {
    let (w, raw) = wire_order();
    let source_id = convert::order_source_id(&w).unwrap();
    let order = convert::order(&w, &convert_options()).unwrap();
    let updated = w.updated_at.clone().unwrap();
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "orders", source_id),
        updated_at: Some(adobe_ts(&updated)),
        version: updated,
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

/// The sample invoice `GET /V1/invoices/3` (for order 000000003), converted with its order as
/// context (the source's `enrich_documents` path), as the Adobe source delivers it.
pub fn adobe_invoice_record() -> SourceRecord {
    let raw = json("invoice-get-v1-invoices-3.json");
    let w: WireSalesDoc = serde_json::from_value(raw.clone()).unwrap();
    let (order, _) = wire_order();
    let opts = convert_options();
    let ctx = OrderContext::from_order(&order, &opts);
    let invoice = convert::invoice(&w, Some(&ctx), &opts).unwrap();
    let updated = raw["updated_at"].as_str().unwrap().to_string();
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "invoices", invoice.entity_id.clone()),
        updated_at: Some(adobe_ts(&updated)),
        version: updated,
        body: RecordBody::Invoice(invoice),
        raw,
    }
}

/// `GET /V1/company/2` as the Adobe source delivers it (status 0 = pending approval; companies
/// have no timestamps, so the version is the content hash).
pub fn company_record() -> SourceRecord {
    let raw = json("company-get-v1-company-2.json");
    let w: WireCompany = serde_json::from_value(raw.clone()).unwrap();
    let company = convert::company(&w).unwrap();
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "companies", company.id.clone()),
        version: ml_connector::adobe::source::content_version(&raw),
        updated_at: None,
        body: RecordBody::Company(company),
        raw,
    }
}

/// The V2 flat-file settlement sample, parsed (and reconciled) by the settlement parser the
/// Amazon source uses, for the US marketplace.
pub fn settlement_fixture() -> Settlement {
    parse_settlement(
        &fixture("synthetic_settlement_V2flat_xieyi138.txt"),
        Some("ATVPDKIKX0DER"),
    )
    .unwrap()
    .settlement
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
