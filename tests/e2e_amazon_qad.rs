//! End to end: the Amazon SP-API simulator → [`AmazonSource`] settlements → [`DefaultMapper`]
//! (mode A, summary journals) → [`QadSink`] → the QAD simulator, on SQLite stores.
//!
//! * Settlement reports (the published V2 sample and a generated EUR file with decimal commas)
//!   land as balanced GL journals whose clearing line equals the file's `total-amount`.
//! * The same settlement published as a second, overlapping report — in the same run and again
//!   in a later run — posts once.
//! * An `amount-description` the account map does not know holds its settlement (dead letter
//!   naming it and the account map); after the rule is added, a replay posts it once.
//! * A settlement straddling two months posts both period journals, each under its own
//!   reference (`…#2026-07`, `…#2026-08`).
//!
//! Fixtures: `tests/fixtures/amazon/settlement_v2_us.txt` (provenance in that folder's
//! README) and the example account map `tests/fixtures/mapping/accounts.toml`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use ml_connector::amazon::{AmazonConfig, AmazonSource, LwaCredentials, Region};
use ml_connector::core::DeadLetterQuery;
use ml_connector::http::RetryPolicy;
use ml_connector::mapping::{AccountMap, AccountRule, DefaultMapper, MapContext, MapSettings};
use ml_connector::model::{Decimal, DocumentKind};
use ml_connector::pipeline::{Pipeline, ReplayOptions, ReplayScope};
use ml_connector::qad::{QadSink, Registry};
use ml_connector::sandbox::amazon::{
    AmazonSim, AmazonSimConfig, SimReport, SimSettlementRow, demo_settlement_rows, settlement_file,
};
use ml_connector::sandbox::qad::QadSimulator;
use ml_connector::store::{SqliteStore, Stores};
use serde_json::Value;

const US: &str = "ATVPDKIKX0DER";
const SETTLEMENT_US: &str = include_str!("fixtures/amazon/settlement_v2_us.txt");
const ACCOUNTS: &str = include_str!("fixtures/mapping/accounts.toml");
/// The clearing account of the example account map (role `AMZ_CLEARING`).
const CLEARING: &str = "1150";

fn fast_retry() -> RetryPolicy {
    RetryPolicy::with_attempts(4).delays(Duration::from_millis(10), Duration::from_millis(100))
}

async fn amazon() -> AmazonSim {
    AmazonSim::start(AmazonSimConfig {
        time_scale: 1000.0,
        token_lifetime: Duration::from_secs(30 * 86_400),
        ..AmazonSimConfig::default()
    })
    .await
    .unwrap()
}

fn amazon_source(sim: &AmazonSim) -> Arc<AmazonSource> {
    let s = sim.config();
    let creds = LwaCredentials::new(&s.client_id, &s.client_secret, &s.refresh_token)
        .with_token_url(sim.token_url());
    let mut cfg = AmazonConfig::new(&s.seller_id, Region::Na, vec![US.into()], creds);
    cfg.endpoint = Some(sim.base_url().to_string());
    cfg.time_scale = s.time_scale;
    cfg.retry = fast_retry();
    Arc::new(AmazonSource::new(cfg).unwrap())
}

/// A gzipped, windows-1252 settlement report created `days_ago` days ago.
fn report(id: &str, days_ago: i64, text: &str) -> SimReport {
    SimReport::settlement(
        id,
        Utc::now() - chrono::Duration::days(days_ago),
        US,
        text,
        encoding_rs::WINDOWS_1252,
        None,
    )
}

fn utc(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

/// A generated EUR settlement with decimal commas (Amazon.de), all rows in August 2026.
fn eur_settlement(id: &str, rows: &[SimSettlementRow]) -> String {
    settlement_file(id, "EUR", "Amazon.de", utc(2026, 8, 3), rows, true)
}

fn qad_sink(sim: &QadSimulator) -> Arc<QadSink> {
    Arc::new(
        QadSink::with_retry(sim.config_builder().build().unwrap(), fast_retry())
            .unwrap()
            .with_settle_delay(Duration::from_millis(20)),
    )
}

fn map_context(accounts: AccountMap) -> MapContext {
    MapContext::builder()
        .accounts(accounts)
        .settings(MapSettings::default())
        .build()
        .unwrap()
}

fn account_map() -> AccountMap {
    AccountMap::from_toml_str("tests/fixtures/mapping/accounts.toml", ACCOUNTS).unwrap()
}

struct Env {
    amazon: AmazonSim,
    qad: QadSimulator,
    pipeline: Pipeline,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let amazon = amazon().await;
    let qad = QadSimulator::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stores = Stores::from_one(
        "sqlite",
        Arc::new(SqliteStore::open(dir.path().join("ml.db")).unwrap()),
    );
    let pipeline = Pipeline::builder()
        .source(amazon_source(&amazon))
        .mapper(Arc::new(DefaultMapper))
        .context(map_context(account_map()))
        .sink(qad_sink(&qad))
        .stores(&stores)
        .unwrap()
        .retry(fast_retry())
        .build()
        .unwrap();
    Env {
        amazon,
        qad,
        pipeline,
        _dir: dir,
    }
}

fn amount(v: &Value) -> Decimal {
    match v {
        Value::Number(n) => n.to_string().parse().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        Value::Null => Decimal::ZERO,
        other => panic!("not an amount: {other}"),
    }
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The journals QAD holds, by the external id in their reference field.
/// The journals QAD holds, grouped by settlement: the reference is the settlement's external id
/// plus `#period` (one journal per accounting period).
fn journals(qad: &QadSimulator) -> BTreeMap<String, Vec<Value>> {
    let reg = Registry::default();
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for j in qad.documents(DocumentKind::Journal) {
        let r = j[&reg.journal.reference_field].as_str().unwrap_or_default();
        let settlement = r.split_once('#').map_or(r, |(id, _period)| id).to_string();
        out.entry(settlement).or_default().push(j);
    }
    out
}

fn lines(j: &Value) -> Vec<Value> {
    let reg = Registry::default();
    j[&reg.journal.lines_collection].as_array().unwrap().clone()
}

/// Checks that each journal balances per currency and that, over the settlement's journals,
/// exactly one line is on the clearing account and carries `total` (debit when positive).
fn assert_settlement_posted(journals: &[Value], total: Decimal, currency: &str) {
    let mut clearing = Vec::new();
    for j in journals {
        let ls = lines(j);
        assert!(!ls.is_empty(), "{j}");
        let debit: Decimal = ls.iter().map(|l| amount(&l["debitTC"])).sum();
        let credit: Decimal = ls.iter().map(|l| amount(&l["creditTC"])).sum();
        assert_eq!(debit, credit, "unbalanced journal {j}");
        for l in &ls {
            assert_eq!(l["currencyCode"], currency, "{l}");
            if l["glCode"] == CLEARING {
                clearing.push(l.clone());
            }
        }
    }
    assert_eq!(clearing.len(), 1, "one clearing line: {clearing:?}");
    let net = amount(&clearing[0]["debitTC"]) - amount(&clearing[0]["creditTC"]);
    assert_eq!(net, total, "clearing = total-amount");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlements_land_as_balanced_journals_and_a_duplicate_report_posts_once() {
    let started = Instant::now();
    let e = env().await;
    // The published sample, published twice (overlapping report windows), and a EUR file.
    e.amazon.add_report(report("R-US", 20, SETTLEMENT_US));
    e.amazon.add_report(report("R-US-DUP", 19, SETTLEMENT_US));
    let eur_rows = demo_settlement_rows();
    let eur_total: Decimal = eur_rows.iter().map(|r| r.amount).sum();
    e.amazon.add_report(report(
        "R-DE",
        10,
        &eur_settlement("30000000777", &eur_rows),
    ));

    let r = e.pipeline.run("settlements").await.unwrap();
    eprintln!("  {r}");
    assert!(r.is_complete(), "{r}");
    assert_eq!(r.fetched, 2, "the duplicate report collapsed in the source");
    assert_eq!(r.failed, 0, "{r}");

    let held = journals(&e.qad);
    assert_eq!(
        held.keys().collect::<Vec<_>>(),
        [
            "amazon:settlement:28471003921",
            "amazon:settlement:30000000777"
        ]
    );
    let us = &held["amazon:settlement:28471003921"];
    assert_eq!(us.len(), 1, "every row of the sample is in June 2026");
    assert_eq!(us[0]["postingDate"], "2026-06-30");
    assert_settlement_posted(us, dec("582.89"), "USD");
    let de = &held["amazon:settlement:30000000777"];
    assert_eq!(de.len(), 1);
    assert_settlement_posted(de, eur_total, "EUR");

    // Amazon publishes the settlement yet again, in a later report: it is read, found done
    // (same settlement id, same job), and not posted.
    e.amazon.add_report(report("R-US-DUP2", 1, SETTLEMENT_US));
    let writes = e.qad.write_requests().len();
    let again = e.pipeline.run("settlements").await.unwrap();
    eprintln!("  {again}");
    assert!(again.is_complete(), "{again}");
    assert!(again.fetched >= 1, "{again}");
    assert_eq!(again.posted, 0, "{again}");
    assert_eq!(again.skipped, again.fetched);
    assert_eq!(
        e.qad.write_requests().len(),
        writes,
        "nothing written to QAD"
    );
    assert_eq!(
        journals(&e.qad)
            .get("amazon:settlement:28471003921")
            .map_or(0, Vec::len),
        1
    );
    eprintln!("e2e amazon→qad: {:.1?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmapped_amount_description_holds_the_settlement_until_the_account_map_is_fixed() {
    let e = env().await;
    let mut rows = demo_settlement_rows();
    rows.push(SimSettlementRow {
        transaction_type: "ServiceFee",
        order_id: "",
        amount_type: "other-transaction",
        amount_description: "Mystery Program Fee",
        amount: dec("-3.10"),
        sku: "",
    });
    let total: Decimal = rows.iter().map(|r| r.amount).sum();
    e.amazon.add_report(report(
        "R-MYSTERY",
        5,
        &eur_settlement("30000000888", &rows),
    ));
    e.amazon.add_report(report("R-US", 20, SETTLEMENT_US));

    let r = e.pipeline.run("settlements").await.unwrap();
    eprintln!("  {r}");
    assert!(r.is_complete(), "a held record is acknowledged: {r}");
    assert_eq!((r.fetched, r.posted, r.failed), (2, 1, 1), "{r}");

    // Held, not guessed: nothing in QAD for it, a letter naming the description and the fix.
    let held = journals(&e.qad);
    assert!(!held.contains_key("amazon:settlement:30000000888"));
    assert_settlement_posted(&held["amazon:settlement:28471003921"], dec("582.89"), "USD");
    let letters = e
        .pipeline
        .audit()
        .dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    let l = &letters[0];
    assert_eq!(l.record.key.to_string(), "amazon/settlements/30000000888");
    assert!(l.error.contains("\"Mystery Program Fee\""), "{}", l.error);
    assert!(l.error.contains("accounts.toml"), "{}", l.error);

    // The fix: a rule for the description; the replay posts the settlement once.
    let fixed_accounts = account_map().with_rule_first(AccountRule::new(
        "*",
        "other-transaction",
        "Mystery Program Fee",
        "FEE_FBA_STORAGE",
    ));
    e.pipeline.set_map_context(map_context(fixed_accounts));
    let replay = e
        .pipeline
        .replay(ReplayScope::Unresolved, ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (replay.resolved, replay.report.posted),
        (1, 1),
        "{replay:?}"
    );
    let held = journals(&e.qad);
    let mystery = &held["amazon:settlement:30000000888"];
    assert_eq!(mystery.len(), 1);
    assert_settlement_posted(mystery, total, "EUR");
    let again = e
        .pipeline
        .replay(ReplayScope::Unresolved, ReplayOptions::default())
        .await
        .unwrap();
    assert_eq!((again.letters, again.report.posted), (0, 0));
    assert_eq!(
        journals(&e.qad)
            .get("amazon:settlement:30000000888")
            .map_or(0, Vec::len),
        1
    );
}

/// Both period parts of a split settlement carry the same external id; the sink keys each by
/// its own reference (`external id#period`), so neither is taken for the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_straddling_two_months_posts_both_period_journals() {
    let e = env().await;
    // Rows on 31 July, the settlement window ending 14 August: a July journal that carries its
    // balance forward, and an August journal with the clearing line.
    let rows = demo_settlement_rows();
    let total: Decimal = rows.iter().map(|r| r.amount).sum();
    let text = settlement_file(
        "30000000999",
        "USD",
        "Amazon.com",
        utc(2026, 7, 31),
        &rows,
        false,
    );
    e.amazon.add_report(report("R-SPLIT", 3, &text));

    let r = e.pipeline.run("settlements").await.unwrap();
    eprintln!("  {r}");
    assert!(r.is_complete(), "{r}");
    assert_eq!(r.failed, 0, "{r}");
    assert_eq!(r.posted, 2, "one journal per period: {r}");
    let held = journals(&e.qad);
    let js = &held["amazon:settlement:30000000999"];
    let mut dates: Vec<&str> = js
        .iter()
        .map(|j| j["postingDate"].as_str().unwrap())
        .collect();
    dates.sort_unstable();
    assert_eq!(dates, ["2026-07-31", "2026-08-14"]);
    assert_settlement_posted(js, total, "USD");
}
