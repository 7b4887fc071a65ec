//! The Amazon source and listings sink against the SP-API simulator (feature `sandbox`), with the
//! published usage plans run on a time scale.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use ml_connector::amazon::source::{OrdersCursor, SettlementsCursor};
use ml_connector::amazon::{
    AmazonConfig, AmazonListingsSink, AmazonSource, LwaCredentials, OrdersApi, Region, SpApiClient,
};
use ml_connector::core::{Cursor, EntityAccess, Page};
use ml_connector::http::{BucketKey, RetryPolicy};
use ml_connector::model::{
    Currency, Decimal, DocumentKind, ErpDocument, ListingDoc, Money, OrderStatus, RecordBody,
    StockOwner,
};
use ml_connector::sandbox::amazon::{
    AmazonSim, AmazonSimConfig, Fault, SimInventory, SimListing, SimOrder, SimOrderStatus,
    SimReport,
};
use ml_connector::{ErpSink, Error, SourceSystem};
use serde_json::json;

const US: &str = "ATVPDKIKX0DER";
const SETTLEMENT_US: &str = include_str!("fixtures/amazon/settlement_v2_us.txt");
const SETTLEMENT_EU: &str = include_str!("fixtures/amazon/settlement_v2_eu_decimal_comma.txt");
const SETTLEMENT_UNBALANCED: &str = include_str!("fixtures/amazon/settlement_v2_unbalanced.txt");

fn sim_config(scale: f64) -> AmazonSimConfig {
    AmazonSimConfig {
        time_scale: scale,
        // Long enough not to expire during a test unless a test wants it to.
        token_lifetime: Duration::from_secs(30 * 86_400),
        ..AmazonSimConfig::default()
    }
}

fn config_for(sim: &AmazonSim) -> AmazonConfig {
    let s = sim.config();
    let creds = LwaCredentials::new(&s.client_id, &s.client_secret, &s.refresh_token)
        .with_token_url(sim.token_url());
    let mut cfg = AmazonConfig::new(&s.seller_id, Region::Na, vec![US.into()], creds);
    cfg.endpoint = Some(sim.base_url().to_string());
    cfg.time_scale = s.time_scale;
    cfg.retry =
        RetryPolicy::with_attempts(8).delays(Duration::from_millis(20), Duration::from_millis(400));
    cfg
}

fn source(cfg: AmazonConfig) -> AmazonSource {
    AmazonSource::new(cfg).unwrap()
}

/// Orders spread over the last `days` days (all older than the two-minute freshness limit).
fn backlog(n: u32, days: i64) -> Vec<SimOrder> {
    let start = Utc::now() - chrono::Duration::days(days);
    let step = chrono::Duration::seconds(days * 86_400 / i64::from(n + 1));
    (0..n)
        .map(|i| SimOrder::generate(i, start + step * i as i32, US, "USD"))
        .collect()
}

/// All pages of a run and the error that ended it, if any.
async fn drain(
    src: &AmazonSource,
    stream: &str,
    cursor: Option<Cursor>,
) -> (Vec<Page>, Option<Error>) {
    let mut pages = Vec::new();
    let mut s = src.changes(stream, cursor);
    while let Some(item) = s.next().await {
        match item {
            Ok(p) => pages.push(p),
            Err(e) => return (pages, Some(e)),
        }
    }
    (pages, None)
}

fn order_ids(pages: &[Page]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p.records.iter().map(|r| r.key.source_id.clone()))
        .collect()
}

/// Requests per second between the first request after the burst and the last.
fn paced_rate(sim: &AmazonSim, op: &str, burst: usize) -> f64 {
    let times: Vec<_> = sim
        .requests(op)
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.at)
        .collect();
    assert!(times.len() > burst + 10, "{op}: too few requests");
    let span = times[times.len() - 1].duration_since(times[burst]);
    (times.len() - 1 - burst) as f64 / span.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2000_order_backlog_drains_at_the_published_rate_without_429s() {
    let scale = 1500.0;
    let sim = AmazonSim::start(sim_config(scale)).await.unwrap();
    let orders = backlog(2000, 6);
    sim.upsert_orders(orders.clone());
    let mut cfg = config_for(&sim);
    cfg.orders.page_size = 20;
    let src = source(cfg);

    let (pages, err) = drain(&src, "orders", None).await;
    assert!(err.is_none(), "{err:?}");
    let ids = order_ids(&pages);
    assert_eq!(ids.len(), 2000);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 2000);

    let stats = sim.stats("searchOrders");
    assert!(stats.succeeded >= 100, "{stats:?}");
    assert_eq!(stats.throttled, 0, "no 429 at all: {stats:?}");
    let (rate, burst) = sim.limit("searchOrders").unwrap();
    assert_eq!((rate, burst), (0.0056, 20));
    let achieved = paced_rate(&sim, "searchOrders", burst as usize);
    let bucket = rate * scale;
    assert!(
        achieved >= 0.95 * bucket,
        "achieved {achieved:.2} rps < 95% of {bucket:.2}"
    );
    assert!(
        achieved <= 1.10 * bucket,
        "faster than the bucket: {achieved:.2}"
    );

    // Amounts arrive as decimals and match what the simulator holds.
    let by_id: BTreeMap<&str, &SimOrder> =
        orders.iter().map(|o| (o.order_id.as_str(), o)).collect();
    for rec in pages.iter().flat_map(|p| &p.records) {
        let RecordBody::Order(o) = &rec.body else {
            panic!("not an order")
        };
        let sim_order = by_id[o.number.as_str()];
        assert_eq!(o.totals.grand_total, sim_order.grand_total());
        assert_eq!(o.totals.subtotal, sim_order.subtotal());
        assert_eq!(o.status, OrderStatus::Open);
        assert_eq!(o.lines.len(), sim_order.items.len());
    }
    // The final cursor is the window's upper bound, with no half-read window.
    let last: OrdersCursor = pages
        .last()
        .unwrap()
        .cursor
        .as_ref()
        .unwrap()
        .to_value()
        .unwrap();
    assert!(last.pagination_token.is_none());
    assert!(last.last_updated_after <= Utc::now() - chrono::Duration::minutes(2));
    // Marketplace id, token and User-Agent on every call; never SigV4.
    for r in sim.requests("searchOrders") {
        assert!(
            r.query
                .iter()
                .any(|(k, v)| k == "marketplaceIds" && v == US)
        );
        assert!(r.had_access_token);
        assert!(
            r.user_agent
                .as_deref()
                .unwrap()
                .starts_with("ml-connector/")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_v0_fallback_paces_get_order_items_and_uses_an_rdt_for_addresses() {
    let scale = 100.0;
    let sim = AmazonSim::start(sim_config(scale)).await.unwrap();
    sim.upsert_orders(backlog(400, 3));
    let mut cfg = config_for(&sim);
    cfg.orders.api = OrdersApi::V0;
    cfg.orders.restricted_data = true;
    let src = source(cfg);

    let (pages, err) = drain(&src, "orders", None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(order_ids(&pages).len(), 400);
    for rec in pages.iter().flat_map(|p| &p.records) {
        let RecordBody::Order(o) = &rec.body else {
            panic!()
        };
        assert!(o.shipping_address.is_some(), "RDT gives the address");
        assert!(o.party.name.is_some(), "RDT gives the buyer");
        assert!(o.totals.grand_total > Decimal::ZERO);
    }
    // One RDT for the whole run, cached for its lifetime.
    assert_eq!(sim.stats("createRestrictedDataToken").requests, 1);
    assert_eq!(src.client().rdt_fetches(), 1);
    assert!(sim.requests("getOrders").iter().all(|r| r.used_rdt));
    assert!(sim.requests("getOrderItems").iter().all(|r| r.used_rdt));

    let items = sim.stats("getOrderItems");
    // (A connection dropped after the answer may repeat an idempotent GET: at least 400.)
    assert!(items.succeeded >= 400, "{items:?}");
    assert_eq!(items.throttled, 0, "{items:?}");
    assert_eq!(sim.stats("getOrders").throttled, 0);
    let (rate, burst) = sim.limit("getOrderItems").unwrap();
    let achieved = paced_rate(&sim, "getOrderItems", burst as usize);
    assert!(
        achieved >= 0.95 * rate * scale,
        "achieved {achieved:.1} rps < 95% of {:.1}",
        rate * scale
    );
}

#[tokio::test]
async fn without_restricted_data_v0_orders_carry_no_pii_and_no_rdt_is_requested() {
    let sim = AmazonSim::start(sim_config(1000.0)).await.unwrap();
    sim.upsert_orders(backlog(5, 1));
    let mut cfg = config_for(&sim);
    cfg.orders.api = OrdersApi::V0;
    let src = source(cfg);
    let (pages, err) = drain(&src, "orders", None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(order_ids(&pages).len(), 5);
    assert_eq!(sim.stats("createRestrictedDataToken").requests, 0);
    let RecordBody::Order(o) = &pages[0].records[0].body else {
        panic!()
    };
    assert!(o.shipping_address.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_429_storms_and_5xx_still_complete() {
    let sim = AmazonSim::start(sim_config(1500.0)).await.unwrap();
    sim.upsert_orders(backlog(400, 3));
    sim.inject_after("searchOrders", 3, Fault::Throttle, 4);
    sim.inject_after("searchOrders", 5, Fault::Throttle, 4);
    sim.inject_after("searchOrders", 2, Fault::Status(503), 2);
    let mut cfg = config_for(&sim);
    cfg.orders.page_size = 20;
    let src = source(cfg);
    let (pages, err) = drain(&src, "orders", None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(order_ids(&pages).iter().collect::<HashSet<_>>().len(), 400);
    let stats = sim.stats("searchOrders");
    assert_eq!(stats.throttled, 8, "{stats:?}");
    assert_eq!(stats.failed, 2, "{stats:?}");
    assert!(stats.succeeded >= 20, "{stats:?}");
    // Each 429 slowed the bucket down; successes recover it step by step.
    let key = BucketKey::new(src.client().bucket_account(), "searchOrders");
    let (quota, _factor) = src.client().http().limits().current(&key).unwrap();
    assert!((quota.rate - 0.0056 * 0.97).abs() < 1e-12, "{quota:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_out_of_retries_ends_partial_and_resumes_from_its_cursor() {
    let sim = AmazonSim::start(sim_config(1500.0)).await.unwrap();
    sim.upsert_orders(backlog(200, 2));
    sim.inject_after("searchOrders", 4, Fault::Throttle, 1000);
    let mut cfg = config_for(&sim);
    cfg.orders.page_size = 20;
    cfg.retry =
        RetryPolicy::with_attempts(3).delays(Duration::from_millis(10), Duration::from_millis(50));
    let src = source(cfg.clone());

    let (pages, err) = drain(&src, "orders", None).await;
    assert_eq!(
        pages.len(),
        4,
        "the pages read before the storm are yielded"
    );
    let err = err.expect("the run must not end as a silent success");
    assert!(matches!(err, Error::RetriesExhausted { .. }), "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("searchOrders"), "{err}");
    let cursor = pages.last().unwrap().cursor.clone().unwrap();
    let c: OrdersCursor = cursor.to_value().unwrap();
    assert!(
        c.pagination_token.is_some(),
        "the cursor keeps the half-read window"
    );

    sim.clear_faults("searchOrders");
    let src2 = source(cfg);
    let (rest, err) = drain(&src2, "orders", Some(cursor)).await;
    assert!(err.is_none(), "{err:?}");
    let mut all: HashSet<String> = order_ids(&pages).into_iter().collect();
    all.extend(order_ids(&rest));
    assert_eq!(all.len(), 200);
    assert_eq!(rest.len(), 6, "resumed at page 5 with the stored token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_that_expires_mid_sync_is_refreshed() {
    let mut sc = sim_config(1500.0);
    // Advertised as 15 minutes; at this scale it really lives 0.6 s.
    sc.token_lifetime = Duration::from_secs(900);
    let sim = AmazonSim::start(sc).await.unwrap();
    sim.upsert_orders(backlog(600, 3));
    let mut cfg = config_for(&sim);
    cfg.orders.page_size = 20;
    let src = source(cfg);
    let (pages, err) = drain(&src, "orders", None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(order_ids(&pages).iter().collect::<HashSet<_>>().len(), 600);
    let expired = sim
        .requests("searchOrders")
        .iter()
        .filter(|r| r.status == 403)
        .count();
    assert!(expired >= 1, "the token expired during the run");
    let grants = sim
        .grants()
        .iter()
        .filter(|g| g.grant_type == "refresh_token" && g.status == 200)
        .count();
    assert_eq!(grants, expired + 1, "one refresh per expiry");
    assert_eq!(src.client().lwa().cache().fetches() as usize, grants);
}

#[tokio::test]
async fn expired_tokens_are_refreshed_once_even_for_concurrent_calls() {
    let sim = AmazonSim::start(sim_config(1.0)).await.unwrap();
    sim.upsert_orders(backlog(3, 1));
    let client = Arc::new(SpApiClient::new(config_for(&sim)).unwrap());
    let ids: Vec<String> = (0..3)
        .map(|i| SimOrder::generate(i, Utc::now(), US, "USD").order_id)
        .collect();
    client.get_order(&ids[0], &[]).await.unwrap();
    sim.expire_access_tokens();
    let calls = ids.iter().map(|id| {
        let c = client.clone();
        let id = id.clone();
        async move { c.get_order(&id, &[]).await }
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
    let grants = sim.grants().iter().filter(|g| g.status == 200).count();
    assert_eq!(grants, 2, "one initial grant and one shared refresh");
}

#[tokio::test]
async fn revoked_grants_and_bad_secrets_are_permanent_and_say_what_to_do() {
    let sim = AmazonSim::start(sim_config(1.0)).await.unwrap();
    sim.revoke_refresh_token();
    let src = source(config_for(&sim));
    let (pages, err) = drain(&src, "orders", None).await;
    assert!(pages.is_empty());
    let err = err.unwrap();
    assert!(
        matches!(
            err,
            Error::Auth {
                permanent: true,
                ..
            }
        ),
        "{err}"
    );
    let m = err.to_string();
    assert!(
        m.contains("invalid_grant") && m.contains("re-authorize the seller"),
        "{m}"
    );

    let sim = AmazonSim::start(sim_config(1.0)).await.unwrap();
    let mut cfg = config_for(&sim);
    cfg.credentials = LwaCredentials::new(
        &sim.config().client_id,
        "old-secret",
        &sim.config().refresh_token,
    )
    .with_token_url(sim.token_url());
    let src = source(cfg);
    let err = drain(&src, "orders", None).await.1.unwrap();
    let m = err.to_string();
    assert!(
        matches!(
            err,
            Error::Auth {
                permanent: true,
                ..
            }
        ),
        "{m}"
    );
    assert!(
        m.contains("invalid_client")
            && m.contains("rotate the client secret")
            && m.contains("180 days"),
        "{m}"
    );
    assert!(!m.contains("old-secret"), "no secret in errors: {m}");
}

#[tokio::test]
async fn grantless_tokens_use_client_credentials_and_cannot_read_seller_data() {
    let sim = AmazonSim::start(sim_config(1.0)).await.unwrap();
    let client = SpApiClient::new(config_for(&sim)).unwrap();
    let auth = client
        .grantless_auth("sellingpartnerapi::notifications")
        .unwrap();
    let token = auth.token().await.unwrap();
    assert!(secrecy::ExposeSecret::expose_secret(&token).starts_with("Atc|"));
    let g = sim.grants();
    assert_eq!(g[0].grant_type, "client_credentials");
    assert_eq!(
        g[0].scope.as_deref(),
        Some("sellingpartnerapi::notifications")
    );
    // A grantless token on a seller operation: Amazon denies it.
    let req = client
        .http()
        .reqwest()
        .get(format!("{}/orders/2026-01-01/orders/1", sim.base_url()))
        .header("user-agent", "ml-connector/test")
        .build()
        .unwrap();
    let err = client
        .http()
        .call("getOrder", req)
        .auth(&auth)
        .classifier(&ml_connector::amazon::AmazonClassifier::default())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
}

#[tokio::test]
async fn pending_orders_are_provisional_and_read_again_when_they_change() {
    let sim = AmazonSim::start(sim_config(1000.0)).await.unwrap();
    let mut pending = SimOrder::generate(7, Utc::now() - chrono::Duration::hours(2), US, "USD");
    pending.status = SimOrderStatus::Pending;
    let id = pending.order_id.clone();
    sim.upsert_orders([pending]);
    let src = source(config_for(&sim));

    let (pages, err) = drain(&src, "orders", None).await;
    assert!(err.is_none(), "{err:?}");
    let first = &pages[0].records[0];
    let RecordBody::Order(o) = &first.body else {
        panic!()
    };
    assert_eq!(o.status, OrderStatus::Pending);
    assert_eq!(o.totals.grand_total, Decimal::ZERO);
    assert_eq!(o.lines[0].unit_price, Decimal::ZERO);

    // Amazon confirms it a little before the committed watermark (within the overlap window).
    let cursor = pages.last().unwrap().cursor.clone();
    sim.confirm_order(&id, Utc::now() - chrono::Duration::minutes(3));
    let (pages, err) = drain(&src, "orders", cursor).await;
    assert!(err.is_none(), "{err:?}");
    let again = &pages[0].records[0];
    assert_eq!(again.key, first.key);
    assert_ne!(
        again.version, first.version,
        "a new version of the same record"
    );
    let RecordBody::Order(o) = &again.body else {
        panic!()
    };
    assert_eq!(o.status, OrderStatus::Open);
    assert_eq!(o.totals.grand_total, sim.order(&id).unwrap().grand_total());
    assert!(o.totals.grand_total > Decimal::ZERO);
}

#[tokio::test]
async fn search_orders_clamps_last_updated_before_and_fetch_reads_one_order() {
    let sim = AmazonSim::start(sim_config(1000.0)).await.unwrap();
    let orders = backlog(3, 1);
    sim.upsert_orders(orders.clone());
    let src = source(config_for(&sim));
    let (_, err) = drain(&src, "orders", None).await;
    assert!(err.is_none(), "{err:?}");
    let req = &sim.requests("searchOrders")[0];
    let before = req
        .query
        .iter()
        .find(|(k, _)| k == "lastUpdatedBefore")
        .map(|(_, v)| DateTime::parse_from_rfc3339(v).unwrap())
        .unwrap();
    assert!(before <= Utc::now() - chrono::Duration::minutes(2));
    assert!(
        req.raw_query.contains("Z&") || req.raw_query.contains("Z%"),
        "UTC with Z"
    );
    let included = req.query.iter().find(|(k, _)| k == "includedData").unwrap();
    assert!(included.1.contains("FULFILLMENT"));

    let rec = src
        .fetch("orders", &orders[1].order_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.key.source_id, orders[1].order_id);
    assert!(
        src.fetch("orders", "999-0000000-0000000")
            .await
            .unwrap()
            .is_none()
    );
    assert!(src.fetch("nope", "x").await.is_err());
}

fn settlement_report(id: &str, days_ago: i64, text: &str, charset: Option<&str>) -> SimReport {
    SimReport::settlement(
        id,
        Utc::now() - chrono::Duration::days(days_ago),
        US,
        text,
        encoding_rs::WINDOWS_1252,
        charset,
    )
}

#[tokio::test]
async fn settlements_page_by_next_token_collapse_duplicates_and_keep_money_exact() {
    let mut sc = sim_config(1000.0);
    sc.reports_page_cap = 2;
    let sim = AmazonSim::start(sc).await.unwrap();
    let eu = SETTLEMENT_EU
        .replace("28471003921", "28471009999")
        .replace("Storage Fee", "Lagergeb\u{fc}hr");
    sim.add_report(settlement_report("R1", 20, SETTLEMENT_US, None));
    sim.add_report(settlement_report("R3-dup", 19, SETTLEMENT_US, None));
    sim.add_report(settlement_report(
        "R2",
        10,
        &eu,
        Some("text/plain;charset=Cp1252"),
    ));
    let src = source(config_for(&sim));

    let (pages, err) = drain(&src, "settlements", None).await;
    assert!(err.is_none(), "{err:?}");
    let recs: Vec<_> = pages.iter().flat_map(|p| &p.records).collect();
    assert_eq!(pages.len(), 3, "one page per report");
    assert_eq!(recs.len(), 2, "the duplicate report collapsed");
    assert_eq!(recs[0].key.source_id, "28471003921");
    assert_eq!(recs[1].key.source_id, "28471009999");
    for r in &recs {
        let RecordBody::Settlement(s) = &r.body else {
            panic!()
        };
        assert_eq!(s.total.amount, "582.89".parse::<Decimal>().unwrap());
        assert_eq!(
            s.rows.iter().map(|x| x.amount).sum::<Decimal>(),
            s.total.amount
        );
        assert_eq!(r.raw["rows"].as_array().unwrap().len(), 24);
    }
    let RecordBody::Settlement(eu_s) = &recs[1].body else {
        panic!()
    };
    assert_eq!(eu_s.total.currency.as_str(), "EUR");
    assert!(
        eu_s.rows
            .iter()
            .any(|r| r.amount_description == "Lagergeb\u{fc}hr")
    );

    // getReports: filters first, then the nextToken alone.
    let lists = sim.requests("getReports");
    assert_eq!(lists.len(), 2);
    let first: BTreeMap<_, _> = lists[0].query.iter().cloned().collect();
    assert_eq!(
        first["reportTypes"],
        "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
    );
    assert_eq!(first["processingStatuses"], "DONE");
    assert!(first.contains_key("createdSince"));
    assert_eq!(lists[1].query.len(), 1);
    assert_eq!(lists[1].query[0].0, "nextToken");
    // A URL minted per report, downloaded without SP-API headers.
    assert_eq!(sim.stats("getReportDocument").requests, 3);
    let downloads = sim.requests("download");
    assert_eq!(downloads.len(), 3);
    assert!(
        downloads
            .iter()
            .all(|d| !d.had_access_token && d.status == 200)
    );

    // The cursor is the newest report's creation time; the next run overlaps only that report.
    let c: SettlementsCursor = pages
        .last()
        .unwrap()
        .cursor
        .as_ref()
        .unwrap()
        .to_value()
        .unwrap();
    assert!(c.created_since > Utc::now() - chrono::Duration::days(11));
    let (again, err) = drain(&src, "settlements", pages.last().unwrap().cursor.clone()).await;
    assert!(err.is_none(), "{err:?}");
    let again: Vec<_> = again.iter().flat_map(|p| &p.records).collect();
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].version, recs[1].version,
        "same settlement, same version"
    );
}

#[tokio::test]
async fn an_unbalanced_settlement_stops_the_stream_with_the_difference() {
    let sim = AmazonSim::start(sim_config(1000.0)).await.unwrap();
    sim.add_report(settlement_report("R1", 20, SETTLEMENT_US, None));
    sim.add_report(settlement_report(
        "R-bad",
        5,
        SETTLEMENT_UNBALANCED.replace("28471003921", "555").as_str(),
        None,
    ));
    let mut cfg = config_for(&sim);
    let src = source(cfg.clone());
    let (pages, err) = drain(&src, "settlements", None).await;
    assert_eq!(pages.len(), 1, "the good report before it is delivered");
    let err = err.unwrap();
    let m = err.to_string();
    assert!(m.contains("amazon/settlements/555"), "{m}");
    assert!(m.contains("difference -0.45 USD"), "{m}");
    assert!(m.contains("R-bad"), "{m}");

    // After an operator handled it by hand, the settlement can be skipped.
    cfg.settlements.skip_settlement_ids = vec!["555".into()];
    let (pages, err) = drain(&source(cfg), "settlements", None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(pages.iter().map(|p| p.records.len()).sum::<usize>(), 1);
}

#[tokio::test]
async fn finances_transactions_stream_with_the_same_arguments_and_exact_amounts() {
    let mut sc = sim_config(1000.0);
    sc.transactions_page_size = 50;
    let sim = AmazonSim::start(sc).await.unwrap();
    let now = Utc::now();
    sim.add_transactions((0..120).map(|i| {
        json!({"transactionId": format!("T{i:04}"), "transactionType": "Shipment",
            "transactionStatus": if i % 10 == 0 { "DEFERRED" } else { "RELEASED" },
            "postedDate": (now - chrono::Duration::hours(200 - i)).to_rfc3339(),
            "totalAmount": {"currencyAmount": 10.34 + i as f64, "currencyCode": "USD"},
            "marketplaceDetails": {"marketplaceId": US}})
    }));
    let src = source(config_for(&sim));
    let (pages, err) = drain(&src, "financial_transactions", None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(pages.len(), 3);
    let recs: Vec<_> = pages.iter().flat_map(|p| &p.records).collect();
    assert_eq!(recs.len(), 120);
    let RecordBody::FinancialTransaction(t) = &recs[1].body else {
        panic!()
    };
    assert_eq!(t["totalAmount"]["currencyAmount"], "11.34");
    assert_eq!(recs[0].key.source_id, "T0000");
    assert!(recs[0].version.ends_with("DEFERRED"));
    let reqs = sim.requests("listTransactions");
    let strip = |q: &[(String, String)]| -> Vec<(String, String)> {
        q.iter()
            .filter(|(k, _)| k != "nextToken")
            .cloned()
            .collect()
    };
    assert_eq!(strip(&reqs[0].query), strip(&reqs[2].query));
    assert!(reqs[1].query.iter().any(|(k, _)| k == "nextToken"));
    assert!(
        reqs[0]
            .query
            .iter()
            .any(|(k, v)| k == "marketplaceId" && v == US)
    );
}

#[tokio::test]
async fn fba_and_merchant_inventory_snapshot() {
    let sim = AmazonSim::start(sim_config(10.0)).await.unwrap();
    sim.add_inventory((0..120).map(|i| SimInventory {
        sku: format!("FBA SKU/{i}"),
        asin: format!("B0{i:08}"),
        fulfillable: i,
        inbound: 2,
        reserved: 1,
        unfulfillable: 0,
    }));
    sim.set_listing(
        "MFN-1",
        SimListing {
            product_type: "PRODUCT".into(),
            attributes: json!({"item_name": [{"value": "Thing"}]}),
            quantity: Some(42),
        },
    );
    let mut cfg = config_for(&sim);
    cfg.inventory.merchant_skus = vec!["MFN-1".into(), "MFN-unknown".into()];
    let src = source(cfg);
    let (pages, err) = drain(&src, "inventory", None).await;
    assert!(err.is_none(), "{err:?}");
    let recs: Vec<_> = pages.iter().flat_map(|p| &p.records).collect();
    assert_eq!(recs.len(), 121);
    let fba = recs
        .iter()
        .find(|r| r.key.source_id == format!("fba:{US}:FBA SKU/7"))
        .unwrap();
    let RecordBody::InventoryLevel(l) = &fba.body else {
        panic!()
    };
    assert_eq!(l.owner, StockOwner::Fba);
    assert_eq!(l.available, Decimal::from(7));
    assert_eq!(l.inbound, Decimal::from(2));
    let mfn = recs
        .iter()
        .find(|r| r.key.source_id == format!("merchant:{US}:MFN-1"))
        .unwrap();
    let RecordBody::InventoryLevel(l) = &mfn.body else {
        panic!()
    };
    assert_eq!(
        (l.owner, l.available),
        (StockOwner::Merchant, Decimal::from(42))
    );
    let reqs = sim.requests("getInventorySummaries");
    assert_eq!(reqs.len(), 3);
    let q: BTreeMap<_, _> = reqs[0].query.iter().cloned().collect();
    assert_eq!(q["details"], "true");
    assert_eq!(q["granularityType"], "Marketplace");
    assert_eq!(q["granularityId"], US);
    assert_eq!(q["marketplaceIds"], US);
}

#[tokio::test]
async fn an_fba_token_that_expires_between_pages_restarts_the_snapshot_once() {
    // 30 simulated seconds are 10 ms here; the second page is held 60 ms.
    let sim = AmazonSim::start(sim_config(3000.0)).await.unwrap();
    sim.add_inventory((0..120).map(|i| SimInventory {
        sku: format!("S{i}"),
        asin: format!("B{i}"),
        fulfillable: 1,
        inbound: 0,
        reserved: 0,
        unfulfillable: 0,
    }));
    sim.inject_after(
        "getInventorySummaries",
        1,
        Fault::Latency(Duration::from_millis(60)),
        1,
    );
    let src = source(config_for(&sim));
    let (pages, err) = drain(&src, "inventory", None).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(pages.iter().map(|p| p.records.len()).sum::<usize>(), 120);
    let statuses: Vec<u16> = sim
        .requests("getInventorySummaries")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![200, 400, 200, 200, 200]);
}

fn listing_doc(sku: &str, attributes: serde_json::Value, quantity: Option<i64>) -> ErpDocument {
    ErpDocument::Listing(ListingDoc {
        external_id: format!("qad:item:{sku}:{US}"),
        sku: sku.into(),
        marketplace_id: US.into(),
        product_type: "PRODUCT".into(),
        attributes,
        price: Some(Money::new(
            "19.99".parse().unwrap(),
            Currency::new("USD").unwrap(),
        )),
        quantity: quantity.map(Decimal::from),
    })
}

#[tokio::test]
async fn listings_preview_before_the_first_write_then_put_and_patch() {
    let sim = AmazonSim::start(sim_config(100.0)).await.unwrap();
    let client = Arc::new(SpApiClient::new(config_for(&sim)).unwrap());
    let sink = AmazonListingsSink::new(client);
    let caps = sink.connect().await.unwrap();
    assert_eq!(
        caps.entities[&DocumentKind::Listing],
        EntityAccess::Available
    );

    // Missing condition_type: the preview is INVALID, nothing is written.
    let sku = "NX 12/B#1";
    let bad = listing_doc(
        sku,
        json!({"item_name": [{"value": "Thing", "marketplace_id": US}]}),
        Some(5),
    );
    let err = sink.post(&bad).await.unwrap_err();
    match &err {
        Error::Rejected { issues, ctx, .. } => {
            assert_eq!(issues[0].code.as_deref(), Some("90220"));
            assert_eq!(issues[0].field.as_deref(), Some("condition_type"));
            assert!(ctx.record.as_deref().unwrap().contains(sku));
        }
        other => panic!("{other}"),
    }
    assert!(sim.listing(sku).is_none());
    assert!(sink.find(&bad).await.unwrap().is_none());

    let good = listing_doc(
        sku,
        json!({"item_name": [{"value": "Thing", "marketplace_id": US}],
               "condition_type": [{"value": "new_new", "marketplace_id": US}]}),
        Some(5),
    );
    let receipt = sink.post(&good).await.unwrap();
    assert_eq!(receipt.erp_key, format!("{US}:{sku}"));
    let stored = sim
        .listing(sku)
        .expect("SKU decoded from the URL-encoded path");
    assert_eq!(stored.quantity, Some(5));
    assert_eq!(
        stored.attributes["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"],
        "19.99"
    );
    // Quantity only: a patch of /attributes/fulfillment_availability, no second preview.
    let qty = listing_doc(sku, json!({}), Some(9));
    sink.post(&qty).await.unwrap();
    assert_eq!(sim.listing(sku).unwrap().quantity, Some(9));
    let writes: Vec<(String, bool, String)> = sim
        .listing_writes(sku)
        .into_iter()
        .map(|w| (w.method, w.preview, w.status))
        .collect();
    assert_eq!(
        writes,
        vec![
            ("PUT".to_string(), true, "INVALID".to_string()),
            ("PUT".to_string(), true, "VALID".to_string()),
            ("PUT".to_string(), false, "ACCEPTED".to_string()),
            ("PATCH".to_string(), false, "ACCEPTED".to_string()),
        ]
    );
    let patch = sim.requests("patchListingsItem");
    assert!(
        patch[0].path.contains("NX%2012%2FB%231"),
        "{}",
        patch[0].path
    );
    let body = patch[0].body.as_ref().unwrap();
    assert_eq!(
        body["patches"][1]["path"],
        "/attributes/fulfillment_availability"
    );
    assert_eq!(body["patches"][1]["value"][0]["quantity"], 9);

    let found = sink.find(&good).await.unwrap().unwrap();
    assert_eq!(found.erp_key, format!("{US}:{sku}"));
    // Other document kinds are refused.
    let other = ErpDocument::Item(ml_connector::model::ItemDoc {
        external_id: "x".into(),
        code: "x".into(),
        description: "x".into(),
        uom: None,
    });
    assert!(matches!(
        sink.post(&other).await,
        Err(Error::Unsupported { .. })
    ));
}

#[tokio::test]
async fn every_call_carries_a_user_agent_and_the_seller_marketplace() {
    let sim = AmazonSim::start(sim_config(1000.0)).await.unwrap();
    sim.upsert_orders(backlog(3, 1));
    let src = source(config_for(&sim));
    drain(&src, "orders", None).await;
    drain(&src, "inventory", None).await;
    drain(&src, "financial_transactions", None).await;
    drain(&src, "settlements", None).await;
    let all = sim.all_requests();
    assert!(all.len() >= 5);
    for r in &all {
        let ua = r.user_agent.as_deref().unwrap_or("");
        assert!(
            ua.starts_with("ml-connector/") && ua.contains("(Language=Rust"),
            "{r:?}"
        );
        if r.operation != "token" {
            assert!(r.had_access_token, "{r:?}");
            assert!(
                r.query.iter().any(|(_, v)| v.contains(US)),
                "marketplace id on {}: {:?}",
                r.operation,
                r.query
            );
        }
    }
    assert_eq!(src.streams().len(), 4);
    assert_eq!(src.name(), "amazon");
}

#[tokio::test]
async fn the_simulators_demo_settlements_read_as_two_settlements_with_equal_amounts() {
    let sim = AmazonSim::start(sim_config(1000.0)).await.unwrap();
    let ids = sim.add_demo_settlements();
    let src = source(config_for(&sim));
    let (pages, err) = drain(&src, "settlements", None).await;
    assert!(err.is_none(), "{err:?}");
    let recs: Vec<_> = pages.iter().flat_map(|p| &p.records).collect();
    assert_eq!(recs.len(), 2, "the duplicate report collapsed");
    let settlements: Vec<_> = recs
        .iter()
        .map(|r| match &r.body {
            RecordBody::Settlement(s) => s,
            _ => panic!(),
        })
        .collect();
    assert_eq!(settlements[0].settlement_id, ids[0]);
    assert_eq!(settlements[1].settlement_id, ids[1]);
    assert_eq!(settlements[1].total.currency.as_str(), "EUR");
    assert_eq!(settlements[0].total.amount, settlements[1].total.amount);
    for (a, b) in settlements[0].rows.iter().zip(&settlements[1].rows) {
        assert_eq!(a.amount, b.amount);
    }
}

#[tokio::test]
async fn an_advertised_rate_re_seeds_the_bucket() {
    let mut sc = sim_config(1000.0);
    // This seller's plan is twice the published one.
    sc.limits.insert("searchOrders".into(), (0.0112, 20));
    let sim = AmazonSim::start(sc).await.unwrap();
    sim.upsert_orders(backlog(3, 1));
    let src = source(config_for(&sim));
    let key = BucketKey::new(src.client().bucket_account(), "searchOrders");
    let (_, err) = drain(&src, "orders", None).await;
    assert!(err.is_none(), "{err:?}");
    let (quota, _) = src.client().http().limits().current(&key).unwrap();
    assert!((quota.rate - 0.0112 * 0.97).abs() < 1e-12, "{quota:?}");
    assert_eq!(quota.burst, 20);
}
