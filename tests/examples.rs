//! The examples' jobs on the built-in simulators, called as functions (the example binaries
//! are thin wrappers around `sandbox::demo`): the quickstart summary, the ping table, and a
//! configuration file resolved the way a real deployment resolves it.

use std::collections::BTreeMap;

use ml_connector::config::{ConnectorConfig, Secrets};
use ml_connector::model::DocumentKind;
use ml_connector::qad::QadAuthConfig;
use ml_connector::sandbox::demo::{self, QuickstartOptions, run_quickstart};
use ml_connector::sandbox::{Sandbox, data};

fn sqlite_in(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("state.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_posts_once_prevents_duplicates_and_holds_the_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start().await.unwrap();
    let systems = sandbox.systems(sqlite_in(&dir)).unwrap();
    let summary = run_quickstart(&systems, &QuickstartOptions::default())
        .await
        .unwrap();
    let text = summary.to_string();
    println!("{text}");

    assert_eq!(summary.passes.len(), 2);
    let (first, second) = (&summary.passes[0], &summary.passes[1]);
    for pass in [first, second] {
        assert!(pass.flow.partial.is_none(), "{text}");
        let streams: Vec<&str> = pass.streams.iter().map(|s| s.stream.as_str()).collect();
        assert_eq!(
            streams,
            [
                "adobe/customers",
                "adobe/companies",
                "adobe/orders",
                "amazon/orders",
                "adobe/invoices",
                "adobe/creditmemos"
            ],
            "masters first, credit memos after their invoices"
        );
        assert_eq!(pass.flow.checks.len(), 1);
        assert_eq!(pass.flow.checks[0].1, None, "the crosswalk check passes");
    }
    assert!(first.read() > 0 && first.posted() > 0, "{text}");
    assert!(
        first.streams.iter().all(|s| s.read > 0),
        "every stream has records: {text}"
    );
    assert_eq!(first.duplicates(), 0);

    // The same job again from scratch reads everything and posts nothing: every document of
    // the first pass is a duplicate prevented.
    assert_eq!(second.read(), first.read());
    assert_eq!(second.posted(), 0, "{text}");
    assert_eq!(second.duplicates(), first.posted(), "{text}");
    assert_eq!(
        second.failed(),
        first.failed(),
        "the held records are held again"
    );

    // The deliberately bad records are held with a message naming the SKU and the fix.
    let held_in = |prefix: &str| -> Vec<_> {
        summary
            .held
            .iter()
            .filter(|h| h.record.starts_with(prefix))
            .collect()
    };
    let amazon = held_in("amazon/orders/");
    assert_eq!(amazon.len(), 1, "{text}");
    assert!(
        amazon[0]
            .reason
            .contains(&format!("SKU \"{}\"", data::UNKNOWN_AMAZON_SKU))
            && amazon[0].reason.contains("amazon-skus.csv"),
        "{}",
        amazon[0].reason
    );
    assert_eq!(amazon[0].failures, 2, "held in both passes");
    let adobe = held_in("adobe/orders/");
    assert!(!adobe.is_empty(), "{text}");
    for h in &adobe {
        // Fixed-price bundles are ordered under a composed SKU the crosswalk lacks.
        assert!(
            h.reason.contains("SKU \"SIM-B0") && h.reason.contains("skus.csv"),
            "{}",
            h.reason
        );
    }
    assert_eq!(
        first.failed() as usize,
        summary.held.len(),
        "every record that failed is in the dead-letter list: {text}"
    );
    assert!(text.contains("Dead letters (") && text.contains("NX-GC-0500"));

    // QAD holds each sales order once, and as many as were posted.
    let qad = sandbox.qad();
    let orders = qad.documents(DocumentKind::SalesOrder);
    let mut per_po: BTreeMap<String, usize> = BTreeMap::new();
    for o in &orders {
        *per_po
            .entry(o["customerPO"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    assert!(per_po.values().all(|n| *n == 1), "{per_po:?}");
    let amazon_posted = first
        .streams
        .iter()
        .find(|s| s.stream == "amazon/orders")
        .unwrap()
        .posted as usize;
    assert!(orders.len() > amazon_posted);
    assert_eq!(
        qad.count(DocumentKind::Receivable) as u64,
        first.streams[4].posted,
        "one receivable per invoice posted"
    );
    assert_eq!(
        qad.count(DocumentKind::CreditNote) as u64,
        first.streams[5].posted
    );
}

#[tokio::test]
async fn ping_passes_on_the_simulators_and_names_the_reason_of_each_failure() {
    let sandbox = Sandbox::start().await.unwrap();
    let systems = sandbox.systems("memory://").unwrap();
    let results = demo::ping(&systems).await;
    let table = demo::ping_table(&results);
    assert_eq!(
        results.iter().map(|r| r.system).collect::<Vec<_>>(),
        ["adobe", "amazon", "qad"]
    );
    assert!(results.iter().all(|r| r.ok), "{table}");
    assert!(results[0].detail.contains("60 order(s)"), "{table}");
    assert!(results[1].detail.contains(data::MARKETPLACE_US), "{table}");
    assert!(results[2].detail.contains("sales_order"), "{table}");

    // Wrong credentials and a marketplace the seller is not in: FAIL rows with the reason.
    let mut broken = systems.clone();
    let c = sandbox.qad().sim_config();
    broken.qad = Some(
        sandbox
            .qad_config()
            .auth(QadAuthConfig::password(
                c.client_id.clone(),
                c.username.clone(),
                "not-the-password",
            ))
            .build()
            .unwrap(),
    );
    let mut amazon = sandbox.amazon_config();
    amazon.marketplace_ids = vec![data::MARKETPLACE_US.into(), "A2EUQ1WTGCTBG2".into()];
    broken.amazon = Some(amazon);
    let mut adobe = sandbox.adobe().ims_credentials();
    adobe.client_secret = "wrong".to_string().into();
    broken.adobe = Some(
        ml_connector::adobe::AdobeConfig::cloud_service(sandbox.adobe().cloud_base_url(), adobe)
            .build()
            .unwrap(),
    );
    let results = demo::ping(&broken).await;
    let table = demo::ping_table(&results);
    println!("{table}");
    assert!(results.iter().all(|r| !r.ok), "{table}");
    assert!(results[0].detail.contains("client_secret"), "{table}");
    assert!(results[1].detail.contains("A2EUQ1WTGCTBG2"), "{table}");
    assert!(results[2].detail.contains("qad.auth"), "{table}");
    assert!(table.contains("FAIL"));
    assert!(
        !table.contains("not-the-password") && !table.contains("wrong"),
        "no secret in the table: {table}"
    );
}

/// The configuration the sandbox server writes, resolved like a real deployment's: secrets
/// from (here, a stand-in for) the environment, mapping tables from files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_file_with_secrets_from_the_environment_reaches_the_simulators() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data");
    let text = sandbox.connector_toml(data_dir, "sqlite://state.db");
    assert!(
        !text.contains(&sandbox.qad().sim_config().password),
        "the generated file holds no secret"
    );
    let cfg = ConnectorConfig::from_toml_str("sandbox.toml", &text, dir.path()).unwrap();
    let env: BTreeMap<&str, String> = sandbox.demo_credentials().into_iter().collect();
    let lookup = {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect();
        move |k: &str| env.get(k).cloned()
    };
    let systems = cfg.resolve_with(&Secrets::with_lookup(lookup)).unwrap();
    assert_eq!(
        systems.store_url,
        format!("sqlite://{}", dir.path().join("state.db").display())
    );
    let results = demo::ping(&systems).await;
    assert!(
        results.iter().all(|r| r.ok),
        "{}",
        demo::ping_table(&results)
    );

    // The quickstart job runs on it too (one pass).
    let summary = run_quickstart(
        &systems,
        &QuickstartOptions {
            single_pass: true,
            ..QuickstartOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(summary.passes.len(), 1);
    assert!(summary.passes[0].posted() > 0, "{summary}");

    // A missing variable is named.
    let e = cfg
        .resolve_with(&Secrets::with_lookup(|_| None))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("adobe.credentials.env.consumer_key")
            && e.contains("SANDBOX_ADOBE_CONSUMER_KEY"),
        "{e}"
    );
}
