//! Mapping tests on the real fixtures (see tests/fixtures/mapping/README.md): snapshots of the
//! mapped documents, the settlement guards, SKU holds and the extension path.

mod mapping_support;

use chrono::Duration;
use ml_connector::mapping::*;
use ml_connector::model::*;
use ml_connector::{Error, Mapper};
use serde::Serialize;

use mapping_support::*;

fn snap<T: Serialize>(name: &str, value: &T) {
    insta::with_settings!({
        snapshot_path => "fixtures/mapping/snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_json_snapshot!(name, value);
    });
}

fn journals(docs: &[ErpDocument]) -> Vec<&JournalDoc> {
    docs.iter()
        .map(|d| match d {
            ErpDocument::Journal(j) => j,
            other => panic!("expected journals, got {:?}", other.kind()),
        })
        .collect()
}

fn lines_for<'a>(j: &'a JournalDoc, account: &str) -> Vec<&'a JournalLine> {
    j.lines.iter().filter(|l| l.account == account).collect()
}

fn net(j: &JournalDoc, account: &str) -> Decimal {
    lines_for(j, account)
        .iter()
        .map(|l| l.debit - l.credit)
        .sum()
}

fn data_error(e: Error) -> (String, String, String) {
    match e {
        Error::Data {
            record,
            message,
            fix,
        } => (record, message, fix),
        other => panic!("expected Error::Data, got {other}"),
    }
}

// ---------------------------------------------------------------- Adobe Commerce

#[test]
fn adobe_sample_order_maps_to_a_sales_order_with_each_unit_once() {
    let record = adobe_order_record();
    let docs = DefaultMapper.map(&record, &ctx()).unwrap();
    assert_eq!(
        docs.len(),
        1,
        "registered customer: no master emitted with the order"
    );
    let ErpDocument::SalesOrder(so) = &docs[0] else {
        panic!("expected a sales order")
    };
    // Seven sellable lines: the bundle parent and the configurable child are not lines.
    assert_eq!(so.lines.len(), 7);
    assert!(
        so.lines
            .iter()
            .all(|l| !l.source_sku.starts_with("24-WG080-"))
    );
    assert_eq!(
        so.lines
            .iter()
            .filter(|l| l.source_sku == "MH01-S-Gray")
            .count(),
        1
    );
    assert_eq!(so.net_lines_total(), dec("160"), "= order subtotal");
    assert_eq!(so.freight, dec("5"));
    assert_eq!(so.customer, "W0000003");
    assert_eq!(so.external_id, "adobe:default:order:000000003");
    snap("adobe_order_3_sales_order", &docs);
}

#[test]
fn adobe_sample_invoice_maps_to_a_receivable() {
    let docs = DefaultMapper.map(&adobe_invoice_record(), &ctx()).unwrap();
    let ErpDocument::Receivable(r) = &docs[0] else {
        panic!("expected a receivable")
    };
    assert_eq!(r.gross_amount, dec("165"), "= invoice grand_total");
    assert_eq!(
        r.order_ref.as_deref(),
        Some("adobe:default:order:000000003")
    );
    assert_eq!(r.due_date - r.invoice_date, Duration::days(30));
    snap("adobe_invoice_3_receivable", &docs);
}

#[test]
fn open_and_cancelled_invoices_map_to_nothing_yet() {
    for state in [InvoiceState::Open, InvoiceState::Cancelled] {
        let mut r = adobe_invoice_record();
        if let RecordBody::Invoice(i) = &mut r.body {
            i.state = state;
        }
        assert!(DefaultMapper.map(&r, &ctx()).unwrap().is_empty());
    }
}

fn credit_memo(
    entity: &str,
    method: RefundMethod,
    lines: Vec<Line>,
    shipping: &str,
    adj_pos: &str,
    adj_neg: &str,
) -> SourceRecord {
    let order = adobe_order_record();
    let o = order_of(&order);
    let subtotal: Decimal = lines.iter().map(|l| l.row_total).sum();
    let grand = subtotal + dec(shipping) + dec(adj_pos) - dec(adj_neg);
    SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "creditmemos", entity),
        version: "1".into(),
        updated_at: None,
        body: RecordBody::CreditMemo(CreditMemo {
            number: format!("00000000{entity}"),
            entity_id: entity.into(),
            order_entity_id: "3".into(),
            order_number: Some(o.number.clone()),
            invoice_entity_id: (method == RefundMethod::Online).then(|| "3".into()),
            channel: Some("default".into()),
            method,
            created_at: adobe_ts("2017-08-25 09:00:00"),
            party: o.party.clone(),
            lines,
            totals: Totals {
                subtotal,
                shipping: dec(shipping),
                grand_total: grand,
                ..Totals::zero(usd())
            },
            adjustment_positive: dec(adj_pos),
            adjustment_negative: dec(adj_neg),
        }),
        raw: serde_json::Value::Null,
    }
}

fn order_line(sku: &str) -> Line {
    let order = adobe_order_record();
    order_of(&order)
        .lines
        .iter()
        .find(|l| l.sku == sku)
        .cloned()
        .unwrap()
}

#[test]
fn partial_credit_memos_online_and_offline_map_to_separate_credit_notes() {
    // Two partial refunds of the sample order: the tee plus shipping online against invoice 3,
    // then the yoga brick offline with a 2.00 adjustment fee and a 1.50 adjustment refund.
    let first = credit_memo(
        "7",
        RefundMethod::Online,
        vec![order_line("WS12-M-Orange")],
        "5",
        "0",
        "0",
    );
    let second = credit_memo(
        "8",
        RefundMethod::Offline,
        vec![order_line("24-WG084")],
        "0",
        "1.50",
        "2.00",
    );
    let mut docs = DefaultMapper.map(&first, &ctx()).unwrap();
    docs.extend(DefaultMapper.map(&second, &ctx()).unwrap());
    let notes: Vec<&CreditNoteDoc> = docs
        .iter()
        .map(|d| match d {
            ErpDocument::CreditNote(c) => c,
            _ => panic!("expected credit notes"),
        })
        .collect();
    assert_eq!(notes[0].gross_amount, dec("27"));
    assert_eq!(
        notes[0].linked_invoice.as_deref(),
        Some("adobe:default:invoice:3")
    );
    assert_eq!(notes[1].gross_amount, dec("4.50"));
    assert_eq!(notes[1].linked_invoice, None);
    assert_ne!(notes[0].external_id, notes[1].external_id);
    snap("adobe_credit_memos_partial", &docs);
}

#[test]
fn credit_memo_whose_totals_do_not_add_up_is_refused() {
    let mut r = credit_memo(
        "9",
        RefundMethod::Offline,
        vec![order_line("240-LV08")],
        "0",
        "0",
        "0",
    );
    if let RecordBody::CreditMemo(c) = &mut r.body {
        c.totals.grand_total = dec("20");
    }
    let (record, message, _) = data_error(DefaultMapper.map(&r, &ctx()).unwrap_err());
    assert_eq!(record, "adobe/creditmemos/9");
    assert!(message.contains("difference -2"), "{message}");
}

#[test]
fn customers_and_companies_map_to_customer_masters() {
    let order = adobe_order_record();
    let o = order_of(&order);
    let customer = SourceRecord {
        key: RecordKey::new(SystemId::Adobe, "customers", "3"),
        version: "1".into(),
        updated_at: None,
        body: RecordBody::Customer(Customer {
            id: "3".into(),
            email: o.party.email.clone(),
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            company: None,
            billing_address: o.billing_address.clone(),
            shipping_address: o.shipping_address.clone(),
            tax_id: None,
            group: Some("1".into()),
            channel: Some("base".into()),
            created_at: None,
        }),
        raw: serde_json::Value::Null,
    };
    let mut docs = DefaultMapper.map(&customer, &ctx()).unwrap();

    // The fixture company is pending approval (status 0): no customer yet.
    let pending = company_record();
    if let RecordBody::Company(c) = &pending.body {
        assert_eq!(c.status.as_deref(), Some("pending_approval"));
    }
    assert!(DefaultMapper.map(&pending, &ctx()).unwrap().is_empty());
    let mut approved = company_record();
    if let RecordBody::Company(c) = &mut approved.body {
        c.status = Some("1".into());
    }
    docs.extend(DefaultMapper.map(&approved, &ctx()).unwrap());
    let codes: Vec<&str> = docs
        .iter()
        .map(|d| match d {
            ErpDocument::Customer(c) => c.code.as_str(),
            _ => panic!("expected customers"),
        })
        .collect();
    // The order of customer 3 is sold to the same code the customer master gets.
    assert_eq!(codes, ["W0000003", "B0000002"]);
    snap("adobe_customer_3_and_company_2", &docs);
}

#[test]
fn guest_orders_create_their_customer_first_and_b2b_orders_go_to_the_company() {
    let mut guest = adobe_order_record();
    {
        let o = order_mut(&mut guest);
        o.party.customer_id = None;
        o.party.is_guest = true;
    }
    let docs = DefaultMapper.map(&guest, &ctx()).unwrap();
    let (ErpDocument::Customer(c), ErpDocument::SalesOrder(so)) = (&docs[0], &docs[1]) else {
        panic!("expected the guest's customer master, then the order")
    };
    assert_eq!(c.external_id, "adobe:guest:jdoe@example.com");
    assert_eq!(so.customer, c.code);
    assert!(c.code.starts_with('G') && c.code.len() == 8, "{}", c.code);

    let mut b2b = adobe_order_record();
    order_mut(&mut b2b).party.company = Some(CompanyRef {
        id: "2".into(),
        name: Some("Test company".into()),
    });
    let docs = DefaultMapper.map(&b2b, &ctx()).unwrap();
    let ErpDocument::SalesOrder(so) = &docs[0] else {
        panic!()
    };
    assert_eq!(so.customer, "B0000002");
}

#[test]
fn pending_and_cancelled_orders_map_to_nothing() {
    for status in [OrderStatus::Pending, OrderStatus::Cancelled] {
        let mut r = adobe_order_record();
        order_mut(&mut r).status = status;
        assert!(
            DefaultMapper.map(&r, &ctx()).unwrap().is_empty(),
            "{status:?}"
        );
    }
}

#[test]
fn unknown_sku_holds_the_order_until_the_crosswalk_is_fixed() {
    let csv: String = fixture("skus.csv")
        .lines()
        .filter(|l| !l.starts_with("MH01-S-Gray,"))
        .map(|l| format!("{l}\n"))
        .collect();
    let broken = SkuCrosswalk::from_csv_str("skus.csv", &csv)
        .unwrap()
        .with_item_master(item_master());
    let held_ctx = ctx().to_builder().skus(broken.clone()).build().unwrap();
    let record = adobe_order_record();
    let err = DefaultMapper.map(&record, &held_ctx).unwrap_err();
    assert!(!err.is_retryable(), "a data error is held, not retried");
    let (rec, message, fix) = data_error(err);
    // The Adobe source keys orders by `{store_id}:{increment_id}` (increment ids are unique per
    // store only); the external id uses the store code instead.
    assert_eq!(rec, "adobe/orders/1:000000003");
    assert!(message.contains("\"MH01-S-Gray\""), "{message}");
    assert!(
        fix.contains("skus.csv") && fix.contains("MH01-S-Gray"),
        "{fix}"
    );

    // The operator adds the SKU; replaying the same stored record now maps, identically to a
    // context that had it from the start.
    let fixed_ctx = held_ctx
        .to_builder()
        .skus(broken.with_entry("MH01-S-Gray", "10-3001"))
        .build()
        .unwrap();
    let replayed = DefaultMapper.map(&record, &fixed_ctx).unwrap();
    assert_eq!(replayed, DefaultMapper.map(&record, &ctx()).unwrap());
}

#[test]
fn a_line_together_with_its_parent_is_refused_and_so_is_a_subtotal_mismatch() {
    let mut r = adobe_order_record();
    {
        let o = order_mut(&mut r);
        // The configurable child row sneaks in next to its parent (price 0, same SKU).
        let mut child = o
            .lines
            .iter()
            .find(|l| l.sku == "MH01-S-Gray")
            .cloned()
            .unwrap();
        child.line_id = "11".into();
        child.parent_line_id = Some("10".into());
        child.unit_price = Decimal::ZERO;
        child.row_total = Decimal::ZERO;
        o.lines.push(child);
    }
    let (_, message, _) = data_error(DefaultMapper.map(&r, &ctx()).unwrap_err());
    assert!(message.contains("counted twice"), "{message}");

    let mut r = adobe_order_record();
    order_mut(&mut r).lines.retain(|l| l.sku != "24-WG084");
    let (_, message, _) = data_error(DefaultMapper.map(&r, &ctx()).unwrap_err());
    assert!(message.contains("difference -5"), "{message}");
}

#[test]
fn discount_policies_keep_the_order_reconciled() {
    // A 10.00 cart discount on the sample order, 4.00 of it attributed to the tee.
    let mut r = adobe_order_record();
    {
        let o = order_mut(&mut r);
        o.lines
            .iter_mut()
            .find(|l| l.sku == "WS12-M-Orange")
            .unwrap()
            .discount = dec("4");
        o.totals.discount = dec("10");
        o.totals.grand_total = dec("155");
    }
    let docs = DefaultMapper.map(&r, &ctx()).unwrap();
    let ErpDocument::SalesOrder(so) = &docs[0] else {
        panic!()
    };
    assert_eq!(so.net_lines_total(), dec("150"));
    assert!(so.lines.iter().all(|l| l.net_price <= l.list_price));

    let mut settings = ctx().settings().clone();
    settings.discount = DiscountPolicy::Line {
        item: "DISC".into(),
    };
    settings.shipping = ShippingPolicy::Line {
        item: "FREIGHT".into(),
    };
    let c = ctx().to_builder().settings(settings).build().unwrap();
    let docs = DefaultMapper.map(&r, &c).unwrap();
    let ErpDocument::SalesOrder(so) = &docs[0] else {
        panic!()
    };
    assert_eq!(so.freight, Decimal::ZERO);
    assert_eq!(so.net_lines_total(), dec("155"));
    snap("adobe_order_3_discount_and_freight_lines", &so);
}

// ---------------------------------------------------------------- Amazon orders

fn amazon_order(
    number: &str,
    lines: Vec<(&str, &str, &str)>,
    shipping: &str,
    business: bool,
) -> SourceRecord {
    let lines: Vec<Line> = lines
        .into_iter()
        .enumerate()
        .map(|(i, (sku, qty, unit))| Line {
            line_id: format!("{}", 55182930114u64 + i as u64),
            order_line_id: None,
            sku: sku.into(),
            name: None,
            quantity: dec(qty),
            unit_price: dec(unit),
            row_total: dec(qty) * dec(unit),
            discount: Decimal::ZERO,
            tax: Decimal::ZERO,
            role: LineRole::Standalone,
            parent_line_id: None,
        })
        .collect();
    let subtotal: Decimal = lines.iter().map(|l| l.row_total).sum();
    SourceRecord {
        key: RecordKey::new(SystemId::Amazon, "orders", number),
        version: "2026-06-17T08:14:22Z".into(),
        updated_at: None,
        body: RecordBody::Order(Order {
            number: number.into(),
            entity_id: None,
            channel: Some("ATVPDKIKX0DER".into()),
            status: OrderStatus::Complete,
            source_status: "SHIPPED".into(),
            placed_at: "2026-06-17T08:14:22Z".parse().unwrap(),
            party: OrderParty {
                is_business: business,
                tax_id: business.then(|| "12-3456789".into()),
                company: business.then(|| CompanyRef {
                    id: "AMZB-1".into(),
                    name: Some("Acme Fitness LLC".into()),
                }),
                ..OrderParty::default()
            },
            billing_address: None,
            shipping_address: None,
            lines,
            totals: Totals {
                subtotal,
                shipping: dec(shipping),
                grand_total: subtotal + dec(shipping),
                ..Totals::zero(usd())
            },
            base_totals: None,
            customer_po: business.then(|| "PO-7781".into()),
            payment_method: None,
            shipping_method: None,
            fulfilled_by: Some("AMAZON".into()),
            replaces: None,
        }),
        raw: serde_json::Value::Null,
    }
}

#[test]
fn amazon_orders_go_to_the_marketplace_customer_or_the_business_buyer() {
    let mut settings = ctx().settings().clone();
    settings.inventory.fba_site = Some("10-900".into());
    let c = ctx()
        .to_builder()
        .settings(settings.clone())
        .marketplace_customer("ATVPDKIKX0DER", "AMZUS")
        .unwrap()
        .build()
        .unwrap();
    let consumer = amazon_order(
        "114-8829371-4410258",
        vec![("NX-HD-1200", "1", "129.99")],
        "0",
        false,
    );
    let docs = DefaultMapper.map(&consumer, &c).unwrap();
    assert_eq!(
        docs.len(),
        1,
        "explicit marketplace customer: no master emitted"
    );
    let ErpDocument::SalesOrder(so) = &docs[0] else {
        panic!()
    };
    assert_eq!(so.customer, "AMZUS");
    assert_eq!(so.external_id, "amazon:order:114-8829371-4410258");
    assert_eq!(
        so.site.as_deref(),
        Some("10-900"),
        "FBA orders ship from the FBA site"
    );

    let business = amazon_order(
        "113-2047718-9930613",
        vec![("NX-CB-0450", "2", "44.50"), ("NX-AC-0071", "1", "45.50")],
        "7.99",
        true,
    );
    // Off: business buyers buy through the marketplace customer too.
    let docs = DefaultMapper.map(&business, &c).unwrap();
    let ErpDocument::SalesOrder(so) = &docs[0] else {
        panic!()
    };
    assert_eq!(so.customer, "AMZUS");
    // On: their own customer, created first.
    settings.business_buyers_own_customer = true;
    let c2 = c.to_builder().settings(settings).build().unwrap();
    let docs = DefaultMapper.map(&business, &c2).unwrap();
    snap("amazon_business_order", &docs);
    let (ErpDocument::Customer(cust), ErpDocument::SalesOrder(so)) = (&docs[0], &docs[1]) else {
        panic!("expected the buyer's master, then the order")
    };
    assert_eq!(so.customer, cust.code);
    assert!(cust.is_business);
    assert_eq!(cust.external_id, "amazon:buyer:12-3456789");
}

#[test]
fn a_marketplace_without_an_explicit_customer_gets_a_derived_one_created_first() {
    let order = amazon_order(
        "114-9930211-5567819",
        vec![("NX-HD-1200", "1", "210.00")],
        "0",
        false,
    );
    let docs = DefaultMapper.map(&order, &ctx()).unwrap();
    let (ErpDocument::Customer(c), ErpDocument::SalesOrder(so)) = (&docs[0], &docs[1]) else {
        panic!("expected the derived marketplace customer, then the order")
    };
    assert_eq!(c.external_id, "amazon:marketplace:ATVPDKIKX0DER");
    assert_eq!(c.name, "Amazon US (ATVPDKIKX0DER)");
    assert!(
        c.address.is_none(),
        "a shared customer never carries a buyer's address"
    );
    assert_eq!(so.customer, c.code);
    assert!(c.code.starts_with('M') && c.code.len() == 8);
}

// ---------------------------------------------------------------- settlements

#[test]
fn settlement_sample_posts_one_balanced_summary_journal_clearing_the_total() {
    let s = settlement_fixture();
    assert_eq!(s.total.amount, dec("582.89"));
    let record = settlement_record(s);
    let docs = DefaultMapper.map(&record, &ctx()).unwrap();
    let js = journals(&docs);
    assert_eq!(js.len(), 1, "every row is in June 2026");
    let j = js[0];
    j.check_balanced().unwrap();
    assert_eq!(j.part, "2026-06");
    assert_eq!(j.external_id, "amazon:settlement:28471003921");
    assert_eq!(
        j.posting_date,
        NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
    );
    // Clearing = total-amount, on the marketplace's sub-account.
    let clearing = lines_for(j, "1150");
    assert_eq!(clearing.len(), 1);
    assert_eq!(clearing[0].debit, dec("582.89"));
    assert_eq!(clearing[0].sub_account.as_deref(), Some("US"));
    // Reserves in their own account: +820.44 − 420.00 = 400.44 released (credit).
    assert_eq!(net(j, "1160"), dec("-400.44"));
    // The facilitator tax passes through to zero and leaves no line.
    assert!(lines_for(j, "2210").is_empty());
    // Referral fees: −19.50 −13.35 −6.83 −31.50 (orders) −5.00 +19.50 (refund) = 56.68 debit.
    assert_eq!(net(j, "6110"), dec("56.68"));
    assert_eq!(
        j.total_debit(&usd()),
        j.lines.iter().map(|l| l.credit).sum::<Decimal>()
    );
    snap("settlement_28471003921_mode_a", &docs);
}

/// The sample settlement moved so that it straddles June and July: the window becomes
/// 2026-06-23..2026-07-07 and every row keeps its distance to the window's end.
fn straddling_settlement() -> Settlement {
    let mut s = settlement_fixture();
    let shift = Duration::days(7);
    s.start = s.start.map(|t| t + shift);
    s.end = s.end.map(|t| t + shift);
    s.deposit_date = s.deposit_date.map(|t| t + shift);
    for r in &mut s.rows {
        r.posted_at = r.posted_at.map(|t| t + shift);
    }
    s
}

#[test]
fn a_settlement_spanning_two_months_splits_through_the_carry_forward_account() {
    let s = straddling_settlement();
    let docs = DefaultMapper
        .map(&settlement_record(s.clone()), &ctx())
        .unwrap();
    let js = journals(&docs);
    assert_eq!(
        js.iter().map(|j| j.part.as_str()).collect::<Vec<_>>(),
        ["2026-06", "2026-07"]
    );
    for j in &js {
        j.check_balanced().unwrap();
        assert_eq!(j.external_id, "amazon:settlement:28471003921");
    }
    assert_eq!(
        js[0].posting_date,
        NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
    );
    assert_eq!(
        js[1].posting_date,
        NaiveDate::from_ymd_opt(2026, 7, 7).unwrap()
    );
    // June's net is carried forward (debit) and taken back in July (credit).
    let june_rows: Decimal = s
        .rows
        .iter()
        .filter(|r| r.posted_at.unwrap().format("%Y-%m").to_string() == "2026-06")
        .map(|r| r.amount)
        .sum();
    assert_eq!(net(js[0], "1170"), june_rows);
    assert_eq!(net(js[1], "1170"), -june_rows);
    assert!(
        lines_for(js[0], "1150").is_empty(),
        "clearing only in the closing period"
    );
    assert_eq!(net(js[1], "1150"), dec("582.89"));
    snap("settlement_28471003921_split", &docs);
}

#[test]
fn mode_b_applies_order_amounts_to_open_items_and_the_rest_to_variance() {
    let mut settings = ctx().settings().clone();
    settings.settlement.mode = PostingMode::OpenItems;
    let open = OpenItems::new([
        (
            "114-8829371-4410258".to_string(),
            OpenItem {
                reference: "INV-1001".into(),
                open: Money::new(dec("129.99"), usd()),
            },
        ),
        (
            "113-2047718-9930613".to_string(),
            OpenItem {
                reference: "INV-1002".into(),
                open: Money::new(dec("134.50"), usd()),
            },
        ),
        (
            "112-5561209-7742044".to_string(),
            OpenItem {
                reference: "CN-0007".into(),
                open: Money::new(dec("-129.99"), usd()),
            },
        ),
    ]);
    let c = ctx()
        .to_builder()
        .settings(settings)
        .open_items(open)
        .build()
        .unwrap();
    let docs = DefaultMapper
        .map(&settlement_record(settlement_fixture()), &c)
        .unwrap();
    let js = journals(&docs);
    assert_eq!(js.len(), 1);
    let j = js[0];
    j.check_balanced().unwrap();
    // Applied: 129.99 + 134.50 − 129.99 (credit note) = 134.50 credited to AR.
    assert_eq!(net(j, "1200"), dec("-134.50"));
    // Unmatched: 7.99 shipping beyond INV-1002 and 210.00 of an order with no open item.
    assert_eq!(net(j, "1990"), dec("-217.99"));
    assert_eq!(net(j, "1150"), dec("582.89"));
    assert!(
        lines_for(j, "4010").is_empty(),
        "sales are applied, not posted as revenue"
    );
    snap("settlement_28471003921_mode_b", &docs);
}

#[test]
fn an_unmapped_amount_description_holds_the_settlement_instead_of_guessing() {
    let mut s = settlement_fixture();
    let mut extra = s.rows.last().unwrap().clone();
    extra.transaction_type = "ServiceFee".into();
    extra.amount_description = "Mystery Program Fee".into();
    extra.amount = dec("-3.10");
    s.rows.push(extra);
    s.total.amount -= dec("3.10");
    let record = settlement_record(s);
    let err = DefaultMapper.map(&record, &ctx()).unwrap_err();
    let (rec, message, fix) = data_error(err);
    assert_eq!(rec, "amazon/settlements/28471003921");
    assert!(
        message.contains("held") && message.contains("\"Mystery Program Fee\""),
        "{message}"
    );
    assert!(
        fix.contains("accounts.toml") && fix.contains("Mystery Program Fee"),
        "{fix}"
    );

    // Adding the rule maps it.
    let accounts = account_map().with_rule_first(AccountRule::new(
        "*",
        "other-transaction",
        "Mystery Program Fee",
        "FEE_FBA_STORAGE",
    ));
    let c = ctx().to_builder().accounts(accounts).build().unwrap();
    let docs = DefaultMapper.map(&record, &c).unwrap();
    assert_eq!(net(journals(&docs)[0], "1150"), dec("579.79"));
}

#[test]
fn rows_that_do_not_sum_to_the_total_are_refused_with_the_difference() {
    let mut s = settlement_fixture();
    s.total.amount = dec("582.98");
    let (_, message, fix) = data_error(
        DefaultMapper
            .map(&settlement_record(s), &ctx())
            .unwrap_err(),
    );
    assert!(
        message.contains("582.89") && message.contains("difference -0.09"),
        "{message}"
    );
    assert!(fix.contains("nothing was posted"), "{fix}");
}

#[test]
fn a_role_without_an_account_holds_the_settlement() {
    let accounts = AccountMap::from_toml_str(
        "accounts.toml",
        "[roles.AMZ_CLEARING]\naccount = \"1150\"\n[roles.AMZ_CARRY_FWD]\naccount = \"1170\"\n[roles.AMZ_RESERVE]\naccount = \"1160\"\n",
    )
    .unwrap();
    let c = ctx().to_builder().accounts(accounts).build().unwrap();
    let (_, message, fix) = data_error(
        DefaultMapper
            .map(&settlement_record(settlement_fixture()), &c)
            .unwrap_err(),
    );
    assert!(
        message.contains("SALES_AMZ") && message.contains("FEE_REFERRAL"),
        "{message}"
    );
    assert!(fix.contains("[roles."), "{fix}");
}

// ---------------------------------------------------------------- inventory and catalog

fn level(owner: StockOwner, available: &str, reserved: &str) -> InventoryLevel {
    InventoryLevel {
        sku: "NX-HD-1200".into(),
        owner,
        location: Some("ATVPDKIKX0DER".into()),
        available: dec(available),
        inbound: dec("30"),
        reserved: dec(reserved),
        unfulfillable: dec("1"),
        observed_at: "2026-07-01T06:15:00Z".parse().unwrap(),
    }
}

#[test]
fn inventory_alignment_posts_the_difference_only() {
    let key = RecordKey::new(SystemId::Amazon, "inventory", "NX-HD-1200");
    let fba = level(StockOwner::Fba, "40", "2");
    let mut erp = level(StockOwner::Erp, "38", "0");
    let adj = align_inventory(&key, &SystemId::Amazon, &fba, &erp, &ctx())
        .unwrap()
        .unwrap();
    // Physical basis: 40 + 2 reserved + 1 unfulfillable = 43 vs 38 on hand → +5.
    assert_eq!(adj.quantity, dec("5"));
    assert_eq!(adj.item, "10-4000");
    assert_eq!(adj.site, "10-100");
    assert_eq!(adj.location.as_deref(), Some("FBA"));
    assert_eq!(
        adj.external_id,
        "amazon:inventory:fba:NX-HD-1200:2026-07-01T06"
    );
    erp.available = dec("43");
    assert_eq!(
        align_inventory(&key, &SystemId::Amazon, &fba, &erp, &ctx()).unwrap(),
        None
    );

    // The record path uses the on-hand snapshot of the context.
    let record = SourceRecord {
        key: key.clone(),
        version: "1".into(),
        updated_at: None,
        body: RecordBody::InventoryLevel(fba.clone()),
        raw: serde_json::Value::Null,
    };
    let (_, message, _) = data_error(DefaultMapper.map(&record, &ctx()).unwrap_err());
    assert!(message.contains("on-hand snapshot"), "{message}");
    let snapshot = OnHand::new([(
        (
            "10-4000".to_string(),
            "10-100".to_string(),
            Some("FBA".to_string()),
        ),
        dec("50"),
    )]);
    let c = ctx().to_builder().on_hand(snapshot).build().unwrap();
    let docs = DefaultMapper.map(&record, &c).unwrap();
    snap("inventory_fba_adjustment", &docs);
    let ErpDocument::InventoryAdjustment(a) = &docs[0] else {
        panic!()
    };
    assert_eq!(a.quantity, dec("-7"));
}

#[test]
fn qad_items_map_to_listings_with_merchant_quantity() {
    let record = SourceRecord {
        key: RecordKey::new(SystemId::Qad, "items", "10-4000"),
        version: "1".into(),
        updated_at: None,
        body: RecordBody::Product(Product {
            sku: "10-4000".into(),
            name: Some("Nexa Home Dock 1200".into()),
            product_type: Some("FG".into()),
            price: Some(Money::new(dec("129.99"), usd())),
            active: true,
            uom: Some("EA".into()),
            barcodes: vec!["0012345678905".into(), "n/a".into()],
            attributes: serde_json::json!({ "amazon_attributes": { "brand": [{ "value": "Nexa", "marketplace_id": "ATVPDKIKX0DER" }] } }),
        }),
        raw: serde_json::Value::Null,
    };
    let mut settings = ctx().settings().clone();
    settings
        .listing
        .product_types
        .insert("FG".into(), "HOME".into());
    let snapshot = OnHand::new([(
        ("10-4000".to_string(), "10-100".to_string(), None),
        dec("12.6"),
    )]);
    let c = ctx()
        .to_builder()
        .settings(settings)
        .on_hand(snapshot)
        .build()
        .unwrap();
    let docs = DefaultMapper.map(&record, &c).unwrap();
    let ErpDocument::Listing(l) = &docs[0] else {
        panic!()
    };
    assert_eq!(l.sku, "NX-HD-1200", "reverse crosswalk");
    assert_eq!(l.product_type, "HOME");
    assert_eq!(l.quantity, Some(dec("12")));
    assert_eq!(l.attributes["fulfillment_availability"][0]["quantity"], 12);
    snap("qad_item_listing", &docs);

    let mut inactive = record.clone();
    if let RecordBody::Product(p) = &mut inactive.body {
        p.active = false;
    }
    assert!(DefaultMapper.map(&inactive, &c).unwrap().is_empty());
}

// ---------------------------------------------------------------- extension path

#[test]
fn wrapped_mappers_change_one_field_and_cannot_unbalance_a_journal() {
    let daybook = DefaultMapper.customize().journal(|j, _, _| {
        j.daybook = Some("AMZUS".into());
        Ok(())
    });
    let record = settlement_record(settlement_fixture());
    let docs = daybook.map(&record, &ctx()).unwrap();
    assert_eq!(journals(&docs)[0].daybook.as_deref(), Some("AMZUS"));
    let plain = DefaultMapper.map(&record, &ctx()).unwrap();
    let mut expected = journals(&plain)[0].clone();
    expected.daybook = Some("AMZUS".into());
    assert_eq!(journals(&docs)[0], &expected, "nothing else changed");

    let broken = DefaultMapper.customize().journal(|j, _, _| {
        j.lines.pop();
        Ok(())
    });
    let (_, message, _) = data_error(broken.map(&record, &ctx()).unwrap_err());
    assert!(message.contains("unbalanced"), "{message}");

    let tagged = DefaultMapper.and_then(|record, _, mut docs| {
        for d in &mut docs {
            if let ErpDocument::SalesOrder(so) = d {
                so.remarks = Some(format!("{} via {}", so.external_id, record.key.stream));
            }
        }
        Ok(docs)
    });
    let docs = tagged.map(&adobe_order_record(), &ctx()).unwrap();
    let ErpDocument::SalesOrder(so) = &docs[0] else {
        panic!()
    };
    assert_eq!(
        so.remarks.as_deref(),
        Some("adobe:default:order:000000003 via orders")
    );
}

#[test]
fn financial_transactions_have_no_default_mapping() {
    let record = SourceRecord {
        key: RecordKey::new(SystemId::Amazon, "transactions", "T-1"),
        version: "1".into(),
        updated_at: None,
        body: RecordBody::FinancialTransaction(serde_json::json!({})),
        raw: serde_json::Value::Null,
    };
    let e = DefaultMapper.map(&record, &ctx()).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    assert!(e.to_string().contains("amazon/transactions/T-1"));
}

#[test]
fn invoice_line_ids_never_clash_with_order_row_parents() {
    // Invoice item ids come from their own sequence: here the tee's invoice row happens to have
    // id "5", the order row id of the bundle parent its components point at. Not a double count.
    let mut r = adobe_invoice_record();
    if let RecordBody::Invoice(i) = &mut r.body {
        for l in &mut i.lines {
            l.line_id = format!("10{}", l.line_id);
        }
        let tee = i
            .lines
            .iter_mut()
            .find(|l| l.sku == "WS12-M-Orange")
            .unwrap();
        tee.line_id = "5".into();
        assert!(
            i.lines
                .iter()
                .any(|l| l.parent_line_id.as_deref() == Some("5"))
        );
    }
    let docs = DefaultMapper.map(&r, &ctx()).unwrap();
    assert_eq!(docs.len(), 1);

    // The bundle's own order row invoiced next to its components is a double count.
    let mut r = adobe_invoice_record();
    if let RecordBody::Invoice(i) = &mut r.body {
        let mut kit = i.lines[0].clone();
        kit.line_id = "105".into();
        kit.order_line_id = Some("5".into());
        kit.sku = "24-WG080-24-WG084-24-WG088-24-WG082-blue-24-WG086".into();
        kit.unit_price = dec("68");
        kit.row_total = dec("68");
        kit.role = LineRole::BundleKit;
        i.lines.push(kit);
        i.totals.subtotal += dec("68");
    }
    let (_, message, _) = data_error(DefaultMapper.map(&r, &ctx()).unwrap_err());
    assert!(message.contains("counted twice"), "{message}");
}
