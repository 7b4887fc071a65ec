//! Adobe Commerce → QAD as one flow, masters first:
//!
//! 1. customers and B2B companies → QAD customers;
//! 2. the QAD item master is read and the SKU crosswalk validated against it;
//! 3. orders → sales orders (a guest's customer is created with the order);
//! 4. captured invoices → receivables; 5. credit memos → credit notes.
//!
//! ```sh
//! cargo run --example adobe_to_qad                        # the built-in simulators
//! cargo run --example adobe_to_qad -- --every 300         # on a schedule until Ctrl-C
//! cargo run --example adobe_to_qad -- --config my.toml    # your store and tenant
//! ```
//!
//! After the run it prints each stream's report and the audit trail of one order: fetched (with
//! the raw payload), mapped, posted (with QAD's request and answer).

mod common;

use std::sync::Arc;
use std::time::Duration;

use ml_connector::adobe::AdobeSource;
use ml_connector::config::Channel;
use ml_connector::mapping::DefaultMapper;
use ml_connector::pipeline::{Flow, Pipeline, Schedule, ScheduledFlow, Scheduler, Shutdown, Step};
use ml_connector::sandbox::demo::CrosswalkCheck;

const USAGE: &str = "\
adobe_to_qad — Adobe Commerce customers, companies, orders, invoices and credit memos into QAD

USAGE: cargo run --example adobe_to_qad [-- OPTIONS]

OPTIONS:
  --config PATH   real systems (default: the built-in simulators)
  --every SECS    run on a schedule (with 10% jitter) until Ctrl-C instead of once";

#[tokio::main]
async fn main() {
    let args = common::Args::parse(USAGE, &["--every"], &[]);
    common::init_tracing("warn");
    let target = common::exit_on_error(common::Target::open(&args, "adobe_to_qad").await);
    common::exit_on_error(
        run(
            &target,
            args.value("--every")
                .is_some()
                .then(|| Duration::from_secs(args.number("--every", 300))),
        )
        .await,
    );
}

async fn run(target: &common::Target, every: Option<Duration>) -> ml_connector::Result<()> {
    let systems = &target.systems;
    let stores = systems.stores().await?;
    let qad = common::qad_sink(systems).await?;
    let ctx = systems.reference.context(Channel::Adobe)?;

    let adobe = Pipeline::builder()
        .source(Arc::new(AdobeSource::new(
            systems.require_adobe()?.clone(),
        )?))
        .mapper(Arc::new(DefaultMapper))
        .sink(qad.clone())
        .stores(&stores)?
        .context(ctx.clone())
        .build()?;
    let check = CrosswalkCheck::new(qad).pipeline(
        &adobe,
        ctx,
        systems.reference.crosswalk_entries(Channel::Adobe)?,
    );
    let flow = Flow::new("adobe-to-qad")
        .stage(
            "masters",
            [
                Step::sync(&adobe, "customers"),
                Step::sync(&adobe, "companies"),
            ],
        )
        .stage("crosswalk", [Step::check(Arc::new(check))])
        .stage("orders", [Step::sync(&adobe, "orders")])
        .stage("invoices", [Step::sync(&adobe, "invoices")])
        .stage("credit memos", [Step::sync(&adobe, "creditmemos")]);

    if let Some(every) = every {
        // The scheduler runs the flow now and then every `every` (never overlapping) until
        // Ctrl-C; shutdown lets records in flight finish and commits the checkpoint.
        let handle = Scheduler::new()
            .add_flow(
                ScheduledFlow::new(flow, Schedule::every(every))
                    .jitter(every / 10)
                    .run_on_start(true),
            )
            .on_report(|r| {
                println!(
                    "{}: {} read, {} posted, {} duplicates, {} held{}",
                    r.flow,
                    r.fetched(),
                    r.posted(),
                    r.skipped(),
                    r.failed(),
                    r.partial
                        .as_deref()
                        .map(|p| format!(" — PARTIAL: {p}"))
                        .unwrap_or_default()
                );
            })
            .spawn();
        let _ = tokio::signal::ctrl_c().await;
        println!("stopping: finishing records in flight");
        handle.shutdown().await;
        return Ok(());
    }

    let report = flow.run(&Shutdown::never()).await;
    println!();
    for run in &report.runs {
        println!("{run}");
    }
    for (check, failure) in &report.checks {
        println!(
            "check `{check}`: {}",
            failure.as_deref().unwrap_or("passed")
        );
    }
    if let Some(p) = &report.partial {
        println!("flow stopped early: {p}");
    }
    if let Some(orders) = report.runs.iter().find(|r| r.stream == "orders")
        && let Some(record) = common::first_posted(adobe.audit(), &orders.run).await?
    {
        println!();
        common::print_trail(adobe.audit(), &record).await?;
    }
    Ok(())
}
