//! Amazon orders → QAD sales orders to the marketplace customer.
//!
//! ```sh
//! cargo run --example amazon_to_qad                        # the built-in simulators
//! cargo run --example amazon_to_qad -- --config my.toml    # your seller account and tenant
//! ```
//!
//! The SKU crosswalk (`mapping.amazon.skus`) is validated against the QAD item master first.
//! Pending orders (no prices yet) map to nothing and are read again when they change; an order
//! with a seller SKU the crosswalk lacks is held with a message naming the SKU. Then one order
//! is synced again by id — what a notification handler does — and is skipped: its sales order
//! is in QAD already.

mod common;

use std::sync::Arc;

use ml_connector::amazon::AmazonSource;
use ml_connector::config::Channel;
use ml_connector::core::DeadLetterQuery;
use ml_connector::mapping::DefaultMapper;
use ml_connector::pipeline::{Flow, Pipeline, Shutdown, Step};
use ml_connector::sandbox::demo::CrosswalkCheck;

const USAGE: &str = "\
amazon_to_qad — Amazon orders into QAD sales orders

USAGE: cargo run --example amazon_to_qad [-- --config PATH]";

#[tokio::main]
async fn main() {
    let args = common::Args::parse(USAGE, &[], &[]);
    common::init_tracing("warn");
    let target = common::exit_on_error(common::Target::open(&args, "amazon_to_qad").await);
    common::exit_on_error(run(&target).await);
}

async fn run(target: &common::Target) -> ml_connector::Result<()> {
    let systems = &target.systems;
    let stores = systems.stores().await?;
    let qad = common::qad_sink(systems).await?;
    let ctx = systems.reference.context(Channel::Amazon)?;

    let amazon = Pipeline::builder()
        .source(Arc::new(AmazonSource::new(
            systems.require_amazon()?.clone(),
        )?))
        .mapper(Arc::new(DefaultMapper))
        .sink(qad.clone())
        .stores(&stores)?
        .context(ctx.clone())
        .build()?;
    let check = CrosswalkCheck::new(qad).pipeline(
        &amazon,
        ctx,
        systems.reference.crosswalk_entries(Channel::Amazon)?,
    );
    let flow = Flow::new("amazon-to-qad")
        .stage("crosswalk", [Step::check(Arc::new(check))])
        .stage("orders", [Step::sync(&amazon, "orders")]);
    let report = flow.run(&Shutdown::never()).await;
    println!();
    for run in &report.runs {
        println!("{run}");
    }
    if let Some(p) = &report.partial {
        println!("flow stopped early: {p}");
    }

    for letter in amazon
        .audit()
        .dead_letters(&DeadLetterQuery::default())
        .await?
    {
        println!("held: {}\n      {}", letter.record.key, letter.error);
    }

    // A notification says an order changed: sync just that one, now. Its sales order is in
    // QAD already, so the document is skipped (no second sales order).
    if let Some(run) = report.runs.first()
        && let Some(record) = common::first_posted(amazon.audit(), &run.run).await?
    {
        let again = amazon.sync_record("orders", &record.source_id).await?;
        println!(
            "\nsync_record(orders, {}): {} posted, {} skipped as duplicate",
            record.source_id, again.posted, again.skipped
        );
        common::print_trail(amazon.audit(), &record).await?;
    }
    Ok(())
}
