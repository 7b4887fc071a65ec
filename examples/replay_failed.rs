//! Dead letters: list them, fix the cause, dry-run, replay — and replay again to see that
//! nothing is posted twice.
//!
//! ```sh
//! cargo run --example replay_failed                        # the built-in simulators
//! cargo run --example replay_failed -- --config my.toml    # list and dry-run your dead letters
//! ```
//!
//! On the simulators it first syncs Adobe Commerce orders and invoices. Orders with a
//! fixed-price bundle are held: Magento orders them under a SKU composed of the bundle's SKU and
//! the chosen components (`SIM-B03-SIM-S021-…`), which the crosswalk lacks; the invoice of a
//! held guest order is held too (its customer was to be created with the order). The fix maps
//! each composed SKU like its bundle (`SIM-B03` → `KIT-03`) — the lines to add to `skus.csv` are
//! printed — then the orders are replayed from their stored payload, then the invoices.
//!
//! With `--config` it lists the unresolved dead letters and dry-runs them with the current
//! tables; `--replay` replays them (after you fixed the cause).

mod common;

use std::sync::Arc;

use ml_connector::adobe::AdobeSource;
use ml_connector::config::Channel;
use ml_connector::core::DeadLetterQuery;
use ml_connector::mapping::DefaultMapper;
use ml_connector::model::RecordBody;
use ml_connector::pipeline::{Pipeline, ReplayOptions, ReplayReport, ReplayScope};
use ml_connector::sandbox::demo;

const USAGE: &str = "\
replay_failed — list dead letters, fix, dry-run, replay

USAGE: cargo run --example replay_failed [-- OPTIONS]

OPTIONS:
  --config PATH   real systems: list and dry-run their dead letters (default: the simulators)
  --replay        with --config: replay the unresolved dead letters for real";

#[tokio::main]
async fn main() {
    let args = common::Args::parse(USAGE, &[], &["--replay"]);
    common::init_tracing("warn");
    let target = common::exit_on_error(common::Target::open(&args, "replay_failed").await);
    common::exit_on_error(run(&target, args.flag("--replay")).await);
}

fn streams(s: &[&str]) -> Option<Vec<String>> {
    Some(s.iter().map(|x| x.to_string()).collect())
}

fn print_plan(title: &str, plan: &ReplayReport) {
    println!("\n{title}: {} letter(s)", plan.letters);
    for (record, error) in &plan.errors {
        println!("  still failing {record}: {error}");
    }
    for p in plan.would_post() {
        println!("  would post    {} ({})", p.job, p.document.external_id());
    }
    let done = plan.planned.iter().filter(|p| p.already_done).count();
    if done > 0 {
        println!("  {done} document(s) already in QAD would be skipped");
    }
}

async fn run(target: &common::Target, replay_for_real: bool) -> ml_connector::Result<()> {
    let systems = &target.systems;
    let stores = systems.stores().await?;
    let qad = common::qad_sink(systems).await?;
    let items = demo::item_master(&qad).await?;
    let ctx = demo::validated(&systems.reference.context(Channel::Adobe)?, &items)?;
    let adobe = Pipeline::builder()
        .source(Arc::new(AdobeSource::new(
            systems.require_adobe()?.clone(),
        )?))
        .mapper(Arc::new(DefaultMapper))
        .sink(qad)
        .stores(&stores)?
        .context(ctx.clone())
        .build()?;

    if target.sandbox.is_some() {
        // Produce some dead letters: the simulated store sells fixed-price bundles.
        for stream in ["customers", "companies", "orders", "invoices"] {
            println!("{}", adobe.run(stream).await?);
        }
    }

    // 1. What is held, and why.
    let letters = adobe
        .audit()
        .dead_letters(&DeadLetterQuery::default())
        .await?;
    println!("\nDead letters ({}):", letters.len());
    for l in &letters {
        println!(
            "  {} (failed {}×, parked {})\n      {}",
            l.record.key,
            l.failures,
            l.parked_at.format("%H:%M:%S"),
            l.error
        );
    }
    if letters.is_empty() {
        return Ok(());
    }

    // 2. A dry run with today's tables: nothing is posted or written.
    let dry = ReplayOptions {
        dry_run: true,
        ..ReplayOptions::default()
    };
    print_plan(
        "Dry run before the fix",
        &adobe.replay(ReplayScope::Unresolved, dry.clone()).await?,
    );

    if target.sandbox.is_none() && !replay_for_real {
        println!("\nFix the cause, then run again with --replay.");
        return Ok(());
    }

    if target.sandbox.is_some() {
        // 3. The fix: a kit line's SKU is its bundle's SKU followed by the components; map it
        //    like the bundle (in production: add these lines to skus.csv and reload).
        let mut skus = ctx.skus().clone();
        println!("\nThe fix — lines for examples/data/skus.csv:");
        for l in &letters {
            let RecordBody::Order(order) = &l.record.body else {
                continue;
            };
            for line in &order.lines {
                if ctx.skus().resolve(&l.record.key, &line.sku).is_ok() {
                    continue;
                }
                let bundle: String = line.sku.split("-SIM-").next().unwrap_or_default().into();
                if let Ok(item) = ctx.skus().resolve(&l.record.key, &bundle) {
                    println!("  {},{item}", line.sku);
                    skus = skus.with_entry(line.sku.clone(), item);
                }
            }
        }
        adobe.set_map_context(ctx.to_builder().skus(skus).build()?);
        print_plan(
            "Dry run after the fix",
            &adobe.replay(ReplayScope::Unresolved, dry).await?,
        );
    }

    // 4. Replay: orders first (a guest's customer is created with its order), then the rest.
    for (what, scope) in [("orders", streams(&["orders"])), ("everything else", None)] {
        let r = adobe
            .replay(
                ReplayScope::Unresolved,
                ReplayOptions {
                    streams: scope,
                    ..ReplayOptions::default()
                },
            )
            .await?;
        println!(
            "\nReplay of {what}: {} letter(s), {} resolved, {} still failing — {}",
            r.letters, r.resolved, r.still_failing, r.report
        );
    }

    // 5. Replaying again (resolved letters included) posts nothing: same job ids, done.
    let again = adobe
        .replay(
            ReplayScope::Unresolved,
            ReplayOptions {
                include_resolved: true,
                ..ReplayOptions::default()
            },
        )
        .await?;
    println!(
        "\nReplay again, resolved letters included: {} posted, {} skipped as duplicates",
        again.report.posted, again.report.skipped
    );
    let open = adobe
        .audit()
        .dead_letters(&DeadLetterQuery::default())
        .await?;
    println!("Unresolved dead letters left: {}", open.len());
    Ok(())
}
