//! Ambiguous outcomes: a POST that times out (or loses its connection) after the simulator
//! stored the document is never re-sent blindly — the sink checks with `find` first — so
//! exactly one document exists. Reads are retried; writes are not.

mod qad_support;

use std::time::Duration;

use ml_connector::model::DocumentKind;
use ml_connector::qad::QadClient;
use ml_connector::sandbox::qad::{Fault, FaultRule, QadSimulator};
use ml_connector::{ErpSink, Error};
use qad_support::*;
use serde_json::json;
use std::sync::Arc;

/// A sink whose requests time out after 400 ms.
fn impatient(sim: &QadSimulator) -> ml_connector::qad::QadSink {
    sink_from(
        sim.config_builder()
            .timeouts(Duration::from_secs(2), Duration::from_millis(400)),
    )
}

fn posts_to(sim: &QadSimulator, path: &str) -> usize {
    sim.write_requests()
        .iter()
        .filter(|r| r.path == path)
        .count()
}

#[tokio::test]
async fn header_post_that_times_out_after_storing_leaves_exactly_one_order() {
    let sim = seeded().await;
    let sink = impatient(&sim);
    sink.connect().await.unwrap();
    sim.inject(FaultRule::next_post(
        "api/erp/salesOrderHeaders",
        Fault::StoreThenDelay(Duration::from_millis(1500)),
    ));
    let doc = order("adobe:default:order:000000099", "000000099");
    let r = sink.post(&doc).await.unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("not sent again")),
        "{:?}",
        r.warnings
    );
    assert_eq!(posts_to(&sim, "api/erp/salesOrderHeaders"), 1, "no re-post");
    assert_eq!(sim.count(DocumentKind::SalesOrder), 1);
    assert_eq!(sim.count_key(DocumentKind::SalesOrder, "000000099"), 1);
    // The lines were still added after the check.
    let o = sim.order(&r.erp_key).unwrap();
    assert_eq!(o["lines"].as_array().unwrap().len(), 2);

    // The pipeline's own retry (post again) finds it too.
    let again = sink.post(&doc).await.unwrap();
    assert_eq!(again.erp_key, r.erp_key);
    assert_eq!(posts_to(&sim, "api/erp/salesOrderHeaders"), 1);
    assert_eq!(sim.count(DocumentKind::SalesOrder), 1);
}

#[tokio::test]
async fn dropped_connection_after_storing_a_journal_is_resolved_by_find() {
    let sim = seeded().await;
    let sink = sink(&sim);
    sim.inject(FaultRule::next_post(
        "api/erp/journalEntries",
        Fault::StoreThenDrop,
    ));
    let doc = journal(
        "amazon:settlement:777",
        "2026-03-31",
        vec![jline("1100", "12.34", "0"), jline("4000", "0", "12.34")],
    );
    let r = sink.post(&doc).await.unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("not sent again"))
    );
    assert_eq!(posts_to(&sim, "api/erp/journalEntries"), 1);
    assert_eq!(
        sim.count_key(DocumentKind::Journal, "amazon:settlement:777"),
        1
    );
}

#[tokio::test]
async fn timeouts_on_every_financial_document_and_adjustment_leave_one_each() {
    let sim = seeded().await;
    let sink = impatient(&sim);
    sink.connect().await.unwrap();
    let slow = || Fault::StoreThenDelay(Duration::from_millis(1200));

    sim.inject(FaultRule::next_post("api/erp/customerInvoices", slow()));
    sink.post(&receivable("adobe:default:invoice:1"))
        .await
        .unwrap();
    sim.inject(FaultRule::next_post("api/erp/customerInvoices", slow()));
    sink.post(&credit_note("adobe:default:creditmemo:1", None))
        .await
        .unwrap();
    sim.inject(FaultRule::next_post("api/erp/unplannedReceives", slow()));
    sink.post(&adjustment("amazon:inventory:1", "10-1000", "4"))
        .await
        .unwrap();
    sim.inject(FaultRule::next_post("api/erp/customerV2s", slow()));
    sink.post(&customer_doc("C400001")).await.unwrap();

    assert_eq!(posts_to(&sim, "api/erp/customerInvoices"), 2);
    assert_eq!(posts_to(&sim, "api/erp/unplannedReceives"), 1);
    assert_eq!(posts_to(&sim, "api/erp/customerV2s"), 1);
    assert_eq!(sim.count(DocumentKind::Receivable), 1);
    assert_eq!(sim.count(DocumentKind::CreditNote), 1);
    assert_eq!(sim.count(DocumentKind::InventoryAdjustment), 1);
    assert_eq!(sim.stock("10-100", "STOCK", "10-1000"), dec("44"));
    assert_eq!(sim.count_key(DocumentKind::Customer, "C400001"), 1);
    // The customer's domain record was still completed after the check.
    assert_eq!(
        sim.mfg_customer("C400001").unwrap()["siteCode"],
        json!("10-100")
    );
}

#[tokio::test]
async fn lost_line_commit_is_checked_and_the_order_completed_once() {
    let sim = seeded().await;
    let sink = sink(&sim);
    sim.inject(FaultRule::next_post(
        "api/erp/salesOrderLinesGrid",
        Fault::StoreThenDrop,
    ));
    let r = sink
        .post(&order("adobe:default:order:55", "55"))
        .await
        .unwrap();
    let o = sim.order(&r.erp_key).unwrap();
    let lines = o["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{o}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("QAD has the line"))
    );
    assert_eq!(posts_to(&sim, "api/erp/salesOrderLinesGrid"), 2);
}

#[tokio::test]
async fn a_write_lost_before_storing_is_reported_ambiguous_then_posted_once() {
    let sim = seeded().await;
    let sink = sink(&sim);
    sim.inject(FaultRule::next_post(
        "api/erp/customerInvoices",
        Fault::Drop,
    ));
    let doc = receivable("adobe:default:invoice:2");
    let e = sink.post(&doc).await.unwrap_err();
    assert!(matches!(e, Error::Ambiguous { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert!(
        e.to_string().contains("looked up again before any re-post"),
        "{e}"
    );
    assert_eq!(sim.count(DocumentKind::Receivable), 0);
    assert_eq!(posts_to(&sim, "api/erp/customerInvoices"), 1);

    // The retry checks first (nothing there) and posts exactly once more.
    assert!(sink.find(&doc).await.unwrap().is_none());
    sink.post(&doc).await.unwrap();
    assert_eq!(sim.count(DocumentKind::Receivable), 1);
    assert_eq!(posts_to(&sim, "api/erp/customerInvoices"), 2);
}

#[tokio::test]
async fn a_5xx_on_a_post_is_not_retried_blindly_but_reads_are_retried() {
    let sim = seeded().await;
    let sink = sink(&sim);
    sink.connect().await.unwrap();
    // Two 503s on browses: the kernel retries reads.
    sim.inject(FaultRule::gets(
        "api/qracore/browses",
        Fault::Status(503),
        2,
    ));
    assert!(sink.find(&customer_doc("C100045")).await.unwrap().is_some());

    sim.inject(FaultRule::next_post(
        "api/erp/journalEntries",
        Fault::Status(503),
    ));
    let doc = journal(
        "amazon:settlement:503",
        "2026-03-31",
        vec![jline("1100", "1", "0"), jline("4000", "0", "1")],
    );
    let e = sink.post(&doc).await.unwrap_err();
    assert!(matches!(e, Error::Ambiguous { .. }), "{e:?}");
    assert_eq!(posts_to(&sim, "api/erp/journalEntries"), 1);
    sink.post(&doc).await.unwrap();
    assert_eq!(sim.count(DocumentKind::Journal), 1);
}

#[tokio::test]
async fn qad_stores_a_duplicate_customer_po_but_the_sink_never_sends_one() {
    let sim = seeded().await;
    let cfg = Arc::new(sim.config_builder().build().unwrap());
    let client = QadClient::new(cfg).unwrap();
    let header = |number: &str| {
        json!({"salesOrderHeaders": [{
            "salesOrderNumber": number, "domainCode": "10USA", "soldToCustomerCode": "C100045",
            "billToCustomerCode": "C100045", "shipToCustomerCode": "C100045", "siteCode": "10-100",
            "currencyCode": "EUR", "orderDate": "2026-03-01T00:00:00.000Z",
            "dueDate": "2026-03-10T00:00:00.000Z", "customerPO": "SHOP-1", "remarks": "shop:order:1"
        }]})
    };
    let q = [(
        "viewUri",
        "urn:be:com.qad.sales.salesorder.ISalesOrderHeader".to_string(),
    )];
    let (_, w1) = client
        .post(
            "h",
            "api/erp/salesOrderHeaders",
            &q,
            &header("MAN001"),
            false,
            "r",
        )
        .await
        .unwrap();
    assert!(w1.is_empty());
    // A naive second send with another number is accepted with only a warning: double-booked.
    let (_, w2) = client
        .post(
            "h",
            "api/erp/salesOrderHeaders",
            &q,
            &header("MAN002"),
            false,
            "r",
        )
        .await
        .unwrap();
    assert_eq!(w2[0].code.as_deref(), Some("624"));
    assert!(!w2[0].is_error());
    assert_eq!(sim.count_key(DocumentKind::SalesOrder, "SHOP-1"), 2);

    // The sink recognises the PO + customer and posts nothing.
    let sink = sink(&sim);
    let doc = ml_connector::model::ErpDocument::SalesOrder(order_doc(
        "shop:order:1",
        "C100045",
        "SHOP-1",
        vec![],
    ));
    let found = sink.find(&doc).await.unwrap().unwrap();
    assert!(
        found
            .warnings
            .iter()
            .any(|w| w.message.contains("double-booked")),
        "{found:?}"
    );
    assert_eq!(sim.count_key(DocumentKind::SalesOrder, "SHOP-1"), 2);
}
