//! A typed `searchCriteria` builder (reference §3).
//!
//! Filter groups are AND-ed, filters inside one group are OR-ed; sort orders always carry an
//! explicit direction (a missing direction means DESC on the server); `pageSize` is always sent
//! and kept within the server's cap. Every index (filter group, filter, sort order) stays within
//! 0–9 so PHP natural order and byte order agree on the signed parameter names (§2.1.1).
//!
//! ```
//! use ml_connector::adobe::{Condition, Direction, SearchCriteria};
//! let q = SearchCriteria::new(100)
//!     .filter("updated_at", Condition::Gteq, "2024-01-01 00:00:00")
//!     .any_of(|g| g.filter("store_id", Condition::Eq, "1").filter("store_id", Condition::Eq, "2"))
//!     .sort("updated_at", Direction::Asc)
//!     .sort("entity_id", Direction::Asc)
//!     .to_query()
//!     .unwrap();
//! assert!(q.contains("searchCriteria%5BpageSize%5D=100"));
//! assert!(q.contains("2024-01-01%2000%3A00%3A00"));
//! ```

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::oauth1::percent_encode;
use crate::error::{Error, Result};

/// The largest `pageSize` a store with Web API input limits accepts (`webapi/validation/maximum_page_size`).
pub const MAX_PAGE_SIZE: u32 = 300;

/// The most groups, filters per group or sort orders one request may carry (indices 0–9).
pub const MAX_INDEX: usize = 10;

/// The timestamp format of every Adobe Commerce date field (UTC, no offset).
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Formats a UTC time as Adobe Commerce writes and filters timestamps (`2024-01-01 00:00:00`).
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.format(TIMESTAMP_FORMAT).to_string()
}

/// Parses an Adobe Commerce timestamp (`2024-01-01 00:00:00`, UTC; an ISO `T` separator and
/// fractional seconds are tolerated).
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, TIMESTAMP_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
        .map(|n| n.and_utc())
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.with_timezone(&Utc))
        })
}

/// A filter's `condition_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Condition {
    /// `eq` (the server's default).
    Eq,
    /// `neq`.
    Neq,
    /// `gt`.
    Gt,
    /// `gteq`.
    Gteq,
    /// `lt`.
    Lt,
    /// `lteq`.
    Lteq,
    /// `in` (comma-separated values).
    In,
    /// `nin` (comma-separated values).
    Nin,
    /// `like` (`%` wildcards).
    Like,
    /// `nlike`.
    Nlike,
    /// `null`.
    Null,
    /// `notnull`.
    NotNull,
    /// `finset` (value in a comma-separated set column).
    Finset,
    /// `nfinset`.
    Nfinset,
    /// `from` (paired with `to`).
    From,
    /// `to` (paired with `from`).
    To,
    /// `moreq`.
    Moreq,
}

impl Condition {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Eq => "eq",
            Condition::Neq => "neq",
            Condition::Gt => "gt",
            Condition::Gteq => "gteq",
            Condition::Lt => "lt",
            Condition::Lteq => "lteq",
            Condition::In => "in",
            Condition::Nin => "nin",
            Condition::Like => "like",
            Condition::Nlike => "nlike",
            Condition::Null => "null",
            Condition::NotNull => "notnull",
            Condition::Finset => "finset",
            Condition::Nfinset => "nfinset",
            Condition::From => "from",
            Condition::To => "to",
            Condition::Moreq => "moreq",
        }
    }

    /// Parses a wire name (case-insensitive); `None` for unknown names.
    pub fn parse(s: &str) -> Option<Self> {
        const ALL: [Condition; 17] = [
            Condition::Eq,
            Condition::Neq,
            Condition::Gt,
            Condition::Gteq,
            Condition::Lt,
            Condition::Lteq,
            Condition::In,
            Condition::Nin,
            Condition::Like,
            Condition::Nlike,
            Condition::Null,
            Condition::NotNull,
            Condition::Finset,
            Condition::Nfinset,
            Condition::From,
            Condition::To,
            Condition::Moreq,
        ];
        let s = s.to_ascii_lowercase();
        ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sort direction, always sent explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `ASC`.
    Asc,
    /// `DESC`.
    Desc,
}

impl Direction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        }
    }
}

/// One filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Top-level attribute name.
    pub field: String,
    /// Condition.
    pub condition: Condition,
    /// Value (comma-separated for `in`/`nin`; ignored by the server for `null`/`notnull`).
    pub value: String,
}

/// Filters OR-ed together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterGroup {
    /// The filters.
    pub filters: Vec<Filter>,
}

impl FilterGroup {
    /// Adds a filter OR-ed with the others of this group.
    #[must_use]
    pub fn filter(
        mut self,
        field: impl Into<String>,
        condition: Condition,
        value: impl Into<String>,
    ) -> Self {
        self.filters.push(Filter {
            field: field.into(),
            condition,
            value: value.into(),
        });
        self
    }
}

/// One sort order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortOrder {
    /// Attribute name.
    pub field: String,
    /// Direction.
    pub direction: Direction,
}

/// A complete `searchCriteria`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCriteria {
    /// AND-ed groups.
    pub groups: Vec<FilterGroup>,
    /// Sort orders, most significant first.
    pub sort_orders: Vec<SortOrder>,
    /// `pageSize` (1..=[`MAX_PAGE_SIZE`]).
    pub page_size: u32,
    /// `currentPage` (1-based).
    pub current_page: u32,
    /// Optional `fields` projection (`items[entity_id,increment_id],total_count`). Without
    /// `total_count` in it the server omits the count (paging then continues while pages are
    /// full, guarded against repeated pages).
    pub fields: Option<String>,
}

impl SearchCriteria {
    /// Criteria with `pageSize = page_size`, `currentPage = 1`, no filter, no sort.
    pub fn new(page_size: u32) -> Self {
        Self {
            groups: Vec::new(),
            sort_orders: Vec::new(),
            page_size,
            current_page: 1,
            fields: None,
        }
    }

    /// Sets the `fields` projection.
    #[must_use]
    pub fn fields(mut self, projection: impl Into<String>) -> Self {
        self.fields = Some(projection.into());
        self
    }

    /// Adds a group with one filter (AND-ed with the other groups).
    #[must_use]
    pub fn filter(
        mut self,
        field: impl Into<String>,
        condition: Condition,
        value: impl Into<String>,
    ) -> Self {
        self.groups
            .push(FilterGroup::default().filter(field, condition, value));
        self
    }

    /// Adds a group of OR-ed filters (AND-ed with the other groups).
    #[must_use]
    pub fn any_of(mut self, build: impl FnOnce(FilterGroup) -> FilterGroup) -> Self {
        self.groups.push(build(FilterGroup::default()));
        self
    }

    /// Adds `field in (v1,v2,…)` as its own group.
    #[must_use]
    pub fn filter_in<I, S>(self, field: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: fmt::Display,
    {
        let joined: Vec<String> = values.into_iter().map(|v| v.to_string()).collect();
        self.filter(field, Condition::In, joined.join(","))
    }

    /// Adds a sort order (after the existing ones).
    #[must_use]
    pub fn sort(mut self, field: impl Into<String>, direction: Direction) -> Self {
        self.sort_orders.push(SortOrder {
            field: field.into(),
            direction,
        });
        self
    }

    /// Sets `currentPage` (1-based).
    #[must_use]
    pub fn page(mut self, current_page: u32) -> Self {
        self.current_page = current_page;
        self
    }

    /// Checks the limits every server generation accepts.
    ///
    /// # Errors
    /// [`Error::Config`] for a page size outside 1..=300, page 0, more than 10 groups, filters
    /// in a group or sort orders, or an empty field name.
    pub fn validate(&self) -> Result<()> {
        if self.page_size == 0 || self.page_size > MAX_PAGE_SIZE {
            return Err(Error::config(
                "adobe.page_size",
                format!(
                    "pageSize {} is outside 1..={MAX_PAGE_SIZE} (stores with input limits answer 400 \"Maximum SearchCriteria pageSize is 300\"); use 100 for orders",
                    self.page_size
                ),
            ));
        }
        if self.current_page == 0 {
            return Err(Error::config(
                "adobe.searchCriteria.currentPage",
                "currentPage is 1-based; 0 is silently treated as 1 by the server",
            ));
        }
        let too_many = |what: &str, n: usize| {
            Error::config(
                "adobe.searchCriteria",
                format!(
                    "{n} {what}: indices above 9 sort differently under PHP natural order and byte order, so one server generation rejects the OAuth signature; split the query into several requests"
                ),
            )
        };
        if self.groups.len() > MAX_INDEX {
            return Err(too_many("filter groups", self.groups.len()));
        }
        if self.sort_orders.len() > MAX_INDEX {
            return Err(too_many("sort orders", self.sort_orders.len()));
        }
        for g in &self.groups {
            if g.filters.len() > MAX_INDEX {
                return Err(too_many("filters in one group", g.filters.len()));
            }
            if g.filters.iter().any(|f| f.field.is_empty()) {
                return Err(Error::config(
                    "adobe.searchCriteria",
                    "a filter has an empty field name",
                ));
            }
        }
        Ok(())
    }

    /// The decoded `(name, value)` pairs, in a stable order (part of the OAuth base string).
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            for (i, f) in group.filters.iter().enumerate() {
                let p = format!("searchCriteria[filter_groups][{g}][filters][{i}]");
                out.push((format!("{p}[field]"), f.field.clone()));
                out.push((format!("{p}[value]"), f.value.clone()));
                out.push((
                    format!("{p}[condition_type]"),
                    f.condition.as_str().to_string(),
                ));
            }
        }
        for (i, s) in self.sort_orders.iter().enumerate() {
            out.push((
                format!("searchCriteria[sortOrders][{i}][field]"),
                s.field.clone(),
            ));
            out.push((
                format!("searchCriteria[sortOrders][{i}][direction]"),
                s.direction.as_str().to_string(),
            ));
        }
        out.push((
            "searchCriteria[pageSize]".to_string(),
            self.page_size.to_string(),
        ));
        out.push((
            "searchCriteria[currentPage]".to_string(),
            self.current_page.to_string(),
        ));
        if let Some(f) = &self.fields {
            out.push(("fields".to_string(), f.clone()));
        }
        out
    }

    /// The RFC 3986-encoded query string (`%5B`/`%5D`, space `%20`, `+` `%2B`): what goes on the
    /// wire and into the OAuth base string. Never uses form encoding (a `+` for a space would
    /// reach the server as a literal `+`).
    ///
    /// # Errors
    /// As [`SearchCriteria::validate`].
    pub fn to_query(&self) -> Result<String> {
        self.validate()?;
        Ok(encode_pairs(self.pairs().iter()))
    }
}

/// Joins `(name, value)` pairs into an RFC 3986-encoded query string.
pub fn encode_pairs<'a, I, K, V>(pairs: I) -> String
where
    I: IntoIterator<Item = &'a (K, V)>,
    K: AsRef<str> + 'a,
    V: AsRef<str> + 'a,
{
    let parts: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encode(k.as_ref()),
                percent_encode(v.as_ref())
            )
        })
        .collect();
    parts.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_and_filters_are_or_and_indices_follow() {
        let c = SearchCriteria::new(50)
            .filter("updated_at", Condition::Gteq, "2024-01-01 00:00:00")
            .any_of(|g| {
                g.filter("store_id", Condition::Eq, "1")
                    .filter("store_id", Condition::Eq, "2")
            })
            .sort("updated_at", Direction::Asc)
            .sort("entity_id", Direction::Asc)
            .page(3);
        let p = c.pairs();
        assert!(p.contains(&(
            "searchCriteria[filter_groups][1][filters][1][value]".into(),
            "2".into()
        )));
        assert!(p.contains(&(
            "searchCriteria[sortOrders][1][direction]".into(),
            "ASC".into()
        )));
        assert!(p.contains(&("searchCriteria[currentPage]".into(), "3".into())));
        let q = c.to_query().unwrap();
        assert!(!q.contains('['), "{q}");
        assert!(!q.contains('+'), "{q}");
        assert!(q.contains("%20"), "{q}");
    }

    #[test]
    fn page_size_and_index_limits_are_enforced() {
        assert!(SearchCriteria::new(0).to_query().is_err());
        assert!(SearchCriteria::new(301).to_query().is_err());
        assert!(SearchCriteria::new(300).to_query().is_ok());
        let mut c = SearchCriteria::new(10);
        for i in 0..11 {
            c = c.filter(format!("f{i}"), Condition::Eq, "x");
        }
        let e = c.to_query().unwrap_err().to_string();
        assert!(e.contains("split the query"), "{e}");
        assert!(SearchCriteria::new(10).page(0).validate().is_err());
    }

    #[test]
    fn in_filter_joins_values_and_plus_is_encoded() {
        let q = SearchCriteria::new(10)
            .filter_in("entity_id", [1, 2, 3])
            .filter("sku", Condition::Eq, "A+B C~")
            .to_query()
            .unwrap();
        assert!(q.contains("=1%2C2%2C3"), "{q}");
        assert!(q.contains("=A%2BB%20C~"), "{q}");
        assert_eq!(Condition::parse("NotNull"), Some(Condition::NotNull));
        assert_eq!(Condition::parse("bogus"), None);
    }

    #[test]
    fn timestamps_round_trip_in_utc() {
        let t = parse_timestamp("2017-08-21 22:22:19").unwrap();
        assert_eq!(format_timestamp(&t), "2017-08-21 22:22:19");
        assert!(parse_timestamp("2025-07-17T15:48:42.436Z").is_some());
        assert!(parse_timestamp("yesterday").is_none());
    }
}
