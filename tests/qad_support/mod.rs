//! Shared helpers of the QAD integration tests (documents, a sink on the simulator).
#![allow(dead_code)]

use std::time::Duration;

use ml_connector::http::RetryPolicy;
use ml_connector::model::*;
use ml_connector::qad::{QadConfigBuilder, QadSink};
use ml_connector::sandbox::qad::QadSimulator;

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

/// Short retry delays so read retries do not slow the tests down.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::with_attempts(3).delays(Duration::from_millis(5), Duration::from_millis(20))
}

pub fn sink_from(builder: QadConfigBuilder) -> QadSink {
    QadSink::with_retry(builder.build().unwrap(), fast_retry())
        .unwrap()
        .with_settle_delay(Duration::from_millis(20))
}

pub fn sink(sim: &QadSimulator) -> QadSink {
    sink_from(sim.config_builder())
}

/// A simulator with items, a customer and stock.
pub async fn seeded() -> QadSimulator {
    let sim = QadSimulator::start().await.unwrap();
    sim.seed_item("10-1000", "Widget, blue", "EA", dec("120"));
    sim.seed_item("10-2000", "Gadget", "EA", dec("50"));
    sim.seed_item("10-3000", "Cable 2m", "M", dec("3.5"));
    sim.seed_customer("C100045", "Acme GmbH", "EUR");
    sim.seed_stock("10-100", "STOCK", "10-1000", dec("40"));
    sim
}

pub fn customer_doc(code: &str) -> ErpDocument {
    ErpDocument::Customer(CustomerDoc {
        external_id: format!("adobe:customer:{code}"),
        code: code.into(),
        name: "Beta Trading Ltd".into(),
        email: Some("ap@beta.example".into()),
        currency: eur(),
        address: Some(Address {
            company: Some("Beta Trading Ltd".into()),
            street: vec!["1 Harbour Road".into(), "Unit 4".into()],
            city: Some("Bristol".into()),
            postcode: Some("BS1 4AA".into()),
            country: Some("GB".into()),
            phone: Some("+44 117 000000".into()),
            ..Address::default()
        }),
        tax_id: None,
        is_business: true,
        credit_terms: None,
    })
}

pub fn line(n: u32, item: &str, qty: &str, list: &str, net: &str) -> SalesOrderLine {
    SalesOrderLine {
        line: n,
        item: item.into(),
        source_sku: format!("SKU-{item}"),
        description: None,
        quantity: dec(qty),
        uom: None,
        list_price: dec(list),
        net_price: dec(net),
        taxable: true,
        site: None,
    }
}

pub fn order_doc(ext: &str, customer: &str, po: &str, lines: Vec<SalesOrderLine>) -> SalesOrderDoc {
    SalesOrderDoc {
        external_id: ext.into(),
        customer: customer.into(),
        bill_to: None,
        ship_to: None,
        ship_to_address: None,
        order_date: date("2026-03-01"),
        due_date: date("2026-03-10"),
        site: None,
        currency: eur(),
        customer_po: po.into(),
        lines,
        freight: Decimal::ZERO,
        tax: Decimal::ZERO,
        remarks: None,
    }
}

pub fn order(ext: &str, po: &str) -> ErpDocument {
    ErpDocument::SalesOrder(order_doc(
        ext,
        "C100045",
        po,
        vec![
            line(1, "10-1000", "5", "120", "110"),
            line(2, "10-2000", "2.5", "50", "50"),
        ],
    ))
}

pub fn receivable(ext: &str) -> ErpDocument {
    ErpDocument::Receivable(ReceivableDoc {
        external_id: ext.into(),
        customer: "C100045".into(),
        invoice_date: date("2026-03-05"),
        posting_date: date("2026-03-05"),
        due_date: date("2026-04-04"),
        currency: eur(),
        net_amount: dec("550.00"),
        tax_amount: dec("104.50"),
        gross_amount: dec("654.50"),
        order_ref: Some("adobe:default:order:000000042".into()),
        customer_po: Some("SHOP-8842".into()),
        description: Some("Invoice 000000017".into()),
    })
}

pub fn credit_note(ext: &str, linked: Option<&str>) -> ErpDocument {
    ErpDocument::CreditNote(CreditNoteDoc {
        external_id: ext.into(),
        customer: "C100045".into(),
        date: date("2026-03-20"),
        currency: eur(),
        net_amount: dec("100.00"),
        tax_amount: dec("19.00"),
        gross_amount: dec("119.00"),
        linked_invoice: linked.map(str::to_string),
        order_ref: None,
        refund_method: Some("online".into()),
        description: Some("Refund".into()),
    })
}

pub fn jline(account: &str, debit: &str, credit: &str) -> JournalLine {
    JournalLine {
        account: account.into(),
        sub_account: None,
        cost_center: Some("100".into()),
        project: None,
        currency: eur(),
        debit: dec(debit),
        credit: dec(credit),
        description: format!("line {account}"),
    }
}

pub fn journal(ext: &str, posting: &str, lines: Vec<JournalLine>) -> ErpDocument {
    ErpDocument::Journal(JournalDoc {
        external_id: ext.into(),
        part: String::new(),
        posting_date: date(posting),
        daybook: None,
        description: "Amazon settlement".into(),
        lines,
    })
}

pub fn adjustment(ext: &str, item: &str, qty: &str) -> ErpDocument {
    ErpDocument::InventoryAdjustment(InventoryAdjustmentDoc {
        external_id: ext.into(),
        part: String::new(),
        item: item.into(),
        site: "10-100".into(),
        location: Some("STOCK".into()),
        quantity: dec(qty),
        reason: "align with Amazon FBA".into(),
    })
}
