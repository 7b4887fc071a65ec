//! What every example shares: argument parsing (hand-rolled), logging, and "the built-in
//! simulators unless `--config path.toml` names real systems".
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ml_connector::config::{ConnectorConfig, Systems};
use ml_connector::sandbox::Sandbox;

/// Parsed command line: `--config PATH`, options with a value, flags.
pub struct Args {
    pub config: Option<PathBuf>,
    values: BTreeMap<String, String>,
    flags: BTreeSet<String>,
}

impl Args {
    /// Parses `std::env::args`. `values` are options taking a value (`--store URL`), `flags`
    /// options without one. `--help` prints `usage` and exits; anything unknown exits with 2.
    pub fn parse(usage: &str, values: &[&str], flags: &[&str]) -> Args {
        let mut args = Args {
            config: None,
            values: BTreeMap::new(),
            flags: BTreeSet::new(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (a.clone(), None),
            };
            if name == "--help" || name == "-h" {
                println!("{usage}");
                std::process::exit(0);
            }
            if name == "--config" || values.contains(&name.as_str()) {
                let Some(v) = inline.or_else(|| it.next()) else {
                    eprintln!("{name} needs a value\n\n{usage}");
                    std::process::exit(2);
                };
                if name == "--config" {
                    args.config = Some(PathBuf::from(v));
                } else {
                    args.values.insert(name, v);
                }
            } else if flags.contains(&name.as_str()) && inline.is_none() {
                args.flags.insert(name);
            } else {
                eprintln!("unknown argument `{a}`\n\n{usage}");
                std::process::exit(2);
            }
        }
        args
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(name)
    }

    /// A numeric option, or `default`; exits with a message when it is not a number.
    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        match self.value(name) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|_| {
                eprintln!("{name} expects a number, got `{v}`");
                std::process::exit(2);
            }),
        }
    }
}

/// Logs to stderr; `RUST_LOG` overrides `default` (e.g. `RUST_LOG=ml_connector=debug`).
pub fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// A fresh SQLite file `./.quickstart/<name>.db` (the directory is git-ignored), for runs on
/// the simulators: each run starts from an empty state, and the file stays for inspection.
pub fn fresh_sqlite(name: &str) -> ml_connector::Result<String> {
    let dir = Path::new(".quickstart");
    std::fs::create_dir_all(dir).map_err(|e| {
        ml_connector::Error::config("store.url", format!("cannot create {}: {e}", dir.display()))
    })?;
    let db = dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(format!("sqlite://{}", db.display()))
}

/// Where an example runs: the simulators (kept alive here) or the systems of a config file.
pub struct Target {
    pub systems: Systems,
    pub sandbox: Option<Sandbox>,
}

impl Target {
    /// `--config path.toml` → those systems (secrets from the vault / environment); otherwise
    /// the built-in simulators with the demo data and a fresh SQLite file for `name`.
    pub async fn open(args: &Args, name: &str) -> ml_connector::Result<Target> {
        match &args.config {
            Some(path) => {
                let systems = ConnectorConfig::from_file(path)?.resolve()?;
                eprintln!("Running on the systems of {}", path.display());
                Ok(Target {
                    systems,
                    sandbox: None,
                })
            }
            None => {
                let sandbox = Sandbox::start().await?;
                let systems = sandbox.systems(fresh_sqlite(name)?)?;
                eprintln!(
                    "Running on the built-in simulators (Adobe {}, Amazon {}, QAD {}); state in {}",
                    sandbox.adobe_url(),
                    sandbox.amazon_url(),
                    sandbox.qad_url(),
                    systems.store_url
                );
                Ok(Target {
                    systems,
                    sandbox: Some(sandbox),
                })
            }
        }
    }
}

/// Runs `f` and turns an error into a message and exit code 1.
pub fn exit_on_error<T>(r: ml_connector::Result<T>) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    })
}

/// The QAD sink of `systems`, connected (login and registry validation done).
pub async fn qad_sink(
    systems: &Systems,
) -> ml_connector::Result<std::sync::Arc<ml_connector::qad::QadSink>> {
    use ml_connector::ErpSink;
    let sink = ml_connector::qad::QadSink::new(systems.require_qad()?.clone())?;
    sink.connect().await?;
    Ok(std::sync::Arc::new(sink))
}

/// Prints the audit trail of one record, one line per stage.
pub async fn print_trail(
    audit: &std::sync::Arc<dyn ml_connector::AuditSink>,
    record: &ml_connector::model::RecordKey,
) -> ml_connector::Result<()> {
    let events = audit
        .query(&ml_connector::core::AuditQuery {
            record: Some(record.clone()),
            ..Default::default()
        })
        .await?;
    println!("Audit trail of {record}:");
    for e in events {
        println!(
            "  {}  {:<13} {}",
            e.at.format("%H:%M:%S%.3f"),
            e.stage.as_str(),
            e.message
        );
    }
    Ok(())
}

/// The first record a run posted a document for (from the audit trail).
pub async fn first_posted(
    audit: &std::sync::Arc<dyn ml_connector::AuditSink>,
    run: &ml_connector::model::RunId,
) -> ml_connector::Result<Option<ml_connector::model::RecordKey>> {
    let events = audit
        .query(&ml_connector::core::AuditQuery {
            run: Some(run.clone()),
            stage: Some(ml_connector::core::AuditStage::Posted),
            limit: Some(1),
            ..Default::default()
        })
        .await?;
    Ok(events.into_iter().next().map(|e| e.record))
}
