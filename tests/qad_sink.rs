//! Every document type lands in the QAD simulator with the right fields; QAD business errors
//! come back with QAD's field names and messages; reads page through browses; auth refreshes.

mod qad_support;

use futures::TryStreamExt;
use ml_connector::model::{DocumentKind, ErpDocument, ItemDoc};
use ml_connector::qad::{QadAuthConfig, QadClient};
use ml_connector::sandbox::qad::{QadSimConfig, QadSimulator};
use ml_connector::{ErpSink, Error};
use qad_support::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn n(v: &Value, k: &str) -> String {
    v.get(k).map(Value::to_string).unwrap_or_default()
}

#[tokio::test]
async fn customer_is_created_with_its_domain_record_then_updated() {
    let sim = seeded().await;
    let sink = sink(&sim);
    let doc = customer_doc("C200100");
    let r = sink.post(&doc).await.unwrap();
    assert_eq!(r.erp_key, "C200100");
    assert_eq!(
        r.uri.as_deref(),
        Some("urn:be:com.qad.base.customer.ICustomerV2:SHARED01.C200100")
    );
    let stored = sim
        .documents(DocumentKind::Customer)
        .into_iter()
        .find(|c| s(c, "customerCode") == "C200100")
        .unwrap();
    assert_eq!(s(&stored, "sharedSetCode"), "SHARED01");
    assert_eq!(s(&stored, "businessRelationName"), "Beta Trading Ltd");
    assert_eq!(s(&stored, "addressSearchName"), "BETA TRADING LTD");
    assert_eq!(s(&stored, "street1"), "1 Harbour Road");
    assert_eq!(s(&stored, "city"), "Bristol");
    assert_eq!(s(&stored, "countryCode"), "GB");
    assert_eq!(s(&stored, "currencyCode"), "EUR");
    assert_eq!(s(&stored, "EMail"), "ap@beta.example");
    assert_eq!(s(&stored, "invoiceControlGLProfileCode"), "AR");
    assert_eq!(s(&stored, "salesAccountGLProfileCode"), "SALES");
    assert_eq!(stored["isCreateBusinessRelationRequired"], json!(true));
    let mfg = sim.mfg_customer("C200100").unwrap();
    assert_eq!(s(&mfg, "siteCode"), "10-100");
    assert_eq!(s(&mfg, "daybookSetCode"), "SO");
    assert_eq!(sink.find(&doc).await.unwrap().unwrap().erp_key, "C200100");

    // Posting again updates (upsert) instead of creating a second customer.
    let mut again = match doc {
        ErpDocument::Customer(c) => c,
        _ => unreachable!(),
    };
    again.name = "Beta Trading Limited".into();
    let r = sink.post(&ErpDocument::Customer(again)).await.unwrap();
    assert!(
        r.warnings.iter().any(|w| w.message.contains("updated")),
        "{r:?}"
    );
    assert_eq!(sim.count_key(DocumentKind::Customer, "C200100"), 1);
    let stored = sim
        .documents(DocumentKind::Customer)
        .into_iter()
        .find(|c| s(c, "customerCode") == "C200100")
        .unwrap();
    assert_eq!(s(&stored, "businessRelationName"), "Beta Trading Limited");
}

#[tokio::test]
async fn sales_order_lands_with_header_and_lines_through_the_line_flow() {
    let sim = seeded().await;
    let sink = sink(&sim);
    let doc = order("adobe:default:order:000000042", "000000042");
    let r = sink.post(&doc).await.unwrap();
    let number = r.erp_key.clone();
    assert_eq!(number.len(), 8);
    assert!(number.starts_with('W'), "{number}");
    assert_eq!(
        r.uri.as_deref(),
        Some(format!("urn:be:com.qad.sales.salesorder.ISalesOrderHeader:10USA.{number}").as_str())
    );
    let o = sim.order(&number).unwrap();
    assert_eq!(s(&o, "domainCode"), "10USA");
    assert_eq!(s(&o, "soldToCustomerCode"), "C100045");
    assert_eq!(s(&o, "billToCustomerCode"), "C100045");
    assert_eq!(s(&o, "siteCode"), "10-100");
    assert_eq!(s(&o, "currencyCode"), "EUR");
    assert_eq!(s(&o, "customerPO"), "000000042");
    assert_eq!(s(&o, "remarks"), "adobe:default:order:000000042");
    assert_eq!(s(&o, "orderDate"), "2026-03-01T00:00:00.000Z");
    assert_eq!(s(&o, "dueDate"), "2026-03-10T00:00:00.000Z");
    let lines = o["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(s(&lines[0], "itemCode"), "10-1000");
    assert_eq!(n(&lines[0], "quantityOrdered"), "5");
    assert_eq!(n(&lines[0], "listPrice"), "120");
    assert_eq!(n(&lines[0], "netPrice"), "110");
    assert_eq!(s(&lines[0], "discountFormatted"), "8.3333");
    assert_eq!(
        s(&lines[0], "unitOfMeasure"),
        "EA",
        "defaulted by QAD from the item"
    );
    assert_eq!(s(&lines[0], "description"), "Widget, blue");
    assert_eq!(n(&lines[1], "quantityOrdered"), "2.5");
    assert_eq!(n(&lines[1], "salesOrderLine"), "2");

    // find() sees it, and a second post does not double-book.
    assert_eq!(sink.find(&doc).await.unwrap().unwrap().erp_key, number);
    let again = sink.post(&doc).await.unwrap();
    assert_eq!(again.erp_key, number);
    assert!(
        again
            .warnings
            .iter()
            .any(|w| w.message.contains("already in QAD"))
    );
    assert_eq!(sim.count(DocumentKind::SalesOrder), 1);
    assert_eq!(sim.count_key(DocumentKind::SalesOrder, "000000042"), 1);
}

#[tokio::test]
async fn a_line_in_another_unit_gets_a_uom_field_change() {
    let sim = seeded().await;
    let sink = sink(&sim);
    let mut l = line(1, "10-3000", "12", "3.5", "3.5");
    l.uom = Some("CM".into());
    let doc = ErpDocument::SalesOrder(order_doc("amazon:order:111-1", "C100045", "111-1", vec![l]));
    let r = sink.post(&doc).await.unwrap();
    let o = sim.order(&r.erp_key).unwrap();
    assert_eq!(s(&o["lines"][0], "unitOfMeasure"), "CM");
    let changes: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("fieldChange") && r.query.contains("fieldName=unitOfMeasure"))
        .collect();
    assert_eq!(changes.len(), 1);
}

#[tokio::test]
async fn receivable_and_linked_credit_note_land_with_amounts_and_references() {
    let sim = seeded().await;
    let sink = sink(&sim);
    let inv = receivable("adobe:default:invoice:000000017");
    let r = sink.post(&inv).await.unwrap();
    let stored = &sim.documents(DocumentKind::Receivable)[0];
    assert_eq!(
        s(stored, "DInvoiceDIText"),
        "adobe:default:invoice:000000017"
    );
    assert_eq!(s(stored, "invoiceType"), "INVOICE");
    assert_eq!(s(stored, "entityCode"), "10USACO");
    assert_eq!(s(stored, "daybookCode"), "CI");
    assert_eq!(s(stored, "customerCode"), "C100045");
    assert_eq!(s(stored, "postingDate"), "2026-03-05");
    assert_eq!(s(stored, "dueDate"), "2026-04-04");
    assert_eq!(s(stored, "purchaseOrder"), "SHOP-8842");
    assert_eq!(n(stored, "originalDebitTC"), "654.5");
    assert_eq!(n(stored, "originalCreditTC"), "0");
    assert_eq!(n(stored, "netAmountTC"), "550");
    assert_eq!(n(stored, "taxAmountTC"), "104.5");
    assert_eq!(r.erp_key, s(stored, "voucher"));
    assert_eq!(sink.find(&inv).await.unwrap().unwrap().erp_key, r.erp_key);

    let cn = credit_note(
        "adobe:default:creditmemo:3",
        Some("adobe:default:invoice:000000017"),
    );
    let c = sink.post(&cn).await.unwrap();
    let stored = &sim.documents(DocumentKind::CreditNote)[0];
    assert_eq!(s(stored, "invoiceType"), "CREDITNOTE");
    assert_eq!(s(stored, "daybookCode"), "CN");
    assert_eq!(s(stored, "linkedInvoiceVoucher"), r.erp_key);
    assert_eq!(n(stored, "originalCreditTC"), "119");
    assert_eq!(c.erp_key, s(stored, "voucher"));

    // A credit note for an invoice QAD does not have is held with the fix.
    let orphan = credit_note(
        "adobe:default:creditmemo:4",
        Some("adobe:default:invoice:999"),
    );
    let e = sink.post(&orphan).await.unwrap_err();
    assert!(matches!(e, Error::Data { .. }), "{e:?}");
    assert!(e.to_string().contains("post the receivable first"), "{e}");
    assert_eq!(sim.count(DocumentKind::CreditNote), 1);
}

#[tokio::test]
async fn balanced_journal_lands_and_an_unbalanced_one_is_stopped_locally() {
    let sim = seeded().await;
    let sink = sink(&sim);
    let doc = journal(
        "amazon:settlement:28471003921",
        "2026-03-31",
        vec![
            jline("1100", "1000.00", "0"),
            jline("6100", "45.10", "0"),
            jline("4000", "0", "1045.10"),
        ],
    );
    let r = sink.post(&doc).await.unwrap();
    let stored = &sim.documents(DocumentKind::Journal)[0];
    assert_eq!(
        s(stored, "postingReference"),
        "amazon:settlement:28471003921"
    );
    assert_eq!(s(stored, "entityCode"), "10USACO");
    assert_eq!(s(stored, "daybookCode"), "JE");
    assert_eq!(s(stored, "postingDate"), "2026-03-31");
    assert_eq!(n(stored, "voucher").trim_matches('"'), r.erp_key);
    let lines = stored["journalEntryLines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(s(&lines[1], "glCode"), "6100");
    assert_eq!(n(&lines[1], "debitTC"), "45.1");
    assert_eq!(s(&lines[1], "costCenterCode"), "100");
    assert_eq!(s(&lines[2], "currencyCode"), "EUR");

    let writes_before = sim.write_requests().len();
    let bad = journal(
        "amazon:settlement:2",
        "2026-03-31",
        vec![jline("1100", "10", "0"), jline("4000", "0", "9.99")],
    );
    let e = sink.post(&bad).await.unwrap_err();
    assert!(matches!(e, Error::Data { .. }), "{e:?}");
    assert!(e.to_string().contains("unbalanced in EUR"), "{e}");
    assert_eq!(sim.write_requests().len(), writes_before);
    assert_eq!(sim.count(DocumentKind::Journal), 1);
}

#[tokio::test]
async fn inventory_receipts_and_issues_move_stock() {
    let sim = seeded().await;
    let sink = sink(&sim);
    let up = adjustment("amazon:inventory:10-1000:2026-11-30T02", "10-1000", "12");
    sink.post(&up).await.unwrap();
    assert_eq!(sim.stock("10-100", "STOCK", "10-1000"), dec("52"));
    let down = adjustment("amazon:inventory:10-1000:2026-11-30T03", "10-1000", "-7.5");
    sink.post(&down).await.unwrap();
    assert_eq!(sim.stock("10-100", "STOCK", "10-1000"), dec("44.5"));
    let adj = sim.documents(DocumentKind::InventoryAdjustment);
    assert_eq!(adj.len(), 2);
    assert_eq!(s(&adj[0], "transactionType"), "RCT-UNP");
    assert_eq!(
        s(&adj[0], "reference"),
        "amazon:inventory:10-1000:2026-11-30T02"
    );
    assert_eq!(s(&adj[0], "description"), "align with Amazon FBA");
    assert_eq!(s(&adj[1], "transactionType"), "ISS-UNP");
    assert_eq!(n(&adj[1], "quantity"), "7.5");
    // Re-posting the receipt is recognised by its reference.
    let r = sink.post(&up).await.unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("already in QAD"))
    );
    assert_eq!(sim.stock("10-100", "STOCK", "10-1000"), dec("44.5"));
    assert!(sink.find(&down).await.unwrap().is_some());
}

#[tokio::test]
async fn issue_path_can_be_switched_off_per_tenant() {
    let sim = seeded().await;
    let sink = sink_from(
        sim.config_builder()
            .registry_overrides(json!({"inventory_adjustment": {"issue": {"enabled": false}}})),
    );
    sink.post(&adjustment("a:1", "10-1000", "1")).await.unwrap();
    let e = sink
        .post(&adjustment("a:2", "10-1000", "-1"))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("qad.registry.inventory_adjustment.issue"),
        "{e}"
    );
    assert_eq!(sim.count(DocumentKind::InventoryAdjustment), 1);
}

#[tokio::test]
async fn qad_business_errors_carry_field_names_and_messages() {
    let sim = seeded().await;
    sim.close_period("10USACO", 2026, 2);
    let sink = sink(&sim);

    // Unknown customer on the order header (HTTP 200, success:false).
    let doc = ErpDocument::SalesOrder(order_doc(
        "adobe:default:order:7",
        "NOPE",
        "7",
        vec![line(1, "10-1000", "1", "120", "120")],
    ));
    match sink.post(&doc).await.unwrap_err() {
        Error::Rejected { issues, ctx, .. } => {
            let i = issues
                .iter()
                .find(|i| i.field.as_deref() == Some("soldToCustomerCode"))
                .unwrap();
            assert_eq!(i.message, "Customer does not exist (value `NOPE`)");
            assert_eq!(i.code.as_deref(), Some("3"));
            assert_eq!(ctx.status, Some(200));
            assert_eq!(ctx.record.as_deref(), Some("adobe:default:order:7"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.count(DocumentKind::SalesOrder), 0);

    // Closed period.
    let j = journal(
        "amazon:settlement:9",
        "2026-02-28",
        vec![jline("1100", "5", "0"), jline("4000", "0", "5")],
    );
    match sink.post(&j).await.unwrap_err() {
        Error::Rejected { issues, .. } => {
            assert_eq!(issues[0].field.as_deref(), Some("postingDate"));
            assert!(
                issues[0].message.contains("period 2026/2 is closed"),
                "{issues:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // Unknown item in the inventory flow (QAD's validateAndAssignDefaultsLine).
    match sink
        .post(&adjustment("a:x", "NO-SUCH-ITEM", "1"))
        .await
        .unwrap_err()
    {
        Error::Rejected { issues, .. } => {
            assert_eq!(issues[0].field.as_deref(), Some("itemCode"));
            assert!(issues[0].message.starts_with("Item number does not exist"));
            assert_eq!(issues[0].code.as_deref(), Some("16"));
        }
        other => panic!("{other:?}"),
    }

    // Unbalanced journal as QAD reports it (sent raw: the sink itself never sends one).
    let cfg = Arc::new(sim.config_builder().build().unwrap());
    let client = QadClient::new(cfg).unwrap();
    let body = json!({"journalEntries": [{
    "entityCode": "10USACO", "daybookCode": "JE", "postingDate": "2026-03-31", "voucher": 0,
    "postingReference": "raw:1",
    "journalEntryLines": [
        {"glCode": "1100", "currencyCode": "EUR", "debitTC": 10, "creditTC": 0},
        {"glCode": "4000", "currencyCode": "EUR", "debitTC": 0, "creditTC": 9}
    ]}]});
    let e = client
        .post(
            "journalEntries.post",
            "api/erp/journalEntries",
            &[(
                "viewUri",
                "urn:be:com.qad.financials.generalledger.journalentry.IJournalEntry".into(),
            )],
            &body,
            false,
            "raw:1",
        )
        .await
        .unwrap_err();
    match &e {
        Error::Rejected { issues, .. } => {
            assert_eq!(issues[0].field.as_deref(), Some("journalEntryLines"));
            assert!(
                issues[0].message.contains("not balanced in EUR"),
                "{issues:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .contains("journalEntryLines: Journal entry is not balanced"),
        "{e}"
    );
}

#[tokio::test]
async fn unknown_items_are_held_before_an_order_header_is_written() {
    let sim = seeded().await;
    let sink = sink(&sim);
    let doc = ErpDocument::SalesOrder(order_doc(
        "adobe:default:order:8",
        "C100045",
        "8",
        vec![
            line(1, "10-1000", "1", "1", "1"),
            line(2, "GHOST-1", "1", "1", "1"),
        ],
    ));
    let e = sink.post(&doc).await.unwrap_err();
    match &e {
        Error::Data {
            record,
            message,
            fix,
        } => {
            assert_eq!(record, "adobe:default:order:8");
            assert!(
                message.contains("GHOST-1") && message.contains("line 2"),
                "{message}"
            );
            assert!(
                fix.contains("SKU crosswalk") && fix.contains("SKU-GHOST-1"),
                "{fix}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        sim.write_requests().is_empty(),
        "{:?}",
        sim.write_requests()
    );
}

#[tokio::test]
async fn items_can_be_written_once_enabled() {
    let sim = seeded().await;
    let sink = sink_from(
        sim.config_builder()
            .registry_overrides(json!({"item": {"enabled": true}})),
    );
    let doc = ErpDocument::Item(ItemDoc {
        external_id: "qad:item:NEW-1".into(),
        code: "NEW-1".into(),
        description: "A new item with a rather long description".into(),
        uom: Some("PC".into()),
    });
    sink.post(&doc).await.unwrap();
    assert_eq!(sim.count_key(DocumentKind::Item, "NEW-1"), 1);
    let r = sink.post(&doc).await.unwrap();
    assert!(r.warnings.iter().any(|w| w.message.contains("already")));
    assert_eq!(
        sink.item("NEW-1").await.unwrap().unwrap().uom.as_deref(),
        Some("PC")
    );
}

#[tokio::test]
async fn reads_page_through_item_customer_and_stock_browses() {
    let sim = seeded().await;
    for i in 0..7 {
        sim.seed_item(
            &format!("90-{i:04}"),
            &format!("Bulk item {i}"),
            "EA",
            dec("1"),
        );
    }
    sim.seed_stock("10-200", "BIN1", "10-2000", dec("3.25"));
    let sink = sink_from(sim.config_builder().page_size(2));
    let items: Vec<_> = sink.items().try_collect().await.unwrap();
    assert_eq!(items.len(), 10);
    let widget = items.iter().find(|i| i.code == "10-1000").unwrap();
    assert_eq!(widget.description, "Widget, blue");
    assert_eq!(widget.uom.as_deref(), Some("EA"));
    // 10 rows at 2 per page: 5 full pages and the empty one that ends the scan.
    let item_pages = sim
        .requests()
        .into_iter()
        .filter(|r| r.query.contains("pt001"))
        .count();
    assert_eq!(item_pages, 6);

    let customers: Vec<_> = sink.customers().try_collect().await.unwrap();
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0].name.as_deref(), Some("Acme GmbH"));
    assert!(sink.customer("C100045").await.unwrap().is_some());
    assert!(sink.customer("C9").await.unwrap().is_none());

    let all = sink.stock_levels(None, None).await.unwrap();
    assert_eq!(all.len(), 2);
    let bin = sink
        .stock_levels(Some("10-200"), Some("BIN1"))
        .await
        .unwrap();
    assert_eq!(bin.len(), 1);
    assert_eq!(bin[0].item, "10-2000");
    assert_eq!(bin[0].on_hand, dec("3.25"));
    let level = bin[0].to_inventory_level();
    assert_eq!(level.available, dec("3.25"));
    assert_eq!(level.location.as_deref(), Some("10-200/BIN1"));
}

#[tokio::test]
async fn expired_tokens_are_refreshed_and_a_failed_refresh_logs_in_again() {
    let sim = seeded().await;
    let sink = sink(&sim);
    sink.connect().await.unwrap();
    assert_eq!(sim.grants().password, 1);

    sim.expire_access_tokens();
    sink.post(&customer_doc("C300001")).await.unwrap();
    assert_eq!(sim.grants().refresh, 1, "{:?}", sim.grants());
    assert_eq!(sim.grants().password, 1);

    sim.expire_access_tokens();
    sim.revoke_refresh_tokens();
    sink.post(&customer_doc("C300002")).await.unwrap();
    let g = sim.grants();
    assert_eq!(g.password, 2, "{g:?}");
    assert_eq!(g.refused, 1, "the refresh grant was refused first: {g:?}");
    assert_eq!(sim.count(DocumentKind::Customer), 3);
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let sim = QadSimulator::start_with(QadSimConfig {
        token_ttl: Duration::from_secs(2),
        ..QadSimConfig::default()
    })
    .await
    .unwrap();
    sim.seed_customer("C100045", "Acme", "EUR");
    // Refresh margin 60 s > lifetime: the kernel renews halfway through the lifetime.
    let sink = sink(&sim);
    sink.connect().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(sink.find(&customer_doc("C100045")).await.unwrap().is_some());
    let g = sim.grants();
    assert_eq!((g.password, g.refresh, g.refused), (1, 1, 0), "{g:?}");
}

#[tokio::test]
async fn http_basic_works_without_a_token() {
    let sim = seeded().await;
    let sink = sink_from(
        sim.config_builder()
            .auth(QadAuthConfig::basic("svc_integration", "sim-password")),
    );
    sink.post(&receivable("adobe:default:invoice:5"))
        .await
        .unwrap();
    assert_eq!(sim.grants(), Default::default());
    assert_eq!(sim.count(DocumentKind::Receivable), 1);

    let bad = sink_from(
        sim.config_builder()
            .auth(QadAuthConfig::basic("svc_integration", "nope")),
    );
    let e = bad.connect().await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Auth {
                permanent: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("qad.auth.password"), "{e}");
}

#[tokio::test]
async fn unknown_item_from_the_line_flow_and_a_partial_order_is_resumed() {
    let sim = seeded().await;
    // Without a readable item component the sink cannot pre-check: QAD's fieldChange answers.
    sim.remove("api/erp/items");
    let sink = sink(&sim);
    let doc = ErpDocument::SalesOrder(order_doc(
        "adobe:default:order:31",
        "C100045",
        "31",
        vec![
            line(1, "10-1000", "1", "120", "120"),
            line(2, "NEW-9", "3", "9", "9"),
        ],
    ));
    match sink.post(&doc).await.unwrap_err() {
        Error::Rejected { issues, ctx, .. } => {
            assert_eq!(issues[0].field.as_deref(), Some("itemCode"));
            assert_eq!(
                issues[0].message,
                "Item number does not exist (value `NEW-9`)"
            );
            assert_eq!(ctx.record.as_deref(), Some("adobe:default:order:31 line 2"));
        }
        other => panic!("{other:?}"),
    }
    // The header and line 1 are in QAD; find() does not call the order done.
    assert!(sink.find(&doc).await.unwrap().is_none());
    // Once the item exists, a replay adds only the missing line.
    sim.seed_item("NEW-9", "New nine", "EA", dec("9"));
    let r = sink.post(&doc).await.unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.contains("missing lines were added"))
    );
    assert_eq!(sim.count(DocumentKind::SalesOrder), 1);
    let o = sim.order(&r.erp_key).unwrap();
    let items: Vec<&str> = o["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| s(l, "itemCode"))
        .collect();
    assert_eq!(items, ["10-1000", "NEW-9"]);
    assert!(sink.find(&doc).await.unwrap().is_some());
}
