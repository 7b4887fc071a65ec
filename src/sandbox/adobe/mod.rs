//! An in-process Adobe Commerce REST server that behaves like a real store.
//!
//! * **PaaS** routes `/rest/{store_code}/V1/…` (and `/rest/V1/…`) check OAuth 1.0a signatures
//!   exactly as Magento does: a bad signature is 401, HMAC-SHA1 is refused with 400 in 2.4.4+
//!   mode, a reused nonce is 401, a timestamp more than 600 s ahead is 400 — with the error
//!   bodies real stores send.
//! * **Cloud Service** routes `/{tenant}/V1/…` take a bearer token issued by the simulated IMS
//!   endpoint `POST /ims/token/v3` (client credentials; tokens expire), plus `x-api-key`,
//!   `x-gw-ims-org-id` and the `Store` header.
//! * `searchCriteria` filters, sorts and paging like a Magento collection; a pre-2.4 mode repeats
//!   the last page for pages past the end; an input-limit mode caps `pageSize`.
//! * A generated data set of any size from a seed: simple, configurable and bundle (dynamic and
//!   fixed price) lines, two stores (USD and EUR order currency on a USD base), guests, B2B
//!   companies, edited orders (`-1`, `-2`), partial invoices, several credit memos per order,
//!   online and offline refunds.
//! * Records keep changing while a client pages: a background mutator and/or mutations per
//!   request bump orders' `updated_at` to now.
//! * Fault injection: latency, 5xx, connection resets, 429 with `Retry-After`.
//! * It signs and sends Adobe Commerce webhooks and Adobe I/O Events.
//!
//! Everything is inspected and controlled from Rust through [`AdobeSim`].

mod data;
mod net;
mod oauth;
mod query;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering as AtomicOrdering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use chrono::Utc;
use rsa::RsaPrivateKey;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::adobe::config::{AdobeConfig, AdobeConfigBuilder, ImsCredentials};
use crate::adobe::oauth1::OAuth1Credentials;
use crate::error::{Context, Error, Result};

use data::{Db, Sizes};
use net::{ConnHandle, ResettableListener};
use oauth::Integration;

/// The simulator's settings.
#[derive(Debug, Clone)]
pub struct AdobeSimConfig {
    /// Seed of the generated data set.
    pub seed: u64,
    /// Number of orders (edited orders count as orders).
    pub orders: usize,
    /// Number of customers (default: a tenth of the orders, at least 20).
    pub customers: Option<usize>,
    /// Number of B2B companies (default: one per 200 orders, at least 3).
    pub companies: Option<usize>,
    /// Days of history the orders spread over (default 60).
    pub history_days: i64,
    /// Accept HMAC-SHA1 signatures (stores before 2.4.4). Default `false` (2.4.4+ mode).
    pub accept_sha1: bool,
    /// Pages past the end repeat the last page (stores before 2.4). Default `false`.
    pub repeat_last_page: bool,
    /// Web API input limits: `pageSize` above this is refused with 400, a missing `pageSize`
    /// gets 20. Default `None` (limits off, as shipped).
    pub max_page_size: Option<u32>,
    /// Lifetime of IMS tokens (default 24 h).
    pub ims_token_ttl: Duration,
    /// Cloud Service tenant id (default `sandbox-tenant`).
    pub tenant: String,
    /// Orders mutated on every REST request (default 0).
    pub mutations_per_request: usize,
    /// PEM private key the simulator signs Adobe Commerce webhooks with.
    pub webhook_private_key_pem: Option<String>,
    /// PEM private key the simulator signs Adobe I/O Events with.
    pub io_events_private_key_pem: Option<String>,
}

impl Default for AdobeSimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            orders: 200,
            customers: None,
            companies: None,
            history_days: 60,
            accept_sha1: false,
            repeat_last_page: false,
            max_page_size: None,
            ims_token_ttl: Duration::from_secs(86_399),
            tenant: "sandbox-tenant".into(),
            mutations_per_request: 0,
            webhook_private_key_pem: None,
            io_events_private_key_pem: None,
        }
    }
}

impl AdobeSimConfig {
    /// A 2.4.4+ store with `orders` orders.
    pub fn with_orders(orders: usize) -> Self {
        Self {
            orders,
            ..Self::default()
        }
    }

    /// A store before 2.4: HMAC-SHA1 accepted, the last page repeated past the end.
    #[must_use]
    pub fn legacy_pre_2_4(mut self) -> Self {
        self.accept_sha1 = true;
        self.repeat_last_page = true;
        self
    }
}

/// An injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this 5xx status and Magento's masked error body.
    ServerError(u16),
    /// 429 `{"message":"Too Many Requests","trace":null}` with `Retry-After`.
    Throttle {
        /// The `Retry-After` value.
        retry_after: Duration,
    },
    /// Reset the connection without answering.
    Reset,
    /// Delay the answer, then answer normally.
    Latency(Duration),
}

/// One request the simulator received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query.
    pub query: String,
    /// `paas`, `cloud`, `ims` or `unknown`.
    pub deployment: &'static str,
    /// Store scope (path code on PaaS, `Store` header on the Cloud Service).
    pub store: Option<String>,
    /// `oauth_signature_method` for signed requests.
    pub signature_method: Option<String>,
    /// Answer status (0 for a reset).
    pub status: u16,
    /// Client address.
    pub peer: SocketAddr,
}

struct SimState {
    cfg: AdobeSimConfig,
    db: Db,
    integration: Integration,
    ims_client_id: String,
    ims_client_secret: String,
    ims_org: String,
    nonces: HashSet<(String, String)>,
    ims_tokens: HashMap<String, Instant>,
    ims_issued: u64,
    log: Vec<RequestLog>,
    faults: VecDeque<Fault>,
    random_fault: Option<(f64, Fault)>,
    latency: Duration,
    rng: fastrand::Rng,
    webhook_key: Option<RsaPrivateKey>,
    io_key: Option<RsaPrivateKey>,
}

struct Shared {
    state: Mutex<SimState>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running simulator. Dropping it stops the server and the mutator.
pub struct AdobeSim {
    shared: Arc<Shared>,
    base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    mutator: Mutex<Option<JoinHandle<()>>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for AdobeSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdobeSim")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn parse_private_key(setting: &str, pem: &str) -> Result<RsaPrivateKey> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    RsaPrivateKey::from_pkcs1_pem(pem.trim())
        .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem.trim()))
        .map_err(|_| Error::config(setting, "not an RSA private key in PEM form"))
}

fn sim_error(message: impl Into<String>) -> Error {
    Error::Transport {
        ctx: Context::op("adobe-sim").into(),
        message: message.into(),
    }
}

impl AdobeSim {
    /// Generates the data set and starts the server on `127.0.0.1:0`.
    ///
    /// # Errors
    /// [`Error::Config`] for unreadable keys; [`Error::Transport`] when the port cannot be bound.
    pub async fn start(cfg: AdobeSimConfig) -> Result<Self> {
        let sizes = Sizes {
            orders: cfg.orders,
            customers: cfg.customers.unwrap_or((cfg.orders / 10).max(20)),
            companies: cfg.companies.unwrap_or((cfg.orders / 200).max(3)),
            history_days: cfg.history_days,
        };
        let webhook_key = cfg
            .webhook_private_key_pem
            .as_deref()
            .map(|p| parse_private_key("sandbox.adobe.webhook_private_key_pem", p))
            .transpose()?;
        let io_key = cfg
            .io_events_private_key_pem
            .as_deref()
            .map(|p| parse_private_key("sandbox.adobe.io_events_private_key_pem", p))
            .transpose()?;
        let db = Db::generate(cfg.seed, &sizes, Utc::now());
        let mut rng = fastrand::Rng::with_seed(cfg.seed ^ 0x5eed);
        let mut secret = |len: usize| -> String {
            std::iter::repeat_with(|| rng.alphanumeric())
                .take(len)
                .collect()
        };
        let integration = Integration {
            consumer_id: 1,
            consumer_key: secret(32),
            consumer_secret: secret(32),
            token: secret(32),
            token_secret: secret(32),
        };
        let state = SimState {
            ims_client_id: secret(32),
            ims_client_secret: secret(40),
            ims_org: format!("{}@AdobeOrg", secret(24).to_ascii_uppercase()),
            cfg,
            db,
            integration,
            nonces: HashSet::new(),
            ims_tokens: HashMap::new(),
            ims_issued: 0,
            log: Vec::new(),
            faults: VecDeque::new(),
            random_fault: None,
            latency: Duration::ZERO,
            rng,
            webhook_key,
            io_key,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| sim_error(format!("cannot bind 127.0.0.1:0: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| sim_error(e.to_string()))?;
        let app = Router::new()
            .route("/ims/token/v3", post(ims_token))
            .fallback(rest)
            .with_state(shared.clone())
            .into_make_service_with_connect_info::<ConnHandle>();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(ResettableListener(listener), app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            shared,
            base_url: format!("http://{addr}"),
            shutdown: Some(tx),
            server,
            mutator: Mutex::new(None),
            http: reqwest::Client::new(),
        })
    }

    /// `http://127.0.0.1:{port}`: the PaaS base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://127.0.0.1:{port}/{tenant}`: the Cloud Service base URL.
    pub fn cloud_base_url(&self) -> String {
        format!("{}/{}", self.base_url, self.shared.lock().cfg.tenant)
    }

    /// The IMS token endpoint.
    pub fn ims_token_url(&self) -> String {
        format!("{}/ims/token/v3", self.base_url)
    }

    /// The integration's four OAuth 1.0a values.
    pub fn oauth1_credentials(&self) -> OAuth1Credentials {
        let s = self.shared.lock();
        let i = &s.integration;
        OAuth1Credentials::new(
            &i.consumer_key,
            &i.consumer_secret,
            &i.token,
            &i.token_secret,
        )
    }

    /// IMS client credentials pointing at the simulator's token endpoint.
    pub fn ims_credentials(&self) -> ImsCredentials {
        let s = self.shared.lock();
        ImsCredentials::new(&s.ims_client_id, &s.ims_client_secret, &s.ims_org)
            .token_url(format!("{}/ims/token/v3", self.base_url))
    }

    /// A PaaS configuration for this simulator (OAuth 1.0a, store view `store_code`).
    pub fn paas_config(&self, store_code: &str) -> AdobeConfigBuilder {
        AdobeConfig::paas(self.base_url.clone(), self.oauth1_credentials()).store_code(store_code)
    }

    /// A Cloud Service configuration for this simulator (IMS, `Store: store_code`).
    pub fn cloud_config(&self, store_code: &str) -> AdobeConfigBuilder {
        AdobeConfig::cloud_service(self.cloud_base_url(), self.ims_credentials())
            .store_code(store_code)
    }

    /// Store views: `(store_id, code)`.
    pub fn stores(&self) -> Vec<(i64, String)> {
        self.shared
            .lock()
            .db
            .stores
            .iter()
            .map(|s| (s.id, s.code.clone()))
            .collect()
    }

    /// Number of orders.
    pub fn order_count(&self) -> usize {
        self.shared.lock().db.orders.rows.len()
    }

    /// Every order (a copy).
    pub fn orders(&self) -> Vec<Value> {
        self.shared.lock().db.orders.rows.clone()
    }

    /// One order by `entity_id`.
    pub fn order(&self, entity_id: i64) -> Option<Value> {
        self.shared.lock().db.orders.get(entity_id).cloned()
    }

    /// Every order's current version: store-scoped source id (`{store_id}:{increment_id}`) →
    /// `updated_at`.
    pub fn order_versions(&self) -> BTreeMap<String, String> {
        self.shared
            .lock()
            .db
            .orders
            .rows
            .iter()
            .map(|o| {
                (
                    format!(
                        "{}:{}",
                        o["store_id"],
                        o["increment_id"].as_str().unwrap_or_default()
                    ),
                    o["updated_at"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Every invoice (a copy).
    pub fn invoices(&self) -> Vec<Value> {
        self.shared.lock().db.invoices.rows.clone()
    }

    /// Every credit memo (a copy).
    pub fn creditmemos(&self) -> Vec<Value> {
        self.shared.lock().db.creditmemos.rows.clone()
    }

    /// Every customer (a copy).
    pub fn customers(&self) -> Vec<Value> {
        self.shared.lock().db.customers.rows.clone()
    }

    /// Every company (a copy).
    pub fn companies(&self) -> Vec<Value> {
        self.shared.lock().db.companies.rows.clone()
    }

    /// Every product (a copy).
    pub fn products(&self) -> Vec<Value> {
        self.shared.lock().db.products.rows.clone()
    }

    /// Mutates `n` random orders now (status moves on, `updated_at` = now); returns their ids.
    pub fn mutate_orders(&self, n: usize) -> Vec<i64> {
        let now = Utc::now().naive_utc();
        let mut s = self.shared.lock();
        (0..n).filter_map(|_| s.db.mutate_order(&now)).collect()
    }

    /// Starts a background task mutating `per_tick` orders every `every` (replaces a running one).
    pub fn start_mutator(&self, every: Duration, per_tick: usize) {
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let now = Utc::now().naive_utc();
                let mut s = shared.lock();
                for _ in 0..per_tick {
                    s.db.mutate_order(&now);
                }
            }
        });
        let mut m = self.mutator.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = m.replace(task) {
            old.abort();
        }
    }

    /// Stops the background mutator.
    pub fn stop_mutator(&self) {
        if let Some(t) = self
            .mutator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.abort();
        }
    }

    /// Orders mutated on every REST request.
    pub fn set_mutations_per_request(&self, n: usize) {
        self.shared.lock().cfg.mutations_per_request = n;
    }

    /// The next `times` REST requests get `fault`.
    pub fn inject(&self, fault: Fault, times: usize) {
        let mut s = self.shared.lock();
        for _ in 0..times {
            s.faults.push_back(fault.clone());
        }
    }

    /// Every REST request gets `fault` with probability `p` (0 turns it off).
    pub fn set_random_faults(&self, p: f64, fault: Fault) {
        self.shared.lock().random_fault = (p > 0.0).then_some((p, fault));
    }

    /// Delays every REST answer.
    pub fn set_latency(&self, d: Duration) {
        self.shared.lock().latency = d;
    }

    /// Accept HMAC-SHA1 (pre-2.4.4) or not.
    pub fn set_accept_sha1(&self, on: bool) {
        self.shared.lock().cfg.accept_sha1 = on;
    }

    /// Repeat the last page past the end (pre-2.4) or answer empty pages.
    pub fn set_repeat_last_page(&self, on: bool) {
        self.shared.lock().cfg.repeat_last_page = on;
    }

    /// Web API input limits (`None`: off).
    pub fn set_max_page_size(&self, max: Option<u32>) {
        self.shared.lock().cfg.max_page_size = max;
    }

    /// Expires every IMS token issued so far.
    pub fn expire_ims_tokens(&self) {
        let past = Instant::now();
        for exp in self.shared.lock().ims_tokens.values_mut() {
            *exp = past;
        }
    }

    /// IMS tokens issued so far.
    pub fn ims_tokens_issued(&self) -> u64 {
        self.shared.lock().ims_issued
    }

    /// Requests received so far (REST and IMS).
    pub fn requests(&self) -> Vec<RequestLog> {
        self.shared.lock().log.clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// The `x-adobe-commerce-webhook-signature` for `body`: base64 RSA-SHA256 over base64(body).
    ///
    /// # Errors
    /// [`Error::Config`] when no webhook key is configured.
    pub fn sign_commerce_webhook(&self, body: &[u8]) -> Result<String> {
        let key = self.shared.lock().webhook_key.clone().ok_or_else(|| {
            Error::config(
                "sandbox.adobe.webhook_private_key_pem",
                "set a private key to sign webhooks",
            )
        })?;
        let message = base64::engine::general_purpose::STANDARD.encode(body);
        Ok(rsa_sign(key, message.as_bytes()))
    }

    /// The `x-adobe-digital-signature-1` for an I/O Events `body` (RSA-SHA256 over the raw body).
    ///
    /// # Errors
    /// [`Error::Config`] when no I/O Events key is configured.
    pub fn sign_io_event(&self, body: &[u8]) -> Result<String> {
        let key = self.shared.lock().io_key.clone().ok_or_else(|| {
            Error::config(
                "sandbox.adobe.io_events_private_key_pem",
                "set a private key to sign I/O events",
            )
        })?;
        Ok(rsa_sign(key, body))
    }

    /// Sends a signed Adobe Commerce webhook (`{"eventName": event, "data": data}`) to `url`, as
    /// the store does; returns the status and body of the answer.
    ///
    /// # Errors
    /// [`Error::Config`] without a key, [`Error::Transport`] when the endpoint cannot be reached.
    pub async fn send_commerce_webhook(
        &self,
        url: &str,
        event: &str,
        data: &Value,
    ) -> Result<(u16, String)> {
        let body = serde_json::to_vec(&json!({"eventName": event, "data": data}))?;
        let sig = self.sign_commerce_webhook(&body)?;
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-adobe-commerce-webhook-signature", sig)
            .body(body)
            .send()
            .await
            .map_err(|e| sim_error(format!("webhook to {url}: {e}")))?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.unwrap_or_default()))
    }

    /// Sends a signed Adobe I/O Events delivery (CloudEvents envelope of `event_type` with
    /// `value`) to `url`; returns the status and body of the answer.
    ///
    /// # Errors
    /// [`Error::Config`] without a key, [`Error::Transport`] when the endpoint cannot be reached.
    pub async fn send_io_event(
        &self,
        url: &str,
        event_type: &str,
        recipient_client_id: &str,
        value: &Value,
    ) -> Result<(u16, String)> {
        let id = uuid::Uuid::new_v4().to_string();
        let body = serde_json::to_vec(&json!({
            "specversion": "1.0", "id": id, "source": "urn:uuid:sandbox",
            "type": event_type, "datacontenttype": "application/json",
            "time": Utc::now().to_rfc3339(), "event_id": id,
            "recipient_client_id": recipient_client_id,
            "data": {"key": id, "value": value, "source": "sandbox.Stage",
                "_metadata": {"commerceEdition": "Adobe Commerce", "storeId": "1", "websiteId": "1"}}
        }))?;
        let sig = self.sign_io_event(&body)?;
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-adobe-digital-signature-1", sig)
            .header("x-adobe-public-key1-path", "/prod/keys/pub-key-sandbox.pem")
            .body(body)
            .send()
            .await
            .map_err(|e| sim_error(format!("event to {url}: {e}")))?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.unwrap_or_default()))
    }
}

fn rsa_sign(key: RsaPrivateKey, message: &[u8]) -> String {
    use rsa::signature::{SignatureEncoding, Signer};
    let sig = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key).sign(message);
    base64::engine::general_purpose::STANDARD.encode(sig.to_bytes())
}

impl Drop for AdobeSim {
    fn drop(&mut self) {
        self.stop_mutator();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.abort();
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body.to_string(),
    )
        .into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

async fn ims_token(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut s = shared.lock();
    let (status, answer) = if form.get("grant_type").map(String::as_str)
        != Some("client_credentials")
    {
        (
            400,
            json!({"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"}),
        )
    } else if form.get("client_id") != Some(&s.ims_client_id)
        || form.get("client_secret") != Some(&s.ims_client_secret)
    {
        (
            401,
            json!({"error": "invalid_client", "error_description": "invalid client_id or client_secret"}),
        )
    } else if !form
        .get("scope")
        .is_some_and(|sc| sc.split([',', ' ']).any(|x| x == "commerce.accs"))
    {
        (
            400,
            json!({"error": "invalid_scope", "error_description": "commerce.accs scope missing"}),
        )
    } else {
        let token: String = std::iter::repeat_with(|| s.rng.alphanumeric())
            .take(48)
            .collect();
        let ttl = s.cfg.ims_token_ttl;
        s.ims_tokens.insert(token.clone(), Instant::now() + ttl);
        s.ims_issued += 1;
        (
            200,
            json!({"access_token": token, "token_type": "bearer", "expires_in": ttl.as_secs().max(1)}),
        )
    };
    s.log.push(RequestLog {
        method: "POST".into(),
        path: uri.path().to_string(),
        query: String::new(),
        deployment: "ims",
        store: None,
        signature_method: None,
        status,
        peer: conn.remote,
    });
    json_response(status, &answer)
}

/// Where a REST request goes.
struct Route {
    deployment: &'static str,
    store: String,
    /// Path after `V1/`.
    resource: String,
}

fn route(path: &str, headers: &HeaderMap, tenant: &str) -> Option<Route> {
    let segs: Vec<&str> = path.trim_start_matches('/').splitn(4, '/').collect();
    match segs.as_slice() {
        ["rest", "V1", rest @ ..] => Some(Route {
            deployment: "paas",
            store: "default".into(),
            resource: rest.join("/"),
        }),
        ["rest", store, "V1", rest @ ..] => Some(Route {
            deployment: "paas",
            store: (*store).to_string(),
            resource: rest.join("/"),
        }),
        [t, "V1", rest @ ..] if *t == tenant => Some(Route {
            deployment: "cloud",
            store: headers
                .get("store")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("default")
                .to_string(),
            resource: rest.join("/"),
        }),
        _ => None,
    }
}

fn no_route() -> (u16, Value) {
    (404, json!({"message": "Request does not match any route."}))
}

fn decide_fault(s: &mut SimState) -> Option<Fault> {
    if let Some(f) = s.faults.pop_front() {
        return Some(f);
    }
    let (p, f) = s.random_fault.clone()?;
    (s.rng.f64() < p).then_some(f)
}

async fn rest(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let raw_uri = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| uri.path().to_string());
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let mut log = RequestLog {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        deployment: "unknown",
        store: None,
        signature_method: None,
        status: 0,
        peer: conn.remote,
    };
    let (fault, latency) = {
        let mut s = shared.lock();
        (decide_fault(&mut s), s.latency)
    };
    let mut delay = latency;
    if let Some(Fault::Latency(d)) = &fault {
        delay += *d;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match fault {
        Some(Fault::Reset) => {
            conn.kill.store(true, AtomicOrdering::Relaxed);
            shared.lock().log.push(log);
            return StatusCode::OK.into_response();
        }
        Some(Fault::ServerError(code)) => {
            log.status = code;
            shared.lock().log.push(log);
            return json_response(
                code,
                &json!({"message": "Internal Error. Details are available in Magento log file. Report ID: webapi-sandbox"}),
            );
        }
        Some(Fault::Throttle { retry_after }) => {
            log.status = 429;
            shared.lock().log.push(log);
            let mut r = json_response(429, &json!({"message": "Too Many Requests", "trace": null}));
            if let Ok(v) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            return r;
        }
        _ => {}
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut s = shared.lock();
    let now = Utc::now();
    for _ in 0..s.cfg.mutations_per_request {
        s.db.mutate_order(&now.naive_utc());
    }
    let tenant = s.cfg.tenant.clone();
    let (status, body) = match route(&path, &headers, &tenant) {
        None => no_route(),
        Some(r) => {
            log.deployment = r.deployment;
            log.store = Some(r.store.clone());
            match authorize(
                &mut s,
                &r,
                &method,
                &host,
                &raw_uri,
                &headers,
                now.timestamp(),
                &mut log,
            ) {
                Err((st, b)) => (st, b),
                Ok(()) if r.store != "all" && s.db.store_by_code(&r.store).is_none() => (
                    400,
                    json!({"message": "The store that was requested wasn't found. Verify the store and try again."}),
                ),
                Ok(()) if method != Method::GET => no_route(),
                Ok(()) => dispatch(&s, &r, &query),
            }
        }
    };
    log.status = status;
    s.log.push(log);
    drop(s);
    json_response(status, &body)
}

#[allow(clippy::too_many_arguments)]
fn authorize(
    s: &mut SimState,
    r: &Route,
    method: &Method,
    host: &str,
    raw_uri: &str,
    headers: &HeaderMap,
    now: i64,
    log: &mut RequestLog,
) -> std::result::Result<(), (u16, Value)> {
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if r.deployment == "paas" {
        log.signature_method = auth
            .and_then(oauth::header_params)
            .and_then(|p| p.get("oauth_signature_method").cloned());
        let SimState {
            integration,
            nonces,
            cfg,
            ..
        } = s;
        return oauth::verify(
            method.as_str(),
            &format!("http://{host}"),
            raw_uri,
            auth,
            integration,
            cfg.accept_sha1,
            nonces,
            now,
        )
        .map_err(|e| (e.status, e.body));
    }
    let token = auth.and_then(|a| {
        a.strip_prefix("Bearer ")
            .or_else(|| a.strip_prefix("bearer "))
    });
    let valid = token
        .and_then(|t| s.ims_tokens.get(t.trim()))
        .is_some_and(|exp| Instant::now() < *exp);
    if !valid {
        return Err((401, json!({"message": "Invalid or expired access token"})));
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("x-api-key") != Some(s.ims_client_id.as_str()) {
        return Err((403, json!({"message": "Api Key is invalid"})));
    }
    if header("x-gw-ims-org-id") != Some(s.ims_org.as_str()) {
        return Err((403, json!({"message": "Invalid IMS organization"})));
    }
    Ok(())
}

fn not_found() -> (u16, Value) {
    (
        404,
        json!({"message": "The entity that was requested doesn't exist. Verify the entity and try again."}),
    )
}

fn dispatch(s: &SimState, r: &Route, query: &str) -> (u16, Value) {
    let res = r.resource.trim_end_matches('/');
    let (head, tail) = res.split_once('/').unwrap_or((res, ""));
    let by_id = |t: &data::Table| -> (u16, Value) {
        match tail.parse::<i64>().ok().and_then(|id| t.get(id)) {
            Some(v) => (200, v.clone()),
            None => not_found(),
        }
    };
    match (head, tail) {
        ("orders", "") => search(s, &s.db.orders.rows, query, None),
        ("orders", _) => by_id(&s.db.orders),
        ("invoices", "") => search(s, &s.db.invoices.rows, query, None),
        ("invoices", _) => by_id(&s.db.invoices),
        ("creditmemos", "") => search(s, &s.db.creditmemos.rows, query, None),
        ("creditmemo", t) if !t.is_empty() => by_id(&s.db.creditmemos),
        ("customers", "search") => search(s, &s.db.customers.rows, query, None),
        ("customers", t) if !t.is_empty() => by_id(&s.db.customers),
        ("company", "") => search(s, &s.db.companies.rows, query, None),
        ("company", _) => by_id(&s.db.companies),
        ("products", "") => search(s, &s.db.products.rows, query, Some(&r.store)),
        ("products", sku) => {
            let sku = percent_encoding::percent_decode_str(sku).decode_utf8_lossy();
            match s.db.products.rows.iter().find(|p| p["sku"] == *sku) {
                Some(p) => (200, localise(s, p.clone(), &r.store)),
                None => not_found(),
            }
        }
        _ => no_route(),
    }
}

/// Store-view attribute values (the store code selects them; it does not filter).
fn localise(s: &SimState, mut p: Value, store: &str) -> Value {
    if let Some(sku) = p["sku"].as_str()
        && let Some(name) =
            s.db.product_names
                .get(&(sku.to_string(), store.to_string()))
    {
        p["name"] = json!(name);
    }
    p
}

fn search(s: &SimState, rows: &[Value], query: &str, store: Option<&str>) -> (u16, Value) {
    let c = query::parse(query);
    if !c.present {
        return (
            400,
            json!({"message": "%fieldName is a required field.", "parameters": {"fieldName": "searchCriteria"}}),
        );
    }
    let default_size = s.cfg.max_page_size.map(|_| 20);
    if let (Some(max), Some(size)) = (s.cfg.max_page_size, c.page_size)
        && size > u64::from(max)
    {
        return (
            400,
            json!({"message": "Maximum SearchCriteria pageSize is %max", "parameters": {"max": max}}),
        );
    }
    match query::run(rows, &c, s.cfg.repeat_last_page, default_size) {
        Err(cond) => (
            400,
            json!({"message": "Invalid value of \"%value\" provided for the %fieldName field.",
                   "parameters": {"value": cond, "fieldName": "condition_type"}}),
        ),
        Ok(found) => {
            let items: Vec<Value> = match store {
                Some(st) => found
                    .items
                    .into_iter()
                    .map(|p| localise(s, p, st))
                    .collect(),
                None => found.items,
            };
            let body = json!({"items": items, "search_criteria": query::echo(&c), "total_count": found.total});
            match &c.fields {
                Some(f) => (200, query::project(&body, f)),
                None => (200, body),
            }
        }
    }
}
