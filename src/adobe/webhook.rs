//! Push triggers: Adobe Commerce webhooks and Adobe I/O Events (feature `webhooks`).
//!
//! Both endpoints verify the signature on the **raw** request bytes, enqueue a
//! [`Trigger`] ("poll this stream now") into a bounded `tokio::sync::mpsc` channel with
//! `try_send`, and answer `{"op":"success"}` at once. A full queue still answers success: the
//! change is picked up by the next regular poll, whereas a slow or failing hook would block the
//! storefront (a `required` webhook aborts the shopper's action). A missing or bad signature gets
//! 401 and enqueues nothing.
//!
//! * **Adobe Commerce webhooks** (`POST /adobe/webhook`): header
//!   `x-adobe-commerce-webhook-signature` = base64 RSA-SHA256 (PKCS#1 v1.5) signature over the
//!   **base64 encoding of the raw body**, verified with the public key copied from the Admin
//!   (Stores > Configuration > Adobe Services > Webhooks).
//! * **Adobe I/O Events** (`GET`/`POST /adobe/events`): the registration handshake
//!   `GET ?challenge=…` is answered with `{"challenge":"…"}`; deliveries carry
//!   `x-adobe-digital-signature-1`/`-2` (RSA-SHA256 over the raw body) and
//!   `x-adobe-public-key1-path`/`-2-path`. The keys are configured (downloaded once from
//!   `https://static.adobeioevents.com` and rotated by the host), not fetched per request.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ml_connector::adobe::webhook::{WebhookConfig, router};
//! let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
//! let cfg = WebhookConfig::new()
//!     .commerce_public_key_pem(&std::fs::read_to_string("commerce-webhook.pem")?)?;
//! let app = router(cfg, tx);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! tokio::spawn(async move { axum::serve(listener, app).await });
//! while let Some(trigger) = rx.recv().await {
//!     println!("poll {} now", trigger.stream);
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::error::{Error, Result};

/// Where a trigger came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerOrigin {
    /// An Adobe Commerce webhook.
    CommerceWebhook,
    /// An Adobe I/O Events delivery.
    IoEvent,
}

/// "Poll this stream now": the record is then read by the regular incremental loop, which also
/// covers triggers that were dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// The stream to poll (`orders`, `invoices`, `creditmemos`, `customers`, `companies`,
    /// `products`).
    pub stream: String,
    /// Where it came from.
    pub origin: TriggerOrigin,
    /// The event or hook name (`observer.sales_order_save_commit_after`).
    pub event: Option<String>,
    /// The entity id in the payload, when there is one (useful for a targeted fetch).
    pub entity_id: Option<String>,
    /// When it was received.
    pub received_at: DateTime<Utc>,
}

/// Counters of the endpoints (for health checks and tests).
#[derive(Debug, Default)]
pub struct WebhookStats {
    /// Triggers enqueued.
    pub enqueued: AtomicU64,
    /// Valid deliveries whose trigger was dropped because the queue was full or closed.
    pub dropped: AtomicU64,
    /// Valid deliveries with no stream to poll (unknown event).
    pub ignored: AtomicU64,
    /// Deliveries refused for a missing or bad signature.
    pub rejected: AtomicU64,
}

/// Settings of the endpoints.
#[derive(Clone, Default)]
pub struct WebhookConfig {
    commerce_keys: Vec<RsaPublicKey>,
    io_keys: Vec<RsaPublicKey>,
    io_client_id: Option<String>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("commerce_keys", &self.commerce_keys.len())
            .field("io_keys", &self.io_keys.len())
            .field("io_client_id", &self.io_client_id)
            .finish()
    }
}

/// Parses an RSA public key in PEM (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`).
///
/// # Errors
/// [`Error::Config`] naming `setting` when the PEM is not an RSA public key.
pub fn parse_public_key(setting: &str, pem: &str) -> Result<RsaPublicKey> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    let pem = pem.trim();
    RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|_| {
            Error::config(
                setting,
                "not an RSA public key in PEM form; paste the key from the Admin (\"Copy public key\") including the BEGIN/END lines",
            )
        })
}

impl WebhookConfig {
    /// No keys: every delivery is refused until a key is added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the Adobe Commerce webhook public key (several keys are accepted during rotation).
    ///
    /// # Errors
    /// [`Error::Config`] when the PEM is not an RSA public key.
    pub fn commerce_public_key_pem(mut self, pem: &str) -> Result<Self> {
        self.commerce_keys
            .push(parse_public_key("adobe.webhooks.commerce_public_key", pem)?);
        Ok(self)
    }

    /// Adds an Adobe I/O Events public key.
    ///
    /// # Errors
    /// [`Error::Config`] when the PEM is not an RSA public key.
    pub fn io_events_public_key_pem(mut self, pem: &str) -> Result<Self> {
        self.io_keys.push(parse_public_key(
            "adobe.webhooks.io_events_public_key",
            pem,
        )?);
        Ok(self)
    }

    /// Requires `recipient_client_id` of I/O events to equal `client_id`.
    #[must_use]
    pub fn io_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.io_client_id = Some(client_id.into());
        self
    }
}

fn verify_any(keys: &[RsaPublicKey], message: &[u8], signature_b64: &str) -> bool {
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(sig.as_slice()) else {
        return false;
    };
    keys.iter().any(|k| {
        VerifyingKey::<Sha256>::new(k.clone())
            .verify(message, &sig)
            .is_ok()
    })
}

/// Verifies an Adobe Commerce webhook signature: RSA-SHA256 over base64(`raw_body`).
pub fn verify_commerce_signature(
    keys: &[RsaPublicKey],
    raw_body: &[u8],
    signature_b64: &str,
) -> bool {
    let message = base64::engine::general_purpose::STANDARD.encode(raw_body);
    verify_any(keys, message.as_bytes(), signature_b64)
}

/// Verifies an Adobe I/O Events signature: RSA-SHA256 over the raw body.
pub fn verify_io_signature(keys: &[RsaPublicKey], raw_body: &[u8], signature_b64: &str) -> bool {
    verify_any(keys, raw_body, signature_b64)
}

/// The stream an event or hook name concerns (`observer.sales_order_invoice_save_after` →
/// `invoices`); `None` for events the connector does not read.
pub fn stream_for_event(name: &str) -> Option<&'static str> {
    let n = name.to_ascii_lowercase();
    if n.contains("creditmemo") {
        Some("creditmemos")
    } else if n.contains("invoice") {
        Some("invoices")
    } else if n.contains("company") {
        Some("companies")
    } else if ["cart", "quote", "checkout", "wishlist"]
        .iter()
        .any(|x| n.contains(x))
    {
        // Shopper-session events: nothing the connector replicates.
        None
    } else if n.contains("order") {
        Some("orders")
    } else if n.contains("customer") {
        Some("customers")
    } else if n.contains("catalog_product") || n.contains("product_save") {
        Some("products")
    } else {
        None
    }
}

struct Shared {
    cfg: WebhookConfig,
    tx: mpsc::Sender<Trigger>,
    stats: Arc<WebhookStats>,
}

fn success() -> Response {
    (StatusCode::OK, axum::Json(json!({"op": "success"}))).into_response()
}

fn unauthorized(what: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"op": "exception", "message": what})),
    )
        .into_response()
}

fn entity_id_of(data: Option<&Value>) -> Option<String> {
    let d = data?;
    let obj = d.get("value").unwrap_or(d);
    let find = |o: &Value| {
        ["entity_id", "order_id", "id", "sku"]
            .iter()
            .find_map(|k| o.get(*k).and_then(super::wire::de::value_to_id))
    };
    find(obj).or_else(|| obj.as_object()?.values().find_map(find))
}

impl Shared {
    fn enqueue(&self, t: Option<Trigger>) {
        let Some(t) = t else {
            self.stats.ignored.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let stream = t.stream.clone();
        match self.tx.try_send(t) {
            Ok(()) => {
                self.stats.enqueued.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                let why = match e {
                    mpsc::error::TrySendError::Full(_) => "full",
                    mpsc::error::TrySendError::Closed(_) => "closed",
                };
                tracing::warn!(
                    %stream,
                    "trigger queue {why}; the change is left to the next poll"
                );
            }
        }
    }
}

async fn commerce_webhook(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sig = headers
        .get("x-adobe-commerce-webhook-signature")
        .and_then(|v| v.to_str().ok());
    let Some(sig) = sig else {
        s.stats.rejected.fetch_add(1, Ordering::Relaxed);
        return unauthorized("missing x-adobe-commerce-webhook-signature");
    };
    if !verify_commerce_signature(&s.cfg.commerce_keys, &body, sig) {
        s.stats.rejected.fetch_add(1, Ordering::Relaxed);
        return unauthorized("invalid webhook signature");
    }
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let event = payload
        .get("eventName")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            headers
                .get("x-adobe-commerce-webhook-name")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
    let trigger = event
        .as_deref()
        .and_then(stream_for_event)
        .map(|stream| Trigger {
            stream: stream.to_string(),
            origin: TriggerOrigin::CommerceWebhook,
            event: event.clone(),
            entity_id: entity_id_of(payload.get("data")),
            received_at: Utc::now(),
        });
    s.enqueue(trigger);
    success()
}

async fn io_challenge(Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    match q.get("challenge") {
        Some(c) => (StatusCode::OK, axum::Json(json!({"challenge": c}))).into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"message": "missing challenge"})),
        )
            .into_response(),
    }
}

async fn io_event(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let sigs: Vec<&str> = ["x-adobe-digital-signature-1", "x-adobe-digital-signature-2"]
        .iter()
        .filter_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .collect();
    if sigs.is_empty()
        || !sigs
            .iter()
            .any(|sig| verify_io_signature(&s.cfg.io_keys, &body, sig))
    {
        s.stats.rejected.fetch_add(1, Ordering::Relaxed);
        return unauthorized("invalid or missing x-adobe-digital-signature");
    }
    let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // Registration may also POST the challenge.
    if let Some(c) = payload.get("challenge").and_then(Value::as_str) {
        return (StatusCode::OK, axum::Json(json!({"challenge": c}))).into_response();
    }
    if let Some(expected) = &s.cfg.io_client_id {
        let got = payload
            .get("recipient_client_id")
            .or_else(|| payload.get("recipientclientid"))
            .and_then(Value::as_str);
        if got != Some(expected.as_str()) {
            s.stats.rejected.fetch_add(1, Ordering::Relaxed);
            return unauthorized("event is for another client id");
        }
    }
    let event = payload
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_string);
    let trigger = event
        .as_deref()
        .and_then(stream_for_event)
        .map(|stream| Trigger {
            stream: stream.to_string(),
            origin: TriggerOrigin::IoEvent,
            event: event.clone(),
            entity_id: entity_id_of(payload.get("data")),
            received_at: Utc::now(),
        });
    s.enqueue(trigger);
    success()
}

/// The endpoints, with their counters: `POST /adobe/webhook` (Adobe Commerce webhooks) and
/// `GET`/`POST /adobe/events` (Adobe I/O Events). Mount the router where the host likes.
pub fn router_with_stats(
    cfg: WebhookConfig,
    tx: mpsc::Sender<Trigger>,
) -> (Router, Arc<WebhookStats>) {
    let stats = Arc::new(WebhookStats::default());
    let shared = Arc::new(Shared {
        cfg,
        tx,
        stats: stats.clone(),
    });
    let app = Router::new()
        .route("/adobe/webhook", post(commerce_webhook))
        .route(
            "/adobe/events",
            axum::routing::get(io_challenge).post(io_event),
        )
        .with_state(shared);
    (app, stats)
}

/// The endpoints (see [`router_with_stats`]).
pub fn router(cfg: WebhookConfig, tx: mpsc::Sender<Trigger>) -> Router {
    router_with_stats(cfg, tx).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_map_to_streams() {
        assert_eq!(
            stream_for_event("observer.sales_order_invoice_save_after"),
            Some("invoices")
        );
        assert_eq!(
            stream_for_event("com.adobe.commerce.observer.sales_order_creditmemo_save_after"),
            Some("creditmemos")
        );
        assert_eq!(
            stream_for_event("observer.sales_order_save_commit_after"),
            Some("orders")
        );
        assert_eq!(
            stream_for_event("com.adobe.commerce.observer.catalog_product_save_commit_after"),
            Some("products")
        );
        assert_eq!(
            stream_for_event("observer.company_save_commit_after"),
            Some("companies")
        );
        assert_eq!(stream_for_event("observer.checkout_cart_add"), None);
        assert_eq!(
            stream_for_event("observer.checkout_cart_add_product_complete"),
            None
        );
    }

    #[test]
    fn bad_pem_names_the_setting() {
        let e = WebhookConfig::new()
            .commerce_public_key_pem("not a key")
            .unwrap_err();
        assert!(e.to_string().contains("commerce_public_key"), "{e}");
    }
}
