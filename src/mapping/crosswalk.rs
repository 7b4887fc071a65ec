//! The SKU crosswalk: channel SKU → QAD item code.
//!
//! Resolution order for a SKU:
//!
//! 1. the **explicit table** (`sku → item`, exact match), loaded from CSV (`sku,item`) or TOML;
//! 2. the **rules**, in order: each rule derives a candidate item code from the SKU (strip a
//!    prefix, strip a suffix, fold case — in that order; a rule whose prefix/suffix the SKU does
//!    not carry is skipped). The first candidate that is in the item master wins.
//!
//! When an item master is loaded ([`SkuCrosswalk::with_item_master`]) every result — explicit
//! entries too — must be a known QAD item; a SKU that resolves to none is an
//! [`Error::Data`] naming the record, the SKU, the candidates tried and the
//! crosswalk to fix. Without an item master the first candidate is taken unvalidated (QAD then
//! refuses unknown items when the order is posted); load the item master in production.
//!
//! TOML form:
//!
//! ```toml
//! [items]                 # explicit table
//! "WS12-M-Orange" = "10-1000"
//! "24-WG082-blue" = "10-2082"
//!
//! [[rules]]               # identity
//! [[rules]]
//! strip_prefix = "AMZ-"
//! case = "upper"
//! ```
//!
//! CSV form (header required, `#` lines are comments): `sku,item`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Case folding applied by a [`SkuRule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseFold {
    /// `abc` → `ABC`.
    Upper,
    /// `ABC` → `abc`.
    Lower,
}

/// One derivation rule. All fields empty = identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SkuRule {
    /// Prefix to remove; the rule is skipped for SKUs without it.
    pub strip_prefix: Option<String>,
    /// Suffix to remove; the rule is skipped for SKUs without it.
    pub strip_suffix: Option<String>,
    /// Case folding applied last.
    pub case: Option<CaseFold>,
}

impl SkuRule {
    /// The identity rule.
    pub fn identity() -> Self {
        Self::default()
    }

    /// A rule removing `prefix`.
    pub fn strip_prefix(prefix: impl Into<String>) -> Self {
        Self {
            strip_prefix: Some(prefix.into()),
            ..Self::default()
        }
    }

    /// A rule removing `suffix`.
    pub fn strip_suffix(suffix: impl Into<String>) -> Self {
        Self {
            strip_suffix: Some(suffix.into()),
            ..Self::default()
        }
    }

    /// Adds case folding to the rule.
    #[must_use]
    pub fn fold(mut self, case: CaseFold) -> Self {
        self.case = Some(case);
        self
    }

    /// The candidate this rule derives from `sku`, or `None` when the rule does not apply.
    pub fn apply(&self, sku: &str) -> Option<String> {
        let mut s = sku;
        if let Some(p) = self.strip_prefix.as_deref().filter(|p| !p.is_empty()) {
            s = s.strip_prefix(p)?;
        }
        if let Some(x) = self.strip_suffix.as_deref().filter(|x| !x.is_empty()) {
            s = s.strip_suffix(x)?;
        }
        if s.is_empty() {
            return None;
        }
        Some(match self.case {
            Some(CaseFold::Upper) => s.to_uppercase(),
            Some(CaseFold::Lower) => s.to_lowercase(),
            None => s.to_string(),
        })
    }
}

impl fmt::Display for SkuRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(p) = &self.strip_prefix {
            parts.push(format!("strip prefix `{p}`"));
        }
        if let Some(s) = &self.strip_suffix {
            parts.push(format!("strip suffix `{s}`"));
        }
        match self.case {
            Some(CaseFold::Upper) => parts.push("upper-case".into()),
            Some(CaseFold::Lower) => parts.push("lower-case".into()),
            None => {}
        }
        if parts.is_empty() {
            f.write_str("identity")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CrosswalkToml {
    #[serde(default)]
    items: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    rules: Vec<SkuRule>,
}

#[derive(Debug, Default)]
struct Inner {
    explicit: HashMap<String, String>,
    rules: Vec<SkuRule>,
    items: Option<HashSet<String>>,
    source: String,
}

/// SKU → QAD item code. Cheap to clone (shared, immutable); the `with_*` builders return a
/// modified copy.
#[derive(Debug, Clone)]
pub struct SkuCrosswalk {
    inner: Arc<Inner>,
}

impl Default for SkuCrosswalk {
    /// The identity rule, no explicit table, no item master (unvalidated).
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                explicit: HashMap::new(),
                rules: vec![SkuRule::identity()],
                items: None,
                source: "the SKU crosswalk".into(),
            }),
        }
    }
}

impl SkuCrosswalk {
    /// An empty crosswalk (no table, no rules): nothing resolves until entries or rules are
    /// added. `source` names the file or setting people edit to fix a missing SKU.
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                source: source.into(),
                ..Inner::default()
            }),
        }
    }

    /// Parses the TOML form (see the module docs). A file without `[[rules]]` gets no rules:
    /// add an empty `[[rules]]` table for the identity rule.
    ///
    /// # Errors
    /// [`Error::Config`] naming `source` and the TOML problem.
    pub fn from_toml_str(source: impl Into<String>, text: &str) -> Result<Self> {
        let source = source.into();
        let parsed: CrosswalkToml = toml::from_str(text)
            .map_err(|e| Error::config(source.clone(), format!("invalid SKU crosswalk: {e}")))?;
        let mut cw = Self::new(source);
        for (sku, item) in parsed.items {
            cw = cw.with_entry(sku, item);
        }
        Ok(cw.with_rules(parsed.rules))
    }

    /// Parses the CSV form: a `sku,item` header, then one pair per line. Fields may be quoted
    /// (`"a,b"`, `""` for a quote); blank lines and lines starting with `#` are skipped. The
    /// result has no rules: chain [`with_rules`](Self::with_rules) to add some.
    ///
    /// # Errors
    /// [`Error::Config`] naming `source` and the line: a missing header, a line without two
    /// fields, an empty SKU or item, or one SKU listed twice with different items.
    pub fn from_csv_str(source: impl Into<String>, text: &str) -> Result<Self> {
        let source = source.into();
        let mut cw = Self::new(source.clone());
        let mut header_seen = false;
        let mut seen: HashMap<String, (usize, String)> = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let lineno = n + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields = split_csv_line(trimmed)
                .map_err(|m| Error::config(source.clone(), format!("line {lineno}: {m}")))?;
            if !header_seen {
                let h: Vec<String> = fields
                    .iter()
                    .map(|f| f.trim().to_ascii_lowercase())
                    .collect();
                if h.len() < 2 || h[0] != "sku" || h[1] != "item" {
                    return Err(Error::config(
                        source,
                        format!("line {lineno}: expected the header `sku,item`, found `{trimmed}`"),
                    ));
                }
                header_seen = true;
                continue;
            }
            if fields.len() < 2 {
                return Err(Error::config(
                    source,
                    format!("line {lineno}: expected `sku,item`, found `{trimmed}`"),
                ));
            }
            let (sku, item) = (fields[0].trim().to_string(), fields[1].trim().to_string());
            if sku.is_empty() || item.is_empty() {
                return Err(Error::config(
                    source,
                    format!("line {lineno}: SKU and item must both be non-empty"),
                ));
            }
            if let Some((first, prev)) = seen.get(&sku)
                && prev != &item
            {
                return Err(Error::config(
                    source,
                    format!(
                        "line {lineno}: SKU `{sku}` maps to `{item}` but line {first} maps it to `{prev}`"
                    ),
                ));
            }
            seen.insert(sku.clone(), (lineno, item.clone()));
            cw = cw.with_entry(sku, item);
        }
        if !header_seen {
            return Err(Error::config(
                source,
                "empty crosswalk: expected the header `sku,item`",
            ));
        }
        Ok(cw)
    }

    fn edit(&self, f: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner {
            explicit: self.inner.explicit.clone(),
            rules: self.inner.rules.clone(),
            items: self.inner.items.clone(),
            source: self.inner.source.clone(),
        };
        f(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// A copy with `sku → item` in the explicit table (replacing an earlier entry).
    #[must_use]
    pub fn with_entry(&self, sku: impl Into<String>, item: impl Into<String>) -> Self {
        let (sku, item) = (sku.into(), item.into());
        self.edit(|i| {
            i.explicit.insert(sku, item);
        })
    }

    /// A copy with `rules` appended after the existing ones.
    #[must_use]
    pub fn with_rules(&self, rules: impl IntoIterator<Item = SkuRule>) -> Self {
        let rules: Vec<SkuRule> = rules.into_iter().collect();
        self.edit(|i| i.rules.extend(rules))
    }

    /// A copy validated against the QAD item master (the item codes that exist). The QAD client
    /// reads it; pass the codes here.
    #[must_use]
    pub fn with_item_master(&self, items: impl IntoIterator<Item = String>) -> Self {
        let items: HashSet<String> = items.into_iter().collect();
        self.edit(|i| i.items = Some(items))
    }

    /// A copy whose errors name `source` as the place to fix.
    #[must_use]
    pub fn with_source(&self, source: impl Into<String>) -> Self {
        let source = source.into();
        self.edit(|i| i.source = source)
    }

    /// The file or setting errors point to.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// Number of explicit entries.
    pub fn len(&self) -> usize {
        self.inner.explicit.len()
    }

    /// `true` when the explicit table is empty.
    pub fn is_empty(&self) -> bool {
        self.inner.explicit.is_empty()
    }

    /// `true` when an item master is loaded.
    pub fn is_validated(&self) -> bool {
        self.inner.items.is_some()
    }

    /// `true` when `item` is in the item master (always `true` without one).
    pub fn is_known_item(&self, item: &str) -> bool {
        self.inner.items.as_ref().is_none_or(|s| s.contains(item))
    }

    /// Resolves `sku` to a QAD item code.
    ///
    /// # Errors
    /// [`Error::Data`] naming `record`, the SKU, what was tried and the crosswalk to fix.
    pub fn resolve(&self, record: &dyn fmt::Display, sku: &str) -> Result<String> {
        let inner = &self.inner;
        if let Some(item) = inner.explicit.get(sku) {
            if self.is_known_item(item) {
                return Ok(item.clone());
            }
            return Err(Error::data(
                record,
                format!(
                    "SKU \"{sku}\" maps to item \"{item}\" in {}, but QAD has no item \"{item}\"",
                    inner.source
                ),
                format!(
                    "correct the entry for \"{sku}\" in {} or create item \"{item}\" in QAD, then replay",
                    inner.source
                ),
            ));
        }
        let mut tried: Vec<String> = Vec::new();
        for rule in &inner.rules {
            let Some(candidate) = rule.apply(sku) else {
                continue;
            };
            if self.is_known_item(&candidate) {
                return Ok(candidate);
            }
            if !tried.contains(&candidate) {
                tried.push(candidate);
            }
        }
        let tried = if tried.is_empty() {
            "no rule applied".to_string()
        } else {
            format!(
                "tried {}",
                tried
                    .iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Err(Error::data(
            record,
            format!("SKU \"{sku}\" resolves to no QAD item ({tried})"),
            format!(
                "add \"{sku}\" with its QAD item code to {} (CSV line `{},<item>`), then replay",
                inner.source,
                csv_quote(sku)
            ),
        ))
    }

    /// The channel SKU for a QAD item (catalog push): the explicit entry whose item is `item`,
    /// else `item` itself.
    ///
    /// # Errors
    /// [`Error::Data`] when several SKUs map to `item` (the push would not know which to list).
    pub fn sku_for_item(&self, record: &dyn fmt::Display, item: &str) -> Result<String> {
        let mut skus: Vec<&String> = self
            .inner
            .explicit
            .iter()
            .filter(|(_, i)| i.as_str() == item)
            .map(|(s, _)| s)
            .collect();
        skus.sort();
        match skus.as_slice() {
            [] => Ok(item.to_string()),
            [one] => Ok((*one).clone()),
            many => Err(Error::data(
                record,
                format!(
                    "item \"{item}\" is the target of {} SKUs in {} ({})",
                    many.len(),
                    self.inner.source,
                    many.iter()
                        .map(|s| format!("\"{s}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "list the item under one SKU only, or push its listings with a custom mapper",
            )),
        }
    }
}

fn csv_quote(s: &str) -> String {
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Splits one CSV line (RFC 4180 quoting, no embedded newlines).
fn split_csv_line(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.trim().is_empty() && !was_quoted {
            cur.clear();
            in_quotes = true;
            was_quoted = true;
        } else if c == ',' {
            fields.push(std::mem::take(&mut cur));
            was_quoted = false;
        } else if was_quoted && !c.is_whitespace() {
            return Err(format!("unexpected `{c}` after a quoted field"));
        } else {
            cur.push(c);
        }
    }
    if in_quotes {
        return Err("unterminated quoted field".into());
    }
    fields.push(cur);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<String> {
        ["10-1000", "WS12-M-ORANGE", "24-WG084"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn explicit_then_rules_in_order_validated_against_the_item_master() {
        let cw = SkuCrosswalk::new("skus.csv")
            .with_entry("NX-HD-1200", "10-1000")
            .with_rules([
                SkuRule::identity(),
                SkuRule::strip_prefix("AMZ-"),
                SkuRule::identity().fold(CaseFold::Upper),
            ])
            .with_item_master(items());
        let r = "amazon/orders/1";
        assert_eq!(cw.resolve(&r, "NX-HD-1200").unwrap(), "10-1000");
        assert_eq!(cw.resolve(&r, "24-WG084").unwrap(), "24-WG084");
        assert_eq!(cw.resolve(&r, "AMZ-24-WG084").unwrap(), "24-WG084");
        assert_eq!(cw.resolve(&r, "WS12-M-Orange").unwrap(), "WS12-M-ORANGE");
        let e = cw.resolve(&r, "NOPE-1").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("\"NOPE-1\""), "{s}");
        assert!(s.contains("skus.csv"), "{s}");
        assert!(s.contains("amazon/orders/1"), "{s}");
        assert!(s.contains("tried \"NOPE-1\""), "{s}");
    }

    #[test]
    fn explicit_entry_to_an_unknown_item_is_refused() {
        let cw = SkuCrosswalk::new("skus.toml")
            .with_entry("A", "GONE")
            .with_item_master(items());
        let s = cw.resolve(&"r", "A").unwrap_err().to_string();
        assert!(s.contains("no item \"GONE\""), "{s}");
    }

    #[test]
    fn csv_and_toml_forms_parse() {
        let cw = SkuCrosswalk::from_csv_str(
            "skus.csv",
            "# provenance: test\nsku,item\nWS12-M-Orange,10-1000\n\"odd,sku\",\"10-\"\"2\"\"\"\n",
        )
        .unwrap();
        assert_eq!(cw.len(), 2);
        assert_eq!(cw.resolve(&"r", "odd,sku").unwrap(), "10-\"2\"");
        assert!(cw.resolve(&"r", "other").is_err(), "CSV form has no rules");
        assert!(SkuCrosswalk::from_csv_str("x.csv", "a,b\n").is_err());
        assert!(SkuCrosswalk::from_csv_str("x.csv", "sku,item\nA,1\nA,2\n").is_err());
        assert!(SkuCrosswalk::from_csv_str("x.csv", "sku,item\nA\n").is_err());

        let cw = SkuCrosswalk::from_toml_str(
            "skus.toml",
            "[items]\n\"X-1\" = \"10-1000\"\n[[rules]]\nstrip_suffix = \"-FBA\"\ncase = \"upper\"\n",
        )
        .unwrap();
        assert_eq!(cw.resolve(&"r", "X-1").unwrap(), "10-1000");
        assert_eq!(cw.resolve(&"r", "ab-FBA").unwrap(), "AB");
        assert!(cw.resolve(&"r", "ab").is_err());
        assert!(SkuCrosswalk::from_toml_str("s", "[[rules]]\nbogus = 1\n").is_err());
    }

    #[test]
    fn reverse_lookup_for_the_catalog_push() {
        let cw = SkuCrosswalk::default()
            .with_entry("A", "10-1")
            .with_entry("B", "10-2")
            .with_entry("C", "10-2");
        assert_eq!(cw.sku_for_item(&"r", "10-1").unwrap(), "A");
        assert_eq!(cw.sku_for_item(&"r", "10-9").unwrap(), "10-9");
        assert!(cw.sku_for_item(&"r", "10-2").is_err());
    }
}
