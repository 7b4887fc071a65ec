//! Conversions of settlements, Finances transactions and inventory into canonical records.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::client::parse_amazon_time;
use super::settlement::ParsedSettlement;
use super::wire;
use crate::model::{InventoryLevel, RecordBody, RecordKey, SourceRecord, StockOwner, SystemId};

/// Stream name of settlements.
pub const SETTLEMENTS: &str = "settlements";
/// Stream name of Finances transactions.
pub const FINANCIAL_TRANSACTIONS: &str = "financial_transactions";
/// Stream name of inventory levels.
pub const INVENTORY: &str = "inventory";

/// A settlement record. Its identity is the `settlement-id` inside the file (duplicate reports
/// of one settlement give the same key and, with the same content, the same version).
pub fn settlement_record(parsed: &ParsedSettlement, report: &wire::Report) -> SourceRecord {
    let s = &parsed.settlement;
    let rows: Vec<Value> = parsed
        .raw_rows
        .iter()
        .map(|cells| {
            Value::Object(
                parsed
                    .columns
                    .iter()
                    .zip(cells.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        })
        .collect();
    SourceRecord {
        key: RecordKey::new(SystemId::Amazon, SETTLEMENTS, &s.settlement_id),
        version: parsed.digest.clone(),
        updated_at: parse_amazon_time(&report.created_time),
        body: RecordBody::Settlement(s.clone()),
        raw: json!({
            "reportId": report.report_id,
            "reportType": report.report_type,
            "reportDocumentId": report.report_document_id,
            "createdTime": report.created_time,
            "dataStartTime": report.data_start_time,
            "dataEndTime": report.data_end_time,
            "rows": rows,
        }),
    }
}

/// Rewrites every `currencyAmount` JSON number into an exact decimal string (Finances sends
/// `BigDecimal` as a JSON number; the shortest round-trip text of a money amount is exact).
pub fn normalize_amounts(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "currencyAmount"
                    && let Value::Number(n) = child
                {
                    let text = n.to_string();
                    let exact = text
                        .parse::<Decimal>()
                        .or_else(|_| Decimal::from_scientific(&text))
                        .map(|d| d.normalize().to_string())
                        .unwrap_or(text);
                    *child = Value::String(exact);
                } else {
                    normalize_amounts(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalize_amounts),
        _ => {}
    }
}

/// The id of a transaction: `transactionId`, else a digest of what identifies it.
pub fn transaction_id(t: &Value) -> String {
    if let Some(id) = t["transactionId"].as_str().filter(|s| !s.is_empty()) {
        return id.to_string();
    }
    let mut h = Sha256::new();
    for part in [
        &t["postedDate"],
        &t["transactionType"],
        &t["totalAmount"],
        &t["relatedIdentifiers"],
        &t["description"],
    ] {
        h.update(part.to_string().as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let hex: String = d.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("tx-{hex}")
}

/// A Finances transaction record (body with exact decimal amounts, raw as sent).
pub fn transaction_record(raw: Value) -> SourceRecord {
    let mut body = raw.clone();
    normalize_amounts(&mut body);
    let id = transaction_id(&raw);
    let status = raw["transactionStatus"].as_str().unwrap_or("").to_string();
    let posted = raw["postedDate"].as_str().unwrap_or("").to_string();
    SourceRecord {
        key: RecordKey::new(SystemId::Amazon, FINANCIAL_TRANSACTIONS, id),
        // DEFERRED → RELEASED changes the version.
        version: format!("{posted}|{status}"),
        updated_at: parse_amazon_time(&posted),
        body: RecordBody::FinancialTransaction(body),
        raw,
    }
}

fn q(v: Option<i64>) -> Decimal {
    Decimal::from(v.unwrap_or(0))
}

fn inventory_record(
    level: InventoryLevel,
    id: String,
    updated_at: Option<DateTime<Utc>>,
    raw: Value,
) -> SourceRecord {
    let version = format!(
        "{}|{}|{}|{}",
        level.available, level.inbound, level.reserved, level.unfulfillable
    );
    SourceRecord {
        key: RecordKey::new(SystemId::Amazon, INVENTORY, id),
        version,
        updated_at,
        body: RecordBody::InventoryLevel(level),
        raw,
    }
}

/// An FBA inventory record (`fba:{marketplace}:{sku}`); `None` for a summary without SKU.
pub fn fba_record(
    marketplace_id: &str,
    raw: Value,
    observed_at: DateTime<Utc>,
) -> Option<SourceRecord> {
    let s: wire::InventorySummary = serde_json::from_value(raw.clone()).ok()?;
    let sku = s.seller_sku.clone().filter(|x| !x.is_empty())?;
    let d = s.inventory_details.clone().unwrap_or_default();
    let level = InventoryLevel {
        sku: sku.clone(),
        owner: StockOwner::Fba,
        location: Some(marketplace_id.to_string()),
        available: q(d.fulfillable_quantity),
        inbound: q(d.inbound_working_quantity)
            + q(d.inbound_shipped_quantity)
            + q(d.inbound_receiving_quantity),
        reserved: q(d
            .reserved_quantity
            .as_ref()
            .and_then(|r| r.total_reserved_quantity)),
        unfulfillable: q(d
            .unfulfillable_quantity
            .as_ref()
            .and_then(|u| u.total_unfulfillable_quantity)),
        observed_at,
    };
    let updated = s.last_updated_time.as_deref().and_then(parse_amazon_time);
    Some(inventory_record(
        level,
        format!("fba:{marketplace_id}:{sku}"),
        updated,
        raw,
    ))
}

/// A merchant-fulfilled inventory record (`merchant:{marketplace}:{sku}`) from a listing's
/// `fulfillmentAvailability` (`DEFAULT` channel).
pub fn merchant_record(
    marketplace_id: &str,
    item: &wire::ListingsItem,
    raw: Value,
    observed_at: DateTime<Utc>,
) -> SourceRecord {
    let quantity = item
        .fulfillment_availability
        .iter()
        .filter(|f| f.fulfillment_channel_code == "DEFAULT")
        .filter_map(|f| f.quantity)
        .sum::<i64>();
    let level = InventoryLevel {
        sku: item.sku.clone(),
        owner: StockOwner::Merchant,
        location: Some(marketplace_id.to_string()),
        available: Decimal::from(quantity),
        inbound: Decimal::ZERO,
        reserved: Decimal::ZERO,
        unfulfillable: Decimal::ZERO,
        observed_at,
    };
    inventory_record(
        level,
        format!("merchant:{marketplace_id}:{}", item.sku),
        None,
        raw,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_exact_strings() {
        let mut v = json!({"totalAmount": {"currencyAmount": 10.34, "currencyCode": "USD"},
            "breakdowns": [{"breakdownAmount": {"currencyAmount": -0.1, "currencyCode": "USD"}}],
            "items": [{"totalAmount": {"currencyAmount": 10, "currencyCode": "USD"}}]});
        normalize_amounts(&mut v);
        assert_eq!(v["totalAmount"]["currencyAmount"], "10.34");
        assert_eq!(v["items"][0]["totalAmount"]["currencyAmount"], "10");
        // Only `currencyAmount` fields are rewritten.
        assert!(v["breakdowns"][0]["breakdownAmount"]["currencyAmount"].is_string());
        let r = transaction_record(json!({"postedDate": "2020-07-14T03:35:13.214Z",
            "transactionType": "Shipment", "totalAmount": {"currencyAmount": 10, "currencyCode": "USD"}}));
        assert!(r.key.source_id.starts_with("tx-"));
        assert_eq!(r.version, "2020-07-14T03:35:13.214Z|");
    }
}
