//! Property tests of the default mappers: every generated settlement yields balanced journals
//! whose clearing line is `total-amount`; mapped order lines reconcile with the subtotal; a
//! parent and its child line are never both counted.

mod mapping_support;

use std::collections::BTreeSet;

use chrono::{Duration, TimeZone, Utc};
use ml_connector::Mapper;
use ml_connector::mapping::*;
use ml_connector::model::*;
use proptest::prelude::*;

use mapping_support::{account_map, dec, usd};

// ---------------------------------------------------------------- settlements

/// Row kinds the built-in rules map, with the order-id they may carry.
const KINDS: &[(&str, &str, &str)] = &[
    ("Order", "ItemPrice", "Principal"),
    ("Order", "ItemPrice", "Shipping"),
    ("Order", "ItemPrice", "Tax"),
    (
        "Order",
        "ItemWithheldTax",
        "MarketplaceFacilitatorTax-Principal",
    ),
    ("Order", "ItemFees", "Commission"),
    ("Order", "ItemFees", "FBAPerUnitFulfillmentFee"),
    ("Order", "Promotion", "Principal"),
    ("Refund", "ItemPrice", "Principal"),
    ("Refund", "ItemFees", "Commission"),
    ("Refund", "ItemFees", "RefundCommission"),
    ("ServiceFee", "other-transaction", "Storage Fee"),
    ("ServiceFee", "other-transaction", "Subscription Fee"),
    (
        "Adjustment",
        "other-transaction",
        "FBA Inventory Reimbursement - Lost",
    ),
    ("Transfer", "other-transaction", "Current Reserve Amount"),
    (
        "Transfer",
        "other-transaction",
        "Previous Reserve Amount Balance",
    ),
    ("Shipment", "Shipment-Fees", "FBAPerOrderFulfillmentFee"),
    ("Chargeback Refund", "ItemPrice", "Principal"),
];

const ORDERS: &[&str] = &[
    "111-0000001-0000001",
    "111-0000002-0000002",
    "111-0000003-0000003",
    "111-0000004-0000004",
];

#[derive(Debug, Clone)]
struct GenRow {
    kind: usize,
    cents: i64,
    day: Option<i64>,
    order: usize,
}

fn gen_row() -> impl Strategy<Value = GenRow> {
    (
        0..KINDS.len(),
        -250_000i64..250_000,
        proptest::option::weighted(0.95, 0i64..80),
        0..ORDERS.len(),
    )
        .prop_map(|(kind, cents, day, order)| GenRow {
            kind,
            cents,
            day,
            order,
        })
}

fn base() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 20, 8, 0, 0).unwrap()
}

fn build_settlement(rows: &[GenRow], end_extra: i64) -> Settlement {
    let rows: Vec<SettlementRow> = rows
        .iter()
        .map(|g| {
            let (tt, at, ad) = KINDS[g.kind];
            let has_order = matches!(tt, "Order" | "Refund" | "Chargeback Refund");
            SettlementRow {
                transaction_type: tt.into(),
                order_id: has_order.then(|| ORDERS[g.order].to_string()),
                merchant_order_id: None,
                adjustment_id: None,
                shipment_id: None,
                marketplace_name: Some("amazon.com".into()),
                amount_type: at.into(),
                amount_description: ad.into(),
                amount: Decimal::new(g.cents, 2),
                fulfillment_id: Some("AFN".into()),
                posted_at: g.day.map(|d| base() + Duration::days(d)),
                order_item_code: None,
                sku: None,
                quantity: None,
                promotion_id: None,
            }
        })
        .collect();
    let last = rows
        .iter()
        .filter_map(|r| r.posted_at)
        .max()
        .unwrap_or_else(base);
    let total: Decimal = rows.iter().map(|r| r.amount).sum();
    Settlement {
        settlement_id: "99000001".into(),
        start: Some(base()),
        end: Some(last + Duration::days(end_extra)),
        deposit_date: Some(last + Duration::days(end_extra + 2)),
        total: Money::new(total, usd()),
        marketplace: None,
        rows,
    }
}

fn record(s: Settlement) -> SourceRecord {
    SourceRecord {
        key: RecordKey::new(SystemId::Amazon, "settlements", s.settlement_id.clone()),
        version: "1".into(),
        updated_at: None,
        raw: serde_json::Value::Null,
        body: RecordBody::Settlement(s),
    }
}

fn net(js: &[JournalDoc], account: &str) -> Decimal {
    js.iter()
        .flat_map(|j| &j.lines)
        .filter(|l| l.account == account)
        .map(|l| l.debit - l.credit)
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_generated_settlement_posts_balanced_journals_clearing_the_total(
        rows in proptest::collection::vec(gen_row(), 1..60),
        end_extra in 0i64..20,
        mode_b in any::<bool>(),
        open in proptest::collection::vec(proptest::option::of(-100_000i64..300_000), ORDERS.len()),
    ) {
        let s = build_settlement(&rows, end_extra);
        let total = s.total.amount;
        let mut settings = MapSettings::default();
        if mode_b {
            settings.settlement.mode = PostingMode::OpenItems;
        }
        let open_items = OpenItems::new(ORDERS.iter().zip(&open).filter_map(|(o, c)| {
            c.map(|c| (o.to_string(), OpenItem { reference: format!("INV-{o}"), open: Money::new(Decimal::new(c, 2), usd()) }))
        }));
        let ctx = MapContext::builder()
            .accounts(account_map())
            .settings(settings)
            .open_items(open_items)
            .build()
            .unwrap();
        let docs = DefaultMapper.map(&record(s.clone()), &ctx).unwrap();
        let js: Vec<JournalDoc> = docs.into_iter().map(|d| match d {
            ErpDocument::Journal(j) => j,
            other => panic!("unexpected {:?}", other.kind()),
        }).collect();

        // Every journal balances; parts are the distinct periods, in order, each once.
        for j in &js {
            j.check_balanced().unwrap();
            prop_assert_eq!(&j.external_id, "amazon:settlement:99000001");
            prop_assert_eq!(j.part.clone(), Period::of(j.posting_date).to_string());
        }
        let parts: Vec<&str> = js.iter().map(|j| j.part.as_str()).collect();
        let mut expected: BTreeSet<String> = s.rows.iter()
            .map(|r| Period::of(r.posted_at.or(s.end).unwrap().date_naive()).to_string())
            .collect();
        expected.insert(Period::of(s.end.unwrap().date_naive()).to_string());
        prop_assert_eq!(parts, expected.iter().map(String::as_str).collect::<Vec<_>>());

        // Clearing = total-amount, in the closing journal only; the carry-forward nets to zero.
        prop_assert_eq!(net(&js, "1150"), total);
        prop_assert_eq!(net(&js[..js.len() - 1], "1150"), Decimal::ZERO);
        prop_assert_eq!(net(&js, "1170"), Decimal::ZERO);
        // Every row amount lands somewhere exactly once: all non-structural lines net to the total.
        let posted: Decimal = js.iter().flat_map(|j| &j.lines)
            .filter(|l| l.account != "1150" && l.account != "1170")
            .map(|l| l.credit - l.debit)
            .sum();
        prop_assert_eq!(posted, total);
        if !mode_b {
            prop_assert_eq!(net(&js, "1990"), Decimal::ZERO);
        }

        // Deterministic.
        let again = DefaultMapper.map(&record(s.clone()), &ctx).unwrap();
        prop_assert_eq!(again.len(), js.len());

        // A total off by one cent is refused.
        let mut off = s;
        off.total.amount += Decimal::new(1, 2);
        prop_assert!(DefaultMapper.map(&record(off), &ctx).is_err());
    }
}

// ---------------------------------------------------------------- orders

#[derive(Debug, Clone)]
struct GenLine {
    qty_halves: i64,
    unit_cents: i64,
    discount_permille: i64,
}

fn gen_line() -> impl Strategy<Value = GenLine> {
    (1i64..12, 0i64..40_000, 0i64..1000).prop_map(|(qty_halves, unit_cents, discount_permille)| {
        GenLine {
            qty_halves,
            unit_cents,
            discount_permille,
        }
    })
}

fn order_record(specs: &[GenLine], residual_permille: i64, shipping_cents: i64) -> SourceRecord {
    let lines: Vec<Line> = specs
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let quantity = Decimal::new(g.qty_halves * 5, 1); // 0.5 steps: Adobe allows decimal qty
            let unit_price = Decimal::new(g.unit_cents, 2);
            let row_total = (quantity * unit_price).round_dp(2);
            let discount = (row_total * Decimal::new(g.discount_permille, 3)).round_dp(2);
            Line {
                line_id: format!("{}", i + 1),
                order_line_id: None,
                sku: format!("SKU-{i}"),
                name: None,
                quantity,
                unit_price,
                row_total,
                discount,
                tax: Decimal::ZERO,
                role: LineRole::Standalone,
                parent_line_id: None,
            }
        })
        .collect();
    let subtotal: Decimal = lines.iter().map(|l| l.row_total).sum();
    let line_disc: Decimal = lines.iter().map(|l| l.discount).sum();
    let residual = ((subtotal - line_disc) * Decimal::new(residual_permille, 3)).round_dp(2);
    let shipping = Decimal::new(shipping_cents, 2);
    let discount = line_disc + residual;
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "orders", "default:100000001"),
        version: "1".into(),
        updated_at: None,
        raw: serde_json::Value::Null,
        body: RecordBody::Order(Order {
            number: "100000001".into(),
            entity_id: Some("1".into()),
            channel: Some("default".into()),
            status: OrderStatus::Open,
            source_status: "processing".into(),
            placed_at: base(),
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
                shipping,
                discount,
                tax: Decimal::ZERO,
                grand_total: subtotal - discount + shipping,
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

fn sales_order(docs: Vec<ErpDocument>) -> SalesOrderDoc {
    match docs.into_iter().next() {
        Some(ErpDocument::SalesOrder(so)) => so,
        other => panic!("expected a sales order, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mapped_order_lines_reconcile_with_the_subtotal(
        lines in proptest::collection::vec(gen_line(), 1..10),
        residual_permille in 0i64..600,
        shipping_cents in 0i64..3000,
        line_policy in any::<bool>(),
    ) {
        let record = order_record(&lines, residual_permille, shipping_cents);
        let RecordBody::Order(order) = &record.body else { unreachable!() };
        let t = order.totals.clone();
        let mut settings = MapSettings::default();
        if line_policy {
            settings.discount = DiscountPolicy::Line { item: "DISC".into() };
        }
        let ctx = MapContext::builder().settings(settings).build().unwrap();
        let mapped = DefaultMapper.map(&record, &ctx);
        let so = match mapped {
            Ok(docs) => sales_order(docs),
            Err(e) => {
                // The only refusal allowed: an order discount on an order whose lines are worth nothing.
                prop_assert!(e.to_string().contains("worth nothing"), "{}", e);
                prop_assert!(!line_policy);
                return Ok(());
            }
        };
        // Each source line exactly once, at its list price: Σ qty × list = subtotal.
        let goods: Vec<&SalesOrderLine> = so.lines.iter().filter(|l| l.item != "DISC").collect();
        prop_assert_eq!(goods.len(), order.lines.len());
        for (l, src) in goods.iter().zip(&order.lines) {
            prop_assert_eq!(&l.source_sku, &src.sku);
            prop_assert_eq!(l.quantity, src.quantity);
            prop_assert!(l.net_price >= Decimal::ZERO && l.net_price <= l.list_price);
        }
        let list_total: Decimal = goods.iter().map(|l| l.quantity * l.list_price).sum();
        prop_assert!((list_total - t.subtotal).abs() <= Decimal::new(5, 3) * Decimal::from(order.lines.len()));
        // Net goods = subtotal − discount: exact with the discount line, within the price scale otherwise.
        let expected = t.subtotal - t.discount;
        if line_policy {
            prop_assert_eq!(so.net_lines_total(), list_total - t.discount);
        } else {
            let tolerance: Decimal = order.lines.iter()
                .map(|l| Decimal::new(5, 3) + l.quantity * Decimal::new(5, 5))
                .sum();
            prop_assert!((so.net_lines_total() - expected).abs() <= tolerance,
                "net {} vs expected {}", so.net_lines_total(), expected);
        }
        prop_assert_eq!(so.freight, t.shipping);
        prop_assert_eq!(so.tax, t.tax);
    }
}

// ---------------------------------------------------------------- parent / child

#[derive(Debug, Clone)]
enum Product {
    Simple { cents: i64 },
    Configurable { cents: i64 },
    Bundle { components: Vec<i64> },
}

fn gen_product() -> impl Strategy<Value = Product> {
    prop_oneof![
        (1i64..20_000).prop_map(|cents| Product::Simple { cents }),
        (1i64..20_000).prop_map(|cents| Product::Configurable { cents }),
        proptest::collection::vec(1i64..10_000, 1..5)
            .prop_map(|components| Product::Bundle { components }),
    ]
}

/// Adobe's flat item list: parents and children. Returns (rows, subtotal of top-level rows).
/// Each row: (item_id, parent_item_id, sku, product_type, price).
type Row = (u32, Option<u32>, String, &'static str, Decimal);

fn flat_items(products: &[Product]) -> (Vec<Row>, Decimal) {
    let mut rows = Vec::new();
    let mut id = 0u32;
    let mut subtotal = Decimal::ZERO;
    for (n, p) in products.iter().enumerate() {
        id += 1;
        match p {
            Product::Simple { cents } => {
                let price = Decimal::new(*cents, 2);
                rows.push((id, None, format!("S-{n}"), "simple", price));
                subtotal += price;
            }
            Product::Configurable { cents } => {
                let price = Decimal::new(*cents, 2);
                let parent = id;
                rows.push((parent, None, format!("C-{n}-RED"), "configurable", price));
                id += 1;
                rows.push((
                    id,
                    Some(parent),
                    format!("C-{n}-RED"),
                    "simple",
                    Decimal::ZERO,
                ));
                subtotal += price;
            }
            Product::Bundle { components } => {
                let total: i64 = components.iter().sum();
                let parent = id;
                rows.push((
                    parent,
                    None,
                    format!("B-{n}-generated-sku"),
                    "bundle",
                    Decimal::new(total, 2),
                ));
                for (k, c) in components.iter().enumerate() {
                    id += 1;
                    rows.push((
                        id,
                        Some(parent),
                        format!("B-{n}-part-{k}"),
                        "simple",
                        Decimal::new(*c, 2),
                    ));
                }
                subtotal += Decimal::new(total, 2);
            }
        }
    }
    (rows, subtotal)
}

fn line_of(row: &Row, role: LineRole) -> Line {
    Line {
        line_id: row.0.to_string(),
        order_line_id: None,
        sku: row.2.clone(),
        name: None,
        quantity: Decimal::ONE,
        unit_price: row.4,
        row_total: row.4,
        discount: Decimal::ZERO,
        tax: Decimal::ZERO,
        role,
        parent_line_id: row.1.map(|p| p.to_string()),
    }
}

/// What a correct adapter emits: configurable parents, bundle components, simples.
fn emit(rows: &[Row]) -> Vec<Line> {
    rows.iter()
        .filter_map(|r| {
            let parent_type =
                r.1.and_then(|p| rows.iter().find(|x| x.0 == p))
                    .map(|x| x.3);
            match (r.3, parent_type) {
                ("bundle", None) => None,
                ("configurable", None) => Some(line_of(r, LineRole::ConfigurableParent)),
                (_, Some("configurable")) => None,
                (_, Some("bundle")) => Some(line_of(r, LineRole::BundleComponent)),
                _ => Some(line_of(r, LineRole::Standalone)),
            }
        })
        .collect()
}

fn order_with(lines: Vec<Line>, subtotal: Decimal) -> SourceRecord {
    let mut r = order_record(
        &[GenLine {
            qty_halves: 2,
            unit_cents: 100,
            discount_permille: 0,
        }],
        0,
        0,
    );
    if let RecordBody::Order(o) = &mut r.body {
        o.lines = lines;
        o.totals = Totals {
            subtotal,
            grand_total: subtotal,
            ..Totals::zero(usd())
        };
    }
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parent_and_child_lines_are_never_counted_twice(
        products in proptest::collection::vec(gen_product(), 1..8),
        pick in any::<prop::sample::Index>(),
    ) {
        let (rows, subtotal) = flat_items(&products);
        let ctx = MapContext::default();

        // A correct emission maps: one order line per emitted unit, list total = subtotal.
        let emitted = emit(&rows);
        let so = sales_order(DefaultMapper.map(&order_with(emitted.clone(), subtotal), &ctx).unwrap());
        prop_assert_eq!(so.lines.len(), emitted.len());
        prop_assert_eq!(so.net_lines_total(), subtotal);
        let skus: BTreeSet<&str> = so.lines.iter().map(|l| l.source_sku.as_str()).collect();
        prop_assert_eq!(skus.len(), so.lines.len(), "no SKU twice");
        prop_assert!(so.lines.iter().all(|l| !l.source_sku.contains("generated")), "no bundle parent");

        // Adding any parent row of an emitted child, or any child row of an emitted parent, is refused.
        let extra: Vec<&Row> = rows.iter()
            .filter(|r| !emitted.iter().any(|l| l.line_id == r.0.to_string()))
            .filter(|r| {
                let emitted_parent = r.1.is_some_and(|p| emitted.iter().any(|l| l.line_id == p.to_string()));
                let emitted_child = emitted.iter().any(|l| l.parent_line_id.as_deref() == Some(&r.0.to_string()));
                emitted_parent || emitted_child
            })
            .collect();
        if !extra.is_empty() {
            let row = extra[pick.index(extra.len())];
            let mut doubled = emitted.clone();
            doubled.push(line_of(row, if row.1.is_some() { LineRole::Standalone } else { LineRole::BundleKit }));
            // Even with the subtotal adjusted to the doubled lines the pair is refused.
            let doubled_subtotal = subtotal + row.4;
            let e = DefaultMapper.map(&order_with(doubled, doubled_subtotal), &ctx).unwrap_err();
            prop_assert!(e.to_string().contains("counted twice"), "{}", e);
        }
    }
}

#[test]
fn the_generators_reach_multi_period_and_mode_b_cases() {
    // A fixed case to keep the property honest: three periods, Mode B with partial matches.
    let rows = vec![
        GenRow {
            kind: 0,
            cents: 10_000,
            day: Some(0),
            order: 0,
        },
        GenRow {
            kind: 4,
            cents: -1_500,
            day: Some(15),
            order: 0,
        },
        GenRow {
            kind: 7,
            cents: -2_000,
            day: Some(45),
            order: 1,
        },
        GenRow {
            kind: 13,
            cents: -5_000,
            day: Some(46),
            order: 0,
        },
    ];
    let s = build_settlement(&rows, 0);
    let mut settings = MapSettings::default();
    settings.settlement.mode = PostingMode::OpenItems;
    let ctx = MapContext::builder()
        .accounts(account_map())
        .settings(settings)
        .open_items(OpenItems::new([(
            ORDERS[0].to_string(),
            OpenItem {
                reference: "INV-1".into(),
                open: Money::new(dec("60"), usd()),
            },
        )]))
        .build()
        .unwrap();
    let docs = DefaultMapper.map(&record(s), &ctx).unwrap();
    let parts: Vec<&str> = docs.iter().map(|d| d.part()).collect();
    assert_eq!(parts, ["2026-05", "2026-06", "2026-07"]);
}
