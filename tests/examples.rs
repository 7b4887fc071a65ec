//! The quickstart job on the built-in simulators, called as a function (the example binary is a
//! thin wrapper around `sandbox::demo::run_quickstart`).

use ml_connector::sandbox::Sandbox;
use ml_connector::sandbox::demo::{QuickstartOptions, run_quickstart};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_posts_once_prevents_duplicates_and_holds_the_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start().await.unwrap();
    let url = format!("sqlite://{}", dir.path().join("quickstart.db").display());
    let systems = sandbox.systems(url).unwrap();
    let summary = run_quickstart(&systems, &QuickstartOptions::default())
        .await
        .unwrap();
    println!("{summary}");
}
