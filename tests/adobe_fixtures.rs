//! The published Adobe Commerce samples (tests/fixtures/adobe, provenance in its README) parse,
//! and the order sample maps to canonical lines that reconcile with its subtotal.

use std::path::PathBuf;
use std::str::FromStr;

use ml_connector::adobe::convert::{self, BundleLines, ConvertOptions, OrderContext};
use ml_connector::adobe::wire::{
    ErrorBody, SearchResult, WireCompany, WireCustomer, WireOrder, WireSalesDoc,
};
use ml_connector::model::{Decimal, LineRole, OrderStatus};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adobe")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Every JSON sample of the published Adobe fixtures, copied into tests/fixtures/adobe (provenance in its README).
const SAMPLES: [&str; 18] = [
    "columns-admin-2.4.8.json",
    "company-get-v1-company-2.json",
    "company-search-v1-company.json",
    "customers-search.json",
    "error-400-invalid-product-data.json",
    "error-400-signature-method-not-supported.json",
    "error-401-consumer-not-authorized.json",
    "error-429-too-many-requests.json",
    "event-shape-observer.sales_order_creditmemo_save_after.json",
    "ims-token-response.json",
    "invoice-get-inventory-tutorial.json",
    "invoice-get-v1-invoices-3.json",
    "io-event-envelope-catalog_product_save_commit_after.json",
    "openapi-admin-2.4.8-subset.json",
    "order-get-v1-orders-3.json",
    "orders-search-fields-filtered.json",
    "webhook-response-exception.json",
    "webhook-response-success.json",
];

#[test]
fn every_json_sample_parses() {
    for name in SAMPLES {
        let v: Value = serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(v.is_object(), "{name}");
    }
    let copied = std::fs::read_dir(dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(copied, SAMPLES.len());
}

#[test]
fn order_sample_maps_to_lines_that_reconcile_with_the_subtotal() {
    let w: WireOrder = serde_json::from_str(&read("order-get-v1-orders-3.json")).unwrap();
    assert_eq!(w.items.len(), 9, "parents and children arrive flat");
    let o = convert::order(&w, &ConvertOptions::default()).unwrap();
    assert_eq!(convert::order_source_id(&w).unwrap(), "1:000000003");
    let total: Decimal = o.lines.iter().map(|l| l.row_total).sum();
    assert_eq!(o.totals.subtotal, dec("160"));
    assert_eq!(total, dec("160"));
    convert::reconcile("adobe/orders/1:000000003", &o.lines, &o.totals).unwrap();
    // The default mappers' guard (no parent and child both present, row = qty × price) agrees.
    ml_connector::mapping::check_lines(&"adobe/orders/1:000000003", "order", &o.lines, &o.totals)
        .unwrap();

    // simple, downloadable, 4 bundle components (the generated bundle SKU dropped), the
    // configurable parent (its price-0 child dropped).
    let skus: Vec<(&str, LineRole)> = o.lines.iter().map(|l| (l.sku.as_str(), l.role)).collect();
    assert_eq!(
        skus,
        vec![
            ("WS12-M-Orange", LineRole::Standalone),
            ("240-LV08", LineRole::Standalone),
            ("24-WG082-blue", LineRole::BundleComponent),
            ("24-WG084", LineRole::BundleComponent),
            ("24-WG086", LineRole::BundleComponent),
            ("24-WG088", LineRole::BundleComponent),
            ("MH01-S-Gray", LineRole::ConfigurableParent),
        ]
    );
    assert!(
        o.lines
            .iter()
            .filter(|l| l.role == LineRole::BundleComponent)
            .all(|l| l.parent_line_id.as_deref() == Some("5"))
    );
    let qty: Decimal = o
        .lines
        .iter()
        .filter(|l| l.role != LineRole::BundleComponent)
        .map(|l| l.quantity)
        .sum::<Decimal>()
        + Decimal::ONE;
    assert_eq!(qty, dec("4"), "total_qty_ordered counts top-level rows");

    // Header facts.
    assert_eq!(o.number, "000000003");
    assert_eq!(o.entity_id.as_deref(), Some("3"));
    assert_eq!(o.status, OrderStatus::Open);
    assert_eq!(o.source_status, "pending");
    assert_eq!(o.totals.grand_total, dec("165"));
    assert_eq!(o.totals.shipping, dec("5"));
    assert_eq!(o.totals.currency.as_str(), "USD");
    assert!(
        o.base_totals.is_none(),
        "base and order currency are both USD"
    );
    assert_eq!(o.party.customer_id.as_deref(), Some("3"));
    assert!(!o.party.is_guest);
    assert_eq!(o.party.name.as_deref(), Some("Jane Doe"));
    let ship = o
        .shipping_address
        .as_ref()
        .expect("from shipping_assignments");
    assert_eq!(ship.city.as_deref(), Some("Purchase"));
    assert_eq!(ship.region.as_deref(), Some("NY"));
    assert_eq!(ship.street, vec!["123 Oak Ave".to_string()]);
    assert_eq!(o.shipping_method.as_deref(), Some("tablerate_bestway"));
    assert_eq!(o.payment_method.as_deref(), Some("banktransfer"));
    assert_eq!(o.replaces, None);

    // As a kit: one bundle line instead of four, same total.
    let kit = convert::order(
        &w,
        &ConvertOptions {
            bundle_lines: BundleLines::Kit,
            ..ConvertOptions::default()
        },
    )
    .unwrap();
    assert_eq!(kit.lines.len(), 4);
    assert_eq!(
        kit.lines.iter().map(|l| l.row_total).sum::<Decimal>(),
        dec("160")
    );
    assert!(kit.lines.iter().any(|l| l.role == LineRole::BundleKit));
}

#[test]
fn invoice_sample_counts_each_unit_once_with_and_without_its_order() {
    let order: WireOrder = serde_json::from_str(&read("order-get-v1-orders-3.json")).unwrap();
    let w: WireSalesDoc = serde_json::from_str(&read("invoice-get-v1-invoices-3.json")).unwrap();
    assert_eq!(
        w.items.len(),
        9,
        "invoice rows include parents and children (total_qty 9)"
    );
    let opts = ConvertOptions::default();
    let ctx = OrderContext::from_order(&order, &opts);
    let with = convert::invoice(&w, Some(&ctx), &opts).unwrap();
    let without = convert::invoice(&w, None, &opts).unwrap();
    for inv in [&with, &without] {
        assert_eq!(inv.lines.len(), 7);
        convert::reconcile("adobe/invoices/3", &inv.lines, &inv.totals).unwrap();
        ml_connector::mapping::check_lines(&"adobe/invoices/3", "invoice", &inv.lines, &inv.totals)
            .unwrap();
        assert_eq!(inv.order_entity_id, "3");
        assert_eq!(inv.state, ml_connector::model::InvoiceState::Paid);
    }
    assert_eq!(with.order_number.as_deref(), Some("000000003"));
    assert_eq!(with.party.email.as_deref(), Some("jdoe@example.com"));
    assert!(
        with.lines
            .iter()
            .any(|l| l.role == LineRole::ConfigurableParent && l.sku == "MH01-S-Gray")
    );

    let w2: WireSalesDoc =
        serde_json::from_str(&read("invoice-get-inventory-tutorial.json")).unwrap();
    let inv2 = convert::invoice(&w2, None, &opts).unwrap();
    convert::reconcile("adobe/invoices/3", &inv2.lines, &inv2.totals).unwrap();
    assert_eq!(
        inv2.totals.discount,
        dec("404.4"),
        "discounts become positive"
    );
    assert_eq!(inv2.totals.grand_total, dec("1917.6"));
}

#[test]
fn customers_companies_and_lists_parse() {
    let res: SearchResult = serde_json::from_str(&read("customers-search.json")).unwrap();
    assert!(res.total_count.unwrap() >= 1);
    for item in &res.items {
        let w: WireCustomer = serde_json::from_value(item.clone()).unwrap();
        let c = convert::customer(&w).unwrap();
        assert!(c.email.is_some());
        assert!(c.billing_address.is_some(), "default_billing id resolves");
        assert!(c.created_at.is_some());
    }

    let res: SearchResult = serde_json::from_str(&read("company-search-v1-company.json")).unwrap();
    let companies: Vec<_> = res
        .items
        .iter()
        .map(|v| {
            convert::company(&serde_json::from_value::<WireCompany>(v.clone()).unwrap()).unwrap()
        })
        .collect();
    assert!(!companies.is_empty());
    assert_eq!(companies[0].status.as_deref(), Some("active"));
    let one: WireCompany = serde_json::from_str(&read("company-get-v1-company-2.json")).unwrap();
    let c = convert::company(&one).unwrap();
    assert_eq!(c.id, "2");
    assert_eq!(c.status.as_deref(), Some("pending_approval"));
    assert_eq!(c.address.unwrap().city.as_deref(), Some("San Francisco"));

    // A `fields` projection drops total_count and search_criteria.
    let res: SearchResult =
        serde_json::from_str(&read("orders-search-fields-filtered.json")).unwrap();
    assert_eq!(res.items.len(), 3);
    assert_eq!(res.total_count, None);
}

#[test]
fn error_bodies_render_with_their_parameters() {
    let cases = [
        (
            "error-400-invalid-product-data.json",
            "Invalid product data: Invalid attribute set entity type",
        ),
        (
            "error-400-signature-method-not-supported.json",
            "Signature method HMAC-SHA1 is not supported",
        ),
        (
            "error-401-consumer-not-authorized.json",
            "The consumer isn't authorized to access Magento_Catalog::products.",
        ),
        ("error-429-too-many-requests.json", "Too Many Requests"),
    ];
    for (file, expected) in cases {
        let b: ErrorBody = serde_json::from_str(&read(file)).unwrap();
        assert_eq!(b.rendered().as_deref(), Some(expected), "{file}");
    }
}

#[test]
fn event_and_webhook_samples_parse() {
    let env: Value = serde_json::from_str(&read(
        "io-event-envelope-catalog_product_save_commit_after.json",
    ))
    .unwrap();
    assert_eq!(
        ml_connector::adobe::webhook::stream_for_event(env["type"].as_str().unwrap()),
        Some("products")
    );
    // Event payload numbers arrive as strings; the tolerant wire types read them.
    let p: ml_connector::adobe::wire::WireProduct =
        serde_json::from_value(env["data"]["value"].clone()).unwrap();
    assert_eq!(p.price, Some(dec("32444.000000")));
    let shape: Value = serde_json::from_str(&read(
        "event-shape-observer.sales_order_creditmemo_save_after.json",
    ))
    .unwrap();
    assert!(shape.is_object());
    let ok: Value = serde_json::from_str(&read("webhook-response-success.json")).unwrap();
    assert_eq!(ok, serde_json::json!({"op": "success"}));
    let ims: Value = serde_json::from_str(&read("ims-token-response.json")).unwrap();
    assert_eq!(ims["expires_in"], 86399);
}

/// The documented IMS token response, served from 127.0.0.1, goes through the oauth2 client.
#[tokio::test]
async fn ims_token_sample_is_read_through_oauth2() {
    use ml_connector::adobe::ImsCredentials;
    use ml_connector::adobe::auth::ImsTokenSource;
    use ml_connector::http::TokenSource;
    use secrecy::ExposeSecret;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ims/token/v3"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("commerce.accs"))
        .and(body_string_contains("client_id=my-client"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(read("ims-token-response.json"), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let src = ImsTokenSource::new(
        ImsCredentials::new("my-client", "my-secret", "ORG@AdobeOrg")
            .token_url(format!("{}/ims/token/v3", server.uri())),
    )
    .unwrap();
    let tok = src.fetch(None).await.unwrap();
    assert_eq!(tok.secret.expose_secret(), "{ACCESS_TOKEN}");
    assert_eq!(tok.expires_in, std::time::Duration::from_secs(86_399));
}
