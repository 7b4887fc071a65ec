//! Replays every Amazon sandbox vector of an operation the crate calls
//! (tests/fixtures/amazon/sandbox-vectors.json, copied from Amazon's models): a local server
//! answers with the vector's response; the test checks that the request the client built carries
//! the vector's parameters (path, query, body, auth and User-Agent headers) and that the answer
//! parses — or, for error vectors, becomes the right typed error.

use std::collections::BTreeMap;
use std::time::Duration;

use ml_connector::Error;
use ml_connector::amazon::client::{
    GetOrdersQuery, ReportsQuery, SearchOrdersQuery, TransactionsQuery, encode_segment,
};
use ml_connector::amazon::orders::{record_2026, record_v0};
use ml_connector::amazon::records::{fba_record, merchant_record, transaction_record};
use ml_connector::amazon::wire::{
    CreateRestrictedDataTokenRequest, ListingsItemPatchRequest, ListingsItemPutRequest,
    PatchOperation,
};
use ml_connector::amazon::{AmazonConfig, Environment, LwaCredentials, Region, SpApiClient};
use ml_connector::http::RetryPolicy;
use ml_connector::model::{Decimal, OrderStatus, RecordBody};
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SELLER: &str = "A3SELLERTEST";

#[derive(Debug, Deserialize)]
struct Vector {
    model: String,
    #[serde(rename = "operationId")]
    operation_id: String,
    method: String,
    path: String,
    status: u16,
    index: u32,
    request_parameters: Value,
    response: Value,
}

impl Vector {
    fn name(&self) -> String {
        format!(
            "{} {} → {} #{}",
            self.model, self.operation_id, self.status, self.index
        )
    }
    fn s(&self, k: &str) -> Option<String> {
        match self.request_parameters.get(k)? {
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
    fn list(&self, k: &str) -> Vec<String> {
        match self.request_parameters.get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| x.as_str().unwrap_or_default().to_string())
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
    /// The query parameters the vector names, as they travel (arrays comma-separated).
    fn expected_query(&self) -> BTreeMap<String, String> {
        let path_params: Vec<String> = self
            .path
            .split('/')
            .filter(|s| s.starts_with('{'))
            .map(|s| s.trim_matches(['{', '}']).to_string())
            .collect();
        let Some(obj) = self.request_parameters.as_object() else {
            return BTreeMap::new();
        };
        obj.iter()
            .filter(|(k, _)| *k != "body" && !path_params.contains(k))
            .map(|(k, v)| {
                let text = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(","),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }
}

/// Parameters the model requires that a vector may leave out (Amazon's sandbox matches on the
/// parameters it lists, "plus any other required parameters").
fn allowed_extra(op: &str) -> &'static [&'static str] {
    match op {
        "getListingsItem" => &["marketplaceIds"],
        "putListingsItem" | "patchListingsItem" => &["marketplaceIds", "includedData"],
        "getInventorySummaries" => &["details", "granularityType", "granularityId"],
        _ => &[],
    }
}

fn vectors() -> Vec<Vector> {
    #[derive(Deserialize)]
    struct File {
        vectors: Vec<Vector>,
    }
    let f: File =
        serde_json::from_str(include_str!("fixtures/amazon/sandbox-vectors.json")).unwrap();
    f.vectors
}

async fn server_for(v: &Vector) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/o2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "Atza|replay", "token_type": "bearer", "expires_in": 3600
        })))
        .mount(&server)
        .await;
    Mock::given(method(v.method.as_str()))
        .respond_with(
            ResponseTemplate::new(v.status)
                .set_body_json(v.response.clone())
                .insert_header("x-amzn-RequestId", "replay-request-id")
                .insert_header("x-amzn-RateLimit-Limit", "5.0"),
        )
        .mount(&server)
        .await;
    server
}

fn client_for(server: &MockServer) -> SpApiClient {
    let creds = LwaCredentials::new(
        "amzn1.application-oa2-client.replay",
        "secret",
        "Atzr|replay",
    )
    .with_token_url(format!("{}/auth/o2/token", server.uri()));
    let mut cfg = AmazonConfig::new(SELLER, Region::Na, vec!["ATVPDKIKX0DER".into()], creds);
    cfg.environment = Environment::Sandbox;
    cfg.endpoint = Some(server.uri());
    cfg.retry =
        RetryPolicy::with_attempts(2).delays(Duration::from_millis(5), Duration::from_millis(10));
    SpApiClient::new(cfg).unwrap()
}

fn decimal(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Runs the vector's operation with its parameters; checks the parsed answer of 2xx vectors.
async fn run(v: &Vector, c: &SpApiClient) -> Result<(), Error> {
    let r = &v.response;
    match (v.model.as_str(), v.operation_id.as_str()) {
        ("orders_2026-01-01.json", "searchOrders") => {
            let q = SearchOrdersQuery {
                created_after: v.s("createdAfter"),
                marketplace_ids: v.list("marketplaceIds"),
                included_data: v.list("includedData"),
                pagination_token: v.s("paginationToken"),
                ..Default::default()
            };
            let p = c.search_orders(&q).await?;
            let orders = p.raw["orders"].as_array().unwrap();
            assert_eq!(orders.len(), r["orders"].as_array().unwrap().len());
            for o in orders {
                let rec = record_2026(o.clone()).expect("order converts");
                let RecordBody::Order(order) = rec.body else {
                    panic!("not an order")
                };
                assert_eq!(
                    order.totals.grand_total,
                    decimal(o["proceeds"]["grandTotal"]["amount"].as_str().unwrap())
                );
                assert!(!order.lines.is_empty());
            }
            assert_eq!(
                p.value.pagination.and_then(|x| x.next_token),
                r["pagination"]["nextToken"].as_str().map(str::to_string)
            );
        }
        ("orders_2026-01-01.json", "getOrder") => {
            let id = v.s("orderId").unwrap();
            let p = c.get_order(&id, &v.list("includedData")).await?;
            let rec = record_2026(p.raw["order"].clone()).expect("order converts");
            assert_eq!(rec.key.source_id, id);
            let RecordBody::Order(o) = rec.body else {
                panic!()
            };
            assert_eq!(o.number, id);
            assert!(o.shipping_address.is_some());
        }
        ("ordersV0.json", "getOrders") => {
            let q = GetOrdersQuery {
                created_after: v.s("CreatedAfter"),
                marketplace_ids: v.list("MarketplaceIds"),
                next_token: v.s("NextToken"),
                ..Default::default()
            };
            let p = c.get_orders_v0(&q).await?;
            let payload = p.value.payload.clone().unwrap();
            assert_eq!(
                payload.next_token.as_deref(),
                r["payload"]["NextToken"].as_str()
            );
            for o in p.raw["payload"]["Orders"].as_array().unwrap() {
                let rec = record_v0(o.clone(), Vec::new()).expect("order converts");
                let RecordBody::Order(order) = rec.body else {
                    panic!()
                };
                if o["OrderStatus"] == "Pending" {
                    // Pending: no OrderTotal yet, provisional.
                    assert_eq!(order.status, OrderStatus::Pending);
                    assert!(o.get("OrderTotal").is_none());
                } else {
                    assert_eq!(
                        order.totals.grand_total,
                        decimal(o["OrderTotal"]["Amount"].as_str().unwrap())
                    );
                }
            }
        }
        ("ordersV0.json", "getOrder") => {
            let id = v.s("orderId").unwrap();
            let p = c.get_order_v0(&id).await?;
            let rec = record_v0(p.raw["payload"].clone(), Vec::new()).expect("order converts");
            let RecordBody::Order(o) = rec.body else {
                panic!()
            };
            assert_eq!(
                o.totals.grand_total,
                decimal(r["payload"]["OrderTotal"]["Amount"].as_str().unwrap())
            );
        }
        ("ordersV0.json", "getOrderItems") => {
            let id = v.s("orderId").unwrap();
            let p = c.get_order_items(&id, None).await?;
            let items = p.raw["payload"]["OrderItems"].as_array().unwrap().clone();
            let order = json!({"AmazonOrderId": p.value.payload.amazon_order_id,
                "PurchaseDate": "2020-01-01T00:00:00Z", "LastUpdateDate": "2020-01-01T00:00:00Z",
                "OrderStatus": "Unshipped", "MarketplaceId": "ATVPDKIKX0DER"});
            let rec = record_v0(order, items).expect("items convert");
            let RecordBody::Order(o) = rec.body else {
                panic!()
            };
            assert_eq!(o.lines[0].sku, "NABetaASINB00551Q3CS");
            assert_eq!(o.totals.subtotal, decimal("10.00"));
            assert_eq!(o.totals.tax, decimal("1.01"));
        }
        ("tokens_2021-03-01.json", "createRestrictedDataToken") => {
            let body: CreateRestrictedDataTokenRequest =
                serde_json::from_value(v.request_parameters["body"].clone()).unwrap();
            let t = c.create_restricted_data_token(&body).await?;
            assert_eq!(
                t.restricted_data_token,
                r["restrictedDataToken"].as_str().unwrap()
            );
            assert_eq!(t.expires_in, 3600);
        }
        ("reports_2021-06-30.json", "getReports") => {
            let q = ReportsQuery::Filters {
                report_types: v.list("reportTypes"),
                processing_statuses: v.list("processingStatuses"),
                marketplace_ids: Vec::new(),
                page_size: None,
                created_since: None,
            };
            let p = c.get_reports(&q).await?;
            assert_eq!(p.value.reports.len(), 1);
            assert_eq!(p.value.reports[0].report_id, "ReportId1");
            assert_eq!(p.value.next_token.as_deref(), r["nextToken"].as_str());
        }
        ("reports_2021-06-30.json", "getReportDocument") => {
            let d = c
                .get_report_document(&v.s("reportDocumentId").unwrap())
                .await?;
            assert_eq!(d.url, r["url"].as_str().unwrap());
            assert_eq!(d.compression_algorithm, None);
        }
        ("finances_2024-06-19.json", "listTransactions") => {
            let q = TransactionsQuery {
                posted_after: v.s("postedAfter"),
                posted_before: v.s("postedBefore"),
                next_token: v.s("nextToken"),
                ..Default::default()
            };
            let p = c.list_transactions(&q).await?;
            let payload = p.value.payload.clone().unwrap();
            assert_eq!(payload.next_token.as_deref(), Some("Next token value"));
            let txs = p.raw["payload"]["transactions"].as_array().unwrap();
            assert_eq!(txs.len(), 1);
            let rec = transaction_record(txs[0].clone());
            let RecordBody::FinancialTransaction(body) = rec.body else {
                panic!()
            };
            assert_eq!(body["totalAmount"]["currencyAmount"], "10");
        }
        (_, "getInventorySummaries") => {
            let mp = v.list("marketplaceIds")[0].clone();
            let p = c.get_inventory_summaries(&mp, &[], None).await?;
            let now = chrono::Utc::now();
            let recs: Vec<_> = p.raw["payload"]["inventorySummaries"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|s| fba_record(&mp, s.clone(), now))
                .collect();
            assert_eq!(recs.len(), 3);
            assert!(
                recs.iter()
                    .any(|r| r.key.source_id == "fba:ATVPDKIKX0DER:EMTEC 1 GB")
            );
            let RecordBody::InventoryLevel(l) = &recs[2].body else {
                panic!()
            };
            assert_eq!(l.available, Decimal::from(66));
            assert_eq!(l.inbound, Decimal::from(21));
            assert_eq!(
                p.value.pagination.and_then(|x| x.next_token).as_deref(),
                Some("seed")
            );
        }
        (_, "getListingsItem") => {
            let sku = v.s("sku").unwrap_or_else(|| "GM-ZDPI-9B4E".into());
            let p = c
                .get_listings_item(&sku, "ATVPDKIKX0DER", &[])
                .await?
                .expect("found");
            let rec = merchant_record("ATVPDKIKX0DER", &p.value, p.raw.clone(), chrono::Utc::now());
            let RecordBody::InventoryLevel(l) = rec.body else {
                panic!()
            };
            assert_eq!(l.available, Decimal::from(100));
            assert_eq!(p.value.issues.len(), 5);
        }
        (_, "putListingsItem") => {
            let sku = v.s("sku").unwrap_or_else(|| "GM-ZDPI-9B4E".into());
            let body = ListingsItemPutRequest {
                product_type: "LUGGAGE".into(),
                requirements: Some("LISTING".into()),
                attributes: json!({"item_name": [{"value": "Hardside Carry-On", "language_tag": "en_US", "marketplace_id": "ATVPDKIKX0DER"}]}),
            };
            let preview = v.s("mode").as_deref() == Some("VALIDATION_PREVIEW");
            let p = c
                .put_listings_item(&sku, "ATVPDKIKX0DER", &body, preview)
                .await?;
            assert_eq!(p.value.status, r["status"].as_str().unwrap());
            assert_eq!(p.value.issues.len(), r["issues"].as_array().unwrap().len());
        }
        (_, "patchListingsItem") => {
            let sku = v.s("sku").unwrap_or_else(|| "GM-ZDPI-9B4E".into());
            let body = ListingsItemPatchRequest {
                product_type: "LUGGAGE".into(),
                patches: vec![PatchOperation {
                    op: "replace".into(),
                    path: "/attributes/fulfillment_availability".into(),
                    value: Some(
                        json!([{"fulfillment_channel_code": "DEFAULT", "quantity": 7, "marketplace_id": "ATVPDKIKX0DER"}]),
                    ),
                }],
            };
            let preview = v.s("mode").as_deref() == Some("VALIDATION_PREVIEW");
            let p = c
                .patch_listings_item(&sku, "ATVPDKIKX0DER", &body, preview)
                .await?;
            assert_eq!(p.value.status, r["status"].as_str().unwrap());
            assert_eq!(p.value.issues.len(), r["issues"].as_array().unwrap().len());
        }
        ("sellers.json", "getMarketplaceParticipations") => {
            let p = c.get_marketplace_participations().await?;
            assert_eq!(p.payload[0].marketplace.id, "ATVPDKIKX0DER");
            assert!(p.payload[0].participation.is_participating);
        }
        (m, o) => panic!("no replay for {m} {o}"),
    }
    Ok(())
}

fn expected_path(v: &Vector) -> String {
    v.path
        .split('/')
        .map(|seg| {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let value = match name {
                    "sellerId" => SELLER.to_string(),
                    "sku" => v.s("sku").unwrap_or_else(|| "GM-ZDPI-9B4E".into()),
                    other => v.s(other).expect("path parameter in the vector"),
                };
                encode_segment(&value)
            } else {
                seg.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_vector_of_an_operation_we_call_replays() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 39, "fixture holds the 39 vectors");
    for v in &vectors {
        let name = v.name();
        let server = server_for(v).await;
        let client = client_for(&server);
        let outcome = run(v, &client).await;

        // The answer: 2xx parses (checked inside `run`); errors are typed.
        match (v.status, &outcome) {
            (200..=299, Ok(())) => {}
            (400, Err(Error::Rejected { issues, ctx, .. })) => {
                let code = v.response["errors"][0]["code"].as_str().unwrap();
                assert_eq!(issues[0].code.as_deref(), Some(code), "{name}");
                assert_eq!(ctx.status, Some(400), "{name}");
                assert_eq!(
                    ctx.request_id.as_deref(),
                    Some("replay-request-id"),
                    "{name}"
                );
            }
            (
                500,
                Err(Error::RetriesExhausted {
                    ctx,
                    attempts,
                    message,
                }),
            ) => {
                assert_eq!(ctx.status, Some(500), "{name}");
                assert_eq!(*attempts, 2, "{name}");
                assert!(message.contains("InternalFailure"), "{name}: {message}");
            }
            (s, o) => panic!("{name}: status {s} gave {o:?}"),
        }

        // The request: path, query parameters, body, headers.
        let requests = server.received_requests().await.unwrap();
        let api: Vec<_> = requests
            .iter()
            .filter(|r| r.url.path() != "/auth/o2/token")
            .collect();
        assert!(!api.is_empty(), "{name}: no request sent");
        let req = api[0];
        assert_eq!(req.method.as_str(), v.method, "{name}");
        assert_eq!(req.url.path(), expected_path(v), "{name}");
        let sent: BTreeMap<String, String> = req
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let expected = v.expected_query();
        for (k, val) in &expected {
            assert_eq!(sent.get(k), Some(val), "{name}: parameter {k}");
        }
        for k in sent.keys() {
            assert!(
                expected.contains_key(k) || allowed_extra(&v.operation_id).contains(&k.as_str()),
                "{name}: unexpected parameter {k}"
            );
        }
        if let Some(body) = v
            .request_parameters
            .get("body")
            .filter(|b| b.as_object().is_some_and(|o| !o.is_empty()))
        {
            let sent_body: Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(&sent_body, body, "{name}: body");
        }
        let header = |h: &str| {
            req.headers
                .get(h)
                .and_then(|x| x.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(
            header("x-amz-access-token").as_deref(),
            Some("Atza|replay"),
            "{name}"
        );
        let ua = header("user-agent").unwrap_or_default();
        assert!(
            ua.starts_with("ml-connector/") && ua.contains("Language=Rust"),
            "{name}: {ua}"
        );
        assert!(header("authorization").is_none(), "{name}: no SigV4");
    }
}

#[tokio::test]
async fn the_token_request_carries_client_credentials_in_the_form_body() {
    let v = &vectors()[0];
    let server = server_for(v).await;
    let client = client_for(&server);
    run(v, &client).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    let token: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path() == "/auth/o2/token")
        .collect();
    assert_eq!(token.len(), 1);
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&token[0].body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        form.get("grant_type").map(String::as_str),
        Some("refresh_token")
    );
    assert_eq!(
        form.get("refresh_token").map(String::as_str),
        Some("Atzr|replay")
    );
    assert_eq!(
        form.get("client_id").map(String::as_str),
        Some("amzn1.application-oa2-client.replay")
    );
    assert_eq!(
        form.get("client_secret").map(String::as_str),
        Some("secret")
    );
    assert!(token[0].headers.get("authorization").is_none());
}
