//! Adobe Commerce webhooks and Adobe I/O Events: verified on the raw bytes, enqueued with
//! `try_send`, answered at once; forged deliveries get 401; a full queue still answers success.
//! Keys: the pre-generated test pairs in tests/fixtures/adobe (see its README).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ml_connector::adobe::webhook::{TriggerOrigin, WebhookConfig, WebhookStats, router_with_stats};
use ml_connector::sandbox::adobe::{AdobeSim, AdobeSimConfig};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::mpsc;

fn key(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/adobe")
            .join(name),
    )
    .unwrap()
}

async fn sim() -> AdobeSim {
    AdobeSim::start(AdobeSimConfig {
        webhook_private_key_pem: Some(key("webhook-test-private-key.pem")),
        io_events_private_key_pem: Some(key("io-events-test-private-key.pem")),
        ..AdobeSimConfig::with_orders(5)
    })
    .await
    .unwrap()
}

/// Serves the webhook endpoints on 127.0.0.1:0; returns the base URL, the receiver and stats.
async fn serve(
    capacity: usize,
    client_id: Option<&str>,
) -> (
    String,
    mpsc::Receiver<ml_connector::adobe::webhook::Trigger>,
    mpsc::Sender<ml_connector::adobe::webhook::Trigger>,
    Arc<WebhookStats>,
) {
    let mut cfg = WebhookConfig::new()
        .commerce_public_key_pem(&key("webhook-test-public-key.pem"))
        .unwrap()
        .io_events_public_key_pem(&key("io-events-test-public-key.pem"))
        .unwrap();
    if let Some(id) = client_id {
        cfg = cfg.io_client_id(id);
    }
    let (tx, rx) = mpsc::channel(capacity);
    let (app, stats) = router_with_stats(cfg, tx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), rx, tx, stats)
}

#[tokio::test]
async fn a_valid_commerce_webhook_enqueues_and_answers_at_once() {
    let sim = sim().await;
    let (base, mut rx, _tx, stats) = serve(16, None).await;
    let url = format!("{base}/adobe/webhook");

    let (status, body) = sim
        .send_commerce_webhook(
            &url,
            "observer.sales_order_save_commit_after",
            &json!({"order": {"entity_id": 3, "increment_id": "000000003"}}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"op": "success"})
    );
    let t = rx.try_recv().expect("a trigger was enqueued");
    assert_eq!(t.stream, "orders");
    assert_eq!(t.origin, TriggerOrigin::CommerceWebhook);
    assert_eq!(t.entity_id.as_deref(), Some("3"));
    assert_eq!(
        t.event.as_deref(),
        Some("observer.sales_order_save_commit_after")
    );

    // Timed: the answer comes well under 100 ms (signature computed beforehand; connection warm).
    let body = serde_json::to_vec(
        &json!({"eventName": "observer.sales_order_invoice_save_after",
        "data": {"invoice": {"entity_id": 9, "order_id": 3}}}),
    )
    .unwrap();
    let sig = sim.sign_commerce_webhook(&body).unwrap();
    let http = reqwest::Client::new();
    let mut worst = Duration::ZERO;
    for _ in 0..3 {
        let t0 = Instant::now();
        let r = http
            .post(&url)
            .header("x-adobe-commerce-webhook-signature", &sig)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let elapsed = t0.elapsed();
        assert_eq!(r.status().as_u16(), 200);
        worst = worst.max(elapsed);
    }
    assert!(worst < Duration::from_millis(100), "answered in {worst:?}");
    let t = rx.try_recv().unwrap();
    assert_eq!(t.stream, "invoices");
    assert_eq!(stats.enqueued.load(Ordering::Relaxed), 4);
}

#[tokio::test]
async fn a_forged_webhook_gets_401_and_enqueues_nothing() {
    let sim = sim().await;
    let (base, mut rx, _tx, stats) = serve(16, None).await;
    let url = format!("{base}/adobe/webhook");
    let http = reqwest::Client::new();
    let body = br#"{"eventName":"observer.sales_order_save_commit_after","data":{"order":{"entity_id":1}}}"#;
    let genuine = sim.sign_commerce_webhook(body).unwrap();

    // Signature of another body.
    let other = sim.sign_commerce_webhook(b"{}").unwrap();
    // The right signature over a tampered body.
    let tampered = br#"{"eventName":"observer.sales_order_save_commit_after","data":{"order":{"entity_id":2}}}"#;
    // A signature by another key (the I/O Events key).
    let wrong_key = sim.sign_io_event(&base64_of(body)).unwrap();
    for (b, sig) in [
        (&body[..], Some(other.as_str())),
        (&tampered[..], Some(genuine.as_str())),
        (&body[..], Some(wrong_key.as_str())),
        (&body[..], Some("bm90IGEgc2lnbmF0dXJl")),
        (&body[..], None),
    ] {
        let mut req = http.post(&url).body(b.to_vec());
        if let Some(s) = sig {
            req = req.header("x-adobe-commerce-webhook-signature", s);
        }
        assert_eq!(req.send().await.unwrap().status().as_u16(), 401);
    }
    assert!(rx.try_recv().is_err(), "nothing enqueued");
    assert_eq!(stats.rejected.load(Ordering::Relaxed), 5);
    assert_eq!(stats.enqueued.load(Ordering::Relaxed), 0);

    // The genuine one passes.
    let r = http
        .post(&url)
        .header("x-adobe-commerce-webhook-signature", genuine)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(rx.try_recv().is_ok());
}

fn base64_of(b: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(b)
        .into_bytes()
}

#[tokio::test]
async fn a_full_queue_still_answers_success() {
    let sim = sim().await;
    let (base, mut rx, tx, stats) = serve(1, None).await;
    // Fill the queue.
    tx.try_send(ml_connector::adobe::webhook::Trigger {
        stream: "orders".into(),
        origin: TriggerOrigin::CommerceWebhook,
        event: None,
        entity_id: None,
        received_at: chrono::Utc::now(),
    })
    .unwrap();
    let (status, body) = sim
        .send_commerce_webhook(
            &format!("{base}/adobe/webhook"),
            "observer.customer_save_commit_after",
            &json!({"customer": {"entity_id": 4}}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["op"],
        "success"
    );
    assert_eq!(stats.dropped.load(Ordering::Relaxed), 1);
    assert_eq!(stats.enqueued.load(Ordering::Relaxed), 0);
    assert_eq!(
        rx.try_recv().unwrap().stream,
        "orders",
        "only the pre-filled trigger"
    );
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn io_events_handshake_signature_and_recipient() {
    let sim = sim().await;
    let (base, mut rx, _tx, stats) = serve(8, Some("client-123")).await;
    let url = format!("{base}/adobe/events");
    let http = reqwest::Client::new();

    // Registration handshake.
    let r = http
        .get(format!(
            "{url}?challenge=8ec8d794-e0ab-42df-9017-e3dada8e84f7"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["challenge"], "8ec8d794-e0ab-42df-9017-e3dada8e84f7");

    // A signed delivery.
    let (status, _) = sim
        .send_io_event(
            &url,
            "com.adobe.commerce.observer.sales_order_creditmemo_save_after",
            "client-123",
            &json!({"entity_id": "17", "order_id": "3"}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let t = rx.try_recv().unwrap();
    assert_eq!(t.stream, "creditmemos");
    assert_eq!(t.origin, TriggerOrigin::IoEvent);
    assert_eq!(t.entity_id.as_deref(), Some("17"));

    // For another client id: refused.
    let (status, _) = sim
        .send_io_event(
            &url,
            "com.adobe.commerce.observer.sales_order_save_after",
            "someone-else",
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(status, 401);

    // Forged: the payload changed after signing.
    let body = br#"{"type":"com.adobe.commerce.observer.sales_order_save_after","recipient_client_id":"client-123","data":{"value":{"entity_id":"1"}}}"#;
    let sig = sim.sign_io_event(b"something else").unwrap();
    let r = http
        .post(&url)
        .header("x-adobe-digital-signature-1", sig)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Signature 2 may carry the valid one (key rotation).
    let good = sim.sign_io_event(body).unwrap();
    let r = http
        .post(&url)
        .header("x-adobe-digital-signature-1", "AAAA")
        .header("x-adobe-digital-signature-2", good)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(rx.try_recv().unwrap().stream, "orders");
    assert_eq!(stats.rejected.load(Ordering::Relaxed), 2);
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn unknown_events_are_acknowledged_without_a_trigger() {
    let sim = sim().await;
    let (base, mut rx, _tx, stats) = serve(8, None).await;
    let (status, _) = sim
        .send_commerce_webhook(
            &format!("{base}/adobe/webhook"),
            "observer.checkout_cart_add_product_complete",
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(rx.try_recv().is_err());
    assert_eq!(stats.ignored.load(Ordering::Relaxed), 1);
}
