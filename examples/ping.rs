//! "Add your credentials, ping your real systems": logs in to every configured system and makes
//! one cheap authenticated read, then prints a pass/fail table with the reason of each failure.
//!
//! ```sh
//! cargo run --example ping                          # the built-in simulators
//! cargo run --example ping -- --config my.toml      # your systems (docs/configuration.md)
//! ```
//!
//! * Adobe Commerce: one page of one order (`GET V1/orders?searchCriteria[pageSize]=1`).
//! * Amazon: `getMarketplaceParticipations`; every configured marketplace must be among them.
//! * QAD: `connect()` — login, domain, browse fields, component probes (the registry
//!   validation); the kinds that are not writable are listed with the setting to fix.
//!
//! Exits with 1 when a check fails.

mod common;

use ml_connector::sandbox::demo;

const USAGE: &str = "\
ping — log in to each configured system and make one cheap authenticated read

USAGE: cargo run --example ping [-- --config PATH]

Without --config the built-in simulators are pinged.";

#[tokio::main]
async fn main() {
    let args = common::Args::parse(USAGE, &[], &[]);
    common::init_tracing("warn");
    let target = common::exit_on_error(common::Target::open(&args, "ping").await);
    let results = demo::ping(&target.systems).await;
    if results.is_empty() {
        eprintln!("nothing to ping: the configuration has no [adobe], [amazon] or [qad] section");
        std::process::exit(1);
    }
    println!("\n{}", demo::ping_table(&results));
    let failed = results.iter().filter(|r| !r.ok).count();
    if failed > 0 {
        println!("{failed} of {} check(s) failed.", results.len());
        std::process::exit(1);
    }
    println!("All {} systems answered.", results.len());
}
