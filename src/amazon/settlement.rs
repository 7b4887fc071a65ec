//! Settlement reports (`GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`): decoding and parsing.
//!
//! The pipeline is `download → gunzip → decode(charset) → parse by header name → reconcile`, all
//! in memory: report content is never written to disk (Amazon: "Unencrypted report content
//! should never be stored on disk, even temporarily").
//!
//! The parser reads columns **by header name** (Amazon adds columns; real files carry a trailing
//! `promotion-id`, older ones miss columns), trims cells (real files have `32.09    `), skips
//! blank lines, accepts amounts in the marketplace's local format (`95,00`, `1.234,56`), finds
//! the summary row (the one whose `total-amount` is set) and refuses a file whose detail rows do
//! not sum to `total-amount`, naming the difference. Files of the deprecated V1 flat-file layout
//! (several `*-amount` columns per row) are read too: each non-empty amount cell becomes one
//! canonical row, so both layouts reconcile the same way.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use super::region::marketplace;
use crate::error::{Error, Result};
use crate::model::{Currency, Money, Settlement, SettlementRow};

/// The report type the crate reads.
pub const SETTLEMENT_REPORT_TYPE: &str = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2";

/// Decompresses (when the document is gzip) and decodes a downloaded report to text.
///
/// * `compression`: the `compressionAlgorithm` of `getReportDocument` (`GZIP`); a gzip magic
///   number is honoured even when it is absent.
/// * `content_type`: the download's `Content-Type`; its `charset` wins when present.
/// * `marketplace_id`: picks the fallback charset (Shift_JIS for Japan, else windows-1252).
///
/// # Errors
/// [`Error::Data`] naming `record` when the gzip stream is corrupt or the charset unknown.
pub fn decode_document(
    record: &str,
    bytes: &[u8],
    compression: Option<&str>,
    content_type: Option<&str>,
    marketplace_id: Option<&str>,
) -> Result<String> {
    let gz_magic = bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
    let declared_gzip = compression.is_some_and(|c| c.eq_ignore_ascii_case("GZIP"));
    let mut inflated;
    let raw: &[u8] = if gz_magic || (declared_gzip && !bytes.is_empty()) {
        inflated = Vec::with_capacity(bytes.len() * 6);
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut inflated)
            .map_err(|e| {
                Error::data(
                    record,
                    format!("the report document is not a valid gzip stream: {e}"),
                    "download the document again (call getReportDocument for a fresh URL)",
                )
            })?;
        &inflated
    } else {
        bytes
    };
    let encoding = charset_of(content_type)
        .map(|label| {
            encoding_for_label(label).ok_or_else(|| {
                Error::data(
                    record,
                    format!("the report declares an unknown charset `{label}`"),
                    "report the charset to the connector maintainers",
                )
            })
        })
        .transpose()?
        .unwrap_or_else(|| {
            marketplace_id
                .and_then(marketplace)
                .map_or(encoding_rs::WINDOWS_1252, |m| m.default_report_charset())
        });
    // `decode` sniffs a BOM first (UTF-8 / UTF-16 reports), then uses `encoding`.
    let (text, _, _) = encoding.decode(raw);
    Ok(text.into_owned())
}

fn charset_of(content_type: Option<&str>) -> Option<&str> {
    let ct = content_type?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"'))
            .filter(|v| !v.is_empty())
    })
}

fn encoding_for_label(label: &str) -> Option<&'static encoding_rs::Encoding> {
    // Amazon writes Java charset names (`Cp1252`, `MS932`); WHATWG labels cover most of them.
    let l = label.trim().to_ascii_lowercase();
    match l.as_str() {
        "cp932" | "ms932" | "windows-31j" | "sjis" => Some(encoding_rs::SHIFT_JIS),
        "cp1252" => Some(encoding_rs::WINDOWS_1252),
        "utf8" => Some(encoding_rs::UTF_8),
        _ => encoding_rs::Encoding::for_label(l.as_bytes()),
    }
}

/// How a file writes decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DecimalStyle {
    /// `1,234.56`
    Dot,
    /// `1.234,56` (EU marketplaces).
    Comma,
}

/// The separator and digits after the last `.`/`,`, if any.
fn last_separator(cell: &str) -> Option<(char, usize)> {
    let pos = cell.rfind(['.', ','])?;
    let tail = &cell[pos + 1..];
    tail.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| (cell.as_bytes()[pos] as char, tail.len()))
}

fn detect_style<'a>(cells: impl Iterator<Item = &'a str>) -> Option<DecimalStyle> {
    for c in cells {
        if let Some((sep, digits)) = last_separator(c.trim())
            && (1..=2).contains(&digits)
        {
            return Some(if sep == ',' {
                DecimalStyle::Comma
            } else {
                DecimalStyle::Dot
            });
        }
    }
    None
}

fn valid_grouping(int_part: &str, sep: char) -> bool {
    let digits = int_part.trim_start_matches(['-', '+']);
    let mut groups = digits.split(sep);
    let first = groups.next().unwrap_or("");
    !first.is_empty()
        && first.len() <= 3
        && first.bytes().all(|b| b.is_ascii_digit())
        && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses one amount cell under the file's decimal style.
fn parse_amount(
    cell: &str,
    style: Option<DecimalStyle>,
    zero_decimals: bool,
) -> std::result::Result<Decimal, String> {
    // The common case: `-12.34` in a dot-decimal file.
    let trimmed = cell.trim();
    if style != Some(DecimalStyle::Comma)
        && !trimmed.is_empty()
        && trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && trimmed.matches('.').count() <= 1
        && (style == Some(DecimalStyle::Dot) || !trimmed.contains('.'))
        && let Ok(d) = trimmed.parse::<Decimal>()
    {
        return Ok(d);
    }
    let t: String = cell
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}')
        .collect();
    if t.is_empty() {
        return Err("empty amount".into());
    }
    let (decimal_sep, group_sep) = match style {
        Some(DecimalStyle::Dot) => ('.', ','),
        Some(DecimalStyle::Comma) => (',', '.'),
        None => {
            // No cell of the file shows a decimal separator: the amounts are integers, perhaps
            // grouped. A lone separator before three digits is ambiguous unless the currency has
            // no minor unit.
            match last_separator(&t) {
                None if t.contains(['.', ',']) => return Err(format!("`{cell}` is not a number")),
                None => ('.', ','),
                Some((sep, 3)) if zero_decimals => (if sep == '.' { ',' } else { '.' }, sep),
                Some((sep, 3)) if t.matches(sep).count() > 1 => {
                    (if sep == '.' { ',' } else { '.' }, sep)
                }
                Some((_, 3)) => {
                    return Err(format!(
                        "`{cell}` is ambiguous (thousands separator or three decimals?)"
                    ));
                }
                Some((sep, _)) => (sep, if sep == '.' { ',' } else { '.' }),
            }
        }
    };
    let (int_part, frac_part) = match t.rfind(decimal_sep) {
        Some(p) => (&t[..p], Some(&t[p + 1..])),
        None => (t.as_str(), None),
    };
    let int_clean = if int_part.contains(group_sep) {
        if !valid_grouping(int_part, group_sep) {
            return Err(format!("`{cell}` has misplaced separators"));
        }
        int_part.replace(group_sep, "")
    } else {
        int_part.to_string()
    };
    let normalized = match frac_part {
        Some(f) => format!("{int_clean}.{f}"),
        None => int_clean,
    };
    normalized
        .parse::<Decimal>()
        .map_err(|_| format!("`{cell}` is not a number"))
}

/// Parses the date formats settlement files use: `2026-06-16 00:00:00 UTC` (V2),
/// `2025-10-09T22:07:18+00:00` (V1, RFC 3339), `16.06.2026 00:00:00 UTC` (EU files),
/// `06/17/26` (`posted-date`, MM/DD/YY) and plain dates.
pub fn parse_report_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    let base = s
        .strip_suffix("UTC")
        .or_else(|| s.strip_suffix('Z'))
        .unwrap_or(s)
        .trim();
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%d.%m.%Y %H:%M:%S",
        "%d/%m/%Y %H:%M:%S",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(base, f) {
            return Some(Utc.from_utc_datetime(&n));
        }
    }
    for f in ["%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y", "%d.%m.%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(base, f) {
            return d.and_hms_opt(0, 0, 0).map(|n| Utc.from_utc_datetime(&n));
        }
    }
    None
}

/// V1 layout: (type column, amount column, amount-type written into the canonical row).
const V1_AMOUNT_COLUMNS: &[(&str, &str, &str)] = &[
    ("price-type", "price-amount", "ItemPrice"),
    (
        "item-related-fee-type",
        "item-related-fee-amount",
        "ItemFees",
    ),
    ("shipment-fee-type", "shipment-fee-amount", "ShipmentFees"),
    ("order-fee-type", "order-fee-amount", "OrderFees"),
    ("promotion-type", "promotion-amount", "Promotion"),
    (
        "direct-payment-type",
        "direct-payment-amount",
        "DirectPayment",
    ),
    (
        "other-fee-reason-description",
        "other-fee-amount",
        "other-transaction",
    ),
    ("", "misc-fee-amount", "other-transaction"),
    ("", "other-amount", "other-transaction"),
];

struct Columns {
    index: HashMap<String, usize>,
}

impl Columns {
    fn get<'a>(&self, cells: &[&'a str], name: &str) -> &'a str {
        self.index
            .get(name)
            .and_then(|&i| cells.get(i))
            .map_or("", |c| c.trim())
    }
    fn opt(&self, cells: &[&str], name: &str) -> Option<String> {
        let v = self.get(cells, name);
        (!v.is_empty()).then(|| v.to_string())
    }
    fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
}

/// One parsed settlement file: the canonical settlement plus what the source needs to key it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSettlement {
    /// The canonical settlement (rows in file order).
    pub settlement: Settlement,
    /// SHA-256 over the normalised rows: equal for duplicate reports of one settlement, different
    /// when Amazon re-issues it with other content.
    pub digest: String,
    /// The header names as the file wrote them.
    pub columns: Vec<String>,
    /// Every non-blank line after the header (summary row included), cells trimmed: the report
    /// as Amazon sent it, for the audit trail and custom mappers.
    pub raw_rows: Vec<Vec<String>>,
}

/// Parses a settlement flat file and checks that its rows sum to `total-amount`.
///
/// `marketplace_id` (optional) decides how integers such as `1,234` are read when the file itself
/// shows no decimal separator, and is recorded when no row names a marketplace.
///
/// # Errors
/// [`Error::Data`] naming the settlement (or the line) and the fix: no header, no summary row,
/// two settlements in one file, an unreadable amount or date, rows in another currency, or rows
/// that do not sum to the total (the message names the difference).
pub fn parse_settlement(text: &str, marketplace_id: Option<&str>) -> Result<ParsedSettlement> {
    let parsed = parse_settlement_unchecked(text, marketplace_id)?;
    reconcile(&parsed.settlement)?;
    Ok(parsed)
}

/// Checks that the rows of `s` sum to its total.
///
/// # Errors
/// [`Error::Data`] naming the settlement, both sums and the difference.
pub fn reconcile(s: &Settlement) -> Result<()> {
    let sum: Decimal = s.rows.iter().map(|r| r.amount).sum();
    if sum != s.total.amount {
        let cur = &s.total.currency;
        return Err(Error::data(
            format!("amazon/settlements/{}", s.settlement_id),
            format!(
                "settlement rows sum to {sum} {cur} but total-amount is {} {cur}: difference {} {cur} over {} row(s)",
                s.total.amount,
                s.total.amount - sum,
                s.rows.len()
            ),
            "nothing was posted; download the report again (a truncated download is the usual cause) \
             or ask Amazon Seller Support about the settlement",
        ));
    }
    Ok(())
}

/// Parses without the reconciliation check (for inspection tools; the source always reconciles).
///
/// # Errors
/// As [`parse_settlement`], except the sum check.
pub fn parse_settlement_unchecked(
    text: &str,
    marketplace_id: Option<&str>,
) -> Result<ParsedSettlement> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header_line)) = lines.next() else {
        return Err(Error::data(
            "amazon/settlements/(empty report)",
            "the settlement report is empty",
            "check the report document; Amazon sometimes publishes an empty document for a cancelled settlement",
        ));
    };
    let columns: Vec<String> = header_line
        .split('\t')
        .map(|h| h.trim().to_string())
        .collect();
    let cols = Columns {
        index: columns
            .iter()
            .enumerate()
            .map(|(i, h)| (h.to_ascii_lowercase(), i))
            .collect(),
    };
    for required in ["settlement-id", "total-amount"] {
        if !cols.has(required) {
            return Err(Error::data(
                "amazon/settlements/(unknown)",
                format!("the report header has no `{required}` column (found: {header_line})"),
                format!("feed a {SETTLEMENT_REPORT_TYPE} report"),
            ));
        }
    }
    let v2 = cols.has("amount");
    if !v2 && !V1_AMOUNT_COLUMNS.iter().any(|(_, a, _)| cols.has(a)) {
        return Err(Error::data(
            "amazon/settlements/(unknown)",
            "the report header has no `amount` column",
            format!("feed a {SETTLEMENT_REPORT_TYPE} report"),
        ));
    }
    let body: Vec<(usize, Vec<&str>)> = lines.map(|(n, l)| (n, l.split('\t').collect())).collect();

    // The file's decimal style, from the amounts it contains.
    let amount_cols: Vec<&str> = if v2 {
        vec!["amount"]
    } else {
        V1_AMOUNT_COLUMNS.iter().map(|(_, a, _)| *a).collect()
    };
    let style = detect_style(body.iter().flat_map(|(_, cells)| {
        std::iter::once(cols.get(cells, "total-amount"))
            .chain(amount_cols.iter().map(|c| cols.get(cells, c)))
    }));

    // The summary row: the one whose total-amount is set.
    let mut summary: Option<(usize, &Vec<&str>)> = None;
    for (n, cells) in &body {
        if !cols.get(cells, "total-amount").is_empty() {
            if let Some((first, s)) = summary {
                let a = cols.get(s, "settlement-id");
                let b = cols.get(cells, "settlement-id");
                return Err(Error::data(
                    format!("amazon/settlements/{a}"),
                    format!("two summary rows (lines {first} and {n}, settlements {a} and {b})"),
                    "split the file: one report holds one settlement",
                ));
            }
            summary = Some((*n, cells));
        }
    }
    let Some((summary_line, summary_cells)) = summary else {
        return Err(Error::data(
            "amazon/settlements/(unknown)",
            "no summary row (no row has a total-amount)",
            "the document is incomplete; download it again",
        ));
    };
    let settlement_id = cols.get(summary_cells, "settlement-id").to_string();
    let record = format!("amazon/settlements/{settlement_id}");
    if settlement_id.is_empty() {
        return Err(Error::data(
            "amazon/settlements/(unknown)",
            format!("the summary row (line {summary_line}) has no settlement-id"),
            "the document is incomplete; download it again",
        ));
    }
    let currency_text = cols.get(summary_cells, "currency");
    let currency = Currency::new(currency_text).map_err(|_| {
        Error::data(
            &record,
            format!("summary row currency `{currency_text}` is not an ISO 4217 code"),
            "the document is incomplete; download it again",
        )
    })?;
    let zero_decimals = matches!(currency.as_str(), "JPY" | "KRW" | "CLP" | "HUF");
    let amount = |cell: &str, line: usize, column: &str| -> Result<Decimal> {
        parse_amount(cell, style, zero_decimals).map_err(|m| {
            Error::data(
                &record,
                format!("line {line}, column {column}: {m}"),
                "correct the amount in the report or ask Amazon for a corrected report",
            )
        })
    };
    // Files repeat a few timestamps over thousands of rows: parse each distinct text once.
    let date_cache: std::cell::RefCell<HashMap<String, DateTime<Utc>>> = Default::default();
    let date = |cells: &[&str], line: usize, column: &str| -> Result<Option<DateTime<Utc>>> {
        let v = cols.get(cells, column);
        if v.is_empty() {
            return Ok(None);
        }
        if let Some(d) = date_cache.borrow().get(v) {
            return Ok(Some(*d));
        }
        let parsed = parse_report_datetime(v);
        if let Some(d) = parsed {
            date_cache.borrow_mut().insert(v.to_string(), d);
        }
        parsed.map(Some).ok_or_else(|| {
            Error::data(
                &record,
                format!("line {line}, column {column}: `{v}` is not a date this parser knows"),
                "report the date format to the connector maintainers",
            )
        })
    };
    let total = amount(
        cols.get(summary_cells, "total-amount"),
        summary_line,
        "total-amount",
    )?;

    let mut rows = Vec::with_capacity(body.len());
    for (n, cells) in &body {
        if *n == summary_line {
            continue;
        }
        let sid = cols.get(cells, "settlement-id");
        if !sid.is_empty() && sid != settlement_id {
            return Err(Error::data(
                &record,
                format!("line {n} belongs to settlement {sid}, not {settlement_id}"),
                "split the file: one report holds one settlement",
            ));
        }
        let row_currency = cols.get(cells, "currency");
        if !row_currency.is_empty() && !row_currency.eq_ignore_ascii_case(currency.as_str()) {
            return Err(Error::data(
                &record,
                format!("line {n} is in {row_currency}, the settlement in {currency}"),
                "ask Amazon for a corrected report; a settlement has one currency",
            ));
        }
        let posted_at = match date(cells, *n, "posted-date-time")? {
            Some(d) => Some(d),
            None => date(cells, *n, "posted-date")?,
        };
        let quantity = match cols.get(cells, "quantity-purchased") {
            "" => None,
            q => Some(amount(q, *n, "quantity-purchased")?),
        };
        let base = SettlementRow {
            transaction_type: cols.get(cells, "transaction-type").to_string(),
            order_id: cols.opt(cells, "order-id"),
            merchant_order_id: cols.opt(cells, "merchant-order-id"),
            adjustment_id: cols.opt(cells, "adjustment-id"),
            shipment_id: cols.opt(cells, "shipment-id"),
            marketplace_name: cols.opt(cells, "marketplace-name"),
            amount_type: String::new(),
            amount_description: String::new(),
            amount: Decimal::ZERO,
            fulfillment_id: cols.opt(cells, "fulfillment-id"),
            posted_at,
            order_item_code: cols.opt(cells, "order-item-code"),
            sku: cols.opt(cells, "sku"),
            quantity,
            promotion_id: cols.opt(cells, "promotion-id"),
        };
        if v2 {
            let cell = cols.get(cells, "amount");
            if cell.is_empty() {
                // Amazon guarantees the amount on V2 rows; a row without one carries no money.
                if base.transaction_type.is_empty() {
                    continue;
                }
                return Err(Error::data(
                    &record,
                    format!("line {n} ({}) has no amount", base.transaction_type),
                    "the document is incomplete; download it again",
                ));
            }
            rows.push(SettlementRow {
                amount_type: cols.get(cells, "amount-type").to_string(),
                amount_description: cols.get(cells, "amount-description").to_string(),
                amount: amount(cell, *n, "amount")?,
                ..base
            });
        } else {
            for (type_col, amount_col, amount_type) in V1_AMOUNT_COLUMNS {
                let cell = cols.get(cells, amount_col);
                if cell.is_empty() {
                    continue;
                }
                let description = match cols.get(cells, type_col) {
                    "" => amount_col.trim_end_matches("-amount").to_string(),
                    d => d.to_string(),
                };
                rows.push(SettlementRow {
                    amount_type: (*amount_type).to_string(),
                    amount_description: description,
                    amount: amount(cell, *n, amount_col)?,
                    ..base.clone()
                });
            }
        }
    }

    let marketplace_name = rows
        .iter()
        .find_map(|r| r.marketplace_name.clone())
        .or_else(|| marketplace_id.map(str::to_string));
    let settlement = Settlement {
        settlement_id,
        start: date(summary_cells, summary_line, "settlement-start-date")?,
        end: date(summary_cells, summary_line, "settlement-end-date")?,
        deposit_date: date(summary_cells, summary_line, "deposit-date")?,
        total: Money::new(total, currency),
        marketplace: marketplace_name,
        rows,
    };
    let digest = digest(&settlement);
    let raw_rows = body
        .iter()
        .map(|(_, cells)| cells.iter().map(|c| c.trim().to_string()).collect())
        .collect();
    Ok(ParsedSettlement {
        settlement,
        digest,
        columns,
        raw_rows,
    })
}

fn digest(s: &Settlement) -> String {
    let mut h = Sha256::new();
    h.update(s.settlement_id.as_bytes());
    h.update(s.total.to_string().as_bytes());
    for r in &s.rows {
        for part in [
            r.transaction_type.as_str(),
            r.order_id.as_deref().unwrap_or(""),
            r.amount_type.as_str(),
            r.amount_description.as_str(),
            r.sku.as_deref().unwrap_or(""),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(r.amount.normalize().to_string().as_bytes());
        h.update([1]);
    }
    let out = h.finalize();
    out.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn amounts_follow_the_file_style() {
        let c = Some(DecimalStyle::Comma);
        let p = Some(DecimalStyle::Dot);
        assert_eq!(parse_amount("95,00", c, false).unwrap(), d("95.00"));
        assert_eq!(parse_amount("-1.234,56 ", c, false).unwrap(), d("-1234.56"));
        assert_eq!(parse_amount("1.234", c, false).unwrap(), d("1234"));
        assert_eq!(parse_amount("1,234.5", p, false).unwrap(), d("1234.5"));
        assert_eq!(parse_amount("32.09    ", p, false).unwrap(), d("32.09"));
        assert!(parse_amount("1,23,4.5", p, false).is_err());
        assert!(parse_amount("1,234", None, false).is_err());
        assert_eq!(parse_amount("1,234", None, true).unwrap(), d("1234"));
        assert_eq!(
            parse_amount("1,234,567", None, false).unwrap(),
            d("1234567")
        );
        assert_eq!(parse_amount("19940", None, true).unwrap(), d("19940"));
        assert!(parse_amount("abc", p, false).is_err());
        assert_eq!(
            detect_style(["", "12", "95,00"].into_iter()),
            Some(DecimalStyle::Comma)
        );
        assert_eq!(detect_style(["1,234"].into_iter()), None);
    }

    #[test]
    fn dates() {
        let a = parse_report_datetime("2026-06-16 00:00:00 UTC").unwrap();
        assert_eq!(a.to_rfc3339(), "2026-06-16T00:00:00+00:00");
        let b = parse_report_datetime("2025-10-09T22:07:18+00:00").unwrap();
        assert_eq!(b.to_rfc3339(), "2025-10-09T22:07:18+00:00");
        let c = parse_report_datetime("16.06.2026 10:00:00 UTC").unwrap();
        assert_eq!(c.to_rfc3339(), "2026-06-16T10:00:00+00:00");
        let e = parse_report_datetime("06/17/26").unwrap();
        assert_eq!(e.to_rfc3339(), "2026-06-17T00:00:00+00:00");
        assert!(parse_report_datetime("").is_none());
        assert!(parse_report_datetime("yesterday").is_none());
    }

    const SMALL: &str = "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\ttotal-amount\tcurrency\ttransaction-type\torder-id\tamount-type\tamount-description\tamount\tposted-date-time\n\
1\t2026-06-01 00:00:00 UTC\t2026-06-14 00:00:00 UTC\t2026-06-16 00:00:00 UTC\t10.50\tEUR\t\t\t\t\t\t\n\
\n\
1\t\t\t\t\tEUR\tOrder\t111\tItemPrice\tPrincipal\t12.00   \t2026-06-02 10:00:00 UTC\n\
1\t\t\t\t\tEUR\tOrder\t111\tItemFees\tCommission\t-1.50\t2026-06-02 10:00:00 UTC\n";

    #[test]
    fn parses_and_reconciles() {
        let p = parse_settlement(SMALL, None).unwrap();
        assert_eq!(p.settlement.settlement_id, "1");
        assert_eq!(p.settlement.rows.len(), 2);
        assert_eq!(p.settlement.total.amount, d("10.50"));
        assert_eq!(p.settlement.rows[0].amount, d("12.00"));
        let eu = SMALL
            .replace("10.50", "10,50")
            .replace("12.00", "12,00")
            .replace("-1.50", "-1,50");
        let q = parse_settlement(&eu, None).unwrap();
        assert_eq!(q.settlement, p.settlement);
        assert_eq!(q.digest, p.digest);
    }

    #[test]
    fn refuses_a_file_that_does_not_sum() {
        let bad = SMALL.replace("-1.50", "-1.40");
        let e = parse_settlement(&bad, None).unwrap_err().to_string();
        assert!(e.contains("difference -0.10 EUR"), "{e}");
        assert!(e.contains("amazon/settlements/1"), "{e}");
    }

    #[test]
    fn decodes_gzip_and_charsets() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let text = "Caf\u{e9}";
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&bytes).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(
            decode_document("r", &gz, Some("GZIP"), None, Some("A1PA6795UKMFR9")).unwrap(),
            text
        );
        let (sj, _, _) = encoding_rs::SHIFT_JIS.encode("\u{6771}\u{4eac}");
        assert_eq!(
            decode_document("r", &sj, None, None, Some("A1VC38T7YXB528")).unwrap(),
            "\u{6771}\u{4eac}"
        );
        assert_eq!(
            decode_document(
                "r",
                text.as_bytes(),
                None,
                Some("text/plain; charset=UTF-8"),
                Some("A1VC38T7YXB528")
            )
            .unwrap(),
            text
        );
        assert!(decode_document("r", b"\x1f\x8bxx", None, None, None).is_err());
        assert!(
            decode_document("r", b"x", None, Some("text/plain;charset=klingon"), None).is_err()
        );
    }
}
