//! Serves the three simulators on fixed local ports until Ctrl-C, for development against them
//! (a browser, curl, your own service, or the other examples with `--config`).
//!
//! ```sh
//! cargo run --example sandbox_server                       # 8081 Adobe, 8082 Amazon, 8083 QAD
//! cargo run --example sandbox_server -- --adobe-port 9001 --amazon-port 9002 --qad-port 9003
//! ```
//!
//! It prints the URLs and the demo credentials, and writes `.quickstart/sandbox.toml`: a
//! configuration file for these simulators whose secrets come from the environment, so
//! `cargo run --example ping -- --config .quickstart/sandbox.toml` exercises the same path a
//! real deployment takes.

mod common;

use ml_connector::sandbox::{Sandbox, SandboxConfig};

const USAGE: &str = "\
sandbox_server — serve the Adobe Commerce, SP-API and QAD simulators until Ctrl-C

USAGE: cargo run --example sandbox_server [-- OPTIONS]

OPTIONS:
  --adobe-port N    Adobe Commerce (default 8081)
  --amazon-port N   SP-API and Login with Amazon (default 8082)
  --qad-port N      QAD (default 8083)
  --orders N        orders in the simulated store (default 200)
  --time-scale X    SP-API usage plans run X times faster (default 1: Amazon's real rates)";

#[tokio::main]
async fn main() {
    let args = common::Args::parse(
        USAGE,
        &[
            "--adobe-port",
            "--amazon-port",
            "--qad-port",
            "--orders",
            "--time-scale",
        ],
        &[],
    );
    common::init_tracing("info");
    let cfg = SandboxConfig {
        ports: Some((
            args.number("--adobe-port", 8081),
            args.number("--amazon-port", 8082),
            args.number("--qad-port", 8083),
        )),
        adobe_orders: args.number("--orders", 200),
        amazon_time_scale: args.number("--time-scale", 1.0),
        ..SandboxConfig::default()
    };
    let sandbox = common::exit_on_error(Sandbox::start_with(cfg).await);

    println!("Simulators (Ctrl-C to stop):");
    println!(
        "  Adobe Commerce  {}   PaaS REST: {}/rest/default/V1/orders (OAuth 1.0a, HMAC-SHA256)",
        sandbox.adobe_url(),
        sandbox.adobe_url()
    );
    println!(
        "  Amazon SP-API   {}   LWA token: {}/auth/o2/token",
        sandbox.amazon_url(),
        sandbox.amazon_url()
    );
    println!(
        "  QAD             {}   OAuth token: {}/oauth/token",
        sandbox.qad_url(),
        sandbox.qad_url()
    );

    println!("\nDemo credentials (simulator values, not secrets of any real system):");
    let mut env = String::new();
    for (name, value) in sandbox.demo_credentials() {
        env.push_str(&format!("export {name}='{value}'\n"));
    }
    print!("{env}");

    let written = std::fs::create_dir_all(".quickstart").and_then(|()| {
        std::fs::write(
            ".quickstart/sandbox.toml",
            sandbox.connector_toml("../examples/data", "sqlite://sandbox.db"),
        )?;
        std::fs::write(".quickstart/sandbox.env", &env)
    });
    match written {
        Ok(()) => println!(
            "\nConfiguration for these simulators: .quickstart/sandbox.toml (secrets from the environment):\n  \
             source .quickstart/sandbox.env && cargo run --example ping -- --config .quickstart/sandbox.toml"
        ),
        Err(e) => eprintln!("could not write .quickstart/sandbox.toml: {e}"),
    }

    match tokio::signal::ctrl_c().await {
        Ok(()) => println!("\nstopping"),
        Err(e) => eprintln!("cannot wait for Ctrl-C ({e}); stopping"),
    }
}
