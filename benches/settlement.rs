//! Settlement flat-file throughput (rows per second): parse + reconcile, and the full in-memory
//! path (gunzip → charset decode → parse + reconcile), on a 10,000-row file built from the V2
//! sample in tests/fixtures/amazon.

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ml_connector::amazon::settlement::{decode_document, parse_settlement};
use ml_connector::model::Decimal;

const SAMPLE: &str = include_str!("../tests/fixtures/amazon/settlement_v2_us.txt");
const ROWS: usize = 10_000;

/// The sample's header and detail rows repeated to `ROWS` rows, with the summary total fixed up
/// so the file reconciles; `comma` writes EU decimal commas.
fn big_file(comma: bool) -> String {
    let mut lines = SAMPLE.lines();
    let header = lines.next().unwrap();
    let summary = lines.next().unwrap();
    let details: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    let amount_col = header.split('\t').position(|h| h == "amount").unwrap();
    let mut total = Decimal::ZERO;
    let mut body = String::with_capacity(ROWS * 200);
    for i in 0..ROWS {
        let row = details[i % details.len()];
        let cells: Vec<&str> = row.split('\t').collect();
        total += cells[amount_col].trim().parse::<Decimal>().unwrap();
        let row = if comma {
            cells
                .iter()
                .enumerate()
                .map(|(n, c)| {
                    if n == amount_col {
                        c.replace('.', ",")
                    } else {
                        (*c).to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\t")
        } else {
            row.to_string()
        };
        body.push_str(&row);
        body.push('\n');
    }
    let mut total_text = total.to_string();
    if comma {
        total_text = total_text.replace('.', ",");
    }
    let summary = summary.replacen("582.89", &total_text, 1);
    format!("{header}\n{summary}\n{body}")
}

fn bench(c: &mut Criterion) {
    let us = big_file(false);
    let eu = big_file(true);
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(&us);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&latin1).unwrap();
    let gz = gz.finish().unwrap();
    assert_eq!(
        parse_settlement(&us, None).unwrap().settlement.rows.len(),
        ROWS
    );
    assert_eq!(
        parse_settlement(&eu, None).unwrap().settlement.rows.len(),
        ROWS
    );

    let mut g = c.benchmark_group("settlement");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("parse_reconcile_10k_rows", |b| {
        b.iter(|| parse_settlement(black_box(&us), None).unwrap())
    });
    g.bench_function("parse_reconcile_10k_rows_decimal_comma", |b| {
        b.iter(|| parse_settlement(black_box(&eu), None).unwrap())
    });
    g.bench_function("gunzip_decode_parse_10k_rows", |b| {
        b.iter(|| {
            let text = decode_document(
                "bench",
                black_box(&gz),
                Some("GZIP"),
                None,
                Some("ATVPDKIKX0DER"),
            )
            .unwrap();
            parse_settlement(&text, None).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
