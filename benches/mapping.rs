//! Mapper throughput: sales orders per second (10-line orders through a validated SKU
//! crosswalk) and settlement rows per second (a 2,000-row settlement spanning two months, Mode A
//! and Mode B).

use std::hint::black_box;

use chrono::{Duration, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ml_connector::Mapper;
use ml_connector::mapping::{
    DefaultMapper, MapContext, MapSettings, OpenItem, OpenItems, PostingMode, SkuCrosswalk,
};
use ml_connector::model::*;

fn usd() -> Currency {
    Currency::new("USD").unwrap()
}

fn order(lines: usize) -> SourceRecord {
    let lines: Vec<Line> = (0..lines)
        .map(|i| {
            let unit = Decimal::new(1999 + i as i64 * 100, 2);
            let qty = Decimal::from(1 + (i % 3) as i64);
            Line {
                line_id: i.to_string(),
                order_line_id: None,
                sku: format!("SKU-{i:04}"),
                name: Some(format!("Item {i}")),
                quantity: qty,
                unit_price: unit,
                row_total: qty * unit,
                discount: if i % 2 == 0 {
                    Decimal::new(150, 2)
                } else {
                    Decimal::ZERO
                },
                tax: Decimal::ZERO,
                role: LineRole::Standalone,
                parent_line_id: None,
            }
        })
        .collect();
    let subtotal: Decimal = lines.iter().map(|l| l.row_total).sum();
    let line_discount: Decimal = lines.iter().map(|l| l.discount).sum();
    let discount = line_discount + Decimal::new(500, 2);
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "orders", "default:000000042"),
        version: "1".into(),
        updated_at: None,
        raw: serde_json::Value::Null,
        body: RecordBody::Order(Order {
            number: "000000042".into(),
            entity_id: Some("42".into()),
            channel: Some("default".into()),
            status: OrderStatus::Open,
            source_status: "processing".into(),
            placed_at: Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap(),
            party: OrderParty {
                customer_id: Some("42".into()),
                ..OrderParty::default()
            },
            billing_address: None,
            shipping_address: None,
            lines,
            totals: Totals {
                currency: usd(),
                subtotal,
                shipping: Decimal::new(599, 2),
                discount,
                tax: Decimal::ZERO,
                grand_total: subtotal - discount + Decimal::new(599, 2),
            },
            base_totals: None,
            customer_po: None,
            payment_method: None,
            shipping_method: None,
            fulfilled_by: None,
            replaces: None,
        }),
    }
}

const KINDS: &[(&str, &str, &str)] = &[
    ("Order", "ItemPrice", "Principal"),
    ("Order", "ItemPrice", "Tax"),
    ("Order", "ItemFees", "Commission"),
    ("Order", "ItemFees", "FBAPerUnitFulfillmentFee"),
    (
        "Order",
        "ItemWithheldTax",
        "MarketplaceFacilitatorTax-Principal",
    ),
    ("Refund", "ItemPrice", "Principal"),
    ("Refund", "ItemFees", "RefundCommission"),
    ("ServiceFee", "other-transaction", "Storage Fee"),
];

fn settlement(rows: usize) -> SourceRecord {
    let start = Utc.with_ymd_and_hms(2026, 6, 20, 0, 0, 0).unwrap();
    let rows: Vec<SettlementRow> = (0..rows)
        .map(|i| {
            let (tt, at, ad) = KINDS[i % KINDS.len()];
            SettlementRow {
                transaction_type: tt.into(),
                order_id: Some(format!("114-{:07}-0000000", i / KINDS.len())),
                merchant_order_id: None,
                adjustment_id: None,
                shipment_id: None,
                marketplace_name: Some("amazon.com".into()),
                amount_type: at.into(),
                amount_description: ad.into(),
                amount: Decimal::new(
                    if i % 3 == 0 {
                        -(i as i64 % 997)
                    } else {
                        1000 + i as i64 % 5000
                    },
                    2,
                ),
                fulfillment_id: Some("AFN".into()),
                posted_at: Some(start + Duration::minutes(i as i64 * 10)),
                order_item_code: None,
                sku: Some("NX-HD-1200".into()),
                quantity: Some(Decimal::ONE),
                promotion_id: None,
            }
        })
        .collect();
    let total: Decimal = rows.iter().map(|r| r.amount).sum();
    let end = rows.last().unwrap().posted_at.unwrap();
    let s = Settlement {
        settlement_id: "28471003921".into(),
        start: Some(start),
        end: Some(end),
        deposit_date: Some(end + Duration::days(2)),
        total: Money::new(total, usd()),
        marketplace: None,
        rows,
    };
    SourceRecord {
        key: RecordKey::new(SystemId::Amazon, "settlements", "28471003921"),
        version: "1".into(),
        updated_at: None,
        raw: serde_json::Value::Null,
        body: RecordBody::Settlement(s),
    }
}

fn bench(c: &mut Criterion) {
    let items: Vec<String> = (0..5000).map(|i| format!("10-{i:04}")).collect();
    let mut skus = SkuCrosswalk::new("skus.csv");
    for i in 0..5000 {
        skus = skus.with_entry(format!("SKU-{i:04}"), format!("10-{i:04}"));
    }
    let ctx = MapContext::builder()
        .skus(skus.with_item_master(items))
        .build()
        .unwrap();
    let record = order(10);
    let mut g = c.benchmark_group("orders");
    g.throughput(Throughput::Elements(1));
    g.bench_function("adobe_order_10_lines", |b| {
        b.iter(|| {
            DefaultMapper
                .map(black_box(&record), black_box(&ctx))
                .unwrap()
        })
    });
    g.finish();

    let rows = 2000;
    let record = settlement(rows);
    let mut g = c.benchmark_group("settlement_rows");
    g.throughput(Throughput::Elements(rows as u64));
    for mode in [PostingMode::Summary, PostingMode::OpenItems] {
        let mut settings = MapSettings::default();
        settings.settlement.mode = mode;
        let open = OpenItems::new((0..rows / KINDS.len()).step_by(2).map(|n| {
            (
                format!("114-{n:07}-0000000"),
                OpenItem {
                    reference: format!("INV-{n}"),
                    open: Money::new(Decimal::new(2500, 2), usd()),
                },
            )
        }));
        let ctx = MapContext::builder()
            .settings(settings)
            .open_items(open)
            .build()
            .unwrap();
        g.bench_with_input(
            BenchmarkId::new("settlement", format!("{mode:?}")),
            &record,
            |b, r| b.iter(|| DefaultMapper.map(black_box(r), black_box(&ctx)).unwrap()),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
