//! Stock alignment: Amazon FBA (and merchant-fulfilled) quantities compared with QAD on-hand at
//! the configured site/location → QAD inventory adjustments for the difference only.
//!
//! ```sh
//! cargo run --example inventory_sync                        # the built-in simulators
//! cargo run --example inventory_sync -- --config my.toml    # your seller account and tenant
//! ```
//!
//! The QAD on-hand snapshot is read first and put into the mapping context; each Amazon
//! inventory level then maps to an adjustment of (channel quantity − QAD on-hand), or to
//! nothing when they agree. Adjustments are keyed per SKU and hour of observation, so reading
//! the same snapshot again never adjusts twice.

mod common;

use std::sync::Arc;

use ml_connector::amazon::AmazonSource;
use ml_connector::config::Channel;
use ml_connector::core::{AuditQuery, AuditStage};
use ml_connector::mapping::{DefaultMapper, OnHand};
use ml_connector::model::ErpDocument;
use ml_connector::pipeline::Pipeline;
use ml_connector::sandbox::demo;

const USAGE: &str = "\
inventory_sync — align QAD on-hand with Amazon FBA / merchant stock

USAGE: cargo run --example inventory_sync [-- --config PATH]";

#[tokio::main]
async fn main() {
    let args = common::Args::parse(USAGE, &[], &[]);
    common::init_tracing("warn");
    let target = common::exit_on_error(common::Target::open(&args, "inventory_sync").await);
    common::exit_on_error(run(&target).await);
}

async fn run(target: &common::Target) -> ml_connector::Result<()> {
    let systems = &target.systems;
    let qad = common::qad_sink(systems).await?;

    // The ERP side: on-hand per (item, site, location), and the item master for the crosswalk.
    let levels = qad.stock_levels(None, None).await?;
    let on_hand = OnHand::new(levels.iter().map(|l| {
        let location = (!l.location.is_empty()).then(|| l.location.clone());
        ((l.item.clone(), l.site.clone(), location), l.on_hand)
    }));
    println!("QAD on-hand: {} stock rows", on_hand.len());
    let items = demo::item_master(&qad).await?;
    let base = systems.reference.context(Channel::Amazon)?;
    let ctx = demo::validated(&base, &items)?
        .to_builder()
        .on_hand(on_hand)
        .build()?;
    let s = ctx.settings();
    println!(
        "FBA stock lives in QAD site {} location {}",
        s.inventory
            .fba_site
            .as_deref()
            .or(s.default_site.as_deref())
            .unwrap_or("?"),
        s.inventory.fba_location.as_deref().unwrap_or("(default)")
    );

    let stores = systems.stores().await?;
    let pipeline = Pipeline::builder()
        .source(Arc::new(AmazonSource::new(
            systems.require_amazon()?.clone(),
        )?))
        .mapper(Arc::new(DefaultMapper))
        .sink(qad)
        .stores(&stores)?
        .context(ctx)
        .build()?;
    let report = pipeline.run("inventory").await?;
    println!("\n{report}");

    // What was adjusted, from the audit trail (the documents as mapped).
    let mapped = pipeline
        .audit()
        .query(&AuditQuery {
            run: Some(report.run.clone()),
            stage: Some(AuditStage::Mapped),
            ..AuditQuery::default()
        })
        .await?;
    println!(
        "\n{:<28} {:<10} {:<8} {:>10}",
        "record", "item", "site", "adjust"
    );
    for event in mapped {
        let docs = event.detail["documents"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if docs.is_empty() {
            println!(
                "{:<28} (QAD agrees with Amazon: nothing to post)",
                event.record.source_id
            );
        }
        for d in docs {
            if let Ok(ErpDocument::InventoryAdjustment(a)) =
                serde_json::from_value::<ErpDocument>(d["document"].clone())
            {
                println!(
                    "{:<28} {:<10} {:<8} {:>10}",
                    event.record.source_id, a.item, a.site, a.quantity
                );
            }
        }
    }
    Ok(())
}
