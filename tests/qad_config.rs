//! QAD configuration and allowlist: bad base URLs, malformed or unknown entity paths and
//! forbidden entities are refused before any write, with a message naming the setting to fix.

mod qad_support;

use ml_connector::model::DocumentKind;
use ml_connector::qad::{QadAuthConfig, QadConfig, Registry};
use ml_connector::sandbox::qad::{QadSimConfig, QadSimulator};
use ml_connector::{ErpSink, Error, core::EntityAccess};
use qad_support::*;
use serde_json::json;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/qad");

fn setting_of(e: &Error) -> String {
    match e {
        Error::Config { setting, .. } => setting.clone(),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn tenant_file_loads_and_secrets_stay_out_of_debug() {
    let cfg = QadConfig::from_file(format!("{FIXTURES}/tenant.toml")).unwrap();
    assert_eq!(
        cfg.base_url().as_str(),
        "https://acme-nonprod.qad.com/clouderp/test/"
    );
    assert_eq!(cfg.workspace_id(), Some("10USA_10USACO"));
    assert_eq!(cfg.page_size(), 500);
    assert_eq!(cfg.defaults().inventory_location, "STOCK");
    let dbg = format!("{cfg:?}");
    assert!(!dbg.contains("placeholder-not-a-secret"), "{dbg}");
}

#[tokio::test]
async fn bad_base_urls_are_refused_before_any_request() {
    let sim = QadSimulator::start().await.unwrap();
    let port_base = sim.base_url();
    let cases = [
        (port_base.replace("http://", "ftp://"), "scheme"),
        (format!("{port_base}?domain=10USA"), "query"),
        (format!("{port_base}#/view/qraview"), "fragment"),
        (port_base.replace("http://", "http://svc:pw@"), "user info"),
        ("clouderp/api".to_string(), "absolute URL"),
        (format!("{port_base}/../admin"), ".."),
    ];
    for (url, needle) in cases {
        let e = QadConfig::builder(url.clone())
            .allow_insecure_loopback(true)
            .domain("10USA")
            .entity("10USACO")
            .shared_set("SHARED01")
            .default_site("10-100")
            .auth(QadAuthConfig::basic("u", "p"))
            .build()
            .unwrap_err();
        assert_eq!(setting_of(&e), "qad.base_url", "{url}");
        assert!(e.to_string().contains(needle), "{url}: {e}");
    }
    // Plain http to a loopback host is refused unless explicitly allowed…
    let e = sim
        .config_builder()
        .allow_insecure_loopback(false)
        .build()
        .unwrap_err();
    assert_eq!(setting_of(&e), "qad.base_url");
    assert!(e.to_string().contains("https"), "{e}");
    // …and never allowed to a non-loopback host.
    let e = QadConfig::builder("http://acme.qad.com/clouderp")
        .allow_insecure_loopback(true)
        .domain("10USA")
        .entity("10USACO")
        .shared_set("S")
        .default_site("10-100")
        .auth(QadAuthConfig::basic("u", "p"))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("not a loopback host"), "{e}");
    assert!(sim.requests().is_empty(), "{:?}", sim.requests());
}

#[test]
fn malformed_registry_paths_name_the_setting() {
    let e = Registry::load_file(format!("{FIXTURES}/registry-bad-path.toml")).unwrap_err();
    assert_eq!(setting_of(&e), "qad.registry.journal.component.path");
    assert!(e.to_string().contains("`..`"), "{e}");
    assert!(e.to_string().contains("registry-bad-path.toml"), "{e}");

    let e = Registry::load_file(format!("{FIXTURES}/registry-absolute.json")).unwrap_err();
    assert_eq!(setting_of(&e), "qad.registry.credit_note.component.path");
    assert!(e.to_string().contains("absolute URL"), "{e}");

    let e = Registry::from_json_overrides(
        r#"{"item":{"component":{"path":"api/erp/items?domainCode=10USA"}}}"#,
    )
    .unwrap_err();
    assert_eq!(setting_of(&e), "qad.registry.item.component.path");
    assert!(e.to_string().contains("query"), "{e}");

    let e = Registry::from_json_overrides(
        r#"{"sales_order":{"component":{"view_uri":"urn:be:ISalesOrderHeader"}}}"#,
    )
    .unwrap_err();
    assert_eq!(
        setting_of(&e),
        "qad.registry.sales_order.component.view_uri"
    );

    let e =
        Registry::from_json_overrides(r#"{"customer":{"browse":{"id":"mfg:cm007"}}}"#).unwrap_err();
    assert_eq!(setting_of(&e), "qad.registry.customer.browse.id");

    let e = Registry::from_json_overrides(
        r#"{"sales_order":{"lines":{"field_order":["itemCode","unitPrice"]}}}"#,
    )
    .unwrap_err();
    assert_eq!(setting_of(&e), "qad.registry.sales_order.lines.field_order");
    assert!(e.to_string().contains("unitPrice"), "{e}");

    // A tenant config that points at a malformed registry fails at build time too.
    let e = QadConfig::builder("https://acme.qad.com/clouderp")
        .domain("10USA")
        .entity("10USACO")
        .shared_set("S")
        .default_site("10-100")
        .auth(QadAuthConfig::basic("u", "p"))
        .registry_file(format!("{FIXTURES}/registry-bad-path.toml"))
        .build()
        .unwrap_err();
    assert_eq!(setting_of(&e), "qad.registry.journal.component.path");
}

#[test]
fn one_line_override_changes_one_path() {
    let r = Registry::load_file(format!("{FIXTURES}/registry-override.toml")).unwrap();
    let d = Registry::default();
    assert_eq!(
        r.receivable.component.path,
        "api/erp/financials/customerInvoices"
    );
    assert_eq!(
        r.receivable.component.view_uri,
        d.receivable.component.view_uri
    );
    assert_eq!(r.credit_note, d.credit_note);
    assert_eq!(r.sales_order, d.sales_order);
}

#[tokio::test]
async fn unknown_component_path_is_refused_locally_naming_the_setting() {
    let sim = seeded().await;
    let sink = sink_from(sim.config_builder().registry_overrides(
        json!({"receivable": {"component": {"path": "api/erp/customerInvoicesV9"}}}),
    ));
    let caps = sink.connect().await.unwrap();
    assert!(matches!(
        caps.entities[&DocumentKind::Receivable],
        EntityAccess::Unavailable(ref r) if r.contains("404")
    ));
    assert!(caps.can_write(DocumentKind::CreditNote), "{caps:?}");
    let e = sink
        .post(&receivable("adobe:default:invoice:1"))
        .await
        .unwrap_err();
    assert_eq!(setting_of(&e), "qad.registry.receivable.component.path");
    assert!(e.to_string().contains("refused before any request"), "{e}");
    assert!(
        sim.write_requests().is_empty(),
        "{:?}",
        sim.write_requests()
    );
    assert_eq!(sim.count(DocumentKind::Receivable), 0);
}

#[tokio::test]
async fn html_answer_or_wrong_view_uri_marks_the_entity_unavailable() {
    let sim = seeded().await;
    // A path outside the API (what a wrong context root looks like) answers HTML.
    sim.remove("api/erp/journalEntries");
    let sink = sink_from(sim.config_builder().registry_overrides(json!({
        "credit_note": {"component": {"view_uri": "urn:be:com.qad.financials.creditnote.ICreditNote"}}
    })));
    let caps = sink.connect().await.unwrap();
    match &caps.entities[&DocumentKind::Journal] {
        EntityAccess::Unavailable(r) => assert!(r.contains("404"), "{r}"),
        other => panic!("{other:?}"),
    }
    match &caps.entities[&DocumentKind::CreditNote] {
        EntityAccess::Unavailable(r) => assert!(r.contains("Unknown view URI"), "{r}"),
        other => panic!("{other:?}"),
    }
    let e = sink
        .post(&credit_note("adobe:default:creditmemo:1", None))
        .await
        .unwrap_err();
    assert_eq!(setting_of(&e), "qad.registry.credit_note.component.path");
    assert!(sim.write_requests().is_empty());
}

#[tokio::test]
async fn forbidden_entity_is_refused_locally_naming_the_registry_entry() {
    let sim = seeded().await;
    sim.forbid("api/erp/journalEntries");
    let sink = sink(&sim);
    let caps = sink.connect().await.unwrap();
    match &caps.entities[&DocumentKind::Journal] {
        EntityAccess::Forbidden(r) => assert!(r.contains("Access is denied"), "{r}"),
        other => panic!("{other:?}"),
    }
    let doc = journal(
        "amazon:settlement:1",
        "2026-03-31",
        vec![jline("1000", "10", "0"), jline("4000", "0", "10")],
    );
    let e = sink.post(&doc).await.unwrap_err();
    match &e {
        Error::PermissionDenied { message, ctx } => {
            assert!(message.contains("qad.registry.journal"), "{message}");
            assert!(message.contains("refused before any request"), "{message}");
            assert_eq!(ctx.record.as_deref(), Some("amazon:settlement:1"));
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
async fn unknown_browse_field_blocks_writes_that_rely_on_find() {
    let sim = seeded().await;
    let sink = sink_from(sim.config_builder().registry_overrides(
        json!({"sales_order": {"browse": {"fields": {"po": "so_mstr.so_purchase_order"}}}}),
    ));
    let caps = sink.connect().await.unwrap();
    assert!(!caps.can_write(DocumentKind::SalesOrder));
    let e = sink
        .post(&order("adobe:default:order:1", "PO-1"))
        .await
        .unwrap_err();
    assert_eq!(setting_of(&e), "qad.registry.sales_order.browse.fields.po");
    assert!(e.to_string().contains("so_purchase_order"), "{e}");
    assert!(sim.write_requests().is_empty());
}

#[tokio::test]
async fn unknown_browse_is_detected_through_the_field_lookup() {
    let sim = seeded().await;
    let sink = sink_from(sim.config_builder().registry_overrides(
        json!({"inventory_adjustment": {"browse": {"id": "urn:browse:mfg:zz999"}}}),
    ));
    let caps = sink.connect().await.unwrap();
    match &caps.entities[&DocumentKind::InventoryAdjustment] {
        EntityAccess::Unavailable(r) => assert!(r.contains("zz999"), "{r}"),
        other => panic!("{other:?}"),
    }
    let e = sink
        .post(&adjustment("amazon:inventory:1", "10-1000", "3"))
        .await
        .unwrap_err();
    assert_eq!(
        setting_of(&e),
        "qad.registry.inventory_adjustment.browse.id"
    );
}

#[tokio::test]
async fn without_field_lookup_browses_are_checked_by_sampling() {
    let sim = QadSimulator::start_with(QadSimConfig {
        field_lookup: false,
        ..QadSimConfig::default()
    })
    .await
    .unwrap();
    sim.seed_customer("C1", "One", "EUR");
    let sink = sink_from(sim.config_builder().registry_overrides(
        json!({"customer": {"browse": {"fields": {"name": "businessRelation.Name9"}}}}),
    ));
    let caps = sink.connect().await.unwrap();
    assert!(!caps.can_write(DocumentKind::Customer), "{caps:?}");
    // Empty browses cannot be verified: they stay writable, with a note.
    assert!(caps.can_write(DocumentKind::SalesOrder));
    let report = sink.report().await.unwrap();
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("could not be verified")),
        "{:?}",
        report.notes
    );
}

#[tokio::test]
async fn unknown_domain_fails_connect_and_lists_the_real_ones() {
    let sim = seeded().await;
    let sink = sink_from(sim.config_builder().domain("99XXX"));
    let e = sink.connect().await.unwrap_err();
    assert_eq!(setting_of(&e), "qad.domain");
    assert!(e.to_string().contains("10USA"), "{e}");
    let e = sink.post(&customer_doc("C2")).await.unwrap_err();
    assert_eq!(setting_of(&e), "qad.domain");
    assert!(sim.write_requests().is_empty());
}

#[tokio::test]
async fn missing_tenant_defaults_and_disabled_entities_are_named() {
    let sim = seeded().await;
    let cfg = sim
        .config_builder()
        .defaults(ml_connector::qad::TenantDefaults::default());
    let sink = sink_from(cfg);
    let caps = sink.connect().await.unwrap();
    assert!(matches!(
        caps.entities[&DocumentKind::Customer],
        EntityAccess::Disabled(_)
    ));
    let e = sink.post(&customer_doc("C2")).await.unwrap_err();
    assert_eq!(
        setting_of(&e),
        "qad.defaults.customer.invoice_control_gl_profile"
    );
    // Item writes are off by default (no public create payload).
    let item = ml_connector::model::ErpDocument::Item(ml_connector::model::ItemDoc {
        external_id: "qad:item:NEW".into(),
        code: "NEW-1".into(),
        description: "New".into(),
        uom: None,
    });
    let e = sink.post(&item).await.unwrap_err();
    assert_eq!(setting_of(&e), "qad.registry.item.enabled");
    assert!(sim.write_requests().is_empty());
}

#[tokio::test]
async fn bad_credentials_fail_connect_with_the_fix() {
    let sim = seeded().await;
    let sink = sink_from(sim.config_builder().auth(QadAuthConfig::password(
        "ml-connector-sim",
        "svc_integration",
        "wrong",
    )));
    let e = sink.connect().await.unwrap_err();
    match &e {
        Error::Auth {
            message, permanent, ..
        } => {
            assert!(*permanent);
            assert!(message.contains("qad.auth.password"), "{message}");
            assert!(!message.contains("wrong"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let sink = sink_from(sim.config_builder().auth(QadAuthConfig::password(
        "someone-else",
        "svc_integration",
        "sim-password",
    )));
    let e = sink.connect().await.unwrap_err();
    assert!(e.to_string().contains("qad.auth.client_id"), "{e}");
    assert!(sim.write_requests().is_empty());
}

#[test]
fn docs_appendix_is_the_default_registry() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/qad.md")).unwrap();
    let start = doc.rfind("```toml\n").unwrap() + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let r = Registry::from_toml_overrides(&doc[start..end]).unwrap();
    assert_eq!(
        r,
        Registry::default(),
        "docs/qad.md appendix is out of date"
    );
}
