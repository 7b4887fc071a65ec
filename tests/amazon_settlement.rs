//! Settlement flat files: the samples reconcile, the EU variant reads the same, a file that does
//! not sum is refused with the difference (fixtures: tests/fixtures/amazon/README.md).

use std::str::FromStr;

use ml_connector::amazon::settlement::{
    decode_document, parse_settlement, parse_settlement_unchecked,
};
use ml_connector::model::Decimal;

const US: &str = include_str!("fixtures/amazon/settlement_v2_us.txt");
const EU: &str = include_str!("fixtures/amazon/settlement_v2_eu_decimal_comma.txt");
const UNBALANCED: &str = include_str!("fixtures/amazon/settlement_v2_unbalanced.txt");
const V1_AIRBYTE: &str = include_str!("fixtures/amazon/settlement_v1_airbyte.tsv");

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn the_v2_sample_reconciles_to_its_total() {
    let p = parse_settlement(US, Some("ATVPDKIKX0DER")).unwrap();
    let s = &p.settlement;
    assert_eq!(s.settlement_id, "28471003921");
    assert_eq!(s.total.amount, d("582.89"));
    assert_eq!(s.total.currency.as_str(), "USD");
    assert_eq!(s.rows.len(), 23);
    assert_eq!(
        s.rows.iter().map(|r| r.amount).sum::<Decimal>(),
        d("582.89")
    );
    assert_eq!(s.marketplace.as_deref(), Some("amazon.com"));
    assert_eq!(s.start.unwrap().to_rfc3339(), "2026-06-16T00:00:00+00:00");
    assert_eq!(
        s.deposit_date.unwrap().to_rfc3339(),
        "2026-07-02T00:00:00+00:00"
    );
    let first = &s.rows[0];
    assert_eq!(first.transaction_type, "Order");
    assert_eq!(first.order_id.as_deref(), Some("114-8829371-4410258"));
    assert_eq!(first.amount_type, "ItemPrice");
    assert_eq!(first.amount_description, "Principal");
    assert_eq!(first.amount, d("129.99"));
    assert_eq!(first.sku.as_deref(), Some("NX-HD-1200"));
    assert_eq!(first.quantity, Some(d("1")));
    assert_eq!(
        first.posted_at.unwrap().to_rfc3339(),
        "2026-06-17T08:14:22+00:00"
    );
    // Reserve rows are kept as they are (the mapper books them to a clearing account).
    assert!(
        s.rows
            .iter()
            .any(|r| r.amount_description == "Current Reserve Amount" && r.amount == d("-420.00"))
    );
    assert_eq!(p.columns.len(), 24);
    assert_eq!(p.raw_rows.len(), 24);
}

#[test]
fn the_eu_decimal_comma_variant_parses_to_the_same_amounts() {
    let us = parse_settlement(US, None).unwrap().settlement;
    let eu = parse_settlement(EU, Some("A1PA6795UKMFR9"))
        .unwrap()
        .settlement;
    assert_eq!(eu.total.amount, us.total.amount);
    assert_eq!(eu.total.currency.as_str(), "EUR");
    assert_eq!(eu.rows.len(), us.rows.len());
    for (a, b) in us.rows.iter().zip(&eu.rows) {
        assert_eq!(a.amount, b.amount, "{a:?} vs {b:?}");
        assert_eq!(a.amount_description, b.amount_description);
        assert_eq!(a.posted_at, b.posted_at);
    }
    assert_eq!(eu.marketplace.as_deref(), Some("Amazon.de"));
}

#[test]
fn the_eu_variant_survives_windows_1252_and_gzip() {
    use std::io::Write;
    let text = EU.replace("Storage Fee", "Lagergeb\u{fc}hr");
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap();
    // No charset in the Content-Type: the marketplace decides (windows-1252 for Germany).
    let decoded = decode_document(
        "r",
        &gz,
        Some("GZIP"),
        Some("application/octet-stream"),
        Some("A1PA6795UKMFR9"),
    )
    .unwrap();
    let s = parse_settlement(&decoded, None).unwrap().settlement;
    assert!(
        s.rows
            .iter()
            .any(|r| r.amount_description == "Lagergeb\u{fc}hr")
    );
    assert_eq!(s.total.amount, d("582.89"));
}

#[test]
fn a_japanese_report_without_charset_is_read_as_shift_jis() {
    let text = US.replace("amazon.com", "Amazon.co.jp \u{30b9}\u{30c8}\u{30a2}");
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    let decoded = decode_document("r", &bytes, None, None, Some("A1VC38T7YXB528")).unwrap();
    let s = parse_settlement(&decoded, None).unwrap().settlement;
    assert_eq!(
        s.marketplace.as_deref(),
        Some("Amazon.co.jp \u{30b9}\u{30c8}\u{30a2}")
    );
}

#[test]
fn rows_that_do_not_sum_are_refused_naming_the_difference() {
    let e = parse_settlement(UNBALANCED, None).unwrap_err();
    let m = e.to_string();
    assert!(m.contains("amazon/settlements/28471003921"), "{m}");
    assert!(m.contains("583.34"), "{m}");
    assert!(m.contains("582.89"), "{m}");
    assert!(m.contains("difference -0.45 USD"), "{m}");
    assert!(!e.is_retryable());
    // Unchecked parsing still reads it, for inspection.
    assert_eq!(
        parse_settlement_unchecked(UNBALANCED, None)
            .unwrap()
            .settlement
            .rows
            .len(),
        23
    );
}

#[test]
fn the_airbyte_v1_file_is_read_by_header_and_refused() {
    let p = parse_settlement_unchecked(V1_AIRBYTE, None).unwrap();
    // One detail row with two amount cells: price 19.99 and fee -3.22.
    assert_eq!(p.settlement.rows.len(), 2);
    assert_eq!(p.settlement.rows[0].amount_type, "ItemPrice");
    assert_eq!(p.settlement.rows[0].amount_description, "Principal");
    assert_eq!(p.settlement.rows[1].amount, d("-3.22"));
    let m = parse_settlement(V1_AIRBYTE, None).unwrap_err().to_string();
    assert!(m.contains("difference 1217.79 USD"), "{m}");
}

#[test]
fn duplicate_reports_of_one_settlement_have_one_identity() {
    let a = parse_settlement(US, None).unwrap();
    // The same settlement as another report: CRLF line ends and a trailing blank line.
    let b = parse_settlement(&format!("{}\r\n\r\n", US.replace('\n', "\r\n")), None).unwrap();
    assert_eq!(a.settlement.settlement_id, b.settlement.settlement_id);
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.settlement, b.settlement);
}

#[test]
fn malformed_files_say_what_to_fix() {
    let no_total = US.replacen("\t582.89\t", "\t\t", 1);
    let m = parse_settlement(&no_total, None).unwrap_err().to_string();
    assert!(m.contains("no summary row"), "{m}");
    let bad_amount = US.replace("\t129.99\t", "\t12x.99\t");
    let m = parse_settlement(&bad_amount, None).unwrap_err().to_string();
    assert!(m.contains("column amount"), "{m}");
    assert!(m.contains("line 3"), "{m}");
    let m = parse_settlement("", None).unwrap_err().to_string();
    assert!(m.contains("empty"), "{m}");
    let two = format!(
        "{US}{}",
        US.lines().nth(1).unwrap().replace("28471003921", "999")
    );
    let m = parse_settlement(&two, None).unwrap_err().to_string();
    assert!(m.contains("two summary rows"), "{m}");
}
