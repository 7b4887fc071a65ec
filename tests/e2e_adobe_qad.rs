//! End to end: the Adobe Commerce simulator → [`AdobeSource`] → [`DefaultMapper`] → [`QadSink`]
//! → the QAD simulator, on SQLite stores (one file, as the embedded default).
//!
//! * A flow with masters first (customers and companies, then orders, then invoices and credit
//!   memos) lands every order, captured invoice and credit memo of the store in QAD once; a
//!   second run posts nothing.
//! * A worker that dies between a post (QAD stored the order) and the completion of its claim,
//!   then a restart on the same SQLite file: one document and a complete audit trail.
//! * An unknown SKU holds its orders (dead letters naming the SKU and the crosswalk); after the
//!   crosswalk fix a replay posts each once, and replaying again posts nothing.
//!
//! The QAD item master is seeded with one item per Adobe product; the SKU crosswalk maps each
//! product SKU (and each fixed-price bundle's generated kit SKU) to it, as an integrator would
//! write it from the catalog, and is validated against the item master read back from QAD.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::TryStreamExt;
use ml_connector::adobe::AdobeSource;
use ml_connector::core::{
    AuditEvent, AuditQuery, Capabilities, DeadLetterQuery, JobState, Receipt,
};
use ml_connector::http::RetryPolicy;
use ml_connector::mapping::{DefaultMapper, MapContext, MapSettings, SkuCrosswalk};
use ml_connector::model::{Decimal, DocumentKind, ErpDocument, JobId, RecordKey, SystemId};
use ml_connector::pipeline::{Flow, Pipeline, ReplayOptions, ReplayScope, Shutdown, Step};
use ml_connector::qad::QadSink;
use ml_connector::sandbox::adobe::{AdobeSim, AdobeSimConfig};
use ml_connector::sandbox::qad::QadSimulator;
use ml_connector::store::{SqliteStore, Stores};
use ml_connector::{ErpSink, Result};
use serde_json::Value;
use tokio::sync::Notify;

// ---------------------------------------------------------------- the two systems

fn fast_retry() -> RetryPolicy {
    RetryPolicy::with_attempts(4).delays(Duration::from_millis(10), Duration::from_millis(100))
}

async fn adobe(orders: usize) -> AdobeSim {
    AdobeSim::start(AdobeSimConfig {
        seed: 11,
        customers: Some(25),
        companies: Some(3),
        ..AdobeSimConfig::with_orders(orders)
    })
    .await
    .unwrap()
}

fn adobe_source(sim: &AdobeSim) -> Arc<AdobeSource> {
    let mut cfg = sim.paas_config("default").page_size(50).retry(fast_retry());
    for (id, code) in sim.stores() {
        cfg = cfg.store_code_for(id, code);
    }
    Arc::new(AdobeSource::new(cfg.build().unwrap()).unwrap())
}

/// The QAD item code of Adobe product `id`.
fn item_code(id: i64) -> String {
    format!("10-{id:04}")
}

/// The crosswalk an integrator writes from the catalog: every product SKU to its QAD item, and
/// the generated SKU of a fixed-price bundle's kit line (`{bundle}-{child}-{child}-…`) to the
/// bundle's item.
fn catalog_crosswalk(sim: &AdobeSim) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for p in sim.products() {
        let id = p["id"].as_i64().unwrap();
        let sku = p["sku"].as_str().unwrap().to_string();
        if p["type_id"] == "bundle" {
            let links: Vec<&str> =
                p["extension_attributes"]["bundle_product_options"][0]["product_links"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["sku"].as_str().unwrap())
                    .collect();
            out.insert(format!("{sku}-{}", links.join("-")), item_code(id));
        }
        out.insert(sku, item_code(id));
    }
    out
}

async fn qad(adobe: &AdobeSim) -> QadSimulator {
    let sim = QadSimulator::start().await.unwrap();
    for p in adobe.products() {
        sim.seed_item(
            &item_code(p["id"].as_i64().unwrap()),
            p["name"].as_str().unwrap(),
            "EA",
            Decimal::new(1000, 2),
        );
    }
    sim
}

fn qad_sink(sim: &QadSimulator) -> Arc<QadSink> {
    Arc::new(
        QadSink::with_retry(sim.config_builder().build().unwrap(), fast_retry())
            .unwrap()
            .with_settle_delay(Duration::from_millis(20)),
    )
}

/// The mapping context: `entries` as the crosswalk, validated against the item master read
/// from QAD; the default site.
async fn map_context(sink: &QadSink, entries: &BTreeMap<String, String>) -> MapContext {
    let items: Vec<String> = sink.items().map_ok(|i| i.code).try_collect().await.unwrap();
    let mut skus = SkuCrosswalk::new("skus.csv");
    for (sku, item) in entries {
        skus = skus.with_entry(sku.clone(), item.clone());
    }
    MapContext::builder()
        .skus(skus.with_item_master(items))
        .settings(MapSettings {
            default_site: Some("10-100".into()),
            ..MapSettings::default()
        })
        .build()
        .unwrap()
}

fn sqlite(db: &Path) -> Stores {
    Stores::from_one("sqlite", Arc::new(SqliteStore::open(db).unwrap()))
}

fn pipeline(
    source: &Arc<AdobeSource>,
    sink: Arc<dyn ErpSink>,
    ctx: MapContext,
    stores: &Stores,
) -> ml_connector::pipeline::PipelineBuilder {
    Pipeline::builder()
        .source(source.clone())
        .mapper(Arc::new(DefaultMapper))
        .context(ctx)
        .sink(sink)
        .stores(stores)
        .unwrap()
        .concurrency(4)
        .retry(fast_retry())
}

/// Masters first, then orders, then invoices, then credit memos (a credit note for an online
/// refund reverses its receivable, which must be in QAD first).
fn adobe_flow(p: &Pipeline) -> Flow {
    Flow::new("adobe-to-qad")
        .stage(
            "masters",
            [Step::sync(p, "customers"), Step::sync(p, "companies")],
        )
        .stage("orders", [Step::sync(p, "orders")])
        .stage("invoices", [Step::sync(p, "invoices")])
        .stage("credit memos", [Step::sync(p, "creditmemos")])
}

// ---------------------------------------------------------------- what the store holds

fn s(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn amount(v: &Value) -> Decimal {
    match v {
        Value::Number(n) => n.to_string().parse().unwrap(),
        Value::String(t) => t.parse().unwrap(),
        other => panic!("not an amount: {other}"),
    }
}

fn store_code(store_id: i64) -> &'static str {
    if store_id == 2 { "fr" } else { "default" }
}

/// External ids of the orders that become sales orders (every state but `canceled`; the store
/// has no `pending_payment` orders), keyed to their line SKUs.
fn expected_orders(sim: &AdobeSim) -> BTreeMap<String, Vec<String>> {
    sim.orders()
        .iter()
        .filter(|o| o["state"] != "canceled")
        .map(|o| {
            let ext = format!(
                "adobe:{}:order:{}",
                store_code(o["store_id"].as_i64().unwrap()),
                s(o, "increment_id")
            );
            let skus = o["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| s(i, "sku"))
                .collect();
            (ext, skus)
        })
        .collect()
}

/// External ids of the captured (paid, state 2) invoices.
fn expected_invoices(sim: &AdobeSim) -> BTreeSet<String> {
    sim.invoices()
        .iter()
        .filter(|i| i["state"] == 2)
        .map(|i| {
            format!(
                "adobe:{}:invoice:{}",
                store_code(i["store_id"].as_i64().unwrap()),
                s(i, "entity_id")
            )
        })
        .collect()
}

fn expected_credit_memos(sim: &AdobeSim) -> BTreeSet<String> {
    sim.creditmemos()
        .iter()
        .map(|c| {
            format!(
                "adobe:{}:creditmemo:{}",
                store_code(c["store_id"].as_i64().unwrap()),
                s(c, "entity_id")
            )
        })
        .collect()
}

/// Documents of `kind` in QAD by external id (sales orders keep it in `remarks`).
fn held(qad: &QadSimulator, kind: DocumentKind, field: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for d in qad.documents(kind) {
        *out.entry(s(&d, field)).or_insert(0) += 1;
    }
    out
}

fn all_once(held: &BTreeMap<String, usize>) {
    let doubles: Vec<_> = held.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubles.is_empty(), "double-booked: {doubles:?}");
}

async fn trail(p: &Pipeline, key: &RecordKey) -> Vec<AuditEvent> {
    p.audit()
        .query(&AuditQuery {
            record: Some(key.clone()),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
}

fn stages(t: &[AuditEvent]) -> Vec<&'static str> {
    t.iter().map(|e| e.stage.as_str()).collect()
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_invoices_and_credit_memos_land_in_qad_once() {
    let started = Instant::now();
    let adobe = adobe(120).await;
    let qad = qad(&adobe).await;
    let dir = tempfile::tempdir().unwrap();
    let stores = sqlite(&dir.path().join("ml.db"));
    let sink = qad_sink(&qad);
    let ctx = map_context(&sink, &catalog_crosswalk(&adobe)).await;
    let p = pipeline(&adobe_source(&adobe), sink, ctx, &stores)
        .build()
        .unwrap();

    let report = adobe_flow(&p).run(&Shutdown::never()).await;
    for r in &report.runs {
        eprintln!("  {r}");
    }
    assert_eq!(report.partial, None, "{report:?}");
    let letters = p
        .audit()
        .dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap();
    assert!(
        letters.is_empty(),
        "{:?}",
        letters.iter().map(|l| &l.error).collect::<Vec<_>>()
    );

    // Sales orders: every order but the cancelled ones, once, with its lines.
    let orders = expected_orders(&adobe);
    let so = held(&qad, DocumentKind::SalesOrder, "remarks");
    all_once(&so);
    assert_eq!(
        so.keys().cloned().collect::<BTreeSet<_>>(),
        orders.keys().cloned().collect::<BTreeSet<_>>()
    );
    let crosswalk = catalog_crosswalk(&adobe);
    let customers: BTreeSet<String> = qad
        .documents(DocumentKind::Customer)
        .iter()
        .map(|c| s(c, "customerCode"))
        .collect();
    let items: BTreeSet<String> = qad
        .documents(DocumentKind::Item)
        .iter()
        .map(|i| s(i, "itemCode"))
        .collect();
    for o in qad.documents(DocumentKind::SalesOrder) {
        assert!(customers.contains(&s(&o, "soldToCustomerCode")), "{o}");
        let lines = o["lines"].as_array().unwrap();
        assert!(!lines.is_empty(), "{o}");
        let skus = &orders[&s(&o, "remarks")];
        for l in lines {
            let item = s(l, "itemCode");
            assert!(items.contains(&item), "{item}");
            assert!(
                skus.iter().any(|sku| crosswalk.get(sku) == Some(&item)),
                "line item {item} is not one of the order's SKUs {skus:?}"
            );
        }
    }
    // Captured invoices → receivables; credit memos → credit notes; each once.
    let reg = ml_connector::qad::Registry::default();
    let receivables = held(
        &qad,
        DocumentKind::Receivable,
        &reg.receivable.reference_field,
    );
    all_once(&receivables);
    assert_eq!(
        receivables.keys().cloned().collect::<BTreeSet<_>>(),
        expected_invoices(&adobe)
    );
    let notes = held(
        &qad,
        DocumentKind::CreditNote,
        &reg.credit_note.reference_field,
    );
    all_once(&notes);
    assert_eq!(
        notes.keys().cloned().collect::<BTreeSet<_>>(),
        expected_credit_memos(&adobe)
    );
    assert!(!notes.is_empty(), "the data set has credit memos");
    // Amounts: a receivable debits the invoice's grand total, a credit note credits the memo's,
    // in the order currency.
    let by_ref = |kind, field: &str| -> HashMap<String, Value> {
        qad.documents(kind)
            .into_iter()
            .map(|d| (s(&d, field), d))
            .collect()
    };
    let recv = by_ref(DocumentKind::Receivable, &reg.receivable.reference_field);
    for i in adobe.invoices().iter().filter(|i| i["state"] == 2) {
        let ext = format!(
            "adobe:{}:invoice:{}",
            store_code(i["store_id"].as_i64().unwrap()),
            s(i, "entity_id")
        );
        let r = &recv[&ext];
        assert_eq!(
            amount(&r["originalDebitTC"]),
            amount(&i["grand_total"]),
            "{ext}"
        );
        assert_eq!(s(r, "currencyCode"), s(i, "order_currency_code"), "{ext}");
        assert!(customers.contains(&s(r, "customerCode")), "{r}");
    }
    let cn = by_ref(DocumentKind::CreditNote, &reg.credit_note.reference_field);
    for c in adobe.creditmemos() {
        let ext = format!(
            "adobe:{}:creditmemo:{}",
            store_code(c["store_id"].as_i64().unwrap()),
            s(&c, "entity_id")
        );
        assert_eq!(
            amount(&cn[&ext]["originalCreditTC"]),
            amount(&c["grand_total"]),
            "{ext}"
        );
    }
    assert_eq!(report.failed(), 0);

    // A second run: nothing new in the store, nothing posted.
    let writes = qad.write_requests().len();
    let again = adobe_flow(&p).run(&Shutdown::never()).await;
    assert_eq!(again.posted(), 0, "{again:?}");
    assert_eq!(qad.write_requests().len(), writes);
    eprintln!("e2e adobe→qad: {:.1?}", started.elapsed());
}

/// A sink that posts one chosen sales order through the real QAD sink and then never answers:
/// QAD has the order, the pipeline never learns it (the process dies before completing).
struct DiesAfterPosting {
    inner: Arc<QadSink>,
    victim: String,
    posted: Notify,
}

#[async_trait]
impl ErpSink for DiesAfterPosting {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn connect(&self) -> Result<Capabilities> {
        self.inner.connect().await
    }

    async fn find(&self, doc: &ErpDocument) -> Result<Option<Receipt>> {
        self.inner.find(doc).await
    }

    async fn post(&self, doc: &ErpDocument) -> Result<Receipt> {
        let receipt = self.inner.post(doc).await?;
        if doc.external_id() == self.victim {
            self.posted.notify_one();
            std::future::pending::<()>().await;
        }
        Ok(receipt)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_post_and_complete_leaves_one_document_and_a_complete_trail() {
    let adobe = adobe(40).await;
    let qad = qad(&adobe).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ml.db");
    let source = adobe_source(&adobe);
    let crosswalk = catalog_crosswalk(&adobe);

    // The victim: the tenth order of a registered customer that becomes a sales order (its
    // only document; a guest's order would post the guest's customer master first).
    let victim_raw = adobe
        .orders()
        .into_iter()
        .filter(|o| o["state"] != "canceled" && o["customer_is_guest"] == 0)
        .nth(9)
        .unwrap();
    let victim_ext = format!(
        "adobe:{}:order:{}",
        store_code(victim_raw["store_id"].as_i64().unwrap()),
        s(&victim_raw, "increment_id")
    );
    let victim_key = RecordKey::new(
        SystemId::Adobe,
        "orders",
        format!(
            "{}:{}",
            s(&victim_raw, "store_id"),
            s(&victim_raw, "increment_id")
        ),
    );
    let victim_job = JobId::new(&victim_key, DocumentKind::SalesOrder);

    // Process 1: masters, then orders one at a time, dying on the victim.
    let first_run;
    {
        let stores = sqlite(&db);
        let real = qad_sink(&qad);
        let ctx = map_context(&real, &crosswalk).await;
        let masters = pipeline(&source, real.clone(), ctx.clone(), &stores)
            .build()
            .unwrap();
        let r = Flow::new("masters")
            .stage(
                "masters",
                [
                    Step::sync(&masters, "customers"),
                    Step::sync(&masters, "companies"),
                ],
            )
            .run(&Shutdown::never())
            .await;
        assert_eq!(r.partial, None);
        let dying = Arc::new(DiesAfterPosting {
            inner: real,
            victim: victim_ext.clone(),
            posted: Notify::new(),
        });
        let p = pipeline(&source, dying.clone(), ctx, &stores)
            .concurrency(1)
            .lease(Duration::from_secs(1))
            .build()
            .unwrap();
        let posted = dying.posted.notified();
        let worker = tokio::spawn({
            let p = p.clone();
            async move { p.run("orders").await }
        });
        tokio::time::timeout(Duration::from_secs(30), posted)
            .await
            .expect("the victim reaches QAD");
        worker.abort(); // the crash
        assert!(worker.await.unwrap_err().is_cancelled());
        assert_eq!(
            qad.count_key(DocumentKind::SalesOrder, &s(&victim_raw, "increment_id")),
            1
        );
        let t = trail(&p, &victim_key).await;
        assert_eq!(stages(&t), ["fetched", "mapped"], "died mid-post");
        first_run = t[0].run.clone();
        assert!(matches!(
            p.dedup().state(&victim_job).await.unwrap(),
            Some(JobState::Leased(_))
        ));
    }

    // Process 2 on the same SQLite file, after the dead worker's lease ran out.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let stores = sqlite(&db);
    let sink = qad_sink(&qad);
    let ctx = map_context(&sink, &crosswalk).await;
    let p = pipeline(&source, sink, ctx, &stores).build().unwrap();
    let r = p.run("orders").await.unwrap();
    eprintln!("  {r}");
    assert!(r.is_complete(), "{r}");
    assert_eq!(r.failed, 0, "{r}");

    // One document for the victim, every order once.
    let so = held(&qad, DocumentKind::SalesOrder, "remarks");
    all_once(&so);
    assert_eq!(so.get(&victim_ext), Some(&1));
    assert_eq!(
        so.keys().cloned().collect::<BTreeSet<_>>(),
        expected_orders(&adobe).keys().cloned().collect()
    );
    let number = match p.dedup().state(&victim_job).await.unwrap() {
        Some(JobState::Done(receipt)) => receipt.erp_key,
        other => panic!("the victim's job should be done, is {other:?}"),
    };
    assert_eq!(
        qad.order(&number).map(|o| s(&o, "remarks")),
        Some(victim_ext.clone())
    );

    // The complete trail: fetched and mapped by the dead process; fetched, mapped and found in
    // QAD (not posted again) by the new one.
    let t = trail(&p, &victim_key).await;
    assert_eq!(
        stages(&t),
        ["fetched", "mapped", "fetched", "mapped", "skipped"]
    );
    assert_eq!(t[0].run, first_run);
    assert_eq!(t[4].run, r.run);
    assert_eq!(t[4].detail["reason"], "found_in_erp");
    assert_eq!(t[4].detail["erp_key"], Value::from(number.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sku_holds_its_orders_until_the_crosswalk_is_fixed_then_replay_posts_once() {
    let adobe = adobe(60).await;
    let qad = qad(&adobe).await;
    let dir = tempfile::tempdir().unwrap();
    let stores = sqlite(&dir.path().join("ml.db"));
    let source = adobe_source(&adobe);
    let full = catalog_crosswalk(&adobe);
    let orders = expected_orders(&adobe);

    // The SKU sold in the most orders is missing from the crosswalk.
    let mut sold: HashMap<&str, usize> = HashMap::new();
    for skus in orders.values() {
        for sku in skus.iter().collect::<BTreeSet<_>>() {
            if full.contains_key(sku) {
                *sold.entry(sku.as_str()).or_default() += 1;
            }
        }
    }
    let (missing, _) = sold
        .iter()
        .filter(|(sku, _)| sku.starts_with("SIM-S"))
        .max_by_key(|(sku, n)| (**n, std::cmp::Reverse(**sku)))
        .map(|(s, n)| (s.to_string(), *n))
        .unwrap();
    let mut broken = full.clone();
    broken.remove(&missing);
    let holds: BTreeSet<String> = orders
        .iter()
        .filter(|(_, skus)| skus.contains(&missing))
        .map(|(ext, _)| ext.clone())
        .collect();
    assert!(!holds.is_empty());
    // A guest order maps to the guest's customer master and the order: two documents.
    let guests: BTreeSet<String> = adobe
        .orders()
        .iter()
        .filter(|o| o["customer_is_guest"] == 1)
        .map(|o| {
            format!(
                "adobe:{}:order:{}",
                store_code(o["store_id"].as_i64().unwrap()),
                s(o, "increment_id")
            )
        })
        .collect();
    let held_docs = (holds.len() + holds.intersection(&guests).count()) as u64;

    let sink = qad_sink(&qad);
    let ctx = map_context(&sink, &broken).await;
    let p = pipeline(&source, sink.clone(), ctx, &stores)
        .build()
        .unwrap();
    let flow = Flow::new("orders")
        .stage(
            "masters",
            [Step::sync(&p, "customers"), Step::sync(&p, "companies")],
        )
        .stage("orders", [Step::sync(&p, "orders")]);
    let report = flow.run(&Shutdown::never()).await;
    assert_eq!(report.partial, None, "{report:?}");

    // Held: every order selling the SKU, none of them in QAD, each letter naming the SKU.
    let letters = p
        .audit()
        .dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap();
    assert_eq!(letters.len(), holds.len());
    for l in &letters {
        assert!(l.error.contains(&format!("\"{missing}\"")), "{}", l.error);
        assert!(l.error.contains("skus.csv"), "{}", l.error);
        assert!(!l.record.raw.is_null(), "the raw order is kept for replay");
    }
    let so = held(&qad, DocumentKind::SalesOrder, "remarks");
    all_once(&so);
    for ext in &holds {
        assert!(!so.contains_key(ext), "{ext} was posted without its SKU");
    }
    assert_eq!(so.len(), orders.len() - holds.len());

    // The fix: the SKU goes into the crosswalk; replay posts each held order once.
    p.set_map_context(map_context(&sink, &full).await);
    let fixed = p
        .replay(ReplayScope::Unresolved, ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!(fixed.resolved, holds.len(), "{fixed:?}");
    assert_eq!(fixed.report.posted, held_docs);
    let so = held(&qad, DocumentKind::SalesOrder, "remarks");
    all_once(&so);
    assert_eq!(
        so.keys().cloned().collect::<BTreeSet<_>>(),
        orders.keys().cloned().collect()
    );
    for o in qad.documents(DocumentKind::SalesOrder) {
        if holds.contains(&s(&o, "remarks")) {
            assert!(
                o["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| s(l, "itemCode") == full[&missing]),
                "{o}"
            );
        }
    }

    // Replaying again posts nothing: no letter is left, and forcing the resolved ones through
    // finds every job done.
    let writes = qad.write_requests().len();
    let again = p
        .replay(ReplayScope::Unresolved, ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!((again.letters, again.report.posted), (0, 0));
    let forced = p
        .replay(
            ReplayScope::Unresolved,
            ReplayOptions {
                include_resolved: true,
                ..ReplayOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(forced.letters, holds.len());
    assert_eq!(forced.report.posted, 0);
    assert_eq!(forced.report.skipped, held_docs);
    assert_eq!(qad.write_requests().len(), writes, "nothing written to QAD");
}
