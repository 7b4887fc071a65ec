//! The main job: Adobe Commerce and Amazon into QAD, exactly once.
//!
//! ```sh
//! cargo run --example quickstart                          # the built-in simulators
//! cargo run --example quickstart -- --config my.toml      # real systems (see docs/configuration.md)
//! ```
//!
//! Starts the three simulators, syncs Adobe Commerce customers and companies, then orders,
//! invoices and credit memos, and Amazon orders into QAD on SQLite (`./.quickstart/quickstart.db`),
//! with a progress bar per stream. Then runs the same job again from scratch to show that
//! nothing is posted twice, and prints a summary with the records held in the dead-letter list
//! and why. The job itself is `ml_connector::sandbox::demo::run_quickstart`.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use ml_connector::pipeline::ProgressEvent;
use ml_connector::sandbox::demo::{self, QuickstartOptions};

const USAGE: &str = "\
quickstart — sync Adobe Commerce and Amazon into QAD, twice, and print what happened

USAGE: cargo run --example quickstart [-- OPTIONS]

OPTIONS:
  --config PATH    real systems from a configuration file (default: the built-in simulators)
  --once           run the first pass only
  --concurrency N  records in flight per stream (default 8)";

/// Turns pipeline progress events into one bar per stream run.
fn progress_bars(multi: &MultiProgress) -> ml_connector::pipeline::ProgressFn {
    let style =
        ProgressStyle::with_template("{prefix:>20} [{bar:32.cyan/blue}] {pos:>4}/{len:<4} {msg}")
            .expect("a valid template")
            .progress_chars("=> ");
    let bars: Mutex<HashMap<String, ProgressBar>> = Mutex::new(HashMap::new());
    let multi = multi.clone();
    Arc::new(move |event: &ProgressEvent| {
        let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            ProgressEvent::RunStarted {
                run,
                source,
                stream,
                ..
            } => {
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(style.clone());
                bar.set_prefix(format!("{source}/{stream}"));
                bars.insert(run.0.clone(), bar);
            }
            ProgressEvent::PageFetched { run, records, .. } => {
                if let Some(b) = bars.get(&run.0) {
                    b.inc_length(*records as u64);
                }
            }
            ProgressEvent::RecordFinished { run, .. } => {
                if let Some(b) = bars.get(&run.0) {
                    b.inc(1);
                }
            }
            ProgressEvent::RunFinished { report } => {
                if let Some(b) = bars.remove(&report.run.0) {
                    b.finish_with_message(format!(
                        "{} posted, {} duplicates, {} held",
                        report.posted, report.skipped, report.failed
                    ));
                }
            }
            _ => {}
        }
    })
}

#[tokio::main]
async fn main() {
    let args = common::Args::parse(USAGE, &["--concurrency"], &["--once"]);
    common::init_tracing("warn");
    let started = Instant::now();
    let target = common::exit_on_error(common::Target::open(&args, "quickstart").await);

    let multi = MultiProgress::new();
    let announce = {
        let multi = multi.clone();
        Arc::new(move |label: &str| {
            let _ = multi.println(format!("\n{label}"));
        })
    };
    let opts = QuickstartOptions {
        progress: Some(progress_bars(&multi)),
        concurrency: Some(args.number("--concurrency", 8)),
        single_pass: args.flag("--once"),
        on_pass: Some(announce),
    };
    let summary = common::exit_on_error(demo::run_quickstart(&target.systems, &opts).await);
    drop(multi);

    println!("\n{summary}");
    if let Some(sandbox) = &target.sandbox {
        let counts = demo::qad_counts(sandbox.qad());
        let line: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!("The QAD simulator now holds {}.", line.join(", "));
    }
    println!(
        "Audit trail and dead letters: {} — finished in {:.1?}.",
        target.systems.store_url,
        started.elapsed()
    );
}
