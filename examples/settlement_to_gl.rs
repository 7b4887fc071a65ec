//! Amazon settlement reports → balanced QAD GL journals (docs/settlement-accounting.md).
//!
//! ```sh
//! cargo run --example settlement_to_gl                        # the built-in simulators
//! cargo run --example settlement_to_gl -- --config my.toml    # your seller account and tenant
//! ```
//!
//! First a preview: every settlement is read and mapped (pure: rows → roles → the accounts of
//! `mapping.accounts`) and its journals printed — one per accounting period, the clearing line
//! equal to `total-amount`, debits equal to credits. A settlement Amazon published in two
//! reports is one record. Then the pipeline posts the journals; a second run posts nothing (a
//! `settlement-id` posts once).

mod common;

use std::sync::Arc;

use futures::TryStreamExt;
use ml_connector::amazon::AmazonSource;
use ml_connector::config::Channel;
use ml_connector::mapping::DefaultMapper;
use ml_connector::model::{ErpDocument, RecordBody};
use ml_connector::pipeline::Pipeline;
use ml_connector::{Mapper, SourceSystem};

const USAGE: &str = "\
settlement_to_gl — Amazon settlement reports into balanced QAD journals

USAGE: cargo run --example settlement_to_gl [-- OPTIONS]

OPTIONS:
  --config PATH   real systems (default: the built-in simulators)
  --no-preview    post without printing the journals first";

#[tokio::main]
async fn main() {
    let args = common::Args::parse(USAGE, &[], &["--no-preview"]);
    common::init_tracing("warn");
    let target = common::exit_on_error(common::Target::open(&args, "settlement_to_gl").await);
    common::exit_on_error(run(&target, !args.flag("--no-preview")).await);
}

async fn run(target: &common::Target, preview: bool) -> ml_connector::Result<()> {
    let systems = &target.systems;
    let ctx = systems.reference.context(Channel::Amazon)?;
    let source = Arc::new(AmazonSource::new(systems.require_amazon()?.clone())?);

    if preview {
        let pages: Vec<_> = source.changes("settlements", None).try_collect().await?;
        for record in pages.iter().flat_map(|p| &p.records) {
            let RecordBody::Settlement(s) = &record.body else {
                continue;
            };
            println!(
                "\nsettlement {} ({}, {} rows, total-amount {})",
                s.settlement_id,
                s.marketplace.as_deref().unwrap_or("?"),
                s.rows.len(),
                s.total
            );
            match DefaultMapper.map(record, &ctx) {
                Ok(docs) => {
                    for doc in docs {
                        if let ErpDocument::Journal(j) = doc {
                            print_journal(&j);
                        }
                    }
                }
                Err(e) => println!("  held: {e}"),
            }
        }
    }

    let stores = systems.stores().await?;
    let qad = common::qad_sink(systems).await?;
    let pipeline = Pipeline::builder()
        .source(source)
        .mapper(Arc::new(DefaultMapper))
        .sink(qad)
        .stores(&stores)?
        .context(ctx)
        .build()?;
    let first = pipeline.run("settlements").await?;
    println!("\n{first}");
    let again = pipeline.run("settlements").await?;
    println!("{again}  (run again: nothing new)");
    if let Some(sandbox) = &target.sandbox {
        let journals = sandbox
            .qad()
            .count(ml_connector::model::DocumentKind::Journal);
        println!("The QAD simulator holds {journals} journal(s).");
    }
    Ok(())
}

fn print_journal(j: &ml_connector::model::JournalDoc) {
    let balanced = match j.check_balanced() {
        Ok(()) => "balanced".to_string(),
        Err(e) => format!("NOT BALANCED: {e}"),
    };
    println!(
        "  journal {} period {} posting {} daybook {} — {balanced}",
        j.external_id,
        j.part,
        j.posting_date,
        j.daybook.as_deref().unwrap_or("(tenant default)")
    );
    println!(
        "    {:<8} {:<4} {:<6} {:>12} {:>12}  description",
        "account", "sub", "cc", "debit", "credit"
    );
    for l in &j.lines {
        println!(
            "    {:<8} {:<4} {:<6} {:>12} {:>12}  {}",
            l.account,
            l.sub_account.as_deref().unwrap_or(""),
            l.cost_center.as_deref().unwrap_or(""),
            l.debit,
            l.credit,
            l.description
        );
    }
}
