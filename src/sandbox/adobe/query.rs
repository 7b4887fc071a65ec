//! Server-side `searchCriteria`: parsed from the query string the way PHP fills `$_GET`
//! (`+` is a space here, unlike in the OAuth base string), evaluated on JSON rows like a
//! Magento collection (groups AND, filters OR, string columns compared as strings, `like` with
//! `%`/`_`, a missing direction meaning DESC).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Value, json};

/// One parsed filter.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub field: String,
    pub value: String,
    pub condition: String,
}

/// Parsed criteria.
#[derive(Debug, Clone, Default)]
pub(crate) struct Criteria {
    pub groups: Vec<Vec<Filter>>,
    pub sorts: Vec<(String, bool)>,
    pub page_size: Option<u64>,
    pub current_page: Option<u64>,
    /// Whether any `searchCriteria` parameter was present.
    pub present: bool,
    /// The `fields` projection, if any.
    pub fields: Option<String>,
}

/// PHP `urldecode`: `+` is a space, `%XX` decoded.
fn urldecode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// Splits `searchCriteria[a][0][b]` into `["searchCriteria","a","0","b"]`.
fn key_path(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    out.push(head.to_string());
    while let Some(stripped) = rest.strip_prefix('[') {
        match stripped.find(']') {
            Some(j) => {
                out.push(stripped[..j].to_string());
                rest = &stripped[j + 1..];
            }
            None => break,
        }
    }
    out
}

fn camel(s: &str) -> String {
    match s {
        "filterGroups" => "filter_groups",
        "conditionType" => "condition_type",
        "sort_orders" => "sortOrders",
        "page_size" => "pageSize",
        "current_page" => "currentPage",
        other => other,
    }
    .to_string()
}

/// Parses the raw query string.
pub(crate) fn parse(raw_query: &str) -> Criteria {
    let mut c = Criteria::default();
    let mut groups: BTreeMap<usize, BTreeMap<usize, Filter>> = BTreeMap::new();
    let mut sorts: BTreeMap<usize, (String, Option<String>)> = BTreeMap::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = urldecode(k);
        let value = urldecode(v);
        let path: Vec<String> = key_path(&key).iter().map(|s| camel(s)).collect();
        if key == "fields" {
            c.fields = Some(value);
            continue;
        }
        if path.first().map(String::as_str) != Some("searchCriteria") {
            continue;
        }
        c.present = true;
        match path.get(1).map(String::as_str) {
            Some("filter_groups") => {
                let (Some(g), Some("filters"), Some(f), Some(attr)) = (
                    path.get(2).and_then(|s| s.parse::<usize>().ok()),
                    path.get(3).map(String::as_str),
                    path.get(4).and_then(|s| s.parse::<usize>().ok()),
                    path.get(5).map(String::as_str),
                ) else {
                    continue;
                };
                let filter = groups.entry(g).or_default().entry(f).or_default();
                match attr {
                    "field" => filter.field = value,
                    "value" => filter.value = value,
                    "condition_type" => filter.condition = value,
                    _ => {}
                }
            }
            Some("sortOrders") => {
                let (Some(i), Some(attr)) = (
                    path.get(2).and_then(|s| s.parse::<usize>().ok()),
                    path.get(3).map(String::as_str),
                ) else {
                    continue;
                };
                let s = sorts.entry(i).or_default();
                match attr {
                    "field" => s.0 = value,
                    "direction" => s.1 = Some(value),
                    _ => {}
                }
            }
            Some("pageSize") => c.page_size = value.trim().parse().ok(),
            Some("currentPage") => c.current_page = value.trim().parse().ok(),
            _ => {}
        }
    }
    c.groups = groups
        .into_values()
        .map(|fs| {
            fs.into_values()
                .filter(|f| !f.field.is_empty())
                .map(|mut f| {
                    if f.condition.is_empty() {
                        f.condition = "eq".into();
                    }
                    f
                })
                .collect::<Vec<_>>()
        })
        .filter(|g| !g.is_empty())
        .collect();
    c.sorts = sorts
        .into_values()
        .filter(|(f, _)| !f.is_empty())
        // Anything but ASC (a missing direction included) sorts DESC.
        .map(|(f, d)| {
            (
                f,
                d.as_deref().is_some_and(|d| d.eq_ignore_ascii_case("ASC")),
            )
        })
        .collect();
    c
}

/// The row's value of `field`; `entity_id` falls back to `id` (customers, products, companies).
pub(crate) fn field<'a>(row: &'a Value, name: &str) -> Option<&'a Value> {
    match row.get(name) {
        Some(v) => Some(v),
        None if name == "entity_id" => row.get("id"),
        None => None,
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(u8::from(*b).to_string()),
        _ => None,
    }
}

/// Compares a column with a literal: numeric columns numerically, text columns as text.
fn compare(col: &Value, literal: &str) -> Option<Ordering> {
    match col {
        Value::Number(n) => {
            let a = n.as_f64()?;
            let b: f64 = literal.trim().parse().ok()?;
            a.partial_cmp(&b)
        }
        Value::Bool(b) => Some(u8::from(*b).cmp(&literal.trim().parse::<u8>().ok()?)),
        Value::String(s) => Some(s.as_str().cmp(literal)),
        _ => None,
    }
}

fn like(text: &str, pattern: &str) -> bool {
    fn go(t: &[char], p: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&t[i..], &p[1..])),
            Some('_') => !t.is_empty() && go(&t[1..], &p[1..]),
            Some(c) => t.first().is_some_and(|x| x == c) && go(&t[1..], &p[1..]),
        }
    }
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    go(&t, &p)
}

/// Does `row` satisfy one filter? `Err` carries an unknown condition type.
fn matches(row: &Value, f: &Filter) -> Result<bool, String> {
    let col = field(row, &f.field).filter(|v| !v.is_null());
    let eq = |lit: &str| col.and_then(|c| compare(c, lit)) == Some(Ordering::Equal);
    let ord = |o: fn(Ordering) -> bool| col.and_then(|c| compare(c, &f.value)).is_some_and(o);
    Ok(match f.condition.to_ascii_lowercase().as_str() {
        "eq" => eq(&f.value),
        "neq" => col.is_some() && !eq(&f.value),
        "gt" => ord(|o| o == Ordering::Greater),
        "gteq" | "from" | "moreq" => ord(|o| o != Ordering::Less),
        "lt" => ord(|o| o == Ordering::Less),
        "lteq" | "to" => ord(|o| o != Ordering::Greater),
        "in" => f.value.split(',').any(|v| eq(v.trim())),
        "nin" => col.is_some() && !f.value.split(',').any(|v| eq(v.trim())),
        "like" => col.and_then(as_text).is_some_and(|t| like(&t, &f.value)),
        "nlike" => col.and_then(as_text).is_some_and(|t| !like(&t, &f.value)),
        "null" => col.is_none(),
        "notnull" => col.is_some(),
        "finset" => col
            .and_then(as_text)
            .is_some_and(|t| t.split(',').any(|x| x == f.value)),
        "nfinset" => col
            .and_then(as_text)
            .is_some_and(|t| !t.split(',').any(|x| x == f.value)),
        other => return Err(other.to_string()),
    })
}

fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Less,
        (_, None | Some(Value::Null)) => Ordering::Greater,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(x), Some(y)) => as_text(x).cmp(&as_text(y)),
    }
}

/// The outcome of a search.
#[derive(Debug)]
pub(crate) struct Found {
    pub items: Vec<Value>,
    pub total: usize,
}

/// Applies `c` to `rows`. `repeat_last_page`: pages past the end return the last page (stores
/// before 2.4); otherwise they are empty. `Err` names an unknown condition type.
pub(crate) fn run(
    rows: &[Value],
    c: &Criteria,
    repeat_last_page: bool,
    default_page_size: Option<u64>,
) -> Result<Found, String> {
    let mut hits: Vec<&Value> = Vec::new();
    'rows: for r in rows {
        for g in &c.groups {
            let mut any = false;
            for f in g {
                if matches(r, f)? {
                    any = true;
                    break;
                }
            }
            if !any {
                continue 'rows;
            }
        }
        hits.push(r);
    }
    if c.sorts.is_empty() {
        hits.sort_by(|a, b| cmp_values(field(a, "entity_id"), field(b, "entity_id")));
    } else {
        hits.sort_by(|a, b| {
            for (f, asc) in &c.sorts {
                let o = cmp_values(field(a, f), field(b, f));
                let o = if *asc { o } else { o.reverse() };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    let total = hits.len();
    let size = c.page_size.or(default_page_size).filter(|s| *s > 0);
    let items = match size {
        None => hits.into_iter().cloned().collect(),
        Some(size) => {
            let size = size as usize;
            let mut page = c.current_page.unwrap_or(1).max(1) as usize;
            let last_page = total.div_ceil(size).max(1);
            if repeat_last_page && page > last_page {
                page = last_page;
            }
            hits.into_iter()
                .skip((page - 1).saturating_mul(size))
                .take(size)
                .cloned()
                .collect()
        }
    };
    Ok(Found { items, total })
}

/// Splits a projection list on top-level commas: `a,b[c,d],e` → `a`, `b[c,d]`, `e`.
fn split_top(spec: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, ch) in spec.char_indices() {
        match ch {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&spec[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Applies a `fields` projection (`items[entity_id,increment_id],total_count`) to `v`: only the
/// listed keys are kept; `name[...]` projects the nested object (or each element of an array).
pub(crate) fn project(v: &Value, spec: &str) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(|x| project(x, spec)).collect()),
        Value::Object(o) => {
            let mut out = serde_json::Map::new();
            for part in split_top(spec) {
                let (name, inner) = match part.find('[') {
                    Some(i) if part.ends_with(']') => {
                        (&part[..i], Some(&part[i + 1..part.len() - 1]))
                    }
                    _ => (part, None),
                };
                if let Some(x) = o.get(name) {
                    out.insert(
                        name.to_string(),
                        inner.map(|s| project(x, s)).unwrap_or_else(|| x.clone()),
                    );
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The `search_criteria` echo (page size only when it was sent, as since 2.4.4).
pub(crate) fn echo(c: &Criteria) -> Value {
    let mut v = json!({
        "filter_groups": c.groups.iter().map(|g| json!({"filters": g.iter().map(|f| json!({
            "field": f.field, "value": f.value, "condition_type": f.condition})).collect::<Vec<_>>()})).collect::<Vec<_>>(),
        "current_page": c.current_page.unwrap_or(1),
    });
    if !c.sorts.is_empty() {
        v["sort_orders"] = json!(
            c.sorts
                .iter()
                .map(|(f, asc)| json!({"field": f, "direction": if *asc { "ASC" } else { "DESC" }}))
                .collect::<Vec<_>>()
        );
    }
    if let Some(s) = c.page_size {
        v["page_size"] = json!(s);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_spellings_and_php_plus() {
        let c = parse(
            "searchCriteria%5BfilterGroups%5D%5B0%5D%5Bfilters%5D%5B0%5D%5Bfield%5D=name&searchCriteria[filter_groups][0][filters][0][value]=a+b&searchCriteria[sort_orders][0][field]=id&searchCriteria[page_size]=5",
        );
        assert_eq!(c.groups[0][0].value, "a b");
        assert_eq!(c.groups[0][0].condition, "eq");
        assert_eq!(c.sorts, vec![("id".to_string(), false)]);
        assert_eq!(c.page_size, Some(5));
    }

    #[test]
    fn filters_sorts_and_pages_like_a_collection() {
        let rows: Vec<Value> = (1..=7)
            .map(|i| json!({"entity_id": i, "sku": format!("S-{i}"), "t": if i % 2 == 0 { "b" } else { "a" }}))
            .collect();
        let c = parse(
            "searchCriteria[filter_groups][0][filters][0][field]=entity_id&searchCriteria[filter_groups][0][filters][0][value]=2&searchCriteria[filter_groups][0][filters][0][condition_type]=gt&searchCriteria[filter_groups][1][filters][0][field]=sku&searchCriteria[filter_groups][1][filters][0][value]=S-3&searchCriteria[filter_groups][1][filters][1][field]=t&searchCriteria[filter_groups][1][filters][1][value]=b&searchCriteria[sortOrders][0][field]=entity_id&searchCriteria[sortOrders][0][direction]=ASC&searchCriteria[pageSize]=2&searchCriteria[currentPage]=2",
        );
        let f = run(&rows, &c, false, None).unwrap();
        // > 2 AND (sku = S-3 OR t = b) → 3, 4, 6; page 2 of size 2 → [6].
        assert_eq!(f.total, 3);
        assert_eq!(f.items, vec![rows[5].clone()]);
        let mut past = c.clone();
        past.current_page = Some(9);
        assert!(run(&rows, &past, false, None).unwrap().items.is_empty());
        assert_eq!(
            run(&rows, &past, true, None).unwrap().items,
            vec![rows[5].clone()]
        );
        assert!(like("Hello World", "%wor_d"));
    }
}
