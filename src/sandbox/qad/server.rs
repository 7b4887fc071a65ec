//! Routing and handlers of the QAD simulator.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::{Fault, LineDraft, Shared, SimOrder, SimRequest, State, UnplannedDraft};
use crate::qad::registry::BrowseDef;
use crate::qad::wire::{decimal_number, value_decimal};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// What the processing step produced.
struct Answer {
    status: StatusCode,
    body: Value,
    html: Option<&'static str>,
}

impl Answer {
    fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            html: None,
        }
    }
    fn html(status: StatusCode, page: &'static str) -> Self {
        Self {
            status,
            body: Value::Null,
            html: Some(page),
        }
    }
    fn into_response(self) -> Response {
        match self.html {
            Some(page) => (
                self.status,
                [(header::CONTENT_TYPE, "text/html;charset=utf-8")],
                page,
            )
                .into_response(),
            None => (
                self.status,
                [(header::CONTENT_TYPE, "application/json")],
                self.body.to_string(),
            )
                .into_response(),
        }
    }
}

const NOT_FOUND_PAGE: &str = "<!doctype html><html><head><title>HTTP Status 404 – Not Found</title></head><body><h1>HTTP Status 404 – Not Found</h1></body></html>";
const METHOD_PAGE: &str = "<!doctype html><html><head><title>HTTP Status 405 – Method Not Allowed</title></head><body><h1>HTTP Status 405 – Method Not Allowed</h1></body></html>";

fn ok(data: Value, warnings: Vec<Value>) -> Answer {
    Answer::json(
        StatusCode::OK,
        json!({"data": data, "submitResult": {"success": true, "errorSeverity": if warnings.is_empty() { 0 } else { 2 }, "errors": warnings}}),
    )
}

fn err(field: &str, message: impl Into<String>, value: impl Into<String>, code: &str) -> Value {
    json!({"fieldName": field, "message": message.into(), "fieldValue": value.into(), "code": code, "severity": "1"})
}

fn rejected(errors: Vec<Value>) -> Answer {
    Answer::json(
        StatusCode::OK,
        json!({"submitResult": {"success": false, "errorSeverity": 1, "errors": errors}}),
    )
}

fn bare(status: StatusCode, code: &str, message: &str) -> Answer {
    Answer::json(
        status,
        json!({"errors": [{"severity": 1, "code": code, "message": message, "fieldName": ""}]}),
    )
}

fn broken_body() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection drop",
        ))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

struct Req {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

impl Req {
    fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(kk, _)| kk == k)
            .map(|(_, v)| v.as_str())
    }
    fn q_all(&self, k: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(kk, _)| kk == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

async fn handle(AxState(shared): AxState<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let full = parts.uri.path().to_string();
    let prefix = format!("{}/", shared.cfg.prefix.trim_end_matches('/'));
    let Some(rel) = full.strip_prefix(&prefix) else {
        return Answer::html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE).into_response();
    };
    let raw_query = parts.uri.query().unwrap_or_default().to_string();
    let r = Req {
        method: parts.method.clone(),
        path: rel.trim_end_matches('/').to_string(),
        query: url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect(),
        headers: parts.headers,
        body,
    };

    // Log and pick a fault.
    let fault = {
        let mut st = shared.lock();
        st.requests.push(SimRequest {
            method: r.method.to_string(),
            path: r.path.clone(),
            query: raw_query,
        });
        let mut picked = None;
        for rule in st.faults.iter_mut() {
            if rule.times == 0 {
                continue;
            }
            if rule
                .method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(r.method.as_str()))
            {
                continue;
            }
            if rule
                .path_contains
                .as_deref()
                .is_some_and(|p| !r.path.contains(p))
            {
                continue;
            }
            rule.times -= 1;
            picked = Some(rule.fault.clone());
            break;
        }
        st.faults.retain(|f| f.times > 0);
        picked
    };
    match &fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return bare(status, &code.to_string(), "simulated failure").into_response();
        }
        Some(Fault::Drop) => return broken_body(),
        Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
        _ => {}
    }
    let answer = process(&shared, &r);
    match fault {
        Some(Fault::StoreThenDelay(d)) => {
            tokio::time::sleep(d).await;
            answer.into_response()
        }
        Some(Fault::StoreThenDrop) => broken_body(),
        _ => answer.into_response(),
    }
}

fn process(shared: &Shared, r: &Req) -> Answer {
    if r.path == "oauth/token" {
        return if r.method == Method::POST {
            token(shared, r)
        } else {
            Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
        };
    }
    if !r.path.starts_with("api/") {
        return Answer::html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE);
    }
    let mut st = shared.lock();
    if let Some(a) = authenticate(shared, &mut st, r) {
        return a;
    }
    if let Some(ws) = r
        .headers
        .get("x-qad-workspace-id")
        .and_then(|v| v.to_str().ok())
    {
        let known = shared
            .cfg
            .domains
            .iter()
            .any(|(d, e)| format!("{d}_{e}") == ws);
        if !known {
            return bare(
                StatusCode::FORBIDDEN,
                "403",
                "Access is denied: unknown workspace",
            );
        }
    }
    let under = |set: &std::collections::BTreeSet<String>| {
        set.iter()
            .any(|p| r.path == *p || r.path.starts_with(&format!("{p}/")))
    };
    if under(&st.forbidden) {
        return bare(StatusCode::FORBIDDEN, "403", "Access is denied");
    }
    if under(&st.removed) {
        return Answer::html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE);
    }
    let reg = &shared.registry;
    let path = r.path.as_str();
    let get = r.method == Method::GET;
    let post = r.method == Method::POST;
    let inv = &reg.receivable.component;
    let jr = &reg.journal.component;
    let rc = &reg.inventory_adjustment.receipt;
    let is = &reg.inventory_adjustment.issue;
    let so = &reg.sales_order;
    let known_view = |expected: &str| -> Option<Answer> {
        match r.q("viewUri") {
            Some(v) if v != expected => Some(bare(
                StatusCode::BAD_REQUEST,
                "400",
                &format!("Unknown view URI {v}"),
            )),
            _ => None,
        }
    };
    macro_rules! check_view {
        ($uri:expr) => {
            if let Some(a) = known_view($uri) {
                return a;
            }
        };
    }
    match path {
        "api/qracore/browses" if get => browse(shared, &st, r),
        p if p == reg.customer.component.path => {
            check_view!(&reg.customer.component.view_uri);
            if get {
                customer_get(shared, &st, r)
            } else if post {
                customer_post(shared, &mut st, r)
            } else {
                Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
            }
        }
        "api/erp/mfgCustomers" => {
            if get {
                let key = (
                    r.q("domainContext").unwrap_or_default().to_string(),
                    r.q("customerCode").unwrap_or_default().to_string(),
                );
                let rec: Vec<Value> = st.mfg_customers.get(&key).cloned().into_iter().collect();
                ok(json!({"mfgCustomers": rec}), vec![])
            } else if post {
                mfg_customer_post(shared, &mut st, r)
            } else {
                Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
            }
        }
        p if p == reg.item.component.path => {
            check_view!(&reg.item.component.view_uri);
            if get {
                let key = (
                    r.q("domainCode").unwrap_or_default().to_string(),
                    r.q("itemCode").unwrap_or_default().to_string(),
                );
                let rec: Vec<Value> = st
                    .items
                    .get(&key)
                    .map(|i| {
                        json!({"domainCode": key.0, "itemCode": key.1, "description1": i.description, "unitOfMeasure": i.uom, "statusCode": "AC"})
                    })
                    .into_iter()
                    .collect();
                ok(json!({"items": rec}), vec![])
            } else if post {
                item_post(shared, &mut st, r)
            } else {
                Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
            }
        }
        p if p == so.component.path => {
            check_view!(&so.component.view_uri);
            if get {
                let key = (
                    r.q("domainCode").unwrap_or_default().to_string(),
                    r.q("salesOrderNumber").unwrap_or_default().to_string(),
                );
                let rec: Vec<Value> = st
                    .orders
                    .get(&key)
                    .map(|o| o.header.clone())
                    .into_iter()
                    .collect();
                ok(json!({"salesOrderHeaders": rec}), vec![])
            } else if post {
                order_post(shared, &mut st, r)
            } else {
                Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
            }
        }
        p if p == so.lines.grid_path => {
            if get {
                lines_get(shared, &mut st, r)
            } else if post {
                line_commit(shared, &mut st, r)
            } else {
                Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
            }
        }
        p if p == so.lines.field_change_path => {
            if post {
                line_field_change(shared, &mut st, r)
            } else {
                Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
            }
        }
        p if p == rc.component.path || p == is.component.path => {
            let issue = p == is.component.path;
            let def = if issue { is } else { rc };
            check_view!(&def.component.view_uri);
            if get {
                unplanned_template(shared, &mut st, r, issue)
            } else if post {
                unplanned_commit(shared, &mut st, r, issue)
            } else {
                Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
            }
        }
        p if p == rc.validate_path || p == is.validate_path => {
            if post {
                unplanned_validate(shared, &mut st, r)
            } else {
                Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
            }
        }
        p if p == inv.path => {
            check_view!(&inv.view_uri);
            if get {
                let v = r.q("voucher").unwrap_or_default();
                let rec: Vec<Value> = st
                    .invoices
                    .iter()
                    .filter(|i| {
                        i.get("voucher")
                            .map(|x| x.to_string().trim_matches('"') == v)
                            .unwrap_or(false)
                    })
                    .cloned()
                    .collect();
                ok(json!({ (inv.collection.clone()): rec }), vec![])
            } else if post {
                invoice_post(shared, &mut st, r)
            } else {
                Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
            }
        }
        p if p == jr.path => {
            check_view!(&jr.view_uri);
            if get {
                let v = r.q("voucher").unwrap_or_default();
                let rec: Vec<Value> = st
                    .journals
                    .iter()
                    .filter(|i| {
                        i.get("voucher")
                            .map(|x| x.to_string().trim_matches('"') == v)
                            .unwrap_or(false)
                    })
                    .cloned()
                    .collect();
                ok(json!({ (jr.collection.clone()): rec }), vec![])
            } else if post {
                journal_post(shared, &mut st, r)
            } else {
                Answer::html(StatusCode::METHOD_NOT_ALLOWED, METHOD_PAGE)
            }
        }
        _ => Answer::html(StatusCode::NOT_FOUND, NOT_FOUND_PAGE),
    }
}

fn authenticate(shared: &Shared, st: &mut State, r: &Req) -> Option<Answer> {
    let unauthorized = || {
        Some(bare(
            StatusCode::UNAUTHORIZED,
            "401",
            "Full authentication is required to access this resource",
        ))
    };
    let Some(auth) = r
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return unauthorized();
    };
    if let Some(tok) = auth.strip_prefix("Bearer ") {
        return match st.access_tokens.get(tok.trim()) {
            Some(exp) if tokio::time::Instant::now() < *exp => None,
            _ => unauthorized(),
        };
    }
    if let Some(b) = auth.strip_prefix("Basic ")
        && shared.cfg.allow_basic
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b.trim())
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .unwrap_or_default();
        if decoded == format!("{}:{}", shared.cfg.username, shared.cfg.password) {
            return None;
        }
    }
    unauthorized()
}

fn token(shared: &Shared, r: &Req) -> Answer {
    let mut form: HashMap<String, String> =
        url::form_urlencoded::parse(&r.body).into_owned().collect();
    for (k, v) in &r.query {
        form.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let mut st = shared.lock();
    let oauth_err = |status: StatusCode, code: &str, desc: &str| {
        Answer::json(status, json!({"error": code, "error_description": desc}))
    };
    if form.get("client_id").map(String::as_str) != Some(shared.cfg.client_id.as_str()) {
        st.grants.refused += 1;
        return oauth_err(StatusCode::UNAUTHORIZED, "invalid_client", "Unknown client");
    }
    match form.get("grant_type").map(String::as_str) {
        Some("password") => {
            if form.get("username") != Some(&shared.cfg.username)
                || form.get("password") != Some(&shared.cfg.password)
            {
                st.grants.refused += 1;
                return oauth_err(StatusCode::BAD_REQUEST, "invalid_grant", "Bad credentials");
            }
            st.grants.password += 1;
        }
        Some("refresh_token") => {
            let rt = form.get("refresh_token").cloned().unwrap_or_default();
            if !st.refresh_tokens.remove(&rt) {
                st.grants.refused += 1;
                return oauth_err(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid refresh token",
                );
            }
            st.grants.refresh += 1;
        }
        _ => {
            st.grants.refused += 1;
            return oauth_err(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant type",
            );
        }
    }
    let access = uuid::Uuid::new_v4().simple().to_string();
    let refresh = uuid::Uuid::new_v4().simple().to_string();
    st.access_tokens.insert(
        access.clone(),
        tokio::time::Instant::now() + shared.cfg.token_ttl,
    );
    st.refresh_tokens.insert(refresh.clone());
    Answer::json(
        StatusCode::OK,
        json!({"access_token": access, "token_type": "bearer", "refresh_token": refresh,
               "expires_in": shared.cfg.token_ttl.as_secs().max(1), "scope": "read write"}),
    )
}

// ------------------------------------------------------------------ browses

fn dec(d: Decimal) -> Value {
    decimal_number(d, "sim").unwrap_or_else(|_| Value::String(d.to_string()))
}

fn row(b: &BrowseDef, cells: &[(&str, Value)]) -> Map<String, Value> {
    cells
        .iter()
        .filter_map(|(logical, v)| b.field(logical).map(|f| (f.to_string(), v.clone())))
        .collect()
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn browse_rows(shared: &Shared, st: &State, id: &str) -> Vec<Map<String, Value>> {
    let reg = &shared.registry;
    if id == reg.domain.browse.id {
        let b = &reg.domain.browse;
        return shared
            .cfg
            .domains
            .iter()
            .map(|(d, e)| row(b, &[("code", json!(d)), ("entity", json!(e))]))
            .collect();
    }
    if id == reg.customer.browse.id {
        let b = &reg.customer.browse;
        return st
            .customers
            .values()
            .map(|c| {
                row(
                    b,
                    &[
                        ("code", json!(s(c, "customerCode"))),
                        ("name", json!(s(c, "businessRelationName"))),
                        ("currency", json!(s(c, "currencyCode"))),
                        ("active", c.get("isActive").cloned().unwrap_or(json!(true))),
                    ],
                )
            })
            .collect();
    }
    if id == reg.item.browse.id {
        let b = &reg.item.browse;
        return st
            .items
            .iter()
            .filter(|((d, _), _)| shared.cfg.domains.first().is_some_and(|x| &x.0 == d))
            .map(|((_, code), i)| {
                let d1: String = i.description.chars().take(24).collect();
                let d2: String = i.description.chars().skip(24).take(24).collect();
                row(
                    b,
                    &[
                        ("code", json!(code)),
                        ("description", json!(d1)),
                        ("description2", json!(d2)),
                        ("uom", json!(i.uom)),
                        ("status", json!("AC")),
                    ],
                )
            })
            .collect();
    }
    if id == reg.sales_order.browse.id {
        let b = &reg.sales_order.browse;
        let so = &reg.sales_order;
        return st
            .order_seq
            .iter()
            .filter_map(|k| st.orders.get(k))
            .map(|o| {
                let h = &o.header;
                row(
                    b,
                    &[
                        ("number", json!(s(h, "salesOrderNumber"))),
                        ("po", json!(s(h, &so.po_field))),
                        ("customer", json!(s(h, "soldToCustomerCode"))),
                        ("domain", json!(s(h, "domainCode"))),
                        ("remarks", json!(s(h, &so.remarks_field))),
                    ],
                )
            })
            .collect();
    }
    if id == reg.receivable.browse.id || id == reg.credit_note.browse.id {
        let b = if id == reg.receivable.browse.id {
            &reg.receivable.browse
        } else {
            &reg.credit_note.browse
        };
        return st
            .invoices
            .iter()
            .map(|i| {
                row(
                    b,
                    &[
                        ("reference", json!(s(i, &reg.receivable.reference_field))),
                        ("customer", json!(s(i, "customerCode"))),
                        ("voucher", json!(s(i, "voucher"))),
                        ("type", json!(s(i, "invoiceType"))),
                    ],
                )
            })
            .collect();
    }
    if id == reg.journal.browse.id {
        let b = &reg.journal.browse;
        return st
            .journals
            .iter()
            .map(|j| {
                row(
                    b,
                    &[
                        ("reference", json!(s(j, &reg.journal.reference_field))),
                        ("voucher", json!(s(j, "voucher"))),
                        ("entity", json!(s(j, "entityCode"))),
                    ],
                )
            })
            .collect();
    }
    if id == reg.inventory_adjustment.browse.id {
        let b = &reg.inventory_adjustment.browse;
        return st
            .adjustments
            .iter()
            .map(|a| {
                row(
                    b,
                    &[
                        ("reference", json!(s(a, "reference"))),
                        ("item", json!(s(a, "itemCode"))),
                        ("site", json!(s(a, "siteCode"))),
                        (
                            "quantity",
                            a.get("signedQuantity").cloned().unwrap_or(Value::Null),
                        ),
                        ("number", json!(s(a, "transactionNumber"))),
                    ],
                )
            })
            .collect();
    }
    if id == reg.inventory_level.browse.id {
        let b = &reg.inventory_level.browse;
        return st
            .stock
            .iter()
            .map(|((d, site, loc, item), q)| {
                row(
                    b,
                    &[
                        ("domain", json!(d)),
                        ("site", json!(site)),
                        ("location", json!(loc)),
                        ("item", json!(item)),
                        ("lot", json!("")),
                        ("reference", json!("")),
                        ("quantity_on_hand", dec(*q)),
                        ("quantity_allocated", json!(0)),
                    ],
                )
            })
            .collect();
    }
    if shared.cfg.field_lookup && id == reg.field_lookup.browse.id {
        let known: Vec<&BrowseDef> = vec![
            &reg.domain.browse,
            &reg.customer.browse,
            &reg.item.browse,
            &reg.sales_order.browse,
            &reg.receivable.browse,
            &reg.journal.browse,
            &reg.inventory_adjustment.browse,
            &reg.inventory_level.browse,
        ];
        let b = &reg.field_lookup.browse;
        let mut out = Vec::new();
        for k in known {
            for f in k.fields.values() {
                let mut m = row(b, &[("browse", json!(k.id)), ("field", json!(f))]);
                m.insert("fieldLabel".into(), json!(f));
                m.insert("fieldDataType".into(), json!("character"));
                out.push(m);
            }
        }
        return out;
    }
    Vec::new()
}

fn matches(row: &Map<String, Value>, filter: &str) -> bool {
    let parts: Vec<&str> = filter.split(',').collect();
    if parts.len() < 3 {
        return false;
    }
    let (field, op, value) = (parts[0], parts[1], parts[2]);
    let Some(cell) = row.get(field) else {
        return false;
    };
    let cell = match cell {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match op {
        "eq" => cell == value,
        "sw" => cell.starts_with(value),
        "ew" => cell.ends_with(value),
        "cn" => cell.contains(value),
        "gt" => cell.as_str() > value,
        "ge" => cell.as_str() >= value,
        "lt" => cell.as_str() < value,
        "le" => cell.as_str() <= value,
        _ => false,
    }
}

fn browse(shared: &Shared, st: &State, r: &Req) -> Answer {
    let id = r.q("browseId").unwrap_or_default();
    // Some browses answer nothing without paging parameters (reference qad.md §5).
    let (Some(page), Some(_)) = (r.q("page"), r.q("pageAction")) else {
        return Answer::json(
            StatusCode::OK,
            json!({"data": [], "auxillaryData": {"HasMoreParams": "false"}}),
        );
    };
    let page: usize = page.parse().unwrap_or(1).max(1);
    let size: usize = r
        .q("pageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(25)
        .clamp(1, 1000);
    let filters = r.q_all("filter");
    let mut rows: Vec<Map<String, Value>> = browse_rows(shared, st, id)
        .into_iter()
        .filter(|row| filters.iter().all(|f| matches(row, f)))
        .collect();
    if let Some(fields) = r.q("fields") {
        let wanted: Vec<&str> = fields.split(',').collect();
        for row in &mut rows {
            row.retain(|k, _| wanted.contains(&k.as_str()));
        }
    }
    let total = rows.len();
    let start = (page - 1) * size;
    let page_rows: Vec<Value> = rows
        .into_iter()
        .skip(start)
        .take(size)
        .map(Value::Object)
        .collect();
    let more = start + page_rows.len() < total;
    Answer::json(
        StatusCode::OK,
        json!({"data": page_rows, "auxillaryData": {"HasMoreParams": if more { "true" } else { "false" }}}),
    )
}

// ------------------------------------------------------------------ helpers

fn first_record(r: &Req, collection: &str) -> Option<Value> {
    let v = r.json()?;
    v.get(collection)
        .or_else(|| v.get("data").and_then(|d| d.get(collection)))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .cloned()
}

fn bad_body(collection: &str) -> Answer {
    rejected(vec![err(
        "",
        format!("Request body must be {{\"{collection}\":[…]}}"),
        "",
        "0",
    )])
}

fn known_domain(shared: &Shared, d: &str) -> bool {
    shared.cfg.domains.iter().any(|(x, _)| x == d)
}

fn known_entity(shared: &Shared, e: &str) -> bool {
    shared.cfg.domains.iter().any(|(_, x)| x == e)
}

fn known_site(shared: &Shared, s: &str) -> bool {
    shared.cfg.sites.iter().any(|x| x == s)
}

fn customer_exists(st: &State, code: &str) -> bool {
    st.customers.keys().any(|(_, c)| c == code)
}

fn parse_date(v: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v.get(..10)?, "%Y-%m-%d").ok()
}

fn num(v: &Value, k: &str) -> Option<Decimal> {
    v.get(k).and_then(value_decimal)
}

fn hash(st: &mut State) -> String {
    format!("h{}", st.next())
}

// ------------------------------------------------------------------ customers

fn customer_get(_shared: &Shared, st: &State, r: &Req) -> Answer {
    let key = (
        r.q("sharedSetCode").unwrap_or_default().to_string(),
        r.q("customerCode").unwrap_or_default().to_string(),
    );
    let rec: Vec<Value> = st.customers.get(&key).cloned().into_iter().collect();
    ok(json!({"customerV2s": rec}), vec![])
}

const CUSTOMER_MANDATORY: [&str; 8] = [
    "businessRelationCode",
    "currencyCode",
    "creditTermsCode",
    "invoiceStatusCode",
    "invoiceControlGLProfileCode",
    "creditNoteControlGLProfileCode",
    "prePaymentControlGLProfileCode",
    "salesAccountGLProfileCode",
];

fn customer_post(shared: &Shared, st: &mut State, r: &Req) -> Answer {
    let Some(mut rec) = first_record(r, "customerV2s") else {
        return bad_body("customerV2s");
    };
    let update = r.q("customerCode").is_some();
    let set = if update {
        r.q("sharedSetCode").unwrap_or_default().to_string()
    } else {
        s(&rec, "sharedSetCode")
    };
    let code = if update {
        r.q("customerCode").unwrap_or_default().to_string()
    } else {
        s(&rec, "customerCode")
    };
    if !shared.cfg.shared_sets.contains(&set) {
        return rejected(vec![err(
            "sharedSetCode",
            "Shared set does not exist",
            &set,
            "7211",
        )]);
    }
    if code.is_empty() {
        return rejected(vec![err(
            "customerCode",
            "Customer code is mandatory",
            "",
            "40",
        )]);
    }
    let key = (set.clone(), code.clone());
    if update {
        let Some(current) = st.customers.get(&key).cloned() else {
            return rejected(vec![err(
                "customerCode",
                "Customer does not exist",
                &code,
                "3",
            )]);
        };
        if s(&rec, "concurrencyHash") != s(&current, "concurrencyHash") {
            return rejected(vec![err(
                "concurrencyHash",
                "Record has been changed by another user",
                "",
                "2042",
            )]);
        }
        if let (Some(o), Some(cur)) = (rec.as_object_mut(), current.as_object()) {
            for (k, v) in cur {
                o.entry(k.clone()).or_insert(v.clone());
            }
            o.insert("customerCode".into(), json!(code));
            o.insert("sharedSetCode".into(), json!(set));
        }
    } else {
        if st.customers.contains_key(&key) {
            return rejected(vec![err(
                "customerCode",
                "Customer already exists",
                &code,
                "1046",
            )]);
        }
        let missing: Vec<Value> = CUSTOMER_MANDATORY
            .iter()
            .filter(|f| s(&rec, f).trim().is_empty())
            .map(|f| err(f, "Value is mandatory", "", "40"))
            .collect();
        if !missing.is_empty() {
            return rejected(missing);
        }
        let search = s(&rec, "addressSearchName");
        if search.chars().count() >= 29 {
            // QAD reports this one with a capitalised field name.
            return rejected(vec![err(
                "AddressSearchName",
                "Search name must be shorter than 29 characters",
                &search,
                "2773",
            )]);
        }
        if s(&rec, "currencyCode").len() != 3 {
            return rejected(vec![err(
                "currencyCode",
                "Currency does not exist",
                s(&rec, "currencyCode"),
                "2130",
            )]);
        }
        for (d, _) in &shared.cfg.domains {
            let h = hash(st);
            st.mfg_customers.insert(
                (d.clone(), code.clone()),
                json!({"customerCode": code, "domainCode": d, "siteCode": "", "daybookSetCode": "", "concurrencyHash": h}),
            );
        }
    }
    let h = hash(st);
    rec["concurrencyHash"] = json!(h);
    rec["dataOperation"] = json!("");
    st.customers.insert(key, rec.clone());
    ok(json!({"customerV2s": [rec]}), vec![])
}

fn mfg_customer_post(shared: &Shared, st: &mut State, r: &Req) -> Answer {
    let Some(mut rec) = first_record(r, "mfgCustomers") else {
        return bad_body("mfgCustomers");
    };
    let key = (
        r.q("domainContext").unwrap_or_default().to_string(),
        r.q("customerCode").unwrap_or_default().to_string(),
    );
    let Some(current) = st.mfg_customers.get(&key).cloned() else {
        return rejected(vec![err(
            "customerCode",
            "Customer does not exist in this domain",
            &key.1,
            "3",
        )]);
    };
    if s(&rec, "concurrencyHash") != s(&current, "concurrencyHash") {
        return rejected(vec![err(
            "concurrencyHash",
            "Record has been changed by another user",
            "",
            "2042",
        )]);
    }
    let site = s(&rec, "siteCode");
    if !site.is_empty() && !known_site(shared, &site) {
        return rejected(vec![err("siteCode", "Site does not exist", &site, "708")]);
    }
    rec["concurrencyHash"] = json!(hash(st));
    st.mfg_customers.insert(key, rec.clone());
    ok(json!({"mfgCustomers": [rec]}), vec![])
}

fn item_post(shared: &Shared, st: &mut State, r: &Req) -> Answer {
    let Some(rec) = first_record(r, "items") else {
        return bad_body("items");
    };
    let domain = s(&rec, "domainCode");
    let code = s(&rec, "itemCode");
    if !known_domain(shared, &domain) {
        return rejected(vec![err(
            "domainCode",
            "Domain does not exist",
            &domain,
            "6137",
        )]);
    }
    if code.is_empty() {
        return rejected(vec![err("itemCode", "Item number is mandatory", "", "40")]);
    }
    if st.items.contains_key(&(domain.clone(), code.clone())) {
        return rejected(vec![err(
            "itemCode",
            "Item number already exists",
            &code,
            "1001",
        )]);
    }
    st.items.insert(
        (domain, code),
        super::SimItem {
            description: format!("{}{}", s(&rec, "description1"), s(&rec, "description2")),
            uom: s(&rec, "unitOfMeasure"),
            price: Decimal::ZERO,
        },
    );
    ok(json!({"items": [rec]}), vec![])
}

// ------------------------------------------------------------------ sales orders

pub(crate) fn order_json(o: &SimOrder) -> Value {
    let mut h = o.header.clone();
    h["lines"] = Value::Array(o.lines.values().cloned().collect());
    h
}

fn order_post(shared: &Shared, st: &mut State, r: &Req) -> Answer {
    let Some(mut h) = first_record(r, "salesOrderHeaders") else {
        return bad_body("salesOrderHeaders");
    };
    let so = &shared.registry.sales_order;
    let domain = s(&h, "domainCode");
    if !known_domain(shared, &domain) {
        return rejected(vec![err(
            "domainCode",
            "Domain does not exist",
            &domain,
            "6137",
        )]);
    }
    let mut number = s(&h, "salesOrderNumber");
    if number.is_empty() {
        number = format!("SO{:06}", st.next());
        h["salesOrderNumber"] = json!(number);
    }
    if st.orders.contains_key(&(domain.clone(), number.clone())) {
        return rejected(vec![err(
            "salesOrderNumber",
            "Sales order already exists",
            &number,
            "1019",
        )]);
    }
    let mut errors = Vec::new();
    for f in [
        "soldToCustomerCode",
        "billToCustomerCode",
        "shipToCustomerCode",
    ] {
        let c = s(&h, f);
        if !customer_exists(st, &c) {
            errors.push(err(f, "Customer does not exist", &c, "3"));
        }
    }
    let site = s(&h, "siteCode");
    if !known_site(shared, &site) {
        errors.push(err("siteCode", "Site does not exist", &site, "708"));
    }
    let cur = s(&h, "currencyCode");
    if cur.len() != 3 || !cur.bytes().all(|b| b.is_ascii_uppercase()) {
        errors.push(err("currencyCode", "Currency does not exist", &cur, "2130"));
    }
    for f in ["orderDate", "dueDate"] {
        if parse_date(&s(&h, f)).is_none() {
            errors.push(err(f, "Invalid date", s(&h, f), "27"));
        }
    }
    if !errors.is_empty() {
        return rejected(errors);
    }
    // QAD only warns about a duplicate customer PO (message 624): the order is stored anyway.
    let po = s(&h, &so.po_field);
    let sold_to = s(&h, "soldToCustomerCode");
    let mut warnings = Vec::new();
    if !po.is_empty()
        && st.orders.values().any(|o| {
            s(&o.header, &so.po_field) == po && s(&o.header, "soldToCustomerCode") == sold_to
        })
    {
        warnings.push(json!({"fieldName": so.po_field, "message": "Duplicate customer purchase order", "fieldValue": po, "code": "624", "severity": "2"}));
    }
    h["concurrencyHash"] = json!(hash(st));
    h["dataOperation"] = json!("");
    let key = (domain, number);
    st.orders.insert(
        key.clone(),
        SimOrder {
            header: h.clone(),
            lines: BTreeMap::new(),
        },
    );
    st.order_seq.push(key);
    ok(json!({"salesOrderHeaders": [h]}), warnings)
}

fn lines_get(shared: &Shared, st: &mut State, r: &Req) -> Answer {
    let key = (
        r.q("domainCode").unwrap_or_default().to_string(),
        r.q("salesOrderNumber").unwrap_or_default().to_string(),
    );
    let coll = shared.registry.sales_order.lines.collection.clone();
    if r.q("initialize") == Some("true") {
        let Some(order) = st.orders.get(&key) else {
            return rejected(vec![err(
                "salesOrderNumber",
                "Sales order does not exist",
                &key.1,
                "609",
            )]);
        };
        let next = order.lines.keys().max().copied().unwrap_or(0) + 1;
        let h = order.header.clone();
        let draft = uuid::Uuid::new_v4().simple().to_string();
        st.line_drafts.insert(
            draft.clone(),
            LineDraft {
                domain: key.0.clone(),
                number: key.1.clone(),
                validated: BTreeMap::new(),
            },
        );
        let line = json!({
            "salesOrderNumber": key.1, "domainCode": key.0, "salesOrderLine": next,
            "itemCode": "", "siteCode": s(&h, "siteCode"), "quantityOrdered": 0, "listPrice": 0,
            "discountFormatted": "0", "netPrice": 0, "dueDate": s(&h, "dueDate"),
            "unitOfMeasure": "", "description": "", "isTaxable": true, "lineDraftId": draft
        });
        return ok(json!({ (coll): [line] }), vec![]);
    }
    let lines: Vec<Value> = st
        .orders
        .get(&key)
        .map(|o| o.lines.values().cloned().collect())
        .unwrap_or_default();
    ok(json!({ (coll): lines }), vec![])
}

fn line_field_change(shared: &Shared, st: &mut State, r: &Req) -> Answer {
    let lf = &shared.registry.sales_order.lines;
    let Some(mut line) = first_record(r, &lf.collection) else {
        return bad_body(&lf.collection);
    };
    let field = r.q("fieldName").unwrap_or_default().to_string();
    let draft_id = s(&line, "lineDraftId");
    let Some(draft) = st.line_drafts.get(&draft_id).cloned() else {
        return rejected(vec![err(
            "lineDraftId",
            "Line was not initialized: call the grid with initialize=true first",
            &draft_id,
            "9001",
        )]);
    };
    let value = line.get(&field).cloned().unwrap_or(Value::Null);
    match field.as_str() {
        "itemCode" => {
            let code = s(&line, "itemCode");
            let Some(item) = st.items.get(&(draft.domain.clone(), code.clone())).cloned() else {
                return rejected(vec![err(
                    "itemCode",
                    "Item number does not exist",
                    &code,
                    "16",
                )]);
            };
            line[lf.uom_field.as_str()] = json!(item.uom);
            line["description"] = json!(item.description);
            if num(&line, "listPrice").unwrap_or_default().is_zero() {
                line["listPrice"] = dec(item.price);
            }
        }
        "siteCode" => {
            let site = s(&line, "siteCode");
            if !known_site(shared, &site) {
                return rejected(vec![err("siteCode", "Site does not exist", &site, "708")]);
            }
        }
        "quantityOrdered" => {
            if num(&line, "quantityOrdered").unwrap_or_default().is_zero() {
                return rejected(vec![err(
                    "quantityOrdered",
                    "Quantity must not be zero",
                    value.to_string(),
                    "317",
                )]);
            }
        }
        "listPrice" | "netPrice" => {
            if num(&line, &field).is_none_or(|d| d < Decimal::ZERO) {
                return rejected(vec![err(
                    &field,
                    "Price must be a number not less than zero",
                    value.to_string(),
                    "7100",
                )]);
            }
        }
        "discountFormatted" => {
            if Decimal::from_str(&s(&line, "discountFormatted")).is_err() {
                return rejected(vec![err(
                    &field,
                    "Invalid discount",
                    value.to_string(),
                    "7101",
                )]);
            }
        }
        "dueDate" => {
            if parse_date(&s(&line, "dueDate")).is_none() {
                return rejected(vec![err(
                    "dueDate",
                    "Invalid date",
                    value.to_string(),
                    "27",
                )]);
            }
        }
        f if f == lf.uom_field => {
            if s(&line, f).is_empty() {
                return rejected(vec![err(f, "Unit of measure is mandatory", "", "40")]);
            }
        }
        "description" | "isTaxable" => {}
        other => {
            return rejected(vec![err(
                other,
                "Field is not known to this component",
                "",
                "9002",
            )]);
        }
    }
    if let Some(d) = st.line_drafts.get_mut(&draft_id) {
        d.validated.insert(
            field.clone(),
            line.get(&field).cloned().unwrap_or(Value::Null),
        );
    }
    ok(json!({ (lf.collection.clone()): [line] }), vec![])
}

fn line_commit(shared: &Shared, st: &mut State, r: &Req) -> Answer {
    let lf = &shared.registry.sales_order.lines;
    let Some(mut line) = first_record(r, &lf.collection) else {
        return bad_body(&lf.collection);
    };
    let draft_id = s(&line, "lineDraftId");
    let Some(draft) = st.line_drafts.get(&draft_id).cloned() else {
        return rejected(vec![err(
            "lineDraftId",
            "Line was not initialized: call the grid with initialize=true first",
            &draft_id,
            "9001",
        )]);
    };
    for required in ["itemCode", "quantityOrdered"] {
        let Some(v) = draft.validated.get(required) else {
            return rejected(vec![err(
                required,
                "Field was not validated (fieldChange) before commit",
                "",
                "9003",
            )]);
        };
        if line.get(required) != Some(v) {
            return rejected(vec![err(
                required,
                "Value changed after validation: send fieldChange again",
                s(&line, required),
                "9004",
            )]);
        }
    }
    let n = num(&line, "salesOrderLine")
        .and_then(|d| u32::try_from(d.trunc().mantissa()).ok())
        .unwrap_or(0);
    let key = (draft.domain.clone(), draft.number.clone());
    let Some(order) = st.orders.get_mut(&key) else {
        return rejected(vec![err(
            "salesOrderNumber",
            "Sales order does not exist",
            &draft.number,
            "609",
        )]);
    };
    if n == 0 || order.lines.contains_key(&n) {
        return rejected(vec![err(
            "salesOrderLine",
            "Line number already exists",
            n.to_string(),
            "1020",
        )]);
    }
    if let Some(o) = line.as_object_mut() {
        o.remove("lineDraftId");
    }
    order.lines.insert(n, line.clone());
    st.line_drafts.remove(&draft_id);
    ok(json!({ (lf.collection.clone()): [line] }), vec![])
}

// ------------------------------------------------------------------ unplanned receipts / issues

fn unplanned_template(shared: &Shared, st: &mut State, r: &Req, issue: bool) -> Answer {
    let def = if issue {
        &shared.registry.inventory_adjustment.issue
    } else {
        &shared.registry.inventory_adjustment.receipt
    };
    let domain = r.q("domainCode").unwrap_or_default().to_string();
    let site = r.q("siteCode").unwrap_or_default().to_string();
    if !known_domain(shared, &domain) {
        return rejected(vec![err(
            "domainCode",
            "Domain does not exist",
            &domain,
            "6137",
        )]);
    }
    if !known_site(shared, &site) {
        return rejected(vec![err("siteCode", "Site does not exist", &site, "708")]);
    }
    let hid = st.next().to_string();
    let did = st.next().to_string();
    st.unplanned_drafts.insert(
        hid.clone(),
        UnplannedDraft {
            issue,
            domain: domain.clone(),
            site: site.clone(),
            detail_id: did.clone(),
            validated: BTreeMap::new(),
        },
    );
    let tree = json!({ (def.component.collection.clone()): [{
        "unplannedProcessorHeaderID": hid, "domainCode": domain, "siteCode": site,
        (def.detail_collection.clone()): [{
            "unplannedProcessorDetailID": did, "itemCode": "", "transactionQuantity": 0,
            "location": "", "lotSerial": "", (def.reference_field.clone()): "", "description": "",
            "inventoryStatus": ""
        }]
    }]});
    ok(tree, vec![])
}

fn unplanned_parts(shared: &Shared, body: &Value, issue: bool) -> Option<(Value, Value)> {
    let def = if issue {
        &shared.registry.inventory_adjustment.issue
    } else {
        &shared.registry.inventory_adjustment.receipt
    };
    let header = body
        .get(&def.component.collection)?
        .as_array()?
        .first()?
        .clone();
    let detail = header
        .get(&def.detail_collection)?
        .as_array()?
        .first()?
        .clone();
    Some((header, detail))
}

fn unplanned_validate(shared: &Shared, st: &mut State, r: &Req) -> Answer {
    let hid = r
        .q("unplannedProcessorHeaderID")
        .unwrap_or_default()
        .to_string();
    let Some(draft) = st.unplanned_drafts.get(&hid).cloned() else {
        return rejected(vec![err(
            "unplannedProcessorHeaderID",
            "Transaction was not initialized",
            &hid,
            "9001",
        )]);
    };
    if r.q("unplannedProcessorDetailID") != Some(draft.detail_id.as_str()) {
        return rejected(vec![err(
            "unplannedProcessorDetailID",
            "Unknown detail",
            r.q("unplannedProcessorDetailID").unwrap_or_default(),
            "9001",
        )]);
    }
    let def = if draft.issue {
        &shared.registry.inventory_adjustment.issue
    } else {
        &shared.registry.inventory_adjustment.receipt
    };
    let Some(mut body) = r.json() else {
        return bad_body(&def.component.collection);
    };
    let Some((_, mut detail)) = unplanned_parts(shared, &body, draft.issue) else {
        return bad_body(&def.component.collection);
    };
    let field = r.q("fieldName").unwrap_or_default().to_string();
    match field.as_str() {
        "itemCode" => {
            let item = s(&detail, "itemCode");
            if !st.items.contains_key(&(draft.domain.clone(), item.clone())) {
                return rejected(vec![err(
                    "itemCode",
                    "Item number does not exist",
                    &item,
                    "16",
                )]);
            }
            detail["inventoryStatus"] = json!("GOOD");
        }
        "transactionQuantity" => {
            let q = num(&detail, "transactionQuantity").unwrap_or_default();
            if q <= Decimal::ZERO {
                return rejected(vec![err(
                    "transactionQuantity",
                    "Quantity must be greater than zero",
                    q.to_string(),
                    "317",
                )]);
            }
            if draft.issue {
                let key = (
                    draft.domain.clone(),
                    draft.site.clone(),
                    s(&detail, "location"),
                    s(&detail, "itemCode"),
                );
                let on_hand = st.stock.get(&key).copied().unwrap_or_default();
                if on_hand < q {
                    return rejected(vec![err(
                        "transactionQuantity",
                        format!("Quantity available in site/location is {on_hand}"),
                        q.to_string(),
                        "208",
                    )]);
                }
            }
        }
        "location" | "lotSerial" => {}
        other => {
            return rejected(vec![err(
                other,
                "Field is not known to this component",
                "",
                "9002",
            )]);
        }
    }
    if let Some(d) = st.unplanned_drafts.get_mut(&hid) {
        d.validated.insert(
            field.clone(),
            detail.get(&field).cloned().unwrap_or(Value::Null),
        );
    }
    if let Some(h) = body
        .get_mut(&def.component.collection)
        .and_then(Value::as_array_mut)
        .and_then(|a| a.first_mut())
    {
        h[def.detail_collection.as_str()] = json!([detail]);
    }
    ok(body, vec![])
}

fn unplanned_commit(shared: &Shared, st: &mut State, r: &Req, issue: bool) -> Answer {
    let def = if issue {
        &shared.registry.inventory_adjustment.issue
    } else {
        &shared.registry.inventory_adjustment.receipt
    };
    let Some(body) = r.json() else {
        return bad_body(&def.component.collection);
    };
    let Some((header, detail)) = unplanned_parts(shared, &body, issue) else {
        return bad_body(&def.component.collection);
    };
    let hid = s(&header, "unplannedProcessorHeaderID");
    let Some(draft) = st.unplanned_drafts.get(&hid).cloned() else {
        return rejected(vec![err(
            "unplannedProcessorHeaderID",
            "Transaction was not initialized",
            &hid,
            "9001",
        )]);
    };
    if draft.issue != issue {
        return rejected(vec![err(
            "unplannedProcessorHeaderID",
            "Transaction belongs to another component",
            &hid,
            "9001",
        )]);
    }
    for required in ["itemCode", "transactionQuantity"] {
        match draft.validated.get(required) {
            Some(v) if detail.get(required) == Some(v) => {}
            _ => {
                return rejected(vec![err(
                    required,
                    "Field was not validated before commit",
                    s(&detail, required),
                    "9003",
                )]);
            }
        }
    }
    let q = num(&detail, "transactionQuantity").unwrap_or_default();
    let key = (
        draft.domain.clone(),
        draft.site.clone(),
        s(&detail, "location"),
        s(&detail, "itemCode"),
    );
    let on_hand = st.stock.get(&key).copied().unwrap_or_default();
    let signed = if issue { -q } else { q };
    if on_hand + signed < Decimal::ZERO {
        return rejected(vec![err(
            "transactionQuantity",
            format!("Quantity available in site/location is {on_hand}"),
            q.to_string(),
            "208",
        )]);
    }
    st.stock.insert(key, on_hand + signed);
    let trnbr = st.next();
    st.adjustments.push(json!({
        "transactionNumber": trnbr.to_string(),
        "transactionType": if issue { "ISS-UNP" } else { "RCT-UNP" },
        "domainCode": draft.domain, "siteCode": draft.site,
        "itemCode": s(&detail, "itemCode"), "location": s(&detail, "location"),
        "quantity": dec(q), "signedQuantity": dec(signed),
        "reference": s(&detail, &def.reference_field), "description": s(&detail, "description"),
    }));
    st.unplanned_drafts.remove(&hid);
    ok(body, vec![])
}

// ------------------------------------------------------------------ financials

fn period_closed(st: &State, entity: &str, date: NaiveDate) -> bool {
    st.closed_periods
        .contains(&(entity.to_string(), date.year(), date.month()))
}

fn invoice_post(shared: &Shared, st: &mut State, r: &Req) -> Answer {
    let reg = &shared.registry;
    let coll = reg.receivable.component.collection.clone();
    let Some(mut rec) = first_record(r, &coll) else {
        return bad_body(&coll);
    };
    let mut errors = Vec::new();
    let entity = s(&rec, "entityCode");
    if !known_entity(shared, &entity) {
        errors.push(err("entityCode", "Entity does not exist", &entity, "1181"));
    }
    let customer = s(&rec, "customerCode");
    if !customer_exists(st, &customer) {
        errors.push(err(
            "customerCode",
            "Customer does not exist",
            &customer,
            "3",
        ));
    }
    let kind = s(&rec, "invoiceType");
    let types = [
        reg.receivable.invoice_type.as_str(),
        reg.credit_note.invoice_type.as_str(),
    ];
    if !types.contains(&kind.as_str()) {
        errors.push(err("invoiceType", "Invalid invoice type", &kind, "1182"));
    }
    if s(&rec, "daybookCode").is_empty() {
        errors.push(err("daybookCode", "Daybook is mandatory", "", "40"));
    }
    match parse_date(&s(&rec, "postingDate")) {
        None => errors.push(err(
            "postingDate",
            "Invalid date",
            s(&rec, "postingDate"),
            "27",
        )),
        Some(d) if period_closed(st, &entity, d) => errors.push(err(
            "postingDate",
            format!(
                "GL period {}/{} is closed for entity {entity}",
                d.year(),
                d.month()
            ),
            s(&rec, "postingDate"),
            "3016",
        )),
        Some(_) => {}
    }
    let linked = s(&rec, "linkedInvoiceVoucher");
    if !linked.is_empty() && !st.invoices.iter().any(|i| s(i, "voucher") == linked) {
        errors.push(err(
            "linkedInvoiceVoucher",
            "Linked invoice does not exist",
            &linked,
            "1183",
        ));
    }
    let debit = num(&rec, "originalDebitTC").unwrap_or_default();
    let credit = num(&rec, "originalCreditTC").unwrap_or_default();
    if debit.is_zero() == credit.is_zero() {
        errors.push(err(
            "originalDebitTC",
            "Enter either a debit or a credit amount",
            debit.to_string(),
            "1184",
        ));
    }
    if !errors.is_empty() {
        return rejected(errors);
    }
    let voucher = format!("{}{:06}", chrono::Utc::now().year(), st.next());
    rec["voucher"] = json!(voucher);
    rec["dataOperation"] = json!("");
    st.invoices.push(rec.clone());
    ok(json!({ (coll): [rec] }), vec![])
}

fn journal_post(shared: &Shared, st: &mut State, r: &Req) -> Answer {
    let reg = &shared.registry;
    let coll = reg.journal.component.collection.clone();
    let Some(mut rec) = first_record(r, &coll) else {
        return bad_body(&coll);
    };
    let mut errors = Vec::new();
    let entity = s(&rec, "entityCode");
    if !known_entity(shared, &entity) {
        errors.push(err("entityCode", "Entity does not exist", &entity, "1181"));
    }
    if s(&rec, "daybookCode").is_empty() {
        errors.push(err("daybookCode", "Daybook is mandatory", "", "40"));
    }
    match parse_date(&s(&rec, "postingDate")) {
        None => errors.push(err(
            "postingDate",
            "Invalid date",
            s(&rec, "postingDate"),
            "27",
        )),
        Some(d) if period_closed(st, &entity, d) => errors.push(err(
            "postingDate",
            format!(
                "GL period {}/{} is closed for entity {entity}",
                d.year(),
                d.month()
            ),
            s(&rec, "postingDate"),
            "3016",
        )),
        Some(_) => {}
    }
    let lines = rec
        .get(&reg.journal.lines_collection)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if lines.is_empty() {
        errors.push(err(
            &reg.journal.lines_collection,
            "Journal entry has no lines",
            "",
            "1190",
        ));
    }
    let mut per_currency: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for (i, l) in lines.iter().enumerate() {
        if s(l, "glCode").is_empty() {
            errors.push(err(
                "glCode",
                format!("Line {}: GL account is mandatory", i + 1),
                "",
                "40",
            ));
        }
        let e = per_currency.entry(s(l, "currencyCode")).or_default();
        e.0 += num(l, "debitTC").unwrap_or_default();
        e.1 += num(l, "creditTC").unwrap_or_default();
    }
    for (cur, (dr, cr)) in &per_currency {
        if dr != cr {
            errors.push(err(
                &reg.journal.lines_collection,
                format!("Journal entry is not balanced in {cur}: debit {dr}, credit {cr}"),
                (dr - cr).to_string(),
                "3027",
            ));
        }
    }
    if !errors.is_empty() {
        return rejected(errors);
    }
    let voucher = format!("{}{:06}", chrono::Utc::now().year(), st.next());
    rec["voucher"] = json!(voucher);
    rec["dataOperation"] = json!("");
    st.journals.push(rec.clone());
    ok(json!({ (coll): [rec] }), vec![])
}
