//! Request dispatch of the SP-API simulator.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{
    AmazonSimConfig, Bucket, Fault, PageToken, Shared, SimGrant, SimListing, SimListingWrite,
    SimOrder, SimOrderStatus, SimRequest, State,
};
use crate::amazon::limits::{self, published};
use crate::amazon::region::marketplace;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

pub(super) fn limit_of(cfg: &AmazonSimConfig, op: &str) -> Option<(f64, u32)> {
    cfg.limits
        .get(op)
        .copied()
        .or_else(|| published(op).map(|l| (l.rate, l.burst)))
}

/// What a handler answers.
struct Answer {
    status: StatusCode,
    body: Body,
    content_type: String,
}

impl Answer {
    fn json(status: u16, v: Value) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: Body::from(v.to_string()),
            content_type: "application/json".into(),
        }
    }
    fn error(status: u16, code: &str, message: &str, details: &str) -> Self {
        Self::json(
            status,
            json!({"errors":[{"code": code, "message": message, "details": details}]}),
        )
    }
    fn invalid(message: &str) -> Self {
        Self::error(400, "InvalidInput", message, "")
    }
}

struct Req<'a> {
    op: &'static str,
    segments: Vec<String>,
    query: Vec<(String, String)>,
    headers: &'a HeaderMap,
    body: &'a Bytes,
    rdt_elements: Option<Vec<String>>,
}

impl Req<'_> {
    fn get(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }
    fn list(&self, k: &str) -> Vec<String> {
        self.get(k)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn operation(method: &Method, segs: &[String]) -> Option<&'static str> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    Some(match (method.as_str(), s.as_slice()) {
        ("POST", ["auth", "o2", "token"]) => "token",
        ("GET", ["orders", "2026-01-01", "orders"]) => limits::SEARCH_ORDERS,
        ("GET", ["orders", "2026-01-01", "orders", _]) => limits::GET_ORDER,
        ("GET", ["orders", "v0", "orders"]) => limits::GET_ORDERS_V0,
        ("GET", ["orders", "v0", "orders", _]) => limits::GET_ORDER_V0,
        ("GET", ["orders", "v0", "orders", _, "orderItems"]) => limits::GET_ORDER_ITEMS,
        ("POST", ["tokens", "2021-03-01", "restrictedDataToken"]) => limits::CREATE_RDT,
        ("GET", ["reports", "2021-06-30", "reports"]) => limits::GET_REPORTS,
        ("GET", ["reports", "2021-06-30", "documents", _]) => limits::GET_REPORT_DOCUMENT,
        ("GET", ["download", _]) => "download",
        ("GET", ["finances", "2024-06-19", "transactions"]) => limits::LIST_TRANSACTIONS,
        ("GET", ["fba", "inventory", "v1", "summaries"]) => limits::GET_INVENTORY_SUMMARIES,
        ("GET", ["listings", "2021-08-01", "items", _, _]) => limits::GET_LISTINGS_ITEM,
        ("PUT", ["listings", "2021-08-01", "items", _, _]) => limits::PUT_LISTINGS_ITEM,
        ("PATCH", ["listings", "2021-08-01", "items", _, _]) => limits::PATCH_LISTINGS_ITEM,
        ("GET", ["sellers", "v1", "marketplaceParticipations"]) => {
            limits::GET_MARKETPLACE_PARTICIPATIONS
        }
        _ => return None,
    })
}

async fn handle(
    AxState(shared): AxState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    let raw_query = uri.query().unwrap_or("").to_string();
    let query: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let access_token = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let now = Instant::now();
    let Some(op) = operation(&method, &segments) else {
        return finish(
            &shared,
            "unknown",
            &method,
            &path,
            &query,
            &raw_query,
            &user_agent,
            access_token.is_some(),
            false,
            None,
            Answer::error(404, "NotFound", "Resource not found", &path),
            None,
        );
    };
    let json_body: Option<Value> = serde_json::from_slice(&body).ok();

    if op == "token" {
        let answer = token_endpoint(&shared, &body);
        return finish(
            &shared,
            op,
            &method,
            &path,
            &query,
            &raw_query,
            &user_agent,
            false,
            false,
            None,
            answer,
            None,
        );
    }
    if op == "download" {
        let answer = download(&shared, &segments, &headers, now);
        return finish(
            &shared,
            op,
            &method,
            &path,
            &query,
            &raw_query,
            &user_agent,
            access_token.is_some(),
            false,
            None,
            answer,
            None,
        );
    }

    let scale = shared.cfg.time_scale;
    let rate = limit_of(&shared.cfg, op);
    // The next injected fault of this operation; latency is served before anything else.
    let fault = shared
        .lock()
        .faults
        .get_mut(op)
        .and_then(|q| q.pop_front())
        .flatten();
    let now = match fault {
        Some(Fault::Latency(d)) => {
            tokio::time::sleep(d).await;
            Instant::now()
        }
        _ => now,
    };
    // 1. User-Agent, 2. auth, 3. injected faults, 4. usage plan, 5. the operation.
    let mut used_rdt = false;
    let answer = 'answer: {
        if user_agent
            .as_deref()
            .is_none_or(|ua| ua.is_empty() || ua.len() > 500)
        {
            break 'answer Answer::invalid(
                "A User-Agent header of at most 500 characters is required",
            );
        }
        let rdt_elements;
        {
            let st = shared.lock();
            let Some(tok) = access_token.as_deref() else {
                break 'answer Answer::error(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "Access token is missing in the request header.",
                );
            };
            if let Some((exp, grantless)) = st.access_tokens.get(tok) {
                if *exp <= now {
                    break 'answer Answer::error(
                        403,
                        "Unauthorized",
                        "Access to requested resource is denied.",
                        "The access token you provided has expired.",
                    );
                }
                if *grantless {
                    break 'answer Answer::error(
                        403,
                        "Unauthorized",
                        "Access to requested resource is denied.",
                        "",
                    );
                }
                rdt_elements = None;
            } else if let Some((exp, elements)) = st.rdts.get(tok) {
                if *exp <= now {
                    break 'answer Answer::error(
                        403,
                        "Unauthorized",
                        "Access to requested resource is denied.",
                        "The access token you provided has expired.",
                    );
                }
                if !matches!(
                    op,
                    limits::GET_ORDERS_V0 | limits::GET_ORDER_V0 | limits::GET_ORDER_ITEMS
                ) {
                    break 'answer Answer::error(
                        403,
                        "Unauthorized",
                        "Access to requested resource is denied.",
                        "",
                    );
                }
                used_rdt = true;
                rdt_elements = Some(elements.clone());
            } else {
                break 'answer Answer::error(
                    403,
                    "Unauthorized",
                    "Access to requested resource is denied.",
                    "The access token you provided is revoked, malformed or invalid.",
                );
            }
        }
        {
            let mut st = shared.lock();
            match fault {
                Some(Fault::Throttle) => break 'answer throttled(),
                Some(Fault::Status(s)) => {
                    break 'answer Answer::error(
                        s,
                        "InternalFailure",
                        "We encountered an internal error. Please try again.",
                        "",
                    );
                }
                Some(Fault::Latency(_)) | None => {}
            }
            if let Some((r, b)) = rate {
                let bucket = st
                    .buckets
                    .entry(op.to_string())
                    .or_insert_with(|| Bucket::new(r, b, shared.started));
                if !bucket.take(now, scale) {
                    st.stats.entry(op.into()).or_default().throttled_by_bucket += 1;
                    break 'answer throttled();
                }
            }
        }
        let req = Req {
            op,
            segments,
            query: query.clone(),
            headers: &headers,
            body: &body,
            rdt_elements,
        };
        dispatch(&shared, &req, now)
    };
    finish(
        &shared,
        op,
        &method,
        &path,
        &query,
        &raw_query,
        &user_agent,
        access_token.is_some(),
        used_rdt,
        json_body,
        answer,
        rate.map(|(r, _)| r),
    )
}

fn throttled() -> Answer {
    Answer::error(
        429,
        "QuotaExceeded",
        "You exceeded your quota for the requested resource.",
        "",
    )
}

#[allow(clippy::too_many_arguments)]
fn finish(
    shared: &Shared,
    op: &str,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    raw_query: &str,
    user_agent: &Option<String>,
    had_token: bool,
    used_rdt: bool,
    body: Option<Value>,
    answer: Answer,
    rate: Option<f64>,
) -> Response {
    let status = answer.status.as_u16();
    {
        let mut st = shared.lock();
        let s = st.stats.entry(op.to_string()).or_default();
        s.requests += 1;
        match status {
            200..=299 => s.succeeded += 1,
            429 => s.throttled += 1,
            _ => s.failed += 1,
        }
        st.log.push(SimRequest {
            operation: op.to_string(),
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_vec(),
            raw_query: raw_query.to_string(),
            user_agent: user_agent.clone(),
            had_access_token: had_token,
            used_rdt,
            body,
            status,
            at: Instant::now(),
        });
    }
    let mut resp = Response::new(answer.body);
    *resp.status_mut() = answer.status;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&answer.content_type) {
        h.insert("content-type", v);
    }
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        h.insert("x-amzn-RequestId", v);
    }
    // "returned … on a best-effort basis, for HTTP status codes 20x, 400 and 404 only".
    if let Some(r) = rate
        && matches!(status, 200..=299 | 400 | 404)
        && let Ok(v) = HeaderValue::from_str(&format!("{r}"))
    {
        h.insert("x-amzn-RateLimit-Limit", v);
    }
    resp
}

fn next_id(st: &mut State) -> u64 {
    st.counter += 1;
    st.counter
}

fn scaled(cfg: &AmazonSimConfig, d: Duration) -> Duration {
    super::real_duration(d, cfg.time_scale)
}

// ---- LWA ------------------------------------------------------------------------------------

fn token_endpoint(shared: &Shared, body: &Bytes) -> Answer {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| form.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
    let cfg = &shared.cfg;
    let grant_type = get("grant_type").unwrap_or("").to_string();
    let scope = get("scope").map(str::to_string);
    let mut st = shared.lock();
    let answer = if get("client_id") != Some(cfg.client_id.as_str())
        || get("client_secret") != Some(cfg.client_secret.as_str())
    {
        Answer::json(
            401,
            json!({"error_description":"Client authentication failed","error":"invalid_client"}),
        )
    } else {
        match grant_type.as_str() {
            "refresh_token" => {
                if st.refresh_revoked || get("refresh_token") != Some(cfg.refresh_token.as_str()) {
                    Answer::json(
                        400,
                        json!({"error_description":"The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the permission.","error":"invalid_grant"}),
                    )
                } else {
                    let n = next_id(&mut st);
                    let token = format!("Atza|sim-{n}");
                    let exp = Instant::now() + scaled(cfg, cfg.token_lifetime);
                    st.access_tokens.insert(token.clone(), (exp, false));
                    Answer::json(
                        200,
                        json!({"access_token": token, "token_type": "bearer",
                               "expires_in": cfg.token_lifetime.as_secs(),
                               "refresh_token": cfg.refresh_token}),
                    )
                }
            }
            "client_credentials" => match &scope {
                Some(s) if s.starts_with("sellingpartnerapi::") => {
                    let n = next_id(&mut st);
                    let token = format!("Atc|sim-grantless-{n}");
                    let exp = Instant::now() + scaled(cfg, cfg.token_lifetime);
                    st.access_tokens.insert(token.clone(), (exp, true));
                    Answer::json(
                        200,
                        json!({"access_token": token, "token_type": "bearer",
                               "expires_in": cfg.token_lifetime.as_secs()}),
                    )
                }
                _ => Answer::json(
                    400,
                    json!({"error_description":"The scope is invalid","error":"invalid_scope"}),
                ),
            },
            _ => Answer::json(
                400,
                json!({"error_description":"Unsupported grant type","error":"unsupported_grant_type"}),
            ),
        }
    };
    st.grants.push(SimGrant {
        grant_type,
        scope,
        status: answer.status.as_u16(),
    });
    answer
}

// ---- dispatch -------------------------------------------------------------------------------

fn dispatch(shared: &Shared, req: &Req<'_>, now: Instant) -> Answer {
    match req.op {
        limits::SEARCH_ORDERS => search_orders(shared, req, now),
        limits::GET_ORDER => get_order_2026(shared, req),
        limits::GET_ORDERS_V0 => get_orders_v0(shared, req, now),
        limits::GET_ORDER_V0 => get_order_v0(shared, req),
        limits::GET_ORDER_ITEMS => get_order_items(shared, req),
        limits::CREATE_RDT => create_rdt(shared, req),
        limits::GET_REPORTS => get_reports(shared, req, now),
        limits::GET_REPORT_DOCUMENT => get_report_document(shared, req, now),
        limits::LIST_TRANSACTIONS => list_transactions(shared, req, now),
        limits::GET_INVENTORY_SUMMARIES => inventory(shared, req, now),
        limits::GET_LISTINGS_ITEM | limits::PUT_LISTINGS_ITEM | limits::PATCH_LISTINGS_ITEM => {
            listings(shared, req)
        }
        limits::GET_MARKETPLACE_PARTICIPATIONS => participations(shared),
        _ => Answer::error(404, "NotFound", "Resource not found", ""),
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

const TWO_MINUTES_MESSAGE: &str = "The input you have submitted is not valid. Note that the error may be due to a systematic delay in data retrieval. The most updated data is 2 minutes after an order is created or last updated. If you set the CreatedBefore or LastUpdatedBefore parameters, please provide a date that is at least 2 minutes before current time and try again.";

fn fingerprint(query: &[(String, String)], ignore: &[&str]) -> u64 {
    let mut pairs: Vec<&(String, String)> = query
        .iter()
        .filter(|(k, _)| !ignore.contains(&k.as_str()))
        .collect();
    pairs.sort();
    let mut h = DefaultHasher::new();
    pairs.hash(&mut h);
    h.finish()
}

/// A page token that, like Amazon's, needs percent-encoding (`+`, `/`, `=`).
fn new_page_token(
    st: &mut State,
    offset: usize,
    query: &[(String, String)],
    now: Instant,
) -> String {
    let n = next_id(st);
    let token = format!("Pg+{n}/{offset}==");
    st.page_tokens.insert(
        token.clone(),
        PageToken {
            offset,
            query: query.to_vec(),
            created: now,
        },
    );
    token
}

enum TokenCheck {
    Ok(usize),
    Bad(Answer),
}

fn check_page_token(
    st: &State,
    token: &str,
    query: &[(String, String)],
    ignore: &[&str],
    max_age: Option<Duration>,
    now: Instant,
) -> TokenCheck {
    let Some(t) = st.page_tokens.get(token) else {
        return TokenCheck::Bad(Answer::invalid(
            "We could not decode your NextToken. Please check the value and try again.",
        ));
    };
    if let Some(age) = max_age
        && now.saturating_duration_since(t.created) > age
    {
        return TokenCheck::Bad(Answer::invalid("Next token is invalid or expired"));
    }
    if fingerprint(&t.query, ignore) != fingerprint(query, ignore) {
        return TokenCheck::Bad(Answer::invalid(
            "The next token does not match the other parameters of the request; send the same parameters as the first request",
        ));
    }
    TokenCheck::Ok(t.offset)
}

struct Window {
    by_created: bool,
    after: DateTime<Utc>,
    before: DateTime<Utc>,
}

fn time_window(
    req: &Req<'_>,
    names: [&str; 4], // createdAfter, createdBefore, lastUpdatedAfter, lastUpdatedBefore
) -> Result<Window, Answer> {
    let [ca, cb, ua, ub] = names;
    let now = Utc::now();
    let limit = now - chrono::Duration::minutes(2);
    let (by_created, after_name, before_name) = match (req.get(ca), req.get(ua)) {
        (Some(_), None) => (true, ca, cb),
        (None, Some(_)) => (false, ua, ub),
        _ => {
            return Err(Answer::invalid(&format!(
                "You must provide exactly one of {ca} and {ua}"
            )));
        }
    };
    if !by_created && (req.get(cb).is_some()) || by_created && req.get(ub).is_some() {
        return Err(Answer::invalid(&format!(
            "{before_name} cannot be combined with the other time filter"
        )));
    }
    let after = parse_time(req.get(after_name).unwrap_or(""))
        .ok_or_else(|| Answer::invalid(&format!("Invalid date/time field [{after_name}]")))?;
    let before = match req.get(before_name) {
        Some(b) => {
            let b = parse_time(b).ok_or_else(|| {
                Answer::invalid(&format!("Invalid date/time field [{before_name}]"))
            })?;
            if b > limit {
                return Err(Answer::invalid(TWO_MINUTES_MESSAGE));
            }
            if b < after {
                return Err(Answer::invalid(&format!(
                    "{before_name} must be after {after_name}"
                )));
            }
            b
        }
        None => limit,
    };
    Ok(Window {
        by_created,
        after,
        before,
    })
}

fn select_orders(st: &State, w: &Window, marketplaces: &[String]) -> Vec<SimOrder> {
    let key = |o: &SimOrder| {
        if w.by_created {
            o.created
        } else {
            o.last_updated
        }
    };
    let mut v: Vec<SimOrder> = st
        .orders
        .iter()
        .filter(|o| marketplaces.contains(&o.marketplace_id))
        .filter(|o| key(o) >= w.after && key(o) <= w.before)
        .cloned()
        .collect();
    v.sort_by(|a, b| key(a).cmp(&key(b)).then(a.order_id.cmp(&b.order_id)));
    v
}

fn page_size(req: &Req<'_>, name: &str, default: usize) -> Result<usize, Answer> {
    match req.get(name) {
        None => Ok(default.clamp(1, 100)),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(Answer::invalid(&format!(
                "{name} must be between 1 and 100"
            ))),
        },
    }
}

fn money(amount: Decimal, currency: &str) -> Value {
    json!({"amount": amount.to_string(), "currencyCode": currency})
}

fn money_v0(amount: Decimal, currency: &str) -> Value {
    json!({"CurrencyCode": currency, "Amount": amount.to_string()})
}

fn order_2026(o: &SimOrder, included: &[String]) -> Value {
    let has = |k: &str| included.iter().any(|x| x == k);
    let pending = o.status == SimOrderStatus::Pending;
    let mp_name = marketplace(&o.marketplace_id).map_or("Amazon", |m| m.domain);
    let mut v = json!({
        "orderId": o.order_id,
        "createdTime": fmt_time(o.created),
        "lastUpdatedTime": fmt_time(o.last_updated),
        "programs": [],
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": o.marketplace_id, "marketplaceName": mp_name},
    });
    if has("BUYER") {
        v["buyer"] = json!({"buyerName": o.buyer_name, "buyerEmail": format!("{}@marketplace.amazon.com", o.order_id)});
    }
    if has("RECIPIENT") {
        v["recipient"] = json!({"deliveryAddress": {"name": o.buyer_name, "addressLine1": o.address_line,
            "city": o.city, "postalCode": o.postal_code, "countryCode": o.country, "addressType": "RESIDENTIAL"}});
    }
    if has("PROCEEDS") && !pending {
        v["proceeds"] = json!({"grandTotal": money(o.grand_total(), &o.currency),
            "breakdowns": [
                {"type": "ITEM", "subtotal": money(o.subtotal(), &o.currency)},
                {"type": "SHIPPING", "subtotal": money(o.shipping, &o.currency)},
                {"type": "TAX", "subtotal": money(o.tax(), &o.currency)}]});
    }
    if has("FULFILLMENT") {
        v["fulfillment"] =
            json!({"fulfillmentStatus": o.status.v2026(), "fulfilledBy": o.fulfilled_by});
    }
    let items: Vec<Value> = o
        .items
        .iter()
        .map(|i| {
            let mut product = json!({"asin": format!("B0{:08}", i.sku.len() * 1000 + i.quantity as usize),
                "title": i.title, "sellerSku": i.sku});
            let mut item = json!({"orderItemId": i.item_id, "quantityOrdered": i.quantity});
            if !pending {
                product["price"] = json!({"unitPrice": money(i.unit_price, &o.currency)});
                if has("PROCEEDS") {
                    let line = i.unit_price * Decimal::from(i.quantity);
                    item["proceeds"] = json!({"proceedsTotal": money(line + i.tax, &o.currency),
                        "breakdowns": [{"type": "ITEM", "subtotal": money(line, &o.currency)},
                                       {"type": "TAX", "subtotal": money(i.tax, &o.currency)}]});
                }
            }
            item["product"] = product;
            item
        })
        .collect();
    v["orderItems"] = Value::Array(items);
    v
}

fn order_v0(o: &SimOrder, elements: &[String]) -> Value {
    let pending = o.status == SimOrderStatus::Pending;
    let mut v = json!({
        "AmazonOrderId": o.order_id,
        "PurchaseDate": fmt_time(o.created),
        "LastUpdateDate": fmt_time(o.last_updated),
        "OrderStatus": o.status.v0(),
        "FulfillmentChannel": if o.fulfilled_by == "AMAZON" { "AFN" } else { "MFN" },
        "SalesChannel": marketplace(&o.marketplace_id).map_or("Amazon", |m| m.domain),
        "MarketplaceId": o.marketplace_id,
        "PaymentMethod": "Other",
        "IsBusinessOrder": false,
    });
    if !pending {
        v["OrderTotal"] = money_v0(o.grand_total(), &o.currency);
    }
    if elements.iter().any(|e| e == "shippingAddress") {
        v["ShippingAddress"] = json!({"Name": o.buyer_name, "AddressLine1": o.address_line,
            "City": o.city, "PostalCode": o.postal_code, "CountryCode": o.country});
    }
    if elements.iter().any(|e| e == "buyerInfo") {
        v["BuyerInfo"] = json!({"BuyerName": o.buyer_name,
            "BuyerEmail": format!("{}@marketplace.amazon.com", o.order_id)});
    }
    v
}

fn search_orders(shared: &Shared, req: &Req<'_>, now: Instant) -> Answer {
    let marketplaces = req.list("marketplaceIds");
    if marketplaces.is_empty() {
        return Answer::invalid("marketplaceIds is required");
    }
    let w = match time_window(
        req,
        [
            "createdAfter",
            "createdBefore",
            "lastUpdatedAfter",
            "lastUpdatedBefore",
        ],
    ) {
        Ok(w) => w,
        Err(a) => return a,
    };
    let size = match page_size(req, "maxResultsPerPage", shared.cfg.default_page_size) {
        Ok(n) => n,
        Err(a) => return a,
    };
    let statuses = req.list("fulfillmentStatuses");
    let included = req.list("includedData");
    let mut st = shared.lock();
    let ignore = ["paginationToken", "maxResultsPerPage", "includedData"];
    let offset = match req.get("paginationToken") {
        None => 0,
        Some(t) => match check_page_token(&st, t, &req.query, &ignore, None, now) {
            TokenCheck::Ok(o) => o,
            TokenCheck::Bad(a) => return a,
        },
    };
    let all: Vec<SimOrder> = select_orders(&st, &w, &marketplaces)
        .into_iter()
        .filter(|o| statuses.is_empty() || statuses.iter().any(|s| s == o.status.v2026()))
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(size)
        .map(|o| order_2026(o, &included))
        .collect();
    let mut out = json!({"orders": page});
    if offset + size < all.len() {
        let token = new_page_token(&mut st, offset + size, &req.query, now);
        out["pagination"] = json!({"nextToken": token});
    }
    let bound = if w.by_created {
        "createdBefore"
    } else {
        "lastUpdatedBefore"
    };
    out[bound] = json!(fmt_time(w.before));
    Answer::json(200, out)
}

fn get_order_2026(shared: &Shared, req: &Req<'_>) -> Answer {
    let id = &req.segments[3];
    let included = req.list("includedData");
    let st = shared.lock();
    match st.orders.iter().find(|o| &o.order_id == id) {
        Some(o) => Answer::json(200, json!({"order": order_2026(o, &included)})),
        None => Answer::error(404, "NotFound", "Order not found", id),
    }
}

fn get_orders_v0(shared: &Shared, req: &Req<'_>, now: Instant) -> Answer {
    let marketplaces = req.list("MarketplaceIds");
    if marketplaces.is_empty() {
        return Answer::invalid("MarketplaceIds is required");
    }
    let w = match time_window(
        req,
        [
            "CreatedAfter",
            "CreatedBefore",
            "LastUpdatedAfter",
            "LastUpdatedBefore",
        ],
    ) {
        Ok(w) => w,
        Err(a) => return a,
    };
    let size = match page_size(req, "MaxResultsPerPage", shared.cfg.default_page_size) {
        Ok(n) => n,
        Err(a) => return a,
    };
    let elements = req.rdt_elements.clone().unwrap_or_default();
    let mut st = shared.lock();
    let ignore = ["NextToken", "MaxResultsPerPage"];
    let offset = match req.get("NextToken") {
        None => 0,
        Some(t) => match check_page_token(&st, t, &req.query, &ignore, None, now) {
            TokenCheck::Ok(o) => o,
            TokenCheck::Bad(a) => return a,
        },
    };
    let all = select_orders(&st, &w, &marketplaces);
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(size)
        .map(|o| order_v0(o, &elements))
        .collect();
    let mut payload = json!({"Orders": page});
    if offset + size < all.len() {
        payload["NextToken"] = json!(new_page_token(&mut st, offset + size, &req.query, now));
    }
    let bound = if w.by_created {
        "CreatedBefore"
    } else {
        "LastUpdatedBefore"
    };
    payload[bound] = json!(fmt_time(w.before));
    Answer::json(200, json!({"payload": payload}))
}

fn get_order_v0(shared: &Shared, req: &Req<'_>) -> Answer {
    let id = &req.segments[3];
    let elements = req.rdt_elements.clone().unwrap_or_default();
    let st = shared.lock();
    match st.orders.iter().find(|o| &o.order_id == id) {
        Some(o) => Answer::json(200, json!({"payload": order_v0(o, &elements)})),
        None => Answer::error(404, "NotFound", "Order not found", id),
    }
}

fn get_order_items(shared: &Shared, req: &Req<'_>) -> Answer {
    let id = &req.segments[3];
    let st = shared.lock();
    let Some(o) = st.orders.iter().find(|o| &o.order_id == id) else {
        return Answer::error(404, "NotFound", "Order not found", id);
    };
    let pending = o.status == SimOrderStatus::Pending;
    let items: Vec<Value> = o
        .items
        .iter()
        .enumerate()
        .map(|(n, i)| {
            let mut v = json!({"ASIN": format!("B0{:08}", n), "OrderItemId": i.item_id,
                "SellerSKU": i.sku, "Title": i.title, "QuantityOrdered": i.quantity,
                "QuantityShipped": 0});
            if !pending {
                v["ItemPrice"] = money_v0(i.unit_price * Decimal::from(i.quantity), &o.currency);
                v["ItemTax"] = money_v0(i.tax, &o.currency);
                v["PromotionDiscount"] = money_v0(Decimal::ZERO, &o.currency);
                if n == 0 {
                    v["ShippingPrice"] = money_v0(o.shipping, &o.currency);
                }
            }
            v
        })
        .collect();
    Answer::json(
        200,
        json!({"payload": {"AmazonOrderId": o.order_id, "OrderItems": items}}),
    )
}

fn create_rdt(shared: &Shared, req: &Req<'_>) -> Answer {
    let Ok(body) = serde_json::from_slice::<Value>(req.body) else {
        return Answer::error(400, "InvalidRequest", "Request body is not JSON", "");
    };
    let resources = body["restrictedResources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if resources.is_empty()
        || resources.iter().any(|r| {
            !matches!(
                r["method"].as_str(),
                Some("GET" | "PUT" | "POST" | "DELETE")
            ) || r["path"].as_str().is_none_or(str::is_empty)
        })
    {
        return Answer::error(
            400,
            "InvalidRequest",
            "Request is missing or has invalid parameters",
            "Resource not provided.",
        );
    }
    let elements: Vec<String> = resources
        .iter()
        .flat_map(|r| {
            r["dataElements"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|e| e.as_str().map(str::to_string))
        })
        .collect();
    let cfg = &shared.cfg;
    let mut st = shared.lock();
    let n = next_id(&mut st);
    let token = format!("Atz.sprdt|sim-{n}");
    let exp = Instant::now() + scaled(cfg, cfg.token_lifetime);
    st.rdts.insert(token.clone(), (exp, elements));
    Answer::json(
        200,
        json!({"restrictedDataToken": token, "expiresIn": cfg.token_lifetime.as_secs()}),
    )
}

// ---- reports --------------------------------------------------------------------------------

fn get_reports(shared: &Shared, req: &Req<'_>, now: Instant) -> Answer {
    let mut st = shared.lock();
    let (query, offset) = match req.get("nextToken") {
        Some(t) => {
            if req.query.len() > 1 {
                return Answer::invalid(
                    "nextToken must be the only parameter when it is specified",
                );
            }
            match st.page_tokens.get(t) {
                Some(p) => (p.query.clone(), p.offset),
                None => {
                    return Answer::invalid(
                        "We could not decode your NextToken. Please check the value and try again.",
                    );
                }
            }
        }
        None => (req.query.clone(), 0),
    };
    let q = Req {
        op: req.op,
        segments: Vec::new(),
        query: query.clone(),
        headers: req.headers,
        body: req.body,
        rdt_elements: None,
    };
    let types = q.list("reportTypes");
    if types.is_empty() {
        return Answer::invalid("reportTypes is required when nextToken is not given");
    }
    let statuses = q.list("processingStatuses");
    let known = ["CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"];
    if statuses.iter().any(|s| !known.contains(&s.as_str())) {
        return Answer::error(
            400,
            "400",
            "Invalid input",
            "Invalid input in processing status",
        );
    }
    let since = match q.get("createdSince") {
        Some(s) => match parse_time(s) {
            Some(t) => t,
            None => return Answer::invalid("Invalid date/time field [createdSince]"),
        },
        None => Utc::now() - chrono::Duration::days(90),
    };
    if since < Utc::now() - chrono::Duration::days(90) {
        return Answer::invalid("createdSince cannot be more than 90 days in the past");
    }
    let size = match page_size(&q, "pageSize", shared.cfg.reports_page_size) {
        Ok(n) => n.min(shared.cfg.reports_page_cap.max(1)),
        Err(a) => return a,
    };
    let mut all: Vec<&super::SimReport> = st
        .reports
        .iter()
        .filter(|r| types.contains(&r.report_type))
        .filter(|_| statuses.is_empty() || statuses.iter().any(|s| s == "DONE"))
        .filter(|r| r.created >= since)
        .collect();
    // Newest first, as Amazon lists them.
    all.sort_by(|a, b| {
        b.created
            .cmp(&a.created)
            .then(b.report_id.cmp(&a.report_id))
    });
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(size)
        .map(|r| {
            json!({"reportId": r.report_id, "reportType": r.report_type,
                "marketplaceIds": r.marketplace_ids,
                "dataStartTime": fmt_time(r.data_start), "dataEndTime": fmt_time(r.data_end),
                "createdTime": fmt_time(r.created), "processingStatus": "DONE",
                "processingStartTime": fmt_time(r.created), "processingEndTime": fmt_time(r.created),
                "reportDocumentId": r.document_id})
        })
        .collect();
    let more = offset + size < all.len();
    let mut out = json!({"reports": page});
    if more {
        out["nextToken"] = json!(new_page_token(&mut st, offset + size, &query, now));
    }
    Answer::json(200, out)
}

fn get_report_document(shared: &Shared, req: &Req<'_>, now: Instant) -> Answer {
    let id = req.segments[3].clone();
    let mut st = shared.lock();
    let Some(r) = st.reports.iter().find(|r| r.document_id == id) else {
        return Answer::error(400, "400", "Invalid input", "Invalid input");
    };
    let gzip = r.gzip;
    let n = next_id(&mut st);
    let nonce = format!("doc{n}");
    st.presigned.insert(
        nonce.clone(),
        (
            id.clone(),
            now + scaled(&shared.cfg, Duration::from_secs(300)),
        ),
    );
    let url = format!(
        "{}/download/{nonce}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature=sim{n}",
        shared.base_url
    );
    let mut out = json!({"reportDocumentId": id, "url": url});
    if gzip {
        out["compressionAlgorithm"] = json!("GZIP");
    }
    Answer::json(200, out)
}

fn download(shared: &Shared, segs: &[String], headers: &HeaderMap, now: Instant) -> Answer {
    if headers.contains_key("x-amz-access-token") {
        return Answer {
            status: StatusCode::BAD_REQUEST,
            body: Body::from(
                "<Error><Code>InvalidArgument</Code><Message>Unsupported header 'x-amz-access-token' on a presigned URL</Message></Error>",
            ),
            content_type: "application/xml".into(),
        };
    }
    let st = shared.lock();
    let expired = Answer {
        status: StatusCode::FORBIDDEN,
        body: Body::from(
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        ),
        content_type: "application/xml".into(),
    };
    let Some((doc, exp)) = st.presigned.get(&segs[1]) else {
        return expired;
    };
    if *exp <= now {
        return expired;
    }
    match st.reports.iter().find(|r| &r.document_id == doc) {
        Some(r) => Answer {
            status: StatusCode::OK,
            body: Body::from(r.document.clone()),
            content_type: r
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
        },
        None => expired,
    }
}

// ---- finances -------------------------------------------------------------------------------

fn list_transactions(shared: &Shared, req: &Req<'_>, now: Instant) -> Answer {
    let Some(after) = req.get("postedAfter") else {
        if req.get("relatedIdentifierName").is_none() {
            return Answer::error(
                400,
                "InvalidInput",
                "Start date cannot be null",
                "Start date cannot be null",
            );
        }
        return Answer::invalid("filtering by related identifier is not simulated");
    };
    let Some(after) = parse_time(after) else {
        return Answer::invalid("Invalid date/time field [postedAfter]");
    };
    let limit = Utc::now() - chrono::Duration::minutes(2);
    let before = match req.get("postedBefore") {
        Some(b) => match parse_time(b) {
            Some(t) if t <= limit => t,
            Some(_) => {
                return Answer::invalid(
                    "postedBefore must be more than two minutes before the time of the request",
                );
            }
            None => return Answer::invalid("Invalid date/time field [postedBefore]"),
        },
        None => limit,
    };
    let status = req.get("transactionStatus");
    let mut st = shared.lock();
    let offset = match req.get("nextToken") {
        None => 0,
        Some(t) => match check_page_token(&st, t, &req.query, &["nextToken"], None, now) {
            TokenCheck::Ok(o) => o,
            TokenCheck::Bad(a) => return a,
        },
    };
    let mut all: Vec<&Value> = st
        .transactions
        .iter()
        .filter(|t| {
            t["postedDate"]
                .as_str()
                .and_then(parse_time)
                .is_some_and(|p| p >= after && p < before)
        })
        .filter(|t| status.is_none_or(|s| t["transactionStatus"].as_str() == Some(s)))
        .collect();
    all.sort_by_key(|t| t["postedDate"].as_str().unwrap_or("").to_string());
    let size = shared.cfg.transactions_page_size.max(1);
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(size)
        .map(|v| (*v).clone())
        .collect();
    let more = offset + size < all.len();
    let mut payload = json!({"transactions": page});
    if more {
        payload["nextToken"] = json!(new_page_token(&mut st, offset + size, &req.query, now));
    }
    Answer::json(200, json!({"payload": payload}))
}

// ---- FBA inventory --------------------------------------------------------------------------

fn inventory(shared: &Shared, req: &Req<'_>, now: Instant) -> Answer {
    if req.get("granularityType") != Some("Marketplace") {
        return Answer::invalid("granularityType must be Marketplace");
    }
    let Some(gid) = req.get("granularityId") else {
        return Answer::invalid("granularityId is required");
    };
    let mps = req.list("marketplaceIds");
    if mps.len() != 1 || marketplace(&mps[0]).is_none() {
        return Answer::error(
            500,
            "InternalFailure",
            "We encountered an internal error. Please try again.",
            "",
        );
    }
    let details = req.get("details") == Some("true");
    let mut st = shared.lock();
    let max_age = scaled(&shared.cfg, Duration::from_secs(30));
    let offset = match req.get("nextToken") {
        None => 0,
        Some(t) => match check_page_token(&st, t, &req.query, &["nextToken"], Some(max_age), now) {
            TokenCheck::Ok(o) => o,
            TokenCheck::Bad(a) => return a,
        },
    };
    let size = shared.cfg.inventory_page_size.max(1);
    let total = st.inventory.len();
    let page: Vec<Value> = st
        .inventory
        .iter()
        .skip(offset)
        .take(size)
        .map(|i| {
            let mut v = json!({"asin": i.asin, "fnSku": i.asin, "sellerSku": i.sku,
                "condition": "NewItem", "lastUpdatedTime": "", "productName": format!("Product {}", i.sku),
                "totalQuantity": i.fulfillable + i.inbound + i.reserved + i.unfulfillable});
            if details {
                v["inventoryDetails"] = json!({"fulfillableQuantity": i.fulfillable,
                    "inboundWorkingQuantity": i.inbound, "inboundShippedQuantity": 0,
                    "inboundReceivingQuantity": 0,
                    "reservedQuantity": {"totalReservedQuantity": i.reserved},
                    "unfulfillableQuantity": {"totalUnfulfillableQuantity": i.unfulfillable}});
            }
            v
        })
        .collect();
    let mut out = json!({"payload": {"granularity": {"granularityType": "Marketplace", "granularityId": gid},
        "inventorySummaries": page}});
    if offset + size < total {
        out["pagination"] =
            json!({"nextToken": new_page_token(&mut st, offset + size, &req.query, now)});
    }
    Answer::json(200, out)
}

// ---- listings -------------------------------------------------------------------------------

fn listing_issue(code: &str, message: &str, attribute: &str, category: &str) -> Value {
    json!({"code": code, "message": message, "severity": "ERROR",
        "attributeNames": [attribute], "categories": [category]})
}

fn listings(shared: &Shared, req: &Req<'_>) -> Answer {
    let seller = &req.segments[3];
    let sku = req.segments[4].clone();
    if seller != &shared.cfg.seller_id {
        return Answer::error(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "",
        );
    }
    let mps = req.list("marketplaceIds");
    if mps.is_empty() {
        return Answer::error(400, "BAD_REQUEST", "marketplaceIds is required", "");
    }
    let preview = req.get("mode") == Some("VALIDATION_PREVIEW");
    let mut st = shared.lock();
    match req.op {
        limits::GET_LISTINGS_ITEM => {
            let Some(l) = st.listings.get(&sku) else {
                return Answer::error(404, "NOT_FOUND", "SKU not found", &sku);
            };
            let included = {
                let v = req.list("includedData");
                if v.is_empty() {
                    vec!["summaries".to_string()]
                } else {
                    v
                }
            };
            let mut out = json!({"sku": sku});
            if included.iter().any(|x| x == "summaries") {
                out["summaries"] = json!([{"marketplaceId": mps[0], "productType": l.product_type,
                    "status": ["BUYABLE"], "itemName": l.attributes["item_name"][0]["value"]}]);
            }
            if included.iter().any(|x| x == "attributes") {
                out["attributes"] = l.attributes.clone();
            }
            if included.iter().any(|x| x == "fulfillmentAvailability") {
                out["fulfillmentAvailability"] = match l.quantity {
                    Some(q) => json!([{"fulfillmentChannelCode": "DEFAULT", "quantity": q}]),
                    None => json!([]),
                };
            }
            if included.iter().any(|x| x == "issues") {
                out["issues"] = json!([]);
            }
            Answer::json(200, out)
        }
        limits::PUT_LISTINGS_ITEM => {
            let Ok(body) = serde_json::from_slice::<Value>(req.body) else {
                return Answer::error(400, "BAD_REQUEST", "Invalid input", "body is not JSON");
            };
            let (Some(pt), Some(attrs)) = (body["productType"].as_str(), body.get("attributes"))
            else {
                return Answer::error(
                    400,
                    "BAD_REQUEST",
                    "Invalid input",
                    "productType and attributes are required",
                );
            };
            let mut issues = Vec::new();
            if attrs.get("condition_type").is_none() {
                issues.push(listing_issue(
                    "90220",
                    "'condition_type' is required but not supplied.",
                    "condition_type",
                    "MISSING_ATTRIBUTE",
                ));
            }
            let status = match (issues.is_empty(), preview) {
                (false, _) => "INVALID",
                (true, true) => "VALID",
                (true, false) => "ACCEPTED",
            };
            if status == "ACCEPTED" {
                let quantity = attrs["fulfillment_availability"][0]["quantity"].as_i64();
                st.listings.insert(
                    sku.clone(),
                    SimListing {
                        product_type: pt.to_string(),
                        attributes: attrs.clone(),
                        quantity,
                    },
                );
            }
            st.listing_writes
                .entry(sku.clone())
                .or_default()
                .push(SimListingWrite {
                    method: "PUT".into(),
                    preview,
                    status: status.into(),
                });
            let n = next_id(&mut st);
            Answer::json(
                200,
                json!({"sku": sku, "status": status, "submissionId": format!("sim-submission-{n}"),
                    "issues": issues, "identifiers": []}),
            )
        }
        _ => {
            let Ok(body) = serde_json::from_slice::<Value>(req.body) else {
                return Answer::error(400, "BAD_REQUEST", "Invalid input", "body is not JSON");
            };
            let patches = body["patches"].as_array().cloned().unwrap_or_default();
            if body["productType"].as_str().is_none() || patches.is_empty() {
                return Answer::error(
                    400,
                    "BAD_REQUEST",
                    "Invalid input",
                    "productType and patches are required",
                );
            }
            let mut issues = Vec::new();
            let exists = st.listings.contains_key(&sku);
            if !exists {
                issues.push(listing_issue(
                    "4000001",
                    "The SKU does not exist; create it with putListingsItem first.",
                    "sku",
                    "INVALID_ATTRIBUTE",
                ));
            }
            for p in &patches {
                let op_ok = matches!(
                    p["op"].as_str(),
                    Some("add" | "replace" | "merge" | "delete")
                );
                let path_ok = p["path"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("/attributes/") && s.matches('/').count() == 2);
                if !op_ok || !path_ok {
                    issues.push(listing_issue(
                        "90000900",
                        "Only top-level listings item attributes can be patched.",
                        p["path"].as_str().unwrap_or(""),
                        "INVALID_ATTRIBUTE",
                    ));
                }
            }
            let status = match (issues.is_empty(), preview) {
                (false, _) => "INVALID",
                (true, true) => "VALID",
                (true, false) => "ACCEPTED",
            };
            if status == "ACCEPTED"
                && let Some(l) = st.listings.get_mut(&sku)
            {
                for p in &patches {
                    let name = p["path"]
                        .as_str()
                        .unwrap_or("")
                        .trim_start_matches("/attributes/");
                    if p["op"] == "delete" {
                        if let Some(o) = l.attributes.as_object_mut() {
                            o.remove(name);
                        }
                    } else {
                        l.attributes[name] = p["value"].clone();
                    }
                    if name == "fulfillment_availability" {
                        l.quantity = p["value"][0]["quantity"].as_i64();
                    }
                }
            }
            st.listing_writes
                .entry(sku.clone())
                .or_default()
                .push(SimListingWrite {
                    method: "PATCH".into(),
                    preview,
                    status: status.into(),
                });
            let n = next_id(&mut st);
            Answer::json(
                200,
                json!({"sku": sku, "status": status, "submissionId": format!("sim-submission-{n}"),
                    "issues": issues, "identifiers": []}),
            )
        }
    }
}

fn participations(shared: &Shared) -> Answer {
    let list: Vec<Value> = shared
        .cfg
        .marketplace_ids
        .iter()
        .map(|id| {
            let m = marketplace(id);
            json!({"marketplace": {"id": id, "countryCode": m.map_or("", |m| m.country),
                "name": m.map_or(id.as_str(), |m| m.domain),
                "defaultCurrencyCode": m.map_or("USD", |m| m.currency),
                "defaultLanguageCode": "en_US", "domainName": m.map_or("", |m| m.domain)},
                "storeName": "SimStore",
                "participation": {"isParticipating": true, "hasSuspendedListings": false}})
        })
        .collect();
    Answer::json(200, json!({"payload": list}))
}
