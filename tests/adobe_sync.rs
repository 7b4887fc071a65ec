//! The Adobe Commerce source against the simulator: incremental sync while the store keeps
//! changing, restart from the committed cursor, the pre-2.4 paging quirk, both deployment
//! models, store scoping, faults, fetch by id and line reconciliation.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use ml_connector::SourceSystem;
use ml_connector::adobe::convert;
use ml_connector::adobe::{AdobeClient, AdobeSource, Condition, Direction, SearchCriteria};
use ml_connector::core::Cursor;
use ml_connector::http::RetryPolicy;
use ml_connector::mapping::check_lines;
use ml_connector::model::{RecordBody, RefundMethod};
use ml_connector::sandbox::adobe::{AdobeSim, AdobeSimConfig, Fault};

/// What a pipeline would have acknowledged: (source id, version) → times delivered.
#[derive(Default)]
struct Acked {
    seen: HashMap<(String, String), u32>,
}

impl Acked {
    fn ack(&mut self, page: &ml_connector::core::Page) {
        for r in &page.records {
            *self
                .seen
                .entry((r.key.source_id.clone(), r.version.clone()))
                .or_default() += 1;
        }
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy::with_attempts(4).delays(Duration::from_millis(10), Duration::from_millis(50))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_orders_sync_while_the_store_changes_and_resume_after_restart() {
    let started = Instant::now();
    let sim = AdobeSim::start(AdobeSimConfig {
        seed: 7,
        ..AdobeSimConfig::with_orders(5_000)
    })
    .await
    .unwrap();
    assert_eq!(sim.order_count(), 5_000);
    let lag = Duration::from_secs(2);
    let source = || {
        AdobeSource::new(
            sim.paas_config("default")
                .page_size(300)
                .settle_lag(lag)
                .retry(fast_retry())
                .build()
                .unwrap(),
        )
        .unwrap()
    };
    sim.start_mutator(Duration::from_millis(10), 1);

    let mut acked = Acked::default();
    let mut committed: Option<Cursor> = None;

    // Run 1: six pages acknowledged and committed, a seventh received but not acknowledged,
    // then the process "crashes".
    {
        let src = source();
        let mut pages = src.changes("orders", None);
        for _ in 0..6 {
            let page = pages.try_next().await.unwrap().expect("a page");
            acked.ack(&page);
            committed = page.cursor.clone();
        }
        let unacked = pages.try_next().await.unwrap().expect("a seventh page");
        assert!(!unacked.records.is_empty());
    }
    let after_run1 = acked.seen.len();
    assert!(after_run1 >= 1_800, "{after_run1}");

    // Run 2: a new source (restart) from the committed cursor, to the end.
    {
        let src = source();
        let mut pages = src.changes("orders", committed.clone());
        while let Some(page) = pages.try_next().await.unwrap() {
            acked.ack(&page);
            committed = page.cursor.clone();
        }
    }

    // The store settles; run 3 picks up every change made meanwhile.
    sim.stop_mutator();
    tokio::time::sleep(lag + Duration::from_millis(1_100)).await;
    {
        let src = source();
        let mut pages = src.changes("orders", committed.clone());
        while let Some(page) = pages.try_next().await.unwrap() {
            acked.ack(&page);
            committed = page.cursor.clone();
        }
    }

    let twice: Vec<_> = acked.seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "delivered twice: {:?}",
        &twice[..twice.len().min(5)]
    );
    let versions = sim.order_versions();
    assert_eq!(versions.len(), 5_000);
    let ids: HashSet<&String> = acked.seen.keys().map(|(id, _)| id).collect();
    for (id, version) in &versions {
        assert!(ids.contains(id), "order {id} never delivered");
        assert!(
            acked.seen.contains_key(&(id.clone(), version.clone())),
            "order {id} not delivered at its final version {version}"
        );
    }
    let mutated = acked.seen.len() - versions.len();
    assert!(mutated > 0, "the store changed while the sync ran");
    // A fourth run has nothing new.
    let src = source();
    let rest: Vec<_> = src
        .changes("orders", committed)
        .try_collect()
        .await
        .unwrap();
    assert!(
        rest.is_empty(),
        "{} pages after the store settled",
        rest.len()
    );
    eprintln!(
        "5,000-order sync: {} deliveries ({} extra versions) in {:?}",
        acked.seen.len(),
        mutated,
        started.elapsed()
    );
}

#[tokio::test]
async fn pre_2_4_quirk_mode_terminates_with_the_right_count() {
    let sim = AdobeSim::start(AdobeSimConfig::with_orders(900).legacy_pre_2_4())
        .await
        .unwrap();
    let client = AdobeClient::new(sim.paas_config("default").build().unwrap()).unwrap();
    let criteria = SearchCriteria::new(300).sort("entity_id", Direction::Asc);

    // total_count guard: 3 pages, no 4th request.
    sim.clear_requests();
    let pages: Vec<_> = client
        .search_pages("orders", "V1/orders", criteria.clone())
        .try_collect()
        .await
        .unwrap();
    let items: Vec<_> = pages.iter().flat_map(|p| p.items.clone()).collect();
    assert_eq!(items.len(), 900);
    assert_eq!(sim.requests().len(), 3);

    // The store really repeats the last page past the end.
    let past = client
        .search("orders", "V1/orders", &criteria.clone().page(7))
        .await
        .unwrap();
    assert_eq!(past.items.len(), 300);
    assert_eq!(past.items[0]["entity_id"], 601);

    // Without total_count (a `fields` projection), the repeated page stops the stream.
    sim.clear_requests();
    let pages: Vec<_> = client
        .search_pages(
            "orders",
            "V1/orders",
            criteria.clone().fields("items[entity_id,increment_id]"),
        )
        .try_collect()
        .await
        .unwrap();
    let ids: HashSet<i64> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|v| v["entity_id"].as_i64().unwrap()))
        .collect();
    assert_eq!(ids.len(), 900);
    assert_eq!(pages.iter().map(|p| p.items.len()).sum::<usize>(), 900);
    assert_eq!(
        sim.requests().len(),
        4,
        "the 4th page repeated the 3rd and stopped paging"
    );
    assert!(
        pages[0].items[0].get("store_id").is_none(),
        "projection applied"
    );

    // The incremental loop never pages by offset, so the quirk cannot loop it either.
    let src = AdobeSource::new(
        sim.paas_config("default")
            .page_size(250)
            .settle_lag(Duration::ZERO)
            .build()
            .unwrap(),
    )
    .unwrap();
    let n: usize = src
        .changes("orders", None)
        .map_ok(|p| p.records.len())
        .try_fold(0, |a, b| async move { Ok(a + b) })
        .await
        .unwrap();
    assert_eq!(n, 900);
}

#[tokio::test]
async fn every_stream_reads_and_reconciles_and_fetch_finds_records() {
    let sim = AdobeSim::start(AdobeSimConfig::with_orders(400))
        .await
        .unwrap();
    let src = AdobeSource::new(
        sim.paas_config("default")
            .page_size(100)
            .settle_lag(Duration::ZERO)
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut counts = HashMap::new();
    let mut guests = 0;
    let mut b2b = 0;
    let mut edits = 0;
    let mut base_currency_orders = 0;
    let mut online = 0;
    let mut offline = 0;
    let mut memos_per_order: HashMap<String, usize> = HashMap::new();
    let mut invoices_per_order: HashMap<String, usize> = HashMap::new();
    for stream in src.streams() {
        let pages: Vec<_> = src.changes(&stream, None).try_collect().await.unwrap();
        for r in pages.iter().flat_map(|p| &p.records) {
            let id_field = if matches!(stream.as_str(), "customers" | "companies" | "products") {
                "id"
            } else {
                "entity_id"
            };
            assert!(!r.raw[id_field].is_null(), "raw JSON kept as received");
            match &r.body {
                RecordBody::Order(o) => {
                    convert::reconcile(&r.key.to_string(), &o.lines, &o.totals).unwrap();
                    // The default mappers' guard accepts the adapter's lines.
                    check_lines(&r.key, "order", &o.lines, &o.totals).unwrap();
                    if let Some(b) = &o.base_totals {
                        base_currency_orders += 1;
                        // Base-currency totals are self-consistent and not mixed with order
                        // currency amounts.
                        assert_eq!(b.grand_total, b.subtotal - b.discount + b.tax + b.shipping);
                        assert_ne!(b.subtotal, o.totals.subtotal);
                        assert_eq!(b.currency.as_str(), "USD");
                        assert_eq!(o.totals.currency.as_str(), "EUR");
                    }
                    guests += usize::from(o.party.is_guest);
                    b2b += usize::from(o.party.company.is_some());
                    edits += usize::from(o.replaces.is_some());
                    assert_eq!(
                        r.key.source_id,
                        format!("{}:{}", r.raw["store_id"], o.number)
                    );
                    assert_eq!(r.version, r.raw["updated_at"].as_str().unwrap());
                }
                RecordBody::Invoice(i) => {
                    convert::reconcile(&r.key.to_string(), &i.lines, &i.totals).unwrap();
                    check_lines(&r.key, "invoice", &i.lines, &i.totals).unwrap();
                    assert!(i.order_number.is_some(), "enriched with its order");
                    *invoices_per_order
                        .entry(i.order_entity_id.clone())
                        .or_default() += 1;
                }
                RecordBody::CreditMemo(c) => {
                    convert::reconcile(&r.key.to_string(), &c.lines, &c.totals).unwrap();
                    check_lines(&r.key, "credit memo", &c.lines, &c.totals).unwrap();
                    match c.method {
                        RefundMethod::Online => {
                            online += 1;
                            assert!(c.invoice_entity_id.is_some());
                        }
                        RefundMethod::Offline => offline += 1,
                    }
                    *memos_per_order
                        .entry(c.order_entity_id.clone())
                        .or_default() += 1;
                }
                RecordBody::Company(c) => assert!(!c.name.is_empty()),
                _ => {}
            }
        }
        counts.insert(
            stream.clone(),
            pages.iter().map(|p| p.records.len()).sum::<usize>(),
        );
    }
    assert_eq!(counts["orders"], sim.order_count());
    assert_eq!(counts["invoices"], sim.invoices().len());
    assert_eq!(counts["creditmemos"], sim.creditmemos().len());
    assert_eq!(counts["customers"], sim.customers().len());
    assert_eq!(counts["companies"], sim.companies().len());
    assert_eq!(counts["products"], sim.products().len());
    assert!(guests > 0 && b2b > 0 && edits > 0 && base_currency_orders > 0);
    assert!(
        online > 0 && offline > 0,
        "online {online} offline {offline}"
    );
    assert!(
        memos_per_order.values().any(|n| *n > 1),
        "several credit memos per order"
    );
    assert!(
        invoices_per_order.values().any(|n| *n > 1),
        "partial invoices"
    );

    // fetch by source id, for every stream.
    let o = sim.order(5).unwrap();
    let id = format!("{}:{}", o["store_id"], o["increment_id"].as_str().unwrap());
    let rec = src.fetch("orders", &id).await.unwrap().unwrap();
    assert_eq!(rec.raw["entity_id"], 5);
    assert!(src.fetch("orders", "1:999999999").await.unwrap().is_none());
    assert!(src.fetch("orders", "bogus").await.is_err());
    let inv = &sim.invoices()[0];
    let rec = src
        .fetch("invoices", &inv["entity_id"].to_string())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(rec.body, RecordBody::Invoice(_)));
    let cm = &sim.creditmemos()[0];
    assert!(
        src.fetch("creditmemos", &cm["entity_id"].to_string())
            .await
            .unwrap()
            .is_some()
    );
    assert!(src.fetch("customers", "3").await.unwrap().is_some());
    assert!(src.fetch("companies", "1").await.unwrap().is_some());
    assert!(src.fetch("invoices", "987654").await.unwrap().is_none());
    let special = src
        .fetch("products", "SIM-SPECIAL A+B~Ü")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(special.key.source_id, "SIM-SPECIAL A+B~Ü");
    assert!(src.fetch_order_by_entity_id(7).await.unwrap().is_some());
}

#[tokio::test]
async fn edited_orders_link_to_the_order_they_replace() {
    let sim = AdobeSim::start(AdobeSimConfig::with_orders(600))
        .await
        .unwrap();
    let src = AdobeSource::new(
        sim.paas_config("default")
            .settle_lag(Duration::ZERO)
            .build()
            .unwrap(),
    )
    .unwrap();
    let pages: Vec<_> = src.changes("orders", None).try_collect().await.unwrap();
    let records: Vec<_> = pages.into_iter().flat_map(|p| p.records).collect();
    let by_number: HashMap<String, &ml_connector::model::Order> = records
        .iter()
        .filter_map(|r| match &r.body {
            RecordBody::Order(o) => Some((o.number.clone(), o)),
            _ => None,
        })
        .collect();
    let edited: Vec<_> = by_number
        .values()
        .filter(|o| o.replaces.is_some())
        .collect();
    assert!(!edited.is_empty());
    for o in edited {
        let replaced = by_number
            .get(o.replaces.as_deref().unwrap())
            .expect("the replaced order exists");
        assert_eq!(replaced.status, ml_connector::model::OrderStatus::Cancelled);
        assert!(
            o.number
                .starts_with(replaced.number.split('-').next().unwrap())
        );
    }
}

#[tokio::test]
async fn cloud_service_uses_a_cached_ims_token_and_the_store_header() {
    let sim = AdobeSim::start(AdobeSimConfig::with_orders(120))
        .await
        .unwrap();
    let src = AdobeSource::new(
        sim.cloud_config("fr")
            .page_size(20)
            .settle_lag(Duration::ZERO)
            .build()
            .unwrap(),
    )
    .unwrap();
    let pages: Vec<_> = src.changes("orders", None).try_collect().await.unwrap();
    assert_eq!(
        pages.iter().map(|p| p.records.len()).sum::<usize>(),
        120,
        "the Store header does not filter orders"
    );
    assert_eq!(sim.ims_tokens_issued(), 1, "one token for many calls");
    let rest: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.deployment == "cloud")
        .collect();
    assert!(rest.len() > 5);
    assert!(
        rest.iter()
            .all(|r| r.store.as_deref() == Some("fr") && r.status == 200)
    );
    assert!(
        rest.iter()
            .all(|r| r.path.starts_with("/sandbox-tenant/V1/"))
    );

    // Store-view values for products.
    let p = src.fetch("products", "SIM-S001").await.unwrap().unwrap();
    assert!(p.raw["name"].as_str().unwrap().ends_with("(FR)"));

    // An expired token is refreshed once, then the call succeeds.
    sim.expire_ims_tokens();
    assert!(src.fetch("customers", "2").await.unwrap().is_some());
    assert_eq!(sim.ims_tokens_issued(), 2);

    // Store scoping on PaaS is in the path.
    let paas = AdobeSource::new(
        sim.paas_config("fr")
            .settle_lag(Duration::ZERO)
            .build()
            .unwrap(),
    )
    .unwrap();
    sim.clear_requests();
    let p = paas.fetch("products", "SIM-S001").await.unwrap().unwrap();
    assert!(p.raw["name"].as_str().unwrap().ends_with("(FR)"));
    assert!(
        sim.requests()
            .iter()
            .all(|r| r.path.starts_with("/rest/fr/V1/"))
    );

    // A store code the store does not know.
    let bad = AdobeSource::new(sim.paas_config("xx").build().unwrap()).unwrap();
    let e = bad.fetch("customers", "1").await.unwrap_err();
    assert!(e.to_string().contains("store that was requested"), "{e}");

    // Wrong IMS secret: permanent auth error naming the setting.
    let mut ims = sim.ims_credentials();
    ims.client_secret = "wrong".to_string().into();
    let wrong = AdobeSource::new(
        ml_connector::adobe::AdobeConfig::cloud_service(sim.cloud_base_url(), ims)
            .build()
            .unwrap(),
    )
    .unwrap();
    let e = wrong.fetch("customers", "1").await.unwrap_err();
    assert!(
        matches!(
            e,
            ml_connector::Error::Auth {
                permanent: true,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("client_secret"), "{e}");
}

#[tokio::test]
async fn store_ids_restrict_sales_documents() {
    let sim = AdobeSim::start(AdobeSimConfig::with_orders(200))
        .await
        .unwrap();
    let src = AdobeSource::new(
        sim.paas_config("default")
            .store_ids([2])
            .store_code_for(2, "fr")
            .settle_lag(Duration::ZERO)
            .build()
            .unwrap(),
    )
    .unwrap();
    let recs: Vec<_> = src
        .changes("orders", None)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let recs: Vec<_> = recs.into_iter().flat_map(|p| p.records).collect();
    let expected = sim.orders().iter().filter(|o| o["store_id"] == 2).count();
    assert_eq!(recs.len(), expected);
    assert!(
        recs.iter()
            .all(|r| matches!(&r.body, RecordBody::Order(o) if o.channel.as_deref() == Some("fr")))
    );
}

#[tokio::test]
async fn faults_are_retried_through_the_kernel() {
    let sim = AdobeSim::start(AdobeSimConfig::with_orders(50))
        .await
        .unwrap();
    let src = AdobeSource::new(
        sim.paas_config("default")
            .settle_lag(Duration::ZERO)
            .retry(fast_retry())
            .build()
            .unwrap(),
    )
    .unwrap();
    sim.inject(Fault::ServerError(503), 1);
    sim.inject(Fault::Reset, 1);
    sim.inject(
        Fault::Throttle {
            retry_after: Duration::from_secs(1),
        },
        1,
    );
    let t = Instant::now();
    let pages: Vec<_> = src.changes("orders", None).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(|p| p.records.len()).sum::<usize>(), 50);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "Retry-After honoured"
    );
    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(&statuses[..4], &[503, 0, 429, 200]);

    // Latency.
    sim.inject(Fault::Latency(Duration::from_millis(150)), 1);
    let t = Instant::now();
    assert!(src.fetch("customers", "1").await.unwrap().is_some());
    assert!(t.elapsed() >= Duration::from_millis(150));

    // Faults beyond the attempt cap: the stream ends with an error naming the operation.
    sim.inject(Fault::ServerError(500), 10);
    let mut s = src.changes("orders", None);
    let e = s.next().await.unwrap().unwrap_err();
    assert!(e.to_string().contains("adobe.orders"), "{e}");
    assert!(e.is_retryable());
    assert!(s.next().await.is_none());
}

#[tokio::test]
async fn companies_are_swept_by_id_and_the_sweep_restarts_after_completion() {
    let sim = AdobeSim::start(AdobeSimConfig {
        companies: Some(25),
        ..AdobeSimConfig::with_orders(50)
    })
    .await
    .unwrap();
    let src = AdobeSource::new(sim.paas_config("default").page_size(10).build().unwrap()).unwrap();
    let pages: Vec<_> = src.changes("companies", None).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(|p| p.records.len()).sum::<usize>(), 25);
    let mid = pages[1].cursor.clone().unwrap();
    assert_eq!(mid.0["after_id"], 20);
    let last = pages.last().unwrap().cursor.clone().unwrap();
    assert_eq!(
        last.0["after_id"], 0,
        "a complete sweep starts over next time"
    );
    let resumed: Vec<_> = src
        .changes("companies", Some(mid))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(resumed.iter().map(|p| p.records.len()).sum::<usize>(), 5);
    assert!(pages[0].records[0].version.starts_with("sha256:"));
    // Unknown streams and foreign cursors are configuration errors.
    assert!(src.changes("refunds", None).next().await.unwrap().is_err());
    let foreign = Cursor(serde_json::json!({"lastUpdatedAfter": "x"}));
    assert!(
        src.changes("orders", Some(foreign))
            .next()
            .await
            .unwrap()
            .is_err()
    );
    let _ = Condition::Eq;
}

#[tokio::test]
async fn mutations_on_every_request_lose_nothing() {
    let sim = AdobeSim::start(AdobeSimConfig {
        seed: 11,
        ..AdobeSimConfig::with_orders(600)
    })
    .await
    .unwrap();
    sim.set_mutations_per_request(3);
    let lag = Duration::from_secs(1);
    let src = AdobeSource::new(
        sim.paas_config("default")
            .page_size(40)
            .settle_lag(lag)
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut acked = Acked::default();
    let mut cursor = None;
    let mut pages = src.changes("orders", None);
    while let Some(p) = pages.try_next().await.unwrap() {
        acked.ack(&p);
        cursor = p.cursor.clone();
    }
    drop(pages);
    sim.set_mutations_per_request(0);
    tokio::time::sleep(lag + Duration::from_millis(1_100)).await;
    let rest: Vec<_> = src.changes("orders", cursor).try_collect().await.unwrap();
    for p in &rest {
        acked.ack(p);
    }
    assert!(
        acked.seen.values().all(|n| *n == 1),
        "a version delivered twice"
    );
    for (id, v) in sim.order_versions() {
        assert!(
            acked.seen.contains_key(&(id.clone(), v.clone())),
            "{id} at {v} missing"
        );
    }
    assert!(acked.seen.len() > 600, "the store changed during the read");
}
